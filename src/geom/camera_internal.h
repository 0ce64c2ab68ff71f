/* Internal fast paths of the camera model (see include/mhrfit/camera.h), for hot loops that project
 * the same point many times (the triangulator's refinement) or undistort many observations. Every
 * function gives the same bits as the public one it splits up. */
#ifndef MF_GEOM_CAMERA_INTERNAL_H
#define MF_GEOM_CAMERA_INTERNAL_H

#include <math.h>
#include <stdbool.h>

#include "mhrfit/camera.h"

/* Inlined into the hot loops that call them (the compiler would otherwise keep one copy per file). */
#if defined(__GNUC__)
#define MF_HOT_INLINE static inline __attribute__((always_inline))
#else
#define MF_HOT_INLINE static inline
#endif

/* Facts about a camera's distortion coefficients that the fast paths take as arguments instead of
 * testing the coefficients on every call (compute once per camera with mf_camera_kind()). */
typedef struct mf_cam_kind {
  bool no_dist; /* all eight coefficients are zero */
  bool poly;    /* k4..k6 are zero: the radial denominator is exactly 1 */
} mf_cam_kind;

mf_cam_kind mf_camera_kind(const mhrfit_camera *cam);

/* What a projection leaves behind for its Jacobian (filled by mf_camera_project_cached()). */
typedef struct mf_cam_proj {
  double x, y, iz;  /* normalised undistorted coordinates, 1 / Zc */
  double r2, a, b, g; /* r², the radial numerator and denominator, g = a / b */
  bool poly;        /* k4..k6 are zero (b = 1) */
  bool in_front;    /* Zc > 1e-12 and finite: the fields above are set */
} mf_cam_proj;

/* mhrfit_camera_project() without the Jacobian, keeping in `c` (may be NULL) what
 * mf_camera_project_jacobian() needs; `poly` is mf_camera_kind(cam).poly. Inline: the triangulator
 * calls it per view and iteration. With `poly` the radial denominator is exactly 1 and its
 * divisions are skipped (a / 1 and (da·1 − a·0) / 1 are exact: same bits as the general formula). */
MF_HOT_INLINE bool mf_camera_project_cached(const mhrfit_camera *cam, bool poly, const double X[3], double uv[2],
                                            mf_cam_proj *c) {
  const double *R = cam->R;
  double Xc = R[0] * X[0] + R[1] * X[1] + R[2] * X[2] + cam->t[0];
  double Yc = R[3] * X[0] + R[4] * X[1] + R[5] * X[2] + cam->t[1];
  double Zc = R[6] * X[0] + R[7] * X[1] + R[8] * X[2] + cam->t[2];
  if (!(Zc > 1e-12) || !isfinite(Xc) || !isfinite(Yc)) {
    uv[0] = uv[1] = NAN;
    if (c) c->in_front = false;
    return false;
  }
  const double *k = cam->dist;
  double iz = 1.0 / Zc, x = Xc * iz, y = Yc * iz;
  double r2 = x * x + y * y, r4 = r2 * r2, r6 = r4 * r2;
  double a = 1.0 + k[0] * r2 + k[1] * r4 + k[4] * r6;
  double b = poly ? 1.0 : 1.0 + k[5] * r2 + k[6] * r4 + k[7] * r6;
  double g = poly ? a : a / b;
  double p1 = k[2], p2 = k[3];
  double xd0 = x * g + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x);
  double xd1 = y * g + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y;
  const double *K = cam->K;
  /* a zero skew adds an exact zero for a finite xd1 (and a non-finite xd1 fails below anyway) */
  uv[0] = K[1] == 0.0 ? K[0] * xd0 + K[2] : K[0] * xd0 + K[1] * xd1 + K[2];
  uv[1] = K[4] * xd1 + K[5];
  if (c) {
    c->x = x;
    c->y = y;
    c->iz = iz;
    c->r2 = r2;
    c->a = a;
    c->b = b;
    c->g = g;
    c->poly = poly;
    c->in_front = true;
  }
  return isfinite(uv[0]) && isfinite(uv[1]);
}

/* The 2x3 Jacobian d(u,v)/dX (row-major) of the projection cached in `c` (c->in_front must hold):
 * the same values as mhrfit_camera_project() gives. */
MF_HOT_INLINE void mf_camera_project_jacobian(const mhrfit_camera *cam, const mf_cam_proj *c, double J[6]) {
  const double *k = cam->dist, *K = cam->K, *R = cam->R;
  double x = c->x, y = c->y, iz = c->iz, r2 = c->r2, r4 = r2 * r2, g = c->g;
  double p1 = k[2], p2 = k[3];
  double da = k[0] + 2.0 * k[1] * r2 + 3.0 * k[4] * r4;
  double dg; /* dg/d(r2) */
  if (c->poly) {
    dg = da;
  } else {
    double db = k[5] + 2.0 * k[6] * r2 + 3.0 * k[7] * r4;
    dg = (da * c->b - c->a * db) / (c->b * c->b);
  }
  double Jd0 = g + 2.0 * x * x * dg + 2.0 * p1 * y + 6.0 * p2 * x;
  double Jd1 = 2.0 * x * y * dg + 2.0 * p1 * x + 2.0 * p2 * y, Jd2 = Jd1;
  double Jd3 = g + 2.0 * y * y * dg + 6.0 * p1 * y + 2.0 * p2 * x;
  /* d(uv)/d(xd) = [[fx, skew], [0, fy]]; d(x,y)/d(Xc) = [[1/Z, 0, -x/Z], [0, 1/Z, -y/Z]]. */
  double A[4] = {K[0] * Jd0 + K[1] * Jd2, K[0] * Jd1 + K[1] * Jd3, K[4] * Jd2, K[4] * Jd3};
  double B[6] = {A[0] * iz, A[1] * iz, -(A[0] * x + A[1] * y) * iz,
                 A[2] * iz, A[3] * iz, -(A[2] * x + A[3] * y) * iz};
  for (int r = 0; r < 2; r++)
    for (int col = 0; col < 3; col++)
      J[3 * r + col] = B[3 * r] * R[col] + B[3 * r + 1] * R[3 + col] + B[3 * r + 2] * R[6 + col];
}

/* Observations handled together by mf_camera_pixel_to_normalized_jac_n() (larger n is split). */
#define MF_CAMERA_BATCH 64

/* mhrfit_camera_pixel_to_normalized() (without error messages) of the n observations i with
 * todo[i] — camera cams[i] of kind kind[i] (mf_camera_kind()), pixel (uv[2i], uv[2i+1]) — into
 * xn[i], with its return value in ok[i] and the distortion Jacobian d(xd)/d(xn) at xn[i] (row-major
 * 2x2, the values mhrfit_camera_distort_jacobian() gives) in Jd[i]; the other entries are left
 * untouched. The same iterations and bits as one call per observation, but the Newton iterations
 * of the observations are interleaved: their chains of dependent operations are independent, so
 * the CPU overlaps them instead of waiting on each in turn. */
void mf_camera_pixel_to_normalized_jac_n(const mhrfit_camera *cams, const mf_cam_kind *kind, const double *uv,
                                         size_t n, const bool *todo, double (*xn)[2], double (*Jd)[4], bool *ok);

#endif
