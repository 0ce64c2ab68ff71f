/* Internal pieces of the batch module (include/mhrfit/batch.h). Not part of the public API. */
#ifndef MF_BATCH_INTERNAL_H
#define MF_BATCH_INTERNAL_H

#include <stdint.h>

#include "mhrfit/batch.h"
#include "mhrfit/value.h"

/* What a session's strings live in. */
typedef struct mf_batch_session_store {
  char *name;
  char *paths[3]; /* input, calib, out */
  char **args;
  size_t n_args;
} mf_batch_session_store;

struct mhrfit_batch_manifest {
  char *path, *dir;   /* absolute path of the file; its folder */
  uint64_t hash;      /* xxHash64 of its bytes */
  size_t n;
  mhrfit_batch_session *sessions;
  mf_batch_session_store *store;
};

/* A manifest from its text; `path` (absolute for the library's use) names it in messages and
 * gives the folder relative paths are resolved against. */
mhrfit_batch_manifest *mf_batch_manifest_parse(const char *text, size_t len, const char *path, mhrfit_error *err);

/* The batch's folder: `out_dir` (made absolute against the working folder), or the manifest's
 * folder; the caller owns it. */
char *mf_batch_dir(const mhrfit_batch_manifest *m, const char *out_dir, mhrfit_error *err);

/* The summary document of sessions [first, end) of the manifest: records[i] (a DICT, cloned) for
 * session i, or a placeholder with status `absent` ("pending", "missing") where it is NULL;
 * shard_count 0 writes "shard": null. */
mhrfit_value *mf_batch_summary(const mhrfit_batch_manifest *m, mhrfit_value *const *records, size_t first,
                               size_t end, size_t shard_index, size_t shard_count, const char *absent,
                               mhrfit_error *err);

#endif
