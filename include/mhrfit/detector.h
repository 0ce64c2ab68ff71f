/**
 * @file detector.h
 * @brief MHR from any 2-D keypoint detector: keypoint maps of detector layouts, and the fit of a
 *        sequence without SAM 3D Body views.
 *
 * Lifecycle: mhrfit_detmap_new() (a built-in layout, optionally amended by a user JSON map with
 * mhrfit_detmap_apply_json()) → mhrfit_detfit_new() → mhrfit_detfit_sequence() (calibration of the
 * sequence, then every frame) or mhrfit_detfit_calibrate() + mhrfit_detfit_frame() → free.
 *
 * **Keypoint maps.** Each keypoint of a detector layout is, in MHR, one of
 * - a **joint** keypoint: exactly an MHR joint (or the MHR70 neck, the midpoint of `c_neck` and
 *   `c_neck_twist1_proc`), where anatomy and the detector agree (wrists, knees, shoulders,
 *   finger joints and tips);
 * - a **marker**: a point rigidly attached to a joint, `p = t_j + s_j R_j o`, with a default
 *   local offset `o` (cm, in the joint's frame) that the sequence calibration refines; for the
 *   points whose definition differs from MHR's joints (hips, neck, elbows, ankles, face, head
 *   top, toes, heels, MediaPipe's hand points of the pose model);
 * - unused (not fitted).
 *
 * Default offsets are the rest-pose positions (all parameters 0) of the keypoint's MHR counterpart
 * (the MHR70 keypoint with its built-in anatomical marker offset, mhrfit_kpmap_calibrate_default())
 * expressed in the attachment joint's frame. Weights: 1 for joint keypoints of the body, 0.7 for
 * body markers (hips, elbows, ankles, neck), 0.5 for feet and finger points, 0.2 for the face and
 * head top. The similarity that places the body is fitted on the anchors (shoulders, hips, neck,
 * mid-hip; hand layouts: wrist and knuckles).
 *
 * | detector keypoint | MHR | kind | attached to |
 * |---|---|---|---|
 * | nose, eyes, ears (COCO, Halpe, BODY_25/25B, MediaPipe; MediaPipe eye corners ±1.5 cm, mouth corners) | MHR70 0–4 | marker | `c_head` |
 * | head top (Halpe `Head`, BODY_25B `Head`) | `c_head_null` | marker | `c_head` |
 * | shoulders | `l_uparm` / `r_uparm` (MHR70 5, 6) | joint | |
 * | elbows | MHR70 7, 8 | marker | `l_lowarm` / `r_lowarm` |
 * | wrists | `l_wrist_twist` / `r_wrist_twist` (MHR70 62, 41) | joint | |
 * | hips | MHR70 9, 10 (the hip joints at rest) | marker | `root` (the pelvis) |
 * | mid-hip (BODY_25 `MidHip`, Halpe `Hip`) | mean of the hip joints | marker | `root` |
 * | neck (BODY_25/25B, Halpe) | MHR70 69 | marker | `c_spine3` |
 * | knees | `l_lowleg` / `r_lowleg` (MHR70 11, 12) | joint | |
 * | ankles | MHR70 13, 14 | marker | `l_talocrural` / `r_talocrural` |
 * | big toes, small toes, MediaPipe foot index | MHR70 15, 16, 18, 19 | marker | `l_ball` / `r_ball` |
 * | heels | MHR70 17, 20 | marker | `l_subtalar` / `r_subtalar` |
 * | MediaPipe pose pinky, index, thumb | `*_pinky1`, `*_index1`, `*_thumb2` at rest | marker | `l_wrist` / `r_wrist` |
 * | hand 21 (MediaPipe Hands / OpenPose hand) wrist | `*_wrist_twist` | joint | |
 * | hand 21 thumb CMC, MCP, IP, tip | `*_thumb1`, `*_thumb2`, `*_thumb3`, `*_thumb_null` | joint | |
 * | hand 21 finger MCP, PIP, DIP, tip | `*_<finger>1`, `2`, `3`, `*_<finger>_null` | joint | |
 *
 * `mhr70` maps every keypoint to its MHR70 definition (49 joints, 21 markers). Fingers are fitted
 * when the map has keypoints on finger joints (hand layouts), and held at rest otherwise.
 *
 * **User maps** (JSON): an object whose keys are keypoint names of the layout (or of
 * `--keypoint_names`) and whose values are a joint name (a joint keypoint), `null` (not fitted),
 * or an object `{"joint": NAME, "offset": [x, y, z], "weight": W, "anchor": B}` — with `offset`
 * (metres, in the joint's frame: MHR's native axes at rest, +x the subject's left, +y up, +z
 * forward) the keypoint is a marker calibrated from that default; `weight` (default 1) and
 * `anchor` (default false) are optional. Keys not listed keep the built-in entry. Errors name the
 * key: an unknown keypoint, an unknown joint (with the closest names), a bad value. The body
 * proportions are measured between the keypoints that stand for MHR70 keypoints (`mhr70` of
 * mhrfit_detmap): a user's joint keypoint stands for the MHR70 keypoint of its joint whatever map
 * it came from, so `{"LKnee": "l_lowleg"}` keeps the knee's segments and a name-only input (point
 * ids) mapped to joints gets the segments between them; a user marker stands for none.
 *
 * **Sequence fit** (mhrfit_detfit_sequence()): on the triangulated points of F frames,
 * 1. *Proportions*: the MHR scale parameters of the segment lengths (spine 139, shoulder width
 *    141, upper arms 142, forearms 143, hands 144/145, hip width 146, thighs 149, shanks 150,
 *    foot length 153) are found by damped Gauss–Newton so that the rest-pose segment lengths of
 *    the map (shoulder–elbow, elbow–wrist, hip–knee, knee–ankle, shoulder–shoulder, hip–hip,
 *    shoulder–hip, heel–toe, wrist–knuckles; those whose two keypoints the layout has) equal the
 *    medians of the triangulated lengths over the frames,
 *    `min Σ_seg (ℓ_seg(θ) − median_f ℓ_seg,f)² + λ‖θ‖²`, λ = 1e-4 m². One set for the whole
 *    sequence; the similarity has no scale and the flexible lengths (130..135) are frozen, so the
 *    proportions are the same in every frame.
 * 2. *Markers*: on up to `calib_frames` frames spread over the sequence, alternately (a) the pose
 *    of each frame is fitted with the current offsets and (b) each marker's offset is the
 *    regularised least-squares estimate over those frames,
 *    `o = argmin Σ_f w_f h(s_f ‖o − ô_f‖) + ½ λ_o ‖o − o_default‖²`, with ô_f the target
 *    expressed in the joint's frame (`ô_f = R_jᵀ (S_f⁻¹ g_f − t_j) / s_j`, S_f the frame's
 *    similarity), s_f the scale from that frame to metres, h the frame fit's Huber loss (δ =
 *    `huber_m`), w_f the point's weight in that frame and λ_o = `offset_prior`, by iteratively
 *    reweighted least squares (`o = (Σ_f c_f ô_f + λ_o o_default) / (Σ_f c_f + λ_o)`, c_f = w_f
 *    for targets within δ, w_f δ / r_f beyond): a frame whose triangulation took a wrong point
 *    pulls by at most δ, not by its whole error. The change from the default is capped at
 *    `max_offset_change_cm`. `calib_rounds` alternations. With 2-D detections the frames' targets
 *    are those of the reprojection refinement (below).
 * 3. *Frames* in order: the start is the previous good frame's pose (within `max_stale_frames`)
 *    with the temporal prior, else the rest pose placed by the similarity of the anchors and
 *    refined limb by limb — spine, head, each arm (shoulder rotations and elbow), each leg (hip
 *    rotations and knee), each foot — by a damped Gauss–Newton on that limb's keypoints (those
 *    that depend on its parameters and on no later limb's; the spine step includes the clavicles) from
 *    several starting bends, every step clamped to the `.model` joint limits, so elbows and knees
 *    cannot flip backwards; then the Levenberg–Marquardt fit of fit.h (joint limits on, every
 *    guard of the frame fit: NaN, zero weights, minimum points, bad-loss classification). A warm
 *    frame whose fitted limb bones stray more than 35° from the triangulated ones is fitted again
 *    from the limb-by-limb start (mhrfit_detfit_frame()).
 *
 * **Camera metric** (optional, mhrfit_detfit_metrics_from_tri(); `mhrfit run` uses it). The
 * squared pixel error that moving a triangulated point X by e adds over its inlier views is, to
 * first order, `eᵀ H e` with `H = Σ_v J_vᵀ J_v` (J_v the 2 × 3 pixel Jacobian of camera v at X,
 * distortion included; camera.h). Each point's residual in steps 2 and 3 is then `‖M e‖` with
 * `MᵀM = 0.7 · 3H / tr H + 0.3 · I` (fit.h `metric`): the trace normalisation keeps each point's
 * overall weight (and so the balance with the priors and the loss thresholds), the isotropic share
 * holds the directions few cameras see (without it a warm start left in a wrong basin can stay
 * there).
 *
 * **Reprojection refinement** (optional, with the 2-D detections, mhrfit_detfit_views; `mhrfit
 * run` uses it). The triangulated point is a compromise between its views, a wrong eye or heel
 * detection in one view included, and the body cannot follow that compromise; the objective that
 * matters is the distance to each detection. After a frame's fit, every point with a triangulated
 * target gets a new target and metric from the 2-D objective `Σ_v w_v ‖π_v(X) − u_v‖²` over all
 * views that detected it (not only the triangulation's inliers): from the fitted point p, each
 * view's weight is `w_v = min(c_v, 1) · min(1, δ_v / r_v)` (r_v its pixel distance to p, c_v the
 * detection's confidence; Huber's IRLS weight, δ_v = `reproj_huber` × the camera's noise
 * `noise_px`, the median pixel error of its inlier views in the triangulation, so a noisier camera
 * is not given up sooner than a sharp one), 0 beyond the gate (`gate_px`, the triangulation's
 * inlier gate); the target is `X = argmin Σ_v w_v ‖π_v(X) − u_v‖²` (Gauss–Newton from p) and its
 * metric that of `H = Σ_v w_v J_vᵀ J_v` at X (normalised as above). The frame is fitted again from
 * its result with these (same temporal prior), `reproj_rounds` times; so the fit keeps the views
 * that agree with the body and lets go of the one that does not, as a robust multi-view 2-D loss
 * would. The calibration of step 2 does the same on its frames and takes the markers' offsets from
 * the refined targets. The refits, and the warm fit before them, stop after `reproj_iters`
 * iterations (they start next to their solution). A point seen by fewer than 2 views within the
 * gate keeps its triangulated target.
 *
 * On Pose2Sim's balancing trial (real OpenPose BODY_25B, 4 cameras, 100 frames) the fitted
 * keypoints reproject this much farther from the detections than the triangulated points
 * (per-camera medians over every detection):
 *
 * | | cam_01 | cam_02 | cam_03 | cam_04 | pooled |
 * |---|---|---|---|---|---|
 * | Euclidean distances | 1.31 | 1.17 | 1.30 | 1.14 | 1.19 |
 * | camera metric | 1.30 | 1.15 | 1.28 | 1.10 | 1.17 |
 * | Euclidean, then the reprojection refinement | 1.16 | 1.10 | 1.24 | 1.13 | 1.12 |
 * | camera metric, then the reprojection refinement | 1.18 | 1.11 | 1.22 | 1.14 | 1.12 |
 *
 * cam_01 and cam_03 face each other and alone see along the cam_02–cam_04 axis: a point's
 * triangulation fits such a camera almost exactly in that direction (high leverage), which a body
 * that does not follow the detection noise cannot. The refits alone bring cam_01 to about 1.23;
 * the markers calibrated on the refined targets (the face's, whose triangulated points are not a
 * rigid head, above all) bring it to 1.18. The per-frame fit takes about 1.6 times as long.
 */
#ifndef MHRFIT_DETECTOR_H
#define MHRFIT_DETECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mhrfit/camera.h"
#include "mhrfit/error.h"
#include "mhrfit/fit.h"
#include "mhrfit/fit_io.h"
#include "mhrfit/keypoints.h"
#include "mhrfit/layout.h"
#include "mhrfit/rig.h"
#include "mhrfit/triangulate.h"

#ifdef __cplusplus
extern "C" {
#endif

/** How a detector keypoint is modelled (file doc). */
typedef enum mhrfit_kp_kind {
  MHRFIT_KP_UNUSED = 0, /**< not fitted */
  MHRFIT_KP_JOINT,      /**< exactly a joint (or the MHR70 neck midpoint) */
  MHRFIT_KP_MARKER      /**< a calibrated point attached to a joint */
} mhrfit_kp_kind;

/** The MHR counterpart of one detector keypoint. */
typedef struct mhrfit_kp_rule {
  mhrfit_kp_kind kind;
  int32_t joint;     /**< the joint (JOINT), -2 for the MHR70 neck midpoint; the attachment joint (MARKER) */
  double offset[3];  /**< MARKER: default offset in the joint's frame, cm, before the joint's scale */
  double weight;     /**< loss weight (the semantic weight of fit.h) */
  bool anchor;       /**< used by the similarity */
} mhrfit_kp_rule;

/** A keypoint map of a detector layout; everything owned. */
typedef struct mhrfit_detmap {
  char layout[48];      /**< the layout's name ("custom" for a name list) */
  size_t n;             /**< keypoints */
  char **names;         /**< n names */
  mhrfit_kp_rule *rule; /**< n rules */
  int16_t *mhr70;       /**< n: the MHR70 keypoint each one stands for in the segment lengths, -1 none:
                             a built-in entry's, else for a joint keypoint of a user map the MHR70
                             keypoint of its joint (or the elbow / ankle for `*_lowarm` /
                             `*_talocrural`); a user marker stands for none */
} mhrfit_detmap;

/**
 * The built-in map of `layout` (layout.h names) for `rig` (the 127-joint MHR rig; the default
 * offsets come from its rest pose). Errors: MHRFIT_ERR_NOT_FOUND (unknown layout),
 * MHRFIT_ERR_FORMAT (a joint missing from the rig), MHRFIT_ERR_NOMEM.
 */
mhrfit_detmap *mhrfit_detmap_new(const mhrfit_rig *rig, const char *layout, mhrfit_error *err);

/**
 * A map of `n` named keypoints with no MHR counterpart yet (all unused): the start of a user map
 * for a custom keypoint set. Errors: MHRFIT_ERR_ARGUMENT, MHRFIT_ERR_NOMEM.
 */
mhrfit_detmap *mhrfit_detmap_new_names(const char *const *names, size_t n, mhrfit_error *err);

/**
 * Amends `map` with a user JSON map (file doc) held in `text` (`source` names it in messages).
 * On error `map` is unchanged. Errors: MHRFIT_ERR_FORMAT (syntax, a bad value, an unknown joint),
 * MHRFIT_ERR_NOT_FOUND (a key that is not a keypoint of the map), MHRFIT_ERR_NOMEM.
 */
bool mhrfit_detmap_apply_json(mhrfit_detmap *map, const mhrfit_rig *rig, const char *text, size_t len,
                              const char *source, mhrfit_error *err);

/** mhrfit_detmap_apply_json() on a file (at most 16 MiB); MHRFIT_ERR_IO as well. */
bool mhrfit_detmap_load_json(mhrfit_detmap *map, const mhrfit_rig *rig, const char *path, mhrfit_error *err);

/** Number of keypoints of each kind: `counts[MHRFIT_KP_UNUSED..MHRFIT_KP_MARKER]`. */
void mhrfit_detmap_counts(const mhrfit_detmap *map, size_t counts[3]);

/** True when a used keypoint hangs on a finger joint (the fingers are then fitted). */
bool mhrfit_detmap_has_fingers(const mhrfit_detmap *map, const mhrfit_rig *rig);

/**
 * The keypoint map (keypoints.h) of `map`: joint keypoints as joint terms, markers with the
 * offsets `offsets` (n × 3 cm; NULL: the defaults), unused keypoints undefined.
 * Errors: MHRFIT_ERR_ARGUMENT, MHRFIT_ERR_NOMEM.
 */
mhrfit_kpmap *mhrfit_detmap_kpmap(const mhrfit_detmap *map, const mhrfit_rig *rig, const double *offsets,
                                  mhrfit_error *err);

/** Frees a map. NULL is allowed. */
void mhrfit_detmap_free(mhrfit_detmap *map);

/** Options of the sequence fit; mhrfit_detfit_options_init() sets the defaults given here. */
typedef struct mhrfit_detfit_options {
  mhrfit_fit_options fit;      /**< the per-frame fit (fit.h defaults, with joint_limits and
                                    freeze_flexible_lengths on, with_scale off; optimize_hand_pose is
                                    set from the map by mhrfit_detfit_new()) */
  bool estimate_proportions;   /**< step 1 (true) */
  bool calibrate_markers;      /**< step 2 (true) */
  int calib_frames;            /**< frames of the marker calibration (24) */
  int calib_rounds;            /**< pose / offset alternations (3) */
  double offset_prior;         /**< λ_o, in frames' worth of weight (2) */
  double max_offset_change_cm; /**< cap on |o − o_default| (8 cm) */
  int max_stale_frames;        /**< the previous good frame starts the next within this many frames (40) */
  int reproj_rounds;           /**< with 2-D detections (mhrfit_detfit_views): refits of a frame on its
                                    reweighted detections (2; 0 = none) */
  double reproj_huber;         /**< the per-view Huber width in units of the camera's noise
                                    (mhrfit_detfit_views.noise_px) (1.4) */
  int reproj_iters;            /**< iteration cap of each refit, and of the warm fit they follow (15; 0: the
                                    frame fit's) */
} mhrfit_detfit_options;

/** Fills `o` with the defaults. */
void mhrfit_detfit_options_init(mhrfit_detfit_options *o);

/**
 * The 2-D detections behind the triangulated points (the reprojection refinement of the file doc);
 * every array is the caller's. A block holds the n keypoints of the map × V views of one frame:
 * `uv` n × V × 2 (index (k·V + v)·2) and `conf` n × V (index k·V + v) — the layout of
 * mhrfit_observations for a frame whose keypoints are the map's, in its order. One frame
 * (mhrfit_detfit_frame()) reads block 0; a sequence (mhrfit_detfit_calibrate(),
 * mhrfit_detfit_sequence()) reads block `frames[f]` for its frame f (block f when `frames` is NULL),
 * so that the observations of a run can be used in place.
 */
typedef struct mhrfit_detfit_views {
  size_t n_views;            /**< V, 2..4096 */
  const mhrfit_camera *cams; /**< the V cameras */
  const double *uv;          /**< pixel detections; NaN: none */
  const double *conf;        /**< their confidences (weights, at most 1 counts); ≤ 0 or not finite: none;
                                  NULL: all 1 */
  const size_t *frames;      /**< a sequence's block of each frame, or NULL */
  const double *noise_px;    /**< V: each camera's typical pixel error (mhrfit_detfit_camera_noise()), > 0 */
  double gate_px;            /**< a view farther than this from the fitted point is left out (the
                                  triangulation's inlier gate, `tri->threshold_px`), > 0 */
} mhrfit_detfit_views;

/** What the calibration of a sequence found. */
typedef struct mhrfit_detfit_calibration {
  double scales[68];           /**< model parameters 136..203 of the sequence */
  const double *offsets;       /**< n × 3 marker offsets (cm; the defaults for non-markers) */
  size_t n_segments;           /**< segments whose median length was measured */
  double segment_rms_before_m; /**< RMS of rest-pose minus measured segment lengths, before / after step 1 */
  double segment_rms_after_m;
  int n_calib_frames;          /**< frames used in step 2 */
  double marker_rms_before_m;  /**< RMS residual of the markers over those frames, default / calibrated offsets */
  double marker_rms_after_m;
  double seconds;              /**< time taken */
} mhrfit_detfit_calibration;

typedef struct mhrfit_detfit mhrfit_detfit;

/**
 * A sequence fitter for `rig` and `map` (both borrowed; they must outlive it). `o` NULL means
 * defaults. A map without anchors places the body by all its valid points. Errors:
 * MHRFIT_ERR_ARGUMENT (options; a map with fewer keypoints that have an MHR counterpart than
 * `min_valid_points`), MHRFIT_ERR_FORMAT (rig), MHRFIT_ERR_NOMEM.
 */
mhrfit_detfit *mhrfit_detfit_new(const mhrfit_rig *rig, const mhrfit_detmap *map, const mhrfit_detfit_options *o,
                                 mhrfit_error *err);

/**
 * Steps 1 and 2 on F frames of the map's n keypoints: `points` F × n × 3 (world metres, NaN =
 * missing), `weights` F × n in [0, 1] (the inlier fraction; NULL = 1), `metrics` F × n × 9 (the
 * camera metric of each point, mhrfit_detfit_metrics_from_tri(); NULL = Euclidean distances),
 * `views` the F frames' 2-D detections (NULL: none; with them, the markers are calibrated on the
 * reweighted targets of the reprojection refinement). Frames with fewer than `min_valid_points`
 * finite points are not used. Errors: MHRFIT_ERR_NUMERIC (no frame usable), MHRFIT_ERR_ARGUMENT
 * (bad `views`), MHRFIT_ERR_NOMEM.
 */
bool mhrfit_detfit_calibrate(mhrfit_detfit *d, size_t F, const double *points, const double *weights,
                             const double *metrics, const mhrfit_detfit_views *views, mhrfit_error *err);

/** The calibration in use (defaults before mhrfit_detfit_calibrate()). */
const mhrfit_detfit_calibration *mhrfit_detfit_calibration_get(const mhrfit_detfit *d);

/** Fewest measured segments for the proportions of mhrfit_detfit_calibrate() to be more than MHR's
 *  default body size (mhrfit_detfit_proportions_warning()). */
#define MHRFIT_DETFIT_MIN_SEGMENTS 4

/**
 * After mhrfit_detfit_calibrate() with `estimate_proportions`: true when the proportions rest on
 * fewer than MHRFIT_DETFIT_MIN_SEGMENTS measured segments (then the 10 scale parameters of step 1
 * stay close to MHR's default body), with the warning in `msg` (`size` bytes, may be 0): how many
 * segments, and that the map should put shoulders, elbows, wrists, hips, knees or ankles on their
 * MHR joints. False otherwise (msg untouched).
 */
bool mhrfit_detfit_proportions_warning(const mhrfit_detfit *d, char *msg, size_t size);

/**
 * Fits one frame (step 3): `points` n × 3, `weights` n (NULL = 1), `metrics` n × 9 (the camera
 * metric, fit.h `metric`; NULL = Euclidean; a point with a non-finite entry is not valid), `views`
 * the frame's 2-D detections (NULL: none, no reprojection refinement), `prev` the previous good
 * frame's 204 parameters or NULL (then the limb-by-limb start). A warm start can stay in a wrong
 * basin after a fast movement (a limb turned about its bone): when a fitted limb bone (upper arm,
 * forearm, thigh, shank) is more than 35° off the triangulated one, the frame is fitted again from
 * the limb-by-limb start and the lower final loss wins (mhrfit_detfit_restarts() counts these).
 * With `views`, `reproj_rounds` refits follow (file doc). `res` as mhrfit_fitter_process()
 * (keypoints: the map's n; its residuals are the distances to `points` after refits too; its
 * arrays are valid until the next call). Errors as mhrfit_fitter_process(); MHRFIT_ERR_ARGUMENT
 * (bad `views`).
 */
bool mhrfit_detfit_frame(mhrfit_detfit *d, const double *points, const double *weights, const double *metrics,
                         const mhrfit_detfit_views *views, const double *prev, mhrfit_fit_result *res,
                         mhrfit_error *err);

/**
 * Called by mhrfit_detfit_sequence() after each frame: `res` is the fitted frame (valid until
 * the next frame), or NULL when the frame failed, with `frame_err` saying why. Return false to
 * stop (the sequence then fails with MHRFIT_ERR_ARGUMENT "stopped").
 */
typedef bool (*mhrfit_detfit_frame_cb)(void *user, size_t f, const mhrfit_fit_result *res,
                                       const mhrfit_error *frame_err);

/**
 * The whole sequence (`metrics` F × n × 9 or NULL, `views` the F frames' detections or NULL, as
 * mhrfit_detfit_calibrate()): mhrfit_detfit_calibrate() on all frames (the steps enabled in the
 * options), then every frame in order with the previous good frame (status ok, within
 * `max_stale_frames`) as its start and temporal prior. A frame that cannot be fitted is reported
 * to `cb` and the sequence goes on; only allocation failures, bad `views`, a failed calibration or
 * `cb` returning false stop it.
 */
bool mhrfit_detfit_sequence(mhrfit_detfit *d, size_t F, const double *points, const double *weights,
                            const double *metrics, const mhrfit_detfit_views *views, mhrfit_detfit_frame_cb cb,
                            void *user, mhrfit_error *err);

/**
 * The targets of `map` from a triangulation archive, matched by name (the archive's
 * `subset_names`; the archive may hold a subset of the map's keypoints, in any order): `points`
 * F × n × 3 (NaN where the archive has no point) and `weights` F × n (the fraction of the
 * archive's cameras that are inliers). Errors: MHRFIT_ERR_FORMAT naming a triangulated point that
 * is not a keypoint of the map (another layout).
 */
bool mhrfit_detfit_points_from_tri(const mhrfit_detmap *map, const mhrfit_tri_archive *tri, double *points,
                                   double *weights, mhrfit_error *err);

/**
 * The camera metric (file doc) of every point of `tri` for `map` (matched by name as
 * mhrfit_detfit_points_from_tri()): `metrics` F × n × 9, each a row-major 3 × 3 M with
 * `MᵀM = 0.7 · 3H / tr H + 0.3 · I`, H summed over the point's inlier views (`tri->inliers`) at
 * its triangulated position; `cams` the archive's `n_views` cameras in its order (`tri->cams`).
 * The identity where the archive has no point or fewer than 2 inlier views project. Errors:
 * MHRFIT_ERR_FORMAT as mhrfit_detfit_points_from_tri(), MHRFIT_ERR_NOMEM.
 */
bool mhrfit_detfit_metrics_from_tri(const mhrfit_detmap *map, const mhrfit_tri_archive *tri, const mhrfit_camera *cams,
                                    double *metrics, mhrfit_error *err);

/**
 * The typical pixel error of each of the V cameras of `tri` (`noise_px`, V entries): the median
 * of `tri->reproj_err` over that camera's inlier views, frames and points (a camera without one:
 * the median over all cameras; none at all: 1 px). The scale of the reprojection refinement's
 * per-view Huber width (file doc). Errors: MHRFIT_ERR_NOMEM.
 */
bool mhrfit_detfit_camera_noise(const mhrfit_tri_archive *tri, double *noise_px, mhrfit_error *err);

/**
 * The library entry point of `mhrfit fit --layout` (and of a pipeline): the points of `tri`
 * (mhrfit_detfit_points_from_tri()) fitted as a sequence (mhrfit_detfit_sequence()) into a new fit
 * archive (fit_io.h) of F frames, n targets in the map's order, predicted keypoints the map's n
 * (`pred_keypoints_3d` (F, n, 3)), one view column named "none", the mesh when `mesh`; with
 * `cams` (the archive's cameras in its order, or NULL) the points are measured in their camera
 * metric (mhrfit_detfit_metrics_from_tri()), and, when the archive holds its detections
 * (`det_uv`, as `mhrfit triangulate` writes them), every frame gets the reprojection refinement
 * (mhrfit_detfit_views in the map's order, mhrfit_detfit_camera_noise(), the gate
 * `tri->threshold_px`), as `mhrfit run` does; without `cams`, Euclidean distances and no
 * refinement (`mhrfit fit --layout` without `--calib`). Frames that cannot be fitted have status `optimization_failed` and their
 * message. `map` must be the map `d` was created with. `progress` (may be NULL) is called after
 * each frame as `cb` of mhrfit_detfit_sequence(). The caller owns the result. Errors as mhrfit_detfit_sequence() and
 * mhrfit_detfit_metrics_from_tri().
 */
mhrfit_fit_archive *mhrfit_detfit_run(mhrfit_detfit *d, const mhrfit_detmap *map, const mhrfit_tri_archive *tri,
                                      const mhrfit_camera *cams, bool mesh, mhrfit_detfit_frame_cb progress, void *user,
                                      mhrfit_error *err);

/** The frame fitter in use (for mhrfit_fitter_geometry() of recovered or smoothed frames). */
mhrfit_fitter *mhrfit_detfit_fitter(mhrfit_detfit *d);

/** Frames fitted again from the limb-by-limb start since the fitter was made (mhrfit_detfit_frame()). */
size_t mhrfit_detfit_restarts(const mhrfit_detfit *d);

/** The rig of the fitter. */
const mhrfit_rig *mhrfit_detfit_rig(const mhrfit_detfit *d);

/** The per-frame fit options in use (optimize_hand_pose set from the map). */
const mhrfit_fit_options *mhrfit_detfit_fit_options(const mhrfit_detfit *d);

/** Frees a sequence fitter. NULL is allowed. */
void mhrfit_detfit_free(mhrfit_detfit *d);

#ifdef __cplusplus
}
#endif
#endif
