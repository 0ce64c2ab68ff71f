/* Small dense linear algebra (internal). Matrices are row-major double arrays. */
#ifndef MF_COMMON_LINALG_H
#define MF_COMMON_LINALG_H

#include <stdbool.h>

/* Eigen-decomposition of the symmetric n x n matrix A (n <= 16) by cyclic Jacobi rotations:
 * eigenvalues ascending in w[0..n-1], eigenvector k in column k of V (row-major n x n).
 * Returns false when A holds a non-finite value (nothing is computed then). */
bool mf_sym_eigen(const double *A, int n, double *w, double *V);

/* Solves the symmetric positive definite system A x = b (n x n, n <= 64) by Cholesky.
 * Returns false when A is not positive definite (or not finite). */
bool mf_cholesky_solve(const double *A, const double *b, int n, double *x);

/* Solves the symmetric positive definite system A x = b (n x n, any n) by Cholesky with a caller
 * workspace `L` of n*n doubles (A is not modified). Returns false when A is not positive definite
 * (or not finite). */
bool mf_cholesky_solve_ws(const double *A, const double *b, int n, double *x, double *L);

/* Cholesky solve specialised for 3x3 (same contract as mf_cholesky_solve with n = 3). */
bool mf_solve3_spd(const double A[9], const double b[3], double x[3]);

#endif
