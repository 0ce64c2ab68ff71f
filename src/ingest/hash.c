/* Content hashes of files for stage1_meta.json (xxHash64, common/hash.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/hash.h"
#include "ingest/ingest_internal.h"

bool mhrfit_ingest_hash_file(const char *path, unsigned long long *hash, mhrfit_error *err) {
  FILE *f = fopen(path, "rb");
  if (!f) return MHRFIT_FAIL(err, MHRFIT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  mf_xxh64 s;
  mf_xxh64_init(&s);
  unsigned char buf[1 << 16];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) mf_xxh64_update(&s, buf, n);
  bool bad = ferror(f) != 0;
  fclose(f);
  if (bad) return MHRFIT_FAIL(err, MHRFIT_ERR_IO, "%s: read failed", path);
  *hash = mf_xxh64_digest(&s);
  return true;
}
