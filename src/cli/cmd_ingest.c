/* mhrfit ingest: stage 1, per-view SAM 3D Body outputs → one selected person per view. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "mhrfit/calib.h"
#include "mhrfit/ingest.h"
#include "mhrfit/npy.h"

static void on_log(void *user, mhrfit_ingest_log_level level, const char *msg) {
  mf_cli_status_log(user, (int)level, msg);
}

static void on_progress(void *user, size_t done, size_t total) { mf_cli_status_progress(user, done, total); }

/* --calib: each camera's intrinsics for the workers' cam_int (NaN rows for cameras the file
 * lacks); NULL with err filled when the file cannot be read. */
static double *load_intrinsics(const char *path, const mf_strlist *cams, mhrfit_error *err) {
  mhrfit_calib *calib = mhrfit_calib_load(path, NULL, err);
  double *k = calib ? calloc(cams->count * 9, sizeof *k) : NULL;
  if (calib && !k) MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
  for (size_t c = 0; k && c < cams->count; c++) {
    long i = mhrfit_calib_find(calib, cams->items[c]);
    for (int j = 0; j < 9; j++) k[9 * c + j] = i >= 0 ? calib->cams[i].K[j] : NAN;
    if (i < 0)
      fprintf(stderr, "mhrfit ingest: warning: %s has no camera '%s': its worker requests carry no cam_int\n", path,
              cams->items[c]);
  }
  mhrfit_calib_free(calib);
  return k;
}

/* --check: the plan, one line per frame. */
static int print_plan(const mhrfit_ingest_options *o) {
  mhrfit_error err = {0};
  mhrfit_ingest_plan *p = mhrfit_ingest_check(o, &err);
  if (!p) return mf_report("ingest", &err);
  for (size_t i = 0; i < p->n_frames; i++)
    printf("%-12s %-18s %s\n", p->frames[i].frame, mhrfit_ingest_reason_name(p->frames[i].reason), p->frames[i].detail);
  printf("%zu frame(s): %zu to ingest, %zu up to date\n", p->n_frames, p->n_redo, p->n_frames - p->n_redo);
  mhrfit_ingest_plan_free(p);
  return MF_EXIT_OK;
}

static void print_summary(const mhrfit_ingest_summary *s, const char *out) {
  printf("frames: %zu ingested, %zu reused, %zu failed (of %zu)\n", s->frames_ingested, s->frames_reused,
         s->frames_failed, s->frames_total);
  printf("views: %zu written, %zu missing, %zu without a person, %zu failed", s->views_written, s->views_missing,
         s->views_no_person, s->views_failed);
  if (s->views_timeout) printf(", %zu timed out", s->views_timeout);
  printf("; estimator runs: %zu", s->estimator_runs);
  if (s->worker_starts) printf(" (%zu worker start(s))", s->worker_starts);
  printf("\n%s %s/stage1_meta.json\n", s->meta_written ? "wrote" : "unchanged", out);
}

static const char *const ingest_summary =
    "Stage 1: for every frame folder and camera, reads the SAM 3D Body output (.npz, plain .npy,\n"
    "pickled dict or list of per-person dicts, arrays with a leading person axis), or makes it\n"
    "with --estimator from the image; selects one person; validates it; writes\n"
    "<out>/stage1/<frame>/<cam>.npz (SAM key names, atomic) and <out>/stage1_meta.json.\n"
    "\n"
    "Input tree: <input>/<frame>/<cam>.<jpg|jpeg|png|bmp|gif|tif|tiff|webp> images and\n"
    "<sam_dir>/<frame>/<cam>.npz|.npy SAM outputs (sam_dir = input by default). Estimator outputs\n"
    "go to <out>/sam3d/<frame>/<cam>.npz. A camera with neither image nor output is a missing view.\n"
    "A frame is a folder holding a file of one of the cameras; other folders (videos, an earlier\n"
    "output folder) are named once and skipped. One process at a time writes --out (it is locked).\n"
    "\n"
    "Selection: largest_bbox takes the largest bbox area; a person without a finite bbox loses\n"
    "to any with one; ties keep the lowest index. first takes person 0. person_index takes\n"
    "--person_index, clipped to the range.\n"
    "\n"
    "Cache: an unchanged rerun reuses every frame untouched. A frame is re-ingested, with the\n"
    "reason printed, when an image or SAM output changed (size or xxHash64 of the content),\n"
    "appeared or vanished, its stage-1 file is missing or modified, it failed before, or it was\n"
    "not part of the previous frame subset; a changed input root, camera list, strategy,\n"
    "estimator command, model identifier or mhrfit version re-ingests every frame.\n"
    "\n"
    "Estimators: --estimator runs a command per image (exit status 0 and {output} written mean\n"
    "success; one that cannot be run, or fails its first two images the same way before any\n"
    "success, stops the run with its exit status and last lines). --estimator_worker starts a command once per worker (--workers N; {worker} = its\n"
    "index, e.g. CUDA_VISIBLE_DEVICES={worker}) that loads the model once, may print {\"ready\": true},\n"
    "then answers each request line {\"id\", \"image\", \"output\", \"frame\", \"cam\"[, \"cam_int\"]}\n"
    "with {\"ok\": true} or {\"ok\": false, \"error\": ...}. A crashed worker is restarted, a request\n"
    "past --estimator_timeout killed and its view marked missing (timeout, retried next run), a\n"
    "garbage reply fails its view; --worker_restarts failures in a row are restarted, one more\n"
    "stops the run. Outputs go to <out>/sam3d/ and are reused while image, command, intrinsics\n"
    "(--calib) and --model_id stay the same.\n"
    "\n"
    "A failing view (corrupt file, estimator failure) fails its frame; the other frames go on.\n"
    "Exit status 1 when any frame failed. Examples:\n"
    "  mhrfit ingest --input capture --cams left front right --out work \\\n"
    "    --estimator 'python3 tools/sam3d_body_adapter.py --checkpoint_path ckpt.pt {image} {output}' \\\n"
    "    --model_id checkpoint=ckpt.pt detector=vitdet\n"
    "  mhrfit ingest --input capture --cams left front right --out work --calib calib.toml --workers 2 \\\n"
    "    --estimator_worker 'CUDA_VISIBLE_DEVICES={worker} python3 tools/sam3d_body_worker.py \\\n"
    "      --checkpoint_path ckpt.pt' --model_id checkpoint=ckpt.pt";

/* The parsed command line. */
typedef struct ingest_cmd {
  const char *input, *out, *sam_dir, *strategy, *estimator, *worker, *calib;
  mf_strlist cams, frames, model_ids;
  long person_index, max_mib, workers, restarts;
  double timeout, start_timeout;
  bool force, compress, quiet, check_only;
} ingest_cmd;

/* The checks of the values, then the ingest (or its plan with --check); the exit code. */
static int ingest(ingest_cmd *c) {
  mhrfit_error err = {0};
  mhrfit_ingest_options o;
  mhrfit_ingest_options_init(&o);
  if (!c->input || !c->out || c->cams.count == 0)
    return mf_usage_error("ingest", "--input, --out and --cams are required");
  if (c->person_index < 0 || c->max_mib < 1 || c->max_mib > (long)(SIZE_MAX >> 21))
    return mf_usage_error("ingest", c->person_index < 0 ? "--person_index must be >= 0, got %ld"
                                                        : "--max_inflated_mib must be at least 1, got %ld",
                          c->person_index < 0 ? c->person_index : c->max_mib);
  o.max_inflated_bytes = (size_t)c->max_mib << 20;
  if (!mhrfit_person_strategy_parse(c->strategy, &o.strategy, &err))
    return mf_usage_error("ingest", "--person_select_strategy: %s", err.message);
  if (c->estimator && (!strstr(c->estimator, "{image}") || !strstr(c->estimator, "{output}")))
    return mf_usage_error("ingest", "--estimator must contain {image} and {output}");
  if ((c->estimator && c->worker) || (c->calib && !c->worker))
    return mf_usage_error("ingest", c->estimator && c->worker ? "--estimator and --estimator_worker exclude each other"
                                                              : "--calib gives the intrinsics to --estimator_worker only");
  if (c->workers < 1 || c->workers > 1024 || c->restarts < 0 || c->timeout < 0 || c->start_timeout <= 0)
    return mf_usage_error("ingest",
                          "--workers must be within 1..1024, --worker_restarts >= 0, --estimator_timeout >= 0 "
                          "and --worker_start_timeout > 0");
  double *intrinsics = NULL;
  if (c->calib && !(intrinsics = load_intrinsics(c->calib, &c->cams, &err))) return mf_report("ingest", &err);
  mf_cli_status st;
  mf_cli_status_init(&st, "ingest", "frames", c->quiet);
  o.input_dir = c->input;
  o.out_dir = c->out;
  o.sam_dir = c->sam_dir;
  o.cams = c->cams.items;
  o.n_cams = c->cams.count;
  o.frames = c->frames.count ? c->frames.items : NULL;
  o.n_frames = c->frames.count;
  o.person_index = c->person_index;
  o.estimator = c->estimator;
  o.estimator_worker = c->worker;
  o.workers = (size_t)c->workers;
  o.estimator_timeout = c->timeout;
  o.worker_start_timeout = c->start_timeout;
  o.worker_max_restarts = (size_t)c->restarts;
  o.cam_intrinsics = intrinsics;
  o.model_ids = c->model_ids.items;
  o.n_model_ids = c->model_ids.count;
  o.force = c->force;
  o.compress = c->compress;
  o.log = on_log;
  o.progress = on_progress;
  o.user = &st;
  int rc;
  if (c->check_only) {
    rc = print_plan(&o);
  } else {
    mhrfit_ingest_summary s;
    o.cancel = mf_cancel_on_signals();
    bool ok = mhrfit_ingest_run(&o, &s, &err);
    mf_cli_status_end(&st);
    if (!ok && err.type == MHRFIT_ERR_CANCELLED && mf_cancel_signal()) mf_exit_interrupted("ingest");
    if (ok && !c->quiet) print_summary(&s, c->out);
    rc = !ok ? mf_report("ingest", &err) : s.frames_failed ? MF_EXIT_FAILURE : MF_EXIT_OK;
  }
  free(intrinsics);
  return rc;
}

int mf_cmd_ingest(int argc, char **argv) {
  ingest_cmd c = {.strategy = "largest_bbox", .max_mib = (long)(MHRFIT_NPY_INPUT_MAX_TOTAL >> 20), .workers = 1,
                  .restarts = 3, .start_timeout = 600};
  const mf_opt opts[] = {
      {"input", MF_OPT_STRING, &c.input, "DIR", "capture root <DIR>/<frame>/<cam>.<ext>; required", NULL},
      {"cams", MF_OPT_LIST, &c.cams, "NAME", "camera names = file stems, matched exactly; required", NULL},
      {"out", MF_OPT_STRING, &c.out, "DIR", "output root (stage1/, sam3d/, stage1_meta.json); required", NULL},
      {"frames", MF_OPT_LIST, &c.frames, "F", "frame folders to ingest (default: every folder of --input)", NULL},
      {"sam_dir", MF_OPT_STRING, &c.sam_dir, "DIR",
       "existing SAM outputs <DIR>/<frame>/<cam>.npz|.npy (default: --input)", NULL},
      {"person_select_strategy", MF_OPT_STRING, &c.strategy, "S",
       "largest_bbox | first | person_index (default largest_bbox)", NULL},
      {"person_index", MF_OPT_INT, &c.person_index, "N",
       "person for person_index, clipped to [0, n-1] with a warning (default 0)", NULL},
      {"estimator", MF_OPT_STRING, &c.estimator, "CMD",
       "command run where a SAM output is missing; {image} {output} ({frame} {cam}) are replaced by shell-quoted values",
       NULL},
      {"estimator_worker", MF_OPT_STRING, &c.worker, "CMD",
       "instead of --estimator: a command started once per worker that loads the model once and answers one JSON "
       "request per line on stdin/stdout (protocol in the README); {worker} = the worker's index",
       NULL},
      {"workers", MF_OPT_INT, &c.workers, "N", "estimator worker processes (default 1)", NULL},
      {"estimator_timeout", MF_OPT_DOUBLE, &c.timeout, "SEC",
       "a worker request taking longer is killed, the view marked missing (timeout) and retried next run (default 0 = "
       "no limit)",
       NULL},
      {"worker_start_timeout", MF_OPT_DOUBLE, &c.start_timeout, "SEC",
       "seconds a worker may take to load its model and say it is ready, or without a ready line to answer "
       "its first request (default 600)", NULL},
      {"worker_restarts", MF_OPT_INT, &c.restarts, "N",
       "failures in a row (start, crash, timeout, garbage) after which a worker is restarted (default 3); one "
       "more stops the run",
       NULL},
      {"calib", MF_OPT_STRING, &c.calib, "FILE", "calibration: each camera's intrinsics go to the workers as cam_int",
       NULL},
      {"model_id", MF_OPT_LIST, &c.model_ids, "ID",
       "model identifiers recorded for the cache, e.g. checkpoint=... detector=vitdet (default none)", NULL},
      {"overwrite", MF_OPT_FLAG, &c.force, NULL, "re-ingest every frame even when the cache matches", NULL},
      MF_OPT_ALIAS_OF("force", "overwrite"),
      {"check", MF_OPT_FLAG, &c.check_only, NULL, "only report which frames would be (re-)ingested and why", NULL},
      {"compress", MF_OPT_FLAG, &c.compress, NULL, "deflate the stage-1 archives (default stored)", NULL},
      {"max_inflated_mib", MF_OPT_INT, &c.max_mib, "N",
       "most MiB one SAM output may hold or inflate to (an .npz's members, checked before inflating; default 256)",
       NULL},
      MF_OPT_QUIET(&c.quiet),
  };
  const mf_cmd_spec spec = {
      "ingest", "--input DIR --cams A B ... --out DIR [options]", ingest_summary, opts, sizeof opts / sizeof opts[0], 0,
      0};
  mf_strlist pos;
  int rc = mf_args_parse(&spec, argc, argv, &pos);
  if (rc < 0) {
    mf_strlist_free(&pos);
    rc = ingest(&c);
  }
  mf_strlist_free(&c.cams);
  mf_strlist_free(&c.frames);
  mf_strlist_free(&c.model_ids);
  return rc;
}
