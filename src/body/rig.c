/* The MHR rig: loading and forward kinematics (see include/mhrfit/rig.h). */
#include "mhrfit/rig.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "body/fbx.h"
#include "body/model_file.h"
#include "body/rig_internal.h"
#include "common/file.h"
#include "common/mem.h"
#include "common/path.h"

void mhrfit_euler_zyx(double rx, double ry, double rz, double R[9]) {
  /* most channels are not driven: cos 0 = 1 and sin ±0 = ±0 exactly, without the library calls */
  double cx = rx == 0 ? 1.0 : cos(rx), sx = rx == 0 ? rx : sin(rx);
  double cy = ry == 0 ? 1.0 : cos(ry), sy = ry == 0 ? ry : sin(ry);
  double cz = rz == 0 ? 1.0 : cos(rz), sz = rz == 0 ? rz : sin(rz);
  /* Rz·Ry·Rx */
  R[0] = cz * cy;
  R[1] = cz * sy * sx - sz * cx;
  R[2] = cz * sy * cx + sz * sx;
  R[3] = sz * cy;
  R[4] = sz * sy * sx + cz * cx;
  R[5] = sz * sy * cx - cz * sx;
  R[6] = -sy;
  R[7] = cy * sx;
  R[8] = cy * cx;
}

static void mat3_mul(const double A[9], const double B[9], double C[9]) {
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) C[3 * i + j] = A[3 * i] * B[j] + A[3 * i + 1] * B[3 + j] + A[3 * i + 2] * B[6 + j];
}

long mhrfit_rig_joint_index(const mhrfit_rig *rig, const char *name) {
  for (size_t i = 0; i < rig->n_joints; i++)
    if (strcmp(rig->joint_names[i], name) == 0) return (long)i;
  return -1;
}

long mhrfit_rig_param_index(const mhrfit_rig *rig, const char *name) {
  for (size_t i = 0; i < rig->n_params; i++)
    if (strcmp(rig->param_names[i], name) == 0) return (long)i;
  return -1;
}

void mhrfit_rig_free(mhrfit_rig *r) {
  if (!r) return;
  free(r->joint_names);
  free(r->parents);
  free(r->offsets);
  free(r->prerot);
  free(r->param_names);
  free(r->pt);
  free(r->limits);
  free(r->vertices);
  free(r->faces);
  free(r->skin_vertex);
  free(r->skin_joint);
  free(r->skin_weight);
  free(r->bind_global);
  free(r->rest_R);
  free(r->rest_t);
  free(r->shape_start);
  free(r->shape_vertex);
  free(r->shape_delta);
  mf_rig_free_correctives(r);
  free(r->skin_vstart);
  free(r->skin_vorder);
  free(r);
}

bool mf_rig_set_rest_pose(mhrfit_rig *r, mhrfit_error *err) {
  double *m0 = mf_calloc_array(r->n_params ? r->n_params : 1, sizeof(double), err);
  double *s0 = mf_calloc_array(r->n_joints, sizeof(double), err);
  r->rest_R = mf_calloc_array(r->n_joints * 9, sizeof(double), err);
  r->rest_t = mf_calloc_array(r->n_joints * 3, sizeof(double), err);
  mhrfit_fk_pose rest = {r->rest_R, r->rest_t, s0};
  bool ok = m0 && s0 && r->rest_R && r->rest_t && mhrfit_rig_fk(r, m0, &rest, NULL, err);
  free(m0);
  free(s0);
  return ok;
}

mhrfit_rig *mhrfit_rig_load(const char *dir, int lod, mhrfit_error *err) {
  return mhrfit_rig_load_flags(dir, lod, 0, err);
}

mhrfit_rig *mhrfit_rig_load_flags(const char *dir, int lod, unsigned flags, mhrfit_error *err) {
  if (lod < 0) {
    mf_names files;
    if (!mf_list_dir(dir, ".fbx", false, &files, err)) return NULL;
    /* LOD 1 (SAM 3D Body's own mesh, 18,439 vertices) when present, else the lowest present */
    for (size_t i = 0; i < files.count; i++)
      if (strncmp(files.items[i], "lod", 3) == 0 && (lod < 0 || strcmp(files.items[i], "lod1.fbx") == 0))
        lod = atoi(files.items[i] + 3);
    mf_names_free(&files);
    if (lod < 0) {
      MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "%s: no lod<N>.fbx file (point --assets or MHRFIT_ASSETS at the MHR assets)", dir);
      return NULL;
    }
  }
  char fbx_name[32];
  snprintf(fbx_name, sizeof fbx_name, "lod%d.fbx", lod);
  char *fbx_path = mf_path_join(dir, fbx_name, err), *model_path = mf_path_join(dir, "compact_v6_1.model", err);
  mhrfit_rig *r = calloc(1, sizeof *r);
  unsigned char *data = NULL;
  size_t len;
  mf_fbx *f = NULL;
  mf_fbx_rig fr;
  memset(&fr, 0, sizeof fr);
  if (!fbx_path || !model_path || !r) {
    if (!r) MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
    goto fail;
  }
  r->lod = lod;
  if (!mf_read_file(fbx_path, (size_t)1 << 31, &data, &len, err)) goto fail;
  f = mf_fbx_parse(data, len, fbx_path, 0, err);
  if (!f || !mf_fbx_extract_rig(f, fbx_path, &fr, err)) goto fail;
  r->n_joints = fr.n_joints;
  r->joint_names = fr.joint_names;
  r->parents = fr.parents;
  r->offsets = fr.offsets;
  r->n_vertices = fr.n_vertices;
  r->n_faces = fr.n_faces;
  r->vertices = fr.vertices;
  r->faces = fr.faces;
  r->n_skin = fr.n_skin;
  r->skin_vertex = fr.skin_vertex;
  r->skin_joint = fr.skin_joint;
  r->skin_weight = fr.skin_weight;
  r->bind_global = fr.bind_global;
  r->n_shapes = fr.n_shapes;
  r->shape_start = fr.shape_start;
  r->shape_vertex = fr.shape_vertex;
  r->shape_delta = fr.shape_delta;
  r->prerot = mf_malloc_array(r->n_joints * 9, sizeof(double), err);
  if (!r->prerot) goto fail_owned;
  const double d2r = 3.14159265358979323846 / 180.0;
  for (size_t j = 0; j < r->n_joints; j++)
    mhrfit_euler_zyx(fr.prerot_deg[3 * j] * d2r, fr.prerot_deg[3 * j + 1] * d2r, fr.prerot_deg[3 * j + 2] * d2r, r->prerot + 9 * j);
  free(fr.prerot_deg);
  fr.prerot_deg = NULL;
  mf_fbx_free(f);
  f = NULL;
  free(data);
  if (!mf_read_file(model_path, (size_t)64 << 20, &data, &len, err)) goto fail_owned;
  if (!mf_model_parse((const char *)data, len, model_path, r, err)) goto fail_owned;
  free(data);
  data = NULL;
  if (!mf_rig_set_rest_pose(r, err)) goto fail_owned;
  if (!mf_rig_index_skin(r, err) || !mhrfit_rig_load_correctives(r, dir, flags, err)) goto fail_owned;
  free(fbx_path);
  free(model_path);
  return r;
fail_owned:
  free(fr.prerot_deg);
  mf_fbx_free(f);
  free(data);
  free(fbx_path);
  free(model_path);
  mhrfit_rig_free(r);
  return NULL;
fail:
  mf_fbx_rig_free(&fr);
  mf_fbx_free(f);
  free(data);
  free(fbx_path);
  free(model_path);
  free(r);
  return NULL;
}

bool mhrfit_rig_fk(const mhrfit_rig *rig, const double *m, mhrfit_fk_pose *pose, double *jp_out, mhrfit_error *err) {
  for (size_t i = 0; i < rig->n_params; i++)
    if (!isfinite(m[i])) return MHRFIT_FAIL(err, MHRFIT_ERR_NUMERIC, "model parameter %zu (%s) is not finite", i, rig->param_names[i]);
  double jp_local[7 * 256];
  double *jp = jp_out ? jp_out : jp_local;
  if (!jp_out && rig->n_joints > 256) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "too many joints");
  memset(jp, 0, 7 * rig->n_joints * sizeof *jp);
  for (size_t i = 0; i < rig->n_pt; i++) jp[rig->pt[i].row] += rig->pt[i].coeff * m[rig->pt[i].param];
  for (size_t j = 0; j < rig->n_joints; j++) {
    const double *q = jp + 7 * j;
    double tl[3] = {rig->offsets[3 * j] + q[0], rig->offsets[3 * j + 1] + q[1], rig->offsets[3 * j + 2] + q[2]};
    double E[9], Rl[9];
    mhrfit_euler_zyx(q[3], q[4], q[5], E);
    mat3_mul(rig->prerot + 9 * j, E, Rl);
    double sl = exp2(q[6]);
    int p = rig->parents[j];
    double *R = pose->R + 9 * j, *t = pose->t + 3 * j;
    if (p < 0) {
      memcpy(R, Rl, sizeof Rl);
      memcpy(t, tl, sizeof tl);
      pose->s[j] = sl;
    } else {
      const double *Rp = pose->R + 9 * p, *tp = pose->t + 3 * p;
      double sp = pose->s[p];
      mat3_mul(Rp, Rl, R);
      for (int i = 0; i < 3; i++) t[i] = tp[i] + sp * (Rp[3 * i] * tl[0] + Rp[3 * i + 1] * tl[1] + Rp[3 * i + 2] * tl[2]);
      pose->s[j] = sp * sl;
    }
  }
  return true;
}

void mhrfit_rig_skin(const mhrfit_rig *rig, const mhrfit_fk_pose *pose, double *out) {
  mhrfit_rig_skin_rest(rig, pose, rig->vertices, out);
}

void mhrfit_rig_skin_rest(const mhrfit_rig *rig, const mhrfit_fk_pose *pose, const double *rest, double *out) {
  memset(out, 0, rig->n_vertices * 3 * sizeof *out);
  for (size_t i = 0; i < rig->n_skin; i++) {
    size_t v = (size_t)rig->skin_vertex[i], k = (size_t)rig->skin_joint[i];
    double w = rig->skin_weight[i];
    const double *R0 = rig->rest_R + 9 * k, *t0 = rig->rest_t + 3 * k, *R = pose->R + 9 * k, *t = pose->t + 3 * k;
    const double *vr = rest + 3 * v;
    double d[3] = {vr[0] - t0[0], vr[1] - t0[1], vr[2] - t0[2]}, l[3], g[3];
    for (int a = 0; a < 3; a++) l[a] = R0[a] * d[0] + R0[3 + a] * d[1] + R0[6 + a] * d[2]; /* R0ᵀ d */
    for (int a = 0; a < 3; a++) g[a] = pose->s[k] * (R[3 * a] * l[0] + R[3 * a + 1] * l[1] + R[3 * a + 2] * l[2]) + t[a];
    for (int a = 0; a < 3; a++) out[3 * v + a] += w * g[a];
  }
}

void mhrfit_rig_shaped_vertices(const mhrfit_rig *rig, const double *coeffs, size_t n_coeffs, double *out) {
  memcpy(out, rig->vertices, rig->n_vertices * 3 * sizeof *out);
  if (n_coeffs > rig->n_shapes) n_coeffs = rig->n_shapes;
  for (size_t k = 0; k < n_coeffs; k++) {
    double c = coeffs[k];
    if (c == 0.0) continue;
    for (size_t e = rig->shape_start[k]; e < rig->shape_start[k + 1]; e++)
      for (int a = 0; a < 3; a++) out[3 * (size_t)rig->shape_vertex[e] + a] += c * rig->shape_delta[3 * e + a];
  }
}

void mhrfit_rig_joint_jacobian(const mhrfit_rig *rig, const mhrfit_fk_pose *pose, const double *jp, double *J) {
  size_t nj = rig->n_joints, np = rig->n_params;
  memset(J, 0, 3 * nj * np * sizeof *J);
  /* start of each joint-parameter row in the (row-sorted) transform */
  size_t start[7 * 256 + 1];
  if (nj > 256) return;
  mf_pt_row_starts(rig, start);
  for (size_t j = 0; j < nj; j++) {
    int p = rig->parents[j];
    static const double I3[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    const double *Rp = p >= 0 ? pose->R + 9 * p : I3;
    double sp = p >= 0 ? pose->s[p] : 1.0;
    const double *q = jp + 7 * j, *tj = pose->t + 3 * j;
    /* world axes of the three rotation channels */
    double A[9], ax[3][3];
    mat3_mul(Rp, rig->prerot + 9 * j, A);
    double cz = cos(q[5]), sz = sin(q[5]), cy = cos(q[4]), sy = sin(q[4]);
    double ez[3] = {0, 0, 1}, ey[3] = {-sz, cz, 0}, ex[3] = {cz * cy, sz * cy, -sy}; /* Rz e_y, Rz Ry e_x */
    for (int a = 0; a < 3; a++) {
      ax[2][a] = A[3 * a] * ez[0] + A[3 * a + 1] * ez[1] + A[3 * a + 2] * ez[2];
      ax[1][a] = A[3 * a] * ey[0] + A[3 * a + 1] * ey[1] + A[3 * a + 2] * ey[2];
      ax[0][a] = A[3 * a] * ex[0] + A[3 * a + 1] * ex[1] + A[3 * a + 2] * ex[2];
    }
    for (int c = 0; c < 7; c++) {
      size_t r = 7 * j + (size_t)c;
      if (start[r] == start[r + 1]) continue; /* channel not driven */
      /* every joint k in the subtree of j (j itself for translations) */
      for (size_t k = j; k < nj; k++) {
        if (k != j) { /* is j an ancestor of k? */
          int a = rig->parents[k];
          while (a > (int)j) a = rig->parents[a];
          if (a != (int)j) continue;
        } else if (c >= 3) {
          continue;
        }
        const double *tk = pose->t + 3 * k;
        double d[3] = {tk[0] - tj[0], tk[1] - tj[1], tk[2] - tj[2]}, v[3];
        if (c < 3) {
          for (int a = 0; a < 3; a++) v[a] = sp * Rp[3 * a + c];
        } else if (c < 6) {
          const double *w = ax[c - 3];
          v[0] = w[1] * d[2] - w[2] * d[1];
          v[1] = w[2] * d[0] - w[0] * d[2];
          v[2] = w[0] * d[1] - w[1] * d[0];
        } else {
          for (int a = 0; a < 3; a++) v[a] = 0.6931471805599453 * d[a];
        }
        for (size_t e = start[r]; e < start[r + 1]; e++) {
          double coeff = rig->pt[e].coeff;
          size_t m = (size_t)rig->pt[e].param;
          for (int a = 0; a < 3; a++) J[(3 * k + (size_t)a) * np + m] += coeff * v[a];
        }
      }
    }
  }
}
