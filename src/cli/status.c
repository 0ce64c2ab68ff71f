/* Progress line and messages of the long-running commands: see cli.h. */
#include <stdio.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/clock.h"

void mf_cli_status_init(mf_cli_status *s, const char *cmd, const char *unit, bool quiet) {
  s->cmd = cmd;
  s->unit = unit;
  s->quiet = quiet;
  s->tty = isatty(STDERR_FILENO) != 0;
  s->progress_shown = false;
  s->last_shown = mf_now_seconds();
}

void mf_cli_status_end(mf_cli_status *s) {
  if (s->progress_shown) {
    fputs("\r\033[K", stderr);
    s->progress_shown = false;
  }
}

void mf_cli_status_log(mf_cli_status *s, int level, const char *msg) {
  mf_cli_status_end(s);
  if (level >= 2)
    fprintf(stderr, "mhrfit %s: error: %s\n", s->cmd, msg);
  else if (level == 1)
    fprintf(stderr, "mhrfit %s: warning: %s\n", s->cmd, msg);
  else if (!s->quiet) {
    printf("%s\n", msg);
    fflush(stdout);
  }
}

void mf_cli_status_show(mf_cli_status *s, const char *line, bool last) {
  double now = mf_now_seconds();
  if (s->quiet || (!last && now - s->last_shown < (s->tty ? 0.1 : MF_CLI_PROGRESS_PERIOD_S))) return;
  s->last_shown = now;
  fprintf(stderr, s->tty ? "\r\033[K%s" : "%s\n", line);
  fflush(stderr);
  s->progress_shown = s->tty;
}

void mf_cli_status_progress(mf_cli_status *s, size_t done, size_t total) {
  char line[160];
  snprintf(line, sizeof line, "%s: %zu/%zu %s", s->cmd, done, total, s->unit);
  mf_cli_status_show(s, line, done == total);
}
