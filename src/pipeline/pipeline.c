/* The pipeline over a sequence: see include/mhrfit/pipeline.h. */
#include "mhrfit/pipeline.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/file.h"
#include "common/hash.h"
#include "common/jbuild.h"
#include "common/path.h"
#include "mhrfit/fit_io.h"
#include "mhrfit/layout.h"
#include "mhrfit/observations.h"
#include "pipeline/pipeline_internal.h"

/* What the summary reports of each frame beyond its fit archive. */
typedef struct frame_rec {
  char signature[24];   /* identity of the frame's inputs and the settings */
  int n_available;      /* camera files present */
  int n_tri_points;     /* triangulated points */
  bool reused, retried;
  double t_tri, t_fit;  /* seconds */
} frame_rec;

struct mhrfit_pipeline {
  mhrfit_pipeline_options o; /* strings borrowed */
  const char *rig_key;       /* "assets" or "rig" in pipeline_config.json */
  bool ran;
  double t_start, t_setup;
  mf_names frames;
  size_t F, V;
  mhrfit_value *config;
  uint64_t config_hash;
  mhrfit_calib *all, *cal;
  mhrfit_triangulator *triangulator;
  mhrfit_rig *rig;
  mhrfit_fitter *fitter, *retry_fitter, *ref_fitter; /* ref_fitter: a frozen chain's first frame */
  size_t n_hist;
  /* the run */
  mhrfit_fit_archive *seq, *one; /* the sequence; one frame's outputs, reused for every frame */
  mhrfit_tri_archive *ta;        /* one frame's triangulation */
  frame_rec *rec;
  unsigned char *labels;
  char (*raw_status)[32];        /* fit statuses before recovery */
  mhrfit_value *state;           /* the journal read at the start */
  FILE *journal;
  /* the temporal prior: the last ok frame */
  double prev[204], scales[68];
  mhrfit_similarity prev_sim;
  long prev_frame;
  bool have_scales;
  int kp_index[70];
  double weights[70];
  mhrfit_pipeline_result res;
};

/* ------------------------------------------------------------------ options */

void mhrfit_pipeline_options_init(mhrfit_pipeline_options *o) {
  memset(o, 0, sizeof *o);
  o->lod = -1;
  o->write_mesh = true;
  o->person_strategy = MHRFIT_PERSON_LARGEST_BBOX;
  mhrfit_tri_options_default(&o->tri);
  mhrfit_fit_options_init(&o->fit);
  o->freeze_from = MHRFIT_FREEZE_FROM_FIRST_FIT;
  o->min_views = 2;
  o->max_stale_frames = 40;
  o->bad_frame_retries = 1;
  o->max_edge_copy_span = 15;
  o->smoothing = true;
  mhrfit_smooth_options_init(&o->smooth);
}

static void logf_(const mhrfit_pipeline *p, mhrfit_pipeline_log_level lv, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void logf_(const mhrfit_pipeline *p, mhrfit_pipeline_log_level lv, const char *fmt, ...) {
  if (!p->o.log) return;
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  p->o.log(p->o.user, lv, buf);
}

static bool cancelled(const mhrfit_pipeline *p) { return p->o.cancel && *p->o.cancel; }

static bool check_options(const mhrfit_pipeline_options *o, mhrfit_error *err) {
  if (!o->input_dir || !*o->input_dir) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "no input folder given");
  if (!o->calib_path || !*o->calib_path) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "no calibration file given");
  if (!o->out_dir || !*o->out_dir) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "no output folder given");
  if (!o->rig_path || !*o->rig_path) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "no MHR assets or rig file given");
  if (!o->cams || o->n_cams < 2) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "at least two cameras are needed");
  if (o->n_frames && !o->frames) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "n_frames without frames");
  if (o->min_views < 2 || o->max_stale_frames < 0 || o->max_edge_copy_span < 0 || o->bad_frame_retries < 0 ||
      o->bad_frame_retries > 10 || o->person_index < 0)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT,
                       "--min_views >= 2, --bad_frame_retries 0..10, and --max_stale_frames, --max_edge_copy_span, "
                       "--person_index >= 0 are required");
  if (o->freeze_from != MHRFIT_FREEZE_FROM_FIRST_FIT && o->freeze_from != MHRFIT_FREEZE_FROM_VIEW)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "unknown freeze_lower_body_from %d", (int)o->freeze_from);
  return true;
}

/* The frame folders of the input: not hidden, not the output folder, and with a subset only
 * those it names, in natural order. */
static bool list_frames(mhrfit_pipeline *p, mhrfit_error *err) {
  const mhrfit_pipeline_options *o = &p->o;
  if (!mf_list_dir(o->input_dir, NULL, true, &p->frames, err)) return false;
  struct stat so_st, fr_st;
  bool have_out = stat(o->out_dir, &so_st) == 0;
  size_t k = 0;
  char path[4096];
  for (size_t i = 0; i < p->frames.count; i++) {
    snprintf(path, sizeof path, "%s/%s", o->input_dir, p->frames.items[i]);
    bool same = have_out && stat(path, &fr_st) == 0 && fr_st.st_dev == so_st.st_dev && fr_st.st_ino == so_st.st_ino;
    bool keep = p->frames.items[i][0] != '.' && !same;
    for (size_t j = 0; keep && o->n_frames && j <= o->n_frames; j++) {
      if (j == o->n_frames) keep = false;
      else if (strcmp(p->frames.items[i], o->frames[j]) == 0) break;
    }
    if (keep) p->frames.items[k++] = p->frames.items[i];
    else free(p->frames.items[i]);
  }
  p->frames.count = k;
  if (!k)
    return MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "%s: no frame folders%s", o->input_dir,
                       o->n_frames ? " matching --frame_rel" : "");
  return true;
}

/* The calibration, the triangulator, the rig and the fitters. */
static bool load_models(mhrfit_pipeline *p, mhrfit_error *err) {
  const mhrfit_pipeline_options *o = &p->o;
  p->all = mhrfit_calib_load(o->calib_path, &o->calib, err);
  if (!p->all || !(p->cal = mhrfit_calib_select(p->all, o->cams, p->V, err))) return false;
  p->triangulator = mhrfit_triangulator_new(p->cal->cams, p->V, 70, &o->tri, err);
  p->rig = p->triangulator ? mhrfit_rig_open(o->rig_path, o->lod, MHRFIT_RIG_NO_CORRECTIVE_BLENDSHAPES, err) : NULL;
  p->fitter = p->rig ? mhrfit_fitter_new(p->rig, NULL, &o->fit, err) : NULL;
  if (!p->fitter) return false;
  mhrfit_fit_options ro = o->fit; /* retries: a stronger pull towards the previous good frame */
  ro.temporal_init_blend = fmax(ro.temporal_init_blend, 0.9);
  ro.w_temporal = fmax(3 * ro.w_temporal, 3e-4);
  ro.iters = 2 * (ro.iters ? ro.iters : ro.solver == MHRFIT_SOLVER_ADAM ? 200 : 50);
  if (!(p->retry_fitter = mhrfit_fitter_new(p->rig, NULL, &ro, err))) return false;
  p->n_hist = (size_t)ro.iters;
  if (o->fit.freeze_lower_body && o->freeze_from == MHRFIT_FREEZE_FROM_FIRST_FIT) {
    mhrfit_fit_options fo = o->fit;
    fo.freeze_lower_body = false;
    if (!(p->ref_fitter = mhrfit_fitter_new(p->rig, NULL, &fo, err))) return false;
  }
  return true;
}

mhrfit_pipeline *mhrfit_pipeline_new(const mhrfit_pipeline_options *o, mhrfit_error *err) {
  if (!o) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "no options");
    return NULL;
  }
  if (!check_options(o, err)) return NULL;
  mhrfit_pipeline *p = calloc(1, sizeof *p);
  if (!p) {
    MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
    return NULL;
  }
  p->o = *o;
  p->t_start = mf_now_seconds();
  p->V = o->n_cams;
  p->rig_key = mf_is_dir(o->rig_path) ? "assets" : "rig";
  p->prev_frame = -1;
  if (!list_frames(p, err)) goto fail;
  p->F = p->frames.count;
  if (!(p->config = mf_pipeline_config(o, p->rig_key, err)) || !mf_pipeline_value_hash(p->config, &p->config_hash, err))
    goto fail;
  double t0 = mf_now_seconds();
  if (!load_models(p, err)) goto fail;
  p->t_setup = mf_now_seconds() - t0;
  return p;
fail:
  mhrfit_pipeline_free(p);
  return NULL;
}

void mhrfit_pipeline_free(mhrfit_pipeline *p) {
  if (!p) return;
  mf_names_free(&p->frames);
  mhrfit_value_free(p->config);
  mhrfit_value_free(p->state);
  if (p->journal) fclose(p->journal);
  free(p->rec);
  free(p->labels);
  free(p->raw_status);
  mhrfit_fit_archive_free(p->seq);
  mhrfit_fit_archive_free(p->one);
  mhrfit_tri_archive_free(p->ta);
  mhrfit_fitter_free(p->fitter);
  mhrfit_fitter_free(p->retry_fitter);
  mhrfit_fitter_free(p->ref_fitter);
  mhrfit_rig_free(p->rig);
  mhrfit_triangulator_free(p->triangulator);
  mhrfit_calib_free(p->cal);
  mhrfit_calib_free(p->all);
  free(p);
}

/* ------------------------------------------------------------------ stage 1 */

typedef struct ingest_user {
  const mhrfit_pipeline *p;
  double t0;
} ingest_user;

static void ingest_progress(void *user, size_t done, size_t total) {
  const ingest_user *iu = user;
  mhrfit_pipeline_progress pr = {MHRFIT_PIPELINE_STAGE_INGEST, done, total, 0, 0, mf_now_seconds() - iu->t0, NULL};
  iu->p->o.progress(iu->p->o.user, &pr);
}

static void ingest_log(void *user, mhrfit_ingest_log_level level, const char *message) {
  mhrfit_pipeline_log_level lv = level == MHRFIT_INGEST_ERROR     ? MHRFIT_PIPELINE_ERROR
                                 : level == MHRFIT_INGEST_WARNING ? MHRFIT_PIPELINE_WARNING
                                                                  : MHRFIT_PIPELINE_INFO;
  logf_(((const ingest_user *)user)->p, lv, "ingest: %s", message);
}

static bool run_ingest(mhrfit_pipeline *p, mhrfit_error *err) {
  const mhrfit_pipeline_options *o = &p->o;
  double t0 = mf_now_seconds();
  ingest_user iu = {p, t0};
  mhrfit_ingest_options io;
  mhrfit_ingest_options_init(&io);
  io.input_dir = o->input_dir;
  io.sam_dir = o->sam_dir;
  io.out_dir = o->out_dir;
  io.cams = o->cams;
  io.n_cams = p->V;
  io.frames = (const char *const *)p->frames.items;
  io.n_frames = p->F;
  io.strategy = o->person_strategy;
  io.person_index = o->person_index;
  io.estimator = o->estimator;
  io.model_ids = o->model_ids;
  io.n_model_ids = o->n_model_ids;
  io.force = o->overwrite;
  io.log = ingest_log;
  io.progress = o->progress ? ingest_progress : NULL;
  io.user = &iu;
  io.cancel = o->cancel;
  if (!mhrfit_ingest_run(&io, &p->res.ingest, err)) return false;
  p->res.time_ingest_s = mf_now_seconds() - t0;
  logf_(p, MHRFIT_PIPELINE_INFO, "stage 1: %zu frames ingested, %zu reused, %zu with failed views (%.2f s)",
        p->res.ingest.frames_ingested, p->res.ingest.frames_reused, p->res.ingest.frames_failed,
        p->res.time_ingest_s);
  return true;
}

/* ------------------------------------------------------------------ set-up of the run */

static const char *tri_method_name(const mhrfit_tri_options *t) {
  return t->method == MHRFIT_TRI_POSE2SIM ? "pose2sim" : "default";
}

static bool prepare_run(mhrfit_pipeline *p, mhrfit_error *err) {
  const mhrfit_pipeline_options *o = &p->o;
  size_t F = p->F, V = p->V;
  p->seq = mhrfit_fit_archive_new(F, 70, V, p->rig->n_joints, o->write_mesh ? p->rig->n_vertices : 0, p->n_hist,
                                  o->cams, err);
  p->rec = calloc(F, sizeof *p->rec);
  p->labels = calloc(F, 1);
  p->raw_status = malloc(F * sizeof *p->raw_status);
  if (!p->seq || !p->rec || !p->labels || !p->raw_status) {
    if (p->seq) MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
    return false;
  }
  mhrfit_fit_archive_set_options(p->seq, &o->fit);
  const mhrfit_layout *mhr70 = mhrfit_layout_get("mhr70", err);
  p->one = mhr70 ? mhrfit_fit_archive_new(1, 70, V, p->rig->n_joints, p->seq->n_vertices, p->n_hist, o->cams, err)
                 : NULL;
  p->ta = p->one ? mhrfit_tri_archive_new(1, 70, V, mhr70->names, o->cams, err) : NULL;
  if (!p->ta) return false;
  p->one->frame_axis = p->ta->frame_axis = false;
  mhrfit_fit_archive_set_options(p->one, &o->fit);
  p->ta->threshold_px = o->tri.method == MHRFIT_TRI_POSE2SIM ? o->tri.reproj_thresh : o->tri.inlier_thresh;
  snprintf(p->ta->method, sizeof p->ta->method, "%s", tri_method_name(&o->tri));
  return true;
}

/* The surface markers: from the first view (frame order, camera order) with parameters and
 * keypoints, so that every run of the same inputs uses the same markers. */
static void lock_markers(mhrfit_pipeline *p) {
  bool locked = false;
  char path[4096];
  for (size_t f = 0; f < p->F && !locked; f++) {
    snprintf(path, sizeof path, "%s/stage1/%s", p->o.out_dir, p->frames.items[f]);
    mhrfit_fit_viewset *vs = mhrfit_fit_viewset_load(path, p->o.cams, p->V, 0, true, NULL);
    for (size_t v = 0; vs && v < p->V && !locked; v++)
      if (!vs->note[v][0] && vs->views[v].keypoints_3d) {
        locked = mhrfit_fitter_lock_markers(p->fitter, &vs->views[v], NULL) &&
                 mhrfit_fitter_lock_markers(p->retry_fitter, &vs->views[v], NULL) &&
                 (!p->ref_fitter || mhrfit_fitter_lock_markers(p->ref_fitter, &vs->views[v], NULL));
      }
    mhrfit_fit_viewset_free(vs);
  }
  if (!locked) logf_(p, MHRFIT_PIPELINE_WARNING, "no view with keypoints to calibrate the surface markers");
}

/* The journal of an earlier run: read, then rewritten compactly once the set-up has succeeded,
 * so that a run failing before any frame leaves it as it was. */
static bool open_journal(mhrfit_pipeline *p, mhrfit_error *err) {
  char path[4096];
  if (!(p->state = mhrfit_value_new_dict(err))) return false;
  snprintf(path, sizeof path, "%s/run_state.json", p->o.out_dir);
  if (mf_is_file(path)) unlink(path); /* the state file of earlier versions: those frames are redone once */
  snprintf(path, sizeof path, "%s/run_state.txt", p->o.out_dir);
  if (!p->o.overwrite) mf_journal_read(path, p->state);
  return (p->journal = mf_journal_open(path, p->state, err)) != NULL;
}

/* ------------------------------------------------------------------ frames */

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
      char path[4200];
      struct stat st;
      snprintf(path, sizeof path, "%s/%s%s", dir, cams[v], ext[i]);
      if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
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

/* Rounds to float32, the precision of fit.npz, so a resumed run continues from exactly what
 * an uninterrupted run used. */
static void round_f32(double *x, size_t n) {
  for (size_t i = 0; i < n; i++) x[i] = (double)(float)x[i];
}

/* Stage 2 of frame f into p->ta and its file; false only when the run cannot go on. */
static bool triangulate_frame(mhrfit_pipeline *p, size_t f, const char *dir, mhrfit_error *err) {
  const char *name = p->frames.items[f];
  char path[4200];
  double t1 = mf_now_seconds();
  mhrfit_obs_options oo = {"stage1", 70, 0, NULL, true};
  mhrfit_observations *obs = mhrfit_observations_load(dir, p->o.cams, p->V, &oo, err);
  bool ok = false;
  if (obs) {
    mhrfit_tri_archive *ta = p->ta;
    mhrfit_tri_result tr = {ta->points, ta->points_init, ta->inliers, ta->reproj_err, ta->n_views_used, ta->reason};
    ok = mhrfit_triangulator_process(p->triangulator, 70, obs->uv, obs->conf, &tr, err);
    mhrfit_tri_archive_update_mean(ta);
    snprintf(path, sizeof path, "%s/triangulation/%s", p->o.out_dir, name);
    ok = ok && mf_make_dirs(path, err);
    snprintf(path, sizeof path, "%s/triangulation/%s/triangulated.npz", p->o.out_dir, name);
    ok = ok && mhrfit_tri_archive_save(path, ta, err);
  }
  mhrfit_observations_free(obs);
  p->rec[f].t_tri = mf_now_seconds() - t1;
  p->res.time_triangulate_s += p->rec[f].t_tri;
  if (!ok) mhrfit_error_prefix(err, "frame %s", name);
  return ok;
}

/* Stage 3 of frame f into p->one; false only when the run cannot go on. */
static bool fit_frame(mhrfit_pipeline *p, size_t f, const char *dir, mhrfit_error *err) {
  const mhrfit_pipeline_options *o = &p->o;
  double t1 = mf_now_seconds();
  mhrfit_fit_viewset *vs = mhrfit_fit_viewset_load(dir, o->cams, p->V, 0, true, err);
  mhrfit_fit_frame fr;
  if (!vs || !mhrfit_fit_frame_from_tri(p->ta, 0, vs, p->kp_index, p->weights, &fr, err)) {
    mhrfit_fit_viewset_free(vs);
    mhrfit_error_prefix(err, "frame %s", p->frames.items[f]);
    return false;
  }
  bool prior = p->prev_frame >= 0 && (long)f - p->prev_frame <= o->max_stale_frames;
  fr.prev_model_params = prior ? p->prev : NULL;
  fr.prev_similarity = prior ? &p->prev_sim : NULL;
  fr.fixed_scales = p->have_scales && !o->per_frame_scales ? p->scales : NULL;
  mhrfit_fit_result res;
  mhrfit_error ferr = {0};
  /* with freeze_lower_body the legs are locked to the initial values; a frame without a temporal
   * prior starts the chain, and with first_fit its lower body is fitted free */
  bool ok = mhrfit_fitter_process(!prior && p->ref_fitter ? p->ref_fitter : p->fitter, &fr, &res, &ferr);
  if (ok) mhrfit_fit_archive_set(p->one, 0, &fr, vs, &res);
  for (long r = 0; ok && res.is_bad && prior && r < o->bad_frame_retries; r++) {
    mhrfit_fit_result rr;
    if (!mhrfit_fitter_process(p->retry_fitter, &fr, &rr, &ferr)) break;
    if (!rr.is_bad || rr.best_loss < res.best_loss) {
      mhrfit_fit_archive_set(p->one, 0, &fr, vs, &rr);
      p->rec[f].retried = true;
      if (!rr.is_bad) break;
    }
  }
  if (!ok) mhrfit_fit_archive_set_failed(p->one, 0, "optimization_failed", ferr.message);
  mhrfit_fit_viewset_free(vs);
  p->rec[f].t_fit = mf_now_seconds() - t1;
  p->res.time_fit_s += p->rec[f].t_fit;
  return true;
}

/* Frame f computed: stages 2 and 3, its fit.npz and its journal line. */
static bool compute_frame(mhrfit_pipeline *p, size_t f, const char *dir, const char *fit_path, mhrfit_error *err) {
  const mhrfit_pipeline_options *o = &p->o;
  const char *name = p->frames.items[f];
  char path[4200];
  mhrfit_fit_archive_clear_frame(p->one, 0);
  if (p->rec[f].n_available < o->min_views) {
    char msg[128];
    snprintf(msg, sizeof msg, "%d of %zu camera files present, %d needed", p->rec[f].n_available, p->V, o->min_views);
    mhrfit_fit_archive_set_failed(p->one, 0, "missing_views", msg);
  } else {
    if (!triangulate_frame(p, f, dir, err)) return false;
    for (size_t k = 0; k < 70; k++) p->rec[f].n_tri_points += p->ta->reason[k] == MHRFIT_TRI_OK;
    if (p->rec[f].n_tri_points < o->fit.min_valid_points) {
      char msg[128];
      snprintf(msg, sizeof msg, "%d points triangulated, %d needed", p->rec[f].n_tri_points, o->fit.min_valid_points);
      mhrfit_fit_archive_set_failed(p->one, 0, "triangulation_failed", msg);
    } else if (!fit_frame(p, f, dir, err)) {
      return false;
    }
  }
  round_f32(p->one->model_params, 204); /* what the file holds */
  snprintf(path, sizeof path, "%s/fit/%s", o->out_dir, name);
  if (!mf_make_dirs(path, err) || !mhrfit_fit_archive_save(fit_path, p->one, err) ||
      !mhrfit_fit_archive_copy_frame(p->seq, f, p->one, 0, err))
    return false;
  snprintf(path, sizeof path, "%s/run_state.txt", o->out_dir);
  return mf_journal_append(p->journal, path, name, p->rec[f].signature, err);
}

/* One frame: reused from an earlier run when its signature is journalled and its fit loads,
 * else computed; then the temporal state follows the ok frames. */
static bool process_frame(mhrfit_pipeline *p, size_t f, mhrfit_error *err) {
  const mhrfit_pipeline_options *o = &p->o;
  const char *name = p->frames.items[f];
  char dir[4096], fit_path[4096];
  snprintf(dir, sizeof dir, "%s/stage1/%s", o->out_dir, name);
  snprintf(fit_path, sizeof fit_path, "%s/fit/%s/fit.npz", o->out_dir, name);
  frame_signature(dir, o->cams, p->V, p->config_hash, p->rec[f].signature, &p->rec[f].n_available);
  const mhrfit_value *st = mhrfit_value_dict_get(p->state, name);
  bool reuse = !o->overwrite && st && st->kind == MHRFIT_V_STRING && strcmp(st->u.str.data, p->rec[f].signature) == 0 &&
               mf_is_file(fit_path);
  if (reuse) {
    mhrfit_fit_archive *saved = mhrfit_fit_archive_load(fit_path, NULL);
    reuse = saved && mhrfit_fit_archive_copy_frame(p->seq, f, saved, 0, NULL);
    mhrfit_fit_archive_free(saved);
    if (!reuse) logf_(p, MHRFIT_PIPELINE_WARNING, "frame %s: saved fit unreadable, redoing it", name);
  }
  if (!reuse && !compute_frame(p, f, dir, fit_path, err)) return false;
  if (reuse) p->res.frames_reused++;
  p->rec[f].reused = reuse;
  if (strcmp(p->seq->status[f], "ok") == 0) {
    memcpy(p->prev, p->seq->model_params + 204 * f, sizeof p->prev);
    mhrfit_fit_archive_get_similarity(p->seq, f, &p->prev_sim);
    p->prev_frame = (long)f;
    if (!p->have_scales) {
      memcpy(p->scales, p->prev + 136, sizeof p->scales);
      p->have_scales = true;
    }
  }
  return true;
}

static bool run_frames(mhrfit_pipeline *p, mhrfit_error *err) {
  double t0 = mf_now_seconds();
  size_t not_ok = 0;
  for (size_t f = 0; f < p->F; f++) {
    if (cancelled(p))
      return MHRFIT_FAIL(err, MHRFIT_ERR_CANCELLED, "%s: cancelled after %zu of %zu frames; run again to resume",
                         p->o.out_dir, f, p->F);
    if (!process_frame(p, f, err)) return false;
    not_ok += strcmp(p->seq->status[f], "ok") != 0;
    if (p->o.progress) {
      mhrfit_pipeline_progress pr = {MHRFIT_PIPELINE_STAGE_FRAMES, f + 1,     p->F, p->res.frames_reused, not_ok,
                                     mf_now_seconds() - t0,       p->frames.items[f]};
      p->o.progress(p->o.user, &pr);
    }
  }
  p->res.time_frame_other_s = mf_now_seconds() - t0 - p->res.time_triangulate_s - p->res.time_fit_s;
  return true;
}

/* ------------------------------------------------------------------ the sequence */

static bool run_sequence(mhrfit_pipeline *p, mhrfit_error *err) {
  const mhrfit_pipeline_options *o = &p->o;
  double t0 = mf_now_seconds();
  char path[4096];
  for (size_t f = 0; f < p->F; f++) memcpy(p->raw_status[f], p->seq->status[f], sizeof p->raw_status[f]);
  if (!mhrfit_sequence_recover(p->seq, p->fitter, (size_t)o->max_edge_copy_span, &p->res.recover, err)) return false;
  /* the final archives are fsynced (the per-frame ones are not: a resumed run re-validates them) */
  snprintf(path, sizeof path, "%s/sequence_fit.npz", o->out_dir);
  if (!mhrfit_fit_archive_save(path, p->seq, err) || !mf_sync_file(path, err)) return false;
  if (o->smoothing) {
    mhrfit_smooth_report sr = {0, 0, false};
    if (!mhrfit_sequence_smooth(p->seq, p->fitter, &o->smooth, p->labels, &sr, err)) return false;
    p->res.smoothed = sr.smoothed;
    snprintf(path, sizeof path, "%s/sequence_smoothed.npz", o->out_dir);
    if (!mhrfit_fit_archive_save(path, p->seq, err) || !mf_sync_file(path, err)) return false;
  }
  p->res.time_sequence_s = mf_now_seconds() - t0;
  return true;
}

/* Counts the final statuses in order of first appearance. */
static void count_statuses(mhrfit_pipeline *p) {
  mhrfit_pipeline_result *r = &p->res;
  for (size_t f = 0; f < p->F; f++) {
    size_t i = 0;
    while (i < r->n_statuses && strcmp(r->status_names[i], p->seq->status[f]) != 0) i++;
    if (i == r->n_statuses) {
      if (i == MHRFIT_PIPELINE_MAX_STATUSES) continue;
      memcpy(r->status_names[r->n_statuses++], p->seq->status[f], sizeof r->status_names[0]);
    }
    r->status_counts[i]++;
  }
}

static bool write_summary(mhrfit_pipeline *p, mhrfit_error *err) {
  const mhrfit_pipeline_options *o = &p->o;
  const mhrfit_pipeline_result *r = &p->res;
  const mhrfit_fit_archive *seq = p->seq;
  mf_jb j = {err, false};
  mhrfit_value *summary = mhrfit_value_new_dict(err);
  mhrfit_value *list = mhrfit_value_new_list(err), *counts = mhrfit_value_new_dict(err);
  if (!summary || !list || !counts) {
    mhrfit_value_free(summary);
    mhrfit_value_free(list);
    mhrfit_value_free(counts);
    return false;
  }
  mf_jstr(&j, summary, "output_root", o->out_dir);
  mf_jstr(&j, summary, "input_root", o->input_dir);
  mf_jint(&j, summary, "num_frames", (long long)p->F);
  for (size_t f = 0; f < p->F && !j.failed; f++) {
    mhrfit_value *fd = mhrfit_value_new_dict(err);
    if (!fd) {
      j.failed = true;
      break;
    }
    const frame_rec *rec = &p->rec[f];
    const double *L = seq->losses + 6 * f;
    mf_jstr(&j, fd, "frame", p->frames.items[f]);
    mf_jstr(&j, fd, "status", seq->status[f]);
    mf_jstr(&j, fd, "fit_status", p->raw_status[f]);
    mf_jstr(&j, fd, "message", seq->message[f][0] ? seq->message[f] : NULL);
    mf_jstr(&j, fd, "init_cam", seq->init_cam[f][0] ? seq->init_cam[f] : NULL);
    mf_jint(&j, fd, "available_cams", rec->n_available);
    mf_jint(&j, fd, "triangulated_points", rec->n_tri_points);
    mf_jnum(&j, fd, "best_loss", L[1]);
    mf_jnum(&j, fd, "final_loss", L[2]);
    mf_jnum(&j, fd, "best_data_loss", L[4]);
    mf_jnum(&j, fd, "final_data_loss", L[5]);
    mf_jint(&j, fd, "iters", seq->counts[6 * f]);
    mf_jbool(&j, fd, "retried", rec->retried);
    mf_jbool(&j, fd, "reused", rec->reused);
    mf_jstr(&j, fd, "smoothing", !r->smoothed ? "none" : mhrfit_smooth_label_name(p->labels[f]));
    mf_jnum(&j, fd, "time_triangulate_s", rec->reused ? NAN : rec->t_tri);
    mf_jnum(&j, fd, "time_fit_s", rec->reused ? NAN : rec->t_fit);
    if (!mhrfit_value_list_append(list, fd, err)) j.failed = true;
  }
  for (size_t i = 0; i < r->n_statuses; i++) mf_jint(&j, counts, r->status_names[i], (long long)r->status_counts[i]);
  mf_jput(&j, summary, "status_counts", counts);
  mhrfit_value *timing = mhrfit_value_new_dict(err);
  if (timing) {
    mf_jnum(&j, timing, "ingest_s", r->time_ingest_s);
    mf_jnum(&j, timing, "setup_s", r->time_setup_s);
    mf_jnum(&j, timing, "triangulate_s", r->time_triangulate_s);
    mf_jnum(&j, timing, "fit_s", r->time_fit_s);
    mf_jnum(&j, timing, "frame_other_s", r->time_frame_other_s);
    mf_jnum(&j, timing, "recover_smooth_s", r->time_sequence_s);
    mf_jnum(&j, timing, "total_s", mf_now_seconds() - p->t_start);
    mf_jint(&j, timing, "frames_reused", (long long)r->frames_reused);
  }
  mf_jput(&j, summary, "timing", timing);
  mf_jput(&j, summary, "frames", list);
  char path[4096];
  snprintf(path, sizeof path, "%s/sequence_summary.json", o->out_dir);
  bool ok = !j.failed && mf_write_json_atomic(path, summary, 2, err);
  mhrfit_value_free(summary);
  return ok;
}

/* ------------------------------------------------------------------ the run */

bool mhrfit_pipeline_run(mhrfit_pipeline *p, mhrfit_pipeline_result *res, mhrfit_error *err) {
  if (!p) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "no pipeline");
  if (p->ran) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "%s: this pipeline has run already", p->o.out_dir);
  p->ran = true;
  char path[4096];
  if (!mf_make_dirs(p->o.out_dir, err)) return false;
  snprintf(path, sizeof path, "%s/pipeline_config.json", p->o.out_dir);
  if (!mf_write_json_atomic(path, p->config, 2, err)) return false;
  if (!run_ingest(p, err)) return false;
  double t0 = mf_now_seconds();
  if (!prepare_run(p, err)) return false;
  lock_markers(p);
  if (!open_journal(p, err)) return false;
  p->res.time_setup_s = p->t_setup + (mf_now_seconds() - t0);
  p->res.n_frames = p->F;
  if (!run_frames(p, err) || !run_sequence(p, err)) return false;
  count_statuses(p);
  if (!write_summary(p, err)) return false;
  p->res.time_total_s = mf_now_seconds() - p->t_start;
  if (res) *res = p->res;
  return true;
}
