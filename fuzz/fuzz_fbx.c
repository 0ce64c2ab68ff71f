/* libFuzzer target: the binary FBX parser and the rig extraction on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>

#include "body/fbx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mhrfit_error err = {0};
  mf_fbx *f = mf_fbx_parse(data, size, "fuzz.fbx", 1 << 24, &err);
  if (f) {
    mf_fbx_rig rig;
    if (mf_fbx_extract_rig(f, "fuzz.fbx", &rig, &err)) mf_fbx_rig_free(&rig);
    mf_fbx_free(f);
  }
  return 0;
}
