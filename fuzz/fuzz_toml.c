/* libFuzzer target: the TOML reader on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>

#include "mhrfit/toml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mhrfit_error err = {0};
  mhrfit_value *v = mhrfit_toml_parse((const char *)data, size, "fuzz.toml", &err);
  mhrfit_value_free(v);
  return 0;
}
