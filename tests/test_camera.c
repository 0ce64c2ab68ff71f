/* Tests of the camera model against OpenCV (tools/make_camera_fixtures.py): projection,
 * Rodrigues both ways, the analytic Jacobian, undistortion, extrinsics inversion; the internal fast
 * paths (geom/camera_internal.h) against the general formulas, bit for bit. */
#include "harness.h"

#include <math.h>

#include "geom/camera_internal.h"
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

/* The projection written out with every term (the rational denominator, the skew), as the model
 * in camera.h states it: the fast paths skip terms that are exactly 1 or 0 and must give the same
 * bits. */
static bool ref_project(const mhrfit_camera *cam, const double X[3], double uv[2], double J[6]) {
  const double *R = cam->R, *k = cam->dist, *K = cam->K;
  double Xc = R[0] * X[0] + R[1] * X[1] + R[2] * X[2] + cam->t[0];
  double Yc = R[3] * X[0] + R[4] * X[1] + R[5] * X[2] + cam->t[1];
  double Zc = R[6] * X[0] + R[7] * X[1] + R[8] * X[2] + cam->t[2];
  if (!(Zc > 1e-12)) return false;
  double iz = 1.0 / Zc, x = Xc * iz, y = Yc * iz;
  double r2 = x * x + y * y, r4 = r2 * r2, r6 = r4 * r2;
  double a = 1.0 + k[0] * r2 + k[1] * r4 + k[4] * r6, b = 1.0 + k[5] * r2 + k[6] * r4 + k[7] * r6, g = a / b;
  double p1 = k[2], p2 = k[3];
  double xd0 = x * g + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x);
  double xd1 = y * g + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y;
  uv[0] = K[0] * xd0 + K[1] * xd1 + K[2];
  uv[1] = K[4] * xd1 + K[5];
  double da = k[0] + 2.0 * k[1] * r2 + 3.0 * k[4] * r4, db = k[5] + 2.0 * k[6] * r2 + 3.0 * k[7] * r4;
  double dg = (da * b - a * db) / (b * b);
  double Jd[4] = {g + 2.0 * x * x * dg + 2.0 * p1 * y + 6.0 * p2 * x, 2.0 * x * y * dg + 2.0 * p1 * x + 2.0 * p2 * y,
                  2.0 * x * y * dg + 2.0 * p1 * x + 2.0 * p2 * y, g + 2.0 * y * y * dg + 6.0 * p1 * y + 2.0 * p2 * x};
  double A[4] = {K[0] * Jd[0] + K[1] * Jd[2], K[0] * Jd[1] + K[1] * Jd[3], K[4] * Jd[2], K[4] * Jd[3]};
  double B[6] = {A[0] * iz, A[1] * iz, -(A[0] * x + A[1] * y) * iz,
                 A[2] * iz, A[3] * iz, -(A[2] * x + A[3] * y) * iz};
  for (int r = 0; r < 2; r++)
    for (int c = 0; c < 3; c++) J[3 * r + c] = B[3 * r] * R[c] + B[3 * r + 1] * R[3 + c] + B[3 * r + 2] * R[6 + c];
  return true;
}

/* Cameras covering the fast paths: no distortion, polynomial (k4..k6 = 0) without skew, rational
 * with skew, strong barrel. */
static void fast_path_cameras(mhrfit_camera cams[4]) {
  double I[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
  double dists[4][8] = {{0}, {-0.08, 0.02, 0.0005, -0.0003, 0, 0, 0, 0},
                        {-0.1, 0.03, 0.001, 0.0004, -0.005, 0.01, -0.002, 0.0005},
                        {-0.33, 0.12, 0.001, -0.0005, -0.02, 0, 0, 0}};
  for (int i = 0; i < 4; i++) {
    memset(&cams[i], 0, sizeof cams[i]);
    snprintf(cams[i].name, sizeof cams[i].name, "c%d", i);
    double K[9] = {1500 + 10 * i, i == 2 ? 0.7 : 0, 960 + i, 0, 1495 - 5 * i, 540 - i, 0, 0, 1};
    memcpy(cams[i].K, K, sizeof K);
    memcpy(cams[i].dist, dists[i], sizeof dists[i]);
    memcpy(cams[i].R, I, sizeof I);
    cams[i].t[2] = 0.1 * i;
  }
}

static void test_fast_projection_bits(void) {
  mhrfit_camera cams[4];
  fast_path_cameras(cams);
  int n = 0, same = 0;
  for (int i = 0; i < 4; i++) {
    mf_cam_kind kind = mf_camera_kind(&cams[i]);
    CHECK(kind.no_dist == (i == 0));
    CHECK(kind.poly == (i != 2));
    for (double x = -0.9; x <= 0.9; x += 0.15)
      for (double y = -0.5; y <= 0.5; y += 0.125) {
        double X[3] = {x * 3, y * 3, 3}, uv_ref[2], J_ref[6], uv[2], J[6], uv_pub[2], J_pub[6];
        REQUIRE(ref_project(&cams[i], X, uv_ref, J_ref));
        mf_cam_proj c = {0};
        CHECK(mf_camera_project_cached(&cams[i], kind.poly, X, uv, &c));
        mf_camera_project_jacobian(&cams[i], &c, J);
        CHECK(mhrfit_camera_project(&cams[i], X, uv_pub, J_pub));
        n++;
        same += !memcmp(uv, uv_ref, sizeof uv) && !memcmp(J, J_ref, sizeof J) && !memcmp(uv_pub, uv_ref, sizeof uv) &&
                !memcmp(J_pub, J_ref, sizeof J);
      }
  }
  printf("  %d of %d projections and Jacobians bit-identical to the full formula\n", same, n);
  CHECK(same == n);
  double behind[3] = {0, 0, -1}, uv[2];
  mf_cam_proj c = {.in_front = true};
  CHECK(!mf_camera_project_cached(&cams[1], true, behind, uv, &c));
  CHECK(!c.in_front && isnan(uv[0]) && isnan(uv[1]));
}

/* The batched undistortion gives, per observation, the bits of the one-at-a-time public path (and
 * its success flag), the distortion Jacobian at the solution, and leaves unrequested entries. */
static void test_batch_undistortion_bits(void) {
  mhrfit_camera cams[4], bc[40];
  fast_path_cameras(cams);
  mf_cam_kind kinds[40];
  double uv[80], xn[40][2], Jd[40][4];
  bool todo[40], ok[40];
  for (int i = 0; i < 40; i++) {
    bc[i] = cams[i % 4];
    kinds[i] = mf_camera_kind(&bc[i]);
    uv[2 * i] = 20.0 + 47.0 * i;
    uv[2 * i + 1] = 1060.0 - 26.0 * i;
    todo[i] = i % 7 != 3;
    xn[i][0] = xn[i][1] = -7.0;
    ok[i] = true;
  }
  uv[2 * 5] = NAN; /* not finite */
  uv[2 * 11] = 963.0 + 3.0 * 1530.0; /* xd = (3, 0) for the strong barrel camera: no solution */
  uv[2 * 11 + 1] = 537.0;
  mf_camera_pixel_to_normalized_jac_n(bc, kinds, uv, 40, todo, xn, Jd, ok);
  int checked = 0;
  for (int i = 0; i < 40; i++) {
    if (!todo[i]) {
      CHECK(xn[i][0] == -7.0 && xn[i][1] == -7.0 && ok[i]);
      continue;
    }
    double ref[2], xd[2], Jref[4];
    bool ok_ref = mhrfit_camera_pixel_to_normalized(&bc[i], uv + 2 * i, ref, NULL);
    CHECK(ok[i] == ok_ref);
    if (i == 5 || i == 11) CHECK(!ok[i]);
    if (!ok_ref) continue;
    CHECK(!memcmp(xn[i], ref, sizeof ref));
    mhrfit_camera_distort_jacobian(&bc[i], xn[i], xd, Jref);
    CHECK(!memcmp(Jd[i], Jref, sizeof Jref));
    checked++;
  }
  printf("  %d observations bit-identical to mhrfit_camera_pixel_to_normalized\n", checked);
  CHECK(checked >= 30);
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
  RUN(test_fast_projection_bits);
  RUN(test_batch_undistortion_bits);
  RUN(test_rodrigues_vs_opencv);
  RUN(test_invert_extrinsics);
  return test_report();
}
