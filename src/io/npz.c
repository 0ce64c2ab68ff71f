/* NumPy .npz archives (ZIP of .npy members). The common case, an archive of up to
 * MF_NPZ_MEMORY_MAX in the simple ZIP subset NumPy and mhrfit write, is read and written in
 * memory (io/zip.h): one read() per archive read, one writev() per archive written. Anything
 * else (larger archives, ZIP64, other methods, unusual names or layouts) goes through libzip, as
 * before. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zip.h>
#include <zlib.h>

#include "common/file.h"
#include "common/hash.h"
#include "common/mem.h"
#include "io/npy_internal.h"
#include "io/numpy_io.h"
#include "io/zip.h"
#include "mhrfit/npy.h"

/* Parses one member's .npy bytes and stores it in dict under the member name less ".npy". */
static bool add_member(mhrfit_value *dict, const char *name, const char *mname, const unsigned char *bytes,
                       size_t size, const mhrfit_npy_limits *lim, mhrfit_error *err) {
  char key[512];
  snprintf(key, sizeof key, "%s", mname);
  size_t klen = strlen(key);
  if (klen > 4 && strcmp(key + klen - 4, ".npy") == 0) key[klen - 4] = '\0';
  char label[1024];
  snprintf(label, sizeof label, "%s: member '%s'", name, mname);
  mhrfit_value *v = mhrfit_npy_parse(bytes, size, label, lim, err);
  return v && mhrfit_value_dict_set(dict, key, v, err);
}

/* `mname` (`mlen` bytes, with or without ".npy") is one of the NULL-terminated names. */
static bool listed(const char *const *names, const char *mname, size_t mlen) {
  if (mlen > 4 && memcmp(mname + mlen - 4, ".npy", 4) == 0) mlen -= 4;
  for (const char *const *s = names; *s; s++)
    if (strlen(*s) == mlen && memcmp(*s, mname, mlen) == 0) return true;
  return false;
}

/* Member `mname` is not to be read: a folder entry, in the caller's skip list, or outside its
 * list of the only members wanted. */
static bool skipped(const mhrfit_npy_limits *lim, const char *mname, size_t mlen) {
  if (mlen > 0 && mname[mlen - 1] == '/') return true;
  if (lim->skip_members && listed(lim->skip_members, mname, mlen)) return true;
  return lim->only_members && !listed(lim->only_members, mname, mlen);
}

static size_t member_limit(const mhrfit_npy_limits *lim) { return lim->max_array_bytes + lim->max_header_bytes + 64; }

/* A byte count for messages: "812 bytes", "3.4 MiB", "1.0 GiB". */
static const char *human_bytes(uint64_t n, char *buf, size_t size) {
  if (n < 1024) snprintf(buf, size, "%llu bytes", (unsigned long long)n);
  else if (n < ((uint64_t)1 << 20)) snprintf(buf, size, "%.1f KiB", (double)n / 1024.0);
  else if (n < ((uint64_t)1 << 30)) snprintf(buf, size, "%.1f MiB", (double)n / 1048576.0);
  else snprintf(buf, size, "%.1f GiB", (double)n / 1073741824.0);
  return buf;
}

/* Deflate encodes at most 258 bytes in 2 bits: a member claiming more than this many times its
 * compressed size (plus slack for the stream's own bytes) cannot be genuine. */
#define DEFLATE_MAX_RATIO 1032u

/* Checks one member to be read from its directory entry, before anything is inflated, and adds
 * its size to *total: its own size limit, a size deflate cannot produce from `csize` bytes, and
 * the limit on the total of the file. */
static bool check_member_size(const char *name, const char *mname, size_t mlen, uint64_t csize, uint64_t usize,
                              bool deflated, const mhrfit_npy_limits *lim, uint64_t *total, mhrfit_error *err) {
  char a[32], b[32];
  int ml = mlen > 200 ? 200 : (int)mlen;
  if (usize > (uint64_t)member_limit(lim))
    return MHRFIT_FAIL(err, MHRFIT_ERR_LIMIT, "%s: member '%.*s' of %s exceeds the size limit of one array (%s)", name,
                       ml, mname, human_bytes(usize, a, sizeof a), human_bytes(member_limit(lim), b, sizeof b));
  if (deflated && usize / DEFLATE_MAX_RATIO > csize + 64)
    return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT,
                       "%s: member '%.*s' is corrupt: it claims %s from %llu compressed bytes, more than deflate can "
                       "encode",
                       name, ml, mname, human_bytes(usize, a, sizeof a), (unsigned long long)csize);
  *total += usize;
  if (*total > (uint64_t)lim->max_total_bytes)
    return MHRFIT_FAIL(err, MHRFIT_ERR_LIMIT,
                       "%s: its arrays inflate to more than %s (%s reached at member '%.*s'), the limit on what one "
                       "file may inflate to (--max_inflated_mib raises it); nothing was inflated",
                       name, human_bytes(lim->max_total_bytes, b, sizeof b), human_bytes(*total, a, sizeof a), ml,
                       mname);
  return true;
}

/* ---- reading through libzip (outside the subset) --------------------------------------------- */

/* The directory entry of member i (its name and size at least). */
static bool stat_member(zip_t *z, zip_int64_t i, const char *name, zip_stat_t *st, mhrfit_error *err) {
  zip_stat_init(st);
  if (zip_stat_index(z, (zip_uint64_t)i, 0, st) != 0 || !(st->valid & ZIP_STAT_NAME) || !(st->valid & ZIP_STAT_SIZE))
    return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: cannot read the directory entry of member %lld", name, (long long)i);
  return true;
}

/* Reads every member of an open archive into a DICT. */
static mhrfit_value *read_archive(zip_t *z, const char *name, const mhrfit_npy_limits *lim, mhrfit_error *err) {
  zip_int64_t n = zip_get_num_entries(z, 0);
  if (n < 0 || (size_t)n > lim->max_members) {
    MHRFIT_FAIL(err, MHRFIT_ERR_LIMIT, "%s: archive has %lld members (limit %zu)", name, (long long)n,
                lim->max_members);
    return NULL;
  }
  /* every size checked from the directory before anything is inflated */
  uint64_t total = 0;
  for (zip_int64_t i = 0; i < n; i++) {
    zip_stat_t st;
    if (!stat_member(z, i, name, &st, err)) return NULL;
    if (skipped(lim, st.name, strlen(st.name))) continue;
    bool deflated = (st.valid & ZIP_STAT_COMP_METHOD) && st.comp_method == ZIP_CM_DEFLATE;
    uint64_t csize = (st.valid & ZIP_STAT_COMP_SIZE) ? st.comp_size : st.size;
    if (!check_member_size(name, st.name, strlen(st.name), csize, st.size, deflated, lim, &total, err)) return NULL;
  }
  mhrfit_value *dict = mhrfit_value_new_dict(err);
  if (!dict) return NULL;
  for (zip_int64_t i = 0; i < n; i++) {
    zip_stat_t st;
    if (!stat_member(z, i, name, &st, err)) goto fail;
    const char *mname = st.name;
    size_t mlen = strlen(mname);
    if (skipped(lim, mname, mlen)) continue;
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
      zip_error_t *ze = zip_file_get_error(zf);
      bool known = ze && zip_error_code_zip(ze) != ZIP_ER_OK;
      char why[160];
      if (known) snprintf(why, sizeof why, "%s", zip_file_strerror(zf));
      else if (got < 0) snprintf(why, sizeof why, "read error");
      else if (more != 0) snprintf(why, sizeof why, "it inflates to more than the %zu bytes its directory entry says", size);
      else snprintf(why, sizeof why, "it inflates to %lld bytes, its directory entry says %zu", (long long)got, size);
      MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: member '%s' is corrupt or truncated: %s", name, mname, why);
      zip_fclose(zf);
      free(buf);
      goto fail;
    }
    if (zip_fclose(zf) != 0) {
      MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: member '%s' failed its CRC check", name, mname);
      free(buf);
      goto fail;
    }
    bool ok = add_member(dict, name, mname, buf, size, lim, err);
    free(buf);
    if (!ok) goto fail;
  }
  return dict;
fail:
  mhrfit_value_free(dict);
  return NULL;
}

static mhrfit_value *parse_libzip(const void *data, size_t len, const char *name, const mhrfit_npy_limits *lim,
                                  mhrfit_error *err) {
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
  mhrfit_value *v = read_archive(z, name, lim, err);
  zip_discard(z);
  return v;
}

/* An archive too large to read into memory: libzip reads it from the file member by member. */
static mhrfit_value *load_streaming(const char *path, const mhrfit_npy_limits *lim, mhrfit_error *err) {
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
  mhrfit_value *v = read_archive(z, path, lim, err);
  zip_discard(z);
  return v;
}

/* ---- reading in memory (the subset) ---------------------------------------------------------- */

static mf_zip_status parse_fast(const void *data, size_t len, const char *name, const mhrfit_npy_limits *lim,
                                mhrfit_value **out, mhrfit_error *err) {
  *out = NULL;
  mf_zip_entry *es;
  size_t n;
  mf_zip_status st = mf_zip_index(data, len, lim->max_members, name, &es, &n, err);
  if (st != MF_ZIP_OK) return st;
  /* every size checked from the directory before anything is inflated */
  uint64_t total = 0;
  bool ok = true;
  for (size_t i = 0; ok && i < n; i++) {
    const mf_zip_entry *e = &es[i];
    if (!skipped(lim, e->name, e->name_len))
      ok = check_member_size(name, e->name, e->name_len, e->csize, e->usize, e->method == 8, lim, &total, err);
  }
  mhrfit_value *dict = ok ? mhrfit_value_new_dict(err) : NULL;
  mf_zip_reader rd = {0};
  ok = dict != NULL;
  for (size_t i = 0; ok && i < n; i++) {
    const mf_zip_entry *e = &es[i];
    if (skipped(lim, e->name, e->name_len)) continue;
    char *mname = mf_strndup(e->name, e->name_len, err);
    if (!mname) {
      ok = false;
      break;
    }
    unsigned char *owned;
    const char *why;
    const unsigned char *bytes = mf_zip_entry_data(&rd, e, &owned, &why, err);
    if (!bytes) {
      if (why) MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: member '%s' is corrupt or truncated: %s", name, mname, why);
      ok = false;
    } else {
      ok = add_member(dict, name, mname, bytes, (size_t)e->usize, lim, err);
      free(owned);
    }
    free(mname);
  }
  mf_zip_reader_end(&rd);
  free(es);
  if (!ok) {
    mhrfit_value_free(dict);
    return MF_ZIP_FAILED;
  }
  *out = dict;
  return MF_ZIP_OK;
}

mhrfit_value *mhrfit_npz_parse(const void *data, size_t len, const char *name, const mhrfit_npy_limits *limits,
                               mhrfit_error *err) {
  mhrfit_npy_limits lim;
  mf_npy_limits_resolve(limits, &lim);
  if (!name) name = "npz";
  mhrfit_value *v;
  mf_zip_status st = parse_fast(data, len, name, &lim, &v, err);
  if (st == MF_ZIP_OK) return v;
  if (st == MF_ZIP_FAILED) return NULL;
  return parse_libzip(data, len, name, &lim, err);
}

mhrfit_value *mf_npz_load_ex(const char *path, const mhrfit_npy_limits *limits, size_t memory_max,
                             mhrfit_error *err) {
  mhrfit_npy_limits lim;
  mf_npy_limits_resolve(limits, &lim);
  unsigned char *data;
  size_t len;
  mf_read_status rs = mf_read_file_opt(path, memory_max, MF_READ_LARGE_OK, &data, &len, NULL, err);
  if (rs == MF_READ_TOO_LARGE) return load_streaming(path, &lim, err);
  if (rs != MF_READ_OK) return NULL;
  if (len == 0) { /* libzip opens an empty buffer as an empty archive, but not an empty file */
    free(data);
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: cannot open as .npz: Not a zip archive", path);
    return NULL;
  }
  mhrfit_value *v = mhrfit_npz_parse(data, len, path, &lim, err);
  free(data);
  return v;
}

mhrfit_value *mhrfit_npz_load(const char *path, const mhrfit_npy_limits *limits, mhrfit_error *err) {
  return mf_npz_load_ex(path, limits, MF_NPZ_MEMORY_MAX, err);
}

/* ---- writing ----------------------------------------------------------------------------------- */

bool mf_npz_deflate_pays(size_t len, const void *(*window)(void *ctx, size_t off, size_t n), void *ctx) {
  if (len < MHRFIT_NPZ_DEFLATE_MIN_BYTES) return false;
  size_t w = MHRFIT_NPZ_DEFLATE_PROBE_BYTES / 3, n_win = len <= MHRFIT_NPZ_DEFLATE_PROBE_BYTES ? 1 : 3;
  if (n_win == 1) w = len;
  uLongf cap0 = compressBound((uLong)w);
  Bytef *buf = malloc(cap0);
  if (!buf) return true;
  double in = 0, out = 0;
  for (size_t k = 0; k < n_win; k++) {
    size_t off = n_win == 1 ? 0 : k * (len - w) / 2;
    uLongf cap = cap0;
    const void *src = window(ctx, off, w);
    if (!src || compress2(buf, &cap, (const Bytef *)src, (uLong)w, 1) != Z_OK) {
      free(buf);
      return true;
    }
    in += (double)w;
    out += (double)cap;
  }
  free(buf);
  return out <= MHRFIT_NPZ_DEFLATE_MAX_RATIO * in;
}

static const void *memory_window(void *ctx, size_t off, size_t n) {
  (void)n;
  return (const unsigned char *)ctx + off;
}

static bool worth_deflating(const void *data, size_t len) {
  return mf_npz_deflate_pays(len, memory_window, (void *)data);
}

/* Member names longer than this were cut by the libzip writer ("<name>.npy" in 1024 bytes); such
 * archives still go through it, so that they keep their bytes. */
#define MEMBER_NAME_MAX 1023

/* The libzip writer, for archives outside the subset: libzip writes the archive into a file of
 * its own beside our temporary file and renames it over it; we rename that into place. */
static bool save_libzip(const char *path, size_t n, const char *const *names, void *const *bufs, const size_t *lens,
                        bool compress, unsigned flags, mhrfit_error *err) {
  mf_atomic_file af;
  if (!mf_atomic_open(&af, path, err)) return false;
  int zerr = 0;
  zip_t *z = zip_open(af.tmp_path, ZIP_TRUNCATE, &zerr);
  if (!z) {
    mf_atomic_abort(&af);
    return MHRFIT_FAIL(err, MHRFIT_ERR_IO, "%s: cannot create archive (libzip error %d)", path, zerr);
  }
  bool ok = true;
  for (size_t i = 0; i < n && ok; i++) {
    zip_source_t *src = zip_source_buffer(z, bufs[i], lens[i], 0);
    char mname[MEMBER_NAME_MAX + 1];
    snprintf(mname, sizeof mname, "%s.npy", names[i]);
    zip_int64_t idx = src ? zip_file_add(z, mname, src, ZIP_FL_ENC_UTF_8) : -1;
    if (idx < 0) {
      if (src) zip_source_free(src);
      ok = MHRFIT_FAIL(err, MHRFIT_ERR_IO, "%s: cannot add member '%s': %s", path, mname, zip_strerror(z));
      break;
    }
    /* a fixed timestamp (1980-01-01 00:00, as NumPy's savez writes), so that the same arrays
     * always give the same bytes */
    bool deflate = compress && worth_deflating(bufs[i], lens[i]);
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
  if (ok && (flags & MF_WRITE_SYNC)) ok = mf_sync_file(af.tmp_path, err);
  if (!ok) {
    mf_atomic_abort(&af);
    return false;
  }
  /* our handle points at the empty file zip_close replaced: close it without writing */
  fclose(af.f);
  af.f = NULL;
  if (rename(af.tmp_path, af.path) != 0) {
    MHRFIT_FAIL(err, MHRFIT_ERR_IO, "%s: cannot rename the archive into place: %s", path, strerror(errno));
    mf_atomic_abort(&af);
    return false;
  }
  free(af.buf);
  free(af.path);
  free(af.tmp_path);
  return true;
}

bool mf_npz_save_ex(const char *path, size_t n, const char *const *names, const mhrfit_array *const *arrays,
                    bool compress, unsigned flags, mf_saved_file *saved, mhrfit_error *err) {
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < i; j++)
      if (strcmp(names[i], names[j]) == 0)
        return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "%s: duplicate member name '%s'", path, names[i]);
  void **bufs = mf_calloc_array(n ? n : 1, sizeof(void *), err);
  size_t *lens = mf_calloc_array(n ? n : 1, sizeof(size_t), err);
  char **mnames = mf_calloc_array(n ? n : 1, sizeof(char *), err);
  mf_zip_member *members = mf_calloc_array(n ? n : 1, sizeof *members, err);
  bool ok = bufs && lens && mnames && members;
  bool plain = true; /* every name within the subset, and small enough to build in memory */
  size_t total = 0;
  for (size_t i = 0; ok && i < n; i++) {
    if (!mhrfit_npy_serialize(arrays[i], &bufs[i], &lens[i], err)) {
      mhrfit_error_prefix(err, "%s: member '%s'", path, names[i]);
      ok = false;
      break;
    }
    size_t nl = strlen(names[i]);
    total += lens[i];
    if (nl + 4 > MEMBER_NAME_MAX || total > MF_NPZ_MEMORY_MAX) plain = false;
    if (!(mnames[i] = mf_malloc_array(nl + 5, 1, err))) {
      ok = false;
      break;
    }
    memcpy(mnames[i], names[i], nl);
    memcpy(mnames[i] + nl, ".npy", 5);
    members[i] = (mf_zip_member){mnames[i], bufs[i], lens[i], compress && worth_deflating(bufs[i], lens[i])};
  }
  mf_zip_image img = {0};
  mf_zip_status zs = MF_ZIP_UNSUPPORTED;
  if (ok && plain) {
    zs = mf_zip_build(members, n, 1, &img, err);
    ok = zs != MF_ZIP_FAILED;
  }
  if (ok && zs == MF_ZIP_OK) {
    ok = mf_write_pieces_atomic(path, img.pieces, img.n_pieces, flags, saved ? &saved->st : NULL, err);
    if (ok && saved) {
      mf_xxh64 h;
      mf_xxh64_init(&h);
      for (size_t i = 0; i < img.n_pieces; i++) mf_xxh64_update(&h, img.pieces[i].data, img.pieces[i].len);
      saved->xxh64 = mf_xxh64_digest(&h);
    }
  } else if (ok) {
    ok = save_libzip(path, n, names, bufs, lens, compress, flags, err);
    if (ok && saved) { /* rare: read the archive back for its identity */
      unsigned char *data;
      size_t len;
      ok = mf_read_file_opt(path, 0, 0, &data, &len, &saved->st, err) == MF_READ_OK;
      if (ok) saved->xxh64 = mf_xxh64_buffer(data, len);
      free(data);
    }
  }
  mf_zip_image_free(&img);
  for (size_t i = 0; i < n; i++) {
    if (bufs) free(bufs[i]);
    if (mnames) free(mnames[i]);
  }
  free(bufs);
  free(lens);
  free(mnames);
  free(members);
  return ok;
}

bool mhrfit_npz_save(const char *path, size_t n, const char *const *names, const mhrfit_array *const *arrays,
                     bool compress, mhrfit_error *err) {
  return mf_npz_save_ex(path, n, names, arrays, compress, MF_WRITE_SYNC, NULL, err);
}

bool mf_npz_save_dict_ex(const char *path, const mhrfit_value *dict, bool compress, unsigned flags,
                         mf_saved_file *saved, mhrfit_error *err) {
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
  bool ok = mf_npz_save_ex(path, n, (const char *const *)dict->u.dict.keys, arrays, compress, flags, saved, err);
  free(arrays);
  return ok;
}

bool mhrfit_npz_save_dict(const char *path, const mhrfit_value *dict, bool compress, mhrfit_error *err) {
  return mf_npz_save_dict_ex(path, dict, compress, MF_WRITE_SYNC, NULL, err);
}
