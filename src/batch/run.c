/* A batch of sessions run on a pool of threads, each session a pipeline run, and the batch's
 * summary (include/mhrfit/batch.h). */
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch/batch_internal.h"
#include "common/clock.h"
#include "common/file.h"
#include "common/jbuild.h"
#include "common/mem.h"
#include "common/path.h"
#include "common/pool.h"

void mhrfit_batch_options_init(mhrfit_batch_options *o) {
  memset(o, 0, sizeof *o);
  o->jobs = 1;
}

char *mf_batch_dir(const mhrfit_batch_manifest *m, const char *out_dir, mhrfit_error *err) {
  if (!out_dir) return mf_strdup(m->dir, err);
  if (out_dir[0] == '/') return mf_strdup(out_dir, err);
  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof cwd)) {
    MHRFIT_FAIL(err, MHRFIT_ERR_IO, "%s: cannot resolve against the working folder", out_dir);
    return NULL;
  }
  return mf_path_join(cwd, out_dir, err);
}

/* The placeholder record of a session that has none. */
static mhrfit_value *placeholder(const mhrfit_batch_session *s, const char *status, mf_jb *j) {
  mhrfit_value *d = mhrfit_value_new_dict(j->err);
  if (!d) {
    j->failed = true;
    return NULL;
  }
  mf_jstr(j, d, "name", s->name);
  mf_jint(j, d, "index", (long long)s->index);
  mf_jstr(j, d, "out", s->out);
  mf_jstr(j, d, "status", status);
  mf_jstr(j, d, "error", NULL);
  return d;
}

mhrfit_value *mf_batch_summary(const mhrfit_batch_manifest *m, mhrfit_value *const *records, size_t first,
                               size_t end, size_t shard_index, size_t shard_count, const char *absent,
                               mhrfit_error *err) {
  mf_jb j = {err, false};
  mhrfit_value *doc = mhrfit_value_new_dict(err), *list = mhrfit_value_new_list(err),
               *counts = mhrfit_value_new_dict(err);
  if (!doc || !list || !counts) {
    mhrfit_value_free(doc);
    mhrfit_value_free(list);
    mhrfit_value_free(counts);
    return NULL;
  }
  char hash[20];
  snprintf(hash, sizeof hash, "%016" PRIx64, m->hash);
  mf_jstr(&j, doc, "format", "mhrfit-batch-summary");
  mf_jint(&j, doc, "version", 1);
  mf_jstr(&j, doc, "manifest", m->path);
  mf_jstr(&j, doc, "manifest_xxh64", hash);
  if (shard_count) {
    mhrfit_value *sh = mhrfit_value_new_list(err);
    if (sh && (!mhrfit_value_list_append(sh, mhrfit_value_new_int((int64_t)shard_index, err), err) ||
               !mhrfit_value_list_append(sh, mhrfit_value_new_int((int64_t)shard_count, err), err))) {
      mhrfit_value_free(sh);
      sh = NULL;
    }
    mf_jput(&j, doc, "shard", sh);
  } else {
    mf_jput(&j, doc, "shard", mhrfit_value_new_null(err));
  }
  mf_jint(&j, doc, "n_sessions", (long long)m->n);
  /* counts by status, in order of first appearance */
  const char *names[8];
  long long n_of[8];
  size_t n_names = 0;
  for (size_t i = first; i < end && !j.failed; i++) {
    mhrfit_value *r = records[i] ? mhrfit_value_clone(records[i], err) : placeholder(&m->sessions[i], absent, &j);
    if (!r || !mhrfit_value_list_append(list, r, err)) {
      j.failed = true;
      break;
    }
    const mhrfit_value *st = mhrfit_value_dict_get(r, "status");
    const char *s = st && st->kind == MHRFIT_V_STRING ? st->u.str.data : absent;
    size_t k = 0;
    while (k < n_names && strcmp(names[k], s) != 0) k++;
    if (k == n_names && n_names < 8) {
      names[n_names] = s;
      n_of[n_names++] = 0;
    }
    if (k < 8) n_of[k]++;
  }
  for (size_t k = 0; k < n_names; k++) mf_jint(&j, counts, names[k], n_of[k]);
  mf_jput(&j, doc, "counts", counts);
  mf_jput(&j, doc, "sessions", list);
  if (j.failed) {
    mhrfit_value_free(doc);
    return NULL;
  }
  return doc;
}

/* ------------------------------------------------------------------ running */

typedef struct batch_run {
  const mhrfit_batch_manifest *m;
  const mhrfit_batch_options *o;
  size_t first, end;
  pthread_mutex_t mu;          /* callbacks, records, the summary, the counts */
  mhrfit_value **records;      /* per session of the manifest */
  char *summary_path;
  bool write_failed;
  mhrfit_error write_err;
  size_t n_ok, n_failed, n_cancelled;
} batch_run;

typedef struct session_ctx {
  batch_run *b;
  const mhrfit_batch_session *s;
} session_ctx;

static void session_log(void *user, mhrfit_pipeline_log_level level, const char *message) {
  session_ctx *c = user;
  if (!c->b->o->log) return;
  pthread_mutex_lock(&c->b->mu);
  c->b->o->log(c->b->o->user, c->s, level, message);
  pthread_mutex_unlock(&c->b->mu);
}

static bool cancelled(const mhrfit_batch_options *o) { return o->cancel && *o->cancel; }

/* The record of an outcome in the summary. */
static mhrfit_value *outcome_value(const mhrfit_batch_outcome *oc, mhrfit_error *err) {
  mf_jb j = {err, false};
  mhrfit_value *d = placeholder(oc->session, oc->status, &j);
  if (!d) return NULL;
  bool ran = strcmp(oc->status, "ok") == 0 || oc->result.n_frames;
  if (strcmp(oc->status, "ok") != 0) mf_jstr(&j, d, "error", oc->error.message[0] ? oc->error.message : NULL);
  mf_jint(&j, d, "frames", ran ? (long long)oc->result.n_frames : 0);
  mf_jint(&j, d, "frames_reused", ran ? (long long)oc->result.frames_reused : 0);
  mhrfit_value *fs = mhrfit_value_new_dict(err);
  for (size_t i = 0; fs && ran && i < oc->result.n_statuses; i++)
    mf_jint(&j, fs, oc->result.status_names[i], (long long)oc->result.status_counts[i]);
  mf_jput(&j, d, "frame_status", fs);
  mf_jnum(&j, d, "time_s", oc->seconds);
  if (j.failed) {
    mhrfit_value_free(d);
    return NULL;
  }
  return d;
}

/* Writes the shard's summary (with the lock held, or before the threads start). */
static bool write_summary(batch_run *b, mhrfit_error *err) {
  mhrfit_value *doc = mf_batch_summary(b->m, b->records, b->first, b->end, b->o->shard_index, b->o->shard_count,
                                       "pending", err);
  bool ok = doc && mf_write_json_atomic(b->summary_path, doc, 1, err);
  mhrfit_value_free(doc);
  return ok;
}

static void session_task(void *ctx, size_t i, size_t t) {
  (void)t;
  batch_run *b = ctx;
  const mhrfit_batch_options *o = b->o;
  const mhrfit_batch_session *s = &b->m->sessions[b->first + i];
  if (cancelled(o)) return; /* stays pending */
  mhrfit_batch_outcome oc;
  memset(&oc, 0, sizeof oc);
  oc.session = s;
  double t0 = mf_now_seconds();
  session_ctx sc = {b, s};
  mhrfit_pipeline_options po;
  mhrfit_pipeline_options_init(&po);
  void *state = NULL;
  mhrfit_pipeline *p = NULL;
  bool ok = o->configure(o->user, s, &po, &state, &oc.error);
  if (ok) {
    if (!s->sets_jobs) po.jobs = 1;
    po.log = session_log;
    po.progress = NULL;
    po.user = &sc;
    po.cancel = o->cancel;
    ok = (p = mhrfit_pipeline_new(&po, &oc.error)) && mhrfit_pipeline_run(p, &oc.result, &oc.error);
  }
  mhrfit_pipeline_free(p);
  if (o->release) o->release(o->user, state);
  oc.seconds = mf_now_seconds() - t0;
  oc.status = ok ? "ok" : oc.error.type == MHRFIT_ERR_CANCELLED ? "cancelled" : "failed";
  pthread_mutex_lock(&b->mu);
  b->n_ok += ok;
  b->n_failed += strcmp(oc.status, "failed") == 0;
  b->n_cancelled += strcmp(oc.status, "cancelled") == 0;
  mhrfit_error e = {0};
  mhrfit_value *rec = outcome_value(&oc, &e);
  if (rec) {
    mhrfit_value_free(b->records[s->index]);
    b->records[s->index] = rec;
  }
  if ((!rec || !write_summary(b, &e)) && !b->write_failed) {
    b->write_failed = true;
    b->write_err = e;
  }
  if (o->on_session) o->on_session(o->user, &oc);
  pthread_mutex_unlock(&b->mu);
}

bool mhrfit_batch_run(const mhrfit_batch_manifest *m, const mhrfit_batch_options *o, mhrfit_batch_result *res,
                      mhrfit_error *err) {
  if (!m || !o || !o->configure) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "batch: no manifest or no configure callback");
  batch_run b;
  memset(&b, 0, sizeof b);
  b.m = m;
  b.o = o;
  if (o->shard_count) {
    if (!mhrfit_batch_shard_range(m->n, o->shard_index, o->shard_count, &b.first, &b.end))
      return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "--shard %zu/%zu: the index must be below the count",
                         o->shard_index, o->shard_count);
  } else {
    b.end = m->n;
  }
  /* every session's options checked before any runs */
  for (size_t i = b.first; i < b.end; i++) {
    mhrfit_pipeline_options po;
    mhrfit_pipeline_options_init(&po);
    void *state = NULL;
    bool ok = o->configure(o->user, &m->sessions[i], &po, &state, err);
    /* its inputs too: a session that will fail (a missing folder, a broken calibration...) is
     * said now, not when its turn comes; the others still run */
    mhrfit_error ce = {0};
    if (ok && !mhrfit_pipeline_check(&po, &ce) && o->log) {
      char msg[MHRFIT_ERROR_MESSAGE_MAX + 64];
      snprintf(msg, sizeof msg, "will fail when its turn comes: %s", ce.message);
      o->log(o->user, &m->sessions[i], MHRFIT_PIPELINE_WARNING, msg);
    }
    if (o->release) o->release(o->user, state);
    if (!ok) {
      mhrfit_error_prefix(err, "%s: session '%s'", m->path, m->sessions[i].name);
      return false;
    }
  }
  char *dir = mf_batch_dir(m, o->out_dir, err);
  bool ok = dir && mf_make_dirs(dir, err);
  if (ok)
    b.summary_path = o->shard_count ? mf_strdup_printf(err, "%s/batch_summary.shard-%zu-of-%zu.json", dir,
                                                       o->shard_index, o->shard_count)
                                    : mf_strdup_printf(err, "%s/batch_summary.json", dir);
  free(dir);
  b.records = b.summary_path ? mf_calloc_array(m->n ? m->n : 1, sizeof *b.records, err) : NULL;
  ok = b.records && write_summary(&b, err);
  size_t threads = o->jobs ? o->jobs : mf_cpu_count();
  if (threads > b.end - b.first) threads = b.end - b.first ? b.end - b.first : 1;
  mf_pool *pool = ok && threads > 1 ? mf_pool_new(threads, err) : NULL;
  if (ok && (threads == 1 || pool)) {
    pthread_mutex_init(&b.mu, NULL);
    mf_pool_for(pool, b.end - b.first, session_task, &b);
    pthread_mutex_destroy(&b.mu);
    if (b.write_failed) {
      if (err) *err = b.write_err;
      ok = false;
    } else if (cancelled(o)) {
      ok = MHRFIT_FAIL(err, MHRFIT_ERR_CANCELLED, "batch cancelled: %zu of %zu session(s) finished; run again to resume",
                       b.n_ok + b.n_failed, b.end - b.first);
    }
  } else {
    ok = false;
  }
  mf_pool_free(pool);
  if (res) {
    memset(res, 0, sizeof *res);
    res->n_sessions = b.end - b.first;
    res->n_ok = b.n_ok;
    res->n_failed = b.n_failed;
    res->n_cancelled = b.n_cancelled;
    if (b.summary_path) snprintf(res->summary_path, sizeof res->summary_path, "%s", b.summary_path);
  }
  for (size_t i = 0; b.records && i < m->n; i++) mhrfit_value_free(b.records[i]);
  free(b.records);
  free(b.summary_path);
  return ok;
}
