/* Supernodal sparse Cholesky with a minimum-degree ordering (see spchol.h). */
#include "common/spchol.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"

void mf_spchol_free(mf_spchol *c) {
  free(c->perm);
  free(c->iperm);
  free(c->super_first);
  free(c->below_start);
  free(c->below);
  free(c->val_start);
  free(c->val);
  free(c->upd_start);
  free(c->upd);
  free(c->y);
  memset(c, 0, sizeof *c);
}

/* Row stride of a supernode block of width w: a multiple of 4 (the padding is zero). */
#define LD(w) (((w) + 3) & ~(size_t)3)

static int popcount64(uint64_t x) {
  int n = 0;
  for (; x; x &= x - 1) n++;
  return n;
}

static bool bit(const uint64_t *set, size_t i) { return set[i / 64] >> (i % 64) & 1; }

bool mf_spchol_analyze(mf_spchol *c, int n, const unsigned char *pattern, mhrfit_error *err) {
  mf_spchol_free(c);
  if (n < 1) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "sparse Cholesky: order %d", n);
  size_t un = (size_t)n, words = (un + 63) / 64;
  uint64_t *adj = mf_calloc_array(un * words, sizeof *adj, err), *alive = mf_calloc_array(words, sizeof *alive, err);
  int *deg = mf_malloc_array(un, sizeof *deg, err), *first = mf_malloc_array(un, sizeof *first, err);
  c->perm = mf_malloc_array(un, sizeof *c->perm, err);
  c->iperm = mf_malloc_array(un, sizeof *c->iperm, err);
  c->super_first = mf_malloc_array(un + 1, sizeof *c->super_first, err);
  c->below_start = mf_malloc_array(un + 1, sizeof *c->below_start, err);
  c->val_start = mf_malloc_array(un + 1, sizeof *c->val_start, err);
  c->upd_start = mf_malloc_array(un + 1, sizeof *c->upd_start, err);
  c->y = mf_malloc_array(un, sizeof *c->y, err);
  if (!adj || !alive || !deg || !first || !c->perm || !c->iperm || !c->super_first || !c->below_start ||
      !c->val_start || !c->upd_start || !c->y)
    goto fail;
  for (size_t i = 0; i < un; i++) {
    alive[i / 64] |= (uint64_t)1 << (i % 64);
    for (size_t j = 0; j < un; j++)
      if (i != j && (pattern[i * un + j] || pattern[j * un + i])) adj[i * words + j / 64] |= (uint64_t)1 << (j % 64);
  }
  /* elimination game: each pivot's row of adj ends as the rows of its column of L (its neighbours
   * still alive when it is eliminated, original indices); deg[k] is their count */
  for (int k = 0; k < n; k++) {
    int best = -1, best_deg = 0;
    for (size_t v = 0; v < un; v++) {
      if (!bit(alive, v)) continue;
      int d = 0;
      for (size_t w = 0; w < words; w++) d += popcount64(adj[v * words + w] & alive[w]);
      if (best < 0 || d < best_deg) best = (int)v, best_deg = d;
    }
    size_t v = (size_t)best;
    alive[v / 64] &= ~((uint64_t)1 << (v % 64));
    uint64_t *av = adj + v * words;
    for (size_t w = 0; w < words; w++) av[w] &= alive[w];
    for (size_t a = 0; a < un; a++) {
      if (!bit(av, a)) continue;
      uint64_t *aa = adj + a * words;
      for (size_t w = 0; w < words; w++) aa[w] |= av[w];
      aa[a / 64] &= ~((uint64_t)1 << (a % 64));
    }
    c->perm[k] = best;
    c->iperm[best] = k;
    deg[k] = best_deg;
  }
  /* the first (lowest pivot) row of each column; pivots k and k + 1 share a supernode when column
   * k's rows are k + 1 and then exactly column k + 1's rows */
  for (int k = 0; k < n; k++) {
    first[k] = n;
    const uint64_t *av = adj + (size_t)c->perm[k] * words;
    for (size_t a = 0; a < un; a++)
      if (bit(av, a) && c->iperm[a] < first[k]) first[k] = c->iperm[a];
  }
  int ns = 0;
  size_t n_below = 0, n_val = 0, n_upd = 0;
  for (int k = 0; k < n;) {
    int e = k;
    while (e + 1 < n && first[e] == e + 1 && deg[e] == deg[e + 1] + 1) {
      const uint64_t *a0 = adj + (size_t)c->perm[e] * words, *a1 = adj + (size_t)c->perm[e + 1] * words;
      bool same = true; /* rows(e) \ {e + 1} == rows(e + 1) */
      for (size_t w = 0; w < words && same; w++) {
        uint64_t x = a0[w];
        size_t p = (size_t)c->perm[e + 1];
        if (p / 64 == w) x &= ~((uint64_t)1 << (p % 64));
        same = x == a1[w];
      }
      if (!same) break;
      e++;
    }
    size_t w = (size_t)(e - k + 1), m = (size_t)deg[e];
    c->super_first[ns] = k;
    c->below_start[ns] = (int)n_below;
    c->val_start[ns] = n_val;
    c->upd_start[ns] = n_upd;
    n_below += m;
    n_val += (w + m) * LD(w);
    n_upd += m * (m + 1) / 2;
    ns++;
    k = e + 1;
  }
  c->n_super = ns;
  c->super_first[ns] = n;
  c->below_start[ns] = (int)n_below;
  c->val_start[ns] = n_val;
  c->upd_start[ns] = n_upd;
  c->below = mf_malloc_array(n_below ? n_below : 1, sizeof *c->below, err);
  c->val = mf_malloc_array(n_val, sizeof *c->val, err);
  c->upd = mf_malloc_array(n_upd ? n_upd : 1, sizeof *c->upd, err);
  if (!c->below || !c->val || !c->upd) goto fail;
  for (int s = 0; s < ns; s++) {
    int last = c->super_first[s + 1] - 1, *b = c->below + c->below_start[s], m = 0;
    const uint64_t *av = adj + (size_t)c->perm[last] * words;
    for (size_t a = 0; a < un; a++) {
      if (!bit(av, a)) continue;
      int x = c->iperm[a], j = m++;
      for (; j > 0 && b[j - 1] > x; j--) b[j] = b[j - 1]; /* ascending */
      b[j] = x;
    }
  }
  /* the relative map: where each entry (below[a], below[b]), b <= a, of a supernode's update lands
   * in the block of the supernode holding column below[b] */
  int *super_of = deg; /* reused: the supernode of each pivot */
  for (int t = 0; t < ns; t++)
    for (int k = c->super_first[t]; k < c->super_first[t + 1]; k++) super_of[k] = t;
  for (int s = 0; s < ns; s++) {
    const int *b = c->below + c->below_start[s];
    int m = c->below_start[s + 1] - c->below_start[s];
    size_t *u = c->upd + c->upd_start[s];
    for (int a = 0; a < m; a++)
      for (int q = 0; q <= a; q++) {
        int row = b[a], col = b[q], t = super_of[col], k0 = c->super_first[t], k1 = c->super_first[t + 1];
        size_t ld = LD((size_t)(k1 - k0)), i;
        if (row < k1) {
          i = (size_t)(row - k0);
        } else { /* row is among t's rows below (ascending): binary search */
          const int *tb = c->below + c->below_start[t];
          int lo = 0, hi = c->below_start[t + 1] - c->below_start[t] - 1;
          while (lo < hi) {
            int mid = (lo + hi) / 2;
            if (tb[mid] < row) lo = mid + 1;
            else hi = mid;
          }
          i = (size_t)(k1 - k0 + lo);
        }
        *u++ = c->val_start[t] + i * ld + (size_t)(col - k0);
      }
  }
  c->n = n;
  free(adj), free(alive), free(deg), free(first);
  return true;
fail:
  free(adj), free(alive), free(deg), free(first);
  mf_spchol_free(c);
  return false;
}

void mf_spchol_zero(const mf_spchol *c, double *A) {
  size_t un = (size_t)c->n;
  for (int s = 0; s < c->n_super; s++) {
    int k0 = c->super_first[s], k1 = c->super_first[s + 1], m = c->below_start[s + 1] - c->below_start[s];
    const int *below = c->below + c->below_start[s];
    for (int i = k0; i < k1; i++)
      for (int j = k0; j <= i; j++) A[(size_t)i * un + (size_t)j] = 0;
    for (int r = 0; r < m; r++)
      for (int j = k0; j < k1; j++) A[(size_t)below[r] * un + (size_t)j] = 0;
  }
}

/* Dot product of n values with four independent sums. */
static inline double dot(const double *a, const double *b, int n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2];
    s3 += a[i + 3] * b[i + 3];
  }
  for (; i < n; i++) s0 += a[i] * b[i];
  return (s0 + s2) + (s1 + s3);
}

/* Dot product of n values, n a multiple of 4, with four independent sums. */
static inline double dot4(const double *a, const double *b, size_t n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (size_t i = 0; i < n; i += 4) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2];
    s3 += a[i + 3] * b[i + 3];
  }
  return (s0 + s2) + (s1 + s3);
}

bool mf_spchol_factor(mf_spchol *c, const double *A, double diag_scale, double diag_add) {
  size_t un = (size_t)c->n;
  /* every block from A: the lower diagonal block with the damped diagonal, the rows below; the
   * upper part of the diagonal blocks and the padding zero */
  for (int s = 0; s < c->n_super; s++) {
    int k0 = c->super_first[s], w = c->super_first[s + 1] - k0, m = c->below_start[s + 1] - c->below_start[s];
    size_t ld = LD((size_t)w);
    const int *below = c->below + c->below_start[s];
    double *V = c->val + c->val_start[s];
    memset(V, 0, (size_t)(w + m) * ld * sizeof *V);
    for (int i = 0; i < w; i++) {
      const double *Ai = A + (size_t)(k0 + i) * un + (size_t)k0;
      for (int j = 0; j < i; j++) V[(size_t)i * ld + (size_t)j] = Ai[j];
      V[(size_t)i * ld + (size_t)i] = Ai[i] * diag_scale + diag_add;
    }
    for (int r = 0; r < m; r++) {
      const double *Ar = A + (size_t)below[r] * un + (size_t)k0;
      for (int j = 0; j < w; j++) V[(size_t)(w + r) * ld + (size_t)j] = Ar[j];
    }
  }
  for (int s = 0; s < c->n_super; s++) {
    int k0 = c->super_first[s], w = c->super_first[s + 1] - k0, m = c->below_start[s + 1] - c->below_start[s];
    size_t ld = LD((size_t)w);
    double *V = c->val + c->val_start[s];
    /* the block's columns left to right (its updates from earlier supernodes are in): the
     * diagonal entry, then every row below it (the rest of the diagonal block, then the rows below
     * the supernode) */
    int rows = w + m;
    for (int j = 0; j < w; j++) {
      double *Lj = V + (size_t)j * ld, d = Lj[j] - dot(Lj, Lj, j);
      if (!(d > 0) || !isfinite(d)) return false;
      d = sqrt(d);
      Lj[j] = d;
      double inv = 1.0 / d;
      for (int i = j + 1; i < rows; i++) {
        double *Li = V + (size_t)i * ld;
        Li[j] = (Li[j] - dot(Li, Lj, j)) * inv;
      }
    }
    /* its rank-w update of the later blocks: entry (a, b) of P Pᵀ for the rows P below */
    const double *P = V + (size_t)w * ld;
    const size_t *u = c->upd + c->upd_start[s];
    for (int a = 0; a < m; a++) {
      const double *Pa = P + (size_t)a * ld;
      for (int b = 0; b <= a; b++) c->val[*u++] -= dot4(Pa, P + (size_t)b * ld, ld);
    }
  }
  return true;
}

bool mf_spchol_solve(mf_spchol *c, const double *b, double *x) {
  int n = c->n;
  double *y = c->y;
  for (int k = 0; k < n; k++) y[k] = b[c->perm[k]];
  for (int s = 0; s < c->n_super; s++) { /* L y = b */
    int k0 = c->super_first[s], w = c->super_first[s + 1] - k0, m = c->below_start[s + 1] - c->below_start[s];
    const int *below = c->below + c->below_start[s];
    size_t ld = LD((size_t)w);
    const double *D = c->val + c->val_start[s], *P = D + (size_t)w * ld;
    double *yk = y + k0;
    for (int i = 0; i < w; i++) yk[i] = (yk[i] - dot(D + (size_t)i * ld, yk, i)) / D[(size_t)i * ld + (size_t)i];
    for (int r = 0; r < m; r++) y[below[r]] -= dot(P + (size_t)r * ld, yk, w);
  }
  for (int s = c->n_super - 1; s >= 0; s--) { /* L^T x = y */
    int k0 = c->super_first[s], w = c->super_first[s + 1] - k0, m = c->below_start[s + 1] - c->below_start[s];
    const int *below = c->below + c->below_start[s];
    size_t ld = LD((size_t)w);
    const double *D = c->val + c->val_start[s], *P = D + (size_t)w * ld;
    double *yk = y + k0;
    for (int r = 0; r < m; r++) {
      double v = y[below[r]];
      for (int j = 0; j < w; j++) yk[j] -= P[(size_t)r * ld + (size_t)j] * v;
    }
    for (int i = w - 1; i >= 0; i--) {
      double v = yk[i] / D[(size_t)i * ld + (size_t)i];
      yk[i] = v;
      for (int j = 0; j < i; j++) yk[j] -= D[(size_t)i * ld + (size_t)j] * v;
    }
  }
  bool finite = true;
  for (int k = 0; k < n; k++) {
    x[c->perm[k]] = y[k];
    finite = finite && isfinite(y[k]);
  }
  return finite;
}
