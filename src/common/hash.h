/* Internal: streaming xxHash64 with seed 0 (identities of files and settings; not
 * cryptographic). Not part of the public API. */
#ifndef MF_COMMON_HASH_H
#define MF_COMMON_HASH_H

#include <stddef.h>
#include <stdint.h>

typedef struct mf_xxh64 {
  uint64_t v[4];
  uint64_t total;
  unsigned char buf[32];
  size_t buffered;
} mf_xxh64;

void mf_xxh64_init(mf_xxh64 *s);
void mf_xxh64_update(mf_xxh64 *s, const void *data, size_t len);
uint64_t mf_xxh64_digest(const mf_xxh64 *s);
/* The hash of data[0..len-1] in one call. */
uint64_t mf_xxh64_buffer(const void *data, size_t len);

#endif
