/* Whole-file reads and atomic writes. */
#include "common/file.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/mem.h"
#include "common/path.h"
#include "mhrfit/value.h"

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif

bool mf_read_full(int fd, void *buf, size_t cap, size_t *got) {
  *got = 0;
  while (*got < cap) {
    ssize_t r = read(fd, (unsigned char *)buf + *got, cap - *got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return false;
    if (r == 0) break;
    *got += (size_t)r;
  }
  return true;
}

/* Reads exactly `size` bytes from fd into a new NUL-terminated buffer. */
static bool read_fd(int fd, const char *path, size_t size, unsigned char **data, mhrfit_error *err) {
  unsigned char *buf = mf_malloc_array(size + 1, 1, err);
  if (!buf) return false;
  size_t got;
  bool ok = mf_read_full(fd, buf, size, &got);
  if (!ok || got < size) { /* a read error, or the file shrank */
    int e = ok ? 0 : errno;
    free(buf);
    return MHRFIT_FAIL_ERRNO(err, MHRFIT_ERR_IO, e, "%s: read failed (%zu of %zu bytes)%s%s", path, got, size,
                             e ? ": " : "", e ? strerror(e) : "");
  }
  buf[size] = '\0';
  *data = buf;
  return true;
}

const char *mf_file_type_name(mode_t mode) {
  if (S_ISREG(mode)) return "a regular file";
  if (S_ISDIR(mode)) return "a folder";
  if (S_ISFIFO(mode)) return "a named pipe (FIFO)";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return "a special file";
}

int mf_open_regular(const char *path, unsigned flags, struct stat *st, mhrfit_error *err) {
  int fd;
  /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer */
  do fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    int e = errno;
    if ((flags & MF_READ_ABSENT_OK) && (e == ENOENT || e == ENOTDIR)) return -2;
    MHRFIT_FAIL_ERRNO(err, MHRFIT_ERR_IO, e, "%s: cannot open: %s", path, strerror(e));
    return -1;
  }
  struct stat sb;
  if (fstat(fd, &sb) != 0) {
    int e = errno;
    close(fd);
    MHRFIT_FAIL_ERRNO(err, MHRFIT_ERR_IO, e, "%s: cannot read its status: %s", path, strerror(e));
    return -1;
  }
  if (!S_ISREG(sb.st_mode)) {
    close(fd);
    if ((flags & MF_READ_ABSENT_OK) && S_ISDIR(sb.st_mode)) return -2;
    MHRFIT_FAIL(err, MHRFIT_ERR_IO, "%s: is %s, not a regular file%s", path, mf_file_type_name(sb.st_mode),
                S_ISDIR(sb.st_mode) ? "" : " (inputs are read from regular files only)");
    return -1;
  }
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0) (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
  if (st) *st = sb;
  return fd;
}

bool mf_read_head(const char *path, void *buf, size_t cap, size_t *n, mhrfit_error *err) {
  *n = 0;
  int fd = mf_open_regular(path, 0, NULL, err);
  if (fd < 0) return false;
  bool ok = mf_read_full(fd, buf, cap, n);
  int e = errno;
  close(fd);
  return ok || MHRFIT_FAIL_ERRNO(err, MHRFIT_ERR_IO, e, "%s: read failed: %s", path, strerror(e));
}

mf_read_status mf_read_file_opt(const char *path, size_t max_bytes, unsigned flags, unsigned char **data,
                                size_t *len, struct stat *st, mhrfit_error *err) {
  *data = NULL;
  *len = 0;
  struct stat sb;
  int fd = mf_open_regular(path, flags & MF_READ_ABSENT_OK, &sb, err);
  if (fd < 0) return fd == -2 ? MF_READ_ABSENT : MF_READ_FAILED;
  if (sb.st_size < 0 || (uintmax_t)sb.st_size >= (uintmax_t)SIZE_MAX) {
    close(fd);
    MHRFIT_FAIL(err, MHRFIT_ERR_LIMIT, "%s: file too large", path);
    return MF_READ_FAILED;
  }
  size_t size = (size_t)sb.st_size;
  if (max_bytes && size > max_bytes) {
    close(fd);
    if (flags & MF_READ_LARGE_OK) {
      if (st) *st = sb;
      return MF_READ_TOO_LARGE;
    }
    MHRFIT_FAIL(err, MHRFIT_ERR_LIMIT, "%s: file of %zu bytes exceeds the limit of %zu bytes", path, size, max_bytes);
    return MF_READ_FAILED;
  }
  bool ok = read_fd(fd, path, size, data, err);
  close(fd);
  if (!ok) return MF_READ_FAILED;
  *len = size;
  if (st) *st = sb;
  return MF_READ_OK;
}

bool mf_read_file(const char *path, size_t max_bytes, unsigned char **data, size_t *len, mhrfit_error *err) {
  return mf_read_file_opt(path, max_bytes, 0, data, len, NULL, err) == MF_READ_OK;
}

/* ---- temporary files ------------------------------------------------------------------------- */

/* Creates a new file "<path>.tmp<pid>.<n>" exclusively (mode 0644 less the umask) and returns
 * its descriptor, the name in *tmp_out (malloc'd); -1 with err filled on failure. The process id
 * is read once: a clash (a forked child, a stale file of a dead process) only costs a retry. */
static int create_temp(const char *path, char **tmp_out, mhrfit_error *err) {
  static atomic_uint counter;
  static atomic_long pid_cache;
  long pid = atomic_load(&pid_cache);
  if (!pid) {
    pid = (long)getpid();
    atomic_store(&pid_cache, pid);
  }
  size_t n = strlen(path) + 48;
  char *tmp = mf_malloc_array(n, 1, err);
  if (!tmp) return -1;
  for (int attempt = 0; attempt < 1000; attempt++) {
    unsigned k = atomic_fetch_add(&counter, 1u);
    snprintf(tmp, n, "%s.tmp%ld.%u", path, pid, k);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) {
      *tmp_out = tmp;
      return fd;
    }
    if (errno != EEXIST && errno != EINTR) break;
  }
  int e = errno;
  MHRFIT_FAIL_ERRNO(err, MHRFIT_ERR_IO, e, "%s: cannot create a temporary file beside it: %s", path, strerror(e));
  free(tmp);
  return -1;
}

/* Writes every piece to fd with writev (batches of 64, resuming after short writes). */
static bool write_all(int fd, const mf_piece *pieces, size_t n) {
  struct iovec iov[64];
  size_t i = 0, skip = 0; /* bytes of pieces[i] already written */
  while (i < n) {
    int cnt = 0;
    for (size_t j = i; j < n && cnt < 64; j++) {
      size_t off = j == i ? skip : 0;
      if (pieces[j].len == off) continue;
      iov[cnt].iov_base = (void *)((const char *)pieces[j].data + off);
      iov[cnt].iov_len = pieces[j].len - off;
      cnt++;
    }
    if (cnt == 0) return true;
    ssize_t w = writev(fd, iov, cnt);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      if (w == 0) errno = EIO;
      return false;
    }
    size_t left = (size_t)w;
    while (i < n && left >= pieces[i].len - skip) {
      left -= pieces[i].len - skip;
      skip = 0;
      i++;
    }
    skip += left;
  }
  return true;
}

bool mf_write_pieces_atomic(const char *path, const mf_piece *pieces, size_t n, unsigned flags, struct stat *st,
                            mhrfit_error *err) {
  char *tmp = NULL;
  int fd = create_temp(path, &tmp, err);
  if (fd < 0) return false;
  bool ok = write_all(fd, pieces, n);
  int e = errno;
  if (ok && (flags & MF_WRITE_SYNC) && fsync(fd) != 0) {
    ok = false;
    e = errno;
  }
  if (ok && st && fstat(fd, st) != 0) {
    ok = false;
    e = errno;
  }
  if (close(fd) != 0 && ok) {
    ok = false;
    e = errno;
  }
  if (!ok) {
    unlink(tmp);
    free(tmp);
    return MHRFIT_FAIL_ERRNO(err, MHRFIT_ERR_IO, e, "%s: write failed: %s", path, strerror(e));
  }
  if (rename(tmp, path) != 0) {
    e = errno;
    unlink(tmp);
    free(tmp);
    return MHRFIT_FAIL_ERRNO(err, MHRFIT_ERR_IO, e, "%s: cannot rename temporary file into place: %s", path,
                             strerror(e));
  }
  free(tmp);
  return true;
}

bool mf_sync_file(const char *path, mhrfit_error *err) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    return MHRFIT_FAIL_ERRNO(err, MHRFIT_ERR_IO, e, "%s: cannot open: %s", path, strerror(e));
  }
  bool ok = fsync(fd) == 0;
  int e = errno;
  close(fd);
  return ok || MHRFIT_FAIL_ERRNO(err, MHRFIT_ERR_IO, e, "%s: fsync failed: %s", path, strerror(e));
}

#define AF_BUF_SIZE ((size_t)1 << 16)

bool mf_atomic_open(mf_atomic_file *af, const char *path, mhrfit_error *err) {
  memset(af, 0, sizeof *af);
  af->path = mf_strdup(path, err);
  if (!af->path) return false;
  int fd = create_temp(path, &af->tmp_path, err);
  if (fd < 0) {
    free(af->path);
    memset(af, 0, sizeof *af);
    return false;
  }
  af->f = fdopen(fd, "wb");
  /* 64 KiB writes instead of stdio's 4 KiB (stage1_meta.json of 1,000 frames is 2.4 MB); glibc
   * ignores the size unless it is given the buffer */
  if (af->f && (af->buf = malloc(AF_BUF_SIZE)) != NULL) setvbuf(af->f, af->buf, _IOFBF, AF_BUF_SIZE);
  if (!af->f) {
    close(fd);
    unlink(af->tmp_path);
    MHRFIT_FAIL(err, MHRFIT_ERR_IO, "%s: cannot open temporary file", path);
    free(af->path);
    free(af->tmp_path);
    memset(af, 0, sizeof *af);
    return false;
  }
  return true;
}

void mf_atomic_abort(mf_atomic_file *af) {
  if (af->f) fclose(af->f);
  if (af->tmp_path) unlink(af->tmp_path);
  free(af->buf);
  free(af->path);
  free(af->tmp_path);
  memset(af, 0, sizeof *af);
}

bool mf_atomic_commit(mf_atomic_file *af, mhrfit_error *err) {
  int e = 0;
  bool earlier = false; /* a write before the commit failed (its errno is gone) */
  if (fflush(af->f) != 0) e = errno ? errno : EIO;
  else if (ferror(af->f)) earlier = true;
  else if (fsync(fileno(af->f)) != 0) e = errno;
  if (fclose(af->f) != 0 && !e && !earlier) e = errno ? errno : EIO;
  af->f = NULL;
  if (e || earlier) {
    if (earlier) MHRFIT_FAIL(err, MHRFIT_ERR_IO, "%s: write failed (an earlier write to it failed)", af->path);
    else MHRFIT_FAIL_ERRNO(err, MHRFIT_ERR_IO, e, "%s: write failed: %s", af->path, strerror(e));
    mf_atomic_abort(af);
    return false;
  }
  if (rename(af->tmp_path, af->path) != 0) {
    int e2 = errno;
    MHRFIT_FAIL_ERRNO(err, MHRFIT_ERR_IO, e2, "%s: cannot rename temporary file into place: %s", af->path,
                      strerror(e2));
    mf_atomic_abort(af);
    return false;
  }
  free(af->buf);
  free(af->path);
  free(af->tmp_path);
  memset(af, 0, sizeof *af);
  return true;
}

bool mf_write_file_atomic(const char *path, const void *data, size_t len, mhrfit_error *err) {
  mf_piece p = {data, len};
  return mf_write_pieces_atomic(path, &p, 1, MF_WRITE_SYNC, NULL, err);
}

bool mf_write_json_atomic(const char *path, const mhrfit_value *v, int indent, mhrfit_error *err) {
  mf_atomic_file af;
  if (!mf_atomic_open(&af, path, err)) return false;
  if (!mhrfit_value_write_json(v, af.f, indent, err) || fputc('\n', af.f) == EOF) {
    if (err && !err->type) {
      int e = errno;
      MHRFIT_FAIL_ERRNO(err, MHRFIT_ERR_IO, e, "%s: write failed: %s", path, strerror(e));
    } else {
      mhrfit_error_prefix(err, "%s", path); /* "path: writing JSON failed: No space left on device" */
    }
    mf_atomic_abort(&af);
    return false;
  }
  return mf_atomic_commit(&af, err);
}

/* ---- stale temporary files ------------------------------------------------------------------- */

/* The process id of a name "<name>.tmp<pid>.<n>", or 0 when the name is not of that form. */
static long temp_owner(const char *name) {
  const char *t = NULL;
  for (const char *p = strstr(name, ".tmp"); p; p = strstr(p + 1, ".tmp")) t = p;
  if (!t || t == name) return 0;
  char *end;
  long pid = strtol(t + 4, &end, 10);
  if (pid <= 0 || *end != '.' || end[1] < '0' || end[1] > '9') return 0;
  strtoul(end + 1, &end, 10);
  return *end ? 0 : pid;
}

size_t mf_remove_stale_temps(const char *dir, int depth) {
  mf_entries e;
  if (!mf_list_entries(dir, true, &e, NULL)) return 0;
  size_t removed = 0;
  for (size_t i = 0; i < e.count; i++) {
    const mf_dir_entry *it = &e.items[i];
    if (it->via_link) continue;
    char *p = mf_path_join(dir, it->name, NULL);
    if (!p) continue;
    if (it->type == MF_ENTRY_DIR && depth > 0) {
      removed += mf_remove_stale_temps(p, depth - 1);
    } else if (it->type == MF_ENTRY_FILE) {
      long pid = temp_owner(it->name);
      if (pid && (pid_t)pid != getpid() && kill((pid_t)pid, 0) != 0 && errno == ESRCH && unlink(p) == 0) removed++;
    }
    free(p);
  }
  mf_entries_free(&e);
  return removed;
}
