/* Small JSON document builder (common/jbuild.h). */
#include "common/jbuild.h"

#include <math.h>
#include <string.h>

void mf_jput(mf_jb *j, mhrfit_value *dict, const char *key, mhrfit_value *val) {
  if (!val || !mhrfit_value_dict_set(dict, key, val, j->err)) j->failed = true;
}

void mf_jstr(mf_jb *j, mhrfit_value *dict, const char *key, const char *s) {
  mf_jput(j, dict, key, s ? mhrfit_value_new_string(MHRFIT_V_STRING, s, strlen(s), j->err) : mhrfit_value_new_null(j->err));
}

void mf_jnum(mf_jb *j, mhrfit_value *dict, const char *key, double x) {
  mf_jput(j, dict, key, isfinite(x) ? mhrfit_value_new_float(x, j->err) : mhrfit_value_new_null(j->err));
}

void mf_jint(mf_jb *j, mhrfit_value *dict, const char *key, long long x) {
  mf_jput(j, dict, key, mhrfit_value_new_int(x, j->err));
}

void mf_jbool(mf_jb *j, mhrfit_value *dict, const char *key, bool b) {
  mf_jput(j, dict, key, mhrfit_value_new_bool(b, j->err));
}

void mf_jstrs(mf_jb *j, mhrfit_value *dict, const char *key, const char *const *s, size_t n) {
  mhrfit_value *l = mhrfit_value_new_list(j->err);
  for (size_t k = 0; l && k < n; k++)
    if (!mhrfit_value_list_append(l, mhrfit_value_new_string(MHRFIT_V_STRING, s[k], strlen(s[k]), j->err), j->err))
      j->failed = true;
  mf_jput(j, dict, key, l);
}
