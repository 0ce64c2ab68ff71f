/* MHR pose correctives (MHR.md §7.2): loading and validating the two layers, features, layer 1 +
 * ReLU, layer 2, and the full mesh (blend shapes + correctives + skinning). See
 * include/mhrfit/rig.h for the math. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "body/rig_internal.h"
#include "common/mem.h"
#include "common/path.h"
#include "mhrfit/npy.h"

static const char *const L1_INDICES = "0.sparse_indices", *const L1_WEIGHTS = "0.sparse_weight",
                         *const L1_MASK = "posedirs_sparse_mask", *const L2_BLEND = "corrective_blendshapes";

static bool is_int_dtype(mhrfit_dtype d) { return d >= MHRFIT_DT_I8 && d <= MHRFIT_DT_U64; }
static bool is_float_dtype(mhrfit_dtype d) { return d == MHRFIT_DT_F16 || d == MHRFIT_DT_F32 || d == MHRFIT_DT_F64; }

static void shape_str(const mhrfit_array *a, char *buf, size_t size) {
  size_t n = (size_t)snprintf(buf, size, "(");
  for (int i = 0; i < a->ndim && n < size; i++) n += (size_t)snprintf(buf + n, size - n, i ? ", %zu" : "%zu", a->shape[i]);
  if (n < size) snprintf(buf + n, size - n, a->ndim == 1 ? ",)" : ")");
}

/* The array member `key` of `npz`, or NULL with an error. */
static const mhrfit_array *member(const mhrfit_value *npz, const char *name, const char *key, mhrfit_error *err) {
  const mhrfit_value *v = npz && npz->kind == MHRFIT_V_DICT ? mhrfit_value_dict_get(npz, key) : NULL;
  if (!v) {
    MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "%s: member '%s' missing", name, key);
    return NULL;
  }
  if (v->kind != MHRFIT_V_ARRAY || !v->u.array) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: member '%s': expected a numeric array, got %s", name, key,
                mhrfit_value_kind_name(v->kind));
    return NULL;
  }
  return v->u.array;
}

static bool bad_shape(const mhrfit_array *a, const char *name, const char *key, const char *want, mhrfit_error *err) {
  char got[160];
  shape_str(a, got, sizeof got);
  return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: member '%s': expected %s, got %s %s", name, key, want,
                     mhrfit_dtype_name(a->dtype), got);
}

void mf_corr_layer1_free(mf_corr_layer1 *l) {
  free(l->start);
  free(l->feature);
  free(l->weight);
  memset(l, 0, sizeof *l);
}

bool mf_corr_layer1_parse(const mhrfit_value *npz, const char *name, size_t n_features, mf_corr_layer1 *out,
                          mhrfit_error *err) {
  memset(out, 0, sizeof *out);
  const mhrfit_array *idx = member(npz, name, L1_INDICES, err), *w = idx ? member(npz, name, L1_WEIGHTS, err) : NULL,
                     *mask = w ? member(npz, name, L1_MASK, err) : NULL;
  if (!mask) return false;
  char want[96];
  if (mask->dtype != MHRFIT_DT_BOOL || mask->ndim != 2 || mask->shape[0] == 0 || mask->shape[1] != n_features) {
    snprintf(want, sizeof want, "bool (hidden units, %zu)", n_features);
    return bad_shape(mask, name, L1_MASK, want, err);
  }
  if (!is_int_dtype(idx->dtype) || idx->ndim != 2 || idx->shape[0] != 2)
    return bad_shape(idx, name, L1_INDICES, "integers (2, N)", err);
  size_t nw = idx->shape[1], nh = mask->shape[0], nf = n_features;
  if (!is_float_dtype(w->dtype) || w->ndim != 1 || w->shape[0] != nw) {
    snprintf(want, sizeof want, "floats (%zu,) like %s", nw, L1_INDICES);
    return bad_shape(w, name, L1_WEIGHTS, want, err);
  }
  if (nh > INT32_MAX || nf > INT32_MAX) return MHRFIT_FAIL(err, MHRFIT_ERR_LIMIT, "%s: layer 1 too large", name);
  /* `seen` marks the mask's non-zeros (1) and the pairs already listed (2) */
  size_t cells;
  if (!mf_mul_size(nh, nf, &cells)) return MHRFIT_FAIL(err, MHRFIT_ERR_LIMIT, "%s: layer 1 too large", name);
  unsigned char *seen = mf_malloc_array(cells, 1, err);
  out->start = mf_calloc_array(nh + 1, sizeof *out->start, err);
  out->feature = mf_malloc_array(nw, sizeof *out->feature, err);
  out->weight = mf_malloc_array(nw, sizeof *out->weight, err);
  size_t *fill = mf_malloc_array(nh, sizeof *fill, err);
  if (!seen || !out->start || !out->feature || !out->weight || !fill) goto fail;
  size_t n_mask = 0;
  for (size_t c = 0; c < cells; c++) n_mask += seen[c] = ((const unsigned char *)mask->data)[c] ? 1 : 0;
  if (n_mask != nw) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: member '%s' has %zu non-zeros but '%s' lists %zu entries", name, L1_MASK,
                n_mask, L1_INDICES, nw);
    goto fail;
  }
  for (size_t e = 0; e < nw; e++) {
    double u = mhrfit_array_get_f64(idx, e), f = mhrfit_array_get_f64(idx, nw + e), x = mhrfit_array_get_f64(w, e);
    if (!(u >= 0 && u < (double)nh) || !(f >= 0 && f < (double)nf)) {
      MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: member '%s': entry %zu: (hidden unit %.0f, feature %.0f) out of range "
                  "(%zu units, %zu features)", name, L1_INDICES, e, u, f, nh, nf);
      goto fail;
    }
    size_t cell = (size_t)u * nf + (size_t)f;
    if (seen[cell] != 1) {
      MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: member '%s': entry %zu: (hidden unit %zu, feature %zu) %s", name,
                  L1_INDICES, e, (size_t)u, (size_t)f,
                  seen[cell] ? "listed twice" : "is not set in member 'posedirs_sparse_mask'");
      goto fail;
    }
    seen[cell] = 2;
    if (!isfinite(x)) {
      MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: member '%s': entry %zu is not finite", name, L1_WEIGHTS, e);
      goto fail;
    }
    out->start[(size_t)u + 1]++;
  }
  for (size_t h = 0; h < nh; h++) {
    out->start[h + 1] += out->start[h];
    fill[h] = out->start[h];
  }
  for (size_t e = 0; e < nw; e++) { /* stable: the file's order within a unit */
    size_t u = (size_t)mhrfit_array_get_f64(idx, e), k = fill[u]++;
    out->feature[k] = (int32_t)mhrfit_array_get_f64(idx, nw + e);
    out->weight[k] = mhrfit_array_get_f64(w, e);
  }
  out->n_features = nf;
  out->n_hidden = nh;
  out->n_weights = nw;
  free(seen);
  free(fill);
  return true;
fail:
  free(seen);
  free(fill);
  mf_corr_layer1_free(out);
  return false;
}

float *mf_corr_layer2_take(mhrfit_value *npz, const char *name, size_t n_hidden, size_t n_vertices, mhrfit_error *err) {
  const mhrfit_array *a = member(npz, name, L2_BLEND, err);
  if (!a) return NULL;
  if (!is_float_dtype(a->dtype) || a->ndim != 3 || a->shape[0] != n_hidden || a->shape[1] != n_vertices ||
      a->shape[2] != 3) {
    char want[96];
    snprintf(want, sizeof want, "floats (%zu, %zu, 3) (hidden units of layer 1, mesh vertices, xyz)", n_hidden,
             n_vertices);
    bad_shape(a, name, L2_BLEND, want, err);
    return NULL;
  }
  float *w;
  if (a->dtype == MHRFIT_DT_F32 && a->data) { /* take the data over */
    mhrfit_array *m = mhrfit_value_dict_get_mut(npz, L2_BLEND)->u.array;
    w = m->data;
    m->data = NULL;
    m->count = 0;
    m->shape[0] = 0;
  } else {
    w = mf_malloc_array(a->count, sizeof *w, err);
    if (!w) return NULL;
    for (size_t i = 0; i < a->count; i++) w[i] = (float)mhrfit_array_get_f64(a, i);
  }
  size_t count = n_hidden * n_vertices * 3;
  for (size_t i = 0; i < count; i++)
    if (!isfinite(w[i])) {
      MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: member '%s': element [%zu, %zu, %zu] is not finite", name, L2_BLEND,
                  i / (3 * n_vertices), i / 3 % n_vertices, i % 3);
      free(w);
      return NULL;
    }
  return w;
}

void mf_rig_free_correctives(mhrfit_rig *r) {
  free(r->corr_start);
  free(r->corr_feature);
  free(r->corr_weight);
  free(r->corr_blend);
  r->corr_start = NULL;
  r->corr_feature = NULL;
  r->corr_weight = NULL;
  r->corr_blend = NULL;
  r->n_corr_features = r->n_corr_hidden = r->n_corr_weights = 0;
}

bool mhrfit_rig_load_correctives(mhrfit_rig *rig, const char *dir, unsigned flags, mhrfit_error *err) {
  mf_rig_free_correctives(rig);
  if (flags & MHRFIT_RIG_NO_CORRECTIVES) return true;
  if (rig->n_joints < 3) return true; /* no feature: nothing to correct */
  char l2_name[64];
  snprintf(l2_name, sizeof l2_name, MHRFIT_CORRECTIVE_BLENDSHAPES_FMT, rig->lod);
  char *p1 = mf_path_join(dir, "corrective_activation.npz", err), *p2 = mf_path_join(dir, l2_name, err);
  mhrfit_value *v = NULL;
  mf_corr_layer1 l1 = {0};
  float *blend = NULL;
  bool ok = false;
  if (!p1 || !p2) goto done;
  if (!mf_is_file(p1)) {
    ok = true; /* no layer 1: no correctives */
    goto done;
  }
  v = mhrfit_npz_load(p1, NULL, err);
  if (!v || !mf_corr_layer1_parse(v, p1, 6 * (rig->n_joints - 2), &l1, err)) goto done;
  mhrfit_value_free(v);
  v = NULL;
  if (!(flags & MHRFIT_RIG_NO_CORRECTIVE_BLENDSHAPES) && mf_is_file(p2)) {
    v = mhrfit_npz_load(p2, NULL, err);
    if (!v || !(blend = mf_corr_layer2_take(v, p2, l1.n_hidden, rig->n_vertices, err))) goto done;
  }
  rig->n_corr_features = l1.n_features;
  rig->n_corr_hidden = l1.n_hidden;
  rig->n_corr_weights = l1.n_weights;
  rig->corr_start = l1.start;
  rig->corr_feature = l1.feature;
  rig->corr_weight = l1.weight;
  rig->corr_blend = blend;
  memset(&l1, 0, sizeof l1);
  blend = NULL;
  ok = true;
done:
  mf_corr_layer1_free(&l1);
  free(blend);
  mhrfit_value_free(v);
  free(p1);
  free(p2);
  return ok;
}

bool mhrfit_rig_has_correctives(const mhrfit_rig *rig) {
  return rig && rig->corr_start && rig->corr_blend && rig->n_corr_hidden > 0;
}

bool mhrfit_rig_corrective_features(const mhrfit_rig *rig, const double *jp, double *feat, mhrfit_error *err) {
  if (rig->n_joints < 3) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "rig has %zu joints: no corrective features", rig->n_joints);
  for (size_t j = 2; j < rig->n_joints; j++) {
    double rx = jp[7 * j + 3], ry = jp[7 * j + 4], rz = jp[7 * j + 5];
    if (!isfinite(rx) || !isfinite(ry) || !isfinite(rz))
      return MHRFIT_FAIL(err, MHRFIT_ERR_NUMERIC, "joint %zu (%s): rotation parameter is not finite", j,
                         rig->joint_names[j]);
    double cx = cos(rx), sx = sin(rx), cy = cos(ry), sy = sin(ry), cz = cos(rz), sz = sin(rz);
    double *f = feat + 6 * (j - 2);
    /* first two columns of Rz·Ry·Rx, minus those of the identity */
    f[0] = cz * cy - 1.0;
    f[1] = sz * cy;
    f[2] = -sy;
    f[3] = cz * sy * sx - sz * cx;
    f[4] = sz * sy * sx + cz * cx - 1.0;
    f[5] = cy * sx;
  }
  return true;
}

bool mhrfit_rig_corrective_hidden(const mhrfit_rig *rig, const double *feat, double *hidden, mhrfit_error *err) {
  if (!rig->corr_start)
    return MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "pose correctives not loaded (corrective_activation.npz absent)");
  for (size_t i = 0; i < rig->n_corr_features; i++)
    if (!isfinite(feat[i])) return MHRFIT_FAIL(err, MHRFIT_ERR_NUMERIC, "corrective feature %zu is not finite", i);
  for (size_t u = 0; u < rig->n_corr_hidden; u++) {
    double s = 0;
    for (size_t e = rig->corr_start[u]; e < rig->corr_start[u + 1]; e++) s += rig->corr_weight[e] * feat[rig->corr_feature[e]];
    hidden[u] = s > 0 ? s : 0.0;
  }
  return true;
}

static bool check_layer2(const mhrfit_rig *rig, const double *hidden, mhrfit_error *err) {
  if (!rig->corr_blend) {
    return MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "pose corrective blend shapes not loaded "
                       "(corrective_blendshapes_lod%d.npz absent; it comes with the MHR release assets)", rig->lod);
  }
  for (size_t u = 0; u < rig->n_corr_hidden; u++)
    if (!isfinite(hidden[u])) return MHRFIT_FAIL(err, MHRFIT_ERR_NUMERIC, "corrective hidden unit %zu is not finite", u);
  return true;
}

/* out += layer 2 · hidden over all vertices, skipping inactive units. */
static void offsets_add(const mhrfit_rig *rig, const double *hidden, double *restrict out) {
  size_t n = 3 * rig->n_vertices;
  for (size_t u = 0; u < rig->n_corr_hidden; u++) {
    double h = hidden[u];
    if (h == 0.0) continue;
    const float *restrict w = rig->corr_blend + u * n;
    for (size_t i = 0; i < n; i++) out[i] += h * (double)w[i];
  }
}

bool mhrfit_rig_corrective_offsets(const mhrfit_rig *rig, const double *hidden, double *out, mhrfit_error *err) {
  if (!check_layer2(rig, hidden, err)) return false;
  memset(out, 0, 3 * rig->n_vertices * sizeof *out);
  offsets_add(rig, hidden, out);
  return true;
}

bool mhrfit_rig_corrective_offsets_subset(const mhrfit_rig *rig, const double *hidden, const int32_t *vertices,
                                          size_t n, double *out, mhrfit_error *err) {
  if (!check_layer2(rig, hidden, err)) return false;
  for (size_t i = 0; i < n; i++)
    if (vertices[i] < 0 || (size_t)vertices[i] >= rig->n_vertices)
      return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "vertex index %ld out of range (%zu vertices)", (long)vertices[i],
                         rig->n_vertices);
  memset(out, 0, 3 * n * sizeof *out);
  size_t stride = 3 * rig->n_vertices;
  for (size_t u = 0; u < rig->n_corr_hidden; u++) {
    double h = hidden[u];
    if (h == 0.0) continue;
    const float *w = rig->corr_blend + u * stride;
    for (size_t i = 0; i < n; i++) {
      const float *wv = w + 3 * (size_t)vertices[i];
      out[3 * i] += h * wv[0];
      out[3 * i + 1] += h * wv[1];
      out[3 * i + 2] += h * wv[2];
    }
  }
  return true;
}

size_t mhrfit_rig_skin_work_size(const mhrfit_rig *rig) {
  return 3 * rig->n_vertices + rig->n_corr_features + rig->n_corr_hidden;
}

bool mhrfit_rig_skin_full(const mhrfit_rig *rig, const double *coeffs, size_t n_coeffs, const mhrfit_fk_pose *pose,
                          const double *jp, double *work, double *out, mhrfit_error *err) {
  if (n_coeffs > rig->n_shapes) n_coeffs = rig->n_shapes;
  for (size_t k = 0; k < n_coeffs; k++)
    if (!isfinite(coeffs[k])) return MHRFIT_FAIL(err, MHRFIT_ERR_NUMERIC, "blend-shape coefficient %zu is not finite", k);
  double *rest = work;
  if (jp && mhrfit_rig_has_correctives(rig)) {
    double *feat = work + 3 * rig->n_vertices, *hidden = feat + rig->n_corr_features;
    if (!mhrfit_rig_corrective_features(rig, jp, feat, err) || !mhrfit_rig_corrective_hidden(rig, feat, hidden, err))
      return false;
    mhrfit_rig_shaped_vertices(rig, coeffs, n_coeffs, rest);
    offsets_add(rig, hidden, rest);
  } else {
    mhrfit_rig_shaped_vertices(rig, coeffs, n_coeffs, rest);
  }
  mhrfit_rig_skin_rest(rig, pose, rest, out);
  return true;
}
