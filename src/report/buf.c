/* A growing byte buffer with the JSON and base64 writers of the report page. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mhrfit/value.h"
#include "report/report_internal.h"

static bool reserve(mf_rbuf *b, size_t extra) {
  if (b->failed) return false;
  if (extra <= b->cap - b->len) return true;
  size_t need = b->len + extra;
  if (need < b->len) {
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

void mf_rbuf_append(mf_rbuf *b, const void *data, size_t len) {
  if (!len || !reserve(b, len)) return;
  memcpy(b->data + b->len, data, len);
  b->len += len;
}

void mf_rbuf_puts(mf_rbuf *b, const char *s) { mf_rbuf_append(b, s, strlen(s)); }

void mf_rbuf_printf(mf_rbuf *b, const char *fmt, ...) {
  char small[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) {
    b->failed = true;
    return;
  }
  if ((size_t)n < sizeof small) {
    mf_rbuf_append(b, small, (size_t)n);
    return;
  }
  if (!reserve(b, (size_t)n + 1)) return;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

void mf_rbuf_align(mf_rbuf *b, size_t align) {
  static const char zeros[16] = {0};
  while (b->len % align && !b->failed) mf_rbuf_append(b, zeros, align - b->len % align);
}

void mf_rbuf_json_string(mf_rbuf *b, const char *s) {
  mf_rbuf_append(b, "\"", 1);
  const char *run = s;
  for (const char *p = s;; p++) {
    unsigned char c = (unsigned char)*p;
    bool special = c == 0 || c == '"' || c == '\\' || c < 0x20 || c == '<' || c == '>' || c == '&';
    if (!special) continue;
    mf_rbuf_append(b, run, (size_t)(p - run));
    if (c == 0) break;
    if (c == '"') mf_rbuf_puts(b, "\\\"");
    else if (c == '\\') mf_rbuf_puts(b, "\\\\");
    else if (c == '\n') mf_rbuf_puts(b, "\\n");
    else mf_rbuf_printf(b, "\\u%04x", c);
    run = p + 1;
  }
  mf_rbuf_append(b, "\"", 1);
}

void mf_rbuf_json_number(mf_rbuf *b, double x) {
  char t[40];
  mhrfit_format_double(x, t, sizeof t);
  mf_rbuf_puts(b, t);
}

void mf_rbuf_json_value(mf_rbuf *b, const mhrfit_value *v) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (!f) {
    b->failed = true;
    return;
  }
  bool ok = mhrfit_value_write_json(v, f, -1, NULL);
  if (fclose(f) != 0) ok = false;
  if (!ok) {
    free(text);
    mf_rbuf_puts(b, "null");
    return;
  }
  /* '<', '>' and '&' only occur inside JSON strings: escape them there. */
  const char *run = text;
  for (size_t i = 0; i < len; i++) {
    char c = text[i];
    if (c != '<' && c != '>' && c != '&') continue;
    mf_rbuf_append(b, run, (size_t)(text + i - run));
    mf_rbuf_printf(b, "\\u%04x", (unsigned char)c);
    run = text + i + 1;
  }
  mf_rbuf_append(b, run, (size_t)(text + len - run));
  free(text);
}

void mf_rbuf_base64(mf_rbuf *b, const unsigned char *d, size_t len) {
  static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t out = 4 * ((len + 2) / 3);
  if (!reserve(b, out)) return;
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
}

void mf_rbuf_free(mf_rbuf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}
