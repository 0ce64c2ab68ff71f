/**
 * @file sam3d.h
 * @brief SAM 3D Body output conventions (MHR.md §8).
 *
 * `body_pose_params` (133) holds model parameters 6..135 (index i ↔ parameter
 * i + 6 for i < 130) followed by a 3-entry "jaw" that MHR does not have
 * (always zero). SAM 3D Body zeroes the hand block 62..115 of it and writes
 * the decoded finger angles into `mhr_model_params[68:122]`; scales are
 * decoded into `mhr_model_params[136:204]`. Decoding `hand_pose_params` or
 * `scale_params` needs SAM 3D Body checkpoint buffers, so mhrfit reads the
 * decoded values from `mhr_model_params` and never tries to rebuild them.
 */
#ifndef MHRFIT_SAM3D_H
#define MHRFIT_SAM3D_H

#include <stdbool.h>
#include <stddef.h>

#include "mhrfit/error.h"
#include "mhrfit/keypoints.h"
#include "mhrfit/rig.h"
#include "mhrfit/value.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MHRFIT_N_MODEL_PARAMS 204 /**< rigid 6 + pose 130 + scale 68 */
#define MHRFIT_N_BODY_POSE 133    /**< body_pose_params: 130 pose + 3 jaw */

/** Flags of mhrfit_sam3d_model_params(): which blocks were not available and were set to zero. */
enum {
  MHRFIT_SAM3D_HANDS_ZERO = 1,  /**< finger angles (model params 68..121) defaulted to 0 */
  MHRFIT_SAM3D_SCALES_ZERO = 2  /**< scales (model params 136..203) defaulted to 0 */
};

/**
 * The 204 model parameters of one SAM 3D Body person dict: `mhr_model_params`
 * when present; otherwise assembled from `global_rot` and
 * `body_pose_params[0:130]` (translation 0), with the hand and scale blocks
 * set to zero and reported in `*defaulted` (may be NULL). Errors:
 * MHRFIT_ERR_NOT_FOUND (neither form present), MHRFIT_ERR_FORMAT (wrong
 * size), MHRFIT_ERR_NUMERIC (non-finite values), each naming the key.
 */
bool mhrfit_sam3d_model_params(const mhrfit_value *person, double m[MHRFIT_N_MODEL_PARAMS], int *defaulted,
                               mhrfit_error *err);

/** body_pose_params (133) from model parameters: bp[i] = m[i + 6] for i < 130, jaw zero. */
void mhrfit_body_pose_from_model(const double m[MHRFIT_N_MODEL_PARAMS], double bp[MHRFIT_N_BODY_POSE]);

/** Writes body_pose_params[0:130] into model parameters 6..135 (the jaw is ignored). */
void mhrfit_model_set_body_pose(double m[MHRFIT_N_MODEL_PARAMS], const double bp[MHRFIT_N_BODY_POSE]);

/**
 * @name Evaluating MHR as SAM 3D Body reports it
 *
 * What `mhrfit rig fk` writes: for model parameters `m` (and identity coefficients), forward
 * kinematics (mhrfit_rig_fk()), the 70 keypoints of a keypoint map (mhrfit_kpmap_eval()) and the
 * full mesh (mhrfit_rig_skin_full(): identity blend shapes, pose correctives when the rig has
 * both layers, skinning), converted from MHR native (cm, Y up) to SAM 3D Body camera axes
 * (metres): a position p becomes (p_x, −p_y, −p_z) / 100 (mhrfit_mhr_to_sam3d()); rotations stay
 * in native axes. Lifecycle: new → process (per parameter set, no allocation) → free.
 * @{ */

/** Caller arrays of one evaluation; `vertices` may be NULL to skip the mesh. */
typedef struct mhrfit_sam3d_outputs {
  double *joint_coords;        /**< n_joints × 3 `pred_joint_coords`: joint positions (m, camera axes) */
  double *global_rots;         /**< n_joints × 9 `pred_global_rots`: global joint rotations (native axes, row-major) */
  double *keypoints_3d;        /**< 70 × 3 `pred_keypoints_3d` (m, camera axes; NaN where the map has no definition) */
  double *vertices;            /**< n_vertices × 3 `pred_vertices` (m, camera axes), or NULL: no skinning */
  bool correctives_applied;    /**< set by process: the pose correctives were applied to the mesh */
  size_t n_active_correctives; /**< set by process: hidden units of the correctives that were active (> 0) */
} mhrfit_sam3d_outputs;

typedef struct mhrfit_sam3d_evaluator mhrfit_sam3d_evaluator;

/**
 * An evaluator of `rig` (borrowed: must outlive the evaluator; the 204-parameter MHR rig).
 * `map` (copied; may be NULL) gives the keypoints; NULL means the MHR70 map with the built-in
 * surface markers (mhrfit_kpmap_calibrate_default()). Errors: MHRFIT_ERR_ARGUMENT (not a
 * 204-parameter rig, a map that is not of 70 keypoints), MHRFIT_ERR_FORMAT (a joint missing from the
 * rig), MHRFIT_ERR_NOMEM. The caller owns the result (mhrfit_sam3d_evaluator_free()).
 */
mhrfit_sam3d_evaluator *mhrfit_sam3d_evaluator_new(const mhrfit_rig *rig, const mhrfit_kpmap *map,
                                                   mhrfit_error *err);

/**
 * Evaluates model parameters `m` (204) with blend-shape coefficients `shape` (`n_shape` values,
 * identity first, as mhrfit_rig_shaped_vertices() takes them: those beyond the rig's blend shapes
 * are ignored; may be NULL with 0) into `out` (formulas above). Never allocates. Errors:
 * MHRFIT_ERR_NUMERIC (a non-finite parameter or coefficient, named), MHRFIT_ERR_ARGUMENT (a NULL
 * output other than `vertices`).
 */
bool mhrfit_sam3d_evaluator_process(mhrfit_sam3d_evaluator *ev, const double m[MHRFIT_N_MODEL_PARAMS],
                                    const double *shape, size_t n_shape, mhrfit_sam3d_outputs *out,
                                    mhrfit_error *err);

/** Frees an evaluator. NULL is allowed. */
void mhrfit_sam3d_evaluator_free(mhrfit_sam3d_evaluator *ev);
/** @} */

#ifdef __cplusplus
}
#endif
#endif
