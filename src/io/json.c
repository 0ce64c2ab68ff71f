/* JSON reading through cJSON: see include/mhrfit/json.h. */
#include "mhrfit/json.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/file.h"
#include "common/utf8.h"

static mhrfit_value *convert(const cJSON *j, mhrfit_error *err) {
  if (cJSON_IsNull(j)) return mhrfit_value_new_null(err);
  if (cJSON_IsBool(j)) return mhrfit_value_new_bool(cJSON_IsTrue(j), err);
  if (cJSON_IsNumber(j)) {
    double d = j->valuedouble;
    if (d == floor(d) && fabs(d) <= 9007199254740992.0) return mhrfit_value_new_int((int64_t)d, err);
    return mhrfit_value_new_float(d, err);
  }
  if (cJSON_IsString(j)) return mhrfit_value_new_string(MHRFIT_V_STRING, j->valuestring, strlen(j->valuestring), err);
  if (cJSON_IsArray(j)) {
    mhrfit_value *l = mhrfit_value_new_list(err);
    for (const cJSON *c = j->child; l && c; c = c->next) {
      mhrfit_value *v = convert(c, err);
      if (!v || !mhrfit_value_list_append(l, v, err)) {
        mhrfit_value_free(l);
        return NULL;
      }
    }
    return l;
  }
  if (cJSON_IsObject(j)) {
    mhrfit_value *d = mhrfit_value_new_dict(err);
    for (const cJSON *c = j->child; d && c; c = c->next) {
      mhrfit_value *v = convert(c, err);
      if (!v || !mhrfit_value_dict_set(d, c->string ? c->string : "", v, err)) {
        mhrfit_value_free(d);
        return NULL;
      }
    }
    return d;
  }
  MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "unsupported JSON value");
  return NULL;
}

mhrfit_value *mhrfit_json_parse(const char *text, size_t len, const char *name, mhrfit_error *err) {
  if (!name) name = "json";
  if (!mf_utf8_valid(text, len)) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: not valid UTF-8", name);
    return NULL;
  }
  const char *end = NULL;
  cJSON *j = cJSON_ParseWithLengthOpts(text, len, &end, 0);
  if (!j) {
    size_t off = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
    int line = 1;
    for (size_t i = 0; i < off; i++) line += text[i] == '\n';
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s:%d: JSON syntax error (or nesting deeper than %d) near byte %zu", name, line,
                CJSON_NESTING_LIMIT, off);
    return NULL;
  }
  /* Only whitespace may follow the value. */
  for (const char *c = end; c && c < text + len; c++)
    if (*c != ' ' && *c != '\n' && *c != '\r' && *c != '\t' && *c != '\0') {
      cJSON_Delete(j);
      MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: trailing data after the JSON value at byte %zu", name, (size_t)(c - text));
      return NULL;
    }
  mhrfit_value *v = convert(j, err);
  cJSON_Delete(j);
  if (!v) mhrfit_error_prefix(err, "%s", name);
  return v;
}

mhrfit_value *mhrfit_json_load(const char *path, mhrfit_error *err) {
  unsigned char *data;
  size_t len;
  if (!mf_read_file(path, (size_t)256 << 20, &data, &len, err)) return NULL;
  mhrfit_value *v = mhrfit_json_parse((const char *)data, len, path, err);
  free(data);
  return v;
}
