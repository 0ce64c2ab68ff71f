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

#endif
