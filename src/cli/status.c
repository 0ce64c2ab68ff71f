/* Progress line and messages of the long-running commands: see cli.h. */
#include <stdio.h>
#include <unistd.h>

#include "cli/cli.h"

void mf_cli_status_init(mf_cli_status *s, const char *cmd, const char *unit, bool quiet) {
  s->cmd = cmd;
  s->unit = unit;
  s->quiet = quiet;
  s->tty = isatty(STDERR_FILENO) != 0;
  s->progress_shown = false;
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

void mf_cli_status_progress(mf_cli_status *s, size_t done, size_t total) {
  if (s->quiet || !s->tty) return;
  fprintf(stderr, "\r\033[K%s: %zu/%zu %s", s->cmd, done, total, s->unit);
  fflush(stderr);
  s->progress_shown = true;
}
