/* Tests of the TOML reader (against Python tomllib's reading of the same documents, committed as
 * JSON by tools/make_toml_fixtures.py), the JSON reader, and line-numbered errors. */
#include "harness.h"

#include <math.h>

#include "mhrfit/json.h"
#include "mhrfit/toml.h"

/* Structural equality; INT and FLOAT compare by value (JSON has one number type). */
static bool same(const mhrfit_value *a, const mhrfit_value *b) {
  if (mhrfit_value_is_number(a) && mhrfit_value_is_number(b) && a->kind != MHRFIT_V_BOOL && b->kind != MHRFIT_V_BOOL)
    return mhrfit_value_as_double(a) == mhrfit_value_as_double(b);
  bool as = a->kind == MHRFIT_V_STRING || a->kind == MHRFIT_V_DATETIME;
  bool bs = b->kind == MHRFIT_V_STRING || b->kind == MHRFIT_V_DATETIME;
  if (as && bs) return strcmp(a->u.str.data, b->u.str.data) == 0;
  if (a->kind != b->kind) return false;
  switch (a->kind) {
    case MHRFIT_V_NULL: return true;
    case MHRFIT_V_BOOL: return a->u.boolean == b->u.boolean;
    case MHRFIT_V_LIST:
      if (a->u.list.count != b->u.list.count) return false;
      for (size_t i = 0; i < a->u.list.count; i++)
        if (!same(a->u.list.items[i], b->u.list.items[i])) return false;
      return true;
    case MHRFIT_V_DICT:
      if (a->u.dict.count != b->u.dict.count) return false;
      for (size_t i = 0; i < a->u.dict.count; i++) {
        const mhrfit_value *o = mhrfit_value_dict_get(b, a->u.dict.keys[i]);
        if (!o || !same(a->u.dict.vals[i], o)) return false;
      }
      return true;
    default: return false;
  }
}

static void test_conformance(void) {
  for (int i = 0; i < 5; i++) {
    char t[64], j[64];
    snprintf(t, sizeof t, "toml/case_%d.toml", i);
    snprintf(j, sizeof j, "toml/case_%d.json", i);
    mhrfit_error err = {0};
    mhrfit_value *a = mhrfit_toml_load(FIXTURE(t), &err);
    if (!a) fprintf(stderr, "%s\n", err.message);
    mhrfit_value *b = mhrfit_json_load(FIXTURE(j), &err);
    REQUIRE(a && b);
    CHECK(same(a, b));
    mhrfit_value_free(a);
    mhrfit_value_free(b);
  }
}

static void test_details(void) {
  const char *doc = "# c\nCreationDate = 2023-03-31T09:56:43.193358\n[cam_1]\nm = [ [1, 2.5e-3,],\n  [inf, -nan], ]\n";
  mhrfit_error err = {0};
  mhrfit_value *v = mhrfit_toml_parse(doc, strlen(doc), "x.toml", &err);
  REQUIRE(v);
  const mhrfit_value *cd = mhrfit_value_dict_get(v, "CreationDate");
  CHECK(cd && cd->kind == MHRFIT_V_DATETIME && cd->line == 2);
  CHECK_STR(cd->u.str.data, "2023-03-31T09:56:43.193358");
  const mhrfit_value *m = mhrfit_value_dict_get(mhrfit_value_dict_get(v, "cam_1"), "m");
  REQUIRE(m && m->kind == MHRFIT_V_LIST && m->u.list.count == 2);
  CHECK(m->line == 4);
  CHECK(m->u.list.items[0]->u.list.items[1]->u.number == 2.5e-3);
  CHECK(isinf(m->u.list.items[1]->u.list.items[0]->u.number));
  CHECK(isnan(m->u.list.items[1]->u.list.items[1]->u.number));
  CHECK(m->u.list.items[1]->line == 5);
  mhrfit_value_free(v);
}

static void expect_error(const char *doc, mhrfit_error_type type, const char *needle) {
  mhrfit_error err = {0};
  mhrfit_value *v = mhrfit_toml_parse(doc, strlen(doc), "bad.toml", &err);
  CHECK(v == NULL);
  mhrfit_value_free(v);
  CHECK(err.type == type);
  CHECK_CONTAINS(err.message, needle);
}

static void test_errors(void) {
  expect_error("a = 1\n[t\nb = 2\n", MHRFIT_ERR_FORMAT, "bad.toml:2: expected ']' after table name");
  expect_error("a = 1\na = 2\n", MHRFIT_ERR_FORMAT, "bad.toml:2: duplicate key 'a'");
  expect_error("[t]\nx=1\n[t]\n", MHRFIT_ERR_FORMAT, "bad.toml:3: table [t] is defined twice");
  expect_error("s = \"abc\n", MHRFIT_ERR_FORMAT, "bad.toml:1:");
  expect_error("s = \"\"\"abc\n\n", MHRFIT_ERR_FORMAT, "unterminated string");
  expect_error("x = [1, 2\n", MHRFIT_ERR_FORMAT, "unterminated array");
  expect_error("x = 01\n", MHRFIT_ERR_FORMAT, "invalid value '01'");
  expect_error("x = 1__0\n", MHRFIT_ERR_FORMAT, "invalid value");
  expect_error("x = 1.\n", MHRFIT_ERR_FORMAT, "invalid value");
  expect_error("x = 99999999999999999999\n", MHRFIT_ERR_FORMAT, "invalid value");
  expect_error("x = \"\\q\"\n", MHRFIT_ERR_FORMAT, "invalid escape");
  expect_error("x = 1 y = 2\n", MHRFIT_ERR_FORMAT, "end of the line");
  expect_error("\n\nx = \"caf\xc3\"\n", MHRFIT_ERR_FORMAT, "bad.toml:3: invalid UTF-8");
  expect_error("= 1\n", MHRFIT_ERR_FORMAT, "key");
  expect_error("x = {a = 1, a = 2}\n", MHRFIT_ERR_FORMAT, "duplicate key");
  expect_error("x = {a = 1}\n[x]\n", MHRFIT_ERR_FORMAT, "defined twice");
  char deep[400];
  size_t n = 0;
  n += (size_t)snprintf(deep + n, sizeof deep - n, "x = ");
  for (int i = 0; i < 100; i++) deep[n++] = '[';
  for (int i = 0; i < 100; i++) deep[n++] = ']';
  deep[n++] = '\n';
  deep[n] = '\0';
  expect_error(deep, MHRFIT_ERR_LIMIT, "nesting deeper");
  mhrfit_error err = {0};
  CHECK(!mhrfit_toml_load("/nonexistent/calib.toml", &err) && err.type == MHRFIT_ERR_IO);
  CHECK_CONTAINS(err.message, "/nonexistent/calib.toml");
}

static void test_json(void) {
  const char *doc = "{\"a\": [1, 2.5, \"x\", null, true], \"b\": {\"c\": -3}}";
  mhrfit_error err = {0};
  mhrfit_value *v = mhrfit_json_parse(doc, strlen(doc), "x.json", &err);
  REQUIRE(v);
  const mhrfit_value *a = mhrfit_value_dict_get(v, "a");
  CHECK(a->u.list.count == 5 && a->u.list.items[0]->kind == MHRFIT_V_INT && a->u.list.items[1]->u.number == 2.5);
  CHECK(a->u.list.items[3]->kind == MHRFIT_V_NULL && a->u.list.items[4]->u.boolean);
  CHECK(mhrfit_value_dict_get(mhrfit_value_dict_get(v, "b"), "c")->u.integer == -3);
  mhrfit_value_free(v);
  const char *bad = "{\n\"a\": [1,\n2,,]}";
  CHECK(!mhrfit_json_parse(bad, strlen(bad), "bad.json", &err) && err.type == MHRFIT_ERR_FORMAT);
  CHECK_CONTAINS(err.message, "bad.json:3:");
  CHECK(!mhrfit_json_parse("{} x", 4, "trail.json", &err));
  CHECK_CONTAINS(err.message, "trailing");
  CHECK(!mhrfit_json_parse("\"\xff\"", 3, "utf.json", &err));
  CHECK_CONTAINS(err.message, "UTF-8");
}

int main(void) {
  RUN(test_conformance);
  RUN(test_details);
  RUN(test_errors);
  RUN(test_json);
  return test_report();
}
