/* Internal allocation helpers with overflow checks. Not part of the public API. */
#ifndef MF_COMMON_MEM_H
#define MF_COMMON_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mhrfit/error.h"

/* a*b into *out; false on size_t overflow. */
static inline bool mf_mul_size(size_t a, size_t b, size_t *out) {
  if (a != 0 && b > SIZE_MAX / a) return false;
  *out = a * b;
  return true;
}

/* a+b into *out; false on size_t overflow. */
static inline bool mf_add_size(size_t a, size_t b, size_t *out) {
  if (b > SIZE_MAX - a) return false;
  *out = a + b;
  return true;
}

/* malloc of n*size bytes (at least 1) with overflow check; fills err on failure. */
void *mf_malloc_array(size_t n, size_t size, mhrfit_error *err);
/* calloc of n*size bytes (at least 1) with overflow check; fills err on failure. */
void *mf_calloc_array(size_t n, size_t size, mhrfit_error *err);
/* Grows *buf (capacity *cap elements of `size` bytes) to hold at least `need` elements. */
bool mf_grow(void **buf, size_t *cap, size_t need, size_t size, mhrfit_error *err);
/* strdup that reports MHRFIT_ERR_NOMEM. */
char *mf_strdup(const char *s, mhrfit_error *err);
/* Copy of s[0..n-1] plus NUL; reports MHRFIT_ERR_NOMEM. */
char *mf_strndup(const char *s, size_t n, mhrfit_error *err);
/* A new string formatted like printf; reports MHRFIT_ERR_NOMEM (MHRFIT_ERR_ARGUMENT for a format
 * the C library rejects). */
char *mf_strdup_printf(mhrfit_error *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif
