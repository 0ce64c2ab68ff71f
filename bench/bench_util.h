/* Timing helpers shared by the benchmarks: a monotonic clock and the median of a few runs. */
#ifndef MHRFIT_BENCH_UTIL_H
#define MHRFIT_BENCH_UTIL_H

#include <stdlib.h>

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

#endif
