/* The whole pipeline (`mhrfit run`) on a synthetic capture written by `mhrfit demo`: seconds per
 * stage and frames per second, median of several runs, on one core.
 *
 *   bench_run MHRFIT_BINARY ASSETS_DIR [FRAMES=1000] [RUNS=3] [WORK_DIR]
 *
 * The capture (4 cameras, seed 1) is generated once into WORK_DIR (default: a new temporary
 * folder, removed at the end); every run starts from nothing (`--overwrite`, fresh output
 * folder), so stage 1 is timed too. The process and the runs it starts are pinned to one CPU.
 * Four settings side by side: the assets' default mesh without and with `--mesh`, and a
 * LOD 1-sized mesh (the assets' mesh subdivided to 21,360 vertices, tests/hires_rig.h, written
 * into WORK_DIR as a rig file) without and with `--mesh`. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdbool.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"
#include "hires_rig.h"
#include "mhrfit/demo.h"
#include "mhrfit/json.h"
#include "mhrfit/value.h"

extern char **environ;

enum { N_STAGES = 9 };
static const char *const stage_key[N_STAGES] = {"ingest_s",       "setup_s",          "triangulate_s",
                                                "fit_s",          "frame_other_s",    "recover_smooth_s",
                                                "total_s",        NULL,               NULL};
static const char *const stage_label[N_STAGES] = {
    "stage 1: ingest (read, select, write stage-1 files)",
    "set-up (calibration, rig, markers)",
    "stage 2: triangulation (read stage 1, write triangulated.npz)",
    "stage 3: fit (read views, fit, no file)",
    "per-frame fit.npz and journal",
    "recovery, smoothing, sequence files",
    "whole run (as reported)",
    "process wall time",
    "stages 2-3 + smoothing (goal <= 10 s for 1,000 frames)"};

static int run_once(const char *bin, const char *rig_opt, const char *rig, const char *capture, const char *out,
                    bool mesh, double t[N_STAGES]) {
  char calib[4400];
  snprintf(calib, sizeof calib, "%s/calibration.toml", capture);
  char *argv[] = {(char *)bin, "run", "--input", (char *)capture, "--calib", calib, "--cams", "cam_0", "cam_1",
                  "cam_2", "cam_3", "--out", (char *)out, (char *)rig_opt, (char *)rig, "--overwrite", "--quiet",
                  mesh ? "--mesh" : NULL, NULL};
  double t0 = bench_now();
  pid_t pid;
  if (posix_spawn(&pid, bin, NULL, NULL, argv, environ) != 0) {
    fprintf(stderr, "bench_run: cannot start %s\n", bin);
    return 1;
  }
  int status = 0;
  if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "bench_run: %s run failed\n", bin);
    return 1;
  }
  t[N_STAGES - 2] = bench_now() - t0;
  char path[4500];
  snprintf(path, sizeof path, "%s/sequence_summary.json", out);
  mhrfit_error err = {0};
  mhrfit_value *s = mhrfit_json_load(path, &err);
  if (!s) {
    fprintf(stderr, "bench_run: %s\n", err.message);
    return 1;
  }
  const mhrfit_value *tm = mhrfit_value_dict_get(s, "timing");
  for (int i = 0; i + 2 < N_STAGES; i++) {
    const mhrfit_value *v = tm ? mhrfit_value_dict_get(tm, stage_key[i]) : NULL;
    t[i] = v && mhrfit_value_is_number(v) ? mhrfit_value_as_double(v) : -1;
  }
  t[N_STAGES - 1] = t[2] + t[3] + t[4] + t[5];
  mhrfit_value_free(s);
  return 0;
}

int main(int argc, char **argv) {
  bench_demo_args a;
  if (!bench_demo_args_parse(argc, argv, "bench_run", 3, &a)) return 2;
  const char *bin = a.bin, *assets = a.assets;
  long frames = a.frames, runs = a.runs;
  bool pinned = bench_pin_one_cpu();
  char work[4096];
  bool temp;
  if (!bench_work_dir(a.work_dir, "mhrfit_bench_run", work, sizeof work, &temp)) return 1;
  char capture[4200], out[4300];
  snprintf(capture, sizeof capture, "%s/capture", work);
  mhrfit_demo_options o;
  mhrfit_demo_options_init(&o);
  o.assets = assets;
  o.n_frames = (size_t)frames;
  o.n_cams = 4;
  o.seed = 1;
  mhrfit_error err = {0};
  double tg = bench_now();
  if (!mhrfit_demo_write(capture, &o, NULL, &err)) {
    fprintf(stderr, "bench_run: %s\n", err.message);
    return 1;
  }
  tg = bench_now() - tg;
  printf("mhrfit run on a demo capture: %ld frames x 4 cameras (seed 1, generated in %.1f s), median of %ld runs, %s\n\n",
         frames, tg, runs, pinned ? "pinned to one CPU" : "NOT pinned (sched_setaffinity failed)");
  char hires[4300];
  snprintf(hires, sizeof hires, "%s/hires_rig.npz", work);
  size_t nv = 0;
  if (!hires_rig_write(assets, 6, hires, 1, &nv, &err)) {
    fprintf(stderr, "bench_run: %s\n", err.message);
    return 1;
  }
  int rc = 0;
  for (int k = 0; k < 4 && !rc; k++) {
    bool mesh = k % 2 == 1, hi = k >= 2;
    double *t = calloc((size_t)runs * N_STAGES, sizeof *t), col[50];
    if (!t) return 1;
    for (long r = 0; r < runs && !rc; r++) {
      snprintf(out, sizeof out, "%s/run_%d_%ld", work, k, r);
      rc = run_once(bin, hi ? "--rig" : "--assets", hi ? hires : assets, capture, out, mesh, t + r * N_STAGES);
    }
    if (!rc) {
      char what[160] = "the assets' default mesh";
      if (hi) snprintf(what, sizeof what, "a LOD 1-sized mesh (the assets' mesh subdivided to %zu vertices)", nv);
      printf("%s, %s\n\n| stage | seconds | frames/s |\n|---|---:|---:|\n", what,
             mesh ? "--mesh (pred_vertices and faces in the sequence files)" : "default settings (no mesh written)");
      for (int i = 0; i < N_STAGES; i++) {
        for (long r = 0; r < runs; r++) col[r] = t[r * N_STAGES + i];
        double m = bench_median(col, (size_t)runs);
        printf("| %s | %.2f | %.0f |\n", stage_label[i], m, m > 0 ? (double)frames / m : 0.0);
      }
      printf("\n");
    }
    free(t);
  }
  if (temp) bench_remove_dir("bench_run", work);
  return rc;
}
