/**
 * @file triangulate.h
 * @brief Robust multi-view triangulation of keypoints (stage 2).
 *
 * A mhrfit_triangulator is created once for a set of V calibrated cameras and
 * a largest keypoint count K, then processes frames of K keypoints × V views
 * without allocating: `new` → `process` (per frame) → `free`.
 *
 * Input of a frame: pixel observations `uv[(k·V + v)·2 + {0,1}]` and optional
 * confidences `conf[k·V + v]`; NaN (or a point outside the image, or a
 * confidence below the threshold) marks a missing observation.
 *
 * **Default method** (the original pipeline's algorithm, fixed): per keypoint,
 * every pair of valid views gives a DLT candidate on undistorted normalised
 * coordinates; each candidate is reprojected through the full distortion
 * model into all valid views; candidates are ranked by **consensus first**
 * (number of views within `inlier_thresh` pixels), then by a robust score of
 * the pixel errors (median, trimmed mean or Huber). Pairs whose rays meet at
 * less than `min_angle_deg` (tiny baseline for the depth, or cameras facing
 * each other across the point) or that put the point behind a camera are not
 * candidates. The winner's inliers are re-triangulated by a weighted DLT and
 * refined by Levenberg–Marquardt on the pixel reprojection error
 * @f$ \sum_v w_v \lVert \pi_v(X) - u_v \rVert^2 @f$ with the analytic
 * Jacobian of the projection (optionally Huber IRLS weights
 * @f$ w_v = \min(1, \delta / \lVert r_v \rVert) @f$).
 * Setting `rank_by_consensus = false` reproduces the original ranking (lowest
 * robust score only) for comparison.
 *
 * **Leave-one-out check** (default method with consensus ranking, `loo_check`,
 * on by default): counting views first lets a gross outlier win a compromise
 * point that keeps every view of its set within the gate (e.g. errors of 12,
 * 29 and 19 px, the point 10–20 cm off) over the clean point that leaves it
 * out. So when the refined point has ≥ 3 inliers and the largest inlier error
 * exceeds `inlier_thresh`/3, each inlier v is left out in turn: the point is
 * re-solved on the other inliers (weighted DLT + the same LM); v must then be
 * beyond the gate; the valid views within the gate of that point become its
 * inliers (re-admitting others, with one more refinement, the set must then
 * hold). The candidate with the lowest truncated cost over all valid views,
 * @f$ C = \sum_v \min(e_v^2, T^2) @f$ with T = ¾·`inlier_thresh` (a view that
 * cannot see the point counts T²), replaces the full point when its C is below
 * 0.9 × the full point's. With errors at the noise level (a few px) the check
 * never runs, so such results are bit-identical to those without it.
 *
 * **Pose2Sim method**: likelihood < `likelihood_threshold` ⇒ missing;
 * likelihood-weighted homogeneous DLT on raw pixels with P = K[R|t] (no
 * distortion, as Pose2Sim with `undistort_points = false`); mean pixel
 * reprojection error; cameras are excluded in `itertools.combinations` order
 * (k = 0, 1, 2, … excluded cameras; the first subset of minimal error of each
 * k replaces the best) until the error is ≤ `reproj_thresh` with at least
 * `min_cameras` cameras. Bound: Pose2Sim's exhaustive search grows as
 * C(V, k); here a k whose subset count exceeds `max_subsets` (default 2000)
 * is replaced by greedy elimination (drop, from the best set so far, the camera
 * whose removal lowers the error most), so 16+ cameras stay fast. For V ≤ 11
 * no k exceeds the bound and the order is Pose2Sim's exactly.
 *
 * A point that cannot be triangulated is NaN, its inlier row is all false,
 * and its reason code says why.
 */
#ifndef MHRFIT_TRIANGULATE_H
#define MHRFIT_TRIANGULATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mhrfit/camera.h"
#include "mhrfit/error.h"
#include "mhrfit/observations.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Triangulation method. */
typedef enum mhrfit_tri_method {
  MHRFIT_TRI_DEFAULT = 0, /**< consensus pair selection + weighted DLT + LM (see file doc) */
  MHRFIT_TRI_POSE2SIM     /**< Pose2Sim's weighted DLT with camera exclusion */
} mhrfit_tri_method;

/** Robust score of a candidate's pixel errors. */
typedef enum mhrfit_tri_score {
  MHRFIT_SCORE_MEDIAN = 0, /**< median of the errors */
  MHRFIT_SCORE_TRIMMED,    /**< mean after dropping the largest error */
  MHRFIT_SCORE_HUBER       /**< Σ ρ(r), ρ(r) = r²/2 for r ≤ δ, δ(r − δ/2) beyond */
} mhrfit_tri_score;

/** Why a point is (or is not) triangulated. */
typedef enum mhrfit_tri_reason {
  MHRFIT_TRI_OK = 0,         /**< triangulated */
  MHRFIT_TRI_NO_VIEWS,       /**< no valid observation */
  MHRFIT_TRI_ONE_VIEW,       /**< a single valid observation */
  MHRFIT_TRI_DEGENERATE,     /**< views exist but their geometry gives no point (parallel rays, behind cameras) */
  MHRFIT_TRI_ALL_OUTLIERS    /**< no set of ≥ 2 views agrees within the threshold */
} mhrfit_tri_reason;

/** Options; fill with mhrfit_tri_options_default() then change fields. */
typedef struct mhrfit_tri_options {
  mhrfit_tri_method method;    /**< default MHRFIT_TRI_DEFAULT */
  double min_conf;             /**< default method: confidence below this ⇒ missing (default 0; a confidence of 0 is always missing) */
  mhrfit_tri_score score_type; /**< default median */
  double huber_delta;          /**< px, for the Huber score (default 10) */
  double inlier_thresh;        /**< px, inlier gate (default 30) */
  bool rank_by_consensus;      /**< rank candidates by inlier count first (default true; false = the original) */
  double min_angle_deg;        /**< smallest ray angle of a candidate pair (default 5°) */
  int lm_iters;                /**< LM iterations per point (default 25; 0 disables refinement) */
  bool robust_lm;              /**< Huber IRLS in the LM (default false) */
  double robust_lm_delta;      /**< px (default 10) */
  bool loo_check;              /**< default method: leave-one-out check of ≥ 3-view consensus sets (default true; see the file doc) */
  double likelihood_threshold; /**< pose2sim: likelihood below ⇒ missing (default 0.3) */
  double reproj_thresh;        /**< pose2sim: px (default 15) */
  int min_cameras;             /**< pose2sim: fewest cameras (default 2) */
  size_t max_subsets;          /**< pose2sim: largest exhaustive subset count per k (default 2000) */
} mhrfit_tri_options;

/** Fills `o` with the defaults listed in mhrfit_tri_options. */
void mhrfit_tri_options_default(mhrfit_tri_options *o);

/**
 * Checks option values (what mhrfit_triangulator_new() checks, so that a
 * caller can refuse them before any work): finite non-negative `min_conf`
 * and `likelihood_threshold`; positive finite `huber_delta`,
 * `inlier_thresh`, `robust_lm_delta`, `reproj_thresh` (pixels);
 * `min_angle_deg` in [0, 90); `lm_iters` in 0..10000; `min_cameras` in
 * 2..64; `max_subsets` ≥ 1; known method and score. Fails with
 * MHRFIT_ERR_ARGUMENT naming the first bad field and its value.
 */
bool mhrfit_tri_options_check(const mhrfit_tri_options *o, mhrfit_error *err);

/** Short name of a reason code ("ok", "no_views", "one_view", "degenerate", "all_outliers"). */
const char *mhrfit_tri_reason_name(mhrfit_tri_reason r);

/**
 * Caller-owned output arrays of one frame of K keypoints (any pointer except
 * `points` may be NULL when not wanted).
 */
typedef struct mhrfit_tri_result {
  double *points;        /**< K×3 final points (refined), NaN when not triangulated */
  double *points_init;   /**< K×3 points before refinement */
  uint8_t *inliers;      /**< K×V, 1 for views used */
  double *reproj_err;    /**< K×V pixel error of the final point in each valid view, NaN elsewhere */
  int32_t *n_views_used; /**< K */
  int32_t *reason;       /**< K, mhrfit_tri_reason */
} mhrfit_tri_result;

typedef struct mhrfit_triangulator mhrfit_triangulator;

/**
 * Creates a triangulator for `n_views` cameras (copied; 2 ≤ n_views ≤ 64)
 * and up to `max_keypoints` keypoints per frame. `opts` may be NULL
 * (defaults). Errors: MHRFIT_ERR_ARGUMENT (counts, options), MHRFIT_ERR_NOMEM.
 * The caller owns the result (mhrfit_triangulator_free()).
 */
mhrfit_triangulator *mhrfit_triangulator_new(const mhrfit_camera *cams, size_t n_views, size_t max_keypoints,
                                             const mhrfit_tri_options *opts, mhrfit_error *err);

/**
 * Triangulates one frame of `n_kp` ≤ max_keypoints keypoints (see the file
 * doc for the input layout; `conf` may be NULL). Never allocates. Non-finite
 * inputs are treated as missing and never reach a solver. Fails only with
 * MHRFIT_ERR_ARGUMENT (too many keypoints, NULL output).
 */
bool mhrfit_triangulator_process(mhrfit_triangulator *t, size_t n_kp, const double *uv, const double *conf,
                                 mhrfit_tri_result *out, mhrfit_error *err);

/** Frees a triangulator. NULL is allowed. */
void mhrfit_triangulator_free(mhrfit_triangulator *t);


/**
 * @name Triangulation archives (`triangulated.npz`)
 * What `mhrfit triangulate` writes and `mhrfit fit` reads: for F frames of K
 * keypoints seen by V cameras, the members `points3d_refined`,
 * `points3d_init` (F,K,3) float32 m, `inlier_mask` (F,K,V) bool,
 * `reproj_err_px` (F,K,V) float32, `n_views_used`, `reason` (F,K) int32,
 * `mean_reproj_err_px` (V) float64 (mean error of the inlier views over all
 * frames), `subset_idx` (K) int32 (indices into the layout), `subset_names`
 * (K) and `cams` (V) strings, `method` (string) and `threshold_px` (scalar).
 * Without `frame_axis` (a single stage-1 frame) the leading F axis is absent.
 * @{
 */
/** A triangulation archive in memory; every array is owned by the struct. */
typedef struct mhrfit_tri_archive {
  size_t n_frames, n_kp, n_views; /**< F, K, V */
  bool frame_axis;                /**< the arrays carry the leading frame axis in the file */
  double *points;                 /**< F·K·3 refined points (NaN = not triangulated) */
  double *points_init;            /**< F·K·3 points before refinement */
  uint8_t *inliers;               /**< F·K·V inlier flags */
  double *reproj_err;             /**< F·K·V pixel errors (NaN where not valid) */
  int32_t *n_views_used;          /**< F·K */
  int32_t *reason;                /**< F·K mhrfit_tri_reason codes */
  double *mean_px;                /**< V mean reprojection error of each camera's inlier views (NaN: none) */
  int32_t *subset_idx;            /**< K layout index of each point */
  char **subset_names;            /**< K names */
  char **cams;                    /**< V camera names */
  char method[32];                /**< "default" or "pose2sim" */
  double threshold_px;            /**< the inlier gate (default) or the reprojection target (pose2sim) */
  /** Optional identity of the per-camera input files of each frame (stage-1 files), set by
   *  mhrfit_tri_archive_set_sources() and saved as `source_frames` (F,) and `source_xxh64`
   *  (F, V): `source_frames[f]` the name of the frame's folder, `source_xxh64[f·V + v]` the
   *  xxHash64 of camera v's file as 16 hex digits ("" when the camera had no file). NULL when
   *  not recorded (an archive of another input form, or written before). */
  char **source_frames;
  char **source_xxh64;
  /** Optional: the 2-D detections that were triangulated, saved as `detections_px` (F, K, V, 3)
   *  (x, y, confidence; NaN = none): `det_uv` F·K·V·2 pixels at ((f·K + k)·V + v)·2 and
   *  `det_conf` F·K·V confidences (1 where the input had none). Written by
   *  mhrfit_triangulate_observations() (`mhrfit triangulate`), read when present; NULL when not
   *  recorded (per-frame archives of a run, archives written before). With them a fit without
   *  views reweights each point's views (detector.h, reprojection refinement). */
  double *det_uv;
  double *det_conf;
} mhrfit_tri_archive;

/**
 * Allocates an archive of F·K·V (points NaN, flags and counts zero) with
 * `subset_names`/`cams` copied from `names`/`cams` (K and V strings). The
 * caller owns it (mhrfit_tri_archive_free()). Errors: MHRFIT_ERR_NOMEM,
 * MHRFIT_ERR_ARGUMENT (zero sizes).
 */
mhrfit_tri_archive *mhrfit_tri_archive_new(size_t n_frames, size_t n_kp, size_t n_views, const char *const *names,
                                           const char *const *cams, mhrfit_error *err);

/** Recomputes `mean_px` from `inliers` and `reproj_err` over all frames. */
void mhrfit_tri_archive_update_mean(mhrfit_tri_archive *a);

/** Writes the archive to `path` atomically (deflate). Errors: MHRFIT_ERR_IO, MHRFIT_ERR_NOMEM. */
bool mhrfit_tri_archive_save(const char *path, const mhrfit_tri_archive *a, mhrfit_error *err);

/**
 * Reads an archive written by mhrfit_tri_archive_save() (with or without
 * the frame axis; `points3d_init`, `reproj_err_px`, `n_views_used`,
 * `reason` and `mean_reproj_err_px` are optional and filled with NaN / zero /
 * recomputed when absent). Errors name the file and the member:
 * MHRFIT_ERR_NOT_FOUND (missing member), MHRFIT_ERR_FORMAT (shapes that do
 * not agree), MHRFIT_ERR_IO. The caller owns the result.
 */
mhrfit_tri_archive *mhrfit_tri_archive_load(const char *path, mhrfit_error *err);

/** Frees an archive. NULL is allowed. */
void mhrfit_tri_archive_free(mhrfit_tri_archive *a);

/**
 * Triangulates every frame of `obs` (V = obs->n_views cameras `cams`, named
 * `cam_names`) for the K keypoints `idx` (indices into the observations'
 * keypoints, named `names`) into a new archive: the frame axis unless the input
 * is a single stage-1 frame, `subset_idx` = `idx`, `method` and `threshold_px`
 * from `o` (NULL: defaults), `mean_px` computed, the detections of the K keypoints
 * recorded (`det_uv`, `det_conf`). Errors: MHRFIT_ERR_ARGUMENT
 * (an index out of range, bad options), MHRFIT_ERR_NOMEM. The caller owns the
 * result.
 */
mhrfit_tri_archive *mhrfit_triangulate_observations(const mhrfit_camera *cams, const char *const *cam_names,
                                                    const mhrfit_observations *obs, const size_t *idx,
                                                    const char *const *names, size_t K,
                                                    const mhrfit_tri_options *o, mhrfit_error *err);

/**
 * Records the identity of frame `frame`'s inputs: the folder `dir` it was
 * read from (its last path component) and the xxHash64 of each camera's file
 * `<dir>/<cam>.npz` (else `.npy`), the same content hash `stage1_meta.json`
 * keeps for a stage-1 file. Errors: MHRFIT_ERR_IO (a file that cannot be
 * read), MHRFIT_ERR_NOMEM, MHRFIT_ERR_ARGUMENT (frame out of range).
 */
bool mhrfit_tri_archive_set_sources(mhrfit_tri_archive *a, size_t frame, const char *dir, mhrfit_error *err);

/** Whether the views given to the fit are the files a frame was triangulated from. */
typedef enum mhrfit_tri_views_match {
  MHRFIT_TRI_VIEWS_UNKNOWN = 0, /**< the archive records no identity, a file cannot be read, or the files
                                     differ in a folder named as the triangulated one (the same frame
                                     at another stage: SAM 3D Body's outputs and their stage-1 files) */
  MHRFIT_TRI_VIEWS_SAME,        /**< every camera's file is the one triangulated */
  MHRFIT_TRI_VIEWS_DIFFERENT    /**< a camera's file differs, in a folder named otherwise: another frame */
} mhrfit_tri_views_match;

/**
 * Compares the files `<dir>/<cam>.npz|.npy` of cameras `cams[0..n_cams-1]`
 * with the identities recorded for frame `frame` (cameras matched by name;
 * cameras the archive does not list are not compared). Files that differ in a
 * folder whose last path component is the recorded frame folder's name are
 * MHRFIT_TRI_VIEWS_UNKNOWN, not DIFFERENT: a frame's stage-1 files are
 * rewritten from its SAM 3D Body outputs (one person selected), so the
 * triangulation of the one and the fit of the other are of the same frame. On
 * MHRFIT_TRI_VIEWS_DIFFERENT, `why` (may be NULL) says which camera's file
 * differs and from which frame folder the triangulation came.
 */
mhrfit_tri_views_match mhrfit_tri_archive_match_views(const mhrfit_tri_archive *a, size_t frame, const char *dir,
                                                      const char *const *cams, size_t n_cams, char *why,
                                                      size_t why_size);
/** @} */

#ifdef __cplusplus
}
#endif
#endif
