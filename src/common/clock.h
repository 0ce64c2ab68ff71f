/* Internal: a monotonic clock for timings and progress lines. Not part of the public API. */
#ifndef MF_COMMON_CLOCK_H
#define MF_COMMON_CLOCK_H

#include <time.h>

/* Seconds on the monotonic clock (only differences are meaningful). */
static inline double mf_now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#endif
