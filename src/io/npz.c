/* NumPy .npz archives (ZIP of .npy members) read and written with libzip. */
#include <stdlib.h>
#include <string.h>
#include <zip.h>
#include <zlib.h>

#include "common/file.h"
#include "common/mem.h"
#include "io/npy_internal.h"
#include "mhrfit/npy.h"

/* Reads every member of an open archive into a DICT. */
static mhrfit_value *read_archive(zip_t *z, const char *name, const mhrfit_npy_limits *lim, mhrfit_error *err) {
  zip_int64_t n = zip_get_num_entries(z, 0);
  if (n < 0 || (size_t)n > lim->max_members) {
    MHRFIT_FAIL(err, MHRFIT_ERR_LIMIT, "%s: archive has %lld members (limit %zu)", name, (long long)n,
                lim->max_members);
    return NULL;
  }
  mhrfit_value *dict = mhrfit_value_new_dict(err);
  if (!dict) return NULL;
  for (zip_int64_t i = 0; i < n; i++) {
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(z, (zip_uint64_t)i, 0, &st) != 0 || !(st.valid & ZIP_STAT_NAME) || !(st.valid & ZIP_STAT_SIZE)) {
      MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: cannot read the directory entry of member %lld", name, (long long)i);
      goto fail;
    }
    const char *mname = st.name;
    size_t mlen = strlen(mname);
    if (mlen > 0 && mname[mlen - 1] == '/') continue; /* a folder entry */
    if (st.size > (zip_uint64_t)(lim->max_array_bytes + lim->max_header_bytes + 64)) {
      MHRFIT_FAIL(err, MHRFIT_ERR_LIMIT, "%s: member '%s' of %llu bytes exceeds the size limit", name, mname,
                  (unsigned long long)st.size);
      goto fail;
    }
    size_t size = (size_t)st.size;
    unsigned char *buf = mf_malloc_array(size ? size : 1, 1, err);
    if (!buf) goto fail;
    zip_file_t *zf = zip_fopen_index(z, (zip_uint64_t)i, 0);
    if (!zf) {
      MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: cannot open member '%s': %s", name, mname, zip_strerror(z));
      free(buf);
      goto fail;
    }
    zip_int64_t got = size ? zip_fread(zf, buf, size) : 0;
    /* A member that inflates to more than its directory entry says is corrupt. */
    unsigned char extra;
    zip_int64_t more = got == (zip_int64_t)size ? zip_fread(zf, &extra, 1) : 0;
    if (got != (zip_int64_t)size || more != 0) {
      MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: member '%s' is corrupt or truncated: %s", name, mname,
                  zip_file_strerror(zf));
      zip_fclose(zf);
      free(buf);
      goto fail;
    }
    if (zip_fclose(zf) != 0) {
      MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: member '%s' failed its CRC check", name, mname);
      free(buf);
      goto fail;
    }
    char key[512];
    snprintf(key, sizeof key, "%s", mname);
    size_t klen = strlen(key);
    if (klen > 4 && strcmp(key + klen - 4, ".npy") == 0) key[klen - 4] = '\0';
    char label[1024];
    snprintf(label, sizeof label, "%s: member '%s'", name, mname);
    mhrfit_value *v = mhrfit_npy_parse(buf, size, label, lim, err);
    free(buf);
    if (!v || !mhrfit_value_dict_set(dict, key, v, err)) goto fail;
  }
  return dict;
fail:
  mhrfit_value_free(dict);
  return NULL;
}

mhrfit_value *mhrfit_npz_parse(const void *data, size_t len, const char *name, const mhrfit_npy_limits *limits,
                               mhrfit_error *err) {
  mhrfit_npy_limits lim;
  mf_npy_limits_resolve(limits, &lim);
  if (!name) name = "npz";
  zip_error_t ze;
  zip_error_init(&ze);
  zip_source_t *src = zip_source_buffer_create(data, len, 0, &ze);
  if (!src) {
    MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "%s: %s", name, zip_error_strerror(&ze));
    zip_error_fini(&ze);
    return NULL;
  }
  zip_t *z = zip_open_from_source(src, ZIP_RDONLY, &ze);
  if (!z) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: not a readable ZIP archive: %s", name, zip_error_strerror(&ze));
    zip_source_free(src);
    zip_error_fini(&ze);
    return NULL;
  }
  zip_error_fini(&ze);
  mhrfit_value *v = read_archive(z, name, &lim, err);
  zip_discard(z);
  return v;
}

mhrfit_value *mhrfit_npz_load(const char *path, const mhrfit_npy_limits *limits, mhrfit_error *err) {
  mhrfit_npy_limits lim;
  mf_npy_limits_resolve(limits, &lim);
  int zerr = 0;
  zip_t *z = zip_open(path, ZIP_RDONLY, &zerr);
  if (!z) {
    zip_error_t ze;
    zip_error_init_with_code(&ze, zerr);
    MHRFIT_FAIL(err, zerr == ZIP_ER_NOENT || zerr == ZIP_ER_OPEN ? MHRFIT_ERR_IO : MHRFIT_ERR_FORMAT,
                "%s: cannot open as .npz: %s", path, zip_error_strerror(&ze));
    zip_error_fini(&ze);
    return NULL;
  }
  mhrfit_value *v = read_archive(z, path, &lim, err);
  zip_discard(z);
  return v;
}

/* Whether deflate pays for a member of `len` bytes: at least MHRFIT_NPZ_DEFLATE_MIN_BYTES, and
 * its first MHRFIT_NPZ_DEFLATE_PROBE_BYTES shrink to at most MHRFIT_NPZ_DEFLATE_MAX_RATIO of
 * their size at level 1 (float geometry barely compresses; zeros, NaN padding and strings do). A
 * probe that cannot run (memory) just deflates. */
static bool worth_deflating(const void *data, size_t len) {
  if (len < MHRFIT_NPZ_DEFLATE_MIN_BYTES) return false;
  /* three windows (start, middle, end) of a third of the probe each, so that a padded start
   * (e.g. NaN rows of frames that failed) does not decide for the whole member */
  size_t w = MHRFIT_NPZ_DEFLATE_PROBE_BYTES / 3, n_win = len <= MHRFIT_NPZ_DEFLATE_PROBE_BYTES ? 1 : 3;
  if (n_win == 1) w = len;
  uLongf cap0 = compressBound((uLong)w);
  Bytef *buf = malloc(cap0);
  if (!buf) return true;
  double in = 0, out = 0;
  for (size_t k = 0; k < n_win; k++) {
    size_t off = n_win == 1 ? 0 : k * (len - w) / 2;
    uLongf cap = cap0;
    if (compress2(buf, &cap, (const Bytef *)data + off, (uLong)w, 1) != Z_OK) {
      free(buf);
      return true;
    }
    in += (double)w;
    out += (double)cap;
  }
  free(buf);
  return out <= MHRFIT_NPZ_DEFLATE_MAX_RATIO * in;
}

bool mhrfit_npz_save(const char *path, size_t n, const char *const *names, const mhrfit_array *const *arrays,
                     bool compress, mhrfit_error *err) {
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < i; j++)
      if (strcmp(names[i], names[j]) == 0)
        return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "%s: duplicate member name '%s'", path, names[i]);
  /* Build the archive under a temporary name beside the target, then rename it into place. */
  mf_atomic_file af;
  if (!mf_atomic_open(&af, path, err)) return false;
  int zerr = 0;
  zip_t *z = zip_open(af.tmp_path, ZIP_TRUNCATE, &zerr);
  if (!z) {
    mf_atomic_abort(&af);
    return MHRFIT_FAIL(err, MHRFIT_ERR_IO, "%s: cannot create archive (libzip error %d)", path, zerr);
  }
  void **bufs = mf_calloc_array(n ? n : 1, sizeof(void *), err);
  if (!bufs) {
    zip_discard(z);
    mf_atomic_abort(&af);
    return false;
  }
  bool ok = true;
  for (size_t i = 0; i < n && ok; i++) {
    size_t len;
    if (!mhrfit_npy_serialize(arrays[i], &bufs[i], &len, err)) {
      mhrfit_error_prefix(err, "%s: member '%s'", path, names[i]);
      ok = false;
      break;
    }
    zip_source_t *src = zip_source_buffer(z, bufs[i], len, 0);
    char mname[1024];
    snprintf(mname, sizeof mname, "%s.npy", names[i]);
    zip_int64_t idx = src ? zip_file_add(z, mname, src, ZIP_FL_ENC_UTF_8) : -1;
    if (idx < 0) {
      if (src) zip_source_free(src);
      ok = MHRFIT_FAIL(err, MHRFIT_ERR_IO, "%s: cannot add member '%s': %s", path, mname, zip_strerror(z));
      break;
    }
    /* a fixed timestamp (1980-01-01 00:00, as NumPy's savez writes), so that the same arrays
     * always give the same bytes */
    bool deflate = compress && worth_deflating(bufs[i], len);
    if (zip_file_set_dostime(z, (zip_uint64_t)idx, 0, (1 << 5) | 1, 0) != 0)
      ok = MHRFIT_FAIL(err, MHRFIT_ERR_IO, "%s: cannot set the timestamp of '%s': %s", path, mname, zip_strerror(z));
    else if (zip_set_file_compression(z, (zip_uint64_t)idx, deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE, deflate ? 1 : 0) != 0)
      ok = MHRFIT_FAIL(err, MHRFIT_ERR_IO, "%s: cannot set compression: %s", path, zip_strerror(z));
  }
  if (ok && zip_close(z) != 0) {
    ok = MHRFIT_FAIL(err, MHRFIT_ERR_IO, "%s: writing the archive failed: %s", path, zip_strerror(z));
    zip_discard(z);
  } else if (!ok) {
    zip_discard(z);
  }
  for (size_t i = 0; i < n; i++) free(bufs[i]);
  free(bufs);
  if (!ok) {
    mf_atomic_abort(&af);
    return false;
  }
  /* zip_close wrote af.tmp_path by its own temporary file + rename; our handle points at the
   * empty file it replaced, so close it without writing and move the archive into place. */
  fclose(af.f);
  af.f = NULL;
  if (rename(af.tmp_path, af.path) != 0) {
    MHRFIT_FAIL(err, MHRFIT_ERR_IO, "%s: cannot rename the archive into place", path);
    mf_atomic_abort(&af);
    return false;
  }
  free(af.path);
  free(af.tmp_path);
  return true;
}

bool mhrfit_npz_save_dict(const char *path, const mhrfit_value *dict, bool compress, mhrfit_error *err) {
  if (!dict || dict->kind != MHRFIT_V_DICT)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "%s: value to save is not a dict", path);
  size_t n = dict->u.dict.count;
  const mhrfit_array **arrays = mf_calloc_array(n ? n : 1, sizeof *arrays, err);
  if (!arrays) return false;
  for (size_t i = 0; i < n; i++) {
    if (dict->u.dict.vals[i]->kind != MHRFIT_V_ARRAY) {
      free(arrays);
      return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "%s: key '%s' holds a %s, not an array", path,
                         dict->u.dict.keys[i], mhrfit_value_kind_name(dict->u.dict.vals[i]->kind));
    }
    arrays[i] = dict->u.dict.vals[i]->u.array;
  }
  bool ok = mhrfit_npz_save(path, n, (const char *const *)dict->u.dict.keys, arrays, compress, err);
  free(arrays);
  return ok;
}
