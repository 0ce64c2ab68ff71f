/* libFuzzer target: the safe pickle reader on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>

#include "mhrfit/pickle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mhrfit_pickle_limits lim = {.max_depth = 64, .max_array_bytes = 1 << 24, .max_items = 1 << 16};
  mhrfit_error err = {0};
  mhrfit_value *v = mhrfit_pickle_parse(data, size, "fuzz.pkl", &lim, &err);
  mhrfit_value_free(v);
  return 0;
}
