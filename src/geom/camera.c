/* The OpenCV pinhole camera with radial-tangential distortion: see include/mhrfit/camera.h. */
#include <math.h>
#include <string.h>

#include "mhrfit/camera.h"
#include "geom/camera_internal.h"

mf_cam_kind mf_camera_kind(const mhrfit_camera *cam) {
  const double *k = cam->dist;
  mf_cam_kind kind = {.poly = k[5] == 0.0 && k[6] == 0.0 && k[7] == 0.0, .no_dist = true};
  for (int i = 0; i < 8; i++) kind.no_dist = kind.no_dist && k[i] == 0.0;
  return kind;
}

/* Distortion of normalised (x, y) and, when J is not NULL, its 2x2 Jacobian (row-major). With
 * `poly` (k4..k6 zero, see mf_cam_kind) the divisions by the radial denominator (exactly 1) are
 * skipped: a / 1 and (da·1 − a·0) / 1 are exact, so the bits are the general formula's. */
MF_HOT_INLINE void distort_jac(const double *k, bool poly, double x, double y, double xd[2], double J[4]) {
  double r2 = x * x + y * y, r4 = r2 * r2, r6 = r4 * r2;
  double a = 1.0 + k[0] * r2 + k[1] * r4 + k[4] * r6;
  double b = poly ? 1.0 : 1.0 + k[5] * r2 + k[6] * r4 + k[7] * r6;
  double g = poly ? a : a / b;
  double p1 = k[2], p2 = k[3];
  xd[0] = x * g + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x);
  xd[1] = y * g + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y;
  if (!J) return;
  double da = k[0] + 2.0 * k[1] * r2 + 3.0 * k[4] * r4;
  double dg; /* dg/d(r2) */
  if (poly) {
    dg = da;
  } else {
    double db = k[5] + 2.0 * k[6] * r2 + 3.0 * k[7] * r4;
    dg = (da * b - a * db) / (b * b);
  }
  J[0] = g + 2.0 * x * x * dg + 2.0 * p1 * y + 6.0 * p2 * x;
  J[1] = 2.0 * x * y * dg + 2.0 * p1 * x + 2.0 * p2 * y;
  J[2] = J[1];
  J[3] = g + 2.0 * y * y * dg + 6.0 * p1 * y + 2.0 * p2 * x;
}

void mhrfit_camera_distort(const mhrfit_camera *cam, const double xn[2], double xd[2]) {
  distort_jac(cam->dist, mf_camera_kind(cam).poly, xn[0], xn[1], xd, NULL);
}

void mhrfit_camera_distort_jacobian(const mhrfit_camera *cam, const double xn[2], double xd[2], double J[4]) {
  distort_jac(cam->dist, mf_camera_kind(cam).poly, xn[0], xn[1], xd, J);
}

bool mhrfit_camera_project(const mhrfit_camera *cam, const double X[3], double uv[2], double J[6]) {
  mf_cam_proj c;
  bool poly = cam->dist[5] == 0.0 && cam->dist[6] == 0.0 && cam->dist[7] == 0.0; /* mf_camera_kind(cam).poly */
  bool ok = mf_camera_project_cached(cam, poly, X, uv, J ? &c : NULL);
  if (!J) return ok;
  if (c.in_front) mf_camera_project_jacobian(cam, &c, J);
  else
    for (int i = 0; i < 6; i++) J[i] = NAN;
  return ok;
}

size_t mhrfit_camera_project_n(const mhrfit_camera *cam, const double *X, size_t n, double *uv) {
  size_t in_front = 0;
  for (size_t i = 0; i < n; i++) in_front += mhrfit_camera_project(cam, X + 3 * i, uv + 2 * i, NULL);
  return in_front;
}

/* Newton's method with step halving on the residual norm for distort(xn[i]) = xd[i], for the
 * observations i listed in idx (finite xd, camera cams[i] of kind kind[i], at most MF_CAMERA_BATCH):
 * leaves the last iterate in xn[i], the distortion Jacobian there in J[i] and the squared residual
 * in res[i]. Iteration `it` of every observation still iterating is done in turn: each observation
 * goes through exactly the steps it would alone, and their independent chains of dependent
 * operations overlap in the CPU instead of waiting on each other. */
static void undistort_newton(const mhrfit_camera *cams, const mf_cam_kind *kind, const double (*xd)[2],
                             const size_t *idx, size_t n_idx, double (*xn)[2], double (*J)[4], double *res) {
  double rx[MF_CAMERA_BATCH], ry[MF_CAMERA_BATCH];
  size_t act[MF_CAMERA_BATCH], n_act = 0;
  for (size_t q = 0; q < n_idx; q++) {
    size_t i = idx[q];
    double f[2];
    xn[i][0] = xd[i][0];
    xn[i][1] = xd[i][1];
    distort_jac(cams[i].dist, kind[i].poly, xn[i][0], xn[i][1], f, J[i]);
    rx[i] = f[0] - xd[i][0];
    ry[i] = f[1] - xd[i][1];
    res[i] = rx[i] * rx[i] + ry[i] * ry[i];
    act[n_act++] = i;
  }
  for (int it = 0; it < 100 && n_act > 0; it++) {
    size_t keep = 0;
    for (size_t q = 0; q < n_act; q++) {
      size_t i = act[q];
      if (res[i] <= 1e-26) continue;
      const double *Ji = J[i];
      double det = Ji[0] * Ji[3] - Ji[1] * Ji[2];
      if (!isfinite(det) || fabs(det) < 1e-14) continue;
      double dx = (Ji[3] * rx[i] - Ji[1] * ry[i]) / det, dy = (-Ji[2] * rx[i] + Ji[0] * ry[i]) / det;
      double step = 1.0;
      bool improved = false;
      for (int h = 0; h < 30; h++, step *= 0.5) {
        double nx = xn[i][0] - step * dx, ny = xn[i][1] - step * dy, nf[2], nJ[4];
        distort_jac(cams[i].dist, kind[i].poly, nx, ny, nf, nJ);
        double nrx = nf[0] - xd[i][0], nry = nf[1] - xd[i][1], nres = nrx * nrx + nry * nry;
        if (isfinite(nres) && nres < res[i]) {
          xn[i][0] = nx;
          xn[i][1] = ny;
          rx[i] = nrx;
          ry[i] = nry;
          res[i] = nres;
          memcpy(J[i], nJ, sizeof nJ);
          improved = true;
          break;
        }
      }
      if (improved) act[keep++] = i;
    }
    n_act = keep;
  }
}

bool mhrfit_camera_undistort(const mhrfit_camera *cam, const double xd[2], double xn[2], mhrfit_error *err) {
  if (!isfinite(xd[0]) || !isfinite(xd[1])) {
    xn[0] = xn[1] = NAN;
    return MHRFIT_FAIL(err, MHRFIT_ERR_NUMERIC, "camera '%s': cannot undistort a non-finite point", cam->name);
  }
  mf_cam_kind kind = mf_camera_kind(cam);
  if (kind.no_dist) {
    xn[0] = xd[0];
    xn[1] = xd[1];
    return true;
  }
  size_t idx = 0;
  double J[1][4], res;
  undistort_newton(cam, &kind, (const double(*)[2])xd, &idx, 1, (double(*)[2])xn, J, &res);
  if (!(res <= 1e-24))
    return MHRFIT_FAIL(err, MHRFIT_ERR_NUMERIC,
                       "camera '%s': undistortion of (%.6g, %.6g) did not converge (residual %.3g): the point lies "
                       "outside the region where the distortion model is invertible",
                       cam->name, xd[0], xd[1], sqrt(res));
  return true;
}

/* Pixel → distorted normalised coordinates (K⁻¹). */
static void pixel_to_distorted(const mhrfit_camera *cam, const double uv[2], double d[2]) {
  const double *K = cam->K;
  double yd = (uv[1] - K[5]) / K[4];
  double xd = (uv[0] - K[2] - K[1] * yd) / K[0];
  d[0] = xd;
  d[1] = yd;
}

bool mhrfit_camera_pixel_to_normalized(const mhrfit_camera *cam, const double uv[2], double xn[2], mhrfit_error *err) {
  double d[2];
  pixel_to_distorted(cam, uv, d);
  return mhrfit_camera_undistort(cam, d, xn, err);
}

/* At most MF_CAMERA_BATCH observations of mf_camera_pixel_to_normalized_jac_n(). */
static void pixel_to_normalized_batch(const mhrfit_camera *cams, const mf_cam_kind *kind, const double *uv, size_t n,
                                      const bool *todo, double (*xn)[2], double (*Jd)[4], bool *ok) {
  double xd[MF_CAMERA_BATCH][2], res[MF_CAMERA_BATCH];
  size_t idx[MF_CAMERA_BATCH], n_idx = 0;
  for (size_t i = 0; i < n; i++) {
    if (!todo[i]) continue;
    pixel_to_distorted(&cams[i], uv + 2 * i, xd[i]);
    if (!isfinite(xd[i][0]) || !isfinite(xd[i][1])) {
      xn[i][0] = xn[i][1] = NAN;
      ok[i] = false;
    } else if (kind[i].no_dist) {
      double f[2];
      xn[i][0] = xd[i][0];
      xn[i][1] = xd[i][1];
      distort_jac(cams[i].dist, kind[i].poly, xn[i][0], xn[i][1], f, Jd[i]);
      ok[i] = true;
    } else {
      idx[n_idx++] = i;
    }
  }
  undistort_newton(cams, kind, (const double(*)[2])xd, idx, n_idx, xn, Jd, res);
  for (size_t q = 0; q < n_idx; q++) ok[idx[q]] = res[idx[q]] <= 1e-24;
}

void mf_camera_pixel_to_normalized_jac_n(const mhrfit_camera *cams, const mf_cam_kind *kind, const double *uv,
                                         size_t n, const bool *todo, double (*xn)[2], double (*Jd)[4], bool *ok) {
  for (size_t i0 = 0; i0 < n; i0 += MF_CAMERA_BATCH) {
    size_t m = n - i0 < MF_CAMERA_BATCH ? n - i0 : MF_CAMERA_BATCH;
    pixel_to_normalized_batch(cams + i0, kind + i0, uv + 2 * i0, m, todo + i0, xn + i0, Jd + i0, ok + i0);
  }
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
