/* Triangulation on synthetic scenes: accuracy and robustness (consensus vs the original's rule),
 * reason codes, inlier masks, NaN/Inf inputs, reported errors exact, the Pose2Sim bound at 16
 * cameras. */
#include "harness.h"

#include <math.h>

#include "common/linalg.h"
#include "mhrfit/triangulate.h"
#include "synth_scene.h"

#define V_MAX 16
#define K 70

/* Fraction of points more than 5 cm off and the median error, over `frames` frames. With
 * `oracle`, the outlier observations are removed first (the noise floor: what a method that knew
 * the outliers would reach). */
static void run_scene(int V, bool consensus, bool oracle, int frames, double *frac_bad, double *median_err,
                      int *n_nan) {
  mhrfit_camera cams[V_MAX];
  for (int i = 0; i < V; i++) synth_camera(i, V, 3.5, 1.5, &cams[i]);
  mhrfit_tri_options o;
  mhrfit_tri_options_default(&o);
  o.rank_by_consensus = consensus;
  mhrfit_error err = {0};
  mhrfit_triangulator *t = mhrfit_triangulator_new(cams, (size_t)V, K, &o, &err);
  REQUIRE(t);
  synth_rng r = {42};
  static double pts[K * 3], uv[K * V_MAX * 2], out[K * 3];
  static unsigned char outlier[K * V_MAX];
  static double errs[2000 * K];
  int n = 0, bad = 0, nan_count = 0;
  for (int f = 0; f < frames; f++) {
    synth_frame(&r, cams, V, K, 1.0, 0.05, 0.03, pts, uv, outlier);
    if (oracle)
      for (int i = 0; i < K * V; i++)
        if (outlier[i]) uv[2 * i] = NAN;
    mhrfit_tri_result res = {.points = out};
    REQUIRE(mhrfit_triangulator_process(t, K, uv, NULL, &res, &err));
    for (int k = 0; k < K; k++) {
      if (isnan(out[3 * k])) {
        nan_count++;
        continue;
      }
      double d = sqrt(pow(out[3 * k] - pts[3 * k], 2) + pow(out[3 * k + 1] - pts[3 * k + 1], 2) +
                      pow(out[3 * k + 2] - pts[3 * k + 2], 2));
      bad += d > 0.05;
      if (n < 2000 * K) errs[n++] = d;
    }
  }
  /* median by partial selection sort over a copy would be slow; use nth via qsort */
  int cmp(const void *a, const void *b);
  qsort(errs, (size_t)n, sizeof errs[0], cmp);
  *median_err = errs[n / 2];
  *frac_bad = (double)bad / (double)(n + nan_count);
  *n_nan = nan_count;
  mhrfit_triangulator_free(t);
}

int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void test_robustness_4_cameras(void) {
  double fb_c, med_c, fb_o, med_o, fb_f, med_f;
  int nan_c, nan_o, nan_f;
  run_scene(4, true, false, 1000, &fb_c, &med_c, &nan_c);
  run_scene(4, false, false, 1000, &fb_o, &med_o, &nan_o);
  run_scene(4, true, true, 1000, &fb_f, &med_f, &nan_f);
  printf("  4 cams, 1 px noise, 5%% outliers, 3%% missing, 70k points: >5 cm: consensus %.3f%%, original ranking "
         "%.3f%%; median error %.3f mm vs %.3f mm (noise floor %.3f mm); NaN %d vs %d\n",
         100 * fb_c, 100 * fb_o, 1000 * med_c, 1000 * med_o, 1000 * med_f, nan_c, nan_o);
  CHECK(fb_c < 0.0015);
  CHECK(fb_o > fb_c);
  CHECK(med_c <= 1.02 * med_f);
}

static void test_robustness_8_cameras(void) {
  double fb_c, med_c, fb_o, med_o;
  int nan_c, nan_o;
  double fb_f, med_f;
  int nan_f;
  run_scene(8, true, false, 300, &fb_c, &med_c, &nan_c);
  run_scene(8, false, false, 300, &fb_o, &med_o, &nan_o);
  run_scene(8, true, true, 300, &fb_f, &med_f, &nan_f);
  printf("  8 cams: >5 cm: consensus %.4f%%, original ranking %.4f%%; median %.3f mm vs %.3f mm (noise floor %.3f mm)\n",
         100 * fb_c, 100 * fb_o, 1000 * med_c, 1000 * med_o, 1000 * med_f);
  CHECK(fb_c < 0.0005);
  CHECK(med_c <= 1.02 * med_f);
}

static void test_reasons_and_masks(void) {
  mhrfit_camera cams[4];
  for (int i = 0; i < 4; i++) synth_camera(i, 4, 3.5, 1.5, &cams[i]);
  mhrfit_error err = {0};
  mhrfit_triangulator *t = mhrfit_triangulator_new(cams, 4, 6, NULL, &err);
  REQUIRE(t);
  double X[3] = {0.1, -0.2, 1.1}, uv[6 * 4 * 2];
  for (int k = 0; k < 6; k++)
    for (int v = 0; v < 4; v++) mhrfit_camera_project(&cams[v], X, uv + 2 * (k * 4 + v), NULL);
  /* k0: all views good; k1: no views; k2: one view; k3: one gross outlier; k4: Inf and out of image;
   * k5: NaN confidence in all but two views */
  for (int v = 0; v < 4; v++) uv[2 * (1 * 4 + v)] = NAN;
  for (int v = 1; v < 4; v++) uv[2 * (2 * 4 + v) + 1] = NAN;
  uv[2 * (3 * 4 + 2)] += 300;
  uv[2 * (4 * 4 + 0)] = INFINITY;
  uv[2 * (4 * 4 + 1)] = -5.0;
  double conf[6 * 4];
  for (int i = 0; i < 24; i++) conf[i] = 0.9;
  conf[5 * 4 + 0] = NAN;
  conf[5 * 4 + 3] = 0.0; /* OpenPose writes undetected points as 0, 0, 0: missing */
  double pts[18], init[18], rerr[24];
  uint8_t in[24];
  int32_t used[6], reason[6];
  mhrfit_tri_result res = {pts, init, in, rerr, used, reason};
  REQUIRE(mhrfit_triangulator_process(t, 6, uv, conf, &res, &err));
  CHECK(reason[0] == MHRFIT_TRI_OK && used[0] == 4);
  for (int i = 0; i < 3; i++) CHECK_NEAR(pts[i], X[i], 1e-9);
  CHECK(reason[1] == MHRFIT_TRI_NO_VIEWS && isnan(pts[3]) && used[1] == 0);
  CHECK(reason[2] == MHRFIT_TRI_ONE_VIEW && isnan(pts[6]) && isnan(init[6]));
  for (int v = 0; v < 4; v++) CHECK(in[4 + v] == 0 && in[8 + v] == 0);
  CHECK(reason[3] == MHRFIT_TRI_OK && used[3] == 3 && in[3 * 4 + 2] == 0 && in[3 * 4 + 0] == 1);
  CHECK(rerr[3 * 4 + 2] > 290 && rerr[3 * 4 + 0] < 1e-6);
  for (int i = 0; i < 3; i++) CHECK_NEAR(pts[9 + i], X[i], 1e-9);
  CHECK(reason[4] == MHRFIT_TRI_OK && used[4] == 2 && isnan(rerr[4 * 4 + 0]) && isnan(rerr[4 * 4 + 1]));
  CHECK(reason[5] == MHRFIT_TRI_OK && used[5] == 2 && in[5 * 4 + 0] == 0 && in[5 * 4 + 3] == 0);
  for (int k = 0; k < 6; k++)
    if (reason[k] == MHRFIT_TRI_OK)
      for (int i = 0; i < 3; i++) CHECK(isfinite(pts[3 * k + i]));
  /* too many keypoints is an argument error, not a crash */
  CHECK(!mhrfit_triangulator_process(t, 7, uv, NULL, &res, &err) && err.type == MHRFIT_ERR_ARGUMENT);
  mhrfit_triangulator_free(t);
  /* the eigen-solver refuses non-finite input outright */
  double A[16] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, NAN, 0, 0, 0, 0, 1}, w[4], V[16];
  CHECK(!mf_sym_eigen(A, 4, w, V));
}

/* The reported per-view errors are those of the returned point through the public projection, bit
 * for bit (the refinement hands over the errors of its last evaluation for the views it used; the
 * others are computed afterwards), also with Huber weights in the refinement; on this scene the
 * inlier mask is exactly the valid views within the gate. */
static void test_reported_errors_exact(void) {
  enum { V = 8, F = 20 };
  mhrfit_camera cams[V];
  for (int i = 0; i < V; i++) synth_camera(i, V, 3.5, 1.5, &cams[i]);
  for (int robust = 0; robust < 2; robust++) {
    mhrfit_tri_options o;
    mhrfit_tri_options_default(&o);
    o.robust_lm = robust;
    mhrfit_error err = {0};
    mhrfit_triangulator *t = mhrfit_triangulator_new(cams, V, K, &o, &err);
    REQUIRE(t);
    synth_rng r = {5 + (uint64_t)robust};
    static double pts[K * 3], uv[K * V * 2], out[K * 3], e[K * V];
    static uint8_t in[K * V];
    static int32_t reason[K], used[K];
    int n_ok = 0, n_views = 0, exact = 0, mask_ok = 0;
    for (int f = 0; f < F; f++) {
      synth_frame(&r, cams, V, K, 1.0, 0.10, 0.03, pts, uv, NULL);
      mhrfit_tri_result res = {.points = out, .inliers = in, .reproj_err = e, .n_views_used = used, .reason = reason};
      REQUIRE(mhrfit_triangulator_process(t, K, uv, NULL, &res, &err));
      for (int k = 0; k < K; k++) {
        if (reason[k] != MHRFIT_TRI_OK) continue;
        n_ok++;
        int cnt = 0;
        bool mask = true;
        for (int v = 0; v < V; v++) {
          const double *o_uv = uv + 2 * (k * V + v);
          if (!isfinite(o_uv[0])) {
            mask = mask && !in[k * V + v] && isnan(e[k * V + v]);
            continue;
          }
          double p[2], ref = INFINITY;
          if (mhrfit_camera_project(&cams[v], out + 3 * k, p, NULL)) {
            double du = p[0] - o_uv[0], dv = p[1] - o_uv[1];
            ref = sqrt(du * du + dv * dv);
          }
          n_views++;
          exact += !memcmp(&ref, &e[k * V + v], sizeof ref);
          mask = mask && (in[k * V + v] != 0) == (e[k * V + v] < o.inlier_thresh);
          cnt += in[k * V + v];
        }
        mask_ok += mask && cnt == used[k];
      }
    }
    printf("  %s: %d points, %d of %d view errors bit-identical to the public projection, %d masks exact\n",
           robust ? "Huber LM" : "plain LM", n_ok, exact, n_views, mask_ok);
    CHECK(n_ok > F * K * 9 / 10);
    CHECK(exact == n_views);
    CHECK(mask_ok == n_ok);
    mhrfit_triangulator_free(t);
  }
}

/* The leave-one-out check: 3 views of a point, one displaced by 40-60 px in a direction (found by
 * trying) where the consensus rule alone accepts a compromise keeping all 3 views within the gate;
 * with the check the displaced view is excluded and the point is the one of the 2 clean views. A
 * clean 3-view point is unchanged, bit for bit. */
static void test_loo_compromise(void) {
  mhrfit_camera cams[3];
  for (int i = 0; i < 3; i++) synth_camera(i, 3, 3.5, 1.5, &cams[i]);
  mhrfit_tri_options o_off, o_on;
  mhrfit_tri_options_default(&o_on);
  CHECK(o_on.loo_check);
  o_off = o_on;
  o_off.loo_check = false;
  mhrfit_error err = {0};
  mhrfit_triangulator *t_on = mhrfit_triangulator_new(cams, 3, 1, &o_on, &err);
  mhrfit_triangulator *t_off = mhrfit_triangulator_new(cams, 3, 1, &o_off, &err);
  REQUIRE(t_on && t_off);
  const double X[3] = {0.1, -0.2, 1.1}, noise[6] = {0.4, -0.3, -0.2, 0.5, 0.3, 0.2};
  double clean[6];
  for (int v = 0; v < 3; v++) {
    REQUIRE(mhrfit_camera_project(&cams[v], X, clean + 2 * v, NULL));
    clean[2 * v] += noise[2 * v];
    clean[2 * v + 1] += noise[2 * v + 1];
  }
  /* clean: the check does not fire, the results are those without it */
  double p_on[3], p_off[3], e_on[3], e_off[3];
  uint8_t in_on[3], in_off[3];
  int32_t used_on, used_off, reason_on, reason_off;
  mhrfit_tri_result r_on = {p_on, NULL, in_on, e_on, &used_on, &reason_on};
  mhrfit_tri_result r_off = {p_off, NULL, in_off, e_off, &used_off, &reason_off};
  REQUIRE(mhrfit_triangulator_process(t_on, 1, clean, NULL, &r_on, &err));
  REQUIRE(mhrfit_triangulator_process(t_off, 1, clean, NULL, &r_off, &err));
  CHECK(reason_on == MHRFIT_TRI_OK && used_on == 3);
  CHECK(!memcmp(p_on, p_off, sizeof p_on) && !memcmp(e_on, e_off, sizeof e_on) && !memcmp(in_on, in_off, sizeof in_on));
  double d_clean = sqrt(pow(p_on[0] - X[0], 2) + pow(p_on[1] - X[1], 2) + pow(p_on[2] - X[2], 2));
  CHECK(d_clean < 3e-3);
  /* displaced: search view, size and direction for a compromise the rule alone accepts */
  int found = 0, fixed = 0, first_bad = -1;
  for (int bad = 0; bad < 3; bad++)
    for (int mag = 40; mag <= 60; mag += 10)
      for (int a = 0; a < 36; a++) {
        double uv[6];
        memcpy(uv, clean, sizeof uv);
        uv[2 * bad] += mag * cos(a * (3.14159265358979323846 / 18));
        uv[2 * bad + 1] += mag * sin(a * (3.14159265358979323846 / 18));
        REQUIRE(mhrfit_triangulator_process(t_off, 1, uv, NULL, &r_off, &err));
        if (!(reason_off == MHRFIT_TRI_OK && used_off == 3)) continue;
        found++;
        REQUIRE(mhrfit_triangulator_process(t_on, 1, uv, NULL, &r_on, &err));
        double d_off = sqrt(pow(p_off[0] - X[0], 2) + pow(p_off[1] - X[1], 2) + pow(p_off[2] - X[2], 2));
        double d_on = sqrt(pow(p_on[0] - X[0], 2) + pow(p_on[1] - X[1], 2) + pow(p_on[2] - X[2], 2));
        bool excl = reason_on == MHRFIT_TRI_OK && used_on == 2;
        for (int v = 0; v < 3; v++) excl = excl && in_on[v] == (v != bad);
        if (!excl) {
          /* kept: the result is the one without the check */
          CHECK(!memcmp(p_on, p_off, sizeof p_on) && used_on == 3);
          continue;
        }
        fixed++;
        /* the reduced point: at the noise level, the displaced view beyond the gate, the errors
         * reported of the returned point */
        CHECK(d_on < 3e-3 && d_on < d_off);
        CHECK(e_on[bad] >= o_on.inlier_thresh);
        for (int v = 0; v < 3; v++) {
          double q[2];
          REQUIRE(mhrfit_camera_project(&cams[v], p_on, q, NULL));
          CHECK_NEAR(e_on[v], hypot(q[0] - uv[2 * v], q[1] - uv[2 * v + 1]), 1e-9);
        }
        if (first_bad < 0) {
          first_bad = bad;
          printf("  view %d displaced by %d px at %d deg: without the check all 3 views inliers (errors %.1f, %.1f, "
                 "%.1f px), %.1f mm off; with it view %d excluded (%.1f px), %.2f mm off (clean: %.2f mm)\n",
                 bad, mag, 10 * a, e_off[0], e_off[1], e_off[2], 1000 * d_off, bad, e_on[bad], 1000 * d_on,
                 1000 * d_clean);
        }
      }
  printf("  %d of 324 displacements give a compromise within the gate; the check excludes the displaced view in %d\n",
         found, fixed);
  CHECK(found > 0 && fixed > 0);
  CHECK(fixed == found); /* on this scene every compromise is undone */
  mhrfit_triangulator_free(t_on);
  mhrfit_triangulator_free(t_off);
}

static void test_degenerate_pair(void) {
  /* two cameras at the same place: every ray pair is parallel, no point */
  mhrfit_camera cams[2];
  synth_camera(0, 4, 3.5, 1.5, &cams[0]);
  cams[1] = cams[0];
  mhrfit_error err = {0};
  mhrfit_triangulator *t = mhrfit_triangulator_new(cams, 2, 1, NULL, &err);
  REQUIRE(t);
  double X[3] = {0, 0, 1}, uv[4], pts[3];
  int32_t reason[1];
  mhrfit_camera_project(&cams[0], X, uv, NULL);
  mhrfit_camera_project(&cams[1], X, uv + 2, NULL);
  mhrfit_tri_result res = {.points = pts, .reason = reason};
  REQUIRE(mhrfit_triangulator_process(t, 1, uv, NULL, &res, &err));
  CHECK(reason[0] == MHRFIT_TRI_DEGENERATE && isnan(pts[0]));
  mhrfit_triangulator_free(t);
}

static void test_pose2sim_many_cameras(void) {
  /* 16 cameras with 6 outlier views: the bounded search still finds a good point quickly */
  mhrfit_camera cams[16];
  for (int i = 0; i < 16; i++) synth_camera(i, 16, 3.5, 1.5, &cams[i]);
  mhrfit_tri_options o;
  mhrfit_tri_options_default(&o);
  o.method = MHRFIT_TRI_POSE2SIM;
  mhrfit_error err = {0};
  mhrfit_triangulator *t = mhrfit_triangulator_new(cams, 16, 1, &o, &err);
  REQUIRE(t);
  double X[3] = {0.05, 0.1, 1.2}, uv[32], conf[16], pts[3];
  for (int v = 0; v < 16; v++) {
    mhrfit_camera_project(&cams[v], X, uv + 2 * v, NULL);
    conf[v] = 0.9;
  }
  for (int v = 0; v < 6; v++) uv[2 * (v * 2)] += 400 + 10 * v; /* 6 of 16 views far off */
  int32_t used[1], reason[1];
  mhrfit_tri_result res = {.points = pts, .n_views_used = used, .reason = reason};
  REQUIRE(mhrfit_triangulator_process(t, 1, uv, conf, &res, &err));
  CHECK(reason[0] == MHRFIT_TRI_OK);
  CHECK(used[0] == 10); /* needs 6 exclusions: C(16,5) > max_subsets, so the greedy bound is exercised */
  double d = sqrt(pow(pts[0] - X[0], 2) + pow(pts[1] - X[1], 2) + pow(pts[2] - X[2], 2));
  printf("  pose2sim, 16 cameras, 6 outliers: %d cameras used, error %.2f mm\n", used[0], 1000 * d);
  CHECK(d < 1e-3); /* Pose2Sim ignores lens distortion; the synthetic cameras have some */
  mhrfit_triangulator_free(t);
}

int main(void) {
  RUN(test_robustness_4_cameras);
  RUN(test_robustness_8_cameras);
  RUN(test_reasons_and_masks);
  RUN(test_reported_errors_exact);
  RUN(test_loo_compromise);
  RUN(test_degenerate_pair);
  RUN(test_pose2sim_many_cameras);
  return test_report();
}
