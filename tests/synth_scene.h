/* Synthetic multi-view scenes for the triangulation tests and benchmark (header-only, test code).
 * Cameras on a ring around a person-sized volume (world Z up), 1920x1080, f ~ 1500 px, mild
 * distortion; observations with Gaussian pixel noise, gross outliers and missing entries. */
#ifndef MF_TEST_SYNTH_SCENE_H
#define MF_TEST_SYNTH_SCENE_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "mhrfit/camera.h"

typedef struct synth_rng {
  uint64_t s;
} synth_rng;

static inline uint64_t synth_next(synth_rng *r) { /* splitmix64 */
  uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
static inline double synth_uniform(synth_rng *r) { return (double)(synth_next(r) >> 11) * (1.0 / 9007199254740992.0); }
static inline double synth_gauss(synth_rng *r) {
  double u = synth_uniform(r), v = synth_uniform(r);
  if (u < 1e-300) u = 1e-300;
  return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* Camera i of n on a ring of radius `radius` at height `height`, looking at (0, 0, 1). */
static inline void synth_camera(int i, int n, double radius, double height, mhrfit_camera *cam) {
  memset(cam, 0, sizeof *cam);
  snprintf(cam->name, sizeof cam->name, "cam%d", i);
  double a = 2.0 * 3.141592653589793 * i / n + 0.3;
  double C[3] = {radius * cos(a), radius * sin(a), height};
  double T[3] = {0, 0, 1.0};
  double z[3] = {T[0] - C[0], T[1] - C[1], T[2] - C[2]};
  double nz = sqrt(z[0] * z[0] + z[1] * z[1] + z[2] * z[2]);
  for (int k = 0; k < 3; k++) z[k] /= nz;
  double up[3] = {0, 0, 1};
  double x[3] = {z[1] * up[2] - z[2] * up[1], z[2] * up[0] - z[0] * up[2], z[0] * up[1] - z[1] * up[0]};
  double nx = sqrt(x[0] * x[0] + x[1] * x[1] + x[2] * x[2]);
  for (int k = 0; k < 3; k++) x[k] /= nx;
  double y[3] = {z[1] * x[2] - z[2] * x[1], z[2] * x[0] - z[0] * x[2], z[0] * x[1] - z[1] * x[0]};
  for (int k = 0; k < 3; k++) {
    cam->R[k] = x[k];
    cam->R[3 + k] = y[k];
    cam->R[6 + k] = z[k];
  }
  for (int r = 0; r < 3; r++) cam->t[r] = -(cam->R[3 * r] * C[0] + cam->R[3 * r + 1] * C[1] + cam->R[3 * r + 2] * C[2]);
  double f = 1400.0 + 40.0 * (i % 5);
  double K[9] = {f, 0, 960 + 3 * (i % 3), 0, f, 540 - 2 * (i % 4), 0, 0, 1};
  memcpy(cam->K, K, sizeof K);
  cam->dist[0] = -0.08 + 0.01 * (i % 3);
  cam->dist[1] = 0.02;
  cam->dist[2] = 0.0005;
  cam->dist[3] = -0.0003;
  cam->n_dist = 5;
  cam->width = 1920;
  cam->height = 1080;
}

/* One frame: K random points in a person-sized box, observed by V cameras with noise (px),
 * outlier and missing rates. pts: K*3, uv: K*V*2, truth_outlier: K*V (may be NULL). */
static inline void synth_frame(synth_rng *r, const mhrfit_camera *cams, int V, int K, double noise, double p_out,
                               double p_miss, double *pts, double *uv, unsigned char *truth_outlier) {
  for (int k = 0; k < K; k++) {
    double *X = pts + 3 * k;
    X[0] = (synth_uniform(r) - 0.5) * 0.8;
    X[1] = (synth_uniform(r) - 0.5) * 0.8;
    X[2] = synth_uniform(r) * 1.8;
    for (int v = 0; v < V; v++) {
      double *o = uv + 2 * (k * V + v);
      double p[2];
      mhrfit_camera_project(&cams[v], X, p, NULL);
      double u1 = synth_uniform(r);
      if (truth_outlier) truth_outlier[k * V + v] = 0;
      if (u1 < p_miss) {
        o[0] = o[1] = NAN;
      } else if (u1 < p_miss + p_out) {
        o[0] = synth_uniform(r) * 1920;
        o[1] = synth_uniform(r) * 1080;
        if (truth_outlier) truth_outlier[k * V + v] = 1;
      } else {
        o[0] = p[0] + noise * synth_gauss(r);
        o[1] = p[1] + noise * synth_gauss(r);
      }
    }
  }
}

#endif
