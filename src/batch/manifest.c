/* The batch manifest: [defaults] and [[session]] tables of a TOML file turned into each session's
 * `run` arguments (include/mhrfit/batch.h). */
#define _XOPEN_SOURCE 700 /* realpath */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch/batch_internal.h"
#include "common/file.h"
#include "common/hash.h"
#include "common/mem.h"
#include "common/path.h"
#include "mhrfit/toml.h"

/* Keys whose string values are paths, resolved against the manifest's folder. */
static const char *const path_keys[] = {"input", "calib", "out", "sam_dir", "rig", "assets", "keypoint_map",
                                        "keypoint_names"};

static bool is_path_key(const char *key) {
  for (size_t i = 0; i < sizeof path_keys / sizeof *path_keys; i++)
    if (strcmp(key, path_keys[i]) == 0) return true;
  return false;
}

/* A key with '-' read as '_' (the command line accepts both). */
static void snake(const char *key, char *out, size_t size) {
  size_t i = 0;
  for (; key[i] && i + 1 < size; i++) out[i] = key[i] == '-' ? '_' : key[i];
  out[i] = '\0';
}

static bool name_ok(const char *s) {
  if (!s[0] || s[0] == '.' || strlen(s) > 200) return false;
  for (const char *c = s; *c; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '.' ||
          *c == '_' || *c == '-'))
      return false;
  return true;
}

/* The argument list of one session under construction. */
typedef struct arglist {
  char **items;
  size_t n, cap;
} arglist;

static bool push(arglist *a, char *s, mhrfit_error *err) {
  if (!s) return false;
  if (!mf_grow((void **)&a->items, &a->cap, a->n + 1, sizeof *a->items, err)) {
    free(s);
    return false;
  }
  a->items[a->n++] = s;
  return true;
}

static void arglist_free(arglist *a) {
  for (size_t i = 0; i < a->n; i++) free(a->items[i]);
  free(a->items);
  memset(a, 0, sizeof *a);
}

/* A path of the manifest: absolute, or relative to its folder. */
static char *resolve(const mhrfit_batch_manifest *m, const char *p, mhrfit_error *err) {
  return p[0] == '/' ? mf_strdup(p, err) : mf_path_join(m->dir, p, err);
}

/* A scalar as the text of a command-line value; NULL (err set) for another kind. */
static char *scalar_text(const mhrfit_batch_manifest *m, const char *where, const char *key, const mhrfit_value *v,
                         mhrfit_error *err) {
  switch (v->kind) {
    case MHRFIT_V_INT: return mf_strdup_printf(err, "%" PRId64, v->u.integer);
    case MHRFIT_V_FLOAT: return mf_strdup_printf(err, "%.17g", v->u.number);
    case MHRFIT_V_STRING:
      if (memchr(v->u.str.data, '\0', v->u.str.len) || memchr(v->u.str.data, '\n', v->u.str.len)) break;
      return is_path_key(key) && v->u.str.len ? resolve(m, v->u.str.data, err) : mf_strdup(v->u.str.data, err);
    default: break;
  }
  MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s:%d: %s: '%s' takes a number or a one-line string, not a %s", m->path,
              v->line, where, key, mhrfit_value_kind_name(v->kind));
  return NULL;
}

/* The arguments of one key = value ("--key=value", "--key", "--no_key", "--key=a", "b", ...). */
static bool key_args(const mhrfit_batch_manifest *m, const char *where, const char *key, const mhrfit_value *v,
                     arglist *a, mhrfit_error *err) {
  if (v->kind == MHRFIT_V_BOOL) return push(a, mf_strdup_printf(err, "--%s%s", v->u.boolean ? "" : "no_", key), err);
  if (v->kind == MHRFIT_V_LIST) {
    if (!v->u.list.count) return true; /* an empty list: the option's default */
    for (size_t i = 0; i < v->u.list.count; i++) {
      char *t = scalar_text(m, where, key, v->u.list.items[i], err);
      if (!t) return false;
      if (t[0] == '-' && t[1] == '-') {
        free(t);
        return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s:%d: %s: '%s': a list item may not start with '--'", m->path,
                           v->line, where, key);
      }
      char *arg = i ? t : mf_strdup_printf(err, "--%s=%s", key, t);
      if (i == 0) free(t);
      if (!push(a, arg, err)) return false;
    }
    return true;
  }
  char *t = scalar_text(m, where, key, v, err);
  bool ok = t && push(a, mf_strdup_printf(err, "--%s=%s", key, t), err);
  free(t);
  return ok;
}

/* One session: [defaults] then its own keys (a key of both takes the session's value). */
static bool build_session(mhrfit_batch_manifest *m, size_t index, const mhrfit_value *defaults, const mhrfit_value *t,
                          mhrfit_error *err) {
  mhrfit_batch_session *s = &m->sessions[index];
  mf_batch_session_store *st = &m->store[index];
  char where[64];
  snprintf(where, sizeof where, "session %zu", index + 1);
  if (t->kind != MHRFIT_V_DICT)
    return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: %s is not a table", m->path, where);
  const mhrfit_value *name = mhrfit_value_dict_get(t, "name");
  if (!name || name->kind != MHRFIT_V_STRING || !name_ok(name->u.str.data))
    return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT,
                       "%s:%d: %s: 'name' is required: letters, digits, '.', '_' and '-' (not first '.'), at most 200",
                       m->path, t->line, where);
  if (!(st->name = mf_strdup(name->u.str.data, err))) return false;
  snprintf(where, sizeof where, "session '%.40s'", st->name);
  /* the merged keys: defaults first, a session's key replacing the default of the same name */
  const mhrfit_value *tables[2] = {defaults, t};
  const char *keys[512];
  const mhrfit_value *vals[512];
  size_t n = 0;
  for (int k = 0; k < 2; k++) {
    if (!tables[k]) continue;
    for (size_t i = 0; i < tables[k]->u.dict.count; i++) {
      const char *key = tables[k]->u.dict.keys[i];
      char sk[128];
      snake(key, sk, sizeof sk);
      if (strcmp(sk, "name") == 0) continue;
      if (k == 0 && strcmp(sk, "out") == 0)
        return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: [defaults] may not set 'out' (each session has its own)", m->path);
      const mhrfit_value *v = tables[k]->u.dict.vals[i];
      if (v->kind == MHRFIT_V_DICT)
        return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s:%d: %s: '%s' is a table; run options are values or lists",
                           m->path, v->line, k ? where : "[defaults]", key);
      size_t j = 0;
      while (j < n) {
        char other[128];
        snake(keys[j], other, sizeof other);
        if (strcmp(other, sk) == 0) break;
        j++;
      }
      if (j == n && n == sizeof keys / sizeof *keys)
        return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: %s: too many keys", m->path, where);
      keys[j] = key;
      vals[j] = v;
      if (j == n) n++;
    }
  }
  static const char *const required[3] = {"input", "calib", "out"};
  const char **slot[3] = {&s->input, &s->calib, &s->out};
  for (int r = 0; r < 3; r++) {
    const mhrfit_value *v = NULL;
    for (size_t j = 0; j < n && !v; j++) {
      char sk[128];
      snake(keys[j], sk, sizeof sk);
      if (strcmp(sk, required[r]) == 0) v = vals[j];
    }
    if (!v || v->kind != MHRFIT_V_STRING || !v->u.str.len)
      return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s:%d: %s: '%s' (a path) is required", m->path, t->line, where,
                         required[r]);
    if (!(st->paths[r] = resolve(m, v->u.str.data, err))) return false;
    *slot[r] = st->paths[r];
  }
  arglist a = {0};
  for (size_t j = 0; j < n; j++) {
    char sk[128];
    snake(keys[j], sk, sizeof sk);
    if (strcmp(sk, "jobs") == 0) s->sets_jobs = true;
    if (!key_args(m, where, sk, vals[j], &a, err)) {
      arglist_free(&a);
      return false;
    }
  }
  st->args = a.items;
  st->n_args = a.n;
  s->name = st->name;
  s->index = index;
  s->args = (const char *const *)st->args;
  s->n_args = st->n_args;
  return true;
}

mhrfit_batch_manifest *mf_batch_manifest_parse(const char *text, size_t len, const char *path, mhrfit_error *err) {
  mhrfit_batch_manifest *m = calloc(1, sizeof *m);
  if (!m) {
    MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
    return NULL;
  }
  mhrfit_value *doc = NULL;
  m->hash = mf_xxh64_buffer(text, len);
  const char *slash = strrchr(path, '/');
  if (!(m->path = mf_strdup(path, err)) ||
      !(m->dir = !slash ? mf_strdup(".", err) : slash == path ? mf_strdup("/", err) : mf_strndup(path, (size_t)(slash - path), err)))
    goto fail;
  if (!(doc = mhrfit_toml_parse(text, len, path, err))) goto fail;
  for (size_t i = 0; i < doc->u.dict.count; i++) {
    const char *k = doc->u.dict.keys[i];
    if (strcmp(k, "defaults") != 0 && strcmp(k, "session") != 0) {
      MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s:%d: unknown key '%s' (a manifest has [defaults] and [[session]] tables)",
                  m->path, doc->u.dict.vals[i]->line, k);
      goto fail;
    }
  }
  const mhrfit_value *defaults = mhrfit_value_dict_get(doc, "defaults");
  const mhrfit_value *list = mhrfit_value_dict_get(doc, "session");
  if (defaults && defaults->kind != MHRFIT_V_DICT) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: 'defaults' must be a table ([defaults])", m->path);
    goto fail;
  }
  if (!list || list->kind != MHRFIT_V_LIST || !list->u.list.count) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: no session (one [[session]] table per session)", m->path);
    goto fail;
  }
  size_t n = list->u.list.count;
  m->sessions = mf_calloc_array(n, sizeof *m->sessions, err);
  m->store = m->sessions ? mf_calloc_array(n, sizeof *m->store, err) : NULL;
  if (!m->store) goto fail;
  m->n = n;
  for (size_t i = 0; i < n; i++) {
    if (!build_session(m, i, defaults, list->u.list.items[i], err)) goto fail;
    for (size_t j = 0; j < i; j++) {
      if (strcmp(m->sessions[j].name, m->sessions[i].name) == 0) {
        MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: two sessions are named '%s'", m->path, m->sessions[i].name);
        goto fail;
      }
      if (strcmp(m->sessions[j].out, m->sessions[i].out) == 0) {
        MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: sessions '%s' and '%s' have the same output folder %s", m->path,
                    m->sessions[j].name, m->sessions[i].name, m->sessions[i].out);
        goto fail;
      }
    }
  }
  mhrfit_value_free(doc);
  return m;
fail:
  mhrfit_value_free(doc);
  mhrfit_batch_manifest_free(m);
  return NULL;
}

mhrfit_batch_manifest *mhrfit_batch_manifest_load(const char *path, mhrfit_error *err) {
  unsigned char *text = NULL;
  size_t len = 0;
  if (!mf_read_file(path, (size_t)16 << 20, &text, &len, err)) return NULL;
  char *real = realpath(path, NULL);
  mhrfit_batch_manifest *m = NULL;
  if (!real) MHRFIT_FAIL(err, MHRFIT_ERR_IO, "%s: cannot resolve the path", path);
  else m = mf_batch_manifest_parse((const char *)text, len, real, err);
  free(real);
  free(text);
  return m;
}

size_t mhrfit_batch_n_sessions(const mhrfit_batch_manifest *m) { return m ? m->n : 0; }

const mhrfit_batch_session *mhrfit_batch_session_get(const mhrfit_batch_manifest *m, size_t i) {
  return m && i < m->n ? &m->sessions[i] : NULL;
}

const char *mhrfit_batch_manifest_path(const mhrfit_batch_manifest *m) { return m ? m->path : NULL; }

void mhrfit_batch_manifest_free(mhrfit_batch_manifest *m) {
  if (!m) return;
  for (size_t i = 0; m->store && i < m->n; i++) {
    mf_batch_session_store *st = &m->store[i];
    free(st->name);
    for (int r = 0; r < 3; r++) free(st->paths[r]);
    for (size_t k = 0; k < st->n_args; k++) free(st->args[k]);
    free(st->args);
  }
  free(m->store);
  free(m->sessions);
  free(m->path);
  free(m->dir);
  free(m);
}
