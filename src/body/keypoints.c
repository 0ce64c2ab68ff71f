/* MHR70 keypoints from joints: see include/mhrfit/keypoints.h (table from MHR.md §9.2). */
#include "mhrfit/keypoints.h"

#include <math.h>

static const int table[MHRFIT_N_MHR70] = {
    /* 0-4 nose, eyes, ears: surface */ -1, -1, -1, -1, -1,
    /* 5 l_shoulder, 6 r_shoulder */ 75, 39,
    /* 7, 8 elbows: surface */ -1, -1,
    /* 9 l_hip, 10 r_hip, 11 l_knee, 12 r_knee */ 2, 18, 3, 19,
    /* 13-20 ankles, toes, heels: surface */ -1, -1, -1, -1, -1, -1, -1, -1,
    /* 21-24 right thumb tip..third */ 64, 63, 62, 61,
    /* 25-28 right index */ 59, 58, 57, 56,
    /* 29-32 right middle */ 55, 54, 53, 52,
    /* 33-36 right ring */ 51, 50, 49, 48,
    /* 37-40 right pinky */ 47, 46, 45, 44,
    /* 41 right wrist (r_wrist_twist) */ 41,
    /* 42-45 left thumb */ 100, 99, 98, 97,
    /* 46-49 left index */ 95, 94, 93, 92,
    /* 50-53 left middle */ 91, 90, 89, 88,
    /* 54-57 left ring */ 87, 86, 85, 84,
    /* 58-61 left pinky */ 83, 82, 81, 80,
    /* 62 left wrist (l_wrist_twist) */ 77,
    /* 63-68 olecranon, cubital fossa, acromion: surface */ -1, -1, -1, -1, -1, -1,
    /* 69 neck: midpoint of c_neck (110) and c_neck_twist1_proc (111) */ -2};

const int *mhrfit_mhr70_joint_table(void) { return table; }

int mhrfit_mhr70_from_joints(const mhrfit_fk_pose *pose, double kp[MHRFIT_N_MHR70 * 3]) {
  int n = 0;
  for (int k = 0; k < MHRFIT_N_MHR70; k++) {
    int j = table[k];
    for (int a = 0; a < 3; a++) {
      if (j >= 0) kp[3 * k + a] = pose->t[3 * j + a];
      else if (j == -2) kp[3 * k + a] = 0.5 * (pose->t[3 * 110 + a] + pose->t[3 * 111 + a]);
      else kp[3 * k + a] = NAN;
    }
    n += j != -1;
  }
  return n;
}
