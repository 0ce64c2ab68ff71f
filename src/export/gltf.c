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

/* What the glTF writer builds: the binary buffer with its views and accessors, the animation
 * channels, and the node layout. */
typedef struct gl_ctx {
  mhrfit_exporter *ex;
  const mhrfit_rig *rig;
  const mhrfit_export_source *src;
  size_t J, V, NF, n;
  gl g;
  gl_chan *chans;
  size_t n_chans;
  float *fb;          /* float scratch */
  double *db;         /* double scratch: 6 V */
  unsigned char *jb;  /* byte scratch: 8 V */
  int acc_pos, acc_nrm, acc_idx, acc_ibm, acc_j[2], acc_w[2], acc_time, acc_tgt[72];
  size_t n_sets, n_targets;
  int node_world, node_mesh, node_kp, node_cam0, *kp_node; /* kp_node: K */
  bool kp_on;
  size_t K, n_kp, n_cams; /* the source's keypoints, those written, cameras */
  float *kpv;         /* n x K x 3 keypoint positions (held where missing) */
  float (*rest_t)[3], (*rest_q)[4], *rest_s; /* joints' node values: the first exported frame */
  float world_t[3], world_q[4], world_s;
} gl_ctx;

/* The mesh: bind shape (identity baked, metres), normals, skin sets, triangles; the inverse
 * bind matrices. */
static bool build_mesh(gl_ctx *c, mhrfit_error *err) {
  const mhrfit_rig *rig = c->rig;
  const size_t V = c->V, NF = c->NF, J = c->J;
  float *fb = c->fb;
  double *rest = c->db, *nrm = c->db + 3 * V;
  mhrfit_rig_shaped_vertices(rig, c->ex->shape, 45, rest);
  for (size_t i = 0; i < 3 * V; i++) rest[i] /= 100, nrm[i] = 0;
  for (size_t t = 0; t < NF; t++) {
    const int32_t *F = rig->faces + 3 * t;
    const double *a = rest + 3 * F[0], *b = rest + 3 * F[1], *d = rest + 3 * F[2];
    double u[3] = {b[0] - a[0], b[1] - a[1], b[2] - a[2]}, w[3] = {d[0] - a[0], d[1] - a[1], d[2] - a[2]};
    double cr[3] = {u[1] * w[2] - u[2] * w[1], u[2] * w[0] - u[0] * w[2], u[0] * w[1] - u[1] * w[0]};
    for (int k = 0; k < 3; k++)
      for (int a2 = 0; a2 < 3; a2++) nrm[3 * (size_t)F[k] + (size_t)a2] += cr[a2];
  }
  for (size_t v = 0; v < V; v++) {
    double *q = nrm + 3 * v, l = sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2]);
    if (l > 0) q[0] /= l, q[1] /= l, q[2] /= l;
    else q[0] = 0, q[1] = 1, q[2] = 0;
  }
  if (V) {
    f32v(fb, rest, 3 * V);
    c->acc_pos = add_f32(&c->g, fb, V, 3, true, TGT_ARRAY);
    f32v(fb, nrm, 3 * V);
    for (size_t v = 0; v < V; v++) { /* unit length in float too */
      float *q = fb + 3 * v;
      double l = sqrt((double)q[0] * q[0] + (double)q[1] * q[1] + (double)q[2] * q[2]);
      for (int a = 0; a < 3; a++) q[a] = (float)(q[a] / l);
    }
    c->acc_nrm = add_f32(&c->g, fb, V, 3, false, TGT_ARRAY);
    size_t n_cut = 0, max_n = skin_weights(rig, c->ex->o.max_influences, c->jb, fb, &n_cut, err);
    if (max_n == SIZE_MAX) return false;
    c->ex->rep.n_renormalised = n_cut;
    c->n_sets = max_n > 4 ? 2 : 1;
    float *ws = fb + 8 * V; /* repacked per set: V x 4 */
    unsigned char *js = c->jb + 8 * V;
    for (size_t s = 0; s < c->n_sets; s++) {
      for (size_t v = 0; v < V; v++)
        for (size_t k = 0; k < 4; k++) js[4 * v + k] = c->jb[8 * v + 4 * s + k], ws[4 * v + k] = fb[8 * v + 4 * s + k];
      gl_acc aj = {.ctype = CT_U8, .count = V, .ncomp = 4};
      aj.view = add_view(&c->g, js, 4 * V, TGT_ARRAY);
      c->acc_j[s] = add_acc(&c->g, aj);
      c->acc_w[s] = add_f32(&c->g, ws, V, 4, false, TGT_ARRAY);
    }
    if (NF) {
      gl_acc ai = {.count = 3 * NF, .ncomp = 1};
      if (V <= 65535) {
        uint16_t *ix = (uint16_t *)fb;
        for (size_t i = 0; i < 3 * NF; i++) ix[i] = (uint16_t)rig->faces[i];
        ai.ctype = CT_U16;
        ai.view = add_view(&c->g, ix, 3 * NF * 2, TGT_ELEMENTS);
      } else {
        uint32_t *ix = (uint32_t *)fb;
        for (size_t i = 0; i < 3 * NF; i++) ix[i] = (uint32_t)rig->faces[i];
        ai.ctype = CT_U32;
        ai.view = add_view(&c->g, ix, 3 * NF * 4, TGT_ELEMENTS);
      }
      c->acc_idx = add_acc(&c->g, ai);
    }
  }
  c->ex->rep.n_influence_sets = c->n_sets;
  c->ex->rep.n_vertices = V, c->ex->rep.n_faces = NF;
  /* inverse bind matrices: inverse rest transforms [R0^T | -R0^T t0], column-major */
  for (size_t k = 0; k < J; k++) {
    const double *R0 = rig->rest_R + 9 * k, *t0 = rig->rest_t + 3 * k;
    float *M = fb + 16 * k;
    for (int r = 0; r < 3; r++) {
      for (int cc = 0; cc < 3; cc++) M[4 * cc + r] = (float)R0[3 * cc + r]; /* R0^T (r, cc) = R0 (cc, r) */
      M[12 + r] = (float)(-(R0[r] * t0[0] + R0[3 + r] * t0[1] + R0[6 + r] * t0[2]) / 100);
      M[4 * r + 3] = 0;
    }
    M[15] = 1;
  }
  c->acc_ibm = add_f32(&c->g, fb, J, 16, false, TGT_NONE);
  return true;
}

/* Morph targets: the 72 expression shapes as sparse accessors (metres). */
static void build_targets(gl_ctx *c) {
  const mhrfit_rig *rig = c->rig;
  const size_t V = c->V;
  if (!c->ex->o.expressions || !V || rig->n_shapes < 45 + 72) return;
  for (size_t e = 0; e < 72; e++) {
    size_t k = 45 + e, a0 = rig->shape_start[k], a1 = rig->shape_start[k + 1];
    double *dense = c->db + 3 * V; /* the normals' room: done with them */
    memset(dense, 0, 3 * V * sizeof *dense);
    unsigned char *hit = c->jb;
    memset(hit, 0, V);
    for (size_t q = a0; q < a1; q++) {
      size_t v = (size_t)rig->shape_vertex[q];
      for (int a = 0; a < 3; a++) dense[3 * v + (size_t)a] += rig->shape_delta[3 * q + (size_t)a] / 100;
      hit[v] = 1;
    }
    size_t cnt = 0;
    for (size_t v = 0; v < V; v++) cnt += hit[v];
    if (cnt == 0) hit[0] = 1, cnt = 1; /* sparse accessors need one entry */
    uint32_t *ix = (uint32_t *)c->fb;
    float *val = c->fb + cnt;
    gl_acc at = {.view = -1, .ctype = CT_F32, .count = V, .ncomp = 3, .minmax = true, .sp_count = cnt};
    size_t q = 0;
    for (size_t v = 0; v < V; v++) {
      if (!hit[v]) continue;
      ix[q] = (uint32_t)v;
      for (int a = 0; a < 3; a++) {
        float x = (float)dense[3 * v + (size_t)a];
        val[3 * q + (size_t)a] = x;
        if (x < at.min[a]) at.min[a] = x;
        if (x > at.max[a]) at.max[a] = x;
      }
      q++;
    }
    at.sp_idx_ctype = CT_U32;
    at.sp_idx_view = add_view(&c->g, ix, cnt * 4, TGT_NONE);
    at.sp_val_view = add_view(&c->g, val, cnt * 12, TGT_NONE);
    c->acc_tgt[e] = add_acc(&c->g, at);
  }
  c->n_targets = 72;
}

/* Keypoint nodes: U x keypoint, the last finite position held; keypoints never finite left out. */
static void build_keypoints(gl_ctx *c) {
  const mhrfit_exporter *ex = c->ex;
  c->kp_on = ex->o.keypoints && c->src->has_keypoints;
  const size_t K = c->K;
  for (size_t k = 0; k < K; k++) c->kp_node[k] = -1;
  for (size_t k = 0; c->kp_on && k < K; k++) {
    double last[3] = {NAN, NAN, NAN};
    for (size_t i = 0; i < c->n && !isfinite(last[0]); i++) { /* the first finite one */
      const double *p = c->src->keypoints + (ex->frames[i] * K + k) * 3;
      if (isfinite(p[0]) && isfinite(p[1]) && isfinite(p[2])) memcpy(last, p, sizeof last);
    }
    if (!isfinite(last[0])) continue;
    c->kp_node[k] = c->node_kp + 1 + (int)c->n_kp++;
    for (size_t i = 0; i < c->n; i++) {
      const double *p = c->src->keypoints + (ex->frames[i] * K + k) * 3;
      if (isfinite(p[0]) && isfinite(p[1]) && isfinite(p[2])) memcpy(last, p, sizeof last);
      for (int a = 0; a < 3; a++)
        c->kpv[(i * K + k) * 3 + (size_t)a] =
            (float)(ex->U[3 * a] * last[0] + ex->U[3 * a + 1] * last[1] + ex->U[3 * a + 2] * last[2]);
    }
  }
  c->ex->rep.n_keypoints = c->n_kp;
}

/* An animation channel of n keyframes when they vary. */
static void channel(gl_ctx *c, int node, const char *path, const float *v, int ncomp) {
  if (c->n > 1 && varies(v, c->n, ncomp)) c->chans[c->n_chans++] = (gl_chan){node, path, add_f32(&c->g, v, c->n, ncomp, false, TGT_NONE)};
}

/* The animation: key times, per joint local TRS, the world node, keypoints, morph weights; and
 * the nodes' values (the first exported frame). */
static void build_animation(gl_ctx *c) {
  const mhrfit_exporter *ex = c->ex;
  const size_t J = c->J, n = c->n;
  float *tv = c->kpv + 3 * n * c->K, *ov = tv + n + 8;
  if (n > 1) {
    for (size_t i = 0; i < n; i++) tv[i] = (float)((double)(ex->frames[i] - ex->frames[0]) / ex->rep.fps);
    c->acc_time = add_f32(&c->g, tv, n, 1, true, TGT_NONE);
  }
  for (size_t k = 0; k < J; k++) {
    double prev[4] = {0, 0, 0, 1}, q[4];
    for (size_t i = 0; i < n; i++) {
      mf_export_quat(ex->loc_R + (i * J + k) * 9, i ? prev : NULL, q);
      memcpy(prev, q, sizeof q);
      f32v(ov + 4 * i, q, 4);
    }
    memcpy(c->rest_q[k], ov, sizeof c->rest_q[k]);
    channel(c, (int)k, "rotation", ov, 4);
    for (size_t i = 0; i < n; i++) f32v(ov + 3 * i, ex->loc_t + (i * J + k) * 3, 3);
    memcpy(c->rest_t[k], ov, sizeof c->rest_t[k]);
    channel(c, (int)k, "translation", ov, 3);
    for (size_t i = 0; i < n; i++) ov[3 * i] = ov[3 * i + 1] = ov[3 * i + 2] = (float)ex->loc_s[i * J + k];
    c->rest_s[k] = ov[0];
    channel(c, (int)k, "scale", ov, 3);
  }
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
  memcpy(c->world_t, ot, sizeof c->world_t);
  memcpy(c->world_q, oq, sizeof c->world_q);
  c->world_s = os[0];
  channel(c, c->node_world, "translation", ot, 3);
  channel(c, c->node_world, "rotation", oq, 4);
  channel(c, c->node_world, "scale", os, 3);
  for (size_t k = 0; c->kp_on && k < c->K; k++) {
    if (c->kp_node[k] < 0) continue;
    for (size_t i = 0; i < n; i++) memcpy(ov + 3 * i, c->kpv + (i * c->K + k) * 3, 3 * sizeof(float));
    channel(c, c->kp_node[k], "translation", ov, 3);
  }
  if (c->n_targets) {
    for (size_t i = 0; i < n; i++) f32v(ov + 72 * i, c->src->expr_params + 72 * ex->frames[i], 72);
    if (n > 1 && varies(ov, n, 72)) {
      gl_acc aw = {.ctype = CT_F32, .count = 72 * n, .ncomp = 1};
      aw.view = add_view(&c->g, ov, 72 * n * sizeof(float), TGT_NONE);
      c->chans[c->n_chans++] = (gl_chan){c->node_mesh, "weights", add_acc(&c->g, aw)};
    }
  }
}

/* "name":..., "translation", "rotation" (and "scale" when not 1) of a node. */
static void json_trs(mf_buf *j, const char *name, const float t[3], const float q[4], float s) {
  double td[3] = {t[0], t[1], t[2]}, qd[4] = {q[0], q[1], q[2], q[3]}, sd[3] = {s, s, s};
  mf_buf_printf(j, "{\"name\":");
  mf_buf_json_str(j, name);
  mf_buf_printf(j, ",\"translation\":");
  json_floats(j, td, 3);
  mf_buf_printf(j, ",\"rotation\":");
  json_floats(j, qd, 4);
  if (s != 1.0f) {
    mf_buf_printf(j, ",\"scale\":");
    json_floats(j, sd, 3);
  }
}

/* The asset, the scene and the nodes: joints, world, mesh, keypoints, cameras. */
static void json_nodes(const gl_ctx *c, mf_buf *j) {
  const mhrfit_exporter *ex = c->ex;
  const mhrfit_rig *rig = c->rig;
  mf_buf_printf(j, "{\"asset\":{\"version\":\"2.0\",\"generator\":\"mhrfit %s\",\"extras\":{\"source\":", MHRFIT_VERSION_STRING);
  mf_buf_json_str(j, c->src->path);
  mf_buf_printf(j, ",\"fps\":");
  mf_buf_num(j, ex->rep.fps);
  mf_buf_printf(j, ",\"world_up\":\"%s\",\"lod\":%d,\"units\":\"m\",\"frames\":[", mhrfit_up_name(ex->rep.up), rig->lod);
  for (size_t i = 0; i < c->n; i++) {
    if (i) mf_buf_put(j, ",", 1);
    mf_buf_json_str(j, c->src->frame_names[ex->frames[i]]);
  }
  mf_buf_printf(j, "]}},\"scene\":0,\"scenes\":[{\"name\":\"mhrfit\",\"nodes\":[%d", c->node_world);
  if (c->V) mf_buf_printf(j, ",%d", c->node_mesh);
  if (c->kp_on && c->n_kp) mf_buf_printf(j, ",%d", c->node_kp);
  for (size_t q = 0; q < c->n_cams; q++) mf_buf_printf(j, ",%d", c->node_cam0 + (int)q);
  mf_buf_printf(j, "]}],\"nodes\":[");
  for (size_t k = 0; k <= c->J; k++) { /* the joints, then the world node (parent of the roots) */
    if (k) mf_buf_put(j, ",", 1);
    if (k < c->J) json_trs(j, rig->joint_names[k], c->rest_t[k], c->rest_q[k], c->rest_s[k]);
    else json_trs(j, "mhr_world", c->world_t, c->world_q, c->world_s);
    bool first = true;
    for (size_t q = k < c->J ? k + 1 : 0; q < c->J; q++)
      if (k < c->J ? rig->parents[q] == (int32_t)k : rig->parents[q] < 0) {
        mf_buf_printf(j, "%s%zu", first ? ",\"children\":[" : ",", q);
        first = false;
      }
    mf_buf_printf(j, "%s}", first ? "" : "]");
  }
  mf_buf_printf(j, ",{\"name\":\"mhr_body\",\"mesh\":0,\"skin\":0}");
  if (c->kp_on) {
    mf_buf_printf(j, ",{\"name\":\"mhr_keypoints\",\"children\":[");
    for (size_t q = 0; q < c->n_kp; q++) mf_buf_printf(j, "%s%d", q ? "," : "", c->node_kp + 1 + (int)q);
    mf_buf_printf(j, "]}");
    for (size_t k = 0; k < c->K; k++) {
      if (c->kp_node[k] < 0) continue;
      static const float q0[4] = {0, 0, 0, 1};
      mf_buf_put(j, ",", 1);
      json_trs(j, mf_export_keypoint_name(c->src, k), c->kpv + 3 * k, q0, 1);
      mf_buf_put(j, "}", 1);
    }
  }
  for (size_t q = 0; q < c->n_cams; q++) { /* at U C, C = -R^T t, rotation U R^T F */
    const mhrfit_camera *cam = &ex->calib->cams[q];
    double C[3], M[9], RtF[9], qd[4], td[3];
    for (int a = 0; a < 3; a++) C[a] = -(cam->R[a] * cam->t[0] + cam->R[3 + a] * cam->t[1] + cam->R[6 + a] * cam->t[2]);
    for (int r = 0; r < 3; r++)
      for (int cc = 0; cc < 3; cc++) RtF[3 * r + cc] = cam->R[3 * cc + r] * (cc == 0 ? 1 : -1);
    mf_mat3_mul(ex->U, RtF, M);
    for (int a = 0; a < 3; a++) td[a] = ex->U[3 * a] * C[0] + ex->U[3 * a + 1] * C[1] + ex->U[3 * a + 2] * C[2];
    mf_export_quat(M, NULL, qd);
    float tf[3] = {(float)td[0], (float)td[1], (float)td[2]}, qf[4] = {(float)qd[0], (float)qd[1], (float)qd[2], (float)qd[3]};
    mf_buf_put(j, ",", 1);
    json_trs(j, cam->name, tf, qf, 1);
    mf_buf_printf(j, ",\"camera\":%zu}", q);
  }
  mf_buf_printf(j, "]");
}

/* Cameras, material, mesh, skin and animation. */
static void json_objects(const gl_ctx *c, mf_buf *j) {
  const mhrfit_exporter *ex = c->ex;
  if (c->n_cams) {
    mf_buf_printf(j, ",\"cameras\":[");
    for (size_t q = 0; q < c->n_cams; q++) {
      const mhrfit_camera *cam = &ex->calib->cams[q];
      double fx = cam->K[0], fy = cam->K[4];
      double w = cam->width > 0 ? cam->width : 2 * cam->K[2], h = cam->height > 0 ? cam->height : 2 * cam->K[5];
      double yfov = 2 * atan(h / (2 * fy)), aspect = (w / fx) / (h / fy);
      if (!(yfov > 0 && yfov < 3.1) || !(aspect > 0) || !isfinite(aspect)) yfov = 0.8, aspect = 16.0 / 9;
      mf_buf_printf(j, "%s{\"name\":", q ? "," : "");
      mf_buf_json_str(j, cam->name);
      mf_buf_printf(j, ",\"type\":\"perspective\",\"perspective\":{\"yfov\":");
      mf_buf_num(j, yfov);
      mf_buf_printf(j, ",\"aspectRatio\":");
      mf_buf_num(j, aspect);
      mf_buf_printf(j, ",\"znear\":0.01}}");
    }
    mf_buf_put(j, "]", 1);
  }
  if (c->V) {
    mf_buf_printf(j, ",\"materials\":[{\"name\":\"mhr_skin\",\"pbrMetallicRoughness\":{\"baseColorFactor\":[0.8,0.62,0.52,1],"
                  "\"metallicFactor\":0,\"roughnessFactor\":0.7}}]");
    mf_buf_printf(j, ",\"meshes\":[{\"name\":\"mhr_lod%d\",\"primitives\":[{\"attributes\":{\"POSITION\":%d,\"NORMAL\":%d",
                  c->rig->lod, c->acc_pos, c->acc_nrm);
    for (size_t s = 0; s < c->n_sets; s++) mf_buf_printf(j, ",\"JOINTS_%zu\":%d,\"WEIGHTS_%zu\":%d", s, c->acc_j[s], s, c->acc_w[s]);
    mf_buf_printf(j, "}");
    if (c->acc_idx >= 0) mf_buf_printf(j, ",\"indices\":%d", c->acc_idx);
    mf_buf_printf(j, ",\"material\":0,\"mode\":4");
    if (c->n_targets) {
      mf_buf_printf(j, ",\"targets\":[");
      for (size_t e = 0; e < c->n_targets; e++) mf_buf_printf(j, "%s{\"POSITION\":%d}", e ? "," : "", c->acc_tgt[e]);
      mf_buf_put(j, "]", 1);
    }
    mf_buf_printf(j, "}]");
    if (c->n_targets) {
      double w0[72];
      for (int e = 0; e < 72; e++) w0[e] = (float)c->src->expr_params[72 * ex->frames[0] + (size_t)e];
      mf_buf_printf(j, ",\"weights\":");
      json_floats(j, w0, 72);
      mf_buf_printf(j, ",\"extras\":{\"targetNames\":[");
      for (int e = 0; e < 72; e++) mf_buf_printf(j, "%s\"expression_%d\"", e ? "," : "", e);
      mf_buf_printf(j, "]}");
    }
    mf_buf_printf(j, "}]");
  }
  mf_buf_printf(j, ",\"skins\":[{\"name\":\"mhr\",\"inverseBindMatrices\":%d,\"joints\":[", c->acc_ibm);
  for (size_t k = 0; k < c->J; k++) mf_buf_printf(j, "%s%zu", k ? "," : "", k);
  mf_buf_printf(j, "]}]");
  if (c->n_chans) {
    mf_buf_printf(j, ",\"animations\":[{\"name\":\"mhrfit\",\"samplers\":[");
    for (size_t q = 0; q < c->n_chans; q++)
      mf_buf_printf(j, "%s{\"input\":%d,\"output\":%d,\"interpolation\":\"LINEAR\"}", q ? "," : "", c->acc_time, c->chans[q].output);
    mf_buf_printf(j, "],\"channels\":[");
    for (size_t q = 0; q < c->n_chans; q++)
      mf_buf_printf(j, "%s{\"sampler\":%zu,\"target\":{\"node\":%d,\"path\":\"%s\"}}", q ? "," : "", q, c->chans[q].node,
                    c->chans[q].path);
    mf_buf_printf(j, "]}]");
  }
}

/* The GLB (to `path`, or into *mem), or the .gltf `path` with `<stem>.bin` beside it. */
static bool write_out(gl_ctx *c, mf_buf *j, bool glb, const char *path, unsigned char **mem, size_t *mem_len,
                      mhrfit_error *err) {
  gl *g = &c->g;
  char *bin_path = NULL;
  mf_buf_put(j, ",", 1);
  json_accessors(j, g);
  static const unsigned char zeros[4] = {0};
  if (g->bin.len % 4) mf_buf_put(&g->bin, zeros, 4 - g->bin.len % 4);
  mf_buf_printf(j, ",\"buffers\":[{\"byteLength\":%zu", g->bin.len);
  if (!glb) {
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path, *dot = strrchr(base, '.');
    size_t stem = dot && dot != base ? (size_t)(dot - base) : strlen(base), dl = (size_t)(base - path);
    if (!(bin_path = malloc(dl + stem + 5))) return MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
    memcpy(bin_path, path, dl + stem);
    strcpy(bin_path + dl + stem, ".bin");
    mf_buf_printf(j, ",\"uri\":\"");
    uri_name(j, bin_path + dl);
    mf_buf_put(j, "\"", 1);
  }
  mf_buf_printf(j, "}]}");
  bool ok = false;
  if (j->failed || g->bin.failed) {
    MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory building the glTF JSON");
  } else if (glb) {
    while (j->len % 4) mf_buf_put(j, " ", 1);
    uint32_t hdr[5] = {0x46546C67u, 2u, (uint32_t)(12 + 8 + j->len + 8 + g->bin.len), (uint32_t)j->len, 0x4E4F534Au};
    uint32_t bhdr[2] = {(uint32_t)g->bin.len, 0x004E4942u};
    mf_piece pieces[4] = {{hdr, sizeof hdr}, {j->data, j->len}, {bhdr, sizeof bhdr}, {g->bin.data, g->bin.len}};
    size_t total = sizeof hdr + j->len + sizeof bhdr + g->bin.len;
    if ((uint64_t)total > UINT32_MAX) {
      MHRFIT_FAIL(err, MHRFIT_ERR_LIMIT, "%s: the GLB would exceed 4 GiB", path ? path : "GLB");
    } else if (path) {
      ok = mf_write_pieces_atomic(path, pieces, 4, MF_WRITE_SYNC, NULL, err);
      c->ex->rep.n_files = ok;
    } else if (!(*mem = malloc(total))) {
      MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
    } else {
      size_t off = 0;
      for (int p = 0; p < 4; p++) memcpy(*mem + off, pieces[p].data, pieces[p].len), off += pieces[p].len;
      *mem_len = total;
      ok = true;
    }
    c->ex->rep.bytes = total;
  } else {
    mf_piece pb = {g->bin.data, g->bin.len}, pj = {j->data, j->len};
    ok = mf_write_pieces_atomic(bin_path, &pb, 1, MF_WRITE_SYNC, NULL, err);
    if (ok && !mf_write_pieces_atomic(path, &pj, 1, MF_WRITE_SYNC, NULL, err)) {
      unlink(bin_path); /* nothing partial: the .bin goes with its .gltf */
      ok = false;
    }
    c->ex->rep.n_files = ok ? 2 : 0;
    c->ex->rep.bytes = g->bin.len + j->len;
  }
  free(bin_path);
  return ok;
}

bool mf_export_gltf(mhrfit_exporter *ex, bool glb, const char *path, unsigned char **mem, size_t *mem_len,
                    mhrfit_error *err) {
  if (!measure_correctives(ex, err)) return false;
  const mhrfit_rig *rig = ex->rig;
  gl_ctx c = {.ex = ex, .rig = rig, .src = ex->src, .J = rig->n_joints, .V = rig->n_vertices, .NF = rig->n_faces,
              .n = ex->n, .acc_pos = -1, .acc_nrm = -1, .acc_idx = -1, .acc_j = {-1, -1}, .acc_w = {-1, -1}, .acc_time = -1};
  const size_t J = c.J, V = c.V, n = c.n, big = 16 * (V > J ? V : J), K = c.K = ex->src->n_kp;
  c.node_world = (int)J, c.node_mesh = (int)J + 1, c.node_kp = (int)J + 2;
  /* float scratch: per-vertex and per-joint arrays (big), then keypoints (n x K x 3), times and
   * the animation outputs (up to 72 n for the morph weights) */
  c.fb = mf_malloc_array(big + 3 * n * K + n + 8 + 72 * n + 16, sizeof(float), err);
  c.kp_node = mf_malloc_array(K + 1, sizeof *c.kp_node, err);
  c.db = mf_malloc_array(6 * V + 1, sizeof(double), err);
  c.jb = mf_malloc_array(V + 1, 12, err);
  c.chans = mf_malloc_array(3 * J + 3 + K + 1, sizeof *c.chans, err);
  c.rest_t = mf_malloc_array(J, sizeof *c.rest_t, err);
  c.rest_q = mf_malloc_array(J, sizeof *c.rest_q, err);
  c.rest_s = mf_malloc_array(J, sizeof *c.rest_s, err);
  mf_buf j = {0};
  bool ok = c.fb && c.kp_node && c.db && c.jb && c.chans && c.rest_t && c.rest_q && c.rest_s && build_mesh(&c, err);
  if (ok) {
    c.kpv = c.fb + big;
    build_targets(&c);
    ex->rep.expressions = c.n_targets > 0;
    build_keypoints(&c);
    c.node_cam0 = c.node_kp + (c.kp_on ? 1 + (int)c.n_kp : 0);
    c.n_cams = ex->calib ? ex->calib->n_cams : 0;
    ex->rep.n_cameras = c.n_cams;
    build_animation(&c);
    if (c.g.failed || c.g.bin.failed) ok = MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory building the glTF buffer");
  }
  if (ok) {
    json_nodes(&c, &j);
    json_objects(&c, &j);
    ok = write_out(&c, &j, glb, path, mem, mem_len, err);
  }
  free(c.fb), free(c.kp_node), free(c.db), free(c.jb), free(c.chans), free(c.rest_t), free(c.rest_q), free(c.rest_s);
  free(c.g.views), free(c.g.accs);
  mf_buf_free(&c.g.bin);
  mf_buf_free(&j);
  return ok;
}
