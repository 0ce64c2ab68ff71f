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
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      close(fd);
      return MHRFIT_FAIL_ERRNO(err, MHRFIT_ERR_IO, e, "%s: read failed: %s", path, strerror(e));
    }
    if (n == 0) break;
    mf_xxh64_update(&s, buf, (size_t)n);
  }
  close(fd);
  *hash = mf_xxh64_digest(&s);
  return true;
}
