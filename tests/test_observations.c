/* Loading 2-D observations: stage-1 files (dict npz, (N,K,2) persons), per-camera arrays
 * (F,K,3), the ambiguity rule, missing cameras; keypoint layouts and subsets. */
#include "harness.h"

#include <math.h>
#include <unistd.h>

#include "mhrfit/layout.h"
#include "mhrfit/npy.h"
#include "mhrfit/observations.h"

static char dir[64];

static void save_npz(const char *cam, const char *key, mhrfit_array *a) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s.npz", dir, cam);
  const char *names[1] = {key};
  const mhrfit_array *arrs[1] = {a};
  mhrfit_error err = {0};
  CHECK(mhrfit_npz_save(path, 1, names, arrs, false, &err));
}

static mhrfit_array *kp_array(int ndim, const size_t *shape, double base) {
  mhrfit_array *a = mhrfit_array_new(MHRFIT_DT_F32, 0, ndim, shape, 0, NULL);
  for (size_t i = 0; i < a->count; i++) ((float *)a->data)[i] = (float)(base + (double)i);
  return a;
}

static void test_stage1(void) {
  snprintf(dir, sizeof dir, "/tmp/mhrfit_obsXXXXXX");
  REQUIRE(mkdtemp(dir));
  size_t s2[2] = {70, 2}, s3[3] = {2, 70, 2};
  mhrfit_array *a = kp_array(2, s2, 0), *b = kp_array(3, s3, 1000);
  save_npz("camA", "pred_keypoints_2d", a);
  save_npz("camB", "pred_keypoints_2d", b);
  const char *cams[2] = {"camA", "camB"};
  mhrfit_obs_options o = {.n_kp = 70, .person = 1};
  mhrfit_error err = {0};
  mhrfit_observations *obs = mhrfit_observations_load(dir, cams, 2, &o, &err);
  if (!obs) fprintf(stderr, "%s\n", err.message);
  REQUIRE(obs);
  CHECK_STR(obs->format, "stage1");
  CHECK(obs->n_frames == 1 && obs->n_kp == 70 && obs->n_views == 2 && obs->conf == NULL);
  /* keypoint 3, view 0 = camA[3]; view 1 = camB person 1 [3] */
  CHECK(obs->uv[2 * (3 * 2 + 0)] == 6.0 && obs->uv[2 * (3 * 2 + 0) + 1] == 7.0);
  CHECK(obs->uv[2 * (3 * 2 + 1)] == 1000.0 + 140 + 6);
  mhrfit_observations_free(obs);
  /* person index beyond N is clipped to the last person */
  o.person = 9;
  obs = mhrfit_observations_load(dir, cams, 2, &o, &err);
  REQUIRE(obs);
  CHECK(obs->uv[2 * 1] == 1000.0 + 140);
  mhrfit_observations_free(obs);
  /* a missing camera is an error naming it, unless allowed */
  const char *cams3[3] = {"camA", "camB", "camC"};
  CHECK(!mhrfit_observations_load(dir, cams3, 3, &o, &err) && err.type == MHRFIT_ERR_NOT_FOUND);
  CHECK_CONTAINS(err.message, "camera 'camC'");
  o.allow_missing_views = true;
  obs = mhrfit_observations_load(dir, cams3, 3, &o, &err);
  REQUIRE(obs);
  CHECK(isnan(obs->uv[2 * 2]));
  mhrfit_observations_free(obs);
  /* wrong keypoint count */
  o.n_kp = 25;
  CHECK(!mhrfit_observations_load(dir, cams, 2, &o, &err) && err.type == MHRFIT_ERR_FORMAT);
  CHECK_CONTAINS(err.message, "has shape (70, 2); expected (25, 2) or (N, 25, 2)");
  mhrfit_array_free(a);
  mhrfit_array_free(b);
}

static void test_arrays(void) {
  size_t s[3] = {4, 5, 3};
  mhrfit_array *a = kp_array(3, s, 0);
  ((float *)a->data)[3] = NAN;
  char path[256];
  mhrfit_error err = {0};
  for (int c = 0; c < 2; c++) {
    snprintf(path, sizeof path, "%s/arr%d.npy", dir, c);
    CHECK(mhrfit_npy_save(path, a, &err));
  }
  const char *cams[2] = {"arr0", "arr1"};
  mhrfit_obs_options o = {.n_kp = 5};
  /* a plain 3-D array is ambiguous without --input_format */
  CHECK(!mhrfit_observations_load(dir, cams, 2, &o, &err) && err.type == MHRFIT_ERR_FORMAT);
  CHECK_CONTAINS(err.message, "ambiguous");
  o.format = "arrays";
  mhrfit_observations *obs = mhrfit_observations_load(dir, cams, 2, &o, &err);
  REQUIRE(obs);
  CHECK(obs->n_frames == 4 && obs->conf != NULL);
  /* frame 1, keypoint 2, view 1: source index (1*5+2)*3 = 21 */
  size_t i = (1 * 5 + 2) * 2 + 1;
  CHECK(obs->uv[2 * i] == 21.0 && obs->uv[2 * i + 1] == 22.0 && obs->conf[i] == 23.0);
  CHECK(isnan(obs->uv[2 * (1 * 2 + 0)])); /* keypoint 1 of frame 0: x was NaN */
  mhrfit_observations_free(obs);
  o.format = "nonsense";
  CHECK(!mhrfit_observations_load(dir, cams, 2, &o, &err) && err.type == MHRFIT_ERR_ARGUMENT);
  mhrfit_array_free(a);
}

static void test_layouts(void) {
  mhrfit_error err = {0};
  const mhrfit_layout *m = mhrfit_layout_get("mhr70", &err), *b = mhrfit_layout_get("body25b", &err);
  REQUIRE(m && b);
  CHECK(m->count == 70 && b->count == 25);
  CHECK(mhrfit_layout_index(m, "neck") == 69 && mhrfit_layout_index(m, "right_thumb_tip") == 21);
  CHECK(mhrfit_layout_index(m, "left_index_third_joint") == 49 && mhrfit_layout_index(m, "left_big_toe_tip") == 15);
  CHECK(mhrfit_layout_index(b, "RHeel") == 24);
  size_t idx[128], n;
  CHECK(mhrfit_layout_subset(m, "hands_arms", idx, 128, &n, &err) && n == 46 && idx[0] == 21 && idx[45] == 41);
  CHECK(mhrfit_layout_subset(b, "RHip,Neck,3", idx, 128, &n, &err) && n == 3 && idx[0] == 12 && idx[1] == 17 && idx[2] == 3);
  CHECK(!mhrfit_layout_subset(b, "RHip,RHip", idx, 128, &n, &err) && err.type == MHRFIT_ERR_ARGUMENT);
  CHECK(!mhrfit_layout_subset(b, "Tail", idx, 128, &n, &err) && err.type == MHRFIT_ERR_NOT_FOUND);
  CHECK(!mhrfit_layout_get("smpl", &err) && err.type == MHRFIT_ERR_NOT_FOUND);
}

/* Whether {a, b} (either order) is a link of the skeleton. */
static bool has_link(const uint16_t (*l)[2], size_t n, size_t a, size_t b) {
  for (size_t i = 0; i < n; i++)
    if ((l[i][0] == a && l[i][1] == b) || (l[i][0] == b && l[i][1] == a)) return true;
  return false;
}

static void test_layout_links(void) {
  /* every built-in layout has a skeleton: links within the layout, no self-link or duplicate, left
   * and right alike (the mirror of a link is a link); the body layouts link every keypoint into one
   * tree-like graph (connected); MHR70's is SAM 3D Body's 65 links */
  static const size_t want[] = {65, 18, 25, 24, 25, 35, 21, 21};
  for (size_t i = 0; mhrfit_layout_at(i); i++) {
    const mhrfit_layout *lay = mhrfit_layout_at(i);
    size_t n = 0;
    const uint16_t(*l)[2] = mhrfit_layout_links(lay, &n);
    REQUIRE(l != NULL && i < sizeof want / sizeof want[0]);
    CHECK(n == want[i]);
    size_t comp[128];
    for (size_t k = 0; k < lay->count; k++) comp[k] = k;
    for (size_t j = 0; j < n; j++) {
      size_t a = l[j][0], b = l[j][1];
      REQUIRE(a < lay->count && b < lay->count);
      CHECK(a != b);
      for (size_t m = 0; m < j; m++) CHECK(!((l[m][0] == a && l[m][1] == b) || (l[m][0] == b && l[m][1] == a)));
      CHECK(has_link(l, n, mhrfit_layout_mirror(lay, a), mhrfit_layout_mirror(lay, b)));
      size_t ca = comp[a], cb = comp[b]; /* union of the two components */
      for (size_t k = 0; k < lay->count; k++)
        if (comp[k] == cb) comp[k] = ca;
    }
    /* MHR70's olecranon, cubital fossa, acromion and neck are not linked; MediaPipe draws the face
     * and the mouth apart from the body */
    if (strcmp(lay->name, "mhr70") != 0 && strcmp(lay->name, "mediapipe33") != 0)
      for (size_t k = 0; k < lay->count; k++) CHECK(comp[k] == comp[0]);
  }
  const mhrfit_layout *b = mhrfit_layout_get("body25b", NULL), *c = mhrfit_layout_get("coco17", NULL);
  size_t n;
  const uint16_t(*l)[2] = mhrfit_layout_links(b, &n);
  CHECK(has_link(l, n, (size_t)mhrfit_layout_index(b, "LShoulder"), (size_t)mhrfit_layout_index(b, "LElbow")));
  CHECK(has_link(l, n, (size_t)mhrfit_layout_index(b, "RAnkle"), (size_t)mhrfit_layout_index(b, "RHeel")));
  CHECK(has_link(l, n, (size_t)mhrfit_layout_index(b, "Neck"), (size_t)mhrfit_layout_index(b, "Head")));
  CHECK(!has_link(l, n, (size_t)mhrfit_layout_index(b, "LWrist"), (size_t)mhrfit_layout_index(b, "LHip")));
  l = mhrfit_layout_links(c, &n);
  CHECK(has_link(l, n, (size_t)mhrfit_layout_index(c, "left_hip"), (size_t)mhrfit_layout_index(c, "left_knee")));
  /* a custom set has none; a name list is recognised as the layout it equals */
  mhrfit_error err = {0};
  mhrfit_layout *custom = mhrfit_layout_new_custom(NULL, b->names, b->count, &err);
  REQUIRE(custom);
  CHECK(mhrfit_layout_links(custom, &n) == NULL && n == 0);
  CHECK(mhrfit_layout_links(NULL, &n) == NULL && n == 0);
  CHECK(mhrfit_layout_match((const char *const *)custom->names, custom->count) == b);
  mhrfit_layout_free(custom);
  CHECK(mhrfit_layout_match(b->names, 24) == NULL);
  const char *swapped[25];
  memcpy(swapped, b->names, sizeof swapped);
  swapped[0] = b->names[1], swapped[1] = b->names[0];
  CHECK(mhrfit_layout_match(swapped, 25) == NULL);
  CHECK(mhrfit_layout_match(mhrfit_layout_get("mhr70", NULL)->names, 70) == mhrfit_layout_get("mhr70", NULL));
}

static void cleanup(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  CHECK(system(cmd) == 0);
}

int main(void) {
  RUN(test_stage1);
  RUN(test_arrays);
  RUN(test_layouts);
  RUN(test_layout_links);
  RUN(cleanup);
  return test_report();
}
