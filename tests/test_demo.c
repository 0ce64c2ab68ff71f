/* mhrfit demo: the synthetic capture reads back through the project's own readers, its 2-D points
 * follow the noise model, it is deterministic, the motion respects the limits and the standing
 * part, the traps (decoy listed first, missing views, single-view frame) are where the truth says,
 * and triangulating it recovers the truth. */
#include "harness.h"

#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "demo/scene.h"
#include "mhrfit/calib.h"
#include "mhrfit/demo.h"
#include "mhrfit/keypoints.h"
#include "mhrfit/npy.h"
#include "mhrfit/observations.h"
#include "mhrfit/param_sets.h"
#include "mhrfit/rig.h"
#include "mhrfit/sam3d.h"
#include "mhrfit/triangulate.h"

#ifndef F_DEMO
#define F_DEMO 15 /* frames of the test capture (override with -DF_DEMO=120 for full-length numbers) */
#endif
#define V_DEMO 4
#ifndef SEED
#define SEED 7
#endif

static char dir_a[64] = "/tmp/mhrfit_demoAXXXXXX", dir_b[64] = "/tmp/mhrfit_demoBXXXXXX",
            dir_c[64] = "/tmp/mhrfit_demoCXXXXXX";
static bool generated;
static mhrfit_demo_summary sum_a;
static mhrfit_value *gt;

static void opts_for(mhrfit_demo_options *o, uint64_t seed) {
  mhrfit_demo_options_init(o);
  o->assets = th_env_or("MHRFIT_ASSETS", "../shared/mhr");
  o->n_frames = F_DEMO;
  o->n_cams = V_DEMO;
  o->seed = seed;
}

static void generate(void) {
  mhrfit_demo_options o;
  mhrfit_error err = {0};
  REQUIRE(mkdtemp(dir_a) && mkdtemp(dir_b) && mkdtemp(dir_c));
  opts_for(&o, SEED);
  bool ok = mhrfit_demo_write(dir_a, &o, &sum_a, &err);
  if (!ok) fprintf(stderr, "%s\n", err.message);
  REQUIRE(ok);
  REQUIRE(mhrfit_demo_write(dir_b, &o, NULL, &err));
  opts_for(&o, SEED + 1);
  REQUIRE(mhrfit_demo_write(dir_c, &o, NULL, &err));
  char p[256];
  snprintf(p, sizeof p, "%s/ground_truth.npz", dir_a);
  gt = mhrfit_npz_load(p, NULL, &err);
  REQUIRE(gt);
  generated = true;
  CHECK(sum_a.n_frames == F_DEMO && sum_a.n_cams == V_DEMO);
  CHECK(sum_a.n_files + sum_a.n_missing == F_DEMO * V_DEMO);
}

static const mhrfit_array *gt_arr(const char *key) {
  const mhrfit_value *v = mhrfit_value_dict_get(gt, key);
  return v && v->kind == MHRFIT_V_ARRAY ? v->u.array : NULL;
}

static bool gt_flag(const char *key, size_t i) { return ((const unsigned char *)gt_arr(key)->data)[i] != 0; }

static const char *view_path(const char *dir, size_t f, size_t v) {
  static char p[256];
  snprintf(p, sizeof p, "%s/%06zu/cam_%zu.npz", dir, f, v);
  return p;
}

static bool exists(const char *p) {
  struct stat st;
  return stat(p, &st) == 0;
}

/* The subject's 2-D keypoints of a view file, chosen by the largest bbox (stage-1 rule). */
static bool subject_2d(const mhrfit_value *d, double uv[140], size_t *person, size_t *n_persons) {
  const mhrfit_value *k2 = mhrfit_value_dict_get(d, "pred_keypoints_2d"), *bb = mhrfit_value_dict_get(d, "bbox");
  if (!k2 || !bb) return false;
  size_t np = k2->u.array->ndim == 3 ? k2->u.array->shape[0] : 1, best = 0;
  double best_area = -1;
  for (size_t q = 0; q < np; q++) {
    double x0 = mhrfit_array_get_f64(bb->u.array, 4 * q), y0 = mhrfit_array_get_f64(bb->u.array, 4 * q + 1);
    double x1 = mhrfit_array_get_f64(bb->u.array, 4 * q + 2), y1 = mhrfit_array_get_f64(bb->u.array, 4 * q + 3);
    double area = fmax(0, x1 - x0) * fmax(0, y1 - y0);
    if (area > best_area) best_area = area, best = q;
  }
  for (size_t i = 0; i < 140; i++) uv[i] = mhrfit_array_get_f64(k2->u.array, best * 140 + i);
  if (person) *person = best;
  if (n_persons) *n_persons = np;
  return true;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* The calibration reads back exactly; the truth and every frame read back through the readers. */
static void test_readback(void) {
  REQUIRE(generated);
  mhrfit_error err = {0};
  char p[256];
  snprintf(p, sizeof p, "%s/calibration.toml", dir_a);
  mhrfit_calib *cal = mhrfit_calib_load(p, NULL, &err);
  if (!cal) fprintf(stderr, "%s\n", err.message);
  REQUIRE(cal);
  REQUIRE(cal->n_cams == V_DEMO);
  for (size_t v = 0; v < V_DEMO; v++) {
    mhrfit_camera ref;
    double rv[3];
    mf_demo_camera(SEED, v, V_DEMO, 1920, 1080, &ref, rv);
    const mhrfit_camera *c = &cal->cams[v];
    char name[16];
    snprintf(name, sizeof name, "cam_%zu", v);
    CHECK_STR(c->name, name);
    CHECK(c->width == 1920 && c->height == 1080 && c->n_dist == 5);
    CHECK(memcmp(c->K, ref.K, sizeof ref.K) == 0);
    CHECK(memcmp(c->dist, ref.dist, sizeof ref.dist) == 0);
    CHECK(memcmp(c->R, ref.R, sizeof ref.R) == 0);
    CHECK(memcmp(c->t, ref.t, sizeof ref.t) == 0);
    double C[3];
    mhrfit_camera_center(c, C);
    double r = hypot(C[0], C[2]);
    CHECK(r >= 3.0 - 1e-9 && r <= 4.0 + 1e-9);
    CHECK(C[1] >= 1.2 && C[1] <= 2.0);
    CHECK(c->K[0] >= 1400 && c->K[0] <= 1800);
  }
  mhrfit_calib_free(cal);
  /* ground truth shapes */
  long sk[3] = {F_DEMO, 70, 3}, sj[3] = {F_DEMO, 127, 3}, sp[2] = {F_DEMO, 204}, s2[4] = {F_DEMO, V_DEMO, 70, 2};
  CHECK(gt_arr("keypoints_3d") && mhrfit_array_has_shape(gt_arr("keypoints_3d"), 3, sk));
  CHECK(gt_arr("joints_3d") && mhrfit_array_has_shape(gt_arr("joints_3d"), 3, sj));
  CHECK(gt_arr("model_params") && mhrfit_array_has_shape(gt_arr("model_params"), 2, sp));
  CHECK(gt_arr("keypoints_2d") && mhrfit_array_has_shape(gt_arr("keypoints_2d"), 4, s2));
  CHECK(gt_arr("cams") && gt_arr("cams")->count == V_DEMO && gt_arr("frames") && gt_arr("frames")->count == F_DEMO);
  char s[32];
  CHECK(mhrfit_array_get_string(gt_arr("frames"), 3, s, sizeof s, &err) && strcmp(s, "000003") == 0);
  CHECK(mhrfit_array_get_string(gt_arr("cams"), 1, s, sizeof s, &err) && strcmp(s, "cam_1") == 0);
  /* no NaN in the truth */
  bool finite = true;
  for (size_t i = 0; i < gt_arr("keypoints_3d")->count; i++) finite = finite && isfinite(((float *)gt_arr("keypoints_3d")->data)[i]);
  for (size_t i = 0; i < gt_arr("model_params")->count; i++) finite = finite && isfinite(((float *)gt_arr("model_params")->data)[i]);
  CHECK(finite);
  /* every frame loads as stage-1 observations; files have the SAM 3D Body keys and dtypes */
  const char *cams[V_DEMO] = {"cam_0", "cam_1", "cam_2", "cam_3"};
  for (size_t f = 0; f < F_DEMO; f++) {
    snprintf(p, sizeof p, "%s/%06zu", dir_a, f);
    mhrfit_obs_options oo = {.format = "stage1", .n_kp = 70, .allow_missing_views = true};
    mhrfit_observations *obs = mhrfit_observations_load(p, cams, V_DEMO, &oo, &err);
    CHECK(obs && obs->n_frames == 1 && obs->n_kp == 70 && obs->n_views == V_DEMO);
    mhrfit_observations_free(obs);
  }
  mhrfit_value *d = mhrfit_npz_load(view_path(dir_a, 0, 0), NULL, &err);
  if (!d) d = mhrfit_npz_load(view_path(dir_a, 0, 1), NULL, &err);
  REQUIRE(d);
  static const char *const keys[] = {"bbox", "focal_length", "pred_keypoints_3d", "pred_keypoints_2d", "pred_cam_t",
                                     "global_rot", "body_pose_params", "hand_pose_params", "scale_params",
                                     "shape_params", "pred_joint_coords", "mhr_model_params"};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    const mhrfit_value *a = mhrfit_value_dict_get(d, keys[i]);
    CHECK(a && a->kind == MHRFIT_V_ARRAY && a->u.array->dtype == MHRFIT_DT_F32);
  }
  mhrfit_value_free(d);
}

/* pred_keypoints_2d = the truth projected through the calibration + noise of the stated model. */
static void test_reprojection(void) {
  REQUIRE(generated);
  mhrfit_error err = {0};
  char p[256];
  snprintf(p, sizeof p, "%s/calibration.toml", dir_a);
  mhrfit_calib *cal = mhrfit_calib_load(p, NULL, &err);
  REQUIRE(cal);
  const float *kp = gt_arr("keypoints_3d")->data;
  static double res[F_DEMO * V_DEMO * 70];
  size_t n = 0, n_out = 0, n_out_ok = 0, n_fin = 0, mismatch = 0;
  for (size_t f = 0; f < F_DEMO; f++)
    for (size_t v = 0; v < V_DEMO; v++) {
      if (!gt_flag("view_present", f * V_DEMO + v)) continue;
      mhrfit_value *d = mhrfit_npz_load(view_path(dir_a, f, v), NULL, &err);
      REQUIRE(d);
      double uv[140];
      REQUIRE(subject_2d(d, uv, NULL, NULL));
      for (size_t k = 0; k < 70; k++) {
        size_t i = (f * V_DEMO + v) * 70 + k;
        bool vis = gt_flag("visible", i), out = gt_flag("outlier", i);
        bool fin = isfinite(uv[2 * k]) && isfinite(uv[2 * k + 1]);
        mismatch += vis != fin;
        if (!fin) continue;
        n_fin++;
        double X[3] = {kp[(f * 70 + k) * 3], kp[(f * 70 + k) * 3 + 1], kp[(f * 70 + k) * 3 + 2]}, q[2];
        REQUIRE(mhrfit_camera_project(&cal->cams[v], X, q, NULL));
        double r = hypot(uv[2 * k] - q[0], uv[2 * k + 1] - q[1]);
        if (out) {
          n_out++;
          n_out_ok += r >= 30.0 - 4 * 2.0 && r <= 150.0 + 4 * 2.0;
        } else {
          res[n++] = r;
        }
      }
      mhrfit_value_free(d);
    }
  mhrfit_calib_free(cal);
  CHECK(mismatch == 0);
  REQUIRE(n > 1000);
  qsort(res, n, sizeof *res, cmp_double);
  size_t within = 0;
  for (size_t i = 0; i < n; i++) within += res[i] <= 4 * 2.0;
  double median = res[n / 2], frac4 = (double)within / (double)n, out_rate = (double)n_out / (double)n_fin;
  printf("  reprojection of the truth: %zu inliers, median |r| %.3f px (Rayleigh median 1.177 sigma = %.3f), "
         "%.2f %% within 4 sigma, max %.2f px; %zu outliers (%.2f %%)\n",
         n, median, 1.1774 * 2.0, 100 * frac4, res[n - 1], n_out, 100 * out_rate);
  CHECK(median > 0.85 * 1.1774 * 2.0 && median < 1.15 * 1.1774 * 2.0);
  CHECK(frac4 >= 0.99);
  CHECK(out_rate > 0.003 && out_rate < 0.05);
  CHECK(n_out_ok == n_out);
}

/* Same seed: byte-identical files; another seed: different. */
static void test_deterministic(void) {
  REQUIRE(generated);
  char a[600], b[600];
  static const char *const top[] = {"calibration.toml", "ground_truth.npz", "README.txt"};
  size_t compared = 0, identical = 0, differ_c = 0;
  for (size_t i = 0; i < 3; i++) {
    snprintf(a, sizeof a, "%s/%s", dir_a, top[i]);
    snprintf(b, sizeof b, "%s/%s", dir_b, top[i]);
    compared++;
    identical += th_same_file(a, b);
    snprintf(b, sizeof b, "%s/%s", dir_c, top[i]);
    differ_c += !th_same_file(a, b);
  }
  for (size_t f = 0; f < F_DEMO; f++) {
    snprintf(a, sizeof a, "%s/%06zu", dir_a, f);
    DIR *d = opendir(a);
    REQUIRE(d);
    size_t n_a = 0;
    for (struct dirent *e; (e = readdir(d));) {
      if (e->d_name[0] == '.') continue;
      n_a++;
      snprintf(a, sizeof a, "%s/%06zu/%s", dir_a, f, e->d_name);
      snprintf(b, sizeof b, "%s/%06zu/%s", dir_b, f, e->d_name);
      compared++;
      identical += th_same_file(a, b);
    }
    closedir(d);
    snprintf(b, sizeof b, "%s/%06zu", dir_b, f);
    d = opendir(b);
    REQUIRE(d);
    size_t n_b = 0;
    for (struct dirent *e; (e = readdir(d));) n_b += e->d_name[0] != '.';
    closedir(d);
    CHECK(n_a == n_b);
  }
  CHECK(compared == identical);
  CHECK(compared == 3 + sum_a.n_files);
  CHECK(differ_c == 3);
  size_t views_differ = 0;
  for (size_t f = 0; f < F_DEMO; f++)
    for (size_t v = 0; v < V_DEMO; v++) {
      snprintf(a, sizeof a, "%s", view_path(dir_a, f, v));
      snprintf(b, sizeof b, "%s", view_path(dir_c, f, v));
      views_differ += exists(a) && exists(b) && !th_same_file(a, b);
    }
  CHECK(views_differ > F_DEMO);
}

/* The motion: within the limits, smooth, lower body still while standing, then a step and a turn. */
static void test_motion(void) {
  REQUIRE(generated);
  mhrfit_error err = {0};
  mhrfit_rig *rig = mhrfit_rig_load(th_env_or("MHRFIT_ASSETS", "../shared/mhr"), -1, &err);
  REQUIRE(rig);
  const float *m = gt_arr("model_params")->data, *j = gt_arr("joints_3d")->data, *kp = gt_arr("keypoints_3d")->data;
  size_t bad = 0;
  for (size_t f = 0; f < F_DEMO; f++)
    for (size_t l = 0; l < rig->n_limits; l++) {
      double x = m[f * 204 + (size_t)rig->limits[l].param];
      bad += x < rig->limits[l].min - 1e-6 || x > rig->limits[l].max + 1e-6;
    }
  CHECK(bad == 0);
  size_t n_stand = (size_t)mhrfit_value_as_double(mhrfit_value_dict_get(gt, "standing_frames"));
  CHECK(n_stand == sum_a.standing_frames && n_stand == (F_DEMO < 120 ? (F_DEMO < 80 ? F_DEMO : 80) : 2 * F_DEMO / 3));
  const int *low;
  size_t n_low;
  REQUIRE(mhrfit_param_set_get(MHRFIT_SET_LOWER_BODY, 204, &low, &n_low, &err));
  size_t moved_low = 0, moved_leg_joint = 0;
  double upper_range = 0;
  long ruparm = mhrfit_rig_param_index(rig, "r_uparm_ry");
  for (size_t f = 1; f < n_stand; f++) {
    for (size_t i = 0; i < n_low; i++) moved_low += m[f * 204 + (size_t)low[i]] != m[(size_t)low[i]];
    for (size_t jj = 2; jj <= 33; jj++) /* both legs and their twist joints */
      for (int a = 0; a < 3; a++) moved_leg_joint += j[(f * 127 + jj) * 3 + (size_t)a] != j[jj * 3 + (size_t)a];
    upper_range = fmax(upper_range, fabs(m[f * 204 + (size_t)ruparm] - m[(size_t)ruparm]));
  }
  CHECK(moved_low == 0);
  CHECK(moved_leg_joint == 0);
  CHECK(upper_range > 0.3); /* the arm is raised while standing */
  /* feet on the floor at frame 0: the lowest foot keypoint at y = 0 */
  double lo = INFINITY;
  for (int k = 13; k <= 20; k++) lo = fmin(lo, kp[k * 3 + 1]);
  CHECK_NEAR(lo, 0.0, 1e-5);
  double scales[68], vel[2] = {0, 0}, acc[2] = {0, 0}, walk = 0;
  mf_demo_identity(rig, scales);
  /* a capture shorter than the 120-frame script is its start, at the same speed */
  for (size_t f = 0; f < F_DEMO; f++) {
    double full[204];
    mf_demo_motion(rig, f, F_DEMO < 120 ? 120 : F_DEMO, scales, 0.0, full);
    for (int q = 3; q < 204; q++) CHECK_NEAR(m[f * 204 + q], full[q], 1e-5);
  }
  /* after the step: moved forward (~0.35 m along +z) and turned by 90 degrees */
  double last[204];
  mf_demo_motion(rig, 119, 120, scales, 0.0, last);
  CHECK_NEAR(last[2], 3.5, 1e-5);
  CHECK_NEAR(last[4], 1.5707963, 1e-5);
  /* the full-length motion (120 frames at 30 fps) is within the limits, and smooth: sampled twice
   * as densely, first differences halve and second differences quarter (no jump in position or
   * velocity) */
  CHECK(mf_demo_standing_frames(120) == 80 && mf_demo_standing_frames(15) == 15 && mf_demo_standing_frames(100) == 80);
  size_t bad_full = 0;
  for (int pass = 0; pass < 2; pass++) {
    size_t nf = pass ? 240 : 120;
    double prev[2][204];
    for (size_t f = 0; f < nf; f++) {
      double cur[204];
      mf_demo_motion(rig, f, nf, scales, 1.0, cur);
      for (size_t l = 0; l < rig->n_limits; l++) {
        double x = cur[rig->limits[l].param];
        bad_full += x < rig->limits[l].min || x > rig->limits[l].max;
      }
      for (int q = 0; q < 204; q++) {
        if (f >= 1 && q >= 3) vel[pass] = fmax(vel[pass], fabs(cur[q] - prev[1][q])); /* angles */
        if (f >= 1 && q < 3) walk = fmax(walk, pass ? 0 : 0.1 * 30 * fabs(cur[q] - prev[1][q])); /* m/s */
        if (f >= 2) acc[pass] = fmax(acc[pass], fabs(cur[q] - 2 * prev[1][q] + prev[0][q]));
      }
      memcpy(prev[0], prev[1], sizeof prev[0]);
      memcpy(prev[1], cur, sizeof prev[1]);
    }
  }
  printf("  motion, 120 / 240 frames: largest angle change per frame %.4f / %.4f rad, largest second difference "
         "%.4f / %.4f; fastest root speed %.2f m/s\n",
         vel[0], vel[1], acc[0], acc[1], walk);
  CHECK(walk > 0.2 && walk < 1.5);
  CHECK(bad_full == 0);
  CHECK(vel[0] < 0.25); /* 7.5 rad/s */
  CHECK(vel[1] < 0.55 * vel[0]);
  CHECK(acc[1] < 0.3 * acc[0]);
  mhrfit_rig_free(rig);
}

/* Decoys listed first and smaller; missing files where the truth says; the single-view frame. */
static void test_traps(void) {
  REQUIRE(generated);
  mhrfit_error err = {0};
  size_t n_decoy = 0, missing = 0, frames_with_missing = 0;
  for (size_t f = 0; f < F_DEMO; f++) {
    size_t present = 0;
    for (size_t v = 0; v < V_DEMO; v++) {
      size_t fv = f * V_DEMO + v;
      bool pres = gt_flag("view_present", fv);
      CHECK(pres == exists(view_path(dir_a, f, v)));
      present += pres;
      if (!pres) {
        missing++;
        continue;
      }
      mhrfit_value *d = mhrfit_npz_load(view_path(dir_a, f, v), NULL, &err);
      REQUIRE(d);
      size_t person, np;
      double uv[140];
      REQUIRE(subject_2d(d, uv, &person, &np));
      const mhrfit_array *bb = mhrfit_value_dict_get(d, "bbox")->u.array;
      if (gt_flag("decoy_first", fv)) {
        n_decoy++;
        long s2[3] = {2, 70, 2}, sb[2] = {2, 4}, sm[2] = {2, 204};
        CHECK(np == 2 && person == 1); /* the subject is the larger, second one */
        CHECK(mhrfit_array_has_shape(mhrfit_value_dict_get(d, "pred_keypoints_2d")->u.array, 3, s2));
        CHECK(mhrfit_array_has_shape(bb, 2, sb));
        CHECK(mhrfit_array_has_shape(mhrfit_value_dict_get(d, "mhr_model_params")->u.array, 2, sm));
        CHECK(mhrfit_value_dict_get(d, "focal_length")->u.array->count == 2);
      } else {
        long s2[2] = {70, 2};
        CHECK(np == 1 && mhrfit_array_has_shape(mhrfit_value_dict_get(d, "pred_keypoints_2d")->u.array, 2, s2));
        double m[204];
        CHECK(mhrfit_sam3d_model_params(d, m, NULL, &err)); /* a single person reads as SAM 3D Body output */
      }
      mhrfit_value_free(d);
    }
    if ((long)f == sum_a.one_view_frame) CHECK(present == 1);
    else frames_with_missing += present < V_DEMO;
  }
  CHECK(n_decoy == sum_a.n_decoy_views && n_decoy >= 1);
  CHECK(missing == sum_a.n_missing);
  CHECK(sum_a.one_view_frame >= 0);
  CHECK(frames_with_missing >= 1);
  CHECK((long)mhrfit_value_as_double(mhrfit_value_dict_get(gt, "one_view_frame")) == sum_a.one_view_frame);
  char p[256];
  snprintf(p, sizeof p, "%s/%06ld", dir_a, sum_a.one_view_frame);
  CHECK(exists(p));
}

/* A view's 3-D content is MHR FK of its own parameters in SAM 3D Body conventions, and roughly
 * consistent with its 2-D keypoints through SAM 3D Body's pinhole. */
static void test_view_consistency(void) {
  REQUIRE(generated);
  mhrfit_error err = {0};
  mhrfit_rig *rig = mhrfit_rig_load(th_env_or("MHRFIT_ASSETS", "../shared/mhr"), -1, &err);
  REQUIRE(rig);
  static double R[127 * 9], T[127 * 3], S[127];
  mhrfit_fk_pose pose = {R, T, S};
  double worst = 0, med_px[F_DEMO * V_DEMO];
  size_t nv = 0;
  for (size_t f = 0; f < F_DEMO; f++)
    for (size_t v = 0; v < V_DEMO; v++) {
      if (!gt_flag("view_present", f * V_DEMO + v) || gt_flag("decoy_first", f * V_DEMO + v)) continue;
      mhrfit_value *d = mhrfit_npz_load(view_path(dir_a, f, v), NULL, &err);
      REQUIRE(d);
      double m[204];
      REQUIRE(mhrfit_sam3d_model_params(d, m, NULL, &err));
      REQUIRE(mhrfit_rig_fk(rig, m, &pose, NULL, &err));
      const mhrfit_array *jc = mhrfit_value_dict_get(d, "pred_joint_coords")->u.array;
      const mhrfit_array *k3 = mhrfit_value_dict_get(d, "pred_keypoints_3d")->u.array;
      const mhrfit_array *ct = mhrfit_value_dict_get(d, "pred_cam_t")->u.array;
      for (size_t jj = 0; jj < 127; jj++) {
        double s[3];
        mhrfit_mhr_to_sam3d(T + 3 * jj, s);
        for (int a = 0; a < 3; a++) worst = fmax(worst, fabs(s[a] - mhrfit_array_get_f64(jc, 3 * jj + (size_t)a)));
      }
      /* joint keypoints equal their joints (MHR.md 9.2) */
      CHECK(mhrfit_array_get_f64(k3, 9 * 3 + 1) == mhrfit_array_get_f64(jc, 2 * 3 + 1));
      CHECK(mhrfit_array_get_f64(k3, 41 * 3) == mhrfit_array_get_f64(jc, 41 * 3));
      /* bp[i] = m[i + 6] outside the hands */
      const mhrfit_array *bp = mhrfit_value_dict_get(d, "body_pose_params")->u.array;
      CHECK(mhrfit_array_get_f64(bp, 30) == (double)(float)m[36] && mhrfit_array_get_f64(bp, 70) == 0.0);
      double uv[140], e[70];
      size_t ne = 0;
      REQUIRE(subject_2d(d, uv, NULL, NULL));
      double fcl = mhrfit_value_as_double(mhrfit_value_dict_get(d, "focal_length"));
      for (size_t k = 0; k < 70; k++) {
        if (!isfinite(uv[2 * k])) continue;
        double X[3];
        for (int a = 0; a < 3; a++) X[a] = mhrfit_array_get_f64(k3, 3 * k + (size_t)a) + mhrfit_array_get_f64(ct, (size_t)a);
        e[ne++] = hypot(fcl * X[0] / X[2] + 960 - uv[2 * k], fcl * X[1] / X[2] + 540 - uv[2 * k + 1]);
      }
      if (ne) {
        qsort(e, ne, sizeof *e, cmp_double);
        med_px[nv++] = e[ne / 2];
      }
      mhrfit_value_free(d);
    }
  CHECK(worst < 1e-5);
  REQUIRE(nv > 0);
  qsort(med_px, nv, sizeof *med_px, cmp_double);
  printf("  per-view 3-D estimate projected with SAM's pinhole vs the 2-D keypoints: median of view medians "
         "%.1f px, worst view %.1f px\n",
         med_px[nv / 2], med_px[nv - 1]);
  CHECK(med_px[nv / 2] < 60.0); /* a monocular estimate: close in 2-D, wrong in depth */
  mhrfit_rig_free(rig);
}

/* Triangulating with the library recovers the truth. */
static void test_triangulate(void) {
  REQUIRE(generated);
  mhrfit_error err = {0};
  char p[256];
  snprintf(p, sizeof p, "%s/calibration.toml", dir_a);
  mhrfit_calib *cal = mhrfit_calib_load(p, NULL, &err);
  REQUIRE(cal);
  mhrfit_triangulator *tri = mhrfit_triangulator_new(cal->cams, V_DEMO, 70, NULL, &err);
  REQUIRE(tri);
  const float *kp = gt_arr("keypoints_3d")->data;
  double uv[70 * V_DEMO * 2], pts[210];
  int32_t reason[70];
  static double errs[F_DEMO * 70];
  size_t n = 0, one_view_ok = 0;
  double sum = 0, sum_example = 0;
  size_t n_example = 0;
  for (size_t f = 0; f < F_DEMO; f++) {
    for (size_t i = 0; i < 70 * V_DEMO * 2; i++) uv[i] = NAN;
    for (size_t v = 0; v < V_DEMO; v++) {
      if (!gt_flag("view_present", f * V_DEMO + v)) continue;
      mhrfit_value *d = mhrfit_npz_load(view_path(dir_a, f, v), NULL, &err);
      REQUIRE(d);
      double s[140];
      REQUIRE(subject_2d(d, s, NULL, NULL));
      for (size_t k = 0; k < 70; k++) uv[(k * V_DEMO + v) * 2] = s[2 * k], uv[(k * V_DEMO + v) * 2 + 1] = s[2 * k + 1];
      mhrfit_value_free(d);
    }
    mhrfit_tri_result res = {pts, NULL, NULL, NULL, NULL, reason};
    REQUIRE(mhrfit_triangulator_process(tri, 70, uv, NULL, &res, &err));
    for (size_t k = 0; k < 70; k++) {
      if ((long)f == sum_a.one_view_frame) {
        one_view_ok += reason[k] == MHRFIT_TRI_ONE_VIEW || reason[k] == MHRFIT_TRI_NO_VIEWS;
        continue;
      }
      if (reason[k] != MHRFIT_TRI_OK) continue;
      double e = sqrt(pow(pts[3 * k] - kp[(f * 70 + k) * 3], 2) + pow(pts[3 * k + 1] - kp[(f * 70 + k) * 3 + 1], 2) +
                      pow(pts[3 * k + 2] - kp[(f * 70 + k) * 3 + 2], 2));
      errs[n++] = e;
      sum += e;
      if ((long)f == sum_a.example_frame) sum_example += e, n_example++;
    }
  }
  CHECK(one_view_ok == 70);
  REQUIRE(n > 0 && n_example > 0);
  qsort(errs, n, sizeof *errs, cmp_double);
  double mean = sum / (double)n, p95 = errs[(size_t)(0.95 * (double)(n - 1))];
  printf("  triangulation vs truth: %zu points, mean %.1f mm, median %.1f mm, 95th pct %.1f mm, max %.1f mm; "
         "example frame %ld: mean %.1f mm over %zu points\n",
         n, 1000 * mean, 1000 * errs[n / 2], 1000 * p95, 1000 * errs[n - 1], sum_a.example_frame,
         1000 * sum_example / (double)n_example, n_example);
  CHECK(mean < 0.02);
  CHECK(sum_example / (double)n_example < 0.02);
  CHECK(n_example >= 60);
  mhrfit_triangulator_free(tri);
  mhrfit_calib_free(cal);
}

/* Options out of range, a non-empty folder that is not a demo and an earlier demo without
 * overwrite are refused with clear errors. */
static void test_errors(void) {
  REQUIRE(generated);
  mhrfit_demo_options o;
  mhrfit_error err = {0};
  opts_for(&o, 1);
  o.n_cams = 1;
  CHECK(!mhrfit_demo_write(dir_a, &o, NULL, &err) && err.type == MHRFIT_ERR_ARGUMENT);
  CHECK_CONTAINS(err.message, "cams");
  opts_for(&o, 1);
  char p[256];
  snprintf(p, sizeof p, "%s/000000", dir_a); /* a frame folder: not empty, no ground_truth.npz */
  mhrfit_error_clear(&err);
  CHECK(!mhrfit_demo_write(p, &o, NULL, &err) && err.type == MHRFIT_ERR_ARGUMENT);
  CHECK_CONTAINS(err.message, "not empty");
  /* an earlier demo is replaced only when allowed (the check writes nothing) */
  mhrfit_error_clear(&err);
  CHECK(!mhrfit_demo_write(dir_a, &o, NULL, &err) && err.type == MHRFIT_ERR_ARGUMENT);
  CHECK_CONTAINS(err.message, "holds an earlier demo");
  mhrfit_error_clear(&err);
  CHECK(mhrfit_demo_check_out(dir_a, true, &err));
  CHECK(!mhrfit_demo_check_out(dir_a, false, &err));
  CHECK(mhrfit_demo_check_out("/nonexistent-parent/new-demo", false, &err)); /* new: made when written */
  opts_for(&o, 1);
  o.assets = "/nonexistent-mhr-assets";
  char q[] = "/tmp/mhrfit_demoEXXXXXX";
  REQUIRE(mkdtemp(q));
  mhrfit_error_clear(&err);
  CHECK(!mhrfit_demo_write(q, &o, NULL, &err) && err.type != MHRFIT_ERR_NONE);
  rmdir(q);
}

static void remove_tree(const char *dir);

/* Surface markers calibrated from a real SAM 3D Body output instead of the built-in offsets: the
 * surface keypoints of the truth move by less than 3.5 cm (the built-in offsets are anatomical
 * estimates of the same points), the joint keypoints not relative to each other. */
static void test_marker_source(void) {
  REQUIRE(generated);
  const char *src = TESTDATA("mhr_sam3d_body_outputs/img_subj00.npz");
  if (!exists(src)) test_skip("no SAM 3D Body test data");
  mhrfit_demo_options o;
  mhrfit_error err = {0};
  opts_for(&o, SEED);
  o.n_frames = 3;
  o.marker_source = src;
  char d[] = "/tmp/mhrfit_demoMXXXXXX", p[256];
  REQUIRE(mkdtemp(d));
  bool ok = mhrfit_demo_write(d, &o, NULL, &err);
  if (!ok) fprintf(stderr, "%s\n", err.message);
  REQUIRE(ok);
  snprintf(p, sizeof p, "%s/ground_truth.npz", d);
  mhrfit_value *g2 = mhrfit_npz_load(p, NULL, &err);
  REQUIRE(g2);
  const float *a = gt_arr("keypoints_3d")->data, *b = mhrfit_value_dict_get(g2, "keypoints_3d")->u.array->data;
  double nose = 0, hip = 0, worst = 0;
  for (int i = 0; i < 3; i++) {
    nose += pow(a[i] - b[i], 2);
    hip += pow((a[27 + i] - a[33 + i]) - (b[27 + i] - b[33 + i]), 2); /* left hip - left knee */
  }
  for (int k = 0; k < 70; k++) {
    double e = 0;
    for (int i = 0; i < 3; i++) e += pow(a[3 * k + i] - b[3 * k + i], 2);
    worst = fmax(worst, sqrt(e));
  }
  printf("  markers from img_subj00 vs built-in: nose moves %.1f mm, largest keypoint move %.1f mm\n", 1000 * sqrt(nose),
         1000 * worst);
  CHECK(sqrt(nose) > 0 && sqrt(nose) < 0.03);
  CHECK(worst < 0.035);
  CHECK(sqrt(hip) < 1e-6); /* joint keypoints keep their relative positions (the floor height may change) */
  mhrfit_value_free(g2);
  o.marker_source = "/nonexistent/markers.npz";
  o.overwrite = true; /* the folder holds the demo just written */
  mhrfit_error_clear(&err);
  CHECK(!mhrfit_demo_write(d, &o, NULL, &err));
  CHECK_CONTAINS(err.message, "markers.npz");
  remove_tree(d);
}

static void remove_tree(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  for (struct dirent *e; (e = readdir(d));) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    struct stat st;
    if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) remove_tree(p);
    else unlink(p);
  }
  closedir(d);
  rmdir(dir);
}

int main(void) {
  RUN(generate);
  RUN(test_readback);
  RUN(test_reprojection);
  RUN(test_deterministic);
  RUN(test_motion);
  RUN(test_traps);
  RUN(test_view_consistency);
  RUN(test_triangulate);
  RUN(test_errors);
  RUN(test_marker_source);
  mhrfit_value_free(gt);
  if (!getenv("MHRFIT_KEEP_DEMO")) {
    remove_tree(dir_a);
    remove_tree(dir_b);
    remove_tree(dir_c);
  }
  return test_report();
}
