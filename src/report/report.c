/* The report of a run: reading the run folder into memory (what the page shows). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/file.h"
#include "common/mem.h"
#include "common/outguard.h"
#include "common/path.h"
#include "export/export_internal.h"
#include "mhrfit/calib.h"
#include "mhrfit/export.h"
#include "mhrfit/layout.h"
#include "mhrfit/json.h"
#include "mhrfit/npy.h"
#include "mhrfit/observations.h"
#include "mhrfit/triangulate.h"
#include "report/report_internal.h"

/* Members of the sequence archives and fit.npz the report never reads. */
static const char *const fit_skip[] = {
    "pred_vertices", "pred_global_rots", "pred_joint_coords", "opt_loss_hist", "opt_data_loss_hist",
    "mhr_model_params", "body_pose_params", "hand_pose_params", "scale_params", "shape_params",
    "opt_sim_scale", "opt_sim_R", "opt_sim_t", "opt_sim_scale_fit", "opt_sim_R_fit", "opt_sim_t_fit",
    "opt_points3d_refined", "opt_residuals_m", "opt_cam_scores_3d_m", "opt_view_skipped", NULL};
/* Members of a stage-1 file other than the 2-D keypoints. */
static const char *const stage1_skip[] = {
    "bbox", "focal_length", "pred_keypoints_3d", "pred_cam_t", "pred_pose_raw", "global_rot", "body_pose_params",
    "hand_pose_params", "scale_params", "shape_params", "expr_params", "pred_joint_coords", "pred_global_rots",
    "mhr_model_params", "lhand_bbox", "rhand_bbox", "pred_vertices", NULL};

bool mf_report_note(mhrfit_report *r, mhrfit_error *err, const char *fmt, ...) {
  char text[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  char **n = realloc(r->notes, (r->n_notes + 1) * sizeof *n);
  if (!n) return MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
  r->notes = n;
  if (!(n[r->n_notes] = mf_strdup(text, err))) return false;
  r->n_notes++;
  return true;
}

/* Records a file the report read (or tried to) and its state, for the page's table. */
static bool file_state(mhrfit_report *r, const char *file, const char *state, mhrfit_error *err) {
  char **f = realloc(r->files, (r->n_files + 2) * sizeof *f);
  if (!f) return MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
  r->files = f;
  f[r->n_files] = mf_strdup(file, err);
  f[r->n_files + 1] = mf_strdup(state, err);
  if (!f[r->n_files] || !f[r->n_files + 1]) {
    free(f[r->n_files]);
    free(f[r->n_files + 1]);
    return false;
  }
  r->n_files += 2;
  return true;
}

static float *nan_floats(size_t n, mhrfit_error *err) {
  float *p = mf_malloc_array(n ? n : 1, sizeof *p, err);
  if (p)
    for (size_t i = 0; i < n; i++) p[i] = NAN;
  return p;
}

/* ------------------------------------------------------------------ small value helpers */

static const char *dict_str(const mhrfit_value *d, const char *key) {
  const mhrfit_value *v = mhrfit_value_dict_get(d, key);
  return v && v->kind == MHRFIT_V_STRING ? v->u.str.data : NULL;
}

static double dict_num(const mhrfit_value *d, const char *key) {
  const mhrfit_value *v = mhrfit_value_dict_get(d, key);
  return v && mhrfit_value_is_number(v) ? mhrfit_value_as_double(v) : NAN;
}

/* The numeric array `key` of an npz dict if its shape matches (−1 = any), else NULL. */
static const mhrfit_array *npz_num(const mhrfit_value *d, const char *key, int ndim, const long *shape) {
  const mhrfit_value *v = mhrfit_value_dict_get(d, key);
  if (!v || v->kind != MHRFIT_V_ARRAY || !mhrfit_dtype_is_numeric(v->u.array->dtype)) return NULL;
  return mhrfit_array_has_shape(v->u.array, ndim, shape) ? v->u.array : NULL;
}

/* The string array `key` of an npz dict with `n` elements (any rank ≤ 1), else NULL. */
static const mhrfit_array *npz_strings(const mhrfit_value *d, const char *key, size_t n) {
  const mhrfit_value *v = mhrfit_value_dict_get(d, key);
  if (!v || v->kind != MHRFIT_V_ARRAY) return NULL;
  const mhrfit_array *a = v->u.array;
  if (a->dtype != MHRFIT_DT_UNICODE && a->dtype != MHRFIT_DT_BYTES) return NULL;
  return a->count == n && a->ndim <= 1 ? a : NULL;
}

/* ------------------------------------------------------------------ the run's JSON files */

static bool load_json(mhrfit_report *r, const char *name, mhrfit_value **out, mhrfit_error *err) {
  char *path = mf_path_join(r->run_dir, name, err);
  if (!path) return false;
  bool ok = true;
  if (!mf_is_file(path)) {
    ok = mf_report_note(r, err, "%s is missing", name) && file_state(r, name, "missing", err);
  } else {
    mhrfit_error e = {0};
    *out = mhrfit_json_load(path, &e);
    if (*out && (*out)->kind != MHRFIT_V_DICT) {
      MHRFIT_FAIL(&e, MHRFIT_ERR_FORMAT, "%s: not a JSON object", path);
      mhrfit_value_free(*out);
      *out = NULL;
    }
    if (!*out) ok = mf_report_note(r, err, "%s could not be read: %s", name, e.message) &&
                    file_state(r, name, "unreadable", err);
    else ok = file_state(r, name, "read", err);
  }
  free(path);
  return ok;
}

/* ------------------------------------------------------------------ sequence archives */

typedef struct seq_archive {
  mhrfit_value *v;
  size_t F;
  const mhrfit_array *kp, *status, *message, *best, *best_data, *cams;
} seq_archive;

/* Reads a sequence archive (or NULL when absent or unusable, with a note). */
static bool load_seq(mhrfit_report *r, const char *name, seq_archive *s, mhrfit_error *err) {
  memset(s, 0, sizeof *s);
  char *path = mf_path_join(r->run_dir, name, err);
  if (!path) return false;
  bool ok = true;
  if (!mf_is_file(path)) {
    ok = file_state(r, name, "missing", err);
    free(path);
    return ok;
  }
  mhrfit_error e = {0};
  mhrfit_npy_limits lim = {0};
  lim.skip_members = fit_skip;
  s->v = mhrfit_npz_load(path, &lim, &e);
  free(path);
  if (!s->v)
    return mf_report_note(r, err, "%s could not be read: %s", name, e.message) && file_state(r, name, "unreadable", err);
  const long kp_shape[3] = {-1, -1, 3};
  s->kp = npz_num(s->v, "pred_keypoints_3d", 3, kp_shape);
  if (!s->kp || s->kp->shape[1] < 1 || s->kp->shape[1] > MHRFIT_KEYPOINTS_MAX) {
    mhrfit_value_free(s->v);
    s->v = NULL;
    return mf_report_note(r, err, "%s: no pred_keypoints_3d of shape (frames, keypoints, 3); not used", name) &&
           file_state(r, name, "unusable", err);
  }
  s->F = s->kp->shape[0];
  const long f_shape[1] = {(long)s->F};
  s->status = npz_strings(s->v, "opt_status", s->F);
  s->message = npz_strings(s->v, "opt_message", s->F);
  s->best = npz_num(s->v, "opt_best_loss", 1, f_shape);
  s->best_data = npz_num(s->v, "opt_best_data_loss", 1, f_shape);
  const mhrfit_value *c = mhrfit_value_dict_get(s->v, "opt_cams");
  if (c && c->kind == MHRFIT_V_ARRAY && c->u.array->ndim == 1 &&
      (c->u.array->dtype == MHRFIT_DT_UNICODE || c->u.array->dtype == MHRFIT_DT_BYTES))
    s->cams = c->u.array;
  char state[64];
  snprintf(state, sizeof state, "read (%zu frames)", s->F);
  return file_state(r, name, state, err);
}

/* The keypoint set shown (see report.h): the sequence archives' (MHR70, or a detector run's K
 * keypoints named by their `keypoint_names`), else the layout pipeline_config.json names, else
 * MHR70; an archive of another count is not used. */
static bool keypoint_set(mhrfit_report *r, seq_archive *fit, seq_archive *smooth, mhrfit_error *err) {
  r->detector = dict_str(r->config, "input_format") != NULL;
  const char *lname = dict_str(r->config, "layout");
  const mhrfit_layout *cfg_lay = mhrfit_layout_get(lname ? lname : "mhr70", NULL);
  seq_archive *a = smooth->v ? smooth : fit->v ? fit : NULL, *b = a == smooth ? fit : smooth;
  size_t K = a ? a->kp->shape[1] : cfg_lay ? cfg_lay->count : 70;
  if (a && b->v && b->kp->shape[1] != K) {
    if (!mf_report_note(r, err, "%s holds %ld keypoints, %s %zu: not used", b == fit ? "sequence_fit.npz" :
                        "sequence_smoothed.npz", b->kp->shape[1], a == fit ? "sequence_fit.npz" : "sequence_smoothed.npz", K))
      return false;
    mhrfit_value_free(b->v);
    b->v = NULL;
  }
  const mhrfit_array *kn = a ? npz_strings(a->v, "keypoint_names", K) : NULL;
  const mhrfit_layout *mhr70 = mhrfit_layout_get("mhr70", NULL);
  const mhrfit_layout *known = cfg_lay && cfg_lay->count == K ? cfg_lay : mhr70 && K == mhr70->count ? mhr70 : NULL;
  r->K = K;
  if (!(r->kp_names = mf_calloc_array(K, sizeof *r->kp_names, err))) return false;
  for (size_t k = 0; k < K; k++) {
    char name[MHRFIT_KEYPOINT_NAME_MAX + 1];
    if (!kn || !mhrfit_array_get_string(kn, k, name, sizeof name, NULL))
      snprintf(name, sizeof name, "%s", known ? known->names[k] : "");
    if (!name[0]) snprintf(name, sizeof name, "kp_%zu", k);
    if (!(r->kp_names[k] = mf_strdup(name, err))) return false;
  }
  r->layout = mhrfit_layout_match((const char *const *)r->kp_names, K);
  return true;
}

/* ------------------------------------------------------------------ frames and cameras */

static bool alloc_frames(mhrfit_report *r, size_t F, mhrfit_error *err) {
  r->F = F;
  r->frames = mf_calloc_array(F ? F : 1, sizeof *r->frames, err);
  r->status = mf_calloc_array(F ? F : 1, sizeof *r->status, err);
  r->messages = mf_calloc_array(F ? F : 1, sizeof *r->messages, err);
  return r->frames && r->status && r->messages;
}

static bool set_message(mhrfit_report *r, size_t f, const char *m, mhrfit_error *err) {
  if (!m || !*m) return true;
  free(r->messages[f]);
  return (r->messages[f] = mf_strdup(m, err)) != NULL;
}

/* Frame names and statuses: the summary, else a sequence archive, else the frame folders. */
static bool read_frames(mhrfit_report *r, const seq_archive *seq, mhrfit_error *err) {
  const mhrfit_value *fr = mhrfit_value_dict_get(r->summary, "frames");
  if (fr && fr->kind == MHRFIT_V_LIST && fr->u.list.count) {
    size_t F = fr->u.list.count;
    if (!alloc_frames(r, F, err)) return false;
    for (size_t f = 0; f < F; f++) {
      const mhrfit_value *e = fr->u.list.items[f];
      const char *name = dict_str(e, "frame"), *st = dict_str(e, "status");
      if (name) snprintf(r->frames[f], sizeof r->frames[f], "%s", name);
      else snprintf(r->frames[f], sizeof r->frames[f], "%06zu", f);
      snprintf(r->status[f], sizeof r->status[f], "%s", st ? st : "unknown");
      if (!set_message(r, f, dict_str(e, "message"), err)) return false;
      if (r->loss) r->loss[f] = (float)dict_num(e, "best_loss");
      if (r->data_loss) r->data_loss[f] = (float)dict_num(e, "best_data_loss");
    }
    return true;
  }
  if (seq->v) {
    if (!alloc_frames(r, seq->F, err)) return false;
    /* the first frame-folder listing with one folder per frame names the frames */
    mf_names dirs = {0};
    static const char *const subs[] = {"fit", "stage1", "triangulation"};
    for (size_t i = 0; i < 3 && dirs.count != seq->F; i++) {
      mf_names_free(&dirs);
      mhrfit_error e = {0};
      char *p = mf_path_join(r->run_dir, subs[i], err);
      if (!p) return false;
      if (mf_is_dir(p) && !mf_list_dir(p, NULL, true, &dirs, &e)) dirs.count = 0;
      free(p);
    }
    bool named = dirs.count == seq->F;
    for (size_t f = 0; f < seq->F; f++) {
      if (named) snprintf(r->frames[f], sizeof r->frames[f], "%s", dirs.items[f]);
      else snprintf(r->frames[f], sizeof r->frames[f], "%06zu", f);
      snprintf(r->status[f], sizeof r->status[f], "unknown");
      if (seq->status) mhrfit_array_get_string(seq->status, f, r->status[f], sizeof r->status[f], NULL);
      if (seq->message) {
        char m[256] = "";
        mhrfit_array_get_string(seq->message, f, m, sizeof m, NULL);
        if (!set_message(r, f, m, err)) {
          mf_names_free(&dirs);
          return false;
        }
      }
    }
    mf_names_free(&dirs);
    return named || mf_report_note(r, err, "frame names unknown (no summary, and no fit/, stage1/ or triangulation/ "
                                          "with one folder per frame): frames are numbered 0..%zu", seq->F - 1);
  }
  /* The union of the frame folders of triangulation/ and fit/. */
  mf_names a = {0}, b = {0};
  const char *sub[2] = {"triangulation", "fit"};
  mf_names *lists[2] = {&a, &b};
  for (int i = 0; i < 2; i++) {
    char *p = mf_path_join(r->run_dir, sub[i], err);
    if (!p) return false;
    mhrfit_error e = {0};
    if (mf_is_dir(p)) mf_list_dir(p, NULL, true, lists[i], &e);
    free(p);
  }
  size_t cap = a.count + b.count;
  bool ok = alloc_frames(r, 0, err);
  if (ok && cap) {
    free(r->frames);
    free(r->status);
    free(r->messages);
    ok = alloc_frames(r, cap, err);
    size_t n = 0, i = 0, j = 0;
    while (ok && (i < a.count || j < b.count)) {
      const char *name;
      if (j >= b.count || (i < a.count && mf_natural_cmp(a.items[i], b.items[j]) < 0)) name = a.items[i++];
      else if (i >= a.count || mf_natural_cmp(a.items[i], b.items[j]) > 0) name = b.items[j++];
      else {
        name = a.items[i++];
        j++;
      }
      snprintf(r->frames[n], sizeof r->frames[n], "%s", name);
      snprintf(r->status[n], sizeof r->status[n], "unknown");
      n++;
    }
    r->F = n;
  }
  mf_names_free(&a);
  mf_names_free(&b);
  return ok;
}

static bool add_cam(mhrfit_report *r, const char *name, mhrfit_error *err) {
  for (size_t v = 0; v < r->V; v++)
    if (strcmp(r->cams[v].name, name) == 0) return true;
  mf_report_cam *c = realloc(r->cams, (r->V + 1) * sizeof *c);
  if (!c) return MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
  r->cams = c;
  memset(&c[r->V], 0, sizeof c[r->V]);
  snprintf(c[r->V].name, sizeof c[r->V].name, "%s", name);
  r->V++;
  return true;
}

/* Cameras: pipeline_config.json's `cams`, else the archive's, else the first triangulation's. */
static bool read_cams(mhrfit_report *r, const seq_archive *seq, mhrfit_error *err) {
  const mhrfit_value *cams = mhrfit_value_dict_get(r->config, "cams");
  if (cams && cams->kind == MHRFIT_V_LIST) {
    for (size_t i = 0; i < cams->u.list.count; i++)
      if (cams->u.list.items[i]->kind == MHRFIT_V_STRING && !add_cam(r, cams->u.list.items[i]->u.str.data, err))
        return false;
    if (r->V) return true;
  }
  if (seq->cams) {
    for (size_t i = 0; i < seq->cams->count; i++) {
      char name[MHRFIT_CAMERA_NAME_MAX];
      if (mhrfit_array_get_string(seq->cams, i, name, sizeof name, NULL) && !add_cam(r, name, err)) return false;
    }
    if (r->V) return true;
  }
  for (size_t f = 0; f < r->F; f++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/triangulation/%s/triangulated.npz", r->run_dir, r->frames[f]);
    if (!mf_is_file(path)) continue;
    mhrfit_error e = {0};
    mhrfit_tri_archive *t = mhrfit_tri_archive_load(path, &e);
    if (!t) continue;
    bool ok = true;
    for (size_t v = 0; ok && v < t->n_views; v++) ok = add_cam(r, t->cams[v], err);
    mhrfit_tri_archive_free(t);
    return ok;
  }
  return true;
}

/* Reads calibration `path` (NULL: none) and gives the report's cameras their parameters. */
static bool read_calib_file(mhrfit_report *r, const char *path, mhrfit_error *err) {
  if (!path) return r->V == 0 || mf_report_note(r, err, "no calibration (pipeline_config.json names none): "
                                                       "no camera frustums and no reprojections");
  mhrfit_calib_options co = {0};
  const mhrfit_value *inv = mhrfit_value_dict_get(r->config, "invert_extrinsics");
  co.invert_extrinsics = inv && inv->kind == MHRFIT_V_BOOL && inv->u.boolean;
  co.translation_unit = dict_str(r->config, "translation_unit");
  mhrfit_error e = {0};
  mhrfit_calib *cal = mhrfit_calib_load(path, &co, &e);
  if (!cal)
    return mf_report_note(r, err, "calibration %s could not be read (%s): no camera frustums and no reprojections (give the calibration explicitly)",
                          path, e.message) && file_state(r, path, "unreadable", err);
  if (!file_state(r, path, "read (calibration)", err)) {
    mhrfit_calib_free(cal);
    return false;
  }
  if (r->V == 0)
    for (size_t i = 0; i < cal->n_cams; i++)
      if (!add_cam(r, cal->cams[i].table[0] ? cal->cams[i].table : cal->cams[i].name, err)) {
        mhrfit_calib_free(cal);
        return false;
      }
  bool ok = true;
  for (size_t v = 0; ok && v < r->V; v++) {
    long i = mhrfit_calib_find(cal, r->cams[v].name);
    if (i < 0) ok = mf_report_note(r, err, "camera %s is not in calibration %s", r->cams[v].name, path);
    else {
      r->cams[v].cam = cal->cams[i];
      r->cams[v].calibrated = true;
    }
  }
  mhrfit_calib_free(cal);
  return ok;
}

/* The calibration: the option's file, else the one pipeline_config.json names (found as the
 * exporter finds it: mf_find_recorded()). */
static bool read_calib(mhrfit_report *r, mhrfit_error *err) {
  const char *recorded = r->opts.calib_path ? NULL : dict_str(r->config, "calib");
  char *found = NULL;
  if (recorded && !mf_find_recorded(recorded, r->run_dir, &found, err)) return false;
  bool ok = read_calib_file(r, r->opts.calib_path ? r->opts.calib_path : found ? found : recorded, err);
  free(found);
  return ok;
}

/* ------------------------------------------------------------------ per-frame files */

/* Lists frames in a note: "000012, 000013, … (N frames)". */
static bool note_frames(mhrfit_report *r, const char *what, const size_t *idx, size_t n, mhrfit_error *err) {
  if (!n) return true;
  char list[600] = "";
  size_t used = 0;
  for (size_t i = 0; i < n && i < 12; i++)
    used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", r->frames[idx[i]]);
  if (n > 12) snprintf(list + used, sizeof list - used, ", …");
  return mf_report_note(r, err, "%s: %zu frame%s (%s)", what, n, n == 1 ? "" : "s", list);
}

/* Frees the per-frame triangulation arrays (NULL afterwards: none shown). */
static void free_triangulations(mhrfit_report *r) {
  free(r->tri_points);
  free(r->tri_views);
  free(r->tri_reason);
  free(r->tri_inlier);
  free(r->tri_cam_err);
  free(r->n_points);
  r->tri_points = r->tri_cam_err = r->n_points = NULL;
  r->tri_views = r->tri_reason = r->tri_inlier = NULL;
}

/* True when a frame with this status should have a triangulation file. */
static bool expects_triangulation(const mhrfit_report *r, size_t f) {
  const mhrfit_value *fr = mhrfit_value_dict_get(r->summary, "frames");
  if (fr && fr->kind == MHRFIT_V_LIST && f < fr->u.list.count) {
    double n = dict_num(fr->u.list.items[f], "triangulated_points");
    if (isfinite(n)) return n > 0;
  }
  const char *s = r->status[f];
  return strcmp(s, "ok") == 0 || strcmp(s, "bad_loss") == 0 || strcmp(s, "optimization_failed") == 0;
}

static bool read_triangulations(mhrfit_report *r, mhrfit_error *err) {
  size_t F = r->F, V = r->V, K = r->K;
  r->tri_points = nan_floats(F * K * 3, err);
  r->tri_views = mf_calloc_array(F * K, 1, err);
  r->tri_reason = mf_malloc_array(F * K, 1, err);
  r->tri_inlier = mf_calloc_array(F * K * V, 1, err);
  r->tri_cam_err = nan_floats(F * V, err);
  r->n_points = nan_floats(F, err);
  size_t *missing = mf_calloc_array(F ? F : 1, sizeof *missing, err), n_missing = 0;
  size_t *bad = mf_calloc_array(F ? F : 1, sizeof *bad, err), n_bad = 0;
  if (!r->tri_points || !r->tri_views || !r->tri_reason || !r->tri_inlier || !r->tri_cam_err || !r->n_points ||
      !missing || !bad) {
    free(missing);
    free(bad);
    return false;
  }
  memset(r->tri_reason, 255, F * K);
  size_t n_read = 0;
  char first_error[MHRFIT_ERROR_MESSAGE_MAX] = "";
  for (size_t f = 0; f < F; f++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/triangulation/%s/triangulated.npz", r->run_dir, r->frames[f]);
    if (!mf_is_file(path)) {
      if (expects_triangulation(r, f)) missing[n_missing++] = f;
      continue;
    }
    mhrfit_error e = {0};
    mhrfit_tri_archive *t = mhrfit_tri_archive_load(path, &e);
    if (t && t->n_frames != 1) {
      MHRFIT_FAIL(&e, MHRFIT_ERR_FORMAT, "%s: %zu frames, expected one", path, t->n_frames);
      mhrfit_tri_archive_free(t);
      t = NULL;
    }
    if (!t) {
      if (!first_error[0]) snprintf(first_error, sizeof first_error, "%s", e.message);
      bad[n_bad++] = f;
      continue;
    }
    n_read++;
    long col[64];
    for (size_t v = 0; v < V; v++) {
      col[v] = -1;
      for (size_t c = 0; c < t->n_views && v < 64; c++)
        if (strcmp(t->cams[c], r->cams[v].name) == 0) col[v] = (long)c;
    }
    double sum[64] = {0};
    size_t cnt[64] = {0};
    size_t finite = 0;
    for (size_t i = 0; i < t->n_kp; i++) {
      int32_t k = t->subset_idx ? t->subset_idx[i] : (int32_t)i;
      if (k < 0 || (size_t)k >= K) continue;
      const double *p = t->points + 3 * i;
      size_t o = (f * K + (size_t)k);
      bool fin = isfinite(p[0]) && isfinite(p[1]) && isfinite(p[2]);
      if (fin) {
        for (int d = 0; d < 3; d++) r->tri_points[3 * o + d] = (float)p[d];
        finite++;
      }
      int32_t nv = t->n_views_used ? t->n_views_used[i] : 0;
      r->tri_views[o] = (uint8_t)(nv < 0 ? 0 : nv > 254 ? 254 : nv);
      int32_t rs = t->reason ? t->reason[i] : 0;
      r->tri_reason[o] = (uint8_t)(rs < 0 || rs > 254 ? 254 : rs);
      for (size_t v = 0; v < V && v < 64; v++) {
        if (col[v] < 0) continue;
        size_t c = (size_t)col[v];
        bool in = t->inliers[i * t->n_views + c] != 0;
        double er = t->reproj_err[i * t->n_views + c];
        r->tri_inlier[o * V + v] = in ? 1 : isfinite(er) ? 2 : 0;
        if (in && isfinite(er)) {
          sum[v] += er;
          cnt[v]++;
        }
      }
    }
    r->n_points[f] = (float)finite;
    for (size_t v = 0; v < V && v < 64; v++)
      if (cnt[v]) r->tri_cam_err[f * V + v] = (float)(sum[v] / (double)cnt[v]);
    mhrfit_tri_archive_free(t);
  }
  bool ok = true;
  if (n_read == 0) {
    free_triangulations(r);
    if (F) ok = mf_report_note(r, err, "no triangulation/<frame>/triangulated.npz could be read: no triangulated points");
  }
  char what[MHRFIT_ERROR_MESSAGE_MAX + 128];
  snprintf(what, sizeof what, "triangulation/<frame>/triangulated.npz missing");
  ok = ok && note_frames(r, what, missing, n_missing, err);
  snprintf(what, sizeof what, "triangulation/<frame>/triangulated.npz unreadable (first: %s)", first_error);
  ok = ok && note_frames(r, what, bad, n_bad, err);
  char state[96];
  snprintf(state, sizeof state, "%zu read, %zu missing, %zu unreadable", n_read, n_missing, n_bad);
  ok = ok && file_state(r, "triangulation/<frame>/triangulated.npz", state, err);
  free(missing);
  free(bad);
  return ok;
}

/* A detector run's 2-D keypoints, read again from its recorded input (mhrfit_observations_of_run();
 * OpenPose's undetected points, of confidence 0, are absent); frame names are the input's frame
 * numbers (Caliscope: its sync indices). */
static bool read_detector_2d(mhrfit_report *r, mhrfit_error *err) {
  size_t F = r->F, V = r->V, K = r->K;
  char **cams = NULL;
  size_t n_cams = 0;
  mhrfit_error e = {0};
  mhrfit_observations *obs = mhrfit_observations_of_run(r->config, r->run_dir, &cams, &n_cams, &e);
  if (!obs || obs->n_kp != K) {
    bool ok = e.type == MHRFIT_ERR_NOMEM ? (*err = e, false)
              : mf_report_note(r, err, "the detector's 2-D keypoints could not be read again (%s): none in the camera panels",
                               obs ? "another number of keypoints than the fit's" : e.message) &&
                    file_state(r, "2-D keypoints (the run's input)", "unreadable", err);
    mhrfit_observations_free(obs);
    mhrfit_names_free(cams, n_cams);
    return ok;
  }
  r->obs2d = nan_floats(F * V * K * 2, err);
  r->obs_present = mf_calloc_array(F * V + 1, 1, err);
  size_t n_read = 0;
  for (size_t f = 0; r->obs2d && r->obs_present && f < F; f++) {
    char *end;
    unsigned long long num = strtoull(r->frames[f], &end, 10);
    long t = -1;
    for (size_t i = 0; !*end && end != r->frames[f] && i < obs->n_frames && t < 0; i++)
      if (obs->frame_ids ? obs->frame_ids[i] >= 0 && (unsigned long long)obs->frame_ids[i] == num : i == num) t = (long)i;
    for (size_t v = 0; t >= 0 && v < V; v++)
      for (size_t c = 0; c < n_cams && c < obs->n_views; c++) {
        if (strcmp(cams[c], r->cams[v].name) != 0) continue;
        bool any = false;
        for (size_t k = 0; k < K; k++) {
          size_t i = ((size_t)t * K + k) * obs->n_views + c;
          if (obs->conf && !(obs->conf[i] > 0)) continue;
          double x = obs->uv[2 * i], y = obs->uv[2 * i + 1];
          if (!isfinite(x) || !isfinite(y)) continue;
          r->obs2d[((f * V + v) * K + k) * 2] = (float)x;
          r->obs2d[((f * V + v) * K + k) * 2 + 1] = (float)y;
          any = true;
        }
        r->obs_present[f * V + v] = any;
        n_read += any;
      }
  }
  bool ok = r->obs2d && r->obs_present;
  char state[96];
  snprintf(state, sizeof state, "read (%s, %zu views with keypoints)", obs->format, n_read);
  mhrfit_observations_free(obs);
  mhrfit_names_free(cams, n_cams);
  return ok && file_state(r, "2-D keypoints (the run's input)", state, err);
}

/* SAM 3D Body's 2-D keypoints from the stage-1 files (a detector run: its input's). */
static bool read_stage1(mhrfit_report *r, mhrfit_error *err) {
  size_t F = r->F, V = r->V, K = r->K;
  if (!V || !F) return true;
  if (r->detector) return read_detector_2d(r, err);
  char *dir = mf_path_join(r->run_dir, "stage1", err);
  if (!dir) return false;
  bool present = mf_is_dir(dir);
  free(dir);
  if (!present)
    return mf_report_note(r, err, "stage1/ is missing: no SAM 3D Body 2-D keypoints in the camera panels") &&
           file_state(r, "stage1/<frame>/<cam>.npz", "missing", err);
  r->obs2d = nan_floats(F * V * K * 2, err);
  r->obs_present = mf_calloc_array(F * V, 1, err);
  if (!r->obs2d || !r->obs_present) return false;
  mhrfit_npy_limits lim = {0};
  lim.skip_members = stage1_skip;
  const long shape[2] = {(long)K, 2};
  size_t n_read = 0, n_bad = 0;
  char first_error[MHRFIT_ERROR_MESSAGE_MAX] = "";
  for (size_t f = 0; f < F; f++) {
    char fdir[4096];
    snprintf(fdir, sizeof fdir, "%s/stage1/%s", r->run_dir, r->frames[f]);
    for (size_t v = 0; v < V; v++) {
      mhrfit_error e = {0};
      char *path = mf_camera_file(fdir, r->cams[v].name, &e);
      if (!path) {
        if (e.type == MHRFIT_ERR_NOMEM) {
          *err = e;
          return false;
        }
        continue;
      }
      mhrfit_value *d = mhrfit_numpy_load(path, &lim, &e);
      const mhrfit_array *a = d ? npz_num(d, "pred_keypoints_2d", 2, shape) : NULL;
      if (d && !a) MHRFIT_FAIL(&e, MHRFIT_ERR_FORMAT, "%s: no pred_keypoints_2d of shape (%zu, 2)", path, K);
      if (!a) {
        n_bad++;
        if (!first_error[0]) snprintf(first_error, sizeof first_error, "%s", e.message);
      } else {
        float *o = r->obs2d + ((f * V + v) * K) * 2;
        for (size_t i = 0; i < K * 2; i++) {
          double x = mhrfit_array_get_f64(a, i);
          o[i] = isfinite(x) ? (float)x : NAN;
        }
        r->obs_present[f * V + v] = 1;
        n_read++;
      }
      mhrfit_value_free(d);
      free(path);
    }
  }
  char state[96];
  snprintf(state, sizeof state, "%zu read, %zu unreadable", n_read, n_bad);
  if (!file_state(r, "stage1/<frame>/<cam>.npz", state, err)) return false;
  return n_bad == 0 || mf_report_note(r, err, "%zu stage-1 file(s) unreadable (first: %s)", n_bad, first_error);
}

/* Fills `dst` (F×K×3) from a sequence archive whose frame count matches. */
static void take_seq_kp(const mhrfit_report *r, const seq_archive *s, float *dst) {
  for (size_t i = 0; i < r->F * r->K * 3; i++) {
    double x = mhrfit_array_get_f64(s->kp, i);
    dst[i] = isfinite(x) ? (float)x : NAN;
  }
}

/* Losses of the frames the summary left without. */
static void take_seq_losses(mhrfit_report *r, const seq_archive *s) {
  for (size_t f = 0; f < r->F; f++) {
    if (s->best && isnan(r->loss[f])) r->loss[f] = (float)mhrfit_array_get_f64(s->best, f);
    if (s->best_data && isnan(r->data_loss[f])) r->data_loss[f] = (float)mhrfit_array_get_f64(s->best_data, f);
  }
}

/* Without sequence archives: the per-frame fit/<frame>/fit.npz. */
static bool read_fit_frames(mhrfit_report *r, mhrfit_error *err) {
  size_t F = r->F, K = r->K;
  float *kp = nan_floats(F * K * 3, err);
  size_t *missing = mf_calloc_array(F ? F : 1, sizeof *missing, err), n_missing = 0, n_read = 0;
  if (!kp || !missing) {
    free(kp);
    free(missing);
    return false;
  }
  mhrfit_npy_limits lim = {0};
  lim.skip_members = fit_skip;
  const long shape[2] = {(long)K, 3};
  for (size_t f = 0; f < F; f++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/fit/%s/fit.npz", r->run_dir, r->frames[f]);
    if (!mf_is_file(path)) {
      char *slash = strrchr(path, '/');
      *slash = 0; /* the frame's folder exists but not its file, or the frame was fitted */
      if (mf_is_dir(path) || strcmp(r->status[f], "ok") == 0 || strcmp(r->status[f], "bad_loss") == 0)
        missing[n_missing++] = f;
      continue;
    }
    mhrfit_error e = {0};
    mhrfit_value *d = mhrfit_npz_load(path, &lim, &e);
    const mhrfit_array *a = d ? npz_num(d, "pred_keypoints_3d", 2, shape) : NULL;
    if (!a) {
      missing[n_missing++] = f;
    } else {
      for (size_t i = 0; i < K * 3; i++) {
        double x = mhrfit_array_get_f64(a, i);
        kp[f * K * 3 + i] = isfinite(x) ? (float)x : NAN;
      }
      if (isnan(r->loss[f])) r->loss[f] = (float)dict_num(d, "opt_best_loss");
      if (isnan(r->data_loss[f])) r->data_loss[f] = (float)dict_num(d, "opt_best_data_loss");
      if (strcmp(r->status[f], "unknown") == 0) {
        const mhrfit_value *st = mhrfit_value_dict_get(d, "opt_status");
        if (st && st->kind == MHRFIT_V_ARRAY && st->u.array->count == 1)
          mhrfit_array_get_string(st->u.array, 0, r->status[f], sizeof r->status[f], NULL);
      }
      n_read++;
    }
    mhrfit_value_free(d);
  }
  bool ok = note_frames(r, "fit/<frame>/fit.npz missing or unreadable", missing, n_missing, err);
  free(missing);
  if (n_read) {
    r->kp = kp;
    snprintf(r->kp_source, sizeof r->kp_source, "fit/<frame>/fit.npz");
  } else {
    free(kp);
  }
  char state[64];
  snprintf(state, sizeof state, "%zu read", n_read);
  return ok && file_state(r, "fit/<frame>/fit.npz", state, err);
}

static bool read_keypoints(mhrfit_report *r, seq_archive *fit, seq_archive *smooth, mhrfit_error *err) {
  size_t F = r->F;
  seq_archive *arch[2] = {fit, smooth};
  const char *names[2] = {"sequence_fit.npz", "sequence_smoothed.npz"};
  for (int i = 0; i < 2; i++)
    if (arch[i]->v && arch[i]->F != F) {
      if (!mf_report_note(r, err, "%s holds %zu frames, the run %zu: not used", names[i], arch[i]->F, F)) return false;
      mhrfit_value_free(arch[i]->v);
      arch[i]->v = NULL;
    }
  seq_archive *shown = r->opts.fitted ? fit : smooth, *other = r->opts.fitted ? smooth : fit;
  if (!shown->v) {
    if (other->v && !mf_report_note(r, err, "%s is missing: the %s keypoints are shown",
                                    r->opts.fitted ? names[0] : names[1], r->opts.fitted ? "smoothed" : "fitted"))
      return false;
    shown = other;
    other = NULL;
  }
  if (!shown->v) {
    if (!read_fit_frames(r, err)) return false;
    r->fitted_kp = r->kp;
    return true;
  }
  r->kp = nan_floats(F * r->K * 3, err);
  if (!r->kp) return false;
  take_seq_kp(r, shown, r->kp);
  snprintf(r->kp_source, sizeof r->kp_source, "%s", shown == fit ? names[0] : names[1]);
  if (other && other->v) {
    r->kp_other = nan_floats(F * r->K * 3, err);
    if (!r->kp_other) return false;
    take_seq_kp(r, other, r->kp_other);
  }
  r->fitted_kp = shown == fit ? r->kp : r->kp_other;
  r->smoothed_kp = shown == smooth ? r->kp : r->kp_other;
  take_seq_losses(r, fit->v ? fit : shown);
  return true;
}

/* ------------------------------------------------------------------ derived numbers */

static double mean_dist_mm(const float *a, const float *b, size_t K) {
  double s = 0;
  size_t n = 0;
  for (size_t k = 0; k < K; k++) {
    const float *p = a + 3 * k, *q = b + 3 * k;
    if (!isfinite(p[0]) || !isfinite(q[0]) || !isfinite(p[1]) || !isfinite(q[1]) || !isfinite(p[2]) || !isfinite(q[2]))
      continue;
    double dx = p[0] - q[0], dy = p[1] - q[1], dz = p[2] - q[2];
    s += sqrt(dx * dx + dy * dy + dz * dz);
    n++;
  }
  return n ? 1000.0 * s / (double)n : NAN;
}

static bool read_truth(mhrfit_report *r, mhrfit_error *err) {
  char found[4096] = "";
  enum { GT_K = 70 }; /* the ground truth of mhrfit demo: MHR70 keypoints */
  if (!r->layout || strcmp(r->layout->name, "mhr70") != 0) /* another keypoint set */
    return !r->opts.truth_path ||
           mf_report_note(r, err, "ground truth %s: its MHR70 keypoints are not the run's: no MPJPE chart", r->opts.truth_path);
  if (r->opts.truth_path) {
    snprintf(found, sizeof found, "%s", r->opts.truth_path);
  } else {
    /* the capture as the overlays find it, from any working folder (mf_run_capture()) */
    mhrfit_error e = {0};
    char *capture = mf_run_capture(r->run_dir, r->config, NULL, &e);
    if (e.type) return mhrfit_error_set(err, e.type, e.src_file, e.src_line, "%s", e.message);
    if (!capture) return true;
    snprintf(found, sizeof found, "%s/ground_truth.npz", capture);
    free(capture);
    if (!mf_is_file(found)) return true;
  }
  mhrfit_error e = {0};
  static const char *const skip[] = {"joints_3d", "model_params", "keypoints_2d", "visible", "outlier", NULL};
  mhrfit_npy_limits lim = {0};
  lim.skip_members = skip;
  mhrfit_value *d = mhrfit_npz_load(found, &lim, &e);
  const long shape[3] = {-1, GT_K, 3};
  const mhrfit_array *g = d ? npz_num(d, "keypoints_3d", 3, shape) : NULL;
  if (!g) {
    bool ok = mf_report_note(r, err, "ground truth %s could not be read (%s): no MPJPE chart", found,
                             d ? "no keypoints_3d of shape (frames, 70, 3)" : e.message);
    mhrfit_value_free(d);
    return ok;
  }
  size_t T = g->shape[0];
  const mhrfit_array *names = npz_strings(d, "frames", T);
  r->mpjpe_fit = nan_floats(r->F, err);
  r->mpjpe_smooth = nan_floats(r->F, err);
  float *gt = mf_malloc_array(GT_K * 3, sizeof *gt, err);
  bool ok = r->mpjpe_fit && r->mpjpe_smooth && gt;
  size_t matched = 0;
  for (size_t f = 0; ok && f < r->F; f++) {
    long t = -1;
    if (names) {
      for (size_t i = 0; i < T && t < 0; i++) {
        char n[64];
        if (mhrfit_array_get_string(names, i, n, sizeof n, NULL) && strcmp(n, r->frames[f]) == 0) t = (long)i;
      }
    } else if (T == r->F) {
      t = (long)f;
    }
    if (t < 0) continue;
    matched++;
    for (size_t i = 0; i < GT_K * 3; i++) gt[i] = (float)mhrfit_array_get_f64(g, (size_t)t * GT_K * 3 + i);
    const float *fitted = r->fitted_kp, *smoothed = r->smoothed_kp;
    if (fitted) r->mpjpe_fit[f] = (float)mean_dist_mm(fitted + f * GT_K * 3, gt, GT_K);
    if (smoothed) r->mpjpe_smooth[f] = (float)mean_dist_mm(smoothed + f * GT_K * 3, gt, GT_K);
  }
  free(gt);
  mhrfit_value_free(d);
  if (ok && !matched) {
    free(r->mpjpe_fit);
    free(r->mpjpe_smooth);
    r->mpjpe_fit = r->mpjpe_smooth = NULL;
    return mf_report_note(r, err, "ground truth %s has no frame of this run: no MPJPE chart", found);
  }
  return ok && file_state(r, found, "read (ground truth)", err);
}

/* The up axis (mhrfit_up_detect() on the shown keypoints, else the triangulated points; +Y when
 * no frame has the markers) and the floor height. */
static bool find_up(mhrfit_report *r, mhrfit_error *err) {
  const float *src = r->kp ? r->kp : r->tri_points;
  mhrfit_up_axis up = MHRFIT_UP_PY;
  const size_t K = r->K;
  long idx[5];
  if (src && r->F && mhrfit_up_markers((const char *const *)r->kp_names, K, idx)) {
    double *pts = mf_malloc_array(r->F * K * 3, sizeof *pts, err);
    if (!pts) return false;
    for (size_t i = 0; i < r->F * K * 3; i++) pts[i] = src[i];
    mhrfit_error e = {0};
    if (!mhrfit_up_detect(pts, r->F, K, idx, &up, NULL, NULL, &e)) up = MHRFIT_UP_PY;
    free(pts);
  }
  mhrfit_up_rotation(up, r->U);
  snprintf(r->up_name, sizeof r->up_name, "%s", mhrfit_up_name(up));
  double lo = INFINITY;
  for (size_t i = 0; src && i < r->F * K; i++) {
    const float *p = src + 3 * i;
    if (!isfinite(p[0]) || !isfinite(p[1]) || !isfinite(p[2])) continue;
    double y = r->U[3] * p[0] + r->U[4] * p[1] + r->U[5] * p[2];
    if (y < lo) lo = y;
  }
  r->floor_y = isfinite(lo) ? lo : 0;
  return true;
}

/* Projects F×K×3 world points into every calibrated camera: F×V×K×2 pixels (NaN: no mark). */
static float *project_all(const mhrfit_report *r, const float *pts, mhrfit_error *err) {
  size_t F = r->F, V = r->V, K = r->K;
  float *out = nan_floats(F * V * K * 2, err);
  if (!out) return NULL;
  for (size_t f = 0; f < F; f++)
    for (size_t v = 0; v < V; v++) {
      if (!r->cams[v].calibrated) continue;
      for (size_t k = 0; k < K; k++) {
        const float *p = pts + (f * K + k) * 3;
        double X[3] = {p[0], p[1], p[2]}, uv[2];
        if (!isfinite(X[0]) || !isfinite(X[1]) || !isfinite(X[2])) continue;
        if (!mhrfit_camera_project(&r->cams[v].cam, X, uv, NULL)) continue;
        if (!isfinite(uv[0]) || !isfinite(uv[1]) || fabs(uv[0]) > 1e6 || fabs(uv[1]) > 1e6) continue;
        out[((f * V + v) * K + k) * 2] = (float)uv[0];
        out[((f * V + v) * K + k) * 2 + 1] = (float)uv[1];
      }
    }
  return out;
}

static bool derive(mhrfit_report *r, mhrfit_error *err) {
  if (r->kp && r->kp_other) {
    r->smooth_change = nan_floats(r->F, err);
    if (!r->smooth_change) return false;
    for (size_t f = 0; f < r->F; f++)
      r->smooth_change[f] = (float)mean_dist_mm(r->kp + f * r->K * 3, r->kp_other + f * r->K * 3, r->K);
  }
  if (!find_up(r, err)) return false;
  bool any_cal = false;
  for (size_t v = 0; v < r->V; v++) any_cal = any_cal || r->cams[v].calibrated;
  if (any_cal && r->tri_points && !(r->proj_tri = project_all(r, r->tri_points, err))) return false;
  if (any_cal && r->kp && !(r->proj_kp = project_all(r, r->kp, err))) return false;
  return true;
}

/* ------------------------------------------------------------------ lifecycle */

static bool copy_opt(const char *s, const char **dst, mhrfit_error *err) {
  *dst = NULL;
  if (!s) return true;
  return (*dst = mf_strdup(s, err)) != NULL;
}

static bool check_options(const mhrfit_report_options *o, mhrfit_error *err) {
  if (o->calib_path && !mf_is_file(o->calib_path))
    return MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "calibration %s: no such file", o->calib_path);
  if (o->truth_path && !mf_is_file(o->truth_path))
    return MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "ground truth %s: no such file", o->truth_path);
  if (o->capture_dir && !mf_is_dir(o->capture_dir))
    return MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "capture %s: no such folder", o->capture_dir);
  if (o->rig && !mf_is_file(o->rig) && !mf_is_dir(o->rig))
    return MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "rig %s: no such file or folder", o->rig);
  if (o->lod < -1) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "lod %d: expected >= 0 (or -1: the rig's)", o->lod);
  if (o->image_max_width < 0 || o->image_max_width > 8192)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "image width %d outside 1..8192 (0: default 480)", o->image_max_width);
  return true;
}

bool mhrfit_report_check_out(const char *run_dir, const mhrfit_report_options *opts, const char *out_path,
                             mhrfit_error *err) {
  if (!run_dir || !out_path || !*out_path) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "no run folder or output path");
  mhrfit_report_options none = {0};
  const mhrfit_report_options *o = opts ? opts : &none;
  /* the calibration and the capture the run recorded (pipeline_config.json), as the report reads them */
  char *cfg_path = mf_path_join(run_dir, "pipeline_config.json", err);
  if (!cfg_path) return false;
  mhrfit_error e = {0};
  mhrfit_value *cfg = mf_is_file(cfg_path) ? mhrfit_json_load(cfg_path, &e) : NULL;
  free(cfg_path);
  const char *recorded = o->calib_path ? NULL : dict_str(cfg, "calib");
  char *calib = NULL, *capture = NULL;
  bool ok = !recorded || mf_find_recorded(recorded, run_dir, &calib, err);
  if (ok && !o->capture_dir) {
    capture = mf_run_capture(run_dir, cfg, NULL, &e);
    if (!capture && e.type == MHRFIT_ERR_NOMEM) ok = mhrfit_error_set(err, e.type, e.src_file, e.src_line, "%s", e.message);
  }
  if (ok) {
    const mf_guard_input inputs[4] = {{o->calib_path ? "--calib" : "(the run's calibration)", o->calib_path ? o->calib_path : calib},
                                      {"--truth", o->truth_path},
                                      {"(the MHR rig)", o->rig},
                                      {"--capture", o->capture_dir}};
    static const char *const html[] = {".html", ".htm", NULL};
    mf_out_rules rules = {"--out", false, html, NULL, "mhrfit report", run_dir, "report.html",
                          o->capture_dir ? o->capture_dir : capture, inputs, 4};
    ok = mf_out_check(out_path, &rules, err);
  }
  free(calib);
  free(capture);
  mhrfit_value_free(cfg);
  return ok;
}

mhrfit_report *mhrfit_report_new(const char *run_dir, const mhrfit_report_options *opts, mhrfit_error *err) {
  mhrfit_report_options o = {0};
  if (opts) o = *opts;
  if (!run_dir || !*run_dir) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "no run folder given");
    return NULL;
  }
  if (!mf_is_dir(run_dir)) {
    MHRFIT_FAIL(err, MHRFIT_ERR_IO, "run folder %s: no such folder", run_dir);
    return NULL;
  }
  static const char *const marks[] = {"sequence_summary.json", "pipeline_config.json", "sequence_fit.npz",
                                      "sequence_smoothed.npz", "triangulation", "fit"};
  bool any = false;
  for (size_t i = 0; i < sizeof marks / sizeof marks[0] && !any; i++) {
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", run_dir, marks[i]);
    any = mf_is_file(p) || mf_is_dir(p);
  }
  if (!any) {
    MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND,
                "%s is not a run folder of mhrfit run: it holds none of sequence_summary.json, pipeline_config.json, "
                "sequence_fit.npz, sequence_smoothed.npz, triangulation/, fit/",
                run_dir);
    return NULL;
  }
  if (!check_options(&o, err)) return NULL;
  mhrfit_report *r = mf_calloc_array(1, sizeof *r, err);
  if (!r) return NULL;
  bool ok = (r->run_dir = mf_strdup(run_dir, err)) != NULL && copy_opt(o.capture_dir, &r->opts.capture_dir, err) &&
            copy_opt(o.calib_path, &r->opts.calib_path, err) && copy_opt(o.truth_path, &r->opts.truth_path, err) &&
            copy_opt(o.rig, &r->opts.rig, err);
  r->opts.lod = o.lod ? o.lod : 6;
  r->opts.no_body = o.no_body;
  r->opts.no_images = o.no_images;
  r->opts.fitted = o.fitted;
  r->opts.image_max_width = o.image_max_width ? o.image_max_width : 480;
  if (ok) {
    const char *base = strrchr(run_dir, '/');
    while (base && base[1] == 0 && base > run_dir) { /* trailing slash: the name before it */
      const char *p = base - 1;
      while (p > run_dir && *p != '/') p--;
      base = p;
      break;
    }
    char title[512];
    if (o.title) snprintf(title, sizeof title, "%s", o.title);
    else snprintf(title, sizeof title, "mhrfit report: %.*s", (int)strcspn(base ? base + (*base == '/') : run_dir, "/"),
                  base ? base + (*base == '/') : run_dir);
    ok = (r->title = mf_strdup(title, err)) != NULL;
  }
  seq_archive fit = {0}, smooth = {0};
  char unfinished[1024];
  if (ok && mf_run_unfinished(run_dir, unfinished, sizeof unfinished)) /* shown first on the page */
    ok = mf_report_note(r, err, "%s", unfinished);
  ok = ok && load_json(r, "pipeline_config.json", &r->config, err) &&
       load_json(r, "sequence_summary.json", &r->summary, err) && load_seq(r, "sequence_fit.npz", &fit, err) &&
       load_seq(r, "sequence_smoothed.npz", &smooth, err) && keypoint_set(r, &fit, &smooth, err);
  if (ok) {
    r->fps = dict_num(r->config, "fps");
    if (!(r->fps > 0 && r->fps < 10000)) r->fps = 30;
    r->bad_loss = dict_num(r->config, "bad_loss_threshold");
    r->bad_data_loss = dict_num(r->config, "bad_data_loss_threshold");
  }
  /* frame names first (the losses are filled from the summary as the frames are read) */
  const mhrfit_value *fr = mhrfit_value_dict_get(r->summary, "frames");
  size_t F0 = fr && fr->kind == MHRFIT_V_LIST ? fr->u.list.count : smooth.v ? smooth.F : fit.F;
  if (ok) {
    r->loss = nan_floats(F0, err);
    r->data_loss = nan_floats(F0, err);
    ok = r->loss && r->data_loss && read_frames(r, smooth.v ? &smooth : &fit, err);
  }
  if (ok && r->F != F0) { /* frames from folder listings */
    free(r->loss);
    free(r->data_loss);
    r->loss = nan_floats(r->F, err);
    r->data_loss = nan_floats(r->F, err);
    ok = r->loss && r->data_loss;
  }
  ok = ok && read_cams(r, smooth.v ? &smooth : &fit, err) && read_calib(r, err) && read_triangulations(r, err) &&
       read_stage1(r, err) && read_keypoints(r, &fit, &smooth, err) && read_truth(r, err) && derive(r, err) &&
       (r->F == 0 || mf_report_body(r, err)) && mf_report_images(r, err);
  if (ok && r->F == 0) ok = mf_report_note(r, err, "the run has no frames");
  mhrfit_value_free(fit.v);
  mhrfit_value_free(smooth.v);
  if (!ok) {
    mhrfit_error_prefix(err, "report of %s", run_dir);
    mhrfit_report_free(r);
    return NULL;
  }
  return r;
}

mhrfit_report_info mhrfit_report_get_info(const mhrfit_report *r) {
  mhrfit_report_info i = {0};
  if (!r) return i;
  i.n_frames = r->F;
  i.n_cams = r->V;
  for (size_t v = 0; v < r->V; v++) i.n_calibrated += r->cams[v].calibrated;
  i.n_images = r->n_images;
  i.n_notes = r->n_notes;
  i.has_truth = r->mpjpe_fit || r->mpjpe_smooth;
  i.has_body = r->glb != NULL;
  i.html_bytes = r->html_bytes;
  return i;
}

const char *mhrfit_report_note(const mhrfit_report *r, size_t i) {
  return r && i < r->n_notes ? r->notes[i] : NULL;
}

void mhrfit_report_free(mhrfit_report *r) {
  if (!r) return;
  free(r->run_dir);
  free(r->title);
  free((char *)r->opts.capture_dir);
  free((char *)r->opts.calib_path);
  free((char *)r->opts.truth_path);
  free((char *)r->opts.rig);
  free(r->body_time);
  free(r->frames);
  free(r->status);
  for (size_t f = 0; r->messages && f < r->F; f++) free(r->messages[f]);
  free(r->messages);
  free(r->cams);
  mhrfit_value_free(r->config);
  mhrfit_value_free(r->summary);
  free_triangulations(r);
  free(r->kp);
  free(r->kp_other);
  mhrfit_names_free(r->kp_names, r->K);
  free(r->obs2d);
  free(r->obs_present);
  free(r->proj_tri);
  free(r->proj_kp);
  free(r->loss);
  free(r->data_loss);
  free(r->smooth_change);
  free(r->mpjpe_fit);
  free(r->mpjpe_smooth);
  free(r->images);
  free(r->image_list);
  free(r->image_index);
  free(r->glb);
  for (size_t i = 0; i < r->n_notes; i++) free(r->notes[i]);
  free(r->notes);
  for (size_t i = 0; i < r->n_files; i++) free(r->files[i]);
  free(r->files);
  free(r);
}

bool mhrfit_report_run(const char *run_dir, const char *out_path, const mhrfit_report_options *opts,
                       mhrfit_report_info *info, char *notes, size_t notes_size, mhrfit_error *err) {
  if (notes && notes_size) notes[0] = 0;
  mhrfit_report *r = mhrfit_report_new(run_dir, opts, err);
  if (!r) return false;
  char *def = NULL;
  if (!out_path && !(out_path = def = mf_path_join(run_dir, "report.html", err))) {
    mhrfit_report_free(r);
    return false;
  }
  bool ok = mhrfit_report_write(r, out_path, err);
  if (ok && info) *info = mhrfit_report_get_info(r);
  if (ok && notes && notes_size) {
    size_t used = 0;
    for (size_t i = 0; i < r->n_notes && used + 1 < notes_size; i++)
      used += (size_t)snprintf(notes + used, notes_size - used, "%s\n", r->notes[i]);
  }
  free(def);
  mhrfit_report_free(r);
  return ok;
}
