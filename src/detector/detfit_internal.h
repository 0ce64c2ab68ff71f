/* Shared by the detector fit's sources (not installed). */
#ifndef MF_DETFIT_INTERNAL_H
#define MF_DETFIT_INTERNAL_H

#include <stdbool.h>

/* The share of the identity in a point's camera metric (detector.h). */
#define MF_DETFIT_METRIC_ISO 0.3

/* The metric M (row-major 3 × 3) of a point from its pixel information H (3 × 3, Σ_v J_vᵀ J_v;
 * overwritten): MᵀM = (1 − iso) · 3H / tr H + iso · I (detector.h). False when H has no positive
 * finite trace or the normalised matrix is not positive definite. */
bool mf_detfit_metric_of(double *H, double M[9]);

#endif
