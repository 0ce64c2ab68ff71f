/* Document tree: see include/mhrfit/value.h. */
#include "mhrfit/value.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "common/utf8.h"

static mhrfit_value *alloc_value(mhrfit_value_kind kind, mhrfit_error *err) {
  mhrfit_value *v = calloc(1, sizeof *v);
  if (!v) {
    MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
    return NULL;
  }
  v->kind = kind;
  return v;
}

mhrfit_value *mhrfit_value_new_null(mhrfit_error *err) { return alloc_value(MHRFIT_V_NULL, err); }

mhrfit_value *mhrfit_value_new_bool(bool b, mhrfit_error *err) {
  mhrfit_value *v = alloc_value(MHRFIT_V_BOOL, err);
  if (v) v->u.boolean = b;
  return v;
}

mhrfit_value *mhrfit_value_new_int(int64_t i, mhrfit_error *err) {
  mhrfit_value *v = alloc_value(MHRFIT_V_INT, err);
  if (v) v->u.integer = i;
  return v;
}

mhrfit_value *mhrfit_value_new_float(double f, mhrfit_error *err) {
  mhrfit_value *v = alloc_value(MHRFIT_V_FLOAT, err);
  if (v) v->u.number = f;
  return v;
}

mhrfit_value *mhrfit_value_new_string(mhrfit_value_kind kind, const char *s, size_t len, mhrfit_error *err) {
  if (kind != MHRFIT_V_STRING && kind != MHRFIT_V_BYTES && kind != MHRFIT_V_DATETIME) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "kind %s is not a string kind", mhrfit_value_kind_name(kind));
    return NULL;
  }
  if (kind != MHRFIT_V_BYTES && !mf_utf8_valid(s, len)) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "string is not valid UTF-8");
    return NULL;
  }
  mhrfit_value *v = alloc_value(kind, err);
  if (!v) return NULL;
  v->u.str.data = mf_strndup(s, len, err);
  if (!v->u.str.data) {
    free(v);
    return NULL;
  }
  v->u.str.len = len;
  return v;
}

mhrfit_value *mhrfit_value_new_list(mhrfit_error *err) { return alloc_value(MHRFIT_V_LIST, err); }
mhrfit_value *mhrfit_value_new_dict(mhrfit_error *err) { return alloc_value(MHRFIT_V_DICT, err); }

mhrfit_value *mhrfit_value_new_array(mhrfit_array *array, mhrfit_error *err) {
  mhrfit_value *v = alloc_value(MHRFIT_V_ARRAY, err);
  if (!v) {
    mhrfit_array_free(array);
    return NULL;
  }
  v->u.array = array;
  return v;
}

void mhrfit_value_free(mhrfit_value *v) {
  if (!v) return;
  switch (v->kind) {
    case MHRFIT_V_STRING:
    case MHRFIT_V_BYTES:
    case MHRFIT_V_DATETIME: free(v->u.str.data); break;
    case MHRFIT_V_LIST:
      for (size_t i = 0; i < v->u.list.count; i++) mhrfit_value_free(v->u.list.items[i]);
      free(v->u.list.items);
      break;
    case MHRFIT_V_DICT:
      for (size_t i = 0; i < v->u.dict.count; i++) {
        free(v->u.dict.keys[i]);
        mhrfit_value_free(v->u.dict.vals[i]);
      }
      free(v->u.dict.keys);
      free(v->u.dict.vals);
      break;
    case MHRFIT_V_ARRAY: mhrfit_array_free(v->u.array); break;
    default: break;
  }
  free(v);
}

mhrfit_value *mhrfit_value_clone(const mhrfit_value *v, mhrfit_error *err) {
  mhrfit_value *c = NULL;
  switch (v->kind) {
    case MHRFIT_V_NULL: c = mhrfit_value_new_null(err); break;
    case MHRFIT_V_BOOL: c = mhrfit_value_new_bool(v->u.boolean, err); break;
    case MHRFIT_V_INT: c = mhrfit_value_new_int(v->u.integer, err); break;
    case MHRFIT_V_FLOAT: c = mhrfit_value_new_float(v->u.number, err); break;
    case MHRFIT_V_STRING:
    case MHRFIT_V_BYTES:
    case MHRFIT_V_DATETIME: c = mhrfit_value_new_string(v->kind, v->u.str.data, v->u.str.len, err); break;
    case MHRFIT_V_ARRAY: {
      mhrfit_array *a = mhrfit_array_clone(v->u.array, err);
      c = a ? mhrfit_value_new_array(a, err) : NULL;
      break;
    }
    case MHRFIT_V_LIST:
      c = mhrfit_value_new_list(err);
      for (size_t i = 0; c && i < v->u.list.count; i++) {
        mhrfit_value *item = mhrfit_value_clone(v->u.list.items[i], err);
        if (!item || !mhrfit_value_list_append(c, item, err)) {
          mhrfit_value_free(c);
          c = NULL;
        }
      }
      break;
    case MHRFIT_V_DICT:
      c = mhrfit_value_new_dict(err);
      for (size_t i = 0; c && i < v->u.dict.count; i++) {
        mhrfit_value *item = mhrfit_value_clone(v->u.dict.vals[i], err);
        if (!item || !mhrfit_value_dict_set(c, v->u.dict.keys[i], item, err)) {
          mhrfit_value_free(c);
          c = NULL;
        }
      }
      break;
  }
  if (c) c->line = v->line;
  return c;
}

bool mhrfit_value_list_append(mhrfit_value *list, mhrfit_value *item, mhrfit_error *err) {
  if (!list || list->kind != MHRFIT_V_LIST) {
    mhrfit_value_free(item);
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "append to a value that is not a list");
  }
  void *items = list->u.list.items;
  if (!mf_grow(&items, &list->u.list.cap, list->u.list.count + 1, sizeof(mhrfit_value *), err)) {
    mhrfit_value_free(item);
    return false;
  }
  list->u.list.items = items;
  list->u.list.items[list->u.list.count++] = item;
  return true;
}

bool mhrfit_value_dict_set(mhrfit_value *dict, const char *key, mhrfit_value *val, mhrfit_error *err) {
  if (!dict || dict->kind != MHRFIT_V_DICT) {
    mhrfit_value_free(val);
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "set a key in a value that is not a dict");
  }
  for (size_t i = 0; i < dict->u.dict.count; i++) {
    if (strcmp(dict->u.dict.keys[i], key) == 0) {
      mhrfit_value_free(dict->u.dict.vals[i]);
      dict->u.dict.vals[i] = val;
      return true;
    }
  }
  char *k = mf_strdup(key, err);
  if (!k) {
    mhrfit_value_free(val);
    return false;
  }
  size_t cap_keys = dict->u.dict.cap, cap_vals = dict->u.dict.cap;
  void *keys = dict->u.dict.keys, *vals = dict->u.dict.vals;
  bool ok = mf_grow(&keys, &cap_keys, dict->u.dict.count + 1, sizeof(char *), err);
  dict->u.dict.keys = keys;
  ok = ok && mf_grow(&vals, &cap_vals, dict->u.dict.count + 1, sizeof(mhrfit_value *), err);
  dict->u.dict.vals = vals;
  if (!ok) {
    free(k);
    mhrfit_value_free(val);
    return false;
  }
  dict->u.dict.cap = cap_keys < cap_vals ? cap_keys : cap_vals;
  dict->u.dict.keys[dict->u.dict.count] = k;
  dict->u.dict.vals[dict->u.dict.count] = val;
  dict->u.dict.count++;
  return true;
}

mhrfit_value *mhrfit_value_dict_get_mut(mhrfit_value *dict, const char *key) {
  if (!dict || dict->kind != MHRFIT_V_DICT) return NULL;
  for (size_t i = 0; i < dict->u.dict.count; i++)
    if (strcmp(dict->u.dict.keys[i], key) == 0) return dict->u.dict.vals[i];
  return NULL;
}

const mhrfit_value *mhrfit_value_dict_get(const mhrfit_value *dict, const char *key) {
  return mhrfit_value_dict_get_mut((mhrfit_value *)dict, key);
}

bool mhrfit_value_is_number(const mhrfit_value *v) {
  if (!v) return false;
  if (v->kind == MHRFIT_V_INT || v->kind == MHRFIT_V_FLOAT || v->kind == MHRFIT_V_BOOL) return true;
  return v->kind == MHRFIT_V_ARRAY && v->u.array->count == 1 && mhrfit_dtype_is_numeric(v->u.array->dtype);
}

double mhrfit_value_as_double(const mhrfit_value *v) {
  if (!mhrfit_value_is_number(v)) return NAN;
  switch (v->kind) {
    case MHRFIT_V_INT: return (double)v->u.integer;
    case MHRFIT_V_FLOAT: return v->u.number;
    case MHRFIT_V_BOOL: return v->u.boolean ? 1.0 : 0.0;
    default: return mhrfit_array_get_f64(v->u.array, 0);
  }
}

const char *mhrfit_value_kind_name(mhrfit_value_kind kind) {
  static const char *const names[] = {"null", "bool", "int", "float", "string", "bytes",
                                      "datetime", "list", "dict", "array"};
  return (unsigned)kind < sizeof names / sizeof names[0] ? names[kind] : "invalid";
}

/* ---- JSON output ---------------------------------------------------------------------------- */

void mhrfit_format_double(double x, char *buf, size_t size) {
  if (!isfinite(x)) {
    snprintf(buf, size, "null");
    return;
  }
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, size, "%.*g", prec, x);
    if (strtod(buf, NULL) == x) break;
  }
  /* Keep it a JSON number that reads back as floating point in Python ("1.0", not "1"). */
  if (!strpbrk(buf, ".eEn") && strlen(buf) + 3 <= size) strcat(buf, ".0");
}

typedef struct json_out {
  FILE *f;
  int indent;
  bool failed; /* a write failed: nothing more is written */
  int sys_errno; /* errno of the first failed write */
} json_out;

static void jfailed(json_out *o) {
  o->failed = true;
  o->sys_errno = errno;
}

static void jput(json_out *o, const char *s) {
  if (!o->failed && fputs(s, o->f) == EOF) jfailed(o);
}

static void jwrite(json_out *o, const char *s, size_t n) {
  if (!o->failed && n && fwrite(s, 1, n, o->f) != n) jfailed(o);
}

static void jnewline(json_out *o, int depth) {
  if (o->indent < 0) return;
  static const char spaces[64] = "                                                               ";
  jput(o, "\n");
  for (size_t left = (size_t)depth * (size_t)o->indent; left;) { /* runs of spaces, not one call each */
    size_t k = left < sizeof spaces - 1 ? left : sizeof spaces - 1;
    jwrite(o, spaces, k);
    left -= k;
  }
}

static void jstring(json_out *o, const char *s, size_t len, bool raw_bytes) {
  jput(o, "\"");
  char buf[8];
  size_t run = 0; /* start of the pending run of characters written as they are */
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    const char *esc = NULL;
    if (c == '"') esc = "\\\"";
    else if (c == '\\') esc = "\\\\";
    else if (c == '\n') esc = "\\n";
    else if (c == '\r') esc = "\\r";
    else if (c == '\t') esc = "\\t";
    else if (c < 0x20 || c == 0x7f || (raw_bytes && c >= 0x80)) {
      snprintf(buf, sizeof buf, "\\u%04x", c);
      esc = buf;
    }
    if (esc) {
      jwrite(o, s + run, i - run);
      jput(o, esc);
      run = i + 1;
    }
  }
  jwrite(o, s + run, len - run);
  jput(o, "\"");
}

static void jarray_elems(json_out *o, const mhrfit_array *a, int axis, size_t *flat, int depth) {
  if (axis == a->ndim) {
    size_t i = (*flat)++;
    char buf[64];
    if (a->dtype == MHRFIT_DT_UNICODE || a->dtype == MHRFIT_DT_BYTES) {
      size_t cap = a->itemsize * 4 + 1;
      char *s = malloc(cap);
      if (!s || !mhrfit_array_get_string(a, i, s, cap, NULL)) {
        jput(o, "null");
      } else {
        jstring(o, s, strlen(s), a->dtype == MHRFIT_DT_BYTES);
      }
      free(s);
    } else if (a->dtype == MHRFIT_DT_BOOL) {
      jput(o, mhrfit_array_get_f64(a, i) != 0 ? "true" : "false");
    } else if (a->dtype == MHRFIT_DT_F16 || a->dtype == MHRFIT_DT_F32) {
      /* Shortest text that reads back to the same float32 (as NumPy prints it). */
      float x = (float)mhrfit_array_get_f64(a, i);
      if (!isfinite(x)) {
        jput(o, "null");
      } else {
        for (int prec = 1; prec <= 9; prec++) {
          snprintf(buf, sizeof buf, "%.*g", prec, (double)x);
          if ((float)strtod(buf, NULL) == x) break;
        }
        if (!strpbrk(buf, ".eEn")) strcat(buf, ".0");
        jput(o, buf);
      }
    } else if (a->dtype == MHRFIT_DT_F64) {
      mhrfit_format_double(mhrfit_array_get_f64(a, i), buf, sizeof buf);
      jput(o, buf);
    } else {
      /* Exact integers, including the full uint64/int64 range. */
      const unsigned char *p = (const unsigned char *)a->data + i * a->itemsize;
      if (a->dtype == MHRFIT_DT_U64) {
        uint64_t u;
        memcpy(&u, p, 8);
        snprintf(buf, sizeof buf, "%llu", (unsigned long long)u);
      } else if (a->dtype == MHRFIT_DT_I64) {
        int64_t s;
        memcpy(&s, p, 8);
        snprintf(buf, sizeof buf, "%lld", (long long)s);
      } else {
        snprintf(buf, sizeof buf, "%.0f", mhrfit_array_get_f64(a, i));
      }
      jput(o, buf);
    }
    return;
  }
  jput(o, "[");
  for (size_t k = 0; k < a->shape[axis]; k++) {
    if (k) jput(o, ", ");
    jarray_elems(o, a, axis + 1, flat, depth + 1);
  }
  jput(o, "]");
}

static void jvalue(json_out *o, const mhrfit_value *v, int depth) {
  char buf[64];
  switch (v->kind) {
    case MHRFIT_V_NULL: jput(o, "null"); break;
    case MHRFIT_V_BOOL: jput(o, v->u.boolean ? "true" : "false"); break;
    case MHRFIT_V_INT:
      snprintf(buf, sizeof buf, "%lld", (long long)v->u.integer);
      jput(o, buf);
      break;
    case MHRFIT_V_FLOAT:
      mhrfit_format_double(v->u.number, buf, sizeof buf);
      jput(o, buf);
      break;
    case MHRFIT_V_STRING:
    case MHRFIT_V_DATETIME: jstring(o, v->u.str.data, v->u.str.len, false); break;
    case MHRFIT_V_BYTES: jstring(o, v->u.str.data, v->u.str.len, true); break;
    case MHRFIT_V_ARRAY: {
      size_t flat = 0;
      jarray_elems(o, v->u.array, 0, &flat, depth);
      break;
    }
    case MHRFIT_V_LIST:
      jput(o, "[");
      for (size_t i = 0; i < v->u.list.count; i++) {
        if (i) jput(o, o->indent < 0 ? ", " : ",");
        jnewline(o, depth + 1);
        jvalue(o, v->u.list.items[i], depth + 1);
      }
      if (v->u.list.count) jnewline(o, depth);
      jput(o, "]");
      break;
    case MHRFIT_V_DICT:
      jput(o, "{");
      for (size_t i = 0; i < v->u.dict.count; i++) {
        if (i) jput(o, o->indent < 0 ? ", " : ",");
        jnewline(o, depth + 1);
        jstring(o, v->u.dict.keys[i], strlen(v->u.dict.keys[i]), false);
        jput(o, ": ");
        jvalue(o, v->u.dict.vals[i], depth + 1);
      }
      if (v->u.dict.count) jnewline(o, depth);
      jput(o, "}");
      break;
  }
}

bool mhrfit_value_write_json(const mhrfit_value *v, FILE *out, int indent, mhrfit_error *err) {
  json_out o = {out, indent, false, 0};
  errno = 0;
  jvalue(&o, v, 0);
  if (!o.failed && ferror(out)) {
    o.failed = true;
    o.sys_errno = errno;
  }
  if (o.failed)
    return MHRFIT_FAIL_ERRNO(err, MHRFIT_ERR_IO, o.sys_errno, "writing JSON failed%s%s", o.sys_errno ? ": " : "",
                             o.sys_errno ? strerror(o.sys_errno) : "");
  return true;
}
