/* libFuzzer target: the .npz (ZIP) parser on arbitrary bytes, with small limits and with the
 * limits the command line really uses for a per-view input (mhrfit inspect and ingest: arrays up
 * to 4 GiB, 256 MiB inflated per file), so that an archive inflating past them shows up as a
 * memory-limit finding (scripts/fuzz runs with -rss_limit_mb=2048). */
#include <stddef.h>
#include <stdint.h>

#include "mhrfit/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mhrfit_npy_limits lim = {.max_array_bytes = 1 << 24, .max_header_bytes = 1 << 16, .max_members = 64};
  mhrfit_error err = {0};
  mhrfit_value *v = mhrfit_npz_parse(data, size, "fuzz.npz", &lim, &err);
  mhrfit_value_free(v);
  const mhrfit_npy_limits real = {.max_total_bytes = MHRFIT_NPY_INPUT_MAX_TOTAL};
  mhrfit_error_clear(&err);
  v = mhrfit_npz_parse(data, size, "fuzz.npz", &real, &err);
  mhrfit_value_free(v);
  return 0;
}
