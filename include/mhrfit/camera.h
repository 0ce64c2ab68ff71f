/**
 * @file camera.h
 * @brief The OpenCV pinhole camera with radial-tangential distortion, and rotations.
 *
 * A world point X maps to the camera frame by `Xc = R·X + t` (world→camera,
 * as in every TOML calibration dialect), to normalised coordinates
 * `x = Xc/Zc, y = Yc/Zc`, is distorted with OpenCV's model
 *
 * @f[ r^2 = x^2+y^2,\quad
 *     g = \frac{1 + k_1 r^2 + k_2 r^4 + k_3 r^6}{1 + k_4 r^2 + k_5 r^4 + k_6 r^6} @f]
 * @f[ x_d = x g + 2 p_1 x y + p_2 (r^2 + 2x^2),\quad
 *     y_d = y g + p_1 (r^2 + 2y^2) + 2 p_2 x y @f]
 *
 * and mapped to pixels by K: `u = fx·xd + skew·yd + cx`, `v = fy·yd + cy`.
 * Missing distortion terms are zero.
 */
#ifndef MHRFIT_CAMERA_H
#define MHRFIT_CAMERA_H

#include <stdbool.h>
#include <stddef.h>

#include "mhrfit/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Longest camera name kept, including the NUL. */
#define MHRFIT_CAMERA_NAME_MAX 128

/** One calibrated camera. Plain data: copy it freely. */
typedef struct mhrfit_camera {
  char name[MHRFIT_CAMERA_NAME_MAX];  /**< the `name` field of its table, else the table name */
  char table[MHRFIT_CAMERA_NAME_MAX]; /**< the name of the table it was read from (e.g. "cam_1"); may be empty */
  int width, height;     /**< image size in pixels (`size = [w, h]`); 0 when unknown */
  double K[9];           /**< intrinsics, row-major: fx skew cx / 0 fy cy / 0 0 1 */
  double dist[8];        /**< k1 k2 p1 p2 k3 k4 k5 k6 (OpenCV order); unused terms 0 */
  int n_dist;            /**< number of distortion terms given in the file (0, 4, 5 or 8) */
  double R[9];           /**< world→camera rotation, row-major */
  double t[3];           /**< world→camera translation, in `unit` */
  bool fisheye;          /**< the file asked for the fisheye model (not supported by projection: loaders reject it) */
  bool dist_missing;     /**< the file had no `distortions` field (taken as no distortion) */
} mhrfit_camera;

/** @name Rotations
 * @{ */
/** Rodrigues vector (axis · angle, radians) → rotation matrix (row-major). */
void mhrfit_rodrigues_to_matrix(const double r[3], double R[9]);
/** Rotation matrix (row-major, orthonormal) → Rodrigues vector; stable near 0 and π. */
void mhrfit_matrix_to_rodrigues(const double R[9], double r[3]);
/** Rotation matrix (row-major) of the quaternion q = (w, x, y, z), normalised first (q ≠ 0). */
void mhrfit_quat_to_matrix(const double q[4], double R[9]);
/** Unit quaternion (w, x, y, z) with w ≥ 0 of a rotation matrix (row-major). */
void mhrfit_matrix_to_quat(const double R[9], double q[4]);
/** @} */

/** @name Projection
 * @{ */
/**
 * Projects world point `X` to pixels `uv`. When `J` is not NULL it receives
 * the 2×3 Jacobian d(u,v)/dX, row-major. Returns false (uv set to NaN) when
 * the point is not in front of the camera (Zc ≤ 1e-12) or not finite.
 */
bool mhrfit_camera_project(const mhrfit_camera *cam, const double X[3], double uv[2], double J[6]);

/**
 * Projects `n` world points `X` (n × 3) to pixels `uv` (n × 2) with mhrfit_camera_project();
 * points not in front of the camera or not finite give NaN. Returns the number projected.
 */
size_t mhrfit_camera_project_n(const mhrfit_camera *cam, const double *X, size_t n, double *uv);

/** Applies the distortion model to normalised coordinates `xn`, giving `xd`. */
void mhrfit_camera_distort(const mhrfit_camera *cam, const double xn[2], double xd[2]);

/** Like mhrfit_camera_distort(), and also the 2×2 Jacobian d(xd)/d(xn), row-major, in `J`. */
void mhrfit_camera_distort_jacobian(const mhrfit_camera *cam, const double xn[2], double xd[2], double J[4]);

/**
 * Inverts the distortion: finds `xn` with distort(xn) = `xd` by Newton's
 * method on the full model (converges for strong barrel distortion such as
 * k1 ≈ −0.33 inside the image). Returns false with MHRFIT_ERR_NUMERIC when
 * it does not converge to 1e-12 within the iteration budget (xn then holds
 * the last iterate).
 */
bool mhrfit_camera_undistort(const mhrfit_camera *cam, const double xd[2], double xn[2], mhrfit_error *err);

/** Pixel → undistorted normalised coordinates (K⁻¹ then mhrfit_camera_undistort()). */
bool mhrfit_camera_pixel_to_normalized(const mhrfit_camera *cam, const double uv[2], double xn[2],
                                       mhrfit_error *err);

/** Camera centre in world coordinates, C = −Rᵀ·t. */
void mhrfit_camera_center(const mhrfit_camera *cam, double C[3]);

/** Replaces (R, t) by its inverse (camera→world ↔ world→camera). */
void mhrfit_camera_invert_extrinsics(mhrfit_camera *cam);
/** @} */

#ifdef __cplusplus
}
#endif
#endif
