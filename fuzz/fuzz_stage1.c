/* libFuzzer target: stage-1 person extraction from arbitrary .npz / .npy / pickle bytes, and the
 * stage1_meta.json comparison from arbitrary JSON. */
#include <stddef.h>
#include <stdint.h>
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
  mf_ingest_settings s = {"0.1.0", "/in", "/in", cams, 2, MHRFIT_PERSON_INDEX, 1, "est {image} {output}", ids, 1};
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mhrfit_npy_limits lim = {.max_array_bytes = 1 << 24, .max_header_bytes = 1 << 16, .max_members = 64};
  mhrfit_pickle_limits plim = {.max_array_bytes = 1 << 24, .max_items = 1 << 16};
  mhrfit_error err = {0};
  mhrfit_value *v = NULL;
  if (size >= 2 && data[0] == 'P' && data[1] == 'K') {
    v = mhrfit_npz_parse(data, size, "fuzz.npz", &lim, &err);
  } else if (size >= 6 && memcmp(data, "\x93NUMPY", 6) == 0) {
    v = mhrfit_npy_parse(data, size, "fuzz.npy", &lim, &err);
  } else if (size >= 1 && data[0] == '{') {
    v = mhrfit_json_parse((const char *)data, size, "fuzz.json", &err);
    if (v) compare_meta(v);
  } else {
    v = mhrfit_pickle_parse(data, size, "fuzz.pkl", &plim, &err);
  }
  if (v) select_all(v);
  mhrfit_value_free(v);
  return 0;
}
