/* Internal UTF-8 helpers. Not part of the public API. */
#ifndef MF_COMMON_UTF8_H
#define MF_COMMON_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Encodes code point cp into out (up to 4 bytes); returns the byte count, or 0 when cp is
 * not a Unicode scalar value (surrogate or > U+10FFFF). */
size_t mf_utf8_encode(uint32_t cp, char out[4]);

/* Decodes one code point from s[0..len-1]; returns bytes consumed, 0 on invalid UTF-8. */
size_t mf_utf8_decode(const unsigned char *s, size_t len, uint32_t *cp);

/* True when s[0..len-1] is valid UTF-8 (no overlongs, no surrogates). */
bool mf_utf8_valid(const char *s, size_t len);

#endif
