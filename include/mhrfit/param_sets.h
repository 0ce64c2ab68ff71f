/**
 * @file param_sets.h
 * @brief Named sets of MHR parameters used by the fitter, as hard-coded tables.
 *
 * Indices are given in the pose dimension in use: 133 (`body_pose_params`,
 * index i ↔ model parameter i + 6) or 204 (all model parameters). Sources:
 * MHR.md §8.2–8.3 (hands 62..115 and the jaw 130..132 of body_pose) and
 * MHR.md §10.1 (the complete anatomical lower-body set: both legs — hip, knee,
 * lower-leg twist, ankle, foot leans, toes —, the foot "flexible" dimensions,
 * hip width and leg length; in 204-space also the root 0..5, since the root
 * moves the legs rigidly). The tests check every entry against the parameter
 * names of `compact_v6_1.model`, so a model change is caught.
 */
#ifndef MHRFIT_PARAM_SETS_H
#define MHRFIT_PARAM_SETS_H

#include <stddef.h>

#include "mhrfit/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Named parameter sets. */
typedef enum mhrfit_param_set {
  MHRFIT_SET_HANDS = 0,   /**< finger angles (133: 62..115; 204: 68..121) */
  MHRFIT_SET_JAW,         /**< the jaw triple MHR does not have (133 only: 130..132) */
  MHRFIT_SET_LOWER_BODY   /**< legs, feet, hip width, leg length (+ root in 204-space) */
} mhrfit_param_set;

/**
 * The indices of `set` for pose dimension `dim` (133 or 204), ascending, as
 * a static table (`*idx`, `*n`; never freed). An unsupported dimension (or
 * the jaw in 204-space, which has none) fails with MHRFIT_ERR_ARGUMENT naming
 * the dimension and the supported ones.
 */
bool mhrfit_param_set_get(mhrfit_param_set set, int dim, const int **idx, size_t *n, mhrfit_error *err);

#ifdef __cplusplus
}
#endif
#endif
