/**
 * @file array.h
 * @brief N-dimensional arrays as read from and written to NumPy files.
 *
 * An mhrfit_array always holds its elements in **native byte order and C
 * (row-major) order**, whatever the file stored: readers convert on load,
 * writers write native little-endian C-order data. Strings are fixed-width:
 * `MHRFIT_DT_UNICODE` holds `itemsize/4` UTF-32 code points per element
 * (NumPy `<U n`), `MHRFIT_DT_BYTES` holds `itemsize` bytes (NumPy `|S n`);
 * both are NUL-padded.
 *
 * Ownership: an array owns its `data`; mhrfit_array_free() releases both.
 */
#ifndef MHRFIT_ARRAY_H
#define MHRFIT_ARRAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mhrfit/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Element types (the NumPy dtypes mhrfit reads and writes). */
typedef enum mhrfit_dtype {
  MHRFIT_DT_BOOL = 0, /**< `|b1`, one byte 0 or 1 */
  MHRFIT_DT_I8,       /**< `|i1` */
  MHRFIT_DT_U8,       /**< `|u1` */
  MHRFIT_DT_I16,      /**< `<i2` */
  MHRFIT_DT_U16,      /**< `<u2` */
  MHRFIT_DT_I32,      /**< `<i4` */
  MHRFIT_DT_U32,      /**< `<u4` */
  MHRFIT_DT_I64,      /**< `<i8` */
  MHRFIT_DT_U64,      /**< `<u8` */
  MHRFIT_DT_F16,      /**< `<f2`, IEEE half, stored as uint16_t bits */
  MHRFIT_DT_F32,      /**< `<f4` */
  MHRFIT_DT_F64,      /**< `<f8` */
  MHRFIT_DT_UNICODE,  /**< `<U n`: n UTF-32 code points (itemsize = 4n) */
  MHRFIT_DT_BYTES,    /**< `|S n`: n bytes (itemsize = n) */
  MHRFIT_DT_COUNT
} mhrfit_dtype;

/** Highest rank an array may have (NumPy's own limit is 32 too). */
#define MHRFIT_MAX_NDIM 32

/** An owned n-dimensional array in native byte order, C order. */
typedef struct mhrfit_array {
  mhrfit_dtype dtype;             /**< element type */
  size_t itemsize;                /**< bytes per element */
  int ndim;                       /**< rank, 0 for a scalar (count = 1) */
  size_t shape[MHRFIT_MAX_NDIM];  /**< extent of each axis; entries past ndim are 0 */
  size_t count;                   /**< number of elements = product of shape (1 when ndim = 0) */
  void *data;                     /**< count * itemsize bytes, owned; may be NULL when count is 0 */
} mhrfit_array;

/** Size in bytes of one element of a numeric/bool dtype; 0 for the string dtypes. */
size_t mhrfit_dtype_size(mhrfit_dtype dtype);

/** Short name ("float32", "int64", "<U", "|S", ...) for printing. Never NULL. */
const char *mhrfit_dtype_name(mhrfit_dtype dtype);

/** True for the integer, bool and float dtypes. */
bool mhrfit_dtype_is_numeric(mhrfit_dtype dtype);

/**
 * Allocates a zero-filled array of the given type and shape.
 * `itemsize` is used only for the string dtypes (bytes per element) and
 * ignored otherwise. Fails with MHRFIT_ERR_LIMIT when the byte size overflows
 * or exceeds `max_bytes` (0 = no limit), MHRFIT_ERR_NOMEM, MHRFIT_ERR_ARGUMENT.
 * The caller owns the result: free it with mhrfit_array_free().
 */
mhrfit_array *mhrfit_array_new(mhrfit_dtype dtype, size_t itemsize, int ndim, const size_t *shape,
                               size_t max_bytes, mhrfit_error *err);

/** Frees an array and its data. NULL is allowed. */
void mhrfit_array_free(mhrfit_array *a);

/** Deep copy; the caller owns the result. NULL on MHRFIT_ERR_NOMEM. */
mhrfit_array *mhrfit_array_clone(const mhrfit_array *a, mhrfit_error *err);

/**
 * Returns a new array with the same shape and elements converted to `dtype`
 * (one of the numeric dtypes). Conversions follow C casts: float → integer
 * truncates toward zero and fails with MHRFIT_ERR_NUMERIC when a value is
 * non-finite or out of range; integer → float may round. Fails with
 * MHRFIT_ERR_UNSUPPORTED for string arrays. The caller owns the result.
 */
mhrfit_array *mhrfit_array_convert(const mhrfit_array *a, mhrfit_dtype dtype, mhrfit_error *err);

/** Element `i` (flat C-order index, i < count) of a numeric array as a double. */
double mhrfit_array_get_f64(const mhrfit_array *a, size_t i);

/**
 * Copies string element `i` (i < count) of a UNICODE or BYTES array into
 * `out` as UTF-8 (BYTES are copied as they are), without the NUL padding,
 * NUL-terminated and cut to `out_size - 1` bytes. Returns false with
 * MHRFIT_ERR_FORMAT for a code point that is not valid Unicode, and
 * MHRFIT_ERR_ARGUMENT for a non-string array.
 */
bool mhrfit_array_get_string(const mhrfit_array *a, size_t i, char *out, size_t out_size,
                             mhrfit_error *err);

/** True when the shape equals `shape[0..ndim-1]`; a -1 entry matches any extent. */
bool mhrfit_array_has_shape(const mhrfit_array *a, int ndim, const long *shape);

/** Converts IEEE half bits to float. */
float mhrfit_half_to_float(uint16_t h);

/** Converts a float to IEEE half bits (round to nearest even; overflow → inf). */
uint16_t mhrfit_float_to_half(float f);

#ifdef __cplusplus
}
#endif
#endif
