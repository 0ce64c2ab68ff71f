/* mhrfit fit: stage 3, fit MHR to the triangulated points of one frame or a batch of frames. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/clock.h"
#include "common/file.h"
#include "mhrfit/fit_io.h"
#include "mhrfit/layout.h"
#include "mhrfit/sam3d.h"

/* The batch's warnings and, on a terminal, its progress line. */
typedef struct fit_ui {
  bool tty;
  double t0;
} fit_ui;

static void on_warning(void *user, const char *message) {
  (void)user;
  fprintf(stderr, "mhrfit fit: warning: %s\n", message);
}

static void on_frame(void *user, const mhrfit_fit_batch_progress *p) {
  const fit_ui *ui = user;
  if (!ui->tty) return;
  double rate = (double)(p->frame + 1) / (mf_now_seconds() - ui->t0);
  fprintf(stderr, "\rfit: %zu/%zu frames, %.1f frames/s, ETA %.0f s, %zu bad, %zu failed   ", p->frame + 1, p->n_frames,
          rate, (double)(p->n_frames - p->frame - 1) / rate, p->n_bad, p->n_failed);
}

/* The summary on stdout; the exit code (1 when no frame could be fitted). */
static int summary(const mhrfit_fit_archive *ar, const mhrfit_fit_batch_progress *s, const char *out, bool quiet) {
  size_t F = ar->n_frames;
  if (!quiet) {
    if (F == 1 && s->n_failed == 0) {
      const double *L = ar->losses;
      const int32_t *C = ar->counts;
      printf("fitted 1 frame (%s solver): status %s, initial view %s, %d iterations, %d valid points\n", ar->solver,
             ar->status[0], ar->init_cam[0], C[0], C[2]);
      printf("loss %.4g -> %.4g (data %.4g -> %.4g), %.2f ms\n", L[0], L[2], L[3], L[5], 1e3 * s->solver_seconds);
    } else {
      printf("fitted %zu frame(s) (%s solver): %zu ok, %zu bad_loss, %zu failed; %.2f ms per frame in the solver\n", F,
             ar->solver, s->n_ok, s->n_bad, s->n_failed, 1e3 * s->solver_seconds / (double)F);
    }
    printf("wrote %s\n", out);
  }
  if (s->n_ok + s->n_bad > 0) return MF_EXIT_OK;
  fprintf(stderr, "mhrfit fit: error: no frame could be fitted\n");
  return MF_EXIT_FAILURE;
}

/* The parsed command line. */
typedef struct fit_cmd {
  const char *tri_path, *views_dir, *assets, *rig_path, *out, *init_pose, *debug_dir, *layout, *keypoint_map, *calib,
      *translation_unit;
  long calib_frames, lod, person, max_stale;
  bool allow_missing, no_mesh, quiet, invert_extrinsics;
  mf_strlist cams;
  mf_fit_cli fc;
} fit_cmd;

/* Every check of the values before any file is read: -1 when valid, else the exit code. */
static int check_args(fit_cmd *c) {
  bool no_views = !c->views_dir;
  if (!c->tri_path || (no_views && !c->layout && !c->keypoint_map) || !c->out)
    return mf_usage_error("fit", "--tri, --out and --views (or --layout / --keypoint_map) are required");
  if (!no_views && (c->layout || c->keypoint_map))
    return mf_usage_error("fit", "--layout and --keypoint_map fit without views: leave out --views");
  if (!no_views && (c->calib || c->translation_unit || c->invert_extrinsics))
    return mf_usage_error("fit", "--calib, --translation_unit and --invert_extrinsics apply to fits without views "
                                 "(--layout / --keypoint_map)");
  if (no_views && (c->init_pose || c->debug_dir || c->cams.count))
    return mf_usage_error("fit", "--init_pose, --debug_dir and --cams apply to fits with --views");
  if (c->calib_frames < 1 || c->calib_frames > 10000)
    return mf_usage_error("fit", "--calib_frames must be in 1..10000, got %ld", c->calib_frames);
  if (c->person < 0 || c->max_stale < 0)
    return mf_usage_error("fit", "--person_index and --max_stale_frames must be >= 0");
  int rc;
  if ((rc = mf_fit_cli_finish(&c->fc, "fit")) >= 0 || (rc = mf_lod_check(c->lod, "fit")) >= 0 ||
      (rc = mf_translation_unit_check(c->translation_unit, "fit")) >= 0)
    return rc;
  if (no_views && (rc = mf_fit_cli_no_views(&c->fc, "fit", "--layout / --keypoint_map")) >= 0) return rc;
  const mf_path_opt ins[6] = {{"tri", c->tri_path},     {"views", c->views_dir}, {"init_pose", c->init_pose},
                              {"keypoint_map", c->keypoint_map}, {"rig", c->rig_path},    {"calib", c->calib}};
  return mf_check_output("fit", (mf_path_opt){"out", c->out}, ins, 6);
}

/* The fit with SAM 3D Body views (stage 3 proper). */
static int fit_views(fit_cmd *c, const mf_rig_src *rig_src) {
  mhrfit_error err = {0};
  mhrfit_tri_archive *tri = NULL;
  mhrfit_rig *rig = NULL;
  mhrfit_fit_batch *batch = NULL;
  mhrfit_fit_archive *ar = NULL;
  int rc;
  fit_ui ui = {false, 0};
  double prior[MHRFIT_N_MODEL_PARAMS];
  mhrfit_fit_batch_options bo;
  mhrfit_fit_batch_options_init(&bo);
  bo.cams = c->cams.count ? (const char *const *)c->cams.items : NULL;
  bo.n_cams = c->cams.count;
  bo.person_index = (size_t)c->person;
  bo.allow_missing_views = c->allow_missing;
  bo.max_stale_frames = c->max_stale;
  bo.init_pose = c->init_pose ? prior : NULL;
  bo.no_mesh = c->no_mesh;
  bo.debug_dir = c->debug_dir;
  bo.on_warning = on_warning;
  bo.on_frame = on_frame;
  bo.user = &ui;
  mhrfit_fit_batch_progress fitted;
  if (!(tri = mhrfit_tri_archive_load(c->tri_path, &err)) ||
      !(batch = mhrfit_fit_batch_new(tri, c->views_dir, &bo, &err)) ||
      (c->init_pose && !mhrfit_fit_init_pose_load(c->init_pose, prior, &err)) ||
      !(rig = mf_rig_src_load(rig_src, c->lod, MHRFIT_RIG_NO_CORRECTIVE_BLENDSHAPES, &err)))
    goto fail;
  ui.tty = !c->quiet && tri->n_frames > 1 && isatty(2);
  ui.t0 = mf_now_seconds();
  if (!(ar = mhrfit_fit_batch_process(batch, rig, &c->fc.o, &fitted, &err))) goto fail;
  if (ui.tty) fprintf(stderr, "\n");
  if (!mhrfit_fit_archive_save(c->out, ar, &err) || !mf_sync_file(c->out, &err)) goto fail; /* a final output: durable */
  rc = summary(ar, &fitted, c->out, c->quiet);
  goto done;
fail:
  rc = mf_report("fit", &err);
done:
  mhrfit_fit_archive_free(ar);
  mhrfit_fit_batch_free(batch);
  mhrfit_rig_free(rig);
  mhrfit_tri_archive_free(tri);
  return rc;
}

int mf_cmd_fit(int argc, char **argv) {
  fit_cmd c = {.calib_frames = 24, .lod = -1, .max_stale = 40, .allow_missing = true};
  mf_fit_cli_init(&c.fc);
  mf_opt opts[23 + MF_FIT_CLI_N_OPTS];
  const mf_opt own[] = {
      {"tri", MF_OPT_STRING, &c.tri_path, "TRI.npz",
       "triangulation archive of mhrfit triangulate (MHR70 keypoints with --views; a detector layout's with --layout / "
       "--keypoint_map); required", NULL},
      {"views", MF_OPT_STRING, &c.views_dir, "DIR",
       "stage-1 files <cam>.npz|.npy of the frame, or one sub-folder per frame (natural order) for a batch; "
       "required unless --layout or --keypoint_map", NULL},
      {"layout", MF_OPT_STRING, &c.layout, "L",
       "no views: fit the keypoints of a detector layout (" MHRFIT_LAYOUT_NAMES ") alone", NULL},
      {"keypoint_map", MF_OPT_STRING, &c.keypoint_map, "FILE",
       "no views: JSON map of keypoint names to MHR joints (with offsets, weights), amending --layout's", NULL},
      {"calib_frames", MF_OPT_INT, &c.calib_frames, "N", "no views: frames of the marker calibration (default 24)", NULL},
      {"calib", MF_OPT_STRING, &c.calib, "FILE",
       "no views: the triangulation's camera calibration; each point's error is then weighted by what its cameras "
       "see, and refitted on the 2-D detections the archive keeps, as in mhrfit run (default: Euclidean "
       "distances, no refits)", NULL},
      MF_CALIB_OPT_INVERT(&c.invert_extrinsics),
      MF_CALIB_OPT_UNIT(&c.translation_unit),
      {"out", MF_OPT_STRING, &c.out, "FIT.npz", "output archive; required", NULL},
      {"cams", MF_OPT_LIST, &c.cams, "NAME", "cameras whose estimates start the fit (default: the triangulation's cameras)", NULL},
      MF_RIG_OPT_ASSETS(&c.assets),
      MF_RIG_OPT_RIG(&c.rig_path),
      {"lod", MF_OPT_INT, &c.lod, "N",
       MF_LOD_HELP, NULL},
      {"no_mesh", MF_OPT_FLAG, &c.no_mesh, NULL, "leave pred_vertices out of the output", NULL},
      {"init_pose", MF_OPT_STRING, &c.init_pose, "FILE",
       "temporal prior of the first frame: a fit.npz / stage-1 file or a plain array of 204 or 133 values", NULL},
      {"person_index", MF_OPT_INT, &c.person, "N", "person in multi-person stage-1 files (default 0; mhrfit ingest selects)", NULL},
      {"allow_missing_views", MF_OPT_FLAG, &c.allow_missing, NULL,
       "a camera without a file is an unusable view, not an error (default on; --no_allow_missing_views)", NULL},
      {"max_stale_frames", MF_OPT_INT, &c.max_stale, "N",
       "batch: the previous good frame is the temporal prior when at most N frames back (default 40)", NULL},
      {"debug_dir", MF_OPT_STRING, &c.debug_dir, "DIR",
       "write per frame residuals.tsv, views.tsv and loss_curve.svg into DIR/<frame>/", NULL},
      MF_OPT_QUIET(&c.quiet),
  };
  size_t n_own = sizeof own / sizeof own[0];
  memcpy(opts, own, sizeof own);
  size_t n_opts = n_own + mf_fit_cli_table(&c.fc, opts + n_own);
  const mf_cmd_spec spec = {
      "fit", "--tri TRI.npz (--views DIR | --layout L) --out FIT.npz [--cams A B ...] [--assets DIR | --rig RIG.npz] [options]",
      "Fits MHR's pose to triangulated MHR70 keypoints (stage 3): the best camera's SAM 3D Body\n"
      "estimate starts a Levenberg-Marquardt fit of the body pose and a similarity (scale, rotation,\n"
      "translation) with Huber residuals and pose / temporal / hand regularisers. A batch (a\n"
      "triangulation with a frame axis) is fitted in order, each frame using the previous good frame\n"
      "as its temporal prior. Writes fit.npz: parameters, world keypoints, joints, rotations, mesh\n"
      "and opt_* diagnostics (losses, iterations, chosen view, per-view scores, status).\n"
      "Without views (--layout L and/or --keypoint_map FILE) the triangulated keypoints of any\n"
      "2-D detector are fitted alone: body proportions and marker offsets are calibrated over the\n"
      "sequence, each frame starts from the previous one (or from the rest pose, limb by limb),\n"
      "within the joint limits (--no_joint_limits, --with_scale and --freeze_lower_body are refused);\n"
      "pred_keypoints_3d then holds the layout's keypoints.",
      opts, n_opts, 0, 0};
  mf_strlist pos;
  int rc = mf_args_parse(&spec, argc, argv, &pos);
  if (rc >= 0) {
    mf_strlist_free(&c.cams);
    return rc;
  }
  mf_strlist_free(&pos);
  mf_rig_src rig_src;
  if ((rc = check_args(&c)) < 0 && (rc = mf_rig_choose(c.assets, c.rig_path, "fit", &rig_src)) < 0) {
    if (c.views_dir) {
      rc = fit_views(&c, &rig_src);
    } else {
      mf_fit_detector_args da = {c.tri_path, c.out, c.layout, c.keypoint_map, c.calib, &rig_src, c.lod, c.calib_frames,
                                 c.max_stale, c.no_mesh, c.quiet, &c.fc.o,
                                 {.invert_extrinsics = c.invert_extrinsics, .translation_unit = c.translation_unit}};
      rc = mf_fit_detector(&da);
    }
  }
  mf_strlist_free(&c.cams);
  return rc;
}
