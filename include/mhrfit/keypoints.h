/**
 * @file keypoints.h
 * @brief MHR70 keypoints from the MHR skeleton.
 *
 * 49 of the 70 keypoints are exactly joints (MHR.md §9.2): shoulders, hips,
 * knees, wrists, all 40 finger points, and the neck (midpoint of `c_neck` and
 * `c_neck_twist1_proc`). The 21 surface keypoints (nose, eyes, ears, elbows,
 * ankles, toes, heels, olecranon, cubital fossa, acromion) are mesh-vertex
 * combinations in SAM 3D Body; mhrfit will model them as markers attached to
 * joints (not implemented yet: they are NaN here).
 */
#ifndef MHRFIT_KEYPOINTS_H
#define MHRFIT_KEYPOINTS_H

#include <stdbool.h>

#include "mhrfit/rig.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MHRFIT_N_MHR70 70

/**
 * The joint of each MHR70 keypoint that is exactly a joint (`joint[k]` ≥ 0),
 * -1 for surface keypoints, -2 for the neck (a joint midpoint). Static table.
 */
const int *mhrfit_mhr70_joint_table(void);

/**
 * Keypoint positions (70 × 3, the units and axes of `pose`) from a posed
 * skeleton: joint keypoints exactly, the neck as the midpoint of joints 110
 * and 111, surface keypoints NaN. Returns the number of keypoints set (49).
 */
int mhrfit_mhr70_from_joints(const mhrfit_fk_pose *pose, double kp[MHRFIT_N_MHR70 * 3]);

#ifdef __cplusplus
}
#endif
#endif
