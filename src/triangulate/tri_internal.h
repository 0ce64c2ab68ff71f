/* Internal state and stage functions of the triangulator (see include/mhrfit/triangulate.h). */
#ifndef MF_TRIANGULATE_INTERNAL_H
#define MF_TRIANGULATE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "geom/camera_internal.h"
#include "mhrfit/triangulate.h"

#define MF_TRI_MAX_VIEWS 64

struct mhrfit_triangulator {
  mhrfit_tri_options o;
  size_t n_views, max_kp;
  double cos_min_angle; /* cos(min_angle_deg) */
  mhrfit_camera cams[MF_TRI_MAX_VIEWS];
  mf_cam_kind kind[MF_TRI_MAX_VIEWS]; /* distortion facts of each camera, for the fast paths */
  double P_norm[MF_TRI_MAX_VIEWS][12]; /* [R|t], row-major 3x4 */
  double P_pix[MF_TRI_MAX_VIEWS][12];  /* K[R|t] */
  double centre[MF_TRI_MAX_VIEWS][3];
  /* per-point scratch (no allocation in process) */
  bool valid[MF_TRI_MAX_VIEWS];
  double xn[MF_TRI_MAX_VIEWS][2];
  double Jpix[MF_TRI_MAX_VIEWS][4]; /* d(pixel)/d(normalised undistorted) at each observation */
  double ray[MF_TRI_MAX_VIEWS][3];  /* unit world direction of each observation's ray */
  double err[MF_TRI_MAX_VIEWS];
  double w[MF_TRI_MAX_VIEWS];
  bool in[MF_TRI_MAX_VIEWS];
  const double *P_sel[MF_TRI_MAX_VIEWS];
  double x_sel[MF_TRI_MAX_VIEWS], y_sel[MF_TRI_MAX_VIEWS], w_sel[MF_TRI_MAX_VIEWS];
};

/* Per-point output handed to the method functions. */
typedef struct mf_tri_point {
  double X_init[3], X[3];
  bool in[MF_TRI_MAX_VIEWS];
  double err[MF_TRI_MAX_VIEWS];
  int n_used;
  mhrfit_tri_reason reason;
} mf_tri_point;

/* Weighted homogeneous DLT over n views: rows w·(x·P[2] − P[0]) and w·(y·P[2] − P[1]); the
 * solution is the eigenvector of AᵀA with the smallest eigenvalue. False when n < 2, the input is
 * not finite, or the solution is at infinity. */
bool mf_dlt(const double *const *P, const double *x, const double *y, const double *w, int n, double X[3]);

/* The same linear system solved in inhomogeneous form (X_h = (X, 1)) by least squares on the
 * 3x3 normal equations: much cheaper than the eigen-solve, used for candidates and reseeding by
 * the default method (a point at infinity shows up as an ill-conditioned system: false). */
bool mf_triangulate_ls(const double *const *P, const double *x, const double *y, const double *w, int n, double X[3]);

/* Refines X by Levenberg-Marquardt on the pixel reprojection error over the views with use[v]
 * (uv observations), analytic Jacobian, optional Huber IRLS. False when the result is not finite
 * (X is then unchanged). When err is not NULL, a successful refinement also leaves the pixel error
 * of the returned X in err[v] for every used view (the value mf_tri_pixel_error() gives). */
bool mf_point_lm(const mhrfit_triangulator *t, const double *uv, const bool *use, double X[3], double *err);

/* Pixel reprojection error of X in view v through the full camera model (uv: the keypoint's V
 * observations); +inf when X does not project. */
double mf_tri_pixel_error(const mhrfit_triangulator *t, size_t v, const double *uv, const double X[3]);

/* The default method and the Pose2Sim rule for one keypoint; uv/conf point at the keypoint's V
 * observations. */
void mf_tri_default_point(mhrfit_triangulator *t, const double *uv, const double *conf, mf_tri_point *p);
void mf_tri_pose2sim_point(mhrfit_triangulator *t, const double *uv, const double *conf, mf_tri_point *p);

#endif
