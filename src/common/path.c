/* File-system helpers: natural ordering and folder listings. */
/* d_type and the DT_* kinds of readdir() entries. */
#define _DEFAULT_SOURCE
#include "common/path.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/mem.h"

int mf_natural_cmp(const char *a, const char *b) {
  while (*a && *b) {
    if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
      while (*a == '0' && isdigit((unsigned char)a[1])) a++;
      while (*b == '0' && isdigit((unsigned char)b[1])) b++;
      size_t na = 0, nb = 0;
      while (isdigit((unsigned char)a[na])) na++;
      while (isdigit((unsigned char)b[nb])) nb++;
      if (na != nb) return na < nb ? -1 : 1;
      int c = strncmp(a, b, na);
      if (c) return c;
      a += na;
      b += nb;
      continue;
    }
    if (*a != *b) return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
    a++;
    b++;
  }
  return (unsigned char)*a - (unsigned char)*b;
}

char *mf_path_join(const char *dir, const char *name, mhrfit_error *err) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = mf_malloc_array(n, 1, err);
  if (p) snprintf(p, n, "%s/%s", dir, name);
  return p;
}

bool mf_find_recorded(const char *recorded, const char *run_dir, char **found, mhrfit_error *err) {
  return mf_find_recorded_entry(recorded, run_dir, false, found, err);
}

bool mf_find_recorded_entry(const char *recorded, const char *run_dir, bool dir, char **found, mhrfit_error *err) {
  *found = NULL;
  bool (*is)(const char *) = dir ? mf_is_dir : mf_is_file;
  if (!recorded || !*recorded) return true;
  if (is(recorded) || recorded[0] == '/') return !is(recorded) || (*found = mf_strdup(recorded, err));
  if (!run_dir) return true;
  size_t n = strlen(run_dir);
  char *base = mf_malloc_array(n + 2, 1, err); /* room for "." */
  if (!base) return false;
  memcpy(base, run_dir, n + 1);
  bool ok = true;
  for (int up = 0; up < 4; up++) {
    char *p = mf_path_join(base, recorded, err);
    if (!p) {
      ok = false;
      break;
    }
    if (is(p)) {
      *found = p;
      break;
    }
    free(p);
    char *slash = strrchr(base, '/');
    if (!slash || slash == base) {
      if (strcmp(base, ".") == 0) break;
      strcpy(base, ".");
      continue;
    }
    *slash = '\0';
  }
  free(base);
  return ok;
}

/* Kind of a listed entry: from d_type where the file system tells it, else (and for symbolic
 * links) from a stat of the entry. */
static unsigned char entry_type(const char *dir, const struct dirent *e, bool *via_link) {
  *via_link = false;
#ifdef DT_DIR
  if (e->d_type == DT_DIR) return MF_ENTRY_DIR;
  if (e->d_type == DT_REG) return MF_ENTRY_FILE;
  if (e->d_type != DT_LNK && e->d_type != DT_UNKNOWN) return MF_ENTRY_OTHER;
#endif
  *via_link = true;
  char *full = mf_path_join(dir, e->d_name, NULL);
  struct stat st;
  unsigned char t = MF_ENTRY_OTHER;
  if (full && stat(full, &st) == 0) t = S_ISDIR(st.st_mode) ? MF_ENTRY_DIR : S_ISREG(st.st_mode) ? MF_ENTRY_FILE : MF_ENTRY_OTHER;
  free(full);
  return t;
}

static int cmp_entries(const void *x, const void *y) {
  const char *a = ((const mf_dir_entry *)x)->name, *b = ((const mf_dir_entry *)y)->name;
  int c = mf_natural_cmp(a, b);
  return c ? c : strcmp(a, b);
}

bool mf_list_entries(const char *dir, bool missing_ok, mf_entries *out, mhrfit_error *err) {
  out->items = NULL;
  out->count = 0;
  out->exists = false;
  DIR *d = opendir(dir);
  if (!d) {
    if (missing_ok && (errno == ENOENT || errno == ENOTDIR)) return true;
    return MHRFIT_FAIL(err, MHRFIT_ERR_IO, "%s: cannot list folder: %s", dir, strerror(errno));
  }
  out->exists = true;
  size_t cap = 0;
  struct dirent *e;
  bool ok = true;
  while ((e = readdir(d)) != NULL) {
    const char *nm = e->d_name;
    if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0) continue;
    void *items = out->items;
    if (!mf_grow(&items, &cap, out->count + 1, sizeof(mf_dir_entry), err)) {
      ok = false;
      break;
    }
    out->items = items;
    mf_dir_entry *it = &out->items[out->count];
    if (!(it->name = mf_strdup(nm, err))) {
      ok = false;
      break;
    }
    it->type = entry_type(dir, e, &it->via_link);
    out->count++;
  }
  closedir(d);
  if (!ok) {
    mf_entries_free(out);
    return false;
  }
  if (out->count > 1) qsort(out->items, out->count, sizeof *out->items, cmp_entries);
  return true;
}

const mf_dir_entry *mf_entries_find(const mf_entries *e, const char *name) {
  for (size_t i = 0; i < e->count; i++)
    if (strcmp(e->items[i].name, name) == 0) return &e->items[i];
  return NULL;
}

void mf_entries_free(mf_entries *e) {
  for (size_t i = 0; i < e->count; i++) free(e->items[i].name);
  free(e->items);
  e->items = NULL;
  e->count = 0;
  e->exists = false;
}

bool mf_list_dir(const char *dir, const char *suffix, bool dirs_only, mf_names *out, mhrfit_error *err) {
  out->items = NULL;
  out->count = 0;
  mf_entries e;
  if (!mf_list_entries(dir, false, &e, err)) return false;
  out->items = mf_calloc_array(e.count ? e.count : 1, sizeof *out->items, err);
  if (!out->items) {
    mf_entries_free(&e);
    return false;
  }
  size_t ls = suffix ? strlen(suffix) : 0;
  for (size_t i = 0; i < e.count; i++) { /* the kept names move into `out`, in the listing's order */
    const char *nm = e.items[i].name;
    size_t ln = strlen(nm);
    if ((suffix && (ln < ls || strcmp(nm + ln - ls, suffix) != 0)) || (dirs_only && e.items[i].type != MF_ENTRY_DIR))
      continue;
    out->items[out->count++] = e.items[i].name;
    e.items[i].name = NULL;
  }
  mf_entries_free(&e);
  return true;
}

void mf_names_free(mf_names *n) {
  for (size_t i = 0; i < n->count; i++) free(n->items[i]);
  free(n->items);
  n->items = NULL;
  n->count = 0;
}

bool mf_is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool mf_is_file(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

char *mf_camera_file(const char *dir, const char *cam, mhrfit_error *err) {
  static const char *const ext[2] = {".npz", ".npy"};
  for (int i = 0; i < 2; i++) {
    size_t n = strlen(dir) + strlen(cam) + 8;
    char *p = malloc(n);
    if (!p) {
      MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
      return NULL;
    }
    snprintf(p, n, "%s/%s%s", dir, cam, ext[i]);
    if (mf_is_file(p)) return p;
    free(p);
  }
  return NULL;
}

bool mf_make_dirs(const char *path, mhrfit_error *err) {
  if (mkdir(path, 0777) == 0) return true;
  int e = errno;
  if (e == EEXIST) {
    if (mf_is_dir(path)) return true;
    return MHRFIT_FAIL(err, MHRFIT_ERR_IO, "%s: not a folder", path);
  }
  /* ENOENT: a parent is missing; make it, then the leaf */
  size_t n = strlen(path);
  while (n > 1 && path[n - 1] == '/') n--;
  while (n > 0 && path[n - 1] != '/') n--;
  while (n > 1 && path[n - 1] == '/') n--;
  if (e != ENOENT || n == 0 || (n == 1 && path[0] == '/'))
    return MHRFIT_FAIL_ERRNO(err, MHRFIT_ERR_IO, e, "%s: cannot create folder: %s", path, strerror(e));
  char *parent = mf_strndup(path, n, err);
  if (!parent) return false;
  bool ok = mf_make_dirs(parent, err);
  free(parent);
  if (!ok) return false;
  if (mkdir(path, 0777) == 0) return true;
  e = errno;
  if (e == EEXIST && mf_is_dir(path)) return true; /* made meanwhile by someone else */
  if (e == EEXIST) return MHRFIT_FAIL(err, MHRFIT_ERR_IO, "%s: not a folder", path);
  return MHRFIT_FAIL_ERRNO(err, MHRFIT_ERR_IO, e, "%s: cannot create folder: %s", path, strerror(e));
}

char *mf_path_resolve(const char *path, mhrfit_error *err) {
  char *real = realpath(path, NULL);
  if (real) return real;
  if (!*path) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "empty path");
    return NULL;
  }
  /* the longest prefix that exists, cut before a '/' */
  size_t n = strlen(path);
  char *prefix = mf_strndup(path, n, err);
  if (!prefix) return NULL;
  while (!real) {
    while (n > 0 && path[n - 1] == '/') n--;
    while (n > 0 && path[n - 1] != '/') n--;
    size_t cut = n;
    while (cut > 1 && path[cut - 1] == '/') cut--;
    memcpy(prefix, path, cut);
    prefix[cut] = '\0';
    const char *candidate = n == 0 ? "." : prefix;
    real = realpath(candidate, NULL);
    if (!real && (n == 0 || strcmp(candidate, "/") == 0)) break; /* neither the working folder nor "/" */
  }
  free(prefix);
  if (!real) {
    MHRFIT_FAIL_ERRNO(err, MHRFIT_ERR_IO, errno, "%s: cannot resolve the path: %s", path, strerror(errno));
    return NULL;
  }
  /* the missing rest, component by component ("." skipped, ".." taken back lexically) */
  size_t len = strlen(real), cap = len + strlen(path) + 2;
  char *out = mf_malloc_array(cap, 1, err);
  if (!out) {
    free(real);
    return NULL;
  }
  memcpy(out, real, len + 1);
  free(real);
  for (const char *c = path + n; *c;) {
    size_t k = strcspn(c, "/");
    if (k == 2 && c[0] == '.' && c[1] == '.') {
      while (len > 1 && out[len - 1] != '/') len--;
      if (len > 1) len--;
      out[len] = '\0';
    } else if (k && !(k == 1 && c[0] == '.')) {
      if (len > 1 || out[0] != '/') out[len++] = '/';
      memcpy(out + len, c, k);
      out[len += k] = '\0';
    }
    c += k;
    while (*c == '/') c++;
  }
  return out;
}

bool mf_path_within(const char *path, const char *base) {
  char *b = realpath(base, NULL), *p = b ? mf_path_resolve(path, NULL) : NULL;
  size_t n = b ? strlen(b) : 0;
  bool within = b && p && strncmp(p, b, n) == 0 && (p[n] == '\0' || p[n] == '/' || (n == 1 && b[0] == '/'));
  free(b);
  free(p);
  return within;
}

bool mf_same_file(const char *a, const char *b) {
  struct stat sa, sb;
  if (stat(a, &sa) == 0 && stat(b, &sb) == 0) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
  char *ra = mf_path_resolve(a, NULL), *rb = mf_path_resolve(b, NULL);
  bool same = ra && rb && strcmp(ra, rb) == 0;
  free(ra);
  free(rb);
  return same;
}

bool mf_output_replaces(const char *out, const char *in) {
  if (mf_same_file(out, in)) return true;
  struct stat so;
  return mf_is_dir(in) && stat(out, &so) == 0 && !S_ISDIR(so.st_mode) && mf_path_within(out, in);
}
