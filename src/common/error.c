/* Error reporting: see include/mhrfit/error.h. */
#include "mhrfit/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void mhrfit_error_clear(mhrfit_error *err) {
  if (!err) return;
  err->type = MHRFIT_ERR_NONE;
  err->message[0] = '\0';
  err->src_file = NULL;
  err->src_line = 0;
}

bool mhrfit_error_set(mhrfit_error *err, mhrfit_error_type type, const char *src_file,
                      int src_line, const char *fmt, ...) {
  if (!err) return false;
  err->type = type;
  err->src_file = src_file;
  err->src_line = src_line;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->message, sizeof err->message, fmt, ap);
  va_end(ap);
  return false;
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
