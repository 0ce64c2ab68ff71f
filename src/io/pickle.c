/* Placeholder until the pickle reader lands. */
#include "mhrfit/pickle.h"

mhrfit_value *mhrfit_pickle_parse(const void *data, size_t len, const char *name,
                                  const mhrfit_pickle_limits *limits, mhrfit_error *err) {
  (void)data; (void)len; (void)limits;
  MHRFIT_FAIL(err, MHRFIT_ERR_UNSUPPORTED, "%s: pickled content is not supported yet", name ? name : "pickle");
  return NULL;
}
