/* BVH writer: the skeleton with the sequence's scales baked into the offsets, the root's
 * translation and every joint's rotation per frame (export.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/file.h"
#include "common/mem.h"
#include "export/export_internal.h"

static const double PI = 3.14159265358979323846;

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Euler angles (a, b, c) with R = Rz(a) Ry(b) Rx(c), the one of the two solutions nearest
 * `prev` after unwrapping by whole turns (prev NULL: the principal one). */
static void euler_zyx(const double R[9], const double *prev, double out[3]) {
  double sb = -R[6];
  sb = sb > 1 ? 1 : sb < -1 ? -1 : sb;
  double cand[2][3];
  double b = asin(sb);
  if (sqrt(R[7] * R[7] + R[8] * R[8]) > 1e-9) {
    cand[0][0] = atan2(R[3], R[0]), cand[0][1] = b, cand[0][2] = atan2(R[7], R[8]);
  } else { /* gimbal lock: only a ± c is defined */
    cand[0][0] = atan2(-R[1], R[4]), cand[0][1] = b, cand[0][2] = 0;
  }
  cand[1][0] = cand[0][0] + PI, cand[1][1] = PI - b, cand[1][2] = cand[0][2] + PI;
  if (!prev) {
    memcpy(out, cand[0], sizeof cand[0]);
    return;
  }
  double best = INFINITY;
  for (int s = 0; s < 2; s++) {
    double e[3], d = 0;
    for (int a = 0; a < 3; a++) {
      e[a] = cand[s][a] + 2 * PI * round((prev[a] - cand[s][a]) / (2 * PI));
      d += (e[a] - prev[a]) * (e[a] - prev[a]);
    }
    if (d < best) best = d, memcpy(out, e, sizeof e);
  }
}

/* The BVH hierarchy, depth first from joint k. */
static void write_joint(mf_buf *b, const mhrfit_rig *rig, size_t k, int depth, const double *offsets) {
  char ind[128];
  int w = depth < 60 ? 2 * depth : 120;
  memset(ind, ' ', (size_t)w);
  ind[w] = '\0';
  bool root = rig->parents[k] < 0;
  mf_buf_printf(b, "%s%s %s\n%s{\n", ind, root ? "ROOT" : "JOINT", rig->joint_names[k], ind);
  const double *o = offsets + 3 * k;
  mf_buf_printf(b, "%s  OFFSET %.9g %.9g %.9g\n", ind, o[0], o[1], o[2]);
  mf_buf_printf(b, "%s  CHANNELS %s\n", ind,
                root ? "6 Xposition Yposition Zposition Zrotation Yrotation Xrotation" : "3 Zrotation Yrotation Xrotation");
  bool leaf = true;
  for (size_t c = k + 1; c < rig->n_joints; c++)
    if (rig->parents[c] == (int32_t)k) {
      write_joint(b, rig, c, depth + 1, offsets);
      leaf = false;
    }
  if (leaf) mf_buf_printf(b, "%s  End Site\n%s  {\n%s    OFFSET 0.000000 0.000000 0.000000\n%s  }\n", ind, ind, ind, ind);
  mf_buf_printf(b, "%s}\n", ind);
}

bool mf_export_bvh(mhrfit_exporter *ex, const char *path, mhrfit_error *err) {
  const mhrfit_rig *rig = ex->rig;
  const size_t J = rig->n_joints, n = ex->n;
  const double u = 1 / ex->o.units_scale;
  /* global scale of each joint (similarity x joint scales) and the scaled local offsets */
  double *gs = mf_malloc_array(n * J, sizeof(double), err);
  double *off = mf_malloc_array(n * J * 3, sizeof(double), err);
  double *med = mf_calloc_array(J * 3, sizeof(double), err);
  double *col = mf_malloc_array(n, sizeof(double), err);
  double *eul = mf_malloc_array(J * 3, sizeof(double), err);
  mf_buf b = {0};
  bool ok = false;
  if (!gs || !off || !med || !col || !eul) goto done;
  for (size_t i = 0; i < n; i++) {
    double s_sim = ex->src->sim[13 * ex->frames[i]];
    for (size_t k = 0; k < J; k++) {
      int p = rig->parents[k];
      double sp = p < 0 ? 1 : gs[i * J + (size_t)p];
      gs[i * J + k] = (p < 0 ? s_sim : sp) * ex->loc_s[i * J + k];
      for (int a = 0; a < 3; a++) off[(i * J + k) * 3 + (size_t)a] = p < 0 ? 0 : sp * ex->loc_t[(i * J + k) * 3 + (size_t)a] * u;
    }
  }
  for (size_t k = 0; k < J; k++)
    for (int a = 0; a < 3; a++) {
      for (size_t i = 0; i < n; i++) col[i] = off[(i * J + k) * 3 + (size_t)a];
      qsort(col, n, sizeof *col, cmp_double);
      med[3 * k + (size_t)a] = n % 2 ? col[n / 2] : 0.5 * (col[n / 2 - 1] + col[n / 2]);
    }
  /* spread of the offsets around the baked ones */
  ex->rep.bvh_offset_dev_m = 0;
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < J; k++) {
      const double *o = off + (i * J + k) * 3, *m = med + 3 * k;
      double d = sqrt((o[0] - m[0]) * (o[0] - m[0]) + (o[1] - m[1]) * (o[1] - m[1]) + (o[2] - m[2]) * (o[2] - m[2])) / u;
      if (d > ex->rep.bvh_offset_dev_m) ex->rep.bvh_offset_dev_m = d;
    }
  mf_buf_printf(&b, "HIERARCHY\n");
  for (size_t k = 0; k < J; k++)
    if (rig->parents[k] < 0) write_joint(&b, rig, k, 0, med);
  size_t first = ex->frames[0], last = ex->frames[n - 1];
  mf_buf_printf(&b, "MOTION\nFrames: %zu\nFrame Time: %.9g\n", last - first + 1, 1 / ex->rep.fps);
  /* per frame (held where not exported): root position, then the rotations in hierarchy order */
  size_t n_order = 0, *stack = mf_malloc_array(J, sizeof *stack, err);
  if (!stack) goto done;
  for (size_t r = J; r-- > 0;)
    if (rig->parents[r] < 0) stack[n_order++] = r;
  size_t n_stack = n_order, *ord = mf_malloc_array(J, sizeof *ord, err);
  n_order = 0;
  if (!ord) {
    free(stack);
    goto done;
  }
  while (n_stack) {
    size_t k = stack[--n_stack];
    ord[n_order++] = k;
    for (size_t c = J; c-- > k + 1;)
      if (rig->parents[c] == (int32_t)k) stack[n_stack++] = c;
  }
  free(stack);
  double *prev = mf_malloc_array(J * 3, sizeof(double), err);
  double *gR = mf_malloc_array(J * 9, sizeof(double), err), *gt = mf_malloc_array(J * 3, sizeof(double), err);
  if (!prev || !gR || !gt) {
    free(ord), free(prev), free(gR), free(gt);
    goto done;
  }
  bool have_prev = false;
  size_t i = 0;
  ex->rep.bvh_max_dev_m = 0;
  for (size_t f = first; f <= last; f++) {
    while (i + 1 < n && ex->frames[i + 1] <= f) i++; /* the exported frame shown at f (held) */
    double t[3], R[9], s;
    mf_export_root(ex, i, t, R, &s);
    /* root: U R F R_l0 and U (s R F t_l0 + t) */
    for (size_t q = 0; q < n_order; q++) {
      size_t k = ord[q];
      double L[9];
      if (rig->parents[k] < 0) {
        mf_mat3_mul(R, ex->loc_R + (i * J + k) * 9, L);
        double p[3];
        const double *tl = ex->loc_t + (i * J + k) * 3;
        for (int a = 0; a < 3; a++) p[a] = (s * (R[3 * a] * tl[0] + R[3 * a + 1] * tl[1] + R[3 * a + 2] * tl[2]) + t[a]) * u;
        mf_buf_printf(&b, "%s%.9g %.9g %.9g", q ? " " : "", p[0], p[1], p[2]);
        memcpy(gt + 3 * k, p, sizeof p);
      } else {
        memcpy(L, ex->loc_R + (i * J + k) * 9, sizeof L);
      }
      double e[3];
      euler_zyx(L, have_prev ? prev + 3 * k : NULL, e);
      memcpy(prev + 3 * k, e, sizeof e);
      mf_buf_printf(&b, " %.9g %.9g %.9g", e[0] * 180 / PI, e[1] * 180 / PI, e[2] * 180 / PI);
      /* the file's own kinematics, for the deviation from the fitted joints */
      double E[9];
      mhrfit_euler_zyx(e[2], e[1], e[0], E);
      int p = rig->parents[k];
      if (p < 0) {
        memcpy(gR + 9 * k, E, sizeof E);
      } else {
        const double *o = med + 3 * k, *PR = gR + 9 * (size_t)p;
        for (int a = 0; a < 3; a++) gt[3 * k + (size_t)a] = gt[3 * (size_t)p + (size_t)a] + PR[3 * a] * o[0] + PR[3 * a + 1] * o[1] + PR[3 * a + 2] * o[2];
        mf_mat3_mul(PR, E, gR + 9 * k);
      }
    }
    have_prev = true;
    mf_buf_put(&b, "\n", 1);
    if (ex->frames[i] != f) continue;
    for (size_t k = 0; k < J; k++) {
      const double *w = ex->world_j + (i * J + k) * 3;
      double d2 = 0;
      for (int a = 0; a < 3; a++) {
        double x = (ex->U[3 * a] * w[0] + ex->U[3 * a + 1] * w[1] + ex->U[3 * a + 2] * w[2]) - gt[3 * k + (size_t)a] / u;
        d2 += x * x;
      }
      if (sqrt(d2) > ex->rep.bvh_max_dev_m) ex->rep.bvh_max_dev_m = sqrt(d2), ex->rep.bvh_worst_frame = f;
    }
  }
  free(ord), free(prev), free(gR), free(gt);
  if (b.failed) {
    MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory writing %s", path);
    goto done;
  }
  mf_piece pc = {b.data, b.len};
  if (!mf_write_pieces_atomic(path, &pc, 1, MF_WRITE_SYNC, NULL, err)) goto done;
  ex->rep.n_files = 1, ex->rep.bytes = b.len;
  ok = true;
done:
  free(gs), free(off), free(med), free(col), free(eul);
  mf_buf_free(&b);
  return ok;
}
