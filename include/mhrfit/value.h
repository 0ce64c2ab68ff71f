/**
 * @file value.h
 * @brief A small owned document tree shared by every structured reader.
 *
 * The pickle reader (dicts/lists saved with `np.save(..., allow_pickle=True)`),
 * the TOML reader, the JSON reader and `.npz` archives all produce an
 * mhrfit_value tree, so that inspection, calibration loading and stage-1
 * parsing walk one kind of data. Dict keys are UTF-8 strings kept in
 * insertion order; non-string keys from pickles are turned into their
 * decimal/`repr`-like text by the reader that made them.
 *
 * Ownership: a value owns its children, strings and arrays; freeing the
 * root with mhrfit_value_free() frees the whole tree. Functions that "take"
 * a value take ownership of it even when they fail.
 */
#ifndef MHRFIT_VALUE_H
#define MHRFIT_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mhrfit/array.h"
#include "mhrfit/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What a value holds. */
typedef enum mhrfit_value_kind {
  MHRFIT_V_NULL = 0, /**< None / null */
  MHRFIT_V_BOOL,     /**< u.boolean */
  MHRFIT_V_INT,      /**< u.integer (64-bit signed; larger pickle ints are rejected by readers) */
  MHRFIT_V_FLOAT,    /**< u.number */
  MHRFIT_V_STRING,   /**< u.str: UTF-8, NUL-terminated, `len` bytes without the NUL */
  MHRFIT_V_BYTES,    /**< u.str: raw bytes (pickle `bytes`), NUL-terminated for convenience */
  MHRFIT_V_DATETIME, /**< u.str: a TOML date/time kept verbatim as text (e.g. "2023-03-31T09:56:43.193358") */
  MHRFIT_V_LIST,     /**< u.list: ordered children (pickle list/tuple, TOML/JSON array) */
  MHRFIT_V_DICT,     /**< u.dict: string keys in insertion order (pickle dict, TOML table, JSON object, npz) */
  MHRFIT_V_ARRAY     /**< u.array: an owned NumPy array */
} mhrfit_value_kind;

typedef struct mhrfit_value mhrfit_value;

/** One node of a document tree. Read the union member that matches `kind`. */
struct mhrfit_value {
  mhrfit_value_kind kind; /**< what the node holds */
  int line;               /**< 1-based source line for text formats (TOML, JSON), 0 when unknown */
  union {
    bool boolean;         /**< MHRFIT_V_BOOL */
    int64_t integer;      /**< MHRFIT_V_INT */
    double number;        /**< MHRFIT_V_FLOAT */
    struct {
      char *data;         /**< NUL-terminated */
      size_t len;         /**< bytes, without the terminating NUL */
    } str;                /**< MHRFIT_V_STRING, MHRFIT_V_BYTES, MHRFIT_V_DATETIME */
    struct {
      mhrfit_value **items; /**< `count` owned children */
      size_t count, cap;
    } list;               /**< MHRFIT_V_LIST */
    struct {
      char **keys;          /**< `count` owned NUL-terminated keys */
      mhrfit_value **vals;  /**< `count` owned values, vals[i] belongs to keys[i] */
      size_t count, cap;
    } dict;               /**< MHRFIT_V_DICT */
    mhrfit_array *array;  /**< MHRFIT_V_ARRAY, owned */
  } u;
};

/** @name Create and destroy
 * Constructors return NULL on MHRFIT_ERR_NOMEM (and fill `err`). The caller owns the result.
 * @{ */
/** A NULL (None) value. */
mhrfit_value *mhrfit_value_new_null(mhrfit_error *err);
/** A BOOL value. */
mhrfit_value *mhrfit_value_new_bool(bool b, mhrfit_error *err);
/** An INT value. */
mhrfit_value *mhrfit_value_new_int(int64_t i, mhrfit_error *err);
/** A FLOAT value (NaN and infinities allowed). */
mhrfit_value *mhrfit_value_new_float(double f, mhrfit_error *err);
/** Copies `len` bytes of `s` (kind STRING, BYTES or DATETIME). STRING content must be valid
 * UTF-8 (MHRFIT_ERR_FORMAT otherwise). */
mhrfit_value *mhrfit_value_new_string(mhrfit_value_kind kind, const char *s, size_t len, mhrfit_error *err);
/** An empty LIST. */
mhrfit_value *mhrfit_value_new_list(mhrfit_error *err);
/** An empty DICT. */
mhrfit_value *mhrfit_value_new_dict(mhrfit_error *err);
/** Wraps `array`, taking ownership of it (freed on failure too). */
mhrfit_value *mhrfit_value_new_array(mhrfit_array *array, mhrfit_error *err);
/** Frees a value and everything it owns. NULL is allowed. */
void mhrfit_value_free(mhrfit_value *v);
/** Deep copy. The caller owns the result. */
mhrfit_value *mhrfit_value_clone(const mhrfit_value *v, mhrfit_error *err);
/** @} */

/** @name Build
 * @{ */
/** Appends `item` to a LIST, taking ownership of `item` (freed on failure). */
bool mhrfit_value_list_append(mhrfit_value *list, mhrfit_value *item, mhrfit_error *err);
/**
 * Sets `key` in a DICT to `val`, taking ownership of `val` (freed on failure).
 * An existing key is replaced in place (its position is kept), like Python.
 */
bool mhrfit_value_dict_set(mhrfit_value *dict, const char *key, mhrfit_value *val, mhrfit_error *err);
/** @} */

/** @name Query
 * @{ */
/** The value of `key` in a DICT, or NULL when absent or when `dict` is not a DICT. Borrowed. */
const mhrfit_value *mhrfit_value_dict_get(const mhrfit_value *dict, const char *key);
/** Mutable variant of mhrfit_value_dict_get(). */
mhrfit_value *mhrfit_value_dict_get_mut(mhrfit_value *dict, const char *key);
/** True for INT, FLOAT and BOOL values and for ARRAY values with exactly one numeric element. */
bool mhrfit_value_is_number(const mhrfit_value *v);
/** The number held by a value for which mhrfit_value_is_number() is true, else NaN. */
double mhrfit_value_as_double(const mhrfit_value *v);
/** Name of a kind ("dict", "list", "array", ...). Never NULL. */
const char *mhrfit_value_kind_name(mhrfit_value_kind kind);
/** @} */

/** @name Print
 * @{ */
/**
 * Writes `v` as JSON to `out`: dicts as objects, lists as arrays, arrays as
 * nested lists (strings as JSON strings, bools as true/false), floats with
 * the shortest text that reads back to the same double (`%.17g` at most),
 * NaN and ±Inf as `null`, DATETIME as a string, BYTES as a string with
 * non-printable bytes escaped as \\u00XX. `indent` < 0 writes one line;
 * otherwise nested levels are indented by `indent` spaces.
 * Returns false with MHRFIT_ERR_IO when writing fails (the message says why,
 * e.g. "No space left on device", and sys_errno holds the errno); nothing more
 * is written after the first failed write.
 */
bool mhrfit_value_write_json(const mhrfit_value *v, FILE *out, int indent, mhrfit_error *err);
/** Writes one finite double as the shortest round-trip decimal text (JSON-compatible) into
 * buf (at least 32 bytes). Non-finite values are written as "null". */
void mhrfit_format_double(double x, char *buf, size_t size);
/** @} */

#ifdef __cplusplus
}
#endif
#endif
