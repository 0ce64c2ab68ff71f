/* What one selected frame holds for the overlays: triangulated points, 2-D keypoints of every
 * camera (the selected person and the others), the fit and its mesh. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "common/path.h"
#include "export/export_internal.h"
#include "mhrfit/ingest.h"
#include "mhrfit/npy.h"
#include "overlay/overlay_internal.h"

bool mf_ov_frame_init(mhrfit_overlay *ov, mhrfit_error *err) {
  mf_ov_frame *fr = &ov->fr;
  size_t n = ov->calib->n_cams, k2 = ov->n_kp2d * 2;
  fr->tri_view = mf_calloc_array(n, sizeof *fr->tri_view, err);
  fr->obs = mf_calloc_array(n * k2, sizeof *fr->obs, err);
  fr->has_obs = mf_calloc_array(n, 1, err);
  fr->others = mf_calloc_array(n * MF_OV_MAX_OTHERS * k2, sizeof *fr->others, err);
  fr->n_others = mf_calloc_array(n, sizeof *fr->n_others, err);
  return fr->tri_view && fr->obs && fr->has_obs && fr->others && fr->n_others;
}

void mf_ov_frame_free(mf_ov_frame *fr) {
  free(fr->tri_view);
  free(fr->obs);
  free(fr->has_obs);
  free(fr->others);
  free(fr->n_others);
  free(fr->mesh);
  mhrfit_tri_archive_free(fr->own_tri);
  memset(fr, 0, sizeof *fr);
}

/* Copies a (70,2) `pred_keypoints_2d` of a dict into out (140 values); false when absent or
 * malformed. */
static bool kp2d_of(const mhrfit_value *d, size_t n_kp, double *out) {
  const mhrfit_value *v = d && d->kind == MHRFIT_V_DICT ? mhrfit_value_dict_get(d, "pred_keypoints_2d") : NULL;
  if (!v || v->kind != MHRFIT_V_ARRAY || !mhrfit_dtype_is_numeric(v->u.array->dtype) || v->u.array->count != 2 * n_kp)
    return false;
  for (size_t i = 0; i < 2 * n_kp; i++) out[i] = mhrfit_array_get_f64(v->u.array, i);
  return true;
}

static double num(const mhrfit_value *d, const char *key, double dflt) {
  const mhrfit_value *v = d && d->kind == MHRFIT_V_DICT ? mhrfit_value_dict_get(d, key) : NULL;
  return v && mhrfit_value_is_number(v) ? mhrfit_value_as_double(v) : dflt;
}

/* The other persons of a run's view, from the SAM 3D Body output its stage-1 file came from
 * (stage1_meta.json). Problems only cost the layer (a warning). */
static void load_others_run(mhrfit_overlay *ov, const char *frame, size_t c) {
  mf_ov_frame *fr = &ov->fr;
  const char *cam = ov->calib->cams[c].name;
  const mhrfit_value *frames = ov->stage1_meta ? mhrfit_value_dict_get(ov->stage1_meta, "frames") : NULL;
  const mhrfit_value *f = frames && frames->kind == MHRFIT_V_DICT ? mhrfit_value_dict_get(frames, frame) : NULL;
  const mhrfit_value *views = f && f->kind == MHRFIT_V_DICT ? mhrfit_value_dict_get(f, "views") : NULL;
  const mhrfit_value *v = views && views->kind == MHRFIT_V_DICT ? mhrfit_value_dict_get(views, cam) : NULL;
  double n = num(v, "n_persons", 0), chosen = num(v, "person", 0);
  if (!(n > 1) || !(n < 1e6)) return;
  const mhrfit_value *src = mhrfit_value_dict_get(v, "source"), *kind = mhrfit_value_dict_get(v, "source_kind");
  const mhrfit_value *rel = src && src->kind == MHRFIT_V_DICT ? mhrfit_value_dict_get(src, "path") : NULL;
  if (!rel || rel->kind != MHRFIT_V_STRING) return;
  bool estimator = kind && kind->kind == MHRFIT_V_STRING && strcmp(kind->u.str.data, "estimator") == 0;
  const char *root = estimator ? ov->run_dir : ov->sam_root;
  mhrfit_error e = {0};
  char *path = root ? mf_path_join(root, rel->u.str.data, &e) : NULL;
  mhrfit_value *doc = path && mf_is_file(path) ? mhrfit_numpy_load(path, NULL, &e) : NULL;
  if (!doc) {
    mf_ov_log(ov, MHRFIT_OVERLAY_WARNING, "frame '%s' camera '%s': the other persons are not drawn: %s", frame, cam,
              e.type ? e.message : path ? "their SAM 3D Body output is gone" : "no source recorded");
    free(path);
    return;
  }
  size_t k2 = 2 * ov->n_kp2d;
  for (long p = 0; p < (long)n && fr->n_others[c] < MF_OV_MAX_OTHERS; p++) {
    if (p == (long)chosen) continue;
    mhrfit_value *person = NULL;
    mhrfit_error pe = {0};
    double *dst = fr->others + (c * MF_OV_MAX_OTHERS + fr->n_others[c]) * k2;
    if (mhrfit_ingest_select_person(doc, MHRFIT_PERSON_INDEX, p, &person, NULL, &pe) && kp2d_of(person, ov->n_kp2d, dst))
      fr->n_others[c]++;
    mhrfit_value_free(person);
  }
  mhrfit_value_free(doc);
  free(path);
}

/* A run's frame: triangulated.npz and the stage-1 files. */
static bool load_run_frame(mhrfit_overlay *ov, const char *frame, mhrfit_error *err) {
  mf_ov_frame *fr = &ov->fr;
  char *p = mf_strdup_printf(err, "%s/triangulation/%s/triangulated.npz", ov->run_dir, frame);
  if (!p) return false;
  if (mf_is_file(p)) {
    mhrfit_tri_archive *a = mhrfit_tri_archive_load(p, err);
    if (!a) {
      free(p);
      return false;
    }
    if (a->n_frames != 1) {
      MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s holds %zu frames, not one", p, a->n_frames);
      mhrfit_tri_archive_free(a);
      free(p);
      return false;
    }
    fr->own_tri = a;
    fr->n_pts = a->n_kp, fr->n_tri_views = a->n_views;
    fr->pts = a->points, fr->inl = a->inliers, fr->nused = a->n_views_used, fr->kp = a->subset_idx;
  } else {
    snprintf(fr->tri_note, sizeof fr->tri_note, "not triangulated");
  }
  free(p);
  size_t k2 = 2 * ov->n_kp2d;
  for (size_t c = 0; c < ov->calib->n_cams; c++) {
    const char *cam = ov->calib->cams[c].name;
    if (!(p = mf_strdup_printf(err, "%s/stage1/%s/%s.npz", ov->run_dir, frame, cam))) return false;
    if (mf_is_file(p)) {
      mhrfit_error e = {0};
      mhrfit_value *doc = mhrfit_numpy_load(p, NULL, &e);
      fr->has_obs[c] = doc && kp2d_of(doc, ov->n_kp2d, fr->obs + c * k2);
      mhrfit_value_free(doc);
      if (!fr->has_obs[c])
        mf_ov_log(ov, MHRFIT_OVERLAY_WARNING, "%s: %s (the view's 2-D keypoints are not drawn)", p,
                  e.type ? e.message : "no (70, 2) pred_keypoints_2d");
    }
    free(p);
    if (fr->has_obs[c] && (ov->layers & MHRFIT_LAYER_OTHERS)) load_others_run(ov, frame, c);
  }
  return true;
}

/* Keypoints of frame f, view v of `obs` into out (n_kp x 2; NaN where missing, or where the
 * detector gave a confidence of 0: OpenPose writes undetected points as 0, 0, 0). False when
 * every keypoint is missing. */
static bool copy_obs(const mhrfit_observations *obs, size_t f, size_t v, size_t n_kp, double *out) {
  size_t K = obs->n_kp, V = obs->n_views;
  bool any = false;
  for (size_t k = 0; k < n_kp; k++) {
    size_t i = (f * K + k) * V + v;
    bool ok = k < K && !(obs->conf && !(obs->conf[i] > 0));
    out[2 * k] = ok ? obs->uv[2 * i] : NAN;
    out[2 * k + 1] = ok ? obs->uv[2 * i + 1] : NAN;
    any = any || (!isnan(out[2 * k]) && !isnan(out[2 * k + 1]));
  }
  return any;
}

/* A triangulation archive's frame f and its observations. */
static void load_tri_frame(mhrfit_overlay *ov, size_t f) {
  mf_ov_frame *fr = &ov->fr;
  const mhrfit_tri_archive *a = ov->tri;
  size_t K = a->n_kp, V = a->n_views;
  fr->n_pts = K, fr->n_tri_views = V;
  fr->pts = a->points + f * K * 3, fr->inl = a->inliers + f * K * V, fr->nused = a->n_views_used + f * K;
  fr->kp = a->subset_idx;
  if (!ov->obs) return;
  size_t Vo = ov->obs->n_views, k2 = 2 * ov->n_kp2d;
  for (size_t c = 0; c < ov->calib->n_cams; c++) {
    long v = fr->tri_view[c];
    if (v < 0 || (size_t)v >= Vo) continue;
    fr->has_obs[c] = copy_obs(ov->obs, f, (size_t)v, ov->n_kp2d, fr->obs + c * k2);
    for (size_t p = 0; p < ov->n_oth; p++)
      if (copy_obs(ov->oth[p], f, (size_t)v, ov->n_kp2d, fr->others + (c * MF_OV_MAX_OTHERS + fr->n_others[c]) * k2))
        fr->n_others[c]++;
  }
}

bool mf_ov_load_frame(mhrfit_overlay *ov, size_t i, mhrfit_error *err) {
  mf_ov_frame *fr = &ov->fr;
  if (fr->loaded && fr->index == i) return true;
  if (i >= ov->n_frames) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "frame %zu of %zu", i, ov->n_frames);
  mhrfit_tri_archive_free(fr->own_tri);
  fr->own_tri = NULL;
  fr->loaded = false;
  fr->n_pts = fr->n_tri_views = 0;
  fr->pts = NULL, fr->inl = NULL, fr->nused = NULL, fr->kp = NULL;
  fr->tri_note[0] = '\0';
  size_t n = ov->calib->n_cams, k2 = 2 * ov->n_kp2d;
  for (size_t j = 0; j < n * k2; j++) fr->obs[j] = NAN;
  memset(fr->has_obs, 0, n);
  memset(fr->n_others, 0, n * sizeof *fr->n_others);
  fr->mesh_done = fr->mesh_ok = false;
  size_t f = ov->begin + i;
  const char *name = ov->frame_names[i];
  if (ov->run_dir) {
    if (!load_run_frame(ov, name, err)) return false;
  }
  /* the triangulation's views of the drawn cameras */
  char *const *tcams = ov->tri ? ov->tri->cams : fr->own_tri ? fr->own_tri->cams : NULL;
  size_t tv = ov->tri ? ov->tri->n_views : fr->own_tri ? fr->own_tri->n_views : 0;
  for (size_t c = 0; c < n; c++) {
    fr->tri_view[c] = -1;
    for (size_t v = 0; v < tv; v++)
      if (strcmp(tcams[v], ov->calib->cams[c].name) == 0) fr->tri_view[c] = (long)v;
  }
  if (ov->tri) load_tri_frame(ov, f);
  fr->fit = -1;
  fr->status[0] = '\0';
  if (ov->fit) {
    snprintf(fr->status, sizeof fr->status, "%s", ov->fit->status[f]);
    if (mhrfit_export_status_class(ov->fit->status[f]) != 2) fr->fit = (long)f;
  }
  if (ov->tri) {
    size_t done = 0;
    for (size_t k = 0; k < fr->n_pts; k++) done += isfinite(fr->pts[3 * k]);
    size_t len = strlen(fr->status);
    snprintf(fr->status + len, sizeof fr->status - len, "%s%zu/%zu points", len ? ", " : "", done, fr->n_pts);
  }
  fr->index = i;
  fr->loaded = true;
  return true;
}

bool mf_ov_mesh(mhrfit_overlay *ov, mhrfit_error *err) {
  mf_ov_frame *fr = &ov->fr;
  if (fr->mesh_done) return fr->mesh_ok;
  fr->mesh_done = true;
  if (fr->fit < 0 || !ov->rig) return false;
  mhrfit_error e = {0};
  fr->mesh_ok = mf_export_world_mesh(ov->rig, ov->fit, (size_t)fr->fit, ov->mesh_work, fr->mesh, &e);
  if (!fr->mesh_ok) {
    mf_ov_log(ov, MHRFIT_OVERLAY_WARNING, "frame '%s': the mesh is not drawn: %s", ov->frame_names[fr->index], e.message);
  }
  (void)err;
  return fr->mesh_ok;
}
