/* The HTML report of a run (`mhrfit report`): time to read the run folder and to build and write
 * the page, its size, for a 120- and a 1,000-frame demo run (4 cameras, no images), median of
 * several runs on one core; then the playback rate of each page in headless Chromium
 * (requestAnimationFrame timestamps while playing, tests/browser/report_page.mjs --mode fps; the
 * browser runs on every CPU the benchmark was given, WebGL by SwiftShader). The
 * page has the body (LOD 6, from ASSETS_DIR), as `mhrfit report` writes it with MHRFIT_ASSETS;
 * "read the run" includes loading the rig and exporting the body's GLB.
 *
 *   bench_report MHRFIT_BINARY ASSETS_DIR [RUNS=5] [PROJECT_DIR=.] [WORK_DIR]
 *
 * The captures and runs are made with `mhrfit demo` and `mhrfit run` into WORK_DIR (default: a
 * new temporary folder, removed at the end). The browser step needs node, the npm packages
 * (npm ci) and Chromium; without them the table says so. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"
#include "mhrfit/demo.h"
#include "mhrfit/report.h"

extern char **environ;

static int spawn_wait(char *const argv[], const char *out_path) {
  pid_t pid;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (out_path) posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return -1;
  int status = 0;
  if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

/* Playback rate of a page: "fps_mean" of the browser script's JSON line (animation frames per
 * second while playing, from requestAnimationFrame timestamps), or -1. */
static double playback_fps(const char *project, const char *html, const char *work) {
  char script[4200], out[4200];
  snprintf(script, sizeof script, "%s/tests/browser/report_page.mjs", project);
  snprintf(out, sizeof out, "%s/fps.json", work);
  char *argv[] = {"node", script, "--html", (char *)html, "--mode", "fps", "--seconds", "6", NULL};
  if (spawn_wait(argv, out) != 0) return -1;
  FILE *f = fopen(out, "r");
  if (!f) return -1;
  char line[1024];
  double fps = -1;
  while (fgets(line, sizeof line, f)) {
    const char *p = strstr(line, "\"fps_mean\":");
    if (p) fps = atof(p + 11);
  }
  fclose(f);
  return fps;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: bench_report MHRFIT_BINARY ASSETS_DIR [RUNS=5] [PROJECT_DIR=.] [WORK_DIR]\n");
    return 2;
  }
  const char *bin = argv[1], *assets = argv[2], *project = argc > 4 ? argv[4] : ".";
  long runs = argc > 3 ? atol(argv[3]) : 5;
  if (runs < 1 || runs > 50) {
    fprintf(stderr, "bench_report: RUNS must be 1..50\n");
    return 2;
  }
  cpu_set_t all; /* the browser plays on every CPU the process had (its own processes, GPU emulation) */
  bool have_all = sched_getaffinity(0, sizeof all, &all) == 0;
  bool pinned = bench_pin_one_cpu(), temp;
  char work[4096];
  if (!bench_work_dir(argc > 5 ? argv[5] : NULL, "mhrfit_bench_report", work, sizeof work, &temp)) return 1;
  static const size_t frames[2] = {120, 1000};
  double t_read[2], t_page[2], t_write[2], size_mb[2], fps[2];
  int rc = 0;
  for (int s = 0; s < 2 && !rc; s++) {
    char capture[4200], run[4200], calib[4300], html[4300];
    snprintf(capture, sizeof capture, "%s/capture_%zu", work, frames[s]);
    snprintf(run, sizeof run, "%s/run_%zu", work, frames[s]);
    snprintf(calib, sizeof calib, "%s/calibration.toml", capture);
    snprintf(html, sizeof html, "%s/report.html", run);
    mhrfit_demo_options o;
    mhrfit_demo_options_init(&o);
    o.assets = assets;
    o.n_frames = frames[s];
    o.n_cams = 4;
    o.seed = 1;
    mhrfit_error err = {0};
    if (!mhrfit_demo_write(capture, &o, NULL, &err)) {
      fprintf(stderr, "bench_report: %s\n", err.message);
      rc = 1;
      break;
    }
    char *rargv[] = {(char *)bin, "run", "--input", capture, "--calib", calib, "--cams", "cam_0", "cam_1", "cam_2",
                     "cam_3", "--out", run, "--assets", (char *)assets, "--quiet", NULL};
    if (spawn_wait(rargv, NULL) != 0) {
      fprintf(stderr, "bench_report: mhrfit run failed\n");
      rc = 1;
      break;
    }
    double tr[50], tp[50], tw[50];
    for (long r = 0; r < runs && !rc; r++) {
      double t0 = bench_now();
      mhrfit_report_options ro = {0};
      ro.rig = assets; /* the body at LOD 6, as `mhrfit report` with MHRFIT_ASSETS */
      mhrfit_report *rep = mhrfit_report_new(run, &ro, &err);
      double t1 = bench_now();
      char *page = NULL;
      size_t len = 0;
      bool ok = rep && mhrfit_report_html(rep, &page, &len, &err);
      double t2 = bench_now();
      free(page);
      ok = ok && mhrfit_report_write(rep, html, &err);
      double t3 = bench_now();
      if (!ok) {
        fprintf(stderr, "bench_report: %s\n", err.message);
        rc = 1;
      }
      tr[r] = t1 - t0;
      tp[r] = t2 - t1;
      tw[r] = t3 - t2; /* the page built again and written (fsync) */
      size_mb[s] = (double)len / 1e6;
      mhrfit_report_free(rep);
    }
    if (rc) break;
    t_read[s] = bench_median(tr, (size_t)runs);
    t_page[s] = bench_median(tp, (size_t)runs);
    t_write[s] = bench_median(tw, (size_t)runs);
    cpu_set_t one;
    bool have_one = sched_getaffinity(0, sizeof one, &one) == 0;
    if (have_all) sched_setaffinity(0, sizeof all, &all);
    fps[s] = playback_fps(project, html, work);
    if (have_one) sched_setaffinity(0, sizeof one, &one);
  }
  if (!rc) {
    printf("mhrfit report of a demo run (4 cameras, seed 1, body at LOD 6, no images), median of %ld runs, %s\n\n", runs,
           pinned ? "pinned to one CPU" : "NOT pinned (sched_setaffinity failed)");
    printf("| frames | read the run (s) | build the page (s) | build + write (s) | read + build + write (s) | size (MB) | "
           "per frame (kB) | playback in headless Chromium (fps) |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int s = 0; s < 2; s++) {
      char f[48];
      if (fps[s] > 0) snprintf(f, sizeof f, "%.0f", fps[s]);
      else snprintf(f, sizeof f, "not measured (node/Chromium)");
      printf("| %zu | %.3f | %.3f | %.3f | %.3f | %.2f | %.1f | %s |\n", frames[s], t_read[s], t_page[s], t_write[s],
             t_read[s] + t_write[s], size_mb[s], 1e3 * size_mb[s] / (double)frames[s], f);
    }
    printf("\ngoal for 1,000 frames: <= 20 MB, <= 2 s on one core, >= 30 fps playback\n");
  }
  if (temp) bench_remove_dir("bench_report", work);
  return rc;
}
