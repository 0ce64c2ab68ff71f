/* libFuzzer target: the HTML report of a run folder whose pipeline_config.json and
 * sequence_summary.json are arbitrary bytes (input: config, a NUL byte, summary). The page must
 * build, and its meta document must stay one valid JSON text inside its <script> element
 * (escaping of what the files hold). */
#define _XOPEN_SOURCE 700 /* mkdtemp */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mhrfit/json.h"
#include "mhrfit/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

static void put(const char *name, const uint8_t *d, size_t n) {
  char p[128];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  FILE *f = fopen(p, "wb");
  if (!f) abort();
  if (n && fwrite(d, 1, n, f) != n) abort();
  fclose(f);
}

/* Removes the run folder when the fuzzer exits. */
static void cleanup(void) {
  char p[128];
  snprintf(p, sizeof p, "%s/pipeline_config.json", dir);
  unlink(p);
  snprintf(p, sizeof p, "%s/sequence_summary.json", dir);
  unlink(p);
  rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!dir[0]) {
    snprintf(dir, sizeof dir, "/tmp/mhrfit_fuzz_report_XXXXXX");
    if (!mkdtemp(dir)) abort();
    atexit(cleanup);
  }
  const uint8_t *nul = memchr(data, 0, size);
  size_t n1 = nul ? (size_t)(nul - data) : size;
  put("pipeline_config.json", data, n1);
  put("sequence_summary.json", nul ? nul + 1 : data, nul ? size - n1 - 1 : 0);
  mhrfit_error err = {0};
  mhrfit_report *r = mhrfit_report_new(dir, NULL, &err);
  if (!r) return 0; /* only out-of-memory can fail here: the files are optional */
  char *html = NULL;
  size_t len = 0;
  if (mhrfit_report_html(r, &html, &len, &err)) {
    const char *open = "id=\"mf-meta\">";
    char *a = strstr(html, open);
    if (!a) __builtin_trap();
    a += strlen(open);
    char *b = strstr(a, "</script>");
    if (!b) __builtin_trap();
    mhrfit_value *meta = mhrfit_json_parse(a, (size_t)(b - a), "meta", &err);
    if (!meta) __builtin_trap(); /* the meta document is valid JSON whatever the run's files hold */
    mhrfit_value_free(meta);
    free(html);
  }
  mhrfit_report_free(r);
  return 0;
}
