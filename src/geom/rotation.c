/* Rotations: Rodrigues vectors and quaternions <-> matrices. */
#include <math.h>

#include "mhrfit/camera.h"

void mhrfit_rodrigues_to_matrix(const double r[3], double R[9]) {
  double th = sqrt(r[0] * r[0] + r[1] * r[1] + r[2] * r[2]);
  double a, b; /* R = I + a [r]x + b [r]x^2 */
  if (th < 1e-6) {
    double t2 = th * th;
    a = 1.0 - t2 / 6.0 + t2 * t2 / 120.0;
    b = 0.5 - t2 / 24.0 + t2 * t2 / 720.0;
  } else {
    a = sin(th) / th;
    b = (1.0 - cos(th)) / (th * th);
  }
  double x = r[0], y = r[1], z = r[2];
  R[0] = 1.0 - b * (y * y + z * z);
  R[1] = -a * z + b * x * y;
  R[2] = a * y + b * x * z;
  R[3] = a * z + b * x * y;
  R[4] = 1.0 - b * (x * x + z * z);
  R[5] = -a * x + b * y * z;
  R[6] = -a * y + b * x * z;
  R[7] = a * x + b * y * z;
  R[8] = 1.0 - b * (x * x + y * y);
}

void mhrfit_matrix_to_rodrigues(const double R[9], double r[3]) {
  double tr = R[0] + R[4] + R[8];
  double c = 0.5 * (tr - 1.0);
  if (c > 1.0) c = 1.0;
  if (c < -1.0) c = -1.0;
  double vx = 0.5 * (R[7] - R[5]), vy = 0.5 * (R[2] - R[6]), vz = 0.5 * (R[3] - R[1]);
  double s = sqrt(vx * vx + vy * vy + vz * vz); /* sin(theta) */
  double th = atan2(s, c);
  if (s > 1e-7) {
    double k = th / s;
    r[0] = vx * k;
    r[1] = vy * k;
    r[2] = vz * k;
    return;
  }
  if (c > 0) { /* theta ~ 0: first order */
    r[0] = vx;
    r[1] = vy;
    r[2] = vz;
    return;
  }
  /* theta ~ pi: R = 2 n n^T - I; take the largest diagonal for a stable axis. */
  double xx = (R[0] + 1.0) * 0.5, yy = (R[4] + 1.0) * 0.5, zz = (R[8] + 1.0) * 0.5;
  double n[3];
  if (xx >= yy && xx >= zz) {
    n[0] = sqrt(xx > 0 ? xx : 0);
    n[1] = (R[1] + R[3]) / (4.0 * n[0]);
    n[2] = (R[2] + R[6]) / (4.0 * n[0]);
  } else if (yy >= zz) {
    n[1] = sqrt(yy > 0 ? yy : 0);
    n[0] = (R[1] + R[3]) / (4.0 * n[1]);
    n[2] = (R[5] + R[7]) / (4.0 * n[1]);
  } else {
    n[2] = sqrt(zz > 0 ? zz : 0);
    n[0] = (R[2] + R[6]) / (4.0 * n[2]);
    n[1] = (R[5] + R[7]) / (4.0 * n[2]);
  }
  double nn = sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]);
  for (int i = 0; i < 3; i++) r[i] = n[i] / nn * th;
}

void mhrfit_quat_to_matrix(const double q[4], double R[9]) {
  double n = sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
  double w = q[0] / n, x = q[1] / n, y = q[2] / n, z = q[3] / n;
  R[0] = w * w + x * x - y * y - z * z;
  R[1] = 2 * (x * y - w * z);
  R[2] = 2 * (x * z + w * y);
  R[3] = 2 * (x * y + w * z);
  R[4] = w * w - x * x + y * y - z * z;
  R[5] = 2 * (y * z - w * x);
  R[6] = 2 * (x * z - w * y);
  R[7] = 2 * (y * z + w * x);
  R[8] = w * w - x * x - y * y + z * z;
}

void mhrfit_matrix_to_quat(const double R[9], double q[4]) {
  /* the largest of 4w², 4x², 4y², 4z² gives a well-conditioned division (Shepperd) */
  double t = R[0] + R[4] + R[8], d[4] = {1 + t, 1 + R[0] - R[4] - R[8], 1 - R[0] + R[4] - R[8], 1 - R[0] - R[4] + R[8]};
  int k = 0;
  for (int i = 1; i < 4; i++)
    if (d[i] > d[k]) k = i;
  double s = 2 * sqrt(fmax(d[k], 1e-300));
  if (k == 0) q[0] = s / 4, q[1] = (R[7] - R[5]) / s, q[2] = (R[2] - R[6]) / s, q[3] = (R[3] - R[1]) / s;
  else if (k == 1) q[0] = (R[7] - R[5]) / s, q[1] = s / 4, q[2] = (R[1] + R[3]) / s, q[3] = (R[2] + R[6]) / s;
  else if (k == 2) q[0] = (R[2] - R[6]) / s, q[1] = (R[1] + R[3]) / s, q[2] = s / 4, q[3] = (R[5] + R[7]) / s;
  else q[0] = (R[3] - R[1]) / s, q[1] = (R[2] + R[6]) / s, q[2] = (R[5] + R[7]) / s, q[3] = s / 4;
  if (q[0] < 0)
    for (int i = 0; i < 4; i++) q[i] = -q[i];
}
