/* Small dense linear algebra: symmetric Jacobi eigen-solver and Cholesky solve. */
#include "common/linalg.h"

#include <math.h>
#include <string.h>

bool mf_sym_eigen(const double *A, int n, double *w, double *V) {
  double a[16 * 16];
  if (n < 1 || n > 16) return false;
  for (int i = 0; i < n * n; i++) {
    if (!isfinite(A[i])) return false;
    a[i] = A[i];
  }
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) V[i * n + j] = i == j ? 1.0 : 0.0;
  for (int sweep = 0; sweep < 100; sweep++) {
    double off = 0, diag = 0;
    for (int i = 0; i < n; i++) {
      diag += a[i * n + i] * a[i * n + i];
      for (int j = i + 1; j < n; j++) off += a[i * n + j] * a[i * n + j];
    }
    if (off == 0.0 || off <= diag * 1e-36) break;
    for (int p = 0; p < n; p++)
      for (int q = p + 1; q < n; q++) {
        double apq = a[p * n + q];
        if (apq == 0.0) continue;
        double app = a[p * n + p], aqq = a[q * n + q];
        /* An element below rounding level of both diagonal entries is zeroed (it can no longer
         * change them), so converged sweeps end with off == 0. */
        if (fabs(apq) < 1e-18 * fabs(app) && fabs(apq) < 1e-18 * fabs(aqq)) {
          a[p * n + q] = a[q * n + p] = 0.0;
          continue;
        }
        double theta = (aqq - app) / (2.0 * apq);
        double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1.0));
        double c = 1.0 / sqrt(t * t + 1.0), s = t * c;
        for (int k = 0; k < n; k++) { /* rotate columns p, q */
          double akp = a[k * n + p], akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (int k = 0; k < n; k++) { /* rotate rows p, q */
          double apk = a[p * n + k], aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (int k = 0; k < n; k++) {
          double vkp = V[k * n + p], vkq = V[k * n + q];
          V[k * n + p] = c * vkp - s * vkq;
          V[k * n + q] = s * vkp + c * vkq;
        }
      }
  }
  /* sort ascending (selection sort on columns) */
  for (int i = 0; i < n; i++) w[i] = a[i * n + i];
  for (int i = 0; i < n; i++) {
    int m = i;
    for (int j = i + 1; j < n; j++)
      if (w[j] < w[m]) m = j;
    if (m != i) {
      double t = w[i];
      w[i] = w[m];
      w[m] = t;
      for (int k = 0; k < n; k++) {
        double v = V[k * n + i];
        V[k * n + i] = V[k * n + m];
        V[k * n + m] = v;
      }
    }
  }
  return true;
}

bool mf_cholesky_solve(const double *A, const double *b, int n, double *x) {
  double L[64 * 64];
  if (n < 1 || n > 64) return false;
  return mf_cholesky_solve_ws(A, b, n, x, L);
}

bool mf_cholesky_solve_ws(const double *A, const double *b, int n, double *x, double *L) {
  if (n < 1) return false;
  for (int i = 0; i < n; i++)
    for (int j = 0; j <= i; j++) {
      double s = A[i * n + j];
      for (int k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
      if (i == j) {
        if (!(s > 0) || !isfinite(s)) return false;
        L[i * n + i] = sqrt(s);
      } else {
        L[i * n + j] = s / L[j * n + j];
      }
    }
  for (int i = 0; i < n; i++) { /* forward substitution into x */
    double s = b[i];
    for (int k = 0; k < i; k++) s -= L[i * n + k] * x[k];
    x[i] = s / L[i * n + i];
  }
  for (int i = n - 1; i >= 0; i--) {
    double s = x[i];
    for (int k = i + 1; k < n; k++) s -= L[k * n + i] * x[k];
    x[i] = s / L[i * n + i];
  }
  for (int i = 0; i < n; i++)
    if (!isfinite(x[i])) return false;
  return true;
}

bool mf_solve3_spd(const double A[9], const double b[3], double x[3]) {
  double l00 = A[0];
  if (!(l00 > 0)) return false;
  l00 = sqrt(l00);
  double l10 = A[3] / l00, l20 = A[6] / l00;
  double d1 = A[4] - l10 * l10;
  if (!(d1 > 0)) return false;
  double l11 = sqrt(d1);
  double l21 = (A[7] - l20 * l10) / l11;
  double d2 = A[8] - l20 * l20 - l21 * l21;
  if (!(d2 > 0)) return false;
  double l22 = sqrt(d2);
  double y0 = b[0] / l00, y1 = (b[1] - l10 * y0) / l11, y2 = (b[2] - l20 * y0 - l21 * y1) / l22;
  x[2] = y2 / l22;
  x[1] = (y1 - l21 * x[2]) / l11;
  x[0] = (y0 - l10 * x[1] - l20 * x[2]) / l00;
  return isfinite(x[0]) && isfinite(x[1]) && isfinite(x[2]);
}
