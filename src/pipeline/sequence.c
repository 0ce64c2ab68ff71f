/* The pipeline's sequence stage: meshes, recovery, smoothing, the diagnosis of unit and
 * resolution mistakes, the summary, and the verdict of a run that fitted nothing
 * (include/mhrfit/pipeline.h). */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/file.h"
#include "common/jbuild.h"
#include "common/mem.h"
#include "common/pool.h"
#include "pipeline/pipeline_internal.h"

/* ------------------------------------------------------------------ the sequence files */

/* The sequence files are written frame by frame (mhrfit_fit_writer): the rows of a window of
 * frames are made on the run's threads (each frame's fit.npz read back, the geometry of its mesh,
 * recovery or smoothing computed from its parameters), then appended in frame order. */
enum { ROWS_PER_THREAD = 16 };

typedef struct seq_run {
  mhrfit_pipeline *p;
  const mhrfit_recover_step *steps;
  const double *sm_params, *sm_sim; /* smoothed (NULL: no smoothing) */
  size_t first, n;                  /* the window */
  mhrfit_fit_archive **fit_rows, **sm_rows;
  bool *failed;
  mhrfit_error *errs;
} seq_run;

/* The row of frame `f` in sequence_fit.npz (into a) and in sequence_smoothed.npz (into b), with
 * thread t's geometry fitter. */
static bool make_rows(const seq_run *q, size_t f, size_t t, mhrfit_fit_archive *a, mhrfit_fit_archive *b,
                      mhrfit_error *err) {
  mhrfit_pipeline *p = q->p;
  mhrfit_fitter *geo = p->geo_of[t];
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/fit/%s/fit.npz", p->o.out_dir, p->frames.items[f]);
  mhrfit_fit_archive *saved = mhrfit_fit_archive_load(path, err);
  bool ok = saved && mhrfit_fit_archive_copy_frame(a, 0, saved, 0, err);
  mhrfit_fit_archive_free(saved);
  if (ok && a->n_vertices && strcmp(p->raw_status[f], "ok") == 0) {
    /* the mesh of a fitted frame from its stored (float32) parameters: a frame reused from an
     * earlier run and one fitted now give the same vertices */
    mhrfit_similarity sim;
    mhrfit_fit_archive_get_similarity(a, 0, &sim);
    mhrfit_fit_result g;
    memset(&g, 0, sizeof g);
    ok = mhrfit_fitter_geometry(geo, a->model_params, &sim, a->shape_params, 45, &g, err);
    if (ok) memcpy(a->vertices, g.vertices, 3 * a->n_vertices * sizeof(double));
  }
  const mhrfit_recover_step *st = &q->steps[f];
  if (ok && st->kind != MHRFIT_RECOVER_NONE) {
    snprintf(path, sizeof path, "%s/fit/%s/fit.npz", p->o.out_dir, p->frames.items[st->codes]);
    mhrfit_fit_archive *codes = mhrfit_fit_archive_load(path, err);
    ok = codes && mhrfit_sequence_apply_recovery(a, 0, st, codes, 0, p->params + 204 * f, p->sim + 13 * f, geo, err);
    mhrfit_fit_archive_free(codes);
  }
  if (ok && b) {
    ok = mhrfit_fit_archive_copy_frame(b, 0, a, 0, err);
    if (ok && p->labels[f] == MHRFIT_SMOOTH_LABEL_ANCHOR) {
      const double *so = q->sm_sim + 13 * f;
      mhrfit_similarity sim;
      sim.s = so[0];
      memcpy(sim.R, so + 1, sizeof sim.R);
      memcpy(sim.t, so + 10, sizeof sim.t);
      ok = mhrfit_sequence_set_frame(b, 0, geo, q->sm_params + 204 * f, &sim, err);
    }
  }
  if (!ok) mhrfit_error_prefix(err, "frame %s", p->frames.items[f]);
  return ok;
}

static void rows_task(void *ctx, size_t i, size_t t) {
  const seq_run *q = ctx;
  q->failed[i] = !make_rows(q, q->first + i, t, q->fit_rows[i], q->sm_rows ? q->sm_rows[i] : NULL, &q->errs[i]);
}

/* What the summary and mhrfit_pipeline_frame() report of frame f: its row of sequence_fit.npz. */
static bool keep_summary(mhrfit_pipeline *p, size_t f, const mhrfit_fit_archive *a, mhrfit_error *err) {
  mf_frame_rec *r = &p->rec[f];
  memcpy(p->status[f], a->status[0], sizeof p->status[f]);
  r->init_view = -1;
  for (size_t v = 0; v < a->n_views && v < 127 && a->init_cam[0][0]; v++)
    if (strcmp(a->cams[v], a->init_cam[0]) == 0) r->init_view = (signed char)v;
  const double *L = a->losses;
  r->losses[0] = L[1];
  r->losses[1] = L[2];
  r->losses[2] = L[4];
  r->losses[3] = L[5];
  r->iters = a->counts[0];
  free(p->message[f]);
  p->message[f] = NULL;
  return !a->message[0][0] || (p->message[f] = mf_strdup(a->message[0], err)) != NULL;
}

typedef struct close_job {
  mhrfit_fit_writer *w[2];
  bool ok[2];
  mhrfit_error err[2];
} close_job;

static void close_task(void *ctx, size_t i, size_t t) {
  (void)t;
  close_job *c = ctx;
  c->ok[i] = mhrfit_fit_writer_close(c->w[i], &c->err[i]);
}

/* A one-frame archive of the layout's sizes and predicted keypoints, for the rows. */
static mhrfit_fit_archive *row_archive(const mhrfit_fit_archive *L, mhrfit_error *err) {
  mhrfit_fit_archive *a = mhrfit_fit_archive_new(1, L->n_kp, L->n_views, L->n_joints, L->n_vertices, L->n_hist,
                                                 (const char *const *)L->cams, err);
  if (a && (L->n_pred_kp != 70 || L->keypoint_names) &&
      !mhrfit_fit_archive_set_pred_keypoints(a, L->n_pred_kp, (const char *const *)L->keypoint_names, err)) {
    mhrfit_fit_archive_free(a);
    a = NULL;
  }
  return a;
}

/* Writes sequence_fit.npz (and sequence_smoothed.npz when sm_params) frame by frame. */
static bool write_sequence(mhrfit_pipeline *p, mf_pool *pool, const mhrfit_recover_step *steps, const double *sm_params,
                           const double *sm_sim, mhrfit_error *err) {
  size_t F = p->F, B = ROWS_PER_THREAD * p->threads;
  const char *const *names = (const char *const *)p->frames.items;
  char path[PATH_MAX];
  close_job c;
  memset(&c, 0, sizeof c);
  snprintf(path, sizeof path, "%s/sequence_fit.npz", p->o.out_dir);
  c.w[0] = mhrfit_fit_writer_open(path, p->layout, F, names, err);
  snprintf(path, sizeof path, "%s/sequence_smoothed.npz", p->o.out_dir);
  if (c.w[0] && sm_params) c.w[1] = mhrfit_fit_writer_open(path, p->layout, F, names, err);
  seq_run q = {p, steps, sm_params, sm_sim, 0, 0, NULL, NULL, NULL, NULL};
  bool ok = c.w[0] && (!sm_params || c.w[1]) && mf_pipeline_geometry_fitters(p, err);
  q.fit_rows = ok ? mf_calloc_array(B, sizeof *q.fit_rows, err) : NULL;
  q.sm_rows = q.fit_rows && sm_params ? mf_calloc_array(B, sizeof *q.sm_rows, err) : NULL;
  q.failed = q.fit_rows ? mf_calloc_array(B, sizeof *q.failed, err) : NULL;
  q.errs = q.failed ? mf_calloc_array(B, sizeof *q.errs, err) : NULL;
  ok = q.errs && (!sm_params || q.sm_rows);
  for (size_t i = 0; ok && i < B; i++)
    ok = (q.fit_rows[i] = row_archive(p->layout, err)) && (!sm_params || (q.sm_rows[i] = row_archive(p->layout, err)));
  for (size_t first = 0; ok && first < F; first += B) {
    if (mf_pipeline_cancelled(p)) {
      ok = MHRFIT_FAIL(err, MHRFIT_ERR_CANCELLED, "%s: cancelled while writing the sequence files; run again to finish",
                       p->o.out_dir);
      break;
    }
    q.first = first;
    q.n = F - first < B ? F - first : B;
    mf_pool_for(pool, q.n, rows_task, &q);
    for (size_t i = 0; ok && i < q.n; i++) {
      if (q.failed[i]) {
        if (err) *err = q.errs[i];
        ok = false;
        break;
      }
      ok = keep_summary(p, first + i, q.fit_rows[i], err) && mhrfit_fit_writer_append(c.w[0], q.fit_rows[i], 0, err) &&
           (!sm_params || mhrfit_fit_writer_append(c.w[1], q.sm_rows[i], 0, err));
    }
  }
  if (ok) { /* the final archives are fsynced (the per-frame ones are not: a resumed run re-validates them) */
    mf_pool_for(pool, sm_params ? 2 : 1, close_task, &c);
    for (int i = 0; i < 2 && ok; i++)
      if (c.w[i] && !c.ok[i]) {
        if (err) *err = c.err[i];
        ok = false;
      }
  }
  for (size_t i = 0; i < B; i++) {
    if (q.fit_rows) mhrfit_fit_archive_free(q.fit_rows[i]);
    if (q.sm_rows) mhrfit_fit_archive_free(q.sm_rows[i]);
  }
  free(q.fit_rows);
  free(q.sm_rows);
  free(q.failed);
  free(q.errs);
  mhrfit_fit_writer_free(c.w[0]);
  mhrfit_fit_writer_free(c.w[1]);
  return ok;
}

bool mf_pipeline_sequence(mhrfit_pipeline *p, mf_pool *pool, mhrfit_error *err) {
  const mhrfit_pipeline_options *o = &p->o;
  double t0 = mf_now_seconds();
  size_t F = p->F;
  unsigned char *good = mf_calloc_array(F, 1, err);
  mhrfit_recover_step *steps = good ? mf_malloc_array(F, sizeof *steps, err) : NULL;
  double *sm_params = NULL, *sm_sim = NULL;
  bool ok = steps != NULL;
  for (size_t f = 0; ok && f < F; f++) good[f] = strcmp(p->raw_status[f], "ok") == 0;
  /* recovery and smoothing on the parameters; the geometry is made as the files are written */
  ok = ok && mhrfit_sequence_recover_params(F, good, p->params, p->sim, (size_t)o->max_edge_copy_span, steps,
                                            &p->res.recover, err);
  if (ok && o->smoothing) {
    if (mf_pipeline_cancelled(p)) {
      ok = MHRFIT_FAIL(err, MHRFIT_ERR_CANCELLED, "%s: cancelled before smoothing; run again to finish", o->out_dir);
    } else {
      for (size_t f = 0; f < F; f++) good[f] = good[f] || steps[f].kind != MHRFIT_RECOVER_NONE;
      sm_params = mf_malloc_array(F * 204, sizeof *sm_params, err);
      sm_sim = sm_params ? mf_malloc_array(F * 13, sizeof *sm_sim, err) : NULL;
      mhrfit_smooth_report sr = {0, 0, false};
      ok = sm_sim && mhrfit_sequence_smooth_params(F, good, p->params, p->sim, &o->smooth, p->threads, sm_params, sm_sim,
                                                   p->labels, &sr, err);
      p->res.smoothed = sr.smoothed;
    }
  }
  ok = ok && write_sequence(p, pool, steps, o->smoothing ? sm_params : NULL, sm_sim, err);
  free(good);
  free(steps);
  free(sm_params);
  free(sm_sim);
  if (!ok) return false;
  p->sequence_done = true;
  p->res.time_sequence_s = mf_now_seconds() - t0;
  for (size_t f = 0; f < F; f++) {
    mhrfit_pipeline_result *r = &p->res;
    size_t i = 0;
    while (i < r->n_statuses && strcmp(r->status_names[i], p->status[f]) != 0) i++;
    if (i == MHRFIT_PIPELINE_MAX_STATUSES) continue;
    if (i == r->n_statuses) memcpy(r->status_names[r->n_statuses++], p->status[f], sizeof r->status_names[0]);
    r->status_counts[i]++;
    r->n_fitted += strcmp(p->raw_status[f], "ok") == 0;
  }
  return true;
}

/* ------------------------------------------------------------------ diagnosis */

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Median of the finite values of x[0..n-1] (reordered); NaN when there is none. */
static double median_finite(double *x, size_t n) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (isfinite(x[i])) x[k++] = x[i];
  if (!k) return NAN;
  qsort(x, k, sizeof *x, cmp_double);
  return x[k / 2];
}

static void diagnose(mhrfit_pipeline *p, mf_jb *j, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void diagnose(mhrfit_pipeline *p, mf_jb *j, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  mf_pipeline_log(p, MHRFIT_PIPELINE_WARNING, "%s", msg);
  if (!mhrfit_value_list_append(p->diagnosis, mhrfit_value_new_string(MHRFIT_V_STRING, msg, strlen(msg), j->err),
                                j->err))
    j->failed = true;
}

/* The length unit of the calibration, judged from the size of the triangulated body (shoulder
 * width, about 0.35 m) and from the scale of the fitted similarity (about 1). */
static void diagnose_units(mhrfit_pipeline *p, mf_jb *j) {
  double width = median_finite(p->body_width, p->F);
  double *s = malloc((p->F + 1) * sizeof *s);
  if (!s) return;
  size_t n = 0;
  for (size_t f = 0; f < p->F; f++)
    if (strcmp(p->raw_status[f], "ok") == 0 || strcmp(p->raw_status[f], "bad_loss") == 0) s[n++] = p->rec[f].fit_scale;
  double scale = median_finite(s, n);
  free(s);
  double ratio = width / 0.35; /* NaN when no frame had both shoulders */
  if (!isfinite(ratio) || (ratio > 1.0 / 8 && ratio < 8)) ratio = scale;
  if (!isfinite(ratio) || (ratio > 1.0 / 8 && ratio < 8)) return;
  const char *unit = ratio > 300 && ratio < 3000 ? "millimetres (--translation_unit mm)"
                     : ratio > 30 && ratio < 300 ? "centimetres (--translation_unit cm)"
                     : ratio < 1.0 / 300         ? "metres given as millimetres (drop --translation_unit)"
                                                 : "another unit than --translation_unit says";
  diagnose(p, j,
           "the triangulated body is %.3g times the size of a person (shoulders %.3g m apart, fitted scale %.3g): the "
           "calibration translations are probably in %s",
           ratio, width, scale, unit);
}

/* Keypoints that do not match the calibrated image size, and views that disagree with the
 * triangulation in every camera. */
static void diagnose_images(mhrfit_pipeline *p, mf_jb *j) {
  size_t n_cams = 0, quarter = 0, outside = 0, far = 0, n_err_cams = 0;
  for (size_t v = 0; v < p->V; v++) {
    const mf_cam_stats *s = &p->cam_stats[v];
    if (s->n_kp >= 50 && p->cal->cams[v].width > 0) {
      n_cams++;
      quarter += (double)s->n_quarter > 0.97 * (double)s->n_kp;
      outside += (double)s->n_outside > 0.25 * (double)s->n_kp;
    }
    if (s->n_err >= 50) {
      n_err_cams++;
      far += (double)s->n_over_gate > 0.5 * (double)s->n_err;
    }
  }
  const mhrfit_camera *c = &p->cal->cams[0];
  if (n_cams >= 2 && quarter == n_cams)
    diagnose(p, j,
             "in every camera the 2D keypoints lie within the top-left quarter of the calibrated image (%dx%d for "
             "%s): they seem to come from images of half that resolution; scale the keypoints or use a calibration "
             "made at their resolution",
             c->width, c->height, c->name);
  else if (n_cams >= 2 && outside == n_cams)
    diagnose(p, j,
             "in every camera many 2D keypoints lie outside the calibrated image (%dx%d for %s): the images seem "
             "larger than the calibration says (another resolution?)",
             c->width, c->height, c->name);
  if (n_err_cams >= 2 && far == n_err_cams)
    diagnose(p, j,
             "in every camera most views are more than %.3g px from the triangulated points: the calibration does "
             "not fit these keypoints (other images, swapped camera names, another resolution?)",
             p->o.tri.method == MHRFIT_TRI_POSE2SIM ? p->o.tri.reproj_thresh : p->o.tri.inlier_thresh);
}

bool mf_pipeline_diagnose(mhrfit_pipeline *p, mhrfit_error *err) {
  if (!(p->diagnosis = mhrfit_value_new_list(err))) return false;
  mf_jb j = {err, false};
  diagnose_units(p, &j);
  diagnose_images(p, &j);
  const char *w = mf_detector_warning(p);
  if (w) diagnose(p, &j, "%s", w);
  return !j.failed;
}

/* ------------------------------------------------------------------ the summary */

static mhrfit_value *frame_value(const mhrfit_pipeline *p, size_t f, mf_jb *j) {
  mhrfit_value *fd = mhrfit_value_new_dict(j->err);
  if (!fd) {
    j->failed = true;
    return NULL;
  }
  const mf_frame_rec *rec = &p->rec[f];
  mf_jstr(j, fd, "frame", p->frames.items[f]);
  mf_jstr(j, fd, "status", p->status[f]);
  mf_jstr(j, fd, "fit_status", p->raw_status[f]);
  mf_jstr(j, fd, "message", p->message[f]);
  mf_jstr(j, fd, "init_cam", rec->init_view >= 0 ? p->layout->cams[rec->init_view] : NULL);
  mf_jint(j, fd, "available_cams", rec->n_available);
  mf_jint(j, fd, "triangulated_points", rec->n_tri_points);
  mf_jnum(j, fd, "best_loss", rec->losses[0]);
  mf_jnum(j, fd, "final_loss", rec->losses[1]);
  mf_jnum(j, fd, "best_data_loss", rec->losses[2]);
  mf_jnum(j, fd, "final_data_loss", rec->losses[3]);
  mf_jint(j, fd, "iters", rec->iters);
  mf_jbool(j, fd, "retried", rec->retried);
  mf_jbool(j, fd, "reused", rec->reused);
  mf_jstr(j, fd, "smoothing", !p->res.smoothed ? "none" : mhrfit_smooth_label_name(p->labels[f]));
  mf_jnum(j, fd, "time_triangulate_s", rec->reused ? NAN : rec->t_tri);
  mf_jnum(j, fd, "time_fit_s", rec->reused ? NAN : rec->t_fit);
  return fd;
}

bool mf_pipeline_write_summary(mhrfit_pipeline *p, mhrfit_error *err) {
  const mhrfit_pipeline_result *r = &p->res;
  mf_jb j = {err, false};
  mhrfit_value *summary = mhrfit_value_new_dict(err);
  mhrfit_value *list = mhrfit_value_new_list(err), *counts = mhrfit_value_new_dict(err);
  if (!summary || !list || !counts) {
    mhrfit_value_free(summary);
    mhrfit_value_free(list);
    mhrfit_value_free(counts);
    return false;
  }
  mf_jstr(&j, summary, "output_root", p->o.out_dir);
  mf_jstr(&j, summary, "input_root", p->o.input_dir);
  mf_jint(&j, summary, "num_frames", (long long)p->F);
  mf_jstrs(&j, summary, "cams", (const char *const *)p->cams, p->V);
  for (size_t f = 0; f < p->F && !j.failed; f++)
    if (!mhrfit_value_list_append(list, frame_value(p, f, &j), err)) j.failed = true;
  for (size_t i = 0; i < r->n_statuses; i++) mf_jint(&j, counts, r->status_names[i], (long long)r->status_counts[i]);
  mf_jput(&j, summary, "status_counts", counts);
  mf_jput(&j, summary, "diagnosis", mhrfit_value_clone(p->diagnosis, err));
  mhrfit_value *timing = mhrfit_value_new_dict(err);
  if (timing) {
    mf_jnum(&j, timing, "ingest_s", r->time_ingest_s);
    mf_jnum(&j, timing, "setup_s", r->time_setup_s);
    mf_jnum(&j, timing, "triangulate_s", r->time_triangulate_s);
    mf_jnum(&j, timing, "fit_s", r->time_fit_s);
    mf_jnum(&j, timing, "frame_other_s", r->time_frame_other_s);
    mf_jnum(&j, timing, "frames_s", r->time_frames_s);
    mf_jnum(&j, timing, "recover_smooth_s", r->time_sequence_s);
    mf_jnum(&j, timing, "total_s", r->time_total_s);
    mf_jint(&j, timing, "frames_reused", (long long)r->frames_reused);
    mf_jint(&j, timing, "threads", (long long)r->threads);
  }
  mf_jput(&j, summary, "timing", timing);
  mf_jput(&j, summary, "frames", list);
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/sequence_summary.json", p->o.out_dir);
  bool ok = !j.failed && mf_write_json_atomic(path, summary, 2, err);
  mhrfit_value_free(summary);
  return ok;
}

/* ------------------------------------------------------------------ nothing fitted */

bool mf_pipeline_check_fitted(mhrfit_pipeline *p, mhrfit_error *err) {
  if (p->res.n_fitted) return true;
  size_t missing = 0, tri = 0, bad = 0, failed = 0;
  for (size_t f = 0; f < p->F; f++) {
    missing += strcmp(p->raw_status[f], "missing_views") == 0;
    tri += strcmp(p->raw_status[f], "triangulation_failed") == 0;
    bad += strcmp(p->raw_status[f], "bad_loss") == 0;
    failed += strcmp(p->raw_status[f], "optimization_failed") == 0;
  }
  size_t kp = 0;
  for (size_t v = 0; v < p->V; v++) kp += p->cam_stats[v].n_kp;
  char why[1024], cams[256];
  size_t nc = 0;
  for (size_t v = 0; v < p->V && nc < sizeof cams; v++)
    nc += (size_t)snprintf(cams + nc, sizeof cams - nc, "%s%s", v ? ", " : "", p->stems[v]);
  const char *sam = p->o.sam_dir ? p->o.sam_dir : p->o.input_dir;
  if (missing == p->F && p->det)
    snprintf(why, sizeof why, "no frame has %s keypoints in %d cameras (cameras: %s)", p->o.input_format,
             p->o.min_views, cams);
  else if (missing == p->F)
    snprintf(why, sizeof why,
             "no frame has SAM 3D Body outputs of %d cameras: they were looked for as %s/<frame>/<cam>.npz|.npy "
             "(<cam>: %s)%s%s%s",
             p->o.min_views, sam, cams, p->first_ingest_error[0] ? "; stage 1 said: " : "", p->first_ingest_error,
             p->res.ingest.views_failed && !p->o.estimator ? "; --estimator makes them from the images" : "");
  else if (tri + missing == p->F)
    snprintf(why, sizeof why, "no frame has %d triangulated points (%zu frames tried)%s", p->o.fit.min_valid_points,
             tri,
             kp ? ": the views do not agree (see the diagnosis)"
                : p->det ? ": every 2D keypoint is NaN"
                         : ": every 2D keypoint of the stage-1 files is NaN (no detection in the SAM 3D Body outputs?)");
  else
    snprintf(why, sizeof why, "%zu frames fitted badly (bad_loss), %zu failed to fit, %zu could not be triangulated, %zu "
             "lacked views", bad, failed, tri, missing);
  char diag[1200] = "";
  size_t n = 0;
  for (size_t i = 0; p->diagnosis && i < p->diagnosis->u.list.count && n < sizeof diag; i++)
    n += (size_t)snprintf(diag + n, sizeof diag - n, "; %s", p->diagnosis->u.list.items[i]->u.str.data);
  return MHRFIT_FAIL(err, MHRFIT_ERR_NUMERIC, "no frame of %s was fitted: %s%s (per frame: %s/sequence_summary.json)",
                     p->o.input_dir, why, diag, p->o.out_dir);
}
