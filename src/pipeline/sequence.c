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
#include "pipeline/pipeline_internal.h"

/* ------------------------------------------------------------------ the sequence files */

/* The mesh of every fitted frame, from its stored (float32) parameters: a frame reused from an
 * earlier run and one fitted now give the same vertices. */
static bool fitted_meshes(mhrfit_pipeline *p, mhrfit_error *err) {
  mhrfit_fit_archive *a = p->seq;
  for (size_t f = 0; a->n_vertices && f < p->F; f++) {
    if (strcmp(a->status[f], "ok") != 0) continue;
    mhrfit_similarity sim;
    mhrfit_fit_archive_get_similarity(a, f, &sim);
    mhrfit_fit_result g;
    memset(&g, 0, sizeof g);
    if (!mhrfit_fitter_geometry(p->mesh_fitter, a->model_params + 204 * f, &sim, a->shape_params + 45 * f, 45, &g,
                                err)) {
      mhrfit_error_prefix(err, "frame %s", p->frames.items[f]);
      return false;
    }
    memcpy(a->vertices + 3 * a->n_vertices * f, g.vertices, 3 * a->n_vertices * sizeof(double));
  }
  return true;
}

static bool save_final(mhrfit_pipeline *p, const char *name, mhrfit_error *err) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", p->o.out_dir, name);
  mhrfit_fit_archive_update_world_up(p->seq);
  /* the final archives are fsynced (the per-frame ones are not: a resumed run re-validates them) */
  return mhrfit_fit_archive_save(path, p->seq, err) && mf_sync_file(path, err);
}

bool mf_pipeline_sequence(mhrfit_pipeline *p, mhrfit_error *err) {
  const mhrfit_pipeline_options *o = &p->o;
  double t0 = mf_now_seconds();
  if (!fitted_meshes(p, err) ||
      !mhrfit_sequence_recover(p->seq, p->mesh_fitter, (size_t)o->max_edge_copy_span, &p->res.recover, err) ||
      !save_final(p, "sequence_fit.npz", err))
    return false;
  if (o->smoothing) {
    if (mf_pipeline_cancelled(p))
      return MHRFIT_FAIL(err, MHRFIT_ERR_CANCELLED, "%s: cancelled before smoothing; run again to finish",
                         o->out_dir);
    mhrfit_smooth_report sr = {0, 0, false};
    if (!mhrfit_sequence_smooth(p->seq, p->mesh_fitter, &o->smooth, p->labels, &sr, err) ||
        !save_final(p, "sequence_smoothed.npz", err))
      return false;
    p->res.smoothed = sr.smoothed;
  }
  p->res.time_sequence_s = mf_now_seconds() - t0;
  for (size_t f = 0; f < p->F; f++) {
    mhrfit_pipeline_result *r = &p->res;
    size_t i = 0;
    while (i < r->n_statuses && strcmp(r->status_names[i], p->seq->status[f]) != 0) i++;
    if (i == MHRFIT_PIPELINE_MAX_STATUSES) continue;
    if (i == r->n_statuses) memcpy(r->status_names[r->n_statuses++], p->seq->status[f], sizeof r->status_names[0]);
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
    if (strcmp(p->raw_status[f], "ok") == 0 || strcmp(p->raw_status[f], "bad_loss") == 0) s[n++] = p->seq->sim_fit[13 * f];
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
             p->ta->threshold_px);
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
  const mhrfit_fit_archive *seq = p->seq;
  const mf_frame_rec *rec = &p->rec[f];
  const double *L = seq->losses + 6 * f;
  mf_jstr(j, fd, "frame", p->frames.items[f]);
  mf_jstr(j, fd, "status", seq->status[f]);
  mf_jstr(j, fd, "fit_status", p->raw_status[f]);
  mf_jstr(j, fd, "message", seq->message[f][0] ? seq->message[f] : NULL);
  mf_jstr(j, fd, "init_cam", seq->init_cam[f][0] ? seq->init_cam[f] : NULL);
  mf_jint(j, fd, "available_cams", rec->n_available);
  mf_jint(j, fd, "triangulated_points", rec->n_tri_points);
  mf_jnum(j, fd, "best_loss", L[1]);
  mf_jnum(j, fd, "final_loss", L[2]);
  mf_jnum(j, fd, "best_data_loss", L[4]);
  mf_jnum(j, fd, "final_data_loss", L[5]);
  mf_jint(j, fd, "iters", seq->counts[6 * f]);
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
    mf_jnum(&j, timing, "recover_smooth_s", r->time_sequence_s);
    mf_jnum(&j, timing, "total_s", r->time_total_s);
    mf_jint(&j, timing, "frames_reused", (long long)r->frames_reused);
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
