/* Recovery and smoothing of fitted sequences: see include/mhrfit/sequence.h. */
#include "mhrfit/sequence.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "common/pool.h"
#include "mhrfit/camera.h"
#include "mhrfit/fit_io.h"
#include "mhrfit/sam3d.h"

#define NP MHRFIT_N_MODEL_PARAMS

static bool is_good(const mhrfit_fit_archive *a, size_t f) { return strcmp(a->status[f], "ok") == 0; }

static bool is_recovered(const mhrfit_fit_archive *a, size_t f) {
  return strncmp(a->status[f], "recovered", 9) == 0;
}

bool mhrfit_sequence_set_frame(mhrfit_fit_archive *a, size_t f, mhrfit_fitter *fitter, const double *m,
                               const mhrfit_similarity *s, mhrfit_error *err) {
  mhrfit_fit_result g;
  memset(&g, 0, sizeof g);
  if (f >= a->n_frames) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "frame %zu of %zu", f, a->n_frames);
  if (!mhrfit_fitter_geometry(fitter, m, s, a->shape_params + 45 * f, 45, &g, err)) {
    mhrfit_error_prefix(err, "frame %zu", f);
    return false;
  }
  size_t J = a->n_joints;
  if (m != a->model_params + NP * f) memcpy(a->model_params + NP * f, m, NP * sizeof *m);
  mhrfit_body_pose_from_model(m, a->body_pose + 133 * f);
  memcpy(a->keypoints + 3 * a->n_pred_kp * f, g.keypoints, 3 * a->n_pred_kp * sizeof(double));
  memcpy(a->joints + 3 * J * f, g.joints, 3 * J * sizeof(double));
  memcpy(a->global_rots + 9 * J * f, g.global_rots, 9 * J * sizeof(double));
  for (size_t i = 0; a->n_vertices && i < 3 * a->n_vertices; i++) /* NaN from a fitter that skips the mesh */
    a->vertices[3 * a->n_vertices * f + i] = g.vertices ? g.vertices[i] : NAN;
  mhrfit_fit_archive_set_similarity(a, f, s);
  return true;
}

static void copy_codes(mhrfit_fit_archive *a, size_t dst, const mhrfit_fit_archive *b, size_t src) {
  memmove(a->hand_pose_params + 108 * dst, b->hand_pose_params + 108 * src, 108 * sizeof(double));
  memmove(a->scale_params + 28 * dst, b->scale_params + 28 * src, 28 * sizeof(double));
  memmove(a->shape_params + 45 * dst, b->shape_params + 45 * src, 45 * sizeof(double));
}

static void clear_diagnostics(mhrfit_fit_archive *a, size_t f) {
  for (int i = 0; i < 6; i++) a->losses[6 * f + i] = NAN;
  for (int i = 0; i < 6; i++) a->counts[6 * f + i] = 0;
  a->counts[6 * f + 1] = -1;
  for (size_t i = 0; i < a->n_hist; i++) a->loss_hist[a->n_hist * f + i] = a->data_loss_hist[a->n_hist * f + i] = NAN;
  for (size_t k = 0; k < a->n_kp; k++) a->residuals[a->n_kp * f + k] = NAN;
  for (int i = 0; i < 13; i++) a->sim_fit[13 * f + i] = NAN;
  a->sim_reused[f] = 0;
}

/* Message of a recovered frame: where its values come from and what it was. */
static void set_origin(mhrfit_fit_archive *a, size_t t, long p, long n) {
  char was[160];
  snprintf(was, sizeof was, "%s: %.120s", a->status[t], a->message[t][0] ? a->message[t] : "no fit");
  if (n >= 0) snprintf(a->message[t], sizeof a->message[t], "from frames %ld->%ld (was %s)", p, n, was);
  else snprintf(a->message[t], sizeof a->message[t], "from frame %ld (was %s)", p, was);
}

/* Spherical linear interpolation of rotations Ra → Rb at fraction u. */
static void slerp(const double *Ra, const double *Rb, double u, double *R) {
  double qa[4], qb[4], q[4];
  mhrfit_matrix_to_quat(Ra, qa);
  mhrfit_matrix_to_quat(Rb, qb);
  double d = qa[0] * qb[0] + qa[1] * qb[1] + qa[2] * qb[2] + qa[3] * qb[3];
  if (d < 0) {
    d = -d;
    for (int i = 0; i < 4; i++) qb[i] = -qb[i];
  }
  double wa = 1 - u, wb = u;
  if (d < 0.9995) {
    double th = acos(d), st = sin(th);
    wa = sin((1 - u) * th) / st;
    wb = sin(u * th) / st;
  }
  for (int i = 0; i < 4; i++) q[i] = wa * qa[i] + wb * qb[i];
  mhrfit_quat_to_matrix(q, R);
}

bool mhrfit_sequence_recover_params(size_t F, const unsigned char *good, double *params, double *sim,
                                    size_t max_edge_copy_span, mhrfit_recover_step *steps,
                                    mhrfit_recover_report *report, mhrfit_error *err) {
  mhrfit_recover_report rep = {0, 0, 0};
  long *next = mf_malloc_array(F + 1, sizeof *next, err); /* the first good frame at or after f */
  if (!next) return false;
  next[F] = -1;
  for (size_t f = F; f-- > 0;) next[f] = good[f] ? (long)f : next[f + 1];
  long p = -1; /* the last good frame before t */
  for (size_t t = 0; t < F; t++) {
    mhrfit_recover_step *st = &steps[t];
    *st = (mhrfit_recover_step){MHRFIT_RECOVER_NONE, -1, -1, -1};
    if (good[t]) {
      p = (long)t;
      continue;
    }
    long n = next[t];
    double *m = params + NP * t, *so = sim + 13 * t;
    if (p >= 0 && n >= 0) {
      double u = (double)((long)t - p) / (double)(n - p);
      const double *sp = sim + 13 * p, *sn = sim + 13 * n;
      for (int i = 0; i < NP; i++) m[i] = (1 - u) * params[NP * p + i] + u * params[NP * n + i];
      so[0] = (1 - u) * sp[0] + u * sn[0];
      for (int i = 0; i < 3; i++) so[10 + i] = (1 - u) * sp[10 + i] + u * sn[10 + i];
      slerp(sp + 1, sn + 1, u, so + 1);
      *st = (mhrfit_recover_step){MHRFIT_RECOVER_INTERP, p, n, u <= 0.5 ? p : n};
      rep.interpolated++;
    } else {
      long src = p >= 0 ? p : n;
      size_t dist = src < 0 ? 0 : (size_t)labs(src - (long)t);
      if (src < 0 || dist > max_edge_copy_span) {
        rep.unrecovered++;
        continue;
      }
      memcpy(m, params + NP * src, NP * sizeof *m);
      memcpy(so, sim + 13 * src, 13 * sizeof *so);
      *st = (mhrfit_recover_step){MHRFIT_RECOVER_COPY, src, -1, src};
      rep.copied++;
    }
  }
  free(next);
  if (report) *report = rep;
  return true;
}

bool mhrfit_sequence_apply_recovery(mhrfit_fit_archive *a, size_t t, const mhrfit_recover_step *step,
                                    const mhrfit_fit_archive *codes, size_t codes_f, const double *params,
                                    const double *sim, mhrfit_fitter *fitter, mhrfit_error *err) {
  if (step->kind == MHRFIT_RECOVER_NONE) return true;
  if (t >= a->n_frames || codes_f >= codes->n_frames)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "recovery of frame %zu: frame out of range", t);
  copy_codes(a, t, codes, codes_f);
  set_origin(a, t, step->from, step->to);
  snprintf(a->status[t], sizeof a->status[t], step->kind == MHRFIT_RECOVER_INTERP ? "recovered_interp" : "recovered_copy");
  memmove(a->init_cam[t], codes->init_cam[codes_f], sizeof a->init_cam[t]);
  clear_diagnostics(a, t);
  mhrfit_similarity s;
  s.s = sim[0];
  memcpy(s.R, sim + 1, sizeof s.R);
  memcpy(s.t, sim + 10, sizeof s.t);
  return mhrfit_sequence_set_frame(a, t, fitter, params, &s, err);
}

bool mhrfit_sequence_recover(mhrfit_fit_archive *a, mhrfit_fitter *fitter, size_t max_edge_copy_span,
                             mhrfit_recover_report *report, mhrfit_error *err) {
  size_t F = a->n_frames;
  unsigned char *good = mf_calloc_array(F, 1, err);
  mhrfit_recover_step *steps = good ? mf_malloc_array(F, sizeof *steps, err) : NULL;
  bool ok = steps != NULL;
  for (size_t f = 0; ok && f < F; f++) good[f] = is_good(a, f);
  ok = ok && mhrfit_sequence_recover_params(F, good, a->model_params, a->sim_out, max_edge_copy_span, steps, report,
                                            err);
  for (size_t t = 0; ok && t < F; t++)
    if (steps[t].kind != MHRFIT_RECOVER_NONE)
      ok = mhrfit_sequence_apply_recovery(a, t, &steps[t], a, (size_t)steps[t].codes, a->model_params + NP * t,
                                          a->sim_out + 13 * t, fitter, err);
  free(good);
  free(steps);
  return ok;
}

/* The smoothing of a sequence, column block by column block (the columns are smoothed
 * independently, smooth.h): one row per frame is the 204 parameters, the similarity scale,
 * translation (3) and rotation as a quaternion (4, signs continuous along the anchors). */
enum { D_ROW = NP + 8, BLOCK_COLS = 16 };

typedef struct smooth_job {
  size_t F;
  const double *params, *sim, *quat;
  const uint8_t *anchor;
  const mhrfit_smooth_options *opts;
  double *out_params, *out_sim;
  uint8_t *labels;        /* of block 0 */
  mhrfit_smooth_report rep;
  bool failed;
  mhrfit_error err;       /* the failure of the lowest block */
  size_t err_block;
  pthread_mutex_t mu;
} smooth_job;

static double row_value(const smooth_job *j, size_t f, size_t c) {
  if (c < NP) return j->params[NP * f + c];
  if (c == NP) return j->sim[13 * f];
  if (c < NP + 4) return j->sim[13 * f + 10 + (c - NP - 1)];
  return j->quat[4 * f + (c - NP - 4)];
}

static void smooth_block(void *ctx, size_t b, size_t thread) {
  (void)thread;
  smooth_job *j = ctx;
  size_t c0 = b * BLOCK_COLS, c1 = c0 + BLOCK_COLS;
  if (c0 >= NP) c0 = NP, c1 = D_ROW; /* the similarity's columns together: the quaternion is renormalised */
  if (c1 > NP && c0 < NP) c1 = NP;
  size_t F = j->F, n = c1 - c0;
  mhrfit_error e = {0};
  double *x = mf_malloc_array(F * n, sizeof *x, &e), *y = x ? mf_malloc_array(F * n, sizeof *y, &e) : NULL;
  uint8_t *lab = y ? mf_calloc_array(F, 1, &e) : NULL;
  mhrfit_smooth_report rep;
  memset(&rep, 0, sizeof rep);
  bool ok = lab != NULL;
  for (size_t f = 0; ok && f < F; f++)
    for (size_t c = c0; c < c1; c++) x[n * f + c - c0] = row_value(j, f, c);
  ok = ok && mhrfit_smooth_sequence(x, F, n, j->anchor, j->opts, y, lab, &rep, &e);
  for (size_t f = 0; ok && rep.smoothed && f < F; f++) {
    if (lab[f] != MHRFIT_SMOOTH_LABEL_ANCHOR) continue; /* invalid frames are not overwritten */
    const double *row = y + n * f;
    if (c0 < NP) {
      memcpy(j->out_params + NP * f + c0, row, n * sizeof *row);
    } else {
      double *so = j->out_sim + 13 * f;
      so[0] = row[0];
      memcpy(so + 10, row + 1, 3 * sizeof *row);
      mhrfit_quat_to_matrix(row + 4, so + 1);
    }
  }
  pthread_mutex_lock(&j->mu);
  if (!ok && (!j->failed || b < j->err_block)) {
    j->err = e;
    j->err_block = b;
  }
  j->failed |= !ok;
  if (ok && b == 0) {
    memcpy(j->labels, lab, F);
    j->rep = rep;
  }
  pthread_mutex_unlock(&j->mu);
  free(x);
  free(y);
  free(lab);
}

bool mhrfit_sequence_smooth_params(size_t F, const unsigned char *valid, const double *params, const double *sim,
                                   const mhrfit_smooth_options *opts, size_t threads, double *out_params,
                                   double *out_sim, unsigned char *labels, mhrfit_smooth_report *report,
                                   mhrfit_error *err) {
  mhrfit_smooth_options def;
  if (!opts) {
    mhrfit_smooth_options_init(&def);
    opts = &def;
  }
  double *quat = mf_malloc_array(4 * F + 4, sizeof *quat, err);
  uint8_t *anchor = quat ? mf_calloc_array(F + 1, 1, err) : NULL;
  uint8_t *lab = anchor ? mf_calloc_array(F + 1, 1, err) : NULL;
  if (!lab) {
    free(quat);
    free(anchor);
    return false;
  }
  double prev_q[4] = {0, 0, 0, 0};
  bool have_q = false;
  for (size_t f = 0; f < F; f++) {
    const double *so = sim + 13 * f;
    double *q = quat + 4 * f;
    for (int i = 0; i < 4; i++) q[i] = NAN;
    bool finite = true;
    for (int i = 1; i < 10; i++) finite = finite && isfinite(so[i]);
    if (finite) {
      mhrfit_matrix_to_quat(so + 1, q);
      if (have_q && q[0] * prev_q[0] + q[1] * prev_q[1] + q[2] * prev_q[2] + q[3] * prev_q[3] < 0)
        for (int i = 0; i < 4; i++) q[i] = -q[i];
      if (valid[f]) {
        memcpy(prev_q, q, sizeof prev_q);
        have_q = true;
      }
    }
  }
  smooth_job j = {F, params, sim, quat, anchor, opts, out_params, out_sim, lab, {0, 0, false}, false, {0}, 0,
                  PTHREAD_MUTEX_INITIALIZER};
  /* the anchors of the whole row (smooth.h: valid and every value finite), the same in every block */
  for (size_t f = 0; f < F; f++) {
    bool a = valid[f] != 0;
    for (size_t c = 0; a && c < D_ROW; c++) a = isfinite(row_value(&j, f, c));
    anchor[f] = a;
  }
  if (out_params != params) memcpy(out_params, params, F * NP * sizeof *params);
  if (out_sim != sim) memcpy(out_sim, sim, F * 13 * sizeof *sim);
  size_t n_blocks = (NP + BLOCK_COLS - 1) / BLOCK_COLS + 1;
  mf_pool *pool = threads > 1 ? mf_pool_new(threads < n_blocks ? threads : n_blocks, err) : NULL;
  bool ok = threads <= 1 || pool;
  if (ok) mf_pool_for(pool, n_blocks, smooth_block, &j);
  mf_pool_free(pool);
  pthread_mutex_destroy(&j.mu);
  if (ok && j.failed) {
    if (err) *err = j.err;
    ok = false;
  }
  if (ok && labels) memcpy(labels, lab, F);
  if (ok && report) *report = j.rep;
  free(quat);
  free(anchor);
  free(lab);
  return ok;
}

bool mhrfit_sequence_smooth(mhrfit_fit_archive *a, mhrfit_fitter *fitter, const mhrfit_smooth_options *opts,
                            unsigned char *labels, mhrfit_smooth_report *report, mhrfit_error *err) {
  size_t F = a->n_frames;
  if (!mhrfit_fit_archive_check_values(a, "smoothing", err)) return false; /* a good frame holding NaN */
  unsigned char *valid = mf_calloc_array(F, 1, err);
  uint8_t *lab = valid ? mf_calloc_array(F, 1, err) : NULL;
  double *m = lab ? mf_malloc_array(F * NP, sizeof *m, err) : NULL;
  double *so = m ? mf_malloc_array(F * 13, sizeof *so, err) : NULL;
  bool ok = so != NULL;
  for (size_t f = 0; ok && f < F; f++) valid[f] = is_good(a, f) || is_recovered(a, f);
  mhrfit_smooth_report rep;
  memset(&rep, 0, sizeof rep);
  ok = ok && mhrfit_sequence_smooth_params(F, valid, a->model_params, a->sim_out, opts, 1, m, so, lab, &rep, err);
  for (size_t f = 0; ok && rep.smoothed && f < F; f++) {
    if (lab[f] != MHRFIT_SMOOTH_LABEL_ANCHOR) continue; /* invalid frames are not overwritten */
    mhrfit_similarity s;
    s.s = so[13 * f];
    memcpy(s.R, so + 13 * f + 1, sizeof s.R);
    memcpy(s.t, so + 13 * f + 10, sizeof s.t);
    ok = mhrfit_sequence_set_frame(a, f, fitter, m + NP * f, &s, err);
  }
  if (ok && labels) memcpy(labels, lab, F);
  if (ok && report) *report = rep;
  free(valid);
  free(lab);
  free(m);
  free(so);
  return ok;
}
