/* Persistent estimator workers for stage 1 (`--estimator_worker`): a pool of processes, each
 * started once and fed one request at a time over its stdin/stdout (the protocol is documented
 * in include/mhrfit/ingest.h). Internal to the ingest module. */
#ifndef MF_INGEST_WORKER_H
#define MF_INGEST_WORKER_H

#include <stdbool.h>
#include <stddef.h>

#include "mhrfit/error.h"

/* What became of a request. */
typedef enum mf_job_status {
  MF_JOB_NOT_RUN = 0, /* not sent (the pool gave up first) */
  MF_JOB_OK,          /* the worker replied {"ok": true} */
  MF_JOB_FAILED,      /* it replied {"ok": false, "error": ...}, replied garbage, or died */
  MF_JOB_TIMEOUT      /* no reply within the timeout: the worker was killed */
} mf_job_status;

/* One request: the strings are borrowed; the result is filled by mf_worker_pool_run(). */
typedef struct mf_worker_job {
  const char *image, *output, *frame, *cam;
  const double *cam_int; /* 3x3 row-major intrinsics, or NULL */
  mf_job_status status;
  int worker;         /* which worker handled it (-1: none) */
  double seconds;     /* from request to reply */
  char message[1024]; /* why it failed (MF_JOB_FAILED, MF_JOB_TIMEOUT) */
} mf_worker_job;

/* Log levels of mf_worker_pool_options::log (those of mhrfit_ingest_log_level). */
enum { MF_WORKER_INFO = 0, MF_WORKER_WARNING = 1, MF_WORKER_ERROR = 2 };

typedef struct mf_worker_pool_options {
  const char *command;  /* /bin/sh command; {worker} is replaced by the worker's index */
  size_t workers;       /* at least 1 */
  double timeout;       /* seconds per request, 0 = none */
  double start_timeout; /* seconds from start to the ready line, or without one to the first answer */
  size_t max_failures;  /* failures in a row of one worker (failed starts, deaths, timeouts, garbage) before
                           the pool gives up */
  void (*log)(void *user, int level, const char *message);
  void *user;
} mf_worker_pool_options;

typedef struct mf_worker_pool mf_worker_pool;

/* A pool; no process is started before the first mf_worker_pool_run(). */
mf_worker_pool *mf_worker_pool_new(const mf_worker_pool_options *o, mhrfit_error *err);

/* Runs the jobs on the workers (starting or restarting them as needed) and fills their results.
 * Returns false when a worker failed max_failures + 1 times in a row: err then holds its last
 * failure, and the jobs not run keep MF_JOB_NOT_RUN. Workers stay up for the next call. */
bool mf_worker_pool_run(mf_worker_pool *p, mf_worker_job *jobs, size_t n, mhrfit_error *err);

/* Processes started so far (first starts and restarts). */
size_t mf_worker_pool_starts(const mf_worker_pool *p);

/* Closes the workers' stdin, waits a little for them to exit, then kills what is left. NULL ok. */
void mf_worker_pool_free(mf_worker_pool *p);

/* A reply line, classified. */
typedef enum mf_reply_kind {
  MF_REPLY_INVALID = 0, /* not a JSON object with a boolean "ok" (nor a ready line) */
  MF_REPLY_OK,
  MF_REPLY_FAIL,  /* "ok": false; `text` holds "error" (or a note that it is missing) */
  MF_REPLY_READY, /* {"ready": true} */
  MF_REPLY_STALE  /* carries an "id" that is not the one expected */
} mf_reply_kind;

/* Classifies one line (without its newline) as a reply to request `id`; `text` (size bytes)
 * receives the worker's error message for MF_REPLY_FAIL or a description for MF_REPLY_INVALID. */
mf_reply_kind mf_worker_parse_reply(const char *line, size_t len, unsigned long long id, char *text, size_t size);

#endif
