/* Internal: a small builder of JSON documents (mhrfit_value dicts) for summaries and settings
 * files. Not part of the public API. */
#ifndef MF_COMMON_JBUILD_H
#define MF_COMMON_JBUILD_H

#include <stdbool.h>

#include "mhrfit/error.h"
#include "mhrfit/value.h"

/* Builds JSON documents without checking every call: the first failure sets `failed` (and
 * `*err`), later calls still run and free what they cannot insert. Non-finite numbers and NULL
 * strings become JSON null. */
typedef struct mf_jb {
  mhrfit_error *err; /* filled on the first failure */
  bool failed;       /* a call failed */
} mf_jb;

/* dict[key] = val (takes val; NULL val marks the builder failed). */
void mf_jput(mf_jb *j, mhrfit_value *dict, const char *key, mhrfit_value *val);
/* dict[key] = string s, or null when s is NULL. */
void mf_jstr(mf_jb *j, mhrfit_value *dict, const char *key, const char *s);
/* dict[key] = x, or null when x is not finite. */
void mf_jnum(mf_jb *j, mhrfit_value *dict, const char *key, double x);
/* dict[key] = integer x. */
void mf_jint(mf_jb *j, mhrfit_value *dict, const char *key, long long x);
/* dict[key] = boolean b. */
void mf_jbool(mf_jb *j, mhrfit_value *dict, const char *key, bool b);
/* dict[key] = list of the n strings s[0..n-1]. */
void mf_jstrs(mf_jb *j, mhrfit_value *dict, const char *key, const char *const *s, size_t n);

#endif
