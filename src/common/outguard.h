/* Internal: where a command that reads a run folder may write (report, export), so that an output
 * never destroys an input. The rules, checked before any work:
 *
 * 1. the output is none of the named inputs (mf_same_file(): also through links and "..") and no
 *    existing file inside an input folder (mf_output_replaces());
 * 2. the output is neither the run folder nor anything a run writes in it (mf_run_writes()), except
 *    the one file the command itself writes there (`run_own`, e.g. report.html);
 * 3. the output lies outside the run's capture (its pictures, SAM outputs, calibration), unless it
 *    lies inside the run folder (a run folder kept inside its capture);
 * 4. a file output replaces an existing file only when it has one of the extensions the command
 *    writes (`exts`: what an earlier call of the command left); a folder output must be new,
 *    empty or an earlier output of the command (`folder_mark` inside, e.g. export_summary.json).
 *
 * Refusals are MHRFIT_ERR_ARGUMENT naming the output, the rule and what to do. */
#ifndef MF_COMMON_OUTGUARD_H
#define MF_COMMON_OUTGUARD_H

#include <stdbool.h>
#include <stddef.h>

#include "mhrfit/error.h"

/* One input of the command: the option that names it ("--calib") and its path (NULL: none). */
typedef struct mf_guard_input {
  const char *what, *path;
} mf_guard_input;

typedef struct mf_out_rules {
  const char *opt;                /* the output option for messages ("--out") */
  bool folder;                    /* the output is a folder of files (else one file) */
  const char *const *exts;        /* file output: extensions an existing file may have (".glb"), NULL-ended */
  const char *folder_mark;        /* folder output: the file an earlier output holds (NULL: only new or empty) */
  const char *writer;             /* what writes it ("mhrfit export"), for messages */
  const char *run_dir;            /* the run folder read, or NULL */
  const char *run_own;            /* a file name in the run folder that the command writes itself, or NULL */
  const char *capture;            /* the run's capture folder, or NULL */
  const mf_guard_input *inputs;   /* other inputs (files or folders) */
  size_t n_inputs;
} mf_out_rules;

/* Applies the rules above to the output path `out`; true when it may be written. */
bool mf_out_check(const char *out, const mf_out_rules *r, mhrfit_error *err);

/* True when `path` (which need not exist) is the run folder `run_dir` itself or lies inside
 * something `mhrfit run` writes there (stage1/, fit/, the sequence archives, the summary,
 * pipeline_config.json, run_state.txt, report.html, overlay/, the lock, ...). */
bool mf_run_writes(const char *run_dir, const char *path);

/* The marker of an unfinished run in its folder: `mhrfit run` writes it (atomically) before it
 * writes pipeline_config.json and removes it once sequence_fit.npz, sequence_smoothed.npz and
 * sequence_summary.json are this run's; so while it is there, those files (when present) are an
 * earlier run's. */
#define MF_RUN_UNFINISHED_NAME "run_unfinished.txt"

/* True when `run_dir` holds the marker above (its last run was interrupted, failed before its
 * sequence files, or is still running); `msg` (`size` bytes, may be NULL) then gets a warning for
 * the user saying so, whether a process holds the folder's lock now, and what to do. */
bool mf_run_unfinished(const char *run_dir, char *msg, size_t size);

#endif
