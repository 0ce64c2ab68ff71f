/* The exporter: frame selection and checks, forward kinematics of the exported frames, the
 * up axis, cameras, and the dispatch to the format writers (export.h). */
#include <ctype.h>
#include <math.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "common/outguard.h"
#include "common/path.h"
#include "export/export_internal.h"
#include "mhrfit/fit_io.h"
#include "mhrfit/layout.h"
#include "mhrfit/value.h"

static const char *const format_names[] = {"auto", "glb", "gltf", "bvh", "trc", "ply", "obj", "npz"};

bool mhrfit_export_format_parse(const char *name, mhrfit_export_format *out, mhrfit_error *err) {
  for (size_t k = 0; name && k < sizeof format_names / sizeof format_names[0]; k++)
    if (strcasecmp(name, format_names[k]) == 0) {
      *out = (mhrfit_export_format)k;
      return true;
    }
  return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "unknown export format '%s' (glb, gltf, bvh, trc, ply, obj, npz)",
                     name ? name : "");
}

const char *mhrfit_export_format_name(mhrfit_export_format f) {
  return (unsigned)f < sizeof format_names / sizeof format_names[0] ? format_names[f] : "?";
}

bool mhrfit_export_format_from_path(const char *path, mhrfit_export_format *out, mhrfit_error *err) {
  const char *slash = strrchr(path, '/');
  const char *dot = strrchr(slash ? slash : path, '.');
  if (dot && dot[1]) {
    for (int k = MHRFIT_EXPORT_GLB; k <= MHRFIT_EXPORT_OBJ; k++)
      if (strcasecmp(dot + 1, format_names[k]) == 0) {
        *out = (mhrfit_export_format)k;
        return true;
      }
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT,
                       "%s: unknown extension '%s' (.glb, .gltf, .bvh, .trc, .ply, .obj; a per-frame export to a "
                       "folder needs a format: ply, obj or npz)", path, dot);
  }
  return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT,
                     "%s: no extension to take the format from (.glb, .gltf, .bvh, .trc; a folder of per-frame files "
                     "needs a format: ply, obj or npz)", path);
}

bool mhrfit_export_format_per_frame(mhrfit_export_format f) {
  return f == MHRFIT_EXPORT_PLY || f == MHRFIT_EXPORT_OBJ || f == MHRFIT_EXPORT_NPZ;
}

unsigned mhrfit_export_rig_flags(mhrfit_export_format f) {
  return f == MHRFIT_EXPORT_BVH || f == MHRFIT_EXPORT_TRC || f == MHRFIT_EXPORT_NPZ ? MHRFIT_RIG_NO_CORRECTIVES : 0u;
}

void mhrfit_export_options_init(mhrfit_export_options *o) {
  memset(o, 0, sizeof *o);
  o->up = MHRFIT_UP_AUTO;
  o->keypoints = true;
  o->cameras = -1;
  o->max_influences = 8;
  o->units_scale = 1;
  o->corrective_frames = 100;
}

/* ------------------------------------------------------------------ small math */

void mf_mat3_mul(const double A[9], const double B[9], double C[9]) {
  double T[9];
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) T[3 * i + j] = A[3 * i] * B[j] + A[3 * i + 1] * B[3 + j] + A[3 * i + 2] * B[6 + j];
  memcpy(C, T, sizeof T);
}

void mf_export_quat(const double R[9], const double *prev, double q[4]) {
  double w, x, y, z, tr = R[0] + R[4] + R[8];
  if (tr > 0) {
    double s = sqrt(tr + 1.0) * 2;
    w = 0.25 * s, x = (R[7] - R[5]) / s, y = (R[2] - R[6]) / s, z = (R[3] - R[1]) / s;
  } else if (R[0] > R[4] && R[0] > R[8]) {
    double s = sqrt(1.0 + R[0] - R[4] - R[8]) * 2;
    w = (R[7] - R[5]) / s, x = 0.25 * s, y = (R[1] + R[3]) / s, z = (R[2] + R[6]) / s;
  } else if (R[4] > R[8]) {
    double s = sqrt(1.0 + R[4] - R[0] - R[8]) * 2;
    w = (R[2] - R[6]) / s, x = (R[1] + R[3]) / s, y = 0.25 * s, z = (R[5] + R[7]) / s;
  } else {
    double s = sqrt(1.0 + R[8] - R[0] - R[4]) * 2;
    w = (R[3] - R[1]) / s, x = (R[2] + R[6]) / s, y = (R[5] + R[7]) / s, z = 0.25 * s;
  }
  double n = sqrt(w * w + x * x + y * y + z * z);
  q[0] = x / n, q[1] = y / n, q[2] = z / n, q[3] = w / n;
  double dot = prev ? q[0] * prev[0] + q[1] * prev[1] + q[2] * prev[2] + q[3] * prev[3] : q[3];
  if (dot < 0)
    for (int a = 0; a < 4; a++) q[a] = -q[a];
}

void mf_export_sim(const mhrfit_export_source *src, size_t f, double *s, double R[9], double t[3]) {
  const double *S = src->sim + 13 * f;
  *s = S[0];
  memcpy(R, S + 1, 9 * sizeof *R);
  memcpy(t, S + 10, 3 * sizeof *t);
}

void mf_export_root(const mhrfit_exporter *ex, size_t i, double t[3], double R[9], double *s) {
  double Rs[9], ts[3];
  mf_export_sim(ex->src, ex->frames[i], s, Rs, ts);
  /* R F: negate columns 1 and 2 */
  for (int a = 0; a < 3; a++) Rs[3 * a + 1] = -Rs[3 * a + 1], Rs[3 * a + 2] = -Rs[3 * a + 2];
  mf_mat3_mul(ex->U, Rs, R);
  for (int a = 0; a < 3; a++) t[a] = ex->U[3 * a] * ts[0] + ex->U[3 * a + 1] * ts[1] + ex->U[3 * a + 2] * ts[2];
}

bool mf_export_world_mesh(const mhrfit_rig *rig, const mhrfit_export_source *src, size_t f, double *work, double *out,
                          mhrfit_error *err) {
  size_t J = rig->n_joints, V = rig->n_vertices;
  double *skin_work = work, *jp = work + mhrfit_rig_skin_work_size(rig), *R = jp + 7 * J, *t = R + 9 * J, *s = t + 3 * J,
         *cm = s + J;
  mhrfit_fk_pose pose = {R, t, s};
  if (!mhrfit_rig_fk(rig, src->model_params + 204 * f, &pose, jp, err)) return false;
  if (!mhrfit_rig_skin_full(rig, src->shape_params + 45 * f, 45, &pose, mhrfit_rig_has_correctives(rig) ? jp : NULL,
                            skin_work, cm, err))
    return false;
  double ss, Rs[9], ts[3];
  mf_export_sim(src, f, &ss, Rs, ts);
  for (size_t v = 0; v < V; v++) {
    double q[3] = {cm[3 * v] / 100, -cm[3 * v + 1] / 100, -cm[3 * v + 2] / 100};
    for (int a = 0; a < 3; a++) out[3 * v + a] = ss * (Rs[3 * a] * q[0] + Rs[3 * a + 1] * q[1] + Rs[3 * a + 2] * q[2]) + ts[a];
  }
  return true;
}

/* ------------------------------------------------------------------ the exporter */

void mhrfit_exporter_free(mhrfit_exporter *ex) {
  if (!ex) return;
  free(ex->frames);
  free(ex->exported);
  free(ex->loc_t);
  free(ex->loc_R);
  free(ex->loc_s);
  free(ex->world_j);
  mhrfit_calib_free(ex->calib);
  free(ex);
}

const mhrfit_export_report *mhrfit_exporter_report(const mhrfit_exporter *ex) { return &ex->rep; }

/* Checks a frame to export: finite parameters, identity, similarity (and expressions when used). */
static bool check_frame(const mhrfit_exporter *ex, size_t f, mhrfit_error *err) {
  const mhrfit_export_source *s = ex->src;
  return mhrfit_fit_check_frame_values(s->path, s->frame_names[f], f, s->status[f], s->model_params + 204 * f,
                                       s->shape_params + 45 * f, s->sim + 13 * f,
                                       ex->o.expressions ? s->expr_params + 72 * f : NULL, err);
}

/* Forward kinematics of every exported frame: local and world joint transforms. */
static bool compute_fk(mhrfit_exporter *ex, mhrfit_error *err) {
  const mhrfit_rig *rig = ex->rig;
  size_t J = rig->n_joints, n = ex->n;
  ex->nj = J;
  ex->loc_t = mf_malloc_array(n * J * 3, sizeof(double), err);
  ex->loc_R = mf_malloc_array(n * J * 9, sizeof(double), err);
  ex->loc_s = mf_malloc_array(n * J, sizeof(double), err);
  ex->world_j = mf_malloc_array(n * J * 3, sizeof(double), err);
  double *jp = mf_malloc_array(7 * J + 13 * J, sizeof(double), err);
  if (!ex->loc_t || !ex->loc_R || !ex->loc_s || !ex->world_j || !jp) {
    free(jp);
    return false;
  }
  double *R = jp + 7 * J, *t = R + 9 * J, *s = t + 3 * J;
  mhrfit_fk_pose pose = {R, t, s};
  for (size_t i = 0; i < n; i++) {
    size_t f = ex->frames[i];
    if (!mhrfit_rig_fk(rig, ex->src->model_params + 204 * f, &pose, jp, err)) {
      mhrfit_error_prefix(err, "%s: frame %s", ex->src->path, ex->src->frame_names[f]);
      free(jp);
      return false;
    }
    for (size_t j = 0; j < J; j++) {
      const double *q = jp + 7 * j;
      double *lt = ex->loc_t + (i * J + j) * 3, *lR = ex->loc_R + (i * J + j) * 9, E[9];
      for (int a = 0; a < 3; a++) lt[a] = (rig->offsets[3 * j + a] + q[a]) / 100;
      mhrfit_euler_zyx(q[3], q[4], q[5], E);
      mf_mat3_mul(rig->prerot + 9 * j, E, lR);
      ex->loc_s[i * J + j] = exp2(q[6]);
    }
    double ss, Rs[9], ts[3];
    mf_export_sim(ex->src, f, &ss, Rs, ts);
    for (size_t j = 0; j < J; j++) {
      double x[3] = {t[3 * j] / 100, -t[3 * j + 1] / 100, -t[3 * j + 2] / 100};
      double *w = ex->world_j + (i * J + j) * 3;
      for (int a = 0; a < 3; a++) w[a] = ss * (Rs[3 * a] * x[0] + Rs[3 * a + 1] * x[1] + Rs[3 * a + 2] * x[2]) + ts[a];
    }
  }
  free(jp);
  return true;
}

/* The up axis: given, or detected from the world joints of the exported frames (hips, neck). */
static bool choose_up(mhrfit_exporter *ex, mhrfit_error *err) {
  ex->rep.up = ex->o.up;
  if (ex->o.up == MHRFIT_UP_AUTO) {
    const mhrfit_rig *rig = ex->rig;
    long idx[5] = {mhrfit_rig_joint_index(rig, "l_upleg"), mhrfit_rig_joint_index(rig, "r_upleg"),
                   mhrfit_rig_joint_index(rig, "c_neck"), mhrfit_rig_joint_index(rig, "l_uparm"),
                   mhrfit_rig_joint_index(rig, "r_uparm")};
    size_t used = 0;
    if (!mhrfit_up_detect(ex->world_j, ex->n, ex->nj, idx, &ex->rep.up, &ex->rep.up_cosine, &used, err)) {
      mhrfit_error_prefix(err, "%s", ex->src->path);
      return false;
    }
    ex->rep.up_detected = true;
  }
  mhrfit_up_rotation(ex->rep.up, ex->U);
  return true;
}

/* glTF cameras: the calibration of the options or of the run. */
static bool load_cameras(mhrfit_exporter *ex, mhrfit_error *err) {
  const mhrfit_export_source *s = ex->src;
  const char *path = ex->o.calib ? ex->o.calib : s->calib_path;
  if (ex->o.cameras == 0) return true;
  if (!path) {
    if (s->calib_recorded)
      snprintf(ex->rep.cameras_note, sizeof ex->rep.cameras_note,
               "the run's calibration %s was not found (give --calib FILE)", s->calib_recorded);
    else if (ex->o.cameras > 0 || s->run_dir)
      snprintf(ex->rep.cameras_note, sizeof ex->rep.cameras_note, "no calibration is known for %s (give --calib FILE)",
               s->path);
    if (ex->o.cameras > 0) return MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "cameras requested but %s", ex->rep.cameras_note);
    return true;
  }
  mhrfit_calib_options co = {s->calib_invert, s->calib_unit, NULL, NULL};
  mhrfit_calib *all = mhrfit_calib_load(path, &co, err);
  if (!all) return false;
  if (s->n_cams && !ex->o.calib) {
    ex->calib = mhrfit_calib_select(all, (const char *const *)s->cams, s->n_cams, err);
    mhrfit_calib_free(all);
    if (!ex->calib) return false;
  } else {
    ex->calib = all;
  }
  ex->rep.n_cameras = ex->calib->n_cams;
  return true;
}

mhrfit_exporter *mhrfit_exporter_new(const mhrfit_rig *rig, const mhrfit_export_source *src,
                                     const mhrfit_export_options *o, mhrfit_error *err) {
  if (!rig || !src || !o) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "export: rig, source and options are required");
    return NULL;
  }
  if (rig->n_params != 204 || rig->n_joints < 2 || rig->n_joints > 255) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "export: the rig has %zu parameters and %zu joints (MHR: 204 and 127)",
                rig->n_params, rig->n_joints);
    return NULL;
  }
  if (o->max_influences != 4 && o->max_influences != 8) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "export: max_influences is %d (4 or 8)", o->max_influences);
    return NULL;
  }
  if (!(o->units_scale > 0) || !isfinite(o->units_scale) || !(o->fps >= 0) || !isfinite(o->fps)) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "export: units (%g) must be > 0 and fps (%g) >= 0", o->units_scale, o->fps);
    return NULL;
  }
  if ((unsigned)o->up > MHRFIT_UP_NZ) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "export: unknown up axis %d", (int)o->up);
    return NULL;
  }
  if (o->up != MHRFIT_UP_AUTO && mhrfit_export_format_per_frame(o->format)) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "export: an up axis (%s) means nothing to %s, which keeps the world's axes "
                "(glTF, BVH and TRC turn the world's up axis into their +Y)", mhrfit_up_name(o->up),
                mhrfit_export_format_name(o->format));
    return NULL;
  }
  size_t F = src->n_frames;
  size_t end = o->frame_end == 0 || o->frame_end > F ? F : o->frame_end;
  if (o->frame_begin >= end) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "%s: the frame range %zu:%zu is empty (the source has %zu frames, 0:%zu)",
                src->path, o->frame_begin, o->frame_end, F, F);
    return NULL;
  }
  mhrfit_exporter *ex = mf_calloc_array(1, sizeof *ex, err);
  if (!ex) return NULL;
  ex->rig = rig, ex->src = src, ex->o = *o;
  ex->begin = o->frame_begin, ex->end = end;
  ex->rep.format = o->format;
  ex->rep.lod = rig->lod;
  ex->frames = mf_malloc_array(end - ex->begin, sizeof *ex->frames, err);
  ex->exported = mf_calloc_array(end - ex->begin, 1, err);
  if (!ex->frames || !ex->exported) goto fail;
  ex->rep.n_total = end - ex->begin;
  for (size_t f = ex->begin; f < end; f++) {
    int c = mhrfit_export_status_class(src->status[f]);
    if (c == 2) {
      ex->rep.n_failed++;
      continue;
    }
    if (c == 1 && !o->keep_bad) {
      ex->rep.n_skipped_bad++;
      continue;
    }
    if (!check_frame(ex, f, err)) goto fail;
    ex->exported[f - ex->begin] = 1;
    ex->frames[ex->n++] = f;
  }
  ex->rep.n_exported = ex->n;
  if (ex->n == 0) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT,
                "%s: no frame to export in %zu:%zu (%zu bad_loss frame(s) left out%s, %zu failed frame(s) without "
                "parameters)", src->path, ex->begin, end, ex->rep.n_skipped_bad,
                ex->rep.n_skipped_bad ? ": --keep_bad exports them" : "", ex->rep.n_failed);
    goto fail;
  }
  if (o->fps > 0) {
    ex->rep.fps = o->fps;
    strcpy(ex->rep.fps_origin, "option");
  } else if (src->fps > 0) {
    ex->rep.fps = src->fps;
    snprintf(ex->rep.fps_origin, sizeof ex->rep.fps_origin, "%s", src->fps_origin);
  } else {
    ex->rep.fps = 30;
    strcpy(ex->rep.fps_origin, "default");
  }
  memcpy(ex->shape, src->shape_params + 45 * ex->frames[0], sizeof ex->shape);
  for (size_t i = 1; i < ex->n; i++)
    for (int k = 0; k < 45; k++) {
      double d = fabs(src->shape_params[45 * ex->frames[i] + k] - ex->shape[k]);
      if (d > ex->rep.shape_spread) ex->rep.shape_spread = d;
    }
  /* the per-frame formats keep the world's axes: no up axis (rep.up stays MHRFIT_UP_AUTO) */
  if (!compute_fk(ex, err) || (!mhrfit_export_format_per_frame(o->format) && !choose_up(ex, err))) goto fail;
  mhrfit_export_format fmt = o->format;
  if ((fmt == MHRFIT_EXPORT_GLB || fmt == MHRFIT_EXPORT_GLTF || fmt == MHRFIT_EXPORT_AUTO) && !load_cameras(ex, err))
    goto fail;
  return ex;
fail:
  mhrfit_exporter_free(ex);
  return NULL;
}

static bool ends_with_ci(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

bool mhrfit_export_check_out(const mhrfit_export_source *src, const mhrfit_export_options *o, const char *path,
                             const char *rig_path, mhrfit_error *err) {
  if (!src || !o || !path || !*path) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "no export source or output path");
  mhrfit_export_format f = o->format;
  if (f == MHRFIT_EXPORT_AUTO && !mhrfit_export_format_from_path(path, &f, err)) return false;
  static const char *const glb[] = {".glb", NULL}, *const gltf[] = {".gltf", NULL}, *const bvh[] = {".bvh", NULL},
                           *const trc[] = {".trc", NULL}, *const ply[] = {".ply", NULL}, *const obj[] = {".obj", NULL},
                           *const bin[] = {".bin", NULL};
  const char *const *exts = f == MHRFIT_EXPORT_GLB ? glb : f == MHRFIT_EXPORT_GLTF ? gltf : f == MHRFIT_EXPORT_BVH ? bvh
                            : f == MHRFIT_EXPORT_TRC ? trc : f == MHRFIT_EXPORT_PLY ? ply : f == MHRFIT_EXPORT_OBJ ? obj
                                                                                                        : NULL;
  /* PLY and OBJ to a path of their extension: one mesh file (mf_export_frames()); else a folder */
  bool folder = mhrfit_export_format_per_frame(f) && !(exts && ends_with_ci(path, exts[0]));
  mhrfit_error e = {0};
  char *capture = src->run_dir ? mf_run_capture(src->run_dir, NULL, NULL, &e) : NULL;
  if (e.type == MHRFIT_ERR_NOMEM) return mhrfit_error_set(err, e.type, e.src_file, e.src_line, "%s", e.message);
  const mf_guard_input inputs[4] = {{"--input", src->path},
                                    {"--calib", o->calib},
                                    {"(the run's calibration)", src->calib_path},
                                    {"(the MHR rig)", rig_path}};
  mf_out_rules r = {"--out", folder, folder ? NULL : exts, "export_summary.json", "mhrfit export", src->run_dir, NULL,
                    capture, inputs, 4};
  bool ok = mf_out_check(path, &r, err);
  if (ok && !folder && f == MHRFIT_EXPORT_GLTF) { /* and the <stem>.bin written beside the .gltf */
    size_t n = strlen(path), dot = n;
    for (size_t i = n; i-- > 0 && path[i] != '/';)
      if (path[i] == '.') {
        dot = i;
        break;
      }
    char *b = malloc(dot + 5);
    if (!b) ok = MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
    if (b) {
      memcpy(b, path, dot);
      strcpy(b + dot, ".bin");
      r.exts = bin;
      r.opt = "--out's .bin";
      ok = mf_out_check(b, &r, err);
      /* an earlier glTF export is the pair: a .bin without its .gltf is someone else's */
      if (ok && mf_is_file(b) && !mf_is_file(path))
        ok = MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "--out %s: the .bin beside it, %s, exists without that .gltf (no "
                         "earlier export): choose another output path", path, b);
      free(b);
    }
  }
  free(capture);
  return ok;
}

bool mhrfit_exporter_write(mhrfit_exporter *ex, const char *path, mhrfit_error *err) {
  mhrfit_export_format f = ex->o.format;
  if (f == MHRFIT_EXPORT_AUTO && !mhrfit_export_format_from_path(path, &f, err)) return false;
  if (!mhrfit_export_check_out(ex->src, &ex->o, path, NULL, err)) return false;
  ex->rep.format = f;
  ex->rep.n_files = 0, ex->rep.bytes = 0;
  switch (f) {
    case MHRFIT_EXPORT_GLB:
    case MHRFIT_EXPORT_GLTF:
      if (ex->o.cameras != 0 && !ex->calib && !ex->rep.cameras_note[0] && !load_cameras(ex, err)) return false;
      return mf_export_gltf(ex, f == MHRFIT_EXPORT_GLB, path, NULL, NULL, err);
    case MHRFIT_EXPORT_BVH: return mf_export_bvh(ex, path, err);
    case MHRFIT_EXPORT_TRC: return mf_export_trc(ex, path, err);
    case MHRFIT_EXPORT_PLY:
    case MHRFIT_EXPORT_OBJ:
    case MHRFIT_EXPORT_NPZ: return mf_export_frames(ex, path, err);
    default: return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "%s: unknown export format", path);
  }
}

bool mhrfit_exporter_glb(mhrfit_exporter *ex, unsigned char **data, size_t *len, mhrfit_error *err) {
  if (ex->o.cameras != 0 && !ex->calib && !ex->rep.cameras_note[0] && !load_cameras(ex, err)) return false;
  return mf_export_gltf(ex, true, NULL, data, len, err);
}
