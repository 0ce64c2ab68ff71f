/* Sharding a batch over the tasks of a Slurm job array: the shards, the job-array script and
 * the merge of the shards' summaries (include/mhrfit/batch.h). */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "batch/batch_internal.h"
#include "common/file.h"
#include "common/mem.h"
#include "common/path.h"
#include "mhrfit/json.h"

#define MAX_SHARDS 100000

bool mhrfit_batch_shard_range(size_t n_sessions, size_t index, size_t count, size_t *first, size_t *end) {
  if (!count || index >= count) return false;
  /* floor(i * S / N) without overflow for S, N <= 2^32 */
  *first = (size_t)((unsigned long long)index * n_sessions / count);
  *end = (size_t)((unsigned long long)(index + 1) * n_sessions / count);
  return true;
}

/* A decimal count in [0, max] filling the whole of text[0..len-1]. */
static bool parse_count(const char *text, size_t len, size_t max, size_t *out) {
  if (!len || len > 9) return false;
  size_t v = 0;
  for (size_t i = 0; i < len; i++) {
    if (text[i] < '0' || text[i] > '9') return false;
    v = 10 * v + (size_t)(text[i] - '0');
  }
  if (v > max) return false;
  *out = v;
  return true;
}

bool mhrfit_batch_shard_parse(const char *text, size_t *index, size_t *count, mhrfit_error *err) {
  const char *slash = text ? strchr(text, '/') : NULL;
  size_t i, n;
  if (!slash || !parse_count(text, (size_t)(slash - text), MAX_SHARDS, &i) ||
      !parse_count(slash + 1, strlen(slash + 1), MAX_SHARDS, &n) || n == 0 || i >= n)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "--shard '%s': expected I/N with 0 <= I < N <= %d", text ? text : "",
                       MAX_SHARDS);
  *index = i;
  *count = n;
  return true;
}

bool mhrfit_batch_shard_from_env(size_t *index, size_t *count, mhrfit_error *err) {
  const char *id = getenv("SLURM_ARRAY_TASK_ID"), *n = getenv("SLURM_ARRAY_TASK_COUNT");
  const char *min = getenv("SLURM_ARRAY_TASK_MIN");
  if (err) memset(err, 0, sizeof *err);
  if (!id || !n) return false;
  size_t i, c, lo = 0;
  if (!parse_count(id, strlen(id), 1000000000, &i) || !parse_count(n, strlen(n), MAX_SHARDS, &c) ||
      (min && !parse_count(min, strlen(min), 1000000000, &lo)) || i < lo || i - lo >= c)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT,
                       "SLURM_ARRAY_TASK_ID=%s, SLURM_ARRAY_TASK_MIN=%s, SLURM_ARRAY_TASK_COUNT=%s: not a task of "
                       "the array (pass --shard I/N)",
                       id, min ? min : "(unset)", n);
  *index = i - lo;
  *count = c;
  return true;
}

/* ------------------------------------------------------------------ the job-array script */

void mhrfit_batch_sbatch_options_init(mhrfit_batch_sbatch_options *o) {
  memset(o, 0, sizeof *o);
  o->per_task = 1;
  o->jobs = 1;
}

/* `s` in single quotes for the shell ('\'' for a quote). */
static void shell_quote(FILE *f, const char *s) {
  fputc('\'', f);
  for (; *s; s++) {
    if (*s == '\'') fputs("'\\''", f);
    else fputc(*s, f);
  }
  fputc('\'', f);
}

/* An #SBATCH value: no line break, no space or quote (the line is not parsed by a shell). */
static bool sbatch_value_ok(const char *s) { return s && s[0] && !strpbrk(s, "\n\r\"' \t"); }

bool mhrfit_batch_sbatch_script(const mhrfit_batch_manifest *m, const mhrfit_batch_sbatch_options *o, FILE *out,
                                mhrfit_error *err) {
  if (!o->program || !o->program[0]) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "sbatch script: no program");
  if (!o->per_task) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "--per_task must be at least 1");
  const char *values[4] = {o->mem, o->time_limit, o->partition, o->job_name};
  static const char *const names[4] = {"--mem", "--time", "--partition", "--job_name"};
  for (int i = 0; i < 4; i++)
    if (values[i] && !sbatch_value_ok(values[i]))
      return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "%s '%s': a value without spaces, quotes or line breaks", names[i],
                         values[i]);
  for (size_t i = 0; i < o->n_extra; i++)
    if (!o->extra[i] || strpbrk(o->extra[i], "\n\r") || strncmp(o->extra[i], "--", 2) != 0)
      return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "--sbatch_option '%s': an sbatch option (--name=value) on one line",
                         o->extra[i] ? o->extra[i] : "");
  char *dir = mf_batch_dir(m, o->out_dir, err);
  if (!dir) return false;
  if (strpbrk(dir, "\n\r") || strpbrk(m->path, "\n\r") || strpbrk(o->program, "\n\r")) {
    free(dir);
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "sbatch script: a path with a line break");
  }
  size_t n_tasks = (m->n + o->per_task - 1) / o->per_task;
  fprintf(out, "#!/bin/bash\n");
  fprintf(out, "# mhrfit batch: %zu session(s) of %s, %zu per task\n", m->n, m->path, o->per_task);
  fprintf(out, "#SBATCH --job-name=%s\n", o->job_name ? o->job_name : "mhrfit-batch");
  fprintf(out, "#SBATCH --array=0-%zu\n", n_tasks - 1);
  fprintf(out, "#SBATCH --ntasks=1\n");
  if (o->cpus_per_task) fprintf(out, "#SBATCH --cpus-per-task=%zu\n", o->cpus_per_task);
  if (o->mem) fprintf(out, "#SBATCH --mem=%s\n", o->mem);
  if (o->time_limit) fprintf(out, "#SBATCH --time=%s\n", o->time_limit);
  if (o->partition) fprintf(out, "#SBATCH --partition=%s\n", o->partition);
  for (size_t i = 0; i < o->n_extra; i++) fprintf(out, "#SBATCH %s\n", o->extra[i]);
  if (!strpbrk(dir, " \t\"'")) fprintf(out, "#SBATCH --output=%s/slurm-%%A_%%a.out\n", dir);
  fprintf(out, "# shard I of %zu: sessions [floor(I*%zu/%zu), floor((I+1)*%zu/%zu)) in manifest order;\n", n_tasks, m->n,
          n_tasks, m->n, n_tasks);
  fprintf(out, "# resubmit some shards with: sbatch --array=I,J,... this-script\n");
  fprintf(out, "set -eu\n");
  fprintf(out, "exec ");
  shell_quote(out, o->program);
  fputs(" batch --manifest ", out);
  shell_quote(out, m->path);
  fputs(" --out ", out);
  shell_quote(out, dir);
  fprintf(out, " --shard \"${SLURM_ARRAY_TASK_ID}/%zu\" --jobs %zu\n", n_tasks, o->jobs ? o->jobs : 1);
  free(dir);
  if (fflush(out) != 0 || ferror(out)) {
    int e = errno;
    return MHRFIT_FAIL_ERRNO(err, MHRFIT_ERR_IO, e, "writing the sbatch script: %s", strerror(e));
  }
  return true;
}

/* ------------------------------------------------------------------ collecting the shards */

void mhrfit_batch_collected_free(mhrfit_batch_collected *c) {
  if (!c) return;
  free(c->shards_to_redo);
  free(c->status);
  c->shards_to_redo = NULL;
  c->status = NULL;
  c->n_shards_to_redo = 0;
}

/* A shard summary's name: "batch_summary.shard-I-of-N.json". */
static bool shard_name(const char *name, size_t *i, size_t *n) {
  static const char pre[] = "batch_summary.shard-", suf[] = ".json";
  size_t len = strlen(name);
  if (len <= sizeof pre - 1 + sizeof suf - 1 || strncmp(name, pre, sizeof pre - 1) != 0 ||
      strcmp(name + len - (sizeof suf - 1), suf) != 0)
    return false;
  const char *a = name + sizeof pre - 1, *of = strstr(a, "-of-");
  const char *end = name + len - (sizeof suf - 1);
  return of && of < end && parse_count(a, (size_t)(of - a), MAX_SHARDS, i) &&
         parse_count(of + 4, (size_t)(end - of - 4), MAX_SHARDS, n) && *n && *i < *n;
}

typedef struct shard_file {
  char *path;
  size_t index, count;
  double mtime;
} shard_file;

static void log_msg(void (*log)(void *, const char *), void *user, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void log_msg(void (*log)(void *, const char *), void *user, const char *fmt, ...) {
  if (!log) return;
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  log(user, msg);
}

/* Takes the finished session records of one shard summary into records[] (by manifest index). */
static void take_records(const mhrfit_batch_manifest *m, const shard_file *sf, mhrfit_value **records,
                         void (*log)(void *, const char *), void *user) {
  mhrfit_error e = {0};
  mhrfit_value *doc = mhrfit_json_load(sf->path, &e);
  if (!doc) {
    log_msg(log, user, "%s: ignored: %s", sf->path, e.message);
    return;
  }
  char hash[20];
  snprintf(hash, sizeof hash, "%016" PRIx64, m->hash);
  const mhrfit_value *h = mhrfit_value_dict_get(doc, "manifest_xxh64"), *list = mhrfit_value_dict_get(doc, "sessions");
  if (!h || h->kind != MHRFIT_V_STRING || strcmp(h->u.str.data, hash) != 0 || !list || list->kind != MHRFIT_V_LIST) {
    log_msg(log, user, "%s: ignored: written for another manifest (or another version of it)", sf->path);
    mhrfit_value_free(doc);
    return;
  }
  size_t first, end;
  mhrfit_batch_shard_range(m->n, sf->index, sf->count, &first, &end);
  for (size_t k = 0; k < list->u.list.count; k++) {
    mhrfit_value *r = list->u.list.items[k];
    const mhrfit_value *name = mhrfit_value_dict_get(r, "name"), *idx = mhrfit_value_dict_get(r, "index"),
                       *st = mhrfit_value_dict_get(r, "status");
    if (!name || name->kind != MHRFIT_V_STRING || !idx || idx->kind != MHRFIT_V_INT || !st ||
        st->kind != MHRFIT_V_STRING)
      continue;
    size_t i = (size_t)idx->u.integer;
    if (idx->u.integer < 0 || i < first || i >= end || strcmp(m->sessions[i].name, name->u.str.data) != 0) continue;
    const char *s = st->u.str.data;
    if (strcmp(s, "ok") != 0 && strcmp(s, "failed") != 0) continue; /* pending, cancelled: not finished */
    mhrfit_value_free(records[i]);
    records[i] = r;
    list->u.list.items[k] = mhrfit_value_new_null(NULL); /* taken */
    if (!list->u.list.items[k]) { /* out of memory: give it back */
      list->u.list.items[k] = r;
      records[i] = mhrfit_value_clone(r, NULL);
    }
  }
  mhrfit_value_free(doc);
}

bool mhrfit_batch_collect(const mhrfit_batch_manifest *m, const char *out_dir,
                          void (*log)(void *user, const char *message), void *user, mhrfit_batch_collected *res,
                          mhrfit_error *err) {
  memset(res, 0, sizeof *res);
  char *dir = mf_batch_dir(m, out_dir, err);
  if (!dir) return false;
  mf_entries ents;
  if (!mf_list_entries(dir, true, &ents, err)) {
    free(dir);
    return false;
  }
  shard_file *files = mf_calloc_array(ents.count + 1, sizeof *files, err);
  mhrfit_value **records = files ? mf_calloc_array(m->n + 1, sizeof *records, err) : NULL;
  size_t n_files = 0, newest = 0;
  bool ok = records != NULL;
  for (size_t i = 0; ok && i < ents.count; i++) {
    size_t si, sn;
    if (!shard_name(ents.items[i].name, &si, &sn)) continue;
    struct stat st;
    char *path = mf_path_join(dir, ents.items[i].name, err);
    if (!(ok = path != NULL)) break;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
      free(path);
      continue;
    }
    files[n_files] = (shard_file){path, si, sn, (double)st.st_mtim.tv_sec + 1e-9 * (double)st.st_mtim.tv_nsec};
    if (files[n_files].mtime > files[newest].mtime || !n_files) newest = n_files;
    n_files++;
  }
  mf_entries_free(&ents);
  if (ok && n_files) {
    res->shard_count = files[newest].count;
    for (size_t i = 0; i < n_files; i++) {
      if (files[i].count != res->shard_count) {
        log_msg(log, user, "%s: ignored: %zu shards, the newest summary has %zu", files[i].path, files[i].count,
                res->shard_count);
        continue;
      }
      take_records(m, &files[i], records, log, user);
    }
  }
  mhrfit_value *doc = ok ? mf_batch_summary(m, records, 0, m->n, 0, 0, "missing", err) : NULL;
  char *path = doc ? mf_strdup_printf(err, "%s/batch_summary.json", dir) : NULL;
  ok = path && mf_write_json_atomic(path, doc, 1, err);
  if (ok) {
    snprintf(res->summary_path, sizeof res->summary_path, "%s", path);
    res->n_sessions = m->n;
    bool *redo = res->shard_count ? mf_calloc_array(res->shard_count, sizeof *redo, err) : NULL;
    res->status = mf_calloc_array(m->n + 1, sizeof *res->status, err);
    ok = (!res->shard_count || redo) && res->status;
    for (size_t i = 0; ok && i < m->n; i++) {
      const mhrfit_value *st = records[i] ? mhrfit_value_dict_get(records[i], "status") : NULL;
      bool good = st && strcmp(st->u.str.data, "ok") == 0;
      res->n_ok += good;
      res->n_failed += st && !good;
      res->n_missing += !st;
      snprintf(res->status[i], sizeof res->status[i], "%s", good ? "ok" : st ? "failed" : "missing");
      if (!good && res->shard_count)
        for (size_t k = 0; k < res->shard_count; k++) {
          size_t a, b;
          mhrfit_batch_shard_range(m->n, k, res->shard_count, &a, &b);
          if (i >= a && i < b) redo[k] = true;
        }
    }
    for (size_t k = 0; ok && k < res->shard_count; k++) res->n_shards_to_redo += redo[k];
    res->shards_to_redo = ok ? mf_malloc_array(res->n_shards_to_redo + 1, sizeof *res->shards_to_redo, err) : NULL;
    ok = ok && res->shards_to_redo;
    for (size_t k = 0, j = 0; ok && k < res->shard_count; k++)
      if (redo[k]) res->shards_to_redo[j++] = k;
    free(redo);
  }
  mhrfit_value_free(doc);
  free(path);
  for (size_t i = 0; files && i < n_files; i++) free(files[i].path);
  free(files);
  for (size_t i = 0; records && i < m->n; i++) mhrfit_value_free(records[i]);
  free(records);
  free(dir);
  if (!ok) mhrfit_batch_collected_free(res);
  return ok;
}
