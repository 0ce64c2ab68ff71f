/**
 * @file datafile.h
 * @brief Any data file mhrfit reads, by its content: `.npy`, `.npz`, pickle, JSON, TOML.
 *
 * What `mhrfit inspect` shows. The format comes from the file's first bytes
 * where they are a signature (ZIP `PK\x03\x04` / `PK\x05\x06` → `.npz`,
 * `\x93NUMPY` → `.npy`, pickle protocol 2-5 `\x80\x02`…`\x80\x05` → a raw
 * pickle), whatever the extension; otherwise from the extension (`.json`,
 * `.toml`), and for other extensions from the first non-blank character
 * (`{` or `[` → JSON, else TOML). A file is never read as a format its name
 * and content both deny: a 0-byte file fails ("empty file"), and a `.npz`,
 * `.npy`, `.pkl` or `.pickle` without one of the binary signatures fails
 * instead of being read as text.
 *
 * Values are found by a key path as `mhrfit inspect` lists them: dict keys
 * joined with `.`, list items as `[i]` (`cam_01.matrix`, `persons[0].bbox`).
 */
#ifndef MHRFIT_DATAFILE_H
#define MHRFIT_DATAFILE_H

#include <stddef.h>

#include "mhrfit/error.h"
#include "mhrfit/value.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The formats mhrfit_datafile_load() tells apart. */
typedef enum mhrfit_datafile_format {
  MHRFIT_DATAFILE_NPY = 0, /**< NumPy `.npy` (a plain array, or an object array read as a pickle) */
  MHRFIT_DATAFILE_NPZ,     /**< NumPy `.npz` archive */
  MHRFIT_DATAFILE_PICKLE,  /**< a raw pickle (protocol 2 to 5) */
  MHRFIT_DATAFILE_JSON,    /**< JSON text */
  MHRFIT_DATAFILE_TOML     /**< TOML text */
} mhrfit_datafile_format;

/** Short name of a format ("npy", "npz", "pickle", "json", "toml"). Never NULL. */
const char *mhrfit_datafile_format_name(mhrfit_datafile_format f);

/** How to read a data file. Zero-initialised = defaults. */
typedef struct mhrfit_datafile_options {
  /** Most bytes the file may hold or inflate to (mhrfit_npy_limits::max_total_bytes; for a
   *  pickle, the largest array it may build); 0 = MHRFIT_NPY_INPUT_MAX_TOTAL (256 MiB). */
  size_t max_total_bytes;
  /** Key paths wanted (NULL = all): the members of an `.npz` that no key path starts with are
   *  neither inflated nor parsed. Other formats are read whole. */
  const char *const *keys;
  size_t n_keys; /**< entries of `keys` */
} mhrfit_datafile_options;

/**
 * Reads the data file `path` by its content (see the file comment) into a
 * value tree; its format in `*format` when `format` is not NULL. `opts` may
 * be NULL. Errors: MHRFIT_ERR_IO (missing, unreadable, or not a regular
 * file: a FIFO or device is refused without blocking), MHRFIT_ERR_FORMAT
 * (an empty file, a binary extension without a binary signature, or the
 * format's own errors), MHRFIT_ERR_LIMIT (max_total_bytes). Caller owns the
 * result.
 */
mhrfit_value *mhrfit_datafile_load(const char *path, const mhrfit_datafile_options *opts,
                                   mhrfit_datafile_format *format, mhrfit_error *err);

/**
 * The value at key path `key` inside `root` (see the file comment), or NULL.
 * At each dict level the longest key that matches the path up to a `.`, a
 * `[` or its end is taken, so keys holding dots (`pose.npy`) are found too.
 */
const mhrfit_value *mhrfit_datafile_find(const mhrfit_value *root, const char *key);

#ifdef __cplusplus
}
#endif
#endif
