/* Stage 1: file identities and the comparison of stage1_meta.json with a request. The meta
 * document is read with the JSON reader; everything here tolerates any document shape. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file.h"
#include "common/hash.h"
#include "common/path.h"
#include "ingest/ingest_internal.h"

bool mf_file_identity(const char *path, mf_file_id *id, mhrfit_error *err) {
  memset(id, 0, sizeof *id);
  struct stat st;
  mhrfit_error oe = {0};
  int fd = mf_open_regular(path, MF_READ_ABSENT_OK, &st, &oe);
  if (fd == -2 && !mf_is_dir(path)) return true; /* missing */
  if (fd < 0) {
    if (fd == -2) return MHRFIT_FAIL(err, MHRFIT_ERR_IO, "%s: is a folder, not a regular file", path);
    if (err) *err = oe;
    return false;
  }
  /* one read for files up to 4 MiB (images, SAM outputs), chunks of that size beyond */
  size_t cap = st.st_size > 0 && (uintmax_t)st.st_size < ((uintmax_t)4 << 20) ? (size_t)st.st_size + 1 : (size_t)4 << 20;
  unsigned char *buf = malloc(cap);
  if (!buf) {
    close(fd);
    return MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "%s: out of memory", path);
  }
  mf_xxh64 h;
  mf_xxh64_init(&h);
  uint64_t total = 0;
  for (;;) {
    ssize_t r = read(fd, buf, cap);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      int e = errno;
      free(buf);
      close(fd);
      return MHRFIT_FAIL(err, MHRFIT_ERR_IO, "%s: read failed: %s", path, strerror(e));
    }
    if (r == 0) break;
    mf_xxh64_update(&h, buf, (size_t)r);
    total += (uint64_t)r;
    if (total == (uint64_t)st.st_size && (size_t)r < cap) break; /* whole file: skip the EOF read */
  }
  free(buf);
  close(fd);
  id->exists = true;
  id->size = (uint64_t)st.st_size;
  id->mtime_sec = (long long)st.st_mtim.tv_sec;
  id->mtime_nsec = (long)st.st_mtim.tv_nsec;
  id->hash = mf_xxh64_digest(&h);
  return true;
}

static void hash_text(uint64_t h, char buf[17]) { snprintf(buf, 17, "%016" PRIx64, h); }

static bool set_string(mhrfit_value *d, const char *key, const char *s, mhrfit_error *err) {
  mhrfit_value *v = mhrfit_value_new_string(MHRFIT_V_STRING, s, strlen(s), err);
  return v && mhrfit_value_dict_set(d, key, v, err);
}

mhrfit_value *mf_ingest_id_value(const char *rel, const mf_file_id *id, mhrfit_error *err) {
  if (!rel || !id->exists) return mhrfit_value_new_null(err);
  mhrfit_value *d = mhrfit_value_new_dict(err);
  if (!d) return NULL;
  char mt[64], hx[17];
  snprintf(mt, sizeof mt, "%lld.%09ld", id->mtime_sec, id->mtime_nsec);
  hash_text(id->hash, hx);
  mhrfit_value *size = mhrfit_value_new_int((int64_t)id->size, err);
  if (!set_string(d, "path", rel, err) || !size || !mhrfit_value_dict_set(d, "size", size, err) ||
      !set_string(d, "mtime", mt, err) || !set_string(d, "xxh64", hx, err)) {
    mhrfit_value_free(d);
    return NULL;
  }
  return d;
}

/* The string of `key` in a dict, or NULL. */
static const char *get_str(const mhrfit_value *d, const char *key) {
  const mhrfit_value *v = mhrfit_value_dict_get(d, key);
  return v && v->kind == MHRFIT_V_STRING ? v->u.str.data : NULL;
}

static bool same_str(const char *a, const char *b) { return (!a && !b) || (a && b && strcmp(a, b) == 0); }

/* True when `v` is a LIST of exactly the strings s[0..n-1]. */
static bool same_list(const mhrfit_value *v, const char *const *s, size_t n) {
  if (!v || v->kind != MHRFIT_V_LIST || v->u.list.count != n) return false;
  for (size_t i = 0; i < n; i++) {
    const mhrfit_value *it = v->u.list.items[i];
    if (it->kind != MHRFIT_V_STRING || strcmp(it->u.str.data, s[i]) != 0) return false;
  }
  return true;
}

static bool has_estimator(const mf_ingest_settings *s) { return s->estimator || s->estimator_worker; }

/* True when camera c of `s` has finite intrinsics. */
static bool known_intrinsics(const mf_ingest_settings *s, size_t c) {
  if (!s->cam_intrinsics || !has_estimator(s)) return false;
  for (int k = 0; k < 9; k++)
    if (!isfinite(s->cam_intrinsics[9 * c + k])) return false;
  return true;
}

mhrfit_value *mf_ingest_intrinsics_value(const mf_ingest_settings *s, mhrfit_error *err) {
  bool any = false;
  for (size_t c = 0; c < s->n_cams && !any; c++) any = known_intrinsics(s, c);
  if (!any) return mhrfit_value_new_null(err);
  mhrfit_value *d = mhrfit_value_new_dict(err);
  for (size_t c = 0; d && c < s->n_cams; c++) {
    mhrfit_value *row = known_intrinsics(s, c) ? mhrfit_value_new_list(err) : mhrfit_value_new_null(err);
    for (int k = 0; row && row->kind == MHRFIT_V_LIST && k < 9; k++)
      if (!mhrfit_value_list_append(row, mhrfit_value_new_float(s->cam_intrinsics[9 * c + k], err), err)) {
        mhrfit_value_free(row);
        row = NULL;
      }
    if (!row || !mhrfit_value_dict_set(d, s->cams[c], row, err)) {
      mhrfit_value_free(d);
      d = NULL;
    }
  }
  return d;
}

/* True when the meta's cam_intrinsics equal those of `s` (both absent counts as equal); *cam
 * names the first camera that differs. */
static bool same_intrinsics(const mhrfit_value *meta, const mf_ingest_settings *s, const char **cam) {
  const mhrfit_value *ci = mhrfit_value_dict_get(meta, "cam_intrinsics");
  bool stored = ci && ci->kind == MHRFIT_V_DICT;
  if (ci && !stored && ci->kind != MHRFIT_V_NULL) return false;
  for (size_t c = 0; c < s->n_cams; c++) {
    const mhrfit_value *row = stored ? mhrfit_value_dict_get(ci, s->cams[c]) : NULL;
    bool have = row && row->kind == MHRFIT_V_LIST;
    *cam = s->cams[c];
    if (have != known_intrinsics(s, c)) return false;
    if (!have) continue;
    if (row->u.list.count != 9) return false;
    for (int k = 0; k < 9; k++) {
      const mhrfit_value *x = row->u.list.items[k];
      if (!mhrfit_value_is_number(x) || mhrfit_value_as_double(x) != s->cam_intrinsics[9 * c + k]) return false;
    }
  }
  *cam = NULL;
  return true;
}

mhrfit_ingest_reason mf_ingest_meta_compare(const mhrfit_value *meta, const mf_ingest_settings *s, char *detail,
                                            size_t size) {
  const mhrfit_value *ver = mhrfit_value_dict_get(meta, "version");
  if (!meta || meta->kind != MHRFIT_V_DICT || !same_str(get_str(meta, "format"), MF_INGEST_META_FORMAT) || !ver ||
      !mhrfit_value_is_number(ver) || mhrfit_value_as_double(ver) != MF_INGEST_META_VERSION) {
    snprintf(detail, size, "stage1_meta.json is not a version %d mhrfit stage-1 record", MF_INGEST_META_VERSION);
    return MHRFIT_INGEST_META_INVALID;
  }
  const char *tv = get_str(meta, "tool_version");
  if (!same_str(tv, s->tool_version)) {
    snprintf(detail, size, "written by mhrfit %s, this is %s", tv ? tv : "?", s->tool_version);
    return MHRFIT_INGEST_TOOL_VERSION;
  }
  const char *in = get_str(meta, "input_root"), *sam = get_str(meta, "sam_root");
  if (!same_str(in, s->input_root)) {
    snprintf(detail, size, "input root was %s, now %s", in ? in : "?", s->input_root);
    return MHRFIT_INGEST_INPUT_CHANGED;
  }
  if (!same_str(sam, s->sam_root)) {
    snprintf(detail, size, "SAM output root was %s, now %s", sam ? sam : "?", s->sam_root);
    return MHRFIT_INGEST_INPUT_CHANGED;
  }
  if (!same_list(mhrfit_value_dict_get(meta, "cams"), s->cams, s->n_cams)) {
    snprintf(detail, size, "the camera list changed");
    return MHRFIT_INGEST_CAMS_CHANGED;
  }
  const mhrfit_value *files = mhrfit_value_dict_get(meta, "cam_files"); /* absent: the camera names */
  if (!same_list(files ? files : mhrfit_value_dict_get(meta, "cams"), s->cam_files, s->n_cams)) {
    snprintf(detail, size, "the camera file names changed");
    return MHRFIT_INGEST_CAMS_CHANGED;
  }
  const char *st = get_str(meta, "person_select_strategy");
  const char *want = mhrfit_person_strategy_name(s->strategy);
  if (!same_str(st, want)) {
    snprintf(detail, size, "person selection was %s, now %s", st ? st : "?", want);
    return MHRFIT_INGEST_STRATEGY_CHANGED;
  }
  const mhrfit_value *pi = mhrfit_value_dict_get(meta, "person_index");
  if (s->strategy == MHRFIT_PERSON_INDEX &&
      (!pi || !mhrfit_value_is_number(pi) || mhrfit_value_as_double(pi) != (double)s->person_index)) {
    snprintf(detail, size, "person index was %.0f, now %ld", pi ? mhrfit_value_as_double(pi) : -1.0,
             s->person_index);
    return MHRFIT_INGEST_STRATEGY_CHANGED;
  }
  const mhrfit_value *ev = mhrfit_value_dict_get(meta, "estimator");
  const char *est = ev && ev->kind == MHRFIT_V_STRING ? ev->u.str.data : NULL;
  if ((ev && ev->kind != MHRFIT_V_STRING && ev->kind != MHRFIT_V_NULL) || !same_str(est, s->estimator)) {
    snprintf(detail, size, "estimator command was %s, now %s", est ? est : "none",
             s->estimator ? s->estimator : "none");
    return MHRFIT_INGEST_ESTIMATOR_CHANGED;
  }
  const mhrfit_value *wv = mhrfit_value_dict_get(meta, "estimator_worker");
  const char *wk = wv && wv->kind == MHRFIT_V_STRING ? wv->u.str.data : NULL;
  if ((wv && wv->kind != MHRFIT_V_STRING && wv->kind != MHRFIT_V_NULL) || !same_str(wk, s->estimator_worker)) {
    snprintf(detail, size, "estimator worker command was %s, now %s", wk ? wk : "none",
             s->estimator_worker ? s->estimator_worker : "none");
    return MHRFIT_INGEST_ESTIMATOR_CHANGED;
  }
  const char *cam = NULL;
  if (!same_intrinsics(meta, s, &cam)) {
    snprintf(detail, size, "the camera intrinsics given to the estimator changed (camera '%s')", cam ? cam : "?");
    return MHRFIT_INGEST_ESTIMATOR_CHANGED;
  }
  if (!same_list(mhrfit_value_dict_get(meta, "model_ids"), s->model_ids, s->n_model_ids)) {
    size_t n = (size_t)snprintf(detail, size, "model identifiers changed (now:");
    for (size_t i = 0; i < s->n_model_ids && n < size; i++)
      n += (size_t)snprintf(detail + n, size - n, " %s", s->model_ids[i]);
    if (n < size) snprintf(detail + n, size - n, "%s)", s->n_model_ids ? "" : " none");
    return MHRFIT_INGEST_MODEL_CHANGED;
  }
  return MHRFIT_INGEST_REUSE;
}

/* Compares a recorded identity (NULL/null = absent) with the current one. Returns true when
 * they match; otherwise writes what differs. */
static bool same_id(const mhrfit_value *rec, const char *what, const char *cam, const char *rel, const mf_file_id *cur,
                    char *detail, size_t size) {
  bool had = rec && rec->kind == MHRFIT_V_DICT;
  if (rec && !had && rec->kind != MHRFIT_V_NULL) {
    snprintf(detail, size, "camera '%s': malformed %s record", cam, what);
    return false;
  }
  if (!had && !cur->exists) return true;
  if (!had) {
    snprintf(detail, size, "camera '%s': %s %s appeared", cam, what, rel ? rel : "?");
    return false;
  }
  const char *rp = get_str(rec, "path");
  if (!cur->exists) {
    snprintf(detail, size, "camera '%s': %s %s vanished", cam, what, rp ? rp : "?");
    return false;
  }
  if (!same_str(rp, rel)) {
    snprintf(detail, size, "camera '%s': %s is now %s (was %s)", cam, what, rel ? rel : "?", rp ? rp : "?");
    return false;
  }
  const mhrfit_value *sz = mhrfit_value_dict_get(rec, "size");
  double rsize = sz && mhrfit_value_is_number(sz) ? mhrfit_value_as_double(sz) : -1;
  if (rsize != (double)cur->size) {
    snprintf(detail, size, "camera '%s': %s %s changed (size %.0f -> %" PRIu64 " bytes)", cam, what, rel, rsize,
             cur->size);
    return false;
  }
  char hx[17];
  hash_text(cur->hash, hx);
  if (!same_str(get_str(rec, "xxh64"), hx)) {
    snprintf(detail, size, "camera '%s': %s %s changed (content hash differs)", cam, what, rel);
    return false;
  }
  return true;
}

mhrfit_ingest_reason mf_ingest_view_compare(const mhrfit_value *rec, const char *cam, const char *image_rel,
                                            const mf_file_id *cur_image, const char *source_rel,
                                            const mf_file_id *cur_source, const char *out_rel,
                                            const mf_file_id *cur_out, char *detail, size_t size) {
  if (!rec || rec->kind != MHRFIT_V_DICT) {
    snprintf(detail, size, "no record of camera '%s'", cam);
    return MHRFIT_INGEST_META_INVALID;
  }
  const char *status = get_str(rec, "status");
  if (!status || (strcmp(status, "ok") != 0 && strcmp(status, "missing") != 0 && strcmp(status, "no_person") != 0)) {
    snprintf(detail, size, "camera '%s' failed last time%s%s", cam, get_str(rec, "error") ? ": " : "",
             get_str(rec, "error") ? get_str(rec, "error") : "");
    return MHRFIT_INGEST_PREVIOUS_FAILURE;
  }
  if (!same_id(mhrfit_value_dict_get(rec, "image"), "image", cam, image_rel, cur_image, detail, size))
    return MHRFIT_INGEST_IMAGE_CHANGED;
  if (!same_id(mhrfit_value_dict_get(rec, "source"), "SAM output", cam, source_rel, cur_source, detail, size))
    return MHRFIT_INGEST_SOURCE_CHANGED;
  if (strcmp(status, "ok") == 0) {
    if (!same_id(mhrfit_value_dict_get(rec, "output"), "stage-1 file", cam, out_rel, cur_out, detail, size))
      return MHRFIT_INGEST_OUTPUT_MISSING;
  } else if (cur_out->exists) {
    snprintf(detail, size, "camera '%s': unexpected stage-1 file %s (recorded as %s)", cam, out_rel, status);
    return MHRFIT_INGEST_OUTPUT_MISSING;
  }
  return MHRFIT_INGEST_REUSE;
}

bool mf_ingest_meta_same_estimator(const mhrfit_value *meta, const mf_ingest_settings *s) {
  if (!meta || meta->kind != MHRFIT_V_DICT || !same_str(get_str(meta, "format"), MF_INGEST_META_FORMAT)) return false;
  const mhrfit_value *ev = mhrfit_value_dict_get(meta, "estimator");
  const char *est = ev && ev->kind == MHRFIT_V_STRING ? ev->u.str.data : NULL;
  const mhrfit_value *wv = mhrfit_value_dict_get(meta, "estimator_worker");
  const char *wk = wv && wv->kind == MHRFIT_V_STRING ? wv->u.str.data : NULL;
  const char *cam;
  return has_estimator(s) && same_str(est, s->estimator) && same_str(wk, s->estimator_worker) &&
         same_intrinsics(meta, s, &cam) && same_str(get_str(meta, "input_root"), s->input_root) &&
         same_list(mhrfit_value_dict_get(meta, "model_ids"), s->model_ids, s->n_model_ids);
}
