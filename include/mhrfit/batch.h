/**
 * @file batch.h
 * @brief Many sessions, each a pipeline run (pipeline.h), from one TOML manifest; on one machine
 *        or spread over the tasks of a Slurm job array.
 *
 * ## The manifest
 *
 * A TOML file (toml.h) with an optional `[defaults]` table and one `[[session]]` table per
 * session:
 *
 *     [defaults]
 *     rig = "rig.npz"
 *     freeze_lower_body = true
 *
 *     [[session]]
 *     name = "take01"
 *     input = "captures/take01"
 *     calib = "captures/take01/calibration.toml"
 *     cams = ["cam_0", "cam_1", "cam_2", "cam_3"]   # optional: every calibrated camera with files
 *     out = "runs/take01"
 *     max_stale_frames = 20                          # any option of `mhrfit run`, overriding [defaults]
 *
 * `name` (letters, digits, `.`, `_`, `-`; unique), `input`, `calib` and `out` are required in
 * each session (`input`, `calib`, `cams` may also come from `[defaults]`; `name` and `out` may
 * not). Every other key is an option of `mhrfit run` under its command-line name (snake or kebab
 * case): `true` / `false` for a flag (`--name` / `--no_name`), a number or a string for a value,
 * an array for a list. The batch does not know these options: the caller's `configure` callback
 * turns a session's arguments into pipeline options (the command line parses them as `run`
 * does), so a manifest takes exactly what `run` takes. Relative paths are relative to the
 * manifest's folder: those of `input`, `calib`, `out`, and of the path options `sam_dir`, `rig`,
 * `assets`, `keypoint_map`, `keypoint_names`. Two sessions may not share an output folder.
 *
 * ## A batch
 *
 * mhrfit_batch_run() runs the sessions of the batch's shard `jobs` at a time, each as
 * mhrfit_pipeline_run() into its own output folder: each is resumable as a run is (a rerun
 * reuses every finished frame and redoes a failed session), and a session that fails (a broken
 * calibration, no frame fitted, a folder another run holds) is reported and does not stop the
 * others. A session runs on one thread unless the manifest sets its `jobs`.
 *
 * The batch's folder (`out_dir`, default the manifest's folder) receives the summary,
 * rewritten (atomically) as each session ends: `batch_summary.json`, or for shard I of N
 * `batch_summary.shard-I-of-N.json`:
 *
 *     {"format": "mhrfit-batch-summary", "version": 1, "manifest": "<absolute path>",
 *      "manifest_xxh64": "<hash of its bytes>", "shard": [I, N] or null, "n_sessions": <in the manifest>,
 *      "counts": {"ok": ..., "failed": ..., ...},
 *      "sessions": [{"name", "index" (in the manifest), "out", "status" (ok | failed | cancelled | pending
 *                    | missing), "error" (null or the message), "frames", "frames_reused",
 *                    "frame_status" {status: frames}, "time_s"}, ...]}
 *
 * ## Slurm
 *
 * Shard I of N (0 ≤ I < N) holds the sessions [⌊I·S/N⌋, ⌊(I+1)·S/N⌋) of the S sessions in
 * manifest order: N shards cover every session once, each holding ⌈S/N⌉ or fewer.
 * mhrfit_batch_sbatch_script() writes a job-array script of ⌈S/per_task⌉ tasks, task I running
 * shard I of that count; mhrfit_batch_collect() merges the shards' summaries into
 * `batch_summary.json` and names the sessions missing (no shard summary lists them finished) or
 * failed, and the shards to submit again.
 *
 * ## Lifecycle
 *
 * mhrfit_batch_manifest_load() → mhrfit_batch_options_init(), set the fields →
 * mhrfit_batch_run() (or mhrfit_batch_sbatch_script(), mhrfit_batch_collect()) →
 * mhrfit_batch_manifest_free().
 */
#ifndef MHRFIT_BATCH_H
#define MHRFIT_BATCH_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "mhrfit/error.h"
#include "mhrfit/pipeline.h"

#ifdef __cplusplus
extern "C" {
#endif

/** One session of a manifest (strings owned by the manifest). */
typedef struct mhrfit_batch_session {
  const char *name;   /**< unique name */
  size_t index;       /**< position in the manifest */
  const char *input, *calib, *out; /**< paths, resolved against the manifest's folder */
  /** The session's `run` options as command-line arguments, `[defaults]` first then the
   *  session's own (a later value wins): "--input", "DIR", "--calib", ..., "--max_stale_frames",
   *  "20", ... (input, calib, cams and out included). */
  const char *const *args;
  size_t n_args;
  bool sets_jobs;     /**< the manifest sets `jobs` for this session */
} mhrfit_batch_session;

typedef struct mhrfit_batch_manifest mhrfit_batch_manifest;

/**
 * Reads a manifest (see the file doc). Errors name the file, the session and the key:
 * MHRFIT_ERR_FORMAT (not TOML, no `[[session]]`, a required key missing, a value of a type no
 * option takes, a nested table, a duplicate name or output folder, a name unfit for a file name),
 * MHRFIT_ERR_NOT_FOUND / MHRFIT_ERR_IO (the file), MHRFIT_ERR_NOMEM. The caller owns the result.
 */
mhrfit_batch_manifest *mhrfit_batch_manifest_load(const char *path, mhrfit_error *err);

/** Sessions of the manifest. */
size_t mhrfit_batch_n_sessions(const mhrfit_batch_manifest *m);

/** Session `i` (NULL when out of range). */
const mhrfit_batch_session *mhrfit_batch_session_get(const mhrfit_batch_manifest *m, size_t i);

/** The manifest's absolute path. */
const char *mhrfit_batch_manifest_path(const mhrfit_batch_manifest *m);

/** Frees a manifest. NULL is allowed. */
void mhrfit_batch_manifest_free(mhrfit_batch_manifest *m);

/** The sessions [*first, *end) of shard `index` of `count` (see the file doc); false when
 *  index ≥ count or count = 0. */
bool mhrfit_batch_shard_range(size_t n_sessions, size_t index, size_t count, size_t *first, size_t *end);

/**
 * Reads "I/N" (0 ≤ I < N ≤ 100000) into *index, *count. Errors: MHRFIT_ERR_ARGUMENT naming the
 * text.
 */
bool mhrfit_batch_shard_parse(const char *text, size_t *index, size_t *count, mhrfit_error *err);

/**
 * The shard Slurm gives this process: SLURM_ARRAY_TASK_ID minus SLURM_ARRAY_TASK_MIN of
 * SLURM_ARRAY_TASK_COUNT, when those variables are set; false when they are not. Errors
 * (false, err set): MHRFIT_ERR_ARGUMENT (a variable that is not a number, or an index out of range).
 */
bool mhrfit_batch_shard_from_env(size_t *index, size_t *count, mhrfit_error *err);

/** What mhrfit_batch_run() did with one session. */
typedef struct mhrfit_batch_outcome {
  const mhrfit_batch_session *session;
  const char *status;        /**< "ok", "failed", "cancelled" or "pending" (not started) */
  mhrfit_error error;        /**< why it failed */
  mhrfit_pipeline_result result; /**< the run's counts and times (when it ran) */
  double seconds;            /**< wall-clock time of the session */
} mhrfit_batch_outcome;

/** Settings of a batch; mhrfit_batch_options_init() sets the defaults given here. */
typedef struct mhrfit_batch_options {
  size_t jobs;               /**< sessions run at once, 0 = the cores this process may use (1) */
  size_t shard_index;        /**< run shard shard_index of shard_count only (0) */
  size_t shard_count;        /**< 0: no sharding, every session, summary batch_summary.json (0) */
  const char *out_dir;       /**< the batch's folder (summaries); NULL = the manifest's folder */
  /**
   * Turns a session into pipeline options (required): `o` comes filled by
   * mhrfit_pipeline_options_init(); `*state` may receive what must live until the run ends
   * (released by `release`). Returns false (with err) when the session's options are not valid.
   * Called from the batch's threads, one session at a time per thread; mhrfit_batch_run() calls
   * it for every session of the shard before any runs (every problem of the manifest is then
   * reported before long work), and again when the session runs.
   */
  bool (*configure)(void *user, const mhrfit_batch_session *s, mhrfit_pipeline_options *o, void **state,
                    mhrfit_error *err);
  void (*release)(void *user, void *state); /**< frees what configure kept (may be NULL) */
  /** Each pipeline message of a session (calls are serialised); NULL = silent. */
  void (*log)(void *user, const mhrfit_batch_session *s, mhrfit_pipeline_log_level level, const char *message);
  /** Called as each session ends (calls are serialised); NULL = none. */
  void (*on_session)(void *user, const mhrfit_batch_outcome *outcome);
  void *user;                /**< passed to the callbacks */
  /** When not NULL and non-zero, running sessions stop at their next frame boundary (resumable)
   *  and no other session starts. */
  const volatile sig_atomic_t *cancel;
} mhrfit_batch_options;

/** Fills `o` with the defaults. */
void mhrfit_batch_options_init(mhrfit_batch_options *o);

/** Counts of a finished batch. */
typedef struct mhrfit_batch_result {
  size_t n_sessions;         /**< sessions of the shard (all without sharding) */
  size_t n_ok, n_failed, n_cancelled;
  char summary_path[4096];   /**< the summary written */
} mhrfit_batch_result;

/**
 * Runs the sessions of the shard (see the file doc) and writes the summary. Returns true when
 * the batch ran, whether or not every session succeeded (`res` says how many did). Errors:
 * those of `configure` for a session (nothing is run; the message names the session),
 * MHRFIT_ERR_ARGUMENT (no configure callback, a shard out of range), MHRFIT_ERR_CANCELLED (the
 * summary is written first), MHRFIT_ERR_IO (the summary), MHRFIT_ERR_NOMEM.
 */
bool mhrfit_batch_run(const mhrfit_batch_manifest *m, const mhrfit_batch_options *o, mhrfit_batch_result *res,
                      mhrfit_error *err);

/** Settings of a Slurm job-array script. */
typedef struct mhrfit_batch_sbatch_options {
  const char *program;       /**< the mhrfit executable to run (absolute path); required */
  const char *out_dir;       /**< the batch's folder; NULL = the manifest's folder */
  size_t per_task;           /**< sessions per array task, ≥ 1 (1) */
  size_t jobs;               /**< sessions at once within a task (1) */
  size_t cpus_per_task;      /**< `--cpus-per-task`; 0 = not set (0) */
  const char *mem;           /**< `--mem` (e.g. "8G"); NULL = not set */
  const char *time_limit;    /**< `--time` (e.g. "02:00:00"); NULL = not set */
  const char *partition;     /**< `--partition`; NULL = not set */
  const char *job_name;      /**< `--job-name` (NULL: "mhrfit-batch") */
  const char *const *extra;  /**< more `#SBATCH` lines' options, each written as given (e.g. "--account=lab") */
  size_t n_extra;
} mhrfit_batch_sbatch_options;

/** Fills `o` with the defaults. */
void mhrfit_batch_sbatch_options_init(mhrfit_batch_sbatch_options *o);

/**
 * Writes the job-array script to `out`: `#SBATCH --array=0-<N-1>` with N = ⌈S/per_task⌉, the
 * resources, the task log `<batch folder>/slurm-%A_%a.out`, and the command
 * `<program> batch --manifest <absolute manifest> --out <batch folder> --shard $SLURM_ARRAY_TASK_ID/N
 * --jobs <jobs>` (the shard count written into the script, so that a resubmission of some
 * indices, `sbatch --array=1,4 script`, runs the same shards). Values are shell-quoted; a value
 * with a line break is refused. Errors: MHRFIT_ERR_ARGUMENT (no program, per_task 0, a line
 * break), MHRFIT_ERR_IO (writing).
 */
bool mhrfit_batch_sbatch_script(const mhrfit_batch_manifest *m, const mhrfit_batch_sbatch_options *o, FILE *out,
                                mhrfit_error *err);

/** What mhrfit_batch_collect() found. */
typedef struct mhrfit_batch_collected {
  size_t n_sessions, n_ok, n_failed, n_missing; /**< missing: no shard summary lists it finished */
  size_t shard_count;        /**< N of the shard summaries (0: none found) */
  size_t n_shards_to_redo;   /**< shards holding a failed or missing session */
  size_t *shards_to_redo;    /**< their indices, increasing (free with mhrfit_batch_collected_free()) */
  char (*status)[16];        /**< per session of the manifest: "ok", "failed" or "missing" (freed likewise) */
  char summary_path[4096];   /**< batch_summary.json written */
} mhrfit_batch_collected;

/**
 * Merges the shard summaries `batch_summary.shard-*-of-N.json` in the batch's folder (`out_dir`,
 * NULL = the manifest's folder) into `batch_summary.json`: every session of the manifest with
 * its shard's record, or status "missing". Summaries of another manifest (by content hash) or
 * of another shard count than the newest summary's are ignored (logged through `log`, may be
 * NULL). Errors: MHRFIT_ERR_IO (the folder, the summary), MHRFIT_ERR_NOMEM.
 */
bool mhrfit_batch_collect(const mhrfit_batch_manifest *m, const char *out_dir,
                          void (*log)(void *user, const char *message), void *user, mhrfit_batch_collected *res,
                          mhrfit_error *err);

/** Frees the lists of a mhrfit_batch_collected. */
void mhrfit_batch_collected_free(mhrfit_batch_collected *c);

#ifdef __cplusplus
}
#endif
#endif
