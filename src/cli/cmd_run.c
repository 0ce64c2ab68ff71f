/* mhrfit run: the whole pipeline over a sequence (include/mhrfit/pipeline.h); this file only
 * parses the options (run_opts.c) and shows what the library reports. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/run_opts.h"

static const char *const run_summary =
    "Runs the pipeline over a capture: stage 1 (the SAM 3D Body output of each frame and camera,\n"
    "one person selected), then frame by frame in natural order the triangulation of the keypoints\n"
    "and the MHR fit, with the previous good frame as temporal prior and bad frames refitted; then\n"
    "failed frames are recovered (interpolation between good frames, bounded copies at both ends)\n"
    "and the sequence is smoothed; geometry always follows the parameters. With --estimator_worker,\n"
    "stage 1 makes missing SAM 3D Body outputs with persistent workers (the model loaded once each).\n"
    "\n"
    "With --input_format openpose|arrays|caliscope_csv the input is a 2-D detector's keypoints\n"
    "(--layout, or --keypoint_names and --keypoint_map): no stage 1; every frame is triangulated,\n"
    "the body's proportions and marker offsets are calibrated over the sequence and each frame is\n"
    "fitted without views (as mhrfit fit --layout), then recovered and smoothed as above; the\n"
    "sequence files hold the layout's keypoints (pred_keypoints_3d, keypoint_names).\n"
    "\n"
    "Writes into --out: stage1/<frame>/<cam>.npz, triangulation/<frame>/triangulated.npz,\n"
    "fit/<frame>/fit.npz, sequence_fit.npz and sequence_smoothed.npz (the mesh only with --mesh),\n"
    "sequence_summary.json, pipeline_config.json, run_state.txt (README: \"Output files\"),\n"
    "report.html with --report, and with --overlay the overlays of mhrfit overlay in overlay/ (the\n"
    "fit drawn over each camera's pictures: the capture's, or --overlay_capture DIR; none found is a\n"
    "warning). A rerun reuses the frames whose inputs, temporal prior and settings are unchanged,\n"
    "so a run that was killed or interrupted (Ctrl-C stops it at the next frame) resumes where it\n"
    "stopped. Exit status: 0 when frames were fitted, 1 on failure (also when no\n"
    "frame could be fitted: the message says why), 2 for a usage error; checked before stage 1\n"
    "starts.";

static const char *const run_examples =
    "Options of mhrfit triangulate and mhrfit fit that apply to a sequence are accepted (above);\n"
    "not accepted: --trc, --trc_world_axes, --rate, --subset, --allow_missing_views, --tri, --views,\n"
    "--init_pose, --debug_dir (use those commands on the run's stage1/ and triangulation/ files).\n"
    "\n"
    "Examples:\n"
    "  mhrfit run --input capture --calib capture/calibration.toml --out run\n"
    "  mhrfit run --input capture --calib calib.toml --cams cam_0 cam_1 cam_2 --out run --freeze_lower_body\n"
    "  mhrfit run --input capture --calib capture/calibration.toml --out run --report --overlay --overlay_video\n"
    "  mhrfit run --input capture --calib calib_mm.toml --translation_unit mm --cam_map cam01=cam_01 \\\n"
    "    cam02=cam_02 --frames 000100 000101 000102 --out run\n"
    "  mhrfit run --input capture --calib calib.toml --out run --report --workers 2 \\\n"
    "    --estimator_worker 'CUDA_VISIBLE_DEVICES={worker} python3 tools/sam3d_body_worker.py ...'\n"
    "  mhrfit run --input trial/pose-associated --calib Calib.toml --cams cam_01 cam_02 cam_03 cam_04 \\\n"
    "    --cam_dirs cam01_json cam02_json cam03_json cam04_json --input_format openpose --layout body25b \\\n"
    "    --fps 60 --out run --overlay --overlay_capture trial/frames\n";

static void print_help(const mf_opt *opts, const size_t *group_end) {
  printf("Usage: mhrfit run --input DIR --calib FILE --out DIR [--cams A B ...] [options]\n\n%s\n", run_summary);
  printf("\nOptions (--snake_case and --kebab-case are both accepted):\n");
  for (size_t g = 0, start = 0; g < MF_RUN_GROUPS; start = group_end[g++]) {
    printf("\n%s:\n", mf_run_group_titles[g]);
    mf_print_options(opts + start, group_end[g] - start);
  }
  printf("  %-30s %s\n\n%s", "-h, --help", "show this help and exit", run_examples);
}

/* What the command line shows: library messages (information on stdout, warnings and errors on
 * stderr; no information with --quiet) and the progress line of mf_cli_status_show(), left standing
 * on a terminal when a message comes. */
static void end_line(mf_cli_status *v) {
  if (v->progress_shown) fputs("\n", stderr);
  v->progress_shown = false;
}

static void on_log(void *user, mhrfit_pipeline_log_level level, const char *msg) {
  mf_cli_status *v = user;
  if (v->quiet && level == MHRFIT_PIPELINE_INFO) return;
  end_line(v);
  if (level == MHRFIT_PIPELINE_INFO) {
    printf("%s\n", msg);
    fflush(stdout);
  } else {
    fprintf(stderr, "mhrfit run: %s%s\n", level == MHRFIT_PIPELINE_ERROR ? "error: " : "warning: ", msg);
  }
}

static void on_progress(void *user, const mhrfit_pipeline_progress *p) {
  double rate = (double)p->done / (p->elapsed_s > 1e-9 ? p->elapsed_s : 1e-9);
  char line[200];
  if (p->stage == MHRFIT_PIPELINE_STAGE_INGEST)
    snprintf(line, sizeof line, "stage 1: %zu/%zu frames, %.1f frames/s", p->done, p->total, rate);
  else
    snprintf(line, sizeof line, "run: %zu/%zu frames (%zu reused), %.1f frames/s, ETA %.0f s, %zu not ok", p->done,
             p->total, p->reused, rate, (double)(p->total - p->done) / rate, p->not_ok);
  mf_cli_status_show(user, line, p->done == p->total);
}

/* The frames that are not ok at the end, by name (at most a few of each kind). */
static void print_frames(const mhrfit_pipeline *p, bool recovered) {
  size_t n = 0, total = mhrfit_pipeline_n_frames(p);
  mhrfit_pipeline_frame_info fi;
  for (size_t i = 0; i < total && mhrfit_pipeline_frame(p, i, &fi); i++) {
    if (strcmp(fi.status, "ok") == 0 || (strncmp(fi.status, "recovered", 9) == 0) != recovered) continue;
    if (n++ < 8)
      printf("%s %s (%s%s%s)\n", n == 1 ? (recovered ? "recovered:" : "failed, left NaN:") : "  ", fi.name,
             recovered ? "was " : fi.status, recovered ? fi.fit_status : ": ", recovered ? "" : fi.message);
  }
  if (n > 8) printf("  ... and %zu more (sequence_summary.json lists every frame)\n", n - 8);
}

static void print_result(const mhrfit_pipeline *p, const mhrfit_pipeline_options *o, const mhrfit_pipeline_result *r) {
  printf("run: %zu frames (%zu fits reused) in %.2f s: stage 1 %.2f s, set-up %.2f s, triangulation %.2f s, fit "
         "%.2f s, per-frame files %.2f s, recovery+smoothing %.2f s\n",
         r->n_frames, r->frames_reused, r->time_total_s, r->time_ingest_s, r->time_setup_s, r->time_triangulate_s,
         r->time_fit_s, r->time_frame_other_s, r->time_sequence_s);
  printf("status:");
  for (size_t i = 0; i < r->n_statuses; i++)
    printf(" %s %zu%s", r->status_names[i], r->status_counts[i], i + 1 < r->n_statuses ? "," : "\n");
  printf("recovered %zu by interpolation, %zu by edge copy, %zu left; smoothing: %s\n", r->recover.interpolated,
         r->recover.copied, r->recover.unrecovered,
         !o->smoothing ? "off" : r->smoothed ? mhrfit_smooth_method_name(o->smooth.method) : "too few frames");
  print_frames(p, true);
  print_frames(p, false);
  printf("wrote %s/{sequence_fit.npz%s,sequence_summary.json,pipeline_config.json}\n", o->out_dir,
         o->smoothing ? ",sequence_smoothed.npz" : "");
}

static bool wants_help(int argc, char **argv) {
  for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
    if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) return true;
  return false;
}

int mf_cmd_run(int argc, char **argv) {
  mf_run_cli c;
  mf_opt opts[MF_RUN_MAX_OPTS];
  size_t group_end[MF_RUN_GROUPS];
  size_t n_opts = mf_run_table(&c, opts, group_end);
  if (wants_help(argc, argv)) {
    print_help(opts, group_end);
    return MF_EXIT_OK;
  }
  const mf_cmd_spec spec = {"run", "--input DIR --calib FILE --out DIR [options]", run_summary, opts, n_opts, 0, 0};
  mf_strlist pos = {0};
  mhrfit_pipeline_options o;
  mhrfit_pipeline_options_init(&o);
  mhrfit_pipeline *p = NULL;
  mf_rig_src rig_src;
  int rc = mf_args_parse(&spec, argc, argv, &pos);
  if (rc >= 0 || (rc = mf_run_finish(&c, &o)) >= 0 || (rc = mf_rig_choose(c.assets, c.rig, "run", &rig_src)) >= 0)
    goto done;
  mhrfit_error err = {0};
  mf_cli_status view;
  mf_cli_status_init(&view, "run", "frames", c.quiet);
  o.rig_path = rig_src.path;
  o.log = on_log;
  o.progress = on_progress;
  o.user = &view;
  o.cancel = mf_cancel_on_signals();
  mhrfit_pipeline_result res;
  bool ok = mf_rig_check(&rig_src, &err) && (p = mhrfit_pipeline_new(&o, &err)) != NULL &&
            mhrfit_pipeline_run(p, &res, &err);
  end_line(&view);
  if (!ok && err.type == MHRFIT_ERR_CANCELLED && mf_cancel_signal()) {
    mhrfit_pipeline_free(p); /* lets go of the output folder */
    p = NULL;
    mf_exit_interrupted("run");
  }
  if (!ok && err.type == MHRFIT_ERR_ARGUMENT) rc = mf_usage_error("run", "%s", err.message);
  else if (!ok) rc = mf_report("run", &err);
  else rc = MF_EXIT_OK;
  if (ok && !c.quiet) print_result(p, &o, &res);
done:
  mhrfit_pipeline_free(p);
  mf_strlist_free(&pos);
  mf_run_cli_free(&c);
  return rc;
}
