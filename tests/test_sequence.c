/* Sequences: recovery of bad and missing frames (interpolation, bounded copies at both ends —
 * defect 2), smoothing on parameters with geometry recomputed from them (defect 3), invalid
 * frames labelled and left alone (defect 4), and [ok, failed, ok] staying finite (B4). */
#include "harness.h"
#include "fit_checks.h"

#include <math.h>
#include <string.h>

#include "mhrfit/fit_io.h"
#include "mhrfit/npy.h"
#include "mhrfit/sam3d.h"
#include "mhrfit/sequence.h"

static mhrfit_rig *rig;
static mhrfit_fitter *fitter;
static double base[204];

static void setup(void) {
  mhrfit_error err = {0};
  rig = mhrfit_rig_load(th_env_or("MHRFIT_ASSETS", "../shared/mhr"), -1, &err);
  REQUIRE(rig);
  fitter = mhrfit_fitter_new(rig, NULL, NULL, &err);
  REQUIRE(fitter);
  mhrfit_value *d = mhrfit_npz_load(TESTDATA("mhr_sam3d_body_outputs/img_subj00.npz"), NULL, &err);
  REQUIRE(d);
  REQUIRE(mhrfit_sam3d_model_params(d, base, NULL, &err));
  double kp[210];
  const mhrfit_array *k3 = mhrfit_value_dict_get(d, "pred_keypoints_3d")->u.array;
  for (int i = 0; i < 210; i++) kp[i] = mhrfit_array_get_f64(k3, (size_t)i);
  mhrfit_fit_view v;
  memset(&v, 0, sizeof v);
  memcpy(v.model_params, base, sizeof base);
  v.keypoints_3d = kp;
  REQUIRE(mhrfit_fitter_lock_markers(fitter, &v, &err));
  mhrfit_value_free(d);
  for (int i = 0; i < 6; i++) base[i] = 0;
}

/* F frames; frame f: the elbow angle (param 40) = 0.05 f, translation x = 0.1 f; statuses given. */
static mhrfit_fit_archive *make(size_t F, const char *const *status) {
  mhrfit_error err = {0};
  const char *cams[1] = {"cam"};
  mhrfit_fit_archive *a = mhrfit_fit_archive_new(F, 70, 1, rig->n_joints, 0, 4, cams, &err);
  if (!a) return NULL;
  for (size_t f = 0; f < F; f++) {
    snprintf(a->status[f], sizeof a->status[f], "%s", status[f]);
    if (strcmp(status[f], "ok") != 0) continue; /* failed frames keep NaN */
    double *m = a->model_params + 204 * f, *so = a->sim_out + 13 * f;
    memcpy(m, base, sizeof base);
    m[40] = 0.05 * (double)f;
    double ang = 0.1 * (double)f, c = cos(ang), s = sin(ang);
    double Rz[9] = {c, -s, 0, s, c, 0, 0, 0, 1};
    so[0] = 1.0;
    memcpy(so + 1, Rz, sizeof Rz);
    so[10] = 0.1 * (double)f, so[11] = 0, so[12] = 2;
    for (int i = 0; i < 45; i++) a->shape_params[45 * f + i] = 0;
    mhrfit_fit_result g;
    mhrfit_similarity sim = {1.0, {0}, {so[10], so[11], so[12]}};
    memcpy(sim.R, Rz, sizeof Rz);
    if (!mhrfit_fitter_geometry(fitter, m, &sim, NULL, 0, &g, &err)) return NULL;
    memcpy(a->keypoints + 210 * f, g.keypoints, 210 * sizeof(double));
    memcpy(a->joints + 3 * rig->n_joints * f, g.joints, 3 * rig->n_joints * sizeof(double));
  }
  return a;
}


static void test_recover_interp_and_both_edges(void) {
  const char *st[9] = {"optimization_failed", "ok", "ok", "bad_loss", "triangulation_failed",
                       "ok", "ok", "missing_views", "not_run"};
  mhrfit_fit_archive *a = make(9, st);
  REQUIRE(a);
  mhrfit_error err = {0};
  mhrfit_recover_report rep;
  REQUIRE(mhrfit_sequence_recover(a, fitter, 15, &rep, &err));
  CHECK(rep.interpolated == 2 && rep.copied == 3 && rep.unrecovered == 0);
  CHECK_STR(a->status[0], "recovered_copy"); /* before the first good frame: the original skipped this edge */
  CHECK_STR(a->status[3], "recovered_interp");
  CHECK_STR(a->status[8], "recovered_copy");
  CHECK_CONTAINS(a->message[3], "from frames 2->5");
  CHECK_CONTAINS(a->message[3], "bad_loss");
  /* frame 3 = 1/3 of the way from 2 to 5; frame 4 = 2/3 */
  CHECK_NEAR(a->model_params[204 * 3 + 40], 0.05 * 3, 1e-12);
  CHECK_NEAR(a->model_params[204 * 4 + 40], 0.05 * 4, 1e-12);
  CHECK_NEAR(a->sim_out[13 * 3 + 10], 0.3, 1e-12);
  double ang = atan2(a->sim_out[13 * 4 + 4], a->sim_out[13 * 4 + 1]); /* slerp of the z rotation */
  CHECK_NEAR(ang, 0.4, 1e-9);
  CHECK(a->model_params[204 * 0 + 40] == a->model_params[204 * 1 + 40]);
  CHECK(a->model_params[204 * 8 + 40] == a->model_params[204 * 6 + 40]);
  CHECK(isnan(a->losses[6 * 3 + 1]) && a->counts[6 * 3 + 1] == -1); /* not optimised: no losses */
  double worst = 0;
  for (size_t f = 0; f < 9; f++) worst = fmax(worst, th_joints_vs_fk(rig, a, f));
  printf("  recovered geometry vs FK of its parameters: max %.2g m\n", worst);
  CHECK(worst < 1e-9);
  mhrfit_fit_archive_free(a);
  /* bounded edge copies: with a span of 1, frame 8 (2 from the last good frame 6) stays failed */
  a = make(9, st);
  REQUIRE(a);
  REQUIRE(mhrfit_sequence_recover(a, fitter, 1, &rep, &err));
  CHECK(rep.unrecovered == 1 && rep.copied == 2);
  CHECK_STR(a->status[8], "not_run");
  CHECK(isnan(a->model_params[204 * 8]) && isnan(a->keypoints[210 * 8]));
  mhrfit_fit_archive_free(a);
}

static void test_smooth_B4_and_defect4(void) {
  const char *st[7] = {"ok", "ok", "ok", "optimization_failed", "ok", "ok", "ok"};
  mhrfit_fit_archive *a = make(7, st);
  REQUIRE(a);
  /* a jittered frame */
  a->model_params[204 * 2 + 40] += 0.3;
  mhrfit_error err = {0};
  unsigned char labels[7];
  mhrfit_smooth_report rep;
  REQUIRE(mhrfit_sequence_smooth(a, fitter, NULL, labels, &rep, &err));
  CHECK(rep.smoothed && rep.n_anchors == 6);
  CHECK(labels[3] == MHRFIT_SMOOTH_LABEL_FILLED && labels[2] == MHRFIT_SMOOTH_LABEL_ANCHOR);
  CHECK_STR(a->status[3], "optimization_failed"); /* labelled, not overwritten */
  CHECK(isnan(a->model_params[204 * 3 + 40]));
  int nonfinite = 0;
  for (size_t f = 0; f < 7; f++) {
    if (f == 3) continue;
    for (int i = 0; i < 204; i++) nonfinite += !isfinite(a->model_params[204 * f + i]);
    for (int i = 0; i < 210; i++) nonfinite += !isfinite(a->keypoints[210 * f + i]);
  }
  CHECK(nonfinite == 0); /* the NaN frame between finite ones spreads nothing */
  CHECK(a->model_params[204 * 2 + 40] < 0.1 + 0.3 - 0.05); /* the jitter is reduced */
  double det = 0, worst = 0;
  for (size_t f = 0; f < 7; f++) {
    if (f == 3) continue;
    const double *Q = a->sim_out + 13 * f + 1;
    det = fmax(det, fabs(Q[0] * (Q[4] * Q[8] - Q[5] * Q[7]) - Q[1] * (Q[3] * Q[8] - Q[5] * Q[6]) +
                         Q[2] * (Q[3] * Q[7] - Q[4] * Q[6]) - 1));
    worst = fmax(worst, th_joints_vs_fk(rig, a, f));
  }
  printf("  smoothed: jittered value %.4f (was %.4f), |det R - 1| <= %.2g, geometry vs FK %.2g m\n",
         a->model_params[204 * 2 + 40], 0.4, det, worst);
  CHECK(det < 1e-12);
  CHECK(worst < 1e-9);
  mhrfit_fit_archive_free(a);
  /* one anchor: nothing smoothed, nothing changed */
  const char *st1[3] = {"failed", "ok", "failed"};
  a = make(3, st1);
  REQUIRE(a);
  double before = a->model_params[204 + 40];
  REQUIRE(mhrfit_sequence_smooth(a, fitter, NULL, labels, &rep, &err));
  CHECK(!rep.smoothed && a->model_params[204 + 40] == before && isnan(a->model_params[40]));
  mhrfit_fit_archive_free(a);
}

int main(void) {
  RUN(setup);
  if (fitter) {
    RUN(test_recover_interp_and_both_edges);
    RUN(test_smooth_B4_and_defect4);
  }
  mhrfit_fitter_free(fitter);
  mhrfit_rig_free(rig);
  return test_report();
}
