/* Exclusive folder locks (common/lock.h). */
/* flock() is a BSD interface. */
#define _DEFAULT_SOURCE
#include "common/lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/path.h"

struct mf_dir_lock {
  int fd;
  char *path;
};

/* The lock file's text (at most size-1 bytes); empty when unreadable. */
static void read_text(int fd, char *buf, size_t size) {
  ssize_t n = pread(fd, buf, size - 1, 0);
  buf[n > 0 ? n : 0] = '\0';
}

/* Rewrites the lock file in place. */
static void write_text(int fd, const char *text) {
  size_t n = strlen(text);
  if (pwrite(fd, text, n, 0) == (ssize_t)n && ftruncate(fd, (off_t)n) == 0) (void)fsync(fd);
}

static long field_long(const char *text, const char *key) {
  const char *p = strstr(text, key);
  return p ? strtol(p + strlen(key), NULL, 10) : 0;
}

enum { LOCK_TAKEN, LOCK_BUSY, LOCK_FAILED };

/* Opens and locks the lock file into *fd; a file replaced or removed meanwhile (by a holder
 * letting go) is opened again, so two processes never hold locks on two different files of one
 * path. LOCK_BUSY leaves *fd open for reading the holder's id; LOCK_FAILED sets errno. */
static int open_locked(const char *path, int *fd) {
  for (int attempt = 0; attempt < 100; attempt++) {
    if ((*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0) return LOCK_FAILED;
    int rc;
    while ((rc = flock(*fd, LOCK_EX | LOCK_NB)) != 0 && errno == EINTR) {
    }
    if (rc != 0 && errno == EWOULDBLOCK) return LOCK_BUSY;
    int e = errno;
    struct stat a, b;
    if (rc == 0 && fstat(*fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
      return LOCK_TAKEN;
    close(*fd);
    if (rc != 0) {
      errno = e;
      return LOCK_FAILED;
    }
  }
  errno = EAGAIN;
  return LOCK_FAILED;
}

/* The error of a busy folder, naming the holder read from the lock file open as fd (closed). */
static void fail_busy(int fd, const char *dir, mhrfit_error *err) {
  char text[512] = "";
  for (int i = 0; i < 20; i++) { /* the holder writes its id right after taking the lock: give it a moment */
    read_text(fd, text, sizeof text);
    if (field_long(text, "pid ")) break;
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  close(fd);
  long pid = field_long(text, "pid ");
  char holder[160] = "another process";
  const char *w = strstr(text, "what ");
  if (pid) {
    int len = w ? (int)strcspn(w + 5, "\n") : 0;
    snprintf(holder, sizeof holder, "process %ld (%.*s)", pid, len > 80 ? 80 : len, w ? w + 5 : "");
  }
  MHRFIT_FAIL(err, MHRFIT_ERR_BUSY,
              "%s is in use by %s: one output folder takes one run at a time; wait for it to finish or choose "
              "another output folder",
              dir, holder);
}

bool mf_dir_lock_probe(const char *dir, mhrfit_error *err) {
  char *path = mf_path_join(dir, MF_DIR_LOCK_NAME, err);
  if (!path) return false;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  free(path);
  if (fd < 0) return true; /* no lock file (or none readable): nobody holds the folder */
  int rc;
  /* a shared lock: refused while a holder has its exclusive one, and never in the way of another
   * probe */
  while ((rc = flock(fd, LOCK_SH | LOCK_NB)) != 0 && errno == EINTR) {
  }
  if (rc != 0 && errno == EWOULDBLOCK) {
    fail_busy(fd, dir, err);
    return false;
  }
  close(fd); /* also lets go of the lock just taken */
  return true;
}

mf_dir_lock *mf_dir_lock_acquire(const char *dir, const char *what, bool *unclean, mhrfit_error *err) {
  char *path = mf_path_join(dir, MF_DIR_LOCK_NAME, err);
  if (!path) return NULL;
  int fd = -1, state = open_locked(path, &fd);
  char text[512];
  if (state == LOCK_BUSY) {
    fail_busy(fd, dir, err);
    free(path);
    return NULL;
  }
  if (state == LOCK_FAILED) {
    MHRFIT_FAIL(err, MHRFIT_ERR_IO, "%s: cannot create or lock the lock file of the output folder: %s", path,
                strerror(errno));
    free(path);
    return NULL;
  }
  read_text(fd, text, sizeof text);
  if (unclean) *unclean = strstr(text, "state running") != NULL; /* a holder that did not let go */
  char mine[512];
  snprintf(mine, sizeof mine, "pid %ld\nwhat %s\nstarted %lld\nstate running\n", (long)getpid(), what ? what : "mhrfit",
           (long long)time(NULL));
  write_text(fd, mine);
  mf_dir_lock *l = malloc(sizeof *l);
  if (!l) {
    unlink(path);
    close(fd);
    free(path);
    MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
    return NULL;
  }
  l->fd = fd;
  l->path = path;
  return l;
}

void mf_dir_lock_release(mf_dir_lock *l) {
  if (!l) return;
  unlink(l->path); /* before letting go: a process waiting on this file then opens a new one */
  close(l->fd);
  free(l->path);
  free(l);
}
