/* Growable byte buffer (common/buf.h). */
#include "common/buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mhrfit/value.h"

/* Room for `extra` more bytes and the trailing NUL. */
static bool reserve(mf_buf *b, size_t extra) {
  if (b->failed) return false;
  if (b->cap > b->len && extra < b->cap - b->len) return true;
  size_t need = b->len + extra + 1;
  if (need <= b->len) {
    b->failed = true;
    return false;
  }
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  char *d = realloc(b->data, cap);
  if (!d) {
    b->failed = true;
    return false;
  }
  b->data = d;
  b->cap = cap;
  return true;
}

bool mf_buf_put(mf_buf *b, const void *data, size_t len) {
  if (!reserve(b, len)) return false;
  if (len) memcpy(b->data + b->len, data, len);
  b->len += len;
  b->data[b->len] = '\0';
  return true;
}

bool mf_buf_puts(mf_buf *b, const char *s) { return mf_buf_put(b, s, strlen(s)); }

bool mf_buf_printf(mf_buf *b, const char *fmt, ...) {
  char small[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) {
    b->failed = true;
    return false;
  }
  if ((size_t)n < sizeof small) return mf_buf_put(b, small, (size_t)n);
  if (!reserve(b, (size_t)n)) return false;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return true;
}

bool mf_buf_align(mf_buf *b, size_t align) {
  static const char zeros[16] = {0};
  while (b->len % align && !b->failed) {
    size_t pad = align - b->len % align;
    mf_buf_put(b, zeros, pad < sizeof zeros ? pad : sizeof zeros);
  }
  return !b->failed;
}

static bool json_str(mf_buf *b, const char *s, bool html) {
  mf_buf_put(b, "\"", 1);
  const char *run = s;
  for (const char *p = s;; p++) {
    unsigned char c = (unsigned char)*p;
    bool special = c == 0 || c == '"' || c == '\\' || c < 0x20 || (html && (c == '<' || c == '>' || c == '&'));
    if (!special) continue;
    mf_buf_put(b, run, (size_t)(p - run));
    if (c == 0) break;
    if (c == '"') mf_buf_puts(b, "\\\"");
    else if (c == '\\') mf_buf_puts(b, "\\\\");
    else if (c == '\n') mf_buf_puts(b, "\\n");
    else mf_buf_printf(b, "\\u%04x", c);
    run = p + 1;
  }
  return mf_buf_put(b, "\"", 1);
}

bool mf_buf_json_str(mf_buf *b, const char *s) { return json_str(b, s, false); }

bool mf_buf_json_str_html(mf_buf *b, const char *s) { return json_str(b, s, true); }

bool mf_buf_num(mf_buf *b, double x) {
  char t[40];
  mhrfit_format_double(x, t, sizeof t);
  return mf_buf_puts(b, t);
}

bool mf_buf_base64(mf_buf *b, const unsigned char *d, size_t len) {
  static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  if (len / 3 >= SIZE_MAX / 4 - 1) {
    b->failed = true;
    return false;
  }
  size_t out = 4 * ((len + 2) / 3);
  if (!reserve(b, out)) return false;
  char *o = b->data + b->len;
  size_t i = 0;
  for (; i + 3 <= len; i += 3) {
    unsigned v = (unsigned)d[i] << 16 | (unsigned)d[i + 1] << 8 | d[i + 2];
    *o++ = tab[v >> 18];
    *o++ = tab[v >> 12 & 63];
    *o++ = tab[v >> 6 & 63];
    *o++ = tab[v & 63];
  }
  if (i < len) {
    unsigned v = (unsigned)d[i] << 16 | (i + 1 < len ? (unsigned)d[i + 1] << 8 : 0);
    *o++ = tab[v >> 18];
    *o++ = tab[v >> 12 & 63];
    *o++ = i + 1 < len ? tab[v >> 6 & 63] : '=';
    *o++ = '=';
  }
  b->len += out;
  b->data[b->len] = '\0';
  return true;
}

void mf_buf_free(mf_buf *b) {
  free(b->data);
  memset(b, 0, sizeof *b);
}
