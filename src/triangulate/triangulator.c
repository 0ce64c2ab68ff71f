/* The triangulator object: setup, per-frame processing, outputs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "triangulate/tri_internal.h"

void mhrfit_tri_options_default(mhrfit_tri_options *o) {
  memset(o, 0, sizeof *o);
  o->method = MHRFIT_TRI_DEFAULT;
  o->min_conf = 0.0;
  o->score_type = MHRFIT_SCORE_MEDIAN;
  o->huber_delta = 10.0;
  o->inlier_thresh = 30.0;
  o->rank_by_consensus = true;
  o->min_angle_deg = 5.0;
  o->lm_iters = 25;
  o->robust_lm = false;
  o->robust_lm_delta = 10.0;
  o->loo_check = true;
  o->likelihood_threshold = 0.3;
  o->reproj_thresh = 15.0;
  o->min_cameras = 2;
  o->max_subsets = 2000;
}

const char *mhrfit_tri_reason_name(mhrfit_tri_reason r) {
  static const char *const names[] = {"ok", "no_views", "one_view", "degenerate", "all_outliers"};
  return (unsigned)r < sizeof names / sizeof names[0] ? names[r] : "unknown";
}

bool mhrfit_tri_options_check(const mhrfit_tri_options *o, mhrfit_error *err) {
  const struct {
    const char *name;
    double v, lo, hi;
    bool lo_open, hi_open;
  } nums[] = {{"min_conf", o->min_conf, 0, INFINITY, false, true},
              {"huber_delta", o->huber_delta, 0, INFINITY, true, true},
              {"inlier_thresh", o->inlier_thresh, 0, INFINITY, true, true},
              {"min_angle", o->min_angle_deg, 0, 90, false, true},
              {"robust_lm_delta", o->robust_lm_delta, 0, INFINITY, true, true},
              {"likelihood_threshold", o->likelihood_threshold, 0, INFINITY, false, true},
              {"reproj_thresh", o->reproj_thresh, 0, INFINITY, true, true},
              {"lm_iters", (double)o->lm_iters, 0, 10000, false, false},
              {"min_cameras", (double)o->min_cameras, 2, MF_TRI_MAX_VIEWS, false, false}};
  for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
    double v = nums[i].v;
    bool ok = isfinite(v) && (nums[i].lo_open ? v > nums[i].lo : v >= nums[i].lo) &&
              (nums[i].hi_open ? v < nums[i].hi : v <= nums[i].hi);
    if (!ok && isinf(nums[i].hi))
      return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "triangulation option %s = %g: must be a finite number %s %g",
                         nums[i].name, v, nums[i].lo_open ? ">" : ">=", nums[i].lo);
    if (!ok)
      return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "triangulation option %s = %g: must be in %s%g, %g%s", nums[i].name,
                         v, nums[i].lo_open ? "(" : "[", nums[i].lo, nums[i].hi, nums[i].hi_open ? ")" : "]");
  }
  if (o->max_subsets < 1) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "triangulation option max_subsets must be >= 1");
  if (o->method != MHRFIT_TRI_DEFAULT && o->method != MHRFIT_TRI_POSE2SIM)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "triangulation option method: unknown value %d", (int)o->method);
  if (o->score_type != MHRFIT_SCORE_MEDIAN && o->score_type != MHRFIT_SCORE_TRIMMED &&
      o->score_type != MHRFIT_SCORE_HUBER)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "triangulation option score_type: unknown value %d", (int)o->score_type);
  return true;
}

mhrfit_triangulator *mhrfit_triangulator_new(const mhrfit_camera *cams, size_t n_views, size_t max_keypoints,
                                             const mhrfit_tri_options *opts, mhrfit_error *err) {
  if (n_views < 2 || n_views > MF_TRI_MAX_VIEWS) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "triangulation needs 2 to %d cameras, got %zu", MF_TRI_MAX_VIEWS, n_views);
    return NULL;
  }
  mhrfit_tri_options o;
  if (opts) o = *opts;
  else mhrfit_tri_options_default(&o);
  if (!mhrfit_tri_options_check(&o, err)) return NULL;
  mhrfit_triangulator *t = calloc(1, sizeof *t);
  if (!t) {
    MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
    return NULL;
  }
  t->o = o;
  t->cos_min_angle = cos(o.min_angle_deg * (3.14159265358979323846 / 180.0));
  t->n_views = n_views;
  t->max_kp = max_keypoints;
  for (size_t v = 0; v < n_views; v++) {
    t->cams[v] = cams[v];
    t->kind[v] = mf_camera_kind(&cams[v]);
    const double *R = cams[v].R, *tr = cams[v].t, *K = cams[v].K;
    for (int r = 0; r < 3; r++) {
      for (int c = 0; c < 3; c++) t->P_norm[v][4 * r + c] = R[3 * r + c];
      t->P_norm[v][4 * r + 3] = tr[r];
    }
    for (int r = 0; r < 3; r++)
      for (int c = 0; c < 4; c++)
        t->P_pix[v][4 * r + c] = K[3 * r] * t->P_norm[v][c] + K[3 * r + 1] * t->P_norm[v][4 + c] +
                                 K[3 * r + 2] * t->P_norm[v][8 + c];
    mhrfit_camera_center(&cams[v], t->centre[v]);
  }
  return t;
}

void mhrfit_triangulator_free(mhrfit_triangulator *t) { free(t); }

bool mhrfit_triangulator_process(mhrfit_triangulator *t, size_t n_kp, const double *uv, const double *conf,
                                 mhrfit_tri_result *out, mhrfit_error *err) {
  if (n_kp > t->max_kp)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "frame has %zu keypoints, the triangulator was made for %zu", n_kp,
                       t->max_kp);
  if (!out || !out->points) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "no output array for the points");
  size_t V = t->n_views;
  bool pose2sim = t->o.method == MHRFIT_TRI_POSE2SIM, refine = t->o.lm_iters > 0;
  /* Keypoints go in groups: the default method's refinements of a group run together
   * (mf_point_lm_n()), each with the same steps and results as alone. */
  mf_tri_point pts[MF_TRI_LM_GROUP];
  for (size_t k0 = 0; k0 < n_kp; k0 += MF_TRI_LM_GROUP) {
    size_t m = n_kp - k0 < MF_TRI_LM_GROUP ? n_kp - k0 : MF_TRI_LM_GROUP;
    bool started[MF_TRI_LM_GROUP], lm_ok[MF_TRI_LM_GROUP];
    const double *g_uv[MF_TRI_LM_GROUP];
    const bool *g_use[MF_TRI_LM_GROUP];
    double *g_X[MF_TRI_LM_GROUP], *g_err[MF_TRI_LM_GROUP];
    size_t g_idx[MF_TRI_LM_GROUP], n_lm = 0;
    for (size_t i = 0; i < m; i++) {
      size_t k = k0 + i;
      mf_tri_point *p = &pts[i];
      for (int j = 0; j < 3; j++) p->X[j] = p->X_init[j] = NAN;
      for (size_t v = 0; v < V; v++) {
        p->in[v] = false;
        p->err[v] = NAN;
      }
      p->n_used = 0;
      p->reason = MHRFIT_TRI_NO_VIEWS;
      const double *kuv = uv + 2 * V * k, *kconf = conf ? conf + V * k : NULL;
      started[i] = false;
      if (pose2sim) {
        mf_tri_pose2sim_point(t, kuv, kconf, p);
      } else if ((started[i] = mf_tri_default_start(t, kuv, kconf, p)) && refine) {
        g_uv[n_lm] = kuv;
        g_use[n_lm] = p->in;
        g_X[n_lm] = p->X;
        g_err[n_lm] = p->err;
        g_idx[n_lm++] = i;
      }
    }
    bool g_ok[MF_TRI_LM_GROUP];
    if (n_lm > 0) mf_point_lm_n(t, n_lm, g_uv, g_use, g_X, g_err, g_ok);
    for (size_t i = 0; i < m; i++) lm_ok[i] = false;
    for (size_t j = 0; j < n_lm; j++) lm_ok[g_idx[j]] = g_ok[j];
    for (size_t i = 0; i < m; i++) {
      size_t k = k0 + i;
      mf_tri_point *p = &pts[i];
      if (started[i]) mf_tri_default_finish(t, uv + 2 * V * k, p, refine, lm_ok[i]);
      if (p->reason != MHRFIT_TRI_OK) {
        for (int j = 0; j < 3; j++) p->X[j] = p->X_init[j] = NAN;
        for (size_t v = 0; v < V; v++) p->in[v] = false;
        p->n_used = 0;
      }
      memcpy(out->points + 3 * k, p->X, sizeof p->X);
      if (out->points_init) memcpy(out->points_init + 3 * k, p->X_init, sizeof p->X_init);
      for (size_t v = 0; v < V; v++) {
        if (out->inliers) out->inliers[V * k + v] = p->in[v];
        if (out->reproj_err) out->reproj_err[V * k + v] = p->err[v];
      }
      if (out->n_views_used) out->n_views_used[k] = p->n_used;
      if (out->reason) out->reason[k] = (int32_t)p->reason;
    }
  }
  return true;
}
