/* Triangulation throughput: frames per second on one core for synthetic scenes of 70 keypoints
 * seen by 4, 8 and 16 cameras (1 px noise, 10 % gross outliers, 3 % missing), default and pose2sim
 * methods. Each cell is the median of 5 runs over the same frames.
 *   build/bench/bench_triangulate [frames]      (pin to one core: taskset -c 0 ...) */
#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"
#include "mhrfit/triangulate.h"
#include "synth_scene.h"

#define K 70
#define RUNS 5

int main(int argc, char **argv) {
  int frames = argc > 1 ? atoi(argv[1]) : 300;
  if (frames < 1) frames = 300;
  static const int views[3] = {4, 8, 16};
  printf("triangulation, %d keypoints, %d frames per run, median of %d runs, one thread\n\n", K, frames, RUNS);
  printf("| views | method   | frames/s | us/frame | mean error mm |\n|---:|---|---:|---:|---:|\n");
  for (int vi = 0; vi < 3; vi++) {
    int V = views[vi];
    mhrfit_camera cams[16];
    for (int i = 0; i < V; i++) synth_camera(i, V, 3.5, 1.5, &cams[i]);
    double *pts = malloc(sizeof(double) * 3 * K * (size_t)frames);
    double *uv = malloc(sizeof(double) * 2 * K * (size_t)V * (size_t)frames);
    double *conf = malloc(sizeof(double) * K * (size_t)V * (size_t)frames);
    synth_rng r = {7};
    for (int f = 0; f < frames; f++)
      synth_frame(&r, cams, V, K, 1.0, 0.10, 0.03, pts + 3 * K * f, uv + 2 * K * V * f, NULL);
    for (int i = 0; i < K * V * frames; i++) conf[i] = 0.9;
    for (int m = 0; m < 2; m++) {
      mhrfit_tri_options o;
      mhrfit_tri_options_default(&o);
      o.method = m ? MHRFIT_TRI_POSE2SIM : MHRFIT_TRI_DEFAULT;
      mhrfit_error err = {0};
      mhrfit_triangulator *t = mhrfit_triangulator_new(cams, (size_t)V, K, &o, &err);
      if (!t) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
      }
      double times[RUNS], out[3 * K], esum = 0;
      long en = 0;
      for (int run = 0; run < RUNS; run++) {
        double t0 = bench_now();
        for (int f = 0; f < frames; f++) {
          mhrfit_tri_result res = {.points = out};
          mhrfit_triangulator_process(t, K, uv + 2 * K * V * f, conf + K * V * f, &res, &err);
          if (run == 0)
            for (int k = 0; k < K; k++)
              if (out[3 * k] == out[3 * k]) {
                const double *X = pts + 3 * K * f + 3 * k;
                esum += sqrt(pow(out[3 * k] - X[0], 2) + pow(out[3 * k + 1] - X[1], 2) + pow(out[3 * k + 2] - X[2], 2));
                en++;
              }
        }
        times[run] = bench_now() - t0;
      }
      double med = bench_median(times, RUNS);
      printf("| %d | %-8s | %.0f | %.1f | %.2f |\n", V, m ? "pose2sim" : "default", frames / med, 1e6 * med / frames,
             1000 * esum / (double)(en ? en : 1));
      mhrfit_triangulator_free(t);
    }
    free(pts);
    free(uv);
    free(conf);
  }
  return 0;
}
