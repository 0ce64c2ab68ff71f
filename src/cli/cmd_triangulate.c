/* mhrfit triangulate: stage 2, robust multi-view triangulation of one frame or a sequence. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/path.h"
#include "common/file.h"
#include "mhrfit/calib.h"
#include "mhrfit/layout.h"
#include "mhrfit/observations.h"
#include "mhrfit/trc.h"
#include "mhrfit/triangulate.h"

int mf_cmd_triangulate(int argc, char **argv) {
  const char *calib = NULL, *input = NULL, *out = NULL, *format = "auto", *layout_name = "mhr70", *subset = "all";
  const char *trc = NULL;
  mf_strlist cams = {0}, cam_dirs = {0};
  long person = 0;
  double rate = 30;
  bool allow_missing = false, quiet = false, world_axes = false;
  mf_tri_cli tc;
  mf_tri_cli_init(&tc);
  const mf_opt own[] = {
      {"calib", MF_OPT_STRING, &calib, "FILE", "calibration file (Caliscope/Anipose/Pose2Sim TOML or JSON); required", NULL},
      {"cams", MF_OPT_LIST, &cams, "NAME", "camera names, matched exactly to calibration tables; at least 2; required", NULL},
      {"input", MF_OPT_STRING, &input, "DIR", "folder with the per-camera inputs; required", NULL},
      {"out", MF_OPT_STRING, &out, "OUT.npz", "output archive; required", NULL},
      {"input_format", MF_OPT_STRING, &format, "F", "auto | stage1 | arrays | openpose (default auto)", NULL},
      {"layout", MF_OPT_STRING, &layout_name, "L", "keypoint layout: mhr70 | body25b | coco17 (default mhr70)", NULL},
      {"cam_dirs", MF_OPT_LIST, &cam_dirs, "DIR", "openpose: folder per camera, in --cams order (default <cam>_json)", NULL},
      {"person_index", MF_OPT_INT, &person, "N", "person in multi-person inputs (default 0)", NULL},
      {"subset", MF_OPT_STRING, &subset, "S", "all | hands_arms | comma list of names (default all)", NULL},
      {"allow_missing_views", MF_OPT_FLAG, &allow_missing, NULL, "a camera without input is treated as not seeing anything", NULL},
      {"trc", MF_OPT_STRING, &trc, "FILE", "also write the points as an OpenSim .trc (Y-up, Pose2Sim axes)", NULL},
      {"trc_world_axes", MF_OPT_FLAG, &world_axes, NULL, "write world X Y Z to the .trc unchanged", NULL},
      {"rate", MF_OPT_DOUBLE, &rate, "HZ", "frame rate written to the .trc (default 30)", NULL},
      {"quiet", MF_OPT_FLAG, &quiet, NULL, "print nothing but errors", NULL},
  };
  mf_opt opts[sizeof own / sizeof own[0] + MF_TRI_CLI_N_OPTS];
  memcpy(opts, own, sizeof own);
  size_t n_opts = sizeof own / sizeof own[0] + mf_tri_cli_table(&tc, opts + sizeof own / sizeof own[0]);
  const mf_cmd_spec spec = {
      "triangulate", "--calib FILE --cams A B ... --input DIR --out OUT.npz [options]",
      "Triangulates 2-D keypoints of several calibrated cameras into 3-D points with inlier masks,\n"
      "per-view reprojection errors and a reason code for every point that stays NaN\n"
      "(1 no_views, 2 one_view, 3 degenerate, 4 all_outliers). Inputs: per-camera SAM 3D Body /\n"
      "stage-1 files (<cam>.npz|.npy), per-camera arrays (F,K,2|3), or OpenPose JSON folders.",
      opts, n_opts, 0, 0};
  mf_strlist pos;
  int rc = mf_args_parse(&spec, argc, argv, &pos);
  if (rc >= 0) {
    mf_strlist_free(&cams);
    mf_strlist_free(&cam_dirs);
    return rc;
  }
  mf_strlist_free(&pos);
  rc = MF_EXIT_FAILURE;
  mhrfit_error err = {0};
  mhrfit_calib *all = NULL, *cal = NULL;
  mhrfit_observations *obs = NULL;
  mhrfit_triangulator *tri = NULL;
  mhrfit_tri_archive *ar = NULL;
  double *sub_uv = NULL, *sub_conf = NULL;
  const char **names = NULL;
  if (!calib || !input || !out || cams.count < 2) {
    rc = mf_usage_error("triangulate", "--calib, --input, --out and at least two --cams are required");
    goto done;
  }
  if (cam_dirs.count && cam_dirs.count != cams.count) {
    rc = mf_usage_error("triangulate", "--cam_dirs needs one folder per camera (%zu), got %zu", cams.count, cam_dirs.count);
    goto done;
  }
  const mhrfit_layout *layout = mhrfit_layout_get(layout_name, &err);
  if (!layout) {
    rc = mf_usage_error("triangulate", "%s", err.message);
    goto done;
  }
  size_t idx[128], K;
  if (!mhrfit_layout_subset(layout, subset, idx, 128, &K, &err)) {
    rc = mf_usage_error("triangulate", "--subset: %s", err.message);
    goto done;
  }
  if ((rc = mf_tri_cli_finish(&tc, "triangulate")) >= 0) goto done;
  const char *const outs[2] = {out, trc};
  for (int i = 0; i < 2; i++) /* an output never replaces an input */
    if (outs[i] && (mf_path_within(outs[i], calib) || (mf_path_within(outs[i], input) && mf_is_file(outs[i])))) {
      rc = mf_usage_error("triangulate", "--%s %s would replace an input (--calib, or a file inside --input %s)",
                          i ? "trc" : "out", outs[i], input);
      goto done;
    }
  rc = MF_EXIT_FAILURE;
  const mhrfit_tri_options o = tc.o;
  const char *method = tc.method;
  all = mhrfit_calib_load(calib, &tc.calib, &err);
  if (!all) goto fail;
  cal = mhrfit_calib_select(all, cams.items, cams.count, &err);
  if (!cal) goto fail;
  size_t V = cal->n_cams;
  mhrfit_obs_options oo = {format, layout->count, (size_t)(person < 0 ? 0 : person),
                           cam_dirs.count ? cam_dirs.items : NULL, allow_missing};
  obs = mhrfit_observations_load(input, cams.items, V, &oo, &err);
  if (!obs) goto fail;
  tri = mhrfit_triangulator_new(cal->cams, V, K, &o, &err);
  if (!tri) goto fail;
  size_t F = obs->n_frames;
  sub_uv = calloc(K * V * 2, sizeof *sub_uv);
  sub_conf = calloc(K * V, sizeof *sub_conf);
  names = calloc(K, sizeof *names);
  if (!sub_uv || !sub_conf || !names) {
    MHRFIT_FAIL(&err, MHRFIT_ERR_NOMEM, "out of memory");
    goto fail;
  }
  for (size_t k = 0; k < K; k++) names[k] = layout->names[idx[k]];
  ar = mhrfit_tri_archive_new(F, K, V, names, cams.items, &err);
  if (!ar) goto fail;
  for (size_t f = 0; f < F; f++) {
    for (size_t k = 0; k < K; k++)
      for (size_t v = 0; v < V; v++) {
        size_t src = (f * layout->count + idx[k]) * V + v;
        sub_uv[2 * (k * V + v)] = obs->uv[2 * src];
        sub_uv[2 * (k * V + v) + 1] = obs->uv[2 * src + 1];
        if (obs->conf) sub_conf[k * V + v] = obs->conf[src];
      }
    mhrfit_tri_result res = {ar->points + 3 * K * f, ar->points_init + 3 * K * f, ar->inliers + K * V * f,
                             ar->reproj_err + K * V * f, ar->n_views_used + K * f, ar->reason + K * f};
    if (!mhrfit_triangulator_process(tri, K, sub_uv, obs->conf ? sub_conf : NULL, &res, &err)) goto fail;
  }
  /* Output archive: a leading frame axis unless the input is a single stage-1 frame. */
  ar->frame_axis = !(strcmp(obs->format, "stage1") == 0 && F == 1);
  for (size_t k = 0; k < K; k++) ar->subset_idx[k] = (int32_t)idx[k];
  snprintf(ar->method, sizeof ar->method, "%s", method);
  ar->threshold_px = o.method == MHRFIT_TRI_POSE2SIM ? o.reproj_thresh : o.inlier_thresh;
  mhrfit_tri_archive_update_mean(ar);
  int counts[5] = {0};
  for (size_t i = 0; i < F * K; i++)
    if (ar->reason[i] >= 0 && ar->reason[i] < 5) counts[ar->reason[i]]++;
  if (!mhrfit_tri_archive_save(out, ar, &err) || !mf_sync_file(out, &err)) goto fail; /* a final output: durable */
  if (trc && !mhrfit_trc_write(trc, names, K, ar->points, F, rate, world_axes, &err)) goto fail;
  if (!quiet) {
    printf("triangulated %zu frame(s) x %zu keypoints from %zu cameras (%s input, %s method)\n", F, K, V, obs->format,
           method);
    printf("points: %d ok, %d no_views, %d one_view, %d degenerate, %d all_outliers\n", counts[0], counts[1], counts[2],
           counts[3], counts[4]);
    for (size_t v = 0; v < V; v++)
      printf("  %-16s mean reprojection error of used views: %.2f px\n", cams.items[v], ar->mean_px[v]);
    printf("wrote %s%s%s\n", out, trc ? " and " : "", trc ? trc : "");
  }
  rc = MF_EXIT_OK;
  goto done;
fail:
  rc = mf_report("triangulate", &err);
done:
  mhrfit_tri_archive_free(ar);
  free(sub_uv);
  free(sub_conf);
  free(names);
  mhrfit_triangulator_free(tri);
  mhrfit_observations_free(obs);
  mhrfit_calib_free(cal);
  mhrfit_calib_free(all);
  mf_strlist_free(&cams);
  mf_strlist_free(&cam_dirs);
  return rc;
}
