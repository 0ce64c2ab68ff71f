/* Frames fitted in order: the temporal prior (fit.h), sequences, batches over folders of stage-1
 * files, the --init_pose file and the debug files (include/mhrfit/fit_io.h). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/file.h"
#include "common/lock.h"
#include "common/mem.h"
#include "common/path.h"
#include "mhrfit/fit_io.h"
#include "mhrfit/layout.h"
#include "mhrfit/npy.h"
#include "mhrfit/sam3d.h"
#include "mhrfit/value.h"

#define NP MHRFIT_N_MODEL_PARAMS

/* ------------------------------------------------------------------------ */
/* The temporal prior                                                        */

void mhrfit_fit_prior_init(mhrfit_fit_prior *p, long max_stale_frames, const double *init_pose) {
  memset(p, 0, sizeof *p);
  p->max_stale_frames = max_stale_frames;
  p->frame = -1;
  if (init_pose) {
    memcpy(p->model_params, init_pose, sizeof p->model_params);
    p->have_params = true;
  }
}

bool mhrfit_fit_prior_used(const mhrfit_fit_prior *p, long frame) {
  return p->have_params && (p->frame < 0 || frame - p->frame <= p->max_stale_frames);
}

void mhrfit_fit_prior_apply(const mhrfit_fit_prior *p, long frame, mhrfit_fit_frame *fr) {
  bool used = mhrfit_fit_prior_used(p, frame);
  fr->prev_model_params = used ? p->model_params : NULL;
  fr->prev_similarity = used && p->have_sim ? &p->sim : NULL;
}

void mhrfit_fit_prior_update(mhrfit_fit_prior *p, long frame, const mhrfit_fit_result *res) {
  if (res->status != MHRFIT_FIT_OK) return;
  memcpy(p->model_params, res->model_params, sizeof p->model_params);
  p->sim = res->sim_out;
  p->have_params = p->have_sim = true;
  p->frame = frame;
}

/* ------------------------------------------------------------------------ */
/* Sequences                                                                 */

struct mhrfit_fit_sequence {
  mhrfit_fitter *fitter;
  mhrfit_fit_prior prior;
  long next;           /* index of the next frame in the sequence */
  size_t cap;          /* targets the storage below holds */
  int *kp_index;
  double *weights;
};

mhrfit_fit_sequence *mhrfit_fit_sequence_new(mhrfit_fitter *fitter, long max_stale_frames, const double *init_pose,
                                             mhrfit_error *err) {
  if (!fitter || max_stale_frames < 0) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "fit sequence: a fitter and max_stale_frames >= 0 are needed, got %ld",
                max_stale_frames);
    return NULL;
  }
  mhrfit_fit_sequence *s = mf_calloc_array(1, sizeof *s, err);
  if (!s) return NULL;
  s->fitter = fitter;
  mhrfit_fit_prior_init(&s->prior, max_stale_frames, init_pose);
  return s;
}

bool mhrfit_fit_sequence_process(mhrfit_fit_sequence *s, const mhrfit_tri_archive *tri, size_t f,
                                 mhrfit_fit_viewset *views, mhrfit_fit_archive *ar, size_t row, mhrfit_fit_step *step,
                                 mhrfit_error *err) {
  memset(step, 0, sizeof *step);
  if (row >= ar->n_frames)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "fit sequence: row %zu of an archive of %zu frame(s)", row,
                       ar->n_frames);
  if (tri->n_kp > s->cap) {
    int *k = realloc(s->kp_index, tri->n_kp * sizeof *k);
    if (k) s->kp_index = k;
    double *w = realloc(s->weights, tri->n_kp * sizeof *w);
    if (w) s->weights = w;
    if (!k || !w) return MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
    s->cap = tri->n_kp;
  }
  if (!mhrfit_fit_frame_from_tri(tri, f, views, s->kp_index, s->weights, &step->frame, err)) return false;
  long n = s->next;
  mhrfit_fit_prior_apply(&s->prior, n, &step->frame);
  double t0 = mf_now_seconds();
  step->fitted = mhrfit_fitter_process(s->fitter, &step->frame, &step->result, &step->why);
  step->seconds = mf_now_seconds() - t0;
  if (!step->fitted && (step->why.type == MHRFIT_ERR_NOMEM || step->why.type == MHRFIT_ERR_ARGUMENT)) {
    *err = step->why;
    return false;
  }
  s->next++;
  if (!step->fitted) {
    mhrfit_fit_archive_set_failed(ar, row, "optimization_failed", step->why.message);
    return true;
  }
  mhrfit_fit_archive_set(ar, row, &step->frame, views, &step->result);
  mhrfit_fit_prior_update(&s->prior, n, &step->result);
  return true;
}

const mhrfit_fit_prior *mhrfit_fit_sequence_prior(const mhrfit_fit_sequence *s) { return &s->prior; }

void mhrfit_fit_sequence_reset(mhrfit_fit_sequence *s) {
  mhrfit_fit_prior_init(&s->prior, s->prior.max_stale_frames, NULL);
  s->next = 0;
}

void mhrfit_fit_sequence_free(mhrfit_fit_sequence *s) {
  if (!s) return;
  free(s->kp_index);
  free(s->weights);
  free(s);
}

/* ------------------------------------------------------------------------ */
/* Batches                                                                   */

struct mhrfit_fit_batch {
  const mhrfit_tri_archive *tri;
  mhrfit_fit_batch_options o;
  mf_names dirs, labels; /* one per frame */
  mf_dir_lock *debug_lock; /* of o.debug_dir, while the batch lives */
  bool flat;               /* one frame whose camera files are in the views folder itself */
};

void mhrfit_fit_batch_options_init(mhrfit_fit_batch_options *o) {
  memset(o, 0, sizeof *o);
  o->allow_missing_views = true;
  o->max_stale_frames = 40;
}

static void warnf(const mhrfit_fit_batch *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void warnf(const mhrfit_fit_batch *b, const char *fmt, ...) {
  if (!b->o.on_warning) return;
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  b->o.on_warning(b->o.user, msg);
}

/* The frame folders of `views` (see the header) into b->dirs and b->labels. */
static bool frame_dirs(mhrfit_fit_batch *b, const char *views, mhrfit_error *err) {
  size_t F = b->tri->n_frames;
  mhrfit_error probe_err = {0};
  char *probe = mf_camera_file(views, b->o.cams[0], &probe_err);
  bool flat = probe != NULL;
  free(probe);
  if (F == 1 && flat) {
    b->dirs.items = mf_calloc_array(1, sizeof *b->dirs.items, err);
    b->labels.items = mf_calloc_array(1, sizeof *b->labels.items, err);
    if (!b->dirs.items || !b->labels.items) return false;
    b->dirs.count = b->labels.count = 1;
    b->flat = true;
    return (b->dirs.items[0] = mf_strdup(views, err)) && (b->labels.items[0] = mf_strdup("frame", err));
  }
  if (!mf_list_dir(views, NULL, true, &b->labels, err)) return false;
  if (b->labels.count != F)
    return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT,
                       "--views %s: the triangulation has %zu frame(s) but the folder has %zu frame sub-folder(s)%s",
                       views, F, b->labels.count, F == 1 ? " and no camera files" : "");
  if (!(b->dirs.items = mf_calloc_array(F, sizeof *b->dirs.items, err))) return false;
  b->dirs.count = F;
  for (size_t f = 0; f < F; f++)
    if (!(b->dirs.items[f] = mf_path_join(views, b->labels.items[f], err))) return false;
  return true;
}

mhrfit_fit_batch *mhrfit_fit_batch_new(const mhrfit_tri_archive *tri, const char *views_dir,
                                       const mhrfit_fit_batch_options *o, mhrfit_error *err) {
  mhrfit_fit_batch *b = mf_calloc_array(1, sizeof *b, err);
  if (!b) return NULL;
  b->tri = tri;
  if (o) b->o = *o;
  else mhrfit_fit_batch_options_init(&b->o);
  if (!b->o.cams) {
    b->o.cams = (const char *const *)tri->cams;
    b->o.n_cams = tri->n_views;
  }
  if (b->o.n_cams == 0 || b->o.max_stale_frames < 0) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "fit batch: at least one camera and max_stale_frames >= 0 are needed");
    mhrfit_fit_batch_free(b);
    return NULL;
  }
  if (!frame_dirs(b, views_dir, err) ||
      (b->o.debug_dir && !(b->debug_lock = mf_dir_lock_output(b->o.debug_dir, "mhrfit fit", 2, err)))) {
    mhrfit_fit_batch_free(b);
    return NULL;
  }
  for (size_t f = 0; f < b->dirs.count; f++) {
    char why[1024];
    if (mhrfit_tri_archive_match_views(tri, f, b->dirs.items[f], b->o.cams, b->o.n_cams, why, sizeof why) ==
        MHRFIT_TRI_VIEWS_DIFFERENT)
      warnf(b, "--views %s: %s; the fit mixes two frames", b->dirs.items[f], why);
  }
  return b;
}

size_t mhrfit_fit_batch_n_frames(const mhrfit_fit_batch *b) { return b->tri->n_frames; }

/* One frame of the batch: views loaded, fitted, warnings, debug files, progress counts. */
static bool batch_frame(mhrfit_fit_batch *b, mhrfit_fit_sequence *seq, mhrfit_fit_archive *ar, size_t f,
                        mhrfit_fit_batch_progress *pr, mhrfit_error *err) {
  const char *label = b->labels.items[f];
  const char *shown = b->flat ? b->dirs.items[f] : label; /* a single frame: its folder in messages */
  mhrfit_fit_viewset *vs = mhrfit_fit_viewset_load(b->dirs.items[f], b->o.cams, b->o.n_cams, b->o.person_index,
                                                   b->o.allow_missing_views, err);
  if (!vs) {
    mhrfit_error_prefix(err, "frame %s", shown);
    return false;
  }
  mhrfit_fit_step step;
  bool ok = mhrfit_fit_sequence_process(seq, b->tri, f, vs, ar, f, &step, err);
  if (ok) {
    pr->solver_seconds += step.seconds;
    for (size_t v = 0; v < b->o.n_cams; v++)
      if (vs->note[v][0] && !(step.fitted && !step.result.view_skipped[v]))
        warnf(b, "frame %s, camera '%s' not used: %s", shown, b->o.cams[v], vs->note[v]);
    if (!step.fitted) {
      pr->n_failed++;
      warnf(b, "frame %s failed: %s", shown, step.why.message);
    } else {
      if (step.result.status == MHRFIT_FIT_OK) pr->n_ok++;
      else pr->n_bad++;
      if (b->o.debug_dir) ok = mhrfit_fit_debug_write(b->o.debug_dir, label, &step.frame, vs, &step.result, err);
    }
  }
  mhrfit_fit_viewset_free(vs);
  if (ok && b->o.on_frame) {
    pr->frame = f;
    pr->label = label;
    b->o.on_frame(b->o.user, pr);
  }
  return ok;
}

mhrfit_fit_archive *mhrfit_fit_batch_process(mhrfit_fit_batch *b, const mhrfit_rig *rig,
                                             const mhrfit_fit_options *fit_options,
                                             mhrfit_fit_batch_progress *summary, mhrfit_error *err) {
  mhrfit_fit_options fo;
  if (fit_options) fo = *fit_options;
  else mhrfit_fit_options_init(&fo);
  const mhrfit_tri_archive *tri = b->tri;
  size_t F = tri->n_frames;
  mhrfit_fitter *fitter = mhrfit_fitter_new(rig, NULL, &fo, err);
  mhrfit_fit_sequence *seq = fitter ? mhrfit_fit_sequence_new(fitter, b->o.max_stale_frames, b->o.init_pose, err) : NULL;
  mhrfit_fit_archive *ar = seq ? mhrfit_fit_archive_new(F, tri->n_kp, b->o.n_cams, rig->n_joints,
                                                        b->o.no_mesh ? 0 : rig->n_vertices,
                                                        (size_t)mhrfit_fit_options_iter_cap(&fo), b->o.cams, err)
                               : NULL;
  bool ok = ar != NULL;
  if (ok) {
    ar->frame_axis = tri->frame_axis;
    mhrfit_fit_archive_set_options(ar, &fo);
  }
  mhrfit_fit_batch_progress pr = {0, F, NULL, 0, 0, 0, 0};
  for (size_t f = 0; ok && f < F; f++) ok = batch_frame(b, seq, ar, f, &pr, err);
  /* self-describing: the frames' names (the triangulation's recorded frame folders, else the
   * batch's frame sub-folders), the joint names, the mesh's triangles, the up axis */
  const char *const *names = tri->source_frames ? (const char *const *)tri->source_frames
                             : b->flat                ? NULL
                                                      : (const char *const *)b->labels.items;
  ok = ok && mhrfit_fit_archive_describe(ar, names, NAN, rig, err);
  if (ok) mhrfit_fit_archive_update_world_up(ar);
  if (summary) *summary = pr;
  mhrfit_fit_sequence_free(seq);
  mhrfit_fitter_free(fitter);
  if (!ok) {
    mhrfit_fit_archive_free(ar);
    return NULL;
  }
  return ar;
}

void mhrfit_fit_batch_free(mhrfit_fit_batch *b) {
  if (!b) return;
  mf_names_free(&b->dirs);
  mf_names_free(&b->labels);
  mf_dir_lock_release(b->debug_lock);
  free(b);
}

/* ------------------------------------------------------------------------ */
/* --init_pose                                                               */

bool mhrfit_fit_init_pose_load(const char *path, double m[NP], mhrfit_error *err) {
  mhrfit_value *v = mhrfit_numpy_load(path, NULL, err);
  if (!v) return false;
  const mhrfit_value *d = v->kind == MHRFIT_V_LIST && v->u.list.count ? v->u.list.items[0] : v;
  const mhrfit_array *a = NULL;
  if (d->kind == MHRFIT_V_ARRAY) a = d->u.array;
  else if (d->kind == MHRFIT_V_DICT) {
    const mhrfit_value *x = mhrfit_value_dict_get(d, "mhr_model_params");
    if (!x) x = mhrfit_value_dict_get(d, "body_pose_params");
    if (x && x->kind == MHRFIT_V_ARRAY) a = x->u.array;
  }
  bool ok = false;
  memset(m, 0, NP * sizeof *m);
  if (!a || !mhrfit_dtype_is_numeric(a->dtype) || a->ndim < 1) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: --init_pose needs 'mhr_model_params' (204) or 'body_pose_params' (133)",
                path);
  } else {
    size_t n = a->shape[a->ndim - 1], base = a->count - n;
    if (n == NP) {
      for (size_t i = 0; i < n; i++) m[i] = mhrfit_array_get_f64(a, base + i);
      ok = true;
    } else if (n == MHRFIT_N_BODY_POSE) {
      double bp[MHRFIT_N_BODY_POSE];
      for (size_t i = 0; i < n; i++) bp[i] = mhrfit_array_get_f64(a, base + i);
      mhrfit_model_set_body_pose(m, bp);
      ok = true;
    } else {
      MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: --init_pose holds %zu values per pose; 204 or 133 expected", path, n);
    }
    for (size_t i = 0; ok && i < NP; i++)
      if (!isfinite(m[i])) ok = MHRFIT_FAIL(err, MHRFIT_ERR_NUMERIC, "%s: --init_pose value %zu is not finite", path, i);
  }
  mhrfit_value_free(v);
  return ok;
}

/* ------------------------------------------------------------------------ */
/* Debug files                                                               */

/* Opens dir/name for an atomic write. */
static bool debug_open(mf_atomic_file *af, const char *dir, const char *name, mhrfit_error *err) {
  char *path = mf_path_join(dir, name, err);
  bool ok = path && mf_atomic_open(af, path, err);
  free(path);
  return ok;
}

static bool write_residuals(const char *dir, const mhrfit_fit_frame *fr, const mhrfit_fit_result *res,
                            mhrfit_error *err) {
  const mhrfit_layout *mhr70 = mhrfit_layout_get("mhr70", NULL);
  mf_atomic_file af;
  if (!debug_open(&af, dir, "residuals.tsv", err)) return false;
  fprintf(af.f, "index\tname\tinlier_weight\tsemantic_weight\ttarget_x\ttarget_y\ttarget_z\tfit_x\tfit_y\tfit_z\t"
                "residual_mm\n");
  for (size_t i = 0; i < fr->n_points; i++) {
    int k = fr->kp_index[i];
    const double *g = fr->targets + 3 * i, *p = res->keypoints + 3 * k;
    fprintf(af.f, "%d\t%s\t%.3f\t%.2f\t%.5f\t%.5f\t%.5f\t%.5f\t%.5f\t%.5f\t%.2f\n", k,
            mhr70 && k >= 0 && (size_t)k < mhr70->count ? mhr70->names[k] : "",
            fr->inlier_weight ? fr->inlier_weight[i] : 1.0, mhrfit_fit_semantic_weight(k), g[0], g[1], g[2], p[0], p[1],
            p[2], 1000 * res->residuals[i]);
  }
  return mf_atomic_commit(&af, err);
}

static bool write_views(const char *dir, const mhrfit_fit_frame *fr, const mhrfit_fit_viewset *vs,
                        const mhrfit_fit_result *res, mhrfit_error *err) {
  mf_atomic_file af;
  if (!debug_open(&af, dir, "views.tsv", err)) return false;
  fprintf(af.f, "camera\tscore_m\tmean_reproj_px\tskipped\tinitial\tnote\n");
  for (size_t v = 0; v < fr->n_views; v++)
    fprintf(af.f, "%s\t%.5f\t%.3f\t%d\t%d\t%s\n", fr->views[v].name, res->view_scores[v], fr->views[v].mean_px,
            res->view_skipped[v], (int)v == res->init_view, vs ? vs->note[v] : "");
  return mf_atomic_commit(&af, err);
}

/* log10 of the total and data losses against the iteration. */
static bool write_loss_curve(const char *dir, const char *label, const mhrfit_fit_result *res, mhrfit_error *err) {
  mf_atomic_file af;
  if (!debug_open(&af, dir, "loss_curve.svg", err)) return false;
  int n = res->n_iters;
  double lo = INFINITY, hi = -INFINITY;
  for (int i = 0; i < n; i++)
    for (int c = 0; c < 2; c++) {
      double x = (c ? res->data_loss_history : res->loss_history)[i];
      if (x > 0 && isfinite(x)) {
        lo = fmin(lo, log10(x));
        hi = fmax(hi, log10(x));
      }
    }
  if (!(hi > lo)) lo = hi - 1;
  const double W = 640, H = 400, L = 70, R = 20, T = 30, B = 50;
  fprintf(af.f,
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" font-family=\"sans-serif\" "
          "font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
          "<text x=\"%g\" y=\"20\">%s: loss per iteration (log10), best iteration %d</text>\n"
          "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"none\" stroke=\"#888\"/>\n",
          W, H, L, label, res->best_iter, L, T, W - L - R, H - T - B);
  fprintf(af.f, "<text x=\"5\" y=\"%g\">%.2f</text><text x=\"5\" y=\"%g\">%.2f</text>\n", T + 10, hi, H - B, lo);
  fprintf(af.f, "<text x=\"%g\" y=\"%g\">0</text><text x=\"%g\" y=\"%g\">%d</text>\n", L, H - B + 18, W - R - 20,
          H - B + 18, n > 0 ? n - 1 : 0);
  static const char *const colour[2] = {"#1f77b4", "#d62728"};
  for (int c = 0; c < 2; c++) {
    fprintf(af.f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", colour[c]);
    for (int i = 0; i < n; i++) {
      double x = (c ? res->data_loss_history : res->loss_history)[i];
      if (!(x > 0 && isfinite(x))) continue;
      double px = L + (W - L - R) * (n > 1 ? (double)i / (n - 1) : 0.5);
      double py = T + (H - T - B) * (hi - log10(x)) / (hi - lo);
      fprintf(af.f, "%.1f,%.1f ", px, py);
    }
    fprintf(af.f, "\"/>\n<text x=\"%g\" y=\"%g\" fill=\"%s\">%s</text>\n", L + 10 + 120 * c, H - 15, colour[c],
            c ? "data loss" : "total loss");
  }
  fprintf(af.f, "</svg>\n");
  return mf_atomic_commit(&af, err);
}

bool mhrfit_fit_debug_write(const char *dir, const char *label, const mhrfit_fit_frame *frame,
                            const mhrfit_fit_viewset *views, const mhrfit_fit_result *res, mhrfit_error *err) {
  char *fdir = mf_path_join(dir, label, err);
  bool ok = fdir && mf_make_dirs(fdir, err) && write_residuals(fdir, frame, res, err) &&
            write_views(fdir, frame, views, res, err) && write_loss_curve(fdir, label, res, err);
  free(fdir);
  return ok;
}
