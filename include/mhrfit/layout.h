/**
 * @file layout.h
 * @brief Keypoint layouts: MHR70 (SAM 3D Body), OpenPose BODY_25B, COCO-17.
 *
 * Names are the ones users see in their tools: MHR70 uses the original
 * pipeline's `keypoint_info` names (`left_shoulder`, `right_thumb4`, …; the
 * `original_keypoint_info` aliases such as `right_thumb_tip` also resolve),
 * BODY_25B Pose2Sim's marker names (`RHip`, `LBigToe`, …), COCO-17 the COCO
 * names.
 */
#ifndef MHRFIT_LAYOUT_H
#define MHRFIT_LAYOUT_H

#include <stddef.h>

#include "mhrfit/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A keypoint layout (static data, never freed). */
typedef struct mhrfit_layout {
  const char *name;          /**< "mhr70", "body25b", "coco17" */
  size_t count;              /**< number of keypoints */
  const char *const *names;  /**< `count` keypoint names */
} mhrfit_layout;

/** The layout called `name`, or NULL (with MHRFIT_ERR_NOT_FOUND listing the known ones). */
const mhrfit_layout *mhrfit_layout_get(const char *name, mhrfit_error *err);

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

#ifdef __cplusplus
}
#endif
#endif
