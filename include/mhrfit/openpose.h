/**
 * @file openpose.h
 * @brief OpenPose / Pose2Sim 2-D keypoint JSON files.
 *
 * A file holds `{"version": 1.3, "people": [{"pose_keypoints_2d": [x0, y0, c0, x1, …], …}, …]}`.
 * An undetected keypoint is written `0, 0, 0` (likelihood 0); an empty person
 * object `{}` means the person is not seen.
 */
#ifndef MHRFIT_OPENPOSE_H
#define MHRFIT_OPENPOSE_H

#include <stdbool.h>
#include <stddef.h>

#include "mhrfit/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Reads person `person` (0-based) of an OpenPose JSON file into `xyc`
 * (`n_kp`×3: x, y, likelihood). A missing person, an empty person, a missing
 * `pose_keypoints_2d` or a short array gives NaN for the keypoints not
 * present. Errors: MHRFIT_ERR_IO, MHRFIT_ERR_FORMAT (not JSON, `people` not a
 * list, non-numbers), each naming the file.
 */
bool mhrfit_openpose_read(const char *path, size_t person, size_t n_kp, double *xyc, mhrfit_error *err);

#ifdef __cplusplus
}
#endif
#endif
