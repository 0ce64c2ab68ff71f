/* Tests of the in-memory .npz reader and writer (src/io/zip.c, src/io/npz.c) and the file helpers
 * they write with: round trips, the stored/deflated choice, the same bytes as libzip writes,
 * determinism, damaged and oversized input, the libzip fallbacks, atomic multi-piece writes,
 * mkdir -p, folder listings and per-camera loading. */
#include "harness.h"

#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include "common/file.h"
#include "common/hash.h"
#include "common/path.h"
#include "io/numpy_io.h"
#include "io/zip.h"
#include "mhrfit/npy.h"

static char tmp[] = "/tmp/mhrfit_npz_XXXXXX";
static const char *tmp_path(const char *name) { return th_path(tmp, name); }

/* A deterministic pseudo-random byte stream (xorshift). */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

/* A float32 array of n values: `smooth` ones compress well (a slow ramp), others do not. */
static mhrfit_array *f32_array(size_t n, bool smooth) {
  size_t shape[1] = {n};
  mhrfit_array *a = mhrfit_array_new(MHRFIT_DT_F32, 0, 1, shape, 0, NULL);
  float *d = a->data;
  for (size_t i = 0; i < n; i++) d[i] = smooth ? (float)(i / 64) : (float)(rnd() % 1000003) * 0.37f;
  return a;
}

/* The archive the libzip writer makes for the same members, in memory, with the calls the npz
 * writer used before its own ZIP writer: zip_file_add (UTF-8 names), 1980 DOS time, deflate level
 * 1 for members of 4 KiB or more when compressing, stored otherwise. */
static unsigned char *libzip_bytes(size_t n, const char *const *names, const mhrfit_array *const *arrays,
                                   bool compress, size_t *len) {
  zip_error_t ze;
  zip_error_init(&ze);
  zip_source_t *mem = zip_source_buffer_create(NULL, 0, 0, &ze);
  zip_source_keep(mem);
  zip_t *z = zip_open_from_source(mem, ZIP_TRUNCATE, &ze);
  void *bufs[64];
  for (size_t i = 0; i < n; i++) {
    size_t blen;
    mhrfit_npy_serialize(arrays[i], &bufs[i], &blen, NULL);
    char mname[1024];
    snprintf(mname, sizeof mname, "%s.npy", names[i]);
    zip_int64_t idx = zip_file_add(z, mname, zip_source_buffer(z, bufs[i], blen, 0), ZIP_FL_ENC_UTF_8);
    bool deflate = compress && blen >= MHRFIT_NPZ_DEFLATE_MIN_BYTES;
    zip_file_set_dostime(z, (zip_uint64_t)idx, 0, (1 << 5) | 1, 0);
    zip_set_file_compression(z, (zip_uint64_t)idx, deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE, deflate ? 1 : 0);
  }
  zip_close(z);
  for (size_t i = 0; i < n; i++) free(bufs[i]);
  zip_stat_t st;
  zip_source_stat(mem, &st);
  unsigned char *out = malloc(st.size ? st.size : 1);
  zip_source_open(mem);
  *len = (size_t)zip_source_read(mem, out, st.size);
  zip_source_close(mem);
  zip_source_free(mem);
  zip_error_fini(&ze);
  return out;
}

/* The archive mhrfit writes for the members (through a file, as the pipeline does). */
static unsigned char *npz_file_bytes(size_t n, const char *const *names, const mhrfit_array *const *arrays,
                                     bool compress, size_t *len) {
  mhrfit_error err = {0};
  const char *p = tmp_path("bytes.npz");
  if (!mf_npz_save_ex(p, n, names, arrays, compress, 0, NULL, &err)) return NULL;
  unsigned char *data;
  if (!mf_read_file(p, 0, &data, len, &err)) return NULL;
  return data;
}

static bool same_bytes(const unsigned char *a, size_t na, const unsigned char *b, size_t nb) {
  return a && b && na == nb && memcmp(a, b, na) == 0;
}

static void setup(void) { REQUIRE(mkdtemp(tmp) != NULL); }

static void test_round_trip_in_memory(void) {
  mhrfit_error err = {0};
  mhrfit_array *small = f32_array(10, false), *big = f32_array(3000, true);
  size_t sh[1] = {2};
  mhrfit_array *text = mhrfit_array_new(MHRFIT_DT_UNICODE, 12, 1, sh, 0, &err);
  uint32_t cps[6] = {'a', 'b', 0xe9, 'x', 0x1F600, 'z'};
  memcpy(text->data, cps, sizeof cps);
  void *b0, *b1, *b2;
  size_t l0, l1, l2;
  REQUIRE(mhrfit_npy_serialize(small, &b0, &l0, &err) && mhrfit_npy_serialize(big, &b1, &l1, &err) &&
          mhrfit_npy_serialize(text, &b2, &l2, &err));
  CHECK(l0 < MHRFIT_NPZ_DEFLATE_MIN_BYTES && l1 >= MHRFIT_NPZ_DEFLATE_MIN_BYTES);
  mf_zip_member m[3] = {{"small.npy", b0, l0, false}, {"big.npy", b1, l1, true}, {"text.npy", b2, l2, false}};
  mf_zip_image img;
  REQUIRE(mf_zip_build(m, 3, 1, &img, &err) == MF_ZIP_OK);
  unsigned char *data;
  size_t len;
  REQUIRE(mf_zip_image_flatten(&img, &data, &len, &err));
  CHECK(len == img.size);
  CHECK(len < l0 + l1 + l2); /* the ramp deflates */
  /* the directory: the big member deflated, the small ones stored */
  mf_zip_entry *es;
  size_t n;
  REQUIRE(mf_zip_index(data, len, 16, "mem.npz", &es, &n, &err) == MF_ZIP_OK);
  REQUIRE(n == 3);
  CHECK(es[0].method == 0 && es[1].method == 8 && es[2].method == 0);
  CHECK(es[1].usize == l1 && es[1].csize < l1);
  CHECK(es[0].name_len == 9 && memcmp(es[0].name, "small.npy", 9) == 0);
  free(es);
  mhrfit_value *d = mhrfit_npz_parse(data, len, "mem.npz", NULL, &err);
  REQUIRE(d && d->kind == MHRFIT_V_DICT && d->u.dict.count == 3);
  CHECK_STR(d->u.dict.keys[0], "small");
  CHECK_STR(d->u.dict.keys[1], "big");
  CHECK_STR(d->u.dict.keys[2], "text");
  const mhrfit_array *got = mhrfit_value_dict_get(d, "big")->u.array;
  CHECK(got->count == 3000 && memcmp(got->data, big->data, 3000 * sizeof(float)) == 0);
  got = mhrfit_value_dict_get(d, "small")->u.array;
  CHECK(got->count == 10 && memcmp(got->data, small->data, 10 * sizeof(float)) == 0);
  got = mhrfit_value_dict_get(d, "text")->u.array;
  char s[32];
  CHECK(got->dtype == MHRFIT_DT_UNICODE && mhrfit_array_get_string(got, 0, s, sizeof s, NULL));
  CHECK_STR(s, "ab\xc3\xa9");
  mhrfit_value_free(d);
  /* an archive without members is valid too (NumPy writes the same 22 bytes) */
  mf_zip_image empty;
  REQUIRE(mf_zip_build(NULL, 0, 1, &empty, &err) == MF_ZIP_OK);
  CHECK(empty.size == 22);
  unsigned char *ed;
  size_t el;
  REQUIRE(mf_zip_image_flatten(&empty, &ed, &el, &err));
  d = mhrfit_npz_parse(ed, el, "empty.npz", NULL, &err);
  CHECK(d && d->u.dict.count == 0);
  mhrfit_value_free(d);
  free(ed);
  mf_zip_image_free(&empty);
  free(data);
  mf_zip_image_free(&img);
  free(b0);
  free(b1);
  free(b2);
  mhrfit_array_free(small);
  mhrfit_array_free(big);
  mhrfit_array_free(text);
}

/* The same bytes as libzip's writer, over sizes around the 4 KiB threshold, several deflate
 * windows (64 KiB+) with long-distance repeats, incompressible data and many members. */
static void test_same_bytes_as_libzip(void) {
  static const size_t sizes[] = {0, 1, 7, 100, 1007, 1008, 1009, 2000, 8176, 8192, 20000, 70000, 300000};
  for (int compress = 0; compress < 2; compress++)
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
      for (int kind = 0; kind < 3; kind++) {
        size_t n = sizes[i];
        mhrfit_array *a = f32_array(n, kind == 0);
        if (kind == 2) { /* blocks repeated from far back: matches at long distances */
          float *d = a->data;
          for (size_t k = 20000; k < n; k++) d[k] = d[k % 20000];
        }
        mhrfit_array *b = f32_array(5, false);
        const char *names[2] = {"a_member", "b"};
        const mhrfit_array *arrays[2] = {a, b};
        size_t l1, l2;
        unsigned char *x = libzip_bytes(2, names, arrays, compress, &l1);
        unsigned char *y = npz_file_bytes(2, names, arrays, compress, &l2);
        CHECK(same_bytes(x, l1, y, l2));
        if (!same_bytes(x, l1, y, l2)) fprintf(stderr, "    differs: %zu floats, kind %d, compress %d\n", n, kind, compress);
        free(x);
        free(y);
        mhrfit_array_free(a);
        mhrfit_array_free(b);
      }
  /* more than MF_NPZ_MEMORY_MAX of members: written by libzip itself, then read back */
  {
    mhrfit_array *a = f32_array((MF_NPZ_MEMORY_MAX / sizeof(float)) + 1000, true);
    const char *names[1] = {"big"};
    const mhrfit_array *arrays[1] = {a};
    size_t l1, l2;
    unsigned char *x = libzip_bytes(1, names, arrays, true, &l1);
    unsigned char *y = npz_file_bytes(1, names, arrays, true, &l2);
    CHECK(same_bytes(x, l1, y, l2));
    mhrfit_error err = {0};
    mhrfit_value *v = mhrfit_npz_load(tmp_path("bytes.npz"), NULL, &err);
    CHECK(v && v->u.dict.count == 1 &&
          memcmp(v->u.dict.vals[0]->u.array->data, a->data, a->count * sizeof(float)) == 0);
    mhrfit_value_free(v);
    free(x);
    free(y);
    mhrfit_array_free(a);
  }
  /* 40 members of mixed sizes, as a frame's fit.npz */
  const char *names[40];
  mhrfit_array *arrs[40];
  char nbuf[40][16];
  for (int i = 0; i < 40; i++) {
    snprintf(nbuf[i], sizeof nbuf[i], "opt_%02d", i);
    names[i] = nbuf[i];
    arrs[i] = f32_array(i % 7 == 0 ? 2000 + 100 * (size_t)i : (size_t)i + 1, i % 2 == 0);
  }
  size_t l1, l2;
  unsigned char *x = libzip_bytes(40, names, (const mhrfit_array *const *)arrs, true, &l1);
  unsigned char *y = npz_file_bytes(40, names, (const mhrfit_array *const *)arrs, true, &l2);
  CHECK(same_bytes(x, l1, y, l2));
  free(x);
  free(y);
  for (int i = 0; i < 40; i++) mhrfit_array_free(arrs[i]);
}

static void test_deterministic_and_clean(void) {
  mhrfit_error err = {0};
  mhrfit_array *a = f32_array(5000, true), *b = f32_array(3, false);
  const char *names[2] = {"a", "b"};
  const mhrfit_array *arrays[2] = {a, b};
  REQUIRE(mhrfit_npz_save(tmp_path("det1.npz"), 2, names, arrays, true, &err));
  REQUIRE(mhrfit_npz_save(tmp_path("det2.npz"), 2, names, arrays, true, &err));
  unsigned char *x, *y;
  size_t lx, ly;
  REQUIRE(mf_read_file(tmp_path("det1.npz"), 0, &x, &lx, &err) && mf_read_file(tmp_path("det2.npz"), 0, &y, &ly, &err));
  CHECK(same_bytes(x, lx, y, ly));
  /* what mf_npz_save_ex reports as written is what is on disk */
  mf_saved_file saved;
  REQUIRE(mf_npz_save_ex(tmp_path("det3.npz"), 2, names, arrays, true, 0, &saved, &err));
  struct stat st;
  REQUIRE(stat(tmp_path("det3.npz"), &st) == 0);
  CHECK((size_t)saved.st.st_size == lx && (size_t)st.st_size == lx);
  CHECK(saved.st.st_mtim.tv_sec == st.st_mtim.tv_sec && saved.st.st_mtim.tv_nsec == st.st_mtim.tv_nsec);
  CHECK(saved.xxh64 == mf_xxh64_buffer(x, lx));
  mode_t um = umask(022);
  umask(um);
  CHECK((st.st_mode & 0777) == (0644 & ~um));
  free(x);
  free(y);
  /* overwrite in place; no temporary file is left beside it */
  REQUIRE(mhrfit_npz_save(tmp_path("det1.npz"), 1, names, arrays, false, &err));
  mf_names ls;
  REQUIRE(mf_list_dir(tmp, NULL, false, &ls, &err));
  for (size_t i = 0; i < ls.count; i++) CHECK(strstr(ls.items[i], ".tmp") == NULL);
  mf_names_free(&ls);
  /* duplicate names are refused, nothing written */
  const char *dup[2] = {"a", "a"};
  CHECK(!mhrfit_npz_save(tmp_path("dup.npz"), 2, dup, arrays, true, &err) && err.type == MHRFIT_ERR_ARGUMENT);
  CHECK(!mf_is_file(tmp_path("dup.npz")));
  /* a missing folder: an I/O error naming the path */
  err = (mhrfit_error){0};
  CHECK(!mhrfit_npz_save(tmp_path("nope/x.npz"), 2, names, arrays, true, &err) && err.type == MHRFIT_ERR_IO);
  CHECK_CONTAINS(err.message, "nope/x.npz");
  mhrfit_array_free(a);
  mhrfit_array_free(b);
}

/* The bytes of a two-member archive: a stored member, then a deflated one. */
static unsigned char *two_member_archive(size_t *len, size_t *stored_at, size_t *deflated_at) {
  mhrfit_array *a = f32_array(100, false), *b = f32_array(5000, true);
  const char *names[2] = {"stored", "packed"};
  const mhrfit_array *arrays[2] = {a, b};
  unsigned char *data = npz_file_bytes(2, names, arrays, true, len);
  mhrfit_array_free(a);
  mhrfit_array_free(b);
  mf_zip_entry *es;
  size_t n;
  mhrfit_error err = {0};
  if (!data || mf_zip_index(data, *len, 8, "x", &es, &n, &err) != MF_ZIP_OK) return NULL;
  *stored_at = (size_t)(es[0].data - data);
  *deflated_at = (size_t)(es[1].data - data);
  free(es);
  return data;
}

static void test_damaged_input(void) {
  size_t len, s_at, d_at;
  unsigned char *data = two_member_archive(&len, &s_at, &d_at);
  REQUIRE(data);
  /* every truncation fails with a format error naming the archive */
  for (size_t cut = 0; cut < len; cut += cut < 64 || len - cut < 64 ? 1 : 97) {
    mhrfit_error err = {0};
    mhrfit_value *v = mhrfit_npz_parse(data, cut, "cut.npz", NULL, &err);
    if (cut == 0) { /* libzip takes an empty buffer as an empty archive */
      CHECK(v && v->u.dict.count == 0);
    } else {
      CHECK(!v && err.type == MHRFIT_ERR_FORMAT);
      CHECK_CONTAINS(err.message, "cut.npz");
    }
    mhrfit_value_free(v);
  }
  /* ... and an empty file is no archive */
  mhrfit_error err = {0};
  REQUIRE(mf_write_file_atomic(tmp_path("empty.npz"), "", 0, &err));
  CHECK(!mhrfit_npz_load(tmp_path("empty.npz"), NULL, &err) && err.type == MHRFIT_ERR_FORMAT);
  CHECK_CONTAINS(err.message, "empty.npz");
  /* a flipped byte in a stored member fails its CRC */
  data[s_at + 100] ^= 0x40;
  err = (mhrfit_error){0};
  CHECK(!mhrfit_npz_parse(data, len, "flip.npz", NULL, &err) && err.type == MHRFIT_ERR_FORMAT);
  CHECK_CONTAINS(err.message, "flip.npz: member 'stored.npy'");
  CHECK_CONTAINS(err.message, "CRC");
  data[s_at + 100] ^= 0x40;
  /* damaged deflate data: a format error naming the member */
  for (size_t k = 0; k < 8; k++) data[d_at + 20 + k] ^= 0xa5;
  err = (mhrfit_error){0};
  CHECK(!mhrfit_npz_parse(data, len, "bad.npz", NULL, &err) && err.type == MHRFIT_ERR_FORMAT);
  CHECK_CONTAINS(err.message, "bad.npz: member 'packed.npy'");
  for (size_t k = 0; k < 8; k++) data[d_at + 20 + k] ^= 0xa5;
  mhrfit_value *ok = mhrfit_npz_parse(data, len, "good.npz", NULL, &err);
  CHECK(ok && ok->u.dict.count == 2);
  mhrfit_value_free(ok);
  /* the directory says the deflated member is larger than it inflates to, then smaller */
  mf_zip_entry *es;
  size_t n;
  REQUIRE(mf_zip_index(data, len, 8, "x", &es, &n, &err) == MF_ZIP_OK);
  size_t cd_usize = (size_t)((const unsigned char *)es[1].name - data) - 46 + 24;
  free(es);
  for (int delta = -1; delta <= 1; delta += 2) {
    data[cd_usize] = (unsigned char)(data[cd_usize] + delta);
    err = (mhrfit_error){0};
    CHECK(!mhrfit_npz_parse(data, len, "size.npz", NULL, &err) && err.type == MHRFIT_ERR_FORMAT);
    CHECK_CONTAINS(err.message, "size.npz: member 'packed.npy'");
    data[cd_usize] = (unsigned char)(data[cd_usize] - delta);
  }
  /* not an archive at all */
  err = (mhrfit_error){0};
  CHECK(!mhrfit_npz_parse("PK\x05\x06 nonsense", 14, "junk.npz", NULL, &err) && err.type == MHRFIT_ERR_FORMAT);
  CHECK_CONTAINS(err.message, "junk.npz");
  free(data);
}

static void test_limits(void) {
  size_t len, s_at, d_at;
  unsigned char *data = two_member_archive(&len, &s_at, &d_at);
  REQUIRE(data);
  mhrfit_error err = {0};
  mhrfit_npy_limits lim = {.max_array_bytes = 1000};
  CHECK(!mhrfit_npz_parse(data, len, "big.npz", &lim, &err) && err.type == MHRFIT_ERR_LIMIT);
  CHECK_CONTAINS(err.message, "big.npz: member 'packed.npy'");
  err = (mhrfit_error){0};
  lim = (mhrfit_npy_limits){.max_members = 1};
  CHECK(!mhrfit_npz_parse(data, len, "many.npz", &lim, &err) && err.type == MHRFIT_ERR_LIMIT);
  CHECK_CONTAINS(err.message, "many.npz");
  /* a file over the in-memory threshold is streamed through libzip: the same result */
  REQUIRE(mf_write_file_atomic(tmp_path("two.npz"), data, len, &err));
  mhrfit_value *a = mf_npz_load_ex(tmp_path("two.npz"), NULL, 64, &err);
  mhrfit_value *b = mhrfit_npz_load(tmp_path("two.npz"), NULL, &err);
  REQUIRE(a && b && a->u.dict.count == 2 && b->u.dict.count == 2);
  for (size_t i = 0; i < 2; i++) {
    const mhrfit_array *x = a->u.dict.vals[i]->u.array, *y = b->u.dict.vals[i]->u.array;
    CHECK_STR(a->u.dict.keys[i], b->u.dict.keys[i]);
    CHECK(x->count == y->count && memcmp(x->data, y->data, x->count * x->itemsize) == 0);
  }
  mhrfit_value_free(a);
  mhrfit_value_free(b);
  err = (mhrfit_error){0};
  lim = (mhrfit_npy_limits){.max_array_bytes = 1000};
  CHECK(!mf_npz_load_ex(tmp_path("two.npz"), &lim, 64, &err) && err.type == MHRFIT_ERR_LIMIT);
  CHECK_CONTAINS(err.message, "two.npz");
  free(data);
}

/* What the in-memory reader takes itself, and what it leaves to libzip (which still reads it). */
static void test_subset_and_fallbacks(void) {
  mhrfit_error err = {0};
  static const char *const fixtures[] = {"npy/stored.npz", "npy/deflate.npz", "npy/zip64.npz"};
  for (size_t i = 0; i < 3; i++) { /* written by NumPy: zip64.npz has ZIP64 extra fields in local headers */
    unsigned char *data;
    size_t len, n;
    REQUIRE(mf_read_file(FIXTURE(fixtures[i]), 0, &data, &len, &err));
    mf_zip_entry *es;
    CHECK(mf_zip_index(data, len, 64, fixtures[i], &es, &n, &err) == MF_ZIP_OK && n == 3);
    free(es);
    /* with an archive comment */
    unsigned char *c = malloc(len + 5);
    memcpy(c, data, len);
    memcpy(c + len, "hello", 5);
    c[len - 2] = 5;
    CHECK(mf_zip_index(c, len + 5, 64, "c", &es, &n, &err) == MF_ZIP_OK && n == 3);
    free(es);
    mhrfit_value *v = mhrfit_npz_parse(c, len + 5, "comment.npz", NULL, &err);
    CHECK(v && v->u.dict.count == 3);
    mhrfit_value_free(v);
    /* bytes before the archive: outside the subset, left to libzip */
    unsigned char *p = malloc(len + 3);
    memcpy(p, "abc", 3);
    memcpy(p + 3, data, len);
    CHECK(mf_zip_index(p, len + 3, 64, "p", &es, &n, &err) == MF_ZIP_UNSUPPORTED);
    free(p);
    free(c);
    free(data);
  }
  /* a non-ASCII member name: written and read by libzip, the bytes libzip always wrote */
  mhrfit_array *a = f32_array(2000, true), *b = f32_array(4, false);
  const char *names[2] = {"caf\xc3\xa9", "plain"};
  const mhrfit_array *arrays[2] = {a, b};
  size_t l1, l2;
  unsigned char *x = libzip_bytes(2, names, arrays, true, &l1);
  unsigned char *y = npz_file_bytes(2, names, arrays, true, &l2);
  CHECK(same_bytes(x, l1, y, l2));
  mf_zip_entry *es;
  size_t n;
  CHECK(y && mf_zip_index(y, l2, 64, "u", &es, &n, &err) == MF_ZIP_UNSUPPORTED);
  mhrfit_value *v = y ? mhrfit_npz_parse(y, l2, "utf8.npz", NULL, &err) : NULL;
  CHECK(v && v->u.dict.count == 2 && mhrfit_value_dict_get(v, "caf\xc3\xa9"));
  mhrfit_value_free(v);
  free(x);
  free(y);
  /* the in-memory writer refuses such names (the caller falls back) */
  mf_zip_member m = {"caf\xc3\xa9.npy", "x", 1, false};
  mf_zip_image img;
  CHECK(mf_zip_build(&m, 1, 1, &img, &err) == MF_ZIP_UNSUPPORTED);
  CHECK(mf_zip_name_plain("a b\tc.npy", 9) && !mf_zip_name_plain("a\x01", 2) && !mf_zip_name_plain("\xc3\xa9", 2));
  mhrfit_array_free(a);
  mhrfit_array_free(b);
}

static void test_write_pieces(void) {
  mhrfit_error err = {0};
  /* 200 pieces (more than one writev batch), some empty */
  mf_piece pieces[200];
  char bufs[200][40];
  size_t total = 0;
  for (int i = 0; i < 200; i++) {
    size_t len = (size_t)(i * 7) % 40;
    memset(bufs[i], 'a' + i % 26, sizeof bufs[i]);
    pieces[i] = (mf_piece){bufs[i], len};
    total += len;
  }
  struct stat st;
  REQUIRE(mf_write_pieces_atomic(tmp_path("pieces.bin"), pieces, 200, MF_WRITE_SYNC, &st, &err));
  unsigned char *data;
  size_t len;
  REQUIRE(mf_read_file(tmp_path("pieces.bin"), 0, &data, &len, &err));
  CHECK(len == total && (size_t)st.st_size == total);
  size_t at = 0;
  bool same = true;
  for (int i = 0; i < 200; i++) {
    same = same && memcmp(data + at, bufs[i], pieces[i].len) == 0;
    at += pieces[i].len;
  }
  CHECK(same);
  free(data);
  /* mf_read_file_opt: absent, too large, a folder */
  CHECK(mf_read_file_opt(tmp_path("none"), 0, MF_READ_ABSENT_OK, &data, &len, NULL, &err) == MF_READ_ABSENT);
  CHECK(mf_read_file_opt(tmp, 0, MF_READ_ABSENT_OK, &data, &len, NULL, &err) == MF_READ_ABSENT);
  CHECK(mf_read_file_opt(tmp_path("pieces.bin"), 10, MF_READ_LARGE_OK, &data, &len, &st, &err) == MF_READ_TOO_LARGE);
  CHECK((size_t)st.st_size == total);
  err = (mhrfit_error){0};
  CHECK(mf_read_file_opt(tmp_path("pieces.bin"), 10, 0, &data, &len, NULL, &err) == MF_READ_FAILED &&
        err.type == MHRFIT_ERR_LIMIT);
  err = (mhrfit_error){0};
  CHECK(!mf_read_file(tmp, 0, &data, &len, &err) && err.type == MHRFIT_ERR_IO);
  CHECK_CONTAINS(err.message, "is a folder");
  /* a failed write leaves nothing behind */
  err = (mhrfit_error){0};
  CHECK(!mf_write_pieces_atomic(tmp_path("missing/p.bin"), pieces, 2, 0, NULL, &err) && err.type == MHRFIT_ERR_IO);
  CHECK_CONTAINS(err.message, "missing/p.bin");
}

static void test_make_dirs(void) {
  mhrfit_error err = {0};
  CHECK(mf_make_dirs(tmp_path("d1/d2/d3"), &err));
  CHECK(mf_is_dir(tmp_path("d1/d2/d3")));
  CHECK(mf_make_dirs(tmp_path("d1/d2/d3"), &err)); /* exists */
  CHECK(mf_make_dirs(tmp_path("d1/d2/d4/"), &err)); /* a trailing slash */
  CHECK(mf_is_dir(tmp_path("d1/d2/d4")));
  REQUIRE(mf_write_file_atomic(tmp_path("d1/file"), "x", 1, &err));
  err = (mhrfit_error){0};
  CHECK(!mf_make_dirs(tmp_path("d1/file"), &err) && err.type == MHRFIT_ERR_IO);
  CHECK_CONTAINS(err.message, "not a folder");
  err = (mhrfit_error){0};
  CHECK(!mf_make_dirs(tmp_path("d1/file/sub/x"), &err) && err.type == MHRFIT_ERR_IO);
  CHECK_CONTAINS(err.message, "d1/file");
}

static void test_list_entries(void) {
  mhrfit_error err = {0};
  REQUIRE(mf_make_dirs(tmp_path("ls/sub"), &err));
  REQUIRE(mf_write_file_atomic(tmp_path("ls/10.npz"), "x", 1, &err));
  REQUIRE(mf_write_file_atomic(tmp_path("ls/2.npz"), "x", 1, &err));
  REQUIRE(symlink("10.npz", tmp_path("ls/link.npz")) == 0);
  REQUIRE(symlink("gone", tmp_path("ls/broken.npz")) == 0);
  REQUIRE(symlink("sub", tmp_path("ls/sublink")) == 0);
  mf_entries e;
  REQUIRE(mf_list_entries(tmp_path("ls"), false, &e, &err));
  CHECK(e.exists && e.count == 6);
  CHECK_STR(e.items[0].name, "2.npz"); /* natural order */
  CHECK_STR(e.items[1].name, "10.npz");
  const mf_dir_entry *it = mf_entries_find(&e, "10.npz");
  CHECK(it && it->type == MF_ENTRY_FILE && !it->via_link);
  it = mf_entries_find(&e, "link.npz");
  CHECK(it && it->type == MF_ENTRY_FILE && it->via_link);
  it = mf_entries_find(&e, "broken.npz");
  CHECK(it && it->type == MF_ENTRY_OTHER);
  it = mf_entries_find(&e, "sublink");
  CHECK(it && it->type == MF_ENTRY_DIR && it->via_link);
  it = mf_entries_find(&e, "sub");
  CHECK(it && it->type == MF_ENTRY_DIR);
  CHECK(!mf_entries_find(&e, "10"));
  mf_entries_free(&e);
  /* mf_list_dir's folders follow links too */
  mf_names dirs;
  REQUIRE(mf_list_dir(tmp_path("ls"), NULL, true, &dirs, &err));
  CHECK(dirs.count == 2);
  mf_names_free(&dirs);
  CHECK(mf_list_entries(tmp_path("nothere"), true, &e, &err) && !e.exists && e.count == 0);
  err = (mhrfit_error){0};
  CHECK(!mf_list_entries(tmp_path("nothere"), false, &e, &err) && err.type == MHRFIT_ERR_IO);
}

static void test_camera_files(void) {
  mhrfit_error err = {0};
  REQUIRE(mf_make_dirs(tmp_path("cams"), &err));
  mhrfit_array *a = f32_array(6, false);
  const char *names[1] = {"pred_keypoints_2d"};
  const mhrfit_array *arrays[1] = {a};
  REQUIRE(mhrfit_npz_save(tmp_path("cams/a.npz"), 1, names, arrays, false, &err));
  REQUIRE(mhrfit_npy_save(tmp_path("cams/a.npy"), a, &err));
  REQUIRE(mhrfit_npy_save(tmp_path("cams/b.npy"), a, &err));
  REQUIRE(mf_make_dirs(tmp_path("cams/c.npz"), &err)); /* a folder is not a camera file */
  REQUIRE(mhrfit_npy_save(tmp_path("cams/c.npy"), a, &err));
  REQUIRE(mf_write_file_atomic(tmp_path("cams/d.npz"), "not numpy", 9, &err));
  char *path;
  mhrfit_value *v = mf_numpy_load_camera(tmp_path("cams"), "a", NULL, &path, &err);
  CHECK(v && v->kind == MHRFIT_V_DICT && path && strstr(path, "a.npz"));
  mhrfit_value_free(v);
  free(path);
  v = mf_numpy_load_camera(tmp_path("cams"), "b", NULL, &path, &err);
  CHECK(v && v->kind == MHRFIT_V_ARRAY && path && strstr(path, "b.npy"));
  mhrfit_value_free(v);
  free(path);
  v = mf_numpy_load_camera(tmp_path("cams"), "c", NULL, &path, &err);
  CHECK(v && path && strstr(path, "c.npy"));
  mhrfit_value_free(v);
  free(path);
  err = (mhrfit_error){0};
  v = mf_numpy_load_camera(tmp_path("cams"), "none", NULL, &path, &err);
  CHECK(!v && !path && err.type == MHRFIT_ERR_NONE);
  v = mf_numpy_load_camera(tmp_path("cams"), "d", NULL, &path, &err);
  CHECK(!v && path && err.type == MHRFIT_ERR_FORMAT);
  CHECK_CONTAINS(err.message, "d.npz: neither a .npy nor a .npz file");
  free(path);
  /* by content: mhrfit_numpy_parse */
  err = (mhrfit_error){0};
  CHECK(!mhrfit_numpy_parse("PK", 2, "two.bin", NULL, &err) && err.type == MHRFIT_ERR_FORMAT);
  CHECK_CONTAINS(err.message, "two.bin: neither");
  mhrfit_array_free(a);
}

static void cleanup(void) {
  char cmd[256];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
  CHECK(system(cmd) == 0);
}

int main(void) {
  RUN(setup);
  RUN(test_round_trip_in_memory);
  RUN(test_same_bytes_as_libzip);
  RUN(test_deterministic_and_clean);
  RUN(test_damaged_input);
  RUN(test_limits);
  RUN(test_subset_and_fallbacks);
  RUN(test_write_pieces);
  RUN(test_make_dirs);
  RUN(test_list_entries);
  RUN(test_camera_files);
  RUN(cleanup);
  return test_report();
}
