/* Synchronisation tables: the per-tick CSV and Caliscope's frame_time_history.csv. See sync.h. */
#include "media/sync.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"

/* Most columns accepted in one CSV record. */
#define CSV_MAX_FIELDS 4096

void mf_sync_table_free(mf_sync_table *t) {
  if (!t) return;
  for (size_t i = 0; t->rows && i < t->n_rows; i++) free(t->rows[i]);
  for (size_t i = 0; t->cams && i < t->n_cams; i++) free(t->cams[i]);
  free(t->rows);
  free(t->cams);
  free(t->ports);
  free(t->idx);
  free(t->tick_ms);
  free(t->frame_time);
  free(t->src_line);
  memset(t, 0, sizeof *t);
}

/* ---- a small CSV reader ------------------------------------------------------------------- */

typedef struct csv_reader {
  const char *p, *end, *name;
  char delim;
  int line;  /* line of the next character */
  char *buf; /* the fields of the current record, each NUL-terminated */
  size_t len, cap;
  size_t *starts; /* offsets of the fields in buf */
  size_t n, starts_cap;
  int record_line; /* first line of the current record */
} csv_reader;

static void csv_free(csv_reader *r) {
  free(r->buf);
  free(r->starts);
}

static bool csv_put(csv_reader *r, char c, mhrfit_error *err) {
  if (!mf_grow((void **)&r->buf, &r->cap, r->len + 1, 1, err)) return false;
  r->buf[r->len++] = c;
  return true;
}

static bool csv_begin_field(csv_reader *r, mhrfit_error *err) {
  if (r->n >= CSV_MAX_FIELDS)
    return MHRFIT_FAIL(err, MHRFIT_ERR_LIMIT, "%s:%d: more than %d columns", r->name, r->record_line, CSV_MAX_FIELDS);
  if (!mf_grow((void **)&r->starts, &r->starts_cap, r->n + 1, sizeof *r->starts, err)) return false;
  r->starts[r->n++] = r->len;
  return true;
}

/* Ends the current field: trims spaces of an unquoted field and adds the NUL. */
static bool csv_end_field(csv_reader *r, bool quoted, mhrfit_error *err) {
  if (!quoted) {
    size_t s = r->starts[r->n - 1];
    while (r->len > s && (r->buf[r->len - 1] == ' ' || (r->buf[r->len - 1] == '\t' && r->delim != '\t'))) r->len--;
  }
  return csv_put(r, '\0', err);
}

static bool is_eol(const csv_reader *r, const char *p) {
  return *p == '\n' || (*p == '\r' && (p + 1 == r->end || p[1] == '\n'));
}

static const char *skip_eol(const csv_reader *r, const char *p) {
  if (*p == '\r') p++;
  if (p < r->end && *p == '\n') p++;
  return p;
}

/* Reads the next non-blank record into r->buf / r->starts (r->n fields). *got = false at the end. */
static bool csv_next(csv_reader *r, bool *got, mhrfit_error *err) {
  *got = false;
  for (;;) {
    r->len = r->n = 0;
    if (r->p >= r->end) return true;
    r->record_line = r->line;
    bool blank = true;
    if (!csv_begin_field(r, err)) return false;
    for (;;) {
      const char *p = r->p;
      if (p >= r->end || is_eol(r, p)) {
        if (!csv_end_field(r, false, err)) return false;
        if (p < r->end) {
          r->p = skip_eol(r, p);
          r->line++;
        } else {
          r->p = p;
        }
        break;
      }
      /* leading spaces of a field, then perhaps a quote */
      size_t field_start = r->starts[r->n - 1];
      if (*p == '"' && r->len == field_start) {
        blank = false;
        p++;
        for (;;) {
          if (p >= r->end)
            return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s:%d: a quoted field is not closed", r->name, r->record_line);
          if (*p == '"') {
            if (p + 1 < r->end && p[1] == '"') {
              if (!csv_put(r, '"', err)) return false;
              p += 2;
              continue;
            }
            p++;
            break;
          }
          if (*p == '\n') r->line++;
          if (*p == '\0') return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s:%d: NUL byte in a field", r->name, r->line);
          if (!csv_put(r, *p++, err)) return false;
        }
        while (p < r->end && *p == ' ') p++;
        if (p < r->end && *p != r->delim && !is_eol(r, p))
          return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s:%d: text after the closing quote of a field", r->name,
                             r->line);
        r->p = p;
        if (p < r->end && *p == r->delim) {
          if (!csv_end_field(r, true, err) || !csv_begin_field(r, err)) return false;
          r->p = p + 1;
        } else if (!csv_end_field(r, true, err)) {
          return false;
        } else {
          if (p < r->end) {
            r->p = skip_eol(r, p);
            r->line++;
          }
          break;
        }
        continue;
      }
      if (*p == r->delim) {
        blank = false;
        if (!csv_end_field(r, false, err) || !csv_begin_field(r, err)) return false;
        r->p = p + 1;
        continue;
      }
      if (*p == '\0') return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s:%d: NUL byte in a field", r->name, r->line);
      if (*p == ' ' && r->len == field_start) { /* leading space */
        r->p = p + 1;
        continue;
      }
      if (*p != ' ' && *p != '\t') blank = false;
      if (!csv_put(r, *p, err)) return false;
      r->p = p + 1;
    }
    if (!blank) {
      *got = true;
      return true;
    }
  }
}

static const char *csv_field(const csv_reader *r, size_t i) { return r->buf + r->starts[i]; }

/* The next data record, which must have as many fields as the header. */
static bool csv_next_row(csv_reader *r, size_t n_header, bool *got, mhrfit_error *err) {
  if (!csv_next(r, got, err)) return false;
  if (*got && r->n != n_header)
    return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s:%d: %zu fields, the header has %zu", r->name, r->record_line, r->n,
                       n_header);
  return true;
}

/* Starts a reader: skips a UTF-8 byte-order mark and picks the delimiter from the header line. */
static void csv_init(csv_reader *r, const char *data, size_t len, const char *name) {
  memset(r, 0, sizeof *r);
  r->p = data;
  r->end = data + len;
  r->name = name ? name : "csv";
  r->line = 1;
  if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0) r->p += 3;
  static const char cands[4] = {',', '\t', ';', '|'};
  size_t best = 0;
  r->delim = ',';
  for (int k = 0; k < 4; k++) {
    size_t n = 0;
    for (const char *q = r->p; q < r->end && *q != '\n'; q++) n += *q == cands[k];
    if (n > best) {
      best = n;
      r->delim = cands[k];
    }
  }
}

/* ---- values ------------------------------------------------------------------------------- */

/* Parses a whole field as a finite number. */
static bool parse_number(const char *s, double *x) {
  if (!*s) return false;
  char *end;
  *x = strtod(s, &end);
  return *end == '\0' && isfinite(*x);
}

/* An integer-valued number (within +-2^53). */
static bool parse_integer(const char *s, long long *v) {
  double x;
  if (!parse_number(s, &x) || x != floor(x) || fabs(x) > 9007199254740992.0) return false;
  *v = (long long)x;
  return true;
}

static bool is_nan_text(const char *s) {
  return !*s || strcmp(s, "nan") == 0 || strcmp(s, "NaN") == 0 || strcmp(s, "NAN") == 0 || strcmp(s, "None") == 0;
}

/* A frame name must be usable as a folder that `mhrfit ingest` sees. */
static bool valid_frame_name(const char *s) {
  size_t n = strlen(s);
  return n > 0 && n <= 200 && s[0] != '.' && !strchr(s, '/') && !strchr(s, '\\');
}

static bool push_str(char ***items, size_t *count, size_t *cap, const char *s, mhrfit_error *err) {
  if (!mf_grow((void **)items, cap, *count + 1, sizeof **items, err)) return false;
  if (!((*items)[*count] = mf_strdup(s, err))) return false;
  (*count)++;
  return true;
}

/* ---- the per-tick table ------------------------------------------------------------------- */

static int cmp_str_ptr(const void *a, const void *b) {
  return strcmp(**(char *const *const *)a, **(char *const *const *)b);
}

bool mf_sync_parse_ticks(const char *data, size_t len, const char *name, const char *id_key, mf_sync_table *t,
                         mhrfit_error *err) {
  memset(t, 0, sizeof *t);
  if (!id_key || !*id_key) id_key = "k";
  csv_reader r;
  csv_init(&r, data, len, name);
  bool got, ok = false;
  long id_col = -1, tick_col = -1;
  long *cam_cols = NULL;
  size_t rows_cap = 0, cams_cap = 0, idx_cap = 0, tick_cap = 0, line_cap = 0;
  char ***sorted = NULL;
  if (!csv_next(&r, &got, err)) goto done;
  if (!got) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: empty file (expected a header with '%s' and <cam>_out_idx columns)",
                r.name, id_key);
    goto done;
  }
  size_t n_header = r.n;
  if (!(cam_cols = mf_calloc_array(n_header, sizeof *cam_cols, err))) goto done;
  for (size_t i = 0; i < n_header; i++) {
    const char *h = csv_field(&r, i);
    size_t hl = strlen(h);
    if (strcmp(h, id_key) == 0 && id_col < 0)
      id_col = (long)i;
    else if (strcmp(h, "tick_video_ms") == 0 && tick_col < 0)
      tick_col = (long)i;
    else if (hl > 8 && strcmp(h + hl - 8, "_out_idx") == 0) {
      char cam[256];
      if (hl - 8 >= sizeof cam) {
        MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s:%d: column name too long", r.name, r.record_line);
        goto done;
      }
      memcpy(cam, h, hl - 8);
      cam[hl - 8] = '\0';
      if (!valid_frame_name(cam)) {
        MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s:%d: column '%s' does not name a usable camera", r.name, r.record_line,
                    h);
        goto done;
      }
      cam_cols[t->n_cams] = (long)i;
      if (!push_str(&t->cams, &t->n_cams, &cams_cap, cam, err)) goto done;
    }
  }
  if (id_col < 0) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s:%d: no id column '%s' in the header (use --id_key to name it)", r.name,
                r.record_line, id_key);
    goto done;
  }
  if (t->n_cams == 0) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s:%d: no <cam>_out_idx column in the header", r.name, r.record_line);
    goto done;
  }
  for (size_t i = 1; i < t->n_cams; i++)
    for (size_t j = 0; j < i; j++)
      if (strcmp(t->cams[i], t->cams[j]) == 0) {
        MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s:%d: camera '%s' has two _out_idx columns", r.name, r.record_line,
                    t->cams[i]);
        goto done;
      }
  for (;;) {
    if (!csv_next_row(&r, n_header, &got, err)) goto done;
    if (!got) break;
    const char *id = csv_field(&r, (size_t)id_col);
    if (!valid_frame_name(id)) {
      MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT,
                  "%s:%d: id '%s' cannot name a frame folder (empty, starts with '.', or has a slash)", r.name,
                  r.record_line, id);
      goto done;
    }
    size_t row = t->n_rows;
    if (!mf_grow((void **)&t->idx, &idx_cap, (row + 1) * t->n_cams, sizeof *t->idx, err) ||
        !mf_grow((void **)&t->tick_ms, &tick_cap, row + 1, sizeof *t->tick_ms, err) ||
        !mf_grow((void **)&t->src_line, &line_cap, row + 1, sizeof *t->src_line, err) ||
        !push_str(&t->rows, &t->n_rows, &rows_cap, id, err))
      goto done;
    t->src_line[row] = r.record_line;
    t->tick_ms[row] = NAN;
    if (tick_col >= 0) {
      const char *s = csv_field(&r, (size_t)tick_col);
      double x;
      if (!is_nan_text(s) && !parse_number(s, &x)) {
        MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s:%d: column 'tick_video_ms': '%s' is not a number", r.name,
                    r.record_line, s);
        goto done;
      }
      if (!is_nan_text(s)) t->tick_ms[row] = x;
    }
    for (size_t c = 0; c < t->n_cams; c++) {
      const char *s = csv_field(&r, (size_t)cam_cols[c]);
      long long v = MF_SYNC_GAP;
      if (!is_nan_text(s) && !parse_integer(s, &v)) {
        MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s:%d: column '%s_out_idx': '%s' is not a frame index", r.name,
                    r.record_line, t->cams[c], s);
        goto done;
      }
      t->idx[row * t->n_cams + c] = v < 0 ? MF_SYNC_GAP : v;
    }
  }
  if (t->n_rows == 0) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: no rows below the header", r.name);
    goto done;
  }
  /* unique ids */
  if (!(sorted = mf_malloc_array(t->n_rows, sizeof *sorted, err))) goto done;
  for (size_t i = 0; i < t->n_rows; i++) sorted[i] = &t->rows[i];
  qsort(sorted, t->n_rows, sizeof *sorted, cmp_str_ptr);
  for (size_t i = 1; i < t->n_rows; i++)
    if (strcmp(*sorted[i], *sorted[i - 1]) == 0) {
      size_t a = (size_t)(sorted[i - 1] - t->rows), b = (size_t)(sorted[i] - t->rows);
      MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s:%d: id '%s' already used on line %d", r.name, t->src_line[a > b ? a : b],
                  *sorted[i], t->src_line[a < b ? a : b]);
      goto done;
    }
  ok = true;
done:
  free(sorted);
  free(cam_cols);
  csv_free(&r);
  if (!ok) mf_sync_table_free(t);
  return ok;
}

/* ---- Caliscope's frame_time_history.csv --------------------------------------------------- */

typedef struct ft_row {
  long long sync, port;
  double time;
  int line;
  size_t row, col; /* table cell */
} ft_row;

static int cmp_ll(const void *a, const void *b) {
  long long x = *(const long long *)a, y = *(const long long *)b;
  return x < y ? -1 : x > y;
}

static int cmp_port_time(const void *a, const void *b) {
  const ft_row *x = *(const ft_row *const *)a, *y = *(const ft_row *const *)b;
  if (x->port != y->port) return x->port < y->port ? -1 : 1;
  if (x->time != y->time) return x->time < y->time ? -1 : 1;
  if (x->sync != y->sync) return x->sync < y->sync ? -1 : 1;
  return x->line < y->line ? -1 : x->line > y->line;
}

/* Sorted distinct values of v[0..n-1] (sorts v in place); returns their count. */
static size_t unique_sorted(long long *v, size_t n) {
  qsort(v, n, sizeof *v, cmp_ll);
  size_t m = 0;
  for (size_t i = 0; i < n; i++)
    if (m == 0 || v[m - 1] != v[i]) v[m++] = v[i];
  return m;
}

static size_t find_ll(const long long *v, size_t n, long long x) {
  const long long *p = bsearch(&x, v, n, sizeof *v, cmp_ll);
  return (size_t)(p - v);
}

bool mf_sync_parse_frame_times(const char *data, size_t len, const char *name, mf_sync_table *t, mhrfit_error *err) {
  memset(t, 0, sizeof *t);
  csv_reader r;
  csv_init(&r, data, len, name);
  ft_row *rows = NULL, **order = NULL;
  long long *syncs = NULL, *ports = NULL;
  size_t n = 0, cap = 0;
  bool got, ok = false;
  if (!csv_next(&r, &got, err)) goto done;
  if (!got) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: empty file (expected sync_index, port, frame_time)", r.name);
    goto done;
  }
  long col[3] = {-1, -1, -1};
  static const char *const names[3] = {"sync_index", "port", "frame_time"};
  size_t n_header = r.n;
  for (size_t i = 0; i < n_header; i++)
    for (int k = 0; k < 3; k++)
      if (col[k] < 0 && strcmp(csv_field(&r, i), names[k]) == 0) col[k] = (long)i;
  for (int k = 0; k < 3; k++)
    if (col[k] < 0) {
      MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT,
                  "%s:%d: no '%s' column in the header (a Caliscope frame_time_history.csv "
                  "has sync_index, port, frame_time)",
                  r.name, r.record_line, names[k]);
      goto done;
    }
  for (;;) {
    if (!csv_next_row(&r, n_header, &got, err)) goto done;
    if (!got) break;
    if (!mf_grow((void **)&rows, &cap, n + 1, sizeof *rows, err)) goto done;
    ft_row *w = &rows[n];
    w->line = r.record_line;
    const char *s;
    if (!parse_integer(s = csv_field(&r, (size_t)col[0]), &w->sync) || w->sync < 0) {
      MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s:%d: sync_index '%s' is not a non-negative integer", r.name, w->line, s);
      goto done;
    }
    if (!parse_integer(s = csv_field(&r, (size_t)col[1]), &w->port) || w->port < 0) {
      MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s:%d: port '%s' is not a non-negative integer", r.name, w->line, s);
      goto done;
    }
    if (!parse_number(s = csv_field(&r, (size_t)col[2]), &w->time)) {
      MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s:%d: frame_time '%s' is not a finite number", r.name, w->line, s);
      goto done;
    }
    n++;
  }
  if (n == 0) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: no rows below the header", r.name);
    goto done;
  }
  if (!(syncs = mf_malloc_array(n, sizeof *syncs, err)) || !(ports = mf_malloc_array(n, sizeof *ports, err)) ||
      !(order = mf_malloc_array(n, sizeof *order, err)))
    goto done;
  for (size_t i = 0; i < n; i++) {
    syncs[i] = rows[i].sync;
    ports[i] = rows[i].port;
    order[i] = &rows[i];
  }
  size_t n_sync = unique_sorted(syncs, n), n_port = unique_sorted(ports, n);
  t->n_rows = n_sync;
  t->n_cams = n_port;
  size_t cells;
  if (!mf_mul_size(n_sync, n_port, &cells)) {
    MHRFIT_FAIL(err, MHRFIT_ERR_LIMIT, "%s: too many sync indices x ports", r.name);
    goto done;
  }
  if (!(t->rows = mf_calloc_array(n_sync, sizeof *t->rows, err)) ||
      !(t->cams = mf_calloc_array(n_port, sizeof *t->cams, err)) ||
      !(t->ports = mf_malloc_array(n_port, sizeof *t->ports, err)) ||
      !(t->idx = mf_malloc_array(cells, sizeof *t->idx, err)) ||
      !(t->frame_time = mf_malloc_array(cells, sizeof *t->frame_time, err)) ||
      !(t->src_line = mf_malloc_array(n_sync, sizeof *t->src_line, err)))
    goto done;
  for (size_t i = 0; i < cells; i++) {
    t->idx[i] = MF_SYNC_GAP;
    t->frame_time[i] = NAN;
  }
  for (size_t i = 0; i < n_sync; i++) {
    char buf[32];
    snprintf(buf, sizeof buf, "%06lld", syncs[i]);
    if (!(t->rows[i] = mf_strdup(buf, err))) goto done;
    t->src_line[i] = 0;
  }
  for (size_t i = 0; i < n_port; i++) {
    char buf[40];
    snprintf(buf, sizeof buf, "port_%lld", ports[i]);
    if (!(t->cams[i] = mf_strdup(buf, err))) goto done;
    t->ports[i] = ports[i];
  }
  /* rank within each port by time: the video frame */
  qsort(order, n, sizeof *order, cmp_port_time);
  long long rank = 0;
  for (size_t i = 0; i < n; i++) {
    ft_row *w = order[i];
    if (i == 0 || order[i - 1]->port != w->port) rank = 0;
    w->row = find_ll(syncs, n_sync, w->sync);
    w->col = find_ll(ports, n_port, w->port);
    size_t cell = w->row * n_port + w->col;
    if (t->idx[cell] != MF_SYNC_GAP) {
      int other = 0;
      for (size_t j = 0; j < n; j++)
        if (&rows[j] != w && rows[j].sync == w->sync && rows[j].port == w->port) other = rows[j].line;
      MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s:%d: port %lld has two rows at sync_index %lld (the other on line %d)",
                  r.name, w->line > other ? w->line : other, w->port, w->sync, w->line > other ? other : w->line);
      goto done;
    }
    t->idx[cell] = rank++;
    t->frame_time[cell] = w->time;
    if (t->src_line[w->row] == 0 || w->line < t->src_line[w->row]) t->src_line[w->row] = w->line;
  }
  ok = true;
done:
  free(rows);
  free(order);
  free(syncs);
  free(ports);
  csv_free(&r);
  if (!ok) mf_sync_table_free(t);
  return ok;
}
