/**
 * @file keypoints.h
 * @brief MHR70 keypoints from the MHR skeleton: joint keypoints, calibrated
 *        surface markers, user mappings, and their sparse Jacobian.
 *
 * 49 of the 70 keypoints are exactly joints (MHR.md §9.2): shoulders, hips,
 * knees, wrists, all 40 finger points, and the neck (midpoint of `c_neck` and
 * `c_neck_twist1_proc`). The 21 surface keypoints are mesh-vertex combinations
 * in SAM 3D Body (its `keypoint_mapping`, which mhrfit does not have). mhrfit
 * models each of them as a **marker**: a point rigidly attached to one joint,
 * `p = t_j + s_j R_j o` with a local offset `o` calibrated from one SAM 3D
 * Body prediction (its `pred_keypoints_3d` expressed in the joint frames of
 * our FK of its `mhr_model_params`): `o = R_jᵀ (p − t_j) / s_j`.
 *
 * Attachment joints (mhrfit_mhr70_marker_joint()), chosen anatomically and
 * checked on the three real SAM 3D Body outputs of the test data, where the
 * offset calibrated on one subject reproduces the others to the given spread
 * (different people, poses and body shapes; within one person only
 * pose-dependent skin sliding remains):
 *
 * | keypoints | joint | why | spread |
 * |---|---|---|---|
 * | nose, eyes, ears (0–4) | `c_head` | rigid with the skull | ≤ 0.5 cm |
 * | elbows (7, 8) | `l/r_lowarm` | the elbow keypoint sits 1.4–1.7 cm from it (MHR.md §9.3) | ≤ 0.9 cm |
 * | ankles (13, 14) | `l/r_talocrural` | the ankle joint, 0.5–1.0 cm away | ≤ 0.8 cm |
 * | big and small toes (15, 16, 18, 19) | `l/r_ball` | the toes bend at the ball joint | ≤ 0.9 cm |
 * | heels (17, 20) | `l/r_subtalar` | the calcaneus lies under the subtalar joint | ≤ 0.7 cm |
 * | olecranon, cubital fossa (63–66) | `l/r_lowarm` | bony landmarks of the forearm at the elbow | ≤ 1.9 cm |
 * | acromion (67, 68) | `l/r_clavicle` | the scapula moves with the clavicle | ≤ 1.8 cm |
 *
 * More generally a keypoint is a weighted sum of joint-attached points,
 * `p_k = Σ_i w_i (t_{j_i} + s_{j_i} R_{j_i} o_i)`: a joint keypoint has one
 * term with `o = 0`, the neck two terms of weight ½, a marker one term, and a
 * mesh vertex its linear-blend-skinning terms (joint k, skin weight,
 * `o = R0_kᵀ (v_rest − t0_k)`), so a user's sparse mapping over vertices and
 * joints compiles to the same form (mhrfit_kpmap_load()).
 *
 * Units and axes are those of the FK pose (MHR native: cm, Y up).
 */
#ifndef MHRFIT_KEYPOINTS_H
#define MHRFIT_KEYPOINTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mhrfit/error.h"
#include "mhrfit/rig.h"
#include "mhrfit/value.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MHRFIT_N_MHR70 70

/**
 * The joint of each MHR70 keypoint that is exactly a joint (`joint[k]` ≥ 0),
 * -1 for surface keypoints, -2 for the neck (a joint midpoint). Static table.
 */
const int *mhrfit_mhr70_joint_table(void);

/**
 * Name of the joint a surface keypoint's marker is attached to (table
 * above), or NULL when keypoint `k` is not a surface keypoint.
 */
const char *mhrfit_mhr70_marker_joint(int k);

/**
 * Keypoint positions (70 × 3, the units and axes of `pose`) from a posed
 * skeleton: joint keypoints exactly, the neck as the midpoint of joints 110
 * and 111, surface keypoints NaN. Returns the number of keypoints set (49).
 */
int mhrfit_mhr70_from_joints(const mhrfit_fk_pose *pose, double kp[MHRFIT_N_MHR70 * 3]);

/** One term of a keypoint: `weight · (t_joint + s_joint R_joint offset)`. */
typedef struct mhrfit_kp_term {
  int32_t joint;    /**< joint index */
  double weight;    /**< term weight */
  double offset[3]; /**< offset in the joint's local frame, before the joint's scale (cm) */
} mhrfit_kp_term;

/**
 * A keypoint map: how each keypoint is computed from the posed skeleton, and
 * the sparsity of its Jacobian. Owned by the caller of a constructor; free
 * with mhrfit_kpmap_free().
 */
typedef struct mhrfit_kpmap {
  size_t n_keypoints;     /**< number of keypoints (70 for MHR70) */
  size_t *term_start;     /**< n_keypoints + 1 offsets into `terms` */
  mhrfit_kp_term *terms;  /**< the terms of every keypoint; a keypoint without terms is undefined (NaN) */
  size_t *col_start;      /**< n_keypoints + 1 offsets into `cols`: the model parameters each keypoint depends on */
  int32_t *cols;          /**< ascending parameter indices per keypoint */
  /* evaluation plan of the Jacobian (internal) */
  size_t n_steps;         /**< (keypoint, term, ancestor joint, channel) steps */
  struct mhrfit_kpmap_step *steps;
  size_t n_step_cols;     /**< length of step_cols */
  int32_t *step_cols;     /**< per parameter-transform entry of a step, its local column */
  double *axes;           /**< scratch: n_joints × 9 world rotation axes */
  size_t n_joints, n_params;
} mhrfit_kpmap;

/**
 * The MHR70 map with the 49 joint keypoints defined and the 21 surface
 * keypoints undefined until mhrfit_kpmap_calibrate_markers(). Errors:
 * MHRFIT_ERR_FORMAT when the rig lacks a joint of the table, MHRFIT_ERR_NOMEM.
 */
mhrfit_kpmap *mhrfit_kpmap_new_mhr70(const mhrfit_rig *rig, mhrfit_error *err);

/**
 * Calibrates the surface markers of an MHR70 map from one prediction:
 * `pose` is the FK of the prediction's model parameters, `kp` its 70
 * keypoints in the same units and axes (for SAM 3D Body: `pred_keypoints_3d`
 * converted back to native cm with mhrfit_sam3d_to_mhr()). A surface keypoint
 * whose `kp` is not finite stays undefined; joint keypoints are not touched.
 * Returns the number of markers set, or -1 with MHRFIT_ERR_NOMEM.
 */
int mhrfit_kpmap_calibrate_markers(mhrfit_kpmap *map, const mhrfit_rig *rig, const mhrfit_fk_pose *pose,
                                   const double kp[MHRFIT_N_MHR70 * 3], mhrfit_error *err);

/**
 * Calibrates the surface markers of an MHR70 map (of `rig`, the 204-parameter MHR rig) from a
 * SAM 3D Body output already loaded (`output`: a dict, or a list of per-person dicts of which the
 * first is used): its `pred_keypoints_3d` expressed in the joint frames of the forward kinematics
 * of its model parameters (mhrfit_sam3d_model_params()). Keypoints that are not finite leave
 * their marker undefined. Returns the number of markers set (21 for a complete output), or -1
 * with MHRFIT_ERR_FORMAT (no 70 × 3 `pred_keypoints_3d`, unusable parameters),
 * MHRFIT_ERR_ARGUMENT (not an MHR70 map, not the 204-parameter rig), MHRFIT_ERR_NUMERIC (non-finite
 * parameters) or MHRFIT_ERR_NOMEM. Nothing is kept from `output`.
 */
int mhrfit_kpmap_calibrate_from_sam3d(mhrfit_kpmap *map, const mhrfit_rig *rig, const mhrfit_value *output,
                                      mhrfit_error *err);

/**
 * Calibrates the 21 surface markers of an MHR70 map from built-in anatomical offsets: for each
 * surface keypoint, a displacement in cm from its attachment joint (mhrfit_mhr70_marker_joint())
 * in the rest pose (all parameters 0; native axes, +x the subject's left, +y up, +z forward),
 * e.g. the nose 5 cm above and 12 cm in front of `c_head`, the heels 3.4 cm behind and 1.4 cm
 * below the subtalar joints. They are approximate (a generic adult); calibrating from a SAM 3D
 * Body output with mhrfit_kpmap_calibrate_markers() is more faithful to a given estimator, and
 * this is the fallback when no such output is at hand (`mhrfit demo`, `mhrfit rig fk`). `map`
 * must be an MHR70 map of `rig` (mhrfit_kpmap_new_mhr70()). Returns the number of markers set
 * (21), or -1 with MHRFIT_ERR_FORMAT (a joint missing from the rig), MHRFIT_ERR_ARGUMENT (not an
 * MHR70 map), MHRFIT_ERR_NUMERIC or MHRFIT_ERR_NOMEM.
 */
int mhrfit_kpmap_calibrate_default(mhrfit_kpmap *map, const mhrfit_rig *rig, mhrfit_error *err);

/**
 * Loads a user keypoint mapping from an `.npz` with 1-D arrays `rows`
 * (keypoint index), `cols` (column of the concatenation [vertices; joints],
 * as SAM 3D Body's `keypoint_mapping`) and `weights`, and a scalar
 * `n_vertices` that must equal the rig's vertex count (the mapping belongs to
 * one LOD). Vertices compile into their skinning terms on the rest mesh with
 * the identity blend-shape coefficients `identity` (`n_identity` values, may
 * be 0) applied. `n_keypoints` is 1 + the largest row. Errors name the file
 * and field: MHRFIT_ERR_IO, MHRFIT_ERR_FORMAT, MHRFIT_ERR_NOT_FOUND.
 */
mhrfit_kpmap *mhrfit_kpmap_load(const char *path, const mhrfit_rig *rig, const double *identity, size_t n_identity,
                                mhrfit_error *err);

/**
 * A map of `n_keypoints` keypoints from explicit terms: keypoint k has the
 * terms `terms[term_start[k] .. term_start[k+1])` (`term_start` has
 * n_keypoints + 1 entries, starting at 0; a keypoint without terms is
 * undefined). Copies everything. Errors: MHRFIT_ERR_ARGUMENT (a joint outside
 * the rig, a non-finite weight or offset, bad term_start), MHRFIT_ERR_NOMEM.
 */
mhrfit_kpmap *mhrfit_kpmap_new_terms(const mhrfit_rig *rig, size_t n_keypoints, const size_t *term_start,
                                    const mhrfit_kp_term *terms, mhrfit_error *err);

/** A copy of `map` (calibrated markers included), or NULL with MHRFIT_ERR_NOMEM. */
mhrfit_kpmap *mhrfit_kpmap_clone(const mhrfit_kpmap *map, mhrfit_error *err);

/** Frees a map. NULL is allowed. */
void mhrfit_kpmap_free(mhrfit_kpmap *map);

/** True when keypoint `k` has at least one term. */
bool mhrfit_kpmap_defined(const mhrfit_kpmap *map, size_t k);

/**
 * Keypoints (n_keypoints × 3, units and axes of `pose`); undefined ones NaN.
 * Never allocates.
 */
void mhrfit_kpmap_eval(const mhrfit_kpmap *map, const mhrfit_fk_pose *pose, double *kp);

/**
 * Sparse analytic Jacobian of the keypoints with respect to the model
 * parameters at `pose` (from mhrfit_rig_fk() with joint parameters `jp`).
 * Block k (keypoint k) is 3 × nc_k with nc_k = col_start[k+1] − col_start[k],
 * row-major, stored at `J + 3·col_start[k]`; column c of the block is the
 * derivative with respect to parameter `cols[col_start[k] + c]`. For a term
 * point p attached to joint j and each ancestor a of j (j included) with
 * parent q: translation channel i: `s_q R_q e_i`; rotation channel with world
 * axis ω: `ω × (p − t_a)`; scale channel: `ln 2 · (p − t_a)`; scaled by the
 * term weight and chained through the parameter transform. `J` holds
 * 3·col_start[n_keypoints] values. Never allocates (uses the map's scratch,
 * so one map must not be used by two threads at once).
 */
void mhrfit_kpmap_jacobian(mhrfit_kpmap *map, const mhrfit_rig *rig, const mhrfit_fk_pose *pose, const double *jp,
                           double *J);

#ifdef __cplusplus
}
#endif
#endif
