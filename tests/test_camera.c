/* Tests of the camera model against OpenCV (tools/make_camera_fixtures.py): projection,
 * Rodrigues both ways, the analytic Jacobian, undistortion, extrinsics inversion. */
#include "harness.h"

#include <math.h>

#include "mhrfit/camera.h"

typedef struct cam_block {
  mhrfit_camera cam;
  int n;
  double X[64][3], uv[64][2];
} cam_block;

/* Reads the next camera block; false at end of file. */
static bool read_block(FILE *f, cam_block *b) {
  double fx, fy, cx, cy, skew, d[8], r[3], t[3];
  int nd;
  if (fscanf(f, " cam %lf %lf %lf %lf %lf %d", &fx, &fy, &cx, &cy, &skew, &nd) != 6) return false;
  for (int i = 0; i < 8; i++)
    if (fscanf(f, "%lf", &d[i]) != 1) return false;
  for (int i = 0; i < 3; i++)
    if (fscanf(f, "%lf", &r[i]) != 1) return false;
  for (int i = 0; i < 3; i++)
    if (fscanf(f, "%lf", &t[i]) != 1) return false;
  if (fscanf(f, "%d", &b->n) != 1 || b->n > 64) return false;
  memset(&b->cam, 0, sizeof b->cam);
  double K[9] = {fx, skew, cx, 0, fy, cy, 0, 0, 1};
  memcpy(b->cam.K, K, sizeof K);
  memcpy(b->cam.dist, d, sizeof d);
  b->cam.n_dist = nd;
  mhrfit_rodrigues_to_matrix(r, b->cam.R);
  memcpy(b->cam.t, t, sizeof t);
  snprintf(b->cam.name, sizeof b->cam.name, "fixture");
  for (int i = 0; i < b->n; i++)
    if (fscanf(f, "%lf %lf %lf %lf %lf", &b->X[i][0], &b->X[i][1], &b->X[i][2], &b->uv[i][0], &b->uv[i][1]) != 5)
      return false;
  return true;
}

static void test_projection_vs_opencv(void) {
  FILE *f = fopen(FIXTURE("camera/projection.txt"), "r");
  REQUIRE(f);
  static cam_block b;
  int blocks = 0;
  double worst = 0;
  while (read_block(f, &b)) {
    blocks++;
    for (int i = 0; i < b.n; i++) {
      double uv[2];
      CHECK(mhrfit_camera_project(&b.cam, b.X[i], uv, NULL));
      double e = hypot(uv[0] - b.uv[i][0], uv[1] - b.uv[i][1]);
      if (e > worst) worst = e;
    }
  }
  fclose(f);
  CHECK(blocks == 4);
  printf("  max |ours - cv2.projectPoints| = %.3g px\n", worst);
  CHECK(worst <= 1e-9);
}

static void test_jacobian(void) {
  FILE *f = fopen(FIXTURE("camera/projection.txt"), "r");
  REQUIRE(f);
  static cam_block b;
  double worst = 0;
  while (read_block(f, &b)) {
    for (int i = 0; i < b.n; i += 5) {
      double uv[2], J[6];
      REQUIRE(mhrfit_camera_project(&b.cam, b.X[i], uv, J));
      for (int c = 0; c < 3; c++) {
        double h = 1e-6, Xp[3], Xm[3], up[2], um[2];
        memcpy(Xp, b.X[i], sizeof Xp);
        memcpy(Xm, b.X[i], sizeof Xm);
        Xp[c] += h;
        Xm[c] -= h;
        mhrfit_camera_project(&b.cam, Xp, up, NULL);
        mhrfit_camera_project(&b.cam, Xm, um, NULL);
        for (int r = 0; r < 2; r++) {
          double fd = (up[r] - um[r]) / (2 * h);
          double rel = fabs(fd - J[3 * r + c]) / (fabs(fd) + 1.0);
          if (rel > worst) worst = rel;
        }
      }
    }
  }
  fclose(f);
  printf("  max relative |J - finite difference| = %.3g\n", worst);
  CHECK(worst < 1e-6);
}

static void test_undistort_round_trip(void) {
  mhrfit_camera cam = {.name = "strong"};
  double K[9] = {1500, 0, 960, 0, 1495, 540, 0, 0, 1};
  memcpy(cam.K, K, sizeof K);
  double d[8] = {-0.33, 0.12, 0.001, -0.0005, -0.02, 0, 0, 0};
  memcpy(cam.dist, d, sizeof d);
  double worst = 0;
  int n = 0;
  /* A grid over normalised coordinates whose distorted images cover a 1920x1080 image. */
  for (double x = -0.62; x <= 0.62; x += 0.031)
    for (double y = -0.35; y <= 0.35; y += 0.035) {
      double xn[2] = {x, y}, xd[2], back[2];
      mhrfit_camera_distort(&cam, xn, xd);
      mhrfit_error err = {0};
      CHECK(mhrfit_camera_undistort(&cam, xd, back, &err));
      double e = hypot(back[0] - x, back[1] - y);
      if (e > worst) worst = e;
      n++;
    }
  printf("  %d points, max |undistort(distort(x)) - x| = %.3g\n", n, worst);
  CHECK(worst <= 1e-9);
  /* pixel -> normalised -> pixel */
  double uv[2] = {10.0, 1070.0}, xn[2], X[3], back[2];
  mhrfit_error err = {0};
  double I[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
  memcpy(cam.R, I, sizeof I);
  CHECK(mhrfit_camera_pixel_to_normalized(&cam, uv, xn, &err));
  X[0] = xn[0] * 3;
  X[1] = xn[1] * 3;
  X[2] = 3;
  CHECK(mhrfit_camera_project(&cam, X, back, NULL));
  CHECK_NEAR(back[0], uv[0], 1e-8);
  CHECK_NEAR(back[1], uv[1], 1e-8);
  /* No solution: with k1 = -0.33 the radial map folds back beyond r ~ 1.3; ask for far outside. */
  double far[2] = {3.0, 0.0}, out[2];
  CHECK(!mhrfit_camera_undistort(&cam, far, out, &err));
  CHECK(err.type == MHRFIT_ERR_NUMERIC);
  CHECK_CONTAINS(err.message, "did not converge");
  double nan2[2] = {NAN, 0.0};
  CHECK(!mhrfit_camera_undistort(&cam, nan2, out, &err));
}

static void test_behind_camera(void) {
  mhrfit_camera cam = {.name = "c"};
  double K[9] = {1000, 0, 500, 0, 1000, 500, 0, 0, 1}, I[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
  memcpy(cam.K, K, sizeof K);
  memcpy(cam.R, I, sizeof I);
  double X[3] = {0, 0, -1}, uv[2], J[6];
  CHECK(!mhrfit_camera_project(&cam, X, uv, J));
  CHECK(isnan(uv[0]) && isnan(J[0]));
  double Xn[3] = {NAN, 0, 1};
  CHECK(!mhrfit_camera_project(&cam, Xn, uv, NULL));
}

static void test_rodrigues_vs_opencv(void) {
  FILE *f = fopen(FIXTURE("camera/rodrigues.txt"), "r");
  REQUIRE(f);
  double v[12];
  int n = 0;
  double worst_m = 0, worst_v = 0;
  while (fscanf(f, "%lf %lf %lf %lf %lf %lf %lf %lf %lf %lf %lf %lf", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
                &v[7], &v[8], &v[9], &v[10], &v[11]) == 12) {
    double R[9], r[3];
    mhrfit_rodrigues_to_matrix(v, R);
    for (int i = 0; i < 9; i++) worst_m = fmax(worst_m, fabs(R[i] - v[3 + i]));
    mhrfit_matrix_to_rodrigues(v + 3, r);
    /* near pi, r and -r are the same rotation: compare the rotations they make */
    double R2[9];
    mhrfit_rodrigues_to_matrix(r, R2);
    for (int i = 0; i < 9; i++) worst_v = fmax(worst_v, fabs(R2[i] - v[3 + i]));
    double th = sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
    if (th < 3.0) /* away from pi the vector itself is unique */
      for (int i = 0; i < 3; i++) worst_v = fmax(worst_v, fabs(r[i] - v[i]));
    n++;
  }
  fclose(f);
  CHECK(n == 13);
  printf("  Rodrigues: max matrix diff %.3g, max round-trip diff %.3g\n", worst_m, worst_v);
  CHECK(worst_m <= 1e-12);
  CHECK(worst_v <= 1e-9);
}

static void test_invert_extrinsics(void) {
  mhrfit_camera cam = {.name = "c"};
  double r[3] = {0.3, -1.2, 0.5};
  mhrfit_rodrigues_to_matrix(r, cam.R);
  cam.t[0] = 0.1;
  cam.t[1] = -2;
  cam.t[2] = 3;
  mhrfit_camera orig = cam;
  double C[3];
  mhrfit_camera_center(&cam, C);
  mhrfit_camera_invert_extrinsics(&cam);
  for (int i = 0; i < 3; i++) CHECK_NEAR(cam.t[i], C[i], 1e-12); /* camera->world translation = centre */
  mhrfit_camera_invert_extrinsics(&cam);
  for (int i = 0; i < 9; i++) CHECK_NEAR(cam.R[i], orig.R[i], 1e-15);
  for (int i = 0; i < 3; i++) CHECK_NEAR(cam.t[i], orig.t[i], 1e-14);
}

int main(void) {
  RUN(test_projection_vs_opencv);
  RUN(test_jacobian);
  RUN(test_undistort_round_trip);
  RUN(test_behind_camera);
  RUN(test_rodrigues_vs_opencv);
  RUN(test_invert_extrinsics);
  return test_report();
}
