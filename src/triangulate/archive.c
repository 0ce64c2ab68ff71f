/* Triangulation archives (`triangulated.npz`): see include/mhrfit/triangulate.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/file.h"
#include "common/hash.h"
#include "common/path.h"
#include "io/npz_writer.h"
#include "mhrfit/npy.h"
#include "mhrfit/triangulate.h"
#include "mhrfit/value.h"

static char **copy_strings(const char *const *s, size_t n) {
  char **out = calloc(n ? n : 1, sizeof *out);
  if (!out) return NULL;
  for (size_t i = 0; i < n; i++) {
    const char *src = s ? s[i] : "";
    size_t len = strlen(src);
    out[i] = malloc(len + 1);
    if (!out[i]) {
      for (size_t j = 0; j < i; j++) free(out[j]);
      free(out);
      return NULL;
    }
    memcpy(out[i], src, len + 1);
  }
  return out;
}

static void free_strings(char **s, size_t n) {
  if (!s) return;
  for (size_t i = 0; i < n; i++) free(s[i]);
  free(s);
}

mhrfit_tri_archive *mhrfit_tri_archive_new(size_t n_frames, size_t n_kp, size_t n_views, const char *const *names,
                                           const char *const *cams, mhrfit_error *err) {
  if (!n_frames || !n_kp || !n_views) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "triangulation archive: empty size (frames %zu, keypoints %zu, views %zu)",
                n_frames, n_kp, n_views);
    return NULL;
  }
  mhrfit_tri_archive *a = calloc(1, sizeof *a);
  size_t FK = n_frames * n_kp, FKV = FK * n_views;
  if (a) {
    a->n_frames = n_frames;
    a->n_kp = n_kp;
    a->n_views = n_views;
    a->frame_axis = true;
    a->points = malloc(FK * 3 * sizeof *a->points);
    a->points_init = malloc(FK * 3 * sizeof *a->points_init);
    a->inliers = calloc(FKV, 1);
    a->reproj_err = malloc(FKV * sizeof *a->reproj_err);
    a->n_views_used = calloc(FK, sizeof *a->n_views_used);
    a->reason = calloc(FK, sizeof *a->reason);
    a->mean_px = malloc(n_views * sizeof *a->mean_px);
    a->subset_idx = calloc(n_kp, sizeof *a->subset_idx);
    a->subset_names = copy_strings(names, n_kp);
    a->cams = copy_strings(cams, n_views);
  }
  if (!a || !a->points || !a->points_init || !a->inliers || !a->reproj_err || !a->n_views_used || !a->reason ||
      !a->mean_px || !a->subset_idx || !a->subset_names || !a->cams) {
    mhrfit_tri_archive_free(a);
    MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory for a triangulation archive of %zu frames", n_frames);
    return NULL;
  }
  for (size_t i = 0; i < FK * 3; i++) a->points[i] = a->points_init[i] = NAN;
  for (size_t i = 0; i < FKV; i++) a->reproj_err[i] = NAN;
  for (size_t v = 0; v < n_views; v++) a->mean_px[v] = NAN;
  for (size_t k = 0; k < n_kp; k++) a->subset_idx[k] = (int32_t)k;
  strcpy(a->method, "default");
  a->threshold_px = NAN;
  return a;
}

void mhrfit_tri_archive_update_mean(mhrfit_tri_archive *a) {
  size_t FK = a->n_frames * a->n_kp, V = a->n_views;
  for (size_t v = 0; v < V; v++) {
    double s = 0;
    size_t n = 0;
    for (size_t i = 0; i < FK; i++)
      if (a->inliers[i * V + v] && isfinite(a->reproj_err[i * V + v])) {
        s += a->reproj_err[i * V + v];
        n++;
      }
    a->mean_px[v] = n ? s / (double)n : NAN;
  }
}

void mhrfit_tri_archive_free(mhrfit_tri_archive *a) {
  if (!a) return;
  free(a->points);
  free(a->points_init);
  free(a->inliers);
  free(a->reproj_err);
  free(a->n_views_used);
  free(a->reason);
  free(a->mean_px);
  free(a->subset_idx);
  free_strings(a->subset_names, a->n_kp);
  free_strings(a->cams, a->n_views);
  free_strings(a->source_frames, a->n_frames);
  free_strings(a->source_xxh64, a->n_frames * a->n_views);
  free(a->det_uv);
  free(a->det_conf);
  free(a);
}

/* The xxHash64 of camera `cam`'s file in `dir` as 16 hex digits; "" when it has none. */
static bool camera_file_hash(const char *dir, const char *cam, char hex[17], mhrfit_error *err) {
  hex[0] = '\0';
  char *p = mf_camera_file(dir, cam, err);
  if (!p) return !err || err->type == MHRFIT_ERR_NONE;
  unsigned char *data;
  size_t len;
  bool ok = mf_read_file(p, 0, &data, &len, err);
  free(p);
  if (!ok) return false;
  snprintf(hex, 17, "%016llx", (unsigned long long)mf_xxh64_buffer(data, len));
  free(data);
  return true;
}

/* The last path component of `dir` (trailing slashes left out) as [*start, *start + len). */
static size_t folder_name(const char *dir, size_t *start) {
  size_t n = strlen(dir);
  while (n > 1 && dir[n - 1] == '/') n--;
  size_t b = n;
  while (b > 0 && dir[b - 1] != '/') b--;
  *start = b;
  return n - b;
}

bool mhrfit_tri_archive_set_sources(mhrfit_tri_archive *a, size_t frame, const char *dir, mhrfit_error *err) {
  size_t F = a->n_frames, V = a->n_views;
  if (frame >= F) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "frame %zu of an archive of %zu frames", frame, F);
  if (!a->source_frames) a->source_frames = copy_strings(NULL, F);
  if (!a->source_xxh64) a->source_xxh64 = copy_strings(NULL, F * V);
  if (!a->source_frames || !a->source_xxh64) return MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
  size_t b, len = folder_name(dir, &b);
  char *name = malloc(len + 1);
  if (!name) return MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
  memcpy(name, dir + b, len);
  name[len] = '\0';
  free(a->source_frames[frame]);
  a->source_frames[frame] = name;
  for (size_t v = 0; v < V; v++) {
    char hex[17];
    mhrfit_error e = {0};
    if (!camera_file_hash(dir, a->cams[v], hex, &e)) {
      if (err) *err = e;
      return false;
    }
    char *s = malloc(17);
    if (!s) return MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
    memcpy(s, hex, 17);
    free(a->source_xxh64[frame * V + v]);
    a->source_xxh64[frame * V + v] = s;
  }
  return true;
}

mhrfit_tri_views_match mhrfit_tri_archive_match_views(const mhrfit_tri_archive *a, size_t frame, const char *dir,
                                                      const char *const *cams, size_t n_cams, char *why,
                                                      size_t why_size) {
  if (!a->source_xxh64 || !a->source_frames || frame >= a->n_frames) return MHRFIT_TRI_VIEWS_UNKNOWN;
  size_t V = a->n_views;
  for (size_t c = 0; c < n_cams; c++) {
    size_t v = 0;
    while (v < V && strcmp(a->cams[v], cams[c]) != 0) v++;
    if (v == V) continue;
    char hex[17];
    mhrfit_error e = {0};
    if (!camera_file_hash(dir, cams[c], hex, &e)) return MHRFIT_TRI_VIEWS_UNKNOWN;
    const char *want = a->source_xxh64[frame * V + v];
    if (strcmp(hex, want) == 0) continue;
    size_t b, len = folder_name(dir, &b);
    const char *rec = a->source_frames[frame];
    if (rec && strlen(rec) == len && strncmp(dir + b, rec, len) == 0) return MHRFIT_TRI_VIEWS_UNKNOWN; /* see .h */
    if (why)
      snprintf(why, why_size, "camera '%s' %s frame folder '%s' that was triangulated", cams[c],
               !hex[0] ? "has no file, unlike" : !want[0] ? "has a file, unlike" : "holds another file than",
               a->source_frames[frame]);
    return MHRFIT_TRI_VIEWS_DIFFERENT;
  }
  return MHRFIT_TRI_VIEWS_SAME;
}

bool mhrfit_tri_archive_save(const char *path, const mhrfit_tri_archive *a, mhrfit_error *err) {
  mf_npz_writer w = {0};
  size_t F = a->n_frames, K = a->n_kp, V = a->n_views;
  size_t lead = a->frame_axis || F > 1 ? 1 : 0;
  size_t s3[3] = {F, K, 3}, sv[3] = {F, K, V}, sk[2] = {F, K};
  mf_npz_add_f32(&w, "points3d_refined", a->points, 2 + (int)lead, s3 + 1 - lead);
  mf_npz_add_f32(&w, "points3d_init", a->points_init, 2 + (int)lead, s3 + 1 - lead);
  mhrfit_array *in = mf_npz_add(&w, "inlier_mask", MHRFIT_DT_BOOL, 2 + (int)lead, sv + 1 - lead);
  if (in) memcpy(in->data, a->inliers, F * K * V);
  mf_npz_add_f32(&w, "reproj_err_px", a->reproj_err, 2 + (int)lead, sv + 1 - lead);
  mf_npz_add_i32(&w, "n_views_used", a->n_views_used, 1 + (int)lead, sk + 1 - lead);
  mf_npz_add_i32(&w, "reason", a->reason, 1 + (int)lead, sk + 1 - lead);
  mf_npz_add_f64(&w, "mean_reproj_err_px", a->mean_px, 1, &V);
  mf_npz_add_i32(&w, "subset_idx", a->subset_idx, 1, &K);
  mf_npz_add_strings(&w, "subset_names", (const char *const *)a->subset_names, K, 1);
  mf_npz_add_strings(&w, "cams", (const char *const *)a->cams, V, 1);
  const char *method = a->method;
  mf_npz_add_strings(&w, "method", &method, 1, 0);
  mf_npz_add_scalar_f64(&w, "threshold_px", a->threshold_px);
  if (a->source_frames && a->source_xxh64) {
    mf_npz_add_strings(&w, "source_frames", (const char *const *)a->source_frames, F, 1);
    mf_npz_add_strings(&w, "source_xxh64", (const char *const *)a->source_xxh64, F * V, 1);
  }
  if (a->det_uv && a->det_conf) {
    size_t s4[4] = {F, K, V, 3};
    mhrfit_array *det = mf_npz_add(&w, "detections_px", MHRFIT_DT_F32, 3 + (int)lead, s4 + 1 - lead);
    if (det) {
      float *out = det->data;
      for (size_t i = 0; i < F * K * V; i++) {
        out[3 * i] = (float)a->det_uv[2 * i];
        out[3 * i + 1] = (float)a->det_uv[2 * i + 1];
        out[3 * i + 2] = (float)a->det_conf[i];
      }
    }
  }
  bool ok = mf_npz_writer_save(&w, path, true, err);
  mf_npz_writer_free(&w);
  return ok;
}

/* The optional `detections_px` (F, K, V, 3) (the leading axis as the points'). */
static bool read_detections(mhrfit_tri_archive *a, const mhrfit_array *m, const char *path, bool lead,
                            mhrfit_error *err) {
  size_t F = a->n_frames, K = a->n_kp, V = a->n_views, n = F * K * V;
  long want[4] = {(long)F, (long)K, (long)V, 3};
  if (!mhrfit_dtype_is_numeric(m->dtype) || !mhrfit_array_has_shape(m, 3 + (int)lead, want + 1 - lead))
    return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: member 'detections_px' must be numeric of shape %s(%zu, %zu, 3)",
                       path, lead ? "(F, " : "", K, V);
  a->det_uv = malloc(2 * n * sizeof *a->det_uv);
  a->det_conf = malloc(n * sizeof *a->det_conf);
  if (!a->det_uv || !a->det_conf) return MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) {
    a->det_uv[2 * i] = mhrfit_array_get_f64(m, 3 * i);
    a->det_uv[2 * i + 1] = mhrfit_array_get_f64(m, 3 * i + 1);
    a->det_conf[i] = mhrfit_array_get_f64(m, 3 * i + 2);
  }
  return true;
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                   */

static const mhrfit_array *member(const mhrfit_value *d, const char *path, const char *key, mhrfit_error *err) {
  const mhrfit_value *v = mhrfit_value_dict_get(d, key);
  if (v && v->kind == MHRFIT_V_ARRAY) return v->u.array;
  if (v) MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: member '%s' is not an array", path, key);
  else MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "%s: no member '%s' (not a triangulation archive?)", path, key);
  return NULL;
}

/* An optional member: true with *out NULL when absent, false when present but not an array. */
static bool optional(const mhrfit_value *d, const char *path, const char *key, const mhrfit_array **out,
                     mhrfit_error *err) {
  *out = NULL;
  if (!mhrfit_value_dict_get(d, key)) return true;
  *out = member(d, path, key, err);
  return *out != NULL;
}

/* Checks `a` has the shape lead + tail (the leading frame axis optional as decided by the
 * points) and a numeric or bool dtype. */
static bool check_shape(const mhrfit_array *a, const char *path, const char *key, bool lead, size_t F, size_t d1,
                        size_t d2, int tail_ndim, mhrfit_error *err) {
  long want[3];
  int nd = 0;
  if (lead) want[nd++] = (long)F;
  want[nd++] = (long)d1;
  if (tail_ndim == 2) want[nd++] = (long)d2;
  if (a->dtype != MHRFIT_DT_BOOL && !mhrfit_dtype_is_numeric(a->dtype))
    return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: member '%s' must be numeric, not %s", path, key,
                       mhrfit_dtype_name(a->dtype));
  if (!mhrfit_array_has_shape(a, nd, want)) {
    if (nd == 3)
      return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: member '%s' must have shape (%ld, %ld, %ld)", path, key, want[0],
                         want[1], want[2]);
    if (nd == 2)
      return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: member '%s' must have shape (%ld, %ld)", path, key, want[0],
                         want[1]);
    return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: member '%s' must have shape (%ld,)", path, key, want[0]);
  }
  return true;
}

static bool read_names(const mhrfit_array *a, const char *path, const char *key, size_t n, char **out,
                       mhrfit_error *err) {
  if ((a->dtype != MHRFIT_DT_UNICODE && a->dtype != MHRFIT_DT_BYTES) || a->ndim != 1 || a->count != n)
    return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: member '%s' must be %zu strings", path, key, n);
  for (size_t i = 0; i < n; i++) {
    char buf[256];
    if (!mhrfit_array_get_string(a, i, buf, sizeof buf, err)) {
      mhrfit_error_prefix(err, "%s: member '%s'[%zu]", path, key, i);
      return false;
    }
    char *s = realloc(out[i], strlen(buf) + 1);
    if (!s) return MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
    strcpy(s, buf);
    out[i] = s;
  }
  return true;
}

mhrfit_tri_archive *mhrfit_tri_archive_load(const char *path, mhrfit_error *err) {
  mhrfit_value *d = mhrfit_npz_load(path, NULL, err);
  if (!d) return NULL;
  mhrfit_tri_archive *a = NULL;
  const mhrfit_array *pts = member(d, path, "points3d_refined", err);
  const mhrfit_array *in = pts ? member(d, path, "inlier_mask", err) : NULL;
  const mhrfit_array *idx = in ? member(d, path, "subset_idx", err) : NULL;
  const mhrfit_array *cams = idx ? member(d, path, "cams", err) : NULL;
  if (!cams) goto fail;
  if ((pts->ndim != 2 && pts->ndim != 3) || pts->shape[pts->ndim - 1] != 3) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: member 'points3d_refined' must have shape (K, 3) or (F, K, 3)", path);
    goto fail;
  }
  bool lead = pts->ndim == 3;
  size_t F = lead ? pts->shape[0] : 1, K = pts->shape[lead], V = cams->count;
  if (!F || !K || !V) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: empty archive (%zu frames, %zu points, %zu cameras)", path, F, K, V);
    goto fail;
  }
  if (!check_shape(pts, path, "points3d_refined", lead, F, K, 3, 2, err) ||
      !check_shape(in, path, "inlier_mask", lead, F, K, V, 2, err) ||
      !check_shape(idx, path, "subset_idx", false, 0, K, 0, 1, err))
    goto fail;
  a = mhrfit_tri_archive_new(F, K, V, NULL, NULL, err);
  if (!a) goto fail;
  a->frame_axis = lead;
  if (!read_names(cams, path, "cams", V, a->cams, err)) goto fail;
  const mhrfit_array *names;
  if (!optional(d, path, "subset_names", &names, err)) goto fail;
  if (names && !read_names(names, path, "subset_names", K, a->subset_names, err)) goto fail;
  for (size_t i = 0; i < F * K * 3; i++) a->points[i] = mhrfit_array_get_f64(pts, i);
  for (size_t i = 0; i < F * K * V; i++) a->inliers[i] = mhrfit_array_get_f64(in, i) != 0;
  for (size_t k = 0; k < K; k++) {
    double x = mhrfit_array_get_f64(idx, k);
    if (!(x >= 0 && x < 1e6)) {
      MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: member 'subset_idx'[%zu] = %g is not a keypoint index", path, k, x);
      goto fail;
    }
    a->subset_idx[k] = (int32_t)x;
  }
  const mhrfit_array *m;
  if (!optional(d, path, "points3d_init", &m, err)) goto fail;
  if (m) {
    if (!check_shape(m, path, "points3d_init", lead, F, K, 3, 2, err)) goto fail;
    for (size_t i = 0; i < F * K * 3; i++) a->points_init[i] = mhrfit_array_get_f64(m, i);
  }
  if (!optional(d, path, "reproj_err_px", &m, err)) goto fail;
  if (m) {
    if (!check_shape(m, path, "reproj_err_px", lead, F, K, V, 2, err)) goto fail;
    for (size_t i = 0; i < F * K * V; i++) a->reproj_err[i] = mhrfit_array_get_f64(m, i);
  }
  if (!optional(d, path, "n_views_used", &m, err)) goto fail;
  if (m) {
    if (!check_shape(m, path, "n_views_used", lead, F, K, 0, 1, err)) goto fail;
    for (size_t i = 0; i < F * K; i++) a->n_views_used[i] = (int32_t)mhrfit_array_get_f64(m, i);
  }
  if (!optional(d, path, "reason", &m, err)) goto fail;
  if (m) {
    if (!check_shape(m, path, "reason", lead, F, K, 0, 1, err)) goto fail;
    for (size_t i = 0; i < F * K; i++) a->reason[i] = (int32_t)mhrfit_array_get_f64(m, i);
  }
  mhrfit_tri_archive_update_mean(a);
  if (!optional(d, path, "mean_reproj_err_px", &m, err)) goto fail;
  if (m) {
    if (!check_shape(m, path, "mean_reproj_err_px", false, 0, V, 0, 1, err)) goto fail;
    for (size_t v = 0; v < V; v++) a->mean_px[v] = mhrfit_array_get_f64(m, v);
  }
  if (!optional(d, path, "method", &m, err)) goto fail;
  if (m && m->count == 1 &&
      (m->dtype == MHRFIT_DT_UNICODE || m->dtype == MHRFIT_DT_BYTES))
    mhrfit_array_get_string(m, 0, a->method, sizeof a->method, NULL);
  if (!optional(d, path, "threshold_px", &m, err)) goto fail;
  if (m && m->count == 1 && mhrfit_dtype_is_numeric(m->dtype))
    a->threshold_px = mhrfit_array_get_f64(m, 0);
  if (!optional(d, path, "detections_px", &m, err) || (m && !read_detections(a, m, path, lead, err))) goto fail;
  const mhrfit_array *sf, *sx;
  if (!optional(d, path, "source_frames", &sf, err) || !optional(d, path, "source_xxh64", &sx, err)) goto fail;
  if (sf && sx) {
    a->source_frames = copy_strings(NULL, F);
    a->source_xxh64 = copy_strings(NULL, F * V);
    if (!a->source_frames || !a->source_xxh64) {
      MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
      goto fail;
    }
    if (!read_names(sf, path, "source_frames", F, a->source_frames, err) ||
        !read_names(sx, path, "source_xxh64", F * V, a->source_xxh64, err))
      goto fail;
  }
  mhrfit_value_free(d);
  return a;
fail:
  mhrfit_tri_archive_free(a);
  mhrfit_value_free(d);
  return NULL;
}
