/**
 * @file observations.h
 * @brief 2-D keypoint observations of several cameras, loaded from the input forms users have.
 *
 * Forms (`format`):
 * - `"stage1"`: a folder of per-camera SAM 3D Body / stage-1 files `<cam>.npz` or `<cam>.npy`
 *   (exact names) holding `pred_keypoints_2d` as (K,2) or (N,K,2) — N persons, `person` selects
 *   one (clipped) — in a dict (npz, pickled npy) or as the plain array; one frame.
 * - `"arrays"`: a folder of `<cam>.npy` arrays shaped (F,K,2) or (F,K,3) (x, y, confidence);
 *   F frames; NaN = missing.
 * - `"openpose"`: per camera a folder of OpenPose JSON files (`<cam>_json` by default, or the
 *   names in `cam_dirs`), natural order; frame f is the f-th file of every camera; the frame
 *   count is the smallest file count; `person` selects `people[person]`.
 * - `"auto"` (NULL): openpose when the camera folders exist; stage1 for dict files and (K,2)
 *   arrays; a plain 3-D array is ambiguous ((N,K,2) persons or (F,K,2) frames) and must be named.
 */
#ifndef MHRFIT_OBSERVATIONS_H
#define MHRFIT_OBSERVATIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "mhrfit/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** How to read observations. Zero-initialised = auto form, person 0. */
typedef struct mhrfit_obs_options {
  const char *format;               /**< "auto" (NULL), "stage1", "arrays", "openpose" */
  size_t n_kp;                      /**< keypoints of the layout (e.g. 70, 25); required */
  size_t person;                    /**< person index in multi-person inputs */
  const char *const *cam_dirs;      /**< openpose: folder per camera (NULL: "<cam>_json") */
  bool allow_missing_views;         /**< a missing camera file/folder gives NaN instead of an error */
} mhrfit_obs_options;

/** Observations of F frames × K keypoints × V views, owned. */
typedef struct mhrfit_observations {
  size_t n_frames, n_kp, n_views;
  double *uv;    /**< F·K·V·2 pixels, index ((f·K + k)·V + v)·2; NaN = missing */
  double *conf;  /**< F·K·V confidences, or NULL when the input has none */
  char format[16]; /**< the form that was read */
} mhrfit_observations;

/**
 * Loads observations of cameras `cams[0..n_cams-1]` from `dir`. Errors name
 * the file, camera and field: MHRFIT_ERR_NOT_FOUND (missing camera input),
 * MHRFIT_ERR_FORMAT (wrong shapes, ambiguous form), MHRFIT_ERR_IO.
 * The caller owns the result (mhrfit_observations_free()).
 */
mhrfit_observations *mhrfit_observations_load(const char *dir, const char *const *cams, size_t n_cams,
                                              const mhrfit_obs_options *opts, mhrfit_error *err);

/** Frees observations. NULL is allowed. */
void mhrfit_observations_free(mhrfit_observations *o);

#ifdef __cplusplus
}
#endif
#endif
