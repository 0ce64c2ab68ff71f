/* OpenPose JSON keypoint files: see include/mhrfit/openpose.h. */
#include "mhrfit/openpose.h"

#include <math.h>

#include "mhrfit/json.h"

bool mhrfit_openpose_read(const char *path, size_t person, size_t n_kp, double *xyc, mhrfit_error *err) {
  for (size_t i = 0; i < 3 * n_kp; i++) xyc[i] = NAN;
  mhrfit_value *doc = mhrfit_json_load(path, err);
  if (!doc) return false;
  bool ok = true;
  const mhrfit_value *people = mhrfit_value_dict_get(doc, "people");
  if (!people || people->kind != MHRFIT_V_LIST) {
    ok = MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: no 'people' list (not an OpenPose keypoint file)", path);
    goto done;
  }
  if (person >= people->u.list.count) goto done;
  const mhrfit_value *p = people->u.list.items[person];
  const mhrfit_value *kp = mhrfit_value_dict_get(p, "pose_keypoints_2d");
  if (!kp) goto done; /* {} : not seen */
  if (kp->kind != MHRFIT_V_LIST) {
    ok = MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: person %zu: 'pose_keypoints_2d' is not a list", path, person);
    goto done;
  }
  size_t n = kp->u.list.count / 3;
  if (n > n_kp) n = n_kp;
  for (size_t i = 0; i < 3 * n; i++) {
    const mhrfit_value *e = kp->u.list.items[i];
    if (e->kind == MHRFIT_V_NULL) continue;
    if (!mhrfit_value_is_number(e) || e->kind == MHRFIT_V_BOOL) {
      ok = MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: person %zu: 'pose_keypoints_2d' item %zu is not a number", path,
                       person, i);
      goto done;
    }
    xyc[i] = mhrfit_value_as_double(e);
  }
done:
  mhrfit_value_free(doc);
  return ok;
}
