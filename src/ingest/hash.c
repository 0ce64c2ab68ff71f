/* Content hashes of files for stage1_meta.json (xxHash64, common/hash.h). */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "common/file.h"
#include "common/hash.h"
#include "ingest/ingest_internal.h"

bool mhrfit_ingest_hash_file(const char *path, unsigned long long *hash, mhrfit_error *err) {
  int fd = mf_open_regular(path, 0, NULL, err);
  if (fd < 0) return false;
  mf_xxh64 s;
  mf_xxh64_init(&s);
  unsigned char buf[1 << 16];
  size_t n;
  bool ok;
  while ((ok = mf_read_full(fd, buf, sizeof buf, &n)) && n > 0) mf_xxh64_update(&s, buf, n);
  int e = errno;
  close(fd);
  if (!ok) return MHRFIT_FAIL_ERRNO(err, MHRFIT_ERR_IO, e, "%s: read failed: %s", path, strerror(e));
  *hash = mf_xxh64_digest(&s);
  return true;
}
