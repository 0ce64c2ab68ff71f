/* Internal state and stage functions of the triangulator (see include/mhrfit/triangulate.h). */
#ifndef MF_TRIANGULATE_INTERNAL_H
#define MF_TRIANGULATE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "geom/camera_internal.h"
#include "mhrfit/observations.h"
#include "mhrfit/triangulate.h"

#define MF_TRI_MAX_VIEWS 64
/* Observations of F·K·V with NaN pixels (and NaN confidences when `conf`), names NULL. */
mhrfit_observations *mf_observations_alloc(size_t F, size_t K, size_t V, bool conf, mhrfit_error *err);

/* Caliscope csv observations of cameras `cams` (ports from the trailing digits of their names) from
 * `input` (the csv file, or a folder holding one xy_*.csv); n_kp 0 = the ids found. */
mhrfit_observations *mf_load_caliscope_csv(const char *input, const char *const *cams, size_t V, size_t n_kp,
                                           mhrfit_error *err);

/* The port number of a camera name: its trailing digits (cam_0 -> 0). False when there are none. */
bool mf_camera_port(const char *cam, long *port);

#define MF_TRI_LM_GROUP 8 /* points refined together by mf_point_lm_n() */

/* One evaluation of the refinement's cost at a point: per used view, the residual, its norm (with
 * Huber weights only) and what the Jacobian needs, so that the normal equations are only built for
 * points the iteration keeps (a rejected step, or the last accepted one, never needs them). */
typedef struct mf_lm_eval {
  double cost;
  struct {
    double r[2], norm;
    mf_cam_proj proj;
  } view[MF_TRI_MAX_VIEWS];
} mf_lm_eval;

/* One refinement in progress (see mf_point_lm_n()). */
typedef struct mf_lm_state {
  const double *uv;
  const bool *use;
  double x[3], A[9], g[3], cost, lambda;
  double xn[3], step; /* the trial point of the current iteration and the length of its step */
  int it;
  bool active, trial, trial_ok, ok;
  mf_lm_eval ev[2];
  mf_lm_eval *cur, *tri; /* the evaluation at x, the one at the trial point */
} mf_lm_state;

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
  mf_lm_state lm[MF_TRI_LM_GROUP]; /* refinements in progress */
  const double *P_sel[MF_TRI_MAX_VIEWS];
  double x_sel[MF_TRI_MAX_VIEWS], y_sel[MF_TRI_MAX_VIEWS], w_sel[MF_TRI_MAX_VIEWS];
};

/* Per-point output handed to the method functions (and, for the default method, the state of a
 * point between mf_tri_default_start() and mf_tri_default_finish()). */
typedef struct mf_tri_point {
  double X_init[3], X[3];
  bool in[MF_TRI_MAX_VIEWS];
  double err[MF_TRI_MAX_VIEWS];
  int n_used;
  mhrfit_tri_reason reason;
  bool valid[MF_TRI_MAX_VIEWS]; /* default method: the valid observations */
  int n_in;                     /* default method: inliers of the chosen candidate */
  const double *conf;           /* default method: the keypoint's confidences (may be NULL) */
  double xn[MF_TRI_MAX_VIEWS][2]; /* default method: undistorted normalised valid observations */
} mf_tri_point;

/* Leave-one-out check of the default method (see include/mhrfit/triangulate.h): it runs when the
 * largest inlier error of the refined point exceeds MF_TRI_LOO_TRIGGER·inlier_thresh, and a reduced
 * solution replaces the full one when its truncated cost (errors truncated at
 * MF_TRI_LOO_COST·inlier_thresh) is below MF_TRI_LOO_GAIN times the full one's. On the demo capture
 * (4 views), truncating at the gate itself fixed 27 compromises, at 3/4 of it 56 with no wrong
 * exclusion, at 1/2 of it 66 with 1 view wrongly excluded. */
#define MF_TRI_LOO_TRIGGER (1.0 / 3.0)
#define MF_TRI_LOO_COST 0.75
#define MF_TRI_LOO_GAIN 0.9

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
bool mf_point_lm(mhrfit_triangulator *t, const double *uv, const bool *use, double X[3], double *err);

/* mf_point_lm() for n points (observations uv[i], views use[i], point X[i], errors err[i] — err or
 * its entries may be NULL — and the return value in ok[i]): the same iterations and bits as one call
 * per point, with the iterations of up to MF_TRI_LM_GROUP points interleaved stage by stage so that
 * their independent chains of dependent operations overlap in the CPU. Always true. */
bool mf_point_lm_n(mhrfit_triangulator *t, size_t n, const double *const *uv, const bool *const *use, double *const *X,
                   double *const *err, bool *ok);

/* Pixel reprojection error of X in view v through the full camera model (uv: the keypoint's V
 * observations); +inf when X does not project. */
double mf_tri_pixel_error(const mhrfit_triangulator *t, size_t v, const double *uv, const double X[3]);

/* The Pose2Sim rule for one keypoint; uv/conf point at the keypoint's V observations. */
void mf_tri_pose2sim_point(mhrfit_triangulator *t, const double *uv, const double *conf, mf_tri_point *p);

/* The default method for one keypoint (uv/conf as above), in two parts so that the refinements of
 * several keypoints run together (mf_point_lm_n()): start does everything before the refinement and
 * returns true when the point is to be refined from p->X over the views p->in (otherwise p->reason
 * says why not); the caller then refines it when lm_iters > 0 (`refined`; mf_point_lm() on p->X,
 * p->in and p->err, its result in `lm_ok`) and finish does the rest (errors of the other views,
 * re-admission with a second refinement, the outputs). */
bool mf_tri_default_start(mhrfit_triangulator *t, const double *uv, const double *conf, mf_tri_point *p);
void mf_tri_default_finish(mhrfit_triangulator *t, const double *uv, mf_tri_point *p, bool refined, bool lm_ok);

#endif
