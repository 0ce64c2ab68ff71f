/* mhrfit inspect: list or dump the content of data files (NumPy, pickle, TOML, JSON). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "mhrfit/datafile.h"
#include "mhrfit/npy.h"
#include "mhrfit/value.h"

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

/* Prints a value's content: an array of rank 2 or more one row per line, each preceded by its
 * index ("[3] [512.2, 401.5]"), anything else as one line of JSON. */
static bool print_content(const mhrfit_value *v, mhrfit_error *err) {
  if (v->kind != MHRFIT_V_ARRAY || v->u.array->ndim < 2) {
    bool ok = mhrfit_value_write_json(v, stdout, -1, err);
    printf("\n");
    return ok;
  }
  const mhrfit_array *a = v->u.array;
  size_t last = a->shape[a->ndim - 1], rows = last ? a->count / last : 0;
  mhrfit_array row = {a->dtype, a->itemsize, 1, {last}, last, NULL};
  mhrfit_value rv = {.kind = MHRFIT_V_ARRAY};
  rv.u.array = &row;
  for (size_t r = 0; r < rows; r++) {
    printf("[");
    size_t rest = r;
    for (int d = 0; d < a->ndim - 1; d++) {
      size_t stride = 1;
      for (int e = d + 1; e < a->ndim - 1; e++) stride *= a->shape[e];
      printf(d ? ", %zu" : "%zu", rest / stride);
      rest %= stride;
    }
    printf("] ");
    row.data = (char *)a->data + r * last * a->itemsize;
    if (!mhrfit_value_write_json(&rv, stdout, -1, err)) return false;
    printf("\n");
  }
  return true;
}

/* Prints the values at the key paths: "key dtype shape" and the values as JSON, or with --json
 * one JSON object of them. Returns the exit code. */
static int print_keys(const char *path, const mhrfit_value *v, const mf_strlist *keys, bool json) {
  mhrfit_error err = {0};
  for (size_t i = 0; i < keys->count; i++)
    if (!mhrfit_datafile_find(v, keys->items[i])) {
      fprintf(stderr, "mhrfit inspect: error: %s: no key '%s' (mhrfit inspect %s lists the keys)\n", path,
              keys->items[i], path);
      return MF_EXIT_FAILURE;
    }
  bool ok = true;
  if (json) printf("{");
  for (size_t i = 0; i < keys->count && ok; i++) {
    const mhrfit_value *x = mhrfit_datafile_find(v, keys->items[i]);
    if (json) {
      printf("%s\n  ", i ? "," : "");
      mhrfit_value k = {.kind = MHRFIT_V_STRING};
      k.u.str.data = (char *)keys->items[i];
      k.u.str.len = strlen(keys->items[i]);
      ok = mhrfit_value_write_json(&k, stdout, -1, &err);
      printf(": ");
      ok = ok && mhrfit_value_write_json(x, stdout, -1, &err);
    } else {
      list_value(keys->items[i], x, 0);
      ok = print_content(x, &err);
    }
  }
  if (json) printf("\n}\n");
  if (!ok) return mf_report("inspect", &err);
  return fflush(stdout) == 0 ? MF_EXIT_OK : MF_EXIT_FAILURE;
}

int mf_cmd_inspect(int argc, char **argv) {
  bool json = false;
  long max_mib = (long)(MHRFIT_NPY_INPUT_MAX_TOTAL >> 20);
  const mf_opt opts[] = {
      {"json", MF_OPT_FLAG, &json, NULL,
       "print the whole content (or the KEYs) as JSON (arrays as nested lists, full float precision, NaN as null)",
       NULL},
      {"max_inflated_mib", MF_OPT_INT, &max_mib, "N",
       "most MiB the file may hold or inflate to (an .npz's members, checked before inflating; default 256)", NULL},
  };
  const mf_cmd_spec spec = {
      "inspect", "FILE [KEY ...] [--json] [--max_inflated_mib N]",
      "Shows what a data file holds: .npy (plain or pickled), .npz, a raw pickle, TOML (calibration)\n"
      "or JSON, told apart by their first bytes (signatures) and else by the extension; an empty file\n"
      "or a .npz/.npy/.pkl without a binary signature is an error, not an empty document; so is a\n"
      "file of another kind (a .glb, .ply, .obj, ...), named as no data file mhrfit reads.\n"
      "Without KEY, prints one line per array or value: 'name dtype shape' (dict keys joined with\n"
      "'.', list items as [i]); with --json, the whole content as JSON. With KEYs (names as listed,\n"
      "e.g. pred_keypoints_2d or cam_01.matrix), prints each one's line and its values (of an .npz\n"
      "only those members are inflated); with --json, one JSON object of them.\n"
      "Exit status: 0 success, 1 unreadable file or unknown KEY, 2 usage error.",
      opts, sizeof opts / sizeof opts[0], 1, (size_t)-1};
  mf_strlist pos;
  int rc = mf_args_parse(&spec, argc, argv, &pos);
  if (rc >= 0) return rc;
  if (max_mib < 1 || max_mib > (long)(SIZE_MAX >> 21)) {
    mf_strlist_free(&pos);
    return mf_usage_error("inspect", "--max_inflated_mib must be at least 1, got %ld", max_mib);
  }
  const char *path = pos.items[0];
  mf_strlist keys = {pos.items + 1, pos.count - 1};
  mhrfit_datafile_options o = {(size_t)max_mib << 20, keys.count ? keys.items : NULL, keys.count};
  mhrfit_error err = {0};
  mhrfit_value *v = mhrfit_datafile_load(path, &o, NULL, &err);
  if (!v) {
    mf_strlist_free(&pos);
    return mf_report("inspect", &err);
  }
  if (keys.count) {
    rc = print_keys(path, v, &keys, json);
  } else if (json) {
    bool ok = mhrfit_value_write_json(v, stdout, 2, &err);
    printf("\n");
    rc = ok ? MF_EXIT_OK : mf_report("inspect", &err);
  } else {
    list_value("", v, 0);
    rc = fflush(stdout) == 0 ? MF_EXIT_OK : MF_EXIT_FAILURE;
  }
  mhrfit_value_free(v);
  mf_strlist_free(&pos);
  return rc;
}
