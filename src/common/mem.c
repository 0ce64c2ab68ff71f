/* Allocation helpers with overflow checks. */
#include "common/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *mf_malloc_array(size_t n, size_t size, mhrfit_error *err) {
  size_t bytes;
  if (!mf_mul_size(n, size, &bytes)) {
    MHRFIT_FAIL(err, MHRFIT_ERR_LIMIT, "allocation of %zu x %zu bytes overflows", n, size);
    return NULL;
  }
  void *p = malloc(bytes ? bytes : 1);
  if (!p) MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory allocating %zu bytes", bytes);
  return p;
}

void *mf_calloc_array(size_t n, size_t size, mhrfit_error *err) {
  size_t bytes;
  if (!mf_mul_size(n, size, &bytes)) {
    MHRFIT_FAIL(err, MHRFIT_ERR_LIMIT, "allocation of %zu x %zu bytes overflows", n, size);
    return NULL;
  }
  void *p = calloc(bytes ? bytes : 1, 1);
  if (!p) MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory allocating %zu bytes", bytes);
  return p;
}

bool mf_grow(void **buf, size_t *cap, size_t need, size_t size, mhrfit_error *err) {
  if (need <= *cap) return true;
  size_t ncap = *cap ? *cap : 8;
  while (ncap < need) {
    if (ncap > SIZE_MAX / 2) { ncap = need; break; }
    ncap *= 2;
  }
  size_t bytes;
  if (!mf_mul_size(ncap, size, &bytes))
    return MHRFIT_FAIL(err, MHRFIT_ERR_LIMIT, "buffer of %zu x %zu bytes overflows", ncap, size);
  void *p = realloc(*buf, bytes);
  if (!p) return MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory growing a buffer to %zu bytes", bytes);
  *buf = p;
  *cap = ncap;
  return true;
}

char *mf_strndup(const char *s, size_t n, mhrfit_error *err) {
  char *p = mf_malloc_array(n + 1, 1, err);
  if (!p) return NULL;
  if (n) memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

char *mf_strdup(const char *s, mhrfit_error *err) { return mf_strndup(s, strlen(s), err); }

char *mf_strdup_printf(mhrfit_error *err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "bad format");
    return NULL;
  }
  char *s = mf_malloc_array((size_t)n + 1, 1, err);
  if (!s) return NULL;
  va_start(ap, fmt);
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return s;
}
