/* Triangulation of any keypoint set: a ChArUco-like board of 12 corners seen by strongly distorted
 * cameras (the any-K result equals the same points padded to 70), Caliscope csv input, keypoint
 * name lists, the built-in layouts and their left/right pairs. */
#include "harness.h"

#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mhrfit/layout.h"
#include "mhrfit/npy.h"
#include "mhrfit/observations.h"
#include "mhrfit/triangulate.h"
#include "synth_scene.h"

#define NB 12 /* board corners: 4 x 3 inner corners of a 5 x 4 board of 6 cm squares */
#define NF 20 /* board poses */
#define NV 4

/* Cameras with strong barrel distortion (k1 -0.32, k2 0.12, k3 -0.02, tangential terms). */
static void strong_cameras(mhrfit_camera *cams) {
  for (int v = 0; v < NV; v++) {
    synth_camera(v, NV, 2.2, 1.4, &cams[v]);
    double d[8] = {-0.32 + 0.02 * v, 0.12, 0.0012, -0.0009, -0.02, 0, 0, 0};
    memcpy(cams[v].dist, d, sizeof d);
    cams[v].n_dist = 5;
  }
}

/* World corners of board pose f (a rigid motion of the board around the volume's centre). */
static void board_pose(int f, double *X) {
  double r[3] = {0.3 * sin(0.7 * f), 0.5 * cos(0.4 * f), 0.2 * sin(1.3 * f)}, R[9];
  mhrfit_rodrigues_to_matrix(r, R);
  double c[3] = {0.6 * sin(0.5 * f), 0.6 * cos(0.9 * f), 1.0 + 0.5 * sin(0.3 * f)};
  for (int k = 0; k < NB; k++) {
    double p[3] = {0.06 * (k % 4) - 0.09, 0.06 * (k / 4) - 0.06, 0};
    for (int a = 0; a < 3; a++) X[3 * k + a] = c[a] + R[3 * a] * p[0] + R[3 * a + 1] * p[1] + R[3 * a + 2] * p[2];
  }
}

static void write_cam(const char *dir, const char *cam, size_t K, const double *vals) {
  size_t shape[3] = {NF, K, 3};
  mhrfit_array *a = mhrfit_array_new(MHRFIT_DT_F64, 0, 3, shape, 0, NULL);
  REQUIRE(a);
  memcpy(a->data, vals, NF * K * 3 * sizeof(double));
  char path[256];
  snprintf(path, sizeof path, "%s/%s.npy", dir, cam);
  mhrfit_error err = {0};
  CHECK(mhrfit_npy_save(path, a, &err));
  mhrfit_array_free(a);
}

static void test_board_any_k_equals_padded(void) {
  mhrfit_camera cams[NV];
  strong_cameras(cams);
  char dir[64];
  snprintf(dir, sizeof dir, "/tmp/mhrfit_anykXXXXXX");
  REQUIRE(mkdtemp(dir));
  const char *names[NV] = {"cam0", "cam1", "cam2", "cam3"};
  static double truth[NF * NB * 3], v12[NV][NF * NB * 3], v70[NV][NF * 70 * 3];
  synth_rng rng = {42};
  double max_shift = 0; /* how far distortion moves the corners: the test needs it to matter */
  for (int f = 0; f < NF; f++) board_pose(f, truth + 3 * NB * f);
  for (int v = 0; v < NV; v++) {
    for (size_t i = 0; i < NF * 70 * 3; i++) v70[v][i] = NAN;
    for (int f = 0; f < NF; f++)
      for (int k = 0; k < NB; k++) {
        double uv[2], *o12 = v12[v] + 3 * (NB * f + k), *o70 = v70[v] + 3 * (70 * f + k);
        REQUIRE(mhrfit_camera_project(&cams[v], truth + 3 * (NB * f + k), uv, NULL));
        mhrfit_camera pin = cams[v];
        memset(pin.dist, 0, sizeof pin.dist);
        double up[2];
        mhrfit_camera_project(&pin, truth + 3 * (NB * f + k), up, NULL);
        max_shift = fmax(max_shift, hypot(uv[0] - up[0], uv[1] - up[1]));
        o12[0] = uv[0] + 0.4 * synth_gauss(&rng);
        o12[1] = uv[1] + 0.4 * synth_gauss(&rng);
        o12[2] = 0.9;
        if (f == 3 && k == 5 && v == 1) o12[0] += 80; /* a gross outlier */
        if (f == 7 && k == 2 && v == 2) o12[0] = o12[1] = NAN; /* an occluded corner */
        memcpy(o70, o12, 3 * sizeof *o12);
      }
  }
  CHECK(max_shift > 40); /* strong distortion: tens of pixels at the image edges */
  char sub12[128], sub70[128];
  snprintf(sub12, sizeof sub12, "%s/k12", dir);
  snprintf(sub70, sizeof sub70, "%s/k70", dir);
  REQUIRE(mkdir(sub12, 0700) == 0 && mkdir(sub70, 0700) == 0);
  for (int v = 0; v < NV; v++) {
    write_cam(sub12, names[v], NB, v12[v]);
    write_cam(sub70, names[v], 70, v70[v]);
  }
  mhrfit_error err = {0};
  mhrfit_obs_options o = {.format = "arrays"}; /* n_kp 0: any K */
  mhrfit_observations *a = mhrfit_observations_load(sub12, names, NV, &o, &err);
  REQUIRE(a);
  CHECK(a->n_kp == NB && a->n_frames == NF && a->conf);
  o.n_kp = 70;
  mhrfit_observations *b = mhrfit_observations_load(sub70, names, NV, &o, &err);
  REQUIRE(b);
  /* a layout whose K differs from the arrays' K is an error naming the shape */
  o.n_kp = 25;
  CHECK(!mhrfit_observations_load(sub12, names, NV, &o, &err) && err.type == MHRFIT_ERR_FORMAT);
  CHECK_CONTAINS(err.message, "25");
  size_t idx12[NB], idx70[70];
  for (size_t k = 0; k < 70; k++) idx70[k] = k;
  for (size_t k = 0; k < NB; k++) idx12[k] = k;
  mhrfit_layout *l12 = mhrfit_layout_new_custom(NULL, NULL, NB, &err);
  const mhrfit_layout *mhr70 = mhrfit_layout_get("mhr70", &err);
  REQUIRE(l12 && mhr70);
  CHECK_STR(l12->names[11], "kp_11");
  mhrfit_tri_archive *t12 = mhrfit_triangulate_observations(cams, names, a, idx12, l12->names, NB, NULL, &err);
  mhrfit_tri_archive *t70 = mhrfit_triangulate_observations(cams, names, b, idx70, mhr70->names, 70, NULL, &err);
  REQUIRE(t12 && t70);
  double max_diff = 0, max_err = 0;
  int n_ok = 0;
  for (int f = 0; f < NF; f++)
    for (int k = 0; k < NB; k++) {
      const double *p = t12->points + 3 * (NB * f + k), *q = t70->points + 3 * (70 * f + k);
      for (int c = 0; c < 3; c++) max_diff = fmax(max_diff, fabs(p[c] - q[c]));
      CHECK(t12->reason[NB * f + k] == t70->reason[70 * f + k]);
      for (int v = 0; v < NV; v++) CHECK(t12->inliers[(NB * f + k) * NV + v] == t70->inliers[(70 * f + k) * NV + v]);
      if (t12->reason[NB * f + k] == MHRFIT_TRI_OK) {
        n_ok++;
        const double *g = truth + 3 * (NB * f + k);
        max_err = fmax(max_err, sqrt(pow(p[0] - g[0], 2) + pow(p[1] - g[1], 2) + pow(p[2] - g[2], 2)));
      }
    }
  for (int f = 0; f < NF; f++)
    for (int k = NB; k < 70; k++) CHECK(t70->reason[70 * f + k] == MHRFIT_TRI_NO_VIEWS);
  CHECK(max_diff == 0);
  CHECK(n_ok == NF * NB);
  CHECK(max_err < 0.004); /* metric accuracy through the distortion model */
  CHECK(!t70->inliers[(70 * 3 + 5) * NV + 1]); /* the outlier view is left out */
  CHECK_STR(t12->subset_names[3], "kp_3");
  mhrfit_tri_archive_free(t12);
  mhrfit_tri_archive_free(t70);
  mhrfit_layout_free(l12);
  mhrfit_observations_free(a);
  mhrfit_observations_free(b);
}

static void test_caliscope_csv(void) {
  const char *csv =
      "sync_index,port,frame_index,frame_time,point_id,img_loc_x,img_loc_y,obj_loc_x,obj_loc_y\n"
      "10,0,100,1.0,17,1.5,2.5,,\n"
      "10,1,100,1.0,17,3.5,4.5,,\n"
      "10,0,100,1.0,5,5,6,,\n"
      "12,1,102,1.1,0,7.0,8.0,,\n"
      "12,2,102,1.1,0,9,9,,\n" /* a port without camera: ignored */
      "\n";
  long ports[2] = {0, 1};
  mhrfit_error err = {0};
  mhrfit_observations *o = mhrfit_observations_parse_caliscope_csv(csv, strlen(csv), "xy_TEST.csv", ports, 2, 0, &err);
  if (!o) fprintf(stderr, "%s\n", err.message);
  REQUIRE(o);
  CHECK(o->n_frames == 2 && o->n_kp == 3 && o->n_views == 2);
  REQUIRE(o->names && o->frame_ids);
  CHECK_STR(o->names[0], "0");
  CHECK_STR(o->names[1], "5");
  CHECK_STR(o->names[2], "17");
  CHECK(o->frame_ids[0] == 10 && o->frame_ids[1] == 12);
  /* frame 0, point 17 (k 2), camera 1 */
  CHECK(o->uv[2 * ((0 * 3 + 2) * 2 + 1)] == 3.5 && o->uv[2 * ((0 * 3 + 2) * 2 + 1) + 1] == 4.5);
  CHECK(o->conf[(0 * 3 + 2) * 2 + 1] == 1.0);
  CHECK(isnan(o->uv[2 * ((0 * 3 + 1) * 2 + 1)])); /* point 5 not seen by camera 1 */
  CHECK(o->uv[2 * ((1 * 3 + 0) * 2 + 1)] == 7.0);
  mhrfit_observations_free(o);
  /* with a layout: point id i is keypoint i */
  o = mhrfit_observations_parse_caliscope_csv(csv, strlen(csv), "xy_TEST.csv", ports, 2, 25, &err);
  REQUIRE(o);
  CHECK(o->n_kp == 25 && !o->names && o->uv[2 * ((0 * 25 + 17) * 2 + 0)] == 1.5);
  mhrfit_observations_free(o);
  CHECK(!mhrfit_observations_parse_caliscope_csv(csv, strlen(csv), "xy_TEST.csv", ports, 2, 10, &err));
  CHECK_CONTAINS(err.message, "point_id 17 is outside");
  const char *bad1 = "sync_index,port,img_loc_x,img_loc_y\n1,0,2,3\n";
  CHECK(!mhrfit_observations_parse_caliscope_csv(bad1, strlen(bad1), "a.csv", ports, 2, 0, &err));
  CHECK_CONTAINS(err.message, "no 'point_id' column");
  const char *bad2 = "sync_index,port,point_id,img_loc_x,img_loc_y\n1,0,2,abc,3\n";
  CHECK(!mhrfit_observations_parse_caliscope_csv(bad2, strlen(bad2), "b.csv", ports, 2, 0, &err));
  CHECK_CONTAINS(err.message, "b.csv: line 2: img_loc_x 'abc' is not a number");
  const char *bad3 = "sync_index,port,point_id,img_loc_x,img_loc_y\n1,-1,2,4,3\n";
  CHECK(!mhrfit_observations_parse_caliscope_csv(bad3, strlen(bad3), "c.csv", ports, 2, 0, &err));
  CHECK_CONTAINS(err.message, "port '-1'");
  CHECK(!mhrfit_observations_parse_caliscope_csv("", 0, "d.csv", ports, 2, 0, &err));
}

static void test_names_and_layouts(void) {
  char **names;
  size_t n;
  mhrfit_error err = {0};
  const char *lines = "  corner_a \n\ncorner_b\r\ncorner_c";
  REQUIRE(mhrfit_keypoint_names_parse(lines, strlen(lines), "n.txt", &names, &n, &err));
  CHECK(n == 3);
  CHECK_STR(names[0], "corner_a");
  CHECK_STR(names[1], "corner_b");
  mhrfit_names_free(names, n);
  const char *js = "[\"a\", \"b\"]";
  REQUIRE(mhrfit_keypoint_names_parse(js, strlen(js), "n.json", &names, &n, &err));
  CHECK(n == 2);
  CHECK_STR(names[1], "b");
  mhrfit_names_free(names, n);
  const char *dup = "a\nb\na\n";
  CHECK(!mhrfit_keypoint_names_parse(dup, strlen(dup), "d.txt", &names, &n, &err));
  CHECK_CONTAINS(err.message, "'a' (line 3) appears twice");
  CHECK(!mhrfit_keypoint_names_parse("[1]", 3, "e.json", &names, &n, &err));
  CHECK(!mhrfit_keypoint_names_parse(" \n", 2, "f.txt", &names, &n, &err));
  /* the built-in layouts and their pairs */
  static const struct { const char *name; size_t k; } want[] = {
      {"mhr70", 70}, {"coco17", 17}, {"halpe26", 26}, {"body25", 25}, {"body25b", 25}, {"mediapipe33", 33},
      {"mediapipe_hands21_left", 21}, {"mediapipe_hands21_right", 21}};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    const mhrfit_layout *l = mhrfit_layout_get(want[i].name, &err);
    REQUIRE(l);
    CHECK(l->count == want[i].k);
    for (size_t k = 0; k < l->count; k++) CHECK(mhrfit_layout_mirror(l, mhrfit_layout_mirror(l, k)) == k);
  }
  const mhrfit_layout *m = mhrfit_layout_get("mhr70", &err);
  static const int perm[70] = {0,  2,  1,  4,  3,  6,  5,  8,  7,  10, 9,  12, 11, 14, 13, 18, 19, 20, 15, 16, 17, 42, 43, 44,
                               45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 21, 22, 23, 24, 25, 26,
                               27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 64, 63, 66, 65, 68, 67, 69};
  for (size_t k = 0; k < 70; k++) CHECK(mhrfit_layout_mirror(m, k) == (size_t)perm[k]);
  const mhrfit_layout *b = mhrfit_layout_get("body25", &err), *mp = mhrfit_layout_get("mediapipe33", &err);
  CHECK(mhrfit_layout_mirror(b, 9) == 12 && mhrfit_layout_mirror(b, 8) == 8); /* RHip-LHip, MidHip */
  CHECK(mhrfit_layout_mirror(mp, 9) == 10);                                    /* mouth_left-mouth_right */
  CHECK(!mhrfit_layout_get("body_25", &err));
  CHECK_CONTAINS(err.message, "halpe26");
}

/* The keypoints of a triangulation: an input's own or given names, then a subset with its names. */
static void test_keypoint_selection(void) {
  mhrfit_error err = {0};
  mhrfit_observations obs = {0};
  obs.n_kp = 3;
  mhrfit_layout *set = mhrfit_observations_keypoint_set(&obs, NULL, 0, &err); /* no names: kp_0, kp_1, ... */
  REQUIRE(set);
  CHECK_STR(set->name, "custom");
  CHECK_STR(set->names[2], "kp_2");
  size_t *idx, n;
  const char **names;
  REQUIRE(mhrfit_layout_select(set, "kp_2,0", &idx, &names, &n, &err));
  CHECK(n == 2 && idx[0] == 2 && idx[1] == 0);
  CHECK_STR(names[0], "kp_2");
  CHECK_STR(names[1], "kp_0");
  free(idx);
  free(names);
  mhrfit_layout_free(set);
  const char *given[3] = {"a", "b", "c"};
  set = mhrfit_observations_keypoint_set(&obs, given, 3, &err);
  REQUIRE(set);
  CHECK_STR(set->name, "keypoint_names");
  REQUIRE(mhrfit_layout_select(set, "all", &idx, &names, &n, &err));
  CHECK(n == 3 && idx[2] == 2);
  CHECK_STR(names[1], "b");
  free(idx);
  free(names);
  CHECK(!mhrfit_layout_select(set, "b,d", &idx, &names, &n, &err) && err.type == MHRFIT_ERR_NOT_FOUND);
  CHECK(idx == NULL && names == NULL && n == 0);
  CHECK_CONTAINS(err.message, "no keypoint 'd' in layout keypoint_names");
  mhrfit_layout_free(set);
  CHECK(!mhrfit_observations_keypoint_set(&obs, given, 2, &err) && err.type == MHRFIT_ERR_FORMAT);
  CHECK_CONTAINS(err.message, "lists 2 names but the input has 3 keypoints");
  REQUIRE(mhrfit_layout_select(mhrfit_layout_get("mhr70", NULL), "hands_arms", &idx, &names, &n, &err));
  CHECK(n == 46 && idx[0] == 21);
  CHECK_STR(names[45], "right_wrist");
  free(idx);
  free(names);
}

int main(void) {
  RUN(test_board_any_k_equals_padded);
  RUN(test_caliscope_csv);
  RUN(test_names_and_layouts);
  RUN(test_keypoint_selection);
  return test_report();
}
