/**
 * @file calib.h
 * @brief Multi-camera calibration files.
 *
 * Reads the TOML dialect shared by Caliscope (`config.toml` with `[cam_N]`
 * tables, native `camera_array.toml` with `[cameras.<id>]`), Anipose /
 * aniposelib (`calibration.toml`, `[cam_0]`…) and Pose2Sim (`Calib*.toml`,
 * `[cam_01]`… plus `[metadata]`), and JSON files with the same fields.
 *
 * A camera is any table holding a `matrix` field (3×3 K); other tables
 * (`metadata`, `charuco`, `capture_volume`, …) are skipped (and remembered,
 * so that asking for one of them as a camera says that its `matrix` is
 * missing), and tables one level down are searched too (`[cameras.0]`).
 * Per camera:
 * `matrix` (3×3), `distortions` (0, 4, 5 or 8 OpenCV terms; missing = none),
 * `rotation` (Rodrigues 3-vector, or a 3×3 matrix as older Caliscope files
 * store it), `translation` (3), `size` ([width, height] pixels; optional),
 * `name` (optional), `fisheye` (optional; `true` is rejected unless there is
 * no distortion, as the fisheye model is not implemented). A camera without
 * a `distortions` field is taken as distortion-free, with a warning when it
 * is selected (mhrfit_calib_options::warn); `distortions = []` says so
 * without a warning.
 *
 * Values that no real camera has are refused, naming the field, even when
 * finite: a focal length (fx, fy) outside (0, 10⁶] pixels, a principal point
 * or skew beyond 10⁶ pixels, a distortion term beyond ±1000, a Rodrigues
 * rotation vector longer than 2π (one full turn; OpenCV writes at most π), a
 * translation beyond 10⁵ m (100 km, after the unit is applied).
 *
 * Extrinsics are world→camera, `Xc = R·X + t`. Units are carried, not
 * guessed: translations are taken in metres unless the caller states the
 * file's unit (`translation_unit` = "mm" or "cm" scales them to metres).
 */
#ifndef MHRFIT_CALIB_H
#define MHRFIT_CALIB_H

#include <stdbool.h>
#include <stddef.h>

#include "mhrfit/camera.h"
#include "mhrfit/error.h"
#include "mhrfit/value.h"

#ifdef __cplusplus
extern "C" {
#endif

/** How to read a calibration file. Zero-initialised = defaults. */
typedef struct mhrfit_calib_options {
  bool invert_extrinsics;       /**< the file stores camera→world poses; invert them */
  const char *translation_unit; /**< unit of `translation` in the file: "m" (default, NULL), "cm" or "mm" */
  /** Receives one line per warning about a selected camera (mhrfit_calib_select()), such as a
   *  missing `distortions` field; NULL = no warnings. */
  void (*warn)(void *user, const char *message);
  void *warn_user; /**< passed to warn */
} mhrfit_calib_options;

/** A set of cameras, owned. */
typedef struct mhrfit_calib {
  mhrfit_camera *cams; /**< `n_cams` cameras in file order */
  size_t n_cams;
  char *path;          /**< source file (or name given to mhrfit_calib_from_value) */
  char unit[8];        /**< unit of the translations after loading: always "m" */
  char **ignored;      /**< `n_ignored` names of tables not read as cameras (no `matrix` field) */
  int *ignored_line;   /**< their lines in the file (0 when unknown) */
  size_t n_ignored;
  void (*warn)(void *user, const char *message); /**< the options' warn callback (NULL: none) */
  void *warn_user;                               /**< the options' warn_user */
  bool *ignored_camera_like; /**< per ignored table: it holds a field only cameras have (`rotation`,
                                  `translation`, `distortions` or `size`): a camera left out */
} mhrfit_calib;

/**
 * Reads a calibration file (TOML, or JSON when it starts with '{' or ends in
 * `.json`). `opts` may be NULL. Errors name the file, line, table and field:
 * MHRFIT_ERR_IO, MHRFIT_ERR_FORMAT (syntax, missing/non-finite/ill-shaped
 * fields, a rotation that is not a rotation), MHRFIT_ERR_UNSUPPORTED
 * (fisheye with distortion), MHRFIT_ERR_NOT_FOUND (no camera table).
 * The caller owns the result (mhrfit_calib_free()).
 */
mhrfit_calib *mhrfit_calib_load(const char *path, const mhrfit_calib_options *opts, mhrfit_error *err);

/** Builds a calibration from an already parsed document; `name` is used in messages. Caller owns it. */
mhrfit_calib *mhrfit_calib_from_value(const mhrfit_value *doc, const char *name, const mhrfit_calib_options *opts,
                                      mhrfit_error *err);

/** Index of the camera whose table name or `name` field equals `name` exactly, or -1. */
long mhrfit_calib_find(const mhrfit_calib *calib, const char *name);

/**
 * A new calibration holding exactly the cameras `names[0..n-1]`, in that
 * order (exact matches only, no wildcard guessing). A missing camera fails
 * with MHRFIT_ERR_NOT_FOUND naming it and listing the available cameras; a
 * name that is a table without `matrix` fails with MHRFIT_ERR_FORMAT saying
 * so (file:line, table, field). Each selected camera without a
 * `distortions` field is reported through calib->warn. The caller owns the
 * result.
 */
mhrfit_calib *mhrfit_calib_select(const mhrfit_calib *calib, const char *const *names, size_t n, mhrfit_error *err);

/**
 * The tables of `calib` that look like cameras (a `rotation`, `translation`, `distortions` or
 * `size` field) but are not read as cameras because they lack `matrix`: returns how many, and
 * writes them to `out` (may be NULL) as "[cam_1] (line 12), [cam_4] (line 30)", truncated to
 * `size`. Tables such as Pose2Sim's `[metadata]` or Caliscope's `[charuco]` are not counted.
 * Commands that use every calibrated camera by default warn with it: such a camera would
 * otherwise be dropped without a word.
 */
size_t mhrfit_calib_unread_cameras(const mhrfit_calib *calib, char *out, size_t size);

/** Frees a calibration. NULL is allowed. */
void mhrfit_calib_free(mhrfit_calib *calib);

#ifdef __cplusplus
}
#endif
#endif
