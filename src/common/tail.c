/* The end of a child's output: see tail.h. */
#define _GNU_SOURCE /* pipe2 */
#include "common/tail.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void mf_tail_add(mf_tail *t, const char *data, size_t n) {
  if (n >= MF_TAIL_BYTES) {
    memcpy(t->buf, data + n - MF_TAIL_BYTES, MF_TAIL_BYTES);
    t->len = MF_TAIL_BYTES;
    return;
  }
  if (t->len + n > MF_TAIL_BYTES) {
    size_t drop = t->len + n - MF_TAIL_BYTES;
    memmove(t->buf, t->buf + drop, t->len - drop);
    t->len -= drop;
  }
  memcpy(t->buf + t->len, data, n);
  t->len += n;
}

void mf_tail_clear(mf_tail *t) { t->len = 0; }

void mf_tail_lines(const mf_tail *t, size_t max_lines, char *out, size_t size) {
  if (!size) return;
  out[0] = '\0';
  /* the starts and lengths of the last max_lines non-blank lines, found from the end */
  enum { MAXL = 16 };
  size_t start[MAXL], len[MAXL], n = 0;
  if (max_lines > MAXL) max_lines = MAXL;
  size_t end = t->len;
  while (end > 0 && n < max_lines) {
    size_t b = end;
    while (b > 0 && t->buf[b - 1] != '\n') b--;
    size_t s = b, e = end;
    while (s < e && (t->buf[s] == ' ' || t->buf[s] == '\t' || t->buf[s] == '\r')) s++;
    while (e > s && (t->buf[e - 1] == ' ' || t->buf[e - 1] == '\t' || t->buf[e - 1] == '\r')) e--;
    if (e > s && !(b == 0 && t->len == MF_TAIL_BYTES)) { /* a line cut at the front is dropped */
      start[n] = s;
      len[n++] = e - s;
    }
    end = b > 0 ? b - 1 : 0;
  }
  size_t o = 0;
  for (size_t k = n; k-- > 0 && o + 1 < size;) {
    size_t l = len[k] > 300 ? 300 : len[k];
    int w = snprintf(out + o, size - o, "%s%.*s", k + 1 < n ? " | " : "", (int)l, t->buf + start[k]);
    if (w < 0) break;
    o += (size_t)w;
    if (o >= size) o = size - 1;
  }
  /* control characters (colour codes, NUL) would garble an error line */
  for (size_t i = 0; i < o; i++)
    if ((unsigned char)out[i] < 0x20) out[i] = ' ';
}

bool mf_tail_read(mf_tail *t, int fd, int echo) {
  char chunk[4096];
  for (;;) {
    ssize_t r = read(fd, chunk, sizeof chunk);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
    if (r == 0) return false;
    mf_tail_add(t, chunk, (size_t)r);
    for (ssize_t off = 0; echo >= 0 && off < r;) {
      ssize_t w = write(echo, chunk + off, (size_t)(r - off));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) break;
      off += w;
    }
    if ((size_t)r < sizeof chunk) return true;
  }
}

bool mf_tail_run(const char *cmd, mf_tail *tail, int *status) {
  int pfd[2];
  if (pipe2(pfd, O_CLOEXEC) != 0) return false;
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(pfd[0]);
    close(pfd[1]);
    errno = e;
    return false;
  }
  if (pid == 0) {
    signal(SIGPIPE, SIG_DFL);
    if (dup2(pfd[1], STDOUT_FILENO) < 0 || dup2(pfd[1], STDERR_FILENO) < 0) _exit(126);
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  close(pfd[1]);
  fcntl(pfd[0], F_SETFL, fcntl(pfd[0], F_GETFL) | O_NONBLOCK);
  bool open = true, exited = false;
  int polls_after_exit = 0;
  while (!exited || (open && polls_after_exit < 10)) {
    struct pollfd p = {pfd[0], POLLIN, 0};
    int r = 0;
    if (open) {
      r = poll(&p, 1, 100);
    } else {
      struct timespec ts = {0, 100 * 1000 * 1000};
      nanosleep(&ts, NULL);
    }
    if (r > 0) open = mf_tail_read(tail, pfd[0], STDERR_FILENO);
    if (exited) {
      polls_after_exit++;
      continue;
    }
    pid_t w = waitpid(pid, status, WNOHANG);
    if (w == pid) exited = true;
    else if (w < 0 && errno != EINTR) {
      int e = errno;
      close(pfd[0]);
      errno = e;
      return false;
    }
  }
  close(pfd[0]);
  return true;
}
