/* Tests of the safe pickle reader: protocols 2-5, every dtype, memo sharing, NumPy scalars,
 * pickled .npy files, and malicious or broken streams (tools/make_pickle_fixtures.py). */
#include "harness.h"

#include "common/file.h"
#include "mhrfit/npy.h"
#include "mhrfit/pickle.h"

static mhrfit_value *load(const char *rel, mhrfit_error *err) { return mhrfit_pickle_load(FIXTURE(rel), NULL, err); }

static const mhrfit_array *arr(const mhrfit_value *d, const char *key) {
  const mhrfit_value *v = mhrfit_value_dict_get(d, key);
  return v && v->kind == MHRFIT_V_ARRAY ? v->u.array : NULL;
}

static void check_stage1(const mhrfit_value *d) {
  REQUIRE(d && d->kind == MHRFIT_V_DICT && d->u.dict.count == 9);
  const mhrfit_array *kp = arr(d, "pred_keypoints_2d"), *bbox = arr(d, "bbox");
  REQUIRE(kp && bbox);
  CHECK(kp->dtype == MHRFIT_DT_F32 && kp->ndim == 2 && kp->shape[0] == 70 && kp->shape[1] == 2);
  for (size_t i = 0; i < 140; i++) CHECK(mhrfit_array_get_f64(kp, i) == (double)i * 0.5 + 100.0);
  CHECK(mhrfit_array_get_f64(bbox, 1) == 20.25);
  CHECK(mhrfit_value_as_double(mhrfit_value_dict_get(d, "focal_length")) == 1500.5);
  CHECK_STR(mhrfit_value_dict_get(d, "name")->u.str.data, "cam1");
  CHECK(mhrfit_value_dict_get(d, "score")->u.number == 0.97);
  CHECK(mhrfit_value_dict_get(d, "n")->u.integer == 3);
  CHECK(mhrfit_value_dict_get(d, "ok")->u.boolean);
  CHECK(mhrfit_value_dict_get(d, "none")->kind == MHRFIT_V_NULL);
  const mhrfit_value *nested = mhrfit_value_dict_get(d, "nested");
  REQUIRE(nested && nested->kind == MHRFIT_V_DICT);
  const mhrfit_value *l = mhrfit_value_dict_get(nested, "l"), *t = mhrfit_value_dict_get(nested, "t");
  REQUIRE(l && l->kind == MHRFIT_V_LIST && l->u.list.count == 3);
  CHECK(l->u.list.items[0]->u.integer == 1 && l->u.list.items[1]->u.number == 2.5);
  CHECK_STR(l->u.list.items[2]->u.str.data, "x");
  CHECK(t && t->kind == MHRFIT_V_LIST && t->u.list.count == 2 && t->u.list.items[1]->u.integer == 2);
}

static void test_protocols(void) {
  for (int p = 2; p <= 5; p++) {
    char rel[64];
    snprintf(rel, sizeof rel, "pickle/stage1_p%d.pkl", p);
    mhrfit_error err = {0};
    mhrfit_value *d = load(rel, &err);
    if (!d) fprintf(stderr, "%s\n", err.message);
    check_stage1(d);
    mhrfit_value_free(d);
  }
}

static void test_dtypes(void) {
  static const char *const keys[] = {"i1", "u1", "<i2", ">i2", "<u2", "<i4", ">i4", "<u4", "<i8", ">i8",
                                     "<u8", "<f2", ">f2", "<f4", ">f4", "<f8", ">f8", "fortran"};
  for (int p = 2; p <= 5; p += (p == 3 ? 2 : 1)) {
    char rel[64];
    snprintf(rel, sizeof rel, "pickle/dtypes_p%d.pkl", p);
    mhrfit_error err = {0};
    mhrfit_value *d = load(rel, &err);
    if (!d) fprintf(stderr, "%s\n", err.message);
    REQUIRE(d);
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
      const mhrfit_array *a = arr(d, keys[k]);
      REQUIRE(a);
      CHECK(a->ndim == 2 && a->shape[0] == 2 && a->shape[1] == 3);
      for (size_t i = 0; i < 6; i++) CHECK(mhrfit_array_get_f64(a, i) == (double)i);
    }
    const mhrfit_array *b = arr(d, "?");
    REQUIRE(b && b->dtype == MHRFIT_DT_BOOL && b->count == 6);
    for (size_t i = 0; i < 6; i++) CHECK(mhrfit_array_get_f64(b, i) == (double)(i % 2));
    char s[32];
    const mhrfit_array *un = arr(d, "unicode"), *by = arr(d, "bytes");
    REQUIRE(un && by);
    CHECK(mhrfit_array_get_string(un, 1, s, sizeof s, &err));
    CHECK_STR(s, "\xce\xa9x");
    CHECK(mhrfit_array_get_string(by, 1, s, sizeof s, &err));
    CHECK_STR(s, "c");
    mhrfit_value_free(d);
  }
}

static void test_misc(void) {
  mhrfit_error err = {0};
  mhrfit_value *d = load("pickle/misc_p3.pkl", &err);
  REQUIRE(d);
  /* {1: .., True: ..} is one key in Python (1 == True): the later value wins, key text "1". */
  CHECK_STR(mhrfit_value_dict_get(d, "1")->u.str.data, "bool key");
  CHECK_STR(mhrfit_value_dict_get(d, "2.5")->u.str.data, "float key");
  CHECK_STR(mhrfit_value_dict_get(d, "None")->u.str.data, "none key");
  CHECK(mhrfit_value_dict_get(d, "big")->u.integer == 1099511627776LL);
  CHECK(mhrfit_value_dict_get(d, "neg")->u.integer == INT64_MIN);
  CHECK(mhrfit_value_dict_get(d, "u64")->u.number == 18446744073709551615.0);
  CHECK(mhrfit_value_dict_get(d, "i8")->u.integer == -5);
  CHECK(mhrfit_value_dict_get(d, "f64")->u.number == -0.125);
  CHECK(mhrfit_value_dict_get(d, "b")->kind == MHRFIT_V_BOOL);
  const mhrfit_value *by = mhrfit_value_dict_get(d, "bytes");
  CHECK(by->kind == MHRFIT_V_BYTES && by->u.str.len == 4 && memcmp(by->u.str.data, "\x00\xff" "ab", 4) == 0);
  const mhrfit_value *sh = mhrfit_value_dict_get(d, "shared"); /* one array referenced twice (memo) */
  REQUIRE(sh && sh->u.list.count == 2);
  CHECK(sh->u.list.items[0]->u.array != sh->u.list.items[1]->u.array); /* each value owns its copy */
  CHECK(mhrfit_array_get_f64(sh->u.list.items[1]->u.array, 1) == 2.0);
  CHECK(mhrfit_value_dict_get(d, "empty")->u.list.count == 0);
  mhrfit_value_free(d);
  d = load("pickle/list_of_dicts_p4.pkl", &err);
  REQUIRE(d && d->kind == MHRFIT_V_LIST && d->u.list.count == 3);
  CHECK(mhrfit_array_get_f64(arr(d->u.list.items[2], "bbox"), 3) == 22.0);
  mhrfit_value_free(d);
}

static void test_npy_files(void) {
  mhrfit_error err = {0};
  mhrfit_value *d = mhrfit_npy_load(FIXTURE("pickle_npy/dict.npy"), NULL, &err);
  REQUIRE(d && d->kind == MHRFIT_V_DICT);
  CHECK(mhrfit_array_get_f64(arr(d, "a"), 2) == 2.0);
  CHECK(mhrfit_value_dict_get(d, "b")->u.number == 1.5);
  CHECK(mhrfit_value_dict_get(d, "d")->kind == MHRFIT_V_NULL);
  CHECK(mhrfit_value_dict_get(mhrfit_value_dict_get(d, "f"), "g")->u.boolean);
  CHECK(mhrfit_array_get_f64(arr(d, "kp"), 139) == 139.0);
  mhrfit_value_free(d);
  d = mhrfit_npy_load(FIXTURE("pickle_npy/list_of_dicts.npy"), NULL, &err);
  REQUIRE(d && d->kind == MHRFIT_V_LIST && d->u.list.count == 2);
  CHECK(mhrfit_array_get_f64(arr(d->u.list.items[1], "bbox"), 3) == 90.0);
  mhrfit_value_free(d);
  d = mhrfit_npy_load(FIXTURE("pickle_npy/zero_d.npy"), NULL, &err);
  REQUIRE(d && d->kind == MHRFIT_V_DICT);
  CHECK_STR(mhrfit_value_dict_get(d, "name")->u.str.data, "cam3");
  CHECK(mhrfit_value_dict_get(d, "score")->u.number == 0.5);
  mhrfit_value_free(d);
  /* a plain-array request on a pickle is refused clearly */
  CHECK(!mhrfit_npy_load_array(FIXTURE("pickle_npy/dict.npy"), NULL, &err));
  CHECK_CONTAINS(err.message, "pickled dict");
}

static void expect_error(const char *rel, mhrfit_error_type type, const char *needle) {
  mhrfit_error err = {0};
  mhrfit_value *v = load(rel, &err);
  CHECK(v == NULL);
  mhrfit_value_free(v);
  CHECK(err.type == type);
  CHECK_CONTAINS(err.message, rel);
  CHECK_CONTAINS(err.message, needle);
}

static void test_malicious(void) {
  expect_error("pickle/evil_os_system.pkl", MHRFIT_ERR_UNSUPPORTED, "'posix.system' is not allowed");
  expect_error("pickle/evil_eval.pkl", MHRFIT_ERR_UNSUPPORTED, "eval' is not allowed");
  expect_error("pickle/ordered_dict.pkl", MHRFIT_ERR_UNSUPPORTED, "collections.OrderedDict");
  expect_error("pickle/truncated.pkl", MHRFIT_ERR_FORMAT, "byte");
  expect_error("pickle/deep.pkl", MHRFIT_ERR_LIMIT, "nesting");
  expect_error("pickle/selfref.pkl", MHRFIT_ERR_LIMIT, "nesting");
  expect_error("pickle/bigint.pkl", MHRFIT_ERR_UNSUPPORTED, "64 bits");
}

static void expect_bytes_error(const char *bytes, size_t len, mhrfit_error_type type, const char *needle) {
  mhrfit_error err = {0};
  mhrfit_value *v = mhrfit_pickle_parse(bytes, len, "x.pkl", NULL, &err);
  CHECK(v == NULL);
  mhrfit_value_free(v);
  CHECK(err.type == type);
  CHECK_CONTAINS(err.message, needle);
}

static void test_broken_streams(void) {
  expect_bytes_error("\x80\x03", 2, MHRFIT_ERR_FORMAT, "without STOP");
  expect_bytes_error("\x80\x03.", 3, MHRFIT_ERR_FORMAT, "underflow");
  expect_bytes_error("\x80\x03NN.", 5, MHRFIT_ERR_FORMAT, "left on the stack");
  expect_bytes_error("\x80\x03h\x05.", 5, MHRFIT_ERR_FORMAT, "memo");
  expect_bytes_error("\x80\x03X\xff\xff\xff\x7f" "abc.", 11, MHRFIT_ERR_FORMAT, "truncated");
  expect_bytes_error("\x80\x03X\x02\x00\x00\x00\xc3\x28.", 10, MHRFIT_ERR_FORMAT, "UTF-8");
  expect_bytes_error("\x80\x03(a.", 5, MHRFIT_ERR_FORMAT, "underflow");
  expect_bytes_error("\x80\x03Ne.", 5, MHRFIT_ERR_FORMAT, "MARK");
  expect_bytes_error("\x80\x09N.", 4, MHRFIT_ERR_UNSUPPORTED, "protocol");
  expect_bytes_error("\x80\x03I1\n.", 6, MHRFIT_ERR_UNSUPPORTED, "opcode 0x49");
  expect_bytes_error("\x80\x05\x97.", 4, MHRFIT_ERR_UNSUPPORTED, "out-of-band");
  expect_bytes_error("\x80\x03K\x01K\x02R.", 8, MHRFIT_ERR_UNSUPPORTED, "REDUCE");
  expect_bytes_error("\x80\x03" "cbuiltins\nexec\n.", 17, MHRFIT_ERR_UNSUPPORTED, "builtins.exec");
  /* numpy.dtype('<') and numpy.dtype(''): a type string without a kind (found by fuzzing) */
  static const char lone[] = "\x80\x03" "cnumpy\ndtype\nX\x01\x00\x00\x00<\x85R.";
  static const char empty[] = "\x80\x03" "cnumpy\ndtype\nX\x00\x00\x00\x00\x85R.";
  expect_bytes_error(lone, sizeof lone - 1, MHRFIT_ERR_UNSUPPORTED, "dtype");
  expect_bytes_error(empty, sizeof empty - 1, MHRFIT_ERR_UNSUPPORTED, "dtype");
  /* a valid minimal stream */
  mhrfit_error err = {0};
  mhrfit_value *v = mhrfit_pickle_parse("\x80\x02K\x07.", 5, "ok.pkl", NULL, &err);
  CHECK(v && v->kind == MHRFIT_V_INT && v->u.integer == 7);
  mhrfit_value_free(v);
}

/* Shared references (DUP + MEMOIZE) that expand exponentially are refused, not expanded until
 * memory runs out (found by the fuzzer; the input is kept as a fuzz seed). */
static void test_billion_laughs(void) {
  unsigned char *data = NULL;
  size_t len = 0;
  mhrfit_error err = {0};
  REQUIRE(mf_read_file("fuzz/seeds/fuzz_pickle/regression-billion-laughs", 1 << 20, &data, &len, &err));
  mhrfit_value *v = mhrfit_pickle_parse(data, len, "laughs.pkl", NULL, &err);
  CHECK(v == NULL);
  CHECK(err.type == MHRFIT_ERR_LIMIT);
  CHECK_CONTAINS(err.message, "shared references");
  mhrfit_value_free(v);
  free(data);
}

int main(void) {
  RUN(test_billion_laughs);
  RUN(test_protocols);
  RUN(test_dtypes);
  RUN(test_misc);
  RUN(test_npy_files);
  RUN(test_malicious);
  RUN(test_broken_streams);
  return test_report();
}
