/**
 * @file similarity.h
 * @brief Weighted similarity transforms (Umeyama / Horn), reflection-safe.
 *
 * Finds the scale s, rotation R (det R = +1) and translation t minimising
 * `Σ_i w_i ‖y_i − (s R x_i + t)‖²` for w_i ≥ 0:
 * with normalised weights, centroids `μx = Σ w x`, `μy = Σ w y` and centred
 * points `x̃ = x − μx`, `ỹ = y − μy`, the rotation maximises
 * `Σ w ỹᵀ R x̃`; it is found as the unit quaternion of largest eigenvalue of
 * Horn's 4 × 4 matrix built from `M = Σ w x̃ ỹᵀ` — always a proper rotation,
 * also for three or collinear-free coplanar points where M has rank 2, so no
 * reflection fix-up is ever needed. The scale is then the exact optimum for
 * that rotation, `s = Σ w ỹᵀ R x̃ / Σ w ‖x̃‖²` (in SVD terms (D1 + D2 − D3)/σx²
 * when the SVD would have given a reflection: the original pipeline summed
 * the singular values unsigned — ORIGINAL.md §9.1 defect 6), and
 * `t = μy − s R μx`.
 */
#ifndef MHRFIT_SIMILARITY_H
#define MHRFIT_SIMILARITY_H

#include <stdbool.h>
#include <stddef.h>

#include "mhrfit/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** y = s R x + t. */
typedef struct mhrfit_similarity {
  double s;    /**< scale (1 when fitted without scale) */
  double R[9]; /**< rotation, row-major */
  double t[3]; /**< translation */
} mhrfit_similarity;

/** The identity transform. */
void mhrfit_similarity_identity(mhrfit_similarity *sim);

/**
 * Fits `sim` to `n` point pairs (`X`, `Y`: n × 3) with weights `w` (NULL =
 * all 1; negative weights count as 0). Points with a non-finite coordinate or
 * weight are skipped. `with_scale` false fixes s = 1. Fails with
 * MHRFIT_ERR_NUMERIC when fewer than 3 usable points remain or the weighted
 * spread of X is zero. For collinear points the rotation about their line is
 * undetermined and one of the optimal rotations is returned. Never allocates.
 */
bool mhrfit_similarity_fit(const double *X, const double *Y, const double *w, size_t n, bool with_scale,
                           mhrfit_similarity *sim, mhrfit_error *err);

/** y = s R x + t for one point (y may alias x). */
void mhrfit_similarity_apply(const mhrfit_similarity *sim, const double x[3], double y[3]);

#ifdef __cplusplus
}
#endif
#endif
