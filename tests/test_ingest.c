#define _XOPEN_SOURCE 700 /* realpath, setenv */
/* Stage 1 (ingest): person selection on every input form, validation, the stage-1 files and
 * stage1_meta.json, the cache check (what invalidates which frames), the estimator hook and
 * failures that must not stop the other frames. */
#include "harness.h"

#include <math.h>
#include <stdarg.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mhrfit/ingest.h"
#include "mhrfit/json.h"
#include "mhrfit/npy.h"

/* ---- helpers ------------------------------------------------------------------------------ */

static mhrfit_value *load(const char *rel) {
  mhrfit_error err = {0};
  mhrfit_value *v = mhrfit_numpy_load(FIXTURE(rel), NULL, &err);
  if (!v) fprintf(stderr, "%s\n", err.message);
  return v;
}

static const mhrfit_array *arr(const mhrfit_value *d, const char *key) {
  const mhrfit_value *v = mhrfit_value_dict_get(d, key);
  return v && v->kind == MHRFIT_V_ARRAY ? v->u.array : NULL;
}

/* Selects with `s`/`idx`; returns the chosen person's keypoint 0 x (1000 * person id). */
static double pick(const mhrfit_value *doc, mhrfit_person_strategy s, long idx, mhrfit_person_info *info) {
  mhrfit_value *p = NULL;
  mhrfit_error err = {0};
  if (!mhrfit_ingest_select_person(doc, s, idx, &p, info, &err)) {
    fprintf(stderr, "select: %s\n", err.message);
    return -1;
  }
  if (!p) return -2;
  const mhrfit_array *kp = arr(p, "pred_keypoints_2d");
  double x = kp && kp->dtype == MHRFIT_DT_F32 && kp->ndim == 2 ? ((float *)kp->data)[0] : -3;
  mhrfit_value_free(p);
  return x;
}

static char root[64];
static char logbuf[65536];

static void on_log(void *user, mhrfit_ingest_log_level level, const char *msg) {
  (void)user;
  static const char *const lv[3] = {"info", "warning", "error"};
  size_t n = strlen(logbuf);
  snprintf(logbuf + n, sizeof logbuf - n, "%s: %s\n", lv[level], msg);
}

static const char *P(const char *fmt, ...) {
  static char buf[8][512];
  static int k;
  k = (k + 1) % 8;
  va_list ap;
  va_start(ap, fmt);
  char rel[400];
  vsnprintf(rel, sizeof rel, fmt, ap);
  va_end(ap);
  snprintf(buf[k], sizeof buf[k], "%s/%s", root, rel);
  return buf[k];
}

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  REQUIRE(f);
  fputs(text, f);
  fclose(f);
}

static void copy_file(const char *from, const char *to) {
  FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
  REQUIRE(a && b);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, a)) > 0) fwrite(buf, 1, n, b);
  fclose(a);
  fclose(b);
}

/* A one-person SAM-like .npz: keypoints 1000*pid + i, bbox of width w, height 100. */
static void person_npz(const char *path, int pid, double w) {
  size_t s2[2] = {70, 2}, s1[1] = {4}, s204[1] = {204};
  mhrfit_array *kp = mhrfit_array_new(MHRFIT_DT_F32, 0, 2, s2, 0, NULL);
  mhrfit_array *bb = mhrfit_array_new(MHRFIT_DT_F32, 0, 1, s1, 0, NULL);
  mhrfit_array *mp = mhrfit_array_new(MHRFIT_DT_F32, 0, 1, s204, 0, NULL);
  for (size_t i = 0; i < 140; i++) ((float *)kp->data)[i] = (float)(1000 * pid + (int)i);
  float b[4] = {10, 10, (float)(10 + w), 110};
  memcpy(bb->data, b, sizeof b);
  const char *names[3] = {"pred_keypoints_2d", "bbox", "mhr_model_params"};
  const mhrfit_array *arrays[3] = {kp, bb, mp};
  mhrfit_error err = {0};
  CHECK(mhrfit_npz_save(path, 3, names, arrays, false, &err));
  mhrfit_array_free(kp);
  mhrfit_array_free(bb);
  mhrfit_array_free(mp);
}

static bool exists(const char *p) { return access(p, F_OK) == 0; }

typedef struct fstamp {
  ino_t ino;
  struct timespec mtime;
} fstamp;

static fstamp stamp(const char *p) {
  struct stat st;
  fstamp s = {0, {0, 0}};
  if (stat(p, &st) == 0) {
    s.ino = st.st_ino;
    s.mtime = st.st_mtim;
  }
  return s;
}

static bool same_stamp(fstamp a, fstamp b) {
  return a.ino && a.ino == b.ino && a.mtime.tv_sec == b.mtime.tv_sec && a.mtime.tv_nsec == b.mtime.tv_nsec;
}

/* Whether two JSON texts are the same bytes but for how numbers are spelled (the reader turns
 * the float 10000.0, written "1e+04", into the integer 10000). */
static bool same_but_numbers(const char *a, const char *b) {
  bool in_str = false;
  while (*a && *b) {
    if (!in_str && (*a == '-' || (*a >= '0' && *a <= '9'))) {
      char *ea, *eb;
      double x = strtod(a, &ea), y = strtod(b, &eb);
      if (ea == a || eb == b || x != y) return false;
      a = ea;
      b = eb;
      continue;
    }
    if (*a != *b) return false;
    if (in_str && *a == '\\') {
      if (!a[1] || a[1] != b[1]) return false;
      a++;
      b++;
    } else if (*a == '"') {
      in_str = !in_str;
    }
    a++;
    b++;
  }
  return *a == *b;
}

/* The meta file is written record by record from text: its bytes must be those the document
 * writer gives for the document it parses to (one space of indent, final line break). */
static void check_meta_layout(const char *path) {
  FILE *f = fopen(path, "rb");
  REQUIRE(f);
  char *file = NULL, *tree = NULL;
  size_t flen = 0, tlen = 0, cap = 0;
  for (int c; (c = fgetc(f)) != EOF;) {
    if (flen + 1 >= cap) REQUIRE((file = realloc(file, cap = cap * 2 + 4096)));
    file[flen++] = (char)c;
  }
  fclose(f);
  REQUIRE(file);
  file[flen] = '\0';
  mhrfit_error err = {0};
  mhrfit_value *doc = mhrfit_json_parse(file, flen, path, &err);
  REQUIRE(doc);
  FILE *mem = open_memstream(&tree, &tlen);
  REQUIRE(mem);
  CHECK(mhrfit_value_write_json(doc, mem, 1, &err));
  fputc('\n', mem);
  fclose(mem);
  CHECK(same_but_numbers(file, tree));
  mhrfit_value_free(doc);
  free(tree);
  free(file);
}


static const char *cams2[2] = {"a", "b"};

static void opts_for(mhrfit_ingest_options *o, const char *out) {
  static char in_dir[512], out_dir[512]; /* P() buffers are reused */
  snprintf(in_dir, sizeof in_dir, "%s/in", root);
  snprintf(out_dir, sizeof out_dir, "%s/%s", root, out);
  mhrfit_ingest_options_init(o);
  o->input_dir = in_dir;
  o->out_dir = out_dir;
  o->cams = cams2;
  o->n_cams = 2;
  o->log = on_log;
}

static bool run(const mhrfit_ingest_options *o, mhrfit_ingest_summary *s) {
  mhrfit_error err = {0};
  logbuf[0] = '\0';
  bool ok = mhrfit_ingest_run(o, s, &err);
  if (!ok) fprintf(stderr, "ingest: %s\n", err.message);
  return ok;
}

static mhrfit_ingest_reason reason_of(const mhrfit_ingest_plan *p, const char *frame) {
  for (size_t i = 0; i < p->n_frames; i++)
    if (strcmp(p->frames[i].frame, frame) == 0) return p->frames[i].reason;
  return (mhrfit_ingest_reason)-1;
}

/* x of keypoint 0 in a stage-1 output. */
static double out_kp0(const char *path) {
  mhrfit_error err = {0};
  mhrfit_value *v = mhrfit_npz_load(path, NULL, &err);
  if (!v) return -1;
  const mhrfit_array *kp = arr(v, "pred_keypoints_2d");
  double x = kp ? ((float *)kp->data)[0] : -1;
  mhrfit_value_free(v);
  return x;
}

static char roots[32][64];
static int n_roots;

static void make_root(void) {
  snprintf(root, sizeof root, "/tmp/mhrfit_ingestXXXXXX");
  REQUIRE(mkdtemp(root));
  if (n_roots < 32) snprintf(roots[n_roots++], sizeof roots[0], "%s", root);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

/* Removes the temporary trees of the tests. */
static void remove_roots(void) {
  for (int i = 0; i < n_roots; i++) nftw(roots[i], remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- selection ---------------------------------------------------------------------------- */

static void test_xxh64(void) {
  make_root();
  const char *const text[3] = {"", "a", "abc"};
  const unsigned long long want[3] = {0xEF46DB3751D8E999ULL, 0xD24EC4F1A98C6E5BULL, 0x44BC2CF5AD770999ULL};
  for (int i = 0; i < 3; i++) {
    write_text(P("h%d", i), text[i]);
    unsigned long long h = 0;
    CHECK(mhrfit_ingest_hash_file(P("h%d", i), &h, NULL));
    CHECK(h == want[i]);
  }
  /* two files differing in one byte of 100 000 hash differently */
  char *big = malloc(100001);
  for (int i = 0; i < 100000; i++) big[i] = (char)('a' + i % 26);
  big[100000] = '\0';
  write_text(P("big1"), big);
  big[77777] = 'Z';
  write_text(P("big2"), big);
  free(big);
  unsigned long long h1 = 0, h2 = 0;
  CHECK(mhrfit_ingest_hash_file(P("big1"), &h1, NULL) && mhrfit_ingest_hash_file(P("big2"), &h2, NULL));
  CHECK(h1 != h2);
  mhrfit_error err = {0};
  CHECK(!mhrfit_ingest_hash_file(P("nope"), &h1, &err) && err.type == MHRFIT_ERR_IO);
  CHECK_CONTAINS(err.message, "nope");
}

static void test_strategy_names(void) {
  mhrfit_person_strategy s;
  CHECK(mhrfit_person_strategy_parse("first", &s, NULL) && s == MHRFIT_PERSON_FIRST);
  CHECK(mhrfit_person_strategy_parse("person_index", &s, NULL) && s == MHRFIT_PERSON_INDEX);
  CHECK(mhrfit_person_strategy_parse("largest_bbox", &s, NULL) && s == MHRFIT_PERSON_LARGEST_BBOX);
  mhrfit_error err = {0};
  CHECK(!mhrfit_person_strategy_parse("biggest", &s, &err) && err.type == MHRFIT_ERR_ARGUMENT);
  CHECK_CONTAINS(err.message, "largest_bbox, first, person_index");
  CHECK_STR(mhrfit_ingest_reason_name(MHRFIT_INGEST_IMAGE_CHANGED), "image_changed");
}

/* Issue-A (ORIGINAL.md §9): the original kept the first detection; largest_bbox must not. */
static void test_issue_a_select_list_of_dicts(void) {
  mhrfit_value *doc = load("ingest/list_of_dicts.npy");
  REQUIRE(doc && doc->kind == MHRFIT_V_LIST);
  mhrfit_person_info info;
  /* areas 10000, 60000, NaN: person 1 */
  CHECK(pick(doc, MHRFIT_PERSON_LARGEST_BBOX, 0, &info) == 1000.0);
  CHECK(info.n_persons == 3 && info.chosen == 1 && !info.index_clipped);
  CHECK_NEAR(info.bbox_area, 60000.0, 1e-9);
  CHECK(info.n_kp_valid == 70 && info.has_model_params);
  CHECK(pick(doc, MHRFIT_PERSON_FIRST, 2, &info) == 0.0 && info.chosen == 0);
  CHECK(pick(doc, MHRFIT_PERSON_INDEX, 2, &info) == 2000.0 && !info.index_clipped);
  CHECK(info.bbox_area == -1); /* person 2's bbox has a NaN */
  /* out of range: clipped like the original, and reported */
  CHECK(pick(doc, MHRFIT_PERSON_INDEX, 9, &info) == 2000.0 && info.index_clipped && info.chosen == 2);
  CHECK(pick(doc, MHRFIT_PERSON_INDEX, -4, &info) == 0.0 && info.index_clipped && info.chosen == 0);
  mhrfit_value_free(doc);
}

static void test_select_missing_and_nan_bbox(void) {
  mhrfit_value *doc = load("ingest/bbox_edge.npy");
  REQUIRE(doc);
  mhrfit_person_info info;
  /* none, Inf, area 0, negative extents (area 0): the first finite bbox (person 2) wins the tie */
  CHECK(pick(doc, MHRFIT_PERSON_LARGEST_BBOX, 0, &info) == 2000.0);
  CHECK(info.chosen == 2 && info.bbox_area == 0.0);
  mhrfit_value_free(doc);
  doc = load("ingest/bbox_none.npy");
  REQUIRE(doc);
  /* no finite bbox at all: person 0 */
  CHECK(pick(doc, MHRFIT_PERSON_LARGEST_BBOX, 0, &info) == 0.0);
  CHECK(info.chosen == 0 && info.n_persons == 2 && info.bbox_area == -1);
  mhrfit_value_free(doc);
}

static void test_select_stacked(void) {
  mhrfit_value *doc = load("ingest/stacked.npz");
  REQUIRE(doc);
  mhrfit_person_info info;
  /* equal areas 5000 for persons 0 and 1, Inf for 2: the tie keeps person 0 */
  CHECK(pick(doc, MHRFIT_PERSON_LARGEST_BBOX, 0, &info) == 0.0);
  CHECK(info.n_persons == 3 && info.chosen == 0 && info.bbox_area == 5000.0);
  mhrfit_value *p = NULL;
  mhrfit_error err = {0};
  REQUIRE(mhrfit_ingest_select_person(doc, MHRFIT_PERSON_INDEX, 1, &p, &info, &err) && p);
  const mhrfit_array *kp = arr(p, "pred_keypoints_2d"), *bb = arr(p, "bbox"), *mp = arr(p, "mhr_model_params"),
                     *fl = arr(p, "focal_length");
  REQUIRE(kp && bb && mp && fl);
  CHECK(kp->ndim == 2 && kp->shape[0] == 70 && ((float *)kp->data)[139] == 1139.0f);
  CHECK(bb->ndim == 1 && bb->shape[0] == 4 && ((float *)bb->data)[3] == 100.0f);
  CHECK(mp->ndim == 1 && mp->shape[0] == 204 && ((float *)mp->data)[203] == 1.0f);
  CHECK(fl->ndim == 0 && ((float *)fl->data)[0] == 1234.5f); /* shared, copied as is */
  CHECK(info.has_model_params);
  mhrfit_value_free(p);
  mhrfit_value_free(doc);
}

/* Issue-B (ORIGINAL.md §9): a plain (70,2) array file must be accepted, not .item()-ed. */
static void test_issue_b_select_dict_and_plain(void) {
  mhrfit_value *doc = load("ingest/dict_single.npy");
  REQUIRE(doc && doc->kind == MHRFIT_V_DICT);
  mhrfit_value *p = NULL;
  mhrfit_person_info info;
  mhrfit_error err = {0};
  REQUIRE(mhrfit_ingest_select_person(doc, MHRFIT_PERSON_INDEX, 5, &p, &info, &err) && p);
  CHECK(info.n_persons == 1 && info.chosen == 0 && info.index_clipped);
  CHECK(((float *)arr(p, "pred_keypoints_2d")->data)[0] == 7000.0f);
  const mhrfit_array *note = arr(p, "note"), *score = arr(p, "score");
  REQUIRE(note && score);
  char s[16];
  CHECK(note->dtype == MHRFIT_DT_UNICODE && mhrfit_array_get_string(note, 0, s, sizeof s, NULL));
  CHECK_STR(s, "cam1");
  CHECK(score->dtype == MHRFIT_DT_F64 && *(double *)score->data == 0.5);
  CHECK(mhrfit_value_dict_get(p, "mask") == NULL); /* None is dropped */
  for (size_t i = 0; i < p->u.dict.count; i++) CHECK(p->u.dict.vals[i]->kind == MHRFIT_V_ARRAY);
  mhrfit_value_free(p);
  mhrfit_value_free(doc);
  /* plain (70,2) float64 with a NaN x (kp 3) and an Inf y (kp 4): both keypoints fully NaN */
  doc = load("ingest/plain_kp.npy");
  REQUIRE(doc && doc->kind == MHRFIT_V_ARRAY);
  REQUIRE(mhrfit_ingest_select_person(doc, MHRFIT_PERSON_LARGEST_BBOX, 0, &p, &info, &err) && p);
  const mhrfit_array *kp = arr(p, "pred_keypoints_2d");
  REQUIRE(kp && kp->dtype == MHRFIT_DT_F32);
  const float *k = kp->data;
  CHECK(isnan(k[6]) && isnan(k[7]) && isnan(k[8]) && isnan(k[9]));
  CHECK(k[10] == 10.0f && k[5] == 5.0f);
  CHECK(info.n_kp_valid == 68 && !info.has_model_params && p->u.dict.count == 1);
  mhrfit_value_free(p);
  mhrfit_value_free(doc);
  /* plain (2,70,2): persons */
  doc = load("ingest/plain_persons.npy");
  REQUIRE(doc);
  CHECK(pick(doc, MHRFIT_PERSON_INDEX, 1, &info) == 1000.0 && info.n_persons == 2);
  CHECK(pick(doc, MHRFIT_PERSON_LARGEST_BBOX, 1, &info) == 0.0); /* no bbox: person 0 */
  mhrfit_value_free(doc);
}

static void test_select_nobody(void) {
  mhrfit_value *doc = load("ingest/empty_list.npy");
  REQUIRE(doc && doc->kind == MHRFIT_V_LIST && doc->u.list.count == 0);
  mhrfit_value *p = (mhrfit_value *)1;
  mhrfit_person_info info;
  CHECK(mhrfit_ingest_select_person(doc, MHRFIT_PERSON_LARGEST_BBOX, 0, &p, &info, NULL));
  CHECK(p == NULL && info.n_persons == 0);
  mhrfit_value_free(doc);
  mhrfit_value *none = mhrfit_value_new_null(NULL);
  CHECK(mhrfit_ingest_select_person(none, MHRFIT_PERSON_FIRST, 0, &p, &info, NULL) && !p && info.n_persons == 0);
  mhrfit_value_free(none);
}

static void test_select_invalid(void) {
  mhrfit_value *p = NULL;
  mhrfit_error err = {0};
  mhrfit_value *doc = load("ingest/bad_size.npy");
  REQUIRE(doc);
  CHECK(!mhrfit_ingest_select_person(doc, MHRFIT_PERSON_FIRST, 0, &p, NULL, &err) && !p);
  CHECK(err.type == MHRFIT_ERR_FORMAT);
  CHECK_CONTAINS(err.message, "'body_pose_params' has shape (130,), expected (133,)");
  mhrfit_value_free(doc);
  doc = load("ingest/bad_nan.npy");
  REQUIRE(doc);
  CHECK(!mhrfit_ingest_select_person(doc, MHRFIT_PERSON_FIRST, 0, &p, NULL, &err) && err.type == MHRFIT_ERR_NUMERIC);
  CHECK_CONTAINS(err.message, "'shape_params'[4] is not finite");
  mhrfit_value_free(doc);
  /* a list item that is not a dict; a dict without keypoints; keypoints of the wrong shape */
  mhrfit_value *l = mhrfit_value_new_list(NULL);
  mhrfit_value_list_append(l, mhrfit_value_new_int(3, NULL), NULL);
  CHECK(!mhrfit_ingest_select_person(l, MHRFIT_PERSON_FIRST, 0, &p, NULL, &err) && err.type == MHRFIT_ERR_FORMAT);
  CHECK_CONTAINS(err.message, "person list item 0 is a int");
  mhrfit_value_free(l);
  mhrfit_value *d = mhrfit_value_new_dict(NULL);
  CHECK(!mhrfit_ingest_select_person(d, MHRFIT_PERSON_FIRST, 0, &p, NULL, &err) && err.type == MHRFIT_ERR_NOT_FOUND);
  CHECK_CONTAINS(err.message, "'pred_keypoints_2d'");
  size_t s[2] = {17, 2};
  mhrfit_value_dict_set(d, "pred_keypoints_2d",
                        mhrfit_value_new_array(mhrfit_array_new(MHRFIT_DT_F32, 0, 2, s, 0, NULL), NULL), NULL);
  CHECK(!mhrfit_ingest_select_person(d, MHRFIT_PERSON_FIRST, 0, &p, NULL, &err) && err.type == MHRFIT_ERR_FORMAT);
  CHECK_CONTAINS(err.message, "(17, 2)");
  mhrfit_value_free(d);
}

/* ---- runs and the cache ------------------------------------------------------------------- */

/* in/<f>/{a,b}.jpg images + a.npz / b.npz outputs for frames 0..2; frame 1 cam b is a pickled
 * list of three persons. */
static void make_tree(void) {
  make_root();
  mkdir(P("in"), 0777);
  for (int f = 0; f < 3; f++) {
    mkdir(P("in/%d", f), 0777);
    for (int c = 0; c < 2; c++) {
      char text[32];
      snprintf(text, sizeof text, "IMG%d-%d-%c", f, f, 'a' + c);
      write_text(P("in/%d/%c.jpg", f, 'a' + c), text);
      if (f == 1 && c == 1) copy_file(FIXTURE("ingest/list_of_dicts.npy"), P("in/1/b.npy"));
      else person_npz(P("in/%d/%c.npz", f, 'a' + c), 10 * f + c, 100 + c);
    }
  }
}

static void test_run_meta_and_reuse(void) {
  make_tree();
  mhrfit_ingest_options o;
  opts_for(&o, "out");
  const char *ids[2] = {"checkpoint=model_v1.ckpt", "detector=vitdet"};
  o.model_ids = ids;
  o.n_model_ids = 2;
  mhrfit_ingest_summary s;
  REQUIRE(run(&o, &s));
  CHECK(s.frames_total == 3 && s.frames_ingested == 3 && s.frames_reused == 0 && s.frames_failed == 0);
  CHECK(s.views_written == 6 && s.meta_written);
  check_meta_layout(P("out/stage1_meta.json"));
  CHECK(out_kp0(P("out/stage1/0/a.npz")) == 0.0);
  CHECK(out_kp0(P("out/stage1/2/b.npz")) == 21000.0);
  CHECK(out_kp0(P("out/stage1/1/b.npz")) == 1000.0); /* largest bbox of the pickled list */
  /* the meta file */
  mhrfit_error err = {0};
  mhrfit_value *m = mhrfit_json_load(P("out/stage1_meta.json"), &err);
  REQUIRE(m);
  CHECK_STR(mhrfit_value_dict_get(m, "format")->u.str.data, "mhrfit-stage1-meta");
  CHECK(mhrfit_value_as_double(mhrfit_value_dict_get(m, "version")) == 1);
  CHECK_STR(mhrfit_value_dict_get(m, "tool")->u.str.data, "mhrfit");
  CHECK(mhrfit_value_dict_get(m, "tool_version")->kind == MHRFIT_V_STRING);
  char *real = realpath(P("in"), NULL);
  CHECK_STR(mhrfit_value_dict_get(m, "input_root")->u.str.data, real);
  free(real);
  CHECK(mhrfit_value_dict_get(m, "frames_requested")->kind == MHRFIT_V_NULL);
  CHECK_STR(mhrfit_value_dict_get(m, "person_select_strategy")->u.str.data, "largest_bbox");
  CHECK(mhrfit_value_as_double(mhrfit_value_dict_get(m, "person_index")) == 0);
  CHECK(mhrfit_value_dict_get(m, "estimator")->kind == MHRFIT_V_NULL);
  const mhrfit_value *mi = mhrfit_value_dict_get(m, "model_ids");
  REQUIRE(mi && mi->kind == MHRFIT_V_LIST && mi->u.list.count == 2);
  CHECK_STR(mi->u.list.items[1]->u.str.data, "detector=vitdet");
  CHECK(mhrfit_value_dict_get(m, "cams")->u.list.count == 2);
  const mhrfit_value *fr = mhrfit_value_dict_get(m, "frames");
  REQUIRE(fr && fr->kind == MHRFIT_V_DICT && fr->u.dict.count == 3);
  CHECK_STR(fr->u.dict.keys[2], "2");
  const mhrfit_value *vb = mhrfit_value_dict_get(mhrfit_value_dict_get(mhrfit_value_dict_get(fr, "1"), "views"), "b");
  REQUIRE(vb);
  CHECK_STR(mhrfit_value_dict_get(vb, "status")->u.str.data, "ok");
  CHECK(mhrfit_value_as_double(mhrfit_value_dict_get(vb, "n_persons")) == 3);
  CHECK(mhrfit_value_as_double(mhrfit_value_dict_get(vb, "person")) == 1);
  CHECK_NEAR(mhrfit_value_as_double(mhrfit_value_dict_get(vb, "bbox_area")), 60000, 1e-9);
  const mhrfit_value *img = mhrfit_value_dict_get(vb, "image");
  REQUIRE(img && img->kind == MHRFIT_V_DICT);
  CHECK_STR(mhrfit_value_dict_get(img, "path")->u.str.data, "1/b.jpg");
  CHECK(mhrfit_value_as_double(mhrfit_value_dict_get(img, "size")) == 8);
  CHECK(strlen(mhrfit_value_dict_get(img, "xxh64")->u.str.data) == 16);
  CHECK(strchr(mhrfit_value_dict_get(img, "mtime")->u.str.data, '.') != NULL);
  CHECK_STR(mhrfit_value_dict_get(mhrfit_value_dict_get(vb, "source"), "path")->u.str.data, "1/b.npy");
  CHECK_STR(mhrfit_value_dict_get(mhrfit_value_dict_get(vb, "output"), "path")->u.str.data, "stage1/1/b.npz");
  mhrfit_value_free(m);

  /* an unchanged rerun reuses everything and touches nothing */
  fstamp before[3] = {stamp(P("out/stage1/0/a.npz")), stamp(P("out/stage1/1/b.npz")), stamp(P("out/stage1_meta.json"))};
  mhrfit_ingest_plan *p = mhrfit_ingest_check(&o, &err);
  REQUIRE(p);
  CHECK(p->n_frames == 3 && p->n_redo == 0 && p->global == MHRFIT_INGEST_REUSE);
  mhrfit_ingest_plan_free(p);
  REQUIRE(run(&o, &s));
  CHECK(s.frames_reused == 3 && s.frames_ingested == 0 && s.views_written == 0 && !s.meta_written);
  CHECK(same_stamp(before[0], stamp(P("out/stage1/0/a.npz"))));
  CHECK(same_stamp(before[1], stamp(P("out/stage1/1/b.npz"))));
  CHECK(same_stamp(before[2], stamp(P("out/stage1_meta.json"))));
  CHECK(logbuf[0] == '\0');
  /* touching a file without changing it keeps the cache (content hash) */
  write_text(P("in/0/a.jpg"), "IMG0-0-a");
  p = mhrfit_ingest_check(&o, &err);
  REQUIRE(p);
  CHECK(p->n_redo == 0);
  mhrfit_ingest_plan_free(p);

  /* a changed image (same size, other content) redoes only its frame */
  write_text(P("in/1/b.jpg"), "IMGX-1-b");
  p = mhrfit_ingest_check(&o, &err);
  REQUIRE(p);
  CHECK(p->n_redo == 1 && reason_of(p, "1") == MHRFIT_INGEST_IMAGE_CHANGED);
  CHECK(reason_of(p, "0") == MHRFIT_INGEST_REUSE && reason_of(p, "2") == MHRFIT_INGEST_REUSE);
  CHECK_CONTAINS(p->frames[1].detail, "camera 'b': image 1/b.jpg changed (content hash differs)");
  mhrfit_ingest_plan_free(p);
  REQUIRE(run(&o, &s));
  CHECK(s.frames_ingested == 1 && s.frames_reused == 2 && s.views_written == 2 && s.meta_written);
  check_meta_layout(P("out/stage1_meta.json")); /* two records kept from the old file's text */
  CHECK_CONTAINS(logbuf, "frame '1': re-ingesting (image_changed)");
  CHECK(same_stamp(before[0], stamp(P("out/stage1/0/a.npz"))));
  CHECK(!same_stamp(before[1], stamp(P("out/stage1/1/b.npz"))));
  /* a replaced SAM output and a deleted stage-1 file */
  person_npz(P("in/2/a.npz"), 99, 50);
  remove(P("out/stage1/0/b.npz"));
  p = mhrfit_ingest_check(&o, &err);
  REQUIRE(p);
  CHECK(p->n_redo == 2 && reason_of(p, "2") == MHRFIT_INGEST_SOURCE_CHANGED &&
        reason_of(p, "0") == MHRFIT_INGEST_OUTPUT_MISSING && reason_of(p, "1") == MHRFIT_INGEST_REUSE);
  mhrfit_ingest_plan_free(p);
  REQUIRE(run(&o, &s));
  CHECK(s.frames_ingested == 2 && out_kp0(P("out/stage1/2/a.npz")) == 99000.0 && exists(P("out/stage1/0/b.npz")));

  /* a changed model identifier redoes every frame */
  const char *ids2[2] = {"checkpoint=model_v2.ckpt", "detector=vitdet"};
  o.model_ids = ids2;
  p = mhrfit_ingest_check(&o, &err);
  REQUIRE(p);
  CHECK(p->n_redo == 3 && p->global == MHRFIT_INGEST_MODEL_CHANGED && reason_of(p, "1") == MHRFIT_INGEST_MODEL_CHANGED);
  CHECK_CONTAINS(p->global_detail, "checkpoint=model_v2.ckpt");
  mhrfit_ingest_plan_free(p);
  REQUIRE(run(&o, &s));
  CHECK(s.frames_ingested == 3 && s.frames_reused == 0);
  CHECK_CONTAINS(logbuf, "re-ingesting all 3 frame(s): model identifiers changed");
  /* the index does not matter under largest_bbox; the strategy does */
  o.person_index = 2;
  p = mhrfit_ingest_check(&o, &err);
  REQUIRE(p);
  CHECK(p->n_redo == 0);
  mhrfit_ingest_plan_free(p);
  o.strategy = MHRFIT_PERSON_INDEX;
  p = mhrfit_ingest_check(&o, &err);
  REQUIRE(p);
  CHECK(p->n_redo == 3 && p->global == MHRFIT_INGEST_STRATEGY_CHANGED);
  mhrfit_ingest_plan_free(p);
  REQUIRE(run(&o, &s));
  CHECK(out_kp0(P("out/stage1/1/b.npz")) == 2000.0);
  o.person_index = 0;
  p = mhrfit_ingest_check(&o, &err);
  REQUIRE(p);
  CHECK(p->global == MHRFIT_INGEST_STRATEGY_CHANGED);
  CHECK_CONTAINS(p->global_detail, "person index was 2, now 0");
  mhrfit_ingest_plan_free(p);
  /* force */
  o.person_index = 2;
  o.force = true;
  p = mhrfit_ingest_check(&o, &err);
  REQUIRE(p);
  CHECK(p->n_redo == 3 && p->global == MHRFIT_INGEST_FORCED);
  mhrfit_ingest_plan_free(p);
}

static void test_frame_subset(void) {
  make_tree();
  mhrfit_ingest_options o;
  opts_for(&o, "out");
  const char *f0[1] = {"0"}, *f01[2] = {"1", "0"};
  o.frames = f0;
  o.n_frames = 1;
  mhrfit_ingest_summary s;
  REQUIRE(run(&o, &s));
  CHECK(s.frames_total == 1 && s.frames_ingested == 1 && !exists(P("out/stage1/1")));
  fstamp a0 = stamp(P("out/stage1/0/a.npz"));
  o.frames = f01;
  o.n_frames = 2;
  mhrfit_error err = {0};
  mhrfit_ingest_plan *p = mhrfit_ingest_check(&o, &err);
  REQUIRE(p);
  CHECK(p->n_frames == 2 && p->n_redo == 1);
  CHECK_STR(p->frames[0].frame, "0"); /* natural order */
  CHECK(reason_of(p, "0") == MHRFIT_INGEST_REUSE && reason_of(p, "1") == MHRFIT_INGEST_FRAME_SUBSET);
  mhrfit_ingest_plan_free(p);
  REQUIRE(run(&o, &s));
  CHECK(s.frames_ingested == 1 && s.frames_reused == 1 && s.meta_written);
  CHECK(same_stamp(a0, stamp(P("out/stage1/0/a.npz"))));
  CHECK_CONTAINS(logbuf, "frame '1': re-ingesting (frame_subset)");
  /* the stored subset is the current request's */
  mhrfit_value *m = mhrfit_json_load(P("out/stage1_meta.json"), &err);
  REQUIRE(m);
  const mhrfit_value *fr = mhrfit_value_dict_get(m, "frames_requested");
  CHECK(fr && fr->kind == MHRFIT_V_LIST && fr->u.list.count == 2);
  mhrfit_value_free(m);
  /* all frames: only frame 2 is new */
  o.frames = NULL;
  o.n_frames = 0;
  p = mhrfit_ingest_check(&o, &err);
  REQUIRE(p);
  CHECK(p->n_frames == 3 && p->n_redo == 1 && reason_of(p, "2") == MHRFIT_INGEST_FRAME_SUBSET);
  mhrfit_ingest_plan_free(p);
  /* a requested frame that does not exist fails alone */
  const char *f9[2] = {"0", "9"};
  o.frames = f9;
  o.n_frames = 2;
  REQUIRE(run(&o, &s));
  CHECK(s.frames_failed == 1 && s.frames_reused == 1);
  CHECK_CONTAINS(logbuf, "frame '9': frame folder '9' not found");
  /* the camera list is part of the settings */
  const char *cams1[1] = {"a"};
  o.cams = cams1;
  o.n_cams = 1;
  p = mhrfit_ingest_check(&o, &err);
  REQUIRE(p);
  CHECK(p->global == MHRFIT_INGEST_CAMS_CHANGED && p->n_redo == 2);
  mhrfit_ingest_plan_free(p);
}

static void test_bad_input_other_frames_go_on(void) {
  make_tree();
  write_text(P("in/1/a.npz"), "this is not a numpy file");
  copy_file(FIXTURE("ingest/empty_list.npy"), P("in/2/b.npz"));
  remove(P("in/0/b.npz"));
  remove(P("in/0/b.jpg")); /* camera b of frame 0: missing view */
  mhrfit_ingest_options o;
  opts_for(&o, "out");
  mhrfit_ingest_summary s;
  REQUIRE(run(&o, &s));
  CHECK(s.frames_ingested == 2 && s.frames_failed == 1 && s.frames_total == 3);
  CHECK(s.views_failed == 1 && s.views_missing == 1 && s.views_no_person == 1 && s.views_written == 3);
  CHECK_CONTAINS(logbuf, "error: frame '1' camera 'a': ");
  CHECK_CONTAINS(logbuf, "/in/1/a.npz: neither a .npy nor a .npz file");
  CHECK(exists(P("out/stage1/0/a.npz")) && !exists(P("out/stage1/0/b.npz")));
  CHECK(exists(P("out/stage1/1/b.npz")) && !exists(P("out/stage1/1/a.npz")));
  CHECK(exists(P("out/stage1/2/a.npz")) && !exists(P("out/stage1/2/b.npz")));
  /* bad content names the key */
  copy_file(FIXTURE("ingest/bad_nan.npy"), P("in/1/a.npz"));
  REQUIRE(run(&o, &s));
  CHECK(s.frames_failed == 1 && s.frames_reused == 2);
  CHECK_CONTAINS(logbuf, "frame '1': re-ingesting (previous_failure)");
  CHECK_CONTAINS(logbuf, "frame '1' camera 'a': ");
  CHECK_CONTAINS(logbuf, "in/1/a.npz: 'shape_params'[4] is not finite");
  /* fixed: the retry succeeds; a person appearing in frame 2 replaces "no person" */
  person_npz(P("in/1/a.npz"), 5, 10);
  person_npz(P("in/2/b.npz"), 6, 10);
  REQUIRE(run(&o, &s));
  CHECK(s.frames_failed == 0 && s.frames_ingested == 2 && s.frames_reused == 1);
  CHECK(out_kp0(P("out/stage1/2/b.npz")) == 6000.0);
  /* nobody detected again: the stale stage-1 file is removed */
  copy_file(FIXTURE("ingest/empty_list.npy"), P("in/2/b.npz"));
  REQUIRE(run(&o, &s));
  CHECK(s.views_no_person == 1 && !exists(P("out/stage1/2/b.npz")));
  /* an image without any output and no estimator is an error of that view */
  write_text(P("in/0/b.jpg"), "IMG");
  REQUIRE(run(&o, &s));
  CHECK(s.frames_failed == 1);
  CHECK_CONTAINS(logbuf, "frame '0' camera 'b': image 0/b.jpg has no SAM 3D Body output");
  /* request errors */
  mhrfit_error err = {0};
  o.input_dir = P("nowhere");
  CHECK(!mhrfit_ingest_run(&o, &s, &err) && err.type == MHRFIT_ERR_IO);
  CHECK_CONTAINS(err.message, "nowhere: input folder not found");
  opts_for(&o, "out");
  o.estimator = "run {image}";
  CHECK(!mhrfit_ingest_check(&o, &err) && err.type == MHRFIT_ERR_ARGUMENT);
  CHECK_CONTAINS(err.message, "{output}");
  o.estimator = NULL;
  o.out_dir = o.input_dir;
  CHECK(!mhrfit_ingest_check(&o, &err) && err.type == MHRFIT_ERR_ARGUMENT);
  CHECK_CONTAINS(err.message, "must not be the input");
  opts_for(&o, "out");
  const char *dup[2] = {"a", "a"};
  o.estimator = NULL;
  o.cams = dup;
  CHECK(!mhrfit_ingest_check(&o, &err) && err.type == MHRFIT_ERR_ARGUMENT);
}

static void test_estimator_hook(void) {
  make_root();
  mkdir(P("in"), 0777);
  for (int f = 0; f < 3; f++) {
    mkdir(P("in/%d", f), 0777);
    write_text(P("in/%d/a.jpg", f), f == 1 ? "fail: bad image" : f == 2 ? "silent" : "image 0 a");
  }
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "sh '%s/../fake_estimator.sh' '%s' {image} {output}",
           th_env_or("MHRFIT_FIXTURES", "tests/fixtures"), FIXTURE("ingest/stacked.npz"));
  setenv("FAKE_ESTIMATOR_LOG", P("estimator.log"), 1);
  mhrfit_ingest_options o;
  opts_for(&o, "out dir");
  const char *cams1[1] = {"a"};
  o.cams = cams1;
  o.n_cams = 1;
  o.estimator = cmd;
  o.strategy = MHRFIT_PERSON_INDEX;
  o.person_index = 2;
  mhrfit_ingest_summary s;
  REQUIRE(run(&o, &s));
  CHECK(s.estimator_runs == 3 && s.frames_ingested == 1 && s.frames_failed == 2);
  CHECK(exists(P("out dir/sam3d/0/a.npz")) && out_kp0(P("out dir/stage1/0/a.npz")) == 2000.0);
  CHECK(!exists(P("out dir/sam3d/1/a.partial.npz")) && !exists(P("out dir/sam3d/1/a.npz")));
  CHECK_CONTAINS(logbuf, "error: frame '1' camera 'a': estimator failed with exit status 3: sh ");
  CHECK_CONTAINS(logbuf, "error: frame '2' camera 'a': estimator exited with status 0 but wrote no file");
  CHECK_CONTAINS(logbuf, "info: frame '0' camera 'a': running the estimator on 0/a.jpg");
  /* the quoted paths reached the command intact (a space in the output folder) */
  mhrfit_error err = {0};
  mhrfit_value *m = mhrfit_json_load(P("out dir/stage1_meta.json"), &err);
  REQUIRE(m);
  CHECK_STR(mhrfit_value_dict_get(m, "estimator")->u.str.data, cmd);
  const mhrfit_value *v0 = mhrfit_value_dict_get(
      mhrfit_value_dict_get(mhrfit_value_dict_get(mhrfit_value_dict_get(m, "frames"), "0"), "views"), "a");
  CHECK_STR(mhrfit_value_dict_get(v0, "source_kind")->u.str.data, "estimator");
  CHECK_STR(mhrfit_value_dict_get(mhrfit_value_dict_get(v0, "source"), "path")->u.str.data, "sam3d/0/a.npz");
  CHECK(mhrfit_value_as_double(mhrfit_value_dict_get(v0, "n_persons")) == 3);
  mhrfit_value_free(m);
  /* rerun: frame 0 is reused without running the estimator; the failed frames are retried */
  REQUIRE(run(&o, &s));
  CHECK(s.estimator_runs == 2 && s.frames_reused == 1 && s.frames_failed == 2);
  /* fix the images: only those frames run */
  write_text(P("in/1/a.jpg"), "image 1 a");
  write_text(P("in/2/a.jpg"), "image 2 a");
  REQUIRE(run(&o, &s));
  CHECK(s.estimator_runs == 2 && s.frames_ingested == 2 && s.frames_failed == 0);
  /* another selection strategy re-selects from the kept estimator outputs, no new run */
  o.strategy = MHRFIT_PERSON_FIRST;
  REQUIRE(run(&o, &s));
  CHECK(s.estimator_runs == 0 && s.frames_ingested == 3 && out_kp0(P("out dir/stage1/1/a.npz")) == 0.0);
  /* another model identifier makes them stale: every image runs again */
  const char *ids[1] = {"checkpoint=other"};
  o.model_ids = ids;
  o.n_model_ids = 1;
  REQUIRE(run(&o, &s));
  CHECK(s.estimator_runs == 3 && s.frames_ingested == 3);
  /* a changed image reruns its estimator only */
  write_text(P("in/2/a.jpg"), "image 2 b");
  REQUIRE(run(&o, &s));
  CHECK(s.estimator_runs == 1 && s.frames_ingested == 1 && s.frames_reused == 2);
  unsetenv("FAKE_ESTIMATOR_LOG");
  /* the log of the stand-in saw 3 + 2 + 2 + 3 + 1 = 11 runs */
  FILE *f = fopen(P("estimator.log"), "r");
  REQUIRE(f);
  int lines = 0, c;
  while ((c = fgetc(f)) != EOF) lines += c == '\n';
  fclose(f);
  CHECK(lines == 11);
}

/* Issue-C (ORIGINAL.md §9): stage-1 outputs of another session (same frame folders, same camera
 * count) were silently reused. Here another input root, and the same root with other content,
 * both invalidate the cache. */
static void test_issue_c_other_session_not_reused(void) {
  make_tree();
  mhrfit_ingest_options o;
  opts_for(&o, "out");
  mhrfit_ingest_summary s;
  REQUIRE(run(&o, &s));
  CHECK(s.frames_ingested == 3);
  /* session B: same layout, other content, other folder */
  mkdir(P("inB"), 0777);
  for (int f = 0; f < 3; f++) {
    mkdir(P("inB/%d", f), 0777);
    for (int c = 0; c < 2; c++) person_npz(P("inB/%d/%c.npz", f, 'a' + c), 50 + f, 100);
  }
  static char in_b[512];
  snprintf(in_b, sizeof in_b, "%s/inB", root);
  o.input_dir = in_b;
  mhrfit_error err = {0};
  mhrfit_ingest_plan *p = mhrfit_ingest_check(&o, &err);
  REQUIRE(p);
  CHECK(p->global == MHRFIT_INGEST_INPUT_CHANGED && p->n_redo == 3);
  mhrfit_ingest_plan_free(p);
  REQUIRE(run(&o, &s));
  CHECK(s.frames_ingested == 3 && out_kp0(P("out/stage1/1/a.npz")) == 51000.0);
  /* session C copied over session B in place: every frame's outputs changed */
  for (int f = 0; f < 3; f++)
    for (int c = 0; c < 2; c++) person_npz(P("inB/%d/%c.npz", f, 'a' + c), 70 + f, 100);
  p = mhrfit_ingest_check(&o, &err);
  REQUIRE(p);
  CHECK(p->global == MHRFIT_INGEST_REUSE && p->n_redo == 3 && reason_of(p, "2") == MHRFIT_INGEST_SOURCE_CHANGED);
  mhrfit_ingest_plan_free(p);
  REQUIRE(run(&o, &s));
  CHECK(s.frames_ingested == 3 && out_kp0(P("out/stage1/2/b.npz")) == 72000.0);
}

/* Issue-D (ORIGINAL.md §9): camera names match exactly; "b_old.npz" is not camera "b". */
static void test_issue_d_exact_camera_names(void) {
  make_tree();
  rename(P("in/0/b.npz"), P("in/0/b_old.npz"));
  rename(P("in/0/b.jpg"), P("in/0/xb.jpg"));
  mhrfit_ingest_options o;
  opts_for(&o, "out");
  mhrfit_ingest_summary s;
  REQUIRE(run(&o, &s));
  CHECK(s.views_missing == 1 && s.frames_failed == 0 && !exists(P("out/stage1/0/b.npz")));
}

int main(void) {
  RUN(test_xxh64);
  RUN(test_strategy_names);
  RUN(test_issue_a_select_list_of_dicts);
  RUN(test_select_missing_and_nan_bbox);
  RUN(test_select_stacked);
  RUN(test_issue_b_select_dict_and_plain);
  RUN(test_select_nobody);
  RUN(test_select_invalid);
  RUN(test_run_meta_and_reuse);
  RUN(test_frame_subset);
  RUN(test_bad_input_other_frames_go_on);
  RUN(test_estimator_hook);
  RUN(test_issue_c_other_session_not_reused);
  RUN(test_issue_d_exact_camera_names);
  remove_roots();
  return test_report();
}
