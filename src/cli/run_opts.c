/* The options of `mhrfit run` (run_opts.h). */
#include <stdint.h>
#include <string.h>

#include "cli/run_opts.h"
#include "mhrfit/layout.h"

const char *const mf_run_group_titles[MF_RUN_GROUPS] = {
    "Input and output", "A detector's 2-D keypoints instead of SAM 3D Body outputs (no stage 1)",
    "Stage 1: SAM 3D Body outputs and person selection", "Stage 2: triangulation",
    "Stage 3: fit, frame by frame", "The sequence: recovery of failed frames and smoothing"};

size_t mf_run_table(mf_run_cli *c, mf_opt *opts, size_t group_end[MF_RUN_GROUPS]) {
  memset(c, 0, sizeof *c);
  c->strategy = "largest_bbox";
  c->freeze_from = "first_fit";
  c->lod = -1;
  c->min_views = 2;
  c->max_stale = 40;
  c->edge_span = 15;
  c->retries = 1;
  c->workers = 1;
  c->worker_restarts = 3;
  c->worker_start_timeout = 600;
  c->calib_frames = 24;
  c->max_mib = 256;
  mf_tri_cli_init(&c->tc);
  mf_fit_cli_init(&c->fc);
  mf_smooth_cli_init(&c->sc);
  c->sc.fps_from_capture = true;
  const mf_opt io[] = {
      {"input", MF_OPT_STRING, &c->input, "DIR",
       "capture: one folder per frame holding <cam>.npz|.npy SAM 3D Body outputs and/or <cam>.jpg|.png|... images "
       "(with --input_format: the detector's keypoints); required", NULL},
      {"calib", MF_OPT_STRING, &c->calib, "FILE", "calibration file (Caliscope/Anipose/Pose2Sim TOML or JSON); required", NULL},
      {"out", MF_OPT_STRING, &c->out, "DIR", "output folder (one run at a time: it is locked while the run writes); required", NULL},
      {"cams", MF_OPT_LIST, &c->cams, "NAME", "calibration names of the cameras to use (default: every calibrated camera that has files)", NULL},
      {"cam_map", MF_OPT_LIST, &c->cam_map, "FILE=NAME",
       "file names that differ from the calibration names, e.g. cam01=cam_01 reads <frame>/cam01.npz for cam_01 "
       "(openpose: the folder cam01_json; cam01_json=cam_01 names it too)", NULL},
      {"frames", MF_OPT_LIST, &c->frames, "NAME", "only these frame folders (default: every frame, natural order)", NULL},
      MF_OPT_ALIAS_OF("frame_rel", "frames"),
      {"sam_dir", MF_OPT_STRING, &c->sam_dir, "DIR", "SAM 3D Body outputs <DIR>/<frame>/<cam>.npz|.npy (default: --input)", NULL},
      MF_RIG_OPT_ASSETS(&c->assets),
      MF_RIG_OPT_RIG(&c->rig),
      {"lod", MF_OPT_INT, &c->lod, "N", MF_LOD_HELP, NULL},
      {"mesh", MF_OPT_FLAG, &c->mesh, NULL,
       "write the mesh (pred_vertices, faces) into the sequence files (default: none; per-frame fit.npz never hold it)", NULL},
      {"no_mesh", MF_OPT_FLAG, &c->no_mesh, NULL, "no mesh (the default; accepted for older scripts)", NULL},
      {"overwrite", MF_OPT_FLAG, &c->overwrite, NULL, "redo every frame (default: reuse frames whose inputs and settings are unchanged)", NULL},
      MF_OPT_ALIAS_OF("force", "overwrite"),
      {"jobs", MF_OPT_INT, &c->jobs, "N",
       "threads: stage 1 and the per-frame files over frames, the fit in frame order beside them (default 0: every "
       "core this process may use); the files are the same for every N", NULL},
      {"report", MF_OPT_FLAG, &c->report, NULL,
       "write <out>/report.html at the end (mhrfit report: the body at LOD 6, no camera images; see mhrfit report --help)",
       NULL},
      {"overlay", MF_OPT_FLAG, &c->overlay, NULL,
       "write the overlays of mhrfit overlay into <out>/overlay/ at the end: the fit drawn over each camera's pictures "
       "(no pictures: a warning; see mhrfit overlay --help)", NULL},
      {"overlay_capture", MF_OPT_STRING, &c->overlay_capture, "DIR",
       "their pictures <DIR>/<frame>/<cam>.jpg|png (default: the capture, --input; with --input_format, give them)", NULL},
      {"overlay_layers", MF_OPT_STRING, &c->overlay_layers, "LIST",
       "mesh,skeleton,others,keypoints,points,caption | all (default) | none", NULL},
      {"overlay_mesh", MF_OPT_STRING, &c->overlay_mesh, "STYLE", "silhouette (default) | wireframe", NULL},
      {"overlay_format", MF_OPT_STRING, &c->overlay_format, "F", "overlay pictures: jpg (default) | png", NULL},
      {"overlay_video", MF_OPT_FLAG, &c->overlay_video, NULL, "also one video per camera, <out>/overlay/<cam>.mp4", NULL},
      {"overlay_grid", MF_OPT_FLAG, &c->overlay_grid, NULL, "also <out>/overlay/grid.mp4: every camera side by side", NULL},
      {"overlay_rescale", MF_OPT_FLAG, &c->overlay_rescale, NULL,
       "resample pictures whose size differs from the calibration's (default: skip them)", NULL},
      MF_OPT_QUIET(&c->quiet),
  };
  const mf_opt detector[] = {
      {"input_format", MF_OPT_STRING, &c->input_format, "F",
       "openpose (--input holds <cam>_json folders) | arrays (<cam>.npy of shape (F,K,2|3)) | caliscope_csv "
       "(xy_<TRACKER>.csv): fit MHR to these keypoints without views (default: a SAM 3D Body capture)", NULL},
      {"layout", MF_OPT_STRING, &c->layout, "L", "their keypoint layout: " MHRFIT_LAYOUT_NAMES " (openpose: required)", NULL},
      {"keypoint_names", MF_OPT_STRING, &c->keypoint_names, "FILE",
       "arrays, caliscope_csv without --layout: the keypoints' names, one per line or a JSON list", NULL},
      {"keypoint_map", MF_OPT_STRING, &c->keypoint_map, "FILE",
       "JSON map of keypoint names to MHR joints (with offsets, weights) amending --layout's; required without it", NULL},
      {"cam_dirs", MF_OPT_LIST, &c->cam_dirs, "DIR", "openpose: one folder per camera, in --cams order (default <cam>_json)", NULL},
      {"calib_frames", MF_OPT_INT, &c->calib_frames, "N",
       "frames of the sequence's marker calibration (default 24)", NULL},
  };
  const mf_opt stage1[] = {
      {"estimator", MF_OPT_STRING, &c->estimator, "CMD",
       "command run where an output is missing, with {image} and {output} (see mhrfit ingest --help; default: none)", NULL},
      {"estimator_worker", MF_OPT_STRING, &c->worker, "CMD",
       "instead of --estimator: a command started once per worker that loads the model once and answers one JSON "
       "request per line (README: \"Estimator workers\"); {worker} = the worker's index; the calibration's "
       "intrinsics go to it as cam_int", NULL},
      {"workers", MF_OPT_INT, &c->workers, "N", "estimator worker processes (default 1)", NULL},
      {"estimator_timeout", MF_OPT_DOUBLE, &c->estimator_timeout, "SEC",
       "a worker request taking longer is killed, the view marked missing and retried next run (default 0 = none)", NULL},
      {"worker_start_timeout", MF_OPT_DOUBLE, &c->worker_start_timeout, "SEC",
       "seconds a worker may take to load its model and say it is ready, or without a ready line to answer "
       "its first request (default 600)", NULL},
      {"worker_restarts", MF_OPT_INT, &c->worker_restarts, "N",
       "failures in a row after which a worker is restarted (default 3); one more stops the run", NULL},
      {"model_id", MF_OPT_LIST, &c->model_ids, "ID", "estimator model identifiers, recorded and compared", NULL},
      {"person_select_strategy", MF_OPT_STRING, &c->strategy, "S", "largest_bbox | first | person_index (default largest_bbox)", NULL},
      {"person_index", MF_OPT_INT, &c->person, "N", "the person with --person_select_strategy person_index; openpose: the person of the JSON files (default 0)", NULL},
      {"max_inflated_mib", MF_OPT_INT, &c->max_mib, "N",
       "most MiB one SAM output may hold or inflate to (an .npz's members, checked before inflating; default 256)",
       NULL},
  };
  const mf_opt stage3[] = {
      {"freeze_lower_body_from", MF_OPT_STRING, &c->freeze_from, "S",
       "with --freeze_lower_body, what the legs are locked to: first_fit (a frame without a temporal prior — the first, "
       "or the first after a gap longer than --max_stale_frames — is fitted with its lower body free, later frames keep "
       "its values) | view (the initial view's SAM 3D Body estimate, as the original) (default first_fit)", NULL},
      {"min_views", MF_OPT_INT, &c->min_views, "N", "fewest cameras with a file for a frame to be processed (default 2)", NULL},
      {"max_stale_frames", MF_OPT_INT, &c->max_stale, "N", "temporal prior only from a good frame at most N frames back (default 40)", NULL},
      {"bad_frame_retries", MF_OPT_INT, &c->retries, "N", "refits of a bad frame with a stronger temporal prior (default 1)", NULL},
      {"per_frame_scales", MF_OPT_FLAG, &c->per_frame_scales, NULL,
       "take the skeleton scales from each frame's initial view (default: the first good frame's, for the whole sequence)", NULL},
  };
  const mf_opt sequence[] = {
      {"max_edge_copy_span", MF_OPT_INT, &c->edge_span, "N", "recovery copies the nearest good frame at the ends up to N frames (default 15)", NULL},
      {"no_smoothing", MF_OPT_FLAG, &c->no_smoothing, NULL, "do not smooth (sequence_smoothed.npz is not written)", NULL},
  };
  size_t n = 0;
  memcpy(opts + n, io, sizeof io);
  group_end[0] = n += sizeof io / sizeof io[0];
  memcpy(opts + n, detector, sizeof detector);
  group_end[1] = n += sizeof detector / sizeof detector[0];
  memcpy(opts + n, stage1, sizeof stage1);
  group_end[2] = n += sizeof stage1 / sizeof stage1[0];
  group_end[3] = n += mf_tri_cli_table(&c->tc, opts + n);
  n += mf_fit_cli_table(&c->fc, opts + n);
  memcpy(opts + n, stage3, sizeof stage3);
  group_end[4] = n += sizeof stage3 / sizeof stage3[0];
  memcpy(opts + n, sequence, sizeof sequence);
  n += sizeof sequence / sizeof sequence[0];
  group_end[5] = n += mf_smooth_cli_table(&c->sc, opts + n);
  return n;
}

/* The --overlay_* values; -1 when valid, else the usage exit code. */
static int overlay_finish(const mf_run_cli *c, mhrfit_pipeline_options *o) {
  bool any = c->overlay_capture || c->overlay_layers || c->overlay_mesh || c->overlay_format || c->overlay_video ||
             c->overlay_grid || c->overlay_rescale;
  if (any && !c->overlay) return mf_usage_error("run", "the --overlay_* options go with --overlay");
  mhrfit_error err = {0};
  if (c->overlay_layers && !mhrfit_overlay_layers_parse(c->overlay_layers, &o->overlay_layers, &err))
    return mf_usage_error("run", "--overlay_layers: %s", err.message);
  const char *m = c->overlay_mesh ? c->overlay_mesh : "silhouette", *f = c->overlay_format ? c->overlay_format : "jpg";
  if (strcmp(m, "silhouette") != 0 && strcmp(m, "wireframe") != 0)
    return mf_usage_error("run", "--overlay_mesh '%s': expected silhouette or wireframe", m);
  if (strcmp(f, "jpg") != 0 && strcmp(f, "jpeg") != 0 && strcmp(f, "png") != 0)
    return mf_usage_error("run", "--overlay_format '%s': expected jpg or png", f);
  o->overlay = c->overlay;
  o->overlay_capture = c->overlay_capture;
  o->overlay_mesh = strcmp(m, "wireframe") == 0 ? MHRFIT_MESH_WIREFRAME : MHRFIT_MESH_SILHOUETTE;
  o->overlay_format = strcmp(f, "png") == 0 ? MHRFIT_IMAGE_PNG : MHRFIT_IMAGE_AUTO; /* AUTO: JPEG */
  o->overlay_video = c->overlay_video;
  o->overlay_grid = c->overlay_grid;
  o->overlay_rescale = c->overlay_rescale;
  return -1;
}

int mf_run_finish(mf_run_cli *c, mhrfit_pipeline_options *o) {
  if (!c->input || !c->calib || !c->out) return mf_usage_error("run", "--input, --calib and --out are required");
  if (c->cams.count == 1) return mf_usage_error("run", "--cams: at least two cameras are needed (or none: every calibrated camera with files)");
  if (c->min_views < 2 || c->min_views > 64) return mf_usage_error("run", "--min_views must be in 2..64, got %ld", c->min_views);
  if (c->retries < 0 || c->retries > 10) return mf_usage_error("run", "--bad_frame_retries must be in 0..10, got %ld", c->retries);
  if (c->max_stale < 0 || c->max_stale > 1000000000)
    return mf_usage_error("run", "--max_stale_frames must be >= 0, got %ld", c->max_stale);
  if (c->edge_span < 0 || c->edge_span > 1000000000)
    return mf_usage_error("run", "--max_edge_copy_span must be >= 0, got %ld", c->edge_span);
  if (c->person < 0) return mf_usage_error("run", "--person_index must be >= 0, got %ld", c->person);
  if (c->lod < -1 || c->lod > 99) return mf_usage_error("run", "--lod must be in 0..99, got %ld", c->lod);
  if (c->jobs < 0 || c->jobs > MHRFIT_PIPELINE_MAX_JOBS)
    return mf_usage_error("run", "--jobs must be in 0..%d (0: every core), got %ld", MHRFIT_PIPELINE_MAX_JOBS, c->jobs);
  if (c->workers < 1 || c->workers > 1024 || c->worker_restarts < 0 || c->worker_restarts > 1000000 ||
      !(c->estimator_timeout >= 0) || !(c->worker_start_timeout > 0))
    return mf_usage_error("run", "--workers must be within 1..1024, --worker_restarts >= 0, --estimator_timeout >= 0 "
                                 "and --worker_start_timeout > 0");
  if (c->max_mib < 1 || c->max_mib > (long)(SIZE_MAX >> 21))
    return mf_usage_error("run", "--max_inflated_mib must be at least 1, got %ld", c->max_mib);
  if (c->calib_frames < 1 || c->calib_frames > 10000)
    return mf_usage_error("run", "--calib_frames must be in 1..10000, got %ld", c->calib_frames);
  int rc;
  if ((rc = mf_tri_cli_finish(&c->tc, "run")) >= 0 || (rc = mf_fit_cli_finish(&c->fc, "run")) >= 0 ||
      (rc = mf_smooth_cli_finish(&c->sc, "run")) >= 0)
    return rc;
  char mode[64];
  snprintf(mode, sizeof mode, "--input_format %s", c->input_format ? c->input_format : "");
  if (c->input_format && (rc = mf_fit_cli_no_views(&c->fc, "run", mode)) >= 0) return rc;
  if (strcmp(c->freeze_from, "first_fit") != 0 && strcmp(c->freeze_from, "view") != 0)
    return mf_usage_error("run", "--freeze_lower_body_from must be first_fit or view, got '%s'", c->freeze_from);
  mhrfit_error err = {0};
  if (!mhrfit_person_strategy_parse(c->strategy, &o->person_strategy, &err))
    return mf_usage_error("run", "--person_select_strategy: %s", err.message);
  if ((rc = overlay_finish(c, o)) >= 0) return rc;
  o->input_dir = c->input;
  o->sam_dir = c->sam_dir;
  o->calib_path = c->calib;
  o->out_dir = c->out;
  o->cams = c->cams.items;
  o->n_cams = c->cams.count;
  o->cam_map = c->cam_map.items;
  o->n_cam_map = c->cam_map.count;
  o->frames = c->frames.count ? c->frames.items : NULL;
  o->n_frames = c->frames.count;
  o->lod = (int)c->lod;
  o->write_mesh = c->mesh && !c->no_mesh;
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
  o->jobs = (size_t)c->jobs;
  o->report = c->report;
  o->estimator_worker = c->worker;
  o->workers = (size_t)c->workers;
  o->estimator_timeout = c->estimator_timeout;
  o->worker_start_timeout = c->worker_start_timeout;
  o->worker_max_restarts = (size_t)c->worker_restarts;
  o->input_format = c->input_format;
  o->layout = c->layout;
  o->keypoint_names = c->keypoint_names;
  o->keypoint_map = c->keypoint_map;
  o->cam_dirs = c->cam_dirs.items;
  o->n_cam_dirs = c->cam_dirs.count;
  o->calib_frames = (int)c->calib_frames;
  o->max_inflated_bytes = (size_t)c->max_mib << 20;
  return -1;
}

void mf_run_cli_free(mf_run_cli *c) {
  mf_strlist_free(&c->cams);
  mf_strlist_free(&c->frames);
  mf_strlist_free(&c->model_ids);
  mf_strlist_free(&c->cam_map);
  mf_strlist_free(&c->cam_dirs);
}
