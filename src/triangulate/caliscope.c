/* Caliscope's 2-D point files (`xy_<TRACKER>.csv`): see include/mhrfit/observations.h. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/file.h"
#include "common/mem.h"
#include "common/path.h"
#include "mhrfit/observations.h"
#include "tri_internal.h"

typedef struct csv_row {
  long sync, port, id;
  double x, y;
} csv_row;

/* The next comma-separated field of line[b..e): [*fb, *fe), trimmed of spaces and quotes. */
static size_t next_field(const char *line, size_t b, size_t e, size_t *fb, size_t *fe) {
  size_t p = b;
  while (p < e && line[p] != ',') p++;
  size_t s = b, t = p;
  while (s < t && (isspace((unsigned char)line[s]) || line[s] == '"')) s++;
  while (t > s && (isspace((unsigned char)line[t - 1]) || line[t - 1] == '"')) t--;
  *fb = s;
  *fe = t;
  return p < e ? p + 1 : e + 1;
}

static bool parse_long(const char *s, size_t len, long *out) {
  char buf[32];
  if (len == 0 || len >= sizeof buf) return false;
  memcpy(buf, s, len);
  buf[len] = '\0';
  char *end;
  errno = 0;
  double d = strtod(buf, &end); /* pandas may write integer columns as 3.0 */
  if (*end || errno || !(d >= 0 && d <= INT32_MAX) || d != floor(d)) return false;
  *out = (long)d;
  return true;
}

static bool parse_double(const char *s, size_t len, double *out) {
  char buf[64];
  if (len == 0) { /* an empty cell: missing */
    *out = NAN;
    return true;
  }
  if (len >= sizeof buf) return false;
  memcpy(buf, s, len);
  buf[len] = '\0';
  char *end;
  *out = strtod(buf, &end);
  return *end == '\0';
}

static int cmp_long(const void *a, const void *b) {
  long x = *(const long *)a, y = *(const long *)b;
  return (x > y) - (x < y);
}

/* Sorted distinct values of v[0..n) in place; returns their count. */
static size_t unique_sorted(long *v, size_t n) {
  if (n == 0) return 0;
  qsort(v, n, sizeof *v, cmp_long);
  size_t m = 1;
  for (size_t i = 1; i < n; i++)
    if (v[i] != v[m - 1]) v[m++] = v[i];
  return m;
}

static size_t find_long(const long *v, size_t n, long x) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (v[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

bool mf_camera_port(const char *cam, long *port) {
  size_t n = strlen(cam), b = n;
  while (b > 0 && isdigit((unsigned char)cam[b - 1])) b--;
  if (b == n || n - b > 9) return false;
  *port = strtol(cam + b, NULL, 10);
  return true;
}

mhrfit_observations *mhrfit_observations_parse_caliscope_csv(const char *text, size_t len, const char *source,
                                                             const long *ports, size_t n_cams, size_t n_kp,
                                                             mhrfit_error *err) {
  if (!source) source = "csv";
  csv_row *rows = NULL;
  size_t n_rows = 0, cap = 0;
  long *syncs = NULL, *ids = NULL;
  mhrfit_observations *obs = NULL;
  if (n_cams == 0 || n_cams > 64) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "%s: need 1 to 64 cameras", source);
    return NULL;
  }
  /* header: the columns by name */
  static const char *const want[5] = {"sync_index", "port", "point_id", "img_loc_x", "img_loc_y"};
  int col[5] = {-1, -1, -1, -1, -1}, n_cols = 0;
  size_t p = 0, line = 0;
  while (p < len) {
    const char *nl = memchr(text + p, '\n', len - p);
    size_t e = nl ? (size_t)(nl - text) : len, b = p;
    p = e + 1;
    line++;
    if (e > b && text[e - 1] == '\r') e--;
    if (e == b) continue; /* blank line */
    if (n_cols == 0) {
      for (size_t q = b; q <= e; n_cols++) {
        size_t fb, fe;
        q = next_field(text, q, e, &fb, &fe);
        for (int c = 0; c < 5; c++)
          if (fe - fb == strlen(want[c]) && memcmp(text + fb, want[c], fe - fb) == 0 && col[c] < 0) col[c] = n_cols;
        if (n_cols > 1000) break;
      }
      for (int c = 0; c < 5; c++)
        if (col[c] < 0) {
          MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT,
                      "%s: line %zu: no '%s' column (Caliscope's xy csv has sync_index, port, point_id, img_loc_x, "
                      "img_loc_y)",
                      source, line, want[c]);
          goto fail;
        }
      continue;
    }
    csv_row r = {0};
    bool have[5] = {false};
    int c = 0;
    for (size_t q = b; q <= e; c++) {
      size_t fb, fe;
      q = next_field(text, q, e, &fb, &fe);
      for (int w = 0; w < 5; w++) {
        if (col[w] != c) continue;
        bool ok = w == 0 ? parse_long(text + fb, fe - fb, &r.sync)
                  : w == 1 ? parse_long(text + fb, fe - fb, &r.port)
                  : w == 2 ? parse_long(text + fb, fe - fb, &r.id)
                  : parse_double(text + fb, fe - fb, w == 3 ? &r.x : &r.y);
        if (!ok) {
          MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: line %zu: %s '%.*s' is not a %s", source, line, want[w],
                      (int)(fe - fb > 40 ? 40 : fe - fb), text + fb,
                      w < 3 ? "non-negative integer" : "number");
          goto fail;
        }
        have[w] = true;
      }
    }
    for (int w = 0; w < 5; w++)
      if (!have[w]) {
        MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: line %zu: no '%s' value (%d fields)", source, line, want[w], c);
        goto fail;
      }
    if (n_kp && (size_t)r.id >= n_kp) {
      MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: line %zu: point_id %ld is outside the layout's %zu keypoints", source,
                  line, r.id, n_kp);
      goto fail;
    }
    if (n_rows == cap) {
      void *q = rows;
      if (!mf_grow(&q, &cap, n_rows + 1, sizeof *rows, err)) goto fail;
      rows = q;
    }
    rows[n_rows++] = r;
  }
  if (n_cols == 0) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: empty file (no header line)", source);
    goto fail;
  }
  syncs = mf_malloc_array(n_rows ? n_rows : 1, sizeof *syncs, err);
  ids = mf_malloc_array(n_rows ? n_rows : 1, sizeof *ids, err);
  if (!syncs || !ids) goto fail;
  for (size_t i = 0; i < n_rows; i++) syncs[i] = rows[i].sync, ids[i] = rows[i].id;
  size_t F = unique_sorted(syncs, n_rows), K = n_kp ? n_kp : unique_sorted(ids, n_rows);
  if (K == 0) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: no points", source);
    goto fail;
  }
  if ((double)F * (double)K * (double)n_cams > (double)(1u << 25)) {
    MHRFIT_FAIL(err, MHRFIT_ERR_LIMIT, "%s: %zu frames x %zu points x %zu cameras is too many observations", source, F, K,
                n_cams);
    goto fail;
  }
  obs = mf_observations_alloc(F, K, n_cams, true, err);
  if (!obs) goto fail;
  snprintf(obs->format, sizeof obs->format, "caliscope_csv");
  if (!n_kp) {
    obs->names = mf_calloc_array(K, sizeof *obs->names, err);
    if (!obs->names) goto fail_obs;
    for (size_t k = 0; k < K; k++) {
      char buf[24];
      snprintf(buf, sizeof buf, "%ld", ids[k]);
      if (!(obs->names[k] = mf_strdup(buf, err))) goto fail_obs;
    }
  }
  obs->frame_ids = mf_malloc_array(F ? F : 1, sizeof *obs->frame_ids, err);
  if (!obs->frame_ids) goto fail_obs;
  for (size_t f = 0; f < F; f++) obs->frame_ids[f] = syncs[f];
  for (size_t i = 0; i < n_rows; i++) {
    size_t v = 0;
    while (v < n_cams && ports[v] != rows[i].port) v++;
    if (v == n_cams) continue; /* a camera that was not asked for */
    size_t f = find_long(syncs, F, rows[i].sync), k = n_kp ? (size_t)rows[i].id : find_long(ids, K, rows[i].id);
    size_t o = (f * K + k) * n_cams + v;
    obs->uv[2 * o] = rows[i].x;
    obs->uv[2 * o + 1] = rows[i].y;
    obs->conf[o] = isfinite(rows[i].x) && isfinite(rows[i].y) ? 1.0 : 0.0;
  }
  free(rows);
  free(syncs);
  free(ids);
  return obs;
fail_obs:
  mhrfit_observations_free(obs);
fail:
  free(rows);
  free(syncs);
  free(ids);
  return NULL;
}

/* The csv of `input`: the file itself, or the one `xy_*.csv` of a folder. */
static char *find_csv(const char *input, mhrfit_error *err) {
  if (!mf_is_dir(input)) return mf_strdup(input, err);
  mf_names files = {0};
  if (!mf_list_dir(input, ".csv", false, &files, err)) return NULL;
  char *found = NULL;
  size_t n = 0;
  for (size_t i = 0; i < files.count; i++)
    if (strncmp(files.items[i], "xy_", 3) == 0) {
      n++;
      if (!found) found = mf_path_join(input, files.items[i], err);
    }
  mf_names_free(&files);
  if (n != 1) {
    free(found);
    MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "%s: %s xy_<TRACKER>.csv file%s: pass the file itself as the input", input,
                n ? "more than one" : "no", n ? "s" : "");
    return NULL;
  }
  return found;
}

mhrfit_observations *mf_load_caliscope_csv(const char *input, const char *const *cams, size_t V, size_t n_kp,
                                           mhrfit_error *err) {
  long ports[64];
  for (size_t v = 0; v < V; v++)
    if (!mf_camera_port(cams[v], &ports[v])) {
      MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT,
                  "camera '%s': caliscope_csv input needs camera names ending in their port number (cam_0, cam_1, ...)",
                  cams[v]);
      return NULL;
    }
  char *path = find_csv(input, err);
  if (!path) return NULL;
  unsigned char *data = NULL;
  size_t len = 0;
  mhrfit_observations *obs = NULL;
  if (mf_read_file(path, (size_t)1 << 30, &data, &len, err))
    obs = mhrfit_observations_parse_caliscope_csv((const char *)data, len, path, ports, V, n_kp, err);
  free(data);
  free(path);
  return obs;
}
