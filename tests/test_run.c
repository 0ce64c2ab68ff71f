/* `mhrfit run` end to end on a demo capture: statuses (the one-camera frame recovered and
 * labelled), accuracy against the ground truth, NaN-free valid outputs whose geometry follows
 * their parameters, --freeze_lower_body passed through (lower body bit-identical while the
 * subject stands), lower-body jitter with and without it, and a rerun reusing every frame. */
#include "harness.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mhrfit/demo.h"
#include "mhrfit/fit_io.h"
#include "mhrfit/json.h"
#include "mhrfit/npy.h"
#include "mhrfit/param_sets.h"
#include "mhrfit/value.h"

static char tmp[256];
static mhrfit_demo_summary demo;
static float *gt_kp; /* F x 70 x 3 */
static size_t F;


static void setup(void) {
  snprintf(tmp, sizeof tmp, "/tmp/mhrfit_run_XXXXXX");
  REQUIRE(mkdtemp(tmp));
  mhrfit_demo_options o;
  mhrfit_demo_options_init(&o);
  o.assets = th_env_or("MHRFIT_ASSETS", "../shared/mhr");
  o.n_frames = 36;
  o.seed = 7;
  mhrfit_error err = {0};
  bool ok = mhrfit_demo_write(th_path(tmp, "capture"), &o, &demo, &err);
  if (!ok) fprintf(stderr, "%s\n", err.message);
  REQUIRE(ok);
  mhrfit_value *gt = mhrfit_npz_load(th_path(tmp, "capture/ground_truth.npz"), NULL, &err);
  REQUIRE(gt);
  const mhrfit_array *k = mhrfit_value_dict_get(gt, "keypoints_3d")->u.array;
  F = k->shape[0];
  gt_kp = malloc(k->count * sizeof *gt_kp);
  REQUIRE(gt_kp);
  memcpy(gt_kp, k->data, k->count * sizeof *gt_kp);
  mhrfit_value_free(gt);
  printf("  demo: %zu frames x %zu cameras, standing %zu, one-camera frame %ld, %zu decoy views\n", demo.n_frames,
         demo.n_cams, demo.standing_frames, demo.one_view_frame, demo.n_decoy_views);
}

static int run_pipeline(const char *out, const char *extra) {
  char args[4096];
  snprintf(args, sizeof args,
           "run --input %s/capture --calib %s/capture/calibration.toml --cams cam_0 cam_1 cam_2 cam_3 --out %s/%s "
           "--no_mesh %s",
           tmp, tmp, tmp, out, extra);
  return th_run_cli(tmp, args);
}

static double mpjpe(const mhrfit_fit_archive *a, size_t f) {
  double s = 0;
  int n = 0;
  for (int k = 0; k < 70; k++) {
    const double *p = a->keypoints + 210 * f + 3 * k;
    const float *g = gt_kp + 210 * f + 3 * k;
    if (!isfinite(p[0])) continue;
    s += sqrt(pow(p[0] - g[0], 2) + pow(p[1] - g[1], 2) + pow(p[2] - g[2], 2));
    n++;
  }
  return n ? s / n : INFINITY;
}

/* Mean frame-to-frame motion (mm) of the lower-body keypoints (hips, knees, ankles, feet)
 * over the standing frames. */
static double lower_jitter(const mhrfit_fit_archive *a) {
  double s = 0;
  int n = 0;
  for (size_t f = 1; f < demo.standing_frames; f++)
    for (int k = 9; k <= 20; k++) {
      const double *p = a->keypoints + 210 * f + 3 * k, *q = p - 210;
      if (!isfinite(p[0]) || !isfinite(q[0])) continue;
      s += sqrt(pow(p[0] - q[0], 2) + pow(p[1] - q[1], 2) + pow(p[2] - q[2], 2));
      n++;
    }
  return n ? 1000 * s / n : INFINITY;
}

static void test_run_default(void) {
  int rc = run_pipeline("out", "");
  if (rc) fprintf(stderr, "%s\n", th_cli_log(tmp));
  REQUIRE(rc == 0);
  mhrfit_error err = {0};
  mhrfit_fit_archive *a = mhrfit_fit_archive_load(th_path(tmp, "out/sequence_fit.npz"), &err);
  mhrfit_fit_archive *s = mhrfit_fit_archive_load(th_path(tmp, "out/sequence_smoothed.npz"), &err);
  REQUIRE(a && s && a->n_frames == F && s->n_frames == F);
  size_t one = (size_t)demo.one_view_frame;
  CHECK(demo.one_view_frame > 0);
  CHECK_STR(a->status[one], "recovered_interp");
  CHECK_CONTAINS(a->message[one], "missing_views");
  double err_fit = 0, err_smooth = 0, err_ok = 0;
  int n_ok = 0, nonfinite = 0;
  for (size_t f = 0; f < F; f++) {
    bool valid = strcmp(a->status[f], "ok") == 0 || strncmp(a->status[f], "recovered", 9) == 0;
    CHECK(valid);
    for (int i = 0; i < 204; i++) nonfinite += !isfinite(a->model_params[204 * f + i]) + !isfinite(s->model_params[204 * f + i]);
    for (size_t i = 0; i < 3 * a->n_joints; i++) nonfinite += !isfinite(a->joints[3 * a->n_joints * f + i]);
    err_fit += mpjpe(a, f);
    err_smooth += mpjpe(s, f);
    n_ok += strcmp(a->status[f], "ok") == 0;
    if (strcmp(a->status[f], "ok") == 0) err_ok += mpjpe(a, f);
  }
  err_fit /= (double)F;
  err_smooth /= (double)F;
  printf("  run: %d/%zu frames ok; keypoint error to the truth: fitted %.1f mm, smoothed %.1f mm; lower-body jitter "
         "while standing %.2f mm/frame\n",
         n_ok, F, 1000 * err_fit, 1000 * err_smooth, lower_jitter(a));
  CHECK(nonfinite == 0);
  CHECK(n_ok >= (int)F - 3);
  CHECK(err_fit < 0.02);
  /* the default zero-phase Butterworth (6 Hz) lowers the error on a 120-frame demo (smooth.h); on
   * this 36-frame one the same motion is three times faster, and 11 mm were measured */
  CHECK(err_smooth < 0.02);
  /* mhrfit demo --run's measures agree with the ones computed here */
  mhrfit_demo_accuracy acc;
  REQUIRE(mhrfit_demo_evaluate(th_path(tmp, "capture"), th_path(tmp, "out"), &acc, &err));
  printf("  demo evaluate: triangulation mean %.1f mm (%zu points, %zu over 5 cm), fitted %.2f mm, smoothed %.2f mm, "
         "acceleration error %.2f -> %.2f mm/frame^2\n",
         acc.tri_mean_mm, acc.tri_points, acc.tri_over_50mm, acc.fitted.mpjpe_mm, acc.smoothed.mpjpe_mm,
         acc.fitted.accel_err_mm, acc.smoothed.accel_err_mm);
  CHECK(acc.n_frames == F && acc.standing_frames == demo.standing_frames);
  CHECK(acc.fitted.n_frames_compared == (size_t)n_ok && acc.fitted.n_frames_recovered == F - (size_t)n_ok);
  CHECK(fabs(acc.fitted.mpjpe_mm - 1000 * err_ok / n_ok) < 1e-9);
  CHECK(fabs(acc.fitted.lower_jitter_mm - lower_jitter(a)) < 1e-9);
  CHECK(acc.tri_frames == F - 1 && acc.tri_mean_mm > 0 && acc.tri_mean_mm < 20 && acc.tri_median_mm <= acc.tri_mean_mm);
  /* (on a 120-frame demo smoothing lowers the acceleration error 6.7 -> 1.4 mm/frame^2, smooth.h; this
   * 36-frame one moves three times faster than a 6 Hz low-pass at 30 fps lets through) */
  CHECK(acc.smoothed.present && isfinite(acc.smoothed.accel_err_mm) && isfinite(acc.fitted.accel_err_mm));
  CHECK(acc.n_status == 2 && acc.status_count[0] + acc.status_count[1] == F);
  CHECK(isfinite(acc.time_fit_s) && isfinite(acc.time_total_s) && acc.time_total_s >= acc.time_fit_s);
  /* the summary */
  mhrfit_value *sum = mhrfit_json_load(th_path(tmp, "out/sequence_summary.json"), &err);
  REQUIRE(sum);
  const mhrfit_value *nf = mhrfit_value_dict_get(sum, "num_frames");
  CHECK(nf && nf->kind == MHRFIT_V_INT && nf->u.integer == (long long)F);
  const mhrfit_value *frames = mhrfit_value_dict_get(sum, "frames");
  REQUIRE(frames && frames->kind == MHRFIT_V_LIST && frames->u.list.count == F);
  const mhrfit_value *st = mhrfit_value_dict_get(frames->u.list.items[one], "fit_status");
  CHECK(st && st->kind == MHRFIT_V_STRING && strcmp(st->u.str.data, "missing_views") == 0);
  mhrfit_value_free(sum);
  struct stat sb;
  CHECK(stat(th_path(tmp, "out/pipeline_config.json"), &sb) == 0);
  CHECK(stat(th_path(tmp, "out/stage1_meta.json"), &sb) == 0);
  /* a rerun reuses every frame and gives the same files */
  rc = run_pipeline("out", "");
  CHECK(rc == 0);
  CHECK_CONTAINS(th_cli_log(tmp), "(36 fits reused)");
  mhrfit_fit_archive *b = mhrfit_fit_archive_load(th_path(tmp, "out/sequence_smoothed.npz"), &err);
  REQUIRE(b);
  int diff = 0;
  for (size_t i = 0; i < F * 210; i++) diff += !(b->keypoints[i] == s->keypoints[i]);
  CHECK(diff == 0);
  mhrfit_fit_archive_free(b);
  mhrfit_fit_archive_free(a);
  mhrfit_fit_archive_free(s);
}

static void test_run_freeze_lower_body(void) {
  int rc = run_pipeline("frozen", "--freeze_lower_body");
  if (rc) fprintf(stderr, "%s\n", th_cli_log(tmp));
  REQUIRE(rc == 0);
  mhrfit_error err = {0};
  mhrfit_fit_archive *a = mhrfit_fit_archive_load(th_path(tmp, "frozen/sequence_fit.npz"), &err);
  mhrfit_fit_archive *free_a = mhrfit_fit_archive_load(th_path(tmp, "out/sequence_fit.npz"), &err);
  REQUIRE(a && free_a);
  CHECK(a->freeze_lower_body && !free_a->freeze_lower_body);
  const int *idx;
  size_t n;
  REQUIRE(mhrfit_param_set_get(MHRFIT_SET_LOWER_BODY, 204, &idx, &n, &err));
  /* every ok frame with a temporal prior keeps the previous ok frame's lower body bit for bit:
   * through the sequence, all ok frames share frame 0's values */
  int same = 0, compared = 0;
  size_t first = F;
  for (size_t f = 0; f < F; f++) {
    if (strcmp(a->status[f], "ok") != 0) continue;
    if (first == F) {
      first = f;
      continue;
    }
    for (size_t i = 0; i < n; i++) {
      if (idx[i] < 6 || idx[i] >= 136) continue;
      compared++;
      same += a->model_params[204 * f + idx[i]] == a->model_params[204 * first + idx[i]];
    }
  }
  double e = 0;
  for (size_t f = 0; f < demo.standing_frames; f++) e += mpjpe(a, f);
  printf("  --freeze_lower_body: %d/%d lower-body values equal the first frame's; standing error %.1f mm; "
         "lower-body jitter %.2f mm/frame (free: %.2f)\n",
         same, compared, 1000 * e / (double)demo.standing_frames, lower_jitter(a), lower_jitter(free_a));
  CHECK(compared > 0 && same == compared);
  CHECK(lower_jitter(a) <= lower_jitter(free_a));
  /* what the chain starts from: by default (first_fit) the first frame's lower body is fitted, with
   * --freeze_lower_body_from view it is the initial view's estimate, bit for bit (the original) */
  rc = run_pipeline("frozen_view", "--freeze_lower_body --freeze_lower_body_from view");
  REQUIRE(rc == 0);
  mhrfit_fit_archive *v = mhrfit_fit_archive_load(th_path(tmp, "frozen_view/sequence_fit.npz"), &err);
  REQUIRE(v && strcmp(v->status[first], "ok") == 0 && v->init_cam[first][0]);
  char view_file[512];
  snprintf(view_file, sizeof view_file, "frozen_view/stage1/%06zu/%s.npz", first, v->init_cam[first]);
  mhrfit_value *view = mhrfit_npz_load(th_path(tmp, view_file), NULL, &err);
  REQUIRE(view);
  const mhrfit_value *vm = mhrfit_value_dict_get(view, "mhr_model_params");
  REQUIRE(vm && vm->kind == MHRFIT_V_ARRAY && vm->u.array->count == 204);
  int same_view = 0, same_fit = 0, legs = 0;
  for (size_t i = 0; i < n; i++) {
    if (idx[i] < 6 || idx[i] >= 136) continue;
    double want = mhrfit_array_get_f64(vm->u.array, (size_t)idx[i]);
    legs++;
    same_view += v->model_params[204 * first + idx[i]] == want;
    same_fit += a->model_params[204 * first + idx[i]] == want;
  }
  double ev = 0;
  for (size_t f = 0; f < demo.standing_frames; f++) ev += mpjpe(v, f);
  printf("  --freeze_lower_body_from view: %d/%d lower-body values equal the initial view's (first_fit: %d); standing "
         "error %.1f mm (first_fit %.1f mm)\n", same_view, legs, same_fit, 1000 * ev / (double)demo.standing_frames,
         1000 * e / (double)demo.standing_frames);
  CHECK(legs > 0 && same_view == legs && same_fit < legs);
  CHECK(e < ev);
  mhrfit_value_free(view);
  mhrfit_fit_archive_free(v);
  mhrfit_fit_archive_free(a);
  mhrfit_fit_archive_free(free_a);
}

static void test_run_errors(void) {
  CHECK(th_run_cli(tmp, "run --calib x --cams a b --out y") == 2);
  CHECK_CONTAINS(th_cli_log(tmp), "--input");
  char args[1024];
  snprintf(args, sizeof args, "run --input %s/capture --calib %s/capture/calibration.toml --cams cam_0 cam_1 --out %s/e "
           "--person_select_strategy tallest", tmp, tmp, tmp);
  CHECK(th_run_cli(tmp, args) == 2);
  CHECK_CONTAINS(th_cli_log(tmp), "person_select_strategy");
}

int main(void) {
  RUN(setup);
  if (gt_kp) {
    RUN(test_run_default);
    RUN(test_run_freeze_lower_body);
    RUN(test_run_errors);
  }
  free(gt_kp);
  if (tmp[0] && !getenv("MHRFIT_KEEP_TMP")) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
  }
  return test_report();
}
