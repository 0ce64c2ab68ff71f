/* Named parameter sets: see include/mhrfit/param_sets.h (sources cited there). */
#include "mhrfit/param_sets.h"

/* MHR.md §8.3: the hand mask of body_pose (62..115 inclusive), model parameters 68..121. */
static const int hands_133[54] = {62, 63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79,
                                  80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95, 96, 97,
                                  98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115};
static const int hands_204[54] = {68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85,
                                  86, 87, 88, 89, 90, 91, 92, 93, 94, 95, 96, 97, 98, 99, 100, 101, 102, 103,
                                  104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121};
/* MHR.md §8.2: the jaw triple of body_pose. */
static const int jaw_133[3] = {130, 131, 132};
/* MHR.md §10.1: 133-space {44..61} (r/l upleg, knee, lower-leg twist, ankle, foot leans, toes),
 * {116..123} (foot flexible DOFs), 128 hip_width_flexible, 129 leg_length_flexible. */
static const int lower_133[28] = {44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57,
                                  58, 59, 60, 61, 116, 117, 118, 119, 120, 121, 122, 123, 128, 129};
/* The same in 204-space (+6), plus the root 0..5, which moves the legs rigidly. */
static const int lower_204[34] = {0, 1, 2, 3, 4, 5, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60,
                                  61, 62, 63, 64, 65, 66, 67, 122, 123, 124, 125, 126, 127, 128, 129, 134, 135};

bool mhrfit_param_set_get(mhrfit_param_set set, int dim, const int **idx, size_t *n, mhrfit_error *err) {
  if (dim != 133 && dim != 204)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT,
                       "no parameter tables for pose dimension %d (supported: 133 = body_pose_params, 204 = "
                       "mhr_model_params)",
                       dim);
  switch (set) {
    case MHRFIT_SET_HANDS:
      *idx = dim == 133 ? hands_133 : hands_204;
      *n = 54;
      return true;
    case MHRFIT_SET_JAW:
      if (dim != 133) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "the jaw exists in the 133-dimensional body pose only");
      *idx = jaw_133;
      *n = 3;
      return true;
    case MHRFIT_SET_LOWER_BODY:
      *idx = dim == 133 ? lower_133 : lower_204;
      *n = dim == 133 ? sizeof lower_133 / sizeof lower_133[0] : sizeof lower_204 / sizeof lower_204[0];
      return true;
  }
  return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "unknown parameter set %d", (int)set);
}
