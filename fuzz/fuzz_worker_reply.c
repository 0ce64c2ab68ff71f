/* libFuzzer target: the classification of an estimator worker's reply line (JSON through
 * cJSON, then the "ready" / "ok" / "id" / "error" rules). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ingest/worker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char text[256];
  unsigned long long id = size ? data[0] : 0;
  mf_reply_kind k = mf_worker_parse_reply((const char *)data, size, id, text, sizeof text);
  /* the text is always a terminated string */
  if (strlen(text) >= sizeof text || (unsigned)k > MF_REPLY_STALE) __builtin_trap();
  return 0;
}
