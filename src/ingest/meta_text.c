/* stage1_meta.json of a long take without its document tree (ingest_internal.h): the settings
 * parsed, each frame's record kept as the text it has in the file and parsed when needed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/file.h"
#include "common/mem.h"
#include "common/utf8.h"
#include "ingest/ingest_internal.h"
#include "mhrfit/json.h"

/* Deepest nesting of a record the scanner follows: above the JSON reader's own limit (cJSON's
 * CJSON_NESTING_LIMIT, 1000), so that every document the reader accepts is scanned. */
#define MAX_DEPTH 1024

/* Whitespace as the JSON reader (cJSON) skips it: every byte up to 0x20. */
static const char *skip_ws(const char *p, const char *e) {
  while (p < e && (unsigned char)*p <= 0x20) p++;
  return p;
}

/* The end of the string that starts at p ('"'), or NULL when unterminated (raw control characters
 * are let through, as the JSON reader lets them). */
static const char *string_end(const char *p, const char *e) {
  for (p++; p < e; p++) {
    if (*p == '\\') {
      if (++p >= e) return NULL;
    } else if (*p == '"') {
      return p + 1;
    }
  }
  return NULL;
}

/* The end of the value that starts at p, or NULL when it is not one (brackets are matched and
 * strings skipped; scalars are checked when the value is parsed). */
static const char *value_end(const char *p, const char *e) {
  if (p >= e) return NULL;
  if (*p == '"') return string_end(p, e);
  if (*p == '{' || *p == '[') {
    char want[MAX_DEPTH];
    int depth = 0;
    while (p < e) {
      char c = *p;
      if (c == '"') {
        if (!(p = string_end(p, e))) return NULL;
        continue;
      }
      if (c == '{' || c == '[') {
        if (depth == MAX_DEPTH) return NULL;
        want[depth++] = c == '{' ? '}' : ']';
      } else if (c == '}' || c == ']') {
        if (!depth || want[--depth] != c) return NULL;
        if (!depth) return p + 1;
      }
      p++;
    }
    return NULL;
  }
  const char *s = p;
  while (p < e && (unsigned char)*p > 0x20 && !strchr(",}]{[\"", *p)) p++;
  return p > s ? p : NULL;
}

/* The key string [p, end) unescaped into a new string (NULL when malformed or out of memory). */
static char *key_of(const char *p, const char *end) {
  if (!memchr(p, '\\', (size_t)(end - p))) return mf_strndup(p + 1, (size_t)(end - p - 2), NULL);
  mhrfit_value *v = mhrfit_json_parse(p, (size_t)(end - p), "key", NULL);
  char *s = v && v->kind == MHRFIT_V_STRING ? mf_strdup(v->u.str.data, NULL) : NULL;
  mhrfit_value_free(v);
  return s;
}

typedef struct entry {
  char *name;
  const char *rec;
  size_t len, pos;
} entry;

static int cmp_entry(const void *a, const void *b) {
  const entry *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  return c ? c : (x->pos > y->pos) - (x->pos < y->pos);
}

/* The members of the "frames" object [p, e): names and record slices. */
static bool scan_frames(const char *p, const char *e, entry **out, size_t *n_out) {
  entry *ents = NULL;
  size_t n = 0, cap = 0;
  bool ok = false;
  p = skip_ws(p + 1, e);
  if (p < e && *p == '}') {
    ok = true;
    goto done;
  }
  for (;;) {
    const char *ke = p < e && *p == '"' ? string_end(p, e) : NULL;
    if (!ke) goto done;
    const char *v = skip_ws(ke, e);
    if (v >= e || *v != ':') goto done;
    v = skip_ws(v + 1, e);
    const char *ve = value_end(v, e);
    char *name = ve ? key_of(p, ke) : NULL;
    if (!name || !mf_grow((void **)&ents, &cap, n + 1, sizeof *ents, NULL)) {
      free(name);
      goto done;
    }
    ents[n] = (entry){name, v, (size_t)(ve - v), n};
    n++;
    p = skip_ws(ve, e);
    if (p < e && *p == ',') {
      p = skip_ws(p + 1, e);
      continue;
    }
    ok = p < e && *p == '}';
    goto done;
  }
done:
  if (!ok) {
    for (size_t i = 0; i < n; i++) free(ents[i].name);
    free(ents);
    return false;
  }
  *out = ents;
  *n_out = n;
  return true;
}

bool mf_ingest_meta_scan(mf_ingest_meta *m, char *text, size_t len, const char *name, mhrfit_error *err) {
  memset(m, 0, sizeof *m);
  m->text = text;
  m->len = len;
  const char *p = text, *e = text + len;
  entry *ents = NULL;
  size_t n = 0;
  bool ok = false;
  if (!mf_utf8_valid(text, len)) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: not valid UTF-8", name);
    goto done;
  }
  if (!(m->head = mhrfit_value_new_dict(err))) goto done;
  p = skip_ws(p, e);
  if (p >= e || *p != '{') goto bad;
  p = skip_ws(p + 1, e);
  while (p < e && *p != '}') {
    const char *ke = *p == '"' ? string_end(p, e) : NULL;
    if (!ke) goto bad;
    const char *v = skip_ws(ke, e);
    if (v >= e || *v != ':') goto bad;
    v = skip_ws(v + 1, e);
    const char *ve = value_end(v, e);
    char *key = ve ? key_of(p, ke) : NULL;
    if (!key) goto bad;
    if (strcmp(key, "frames") == 0) {
      for (size_t i = 0; i < n; i++) free(ents[i].name); /* a later "frames" wins, as in a dict */
      free(ents);
      ents = NULL;
      n = 0;
    }
    if (strcmp(key, "frames") == 0 && *v == '{') {
      if (!scan_frames(v, ve, &ents, &n)) {
        free(key);
        goto bad;
      }
    } else {
      mhrfit_value *val = mhrfit_json_parse(v, (size_t)(ve - v), name, NULL);
      if (!val) {
        free(key);
        goto bad;
      }
      if (!mhrfit_value_dict_set(m->head, key, val, err)) {
        free(key);
        goto done;
      }
    }
    free(key);
    p = skip_ws(ve, e);
    if (p < e && *p == ',') p = skip_ws(p + 1, e);
    else if (p >= e || *p != '}') goto bad;
  }
  if (p >= e || skip_ws(p + 1, e) != e) goto bad;
  /* by name; of a name listed twice the later record wins, as in a dict */
  if (n > 1) qsort(ents, n, sizeof *ents, cmp_entry);
  m->names = mf_malloc_array(n + 1, sizeof *m->names, err);
  m->rec = m->names ? mf_malloc_array(n + 1, sizeof *m->rec, err) : NULL;
  m->rec_len = m->rec ? mf_malloc_array(n + 1, sizeof *m->rec_len, err) : NULL;
  if (!m->rec_len) goto done;
  for (size_t i = 0; i < n; i++) {
    if (i + 1 < n && strcmp(ents[i].name, ents[i + 1].name) == 0) {
      free(ents[i].name);
      continue;
    }
    m->names[m->n_frames] = ents[i].name;
    m->rec[m->n_frames] = ents[i].rec;
    m->rec_len[m->n_frames++] = ents[i].len;
  }
  free(ents);
  ents = NULL;
  n = 0;
  ok = true;
  goto done;
bad:
  MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: not a stage-1 meta document (JSON object) near byte %zu", name,
              (size_t)(p - text));
done:
  for (size_t i = 0; i < n; i++) free(ents[i].name);
  free(ents);
  if (!ok) {
    m->text = NULL; /* the caller keeps its text on failure */
    mf_ingest_meta_free(m);
  }
  return ok;
}

long mf_ingest_meta_find(const mf_ingest_meta *m, const char *frame) {
  size_t lo = 0, hi = m->n_frames;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(m->names[mid], frame);
    if (c == 0) return (long)mid;
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return -1;
}

mhrfit_value *mf_ingest_meta_record(const mf_ingest_meta *m, const char *frame) {
  long i = m ? mf_ingest_meta_find(m, frame) : -1;
  if (i < 0) return NULL;
  mhrfit_value *v = mhrfit_json_parse(m->rec[i], m->rec_len[i], "record", NULL);
  if (v && v->kind != MHRFIT_V_DICT) {
    mhrfit_value_free(v);
    v = NULL;
  }
  return v;
}

void mf_ingest_meta_free(mf_ingest_meta *m) {
  for (size_t i = 0; m->names && i < m->n_frames; i++) free(m->names[i]);
  free(m->names);
  free(m->rec);
  free(m->rec_len);
  mhrfit_value_free(m->head);
  free(m->text);
  memset(m, 0, sizeof *m);
}

char *mf_ingest_record_text(const mhrfit_value *rec, mhrfit_error *err) {
  char *text = NULL, *out = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&text, &len);
  if (!mem) {
    MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
    return NULL;
  }
  bool ok = mhrfit_value_write_json(rec, mem, 1, err);
  if (fclose(mem) != 0 && ok) ok = MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
  size_t lines = 0;
  for (size_t i = 0; ok && i < len; i++) lines += text[i] == '\n';
  while (ok && len && text[len - 1] == '\n') {
    len--;
    lines--;
  }
  /* the record's place in the file is two levels deep: two more spaces after each line break */
  if (ok && (out = mf_malloc_array(len + 2 * lines + 1, 1, err))) {
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
      out[k++] = text[i];
      if (text[i] == '\n') {
        out[k++] = ' ';
        out[k++] = ' ';
      }
    }
    out[k] = '\0';
  }
  free(text);
  return out;
}
