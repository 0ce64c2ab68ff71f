/* Rig files: a loaded rig saved as a .npz of plain arrays and read back with validation (the
 * layout is documented in include/mhrfit/rig.h).
 *
 * Adding a rig array: one mf_npz_add_* line in mhrfit_rig_save(), one member() call in
 * mf_rig_from_npz() (required = false for an optional member, which older files lack), its
 * checks in mf_rig_validate(), its comparison in mhrfit_rig_equal() and a row in the table of
 * rig.h. Optional members keep MHRFIT_RIG_FILE_VERSION; older readers ignore unknown members. */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "body/rig_internal.h"
#include "common/mem.h"
#include "common/path.h"
#include "io/npz_writer.h"
#include "mhrfit/npy.h"
#include "mhrfit/rig.h"

#define MAX_JOINTS 256       /* the stack buffers of mhrfit_rig_fk() and the joint Jacobian */
#define MAX_PARAMS 4096
#define MAX_ITEMS (1u << 28) /* vertices, faces, transform entries, limits, skin and shape entries */
#define NAME_MAX_LEN 63      /* char[64] with its NUL */

/* ---- validation ---------------------------------------------------------------------------- */

static bool all_finite(const double *x, size_t n, size_t *bad) {
  for (size_t i = 0; i < n; i++)
    if (!isfinite(x[i])) {
      *bad = i;
      return false;
    }
  return true;
}

typedef struct name_ref {
  const char *s;
  size_t index;
} name_ref;

static int cmp_name_ref(const void *a, const void *b) {
  const name_ref *x = a, *y = b;
  int c = strcmp(x->s, y->s);
  return c ? c : (x->index > y->index) - (x->index < y->index);
}

/* Names of 1..63 bytes, NUL-terminated within their 64 bytes, unique. */
static bool check_names(char (*names)[64], size_t n, const char *name, const char *member, mhrfit_error_type type,
                        mhrfit_error *err) {
  if (!names) return MHRFIT_FAIL(err, type, "%s: member '%s': no names", name, member);
  for (size_t i = 0; i < n; i++) {
    const char *nul = memchr(names[i], '\0', 64);
    if (!nul || nul == names[i])
      return MHRFIT_FAIL(err, type, "%s: member '%s': name %zu is %s", name, member, i,
                         nul ? "empty" : "longer than 63 bytes");
  }
  name_ref *refs = mf_malloc_array(n, sizeof *refs, err);
  if (!refs) return false;
  for (size_t i = 0; i < n; i++) refs[i] = (name_ref){names[i], i};
  qsort(refs, n, sizeof *refs, cmp_name_ref);
  bool ok = true;
  for (size_t i = 1; i < n && ok; i++)
    if (strcmp(refs[i].s, refs[i - 1].s) == 0)
      ok = MHRFIT_FAIL(err, type, "%s: member '%s': name '%s' appears twice (entries %zu and %zu)", name, member,
                       refs[i].s, refs[i - 1].index, refs[i].index);
  free(refs);
  return ok;
}

static bool check_count(size_t n, size_t lo, size_t hi, const char *name, const char *member, const char *what,
                        mhrfit_error_type type, mhrfit_error *err) {
  if (n < lo || n > hi)
    return MHRFIT_FAIL(err, type, "%s: member '%s': %zu %s, expected %zu..%zu", name, member, n, what, lo, hi);
  return true;
}

static bool check_finite(const double *x, size_t n, const char *name, const char *member, mhrfit_error_type type,
                         mhrfit_error *err) {
  size_t bad;
  if (n && !x) return MHRFIT_FAIL(err, type, "%s: member '%s': no data", name, member);
  if (n && !all_finite(x, n, &bad))
    return MHRFIT_FAIL(err, type, "%s: member '%s': element %zu is not finite (%g)", name, member, bad, x[bad]);
  return true;
}

static bool check_index(const int32_t *x, size_t n, int32_t lo, size_t hi, const char *name, const char *member,
                        mhrfit_error_type type, mhrfit_error *err) {
  if (n && !x) return MHRFIT_FAIL(err, type, "%s: member '%s': no data", name, member);
  for (size_t i = 0; i < n; i++)
    if (x[i] < lo || (x[i] >= 0 && (size_t)x[i] >= hi))
      return MHRFIT_FAIL(err, type, "%s: member '%s': element %zu = %d is out of range (%d <= i < %zu)", name,
                         member, i, (int)x[i], (int)lo, hi);
  return true;
}

bool mf_rig_validate(const mhrfit_rig *r, const char *name, mhrfit_error_type type, mhrfit_error *err) {
  const size_t J = r->n_joints, P = r->n_params, V = r->n_vertices;
  if (!check_count(J, 1, MAX_JOINTS, name, "joint_names", "joints", type, err) ||
      !check_names(r->joint_names, J, name, "joint_names", type, err) ||
      !check_count(P, 1, MAX_PARAMS, name, "param_names", "parameters", type, err) ||
      !check_names(r->param_names, P, name, "param_names", type, err) ||
      !check_count(r->n_pt, 0, MAX_ITEMS, name, "pt_row", "transform entries", type, err) ||
      !check_count(r->n_limits, 0, MAX_ITEMS, name, "limit_param", "limits", type, err) ||
      !check_count(V, 0, MAX_ITEMS, name, "vertices", "vertices", type, err) ||
      !check_count(r->n_faces, 0, MAX_ITEMS, name, "faces", "faces", type, err) ||
      !check_count(r->n_skin, 0, MAX_ITEMS, name, "skin_vertex", "skin weights", type, err) ||
      !check_count(r->n_shapes, 0, MAX_ITEMS, name, "shape_start", "blend shapes", type, err))
    return false;
  if (r->lod < 0) return MHRFIT_FAIL(err, type, "%s: member 'lod': %d is negative", name, r->lod);
  if (!r->parents) return MHRFIT_FAIL(err, type, "%s: member 'parents': no data", name);
  for (size_t j = 0; j < J; j++)
    if (r->parents[j] < -1 || r->parents[j] >= (int32_t)j)
      return MHRFIT_FAIL(err, type,
                         "%s: member 'parents': parent %d of joint %zu ('%s') does not precede it (-1 or < %zu)",
                         name, (int)r->parents[j], j, r->joint_names[j], j);
  if (!check_finite(r->offsets, 3 * J, name, "offsets", type, err) ||
      !check_finite(r->prerot, 9 * J, name, "prerot", type, err))
    return false;
  if (r->n_pt && !r->pt) return MHRFIT_FAIL(err, type, "%s: member 'pt_row': no data", name);
  for (size_t i = 0; i < r->n_pt; i++) {
    const mhrfit_pt_entry *e = &r->pt[i];
    if (e->row < 0 || (size_t)e->row >= 7 * J)
      return MHRFIT_FAIL(err, type, "%s: member 'pt_row': element %zu = %d is outside 0..%zu", name, i, (int)e->row,
                         7 * J - 1);
    if (i && e->row < r->pt[i - 1].row)
      return MHRFIT_FAIL(err, type, "%s: member 'pt_row': rows are not sorted (element %zu = %d after %d)", name, i,
                         (int)e->row, (int)r->pt[i - 1].row);
    if (e->param < 0 || (size_t)e->param >= P)
      return MHRFIT_FAIL(err, type, "%s: member 'pt_param': element %zu = %d is outside 0..%zu", name, i,
                         (int)e->param, P - 1);
    if (!isfinite(e->coeff))
      return MHRFIT_FAIL(err, type, "%s: member 'pt_coeff': element %zu is not finite (%g)", name, i, e->coeff);
  }
  if (r->n_limits && !r->limits) return MHRFIT_FAIL(err, type, "%s: member 'limit_param': no data", name);
  for (size_t i = 0; i < r->n_limits; i++) {
    const mhrfit_limit *l = &r->limits[i];
    if (l->param < 0 || (size_t)l->param >= P)
      return MHRFIT_FAIL(err, type, "%s: member 'limit_param': element %zu = %d is outside 0..%zu", name, i,
                         (int)l->param, P - 1);
    const char *bad = !isfinite(l->min) ? "limit_min" : !isfinite(l->max) ? "limit_max"
                      : !isfinite(l->weight) ? "limit_weight" : NULL;
    if (bad) return MHRFIT_FAIL(err, type, "%s: member '%s': element %zu is not finite", name, bad, i);
    if (l->min > l->max)
      return MHRFIT_FAIL(err, type, "%s: member 'limit_min': element %zu: min %g > max %g", name, i, l->min, l->max);
  }
  if (!check_finite(r->vertices, 3 * V, name, "vertices", type, err) ||
      !check_index(r->faces, 3 * r->n_faces, 0, V, name, "faces", type, err) ||
      !check_index(r->skin_vertex, r->n_skin, 0, V, name, "skin_vertex", type, err) ||
      !check_index(r->skin_joint, r->n_skin, 0, J, name, "skin_joint", type, err) ||
      !check_finite(r->skin_weight, r->n_skin, name, "skin_weight", type, err))
    return false;
  if (r->bind_global)
    for (size_t i = 0; i < 16 * J; i++)
      if (isinf(r->bind_global[i]))
        return MHRFIT_FAIL(err, type, "%s: member 'bind_global': element %zu is infinite", name, i);
  if (r->n_shapes && !r->shape_start) return MHRFIT_FAIL(err, type, "%s: member 'shape_start': no data", name);
  size_t E = r->shape_start ? r->shape_start[r->n_shapes] : 0;
  if (r->shape_start && r->shape_start[0] != 0)
    return MHRFIT_FAIL(err, type, "%s: member 'shape_start': starts at %zu, not 0", name, r->shape_start[0]);
  for (size_t k = 0; k < r->n_shapes; k++)
    if (r->shape_start[k + 1] < r->shape_start[k])
      return MHRFIT_FAIL(err, type, "%s: member 'shape_start': decreases after element %zu", name, k);
  if (E > MAX_ITEMS)
    return MHRFIT_FAIL(err, type, "%s: member 'shape_start': %zu blend-shape entries, expected at most %u", name, E,
                       MAX_ITEMS);
  return check_index(r->shape_vertex, E, 0, V, name, "shape_vertex", type, err) &&
         check_finite(r->shape_delta, 3 * E, name, "shape_delta", type, err);
}

/* The pose-corrective fields, when present: 6 features per joint but the first two, CSR offsets
 * from 0 to the weight count, features in range, finite weights and layer-2 values. */
static bool validate_correctives(const mhrfit_rig *r, const char *name, mhrfit_error_type type, mhrfit_error *err) {
  if (!r->corr_start) {
    if (r->corr_blend) return MHRFIT_FAIL(err, type, "%s: member 'corr_blend' without layer 1 (corr_start)", name);
    return true;
  }
  if (r->n_joints < 3 || r->n_corr_features != 6 * (r->n_joints - 2))
    return MHRFIT_FAIL(err, type, "%s: member 'corr_n_features': %zu, expected 6 x (joints - 2) = %zu", name,
                       r->n_corr_features, r->n_joints >= 2 ? 6 * (r->n_joints - 2) : 0);
  const size_t H = r->n_corr_hidden, W = r->n_corr_weights;
  if (H < 1 || H > MAX_ITEMS || W > MAX_ITEMS)
    return MHRFIT_FAIL(err, type, "%s: member 'corr_start': %zu hidden units, %zu weights", name, H, W);
  if (r->corr_start[0] != 0 || r->corr_start[H] != W)
    return MHRFIT_FAIL(err, type, "%s: member 'corr_start': runs from %zu to %zu, expected 0 to %zu", name,
                       r->corr_start[0], r->corr_start[H], W);
  for (size_t h = 0; h < H; h++)
    if (r->corr_start[h + 1] < r->corr_start[h])
      return MHRFIT_FAIL(err, type, "%s: member 'corr_start': decreases after element %zu", name, h);
  if (!check_index(r->corr_feature, W, 0, r->n_corr_features, name, "corr_feature", type, err) ||
      !check_finite(r->corr_weight, W, name, "corr_weight", type, err))
    return false;
  if (r->corr_blend) {
    const size_t n = H * r->n_vertices * 3;
    for (size_t i = 0; i < n; i++)
      if (!isfinite(r->corr_blend[i]))
        return MHRFIT_FAIL(err, type, "%s: member 'corr_blend': element %zu is not finite", name, i);
  }
  return true;
}

/* ---- writing ------------------------------------------------------------------------------- */

bool mhrfit_rig_save(const mhrfit_rig *rig, const char *path, mhrfit_error *err) {
  if (!rig || !path || !*path) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "mhrfit_rig_save: no rig or no path");
  if (!mf_rig_validate(rig, path, MHRFIT_ERR_ARGUMENT, err) ||
      !validate_correctives(rig, path, MHRFIT_ERR_ARGUMENT, err))
    return false;
  const size_t J = rig->n_joints, P = rig->n_params, T = rig->n_pt, L = rig->n_limits, V = rig->n_vertices,
               F = rig->n_faces, S = rig->n_skin, B = rig->n_shapes;
  const size_t E = rig->shape_start ? rig->shape_start[B] : 0;
  const char **names = mf_malloc_array(J > P ? J : P, sizeof *names, err);
  if (!names) return false;
  mf_npz_writer w = {0};
  mf_npz_add_scalar_i32(&w, "mhrfit_rig_version", MHRFIT_RIG_FILE_VERSION);
  mf_npz_add_scalar_i32(&w, "lod", rig->lod);
  for (size_t j = 0; j < J; j++) names[j] = rig->joint_names[j];
  mf_npz_add_bytes(&w, "joint_names", names, J);
  size_t s1[1] = {J}, s2[2] = {J, 3}, s3[3] = {J, 3, 3};
  mf_npz_add_i32(&w, "parents", rig->parents, 1, s1);
  mf_npz_add_f64(&w, "offsets", rig->offsets, 2, s2);
  mf_npz_add_f64(&w, "prerot", rig->prerot, 3, s3);
  for (size_t i = 0; i < P; i++) names[i] = rig->param_names[i];
  mf_npz_add_bytes(&w, "param_names", names, P);
  free(names);
  s1[0] = T;
  mhrfit_array *row = mf_npz_add(&w, "pt_row", MHRFIT_DT_I32, 1, s1);
  mhrfit_array *par = mf_npz_add(&w, "pt_param", MHRFIT_DT_I32, 1, s1);
  mhrfit_array *cof = mf_npz_add(&w, "pt_coeff", MHRFIT_DT_F64, 1, s1);
  for (size_t i = 0; cof && i < T; i++) {
    ((int32_t *)row->data)[i] = rig->pt[i].row;
    ((int32_t *)par->data)[i] = rig->pt[i].param;
    ((double *)cof->data)[i] = rig->pt[i].coeff;
  }
  s1[0] = L;
  mhrfit_array *lp = mf_npz_add(&w, "limit_param", MHRFIT_DT_I32, 1, s1);
  mhrfit_array *lmin = mf_npz_add(&w, "limit_min", MHRFIT_DT_F64, 1, s1);
  mhrfit_array *lmax = mf_npz_add(&w, "limit_max", MHRFIT_DT_F64, 1, s1);
  mhrfit_array *lw = mf_npz_add(&w, "limit_weight", MHRFIT_DT_F64, 1, s1);
  for (size_t i = 0; lw && i < L; i++) {
    ((int32_t *)lp->data)[i] = rig->limits[i].param;
    ((double *)lmin->data)[i] = rig->limits[i].min;
    ((double *)lmax->data)[i] = rig->limits[i].max;
    ((double *)lw->data)[i] = rig->limits[i].weight;
  }
  s2[0] = V;
  mf_npz_add_f64(&w, "vertices", rig->vertices, 2, s2);
  s2[0] = F;
  mf_npz_add_i32(&w, "faces", rig->faces, 2, s2);
  s1[0] = S;
  mf_npz_add_i32(&w, "skin_vertex", rig->skin_vertex, 1, s1);
  mf_npz_add_i32(&w, "skin_joint", rig->skin_joint, 1, s1);
  mf_npz_add_f64(&w, "skin_weight", rig->skin_weight, 1, s1);
  if (rig->bind_global) {
    s2[0] = J;
    s2[1] = 16;
    mf_npz_add_f64(&w, "bind_global", rig->bind_global, 2, s2);
  }
  s1[0] = B + 1;
  mhrfit_array *ss = mf_npz_add(&w, "shape_start", MHRFIT_DT_I64, 1, s1);
  for (size_t k = 0; ss && rig->shape_start && k <= B; k++) ((int64_t *)ss->data)[k] = (int64_t)rig->shape_start[k];
  s1[0] = E;
  mf_npz_add_i32(&w, "shape_vertex", rig->shape_vertex, 1, s1);
  s2[0] = E;
  s2[1] = 3;
  mf_npz_add_f64(&w, "shape_delta", rig->shape_delta, 2, s2);
  if (rig->corr_start) { /* pose correctives, layer 1 as CSR by hidden unit, and layer 2 when loaded */
    const size_t H = rig->n_corr_hidden, W = rig->n_corr_weights;
    mf_npz_add_scalar_i32(&w, "corr_n_features", (int32_t)rig->n_corr_features);
    s1[0] = H + 1;
    mhrfit_array *cs = mf_npz_add(&w, "corr_start", MHRFIT_DT_I64, 1, s1);
    for (size_t h = 0; cs && h <= H; h++) ((int64_t *)cs->data)[h] = (int64_t)rig->corr_start[h];
    s1[0] = W;
    mf_npz_add_i32(&w, "corr_feature", rig->corr_feature, 1, s1);
    mf_npz_add_f64(&w, "corr_weight", rig->corr_weight, 1, s1);
    if (rig->corr_blend) {
      size_t s3b[3] = {H, V, 3};
      mhrfit_array *cb = mf_npz_add(&w, "corr_blend", MHRFIT_DT_F32, 3, s3b);
      if (cb) memcpy(cb->data, rig->corr_blend, H * V * 3 * sizeof(float));
    }
  }
  bool ok = mf_npz_writer_save(&w, path, false, err);
  mf_npz_writer_free(&w);
  return ok;
}

/* ---- reading ------------------------------------------------------------------------------- */

typedef struct reader {
  mhrfit_value *npz;
  const char *name;
  mhrfit_error *err;
  bool failed;
} reader;

/* Member `key` as an array of `dtype` (MHRFIT_DT_COUNT: any string dtype) and rank `ndim` whose
 * extents match `shape` (-1: any). NULL when it failed (r->failed set) or, for an optional
 * member, when it is absent. */
static mhrfit_array *member(reader *r, const char *key, mhrfit_dtype dtype, int ndim, const long *shape,
                            bool required) {
  if (r->failed) return NULL;
  mhrfit_value *v = mhrfit_value_dict_get_mut(r->npz, key);
  if (!v) {
    if (required) {
      r->failed = true;
      MHRFIT_FAIL(r->err, MHRFIT_ERR_NOT_FOUND, "%s: member '%s' is missing", r->name, key);
    }
    return NULL;
  }
  r->failed = true;
  if (v->kind != MHRFIT_V_ARRAY) {
    MHRFIT_FAIL(r->err, MHRFIT_ERR_FORMAT, "%s: member '%s': expected a plain array, got %s", r->name, key,
                mhrfit_value_kind_name(v->kind));
    return NULL;
  }
  mhrfit_array *a = v->u.array;
  bool dtype_ok = dtype == MHRFIT_DT_COUNT ? a->dtype == MHRFIT_DT_BYTES || a->dtype == MHRFIT_DT_UNICODE
                                           : a->dtype == dtype;
  if (!dtype_ok) {
    MHRFIT_FAIL(r->err, MHRFIT_ERR_FORMAT, "%s: member '%s': expected dtype %s, got %s", r->name, key,
                dtype == MHRFIT_DT_COUNT ? "|S" : mhrfit_dtype_name(dtype), mhrfit_dtype_name(a->dtype));
    return NULL;
  }
  if (!mhrfit_array_has_shape(a, ndim, shape)) {
    char want[96] = "(", got[96] = "(";
    for (int i = 0; i < ndim; i++) {
      size_t n = strlen(want);
      if (shape[i] < 0) snprintf(want + n, sizeof want - n, "%s*", i ? ", " : "");
      else snprintf(want + n, sizeof want - n, "%s%ld", i ? ", " : "", shape[i]);
    }
    for (int i = 0; i < a->ndim && i < 8; i++) {
      size_t n = strlen(got);
      snprintf(got + n, sizeof got - n, "%s%zu", i ? ", " : "", a->shape[i]);
    }
    strcat(want, ")");
    strcat(got, a->ndim > 8 ? ", ...)" : ")");
    MHRFIT_FAIL(r->err, MHRFIT_ERR_FORMAT, "%s: member '%s': expected shape %s, got %s", r->name, key, want, got);
    return NULL;
  }
  r->failed = false;
  return a;
}

/* Moves the data out of an array (the rig owns it from now on). */
static void *take(mhrfit_array *a) {
  if (!a) return NULL;
  void *p = a->data;
  a->data = NULL;
  return p;
}

/* An integer scalar member (any integer dtype) within lo..hi. */
static bool int_scalar(reader *r, const char *key, long lo, long hi, long *out) {
  if (r->failed) return false;
  const mhrfit_value *v = mhrfit_value_dict_get(r->npz, key);
  if (!v) {
    r->failed = true;
    return MHRFIT_FAIL(r->err, MHRFIT_ERR_NOT_FOUND, "%s: member '%s' is missing%s", r->name, key,
                       strcmp(key, "mhrfit_rig_version") == 0 ? " (not an mhrfit rig file)" : "");
  }
  const mhrfit_array *a = v->kind == MHRFIT_V_ARRAY ? v->u.array : NULL;
  bool integer = a && a->dtype != MHRFIT_DT_BOOL && a->dtype <= MHRFIT_DT_U64;
  if (!a || !integer || a->ndim != 0) {
    r->failed = true;
    return MHRFIT_FAIL(r->err, MHRFIT_ERR_FORMAT, "%s: member '%s': expected an integer scalar, got %s%s", r->name,
                       key, a ? mhrfit_dtype_name(a->dtype) : mhrfit_value_kind_name(v->kind),
                       a && a->ndim ? " array" : "");
  }
  double x = mhrfit_array_get_f64(a, 0);
  if (x < (double)lo || x > (double)hi) {
    r->failed = true;
    return MHRFIT_FAIL(r->err, MHRFIT_ERR_FORMAT, "%s: member '%s': %.0f is outside %ld..%ld", r->name, key, x, lo,
                       hi);
  }
  *out = (long)x;
  return true;
}

/* A names member into a new char[n][64] (names of 64 bytes or more are cut here and rejected by
 * mf_rig_validate, which sees no NUL). */
static char (*names_of(reader *r, const mhrfit_array *a, const char *key))[64] {
  if (!a) return NULL;
  char(*names)[64] = mf_calloc_array(a->count, sizeof *names, r->err);
  if (!names) {
    r->failed = true;
    return NULL;
  }
  for (size_t i = 0; i < a->count; i++) {
    if (a->dtype == MHRFIT_DT_BYTES) {
      const char *s = (const char *)a->data + i * a->itemsize;
      size_t n = 0;
      while (n < a->itemsize && s[n]) n++;
      memcpy(names[i], s, n < 64 ? n : 64);
    } else {
      char buf[4 * 64 + 8];
      mhrfit_error e = {0};
      if (!mhrfit_array_get_string(a, i, buf, sizeof buf, &e)) {
        MHRFIT_FAIL(r->err, MHRFIT_ERR_FORMAT, "%s: member '%s': name %zu: %s", r->name, key, i, e.message);
        r->failed = true;
        free(names);
        return NULL;
      }
      size_t n = strlen(buf);
      memcpy(names[i], buf, n < 64 ? n : 64);
    }
  }
  return names;
}

mhrfit_rig *mf_rig_from_npz(mhrfit_value *npz, const char *name, unsigned flags, mhrfit_error *err) {
  if (!name) name = "rig file";
  if (!npz || npz->kind != MHRFIT_V_DICT) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: not an .npz archive", name);
    return NULL;
  }
  reader rd = {npz, name, err, false};
  long version = 0, lod = 0;
  if (!int_scalar(&rd, "mhrfit_rig_version", 1, LONG_MAX / 2, &version)) return NULL;
  if (version > MHRFIT_RIG_FILE_VERSION) {
    MHRFIT_FAIL(err, MHRFIT_ERR_UNSUPPORTED,
                "%s: member 'mhrfit_rig_version': rig file version %ld is newer than this mhrfit reads (%d); "
                "update mhrfit or import the rig again",
                name, version, MHRFIT_RIG_FILE_VERSION);
    return NULL;
  }
  if (!int_scalar(&rd, "lod", 0, INT32_MAX, &lod)) return NULL;
  mhrfit_rig *rig = calloc(1, sizeof *rig);
  if (!rig) {
    MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
    return NULL;
  }
  rig->lod = (int)lod;
  /* skeleton */
  const long any1[1] = {-1};
  mhrfit_array *jn = member(&rd, "joint_names", MHRFIT_DT_COUNT, 1, any1, true);
  const long J = jn ? (long)jn->count : 0;
  if (jn && (J < 1 || J > MAX_JOINTS)) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: member 'joint_names': %ld joints, expected 1..%d", name, J, MAX_JOINTS);
    rd.failed = true;
  }
  const long sJ[1] = {J}, sJ3[2] = {J, 3}, sJ33[3] = {J, 3, 3}, sJ16[2] = {J, 16};
  mhrfit_array *parents = member(&rd, "parents", MHRFIT_DT_I32, 1, sJ, true);
  mhrfit_array *offsets = member(&rd, "offsets", MHRFIT_DT_F64, 2, sJ3, true);
  mhrfit_array *prerot = member(&rd, "prerot", MHRFIT_DT_F64, 3, sJ33, true);
  mhrfit_array *pn = member(&rd, "param_names", MHRFIT_DT_COUNT, 1, any1, true);
  /* parameter transform and limits */
  mhrfit_array *pt_row = member(&rd, "pt_row", MHRFIT_DT_I32, 1, any1, true);
  const long sT[1] = {pt_row ? (long)pt_row->count : 0};
  mhrfit_array *pt_param = member(&rd, "pt_param", MHRFIT_DT_I32, 1, sT, true);
  mhrfit_array *pt_coeff = member(&rd, "pt_coeff", MHRFIT_DT_F64, 1, sT, true);
  mhrfit_array *lim_param = member(&rd, "limit_param", MHRFIT_DT_I32, 1, any1, true);
  const long sL[1] = {lim_param ? (long)lim_param->count : 0};
  mhrfit_array *lim_min = member(&rd, "limit_min", MHRFIT_DT_F64, 1, sL, true);
  mhrfit_array *lim_max = member(&rd, "limit_max", MHRFIT_DT_F64, 1, sL, true);
  mhrfit_array *lim_w = member(&rd, "limit_weight", MHRFIT_DT_F64, 1, sL, true);
  /* mesh, skin, blend shapes */
  const long any3[2] = {-1, 3};
  mhrfit_array *verts = member(&rd, "vertices", MHRFIT_DT_F64, 2, any3, true);
  mhrfit_array *faces = member(&rd, "faces", MHRFIT_DT_I32, 2, any3, true);
  mhrfit_array *skin_v = member(&rd, "skin_vertex", MHRFIT_DT_I32, 1, any1, true);
  const long sS[1] = {skin_v ? (long)skin_v->count : 0};
  mhrfit_array *skin_j = member(&rd, "skin_joint", MHRFIT_DT_I32, 1, sS, true);
  mhrfit_array *skin_w = member(&rd, "skin_weight", MHRFIT_DT_F64, 1, sS, true);
  mhrfit_array *bind = member(&rd, "bind_global", MHRFIT_DT_F64, 2, sJ16, false);
  mhrfit_array *ss = member(&rd, "shape_start", MHRFIT_DT_I64, 1, any1, true);
  mhrfit_array *sv = member(&rd, "shape_vertex", MHRFIT_DT_I32, 1, any1, true);
  const long sE3[2] = {sv ? (long)sv->count : 0, 3};
  mhrfit_array *sd = member(&rd, "shape_delta", MHRFIT_DT_F64, 2, sE3, true);
  /* pose correctives (optional) */
  const bool want_l1 = !(flags & MHRFIT_RIG_NO_CORRECTIVES);
  long n_corr_features = 0;
  mhrfit_array *cs = want_l1 ? member(&rd, "corr_start", MHRFIT_DT_I64, 1, any1, false) : NULL;
  const long sW[1] = {-1};
  mhrfit_array *cf = cs ? member(&rd, "corr_feature", MHRFIT_DT_I32, 1, sW, true) : NULL;
  const long sW2[1] = {cf ? (long)cf->count : 0};
  mhrfit_array *cw = cf ? member(&rd, "corr_weight", MHRFIT_DT_F64, 1, sW2, true) : NULL;
  if (cs && !int_scalar(&rd, "corr_n_features", 1, INT32_MAX, &n_corr_features)) goto fail;
  const long sB[3] = {cs ? (long)cs->count - 1 : 0, verts ? (long)verts->shape[0] : 0, 3};
  mhrfit_array *cb = cs && !(flags & MHRFIT_RIG_NO_CORRECTIVE_BLENDSHAPES)
                         ? member(&rd, "corr_blend", MHRFIT_DT_F32, 3, sB, false)
                         : NULL;
  if (!rd.failed && cs && cs->count < 2) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: member 'corr_start': fewer than 2 offsets", name);
    rd.failed = true;
  }
  if (!rd.failed && ss->count < 1) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: member 'shape_start': empty (expected blend shapes + 1 offsets)", name);
    rd.failed = true;
  }
  if (!rd.failed && (size_t)((const int64_t *)ss->data)[ss->count - 1] != sv->count) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: member 'shape_start': ends at %lld, but shape_vertex has %zu entries",
                name, (long long)((const int64_t *)ss->data)[ss->count - 1], sv->count);
    rd.failed = true;
  }
  if (rd.failed) goto fail;
  /* the rig: counts, then the arrays (moved out of the archive or converted) */
  rig->n_joints = (size_t)J;
  rig->n_params = pn->count;
  rig->n_pt = pt_row->count;
  rig->n_limits = lim_param->count;
  rig->n_vertices = verts->shape[0];
  rig->n_faces = faces->shape[0];
  rig->n_skin = skin_v->count;
  rig->n_shapes = ss->count - 1;
  if (!(rig->joint_names = names_of(&rd, jn, "joint_names")) || !(rig->param_names = names_of(&rd, pn, "param_names")))
    goto fail;
  rig->parents = take(parents);
  rig->offsets = take(offsets);
  rig->prerot = take(prerot);
  rig->vertices = take(verts);
  rig->faces = take(faces);
  rig->skin_vertex = take(skin_v);
  rig->skin_joint = take(skin_j);
  rig->skin_weight = take(skin_w);
  rig->shape_vertex = take(sv);
  rig->shape_delta = take(sd);
  rig->pt = mf_malloc_array(rig->n_pt, sizeof *rig->pt, err);
  rig->limits = mf_malloc_array(rig->n_limits, sizeof *rig->limits, err);
  rig->shape_start = mf_malloc_array(ss->count, sizeof *rig->shape_start, err);
  rig->bind_global = bind ? take(bind) : mf_malloc_array(16 * (size_t)J, sizeof(double), err);
  if (!rig->pt || !rig->limits || !rig->shape_start || !rig->bind_global) goto fail;
  for (size_t i = 0; i < rig->n_pt; i++)
    rig->pt[i] = (mhrfit_pt_entry){((const int32_t *)pt_row->data)[i], ((const int32_t *)pt_param->data)[i],
                                   ((const double *)pt_coeff->data)[i]};
  for (size_t i = 0; i < rig->n_limits; i++)
    rig->limits[i] = (mhrfit_limit){((const int32_t *)lim_param->data)[i], ((const double *)lim_min->data)[i],
                                    ((const double *)lim_max->data)[i], ((const double *)lim_w->data)[i]};
  for (size_t k = 0; k < ss->count; k++) {
    int64_t s = ((const int64_t *)ss->data)[k];
    if (s < 0) {
      MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: member 'shape_start': element %zu = %lld is negative", name, k,
                  (long long)s);
      goto fail;
    }
    rig->shape_start[k] = (size_t)s;
  }
  if (!bind)
    for (size_t i = 0; i < 16 * (size_t)J; i++) rig->bind_global[i] = NAN;
  if (cs) {
    rig->n_corr_features = (size_t)n_corr_features;
    rig->n_corr_hidden = cs->count - 1;
    rig->n_corr_weights = cf->count;
    rig->corr_start = mf_malloc_array(cs->count, sizeof *rig->corr_start, err);
    if (!rig->corr_start) goto fail;
    for (size_t h = 0; h < cs->count; h++) {
      int64_t v = ((const int64_t *)cs->data)[h];
      rig->corr_start[h] = v < 0 ? SIZE_MAX : (size_t)v; /* negative: caught as out of order below */
    }
    rig->corr_feature = take(cf);
    rig->corr_weight = take(cw);
    rig->corr_blend = take(cb);
  }
  if (!mf_rig_validate(rig, name, MHRFIT_ERR_FORMAT, err) || !validate_correctives(rig, name, MHRFIT_ERR_FORMAT, err) ||
      !mf_rig_set_rest_pose(rig, err) || !mf_rig_index_skin(rig, err))
    goto fail;
  return rig;
fail:
  mhrfit_rig_free(rig);
  return NULL;
}

/* n bytes at a and b equal (both may be NULL when n is 0). */
static bool same_bytes(const void *a, const void *b, size_t n) {
  if (!n) return true;
  if (!a || !b) return a == b;
  return memcmp(a, b, n) == 0;
}

bool mhrfit_rig_equal(const mhrfit_rig *a, const mhrfit_rig *b) {
  if (!a || !b) return a == b;
  if (a->n_joints != b->n_joints || a->n_params != b->n_params || a->n_pt != b->n_pt || a->n_limits != b->n_limits ||
      a->lod != b->lod || a->n_vertices != b->n_vertices || a->n_faces != b->n_faces || a->n_skin != b->n_skin ||
      a->n_shapes != b->n_shapes || a->n_corr_features != b->n_corr_features || a->n_corr_hidden != b->n_corr_hidden ||
      a->n_corr_weights != b->n_corr_weights || !a->corr_start != !b->corr_start || !a->corr_blend != !b->corr_blend)
    return false;
  if (a->corr_start &&
      (!same_bytes(a->corr_start, b->corr_start, (a->n_corr_hidden + 1) * sizeof(size_t)) ||
       !same_bytes(a->corr_feature, b->corr_feature, a->n_corr_weights * sizeof(int32_t)) ||
       !same_bytes(a->corr_weight, b->corr_weight, a->n_corr_weights * sizeof(double)) ||
       !same_bytes(a->corr_blend, b->corr_blend, a->corr_blend ? a->n_corr_hidden * a->n_vertices * 3 * sizeof(float) : 0)))
    return false;
  const size_t J = a->n_joints, D = sizeof(double), I = sizeof(int32_t);
  if (!same_bytes(a->shape_start, b->shape_start, (a->n_shapes + 1) * sizeof(size_t))) return false;
  const size_t E = a->shape_start ? a->shape_start[a->n_shapes] : 0;
  for (size_t i = 0; i < a->n_pt; i++)
    if (a->pt[i].row != b->pt[i].row || a->pt[i].param != b->pt[i].param ||
        !same_bytes(&a->pt[i].coeff, &b->pt[i].coeff, D))
      return false;
  for (size_t i = 0; i < a->n_limits; i++)
    if (a->limits[i].param != b->limits[i].param || !same_bytes(&a->limits[i].min, &b->limits[i].min, D) ||
        !same_bytes(&a->limits[i].max, &b->limits[i].max, D) ||
        !same_bytes(&a->limits[i].weight, &b->limits[i].weight, D))
      return false;
  for (size_t j = 0; j < J; j++)
    if (strcmp(a->joint_names[j], b->joint_names[j]) != 0) return false;
  for (size_t i = 0; i < a->n_params; i++)
    if (strcmp(a->param_names[i], b->param_names[i]) != 0) return false;
  return same_bytes(a->parents, b->parents, J * I) && same_bytes(a->offsets, b->offsets, 3 * J * D) &&
         same_bytes(a->prerot, b->prerot, 9 * J * D) && same_bytes(a->vertices, b->vertices, 3 * a->n_vertices * D) &&
         same_bytes(a->faces, b->faces, 3 * a->n_faces * I) && same_bytes(a->skin_vertex, b->skin_vertex, a->n_skin * I) &&
         same_bytes(a->skin_joint, b->skin_joint, a->n_skin * I) &&
         same_bytes(a->skin_weight, b->skin_weight, a->n_skin * D) &&
         same_bytes(a->bind_global, b->bind_global, 16 * J * D) && same_bytes(a->rest_R, b->rest_R, 9 * J * D) &&
         same_bytes(a->rest_t, b->rest_t, 3 * J * D) && same_bytes(a->shape_vertex, b->shape_vertex, E * I) &&
         same_bytes(a->shape_delta, b->shape_delta, 3 * E * D);
}

mhrfit_rig *mhrfit_rig_load_file(const char *path, mhrfit_error *err) {
  return mhrfit_rig_load_file_flags(path, 0, err);
}

mhrfit_rig *mhrfit_rig_load_file_flags(const char *path, unsigned flags, mhrfit_error *err) {
  /* members the flags leave out are not read at all (layer 2 of LOD 0 is ~2 GB) */
  static const char *const skip_blend[] = {"corr_blend", NULL};
  static const char *const skip_all[] = {"corr_blend", "corr_start", "corr_feature", "corr_weight", "corr_n_features",
                                         NULL};
  if (!path || !*path) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "no rig file given");
    return NULL;
  }
  if (mf_is_dir(path)) {
    MHRFIT_FAIL(err, MHRFIT_ERR_IO, "%s: is a folder, not a rig file", path);
    return NULL;
  }
  mhrfit_npy_limits lim = {.max_array_bytes = (size_t)4 << 30, .max_members = 4096};
  lim.skip_members = flags & MHRFIT_RIG_NO_CORRECTIVES ? skip_all : flags & MHRFIT_RIG_NO_CORRECTIVE_BLENDSHAPES ? skip_blend : NULL; /* layer 2 of LOD 0: 2 GB */
  mhrfit_value *npz = mhrfit_npz_load(path, &lim, err);
  if (!npz) return NULL;
  mhrfit_rig *rig = mf_rig_from_npz(npz, path, flags, err);
  mhrfit_value_free(npz);
  return rig;
}

mhrfit_rig *mhrfit_rig_open(const char *path, int lod, unsigned flags, mhrfit_error *err) {
  if (!path || !*path) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "no MHR assets folder or rig file given");
    return NULL;
  }
  if (mf_is_dir(path)) return mhrfit_rig_load_flags(path, lod, flags, err);
  mhrfit_rig *rig = mhrfit_rig_load_file_flags(path, flags, err);
  if (rig && lod >= 0 && rig->lod != lod) {
    MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "%s: the rig file holds LOD %d, not LOD %d", path, rig->lod, lod);
    mhrfit_rig_free(rig);
    return NULL;
  }
  return rig;
}
