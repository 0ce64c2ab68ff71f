/* libFuzzer target: the sync tables of `mhrfit frames` (the original's per-tick CSV and
 * Caliscope's frame_time_history.csv). The first byte picks the parser and the id column. */
#include <stddef.h>
#include <stdint.h>

#include "media/sync.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  mhrfit_error err = {0};
  mf_sync_table t;
  const char *text = (const char *)data + 1;
  size_t len = size - 1;
  bool ok = (data[0] & 1) ? mf_sync_parse_frame_times(text, len, "fuzz.csv", &t, &err)
                          : mf_sync_parse_ticks(text, len, "fuzz.csv", (data[0] & 2) ? "id" : NULL, &t, &err);
  if (ok) {
    /* touch every cell: the table's shape must be what it says */
    long long sum = 0;
    for (size_t i = 0; i < t.n_rows * t.n_cams; i++) sum += t.idx[i];
    for (size_t i = 0; i < t.n_rows; i++) sum += t.rows[i][0] + t.src_line[i];
    for (size_t i = 0; i < t.n_cams; i++) sum += t.cams[i][0];
    if (sum == 42) err.type = MHRFIT_ERR_NONE;
    mf_sync_table_free(&t);
  }
  return 0;
}
