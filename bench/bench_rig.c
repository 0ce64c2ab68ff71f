/* MHR rig cost on one core: loading it from the assets and from a rig file (mhrfit rig import;
 * median of 9 loads each), then forward kinematics, FK + the joint Jacobian (127 joints x 204
 * parameters), skinning of the loaded LOD, the pose correctives (layer 2 from a synthetic
 * corrective_blendshapes_lod<N>.npz written to a temporary folder, since the real one is not in the
 * shared assets) and the vertex Jacobian (median of 5 runs of N evaluations each).
 *   build/bench/bench_rig [ASSETS_DIR]     (default: $MHRFIT_ASSETS) */
#define _XOPEN_SOURCE 700 /* realpath, mkdtemp, symlink */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_util.h"
#include "mhrfit/keypoints.h"
#include "mhrfit/npy.h"
#include "mhrfit/rig.h"

/* Symlinks the shared asset files into `dir` and writes a synthetic corrective_blendshapes_lod<N>.npz
 * (deterministic values of the right shape), since the real layer 2 is not in the shared assets. */
static bool synthetic_assets(const char *assets, const mhrfit_rig *rig, const char *dir) {
  char real[PATH_MAX];
  if (!realpath(assets, real)) return false;
  const char *names[3] = {"compact_v6_1.model", NULL, "corrective_activation.npz"};
  char fbx[32], src[PATH_MAX + 64], dst[256];
  snprintf(fbx, sizeof fbx, "lod%d.fbx", rig->lod);
  names[1] = fbx;
  for (int i = 0; i < 3; i++) {
    snprintf(src, sizeof src, "%s/%s", real, names[i]);
    snprintf(dst, sizeof dst, "%s/%s", dir, names[i]);
    if (symlink(src, dst) != 0) return false;
  }
  size_t shape[3] = {rig->n_corr_hidden, rig->n_vertices, 3};
  mhrfit_error err = {0};
  mhrfit_array *w = mhrfit_array_new(MHRFIT_DT_F32, 0, 3, shape, 0, &err);
  if (!w) return false;
  uint32_t x = 12345;
  for (size_t i = 0; i < w->count; i++) {
    x = x * 1664525u + 1013904223u;
    ((float *)w->data)[i] = 0.05f * ((float)(x >> 8) / 8388608.0f - 1.0f);
  }
  snprintf(dst, sizeof dst, "%s/corrective_blendshapes_lod%d.npz", dir, rig->lod);
  const char *key = "corrective_blendshapes";
  const mhrfit_array *arr[1] = {w};
  bool ok = mhrfit_npz_save(dst, 1, &key, arr, false, &err);
  mhrfit_array_free(w);
  return ok;
}

static void remove_synthetic(const char *dir, int lod) {
  char p[256];
  const char *names[5] = {"compact_v6_1.model", "lod%d.fbx", "corrective_activation.npz", "corrective_blendshapes_lod%d.npz", NULL};
  for (int i = 0; names[i]; i++) {
    char n[64];
    snprintf(n, sizeof n, names[i], lod);
    snprintf(p, sizeof p, "%s/%s", dir, n);
    unlink(p);
  }
  rmdir(dir);
}

/* Rows for the pose correctives and the vertex Jacobian. */
static void bench_correctives(const mhrfit_rig *rig, const char *assets, double *m) {
  static double R[127 * 9], t[127 * 3], s[127], jp[889], feat[750], hidden[3000];
  mhrfit_fk_pose pose = {R, t, s};
  mhrfit_error err = {0};
  size_t nv = rig->n_vertices;
  int32_t *all = malloc(sizeof(int32_t) * nv);
  double *J = malloc(sizeof(double) * 3 * nv * 204), *pos = malloc(sizeof(double) * 3 * nv);
  for (size_t i = 0; i < nv; i++) all[i] = (int32_t)i;
  char dir[64];
  snprintf(dir, sizeof dir, "/tmp/mhrfit_benchcorrXXXXXX");
  mhrfit_rig *r2 = NULL;
  if (rig->corr_start && mkdtemp(dir)) {
    if (synthetic_assets(assets, rig, dir)) r2 = mhrfit_rig_load(dir, rig->lod, &err);
    remove_synthetic(dir, rig->lod);
  }
  double *work = r2 ? malloc(sizeof(double) * mhrfit_rig_skin_work_size(r2)) : NULL;
  double *out = malloc(sizeof(double) * 3 * nv);
  if (!all || !J || !pos || !out || (r2 && !work)) {
    fprintf(stderr, "out of memory\n");
    exit(1);
  }
  mhrfit_rig_fk(rig, m, &pose, jp, &err);
  mhrfit_rig_corrective_features(rig, jp, feat, &err);
  size_t active = 0;
  if (rig->corr_start) {
    mhrfit_rig_corrective_hidden(rig, feat, hidden, &err);
    for (size_t u = 0; u < rig->n_corr_hidden; u++) active += hidden[u] > 0;
  }
  char row[7][160];
  snprintf(row[0], sizeof row[0], "corrective features + layer 1 + ReLU (750 -> 3000, %zu weights)", rig->n_corr_weights);
  snprintf(row[1], sizeof row[1], "corrective layer 2 (synthetic W, %zu of 3000 units active, 3V = %zu)", active, 3 * nv);
  snprintf(row[2], sizeof row[2], "FK + full mesh with correctives (skin_full: features, layers 1-2, LBS)");
  snprintf(row[3], sizeof row[3], "vertex Jacobian, 70 vertices (210 x 204)");
  snprintf(row[4], sizeof row[4], "vertex Jacobian, all %zu vertices (%zu x 204)", nv, 3 * nv);
  snprintf(row[5], sizeof row[5], "FK + vertex Jacobian, all %zu vertices", nv);
  snprintf(row[6], sizeof row[6], "corrective part of the vertex Jacobian, 70 vertices (synthetic W)");
  const int reps[7] = {2000, 200, 200, 2000, 200, 200, 200};
  int32_t some[70];
  for (int i = 0; i < 70; i++) some[i] = (int32_t)((size_t)i * 97 % nv);
  for (int what = 0; what < 7; what++) {
    if (what == 0 && !rig->corr_start) {
      printf("| %s | skipped: no corrective_activation.npz |\n", row[what]);
      continue;
    }
    if ((what == 1 || what == 2 || what == 6) && !r2) {
      printf("| %s | skipped: no synthetic layer 2 |\n", row[what]);
      continue;
    }
    double times[5];
    int N = reps[what];
    for (int run = 0; run < 5; run++) {
      double t0 = bench_now();
      for (int i = 0; i < N; i++) {
        if (what == 0) {
          jp[7 * 40 + 3] = 0.0001 * i;
          mhrfit_rig_corrective_features(rig, jp, feat, &err);
          mhrfit_rig_corrective_hidden(rig, feat, hidden, &err);
        } else if (what == 1) {
          mhrfit_rig_corrective_offsets(r2, hidden, out, &err);
        } else if (what == 2) {
          m[10] = 0.001 * i;
          mhrfit_rig_fk(r2, m, &pose, jp, &err);
          mhrfit_rig_skin_full(r2, NULL, 0, &pose, jp, work, out, &err);
        } else if (what == 3) {
          mhrfit_rig_vertex_jacobian(rig, &pose, jp, NULL, some, 70, pos, J, &err);
        } else if (what == 4) {
          mhrfit_rig_vertex_jacobian(rig, &pose, jp, NULL, all, nv, pos, J, &err);
        } else if (what == 5) {
          m[10] = 0.001 * i;
          mhrfit_rig_fk(rig, m, &pose, jp, &err);
          mhrfit_rig_vertex_jacobian(rig, &pose, jp, NULL, all, nv, pos, J, &err);
        } else {
          mhrfit_rig_corrective_jacobian_add(r2, &pose, jp, hidden, some, 70, J, &err);
        }
      }
      times[run] = (bench_now() - t0) / N;
    }
    printf("| %s | %.2f |\n", row[what], 1e6 * bench_median(times, 5));
  }
  free(all);
  free(J);
  free(pos);
  free(out);
  free(work);
  mhrfit_rig_free(r2);
}

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
  bench_correctives(rig, assets, m);
  free(verts);
  free(KJ);
  mhrfit_kpmap_free(map);
  mhrfit_rig_free(rig);
  return 0;
}
