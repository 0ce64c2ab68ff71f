/**
 * @file layout.h
 * @brief Keypoint layouts of 2-D detectors, and keypoint name lists.
 *
 * Built-in layouts (names are the ones users see in their tools):
 *
 * | layout | K | detector | names |
 * |---|---|---|---|
 * | `mhr70` | 70 | SAM 3D Body | the original pipeline's `keypoint_info` names (`left_shoulder`, `right_thumb4`, …; the `original_keypoint_info` aliases such as `right_thumb_tip` also resolve) |
 * | `coco17` | 17 | COCO (MMPose, YOLO-pose, …) | `nose`, `left_eye`, … `right_ankle` |
 * | `halpe26` | 26 | Halpe 26 (RTMPose / AlphaPose body + feet) | Pose2Sim's `Nose`, `LEye`, … `Head`, `Neck`, `Hip`, `LBigToe`, … `RHeel` |
 * | `body25` | 25 | OpenPose BODY_25 | `Nose`, `Neck`, `RShoulder`, … `MidHip`, … `RHeel` |
 * | `body25b` | 25 | OpenPose BODY_25B (Pose2Sim's default) | `Nose`, `LEye`, … `Neck`, `Head`, … `RHeel` |
 * | `mediapipe33` | 33 | MediaPipe Pose (BlazePose) | `nose`, `left_eye_inner`, … `right_foot_index` |
 * | `mediapipe_hands21_left`, `mediapipe_hands21_right` | 21 | MediaPipe Hands / OpenPose hand (one hand) | `wrist`, `thumb_cmc`, … `pinky_tip` |
 *
 * Left/right pairs (mhrfit_layout_mirror()) follow from the names: a
 * `left_`/`right_` prefix, a `_left`/`_right` suffix, or an `L`/`R` before a
 * capital letter.
 */
#ifndef MHRFIT_LAYOUT_H
#define MHRFIT_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>

#include "mhrfit/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A keypoint layout (static data, never freed). */
typedef struct mhrfit_layout {
  const char *name;          /**< "mhr70", "body25b", … (table above) */
  size_t count;              /**< number of keypoints */
  const char *const *names;  /**< `count` keypoint names */
} mhrfit_layout;

/** The built-in layout names, for messages and help texts. */
#define MHRFIT_LAYOUT_NAMES \
  "mhr70, coco17, halpe26, body25, body25b, mediapipe33, mediapipe_hands21_left, mediapipe_hands21_right"

/** Longest keypoint name (bytes) and largest keypoint count of a name list. */
#define MHRFIT_KEYPOINT_NAME_MAX 127
#define MHRFIT_KEYPOINTS_MAX 4096

/** The layout called `name`, or NULL (with MHRFIT_ERR_NOT_FOUND listing the known ones). */
const mhrfit_layout *mhrfit_layout_get(const char *name, mhrfit_error *err);

/** The i-th built-in layout (table order), or NULL past the last: for listing them. */
const mhrfit_layout *mhrfit_layout_at(size_t i);

/**
 * Index of the other side's counterpart of keypoint `k` (e.g. `LHip` → `RHip`,
 * `left_thumb4` → `right_thumb4`), or `k` itself for a central keypoint (or
 * one whose counterpart is not in the layout, as in a one-hand layout).
 */
size_t mhrfit_layout_mirror(const mhrfit_layout *layout, size_t k);

/**
 * Parses a list of keypoint names: a JSON list of strings, or plain text with
 * one name per line (surrounding spaces trimmed, blank lines skipped).
 * `source` names the text in messages. Names must be 1 to
 * MHRFIT_KEYPOINT_NAME_MAX bytes without control characters, distinct, at
 * most MHRFIT_KEYPOINTS_MAX of them, at least one. On success `*names` (`*n`
 * strings) is owned by the caller (mhrfit_names_free()). Errors:
 * MHRFIT_ERR_FORMAT (naming the line and name), MHRFIT_ERR_LIMIT,
 * MHRFIT_ERR_NOMEM.
 */
bool mhrfit_keypoint_names_parse(const char *text, size_t len, const char *source, char ***names, size_t *n,
                                 mhrfit_error *err);

/** Reads a file of keypoint names (mhrfit_keypoint_names_parse(); at most 16 MiB). MHRFIT_ERR_IO as well. */
bool mhrfit_keypoint_names_load(const char *path, char ***names, size_t *n, mhrfit_error *err);

/**
 * A layout of `n` keypoints named `names` (copied), or `kp_0`, `kp_1`, … when
 * `names` is NULL; `name` names the set ("custom" when NULL). Its left/right
 * pairs follow from the names as for the built-in layouts. Free with
 * mhrfit_layout_free(). Errors: MHRFIT_ERR_ARGUMENT (n = 0 or too large),
 * MHRFIT_ERR_NOMEM.
 */
mhrfit_layout *mhrfit_layout_new_custom(const char *name, const char *const *names, size_t n, mhrfit_error *err);

/** Frees a layout of mhrfit_layout_new_custom(); built-in layouts and NULL are ignored. */
void mhrfit_layout_free(mhrfit_layout *layout);

/** Frees `n` names and their array. NULL is allowed. */
void mhrfit_names_free(char **names, size_t n);

/** Index of keypoint `name` in the layout (aliases included), or -1. */
long mhrfit_layout_index(const mhrfit_layout *layout, const char *name);

/**
 * Resolves a subset specification into keypoint indices: "all" (every
 * keypoint in order), "hands_arms" (MHR70 only: the original's 46 points,
 * right hand 21..40, left hand 42..61, then shoulders, elbows, wrists), or a
 * comma-separated list of names or indices. Writes at most `max` indices
 * into `idx` and their count into `*n`. Errors: MHRFIT_ERR_NOT_FOUND for an
 * unknown name, MHRFIT_ERR_ARGUMENT for duplicates or too many.
 */
bool mhrfit_layout_subset(const mhrfit_layout *layout, const char *spec, size_t *idx, size_t max, size_t *n,
                          mhrfit_error *err);

/**
 * mhrfit_layout_subset() into new arrays: `*idx` gets the `*n` indices and
 * `*names` their names (pointing into the layout's: valid while it is);
 * free both with free(). Errors as mhrfit_layout_subset(), and
 * MHRFIT_ERR_NOMEM (then nothing is allocated).
 */
bool mhrfit_layout_select(const mhrfit_layout *layout, const char *spec, size_t **idx, const char ***names, size_t *n,
                          mhrfit_error *err);

#ifdef __cplusplus
}
#endif
#endif
