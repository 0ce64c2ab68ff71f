/* mhrfit batch: many sessions from a TOML manifest (include/mhrfit/batch.h); this file only
 * parses the options, turns each session's keys into `run` options (run_opts.c) and shows what
 * the library reports. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/run_opts.h"
#include "mhrfit/batch.h"

static const char *const batch_summary_text =
    "Runs every session of a TOML manifest as 'mhrfit run' would, --jobs sessions at a time, each\n"
    "into its own output folder: [defaults] holds options for all, one [[session]] table per\n"
    "session holds name, input, calib, cams (optional), out and any option of 'mhrfit run' under\n"
    "its name (true/false for flags, numbers, strings, arrays for lists). Relative paths are\n"
    "relative to the manifest's folder. Each session is resumable as a run is: a rerun reuses\n"
    "what is finished and retries what failed; a failing session does not stop the others.\n"
    "The batch's folder (--out, default the manifest's folder) receives batch_summary.json (per\n"
    "session: status, error, frames by status, time), or batch_summary.shard-I-of-N.json.\n"
    "\n"
    "On a Slurm cluster: --sbatch prints a job-array script (one task per --per_task sessions)\n"
    "whose task I runs --shard I/N; --collect then merges the shards' summaries into\n"
    "batch_summary.json and lists the missing and failed sessions and the array indices to submit\n"
    "again. Without --shard, a process of a job array takes its shard from SLURM_ARRAY_TASK_ID and\n"
    "SLURM_ARRAY_TASK_COUNT.\n"
    "\n"
    "Exit status: 0 when every session succeeded (--collect: when every session is finished and\n"
    "ok), 1 when one failed or is missing, 2 for a usage error (a manifest error included: every\n"
    "session's options are checked before the first one runs; a session whose inputs will make it\n"
    "fail, such as a missing folder or a broken calibration, is named at once and fails in its turn).";

typedef struct batch_cli {
  const char *manifest, *out, *shard, *mem, *time_limit, *partition, *job_name;
  long jobs, per_task, cpus;
  bool sbatch, collect, quiet;
  mf_strlist extra;
} batch_cli;

/* ------------------------------------------------------------------ a session's run options */

typedef struct session_state {
  mf_run_cli c;
  mf_opt opts[MF_RUN_MAX_OPTS];
  char **argv;
} session_state;

static void release(void *user, void *state) {
  (void)user;
  session_state *st = state;
  if (!st) return;
  mf_run_cli_free(&st->c);
  free(st->argv);
  free(st);
}

/* The session's arguments parsed as `mhrfit run` parses its command line. */
static bool configure(void *user, const mhrfit_batch_session *s, mhrfit_pipeline_options *o, void **state,
                      mhrfit_error *err) {
  (void)user;
  session_state *st = calloc(1, sizeof *st);
  char **argv = st ? calloc(s->n_args + 2, sizeof *argv) : NULL;
  if (!argv) {
    free(st);
    return MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
  }
  *state = st;
  st->argv = argv;
  argv[0] = (char *)"run";
  for (size_t i = 0; i < s->n_args; i++) argv[i + 1] = (char *)s->args[i];
  size_t group_end[MF_RUN_GROUPS];
  size_t n_opts = mf_run_table(&st->c, st->opts, group_end);
  const mf_cmd_spec spec = {"batch", "", "", st->opts, n_opts, 0, 0};
  mf_strlist pos = {0};
  mf_rig_src rig;
  int rc = mf_args_parse(&spec, (int)s->n_args + 1, argv, &pos);
  mf_strlist_free(&pos);
  if (rc >= 0 || (rc = mf_run_finish(&st->c, o)) >= 0 || (rc = mf_rig_choose(st->c.assets, st->c.rig, "batch", &rig)) >= 0)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "its run options are not valid (above)");
  o->rig_path = rig.path;
  return mf_rig_check(&rig, err);
}

/* ------------------------------------------------------------------ what is shown */

static void on_log(void *user, const mhrfit_batch_session *s, mhrfit_pipeline_log_level level, const char *msg) {
  const batch_cli *b = user;
  if (level == MHRFIT_PIPELINE_INFO) {
    if (!b->quiet) printf("[%s] %s\n", s->name, msg);
    fflush(stdout);
  } else {
    fprintf(stderr, "mhrfit batch: [%s] %s%s\n", s->name, level == MHRFIT_PIPELINE_ERROR ? "error: " : "warning: ", msg);
  }
}

static void on_session(void *user, const mhrfit_batch_outcome *oc) {
  const batch_cli *b = user;
  const mhrfit_pipeline_result *r = &oc->result;
  if (strcmp(oc->status, "ok") == 0) {
    if (!b->quiet)
      printf("session %s: ok, %zu frames (%zu reused), %zu fitted, in %.1f s\n", oc->session->name, r->n_frames,
             r->frames_reused, r->n_fitted, oc->seconds);
  } else {
    fprintf(stderr, "mhrfit batch: session %s: %s: %s\n", oc->session->name, oc->status, oc->error.message);
  }
  fflush(stdout);
}

/* ------------------------------------------------------------------ the three modes */

static int do_sbatch(const mhrfit_batch_manifest *m, const batch_cli *b) {
  mhrfit_batch_sbatch_options so;
  mhrfit_batch_sbatch_options_init(&so);
  char *self = realpath("/proc/self/exe", NULL);
  mhrfit_error err = {0};
  if (!self) {
    MHRFIT_FAIL(&err, MHRFIT_ERR_IO, "/proc/self/exe: cannot find this program's path");
    return mf_report("batch", &err);
  }
  so.program = self;
  so.out_dir = b->out;
  so.per_task = (size_t)b->per_task;
  so.jobs = (size_t)b->jobs;
  so.cpus_per_task = (size_t)b->cpus;
  so.mem = b->mem;
  so.time_limit = b->time_limit;
  so.partition = b->partition;
  so.job_name = b->job_name;
  so.extra = b->extra.items;
  so.n_extra = b->extra.count;
  bool ok = mhrfit_batch_sbatch_script(m, &so, stdout, &err);
  free(self);
  if (!ok) return err.type == MHRFIT_ERR_ARGUMENT ? mf_usage_error("batch", "%s", err.message) : mf_report("batch", &err);
  return MF_EXIT_OK;
}

static void collect_log(void *user, const char *msg) {
  (void)user;
  fprintf(stderr, "mhrfit batch: warning: %s\n", msg);
}

static int do_collect(const mhrfit_batch_manifest *m, const batch_cli *b) {
  mhrfit_batch_collected c;
  mhrfit_error err = {0};
  if (!mhrfit_batch_collect(m, b->out, collect_log, NULL, &c, &err)) return mf_report("batch", &err);
  printf("collected %zu session(s): %zu ok, %zu failed, %zu missing (%zu shard(s))\n", c.n_sessions, c.n_ok,
         c.n_failed, c.n_missing, c.shard_count);
  for (size_t i = 0; i < c.n_sessions; i++)
    if (strcmp(c.status[i], "ok") != 0) printf("  %s: %s\n", mhrfit_batch_session_get(m, i)->name, c.status[i]);
  if (c.n_shards_to_redo) {
    printf("submit again: sbatch --array=");
    for (size_t k = 0; k < c.n_shards_to_redo; k++) printf("%s%zu", k ? "," : "", c.shards_to_redo[k]);
    printf(" <the --sbatch script>\n");
  } else if (!c.shard_count) {
    printf("no shard summary found (batch_summary.shard-I-of-N.json)\n");
  }
  printf("wrote %s\n", c.summary_path);
  bool all = c.n_ok == c.n_sessions;
  mhrfit_batch_collected_free(&c);
  return all ? MF_EXIT_OK : MF_EXIT_FAILURE;
}

static int do_run(const mhrfit_batch_manifest *m, batch_cli *b) {
  mhrfit_batch_options o;
  mhrfit_batch_options_init(&o);
  mhrfit_error err = {0};
  o.jobs = (size_t)b->jobs;
  o.out_dir = b->out;
  if (b->shard && !mhrfit_batch_shard_parse(b->shard, &o.shard_index, &o.shard_count, &err))
    return mf_usage_error("batch", "%s", err.message);
  if (!b->shard && !mhrfit_batch_shard_from_env(&o.shard_index, &o.shard_count, &err) && err.type)
    return mf_usage_error("batch", "%s", err.message);
  o.configure = configure;
  o.release = release;
  o.log = on_log;
  o.on_session = on_session;
  o.user = b;
  o.cancel = mf_cancel_on_signals();
  mhrfit_batch_result res;
  bool ok = mhrfit_batch_run(m, &o, &res, &err);
  if (!ok && err.type == MHRFIT_ERR_CANCELLED && mf_cancel_signal()) mf_exit_interrupted("batch");
  if (!ok) return err.type == MHRFIT_ERR_ARGUMENT ? mf_usage_error("batch", "%s", err.message) : mf_report("batch", &err);
  if (!b->quiet || res.n_failed)
    printf("batch: %zu session(s): %zu ok, %zu failed; wrote %s\n", res.n_sessions, res.n_ok, res.n_failed,
           res.summary_path);
  return res.n_ok == res.n_sessions ? MF_EXIT_OK : MF_EXIT_FAILURE;
}

int mf_cmd_batch(int argc, char **argv) {
  batch_cli b = {0};
  b.jobs = 1;
  b.per_task = 1;
  const mf_opt opts[] = {
      {"manifest", MF_OPT_STRING, &b.manifest, "FILE", "TOML manifest of the sessions; required", NULL},
      {"out", MF_OPT_STRING, &b.out, "DIR", "the batch's folder: summaries (default: the manifest's folder)", NULL},
      {"jobs", MF_OPT_INT, &b.jobs, "N",
       "sessions run at once (default 1; 0: every core); each session runs on one thread unless the manifest sets "
       "its jobs", NULL},
      {"shard", MF_OPT_STRING, &b.shard, "I/N",
       "run only shard I of N (sessions floor(I*S/N) to floor((I+1)*S/N)-1; default: from SLURM_ARRAY_TASK_ID and "
       "SLURM_ARRAY_TASK_COUNT when set, else every session)", NULL},
      {"sbatch", MF_OPT_FLAG, &b.sbatch, NULL, "print a Slurm job-array script for the manifest and exit", NULL},
      {"per_task", MF_OPT_INT, &b.per_task, "K", "with --sbatch: sessions per array task (default 1)", NULL},
      {"cpus_per_task", MF_OPT_INT, &b.cpus, "N", "with --sbatch: #SBATCH --cpus-per-task (default: not set)", NULL},
      {"mem", MF_OPT_STRING, &b.mem, "M", "with --sbatch: #SBATCH --mem, e.g. 8G (default: not set)", NULL},
      {"time", MF_OPT_STRING, &b.time_limit, "T", "with --sbatch: #SBATCH --time, e.g. 02:00:00 (default: not set)", NULL},
      {"partition", MF_OPT_STRING, &b.partition, "P", "with --sbatch: #SBATCH --partition (default: not set)", NULL},
      {"job_name", MF_OPT_STRING, &b.job_name, "NAME", "with --sbatch: #SBATCH --job-name (default mhrfit-batch)", NULL},
      {"sbatch_option", MF_OPT_LIST, &b.extra, "OPT", "with --sbatch: more #SBATCH lines, e.g. --sbatch_option=--account=lab", NULL},
      {"collect", MF_OPT_FLAG, &b.collect, NULL,
       "merge the shards' summaries into batch_summary.json, list what is missing or failed, and exit", NULL},
      MF_OPT_QUIET(&b.quiet),
  };
  const mf_cmd_spec spec = {"batch", "--manifest FILE [--jobs N] [--shard I/N | --sbatch | --collect] [options]",
                            batch_summary_text, opts, sizeof opts / sizeof opts[0], 0, 0};
  mf_strlist pos = {0};
  int rc = mf_args_parse(&spec, argc, argv, &pos);
  mf_strlist_free(&pos);
  if (rc >= 0) goto done;
  rc = MF_EXIT_USAGE;
  if (!b.manifest) {
    rc = mf_usage_error("batch", "--manifest is required");
    goto done;
  }
  if (b.sbatch + b.collect + (b.shard != NULL) > 1) {
    rc = mf_usage_error("batch", "--sbatch, --collect and --shard exclude each other");
    goto done;
  }
  if (b.jobs < 0 || b.jobs > 1024 || b.per_task < 1 || b.per_task > 100000 || b.cpus < 0 || b.cpus > 100000) {
    rc = mf_usage_error("batch", "--jobs must be in 0..1024, --per_task in 1..100000, --cpus_per_task >= 0");
    goto done;
  }
  mhrfit_error err = {0};
  mhrfit_batch_manifest *m = mhrfit_batch_manifest_load(b.manifest, &err);
  if (!m) {
    rc = err.type == MHRFIT_ERR_FORMAT ? mf_usage_error("batch", "%s", err.message) : mf_report("batch", &err);
    goto done;
  }
  rc = b.sbatch ? do_sbatch(m, &b) : b.collect ? do_collect(m, &b) : do_run(m, &b);
  mhrfit_batch_manifest_free(m);
done:
  mf_strlist_free(&b.extra);
  return rc;
}
