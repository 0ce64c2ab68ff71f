/**
 * @file up_axis.h
 * @brief The world's up axis: its names, the rotation that turns it to +Y, and its detection
 * from a body's keypoints (used by the exports, the TRC writer of `triangulate` and the
 * `world_up` member of fitted sequences).
 */
#ifndef MHRFIT_UP_AXIS_H
#define MHRFIT_UP_AXIS_H

#include <stdbool.h>
#include <stddef.h>

#include "mhrfit/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Calibrated worlds are Y-up or Z-up (or anything): exports state the up axis and turn it to
 * the format's +Y. The rotation `U` of an up axis `u = ±e_k` maps `u` to +Y with the rest a
 * cyclic permutation of the axes (a proper rotation, det = +1):
 *
 *   +X: (x, y, z) → (z, x, y)      +Y: identity                 +Z: (x, y, z) → (y, z, x)
 *   −X: (x, y, z) → (z, −x, −y)    −Y: (x, y, z) → (x, −y, −z)  −Z: (x, y, z) → (y, −z, −x)
 *
 * (+Z is Pose2Sim's TRC convention: TRC (X, Y, Z) = world (Y, Z, X).) Automatic detection takes
 * the mean over frames of the unit direction from the pelvis (midpoint of the hips) to the neck
 * (or the midpoint of the shoulders when there is no neck point) and picks the signed axis with
 * the largest component.
 */

/** A world up axis. */
typedef enum mhrfit_up_axis {
  MHRFIT_UP_AUTO = 0, /**< detect from the body */
  MHRFIT_UP_PX,       /**< +X */
  MHRFIT_UP_PY,       /**< +Y */
  MHRFIT_UP_PZ,       /**< +Z */
  MHRFIT_UP_NX,       /**< −X */
  MHRFIT_UP_NY,       /**< −Y */
  MHRFIT_UP_NZ        /**< −Z */
} mhrfit_up_axis;

/** Parses "auto", "x", "y", "z", "+x" … "-z" (case-insensitive). MHRFIT_ERR_ARGUMENT otherwise. */
bool mhrfit_up_parse(const char *s, mhrfit_up_axis *out, mhrfit_error *err);

/** "auto", "+x", "+y", "+z", "-x", "-y", "-z". */
const char *mhrfit_up_name(mhrfit_up_axis up);

/** The rotation `U` (row-major 3×3) taking axis `up` to +Y (table above); identity for AUTO. */
void mhrfit_up_rotation(mhrfit_up_axis up, double U[9]);

/**
 * Finds the markers of an up detection among `names` (n): the hips (`left_hip`/`LHip`,
 * `right_hip`/`RHip`), the neck (`neck`/`Neck`) and the shoulders; names compare without case
 * and underscores. Writes their indices (−1 when absent) to `idx` = {left hip, right hip, neck,
 * left shoulder, right shoulder}. Returns true when the hips and the neck or both shoulders are
 * present (detection possible).
 */
bool mhrfit_up_markers(const char *const *names, size_t n, long idx[5]);

/**
 * Detects the up axis of `n_frames` frames of `n_markers` world points
 * (`points[(f·n_markers + m)·3]`, NaN = missing) from the markers of mhrfit_up_markers():
 * `d = mean_f (neck_f − pelvis_f) / ‖neck_f − pelvis_f‖` over frames where both are finite,
 * `up = sign(d_k) e_k` with k = argmax |d_k|. `*cosine` (may be NULL) receives
 * |d_k| / ‖d‖ (1: every frame upright along the axis) and `*n_used` (may be NULL) the frames
 * used. Errors: MHRFIT_ERR_NOT_FOUND when the markers are missing or no frame has them all finite.
 */
bool mhrfit_up_detect(const double *points, size_t n_frames, size_t n_markers, const long idx[5], mhrfit_up_axis *up,
                      double *cosine, size_t *n_used, mhrfit_error *err);

#ifdef __cplusplus
}
#endif
#endif
