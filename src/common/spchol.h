/* Sparse Cholesky factorisation of symmetric positive definite matrices with a fixed non-zero
 * pattern (internal).
 *
 * mf_spchol_analyze() takes the structural pattern once: it orders the pivots by minimum degree
 * (ties to the lower index), computes the filled pattern of the factor L by the elimination game
 * and groups consecutive pivots whose columns of L share their structure into supernodes.
 * mf_spchol_factor() then factors any matrix with that pattern — given in pivot order, as a dense
 * n x n row-major array of which only the diagonal and the lower-triangle non-zeros of L are read
 * — one supernode at a time with dense kernels (a small dense Cholesky of its diagonal block and
 * the triangular solve of the rows below it, then its rank update of the later blocks it couples,
 * through a map of their positions made by the analysis); mf_spchol_solve() solves with the
 * factor. The cost is sum_k (nnz of column k)^2 / 2
 * instead of n^3 / 6: for the kinematic tree of a body model, whose parameters couple only along
 * ancestor chains, a small fraction of the dense cost. */
#ifndef MF_COMMON_SPCHOL_H
#define MF_COMMON_SPCHOL_H

#include <stdbool.h>
#include <stddef.h>

#include "mhrfit/error.h"

typedef struct mf_spchol {
  int n;            /* order; 0 before an analysis */
  int *perm;        /* perm[k]: original index of pivot k */
  int *iperm;       /* iperm[i]: pivot position of original index i */
  int n_super;      /* supernodes: pivots super_first[s] .. super_first[s + 1] - 1 */
  int *super_first; /* n_super + 1 */
  int *below_start; /* n_super + 1 offsets into below */
  int *below;       /* per supernode, ascending pivot positions of the rows below its diagonal block */
  size_t *val_start; /* n_super + 1 offsets into val: per supernode of width w with m rows below,
                        its (w + m) x w block of L (diagonal block, then the rows below), row-major
                        with a row stride of w rounded up to a multiple of 4 */
  double *val;
  size_t *upd_start; /* n_super + 1 offsets into upd */
  size_t *upd;       /* per supernode, for its update entries (a, b), b <= a, of the rows below
                        (row-major lower triangle): their offsets in val */
  double *y;        /* n values of scratch for the solves */
} mf_spchol;

/* Analyses the symmetric pattern `pattern` (n x n bytes, row-major, non-zero where the matrix may
 * be non-zero; the diagonal is always taken as non-zero) into `c`, which is freed first (it must
 * be zeroed or from an earlier analysis). False with MHRFIT_ERR_NOMEM or MHRFIT_ERR_ARGUMENT (n < 1). */
bool mf_spchol_analyze(mf_spchol *c, int n, const unsigned char *pattern, mhrfit_error *err);

/* Zeroes the entries of A (n x n, pivot order) that mf_spchol_factor() reads: the diagonal and the
 * lower-triangle non-zeros of L (the pattern and its fill). */
void mf_spchol_zero(const mf_spchol *c, double *A);

/* Factors the matrix whose pivot-order lower triangle is A (n x n row-major) with its diagonal
 * replaced by A_kk * diag_scale + diag_add. Only the diagonal and the lower-triangle non-zeros of
 * L are read, so A must be zero at the fill positions (start from mf_spchol_zero()). Returns false
 * when the matrix is not positive definite or not finite. */
bool mf_spchol_factor(mf_spchol *c, const double *A, double diag_scale, double diag_add);

/* Solves A x = b with the factor of a successful mf_spchol_factor(): `b` and `x` are in the
 * original order (x[i] answers b[i]); they may alias. False when the solution is not finite. */
bool mf_spchol_solve(mf_spchol *c, const double *b, double *x);

/* Frees the arrays of `c` (not `c` itself) and zeroes it. */
void mf_spchol_free(mf_spchol *c);

#endif
