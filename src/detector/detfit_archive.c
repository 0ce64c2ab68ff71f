/* A triangulation archive fitted without views into a fit archive: see include/mhrfit/detector.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "mhrfit/detector.h"
#include "detector/detfit_internal.h"

typedef struct run_ctx {
  mhrfit_fit_archive *a;
  const mhrfit_detmap *map;
  const double *points, *weights;
  int *kp_index;
  mhrfit_detfit_frame_cb progress;
  void *user;
} run_ctx;

static bool store_frame(void *user, size_t f, const mhrfit_fit_result *res, const mhrfit_error *ferr) {
  run_ctx *c = user;
  size_t n = c->map->n;
  if (res) {
    mhrfit_fit_view view = {"none", {0}, NULL, NULL, 0, INFINITY};
    mhrfit_fit_frame fr = {0};
    fr.n_points = n;
    fr.kp_index = c->kp_index;
    fr.targets = c->points + 3 * n * f;
    fr.inlier_weight = c->weights + n * f;
    fr.n_views = 1;
    fr.views = &view;
    mhrfit_fit_archive_set(c->a, f, &fr, NULL, res);
  } else {
    mhrfit_fit_archive_set_failed(c->a, f, "optimization_failed", ferr->message);
    for (size_t k = 0; k < n; k++)
      for (int a = 0; a < 3; a++) c->a->targets[3 * (n * f + k) + a] = c->points[3 * (n * f + k) + a];
  }
  return c->progress ? c->progress(c->user, f, res, ferr) : true;
}

/* The map keypoint of each of the archive's K points (matched by name), a new array; NULL with
 * MHRFIT_ERR_FORMAT naming a point that is not a keypoint of the map. */
static size_t *map_points(const mhrfit_detmap *map, const mhrfit_tri_archive *tri, mhrfit_error *err) {
  size_t n = map->n, K = tri->n_kp;
  size_t *to = mf_malloc_array(K ? K : 1, sizeof *to, err);
  if (!to) return NULL;
  for (size_t i = 0; i < K; i++) {
    const char *name = tri->subset_names[i] ? tri->subset_names[i] : "";
    size_t k = 0;
    while (k < n && strcmp(map->names[k], name) != 0) k++;
    if (k == n) {
      MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT,
                  "triangulated point %zu ('%s') is not a keypoint of the %s layout (%zu keypoints, the first '%s'): "
                  "triangulate with the same --layout or --keypoint_names",
                  i, name, map->layout, n, map->names[0]);
      free(to);
      return NULL;
    }
    to[i] = k;
  }
  return to;
}

bool mhrfit_detfit_points_from_tri(const mhrfit_detmap *map, const mhrfit_tri_archive *tri, double *points,
                                   double *weights, mhrfit_error *err) {
  size_t n = map->n, F = tri->n_frames, K = tri->n_kp, V = tri->n_views;
  size_t *to = map_points(map, tri, err);
  if (!to) return false;
  for (size_t i = 0; i < F * n * 3; i++) points[i] = NAN;
  for (size_t i = 0; i < F * n; i++) weights[i] = 0;
  for (size_t f = 0; f < F; f++)
    for (size_t i = 0; i < K; i++) {
      size_t k = to[i];
      memcpy(points + 3 * (f * n + k), tri->points + 3 * (f * K + i), 3 * sizeof(double));
      size_t in = 0;
      for (size_t v = 0; v < V; v++) in += tri->inliers[(f * K + i) * V + v] != 0;
      weights[f * n + k] = V ? (double)in / (double)V : 1.0;
    }
  free(to);
  return true;
}

bool mhrfit_detfit_metrics_from_tri(const mhrfit_detmap *map, const mhrfit_tri_archive *tri, const mhrfit_camera *cams,
                                    double *metrics, mhrfit_error *err) {
  size_t n = map->n, F = tri->n_frames, K = tri->n_kp, V = tri->n_views;
  size_t *to = map_points(map, tri, err);
  if (!to) return false;
  static const double I3[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
  for (size_t i = 0; i < F * n; i++) memcpy(metrics + 9 * i, I3, sizeof I3);
  for (size_t f = 0; f < F; f++)
    for (size_t i = 0; i < K; i++) {
      const double *X = tri->points + 3 * (f * K + i);
      if (!isfinite(X[0]) || !isfinite(X[1]) || !isfinite(X[2])) continue;
      double H[9] = {0}, uv[2], J[6];
      size_t nv = 0;
      for (size_t v = 0; v < V; v++) {
        if (!tri->inliers[(f * K + i) * V + v] || !mhrfit_camera_project(&cams[v], X, uv, J)) continue;
        bool fin = true;
        for (int a = 0; a < 6; a++) fin = fin && isfinite(J[a]);
        if (!fin) continue;
        for (int a = 0; a < 3; a++)
          for (int b = 0; b < 3; b++) H[3 * a + b] += J[a] * J[b] + J[3 + a] * J[3 + b];
        nv++;
      }
      double M[9];
      if (nv < 2 || !mf_detfit_metric_of(H, M)) continue; /* one view sees no depth: Euclidean */
      memcpy(metrics + 9 * (f * n + to[i]), M, sizeof M);
    }
  free(to);
  return true;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The median of the n values of x (sorted in place); NAN when n is 0. */
static double median_of(double *x, size_t n) {
  if (n == 0) return NAN;
  qsort(x, n, sizeof *x, cmp_double);
  return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

bool mhrfit_detfit_camera_noise(const mhrfit_tri_archive *tri, double *noise_px, mhrfit_error *err) {
  size_t FK = tri->n_frames * tri->n_kp, V = tri->n_views;
  double *buf = mf_malloc_array(FK * V > 0 ? FK * V : 1, sizeof *buf, err);
  if (!buf) return false;
  size_t nall = 0;
  for (size_t v = 0; v < V; v++) {
    size_t m = 0;
    for (size_t i = 0; i < FK; i++) {
      double e = tri->reproj_err[i * V + v];
      if (tri->inliers[i * V + v] && isfinite(e)) buf[m++] = e;
    }
    noise_px[v] = median_of(buf, m);
  }
  for (size_t i = 0; i < FK * V; i++)
    if (tri->inliers[i] && isfinite(tri->reproj_err[i])) buf[nall++] = tri->reproj_err[i];
  double all = nall ? median_of(buf, nall) : 1.0;
  if (!(all > 0)) all = 1.0;
  for (size_t v = 0; v < V; v++)
    if (!(noise_px[v] > 0)) noise_px[v] = all;
  free(buf);
  return true;
}

/* The archive's detections in the map's order (n keypoints × V views per frame; NaN where the
 * archive has no point of a map keypoint) and the cameras' noise: the views of the reprojection
 * refinement (detector.h). */
typedef struct detections {
  double *uv, *conf, *noise_px;
  mhrfit_detfit_views views;
} detections;

static void detections_free(detections *d) {
  if (!d) return;
  free(d->uv), free(d->conf), free(d->noise_px), free(d);
}

static detections *detections_of_map(const mhrfit_detmap *map, const mhrfit_tri_archive *tri, mhrfit_error *err) {
  size_t n = map->n, F = tri->n_frames, K = tri->n_kp, V = tri->n_views;
  size_t *to = map_points(map, tri, err);
  detections *d = to ? mf_calloc_array(1, sizeof *d, err) : NULL;
  if (!d || !(d->uv = mf_malloc_array(F * n * V * 2, sizeof *d->uv, err)) ||
      !(d->conf = mf_calloc_array(F * n * V, sizeof *d->conf, err)) ||
      !(d->noise_px = mf_malloc_array(V, sizeof *d->noise_px, err))) {
    detections_free(d);
    free(to);
    return NULL;
  }
  for (size_t i = 0; i < F * n * V * 2; i++) d->uv[i] = NAN;
  for (size_t f = 0; f < F; f++)
    for (size_t i = 0; i < K; i++)
      for (size_t v = 0; v < V; v++) {
        size_t src = (f * K + i) * V + v, dst = (f * n + to[i]) * V + v;
        d->uv[2 * dst] = tri->det_uv[2 * src];
        d->uv[2 * dst + 1] = tri->det_uv[2 * src + 1];
        d->conf[dst] = tri->det_conf[src];
      }
  free(to);
  return d;
}

mhrfit_fit_archive *mhrfit_detfit_run(mhrfit_detfit *d, const mhrfit_detmap *map, const mhrfit_tri_archive *tri,
                                      const mhrfit_camera *cams, bool mesh, mhrfit_detfit_frame_cb progress, void *user,
                                      mhrfit_error *err) {
  size_t n = map->n, F = tri->n_frames;
  const mhrfit_rig *rig = mhrfit_detfit_rig(d);
  double *points = mf_malloc_array((F ? F : 1) * n * 3, sizeof *points, err);
  double *weights = mf_malloc_array((F ? F : 1) * n, sizeof *weights, err);
  int *kp_index = mf_malloc_array(n, sizeof *kp_index, err);
  double *metrics = cams ? mf_malloc_array((F ? F : 1) * n * 9, sizeof *metrics, err) : NULL;
  mhrfit_fit_archive *a = NULL;
  detections *det = NULL;
  if (!points || !weights || !kp_index || (cams && !metrics) ||
      !mhrfit_detfit_points_from_tri(map, tri, points, weights, err) ||
      (cams && !mhrfit_detfit_metrics_from_tri(map, tri, cams, metrics, err)))
    goto fail;
  for (size_t k = 0; k < n; k++) kp_index[k] = (int)k;
  const mhrfit_fit_options *fo = mhrfit_detfit_fit_options(d);
  size_t n_hist = (size_t)mhrfit_fit_options_iter_cap(fo);
  const char *view_names[1] = {"none"};
  a = mhrfit_fit_archive_new(F, n, 1, rig->n_joints, mesh ? rig->n_vertices : 0, n_hist, view_names, err);
  if (!a || !mhrfit_fit_archive_set_pred_keypoints(a, n, (const char *const *)map->names, err)) goto fail;
  a->frame_axis = tri->frame_axis || F > 1;
  mhrfit_fit_archive_set_options(a, fo);
  for (size_t k = 0; k < n; k++) a->subset_idx[k] = (int32_t)k;
  run_ctx c = {a, map, points, weights, kp_index, progress, user};
  if (cams && tri->det_uv && tri->det_conf && tri->n_views >= 2 && isfinite(tri->threshold_px) &&
      tri->threshold_px > 0) {
    if (!(det = detections_of_map(map, tri, err)) || !mhrfit_detfit_camera_noise(tri, det->noise_px, err)) goto fail;
    det->views = (mhrfit_detfit_views){tri->n_views, cams, det->uv, det->conf, NULL, det->noise_px, tri->threshold_px};
  }
  if (!mhrfit_detfit_sequence(d, F, points, weights, metrics, det ? &det->views : NULL, store_frame, &c, err))
    goto fail;
  free(points), free(weights), free(kp_index), free(metrics), detections_free(det);
  return a;
fail:
  mhrfit_fit_archive_free(a);
  free(points), free(weights), free(kp_index), free(metrics), detections_free(det);
  return NULL;
}
