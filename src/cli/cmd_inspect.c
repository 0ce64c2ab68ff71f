/* mhrfit inspect: list or dump the content of data files (NumPy, pickle, TOML, JSON). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "mhrfit/json.h"
#include "mhrfit/npy.h"
#include "mhrfit/pickle.h"
#include "mhrfit/toml.h"
#include "mhrfit/value.h"

/* Reads the file by content: NumPy magic (.npy / .npz), else JSON or TOML by extension, else by
 * the first non-blank character. */
static mhrfit_value *load_any(const char *path, mhrfit_error *err) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    MHRFIT_FAIL(err, MHRFIT_ERR_IO, "%s: cannot open file", path);
    return NULL;
  }
  unsigned char head[64];
  size_t n = fread(head, 1, sizeof head, f);
  fclose(f);
  if ((n >= 4 && memcmp(head, "PK\x03\x04", 4) == 0) || (n >= 4 && memcmp(head, "PK\x05\x06", 4) == 0) ||
      (n >= 6 && memcmp(head, "\x93NUMPY", 6) == 0))
    return mhrfit_numpy_load(path, NULL, err);
  if (n >= 2 && head[0] == 0x80 && head[1] >= 2 && head[1] <= 5) return mhrfit_pickle_load(path, NULL, err);
  const char *dot = strrchr(path, '.');
  if (dot && strcmp(dot, ".json") == 0) return mhrfit_json_load(path, err);
  if (dot && strcmp(dot, ".toml") == 0) return mhrfit_toml_load(path, err);
  size_t i = 0;
  if (n >= 3 && memcmp(head, "\xef\xbb\xbf", 3) == 0) i = 3;
  while (i < n && (head[i] == ' ' || head[i] == '\t' || head[i] == '\r' || head[i] == '\n')) i++;
  if (i < n && head[i] == '{') return mhrfit_json_load(path, err);
  return mhrfit_toml_load(path, err);
}

/* Shape of a list that is a rectangular nest of numbers (e.g. a TOML 3x3 matrix); returns the
 * rank, or -1 when the list is ragged or holds other kinds. */
static int list_shape(const mhrfit_value *v, size_t *shape, int max) {
  if (v->kind != MHRFIT_V_LIST) return mhrfit_value_is_number(v) && v->kind != MHRFIT_V_ARRAY ? 0 : -1;
  if (max == 0) return -1;
  shape[0] = v->u.list.count;
  if (v->u.list.count == 0) return 1;
  size_t sub[MHRFIT_MAX_NDIM], first[MHRFIT_MAX_NDIM];
  int r0 = list_shape(v->u.list.items[0], first, max - 1);
  if (r0 < 0) return -1;
  for (size_t i = 1; i < v->u.list.count; i++) {
    int r = list_shape(v->u.list.items[i], sub, max - 1);
    if (r != r0) return -1;
    for (int k = 0; k < r; k++)
      if (sub[k] != first[k]) return -1;
  }
  for (int k = 0; k < r0; k++) shape[k + 1] = first[k];
  return r0 + 1;
}

static void print_shape(const size_t *shape, int ndim) {
  printf("(");
  for (int k = 0; k < ndim; k++) printf(k ? ", %zu" : "%zu", shape[k]);
  printf(ndim == 1 ? ",)" : ")");
}

/* One line per leaf: "path  kind  shape-or-value". */
static void list_value(const char *path, const mhrfit_value *v, int depth) {
  char buf[64];
  const char *name = path[0] ? path : "(root)";
  switch (v->kind) {
    case MHRFIT_V_ARRAY: {
      const mhrfit_array *a = v->u.array;
      char dt[32];
      if (a->dtype == MHRFIT_DT_UNICODE) snprintf(dt, sizeof dt, "<U%zu", a->itemsize / 4);
      else if (a->dtype == MHRFIT_DT_BYTES) snprintf(dt, sizeof dt, "|S%zu", a->itemsize);
      else snprintf(dt, sizeof dt, "%s", mhrfit_dtype_name(a->dtype));
      printf("%-28s %-9s ", name, dt);
      print_shape(a->shape, a->ndim);
      printf("\n");
      return;
    }
    case MHRFIT_V_DICT:
      if (v->u.dict.count == 0) printf("%-28s dict      {}\n", name);
      for (size_t i = 0; i < v->u.dict.count; i++) {
        size_t len = strlen(path) + strlen(v->u.dict.keys[i]) + 2;
        char *sub = malloc(len);
        if (!sub) return;
        snprintf(sub, len, "%s%s%s", path, path[0] ? "." : "", v->u.dict.keys[i]);
        list_value(sub, v->u.dict.vals[i], depth + 1);
        free(sub);
      }
      return;
    case MHRFIT_V_LIST: {
      size_t shape[MHRFIT_MAX_NDIM];
      int r = list_shape(v, shape, MHRFIT_MAX_NDIM);
      if (r > 0) {
        printf("%-28s %-9s ", name, "list");
        print_shape(shape, r);
        printf("\n");
        return;
      }
      for (size_t i = 0; i < v->u.list.count; i++) {
        size_t len = strlen(path) + 32;
        char *sub = malloc(len);
        if (!sub) return;
        snprintf(sub, len, "%s[%zu]", path, i);
        list_value(sub, v->u.list.items[i], depth + 1);
        free(sub);
      }
      if (v->u.list.count == 0) printf("%-28s list      []\n", name);
      return;
    }
    case MHRFIT_V_NULL: printf("%-28s %-9s None\n", name, "null"); return;
    case MHRFIT_V_BOOL: printf("%-28s %-9s %s\n", name, "bool", v->u.boolean ? "true" : "false"); return;
    case MHRFIT_V_INT: printf("%-28s %-9s %lld\n", name, "int", (long long)v->u.integer); return;
    case MHRFIT_V_FLOAT:
      mhrfit_format_double(v->u.number, buf, sizeof buf);
      printf("%-28s %-9s %s\n", name, "float", v->u.number != v->u.number ? "nan" : buf);
      return;
    case MHRFIT_V_STRING:
    case MHRFIT_V_DATETIME:
      printf("%-28s %-9s %.*s%s\n", name, mhrfit_value_kind_name(v->kind), 60, v->u.str.data,
             v->u.str.len > 60 ? "..." : "");
      return;
    case MHRFIT_V_BYTES: printf("%-28s %-9s %zu bytes\n", name, "bytes", v->u.str.len); return;
  }
}

int mf_cmd_inspect(int argc, char **argv) {
  bool json = false;
  const mf_opt opts[] = {
      {"json", MF_OPT_FLAG, &json, NULL,
       "print the whole content as JSON (arrays as nested lists, full float precision, NaN as null)", NULL},
  };
  const mf_cmd_spec spec = {
      "inspect", "FILE [--json]",
      "Shows what a data file holds: .npy (plain or pickled), .npz, TOML (calibration) or JSON.\n"
      "Without --json, prints one line per array or value: 'name dtype shape' (dict keys joined\n"
      "with '.', list items as [i]); with --json, prints the whole content as JSON.",
      opts, sizeof opts / sizeof opts[0], 1, 1};
  mf_strlist pos;
  int rc = mf_args_parse(&spec, argc, argv, &pos);
  if (rc >= 0) return rc;
  const char *path = pos.items[0];
  mf_strlist_free(&pos);
  mhrfit_error err = {0};
  mhrfit_value *v = load_any(path, &err);
  if (!v) return mf_report("inspect", &err);
  if (json) {
    bool ok = mhrfit_value_write_json(v, stdout, 2, &err);
    printf("\n");
    mhrfit_value_free(v);
    return ok ? MF_EXIT_OK : mf_report("inspect", &err);
  }
  list_value("", v, 0);
  mhrfit_value_free(v);
  return fflush(stdout) == 0 ? MF_EXIT_OK : MF_EXIT_FAILURE;
}
