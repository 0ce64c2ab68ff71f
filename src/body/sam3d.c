/* SAM 3D Body conventions: see include/mhrfit/sam3d.h. */
#include "mhrfit/sam3d.h"

#include <math.h>
#include <string.h>

/* Copies the numeric array `key` of exactly n elements into out. */
static bool get_vector(const mhrfit_value *person, const char *key, double *out, size_t n, mhrfit_error *err) {
  const mhrfit_value *v = mhrfit_value_dict_get(person, key);
  if (!v) return MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "no '%s'", key);
  if (v->kind != MHRFIT_V_ARRAY || !mhrfit_dtype_is_numeric(v->u.array->dtype) || v->u.array->count != n)
    return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "'%s' must hold %zu numbers", key, n);
  for (size_t i = 0; i < n; i++) {
    out[i] = mhrfit_array_get_f64(v->u.array, i);
    if (!isfinite(out[i])) return MHRFIT_FAIL(err, MHRFIT_ERR_NUMERIC, "'%s'[%zu] is not finite", key, i);
  }
  return true;
}

bool mhrfit_sam3d_model_params(const mhrfit_value *person, double m[MHRFIT_N_MODEL_PARAMS], int *defaulted,
                               mhrfit_error *err) {
  if (defaulted) *defaulted = 0;
  if (mhrfit_value_dict_get(person, "mhr_model_params"))
    return get_vector(person, "mhr_model_params", m, MHRFIT_N_MODEL_PARAMS, err);
  double bp[MHRFIT_N_BODY_POSE];
  memset(m, 0, MHRFIT_N_MODEL_PARAMS * sizeof *m);
  if (!mhrfit_value_dict_get(person, "body_pose_params") || !mhrfit_value_dict_get(person, "global_rot"))
    return MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND,
                       "neither 'mhr_model_params' nor 'global_rot' + 'body_pose_params' is present");
  if (!get_vector(person, "global_rot", m + 3, 3, err)) return false;
  if (!get_vector(person, "body_pose_params", bp, MHRFIT_N_BODY_POSE, err)) return false;
  mhrfit_model_set_body_pose(m, bp);
  for (int i = 68; i < 122; i++) m[i] = 0; /* the hand block of body_pose is zero in SAM 3D Body output */
  if (defaulted) *defaulted = MHRFIT_SAM3D_HANDS_ZERO | MHRFIT_SAM3D_SCALES_ZERO;
  return true;
}

void mhrfit_body_pose_from_model(const double m[MHRFIT_N_MODEL_PARAMS], double bp[MHRFIT_N_BODY_POSE]) {
  for (int i = 0; i < 130; i++) bp[i] = m[i + 6];
  bp[130] = bp[131] = bp[132] = 0.0;
}

void mhrfit_model_set_body_pose(double m[MHRFIT_N_MODEL_PARAMS], const double bp[MHRFIT_N_BODY_POSE]) {
  for (int i = 0; i < 130; i++) m[i + 6] = bp[i];
}
