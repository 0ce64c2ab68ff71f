/* Recovery and smoothing of fitted sequences: see include/mhrfit/sequence.h. */
#include "mhrfit/sequence.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "mhrfit/camera.h"
#include "mhrfit/sam3d.h"

#define NP MHRFIT_N_MODEL_PARAMS

static bool is_good(const mhrfit_fit_archive *a, size_t f) { return strcmp(a->status[f], "ok") == 0; }

static bool is_recovered(const mhrfit_fit_archive *a, size_t f) {
  return strncmp(a->status[f], "recovered", 9) == 0;
}

/* Stores parameters m and similarity s in frame f, recomputes its geometry, clears the
 * optimisation diagnostics. */
static bool store_frame(mhrfit_fit_archive *a, size_t f, mhrfit_fitter *fitter, const double *m,
                        const mhrfit_similarity *s, mhrfit_error *err) {
  mhrfit_fit_result g;
  memset(&g, 0, sizeof g);
  if (!mhrfit_fitter_geometry(fitter, m, s, a->shape_params + 45 * f, 45, &g, err)) {
    mhrfit_error_prefix(err, "frame %zu", f);
    return false;
  }
  size_t J = a->n_joints;
  memcpy(a->model_params + NP * f, m, NP * sizeof *m);
  mhrfit_body_pose_from_model(m, a->body_pose + 133 * f);
  memcpy(a->keypoints + 3 * a->n_pred_kp * f, g.keypoints, 3 * a->n_pred_kp * sizeof(double));
  memcpy(a->joints + 3 * J * f, g.joints, 3 * J * sizeof(double));
  memcpy(a->global_rots + 9 * J * f, g.global_rots, 9 * J * sizeof(double));
  for (size_t i = 0; a->n_vertices && i < 3 * a->n_vertices; i++) /* NaN from a fitter that skips the mesh */
    a->vertices[3 * a->n_vertices * f + i] = g.vertices ? g.vertices[i] : NAN;
  mhrfit_fit_archive_set_similarity(a, f, s);
  return true;
}

static void copy_codes(mhrfit_fit_archive *a, size_t dst, size_t src) {
  memcpy(a->hand_pose_params + 108 * dst, a->hand_pose_params + 108 * src, 108 * sizeof(double));
  memcpy(a->scale_params + 28 * dst, a->scale_params + 28 * src, 28 * sizeof(double));
  memcpy(a->shape_params + 45 * dst, a->shape_params + 45 * src, 45 * sizeof(double));
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

bool mhrfit_sequence_recover(mhrfit_fit_archive *a, mhrfit_fitter *fitter, size_t max_edge_copy_span,
                             mhrfit_recover_report *report, mhrfit_error *err) {
  mhrfit_recover_report rep = {0, 0, 0};
  size_t F = a->n_frames;
  unsigned char *good = mf_calloc_array(F, 1, err);
  if (!good) return false;
  for (size_t f = 0; f < F; f++) good[f] = is_good(a, f);
  bool ok = true;
  for (size_t t = 0; t < F && ok; t++) {
    if (good[t]) continue;
    long p = -1, n = -1;
    for (long i = (long)t - 1; i >= 0; i--)
      if (good[i]) {
        p = i;
        break;
      }
    for (size_t i = t + 1; i < F; i++)
      if (good[i]) {
        n = (long)i;
        break;
      }
    double m[NP];
    mhrfit_similarity s;
    if (p >= 0 && n >= 0) {
      double u = (double)((long)t - p) / (double)(n - p);
      mhrfit_similarity sp, sn;
      mhrfit_fit_archive_get_similarity(a, (size_t)p, &sp);
      mhrfit_fit_archive_get_similarity(a, (size_t)n, &sn);
      for (int i = 0; i < NP; i++) m[i] = (1 - u) * a->model_params[NP * p + i] + u * a->model_params[NP * n + i];
      s.s = (1 - u) * sp.s + u * sn.s;
      for (int i = 0; i < 3; i++) s.t[i] = (1 - u) * sp.t[i] + u * sn.t[i];
      slerp(sp.R, sn.R, u, s.R);
      copy_codes(a, t, u <= 0.5 ? (size_t)p : (size_t)n);
      set_origin(a, t, p, n);
      snprintf(a->status[t], sizeof a->status[t], "recovered_interp");
      memcpy(a->init_cam[t], a->init_cam[u <= 0.5 ? p : n], sizeof a->init_cam[t]);
      rep.interpolated++;
    } else {
      long src = p >= 0 ? p : n;
      size_t dist = src < 0 ? 0 : (size_t)labs(src - (long)t);
      if (src < 0 || dist > max_edge_copy_span) {
        rep.unrecovered++;
        continue;
      }
      memcpy(m, a->model_params + NP * src, sizeof m);
      mhrfit_fit_archive_get_similarity(a, (size_t)src, &s);
      copy_codes(a, t, (size_t)src);
      set_origin(a, t, src, -1);
      snprintf(a->status[t], sizeof a->status[t], "recovered_copy");
      memcpy(a->init_cam[t], a->init_cam[src], sizeof a->init_cam[t]);
      rep.copied++;
    }
    clear_diagnostics(a, t);
    ok = store_frame(a, t, fitter, m, &s, err);
  }
  free(good);
  if (report) *report = rep;
  return ok;
}

bool mhrfit_sequence_smooth(mhrfit_fit_archive *a, mhrfit_fitter *fitter, const mhrfit_smooth_options *opts,
                            unsigned char *labels, mhrfit_smooth_report *report, mhrfit_error *err) {
  enum { D = NP + 8 }; /* parameters, scale, translation, quaternion */
  size_t F = a->n_frames;
  double *x = mf_malloc_array(F * D, sizeof *x, err);
  double *y = x ? mf_malloc_array(F * D, sizeof *y, err) : NULL;
  uint8_t *valid = y ? mf_calloc_array(F, 1, err) : NULL;
  uint8_t *lab = valid ? mf_calloc_array(F, 1, err) : NULL;
  bool ok = lab != NULL;
  double prev_q[4] = {0, 0, 0, 0};
  bool have_q = false;
  for (size_t f = 0; ok && f < F; f++) {
    valid[f] = is_good(a, f) || is_recovered(a, f);
    double *row = x + D * f;
    memcpy(row, a->model_params + NP * f, NP * sizeof *row);
    const double *so = a->sim_out + 13 * f;
    row[NP] = so[0];
    memcpy(row + NP + 1, so + 10, 3 * sizeof *row);
    double q[4] = {NAN, NAN, NAN, NAN};
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
    memcpy(row + NP + 4, q, sizeof q);
  }
  mhrfit_smooth_options def;
  if (!opts) {
    mhrfit_smooth_options_init(&def);
    opts = &def;
  }
  mhrfit_smooth_report rep;
  memset(&rep, 0, sizeof rep);
  ok = ok && mhrfit_smooth_sequence(x, F, D, valid, opts, y, lab, &rep, err);
  for (size_t f = 0; ok && rep.smoothed && f < F; f++) {
    if (lab[f] != MHRFIT_SMOOTH_LABEL_ANCHOR) continue; /* invalid frames are not overwritten */
    const double *row = y + D * f;
    mhrfit_similarity s;
    s.s = row[NP];
    memcpy(s.t, row + NP + 1, sizeof s.t);
    mhrfit_quat_to_matrix(row + NP + 4, s.R);
    ok = store_frame(a, f, fitter, row, &s, err);
  }
  if (ok && labels) memcpy(labels, lab, F);
  if (ok && report) *report = rep;
  free(x);
  free(y);
  free(valid);
  free(lab);
  return ok;
}
