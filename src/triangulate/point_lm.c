/* Levenberg-Marquardt refinement of one 3-D point on the pixel reprojection error. */
#include <math.h>
#include <string.h>

#include "common/linalg.h"
#include "triangulate/tri_internal.h"

static double huber_weight(const mhrfit_triangulator *t, double n) {
  return t->o.robust_lm && n > t->o.robust_lm_delta ? t->o.robust_lm_delta / n : 1.0;
}

/* Cost at X into e. False if a used view cannot project the point. Without Huber weights the
 * residual norms are only needed for the final point (computed there). */
static bool evaluate(const mhrfit_triangulator *t, const double *uv, const bool *use, const double X[3], mf_lm_eval *e) {
  double c = 0;
  bool robust = t->o.robust_lm;
  for (size_t v = 0; v < t->n_views; v++) {
    if (!use[v]) continue;
    double p[2];
    if (!mf_camera_project_cached(&t->cams[v], t->kind[v].poly, X, p, &e->view[v].proj)) return false;
    double r0 = p[0] - uv[2 * v], r1 = p[1] - uv[2 * v + 1], s = r0 * r0 + r1 * r1;
    if (robust) {
      double n = sqrt(s);
      e->view[v].norm = n;
      c += huber_weight(t, n) * s;
    } else {
      c += s; /* the weight is 1: the same bits as 1·s */
    }
    e->view[v].r[0] = r0;
    e->view[v].r[1] = r1;
  }
  e->cost = c;
  return isfinite(c);
}

/* The weighted normal equations JᵀJ, Jᵀr at an evaluated point (JᵀJ symmetric: the upper triangle
 * is accumulated and mirrored). */
static void normal_equations(const mhrfit_triangulator *t, const bool *use, const mf_lm_eval *e, double JtJ[9],
                             double Jtr[3]) {
  double a00 = 0, a01 = 0, a02 = 0, a11 = 0, a12 = 0, a22 = 0, g0 = 0, g1 = 0, g2 = 0;
  bool robust = t->o.robust_lm;
  for (size_t v = 0; v < t->n_views; v++) {
    if (!use[v]) continue;
    double J[6];
    mf_camera_project_jacobian(&t->cams[v], &e->view[v].proj, J);
    double r0 = e->view[v].r[0], r1 = e->view[v].r[1];
    double t0 = J[0] * r0 + J[3] * r1, t1 = J[1] * r0 + J[4] * r1, t2 = J[2] * r0 + J[5] * r1;
    double s00 = J[0] * J[0] + J[3] * J[3], s01 = J[0] * J[1] + J[3] * J[4], s02 = J[0] * J[2] + J[3] * J[5];
    double s11 = J[1] * J[1] + J[4] * J[4], s12 = J[1] * J[2] + J[4] * J[5], s22 = J[2] * J[2] + J[5] * J[5];
    if (robust) { /* otherwise the weight is 1 and the products would be exact copies */
      double w = huber_weight(t, e->view[v].norm);
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

static double step_tol(const double x[3]) { return 1e-9 * (1.0 + fabs(x[0]) + fabs(x[1]) + fabs(x[2])); }

/* First half of an iteration: the damped solve and the trial point (false when the iteration ends
 * without a trial point to evaluate). */
static bool lm_propose(const mhrfit_triangulator *t, mf_lm_state *s) {
  double M[9], dx[3], neg[3] = {-s->g[0], -s->g[1], -s->g[2]};
  const double *A = s->A;
  memcpy(M, A, sizeof M);
  double scale = (A[0] + A[4] + A[8]) / 3.0;
  for (int i = 0; i < 3; i++) M[4 * i] += s->lambda * (A[4 * i] > 0 ? A[4 * i] : scale);
  if (!mf_solve3_spd(M, neg, dx)) {
    s->lambda *= 10;
    if (s->lambda > 1e12) s->active = false;
    return false;
  }
  for (int i = 0; i < 3; i++) s->xn[i] = s->x[i] + dx[i];
  s->step = sqrt(dx[0] * dx[0] + dx[1] * dx[1] + dx[2] * dx[2]);
  /* an undamped-enough step below the numerical resolution: converged, skip its evaluation */
  if (s->lambda < 1e-2 && s->step < step_tol(s->x)) {
    s->active = false;
    return false;
  }
  return true;
}

/* Second half: accept or reject the evaluated trial point. */
static void lm_decide(const mhrfit_triangulator *t, mf_lm_state *s) {
  if (s->trial_ok && s->tri->cost < s->cost) {
    double ncost = s->tri->cost;
    double rel = (s->cost - ncost) / (s->cost > 1e-30 ? s->cost : 1e-30);
    memcpy(s->x, s->xn, sizeof s->x);
    mf_lm_eval *tmp = s->cur;
    s->cur = s->tri;
    s->tri = tmp;
    s->cost = ncost;
    s->lambda = fmax(s->lambda * 0.3, 1e-12);
    if (rel < 1e-8 || s->step < step_tol(s->x)) { /* far below pixel noise */
      s->active = false;
      return;
    }
    if (s->it + 1 >= t->o.lm_iters) { /* the normal equations would not be used */
      s->active = false;
      return;
    }
    normal_equations(t, s->use, s->cur, s->A, s->g);
  } else {
    /* A rejected step that is already below the numerical resolution means convergence; do
     * not spend evaluations inflating lambda. */
    if (s->step < step_tol(s->x)) {
      s->active = false;
      return;
    }
    s->lambda *= 4;
    if (s->lambda > 1e12) s->active = false;
  }
}

bool mf_point_lm_n(mhrfit_triangulator *t, size_t n, const double *const *uv, const bool *const *use, double *const *X,
                   double *const *err, bool *ok) {
  for (size_t i0 = 0; i0 < n; i0 += MF_TRI_LM_GROUP) {
    size_t m = n - i0 < MF_TRI_LM_GROUP ? n - i0 : MF_TRI_LM_GROUP;
    mf_lm_state *st = t->lm;
    size_t n_act = 0;
    for (size_t i = 0; i < m; i++) {
      mf_lm_state *s = &st[i];
      s->uv = uv[i0 + i];
      s->use = use[i0 + i];
      s->cur = &s->ev[0];
      s->tri = &s->ev[1];
      memcpy(s->x, X[i0 + i], sizeof s->x);
      s->ok = s->active = evaluate(t, s->uv, s->use, s->x, s->cur);
      if (!s->ok) continue;
      normal_equations(t, s->use, s->cur, s->A, s->g);
      s->cost = s->cur->cost;
      s->lambda = 1e-3;
      s->it = 0;
      s->active = t->o.lm_iters > 0;
      n_act += s->active;
    }
    /* Iteration `it` of every refinement still running, stage by stage: each point goes through
     * exactly the steps it would alone, and the independent chains (the 3x3 solves above all)
     * overlap in the CPU instead of waiting on each other. */
    while (n_act > 0) {
      for (size_t i = 0; i < m; i++)
        if (st[i].active) st[i].trial = lm_propose(t, &st[i]);
      for (size_t i = 0; i < m; i++)
        if (st[i].active && st[i].trial) st[i].trial_ok = evaluate(t, st[i].uv, st[i].use, st[i].xn, st[i].tri);
      n_act = 0;
      for (size_t i = 0; i < m; i++) {
        mf_lm_state *s = &st[i];
        if (!s->active) continue;
        if (s->trial) lm_decide(t, s);
        if (s->active && ++s->it >= t->o.lm_iters) s->active = false;
        n_act += s->active;
      }
    }
    for (size_t i = 0; i < m; i++) {
      mf_lm_state *s = &st[i];
      if (s->ok) s->ok = isfinite(s->x[0]) && isfinite(s->x[1]) && isfinite(s->x[2]);
      ok[i0 + i] = s->ok;
      if (!s->ok) continue;
      memcpy(X[i0 + i], s->x, sizeof s->x);
      double *e = err ? err[i0 + i] : NULL;
      if (!e) continue;
      for (size_t v = 0; v < t->n_views; v++) {
        if (!s->use[v]) continue;
        const double *r = s->cur->view[v].r;
        e[v] = sqrt(r[0] * r[0] + r[1] * r[1]);
      }
    }
  }
  return true;
}

bool mf_point_lm(mhrfit_triangulator *t, const double *uv, const bool *use, double X[3], double *err) {
  bool ok;
  mf_point_lm_n(t, 1, &uv, &use, &X, &err, &ok);
  return ok;
}

double mf_tri_pixel_error(const mhrfit_triangulator *t, size_t v, const double *uv, const double X[3]) {
  double p[2];
  if (!mf_camera_project_cached(&t->cams[v], t->kind[v].poly, X, p, NULL)) return INFINITY;
  double du = p[0] - uv[2 * v], dv = p[1] - uv[2 * v + 1];
  return sqrt(du * du + dv * dv);
}
