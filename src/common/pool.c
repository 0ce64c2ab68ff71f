/* Threads running parallel loops: see pool.h. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "common/pool.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

size_t mf_cpu_count(void) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return (size_t)n;
  }
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (size_t)n : 1;
}

struct mf_pool {
  size_t n_threads; /* the caller included */
  pthread_t *workers;
  size_t n_started;
  pthread_mutex_t mu;
  pthread_cond_t wake, done;
  unsigned long generation; /* bumped for every mf_pool_run */
  size_t running;           /* workers still inside the current function */
  bool stop;
  void (*fn)(void *ctx, size_t thread);
  void *ctx;
};

typedef struct worker_arg {
  mf_pool *p;
  size_t index;
} worker_arg;

static void *worker_main(void *arg) {
  worker_arg *wa = arg;
  mf_pool *p = wa->p;
  size_t index = wa->index;
  free(wa);
  unsigned long seen = 0;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    while (!p->stop && p->generation == seen) pthread_cond_wait(&p->wake, &p->mu);
    if (p->stop) break;
    seen = p->generation;
    void (*fn)(void *, size_t) = p->fn;
    void *ctx = p->ctx;
    pthread_mutex_unlock(&p->mu);
    fn(ctx, index);
    pthread_mutex_lock(&p->mu);
    if (--p->running == 0) pthread_cond_signal(&p->done);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

mf_pool *mf_pool_new(size_t threads, mhrfit_error *err) {
  if (!threads) threads = mf_cpu_count();
  mf_pool *p = calloc(1, sizeof *p);
  if (!p) {
    MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
    return NULL;
  }
  p->n_threads = threads;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->wake, NULL);
  pthread_cond_init(&p->done, NULL);
  if (threads > 1 && !(p->workers = calloc(threads - 1, sizeof *p->workers))) {
    mf_pool_free(p);
    MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
    return NULL;
  }
  for (size_t i = 1; i < threads; i++) {
    worker_arg *wa = malloc(sizeof *wa);
    int rc = wa ? 0 : ENOMEM;
    if (wa) {
      *wa = (worker_arg){p, i};
      rc = pthread_create(&p->workers[i - 1], NULL, worker_main, wa);
      if (rc) free(wa);
    }
    if (rc) {
      mf_pool_free(p);
      MHRFIT_FAIL_ERRNO(err, rc == ENOMEM ? MHRFIT_ERR_NOMEM : MHRFIT_ERR_IO, rc,
                        "cannot start worker thread %zu of %zu (error %d)", i, threads - 1, rc);
      return NULL;
    }
    p->n_started = i;
  }
  return p;
}

size_t mf_pool_threads(const mf_pool *p) { return p ? p->n_threads : 1; }

void mf_pool_run(mf_pool *p, void (*fn)(void *ctx, size_t thread), void *ctx) {
  if (!p || p->n_started == 0) {
    fn(ctx, 0);
    return;
  }
  pthread_mutex_lock(&p->mu);
  p->fn = fn;
  p->ctx = ctx;
  p->running = p->n_started;
  p->generation++;
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->mu);
  fn(ctx, 0);
  pthread_mutex_lock(&p->mu);
  while (p->running) pthread_cond_wait(&p->done, &p->mu);
  pthread_mutex_unlock(&p->mu);
}

typedef struct for_ctx {
  atomic_size_t next;
  size_t n;
  void (*fn)(void *ctx, size_t i, size_t thread);
  void *ctx;
} for_ctx;

static void for_body(void *arg, size_t thread) {
  for_ctx *c = arg;
  for (;;) {
    size_t i = atomic_fetch_add(&c->next, 1);
    if (i >= c->n) break;
    c->fn(c->ctx, i, thread);
  }
}

void mf_pool_for(mf_pool *p, size_t n, void (*fn)(void *ctx, size_t i, size_t thread), void *ctx) {
  if (!n) return;
  if (!p || p->n_started == 0 || n == 1) {
    for (size_t i = 0; i < n; i++) fn(ctx, i, 0);
    return;
  }
  for_ctx c;
  atomic_init(&c.next, 0);
  c.n = n;
  c.fn = fn;
  c.ctx = ctx;
  mf_pool_run(p, for_body, &c);
}

void mf_pool_free(mf_pool *p) {
  if (!p) return;
  pthread_mutex_lock(&p->mu);
  p->stop = true;
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->mu);
  for (size_t i = 0; i < p->n_started; i++) pthread_join(p->workers[i], NULL);
  pthread_cond_destroy(&p->wake);
  pthread_cond_destroy(&p->done);
  pthread_mutex_destroy(&p->mu);
  free(p->workers);
  free(p);
}
