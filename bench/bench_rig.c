/* MHR rig cost on one core: loading it from the assets and from a rig file (mhrfit rig import;
 * median of 9 loads each), then forward kinematics, FK + the joint Jacobian (127 joints x 204
 * parameters), and skinning of the loaded LOD (median of 5 runs of N evaluations each).
 *   build/bench/bench_rig [ASSETS_DIR]     (default: $MHRFIT_ASSETS) */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

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
  { /* load times: the assets, then a rig file written from them into a temporary folder */
    char dir[] = "/tmp/mhrfit_bench_rig_XXXXXX", path[64];
    if (!mkdtemp(dir)) {
      perror("mkdtemp");
      return 1;
    }
    snprintf(path, sizeof path, "%s/rig.npz", dir);
    if (!mhrfit_rig_save(rig, path, &err)) {
      fprintf(stderr, "%s\n", err.message);
      return 1;
    }
    struct stat st;
    long long bytes = stat(path, &st) == 0 ? (long long)st.st_size : -1;
    enum { LOADS = 9 };
    double t_assets[LOADS], t_file[LOADS];
    for (int i = 0; i < LOADS; i++) {
      double t0 = bench_now();
      mhrfit_rig *a = mhrfit_rig_load(assets, -1, &err);
      t_assets[i] = bench_now() - t0;
      t0 = bench_now();
      mhrfit_rig *b = mhrfit_rig_load_file(path, &err);
      t_file[i] = bench_now() - t0;
      if (!a || !b || !mhrfit_rig_equal(a, b)) {
        fprintf(stderr, "load failed or differs: %s\n", err.message);
        return 1;
      }
      mhrfit_rig_free(a);
      mhrfit_rig_free(b);
    }
    remove(path);
    rmdir(dir);
    double ma = bench_median(t_assets, LOADS), mf = bench_median(t_file, LOADS);
    printf("Loading the MHR rig (LOD %d), median of %d loads, one thread\n\n", rig->lod, LOADS);
    printf("| source | ms per load | bytes read |\n|---|---:|---:|\n");
    long long asset_bytes = 0;
    char ap[4096];
    snprintf(ap, sizeof ap, "%s/compact_v6_1.model", assets);
    if (stat(ap, &st) == 0) asset_bytes += (long long)st.st_size;
    snprintf(ap, sizeof ap, "%s/lod%d.fbx", assets, rig->lod);
    if (stat(ap, &st) == 0) asset_bytes += (long long)st.st_size;
    printf("| assets: compact_v6_1.model + lod%d.fbx | %.2f | %lld |\n", rig->lod, 1e3 * ma, asset_bytes);
    printf("| rig file (mhrfit rig import, format %d) | %.2f | %lld |\n", MHRFIT_RIG_FILE_VERSION, 1e3 * mf, bytes);
    printf("| speed-up | %.0fx | |\n\n", ma / mf);
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
