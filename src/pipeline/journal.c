/* The journal of finished frames, <out>/run_state.txt (pipeline_internal.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/file.h"
#include "common/mem.h"
#include "pipeline/pipeline_internal.h"

/* Version 2: records carry the triangulated point count and the retry flag (version 1 had the
 * signature only, and signatures without the temporal prior: its frames are redone once). */
#define JOURNAL_HEADER "mhrfit run state 2"

static int cmp_entry(const void *a, const void *b) {
  const mf_journal_entry *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  return c ? c : (x->line > y->line) - (x->line < y->line);
}

void mf_journal_read(const char *path, mf_journal *j) {
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
    char *name = mf_strdup(line, NULL), *rec = name ? mf_strdup(tab + 1, NULL) : NULL;
    if (!rec || !mf_grow((void **)&j->e, &j->cap, j->n + 1, sizeof *j->e, NULL)) {
      free(name);
      free(rec);
      break;
    }
    j->e[j->n] = (mf_journal_entry){name, rec, j->n};
    j->n++;
  }
  fclose(f);
  /* by name, a later line of a name winning over the earlier ones */
  if (j->n > 1) qsort(j->e, j->n, sizeof *j->e, cmp_entry);
  size_t k = 0;
  for (size_t i = 0; i < j->n; i++) {
    if (i + 1 < j->n && strcmp(j->e[i].name, j->e[i + 1].name) == 0) {
      free(j->e[i].name);
      free(j->e[i].record);
      continue;
    }
    j->e[k++] = j->e[i];
  }
  j->n = k;
}

const char *mf_journal_find(const mf_journal *j, const char *name) {
  size_t lo = 0, hi = j->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(j->e[mid].name, name);
    if (c == 0) return j->e[mid].record;
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return NULL;
}

void mf_journal_free(mf_journal *j) {
  for (size_t i = 0; i < j->n; i++) {
    free(j->e[i].name);
    free(j->e[i].record);
  }
  free(j->e);
  memset(j, 0, sizeof *j);
}

static bool line_ok(const char *name, const char *record) {
  return !strpbrk(name, "\t\n\r") && !strpbrk(record, "\n\r") && *name && *record;
}

FILE *mf_journal_open(const char *path, const mf_journal *j, mhrfit_error *err) {
  size_t cap = 64, len = 0;
  for (size_t i = 0; i < j->n; i++) cap += strlen(j->e[i].name) + strlen(j->e[i].record) + 2;
  char *buf = malloc(cap);
  if (!buf) {
    MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "%s: out of memory", path);
    return NULL;
  }
  len += (size_t)snprintf(buf, cap, "%s\n", JOURNAL_HEADER);
  for (size_t i = 0; i < j->n; i++)
    if (line_ok(j->e[i].name, j->e[i].record))
      len += (size_t)snprintf(buf + len, cap - len, "%s\t%s\n", j->e[i].name, j->e[i].record);
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
