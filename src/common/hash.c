/* xxHash64 (Yann Collet's public algorithm, seed 0), streamed: see hash.h. Reads little-endian
 * words byte by byte, so it is endian- and alignment-independent. */
#include "common/hash.h"

#include <string.h>

#define P1 0x9E3779B185EBCA87ULL
#define P2 0xC2B2AE3D27D4EB4FULL
#define P3 0x165667B19E3779F9ULL
#define P4 0x85EBCA77C2B2AE63ULL
#define P5 0x27D4EB2F165667C5ULL

static uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

static uint64_t rd64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

static uint64_t rd32(const unsigned char *p) {
  return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24;
}

static uint64_t round64(uint64_t acc, uint64_t in) {
  acc += in * P2;
  acc = rotl(acc, 31);
  return acc * P1;
}

static uint64_t merge(uint64_t acc, uint64_t v) {
  acc ^= round64(0, v);
  return acc * P1 + P4;
}

void mf_xxh64_init(mf_xxh64 *s) {
  memset(s, 0, sizeof *s);
  s->v[0] = P1 + P2;
  s->v[1] = P2;
  s->v[2] = 0;
  s->v[3] = 0 - P1;
}

static void stripe(mf_xxh64 *s, const unsigned char *p) {
  for (int i = 0; i < 4; i++) s->v[i] = round64(s->v[i], rd64(p + 8 * i));
}

void mf_xxh64_update(mf_xxh64 *s, const void *data, size_t len) {
  const unsigned char *p = data;
  s->total += len;
  if (s->buffered) {
    size_t take = 32 - s->buffered < len ? 32 - s->buffered : len;
    memcpy(s->buf + s->buffered, p, take);
    s->buffered += take;
    p += take;
    len -= take;
    if (s->buffered < 32) return;
    stripe(s, s->buf);
    s->buffered = 0;
  }
  while (len >= 32) {
    stripe(s, p);
    p += 32;
    len -= 32;
  }
  memcpy(s->buf, p, len);
  s->buffered = len;
}

uint64_t mf_xxh64_digest(const mf_xxh64 *s) {
  uint64_t h;
  if (s->total >= 32) {
    h = rotl(s->v[0], 1) + rotl(s->v[1], 7) + rotl(s->v[2], 12) + rotl(s->v[3], 18);
    for (int i = 0; i < 4; i++) h = merge(h, s->v[i]);
  } else {
    h = P5;
  }
  h += s->total;
  const unsigned char *p = s->buf;
  size_t n = s->buffered;
  while (n >= 8) {
    h ^= round64(0, rd64(p));
    h = rotl(h, 27) * P1 + P4;
    p += 8;
    n -= 8;
  }
  if (n >= 4) {
    h ^= rd32(p) * P1;
    h = rotl(h, 23) * P2 + P3;
    p += 4;
    n -= 4;
  }
  while (n--) {
    h ^= (*p++) * P5;
    h = rotl(h, 11) * P1;
  }
  h ^= h >> 33;
  h *= P2;
  h ^= h >> 29;
  h *= P3;
  h ^= h >> 32;
  return h;
}

uint64_t mf_xxh64_buffer(const void *data, size_t len) {
  mf_xxh64 s;
  mf_xxh64_init(&s);
  mf_xxh64_update(&s, data, len);
  return mf_xxh64_digest(&s);
}

