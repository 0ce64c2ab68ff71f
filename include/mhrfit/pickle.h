/**
 * @file pickle.h
 * @brief A safe reader for the subset of Python pickles that NumPy writes.
 *
 * `np.save(path, obj, allow_pickle=True)` of a dict, a list of dicts or a
 * 0-d object array stores a pickle (protocols 2–5) after the `.npy` header.
 * This reader understands exactly the opcodes Python and NumPy use for
 * None, bools, ints, floats, str, bytes, tuples, lists, dicts and NumPy
 * arrays/scalars, i.e. the globals
 * `numpy.core.multiarray._reconstruct`, `numpy._core.multiarray._reconstruct`,
 * `numpy.ndarray`, `numpy.dtype`, `numpy.core.multiarray.scalar` /
 * `numpy._core.multiarray.scalar` and `_codecs.encode` (the latter only as
 * used for latin-1 bytes). It never imports or executes anything: any other
 * global fails with MHRFIT_ERR_UNSUPPORTED naming it.
 *
 * Results: dict → DICT (non-string keys written as text), list/tuple → LIST,
 * ndarray → ARRAY (object arrays → LIST of their elements, flattened in C
 * order, or their single element for a 0-d object array), NumPy scalar →
 * INT/FLOAT/BOOL.
 */
#ifndef MHRFIT_PICKLE_H
#define MHRFIT_PICKLE_H

#include <stddef.h>

#include "mhrfit/error.h"
#include "mhrfit/value.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Limits for untrusted pickles. Zero fields take the defaults. */
typedef struct mhrfit_pickle_limits {
  int max_depth;          /**< deepest container nesting (default 64) */
  size_t max_array_bytes; /**< largest array payload (default 4 GiB) */
  size_t max_items;       /**< most values on the stack, memo and containers combined, and most values in the result after expanding shared references (default 1M) */
} mhrfit_pickle_limits;

/**
 * Unpickles `data[0..len-1]`. `name` is used in messages (may be NULL),
 * `limits` may be NULL. Errors: MHRFIT_ERR_FORMAT (truncated or malformed
 * stream, with the byte offset), MHRFIT_ERR_UNSUPPORTED (opcode or global
 * outside the subset, named), MHRFIT_ERR_LIMIT, MHRFIT_ERR_NOMEM.
 * The caller owns the result.
 */
mhrfit_value *mhrfit_pickle_parse(const void *data, size_t len, const char *name,
                                  const mhrfit_pickle_limits *limits, mhrfit_error *err);

/** Reads a raw pickle file (as written by `pickle.dump`) like mhrfit_pickle_parse(). Messages
 * name `path`. The caller owns the result. */
mhrfit_value *mhrfit_pickle_load(const char *path, const mhrfit_pickle_limits *limits, mhrfit_error *err);

#ifdef __cplusplus
}
#endif
#endif
