/* The z-buffered software rasteriser and mesh drawing. See include/mhrfit/overlay.h
 * ("Rasteriser", "Projection limit"). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "mhrfit/overlay.h"
#include "overlay/overlay_internal.h"

/* Vertices are snapped to 1/256 pixel and edge functions evaluated in 64-bit integers: the test of
 * a pixel centre against an edge shared by two triangles is exact, so the top-left rule gives the
 * pixel to exactly one of them. */
#define SUB 256
#define COORD_MAX 1048576.0 /* |u|, |v| beyond this many pixels: the triangle is left out */
#define Z_MIN 1e-9          /* nearer depths: left out (1/z must stay a float) */

struct mhrfit_raster {
  int width, height;
  float *inv_z;   /* per pixel 1/z of the nearest triangle, 0 when none */
  int32_t *id;    /* per pixel its id, -1 when none */
  unsigned char *mark; /* wireframe: pixels already painted */
  int dx0, dy0, dx1, dy1; /* pixels [dx0, dx1) x [dy0, dy1) hold every triangle drawn since the last clear */
  /* scratch of mhrfit_draw_mesh() */
  double *uv, *z;
  unsigned char *ok;
  float *shade;
  size_t cap_vertices, cap_faces;
  double lim_dist[8], lim; /* the projection limit of the last camera drawn through, and its distortion */
  bool lim_set;
};

static bool alloc_buffers(mhrfit_raster *r, int width, int height, mhrfit_error *err) {
  if (width < 1 || height < 1)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "raster size %dx%d: both must be >= 1", width, height);
  if ((long)width * (long)height > MHRFIT_IMAGE_MAX_PIXELS)
    return MHRFIT_FAIL(err, MHRFIT_ERR_LIMIT, "raster size %dx%d exceeds %ld pixels", width, height,
                       (long)MHRFIT_IMAGE_MAX_PIXELS);
  size_t n = (size_t)width * (size_t)height;
  float *z = mf_malloc_array(n, sizeof *z, err);
  int32_t *id = z ? mf_malloc_array(n, sizeof *id, err) : NULL;
  unsigned char *mark = id ? mf_malloc_array(n, 1, err) : NULL;
  if (!mark) {
    free(z);
    free(id);
    return false;
  }
  free(r->inv_z);
  free(r->id);
  free(r->mark);
  r->inv_z = z, r->id = id, r->mark = mark;
  r->width = width, r->height = height;
  r->dx0 = r->dy0 = 0, r->dx1 = width, r->dy1 = height; /* all of it to clear */
  return true;
}

/* Clears the pixels drawn since the last clear (all of them after a resize). */
static void clear(mhrfit_raster *r) {
  for (int y = r->dy0; y < r->dy1; y++) {
    size_t k = (size_t)y * (size_t)r->width + (size_t)r->dx0, n = (size_t)(r->dx1 - r->dx0);
    memset(r->inv_z + k, 0, n * sizeof *r->inv_z);
    memset(r->id + k, 0xff, n * sizeof *r->id); /* -1 */
    memset(r->mark + k, 0, n);
  }
  r->dx0 = r->width, r->dy0 = r->height, r->dx1 = r->dy1 = 0;
}

mhrfit_raster *mhrfit_raster_new(int width, int height, mhrfit_error *err) {
  mhrfit_raster *r = mf_calloc_array(1, sizeof *r, err);
  if (!r) return NULL;
  if (!alloc_buffers(r, width, height, err)) {
    free(r);
    return NULL;
  }
  clear(r);
  return r;
}

bool mhrfit_raster_reset(mhrfit_raster *r, int width, int height, mhrfit_error *err) {
  if ((width != r->width || height != r->height) && !alloc_buffers(r, width, height, err)) return false;
  clear(r);
  return true;
}

void mhrfit_raster_free(mhrfit_raster *r) {
  if (!r) return;
  free(r->inv_z);
  free(r->id);
  free(r->mark);
  free(r->uv);
  free(r->z);
  free(r->ok);
  free(r->shade);
  free(r);
}

int32_t mhrfit_raster_id(const mhrfit_raster *r, int x, int y) {
  if (x < 0 || y < 0 || x >= r->width || y >= r->height) return -1;
  return r->id[(size_t)y * (size_t)r->width + (size_t)x];
}

double mhrfit_raster_depth(const mhrfit_raster *r, int x, int y) {
  if (x < 0 || y < 0 || x >= r->width || y >= r->height) return INFINITY;
  float iz = r->inv_z[(size_t)y * (size_t)r->width + (size_t)x];
  return iz > 0 ? 1.0 / iz : INFINITY;
}

/* An edge a -> b of a triangle of positive area (in the sense of the edge functions below) owns
 * the pixel centres lying exactly on it when it is a top edge (dy == 0, dx > 0: the interior is
 * below it in the image) or a left edge (dy < 0). The reversed edge never does. */
/* floor(a / SUB) for any sign. */
static inline int64_t floor_div(int64_t a) { return a >= 0 ? a / SUB : -((-a + SUB - 1) / SUB); }

static inline bool owns_ties(int64_t dx, int64_t dy) { return dy < 0 || (dy == 0 && dx > 0); }

size_t mhrfit_raster_triangle(mhrfit_raster *r, const double uv[6], const double z[3], int32_t id) {
  for (int i = 0; i < 3; i++)
    if (!(z[i] >= Z_MIN) || !isfinite(z[i]) || !(fabs(uv[2 * i]) <= COORD_MAX) || !(fabs(uv[2 * i + 1]) <= COORD_MAX))
      return 0;
  int64_t X[3], Y[3];
  double iz[3];
  for (int i = 0; i < 3; i++) {
    X[i] = (int64_t)llround(uv[2 * i] * SUB);
    Y[i] = (int64_t)llround(uv[2 * i + 1] * SUB);
    iz[i] = 1.0 / z[i];
  }
  int64_t area = (X[1] - X[0]) * (Y[2] - Y[0]) - (Y[1] - Y[0]) * (X[2] - X[0]);
  if (area == 0) return 0;
  if (area < 0) { /* make the area positive: swap vertices 1 and 2 */
    int64_t t = X[1];
    X[1] = X[2], X[2] = t;
    t = Y[1], Y[1] = Y[2], Y[2] = t;
    double d = iz[1];
    iz[1] = iz[2], iz[2] = d;
    area = -area;
  }
  /* pixel range whose centres can be inside */
  int64_t xmin = X[0] < X[1] ? (X[0] < X[2] ? X[0] : X[2]) : (X[1] < X[2] ? X[1] : X[2]);
  int64_t xmax = X[0] > X[1] ? (X[0] > X[2] ? X[0] : X[2]) : (X[1] > X[2] ? X[1] : X[2]);
  int64_t ymin = Y[0] < Y[1] ? (Y[0] < Y[2] ? Y[0] : Y[2]) : (Y[1] < Y[2] ? Y[1] : Y[2]);
  int64_t ymax = Y[0] > Y[1] ? (Y[0] > Y[2] ? Y[0] : Y[2]) : (Y[1] > Y[2] ? Y[1] : Y[2]);
  /* centre of pixel p is p*SUB + SUB/2: p from ceil((min - SUB/2) / SUB) to floor((max - SUB/2) / SUB) */
  int64_t px0 = floor_div(xmin - SUB / 2 + SUB - 1), px1 = floor_div(xmax - SUB / 2);
  int64_t py0 = floor_div(ymin - SUB / 2 + SUB - 1), py1 = floor_div(ymax - SUB / 2);
  if (px0 < 0) px0 = 0;
  if (py0 < 0) py0 = 0;
  if (px1 >= r->width) px1 = r->width - 1;
  if (py1 >= r->height) py1 = r->height - 1;
  if (px0 > px1 || py0 > py1) return 0;
  if (px0 < r->dx0) r->dx0 = (int)px0;
  if (py0 < r->dy0) r->dy0 = (int)py0;
  if (px1 + 1 > r->dx1) r->dx1 = (int)px1 + 1;
  if (py1 + 1 > r->dy1) r->dy1 = (int)py1 + 1;
  /* edge i is opposite vertex i: from vertex (i+1)%3 to (i+2)%3; w_i(p) = cross(b - a, p - a) */
  int64_t ax[3], ay[3], dx[3], dy[3];
  bool tie[3];
  for (int i = 0; i < 3; i++) {
    int a = (i + 1) % 3, b = (i + 2) % 3;
    ax[i] = X[a], ay[i] = Y[a], dx[i] = X[b] - X[a], dy[i] = Y[b] - Y[a];
    tie[i] = owns_ties(dx[i], dy[i]);
  }
  double inv_area = 1.0 / (double)area;
  size_t n = 0;
  for (int64_t py = py0; py <= py1; py++) {
    /* the span of this row where every edge function can be >= 0 (from where each crosses zero,
     * widened by a pixel: the exact tests below decide) */
    int64_t cy = py * SUB + SUB / 2, xa = px0, xb = px1;
    for (int i = 0; i < 3; i++) {
      if (dy[i] == 0) continue;
      double xz = (double)ax[i] + (double)dx[i] * (double)(cy - ay[i]) / (double)dy[i]; /* w_i = 0 (1/256 px) */
      double p = (xz - SUB / 2) / SUB;
      if (dy[i] > 0 && p + 1 < (double)xb) xb = (int64_t)floor(p) + 1; /* w_i falls with x */
      if (dy[i] < 0 && p - 1 > (double)xa) xa = (int64_t)ceil(p) - 1;  /* w_i rises with x */
    }
    if (xa > xb) continue;
    int64_t cx0 = xa * SUB + SUB / 2;
    int64_t w[3];
    for (int i = 0; i < 3; i++) w[i] = dx[i] * (cy - ay[i]) - dy[i] * (cx0 - ax[i]);
    size_t row = (size_t)py * (size_t)r->width;
    for (int64_t px = xa; px <= xb; px++) {
      bool in = (w[0] > 0 || (w[0] == 0 && tie[0])) && (w[1] > 0 || (w[1] == 0 && tie[1])) &&
                (w[2] > 0 || (w[2] == 0 && tie[2]));
      if (in) {
        double l0 = (double)w[0] * inv_area, l1 = (double)w[1] * inv_area, l2 = 1.0 - l0 - l1;
        float v = (float)(l0 * iz[0] + l1 * iz[1] + l2 * iz[2]);
        size_t k = row + (size_t)px;
        if (v > r->inv_z[k]) {
          r->inv_z[k] = v;
          r->id[k] = id;
          n++;
        }
      }
      for (int i = 0; i < 3; i++) w[i] -= dy[i] * SUB;
    }
  }
  return n;
}

/* ------------------------------------------------------------------ projection limit */

/* Whether the radial distortion still increases at r^2 = s: b > 0 and g + 2 s g' > 0. */
static bool rising(const double *k, double s) {
  double a = 1 + s * (k[0] + s * (k[1] + s * k[4])), da = k[0] + s * (2 * k[1] + 3 * s * k[4]);
  double b = 1 + s * (k[5] + s * (k[6] + s * k[7])), db = k[5] + s * (2 * k[6] + 3 * s * k[7]);
  if (!(b > 0)) return false;
  double g = a / b, dg = (da * b - a * db) / (b * b);
  return g + 2 * s * dg > 0;
}

double mhrfit_overlay_r2_limit(const mhrfit_camera *cam) {
  const double *k = cam->dist;
  if (k[0] == 0 && k[1] == 0 && k[4] == 0 && k[5] == 0 && k[6] == 0 && k[7] == 0) return INFINITY;
  /* steps of 1e-2, then the step where it stops rising found to 1e-9 by bisection */
  for (int i = 1; i <= 6400; i++) {
    double s = i * 1e-2;
    if (rising(k, s)) continue;
    double lo = s - 1e-2, hi = s;
    while (hi - lo > 1e-9) {
      double mid = 0.5 * (lo + hi);
      if (rising(k, mid)) lo = mid;
      else hi = mid;
    }
    return lo;
  }
  return INFINITY;
}

bool mhrfit_overlay_project(const mhrfit_camera *cam, double r2_limit, const double X[3], double uv[2]) {
  if (!mhrfit_camera_project(cam, X, uv, NULL)) return false;
  if (isfinite(r2_limit)) {
    const double *R = cam->R;
    double xc = R[0] * X[0] + R[1] * X[1] + R[2] * X[2] + cam->t[0];
    double yc = R[3] * X[0] + R[4] * X[1] + R[5] * X[2] + cam->t[1];
    double zc = R[6] * X[0] + R[7] * X[1] + R[8] * X[2] + cam->t[2];
    double x = xc / zc, y = yc / zc;
    if (!(x * x + y * y <= r2_limit)) {
      uv[0] = uv[1] = NAN;
      return false;
    }
  }
  return true;
}

/* ------------------------------------------------------------------ meshes */

static bool reserve(mhrfit_raster *r, size_t nv, size_t nf, mhrfit_error *err) {
  if (nv > r->cap_vertices) {
    double *uv = mf_malloc_array(nv, 2 * sizeof *uv, err), *z = uv ? mf_malloc_array(nv, sizeof *z, err) : NULL;
    unsigned char *ok = z ? mf_malloc_array(nv, 1, err) : NULL;
    if (!ok) {
      free(uv);
      free(z);
      return false;
    }
    free(r->uv);
    free(r->z);
    free(r->ok);
    r->uv = uv, r->z = z, r->ok = ok, r->cap_vertices = nv;
  }
  if (nf > r->cap_faces) {
    float *s = mf_malloc_array(nf, sizeof *s, err);
    if (!s) return false;
    free(r->shade);
    r->shade = s, r->cap_faces = nf;
  }
  return true;
}

/* Unit normal (not normalised when degenerate: zero) and centroid of face f. */
static void face_geometry(const double *v, const int32_t *f, double n[3], double c[3]) {
  const double *a = v + 3 * (size_t)f[0], *b = v + 3 * (size_t)f[1], *d = v + 3 * (size_t)f[2];
  double e1[3] = {b[0] - a[0], b[1] - a[1], b[2] - a[2]}, e2[3] = {d[0] - a[0], d[1] - a[1], d[2] - a[2]};
  n[0] = e1[1] * e2[2] - e1[2] * e2[1];
  n[1] = e1[2] * e2[0] - e1[0] * e2[2];
  n[2] = e1[0] * e2[1] - e1[1] * e2[0];
  double len = sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]);
  if (len > 0) n[0] /= len, n[1] /= len, n[2] /= len;
  for (int i = 0; i < 3; i++) c[i] = (a[i] + b[i] + d[i]) / 3.0;
}

/* +1 when the faces are wound with their normals pointing away from the mesh's centre on the
 * whole (outward), -1 otherwise. */
static double winding(const double *v, size_t nv, const int32_t *faces, size_t nf) {
  double m[3] = {0, 0, 0}, s = 0;
  for (size_t i = 0; i < nv; i++)
    for (int a = 0; a < 3; a++) m[a] += v[3 * i + a] / (double)nv;
  for (size_t f = 0; f < nf; f++) {
    double n[3], c[3];
    face_geometry(v, faces + 3 * f, n, c);
    s += n[0] * (c[0] - m[0]) + n[1] * (c[1] - m[1]) + n[2] * (c[2] - m[2]);
  }
  return s < 0 ? -1.0 : 1.0;
}

/* Paints the visible pixels of the edge a-b (1 px wide) whose 1/z is not behind the surface. */
static void draw_edge(mhrfit_image *img, mhrfit_raster *r, const double *pa, double iza, const double *pb, double izb,
                      mhrfit_rgba c) {
  if (!(fabs(pa[0]) <= COORD_MAX && fabs(pa[1]) <= COORD_MAX && fabs(pb[0]) <= COORD_MAX && fabs(pb[1]) <= COORD_MAX))
    return;
  double dx = pb[0] - pa[0], dy = pb[1] - pa[1];
  double steps = ceil(fmax(fabs(dx), fabs(dy)));
  if (!(steps < 1e5)) return;
  int n = (int)steps;
  for (int i = 0; i <= n; i++) {
    double t = n ? (double)i / n : 0.0;
    int x = (int)floor(pa[0] + t * dx), y = (int)floor(pa[1] + t * dy);
    if (x < 0 || y < 0 || x >= r->width || y >= r->height) continue;
    size_t k = (size_t)y * (size_t)r->width + (size_t)x;
    double iz = iza + t * (izb - iza);
    if (r->mark[k] || iz < (double)r->inv_z[k] * (1.0 - 0.01)) continue;
    r->mark[k] = 1;
    if (x < r->dx0) r->dx0 = x;
    if (y < r->dy0) r->dy0 = y;
    if (x >= r->dx1) r->dx1 = x + 1;
    if (y >= r->dy1) r->dy1 = y + 1;
    mf_blend_pixel(img, x, y, c, c.a);
  }
}

bool mhrfit_draw_mesh(mhrfit_image *img, mhrfit_raster *r, const mhrfit_camera *cam, const double *vertices,
                      size_t n_vertices, const int32_t *faces, size_t n_faces, mhrfit_mesh_style style, mhrfit_rgba c,
                      size_t *pixels, mhrfit_error *err) {
  if (pixels) *pixels = 0;
  for (size_t i = 0; i < 3 * n_faces; i++)
    if (faces[i] < 0 || (size_t)faces[i] >= n_vertices)
      return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "mesh face %zu has vertex index %d (the mesh has %zu vertices)",
                         i / 3, (int)faces[i], n_vertices);
  if (!reserve(r, n_vertices, n_faces, err) || !mhrfit_raster_reset(r, img->width, img->height, err)) return false;
  if (!r->lim_set || memcmp(r->lim_dist, cam->dist, sizeof r->lim_dist) != 0) {
    r->lim = mhrfit_overlay_r2_limit(cam);
    memcpy(r->lim_dist, cam->dist, sizeof r->lim_dist);
    r->lim_set = true;
  }
  double lim = r->lim;
  const double *R = cam->R;
  for (size_t i = 0; i < n_vertices; i++) {
    const double *X = vertices + 3 * i;
    r->ok[i] = mhrfit_overlay_project(cam, lim, X, r->uv + 2 * i);
    r->z[i] = R[6] * X[0] + R[7] * X[1] + R[8] * X[2] + cam->t[2];
  }
  for (size_t f = 0; f < n_faces; f++) {
    const int32_t *t = faces + 3 * f;
    if (!r->ok[t[0]] || !r->ok[t[1]] || !r->ok[t[2]]) continue;
    double uv[6] = {r->uv[2 * t[0]], r->uv[2 * t[0] + 1], r->uv[2 * t[1]], r->uv[2 * t[1] + 1],
                    r->uv[2 * t[2]], r->uv[2 * t[2] + 1]};
    double z[3] = {r->z[t[0]], r->z[t[1]], r->z[t[2]]};
    mhrfit_raster_triangle(r, uv, z, (int32_t)f);
  }
  double C[3];
  mhrfit_camera_center(cam, C);
  size_t covered = 0;
  if (style == MHRFIT_MESH_SILHOUETTE) {
    for (size_t f = 0; f < n_faces; f++) r->shade[f] = -1.0f; /* computed on first use */
    int32_t last = -1;
    mhrfit_rgba sc = c;
    for (int y = r->dy0; y < r->dy1; y++) {
      unsigned char *row = img->data + (size_t)y * img->stride;
      for (int x = r->dx0; x < r->dx1; x++) {
        int32_t f = r->id[(size_t)y * (size_t)r->width + (size_t)x];
        if (f < 0) continue;
        covered++;
        if (f != last) { /* the face's shaded colour */
          if (r->shade[f] < 0) {
            double nn[3], cc[3], d[3];
            face_geometry(vertices, faces + 3 * (size_t)f, nn, cc);
            for (int a = 0; a < 3; a++) d[a] = cc[a] - C[a];
            double dl = sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
            double cosv = dl > 0 ? fabs(nn[0] * d[0] + nn[1] * d[1] + nn[2] * d[2]) / dl : 1.0;
            r->shade[f] = (float)(0.45 + 0.55 * cosv);
          }
          double s = r->shade[f];
          sc.r = (unsigned char)(c.r * s + 0.5), sc.g = (unsigned char)(c.g * s + 0.5), sc.b = (unsigned char)(c.b * s + 0.5);
          last = f;
        }
        mf_blend(row + (size_t)x * (size_t)img->channels, img->channels, sc, c.a);
      }
    }
  } else {
    double wsign = winding(vertices, n_vertices, faces, n_faces);
    for (size_t f = 0; f < n_faces; f++) {
      const int32_t *t = faces + 3 * f;
      if (!r->ok[t[0]] || !r->ok[t[1]] || !r->ok[t[2]]) continue;
      double nn[3], cc[3];
      face_geometry(vertices, t, nn, cc);
      double facing = wsign * (nn[0] * (C[0] - cc[0]) + nn[1] * (C[1] - cc[1]) + nn[2] * (C[2] - cc[2]));
      if (!(facing > 0)) continue;
      for (int e = 0; e < 3; e++) {
        int32_t a = t[e], b = t[(e + 1) % 3];
        draw_edge(img, r, r->uv + 2 * a, 1.0 / r->z[a], r->uv + 2 * b, 1.0 / r->z[b], c);
      }
    }
    for (int y = r->dy0; y < r->dy1; y++)
      for (int x = r->dx0; x < r->dx1; x++) covered += r->mark[(size_t)y * (size_t)r->width + (size_t)x];
  }
  if (pixels) *pixels = covered;
  return true;
}
