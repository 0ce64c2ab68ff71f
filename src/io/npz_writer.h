/* Internal: build a .npz archive member by member from C buffers, then write it atomically.
 *
 * Every add function converts and copies its input at once, so callers may pass temporaries.
 * The first failure is recorded in the writer (its `err`) and turns every later call into a
 * no-op, so a sequence of adds needs one check at the end (mf_npz_writer_save's result). */
#ifndef MF_IO_NPZ_WRITER_H
#define MF_IO_NPZ_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mhrfit/array.h"
#include "mhrfit/error.h"
#include "mhrfit/value.h"

typedef struct mf_npz_writer {
  size_t n, cap;
  char **names;
  mhrfit_array **arrays;
  bool failed;
  mhrfit_error err; /* the first failure */
} mf_npz_writer;

/* A new zero-filled member `name` of the given dtype and shape (ndim 0 = scalar), owned by the
 * writer; fill its data. NULL after a failure. */
mhrfit_array *mf_npz_add(mf_npz_writer *w, const char *name, mhrfit_dtype dtype, int ndim, const size_t *shape);
/* float32 / float64 members from doubles (count = product of shape). */
void mf_npz_add_f32(mf_npz_writer *w, const char *name, const double *src, int ndim, const size_t *shape);
void mf_npz_add_f64(mf_npz_writer *w, const char *name, const double *src, int ndim, const size_t *shape);
/* int32 members and scalars. */
void mf_npz_add_i32(mf_npz_writer *w, const char *name, const int32_t *src, int ndim, const size_t *shape);
void mf_npz_add_scalar_f64(mf_npz_writer *w, const char *name, double v);
void mf_npz_add_scalar_i32(mf_npz_writer *w, const char *name, int32_t v);
/* A unicode (<U) scalar (ndim 0) or 1-D array of n UTF-8 strings. */
void mf_npz_add_strings(mf_npz_writer *w, const char *name, const char *const *s, size_t n, int ndim);
/* A 1-D `|S` array of n byte strings, as wide as the longest (at least 1 byte), NUL-padded. */
void mf_npz_add_bytes(mf_npz_writer *w, const char *name, const char *const *s, size_t n);
/* Writes the archive atomically (deflate when `compress`), not fsynced: the per-frame archives
 * of a run are re-validated when it resumes (a torn file is redone), and syncing each would cost
 * a disk flush per frame; a caller that needs the file durable calls mf_sync_file() after.
 * Returns false with the first recorded failure or the write error in *err. Does not free the
 * writer. */
bool mf_npz_writer_save(mf_npz_writer *w, const char *path, bool compress, mhrfit_error *err);
/* Moves the members into a new DICT value (name -> ARRAY, in order) and empties the writer
 * (freed as by mf_npz_writer_free, also on failure). Returns NULL with the first recorded
 * failure, or MHRFIT_ERR_NOMEM. */
mhrfit_value *mf_npz_writer_take_dict(mf_npz_writer *w, mhrfit_error *err);
/* Frees every member. */
void mf_npz_writer_free(mf_npz_writer *w);

#endif
