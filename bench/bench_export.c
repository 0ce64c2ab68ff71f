/* mhrfit export of a fitted sequence: seconds per step and file size per frame, each format
 * side by side on the same run, median of several exports, on one core.
 *
 *   bench_export MHRFIT_BINARY ASSETS_DIR [FRAMES=1000] [RUNS=5] [WORK_DIR]
 *
 * A demo capture (4 cameras, seed 1) is generated and run once (`mhrfit run`, default settings)
 * into WORK_DIR (default: a new temporary folder, removed at the end); then each export is done
 * in this process, as `mhrfit export` does it: read the run folder (sequence_smoothed.npz and
 * the run's JSON files), load the rig (a rig file made once from the assets, as a user who
 * exports often would, and the assets themselves for comparison), select and check the frames
 * with their forward kinematics, write the file. The goal: the GLB of 1,000 frames (LOD of the
 * assets, keypoints, cameras) in <= 0.5 s on one core. */
#define _GNU_SOURCE
#include <sched.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "mhrfit/demo.h"
#include "mhrfit/export.h"
#include "mhrfit/rig.h"

extern char **environ;

static int spawn(char **argv) {
  pid_t pid;
  int status = 0;
  if (posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) != 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    fprintf(stderr, "bench_export: %s %s failed\n", argv[0], argv[1]);
    return 1;
  }
  return 0;
}

enum { N_STEP = 6 };
static const char *const step_label[N_STEP] = {"read the run", "load the rig", "select, check, FK", "write", "total",
                                              "total CPU"};

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* One export; t[] gets the seconds of each step, *bytes the size written. */
static int export_once(const char *run, const char *rig_path, mhrfit_export_format fmt, const char *out, double t[N_STEP],
                       size_t *bytes) {
  mhrfit_error err = {0};
  double t0 = bench_now(), c0 = cpu_now();
  mhrfit_export_source *src = mhrfit_export_source_load(run, NULL, NULL, 0, &err);
  double t1 = bench_now();
  mhrfit_rig *rig = src ? mhrfit_rig_open(rig_path, -1, mhrfit_export_rig_flags(fmt), &err) : NULL;
  double t2 = bench_now();
  mhrfit_export_options o;
  mhrfit_export_options_init(&o);
  o.format = fmt;
  mhrfit_exporter *ex = rig ? mhrfit_exporter_new(rig, src, &o, &err) : NULL;
  double t3 = bench_now();
  bool ok = ex && mhrfit_exporter_write(ex, out, &err);
  double t4 = bench_now(), c4 = cpu_now();
  if (ok) *bytes = mhrfit_exporter_report(ex)->bytes;
  mhrfit_exporter_free(ex);
  mhrfit_rig_free(rig);
  mhrfit_export_source_free(src);
  if (!ok) {
    fprintf(stderr, "bench_export: %s\n", err.message);
    return 1;
  }
  t[0] = t1 - t0, t[1] = t2 - t1, t[2] = t3 - t2, t[3] = t4 - t3, t[4] = t4 - t0, t[5] = c4 - c0;
  return 0;
}

int main(int argc, char **argv) {
  bench_demo_args a;
  if (!bench_demo_args_parse(argc, argv, "bench_export", 5, &a)) return 2;
  const char *bin = a.bin, *assets = a.assets;
  long frames = a.frames, runs = a.runs;
  bool pinned = bench_pin_one_cpu();
  char work[4096];
  bool temp;
  if (!bench_work_dir(a.work_dir, "mhrfit_bench_export", work, sizeof work, &temp)) return 1;
  char capture[4200], run[4200], calib[4300], rigfile[4200], out[4300];
  snprintf(capture, sizeof capture, "%s/capture", work);
  snprintf(run, sizeof run, "%s/run", work);
  snprintf(calib, sizeof calib, "%s/calibration.toml", capture);
  snprintf(rigfile, sizeof rigfile, "%s/rig.npz", work);
  mhrfit_demo_options d;
  mhrfit_demo_options_init(&d);
  d.assets = assets;
  d.n_frames = (size_t)frames;
  mhrfit_error err = {0};
  if (!mhrfit_demo_write(capture, &d, NULL, &err)) {
    fprintf(stderr, "bench_export: %s\n", err.message);
    return 1;
  }
  char *run_argv[] = {(char *)bin, "run", "--input", capture, "--calib", calib, "--cams", "cam_0", "cam_1", "cam_2",
                      "cam_3", "--out", run, "--assets", (char *)assets, "--quiet", NULL};
  char *rig_argv[] = {(char *)bin, "rig", "import", "--assets", (char *)assets, "--out", rigfile, "--quiet", NULL};
  if (spawn(run_argv) || spawn(rig_argv)) return 1;
  printf("mhrfit export of a %ld-frame demo run (4 cameras, seed 1), median of %ld exports, %s\n\n", frames, runs,
         pinned ? "pinned to one CPU" : "NOT pinned (sched_setaffinity failed)");
  static const struct {
    mhrfit_export_format fmt;
    const char *name, *file;
    bool rig_file;
  } cases[] = {{MHRFIT_EXPORT_GLB, "glb (rig file)", "out.glb", true},
               {MHRFIT_EXPORT_GLB, "glb (assets)", "out.glb", false},
               {MHRFIT_EXPORT_GLTF, "gltf + bin", "out.gltf", true},
               {MHRFIT_EXPORT_BVH, "bvh", "out.bvh", true},
               {MHRFIT_EXPORT_TRC, "trc", "out.trc", true},
               {MHRFIT_EXPORT_PLY, "per-frame ply + npz", "frames_ply", true}};
  printf("| format | %s | %s | %s | %s | %s | %s | frames/s | kB per frame |\n|---|", step_label[0], step_label[1],
         step_label[2], step_label[3], step_label[4], step_label[5]);
  for (int s = 0; s < N_STEP + 2; s++) printf("---:|");
  printf("\n");
  int rc = 0;
  for (size_t c = 0; c < sizeof cases / sizeof cases[0] && rc == 0; c++) {
    double t[50][N_STEP], col[50], med[N_STEP];
    size_t bytes = 0;
    snprintf(out, sizeof out, "%s/%s", work, cases[c].file);
    for (long r = 0; r < runs && rc == 0; r++) rc = export_once(run, cases[c].rig_file ? rigfile : assets, cases[c].fmt, out, t[r], &bytes);
    if (rc) break;
    for (int s = 0; s < N_STEP; s++) {
      for (long r = 0; r < runs; r++) col[r] = t[r][s];
      med[s] = bench_median(col, (size_t)runs);
    }
    printf("| %s |", cases[c].name);
    for (int s = 0; s < N_STEP; s++) printf(" %.3f |", med[s]);
    printf(" %.0f | %.1f |\n", (double)frames / med[4], (double)bytes / 1e3 / (double)frames);
  }
  printf("\nseconds of wall time (the writes include the flush to disk) and of CPU time; goal: the glb (rig file)\n"
         "total <= 0.5 s for 1,000 frames\n");
  if (temp) bench_remove_dir("bench_export", work);
  return rc;
}
