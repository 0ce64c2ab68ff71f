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

#include "mhrfit/error.h"
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

#ifdef __cplusplus
}
#endif
#endif
