/* Internal pieces of stage 1 (ingest): hashing, file identities, the stage1_meta.json
 * comparison. Not part of the public API. */
#ifndef MF_INGEST_INTERNAL_H
#define MF_INGEST_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/hash.h"
#include "mhrfit/error.h"
#include "mhrfit/ingest.h"
#include "mhrfit/value.h"

/* Identity of a file: size, modification time, content hash. */
typedef struct mf_file_id {
  bool exists;
  uint64_t size;
  long long mtime_sec;
  long mtime_nsec;
  uint64_t hash;
} mf_file_id;

/* Stats and hashes `path`; a missing file gives exists = false and returns true. */
bool mf_file_identity(const char *path, mf_file_id *id, mhrfit_error *err);

/* Version of the stage1_meta.json layout; a different value invalidates the cache. */
#define MF_INGEST_META_VERSION 1
#define MF_INGEST_META_FORMAT "mhrfit-stage1-meta"

/* The settings part of a request that every frame depends on, in the form stored in the meta. */
typedef struct mf_ingest_settings {
  const char *tool_version;
  const char *input_root; /* absolute */
  const char *sam_root;   /* absolute */
  const char *const *cams;
  const char *const *cam_files; /* file stem of each camera in the input */
  size_t n_cams;
  mhrfit_person_strategy strategy;
  long person_index;
  const char *estimator; /* NULL = none */
  const char *estimator_worker; /* NULL = none */
  const double *cam_intrinsics; /* n_cams * 9, NaN rows unknown; NULL = none (ignored without an estimator) */
  const char *const *model_ids;
  size_t n_model_ids;
} mf_ingest_settings;

/* Compares the settings stored in a parsed meta document with `s`. Returns MHRFIT_INGEST_REUSE
 * when they match, else the first mismatch with an explanation in detail[0..size-1]. Tolerates
 * any document shape (fuzzed). */
mhrfit_ingest_reason mf_ingest_meta_compare(const mhrfit_value *meta, const mf_ingest_settings *s, char *detail,
                                            size_t size);

/* True when the meta records the same estimator command, model identifiers and input root as
 * `s` (so raw estimator outputs recorded in it may be reused even if other settings changed). */
bool mf_ingest_meta_same_estimator(const mhrfit_value *meta, const mf_ingest_settings *s);

/* Compares one view record of the meta (`rec`, may be NULL) with the current identities of its
 * image, its SAM output and its stage-1 file (`cur_*`, exists = false when absent; relative paths
 * `*_rel`, NULL when absent). Returns MHRFIT_INGEST_REUSE or the reason, with a detail. */
mhrfit_ingest_reason mf_ingest_view_compare(const mhrfit_value *rec, const char *cam, const char *image_rel,
                                            const mf_file_id *cur_image, const char *source_rel,
                                            const mf_file_id *cur_source, const char *out_rel,
                                            const mf_file_id *cur_out, char *detail, size_t size);

/* The camera intrinsics as stored in the meta: a dict camera -> [9 numbers] (null for an unknown
 * camera), or null when there is no estimator or no intrinsics. */
mhrfit_value *mf_ingest_intrinsics_value(const mf_ingest_settings *s, mhrfit_error *err);

/* Builds the JSON record of a file identity {"path", "size", "mtime", "xxh64"}. */
mhrfit_value *mf_ingest_id_value(const char *rel, const mf_file_id *id, mhrfit_error *err);

/* A stage1_meta.json read for a long take (meta_text.c): the settings parsed into `head` (every
 * top-level member but "frames"), each frame's record kept as its text in the file (a slice of
 * `text`, parsed when needed), the frames sorted by name; of a name listed twice the later
 * record counts, as in a dict. Memory: the file's bytes and a few words per frame, where the
 * document tree would take about ten times the file. */
typedef struct mf_ingest_meta {
  char *text;        /* the file (owned) */
  size_t len;
  mhrfit_value *head;
  size_t n_frames;
  char **names;      /* n_frames, sorted by strcmp */
  const char **rec;  /* n_frames record texts (into text) */
  size_t *rec_len;
} mf_ingest_meta;

/* Scans the meta text[0..len-1] (taken over on success; left to the caller on failure) into `m`:
 * a JSON object whose "frames" member, when an object, gives the records. Errors:
 * MHRFIT_ERR_FORMAT (not valid UTF-8, not a JSON object, a malformed member; `name` names the
 * source), MHRFIT_ERR_NOMEM. A malformed record inside "frames" is found when it is parsed. */
bool mf_ingest_meta_scan(mf_ingest_meta *m, char *text, size_t len, const char *name, mhrfit_error *err);

/* Index of frame `frame` in m->names, or -1. */
long mf_ingest_meta_find(const mf_ingest_meta *m, const char *frame);

/* The record of `frame` parsed into a new DICT (the caller frees it), or NULL when the meta
 * (may be NULL) has none or it is not a JSON object. Safe from several threads at once. */
mhrfit_value *mf_ingest_meta_record(const mf_ingest_meta *m, const char *frame);

/* Frees what the meta holds and zeroes it. */
void mf_ingest_meta_free(mf_ingest_meta *m);

/* A frame record as the text it has in stage1_meta.json (JSON indented by one space per level,
 * two levels deep, no final line break). The caller frees it. Errors: MHRFIT_ERR_NOMEM. */
char *mf_ingest_record_text(const mhrfit_value *rec, mhrfit_error *err);

#endif
