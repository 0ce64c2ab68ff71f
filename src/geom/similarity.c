/* Weighted similarity fit by Horn's quaternion method: see include/mhrfit/similarity.h. */
#include "mhrfit/similarity.h"

#include <math.h>
#include <string.h>

#include "common/linalg.h"
#include "mhrfit/camera.h"

void mhrfit_similarity_identity(mhrfit_similarity *sim) {
  static const double I3[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
  sim->s = 1.0;
  memcpy(sim->R, I3, sizeof I3);
  sim->t[0] = sim->t[1] = sim->t[2] = 0.0;
}

void mhrfit_similarity_apply(const mhrfit_similarity *sim, const double x[3], double y[3]) {
  double v[3];
  for (int a = 0; a < 3; a++) v[a] = sim->s * (sim->R[3 * a] * x[0] + sim->R[3 * a + 1] * x[1] + sim->R[3 * a + 2] * x[2]);
  for (int a = 0; a < 3; a++) y[a] = v[a] + sim->t[a];
}

static bool usable(const double *X, const double *Y, const double *w, size_t i) {
  double wi = w ? w[i] : 1.0;
  return wi > 0 && isfinite(wi) && isfinite(X[3 * i]) && isfinite(X[3 * i + 1]) && isfinite(X[3 * i + 2]) &&
         isfinite(Y[3 * i]) && isfinite(Y[3 * i + 1]) && isfinite(Y[3 * i + 2]);
}

bool mhrfit_similarity_fit(const double *X, const double *Y, const double *w, size_t n, bool with_scale,
                           mhrfit_similarity *sim, mhrfit_error *err) {
  double W = 0, mx[3] = {0, 0, 0}, my[3] = {0, 0, 0};
  size_t used = 0;
  for (size_t i = 0; i < n; i++) {
    if (!usable(X, Y, w, i)) continue;
    double wi = w ? w[i] : 1.0;
    W += wi;
    used++;
    for (int a = 0; a < 3; a++) {
      mx[a] += wi * X[3 * i + a];
      my[a] += wi * Y[3 * i + a];
    }
  }
  if (used < 3 || !(W > 0) || !isfinite(W))
    return MHRFIT_FAIL(err, MHRFIT_ERR_NUMERIC, "similarity: %zu usable point pairs, at least 3 needed", used);
  for (int a = 0; a < 3; a++) {
    mx[a] /= W;
    my[a] /= W;
  }
  double M[9] = {0}, vx = 0;
  for (size_t i = 0; i < n; i++) {
    if (!usable(X, Y, w, i)) continue;
    double wi = (w ? w[i] : 1.0) / W, xc[3], yc[3];
    for (int a = 0; a < 3; a++) {
      xc[a] = X[3 * i + a] - mx[a];
      yc[a] = Y[3 * i + a] - my[a];
    }
    for (int a = 0; a < 3; a++)
      for (int b = 0; b < 3; b++) M[3 * a + b] += wi * xc[a] * yc[b];
    vx += wi * (xc[0] * xc[0] + xc[1] * xc[1] + xc[2] * xc[2]);
  }
  if (!(vx > 1e-300))
    return MHRFIT_FAIL(err, MHRFIT_ERR_NUMERIC, "similarity: the source points coincide (zero spread)");
  double Sxx = M[0], Sxy = M[1], Sxz = M[2], Syx = M[3], Syy = M[4], Syz = M[5], Szx = M[6], Szy = M[7], Szz = M[8];
  double N[16] = {Sxx + Syy + Szz, Syz - Szy,        Szx - Sxz,         Sxy - Syx,
                  Syz - Szy,       Sxx - Syy - Szz,  Sxy + Syx,         Szx + Sxz,
                  Szx - Sxz,       Sxy + Syx,        -Sxx + Syy - Szz,  Syz + Szy,
                  Sxy - Syx,       Szx + Sxz,        Syz + Szy,         -Sxx - Syy + Szz};
  double ev[4], V[16];
  if (!mf_sym_eigen(N, 4, ev, V)) return MHRFIT_FAIL(err, MHRFIT_ERR_NUMERIC, "similarity: non-finite covariance");
  double q0 = V[3], q1 = V[7], q2 = V[11], q3 = V[15]; /* eigenvector of the largest eigenvalue */
  double *R = sim->R, q[4] = {q0, q1, q2, q3};
  mhrfit_quat_to_matrix(q, R);
  /* s = Σ w ỹᵀ R x̃ / Σ w ‖x̃‖² = trace(R M) / vx */
  double tr = 0;
  for (int a = 0; a < 3; a++)
    for (int b = 0; b < 3; b++) tr += R[3 * a + b] * M[3 * b + a];
  sim->s = with_scale ? tr / vx : 1.0;
  for (int a = 0; a < 3; a++)
    sim->t[a] = my[a] - sim->s * (R[3 * a] * mx[0] + R[3 * a + 1] * mx[1] + R[3 * a + 2] * mx[2]);
  return true;
}
