/* Accuracy of a pipeline run on a demo capture against its ground truth (demo.h, demo_eval). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "common/path.h"
#include "mhrfit/array.h"
#include "mhrfit/demo.h"
#include "mhrfit/fit_io.h"
#include "mhrfit/json.h"
#include "mhrfit/npy.h"
#include "mhrfit/triangulate.h"
#include "mhrfit/value.h"

#define N_KP 70
#define LOWER_FIRST 9 /* MHR70 left_hip .. right_heel */
#define LOWER_LAST 20

typedef struct truth {
  size_t F, standing;
  double *kp;    /* F x 70 x 3, metres */
  char (*frame)[32];
} truth;

static void truth_free(truth *t) {
  free(t->kp);
  free(t->frame);
}

static bool load_truth(const char *dir, truth *t, mhrfit_error *err) {
  char *path = mf_path_join(dir, "ground_truth.npz", err);
  if (!path) return false;
  bool ok = false;
  mhrfit_value *gt = mhrfit_npz_load(path, NULL, err);
  if (!gt) goto done;
  const mhrfit_value *k = mhrfit_value_dict_get(gt, "keypoints_3d");
  const mhrfit_value *fr = mhrfit_value_dict_get(gt, "frames");
  const mhrfit_value *st = mhrfit_value_dict_get(gt, "standing_frames");
  if (!k || k->kind != MHRFIT_V_ARRAY || !fr || fr->kind != MHRFIT_V_ARRAY || !st || st->kind != MHRFIT_V_ARRAY) {
    MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "%s: needs members keypoints_3d, frames and standing_frames", path);
    goto done;
  }
  const mhrfit_array *ka = k->u.array, *fa = fr->u.array;
  if (ka->ndim != 3 || ka->shape[1] != N_KP || ka->shape[2] != 3 || !mhrfit_dtype_is_numeric(ka->dtype) ||
      fa->ndim != 1 || fa->shape[0] != ka->shape[0] || st->u.array->count != 1) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: keypoints_3d must be (F,70,3) numbers with F frame names", path);
    goto done;
  }
  t->F = ka->shape[0];
  double s = mhrfit_array_get_f64(st->u.array, 0);
  t->standing = s > 0 && s <= (double)t->F ? (size_t)s : 0;
  t->kp = mf_malloc_array(t->F * N_KP * 3, sizeof *t->kp, err);
  t->frame = mf_malloc_array(t->F, sizeof *t->frame, err);
  if (!t->kp || !t->frame) goto done;
  for (size_t i = 0; i < t->F * N_KP * 3; i++)
    if (!isfinite(t->kp[i] = mhrfit_array_get_f64(ka, i))) {
      MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: member 'keypoints_3d': element %zu is not finite", path, i);
      goto done;
    }
  for (size_t f = 0; f < t->F; f++)
    if (!mhrfit_array_get_string(fa, f, t->frame[f], sizeof t->frame[f], err)) {
      mhrfit_error_prefix(err, "%s: member 'frames'", path);
      goto done;
    }
  ok = true;
done:
  mhrfit_value_free(gt);
  free(path);
  return ok;
}

static double dist_mm(const double *a, const double *b) {
  return 1000.0 * sqrt((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) + (a[2] - b[2]) * (a[2] - b[2]));
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Order statistic q in [0, 1] of sorted v (linear interpolation, as numpy's default). */
static double quantile(const double *v, size_t n, double q) {
  if (!n) return NAN;
  double pos = q * (double)(n - 1);
  size_t i = (size_t)pos;
  if (i + 1 >= n) return v[n - 1];
  return v[i] + (pos - (double)i) * (v[i + 1] - v[i]);
}

static bool eval_triangulation(const char *run_dir, const truth *t, mhrfit_demo_accuracy *acc, mhrfit_error *err) {
  double *d = mf_malloc_array(t->F * N_KP + 1, sizeof *d, err);
  if (!d) return false;
  size_t n = 0;
  double sum = 0, worst = 0;
  bool ok = false;
  acc->tri_worst_frame = -1;
  acc->tri_worst_kp = -1;
  for (size_t f = 0; f < t->F; f++) {
    char path[4200];
    snprintf(path, sizeof path, "%s/triangulation/%s/triangulated.npz", run_dir, t->frame[f]);
    if (!mf_is_file(path)) continue;
    mhrfit_tri_archive *a = mhrfit_tri_archive_load(path, err);
    if (!a) goto done;
    if (a->n_frames != 1 || a->n_kp > N_KP) { /* one frame of at most 70 points: d has room for them */
      MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: %zu frames x %zu points, expected one frame of at most %d points", path,
                  a->n_frames, a->n_kp, N_KP);
      mhrfit_tri_archive_free(a);
      goto done;
    }
    acc->tri_frames++;
    for (size_t i = 0; i < a->n_kp; i++) {
      int k = a->subset_idx[i];
      const double *p = a->points + 3 * i;
      if (k < 0 || k >= N_KP) continue;
      if (!isfinite(p[0]) || !isfinite(p[1]) || !isfinite(p[2])) {
        acc->tri_nan_points++;
        continue;
      }
      d[n] = dist_mm(p, t->kp + (N_KP * f + (size_t)k) * 3);
      acc->tri_over_50mm += d[n] > 50.0;
      if (acc->tri_worst_frame < 0 || d[n] > worst) {
        worst = d[n];
        acc->tri_worst_frame = (long)f;
        acc->tri_worst_kp = k;
      }
      sum += d[n++];
    }
    mhrfit_tri_archive_free(a);
  }
  qsort(d, n, sizeof *d, cmp_double);
  acc->tri_points = n;
  acc->tri_mean_mm = n ? sum / (double)n : NAN;
  acc->tri_median_mm = quantile(d, n, 0.5);
  acc->tri_p95_mm = quantile(d, n, 0.95);
  acc->tri_max_mm = n ? d[n - 1] : NAN;
  ok = true;
done:
  free(d);
  return ok;
}

static bool valid_status(const char *s) { return strcmp(s, "ok") == 0 || strncmp(s, "recovered", 9) == 0; }

static double frame_error_mm(const mhrfit_fit_archive *a, const truth *t, size_t f) {
  double s = 0;
  size_t n = 0;
  for (size_t k = 0; k < N_KP; k++) {
    const double *p = a->keypoints + (N_KP * f + k) * 3;
    if (!isfinite(p[0]) || !isfinite(p[1]) || !isfinite(p[2])) continue;
    s += dist_mm(p, t->kp + (N_KP * f + k) * 3);
    n++;
  }
  return n ? s / (double)n : NAN;
}

static bool eval_fit(const char *path, const truth *t, bool required, mhrfit_demo_fit_accuracy *out, bool *frozen,
                     mhrfit_error *err) {
  out->mpjpe_mm = out->mpjpe_standing_mm = out->mpjpe_recovered_mm = out->accel_err_mm = out->lower_jitter_mm = NAN;
  if (!required && !mf_is_file(path)) return true;
  mhrfit_fit_archive *a = mhrfit_fit_archive_load(path, err);
  if (!a) return false;
  if (a->n_frames != t->F) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: %zu frames, the capture has %zu", path, a->n_frames, t->F);
    mhrfit_fit_archive_free(a);
    return false;
  }
  out->present = true;
  if (frozen) *frozen = a->freeze_lower_body;
  double all = 0, stand = 0, rec = 0, jit = 0;
  size_t n_all = 0, n_stand = 0, n_rec = 0, n_jit = 0;
  for (size_t f = 0; f < t->F; f++) {
    if (!valid_status(a->status[f])) continue;
    double e = frame_error_mm(a, t, f);
    if (!isfinite(e)) continue;
    if (strcmp(a->status[f], "ok") != 0) {
      rec += e, n_rec++;
    } else {
      all += e, n_all++;
      if (f < t->standing) stand += e, n_stand++;
    }
    if (f == 0 || f >= t->standing || !valid_status(a->status[f - 1])) continue;
    for (size_t k = LOWER_FIRST; k <= LOWER_LAST; k++) {
      const double *p = a->keypoints + (N_KP * f + k) * 3, *q = p - N_KP * 3;
      if (!isfinite(p[0] + p[1] + p[2]) || !isfinite(q[0] + q[1] + q[2])) continue;
      jit += dist_mm(p, q), n_jit++;
    }
  }
  double acc_sum = 0;
  size_t n_acc = 0;
  for (size_t f = 1; f + 1 < t->F; f++) {
    if (!valid_status(a->status[f - 1]) || !valid_status(a->status[f]) || !valid_status(a->status[f + 1])) continue;
    for (size_t k = 0; k < N_KP; k++) {
      const double *p = a->keypoints + (N_KP * f + k) * 3, *g = t->kp + (N_KP * f + k) * 3;
      double e[3];
      bool fin = true;
      for (int c = 0; c < 3; c++) {
        double ap = p[c + N_KP * 3] - 2 * p[c] + p[c - N_KP * 3];
        double ag = g[c + N_KP * 3] - 2 * g[c] + g[c - N_KP * 3];
        e[c] = ap - ag;
        fin = fin && isfinite(e[c]);
      }
      if (!fin) continue;
      acc_sum += 1000.0 * sqrt(e[0] * e[0] + e[1] * e[1] + e[2] * e[2]);
      n_acc++;
    }
  }
  if (n_acc) out->accel_err_mm = acc_sum / (double)n_acc;
  out->n_frames_compared = n_all;
  out->n_frames_recovered = n_rec;
  if (n_all) out->mpjpe_mm = all / (double)n_all;
  if (n_rec) out->mpjpe_recovered_mm = rec / (double)n_rec;
  if (n_stand) out->mpjpe_standing_mm = stand / (double)n_stand;
  if (n_jit) out->lower_jitter_mm = jit / (double)n_jit;
  mhrfit_fit_archive_free(a);
  return true;
}

static double num_or_nan(const mhrfit_value *d, const char *key) {
  const mhrfit_value *v = d ? mhrfit_value_dict_get(d, key) : NULL;
  return v && mhrfit_value_is_number(v) ? mhrfit_value_as_double(v) : NAN;
}

static bool eval_summary(const char *run_dir, mhrfit_demo_accuracy *acc, mhrfit_error *err) {
  char *path = mf_path_join(run_dir, "sequence_summary.json", err);
  if (!path) return false;
  mhrfit_value *s = mhrfit_json_load(path, err);
  free(path);
  if (!s) return false;
  const mhrfit_value *c = mhrfit_value_dict_get(s, "status_counts");
  if (c && c->kind == MHRFIT_V_DICT)
    for (size_t i = 0; i < c->u.dict.count && acc->n_status < MHRFIT_DEMO_MAX_STATUS; i++) {
      if (!mhrfit_value_is_number(c->u.dict.vals[i])) continue;
      snprintf(acc->status_name[acc->n_status], sizeof acc->status_name[0], "%s", c->u.dict.keys[i]);
      acc->status_count[acc->n_status++] = (size_t)mhrfit_value_as_double(c->u.dict.vals[i]);
    }
  const mhrfit_value *tm = mhrfit_value_dict_get(s, "timing");
  acc->time_ingest_s = num_or_nan(tm, "ingest_s");
  acc->time_triangulate_s = num_or_nan(tm, "triangulate_s");
  acc->time_fit_s = num_or_nan(tm, "fit_s");
  acc->time_sequence_s = num_or_nan(tm, "recover_smooth_s");
  acc->time_total_s = num_or_nan(tm, "total_s");
  mhrfit_value_free(s);
  return true;
}

bool mhrfit_demo_evaluate(const char *capture_dir, const char *run_dir, mhrfit_demo_accuracy *acc,
                          mhrfit_error *err) {
  if (!capture_dir || !run_dir || !acc) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "demo evaluate: NULL argument");
  memset(acc, 0, sizeof *acc);
  truth t = {0};
  bool ok = false;
  char *fit = NULL, *smooth = NULL;
  if (!load_truth(capture_dir, &t, err)) goto done;
  acc->n_frames = t.F;
  acc->standing_frames = t.standing;
  fit = mf_path_join(run_dir, "sequence_fit.npz", err);
  smooth = mf_path_join(run_dir, "sequence_smoothed.npz", err);
  if (!fit || !smooth) goto done;
  ok = eval_summary(run_dir, acc, err) && eval_triangulation(run_dir, &t, acc, err) &&
       eval_fit(fit, &t, true, &acc->fitted, &acc->freeze_lower_body, err) &&
       eval_fit(smooth, &t, false, &acc->smoothed, NULL, err);
done:
  free(fit);
  free(smooth);
  truth_free(&t);
  return ok;
}
