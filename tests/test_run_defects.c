/* Regression tests of issue 17 that look inside `mhrfit run`'s files, each reproducing the defect:
 *  defect 2  a rerun after an input is repaired equals a fresh run: a frame's identity includes
 *            its temporal prior's, so the change propagates forward (and only forward);
 *  defect 3  reused frames report what the first run measured (triangulated points, retries);
 *  defect 4  all-NaN keypoints: the run fails saying why instead of writing NaN sequences;
 *  defect 13 every bad_loss frame carries a message;
 * and the self-describing archives (frame names, fps, keypoint and joint names, faces, units,
 * world up). */
#include "harness.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mhrfit/demo.h"
#include "mhrfit/fit_io.h"
#include "mhrfit/json.h"
#include "mhrfit/npy.h"
#include "mhrfit/value.h"

static char tmp[256];
enum { N_FRAMES = 30 };

static void setup(void) {
  snprintf(tmp, sizeof tmp, "/tmp/mhrfit_defects_XXXXXX");
  REQUIRE(mkdtemp(tmp));
  mhrfit_demo_options o;
  mhrfit_demo_options_init(&o);
  o.assets = th_env_or("MHRFIT_ASSETS", "../shared/mhr");
  o.n_frames = N_FRAMES;
  o.seed = 9;
  mhrfit_error err = {0};
  bool ok = mhrfit_demo_write(th_path(tmp, "capture"), &o, NULL, &err);
  if (!ok) fprintf(stderr, "%s\n", err.message);
  REQUIRE(ok);
}

static int sh(const char *fmt, const char *a, const char *b) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd, fmt, a, b);
  return system(cmd);
}

/* `mhrfit run` of capture `cap` into `out` (folders under tmp) with extra options. */
static int run(const char *cap, const char *out, const char *extra) {
  char args[4096];
  snprintf(args, sizeof args, "run --input %s/%s --calib %s/capture/calibration.toml --out %s/%s --no_mesh %s", tmp, cap,
           tmp, tmp, out, extra);
  int rc = th_run_cli(tmp, args);
  if (rc) fprintf(stderr, "%s\n", th_cli_log(tmp));
  return rc;
}

/* The per-frame records of a run's summary (owned by *doc). */
static const mhrfit_value *frames_of(const char *out, mhrfit_value **doc) {
  char rel[256];
  snprintf(rel, sizeof rel, "%s/sequence_summary.json", out);
  *doc = mhrfit_json_load(th_path(tmp, rel), NULL);
  const mhrfit_value *f = *doc ? mhrfit_value_dict_get(*doc, "frames") : NULL;
  return f && f->kind == MHRFIT_V_LIST && f->u.list.count == N_FRAMES ? f : NULL;
}

static long long int_of(const mhrfit_value *frame, const char *key) {
  const mhrfit_value *v = mhrfit_value_dict_get(frame, key);
  return v && v->kind == MHRFIT_V_INT ? v->u.integer : v && v->kind == MHRFIT_V_BOOL ? v->u.boolean : -1;
}

static void test_defect02_repaired_input_propagates(void) {
  REQUIRE(sh("cp -r '%s/capture' '%s/cap2'", tmp, tmp) == 0);
  char broken[512], saved[512];
  snprintf(broken, sizeof broken, "%s/cap2/000012/cam_0.npz", tmp);
  snprintf(saved, sizeof saved, "%s/cam_0.saved", tmp);
  REQUIRE(sh("cp '%s' '%s'", broken, saved) == 0);
  REQUIRE(sh("truncate -s 100 '%s'%s", broken, "") == 0);
  REQUIRE(run("cap2", "o2", "") == 0);
  REQUIRE(sh("cp '%s' '%s'", saved, broken) == 0); /* repaired */
  REQUIRE(run("cap2", "o2", "") == 0);
  REQUIRE(run("cap2", "o2_fresh", "") == 0);
  static const char *const files[] = {"sequence_fit.npz", "sequence_smoothed.npz"};
  for (int i = 0; i < 2; i++) {
    char a[256], b[256];
    snprintf(a, sizeof a, "o2/%s", files[i]);
    snprintf(b, sizeof b, "o2_fresh/%s", files[i]);
    CHECK(th_same_file(th_path(tmp, a), th_path(tmp, b)));
  }
  /* frames before the repaired one were reused, it and every later one redone */
  mhrfit_value *doc;
  const mhrfit_value *fr = frames_of("o2", &doc);
  REQUIRE(fr);
  int reused_before = 0, redone_after = 0;
  for (size_t f = 0; f < N_FRAMES; f++) {
    bool reused = int_of(fr->u.list.items[f], "reused") == 1;
    if (f < 12) reused_before += reused;
    else redone_after += !reused;
  }
  printf("  after the repair: %d of 12 earlier frames reused, %d of %d later frames redone\n", reused_before,
         redone_after, N_FRAMES - 12);
  CHECK(reused_before == 12 && redone_after == N_FRAMES - 12);
  mhrfit_value_free(doc);
}

static void test_defect03_reused_frames_keep_their_summary(void) {
  /* frames whose final loss is above their best are bad (a growth ratio of 1): a few are retried */
  REQUIRE(run("capture", "o3", "--bad_loss_growth_ratio 1") == 0);
  mhrfit_value *first, *second;
  const mhrfit_value *a = frames_of("o3", &first);
  REQUIRE(a);
  REQUIRE(run("capture", "o3", "--bad_loss_growth_ratio 1") == 0);
  const mhrfit_value *b = frames_of("o3", &second);
  REQUIRE(b);
  int same = 0, reused = 0, retried = 0, with_points = 0, bad = 0, bad_with_message = 0;
  for (size_t f = 0; f < N_FRAMES; f++) {
    const mhrfit_value *x = a->u.list.items[f], *y = b->u.list.items[f];
    same += int_of(x, "triangulated_points") == int_of(y, "triangulated_points") &&
            int_of(x, "retried") == int_of(y, "retried");
    reused += int_of(y, "reused") == 1;
    retried += int_of(y, "retried") == 1;
    with_points += int_of(y, "triangulated_points") > 0;
    const mhrfit_value *st = mhrfit_value_dict_get(y, "fit_status"), *msg = mhrfit_value_dict_get(y, "message");
    if (st && st->kind == MHRFIT_V_STRING && strcmp(st->u.str.data, "bad_loss") == 0) {
      bad++;
      bad_with_message += msg && msg->kind == MHRFIT_V_STRING && msg->u.str.len > 0;
    }
  }
  printf("  rerun: %d frames reused, %d report the first run's points and retries, %d retried, %d bad_loss (%d "
         "with a message)\n",
         reused, same, retried, bad, bad_with_message);
  CHECK(reused == N_FRAMES && same == N_FRAMES);
  CHECK(with_points >= N_FRAMES - 2 && retried > 0);
  CHECK(bad > 0 && bad_with_message == bad); /* defect 13: no bad frame without a message */
  mhrfit_value_free(first);
  mhrfit_value_free(second);
}

/* Sets every pred_keypoints_2d value of the capture's files to NaN. */
static void blank_keypoints(const char *cap) {
  for (int f = 0; f < N_FRAMES; f++)
    for (int c = 0; c < 4; c++) {
      char rel[128];
      snprintf(rel, sizeof rel, "%s/%06d/cam_%d.npz", cap, f, c);
      const char *path = th_path(tmp, rel);
      struct stat st;
      if (stat(path, &st) != 0) continue;
      mhrfit_value *d = mhrfit_npz_load(path, NULL, NULL);
      REQUIRE(d);
      mhrfit_value *kp = mhrfit_value_dict_get_mut(d, "pred_keypoints_2d");
      REQUIRE(kp && kp->kind == MHRFIT_V_ARRAY);
      mhrfit_array *a = kp->u.array;
      for (size_t i = 0; i < a->count; i++) {
        if (a->dtype == MHRFIT_DT_F32) ((float *)a->data)[i] = NAN;
        else if (a->dtype == MHRFIT_DT_F64) ((double *)a->data)[i] = NAN;
      }
      REQUIRE(mhrfit_npz_save_dict(path, d, false, NULL));
      mhrfit_value_free(d);
    }
}

static void test_defect04_all_nan_keypoints_fail(void) {
  REQUIRE(sh("cp -r '%s/capture' '%s/cap4'", tmp, tmp) == 0);
  blank_keypoints("cap4");
  char args[1024];
  snprintf(args, sizeof args, "run --input %s/cap4 --calib %s/capture/calibration.toml --out %s/o4", tmp, tmp, tmp);
  int rc = th_run_cli(tmp, args);
  const char *log = th_cli_log(tmp);
  printf("  all-NaN keypoints: exit %d\n", rc);
  CHECK(rc == 1);
  CHECK_CONTAINS(log, "no frame of");
  CHECK_CONTAINS(log, "every 2D keypoint of the stage-1 files is NaN");
}

static void test_self_describing_archives(void) {
  char args[1024];
  snprintf(args, sizeof args, "run --input %s/capture --calib %s/capture/calibration.toml --out %s/o5 --fps 25 --mesh", tmp,
           tmp, tmp);
  REQUIRE(th_run_cli(tmp, args) == 0);
  mhrfit_error err = {0};
  mhrfit_fit_archive *a = mhrfit_fit_archive_load(th_path(tmp, "o5/sequence_smoothed.npz"), &err);
  REQUIRE(a);
  CHECK(a->frame_names && strcmp(a->frame_names[0], "000000") == 0 && strcmp(a->frame_names[N_FRAMES - 1], "000029") == 0);
  CHECK(a->fps == 25);
  CHECK(a->joint_names && a->joint_names[0][0]);
  CHECK(a->n_vertices > 0 && a->faces && a->n_faces > 0);
  CHECK_STR(a->world_up, "+y"); /* the demo's world is y up */
  mhrfit_value *d = mhrfit_npz_load(th_path(tmp, "o5/sequence_fit.npz"), NULL, &err);
  REQUIRE(d);
  const mhrfit_value *kn = mhrfit_value_dict_get(d, "keypoint_names"), *un = mhrfit_value_dict_get(d, "units");
  char name[64] = "", unit[8] = "";
  CHECK(kn && kn->kind == MHRFIT_V_ARRAY && kn->u.array->count == 70 &&
        mhrfit_array_get_string(kn->u.array, 69, name, sizeof name, NULL));
  CHECK_STR(name, "neck");
  CHECK(un && un->kind == MHRFIT_V_ARRAY && mhrfit_array_get_string(un->u.array, 0, unit, sizeof unit, NULL));
  CHECK_STR(unit, "m");
  mhrfit_value_free(d);
  /* per-frame fit.npz: no mesh (the sequence files carry it) */
  mhrfit_fit_archive *one = mhrfit_fit_archive_load(th_path(tmp, "o5/fit/000003/fit.npz"), &err);
  REQUIRE(one);
  CHECK(one->n_vertices == 0);
  mhrfit_fit_archive_free(one);
  mhrfit_fit_archive_free(a);
}

int main(void) {
  RUN(setup);
  if (tmp[0]) {
    RUN(test_defect02_repaired_input_propagates);
    RUN(test_defect03_reused_frames_keep_their_summary);
    RUN(test_defect04_all_nan_keypoints_fail);
    RUN(test_self_describing_archives);
  }
  if (tmp[0] && !getenv("MHRFIT_KEEP_TMP")) sh("rm -rf '%s'%s", tmp, "");
  return test_report();
}
