/* Estimator workers against a process per image (stage 1, mhrfit_ingest_run), same captures side
 * by side, median of several runs, pinned to one CPU:
 *
 * 1. overhead per image: captures of N and 2N views ingested (a) from SAM outputs already on
 *    disk (the baseline), (b) with `--estimator ': {image}; cp SRC {output}'` (a shell and a cp
 *    per image), (c) with `--estimator_worker` running a no-op worker (bench/noop_worker.c,
 *    built beside this program: it copies SRC to each request's output). The cost per view is
 *    the slope (t(2N) - t(N)) / N, so that one-time costs (starting the worker, which for a real model is
 *    its loading) stay out of it and are shown apart (t(N) - N * slope); the overhead per view
 *    is the slope less the baseline's;
 * 2. parallel workers: 40 images with a worker that sleeps 20 ms per request (like a model on its
 *    own device), --workers 1 against --workers 2 (the sleep needs no CPU, so one core suffices).
 *
 *   bench_workers [RUNS=5] [VIEWS=200]   (from the project root)
 *
 * SRC is tests/fixtures/ingest/stacked.npz ($MHRFIT_FIXTURES overrides the fixtures folder). */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "mhrfit/ingest.h"

static char self[4096], src[4096], root[64];

/* A capture of `views` views (4 cameras) with stand-in images; with SAM outputs beside them when
 * `with_outputs`. */
static bool make_capture(const char *dir, int views, bool with_outputs) {
  char cmd[8192];
  snprintf(cmd, sizeof cmd,
           "mkdir -p '%s' && cd '%s' && for f in $(seq 0 %d); do mkdir -p $f; for c in 0 1 2 3; do "
           "echo \"image $f $c\" > $f/c$c.jpg; %s done; done",
           dir, dir, views / 4 - 1, with_outputs ? "cp \"$SRC\" $f/c$c.npz;" : "");
  setenv("SRC", src, 1);
  return system(cmd) == 0;
}

/* One ingest into a fresh output folder; returns seconds, or -1 on failure. */
static double ingest_once(const char *capture, const char *estimator, const char *worker, size_t workers,
                          size_t *runs) {
  char out[256], cmd[512];
  snprintf(out, sizeof out, "%s/out", root);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", out);
  if (system(cmd) != 0) return -1;
  static const char *const cams[4] = {"c0", "c1", "c2", "c3"};
  mhrfit_ingest_options o;
  mhrfit_ingest_options_init(&o);
  o.input_dir = capture;
  o.out_dir = out;
  o.cams = cams;
  o.n_cams = 4;
  o.estimator = estimator;
  o.estimator_worker = worker;
  o.workers = workers;
  mhrfit_ingest_summary s;
  mhrfit_error err = {0};
  double t0 = bench_now();
  bool ok = mhrfit_ingest_run(&o, &s, &err);
  double t = bench_now() - t0;
  if (!ok || s.frames_failed) {
    fprintf(stderr, "bench_workers: ingest failed: %s\n", ok ? "a frame failed" : err.message);
    return -1;
  }
  if (runs) *runs = s.estimator_runs;
  return t;
}

static double median_of(int n, const char *capture, const char *estimator, const char *worker, size_t workers,
                        size_t *runs) {
  double t[32];
  for (int i = 0; i < n && i < 32; i++)
    if ((t[i] = ingest_once(capture, estimator, worker, workers, runs)) < 0) exit(1);
  return bench_median(t, (size_t)(n < 32 ? n : 32));
}

int main(int argc, char **argv) {
  int nruns = argc > 1 ? atoi(argv[1]) : 5, views = argc > 2 ? atoi(argv[2]) : 200;
  if (nruns < 1) nruns = 5;
  if (views < 4) views = 200;
  views -= views % 4;
  /* the no-op worker is built beside this program */
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return 1;
  self[n] = '\0';
  char *slash = strrchr(self, '/');
  if (!slash || (size_t)(slash - self) + 16 > sizeof self) return 1;
  strcpy(slash + 1, "noop_worker");
  const char *fix = getenv("MHRFIT_FIXTURES") ? getenv("MHRFIT_FIXTURES") : "tests/fixtures";
  if (!realpath(fix, src) || strlen(src) + 32 > sizeof src) {
    fprintf(stderr, "bench_workers: fixtures folder %s not found (run from the project root)\n", fix);
    return 1;
  }
  strcat(src, "/ingest/stacked.npz");
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(sched_getcpu() >= 0 ? sched_getcpu() : 0, &one);
  bool pinned = sched_setaffinity(0, sizeof one, &one) == 0;
  snprintf(root, sizeof root, "/tmp/bench_workers_XXXXXX");
  if (!mkdtemp(root)) return 1;
  char with[2][256], bare[2][256], small[256];
  for (int k = 0; k < 2; k++) {
    snprintf(with[k], sizeof with[k], "%s/with_outputs%d", root, k);
    snprintf(bare[k], sizeof bare[k], "%s/images%d", root, k);
    if (!make_capture(with[k], views << k, true) || !make_capture(bare[k], views << k, false)) return 1;
  }
  snprintf(small, sizeof small, "%s/images40", root);
  if (!make_capture(small, 40, false)) return 1;
  char est[8192], noop[8192], sleepy[8192];
  snprintf(est, sizeof est, ": {image}; cp '%s' {output}", src);
  snprintf(noop, sizeof noop, "'%s' '%s' 0", self, src);
  snprintf(sleepy, sizeof sleepy, "'%s' '%s' 20", self, src);
  printf("stage 1 with estimators: %d and %d views (4 cameras), median of %d runs, %s\n\n", views, 2 * views, nruns,
         pinned ? "one CPU" : "not pinned");
  size_t runs = 0;
  const char *labels[3] = {"files beside the images (baseline)",
                           "--estimator ': {image}; cp SRC {output}' (a process per image)",
                           "--estimator_worker, no-op worker, 1 worker"};
  double slope[3], fixed[3];
  for (int m = 0; m < 3; m++) {
    double t[2];
    for (int k = 0; k < 2; k++)
      t[k] = median_of(nruns, m == 0 ? with[k] : bare[k], m == 1 ? est : NULL, m == 2 ? noop : NULL, 1, &runs);
    slope[m] = (t[1] - t[0]) / views;
    fixed[m] = t[0] - views * slope[m];
  }
  printf("| SAM outputs from | ms per view | overhead ms per view | one-time s |\n|---|---:|---:|---:|\n");
  for (int m = 0; m < 3; m++) {
    if (m)
      printf("| %s | %.3f | %.3f | %.3f |\n", labels[m], 1e3 * slope[m], 1e3 * (slope[m] - slope[0]), fixed[m]);
    else
      printf("| %s | %.3f | - | %.3f |\n", labels[m], 1e3 * slope[m], fixed[m]);
  }
  double w1 = median_of(nruns, small, NULL, sleepy, 1, &runs);
  double w2 = median_of(nruns, small, NULL, sleepy, 2, &runs);
  printf("\n40 images, worker sleeping 20 ms per request:\n\n| workers | s | speed-up |\n|---:|---:|---:|\n");
  printf("| 1 | %.3f | 1.00 |\n| 2 | %.3f | %.2f |\n", w1, w2, w1 / w2);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
  if (system(cmd) != 0) fprintf(stderr, "bench_workers: could not remove %s\n", root);
  return 0;
}
