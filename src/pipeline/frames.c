/* The pipeline's per-frame stage: triangulation and fit of each frame, with the temporal prior,
 * retries, reuse of the frames an earlier run finished, and the journal
 * (include/mhrfit/pipeline.h).
 *
 * With T threads the frames flow through a window of slots, each frame through four steps:
 *   prepare  the identity of its stage-1 files, the fit an earlier run saved (when the journal
 *            names the frame), and, when the frame will probably be computed, its triangulation
 *            and views (any thread, frames in any order within the window);
 *   fit      its signature, reuse or the fit itself (one frame at a time, in frame order: the
 *            temporal prior chains the frames);
 *   write    its triangulated.npz and fit.npz (any thread);
 *   retire   its journal line, statistics, progress (the caller's thread, in frame order).
 * A thread takes the fit when it can run, else a write, else a prepare. With one thread the
 * window is one frame and the steps run in the order above, frame after frame. Every output
 * depends only on the frames' inputs and the fits before them, never on the threads. */
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/file.h"
#include "common/hash.h"
#include "common/mem.h"
#include "common/pool.h"
#include "mhrfit/layout.h"
#include "mhrfit/observations.h"
#include "pipeline/pipeline_internal.h"

/* ------------------------------------------------------------------ set-up */

/* The surface markers: from the first view (frame order, camera order) with parameters and
 * keypoints, so that every run of the same inputs uses the same markers; their source is part of
 * every frame's identity. */
static void lock_markers(mhrfit_pipeline *p) {
  bool locked = false;
  char path[PATH_MAX];
  snprintf(p->markers_id, sizeof p->markers_id, "none");
  p->markers_f = p->markers_v = -1;
  for (size_t f = 0; f < p->F && !locked; f++) {
    snprintf(path, sizeof path, "%s/stage1/%s", p->o.out_dir, p->frames.items[f]);
    mhrfit_fit_viewset *vs = mhrfit_fit_viewset_load(path, (const char *const *)p->cams, p->V, 0, true, NULL);
    for (size_t v = 0; vs && v < p->V && !locked; v++)
      if (!vs->note[v][0] && vs->views[v].keypoints_3d) {
        locked = mhrfit_fitter_lock_markers(p->fitter, &vs->views[v], NULL) &&
                 mhrfit_fitter_lock_markers(p->retry_fitter, &vs->views[v], NULL) &&
                 (!p->ref_fitter || mhrfit_fitter_lock_markers(p->ref_fitter, &vs->views[v], NULL)) &&
                 (p->mesh_fitter == p->fitter || mhrfit_fitter_lock_markers(p->mesh_fitter, &vs->views[v], NULL));
        struct stat st;
        snprintf(path, sizeof path, "%s/stage1/%s/%s.npz", p->o.out_dir, p->frames.items[f], p->cams[v]);
        if (locked) {
          p->markers_f = (long)f;
          p->markers_v = (long)v;
        }
        if (locked && stat(path, &st) == 0)
          snprintf(p->markers_id, sizeof p->markers_id, "%zu/%zu/%lld/%lld.%09ld", f, v, (long long)st.st_size,
                   (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
      }
    mhrfit_fit_viewset_free(vs);
  }
  if (!locked) mf_pipeline_log(p, MHRFIT_PIPELINE_WARNING, "no view with keypoints to calibrate the surface markers");
}

bool mf_pipeline_geometry_fitters(mhrfit_pipeline *p, mhrfit_error *err) {
  if (p->geo_of[p->threads - 1]) return true;
  mhrfit_fit_viewset *vs = NULL;
  if (p->markers_f >= 0) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/stage1/%s", p->o.out_dir, p->frames.items[p->markers_f]);
    if (!(vs = mhrfit_fit_viewset_load(path, (const char *const *)p->cams, p->V, 0, true, err))) return false;
  }
  mhrfit_fit_options fo = p->o.fit;
  fo.skip_mesh = !p->o.write_mesh;
  bool ok = true;
  for (size_t t = 1; t < p->threads && ok; t++) {
    if (p->det) {
      ok = (p->geo_of[t] = mf_detector_geometry_fitter(p, err)) != NULL;
      continue;
    }
    ok = (p->geo_of[t] = mhrfit_fitter_new(p->rig, NULL, &fo, err)) != NULL &&
         (!vs || mhrfit_fitter_lock_markers(p->geo_of[t], &vs->views[p->markers_v], err));
  }
  mhrfit_fit_viewset_free(vs);
  return ok;
}

/* The journal of an earlier run: read, then rewritten compactly once the set-up has succeeded,
 * so that a run failing before any frame leaves it as it was. */
static bool open_journal(mhrfit_pipeline *p, mhrfit_error *err) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/run_state.json", p->o.out_dir);
  if (mf_is_file(path)) unlink(path); /* the state file of earlier versions: those frames are redone once */
  snprintf(path, sizeof path, "%s/run_state.txt", p->o.out_dir);
  if (!p->o.overwrite) mf_journal_read(path, &p->state);
  return (p->journal = mf_journal_open(path, &p->state, err)) != NULL;
}

bool mf_pipeline_alloc(mhrfit_pipeline *p, mhrfit_error *err) {
  size_t F = p->F, V = p->V, T = p->threads;
  p->rec = mf_calloc_array(F, sizeof *p->rec, err);
  p->params = p->rec ? mf_malloc_array(F * 204, sizeof *p->params, err) : NULL;
  p->sim = p->params ? mf_malloc_array(F * 13, sizeof *p->sim, err) : NULL;
  p->status = p->sim ? mf_calloc_array(F, sizeof *p->status, err) : NULL;
  p->raw_status = p->status ? mf_calloc_array(F, sizeof *p->raw_status, err) : NULL;
  p->message = p->raw_status ? mf_calloc_array(F, sizeof *p->message, err) : NULL;
  p->labels = p->message ? mf_calloc_array(F, 1, err) : NULL;
  p->cam_stats = p->labels ? mf_calloc_array(V, sizeof *p->cam_stats, err) : NULL;
  p->body_width = p->cam_stats ? mf_malloc_array(F, sizeof *p->body_width, err) : NULL;
  p->tri_of = p->body_width ? mf_calloc_array(T, sizeof *p->tri_of, err) : NULL;
  p->geo_of = p->tri_of ? mf_calloc_array(T, sizeof *p->geo_of, err) : NULL;
  if (!p->geo_of) return false;
  for (size_t f = 0; f < F; f++) {
    p->body_width[f] = NAN;
    p->rec[f].init_view = -1;
    p->rec[f].fit_scale = NAN;
    for (int i = 0; i < 4; i++) p->rec[f].losses[i] = NAN;
  }
  for (size_t i = 0; i < F * 204; i++) p->params[i] = NAN;
  for (size_t i = 0; i < F * 13; i++) p->sim[i] = NAN;
  p->tri_of[0] = p->triangulator;
  p->geo_of[0] = p->mesh_fitter;
  return true;
}

bool mf_pipeline_prepare(mhrfit_pipeline *p, mhrfit_error *err) {
  const mhrfit_pipeline_options *o = &p->o;
  size_t V = p->V, T = p->threads;
  const char *const *cams = (const char *const *)p->cams;
  if (!mf_pipeline_alloc(p, err)) return false;
  for (size_t t = 1; t < T; t++)
    if (!(p->tri_of[t] = mhrfit_triangulator_new(p->cal->cams, V, 70, &o->tri, err))) return false;
  /* the sequence files hold the mesh; per-frame files do not (it is recomputed from the parameters) */
  p->layout = mhrfit_fit_archive_new(1, 70, V, p->rig->n_joints, o->write_mesh ? p->rig->n_vertices : 0, p->n_hist,
                                     cams, err);
  if (!p->layout) return false;
  mhrfit_fit_archive_set_options(p->layout, &o->fit);
  if (!mhrfit_fit_archive_describe(p->layout, NULL, o->smooth.fps, p->rig, err)) return false;
  lock_markers(p);
  return open_journal(p, err);
}

/* ------------------------------------------------------------------ one frame's steps */

enum { FREE = 0, PREPARING, PREPARED, FITTING, FITTED, WRITING, WRITTEN };

/* A frame on its way through the window (see the file doc). */
typedef struct slot {
  size_t f;
  int state;
  bool predict;                /* prepare triangulates: the frame will probably be computed */
  long long *ids;              /* V x 3: size, mtime s, mtime ns of each stage-1 file (-1: none) */
  int n_available;
  bool saved_tried;            /* the journal names the frame and its fit.npz exists */
  mhrfit_fit_archive *saved;   /* ... loaded (NULL: unreadable) */
  bool tri_done, tri_ok, observed;
  mhrfit_error tri_err;
  mhrfit_tri_archive *ta;
  mhrfit_fit_viewset *vs;
  mf_cam_stats *stats;         /* V: what this frame's triangulation showed */
  double body_width;
  mhrfit_fit_archive *one;     /* the frame's fit (no mesh) */
  bool computed, reused, saved_unreadable;
  int kp_index[70];
  double weights[70];
  bool failed;
  mhrfit_error err;
} slot;

static const char *frame_name(const mhrfit_pipeline *p, size_t f) { return p->frames.items[f]; }

/* The identity of the frame's stage-1 files: the file mf_camera_file() names (<cam>.npz, else
 * <cam>.npy; regular files), one stat each. */
static void stat_files(const mhrfit_pipeline *p, slot *s, const char *dir) {
  s->n_available = 0;
  for (size_t v = 0; v < p->V; v++) {
    long long *id = s->ids + 3 * v;
    id[0] = id[1] = id[2] = -1;
    static const char *const ext[2] = {".npz", ".npy"};
    for (int i = 0; i < 2; i++) {
      char path[PATH_MAX + 256];
      struct stat st;
      snprintf(path, sizeof path, "%s/%s%s", dir, p->cams[v], ext[i]);
      if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
        id[0] = (long long)st.st_size;
        id[1] = (long long)st.st_mtim.tv_sec;
        id[2] = (long long)st.st_mtim.tv_nsec;
        s->n_available++;
        break;
      }
    }
  }
}

/* Identity of frame f as it is about to be fitted: the settings, the markers' source, the
 * identity of its temporal prior and of the frame giving the skeleton scales (each a signature
 * of its own, so a change propagates forward exactly as far as the prior chain reaches), and
 * size + modification time of each of its stage-1 files. */
static void frame_signature(mhrfit_pipeline *p, const slot *s, bool prior, bool fixed_scales) {
  mf_xxh64 h;
  mf_xxh64_init(&h);
  mf_xxh64_update(&h, &p->config_hash, sizeof p->config_hash);
  mf_xxh64_update(&h, p->markers_id, strlen(p->markers_id) + 1);
  const long refs[2] = {prior ? p->prev_frame : -1, fixed_scales ? p->scales_frame : -1};
  for (int i = 0; i < 2; i++) {
    const char *name = refs[i] >= 0 ? frame_name(p, (size_t)refs[i]) : "", *sig = refs[i] >= 0 ? p->rec[refs[i]].signature : "";
    mf_xxh64_update(&h, name, strlen(name) + 1);
    mf_xxh64_update(&h, sig, strlen(sig) + 1);
  }
  for (size_t v = 0; v < p->V; v++) {
    mf_xxh64_update(&h, p->cams[v], strlen(p->cams[v]) + 1);
    mf_xxh64_update(&h, s->ids + 3 * v, 3 * sizeof *s->ids);
  }
  mf_frame_rec *r = &p->rec[s->f];
  r->n_available = s->n_available;
  snprintf(r->signature, sizeof r->signature, "%016llx", (unsigned long long)mf_xxh64_digest(&h));
}

/* Rounds to float32, the precision of fit.npz, so a resumed run continues from exactly what
 * an uninterrupted run used. */
static void round_f32(double *x, size_t n) {
  for (size_t i = 0; i < n; i++) x[i] = (double)(float)x[i];
}

/* What the frame's triangulation shows about units and resolution: where its 2D keypoints lie
 * in each calibrated image, how far its views are from the triangulated points, the width of its
 * shoulders (added to the run's when the frame is computed). */
static void observe(const mhrfit_pipeline *p, slot *s, const mhrfit_observations *obs) {
  const mhrfit_tri_archive *ta = s->ta;
  memset(s->stats, 0, p->V * sizeof *s->stats);
  for (size_t v = 0; v < p->V; v++) {
    mf_cam_stats *c_st = &s->stats[v];
    const mhrfit_camera *c = &p->cal->cams[v];
    for (size_t k = 0; k < 70; k++) {
      const double *uv = obs->uv + 2 * (k * p->V + v);
      if (!isfinite(uv[0]) || !isfinite(uv[1])) continue;
      c_st->n_kp++;
      if (c->width > 0 && c->height > 0) {
        c_st->n_outside += uv[0] < 0 || uv[1] < 0 || uv[0] >= c->width || uv[1] >= c->height;
        c_st->n_quarter += uv[0] >= 0 && uv[1] >= 0 && uv[0] < 0.5 * c->width && uv[1] < 0.5 * c->height;
      }
      double e = ta->reproj_err[k * p->V + v];
      if (ta->reason[k] == MHRFIT_TRI_OK && isfinite(e)) {
        c_st->n_err++;
        c_st->n_over_gate += e > ta->threshold_px;
      }
    }
  }
  const double *l = ta->points + 3 * 5, *r = ta->points + 3 * 6; /* MHR70 left and right shoulder */
  s->body_width = NAN;
  if (ta->reason[5] == MHRFIT_TRI_OK && ta->reason[6] == MHRFIT_TRI_OK)
    s->body_width = sqrt(pow(l[0] - r[0], 2) + pow(l[1] - r[1], 2) + pow(l[2] - r[2], 2));
  s->observed = true;
}

/* Stage 2 of the frame into s->ta, and the views its fit needs, with the triangulator of thread t.
 * A failure is kept in s->tri_err: it stops the run only if the frame is computed. */
static void triangulate_slot(mhrfit_pipeline *p, slot *s, size_t t, const char *dir) {
  double t1 = mf_now_seconds();
  s->tri_done = true;
  s->tri_ok = false;
  s->observed = false;
  mhrfit_error *err = &s->tri_err;
  memset(err, 0, sizeof *err);
  mhrfit_obs_options oo = {.format = "stage1", .n_kp = 70, .allow_missing_views = true};
  mhrfit_observations *obs = mhrfit_observations_load(dir, (const char *const *)p->cams, p->V, &oo, err);
  if (obs) {
    mhrfit_tri_archive *ta = s->ta;
    mhrfit_tri_result tr = {ta->points, ta->points_init, ta->inliers, ta->reproj_err, ta->n_views_used, ta->reason};
    s->tri_ok = mhrfit_triangulator_process(p->tri_of[t], 70, obs->uv, obs->conf, &tr, err);
    mhrfit_tri_archive_update_mean(ta);
    if (s->tri_ok) observe(p, s, obs);
  }
  mhrfit_observations_free(obs);
  int n_tri = 0;
  for (size_t k = 0; s->tri_ok && k < 70; k++) n_tri += s->ta->reason[k] == MHRFIT_TRI_OK;
  mhrfit_fit_viewset_free(s->vs);
  s->vs = NULL;
  if (s->tri_ok && n_tri >= p->o.fit.min_valid_points)
    s->vs = mhrfit_fit_viewset_load(dir, (const char *const *)p->cams, p->V, 0, true, err); /* NULL: fails in the fit */
  p->rec[s->f].t_tri = mf_now_seconds() - t1;
  if (!s->tri_ok) mhrfit_error_prefix(err, "frame %s", frame_name(p, s->f));
}

static void prepare(mhrfit_pipeline *p, slot *s, size_t t) {
  const char *name = frame_name(p, s->f);
  char dir[PATH_MAX], fit_path[PATH_MAX];
  snprintf(dir, sizeof dir, "%s/stage1/%s", p->o.out_dir, name);
  snprintf(fit_path, sizeof fit_path, "%s/fit/%s/fit.npz", p->o.out_dir, name);
  stat_files(p, s, dir);
  s->saved_tried = !p->o.overwrite && mf_journal_find(&p->state, name) && mf_is_file(fit_path);
  s->saved = s->saved_tried ? mhrfit_fit_archive_load(fit_path, NULL) : NULL;
  s->tri_done = false;
  if (s->predict && s->n_available >= p->o.min_views) triangulate_slot(p, s, t, dir);
}

/* Why a fitted frame is bad: the thresholds its losses passed (so no bad frame goes without a
 * message). */
static void bad_loss_message(const mhrfit_pipeline *p, mhrfit_fit_archive *one) {
  const mhrfit_fit_options *o = &p->o.fit;
  const double *L = one->losses;
  char msg[256];
  size_t n = 0;
  if (L[1] > o->bad_loss_threshold)
    n += (size_t)snprintf(msg + n, sizeof msg - n, "best loss %.3g above --bad_loss_threshold %.3g", L[1],
                          o->bad_loss_threshold);
  if (L[4] > o->bad_data_loss_threshold && n < sizeof msg)
    n += (size_t)snprintf(msg + n, sizeof msg - n, "%sbest data loss %.3g above --bad_data_loss_threshold %.3g",
                          n ? "; " : "", L[4], o->bad_data_loss_threshold);
  if (L[2] > o->bad_loss_growth_ratio * L[1] && n < sizeof msg)
    n += (size_t)snprintf(msg + n, sizeof msg - n, "%sfinal loss %.3g is %.2f x the best (--bad_loss_growth_ratio %.3g)",
                          n ? "; " : "", L[2], L[2] / L[1], o->bad_loss_growth_ratio);
  if (!n) snprintf(msg, sizeof msg, "the fit did not reach the quality thresholds (best loss %.3g)", L[1]);
  snprintf(one->message[0], sizeof one->message[0], "%s", msg);
}

/* Stage 3 of the frame into s->one; false only when the run cannot go on. */
static bool fit_slot(mhrfit_pipeline *p, slot *s, const char *dir, bool prior, bool fixed_scales, mhrfit_error *err) {
  const mhrfit_pipeline_options *o = &p->o;
  double t1 = mf_now_seconds();
  if (!s->vs) s->vs = mhrfit_fit_viewset_load(dir, (const char *const *)p->cams, p->V, 0, true, err);
  mhrfit_fit_frame fr;
  if (!s->vs || !mhrfit_fit_frame_from_tri(s->ta, 0, s->vs, s->kp_index, s->weights, &fr, err)) {
    mhrfit_error_prefix(err, "frame %s", frame_name(p, s->f));
    return false;
  }
  fr.prev_model_params = prior ? p->prev : NULL;
  fr.prev_similarity = prior ? &p->prev_sim : NULL;
  fr.fixed_scales = fixed_scales ? p->scales : NULL;
  mhrfit_fit_result res;
  mhrfit_error ferr = {0};
  /* with freeze_lower_body the legs are locked to the initial values; a frame without a temporal
   * prior starts the chain, and with first_fit its lower body is fitted free */
  bool ok = mhrfit_fitter_process(!prior && p->ref_fitter ? p->ref_fitter : p->fitter, &fr, &res, &ferr);
  if (ok) mhrfit_fit_archive_set(s->one, 0, &fr, s->vs, &res);
  for (long r = 0; ok && res.is_bad && prior && r < o->bad_frame_retries; r++) {
    mhrfit_fit_result rr;
    if (!mhrfit_fitter_process(p->retry_fitter, &fr, &rr, &ferr)) break;
    if (!rr.is_bad || rr.best_loss < res.best_loss) {
      mhrfit_fit_archive_set(s->one, 0, &fr, s->vs, &rr);
      p->rec[s->f].retried = true;
      if (!rr.is_bad) break;
    }
  }
  if (!ok) mhrfit_fit_archive_set_failed(s->one, 0, "optimization_failed", ferr.message);
  else if (strcmp(s->one->status[0], "bad_loss") == 0 && !s->one->message[0][0]) bad_loss_message(p, s->one);
  p->rec[s->f].t_fit = mf_now_seconds() - t1;
  return true;
}

bool mf_pipeline_describe_frame(const mhrfit_pipeline *p, size_t f, mhrfit_fit_archive *one, mhrfit_error *err) {
  const char *name = frame_name(p, f);
  if (!mhrfit_fit_archive_describe(one, &name, p->o.smooth.fps, p->rig, err)) return false;
  mhrfit_fit_archive_update_world_up(one);
  return true;
}

/* The frame computed with thread t: stages 2 (unless prepared) and 3 into s->one. */
static bool compute(mhrfit_pipeline *p, slot *s, size_t t, const char *dir, bool prior, bool fixed_scales,
                    mhrfit_error *err) {
  const mhrfit_pipeline_options *o = &p->o;
  mf_frame_rec *r = &p->rec[s->f];
  mhrfit_fit_archive_clear_frame(s->one, 0);
  r->n_tri_points = 0;
  if (r->n_available < o->min_views) {
    char msg[160];
    snprintf(msg, sizeof msg, "%d of %zu camera files present in stage1/%s, %d needed (--min_views)", r->n_available,
             p->V, frame_name(p, s->f), o->min_views);
    mhrfit_fit_archive_set_failed(s->one, 0, "missing_views", msg);
  } else {
    if (!s->tri_done) triangulate_slot(p, s, t, dir);
    if (!s->tri_ok) {
      if (err) *err = s->tri_err;
      return false;
    }
    for (size_t k = 0; k < 70; k++) r->n_tri_points += s->ta->reason[k] == MHRFIT_TRI_OK;
    if (r->n_tri_points < o->fit.min_valid_points) {
      char msg[160];
      snprintf(msg, sizeof msg, "%d points triangulated, %d needed (--min_valid_points)", r->n_tri_points,
               o->fit.min_valid_points);
      mhrfit_fit_archive_set_failed(s->one, 0, "triangulation_failed", msg);
    } else if (!fit_slot(p, s, dir, prior, fixed_scales, err)) {
      return false;
    }
  }
  round_f32(s->one->model_params, 204); /* what the file holds */
  return true;
}

/* A frame the journal says is finished with this signature, and whose fit loads: reused with
 * what the first run measured. */
/* Whether the journal names frame f with its current signature (and what it measured then). */
static bool journal_matches(const mhrfit_pipeline *p, size_t f, int *n_tri, int *retried) {
  const mf_frame_rec *r = &p->rec[f];
  const char *st = p->o.overwrite ? NULL : mf_journal_find(&p->state, frame_name(p, f));
  size_t n = strlen(r->signature);
  return st && strncmp(st, r->signature, n) == 0 && sscanf(st + n, "\t%d\t%d", n_tri, retried) == 2;
}

static bool reuse(mhrfit_pipeline *p, slot *s) {
  mf_frame_rec *r = &p->rec[s->f];
  int n_tri = 0, retried = 0;
  if (!journal_matches(p, s->f, &n_tri, &retried) || !s->saved_tried) return false;
  if (!s->saved || !mhrfit_fit_archive_copy_frame(s->one, 0, s->saved, 0, NULL)) {
    s->saved_unreadable = true;
    return false;
  }
  r->n_tri_points = n_tri;
  r->retried = retried != 0;
  return true;
}

/* The fit step of the frame (in frame order): reused or computed; then the temporal state
 * follows the ok frames. False only when the run cannot go on (s->err). */
static bool fit_step(mhrfit_pipeline *p, slot *s, size_t t) {
  const mhrfit_pipeline_options *o = &p->o;
  size_t f = s->f;
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s/stage1/%s", o->out_dir, frame_name(p, f));
  bool prior = p->prev_frame >= 0 && (long)f - p->prev_frame <= o->max_stale_frames;
  bool fixed_scales = p->scales_frame >= 0 && !o->per_frame_scales;
  frame_signature(p, s, prior, fixed_scales);
  s->reused = reuse(p, s);
  s->computed = !s->reused;
  if (s->computed && !compute(p, s, t, dir, prior, fixed_scales, &s->err)) return false;
  mf_frame_rec *r = &p->rec[f];
  r->reused = s->reused;
  const mhrfit_fit_archive *one = s->one;
  memcpy(p->params + 204 * f, one->model_params, 204 * sizeof *p->params);
  memcpy(p->sim + 13 * f, one->sim_out, 13 * sizeof *p->sim);
  memcpy(p->raw_status[f], one->status[0], sizeof p->raw_status[f]);
  r->fit_scale = one->sim_fit[0];
  if (strcmp(one->status[0], "ok") == 0) {
    memcpy(p->prev, one->model_params, sizeof p->prev);
    mhrfit_fit_archive_get_similarity(one, 0, &p->prev_sim);
    p->prev_frame = (long)f;
    if (p->scales_frame < 0) {
      memcpy(p->scales, p->prev + 136, sizeof p->scales);
      p->scales_frame = (long)f;
    }
  }
  return true;
}

/* The frame's files: triangulated.npz and fit.npz of a computed frame. */
static bool write_step(mhrfit_pipeline *p, slot *s) {
  if (!s->computed) return true;
  double t1 = mf_now_seconds();
  const char *name = frame_name(p, s->f);
  char path[PATH_MAX];
  bool ok = true;
  if (s->tri_done) {
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/stage1/%s", p->o.out_dir, name);
    snprintf(path, sizeof path, "%s/triangulation/%s", p->o.out_dir, name);
    ok = mf_make_dirs(path, &s->err) && mhrfit_tri_archive_set_sources(s->ta, 0, dir, &s->err); /* for fit --views */
    snprintf(path, sizeof path, "%s/triangulation/%s/triangulated.npz", p->o.out_dir, name);
    ok = ok && mhrfit_tri_archive_save(path, s->ta, &s->err);
  }
  snprintf(path, sizeof path, "%s/fit/%s", p->o.out_dir, name);
  ok = ok && mf_pipeline_describe_frame(p, s->f, s->one, &s->err) && mf_make_dirs(path, &s->err);
  snprintf(path, sizeof path, "%s/fit/%s/fit.npz", p->o.out_dir, name);
  ok = ok && mhrfit_fit_archive_save(path, s->one, &s->err);
  if (!ok) mhrfit_error_prefix(&s->err, "frame %s", name);
  p->rec[s->f].t_write = mf_now_seconds() - t1;
  return ok;
}

/* ------------------------------------------------------------------ the window */

typedef struct frames_run {
  mhrfit_pipeline *p;
  slot *slots;
  size_t W;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  size_t next_prepare, next_fit, next_retire, in_flight;
  bool fitting;      /* a fit step is running */
  bool computed_any; /* a frame of this run was computed: the later ones probably are too */
  bool stopping;     /* cancelled or failed: no new prepare or fit */
  bool finished;     /* every thread leaves */
  bool cancelled, failed;
  mhrfit_error err;
  size_t not_ok;
  double t0;
} frames_run;

typedef enum { T_NONE, T_PREPARE, T_FIT, T_WRITE } task_kind;

/* The next task (with the lock held): the fit when it can run, else the oldest write, else the
 * next prepare. */
static task_kind pick(frames_run *r, slot **out) {
  mhrfit_pipeline *p = r->p;
  if (!r->stopping && !r->fitting && r->next_fit < p->F) {
    slot *s = &r->slots[r->next_fit % r->W];
    if (s->state == PREPARED && s->f == r->next_fit) {
      s->state = FITTING;
      r->fitting = true;
      *out = s;
      return T_FIT;
    }
  }
  for (size_t f = r->next_retire; f < r->next_fit; f++) {
    slot *s = &r->slots[f % r->W];
    if (s->state == FITTED) {
      s->state = WRITING;
      *out = s;
      return T_WRITE;
    }
  }
  if (!r->stopping && r->next_prepare < p->F && r->next_prepare < r->next_retire + r->W) {
    slot *s = &r->slots[r->next_prepare % r->W];
    s->f = r->next_prepare++;
    s->state = PREPARING;
    s->predict = p->o.overwrite || r->computed_any || !mf_journal_find(&p->state, frame_name(p, s->f));
    *out = s;
    return T_PREPARE;
  }
  return T_NONE;
}

static void run_task(frames_run *r, task_kind k, slot *s, size_t t) {
  mhrfit_pipeline *p = r->p;
  if (k == T_PREPARE) {
    prepare(p, s, t);
  } else if (k == T_FIT) {
    if (!fit_step(p, s, t)) s->failed = true;
  } else if (!s->failed && !write_step(p, s)) {
    s->failed = true;
  }
}

/* Called with the lock held after a task: the slot's next state. */
static void task_done(frames_run *r, task_kind k, slot *s) {
  if (k == T_PREPARE) {
    s->state = PREPARED;
  } else if (k == T_FIT) {
    s->state = FITTED;
    r->fitting = false;
    r->next_fit++;
    if (s->computed) r->computed_any = true;
  } else {
    s->state = WRITTEN;
  }
  if (s->failed) r->stopping = true;
}

/* The end of a frame (the caller's thread, in frame order, without the lock): its journal line,
 * what its triangulation showed, times, progress. */
static bool retire(frames_run *r, slot *s, mhrfit_error *err) {
  mhrfit_pipeline *p = r->p;
  size_t f = s->f;
  mf_frame_rec *rec = &p->rec[f];
  if (s->saved_unreadable)
    mf_pipeline_log(p, MHRFIT_PIPELINE_WARNING, "frame %s: saved fit unreadable, redoing it", frame_name(p, f));
  if (s->failed) {
    if (err) *err = s->err;
    return false;
  }
  if (s->computed) {
    char record[96], path[PATH_MAX];
    snprintf(record, sizeof record, "%s\t%d\t%d", rec->signature, rec->n_tri_points, rec->retried ? 1 : 0);
    snprintf(path, sizeof path, "%s/run_state.txt", p->o.out_dir);
    if (!mf_journal_append(p->journal, path, frame_name(p, f), record, err)) return false;
    if (s->observed) {
      for (size_t v = 0; v < p->V; v++) {
        p->cam_stats[v].n_kp += s->stats[v].n_kp;
        p->cam_stats[v].n_quarter += s->stats[v].n_quarter;
        p->cam_stats[v].n_outside += s->stats[v].n_outside;
        p->cam_stats[v].n_err += s->stats[v].n_err;
        p->cam_stats[v].n_over_gate += s->stats[v].n_over_gate;
      }
      p->body_width[f] = s->body_width;
    }
    if (s->tri_done) p->res.time_triangulate_s += rec->t_tri;
    p->res.time_fit_s += rec->t_fit;
    p->res.time_frame_other_s += rec->t_write;
  } else {
    rec->t_tri = rec->t_fit = 0;
    p->res.frames_reused++;
  }
  r->not_ok += strcmp(p->raw_status[f], "ok") != 0;
  if (p->o.progress) {
    mhrfit_pipeline_progress pr = {MHRFIT_PIPELINE_STAGE_FRAMES, f + 1,       p->F, p->res.frames_reused, r->not_ok,
                                   mf_now_seconds() - r->t0,     frame_name(p, f)};
    p->o.progress(p->o.user, &pr);
  }
  return true;
}

/* Releases what a slot holds between frames. */
static void slot_reset(slot *s) {
  mhrfit_fit_archive_free(s->saved);
  s->saved = NULL;
  mhrfit_fit_viewset_free(s->vs);
  s->vs = NULL;
  s->computed = s->reused = s->saved_unreadable = s->failed = s->tri_done = s->observed = false;
  s->state = FREE;
}

static void thread_main(void *ctx, size_t t) {
  frames_run *r = ctx;
  mhrfit_pipeline *p = r->p;
  pthread_mutex_lock(&r->mu);
  while (!r->finished) {
    if (t == 0) { /* the caller's thread: frames retire here, in order */
      if (!r->stopping && mf_pipeline_cancelled(p)) r->stopping = r->cancelled = true;
      slot *s = r->next_retire < r->next_fit ? &r->slots[r->next_retire % r->W] : NULL;
      if (s && s->state == WRITTEN && !r->failed) {
        pthread_mutex_unlock(&r->mu);
        mhrfit_error e = {0};
        bool ok = retire(r, s, &e);
        pthread_mutex_lock(&r->mu);
        if (!ok) {
          r->failed = r->stopping = true;
          r->err = e;
        } else {
          slot_reset(s);
          r->next_retire++;
        }
        pthread_cond_broadcast(&r->cv);
        continue;
      }
      bool drained = r->next_retire == r->next_fit || r->failed;
      if (r->next_retire == p->F || (r->stopping && r->in_flight == 0 && drained)) {
        r->finished = true;
        pthread_cond_broadcast(&r->cv);
        break;
      }
    }
    slot *s = NULL;
    task_kind k = pick(r, &s);
    if (k == T_NONE) {
      pthread_cond_wait(&r->cv, &r->mu);
      continue;
    }
    r->in_flight++;
    pthread_mutex_unlock(&r->mu);
    run_task(r, k, s, t);
    pthread_mutex_lock(&r->mu);
    r->in_flight--;
    task_done(r, k, s);
    pthread_cond_broadcast(&r->cv);
  }
  pthread_mutex_unlock(&r->mu);
}

static void free_slots(slot *slots, size_t W) {
  for (size_t i = 0; slots && i < W; i++) {
    slot_reset(&slots[i]);
    free(slots[i].ids);
    free(slots[i].stats);
    mhrfit_tri_archive_free(slots[i].ta);
    mhrfit_fit_archive_free(slots[i].one);
  }
  free(slots);
}

bool mf_pipeline_frames(mhrfit_pipeline *p, mf_pool *pool, mhrfit_error *err) {
  frames_run r;
  memset(&r, 0, sizeof r);
  r.p = p;
  r.t0 = mf_now_seconds();
  r.W = p->threads > 1 ? 4 * p->threads : 1;
  const mhrfit_layout *mhr70 = mhrfit_layout_get("mhr70", err);
  r.slots = mhr70 ? mf_calloc_array(r.W, sizeof *r.slots, err) : NULL;
  bool ok = r.slots != NULL;
  const char *const *cams = (const char *const *)p->cams;
  for (size_t i = 0; ok && i < r.W; i++) {
    slot *s = &r.slots[i];
    s->ids = mf_calloc_array(3 * p->V, sizeof *s->ids, err);
    s->stats = s->ids ? mf_calloc_array(p->V, sizeof *s->stats, err) : NULL;
    s->one = s->stats ? mhrfit_fit_archive_new(1, 70, p->V, p->rig->n_joints, 0, p->n_hist, cams, err) : NULL;
    s->ta = s->one ? mhrfit_tri_archive_new(1, 70, p->V, mhr70->names, cams, err) : NULL;
    if (!(ok = s->ta != NULL)) break;
    s->one->frame_axis = s->ta->frame_axis = false;
    mhrfit_fit_archive_set_options(s->one, &p->o.fit);
    s->ta->threshold_px = p->o.tri.method == MHRFIT_TRI_POSE2SIM ? p->o.tri.reproj_thresh : p->o.tri.inlier_thresh;
    snprintf(s->ta->method, sizeof s->ta->method, "%s", p->o.tri.method == MHRFIT_TRI_POSE2SIM ? "pose2sim" : "default");
  }
  if (ok) {
    pthread_mutex_init(&r.mu, NULL);
    pthread_cond_init(&r.cv, NULL);
    mf_pool_run(pool, thread_main, &r);
    pthread_cond_destroy(&r.cv);
    pthread_mutex_destroy(&r.mu);
    if (r.failed) {
      if (err) *err = r.err;
      ok = false;
    } else if (r.cancelled) {
      ok = MHRFIT_FAIL(err, MHRFIT_ERR_CANCELLED, "%s: cancelled after %zu of %zu frames; run again to resume",
                       p->o.out_dir, r.next_retire, p->F);
    }
  }
  free_slots(r.slots, r.W);
  p->res.time_frames_s = mf_now_seconds() - r.t0;
  return ok;
}

/* ------------------------------------------------------------------ shared with detector.c */

bool mf_pipeline_open_journal(mhrfit_pipeline *p, mhrfit_error *err) { return open_journal(p, err); }

bool mf_pipeline_reuse_frame(mhrfit_pipeline *p, size_t f, const char *fit_path, mhrfit_fit_archive *one) {
  int n_tri = 0, retried = 0;
  if (!journal_matches(p, f, &n_tri, &retried) || !mf_is_file(fit_path)) return false;
  mhrfit_fit_archive *saved = mhrfit_fit_archive_load(fit_path, NULL);
  bool ok = saved && mhrfit_fit_archive_copy_frame(one, 0, saved, 0, NULL);
  mhrfit_fit_archive_free(saved);
  if (!ok) {
    mf_pipeline_log(p, MHRFIT_PIPELINE_WARNING, "frame %s: saved fit unreadable, redoing it", frame_name(p, f));
    return false;
  }
  p->rec[f].n_tri_points = n_tri;
  p->rec[f].retried = retried != 0;
  return true;
}

void mf_pipeline_bad_loss_message(const mhrfit_pipeline *p, mhrfit_fit_archive *one) { bad_loss_message(p, one); }
