/* libFuzzer target: the momentum .model parser on arbitrary text, with a three-joint skeleton. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "body/model_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char names[3][64] = {"root", "a", "b"};
  mhrfit_rig rig = {0};
  rig.n_joints = 3;
  rig.joint_names = names;
  mhrfit_error err = {0};
  mf_model_parse((const char *)data, size, "fuzz.model", &rig, &err);
  free(rig.param_names);
  free(rig.pt);
  free(rig.limits);
  return 0;
}
