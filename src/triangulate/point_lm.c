/* Levenberg-Marquardt refinement of one 3-D point on the pixel reprojection error. */
#include <math.h>
#include <string.h>

#include "common/linalg.h"
#include "triangulate/tri_internal.h"

/* Cost and, when JtJ is not NULL, the weighted normal equations at X. False if a used view cannot
 * project the point. */
static bool evaluate(const mhrfit_triangulator *t, const double *uv, const bool *use, const double X[3], double *cost,
                     double JtJ[9], double Jtr[3]) {
  double c = 0;
  if (JtJ) {
    memset(JtJ, 0, 9 * sizeof *JtJ);
    memset(Jtr, 0, 3 * sizeof *Jtr);
  }
  for (size_t v = 0; v < t->n_views; v++) {
    if (!use[v]) continue;
    double p[2], J[6];
    if (!mhrfit_camera_project(&t->cams[v], X, p, JtJ ? J : NULL)) return false;
    double r[2] = {p[0] - uv[2 * v], p[1] - uv[2 * v + 1]};
    double n = sqrt(r[0] * r[0] + r[1] * r[1]), w = 1.0;
    if (t->o.robust_lm && n > t->o.robust_lm_delta) w = t->o.robust_lm_delta / n;
    c += w * (r[0] * r[0] + r[1] * r[1]);
    if (!JtJ) continue;
    for (int i = 0; i < 3; i++) {
      Jtr[i] += w * (J[i] * r[0] + J[3 + i] * r[1]);
      for (int j = 0; j < 3; j++) JtJ[3 * i + j] += w * (J[i] * J[j] + J[3 + i] * J[3 + j]);
    }
  }
  *cost = c;
  return isfinite(c);
}

bool mf_point_lm(const mhrfit_triangulator *t, const double *uv, const bool *use, double X[3]) {
  double x[3] = {X[0], X[1], X[2]}, cost, A[9], g[3];
  if (!evaluate(t, uv, use, x, &cost, A, g)) return false;
  double lambda = 1e-3;
  for (int it = 0; it < t->o.lm_iters; it++) {
    double M[9], dx[3], neg[3] = {-g[0], -g[1], -g[2]};
    memcpy(M, A, sizeof M);
    double scale = (A[0] + A[4] + A[8]) / 3.0;
    for (int i = 0; i < 3; i++) M[4 * i] += lambda * (A[4 * i] > 0 ? A[4 * i] : scale);
    if (!mf_solve3_spd(M, neg, dx)) {
      lambda *= 10;
      if (lambda > 1e12) break;
      continue;
    }
    double xn[3] = {x[0] + dx[0], x[1] + dx[1], x[2] + dx[2]}, ncost, nA[9], ng[3];
    double step = sqrt(dx[0] * dx[0] + dx[1] * dx[1] + dx[2] * dx[2]);
    /* an undamped-enough step below the numerical resolution: converged, skip its evaluation */
    if (lambda < 1e-2 && step < 1e-9 * (1.0 + fabs(x[0]) + fabs(x[1]) + fabs(x[2]))) break;
    if (evaluate(t, uv, use, xn, &ncost, nA, ng) && ncost < cost) {
      double rel = (cost - ncost) / (cost > 1e-30 ? cost : 1e-30);
      memcpy(x, xn, sizeof x);
      memcpy(A, nA, sizeof A);
      memcpy(g, ng, sizeof g);
      cost = ncost;
      lambda = fmax(lambda * 0.3, 1e-12);
      if (rel < 1e-8 || step < 1e-9 * (1.0 + fabs(x[0]) + fabs(x[1]) + fabs(x[2]))) break; /* far below pixel noise */
    } else {
      /* A rejected step that is already below the numerical resolution means convergence; do
       * not spend evaluations inflating lambda. */
      if (step < 1e-9 * (1.0 + fabs(x[0]) + fabs(x[1]) + fabs(x[2]))) break;
      lambda *= 4;
      if (lambda > 1e12) break;
    }
  }
  if (!isfinite(x[0]) || !isfinite(x[1]) || !isfinite(x[2])) return false;
  memcpy(X, x, sizeof x);
  return true;
}
