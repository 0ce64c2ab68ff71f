/* libFuzzer target: a batch manifest (mhrfit batch --manifest) from arbitrary bytes: the TOML
 * reader, then the sessions' checks and their run arguments. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "batch/batch_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mhrfit_error err = {0};
  mhrfit_batch_manifest *m = mf_batch_manifest_parse((const char *)data, size, "/fuzz/batch.toml", &err);
  for (size_t i = 0; i < mhrfit_batch_n_sessions(m); i++) {
    const mhrfit_batch_session *s = mhrfit_batch_session_get(m, i);
    if (!s->name[0] || !s->input[0] || !s->calib[0] || !s->out[0] || s->index != i) __builtin_trap();
    for (size_t k = 0; k < s->n_args; k++)
      if (!s->args[k] || strchr(s->args[k], '\n')) __builtin_trap();
    size_t a, b;
    if (!mhrfit_batch_shard_range(mhrfit_batch_n_sessions(m), i, i + 1, &a, &b) || b < a) __builtin_trap();
  }
  mhrfit_batch_manifest_free(m);
  return 0;
}
