/**
 * @file fit.h
 * @brief Stage 3: fit MHR's pose to triangulated keypoints (one frame).
 *
 * Lifecycle: mhrfit_fitter_new() → mhrfit_fitter_process() per frame →
 * mhrfit_fitter_free(). The fitter owns every array a result points to; they
 * stay valid until the next process call or the free.
 *
 * **Variables.** The fit works on the 204 MHR model parameters `m` with the
 * root (0..5) at zero — the similarity places the body in the world — and the
 * scales (136..203) taken from the initial view (or fixed by the caller).
 * Free are the body-pose dimensions 6..135 (`body_pose_params` 0..129) except
 * the finger block 68..121 (`body_pose` 62..115), which is free only with
 * `optimize_hand_pose`, and except the lower-body table of param_sets.h with
 * `freeze_lower_body`. SAM 3D Body encodes hands as 108 PCA coefficients that
 * need checkpoint buffers; mhrfit optimises and regularises the 54 decoded
 * finger angles instead (MHR.md §8.3).
 *
 * **Objective** (ORIGINAL.md §5.6, with the seed's fixes). Predicted
 * keypoints `p_j` (SAM 3D Body axes, metres) come from the rig and a keypoint
 * map (markers calibrated from the initial view); targets `g_j`; valid points
 * have finite `g_j`, `p_j` and weight `w_j = inlier_j · semantic_j > 1e-8`
 * (fallback: uniform weights on finite points when fewer than
 * `min_valid_points` remain, or failure). The similarity `(s, R, t)` is the
 * weighted Umeyama fit on the anchors (hips, neck, acromions; all valid
 * alignment points when fewer than 3 anchors are valid), re-estimated at
 * every evaluation. With `r_j = ‖M_j (s R p_j + t − g_j)‖` (M_j the frame's
 * `metric` of the point, the identity without one) and Huber
 * `h(r) = ½r²` (r ≤ δ), `δ(r − ½δ)` otherwise:
 *
 *   L = Σ w_j h(r_j) / Σ w_j
 *     + w_pose_reg · Σ_body (m_i − ref_i)² / 133
 *     + w_temporal · Σ_body (m_i − prev_i)² / 133      (with a previous pose)
 *     + w_hand_reg · Σ_hand (m_i − ref_i)² / 54         (with optimize_hand_pose)
 *
 * (the /133 keeps the original's mean over `body_pose_params`).
 *
 * **Solver.** Levenberg–Marquardt on the free dimensions with the sparse
 * analytic keypoint Jacobian of keypoints.h; Huber by iteratively reweighted
 * least squares (point factor 1 inside δ, δ/r outside, which makes the
 * gradient exact); a step is accepted only when the full objective (with the
 * re-fitted similarity) decreases, so the current iterate is always the best
 * one measured. The damped normal equations `(H + μ (diag H + 1e-9)) δ = −g`
 * (H: Gauss–Newton Hessian JᵀCJ plus the regularisers') over the free
 * dimensions and the similarity increments are solved by a supernodal sparse
 * Cholesky factorisation: parameters couple only along the kinematic chains
 * of the keypoints, so with a minimum-degree ordering (analysed once while the
 * frame structure stays the same) a factorisation costs a fraction of the
 * dense one. μ starts at 1e-5 when every free dimension has a quadratic prior
 * (the defaults), at 1e-3 otherwise, and is divided by 3 after an accepted
 * step, multiplied by 4 after a rejected one. Stops on relative decrease <
 * `rel_tol`, gradient ∞-norm < `grad_tol`, or `iters` iterations.
 * `MHRFIT_SOLVER_ADAM` reproduces the original's optimiser (Adam, lr 0.05, gradient norm clipped to 1, early
 * stop after `min_iters` on patience or divergence) for comparison, with the
 * best-pose bookkeeping fixed (ORIGINAL.md §9.1 defect 1).
 *
 * **Frozen dimensions** are never written: they keep their initial value bit
 * for bit (with a previous pose, the frozen lower body takes the previous
 * frame's values, so that it stays locked through a sequence).
 */
#ifndef MHRFIT_FIT_H
#define MHRFIT_FIT_H

#include <stdbool.h>
#include <stddef.h>

#include "mhrfit/error.h"
#include "mhrfit/keypoints.h"
#include "mhrfit/rig.h"
#include "mhrfit/similarity.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Solver choice. */
typedef enum mhrfit_fit_solver {
  MHRFIT_SOLVER_LM = 0, /**< Levenberg–Marquardt with analytic Jacobians (default) */
  MHRFIT_SOLVER_ADAM    /**< the original's Adam loop, for comparison */
} mhrfit_fit_solver;

/** What to do when fewer than min_valid_points weighted points remain. */
typedef enum mhrfit_zero_weight_strategy {
  MHRFIT_ZW_UNIFORM_FINITE = 0, /**< uniform weights on the finite points (default) */
  MHRFIT_ZW_FAIL                /**< fail the frame with a clear message */
} mhrfit_zero_weight_strategy;

/** Fit options; mhrfit_fit_options_init() sets the defaults given here. */
typedef struct mhrfit_fit_options {
  mhrfit_fit_solver solver;         /**< MHRFIT_SOLVER_LM */
  int iters;                        /**< iteration cap: 0 = solver default (LM 50, Adam 200) */
  bool with_scale;                  /**< fit the similarity's scale (true) */
  bool anchor_similarity;           /**< similarity from the anchors when ≥ 3 are valid (true) */
  bool optimize_hand_pose;          /**< free finger angles (true) */
  bool freeze_lower_body;           /**< lock the lower-body table (false) */
  bool joint_limits;                /**< clamp free parameters to the `.model` limits (false) */
  bool freeze_flexible_lengths;     /**< keep the flexible lengths 130..135 (spine, neck, shoulder width, arm, hip
                                         width, leg length) at their initial values, so that body proportions stay
                                         those of the scales (false) */
  double huber_m;                   /**< Huber δ in metres (0.03) */
  double w_pose_reg;                /**< pose-to-initialisation weight (1e-3) */
  double w_temporal;                /**< pose-to-previous-frame weight (3e-3) */
  double w_hand_reg;                /**< finger-angle regulariser (1e-3) */
  double temporal_init_blend;       /**< start = raw·(1−b) + prev·b on free body dims (0.7) */
  int min_valid_points;             /**< minimum weighted points, never below 3 (6) */
  mhrfit_zero_weight_strategy zero_weight_strategy; /**< MHRFIT_ZW_UNIFORM_FINITE */
  double rel_tol;                   /**< LM: stop when an accepted step lowers L by less than rel_tol·L (1e-5) */
  double grad_tol;                  /**< LM: stop when max |gradient| < grad_tol (1e-10) */
  double lr;                        /**< Adam learning rate (0.05) */
  int min_iters;                    /**< Adam: no early stop before (50) */
  int early_stop_patience;          /**< Adam: iterations without improvement (60) */
  double early_stop_tol;            /**< Adam: improvement threshold (1e-6) */
  double loss_divergence_ratio;     /**< Adam: stop when L > ratio · best (3) */
  double bad_loss_threshold;        /**< bad frame when best loss above (3e-3) */
  double bad_data_loss_threshold;   /**< bad frame when best data loss above (2.5e-3) */
  double bad_loss_growth_ratio;     /**< bad frame when final/best above (1.5) */
  bool calibrate_markers_once;      /**< calibrate the surface markers from the first fitted frame's initial view
                                         and keep them for every later frame, so a sequence has one marker set
                                         (false: per frame, from that frame's initial view) */
  double sim_reuse_tol_m;           /**< frozen lower body: reuse the previous similarity while it moves the
                                         valid keypoints by at most this RMS distance from the fitted one (0.01 m);
                                         ≤ 0 disables reuse */
  bool skip_mesh;                   /**< leave the mesh out of the results (`vertices` NULL), for callers that
                                         write none: skinning the LOD 1 mesh costs more than the fit (false) */
  /** Called after every iteration with the current model parameters and loss (may be NULL). */
  void (*on_iteration)(void *user, int iter, const double *model_params, double loss, double data_loss);
  void *user; /**< passed to on_iteration */
} mhrfit_fit_options;

/** Fills `o` with the defaults. */
void mhrfit_fit_options_init(mhrfit_fit_options *o);

/**
 * The iteration cap of a fit with options `o`: `o->iters`, or the solver's
 * default when it is 0 (LM 50, Adam 200). A result's loss histories hold at
 * most this many entries.
 */
int mhrfit_fit_options_iter_cap(const mhrfit_fit_options *o);

/**
 * Checks option values (what mhrfit_fitter_new() checks, so that a caller
 * can refuse them before any work): finite non-negative weights, tolerances
 * and thresholds, positive `huber_m` and `lr`, `temporal_init_blend` in
 * [0, 1], `loss_divergence_ratio` and `bad_loss_growth_ratio` ≥ 1, finite
 * `sim_reuse_tol_m`, `iters` in 0..100000, non-negative `min_iters` and
 * `early_stop_patience`, known solver and zero-weight strategy. Fails with
 * MHRFIT_ERR_ARGUMENT naming the first bad field and its value.
 */
bool mhrfit_fit_options_check(const mhrfit_fit_options *o, mhrfit_error *err);

/** One camera's monocular estimate of the frame. */
typedef struct mhrfit_fit_view {
  const char *name;             /**< camera name (for messages) */
  double model_params[204];     /**< SAM 3D Body `mhr_model_params` (or assembled, sam3d.h) */
  const double *keypoints_3d;   /**< its `pred_keypoints_3d` (70 × 3, SAM axes, m) for the markers, or NULL */
  const double *shape;          /**< identity coefficients (`shape_params`), or NULL */
  size_t n_shape;               /**< number of `shape` values (45) */
  double mean_px;               /**< triangulation's mean reprojection error of this camera (tie-break; INFINITY if unknown) */
} mhrfit_fit_view;

/** One frame to fit. */
typedef struct mhrfit_fit_frame {
  size_t n_points;                        /**< number of target points */
  const int *kp_index;                    /**< MHR70 index of each target */
  const double *targets;                  /**< n_points × 3, world metres; NaN = missing */
  const double *inlier_weight;            /**< n_points mean inlier mask in [0,1], or NULL (all 1) */
  size_t n_views;                         /**< number of views */
  const mhrfit_fit_view *views;           /**< the views; a view with non-finite parameters is skipped */
  const double *prev_model_params;        /**< previous frame's fitted 204 parameters (temporal prior), or NULL */
  const mhrfit_similarity *prev_similarity; /**< previous frame's output similarity, or NULL */
  const double *fixed_scales;             /**< 68 scales replacing the view's (136..203), or NULL */
  const double *point_weight;             /**< n_points semantic weights replacing the MHR70 table
                                               (mhrfit_fit_semantic_weight() of kp_index), or NULL */
  const unsigned char *anchor;            /**< n_points flags: the similarity's anchors, replacing the MHR70
                                               anchors (hips, neck, acromions), or NULL */
  const double *metric;                   /**< n_points × 9: a 3 × 3 row-major matrix M_i per target (world axes)
                                               that measures its residual, r_i = ‖M_i (s R p_i + t − g_i)‖ in
                                               the data term; a target with a non-finite entry is not valid;
                                               NULL: the identity (Euclidean distances) */
} mhrfit_fit_frame;

/** Outcome of a fitted frame. */
typedef enum mhrfit_fit_status {
  MHRFIT_FIT_OK = 0,  /**< good fit */
  MHRFIT_FIT_BAD_LOSS /**< fitted, but classified bad by the thresholds */
} mhrfit_fit_status;

/** Result of mhrfit_fitter_process(); arrays are owned by the fitter. */
typedef struct mhrfit_fit_result {
  mhrfit_fit_status status;      /**< ok or bad_loss */
  int init_view;                 /**< index of the initial (best) view */
  const double *view_scores;     /**< n_views weighted mean distances (m); INFINITY for skipped views */
  const unsigned char *view_skipped; /**< n_views flags: 1 = view not usable (non-finite parameters) */
  double model_params[204];      /**< fitted canonical parameters (root zero) */
  double body_pose[133];         /**< body_pose_params view of them (jaw zero) */
  mhrfit_similarity sim_fit;     /**< similarity fitted at the final pose */
  mhrfit_similarity sim_out;     /**< similarity used for the output geometry */
  bool sim_reused_prev;          /**< sim_out is the previous frame's */
  const double *keypoints;       /**< n × 3 world keypoints of the map (n = 70 for MHR70, else the user map's
                                      count; NaN where undefined) */
  const double *joints;          /**< n_joints × 3 world joint positions (m) */
  const double *global_rots;     /**< n_joints × 9: world rotation of each joint's native frame, R_out·diag(1,−1,−1)·R_joint */
  const double *vertices;        /**< n_vertices × 3 world vertices (m), identity shape applied */
  const double *residuals;       /**< n_points distances ‖s R p + t − g‖ at the final pose (m); NaN if not valid */
  const double *loss_history;    /**< n_iters total losses (the loss at the start of each iteration) */
  const double *data_loss_history; /**< n_iters data losses */
  int n_iters;                   /**< iterations run */
  int best_iter;                 /**< iteration whose pose was kept (-1: the initial pose) */
  double init_loss, init_data_loss;   /**< at the starting pose */
  double best_loss, best_data_loss;   /**< best measured values */
  double final_loss, final_data_loss; /**< recomputed at the restored pose */
  int n_valid_points;            /**< valid weighted points at the final pose */
  bool used_temporal_init;       /**< a previous pose was blended into the start */
  bool uniform_fallback;         /**< the zero-weight fallback was used */
  bool is_bad;                   /**< classification (status == MHRFIT_FIT_BAD_LOSS) */
} mhrfit_fit_result;

typedef struct mhrfit_fitter mhrfit_fitter;

/**
 * A fitter for `rig` (borrowed: must outlive the fitter). `map` (borrowed,
 * may be NULL) replaces the MHR70 keypoint map with calibrated markers by a
 * user mapping; `o` NULL means defaults. Errors: MHRFIT_ERR_ARGUMENT (bad
 * option values, named), MHRFIT_ERR_NOMEM, MHRFIT_ERR_FORMAT (rig).
 */
mhrfit_fitter *mhrfit_fitter_new(const mhrfit_rig *rig, const mhrfit_kpmap *map, const mhrfit_fit_options *o,
                                 mhrfit_error *err);

/**
 * Fits one frame. Returns false when the frame cannot be fitted, with
 * MHRFIT_ERR_NUMERIC and a message naming the cause: no usable view (each
 * skipped view named), fewer valid points than the minimum (counts given,
 * also with the `fail` strategy when weights vanish); MHRFIT_ERR_ARGUMENT for
 * malformed input (keypoint index out of range). A fitted frame returns true
 * with `res->status` ok or bad_loss.
 */
bool mhrfit_fitter_process(mhrfit_fitter *f, const mhrfit_fit_frame *frame, mhrfit_fit_result *res,
                           mhrfit_error *err);

/**
 * Recomputes the world-frame geometry of parameters `model_params` (204)
 * placed by `sim`, with identity coefficients `shape` (`n_shape`, may be
 * NULL): fills `res->keypoints` (with the fitter's current keypoint map:
 * the markers of the last calibration, NaN surface keypoints before any),
 * `joints`, `global_rots` and `vertices` (NULL with `skip_mesh`) exactly as
 * mhrfit_fitter_process() does; other fields of `res` are left alone. The arrays are the fitter's
 * (valid until the next call). Used for recovered and smoothed frames, whose
 * geometry must follow their parameters. Errors: MHRFIT_ERR_NUMERIC
 * (non-finite parameters or similarity).
 */
bool mhrfit_fitter_geometry(mhrfit_fitter *f, const double *model_params, const mhrfit_similarity *sim,
                            const double *shape, size_t n_shape, mhrfit_fit_result *res, mhrfit_error *err);

/**
 * Calibrates the surface markers from `view` (its parameters and
 * `keypoints_3d`) and keeps them for every later frame and geometry call,
 * whatever the options say: a sequence then has one deterministic marker
 * set (independent of which frames were fitted in this process). No-op with
 * a user keypoint map. Errors: MHRFIT_ERR_ARGUMENT (no keypoints),
 * MHRFIT_ERR_NUMERIC (non-finite parameters).
 */
bool mhrfit_fitter_lock_markers(mhrfit_fitter *f, const mhrfit_fit_view *view, mhrfit_error *err);

/** Frees a fitter (and every result array). NULL is allowed. */
void mhrfit_fitter_free(mhrfit_fitter *f);

/**
 * @name Temporal prior of a sequence
 *
 * A sequence is fitted in order, frame n (0, 1, … in the order of fitting)
 * taking the temporal prior of the last frame p < n whose status was ok —
 * its fitted parameters as `prev_model_params` and its output similarity as
 * `prev_similarity` — while it is fresh:
 *
 *   used(n) ⇔ a prior exists and (p = −1 or n − p ≤ max_stale_frames)
 *
 * p = −1 stands for an initial pose given by the caller (parameters, no
 * similarity), which never goes stale and is replaced by the first ok frame.
 * A bad_loss or failed frame leaves the prior as it was; a prior older than
 * `max_stale_frames` frames stays stored (a later ok frame replaces it) but
 * is not used.
 * @{
 */

/** The prior's state: plain values, copied freely. */
typedef struct mhrfit_fit_prior {
  double model_params[204];   /**< the prior's 204 parameters (when `have_params`) */
  mhrfit_similarity sim;      /**< its output similarity (when `have_sim`) */
  bool have_params;           /**< a prior exists */
  bool have_sim;              /**< it has a similarity (not an initial pose) */
  long frame;                 /**< p: the frame it comes from; −1 for an initial pose */
  long max_stale_frames;      /**< how many frames later it is still used */
} mhrfit_fit_prior;

/**
 * Starts a sequence: no prior, or `init_pose` (204 parameters, copied; may
 * be NULL) as an initial pose that never goes stale.
 */
void mhrfit_fit_prior_init(mhrfit_fit_prior *p, long max_stale_frames, const double *init_pose);

/** Whether frame `frame` of the sequence uses the prior (the rule above). */
bool mhrfit_fit_prior_used(const mhrfit_fit_prior *p, long frame);

/**
 * Sets `fr->prev_model_params` and `fr->prev_similarity` for frame `frame`:
 * pointers into `p` when the prior is used (the similarity only when it has
 * one), NULL otherwise. `p` must not change while `fr` is fitted.
 */
void mhrfit_fit_prior_apply(const mhrfit_fit_prior *p, long frame, mhrfit_fit_frame *fr);

/**
 * Takes frame `frame`'s result as the prior when its status is ok (its
 * parameters and output similarity); otherwise leaves the prior unchanged.
 */
void mhrfit_fit_prior_update(mhrfit_fit_prior *p, long frame, const mhrfit_fit_result *res);
/** @} */

/**
 * The original's per-keypoint semantic loss weight of MHR70 keypoint `k`
 * (ORIGINAL.md §5.2: face 0.05, torso 0.15, lower body 0.10, arm anchors
 * 0.25, elbows and wrists 0.6, fingers 1.0); 1.0 outside 0..69.
 */
double mhrfit_fit_semantic_weight(int k);

#ifdef __cplusplus
}
#endif
#endif
