/* Tests of the common module: errors, arrays, values, UTF-8, half floats. */
#include "harness.h"

#include <math.h>

#include "common/utf8.h"
#include "mhrfit/array.h"
#include "mhrfit/value.h"

static void test_error_prefix(void) {
  mhrfit_error err = {0};
  CHECK(!MHRFIT_FAIL(&err, MHRFIT_ERR_FORMAT, "field '%s' missing", "matrix"));
  mhrfit_error_prefix(&err, "calib.toml: table [%s]", "cam_1");
  CHECK_STR(err.message, "calib.toml: table [cam_1]: field 'matrix' missing");
  CHECK(err.type == MHRFIT_ERR_FORMAT);
  CHECK(err.src_line > 0);
  CHECK_STR(mhrfit_error_type_name(MHRFIT_ERR_NOT_FOUND), "not-found");
  mhrfit_error_clear(&err);
  CHECK(err.type == MHRFIT_ERR_NONE);
  mhrfit_error_prefix(&err, "ignored");
  CHECK_STR(err.message, "");
}

static void test_array_convert(void) {
  mhrfit_error err = {0};
  size_t shape[2] = {2, 3};
  mhrfit_array *a = mhrfit_array_new(MHRFIT_DT_F64, 0, 2, shape, 0, &err);
  REQUIRE(a);
  double *d = a->data;
  for (int i = 0; i < 6; i++) d[i] = i - 2.5;
  mhrfit_array *b = mhrfit_array_convert(a, MHRFIT_DT_I16, &err);
  REQUIRE(b);
  CHECK(b->ndim == 2 && b->shape[1] == 3 && b->itemsize == 2);
  CHECK(mhrfit_array_get_f64(b, 0) == -2.0);
  CHECK(mhrfit_array_get_f64(b, 5) == 2.0);
  d[1] = NAN;
  mhrfit_array *c = mhrfit_array_convert(a, MHRFIT_DT_I32, &err);
  CHECK(c == NULL && err.type == MHRFIT_ERR_NUMERIC);
  d[1] = 70000.0;
  c = mhrfit_array_convert(a, MHRFIT_DT_U16, &err);
  CHECK(c == NULL && err.type == MHRFIT_ERR_NUMERIC);
  long want[2] = {2, -1};
  CHECK(mhrfit_array_has_shape(a, 2, want));
  mhrfit_array_free(a);
  mhrfit_array_free(b);
  size_t huge[2] = {SIZE_MAX / 2, 4};
  CHECK(mhrfit_array_new(MHRFIT_DT_F32, 0, 2, huge, 0, &err) == NULL && err.type == MHRFIT_ERR_LIMIT);
}

static void test_half(void) {
  CHECK(mhrfit_half_to_float(0x3c00) == 1.0f);
  CHECK(mhrfit_half_to_float(0xc000) == -2.0f);
  CHECK(mhrfit_half_to_float(0x0001) == ldexpf(1.0f, -24));
  CHECK(isinf(mhrfit_half_to_float(0x7c00)));
  CHECK(isnan(mhrfit_half_to_float(0x7e00)));
  CHECK(mhrfit_float_to_half(1.0f) == 0x3c00);
  CHECK(mhrfit_float_to_half(65504.0f) == 0x7bff);
  CHECK(mhrfit_float_to_half(1e6f) == 0x7c00);
  /* every finite half round-trips */
  int bad = 0;
  for (uint32_t h = 0; h < 0x10000; h++) {
    if (((h >> 10) & 0x1f) == 0x1f) continue;
    if (mhrfit_float_to_half(mhrfit_half_to_float((uint16_t)h)) != h) bad++;
  }
  CHECK(bad == 0);
}

static void test_utf8(void) {
  char buf[4];
  CHECK(mf_utf8_encode(0x20ac, buf) == 3);
  CHECK(mf_utf8_encode(0xd800, buf) == 0);
  CHECK(mf_utf8_valid("caf\xc3\xa9", 5));
  CHECK(!mf_utf8_valid("\xc0\xaf", 2)); /* overlong */
  CHECK(!mf_utf8_valid("\xed\xa0\x80", 3)); /* surrogate */
}

static void test_value_json(void) {
  mhrfit_error err = {0};
  mhrfit_value *d = mhrfit_value_new_dict(&err);
  REQUIRE(d);
  CHECK(mhrfit_value_dict_set(d, "a", mhrfit_value_new_float(0.1, &err), &err));
  CHECK(mhrfit_value_dict_set(d, "b", mhrfit_value_new_float(NAN, &err), &err));
  CHECK(mhrfit_value_dict_set(d, "a", mhrfit_value_new_int(-3, &err), &err)); /* replaces, keeps position */
  size_t shape[1] = {2};
  mhrfit_array *arr = mhrfit_array_new(MHRFIT_DT_F32, 0, 1, shape, 0, &err);
  ((float *)arr->data)[0] = 1.5f;
  ((float *)arr->data)[1] = 1e-7f;
  CHECK(mhrfit_value_dict_set(d, "arr", mhrfit_value_new_array(arr, &err), &err));
  CHECK(mhrfit_value_dict_set(d, "s", mhrfit_value_new_string(MHRFIT_V_STRING, "q\"\n", 3, &err), &err));
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  CHECK(mhrfit_value_write_json(d, f, -1, &err));
  fclose(f);
  CHECK_STR(buf, "{\"a\": -3, \"b\": null, \"arr\": [1.5, 1e-07], \"s\": \"q\\\"\\n\"}");
  free(buf);
  CHECK(mhrfit_value_dict_get(d, "arr")->kind == MHRFIT_V_ARRAY);
  CHECK(mhrfit_value_dict_get(d, "zzz") == NULL);
  mhrfit_value *c = mhrfit_value_clone(d, &err);
  CHECK(c && c->u.dict.count == 4);
  mhrfit_value_free(c);
  mhrfit_value_free(d);
  CHECK(mhrfit_value_new_string(MHRFIT_V_STRING, "\xff", 1, &err) == NULL && err.type == MHRFIT_ERR_FORMAT);
}

static void test_format_double(void) {
  char buf[64];
  mhrfit_format_double(0.1, buf, sizeof buf);
  CHECK_STR(buf, "0.1");
  mhrfit_format_double(2.0, buf, sizeof buf);
  CHECK_STR(buf, "2.0");
  mhrfit_format_double(-0.9239869713783264, buf, sizeof buf);
  CHECK(strtod(buf, NULL) == -0.9239869713783264);
  mhrfit_format_double(INFINITY, buf, sizeof buf);
  CHECK_STR(buf, "null");
}

int main(void) {
  RUN(test_error_prefix);
  RUN(test_array_convert);
  RUN(test_half);
  RUN(test_utf8);
  RUN(test_value_json);
  RUN(test_format_double);
  return test_report();
}
