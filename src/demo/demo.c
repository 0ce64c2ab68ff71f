/* The synthetic multi-view capture: see include/mhrfit/demo.h. */
#include "mhrfit/demo.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file.h"
#include "common/lock.h"
#include "common/mem.h"
#include "common/path.h"
#include "demo/scene.h"
#include "io/numpy_io.h"
#include "mhrfit/array.h"
#include "mhrfit/camera.h"
#include "mhrfit/keypoints.h"
#include "mhrfit/npy.h"
#include "mhrfit/rig.h"
#include "mhrfit/sam3d.h"
#include "mhrfit/value.h"

#define NJ 127
#define NK MHRFIT_N_MHR70
#define NP MHRFIT_N_MODEL_PARAMS

void mhrfit_demo_options_init(mhrfit_demo_options *o) {
  memset(o, 0, sizeof *o);
  o->lod = -1;
  o->n_frames = 120;
  o->n_cams = 4;
  o->seed = 1;
  o->fps = 30.0;
  o->width = 1920;
  o->height = 1080;
  o->pixel_noise = 2.0;
  o->outlier_rate = 0.02;
  o->outlier_min_px = 30.0;
  o->outlier_max_px = 150.0;
  o->angle_noise = 0.08;
  o->depth_noise = 0.05;
  o->decoy_rate = 0.1;
  o->missing_views = true;
}

/* ---------------------------------------------------------------- files and folders */

static bool is_frame_name(const char *s) {
  size_t n = strlen(s);
  if (n != 6) return false;
  for (size_t i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

bool mhrfit_demo_check_out(const char *dir, bool overwrite, mhrfit_error *err) {
  if (!dir || !*dir) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "no output folder given");
  if (!mf_is_dir(dir)) {
    struct stat st;
    if (stat(dir, &st) == 0)
      return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "%s exists and is not a folder: choose another --out", dir);
    return true;
  }
  mf_names list = {0};
  if (!mf_list_dir(dir, NULL, false, &list, err)) return false;
  bool empty = list.count == 0 || (list.count == 1 && strcmp(list.items[0], MF_DIR_LOCK_NAME) == 0);
  mf_names_free(&list);
  if (empty) return true;
  char *gt = mf_path_join(dir, "ground_truth.npz", err);
  if (!gt) return false;
  bool demo = mf_is_file(gt);
  free(gt);
  if (!demo)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT,
                       "%s is not empty and holds no ground_truth.npz (not an earlier demo): choose an empty or new "
                       "folder",
                       dir);
  if (!overwrite)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "%s holds an earlier demo (ground_truth.npz): allow overwriting "
                       "(--overwrite) to replace it", dir);
  return true;
}

/* The output folder: checked (mhrfit_demo_check_out()), made when new. */
static bool prepare_out_dir(const char *dir, bool overwrite, mhrfit_error *err) {
  return mhrfit_demo_check_out(dir, overwrite, err) && mf_make_dirs(dir, err);
}

/* Removes the .npz files of folder `fdir` that are not in keep[0..n-1] (stems), and its .jpg
 * pictures that are not there either or all of them when `pictures` is false. */
static void remove_stale_files(const char *fdir, const char *const *keep, size_t n, bool pictures) {
  mf_names list = {0};
  if (!mf_list_dir(fdir, NULL, false, &list, NULL)) return;
  for (size_t i = 0; i < list.count; i++) {
    size_t len = strlen(list.items[i]);
    bool npz = len > 4 && strcmp(list.items[i] + len - 4, ".npz") == 0;
    bool jpg = len > 4 && strcmp(list.items[i] + len - 4, ".jpg") == 0;
    if (!npz && !jpg) continue;
    bool k = false;
    for (size_t j = 0; j < n && !k && (npz || pictures); j++)
      k = len == strlen(keep[j]) + 4 && strncmp(list.items[i], keep[j], len - 4) == 0;
    if (k) continue;
    char *p = mf_path_join(fdir, list.items[i], NULL);
    if (p) unlink(p);
    free(p);
  }
  mf_names_free(&list);
}

/* Removes frame folders of an earlier, longer demo. */
static void remove_stale_frames(const char *dir, size_t n_frames) {
  mf_names list = {0};
  if (!mf_list_dir(dir, NULL, true, &list, NULL)) return;
  for (size_t i = 0; i < list.count; i++) {
    if (!is_frame_name(list.items[i]) || strtoul(list.items[i], NULL, 10) < n_frames) continue;
    char *p = mf_path_join(dir, list.items[i], NULL);
    if (!p) continue;
    remove_stale_files(p, NULL, 0, false);
    rmdir(p);
    free(p);
  }
  mf_names_free(&list);
}

/* ---------------------------------------------------------------- text output */

/* Shortest round-trip text of a double, always with a '.' or exponent (a TOML float). */
static void fmt_float(double x, char *buf, size_t size) {
  mhrfit_format_double(x, buf, size);
  if (!strpbrk(buf, ".eEn")) {
    size_t n = strlen(buf);
    if (n + 2 < size) memcpy(buf + n, ".0", 3);
  }
}

typedef struct strbuf {
  char *data;
  size_t len, cap;
  bool failed;
} strbuf;

static void sb_printf(strbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void sb_printf(strbuf *b, const char *fmt, ...) {
  if (b->failed) return;
  va_list ap;
  va_start(ap, fmt);
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0 || !mf_grow((void **)&b->data, &b->cap, b->len + (size_t)n + 1, 1, NULL)) {
    b->failed = true;
    va_end(ap2);
    return;
  }
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
  va_end(ap2);
  b->len += (size_t)n;
}

static bool sb_write(strbuf *b, const char *path, mhrfit_error *err) {
  if (b->failed) return MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "%s: out of memory", path);
  return mf_write_file_atomic(path, b->data, b->len, err);
}

static void sb_floats(strbuf *b, const double *x, size_t n) {
  char num[64];
  sb_printf(b, "[");
  for (size_t i = 0; i < n; i++) {
    fmt_float(x[i], num, sizeof num);
    sb_printf(b, "%s%s", i ? ", " : "", num);
  }
  sb_printf(b, "]");
}

static bool write_calibration(const char *path, const mhrfit_camera *cams, const double *rvecs, size_t n,
                              uint64_t seed, mhrfit_error *err) {
  strbuf b = {0};
  sb_printf(&b,
            "# Synthetic capture (mhrfit demo, seed %llu): %zu cameras, OpenCV model, extrinsics\n"
            "# world->camera (Xc = R X + t, R from the Rodrigues vector), metres; world frame y up,\n"
            "# floor at y = 0 (see README.txt).\n",
            (unsigned long long)seed, n);
  for (size_t i = 0; i < n; i++) {
    const mhrfit_camera *c = &cams[i];
    const double *rv = rvecs + 3 * i;
    sb_printf(&b, "\n[%s]\nname = \"%s\"\nsize = [%d, %d]\nmatrix = [", c->table, c->name, c->width, c->height);
    for (int r = 0; r < 3; r++) {
      if (r) sb_printf(&b, ", ");
      sb_floats(&b, c->K + 3 * r, 3);
    }
    sb_printf(&b, "]\ndistortions = ");
    sb_floats(&b, c->dist, (size_t)c->n_dist);
    sb_printf(&b, "\nrotation = ");
    sb_floats(&b, rv, 3);
    sb_printf(&b, "\ntranslation = ");
    sb_floats(&b, c->t, 3);
    sb_printf(&b, "\nfisheye = false\n");
  }
  sb_printf(&b, "\n[metadata]\nadjusted = false\nerror = 0.0\n");
  bool ok = sb_write(&b, path, err);
  free(b.data);
  return ok;
}

/* ---------------------------------------------------------------- geometry helpers */

/* F = diag(1, -1, -1): MHR native axes <-> SAM 3D Body camera axes. */
static void to_sam(const double native_cm[3], double out_m[3]) { mhrfit_mhr_to_sam3d(native_cm, out_m); }

static void matmul3(const double A[9], const double B[9], double C[9]) {
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) C[3 * i + j] = A[3 * i] * B[j] + A[3 * i + 1] * B[3 + j] + A[3 * i + 2] * B[6 + j];
}

/* R = Rz(c)·Ry(b)·Rx(a) → (a, b, c) */
static void euler_zyx(const double R[9], double e[3]) {
  e[0] = atan2(R[7], R[8]);
  e[1] = atan2(-R[6], sqrt(R[0] * R[0] + R[3] * R[3]));
  e[2] = atan2(R[3], R[0]);
}

static void world_to_cam(const mhrfit_camera *c, const double X[3], double Xc[3]) {
  for (int a = 0; a < 3; a++) Xc[a] = c->R[3 * a] * X[0] + c->R[3 * a + 1] * X[1] + c->R[3 * a + 2] * X[2] + c->t[a];
}

/* Projects world point X through the camera with distortion; false (uv NaN) when behind the
 * camera, outside the image, or so far outside the field of view that the distortion polynomial
 * would fold it back. */
static bool project_in_image(const mhrfit_camera *c, const double X[3], double uv[2]) {
  double Xc[3];
  world_to_cam(c, X, Xc);
  uv[0] = uv[1] = NAN;
  if (!(Xc[2] > 0.05)) return false;
  double pu = c->K[0] * Xc[0] / Xc[2] + c->K[2], pv = c->K[4] * Xc[1] / Xc[2] + c->K[5];
  if (fabs(pu - 0.5 * c->width) > 0.75 * c->width || fabs(pv - 0.5 * c->height) > 0.75 * c->height) return false;
  if (!mhrfit_camera_project(c, X, uv, NULL)) return false;
  return uv[0] >= 0 && uv[0] < c->width && uv[1] >= 0 && uv[1] < c->height;
}

static bool in_image(const double uv[2], int w, int h) {
  return isfinite(uv[0]) && isfinite(uv[1]) && uv[0] >= 0 && uv[0] < w && uv[1] >= 0 && uv[1] < h;
}

/* Box [x0 y0 x1 y1] around the finite points pts[idx...], padded, clipped to the image; NaN when none. */
static void points_box(const double *pts, const int *idx, int n, double pad_side, double pad_top, double pad_bottom,
                       double min_size, int w, int h, double box[4]) {
  double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
  for (int i = 0; i < n; i++) {
    const double *p = pts + 2 * (idx ? idx[i] : i);
    if (!isfinite(p[0]) || !isfinite(p[1])) continue;
    if (p[0] < x0) x0 = p[0];
    if (p[0] > x1) x1 = p[0];
    if (p[1] < y0) y0 = p[1];
    if (p[1] > y1) y1 = p[1];
  }
  if (!(x1 >= x0)) {
    box[0] = box[1] = box[2] = box[3] = NAN;
    return;
  }
  double bw = x1 - x0, bh = y1 - y0;
  if (bw < min_size) {
    x0 -= 0.5 * (min_size - bw);
    x1 += 0.5 * (min_size - bw);
    bw = min_size;
  }
  if (bh < min_size) {
    y0 -= 0.5 * (min_size - bh);
    y1 += 0.5 * (min_size - bh);
    bh = min_size;
  }
  x0 -= pad_side * bw;
  x1 += pad_side * bw;
  y0 -= pad_top * bh;
  y1 += pad_bottom * bh;
  box[0] = fmax(0.0, x0);
  box[1] = fmax(0.0, y0);
  box[2] = fmin((double)w, x1);
  box[3] = fmin((double)h, y1);
}

/* ---------------------------------------------------------------- one person of a view */

typedef struct person {
  double bbox[4], focal, kp3d[NK * 3], kp2d[NK * 2], cam_t[3], global_rot[3], body_pose[133], joints[NJ * 3],
      rots[NJ * 9], mp[NP], lhand[4], rhand[4];
} person;

typedef struct fkbuf {
  double R[NJ * 9], t[NJ * 3], s[NJ];
} fkbuf;

static const int right_hand_idx[21] = {21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
                                       32, 33, 34, 35, 36, 37, 38, 39, 40, 41};
static const int left_hand_idx[21] = {42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52,
                                      53, 54, 55, 56, 57, 58, 59, 60, 61, 62};

/* Fills the parameter-derived fields of `p` from model parameters m: FK, keypoints, SAM axes. */
static bool person_from_params(const mhrfit_rig *rig, const mhrfit_kpmap *map, const double m[NP], fkbuf *fk,
                               person *p, mhrfit_error *err) {
  mhrfit_fk_pose pose = {fk->R, fk->t, fk->s};
  if (!mhrfit_rig_fk(rig, m, &pose, NULL, err)) return false;
  double kp[NK * 3];
  mhrfit_kpmap_eval(map, &pose, kp);
  for (int k = 0; k < NK; k++) to_sam(kp + 3 * k, p->kp3d + 3 * k);
  for (int j = 0; j < NJ; j++) to_sam(fk->t + 3 * j, p->joints + 3 * j);
  memcpy(p->rots, fk->R, sizeof p->rots);
  memcpy(p->mp, m, sizeof p->mp);
  for (int a = 0; a < 3; a++) p->global_rot[a] = m[3 + a];
  mhrfit_body_pose_from_model(m, p->body_pose);
  for (int i = 62; i < 116; i++) p->body_pose[i] = 0.0; /* SAM 3D Body: hands live in hand_pose_params */
  return true;
}

/* Camera-frame position (metres, SAM axes) of the root joint of `p` → pred_cam_t. */
static void place_person(person *p, const double pelvis_cam[3]) {
  for (int a = 0; a < 3; a++) p->cam_t[a] = pelvis_cam[a] - p->joints[3 + a];
}

/* Projects a person's 3-D keypoints with SAM 3D Body's pinhole (focal, image centre). */
static void sam_project(const person *p, int w, int h, double *uv) {
  for (int k = 0; k < NK; k++) {
    double X = p->kp3d[3 * k] + p->cam_t[0], Y = p->kp3d[3 * k + 1] + p->cam_t[1], Z = p->kp3d[3 * k + 2] + p->cam_t[2];
    if (Z > 0.05) {
      uv[2 * k] = p->focal * X / Z + 0.5 * w;
      uv[2 * k + 1] = p->focal * Y / Z + 0.5 * h;
    } else {
      uv[2 * k] = uv[2 * k + 1] = NAN;
    }
  }
}

static void set_boxes(person *p, const double *uv_clean, int w, int h) {
  points_box(uv_clean, NULL, NK, 0.1, 0.15, 0.05, 0.0, w, h, p->bbox);
  points_box(uv_clean, right_hand_idx, 21, 0.2, 0.2, 0.2, 40.0, w, h, p->rhand);
  points_box(uv_clean, left_hand_idx, 21, 0.2, 0.2, 0.2, 40.0, w, h, p->lhand);
}

/* ---------------------------------------------------------------- arrays */

/* float32 (or float64) array of the inner shape, with a leading person axis when np > 1. */
static mhrfit_array *stack(mhrfit_dtype dt, size_t np, int ndim, const size_t *inner, const double *const *src,
                           mhrfit_error *err) {
  size_t shape[4];
  int nd = 0;
  if (np > 1) shape[nd++] = np;
  for (int i = 0; i < ndim; i++) shape[nd++] = inner[i];
  mhrfit_array *a = mhrfit_array_new(dt, 0, nd, shape, 0, err);
  if (!a) return NULL;
  size_t per = a->count / np;
  for (size_t q = 0; q < np; q++)
    for (size_t i = 0; i < per; i++) {
      double v = src ? src[q][i] : 0.0;
      if (dt == MHRFIT_DT_F32) ((float *)a->data)[q * per + i] = (float)v;
      else ((double *)a->data)[q * per + i] = v;
    }
  return a;
}

#define N_VIEW_KEYS 17

static bool write_view(const char *path, const person *const *ps, size_t np, mhrfit_error *err) {
  static const char *const keys[N_VIEW_KEYS] = {
      "bbox",          "focal_length",     "pred_keypoints_3d", "pred_keypoints_2d", "pred_cam_t",
      "pred_pose_raw", "global_rot",       "body_pose_params",  "hand_pose_params",  "scale_params",
      "shape_params",  "expr_params",      "pred_joint_coords", "pred_global_rots",  "mhr_model_params",
      "lhand_bbox",    "rhand_bbox"};
  mhrfit_array *arr[N_VIEW_KEYS] = {0};
  const double *src[2];
  size_t s1[1], s2[2], s3[3];
  bool ok = true;
#define STACK(i, dt, nd, shp, field)                                  \
  do {                                                                \
    for (size_t q = 0; q < np; q++) src[q] = (const double *)(field); \
    arr[i] = stack(dt, np, nd, shp, src, err);                        \
    ok = ok && arr[i];                                                \
  } while (0)
  s1[0] = 4;
  STACK(0, MHRFIT_DT_F32, 1, s1, ps[q]->bbox);
  STACK(1, MHRFIT_DT_F32, 0, s1, &ps[q]->focal);
  s2[0] = NK, s2[1] = 3;
  STACK(2, MHRFIT_DT_F32, 2, s2, ps[q]->kp3d);
  s2[1] = 2;
  STACK(3, MHRFIT_DT_F32, 2, s2, ps[q]->kp2d);
  s1[0] = 3;
  STACK(4, MHRFIT_DT_F32, 1, s1, ps[q]->cam_t);
  static const size_t zero_len[5] = {266, 108, 28, 45, 72};
  static const int zero_slot[5] = {5, 8, 9, 10, 11};
  for (int z = 0; z < 5 && ok; z++) {
    s1[0] = zero_len[z];
    arr[zero_slot[z]] = stack(MHRFIT_DT_F32, np, 1, s1, NULL, err);
    ok = ok && arr[zero_slot[z]];
  }
  s1[0] = 3;
  STACK(6, MHRFIT_DT_F32, 1, s1, ps[q]->global_rot);
  s1[0] = 133;
  STACK(7, MHRFIT_DT_F32, 1, s1, ps[q]->body_pose);
  s2[0] = NJ, s2[1] = 3;
  STACK(12, MHRFIT_DT_F32, 2, s2, ps[q]->joints);
  s3[0] = NJ, s3[1] = 3, s3[2] = 3;
  STACK(13, MHRFIT_DT_F32, 3, s3, ps[q]->rots);
  s1[0] = NP;
  STACK(14, MHRFIT_DT_F32, 1, s1, ps[q]->mp);
  s1[0] = 4;
  STACK(15, MHRFIT_DT_F64, 1, s1, ps[q]->lhand);
  STACK(16, MHRFIT_DT_F64, 1, s1, ps[q]->rhand);
#undef STACK
  /* a capture file per frame and camera: atomic, not fsynced (a capture is made again at will) */
  if (ok) ok = mf_npz_save_ex(path, N_VIEW_KEYS, keys, (const mhrfit_array *const *)arr, true, 0, NULL, err);
  for (int i = 0; i < N_VIEW_KEYS; i++) mhrfit_array_free(arr[i]);
  return ok;
}

/* ---------------------------------------------------------------- markers */

static bool calibrate_markers(const mhrfit_rig *rig, mhrfit_kpmap *map, const char *source, mhrfit_error *err) {
  int n;
  if (!source) { /* built-in anatomical offsets on the rest pose */
    n = mhrfit_kpmap_calibrate_default(map, rig, err);
  } else {
    mhrfit_value *v = mhrfit_numpy_load(source, NULL, err);
    n = v ? mhrfit_kpmap_calibrate_from_sam3d(map, rig, v, err) : -1;
    mhrfit_value_free(v);
  }
  if (n < 0) {
    if (source) mhrfit_error_prefix(err, "marker source %s", source);
    return false;
  }
  if (n != 21)
    return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: only %d of the 21 surface keypoints are finite",
                       source ? source : "built-in markers", n);
  return true;
}

/* ---------------------------------------------------------------- the generator */

typedef struct gt_arrays {
  mhrfit_array *kp, *joints, *params, *kp2d, *visible, *outlier, *present, *decoy;
} gt_arrays;

static void gt_free(gt_arrays *g) {
  mhrfit_array_free(g->kp);
  mhrfit_array_free(g->joints);
  mhrfit_array_free(g->params);
  mhrfit_array_free(g->kp2d);
  mhrfit_array_free(g->visible);
  mhrfit_array_free(g->outlier);
  mhrfit_array_free(g->present);
  mhrfit_array_free(g->decoy);
}

static mhrfit_array *names_array(size_t n, const char *(*name)(size_t, char *, size_t, const void *), const void *ctx,
                                 mhrfit_error *err) {
  char buf[MHRFIT_CAMERA_NAME_MAX];
  size_t maxlen = 1;
  for (size_t i = 0; i < n; i++) {
    size_t l = strlen(name(i, buf, sizeof buf, ctx));
    if (l > maxlen) maxlen = l;
  }
  size_t shape[1] = {n};
  mhrfit_array *a = mhrfit_array_new(MHRFIT_DT_UNICODE, 4 * maxlen, 1, shape, 0, err);
  if (!a) return NULL;
  for (size_t i = 0; i < n; i++) {
    const char *s = name(i, buf, sizeof buf, ctx);
    uint32_t *d = (uint32_t *)a->data + i * maxlen;
    for (size_t c = 0; s[c]; c++) d[c] = (uint32_t)(unsigned char)s[c];
  }
  return a;
}

static const char *frame_name(size_t i, char *buf, size_t size, const void *ctx) {
  (void)ctx;
  snprintf(buf, size, "%06zu", i);
  return buf;
}

static const char *cam_name(size_t i, char *buf, size_t size, const void *ctx) {
  const mhrfit_camera *cams = ctx;
  snprintf(buf, size, "%s", cams[i].name);
  return buf;
}

static mhrfit_array *scalar(mhrfit_dtype dt, double v, mhrfit_error *err) {
  mhrfit_array *a = mhrfit_array_new(dt, 0, 0, NULL, 0, err);
  if (!a) return NULL;
  if (dt == MHRFIT_DT_F64) *(double *)a->data = v;
  else if (dt == MHRFIT_DT_I64) *(int64_t *)a->data = (int64_t)v;
  return a;
}

static bool write_ground_truth(const char *path, gt_arrays *g, const mhrfit_camera *cams, size_t F, size_t V,
                               const mhrfit_demo_options *o, size_t n_stand, long one_view, mhrfit_error *err) {
  mhrfit_array *extra[9] = {0};
  extra[0] = names_array(V, cam_name, cams, err);
  extra[1] = names_array(F, frame_name, NULL, err);
  extra[2] = scalar(MHRFIT_DT_F64, o->fps, err);
  extra[3] = scalar(MHRFIT_DT_I64, (double)n_stand, err);
  extra[4] = scalar(MHRFIT_DT_I64, (double)one_view, err);
  extra[5] = scalar(MHRFIT_DT_F64, o->pixel_noise, err);
  extra[6] = mhrfit_array_new(MHRFIT_DT_U64, 0, 0, NULL, 0, err);
  if (extra[6]) *(uint64_t *)extra[6]->data = o->seed;
  extra[7] = scalar(MHRFIT_DT_F64, sqrt((double)o->width * o->width + (double)o->height * o->height), err);
  size_t sz[1] = {2};
  extra[8] = mhrfit_array_new(MHRFIT_DT_I64, 0, 1, sz, 0, err);
  if (extra[8]) ((int64_t *)extra[8]->data)[0] = o->width, ((int64_t *)extra[8]->data)[1] = o->height;
  bool ok = true;
  for (int i = 0; i < 9; i++) ok = ok && extra[i];
  const char *names[17] = {"keypoints_3d", "joints_3d", "model_params", "keypoints_2d", "visible", "outlier",
                           "view_present", "decoy_first", "cams", "frames", "fps", "standing_frames",
                           "one_view_frame", "pixel_noise", "seed", "sam_focal_length", "image_size"};
  const mhrfit_array *arrs[17] = {g->kp,      g->joints, g->params, g->kp2d,   g->visible, g->outlier,
                                  g->present, g->decoy,  extra[0],  extra[1],  extra[2],   extra[3],
                                  extra[4],   extra[5],  extra[6],  extra[7],  extra[8]};
  if (ok) ok = mhrfit_npz_save(path, 17, names, arrs, true, err);
  for (int i = 0; i < 9; i++) mhrfit_array_free(extra[i]);
  return ok;
}

static bool write_readme(const char *path, const mhrfit_demo_options *o, const mhrfit_camera *cams,
                         const mhrfit_demo_summary *s, mhrfit_error *err) {
  strbuf b = {0};
  size_t F = s->n_frames, V = s->n_cams;
  sb_printf(&b,
            "Synthetic multi-view capture written by `mhrfit demo` (seed %llu)\n"
            "================================================================\n\n"
            "One person, filmed by %zu calibrated cameras for %zu frames at %g fps, as a user of mhrfit would\n"
            "have it after running SAM 3D Body on every image. Everything is generated from the official MHR\n"
            "rig; the true motion is in ground_truth.npz.\n\n",
            (unsigned long long)o->seed, V, F, o->fps);
  sb_printf(&b,
            "Files\n-----\n"
            "calibration.toml     the cameras (Caliscope/Anipose TOML: [cam_N] with name, size, matrix,\n"
            "                     distortions k1 k2 p1 p2 k3, rotation (Rodrigues), translation in metres;\n"
            "                     world->camera: Xc = R X + t)\n"
            "<frame>/<cam>.npz    frames 000000..%06zu, cameras", F ? F - 1 : 0);
  for (size_t v = 0; v < V; v++) sb_printf(&b, " %s", cams[v].name);
  sb_printf(&b,
            ": the SAM 3D Body output of that\n"
            "                     view (float32; keys and conventions of SAM 3D Body, see below)\n"
            "ground_truth.npz     the truth (below)\n\n");
  sb_printf(&b,
            "World frame\n-----------\n"
            "Metres, right-handed, y up, floor at y = 0: the MHR native axes in metres, so the true model\n"
            "parameters place the body in the world directly (root translation in decimetres, as MHR defines\n"
            "it). At frame 0 the subject stands at the origin facing +z, its left side towards +x. The cameras\n"
            "stand on a ring of 3-4 m around it, 1.2-2.0 m high, 1920 x 1080 (unless changed), fx 1400-1800 px,\n"
            "mild lens distortion.\n\n");
  sb_printf(&b, "Motion\n------\n");
  if (s->standing_frames == 0)
    sb_printf(&b, "(This capture is too short for the standing part: it starts at the step.)\n");
  sb_printf(&b,
            "Frames 000000..%06zu (%zu frames): standing still on both feet (root and lower-body parameters\n"
            "exactly constant) while the upper body moves: right arm raised sideways with a waving hand, left\n"
            "arm raised forwards, torso twist, head turns, fists closing and opening. Then a step forward (right\n"
            "leg, then left) and a 90 degree turn to the left. All parameters are smooth in time and within the\n"
            "limits of compact_v6_1.model; the identity (scale parameters) is fixed.\n\n",
            s->standing_frames ? s->standing_frames - 1 : 0, s->standing_frames);
  sb_printf(&b,
            "Per-view files (SAM 3D Body conventions)\n----------------------------------------\n"
            "bbox (4: x0 y0 x1 y1 px), focal_length (SAM 3D Body's default sqrt(W^2 + H^2) px, not the true\n"
            "focal length), pred_keypoints_3d (70,3) and pred_joint_coords (127,3) in metres, camera axes (x\n"
            "right, y down, z forward), relative to the MHR origin; pred_cam_t (3) places that origin in the\n"
            "camera frame (camera-frame point = pred_keypoints_3d + pred_cam_t); global_rot (3) =\n"
            "mhr_model_params[3:6]; body_pose_params (133) = mhr_model_params[6:136] with the hand block\n"
            "62..115 and the jaw zero; mhr_model_params (204); pred_global_rots (127,3,3) in MHR native axes;\n"
            "lhand_bbox, rhand_bbox (float64). hand_pose_params, scale_params, shape_params, expr_params and\n"
            "pred_pose_raw are zeros (PCA coefficients of the SAM 3D Body checkpoint; the decoded values are\n"
            "in mhr_model_params). There is no pred_vertices.\n\n"
            "The 3-D content of a view is the truth as a monocular estimate errs: global rotation off by a few\n"
            "degrees, limb and finger angles with Gaussian noise (sigma %g rad), scales slightly off, and the\n"
            "depth wrong by the ratio of SAM 3D Body's focal length to the true one times a random factor\n"
            "(sigma %g); it is consistent in itself (MHR forward kinematics of the view's mhr_model_params).\n\n",
            o->angle_noise, o->depth_noise);
  sb_printf(&b,
            "pred_keypoints_2d (70,2) are the true keypoints projected through the calibrated camera\n"
            "(distortion included) plus Gaussian noise (sigma %g px per axis), with about %g %% gross outliers\n"
            "(%g-%g px in a random direction). A keypoint is NaN when it is outside the image or self-occluded:\n"
            "the torso is an elliptic cylinder from the mid-hips to the neck (semi-axes 0.16 m sideways, 0.11 m\n"
            "front-back); a keypoint outside it is hidden when the ray from the camera crosses the cylinder\n"
            "first; a keypoint inside it (hips, acromions) is hidden when more than 6 cm behind the torso axis\n"
            "as seen from the camera; nose, eyes and ears are hidden when they face away from the camera.\n\n",
            o->pixel_noise, 100.0 * o->outlier_rate, o->outlier_min_px, o->outlier_max_px);
  sb_printf(&b,
            "Traps, as in real captures\n--------------------------\n"
            "* %zu view(s) hold a second, smaller person (a child-sized copy, farther away) LISTED FIRST: there\n"
            "  every per-person array has a leading person axis (decoy, subject), e.g. pred_keypoints_2d\n"
            "  (2,70,2) and bbox (2,4). Selecting the first person is wrong; the largest bbox is right.\n"
            "  ground_truth.npz decoy_first (F,V) lists them.\n"
            "* %zu camera file(s) are missing (view_present in ground_truth.npz).\n",
            s->n_decoy_views, s->n_missing);
  if (s->one_view_frame >= 0)
    sb_printf(&b, "* Frame %06ld is seen by one camera only: too few views to triangulate.\n", s->one_view_frame);
  sb_printf(&b,
            "\nground_truth.npz\n----------------\n"
            "keypoints_3d (F,70,3) and joints_3d (F,127,3): world metres; model_params (F,204): the true MHR\n"
            "parameters in the world frame; keypoints_2d (F,V,70,2): noise-free projections (NaN outside the\n"
            "image); visible (F,V,70): written as finite values; outlier (F,V,70): gross outliers;\n"
            "view_present (F,V); decoy_first (F,V); cams (V); frames (F); fps; standing_frames;\n"
            "one_view_frame (-1 when none); pixel_noise; seed; sam_focal_length; image_size.\n\n");
  char cams_list[1024] = "";
  for (size_t v = 0; v < V; v++) {
    size_t l = strlen(cams_list);
    snprintf(cams_list + l, sizeof cams_list - l, "%s%s", v ? " " : "", cams[v].name);
  }
  sb_printf(&b,
            "Using it\n--------\n"
            "Triangulate a frame with the robust multi-view triangulation of mhrfit (stage 2):\n\n"
            "  mhrfit triangulate --calib DIR/calibration.toml --cams %s \\\n"
            "    --input DIR/%06ld --out tri.npz\n\n"
            "(DIR = this folder; add --allow_missing_views for frames with a missing camera file.) The points\n"
            "(points3d_refined, world metres) compare directly with keypoints_3d of ground_truth.npz.\n"
            "mhrfit triangulate reads person --person_index (default 0) of a multi-person view, which here is\n"
            "the decoy: in frames with a decoy view it triangulates the wrong person there (and relies on its\n"
            "outlier rejection); selecting the person with the largest bbox, as mhrfit ingest does, is right.\n\n"
            "The whole pipeline (triangulation, MHR fit, recovery, smoothing) runs on it too:\n\n"
            "  mhrfit run --input DIR --calib DIR/calibration.toml --cams %s --out RUN_DIR\n",
            cams_list, s->example_frame >= 0 ? s->example_frame : 0L, cams_list);
  bool ok = sb_write(&b, path, err);
  free(b.data);
  return ok;
}

bool mhrfit_demo_write(const char *out_dir, const mhrfit_demo_options *opts, mhrfit_demo_summary *summary,
                       mhrfit_error *err) {
  mhrfit_demo_options o;
  if (opts) o = *opts;
  else mhrfit_demo_options_init(&o);
  if (!out_dir || !*out_dir) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "no output folder given");
  if (!o.assets || !*o.assets)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT,
                       "no MHR assets folder (the folder of compact_v6_1.model) or rig file given");
  if (o.n_frames < 1 || o.n_frames > 100000)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "frames: %zu is out of range (1..100000)", o.n_frames);
  if (o.n_cams < 2 || o.n_cams > 16)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "cams: %zu is out of range (2..16)", o.n_cams);
  if (!(o.fps > 0) || !isfinite(o.fps)) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "fps must be positive");
  if (o.width < 64 || o.height < 64 || o.width > 16384 || o.height > 16384)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "image size %dx%d is out of range (64..16384)", o.width, o.height);
  if (!(o.pixel_noise >= 0) || !(o.angle_noise >= 0) || !(o.depth_noise >= 0) || !(o.depth_noise < 0.5) ||
      !isfinite(o.pixel_noise) || !isfinite(o.angle_noise))
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "noise levels must be finite and >= 0 (depth noise < 0.5)");
  if (!(o.outlier_rate >= 0 && o.outlier_rate <= 1) || !(o.decoy_rate >= 0 && o.decoy_rate <= 1))
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "outlier and decoy rates must be within [0, 1]");
  if (!(o.outlier_min_px >= 0 && o.outlier_max_px >= o.outlier_min_px && isfinite(o.outlier_max_px)))
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "outlier displacements need 0 <= min <= max");

  const size_t F = o.n_frames, V = o.n_cams, n_stand = mf_demo_standing_frames(F);
  const int W = o.width, H = o.height;
  const double f_sam = sqrt((double)W * W + (double)H * H);
  bool ok = false;
  mhrfit_rig *rig = NULL;
  mhrfit_kpmap *map = NULL;
  mhrfit_camera *cams = NULL;
  double *rvecs = NULL;
  unsigned char *present = NULL, *decoy = NULL;
  fkbuf *fk = NULL;
  person *ps = NULL;
  char *path = NULL, *fdir = NULL;
  gt_arrays g = {0};
  mf_demo_pictures pics = {0};
  mhrfit_demo_summary s;
  memset(&s, 0, sizeof s);
  s.n_frames = F, s.n_cams = V, s.standing_frames = n_stand, s.one_view_frame = -1, s.example_frame = -1;

  if (!prepare_out_dir(out_dir, o.overwrite, err)) return false;
  bool unclean = false;
  mf_dir_lock *lock = mf_dir_lock_acquire(out_dir, "mhrfit demo", &unclean, err);
  if (!lock) return false;
  if (unclean) mf_remove_stale_temps(out_dir, 1);
  rig = mhrfit_rig_open(o.assets, o.lod, MHRFIT_RIG_NO_CORRECTIVE_BLENDSHAPES, err);
  if (!rig) goto done;
  if (rig->n_joints != NJ || rig->n_params != NP) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: expected the MHR rig (127 joints, 204 parameters), got %zu and %zu",
                o.assets, rig->n_joints, rig->n_params);
    goto done;
  }
  map = mhrfit_kpmap_new_mhr70(rig, err);
  fk = mf_calloc_array(3, sizeof *fk, err);
  ps = mf_calloc_array(2, sizeof *ps, err);
  cams = mf_calloc_array(V, sizeof *cams, err);
  rvecs = mf_calloc_array(3 * V, sizeof *rvecs, err);
  present = mf_calloc_array(F * V, 1, err);
  decoy = mf_calloc_array(F * V, 1, err);
  path = mf_malloc_array(strlen(out_dir) + 64, 1, err);
  fdir = mf_malloc_array(strlen(out_dir) + 16, 1, err);
  if (!map || !fk || !ps || !cams || !rvecs || !present || !decoy || !path || !fdir) goto done;
  if (!calibrate_markers(rig, map, o.marker_source, err)) goto done;
  if (o.images && !mf_demo_pictures_init(&pics, rig, W, H, err)) goto done;

  /* the identity and the height that puts the feet on the floor at frame 0 */
  double scales[68], m[NP], root_ty;
  mf_demo_identity(rig, scales);
  {
    mf_demo_motion(rig, 0, F, scales, 0.0, m);
    mhrfit_fk_pose pose = {fk[0].R, fk[0].t, fk[0].s};
    if (!mhrfit_rig_fk(rig, m, &pose, NULL, err)) goto done;
    double kp[NK * 3], lo = INFINITY;
    mhrfit_kpmap_eval(map, &pose, kp);
    for (int k = 13; k <= 20; k++) lo = fmin(lo, kp[3 * k + 1]);
    root_ty = -lo / 10.0; /* decimetres */
  }

  /* cameras and the schedule of missing views and decoys */
  for (size_t v = 0; v < V; v++) mf_demo_camera(o.seed, v, V, W, H, &cams[v], rvecs + 3 * v);
  memset(present, 1, F * V);
  {
    mf_rng r;
    mf_rng_seed(&r, o.seed, 3, 0);
    if (o.missing_views && F >= 3) {
      size_t f1 = F / 3 + mf_rng_index(&r, F - F / 3), keep = mf_rng_index(&r, V);
      for (size_t v = 0; v < V; v++) present[f1 * V + v] = v == keep;
      s.one_view_frame = (long)f1;
      size_t n_miss = F / 40 > 1 ? F / 40 : 1;
      for (size_t i = 0, tries = 0; i < n_miss && tries < 1000; tries++) {
        size_t f = mf_rng_index(&r, F), v = mf_rng_index(&r, V);
        if (f == f1 || !present[f * V + v]) continue;
        bool frame_has_missing = false;
        for (size_t w = 0; w < V; w++) frame_has_missing = frame_has_missing || !present[f * V + w];
        if (frame_has_missing) continue;
        present[f * V + v] = 0;
        i++;
      }
    }
    size_t eligible = 0;
    for (size_t f = 0; f < F; f++)
      for (size_t v = 0; v < V; v++) {
        bool ok_view = present[f * V + v] && (long)f != s.one_view_frame;
        eligible += ok_view;
        if (ok_view && mf_rng_uniform(&r) < o.decoy_rate) decoy[f * V + v] = 1, s.n_decoy_views++;
      }
    if (o.decoy_rate > 0 && s.n_decoy_views == 0 && eligible > 0) {
      size_t pick = mf_rng_index(&r, eligible), i = 0;
      for (size_t fv = 0; fv < F * V; fv++) {
        if (!present[fv] || (long)(fv / V) == s.one_view_frame) continue;
        if (i++ == pick) {
          decoy[fv] = 1;
          s.n_decoy_views = 1;
          break;
        }
      }
    }
  }

  /* ground-truth arrays */
  {
    size_t sk[3] = {F, NK, 3}, sj[3] = {F, NJ, 3}, sp[2] = {F, NP}, s2[4] = {F, V, NK, 2}, sv[3] = {F, V, NK},
           sfv[2] = {F, V};
    g.kp = mhrfit_array_new(MHRFIT_DT_F32, 0, 3, sk, 0, err);
    g.joints = mhrfit_array_new(MHRFIT_DT_F32, 0, 3, sj, 0, err);
    g.params = mhrfit_array_new(MHRFIT_DT_F32, 0, 2, sp, 0, err);
    g.kp2d = mhrfit_array_new(MHRFIT_DT_F32, 0, 4, s2, 0, err);
    g.visible = mhrfit_array_new(MHRFIT_DT_BOOL, 0, 3, sv, 0, err);
    g.outlier = mhrfit_array_new(MHRFIT_DT_BOOL, 0, 3, sv, 0, err);
    g.present = mhrfit_array_new(MHRFIT_DT_BOOL, 0, 2, sfv, 0, err);
    g.decoy = mhrfit_array_new(MHRFIT_DT_BOOL, 0, 2, sfv, 0, err);
    if (!g.kp || !g.joints || !g.params || !g.kp2d || !g.visible || !g.outlier || !g.present || !g.decoy) goto done;
    memcpy(g.present->data, present, F * V);
    memcpy(g.decoy->data, decoy, F * V);
  }

  snprintf(path, strlen(out_dir) + 64, "%s/calibration.toml", out_dir);
  if (!write_calibration(path, cams, rvecs, V, o.seed, err)) goto done;

  for (size_t f = 0; f < F; f++) {
    /* the truth */
    mf_demo_motion(rig, f, F, scales, root_ty, m);
    mhrfit_fk_pose pose = {fk[0].R, fk[0].t, fk[0].s};
    if (!mhrfit_rig_fk(rig, m, &pose, NULL, err)) goto done;
    double kpw[NK * 3], root_w[3];
    mhrfit_kpmap_eval(map, &pose, kpw);
    for (int i = 0; i < NK * 3; i++) kpw[i] /= 100.0;
    for (int a = 0; a < 3; a++) root_w[a] = fk[0].t[3 + a] / 100.0;
    double R_root[9];
    memcpy(R_root, fk[0].R + 9, sizeof R_root);
    for (int i = 0; i < NK * 3; i++) ((float *)g.kp->data)[f * NK * 3 + (size_t)i] = (float)kpw[i];
    for (int i = 0; i < NJ * 3; i++) ((float *)g.joints->data)[f * NJ * 3 + (size_t)i] = (float)(fk[0].t[i] / 100.0);
    for (int i = 0; i < NP; i++) ((float *)g.params->data)[f * NP + (size_t)i] = (float)m[i];
    if (o.images) mf_demo_pictures_mesh(&pics, rig, &pose);

    snprintf(fdir, strlen(out_dir) + 16, "%s/%06zu", out_dir, f);
    if (!mf_make_dirs(fdir, err)) goto done;
    const char *written[16];
    size_t n_written = 0;
    for (size_t v = 0; v < V; v++) {
      const mhrfit_camera *c = &cams[v];
      size_t fv = f * V + v;
      mf_rng r;
      mf_rng_seed(&r, o.seed, 10, fv);
      double C[3], clean[NK * 2];
      mhrfit_camera_center(c, C);
      person *p = &ps[1];
      memset(p, 0, sizeof *p);
      bool vis[NK];
      for (int k = 0; k < NK; k++) {
        bool in = project_in_image(c, kpw + 3 * k, clean + 2 * k);
        if (!in) { /* keep the projection for the box when it is in front of the camera */
          double Xc[3];
          world_to_cam(c, kpw + 3 * k, Xc);
          if (Xc[2] > 0.05) mhrfit_camera_project(c, kpw + 3 * k, clean + 2 * k, NULL);
        }
        vis[k] = in && !mf_demo_occluded(kpw, k, C);
        float *dst = (float *)g.kp2d->data + (fv * NK + (size_t)k) * 2;
        dst[0] = in ? (float)clean[2 * k] : NAN;
        dst[1] = in ? (float)clean[2 * k + 1] : NAN;
      }
      /* observed 2-D keypoints: noise, outliers, drops (the draws do not depend on visibility) */
      for (int k = 0; k < NK; k++) {
        double nx = mf_rng_normal(&r), ny = mf_rng_normal(&r), uo = mf_rng_uniform(&r);
        double ang = mf_rng_range(&r, 0, 6.283185307179586), mag = mf_rng_range(&r, o.outlier_min_px, o.outlier_max_px);
        double *uv = p->kp2d + 2 * k;
        uv[0] = uv[1] = NAN;
        if (!vis[k] || !present[fv]) continue;
        uv[0] = clean[2 * k] + o.pixel_noise * nx;
        uv[1] = clean[2 * k + 1] + o.pixel_noise * ny;
        bool outl = uo < o.outlier_rate;
        if (outl) uv[0] += mag * cos(ang), uv[1] += mag * sin(ang);
        if (!in_image(uv, W, H)) {
          uv[0] = uv[1] = NAN;
          continue;
        }
        ((unsigned char *)g.visible->data)[fv * NK + (size_t)k] = 1;
        ((unsigned char *)g.outlier->data)[fv * NK + (size_t)k] = outl;
        s.n_outliers += outl;
      }
      /* the view's monocular estimate */
      double me[NP];
      memcpy(me, m, sizeof me);
      double Fm[9] = {1, 0, 0, 0, -1, 0, 0, 0, -1}, A[9], B[9], Rn[9], rn[3];
      for (int a = 0; a < 3; a++) rn[a] = 0.5 * o.angle_noise * mf_rng_normal(&r);
      mhrfit_rodrigues_to_matrix(rn, Rn);
      matmul3(Fm, c->R, A);
      matmul3(A, R_root, B);
      matmul3(Rn, B, A);
      me[0] = me[1] = me[2] = 0.0;
      euler_zyx(A, me + 3);
      for (int q = 6; q < 204; q++) {
        double lo = 0, hi = 0;
        bool lim = false;
        for (size_t li = 0; li < rig->n_limits; li++)
          if (rig->limits[li].param == q) lo = rig->limits[li].min, hi = rig->limits[li].max, lim = true;
        double nz = mf_rng_normal(&r);
        if (!lim || !(hi > lo)) continue;
        if (q < 130) me[q] = mf_demo_clamp(rig, q, me[q] + o.angle_noise * nz);
        else if (q >= 136) me[q] = mf_demo_clamp(rig, q, me[q] + 0.03 * nz);
      }
      if (!person_from_params(rig, map, me, &fk[1], p, err)) goto done;
      p->focal = f_sam;
      /* depth: SAM 3D Body's focal length instead of the true one, and a random error */
      double Pc[3];
      world_to_cam(c, root_w, Pc);
      double pu = c->K[0] * Pc[0] / Pc[2] + c->K[1] * Pc[1] / Pc[2] + c->K[2], pv = c->K[4] * Pc[1] / Pc[2] + c->K[5];
      double depth = fmax(0.5, 1.0 + o.depth_noise * mf_rng_normal(&r));
      double Pe[3];
      Pe[2] = Pc[2] * (f_sam / c->K[0]) * depth;
      Pe[0] = (pu - 0.5 * W) * Pe[2] / f_sam;
      Pe[1] = (pv - 0.5 * H) * Pe[2] / f_sam;
      place_person(p, Pe);
      set_boxes(p, clean, W, H);
      for (int k = 0; k < NK && present[fv]; k++) {
        if (isfinite(p->kp2d[2 * k])) s.n_visible++;
        else s.n_hidden++;
      }
      if (!present[fv]) {
        for (int k = 0; k < NK; k++) ((unsigned char *)g.visible->data)[fv * NK + (size_t)k] = 0;
        continue;
      }
      const person *list[2] = {p, NULL};
      size_t np = 1;
      if (decoy[fv]) { /* a child-sized copy, farther away and to the side, listed first */
        person *d = &ps[0];
        memset(d, 0, sizeof *d);
        double md[NP];
        memcpy(md, me, sizeof md);
        static const struct {
          const char *name;
          double v;
        } child[] = {{"scale_spine_length", -0.7}, {"scale_uparms", -0.5}, {"scale_lowarms", -0.5},
                     {"scale_uplegs", -0.45},      {"scale_lowlegs", -0.6}, {"scale_shoulder_width", -0.2},
                     {"scale_hip_width", -0.3},    {"scale_neck_length", -0.2}};
        for (size_t i = 0; i < sizeof child / sizeof child[0]; i++) {
          long q = mhrfit_rig_param_index(rig, child[i].name);
          if (q >= 0) md[q] = mf_demo_clamp(rig, (int)q, child[i].v);
        }
        md[4] += mf_rng_range(&r, -0.8, 0.8);
        if (!person_from_params(rig, map, md, &fk[2], d, err)) goto done;
        d->focal = f_sam;
        double cx_main = 0.5 * (p->bbox[0] + p->bbox[2]);
        double ud = cx_main < 0.5 * W ? 0.8 * W : 0.2 * W;
        double area_main = (p->bbox[2] - p->bbox[0]) * (p->bbox[3] - p->bbox[1]), area_d = INFINITY;
        double dclean[NK * 2];
        /* farther away until its box is clearly the smaller one (the subject may be cut by the image border) */
        for (int tries = 0; tries < 4 && !(area_d < 0.5 * area_main); tries++) {
          double Pd[3];
          Pd[2] = 1.5 * pow(1.4, tries) * Pe[2];
          Pd[0] = (ud - 0.5 * W) * Pd[2] / f_sam;
          Pd[1] = (pv - 0.5 * H) * Pd[2] / f_sam;
          place_person(d, Pd);
          sam_project(d, W, H, dclean);
          set_boxes(d, dclean, W, H);
          area_d = (d->bbox[2] - d->bbox[0]) * (d->bbox[3] - d->bbox[1]);
        }
        if (!(area_d < 0.5 * area_main)) { /* no room for a second person in this view */
          decoy[fv] = 0;
          ((unsigned char *)g.decoy->data)[fv] = 0;
          s.n_decoy_views--;
        }
      }
      if (decoy[fv]) {
        person *d = &ps[0];
        double dclean[NK * 2];
        sam_project(d, W, H, dclean);
        for (int k = 0; k < NK; k++) {
          double nx = mf_rng_normal(&r), ny = mf_rng_normal(&r);
          double *uv = d->kp2d + 2 * k;
          uv[0] = dclean[2 * k] + o.pixel_noise * nx;
          uv[1] = dclean[2 * k + 1] + o.pixel_noise * ny;
          if (!in_image(uv, W, H)) uv[0] = uv[1] = NAN;
        }
        list[0] = d;
        list[1] = p;
        np = 2;
      }
      snprintf(path, strlen(out_dir) + 64, "%s/%s.npz", fdir, c->name);
      if (!write_view(path, list, np, err)) goto done;
      snprintf(path, strlen(out_dir) + 64, "%s/%s.jpg", fdir, c->name);
      if (o.images && !mf_demo_pictures_write(&pics, rig, c, path, err)) goto done;
      written[n_written++] = c->name;
      s.n_files++;
    }
    remove_stale_files(fdir, written, n_written, o.images);
  }
  for (size_t fv = 0; fv < F * V; fv++) s.n_missing += !present[fv];
  for (size_t f = 0; f < F && s.example_frame < 0; f++) {
    bool good = true;
    for (size_t v = 0; v < V; v++) good = good && present[f * V + v] && !decoy[f * V + v];
    if (good) s.example_frame = (long)f;
  }
  remove_stale_frames(out_dir, F);
  snprintf(path, strlen(out_dir) + 64, "%s/ground_truth.npz", out_dir);
  if (!write_ground_truth(path, &g, cams, F, V, &o, n_stand, s.one_view_frame, err)) goto done;
  snprintf(path, strlen(out_dir) + 64, "%s/README.txt", out_dir);
  if (!write_readme(path, &o, cams, &s, err)) goto done;
  if (summary) *summary = s;
  ok = true;
done:
  mf_demo_pictures_free(&pics);
  gt_free(&g);
  free(path);
  free(fdir);
  free(present);
  free(decoy);
  free(cams);
  free(rvecs);
  free(ps);
  free(fk);
  mhrfit_kpmap_free(map);
  mhrfit_rig_free(rig);
  mf_dir_lock_release(lock);
  return ok;
}
