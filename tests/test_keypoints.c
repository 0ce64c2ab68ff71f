/* MHR70 keypoint maps: joint keypoints, surface markers calibrated on real SAM 3D Body outputs
 * (DATA.md §2.5), user mappings over vertices and joints, and the sparse Jacobian against central
 * finite differences. */
#include "harness.h"

#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "mhrfit/keypoints.h"
#include "mhrfit/npy.h"
#include "mhrfit/rig.h"
#include "mhrfit/sam3d.h"

static mhrfit_rig *rig;
static double R[127 * 9], T[127 * 3], S[127];
static mhrfit_fk_pose pose = {R, T, S};

static void load(void) {
  mhrfit_error err = {0};
  rig = mhrfit_rig_load(th_env_or("MHRFIT_ASSETS", "../shared/mhr"), -1, &err);
  if (!rig) fprintf(stderr, "%s\n", err.message);
  REQUIRE(rig);
}

/* model parameters and native-cm keypoints of one test-data subject */
static bool subject(int subj, double m[204], double kp[210]) {
  char rel[64];
  snprintf(rel, sizeof rel, "mhr_sam3d_body_outputs/img_subj%02d.npz", subj);
  mhrfit_error err = {0};
  mhrfit_value *d = mhrfit_npz_load(TESTDATA(rel), NULL, &err);
  if (!d) return false;
  bool ok = mhrfit_sam3d_model_params(d, m, NULL, &err);
  const mhrfit_value *k3 = mhrfit_value_dict_get(d, "pred_keypoints_3d");
  ok = ok && k3 && k3->u.array->count == 210;
  for (int k = 0; ok && k < 70; k++) {
    double sam[3];
    for (int a = 0; a < 3; a++) sam[a] = mhrfit_array_get_f64(k3->u.array, (size_t)(3 * k + a));
    mhrfit_sam3d_to_mhr(sam, kp + 3 * k);
  }
  mhrfit_value_free(d);
  return ok;
}

static void test_joint_keypoints(void) {
  REQUIRE(rig);
  mhrfit_error err = {0};
  mhrfit_kpmap *map = mhrfit_kpmap_new_mhr70(rig, &err);
  REQUIRE(map);
  double m[204], kps[210], a[210], b[210];
  REQUIRE(subject(1, m, kps));
  REQUIRE(mhrfit_rig_fk(rig, m, &pose, NULL, &err));
  mhrfit_kpmap_eval(map, &pose, a);
  CHECK(mhrfit_mhr70_from_joints(&pose, b) == 49);
  int same = 0, undefined = 0;
  for (int k = 0; k < 70; k++) {
    if (isnan(b[3 * k])) {
      undefined += isnan(a[3 * k]) && !mhrfit_kpmap_defined(map, (size_t)k);
      CHECK(mhrfit_mhr70_marker_joint(k) != NULL);
    } else {
      same += fabs(a[3 * k] - b[3 * k]) < 1e-12 && fabs(a[3 * k + 2] - b[3 * k + 2]) < 1e-12;
      CHECK(mhrfit_mhr70_marker_joint(k) == NULL);
    }
  }
  CHECK(same == 49);
  CHECK(undefined == 21);
  mhrfit_kpmap_free(map);
}

/* Markers calibrated on one subject reproduce it exactly, and the other subjects within the
 * spreads of the table in keypoints.h. */
static void test_markers(void) {
  REQUIRE(rig);
  mhrfit_error err = {0};
  mhrfit_kpmap *map = mhrfit_kpmap_new_mhr70(rig, &err);
  REQUIRE(map);
  double m[3][204], kp[3][210], out[210];
  for (int s = 0; s < 3; s++) REQUIRE(subject(s, m[s], kp[s]));
  REQUIRE(mhrfit_rig_fk(rig, m[0], &pose, NULL, &err));
  CHECK(mhrfit_kpmap_calibrate_markers(map, rig, &pose, kp[0], &err) == 21);
  mhrfit_kpmap_eval(map, &pose, out);
  double self = 0;
  for (int i = 0; i < 210; i++) self = fmax(self, fabs(out[i] - kp[0][i]));
  printf("  calibrated on img_subj00: max error on itself %.3g cm\n", self);
  CHECK(self < 1e-4); /* float32 keypoints in metres */
  for (int s = 1; s < 3; s++) {
    REQUIRE(mhrfit_rig_fk(rig, m[s], &pose, NULL, &err));
    mhrfit_kpmap_eval(map, &pose, out);
    double worst = 0, sum = 0;
    for (int k = 0; k < 70; k++) {
      if (!mhrfit_mhr70_marker_joint(k)) continue;
      double d = sqrt(pow(out[3 * k] - kp[s][3 * k], 2) + pow(out[3 * k + 1] - kp[s][3 * k + 1], 2) +
                      pow(out[3 * k + 2] - kp[s][3 * k + 2], 2));
      worst = fmax(worst, d);
      sum += d;
    }
    printf("  markers of img_subj00 on img_subj%02d: mean %.2f cm, max %.2f cm\n", s, sum / 21, worst);
    CHECK(worst < 2.0);
    CHECK(sum / 21 < 1.0);
  }
  /* a non-finite target leaves that marker undefined; a clone keeps the calibration */
  kp[0][3 * 13] = NAN;
  REQUIRE(mhrfit_rig_fk(rig, m[0], &pose, NULL, &err));
  CHECK(mhrfit_kpmap_calibrate_markers(map, rig, &pose, kp[0], &err) == 20);
  CHECK(!mhrfit_kpmap_defined(map, 13) && mhrfit_kpmap_defined(map, 14));
  mhrfit_kpmap *c = mhrfit_kpmap_clone(map, &err);
  REQUIRE(c);
  double o2[210];
  mhrfit_kpmap_eval(map, &pose, out);
  mhrfit_kpmap_eval(c, &pose, o2);
  int eq = 0;
  for (int i = 0; i < 210; i++) eq += out[i] == o2[i] || (isnan(out[i]) && isnan(o2[i]));
  CHECK(eq == 210);
  mhrfit_kpmap_free(c);
  mhrfit_kpmap_free(map);
}

/* The built-in anatomical markers against SAM 3D Body's own surface keypoints of three subjects. */
static void test_default_markers(void) {
  REQUIRE(rig);
  mhrfit_error err = {0};
  mhrfit_kpmap *map = mhrfit_kpmap_new_mhr70(rig, &err);
  REQUIRE(map);
  CHECK(mhrfit_kpmap_calibrate_default(map, rig, &err) == 21);
  for (int k = 0; k < 70; k++) CHECK(mhrfit_kpmap_defined(map, (size_t)k));
  double m[204], kp[210], out[210];
  for (int s = 0; s < 3; s++) {
    REQUIRE(subject(s, m, kp));
    REQUIRE(mhrfit_rig_fk(rig, m, &pose, NULL, &err));
    mhrfit_kpmap_eval(map, &pose, out);
    double worst = 0, sum = 0;
    for (int k = 0; k < 70; k++) {
      if (!mhrfit_mhr70_marker_joint(k)) continue;
      double d = sqrt(pow(out[3 * k] - kp[3 * k], 2) + pow(out[3 * k + 1] - kp[3 * k + 1], 2) +
                      pow(out[3 * k + 2] - kp[3 * k + 2], 2));
      worst = fmax(worst, d);
      sum += d;
    }
    printf("  built-in markers on img_subj%02d: mean %.2f cm, max %.2f cm\n", s, sum / 21, worst);
    CHECK(sum / 21 < 1.0);
    CHECK(worst < 2.5);
  }
  mhrfit_kpmap_free(map);
}

/* Sparse keypoint Jacobian against central differences at a real pose, all 204 parameters. */
static void check_jacobian(mhrfit_kpmap *map, const double *m0, const char *what) {
  mhrfit_error err = {0};
  double jp[889], m[204];
  REQUIRE(mhrfit_rig_fk(rig, m0, &pose, jp, &err));
  size_t nk = map->n_keypoints, nnz = map->col_start[nk];
  double *J = malloc(3 * nnz * sizeof *J), *dense = calloc(3 * nk * 204, sizeof *dense);
  double *kp1 = malloc(3 * nk * sizeof *kp1), *kp2 = malloc(3 * nk * sizeof *kp2);
  REQUIRE(J && dense && kp1 && kp2);
  mhrfit_kpmap_jacobian(map, rig, &pose, jp, J);
  for (size_t k = 0; k < nk; k++) {
    size_t nc = map->col_start[k + 1] - map->col_start[k];
    for (size_t c = 0; c < nc; c++)
      for (int a = 0; a < 3; a++)
        dense[(3 * k + (size_t)a) * 204 + (size_t)map->cols[map->col_start[k] + c]] = J[3 * map->col_start[k] + a * nc + c];
  }
  double worst = 0, scale = 0;
  int missing = 0;
  for (int p = 0; p < 204; p++) {
    const double h = 1e-6;
    memcpy(m, m0, sizeof m);
    m[p] += h;
    REQUIRE(mhrfit_rig_fk(rig, m, &pose, NULL, &err));
    mhrfit_kpmap_eval(map, &pose, kp1);
    m[p] -= 2 * h;
    REQUIRE(mhrfit_rig_fk(rig, m, &pose, NULL, &err));
    mhrfit_kpmap_eval(map, &pose, kp2);
    for (size_t i = 0; i < 3 * nk; i++) {
      if (isnan(kp1[i])) continue;
      double fd = (kp1[i] - kp2[i]) / (2 * h);
      worst = fmax(worst, fabs(fd - dense[i * 204 + (size_t)p]));
      scale = fmax(scale, fabs(fd));
      /* a derivative outside the sparsity pattern would be lost */
      if (fabs(fd) > 1e-6 && dense[i * 204 + (size_t)p] == 0) missing++;
    }
  }
  printf("  %s: %zu non-zero columns over %zu keypoints, max |J - FD| %.3g (max |J| %.3g)\n", what, nnz, nk, worst,
         scale);
  CHECK(missing == 0);
  CHECK(worst < 1e-5 * scale);
  free(J);
  free(dense);
  free(kp1);
  free(kp2);
}

static void test_jacobian(void) {
  REQUIRE(rig);
  mhrfit_error err = {0};
  mhrfit_kpmap *map = mhrfit_kpmap_new_mhr70(rig, &err);
  REQUIRE(map);
  double m[204], kp[210];
  REQUIRE(subject(2, m, kp));
  REQUIRE(mhrfit_rig_fk(rig, m, &pose, NULL, &err));
  CHECK(mhrfit_kpmap_calibrate_markers(map, rig, &pose, kp, &err) == 21);
  REQUIRE(subject(0, m, kp));
  m[0] = 3, m[1] = -2, m[2] = 5; /* a root translation too */
  check_jacobian(map, m, "MHR70 with markers");
  mhrfit_kpmap_free(map);
}

/* A user mapping over vertices and joints equals skinning + joints, and bad files are refused. */
static void test_user_mapping(void) {
  REQUIRE(rig);
  char dir[] = "/tmp/mhrfit_kpmapXXXXXX";
  REQUIRE(mkdtemp(dir));
  char path[256];
  snprintf(path, sizeof path, "%s/map.npz", dir);
  size_t n = 4, one = 1;
  int64_t rows[4] = {0, 1, 1, 2}, cols[4] = {17, 100, (int64_t)rig->n_vertices + 3, (int64_t)rig->n_vertices + 40};
  double w[4] = {1.0, 0.5, 0.5, 1.0}, nv = (double)rig->n_vertices;
  mhrfit_array ar = {MHRFIT_DT_I64, 8, 1, {n}, n, rows}, ac = {MHRFIT_DT_I64, 8, 1, {n}, n, cols};
  mhrfit_array aw = {MHRFIT_DT_F64, 8, 1, {n}, n, w}, anv = {MHRFIT_DT_F64, 8, 0, {0}, one, &nv};
  const char *names[4] = {"rows", "cols", "weights", "n_vertices"};
  const mhrfit_array *arrays[4] = {&ar, &ac, &aw, &anv};
  mhrfit_error err = {0};
  REQUIRE(mhrfit_npz_save(path, 4, names, arrays, false, &err));
  mhrfit_kpmap *map = mhrfit_kpmap_load(path, rig, NULL, 0, &err);
  if (!map) fprintf(stderr, "%s\n", err.message);
  REQUIRE(map);
  CHECK(map->n_keypoints == 3);
  double m[204], kp[210];
  REQUIRE(subject(1, m, kp));
  REQUIRE(mhrfit_rig_fk(rig, m, &pose, NULL, &err));
  double *verts = malloc(3 * rig->n_vertices * sizeof *verts), out[9];
  REQUIRE(verts);
  mhrfit_rig_skin(rig, &pose, verts);
  mhrfit_kpmap_eval(map, &pose, out);
  double worst = 0;
  for (int a = 0; a < 3; a++) {
    worst = fmax(worst, fabs(out[a] - verts[3 * 17 + a]));
    worst = fmax(worst, fabs(out[3 + a] - 0.5 * (verts[3 * 100 + a] + T[3 * 3 + a])));
    worst = fmax(worst, fabs(out[6 + a] - T[3 * 40 + a]));
  }
  printf("  user mapping (2 vertices, 2 joints) vs skinning: max %.3g cm\n", worst);
  CHECK(worst < 1e-9);
  check_jacobian(map, m, "user mapping");
  mhrfit_kpmap_free(map);
  free(verts);
  /* a mapping made for another LOD */
  nv = 18439;
  REQUIRE(mhrfit_npz_save(path, 4, names, arrays, false, &err));
  CHECK(!mhrfit_kpmap_load(path, rig, NULL, 0, &err) && err.type == MHRFIT_ERR_FORMAT);
  CHECK_CONTAINS(err.message, "18439");
  /* a column out of range */
  nv = (double)rig->n_vertices;
  cols[3] = 100000;
  REQUIRE(mhrfit_npz_save(path, 4, names, arrays, false, &err));
  CHECK(!mhrfit_kpmap_load(path, rig, NULL, 0, &err) && err.type == MHRFIT_ERR_FORMAT);
  CHECK_CONTAINS(err.message, "entry 3");
  /* a missing field */
  REQUIRE(mhrfit_npz_save(path, 3, names, arrays, false, &err));
  CHECK(!mhrfit_kpmap_load(path, rig, NULL, 0, &err) && err.type == MHRFIT_ERR_NOT_FOUND);
  CHECK_CONTAINS(err.message, "n_vertices");
  unlink(path);
  rmdir(dir);
}

int main(void) {
  RUN(load);
  RUN(test_joint_keypoints);
  RUN(test_markers);
  RUN(test_default_markers);
  RUN(test_jacobian);
  RUN(test_user_mapping);
  mhrfit_rig_free(rig);
  return test_report();
}
