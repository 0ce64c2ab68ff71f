/* glTF 2.0 writer (GLB, or .gltf + .bin): the skinned MHR body animated by the fitted
 * parameters, keypoint nodes, cameras (export.h). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/file.h"
#include "common/mem.h"
#include "export/export_internal.h"
#include "mhrfit/layout.h"

enum { CT_U8 = 5121, CT_U16 = 5123, CT_U32 = 5125, CT_F32 = 5126 };
enum { TGT_NONE = 0, TGT_ARRAY = 34962, TGT_ELEMENTS = 34963 };

typedef struct gl_view {
  size_t offset, len;
  int target;
} gl_view;

typedef struct gl_acc {
  int view;           /* -1: none (sparse only) */
  int ctype;
  size_t count;
  int ncomp;          /* 1, 3, 4, 16 */
  bool minmax;
  double min[4], max[4];
  /* sparse */
  size_t sp_count;
  int sp_idx_view, sp_idx_ctype, sp_val_view;
} gl_acc;

typedef struct gl {
  mf_buf bin;
  gl_view *views;
  size_t n_views, cap_views;
  gl_acc *accs;
  size_t n_accs, cap_accs;
  bool failed;
} gl;

static int add_view(gl *g, const void *data, size_t len, int target) {
  static const unsigned char zeros[4] = {0};
  if (g->bin.len % 4) mf_buf_put(&g->bin, zeros, 4 - g->bin.len % 4);
  if (g->n_views == g->cap_views) {
    size_t cap = g->cap_views ? 2 * g->cap_views : 64;
    gl_view *v = realloc(g->views, cap * sizeof *v);
    if (!v) return g->failed = true, 0;
    g->views = v, g->cap_views = cap;
  }
  g->views[g->n_views] = (gl_view){g->bin.len, len, target};
  if (!mf_buf_put(&g->bin, data, len)) g->failed = true;
  return (int)g->n_views++;
}

static int add_acc(gl *g, gl_acc a) {
  if (g->n_accs == g->cap_accs) {
    size_t cap = g->cap_accs ? 2 * g->cap_accs : 64;
    gl_acc *p = realloc(g->accs, cap * sizeof *p);
    if (!p) return g->failed = true, 0;
    g->accs = p, g->cap_accs = cap;
  }
  g->accs[g->n_accs] = a;
  return (int)g->n_accs++;
}

/* A float accessor of `count` elements of `ncomp` components, with min/max when asked. */
static int add_f32(gl *g, const float *data, size_t count, int ncomp, bool minmax, int target) {
  gl_acc a = {.ctype = CT_F32, .count = count, .ncomp = ncomp, .minmax = minmax};
  a.view = add_view(g, data, count * (size_t)ncomp * sizeof(float), target);
  if (minmax) {
    for (int c = 0; c < ncomp && c < 4; c++) a.min[c] = INFINITY, a.max[c] = -INFINITY;
    for (size_t i = 0; i < count; i++)
      for (int c = 0; c < ncomp && c < 4; c++) {
        double v = data[i * (size_t)ncomp + (size_t)c];
        if (v < a.min[c]) a.min[c] = v;
        if (v > a.max[c]) a.max[c] = v;
      }
  }
  return add_acc(g, a);
}

/* ------------------------------------------------------------------ mesh data */

/* Skin influences per vertex: the `keep` largest, renormalised, into joints/weights (V x 8). */
static size_t skin_weights(const mhrfit_rig *rig, int keep, unsigned char *joints, float *weights, size_t *n_cut,
                           mhrfit_error *err) {
  size_t V = rig->n_vertices, max_n = 0;
  int32_t *cj = mf_malloc_array(V, 16 * sizeof(int32_t), err);
  double *cw = mf_malloc_array(V, 16 * sizeof(double), err);
  unsigned char *cnt = mf_calloc_array(V, 1, err);
  if (!cj || !cw || !cnt) {
    free(cj), free(cw), free(cnt);
    return SIZE_MAX;
  }
  for (size_t k = 0; k < rig->n_skin; k++) {
    size_t v = (size_t)rig->skin_vertex[k];
    int32_t j = rig->skin_joint[k];
    double w = rig->skin_weight[k];
    if (!(w > 0)) continue;
    int slot = -1;
    for (int i = 0; i < cnt[v]; i++)
      if (cj[16 * v + (size_t)i] == j) slot = i;
    if (slot < 0) {
      if (cnt[v] == 16) { /* keep the largest 16 */
        int lo = 0;
        for (int i = 1; i < 16; i++)
          if (cw[16 * v + (size_t)i] < cw[16 * v + (size_t)lo]) lo = i;
        if (w <= cw[16 * v + (size_t)lo]) continue;
        slot = lo;
        cw[16 * v + (size_t)slot] = 0;
      } else {
        slot = cnt[v]++;
        cw[16 * v + (size_t)slot] = 0;
      }
      cj[16 * v + (size_t)slot] = j;
    }
    cw[16 * v + (size_t)slot] += w;
  }
  *n_cut = 0;
  for (size_t v = 0; v < V; v++) {
    int n = cnt[v];
    int32_t *J = cj + 16 * v;
    double *W = cw + 16 * v;
    for (int a = 1; a < n; a++) /* sort by weight, largest first */
      for (int b = a; b > 0 && W[b] > W[b - 1]; b--) {
        double tw = W[b];
        W[b] = W[b - 1], W[b - 1] = tw;
        int32_t tj = J[b];
        J[b] = J[b - 1], J[b - 1] = tj;
      }
    if (n > keep) {
      n = keep;
      (*n_cut)++;
    }
    if ((size_t)n > max_n) max_n = (size_t)n;
    double tot = 0;
    for (int i = 0; i < n; i++) tot += W[i];
    unsigned char *oj = joints + 8 * v;
    float *ow = weights + 8 * v;
    memset(oj, 0, 8);
    memset(ow, 0, 8 * sizeof *ow);
    if (n == 0 || !(tot > 0)) { /* an unskinned vertex follows the first joint */
      ow[0] = 1;
      continue;
    }
    double rest = 0;
    for (int i = 1; i < n; i++) {
      ow[i] = (float)(W[i] / tot);
      rest += ow[i];
    }
    ow[0] = (float)(1.0 - rest);
    for (int i = 0; i < n; i++) oj[i] = (unsigned char)J[i];
  }
  free(cj), free(cw), free(cnt);
  return max_n;
}

/* ------------------------------------------------------------------ correctives */

/* What glTF loses: the distance between mhrfit's full mesh and its skinning without the pose
 * correctives, on up to `o.corrective_frames` exported frames spread evenly. */
static bool measure_correctives(mhrfit_exporter *ex, mhrfit_error *err) {
  const mhrfit_rig *rig = ex->rig;
  ex->rep.correctives = mhrfit_rig_has_correctives(rig);
  if (!ex->rep.correctives || ex->o.corrective_frames == 0) return true;
  size_t J = rig->n_joints, V = rig->n_vertices;
  double *work = mf_malloc_array(mhrfit_rig_skin_work_size(rig) + 20 * J + 6 * V, sizeof(double), err);
  if (!work) return false;
  double *jp = work + mhrfit_rig_skin_work_size(rig), *R = jp + 7 * J, *t = R + 9 * J, *s = t + 3 * J, *a = s + J,
         *b = a + 3 * V;
  mhrfit_fk_pose pose = {R, t, s};
  size_t k = ex->o.corrective_frames < ex->n ? ex->o.corrective_frames : ex->n;
  double sum_mean = 0;
  bool ok = true;
  for (size_t q = 0; ok && q < k; q++) {
    size_t i = k == 1 ? 0 : q * (ex->n - 1) / (k - 1), f = ex->frames[i];
    ok = mhrfit_rig_fk(rig, ex->src->model_params + 204 * f, &pose, jp, err) &&
         mhrfit_rig_skin_full(rig, ex->src->shape_params + 45 * f, 45, &pose, NULL, work, a, err) &&
         mhrfit_rig_skin_full(rig, ex->src->shape_params + 45 * f, 45, &pose, jp, work, b, err);
    if (!ok) break;
    double scale = ex->src->sim[13 * f] / 100, mean = 0, mx = 0;
    for (size_t v = 0; v < V; v++) {
      double dx = a[3 * v] - b[3 * v], dy = a[3 * v + 1] - b[3 * v + 1], dz = a[3 * v + 2] - b[3 * v + 2];
      double d = scale * sqrt(dx * dx + dy * dy + dz * dz);
      mean += d;
      if (d > mx) mx = d;
    }
    mean /= (double)(V ? V : 1);
    sum_mean += mean;
    if (mean > ex->rep.corr_mean_max_m) ex->rep.corr_mean_max_m = mean;
    if (mx > ex->rep.corr_max_m) ex->rep.corr_max_m = mx, ex->rep.corr_worst_frame = f;
    ex->rep.corr_frames++;
  }
  if (ex->rep.corr_frames) ex->rep.corr_mean_m = sum_mean / (double)ex->rep.corr_frames;
  free(work);
  return ok;
}

/* ------------------------------------------------------------------ JSON */

static void json_floats(mf_buf *j, const double *v, int n) {
  mf_buf_put(j, "[", 1);
  for (int i = 0; i < n; i++) {
    if (i) mf_buf_put(j, ",", 1);
    mf_buf_num(j, v[i]);
  }
  mf_buf_put(j, "]", 1);
}

static const char *acc_type(int ncomp) {
  return ncomp == 1 ? "SCALAR" : ncomp == 3 ? "VEC3" : ncomp == 4 ? "VEC4" : "MAT4";
}

static void json_accessors(mf_buf *j, const gl *g) {
  mf_buf_printf(j, "\"accessors\":[");
  for (size_t i = 0; i < g->n_accs; i++) {
    const gl_acc *a = &g->accs[i];
    mf_buf_printf(j, "%s{", i ? "," : "");
    if (a->view >= 0) mf_buf_printf(j, "\"bufferView\":%d,", a->view);
    mf_buf_printf(j, "\"componentType\":%d,\"count\":%zu,\"type\":\"%s\"", a->ctype, a->count, acc_type(a->ncomp));
    if (a->minmax) {
      mf_buf_printf(j, ",\"min\":");
      json_floats(j, a->min, a->ncomp);
      mf_buf_printf(j, ",\"max\":");
      json_floats(j, a->max, a->ncomp);
    }
    if (a->sp_count)
      mf_buf_printf(j, ",\"sparse\":{\"count\":%zu,\"indices\":{\"bufferView\":%d,\"componentType\":%d},"
                    "\"values\":{\"bufferView\":%d}}", a->sp_count, a->sp_idx_view, a->sp_idx_ctype, a->sp_val_view);
    mf_buf_put(j, "}", 1);
  }
  mf_buf_printf(j, "],\"bufferViews\":[");
  for (size_t i = 0; i < g->n_views; i++) {
    mf_buf_printf(j, "%s{\"buffer\":0,\"byteOffset\":%zu,\"byteLength\":%zu", i ? "," : "", g->views[i].offset,
                  g->views[i].len);
    if (g->views[i].target) mf_buf_printf(j, ",\"target\":%d", g->views[i].target);
    mf_buf_put(j, "}", 1);
  }
  mf_buf_put(j, "]", 1);
}

/* One animation channel collected while building. */
typedef struct gl_chan {
  int node;
  const char *path;
  int output;
} gl_chan;

static void f32v(float *dst, const double *src, size_t n) {
  for (size_t i = 0; i < n; i++) dst[i] = (float)src[i];
}

/* An animation output of n keyframes x ncomp floats; *varies tells whether a frame differs from
 * the first (bitwise, in float32). */
static bool varies(const float *v, size_t n, int ncomp) {
  for (size_t i = 1; i < n; i++)
    if (memcmp(v, v + i * (size_t)ncomp, (size_t)ncomp * sizeof *v) != 0) return true;
  return false;
}

/* Percent-encodes a file name for a URI. */
static void uri_name(mf_buf *j, const char *s) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
        c == '~')
      mf_buf_put(j, s, 1);
    else
      mf_buf_printf(j, "%%%02X", c);
  }
}

bool mf_export_gltf(mhrfit_exporter *ex, bool glb, const char *path, unsigned char **mem, size_t *mem_len,
                    mhrfit_error *err) {
  const mhrfit_rig *rig = ex->rig;
  const mhrfit_export_source *src = ex->src;
  const size_t J = rig->n_joints, V = rig->n_vertices, NF = rig->n_faces, n = ex->n;
  gl g = {0};
  mf_buf j = {0};
  gl_chan *chans = NULL;
  size_t n_chans = 0;
  float *fb = NULL;
  double *db = NULL;
  unsigned char *jb = NULL;
  char *bin_path = NULL;
  bool ok = false, bin_written = false;
  if (!measure_correctives(ex, err)) return false;
  /* scratch: the largest of the per-vertex and per-frame arrays */
  size_t fcap = 16 * (V > J ? V : J) + 4 * n * (J > 70 ? J : 70) + 3 * NF + 72 * (n + 1) + 64;
  fb = mf_malloc_array(fcap, sizeof(float), err);
  db = mf_malloc_array(6 * V + 64, sizeof(double), err);
  jb = mf_malloc_array(V, 8, err);
  chans = mf_malloc_array(3 * J + 3 + 70 + 1, sizeof *chans, err);
  if (!fb || !db || !jb || !chans) goto done;
  /* ---- mesh: bind shape (identity baked, metres), normals, skin, triangles */
  double *rest = db, *nrm = db + 3 * V;
  mhrfit_rig_shaped_vertices(rig, ex->shape, 45, rest);
  for (size_t i = 0; i < 3 * V; i++) rest[i] /= 100, nrm[i] = 0;
  for (size_t t = 0; t < NF; t++) {
    const int32_t *F = rig->faces + 3 * t;
    const double *a = rest + 3 * F[0], *b = rest + 3 * F[1], *c = rest + 3 * F[2];
    double u[3] = {b[0] - a[0], b[1] - a[1], b[2] - a[2]}, w[3] = {c[0] - a[0], c[1] - a[1], c[2] - a[2]};
    double cr[3] = {u[1] * w[2] - u[2] * w[1], u[2] * w[0] - u[0] * w[2], u[0] * w[1] - u[1] * w[0]};
    for (int k = 0; k < 3; k++)
      for (int a2 = 0; a2 < 3; a2++) nrm[3 * (size_t)F[k] + (size_t)a2] += cr[a2];
  }
  for (size_t v = 0; v < V; v++) {
    double *q = nrm + 3 * v, l = sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2]);
    if (l > 0) q[0] /= l, q[1] /= l, q[2] /= l;
    else q[0] = 0, q[1] = 1, q[2] = 0;
  }
  int acc_pos = -1, acc_nrm = -1, acc_idx = -1, acc_ibm, acc_j[2] = {-1, -1}, acc_w[2] = {-1, -1};
  size_t n_sets = 0;
  if (V) {
    f32v(fb, rest, 3 * V);
    acc_pos = add_f32(&g, fb, V, 3, true, TGT_ARRAY);
    f32v(fb, nrm, 3 * V);
    for (size_t v = 0; v < V; v++) { /* unit length in float too */
      float *q = fb + 3 * v;
      double l = sqrt((double)q[0] * q[0] + (double)q[1] * q[1] + (double)q[2] * q[2]);
      for (int a = 0; a < 3; a++) q[a] = (float)(q[a] / l);
    }
    acc_nrm = add_f32(&g, fb, V, 3, false, TGT_ARRAY);
    float *wts = fb;
    size_t n_cut = 0, max_n = skin_weights(rig, ex->o.max_influences, jb, wts, &n_cut, err);
    if (max_n == SIZE_MAX) goto done;
    ex->rep.n_renormalised = n_cut;
    n_sets = max_n > 4 ? 2 : 1;
    ex->rep.n_influence_sets = n_sets;
    unsigned char *js = jb + 0; /* repack per set: V x 4 */
    float *ws = fb + 8 * V;
    for (size_t s = 0; s < n_sets; s++) {
      unsigned char *tmpj = malloc(4 * V);
      if (!tmpj) {
        MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
        goto done;
      }
      for (size_t v = 0; v < V; v++)
        for (int k = 0; k < 4; k++) tmpj[4 * v + (size_t)k] = js[8 * v + 4 * s + (size_t)k], ws[4 * v + (size_t)k] = wts[8 * v + 4 * s + (size_t)k];
      gl_acc aj = {.ctype = CT_U8, .count = V, .ncomp = 4};
      aj.view = add_view(&g, tmpj, 4 * V, TGT_ARRAY);
      free(tmpj);
      acc_j[s] = add_acc(&g, aj);
      acc_w[s] = add_f32(&g, ws, V, 4, false, TGT_ARRAY);
    }
    if (NF) {
      gl_acc ai = {.count = 3 * NF, .ncomp = 1};
      if (V <= 65535) {
        uint16_t *ix = (uint16_t *)fb;
        for (size_t i = 0; i < 3 * NF; i++) ix[i] = (uint16_t)rig->faces[i];
        ai.ctype = CT_U16;
        ai.view = add_view(&g, ix, 3 * NF * 2, TGT_ELEMENTS);
      } else {
        uint32_t *ix = (uint32_t *)fb;
        for (size_t i = 0; i < 3 * NF; i++) ix[i] = (uint32_t)rig->faces[i];
        ai.ctype = CT_U32;
        ai.view = add_view(&g, ix, 3 * NF * 4, TGT_ELEMENTS);
      }
      acc_idx = add_acc(&g, ai);
    }
  }
  ex->rep.n_vertices = V, ex->rep.n_faces = NF;
  /* inverse bind matrices: inverse rest transforms, column-major */
  for (size_t k = 0; k < J; k++) {
    const double *R0 = rig->rest_R + 9 * k, *t0 = rig->rest_t + 3 * k;
    float *M = fb + 16 * k;
    for (int r = 0; r < 3; r++) {
      for (int c = 0; c < 3; c++) M[4 * c + r] = (float)R0[3 * c + r]; /* R0^T (r, c) = R0 (c, r) */
      M[12 + r] = (float)(-(R0[r] * t0[0] + R0[3 + r] * t0[1] + R0[6 + r] * t0[2]) / 100);
      M[4 * r + 3] = 0;
    }
    M[15] = 1;
  }
  acc_ibm = add_f32(&g, fb, J, 16, false, TGT_NONE);
  /* ---- morph targets: the 72 expression shapes (sparse), when asked */
  size_t n_targets = 0;
  int acc_tgt[72];
  if (ex->o.expressions && V && rig->n_shapes >= 45 + 72) {
    for (size_t e = 0; e < 72; e++) {
      size_t k = 45 + e, a0 = rig->shape_start[k], a1 = rig->shape_start[k + 1];
      double *dense = db + 3 * V; /* reuse the normals' room: done with them */
      memset(dense, 0, 3 * V * sizeof *dense);
      unsigned char *hit = jb;
      memset(hit, 0, V);
      for (size_t q = a0; q < a1; q++) {
        size_t v = (size_t)rig->shape_vertex[q];
        for (int a = 0; a < 3; a++) dense[3 * v + (size_t)a] += rig->shape_delta[3 * q + (size_t)a] / 100;
        hit[v] = 1;
      }
      size_t cnt = 0;
      for (size_t v = 0; v < V; v++) cnt += hit[v];
      if (cnt == 0) hit[0] = 1, cnt = 1; /* sparse accessors need one entry */
      uint32_t *ix = (uint32_t *)fb;
      float *val = fb + cnt;
      gl_acc at = {.view = -1, .ctype = CT_F32, .count = V, .ncomp = 3, .minmax = true, .sp_count = cnt};
      for (int a = 0; a < 3; a++) at.min[a] = 0, at.max[a] = 0;
      size_t c = 0;
      for (size_t v = 0; v < V; v++) {
        if (!hit[v]) continue;
        ix[c] = (uint32_t)v;
        for (int a = 0; a < 3; a++) {
          float x = (float)dense[3 * v + (size_t)a];
          val[3 * c + (size_t)a] = x;
          if (x < at.min[a]) at.min[a] = x;
          if (x > at.max[a]) at.max[a] = x;
        }
        c++;
      }
      at.sp_idx_ctype = CT_U32;
      at.sp_idx_view = add_view(&g, ix, cnt * 4, TGT_NONE);
      at.sp_val_view = add_view(&g, val, cnt * 12, TGT_NONE);
      acc_tgt[e] = add_acc(&g, at);
    }
    n_targets = 72;
  }
  ex->rep.expressions = n_targets > 0;
  /* ---- node layout */
  const int node_world = (int)J, node_mesh = (int)J + 1, node_kp = (int)J + 2;
  const mhrfit_layout *mhr70 = mhrfit_layout_get("mhr70", NULL);
  /* keypoints: hold the last finite position; leave out those never finite */
  bool kp_on = ex->o.keypoints && src->has_keypoints;
  int kp_node[70];
  size_t n_kp = 0;
  float *kpv = fb + 16 * (V > J ? V : J); /* n x 70 x 3 */
  if (kp_on) {
    for (int k = 0; k < 70; k++) {
      double last[3] = {NAN, NAN, NAN};
      for (size_t i = 0; i < n && !isfinite(last[0]); i++) { /* first finite */
        const double *p = src->keypoints + (ex->frames[i] * 70 + (size_t)k) * 3;
        if (isfinite(p[0]) && isfinite(p[1]) && isfinite(p[2])) memcpy(last, p, sizeof last);
      }
      kp_node[k] = -1;
      if (!isfinite(last[0])) continue;
      kp_node[k] = node_kp + 1 + (int)n_kp++;
      for (size_t i = 0; i < n; i++) {
        const double *p = src->keypoints + (ex->frames[i] * 70 + (size_t)k) * 3;
        if (isfinite(p[0]) && isfinite(p[1]) && isfinite(p[2])) memcpy(last, p, sizeof last);
        for (int a = 0; a < 3; a++)
          kpv[(i * 70 + (size_t)k) * 3 + (size_t)a] =
              (float)(ex->U[3 * a] * last[0] + ex->U[3 * a + 1] * last[1] + ex->U[3 * a + 2] * last[2]);
      }
    }
  }
  ex->rep.n_keypoints = n_kp;
  const int node_cam0 = node_kp + (kp_on ? 1 + (int)n_kp : 0);
  const size_t n_cams = ex->calib ? ex->calib->n_cams : 0;
  ex->rep.n_cameras = n_cams;
  /* ---- animation: times, per joint local TRS, world node, keypoints, weights */
  int acc_time = -1;
  float *tv = fb + 16 * (V > J ? V : J) + 3 * n * 70, *ov = tv + n + 8;
  if (n > 1) {
    for (size_t i = 0; i < n; i++) tv[i] = (float)((double)(ex->frames[i] - ex->frames[0]) / ex->rep.fps);
    acc_time = add_f32(&g, tv, n, 1, true, TGT_NONE);
  }
  /* rest values = the first exported frame */
  float rest_t[256][3], rest_q[256][4], rest_s[256];
  for (size_t k = 0; k < J; k++) {
    double prev[4] = {0, 0, 0, 1}, q[4];
    for (size_t i = 0; i < n; i++) {
      mf_export_quat(ex->loc_R + (i * J + k) * 9, i ? prev : NULL, q);
      memcpy(prev, q, sizeof q);
      f32v(ov + 4 * i, q, 4);
    }
    memcpy(rest_q[k], ov, sizeof rest_q[k]);
    if (n > 1 && varies(ov, n, 4)) chans[n_chans++] = (gl_chan){(int)k, "rotation", add_f32(&g, ov, n, 4, false, TGT_NONE)};
    f32v(ov, ex->loc_t + k * 3, 3);
    for (size_t i = 1; i < n; i++) f32v(ov + 3 * i, ex->loc_t + (i * J + k) * 3, 3);
    memcpy(rest_t[k], ov, sizeof rest_t[k]);
    if (n > 1 && varies(ov, n, 3)) chans[n_chans++] = (gl_chan){(int)k, "translation", add_f32(&g, ov, n, 3, false, TGT_NONE)};
    for (size_t i = 0; i < n; i++) ov[3 * i] = ov[3 * i + 1] = ov[3 * i + 2] = (float)ex->loc_s[i * J + k];
    rest_s[k] = ov[0];
    if (n > 1 && varies(ov, n, 3)) chans[n_chans++] = (gl_chan){(int)k, "scale", add_f32(&g, ov, n, 3, false, TGT_NONE)};
  }
  float world_t[3], world_q[4], world_s;
  {
    double prev[4] = {0, 0, 0, 1};
    float *ot = ov, *oq = ov + 3 * n, *os = oq + 4 * n;
    for (size_t i = 0; i < n; i++) {
      double t[3], R[9], s, q[4];
      mf_export_root(ex, i, t, R, &s);
      mf_export_quat(R, i ? prev : NULL, q);
      memcpy(prev, q, sizeof q);
      f32v(ot + 3 * i, t, 3);
      f32v(oq + 4 * i, q, 4);
      os[3 * i] = os[3 * i + 1] = os[3 * i + 2] = (float)s;
    }
    memcpy(world_t, ot, sizeof world_t);
    memcpy(world_q, oq, sizeof world_q);
    world_s = os[0];
    if (n > 1 && varies(ot, n, 3)) chans[n_chans++] = (gl_chan){node_world, "translation", add_f32(&g, ot, n, 3, false, TGT_NONE)};
    if (n > 1 && varies(oq, n, 4)) chans[n_chans++] = (gl_chan){node_world, "rotation", add_f32(&g, oq, n, 4, false, TGT_NONE)};
    if (n > 1 && varies(os, n, 3)) chans[n_chans++] = (gl_chan){node_world, "scale", add_f32(&g, os, n, 3, false, TGT_NONE)};
  }
  for (int k = 0; kp_on && k < 70; k++) {
    if (kp_node[k] < 0) continue;
    for (size_t i = 0; i < n; i++) memcpy(ov + 3 * i, kpv + (i * 70 + (size_t)k) * 3, 3 * sizeof(float));
    if (n > 1 && varies(ov, n, 3)) chans[n_chans++] = (gl_chan){kp_node[k], "translation", add_f32(&g, ov, n, 3, false, TGT_NONE)};
  }
  bool weights_anim = false;
  if (n_targets) {
    for (size_t i = 0; i < n; i++) f32v(ov + 72 * i, src->expr_params + 72 * ex->frames[i], 72);
    if (n > 1 && varies(ov, n, 72)) {
      gl_acc aw = {.ctype = CT_F32, .count = 72 * n, .ncomp = 1};
      aw.view = add_view(&g, ov, 72 * n * sizeof(float), TGT_NONE);
      chans[n_chans++] = (gl_chan){node_mesh, "weights", add_acc(&g, aw)};
      weights_anim = true;
    }
  }
  (void)weights_anim;
  if (g.failed || g.bin.failed) {
    MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory building the glTF buffer");
    goto done;
  }
  /* ---- JSON */
  mf_buf_printf(&j, "{\"asset\":{\"version\":\"2.0\",\"generator\":\"mhrfit %s\",\"extras\":{\"source\":", MHRFIT_VERSION_STRING);
  mf_buf_json_str(&j, src->path);
  mf_buf_printf(&j, ",\"fps\":");
  mf_buf_num(&j, ex->rep.fps);
  mf_buf_printf(&j, ",\"world_up\":\"%s\",\"lod\":%d,\"units\":\"m\",\"frames\":[", mhrfit_up_name(ex->rep.up), rig->lod);
  for (size_t i = 0; i < n; i++) {
    if (i) mf_buf_put(&j, ",", 1);
    mf_buf_json_str(&j, src->frame_names[ex->frames[i]]);
  }
  mf_buf_printf(&j, "]}},\"scene\":0,\"scenes\":[{\"name\":\"mhrfit\",\"nodes\":[%d%s", node_world, V ? "," : "");
  if (V) mf_buf_printf(&j, "%d", node_mesh);
  if (kp_on && n_kp) mf_buf_printf(&j, ",%d", node_kp);
  for (size_t c = 0; c < n_cams; c++) mf_buf_printf(&j, ",%d", node_cam0 + (int)c);
  mf_buf_printf(&j, "]}],\"nodes\":[");
  for (size_t k = 0; k < J; k++) {
    mf_buf_printf(&j, "%s{\"name\":", k ? "," : "");
    mf_buf_json_str(&j, rig->joint_names[k]);
    double t[3] = {rest_t[k][0], rest_t[k][1], rest_t[k][2]}, q[4] = {rest_q[k][0], rest_q[k][1], rest_q[k][2], rest_q[k][3]};
    mf_buf_printf(&j, ",\"translation\":");
    json_floats(&j, t, 3);
    mf_buf_printf(&j, ",\"rotation\":");
    json_floats(&j, q, 4);
    if (rest_s[k] != 1.0f) {
      double s3[3] = {rest_s[k], rest_s[k], rest_s[k]};
      mf_buf_printf(&j, ",\"scale\":");
      json_floats(&j, s3, 3);
    }
    bool first = true;
    for (size_t c = k + 1; c < J; c++)
      if (rig->parents[c] == (int32_t)k) {
        mf_buf_printf(&j, "%s%zu", first ? ",\"children\":[" : ",", c);
        first = false;
      }
    mf_buf_printf(&j, "%s}", first ? "" : "]");
  }
  {
    double t[3] = {world_t[0], world_t[1], world_t[2]}, q[4] = {world_q[0], world_q[1], world_q[2], world_q[3]},
           s3[3] = {world_s, world_s, world_s};
    mf_buf_printf(&j, ",{\"name\":\"mhr_world\",\"translation\":");
    json_floats(&j, t, 3);
    mf_buf_printf(&j, ",\"rotation\":");
    json_floats(&j, q, 4);
    mf_buf_printf(&j, ",\"scale\":");
    json_floats(&j, s3, 3);
    mf_buf_printf(&j, ",\"children\":[");
    bool first = true;
    for (size_t k = 0; k < J; k++)
      if (rig->parents[k] < 0) {
        mf_buf_printf(&j, "%s%zu", first ? "" : ",", k);
        first = false;
      }
    mf_buf_printf(&j, "]}");
  }
  mf_buf_printf(&j, ",{\"name\":\"mhr_body\",\"mesh\":0,\"skin\":0}");
  if (kp_on) {
    mf_buf_printf(&j, ",{\"name\":\"mhr_keypoints\",\"children\":[");
    for (size_t q = 0; q < n_kp; q++) mf_buf_printf(&j, "%s%d", q ? "," : "", node_kp + 1 + (int)q);
    mf_buf_printf(&j, "]}");
    for (int k = 0; k < 70; k++) {
      if (kp_node[k] < 0) continue;
      double t[3] = {kpv[3 * (size_t)k], kpv[3 * (size_t)k + 1], kpv[3 * (size_t)k + 2]};
      mf_buf_printf(&j, ",{\"name\":");
      mf_buf_json_str(&j, mhr70 ? mhr70->names[k] : "keypoint");
      mf_buf_printf(&j, ",\"translation\":");
      json_floats(&j, t, 3);
      mf_buf_put(&j, "}", 1);
    }
  }
  for (size_t c = 0; c < n_cams; c++) {
    const mhrfit_camera *cam = &ex->calib->cams[c];
    double C[3], M[9], q[4], t[3];
    for (int a = 0; a < 3; a++) C[a] = -(cam->R[a] * cam->t[0] + cam->R[3 + a] * cam->t[1] + cam->R[6 + a] * cam->t[2]);
    double RtF[9];
    for (int r = 0; r < 3; r++)
      for (int cc = 0; cc < 3; cc++) RtF[3 * r + cc] = cam->R[3 * cc + r] * (cc == 0 ? 1 : -1);
    mf_mat3_mul(ex->U, RtF, M);
    for (int a = 0; a < 3; a++) t[a] = ex->U[3 * a] * C[0] + ex->U[3 * a + 1] * C[1] + ex->U[3 * a + 2] * C[2];
    mf_export_quat(M, NULL, q);
    mf_buf_printf(&j, ",{\"name\":");
    mf_buf_json_str(&j, cam->name);
    mf_buf_printf(&j, ",\"camera\":%zu,\"translation\":", c);
    json_floats(&j, t, 3);
    mf_buf_printf(&j, ",\"rotation\":");
    json_floats(&j, q, 4);
    mf_buf_put(&j, "}", 1);
  }
  mf_buf_printf(&j, "]");
  if (n_cams) {
    mf_buf_printf(&j, ",\"cameras\":[");
    for (size_t c = 0; c < n_cams; c++) {
      const mhrfit_camera *cam = &ex->calib->cams[c];
      double fx = cam->K[0], fy = cam->K[4];
      double w = cam->width > 0 ? cam->width : 2 * cam->K[2], h = cam->height > 0 ? cam->height : 2 * cam->K[5];
      double yfov = 2 * atan(h / (2 * fy)), aspect = (w / fx) / (h / fy);
      if (!(yfov > 0 && yfov < 3.1) || !(aspect > 0) || !isfinite(aspect)) yfov = 0.8, aspect = 16.0 / 9;
      mf_buf_printf(&j, "%s{\"name\":", c ? "," : "");
      mf_buf_json_str(&j, cam->name);
      mf_buf_printf(&j, ",\"type\":\"perspective\",\"perspective\":{\"yfov\":");
      mf_buf_num(&j, yfov);
      mf_buf_printf(&j, ",\"aspectRatio\":");
      mf_buf_num(&j, aspect);
      mf_buf_printf(&j, ",\"znear\":0.01}}");
    }
    mf_buf_put(&j, "]", 1);
  }
  if (V) {
    mf_buf_printf(&j, ",\"materials\":[{\"name\":\"mhr_skin\",\"pbrMetallicRoughness\":{\"baseColorFactor\":[0.8,0.62,0.52,1],"
                  "\"metallicFactor\":0,\"roughnessFactor\":0.7}}]");
    mf_buf_printf(&j, ",\"meshes\":[{\"name\":\"mhr_lod%d\",\"primitives\":[{\"attributes\":{\"POSITION\":%d,\"NORMAL\":%d",
                  rig->lod, acc_pos, acc_nrm);
    for (size_t s = 0; s < n_sets; s++) mf_buf_printf(&j, ",\"JOINTS_%zu\":%d,\"WEIGHTS_%zu\":%d", s, acc_j[s], s, acc_w[s]);
    mf_buf_printf(&j, "}");
    if (acc_idx >= 0) mf_buf_printf(&j, ",\"indices\":%d", acc_idx);
    mf_buf_printf(&j, ",\"material\":0,\"mode\":4");
    if (n_targets) {
      mf_buf_printf(&j, ",\"targets\":[");
      for (size_t e = 0; e < n_targets; e++) mf_buf_printf(&j, "%s{\"POSITION\":%d}", e ? "," : "", acc_tgt[e]);
      mf_buf_put(&j, "]", 1);
    }
    mf_buf_printf(&j, "}]");
    if (n_targets) {
      double w0[72];
      for (int e = 0; e < 72; e++) w0[e] = (float)src->expr_params[72 * ex->frames[0] + (size_t)e];
      mf_buf_printf(&j, ",\"weights\":");
      json_floats(&j, w0, 72);
      mf_buf_printf(&j, ",\"extras\":{\"targetNames\":[");
      for (int e = 0; e < 72; e++) mf_buf_printf(&j, "%s\"expression_%d\"", e ? "," : "", e);
      mf_buf_printf(&j, "]}");
    }
    mf_buf_printf(&j, "}]");
  }
  mf_buf_printf(&j, ",\"skins\":[{\"name\":\"mhr\",\"inverseBindMatrices\":%d,\"joints\":[", acc_ibm);
  for (size_t k = 0; k < J; k++) mf_buf_printf(&j, "%s%zu", k ? "," : "", k);
  mf_buf_printf(&j, "]}]");
  if (n_chans) {
    mf_buf_printf(&j, ",\"animations\":[{\"name\":\"mhrfit\",\"samplers\":[");
    for (size_t c = 0; c < n_chans; c++)
      mf_buf_printf(&j, "%s{\"input\":%d,\"output\":%d,\"interpolation\":\"LINEAR\"}", c ? "," : "", acc_time, chans[c].output);
    mf_buf_printf(&j, "],\"channels\":[");
    for (size_t c = 0; c < n_chans; c++)
      mf_buf_printf(&j, "%s{\"sampler\":%zu,\"target\":{\"node\":%d,\"path\":\"%s\"}}", c ? "," : "", c, chans[c].node,
                    chans[c].path);
    mf_buf_printf(&j, "]}]");
  }
  mf_buf_put(&j, ",", 1);
  json_accessors(&j, &g);
  static const unsigned char zeros[4] = {0};
  if (g.bin.len % 4) mf_buf_put(&g.bin, zeros, 4 - g.bin.len % 4);
  mf_buf_printf(&j, ",\"buffers\":[{\"byteLength\":%zu", g.bin.len);
  if (!glb) {
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    size_t bl = strlen(base);
    const char *dot = strrchr(base, '.');
    size_t stem = dot && dot != base ? (size_t)(dot - base) : bl;
    size_t dl = (size_t)(base - path);
    bin_path = malloc(dl + stem + 5);
    if (!bin_path) {
      MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
      goto done;
    }
    memcpy(bin_path, path, dl + stem);
    strcpy(bin_path + dl + stem, ".bin");
    mf_buf_printf(&j, ",\"uri\":\"");
    uri_name(&j, bin_path + dl);
    mf_buf_put(&j, "\"", 1);
  }
  mf_buf_printf(&j, "}]}");
  if (j.failed || g.bin.failed) {
    MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory building the glTF JSON");
    goto done;
  }
  if (glb) {
    while (j.len % 4) mf_buf_put(&j, " ", 1);
    uint32_t hdr[5] = {0x46546C67u, 2u, (uint32_t)(12 + 8 + j.len + 8 + g.bin.len), (uint32_t)j.len, 0x4E4F534Au};
    uint32_t bhdr[2] = {(uint32_t)g.bin.len, 0x004E4942u};
    if (12 + 8 + (uint64_t)j.len + 8 + g.bin.len > UINT32_MAX) {
      MHRFIT_FAIL(err, MHRFIT_ERR_LIMIT, "%s: the GLB would exceed 4 GiB", path ? path : "GLB");
      goto done;
    }
    mf_piece pieces[4] = {{hdr, sizeof hdr}, {j.data, j.len}, {bhdr, sizeof bhdr}, {g.bin.data, g.bin.len}};
    size_t total = sizeof hdr + j.len + sizeof bhdr + g.bin.len;
    if (path) {
      if (!mf_write_pieces_atomic(path, pieces, 4, MF_WRITE_SYNC, NULL, err)) goto done;
      ex->rep.n_files = 1;
    } else {
      unsigned char *m = malloc(total);
      if (!m) {
        MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
        goto done;
      }
      size_t off = 0;
      for (int p = 0; p < 4; p++) memcpy(m + off, pieces[p].data, pieces[p].len), off += pieces[p].len;
      *mem = m, *mem_len = total;
    }
    ex->rep.bytes = total;
  } else {
    mf_piece pb = {g.bin.data, g.bin.len}, pj = {j.data, j.len};
    if (!mf_write_pieces_atomic(bin_path, &pb, 1, MF_WRITE_SYNC, NULL, err)) goto done;
    bin_written = true;
    if (!mf_write_pieces_atomic(path, &pj, 1, MF_WRITE_SYNC, NULL, err)) goto done;
    ex->rep.n_files = 2;
    ex->rep.bytes = g.bin.len + j.len;
  }
  ok = true;
done:
  if (!ok && bin_written) unlink(bin_path);
  free(bin_path);
  free(fb);
  free(db);
  free(jb);
  free(chans);
  free(g.views);
  free(g.accs);
  mf_buf_free(&g.bin);
  mf_buf_free(&j);
  return ok;
}
