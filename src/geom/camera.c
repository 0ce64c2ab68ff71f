/* The OpenCV pinhole camera with radial-tangential distortion: see include/mhrfit/camera.h. */
#include <math.h>
#include <string.h>

#include "mhrfit/camera.h"

/* Distortion of normalised (x, y) and, when J is not NULL, its 2x2 Jacobian (row-major). */
static void distort_jac(const double *k, double x, double y, double xd[2], double J[4]) {
  double r2 = x * x + y * y, r4 = r2 * r2, r6 = r4 * r2;
  double a = 1.0 + k[0] * r2 + k[1] * r4 + k[4] * r6;
  double b = 1.0 + k[5] * r2 + k[6] * r4 + k[7] * r6;
  double g = a / b;
  double p1 = k[2], p2 = k[3];
  xd[0] = x * g + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x);
  xd[1] = y * g + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y;
  if (!J) return;
  double da = k[0] + 2.0 * k[1] * r2 + 3.0 * k[4] * r4;
  double db = k[5] + 2.0 * k[6] * r2 + 3.0 * k[7] * r4;
  double dg = (da * b - a * db) / (b * b); /* dg/d(r2) */
  J[0] = g + 2.0 * x * x * dg + 2.0 * p1 * y + 6.0 * p2 * x;
  J[1] = 2.0 * x * y * dg + 2.0 * p1 * x + 2.0 * p2 * y;
  J[2] = 2.0 * x * y * dg + 2.0 * p1 * x + 2.0 * p2 * y;
  J[3] = g + 2.0 * y * y * dg + 6.0 * p1 * y + 2.0 * p2 * x;
}

void mhrfit_camera_distort(const mhrfit_camera *cam, const double xn[2], double xd[2]) {
  distort_jac(cam->dist, xn[0], xn[1], xd, NULL);
}

void mhrfit_camera_distort_jacobian(const mhrfit_camera *cam, const double xn[2], double xd[2], double J[4]) {
  distort_jac(cam->dist, xn[0], xn[1], xd, J);
}

bool mhrfit_camera_project(const mhrfit_camera *cam, const double X[3], double uv[2], double J[6]) {
  const double *R = cam->R;
  double Xc = R[0] * X[0] + R[1] * X[1] + R[2] * X[2] + cam->t[0];
  double Yc = R[3] * X[0] + R[4] * X[1] + R[5] * X[2] + cam->t[1];
  double Zc = R[6] * X[0] + R[7] * X[1] + R[8] * X[2] + cam->t[2];
  if (!(Zc > 1e-12) || !isfinite(Xc) || !isfinite(Yc)) {
    uv[0] = uv[1] = NAN;
    if (J) for (int i = 0; i < 6; i++) J[i] = NAN;
    return false;
  }
  double iz = 1.0 / Zc, x = Xc * iz, y = Yc * iz;
  double xd[2], Jd[4];
  distort_jac(cam->dist, x, y, xd, J ? Jd : NULL);
  const double *K = cam->K;
  uv[0] = K[0] * xd[0] + K[1] * xd[1] + K[2];
  uv[1] = K[4] * xd[1] + K[5];
  if (!J) return isfinite(uv[0]) && isfinite(uv[1]);
  /* d(uv)/d(xd) = [[fx, skew], [0, fy]]; d(x,y)/d(Xc) = [[1/Z, 0, -x/Z], [0, 1/Z, -y/Z]]. */
  double A[4] = {K[0] * Jd[0] + K[1] * Jd[2], K[0] * Jd[1] + K[1] * Jd[3], K[4] * Jd[2], K[4] * Jd[3]};
  double B[6] = {A[0] * iz, A[1] * iz, -(A[0] * x + A[1] * y) * iz,
                 A[2] * iz, A[3] * iz, -(A[2] * x + A[3] * y) * iz};
  for (int r = 0; r < 2; r++)
    for (int c = 0; c < 3; c++) J[3 * r + c] = B[3 * r] * R[c] + B[3 * r + 1] * R[3 + c] + B[3 * r + 2] * R[6 + c];
  return isfinite(uv[0]) && isfinite(uv[1]);
}

bool mhrfit_camera_undistort(const mhrfit_camera *cam, const double xd[2], double xn[2], mhrfit_error *err) {
  if (!isfinite(xd[0]) || !isfinite(xd[1])) {
    xn[0] = xn[1] = NAN;
    return MHRFIT_FAIL(err, MHRFIT_ERR_NUMERIC, "camera '%s': cannot undistort a non-finite point", cam->name);
  }
  double x = xd[0], y = xd[1];
  bool no_dist = true;
  for (int i = 0; i < 8; i++) no_dist = no_dist && cam->dist[i] == 0.0;
  if (no_dist) {
    xn[0] = x;
    xn[1] = y;
    return true;
  }
  /* Newton's method with step halving on the residual norm. */
  double f[2], J[4];
  distort_jac(cam->dist, x, y, f, J);
  double rx = f[0] - xd[0], ry = f[1] - xd[1], res = rx * rx + ry * ry;
  for (int it = 0; it < 100; it++) {
    if (res <= 1e-26) break;
    double det = J[0] * J[3] - J[1] * J[2];
    if (!isfinite(det) || fabs(det) < 1e-14) break;
    double dx = (J[3] * rx - J[1] * ry) / det, dy = (-J[2] * rx + J[0] * ry) / det;
    double step = 1.0;
    bool improved = false;
    for (int h = 0; h < 30; h++, step *= 0.5) {
      double nx = x - step * dx, ny = y - step * dy, nf[2], nJ[4];
      distort_jac(cam->dist, nx, ny, nf, nJ);
      double nrx = nf[0] - xd[0], nry = nf[1] - xd[1], nres = nrx * nrx + nry * nry;
      if (isfinite(nres) && nres < res) {
        x = nx;
        y = ny;
        rx = nrx;
        ry = nry;
        res = nres;
        memcpy(J, nJ, sizeof nJ);
        improved = true;
        break;
      }
    }
    if (!improved) break;
  }
  xn[0] = x;
  xn[1] = y;
  if (!(res <= 1e-24))
    return MHRFIT_FAIL(err, MHRFIT_ERR_NUMERIC,
                       "camera '%s': undistortion of (%.6g, %.6g) did not converge (residual %.3g): the point lies "
                       "outside the region where the distortion model is invertible",
                       cam->name, xd[0], xd[1], sqrt(res));
  return true;
}

bool mhrfit_camera_pixel_to_normalized(const mhrfit_camera *cam, const double uv[2], double xn[2], mhrfit_error *err) {
  const double *K = cam->K;
  double yd = (uv[1] - K[5]) / K[4];
  double xd = (uv[0] - K[2] - K[1] * yd) / K[0];
  double d[2] = {xd, yd};
  return mhrfit_camera_undistort(cam, d, xn, err);
}

void mhrfit_camera_center(const mhrfit_camera *cam, double C[3]) {
  const double *R = cam->R, *t = cam->t;
  for (int i = 0; i < 3; i++) C[i] = -(R[i] * t[0] + R[3 + i] * t[1] + R[6 + i] * t[2]);
}

void mhrfit_camera_invert_extrinsics(mhrfit_camera *cam) {
  double Rt[9], t[3];
  for (int r = 0; r < 3; r++)
    for (int c = 0; c < 3; c++) Rt[3 * r + c] = cam->R[3 * c + r];
  for (int i = 0; i < 3; i++) t[i] = -(Rt[3 * i] * cam->t[0] + Rt[3 * i + 1] * cam->t[1] + Rt[3 * i + 2] * cam->t[2]);
  memcpy(cam->R, Rt, sizeof Rt);
  memcpy(cam->t, t, sizeof t);
}
