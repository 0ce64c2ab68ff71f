/* An .npz archive written row by row: see npz_stream.h. */
#include "io/npz_stream.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "common/file.h"
#include "common/mem.h"
#include "io/npy_internal.h"
#include "io/numpy_io.h"
#include "io/zip.h"

enum { ROW_BUF = 32 << 10, BLOCK = 32 * MF_ZIP_DEFLATE_CHUNK, OUT_BUF = 64 << 10 };

typedef struct member {
  char *name;           /* "<name>.npy" */
  bool rows;            /* bytes from mf_npz_stream_write (else `later`) */
  size_t itemsize;
  size_t len;           /* the whole .npy image: header + data */
  size_t offset;        /* of the image in the rows file */
  size_t filled;        /* bytes of the image given so far (header included) */
  unsigned char *buf;   /* bytes not yet written to the rows file */
  size_t buf_len;
  unsigned char hdr[MF_NPY_HEADER_MAX];
  size_t hdr_len;
  mhrfit_array *later;
} member;

struct mf_npz_stream {
  char *path;
  bool compress, begun, closed, failed;
  mhrfit_error err; /* the first failure */
  member *m;
  size_t n, cap;
  size_t rows_bytes;
  mf_atomic_file data; /* the rows file (removed at the end) */
  bool data_open;
  int rfd;             /* the rows file, open for reading */
};

static bool host_is_little(void) {
  uint16_t x = 1;
  unsigned char c;
  memcpy(&c, &x, 1);
  return c == 1;
}

mf_npz_stream *mf_npz_stream_new(const char *path, bool compress, mhrfit_error *err) {
  mf_npz_stream *s = calloc(1, sizeof *s);
  if (!s || !(s->path = mf_strdup(path, err))) {
    free(s);
    if (!s) MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
    return NULL;
  }
  s->compress = compress;
  s->rfd = -1;
  return s;
}

static member *declare(mf_npz_stream *s, const char *name, bool rows) {
  if (s->failed) return NULL;
  size_t nl = strlen(name) + 4;
  if ((rows && s->begun) || s->closed || s->n + 1 >= 0xffff || nl > 0xffff || !mf_zip_name_plain(name, nl - 4)) {
    s->failed = true;
    MHRFIT_FAIL(&s->err, MHRFIT_ERR_ARGUMENT, "%s: member '%s' cannot be declared here", s->path, name);
    return NULL;
  }
  if (!mf_grow((void **)&s->m, &s->cap, s->n + 1, sizeof *s->m, &s->err)) {
    s->failed = true;
    return NULL;
  }
  member *m = &s->m[s->n];
  memset(m, 0, sizeof *m);
  if (!(m->name = mf_strdup_printf(&s->err, "%s.npy", name))) {
    s->failed = true;
    return NULL;
  }
  s->n++;
  return m;
}

int mf_npz_stream_add_rows(mf_npz_stream *s, const char *name, mhrfit_dtype dtype, size_t itemsize, int ndim,
                           const size_t *shape) {
  member *m = declare(s, name, true);
  if (!m) return -1;
  size_t count = 1, bytes;
  for (int i = 0; i < ndim; i++) count = mf_mul_size(count, shape[i], &count) ? count : SIZE_MAX;
  m->rows = true;
  m->itemsize = itemsize;
  m->hdr_len = mf_npy_header(dtype, itemsize, ndim, shape, m->hdr);
  if (count == SIZE_MAX || !mf_mul_size(count, itemsize, &bytes) || !mf_add_size(bytes, m->hdr_len, &m->len) ||
      !mf_add_size(s->rows_bytes, m->len, &s->rows_bytes)) {
    s->failed = true;
    MHRFIT_FAIL(&s->err, MHRFIT_ERR_LIMIT, "%s: member '%s' is too large", s->path, name);
    return -1;
  }
  m->offset = s->rows_bytes - m->len;
  return (int)(s->n - 1);
}

int mf_npz_stream_add_later(mf_npz_stream *s, const char *name) {
  return declare(s, name, false) ? (int)(s->n - 1) : -1;
}

static bool flush_member(mf_npz_stream *s, member *m) {
  if (!m->buf_len) return true;
  const unsigned char *p = m->buf;
  size_t left = m->buf_len, at = m->offset + m->filled - m->buf_len;
  int fd = fileno(s->data.f);
  while (left) {
    ssize_t k = pwrite(fd, p, left, (off_t)at);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) {
      int e = k < 0 ? errno : EIO;
      s->failed = true;
      return MHRFIT_FAIL_ERRNO(&s->err, MHRFIT_ERR_IO, e, "%s: write failed: %s", s->data.tmp_path, strerror(e));
    }
    p += k;
    at += (size_t)k;
    left -= (size_t)k;
  }
  m->buf_len = 0;
  return true;
}

/* Copies n bytes into member m's buffer, writing it out when full. */
static void put_bytes(mf_npz_stream *s, member *m, const unsigned char *src, size_t n, bool swap) {
  while (n && !s->failed) {
    size_t k = ROW_BUF - m->buf_len;
    if (k > n) k = n;
    memcpy(m->buf + m->buf_len, src, k);
    if (swap)
      for (size_t i = 0; i + m->itemsize <= k; i += m->itemsize)
        for (size_t a = 0, b = m->itemsize - 1; a < b; a++, b--) {
          unsigned char t = m->buf[m->buf_len + i + a];
          m->buf[m->buf_len + i + a] = m->buf[m->buf_len + i + b];
          m->buf[m->buf_len + i + b] = t;
        }
    m->buf_len += k;
    m->filled += k;
    src += k;
    n -= k;
    if (m->buf_len == ROW_BUF) flush_member(s, m);
  }
}

bool mf_npz_stream_begin(mf_npz_stream *s) {
  if (s->failed || s->begun) return false;
  s->begun = true;
  if (s->rows_bytes > MF_ZIP_MAX_ARCHIVE) {
    s->failed = true;
    return MHRFIT_FAIL(&s->err, MHRFIT_ERR_LIMIT,
                       "%s: the archive would hold %zu MiB, more than the 2 GiB an archive may hold: write fewer "
                       "frames per file (or no mesh)",
                       s->path, s->rows_bytes >> 20);
  }
  if (!mf_atomic_open(&s->data, s->path, &s->err)) {
    s->failed = true;
    return false;
  }
  s->data_open = true;
  if ((s->rfd = open(s->data.tmp_path, O_RDONLY | O_CLOEXEC)) < 0) {
    int e = errno;
    s->failed = true;
    return MHRFIT_FAIL_ERRNO(&s->err, MHRFIT_ERR_IO, e, "%s: cannot open: %s", s->data.tmp_path, strerror(e));
  }
  for (size_t i = 0; i < s->n; i++) {
    member *m = &s->m[i];
    if (!m->rows) continue;
    if (!(m->buf = malloc(ROW_BUF))) {
      s->failed = true;
      return MHRFIT_FAIL(&s->err, MHRFIT_ERR_NOMEM, "out of memory");
    }
    put_bytes(s, m, m->hdr, m->hdr_len, false);
  }
  return !s->failed;
}

void mf_npz_stream_write(mf_npz_stream *s, int member_index, const void *data, size_t count) {
  if (s->failed) return;
  member *m = member_index >= 0 && (size_t)member_index < s->n ? &s->m[member_index] : NULL;
  size_t bytes;
  if (!s->begun || !m || !m->rows || !mf_mul_size(count, m->itemsize, &bytes) || bytes > m->len - m->filled) {
    s->failed = true;
    MHRFIT_FAIL(&s->err, MHRFIT_ERR_ARGUMENT, "%s: %s past the end of member %s", s->path,
                s->begun ? "write" : "write before the rows file was made", m ? m->name : "(none)");
    return;
  }
  put_bytes(s, m, data, bytes, !host_is_little() && m->itemsize > 1);
}

void mf_npz_stream_set(mf_npz_stream *s, int member_index, mhrfit_array *a) {
  member *m = member_index >= 0 && (size_t)member_index < s->n ? &s->m[member_index] : NULL;
  if (s->failed || !a || !m || m->rows || m->later) {
    if (!s->failed && a)
      MHRFIT_FAIL(&s->err, MHRFIT_ERR_ARGUMENT, "%s: member %s cannot be set", s->path, m ? m->name : "(none)");
    s->failed = true;
    mhrfit_array_free(a);
    return;
  }
  m->later = a;
}

/* ---- closing ------------------------------------------------------------------------------- */

/* The .npy image of one member while the archive is written: in the rows file or in memory. */
typedef struct source {
  mf_npz_stream *s;
  const member *m;
  const unsigned char *mem; /* the image of a later member (else NULL) */
  size_t len;
  unsigned char *scratch;   /* BLOCK bytes */
  bool read_failed;
} source;

/* Reads n bytes of the image at off into dst (rows) or points at them (memory). */
static const unsigned char *source_read(source *src, size_t off, size_t n, unsigned char *dst) {
  if (src->mem) return src->mem + off;
  int fd = src->s->rfd;
  size_t got = 0;
  while (got < n) {
    ssize_t k = pread(fd, dst + got, n - got, (off_t)(src->m->offset + off + got));
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) {
      src->read_failed = true;
      int e = k < 0 ? errno : EIO;
      MHRFIT_FAIL_ERRNO(&src->s->err, MHRFIT_ERR_IO, e, "%s: read failed: %s", src->s->data.tmp_path,
                        e == EIO ? "file shorter than written" : strerror(e));
      return NULL;
    }
    got += (size_t)k;
  }
  return dst;
}

static const void *probe_window(void *ctx, size_t off, size_t n) {
  source *src = ctx;
  return n <= BLOCK ? source_read(src, off, n, src->scratch) : NULL;
}

static bool out_write(mf_npz_stream *s, mf_atomic_file *out, const void *p, size_t n) {
  if (n && fwrite(p, 1, n, out->f) != n) {
    int e = errno;
    s->failed = true;
    return MHRFIT_FAIL_ERRNO(&s->err, MHRFIT_ERR_IO, e, "%s: write failed: %s", out->tmp_path, strerror(e));
  }
  return true;
}

/* Writes the member data of `src` (stored, or deflated from zs as deflate_member() of zip.c
 * feeds it: 8 KiB of input at a time, then Z_FINISH); *crc and *clen receive what the header
 * needs. */
static bool write_data(source *src, z_stream *zs, bool deflated, mf_atomic_file *out, uint32_t *crc, size_t *clen,
                       unsigned char *outbuf) {
  mf_npz_stream *s = src->s;
  *crc = 0;
  *clen = 0;
  if (deflated && deflateReset(zs) != Z_OK) {
    s->failed = true;
    return MHRFIT_FAIL(&s->err, MHRFIT_ERR_IO, "zlib: deflateReset failed");
  }
  size_t done = 0;
  bool finished = !deflated && src->len == 0;
  if (deflated) {
    zs->next_out = outbuf;
    zs->avail_out = OUT_BUF;
  }
  while (!finished) {
    size_t n = src->len - done < BLOCK ? src->len - done : BLOCK;
    const unsigned char *block = n ? source_read(src, done, n, src->scratch) : src->scratch;
    if (!block) {
      s->failed = true;
      return false;
    }
    *crc = mf_zip_crc(*crc, block, n);
    done += n;
    if (!deflated) {
      if (!out_write(s, out, block, n)) return false;
      *clen += n;
      finished = done == src->len;
      continue;
    }
    for (size_t fed = 0;;) {
      if (zs->avail_in == 0 && fed < n) {
        size_t k = n - fed < MF_ZIP_DEFLATE_CHUNK ? n - fed : MF_ZIP_DEFLATE_CHUNK;
        zs->next_in = (Bytef *)(block + fed);
        zs->avail_in = (uInt)k;
        fed += k;
      }
      bool last = done == src->len && fed == n && zs->avail_in == 0;
      int ret = deflate(zs, last ? Z_FINISH : Z_NO_FLUSH);
      if (ret != Z_OK && ret != Z_BUF_ERROR && ret != Z_STREAM_END) {
        s->failed = true;
        return MHRFIT_FAIL(&s->err, MHRFIT_ERR_IO, "zlib: deflate failed (%d)", ret);
      }
      if (zs->avail_out == 0 || ret == Z_STREAM_END) {
        size_t k = OUT_BUF - zs->avail_out;
        if (!out_write(s, out, outbuf, k)) return false;
        *clen += k;
        zs->next_out = outbuf;
        zs->avail_out = OUT_BUF;
      }
      if (ret == Z_STREAM_END) {
        finished = true;
        break;
      }
      if (fed == n && zs->avail_in == 0 && !last) break; /* the next block */
    }
  }
  return true;
}

static bool patch(mf_npz_stream *s, mf_atomic_file *out, const unsigned char *p, size_t n, size_t at) {
  int fd = fileno(out->f);
  while (n) {
    ssize_t k = pwrite(fd, p, n, (off_t)at);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) {
      int e = k < 0 ? errno : EIO;
      s->failed = true;
      return MHRFIT_FAIL_ERRNO(&s->err, MHRFIT_ERR_IO, e, "%s: write failed: %s", out->tmp_path, strerror(e));
    }
    p += k;
    n -= (size_t)k;
    at += (size_t)k;
  }
  return true;
}

/* One member: its local header (patched once the sizes are known), its data, its directory entry. */
static bool write_member(mf_npz_stream *s, member *m, z_stream *zs, bool *zs_ready, mf_atomic_file *out,
                         size_t *offset, unsigned char *cd, unsigned char *scratch, unsigned char *outbuf) {
  void *image = NULL;
  source src = {s, m, NULL, m->len, scratch, false};
  if (!m->rows) {
    if (!m->later) {
      s->failed = true;
      return MHRFIT_FAIL(&s->err, MHRFIT_ERR_ARGUMENT, "%s: member %s was never given", s->path, m->name);
    }
    if (!mhrfit_npy_serialize(m->later, &image, &src.len, &s->err)) {
      s->failed = true;
      return false;
    }
    src.mem = image;
  } else if (m->filled != m->len) {
    s->failed = true;
    return MHRFIT_FAIL(&s->err, MHRFIT_ERR_ARGUMENT, "%s: member %s got %zu of its %zu bytes", s->path, m->name,
                       m->filled - m->hdr_len, m->len - m->hdr_len);
  }
  bool deflated = s->compress && mf_npz_deflate_pays(src.len, probe_window, &src);
  bool ok = !src.read_failed;
  if (ok && deflated && !*zs_ready) {
    ok = mf_zip_deflate_init(zs, 1) == Z_OK;
    if (!ok) MHRFIT_FAIL(&s->err, MHRFIT_ERR_NOMEM, "zlib: cannot set up the compressor");
    *zs_ready = ok;
  }
  size_t nl = strlen(m->name), clen = 0;
  unsigned char *lh = ok ? mf_malloc_array(MF_ZIP_LOCAL_SIZE + nl, 1, &s->err) : NULL;
  uint32_t crc = 0;
  if (lh) mf_zip_put_local(lh, m->name, nl, deflated, 1, 0, 0, 0);
  ok = lh && out_write(s, out, lh, MF_ZIP_LOCAL_SIZE + nl) && write_data(&src, zs, deflated, out, &crc, &clen, outbuf);
  free(image);
  if (ok && *offset + MF_ZIP_LOCAL_SIZE + nl + clen > MF_ZIP_MAX_ARCHIVE) {
    ok = MHRFIT_FAIL(&s->err, MHRFIT_ERR_LIMIT, "%s: the archive would exceed 2 GiB", s->path);
  }
  if (!ok) {
    free(lh);
    s->failed = true;
    return false;
  }
  mf_zip_put_local(lh, m->name, nl, deflated, 1, crc, clen, src.len);
  if (fflush(out->f) != 0) {
    int e = errno;
    MHRFIT_FAIL_ERRNO(&s->err, MHRFIT_ERR_IO, e, "%s: write failed: %s", out->tmp_path, strerror(e));
    s->failed = true;
  }
  if (s->failed || !patch(s, out, lh, MF_ZIP_LOCAL_SIZE, *offset)) {
    free(lh);
    return false;
  }
  mf_zip_put_central(cd, lh, *offset);
  free(lh);
  *offset += MF_ZIP_LOCAL_SIZE + nl + clen;
  return true;
}

/* Closes and removes the rows file. */
static void close_rows(mf_npz_stream *s) {
  if (s->rfd >= 0) close(s->rfd);
  s->rfd = -1;
  if (s->data_open) mf_atomic_abort(&s->data);
  s->data_open = false;
}

bool mf_npz_stream_close(mf_npz_stream *s, mhrfit_error *err) {
  if (!s->failed && !s->begun) mf_npz_stream_begin(s);
  for (size_t i = 0; i < s->n && !s->failed; i++) flush_member(s, &s->m[i]);
  size_t cd_bytes = MF_ZIP_END_SIZE;
  for (size_t i = 0; i < s->n; i++) cd_bytes += MF_ZIP_CENTRAL_SIZE + strlen(s->m[i].name);
  unsigned char *cd = s->failed ? NULL : mf_malloc_array(cd_bytes, 1, &s->err);
  unsigned char *scratch = cd ? mf_malloc_array(BLOCK + OUT_BUF, 1, &s->err) : NULL;
  mf_atomic_file out;
  bool out_open = scratch && mf_atomic_open(&out, s->path, &s->err);
  if (!out_open) s->failed = true;
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  bool zs_ready = false;
  size_t offset = 0, at = 0;
  for (size_t i = 0; i < s->n && !s->failed; i++) {
    if (write_member(s, &s->m[i], &zs, &zs_ready, &out, &offset, cd + at, scratch, scratch + BLOCK))
      at += MF_ZIP_CENTRAL_SIZE + strlen(s->m[i].name);
  }
  if (zs_ready) deflateEnd(&zs);
  if (!s->failed && offset + at + MF_ZIP_END_SIZE > MF_ZIP_MAX_ARCHIVE) {
    s->failed = true;
    MHRFIT_FAIL(&s->err, MHRFIT_ERR_LIMIT, "%s: the archive would exceed 2 GiB", s->path);
  }
  if (!s->failed) {
    mf_zip_put_end(cd + at, s->n, at, offset);
    if (out_write(s, &out, cd, at + MF_ZIP_END_SIZE) && !mf_atomic_commit(&out, &s->err)) s->failed = true;
    out_open = false;
  }
  if (out_open) mf_atomic_abort(&out);
  free(cd);
  free(scratch);
  close_rows(s);
  s->closed = true;
  if (s->failed && err) *err = s->err;
  return !s->failed;
}

void mf_npz_stream_free(mf_npz_stream *s) {
  if (!s) return;
  close_rows(s);
  for (size_t i = 0; i < s->n; i++) {
    free(s->m[i].name);
    free(s->m[i].buf);
    mhrfit_array_free(s->m[i].later);
  }
  free(s->m);
  free(s->path);
  free(s);
}
