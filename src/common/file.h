/* Internal file helpers: whole-file reads with a size limit, atomic writes. */
#ifndef MF_COMMON_FILE_H
#define MF_COMMON_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>

#include "mhrfit/error.h"

/* What kind of file `mode` (st_mode) is: "a regular file", "a folder", "a named pipe (FIFO)",
 * "a socket", "a character device", "a block device" or "a special file". */
const char *mf_file_type_name(mode_t mode);

/* Opens `path` for reading when it is a regular file and returns the descriptor (its status in
 * *st when st is not NULL). The open does not block (O_NONBLOCK, cleared again afterwards), so a
 * FIFO without a writer cannot hang it; anything but a regular file (a folder, a FIFO, a socket,
 * a device) is refused with MHRFIT_ERR_IO naming path and what it is. Returns -1 on failure
 * (err filled, sys_errno set where a system call failed); with MF_READ_ABSENT_OK in flags, a
 * missing path or a folder returns -2 with err untouched. */
int mf_open_regular(const char *path, unsigned flags, struct stat *st, mhrfit_error *err);

/* Reads from fd until `cap` bytes are in buf or the file ends (*got of them; retried after
 * EINTR). False, errno set, when a read fails. */
bool mf_read_full(int fd, void *buf, size_t cap, size_t *got);

/* Reads up to `cap` leading bytes of the regular file `path` into buf (*n of them: fewer only
 * for a shorter file), through mf_open_regular(). */
bool mf_read_head(const char *path, void *buf, size_t cap, size_t *n, mhrfit_error *err);

/* Reads the whole file into a malloc'd buffer (NUL-terminated for convenience, the NUL not
 * counted in *len). Fails with MHRFIT_ERR_IO (naming path; also for anything but a regular
 * file, see mf_open_regular()) or MHRFIT_ERR_LIMIT when the file is larger than max_bytes (0 = no
 * limit). The caller frees *data. One open, fstat, read (a loop only for short reads) and close. */
bool mf_read_file(const char *path, size_t max_bytes, unsigned char **data, size_t *len, mhrfit_error *err);

/* Outcome of mf_read_file_opt(). */
typedef enum { MF_READ_OK = 0, MF_READ_ABSENT, MF_READ_TOO_LARGE, MF_READ_FAILED } mf_read_status;

/* Flags of mf_read_file_opt(). */
enum {
  MF_READ_ABSENT_OK = 1u, /* a missing path or a folder: MF_READ_ABSENT (a FIFO, socket or device
                             still fails: it is there, but cannot be read as a file) */
  MF_READ_LARGE_OK = 2u   /* a file over max_bytes: MF_READ_TOO_LARGE (its status in *st) */
};

/* Like mf_read_file(), and also returns the file's status (size, mtime) in *st when st is not
 * NULL. The outcomes that `flags` allow come back with err untouched; every other failure is
 * MF_READ_FAILED with err filled (MHRFIT_ERR_IO naming path, MHRFIT_ERR_LIMIT). */
mf_read_status mf_read_file_opt(const char *path, size_t max_bytes, unsigned flags, unsigned char **data,
                                size_t *len, struct stat *st, mhrfit_error *err);

/* One byte range of a file to write (see mf_write_pieces_atomic()). */
typedef struct mf_piece {
  const void *data;
  size_t len;
} mf_piece;

/* Flags of mf_write_pieces_atomic(). */
enum {
  /* fsync the file before renaming it into place: for final outputs. Without it (per-frame
   * intermediates that are re-validated when a run resumes) the rename still makes the file
   * appear whole or not at all for every other process, but a power cut may lose it. */
  MF_WRITE_SYNC = 1u
};

/* Writes the concatenation of pieces[0..n-1] to `path` atomically: one new temporary file
 * beside it (created exclusively, mode 0644 less the umask), writev, optional fsync, close,
 * rename. `st` (may be NULL) receives the file's status after the write (size and mtime as the
 * final file has them). On failure the temporary file is removed and `path` is untouched. */
bool mf_write_pieces_atomic(const char *path, const mf_piece *pieces, size_t n, unsigned flags, struct stat *st,
                            mhrfit_error *err);

/* An output file written under a temporary name in the destination folder and renamed over the
 * final path on commit, so readers never see a partial file. */
typedef struct mf_atomic_file {
  FILE *f;        /* write here */
  char *path;     /* final path */
  char *tmp_path; /* temporary path */
  char *buf;      /* f's buffer (64 KiB: a few writes instead of one per 4 KiB) */
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
/* Writes data[0..len-1] to path atomically, fsynced (MF_WRITE_SYNC). */
bool mf_write_file_atomic(const char *path, const void *data, size_t len, mhrfit_error *err);

/* fsyncs an existing file (a final output written without MF_WRITE_SYNC). */
bool mf_sync_file(const char *path, mhrfit_error *err);

#endif

/* Removes the temporary files of this module's atomic writes ("<name>.tmp<pid>.<n>") that were
 * left by processes no longer running (a kill between create and rename), in `dir` and in its
 * sub-folders down to `depth` levels (symbolic links are not followed). Only for a folder whose
 * lock the caller holds (common/lock.h). Returns how many were removed. */
size_t mf_remove_stale_temps(const char *dir, int depth);
