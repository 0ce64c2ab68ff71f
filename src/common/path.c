/* File-system helpers: natural ordering and folder listings. */
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

static int cmp_names(const void *x, const void *y) {
  int c = mf_natural_cmp(*(char *const *)x, *(char *const *)y);
  return c ? c : strcmp(*(char *const *)x, *(char *const *)y);
}

char *mf_path_join(const char *dir, const char *name, mhrfit_error *err) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = mf_malloc_array(n, 1, err);
  if (p) snprintf(p, n, "%s/%s", dir, name);
  return p;
}

bool mf_list_dir(const char *dir, const char *suffix, bool dirs_only, mf_names *out, mhrfit_error *err) {
  out->items = NULL;
  out->count = 0;
  DIR *d = opendir(dir);
  if (!d) return MHRFIT_FAIL(err, MHRFIT_ERR_IO, "%s: cannot list folder: %s", dir, strerror(errno));
  size_t cap = 0;
  struct dirent *e;
  bool ok = true;
  while ((e = readdir(d)) != NULL) {
    const char *nm = e->d_name;
    if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0) continue;
    size_t ln = strlen(nm);
    if (suffix) {
      size_t ls = strlen(suffix);
      if (ln < ls || strcmp(nm + ln - ls, suffix) != 0) continue;
    }
    if (dirs_only) {
      char *full = mf_path_join(dir, nm, err);
      struct stat st;
      bool is_dir = full && stat(full, &st) == 0 && S_ISDIR(st.st_mode);
      free(full);
      if (!is_dir) continue;
    }
    void *items = out->items;
    if (!mf_grow(&items, &cap, out->count + 1, sizeof(char *), err)) {
      ok = false;
      break;
    }
    out->items = items;
    out->items[out->count] = mf_strdup(nm, err);
    if (!out->items[out->count]) {
      ok = false;
      break;
    }
    out->count++;
  }
  closedir(d);
  if (!ok) {
    mf_names_free(out);
    return false;
  }
  if (out->count) qsort(out->items, out->count, sizeof(char *), cmp_names);
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
  char *p = mf_strdup(path, err);
  if (!p) return false;
  for (char *s = p + 1;; s++) {
    if (*s != '/' && *s != '\0') continue;
    char c = *s;
    *s = '\0';
    if (mkdir(p, 0777) != 0 && errno != EEXIST) {
      MHRFIT_FAIL(err, MHRFIT_ERR_IO, "%s: cannot create folder: %s", p, strerror(errno));
      free(p);
      return false;
    }
    *s = c;
    if (!c) break;
  }
  free(p);
  if (!mf_is_dir(path)) return MHRFIT_FAIL(err, MHRFIT_ERR_IO, "%s: not a folder", path);
  return true;
}
