/* Stage-3 files and `mhrfit fit` end to end: triangulation and fit archives round-trip; the
 * command fits a single frame and a batch written from real SAM 3D Body parameters, with a
 * missing camera, a camera with non-finite parameters, a frame without targets, the temporal
 * prior, --freeze_lower_body, --debug_dir and usage errors. Geometry in fit.npz is checked
 * against FK of its own parameters. */
#include "harness.h"
#include "fit_checks.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mhrfit/fit_io.h"
#include "mhrfit/keypoints.h"
#include "mhrfit/layout.h"
#include "mhrfit/npy.h"
#include "mhrfit/param_sets.h"
#include "mhrfit/rig.h"
#include "mhrfit/sam3d.h"
#include "mhrfit/value.h"

static mhrfit_rig *rig;
static double R[127 * 9], T[127 * 3], S[127];
static mhrfit_fk_pose pose = {R, T, S};
static char tmp[256];

static unsigned long long rng = 0x9E3779B97F4A7C15ull;
static double urand(void) {
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return (double)(rng >> 11) / 9007199254740992.0;
}
static double nrand(void) { return sqrt(-2 * log(urand() + 1e-300)) * cos(6.283185307179586 * urand()); }

static const char *tmp_path(const char *rel) { return th_path(tmp, rel); }


/* ------------------------------------------------------------------ scene */

static double gt_m[204];         /* ground truth (img_subj00 pose, root zero) */
static double gt_kp[3][210];     /* world keypoints of the 3 frames */
static const char *const cams[4] = {"cam_a", "cam_b", "cam_c", "cam_d"};

/* Writes the stage-1 file of camera `cam` in `dir` from test subject `subj` with the ground
 * truth's scales (the same person), or with NaN parameters when `broken`. */
static bool write_view(const char *dir, const char *cam, int subj, bool broken) {
  char rel[128], path[4096];
  snprintf(rel, sizeof rel, "mhr_sam3d_body_outputs/img_subj%02d.npz", subj);
  mhrfit_error err = {0};
  mhrfit_value *d = mhrfit_npz_load(TESTDATA(rel), NULL, &err);
  if (!d) return false;
  mhrfit_value *mp = mhrfit_value_dict_get_mut(d, "mhr_model_params");
  float *p = mp->u.array->data;
  for (int i = 130; i < 204; i++) p[i] = (float)gt_m[i];
  if (broken) p[40] = NAN;
  snprintf(path, sizeof path, "%s/%s.npz", dir, cam);
  bool ok = mhrfit_npz_save_dict(path, d, true, &err);
  mhrfit_value_free(d);
  return ok;
}

/* A scene of 3 frames: the ground truth moved by a translation per frame, 1 mm noise, all
 * cameras inliers; frame 2 has no finite target when `empty_last`. */
static mhrfit_tri_archive *make_tri(size_t F, bool empty_last) {
  mhrfit_error err = {0};
  const mhrfit_layout *mhr70 = mhrfit_layout_get("mhr70", &err);
  mhrfit_tri_archive *a = mhrfit_tri_archive_new(F, 70, 3, mhr70->names, cams, &err);
  if (!a) return NULL;
  for (size_t f = 0; f < F; f++)
    for (int k = 0; k < 70; k++) {
      for (int c = 0; c < 3; c++) {
        double x = gt_kp[f][3 * k + c] + 0.001 * nrand();
        a->points[3 * (70 * f + k) + c] = empty_last && f == F - 1 ? NAN : x;
      }
      for (int v = 0; v < 3; v++) {
        a->inliers[(70 * f + k) * 3 + v] = 1;
        a->reproj_err[(70 * f + k) * 3 + v] = 1.0 + v;
      }
    }
  a->frame_axis = F > 1;
  mhrfit_tri_archive_update_mean(a);
  return a;
}

static void setup(void) {
  mhrfit_error err = {0};
  rig = mhrfit_rig_load(th_env_or("MHRFIT_ASSETS", "../shared/mhr"), -1, &err);
  if (!rig) fprintf(stderr, "%s\n", err.message);
  REQUIRE(rig);
  snprintf(tmp, sizeof tmp, "/tmp/mhrfit_fit_io_XXXXXX");
  REQUIRE(mkdtemp(tmp));
  mhrfit_value *d = mhrfit_npz_load(TESTDATA("mhr_sam3d_body_outputs/img_subj00.npz"), NULL, &err);
  REQUIRE(d);
  REQUIRE(mhrfit_sam3d_model_params(d, gt_m, NULL, &err));
  double kp[210], native[210];
  const mhrfit_array *k3 = mhrfit_value_dict_get(d, "pred_keypoints_3d")->u.array;
  for (int i = 0; i < 210; i++) kp[i] = mhrfit_array_get_f64(k3, (size_t)i);
  mhrfit_value_free(d);
  mhrfit_kpmap *map = mhrfit_kpmap_new_mhr70(rig, &err);
  REQUIRE(map);
  for (int k = 0; k < 70; k++) mhrfit_sam3d_to_mhr(kp + 3 * k, native + 3 * k);
  REQUIRE(mhrfit_rig_fk(rig, gt_m, &pose, NULL, &err));
  REQUIRE(mhrfit_kpmap_calibrate_markers(map, rig, &pose, native, &err) >= 0);
  for (int i = 0; i < 6; i++) gt_m[i] = 0;
  REQUIRE(mhrfit_rig_fk(rig, gt_m, &pose, NULL, &err));
  double cm[210];
  mhrfit_kpmap_eval(map, &pose, cm);
  mhrfit_kpmap_free(map);
  for (int f = 0; f < 3; f++)
    for (int k = 0; k < 70; k++) {
      double q[3];
      mhrfit_mhr_to_sam3d(cm + 3 * k, q);
      /* world: SAM axes rotated 180 degrees about x (y up), 1.1 m scale, 2.5 m away, moving 2 cm/frame */
      gt_kp[f][3 * k] = 1.1 * q[0] + 0.02 * f;
      gt_kp[f][3 * k + 1] = -1.1 * q[1] + 0.9;
      gt_kp[f][3 * k + 2] = -1.1 * q[2] + 2.5;
    }
  /* views: one frame flat in tmp/one, three frames in tmp/seq/000..002 */
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/one", tmp);
  mkdir(dir, 0777);
  REQUIRE(write_view(dir, "cam_a", 1, false) && write_view(dir, "cam_b", 2, false) &&
          write_view(dir, "cam_d", 1, true)); /* cam_c missing */
  snprintf(dir, sizeof dir, "%s/seq", tmp);
  mkdir(dir, 0777);
  for (int f = 0; f < 3; f++) {
    snprintf(dir, sizeof dir, "%s/seq/%03d", tmp, f);
    mkdir(dir, 0777);
    REQUIRE(write_view(dir, "cam_a", 1, false) && write_view(dir, "cam_b", 2, false) &&
            write_view(dir, "cam_c", 1, f == 1));
  }
  mhrfit_tri_archive *one = make_tri(1, false), *seq = make_tri(3, true);
  REQUIRE(one && seq);
  REQUIRE(mhrfit_tri_archive_save(tmp_path("one.npz"), one, &err));
  REQUIRE(mhrfit_tri_archive_save(tmp_path("seq.npz"), seq, &err));
  mhrfit_tri_archive_free(one);
  mhrfit_tri_archive_free(seq);
}

/* ------------------------------------------------------------------ tests */

static void test_tri_archive_roundtrip(void) {
  mhrfit_error err = {0};
  mhrfit_tri_archive *a = mhrfit_tri_archive_load(tmp_path("seq.npz"), &err);
  if (!a) fprintf(stderr, "%s\n", err.message);
  REQUIRE(a);
  CHECK(a->n_frames == 3 && a->n_kp == 70 && a->n_views == 3 && a->frame_axis);
  CHECK_STR(a->cams[2], "cam_c");
  CHECK_STR(a->subset_names[69], "neck");
  CHECK(isnan(a->points[3 * (2 * 70 + 5)]));
  CHECK_NEAR(a->points[0], gt_kp[0][0], 0.01);
  CHECK_NEAR(a->mean_px[1], 2.0, 1e-6);
  mhrfit_tri_archive_free(a);
  a = mhrfit_tri_archive_load(tmp_path("one.npz"), &err);
  REQUIRE(a);
  CHECK(a->n_frames == 1 && !a->frame_axis);
  mhrfit_tri_archive_free(a);
  /* not a triangulation archive: names the file and the member */
  CHECK(!mhrfit_tri_archive_load(TESTDATA("mhr_sam3d_body_outputs/img_subj00.npz"), &err));
  CHECK_CONTAINS(err.message, "points3d_refined");
  CHECK_CONTAINS(err.message, "img_subj00.npz");
}

static void check_geometry(const mhrfit_fit_archive *a, size_t f) {
  double worst = th_joints_vs_fk(rig, a, f);
  printf("  frame %zu: joints vs FK of the stored parameters: max %.2g m\n", f, worst);
  CHECK(worst < 2e-4); /* float32 parameters and geometry */
}

static double kp_rms(const mhrfit_fit_archive *a, size_t f) {
  double s = 0;
  int n = 0;
  for (int k = 0; k < 70; k++)
    if (isfinite(a->keypoints[210 * f + 3 * k]))
      for (int c = 0; c < 3; c++, n++) s += pow(a->keypoints[210 * f + 3 * k + c] - gt_kp[f][3 * k + c], 2);
  return n ? sqrt(3 * s / n) : INFINITY;
}

static void test_cli_single_frame(void) {
  char args[4096];
  snprintf(args, sizeof args, "fit --tri %s/one.npz --views %s/one --cams cam_a cam_b cam_c cam_d --out %s/fit1.npz "
           "--debug_dir %s/debug", tmp, tmp, tmp, tmp);
  int rc = th_run_cli(tmp, args);
  const char *log = th_cli_log(tmp);
  if (rc) fprintf(stderr, "%s\n", log);
  REQUIRE(rc == 0);
  CHECK_CONTAINS(log, "camera 'cam_c' not used");
  CHECK_CONTAINS(log, "camera 'cam_d' not used: 'mhr_model_params'[40] is not finite");
  mhrfit_error err = {0};
  mhrfit_fit_archive *a = mhrfit_fit_archive_load(tmp_path("fit1.npz"), &err);
  if (!a) fprintf(stderr, "%s\n", err.message);
  REQUIRE(a);
  CHECK(a->n_frames == 1 && !a->frame_axis && a->n_views == 4 && a->n_joints == 127);
  CHECK(a->n_vertices == rig->n_vertices);
  CHECK_STR(a->status[0], "ok");
  CHECK(strcmp(a->init_cam[0], "cam_a") == 0 || strcmp(a->init_cam[0], "cam_b") == 0);
  CHECK(a->view_skipped[2] == 1 && a->view_skipped[3] == 1 && a->view_skipped[0] == 0);
  CHECK(a->counts[2] == 70);
  double rms = kp_rms(a, 0);
  printf("  single frame: init %s, %d iterations, data loss %.3g -> %.3g, keypoint RMS to truth %.2f mm\n",
         a->init_cam[0], a->counts[0], a->losses[3], a->losses[5], 1000 * rms);
  CHECK(rms < 0.02);
  CHECK(a->losses[5] < a->losses[3]);
  check_geometry(a, 0);
  /* debug files */
  FILE *fp = fopen(tmp_path("debug/frame/residuals.tsv"), "r");
  int lines = 0;
  for (int ch; fp && (ch = fgetc(fp)) != EOF;) lines += ch == '\n';
  if (fp) fclose(fp);
  CHECK(lines == 71);
  fp = fopen(tmp_path("debug/frame/loss_curve.svg"), "r");
  char svg[8192] = {0};
  if (fp) {
    size_t n = fread(svg, 1, sizeof svg - 1, fp);
    svg[n] = '\0';
    fclose(fp);
  }
  CHECK_CONTAINS(svg, "<polyline");
  mhrfit_fit_archive_free(a);
}

static void test_cli_batch_freeze_lower_body(void) {
  char args[4096];
  snprintf(args, sizeof args, "fit --tri %s/seq.npz --views %s/seq --out %s/fit3.npz --freeze_lower_body --no_mesh",
           tmp, tmp, tmp);
  int rc = th_run_cli(tmp, args);
  const char *log = th_cli_log(tmp);
  if (rc) fprintf(stderr, "%s\n", log);
  REQUIRE(rc == 0); /* one frame failing does not fail the batch */
  CHECK_CONTAINS(log, "frame 002 failed");
  mhrfit_error err = {0};
  mhrfit_fit_archive *a = mhrfit_fit_archive_load(tmp_path("fit3.npz"), &err);
  REQUIRE(a);
  CHECK(a->n_frames == 3 && a->frame_axis && a->n_vertices == 0);
  CHECK_STR(a->status[0], "ok");
  CHECK_STR(a->status[1], "ok");
  CHECK_STR(a->status[2], "optimization_failed");
  CHECK_CONTAINS(a->message[2], "insufficient finite points: 0 of 70");
  CHECK(a->freeze_lower_body);
  CHECK(a->counts[6 * 0 + 4] == 0 && a->counts[6 * 1 + 4] == 1); /* temporal prior from frame 1 on */
  CHECK(a->view_skipped[3 * 1 + 2] == 1);                       /* cam_c broken in frame 1 */
  for (int i = 0; i < 204; i++) CHECK(isnan(a->model_params[204 * 2 + i]));
  CHECK(isnan(a->keypoints[210 * 2]));
  /* frozen lower body: frame 0 keeps the initial view's values (float32 in both files), frame 1
   * the previous frame's */
  const int *idx;
  size_t n;
  REQUIRE(mhrfit_param_set_get(MHRFIT_SET_LOWER_BODY, 204, &idx, &n, &err));
  char vpath[4096];
  snprintf(vpath, sizeof vpath, "%s/seq/000/%s.npz", tmp, a->init_cam[0]);
  mhrfit_value *d = mhrfit_npz_load(vpath, NULL, &err);
  REQUIRE(d);
  double view_m[204];
  REQUIRE(mhrfit_sam3d_model_params(d, view_m, NULL, &err));
  mhrfit_value_free(d);
  int same0 = 0, same1 = 0, body = 0;
  for (size_t i = 0; i < n; i++) {
    int p = idx[i];
    if (p < 6 || p >= 136) continue;
    body++;
    same0 += (float)a->model_params[p] == (float)view_m[p];
    same1 += a->model_params[204 + p] == a->model_params[p];
  }
  printf("  batch --freeze_lower_body: %d/%d lower-body dims equal the initial view (frame 0), %d/%d equal frame 0 "
         "(frame 1); RMS to truth %.2f / %.2f mm\n",
         same0, body, same1, body, 1000 * kp_rms(a, 0), 1000 * kp_rms(a, 1));
  CHECK(body > 0 && same0 == body && same1 == body);
  check_geometry(a, 1);
  mhrfit_fit_archive_free(a);
}

static void test_fit_archive_roundtrip(void) {
  mhrfit_error err = {0};
  mhrfit_fit_archive *a = mhrfit_fit_archive_load(tmp_path("fit3.npz"), &err);
  REQUIRE(a);
  REQUIRE(mhrfit_fit_archive_save(tmp_path("fit3b.npz"), a, &err));
  mhrfit_fit_archive *b = mhrfit_fit_archive_load(tmp_path("fit3b.npz"), &err);
  REQUIRE(b);
  CHECK(b->n_frames == a->n_frames && b->n_kp == a->n_kp && b->n_hist == a->n_hist);
  int diff = 0;
  for (size_t i = 0; i < a->n_frames * 204; i++)
    diff += !(a->model_params[i] == b->model_params[i] || (isnan(a->model_params[i]) && isnan(b->model_params[i])));
  for (size_t i = 0; i < a->n_frames * 6; i++) diff += a->counts[i] != b->counts[i];
  for (size_t i = 0; i < a->n_frames * 13; i++)
    diff += !(a->sim_out[i] == b->sim_out[i] || (isnan(a->sim_out[i]) && isnan(b->sim_out[i])));
  CHECK(diff == 0);
  CHECK_STR(b->status[2], "optimization_failed");
  CHECK_STR(b->message[2], a->message[2]);
  CHECK_STR(b->solver, "lm");
  mhrfit_fit_archive_free(a);
  mhrfit_fit_archive_free(b);
}

/* The prior rule of fit.h on its own. */
static void test_prior_rule(void) {
  mhrfit_fit_prior p;
  double init[204];
  for (int i = 0; i < 204; i++) init[i] = 0.001 * i;
  mhrfit_fit_prior_init(&p, 2, NULL);
  CHECK(!mhrfit_fit_prior_used(&p, 0));
  mhrfit_fit_prior_init(&p, 2, init);
  CHECK(mhrfit_fit_prior_used(&p, 0) && mhrfit_fit_prior_used(&p, 1000)); /* an initial pose never goes stale */
  mhrfit_fit_frame fr = {0};
  mhrfit_fit_prior_apply(&p, 5, &fr);
  CHECK(fr.prev_model_params == p.model_params && fr.prev_similarity == NULL && fr.prev_model_params[7] == init[7]);
  mhrfit_fit_result res = {0};
  res.status = MHRFIT_FIT_BAD_LOSS;
  res.model_params[7] = 42;
  mhrfit_fit_prior_update(&p, 3, &res); /* a bad frame leaves the prior */
  CHECK(p.frame == -1 && p.model_params[7] == init[7]);
  res.status = MHRFIT_FIT_OK;
  res.sim_out.s = 1.5;
  mhrfit_fit_prior_update(&p, 3, &res);
  CHECK(p.frame == 3 && p.model_params[7] == 42 && p.have_sim && p.sim.s == 1.5);
  CHECK(mhrfit_fit_prior_used(&p, 5) && !mhrfit_fit_prior_used(&p, 6)); /* n - p <= 2 */
  mhrfit_fit_prior_apply(&p, 5, &fr);
  CHECK(fr.prev_similarity == &p.sim);
  mhrfit_fit_prior_apply(&p, 6, &fr);
  CHECK(fr.prev_model_params == NULL && fr.prev_similarity == NULL);
}

typedef struct {
  char log[8192];
  size_t calls, last_ok, last_failed;
} batch_seen;

static void seen_warning(void *user, const char *msg) {
  batch_seen *s = user;
  size_t n = strlen(s->log);
  snprintf(s->log + n, sizeof s->log - n, "%s\n", msg);
}

static void seen_frame(void *user, const mhrfit_fit_batch_progress *p) {
  batch_seen *s = user;
  s->calls++;
  s->last_ok = p->n_ok;
  s->last_failed = p->n_failed;
}

/* The batch of `mhrfit fit` as a library call: the same archive as the command's, its warnings
 * and progress through the callbacks; a sequence frame by frame with another staleness. */
static void test_batch_and_sequence(void) {
  mhrfit_error err = {0};
  mhrfit_tri_archive *tri = mhrfit_tri_archive_load(tmp_path("seq.npz"), &err);
  REQUIRE(tri);
  batch_seen seen = {0};
  mhrfit_fit_batch_options bo;
  mhrfit_fit_batch_options_init(&bo);
  CHECK(bo.allow_missing_views && bo.max_stale_frames == 40 && !bo.no_mesh);
  bo.no_mesh = true;
  bo.on_warning = seen_warning;
  bo.on_frame = seen_frame;
  bo.user = &seen;
  /* as many frame folders as frames are needed */
  CHECK(!mhrfit_fit_batch_new(tri, tmp_path("one"), &bo, &err));
  CHECK_CONTAINS(err.message, "3 frame(s) but the folder has 0 frame sub-folder(s)");
  mhrfit_fit_batch *b = mhrfit_fit_batch_new(tri, tmp_path("seq"), &bo, &err);
  REQUIRE(b);
  CHECK(mhrfit_fit_batch_n_frames(b) == 3);
  mhrfit_fit_options fo;
  mhrfit_fit_options_init(&fo);
  fo.freeze_lower_body = true;
  CHECK(mhrfit_fit_options_iter_cap(&fo) == 50);
  mhrfit_fit_batch_progress sum;
  mhrfit_fit_archive *a = mhrfit_fit_batch_process(b, rig, &fo, &sum, &err);
  if (!a) fprintf(stderr, "%s\n", err.message);
  REQUIRE(a);
  CHECK(seen.calls == 3 && seen.last_ok == 2 && seen.last_failed == 1);
  CHECK(sum.n_ok == 2 && sum.n_bad == 0 && sum.n_failed == 1 && sum.n_frames == 3 && sum.solver_seconds > 0);
  CHECK_CONTAINS(seen.log, "camera 'cam_c' not used: 'mhr_model_params'[40] is not finite");
  CHECK_CONTAINS(seen.log, "frame 002 failed: ");
  CHECK(a->n_hist == 50 && a->frame_axis && a->n_vertices == 0);
  /* byte for byte the archive `mhrfit fit` wrote with the same settings (test_cli_batch_freeze_lower_body) */
  REQUIRE(mhrfit_fit_archive_save(tmp_path("fit3_lib.npz"), a, &err));
  CHECK(th_same_file(tmp_path("fit3_lib.npz"), tmp_path("fit3.npz")));
  mhrfit_fit_batch_free(b);
  /* a sequence, frame by frame, with max_stale_frames 0: the prior of frame 0 is stale for frame 1 */
  mhrfit_fitter *fitter = mhrfit_fitter_new(rig, NULL, &fo, &err);
  REQUIRE(fitter);
  CHECK(!mhrfit_fit_sequence_new(fitter, -1, NULL, &err) && err.type == MHRFIT_ERR_ARGUMENT);
  mhrfit_fit_sequence *seq = mhrfit_fit_sequence_new(fitter, 0, NULL, &err);
  REQUIRE(seq);
  mhrfit_fit_archive *b2 = mhrfit_fit_archive_new(3, 70, 3, rig->n_joints, 0, 50, cams, &err);
  REQUIRE(b2);
  mhrfit_fit_step step;
  for (size_t f = 0; f < 3; f++) {
    char dir[64];
    snprintf(dir, sizeof dir, "seq/%03zu", f);
    mhrfit_fit_viewset *vs = mhrfit_fit_viewset_load(tmp_path(dir), cams, 3, 0, true, &err);
    REQUIRE(vs);
    CHECK(mhrfit_fit_sequence_process(seq, tri, f, vs, b2, f, &step, &err));
    CHECK(step.fitted == (f < 2));
    mhrfit_fit_viewset_free(vs);
  }
  CHECK_CONTAINS(step.why.message, "insufficient finite points");
  CHECK_STR(b2->status[2], "optimization_failed");
  CHECK_STR(b2->message[2], a->message[2]);
  CHECK(b2->counts[6 * 1 + 4] == 0 && a->counts[6 * 1 + 4] == 1); /* temporal init: stale here, used by the batch */
  CHECK(mhrfit_fit_sequence_prior(seq)->frame == 1 && mhrfit_fit_sequence_prior(seq)->have_params);
  CHECK(!mhrfit_fit_sequence_process(seq, tri, 3, NULL, b2, 0, &step, &err) && err.type == MHRFIT_ERR_ARGUMENT);
  CHECK(!mhrfit_fit_sequence_process(seq, tri, 0, NULL, b2, 3, &step, &err) && err.type == MHRFIT_ERR_ARGUMENT);
  mhrfit_fit_sequence_reset(seq);
  CHECK(!mhrfit_fit_sequence_prior(seq)->have_params);
  mhrfit_fit_sequence_free(seq);
  mhrfit_fitter_free(fitter);
  mhrfit_fit_archive_free(b2);
  mhrfit_fit_archive_free(a);
  mhrfit_tri_archive_free(tri);
}

/* --init_pose files: a stage-1 file, body_pose_params alone, a fit.npz whose last frame failed,
 * another size. */
static void test_init_pose_files(void) {
  mhrfit_error err = {0};
  double m[204];
  REQUIRE(mhrfit_fit_init_pose_load(tmp_path("seq/000/cam_a.npz"), m, &err));
  mhrfit_value *d = mhrfit_npz_load(tmp_path("seq/000/cam_a.npz"), NULL, &err);
  REQUIRE(d);
  const mhrfit_array *mp = mhrfit_value_dict_get(d, "mhr_model_params")->u.array;
  int same = 0;
  for (int i = 0; i < 204; i++) same += m[i] == mhrfit_array_get_f64(mp, (size_t)i);
  CHECK(same == 204);
  size_t shape[1] = {133};
  mhrfit_array *bp = mhrfit_array_new(MHRFIT_DT_F64, 8, 1, shape, 0, &err);
  REQUIRE(bp);
  for (int i = 0; i < 133; i++) ((double *)bp->data)[i] = 0.01 * (i + 1);
  REQUIRE(mhrfit_npy_save(tmp_path("bp.npy"), bp, &err));
  REQUIRE(mhrfit_fit_init_pose_load(tmp_path("bp.npy"), m, &err));
  CHECK(m[5] == 0 && m[6] == 0.01 && m[135] == 0.01 * 130 && m[136] == 0);
  mhrfit_array_free(bp);
  mhrfit_value_free(d);
  CHECK(!mhrfit_fit_init_pose_load(tmp_path("fit3.npz"), m, &err) && err.type == MHRFIT_ERR_NUMERIC);
  CHECK_CONTAINS(err.message, "fit3.npz: --init_pose value 0 is not finite");
  CHECK(!mhrfit_fit_init_pose_load(tmp_path("seq.npz"), m, &err) && err.type == MHRFIT_ERR_FORMAT);
  CHECK_CONTAINS(err.message, "'mhr_model_params' (204) or 'body_pose_params' (133)");
}

static void test_cli_errors(void) {
  char args[4096];
  CHECK(th_run_cli(tmp, "fit --views x --out y") == 2);
  CHECK_CONTAINS(th_cli_log(tmp), "--tri");
  snprintf(args, sizeof args, "fit --tri %s/one.npz --views %s/one --out %s/x.npz --solver bfgs", tmp, tmp, tmp);
  CHECK(th_run_cli(tmp, args) == 2);
  CHECK_CONTAINS(th_cli_log(tmp), "--solver must be lm or adam");
  /* batch triangulation against a single-frame views folder */
  snprintf(args, sizeof args, "fit --tri %s/seq.npz --views %s/one --out %s/x.npz", tmp, tmp, tmp);
  CHECK(th_run_cli(tmp, args) == 1);
  CHECK_CONTAINS(th_cli_log(tmp), "3 frame(s)");
  /* a missing camera when missing views are not allowed */
  snprintf(args, sizeof args, "fit --tri %s/one.npz --views %s/one --cams cam_a cam_c --no_allow_missing_views "
           "--out %s/x.npz", tmp, tmp, tmp);
  CHECK(th_run_cli(tmp, args) == 1);
  CHECK_CONTAINS(th_cli_log(tmp), "camera 'cam_c'");
  /* a triangulation of another layout */
  mhrfit_error err = {0};
  const mhrfit_layout *b25 = mhrfit_layout_get("body25b", &err);
  mhrfit_tri_archive *t = mhrfit_tri_archive_new(1, 25, 2, b25->names, cams, &err);
  REQUIRE(t);
  t->frame_axis = false;
  REQUIRE(mhrfit_tri_archive_save(tmp_path("b25.npz"), t, &err));
  mhrfit_tri_archive_free(t);
  snprintf(args, sizeof args, "fit --tri %s/b25.npz --views %s/one --out %s/x.npz", tmp, tmp, tmp);
  CHECK(th_run_cli(tmp, args) == 1);
  CHECK_CONTAINS(th_cli_log(tmp), "mhr70 layout");
  struct stat st;
  CHECK(stat(tmp_path("x.npz"), &st) != 0); /* nothing written on failure */
}

int main(void) {
  RUN(setup);
  if (rig) {
    RUN(test_tri_archive_roundtrip);
    RUN(test_cli_single_frame);
    RUN(test_cli_batch_freeze_lower_body);
    RUN(test_fit_archive_roundtrip);
    RUN(test_prior_rule);
    RUN(test_batch_and_sequence);
    RUN(test_init_pose_files);
    RUN(test_cli_errors);
  }
  if (tmp[0] && !getenv("MHRFIT_KEEP_TMP")) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
  }
  mhrfit_rig_free(rig);
  return test_report();
}
