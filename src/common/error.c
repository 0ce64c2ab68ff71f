/* Error reporting: see include/mhrfit/error.h. */
#include "mhrfit/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void mhrfit_error_clear(mhrfit_error *err) {
  if (!err) return;
  err->type = MHRFIT_ERR_NONE;
  err->message[0] = '\0';
  err->src_file = NULL;
  err->src_line = 0;
  err->sys_errno = 0;
}

static void set_va(mhrfit_error *err, mhrfit_error_type type, int sys_errno, const char *src_file, int src_line,
                   const char *fmt, va_list ap) {
  err->type = type;
  err->src_file = src_file;
  err->src_line = src_line;
  err->sys_errno = sys_errno;
  vsnprintf(err->message, sizeof err->message, fmt, ap);
}

bool mhrfit_error_set(mhrfit_error *err, mhrfit_error_type type, const char *src_file,
                      int src_line, const char *fmt, ...) {
  if (!err) return false;
  va_list ap;
  va_start(ap, fmt);
  set_va(err, type, 0, src_file, src_line, fmt, ap);
  va_end(ap);
  return false;
}

bool mhrfit_error_set_errno(mhrfit_error *err, mhrfit_error_type type, int sys_errno, const char *src_file,
                            int src_line, const char *fmt, ...) {
  if (!err) return false;
  va_list ap;
  va_start(ap, fmt);
  set_va(err, type, sys_errno, src_file, src_line, fmt, ap);
  va_end(ap);
  return false;
}

bool mhrfit_error_is_device_full(const mhrfit_error *err) {
  if (!err || err->type == MHRFIT_ERR_NONE) return false;
  switch (err->sys_errno) {
    case ENOSPC:
#ifdef EDQUOT
    case EDQUOT:
#endif
    case EFBIG:
    case EROFS:
    case EIO: return true;
    default: return false;
  }
}

void mhrfit_error_prefix(mhrfit_error *err, const char *fmt, ...) {
  if (!err || err->type == MHRFIT_ERR_NONE) return;
  char prefix[MHRFIT_ERROR_MESSAGE_MAX];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  char joined[2 * MHRFIT_ERROR_MESSAGE_MAX + 2];
  snprintf(joined, sizeof joined, "%s: %s", prefix, err->message);
  memcpy(err->message, joined, sizeof err->message - 1);
  err->message[sizeof err->message - 1] = '\0';
}

const char *mhrfit_error_type_name(mhrfit_error_type type) {
  static const char *const names[MHRFIT_ERR_TYPE_COUNT] = {
      "none", "io", "format", "unsupported", "limit", "nomem", "argument", "not-found", "numeric", "cancelled", "busy"};
  if ((int)type < 0 || type >= MHRFIT_ERR_TYPE_COUNT) return "unknown";
  return names[type];
}
