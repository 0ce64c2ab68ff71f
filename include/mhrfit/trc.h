/**
 * @file trc.h
 * @brief OpenSim / Pose2Sim `.trc` marker files.
 *
 * Tab-separated text: a 5-line header (`PathFileType 4 (X/Y/Z) name`, the
 * rate line, marker names, `X1 Y1 Z1 …`), then one row per frame
 * (`Frame#` 1-based, `Time`, X Y Z per marker). Missing points are written as
 * empty cells. Pose2Sim's convention is followed for the axes: the world
 * frame of the calibration is Z-up, TRC is Y-up, so TRC (X, Y, Z) =
 * world (Y, Z, X) unless `world_axes` is set.
 */
#ifndef MHRFIT_TRC_H
#define MHRFIT_TRC_H

#include <stdbool.h>
#include <stddef.h>

#include "mhrfit/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Writes `n_frames` frames of `n_markers` world points (`points[(f·M + m)·3]`,
 * metres, NaN = missing) to `path` atomically, at `rate` Hz. `world_axes`
 * writes world X, Y, Z unchanged. Errors: MHRFIT_ERR_IO, MHRFIT_ERR_ARGUMENT.
 */
bool mhrfit_trc_write(const char *path, const char *const *names, size_t n_markers, const double *points,
                      size_t n_frames, double rate, bool world_axes, mhrfit_error *err);

/**
 * Like mhrfit_trc_write() with any axes and unit: TRC (X, Y, Z) = `axes` · world / `unit_m`
 * (`axes` row-major 3×3, e.g. the up rotation of export.h's mhrfit_up_rotation(), which makes
 * the world's up axis TRC's Y as OpenSim expects; `unit_m` the length of one unit in metres,
 * written in the header as `unit`, e.g. 0.01 and "cm").
 */
bool mhrfit_trc_write_axes(const char *path, const char *const *names, size_t n_markers, const double *points,
                           size_t n_frames, double rate, const double axes[9], double unit_m, const char *unit,
                           mhrfit_error *err);

#ifdef __cplusplus
}
#endif
#endif
