/**
 * @file demo.h
 * @brief A deterministic synthetic multi-view capture generated from the MHR rig.
 *
 * mhrfit_demo_write() writes, into one folder, what a user of mhrfit would have after running
 * SAM 3D Body on the images of a calibrated multi-camera recording, plus the ground truth:
 *
 * ```
 * DIR/calibration.toml       Caliscope/Anipose dialect, [cam_0] ... (world→camera, metres)
 * DIR/<frame>/<cam>.npz      per frame and camera: the SAM 3D Body output of that view
 * DIR/ground_truth.npz       the true motion, visibility, outliers, missing views, decoys
 * DIR/README.txt             the scene and its conventions
 * ```
 *
 * **World frame.** Metres, right-handed, **y up**, the floor at y = 0: the MHR native axes (MHR.md
 * §2) scaled to metres, so that the ground-truth model parameters place the body in the world
 * directly (root translation in decimetres as MHR defines it). At frame 0 the subject stands at the
 * origin facing +z, its left side towards +x.
 *
 * **Cameras.** `n_cams` cameras on a ring of radius 3–4 m around the subject, 1.2–2.0 m high,
 * looking at the subject's chest with a small roll; 1920 × 1080 pixels, fx ≈ 1,400–1,800 px,
 * principal point near the centre, mild OpenCV distortion (k1 k2 p1 p2 k3). Table `cam_<i>`,
 * name `cam_<i>`.
 *
 * **Motion.** `n_frames` frames at `fps`. The motion script spans max(`n_frames`, 120) frames (a
 * shorter capture is the start of the 120-frame one, at the same speed; a longer one plays the
 * script more slowly). For its first two thirds (`standing_frames`, at most `n_frames`) the root
 * and every lower-body parameter stay exactly constant (bit-identical) while the upper body
 * moves: a lateral raise of the right arm with a waving wrist, a forward raise of the left arm,
 * torso twist, head turns, fists closing and opening. Then the subject steps forward (right leg,
 * then left) and turns by 90° to the left. Every parameter is a C¹-smooth function of time and
 * lies within the `.model` limits; the identity (68 scale parameters) is fixed.
 *
 * **Per-view files** imitate SAM 3D Body (MHR.md §8, DATA.md §2): float32 arrays `bbox` (4),
 * `focal_length` (), `pred_keypoints_3d` (70,3), `pred_keypoints_2d` (70,2), `pred_cam_t` (3),
 * `pred_pose_raw` (266, zeros), `global_rot` (3), `body_pose_params` (133; hand block 62..115
 * and jaw zero), `hand_pose_params` (108) and `scale_params` (28) (zeros: they are PCA
 * coefficients of SAM 3D Body's checkpoint; the decoded values are in `mhr_model_params`),
 * `shape_params` (45, zeros), `expr_params` (72, zeros), `pred_joint_coords` (127,3),
 * `pred_global_rots` (127,3,3, native axes), `mhr_model_params` (204), and float64
 * `lhand_bbox`, `rhand_bbox` (4). The 3-D arrays are in SAM 3D Body camera conventions (metres,
 * x right, y down, z forward, relative to the MHR origin; the camera-frame position is
 * `pred_keypoints_3d + pred_cam_t`), computed by MHR forward kinematics of that view's own
 * parameters and the MHR70 keypoint map (surface keypoints as markers, keypoints.h). The view's
 * parameters are the truth as a monocular estimate errs: the global rotation perturbed, limb and
 * finger angles with Gaussian noise (`angle_noise`), scales slightly off, and the depth wrong by
 * the ratio of SAM 3D Body's default focal length `sqrt(W² + H²)` (stored in `focal_length`) to
 * the true one, times a random factor (`depth_noise`).
 *
 * `pred_keypoints_2d` are the true world keypoints projected through the calibrated camera
 * (distortion included) plus Gaussian noise (`pixel_noise` per axis), with a fraction
 * `outlier_rate` of gross errors (`outlier_min_px`..`outlier_max_px` in a random direction), and
 * NaN where the keypoint is outside the image or self-occluded. Self-occlusion rule: the torso is
 * an elliptic cylinder from the pelvis (mid-hips) to the neck keypoint (semi-axes 0.16 m
 * sideways, 0.11 m front-back); a keypoint outside it is hidden when the ray from the camera to
 * it crosses the cylinder first; a keypoint inside it (hips, acromions) is hidden when it lies
 * more than 6 cm behind the torso axis as seen from the camera; a face keypoint (nose, eyes,
 * ears) is hidden when its direction from the head centre (mid-ears) faces away from the camera.
 *
 * **Second person.** In a fraction `decoy_rate` of the views (at least one when > 0, unless the
 * subject fills the view so that no smaller second person fits) a second, smaller
 * person (a child-sized copy of the view's estimate, farther away and to the side, with its own
 * consistent parameters, 3-D and 2-D keypoints) is in the file **listed first**: every
 * per-person array then has a leading person axis of 2 (decoy, subject) — e.g.
 * `pred_keypoints_2d` (2,70,2), `bbox` (2,4), `focal_length` (2,) — so selecting the `first`
 * person is wrong and `largest_bbox` is right. Single-person views have no person axis, as the
 * real SAM 3D Body files.
 *
 * **Pictures** (`images`): each view that has a file also gets `<frame>/<cam>.jpg`
 * (`width` × `height`, JPEG quality 95): a flat background, RGB (40, 44, 52), with the subject's
 * true mesh (the rig's LOD, skinned with the truth's parameters) drawn through the calibrated
 * camera, distortion included, as a depth-ordered silhouette of colour (230, 190, 150) shaded by
 * the facing of each triangle (0.45 to 1 times that colour; mhrfit_draw_mesh()). The second
 * person is not drawn. `mhrfit overlay` then draws the fitted body over these pictures.
 *
 * **Missing data** (`missing_views`): a few frames lack one camera file entirely, and in one
 * frame only one camera sees the subject (the frame folder holds a single file: too few views
 * to triangulate).
 *
 * **Determinism.** Everything comes from one seed through a small internal PRNG (xoshiro256**
 * seeded by splitmix64), one independent stream per purpose and per (frame, camera); archives
 * carry a fixed timestamp, so two runs with the same seed and options write byte-identical files.
 */
#ifndef MHRFIT_DEMO_H
#define MHRFIT_DEMO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mhrfit/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What to generate. Fill with mhrfit_demo_options_init(), then change fields. */
typedef struct mhrfit_demo_options {
  const char *assets;        /**< MHR assets folder (compact_v6_1.model + lodN.fbx) or a rig file of
                                  mhrfit_rig_save(), read with mhrfit_rig_open(); required */
  int lod;                   /**< level of detail to load (default -1: lod1 when present, else the lowest present; or the rig file's) */
  size_t n_frames;           /**< frames (default 120; 1..100000) */
  size_t n_cams;             /**< cameras (default 4; 2..16) */
  uint64_t seed;             /**< PRNG seed (default 1) */
  double fps;                /**< frame rate of the motion (default 30) */
  int width, height;         /**< image size in pixels (default 1920 × 1080) */
  double pixel_noise;        /**< σ of the 2-D keypoint noise per axis, px (default 2) */
  double outlier_rate;       /**< fraction of visible 2-D keypoints made gross outliers (default 0.02) */
  double outlier_min_px;     /**< smallest outlier displacement, px (default 30) */
  double outlier_max_px;     /**< largest outlier displacement, px (default 150) */
  double angle_noise;        /**< σ of the per-view joint-angle error, radians (default 0.08) */
  double depth_noise;        /**< σ of the per-view relative depth error, on top of the focal-length bias
                                  (default 0.05; must be < 0.5) */
  double decoy_rate;         /**< fraction of views with a second person listed first (default 0.1; at least
                                  one view when > 0) */
  bool missing_views;        /**< drop a few camera files and keep one frame with a single view (default true) */
  bool images;               /**< also write `<frame>/<cam>.jpg` beside each view's file: a flat background with the
                                  subject's true mesh as a shaded silhouette (overlay.h), for `mhrfit overlay`
                                  (default false) */
  const char *marker_source; /**< optional SAM 3D Body output (.npz/.npy) whose pred_keypoints_3d calibrates the
                                  surface markers (keypoints.h); NULL: built-in anatomical offsets */
  bool overwrite;            /**< replace an earlier demo in the output folder (default false: the folder must be
                                  new or empty) */
} mhrfit_demo_options;

/** Fills `o` with the defaults documented in mhrfit_demo_options (assets NULL). */
void mhrfit_demo_options_init(mhrfit_demo_options *o);

/** What mhrfit_demo_write() produced (counts for a summary). */
typedef struct mhrfit_demo_summary {
  size_t n_frames, n_cams;   /**< sizes of the capture */
  size_t standing_frames;    /**< frames [0, standing_frames) have a still lower body */
  size_t n_files;            /**< stage-1 files written */
  size_t n_missing;          /**< (frame, camera) views without a file */
  long one_view_frame;       /**< the frame seen by one camera only, -1 when none */
  size_t n_decoy_views;      /**< views with a second person listed first */
  size_t n_visible;          /**< 2-D keypoints of the subject written as finite values */
  size_t n_hidden;           /**< 2-D keypoints of the subject written as NaN (outside the image or self-occluded) */
  size_t n_outliers;         /**< finite 2-D keypoints displaced as gross outliers */
  long example_frame;        /**< a frame with every camera present and no decoy (-1 when none): good to triangulate */
} mhrfit_demo_summary;

/**
 * Generates the capture described in the file documentation into `out_dir` (created with its
 * parents when missing). An existing folder must be empty, or hold an earlier demo (it has a
 * `ground_truth.npz`) with `overwrite` (mhrfit_demo_check_out()); files of an earlier demo that
 * the new one does not write (frame folders past the new frame count, camera files now missing)
 * are removed. Every file is written atomically. `summary` may be NULL. Errors name the file or option: MHRFIT_ERR_ARGUMENT
 * (options out of range, a non-empty folder that is not a demo), MHRFIT_ERR_IO,
 * MHRFIT_ERR_NOT_FOUND / MHRFIT_ERR_FORMAT (assets, marker source), MHRFIT_ERR_NOMEM.
 */
bool mhrfit_demo_write(const char *out_dir, const mhrfit_demo_options *opts, mhrfit_demo_summary *summary,
                       mhrfit_error *err);

/**
 * Whether mhrfit_demo_write() may write into `out_dir`: it does not exist (it will be made), is an
 * empty folder, or holds an earlier demo (a `ground_truth.npz`) and `overwrite` allows replacing
 * it. Otherwise MHRFIT_ERR_ARGUMENT saying which (not a folder; not empty and no demo; an earlier
 * demo without `overwrite`). Writes nothing; for a command to refuse before any work.
 */
bool mhrfit_demo_check_out(const char *out_dir, bool overwrite, mhrfit_error *err);

/**
 * @defgroup demo_eval Accuracy of a pipeline run against the demo's ground truth
 *
 * mhrfit_demo_evaluate() compares what `mhrfit run` wrote for a demo capture with the capture's
 * `ground_truth.npz`. All distances are Euclidean, in millimetres, between world points (metres,
 * the calibration's world frame, which is the ground truth's):
 *
 * - **triangulation error**: over every finite point of `triangulation/<frame>/triangulated.npz`
 *   (keypoint `subset_idx[i]`), `|p_tri − p_true|`; mean, median, 95th percentile and maximum;
 * - **keypoint MPJPE** of a fitted sequence (`sequence_fit.npz`, `sequence_smoothed.npz`): per
 *   frame, the mean over its finite keypoints of `|p_fit − p_true|`; then the mean over the frames
 *   whose fit succeeded (status `ok`: `mpjpe_mm`; `mpjpe_standing_mm` over the standing ones
 *   only) and, separately, over the frames filled in by recovery (`recovered_*`:
 *   `mpjpe_recovered_mm`), whose error depends on how far the subject moved across the gap;
 * - **acceleration error** (the usual smoothness measure of video pose estimation): over frames
 *   f with valid f−1, f, f+1 and every keypoint finite in all three, the mean of
 *   `|(p(f+1) − 2p(f) + p(f−1)) − (g(f+1) − 2g(f) + g(f−1))|` (mm/frame²), g the truth;
 * - **lower-body jitter**: over consecutive standing frames f−1, f (the subject's root and legs
 *   do not move: the true jitter is 0) the mean of `|p_k(f) − p_k(f−1)|` for the lower-body
 *   keypoints k = 9..20 of MHR70 (hips, knees, ankles, toes, heels);
 * - the status counts and the stage timings of `sequence_summary.json`.
 * @{
 */

/** Accuracy of one fitted sequence file against the truth. */
typedef struct mhrfit_demo_fit_accuracy {
  bool present;              /**< the file exists (all other fields NaN / 0 when not) */
  size_t n_frames_compared;  /**< frames with status ok */
  size_t n_frames_recovered; /**< frames with status recovered_* */
  double mpjpe_mm;           /**< mean over the ok frames of the per-frame mean keypoint error */
  double mpjpe_standing_mm;  /**< the same over the standing ok frames only */
  double mpjpe_recovered_mm; /**< the same over the recovered frames */
  double accel_err_mm;       /**< mean keypoint acceleration error, mm/frame² */
  double lower_jitter_mm;    /**< mean frame-to-frame motion of the lower-body keypoints while standing */
} mhrfit_demo_fit_accuracy;

/** Largest number of distinct frame statuses kept in a report. */
#define MHRFIT_DEMO_MAX_STATUS 8

/** What mhrfit_demo_evaluate() measured for one run folder. */
typedef struct mhrfit_demo_accuracy {
  size_t n_frames;            /**< frames of the capture */
  size_t standing_frames;     /**< frames [0, standing_frames) with a still lower body */
  size_t tri_frames;          /**< frames with a triangulation file */
  size_t tri_points;          /**< finite triangulated points compared */
  size_t tri_nan_points;      /**< points of those files left NaN (too few usable views) */
  double tri_mean_mm, tri_median_mm, tri_p95_mm, tri_max_mm; /**< triangulation error */
  size_t tri_over_50mm;       /**< points more than 5 cm from the truth */
  long tri_worst_frame;       /**< frame index of the largest error (-1 when none) */
  int tri_worst_kp;           /**< MHR70 index of the largest error (-1 when none) */
  mhrfit_demo_fit_accuracy fitted;   /**< sequence_fit.npz (per-frame fits, bad frames recovered) */
  mhrfit_demo_fit_accuracy smoothed; /**< sequence_smoothed.npz */
  bool freeze_lower_body;     /**< the run was made with --freeze_lower_body */
  size_t n_status;            /**< distinct statuses below */
  char status_name[MHRFIT_DEMO_MAX_STATUS][32]; /**< e.g. "ok", "recovered_interp" */
  size_t status_count[MHRFIT_DEMO_MAX_STATUS];  /**< frames with that status */
  double time_ingest_s, time_triangulate_s, time_fit_s, time_sequence_s, time_total_s; /**< stage wall times (NaN when absent) */
} mhrfit_demo_accuracy;

/**
 * Measures the run in `run_dir` (written by `mhrfit run` on the demo capture `capture_dir`)
 * against `capture_dir/ground_truth.npz`, as described above, into `acc`. Reads
 * `sequence_summary.json` and `sequence_fit.npz` (required), `sequence_smoothed.npz` and
 * `triangulation/<frame>/triangulated.npz` (optional: absent ones are not counted). Nothing is
 * allocated for the caller; on failure `acc` may be partly filled and must not be used.
 * Errors name the file and member: MHRFIT_ERR_IO / MHRFIT_ERR_NOT_FOUND (a file or member is
 * missing), MHRFIT_ERR_FORMAT (non-finite truth, frame counts or shapes that do not match the
 * capture, a triangulation file with more than one frame or 70 points), MHRFIT_ERR_NOMEM.
 */
bool mhrfit_demo_evaluate(const char *capture_dir, const char *run_dir, mhrfit_demo_accuracy *acc,
                          mhrfit_error *err);

/** @} */

#ifdef __cplusplus
}
#endif
#endif
