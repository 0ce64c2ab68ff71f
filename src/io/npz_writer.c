/* Internal .npz builder: see npz_writer.h. */
#include "io/npz_writer.h"

#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "io/numpy_io.h"
#include "mhrfit/npy.h"

static size_t shape_count(int ndim, const size_t *shape) {
  size_t n = 1;
  for (int i = 0; i < ndim; i++) n *= shape[i];
  return n;
}

static mhrfit_array *add_member(mf_npz_writer *w, const char *name, mhrfit_array *a) {
  if (!a) {
    w->failed = true;
    return NULL;
  }
  if (w->n == w->cap) {
    size_t cap = w->cap ? 2 * w->cap : 32;
    char **names = realloc(w->names, cap * sizeof *names);
    if (names) w->names = names;
    mhrfit_array **arrays = names ? realloc(w->arrays, cap * sizeof *arrays) : NULL;
    if (arrays) w->arrays = arrays;
    if (!names || !arrays) {
      mhrfit_array_free(a);
      w->failed = true;
      MHRFIT_FAIL(&w->err, MHRFIT_ERR_NOMEM, "out of memory adding '%s'", name);
      return NULL;
    }
    w->cap = cap;
  }
  size_t len = strlen(name);
  char *copy = malloc(len + 1);
  if (!copy) {
    mhrfit_array_free(a);
    w->failed = true;
    MHRFIT_FAIL(&w->err, MHRFIT_ERR_NOMEM, "out of memory adding '%s'", name);
    return NULL;
  }
  memcpy(copy, name, len + 1);
  w->names[w->n] = copy;
  w->arrays[w->n++] = a;
  return a;
}

mhrfit_array *mf_npz_add(mf_npz_writer *w, const char *name, mhrfit_dtype dtype, int ndim, const size_t *shape) {
  if (w->failed) return NULL;
  return add_member(w, name, mhrfit_array_new(dtype, 0, ndim, shape, 0, &w->err));
}

void mf_npz_add_f32(mf_npz_writer *w, const char *name, const double *src, int ndim, const size_t *shape) {
  mhrfit_array *a = mf_npz_add(w, name, MHRFIT_DT_F32, ndim, shape);
  if (!a) return;
  float *d = a->data;
  for (size_t i = 0, n = shape_count(ndim, shape); i < n; i++) d[i] = (float)src[i];
}

void mf_npz_add_f64(mf_npz_writer *w, const char *name, const double *src, int ndim, const size_t *shape) {
  mhrfit_array *a = mf_npz_add(w, name, MHRFIT_DT_F64, ndim, shape);
  if (a && a->count) memcpy(a->data, src, a->count * sizeof(double));
}

void mf_npz_add_i32(mf_npz_writer *w, const char *name, const int32_t *src, int ndim, const size_t *shape) {
  mhrfit_array *a = mf_npz_add(w, name, MHRFIT_DT_I32, ndim, shape);
  if (a && a->count) memcpy(a->data, src, a->count * sizeof(int32_t));
}

void mf_npz_add_scalar_f64(mf_npz_writer *w, const char *name, double v) { mf_npz_add_f64(w, name, &v, 0, NULL); }

void mf_npz_add_scalar_i32(mf_npz_writer *w, const char *name, int32_t v) { mf_npz_add_i32(w, name, &v, 0, NULL); }

void mf_npz_add_strings(mf_npz_writer *w, const char *name, const char *const *s, size_t n, int ndim) {
  if (w->failed) return;
  size_t width = 1; /* in code points */
  for (size_t i = 0; i < n; i++) {
    size_t cps = 0;
    for (const unsigned char *p = (const unsigned char *)s[i]; *p; p++) cps += (*p & 0xC0) != 0x80;
    if (cps > width) width = cps;
  }
  size_t shape[1] = {n};
  mhrfit_array *a = add_member(w, name, mhrfit_array_new(MHRFIT_DT_UNICODE, 4 * width, ndim, shape, 0, &w->err));
  if (!a) return;
  for (size_t i = 0; i < n && i < a->count; i++) {
    const unsigned char *p = (const unsigned char *)s[i];
    size_t len = strlen(s[i]), c = 0;
    while (len && c < width) {
      uint32_t cp;
      size_t used = mf_utf8_decode(p, len, &cp);
      if (!used) { /* invalid UTF-8: keep the byte as a Latin-1 code point */
        cp = *p;
        used = 1;
      }
      memcpy((char *)a->data + i * 4 * width + 4 * c++, &cp, 4);
      p += used;
      len -= used;
    }
  }
}

void mf_npz_add_bytes(mf_npz_writer *w, const char *name, const char *const *s, size_t n) {
  if (w->failed) return;
  size_t width = 1;
  for (size_t i = 0; i < n; i++)
    if (strlen(s[i]) > width) width = strlen(s[i]);
  size_t shape[1] = {n};
  mhrfit_array *a = add_member(w, name, mhrfit_array_new(MHRFIT_DT_BYTES, width, 1, shape, 0, &w->err));
  for (size_t i = 0; a && i < n; i++) memcpy((char *)a->data + i * width, s[i], strlen(s[i]));
}

bool mf_npz_writer_save(mf_npz_writer *w, const char *path, bool compress, mhrfit_error *err) {
  if (w->failed) {
    if (err) *err = w->err;
    return false;
  }
  return mf_npz_save_ex(path, w->n, (const char *const *)w->names, (const mhrfit_array *const *)w->arrays, compress,
                        0, NULL, err);
}

mhrfit_value *mf_npz_writer_take_dict(mf_npz_writer *w, mhrfit_error *err) {
  if (w->failed) {
    if (err) *err = w->err;
    return NULL;
  }
  mhrfit_value *d = mhrfit_value_new_dict(err);
  for (size_t i = 0; d && i < w->n; i++) {
    mhrfit_value *v = mhrfit_value_new_array(w->arrays[i], err); /* owns the array from here, even on failure */
    w->arrays[i] = NULL;
    if (!v || !mhrfit_value_dict_set(d, w->names[i], v, err)) {
      mhrfit_value_free(d);
      d = NULL;
    }
  }
  mf_npz_writer_free(w);
  return d;
}

void mf_npz_writer_free(mf_npz_writer *w) {
  for (size_t i = 0; i < w->n; i++) {
    free(w->names[i]);
    mhrfit_array_free(w->arrays[i]);
  }
  free(w->names);
  free(w->arrays);
  memset(w, 0, sizeof *w);
}
