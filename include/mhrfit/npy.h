/**
 * @file npy.h
 * @brief NumPy `.npy` and `.npz` files: read and write.
 *
 * Reading accepts format versions 1.0, 2.0 and 3.0, both byte orders,
 * `fortran_order` True and False, every numeric dtype NumPy writes (bool,
 * int8..int64, uint8..uint64, float16/32/64) and fixed-width strings
 * (`<U n`, `|S n`). Arrays come back in native byte order and C order
 * (see array.h). An object array (`|O`, written with `allow_pickle=True`)
 * is handed to the safe pickle reader (pickle.h), so that a `.npy` holding a
 * pickled dict, list of dicts or 0-d object array reads as an mhrfit_value.
 *
 * `.npz` archives (ZIP, stored or deflate, ZIP64) up to 4 MiB are read into
 * memory with one read and parsed there: the ZIP subset NumPy and mhrfit
 * write by a small reader on zlib, anything else (ZIP64 records, other
 * methods, unusual names or layouts) by libzip; larger files are streamed
 * member by member with libzip. CRCs are always checked. The result is a
 * DICT value whose keys are member names without `.npy`, in archive order.
 *
 * Writers produce version 1.0 headers (2.0 when the header needs it),
 * little-endian, C order, and write atomically (temporary file + rename), so
 * an interrupted write never leaves a truncated file under the final name.
 * `.npz` archives of up to 4 MiB of members are built in memory and written
 * with one writev (layout in src/io/zip.h: the bytes libzip 1.7 writes for
 * the same input); larger ones, or ones with names outside printable ASCII,
 * are written by libzip, with the same bytes. The public save functions fsync
 * the file before the rename (a final output survives a power cut once they
 * return).
 */
#ifndef MHRFIT_NPY_H
#define MHRFIT_NPY_H

#include <stdbool.h>
#include <stddef.h>

#include "mhrfit/array.h"
#include "mhrfit/error.h"
#include "mhrfit/value.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Limits applied while reading untrusted files. Zero fields take the defaults.
 *
 * `max_total_bytes` bounds what one file may expand to in memory: for an
 * `.npz`, the sum of the uncompressed sizes of the members that are read
 * (skipped members do not count); for a `.npy`, its size. An `.npz` is
 * checked from its central directory before any member is inflated, and
 * inflation never writes past a member's recorded size (more data is a
 * corrupt member), so a small archive of highly compressed members (1 MB
 * expanding to 1 GiB) is refused up front instead of filling the memory. A
 * deflated member claiming more than 1032 times its compressed size (more
 * than deflate can encode) is refused as corrupt.
 */
typedef struct mhrfit_npy_limits {
  size_t max_array_bytes; /**< largest array payload (default 4 GiB) */
  size_t max_header_bytes;/**< largest `.npy` header (default 1 MiB) */
  size_t max_members;     /**< most members in an `.npz` (default 65536) */
  int max_depth;          /**< deepest pickle nesting (default 64) */
  const char *const *skip_members; /**< `.npz`: NULL-terminated names (without `.npy`) of members not
                                        to read at all (neither inflated nor parsed); NULL: none */
  size_t max_total_bytes; /**< most bytes one file may inflate to (default MHRFIT_NPY_DEFAULT_MAX_TOTAL) */
  const char *const *only_members; /**< `.npz`: NULL-terminated names (without `.npy`) of the only
                                        members to read; the others are neither inflated nor parsed
                                        (nor counted); NULL: every member not skipped */
} mhrfit_npy_limits;

/** Default of mhrfit_npy_limits::max_total_bytes: 4 GiB (rig files and long sequences are large). */
#define MHRFIT_NPY_DEFAULT_MAX_TOTAL ((size_t)4 << 30)

/**
 * The limit on what one per-view input file (a SAM 3D Body output, a stage-1
 * file) may inflate to, as `mhrfit ingest`, `mhrfit triangulate`, `mhrfit fit`
 * and `mhrfit inspect` apply it by default: 256 MiB. A real SAM 3D Body output
 * is about 0.5 MB (1 MB with a person mask); `--max_inflated_mib` raises it.
 */
#define MHRFIT_NPY_INPUT_MAX_TOTAL ((size_t)256 << 20)

/**
 * Parses an in-memory `.npy` image (`data[0..len-1]`) into a value: an ARRAY
 * value for a plain array, or the unpickled tree for an object array.
 * `name` is used in messages only (may be NULL). `limits` may be NULL.
 * Errors: MHRFIT_ERR_FORMAT (bad magic, truncated data, header that lies),
 * MHRFIT_ERR_UNSUPPORTED (structured dtypes, unknown pickle globals),
 * MHRFIT_ERR_LIMIT, MHRFIT_ERR_NOMEM. The caller owns the result.
 */
mhrfit_value *mhrfit_npy_parse(const void *data, size_t len, const char *name,
                               const mhrfit_npy_limits *limits, mhrfit_error *err);

/** Reads a `.npy` file; like mhrfit_npy_parse(). Messages name `path`. Caller owns the result. */
mhrfit_value *mhrfit_npy_load(const char *path, const mhrfit_npy_limits *limits, mhrfit_error *err);

/**
 * Reads a `.npy` file that must hold a plain (non-object) array.
 * Fails with MHRFIT_ERR_FORMAT when it holds a pickle. Caller owns the result.
 */
mhrfit_array *mhrfit_npy_load_array(const char *path, const mhrfit_npy_limits *limits, mhrfit_error *err);

/**
 * Parses an in-memory `.npz` archive into a DICT value (member name without
 * `.npy` → value as from mhrfit_npy_parse()). Caller owns the result.
 */
mhrfit_value *mhrfit_npz_parse(const void *data, size_t len, const char *name,
                               const mhrfit_npy_limits *limits, mhrfit_error *err);

/** Reads a `.npz` file into a DICT value. Messages name `path` and the member. Caller owns it. */
mhrfit_value *mhrfit_npz_load(const char *path, const mhrfit_npy_limits *limits, mhrfit_error *err);

/**
 * Reads any NumPy file by content (`.npz` ZIP magic or `.npy` magic),
 * whatever its extension. A file that is neither fails with
 * MHRFIT_ERR_FORMAT ("empty file" for 0 bytes). Caller owns the result.
 */
mhrfit_value *mhrfit_numpy_load(const char *path, const mhrfit_npy_limits *limits, mhrfit_error *err);

/**
 * Parses an in-memory NumPy file by content, like mhrfit_numpy_load():
 * `data` starting with "PK" is parsed as `.npz`, with the `.npy` magic as
 * `.npy`; anything else fails with MHRFIT_ERR_FORMAT ("neither a .npy nor a
 * .npz file"). `name` is used in messages (may be NULL). Caller owns the result.
 */
mhrfit_value *mhrfit_numpy_parse(const void *data, size_t len, const char *name, const mhrfit_npy_limits *limits,
                                 mhrfit_error *err);

/**
 * Serialises `a` as a `.npy` image into a new malloc'd buffer (`*out`,
 * `*out_len`); the caller frees `*out`.
 */
bool mhrfit_npy_serialize(const mhrfit_array *a, void **out, size_t *out_len, mhrfit_error *err);

/** Members smaller than this many bytes are stored, not deflated (mhrfit_npz_save()). */
#define MHRFIT_NPZ_DEFLATE_MIN_BYTES 4096
/** Bytes of a member compressed to decide whether deflating it pays (mhrfit_npz_save()). */
#define MHRFIT_NPZ_DEFLATE_PROBE_BYTES 65536
/** Largest compressed/raw ratio of the probe for which a member is deflated (mhrfit_npz_save()). */
#define MHRFIT_NPZ_DEFLATE_MAX_RATIO 0.9

/** Writes `a` to `path` as `.npy`, atomically. */
bool mhrfit_npy_save(const char *path, const mhrfit_array *a, mhrfit_error *err);

/**
 * Writes a `.npz` archive atomically from `names[i]` → `arrays[i]`
 * (`n` members; names without `.npy`). `compress` deflates (zlib level 1,
 * the fastest) the members where it pays, and stores the others:
 * - members under MHRFIT_NPZ_DEFLATE_MIN_BYTES as serialised are stored
 *   (deflating a few hundred bytes saves little and costs a compressor
 *   set-up of ~256 KiB each, which made archives of many small members, a
 *   frame's fit, ten times slower to write);
 * - larger members are deflated when three windows (start, middle, end) of
 *   MHRFIT_NPZ_DEFLATE_PROBE_BYTES in all shrink to MHRFIT_NPZ_DEFLATE_MAX_RATIO or
 *   less: float geometry (vertices, keypoints) shrinks by 7-9 % only, zeros,
 *   NaN-padded histories and strings by 90 % and more. On a 1,000-frame
 *   fitted sequence (`sequence_fit.npz`) this gives 15.5 MB instead of
 *   14.7 MB, written in about half the time.
 * The decision depends only on the bytes, so equal arrays give equal files.
 * Readers (NumPy included) take both methods in one archive.
 * Members carry a fixed 1980-01-01 timestamp, so equal arrays give equal
 * bytes. Duplicate names fail with MHRFIT_ERR_ARGUMENT. The file is fsynced
 * before it is renamed into place.
 */
bool mhrfit_npz_save(const char *path, size_t n, const char *const *names,
                     const mhrfit_array *const *arrays, bool compress, mhrfit_error *err);

/**
 * Writes every ARRAY member of a DICT value to `path` as `.npz` (other
 * kinds fail with MHRFIT_ERR_ARGUMENT naming the key).
 */
bool mhrfit_npz_save_dict(const char *path, const mhrfit_value *dict, bool compress, mhrfit_error *err);

#ifdef __cplusplus
}
#endif
#endif
