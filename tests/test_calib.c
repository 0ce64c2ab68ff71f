/* Tests of calibration loading: every dialect describes the same two cameras
 * (tools/make_calib_fixtures.py), the real Pose2Sim file, selection and bad input. */
#include "harness.h"

#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "mhrfit/calib.h"
#include "mhrfit/toml.h"

static double expected[2][31];

static void load_expected(void) {
  FILE *f = fopen(FIXTURE("calib/expected.txt"), "r");
  REQUIRE(f);
  for (int c = 0; c < 2; c++)
    for (int i = 0; i < 31; i++) REQUIRE(fscanf(f, "%lf", &expected[c][i]) == 1);
  fclose(f);
}

static void check_file(const char *rel, const mhrfit_calib_options *opts, const char *name0, const char *name1) {
  mhrfit_error err = {0};
  mhrfit_calib *cal = mhrfit_calib_load(FIXTURE(rel), opts, &err);
  if (!cal) fprintf(stderr, "%s\n", err.message);
  REQUIRE(cal);
  REQUIRE(cal->n_cams == 2);
  for (int c = 0; c < 2; c++) {
    const mhrfit_camera *cam = &cal->cams[c];
    const double *e = expected[c];
    for (int i = 0; i < 9; i++) CHECK(cam->K[i] == e[i]);
    for (int i = 0; i < 8; i++) CHECK(cam->dist[i] == e[9 + i]);
    for (int i = 0; i < 9; i++) CHECK_NEAR(cam->R[i], e[17 + i], 1e-12);
    CHECK(cam->width == 1920 && cam->height == 1080);
  }
  for (int c = 0; c < 2; c++)
    for (int i = 0; i < 3; i++) CHECK_NEAR(cal->cams[c].t[i], expected[c][26 + i], 1e-12);
  CHECK_STR(cal->cams[0].name, name0);
  CHECK_STR(cal->cams[1].name, name1);
  CHECK_STR(cal->unit, "m");
  mhrfit_calib_free(cal);
}

static void test_dialects(void) {
  check_file("calib/caliscope_config.toml", NULL, "cam_0", "cam_1");
  check_file("calib/camera_array.toml", NULL, "0", "1");
  mhrfit_calib_options mm = {.translation_unit = "mm"};
  check_file("calib/anipose_mm.toml", &mm, "left", "right");
  check_file("calib/calib.json", NULL, "left", "right");
  mhrfit_calib_options inv = {.invert_extrinsics = true};
  check_file("calib/camera_to_world.toml", &inv, "cam_0", "cam_1");
}

static void test_pose2sim_real(void) {
  mhrfit_error err = {0};
  mhrfit_calib *cal = mhrfit_calib_load(TESTDATA("pose2sim_a948c20/S00_Calibration/Calib_qualisys.toml"), NULL, &err);
  if (!cal) fprintf(stderr, "%s\n", err.message);
  REQUIRE(cal && cal->n_cams == 4);
  const mhrfit_camera *c = &cal->cams[0];
  CHECK_STR(c->name, "cam_01");
  CHECK(c->width == 1088 && c->height == 1920);
  CHECK(c->K[0] == 1681.244873046875 && c->K[2] == 532.97369384375 && c->K[4] == 1681.075439453125 &&
        c->K[5] == 948.137390140625);
  CHECK(c->n_dist == 4 && c->dist[0] == -0.000721609375 && c->dist[3] == 1.078125e-05 && c->dist[4] == 0);
  CHECK(c->t[0] == 0.3211048899999996 && c->t[2] == 2.8907130499999996);
  double r[3] = {1.6882754799999993, 1.0483220499999997, -0.41955852000000016}, R[9];
  mhrfit_rodrigues_to_matrix(r, R);
  for (int i = 0; i < 9; i++) CHECK(c->R[i] == R[i]);
  /* selection by name, in the requested order */
  const char *names[2] = {"cam_03", "cam_01"};
  mhrfit_calib *sel = mhrfit_calib_select(cal, names, 2, &err);
  REQUIRE(sel && sel->n_cams == 2);
  CHECK_STR(sel->cams[0].name, "cam_03");
  CHECK_STR(sel->cams[1].name, "cam_01");
  mhrfit_calib_free(sel);
  const char *bad[1] = {"cam_1"}; /* no wildcard guessing: cam_1 is not cam_01 */
  CHECK(!mhrfit_calib_select(cal, bad, 1, &err) && err.type == MHRFIT_ERR_NOT_FOUND);
  CHECK_CONTAINS(err.message, "no camera named 'cam_1' (cameras: cam_01, cam_02, cam_03, cam_04)");
  CHECK(mhrfit_calib_find(cal, "cam_04") == 3 && mhrfit_calib_find(cal, "metadata") == -1);
  mhrfit_calib_free(cal);
}

static void expect_error(const char *doc, mhrfit_error_type type, const char *needle) {
  mhrfit_error err = {0};
  mhrfit_value *v = mhrfit_toml_parse(doc, strlen(doc), "bad.toml", &err);
  REQUIRE(v);
  mhrfit_calib *cal = mhrfit_calib_from_value(v, "bad.toml", NULL, &err);
  CHECK(cal == NULL);
  mhrfit_calib_free(cal);
  mhrfit_value_free(v);
  CHECK(err.type == type);
  CHECK_CONTAINS(err.message, needle);
}

#define GOOD_K "matrix = [[1000, 0, 500], [0, 1000, 400], [0, 0, 1]]\n"
#define GOOD_RT "rotation = [0.1, 0.2, 0.3]\ntranslation = [0, 0, 3]\n"

static void test_bad_input(void) {
  expect_error("[cam_1]\n" GOOD_K "translation = [0, 0, 3]\n", MHRFIT_ERR_FORMAT, "table [cam_1]: field 'rotation': missing");
  expect_error("[cam_1]\n" GOOD_K "rotation = [0.1, nan, 0.3]\ntranslation = [0, 0, 3]\n", MHRFIT_ERR_FORMAT,
               "bad.toml:3: table [cam_1]: field 'rotation'");
  expect_error("[cam_1]\nmatrix = [[1000, 0, 500], [0, 1000, 400]]\n" GOOD_RT, MHRFIT_ERR_FORMAT,
               "field 'matrix': expected a 3x3 matrix");
  expect_error("[cam_1]\n" GOOD_K GOOD_RT "distortions = [0.1, 0.2, 0.3]\n", MHRFIT_ERR_FORMAT,
               "expected 0, 4, 5 or 8");
  expect_error("[cam_1]\n" GOOD_K GOOD_RT "size = [1920]\n", MHRFIT_ERR_FORMAT, "field 'size'");
  expect_error("[cam_1]\n" GOOD_K "rotation = [[1, 0, 0], [0, 1, 0], [0, 0, 2]]\ntranslation = [0, 0, 3]\n",
               MHRFIT_ERR_FORMAT, "not a rotation");
  expect_error("[cam_1]\n" GOOD_K "rotation = [0.1, 0.2, 0.3]\ntranslation = [0, 0, inf]\n", MHRFIT_ERR_FORMAT,
               "field 'translation': holds a non-finite number");
  expect_error("[cam_1]\n" GOOD_K GOOD_RT "distortions = [0.1, 0, 0, 0]\nfisheye = true\n", MHRFIT_ERR_UNSUPPORTED,
               "fisheye");
  expect_error("[metadata]\nerror = 0.0\n", MHRFIT_ERR_NOT_FOUND, "no camera table");
  expect_error("[cam_1]\nmatrix = [[-5, 0, 500], [0, 1000, 400], [0, 0, 1]]\n" GOOD_RT, MHRFIT_ERR_FORMAT,
               "not an intrinsic matrix");
  mhrfit_error err = {0};
  CHECK(!mhrfit_calib_load("/nonexistent/calib.toml", NULL, &err) && err.type == MHRFIT_ERR_IO);
  mhrfit_calib_options o = {.translation_unit = "furlong"};
  CHECK(!mhrfit_calib_load(FIXTURE("calib/calib.json"), &o, &err) && err.type == MHRFIT_ERR_ARGUMENT);
  /* a NumPy archive given as the calibration: said to be binary, not a TOML syntax error */
  char path[] = "/tmp/mhrfit_calib_XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  static const char zip[] = "PK\x03\x04\x14\x00\x00\x00\x08\x00";
  REQUIRE(write(fd, zip, sizeof zip - 1) == (ssize_t)(sizeof zip - 1));
  close(fd);
  err = (mhrfit_error){0};
  CHECK(!mhrfit_calib_load(path, NULL, &err) && err.type == MHRFIT_ERR_FORMAT);
  CHECK_CONTAINS(err.message, "not a calibration file: it holds binary data (a zip or .npz archive)");
  unlink(path);
}

/* Defect 10: a calibration table without 'matrix' was reported as "no camera named 'cam_1'". */
static void test_table_without_matrix_is_named(void) {
  const char *doc = "[cam_0]\n" GOOD_K GOOD_RT "\n[cam_1]\n" GOOD_RT "size = [1920, 1080]\n";
  mhrfit_error err = {0};
  mhrfit_value *v = mhrfit_toml_parse(doc, strlen(doc), "calib.toml", &err);
  REQUIRE(v);
  mhrfit_calib *cal = mhrfit_calib_from_value(v, "calib.toml", NULL, &err);
  mhrfit_value_free(v);
  REQUIRE(cal && cal->n_cams == 1);
  const char *names[2] = {"cam_0", "cam_1"};
  CHECK(!mhrfit_calib_select(cal, names, 2, &err) && err.type == MHRFIT_ERR_FORMAT);
  CHECK_CONTAINS(err.message, "calib.toml:6: table [cam_1]: field 'matrix': missing");
  CHECK(!strstr(err.message, "no camera named"));
  const char *other[1] = {"cam_9"}; /* a name that is no table at all keeps its message */
  CHECK(!mhrfit_calib_select(cal, other, 1, &err) && err.type == MHRFIT_ERR_NOT_FOUND);
  CHECK_CONTAINS(err.message, "no camera named 'cam_9' (cameras: cam_0)");
  mhrfit_calib_free(cal);
}

static int n_warnings;
static char last_warning[512];
static void on_warn(void *user, const char *msg) {
  (void)user;
  n_warnings++;
  snprintf(last_warning, sizeof last_warning, "%s", msg);
}

/* Defect 10: a missing 'distortions' was silently taken as zero. */
static void test_missing_distortions_warns(void) {
  const char *doc = "[a]\n" GOOD_K GOOD_RT "\n[b]\n" GOOD_K GOOD_RT "distortions = []\n\n[c]\n" GOOD_K GOOD_RT;
  mhrfit_error err = {0};
  mhrfit_value *v = mhrfit_toml_parse(doc, strlen(doc), "cal.toml", &err);
  REQUIRE(v);
  mhrfit_calib_options o = {.warn = on_warn};
  mhrfit_calib *cal = mhrfit_calib_from_value(v, "cal.toml", &o, &err);
  mhrfit_value_free(v);
  REQUIRE(cal && cal->n_cams == 3);
  CHECK(cal->cams[0].dist_missing && !cal->cams[1].dist_missing && cal->cams[0].n_dist == 0);
  n_warnings = 0;
  const char *ab[2] = {"b", "a"}; /* only selected cameras warn; 'distortions = []' says "none" */
  mhrfit_calib *sel = mhrfit_calib_select(cal, ab, 2, &err);
  CHECK(sel && n_warnings == 1);
  CHECK_CONTAINS(last_warning, "cal.toml: camera 'a': no 'distortions' field");
  mhrfit_calib_free(sel);
  mhrfit_calib_free(cal);
}

/* Defect 10: absurd but finite calibrations (Rodrigues 1e308, k1 = 1e300) were accepted. */
static void test_absurd_values_refused(void) {
  expect_error("[cam_1]\n" GOOD_K "rotation = [1e308, 0, 0]\ntranslation = [0, 0, 3]\n", MHRFIT_ERR_FORMAT,
               "bad.toml:3: table [cam_1]: field 'rotation': a Rodrigues vector of length 1e+308 rad");
  expect_error("[cam_1]\n" GOOD_K "rotation = [0, 7, 0]\ntranslation = [0, 0, 3]\n", MHRFIT_ERR_FORMAT,
               "field 'rotation': a Rodrigues vector of length 7 rad");
  expect_error("[cam_1]\n" GOOD_K GOOD_RT "distortions = [1e300, 0, 0, 0]\n", MHRFIT_ERR_FORMAT,
               "field 'distortions': k1 = 1e+300 is not a lens distortion");
  expect_error("[cam_1]\n" GOOD_K GOOD_RT "distortions = [0.1, 0, 0, 0, 5e3]\n", MHRFIT_ERR_FORMAT,
               "field 'distortions': k3 = 5000");
  expect_error("[cam_1]\nmatrix = [[1e9, 0, 500], [0, 1e9, 400], [0, 0, 1]]\n" GOOD_RT, MHRFIT_ERR_FORMAT,
               "field 'matrix': fx = 1e+09");
  expect_error("[cam_1]\nmatrix = [[1000, 0, 5e7], [0, 1000, 400], [0, 0, 1]]\n" GOOD_RT, MHRFIT_ERR_FORMAT,
               "cx = 5e+07");
  expect_error("[cam_1]\n" GOOD_K "rotation = [0.1, 0.2, 0.3]\ntranslation = [0, 0, 1e200]\n", MHRFIT_ERR_FORMAT,
               "field 'translation': 1e+200 m is not a camera position");
  /* a calibration in millimetres is still read (up to 1e5 m); rotations up to one full turn too */
  const char *mm = "[cam_1]\n" GOOD_K "rotation = [0, 6.2, 0]\ntranslation = [1200, -300, 3500]\n";
  mhrfit_error err = {0};
  mhrfit_value *v = mhrfit_toml_parse(mm, strlen(mm), "mm.toml", &err);
  REQUIRE(v);
  mhrfit_calib *cal = mhrfit_calib_from_value(v, "mm.toml", NULL, &err);
  CHECK(cal && cal->cams[0].t[2] == 3500);
  mhrfit_calib_free(cal);
  mhrfit_value_free(v);
}

int main(void) {
  RUN(load_expected);
  RUN(test_dialects);
  RUN(test_pose2sim_real);
  RUN(test_bad_input);
  RUN(test_table_without_matrix_is_named);
  RUN(test_missing_distortions_warns);
  RUN(test_absurd_values_refused);
  return test_report();
}
