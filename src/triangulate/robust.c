/* The default method: consensus-ranked pairwise DLT candidates, weighted DLT reseed, LM. */
#include <math.h>
#include <string.h>

#include "triangulate/tri_internal.h"

/* Pixel error of X in every valid view (+inf where it does not project). */
static void residuals(mhrfit_triangulator *t, const double *uv, const double X[3], double *err) {
  for (size_t v = 0; v < t->n_views; v++) {
    err[v] = NAN;
    if (!t->valid[v]) continue;
    double p[2];
    if (!mhrfit_camera_project(&t->cams[v], X, p, NULL)) {
      err[v] = INFINITY;
      continue;
    }
    err[v] = hypot(p[0] - uv[2 * v], p[1] - uv[2 * v + 1]);
  }
}

/* Robust score of the valid views' errors (infinite errors count as very large). */
static double score(const mhrfit_triangulator *t, const double *err) {
  double e[MF_TRI_MAX_VIEWS];
  int n = 0;
  for (size_t v = 0; v < t->n_views; v++)
    if (t->valid[v]) e[n++] = isfinite(err[v]) ? err[v] : 1e30;
  if (n == 0) return INFINITY;
  for (int i = 1; i < n; i++) /* insertion sort: n is small */
    for (int j = i; j > 0 && e[j] < e[j - 1]; j--) {
      double tmp = e[j];
      e[j] = e[j - 1];
      e[j - 1] = tmp;
    }
  switch (t->o.score_type) {
    case MHRFIT_SCORE_TRIMMED: {
      int m = n > 1 ? n - 1 : n;
      double s = 0;
      for (int i = 0; i < m; i++) s += e[i];
      return s / m;
    }
    case MHRFIT_SCORE_HUBER: {
      double d = t->o.huber_delta, s = 0;
      for (int i = 0; i < n; i++) s += e[i] <= d ? 0.5 * e[i] * e[i] : d * (e[i] - 0.5 * d);
      return s;
    }
    default: return n % 2 ? e[n / 2] : 0.5 * (e[n / 2 - 1] + e[n / 2]);
  }
}

static int count_inliers(const mhrfit_triangulator *t, const double *err) {
  int c = 0;
  for (size_t v = 0; v < t->n_views; v++)
    if (t->valid[v] && err[v] < t->o.inlier_thresh) c++;
  return c;
}

/* Ray angle at X between the two cameras, in degrees. */
static double ray_angle(const mhrfit_triangulator *t, size_t a, size_t b, const double X[3]) {
  double u[3], w[3];
  for (int i = 0; i < 3; i++) {
    u[i] = X[i] - t->centre[a][i];
    w[i] = X[i] - t->centre[b][i];
  }
  double c = (u[0] * w[0] + u[1] * w[1] + u[2] * w[2]) /
             (sqrt(u[0] * u[0] + u[1] * u[1] + u[2] * u[2]) * sqrt(w[0] * w[0] + w[1] * w[1] + w[2] * w[2]));
  if (c > 1) c = 1;
  if (c < -1) c = -1;
  return acos(c) * (180.0 / 3.14159265358979323846);
}

/* Weighted DLT on the views flagged in `use`, in normalised coordinates. */
static bool dlt_on(mhrfit_triangulator *t, const bool *use, const double *conf, double X[3]) {
  int n = 0;
  for (size_t v = 0; v < t->n_views; v++) {
    if (!use[v]) continue;
    t->P_sel[n] = t->P_norm[v];
    t->x_sel[n] = t->xn[v][0];
    t->y_sel[n] = t->xn[v][1];
    t->w_sel[n] = conf && isfinite(conf[v]) && conf[v] > 0 ? conf[v] : 1.0;
    n++;
  }
  return mf_dlt(t->P_sel, t->x_sel, t->y_sel, t->w_sel, n, X);
}

static void set_inliers(const mhrfit_triangulator *t, const double *err, bool *in) {
  for (size_t v = 0; v < t->n_views; v++) in[v] = t->valid[v] && err[v] < t->o.inlier_thresh;
}

void mf_tri_default_point(mhrfit_triangulator *t, const double *uv, const double *conf, mf_tri_point *p) {
  size_t V = t->n_views;
  int n_valid = 0;
  for (size_t v = 0; v < V; v++) {
    bool ok = isfinite(uv[2 * v]) && isfinite(uv[2 * v + 1]);
    const mhrfit_camera *c = &t->cams[v];
    if (ok && c->width > 0 && c->height > 0)
      ok = uv[2 * v] >= 0 && uv[2 * v] < c->width && uv[2 * v + 1] >= 0 && uv[2 * v + 1] < c->height;
    if (ok && conf) ok = isfinite(conf[v]) && conf[v] >= t->o.min_conf;
    if (ok) ok = mhrfit_camera_pixel_to_normalized(c, uv + 2 * v, t->xn[v], NULL);
    t->valid[v] = ok;
    n_valid += ok;
  }
  if (n_valid < 2) {
    p->reason = n_valid == 0 ? MHRFIT_TRI_NO_VIEWS : MHRFIT_TRI_ONE_VIEW;
    return;
  }
  /* Pair candidates. */
  double best[3] = {NAN, NAN, NAN}, best_score = INFINITY;
  int best_count = -1;
  bool have = false;
  for (size_t a = 0; a < V; a++) {
    if (!t->valid[a]) continue;
    for (size_t b = a + 1; b < V; b++) {
      if (!t->valid[b]) continue;
      const double *P[2] = {t->P_norm[a], t->P_norm[b]};
      double xs[2] = {t->xn[a][0], t->xn[b][0]}, ys[2] = {t->xn[a][1], t->xn[b][1]}, X[3];
      if (!mf_dlt(P, xs, ys, NULL, 2, X)) continue;
      double ang = ray_angle(t, a, b, X);
      if (!(ang >= t->o.min_angle_deg && ang <= 180.0 - t->o.min_angle_deg)) continue;
      residuals(t, uv, X, t->err);
      if (!isfinite(t->err[a]) || !isfinite(t->err[b])) continue; /* behind a camera of the pair */
      /* The original ranks by the robust score over all views; ranking by consensus instead
       * breaks ties by the mean squared error of the agreeing views (a truncated-quadratic,
       * MSAC-like cost), which separates the clean pair from pairs that include an outlier. */
      int cnt = 0;
      double s;
      if (t->o.rank_by_consensus) {
        double sq = 0;
        for (size_t v = 0; v < V; v++)
          if (t->valid[v] && t->err[v] < t->o.inlier_thresh) {
            sq += t->err[v] * t->err[v];
            cnt++;
          }
        s = cnt ? sq / cnt : INFINITY;
      } else {
        s = score(t, t->err);
      }
      if (!have || cnt > best_count || (cnt == best_count && s < best_score)) {
        have = true;
        best_count = cnt;
        best_score = s;
        memcpy(best, X, sizeof best);
      }
    }
  }
  if (!have) {
    /* No pair of views gives a usable candidate (parallel rays, points behind cameras). The
     * original then ran a DLT on all views, which has the same degeneracy: report it instead. */
    p->reason = MHRFIT_TRI_DEGENERATE;
    return;
  }
  residuals(t, uv, best, t->err);
  set_inliers(t, t->err, t->in);
  int n_in = count_inliers(t, t->err);
  if (n_in < 2) { /* the original's fallback: the two views with the smallest errors */
    for (size_t v = 0; v < V; v++) t->in[v] = false;
    for (int k = 0; k < 2; k++) {
      size_t m = V;
      for (size_t v = 0; v < V; v++)
        if (t->valid[v] && !t->in[v] && (m == V || !(t->err[v] >= t->err[m]))) m = v;
      if (m < V) t->in[m] = true;
    }
  }
  double X[3];
  memcpy(X, best, sizeof X);
  if (dlt_on(t, t->in, conf, X)) memcpy(best, X, sizeof X); /* reseed from the inliers */
  memcpy(p->X_init, best, sizeof best);
  for (int pass = 0; pass < 2; pass++) {
    if (t->o.lm_iters > 0) mf_point_lm(t, uv, t->in, X);
    residuals(t, uv, X, t->err);
    /* re-admit valid views that the refined point explains */
    bool changed = false;
    for (size_t v = 0; v < V; v++)
      if (t->valid[v] && !t->in[v] && t->err[v] < t->o.inlier_thresh) {
        t->in[v] = true;
        changed = true;
      }
    if (!changed) break;
  }
  int used = 0;
  bool agree = true;
  for (size_t v = 0; v < V; v++)
    if (t->in[v]) {
      used++;
      if (!(t->err[v] < t->o.inlier_thresh)) agree = false;
    }
  if (!agree && n_in < 2) {
    p->reason = MHRFIT_TRI_ALL_OUTLIERS;
    for (int i = 0; i < 3; i++) p->X_init[i] = NAN;
    return;
  }
  memcpy(p->X, X, sizeof X);
  for (size_t v = 0; v < V; v++) {
    p->in[v] = t->in[v];
    p->err[v] = t->valid[v] ? t->err[v] : NAN;
  }
  p->n_used = used;
  p->reason = MHRFIT_TRI_OK;
}
