/* mhrfit run: the whole pipeline over a sequence (stages 2 and 3 per frame, recovery, smoothing,
 * summary), resumable; and mhrfit smooth on a fitted sequence. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/clock.h"
#include "common/file.h"
#include "common/hash.h"
#include "common/path.h"
#include "mhrfit/fit_io.h"
#include "mhrfit/ingest.h"
#include "mhrfit/json.h"
#include "mhrfit/layout.h"
#include "mhrfit/observations.h"
#include "mhrfit/sequence.h"
#include "mhrfit/value.h"


/* ------------------------------------------------------------------ journal */

/* <out>/run_state.txt records which frames are finished, for resumption: a header line, then one
 * "<frame>\t<signature>" line per finished frame, appended and flushed as each frame's files are in
 * place (later lines win; a line cut short by a kill is ignored). Appending keeps the cost per
 * frame constant (a JSON state rewritten per frame grew with the sequence). */
#define JOURNAL_HEADER "mhrfit run state 1"

static void journal_read(const char *path, mhrfit_value *state) {
  FILE *f = fopen(path, "r");
  if (!f) return;
  char line[8192];
  bool header = fgets(line, sizeof line, f) && strncmp(line, JOURNAL_HEADER "\n", sizeof JOURNAL_HEADER) == 0;
  while (header && fgets(line, sizeof line, f)) {
    size_t n = strlen(line);
    if (line[n - 1] != '\n') break; /* cut short */
    if (n < 2) continue;          /* blank */
    line[n - 1] = 0;
    char *tab = strchr(line, '\t');
    if (!tab || tab == line || !tab[1]) continue;
    *tab = 0;
    mhrfit_value *sig = mhrfit_value_new_string(MHRFIT_V_STRING, tab + 1, strlen(tab + 1), NULL);
    if (sig) mhrfit_value_dict_set(state, line, sig, NULL);
  }
  fclose(f);
}

static bool journal_line_ok(const char *name, const char *sig) {
  return !strpbrk(name, "\t\n\r") && !strpbrk(sig, "\t\n\r") && *name && *sig;
}

/* Rewrites the journal with the entries of `state` (atomically) and opens it for appending. */
static FILE *journal_open(const char *path, const mhrfit_value *state, mhrfit_error *err) {
  size_t cap = 64, len = 0;
  for (size_t i = 0; i < state->u.dict.count; i++)
    if (state->u.dict.vals[i]->kind == MHRFIT_V_STRING)
      cap += strlen(state->u.dict.keys[i]) + state->u.dict.vals[i]->u.str.len + 2;
  char *buf = malloc(cap);
  if (!buf) {
    MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "%s: out of memory", path);
    return NULL;
  }
  len += (size_t)snprintf(buf, cap, "%s\n", JOURNAL_HEADER);
  for (size_t i = 0; i < state->u.dict.count; i++) {
    const mhrfit_value *v = state->u.dict.vals[i];
    if (v->kind == MHRFIT_V_STRING && journal_line_ok(state->u.dict.keys[i], v->u.str.data))
      len += (size_t)snprintf(buf + len, cap - len, "%s\t%s\n", state->u.dict.keys[i], v->u.str.data);
  }
  bool ok = mf_write_file_atomic(path, buf, len, err);
  free(buf);
  if (!ok) return NULL;
  FILE *f = fopen(path, "a");
  if (!f) MHRFIT_FAIL(err, MHRFIT_ERR_IO, "%s: cannot open for appending: %s", path, strerror(errno));
  return f;
}

static bool journal_append(FILE *f, const char *path, const char *name, const char *sig, mhrfit_error *err) {
  if (!journal_line_ok(name, sig)) return true; /* such a frame is simply redone next time */
  if (fprintf(f, "%s\t%s\n", name, sig) < 0 || fflush(f) != 0)
    return MHRFIT_FAIL(err, MHRFIT_ERR_IO, "%s: cannot append: %s", path, strerror(errno));
  return true;
}

/* ------------------------------------------------------------------ run */

typedef struct frame_rec {
  char signature[24];   /* identity of the frame's inputs and the settings */
  int n_available;      /* camera files present */
  int n_tri_points;     /* triangulated points */
  bool reused, retried;
  double t_tri, t_fit;  /* seconds */
} frame_rec;

/* Identity of a frame: the settings hash, and size + mtime of each camera file. */
static void frame_signature(const char *dir, const char *const *cams, size_t V, uint64_t config, char *out,
                            int *n_available) {
  mf_xxh64 h;
  mf_xxh64_init(&h);
  mf_xxh64_update(&h, &config, sizeof config);
  *n_available = 0;
  for (size_t v = 0; v < V; v++) {
    /* the file mf_camera_file() names (<cam>.npz, else <cam>.npy; regular files), one stat each */
    long long id[3] = {-1, -1, -1};
    static const char *const ext[2] = {".npz", ".npy"};
    for (int i = 0; i < 2; i++) {
      char p[4200];
      struct stat st;
      snprintf(p, sizeof p, "%s/%s%s", dir, cams[v], ext[i]);
      if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
        id[0] = (long long)st.st_size;
        id[1] = (long long)st.st_mtim.tv_sec;
        id[2] = (long long)st.st_mtim.tv_nsec;
        (*n_available)++;
        break;
      }
    }
    mf_xxh64_update(&h, cams[v], strlen(cams[v]) + 1);
    mf_xxh64_update(&h, id, sizeof id);
  }
  snprintf(out, 24, "%016llx", (unsigned long long)mf_xxh64_digest(&h));
}

/* Stage-1 messages: reasons for re-ingesting and failures, unless --quiet (errors always). */
static void ingest_log(void *user, mhrfit_ingest_log_level level, const char *message) {
  bool quiet = *(const bool *)user;
  if (!quiet || level == MHRFIT_INGEST_ERROR)
    fprintf(stderr, "mhrfit run: ingest: %s%s\n", level == MHRFIT_INGEST_ERROR ? "error: " : "", message);
}

/* Rounds to float32, the precision of fit.npz, so a resumed run continues from exactly what
 * an uninterrupted run used. */
static void round_f32(double *x, size_t n) {
  for (size_t i = 0; i < n; i++) x[i] = (double)(float)x[i];
}

int mf_cmd_run(int argc, char **argv) {
  const char *input = NULL, *calib = NULL, *out = NULL, *assets = NULL, *rig_path = NULL;
  const char *sam_dir = NULL, *estimator = NULL, *strategy = "largest_bbox", *freeze_from = "first_fit";
  mf_strlist cams = {0}, frame_rel = {0}, model_ids = {0};
  long lod = -1, min_views = 2, max_stale = 40, edge_span = 15, retries = 1, person = 0;
  bool overwrite = false, no_smoothing = false, no_mesh = false, quiet = false, per_frame_scales = false;
  mf_tri_cli tc;
  mf_fit_cli fc;
  mf_smooth_cli sc;
  mf_tri_cli_init(&tc);
  mf_fit_cli_init(&fc);
  mf_smooth_cli_init(&sc);
  const mf_opt own[] = {
      {"input", MF_OPT_STRING, &input, "DIR",
       "capture: one folder per frame with the camera images and/or SAM 3D Body outputs <cam>.npz|.npy; required", NULL},
      {"sam_dir", MF_OPT_STRING, &sam_dir, "DIR", "stage 1: SAM 3D Body outputs <frame>/<cam>.npz|.npy (default: --input)", NULL},
      {"estimator", MF_OPT_STRING, &estimator, "CMD",
       "stage 1: command run where an output is missing, with {image} and {output} (default: none)", NULL},
      {"model_id", MF_OPT_LIST, &model_ids, "ID", "stage 1: estimator model identifiers, recorded and compared", NULL},
      {"person_select_strategy", MF_OPT_STRING, &strategy, "S", "stage 1: largest_bbox | first | person_index (default largest_bbox)", NULL},
      {"calib", MF_OPT_STRING, &calib, "FILE", "calibration file (Caliscope/Anipose/Pose2Sim TOML or JSON); required", NULL},
      {"cams", MF_OPT_LIST, &cams, "NAME", "camera names (exact); at least 2; required", NULL},
      {"out", MF_OPT_STRING, &out, "DIR", "output folder; required", NULL},
      {"frame_rel", MF_OPT_LIST, &frame_rel, "NAME", "only these frame folders (default: all, natural order)", NULL},
      MF_RIG_OPT_ASSETS(&assets),
      MF_RIG_OPT_RIG(&rig_path),
      {"lod", MF_OPT_INT, &lod, "N", "mesh level of detail (default: the lowest lodN.fbx present, or the rig file's)", NULL},
      {"no_mesh", MF_OPT_FLAG, &no_mesh, NULL, "leave pred_vertices out of the outputs", NULL},
      {"freeze_lower_body_from", MF_OPT_STRING, &freeze_from, "S",
       "with --freeze_lower_body, what the legs are locked to: first_fit (a frame without a temporal prior — the first, "
       "or the first after a gap longer than --max_stale_frames — is fitted with its lower body free, later frames keep "
       "its values) | view (the initial view's SAM 3D Body estimate, as the original) (default first_fit)", NULL},
      {"overwrite", MF_OPT_FLAG, &overwrite, NULL, "redo every frame (default: reuse frames whose inputs and settings are unchanged)", NULL},
      {"person_index", MF_OPT_INT, &person, "N", "stage 1: the person with --person_select_strategy person_index (default 0)", NULL},
      {"min_views", MF_OPT_INT, &min_views, "N", "fewest cameras with a file for a frame to be processed (default 2)", NULL},
      {"max_stale_frames", MF_OPT_INT, &max_stale, "N", "temporal prior only from a good frame at most N frames back (default 40)", NULL},
      {"bad_frame_retries", MF_OPT_INT, &retries, "N", "refits of a bad frame with a stronger temporal prior (default 1)", NULL},
      {"max_edge_copy_span", MF_OPT_INT, &edge_span, "N", "recovery copies the nearest good frame at the ends up to N frames (default 15)", NULL},
      {"per_frame_scales", MF_OPT_FLAG, &per_frame_scales, NULL,
       "take the skeleton scales from each frame's initial view (default: the first good frame's, for the whole sequence)", NULL},
      {"no_smoothing", MF_OPT_FLAG, &no_smoothing, NULL, "do not smooth (sequence_smoothed.npz is not written)", NULL},
      {"quiet", MF_OPT_FLAG, &quiet, NULL, "print nothing but errors", NULL},
  };
  enum { N_OWN = sizeof own / sizeof own[0] };
  mf_opt opts[N_OWN + MF_TRI_CLI_N_OPTS + MF_FIT_CLI_N_OPTS + MF_SMOOTH_CLI_N_OPTS];
  memcpy(opts, own, sizeof own);
  size_t n_opts = N_OWN;
  n_opts += mf_tri_cli_table(&tc, opts + n_opts);
  n_opts += mf_fit_cli_table(&fc, opts + n_opts);
  n_opts += mf_smooth_cli_table(&sc, opts + n_opts);
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
  mf_strlist pos;
  int rc = mf_args_parse(&spec, argc, argv, &pos);
  if (rc >= 0) {
    mf_strlist_free(&cams);
    mf_strlist_free(&frame_rel);
    mf_strlist_free(&model_ids);
    return rc;
  }
  mf_strlist_free(&pos);
  mhrfit_error err = {0};
  mhrfit_calib *all = NULL, *cal = NULL;
  mhrfit_triangulator *triangulator = NULL;
  mhrfit_rig *rig = NULL;
  mhrfit_fitter *fitter = NULL, *retry_fitter = NULL, *ref_fitter = NULL;
  mhrfit_fit_archive *seq = NULL, *one = NULL;
  mhrfit_tri_archive *ta = NULL;
  mhrfit_value *state = NULL, *summary = NULL, *config = NULL;
  FILE *journal = NULL;
  mf_names frames = {0};
  frame_rec *rec = NULL;
  unsigned char *labels = NULL;
  char path[4096], path2[4096];
  if (!input || !calib || !out || cams.count < 2) {
    rc = mf_usage_error("run", "--input, --calib, --out and at least two --cams are required");
    goto done;
  }
  if (min_views < 2 || max_stale < 0 || edge_span < 0 || retries < 0 || retries > 10 || person < 0) {
    rc = mf_usage_error("run", "--min_views >= 2, --bad_frame_retries 0..10, and --max_stale_frames, "
                               "--max_edge_copy_span, --person_index >= 0 are required");
    goto done;
  }
  if ((rc = mf_tri_cli_finish(&tc, "run")) >= 0 || (rc = mf_fit_cli_finish(&fc, "run")) >= 0) goto done;
  if ((rc = mf_smooth_cli_finish(&sc, "run")) >= 0) goto done;
  const mhrfit_smooth_options so = sc.o;
  if (strcmp(freeze_from, "first_fit") != 0 && strcmp(freeze_from, "view") != 0) {
    rc = mf_usage_error("run", "--freeze_lower_body_from must be first_fit or view, got '%s'", freeze_from);
    goto done;
  }
  const bool ref_from_fit = strcmp(freeze_from, "first_fit") == 0;
  mhrfit_person_strategy pstrat;
  if (!mhrfit_person_strategy_parse(strategy, &pstrat, &err)) {
    rc = mf_usage_error("run", "--person_select_strategy: %s", err.message);
    goto done;
  }
  mf_rig_src rig_src;
  if ((rc = mf_rig_choose(assets, rig_path, "run", &rig_src)) >= 0) goto done;
  rc = MF_EXIT_FAILURE;
  const double t_start = mf_now_seconds();
  /* frames */
  if (!mf_list_dir(input, NULL, true, &frames, &err)) goto fail;
  {
    struct stat so_st, fr_st;
    bool have_out = stat(out, &so_st) == 0;
    size_t k = 0;
    for (size_t i = 0; i < frames.count; i++) {
      snprintf(path, sizeof path, "%s/%s", input, frames.items[i]);
      bool same = have_out && stat(path, &fr_st) == 0 && fr_st.st_dev == so_st.st_dev && fr_st.st_ino == so_st.st_ino;
      bool keep = frames.items[i][0] != '.' && !same;
      for (size_t jj = 0; keep && frame_rel.count && jj <= frame_rel.count; jj++) {
        if (jj == frame_rel.count) keep = false;
        else if (strcmp(frames.items[i], frame_rel.items[jj]) == 0) break;
      }
      if (keep) frames.items[k++] = frames.items[i];
      else free(frames.items[i]);
    }
    frames.count = k;
  }
  if (!frames.count) {
    MHRFIT_FAIL(&err, MHRFIT_ERR_NOT_FOUND, "%s: no frame folders%s", input, frame_rel.count ? " matching --frame_rel" : "");
    goto fail;
  }
  size_t F = frames.count, V = cams.count;
  /* settings, their hash, pipeline_config.json */
  mf_jb j = {&err, false};
  config = mhrfit_value_new_dict(&err);
  if (!config) goto fail;
  double t_ingest = 0;
  mf_jstr(&j, config, "tool", "mhrfit " MHRFIT_VERSION_STRING);
  mf_jstr(&j, config, "input", input);
  mf_jstr(&j, config, "calib", calib);
  mf_jstr(&j, config, rig_src.kind == MF_RIG_FROM_FILE ? "rig" : "assets", rig_src.path);
  for (size_t i = 0; i < n_opts; i++) {
    const mf_opt *o = &opts[i];
    if (!o->dest || strcmp(o->name, "quiet") == 0 || strcmp(o->name, "input") == 0 || strcmp(o->name, "calib") == 0 ||
        strcmp(o->name, "out") == 0 || strcmp(o->name, "assets") == 0 || strcmp(o->name, "rig") == 0 ||
        strcmp(o->name, "overwrite") == 0 ||
        (strcmp(o->name, "freeze_lower_body_from") == 0 && !fc.o.freeze_lower_body)) /* no effect then */
      continue;
    if (o->type == MF_OPT_FLAG) mf_jbool(&j, config, o->name, *(bool *)o->dest);
    else if (o->type == MF_OPT_STRING) mf_jstr(&j, config, o->name, *(const char **)o->dest);
    else if (o->type == MF_OPT_INT) mf_jint(&j, config, o->name, *(long *)o->dest);
    else if (o->type == MF_OPT_DOUBLE) mf_jnum(&j, config, o->name, *(double *)o->dest);
    else {
      mhrfit_value *l = mhrfit_value_new_list(&err);
      const mf_strlist *sl = o->dest;
      for (size_t k = 0; l && k < sl->count; k++)
        if (!mhrfit_value_list_append(l, mhrfit_value_new_string(MHRFIT_V_STRING, sl->items[k], strlen(sl->items[k]), &err), &err))
          j.failed = true;
      mf_jput(&j, config, o->name, l);
    }
  }
  if (j.failed) goto fail;
  char *cfg_text = NULL;
  size_t cfg_len = 0;
  FILE *mem = open_memstream(&cfg_text, &cfg_len);
  if (!mem || !mhrfit_value_write_json(config, mem, 0, &err)) {
    if (mem) fclose(mem);
    free(cfg_text);
    if (!err.type) MHRFIT_FAIL(&err, MHRFIT_ERR_NOMEM, "out of memory");
    goto fail;
  }
  fclose(mem);
  uint64_t config_hash = mf_xxh64_buffer(cfg_text, cfg_len);
  free(cfg_text);
  if (!mf_make_dirs(out, &err)) goto fail;
  snprintf(path, sizeof path, "%s/pipeline_config.json", out);
  if (!mf_write_json_atomic(path, config, 2, &err)) goto fail;
  /* stage 1: person selection and stage-1 files, reused while stage1_meta.json matches */
  {
    double ti = mf_now_seconds();
    mhrfit_ingest_options io;
    mhrfit_ingest_options_init(&io);
    io.input_dir = input;
    io.sam_dir = sam_dir;
    io.out_dir = out;
    io.cams = (const char *const *)cams.items;
    io.n_cams = cams.count;
    io.frames = (const char *const *)frames.items;
    io.n_frames = frames.count;
    io.strategy = pstrat;
    io.person_index = person;
    io.estimator = estimator;
    io.model_ids = (const char *const *)model_ids.items;
    io.n_model_ids = model_ids.count;
    io.force = overwrite;
    io.log = ingest_log;
    io.user = &quiet;
    mhrfit_ingest_summary is;
    if (!mhrfit_ingest_run(&io, &is, &err)) goto fail;
    t_ingest = mf_now_seconds() - ti;
    if (!quiet)
      printf("stage 1: %zu frames ingested, %zu reused, %zu with failed views (%.2f s)\n", is.frames_ingested,
             is.frames_reused, is.frames_failed, t_ingest);
  }
  const double t_setup0 = mf_now_seconds();
  /* models */
  all = mhrfit_calib_load(calib, &tc.calib, &err);
  if (!all || !(cal = mhrfit_calib_select(all, cams.items, V, &err))) goto fail;
  triangulator = mhrfit_triangulator_new(cal->cams, V, 70, &tc.o, &err);
  rig = triangulator ? mf_rig_src_load(&rig_src, lod, MHRFIT_RIG_NO_CORRECTIVE_BLENDSHAPES, &err) : NULL;
  fitter = rig ? mhrfit_fitter_new(rig, NULL, &fc.o, &err) : NULL;
  if (!fitter) goto fail;
  mhrfit_fit_options ro = fc.o; /* retries: a stronger pull towards the previous good frame */
  ro.temporal_init_blend = fmax(ro.temporal_init_blend, 0.9);
  ro.w_temporal = fmax(3 * ro.w_temporal, 3e-4);
  ro.iters = 2 * (ro.iters ? ro.iters : ro.solver == MHRFIT_SOLVER_ADAM ? 200 : 50);
  retry_fitter = mhrfit_fitter_new(rig, NULL, &ro, &err);
  if (!retry_fitter) goto fail;
  if (fc.o.freeze_lower_body && ref_from_fit) { /* the frame that starts a frozen chain is fitted free */
    mhrfit_fit_options fo = fc.o;
    fo.freeze_lower_body = false;
    if (!(ref_fitter = mhrfit_fitter_new(rig, NULL, &fo, &err))) goto fail;
  }
  size_t n_hist = (size_t)ro.iters;
  seq = mhrfit_fit_archive_new(F, 70, V, rig->n_joints, no_mesh ? 0 : rig->n_vertices, n_hist, cams.items, &err);
  rec = calloc(F, sizeof *rec);
  labels = calloc(F, 1);
  if (!seq || !rec || !labels) {
    if (seq) MHRFIT_FAIL(&err, MHRFIT_ERR_NOMEM, "out of memory");
    goto fail;
  }
  mhrfit_fit_archive_set_options(seq, &fc.o);
  /* one frame's outputs, reused for every frame */
  const mhrfit_layout *mhr70 = mhrfit_layout_get("mhr70", &err);
  one = mhr70 ? mhrfit_fit_archive_new(1, 70, V, rig->n_joints, seq->n_vertices, n_hist, cams.items, &err) : NULL;
  ta = one ? mhrfit_tri_archive_new(1, 70, V, mhr70->names, (const char *const *)cams.items, &err) : NULL;
  if (!ta) goto fail;
  one->frame_axis = ta->frame_axis = false;
  mhrfit_fit_archive_set_options(one, &fc.o);
  ta->threshold_px = tc.o.method == MHRFIT_TRI_POSE2SIM ? tc.o.reproj_thresh : tc.o.inlier_thresh;
  snprintf(ta->method, sizeof ta->method, "%s", tc.method);
  /* markers: from the first view (frame order, camera order) with parameters and keypoints, so
   * that every run of the same inputs uses the same markers */
  bool locked = false;
  for (size_t f = 0; f < F && !locked; f++) {
    snprintf(path, sizeof path, "%s/stage1/%s", out, frames.items[f]);
    mhrfit_fit_viewset *vs = mhrfit_fit_viewset_load(path, cams.items, V, 0, true, NULL);
    for (size_t v = 0; vs && v < V && !locked; v++)
      if (!vs->note[v][0] && vs->views[v].keypoints_3d) {
        locked = mhrfit_fitter_lock_markers(fitter, &vs->views[v], NULL) &&
                 mhrfit_fitter_lock_markers(retry_fitter, &vs->views[v], NULL) &&
                 (!ref_fitter || mhrfit_fitter_lock_markers(ref_fitter, &vs->views[v], NULL));
      }
    mhrfit_fit_viewset_free(vs);
  }
  if (!locked && !quiet) fprintf(stderr, "mhrfit run: warning: no view with keypoints to calibrate the surface markers\n");
  /* previous state (resumption): read, then rewritten compactly once the set-up has succeeded, so
   * that a run failing before any frame leaves the journal as it was */
  if (!(state = mhrfit_value_new_dict(&err))) goto fail;
  snprintf(path, sizeof path, "%s/run_state.json", out);
  if (mf_is_file(path)) unlink(path); /* the state file of earlier versions: those frames are redone once */
  snprintf(path, sizeof path, "%s/run_state.txt", out);
  if (!overwrite) journal_read(path, state);
  if (!(journal = journal_open(path, state, &err))) goto fail;
  /* per frame */
  double prev[204], scales[68];
  mhrfit_similarity prev_sim;
  long prev_frame = -1;
  bool have_scales = false;
  bool tty = !quiet && isatty(2);
  double t0 = mf_now_seconds(), t_tri = 0, t_fit = 0;
  const double t_setup = t0 - t_setup0;
  size_t n_bad_seen = 0, n_reused = 0;
  int kp_index[70];
  double weights[70];
  for (size_t f = 0; f < F; f++) {
    const char *name = frames.items[f];
    char dir[4096], tri_path[4096], fit_path[4096];
    snprintf(dir, sizeof dir, "%s/stage1/%s", out, name);
    snprintf(tri_path, sizeof tri_path, "%s/triangulation/%s/triangulated.npz", out, name);
    snprintf(fit_path, sizeof fit_path, "%s/fit/%s/fit.npz", out, name);
    frame_signature(dir, (const char *const *)cams.items, V, config_hash, rec[f].signature, &rec[f].n_available);
    const mhrfit_value *st = mhrfit_value_dict_get(state, name);
    bool reuse = !overwrite && st && st->kind == MHRFIT_V_STRING && strcmp(st->u.str.data, rec[f].signature) == 0 &&
                 mf_is_file(fit_path);
    if (reuse) {
      mhrfit_fit_archive *saved = mhrfit_fit_archive_load(fit_path, NULL);
      reuse = saved && mhrfit_fit_archive_copy_frame(seq, f, saved, 0, NULL);
      mhrfit_fit_archive_free(saved);
      if (!reuse && !quiet) fprintf(stderr, "mhrfit run: frame %s: saved fit unreadable, redoing it\n", name);
    }
    if (!reuse) {
      mhrfit_fit_archive_clear_frame(one, 0);
      if (rec[f].n_available < min_views) {
        char msg[128];
        snprintf(msg, sizeof msg, "%d of %zu camera files present, %ld needed", rec[f].n_available, V, min_views);
        mhrfit_fit_archive_set_failed(one, 0, "missing_views", msg);
      } else {
        /* stage 2 */
        double t1 = mf_now_seconds();
        mhrfit_obs_options oo = {"stage1", 70, 0, NULL, true};
        mhrfit_observations *obs = mhrfit_observations_load(dir, (const char *const *)cams.items, V, &oo, &err);
        bool tri_ok = false;
        if (obs) {
          mhrfit_tri_result tr = {ta->points, ta->points_init, ta->inliers, ta->reproj_err, ta->n_views_used, ta->reason};
          tri_ok = mhrfit_triangulator_process(triangulator, 70, obs->uv, obs->conf, &tr, &err);
          mhrfit_tri_archive_update_mean(ta);
          snprintf(path2, sizeof path2, "%s/triangulation/%s", out, name);
          tri_ok = tri_ok && mf_make_dirs(path2, &err) && mhrfit_tri_archive_save(tri_path, ta, &err);
        }
        mhrfit_observations_free(obs);
        rec[f].t_tri = mf_now_seconds() - t1;
        t_tri += rec[f].t_tri;
        if (!tri_ok) {
          mhrfit_error_prefix(&err, "frame %s", name);
          goto fail; /* I/O or memory: the run cannot go on */
        }
        for (size_t k = 0; k < 70; k++) rec[f].n_tri_points += ta->reason[k] == MHRFIT_TRI_OK;
        if (rec[f].n_tri_points < fc.o.min_valid_points) {
          char msg[128];
          snprintf(msg, sizeof msg, "%d points triangulated, %d needed", rec[f].n_tri_points, fc.o.min_valid_points);
          mhrfit_fit_archive_set_failed(one, 0, "triangulation_failed", msg);
        } else {
          /* stage 3 */
          t1 = mf_now_seconds();
          mhrfit_fit_viewset *vs = mhrfit_fit_viewset_load(dir, (const char *const *)cams.items, V, 0, true, &err);
          mhrfit_fit_frame fr;
          if (!vs || !mhrfit_fit_frame_from_tri(ta, 0, vs, kp_index, weights, &fr, &err)) {
            mhrfit_fit_viewset_free(vs);
            mhrfit_error_prefix(&err, "frame %s", name);
            goto fail;
          }
          bool prior = prev_frame >= 0 && (long)f - prev_frame <= max_stale;
          fr.prev_model_params = prior ? prev : NULL;
          fr.prev_similarity = prior ? &prev_sim : NULL;
          fr.fixed_scales = have_scales && !per_frame_scales ? scales : NULL;
          mhrfit_fit_result res;
          mhrfit_error ferr = {0};
          /* --freeze_lower_body locks the legs to the initial values; a frame without a temporal
           * prior starts the chain, and with first_fit its lower body is fitted free */
          bool ok = mhrfit_fitter_process(!prior && ref_fitter ? ref_fitter : fitter, &fr, &res, &ferr);
          if (ok) mhrfit_fit_archive_set(one, 0, &fr, vs, &res);
          for (long r = 0; ok && res.is_bad && prior && r < retries; r++) {
            mhrfit_fit_result rr;
            if (!mhrfit_fitter_process(retry_fitter, &fr, &rr, &ferr)) break;
            if (!rr.is_bad || rr.best_loss < res.best_loss) {
              mhrfit_fit_archive_set(one, 0, &fr, vs, &rr);
              rec[f].retried = true;
              if (!rr.is_bad) break;
            }
          }
          if (!ok) mhrfit_fit_archive_set_failed(one, 0, "optimization_failed", ferr.message);
          mhrfit_fit_viewset_free(vs);
          rec[f].t_fit = mf_now_seconds() - t1;
          t_fit += rec[f].t_fit;
        }
      }
      round_f32(one->model_params, 204); /* what the file holds */
      snprintf(path2, sizeof path2, "%s/fit/%s", out, name);
      bool saved = mf_make_dirs(path2, &err) && mhrfit_fit_archive_save(fit_path, one, &err) &&
                   mhrfit_fit_archive_copy_frame(seq, f, one, 0, &err);
      if (!saved) goto fail;
      snprintf(path2, sizeof path2, "%s/run_state.txt", out);
      if (!journal_append(journal, path2, name, rec[f].signature, &err)) goto fail;
    } else {
      n_reused++;
    }
    rec[f].reused = reuse;
    /* temporal state from good frames */
    if (strcmp(seq->status[f], "ok") == 0) {
      memcpy(prev, seq->model_params + 204 * f, sizeof prev);
      mhrfit_fit_archive_get_similarity(seq, f, &prev_sim);
      prev_frame = (long)f;
      if (!have_scales) {
        memcpy(scales, prev + 136, sizeof scales);
        have_scales = true;
      }
    } else {
      n_bad_seen++;
    }
    if (tty) {
      double el = mf_now_seconds() - t0, rate = (double)(f + 1) / fmax(el, 1e-9);
      fprintf(stderr, "\rrun: %zu/%zu frames, %.1f frames/s, ETA %.0f s, %zu not ok   ", f + 1, F, rate,
              (double)(F - f - 1) / rate, n_bad_seen);
    }
  }
  if (tty) fprintf(stderr, "\n");
  /* recovery, smoothing */
  double t2 = mf_now_seconds();
  const double t_frames = t2 - t0;
  char (*raw_status)[32] = malloc(F * sizeof *raw_status);
  if (!raw_status) {
    MHRFIT_FAIL(&err, MHRFIT_ERR_NOMEM, "out of memory");
    goto fail;
  }
  for (size_t f = 0; f < F; f++) memcpy(raw_status[f], seq->status[f], sizeof raw_status[f]);
  mhrfit_recover_report rr;
  bool okr = mhrfit_sequence_recover(seq, fitter, (size_t)edge_span, &rr, &err);
  /* the final archives are fsynced (the per-frame ones are not: a resumed run re-validates them) */
  snprintf(path, sizeof path, "%s/sequence_fit.npz", out);
  okr = okr && mhrfit_fit_archive_save(path, seq, &err) && mf_sync_file(path, &err);
  mhrfit_smooth_report sr = {0, 0, false};
  if (okr && !no_smoothing) {
    okr = mhrfit_sequence_smooth(seq, fitter, &so, labels, &sr, &err);
    snprintf(path, sizeof path, "%s/sequence_smoothed.npz", out);
    okr = okr && mhrfit_fit_archive_save(path, seq, &err) && mf_sync_file(path, &err);
  }
  double t_seq = mf_now_seconds() - t2;
  if (!okr) {
    free(raw_status);
    goto fail;
  }
  /* summary */
  summary = mhrfit_value_new_dict(&err);
  mhrfit_value *list = mhrfit_value_new_list(&err), *counts = mhrfit_value_new_dict(&err);
  if (!summary || !list || !counts) {
    mhrfit_value_free(list);
    mhrfit_value_free(counts);
    free(raw_status);
    goto fail;
  }
  mf_jstr(&j, summary, "output_root", out);
  mf_jstr(&j, summary, "input_root", input);
  mf_jint(&j, summary, "num_frames", (long long)F);
  for (size_t f = 0; f < F; f++) {
    mhrfit_value *fd = mhrfit_value_new_dict(&err);
    if (!fd) {
      j.failed = true;
      break;
    }
    const double *L = seq->losses + 6 * f;
    mf_jstr(&j, fd, "frame", frames.items[f]);
    mf_jstr(&j, fd, "status", seq->status[f]);
    mf_jstr(&j, fd, "fit_status", raw_status[f]);
    mf_jstr(&j, fd, "message", seq->message[f][0] ? seq->message[f] : NULL);
    mf_jstr(&j, fd, "init_cam", seq->init_cam[f][0] ? seq->init_cam[f] : NULL);
    mf_jint(&j, fd, "available_cams", rec[f].n_available);
    mf_jint(&j, fd, "triangulated_points", rec[f].n_tri_points);
    mf_jnum(&j, fd, "best_loss", L[1]);
    mf_jnum(&j, fd, "final_loss", L[2]);
    mf_jnum(&j, fd, "best_data_loss", L[4]);
    mf_jnum(&j, fd, "final_data_loss", L[5]);
    mf_jint(&j, fd, "iters", seq->counts[6 * f]);
    mf_jbool(&j, fd, "retried", rec[f].retried);
    mf_jbool(&j, fd, "reused", rec[f].reused);
    mf_jstr(&j, fd, "smoothing", no_smoothing || !sr.smoothed ? "none" : mhrfit_smooth_label_name(labels[f]));
    mf_jnum(&j, fd, "time_triangulate_s", rec[f].reused ? NAN : rec[f].t_tri);
    mf_jnum(&j, fd, "time_fit_s", rec[f].reused ? NAN : rec[f].t_fit);
    if (!mhrfit_value_list_append(list, fd, &err)) j.failed = true;
    mhrfit_value *c = mhrfit_value_dict_get_mut(counts, seq->status[f]);
    if (c) c->u.integer++;
    else mf_jint(&j, counts, seq->status[f], 1);
  }
  free(raw_status);
  mf_jput(&j, summary, "status_counts", counts);
  mhrfit_value *timing = mhrfit_value_new_dict(&err);
  if (timing) {
    mf_jnum(&j, timing, "ingest_s", t_ingest);
    mf_jnum(&j, timing, "setup_s", t_setup);
    mf_jnum(&j, timing, "triangulate_s", t_tri);
    mf_jnum(&j, timing, "fit_s", t_fit);
    mf_jnum(&j, timing, "frame_other_s", t_frames - t_tri - t_fit);
    mf_jnum(&j, timing, "recover_smooth_s", t_seq);
    mf_jnum(&j, timing, "total_s", mf_now_seconds() - t_start);
    mf_jint(&j, timing, "frames_reused", (long long)n_reused);
  }
  mf_jput(&j, summary, "timing", timing);
  mf_jput(&j, summary, "frames", list);
  if (j.failed) goto fail;
  snprintf(path, sizeof path, "%s/sequence_summary.json", out);
  if (!mf_write_json_atomic(path, summary, 2, &err)) goto fail;
  if (!quiet) {
    printf("run: %zu frames (%zu fits reused) in %.2f s: stage 1 %.2f s, set-up %.2f s, triangulation %.2f s, fit "
           "%.2f s, per-frame files %.2f s, recovery+smoothing %.2f s\n",
           F, n_reused, mf_now_seconds() - t_start, t_ingest, t_setup, t_tri, t_fit, t_frames - t_tri - t_fit, t_seq);
    printf("status:");
    for (size_t i = 0; i < counts->u.dict.count; i++)
      printf(" %s %lld%s", counts->u.dict.keys[i], (long long)counts->u.dict.vals[i]->u.integer,
             i + 1 < counts->u.dict.count ? "," : "\n");
    printf("recovered %zu by interpolation, %zu by edge copy, %zu left; smoothing: %s\n", rr.interpolated, rr.copied,
           rr.unrecovered, no_smoothing ? "off" : sr.smoothed ? mhrfit_smooth_method_name(so.method) : "too few frames");
    printf("wrote %s/{sequence_fit.npz%s,sequence_summary.json,pipeline_config.json}\n", out,
           no_smoothing ? "" : ",sequence_smoothed.npz");
  }
  rc = MF_EXIT_OK;
  goto done;
fail:
  rc = mf_report("run", &err);
done:
  free(rec);
  free(labels);
  mf_names_free(&frames);
  mhrfit_value_free(state);
  if (journal) fclose(journal);
  mhrfit_value_free(summary);
  mhrfit_value_free(config);
  mhrfit_fit_archive_free(seq);
  mhrfit_fit_archive_free(one);
  mhrfit_tri_archive_free(ta);
  mhrfit_fitter_free(fitter);
  mhrfit_fitter_free(retry_fitter);
  mhrfit_fitter_free(ref_fitter);
  mhrfit_rig_free(rig);
  mhrfit_triangulator_free(triangulator);
  mhrfit_calib_free(cal);
  mhrfit_calib_free(all);
  mf_strlist_free(&cams);
  mf_strlist_free(&frame_rel);
  mf_strlist_free(&model_ids);
  return rc;
}

/* ------------------------------------------------------------------ smooth */

/* Locks the fitter's markers to those of the archive's first good frame: its world keypoints
 * taken back through its similarity are a view of its parameters. */
static bool markers_from_archive(mhrfit_fitter *f, const mhrfit_fit_archive *a) {
  for (size_t t = 0; t < a->n_frames; t++) {
    if (strcmp(a->status[t], "ok") != 0) continue;
    const double *so = a->sim_out + 13 * t, *R = so + 1;
    mhrfit_fit_view v;
    memset(&v, 0, sizeof v);
    v.name = "sequence";
    memcpy(v.model_params, a->model_params + 204 * t, sizeof v.model_params);
    double kp[210];
    for (int k = 0; k < 70; k++) {
      double d[3];
      for (int c = 0; c < 3; c++) d[c] = a->keypoints[210 * t + 3 * k + c] - so[10 + c];
      for (int c = 0; c < 3; c++) kp[3 * k + c] = (R[c] * d[0] + R[3 + c] * d[1] + R[6 + c] * d[2]) / so[0];
    }
    v.keypoints_3d = kp;
    return mhrfit_fitter_lock_markers(f, &v, NULL);
  }
  return false;
}

int mf_cmd_smooth(int argc, char **argv) {
  const char *in = NULL, *out = NULL, *assets = NULL, *rig_path = NULL;
  long lod = -1;
  bool quiet = false;
  mf_smooth_cli sc;
  mf_smooth_cli_init(&sc);
  const mf_opt own[] = {
      {"input", MF_OPT_STRING, &in, "FIT.npz", "fitted sequence (mhrfit run's sequence_fit.npz or a batch of mhrfit fit); required", NULL},
      MF_OPT_ALIAS_OF("in", "input"),
      {"out", MF_OPT_STRING, &out, "OUT.npz", "smoothed sequence; required", NULL},
      MF_RIG_OPT_ASSETS(&assets),
      MF_RIG_OPT_RIG(&rig_path),
      {"lod", MF_OPT_INT, &lod, "N", "mesh level of detail (default: the lowest lodN.fbx present, or the rig file's)", NULL},
      MF_OPT_QUIET(&quiet),
  };
  mf_opt opts[sizeof own / sizeof own[0] + MF_SMOOTH_CLI_N_OPTS];
  memcpy(opts, own, sizeof own);
  size_t n_opts = sizeof own / sizeof own[0] + mf_smooth_cli_table(&sc, opts + sizeof own / sizeof own[0]);
  const mf_cmd_spec spec = {
      "smooth", "--input FIT.npz --out OUT.npz [--assets DIR | --rig RIG.npz] [options]",
      "NaN-safe temporal smoothing of a fitted sequence: the parameters and similarities of the ok\n"
      "and recovered frames are smoothed (other frames are filled for the filter but keep their\n"
      "status and NaN values) and the geometry is recomputed from the smoothed parameters.",
      opts, n_opts, 0, 0};
  mf_strlist pos;
  int rc = mf_args_parse(&spec, argc, argv, &pos);
  if (rc >= 0) return rc;
  mf_strlist_free(&pos);
  if (!in || !out) return mf_usage_error("smooth", "--input and --out are required");
  if ((rc = mf_lod_check(lod, "smooth")) >= 0) return rc;
  if ((rc = mf_smooth_cli_finish(&sc, "smooth")) >= 0) return rc;
  const mhrfit_smooth_options so = sc.o;
  mf_rig_src rig_src;
  if ((rc = mf_rig_choose(assets, rig_path, "smooth", &rig_src)) >= 0) return rc;
  mhrfit_error err = {0};
  mhrfit_fit_archive *a = mhrfit_fit_archive_load(in, &err);
  mhrfit_rig *rig = a ? mf_rig_src_load(&rig_src, lod, MHRFIT_RIG_NO_CORRECTIVE_BLENDSHAPES, &err) : NULL;
  mhrfit_fitter *f = rig ? mhrfit_fitter_new(rig, NULL, NULL, &err) : NULL;
  unsigned char *labels = a ? calloc(a->n_frames, 1) : NULL;
  rc = MF_EXIT_FAILURE;
  if (f && labels) {
    if (a->n_vertices && a->n_vertices != rig->n_vertices)
      MHRFIT_FAIL(&err, MHRFIT_ERR_ARGUMENT, "%s has %zu vertices, the LOD %d mesh %zu: pass the matching --lod", in,
                  a->n_vertices, rig->lod, rig->n_vertices);
    else if (!markers_from_archive(f, a))
      MHRFIT_FAIL(&err, MHRFIT_ERR_NUMERIC, "%s: no ok frame to take the surface markers from", in);
    else {
      mhrfit_smooth_report sr;
      if (mhrfit_sequence_smooth(a, f, &so, labels, &sr, &err) && mhrfit_fit_archive_save(out, a, &err) &&
          mf_sync_file(out, &err)) {
        if (!quiet)
          printf("smoothed %zu frames (%zu anchors, %zu filled and left as they were%s); wrote %s\n", a->n_frames,
                 sr.n_anchors, sr.n_filled, sr.smoothed ? "" : "; fewer than 2 anchors: unchanged", out);
        rc = MF_EXIT_OK;
      }
    }
  } else if (a && !labels) {
    MHRFIT_FAIL(&err, MHRFIT_ERR_NOMEM, "out of memory");
  }
  if (rc != MF_EXIT_OK) mf_report("smooth", &err);
  free(labels);
  mhrfit_fitter_free(f);
  mhrfit_rig_free(rig);
  mhrfit_fit_archive_free(a);
  return rc;
}
