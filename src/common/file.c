/* Whole-file reads and atomic writes. */
#include "common/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/mem.h"
#include "mhrfit/value.h"

bool mf_read_file(const char *path, size_t max_bytes, unsigned char **data, size_t *len, mhrfit_error *err) {
  *data = NULL;
  *len = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return MHRFIT_FAIL(err, MHRFIT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
    fclose(f);
    return MHRFIT_FAIL(err, MHRFIT_ERR_IO, "%s: not a regular file", path);
  }
  size_t size = (size_t)st.st_size;
  if (max_bytes && size > max_bytes) {
    fclose(f);
    return MHRFIT_FAIL(err, MHRFIT_ERR_LIMIT, "%s: file of %zu bytes exceeds the limit of %zu bytes", path, size,
                       max_bytes);
  }
  unsigned char *buf = mf_malloc_array(size + 1, 1, err);
  if (!buf) {
    fclose(f);
    return false;
  }
  size_t got = fread(buf, 1, size, f);
  bool bad = ferror(f) != 0;
  fclose(f);
  if (bad || got != size) {
    free(buf);
    return MHRFIT_FAIL(err, MHRFIT_ERR_IO, "%s: read failed (%zu of %zu bytes)", path, got, size);
  }
  buf[size] = '\0';
  *data = buf;
  *len = size;
  return true;
}

bool mf_atomic_open(mf_atomic_file *af, const char *path, mhrfit_error *err) {
  memset(af, 0, sizeof *af);
  size_t n = strlen(path);
  af->path = mf_strdup(path, err);
  af->tmp_path = mf_malloc_array(n + 16, 1, err);
  if (!af->path || !af->tmp_path) goto fail;
  snprintf(af->tmp_path, n + 16, "%s.tmpXXXXXX", path);
  int fd = mkstemp(af->tmp_path);
  if (fd < 0) {
    MHRFIT_FAIL(err, MHRFIT_ERR_IO, "%s: cannot create a temporary file beside it: %s", path, strerror(errno));
    goto fail;
  }
  fchmod(fd, 0644);
  af->f = fdopen(fd, "wb");
  if (!af->f) {
    close(fd);
    unlink(af->tmp_path);
    MHRFIT_FAIL(err, MHRFIT_ERR_IO, "%s: cannot open temporary file", path);
    goto fail;
  }
  return true;
fail:
  free(af->path);
  free(af->tmp_path);
  memset(af, 0, sizeof *af);
  return false;
}

void mf_atomic_abort(mf_atomic_file *af) {
  if (af->f) fclose(af->f);
  if (af->tmp_path) unlink(af->tmp_path);
  free(af->path);
  free(af->tmp_path);
  memset(af, 0, sizeof *af);
}

bool mf_atomic_commit(mf_atomic_file *af, mhrfit_error *err) {
  bool ok = fflush(af->f) == 0 && !ferror(af->f) && fsync(fileno(af->f)) == 0;
  int e = errno;
  if (fclose(af->f) != 0) ok = false;
  af->f = NULL;
  if (!ok) {
    MHRFIT_FAIL(err, MHRFIT_ERR_IO, "%s: write failed: %s", af->path, strerror(e));
    mf_atomic_abort(af);
    return false;
  }
  if (rename(af->tmp_path, af->path) != 0) {
    MHRFIT_FAIL(err, MHRFIT_ERR_IO, "%s: cannot rename temporary file into place: %s", af->path, strerror(errno));
    mf_atomic_abort(af);
    return false;
  }
  free(af->path);
  free(af->tmp_path);
  memset(af, 0, sizeof *af);
  return true;
}

bool mf_write_file_atomic(const char *path, const void *data, size_t len, mhrfit_error *err) {
  mf_atomic_file af;
  if (!mf_atomic_open(&af, path, err)) return false;
  if (len && fwrite(data, 1, len, af.f) != len) {
    MHRFIT_FAIL(err, MHRFIT_ERR_IO, "%s: write failed", path);
    mf_atomic_abort(&af);
    return false;
  }
  return mf_atomic_commit(&af, err);
}

bool mf_write_json_atomic(const char *path, const mhrfit_value *v, int indent, mhrfit_error *err) {
  mf_atomic_file af;
  if (!mf_atomic_open(&af, path, err)) return false;
  if (!mhrfit_value_write_json(v, af.f, indent, err) || fputc('\n', af.f) == EOF) {
    if (err && !err->type) MHRFIT_FAIL(err, MHRFIT_ERR_IO, "%s: write failed", path);
    mf_atomic_abort(&af);
    return false;
  }
  return mf_atomic_commit(&af, err);
}
