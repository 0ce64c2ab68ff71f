/* The pipeline on a detector's 2-D keypoints (pipeline.h, "Detector inputs"): no stage 1; the
 * keypoints of every frame are triangulated, the sequence's proportions and marker offsets
 * calibrated and each frame fitted without views (detector.h); then the sequence stage shared
 * with SAM 3D Body captures (sequence.c). */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/file.h"
#include "common/hash.h"
#include "common/mem.h"
#include "mhrfit/detector.h"
#include "mhrfit/layout.h"
#include "mhrfit/observations.h"
#include "pipeline/pipeline_internal.h"

struct mf_detector {
  mhrfit_observations *obs;  /* every frame of the input, the run's cameras */
  size_t *src;               /* F: the input frame of each frame of the run */
  mhrfit_layout *kset;       /* the K keypoints' names (a built-in layout is not freed) */
  mhrfit_detmap *map;        /* their MHR counterparts (n = K) */
  mhrfit_detfit *fit;        /* the sequence fitter */
  mhrfit_kpmap *kpmap;       /* the map with the calibrated offsets, for the sequence's geometry */
  mhrfit_tri_archive *tri;   /* F frames */
  mhrfit_tri_archive *ta;    /* one frame's triangulation */
  mhrfit_fit_archive *one;   /* one frame's fit (no mesh), reused for every frame */
  double *points, *weights;  /* F·n·3 and F·n: the map's targets (NaN in frames that are not fitted) */
  double *metrics;           /* F·n·9: their data metrics from the cameras (detector.h) */
  double *noise_px;          /* V: each camera's typical pixel error of the triangulation */
  mhrfit_detfit_views views; /* the 2-D detections (obs, in place; the map's keypoints are obs's) */
  int *kp_index;             /* n: 0, 1, ... */
  uint64_t base_hash;        /* the cameras' calibration and the keypoint map */
  uint64_t model_hash;       /* ... and the calibrated proportions and offsets */
  char (*tri_sig)[24];       /* F: identity of each frame's triangulation */
  char warning[512];         /* the calibration's warning for the diagnosis ("" none) */
};

static bool is(const char *a, const char *b) { return a && strcmp(a, b) == 0; }

/* ------------------------------------------------------------------ options */

bool mf_detector_check_options(const mhrfit_pipeline_options *o, mhrfit_error *err) {
  if (o->calib_frames < 1 || o->calib_frames > 10000)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "--calib_frames must be in 1..10000, got %d", o->calib_frames);
  if (o->n_cam_dirs && !o->cam_dirs) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "a list count without its list");
  const char *f = o->input_format;
  if (!f) {
    if (o->layout || o->keypoint_names || o->keypoint_map || o->n_cam_dirs)
      return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT,
                         "--layout, --keypoint_names, --keypoint_map and --cam_dirs describe a detector's keypoints: "
                         "they need --input_format openpose|arrays|caliscope_csv");
    return true;
  }
  if (!is(f, "openpose") && !is(f, "arrays") && !is(f, "caliscope_csv"))
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT,
                       "--input_format must be openpose, arrays or caliscope_csv (a capture of SAM 3D Body outputs or "
                       "images needs none), got '%s'",
                       f);
  if (o->estimator || o->estimator_worker || o->sam_dir || o->n_model_ids)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT,
                       "--estimator, --estimator_worker, --sam_dir and --model_id concern SAM 3D Body outputs: not "
                       "with --input_format %s",
                       f);
  if (o->fit.freeze_lower_body || o->per_frame_scales)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT,
                       "--freeze_lower_body and --per_frame_scales need SAM 3D Body views: not with --input_format %s "
                       "(its body proportions are one set for the sequence)",
                       f);
  if (o->layout && o->keypoint_names)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "--layout and --keypoint_names exclude each other");
  if (is(f, "openpose") && !o->layout)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "--input_format openpose needs --layout (body25, body25b, ...)");
  if (is(f, "openpose") && o->keypoint_names)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "--keypoint_names names the keypoints of arrays or caliscope_csv inputs");
  if (!o->layout && !o->keypoint_map)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT,
                       "--input_format %s without --layout needs --keypoint_map FILE (which keypoints are which MHR "
                       "joints, see mhrfit fit --help)",
                       f);
  if (o->n_cam_dirs && (!is(f, "openpose") || o->n_cam_dirs != o->n_cams))
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT,
                       "--cam_dirs: one folder per camera of --cams (%zu) of an openpose input, got %zu", o->n_cams,
                       o->n_cam_dirs);
  mhrfit_error le = {0};
  if (o->layout && !mhrfit_layout_get(o->layout, &le))
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "--layout: %s", le.message);
  return true;
}

/* ------------------------------------------------------------------ observations, cameras, frames */

/* Cameras with a keypoint of frame `f` (input frame). */
static int cams_seeing(const mhrfit_observations *obs, size_t f) {
  int n = 0;
  for (size_t v = 0; v < obs->n_views; v++) {
    bool seen = false;
    for (size_t k = 0; k < obs->n_kp && !seen; k++) {
      const double *uv = obs->uv + 2 * ((f * obs->n_kp + k) * obs->n_views + v);
      seen = isfinite(uv[0]) && isfinite(uv[1]);
    }
    n += seen;
  }
  return n;
}

/* Without --cams, the cameras whose input holds a keypoint (at least 2). */
static bool choose_seeing_cameras(mhrfit_pipeline *p, mhrfit_error *err) {
  mhrfit_observations *obs = p->det->obs;
  bool *keep = mf_calloc_array(p->V, sizeof *keep, err);
  if (!keep) return false;
  char missing[512], others[600];
  if (mhrfit_observations_other_inputs(p->o.input_dir, obs->format, (const char *const *)p->stems, p->V, others,
                                       sizeof others))
    mf_pipeline_log(p, MHRFIT_PIPELINE_WARNING, "%s: %s hold(s) the keypoints of no calibrated camera of %s (not read; "
                    "--cam_map FILE_NAME=CALIBRATION_NAME maps a file to a calibration camera)", p->o.input_dir, others,
                    p->o.calib_path);
  size_t n_keep = mhrfit_observations_seen_views(obs, keep, (const char *const *)p->stems, missing, sizeof missing);
  bool ok = n_keep >= 2;
  if (!ok)
    MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND,
                "%s: %zu camera(s) have %s keypoints, at least 2 are needed (none for %s; --cams names them, "
                "--cam_map FILE_NAME=CALIBRATION_NAME maps other names)",
                p->o.input_dir, n_keep, p->o.input_format, missing);
  else if (missing[0])
    mf_pipeline_log(p, MHRFIT_PIPELINE_WARNING, "%s: no keypoint of camera(s) %s in any frame (left out)",
                    p->o.input_dir, missing);
  if (ok && n_keep < p->V) {
    mhrfit_observations_keep_views(obs, keep);
    mf_pipeline_keep_cameras(p, keep);
  }
  free(keep);
  return ok;
}

/* The frames: one per input frame, named by its number (Caliscope: its sync index; OpenPose: the
 * number in its file names, else its index) as six digits; the subset of the options. */
static bool name_frames(mhrfit_pipeline *p, mhrfit_error *err) {
  const mhrfit_pipeline_options *o = &p->o;
  mf_detector *d = p->det;
  size_t F = d->obs->n_frames;
  if (F == 0)
    return MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "%s: no frame of %s keypoints (%s)", o->input_dir, o->input_format,
                       is(o->input_format, "openpose") ? "no .json file in the cameras' folders" : "empty input");
  char **names = mf_calloc_array(F, sizeof *names, err);
  bool *take = mf_calloc_array(F, sizeof *take, err);
  d->src = mf_malloc_array(F, sizeof *d->src, err);
  bool ok = names && take && d->src;
  for (size_t f = 0; ok && f < F; f++) {
    names[f] = d->obs->frame_ids ? mf_strdup_printf(err, "%06ld", d->obs->frame_ids[f]) : mf_strdup_printf(err, "%06zu", f);
    ok = names[f] != NULL;
    take[f] = !o->n_frames;
  }
  for (size_t j = 0; ok && j < o->n_frames; j++) {
    size_t f = 0;
    while (f < F && strcmp(names[f], o->frames[j]) != 0) f++;
    if (f == F)
      ok = MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "--frames %s: no such frame (the input's frames are %s..%s)",
                       o->frames[j], names[0], names[F - 1]);
    else
      take[f] = true;
  }
  if (ok && !(p->frames.items = mf_calloc_array(F, sizeof *p->frames.items, err))) ok = false;
  for (size_t f = 0; ok && f < F; f++)
    if (take[f]) {
      d->src[p->frames.count] = f;
      p->frames.items[p->frames.count++] = names[f];
      names[f] = NULL;
    }
  p->F = p->frames.count;
  for (size_t f = 0; names && f < F; f++) free(names[f]);
  free(names);
  free(take);
  return ok;
}

const char *mf_detector_warning(const mhrfit_pipeline *p) {
  return p->det && p->det->warning[0] ? p->det->warning : NULL;
}

/* The loader's warnings (frames a camera lacks) into the run's log. */
static void obs_warn(void *user, const char *message) {
  mf_pipeline_log((const mhrfit_pipeline *)user, MHRFIT_PIPELINE_WARNING, "%s", message);
}

bool mf_detector_open(mhrfit_pipeline *p, mhrfit_error *err) {
  const mhrfit_pipeline_options *o = &p->o;
  mf_detector *d = p->det = mf_calloc_array(1, sizeof *d, err);
  if (!d) return false;
  /* the fit without views: joint limits, the sequence's proportions, no scale */
  p->o.fit.joint_limits = true;
  p->o.fit.freeze_flexible_lengths = true;
  p->o.fit.with_scale = false;
  const mhrfit_layout *layout = o->layout ? mhrfit_layout_get(o->layout, err) : NULL;
  if (o->layout && !layout) return false;
  mhrfit_obs_options oo = {o->input_format, layout ? layout->count : 0, (size_t)o->person_index,
                           o->n_cam_dirs ? o->cam_dirs : NULL, o->n_cams == 0, obs_warn, p};
  if (!(d->obs = mhrfit_observations_load(o->input_dir, (const char *const *)p->stems, p->V, &oo, err))) return false;
  if (!o->n_cams && !choose_seeing_cameras(p, err)) return false;
  return name_frames(p, err);
}

/* ------------------------------------------------------------------ models */

static void hash_str(mf_xxh64 *h, const char *s) { mf_xxh64_update(h, s ? s : "", s ? strlen(s) + 1 : 1); }

/* Identity of what the frames depend on besides the settings: the cameras' calibration and the
 * keypoint map (a changed calibration file or map redoes the frames). */
static uint64_t base_hash(const mhrfit_pipeline *p) {
  mf_xxh64 h;
  mf_xxh64_init(&h);
  for (size_t v = 0; v < p->cal->n_cams; v++) {
    const mhrfit_camera *c = &p->cal->cams[v];
    hash_str(&h, c->name);
    mf_xxh64_update(&h, c->K, sizeof c->K);
    mf_xxh64_update(&h, c->dist, sizeof c->dist);
    mf_xxh64_update(&h, c->R, sizeof c->R);
    mf_xxh64_update(&h, c->t, sizeof c->t);
    const int ints[4] = {c->width, c->height, c->n_dist, c->fisheye};
    mf_xxh64_update(&h, ints, sizeof ints);
  }
  const mhrfit_detmap *m = p->det->map;
  for (size_t k = 0; k < m->n; k++) {
    const mhrfit_kp_rule *r = &m->rule[k];
    hash_str(&h, m->names[k]);
    const int32_t ints[3] = {(int32_t)r->kind, r->joint, r->anchor};
    mf_xxh64_update(&h, ints, sizeof ints);
    mf_xxh64_update(&h, r->offset, sizeof r->offset);
    mf_xxh64_update(&h, &r->weight, sizeof r->weight);
  }
  return mf_xxh64_digest(&h);
}

bool mf_detector_load_models(mhrfit_pipeline *p, mhrfit_error *err) {
  const mhrfit_pipeline_options *o = &p->o;
  mf_detector *d = p->det;
  if (!(p->cal = mhrfit_calib_select(p->all, (const char *const *)p->cams, p->V, err)) ||
      !mf_pipeline_check_rig_geometry(p, err))
    return false;
  size_t K = d->obs->n_kp;
  const mhrfit_layout *layout = o->layout ? mhrfit_layout_get(o->layout, err) : NULL;
  char **names = NULL;
  size_t n_names = 0;
  if (o->keypoint_names && !mhrfit_keypoint_names_load(o->keypoint_names, &names, &n_names, err)) return false;
  if (names && n_names != K) {
    mhrfit_names_free(names, n_names);
    return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "--keypoint_names %s lists %zu names but the input has %zu keypoints",
                       o->keypoint_names, n_names, K);
  }
  d->kset = layout ? (mhrfit_layout *)(uintptr_t)layout
                   : mhrfit_layout_new_custom(names ? "keypoint_names" : "custom",
                                              names ? (const char *const *)names : (const char *const *)d->obs->names,
                                              K, err);
  mhrfit_names_free(names, n_names);
  if (!d->kset) return false;
  if (!(p->triangulator = mhrfit_triangulator_new(p->cal->cams, p->V, K, &o->tri, err)) ||
      !(p->rig = mhrfit_rig_open(o->rig_path, o->lod, MHRFIT_RIG_NO_CORRECTIVE_BLENDSHAPES, err)))
    return false;
  d->map = layout ? mhrfit_detmap_new(p->rig, layout->name, err) : mhrfit_detmap_new_names(d->kset->names, K, err);
  if (!d->map || (o->keypoint_map && !mhrfit_detmap_load_json(d->map, p->rig, o->keypoint_map, err))) return false;
  mhrfit_detfit_options dfo;
  mhrfit_detfit_options_init(&dfo);
  dfo.fit = o->fit;
  dfo.fit.skip_mesh = true; /* the sequence's mesh is made from the parameters */
  dfo.calib_frames = o->calib_frames;
  dfo.max_stale_frames = o->max_stale_frames;
  if (!(d->fit = mhrfit_detfit_new(p->rig, d->map, &dfo, err))) return false;
  const mhrfit_fit_options *fo = mhrfit_detfit_fit_options(d->fit);
  p->o.fit.optimize_hand_pose = fo->optimize_hand_pose; /* from the map: recorded as used */
  p->n_hist = (size_t)(fo->iters ? fo->iters : fo->solver == MHRFIT_SOLVER_ADAM ? 200 : 50);
  d->base_hash = base_hash(p);
  return true;
}

void mf_detector_free(mf_detector *d) {
  if (!d) return;
  mhrfit_observations_free(d->obs);
  free(d->src);
  mhrfit_layout_free(d->kset);
  mhrfit_detfit_free(d->fit);
  mhrfit_detmap_free(d->map);
  mhrfit_kpmap_free(d->kpmap);
  mhrfit_tri_archive_free(d->tri);
  mhrfit_tri_archive_free(d->ta);
  mhrfit_fit_archive_free(d->one);
  free(d->points);
  free(d->weights);
  free(d->metrics);
  free(d->noise_px);
  free(d->kp_index);
  free(d->tri_sig);
  free(d);
}

/* ------------------------------------------------------------------ the run */

static bool prepare(mhrfit_pipeline *p, mhrfit_error *err) {
  const mhrfit_pipeline_options *o = &p->o;
  mf_detector *d = p->det;
  size_t F = p->F, V = p->V, n = d->map->n, K = d->kset->count;
  const char *const none[1] = {"none"}; /* no views: one view column, as `mhrfit fit --layout` writes */
  const char *const *kn = (const char *const *)d->map->names;
  if (!mf_pipeline_alloc(p, err)) return false;
  /* the sequence files' shape (written frame by frame by the sequence stage) */
  p->layout = mhrfit_fit_archive_new(1, n, 1, p->rig->n_joints, o->write_mesh ? p->rig->n_vertices : 0, p->n_hist, none,
                                     err);
  d->one = p->layout ? mhrfit_fit_archive_new(1, n, 1, p->rig->n_joints, 0, p->n_hist, none, err) : NULL;
  d->ta = d->one ? mhrfit_tri_archive_new(1, K, V, d->kset->names, (const char *const *)p->cams, err) : NULL;
  d->tri = d->ta ? mhrfit_tri_archive_new(F, K, V, d->kset->names, (const char *const *)p->cams, err) : NULL;
  if (!d->tri || !mhrfit_fit_archive_set_pred_keypoints(p->layout, n, kn, err) ||
      !mhrfit_fit_archive_set_pred_keypoints(d->one, n, kn, err))
    return false;
  d->points = mf_malloc_array(F * n * 3, sizeof *d->points, err);
  d->weights = d->points ? mf_malloc_array(F * n, sizeof *d->weights, err) : NULL;
  d->metrics = d->weights ? mf_malloc_array(F * n * 9, sizeof *d->metrics, err) : NULL;
  d->noise_px = d->metrics ? mf_malloc_array(V, sizeof *d->noise_px, err) : NULL;
  d->kp_index = d->noise_px ? mf_malloc_array(n, sizeof *d->kp_index, err) : NULL;
  d->tri_sig = d->kp_index ? mf_calloc_array(F, sizeof *d->tri_sig, err) : NULL;
  if (!d->tri_sig) return false;
  for (size_t k = 0; k < n; k++) d->kp_index[k] = (int)k, p->layout->subset_idx[k] = d->one->subset_idx[k] = (int32_t)k;
  const mhrfit_fit_options *fo = mhrfit_detfit_fit_options(d->fit);
  mhrfit_fit_archive_set_options(p->layout, fo);
  mhrfit_fit_archive_set_options(d->one, fo);
  if (!mhrfit_fit_archive_describe(p->layout, NULL, o->smooth.fps, p->rig, err)) return false;
  d->one->frame_axis = d->ta->frame_axis = false;
  d->tri->frame_axis = true;
  d->ta->threshold_px = d->tri->threshold_px = o->tri.method == MHRFIT_TRI_POSE2SIM ? o->tri.reproj_thresh : o->tri.inlier_thresh;
  snprintf(d->ta->method, sizeof d->ta->method, "%s", o->tri.method == MHRFIT_TRI_POSE2SIM ? "pose2sim" : "default");
  snprintf(d->tri->method, sizeof d->tri->method, "%s", d->ta->method);
  for (size_t k = 0; k < K; k++) d->ta->subset_idx[k] = d->tri->subset_idx[k] = (int32_t)k;
  snprintf(p->markers_id, sizeof p->markers_id, "none");
  p->markers_f = p->markers_v = -1;
  return mf_pipeline_open_journal(p, err);
}

/* The journal's record of frame f, or NULL. */
static const char *journal_record(const mhrfit_pipeline *p, size_t f) {
  return mf_journal_find(&p->state, p->frames.items[f]);
}

/* Identity of frame f's triangulation: the settings, the cameras, the map and its keypoints. */
static void tri_signature(mhrfit_pipeline *p, size_t f) {
  mf_detector *d = p->det;
  const mhrfit_observations *obs = d->obs;
  size_t KV = obs->n_kp * obs->n_views, s = d->src[f];
  mf_xxh64 h;
  mf_xxh64_init(&h);
  mf_xxh64_update(&h, &p->config_hash, sizeof p->config_hash);
  mf_xxh64_update(&h, &d->base_hash, sizeof d->base_hash);
  mf_xxh64_update(&h, obs->uv + 2 * KV * s, 2 * KV * sizeof *obs->uv);
  if (obs->conf) mf_xxh64_update(&h, obs->conf + KV * s, KV * sizeof *obs->conf);
  snprintf(d->tri_sig[f], sizeof d->tri_sig[f], "%016llx", (unsigned long long)mf_xxh64_digest(&h));
}

/* What frame f shows about units and resolution (the diagnosis of sequence.c). */
static void observe(mhrfit_pipeline *p, size_t f, const double *uv) {
  const mhrfit_tri_archive *t = p->det->ta;
  size_t K = t->n_kp, V = p->V;
  for (size_t v = 0; v < V; v++) {
    mf_cam_stats *s = &p->cam_stats[v];
    const mhrfit_camera *c = &p->cal->cams[v];
    for (size_t k = 0; k < K; k++) {
      const double *x = uv + 2 * (k * V + v);
      if (!isfinite(x[0]) || !isfinite(x[1])) continue;
      s->n_kp++;
      if (c->width > 0 && c->height > 0) {
        s->n_outside += x[0] < 0 || x[1] < 0 || x[0] >= c->width || x[1] >= c->height;
        s->n_quarter += x[0] >= 0 && x[1] >= 0 && x[0] < 0.5 * c->width && x[1] < 0.5 * c->height;
      }
      double e = t->reproj_err[k * V + v];
      if (t->reason[k] == MHRFIT_TRI_OK && isfinite(e)) {
        s->n_err++;
        s->n_over_gate += e > t->threshold_px;
      }
    }
  }
  long l = -1, r = -1; /* the shoulders: MHR70 5 and 6 */
  for (size_t k = 0; k < K; k++) {
    if (p->det->map->mhr70[k] == 5) l = (long)k;
    if (p->det->map->mhr70[k] == 6) r = (long)k;
  }
  if (l >= 0 && r >= 0 && t->reason[l] == MHRFIT_TRI_OK && t->reason[r] == MHRFIT_TRI_OK) {
    const double *a = t->points + 3 * l, *b = t->points + 3 * r;
    p->body_width[f] = sqrt(pow(a[0] - b[0], 2) + pow(a[1] - b[1], 2) + pow(a[2] - b[2], 2));
  }
}

/* Copies frame 0 of `one` (1 frame) into frame f of `all`. */
static void tri_store(mhrfit_tri_archive *all, size_t f, const mhrfit_tri_archive *one) {
  size_t K = one->n_kp, V = one->n_views;
  memcpy(all->points + 3 * K * f, one->points, 3 * K * sizeof(double));
  memcpy(all->points_init + 3 * K * f, one->points_init, 3 * K * sizeof(double));
  memcpy(all->inliers + K * V * f, one->inliers, K * V);
  memcpy(all->reproj_err + K * V * f, one->reproj_err, K * V * sizeof(double));
  memcpy(all->n_views_used + K * f, one->n_views_used, K * sizeof(int32_t));
  memcpy(all->reason + K * f, one->reason, K * sizeof(int32_t));
}

/* Stage 2 of frame f: triangulated into d->ta and d->tri; its file written unless the journal
 * says an earlier run wrote it from the same keypoints. */
static bool triangulate_frame(mhrfit_pipeline *p, size_t f, mhrfit_error *err) {
  mf_detector *d = p->det;
  const mhrfit_observations *obs = d->obs;
  size_t KV = obs->n_kp * obs->n_views, s = d->src[f];
  double t1 = mf_now_seconds();
  mhrfit_tri_archive *ta = d->ta;
  mhrfit_tri_result tr = {ta->points, ta->points_init, ta->inliers, ta->reproj_err, ta->n_views_used, ta->reason};
  const double *uv = obs->uv + 2 * KV * s;
  if (!mhrfit_triangulator_process(p->triangulator, obs->n_kp, uv, obs->conf ? obs->conf + KV * s : NULL, &tr, err))
    return false;
  mhrfit_tri_archive_update_mean(ta);
  observe(p, f, uv);
  tri_store(d->tri, f, ta);
  for (size_t k = 0; k < ta->n_kp; k++) p->rec[f].n_tri_points += ta->reason[k] == MHRFIT_TRI_OK;
  const char *rec = p->o.overwrite ? NULL : journal_record(p, f), *last = rec ? strrchr(rec, '\t') : NULL;
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/triangulation/%s/triangulated.npz", p->o.out_dir, p->frames.items[f]);
  bool ok = true;
  if (!last || strcmp(last + 1, d->tri_sig[f]) != 0 || !mf_is_file(path)) {
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/triangulation/%s", p->o.out_dir, p->frames.items[f]);
    ok = mf_make_dirs(dir, err) && mhrfit_tri_archive_save(path, ta, err);
  }
  p->rec[f].t_tri = mf_now_seconds() - t1;
  p->res.time_triangulate_s += p->rec[f].t_tri;
  if (!ok) mhrfit_error_prefix(err, "frame %s", p->frames.items[f]);
  return ok;
}

/* Every frame triangulated (or found without enough cameras) and its status before the fit:
 * "missing_views" or "triangulation_failed" in p->raw_status, "" for a frame to fit. */
static bool triangulate_all(mhrfit_pipeline *p, mhrfit_error *err) {
  const mhrfit_pipeline_options *o = &p->o;
  mf_detector *d = p->det;
  for (size_t f = 0; f < p->F; f++) {
    if (mf_pipeline_cancelled(p))
      return MHRFIT_FAIL(err, MHRFIT_ERR_CANCELLED, "%s: cancelled while triangulating; run again to resume",
                         o->out_dir);
    mf_frame_rec *r = &p->rec[f];
    r->n_available = cams_seeing(d->obs, d->src[f]);
    tri_signature(p, f);
    if (r->n_available < o->min_views) {
      snprintf(p->raw_status[f], sizeof p->raw_status[f], "missing_views");
      continue;
    }
    if (!triangulate_frame(p, f, err)) return false;
    if (r->n_tri_points < o->fit.min_valid_points) snprintf(p->raw_status[f], sizeof p->raw_status[f], "triangulation_failed");
  }
  mhrfit_tri_archive_update_mean(d->tri);
  size_t n = d->map->n;
  if (!mhrfit_detfit_points_from_tri(d->map, d->tri, d->points, d->weights, err) ||
      !mhrfit_detfit_metrics_from_tri(d->map, d->tri, p->cal->cams, d->metrics, err) ||
      !mhrfit_detfit_camera_noise(d->tri, d->noise_px, err))
    return false;
  if (n != d->obs->n_kp)
    return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "keypoint map of %zu keypoints for an input of %zu", n, d->obs->n_kp);
  /* the map's n keypoints are the observations' K, in order: frame f's detections are block src[f] */
  d->views = (mhrfit_detfit_views){p->V, p->cal->cams, d->obs->uv, d->obs->conf,
                                   d->src, d->noise_px, d->tri->threshold_px};
  for (size_t f = 0; f < p->F; f++)
    if (p->raw_status[f][0])
      for (size_t i = 0; i < 3 * n; i++) d->points[3 * n * f + i] = NAN;
  return true;
}

/* Steps 1 and 2 of the sequence fit (detector.h) over the frames to fit; their identity; the
 * fitter of the sequence's geometry with the calibrated markers. A sequence with no frame to
 * calibrate on leaves its frames unfitted (the run then says why). */
static bool calibrate(mhrfit_pipeline *p, mhrfit_error *err) {
  mf_detector *d = p->det;
  double t0 = mf_now_seconds();
  mhrfit_error cerr = {0};
  if (!mhrfit_detfit_calibrate(d->fit, p->F, d->points, d->weights, d->metrics, &d->views, &cerr)) {
    if (cerr.type != MHRFIT_ERR_NUMERIC) {
      if (err) *err = cerr;
      return false;
    }
    for (size_t f = 0; f < p->F; f++)
      if (!p->raw_status[f][0]) snprintf(p->raw_status[f], sizeof p->raw_status[f], "triangulation_failed");
    mf_pipeline_log(p, MHRFIT_PIPELINE_WARNING, "%s", cerr.message);
  }
  const mhrfit_detfit_calibration *c = mhrfit_detfit_calibration_get(d->fit);
  size_t n = d->map->n;
  mf_xxh64 h;
  mf_xxh64_init(&h);
  mf_xxh64_update(&h, &d->base_hash, sizeof d->base_hash);
  mf_xxh64_update(&h, c->scales, sizeof c->scales);
  mf_xxh64_update(&h, c->offsets, 3 * n * sizeof *c->offsets);
  mf_xxh64_update(&h, d->noise_px, d->views.n_views * sizeof *d->noise_px); /* the refits' per-view widths */
  d->model_hash = mf_xxh64_digest(&h);
  if (!mhrfit_detfit_proportions_warning(d->fit, d->warning, sizeof d->warning)) d->warning[0] = '\0';
  if (c->n_segments || c->n_calib_frames)
    mf_pipeline_log(p, MHRFIT_PIPELINE_INFO,
                    "calibration: proportions from %zu segments (length RMS %.1f -> %.1f mm), markers over %d frames "
                    "(RMS %.1f -> %.1f mm), %.2f s",
                    c->n_segments, 1e3 * c->segment_rms_before_m, 1e3 * c->segment_rms_after_m, c->n_calib_frames,
                    1e3 * c->marker_rms_before_m, 1e3 * c->marker_rms_after_m, c->seconds);
  mhrfit_fit_options fo = *mhrfit_detfit_fit_options(d->fit);
  fo.skip_mesh = !p->o.write_mesh;
  if (!(d->kpmap = mhrfit_detmap_kpmap(d->map, p->rig, c->offsets, err)) ||
      !(p->mesh_fitter = mhrfit_fitter_new(p->rig, d->kpmap, &fo, err)))
    return false;
  p->geo_of[0] = p->mesh_fitter;
  p->res.time_setup_s += mf_now_seconds() - t0;
  return true;
}

/* Identity of frame f as it is about to be fitted: its triangulation's (with its 2-D detections),
 * the calibration's (with the cameras' noise) and its temporal prior's. */
static void fit_signature(mhrfit_pipeline *p, size_t f, bool prior) {
  mf_detector *d = p->det;
  mf_xxh64 h;
  mf_xxh64_init(&h);
  mf_xxh64_update(&h, d->tri_sig[f], sizeof d->tri_sig[f]);
  mf_xxh64_update(&h, &d->model_hash, sizeof d->model_hash);
  const char *name = prior ? p->frames.items[p->prev_frame] : "", *sig = prior ? p->rec[p->prev_frame].signature : "";
  hash_str(&h, name);
  hash_str(&h, sig);
  snprintf(p->rec[f].signature, sizeof p->rec[f].signature, "%016llx", (unsigned long long)mf_xxh64_digest(&h));
}

/* Stage 3 of frame f into d->one; false only when the run cannot go on. */
static bool fit_frame(mhrfit_pipeline *p, size_t f, bool prior, mhrfit_error *err) {
  mf_detector *d = p->det;
  size_t n = d->map->n;
  double t1 = mf_now_seconds();
  const double *pts = d->points + 3 * n * f, *w = d->weights + n * f;
  mhrfit_fit_result res;
  mhrfit_error ferr = {0};
  size_t V = d->views.n_views, s = d->src[f];
  mhrfit_detfit_views one = d->views;
  one.uv += 2 * n * V * s;
  one.conf = one.conf ? one.conf + n * V * s : NULL;
  one.frames = NULL;
  bool ok = mhrfit_detfit_frame(d->fit, pts, w, d->metrics + 9 * n * f, &one, prior ? p->prev : NULL, &res, &ferr);
  if (!ok && (ferr.type == MHRFIT_ERR_NOMEM || ferr.type == MHRFIT_ERR_ARGUMENT)) {
    if (err) *err = ferr;
    mhrfit_error_prefix(err, "frame %s", p->frames.items[f]);
    return false;
  }
  mhrfit_fit_view view = {"none", {0}, NULL, NULL, 0, INFINITY};
  mhrfit_fit_frame fr = {0};
  fr.n_points = n;
  fr.kp_index = d->kp_index;
  fr.targets = pts;
  fr.inlier_weight = w;
  fr.n_views = 1;
  fr.views = &view;
  if (ok) {
    mhrfit_fit_archive_set(d->one, 0, &fr, NULL, &res);
    if (strcmp(d->one->status[0], "bad_loss") == 0) mf_pipeline_bad_loss_message(p, d->one);
  } else {
    mhrfit_fit_archive_set_failed(d->one, 0, "optimization_failed", ferr.message);
    memcpy(d->one->targets, pts, 3 * n * sizeof *pts);
  }
  p->rec[f].t_fit = mf_now_seconds() - t1;
  p->res.time_fit_s += p->rec[f].t_fit;
  return true;
}

/* Frame f computed (or failed before the fit): its fit.npz and its journal line. */
static bool compute_frame(mhrfit_pipeline *p, size_t f, const char *fit_path, bool prior, mhrfit_error *err) {
  const mhrfit_pipeline_options *o = &p->o;
  const char *name = p->frames.items[f];
  mf_frame_rec *r = &p->rec[f];
  mhrfit_fit_archive *one = p->det->one;
  mhrfit_fit_archive_clear_frame(one, 0);
  char msg[160], path[PATH_MAX];
  if (strcmp(p->raw_status[f], "missing_views") == 0) {
    snprintf(msg, sizeof msg, "%d of %zu cameras have keypoints in frame %s, %d needed (--min_views)", r->n_available,
             p->V, name, o->min_views);
    mhrfit_fit_archive_set_failed(one, 0, "missing_views", msg);
  } else if (strcmp(p->raw_status[f], "triangulation_failed") == 0) {
    snprintf(msg, sizeof msg, "%d points triangulated, %d needed (--min_valid_points)", r->n_tri_points,
             o->fit.min_valid_points);
    mhrfit_fit_archive_set_failed(one, 0, "triangulation_failed", msg);
  } else if (!fit_frame(p, f, prior, err)) {
    return false;
  }
  for (size_t i = 0; i < 204; i++) one->model_params[i] = (double)(float)one->model_params[i]; /* as stored */
  snprintf(path, sizeof path, "%s/fit/%s", o->out_dir, name);
  if (!mf_pipeline_describe_frame(p, f, one, err) || !mf_make_dirs(path, err) ||
      !mhrfit_fit_archive_save(fit_path, one, err))
    return false;
  char record[96];
  snprintf(record, sizeof record, "%s\t%d\t0\t%s", r->signature, r->n_tri_points, p->det->tri_sig[f]);
  snprintf(path, sizeof path, "%s/run_state.txt", o->out_dir);
  return mf_journal_append(p->journal, path, name, record, err);
}

static bool fit_all(mhrfit_pipeline *p, mhrfit_error *err) {
  const mhrfit_pipeline_options *o = &p->o;
  double t0 = mf_now_seconds();
  size_t not_ok = 0;
  for (size_t f = 0; f < p->F; f++) {
    if (mf_pipeline_cancelled(p))
      return MHRFIT_FAIL(err, MHRFIT_ERR_CANCELLED, "%s: cancelled after %zu of %zu frames; run again to resume",
                         o->out_dir, f, p->F);
    char fit_path[PATH_MAX];
    snprintf(fit_path, sizeof fit_path, "%s/fit/%s/fit.npz", o->out_dir, p->frames.items[f]);
    bool prior = p->prev_frame >= 0 && (long)f - p->prev_frame <= o->max_stale_frames;
    fit_signature(p, f, prior);
    int n_tri = p->rec[f].n_tri_points;
    bool reuse = mf_pipeline_reuse_frame(p, f, fit_path, p->det->one);
    p->rec[f].n_tri_points = n_tri; /* counted this run */
    if (!reuse && !compute_frame(p, f, fit_path, prior, err)) return false;
    p->res.frames_reused += reuse;
    p->rec[f].reused = reuse;
    /* what the sequence stage needs of the frame; its row is read back from fit.npz */
    const mhrfit_fit_archive *one = p->det->one;
    memcpy(p->params + 204 * f, one->model_params, 204 * sizeof *p->params);
    memcpy(p->sim + 13 * f, one->sim_out, 13 * sizeof *p->sim);
    memcpy(p->raw_status[f], one->status[0], sizeof p->raw_status[f]);
    p->rec[f].fit_scale = one->sim_fit[0];
    if (strcmp(one->status[0], "ok") == 0) {
      memcpy(p->prev, one->model_params, sizeof p->prev);
      p->prev_frame = (long)f;
    }
    not_ok += strcmp(one->status[0], "ok") != 0;
    if (o->progress) {
      mhrfit_pipeline_progress pr = {MHRFIT_PIPELINE_STAGE_FRAMES, f + 1,     p->F, p->res.frames_reused, not_ok,
                                     mf_now_seconds() - t0,       p->frames.items[f]};
      o->progress(o->user, &pr);
    }
  }
  return true;
}

bool mf_detector_frames(mhrfit_pipeline *p, mhrfit_error *err) {
  double t0 = mf_now_seconds();
  p->res.n_frames = p->F;
  p->res.time_setup_s = p->t_setup;
  if (!prepare(p, err) || !triangulate_all(p, err) || !calibrate(p, err) || !fit_all(p, err)) return false;
  p->res.time_frame_other_s =
      mf_now_seconds() - t0 - p->res.time_triangulate_s - p->res.time_fit_s - (p->res.time_setup_s - p->t_setup);
  return true;
}

mhrfit_fitter *mf_detector_geometry_fitter(const mhrfit_pipeline *p, mhrfit_error *err) {
  mhrfit_fit_options fo = *mhrfit_detfit_fit_options(p->det->fit);
  fo.skip_mesh = !p->o.write_mesh;
  return mhrfit_fitter_new(p->rig, p->det->kpmap, &fo, err);
}
