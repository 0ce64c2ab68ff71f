/* The ZIP subset of .npz archives in memory: see zip.h for the layout. */
#include "io/zip.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_END 0x06054b50u
#define SIG_ZIP64_LOCATOR 0x07064b50u
#define LOCAL_SIZE MF_ZIP_LOCAL_SIZE
#define CENTRAL_SIZE MF_ZIP_CENTRAL_SIZE
#define END_SIZE MF_ZIP_END_SIZE
#define MADE_BY 0x033fu                   /* UNIX, ZIP 6.3 (as libzip) */
#define EXTERNAL_ATTR (0100666u << 16)    /* regular file, rw-rw-rw- (as libzip) */
#define DOS_DATE ((1u << 5) | 1u)         /* 1980-01-01 */
#define DOS_TIME 0u                       /* 00:00:00 */
#define MAX_ARCHIVE MF_ZIP_MAX_ARCHIVE

bool mf_zip_name_plain(const char *name, size_t len) {
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)name[i];
    if (!((c > 31 && c < 128) || c == '\r' || c == '\n' || c == '\t')) return false;
  }
  return true;
}

static unsigned get16(const unsigned char *p) { return (unsigned)p[0] | (unsigned)p[1] << 8; }

static void put16(unsigned char *p, unsigned v) {
  p[0] = (unsigned char)(v & 0xff);
  p[1] = (unsigned char)((v >> 8) & 0xff);
}

static void put32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v & 0xff);
  p[1] = (unsigned char)((v >> 8) & 0xff);
  p[2] = (unsigned char)((v >> 16) & 0xff);
  p[3] = (unsigned char)((v >> 24) & 0xff);
}


static uint32_t get32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint32_t mf_zip_crc(uint32_t crc, const void *data, size_t len) {
  const unsigned char *p = data;
  uLong c = crc;
  while (len) {
    uInt k = len > UINT_MAX ? UINT_MAX : (uInt)len;
    c = crc32(c, p, k);
    p += k;
    len -= k;
  }
  return (uint32_t)c;
}

/* ---- writing ---------------------------------------------------------------------------- */

void mf_zip_put_local(unsigned char *lh, const char *name, size_t nl, bool deflated, int level, uint32_t crc,
                      size_t clen, size_t len) {
  put32(lh, SIG_LOCAL);
  put16(lh + 4, deflated ? 20 : 10);
  put16(lh + 6, !deflated ? 0 : level < 3 ? 4 : level > 7 ? 2 : 0);
  put16(lh + 8, deflated ? 8 : 0);
  put16(lh + 10, DOS_TIME);
  put16(lh + 12, DOS_DATE);
  put32(lh + 14, crc);
  put32(lh + 18, (uint32_t)clen);
  put32(lh + 22, (uint32_t)len);
  put16(lh + 26, (unsigned)nl);
  put16(lh + 28, 0);
  memcpy(lh + LOCAL_SIZE, name, nl);
}

void mf_zip_put_central(unsigned char *cd, const unsigned char *lh, size_t offset) {
  size_t nl = get16(lh + 26);
  put32(cd, SIG_CENTRAL);
  put16(cd + 4, MADE_BY);
  memcpy(cd + 6, lh + 4, 26); /* version needed .. name length, as in the local header */
  put16(cd + 30, 0);          /* extra */
  put16(cd + 32, 0);          /* comment */
  put16(cd + 34, 0);          /* disk */
  put16(cd + 36, 0);          /* internal attributes */
  put32(cd + 38, EXTERNAL_ATTR);
  put32(cd + 42, (uint32_t)offset);
  memcpy(cd + CENTRAL_SIZE, lh + LOCAL_SIZE, nl);
}

void mf_zip_put_end(unsigned char *e, size_t n, size_t cd_size, size_t cd_offset) {
  put32(e, SIG_END);
  put16(e + 4, 0);
  put16(e + 6, 0);
  put16(e + 8, (unsigned)n);
  put16(e + 10, (unsigned)n);
  put32(e + 12, (uint32_t)cd_size);
  put32(e + 16, (uint32_t)cd_offset);
  put16(e + 20, 0);
}

int mf_zip_deflate_init(z_stream *zs, int level) {
  memset(zs, 0, sizeof *zs);
  return deflateInit2(zs, level, Z_DEFLATED, -MAX_WBITS, 9, Z_DEFAULT_STRATEGY);
}

void mf_zip_image_free(mf_zip_image *img) {
  if (img->packed)
    for (size_t i = 0; i < img->n_members; i++) free(img->packed[i]);
  free(img->packed);
  free(img->headers);
  free(img->pieces);
  memset(img, 0, sizeof *img);
}

/* Deflates src[0..len-1] as libzip does: 8 KiB of input at a time without flushing, then
 * Z_FINISH. *out is a new buffer of *out_len bytes. */
static bool deflate_member(z_stream *zs, const unsigned char *src, size_t len, unsigned char **out, size_t *out_len,
                           mhrfit_error *err) {
  if (deflateReset(zs) != Z_OK) return MHRFIT_FAIL(err, MHRFIT_ERR_IO, "zlib: deflateReset failed");
  uLong bound = deflateBound(zs, (uLong)len);
  unsigned char *buf = mf_malloc_array((size_t)bound + 16, 1, err);
  if (!buf) return false;
  zs->next_out = buf;
  zs->avail_out = (uInt)(bound + 16);
  size_t fed = 0;
  int ret = Z_OK;
  for (;;) {
    if (zs->avail_in == 0 && fed < len) {
      size_t k = len - fed < MF_ZIP_DEFLATE_CHUNK ? len - fed : MF_ZIP_DEFLATE_CHUNK;
      zs->next_in = (Bytef *)(src + fed);
      zs->avail_in = (uInt)k;
      fed += k;
    }
    bool last = fed == len && zs->avail_in == 0;
    ret = deflate(zs, last ? Z_FINISH : Z_NO_FLUSH);
    if (ret == Z_STREAM_END) break;
    if ((ret != Z_OK && ret != Z_BUF_ERROR) || zs->avail_out == 0) {
      free(buf);
      return MHRFIT_FAIL(err, MHRFIT_ERR_IO, "zlib: deflate failed (%d)", ret);
    }
  }
  *out = buf;
  *out_len = (size_t)zs->total_out;
  return true;
}

mf_zip_status mf_zip_build(const mf_zip_member *m, size_t n, int level, mf_zip_image *img, mhrfit_error *err) {
  memset(img, 0, sizeof *img);
  if (n >= 0xffff) return MF_ZIP_UNSUPPORTED;
  size_t hdr_bytes = END_SIZE, total = 0;
  for (size_t i = 0; i < n; i++) {
    size_t nl = strlen(m[i].name);
    if (nl > 0xffff || !mf_zip_name_plain(m[i].name, nl) || m[i].len > MAX_ARCHIVE) return MF_ZIP_UNSUPPORTED;
    hdr_bytes += LOCAL_SIZE + CENTRAL_SIZE + 2 * nl;
    total += m[i].len;
    if (total > MAX_ARCHIVE) return MF_ZIP_UNSUPPORTED;
  }
  img->n_members = n;
  img->n_pieces = 2 * n + 1;
  img->pieces = mf_calloc_array(img->n_pieces, sizeof *img->pieces, err);
  img->packed = mf_calloc_array(n ? n : 1, sizeof *img->packed, err);
  img->headers = mf_malloc_array(hdr_bytes, 1, err);
  if (!img->pieces || !img->packed || !img->headers) {
    mf_zip_image_free(img);
    return MF_ZIP_FAILED;
  }
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  bool zs_ready = false;
  mf_zip_status st = MF_ZIP_OK;
  /* local headers first in `headers`, then the central directory and end record */
  unsigned char *lh = img->headers;
  size_t local_bytes = 0;
  for (size_t i = 0; i < n; i++) local_bytes += LOCAL_SIZE + strlen(m[i].name);
  unsigned char *cd = img->headers + local_bytes;
  size_t offset = 0;
  for (size_t i = 0; i < n; i++) {
    const unsigned char *src = m[i].data;
    size_t nl = strlen(m[i].name), clen = m[i].len;
    const void *payload = src;
    if (m[i].deflate) {
      if (!zs_ready) {
        if (mf_zip_deflate_init(&zs, level) != Z_OK) {
          MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "zlib: cannot set up the compressor");
          st = MF_ZIP_FAILED;
          break;
        }
        zs_ready = true;
      }
      if (!deflate_member(&zs, src, m[i].len, &img->packed[i], &clen, err)) {
        st = MF_ZIP_FAILED;
        break;
      }
      payload = img->packed[i];
    }
    uint32_t crc = mf_zip_crc(0, src, m[i].len);
    if (offset > MAX_ARCHIVE - LOCAL_SIZE - nl - clen) {
      st = MF_ZIP_UNSUPPORTED;
      break;
    }
    mf_zip_put_local(lh, m[i].name, nl, m[i].deflate, level, crc, clen, m[i].len);
    img->pieces[2 * i] = (mf_piece){lh, LOCAL_SIZE + nl};
    img->pieces[2 * i + 1] = (mf_piece){payload, clen};
    mf_zip_put_central(cd, lh, offset);
    offset += LOCAL_SIZE + nl + clen;
    lh += LOCAL_SIZE + nl;
    cd += CENTRAL_SIZE + nl;
  }
  if (zs_ready) deflateEnd(&zs);
  size_t cd_size = (size_t)(cd - (img->headers + local_bytes));
  if (st == MF_ZIP_OK && offset > MAX_ARCHIVE - cd_size - END_SIZE) st = MF_ZIP_UNSUPPORTED;
  if (st != MF_ZIP_OK) {
    mf_zip_image_free(img);
    return st;
  }
  mf_zip_put_end(cd, n, cd_size, offset);
  img->pieces[2 * n] = (mf_piece){img->headers + local_bytes, cd_size + END_SIZE};
  img->size = offset + cd_size + END_SIZE;
  return MF_ZIP_OK;
}

bool mf_zip_image_flatten(const mf_zip_image *img, unsigned char **out, size_t *len, mhrfit_error *err) {
  unsigned char *buf = mf_malloc_array(img->size ? img->size : 1, 1, err);
  if (!buf) return false;
  size_t at = 0;
  for (size_t i = 0; i < img->n_pieces; i++) {
    if (img->pieces[i].len) memcpy(buf + at, img->pieces[i].data, img->pieces[i].len);
    at += img->pieces[i].len;
  }
  *out = buf;
  *len = at;
  return true;
}

/* ---- reading ---------------------------------------------------------------------------- */

/* True when the central directory extra field ex[0..len-1] holds an Info-ZIP Unicode path
 * record (0x7075), which libzip would take as the name, or is malformed. */
static bool extra_unsupported(const unsigned char *ex, size_t len) {
  while (len >= 4) {
    unsigned id = get16(ex), sz = get16(ex + 2);
    if (sz > len - 4) return true;
    if (id == 0x7075) return true;
    ex += 4 + sz;
    len -= 4 + sz;
  }
  return len != 0;
}

mf_zip_status mf_zip_index(const void *data, size_t len, size_t max_entries, const char *name,
                           mf_zip_entry **entries, size_t *n_out, mhrfit_error *err) {
  const unsigned char *d = data;
  *entries = NULL;
  *n_out = 0;
  if (!d || len < END_SIZE) return MF_ZIP_UNSUPPORTED;
  /* the end record: the last signature whose comment closes the buffer */
  size_t lowest = len - END_SIZE > 0xffff ? len - END_SIZE - 0xffff : 0, eocd = SIZE_MAX;
  for (size_t p = len - END_SIZE + 1; p-- > lowest;) {
    if (d[p] == 0x50 && get32(d + p) == SIG_END && p + END_SIZE + get16(d + p + 20) == len) {
      eocd = p;
      break;
    }
  }
  if (eocd == SIZE_MAX) return MF_ZIP_UNSUPPORTED;
  const unsigned char *e = d + eocd;
  unsigned disk = get16(e + 4), cd_disk = get16(e + 6), n_disk = get16(e + 8), n = get16(e + 10);
  uint32_t cd_size = get32(e + 12), cd_off = get32(e + 16);
  if (disk || cd_disk || n_disk != n || n == 0xffff || cd_size == 0xffffffffu || cd_off == 0xffffffffu)
    return MF_ZIP_UNSUPPORTED;
  if (eocd >= 20 && get32(d + eocd - 20) == SIG_ZIP64_LOCATOR) return MF_ZIP_UNSUPPORTED;
  if ((size_t)cd_off > eocd || (size_t)cd_size != eocd - cd_off) return MF_ZIP_UNSUPPORTED;
  if ((size_t)n > max_entries) {
    MHRFIT_FAIL(err, MHRFIT_ERR_LIMIT, "%s: archive has %u members (limit %zu)", name, n, max_entries);
    return MF_ZIP_FAILED;
  }
  if ((size_t)n * CENTRAL_SIZE > cd_size) return MF_ZIP_UNSUPPORTED;
  mf_zip_entry *es = mf_calloc_array(n ? n : 1, sizeof *es, err);
  if (!es) return MF_ZIP_FAILED;
  const unsigned char *c = d + cd_off, *cd_end = d + eocd;
  for (unsigned i = 0; i < n; i++) {
    if ((size_t)(cd_end - c) < CENTRAL_SIZE || get32(c) != SIG_CENTRAL) goto unsupported;
    unsigned flags = get16(c + 8), method = get16(c + 10);
    uint32_t crc = get32(c + 16), csize = get32(c + 20), usize = get32(c + 24);
    size_t nl = get16(c + 28), el = get16(c + 30), cl = get16(c + 32);
    unsigned start_disk = get16(c + 34);
    uint32_t off = get32(c + 42);
    if ((size_t)(cd_end - c) - CENTRAL_SIZE < nl + el + cl) goto unsupported;
    const char *nm = (const char *)(c + CENTRAL_SIZE);
    if ((flags & 1u) || (method != 0 && method != 8) || start_disk != 0 || csize == 0xffffffffu ||
        usize == 0xffffffffu || off == 0xffffffffu || !mf_zip_name_plain(nm, nl) ||
        extra_unsupported(c + CENTRAL_SIZE + nl, el))
      goto unsupported;
    /* the local header: only its name and extra lengths are used, to find the data */
    if ((size_t)off > cd_off || cd_off - off < LOCAL_SIZE) goto unsupported;
    const unsigned char *l = d + off;
    if (get32(l) != SIG_LOCAL) goto unsupported;
    size_t data_off = (size_t)off + LOCAL_SIZE + get16(l + 26) + get16(l + 28);
    if (data_off > cd_off || cd_off - data_off < csize) goto unsupported;
    es[i] = (mf_zip_entry){nm, nl, (uint16_t)method, crc, csize, usize, d + data_off};
    c += CENTRAL_SIZE + nl + el + cl;
  }
  *entries = es;
  *n_out = n;
  return MF_ZIP_OK;
unsupported:
  free(es);
  return MF_ZIP_UNSUPPORTED;
}

const unsigned char *mf_zip_entry_data(mf_zip_reader *r, const mf_zip_entry *e, unsigned char **owned,
                                       const char **why, mhrfit_error *err) {
  *owned = NULL;
  *why = NULL;
  const unsigned char *out = e->data;
  if (e->method == 0) {
    if (e->csize != e->usize) {
      *why = e->csize < e->usize ? "truncated" : "size mismatch";
      return NULL;
    }
  } else {
    if (!r->ready) {
      memset(&r->zs, 0, sizeof r->zs);
      if (inflateInit2(&r->zs, -MAX_WBITS) != Z_OK) {
        MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "zlib: cannot set up the decompressor");
        return NULL;
      }
      r->ready = true;
    } else if (inflateReset(&r->zs) != Z_OK) {
      MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "zlib: inflateReset failed");
      return NULL;
    }
    unsigned char *buf = mf_malloc_array(e->usize ? (size_t)e->usize : 1, 1, err);
    if (!buf) return NULL;
    /* one more byte of room, so that data inflating to more than the recorded size shows */
    unsigned char extra;
    r->zs.next_in = (Bytef *)e->data;
    r->zs.avail_in = (uInt)e->csize;
    r->zs.next_out = buf;
    r->zs.avail_out = (uInt)e->usize;
    int ret = inflate(&r->zs, Z_FINISH);
    if (ret != Z_STREAM_END && r->zs.avail_out == 0) {
      r->zs.next_out = &extra;
      r->zs.avail_out = 1;
      ret = inflate(&r->zs, Z_FINISH);
      if (r->zs.avail_out == 0) ret = Z_DATA_ERROR; /* more data than the directory says */
    }
    if (ret != Z_STREAM_END || r->zs.total_out != e->usize) {
      free(buf);
      *why = ret == Z_STREAM_END || ret == Z_DATA_ERROR ? "Zlib error: invalid or inconsistent data" : "truncated";
      return NULL;
    }
    *owned = buf;
    out = buf;
  }
  if (mf_zip_crc(0, out, (size_t)e->usize) != e->crc) {
    free(*owned);
    *owned = NULL;
    *why = "CRC error";
    return NULL;
  }
  return out;
}

void mf_zip_reader_end(mf_zip_reader *r) {
  if (r->ready) inflateEnd(&r->zs);
  r->ready = false;
}
