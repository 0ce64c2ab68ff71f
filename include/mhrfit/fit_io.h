/**
 * @file fit_io.h
 * @brief Files of stage 3: the per-camera estimates a fit starts from, and `fit.npz`.
 *
 * **View sets.** One frame's stage-1 files `<dir>/<cam>.npz|.npy` (exact
 * names; a dict, a pickled dict, or a list of per-person dicts) loaded into
 * mhrfit_fit_view records for mhrfit_fitter_process(). Missing blocks default
 * as in the original (hands, scales, shape zero); a camera whose file is
 * absent (with `allow_missing`) or whose parameters are not finite becomes an
 * unusable view (NaN parameters, which the fitter skips and flags) with the
 * reason in `note` — never a failure of the frame.
 *
 * **Fit archives** (`fit.npz`, plain arrays, float32 geometry in the
 * calibration/world frame, metres). For F frames (a leading frame axis when
 * `frame_axis`), K target points, V cameras, J joints, N vertices:
 *
 * | member | shape | meaning |
 * |---|---|---|
 * | `mhr_model_params` | (F,204) | fitted canonical parameters (root zero) |
 * | `body_pose_params` | (F,133) | the same pose in SAM 3D Body's layout (jaw 0) |
 * | `hand_pose_params` | (F,108) | the initial view's SAM 3D Body hand code, not refitted: the fitted finger angles are `mhr_model_params[68:122]` |
 * | `scale_params`, `shape_params` | (F,28), (F,45) | the initial view's (kept fixed) |
 * | `pred_keypoints_3d` | (F,P,3) | world keypoints: P = 70 MHR70 keypoints, or the fitted keypoint set's (mhrfit_fit_archive_set_pred_keypoints()) |
 * | `pred_joint_coords` | (F,J,3) | world joint positions |
 * | `pred_global_rots` | (F,J,3,3) | world joint rotations (fit.h) |
 * | `pred_vertices` | (F,N,3) | world mesh vertices (absent when N = 0) |
 * | `opt_sim_scale`, `opt_sim_R`, `opt_sim_t` | (F), (F,3,3), (F,3) | output similarity |
 * | `opt_sim_scale_fit`, `opt_sim_R_fit`, `opt_sim_t_fit` | | similarity fitted at the final pose |
 * | `opt_sim_reused_prev` | (F) int32 | output similarity reused from the previous frame |
 * | `opt_status` | (F) str | `ok`, `bad_loss`, `optimization_failed`, … |
 * | `opt_message` | (F) str | why a frame failed (empty otherwise) |
 * | `opt_init_cam` | (F) str | camera of the initial view |
 * | `opt_cams` | (V) str | cameras of the view columns |
 * | `opt_cam_scores_3d_m` | (F,V) | weighted mean distance of each view after alignment (inf: unusable) |
 * | `opt_view_skipped` | (F,V) int32 | 1 = view unusable |
 * | `opt_init_loss`, `opt_best_loss`, `opt_final_loss` | (F) | total losses |
 * | `opt_init_data_loss`, `opt_best_data_loss`, `opt_final_data_loss` | (F) | data terms |
 * | `opt_loss_growth_ratio`, `opt_data_loss_growth_ratio` | (F) | final / best |
 * | `opt_iters`, `opt_best_iter`, `opt_n_valid_points` | (F) int32 | |
 * | `opt_is_bad_loss`, `opt_used_temporal_init`, `opt_uniform_fallback` | (F) int32 | flags |
 * | `opt_loss_hist`, `opt_data_loss_hist` | (F,I) | per-iteration losses, NaN-padded to the longest run |
 * | `opt_subset_indices` | (K) int32 | MHR70 index of each target |
 * | `opt_points3d_refined` | (F,K,3) | the targets |
 * | `opt_residuals_m` | (F,K) | distance of each keypoint to its target (NaN: not valid) |
 * | `opt_solver`, `opt_freeze_lower_body`, `opt_optimize_hand_pose`, `opt_temporal_weight`, `opt_hand_reg_weight`, `opt_use_anchor_similarity` | scalars | settings |
 * | `keypoint_names` | (P) str | name of each `pred_keypoints_3d` row: MHR70's, or the fitted keypoint set's |
 * | `units` | () str | `m`: every length is in metres |
 * | `frame_names` | (F) str | frame folder of each row (when known) |
 * | `fps` | () float64 | frame rate in Hz (when known) |
 * | `joint_names` | (J) str | MHR joint name of each joint row (when known) |
 * | `faces` | (T,3) int32 | triangles of the mesh, indices into `pred_vertices` (with the mesh) |
 * | `world_up` | () str | `+x` … `-z`: the world axis nearest to the bodies' up direction (neck above mid-hip) over the `ok` and recovered frames (when there is one) |
 *
 * A failed frame keeps NaN geometry and parameters and a non-`ok` status:
 * NaN never looks valid.
 */
#ifndef MHRFIT_FIT_IO_H
#define MHRFIT_FIT_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mhrfit/error.h"
#include "mhrfit/fit.h"
#include "mhrfit/rig.h"
#include "mhrfit/triangulate.h"
#include "mhrfit/value.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @name View sets
 * @{ */

/** One frame's per-camera estimates; everything is owned by the set. */
typedef struct mhrfit_fit_viewset {
  size_t n_views;             /**< cameras requested */
  mhrfit_fit_view *views;     /**< n_views views ready for mhrfit_fit_frame (names point into the set) */
  unsigned char *missing;     /**< n_views: 1 when the camera's file is absent */
  char (*note)[192];          /**< n_views: why a view is unusable ("" when usable) */
  double *hand_pose_params;   /**< n_views × 108 (zeros when absent) */
  double *scale_params;       /**< n_views × 28 (zeros when absent) */
  double *shape_params;       /**< n_views × 45 (zeros when absent) */
  double *keypoints_3d;       /**< n_views × 70 × 3 (NaN when absent) */
} mhrfit_fit_viewset;

/**
 * Loads the stage-1 files of `cams` from `dir`. `person` selects a person of
 * multi-person files as mhrfit_ingest_select_person() with
 * MHRFIT_PERSON_INDEX does (clipped to the persons present; stage-1 files
 * written by mhrfit ingest hold one). A missing file fails with MHRFIT_ERR_NOT_FOUND unless
 * `allow_missing`; unreadable files fail (MHRFIT_ERR_IO / FORMAT, naming the
 * file and key). Non-finite parameters or a file without a person do not
 * fail: the view is unusable and its `note` says why. The caller owns the result.
 */
mhrfit_fit_viewset *mhrfit_fit_viewset_load(const char *dir, const char *const *cams, size_t n_cams, size_t person,
                                            bool allow_missing, mhrfit_error *err);

/**
 * A view set from SAM 3D Body outputs already in memory: `outputs[v]` is camera `cams[v]`'s
 * document (a dict, or a list of per-person dicts; `person` selects as in
 * mhrfit_fit_viewset_load()), or NULL for a camera without output (an unusable view, like a
 * missing file with `allow_missing`). Nothing is kept from `outputs`; the set borrows `cams`
 * (the names must outlive it). Errors as mhrfit_fit_viewset_load() for malformed documents,
 * naming the camera. The caller owns the result.
 */
mhrfit_fit_viewset *mhrfit_fit_viewset_from_values(const mhrfit_value *const *outputs, const char *const *cams,
                                                   size_t n_cams, size_t person, mhrfit_error *err);

/** Frees a view set. NULL is allowed. */
void mhrfit_fit_viewset_free(mhrfit_fit_viewset *s);

/**
 * Prepares `frame` for frame `f` of a triangulation archive: targets point
 * into `tri`, `kp_index` (K ints) and `inlier_weight` (K doubles, the mean of
 * each point's inlier mask over the archive's cameras) are caller storage,
 * `views` (may be NULL) gets each view's mean reprojection error from the
 * archive's camera of the same name (the tie-break of the initial view).
 * Other fields of `frame` are zeroed. Errors: MHRFIT_ERR_FORMAT when the
 * archive's points are not MHR70 keypoints (index ≥ 70 or a name that is not
 * the MHR70 name of its index), MHRFIT_ERR_ARGUMENT for f out of range.
 */
bool mhrfit_fit_frame_from_tri(const mhrfit_tri_archive *tri, size_t f, mhrfit_fit_viewset *views, int *kp_index,
                               double *inlier_weight, mhrfit_fit_frame *frame, mhrfit_error *err);
/** @} */

/** @name Fit archives
 * @{ */

/** Fitted frames in memory; every array is owned (sizes in the member table of the file doc). */
typedef struct mhrfit_fit_archive {
  size_t n_frames, n_kp, n_views, n_joints, n_vertices, n_hist; /**< F, K, V, J, N, I */
  size_t n_pred_kp;          /**< P predicted keypoints per frame: 70 (MHR70), or a keypoint set's count */
  bool frame_axis;           /**< write the leading frame axis (always true when F > 1) */
  char (*status)[32];        /**< F status names */
  char (*message)[256];      /**< F failure messages ("" when none) */
  char (*init_cam)[64];      /**< F camera names of the initial view ("" when none) */
  char **cams;               /**< V camera names */
  int32_t *subset_idx;       /**< K MHR70 indices of the targets */
  double *model_params;      /**< F × 204 */
  double *body_pose;         /**< F × 133 */
  double *hand_pose_params;  /**< F × 108 */
  double *scale_params;      /**< F × 28 */
  double *shape_params;      /**< F × 45 */
  double *keypoints;         /**< F × P × 3 */
  double *joints;            /**< F × J × 3 */
  double *global_rots;       /**< F × J × 9 */
  double *vertices;          /**< F × N × 3 (NULL when N = 0) */
  double *sim_out;           /**< F × 13: scale, R (9, row-major), t (3) */
  double *sim_fit;           /**< F × 13 */
  int32_t *sim_reused;       /**< F */
  double *view_scores;       /**< F × V */
  int32_t *view_skipped;     /**< F × V */
  double *losses;            /**< F × 6: init, best, final total; init, best, final data */
  int32_t *counts;           /**< F × 6: iters, best_iter, n_valid_points, is_bad, used_temporal_init, uniform_fallback */
  double *loss_hist;         /**< F × I total losses (NaN padded) */
  double *data_loss_hist;    /**< F × I data losses */
  double *targets;           /**< F × K × 3 */
  double *residuals;         /**< F × K */
  /* settings written as scalars */
  char solver[16];           /**< "lm" or "adam" */
  bool freeze_lower_body, optimize_hand_pose, anchor_similarity;
  double w_temporal, w_hand_reg;
  /* self-description (mhrfit_fit_archive_describe()); members written when set */
  char **frame_names;        /**< F frame names, or NULL */
  double fps;                /**< frame rate in Hz, NaN when unknown */
  char **joint_names;        /**< J joint names, or NULL */
  int32_t *faces;            /**< n_faces × 3 mesh triangles (written with the vertices), or NULL */
  size_t n_faces;
  char world_up[4];          /**< "+y", "-z", ... (mhrfit_fit_archive_update_world_up()); "" when unknown */
  char **keypoint_names;     /**< P names of the predicted keypoints; NULL = MHR70's (P = 70) */
} mhrfit_fit_archive;

/**
 * Allocates an archive for F frames of K targets and V cameras, with J joints,
 * N vertices (0: no mesh) and I history entries per frame; every frame starts
 * as status "not_run" with NaN values. `cams` (V names) are copied. The caller
 * owns it. Errors: MHRFIT_ERR_NOMEM, MHRFIT_ERR_ARGUMENT.
 */
mhrfit_fit_archive *mhrfit_fit_archive_new(size_t n_frames, size_t n_kp, size_t n_views, size_t n_joints,
                                           size_t n_vertices, size_t n_hist, const char *const *cams,
                                           mhrfit_error *err);

/**
 * Sets the number P of predicted keypoints per frame (70 by default; a fit
 * with another keypoint set stores its own, e.g. 25 for BODY_25B); their
 * values are reset to NaN. `names` (P strings, copied; may be NULL) name them in
 * the archive's `keypoint_names`. Errors: MHRFIT_ERR_ARGUMENT (P = 0 or huge),
 * MHRFIT_ERR_NOMEM.
 */
bool mhrfit_fit_archive_set_pred_keypoints(mhrfit_fit_archive *a, size_t n, const char *const *names,
                                           mhrfit_error *err);

/** Copies the settings of `o` (solver, flags, weights) into the archive's scalars. */
void mhrfit_fit_archive_set_options(mhrfit_fit_archive *a, const mhrfit_fit_options *o);

/**
 * Stores a fitted frame: `res` (from mhrfit_fitter_process() on `frame`), the
 * views it used (for the names and the hand/scale/shape codes of the initial
 * view; may be NULL). Frames with more targets than K or histories longer than
 * I are cut; the view columns follow `frame->views` (at most V). Without
 * `res->vertices` (a fitter with `skip_mesh`) the frame's vertices are NaN.
 */
void mhrfit_fit_archive_set(mhrfit_fit_archive *a, size_t f, const mhrfit_fit_frame *frame,
                            const mhrfit_fit_viewset *views, const mhrfit_fit_result *res);

/**
 * Copies frame `sf` of `src` into frame `df` of `dst` (every member, status,
 * message and initial camera). The archives must have the same K, V, J and
 * I, and the same N unless one of them has no mesh (N = 0: the other's
 * vertices are not copied, and become NaN in `dst`); otherwise
 * MHRFIT_ERR_ARGUMENT names the size that differs.
 */
bool mhrfit_fit_archive_copy_frame(mhrfit_fit_archive *dst, size_t df, const mhrfit_fit_archive *src, size_t sf,
                                   mhrfit_error *err);

/** Resets frame `f` to status "not_run" with NaN values, as every frame of a new archive. */
void mhrfit_fit_archive_clear_frame(mhrfit_fit_archive *a, size_t f);

/** The output similarity of frame `f` (`sim_out`). */
void mhrfit_fit_archive_get_similarity(const mhrfit_fit_archive *a, size_t f, mhrfit_similarity *sim);

/** Stores `sim` as the output similarity of frame `f`. */
void mhrfit_fit_archive_set_similarity(mhrfit_fit_archive *a, size_t f, const mhrfit_similarity *sim);

/** Marks frame `f` failed: `status` (e.g. "optimization_failed") and `message`; values stay NaN. */
void mhrfit_fit_archive_set_failed(mhrfit_fit_archive *a, size_t f, const char *status, const char *message);

/**
 * Writes the archive to `path` atomically (deflate): the members of the file
 * doc. Errors: MHRFIT_ERR_IO, MHRFIT_ERR_NOMEM.
 */
bool mhrfit_fit_archive_save(const char *path, const mhrfit_fit_archive *a, mhrfit_error *err);

/**
 * The members mhrfit_fit_archive_save() writes, as a new DICT value (member name → ARRAY, with
 * the same dtypes, shapes and values as the file), for callers that want the archive in memory
 * (e.g. a language binding). The caller owns the result. Errors: MHRFIT_ERR_NOMEM.
 */
mhrfit_value *mhrfit_fit_archive_to_value(const mhrfit_fit_archive *a, mhrfit_error *err);

/**
 * Reads a `fit.npz` written by mhrfit_fit_archive_save() (with or without the
 * frame axis; the mesh and histories are optional). Errors name the file and
 * member: MHRFIT_ERR_NOT_FOUND, MHRFIT_ERR_FORMAT, MHRFIT_ERR_IO. The caller
 * owns the result.
 */
mhrfit_fit_archive *mhrfit_fit_archive_load(const char *path, mhrfit_error *err);

/**
 * Makes the archive self-describing: copies `frame_names` (F names; NULL leaves them unset),
 * sets `fps` (NaN: unknown) and, from `rig` (may be NULL), the joint names (when J matches) and
 * the mesh triangles (when the archive holds N = rig->n_vertices vertices). Errors:
 * MHRFIT_ERR_NOMEM, MHRFIT_ERR_ARGUMENT (a NULL name).
 */
bool mhrfit_fit_archive_describe(mhrfit_fit_archive *a, const char *const *frame_names, double fps,
                                 const mhrfit_rig *rig, mhrfit_error *err);

/**
 * Sets `world_up` to the up axis mhrfit_up_detect() (up_axis.h) finds from the predicted
 * keypoints (hips, neck or shoulders, by their names: MHR70's or `keypoint_names`) over the frames
 * whose status is `ok` or `recovered_*`; "" when there is none.
 */
void mhrfit_fit_archive_update_world_up(mhrfit_fit_archive *a);

/**
 * Checks the values a fitted frame's geometry is computed from, as `export` and `smooth` do
 * before any work: the 204 `model_params`, the 45 `shape_params`, the similarity `sim` (13:
 * scale, R row-major, t) and, when not NULL, the 72 `expr_params` must be finite, and the scale
 * positive. Errors (MHRFIT_ERR_NUMERIC) name `source`, the frame (`name`, index `f`, `status`)
 * and the first bad value: "SRC: frame 000005 (index 5, status ok): mhr_model_params[10] is
 * not finite" (the keys of the archive: mhr_model_params, shape_params, opt_sim_scale,
 * opt_sim_R, opt_sim_t, expr_params).
 */
bool mhrfit_fit_check_frame_values(const char *source, const char *name, size_t f, const char *status,
                                   const double *model_params, const double *shape_params, const double *sim,
                                   const double *expr_params, mhrfit_error *err);

/**
 * mhrfit_fit_check_frame_values() on every frame of `a` whose status is `ok` or `recovered_*`
 * (the frames smoothing and export take; the others are kept as they are, NaN included), with
 * the frame's name (else its index as six digits) and `a->sim_out`; `source` names the archive
 * in the message. Errors: the first frame's, MHRFIT_ERR_NUMERIC.
 */
bool mhrfit_fit_archive_check_values(const mhrfit_fit_archive *a, const char *source, mhrfit_error *err);

/** Frees an archive. NULL is allowed. */
void mhrfit_fit_archive_free(mhrfit_fit_archive *a);
/** @} */

/** @name Writing a sequence archive frame by frame
 *
 * A sequence of F frames written as its frames are made, without holding it in memory: the
 * file is byte for byte what mhrfit_fit_archive_save() writes for an F-frame archive holding
 * the same frames, shaped and described like `layout`, with `world_up` updated
 * (mhrfit_fit_archive_update_world_up()). The per-frame members go to a temporary file beside
 * the archive as frames are appended; the writer keeps per frame only its status, initial
 * camera, message, loss growth ratios and up-axis markers (about 130 bytes plus the message),
 * and writes the archive (deflated member by member, fsynced, renamed into place) when closed.
 * Archives of 2 GiB or more are refused by mhrfit_fit_writer_open() (MHRFIT_ERR_LIMIT), before
 * any frame is made.
 * @{ */

typedef struct mhrfit_fit_writer mhrfit_fit_writer;

/**
 * A writer of the `n_frames`-frame archive `path`, shaped (K, V, J, N, I, P), set (solver,
 * flags, weights, subset indices) and described (keypoint and joint names, faces, fps) like
 * `layout` (its frames are not used), with `frame_names` (n_frames names, or NULL). Nothing is
 * written at `path` before mhrfit_fit_writer_close(). Errors: MHRFIT_ERR_ARGUMENT (no frame),
 * MHRFIT_ERR_LIMIT (2 GiB or more), MHRFIT_ERR_NOMEM, MHRFIT_ERR_IO (the temporary file).
 */
mhrfit_fit_writer *mhrfit_fit_writer_open(const char *path, const mhrfit_fit_archive *layout, size_t n_frames,
                                          const char *const *frame_names, mhrfit_error *err);

/**
 * Appends frame `f` of `src` as the next frame of the file. `src` must have the layout's K, V,
 * J, I and P, and its N or none (N = 0: NaN vertices, as mhrfit_fit_archive_copy_frame()).
 * Errors: MHRFIT_ERR_ARGUMENT (sizes, more frames than the file holds), MHRFIT_ERR_NOMEM,
 * MHRFIT_ERR_IO (reported at the latest by mhrfit_fit_writer_close()).
 */
bool mhrfit_fit_writer_append(mhrfit_fit_writer *w, const mhrfit_fit_archive *src, size_t f, mhrfit_error *err);

/**
 * Writes the archive once every frame is appended: `world_up` from the appended frames, the
 * members in the file's order, fsync, rename; the temporary file is removed. On failure the
 * path is untouched. Call mhrfit_fit_writer_free() after, in every case.
 */
bool mhrfit_fit_writer_close(mhrfit_fit_writer *w, mhrfit_error *err);

/** Frees a writer, removing its temporary file when it was not closed. NULL is allowed. */
void mhrfit_fit_writer_free(mhrfit_fit_writer *w);
/** @} */

/** @name Sequences: frames fitted in order into an archive
 * @{ */

/** What mhrfit_fit_sequence_process() did with one frame; valid until the next call. */
typedef struct mhrfit_fit_step {
  bool fitted;               /**< the fitter returned a result (status ok or bad_loss) */
  mhrfit_fit_frame frame;    /**< the frame as fitted (targets point into the triangulation) */
  mhrfit_fit_result result;  /**< the result when `fitted` (arrays owned by the fitter) */
  mhrfit_error why;          /**< why the frame could not be fitted (when not `fitted`) */
  double seconds;            /**< time spent in mhrfit_fitter_process() */
} mhrfit_fit_step;

typedef struct mhrfit_fit_sequence mhrfit_fit_sequence;

/**
 * A sequence of frames fitted in order by `fitter` (borrowed: must outlive
 * the sequence), each with the temporal prior of fit.h's rule
 * (mhrfit_fit_prior): the last ok frame while at most `max_stale_frames`
 * frames back, or `init_pose` (204 parameters, copied; may be NULL) before
 * the first ok frame. Errors: MHRFIT_ERR_ARGUMENT (max_stale_frames < 0),
 * MHRFIT_ERR_NOMEM.
 */
mhrfit_fit_sequence *mhrfit_fit_sequence_new(mhrfit_fitter *fitter, long max_stale_frames, const double *init_pose,
                                             mhrfit_error *err);

/**
 * Fits the sequence's next frame: frame `f` of `tri` (mhrfit_fit_frame_from_tri())
 * with the estimates `views`, under the prior, and stores it in row `row` of
 * `ar` (mhrfit_fit_archive_set()); an ok frame becomes the prior. A frame the
 * fitter cannot fit (too few points, no usable view: mhrfit_fitter_process())
 * is not an error: `step->fitted` is false, `step->why` says why, and the row
 * is marked `optimization_failed` with that message. Returns false (nothing
 * stored, the prior unchanged) for what is not the frame's fault:
 * MHRFIT_ERR_FORMAT (the triangulation's points are not MHR70 keypoints),
 * MHRFIT_ERR_ARGUMENT (f or row out of range, malformed frame),
 * MHRFIT_ERR_NOMEM.
 */
bool mhrfit_fit_sequence_process(mhrfit_fit_sequence *s, const mhrfit_tri_archive *tri, size_t f,
                                 mhrfit_fit_viewset *views, mhrfit_fit_archive *ar, size_t row, mhrfit_fit_step *step,
                                 mhrfit_error *err);

/** The prior the next frame would use (when fresh). */
const mhrfit_fit_prior *mhrfit_fit_sequence_prior(const mhrfit_fit_sequence *s);

/** Forgets the prior (and any initial pose): the next frame is fitted as the first of a sequence. */
void mhrfit_fit_sequence_reset(mhrfit_fit_sequence *s);

/** Frees a sequence (not its fitter). NULL is allowed. */
void mhrfit_fit_sequence_free(mhrfit_fit_sequence *s);
/** @} */

/** @name Batches: a triangulation fitted against folders of stage-1 files
 *
 * What `mhrfit fit --views DIR` does. The frame folders: `DIR` itself when
 * the triangulation has one frame and `DIR` holds a file of the first camera
 * (the frame is then labelled `frame`), else the sub-folders of `DIR` in
 * natural order, one per triangulated frame, labelled by their names.
 * Frames are fitted in order as a sequence (mhrfit_fit_sequence_process()).
 * @{ */

/** Where a batch is (mhrfit_fit_batch_options.on_frame). */
typedef struct mhrfit_fit_batch_progress {
  size_t frame;              /**< index of the frame just done */
  size_t n_frames;           /**< frames of the batch */
  const char *label;         /**< its label */
  size_t n_ok, n_bad, n_failed; /**< frames done so far: ok, bad_loss, not fitted */
  double solver_seconds;     /**< time spent in the fitter so far */
} mhrfit_fit_batch_progress;

/** Batch settings; mhrfit_fit_batch_options_init() sets the defaults given here. */
typedef struct mhrfit_fit_batch_options {
  const char *const *cams;   /**< cameras whose estimates start the fit (borrowed), or NULL: the triangulation's */
  size_t n_cams;             /**< number of `cams` */
  size_t person_index;       /**< person of multi-person stage-1 files (0; mhrfit_fit_viewset_load()) */
  bool allow_missing_views;  /**< a camera without a file is an unusable view, not an error (true) */
  long max_stale_frames;     /**< temporal prior rule of fit.h (40) */
  const double *init_pose;   /**< 204 parameters: the prior of the first frame, read by mhrfit_fit_batch_process() (NULL) */
  bool no_mesh;              /**< leave the vertices out of the archive (false) */
  const char *debug_dir;     /**< when set, mhrfit_fit_debug_write() of each fitted frame into `debug_dir/<label>` (NULL);
                                  the folder is made and locked (one writer at a time) while the batch lives */
  /** Called with each warning: views of another frame than the triangulated one, a camera not used in a frame and
   *  why, a frame that could not be fitted and why (may be NULL). */
  void (*on_warning)(void *user, const char *message);
  /** Called after each frame (may be NULL). */
  void (*on_frame)(void *user, const mhrfit_fit_batch_progress *progress);
  void *user;                /**< passed to the callbacks */
} mhrfit_fit_batch_options;

/** Fills `o` with the defaults. */
void mhrfit_fit_batch_options_init(mhrfit_fit_batch_options *o);

typedef struct mhrfit_fit_batch mhrfit_fit_batch;

/**
 * Prepares the batch fit of `tri` (borrowed: must outlive the batch) against
 * `views_dir`: finds the frame folders (above) and warns (`on_warning`) for
 * each frame whose views are not the stage-1 files it was triangulated from,
 * when the archive records them (mhrfit_tri_archive_match_views()). `o` is
 * copied (its pointers are borrowed); NULL means defaults. Cheap: no file is
 * read but the folder listing; with a `debug_dir`, that folder is made and
 * its lock taken until mhrfit_fit_batch_free(). Errors: MHRFIT_ERR_BUSY
 * (another process writes the debug folder, its id named),
 * MHRFIT_ERR_FORMAT (as many frame
 * folders as triangulated frames are needed), MHRFIT_ERR_IO /
 * MHRFIT_ERR_NOT_FOUND (the folder), MHRFIT_ERR_ARGUMENT (no camera,
 * max_stale_frames < 0), MHRFIT_ERR_NOMEM.
 */
mhrfit_fit_batch *mhrfit_fit_batch_new(const mhrfit_tri_archive *tri, const char *views_dir,
                                       const mhrfit_fit_batch_options *o, mhrfit_error *err);

/** Frames of the batch (the triangulation's). */
size_t mhrfit_fit_batch_n_frames(const mhrfit_fit_batch *b);

/**
 * Fits every frame in order with a fitter of `rig` and `fit_options` (NULL:
 * defaults) and returns the archive: F rows, the batch's cameras as view
 * columns, the fit settings, the mesh unless `no_mesh`, the triangulation's
 * frame axis. Per frame: its view set is loaded (mhrfit_fit_viewset_load()),
 * the frame fitted as the sequence's next, the debug files written, a
 * warning given for each camera with a file problem whose view the fit did
 * not use, and for a frame that could not be fitted, then `on_frame`. A
 * frame that cannot be fitted is a row marked `optimization_failed`, not an
 * error; `summary` (may be NULL) gets the counts of the last progress call.
 * The archive describes itself (mhrfit_fit_archive_describe(),
 * mhrfit_fit_archive_update_world_up()): the joint names, `faces` with the
 * mesh, `world_up` when an ok frame shows it, and the frame names the
 * triangulation recorded (else the frame sub-folders' names; none for a
 * single folder of camera files); the rate is unknown.
 * Errors (NULL, with the frame named where there is one): an unreadable or
 * (without allow_missing_views) missing stage-1 file, a debug file that
 * cannot be written, the errors of mhrfit_fit_sequence_process() and of
 * mhrfit_fitter_new(). The caller owns the result.
 */
mhrfit_fit_archive *mhrfit_fit_batch_process(mhrfit_fit_batch *b, const mhrfit_rig *rig,
                                             const mhrfit_fit_options *fit_options,
                                             mhrfit_fit_batch_progress *summary, mhrfit_error *err);

/** Frees a batch. NULL is allowed. */
void mhrfit_fit_batch_free(mhrfit_fit_batch *b);

/**
 * The temporal prior of a first frame from a file (`mhrfit fit --init_pose`):
 * a NumPy file (`.npy`, `.npz`, pickle) holding `mhr_model_params` (204
 * values, or the last row of (F,204): a fit.npz or a stage-1 file) or
 * `body_pose_params` (133, written into parameters 6..135,
 * mhrfit_model_set_body_pose(); the rest zero), in a dict or the first of a
 * list of them, or a plain array of 204 or 133 values per row (the last
 * row). Errors name the file: MHRFIT_ERR_FORMAT (no such member, another
 * size), MHRFIT_ERR_NUMERIC (a value that is not finite), the loader's.
 */
bool mhrfit_fit_init_pose_load(const char *path, double model_params[204], mhrfit_error *err);

/**
 * Debug files of a fitted frame (`mhrfit fit --debug_dir`) in `dir/label/`
 * (created), each written atomically:
 * - `residuals.tsv`: per target, `index name inlier_weight semantic_weight
 *   target_x target_y target_z fit_x fit_y fit_z residual_mm` (MHR70 index
 *   and name, world metres, the residual of mhrfit_fit_result in mm);
 * - `views.tsv`: per view, `camera score_m mean_reproj_px skipped initial
 *   note` (the view's score, the triangulation's reprojection error, 1 when
 *   skipped, 1 for the initial view, the view set's note when `views` is
 *   given);
 * - `loss_curve.svg`: log10 of the total (blue) and data (red) losses
 *   against the iteration, the best iteration in the title.
 * `frame` and `res` as given to and returned by mhrfit_fitter_process()
 * (MHR70 targets); `views` may be NULL. Errors: MHRFIT_ERR_IO naming the
 * file, MHRFIT_ERR_NOMEM.
 */
bool mhrfit_fit_debug_write(const char *dir, const char *label, const mhrfit_fit_frame *frame,
                            const mhrfit_fit_viewset *views, const mhrfit_fit_result *res, mhrfit_error *err);
/** @} */

#ifdef __cplusplus
}
#endif
#endif
