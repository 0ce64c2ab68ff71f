/* A no-op estimator worker for bench_workers (the protocol of `mhrfit ingest
 * --estimator_worker`): says it is ready, then copies SRC to each request's "output" after
 * SLEEP_MS milliseconds and replies {"ok": true}. Plain C library only, so that it starts in
 * about a millisecond and what bench_workers measures is mhrfit's side.
 *   noop_worker SRC [SLEEP_MS] */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  int sleep_ms = argc > 2 ? atoi(argv[2]) : 0;
  FILE *f = fopen(argv[1], "rb");
  static unsigned char data[1 << 22];
  size_t len = f ? fread(data, 1, sizeof data, f) : 0;
  if (!f || ferror(f)) return 1;
  fclose(f);
  printf("{\"ready\": true}\n");
  fflush(stdout);
  static char line[1 << 16];
  while (fgets(line, sizeof line, stdin)) {
    char *o = strstr(line, "\"output\":\""), *end = o ? strchr(o + 10, '"') : NULL;
    int ok = end != NULL;
    if (ok) {
      *end = '\0';
      if (sleep_ms > 0) {
        struct timespec ts = {sleep_ms / 1000, (long)(sleep_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
      }
      FILE *out = fopen(o + 10, "wb");
      ok = out && fwrite(data, 1, len, out) == len;
      if (out) ok = fclose(out) == 0 && ok;
    }
    fputs(ok ? "{\"ok\": true}\n" : "{\"ok\": false, \"error\": \"cannot write the output\"}\n", stdout);
    fflush(stdout);
  }
  return 0;
}
