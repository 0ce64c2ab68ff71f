/**
 * @file observations.h
 * @brief 2-D keypoint observations of several cameras, loaded from the input forms users have.
 *
 * Forms (`format`):
 * - `"stage1"`: a folder of per-camera SAM 3D Body / stage-1 files `<cam>.npz` or `<cam>.npy`
 *   (exact names) holding `pred_keypoints_2d` as (K,2) or (N,K,2) — N persons, `person` selects
 *   one (clipped) — in a dict (npz, pickled npy) or as the plain array; one frame.
 * - `"arrays"`: a folder of `<cam>.npy` arrays shaped (F,K,2) or (F,K,3) (x, y, confidence);
 *   F frames; NaN = missing. Any K ≥ 1 (up to MHRFIT_OBS_MAX_KP) when `n_kp` is 0; else K must be `n_kp`.
 * - `"openpose"`: per camera a folder of OpenPose JSON files (`<cam>_json` by default, `<cam>`
 *   itself when it ends in `_json`, or the names in `cam_dirs`). When every file name of every
 *   camera carries a frame number (the last run of digits before `.json`: Pose2Sim's
 *   `cam04.0030.json`, OpenPose's `<video>_000000000030_keypoints.json`) and no camera repeats
 *   one, frames are matched by that number: the frames are the union of the cameras' numbers in
 *   ascending order (`frame_ids`), a frame without a file of a camera is a missing view (NaN), and
 *   the cameras lacking frames are named with (the first 8 of) those frame numbers through `warn`.
 *   Otherwise frame f is the f-th file of every camera in natural order and the frame count is the
 *   smallest file count (when the counts differ, `warn` names them); `person` selects
 *   `people[person]`.
 * - `"caliscope_csv"`: Caliscope's `xy_<TRACKER>.csv` (the file, or a folder holding exactly one
 *   `xy_*.csv`): a header naming at least the columns `sync_index`, `port`, `point_id`,
 *   `img_loc_x`, `img_loc_y` (any order, other columns ignored), one row per detected point.
 *   Frames are the distinct sync indices in ascending order (`frame_ids`); camera v is the port
 *   given by the trailing digits of its name (`cam_0` → port 0, as Caliscope names its
 *   calibration tables); rows of other ports are ignored. With `n_kp` 0 the keypoints are the
 *   distinct point ids in ascending order and `names` holds the ids as text; with `n_kp` set
 *   (a layout) point id i is keypoint i. A point not listed for a camera and frame is missing;
 *   listed points get confidence 1.
 * - `"auto"` (NULL): openpose when the camera folders exist; stage1 for dict files and (K,2)
 *   arrays; a plain 3-D array is ambiguous ((N,K,2) persons or (F,K,2) frames) and must be named.
 */
#ifndef MHRFIT_OBSERVATIONS_H
#define MHRFIT_OBSERVATIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "mhrfit/calib.h"
#include "mhrfit/error.h"
#include "mhrfit/layout.h"
#include "mhrfit/value.h"

#ifdef __cplusplus
extern "C" {
#endif

/** How to read observations. Zero-initialised = auto form, person 0. */
typedef struct mhrfit_obs_options {
  const char *format;               /**< "auto" (NULL), "stage1", "arrays", "openpose", "caliscope_csv" */
  size_t n_kp;                      /**< keypoints of the layout (e.g. 70, 25); 0 = any (arrays, caliscope_csv) */
  size_t person;                    /**< person index in multi-person inputs (a stage-1 file's list of
                                         persons or (N, K, 2) array: clipped to the last, and which person
                                         of how many is said through `warn`) */
  const char *const *cam_dirs;      /**< openpose: folder per camera (NULL: "<cam>_json") */
  bool allow_missing_views;         /**< a missing camera file/folder gives NaN instead of an error */
  void (*warn)(void *user, const char *message); /**< openpose: frames a camera lacks, differing file counts (NULL: not told) */
  void *warn_user;                  /**< passed to warn */
} mhrfit_obs_options;

/** Observations of F frames × K keypoints × V views, owned. */
typedef struct mhrfit_observations {
  size_t n_frames, n_kp, n_views;
  double *uv;    /**< F·K·V·2 pixels, index ((f·K + k)·V + v)·2; NaN = missing */
  double *conf;  /**< F·K·V confidences, or NULL when the input has none */
  char format[16]; /**< the form that was read */
  char **names;    /**< K keypoint names given by the input (caliscope_csv without a layout), or NULL */
  long *frame_ids; /**< F frame numbers given by the input (caliscope_csv sync indices, OpenPose file numbers), or NULL */
} mhrfit_observations;

/** Largest keypoint count of an arrays input read with `n_kp` 0. */
#define MHRFIT_OBS_MAX_KP 4096

/**
 * Loads observations of cameras `cams[0..n_cams-1]` from `dir`. Errors name
 * the file, camera and field: MHRFIT_ERR_NOT_FOUND (missing camera input),
 * MHRFIT_ERR_FORMAT (wrong shapes, ambiguous form), MHRFIT_ERR_IO.
 * The caller owns the result (mhrfit_observations_free()).
 */
mhrfit_observations *mhrfit_observations_load(const char *dir, const char *const *cams, size_t n_cams,
                                              const mhrfit_obs_options *opts, mhrfit_error *err);

/**
 * Keeps the views whose `keep[v]` is true, in their order, dropping the others from `uv` and
 * `conf` (in place; `n_views` becomes the number kept). `keep` has `n_views` entries.
 */
void mhrfit_observations_keep_views(mhrfit_observations *obs, const bool *keep);

/**
 * Marks in `seen[v]` (n_views entries) the views with at least one finite keypoint in any frame;
 * returns how many there are. Used to leave out cameras without any input (e.g. calibrated
 * cameras that were not recording). With `names` (n_views camera names) and `unseen` (may be
 * NULL), the names of the other views are written there as "a, b" (truncated to `unseen_size`).
 */
size_t mhrfit_observations_seen_views(const mhrfit_observations *obs, bool *seen, const char *const *names,
                                      char *unseen, size_t unseen_size);

/** Which cameras of a calibration to read, and how their inputs are named. */
typedef struct mhrfit_obs_cameras {
  const char *const *names; /**< calibration names of the cameras to use; NULL/0: every calibrated camera
                                 whose input holds a keypoint (the others left out with a warning; at
                                 least 2 needed; tables without `matrix` that look like cameras
                                 (mhrfit_calib_unread_cameras()) and inputs of no calibrated camera
                                 (mhrfit_observations_other_inputs()) are named in warnings too) */
  size_t n_names;
  const char *const *map;   /**< "FILE=NAME": the inputs named FILE (files, or OpenPose folders FILE_json, or FILE when it ends in _json)
                                 hold calibration camera NAME; other cameras' inputs carry their names */
  size_t n_map;
  void (*warn)(void *user, const char *message); /**< cameras left out (NULL: not told) */
  void *user;
} mhrfit_obs_cameras;

/**
 * Loads the observations of cameras of calibration `calib` from `dir` (forms and `opts` as
 * mhrfit_observations_load(); without `cams->names`, a missing input is a camera left out). The
 * names of the cameras read, in the observations' view order, go to `*used` (`*n_used` of them;
 * the caller frees them with mhrfit_names_free() from layout.h). Errors, each before any input is
 * read: MHRFIT_ERR_ARGUMENT (a map entry not FILE=NAME), MHRFIT_ERR_NOT_FOUND (a camera or map
 * target the calibration does not hold); then those of the load, and MHRFIT_ERR_NOT_FOUND when
 * fewer than 2 cameras have keypoints (naming those without).
 */
mhrfit_observations *mhrfit_observations_load_cameras(const char *dir, const mhrfit_calib *calib,
                                                      const mhrfit_obs_cameras *cams, const mhrfit_obs_options *opts,
                                                      char ***used, size_t *n_used, mhrfit_error *err);

/**
 * The inputs in `dir` of the form `format` that belong to none of the `n` file stems `stems`:
 * for "stage1" and "arrays" the files `<name>.npz` / `<name>.npy`, for "openpose" the folders
 * `<name>_json` (a stem names a folder `<stem>_json`, or the folder itself when it ends in
 * `_json`); other forms have none. Returns how many, and writes their names to `out` (may be
 * NULL) as "cam_3.npz, cam_4.npz", truncated to `size`. An unreadable folder counts none.
 */
size_t mhrfit_observations_other_inputs(const char *dir, const char *format, const char *const *stems, size_t n,
                                        char *out, size_t size);

/**
 * Parses the text of a Caliscope `xy_<TRACKER>.csv` (form above) for cameras
 * with the given `ports` (n_cams of them, 1..64); `source` names it in
 * messages; `n_kp` 0 = the point ids found, else the layout's count (larger
 * ids are an error). Errors name the line and column: MHRFIT_ERR_FORMAT
 * (missing column, a value that is not a number, an id outside the layout),
 * MHRFIT_ERR_NOMEM, MHRFIT_ERR_LIMIT. The caller owns the result.
 */
mhrfit_observations *mhrfit_observations_parse_caliscope_csv(const char *text, size_t len, const char *source,
                                                             const long *ports, size_t n_cams, size_t n_kp,
                                                             mhrfit_error *err);

/**
 * A keypoint set naming the K keypoints of `obs` when no built-in layout
 * does (any-K inputs): `names` (`n_names` of them, which must be K; the set
 * is called "keypoint_names") or, when `names` is NULL, the input's own
 * (`obs->names`, e.g. Caliscope point ids; `kp_0`, `kp_1`, … when it has
 * none; the set is called "custom"). Free with mhrfit_layout_free(). Errors:
 * MHRFIT_ERR_FORMAT (another number of names), MHRFIT_ERR_ARGUMENT,
 * MHRFIT_ERR_NOMEM (mhrfit_layout_new_custom()).
 */
mhrfit_layout *mhrfit_observations_keypoint_set(const mhrfit_observations *obs, const char *const *names,
                                                size_t n_names, mhrfit_error *err);

/**
 * The 2-D keypoints of a detector run of `mhrfit run` (pipeline.h, "Detector inputs"), read
 * again from what its `pipeline_config.json` (`config`, parsed) records: `input` (the path as
 * recorded, else relative to `run_dir`), `input_format`, `layout` (else any K), `cams` (the
 * views, in this order), `cam_dirs` and `person_index`; views whose input is missing are NaN.
 * `*cams` receives the camera names of the views (`*n_cams`; free with mhrfit_names_free()).
 * Errors: MHRFIT_ERR_NOT_FOUND (not a detector run, or its input or cameras not recorded or
 * gone), those of mhrfit_layout_get() and mhrfit_observations_load().
 */
mhrfit_observations *mhrfit_observations_of_run(const mhrfit_value *config, const char *run_dir, char ***cams,
                                                size_t *n_cams, mhrfit_error *err);

/** Frees observations. NULL is allowed. */
void mhrfit_observations_free(mhrfit_observations *o);

#ifdef __cplusplus
}
#endif
#endif
