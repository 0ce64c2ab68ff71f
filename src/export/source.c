/* Export sources: run folders, fit archives and SAM 3D Body outputs read into frames (export.h). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "common/path.h"
#include "export/export_internal.h"
#include "mhrfit/export.h"
#include "mhrfit/ingest.h"
#include "mhrfit/json.h"
#include "mhrfit/layout.h"
#include "mhrfit/npy.h"
#include "mhrfit/sam3d.h"

/* Members of the sequence archives the export never reads (large, or diagnostics). */
static const char *const skip_members[] = {"pred_vertices", "pred_global_rots", "pred_joint_coords", "opt_loss_hist",
                                           "opt_data_loss_hist", "opt_points3d_refined", "opt_residuals_m",
                                           "opt_cam_scores_3d_m", "opt_view_skipped", NULL};

const char *mhrfit_export_source_rig(const mhrfit_export_source *s, const char **recorded) {
  if (recorded) *recorded = s ? s->rig_recorded : NULL;
  return s ? s->rig_path : NULL;
}

int mhrfit_export_status_class(const char *status) {
  if (!status) return 2;
  if (strcmp(status, "ok") == 0 || strncmp(status, "recovered", 9) == 0) return 0;
  if (strcmp(status, "bad_loss") == 0) return 1;
  return 2;
}

void mhrfit_export_source_free(mhrfit_export_source *s) {
  if (!s) return;
  free(s->path);
  free(s->run_dir);
  free(s->frame_names);
  free(s->status);
  free(s->is_bad_loss);
  free(s->model_params);
  free(s->shape_params);
  free(s->expr_params);
  free(s->body_pose);
  free(s->hand_pose);
  free(s->scale_params);
  free(s->sim);
  free(s->keypoints);
  for (size_t k = 0; s->keypoint_names && k < s->n_kp; k++) free(s->keypoint_names[k]);
  free(s->keypoint_names);
  free(s->calib_path);
  free(s->calib_recorded);
  free(s->rig_path);
  free(s->rig_recorded);
  for (size_t i = 0; i < s->n_cams; i++) free(s->cams[i]);
  free(s->cams);
  free(s);
}

static bool alloc_frames(mhrfit_export_source *s, size_t F, mhrfit_error *err) {
  s->n_frames = F;
  s->frame_names = mf_calloc_array(F, sizeof *s->frame_names, err);
  s->status = mf_calloc_array(F, sizeof *s->status, err);
  s->is_bad_loss = mf_calloc_array(F, sizeof *s->is_bad_loss, err);
  s->model_params = mf_calloc_array(F * 204, sizeof(double), err);
  s->shape_params = mf_calloc_array(F * 45, sizeof(double), err);
  s->expr_params = mf_calloc_array(F * 72, sizeof(double), err);
  s->body_pose = mf_calloc_array(F * 133, sizeof(double), err);
  s->hand_pose = mf_calloc_array(F * 108, sizeof(double), err);
  s->scale_params = mf_calloc_array(F * 28, sizeof(double), err);
  s->sim = mf_calloc_array(F * 13, sizeof(double), err);
  s->n_kp = 70;
  s->keypoints = mf_malloc_array(F * 210, sizeof(double), err);
  if (!s->frame_names || !s->status || !s->is_bad_loss || !s->model_params || !s->shape_params || !s->expr_params ||
      !s->body_pose || !s->hand_pose || !s->scale_params || !s->sim || !s->keypoints)
    return false;
  for (size_t i = 0; i < F * 210; i++) s->keypoints[i] = NAN;
  for (size_t f = 0; f < F; f++) {
    snprintf(s->frame_names[f], sizeof s->frame_names[f], "%06zu", f);
    strcpy(s->status[f], "ok");
    double *S = s->sim + 13 * f;
    S[0] = S[1] = S[5] = S[9] = 1;
  }
  return true;
}

/* The numeric array `key` of `doc` with `dims` trailing extents (n_dims of them) after the frame
 * axis (when `axis`) of F frames, widened into out (F x prod(dims)). Absent: false with *found
 * false (err untouched). */
static bool get_frames(const mhrfit_value *doc, const char *file, const char *key, bool axis, size_t F,
                       const size_t *dims, int n_dims, double *out, bool *found, mhrfit_error *err) {
  *found = false;
  const mhrfit_value *v = mhrfit_value_dict_get(doc, key);
  if (!v) return false;
  *found = true;
  if (v->kind != MHRFIT_V_ARRAY || !mhrfit_dtype_is_numeric(v->u.array->dtype))
    return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: key '%s' is not a numeric array", file, key);
  const mhrfit_array *a = v->u.array;
  long want[8];
  int nd = 0;
  if (axis) want[nd++] = (long)F;
  for (int i = 0; i < n_dims; i++) want[nd++] = (long)dims[i];
  if (!mhrfit_array_has_shape(a, nd, want)) {
    char ws[96] = "(", gs[96] = "(";
    for (int i = 0; i < nd; i++) snprintf(ws + strlen(ws), sizeof ws - strlen(ws), "%s%ld", i ? ", " : "", want[i]);
    for (int i = 0; i < a->ndim && i < 8; i++)
      snprintf(gs + strlen(gs), sizeof gs - strlen(gs), "%s%zu", i ? ", " : "", a->shape[i]);
    strcat(ws, nd == 1 ? ",)" : ")");
    strcat(gs, a->ndim == 1 ? ",)" : ")");
    return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: key '%s' has shape %s, expected %s", file, key, gs, ws);
  }
  for (size_t i = 0; i < a->count; i++) out[i] = mhrfit_array_get_f64(a, i);
  return true;
}

/* Optional member: absent is fine, present must be well formed. */
static bool opt_frames(const mhrfit_value *doc, const char *file, const char *key, bool axis, size_t F,
                       const size_t *dims, int n_dims, double *out, bool *found, mhrfit_error *err) {
  bool f;
  bool ok = get_frames(doc, file, key, axis, F, dims, n_dims, out, &f, err);
  if (found) *found = f;
  return ok || !f;
}

static bool req_frames(const mhrfit_value *doc, const char *file, const char *key, bool axis, size_t F,
                       const size_t *dims, int n_dims, double *out, mhrfit_error *err) {
  bool f;
  if (get_frames(doc, file, key, axis, F, dims, n_dims, out, &f, err)) return true;
  if (!f) MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "%s: key '%s' is missing", file, key);
  return false;
}

/* A string array member of F entries (or one string without the axis) into dst[F][size]. */
static bool get_strings(const mhrfit_value *doc, const char *file, const char *key, size_t F, char *dst, size_t size,
                        bool *found, mhrfit_error *err) {
  *found = false;
  const mhrfit_value *v = mhrfit_value_dict_get(doc, key);
  if (!v) return true;
  *found = true;
  if (v->kind != MHRFIT_V_ARRAY || (v->u.array->dtype != MHRFIT_DT_UNICODE && v->u.array->dtype != MHRFIT_DT_BYTES) ||
      v->u.array->count != F)
    return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: key '%s' is not %zu string(s)", file, key, F);
  for (size_t f = 0; f < F; f++)
    if (!mhrfit_array_get_string(v->u.array, f, dst + f * size, size, err)) {
      mhrfit_error_prefix(err, "%s: key '%s'", file, key);
      return false;
    }
  return true;
}

static void set_note(char *note, size_t size, const char *fmt, const char *a, const char *b) {
  if (!note || !size) return;
  size_t len = strlen(note);
  if (len + 2 >= size) return;
  if (len) note[len++] = ' ', note[len] = '\0';
  snprintf(note + len, size - len, fmt, a, b);
}

const char *mf_export_keypoint_name(const mhrfit_export_source *src, size_t k) {
  if (src->keypoint_names) return k < src->n_kp ? src->keypoint_names[k] : "keypoint";
  const mhrfit_layout *mhr70 = mhrfit_layout_get("mhr70", NULL);
  return mhr70 && k < mhr70->count ? mhr70->names[k] : "keypoint";
}

/* The keypoint set of a fit archive: MHR70's unless `pred_keypoints_3d` holds another count K
 * (a fit of a detector's keypoints), named by `keypoint_names` (else kp_0, ...). A malformed
 * member is left to get_frames() to name. */
static bool keypoint_set(mhrfit_export_source *s, const mhrfit_value *doc, const char *file, bool axis,
                         mhrfit_error *err) {
  const mhrfit_value *v = mhrfit_value_dict_get(doc, "pred_keypoints_3d");
  int nd = axis ? 3 : 2;
  if (!v || v->kind != MHRFIT_V_ARRAY || v->u.array->ndim != nd || v->u.array->shape[nd - 1] != 3) return true;
  size_t K = v->u.array->shape[nd - 2], F = s->n_frames;
  if (K == 70 || K == 0) return true;
  double *kp = mf_malloc_array(F * K, 3 * sizeof(double), err);
  char **names = mf_calloc_array(K, sizeof *names, err);
  const mhrfit_value *kn = mhrfit_value_dict_get(doc, "keypoint_names");
  bool named = kn && kn->kind == MHRFIT_V_ARRAY && kn->u.array->count == K &&
               (kn->u.array->dtype == MHRFIT_DT_UNICODE || kn->u.array->dtype == MHRFIT_DT_BYTES);
  bool ok = kp && names;
  for (size_t k = 0; ok && k < K; k++) {
    char buf[128];
    if (!named || !mhrfit_array_get_string(kn->u.array, k, buf, sizeof buf, NULL)) snprintf(buf, sizeof buf, "kp_%zu", k);
    ok = (names[k] = mf_strdup(buf, err)) != NULL;
  }
  if (!ok) {
    for (size_t k = 0; names && k < K; k++) free(names[k]);
    free(names);
    free(kp);
    mhrfit_error_prefix(err, "%s", file);
    return false;
  }
  for (size_t i = 0; i < F * K * 3; i++) kp[i] = NAN;
  free(s->keypoints);
  s->keypoints = kp;
  s->n_kp = K;
  s->keypoint_names = names;
  return true;
}

/* The fit archive `doc` (sequence or one frame) into s. */
static bool from_fit(mhrfit_export_source *s, const mhrfit_value *doc, const char *file, mhrfit_error *err) {
  const mhrfit_value *mp = mhrfit_value_dict_get(doc, "mhr_model_params");
  if (!mp || mp->kind != MHRFIT_V_ARRAY)
    return MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "%s: key 'mhr_model_params' is missing", file);
  const mhrfit_array *a = mp->u.array;
  bool axis = a->ndim == 2;
  size_t F = axis ? a->shape[0] : 1;
  if (!(a->ndim == 1 || a->ndim == 2) || a->shape[a->ndim - 1] != 204 || F == 0)
    return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: key 'mhr_model_params' must have shape (F, 204) or (204,) with F > 0", file);
  if (!alloc_frames(s, F, err) || !keypoint_set(s, doc, file, axis, err)) return false;
  const size_t d204[] = {204}, d45[] = {45}, d72[] = {72}, d133[] = {133}, d108[] = {108}, d28[] = {28}, d3[] = {3},
               d33[] = {3, 3}, dk3[] = {s->n_kp, 3};
  double *tmp = mf_malloc_array(F, 9 * sizeof(double), err);
  if (!tmp) return false;
  bool ok = req_frames(doc, file, "mhr_model_params", axis, F, d204, 1, s->model_params, err) &&
            opt_frames(doc, file, "shape_params", axis, F, d45, 1, s->shape_params, NULL, err) &&
            opt_frames(doc, file, "expr_params", axis, F, d72, 1, s->expr_params, NULL, err) &&
            opt_frames(doc, file, "hand_pose_params", axis, F, d108, 1, s->hand_pose, NULL, err) &&
            opt_frames(doc, file, "scale_params", axis, F, d28, 1, s->scale_params, NULL, err) &&
            opt_frames(doc, file, "pred_keypoints_3d", axis, F, dk3, 2, s->keypoints, &s->has_keypoints, err);
  bool bp = false;
  ok = ok && opt_frames(doc, file, "body_pose_params", axis, F, d133, 1, s->body_pose, &bp, err);
  if (ok && !bp)
    for (size_t f = 0; f < F; f++) mhrfit_body_pose_from_model(s->model_params + 204 * f, s->body_pose + 133 * f);
  /* the similarity */
  ok = ok && req_frames(doc, file, "opt_sim_scale", axis, F, NULL, 0, tmp, err);
  for (size_t f = 0; ok && f < F; f++) s->sim[13 * f] = tmp[f];
  ok = ok && req_frames(doc, file, "opt_sim_R", axis, F, d33, 2, tmp, err);
  for (size_t f = 0; ok && f < F; f++) memcpy(s->sim + 13 * f + 1, tmp + 9 * f, 9 * sizeof(double));
  ok = ok && req_frames(doc, file, "opt_sim_t", axis, F, d3, 1, tmp, err);
  for (size_t f = 0; ok && f < F; f++) memcpy(s->sim + 13 * f + 10, tmp + 3 * f, 3 * sizeof(double));
  bool found = false;
  ok = ok && opt_frames(doc, file, "opt_is_bad_loss", axis, F, NULL, 0, tmp, &found, err);
  for (size_t f = 0; ok && found && f < F; f++) s->is_bad_loss[f] = tmp[f] != 0;
  free(tmp);
  if (!ok) return false;
  if (!get_strings(doc, file, "opt_status", F, &s->status[0][0], sizeof s->status[0], &found, err)) return false;
  if (!found) /* no status: a frame is ok when its parameters are finite */
    for (size_t f = 0; f < F; f++) {
      bool fin = true;
      for (int i = 0; i < 204; i++) fin = fin && isfinite(s->model_params[204 * f + i]);
      strcpy(s->status[f], fin ? (s->is_bad_loss[f] ? "bad_loss" : "ok") : "not_run");
    }
  if (!get_strings(doc, file, "frame_names", F, &s->frame_names[0][0], sizeof s->frame_names[0], &found, err))
    return false;
  const mhrfit_value *fps = mhrfit_value_dict_get(doc, "fps");
  if (fps && fps->kind == MHRFIT_V_ARRAY && fps->u.array->count == 1 && mhrfit_dtype_is_numeric(fps->u.array->dtype)) {
    double r = mhrfit_array_get_f64(fps->u.array, 0);
    if (isfinite(r) && r > 0) {
      s->fps = r;
      snprintf(s->fps_origin, sizeof s->fps_origin, "archive");
    }
  }
  const mhrfit_value *up = mhrfit_value_dict_get(doc, "world_up");
  if (up && up->kind == MHRFIT_V_ARRAY) {
    const mhrfit_array *u = up->u.array;
    char b[16] = "";
    if ((u->dtype == MHRFIT_DT_UNICODE || u->dtype == MHRFIT_DT_BYTES) && u->count == 1 &&
        mhrfit_array_get_string(u, 0, b, sizeof b, NULL)) {
      mhrfit_up_axis ax;
      if (mhrfit_up_parse(b, &ax, NULL) && ax != MHRFIT_UP_AUTO) snprintf(s->world_up, sizeof s->world_up, "%s", mhrfit_up_name(ax));
    } else if (mhrfit_dtype_is_numeric(u->dtype) && u->count == 3) {
      for (int k = 0; k < 3; k++) {
        double x = mhrfit_array_get_f64(u, (size_t)k);
        if (fabs(x) == 1)
          snprintf(s->world_up, sizeof s->world_up, "%s", mhrfit_up_name((mhrfit_up_axis)((x > 0 ? MHRFIT_UP_PX : MHRFIT_UP_NX) + k)));
      }
    }
  }
  return true;
}

/* A SAM 3D Body output (one person selected) into one frame. */
static bool from_sam3d(mhrfit_export_source *s, const mhrfit_value *doc, const char *file,
                       const mhrfit_export_source_options *o, mhrfit_error *err) {
  mhrfit_value *person = NULL;
  const mhrfit_value *p = doc;
  const mhrfit_value *mp = doc->kind == MHRFIT_V_DICT ? mhrfit_value_dict_get(doc, "mhr_model_params") : NULL;
  bool single = mp && mp->kind == MHRFIT_V_ARRAY && mp->u.array->ndim == 1;
  if (!single) {
    mhrfit_person_info info;
    if (!mhrfit_ingest_select_person(doc, o && o->person_given ? MHRFIT_PERSON_INDEX : MHRFIT_PERSON_LARGEST_BBOX,
                                     o && o->person_given ? o->person_index : 0, &person, &info, err)) {
      mhrfit_error_prefix(err, "%s", file);
      return false;
    }
    if (!person) return MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "%s: the SAM 3D Body output holds no person", file);
    p = person;
  }
  bool ok = alloc_frames(s, 1, err);
  int defaulted = 0;
  if (ok && !mhrfit_sam3d_model_params(p, s->model_params, &defaulted, err)) {
    mhrfit_error_prefix(err, "%s", file);
    ok = false;
  }
  const size_t d45[] = {45}, d72[] = {72}, d133[] = {133}, d108[] = {108}, d28[] = {28}, d3[] = {3}, d703[] = {70, 3};
  bool bp = false;
  double cam_t[3] = {0, 0, 0};
  ok = ok && opt_frames(p, file, "shape_params", false, 1, d45, 1, s->shape_params, NULL, err) &&
       opt_frames(p, file, "expr_params", false, 1, d72, 1, s->expr_params, NULL, err) &&
       opt_frames(p, file, "hand_pose_params", false, 1, d108, 1, s->hand_pose, NULL, err) &&
       opt_frames(p, file, "scale_params", false, 1, d28, 1, s->scale_params, NULL, err) &&
       opt_frames(p, file, "body_pose_params", false, 1, d133, 1, s->body_pose, &bp, err) &&
       opt_frames(p, file, "pred_keypoints_3d", false, 1, d703, 2, s->keypoints, &s->has_keypoints, err) &&
       opt_frames(p, file, "pred_cam_t", false, 1, d3, 1, cam_t, NULL, err);
  if (ok) {
    if (!bp) mhrfit_body_pose_from_model(s->model_params, s->body_pose);
    for (int a = 0; a < 3; a++) s->sim[10 + a] = isfinite(cam_t[a]) ? cam_t[a] : 0;
    for (int k = 0; k < 70; k++)
      for (int a = 0; a < 3; a++) s->keypoints[3 * k + a] += s->sim[10 + a];
    strcpy(s->status[0], "ok");
  }
  mhrfit_value_free(person);
  return ok;
}

/* The string `key` of a JSON dict, or NULL. */
static const char *json_str(const mhrfit_value *d, const char *key) {
  const mhrfit_value *v = d ? mhrfit_value_dict_get(d, key) : NULL;
  return v && v->kind == MHRFIT_V_STRING ? v->u.str.data : NULL;
}

/* Reads what a run recorded: pipeline_config.json (rate, calibration, cameras, MHR assets or rig
 * file) and the frame names of sequence_summary.json. Missing or unreadable files are not errors. */
static bool read_run_files(mhrfit_export_source *s, const char *run_dir, bool names_known, char *note, size_t note_size,
                           mhrfit_error *err) {
  char *cfg_path = mf_path_join(run_dir, "pipeline_config.json", err);
  if (!cfg_path) return false;
  mhrfit_value *cfg = mf_is_file(cfg_path) ? mhrfit_json_load(cfg_path, NULL) : NULL;
  free(cfg_path);
  bool ok = true;
  if (cfg && cfg->kind == MHRFIT_V_DICT) {
    const mhrfit_value *fps = mhrfit_value_dict_get(cfg, "fps");
    double r = fps && mhrfit_value_is_number(fps) ? mhrfit_value_as_double(fps) : 0;
    if (s->fps <= 0 && r > 0 && isfinite(r)) {
      s->fps = r;
      snprintf(s->fps_origin, sizeof s->fps_origin, "pipeline_config.json");
    }
    /* where the run took its rate from (runs before that was recorded: unknown) */
    const char *from = json_str(cfg, "fps_origin");
    if (from && r == s->fps)
      snprintf(s->fps_origin, sizeof s->fps_origin, "the run's, %s",
               strcmp(from, "option") == 0     ? "from --fps"
               : strcmp(from, "assumed") == 0 ? "assumed: mhrfit run --fps gives the capture's rate"
                                               : strcmp(from, "frames_meta.json") == 0 ? "from frames_meta.json"
                                                                                       : "from pipeline_config.json");
    const char *unit = json_str(cfg, "translation_unit");
    if (unit && strlen(unit) < sizeof s->calib_unit) snprintf(s->calib_unit, sizeof s->calib_unit, "%s", unit);
    const mhrfit_value *inv = mhrfit_value_dict_get(cfg, "invert_extrinsics");
    s->calib_invert = inv && inv->kind == MHRFIT_V_BOOL && inv->u.boolean;
    const char *calib = json_str(cfg, "calib");
    if (calib && calib[0]) {
      ok = (s->calib_recorded = mf_strdup(calib, err)) != NULL && mf_find_recorded(calib, run_dir, &s->calib_path, err);
    }
    const char *assets = json_str(cfg, "assets"), *rig = json_str(cfg, "rig");
    const char *rec = assets && assets[0] ? assets : rig && rig[0] ? rig : NULL;
    if (ok && rec)
      ok = (s->rig_recorded = mf_strdup(rec, err)) != NULL &&
           mf_find_recorded_entry(rec, run_dir, rec == assets, &s->rig_path, err);
    const mhrfit_value *cams = mhrfit_value_dict_get(cfg, "cams");
    if (ok && cams && cams->kind == MHRFIT_V_LIST && cams->u.list.count) {
      s->cams = mf_calloc_array(cams->u.list.count, sizeof *s->cams, err);
      ok = s->cams != NULL;
      for (size_t i = 0; ok && i < cams->u.list.count; i++) {
        const mhrfit_value *c = cams->u.list.items[i];
        if (c->kind != MHRFIT_V_STRING) continue;
        ok = (s->cams[s->n_cams++] = mf_strdup(c->u.str.data, err)) != NULL;
      }
    }
  }
  mhrfit_value_free(cfg);
  if (!ok || names_known) return ok;
  char *sum_path = mf_path_join(run_dir, "sequence_summary.json", err);
  if (!sum_path) return false;
  mhrfit_value *sum = mf_is_file(sum_path) ? mhrfit_json_load(sum_path, NULL) : NULL;
  const mhrfit_value *frames = sum && sum->kind == MHRFIT_V_DICT ? mhrfit_value_dict_get(sum, "frames") : NULL;
  if (frames && frames->kind == MHRFIT_V_LIST && frames->u.list.count == s->n_frames) {
    for (size_t f = 0; f < s->n_frames; f++) {
      const char *name = json_str(frames->u.list.items[f], "frame");
      if (name && name[0] && strlen(name) < sizeof s->frame_names[f]) strcpy(s->frame_names[f], name);
    }
  } else if (frames) {
    set_note(note, note_size, "%s%s holds another number of frames than the archive; frames are named by index.",
             "sequence_summary.json", "");
  }
  free(sum_path);
  mhrfit_value_free(sum);
  return true;
}

/* The folder holding `path` ("." when none), new string. */
static char *dir_of(const char *path, mhrfit_error *err) {
  const char *slash = strrchr(path, '/');
  if (!slash) return mf_strdup(".", err);
  if (slash == path) return mf_strdup("/", err);
  return mf_strndup(path, (size_t)(slash - path), err);
}

/* pipeline_config.json or stage1_meta.json of a run folder, parsed; NULL when absent or unreadable. */
static mhrfit_value *run_json(const char *run_dir, const char *name, mhrfit_error *err) {
  char *p = mf_path_join(run_dir, name, err);
  mhrfit_value *v = p && mf_is_file(p) ? mhrfit_json_load(p, NULL) : NULL;
  free(p);
  return v;
}

char *mf_run_capture(const char *run_dir, const mhrfit_value *cfg, const mhrfit_value *stage1_meta, mhrfit_error *err) {
  mhrfit_value *own_meta = NULL, *own_cfg = NULL;
  mhrfit_error e = {0};
  if (!stage1_meta) stage1_meta = own_meta = run_json(run_dir, "stage1_meta.json", &e);
  if (!cfg && !e.type) cfg = own_cfg = run_json(run_dir, "pipeline_config.json", &e);
  const char *rec[2] = {json_str(stage1_meta, "input_root"), json_str(cfg, "input")};
  char *found = NULL;
  for (int i = 0; i < 2 && !found && !e.type; i++) mf_find_recorded_entry(rec[i], run_dir, true, &found, &e);
  mhrfit_value_free(own_meta);
  mhrfit_value_free(own_cfg);
  if (e.type && err) *err = e;
  return found;
}

/* The sub-folders of `dir` that are run folders (holding sequence_smoothed.npz or
 * sequence_fit.npz), as "dir/a, dir/b" into out ("" when none; cut with ", ..." past its size):
 * what a folder of runs (mhrfit demo --run, a batch) holds. False only when out of memory. */
static bool run_subfolders(const char *dir, char *out, size_t size, mhrfit_error *err) {
  out[0] = '\0';
  mf_entries e = {0};
  mhrfit_error le = {0};
  if (!mf_list_entries(dir, true, &e, &le)) return le.type != MHRFIT_ERR_NOMEM || MHRFIT_FAIL(err, le.type, "%s", le.message);
  size_t used = 0;
  bool ok = true, full = false;
  for (size_t i = 0; ok && !full && i < e.count; i++) {
    if (e.items[i].type != MF_ENTRY_DIR) continue;
    char *sub = mf_path_join(dir, e.items[i].name, err);
    char *a = sub ? mf_path_join(sub, "sequence_smoothed.npz", err) : NULL;
    char *b = sub ? mf_path_join(sub, "sequence_fit.npz", err) : NULL;
    ok = a && b;
    if (ok && (mf_is_file(a) || mf_is_file(b))) {
      size_t n = strlen(sub) + (used ? 2 : 0);
      full = used + n + 6 > size; /* the room for ", ..." stays */
      if (full) snprintf(out + used, size - used, used ? ", ..." : "...");
      else used += (size_t)snprintf(out + used, size - used, "%s%s", used ? ", " : "", sub);
    }
    free(sub);
    free(a);
    free(b);
  }
  mf_entries_free(&e);
  return ok;
}

mhrfit_export_source *mhrfit_export_source_load(const char *path, const mhrfit_export_source_options *o, char *note,
                                                size_t note_size, mhrfit_error *err) {
  if (note && note_size) note[0] = '\0';
  mhrfit_export_source *s = mf_calloc_array(1, sizeof *s, err);
  if (!s) return NULL;
  strcpy(s->calib_unit, "m");
  mhrfit_value *doc = NULL;
  char *file = NULL;
  bool ok = true;
  /* the archives' members the export reads are small per frame (keypoints: 1.7 kB): 512 MiB per
   * member is hundreds of thousands of frames, and bounds what a crafted file can make us allocate */
  const mhrfit_npy_limits lim = {.max_array_bytes = 512u << 20, .skip_members = skip_members};
  if (mf_is_dir(path)) {
    const char *want = o && o->fitted ? "sequence_fit.npz" : "sequence_smoothed.npz";
    const char *other = o && o->fitted ? "sequence_smoothed.npz" : "sequence_fit.npz";
    file = mf_path_join(path, want, err);
    if (file && !mf_is_file(file)) {
      char *alt = mf_path_join(path, other, err);
      if (alt && mf_is_file(alt)) {
        set_note(note, note_size, "%s is absent: exporting %s.", want, other);
        free(file);
        file = alt;
      } else {
        free(alt);
        char runs[600];
        if (!run_subfolders(path, runs, sizeof runs, err)) ok = false;
        else if (runs[0])
          MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "%s: neither sequence_smoothed.npz nor sequence_fit.npz: it holds the "
                      "run folders %s; pass one of them", path, runs);
        else
          MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND,
                      "%s: neither sequence_smoothed.npz nor sequence_fit.npz (not a run folder of mhrfit run)", path);
        ok = false;
      }
    }
    ok = ok && file && (s->run_dir = mf_strdup(path, err)) != NULL;
    ok = ok && (doc = mhrfit_npz_load(file, &lim, err)) != NULL;
    if (ok && doc->kind != MHRFIT_V_DICT) ok = MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: not an archive of arrays", file);
    ok = ok && from_fit(s, doc, file, err);
    if (ok) strcpy(s->kind, "sequence");
    const mhrfit_value *fn = ok ? mhrfit_value_dict_get(doc, "frame_names") : NULL;
    ok = ok && read_run_files(s, path, fn != NULL, note, note_size, err);
  } else {
    ok = (file = mf_strdup(path, err)) != NULL && (doc = mhrfit_numpy_load(path, &lim, err)) != NULL;
    bool fit = ok && doc->kind == MHRFIT_V_DICT && mhrfit_value_dict_get(doc, "opt_sim_scale") &&
               mhrfit_value_dict_get(doc, "mhr_model_params");
    if (ok && fit) {
      ok = from_fit(s, doc, file, err);
      strcpy(s->kind, "fit");
    } else if (ok) {
      ok = from_sam3d(s, doc, file, o, err);
      strcpy(s->kind, "sam3d");
    }
    /* one frame named after its folder (run/fit/<frame>/fit.npz) or its file stem */
    if (ok && s->n_frames == 1 && !mhrfit_value_dict_get(doc, "frame_names")) {
      char *dir = dir_of(path, err);
      const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
      const char *dbase = dir && strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
      char stem[64];
      snprintf(stem, sizeof stem, "%s", base);
      char *dot = strrchr(stem, '.');
      if (dot && dot != stem) *dot = '\0';
      const char *name = strcmp(stem, "fit") == 0 && dbase && strcmp(dbase, ".") != 0 && strcmp(dbase, "/") != 0 ? dbase : stem;
      snprintf(s->frame_names[0], sizeof s->frame_names[0], "%s", name);
      free(dir);
    }
    /* a fit.npz inside a run folder (run/fit/<frame>/fit.npz): the run's files */
    if (ok && fit) {
      char *d = dir_of(path, err);
      for (int up = 0; ok && d && up < 3; up++) {
        char *cfg = mf_path_join(d, "pipeline_config.json", err);
        bool here = cfg && mf_is_file(cfg);
        free(cfg);
        if (here) {
          ok = read_run_files(s, d, true, note, note_size, err);
          break;
        }
        char *parent = mf_path_join(d, "..", err);
        free(d);
        d = parent;
      }
      free(d);
    }
  }
  mhrfit_value_free(doc);
  if (ok) {
    s->path = file;
    return s;
  }
  free(file);
  mhrfit_export_source_free(s);
  return NULL;
}
