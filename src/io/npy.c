/* NumPy .npy reading and writing: see include/mhrfit/npy.h.
 *
 * Format (numpy.lib.format): magic "\x93NUMPY", major, minor version bytes, header length
 * (uint16 LE for 1.0, uint32 LE for 2.0 and 3.0), then a Python dict literal
 * {'descr': '<f4', 'fortran_order': False, 'shape': (70, 2), } padded with spaces and a newline
 * so that the data starts on a 64-byte boundary, then the raw elements. Version 3.0 only differs
 * by allowing UTF-8 in the header. */
#include "mhrfit/npy.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/file.h"
#include "common/mem.h"
#include "common/utf8.h"
#include "io/npy_internal.h"
#include "io/numpy_io.h"
#include "mhrfit/pickle.h"

void mf_npy_limits_resolve(const mhrfit_npy_limits *in, mhrfit_npy_limits *out) {
  mhrfit_npy_limits d = {(size_t)4 << 30, (size_t)1 << 20, 65536, 64, NULL, MHRFIT_NPY_DEFAULT_MAX_TOTAL, NULL};
  if (in) {
    d.skip_members = in->skip_members;
    d.only_members = in->only_members;
    if (in->max_total_bytes) d.max_total_bytes = in->max_total_bytes;
    if (in->max_array_bytes) d.max_array_bytes = in->max_array_bytes;
    if (in->max_header_bytes) d.max_header_bytes = in->max_header_bytes;
    if (in->max_members) d.max_members = in->max_members;
    if (in->max_depth) d.max_depth = in->max_depth;
  }
  *out = d;
}

/* ---- header dict literal ------------------------------------------------------------------ */

typedef struct hdr_parser {
  const char *s, *end;
} hdr_parser;

static void hp_ws(hdr_parser *p) {
  while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r')) p->s++;
}

static bool hp_eat(hdr_parser *p, char c) {
  hp_ws(p);
  if (p->s < p->end && *p->s == c) {
    p->s++;
    return true;
  }
  return false;
}

/* A quoted Python string without escapes (what NumPy writes); copied into buf. */
static bool hp_string(hdr_parser *p, char *buf, size_t size) {
  hp_ws(p);
  if (p->s >= p->end || (*p->s != '\'' && *p->s != '"')) return false;
  char q = *p->s++;
  size_t n = 0;
  while (p->s < p->end && *p->s != q) {
    if (*p->s == '\\' || n + 1 >= size) return false;
    buf[n++] = *p->s++;
  }
  if (p->s >= p->end) return false;
  p->s++;
  buf[n] = '\0';
  return true;
}

static bool hp_word(hdr_parser *p, const char *w) {
  hp_ws(p);
  size_t n = strlen(w);
  if ((size_t)(p->end - p->s) >= n && memcmp(p->s, w, n) == 0) {
    p->s += n;
    return true;
  }
  return false;
}

bool mf_npy_parse_descr(const char *descr, mf_npy_dtype *out) {
  memset(out, 0, sizeof *out);
  const char *d = descr;
  char order = '=';
  if (*d == '<' || *d == '>' || *d == '|' || *d == '=') order = *d++;
  out->big_endian = order == '>';
  char kind = *d;
  if (kind == '\0') return false; /* "" or a lone byte-order character */
  d++;
  if (kind == 'O' && (*d == '\0' || strcmp(d, "8") == 0)) {
    out->object = true;
    out->itemsize = 8;
    return true;
  }
  if (kind == '?' && *d == '\0') {
    out->dtype = MHRFIT_DT_BOOL;
    out->itemsize = 1;
    return true;
  }
  if (!isdigit((unsigned char)*d)) return false;
  char *end;
  unsigned long long n = strtoull(d, &end, 10);
  if (*end != '\0' || n > (1ull << 31)) return false;
  switch (kind) {
    case 'b':
      if (n != 1) return false;
      out->dtype = MHRFIT_DT_BOOL;
      break;
    case 'i':
      if (n == 1) out->dtype = MHRFIT_DT_I8;
      else if (n == 2) out->dtype = MHRFIT_DT_I16;
      else if (n == 4) out->dtype = MHRFIT_DT_I32;
      else if (n == 8) out->dtype = MHRFIT_DT_I64;
      else return false;
      break;
    case 'u':
      if (n == 1) out->dtype = MHRFIT_DT_U8;
      else if (n == 2) out->dtype = MHRFIT_DT_U16;
      else if (n == 4) out->dtype = MHRFIT_DT_U32;
      else if (n == 8) out->dtype = MHRFIT_DT_U64;
      else return false;
      break;
    case 'f':
      if (n == 2) out->dtype = MHRFIT_DT_F16;
      else if (n == 4) out->dtype = MHRFIT_DT_F32;
      else if (n == 8) out->dtype = MHRFIT_DT_F64;
      else return false;
      break;
    case 'U':
      out->dtype = MHRFIT_DT_UNICODE;
      out->itemsize = (size_t)n * 4;
      return true;
    case 'S':
    case 'a':
      out->dtype = MHRFIT_DT_BYTES;
      out->itemsize = (size_t)n;
      return true;
    default: return false;
  }
  out->itemsize = (size_t)n;
  return true;
}

/* Parses the header dict into descr, fortran flag and shape. */
static bool parse_header(const char *h, size_t len, const char *name, mf_npy_dtype *dt, bool *fortran,
                         int *ndim, size_t *shape, mhrfit_error *err) {
  hdr_parser p = {h, h + len};
  bool have_descr = false, have_order = false, have_shape = false;
  if (!hp_eat(&p, '{')) return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: header is not a dict literal", name);
  for (;;) {
    if (hp_eat(&p, '}')) break;
    char key[32];
    if (!hp_string(&p, key, sizeof key) || !hp_eat(&p, ':'))
      return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: malformed header near byte %zu", name, (size_t)(p.s - h));
    if (strcmp(key, "descr") == 0) {
      hp_ws(&p);
      if (p.s < p.end && *p.s == '[')
        return MHRFIT_FAIL(err, MHRFIT_ERR_UNSUPPORTED, "%s: structured dtypes are not supported", name);
      char descr[32];
      if (!hp_string(&p, descr, sizeof descr))
        return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: header 'descr' is not a string", name);
      if (!mf_npy_parse_descr(descr, dt))
        return MHRFIT_FAIL(err, MHRFIT_ERR_UNSUPPORTED, "%s: unsupported dtype '%s'", name, descr);
      have_descr = true;
    } else if (strcmp(key, "fortran_order") == 0) {
      if (hp_word(&p, "True")) *fortran = true;
      else if (hp_word(&p, "False")) *fortran = false;
      else return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: header 'fortran_order' is not True/False", name);
      have_order = true;
    } else if (strcmp(key, "shape") == 0) {
      if (!hp_eat(&p, '(')) return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: header 'shape' is not a tuple", name);
      *ndim = 0;
      for (;;) {
        if (hp_eat(&p, ')')) break;
        hp_ws(&p);
        if (p.s >= p.end || !isdigit((unsigned char)*p.s))
          return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: header 'shape' holds a non-integer", name);
        unsigned long long v = 0;
        while (p.s < p.end && isdigit((unsigned char)*p.s)) {
          if (v > (SIZE_MAX - 9) / 10)
            return MHRFIT_FAIL(err, MHRFIT_ERR_LIMIT, "%s: header 'shape' extent is too large", name);
          v = v * 10 + (unsigned)(*p.s++ - '0');
        }
        hp_eat(&p, 'L'); /* Python 2 longs */
        if (*ndim >= MHRFIT_MAX_NDIM)
          return MHRFIT_FAIL(err, MHRFIT_ERR_LIMIT, "%s: array rank exceeds %d", name, MHRFIT_MAX_NDIM);
        shape[(*ndim)++] = (size_t)v;
        if (!hp_eat(&p, ',')) {
          if (!hp_eat(&p, ')')) return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: header 'shape' is malformed", name);
          break;
        }
      }
      have_shape = true;
    } else {
      return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: unexpected header key '%s'", name, key);
    }
    if (!hp_eat(&p, ',')) {
      if (!hp_eat(&p, '}')) return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: header dict is malformed", name);
      break;
    }
  }
  if (!have_descr || !have_order || !have_shape)
    return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: header lacks %s", name,
                       !have_descr ? "'descr'" : !have_order ? "'fortran_order'" : "'shape'");
  return true;
}

/* Byte-swaps count elements of `size` bytes in place. */
static void swap_bytes(unsigned char *d, size_t count, size_t size) {
  for (size_t i = 0; i < count; i++, d += size)
    for (size_t a = 0, b = size - 1; a < b; a++, b--) {
      unsigned char t = d[a];
      d[a] = d[b];
      d[b] = t;
    }
}

void mf_npy_fill(mhrfit_array *a, const unsigned char *src, bool fortran, bool big_endian) {
  if (fortran && a->ndim > 1) { /* gather the C-order elements from Fortran-order storage */
    size_t idx[MHRFIT_MAX_NDIM] = {0}, fstride[MHRFIT_MAX_NDIM], s = a->itemsize;
    for (int k = 0; k < a->ndim; k++) {
      fstride[k] = s;
      s *= a->shape[k];
    }
    unsigned char *dst = a->data;
    for (size_t i = 0; i < a->count; i++) {
      size_t off = 0;
      for (int k = 0; k < a->ndim; k++) off += idx[k] * fstride[k];
      memcpy(dst + i * a->itemsize, src + off, a->itemsize);
      for (int k = a->ndim - 1; k >= 0; k--) { /* advance the C-order index */
        if (++idx[k] < a->shape[k]) break;
        idx[k] = 0;
      }
    }
  } else if (a->count && a->itemsize) {
    memcpy(a->data, src, a->count * a->itemsize);
  }
  if (big_endian) {
    if (a->dtype == MHRFIT_DT_UNICODE) swap_bytes(a->data, a->count * (a->itemsize / 4), 4);
    else if (mhrfit_dtype_is_numeric(a->dtype) && a->itemsize > 1) swap_bytes(a->data, a->count, a->itemsize);
  }
}

mhrfit_value *mhrfit_npy_parse(const void *data, size_t len, const char *name,
                               const mhrfit_npy_limits *limits, mhrfit_error *err) {
  const unsigned char *b = data;
  mhrfit_npy_limits lim;
  mf_npy_limits_resolve(limits, &lim);
  if (!name) name = "npy";
  if (len < 10 || memcmp(b, "\x93NUMPY", 6) != 0) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: not a .npy file (bad magic)", name);
    return NULL;
  }
  if (len > lim.max_total_bytes) {
    MHRFIT_FAIL(err, MHRFIT_ERR_LIMIT, "%s: %zu bytes, more than the limit of %zu bytes on what one file may hold",
                name, len, lim.max_total_bytes);
    return NULL;
  }
  unsigned major = b[6], minor = b[7];
  size_t hlen, off;
  if (major == 1) {
    hlen = (size_t)b[8] | ((size_t)b[9] << 8);
    off = 10;
  } else if (major == 2 || major == 3) {
    if (len < 12) {
      MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: truncated header", name);
      return NULL;
    }
    hlen = (size_t)b[8] | ((size_t)b[9] << 8) | ((size_t)b[10] << 16) | ((size_t)b[11] << 24);
    off = 12;
  } else {
    MHRFIT_FAIL(err, MHRFIT_ERR_UNSUPPORTED, "%s: unsupported .npy format version %u.%u", name, major, minor);
    return NULL;
  }
  if (hlen > lim.max_header_bytes) {
    MHRFIT_FAIL(err, MHRFIT_ERR_LIMIT, "%s: header of %zu bytes exceeds the limit", name, hlen);
    return NULL;
  }
  if (hlen > len - off) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: truncated header (%zu bytes announced, %zu present)", name, hlen,
                len - off);
    return NULL;
  }
  const char *h = (const char *)b + off;
  if (major < 3) {
    for (size_t i = 0; i < hlen; i++)
      if ((unsigned char)h[i] >= 0x80) {
        MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: non-ASCII byte in a version %u.0 header", name, major);
        return NULL;
      }
  } else if (!mf_utf8_valid(h, hlen)) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: header is not valid UTF-8", name);
    return NULL;
  }
  mf_npy_dtype dt;
  bool fortran = false;
  int ndim = 0;
  size_t shape[MHRFIT_MAX_NDIM] = {0};
  if (!parse_header(h, hlen, name, &dt, &fortran, &ndim, shape, err)) return NULL;
  off += hlen;
  const unsigned char *payload = b + off;
  size_t plen = len - off;
  if (dt.object) {
    mhrfit_pickle_limits pl = {lim.max_depth, lim.max_array_bytes, 0};
    mhrfit_value *v = mhrfit_pickle_parse(payload, plen, name, &pl, err);
    return v;
  }
  size_t count = 1, bytes;
  for (int k = 0; k < ndim; k++)
    if (!mf_mul_size(count, shape[k], &count)) {
      MHRFIT_FAIL(err, MHRFIT_ERR_LIMIT, "%s: shape overflows", name);
      return NULL;
    }
  if (!mf_mul_size(count, dt.itemsize, &bytes) || bytes > lim.max_array_bytes) {
    MHRFIT_FAIL(err, MHRFIT_ERR_LIMIT, "%s: array of %zu elements exceeds the size limit", name, count);
    return NULL;
  }
  if (plen != bytes) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: header announces %zu data bytes (shape x itemsize) but the file holds %zu",
                name, bytes, plen);
    return NULL;
  }
  mhrfit_array *a = mhrfit_array_new(dt.dtype, dt.itemsize, ndim, shape, 0, err);
  if (!a) return NULL;
  mf_npy_fill(a, payload, fortran, dt.big_endian);
  if (a->dtype == MHRFIT_DT_BOOL) {
    unsigned char *p = a->data;
    for (size_t i = 0; i < a->count; i++)
      if (p[i] > 1) {
        MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: bool element %zu holds %u", name, i, p[i]);
        mhrfit_array_free(a);
        return NULL;
      }
  }
  if (a->dtype == MHRFIT_DT_UNICODE) {
    const unsigned char *p = a->data;
    for (size_t i = 0; i < a->count * (a->itemsize / 4); i++) {
      uint32_t cp;
      memcpy(&cp, p + 4 * i, 4);
      char tmp[4];
      if (cp != 0 && mf_utf8_encode(cp, tmp) == 0) {
        MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: string holds invalid code point U+%X", name, cp);
        mhrfit_array_free(a);
        return NULL;
      }
    }
  }
  return mhrfit_value_new_array(a, err);
}

mhrfit_value *mhrfit_npy_load(const char *path, const mhrfit_npy_limits *limits, mhrfit_error *err) {
  mhrfit_npy_limits lim;
  mf_npy_limits_resolve(limits, &lim);
  unsigned char *data;
  size_t len;
  size_t max = lim.max_array_bytes + lim.max_header_bytes + 64;
  if (lim.max_total_bytes < max) max = lim.max_total_bytes;
  if (!mf_read_file(path, max, &data, &len, err)) return NULL;
  mhrfit_value *v = mhrfit_npy_parse(data, len, path, &lim, err);
  free(data);
  return v;
}

mhrfit_array *mhrfit_npy_load_array(const char *path, const mhrfit_npy_limits *limits, mhrfit_error *err) {
  mhrfit_value *v = mhrfit_npy_load(path, limits, err);
  if (!v) return NULL;
  if (v->kind != MHRFIT_V_ARRAY) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: holds a pickled %s, not a plain array", path,
                mhrfit_value_kind_name(v->kind));
    mhrfit_value_free(v);
    return NULL;
  }
  mhrfit_array *a = v->u.array;
  v->u.array = NULL;
  v->kind = MHRFIT_V_NULL;
  mhrfit_value_free(v);
  return a;
}

/* ---- writing ---------------------------------------------------------------------------------- */

static const char *descr_of(const mhrfit_array *a, char *buf, size_t size) {
  static const char *const names[] = {
      [MHRFIT_DT_BOOL] = "|b1", [MHRFIT_DT_I8] = "|i1", [MHRFIT_DT_U8] = "|u1", [MHRFIT_DT_I16] = "<i2",
      [MHRFIT_DT_U16] = "<u2",  [MHRFIT_DT_I32] = "<i4", [MHRFIT_DT_U32] = "<u4", [MHRFIT_DT_I64] = "<i8",
      [MHRFIT_DT_U64] = "<u8",  [MHRFIT_DT_F16] = "<f2", [MHRFIT_DT_F32] = "<f4", [MHRFIT_DT_F64] = "<f8"};
  if (a->dtype == MHRFIT_DT_UNICODE) snprintf(buf, size, "<U%zu", a->itemsize / 4);
  else if (a->dtype == MHRFIT_DT_BYTES) snprintf(buf, size, "|S%zu", a->itemsize);
  else snprintf(buf, size, "%s", names[a->dtype]);
  return buf;
}

static bool host_is_little(void) {
  uint16_t x = 1;
  unsigned char c;
  memcpy(&c, &x, 1);
  return c == 1;
}

size_t mf_npy_header(mhrfit_dtype dtype, size_t itemsize, int ndim, const size_t *shape,
                     unsigned char hdr[MF_NPY_HEADER_MAX]) {
  char descr[32];
  char dict[64 + 24 * MHRFIT_MAX_NDIM];
  const mhrfit_array proto = {.dtype = dtype, .itemsize = itemsize};
  int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                   descr_of(&proto, descr, sizeof descr));
  for (int k = 0; k < ndim; k++)
    n += snprintf(dict + n, sizeof dict - (size_t)n, "%zu,%s", shape[k], (k + 1 < ndim) ? " " : "");
  if (ndim > 1) n--; /* NumPy writes (2, 3) but (3,) */
  n += snprintf(dict + n, sizeof dict - (size_t)n, "), }");
  size_t dlen = (size_t)n;
  bool v2 = dlen + 1 + 10 > 65535;
  size_t pre = v2 ? 12 : 10;
  size_t total_hdr = (pre + dlen + 1 + 63) / 64 * 64;
  size_t hlen = total_hdr - pre;
  memcpy(hdr, "\x93NUMPY", 6);
  hdr[6] = v2 ? 2 : 1;
  hdr[7] = 0;
  if (v2) {
    for (int i = 0; i < 4; i++) hdr[8 + i] = (unsigned char)(hlen >> (8 * i));
  } else {
    hdr[8] = (unsigned char)(hlen & 0xff);
    hdr[9] = (unsigned char)(hlen >> 8);
  }
  memcpy(hdr + pre, dict, dlen);
  memset(hdr + pre + dlen, ' ', hlen - dlen - 1);
  hdr[total_hdr - 1] = '\n';
  return total_hdr;
}

bool mhrfit_npy_serialize(const mhrfit_array *a, void **out, size_t *out_len, mhrfit_error *err) {
  *out = NULL;
  *out_len = 0;
  unsigned char hdr[MF_NPY_HEADER_MAX];
  size_t total_hdr = mf_npy_header(a->dtype, a->itemsize, a->ndim, a->shape, hdr);
  size_t bytes;
  if (!mf_mul_size(a->count, a->itemsize, &bytes)) return MHRFIT_FAIL(err, MHRFIT_ERR_LIMIT, "array too large");
  unsigned char *buf = mf_malloc_array(total_hdr + bytes, 1, err);
  if (!buf) return false;
  memcpy(buf, hdr, total_hdr);
  if (bytes) memcpy(buf + total_hdr, a->data, bytes);
  if (!host_is_little()) {
    if (a->dtype == MHRFIT_DT_UNICODE) swap_bytes(buf + total_hdr, a->count * (a->itemsize / 4), 4);
    else if (mhrfit_dtype_is_numeric(a->dtype) && a->itemsize > 1) swap_bytes(buf + total_hdr, a->count, a->itemsize);
  }
  *out = buf;
  *out_len = total_hdr + bytes;
  return true;
}

bool mhrfit_npy_save(const char *path, const mhrfit_array *a, mhrfit_error *err) {
  void *buf;
  size_t len;
  if (!mhrfit_npy_serialize(a, &buf, &len, err)) {
    mhrfit_error_prefix(err, "%s", path);
    return false;
  }
  bool ok = mf_write_file_atomic(path, buf, len, err);
  free(buf);
  return ok;
}

mhrfit_value *mhrfit_numpy_parse(const void *data, size_t len, const char *name, const mhrfit_npy_limits *limits,
                                 mhrfit_error *err) {
  const unsigned char *b = data;
  if (!name) name = "numpy";
  if (len >= 4 && b[0] == 'P' && b[1] == 'K') return mhrfit_npz_parse(data, len, name, limits, err);
  if (len >= 6 && memcmp(b, "\x93NUMPY", 6) == 0) return mhrfit_npy_parse(data, len, name, limits, err);
  if (len == 0) MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: empty file (0 bytes), not a .npy or .npz file", name);
  else MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: neither a .npy nor a .npz file (unknown magic bytes)", name);
  return NULL;
}

/* A file over MF_NPZ_MEMORY_MAX: decided by its first bytes, read by the streaming readers. */
static mhrfit_value *load_large(const char *path, const mhrfit_npy_limits *limits, mhrfit_error *err) {
  unsigned char magic[6] = {0};
  size_t n;
  if (!mf_read_head(path, magic, sizeof magic, &n, err)) return NULL;
  if (n >= 4 && magic[0] == 'P' && magic[1] == 'K') return mhrfit_npz_load(path, limits, err);
  if (n == 6 && memcmp(magic, "\x93NUMPY", 6) == 0) return mhrfit_npy_load(path, limits, err);
  MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: neither a .npy nor a .npz file (unknown magic bytes)", path);
  return NULL;
}

/* Reads path by content; MF_READ_ABSENT (nothing returned, err untouched) when `absent_ok` and
 * it is missing or not a regular file. */
static mhrfit_value *load_by_content(const char *path, const mhrfit_npy_limits *limits, bool absent_ok,
                                     bool *absent, mhrfit_error *err) {
  unsigned char *data;
  size_t len;
  *absent = false;
  mf_read_status rs = mf_read_file_opt(path, MF_NPZ_MEMORY_MAX, MF_READ_LARGE_OK | (absent_ok ? MF_READ_ABSENT_OK : 0),
                                       &data, &len, NULL, err);
  if (rs == MF_READ_ABSENT) {
    *absent = true;
    return NULL;
  }
  if (rs == MF_READ_TOO_LARGE) return load_large(path, limits, err);
  if (rs != MF_READ_OK) return NULL;
  mhrfit_value *v = mhrfit_numpy_parse(data, len, path, limits, err);
  free(data);
  return v;
}

mhrfit_value *mhrfit_numpy_load(const char *path, const mhrfit_npy_limits *limits, mhrfit_error *err) {
  bool absent;
  return load_by_content(path, limits, false, &absent, err);
}

mhrfit_value *mf_numpy_load_camera(const char *dir, const char *cam, const mhrfit_npy_limits *limits,
                                   char **path_out, mhrfit_error *err) {
  static const char *const ext[2] = {".npz", ".npy"};
  *path_out = NULL;
  mhrfit_npy_limits lim = {0};
  if (limits) lim = *limits;
  if (!lim.max_total_bytes) lim.max_total_bytes = MHRFIT_NPY_INPUT_MAX_TOTAL; /* a per-view input */
  limits = &lim;
  size_t n = strlen(dir) + strlen(cam) + 8;
  for (int i = 0; i < 2; i++) {
    char *p = mf_malloc_array(n, 1, err);
    if (!p) return NULL;
    snprintf(p, n, "%s/%s%s", dir, cam, ext[i]);
    bool absent;
    mhrfit_value *v = load_by_content(p, limits, true, &absent, err);
    if (!absent) {
      *path_out = p;
      return v;
    }
    free(p);
  }
  return NULL;
}
