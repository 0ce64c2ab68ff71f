/* Tests of the NumPy readers and writers: committed fixtures (tools/make_npy_fixtures.py), round
 * trips, the real SAM 3D Body outputs and MHR assets, and bad input. */
#include "harness.h"

#include <math.h>
#include <stdint.h>
#include <unistd.h>
#include <zip.h>

#include "common/file.h"
#include "mhrfit/npy.h"

static const mhrfit_value *member(const mhrfit_value *d, const char *key) {
  const mhrfit_value *v = mhrfit_value_dict_get(d, key);
  return v && v->kind == MHRFIT_V_ARRAY ? v : NULL;
}

static void type_label(const mhrfit_array *a, char *buf, size_t size) {
  if (a->dtype == MHRFIT_DT_UNICODE) snprintf(buf, size, "U%zu", a->itemsize);
  else if (a->dtype == MHRFIT_DT_BYTES) snprintf(buf, size, "S%zu", a->itemsize);
  else snprintf(buf, size, "%s", mhrfit_dtype_name(a->dtype));
}

static void shape_label(const mhrfit_array *a, char *buf, size_t size) {
  size_t n = (size_t)snprintf(buf, size, "(");
  for (int k = 0; k < a->ndim; k++) n += (size_t)snprintf(buf + n, size - n, k ? ",%zu" : "%zu", a->shape[k]);
  snprintf(buf + n, size - n, ")");
}

/* Compares one array with a line of expected.txt. */
static void check_against(const mhrfit_array *a, const char *line) {
  char name[128], type[32], shape[64];
  size_t count;
  int used = 0;
  REQUIRE(sscanf(line, "%127s %31s %63s %zu %n", name, type, shape, &count, &used) == 4);
  char got_type[32], got_shape[64];
  type_label(a, got_type, sizeof got_type);
  shape_label(a, got_shape, sizeof got_shape);
  CHECK_STR(got_type, type);
  CHECK_STR(got_shape, shape);
  CHECK(a->count == count);
  const char *rest = line + used;
  if (a->dtype == MHRFIT_DT_UNICODE || a->dtype == MHRFIT_DT_BYTES) {
    char joined[1024] = "|";
    for (size_t i = 0; i < a->count; i++) {
      char s[256];
      CHECK(mhrfit_array_get_string(a, i, s, sizeof s, NULL));
      strcat(joined, s);
      strcat(joined, "|");
    }
    char want[1024];
    snprintf(want, sizeof want, "%s", rest);
    want[strcspn(want, "\n")] = '\0';
    CHECK_STR(joined, want);
    return;
  }
  double sum, sumsq, first, last;
  REQUIRE(sscanf(rest, "%lf %lf %lf %lf", &sum, &sumsq, &first, &last) == 4);
  double s = 0, s2 = 0;
  for (size_t i = 0; i < a->count; i++) {
    double v = mhrfit_array_get_f64(a, i);
    s += v;
    s2 += v * v;
  }
  CHECK_NEAR(s, sum, 1e-12 * (fabs(sum) + 1));
  CHECK_NEAR(s2, sumsq, 1e-12 * (fabs(sumsq) + 1));
  if (a->count) {
    CHECK(mhrfit_array_get_f64(a, 0) == first);
    CHECK(mhrfit_array_get_f64(a, a->count - 1) == last);
  }
}

static void test_fixtures(void) {
  FILE *f = fopen(FIXTURE("npy/expected.txt"), "r");
  REQUIRE(f);
  char line[2048];
  int n = 0;
  mhrfit_error err = {0};
  mhrfit_value *stored = mhrfit_npz_load(FIXTURE("npy/stored.npz"), NULL, &err);
  mhrfit_value *deflate = mhrfit_npz_load(FIXTURE("npy/deflate.npz"), NULL, &err);
  mhrfit_value *zip64 = mhrfit_numpy_load(FIXTURE("npy/zip64.npz"), NULL, &err);
  REQUIRE(stored && deflate && zip64);
  while (fgets(line, sizeof line, f)) {
    char name[128];
    if (sscanf(line, "%127s", name) != 1) continue;
    if (strncmp(name, "npz.", 4) == 0) {
      const mhrfit_value *vals[3] = {member(stored, name + 4), member(deflate, name + 4), member(zip64, name + 4)};
      for (int k = 0; k < 3; k++) {
        REQUIRE(vals[k]);
        check_against(vals[k]->u.array, line);
      }
    } else {
      char rel[256];
      snprintf(rel, sizeof rel, "npy/%s.npy", name);
      mhrfit_array *a = mhrfit_npy_load_array(FIXTURE(rel), NULL, &err);
      if (!a) fprintf(stderr, "%s: %s\n", name, err.message);
      REQUIRE(a);
      check_against(a, line);
      mhrfit_array_free(a);
    }
    n++;
  }
  fclose(f);
  CHECK(n >= 30);
  CHECK(stored->u.dict.count == 3 && strcmp(stored->u.dict.keys[0], "points") == 0);
  mhrfit_value_free(stored);
  mhrfit_value_free(deflate);
  mhrfit_value_free(zip64);
}

static void test_fortran_values(void) {
  /* f8_fortran_3d was written from a Fortran-ordered array; element [i,j,k] in C order must equal
   * the value NumPy shows at a[i,j,k]: compare against the same data read back in C order. */
  mhrfit_error err = {0};
  mhrfit_array *a = mhrfit_npy_load_array(FIXTURE("npy/i4_fortran_2d_be.npy"), NULL, &err);
  REQUIRE(a);
  for (size_t i = 0; i < 12; i++) CHECK(mhrfit_array_get_f64(a, i) == (double)i); /* np.arange(12).reshape(3,4) */
  mhrfit_array_free(a);
}

static void test_round_trip(void) {
  mhrfit_error err = {0};
  char path[] = "/tmp/mhrfit_test_npyXXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  for (int t = 0; t < MHRFIT_DT_COUNT; t++) {
    size_t shape[3] = {2, 3, 2};
    size_t itemsize = t == MHRFIT_DT_UNICODE ? 12 : 5;
    mhrfit_array *a = mhrfit_array_new((mhrfit_dtype)t, itemsize, 3, shape, 0, &err);
    REQUIRE(a);
    unsigned char *p = a->data;
    for (size_t i = 0; i < a->count * a->itemsize; i++) p[i] = (unsigned char)(i * 37 + 11);
    if (t == MHRFIT_DT_BOOL)
      for (size_t i = 0; i < a->count; i++) p[i] &= 1;
    if (t == MHRFIT_DT_UNICODE)
      for (size_t i = 0; i < a->count * 3; i++) {
        uint32_t cp = 0x41 + (uint32_t)(i % 50);
        memcpy(p + 4 * i, &cp, 4);
      }
    CHECK(mhrfit_npy_save(path, a, &err));
    mhrfit_array *b = mhrfit_npy_load_array(path, NULL, &err);
    REQUIRE(b);
    CHECK(b->dtype == a->dtype && b->itemsize == a->itemsize && b->ndim == 3 && b->shape[2] == 2);
    CHECK(memcmp(a->data, b->data, a->count * a->itemsize) == 0);
    mhrfit_array_free(b);
    const char *names[2] = {"x", "y"};
    const mhrfit_array *arrays[2] = {a, a};
    for (int c = 0; c < 2; c++) {
      CHECK(mhrfit_npz_save(path, 2, names, arrays, c == 1, &err));
      mhrfit_value *d = mhrfit_npz_load(path, NULL, &err);
      REQUIRE(d && d->u.dict.count == 2);
      const mhrfit_value *y = member(d, "y");
      REQUIRE(y);
      CHECK(memcmp(a->data, y->u.array->data, a->count * a->itemsize) == 0);
      mhrfit_value_free(d);
    }
    mhrfit_array_free(a);
  }
  /* with compress, members of MHRFIT_NPZ_DEFLATE_MIN_BYTES or more are deflated when it pays */
  {
    size_t n_small = 10, n_big = 4096;
    mhrfit_array *small = mhrfit_array_new(MHRFIT_DT_F64, 0, 1, &n_small, 0, &err);
    mhrfit_array *big = mhrfit_array_new(MHRFIT_DT_F64, 0, 1, &n_big, 0, &err);
    mhrfit_array *noise = mhrfit_array_new(MHRFIT_DT_F64, 0, 1, &n_big, 0, &err);
    REQUIRE(small && big && noise);
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    for (size_t i = 0; i < n_big; i++) {
      ((double *)big->data)[i] = (double)(i % 7);
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      ((double *)noise->data)[i] = (double)(x >> 11) * 0x1p-53; /* incompressible mantissas */
    }
    const char *names[3] = {"small", "big", "noise"};
    const mhrfit_array *arrays[3] = {small, big, noise};
    REQUIRE(mhrfit_npz_save(path, 3, names, arrays, true, &err));
    int zerr = 0;
    zip_t *z = zip_open(path, ZIP_RDONLY, &zerr);
    REQUIRE(z);
    zip_stat_t st_small, st_big, st_noise;
    REQUIRE(zip_stat(z, "small.npy", 0, &st_small) == 0 && zip_stat(z, "big.npy", 0, &st_big) == 0 &&
            zip_stat(z, "noise.npy", 0, &st_noise) == 0);
    /* small: stored; compressible: deflated; noise (deflate would not pay): stored */
    CHECK(st_small.comp_method == ZIP_CM_STORE && st_big.comp_method == ZIP_CM_DEFLATE &&
          st_noise.comp_method == ZIP_CM_STORE);
    CHECK(st_big.comp_size < st_big.size / 4);
    zip_close(z);
    mhrfit_value *d = mhrfit_npz_load(path, NULL, &err);
    REQUIRE(d);
    CHECK(member(d, "big") && memcmp(member(d, "big")->u.array->data, big->data, n_big * 8) == 0);
    mhrfit_value_free(d);
    /* members in the skip list are not read */
    const char *const skip[] = {"big", "small", NULL};
    mhrfit_npy_limits lim = {0};
    lim.skip_members = skip;
    d = mhrfit_npz_load(path, &lim, &err);
    REQUIRE(d);
    CHECK(d->u.dict.count == 1 && member(d, "noise") && !member(d, "big") && !member(d, "small"));
    mhrfit_value_free(d);
    mhrfit_array_free(small);
    mhrfit_array_free(big);
    mhrfit_array_free(noise);
  }
  const char *dup[2] = {"x", "x"};
  size_t one = 1;
  mhrfit_array *s = mhrfit_array_new(MHRFIT_DT_F32, 0, 1, &one, 0, &err);
  const mhrfit_array *arrays[2] = {s, s};
  CHECK(!mhrfit_npz_save(path, 2, dup, arrays, false, &err) && err.type == MHRFIT_ERR_ARGUMENT);
  mhrfit_array_free(s);
  unlink(path);
}

static void test_sam3d_outputs(void) {
  static const struct { const char *name, *dtype; int ndim; long shape[3]; } arrays[17] = {
      {"bbox", "float32", 1, {4}},           {"pred_keypoints_3d", "float32", 2, {70, 3}},
      {"pred_keypoints_2d", "float32", 2, {70, 2}}, {"pred_vertices", "float32", 2, {18439, 3}},
      {"pred_cam_t", "float32", 1, {3}},     {"pred_pose_raw", "float32", 1, {266}},
      {"global_rot", "float32", 1, {3}},     {"body_pose_params", "float32", 1, {133}},
      {"hand_pose_params", "float32", 1, {108}}, {"scale_params", "float32", 1, {28}},
      {"shape_params", "float32", 1, {45}},  {"expr_params", "float32", 1, {72}},
      {"pred_joint_coords", "float32", 2, {127, 3}}, {"pred_global_rots", "float32", 3, {127, 3, 3}},
      {"mhr_model_params", "float32", 1, {204}}, {"lhand_bbox", "float64", 1, {4}},
      {"rhand_bbox", "float64", 1, {4}}};
  /* DATA.md §2.4: bbox[0], pred_cam_t[2], nose 2D x, knee 56, per subject. */
  static const double bbox0[3] = {30.79408, 217.8949, 365.8515};
  static const double camz[3] = {8.265865, 7.855102, 7.776934};
  static const double nose_x[3] = {194.4948, 356.4822, 528.9793};
  static const double knee[3] = {1.820297, 0.606638, 0.6231893};
  for (int s = 0; s < 3; s++) {
    char rel[128];
    snprintf(rel, sizeof rel, "mhr_sam3d_body_outputs/img_subj%02d.npz", s);
    mhrfit_error err = {0};
    mhrfit_value *d = mhrfit_npz_load(TESTDATA(rel), NULL, &err);
    if (!d) fprintf(stderr, "%s\n", err.message);
    REQUIRE(d);
    CHECK(d->u.dict.count == 17);
    for (int k = 0; k < 17; k++) {
      const mhrfit_value *v = member(d, arrays[k].name);
      REQUIRE(v);
      CHECK_STR(mhrfit_dtype_name(v->u.array->dtype), arrays[k].dtype);
      CHECK(mhrfit_array_has_shape(v->u.array, arrays[k].ndim, arrays[k].shape));
    }
    const mhrfit_array *bbox = member(d, "bbox")->u.array, *cam = member(d, "pred_cam_t")->u.array;
    const mhrfit_array *kp2 = member(d, "pred_keypoints_2d")->u.array, *bp = member(d, "body_pose_params")->u.array;
    const mhrfit_array *gr = member(d, "global_rot")->u.array, *mp = member(d, "mhr_model_params")->u.array;
    const mhrfit_array *jc = member(d, "pred_joint_coords")->u.array;
    CHECK_NEAR(mhrfit_array_get_f64(bbox, 0), bbox0[s], 1e-6 * bbox0[s]);
    CHECK_NEAR(mhrfit_array_get_f64(cam, 2), camz[s], 1e-6 * camz[s]);
    CHECK_NEAR(mhrfit_array_get_f64(kp2, 0), nose_x[s], 1e-6 * nose_x[s]);
    CHECK_NEAR(mhrfit_array_get_f64(bp, 56), knee[s], 1e-6 * knee[s]);
    /* Exact invariants (DATA.md §2.5). */
    for (int i = 0; i < 3; i++) {
      CHECK(mhrfit_array_get_f64(mp, 3 + (size_t)i) == mhrfit_array_get_f64(gr, (size_t)i));
      CHECK(mhrfit_array_get_f64(mp, (size_t)i) == 0.0);
      CHECK(mhrfit_array_get_f64(jc, (size_t)i) == 0.0);
    }
    CHECK((float)mhrfit_array_get_f64(jc, 4) == -0.9239869713783264f);
    for (size_t i = 0; i < 130; i++)
      if (i < 62 || i > 115) CHECK(mhrfit_array_get_f64(mp, 6 + i) == mhrfit_array_get_f64(bp, i));
    mhrfit_value_free(d);
  }
}

static void test_corrective_asset(void) {
  mhrfit_error err = {0};
  mhrfit_value *d = mhrfit_numpy_load(ASSET("corrective_activation.npz"), NULL, &err);
  if (!d) fprintf(stderr, "%s\n", err.message);
  REQUIRE(d);
  const mhrfit_value *mask = member(d, "posedirs_sparse_mask"), *idx = member(d, "0.sparse_indices"),
                     *w = member(d, "0.sparse_weight");
  REQUIRE(mask && idx && w);
  CHECK(mask->u.array->dtype == MHRFIT_DT_BOOL && mask->u.array->shape[0] == 3000 && mask->u.array->shape[1] == 750);
  CHECK(idx->u.array->dtype == MHRFIT_DT_I64 && idx->u.array->shape[0] == 2 && idx->u.array->shape[1] == 53136);
  CHECK(w->u.array->dtype == MHRFIT_DT_F32 && w->u.array->count == 53136);
  CHECK_NEAR(mhrfit_array_get_f64(w->u.array, 0), -1.86718, 1e-5);
  CHECK_NEAR(mhrfit_array_get_f64(w->u.array, 1), -0.809776, 1e-6);
  CHECK_NEAR(mhrfit_array_get_f64(w->u.array, 2), 0.308865, 1e-6);
  size_t nz = 0;
  for (size_t i = 0; i < mask->u.array->count; i++) nz += mhrfit_array_get_f64(mask->u.array, i) != 0;
  CHECK(nz == 53136);
  mhrfit_value_free(d);
}

/* Builds a .npy image with the given header dict and payload size. */
static size_t make_npy(unsigned char *buf, const char *dict, size_t payload) {
  size_t dlen = strlen(dict), hlen = (10 + dlen + 1 + 63) / 64 * 64 - 10;
  memcpy(buf, "\x93NUMPY\x01\x00", 8);
  buf[8] = (unsigned char)(hlen & 0xff);
  buf[9] = (unsigned char)(hlen >> 8);
  memcpy(buf + 10, dict, dlen);
  memset(buf + 10 + dlen, ' ', hlen - dlen - 1);
  buf[10 + hlen - 1] = '\n';
  memset(buf + 10 + hlen, 0, payload);
  return 10 + hlen + payload;
}

static void expect_fail(const void *data, size_t len, mhrfit_error_type type, const char *needle) {
  mhrfit_error err = {0};
  mhrfit_value *v = mhrfit_npy_parse(data, len, "bad.npy", NULL, &err);
  CHECK(v == NULL);
  mhrfit_value_free(v);
  CHECK(err.type == type);
  CHECK_CONTAINS(err.message, "bad.npy");
  CHECK_CONTAINS(err.message, needle);
}

static void test_bad_input(void) {
  unsigned char buf[4096];
  size_t n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 24);
  mhrfit_error err = {0};
  mhrfit_value *ok = mhrfit_npy_parse(buf, n, "ok.npy", NULL, &err);
  CHECK(ok && ok->u.array->count == 6);
  mhrfit_value_free(ok);
  expect_fail(buf, n - 1, MHRFIT_ERR_FORMAT, "data bytes");        /* truncated payload */
  expect_fail(buf, 9, MHRFIT_ERR_FORMAT, "magic");                   /* truncated header */
  expect_fail(buf, 60, MHRFIT_ERR_FORMAT, "truncated header");
  unsigned char bad[4096];
  memcpy(bad, buf, n);
  bad[1] = 'X';
  expect_fail(bad, n, MHRFIT_ERR_FORMAT, "magic");
  n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 28);
  expect_fail(buf, n, MHRFIT_ERR_FORMAT, "data bytes");             /* header lies: longer */
  n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 8), }", 0);
  expect_fail(buf, n, MHRFIT_ERR_LIMIT, "");
  n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999, ), }", 0);
  expect_fail(buf, n, MHRFIT_ERR_LIMIT, "");
  n = make_npy(buf, "{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (2,), }", 8);
  expect_fail(buf, n, MHRFIT_ERR_UNSUPPORTED, "structured");
  n = make_npy(buf, "{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }", 16);
  expect_fail(buf, n, MHRFIT_ERR_UNSUPPORTED, "c16");
  n = make_npy(buf, "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,), }", 4);
  expect_fail(buf, n, MHRFIT_ERR_FORMAT, "fortran_order");
  n = make_npy(buf, "{'descr': '<f4', 'shape': (1,), }", 4);
  expect_fail(buf, n, MHRFIT_ERR_FORMAT, "fortran_order");
  n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'caf\xc3\xa9': 1}", 4);
  expect_fail(buf, n, MHRFIT_ERR_FORMAT, "non-ASCII");
  n = make_npy(buf, "{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", 2);
  buf[n - 1] = 7;
  expect_fail(buf, n, MHRFIT_ERR_FORMAT, "bool");
  buf[6] = 9;
  expect_fail(buf, n, MHRFIT_ERR_UNSUPPORTED, "version");
  /* A rank beyond the limit. */
  char dict[512] = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
  for (int i = 0; i < 40; i++) strcat(dict, "1, ");
  strcat(dict, "), }");
  n = make_npy(buf, dict, 4);
  expect_fail(buf, n, MHRFIT_ERR_LIMIT, "rank");
  /* npz: not a zip, and a corrupted member. */
  mhrfit_value *z = mhrfit_npz_parse("PK\x03\x04garbage", 11, "bad.npz", NULL, &err);
  CHECK(!z && err.type == MHRFIT_ERR_FORMAT);
  CHECK_CONTAINS(err.message, "bad.npz");
  unsigned char *data;
  size_t len;
  REQUIRE(mf_read_file(FIXTURE("npy/deflate.npz"), 0, &data, &len, &err));
  size_t start = 30 + (size_t)(data[26] | data[27] << 8) + (size_t)(data[28] | data[29] << 8);
  REQUIRE(start + 20 < len);
  data[start + 12] ^= 0x55; /* inside the deflated data of the first member */
  z = mhrfit_npz_parse(data, len, "corrupt.npz", NULL, &err);
  CHECK(!z);
  CHECK_CONTAINS(err.message, "corrupt.npz");
  mhrfit_value_free(z);
  free(data);
  CHECK(!mhrfit_npz_load("/nonexistent/x.npz", NULL, &err) && err.type == MHRFIT_ERR_IO);
  CHECK_CONTAINS(err.message, "/nonexistent/x.npz");
  CHECK(!mhrfit_npy_load_array("/nonexistent/x.npy", NULL, &err) && err.type == MHRFIT_ERR_IO);
}

static void test_limits(void) {
  mhrfit_error err = {0};
  mhrfit_npy_limits lim = {.max_array_bytes = 16};
  mhrfit_value *v = mhrfit_npz_load(FIXTURE("npy/stored.npz"), &lim, &err);
  CHECK(v == NULL && err.type == MHRFIT_ERR_LIMIT);
  CHECK_CONTAINS(err.message, "stored.npz");
}

int main(void) {
  RUN(test_fixtures);
  RUN(test_fortran_values);
  RUN(test_round_trip);
  RUN(test_sam3d_outputs);
  RUN(test_corrective_asset);
  RUN(test_bad_input);
  RUN(test_limits);
  return test_report();
}
