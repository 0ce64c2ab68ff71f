/* MHR rig evaluation cost on one core: forward kinematics, FK + the joint Jacobian (127 joints x
 * 204 parameters), and skinning of the loaded LOD. Median of 5 runs of N evaluations each.
 *   build/bench/bench_rig [ASSETS_DIR]     (default: $MHRFIT_ASSETS) */
#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"
#include "mhrfit/keypoints.h"
#include "mhrfit/npy.h"
#include "mhrfit/rig.h"

int main(int argc, char **argv) {
  const char *assets = argc > 1 ? argv[1] : getenv("MHRFIT_ASSETS");
  if (!assets) {
    fprintf(stderr, "usage: bench_rig ASSETS_DIR (or set MHRFIT_ASSETS)\n");
    return 2;
  }
  mhrfit_error err = {0};
  mhrfit_rig *rig = mhrfit_rig_load(assets, -1, &err);
  if (!rig) {
    fprintf(stderr, "%s\n", err.message);
    return 1;
  }
  static double m[204], R[127 * 9], t[127 * 3], s[127], jp[889], J[381 * 204];
  for (int i = 0; i < 204; i++) m[i] = 0.05 * ((i * 37) % 11 - 5) / 5.0;
  double *verts = malloc(sizeof(double) * 3 * rig->n_vertices);
  mhrfit_fk_pose pose = {R, t, s};
  const int N = 2000;
  const char *names[4] = {"forward kinematics", "FK + joint Jacobian (381 x 204)", "skinning",
                          "FK + MHR70 keypoints + sparse keypoint Jacobian"};
  mhrfit_kpmap *map = mhrfit_kpmap_new_mhr70(rig, &err);
  double kp[210], *KJ = map ? malloc(sizeof(double) * 3 * map->col_start[70]) : NULL;
  if (!map || !KJ) {
    fprintf(stderr, "keypoint map: %s\n", err.message);
    return 1;
  }
  printf("MHR rig, LOD %d (%zu vertices), median of 5 runs of %d evaluations, one thread\n\n", rig->lod,
         rig->n_vertices, N);
  printf("| what | us per evaluation |\n|---|---:|\n");
  for (int what = 0; what < 4; what++) {
    double times[5];
    for (int run = 0; run < 5; run++) {
      double t0 = bench_now();
      for (int i = 0; i < N; i++) {
        m[10] = 0.001 * i;
        mhrfit_rig_fk(rig, m, &pose, jp, &err);
        if (what == 1) mhrfit_rig_joint_jacobian(rig, &pose, jp, J);
        if (what == 2) mhrfit_rig_skin(rig, &pose, verts);
        if (what == 3) {
          mhrfit_kpmap_eval(map, &pose, kp);
          mhrfit_kpmap_jacobian(map, rig, &pose, jp, KJ);
        }
      }
      times[run] = (bench_now() - t0) / N;
    }
    printf("| %s | %.2f |\n", names[what], 1e6 * bench_median(times, 5));
  }
  free(verts);
  free(KJ);
  mhrfit_kpmap_free(map);
  mhrfit_rig_free(rig);
  return 0;
}
