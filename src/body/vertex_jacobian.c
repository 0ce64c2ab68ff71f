/* Analytic Jacobian of linear-blend-skinned vertices with respect to the model parameters (see
 * mhrfit_rig_vertex_jacobian() in include/mhrfit/rig.h for the math), and the vertex → skin
 * triple index it uses. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "body/model_file.h"
#include "body/rig_internal.h"
#include "common/mem.h"

#define MF_VJ_MAX_JOINTS 256
#define MF_CJ_BLOCK 512 /* hidden units gathered at a time by the corrective Jacobian */

bool mf_rig_index_skin(mhrfit_rig *r, mhrfit_error *err) {
  free(r->skin_vstart);
  free(r->skin_vorder);
  r->skin_vstart = mf_calloc_array(r->n_vertices + 1, sizeof *r->skin_vstart, err);
  r->skin_vorder = mf_malloc_array(r->n_skin, sizeof *r->skin_vorder, err);
  size_t *fill = mf_malloc_array(r->n_vertices, sizeof *fill, err);
  if (!r->skin_vstart || !r->skin_vorder || !fill || r->n_skin > INT32_MAX) {
    if (r->n_skin > INT32_MAX) MHRFIT_FAIL(err, MHRFIT_ERR_LIMIT, "too many skin weights");
    free(fill);
    free(r->skin_vstart);
    free(r->skin_vorder);
    r->skin_vstart = NULL;
    r->skin_vorder = NULL;
    return false;
  }
  for (size_t i = 0; i < r->n_skin; i++) r->skin_vstart[(size_t)r->skin_vertex[i] + 1]++;
  for (size_t v = 0; v < r->n_vertices; v++) {
    r->skin_vstart[v + 1] += r->skin_vstart[v];
    fill[v] = r->skin_vstart[v];
  }
  for (size_t i = 0; i < r->n_skin; i++) r->skin_vorder[fill[r->skin_vertex[i]]++] = (int32_t)i;
  free(fill);
  return true;
}

static void mat3_mul(const double A[9], const double B[9], double C[9]) {
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) C[3 * i + j] = A[3 * i] * B[j] + A[3 * i + 1] * B[3 + j] + A[3 * i + 2] * B[6 + j];
}

/* One skin influence of a vertex: joint k, weight w, world point p_k. */
static void influence(const mhrfit_rig *rig, const mhrfit_fk_pose *pose, const double *vr, size_t e, size_t *k_out,
                      double *w_out, double p[3]) {
  size_t k = (size_t)rig->skin_joint[e];
  const double *R0 = rig->rest_R + 9 * k, *t0 = rig->rest_t + 3 * k, *R = pose->R + 9 * k, *t = pose->t + 3 * k;
  double d[3] = {vr[0] - t0[0], vr[1] - t0[1], vr[2] - t0[2]}, o[3];
  for (int a = 0; a < 3; a++) o[a] = R0[a] * d[0] + R0[3 + a] * d[1] + R0[6 + a] * d[2]; /* R0ᵀ d */
  for (int a = 0; a < 3; a++) p[a] = pose->s[k] * (R[3 * a] * o[0] + R[3 * a + 1] * o[1] + R[3 * a + 2] * o[2]) + t[a];
  *k_out = k;
  *w_out = rig->skin_weight[e];
}

bool mhrfit_rig_vertex_jacobian(const mhrfit_rig *rig, const mhrfit_fk_pose *pose, const double *jp, const double *rest,
                                const int32_t *vertices, size_t n, double *pos, double *J, mhrfit_error *err) {
  size_t nj = rig->n_joints, np = rig->n_params;
  if (nj > MF_VJ_MAX_JOINTS)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "vertex Jacobian: %zu joints (at most %d)", nj, MF_VJ_MAX_JOINTS);
  for (size_t i = 0; i < n; i++)
    if (vertices[i] < 0 || (size_t)vertices[i] >= rig->n_vertices)
      return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "vertex Jacobian: vertex index %ld out of range (%zu vertices)",
                         (long)vertices[i], rig->n_vertices);
  for (size_t j = 0; j < nj; j++)
    for (int c = 3; c < 6; c++)
      if (!isfinite(jp[7 * j + (size_t)c]))
        return MHRFIT_FAIL(err, MHRFIT_ERR_NUMERIC, "vertex Jacobian: joint %zu (%s): rotation parameter is not finite",
                           j, rig->joint_names[j]);
  if (!rest) rest = rig->vertices;
  memset(J, 0, 3 * n * np * sizeof *J);

  size_t start[7 * MF_VJ_MAX_JOINTS + 1];
  mf_pt_row_starts(rig, start);
  /* world axes of the rotation channels of every joint: axes[9j + 3c'] for rx, ry, rz */
  static const double I3[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
  double axes[9 * MF_VJ_MAX_JOINTS];
  for (size_t j = 0; j < nj; j++) {
    int p = rig->parents[j];
    const double *Rp = p >= 0 ? pose->R + 9 * p : I3, *q = jp + 7 * j;
    double A[9];
    mat3_mul(Rp, rig->prerot + 9 * j, A);
    double cz = cos(q[5]), sz = sin(q[5]), cy = cos(q[4]), sy = sin(q[4]);
    const double loc[3][3] = {{cz * cy, sz * cy, -sy}, {-sz, cz, 0}, {0, 0, 1}}; /* Rz Ry e_x, Rz e_y, e_z */
    for (int c = 0; c < 3; c++)
      for (int a = 0; a < 3; a++)
        axes[9 * j + 3 * (size_t)c + (size_t)a] = A[3 * a] * loc[c][0] + A[3 * a + 1] * loc[c][1] + A[3 * a + 2] * loc[c][2];
  }

  size_t stamp[MF_VJ_MAX_JOINTS];
  int32_t chain[MF_VJ_MAX_JOINTS];
  double P[3 * MF_VJ_MAX_JOINTS], W[MF_VJ_MAX_JOINTS];
  memset(stamp, 0, nj * sizeof *stamp);
  for (size_t i = 0; i < n; i++) {
    size_t v = (size_t)vertices[i], tag = i + 1, n_chain = 0;
    const double *vr = rest + 3 * v;
    double x[3] = {0, 0, 0};
    /* P_j, W_j for every joint above an influence */
    size_t e0 = rig->skin_vstart ? rig->skin_vstart[v] : 0, e1 = rig->skin_vstart ? rig->skin_vstart[v + 1] : rig->n_skin;
    for (size_t ee = e0; ee < e1; ee++) {
      size_t e = rig->skin_vstart ? (size_t)rig->skin_vorder[ee] : ee;
      if (!rig->skin_vstart && (size_t)rig->skin_vertex[e] != v) continue; /* no index: scan all triples */
      size_t k;
      double w, p[3];
      influence(rig, pose, vr, e, &k, &w, p);
      for (int a = 0; a < 3; a++) x[a] += w * p[a];
      for (int j = (int)k; j >= 0; j = rig->parents[j]) {
        if (stamp[j] != tag) {
          stamp[j] = tag;
          P[3 * j] = P[3 * j + 1] = P[3 * j + 2] = 0;
          W[j] = 0;
          chain[n_chain++] = (int32_t)j;
        }
        for (int a = 0; a < 3; a++) P[3 * j + (size_t)a] += w * p[a];
        W[j] += w;
      }
    }
    if (pos) memcpy(pos + 3 * i, x, sizeof x);
    double *Jx = J + 3 * i * np, *Jy = Jx + np, *Jz = Jy + np;
    for (size_t ci = 0; ci < n_chain; ci++) {
      size_t j = (size_t)chain[ci];
      int p = rig->parents[j];
      const double *Rp = p >= 0 ? pose->R + 9 * p : I3, *tj = pose->t + 3 * j;
      double sp = p >= 0 ? pose->s[p] : 1.0, Wj = W[j];
      double D[3] = {P[3 * j] - Wj * tj[0], P[3 * j + 1] - Wj * tj[1], P[3 * j + 2] - Wj * tj[2]};
      for (size_t c = 0; c < 7; c++) {
        size_t r = 7 * j + c;
        if (start[r] == start[r + 1]) continue; /* channel not driven */
        double g[3];
        if (c < 3) {
          for (int a = 0; a < 3; a++) g[a] = Wj * sp * Rp[3 * a + (int)c];
        } else if (c < 6) {
          const double *w = axes + 9 * j + 3 * (c - 3);
          g[0] = w[1] * D[2] - w[2] * D[1];
          g[1] = w[2] * D[0] - w[0] * D[2];
          g[2] = w[0] * D[1] - w[1] * D[0];
        } else {
          for (int a = 0; a < 3; a++) g[a] = 0.6931471805599453 * D[a];
        }
        mf_pt_chain(rig, start, r, g, Jx, Jy, Jz);
      }
    }
  }
  return true;
}

/* Derivatives of the six corrective features of one joint (rig.h) with respect to its Euler
 * parameters: dF[k][c] = ∂f_k/∂(rx, ry, rz)_c. */
static void feature_derivatives(const double *q, double dF[6][3]) {
  double cx = cos(q[3]), sx = sin(q[3]), cy = cos(q[4]), sy = sin(q[4]), cz = cos(q[5]), sz = sin(q[5]);
  /* f = [cz cy − 1, sz cy, −sy, cz sy sx − sz cx, sz sy sx + cz cx − 1, cy sx] */
  const double d[6][3] = {
      {0, -cz * sy, -sz * cy},
      {0, -sz * sy, cz * cy},
      {0, -cy, 0},
      {cz * sy * cx + sz * sx, cz * cy * sx, -sz * sy * sx - cz * cx},
      {sz * sy * cx - cz * sx, sz * cy * sx, cz * sy * sx - sz * cx},
      {cy * cx, -sy * sx, 0},
  };
  memcpy(dF, d, sizeof d);
}

bool mhrfit_rig_corrective_jacobian_add(const mhrfit_rig *rig, const mhrfit_fk_pose *pose, const double *jp,
                                        const double *hidden, const int32_t *vertices, size_t n, double *J,
                                        mhrfit_error *err) {
  size_t nj = rig->n_joints, np = rig->n_params, nf = rig->n_corr_features, V = rig->n_vertices;
  if (!mhrfit_rig_has_correctives(rig))
    return MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "corrective Jacobian: pose correctives not loaded "
                       "(corrective_activation.npz and corrective_blendshapes_lod%d.npz)", rig->lod);
  if (nj > MF_VJ_MAX_JOINTS || nf != 6 * (nj - 2))
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "corrective Jacobian: %zu joints, %zu features", nj, nf);
  for (size_t i = 0; i < n; i++)
    if (vertices[i] < 0 || (size_t)vertices[i] >= V)
      return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "corrective Jacobian: vertex index %ld out of range (%zu vertices)",
                         (long)vertices[i], V);
  for (size_t j = 2; j < nj; j++)
    for (int c = 3; c < 6; c++)
      if (!isfinite(jp[7 * j + (size_t)c]))
        return MHRFIT_FAIL(err, MHRFIT_ERR_NUMERIC, "corrective Jacobian: joint %zu (%s): rotation parameter is not finite",
                           j, rig->joint_names[j]);
  for (size_t u = 0; u < rig->n_corr_hidden; u++)
    if (!isfinite(hidden[u]))
      return MHRFIT_FAIL(err, MHRFIT_ERR_NUMERIC, "corrective Jacobian: hidden unit %zu is not finite", u);
  size_t start[7 * MF_VJ_MAX_JOINTS + 1];
  mf_pt_row_starts(rig, start);
  double dF[MF_VJ_MAX_JOINTS][6][3];
  for (size_t j = 2; j < nj; j++) feature_derivatives(jp + 7 * j, dF[j]);
  double G[3][6 * MF_VJ_MAX_JOINTS]; /* ∂d_v/∂f for the current vertex */
  float wv[3 * MF_CJ_BLOCK];
  int32_t act[MF_CJ_BLOCK];
  for (size_t i = 0; i < n; i++) {
    size_t v = (size_t)vertices[i];
    /* M = ∂v/∂v_rest = Σ_k w_k s_k R_k R0_kᵀ */
    double M[9] = {0};
    size_t e0 = rig->skin_vstart ? rig->skin_vstart[v] : 0, e1 = rig->skin_vstart ? rig->skin_vstart[v + 1] : rig->n_skin;
    for (size_t ee = e0; ee < e1; ee++) {
      size_t e = rig->skin_vstart ? (size_t)rig->skin_vorder[ee] : ee;
      if ((size_t)rig->skin_vertex[e] != v) continue;
      size_t k = (size_t)rig->skin_joint[e];
      double ws = rig->skin_weight[e] * pose->s[k];
      const double *R = pose->R + 9 * k, *R0 = rig->rest_R + 9 * k;
      for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++)
          M[3 * a + b] += ws * (R[3 * a] * R0[3 * b] + R[3 * a + 1] * R0[3 * b + 1] + R[3 * a + 2] * R0[3 * b + 2]);
    }
    /* G[c][f] = Σ_{u active} W[u, v, c] A[u, f] (ReLU: inactive units have zero slope) */
    for (int c = 0; c < 3; c++) memset(G[c], 0, nf * sizeof G[c][0]);
    for (size_t u0 = 0; u0 < rig->n_corr_hidden; u0 += MF_CJ_BLOCK) {
      /* gather this vertex's layer-2 rows of the active units first: the loads are scattered
       * (one cache line per unit) and independent, so a tight loop overlaps their misses */
      size_t u1 = u0 + MF_CJ_BLOCK < rig->n_corr_hidden ? u0 + MF_CJ_BLOCK : rig->n_corr_hidden, cnt = 0;
      for (size_t u = u0; u < u1; u++) {
        if (!(hidden[u] > 0)) continue;
        const float *w = rig->corr_blend + (u * V + v) * 3;
        act[cnt] = (int32_t)u;
        wv[3 * cnt] = w[0];
        wv[3 * cnt + 1] = w[1];
        wv[3 * cnt + 2] = w[2];
        cnt++;
      }
      for (size_t q = 0; q < cnt; q++) {
        size_t u = (size_t)act[q];
        double w0 = wv[3 * q], w1 = wv[3 * q + 1], w2 = wv[3 * q + 2];
        for (size_t e = rig->corr_start[u]; e < rig->corr_start[u + 1]; e++) {
          size_t f = (size_t)rig->corr_feature[e];
          double a = rig->corr_weight[e];
          G[0][f] += a * w0;
          G[1][f] += a * w1;
          G[2][f] += a * w2;
        }
      }
    }
    double *Jx = J + 3 * i * np, *Jy = Jx + np, *Jz = Jy + np;
    for (size_t j = 2; j < nj; j++) {
      for (size_t c = 0; c < 3; c++) {
        size_t r = 7 * j + 3 + c;
        if (start[r] == start[r + 1]) continue; /* channel not driven */
        double dd[3] = {0, 0, 0}, g[3];
        for (size_t k = 0; k < 6; k++) {
          double s = dF[j][k][c];
          if (s == 0.0) continue;
          size_t f = 6 * (j - 2) + k;
          dd[0] += G[0][f] * s;
          dd[1] += G[1][f] * s;
          dd[2] += G[2][f] * s;
        }
        if (dd[0] == 0.0 && dd[1] == 0.0 && dd[2] == 0.0) continue;
        for (int a = 0; a < 3; a++) g[a] = M[3 * a] * dd[0] + M[3 * a + 1] * dd[1] + M[3 * a + 2] * dd[2];
        mf_pt_chain(rig, start, r, g, Jx, Jy, Jz);
      }
    }
  }
  return true;
}
