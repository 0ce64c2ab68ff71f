/* The default method: consensus-ranked pairwise DLT candidates, weighted DLT reseed, LM. */
#include <math.h>
#include <string.h>

#include "triangulate/tri_internal.h"

/* Pixel error of X in every valid view (+inf where it does not project). */
static void residuals(mhrfit_triangulator *t, const double *uv, const double X[3], double *err) {
  for (size_t v = 0; v < t->n_views; v++) {
    err[v] = t->valid[v] ? mf_tri_pixel_error(t, v, uv, X) : NAN;
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

/* Inlier count and mean squared inlier error of candidate X, with branch-and-bound: gives up
 * (returns false) as soon as X can no longer reach `need` agreeing views.
 *
 * The pixel error is evaluated to first order around each observation: with xn the undistorted
 * normalised observation and J = K·∂distort/∂xn at xn (precomputed once per observation),
 * e ≈ ‖J·(π_n(X) − xn)‖, where π_n is the distortion-free normalised projection. This is exact to
 * first order in the error (the regime of the gate) and spares a full distorted projection per
 * candidate and view; the chosen point's final errors use the full model. The squared errors go to
 * err2 (+inf where X is behind the camera): the square roots are only taken for the chosen
 * candidate. */
static bool eval_candidate(const mhrfit_triangulator *t, const double X[3], int n_valid, int need, int *count,
                           double *msq, double *err2) {
  int cnt = 0, seen = 0;
  double sq = 0, gate2 = t->o.inlier_thresh * t->o.inlier_thresh;
  for (size_t v = 0; v < t->n_views; v++) {
    if (!t->valid[v]) continue;
    seen++;
    const double *P = t->P_norm[v];
    double z = P[8] * X[0] + P[9] * X[1] + P[10] * X[2] + P[11];
    if (z > 1e-12) {
      double dx = (P[0] * X[0] + P[1] * X[1] + P[2] * X[2] + P[3]) / z - t->xn[v][0];
      double dy = (P[4] * X[0] + P[5] * X[1] + P[6] * X[2] + P[7]) / z - t->xn[v][1];
      const double *J = t->Jpix[v];
      double eu = J[0] * dx + J[1] * dy, ev = J[2] * dx + J[3] * dy, e2 = eu * eu + ev * ev;
      err2[v] = e2;
      bool in = e2 < gate2; /* branch-free: outliers are too frequent to predict */
      cnt += in;
      sq += in ? e2 : 0.0;
    } else {
      err2[v] = INFINITY;
    }
    if (cnt + (n_valid - seen) < need) return false;
  }
  *count = cnt;
  *msq = cnt ? sq / cnt : INFINITY;
  return true;
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
  return mf_triangulate_ls(t->P_sel, t->x_sel, t->y_sel, t->w_sel, n, X);
}

static void set_inliers(const mhrfit_triangulator *t, const double *err, bool *in) {
  for (size_t v = 0; v < t->n_views; v++) in[v] = t->valid[v] && err[v] < t->o.inlier_thresh;
}

bool mf_tri_default_start(mhrfit_triangulator *t, const double *uv, const double *conf, mf_tri_point *p) {
  size_t V = t->n_views;
  int n_valid = 0;
  for (size_t v = 0; v < V; v++) {
    bool ok = isfinite(uv[2 * v]) && isfinite(uv[2 * v + 1]);
    const mhrfit_camera *c = &t->cams[v];
    if (ok && c->width > 0 && c->height > 0)
      ok = uv[2 * v] >= 0 && uv[2 * v] < c->width && uv[2 * v + 1] >= 0 && uv[2 * v + 1] < c->height;
    /* a zero confidence is always missing (OpenPose writes undetected points as 0, 0, 0) */
    if (ok && conf) ok = isfinite(conf[v]) && conf[v] > 0 && conf[v] >= t->o.min_conf;
    t->in[v] = ok; /* scratch: the observations to undistort */
  }
  double Jd[MF_TRI_MAX_VIEWS][4];
  mf_camera_pixel_to_normalized_jac_n(t->cams, t->kind, uv, V, t->in, t->xn, Jd, t->valid);
  for (size_t v = 0; v < V; v++) {
    bool ok = t->in[v] && t->valid[v];
    if (ok) {
      const mhrfit_camera *c = &t->cams[v];
      t->Jpix[v][0] = c->K[0] * Jd[v][0] + c->K[1] * Jd[v][2];
      t->Jpix[v][1] = c->K[0] * Jd[v][1] + c->K[1] * Jd[v][3];
      t->Jpix[v][2] = c->K[4] * Jd[v][2];
      t->Jpix[v][3] = c->K[4] * Jd[v][3];
      const double *R = c->R; /* ray direction Rᵀ·(x, y, 1), normalised */
      double x = t->xn[v][0], y = t->xn[v][1];
      double d[3] = {R[0] * x + R[3] * y + R[6], R[1] * x + R[4] * y + R[7], R[2] * x + R[5] * y + R[8]};
      double n = sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
      for (int i = 0; i < 3; i++) t->ray[v][i] = d[i] / n;
    }
    t->valid[v] = ok;
    n_valid += ok;
  }
  if (n_valid < 2) {
    p->reason = n_valid == 0 ? MHRFIT_TRI_NO_VIEWS : MHRFIT_TRI_ONE_VIEW;
    return false;
  }
  /* Pair candidates. */
  double best[3] = {NAN, NAN, NAN}, best_score = INFINITY;
  int best_count = -1;
  bool have = false, any_geometry = false;
  double best_err2[MF_TRI_MAX_VIEWS]; /* squared first-order errors of the best candidate */
  for (size_t a = 0; a < V; a++) {
    if (!t->valid[a]) continue;
    for (size_t b = a + 1; b < V; b++) {
      if (!t->valid[b]) continue;
      /* Candidate: midpoint of the common perpendicular of the two rays (closed form). Rays
       * meeting at less than min_angle_deg, or nearly opposite (cameras facing each other across
       * the point), leave the depth undetermined and give no candidate. */
      const double *da = t->ray[a], *db = t->ray[b];
      double c = da[0] * db[0] + da[1] * db[1] + da[2] * db[2];
      if (!(c <= t->cos_min_angle && c >= -t->cos_min_angle)) continue;
      double w0[3], X[3];
      for (int i = 0; i < 3; i++) w0[i] = t->centre[a][i] - t->centre[b][i];
      double d = da[0] * w0[0] + da[1] * w0[1] + da[2] * w0[2], e = db[0] * w0[0] + db[1] * w0[1] + db[2] * w0[2];
      double den = 1.0 - c * c, sa = (c * e - d) / den, sb = (e - c * d) / den;
      if (!(sa > 0 && sb > 0)) continue; /* behind a camera of the pair */
      for (int i = 0; i < 3; i++) X[i] = 0.5 * (t->centre[a][i] + sa * da[i] + t->centre[b][i] + sb * db[i]);
      any_geometry = true;
      int cnt = 0;
      double s;
      if (t->o.rank_by_consensus) {
        /* Rank by consensus; among equal support, by the mean squared error of the agreeing
         * views (a truncated-quadratic, MSAC-like cost), which separates the clean pair from
         * pairs that include an outlier. (t->err holds squared errors here.) */
        if (!eval_candidate(t, X, n_valid, best_count > 2 ? best_count : 2, &cnt, &s, t->err)) continue;
      } else { /* the original: the robust score over all valid views */
        residuals(t, uv, X, t->err);
        if (!isfinite(t->err[a]) || !isfinite(t->err[b])) continue;
        s = score(t, t->err);
      }
      if (!have || cnt > best_count || (cnt == best_count && s < best_score)) {
        have = true;
        best_count = cnt;
        best_score = s;
        memcpy(best, X, sizeof best);
        if (t->o.rank_by_consensus) memcpy(best_err2, t->err, V * sizeof *best_err2);
      }
      /* Stop once the best candidate is supported by a clear majority: any other candidate with
       * as much support would share at least three views with it, agreeing within the gate, i.e.
       * it would be the same point up to noise, and the refinement over the consensus set (with
       * re-admission) gives the same answer whichever of them seeded it. */
      if (t->o.rank_by_consensus && 2 * best_count >= n_valid + 3) goto chosen;
    }
  }
chosen:
  if (!have) {
    /* Either no pair of views gives a usable candidate (parallel rays): the original then ran a
     * DLT on all views, which has the same degeneracy, so report it; or no candidate is supported
     * by two views within the gate. */
    p->reason = any_geometry ? MHRFIT_TRI_ALL_OUTLIERS : MHRFIT_TRI_DEGENERATE;
    return false;
  }
  /* Initial inliers: with consensus ranking, the chosen candidate's (first-order) pixel errors are
   * at hand; the original ranking computes them now. Both are replaced by exact errors below. */
  if (t->o.rank_by_consensus) {
    for (size_t v = 0; v < V; v++) t->err[v] = t->valid[v] ? sqrt(best_err2[v]) : NAN;
  } else {
    residuals(t, uv, best, t->err);
  }
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
  memcpy(p->X, X, sizeof X); /* the refinement starts here */
  memcpy(p->valid, t->valid, V * sizeof *p->valid);
  memcpy(p->in, t->in, V * sizeof *p->in);
  p->n_in = n_in;
  p->conf = conf;
  memcpy(p->xn, t->xn, V * sizeof *p->xn);
  return true;
}

/* Truncated quadratic (MSAC) cost of the errors of all valid views: Σ min(e², T²) with
 * T = MF_TRI_LOO_COST·inlier_thresh (a view that cannot see the point costs T²). */
static double msac_cost(const mhrfit_triangulator *t, const double *err) {
  double T = MF_TRI_LOO_COST * t->o.inlier_thresh, c = 0;
  for (size_t v = 0; v < t->n_views; v++)
    if (t->valid[v]) c += err[v] < T ? err[v] * err[v] : T * T;
  return c;
}

/* Solves on the views `use` (weighted DLT seed, then the refinement when lm_iters > 0) and leaves
 * the point in X and the exact errors of all valid views in err. False when the solve fails. */
static bool solve_on(mhrfit_triangulator *t, const double *uv, const double *conf, const bool *use, double X[3],
                     double *err) {
  if (!dlt_on(t, use, conf, X)) return false;
  if (t->o.lm_iters > 0 && !mf_point_lm(t, uv, use, X, NULL)) return false;
  for (size_t v = 0; v < t->n_views; v++) err[v] = t->valid[v] ? mf_tri_pixel_error(t, v, uv, X) : NAN;
  return true;
}

/* The leave-one-out check. The consensus rule counts views first, so an outlier view can win a
 * compromise point that keeps every view of its set within the gate (with large errors) over the
 * clean point that leaves it out. When the refined point X over the inlier set t->in (≥ 3 views,
 * errors t->err) has an inlier error above the trigger, each inlier v is left out in turn: the
 * point is re-solved on the other inliers, v must then be beyond the gate, the views within the
 * gate of the reduced point (re-admitting others, then refined once more) become its inliers, and
 * the reduced point with the lowest truncated cost replaces X when that cost is clearly lower
 * (below MF_TRI_LOO_GAIN times X's). */
static void leave_one_out(mhrfit_triangulator *t, const double *uv, const double *conf, double X[3]) {
  size_t V = t->n_views;
  double T = t->o.inlier_thresh, emax = 0;
  int n_in = 0;
  for (size_t v = 0; v < V; v++)
    if (t->in[v]) {
      n_in++;
      if (t->err[v] > emax) emax = t->err[v];
    }
  if (n_in < 3 || !(emax > T * MF_TRI_LOO_TRIGGER)) return;
  double best_cost = MF_TRI_LOO_GAIN * msac_cost(t, t->err), best_X[3], best_err[MF_TRI_MAX_VIEWS];
  bool best_in[MF_TRI_MAX_VIEWS], found = false;
  for (size_t out = 0; out < V; out++) {
    if (!t->in[out]) continue;
    bool use[MF_TRI_MAX_VIEWS];
    double Xr[3], e[MF_TRI_MAX_VIEWS];
    memcpy(use, t->in, V * sizeof *use);
    use[out] = false;
    memcpy(Xr, X, sizeof Xr);
    if (!solve_on(t, uv, conf, use, Xr, e) || !(e[out] >= T)) continue;
    /* the inliers of the reduced point: the valid views within the gate */
    bool gate[MF_TRI_MAX_VIEWS], same = true;
    int n_gate = 0;
    for (size_t v = 0; v < V; v++) {
      gate[v] = t->valid[v] && e[v] < T;
      n_gate += gate[v];
      same = same && gate[v] == use[v];
    }
    if (n_gate < 2) continue;
    if (!same) { /* views re-admitted or dropped: refine once more on the gate set, which must hold */
      if (!solve_on(t, uv, conf, gate, Xr, e) || !(e[out] >= T)) continue;
      bool hold = true;
      for (size_t v = 0; v < V; v++) hold = hold && gate[v] == (t->valid[v] && e[v] < T);
      if (!hold) continue;
    }
    double c = msac_cost(t, e);
    if (c < best_cost) {
      found = true;
      best_cost = c;
      memcpy(best_X, Xr, sizeof best_X);
      memcpy(best_err, e, V * sizeof *e);
      memcpy(best_in, gate, V * sizeof *gate);
    }
  }
  if (!found) return;
  memcpy(X, best_X, sizeof best_X);
  memcpy(t->err, best_err, V * sizeof *best_err);
  memcpy(t->in, best_in, V * sizeof *best_in);
}

void mf_tri_default_finish(mhrfit_triangulator *t, const double *uv, mf_tri_point *p, bool refined, bool lm_ok) {
  size_t V = t->n_views;
  memcpy(t->valid, p->valid, V * sizeof *t->valid);
  memcpy(t->in, p->in, V * sizeof *t->in);
  double X[3];
  memcpy(X, p->X, sizeof X);
  for (int pass = 0; pass < 2; pass++) {
    /* the refinement leaves the exact errors of its used views; the others are computed here */
    if (pass > 0) {
      refined = t->o.lm_iters > 0;
      lm_ok = refined && mf_point_lm(t, uv, t->in, X, t->err);
    } else if (refined && lm_ok) {
      for (size_t v = 0; v < V; v++)
        if (t->in[v]) t->err[v] = p->err[v];
    }
    if (refined && lm_ok) {
      for (size_t v = 0; v < V; v++)
        if (!t->in[v]) t->err[v] = t->valid[v] ? mf_tri_pixel_error(t, v, uv, X) : NAN;
    } else {
      residuals(t, uv, X, t->err);
    }
    /* the inliers are the valid views the refined point explains within the gate (exact errors):
     * re-admit views that now agree, drop views that no longer do (keeping at least two) */
    bool changed = false;
    int n_now = 0;
    for (size_t v = 0; v < V; v++) n_now += t->valid[v] && t->err[v] < t->o.inlier_thresh;
    for (size_t v = 0; v < V; v++) {
      bool want = t->valid[v] && t->err[v] < t->o.inlier_thresh;
      if (want != t->in[v] && (want || n_now >= 2)) {
        t->in[v] = want;
        changed = true;
      }
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
  if (!agree && p->n_in < 2) {
    p->reason = MHRFIT_TRI_ALL_OUTLIERS;
    for (int i = 0; i < 3; i++) p->X_init[i] = NAN;
    for (size_t v = 0; v < V; v++) p->err[v] = NAN; /* the refinement may have written some */
    return;
  }
  if (t->o.loo_check && t->o.rank_by_consensus && agree && used >= 3) {
    memcpy(t->xn, p->xn, V * sizeof *t->xn); /* the scratch may hold another point's */
    leave_one_out(t, uv, p->conf, X);
    used = 0;
    for (size_t v = 0; v < V; v++) used += t->in[v];
  }
  memcpy(p->X, X, sizeof X);
  for (size_t v = 0; v < V; v++) {
    p->in[v] = t->in[v];
    p->err[v] = t->valid[v] ? t->err[v] : NAN;
  }
  p->n_used = used;
  p->reason = MHRFIT_TRI_OK;
}
