/* Internal: an .npz archive written while its rows are made, without holding its arrays in
 * memory.
 *
 * A sequence of T frames has members whose leading axis is the frame (a (T, 70, 3) array of
 * keypoints): the writer takes their rows as the frames are made, in order, and keeps only a small
 * buffer per member; the rows go to a temporary file beside the archive (laid out member after
 * member, each member's bytes at a place known from its shape). Members whose contents are known
 * only at the end (strings as wide as the longest, values computed over every frame) are declared
 * in their place and given whole before closing. mf_npz_stream_close() then writes the archive
 * member by member from the temporary file, deciding and deflating each member as
 * mf_npz_save_ex() does (mf_npz_deflate_pays(), level 1, 8 KiB of input at a time), so the archive
 * is byte for byte the one mf_npz_save_ex() writes from the same arrays (io/zip.h's layout, which
 * is libzip's below 2 GiB), fsynced and renamed into place. Memory: the buffers, the members given
 * whole, and 64 KiB while closing; disk: the temporary file (the raw size of the rows members),
 * removed on close.
 *
 * Like mf_npz_writer, the first failure is recorded and turns every later call into a no-op, so a
 * sequence of calls needs one check at the end (mf_npz_stream_close()'s result). Not for
 * archives of 2 GiB or more (MF_ZIP_MAX_ARCHIVE): mf_npz_stream_open() refuses a declared size
 * that large, so the limit is known before any row is made. */
#ifndef MF_IO_NPZ_STREAM_H
#define MF_IO_NPZ_STREAM_H

#include <stdbool.h>
#include <stddef.h>

#include "mhrfit/array.h"
#include "mhrfit/error.h"

typedef struct mf_npz_stream mf_npz_stream;

/* A writer of the archive `path` (nothing is created before mf_npz_stream_begin()); `compress`:
 * members are deflated where it pays, as mf_npz_save_ex(). NULL when out of memory. */
mf_npz_stream *mf_npz_stream_new(const char *path, bool compress, mhrfit_error *err);

/* Declares the next member (members are written in the order declared): an array of `dtype`
 * (`itemsize` bytes per element; strings: the width in bytes) and `shape` (ndim axes, C order)
 * whose bytes come from mf_npz_stream_write() in order. Returns its index, -1 after a failure. */
int mf_npz_stream_add_rows(mf_npz_stream *s, const char *name, mhrfit_dtype dtype, size_t itemsize, int ndim,
                           const size_t *shape);

/* Declares the next member, whose array is given whole by mf_npz_stream_set() before closing
 * (also after mf_npz_stream_begin()). Returns its index, -1 after a failure. */
int mf_npz_stream_add_later(mf_npz_stream *s, const char *name);

/* Creates the temporary file for the rows, after the last declaration: fails (MHRFIT_ERR_LIMIT)
 * when the rows alone would make the archive 2 GiB or more. */
bool mf_npz_stream_begin(mf_npz_stream *s);

/* Appends `count` elements (element bytes in the host's order) to rows member `member`. Writing
 * past the member's size fails. */
void mf_npz_stream_write(mf_npz_stream *s, int member, const void *data, size_t count);

/* Gives member `member` (declared with mf_npz_stream_add_later()) its array; `a` is taken over
 * (freed by the writer, also on failure). */
void mf_npz_stream_set(mf_npz_stream *s, int member, mhrfit_array *a);

/* Writes the archive (every rows member must be complete and every later member set), fsyncs it,
 * renames it into place and removes the temporary file. Returns false with the first recorded
 * failure (the archive's path is then untouched). Does not free the writer. */
bool mf_npz_stream_close(mf_npz_stream *s, mhrfit_error *err);

/* Frees the writer, removing its temporary files when it was not closed. NULL is allowed. */
void mf_npz_stream_free(mf_npz_stream *s);

#endif
