/* SIGINT / SIGTERM as a cancellation flag for long commands (cli.h). */
#define _XOPEN_SOURCE 700 /* SA_RESETHAND */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static volatile sig_atomic_t cancel_flag, cancel_sig;

static void on_signal(int sig) {
  cancel_sig = sig;
  cancel_flag = 1;
}

volatile sig_atomic_t *mf_cancel_on_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESETHAND; /* a second signal takes the default action: the process ends */
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  return &cancel_flag;
}

int mf_cancel_signal(void) { return cancel_sig; }

void mf_exit_interrupted(const char *cmd) {
  int sig = cancel_sig;
  fprintf(stderr, "mhrfit %s: interrupted; run again to resume\n", cmd);
  fflush(NULL);
  signal(sig, SIG_DFL);
  raise(sig);
}
