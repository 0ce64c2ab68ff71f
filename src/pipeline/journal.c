/* The journal of finished frames, <out>/run_state.txt (pipeline_internal.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/file.h"
#include "pipeline/pipeline_internal.h"

/* Version 2: records carry the triangulated point count and the retry flag (version 1 had the
 * signature only, and signatures without the temporal prior: its frames are redone once). */
#define JOURNAL_HEADER "mhrfit run state 2"

void mf_journal_read(const char *path, mhrfit_value *state) {
  FILE *f = fopen(path, "r");
  if (!f) return;
  char line[8192];
  bool header = fgets(line, sizeof line, f) && strncmp(line, JOURNAL_HEADER "\n", sizeof JOURNAL_HEADER) == 0;
  while (header && fgets(line, sizeof line, f)) {
    size_t n = strlen(line);
    if (line[n - 1] != '\n') break; /* cut short */
    if (n < 2) continue;          /* blank */
    line[n - 1] = 0;
    char *tab = strchr(line, '\t');
    if (!tab || tab == line || !tab[1]) continue;
    *tab = 0;
    mhrfit_value *sig = mhrfit_value_new_string(MHRFIT_V_STRING, tab + 1, strlen(tab + 1), NULL);
    if (sig) mhrfit_value_dict_set(state, line, sig, NULL);
  }
  fclose(f);
}

static bool line_ok(const char *name, const char *record) {
  return !strpbrk(name, "\t\n\r") && !strpbrk(record, "\n\r") && *name && *record;
}

FILE *mf_journal_open(const char *path, const mhrfit_value *state, mhrfit_error *err) {
  size_t cap = 64, len = 0;
  for (size_t i = 0; i < state->u.dict.count; i++)
    if (state->u.dict.vals[i]->kind == MHRFIT_V_STRING)
      cap += strlen(state->u.dict.keys[i]) + state->u.dict.vals[i]->u.str.len + 2;
  char *buf = malloc(cap);
  if (!buf) {
    MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "%s: out of memory", path);
    return NULL;
  }
  len += (size_t)snprintf(buf, cap, "%s\n", JOURNAL_HEADER);
  for (size_t i = 0; i < state->u.dict.count; i++) {
    const mhrfit_value *v = state->u.dict.vals[i];
    if (v->kind == MHRFIT_V_STRING && line_ok(state->u.dict.keys[i], v->u.str.data))
      len += (size_t)snprintf(buf + len, cap - len, "%s\t%s\n", state->u.dict.keys[i], v->u.str.data);
  }
  bool ok = mf_write_file_atomic(path, buf, len, err);
  free(buf);
  if (!ok) return NULL;
  FILE *f = fopen(path, "a");
  if (!f) MHRFIT_FAIL(err, MHRFIT_ERR_IO, "%s: cannot open for appending: %s", path, strerror(errno));
  return f;
}

bool mf_journal_append(FILE *f, const char *path, const char *name, const char *record, mhrfit_error *err) {
  if (!line_ok(name, record)) return true;
  if (fprintf(f, "%s\t%s\n", name, record) < 0 || fflush(f) != 0)
    return MHRFIT_FAIL(err, MHRFIT_ERR_IO, "%s: cannot append: %s", path, strerror(errno));
  return true;
}
