/* Levenberg-Marquardt refinement of one 3-D point on the pixel reprojection error. */
#include <math.h>
#include <string.h>

#include "common/linalg.h"
#include "triangulate/tri_internal.h"

/* One evaluation of the cost at a point: per used view, the residual, its norm (with Huber weights
 * only) and what the Jacobian needs, so that the normal equations are only built for points the
 * iteration keeps (a rejected step, or the last accepted one, never needs them). */
typedef struct lm_eval {
  double cost;
  double r[MF_TRI_MAX_VIEWS][2];
  double norm[MF_TRI_MAX_VIEWS];
  mf_cam_proj proj[MF_TRI_MAX_VIEWS];
} lm_eval;

static double huber_weight(const mhrfit_triangulator *t, double n) {
  return t->o.robust_lm && n > t->o.robust_lm_delta ? t->o.robust_lm_delta / n : 1.0;
}

/* Cost at X into e. False if a used view cannot project the point. Without Huber weights the
 * residual norms are only needed for the final point (computed there). */
static bool evaluate(const mhrfit_triangulator *t, const double *uv, const bool *use, const double X[3], lm_eval *e) {
  double c = 0;
  bool robust = t->o.robust_lm;
  for (size_t v = 0; v < t->n_views; v++) {
    if (!use[v]) continue;
    double p[2];
    if (!mf_camera_project_cached(&t->cams[v], t->kind[v].poly, X, p, &e->proj[v])) return false;
    double r0 = p[0] - uv[2 * v], r1 = p[1] - uv[2 * v + 1], s = r0 * r0 + r1 * r1;
    if (robust) {
      double n = sqrt(s);
      e->norm[v] = n;
      c += huber_weight(t, n) * s;
    } else {
      c += s; /* the weight is 1: the same bits as 1·s */
    }
    e->r[v][0] = r0;
    e->r[v][1] = r1;
  }
  e->cost = c;
  return isfinite(c);
}

/* The weighted normal equations JᵀJ, Jᵀr at an evaluated point (JᵀJ symmetric: the upper triangle
 * is accumulated and mirrored). */
static void normal_equations(const mhrfit_triangulator *t, const bool *use, const lm_eval *e, double JtJ[9],
                             double Jtr[3]) {
  double a00 = 0, a01 = 0, a02 = 0, a11 = 0, a12 = 0, a22 = 0, g0 = 0, g1 = 0, g2 = 0;
  bool robust = t->o.robust_lm;
  for (size_t v = 0; v < t->n_views; v++) {
    if (!use[v]) continue;
    double J[6];
    mf_camera_project_jacobian(&t->cams[v], &e->proj[v], J);
    double r0 = e->r[v][0], r1 = e->r[v][1];
    double t0 = J[0] * r0 + J[3] * r1, t1 = J[1] * r0 + J[4] * r1, t2 = J[2] * r0 + J[5] * r1;
    double s00 = J[0] * J[0] + J[3] * J[3], s01 = J[0] * J[1] + J[3] * J[4], s02 = J[0] * J[2] + J[3] * J[5];
    double s11 = J[1] * J[1] + J[4] * J[4], s12 = J[1] * J[2] + J[4] * J[5], s22 = J[2] * J[2] + J[5] * J[5];
    if (robust) { /* otherwise the weight is 1 and the products would be exact copies */
      double w = huber_weight(t, e->norm[v]);
      t0 *= w;
      t1 *= w;
      t2 *= w;
      s00 *= w;
      s01 *= w;
      s02 *= w;
      s11 *= w;
      s12 *= w;
      s22 *= w;
    }
    g0 += t0;
    g1 += t1;
    g2 += t2;
    a00 += s00;
    a01 += s01;
    a02 += s02;
    a11 += s11;
    a12 += s12;
    a22 += s22;
  }
  JtJ[0] = a00;
  JtJ[1] = JtJ[3] = a01;
  JtJ[2] = JtJ[6] = a02;
  JtJ[4] = a11;
  JtJ[5] = JtJ[7] = a12;
  JtJ[8] = a22;
  Jtr[0] = g0;
  Jtr[1] = g1;
  Jtr[2] = g2;
}

bool mf_point_lm(const mhrfit_triangulator *t, const double *uv, const bool *use, double X[3], double *err) {
  lm_eval ev[2];
  lm_eval *cur = &ev[0], *trial = &ev[1];
  double x[3] = {X[0], X[1], X[2]}, A[9], g[3];
  if (!evaluate(t, uv, use, x, cur)) return false;
  normal_equations(t, use, cur, A, g);
  double cost = cur->cost;
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
    double xn[3] = {x[0] + dx[0], x[1] + dx[1], x[2] + dx[2]};
    double step = sqrt(dx[0] * dx[0] + dx[1] * dx[1] + dx[2] * dx[2]);
    /* an undamped-enough step below the numerical resolution: converged, skip its evaluation */
    if (lambda < 1e-2 && step < 1e-9 * (1.0 + fabs(x[0]) + fabs(x[1]) + fabs(x[2]))) break;
    if (evaluate(t, uv, use, xn, trial) && trial->cost < cost) {
      double ncost = trial->cost;
      double rel = (cost - ncost) / (cost > 1e-30 ? cost : 1e-30);
      memcpy(x, xn, sizeof x);
      lm_eval *tmp = cur;
      cur = trial;
      trial = tmp;
      cost = ncost;
      lambda = fmax(lambda * 0.3, 1e-12);
      if (rel < 1e-8 || step < 1e-9 * (1.0 + fabs(x[0]) + fabs(x[1]) + fabs(x[2]))) break; /* far below pixel noise */
      if (it + 1 >= t->o.lm_iters) break; /* the normal equations would not be used */
      normal_equations(t, use, cur, A, g);
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
  if (err)
    for (size_t v = 0; v < t->n_views; v++)
      if (use[v]) err[v] = sqrt(cur->r[v][0] * cur->r[v][0] + cur->r[v][1] * cur->r[v][1]);
  return true;
}

double mf_tri_pixel_error(const mhrfit_triangulator *t, size_t v, const double *uv, const double X[3]) {
  double p[2];
  if (!mf_camera_project_cached(&t->cams[v], t->kind[v].poly, X, p, NULL)) return INFINITY;
  double du = p[0] - uv[2 * v], dv = p[1] - uv[2 * v + 1];
  return sqrt(du * du + dv * dv);
}
