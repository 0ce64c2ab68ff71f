/* libFuzzer target: the .npz (ZIP) parser on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>

#include "mhrfit/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mhrfit_npy_limits lim = {.max_array_bytes = 1 << 24, .max_header_bytes = 1 << 16, .max_members = 64};
  mhrfit_error err = {0};
  mhrfit_value *v = mhrfit_npz_parse(data, size, "fuzz.npz", &lim, &err);
  mhrfit_value_free(v);
  return 0;
}
