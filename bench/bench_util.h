/* Timing helpers shared by the benchmarks: a monotonic clock and the median of a few runs. */
#ifndef MHRFIT_BENCH_UTIL_H
#define MHRFIT_BENCH_UTIL_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/clock.h"

/* Seconds on the monotonic clock. */
static inline double bench_now(void) { return mf_now_seconds(); }

static inline int bench_cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Median of n run times (sorts them in place). */
static inline double bench_median(double *t, size_t n) {
  qsort(t, n, sizeof *t, bench_cmp_double);
  return t[n / 2];
}

/* Pins the process (and what it starts) to the CPU it runs on; true when that worked. Needs
 * _GNU_SOURCE and <sched.h> before this header. */
#ifdef CPU_SET
static inline bool bench_pin_one_cpu(void) {
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(sched_getcpu() >= 0 ? sched_getcpu() : 0, &one);
  return sched_setaffinity(0, sizeof one, &one) == 0;
}
#endif

/* The work folder of a benchmark into work (size bytes): `given` when not NULL, else a new
 * temporary folder /tmp/<prefix>_XXXXXX (*temp set: remove it at the end). False on failure. */
static inline bool bench_work_dir(const char *given, const char *prefix, char *work, size_t size, bool *temp) {
  *temp = given == NULL;
  if (given) { /* made when it does not exist yet (its parent must) */
    snprintf(work, size, "%s", given);
    if (mkdir(work, 0777) == 0 || errno == EEXIST) return true;
    fprintf(stderr, "%s: cannot make the work folder %s: %s\n", prefix, work, strerror(errno));
    return false;
  }
  snprintf(work, size, "/tmp/%s_XXXXXX", prefix);
  if (mkdtemp(work)) return true;
  perror(prefix);
  return false;
}

/* The arguments of a benchmark over a demo capture: MHRFIT_BINARY ASSETS_DIR [FRAMES=1000]
 * [RUNS=default_runs] [WORK_DIR]. False, after the usage or what is wrong on stderr under `name`,
 * when they are not usable (exit 2). */
typedef struct bench_demo_args {
  const char *bin, *assets, *work_dir; /* work_dir NULL: a temporary folder (bench_work_dir()) */
  long frames, runs;
} bench_demo_args;
static inline bool bench_demo_args_parse(int argc, char **argv, const char *name, long default_runs,
                                         bench_demo_args *a) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s MHRFIT_BINARY ASSETS_DIR [FRAMES=1000] [RUNS=%ld] [WORK_DIR]\n", name, default_runs);
    return false;
  }
  a->bin = argv[1], a->assets = argv[2], a->work_dir = argc > 5 ? argv[5] : NULL;
  a->frames = argc > 3 ? atol(argv[3]) : 1000, a->runs = argc > 4 ? atol(argv[4]) : default_runs;
  if (a->frames < 2 || a->runs < 1 || a->runs > 50) {
    fprintf(stderr, "%s: FRAMES >= 2 and RUNS 1..50 are required\n", name);
    return false;
  }
  return true;
}

/* Removes a benchmark's temporary work folder (made by bench_work_dir()); `name` prefixes the
 * message when that fails. */
static inline void bench_remove_dir(const char *name, const char *dir) {
  char cmd[4200 + 16];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "%s: could not remove %s\n", name, dir);
}

#endif
