/* Stage-3 fitting cost on one core: a 30-frame synthetic sequence made from a real SAM 3D Body
 * sample (img_subj00 of the test data): the ground-truth pose moves its arms and spine smoothly,
 * targets get 2 mm noise, and each frame has two views whose pose is the truth plus 0.15 rad noise
 * on every body dimension (a monocular estimate's error). LM cold start (no previous pose) and
 * warm start (the previous frame's fit as temporal prior) against the Adam baseline, all on the
 * same frames; then the fit without views (detector.h, mhr70 map: limb-by-limb start when cold,
 * the previous frame when warm) on the same targets, and its calibration pass over the sequence
 * (proportions and marker offsets, each run on a fresh fitter). Median of 5 runs.
 * Then the same fit on a real recording, Pose2Sim's balancing trial (OpenPose BODY_25B, 4
 * cameras, 100 frames), as `mhrfit fit --layout` and `mhrfit run` make it: Euclidean distances,
 * the camera metric, and the camera metric with the refits on the 2-D detections (run's default).
 *   build/bench/bench_fit [ASSETS_DIR [TESTDATA_DIR]]   (default: $MHRFIT_ASSETS, $MHRFIT_TESTDATA) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "mhrfit/calib.h"
#include "mhrfit/detector.h"
#include "mhrfit/fit.h"
#include "mhrfit/layout.h"
#include "mhrfit/observations.h"
#include "mhrfit/triangulate.h"
#include "mhrfit/keypoints.h"
#include "mhrfit/npy.h"
#include "mhrfit/rig.h"
#include "mhrfit/sam3d.h"

#define F 30

static unsigned long long rng = 0x9E3779B97F4A7C15ull;
static double nrand(void) {
  double u[2];
  for (int i = 0; i < 2; i++) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    u[i] = (double)(rng >> 11) / 9007199254740992.0;
  }
  return sqrt(-2 * log(u[0] + 1e-300)) * cos(6.283185307179586 * u[1]);
}

/* RMS distance (m) of 70 fitted world keypoints to those of the true parameters (3 m in front). */
static double keypoint_rms(const mhrfit_rig *rig, const mhrfit_kpmap *map, const double *truth, const double *kp,
                           mhrfit_fk_pose *pose) {
  double s = 0, cm[210], q[3];
  mhrfit_rig_fk(rig, truth, pose, NULL, NULL);
  mhrfit_kpmap_eval(map, pose, cm);
  for (int k = 0; k < 70; k++) {
    mhrfit_mhr_to_sam3d(cm + 3 * k, q);
    q[2] += 3.0;
    for (int a = 0; a < 3; a++) s += pow(kp[3 * k + a] - q[a], 2);
  }
  return sqrt(s / 70);
}

/* The balancing trial fitted as a sequence (mhrfit_detfit_run()) in three ways; median of 5 runs. */
static int bench_trial(const mhrfit_rig *rig, const char *data) {
  mhrfit_error err = {0};
  char path[4096];
  snprintf(path, sizeof path, "%s/pose2sim_a948c20/S00_Calibration/Calib_qualisys.toml", data);
  const char *cams[4] = {"cam_01", "cam_02", "cam_03", "cam_04"};
  const char *dirs[4] = {"cam01_json", "cam02_json", "cam03_json", "cam04_json"};
  mhrfit_calib *all = mhrfit_calib_load(path, NULL, &err);
  mhrfit_calib *cal = all ? mhrfit_calib_select(all, cams, 4, &err) : NULL;
  const mhrfit_layout *layout = mhrfit_layout_get("body25b", &err);
  snprintf(path, sizeof path, "%s/pose2sim_a948c20/S00_P00_SingleParticipant/S00_P00_T01_BalancingTrial/pose-associated",
           data);
  mhrfit_obs_options oo = {.format = "openpose", .n_kp = layout ? layout->count : 0, .cam_dirs = dirs};
  mhrfit_observations *obs = cal && layout ? mhrfit_observations_load(path, cams, 4, &oo, &err) : NULL;
  size_t idx[64];
  for (size_t k = 0; layout && k < layout->count; k++) idx[k] = k;
  mhrfit_tri_archive *tri =
      obs ? mhrfit_triangulate_observations(cal->cams, cams, obs, idx, layout->names, layout->count, NULL, &err) : NULL;
  mhrfit_detmap *map = tri ? mhrfit_detmap_new(rig, "body25b", &err) : NULL;
  if (!map) {
    fprintf(stderr, "balancing trial: %s\n", err.message);
    return 1;
  }
  size_t n_frames = tri->n_frames;
  printf("\nPose2Sim's balancing trial, body25b, %zu frames x 4 cameras, fitted without views as a sequence "
         "(median of 5 runs, one thread):\n\n", n_frames);
  printf("| data term | per frame ms (warm from the previous) | calibration pass ms | frames ok |\n|---|---:|---:|---:|\n");
  static const char *const names[3] = {"Euclidean (fit --layout)", "camera metric",
                                       "camera metric + refits on the detections (run, fit --layout --calib)"};
  for (int cfg = 0; cfg < 3; cfg++) {
    double per_frame[5], calib[5];
    size_t ok = 0;
    for (int run = 0; run < 5; run++) {
      mhrfit_detfit_options o;
      mhrfit_detfit_options_init(&o);
      if (cfg == 1) o.reproj_rounds = 0;
      mhrfit_detfit *d = mhrfit_detfit_new(rig, map, &o, &err);
      double t0 = bench_now();
      mhrfit_fit_archive *a = d ? mhrfit_detfit_run(d, map, tri, cfg ? cal->cams : NULL, false, NULL, NULL, &err) : NULL;
      double t = bench_now() - t0;
      if (!a) {
        fprintf(stderr, "balancing trial: %s\n", err.message);
        mhrfit_detfit_free(d);
        return 1;
      }
      calib[run] = mhrfit_detfit_calibration_get(d)->seconds;
      per_frame[run] = (t - calib[run]) / (double)n_frames;
      ok = 0;
      for (size_t f = 0; f < n_frames; f++) ok += strcmp(a->status[f], "ok") == 0;
      mhrfit_fit_archive_free(a);
      mhrfit_detfit_free(d);
    }
    printf("| %s | %.2f | %.0f | %zu |\n", names[cfg], 1e3 * bench_median(per_frame, 5), 1e3 * bench_median(calib, 5),
           ok);
  }
  mhrfit_detmap_free(map);
  mhrfit_tri_archive_free(tri);
  mhrfit_observations_free(obs);
  mhrfit_calib_free(cal);
  mhrfit_calib_free(all);
  return 0;
}

int main(int argc, char **argv) {
  const char *assets = argc > 1 ? argv[1] : getenv("MHRFIT_ASSETS");
  const char *data = argc > 2 ? argv[2] : getenv("MHRFIT_TESTDATA");
  if (!assets || !data) {
    fprintf(stderr, "usage: bench_fit ASSETS_DIR TESTDATA_DIR (or set MHRFIT_ASSETS, MHRFIT_TESTDATA)\n");
    return 2;
  }
  mhrfit_error err = {0};
  mhrfit_rig *rig = mhrfit_rig_load(assets, -1, &err);
  char path[4096];
  snprintf(path, sizeof path, "%s/mhr_sam3d_body_outputs/img_subj00.npz", data);
  mhrfit_value *d = rig ? mhrfit_npz_load(path, NULL, &err) : NULL;
  double m0[204];
  if (!d || !mhrfit_sam3d_model_params(d, m0, NULL, &err)) {
    fprintf(stderr, "%s\n", err.message);
    return 1;
  }
  const mhrfit_array *k3 = mhrfit_value_dict_get(d, "pred_keypoints_3d")->u.array;
  double kp0[210], native[210];
  for (int i = 0; i < 210; i++) kp0[i] = mhrfit_array_get_f64(k3, (size_t)i);
  for (int k = 0; k < 70; k++) mhrfit_sam3d_to_mhr(kp0 + 3 * k, native + 3 * k);
  static double R[127 * 9], T[127 * 3], S[127];
  mhrfit_fk_pose pose = {R, T, S};
  mhrfit_kpmap *map = mhrfit_kpmap_new_mhr70(rig, &err);
  mhrfit_rig_fk(rig, m0, &pose, NULL, &err);
  mhrfit_kpmap_calibrate_markers(map, rig, &pose, native, &err);
  /* the sequence */
  static double gt[F][204], targets[F][210], vparams[F][2][204], vkp[F][2][210];
  static mhrfit_fit_view views[F][2];
  int idx[70];
  double inl[70];
  for (int k = 0; k < 70; k++) idx[k] = k, inl[k] = 1.0;
  for (int f = 0; f < F; f++) {
    memcpy(gt[f], m0, sizeof m0);
    for (int i = 0; i < 6; i++) gt[f][i] = 0;
    double ph = 2 * 3.141592653589793 * f / F;
    for (int i = 6; i < 130; i++)
      if (i < 68 || i >= 122) gt[f][i] += 0.25 * sin(ph + 0.37 * i); /* smooth whole-body motion */
    double cm[210];
    mhrfit_rig_fk(rig, gt[f], &pose, NULL, &err);
    mhrfit_kpmap_eval(map, &pose, cm);
    for (int k = 0; k < 70; k++) {
      mhrfit_mhr_to_sam3d(cm + 3 * k, targets[f] + 3 * k);
      for (int a = 0; a < 3; a++) targets[f][3 * k + a] += 0.002 * nrand();
      targets[f][3 * k + 2] += 3.0; /* in front of the cameras */
    }
    for (int v = 0; v < 2; v++) {
      memcpy(vparams[f][v], gt[f], sizeof m0);
      for (int i = 6; i < 130; i++) vparams[f][v][i] += 0.15 * nrand();
      mhrfit_rig_fk(rig, vparams[f][v], &pose, NULL, &err);
      mhrfit_kpmap_eval(map, &pose, cm);
      for (int k = 0; k < 70; k++) mhrfit_mhr_to_sam3d(cm + 3 * k, vkp[f][v] + 3 * k);
      views[f][v] = (mhrfit_fit_view){v ? "cam_b" : "cam_a", {0}, vkp[f][v], NULL, 0, 1.0 + v};
      memcpy(views[f][v].model_params, vparams[f][v], sizeof m0);
    }
  }
  printf("MHR fit, %d frames x 70 keypoints, 2 views per frame, median of 5 runs, one thread\n\n", F);
  printf("| solver | start | ms/frame | iterations/frame | mean final data loss | mean keypoint RMS to truth (mm) |\n");
  printf("|---|---|---:|---:|---:|---:|\n");
  /* without views: the same targets, the mhr70 detector map calibrated on the sequence */
  mhrfit_detmap *dmap = mhrfit_detmap_new(rig, "mhr70", &err);
  mhrfit_detfit *det = NULL;
  double calib_times[5];
  for (int run = 0; run < 5; run++) { /* each pass on a fresh fitter (default proportions and offsets) */
    mhrfit_detfit_free(det);
    det = dmap ? mhrfit_detfit_new(rig, dmap, NULL, &err) : NULL;
    if (!det) {
      fprintf(stderr, "%s\n", err.message);
      return 1;
    }
    double t0 = bench_now();
    if (!mhrfit_detfit_calibrate(det, F, targets[0], NULL, NULL, NULL, &err)) {
      fprintf(stderr, "calibration: %s\n", err.message);
      return 1;
    }
    calib_times[run] = bench_now() - t0;
  }
  for (int cfg = 0; cfg < 6; cfg++) {
    bool adam = cfg == 2 || cfg == 3, no_views = cfg >= 4, warm = cfg % 2 == 1;
    mhrfit_fit_options o;
    mhrfit_fit_options_init(&o);
    o.solver = adam ? MHRFIT_SOLVER_ADAM : MHRFIT_SOLVER_LM;
    mhrfit_fitter *fit = mhrfit_fitter_new(rig, NULL, &o, &err);
    double times[5], iters = 0, dl = 0, rms = 0;
    for (int run = 0; run < 5; run++) {
      double prev[204];
      bool have_prev = false;
      iters = dl = rms = 0;
      double t0 = bench_now();
      for (int f = 0; f < F; f++) {
        mhrfit_fit_frame fr = {70, idx, targets[f], inl, 2, views[f], warm && have_prev ? prev : NULL, NULL, NULL, NULL, NULL, NULL};
        mhrfit_fit_result r;
        bool ok = no_views ? mhrfit_detfit_frame(det, targets[f], NULL, NULL, NULL, warm && have_prev ? prev : NULL, &r,
                                                 &err)
                           : mhrfit_fitter_process(fit, &fr, &r, &err);
        if (!ok) {
          fprintf(stderr, "frame %d: %s\n", f, err.message);
          return 1;
        }
        memcpy(prev, r.model_params, sizeof prev);
        have_prev = true;
        iters += r.n_iters;
        dl += r.final_data_loss;
        rms += keypoint_rms(rig, map, gt[f], r.keypoints, &pose);
      }
      times[run] = (bench_now() - t0) / F;
    }
    printf("| %s | %s | %.3f | %.1f | %.3g | %.2f |\n", adam ? "adam" : no_views ? "lm, no views" : "lm",
           warm ? "warm" : no_views ? "cold (limb by limb)" : "cold", 1e3 * bench_median(times, 5), iters / F, dl / F,
           1e3 * rms / F);
    mhrfit_fitter_free(fit);
  }
  printf("\nCalibration pass without views (proportions + marker offsets over the %d frames): %.1f ms per sequence\n",
         F, 1e3 * bench_median(calib_times, 5));
  mhrfit_detfit_free(det);
  mhrfit_detmap_free(dmap);
  mhrfit_kpmap_free(map);
  mhrfit_value_free(d);
  int rc = bench_trial(rig, data);
  mhrfit_rig_free(rig);
  return rc;
}
