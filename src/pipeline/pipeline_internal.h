/* Internal pieces of the pipeline (include/mhrfit/pipeline.h). Not part of the public API. */
#ifndef MF_PIPELINE_INTERNAL_H
#define MF_PIPELINE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "mhrfit/error.h"
#include "mhrfit/pipeline.h"
#include "mhrfit/value.h"

/* The settings document of a run (pipeline_config.json): every option that shapes the results,
 * under the command-line option names, in a fixed order. `rig_key` is "assets" or "rig". */
mhrfit_value *mf_pipeline_config(const mhrfit_pipeline_options *o, const char *rig_key, mhrfit_error *err);

/* xxHash64 of the compact JSON text of `v` (the identity of the settings). */
bool mf_pipeline_value_hash(const mhrfit_value *v, uint64_t *hash, mhrfit_error *err);

/* The journal <out>/run_state.txt: a header line, then one "<frame>\t<signature>" line per
 * finished frame, appended and flushed as each frame's files are in place (later lines win; a
 * line cut short by a kill is ignored). Appending keeps the cost per frame constant. */

/* Reads the journal at `path` into `state` (frame name -> signature string); a missing or
 * foreign file leaves `state` empty. */
void mf_journal_read(const char *path, mhrfit_value *state);

/* Rewrites the journal with the entries of `state` (atomically) and opens it for appending. */
FILE *mf_journal_open(const char *path, const mhrfit_value *state, mhrfit_error *err);

/* Appends one finished frame and flushes. Names or signatures that cannot be written on one
 * line are skipped (such a frame is simply redone next time). */
bool mf_journal_append(FILE *f, const char *path, const char *name, const char *sig, mhrfit_error *err);

#endif
