/* Any data file by its content: see include/mhrfit/datafile.h. */
#include "mhrfit/datafile.h"

#include <stdlib.h>
#include <string.h>

#include "common/file.h"
#include "common/mem.h"
#include "mhrfit/json.h"
#include "mhrfit/npy.h"
#include "mhrfit/pickle.h"
#include "mhrfit/toml.h"

const char *mhrfit_datafile_format_name(mhrfit_datafile_format f) {
  switch (f) {
    case MHRFIT_DATAFILE_NPY: return "npy";
    case MHRFIT_DATAFILE_NPZ: return "npz";
    case MHRFIT_DATAFILE_PICKLE: return "pickle";
    case MHRFIT_DATAFILE_JSON: return "json";
    default: return "toml";
  }
}

static bool has_ext(const char *path, const char *ext) {
  const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
  return dot && (!slash || dot > slash) && strcmp(dot, ext) == 0;
}

/* Every prefix of the key paths that ends where a member name may end (before a '.', a '[' or at
 * the end): the .npz members to read. NULL-terminated, in one allocation with the strings. */
static char **member_names(const char *const *keys, size_t n, mhrfit_error *err) {
  size_t count = 1, bytes = 0;
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen(keys[i]);
    for (size_t j = 1; j <= len; j++)
      if (j == len || keys[i][j] == '.' || keys[i][j] == '[') {
        count++;
        bytes += j + 1;
      }
  }
  char **names = mf_malloc_array(count * sizeof(char *) + bytes, 1, err);
  if (!names) return NULL;
  char *at = (char *)(names + count);
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen(keys[i]);
    for (size_t j = 1; j <= len; j++)
      if (j == len || keys[i][j] == '.' || keys[i][j] == '[') {
        memcpy(at, keys[i], j);
        at[j] = '\0';
        names[k++] = at;
        at += j + 1;
      }
  }
  names[k] = NULL;
  return names;
}

/* What the reader reads, for the errors about a file it does not. */
#define READS "it reads NumPy .npy and .npz, pickles (.pkl, .pickle), JSON and TOML"

mhrfit_value *mhrfit_datafile_load(const char *path, const mhrfit_datafile_options *opts,
                                   mhrfit_datafile_format *format, mhrfit_error *err) {
  mhrfit_datafile_options o = {0};
  if (opts) o = *opts;
  if (!o.max_total_bytes) o.max_total_bytes = MHRFIT_NPY_INPUT_MAX_TOTAL;
  unsigned char head[64];
  size_t n;
  if (!mf_read_head(path, head, sizeof head, &n, err)) return NULL;
  if (n == 0) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: empty file (0 bytes): it holds no data of any format", path);
    return NULL;
  }
  mhrfit_datafile_format f;
  bool zip = n >= 4 && (memcmp(head, "PK\x03\x04", 4) == 0 || memcmp(head, "PK\x05\x06", 4) == 0);
  if (zip) f = MHRFIT_DATAFILE_NPZ;
  else if (n >= 6 && memcmp(head, "\x93NUMPY", 6) == 0) f = MHRFIT_DATAFILE_NPY;
  else if (n >= 2 && head[0] == 0x80 && head[1] >= 2 && head[1] <= 5) f = MHRFIT_DATAFILE_PICKLE;
  else if (has_ext(path, ".npz") || has_ext(path, ".npy") || has_ext(path, ".pkl") || has_ext(path, ".pickle")) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT,
                "%s: not a %s file: it starts with neither the ZIP (.npz), the NumPy (.npy) nor a pickle signature",
                path, has_ext(path, ".npz") ? ".npz" : has_ext(path, ".npy") ? ".npy" : "pickle");
    return NULL;
  } else if (has_ext(path, ".json")) f = MHRFIT_DATAFILE_JSON;
  else if (has_ext(path, ".toml")) f = MHRFIT_DATAFILE_TOML;
  else {
    /* by content: binary (a NUL byte in the first bytes) is no format read here */
    if (memchr(head, 0, n)) {
      MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: not a data file mhrfit reads (%s): " READS, path,
                  n >= 4 && memcmp(head, "glTF", 4) == 0 ? "a binary glTF, as mhrfit export writes it" : "a binary file");
      return NULL;
    }
    size_t i = n >= 3 && memcmp(head, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
    while (i < n && (head[i] == ' ' || head[i] == '\t' || head[i] == '\r' || head[i] == '\n')) i++;
    f = i < n && (head[i] == '{' || head[i] == '[') ? MHRFIT_DATAFILE_JSON : MHRFIT_DATAFILE_TOML;
    if (f == MHRFIT_DATAFILE_TOML) { /* a guess: a text that is no TOML is said to be no format read here */
      if (format) *format = f;
      mhrfit_value *v = mhrfit_toml_load(path, err);
      if (!v && err && err->type == MHRFIT_ERR_FORMAT) {
        char why[MHRFIT_ERROR_MESSAGE_MAX];
        size_t pl = strlen(path);
        bool at_line = strncmp(err->message, path, pl) == 0 && err->message[pl] == ':'; /* "path:LINE: what" */
        snprintf(why, sizeof why, "%s%.900s", at_line ? "line " : "", err->message + (at_line ? pl + 1 : 0));
        MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: not a data file mhrfit reads (read as TOML: %.300s): " READS, path, why);
      }
      return v;
    }
  }
  if (format) *format = f;
  switch (f) {
    case MHRFIT_DATAFILE_NPZ:
    case MHRFIT_DATAFILE_NPY: {
      char **names = NULL;
      if (o.keys && o.n_keys && !(names = member_names(o.keys, o.n_keys, err))) return NULL;
      mhrfit_npy_limits lim = {.max_total_bytes = o.max_total_bytes, .only_members = (const char *const *)names};
      mhrfit_value *v = mhrfit_numpy_load(path, &lim, err);
      free(names);
      return v;
    }
    case MHRFIT_DATAFILE_PICKLE: {
      mhrfit_pickle_limits pl = {0, o.max_total_bytes, 0};
      return mhrfit_pickle_load(path, &pl, err);
    }
    case MHRFIT_DATAFILE_JSON: return mhrfit_json_load(path, err);
    default: return mhrfit_toml_load(path, err);
  }
}

/* Parses "[digits]" at *p; advances past it. */
static bool parse_index(const char **p, size_t *out) {
  const char *s = *p;
  if (*s != '[' || s[1] < '0' || s[1] > '9') return false;
  size_t v = 0;
  for (s++; *s >= '0' && *s <= '9'; s++) {
    if (v > (SIZE_MAX - 9) / 10) return false;
    v = 10 * v + (size_t)(*s - '0');
  }
  if (*s != ']') return false;
  *p = s + 1;
  *out = v;
  return true;
}

const mhrfit_value *mhrfit_datafile_find(const mhrfit_value *root, const char *key) {
  const mhrfit_value *v = root;
  const char *p = key;
  while (v && *p) {
    if (*p == '[') {
      size_t i;
      if (v->kind != MHRFIT_V_LIST || !parse_index(&p, &i) || i >= v->u.list.count) return NULL;
      v = v->u.list.items[i];
    } else if (v->kind == MHRFIT_V_DICT) {
      /* the longest key that matches up to a separator */
      const mhrfit_value *best = NULL;
      size_t best_len = 0;
      for (size_t i = 0; i < v->u.dict.count; i++) {
        size_t len = strlen(v->u.dict.keys[i]);
        if (len > best_len && strncmp(p, v->u.dict.keys[i], len) == 0 &&
            (p[len] == '\0' || p[len] == '.' || p[len] == '[')) {
          best = v->u.dict.vals[i];
          best_len = len;
        }
      }
      if (!best) return NULL;
      v = best;
      p += best_len;
    } else {
      return NULL;
    }
    if (*p == '.') {
      p++;
      if (!*p) return NULL;
    }
  }
  return v;
}
