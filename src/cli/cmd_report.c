/* mhrfit report: one self-contained HTML file to look at a run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "mhrfit/pipeline.h"
#include "mhrfit/report.h"

int mf_cmd_report(int argc, char **argv) {
  const char *run = NULL, *out = NULL, *capture = NULL, *calib = NULL, *truth = NULL, *title = NULL;
  const char *assets = NULL, *rig = NULL;
  long image_width = 480, lod = 6;
  bool no_images = false, fitted = false, quiet = false, no_body = false;
  const mf_opt opts[] = {
      {"run", MF_OPT_STRING, &run, "DIR", "run folder of mhrfit run; required", NULL},
      MF_OPT_ALIAS_OF("input", "run"),
      {"out", MF_OPT_STRING, &out, "FILE", "the HTML file to write (default DIR/report.html)", NULL},
      {"capture", MF_OPT_STRING, &capture, "DIR", "capture with camera images <frame>/<cam>.{jpg,png}, shown under the panels", NULL},
      {"no_images", MF_OPT_FLAG, &no_images, NULL, "leave the camera images out (a smaller file)", NULL},
      {"image_width", MF_OPT_INT, &image_width, "PX", "embedded images are downscaled to this width at most (default 480)", NULL},
      {"calib", MF_OPT_STRING, &calib, "FILE", "calibration (default: the one pipeline_config.json names)", NULL},
      {"truth", MF_OPT_STRING, &truth, "FILE", "ground truth for the MPJPE chart (default: the capture's ground_truth.npz of mhrfit demo)", NULL},
      {"fitted", MF_OPT_FLAG, &fitted, NULL, "show the fitted keypoints (sequence_fit.npz) instead of the smoothed ones", NULL},
      {"title", MF_OPT_STRING, &title, "TEXT", "page title (default: mhrfit report: <run folder name>)", NULL},
      MF_RIG_OPT_ASSETS(&assets),
      MF_RIG_OPT_RIG(&rig),
      {"lod", MF_OPT_INT, &lod, "N", "level of detail of the body mesh, 1..6 (default 6, the lightest)", NULL},
      {"no_body", MF_OPT_FLAG, &no_body, NULL, "leave the body out (no MHR assets needed)", NULL},
      MF_OPT_QUIET(&quiet),
  };
  const mf_cmd_spec spec = {
      "report", "--run DIR [--capture DIR] [--out report.html] [options]",
      "Writes one self-contained HTML file (no server, no network) to look at a run: the body in 3-D\n"
      "with the triangulated points, fitted keypoints and cameras; per camera the 2-D keypoints and\n"
      "reprojections; play/pause, a frame slider and a status strip that jumps to frames that are not\n"
      "ok; charts of losses, reprojection errors, points, smoothing and (demo) MPJPE; the settings,\n"
      "status totals and stage timings. A damaged or partial run folder gives a report of what is\n"
      "there, with what is missing listed on the page and here.",
      opts, sizeof opts / sizeof opts[0], 0, 0};
  mf_strlist pos;
  int rc = mf_args_parse(&spec, argc, argv, &pos);
  if (rc >= 0) return rc;
  mf_strlist_free(&pos);
  if (!run) return mf_usage_error("report", "--run DIR is required");
  if (image_width < 1 || image_width > 8192) return mf_usage_error("report", "--image_width must be 1..8192");
  if (lod < 1 || lod > 6) return mf_usage_error("report", "--lod must be 1..6");
  /* the body needs the rig: --assets, --rig or $MHRFIT_ASSETS; without any the page has none */
  const char *rig_path = NULL;
  if (!no_body && (assets || rig || getenv("MHRFIT_ASSETS"))) {
    mf_rig_src rs;
    int urc = mf_rig_choose(assets, rig, "report", &rs);
    if (urc >= 0) return urc;
    mhrfit_error e = {0};
    if (!mf_rig_check(&rs, &e)) return mf_report("report", &e);
    rig_path = rs.path;
  }
  mhrfit_report_options o = {capture, no_images, (int)image_width, calib, truth, fitted, title, rig_path, (int)lod, no_body};
  mhrfit_error err = {0};
  char path[4096];
  if (!out) snprintf(path, sizeof path, "%s/report.html", run);
  else snprintf(path, sizeof path, "%s", out);
  if (!mhrfit_report_check_out(run, &o, path, &err)) /* an output never replaces an input */
    return err.type == MHRFIT_ERR_ARGUMENT ? mf_usage_error("report", "%s", err.message) : mf_report("report", &err);
  mhrfit_report *r = mhrfit_report_new(run, &o, &err);
  if (!r) return mf_report("report", &err);
  char unfinished[1024] = ""; /* stale sequence files: a warning, quiet or not (the page notes it too) */
  if (mhrfit_run_unfinished(run, unfinished, sizeof unfinished))
    fprintf(stderr, "mhrfit report: warning: %s\n", unfinished);
  if (!mhrfit_report_write(r, path, &err)) {
    mhrfit_report_free(r);
    return mf_report("report", &err);
  }
  mhrfit_report_info info = mhrfit_report_get_info(r);
  if (!quiet) {
    printf("report of %zu frames, %zu cameras (%zu calibrated)%s%s, %zu camera images: %s (%.1f MB)\n",
           info.n_frames, info.n_cams, info.n_calibrated, info.has_truth ? ", with the ground truth" : "",
           info.has_body ? ", with the body" : "", info.n_images, path, (double)info.html_bytes / 1e6);
    fflush(stdout);
    for (size_t i = 0; i < info.n_notes; i++)
      if (strcmp(mhrfit_report_note(r, i), unfinished) != 0) fprintf(stderr, "note: %s\n", mhrfit_report_note(r, i));
  }
  mhrfit_report_free(r);
  return MF_EXIT_OK;
}
