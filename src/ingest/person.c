/* Stage 1: person selection and validation of SAM 3D Body outputs (include/mhrfit/ingest.h). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/utf8.h"
#include "mhrfit/ingest.h"
#include "mhrfit/sam3d.h"

#define N_KP 70

/* Per-person shape of the SAM 3D Body keys mhrfit knows; -1 = any extent. `finite` marks the
 * parameter blocks that must be finite when present. */
typedef struct key_spec {
  const char *name;
  int rank;
  long shape[3];
  bool finite;
} key_spec;

static const key_spec known_keys[] = {
    {"pred_keypoints_2d", 2, {N_KP, 2, 0}, false},
    {"bbox", 1, {4, 0, 0}, false},
    {"focal_length", 0, {0, 0, 0}, false},
    {"pred_keypoints_3d", 2, {N_KP, 3, 0}, false},
    {"pred_vertices", 2, {-1, 3, 0}, false},
    {"pred_cam_t", 1, {3, 0, 0}, false},
    {"pred_pose_raw", 1, {-1, 0, 0}, false},
    {"global_rot", 1, {3, 0, 0}, false},
    {"body_pose_params", 1, {MHRFIT_N_BODY_POSE, 0, 0}, true},
    {"hand_pose_params", 1, {108, 0, 0}, true},
    {"scale_params", 1, {28, 0, 0}, true},
    {"shape_params", 1, {45, 0, 0}, true},
    {"expr_params", 1, {72, 0, 0}, true},
    {"mask", 3, {-1, -1, -1}, false},
    {"pred_joint_coords", 2, {127, 3, 0}, false},
    {"pred_global_rots", 3, {127, 3, 3}, false},
    {"mhr_model_params", 1, {MHRFIT_N_MODEL_PARAMS, 0, 0}, false},
    {"lhand_bbox", 1, {4, 0, 0}, false},
    {"rhand_bbox", 1, {4, 0, 0}, false},
    {"pred_keypoints_2d_source", 1, {N_KP, 0, 0}, false},
};

static const key_spec *find_spec(const char *name) {
  for (size_t i = 0; i < sizeof known_keys / sizeof known_keys[0]; i++)
    if (strcmp(known_keys[i].name, name) == 0) return &known_keys[i];
  return NULL;
}

const char *mhrfit_person_strategy_name(mhrfit_person_strategy s) {
  switch (s) {
    case MHRFIT_PERSON_FIRST: return "first";
    case MHRFIT_PERSON_INDEX: return "person_index";
    default: return "largest_bbox";
  }
}

bool mhrfit_person_strategy_parse(const char *name, mhrfit_person_strategy *out, mhrfit_error *err) {
  static const mhrfit_person_strategy all[3] = {MHRFIT_PERSON_LARGEST_BBOX, MHRFIT_PERSON_FIRST,
                                                MHRFIT_PERSON_INDEX};
  for (int i = 0; name && i < 3; i++)
    if (strcmp(name, mhrfit_person_strategy_name(all[i])) == 0) {
      *out = all[i];
      return true;
    }
  return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT,
                     "unknown person selection strategy '%s' (largest_bbox, first, person_index)",
                     name ? name : "(null)");
}

static void shape_text(const mhrfit_array *a, char *buf, size_t size) {
  size_t n = (size_t)snprintf(buf, size, "(");
  for (int d = 0; d < a->ndim && n < size; d++)
    n += (size_t)snprintf(buf + n, size - n, d ? ", %zu" : "%zu", a->shape[d]);
  if (n < size) snprintf(buf + n, size - n, a->ndim == 1 ? ",)" : ")");
}

/* Area of bbox numbers b[0..3] (x0, y0, x1, y1), or -1 when one is not finite. */
static double bbox_area(const mhrfit_array *a, size_t off) {
  if (!a || !mhrfit_dtype_is_numeric(a->dtype) || off + 4 > a->count) return -1;
  double b[4];
  for (int i = 0; i < 4; i++) {
    b[i] = mhrfit_array_get_f64(a, off + (size_t)i);
    if (!isfinite(b[i])) return -1;
  }
  double w = b[2] - b[0], h = b[3] - b[1];
  double area = (w > 0 ? w : 0) * (h > 0 ? h : 0);
  return isfinite(area) ? area : -1;
}

/* A slice along axis 0 of `a`: element block p of n. */
static mhrfit_array *slice0(const mhrfit_array *a, size_t p, mhrfit_error *err) {
  mhrfit_array *s = mhrfit_array_new(a->dtype, a->itemsize, a->ndim - 1, a->shape + 1, 0, err);
  if (!s) return NULL;
  size_t bytes = s->count * s->itemsize;
  if (bytes) memcpy(s->data, (const char *)a->data + p * bytes, bytes);
  return s;
}

/* A string value as a 0-d unicode array. */
static mhrfit_array *string_array(const mhrfit_value *v, mhrfit_error *err) {
  size_t n = 0;
  const unsigned char *s = (const unsigned char *)v->u.str.data;
  for (size_t i = 0; i < v->u.str.len;) {
    uint32_t cp;
    size_t k = mf_utf8_decode(s + i, v->u.str.len - i, &cp);
    if (!k) break;
    i += k;
    n++;
  }
  mhrfit_array *a = mhrfit_array_new(MHRFIT_DT_UNICODE, 4 * (n ? n : 1), 0, NULL, 0, err);
  if (!a) return NULL;
  size_t c = 0;
  for (size_t i = 0; i < v->u.str.len && c < n;) {
    uint32_t cp;
    size_t k = mf_utf8_decode(s + i, v->u.str.len - i, &cp);
    if (!k) break;
    memcpy((char *)a->data + 4 * c++, &cp, 4);
    i += k;
  }
  return a;
}

/* Converts a scalar/string/array value into an owned array; *out = NULL for values that are
 * dropped (None, containers, bytes, dates). */
static bool value_to_array(const mhrfit_value *v, mhrfit_array **out, mhrfit_error *err) {
  *out = NULL;
  mhrfit_array *a = NULL;
  switch (v->kind) {
    case MHRFIT_V_ARRAY: a = mhrfit_array_clone(v->u.array, err); break;
    case MHRFIT_V_INT:
      a = mhrfit_array_new(MHRFIT_DT_I64, 0, 0, NULL, 0, err);
      if (a) *(int64_t *)a->data = v->u.integer;
      break;
    case MHRFIT_V_FLOAT:
      a = mhrfit_array_new(MHRFIT_DT_F64, 0, 0, NULL, 0, err);
      if (a) *(double *)a->data = v->u.number;
      break;
    case MHRFIT_V_BOOL:
      a = mhrfit_array_new(MHRFIT_DT_BOOL, 0, 0, NULL, 0, err);
      if (a) *(uint8_t *)a->data = v->u.boolean ? 1 : 0;
      break;
    case MHRFIT_V_STRING: a = string_array(v, err); break;
    default: return true;
  }
  if (!a) return false;
  *out = a;
  return true;
}

static bool put(mhrfit_value *dict, const char *key, mhrfit_array *a, mhrfit_error *err) {
  mhrfit_value *v = mhrfit_value_new_array(a, err);
  return v && mhrfit_value_dict_set(dict, key, v, err);
}

/* Validates one person dict in place: shapes of known keys, finite parameter blocks, MHR
 * parameters; rewrites pred_keypoints_2d as float32 (70,2) with NaN for missing keypoints. */
static bool validate(mhrfit_value *person, mhrfit_person_info *info, mhrfit_error *err) {
  mhrfit_value *kv = mhrfit_value_dict_get_mut(person, "pred_keypoints_2d");
  if (!kv) return MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "no 'pred_keypoints_2d'");
  for (size_t i = 0; i < person->u.dict.count; i++) {
    const key_spec *ks = find_spec(person->u.dict.keys[i]);
    const mhrfit_array *a = person->u.dict.vals[i]->u.array;
    if (!ks) continue;
    char sh[128];
    shape_text(a, sh, sizeof sh);
    if (!mhrfit_dtype_is_numeric(a->dtype))
      return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "'%s' holds %s, not numbers", ks->name, mhrfit_dtype_name(a->dtype));
    bool ok;
    if (ks->rank == 0) ok = a->count == 1 && a->ndim <= 1;
    else if (ks->rank == 1 && ks->shape[0] > 0) ok = a->count == (size_t)ks->shape[0] && a->ndim >= 1;
    else ok = mhrfit_array_has_shape(a, ks->rank, ks->shape);
    if (!ok) {
      char want[64] = "(";
      if (ks->rank == 0) snprintf(want, sizeof want, "one number");
      for (int d = 0; d < ks->rank; d++) {
        char t[24];
        snprintf(t, sizeof t, ks->shape[d] < 0 ? "%sN" : "%s%ld", d ? ", " : "", ks->shape[d]);
        strncat(want, t, sizeof want - strlen(want) - 1);
      }
      if (ks->rank) strncat(want, ks->rank == 1 ? ",)" : ")", sizeof want - strlen(want) - 1);
      return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "'%s' has shape %s, expected %s", ks->name, sh, want);
    }
    if (ks->finite)
      for (size_t k = 0; k < a->count; k++)
        if (!isfinite(mhrfit_array_get_f64(a, k)))
          return MHRFIT_FAIL(err, MHRFIT_ERR_NUMERIC, "'%s'[%zu] is not finite", ks->name, k);
  }
  /* Keypoints: float32, a keypoint with any non-finite coordinate, or one beyond a million pixels
   * (no camera has such a picture: a sentinel or an overflow), becomes (NaN, NaN). */
  const mhrfit_array *src = kv->u.array;
  size_t shape[2] = {N_KP, 2};
  mhrfit_array *kp = mhrfit_array_new(MHRFIT_DT_F32, 0, 2, shape, 0, err);
  if (!kp) return false;
  size_t valid = 0, absurd = 0;
  float *d = kp->data;
  for (size_t k = 0; k < N_KP; k++) {
    double x = mhrfit_array_get_f64(src, 2 * k), y = mhrfit_array_get_f64(src, 2 * k + 1);
    float fx = (float)x, fy = (float)y;
    bool fin = isfinite(fx) && isfinite(fy), far = fin && (fabs(x) > 1e6 || fabs(y) > 1e6);
    if (fin && !far) {
      d[2 * k] = fx;
      d[2 * k + 1] = fy;
      valid++;
    } else {
      d[2 * k] = d[2 * k + 1] = NAN;
      absurd += far;
    }
  }
  mhrfit_array_free(kv->u.array);
  kv->u.array = kp;
  info->n_kp_valid = valid;
  info->n_kp_absurd = absurd;
  /* The 204 MHR parameters, when the document has what they are made of. */
  info->has_model_params = false;
  if (mhrfit_value_dict_get(person, "mhr_model_params") ||
      (mhrfit_value_dict_get(person, "global_rot") && mhrfit_value_dict_get(person, "body_pose_params"))) {
    double m[MHRFIT_N_MODEL_PARAMS];
    if (!mhrfit_sam3d_model_params(person, m, NULL, err)) return false;
    info->has_model_params = true;
  }
  return true;
}

/* Builds the person dict of list item `item` (a DICT). */
static mhrfit_value *person_from_dict(const mhrfit_value *item, mhrfit_error *err) {
  mhrfit_value *p = mhrfit_value_new_dict(err);
  if (!p) return NULL;
  for (size_t i = 0; i < item->u.dict.count; i++) {
    mhrfit_array *a;
    if (!value_to_array(item->u.dict.vals[i], &a, err) || (a && !put(p, item->u.dict.keys[i], a, err))) {
      mhrfit_value_free(p);
      return NULL;
    }
  }
  return p;
}

/* Builds person p of a dict whose per-person arrays carry a leading axis of n persons. */
static mhrfit_value *person_from_stacked(const mhrfit_value *doc, size_t n, size_t p, mhrfit_error *err) {
  mhrfit_value *out = mhrfit_value_new_dict(err);
  if (!out) return NULL;
  for (size_t i = 0; i < doc->u.dict.count; i++) {
    const char *key = doc->u.dict.keys[i];
    const mhrfit_value *v = doc->u.dict.vals[i];
    mhrfit_array *a = NULL;
    bool ok;
    if (v->kind == MHRFIT_V_ARRAY) {
      const mhrfit_array *src = v->u.array;
      const key_spec *ks = find_spec(key);
      bool stacked = ks ? src->ndim == ks->rank + 1 && src->shape[0] == n : src->ndim >= 1 && src->shape[0] == n;
      if (ks && !stacked && src->ndim != ks->rank && !(ks->rank == 0 && src->ndim == 1 && src->count == 1)) {
        char sh[128];
        shape_text(src, sh, sizeof sh);
        MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "'%s' has shape %s: neither one person's nor %zu persons' (leading axis)",
                    key, sh, n);
        mhrfit_value_free(out);
        return NULL;
      }
      a = stacked ? slice0(src, p, err) : mhrfit_array_clone(src, err);
      ok = a != NULL;
    } else {
      ok = value_to_array(v, &a, err);
    }
    if (!ok || (a && !put(out, key, a, err))) {
      mhrfit_value_free(out);
      return NULL;
    }
  }
  return out;
}

bool mhrfit_ingest_select_person(const mhrfit_value *doc, mhrfit_person_strategy strategy, long person_index,
                                 mhrfit_value **person, mhrfit_person_info *info, mhrfit_error *err) {
  mhrfit_person_info dummy;
  if (!info) info = &dummy;
  memset(info, 0, sizeof *info);
  info->bbox_area = -1;
  *person = NULL;
  if (!doc) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "no document");
  size_t n = 0;
  enum { LIST, STACKED, SINGLE, PLAIN } form;
  const mhrfit_array *stack_bbox = NULL;
  switch (doc->kind) {
    case MHRFIT_V_NULL: return true; /* pickled None: nobody */
    case MHRFIT_V_LIST:
      form = LIST;
      n = doc->u.list.count;
      for (size_t i = 0; i < n; i++)
        if (doc->u.list.items[i]->kind != MHRFIT_V_DICT)
          return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "person list item %zu is a %s, not a dict", i,
                             mhrfit_value_kind_name(doc->u.list.items[i]->kind));
      break;
    case MHRFIT_V_DICT: {
      const mhrfit_value *kv = mhrfit_value_dict_get(doc, "pred_keypoints_2d");
      if (!kv) return MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "no 'pred_keypoints_2d'");
      if (kv->kind != MHRFIT_V_ARRAY)
        return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "'pred_keypoints_2d' is a %s, not an array",
                           mhrfit_value_kind_name(kv->kind));
      const mhrfit_array *a = kv->u.array;
      if (a->ndim == 3 && a->shape[1] == N_KP && a->shape[2] == 2) {
        form = STACKED;
        n = a->shape[0];
        const mhrfit_value *bv = mhrfit_value_dict_get(doc, "bbox");
        if (bv && bv->kind == MHRFIT_V_ARRAY && bv->u.array->ndim == 2 && bv->u.array->shape[0] == n &&
            bv->u.array->shape[1] == 4)
          stack_bbox = bv->u.array;
      } else if (a->ndim == 2 && a->shape[0] == N_KP && a->shape[1] == 2) {
        form = SINGLE;
        n = 1;
      } else {
        char sh[128];
        shape_text(a, sh, sizeof sh);
        return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "'pred_keypoints_2d' has shape %s, expected (70, 2) or (N, 70, 2)", sh);
      }
      break;
    }
    case MHRFIT_V_ARRAY: {
      const mhrfit_array *a = doc->u.array;
      if (a->ndim == 3 && a->shape[1] == N_KP && a->shape[2] == 2) n = a->shape[0];
      else if (a->ndim == 2 && a->shape[0] == N_KP && a->shape[1] == 2) n = 1;
      else {
        char sh[128];
        shape_text(a, sh, sizeof sh);
        return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "plain keypoint array has shape %s, expected (70, 2) or (N, 70, 2)",
                           sh);
      }
      if (!mhrfit_dtype_is_numeric(a->dtype))
        return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "plain keypoint array holds %s, not numbers",
                           mhrfit_dtype_name(a->dtype));
      form = PLAIN;
      break;
    }
    default:
      return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "expected a dict, a list of dicts or a keypoint array, got a %s",
                         mhrfit_value_kind_name(doc->kind));
  }
  info->n_persons = n;
  if (n == 0) return true;
  /* Selection. */
  size_t chosen = 0;
  double best = -2;
  if (strategy == MHRFIT_PERSON_INDEX) {
    long idx = person_index < 0 ? 0 : person_index;
    if ((unsigned long)idx >= n) idx = (long)n - 1;
    info->index_clipped = idx != person_index;
    chosen = (size_t)idx;
  } else if (strategy == MHRFIT_PERSON_LARGEST_BBOX) {
    for (size_t p = 0; p < n; p++) {
      double area = -1;
      if (form == LIST) {
        const mhrfit_value *bv = mhrfit_value_dict_get(doc->u.list.items[p], "bbox");
        if (bv && bv->kind == MHRFIT_V_ARRAY && bv->u.array->count == 4) area = bbox_area(bv->u.array, 0);
      } else if (form == STACKED) {
        area = bbox_area(stack_bbox, 4 * p);
      } else if (form == SINGLE) {
        const mhrfit_value *bv = mhrfit_value_dict_get(doc, "bbox");
        if (bv && bv->kind == MHRFIT_V_ARRAY && bv->u.array->count == 4) area = bbox_area(bv->u.array, 0);
      }
      if (area > best) { /* strict: ties keep the earlier person */
        best = area;
        chosen = p;
      }
    }
  }
  info->chosen = chosen;
  /* Extraction. */
  mhrfit_value *out = NULL;
  if (form == LIST) {
    out = person_from_dict(doc->u.list.items[chosen], err);
  } else if (form == STACKED) {
    out = person_from_stacked(doc, n, chosen, err);
  } else if (form == SINGLE) {
    out = person_from_dict(doc, err);
  } else {
    out = mhrfit_value_new_dict(err);
    mhrfit_array *a = NULL;
    if (out) {
      a = doc->u.array->ndim == 3 ? slice0(doc->u.array, chosen, err) : mhrfit_array_clone(doc->u.array, err);
      if (!a || !put(out, "pred_keypoints_2d", a, err)) {
        mhrfit_value_free(out);
        out = NULL;
      }
    }
  }
  if (!out) {
    if (form == LIST) mhrfit_error_prefix(err, "person %zu", chosen);
    return false;
  }
  const mhrfit_value *bv = mhrfit_value_dict_get(out, "bbox");
  info->bbox_area = bv && bv->kind == MHRFIT_V_ARRAY && bv->u.array->count == 4 ? bbox_area(bv->u.array, 0) : -1;
  if (!validate(out, info, err)) {
    if (n > 1) mhrfit_error_prefix(err, "person %zu", chosen);
    mhrfit_value_free(out);
    return false;
  }
  *person = out;
  return true;
}
