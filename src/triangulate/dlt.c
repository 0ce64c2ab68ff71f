/* Direct linear transform triangulation. */
#include <math.h>

#include "common/linalg.h"
#include "triangulate/tri_internal.h"

bool mf_dlt(const double *const *P, const double *x, const double *y, const double *w, int n, double X[3]) {
  if (n < 2) return false;
  double AtA[16] = {0};
  for (int v = 0; v < n; v++) {
    const double *p = P[v];
    double wv = w ? w[v] : 1.0;
    if (!isfinite(x[v]) || !isfinite(y[v]) || !isfinite(wv)) return false;
    double r0[4], r1[4];
    for (int c = 0; c < 4; c++) {
      r0[c] = (p[c] - x[v] * p[8 + c]) * wv;
      r1[c] = (p[4 + c] - y[v] * p[8 + c]) * wv;
    }
    for (int i = 0; i < 4; i++)
      for (int j = 0; j < 4; j++) AtA[4 * i + j] += r0[i] * r0[j] + r1[i] * r1[j];
  }
  double ev[4], V[16];
  if (!mf_sym_eigen(AtA, 4, ev, V)) return false;
  double h[4] = {V[0], V[4], V[8], V[12]}; /* column 0: smallest eigenvalue */
  double norm = sqrt(h[0] * h[0] + h[1] * h[1] + h[2] * h[2] + h[3] * h[3]);
  if (!(fabs(h[3]) > 1e-12 * norm)) return false;
  for (int i = 0; i < 3; i++) X[i] = h[i] / h[3];
  return isfinite(X[0]) && isfinite(X[1]) && isfinite(X[2]);
}

bool mf_triangulate_ls(const double *const *P, const double *x, const double *y, const double *w, int n, double X[3]) {
  if (n < 2) return false;
  /* Rows a·X = b with a = w(x P[2] - P[0])[0..2], b = -w(x P[2] - P[0])[3] (same for y):
   * normal equations (AᵀA) X = Aᵀb, solved by Cholesky. AᵀA is symmetric: its upper triangle is
   * accumulated and mirrored. */
  double m00 = 0, m01 = 0, m02 = 0, m11 = 0, m12 = 0, m22 = 0, g0 = 0, g1 = 0, g2 = 0;
  for (int v = 0; v < n; v++) {
    const double *p = P[v];
    double wv = w ? w[v] : 1.0;
    if (!isfinite(x[v]) || !isfinite(y[v]) || !isfinite(wv)) return false;
    for (int r = 0; r < 2; r++) {
      double c = r == 0 ? x[v] : y[v];
      const double *pr = p + 4 * r;
      double a0 = wv * (c * p[8] - pr[0]), a1 = wv * (c * p[9] - pr[1]);
      double a2 = wv * (c * p[10] - pr[2]), a3 = wv * (c * p[11] - pr[3]);
      g0 -= a0 * a3;
      g1 -= a1 * a3;
      g2 -= a2 * a3;
      m00 += a0 * a0;
      m01 += a0 * a1;
      m02 += a0 * a2;
      m11 += a1 * a1;
      m12 += a1 * a2;
      m22 += a2 * a2;
    }
  }
  double M[9] = {m00, m01, m02, m01, m11, m12, m02, m12, m22}, g[3] = {g0, g1, g2};
  return mf_solve3_spd(M, g, X);
}
