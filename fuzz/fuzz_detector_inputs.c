/* libFuzzer target: the detector inputs' text parsers on arbitrary bytes. The first byte picks the
 * parser (its value mod 3): 0 = Caliscope xy csv (cameras on ports 0..3; with a 33-keypoint layout
 * when the byte is >= 128, else any point ids), 1 = a keypoint name list (lines or JSON), 2 = a user
 * keypoint map (JSON) over five keypoints, resolved against a small joint list. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mhrfit/detector.h"
#include "mhrfit/layout.h"
#include "mhrfit/observations.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  mhrfit_error err = {0};
  const char *text = (const char *)data + 1;
  if (data[0] % 3 == 0) {
    static const long ports[4] = {0, 1, 2, 3};
    mhrfit_observations *o =
        mhrfit_observations_parse_caliscope_csv(text, size - 1, "fuzz.csv", ports, 4, data[0] >= 128 ? 33 : 0, &err);
    mhrfit_observations_free(o);
  } else if (data[0] % 3 == 1) {
    char **names = NULL;
    size_t n = 0;
    if (mhrfit_keypoint_names_parse(text, size - 1, "fuzz.txt", &names, &n, &err)) mhrfit_names_free(names, n);
  } else {
    /* the map parser only looks joints up by name: a rig with four named joints suffices */
    static char joint_names[4][64] = {"root", "l_upleg", "r_upleg", "c_head"};
    mhrfit_rig rig;
    memset(&rig, 0, sizeof rig);
    rig.n_joints = 4;
    rig.joint_names = joint_names;
    static const char *const kp[5] = {"Nose", "LHip", "RHip", "a", "b"};
    mhrfit_detmap *m = mhrfit_detmap_new_names(kp, 5, &err);
    if (m) mhrfit_detmap_apply_json(m, &rig, text, size - 1, "fuzz.json", &err);
    mhrfit_detmap_free(m);
  }
  return 0;
}
