/* The pipeline on a detector's 2-D keypoints (pipeline.h, "Detector inputs"), on Pose2Sim's
 * balancing trial (real OpenPose BODY_25B from 4 cameras, 100 frames at 60 Hz):
 * - OpenPose JSON folders: every frame ok, the layout's keypoints in the sequence archives; a run
 *   cancelled half-way through the frames and resumed gives the files of an uninterrupted
 *   `mhrfit run`, byte for byte;
 * - per-camera arrays with a camera that sees nothing (left out) and frames seen by one camera
 *   (missing_views, recovered by interpolation with the layout's 25 keypoints);
 * - wrong options, a layout whose keypoint count is not the arrays', a map with a typo or too few
 *   mapped keypoints: clear errors before anything is written. */
#include "harness.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mhrfit/array.h"
#include "mhrfit/fit_io.h"
#include "mhrfit/npy.h"
#include "mhrfit/observations.h"
#include "mhrfit/pipeline.h"

static char tmp[256];
static const char *assets;
static char trial[1024], calib[1024];
static const char *const cams[4] = {"cam_01", "cam_02", "cam_03", "cam_04"};
static const char *const cam_dirs[4] = {"cam01_json", "cam02_json", "cam03_json", "cam04_json"};
enum { N_FRAMES = 100, K = 25 };

static void setup(void) {
  snprintf(tmp, sizeof tmp, "/tmp/mhrfit_rundet_XXXXXX");
  REQUIRE(mkdtemp(tmp));
  assets = th_env_or("MHRFIT_ASSETS", "../shared/mhr");
  snprintf(trial, sizeof trial, "%s",
           TESTDATA("pose2sim_a948c20/S00_P00_SingleParticipant/S00_P00_T01_BalancingTrial/pose-associated"));
  snprintf(calib, sizeof calib, "%s", TESTDATA("pose2sim_a948c20/S00_Calibration/Calib_qualisys.toml"));
  struct stat st;
  REQUIRE(stat(trial, &st) == 0 && stat(calib, &st) == 0);
}

typedef struct watcher {
  volatile sig_atomic_t cancel;
  size_t cancel_at, calls, reused, warnings;
  char last_warning[512];
} watcher;

static void on_progress(void *user, const mhrfit_pipeline_progress *p) {
  watcher *w = user;
  CHECK(p->stage == MHRFIT_PIPELINE_STAGE_FRAMES); /* no stage 1 */
  w->calls++;
  w->reused = p->reused;
  if (w->cancel_at && p->done == w->cancel_at) w->cancel = 1;
}

static void on_log(void *user, mhrfit_pipeline_log_level level, const char *msg) {
  watcher *w = user;
  if (level == MHRFIT_PIPELINE_INFO) return;
  w->warnings++;
  snprintf(w->last_warning, sizeof w->last_warning, "%s", msg);
  printf("  log: %s\n", msg);
}

static void openpose_options(mhrfit_pipeline_options *o, const char *out, watcher *w) {
  mhrfit_pipeline_options_init(o);
  o->input_dir = trial;
  o->calib_path = calib;
  o->out_dir = out;
  o->cams = cams;
  o->n_cams = 4;
  o->cam_dirs = cam_dirs;
  o->n_cam_dirs = 4;
  o->input_format = "openpose";
  o->layout = "body25b";
  o->smooth.fps = 60;
  o->rig_path = assets;
  o->progress = on_progress;
  o->log = on_log;
  o->user = w;
  o->cancel = &w->cancel;
}

/* One run; returns the error type (MHRFIT_ERR_NONE on success), the message in `msg`. */
static mhrfit_error_type run(const mhrfit_pipeline_options *o, mhrfit_pipeline_result *res, size_t *n_cams,
                             char *msg, size_t msg_size) {
  mhrfit_error err = {0};
  mhrfit_pipeline *p = mhrfit_pipeline_new(o, &err);
  bool ok = p && mhrfit_pipeline_run(p, res, &err);
  if (n_cams) *n_cams = mhrfit_pipeline_n_cameras(p);
  if (msg) snprintf(msg, msg_size, "%s", err.message);
  if (!ok) printf("  stopped: %s\n", err.message);
  mhrfit_pipeline_free(p);
  return ok ? MHRFIT_ERR_NONE : err.type;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void test_openpose_resume_equals_cli(void) {
  char out[512], cli_out[512], msg[1024];
  snprintf(out, sizeof out, "%s/api", tmp);
  snprintf(cli_out, sizeof cli_out, "%s/cli", tmp);
  mhrfit_pipeline_options o;
  mhrfit_pipeline_result res;
  watcher w = {.cancel_at = N_FRAMES / 2};
  openpose_options(&o, out, &w);
  CHECK(run(&o, &res, NULL, msg, sizeof msg) == MHRFIT_ERR_CANCELLED);
  CHECK(w.calls == N_FRAMES / 2);
  struct stat st;
  CHECK(stat(th_path(out, "sequence_fit.npz"), &st) != 0);
  CHECK(stat(th_path(out, "triangulation/000099/triangulated.npz"), &st) == 0); /* triangulated before the fits */
  w = (watcher){0};
  openpose_options(&o, out, &w);
  REQUIRE(run(&o, &res, NULL, msg, sizeof msg) == MHRFIT_ERR_NONE);
  CHECK(res.n_frames == N_FRAMES && res.frames_reused == N_FRAMES / 2 && w.reused == N_FRAMES / 2);
  CHECK(res.n_fitted == N_FRAMES && res.n_statuses == 1);
  CHECK_STR(res.status_names[0], "ok");
  CHECK(res.smoothed && res.time_ingest_s == 0);
  printf("  cancelled after %d frames; the second run reused %zu fits; %zu ok\n", N_FRAMES / 2, res.frames_reused,
         res.n_fitted);
  /* the command line, uninterrupted */
  char args[4096];
  snprintf(args, sizeof args,
           "run --input %s --calib %s --cams cam_01 cam_02 cam_03 cam_04 --cam_dirs cam01_json cam02_json cam03_json "
           "cam04_json --input_format openpose --layout body25b --fps 60 --out %s --assets %s --quiet",
           trial, calib, cli_out, assets);
  int rc = th_run_cli(tmp, args);
  if (rc) fprintf(stderr, "%s\n", th_cli_log(tmp));
  REQUIRE(rc == 0);
  CHECK(stat(th_path(cli_out, "triangulation/000099/triangulated.npz"), &st) == 0);
  int compared = 0, differ = th_runs_differ(out, cli_out, N_FRAMES, NULL, &compared);
  printf("  %d files compared with mhrfit run's, %d differ\n", compared, differ);
  CHECK(differ == 0);
  /* the sequence: the layout's keypoints fitted beside the triangulated ones */
  mhrfit_error err = {0};
  mhrfit_fit_archive *a = mhrfit_fit_archive_load(th_path(out, "sequence_smoothed.npz"), &err);
  REQUIRE(a);
  CHECK(a->n_frames == N_FRAMES && a->n_pred_kp == K && a->n_kp == K && a->keypoint_names);
  if (a->keypoint_names) {
    CHECK_STR(a->keypoint_names[0], "Nose");
    CHECK_STR(a->keypoint_names[24], "RHeel");
  }
  CHECK(a->frame_names && strcmp(a->frame_names[99], "000099") == 0);
  CHECK(a->fps == 60);
  double *d = malloc(N_FRAMES * K * sizeof *d);
  size_t n = 0;
  for (size_t i = 0; d && i < N_FRAMES * K; i++) {
    const double *p = a->keypoints + 3 * i, *t = a->targets + 3 * i;
    double e = sqrt(pow(p[0] - t[0], 2) + pow(p[1] - t[1], 2) + pow(p[2] - t[2], 2));
    if (isfinite(e)) d[n++] = e;
  }
  REQUIRE(d && n > N_FRAMES * K * 9 / 10);
  qsort(d, n, sizeof *d, cmp_d);
  printf("  smoothed keypoints: median %.1f mm from the triangulated points (%zu points)\n", 1e3 * d[n / 2], n);
  CHECK(d[n / 2] < 0.020);
  free(d);
  mhrfit_fit_archive_free(a);
}

/* Per-camera arrays (F, K, 3) of the trial's keypoints: camera 3 sees nothing, frames 40..42
 * only camera 0. */
static void write_arrays(const char *dir) {
  mhrfit_error err = {0};
  mhrfit_obs_options oo = {.format = "openpose", .n_kp = K, .cam_dirs = cam_dirs};
  mhrfit_observations *obs = mhrfit_observations_load(trial, cams, 4, &oo, &err);
  REQUIRE(obs && obs->n_frames == N_FRAMES && obs->conf);
  REQUIRE(mkdir(dir, 0777) == 0);
  for (size_t v = 0; v < 4; v++) {
    const size_t shape[3] = {N_FRAMES, K, 3};
    mhrfit_array *arr = mhrfit_array_new(MHRFIT_DT_F64, 8, 3, shape, 0, &err);
    REQUIRE(arr);
    double *x = arr->data;
    for (size_t f = 0; f < N_FRAMES; f++)
      for (size_t k = 0; k < K; k++) {
        size_t i = (f * K + k) * 4 + v;
        bool hide = v == 3 || (v > 0 && f >= 40 && f <= 42);
        x[3 * (f * K + k)] = hide ? NAN : obs->uv[2 * i];
        x[3 * (f * K + k) + 1] = hide ? NAN : obs->uv[2 * i + 1];
        x[3 * (f * K + k) + 2] = hide ? 0 : obs->conf[i];
      }
    char name[64];
    snprintf(name, sizeof name, "%s.npy", cams[v]);
    REQUIRE(mhrfit_npy_save(th_path(dir, name), arr, &err));
    mhrfit_array_free(arr);
  }
  mhrfit_observations_free(obs);
}

static void test_arrays_recovery(void) {
  char in[512], out[512], msg[1024];
  snprintf(in, sizeof in, "%s/arrays", tmp);
  snprintf(out, sizeof out, "%s/arrays_run", tmp);
  write_arrays(in);
  watcher w = {0};
  mhrfit_pipeline_options o;
  openpose_options(&o, out, &w);
  o.input_dir = in;
  o.input_format = "arrays";
  o.cams = NULL; /* every calibrated camera with keypoints */
  o.n_cams = 0;
  o.cam_dirs = NULL;
  o.n_cam_dirs = 0;
  o.write_mesh = true;
  mhrfit_pipeline_result res;
  size_t n_cams = 0;
  REQUIRE(run(&o, &res, &n_cams, msg, sizeof msg) == MHRFIT_ERR_NONE);
  CHECK(n_cams == 3);
  CHECK_CONTAINS(w.last_warning, "no keypoint of camera(s) cam_04 in any frame (left out)");
  CHECK(res.recover.interpolated == 3 && res.n_fitted == N_FRAMES - 3);
  mhrfit_error err = {0};
  mhrfit_fit_archive *a = mhrfit_fit_archive_load(th_path(out, "sequence_smoothed.npz"), &err);
  REQUIRE(a);
  CHECK(a->n_pred_kp == K && a->n_vertices > 0);
  for (size_t f = 40; f <= 42; f++) {
    CHECK_STR(a->status[f], "recovered_interp");
    bool finite = true;
    for (size_t i = 0; i < 3 * K; i++) finite = finite && isfinite(a->keypoints[3 * K * f + i]);
    CHECK(finite); /* the recovered frame's 25 keypoints from its parameters */
    CHECK(isfinite(a->vertices[3 * a->n_vertices * f]));
  }
  CHECK_STR(a->status[43], "ok");
  mhrfit_fit_archive_free(a);
  a = mhrfit_fit_archive_load(th_path(out, "fit/000041/fit.npz"), &err);
  REQUIRE(a);
  CHECK_STR(a->status[0], "missing_views");
  CHECK_CONTAINS(a->message[0], "1 of 3 cameras have keypoints in frame 000041, 2 needed (--min_views)");
  mhrfit_fit_archive_free(a);
}

/* A run that must fail in mhrfit_pipeline_new() with `type` and a message holding `needle`,
 * writing nothing. */
static void refused(const mhrfit_pipeline_options *o, mhrfit_error_type type, const char *needle) {
  mhrfit_error err = {0};
  mhrfit_pipeline *p = mhrfit_pipeline_new(o, &err);
  CHECK(!p);
  mhrfit_pipeline_free(p);
  CHECK(err.type == type);
  CHECK_CONTAINS(err.message, needle);
  struct stat st;
  CHECK(stat(o->out_dir, &st) != 0);
}

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  REQUIRE(f);
  fputs(text, f);
  fclose(f);
}

static void test_errors_before_writing(void) {
  char out[512], arrays[512];
  snprintf(out, sizeof out, "%s/never", tmp);
  snprintf(arrays, sizeof arrays, "%s/arrays", tmp);
  watcher w = {0};
  mhrfit_pipeline_options o;
  openpose_options(&o, out, &w);
  o.layout = NULL;
  refused(&o, MHRFIT_ERR_ARGUMENT, "--input_format openpose needs --layout");
  openpose_options(&o, out, &w);
  o.input_format = NULL;
  refused(&o, MHRFIT_ERR_ARGUMENT, "they need --input_format");
  openpose_options(&o, out, &w);
  o.input_format = "stage1";
  refused(&o, MHRFIT_ERR_ARGUMENT, "--input_format must be openpose, arrays or caliscope_csv");
  openpose_options(&o, out, &w);
  o.estimator = "cp {image} {output}";
  refused(&o, MHRFIT_ERR_ARGUMENT, "concern SAM 3D Body outputs");
  openpose_options(&o, out, &w);
  o.fit.freeze_lower_body = true;
  refused(&o, MHRFIT_ERR_ARGUMENT, "need SAM 3D Body views");
  openpose_options(&o, out, &w);
  o.layout = "body26";
  refused(&o, MHRFIT_ERR_ARGUMENT, "--layout: ");
  openpose_options(&o, out, &w);
  o.n_cam_dirs = 3;
  refused(&o, MHRFIT_ERR_ARGUMENT, "--cam_dirs: one folder per camera");
  /* arrays of 25 keypoints read as COCO's 17 */
  openpose_options(&o, out, &w);
  o.input_dir = arrays;
  o.input_format = "arrays";
  o.cam_dirs = NULL;
  o.n_cam_dirs = 0;
  o.layout = "coco17";
  refused(&o, MHRFIT_ERR_FORMAT, "cam_01.npy");
  /* no layout: names and a map */
  o.layout = NULL;
  refused(&o, MHRFIT_ERR_ARGUMENT, "without --layout needs --keypoint_map");
  char names[512], map[512];
  snprintf(names, sizeof names, "%s/names.txt", tmp);
  snprintf(map, sizeof map, "%s/map.json", tmp);
  write_text(names, "a\nb\nc\n");
  write_text(map, "{\"a\": \"l_uparm\"}");
  o.keypoint_names = names;
  o.keypoint_map = map;
  refused(&o, MHRFIT_ERR_FORMAT, "lists 3 names but the input has 25 keypoints");
  /* a map with a typo; a map leaving too few keypoints */
  o.keypoint_names = NULL;
  o.layout = "body25b";
  write_text(map, "{\"LHip\": \"l_uplegg\"}");
  refused(&o, MHRFIT_ERR_FORMAT, "no MHR joint named 'l_uplegg'");
  write_text(map, "{\"Nose\": null, \"LEye\": null, \"REye\": null, \"LEar\": null, \"REar\": null, \"LElbow\": null, "
                  "\"RElbow\": null, \"LWrist\": null, \"RWrist\": null, \"LKnee\": null, \"RKnee\": null, \"LAnkle\": "
                  "null, \"RAnkle\": null, \"Neck\": null, \"Head\": null, \"LBigToe\": null, \"LSmallToe\": null, "
                  "\"LHeel\": null, \"RBigToe\": null, \"RSmallToe\": null, \"RHeel\": null}");
  refused(&o, MHRFIT_ERR_ARGUMENT, "4 keypoints have an MHR counterpart (min_valid_points is 6)");
}

int main(void) {
  RUN(setup);
  if (tmp[0]) {
    RUN(test_openpose_resume_equals_cli);
    RUN(test_arrays_recovery);
    RUN(test_errors_before_writing);
  }
  if (tmp[0] && !getenv("MHRFIT_KEEP_TMP")) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
  }
  return test_report();
}
