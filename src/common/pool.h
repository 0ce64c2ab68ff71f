/* Internal: a fixed set of POSIX threads that run parallel loops, and the machine's core count.
 * Not part of the public API.
 *
 * A pool of T threads is T - 1 worker threads plus the caller: mf_pool_run() runs a function on
 * every thread at once (the caller's is thread 0) and returns when each has returned;
 * mf_pool_for() spreads the indices of a loop over the threads. A pool of 1 thread starts no
 * thread: everything runs on the caller, in index order. Loops of one pool run one at a time
 * (the pool is used by one caller thread); several pools may run side by side. */
#ifndef MF_COMMON_POOL_H
#define MF_COMMON_POOL_H

#include <stdbool.h>
#include <stddef.h>

#include "mhrfit/error.h"

typedef struct mf_pool mf_pool;

/* The cores this process may run on (its CPU affinity mask, so `taskset` and a batch
 * scheduler's allocation count), at least 1. */
size_t mf_cpu_count(void);

/* A pool of `threads` threads in all (0 = mf_cpu_count()); starts threads - 1 workers.
 * Errors: MHRFIT_ERR_NOMEM, MHRFIT_ERR_IO (a thread could not be started: the message says why). */
mf_pool *mf_pool_new(size_t threads, mhrfit_error *err);

/* Threads of the pool (the caller included). 1 for NULL. */
size_t mf_pool_threads(const mf_pool *p);

/* Calls fn(ctx, t) on every thread t = 0 .. threads-1 at once (t = 0 on the caller) and returns
 * when every call has returned. A NULL pool calls fn(ctx, 0) only. */
void mf_pool_run(mf_pool *p, void (*fn)(void *ctx, size_t thread), void *ctx);

/* Calls fn(ctx, i, t) once for every i in [0, n), the indices handed out in increasing order
 * to whichever thread t is free, and returns when every call has returned. With one thread the
 * calls are made in index order on the caller. */
void mf_pool_for(mf_pool *p, size_t n, void (*fn)(void *ctx, size_t i, size_t thread), void *ctx);

/* Stops and joins the workers. NULL is allowed. */
void mf_pool_free(mf_pool *p);

#endif
