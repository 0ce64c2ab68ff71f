/* N-dimensional arrays: see include/mhrfit/array.h. */
#include "mhrfit/array.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "common/utf8.h"

static const struct {
  size_t size;
  const char *name;
} dtype_info[MHRFIT_DT_COUNT] = {
    [MHRFIT_DT_BOOL] = {1, "bool"},       [MHRFIT_DT_I8] = {1, "int8"},
    [MHRFIT_DT_U8] = {1, "uint8"},        [MHRFIT_DT_I16] = {2, "int16"},
    [MHRFIT_DT_U16] = {2, "uint16"},      [MHRFIT_DT_I32] = {4, "int32"},
    [MHRFIT_DT_U32] = {4, "uint32"},      [MHRFIT_DT_I64] = {8, "int64"},
    [MHRFIT_DT_U64] = {8, "uint64"},      [MHRFIT_DT_F16] = {2, "float16"},
    [MHRFIT_DT_F32] = {4, "float32"},     [MHRFIT_DT_F64] = {8, "float64"},
    [MHRFIT_DT_UNICODE] = {0, "unicode"}, [MHRFIT_DT_BYTES] = {0, "bytes"},
};

size_t mhrfit_dtype_size(mhrfit_dtype dtype) {
  return (unsigned)dtype < MHRFIT_DT_COUNT ? dtype_info[dtype].size : 0;
}

const char *mhrfit_dtype_name(mhrfit_dtype dtype) {
  return (unsigned)dtype < MHRFIT_DT_COUNT ? dtype_info[dtype].name : "invalid";
}

bool mhrfit_dtype_is_numeric(mhrfit_dtype dtype) {
  return (unsigned)dtype < MHRFIT_DT_COUNT && dtype != MHRFIT_DT_UNICODE && dtype != MHRFIT_DT_BYTES;
}

mhrfit_array *mhrfit_array_new(mhrfit_dtype dtype, size_t itemsize, int ndim, const size_t *shape,
                               size_t max_bytes, mhrfit_error *err) {
  if ((unsigned)dtype >= MHRFIT_DT_COUNT) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "invalid dtype %d", (int)dtype);
    return NULL;
  }
  if (ndim < 0 || ndim > MHRFIT_MAX_NDIM) {
    MHRFIT_FAIL(err, MHRFIT_ERR_LIMIT, "array rank %d outside 0..%d", ndim, MHRFIT_MAX_NDIM);
    return NULL;
  }
  if (mhrfit_dtype_is_numeric(dtype)) {
    itemsize = dtype_info[dtype].size;
  } else if (dtype == MHRFIT_DT_UNICODE && itemsize % 4 != 0) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "unicode itemsize %zu is not a multiple of 4", itemsize);
    return NULL;
  }
  size_t count = 1;
  for (int i = 0; i < ndim; i++) {
    if (!mf_mul_size(count, shape[i], &count)) {
      MHRFIT_FAIL(err, MHRFIT_ERR_LIMIT, "array shape overflows (axis %d = %zu)", i, shape[i]);
      return NULL;
    }
  }
  size_t bytes;
  if (!mf_mul_size(count, itemsize, &bytes) || (max_bytes && bytes > max_bytes)) {
    MHRFIT_FAIL(err, MHRFIT_ERR_LIMIT, "array of %zu elements x %zu bytes exceeds the limit of %zu bytes",
                count, itemsize, max_bytes);
    return NULL;
  }
  mhrfit_array *a = calloc(1, sizeof *a);
  if (!a) {
    MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
    return NULL;
  }
  a->dtype = dtype;
  a->itemsize = itemsize;
  a->ndim = ndim;
  for (int i = 0; i < ndim; i++) a->shape[i] = shape[i];
  a->count = count;
  a->data = mf_calloc_array(bytes ? bytes : 1, 1, err);
  if (!a->data) {
    free(a);
    return NULL;
  }
  return a;
}

void mhrfit_array_free(mhrfit_array *a) {
  if (!a) return;
  free(a->data);
  free(a);
}

mhrfit_array *mhrfit_array_clone(const mhrfit_array *a, mhrfit_error *err) {
  mhrfit_array *c = mhrfit_array_new(a->dtype, a->itemsize, a->ndim, a->shape, 0, err);
  if (c && a->count && a->itemsize) memcpy(c->data, a->data, a->count * a->itemsize);
  return c;
}

double mhrfit_array_get_f64(const mhrfit_array *a, size_t i) {
  const unsigned char *p = (const unsigned char *)a->data + i * a->itemsize;
  switch (a->dtype) {
    case MHRFIT_DT_BOOL: return *p ? 1.0 : 0.0;
    case MHRFIT_DT_I8: { int8_t v; memcpy(&v, p, 1); return v; }
    case MHRFIT_DT_U8: return *p;
    case MHRFIT_DT_I16: { int16_t v; memcpy(&v, p, 2); return v; }
    case MHRFIT_DT_U16: { uint16_t v; memcpy(&v, p, 2); return v; }
    case MHRFIT_DT_I32: { int32_t v; memcpy(&v, p, 4); return v; }
    case MHRFIT_DT_U32: { uint32_t v; memcpy(&v, p, 4); return v; }
    case MHRFIT_DT_I64: { int64_t v; memcpy(&v, p, 8); return (double)v; }
    case MHRFIT_DT_U64: { uint64_t v; memcpy(&v, p, 8); return (double)v; }
    case MHRFIT_DT_F16: { uint16_t v; memcpy(&v, p, 2); return mhrfit_half_to_float(v); }
    case MHRFIT_DT_F32: { float v; memcpy(&v, p, 4); return v; }
    case MHRFIT_DT_F64: { double v; memcpy(&v, p, 8); return v; }
    default: return NAN;
  }
}

/* Exact integer value of element i, for integer and bool dtypes. */
static bool get_int(const mhrfit_array *a, size_t i, int64_t *s, uint64_t *u, bool *is_unsigned) {
  const unsigned char *p = (const unsigned char *)a->data + i * a->itemsize;
  *is_unsigned = false;
  switch (a->dtype) {
    case MHRFIT_DT_BOOL: *s = *p ? 1 : 0; return true;
    case MHRFIT_DT_I8: { int8_t v; memcpy(&v, p, 1); *s = v; return true; }
    case MHRFIT_DT_U8: *s = *p; return true;
    case MHRFIT_DT_I16: { int16_t v; memcpy(&v, p, 2); *s = v; return true; }
    case MHRFIT_DT_U16: { uint16_t v; memcpy(&v, p, 2); *s = v; return true; }
    case MHRFIT_DT_I32: { int32_t v; memcpy(&v, p, 4); *s = v; return true; }
    case MHRFIT_DT_U32: { uint32_t v; memcpy(&v, p, 4); *s = v; return true; }
    case MHRFIT_DT_I64: { int64_t v; memcpy(&v, p, 8); *s = v; return true; }
    case MHRFIT_DT_U64: memcpy(u, p, 8); *is_unsigned = true; return true;
    default: return false;
  }
}

static bool is_integer_dtype(mhrfit_dtype t) {
  return t >= MHRFIT_DT_I8 && t <= MHRFIT_DT_U64;
}

/* Range of an integer dtype as doubles and as exact int64/uint64 bounds. */
static void int_range(mhrfit_dtype t, int64_t *lo, uint64_t *hi) {
  switch (t) {
    case MHRFIT_DT_I8: *lo = INT8_MIN; *hi = INT8_MAX; break;
    case MHRFIT_DT_U8: *lo = 0; *hi = UINT8_MAX; break;
    case MHRFIT_DT_I16: *lo = INT16_MIN; *hi = INT16_MAX; break;
    case MHRFIT_DT_U16: *lo = 0; *hi = UINT16_MAX; break;
    case MHRFIT_DT_I32: *lo = INT32_MIN; *hi = INT32_MAX; break;
    case MHRFIT_DT_U32: *lo = 0; *hi = UINT32_MAX; break;
    case MHRFIT_DT_I64: *lo = INT64_MIN; *hi = INT64_MAX; break;
    default: *lo = 0; *hi = UINT64_MAX; break;
  }
}

static void put_int(mhrfit_dtype t, unsigned char *p, int64_t s, uint64_t u, bool use_u) {
  /* Values are range-checked by the caller. */
  int64_t v = use_u ? (int64_t)u : s;
  switch (t) {
    case MHRFIT_DT_I8: { int8_t x = (int8_t)v; memcpy(p, &x, 1); break; }
    case MHRFIT_DT_U8: { uint8_t x = (uint8_t)v; memcpy(p, &x, 1); break; }
    case MHRFIT_DT_I16: { int16_t x = (int16_t)v; memcpy(p, &x, 2); break; }
    case MHRFIT_DT_U16: { uint16_t x = (uint16_t)v; memcpy(p, &x, 2); break; }
    case MHRFIT_DT_I32: { int32_t x = (int32_t)v; memcpy(p, &x, 4); break; }
    case MHRFIT_DT_U32: { uint32_t x = (uint32_t)v; memcpy(p, &x, 4); break; }
    case MHRFIT_DT_I64: memcpy(p, &v, 8); break;
    case MHRFIT_DT_U64: { uint64_t x = use_u ? u : (uint64_t)s; memcpy(p, &x, 8); break; }
    default: break;
  }
}

static void put_float(mhrfit_dtype t, unsigned char *p, double v) {
  switch (t) {
    case MHRFIT_DT_BOOL: *p = (v != 0.0); break;
    case MHRFIT_DT_F16: { uint16_t h = mhrfit_float_to_half((float)v); memcpy(p, &h, 2); break; }
    case MHRFIT_DT_F32: { float f = (float)v; memcpy(p, &f, 4); break; }
    case MHRFIT_DT_F64: memcpy(p, &v, 8); break;
    default: break;
  }
}

mhrfit_array *mhrfit_array_convert(const mhrfit_array *a, mhrfit_dtype dtype, mhrfit_error *err) {
  if (!mhrfit_dtype_is_numeric(a->dtype) || !mhrfit_dtype_is_numeric(dtype)) {
    MHRFIT_FAIL(err, MHRFIT_ERR_UNSUPPORTED, "cannot convert %s array to %s",
                mhrfit_dtype_name(a->dtype), mhrfit_dtype_name(dtype));
    return NULL;
  }
  mhrfit_array *c = mhrfit_array_new(dtype, 0, a->ndim, a->shape, 0, err);
  if (!c) return NULL;
  if (dtype == a->dtype) {
    if (a->count) memcpy(c->data, a->data, a->count * a->itemsize);
    return c;
  }
  unsigned char *out = c->data;
  for (size_t i = 0; i < a->count; i++, out += c->itemsize) {
    int64_t s = 0;
    uint64_t u = 0;
    bool is_u = false;
    if (is_integer_dtype(dtype)) {
      int64_t lo;
      uint64_t hi;
      int_range(dtype, &lo, &hi);
      if (get_int(a, i, &s, &u, &is_u)) {
        bool ok = is_u ? u <= hi : (s >= lo && (s < 0 || (uint64_t)s <= hi));
        if (!ok) goto out_of_range;
        put_int(dtype, out, s, u, is_u);
      } else {
        double v = mhrfit_array_get_f64(a, i);
        if (!isfinite(v)) {
          MHRFIT_FAIL(err, MHRFIT_ERR_NUMERIC, "element %zu is %g, not convertible to %s", i, v,
                      mhrfit_dtype_name(dtype));
          goto fail;
        }
        double t = trunc(v);
        /* 2^63 and 2^64 are exact doubles; compare against them. */
        if (t < (double)lo || t >= (hi == UINT64_MAX ? 18446744073709551616.0
                                    : hi == INT64_MAX ? 9223372036854775808.0 : (double)hi + 1.0))
          goto out_of_range;
        if (t < 0) put_int(dtype, out, (int64_t)t, 0, false);
        else put_int(dtype, out, 0, (uint64_t)t, true);
      }
    } else {
      put_float(dtype, out, mhrfit_array_get_f64(a, i));
    }
    continue;
  out_of_range:
    MHRFIT_FAIL(err, MHRFIT_ERR_NUMERIC, "element %zu is out of range for %s", i, mhrfit_dtype_name(dtype));
    goto fail;
  }
  return c;
fail:
  mhrfit_array_free(c);
  return NULL;
}

bool mhrfit_array_get_string(const mhrfit_array *a, size_t i, char *out, size_t out_size,
                             mhrfit_error *err) {
  if (out_size == 0) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "empty output buffer");
  out[0] = '\0';
  const unsigned char *p = (const unsigned char *)a->data + i * a->itemsize;
  if (a->dtype == MHRFIT_DT_BYTES) {
    size_t n = 0;
    while (n < a->itemsize && p[n]) n++;
    if (n > out_size - 1) n = out_size - 1;
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
  }
  if (a->dtype != MHRFIT_DT_UNICODE)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "%s array holds no strings", mhrfit_dtype_name(a->dtype));
  size_t len = 0;
  for (size_t k = 0; k < a->itemsize / 4; k++) {
    uint32_t cp;
    memcpy(&cp, p + 4 * k, 4);
    if (cp == 0) break;
    char buf[4];
    size_t n = mf_utf8_encode(cp, buf);
    if (n == 0)
      return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "string element %zu holds invalid code point U+%X", i, cp);
    if (len + n > out_size - 1) break;
    memcpy(out + len, buf, n);
    len += n;
  }
  out[len] = '\0';
  return true;
}

bool mhrfit_array_has_shape(const mhrfit_array *a, int ndim, const long *shape) {
  if (!a || a->ndim != ndim) return false;
  for (int i = 0; i < ndim; i++)
    if (shape[i] >= 0 && (size_t)shape[i] != a->shape[i]) return false;
  return true;
}

float mhrfit_half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h >> 15) & 1u, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
  float v;
  if (exp == 0) v = ldexpf((float)man, -24);
  else if (exp == 31) v = man ? NAN : INFINITY;
  else v = ldexpf((float)(man | 0x400u), (int)exp - 25);
  return sign ? -v : v;
}

uint16_t mhrfit_float_to_half(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
  uint32_t exp = (x >> 23) & 0xffu, man = x & 0x7fffffu;
  if (exp == 0xff) return (uint16_t)(sign | 0x7c00u | (man ? 0x200u : 0u));
  int e = (int)exp - 127 + 15;
  if (e >= 31) return (uint16_t)(sign | 0x7c00u);
  if (e <= 0) {
    if (e < -10) return sign;
    man |= 0x800000u;
    int shift = 14 - e;
    uint32_t half = man >> shift, rem = man & ((1u << shift) - 1u), mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1u))) half++;
    return (uint16_t)(sign | half);
  }
  uint32_t half = ((uint32_t)e << 10) | (man >> 13), rem = man & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (half & 1u))) half++; /* may carry into the exponent: fine */
  return (uint16_t)(sign | half);
}
