/* Internal: NumPy file I/O entry points with the knobs the pipeline needs (durability flags,
 * file identities, the in-memory threshold, per-camera files). Not part of the public API. */
#ifndef MF_IO_NUMPY_IO_H
#define MF_IO_NUMPY_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "mhrfit/npy.h"

/* Archives up to this size are handled in memory: read with one read() and parsed there, or
 * built there and written with one writev(). Larger ones (sequence files, rigs) go through
 * libzip member by member, as before: for them the page faults of a second copy of the whole
 * archive cost more than libzip's per-member calls save (a 15 MB sequence_fit.npz was written
 * in 0.69 s instead of 0.54 s). Per-frame files are 10-300 KB. */
#define MF_NPZ_MEMORY_MAX ((size_t)4 << 20)

/* What a save wrote: the file's status after the write (size, mtime) and the xxHash64 of its
 * bytes, computed from memory (no read-back). */
typedef struct mf_saved_file {
  struct stat st;
  uint64_t xxh64;
} mf_saved_file;

/* mhrfit_npz_save() with `flags` (MF_WRITE_SYNC from common/file.h or 0) and, when `saved` is
 * not NULL, what was written. */
bool mf_npz_save_ex(const char *path, size_t n, const char *const *names, const mhrfit_array *const *arrays,
                    bool compress, unsigned flags, mf_saved_file *saved, mhrfit_error *err);

/* mhrfit_npz_save_dict() with flags and identity as mf_npz_save_ex(). */
bool mf_npz_save_dict_ex(const char *path, const mhrfit_value *dict, bool compress, unsigned flags,
                         mf_saved_file *saved, mhrfit_error *err);

/* Whether deflating an archive member of `len` bytes pays (the rule of mhrfit_npz_save()): at
 * least MHRFIT_NPZ_DEFLATE_MIN_BYTES, and three windows of MHRFIT_NPZ_DEFLATE_PROBE_BYTES / 3
 * bytes in all (at offsets 0, (len - w) / 2 and len - w, so that a padded start such as NaN rows
 * of failed frames does not decide for the whole member; one window of the whole member when it
 * is at most MHRFIT_NPZ_DEFLATE_PROBE_BYTES) shrink to at most MHRFIT_NPZ_DEFLATE_MAX_RATIO of
 * their size at level 1 (float geometry barely compresses; zeros, NaN padding and strings do).
 * `window(ctx, off, n)` gives the n bytes of the member at `off` (valid until its next call), or
 * NULL; a probe that cannot run (no bytes, no memory) just deflates. */
bool mf_npz_deflate_pays(size_t len, const void *(*window)(void *ctx, size_t off, size_t n), void *ctx);

/* mhrfit_npz_load() with another in-memory threshold (tests reach the streaming path with it). */
mhrfit_value *mf_npz_load_ex(const char *path, const mhrfit_npy_limits *limits, size_t memory_max,
                             mhrfit_error *err);

/* Reads the per-camera file <dir>/<cam>.npz, else <dir>/<cam>.npy (regular files only, exact
 * names, as mf_camera_file()), by content (mhrfit_numpy_load()), with one open each tried.
 * `limits` may be NULL; a zero max_total_bytes is MHRFIT_NPY_INPUT_MAX_TOTAL (a per-view input).
 * A FIFO, socket or device of either name fails (MHRFIT_ERR_IO naming it); a folder is absent.
 * Returns the value and its path (*path_out, malloc'd; the caller frees both). When neither
 * file exists returns NULL with *path_out NULL and err untouched; on any other failure NULL with
 * err filled and *path_out set when the file was found. */
mhrfit_value *mf_numpy_load_camera(const char *dir, const char *cam, const mhrfit_npy_limits *limits,
                                   char **path_out, mhrfit_error *err);

#endif
