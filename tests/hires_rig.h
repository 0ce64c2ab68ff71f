/* A high-resolution MHR rig for tests and benchmarks: the assets' mesh with every triangle split
 * into n x n smaller ones (vertices, skin weights and blend shapes interpolated barycentrically;
 * skeleton, parameters and pose-corrective layer 1 unchanged), written as a rig file. With the
 * LOD 6 mesh (595 vertices, 1,186 triangles) n = 6 gives 21,360 vertices: more than the
 * 18,439 of LOD 1, the default level of detail, which the test data does not include.
 *
 *   hires_rig_write(assets, 6, "hires.npz", 1, &n_vertices, &err)   then --rig hires.npz
 *
 * A new vertex takes the influences of the (up to 3) old vertices it is made of: up to 12 with the
 * assets' 4 per vertex. hires_rig_write_inf() keeps at most `max_influences` of them (the largest,
 * scaled to the same total; 0 keeps all), e.g. 8 for a rig whose vertices have 1 to 8 influences,
 * which a glTF skin holds exactly (JOINTS_0/1, WEIGHTS_0/1). n = 11 makes 71,755 vertices (more
 * than 16-bit indices address). */
#ifndef MF_TESTS_HIRES_RIG_H
#define MF_TESTS_HIRES_RIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mhrfit/rig.h"

/* The growing new mesh: vertices as barycentric combinations of at most 3 old ones. */
typedef struct hr_mesh {
  size_t n, cap;
  int32_t (*src)[3];
  double (*w)[3];
  int64_t *key; /* edge points: (min, max, step) packed; -1 for interior points and corners */
} hr_mesh;

static int64_t hr_key(int32_t a, int32_t b, int step, int n) {
  if (a > b) {
    int32_t t = a;
    a = b;
    b = t;
    step = n - step;
  }
  return ((int64_t)a * 1000003 + b) * 64 + step;
}

/* Index of the point (i, j) of triangle (a, b, c) split n x n: corners keep their old index,
 * edge points are shared with the neighbouring triangle (a linear search over the edge points
 * made so far, through a small hash of the key). */
typedef struct hr_table {
  int64_t *keys;
  int32_t *vals;
  size_t cap;
} hr_table;

static int32_t *hr_slot(hr_table *t, int64_t key) {
  size_t h = (size_t)((uint64_t)key * 0x9E3779B97F4A7C15ull >> 20) & (t->cap - 1);
  while (t->keys[h] != -1 && t->keys[h] != key) h = (h + 1) & (t->cap - 1);
  t->keys[h] = key;
  return &t->vals[h];
}

static int32_t hr_point(hr_mesh *m, hr_table *t, const int32_t *tri, int i, int j, int n, size_t n_old) {
  if (i == 0 && j == 0) return tri[0];
  if (i == n && j == 0) return tri[1];
  if (i == 0 && j == n) return tri[2];
  int32_t *slot = NULL;
  if (j == 0) slot = hr_slot(t, hr_key(tri[0], tri[1], i, n));
  else if (i == 0) slot = hr_slot(t, hr_key(tri[0], tri[2], j, n));
  else if (i + j == n) slot = hr_slot(t, hr_key(tri[1], tri[2], j, n));
  if (slot && *slot >= 0) return *slot;
  if (m->n == m->cap) {
    m->cap = m->cap ? 2 * m->cap : 1024;
    m->src = realloc(m->src, m->cap * sizeof *m->src);
    m->w = realloc(m->w, m->cap * sizeof *m->w);
  }
  size_t k = m->n++;
  m->src[k][0] = tri[0], m->src[k][1] = tri[1], m->src[k][2] = tri[2];
  m->w[k][0] = 1.0 - (double)(i + j) / n, m->w[k][1] = (double)i / n, m->w[k][2] = (double)j / n;
  int32_t idx = (int32_t)(n_old + k);
  if (slot) *slot = idx;
  return idx;
}

/* Keeps the `keep` largest of the `n` influences (j, w), scaled to the same total (keep 0: all). */
static inline size_t hr_cap_influences(int32_t *j, double *w, size_t n, size_t keep) {
  if (!keep || n <= keep) return n;
  double total = 0, kept = 0;
  for (size_t a = 0; a < n; a++) total += w[a];
  for (size_t a = 0; a < keep; a++) { /* selection of the largest, in place */
    size_t b = a;
    for (size_t c = a + 1; c < n; c++)
      if (w[c] > w[b]) b = c;
    double tw = w[a];
    int32_t tj = j[a];
    w[a] = w[b], j[a] = j[b], w[b] = tw, j[b] = tj;
    kept += w[a];
  }
  for (size_t a = 0; a < keep; a++) w[a] *= total / kept;
  return keep;
}

static inline bool hires_rig_write_inf(const char *assets, int n, const char *path, int lod, size_t max_influences,
                                size_t *n_vertices, mhrfit_error *err) {
  mhrfit_rig *r = mhrfit_rig_open(assets, -1, MHRFIT_RIG_NO_CORRECTIVE_BLENDSHAPES, err);
  if (!r) return false;
  const size_t V0 = r->n_vertices, F0 = r->n_faces;
  hr_mesh m = {0};
  hr_table t = {0};
  t.cap = 1;
  while (t.cap < 8 * F0 * (size_t)n) t.cap *= 2;
  t.keys = malloc(t.cap * sizeof *t.keys);
  t.vals = malloc(t.cap * sizeof *t.vals);
  int32_t *faces = malloc(F0 * (size_t)(n * n) * 3 * sizeof *faces), *grid = malloc((size_t)(n + 1) * (n + 1) * sizeof *grid);
  bool ok = false;
  double *verts = NULL, *skin_w = NULL, *dense = NULL, *delta = NULL;
  int32_t *skin_v = NULL, *skin_j = NULL, *shape_v = NULL;
  size_t *shape_start = NULL, S = 0, E = 0, Fn = 0;
  if (!t.keys || !t.vals || !faces || !grid) goto done;
  memset(t.keys, 0xff, t.cap * sizeof *t.keys);
  memset(t.vals, 0xff, t.cap * sizeof *t.vals);
  for (size_t f = 0; f < F0; f++) {
    const int32_t *tri = r->faces + 3 * f;
    for (int i = 0; i <= n; i++)
      for (int j = 0; i + j <= n; j++) grid[i * (n + 1) + j] = hr_point(&m, &t, tri, i, j, n, V0);
    for (int i = 0; i < n; i++)
      for (int j = 0; i + j < n; j++) {
        int32_t p = grid[i * (n + 1) + j], q = grid[(i + 1) * (n + 1) + j], s = grid[i * (n + 1) + j + 1];
        faces[3 * Fn] = p, faces[3 * Fn + 1] = q, faces[3 * Fn + 2] = s, Fn++;
        if (i + j + 1 < n) {
          int32_t u = grid[(i + 1) * (n + 1) + j + 1];
          faces[3 * Fn] = q, faces[3 * Fn + 1] = u, faces[3 * Fn + 2] = s, Fn++;
        }
      }
  }
  const size_t V = V0 + m.n;
  verts = malloc(3 * V * sizeof *verts);
  /* skin: per old vertex its influences (grouped by vertex); a new vertex takes the weighted union */
  size_t max_inf = 0, *start = calloc(V0 + 1, sizeof *start), *order = malloc((r->n_skin + 1) * sizeof *order);
  if (!verts || !start || !order) {
    free(start), free(order);
    goto done;
  }
  for (size_t s = 0; s < r->n_skin; s++) start[r->skin_vertex[s] + 1]++;
  for (size_t v = 0; v < V0; v++) {
    max_inf = start[v + 1] > max_inf ? start[v + 1] : max_inf;
    start[v + 1] += start[v];
  }
  {
    size_t *fill = calloc(V0 + 1, sizeof *fill);
    if (!fill) {
      free(start), free(order);
      goto done;
    }
    for (size_t s = 0; s < r->n_skin; s++) order[start[r->skin_vertex[s]] + fill[r->skin_vertex[s]]++] = s;
    free(fill);
  }
  size_t cap_s = r->n_skin + 3 * max_inf * m.n;
  skin_v = malloc(cap_s * sizeof *skin_v);
  skin_j = malloc(cap_s * sizeof *skin_j);
  skin_w = malloc(cap_s * sizeof *skin_w);
  if (!skin_v || !skin_j || !skin_w) {
    free(start), free(order);
    goto done;
  }
  memcpy(verts, r->vertices, 3 * V0 * sizeof *verts);
  memcpy(skin_v, r->skin_vertex, r->n_skin * sizeof *skin_v);
  memcpy(skin_j, r->skin_joint, r->n_skin * sizeof *skin_j);
  memcpy(skin_w, r->skin_weight, r->n_skin * sizeof *skin_w);
  S = r->n_skin;
  for (size_t k = 0; k < m.n; k++) {
    for (int c = 0; c < 3; c++)
      verts[3 * (V0 + k) + c] = m.w[k][0] * r->vertices[3 * m.src[k][0] + c] +
                                m.w[k][1] * r->vertices[3 * m.src[k][1] + c] + m.w[k][2] * r->vertices[3 * m.src[k][2] + c];
    size_t first = S;
    for (int c = 0; c < 3; c++) {
      if (m.w[k][c] == 0) continue;
      for (size_t o = start[m.src[k][c]]; o < start[m.src[k][c] + 1]; o++) {
        size_t s = order[o], e = first;
        while (e < S && skin_j[e] != r->skin_joint[s]) e++;
        if (e == S) skin_v[S] = (int32_t)(V0 + k), skin_j[S] = r->skin_joint[s], skin_w[S++] = 0;
        skin_w[e] += m.w[k][c] * r->skin_weight[s];
      }
    }
    S = first + hr_cap_influences(skin_j + first, skin_w + first, S - first, max_influences);
  }
  free(start);
  free(order);
  /* blend shapes: dense per shape on the old mesh, interpolated, kept where non-zero */
  dense = malloc(3 * V0 * sizeof *dense);
  shape_start = malloc((r->n_shapes + 1) * sizeof *shape_start);
  size_t cap_e = r->shape_start[r->n_shapes] + 1024; /* grows as needed */
  shape_v = malloc(cap_e * sizeof *shape_v);
  delta = malloc(3 * cap_e * sizeof *delta);
  if (!dense || !shape_start || !shape_v || !delta) goto done;
  for (size_t b = 0; b < r->n_shapes; b++) {
    shape_start[b] = E;
    memset(dense, 0, 3 * V0 * sizeof *dense);
    for (size_t e = r->shape_start[b]; e < r->shape_start[b + 1]; e++)
      for (int c = 0; c < 3; c++) dense[3 * r->shape_vertex[e] + c] += r->shape_delta[3 * e + c];
    for (size_t v = 0; v < V; v++) {
      double d[3];
      for (int c = 0; c < 3; c++)
        d[c] = v < V0 ? dense[3 * v + c]
                      : m.w[v - V0][0] * dense[3 * m.src[v - V0][0] + c] + m.w[v - V0][1] * dense[3 * m.src[v - V0][1] + c] +
                            m.w[v - V0][2] * dense[3 * m.src[v - V0][2] + c];
      if (d[0] == 0 && d[1] == 0 && d[2] == 0) continue;
      if (E == cap_e) {
        int32_t *sv = realloc(shape_v, 2 * cap_e * sizeof *sv);
        if (sv) shape_v = sv;
        double *dd = sv ? realloc(delta, 6 * cap_e * sizeof *dd) : NULL;
        if (!dd) goto done;
        delta = dd;
        cap_e *= 2;
      }
      shape_v[E] = (int32_t)v;
      memcpy(delta + 3 * E++, d, sizeof d);
    }
  }
  shape_start[r->n_shapes] = E;
  mhrfit_rig h = *r; /* the skeleton and parameters shared, the mesh replaced */
  h.lod = lod;
  h.n_vertices = V, h.vertices = verts;
  h.n_faces = Fn, h.faces = faces;
  h.n_skin = S, h.skin_vertex = skin_v, h.skin_joint = skin_j, h.skin_weight = skin_w;
  h.shape_start = shape_start, h.shape_vertex = shape_v, h.shape_delta = delta;
  h.corr_blend = NULL;
  h.skin_vstart = NULL, h.skin_vorder = NULL;
  ok = mhrfit_rig_save(&h, path, err);
  if (n_vertices) *n_vertices = V;
done:
  if (!ok && err && !err->type) MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "hires rig: out of memory");
  free(t.keys), free(t.vals), free(faces), free(grid), free(m.src), free(m.w), free(verts);
  free(skin_v), free(skin_j), free(skin_w), free(dense), free(shape_start), free(shape_v), free(delta);
  mhrfit_rig_free(r);
  return ok;
}

/* hires_rig_write_inf() keeping every influence. */
static inline bool hires_rig_write(const char *assets, int n, const char *path, int lod, size_t *n_vertices,
                            mhrfit_error *err) {
  return hires_rig_write_inf(assets, n, path, lod, 0, n_vertices, err);
}

#endif
