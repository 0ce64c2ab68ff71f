/* Checks shared by the tests of fitted archives: the geometry of a frame against forward
 * kinematics of its own parameters placed by its output similarity. */
#ifndef MF_TESTS_FIT_CHECKS_H
#define MF_TESTS_FIT_CHECKS_H

#include <math.h>
#include <stdlib.h>

#include "mhrfit/fit_io.h"
#include "mhrfit/rig.h"

/* Largest distance (m) between the stored joints of frame f and FK of its stored parameters
 * (SAM axes, then the output similarity); INFINITY when FK fails. */
static inline double th_joints_vs_fk(const mhrfit_rig *rig, const mhrfit_fit_archive *a, size_t f) {
  size_t J = rig->n_joints;
  double *buf = malloc(J * 13 * sizeof *buf);
  if (!buf) return INFINITY;
  mhrfit_fk_pose pose = {buf, buf + 9 * J, buf + 12 * J};
  mhrfit_error err = {0};
  double worst = INFINITY;
  if (mhrfit_rig_fk(rig, a->model_params + 204 * f, &pose, NULL, &err)) {
    mhrfit_similarity so;
    mhrfit_fit_archive_get_similarity(a, f, &so);
    worst = 0;
    for (size_t j = 0; j < J; j++) {
      double q[3], w[3];
      mhrfit_mhr_to_sam3d(pose.t + 3 * j, q);
      mhrfit_similarity_apply(&so, q, w);
      for (int r = 0; r < 3; r++) worst = fmax(worst, fabs(w[r] - a->joints[3 * (J * f + j) + r]));
    }
  }
  free(buf);
  return worst;
}

#endif
