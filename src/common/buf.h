/* Internal: a growable byte buffer with JSON and base64 writers (the exporter's glTF, BVH and
 * text files, the report's page). Not part of the public API. */
#ifndef MF_COMMON_BUF_H
#define MF_COMMON_BUF_H

#include <stdbool.h>
#include <stddef.h>

/* Bytes data[0..len-1], always followed by a NUL (not counted) once anything was written. Start
 * from {0}. Appends never fail loudly: the first allocation failure sets `failed`, and every
 * later append is a no-op returning false, so a writer checks once at the end. */
typedef struct mf_buf {
  char *data;
  size_t len, cap;
  bool failed;
} mf_buf;

/* Appends data[0..len-1]. */
bool mf_buf_put(mf_buf *b, const void *data, size_t len);
/* Appends the string s. */
bool mf_buf_puts(mf_buf *b, const char *s);
/* Appends printf-formatted text. */
bool mf_buf_printf(mf_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Pads with zero bytes to a multiple of `align`. */
bool mf_buf_align(mf_buf *b, size_t align);
/* A JSON string literal: quotes, '"' and '\\' escaped, '\n' as \n, other bytes below 0x20 as
 * \u00XX; UTF-8 passes as it is. */
bool mf_buf_json_str(mf_buf *b, const char *s);
/* The same, safe inside an HTML <script> element: '<', '>' and '&' as \u00XX too. */
bool mf_buf_json_str_html(mf_buf *b, const char *s);
/* A JSON number: the shortest decimal that reads back as x (mhrfit_format_double()); null when x
 * is not finite. */
bool mf_buf_num(mf_buf *b, double x);
/* Base64 (RFC 4648, with padding) of data[0..len-1]. */
bool mf_buf_base64(mf_buf *b, const unsigned char *data, size_t len);
/* Frees the bytes and resets the buffer to {0}. */
void mf_buf_free(mf_buf *b);

#endif
