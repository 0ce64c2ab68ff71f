/* UTF-8 encoding and validation. */
#include "common/utf8.h"

size_t mf_utf8_encode(uint32_t cp, char out[4]) {
  if (cp < 0x80) { out[0] = (char)cp; return 1; }
  if (cp < 0x800) {
    out[0] = (char)(0xc0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3f));
    return 2;
  }
  if (cp >= 0xd800 && cp <= 0xdfff) return 0;
  if (cp < 0x10000) {
    out[0] = (char)(0xe0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[2] = (char)(0x80 | (cp & 0x3f));
    return 3;
  }
  if (cp > 0x10ffff) return 0;
  out[0] = (char)(0xf0 | (cp >> 18));
  out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
  out[3] = (char)(0x80 | (cp & 0x3f));
  return 4;
}

size_t mf_utf8_decode(const unsigned char *s, size_t len, uint32_t *cp) {
  if (len == 0) return 0;
  unsigned char c = s[0];
  size_t n;
  uint32_t v, min;
  if (c < 0x80) { *cp = c; return 1; }
  if ((c & 0xe0) == 0xc0) { n = 2; v = c & 0x1fu; min = 0x80; }
  else if ((c & 0xf0) == 0xe0) { n = 3; v = c & 0x0fu; min = 0x800; }
  else if ((c & 0xf8) == 0xf0) { n = 4; v = c & 0x07u; min = 0x10000; }
  else return 0;
  if (len < n) return 0;
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xc0) != 0x80) return 0;
    v = (v << 6) | (s[i] & 0x3fu);
  }
  if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
  *cp = v;
  return n;
}

bool mf_utf8_valid(const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s;
  while (len) {
    uint32_t cp;
    size_t n = mf_utf8_decode(p, len, &cp);
    if (!n) return false;
    p += n;
    len -= n;
  }
  return true;
}
