/* Pose2Sim's triangulation rule: likelihood-weighted DLT with camera exclusion. */
#include <math.h>
#include <string.h>

#include "triangulate/tri_internal.h"

/* Mean pixel reprojection error with the pixel projection matrices (no distortion). */
static double mean_error(const mhrfit_triangulator *t, const double *uv, const bool *use, const double X[3]) {
  double s = 0;
  int n = 0;
  for (size_t v = 0; v < t->n_views; v++) {
    if (!use[v]) continue;
    const double *P = t->P_pix[v];
    double h[3];
    for (int r = 0; r < 3; r++) h[r] = P[4 * r] * X[0] + P[4 * r + 1] * X[1] + P[4 * r + 2] * X[2] + P[4 * r + 3];
    double du = h[0] / h[2] - uv[2 * v], dv = h[1] / h[2] - uv[2 * v + 1];
    s += sqrt(du * du + dv * dv);
    n++;
  }
  return n ? s / n : NAN;
}

/* Triangulates from the views in `use`; returns the mean error (NaN when no point). */
static double solve(mhrfit_triangulator *t, const double *uv, const double *conf, const bool *use, double X[3]) {
  int n = 0;
  for (size_t v = 0; v < t->n_views; v++) {
    if (!use[v]) continue;
    t->P_sel[n] = t->P_pix[v];
    t->x_sel[n] = uv[2 * v];
    t->y_sel[n] = uv[2 * v + 1];
    t->w_sel[n] = conf ? conf[v] : 1.0;
    n++;
  }
  if (n < t->o.min_cameras || !mf_dlt(t->P_sel, t->x_sel, t->y_sel, t->w_sel, n, X)) return NAN;
  return mean_error(t, uv, use, X);
}

/* Number of k-subsets of n, saturating at limit + 1. */
static size_t n_choose_k(size_t n, size_t k, size_t limit) {
  double c = 1;
  for (size_t i = 0; i < k; i++) c = c * (double)(n - i) / (double)(i + 1);
  return c > (double)limit ? limit + 1 : (size_t)(c + 0.5);
}

void mf_tri_pose2sim_point(mhrfit_triangulator *t, const double *uv, const double *conf, mf_tri_point *p) {
  size_t n = t->n_views;
  bool missing[MF_TRI_MAX_VIEWS], use[MF_TRI_MAX_VIEWS], best_use[MF_TRI_MAX_VIEWS];
  size_t n_missing = 0;
  for (size_t v = 0; v < n; v++) {
    double l = conf ? conf[v] : 1.0;
    missing[v] = !(l >= t->o.likelihood_threshold) || !isfinite(uv[2 * v]) || !isfinite(uv[2 * v + 1]);
    n_missing += missing[v];
  }
  size_t present = n - n_missing;
  double best_err = INFINITY, best_X[3] = {NAN, NAN, NAN};
  memset(best_use, 0, sizeof best_use);
  size_t mc = (size_t)t->o.min_cameras;
  for (size_t k = 0; best_err > t->o.reproj_thresh && n >= k + mc; k++) {
    if (n_missing + k > n - mc) break; /* some k-subset would leave fewer than min_cameras */
    double k_err = NAN, k_X[3];
    bool k_use[MF_TRI_MAX_VIEWS];
    if (n_choose_k(n, k, t->o.max_subsets) <= t->o.max_subsets) {
      size_t idx[MF_TRI_MAX_VIEWS];
      for (size_t i = 0; i < k; i++) idx[i] = i;
      for (;;) { /* subsets in itertools.combinations order */
        for (size_t v = 0; v < n; v++) use[v] = !missing[v];
        for (size_t i = 0; i < k; i++) use[idx[i]] = false;
        double X[3], e = solve(t, uv, conf, use, X);
        if (!isnan(e) && (isnan(k_err) || e < k_err)) {
          k_err = e;
          memcpy(k_X, X, sizeof X);
          memcpy(k_use, use, sizeof use);
        }
        size_t i = k;
        while (i > 0 && idx[i - 1] == n - k + i - 1) i--;
        if (i == 0) break;
        idx[i - 1]++;
        for (size_t j = i; j < k; j++) idx[j] = idx[j - 1] + 1;
      }
    } else { /* bounded: greedy removal of one more camera from the best set so far */
      for (size_t drop = 0; drop < n; drop++) {
        if (!best_use[drop]) continue;
        memcpy(use, best_use, sizeof use);
        use[drop] = false;
        double X[3], e = solve(t, uv, conf, use, X);
        if (!isnan(e) && (isnan(k_err) || e < k_err)) {
          k_err = e;
          memcpy(k_X, X, sizeof X);
          memcpy(k_use, use, sizeof use);
        }
      }
    }
    if (!isnan(k_err)) {
      best_err = k_err;
      memcpy(best_X, k_X, sizeof k_X);
      memcpy(best_use, k_use, sizeof k_use);
    }
  }
  if (!(best_err <= t->o.reproj_thresh)) {
    p->reason = present == 0 ? MHRFIT_TRI_NO_VIEWS : present == 1 ? MHRFIT_TRI_ONE_VIEW
                : isinf(best_err) ? MHRFIT_TRI_DEGENERATE : MHRFIT_TRI_ALL_OUTLIERS;
    return;
  }
  memcpy(p->X, best_X, sizeof best_X);
  memcpy(p->X_init, best_X, sizeof best_X);
  int used = 0;
  for (size_t v = 0; v < n; v++) {
    p->in[v] = best_use[v];
    used += best_use[v];
    if (!missing[v]) {
      bool one[MF_TRI_MAX_VIEWS] = {false};
      one[v] = true;
      p->err[v] = mean_error(t, uv, one, best_X);
    }
  }
  p->n_used = used;
  p->reason = MHRFIT_TRI_OK;
}
