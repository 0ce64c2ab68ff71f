/* mhrfit run: the whole pipeline over a sequence (include/mhrfit/pipeline.h); this file only
 * parses the options and prints what the library reports. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "mhrfit/pipeline.h"

/* Every option value of the command line. */
typedef struct run_cli {
  const char *input, *calib, *out, *assets, *rig, *sam_dir, *estimator, *strategy, *freeze_from;
  mf_strlist cams, frames, model_ids;
  long lod, min_views, max_stale, edge_span, retries, person;
  bool overwrite, no_smoothing, no_mesh, quiet, per_frame_scales;
  mf_tri_cli tc;
  mf_fit_cli fc;
  mf_smooth_cli sc;
} run_cli;

/* The option table: run's own options, then those of triangulate, fit and smooth. */
static size_t run_table(run_cli *c, mf_opt *opts) {
  const mf_opt own[] = {
      {"input", MF_OPT_STRING, &c->input, "DIR",
       "capture: one folder per frame with the camera images and/or SAM 3D Body outputs <cam>.npz|.npy; required", NULL},
      {"sam_dir", MF_OPT_STRING, &c->sam_dir, "DIR", "stage 1: SAM 3D Body outputs <frame>/<cam>.npz|.npy (default: --input)", NULL},
      {"estimator", MF_OPT_STRING, &c->estimator, "CMD",
       "stage 1: command run where an output is missing, with {image} and {output} (default: none)", NULL},
      {"model_id", MF_OPT_LIST, &c->model_ids, "ID", "stage 1: estimator model identifiers, recorded and compared", NULL},
      {"person_select_strategy", MF_OPT_STRING, &c->strategy, "S", "stage 1: largest_bbox | first | person_index (default largest_bbox)", NULL},
      {"calib", MF_OPT_STRING, &c->calib, "FILE", "calibration file (Caliscope/Anipose/Pose2Sim TOML or JSON); required", NULL},
      {"cams", MF_OPT_LIST, &c->cams, "NAME", "camera names (exact); at least 2; required", NULL},
      {"out", MF_OPT_STRING, &c->out, "DIR", "output folder; required", NULL},
      {"frame_rel", MF_OPT_LIST, &c->frames, "NAME", "only these frame folders (default: all, natural order)", NULL},
      MF_RIG_OPT_ASSETS(&c->assets),
      MF_RIG_OPT_RIG(&c->rig),
      {"lod", MF_OPT_INT, &c->lod, "N", "mesh level of detail (default: the lowest lodN.fbx present, or the rig file's)", NULL},
      {"no_mesh", MF_OPT_FLAG, &c->no_mesh, NULL, "leave pred_vertices out of the outputs", NULL},
      {"freeze_lower_body_from", MF_OPT_STRING, &c->freeze_from, "S",
       "with --freeze_lower_body, what the legs are locked to: first_fit (a frame without a temporal prior — the first, "
       "or the first after a gap longer than --max_stale_frames — is fitted with its lower body free, later frames keep "
       "its values) | view (the initial view's SAM 3D Body estimate, as the original) (default first_fit)", NULL},
      {"overwrite", MF_OPT_FLAG, &c->overwrite, NULL, "redo every frame (default: reuse frames whose inputs and settings are unchanged)", NULL},
      {"person_index", MF_OPT_INT, &c->person, "N", "stage 1: the person with --person_select_strategy person_index (default 0)", NULL},
      {"min_views", MF_OPT_INT, &c->min_views, "N", "fewest cameras with a file for a frame to be processed (default 2)", NULL},
      {"max_stale_frames", MF_OPT_INT, &c->max_stale, "N", "temporal prior only from a good frame at most N frames back (default 40)", NULL},
      {"bad_frame_retries", MF_OPT_INT, &c->retries, "N", "refits of a bad frame with a stronger temporal prior (default 1)", NULL},
      {"max_edge_copy_span", MF_OPT_INT, &c->edge_span, "N", "recovery copies the nearest good frame at the ends up to N frames (default 15)", NULL},
      {"per_frame_scales", MF_OPT_FLAG, &c->per_frame_scales, NULL,
       "take the skeleton scales from each frame's initial view (default: the first good frame's, for the whole sequence)", NULL},
      {"no_smoothing", MF_OPT_FLAG, &c->no_smoothing, NULL, "do not smooth (sequence_smoothed.npz is not written)", NULL},
      {"quiet", MF_OPT_FLAG, &c->quiet, NULL, "print nothing but errors", NULL},
  };
  size_t n = sizeof own / sizeof own[0];
  memcpy(opts, own, sizeof own);
  n += mf_tri_cli_table(&c->tc, opts + n);
  n += mf_fit_cli_table(&c->fc, opts + n);
  n += mf_smooth_cli_table(&c->sc, opts + n);
  return n;
}
enum { RUN_MAX_OPTS = 23 + MF_TRI_CLI_N_OPTS + MF_FIT_CLI_N_OPTS + MF_SMOOTH_CLI_N_OPTS };

/* Checks the values and fills the library's options; -1 when valid, else the usage exit code. */
static int run_finish(run_cli *c, mhrfit_pipeline_options *o) {
  if (!c->input || !c->calib || !c->out || c->cams.count < 2)
    return mf_usage_error("run", "--input, --calib, --out and at least two --cams are required");
  if (c->min_views < 2 || c->max_stale < 0 || c->edge_span < 0 || c->retries < 0 || c->retries > 10 || c->person < 0 ||
      c->min_views > 1000000 || c->max_stale > 1000000000 || c->edge_span > 1000000000 || c->lod < -1 || c->lod > 99)
    return mf_usage_error("run", "--min_views >= 2, --bad_frame_retries 0..10, --lod -1..99, and --max_stale_frames, "
                                 "--max_edge_copy_span, --person_index >= 0 are required");
  int rc;
  if ((rc = mf_tri_cli_finish(&c->tc, "run")) >= 0 || (rc = mf_fit_cli_finish(&c->fc, "run")) >= 0 ||
      (rc = mf_smooth_cli_finish(&c->sc, "run")) >= 0)
    return rc;
  if (strcmp(c->freeze_from, "first_fit") != 0 && strcmp(c->freeze_from, "view") != 0)
    return mf_usage_error("run", "--freeze_lower_body_from must be first_fit or view, got '%s'", c->freeze_from);
  mhrfit_error err = {0};
  if (!mhrfit_person_strategy_parse(c->strategy, &o->person_strategy, &err))
    return mf_usage_error("run", "--person_select_strategy: %s", err.message);
  o->input_dir = c->input;
  o->sam_dir = c->sam_dir;
  o->calib_path = c->calib;
  o->out_dir = c->out;
  o->cams = c->cams.items;
  o->n_cams = c->cams.count;
  o->frames = c->frames.count ? c->frames.items : NULL;
  o->n_frames = c->frames.count;
  o->lod = (int)c->lod;
  o->write_mesh = !c->no_mesh;
  o->estimator = c->estimator;
  o->model_ids = c->model_ids.items;
  o->n_model_ids = c->model_ids.count;
  o->person_index = c->person;
  o->calib = c->tc.calib;
  o->tri = c->tc.o;
  o->fit = c->fc.o;
  o->freeze_from = strcmp(c->freeze_from, "view") == 0 ? MHRFIT_FREEZE_FROM_VIEW : MHRFIT_FREEZE_FROM_FIRST_FIT;
  o->min_views = (int)c->min_views;
  o->max_stale_frames = (int)c->max_stale;
  o->bad_frame_retries = (int)c->retries;
  o->per_frame_scales = c->per_frame_scales;
  o->max_edge_copy_span = (int)c->edge_span;
  o->smoothing = !c->no_smoothing;
  o->smooth = c->sc.o;
  o->overwrite = c->overwrite;
  return -1;
}

/* What the command line shows: library messages (info on stdout unless --quiet; warnings and
 * errors on stderr) and, on a terminal, a progress line. */
typedef struct run_view {
  bool quiet, tty, line_shown;
} run_view;

static void end_line(run_view *v) {
  if (v->line_shown) fputs("\n", stderr);
  v->line_shown = false;
}

static void on_log(void *user, mhrfit_pipeline_log_level level, const char *msg) {
  run_view *v = user;
  if (v->quiet && level != MHRFIT_PIPELINE_ERROR) return;
  end_line(v);
  if (level == MHRFIT_PIPELINE_INFO) {
    printf("%s\n", msg);
    fflush(stdout);
  } else {
    fprintf(stderr, "mhrfit run: %s%s\n", level == MHRFIT_PIPELINE_ERROR ? "error: " : "warning: ", msg);
  }
}

static void on_progress(void *user, const mhrfit_pipeline_progress *p) {
  run_view *v = user;
  if (v->quiet || !v->tty || p->stage != MHRFIT_PIPELINE_STAGE_FRAMES) return;
  double rate = (double)p->done / (p->elapsed_s > 1e-9 ? p->elapsed_s : 1e-9);
  fprintf(stderr, "\rrun: %zu/%zu frames, %.1f frames/s, ETA %.0f s, %zu not ok   ", p->done, p->total, rate,
          (double)(p->total - p->done) / rate, p->not_ok);
  v->line_shown = true;
}

static void print_result(const mhrfit_pipeline_options *o, const mhrfit_pipeline_result *r) {
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
  printf("wrote %s/{sequence_fit.npz%s,sequence_summary.json,pipeline_config.json}\n", o->out_dir,
         o->smoothing ? ",sequence_smoothed.npz" : "");
}

int mf_cmd_run(int argc, char **argv) {
  run_cli c = {.strategy = "largest_bbox", .freeze_from = "first_fit", .lod = -1, .min_views = 2, .max_stale = 40,
               .edge_span = 15, .retries = 1};
  mf_tri_cli_init(&c.tc);
  mf_fit_cli_init(&c.fc);
  mf_smooth_cli_init(&c.sc);
  mf_opt opts[RUN_MAX_OPTS];
  size_t n_opts = run_table(&c, opts);
  const mf_cmd_spec spec = {
      "run", "--input DIR --calib FILE --cams A B ... --out DIR [options]",
      "Runs the pipeline over a sequence: per frame (natural order) triangulation of the stage-1\n"
      "keypoints and the MHR fit with the previous good frame as temporal prior; bad frames are\n"
      "refitted, then recovered (interpolation between good frames, bounded copies at both ends)\n"
      "and the sequence is smoothed; geometry always follows the parameters. Writes per frame\n"
      "triangulation/<frame>/triangulated.npz and fit/<frame>/fit.npz, and sequence_fit.npz,\n"
      "sequence_smoothed.npz, sequence_summary.json and pipeline_config.json. A rerun reuses the\n"
      "frames whose inputs and settings are unchanged, so a killed run resumes where it stopped.\n"
      "Every fit and triangulate option is accepted.",
      opts, n_opts, 0, 0};
  mf_strlist pos = {0};
  mhrfit_pipeline_options o;
  mhrfit_pipeline_options_init(&o);
  mhrfit_pipeline *p = NULL;
  mf_rig_src rig_src;
  int rc = mf_args_parse(&spec, argc, argv, &pos);
  if (rc >= 0 || (rc = run_finish(&c, &o)) >= 0 || (rc = mf_rig_choose(c.assets, c.rig, "run", &rig_src)) >= 0)
    goto done;
  mhrfit_error err = {0};
  run_view view = {c.quiet, isatty(2) != 0, false};
  o.rig_path = rig_src.path;
  o.log = on_log;
  o.progress = on_progress;
  o.user = &view;
  mhrfit_pipeline_result res;
  bool ok = mf_rig_check(&rig_src, &err) && (p = mhrfit_pipeline_new(&o, &err)) != NULL &&
            mhrfit_pipeline_run(p, &res, &err);
  end_line(&view);
  if (!ok) {
    rc = mf_report("run", &err);
    goto done;
  }
  if (!c.quiet) print_result(&o, &res);
  rc = MF_EXIT_OK;
done:
  mhrfit_pipeline_free(p);
  mf_strlist_free(&pos);
  mf_strlist_free(&c.cams);
  mf_strlist_free(&c.frames);
  mf_strlist_free(&c.model_ids);
  return rc;
}
