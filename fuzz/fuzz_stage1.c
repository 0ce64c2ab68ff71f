/* libFuzzer target: stage-1 person extraction from arbitrary .npz / .npy / pickle bytes, and the
 * stage1_meta.json comparison from arbitrary JSON. NumPy bytes are parsed twice: with small
 * limits, and as mhrfit ingest reads a SAM 3D Body output (its default limits: 256 MiB inflated
 * per file), so that what the command line would inflate is what is fuzzed. A JSON document is
 * also scanned as a long run reads its stage1_meta.json (meta_text.c). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest_internal.h"
#include "mhrfit/ingest.h"
#include "mhrfit/json.h"
#include "mhrfit/npy.h"
#include "mhrfit/pickle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void select_all(const mhrfit_value *doc) {
  static const mhrfit_person_strategy s[3] = {MHRFIT_PERSON_LARGEST_BBOX, MHRFIT_PERSON_FIRST, MHRFIT_PERSON_INDEX};
  static const long idx[3] = {-1, 1, 1000};
  for (int i = 0; i < 3; i++) {
    mhrfit_value *p = NULL;
    mhrfit_person_info info;
    mhrfit_error err = {0};
    if (mhrfit_ingest_select_person(doc, s[i], idx[i], &p, &info, &err) && p && info.n_persons == 0) __builtin_trap();
    mhrfit_value_free(p);
  }
}

static void compare_meta(const mhrfit_value *meta) {
  const char *cams[2] = {"a", "b"}, *ids[1] = {"checkpoint=x"};
  mf_ingest_settings s = {.tool_version = "0.1.0",
                          .input_root = "/in",
                          .sam_root = "/in",
                          .cams = cams,
                          .cam_files = cams,
                          .n_cams = 2,
                          .strategy = MHRFIT_PERSON_INDEX,
                          .person_index = 1,
                          .estimator = "est {image} {output}",
                          .model_ids = ids,
                          .n_model_ids = 1};
  char detail[256];
  mf_ingest_meta_compare(meta, &s, detail, sizeof detail);
  mf_ingest_meta_same_estimator(meta, &s);
  const mhrfit_value *frames = mhrfit_value_dict_get(meta, "frames");
  if (!frames || frames->kind != MHRFIT_V_DICT) return;
  mf_file_id img = {true, 8, 1, 2, 0x1234}, none = {0};
  for (size_t f = 0; f < frames->u.dict.count; f++) {
    const mhrfit_value *views = mhrfit_value_dict_get(frames->u.dict.vals[f], "views");
    for (int c = 0; c < 2; c++)
      mf_ingest_view_compare(mhrfit_value_dict_get(views, cams[c]), cams[c], "0/a.jpg", &img, NULL, &none,
                             "stage1/0/a.npz", &img, detail, sizeof detail);
  }
}

/* The meta as a long run reads it (meta_text.c): scanned, every record parsed and turned back
 * into its text; a document the JSON reader accepts is never refused. */
static void scan_meta(const uint8_t *data, size_t size, const mhrfit_value *parsed) {
  char *text = malloc(size ? size : 1);
  if (!text) return;
  memcpy(text, data, size);
  mf_ingest_meta m;
  mhrfit_error err = {0};
  if (!mf_ingest_meta_scan(&m, text, size, "fuzz.json", &err)) {
    free(text);
    if (parsed && parsed->kind == MHRFIT_V_DICT && err.type != MHRFIT_ERR_NOMEM) __builtin_trap();
    return;
  }
  for (size_t i = 0; i < m.n_frames; i++) {
    if (mf_ingest_meta_find(&m, m.names[i]) != (long)i) __builtin_trap();
    mhrfit_value *rec = mf_ingest_meta_record(&m, m.names[i]);
    char *t = rec ? mf_ingest_record_text(rec, NULL) : NULL;
    free(t);
    mhrfit_value_free(rec);
  }
  compare_meta(m.head);
  mf_ingest_meta_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mhrfit_npy_limits lim = {.max_array_bytes = 1 << 24, .max_header_bytes = 1 << 16, .max_members = 64};
  mhrfit_pickle_limits plim = {.max_array_bytes = 1 << 24, .max_items = 1 << 16};
  mhrfit_error err = {0};
  mhrfit_value *v = NULL;
  bool numpy = (size >= 2 && data[0] == 'P' && data[1] == 'K') || (size >= 6 && memcmp(data, "\x93NUMPY", 6) == 0);
  if (numpy) {
    v = mhrfit_numpy_parse(data, size, "fuzz", &lim, &err);
    /* as mhrfit ingest reads it (ingest.c: max_total_bytes of the options, default) */
    const mhrfit_npy_limits real = {.max_total_bytes = MHRFIT_NPY_INPUT_MAX_TOTAL};
    mhrfit_error_clear(&err);
    mhrfit_value *w = mhrfit_numpy_parse(data, size, "fuzz", &real, &err);
    if (w) select_all(w);
    mhrfit_value_free(w);
  } else if (size >= 1 && data[0] == '{') {
    v = mhrfit_json_parse((const char *)data, size, "fuzz.json", &err);
    if (v) compare_meta(v);
    scan_meta(data, size, v);
  } else {
    v = mhrfit_pickle_parse(data, size, "fuzz.pkl", &plim, &err);
  }
  if (v) select_all(v);
  mhrfit_value_free(v);
  return 0;
}
