/* The pipeline's per-frame stage: triangulation and fit of each frame in order, with the temporal
 * prior, retries, reuse of the frames an earlier run finished, and the journal
 * (include/mhrfit/pipeline.h). */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/file.h"
#include "common/hash.h"
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
        if (locked && stat(path, &st) == 0)
          snprintf(p->markers_id, sizeof p->markers_id, "%zu/%zu/%lld/%lld.%09ld", f, v, (long long)st.st_size,
                   (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
      }
    mhrfit_fit_viewset_free(vs);
  }
  if (!locked) mf_pipeline_log(p, MHRFIT_PIPELINE_WARNING, "no view with keypoints to calibrate the surface markers");
}

/* The journal of an earlier run: read, then rewritten compactly once the set-up has succeeded,
 * so that a run failing before any frame leaves it as it was. */
static bool open_journal(mhrfit_pipeline *p, mhrfit_error *err) {
  char path[PATH_MAX];
  if (!(p->state = mhrfit_value_new_dict(err))) return false;
  snprintf(path, sizeof path, "%s/run_state.json", p->o.out_dir);
  if (mf_is_file(path)) unlink(path); /* the state file of earlier versions: those frames are redone once */
  snprintf(path, sizeof path, "%s/run_state.txt", p->o.out_dir);
  if (!p->o.overwrite) mf_journal_read(path, p->state);
  return (p->journal = mf_journal_open(path, p->state, err)) != NULL;
}

bool mf_pipeline_prepare(mhrfit_pipeline *p, mhrfit_error *err) {
  const mhrfit_pipeline_options *o = &p->o;
  size_t F = p->F, V = p->V;
  const char *const *cams = (const char *const *)p->cams;
  /* the sequence holds the mesh; per-frame files do not (it is recomputed from the parameters) */
  p->seq = mhrfit_fit_archive_new(F, 70, V, p->rig->n_joints, o->write_mesh ? p->rig->n_vertices : 0, p->n_hist,
                                  cams, err);
  p->rec = calloc(F, sizeof *p->rec);
  p->labels = calloc(F, 1);
  p->raw_status = calloc(F, sizeof *p->raw_status);
  p->cam_stats = calloc(V, sizeof *p->cam_stats);
  p->body_width = malloc(F * sizeof *p->body_width);
  if (!p->seq || !p->rec || !p->labels || !p->raw_status || !p->cam_stats || !p->body_width) {
    if (p->seq) MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
    return false;
  }
  for (size_t f = 0; f < F; f++) p->body_width[f] = NAN;
  mhrfit_fit_archive_set_options(p->seq, &o->fit);
  if (!mhrfit_fit_archive_describe(p->seq, (const char *const *)p->frames.items, o->smooth.fps, p->rig, err))
    return false;
  const mhrfit_layout *mhr70 = mhrfit_layout_get("mhr70", err);
  p->one = mhr70 ? mhrfit_fit_archive_new(1, 70, V, p->rig->n_joints, 0, p->n_hist, cams, err) : NULL;
  p->ta = p->one ? mhrfit_tri_archive_new(1, 70, V, mhr70->names, cams, err) : NULL;
  if (!p->ta) return false;
  p->one->frame_axis = p->ta->frame_axis = false;
  mhrfit_fit_archive_set_options(p->one, &o->fit);
  p->ta->threshold_px = o->tri.method == MHRFIT_TRI_POSE2SIM ? o->tri.reproj_thresh : o->tri.inlier_thresh;
  snprintf(p->ta->method, sizeof p->ta->method, "%s", o->tri.method == MHRFIT_TRI_POSE2SIM ? "pose2sim" : "default");
  lock_markers(p);
  return open_journal(p, err);
}

/* ------------------------------------------------------------------ identity */

/* Identity of frame f as it is about to be fitted: the settings, the markers' source, the
 * identity of its temporal prior and of the frame giving the skeleton scales (each a signature
 * of its own, so a change propagates forward exactly as far as the prior chain reaches), and
 * size + modification time of each of its stage-1 files. */
static void frame_signature(mhrfit_pipeline *p, size_t f, const char *dir, bool prior, bool fixed_scales) {
  mf_xxh64 h;
  mf_xxh64_init(&h);
  mf_xxh64_update(&h, &p->config_hash, sizeof p->config_hash);
  mf_xxh64_update(&h, p->markers_id, strlen(p->markers_id) + 1);
  const long refs[2] = {prior ? p->prev_frame : -1, fixed_scales ? p->scales_frame : -1};
  for (int i = 0; i < 2; i++) {
    const char *name = refs[i] >= 0 ? p->frames.items[refs[i]] : "", *sig = refs[i] >= 0 ? p->rec[refs[i]].signature : "";
    mf_xxh64_update(&h, name, strlen(name) + 1);
    mf_xxh64_update(&h, sig, strlen(sig) + 1);
  }
  mf_frame_rec *r = &p->rec[f];
  r->n_available = 0;
  for (size_t v = 0; v < p->V; v++) {
    /* the file mf_camera_file() names (<cam>.npz, else <cam>.npy; regular files), one stat each */
    long long id[3] = {-1, -1, -1};
    static const char *const ext[2] = {".npz", ".npy"};
    for (int i = 0; i < 2; i++) {
      char path[PATH_MAX + 256];
      struct stat st;
      snprintf(path, sizeof path, "%s/%s%s", dir, p->cams[v], ext[i]);
      if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
        id[0] = (long long)st.st_size;
        id[1] = (long long)st.st_mtim.tv_sec;
        id[2] = (long long)st.st_mtim.tv_nsec;
        r->n_available++;
        break;
      }
    }
    mf_xxh64_update(&h, p->cams[v], strlen(p->cams[v]) + 1);
    mf_xxh64_update(&h, id, sizeof id);
  }
  snprintf(r->signature, sizeof r->signature, "%016llx", (unsigned long long)mf_xxh64_digest(&h));
}

/* ------------------------------------------------------------------ one frame */

/* Rounds to float32, the precision of fit.npz, so a resumed run continues from exactly what
 * an uninterrupted run used. */
static void round_f32(double *x, size_t n) {
  for (size_t i = 0; i < n; i++) x[i] = (double)(float)x[i];
}

/* What frame f shows about units and resolution: where its 2D keypoints lie in each calibrated
 * image, how far its views are from the triangulated points, the width of its shoulders. */
static void observe(mhrfit_pipeline *p, size_t f, const mhrfit_observations *obs) {
  const mhrfit_tri_archive *ta = p->ta;
  for (size_t v = 0; v < p->V; v++) {
    mf_cam_stats *s = &p->cam_stats[v];
    const mhrfit_camera *c = &p->cal->cams[v];
    for (size_t k = 0; k < 70; k++) {
      const double *uv = obs->uv + 2 * (k * p->V + v);
      if (!isfinite(uv[0]) || !isfinite(uv[1])) continue;
      s->n_kp++;
      if (c->width > 0 && c->height > 0) {
        s->n_outside += uv[0] < 0 || uv[1] < 0 || uv[0] >= c->width || uv[1] >= c->height;
        s->n_quarter += uv[0] >= 0 && uv[1] >= 0 && uv[0] < 0.5 * c->width && uv[1] < 0.5 * c->height;
      }
      double e = ta->reproj_err[k * p->V + v];
      if (ta->reason[k] == MHRFIT_TRI_OK && isfinite(e)) {
        s->n_err++;
        s->n_over_gate += e > ta->threshold_px;
      }
    }
  }
  const double *l = ta->points + 3 * 5, *r = ta->points + 3 * 6; /* MHR70 left and right shoulder */
  if (ta->reason[5] == MHRFIT_TRI_OK && ta->reason[6] == MHRFIT_TRI_OK)
    p->body_width[f] = sqrt(pow(l[0] - r[0], 2) + pow(l[1] - r[1], 2) + pow(l[2] - r[2], 2));
}

/* Stage 2 of frame f into p->ta and its file; false only when the run cannot go on. */
static bool triangulate_frame(mhrfit_pipeline *p, size_t f, const char *dir, mhrfit_error *err) {
  const char *name = p->frames.items[f];
  char path[PATH_MAX];
  double t1 = mf_now_seconds();
  mhrfit_obs_options oo = {"stage1", 70, 0, NULL, true};
  mhrfit_observations *obs = mhrfit_observations_load(dir, (const char *const *)p->cams, p->V, &oo, err);
  bool ok = false;
  if (obs) {
    mhrfit_tri_archive *ta = p->ta;
    mhrfit_tri_result tr = {ta->points, ta->points_init, ta->inliers, ta->reproj_err, ta->n_views_used, ta->reason};
    ok = mhrfit_triangulator_process(p->triangulator, 70, obs->uv, obs->conf, &tr, err);
    mhrfit_tri_archive_update_mean(ta);
    if (ok) observe(p, f, obs);
    snprintf(path, sizeof path, "%s/triangulation/%s", p->o.out_dir, name);
    ok = ok && mf_make_dirs(path, err) && mhrfit_tri_archive_set_sources(ta, 0, dir, err); /* for fit --views */
    snprintf(path, sizeof path, "%s/triangulation/%s/triangulated.npz", p->o.out_dir, name);
    ok = ok && mhrfit_tri_archive_save(path, ta, err);
  }
  mhrfit_observations_free(obs);
  p->rec[f].t_tri = mf_now_seconds() - t1;
  p->res.time_triangulate_s += p->rec[f].t_tri;
  if (!ok) mhrfit_error_prefix(err, "frame %s", name);
  return ok;
}

/* Why a fitted frame is bad: the thresholds its losses passed (so no bad frame goes without a
 * message). */
static void bad_loss_message(mhrfit_pipeline *p) {
  const mhrfit_fit_options *o = &p->o.fit;
  const double *L = p->one->losses;
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
  snprintf(p->one->message[0], sizeof p->one->message[0], "%s", msg);
}

/* Stage 3 of frame f into p->one; false only when the run cannot go on. */
static bool fit_frame(mhrfit_pipeline *p, size_t f, const char *dir, bool prior, bool fixed_scales,
                      mhrfit_error *err) {
  const mhrfit_pipeline_options *o = &p->o;
  double t1 = mf_now_seconds();
  mhrfit_fit_viewset *vs = mhrfit_fit_viewset_load(dir, (const char *const *)p->cams, p->V, 0, true, err);
  mhrfit_fit_frame fr;
  if (!vs || !mhrfit_fit_frame_from_tri(p->ta, 0, vs, p->kp_index, p->weights, &fr, err)) {
    mhrfit_fit_viewset_free(vs);
    mhrfit_error_prefix(err, "frame %s", p->frames.items[f]);
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
  else if (strcmp(p->one->status[0], "bad_loss") == 0 && !p->one->message[0][0]) bad_loss_message(p);
  mhrfit_fit_viewset_free(vs);
  p->rec[f].t_fit = mf_now_seconds() - t1;
  p->res.time_fit_s += p->rec[f].t_fit;
  return true;
}

bool mf_pipeline_describe_frame(mhrfit_pipeline *p, size_t f, mhrfit_error *err) {
  const char *name = p->frames.items[f];
  if (!mhrfit_fit_archive_describe(p->one, &name, p->o.smooth.fps, p->rig, err)) return false;
  mhrfit_fit_archive_update_world_up(p->one);
  return true;
}

/* Frame f computed: stages 2 and 3, its fit.npz and its journal line. */
static bool compute_frame(mhrfit_pipeline *p, size_t f, const char *dir, const char *fit_path, bool prior,
                          bool fixed_scales, mhrfit_error *err) {
  const mhrfit_pipeline_options *o = &p->o;
  const char *name = p->frames.items[f];
  mf_frame_rec *r = &p->rec[f];
  char path[PATH_MAX];
  mhrfit_fit_archive_clear_frame(p->one, 0);
  if (r->n_available < o->min_views) {
    char msg[160];
    snprintf(msg, sizeof msg, "%d of %zu camera files present in stage1/%s, %d needed (--min_views)", r->n_available,
             p->V, name, o->min_views);
    mhrfit_fit_archive_set_failed(p->one, 0, "missing_views", msg);
  } else {
    if (!triangulate_frame(p, f, dir, err)) return false;
    for (size_t k = 0; k < 70; k++) r->n_tri_points += p->ta->reason[k] == MHRFIT_TRI_OK;
    if (r->n_tri_points < o->fit.min_valid_points) {
      char msg[160];
      snprintf(msg, sizeof msg, "%d points triangulated, %d needed (--min_valid_points)", r->n_tri_points,
               o->fit.min_valid_points);
      mhrfit_fit_archive_set_failed(p->one, 0, "triangulation_failed", msg);
    } else if (!fit_frame(p, f, dir, prior, fixed_scales, err)) {
      return false;
    }
  }
  round_f32(p->one->model_params, 204); /* what the file holds */
  snprintf(path, sizeof path, "%s/fit/%s", o->out_dir, name);
  if (!mf_pipeline_describe_frame(p, f, err) || !mf_make_dirs(path, err) ||
      !mhrfit_fit_archive_save(fit_path, p->one, err) ||
      !mhrfit_fit_archive_copy_frame(p->seq, f, p->one, 0, err))
    return false;
  char record[96];
  snprintf(record, sizeof record, "%s\t%d\t%d", r->signature, r->n_tri_points, r->retried ? 1 : 0);
  snprintf(path, sizeof path, "%s/run_state.txt", o->out_dir);
  return mf_journal_append(p->journal, path, name, record, err);
}

/* A frame the journal says is finished with this signature, and whose fit loads: reused with
 * what the first run measured. */
static bool reuse_frame(mhrfit_pipeline *p, size_t f, const char *fit_path) {
  mf_frame_rec *r = &p->rec[f];
  const mhrfit_value *st = mhrfit_value_dict_get(p->state, p->frames.items[f]);
  int n_tri = 0, retried = 0;
  size_t n = strlen(r->signature);
  if (p->o.overwrite || !st || st->kind != MHRFIT_V_STRING || strncmp(st->u.str.data, r->signature, n) != 0 ||
      sscanf(st->u.str.data + n, "\t%d\t%d", &n_tri, &retried) != 2 || !mf_is_file(fit_path))
    return false;
  mhrfit_fit_archive *saved = mhrfit_fit_archive_load(fit_path, NULL);
  bool ok = saved && mhrfit_fit_archive_copy_frame(p->seq, f, saved, 0, NULL);
  mhrfit_fit_archive_free(saved);
  if (!ok) {
    mf_pipeline_log(p, MHRFIT_PIPELINE_WARNING, "frame %s: saved fit unreadable, redoing it", p->frames.items[f]);
    return false;
  }
  r->n_tri_points = n_tri;
  r->retried = retried != 0;
  return true;
}

/* One frame: reused or computed; then the temporal state follows the ok frames. */
static bool process_frame(mhrfit_pipeline *p, size_t f, mhrfit_error *err) {
  const mhrfit_pipeline_options *o = &p->o;
  const char *name = p->frames.items[f];
  char dir[PATH_MAX], fit_path[PATH_MAX];
  snprintf(dir, sizeof dir, "%s/stage1/%s", o->out_dir, name);
  snprintf(fit_path, sizeof fit_path, "%s/fit/%s/fit.npz", o->out_dir, name);
  bool prior = p->prev_frame >= 0 && (long)f - p->prev_frame <= o->max_stale_frames;
  bool fixed_scales = p->scales_frame >= 0 && !o->per_frame_scales;
  frame_signature(p, f, dir, prior, fixed_scales);
  bool reuse = reuse_frame(p, f, fit_path);
  if (!reuse && !compute_frame(p, f, dir, fit_path, prior, fixed_scales, err)) return false;
  if (reuse) p->res.frames_reused++;
  p->rec[f].reused = reuse;
  if (strcmp(p->seq->status[f], "ok") == 0) {
    memcpy(p->prev, p->seq->model_params + 204 * f, sizeof p->prev);
    mhrfit_fit_archive_get_similarity(p->seq, f, &p->prev_sim);
    p->prev_frame = (long)f;
    if (p->scales_frame < 0) {
      memcpy(p->scales, p->prev + 136, sizeof p->scales);
      p->scales_frame = (long)f;
    }
  }
  return true;
}

bool mf_pipeline_frames(mhrfit_pipeline *p, mhrfit_error *err) {
  double t0 = mf_now_seconds();
  size_t not_ok = 0;
  for (size_t f = 0; f < p->F; f++) {
    if (mf_pipeline_cancelled(p))
      return MHRFIT_FAIL(err, MHRFIT_ERR_CANCELLED, "%s: cancelled after %zu of %zu frames; run again to resume",
                         p->o.out_dir, f, p->F);
    if (!process_frame(p, f, err)) return false;
    memcpy(p->raw_status[f], p->seq->status[f], sizeof p->raw_status[f]);
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

/* ------------------------------------------------------------------ shared with detector.c */

bool mf_pipeline_open_journal(mhrfit_pipeline *p, mhrfit_error *err) { return open_journal(p, err); }

bool mf_pipeline_reuse_frame(mhrfit_pipeline *p, size_t f, const char *fit_path) { return reuse_frame(p, f, fit_path); }

void mf_pipeline_bad_loss_message(mhrfit_pipeline *p) { bad_loss_message(p); }
