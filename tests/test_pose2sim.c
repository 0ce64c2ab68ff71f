/* Real data: Pose2Sim's demo balancing trial re-triangulated with the Pose2Sim rule reproduces
 * the reference TRC (DATA.md §1.6): 2,094 of 2,100 marker-frames to <= 1e-6 m, the other 6 are
 * the Nose frames Pose2Sim filled by interpolation. Also compares the default method. */
#include "harness.h"

#include <math.h>

#include "common/path.h"
#include "mhrfit/calib.h"
#include "mhrfit/openpose.h"
#include "mhrfit/triangulate.h"

#define TRIAL "pose2sim_a948c20/S00_P00_SingleParticipant/S00_P00_T01_BalancingTrial/"
#define N_MARKERS 21
#define N_CAMS 4
#define N_FRAMES 100

/* TRC marker order and their BODY_25B indices (DATA.md §1.5). */
static const int marker_b25[N_MARKERS] = {12, 14, 16, 22, 23, 24, 11, 13, 15, 19, 20, 21, 17, 18, 0, 6, 8, 10, 5, 7, 9};

static double ref[N_FRAMES][N_MARKERS][3];
static double uv[N_FRAMES][N_MARKERS * N_CAMS * 2], conf[N_FRAMES][N_MARKERS * N_CAMS];

static void load_reference(void) {
  FILE *f = fopen(TESTDATA(TRIAL "pose-3d/S00_P00_T01_BalancingTrial_0-100.trc"), "r");
  REQUIRE(f);
  char line[8192];
  for (int i = 0; i < 5; i++) REQUIRE(fgets(line, sizeof line, f));
  for (int fr = 0; fr < N_FRAMES; fr++) {
    REQUIRE(fgets(line, sizeof line, f));
    char *p = line, *end;
    double frame = strtod(p, &end);
    CHECK(frame == fr + 1);
    p = end;
    strtod(p, &end); /* time */
    p = end;
    for (int m = 0; m < N_MARKERS; m++) {
      double trc[3];
      for (int a = 0; a < 3; a++) {
        trc[a] = strtod(p, &end);
        REQUIRE(end != p);
        p = end;
      }
      /* TRC (X, Y, Z) = world (Y, Z, X) */
      ref[fr][m][0] = trc[2];
      ref[fr][m][1] = trc[0];
      ref[fr][m][2] = trc[1];
    }
  }
  fclose(f);
}

static void load_observations(void) {
  mhrfit_error err = {0};
  for (int c = 0; c < N_CAMS; c++) {
    char dir[256];
    snprintf(dir, sizeof dir, TRIAL "pose-associated/cam%02d_json", c + 1);
    const char *full = TESTDATA(dir);
    char dirbuf[4096];
    snprintf(dirbuf, sizeof dirbuf, "%s", full);
    mf_names files;
    REQUIRE(mf_list_dir(dirbuf, ".json", false, &files, &err));
    REQUIRE(files.count == N_FRAMES);
    for (int fr = 0; fr < N_FRAMES; fr++) {
      char path[8192];
      snprintf(path, sizeof path, "%s/%s", dirbuf, files.items[fr]);
      double xyc[25 * 3];
      REQUIRE(mhrfit_openpose_read(path, 0, 25, xyc, &err));
      for (int m = 0; m < N_MARKERS; m++) {
        int k = marker_b25[m];
        uv[fr][(m * N_CAMS + c) * 2] = xyc[3 * k];
        uv[fr][(m * N_CAMS + c) * 2 + 1] = xyc[3 * k + 1];
        conf[fr][m * N_CAMS + c] = xyc[3 * k + 2];
      }
    }
    mf_names_free(&files);
  }
}

static void test_pose2sim_reference(void) {
  mhrfit_error err = {0};
  mhrfit_calib *cal = mhrfit_calib_load(TESTDATA("pose2sim_a948c20/S00_Calibration/Calib_qualisys.toml"), NULL, &err);
  REQUIRE(cal && cal->n_cams == N_CAMS);
  load_reference();
  load_observations();
  mhrfit_tri_options o;
  mhrfit_tri_options_default(&o);
  o.method = MHRFIT_TRI_POSE2SIM;
  mhrfit_triangulator *t = mhrfit_triangulator_new(cal->cams, N_CAMS, N_MARKERS, &o, &err);
  REQUIRE(t);
  int reproduced = 0, nan_pts = 0, used_hist[5] = {0};
  double worst = 0;
  int nan_frames[16], n_nan_frames = 0;
  bool only_nose = true;
  for (int fr = 0; fr < N_FRAMES; fr++) {
    double pts[N_MARKERS * 3];
    int32_t used[N_MARKERS], reason[N_MARKERS];
    mhrfit_tri_result res = {.points = pts, .n_views_used = used, .reason = reason};
    REQUIRE(mhrfit_triangulator_process(t, N_MARKERS, uv[fr], conf[fr], &res, &err));
    for (int m = 0; m < N_MARKERS; m++) {
      if (isnan(pts[3 * m])) {
        nan_pts++;
        if (m != 14) only_nose = false;
        if (n_nan_frames < 16) nan_frames[n_nan_frames++] = fr + 1;
        continue;
      }
      used_hist[used[m]]++;
      double d = 0;
      for (int a = 0; a < 3; a++) d = fmax(d, fabs(pts[3 * m + a] - ref[fr][m][a]));
      if (d <= 1e-6) reproduced++;
      worst = fmax(worst, d);
    }
  }
  printf("  pose2sim: reproduced %d / 2100 marker-frames, max |diff| %.3g m, cameras used 4/3/2 = %d/%d/%d, NaN %d\n",
         reproduced, worst, used_hist[4], used_hist[3], used_hist[2], nan_pts);
  CHECK(reproduced == 2094);
  CHECK(worst < 1e-12);
  CHECK(nan_pts == 6);
  CHECK(only_nose);
  static const int want_nan[6] = {5, 6, 7, 8, 9, 16};
  CHECK(n_nan_frames == 6);
  for (int i = 0; i < 6 && i < n_nan_frames; i++) CHECK(nan_frames[i] == want_nan[i]);
  CHECK(used_hist[4] == 1075 && used_hist[3] == 893 && used_hist[2] == 126);
  mhrfit_triangulator_free(t);

  /* The default method on the same data (distortion applied, LM): report the distance. */
  mhrfit_tri_options_default(&o);
  o.min_conf = 0.3;
  t = mhrfit_triangulator_new(cal->cams, N_CAMS, N_MARKERS, &o, &err);
  REQUIRE(t);
  double sum = 0, maxd = 0;
  int n = 0;
  for (int fr = 0; fr < N_FRAMES; fr++) {
    double pts[N_MARKERS * 3];
    mhrfit_tri_result res = {.points = pts};
    REQUIRE(mhrfit_triangulator_process(t, N_MARKERS, uv[fr], conf[fr], &res, &err));
    for (int m = 0; m < N_MARKERS; m++) {
      if (isnan(pts[3 * m])) continue;
      double d = sqrt(pow(pts[3 * m] - ref[fr][m][0], 2) + pow(pts[3 * m + 1] - ref[fr][m][1], 2) +
                      pow(pts[3 * m + 2] - ref[fr][m][2], 2));
      sum += d;
      maxd = fmax(maxd, d);
      n++;
    }
  }
  printf("  default method vs the reference: %d points, mean %.4f m, max %.4f m\n", n, sum / n, maxd);
  CHECK(n >= 2094);
  CHECK(sum / n < 0.02);
  mhrfit_triangulator_free(t);
  mhrfit_calib_free(cal);
}

int main(void) {
  RUN(test_pose2sim_reference);
  return test_report();
}
