/* Internal pieces of the NumPy readers shared by npy.c, npz.c and pickle.c. */
#ifndef MF_IO_NPY_INTERNAL_H
#define MF_IO_NPY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "mhrfit/npy.h"

/* A parsed NumPy type string such as "<f4", ">U12", "|S3", "|O". */
typedef struct mf_npy_dtype {
  mhrfit_dtype dtype; /* element type (unused when object) */
  size_t itemsize;    /* bytes per element */
  bool big_endian;    /* '>' */
  bool object;        /* 'O': Python objects (pickled) */
} mf_npy_dtype;

/* Parses a NumPy type string; false when unsupported (complex, datetime, void, ...). */
bool mf_npy_parse_descr(const char *descr, mf_npy_dtype *out);

/* Fills zero fields of `in` (may be NULL) with the defaults. */
void mf_npy_limits_resolve(const mhrfit_npy_limits *in, mhrfit_npy_limits *out);

/* Fills array `a` (shape and dtype set) from raw element storage `src` holding a->count
 * elements in Fortran or C order and big- or little-endian byte order; the result is C order,
 * native byte order. */
void mf_npy_fill(mhrfit_array *a, const unsigned char *src, bool fortran, bool big_endian);

/* Room for any header mf_npy_header() writes. */
#define MF_NPY_HEADER_MAX (128 + 24 * MHRFIT_MAX_NDIM)

/* Writes the .npy header (magic, version, the padded dict with descr, order and shape, so that
 * the data starts at a multiple of 64 bytes) of a C-order array of `dtype` (`itemsize` bytes per
 * element, used by strings) and `shape` (ndim axes) into hdr; returns its length. The header
 * mhrfit_npy_serialize() writes. */
size_t mf_npy_header(mhrfit_dtype dtype, size_t itemsize, int ndim, const size_t *shape,
                     unsigned char hdr[MF_NPY_HEADER_MAX]);

#endif
