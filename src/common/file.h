/* Internal file helpers: whole-file reads with a size limit, atomic writes. */
#ifndef MF_COMMON_FILE_H
#define MF_COMMON_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "mhrfit/error.h"

/* Reads the whole file into a malloc'd buffer (NUL-terminated for convenience, the NUL not
 * counted in *len). Fails with MHRFIT_ERR_IO (naming path) or MHRFIT_ERR_LIMIT when the file is
 * larger than max_bytes (0 = no limit). The caller frees *data. */
bool mf_read_file(const char *path, size_t max_bytes, unsigned char **data, size_t *len, mhrfit_error *err);

/* An output file written under a temporary name in the destination folder and renamed over the
 * final path on commit, so readers never see a partial file. */
typedef struct mf_atomic_file {
  FILE *f;        /* write here */
  char *path;     /* final path */
  char *tmp_path; /* temporary path */
} mf_atomic_file;

/* Opens a temporary file beside `path`. */
bool mf_atomic_open(mf_atomic_file *af, const char *path, mhrfit_error *err);
/* Flushes, fsyncs, closes and renames the temporary file to the final path. Always releases af;
 * on failure the temporary file is removed and the final path is untouched. */
bool mf_atomic_commit(mf_atomic_file *af, mhrfit_error *err);
/* Closes and removes the temporary file (after a failed write). */
void mf_atomic_abort(mf_atomic_file *af);
/* Writes a value tree to path as JSON (indent spaces per level, a final newline), atomically. */
struct mhrfit_value;
bool mf_write_json_atomic(const char *path, const struct mhrfit_value *v, int indent, mhrfit_error *err);
/* Writes data[0..len-1] to path atomically. */
bool mf_write_file_atomic(const char *path, const void *data, size_t len, mhrfit_error *err);

#endif
