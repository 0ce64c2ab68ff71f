/* The pipeline as a library call (pipeline.h) on a demo capture: a run cancelled from its
 * progress callback during stage 1, another cancelled half-way through the frames, a third that
 * finishes; the files then equal those of `mhrfit run` on the same capture, byte for byte
 * (JSON: minus timings and the reuse flags). Options are checked before anything is written. */
#include "harness.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mhrfit/demo.h"
#include "mhrfit/json.h"
#include "mhrfit/pipeline.h"
#include "mhrfit/value.h"

static char tmp[256];
static const char *assets;
static const char *const cams[4] = {"cam_0", "cam_1", "cam_2", "cam_3"};
enum { N_FRAMES = 24 };

static void setup(void) {
  snprintf(tmp, sizeof tmp, "/tmp/mhrfit_pipeline_XXXXXX");
  REQUIRE(mkdtemp(tmp));
  assets = th_env_or("MHRFIT_ASSETS", "../shared/mhr");
  mhrfit_demo_options o;
  mhrfit_demo_options_init(&o);
  o.assets = assets;
  o.n_frames = N_FRAMES;
  o.seed = 5;
  mhrfit_error err = {0};
  bool ok = mhrfit_demo_write(th_path(tmp, "capture"), &o, NULL, &err);
  if (!ok) fprintf(stderr, "%s\n", err.message);
  REQUIRE(ok);
}

/* What the progress callback saw and when it cancels. */
typedef struct watcher {
  volatile sig_atomic_t cancel;
  mhrfit_pipeline_stage cancel_stage;
  size_t cancel_at;              /* frames done in cancel_stage; 0 = never */
  size_t calls[2], last_done[2]; /* per stage */
  size_t reused;                 /* reported by the last FRAMES call */
  bool ordered;                  /* done grew by one per call */
  int n_info;
} watcher;

static void on_progress(void *user, const mhrfit_pipeline_progress *p) {
  watcher *w = user;
  int s = p->stage == MHRFIT_PIPELINE_STAGE_INGEST ? 0 : 1;
  if (p->done != w->last_done[s] + 1 || p->total != N_FRAMES) w->ordered = false;
  w->calls[s]++;
  w->last_done[s] = p->done;
  if (s == 1) w->reused = p->reused;
  if (w->cancel_at && p->stage == w->cancel_stage && p->done == w->cancel_at) w->cancel = 1;
}

static void on_log(void *user, mhrfit_pipeline_log_level level, const char *msg) {
  watcher *w = user;
  if (level == MHRFIT_PIPELINE_INFO) w->n_info++;
  else printf("  log: %s\n", msg);
}

static void options(mhrfit_pipeline_options *o, const char *out, watcher *w) {
  static char input[512], calib[512];
  snprintf(input, sizeof input, "%s/capture", tmp);
  snprintf(calib, sizeof calib, "%s/capture/calibration.toml", tmp);
  mhrfit_pipeline_options_init(o);
  o->input_dir = input;
  o->calib_path = calib;
  o->out_dir = out;
  o->cams = cams;
  o->n_cams = 4;
  o->rig_path = assets;
  o->write_mesh = false;
  o->progress = on_progress;
  o->log = on_log;
  o->user = w;
  o->cancel = &w->cancel;
}

/* One pipeline run into `out`; returns the error type (MHRFIT_ERR_NONE on success). */
static mhrfit_error_type run(const char *out, watcher *w, mhrfit_pipeline_result *res) {
  memset(w->last_done, 0, sizeof w->last_done);
  w->ordered = true;
  mhrfit_pipeline_options o;
  options(&o, out, w);
  mhrfit_error err = {0};
  mhrfit_pipeline *p = mhrfit_pipeline_new(&o, &err);
  if (!p) fprintf(stderr, "  new: %s\n", err.message);
  bool ok = p && mhrfit_pipeline_run(p, res, &err);
  if (!ok) printf("  run stopped: %s\n", err.message);
  if (ok) CHECK(!mhrfit_pipeline_run(p, NULL, NULL)); /* a pipeline runs once */
  mhrfit_pipeline_free(p);
  return ok ? MHRFIT_ERR_NONE : err.type;
}


/* The compact JSON text of a value (malloc'd). */
static char *json_text(const mhrfit_value *v) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (!f) return NULL;
  bool ok = mhrfit_value_write_json(v, f, 0, NULL);
  fclose(f);
  if (!ok) {
    free(text);
    return NULL;
  }
  return text;
}

/* Removes the members that differ between equal runs: timings, the reuse flags. */
static void strip_summary(mhrfit_value *s) {
  const mhrfit_value *t = mhrfit_value_dict_get(s, "timing");
  REQUIRE(t && t->kind == MHRFIT_V_DICT);
  REQUIRE(mhrfit_value_dict_set(s, "timing", mhrfit_value_new_null(NULL), NULL));
  REQUIRE(mhrfit_value_dict_set(s, "output_root", mhrfit_value_new_null(NULL), NULL));
  mhrfit_value *frames = mhrfit_value_dict_get_mut(s, "frames");
  REQUIRE(frames && frames->kind == MHRFIT_V_LIST && frames->u.list.count == N_FRAMES);
  for (size_t i = 0; i < frames->u.list.count; i++) {
    static const char *const keys[] = {"reused", "time_triangulate_s", "time_fit_s"};
    for (size_t k = 0; k < 3; k++) REQUIRE(mhrfit_value_dict_set(frames->u.list.items[i], keys[k], mhrfit_value_new_null(NULL), NULL));
  }
}

static void test_cancel_resume_equals_cli(void) {
  char out[512], cli_out[512];
  snprintf(out, sizeof out, "%s/api", tmp);
  snprintf(cli_out, sizeof cli_out, "%s/cli", tmp);
  mhrfit_pipeline_result res;
  struct stat st;
  /* 1: cancelled in stage 1 after 5 frames */
  watcher w = {.cancel_stage = MHRFIT_PIPELINE_STAGE_INGEST, .cancel_at = 5};
  CHECK(run(out, &w, &res) == MHRFIT_ERR_CANCELLED);
  CHECK(w.calls[0] == 5 && w.calls[1] == 0 && w.ordered);
  CHECK(stat(th_path(out, "stage1_meta.json"), &st) == 0);
  CHECK(stat(th_path(out, "run_state.txt"), &st) != 0);
  /* 2: cancelled half-way through the frames */
  w = (watcher){.cancel_stage = MHRFIT_PIPELINE_STAGE_FRAMES, .cancel_at = N_FRAMES / 2};
  CHECK(run(out, &w, &res) == MHRFIT_ERR_CANCELLED);
  CHECK(w.calls[0] == N_FRAMES && w.calls[1] == N_FRAMES / 2 && w.ordered && w.reused == 0);
  CHECK(stat(th_path(out, "sequence_summary.json"), &st) != 0);
  CHECK(stat(th_path(out, "sequence_fit.npz"), &st) != 0);
  /* 3: to the end, reusing the frames of run 2 */
  w = (watcher){0};
  REQUIRE(run(out, &w, &res) == MHRFIT_ERR_NONE);
  CHECK(w.calls[1] == N_FRAMES && w.ordered && w.reused == N_FRAMES / 2);
  CHECK(w.n_info >= 1); /* the stage-1 line */
  CHECK(res.n_frames == N_FRAMES && res.frames_reused == N_FRAMES / 2);
  size_t counted = 0;
  for (size_t i = 0; i < res.n_statuses; i++) counted += res.status_counts[i];
  CHECK(counted == N_FRAMES && res.n_statuses >= 1);
  CHECK_STR(res.status_names[0], "ok");
  CHECK(res.smoothed);
  printf("  cancelled in stage 1 after 5 frames, then after %d frames; the third run reused %zu fits\n", N_FRAMES / 2,
         res.frames_reused);
  /* the command line on the same capture, uninterrupted */
  char args[4096];
  snprintf(args, sizeof args,
           "run --input %s/capture --calib %s/capture/calibration.toml --cams cam_0 cam_1 cam_2 cam_3 --out %s "
           "--no_mesh --assets %s --quiet",
           tmp, tmp, cli_out, assets);
  int rc = th_run_cli(tmp, args);
  if (rc) fprintf(stderr, "%s\n", th_cli_log(tmp));
  REQUIRE(rc == 0);
  int compared = 0, differ = th_runs_differ(out, cli_out, N_FRAMES, "cam_1", &compared);
  printf("  %d files compared with mhrfit run's, %d differ\n", compared, differ);
  CHECK(differ == 0);
  mhrfit_error err = {0};
  mhrfit_value *a = mhrfit_json_load(th_path(out, "sequence_summary.json"), &err);
  mhrfit_value *b = mhrfit_json_load(th_path(cli_out, "sequence_summary.json"), &err);
  REQUIRE(a && b);
  strip_summary(a);
  strip_summary(b);
  char *ta = json_text(a), *tb = json_text(b);
  CHECK(ta && tb && strcmp(ta, tb) == 0);
  free(ta);
  free(tb);
  mhrfit_value_free(a);
  mhrfit_value_free(b);
}

static void test_options_checked_before_writing(void) {
  char out[512];
  snprintf(out, sizeof out, "%s/never", tmp);
  watcher w = {0};
  mhrfit_pipeline_options o;
  mhrfit_error err = {0};
  options(&o, out, &w);
  o.min_views = 1;
  CHECK(!mhrfit_pipeline_new(&o, &err) && err.type == MHRFIT_ERR_ARGUMENT);
  CHECK_CONTAINS(err.message, "min_views");
  options(&o, out, &w);
  static const char *const bad_cams[2] = {"cam_0", "cam_9"};
  o.cams = bad_cams;
  o.n_cams = 2;
  mhrfit_error_clear(&err);
  CHECK(!mhrfit_pipeline_new(&o, &err));
  CHECK_CONTAINS(err.message, "cam_9");
  options(&o, out, &w);
  o.rig_path = th_path(tmp, "no_such_assets");
  mhrfit_error_clear(&err);
  CHECK(!mhrfit_pipeline_new(&o, &err) && err.type != MHRFIT_ERR_NONE);
  struct stat st;
  CHECK(stat(out, &st) != 0); /* nothing was written */
}

int main(void) {
  RUN(setup);
  if (tmp[0]) {
    RUN(test_cancel_resume_equals_cli);
    RUN(test_options_checked_before_writing);
  }
  if (tmp[0] && !getenv("MHRFIT_KEEP_TMP")) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
  }
  return test_report();
}
