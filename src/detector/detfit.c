/* Fitting MHR to a detector's triangulated keypoints without SAM 3D Body views: proportions and
 * marker offsets of a sequence, the limb-by-limb start and the frame fit. See
 * include/mhrfit/detector.h for the method. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/linalg.h"
#include "common/mem.h"
#include "mhrfit/detector.h"
#include "mhrfit/sam3d.h"
#include "mhrfit/similarity.h"
#include "detector/detfit_internal.h"

#define NP MHRFIT_N_MODEL_PARAMS
#define SCALE_FIRST 136
#define N_SCALES (NP - SCALE_FIRST)
#define CHAIN_MAX 24

/* The limb-by-limb start: parameter chains in order (model parameter indices, MHR.md §5), each
 * with the parameter whose starting values are tried (-1: none) and those values. */
typedef struct chain {
  const char *name;
  int n, p[CHAIN_MAX];
  int try_p, try_q; /* bend and twist parameters tried from several values */
  double bends[3], twists[3];
} chain;

static const chain chains[] = {
    {"spine", 24, {6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 30, 31, 32, 40, 41, 42}, -1, -1,
     {0}, {0}},
    {"head", 6, {24, 25, 26, 27, 28, 29}, -1, -1, {0}, {0}},
    {"left arm", 7, {43, 44, 45, 46, 47, 48, 49}, 46, 43, {0.2, 1.0, 1.8}, {-1.0, 0.0, 1.0}},
    {"right arm", 7, {33, 34, 35, 36, 37, 38, 39}, 36, 33, {0.2, 1.0, 1.8}, {-1.0, 0.0, 1.0}},
    {"left leg", 5, {59, 60, 61, 62, 63}, 62, 59, {0.1, 0.9, 1.7}, {-0.6, 0.0, 0.6}},
    {"right leg", 5, {50, 51, 52, 53, 54}, 53, 50, {0.1, 0.9, 1.7}, {-0.6, 0.0, 0.6}},
    {"left foot", 3, {64, 65, 67}, -1, -1, {0}, {0}},
    {"right foot", 3, {55, 56, 58}, -1, -1, {0}, {0}},
};
#define N_CHAINS (sizeof chains / sizeof chains[0])

/* Segments between MHR70 keypoints and the scale parameters that set their lengths. */
static const int segments[][2] = {{5, 7},   {6, 8},   {7, 62},  {8, 41},  {9, 11},  {10, 12}, {11, 13}, {12, 14},
                                  {5, 6},   {9, 10},  {5, 9},   {6, 10},  {17, 15}, {20, 18}, {62, 49}, {62, 53},
                                  {62, 61}, {41, 28}, {41, 32}, {41, 40}};
#define N_SEGMENTS (sizeof segments / sizeof segments[0])
static const int seg_scales[] = {139, 141, 142, 143, 144, 145, 146, 149, 150, 153};
#define N_SEG_SCALES (sizeof seg_scales / sizeof seg_scales[0])

struct mhrfit_detfit {
  const mhrfit_rig *rig;
  const mhrfit_detmap *map;
  mhrfit_detfit_options o;
  size_t n, nj;
  mhrfit_kpmap *kpmap;
  mhrfit_fitter *fitter, *refitter; /* the frame fit; the refits of the reprojection refinement */
  double *offsets, *def_offsets; /* n × 3 cm */
  double scales[N_SCALES];
  mhrfit_detfit_calibration cal;
  double lo[NP], hi[NP]; /* joint limits (±inf without one) */
  /* scratch */
  int *kp_index;
  double *pw, *ones, *wk;
  unsigned char *anchor;
  double *R, *t, *s, *kp_cm, *y_cm, *sam, *r0, *r1, *Jc;
  unsigned char *use;
  double m_init[NP], m_prior[NP];
  size_t restarts; /* warm frames fitted again from the limb-by-limb start */
  /* the reprojection refinement: reweighted targets and metrics (n × 3, n × 9), per-view weights */
  double *rp_points, *rp_metrics, *rp_w, *rp_resid;
  size_t rp_views; /* capacity of rp_w per point */
};

void mhrfit_detfit_options_init(mhrfit_detfit_options *o) {
  memset(o, 0, sizeof *o);
  mhrfit_fit_options_init(&o->fit);
  o->fit.joint_limits = true;
  o->fit.freeze_flexible_lengths = true;
  o->fit.with_scale = false;
  o->estimate_proportions = true;
  o->calibrate_markers = true;
  o->calib_frames = 24;
  o->calib_rounds = 3;
  o->offset_prior = 2.0;
  o->max_offset_change_cm = 8.0;
  o->max_stale_frames = 40;
  o->reproj_rounds = 2;
  o->reproj_huber = 1.4;
  o->reproj_iters = 15;
}

void mhrfit_detfit_free(mhrfit_detfit *d) {
  if (!d) return;
  mhrfit_kpmap_free(d->kpmap);
  mhrfit_fitter_free(d->fitter);
  mhrfit_fitter_free(d->refitter);
  free(d->offsets), free(d->def_offsets), free(d->kp_index), free(d->pw), free(d->ones), free(d->wk);
  free(d->anchor), free(d->R), free(d->t), free(d->s), free(d->kp_cm), free(d->y_cm), free(d->sam), free(d->r0);
  free(d->r1), free(d->Jc), free(d->use), free(d->rp_points), free(d->rp_metrics), free(d->rp_w);
  free(d->rp_resid);
  free(d);
}

mhrfit_fitter *mhrfit_detfit_fitter(mhrfit_detfit *d) { return d->fitter; }

const mhrfit_rig *mhrfit_detfit_rig(const mhrfit_detfit *d) { return d->rig; }

size_t mhrfit_detfit_restarts(const mhrfit_detfit *d) { return d->restarts; }

const mhrfit_fit_options *mhrfit_detfit_fit_options(const mhrfit_detfit *d) { return &d->o.fit; }

const mhrfit_detfit_calibration *mhrfit_detfit_calibration_get(const mhrfit_detfit *d) { return &d->cal; }

bool mhrfit_detfit_proportions_warning(const mhrfit_detfit *d, char *msg, size_t size) {
  if (!d->o.estimate_proportions || d->cal.n_segments >= MHRFIT_DETFIT_MIN_SEGMENTS) return false;
  if (size)
    snprintf(msg, size,
             "keypoint map %s: body proportions from %zu segment(s), fewer than %d: the body keeps about MHR's "
             "default size; map the keypoints of shoulders, elbows, wrists, hips, knees or ankles to their MHR joints "
             "(e.g. \"LKnee\": \"l_lowleg\", see mhrfit fit --help)",
             d->map->layout, d->cal.n_segments, MHRFIT_DETFIT_MIN_SEGMENTS);
  return true;
}

/* Rebuilds the keypoint map with the current offsets, and the frame fitter on it. */
static bool rebuild(mhrfit_detfit *d, mhrfit_error *err) {
  mhrfit_kpmap *km = mhrfit_detmap_kpmap(d->map, d->rig, d->offsets, err);
  if (!km) return false;
  mhrfit_fit_options ro = d->o.fit;
  ro.iters = d->o.reproj_iters;
  mhrfit_fitter *f = mhrfit_fitter_new(d->rig, km, &d->o.fit, err);
  mhrfit_fitter *rf = f ? mhrfit_fitter_new(d->rig, km, &ro, err) : NULL;
  if (!rf) {
    mhrfit_fitter_free(f);
    mhrfit_kpmap_free(km);
    return false;
  }
  mhrfit_kpmap_free(d->kpmap);
  mhrfit_fitter_free(d->fitter);
  mhrfit_fitter_free(d->refitter);
  d->kpmap = km;
  d->fitter = f;
  d->refitter = rf;
  return true;
}

mhrfit_detfit *mhrfit_detfit_new(const mhrfit_rig *rig, const mhrfit_detmap *map, const mhrfit_detfit_options *o,
                                 mhrfit_error *err) {
  mhrfit_detfit_options def;
  if (!o) {
    mhrfit_detfit_options_init(&def);
    o = &def;
  }
  if (o->calib_frames < 1 || o->calib_frames > 10000 || o->calib_rounds < 0 || o->calib_rounds > 100 ||
      !(o->offset_prior >= 0) || !(o->max_offset_change_cm >= 0) || o->max_stale_frames < 0 || o->reproj_rounds < 0 ||
      o->reproj_rounds > 10 || !(o->reproj_huber > 0) || !isfinite(o->reproj_huber) || o->reproj_iters < 0 ||
      o->reproj_iters > 100000) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT,
                "detector fit options: calib_frames 1..10000, calib_rounds 0..100, offset_prior and "
                "max_offset_change_cm >= 0, max_stale_frames >= 0, reproj_rounds 0..10, reproj_huber > 0, reproj_iters "
                "0..100000");
    return NULL;
  }
  if (rig->n_params != NP) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "detector fit: the rig has %zu model parameters, expected %d", rig->n_params, NP);
    return NULL;
  }
  size_t counts[3];
  mhrfit_detmap_counts(map, counts);
  size_t min_pts = (size_t)(o->fit.min_valid_points < 3 ? 3 : o->fit.min_valid_points);
  if (counts[MHRFIT_KP_JOINT] + counts[MHRFIT_KP_MARKER] < min_pts) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT,
                "keypoint map %s: only %zu keypoints have an MHR counterpart (min_valid_points is %zu): map more "
                "keypoints to MHR joints (a user map, see mhrfit fit --help)",
                map->layout, counts[1] + counts[2], min_pts);
    return NULL;
  }
  mhrfit_detfit *d = mf_calloc_array(1, sizeof *d, err);
  if (!d) return NULL;
  d->rig = rig;
  d->map = map;
  d->o = *o;
  d->o.fit.optimize_hand_pose = mhrfit_detmap_has_fingers(map, rig);
  d->n = map->n;
  d->nj = rig->n_joints;
  size_t n = d->n, nj = d->nj;
  d->offsets = mf_malloc_array(3 * n, sizeof(double), err);
  d->def_offsets = mf_malloc_array(3 * n, sizeof(double), err);
  d->kp_index = mf_malloc_array(n, sizeof(int), err);
  d->pw = mf_malloc_array(n, sizeof(double), err);
  d->ones = mf_malloc_array(n, sizeof(double), err);
  d->wk = mf_malloc_array(n, sizeof(double), err);
  d->anchor = mf_malloc_array(n, 1, err);
  d->use = mf_malloc_array(n, 1, err);
  d->R = mf_malloc_array(9 * nj, sizeof(double), err);
  d->t = mf_malloc_array(3 * nj, sizeof(double), err);
  d->s = mf_malloc_array(nj, sizeof(double), err);
  d->kp_cm = mf_malloc_array(3 * n, sizeof(double), err);
  d->y_cm = mf_malloc_array(3 * n, sizeof(double), err);
  d->sam = mf_malloc_array(3 * n, sizeof(double), err);
  d->r0 = mf_malloc_array(3 * n, sizeof(double), err);
  d->r1 = mf_malloc_array(3 * n, sizeof(double), err);
  d->Jc = mf_malloc_array(3 * n * CHAIN_MAX, sizeof(double), err);
  d->rp_points = mf_malloc_array(3 * n, sizeof(double), err);
  d->rp_metrics = mf_malloc_array(9 * n, sizeof(double), err);
  d->rp_resid = mf_malloc_array(n, sizeof(double), err);
  if (!d->offsets || !d->def_offsets || !d->kp_index || !d->pw || !d->ones || !d->wk || !d->anchor || !d->use ||
      !d->R || !d->t || !d->s || !d->kp_cm || !d->y_cm || !d->sam || !d->r0 || !d->r1 || !d->Jc || !d->rp_points ||
      !d->rp_metrics || !d->rp_resid)
    goto fail;
  for (size_t k = 0; k < n; k++) {
    memcpy(d->offsets + 3 * k, map->rule[k].offset, 3 * sizeof(double));
    d->kp_index[k] = (int)k;
    d->pw[k] = map->rule[k].kind == MHRFIT_KP_UNUSED ? 0.0 : map->rule[k].weight;
    d->ones[k] = 1.0;
    d->anchor[k] = map->rule[k].kind != MHRFIT_KP_UNUSED && map->rule[k].anchor;
  }
  memcpy(d->def_offsets, d->offsets, 3 * n * sizeof(double));
  for (int i = 0; i < NP; i++) d->lo[i] = -INFINITY, d->hi[i] = INFINITY;
  for (size_t i = 0; i < rig->n_limits; i++) {
    const mhrfit_limit *l = &rig->limits[i];
    if (l->param >= 0 && l->param < NP && l->min < l->max) d->lo[l->param] = l->min, d->hi[l->param] = l->max;
  }
  d->cal.offsets = d->offsets;
  if (!rebuild(d, err)) goto fail;
  return d;
fail:
  mhrfit_detfit_free(d);
  return NULL;
}

/* ---- forward kinematics of the map --------------------------------------------------------- */

/* Keypoints (native cm) of the current map at parameters m into d->kp_cm. */
static bool eval_kp(mhrfit_detfit *d, const double *m, mhrfit_error *err) {
  mhrfit_fk_pose pose = {d->R, d->t, d->s};
  if (!mhrfit_rig_fk(d->rig, m, &pose, NULL, err)) return false;
  mhrfit_kpmap_eval(d->kpmap, &pose, d->kp_cm);
  return true;
}

static bool finite3(const double *p) { return isfinite(p[0]) && isfinite(p[1]) && isfinite(p[2]); }

/* Whether keypoint k of the current map depends on model parameter p. */
static bool depends(const mhrfit_kpmap *km, size_t k, int p) {
  for (size_t c = km->col_start[k]; c < km->col_start[k + 1]; c++)
    if (km->cols[c] == p) return true;
  return false;
}

/* ---- the limb-by-limb start -------------------------------------------------------------------- */

/* The rigid similarity (SAM axes, metres) placing the keypoints at m on the targets: the anchors
 * when at least 3 are valid, else every valid point. */
static bool place(mhrfit_detfit *d, const double *m, const double *g, const double *w, mhrfit_similarity *sim,
                  mhrfit_error *err) {
  if (!eval_kp(d, m, err)) return false;
  size_t na = 0;
  for (size_t k = 0; k < d->n; k++) {
    mhrfit_mhr_to_sam3d(d->kp_cm + 3 * k, d->sam + 3 * k);
    bool ok = d->pw[k] > 0 && finite3(g + 3 * k) && finite3(d->sam + 3 * k) && w[k] > 0;
    d->wk[k] = ok ? w[k] : 0.0;
    na += ok && d->anchor[k];
  }
  if (na >= 3)
    for (size_t k = 0; k < d->n; k++) d->r0[k] = d->anchor[k] ? d->wk[k] : 0.0;
  else
    memcpy(d->r0, d->wk, d->n * sizeof(double));
  return mhrfit_similarity_fit(d->sam, g, d->r0, d->n, false, sim, err);
}

/* Targets in the model's native frame (cm): y = F⁻¹ Rᵀ (g − t) · 100. */
static void targets_native(mhrfit_detfit *d, const mhrfit_similarity *sim, const double *g) {
  for (size_t k = 0; k < d->n; k++) {
    const double *gk = g + 3 * k;
    double q[3], v[3] = {gk[0] - sim->t[0], gk[1] - sim->t[1], gk[2] - sim->t[2]};
    for (int a = 0; a < 3; a++) q[a] = (sim->R[a] * v[0] + sim->R[3 + a] * v[1] + sim->R[6 + a] * v[2]) / sim->s;
    mhrfit_sam3d_to_mhr(q, d->y_cm + 3 * k);
  }
}

/* Weighted squared distance (cm²) of the used keypoints at m to y; residuals into r. */
static double chain_cost(mhrfit_detfit *d, const double *m, double *r) {
  if (!eval_kp(d, m, NULL)) return INFINITY;
  double c = 0;
  for (size_t k = 0; k < d->n; k++) {
    if (!d->use[k]) continue;
    for (int a = 0; a < 3; a++) {
      double e = d->kp_cm[3 * k + a] - d->y_cm[3 * k + a];
      if (r) r[3 * k + a] = e;
      c += d->wk[k] * e * e;
    }
  }
  return isfinite(c) ? c : INFINITY;
}

static void clamp_chain(const mhrfit_detfit *d, const chain *ch, double *m) {
  for (int i = 0; i < ch->n; i++) {
    int p = ch->p[i];
    m[p] = fmin(d->hi[p], fmax(d->lo[p], m[p]));
  }
}

/* Damped Gauss–Newton over the chain's parameters with a forward-difference Jacobian, steps
 * clamped to the joint limits; a weak prior (1 cm² per rad²) holds directions no point sees. */
static double chain_solve(mhrfit_detfit *d, const chain *ch, double *m, int iters) {
  int np = ch->n;
  double A[CHAIN_MAX * CHAIN_MAX], b[CHAIN_MAX], x[CHAIN_MAX], m0[CHAIN_MAX], trial[NP], lambda = 1e-3;
  for (int i = 0; i < np; i++) m0[i] = m[ch->p[i]];
  double cost = chain_cost(d, m, d->r0);
  for (int it = 0; it < iters && isfinite(cost); it++) {
    const double h = 1e-4;
    for (int i = 0; i < np; i++) {
      memcpy(trial, m, sizeof trial);
      trial[ch->p[i]] += h;
      chain_cost(d, trial, d->r1);
      for (size_t k = 0; k < d->n; k++)
        for (int a = 0; d->use[k] && a < 3; a++) d->Jc[(3 * k + a) * CHAIN_MAX + i] = (d->r1[3 * k + a] - d->r0[3 * k + a]) / h;
    }
    for (int i = 0; i < np; i++) {
      b[i] = 1.0 * (m[ch->p[i]] - m0[i]);
      for (int j = 0; j < np; j++) A[i * np + j] = i == j ? 1.0 : 0.0;
    }
    for (size_t k = 0; k < d->n; k++)
      for (int a = 0; d->use[k] && a < 3; a++) {
        const double *Jr = d->Jc + (3 * k + a) * CHAIN_MAX;
        double w = d->wk[k];
        for (int i = 0; i < np; i++) {
          b[i] += w * Jr[i] * d->r0[3 * k + a];
          for (int j = 0; j <= i; j++) A[i * np + j] += w * Jr[i] * Jr[j];
        }
      }
    for (int i = 0; i < np; i++)
      for (int j = 0; j < i; j++) A[j * np + i] = A[i * np + j];
    bool accepted = false;
    for (int tries = 0; tries < 8 && !accepted; tries++) {
      double Ad[CHAIN_MAX * CHAIN_MAX];
      memcpy(Ad, A, (size_t)(np * np) * sizeof *A);
      for (int i = 0; i < np; i++) Ad[i * np + i] *= 1 + lambda;
      for (int i = 0; i < np; i++) b[i] = -b[i];
      bool solved = mf_cholesky_solve(Ad, b, np, x);
      for (int i = 0; i < np; i++) b[i] = -b[i];
      if (!solved) {
        lambda *= 10;
        continue;
      }
      memcpy(trial, m, sizeof trial);
      for (int i = 0; i < np; i++) trial[ch->p[i]] += x[i];
      clamp_chain(d, ch, trial);
      double c = chain_cost(d, trial, d->r1);
      double prior_old = 0, prior_new = 0;
      for (int i = 0; i < np; i++) {
        prior_old += pow(m[ch->p[i]] - m0[i], 2);
        prior_new += pow(trial[ch->p[i]] - m0[i], 2);
      }
      if (c + prior_new < cost + prior_old) {
        bool small = (cost + prior_old) - (c + prior_new) < 1e-4 * (cost + prior_old);
        memcpy(m, trial, NP * sizeof *m);
        memcpy(d->r0, d->r1, 3 * d->n * sizeof(double));
        cost = c;
        lambda = fmax(lambda / 4, 1e-7);
        accepted = true;
        if (small) it = iters;
      } else {
        lambda *= 8;
      }
    }
    if (!accepted) break;
  }
  return cost;
}

/* The keypoints of a chain: valid ones depending on its parameters and on none of a later chain. */
static int chain_points(mhrfit_detfit *d, size_t c) {
  int n = 0;
  for (size_t k = 0; k < d->n; k++) {
    bool use = d->wk[k] > 0 && finite3(d->y_cm + 3 * k), mine = false;
    for (int i = 0; use && i < chains[c].n && !mine; i++) mine = depends(d->kpmap, k, chains[c].p[i]);
    for (size_t l = c + 1; use && mine && l < N_CHAINS; l++)
      for (int i = 0; i < chains[l].n && use; i++) use = !depends(d->kpmap, k, chains[l].p[i]);
    /* finger joints come after every chain */
    for (int p = 68; use && mine && p < 122; p++) use = !depends(d->kpmap, k, p);
    d->use[k] = use && mine;
    n += d->use[k];
  }
  return n;
}

/* The start of a frame without a previous pose: rest pose with the sequence's scales, placed by
 * the anchors' similarity, refined chain by chain (spine twice, with the similarity re-fitted). */
static bool limb_start(mhrfit_detfit *d, const double *g, const double *w, double *m, mhrfit_error *err) {
  memset(m, 0, NP * sizeof *m);
  memcpy(m + SCALE_FIRST, d->scales, sizeof d->scales);
  mhrfit_similarity sim;
  for (size_t c = 0; c < N_CHAINS; c++) {
    for (int pass = 0; pass < (c == 0 ? 2 : 1); pass++) {
      if (c <= 1 && !place(d, m, g, w, &sim, err)) return false;
      targets_native(d, &sim, g);
      if (chain_points(d, c) == 0) continue;
      const chain *ch = &chains[c];
      if (ch->try_p < 0) {
        chain_solve(d, ch, m, 15);
        continue;
      }
      /* several starting bends and twists: the best after a few iterations is refined */
      double best = INFINITY, best_m[NP], start[NP];
      memcpy(start, m, sizeof start);
      for (int bi = 0; bi < 3; bi++)
        for (int ti = 0; ti < 3; ti++) {
          double trial[NP];
          memcpy(trial, start, sizeof trial);
          trial[ch->try_p] = ch->bends[bi];
          trial[ch->try_q] = ch->twists[ti];
          clamp_chain(d, ch, trial);
          double c2 = chain_solve(d, ch, trial, 6);
          if (c2 < best) {
            best = c2;
            memcpy(best_m, trial, sizeof best_m);
          }
        }
      if (isfinite(best)) {
        memcpy(m, best_m, NP * sizeof *m);
        chain_solve(d, ch, m, 15);
      }
    }
  }
  return true;
}

/* ---- frames -------------------------------------------------------------------------------- */

/* The layout keypoint of MHR70 keypoint a, or -1. */
static long kp_of(const mhrfit_detmap *map, int a) {
  for (size_t k = 0; k < map->n; k++)
    if (map->mhr70[k] == a && map->rule[k].kind != MHRFIT_KP_UNUSED) return (long)k;
  return -1;
}

/* The largest angle (rad) between a fitted limb bone (upper arms, forearms, thighs, shanks) and
 * the triangulated one, over the bones whose two keypoints the map has and the frame sees; 0
 * when none. */
static double worst_bone_angle(const mhrfit_detfit *d, const double *g, const double *w, const double *kp) {
  double worst = 0;
  for (size_t i = 0; i < 8; i++) { /* the first 8 segments are the limb bones */
    long a = kp_of(d->map, segments[i][0]), b = kp_of(d->map, segments[i][1]);
    if (a < 0 || b < 0 || !(w[a] > 0) || !(w[b] > 0)) continue;
    const double *ga = g + 3 * a, *gb = g + 3 * b, *pa = kp + 3 * a, *pb = kp + 3 * b;
    if (!finite3(ga) || !finite3(gb) || !finite3(pa) || !finite3(pb)) continue;
    double u[3], v[3], dot = 0, nu = 0, nv = 0;
    for (int c = 0; c < 3; c++) {
      u[c] = gb[c] - ga[c];
      v[c] = pb[c] - pa[c];
      dot += u[c] * v[c], nu += u[c] * u[c], nv += v[c] * v[c];
    }
    if (nu < 1e-6 || nv < 1e-6) continue;
    worst = fmax(worst, acos(fmax(-1.0, fmin(1.0, dot / sqrt(nu * nv)))));
  }
  return worst;
}

/* The frame fit from start m with the temporal prior `prior` (a pose, or NULL), the sequence's
 * scales and the map's weights and anchors. */
static bool fit_start(mhrfit_detfit *d, const double *points, const double *w, const double *metrics, const double *m,
                      const double *prior, bool refit, const char *start_name, mhrfit_fit_result *res,
                      mhrfit_error *err) {
  mhrfit_fit_view view = {start_name, {0}, NULL, NULL, 0, INFINITY};
  double prev[NP];
  memcpy(view.model_params, m, sizeof view.model_params);
  memcpy(view.model_params + SCALE_FIRST, d->scales, sizeof d->scales);
  if (prior) {
    memcpy(prev, prior, sizeof prev);
    memcpy(prev + SCALE_FIRST, d->scales, sizeof d->scales);
  }
  mhrfit_fit_frame fr = {0};
  fr.n_points = d->n;
  fr.kp_index = d->kp_index;
  fr.targets = points;
  fr.inlier_weight = w;
  fr.n_views = 1;
  fr.views = &view;
  fr.prev_model_params = prior ? prev : NULL;
  fr.fixed_scales = d->scales;
  fr.point_weight = d->pw;
  fr.anchor = d->anchor;
  fr.metric = metrics;
  return mhrfit_fitter_process(refit ? d->refitter : d->fitter, &fr, res, err);
}

/* fit_start() whose start m is also the temporal prior when `prior`. */
static bool fit_from(mhrfit_detfit *d, const double *points, const double *w, const double *metrics, const double *m,
                     bool prior, const char *start_name, mhrfit_fit_result *res, mhrfit_error *err) {
  return fit_start(d, points, w, metrics, m, prior ? m : NULL, false, start_name, res, err);
}

/* ---- the reprojection refinement ------------------------------------------------------------ */

/* Checks `v` (NULL is fine) and makes room for its per-view weights. */
static bool views_prepare(mhrfit_detfit *d, const mhrfit_detfit_views *v, mhrfit_error *err) {
  if (!v) return true;
  bool ok = v->n_views >= 2 && v->n_views <= 4096 && v->cams && v->uv && v->noise_px && v->gate_px > 0 &&
            isfinite(v->gate_px);
  for (size_t c = 0; ok && c < v->n_views; c++) ok = v->noise_px[c] > 0 && isfinite(v->noise_px[c]);
  if (!ok)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT,
                       "detector fit: 2-D detections need 2..4096 views, their cameras and detections, a positive "
                       "finite noise per camera and a positive finite gate");
  if (d->rp_views < v->n_views) {
    double *w = mf_malloc_array(v->n_views, sizeof *w, err);
    if (!w) return false;
    free(d->rp_w);
    d->rp_w = w;
    d->rp_views = v->n_views;
  }
  return true;
}

bool mf_detfit_metric_of(double *H, double M[9]) {
  double tr = H[0] + H[4] + H[8];
  if (!(tr > 0) || !isfinite(tr)) return false;
  for (int a = 0; a < 9; a++) H[a] = (1 - MF_DETFIT_METRIC_ISO) * H[a] * 3.0 / tr + MF_DETFIT_METRIC_ISO * (a % 4 == 0);
  /* M = Lᵀ with L Lᵀ = H (the Cholesky factor the solver leaves in L), so that ‖M e‖² = eᵀ H e */
  double L[9] = {0}, zero[3] = {0}, x[3];
  if (!mf_cholesky_solve_ws(H, zero, 3, x, L)) return false;
  for (int a = 0; a < 3; a++)
    for (int b = 0; b < 3; b++) M[3 * a + b] = L[3 * b + a];
  return true;
}

/* The reweighted target of point k (file doc): from the fitted point p, the per-view weights
 * c_v h'(r_v)/r_v (Huber width reproj_huber · noise_v, none beyond the gate), then
 * X = argmin Σ_v w_v ‖π_v(X) − u_v‖² by Gauss–Newton from p, and its metric from
 * H = Σ_v w_v J_vᵀ J_v at X. False (the caller keeps the triangulated target) with fewer than 2
 * views left or a failed step. */
static bool reweighted_point(mhrfit_detfit *d, const mhrfit_detfit_views *vw, size_t k, const double *p, double X[3],
                             double M[9]) {
  size_t V = vw->n_views;
  const double *uv = vw->uv + 2 * V * k, *conf = vw->conf ? vw->conf + V * k : NULL;
  double *wv = d->rp_w;
  int nv = 0;
  for (size_t v = 0; v < V; v++) {
    wv[v] = 0;
    double c = conf ? conf[v] : 1.0, q[2];
    if (!(c > 0) || !isfinite(c) || !isfinite(uv[2 * v]) || !isfinite(uv[2 * v + 1]) ||
        !mhrfit_camera_project(&vw->cams[v], p, q, NULL))
      continue;
    double r = hypot(q[0] - uv[2 * v], q[1] - uv[2 * v + 1]), delta = d->o.reproj_huber * vw->noise_px[v];
    if (!(r <= vw->gate_px)) continue;
    wv[v] = fmin(c, 1.0) * (r <= delta ? 1.0 : delta / r);
    nv++;
  }
  if (nv < 2) return false;
  double H[9];
  memcpy(X, p, 3 * sizeof *X);
  for (int it = 0; it < 4; it++) { /* Gauss–Newton; the last pass only builds H at X */
    double g[3] = {0}, q[2], J[6];
    memset(H, 0, sizeof H);
    for (size_t v = 0; v < V; v++) {
      if (wv[v] == 0) continue;
      if (!mhrfit_camera_project(&vw->cams[v], X, q, J)) return false;
      double e[2] = {q[0] - uv[2 * v], q[1] - uv[2 * v + 1]};
      for (int a = 0; a < 3; a++) {
        g[a] += wv[v] * (J[a] * e[0] + J[3 + a] * e[1]);
        for (int b = 0; b < 3; b++) H[3 * a + b] += wv[v] * (J[a] * J[b] + J[3 + a] * J[3 + b]);
      }
    }
    if (it == 3) break;
    double A[9], b[3] = {-g[0], -g[1], -g[2]}, x[3], tr = H[0] + H[4] + H[8];
    memcpy(A, H, sizeof A);
    for (int a = 0; a < 3; a++) A[4 * a] += 1e-9 * tr; /* two views that nearly coincide */
    if (!(tr > 0) || !mf_cholesky_solve(A, b, 3, x) || !finite3(x)) return false;
    for (int a = 0; a < 3; a++) X[a] += x[a];
  }
  return finite3(X) && mf_detfit_metric_of(H, M);
}

/* The reprojection refinement of a fitted frame: `reproj_rounds` times, every point with a
 * triangulated target gets its reweighted target and metric from the fitted point, and the frame
 * is fitted again from the result (the same temporal prior `prior`). A refit that fails (the same
 * points with nearby targets: rare) is replaced by the fit on the triangulated targets from the
 * last pose. `targets` (may be NULL) receives the targets of the final result (n × 3); the
 * result's residuals are its distances to the triangulated points, as without refits. */
static bool refine(mhrfit_detfit *d, const double *points, const double *w, const double *metrics,
                   const mhrfit_detfit_views *vw, const double *prior, mhrfit_fit_result *res, double *targets,
                   mhrfit_error *err) {
  size_t n = d->n;
  if (targets) memcpy(targets, points, 3 * n * sizeof *targets);
  if (!vw || d->o.reproj_rounds == 0) return true;
  double start[NP];
  for (int round = 0; round < d->o.reproj_rounds; round++) {
    size_t changed = 0;
    for (size_t k = 0; k < n; k++) {
      double *X = d->rp_points + 3 * k, *M = d->rp_metrics + 9 * k;
      const double *p = res->keypoints + 3 * k;
      bool ok = d->pw[k] > 0 && finite3(points + 3 * k) && finite3(p) && reweighted_point(d, vw, k, p, X, M);
      if (!ok) {
        memcpy(X, points + 3 * k, 3 * sizeof *X);
        for (int a = 0; a < 9; a++) M[a] = metrics ? metrics[9 * k + a] : (a % 4 == 0);
      }
      changed += ok;
    }
    if (changed == 0) break;
    memcpy(start, res->model_params, sizeof start);
    mhrfit_error rerr = {0};
    if (!fit_start(d, d->rp_points, w, d->rp_metrics, start, prior, true, "reweighted", res, &rerr)) {
      if (rerr.type == MHRFIT_ERR_NOMEM) {
        if (err) *err = rerr;
        return false;
      }
      /* the fitter's arrays must hold a result: the triangulated targets again, from the last pose */
      if (targets) memcpy(targets, points, 3 * n * sizeof *targets);
      return fit_start(d, points, w, metrics, start, prior, false, "previous result", res, err);
    }
    if (targets) memcpy(targets, d->rp_points, 3 * n * sizeof *targets);
    for (size_t k = 0; k < n; k++) {
      const double *p = res->keypoints + 3 * k, *g = points + 3 * k;
      d->rp_resid[k] = isfinite(res->residuals[k]) && finite3(g)
                           ? sqrt(pow(p[0] - g[0], 2) + pow(p[1] - g[1], 2) + pow(p[2] - g[2], 2))
                           : NAN;
    }
    res->residuals = d->rp_resid;
  }
  return true;
}

/* mhrfit_detfit_frame() before the reprojection refinement; `*prior` the temporal prior of the
 * result (d->m_prior or NULL). */
static bool frame_fit(mhrfit_detfit *d, const double *points, const double *w, const double *metrics,
                      const double *prev, bool capped, mhrfit_fit_result *res, const double **prior,
                      mhrfit_error *err) {
  bool have_prev = prev != NULL;
  for (int i = 0; have_prev && i < NP; i++) have_prev = isfinite(prev[i]);
  double *m = d->m_init;
  *prior = NULL;
  if (have_prev) {
    memcpy(m, prev, NP * sizeof *m);
    for (int i = 0; i < 6; i++) m[i] = 0;
    memcpy(m + SCALE_FIRST, d->scales, sizeof d->scales);
  } else {
    mhrfit_error lerr = {0};
    if (!limb_start(d, points, w, m, &lerr)) { /* too few points to place the body: the fit says why */
      memset(m, 0, NP * sizeof *m);
      memcpy(m + SCALE_FIRST, d->scales, sizeof d->scales);
    }
  }
  if (!fit_start(d, points, w, metrics, m, have_prev ? m : NULL, capped && have_prev,
                 have_prev ? "previous frame" : "rest pose", res, err))
    return false;
  if (have_prev) memcpy(d->m_prior, m, sizeof d->m_prior), *prior = d->m_prior;
  /* A warm start can stay in a wrong basin after a fast movement (a limb flipped about its
   * bone): when a fitted limb bone is more than 35 degrees off the triangulated one, the frame is
   * fitted again from the limb-by-limb start and the lower loss wins. */
  if (!have_prev || worst_bone_angle(d, points, w, res->keypoints) < 35.0 * 3.141592653589793 / 180.0) return true;
  d->restarts++;
  double warm_loss = res->final_loss, warm_start[NP];
  memcpy(warm_start, m, sizeof warm_start);
  mhrfit_error lerr = {0};
  if (limb_start(d, points, w, m, &lerr)) {
    mhrfit_error cerr = {0};
    if (fit_from(d, points, w, metrics, m, false, "rest pose", res, &cerr) && res->final_loss < warm_loss) {
      *prior = NULL;
      return true;
    }
  }
  /* the warm fit was better: run it again (deterministic) so that the fitter's arrays hold it */
  return fit_start(d, points, w, metrics, warm_start, warm_start, capped, "previous frame", res, err);
}

bool mhrfit_detfit_frame(mhrfit_detfit *d, const double *points, const double *weights, const double *metrics,
                         const mhrfit_detfit_views *views, const double *prev, mhrfit_fit_result *res,
                         mhrfit_error *err) {
  const double *w = weights ? weights : d->ones, *prior;
  /* with refits to follow, the warm fit is capped as they are */
  bool capped = views && d->o.reproj_rounds > 0;
  if (!views_prepare(d, views, err) || !frame_fit(d, points, w, metrics, prev, capped, res, &prior, err)) return false;
  return refine(d, points, w, metrics, views, prior, res, NULL, err); /* the refits keep the fit's prior */
}

/* ---- calibration --------------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}


/* Rest-pose segment lengths (m) of the current map at scales theta. */
static bool rest_lengths(mhrfit_detfit *d, long (*seg)[2], size_t ns, const double *theta, double *len) {
  double m[NP] = {0};
  memcpy(m + SCALE_FIRST, theta, N_SCALES * sizeof *m);
  if (!eval_kp(d, m, NULL)) return false;
  for (size_t i = 0; i < ns; i++) {
    const double *a = d->kp_cm + 3 * seg[i][0], *b = d->kp_cm + 3 * seg[i][1];
    len[i] = sqrt(pow(a[0] - b[0], 2) + pow(a[1] - b[1], 2) + pow(a[2] - b[2], 2)) / 100.0;
  }
  return true;
}

/* Step 1: scale parameters from the median segment lengths. */
static bool estimate_proportions(mhrfit_detfit *d, size_t F, const double *P, const double *W, mhrfit_error *err) {
  long seg[N_SEGMENTS][2];
  double target[N_SEGMENTS], *buf = mf_malloc_array(F ? F : 1, sizeof *buf, err);
  if (!buf) return false;
  size_t ns = 0;
  for (size_t i = 0; i < N_SEGMENTS; i++) {
    long a = kp_of(d->map, segments[i][0]), b = kp_of(d->map, segments[i][1]);
    if (a < 0 || b < 0) continue;
    size_t nb = 0;
    for (size_t f = 0; f < F; f++) {
      const double *pa = P + 3 * (f * d->n + (size_t)a), *pb = P + 3 * (f * d->n + (size_t)b);
      if (!finite3(pa) || !finite3(pb) || (W && (!(W[f * d->n + a] > 0) || !(W[f * d->n + b] > 0)))) continue;
      buf[nb++] = sqrt(pow(pa[0] - pb[0], 2) + pow(pa[1] - pb[1], 2) + pow(pa[2] - pb[2], 2));
    }
    if (nb == 0) continue;
    qsort(buf, nb, sizeof *buf, cmp_double);
    target[ns] = nb % 2 ? buf[nb / 2] : 0.5 * (buf[nb / 2 - 1] + buf[nb / 2]);
    seg[ns][0] = a;
    seg[ns][1] = b;
    ns++;
  }
  free(buf);
  d->cal.n_segments = ns;
  double len[N_SEGMENTS], len2[N_SEGMENTS], theta[N_SCALES];
  memcpy(theta, d->scales, sizeof theta);
  if (ns == 0 || !rest_lengths(d, seg, ns, theta, len)) return true; /* nothing to measure: scales stay */
  double rms0 = 0;
  for (size_t i = 0; i < ns; i++) rms0 += pow(len[i] - target[i], 2);
  d->cal.segment_rms_before_m = d->cal.segment_rms_after_m = sqrt(rms0 / (double)ns);
  const double lambda = 1e-4, h = 1e-3;
  double cost = rms0;
  for (size_t i = 0; i < N_SEG_SCALES; i++) cost += lambda * theta[seg_scales[i] - SCALE_FIRST] * theta[seg_scales[i] - SCALE_FIRST];
  double mu = 1e-3;
  for (int it = 0; it < 30; it++) {
    enum { NS = N_SEG_SCALES };
    double J[N_SEGMENTS][NS], A[NS * NS], b[NS], x[NS];
    for (size_t j = 0; j < NS; j++) {
      double th[N_SCALES];
      memcpy(th, theta, sizeof th);
      th[seg_scales[j] - SCALE_FIRST] += h;
      if (!rest_lengths(d, seg, ns, th, len2)) return true;
      for (size_t i = 0; i < ns; i++) J[i][j] = (len2[i] - len[i]) / h;
    }
    for (size_t a = 0; a < NS; a++) {
      double ta = theta[seg_scales[a] - SCALE_FIRST];
      b[a] = -lambda * ta;
      for (size_t i = 0; i < ns; i++) b[a] -= J[i][a] * (len[i] - target[i]);
      for (size_t c = 0; c < NS; c++) {
        double s = a == c ? lambda : 0;
        for (size_t i = 0; i < ns; i++) s += J[i][a] * J[i][c];
        A[a * NS + c] = s;
      }
    }
    bool accepted = false;
    for (int tries = 0; tries < 10 && !accepted; tries++) {
      double Ad[NS * NS];
      memcpy(Ad, A, sizeof Ad);
      for (size_t a = 0; a < NS; a++) Ad[a * NS + a] += mu * (A[a * NS + a] + 1e-9);
      if (!mf_cholesky_solve(Ad, b, NS, x)) {
        mu *= 10;
        continue;
      }
      double th[N_SCALES];
      memcpy(th, theta, sizeof th);
      for (size_t a = 0; a < NS; a++) {
        int p = seg_scales[a];
        th[p - SCALE_FIRST] = fmin(fmin(d->hi[p], 5.0), fmax(fmax(d->lo[p], -5.0), th[p - SCALE_FIRST] + x[a]));
      }
      double c = 0;
      if (!rest_lengths(d, seg, ns, th, len2)) return true;
      for (size_t i = 0; i < ns; i++) c += pow(len2[i] - target[i], 2);
      for (size_t a = 0; a < NS; a++) c += lambda * th[seg_scales[a] - SCALE_FIRST] * th[seg_scales[a] - SCALE_FIRST];
      if (c < cost) {
        bool small = cost - c < 1e-9;
        memcpy(theta, th, sizeof theta);
        memcpy(len, len2, sizeof len);
        cost = c;
        mu = fmax(mu / 4, 1e-9);
        accepted = true;
        if (small) it = 1000;
      } else {
        mu *= 8;
      }
    }
    if (!accepted) break;
  }
  memcpy(d->scales, theta, sizeof theta);
  double rms1 = 0;
  for (size_t i = 0; i < ns; i++) rms1 += pow(len[i] - target[i], 2);
  d->cal.segment_rms_after_m = sqrt(rms1 / (double)ns);
  return true;
}

/* The views of frame f of the sequence's views `vw` into `one`; NULL without views. */
static const mhrfit_detfit_views *frame_views(const mhrfit_detfit *d, const mhrfit_detfit_views *vw, size_t f,
                                              mhrfit_detfit_views *one) {
  if (!vw) return NULL;
  size_t b = vw->frames ? vw->frames[f] : f;
  *one = *vw;
  one->uv = vw->uv + 2 * vw->n_views * d->n * b;
  one->conf = vw->conf ? vw->conf + vw->n_views * d->n * b : NULL;
  one->frames = NULL;
  return one;
}

/* Fits the calibration frames (warm from their last pose when `have`; with the reprojection
 * refinement when `vw`, whose targets then stand for the triangulated ones; `tg` n × 3 scratch),
 * and returns the weighted RMS residual (m) of the markers. When `ohat` is not NULL, stores for
 * calibration frame i and marker k the target in the joint's frame (ohat[3 (i n + k)], cm before
 * the joint's scale), its weight (ow, 0 when not seen) and the joint's scale (os). */
static double fit_calib_frames(mhrfit_detfit *d, const size_t *frames, size_t nc, const double *P, const double *W,
                               const double *Mt, const mhrfit_detfit_views *vw, double *tg, double *poses, bool *have,
                               double *ohat, double *ow, double *os) {
  double ss = 0, sw = 0;
  for (size_t i = 0; i < nc; i++) {
    size_t f = frames[i];
    const double *p = P + 3 * d->n * f, *w = W ? W + d->n * f : d->ones, *mt = Mt ? Mt + 9 * d->n * f : NULL;
    if (ow)
      for (size_t k = 0; k < d->n; k++) ow[i * d->n + k] = 0;
    mhrfit_fit_result res;
    mhrfit_error ferr = {0};
    mhrfit_detfit_views one;
    const double *prior;
    /* the frame's own start (no temporal prior between calibration frames) */
    bool ok = have[i] ? fit_from(d, p, w, mt, poses + NP * i, false, "calibration", &res, &ferr)
                      : frame_fit(d, p, w, mt, NULL, false, &res, &prior, &ferr);
    if (!ok || !refine(d, p, w, mt, frame_views(d, vw, f, &one), NULL, &res, tg, &ferr)) continue;
    const double *g = tg;
    memcpy(poses + NP * i, res.model_params, NP * sizeof(double));
    have[i] = true;
    mhrfit_fk_pose pose = {d->R, d->t, d->s};
    if (!mhrfit_rig_fk(d->rig, res.model_params, &pose, NULL, NULL)) continue;
    for (size_t k = 0; k < d->n; k++) {
      const mhrfit_kp_rule *u = &d->map->rule[k];
      if (u->kind != MHRFIT_KP_MARKER || !finite3(g + 3 * k) || !(w[k] > 0) || !isfinite(res.residuals[k])) continue;
      ss += w[k] * res.residuals[k] * res.residuals[k];
      sw += w[k];
      if (!ohat) continue;
      /* the target in the joint's frame: R_jᵀ (y − t_j) / s_j, y the target in native cm */
      const mhrfit_similarity *S = &res.sim_fit;
      const double *gk = g + 3 * k;
      double q[3], y[3], v[3] = {gk[0] - S->t[0], gk[1] - S->t[1], gk[2] - S->t[2]};
      for (int a = 0; a < 3; a++) q[a] = (S->R[a] * v[0] + S->R[3 + a] * v[1] + S->R[6 + a] * v[2]) / S->s;
      mhrfit_sam3d_to_mhr(q, y);
      int j = u->joint;
      const double *R = d->R + 9 * j, *t = d->t + 3 * j;
      double e[3] = {y[0] - t[0], y[1] - t[1], y[2] - t[2]};
      size_t ik = i * d->n + k;
      for (int a = 0; a < 3; a++) ohat[3 * ik + a] = (R[a] * e[0] + R[3 + a] * e[1] + R[6 + a] * e[2]) / d->s[j];
      ow[ik] = w[k];
      os[ik] = d->s[j] * S->s;
    }
  }
  return sw > 0 ? sqrt(ss / sw) : NAN;
}

/* The offset of marker k from the calibration frames' targets in its joint's frame: the minimiser
 * of Σ_f w_f h(s_f ‖o − ô_f‖ / 100) + λ ‖o − o_default‖² / 2 (s_f ‖·‖ / 100: the distance in
 * metres; h the frame fit's Huber loss, δ = huber_m), by iteratively reweighted least squares from
 * the current offset, so that the frames where the triangulation took a wrong point pull by at
 * most δ each instead of their whole error. */
static void robust_offset(const mhrfit_detfit *d, size_t k, size_t nc, const double *ohat, const double *ow,
                          const double *os, double lam, double o[3]) {
  const double *o0 = d->def_offsets + 3 * k, delta = d->o.fit.huber_m;
  memcpy(o, d->offsets + 3 * k, 3 * sizeof *o);
  for (int it = 0; it < 20; it++) {
    double acc[3] = {lam * o0[0], lam * o0[1], lam * o0[2]}, accw = lam + 1e-12, step = 0;
    for (size_t i = 0; i < nc; i++) {
      size_t ik = i * d->n + k;
      if (!(ow[ik] > 0)) continue;
      const double *q = ohat + 3 * ik;
      double r = os[ik] / 100.0 * sqrt(pow(q[0] - o[0], 2) + pow(q[1] - o[1], 2) + pow(q[2] - o[2], 2));
      double c = ow[ik] * (r <= delta ? 1.0 : delta / r);
      for (int a = 0; a < 3; a++) acc[a] += c * q[a];
      accw += c;
    }
    for (int a = 0; a < 3; a++) {
      double v = acc[a] / accw;
      step = fmax(step, fabs(v - o[a]));
      o[a] = v;
    }
    if (step < 1e-4) break; /* cm */
  }
}

bool mhrfit_detfit_calibrate(mhrfit_detfit *d, size_t F, const double *P, const double *W, const double *Mt,
                             const mhrfit_detfit_views *vw, mhrfit_error *err) {
  double t0 = mf_now_seconds();
  if (!views_prepare(d, vw, err)) return false;
  int min_pts = d->o.fit.min_valid_points < 3 ? 3 : d->o.fit.min_valid_points;
  size_t usable = 0;
  for (size_t f = 0; f < F; f++) {
    int n = 0;
    for (size_t k = 0; k < d->n; k++) n += d->pw[k] > 0 && finite3(P + 3 * (f * d->n + k));
    usable += n >= min_pts;
  }
  if (usable == 0)
    return MHRFIT_FAIL(err, MHRFIT_ERR_NUMERIC,
                       "calibration: no frame of %zu has %d finite triangulated keypoints with an MHR counterpart", F,
                       min_pts);
  if (d->o.estimate_proportions && !estimate_proportions(d, F, P, W, err)) return false;
  d->cal.n_calib_frames = 0;
  if (!d->o.calibrate_markers) {
    memcpy(d->cal.scales, d->scales, sizeof d->scales);
    d->cal.seconds = mf_now_seconds() - t0;
    return true;
  }
  size_t nc = usable < (size_t)d->o.calib_frames ? usable : (size_t)d->o.calib_frames;
  size_t *frames = mf_malloc_array(nc, sizeof *frames, err);
  double *poses = mf_malloc_array(nc * NP, sizeof *poses, err);
  bool *have = mf_calloc_array(nc, sizeof *have, err);
  double *ohat = mf_malloc_array(3 * nc * d->n, sizeof *ohat, err), *ow = mf_malloc_array(nc * d->n, sizeof *ow, err);
  double *os = mf_malloc_array(nc * d->n, sizeof *os, err), *tg = mf_malloc_array(3 * d->n, sizeof *tg, err);
  bool ok = frames && poses && have && ohat && ow && os && tg;
  if (ok) { /* usable frames spread evenly */
    size_t u = 0, i = 0;
    for (size_t f = 0; f < F && i < nc; f++) {
      int n = 0;
      for (size_t k = 0; k < d->n; k++) n += d->pw[k] > 0 && finite3(P + 3 * (f * d->n + k));
      if (n < min_pts) continue;
      if (u * nc / usable == i) frames[i++] = f;
      u++;
    }
    nc = i;
    d->cal.n_calib_frames = (int)nc;
  }
  for (int round = 0; ok && round < d->o.calib_rounds; round++) {
    double rms = fit_calib_frames(d, frames, nc, P, W, Mt, vw, tg, poses, have, ohat, ow, os);
    if (round == 0) d->cal.marker_rms_before_m = rms;
    double lam = d->o.offset_prior, cap = d->o.max_offset_change_cm;
    for (size_t k = 0; k < d->n; k++) {
      if (d->map->rule[k].kind != MHRFIT_KP_MARKER) continue;
      const double *o0 = d->def_offsets + 3 * k;
      double o[3], dn = 0;
      robust_offset(d, k, nc, ohat, ow, os, lam, o);
      for (int a = 0; a < 3; a++) dn += (o[a] - o0[a]) * (o[a] - o0[a]);
      dn = sqrt(dn);
      double f = dn > cap ? cap / dn : 1.0;
      for (int a = 0; a < 3; a++) d->offsets[3 * k + a] = isfinite(o[a]) ? o0[a] + f * (o[a] - o0[a]) : o0[a];
    }
    ok = rebuild(d, err);
  }
  if (ok && d->o.calib_rounds > 0)
    d->cal.marker_rms_after_m = fit_calib_frames(d, frames, nc, P, W, Mt, vw, tg, poses, have, NULL, NULL, NULL);
  free(frames), free(poses), free(have), free(ohat), free(ow), free(os), free(tg);
  if (!ok) return false;
  memcpy(d->cal.scales, d->scales, sizeof d->scales);
  d->cal.seconds = mf_now_seconds() - t0;
  return true;
}

bool mhrfit_detfit_sequence(mhrfit_detfit *d, size_t F, const double *points, const double *weights,
                            const double *metrics, const mhrfit_detfit_views *views, mhrfit_detfit_frame_cb cb,
                            void *user, mhrfit_error *err) {
  if (!views_prepare(d, views, err)) return false;
  if ((d->o.estimate_proportions || d->o.calibrate_markers) &&
      !mhrfit_detfit_calibrate(d, F, points, weights, metrics, views, err))
    return false;
  double prev[NP];
  long prev_f = -1;
  for (size_t f = 0; f < F; f++) {
    bool use_prev = prev_f >= 0 && (long)f - prev_f <= d->o.max_stale_frames;
    mhrfit_fit_result res;
    mhrfit_error ferr = {0};
    mhrfit_detfit_views one;
    bool ok = mhrfit_detfit_frame(d, points + 3 * d->n * f, weights ? weights + d->n * f : NULL,
                                  metrics ? metrics + 9 * d->n * f : NULL, frame_views(d, views, f, &one),
                                  use_prev ? prev : NULL, &res, &ferr);
    if (!ok && (ferr.type == MHRFIT_ERR_NOMEM || ferr.type == MHRFIT_ERR_ARGUMENT)) {
      if (err) *err = ferr;
      return false;
    }
    if (ok && res.status == MHRFIT_FIT_OK) {
      memcpy(prev, res.model_params, sizeof prev);
      prev_f = (long)f;
    }
    if (cb && !cb(user, f, ok ? &res : NULL, &ferr))
      return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "detector fit: stopped at frame %zu", f);
  }
  return true;
}
