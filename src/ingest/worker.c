/* Persistent estimator workers: see worker.h and the protocol in include/mhrfit/ingest.h.
 *
 * Each worker is `/bin/sh -c CMD` in its own process group, its stdin and stdout one end of a
 * UNIX socket pair (sends use MSG_NOSIGNAL, so a dead worker is an error, never a SIGPIPE), its
 * stderr a pipe copied to ours as it comes, its last lines kept to explain a failed start. One
 * event loop (poll) starts workers, sends requests to idle ones,
 * reads reply lines and enforces the start and request deadlines. */
#define _GNU_SOURCE /* MSG_NOSIGNAL, SOCK_CLOEXEC */
#include "ingest/worker.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/mem.h"
#include "common/tail.h"

/* Longest line accepted from a worker. */
#define LINE_MAX_BYTES ((size_t)1 << 20)
/* Seconds a worker gets to exit after its stdin is closed, then after SIGTERM. */
#define EXIT_GRACE 5.0
#define TERM_GRACE 2.0

typedef enum { W_DOWN = 0, W_STARTING, W_IDLE, W_BUSY } wstate;

typedef struct worker {
  int index;
  wstate state;
  pid_t pid;
  int fd;
  int errfd;  /* read end of its stderr pipe, -1 once closed */
  mf_tail tail; /* the end of this process's stderr */
  double deadline; /* start or request deadline; INFINITY = none */
  double sent_at;
  char *buf; /* bytes read, not yet a complete line */
  size_t len, cap;
  size_t failures;       /* in a row */
  size_t job;            /* the job being processed (W_BUSY) */
  bool confirmed;        /* this process said ready or answered a request (speaks the protocol) */
  bool proven;           /* a process of this worker did so before (the command works) */
  bool says_ready;       /* ... and said ready (the command sends ready lines) */
  unsigned long long id; /* its request id */
  char last[1024];       /* last failure */
} worker;

struct mf_worker_pool {
  mf_worker_pool_options o;
  char *command;
  worker *w;
  size_t starts;
  unsigned long long next_id;
};

static void plog(const mf_worker_pool *p, int level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void plog(const mf_worker_pool *p, int level, const char *fmt, ...) {
  if (!p->o.log) return;
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  p->o.log(p->o.user, level, buf);
}

mf_worker_pool *mf_worker_pool_new(const mf_worker_pool_options *o, mhrfit_error *err) {
  if (!o || !o->command || !*o->command) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "no worker command");
    return NULL;
  }
  if (o->workers < 1 || o->workers > 1024) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "workers must be within 1..1024, not %zu", o->workers);
    return NULL;
  }
  if (!(o->timeout >= 0) || !(o->start_timeout > 0)) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "worker timeouts must be positive");
    return NULL;
  }
  mf_worker_pool *p = calloc(1, sizeof *p);
  if (!p || !(p->command = mf_strdup(o->command, err)) || !(p->w = mf_calloc_array(o->workers, sizeof *p->w, err))) {
    if (!p) MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
    if (p) free(p->command);
    free(p);
    return NULL;
  }
  p->o = *o;
  p->o.command = p->command;
  for (size_t i = 0; i < o->workers; i++) {
    p->w[i].index = (int)i;
    p->w[i].fd = -1;
    p->w[i].errfd = -1;
  }
  return p;
}

size_t mf_worker_pool_starts(const mf_worker_pool *p) { return p ? p->starts : 0; }

/* Copies s into dst (size bytes), cut to fit. */
static void copy_text(char *dst, size_t size, const char *s) {
  size_t n = s ? strlen(s) : 0;
  if (n >= size) n = size - 1;
  if (n) memcpy(dst, s, n);
  dst[n] = '\0';
}

/* ---- processes ---------------------------------------------------------------------------- */

/* The command with every {worker} replaced by the index. */
static char *worker_command(const char *tmpl, int index) {
  char num[16];
  snprintf(num, sizeof num, "%d", index);
  size_t n = 0;
  for (const char *s = tmpl; *s;) {
    if (strncmp(s, "{worker}", 8) == 0) {
      n += strlen(num);
      s += 8;
    } else {
      n++;
      s++;
    }
  }
  char *out = malloc(n + 1), *d = out;
  if (!out) return NULL;
  for (const char *s = tmpl; *s;) {
    if (strncmp(s, "{worker}", 8) == 0) {
      memcpy(d, num, strlen(num));
      d += strlen(num);
      s += 8;
    } else {
      *d++ = *s++;
    }
  }
  *d = '\0';
  return out;
}

/* Describes how a process ended. */
static void describe_status(int status, char *buf, size_t size) {
  if (WIFSIGNALED(status))
    snprintf(buf, size, "killed by signal %d", WTERMSIG(status));
  else if (WIFEXITED(status))
    snprintf(buf, size, "exited with status %d", WEXITSTATUS(status));
  else
    snprintf(buf, size, "ended");
}

/* Waits up to `grace` seconds for pid; true when it was reaped (its status in *status). The
 * stderr of `w` (NULL: none) is copied on meanwhile, so that writing it never keeps the worker
 * from ending. */
static void drain_stderr(worker *w, bool last);
static bool reap(pid_t pid, double grace, int *status, worker *w) {
  double end = mf_now_seconds() + grace;
  for (;;) {
    pid_t r = waitpid(pid, status, WNOHANG);
    if (r == pid || (r < 0 && errno != EINTR)) return true;
    if (mf_now_seconds() >= end) return false;
    if (w) drain_stderr(w, false);
    struct timespec ts = {0, 5 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
}

/* Copies what the worker has written to its stderr so far to ours (kept in its tail); closes
 * the pipe at its end, or when `last` (the worker has ended: what is left is read, no more). */
static void drain_stderr(worker *w, bool last) {
  if (w->errfd < 0) return;
  if (!mf_tail_read(&w->tail, w->errfd, STDERR_FILENO) || last) {
    close(w->errfd);
    w->errfd = -1;
  }
}

/* Kills the worker's process group and reaps it; describes its end in buf. */
static void kill_worker(worker *w, char *buf, size_t size) {
  int status = 0;
  if (w->pid > 0) {
    kill(-w->pid, SIGKILL);
    kill(w->pid, SIGKILL);
    while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (buf) describe_status(status, buf, size);
  }
  drain_stderr(w, true);
  if (w->fd >= 0) close(w->fd);
  w->fd = -1;
  w->pid = 0;
  w->len = 0;
  w->state = W_DOWN;
}

/* After EOF on its socket: the worker is ending; reap it (killing its group if it lingers). */
static void worker_gone(worker *w, char *buf, size_t size) {
  int status = 0;
  if (w->pid > 0 && reap(w->pid, 1.0, &status, w)) {
    describe_status(status, buf, size);
    kill(-w->pid, SIGKILL); /* children it left behind */
    drain_stderr(w, true);
    if (w->fd >= 0) close(w->fd);
    w->fd = -1;
    w->pid = 0;
    w->len = 0;
    w->state = W_DOWN;
    return;
  }
  kill_worker(w, buf, size);
}

static bool start_worker(mf_worker_pool *p, worker *w, char *why, size_t size) {
  char *cmd = worker_command(p->o.command, w->index);
  int sv[2], ep[2] = {-1, -1};
  if (!cmd || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    snprintf(why, size, "cannot start worker %d: %s", w->index, cmd ? strerror(errno) : "out of memory");
    free(cmd);
    return false;
  }
  if (pipe2(ep, O_CLOEXEC) != 0) {
    snprintf(why, size, "cannot start worker %d: %s", w->index, strerror(errno));
    close(sv[0]);
    close(sv[1]);
    free(cmd);
    return false;
  }
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) {
    snprintf(why, size, "cannot start worker %d: %s", w->index, strerror(errno));
    close(sv[0]);
    close(sv[1]);
    close(ep[0]);
    close(ep[1]);
    free(cmd);
    return false;
  }
  if (pid == 0) {
    setpgid(0, 0);
    signal(SIGPIPE, SIG_DFL);
    if (dup2(sv[1], STDIN_FILENO) < 0 || dup2(sv[1], STDOUT_FILENO) < 0 || dup2(ep[1], STDERR_FILENO) < 0) _exit(126);
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  setpgid(pid, pid); /* also here: whichever runs first */
  close(sv[1]);
  close(ep[1]);
  free(cmd);
  if (w->errfd >= 0) close(w->errfd); /* a previous process's pipe, should it linger */
  fcntl(ep[0], F_SETFL, fcntl(ep[0], F_GETFL) | O_NONBLOCK);
  w->errfd = ep[0];
  mf_tail_clear(&w->tail);
  w->pid = pid;
  w->fd = sv[0];
  w->len = 0;
  w->state = W_STARTING;
  w->confirmed = false;
  w->deadline = mf_now_seconds() + p->o.start_timeout;
  p->starts++;
  plog(p, MF_WORKER_INFO, "estimator worker %d: started (pid %ld)", w->index, (long)pid);
  return true;
}

/* ---- requests and replies ----------------------------------------------------------------- */

static char *request_line(unsigned long long id, const mf_worker_job *j) {
  cJSON *o = cJSON_CreateObject();
  if (!o) return NULL;
  bool ok = cJSON_AddNumberToObject(o, "id", (double)id) && cJSON_AddStringToObject(o, "image", j->image) &&
            cJSON_AddStringToObject(o, "output", j->output) && cJSON_AddStringToObject(o, "frame", j->frame) &&
            cJSON_AddStringToObject(o, "cam", j->cam);
  if (ok && j->cam_int) {
    cJSON *k = cJSON_AddArrayToObject(o, "cam_int");
    for (int r = 0; ok && k && r < 3; r++) {
      cJSON *row = cJSON_CreateDoubleArray(j->cam_int + 3 * r, 3);
      ok = row && cJSON_AddItemToArray(k, row);
    }
    ok = ok && k;
  }
  char *s = ok ? cJSON_PrintUnformatted(o) : NULL;
  cJSON_Delete(o);
  if (!s) return NULL;
  size_t n = strlen(s);
  char *line = malloc(n + 2);
  if (line) {
    memcpy(line, s, n);
    line[n] = '\n';
    line[n + 1] = '\0';
  }
  cJSON_free(s);
  return line;
}

mf_reply_kind mf_worker_parse_reply(const char *line, size_t len, unsigned long long id, char *text, size_t size) {
  if (size) text[0] = '\0';
  cJSON *o = cJSON_ParseWithLength(line, len);
  mf_reply_kind kind = MF_REPLY_INVALID;
  if (!o || !cJSON_IsObject(o)) {
    snprintf(text, size, "not a JSON object: '%.*s%s'", (int)(len > 200 ? 200 : len), line, len > 200 ? "..." : "");
    cJSON_Delete(o);
    return kind;
  }
  const cJSON *rid = cJSON_GetObjectItemCaseSensitive(o, "id");
  const cJSON *ok = cJSON_GetObjectItemCaseSensitive(o, "ok");
  const cJSON *ready = cJSON_GetObjectItemCaseSensitive(o, "ready");
  if (cJSON_IsTrue(ready) && !ok) {
    kind = MF_REPLY_READY;
  } else if (rid && !cJSON_IsNull(rid) && !(cJSON_IsNumber(rid) && rid->valuedouble == (double)id)) {
    kind = MF_REPLY_STALE;
  } else if (cJSON_IsTrue(ok)) {
    kind = MF_REPLY_OK;
  } else if (cJSON_IsFalse(ok)) {
    kind = MF_REPLY_FAIL;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "error");
    if (cJSON_IsString(e) && e->valuestring)
      snprintf(text, size, "%s", e->valuestring);
    else
      snprintf(text, size, "the worker reported a failure without an \"error\" text");
  } else {
    snprintf(text, size, "no boolean \"ok\" in '%.*s%s'", (int)(len > 200 ? 200 : len), line, len > 200 ? "..." : "");
  }
  cJSON_Delete(o);
  return kind;
}

/* Reads what an idle worker wrote since its last reply (logged and dropped, so that it is never
 * taken for the answer to the next request). False when the worker has ended. */
static bool drain_idle(mf_worker_pool *p, worker *w, char *why, size_t size) {
  char chunk[4096];
  for (;;) {
    ssize_t r = recv(w->fd, chunk, sizeof chunk - 1, MSG_DONTWAIT);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    if (r <= 0) {
      snprintf(why, size, "ended while idle");
      return false;
    }
    chunk[r] = '\0';
    plog(p, MF_WORKER_WARNING, "estimator worker %d: output while no request was pending ignored: %.300s", w->index,
         chunk);
    w->len = 0;
  }
}

static bool send_request(mf_worker_pool *p, worker *w, mf_worker_job *j, size_t job, char *why, size_t size) {
  if (!drain_idle(p, w, why, size)) return false;
  w->len = 0; /* an unfinished line from before the request is not its answer */
  unsigned long long id = ++p->next_id;
  char *line = request_line(id, j);
  if (!line) {
    snprintf(why, size, "out of memory");
    return false;
  }
  size_t n = strlen(line), off = 0;
  while (off < n) {
    ssize_t r = send(w->fd, line + off, n - off, MSG_NOSIGNAL);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      snprintf(why, size, "cannot send the request: %s", r < 0 ? strerror(errno) : "closed");
      free(line);
      return false;
    }
    off += (size_t)r;
  }
  free(line);
  w->state = W_BUSY;
  w->job = job;
  w->id = id;
  w->sent_at = mf_now_seconds();
  if (w->confirmed) /* else the start deadline stands: it covers the first answer of a worker without ready line */
    w->deadline = p->o.timeout > 0 ? w->sent_at + p->o.timeout : INFINITY;
  j->worker = w->index;
  return true;
}

/* Records a failure of worker w; true while it may still be restarted. The last failure (the
 * pool's error when it gives up) quotes the end of the process's stderr when `quote` is set (a
 * failed start: its own words say why, e.g. a Python import error). */
static bool count_failure(mf_worker_pool *p, worker *w, const char *what, bool quote) {
  w->failures++;
  char said[1024] = "";
  if (quote) mf_tail_lines(&w->tail, 3, said, sizeof said);
  snprintf(w->last, sizeof w->last, "%s%s%.600s", what, *said ? "; the end of its stderr: " : "", said);
  plog(p, MF_WORKER_WARNING, "estimator worker %d: %s%s", w->index, what,
       w->failures <= p->o.max_failures ? " (restarting it)" : "");
  return w->failures <= p->o.max_failures;
}

static void finish_job(mf_worker_job *j, const worker *w, mf_job_status st, const char *msg) {
  j->status = st;
  j->seconds = mf_now_seconds() - w->sent_at;
  copy_text(j->message, sizeof j->message, msg);
}

/* Handles one complete line from worker w. Returns false when the worker must be restarted. */
static bool handle_line(mf_worker_pool *p, worker *w, mf_worker_job *jobs, const char *line, size_t len) {
  char text[1024];
  mf_reply_kind k = mf_worker_parse_reply(line, len, w->id, text, sizeof text);
  if (!w->confirmed && (w->state == W_STARTING || w->state == W_BUSY)) {
    if (k == MF_REPLY_READY) { /* its first request (if sent) now has the request timeout */
      w->confirmed = w->proven = w->says_ready = true;
      if (w->state == W_STARTING) w->state = W_IDLE;
      else w->deadline = p->o.timeout > 0 ? mf_now_seconds() + p->o.timeout : INFINITY;
      plog(p, MF_WORKER_INFO, "estimator worker %d: ready", w->index);
      return true;
    }
    if (w->state == W_STARTING || k == MF_REPLY_INVALID || k == MF_REPLY_STALE) {
      plog(p, MF_WORKER_INFO, "estimator worker %d says: %.300s", w->index, line); /* chatter while loading */
      return true;
    }
    w->confirmed = w->proven = true; /* answered its first request without a ready line */
  }
  if (w->state != W_BUSY || k == MF_REPLY_STALE || k == MF_REPLY_READY) { /* not an answer to the request */
    plog(p, MF_WORKER_WARNING, "estimator worker %d: line ignored (%s): %.300s", w->index,
         w->state != W_BUSY    ? "no request pending"
         : k == MF_REPLY_STALE ? "another request's id"
                               : "a second ready",
         line);
    return true;
  }
  mf_worker_job *j = &jobs[w->job];
  if (k == MF_REPLY_INVALID) {
    char msg[1200];
    snprintf(msg, sizeof msg, "estimator worker %d replied with an invalid line (%s)", w->index, text);
    finish_job(j, w, MF_JOB_FAILED, msg);
    return false;
  }
  w->failures = 0;
  w->state = W_IDLE;
  if (k == MF_REPLY_OK) {
    finish_job(j, w, MF_JOB_OK, NULL);
  } else {
    char msg[1200];
    snprintf(msg, sizeof msg, "estimator worker %d: %s", w->index, text);
    finish_job(j, w, MF_JOB_FAILED, msg);
  }
  return true;
}

/* Reads what worker w has written. Returns false when it must be restarted (its job, if any,
 * already failed and `why` says what happened). */
static bool read_worker(mf_worker_pool *p, worker *w, mf_worker_job *jobs, char *why, size_t size) {
  char chunk[65536];
  ssize_t r;
  do r = read(w->fd, chunk, sizeof chunk);
  while (r < 0 && errno == EINTR);
  if (r <= 0) {
    char end[128];
    worker_gone(w, end, sizeof end);
    snprintf(why, size, "%s", end);
    return false;
  }
  if (!mf_grow((void **)&w->buf, &w->cap, w->len + (size_t)r + 1, 1, NULL)) {
    snprintf(why, size, "out of memory reading its output");
    return false;
  }
  memcpy(w->buf + w->len, chunk, (size_t)r);
  w->len += (size_t)r;
  size_t start = 0;
  for (size_t i = 0; i < w->len; i++) {
    if (w->buf[i] != '\n') continue;
    size_t n = i - start;
    if (n && w->buf[start + n - 1] == '\r') n--;
    w->buf[start + n] = '\0';
    bool blank = true;
    for (size_t k = 0; k < n && blank; k++) blank = w->buf[start + k] == ' ' || w->buf[start + k] == '\t';
    if (!blank && !handle_line(p, w, jobs, w->buf + start, n)) {
      copy_text(why, size, jobs[w->job].message);
      w->len = 0;
      return false;
    }
    start = i + 1;
  }
  memmove(w->buf, w->buf + start, w->len - start);
  w->len -= start;
  if (w->len > LINE_MAX_BYTES) {
    snprintf(why, size, "a line of more than %zu bytes", LINE_MAX_BYTES);
    if (w->state == W_BUSY)
      finish_job(&jobs[w->job], w, MF_JOB_FAILED, "estimator worker replied with an overlong line");
    return false;
  }
  return true;
}

/* ---- the loop ----------------------------------------------------------------------------- */

/* A request of worker w that fails before w spoke the protocol goes back to the queue, unless
 * the command is known to answer without a ready line: then the request itself is blamed (a
 * restarted worker that dies on it). */
static bool gives_back(const worker *w) { return !w->confirmed && !(w->proven && !w->says_ready); }

bool mf_worker_pool_run(mf_worker_pool *p, mf_worker_job *jobs, size_t n, mhrfit_error *err) {
  size_t nw = p->o.workers, next = 0, done = 0;
  for (size_t i = 0; i < n; i++) {
    jobs[i].status = MF_JOB_NOT_RUN;
    jobs[i].worker = -1;
    jobs[i].message[0] = '\0';
  }
  struct pollfd *pfd = mf_calloc_array(2 * nw, sizeof *pfd, err); /* sockets, then stderr pipes */
  size_t *who = mf_calloc_array(2 * nw, sizeof *who, err);
  size_t *back = mf_calloc_array(nw, sizeof *back, err), n_back = 0; /* jobs given back by workers that
                                                                        failed before they were ready */
  if (!pfd || !who || !back) {
    free(pfd);
    free(who);
    free(back);
    return false;
  }
  bool ok = true;
  while (done < n && ok) {
    /* start, restart and feed: a started worker gets its first request at once (it reads it when
     * it is ready, whether or not it says so) */
    for (size_t i = 0; i < nw && ok; i++) {
      worker *w = &p->w[i];
      char why[1200];
      bool work = n_back || next < n;
      if (w->state == W_DOWN && work) {
        if (!start_worker(p, w, why, sizeof why) && !count_failure(p, w, why, false)) ok = false;
      }
      if ((w->state == W_IDLE || w->state == W_STARTING) && work) {
        size_t job = n_back ? back[n_back - 1] : next;
        if (send_request(p, w, &jobs[job], job, why, sizeof why)) {
          if (n_back) n_back--;
          else next++;
        } else {
          char end[128];
          bool starting = !w->confirmed;
          kill_worker(w, end, sizeof end);
          char what[1400];
          if (starting) snprintf(what, sizeof what, "estimator worker %d %s before it was ready", w->index, end);
          else snprintf(what, sizeof what, "%s (%s)", why, end);
          if (!count_failure(p, w, what, starting)) ok = false;
        }
      }
    }
    if (!ok) break;
    /* wait for output or the nearest deadline */
    size_t np = 0, ne = 0;
    double now = mf_now_seconds(), wake = INFINITY;
    for (size_t i = 0; i < nw; i++) {
      worker *w = &p->w[i];
      if (w->state != W_STARTING && w->state != W_BUSY) continue;
      pfd[np] = (struct pollfd){w->fd, POLLIN, 0};
      who[np++] = i;
      if (w->deadline < wake) wake = w->deadline;
    }
    for (size_t i = 0; i < nw && np; i++) /* stderr: read on, so that a worker never blocks writing it */
      if (p->w[i].errfd >= 0) {
        pfd[np + ne] = (struct pollfd){p->w[i].errfd, POLLIN, 0};
        who[np + ne++] = i;
      }
    if (np == 0) {
      /* every worker is down and cannot be restarted, or idle with nothing to send */
      if (next >= n && !n_back) break;
      continue;
    }
    int ms = isinf(wake) ? 1000 : (int)fmin(1000.0, fmax(0.0, ceil((wake - now) * 1000.0)));
    int r = poll(pfd, (nfds_t)(np + ne), ms);
    if (r < 0 && errno != EINTR) {
      ok = MHRFIT_FAIL(err, MHRFIT_ERR_IO, "waiting for the estimator workers: %s", strerror(errno));
      break;
    }
    /* stderr first: a worker's last words are kept before its end is described */
    for (size_t k = np; r > 0 && k < np + ne; k++)
      if (pfd[k].revents) drain_stderr(&p->w[who[k]], false);
    for (size_t k = 0; r > 0 && k < np && ok; k++) {
      if (!pfd[k].revents) continue;
      worker *w = &p->w[who[k]];
      wstate before = w->state;
      size_t job = w->job;
      char why[1200];
      if (read_worker(p, w, jobs, why, sizeof why)) {
        if (before == W_BUSY && w->state == W_IDLE) done++;
        continue;
      }
      /* the worker ended, or must be restarted */
      char what[1500];
      bool starting = !w->confirmed;
      if (before == W_BUSY && gives_back(w)) { /* it never spoke the protocol: not the request's fault */
        back[n_back++] = job;
        jobs[job].worker = -1;
        snprintf(what, sizeof what, "estimator worker %d %s before it was ready", w->index, why);
      } else if (before == W_BUSY) {
        mf_worker_job *j = &jobs[job];
        if (j->status == MF_JOB_NOT_RUN) {
          snprintf(what, sizeof what, "estimator worker %d %s while processing frame '%s' camera '%s'", w->index, why,
                   j->frame, j->cam);
          finish_job(j, w, MF_JOB_FAILED, what);
        } else {
          copy_text(what, sizeof what, j->message);
        }
        done++;
      } else {
        snprintf(what, sizeof what, "estimator worker %d %s before it was ready", w->index, why);
      }
      if (w->state != W_DOWN) kill_worker(w, NULL, 0);
      if (!count_failure(p, w, what, starting)) ok = false;
    }
    /* deadlines */
    now = mf_now_seconds();
    for (size_t i = 0; i < nw && ok; i++) {
      worker *w = &p->w[i];
      if ((w->state != W_STARTING && w->state != W_BUSY) || now < w->deadline) continue;
      char what[1500];
      if (w->state == W_BUSY && gives_back(w)) {
        back[n_back++] = w->job;
        jobs[w->job].worker = -1;
        snprintf(what, sizeof what,
                 "estimator worker %d was not ready after %.6g s (killed): no ready line and no answer to its first "
                 "request (--worker_start_timeout)", w->index, p->o.start_timeout);
      } else if (w->state == W_BUSY) {
        mf_worker_job *j = &jobs[w->job];
        if (w->confirmed)
          snprintf(what, sizeof what, "estimator worker %d timed out after %.6g s on frame '%s' camera '%s' (killed)",
                   w->index, p->o.timeout, j->frame, j->cam);
        else
          snprintf(what, sizeof what,
                   "estimator worker %d timed out after %.6g s (--worker_start_timeout: its start and first answer) "
                   "on frame '%s' camera '%s' (killed)", w->index, p->o.start_timeout, j->frame, j->cam);
        finish_job(j, w, MF_JOB_TIMEOUT, what);
        done++;
      } else {
        snprintf(what, sizeof what, "estimator worker %d was not ready after %.6g s (killed)", w->index,
                 p->o.start_timeout);
      }
      bool starting = !w->confirmed;
      kill_worker(w, NULL, 0);
      if (!count_failure(p, w, what, starting)) ok = false;
    }
  }
  if (!ok) {
    for (size_t i = 0; i < nw; i++)
      if (p->w[i].failures > p->o.max_failures) {
        MHRFIT_FAIL(err, MHRFIT_ERR_IO, "estimator worker %d failed %zu times in a row, giving up; last: %s", (int)i,
                    p->w[i].failures, p->w[i].last);
        break;
      }
    /* jobs in flight on other workers are abandoned: kill those workers */
    for (size_t i = 0; i < nw; i++)
      if (p->w[i].state == W_BUSY) {
        jobs[p->w[i].job].status = MF_JOB_NOT_RUN;
        kill_worker(&p->w[i], NULL, 0);
      }
  }
  free(pfd);
  free(who);
  free(back);
  return ok;
}

void mf_worker_pool_free(mf_worker_pool *p) {
  if (!p) return;
  /* EOF on stdin asks every worker to finish */
  for (size_t i = 0; i < p->o.workers; i++)
    if (p->w[i].fd >= 0) {
      shutdown(p->w[i].fd, SHUT_WR);
    }
  double end = mf_now_seconds() + EXIT_GRACE;
  for (size_t i = 0; i < p->o.workers; i++) {
    worker *w = &p->w[i];
    if (w->pid <= 0) continue;
    int status;
    double left = end - mf_now_seconds();
    if (!reap(w->pid, left > 0 ? left : 0, &status, w)) {
      kill(-w->pid, SIGTERM);
      if (!reap(w->pid, TERM_GRACE, &status, w)) kill_worker(w, NULL, 0);
    }
    kill(-w->pid, SIGKILL); /* anything its shell left behind */
  }
  for (size_t i = 0; i < p->o.workers; i++) {
    drain_stderr(&p->w[i], true);
    if (p->w[i].fd >= 0) close(p->w[i].fd);
    free(p->w[i].buf);
  }
  free(p->w);
  free(p->command);
  free(p);
}
