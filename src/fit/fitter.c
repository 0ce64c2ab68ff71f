/* Stage 3: fitting MHR to triangulated keypoints. The objective, the solvers and the frame logic
 * are described in include/mhrfit/fit.h; ORIGINAL.md §5 gives the original they fix. */
#include "mhrfit/fit.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "common/spchol.h"
#include "mhrfit/camera.h"
#include "mhrfit/param_sets.h"
#include "mhrfit/sam3d.h"

#define NP MHRFIT_N_MODEL_PARAMS
#define BODY_FIRST 6     /* model parameters 6..135 = body_pose_params 0..129 */
#define BODY_END 136
#define HAND_FIRST 68    /* finger angles 68..121 = body_pose_params 62..115 */
#define HAND_END 122
#define FLEX_FIRST 130  /* the flexible lengths 130..135 (spine, neck, shoulders, arms, hips, legs) */
#define SCALE_FIRST 136
#define NT_MAX (NP + 7)  /* free dimensions and similarity increments */
#define GROUP_MAX 6      /* points per Jacobian group */
#define GROUP_ROWS (3 * GROUP_MAX)
#define GROUP_SLACK 8    /* columns a group's leader may have beyond a member's */
#define WORDS ((NT_MAX + 63) / 64)

/* MHR70 anchors of the similarity: left_hip, right_hip, neck, left_acromion, right_acromion. */
static bool is_anchor(int k) { return k == 9 || k == 10 || k == 69 || k == 67 || k == 68; }

double mhrfit_fit_semantic_weight(int k) {
  if (k < 0 || k >= 70) return 1.0;
  if (k <= 4) return 0.05;              /* face */
  if (k == 5 || k == 6) return 0.25;    /* shoulders */
  if (k == 7 || k == 8) return 0.6;     /* elbows */
  if (k == 9 || k == 10) return 0.15;   /* hips */
  if (k <= 20) return 0.10;             /* knees, ankles, feet */
  if (k == 41 || k == 62) return 0.6;   /* wrists */
  if (k <= 61) return 1.0;              /* fingers */
  if (k <= 68) return 0.25;             /* olecranon, cubital fossa, acromion */
  return 0.15;                          /* neck */
}

void mhrfit_fit_options_init(mhrfit_fit_options *o) {
  memset(o, 0, sizeof *o);
  o->solver = MHRFIT_SOLVER_LM;
  o->iters = 0;
  o->with_scale = true;
  o->anchor_similarity = true;
  o->optimize_hand_pose = true;
  o->huber_m = 0.03;
  o->w_pose_reg = 1e-3;
  o->w_temporal = 3e-3;
  o->w_hand_reg = 1e-3;
  o->temporal_init_blend = 0.7;
  o->min_valid_points = 6;
  o->zero_weight_strategy = MHRFIT_ZW_UNIFORM_FINITE;
  o->rel_tol = 1e-5;
  o->grad_tol = 1e-10;
  o->lr = 0.05;
  o->min_iters = 50;
  o->early_stop_patience = 60;
  o->early_stop_tol = 1e-6;
  o->loss_divergence_ratio = 3.0;
  o->bad_loss_threshold = 3e-3;
  o->bad_data_loss_threshold = 2.5e-3;
  o->bad_loss_growth_ratio = 1.5;
  o->sim_reuse_tol_m = 0.01;
}

int mhrfit_fit_options_iter_cap(const mhrfit_fit_options *o) {
  return o->iters ? o->iters : o->solver == MHRFIT_SOLVER_ADAM ? 200 : 50;
}

struct mhrfit_fitter {
  const mhrfit_rig *rig;
  mhrfit_fit_options o;
  const mhrfit_kpmap *user_map; /* borrowed */
  mhrfit_kpmap *own_map;        /* MHR70 map, re-calibrated per view */
  mhrfit_kpmap *map;            /* the map in use (own_map or a clone of user_map) */
  bool markers_locked;          /* calibrate_markers_once: own_map calibrated, keep it */
  size_t nj, nk, nnz;
  double *R, *t, *s, *jp;       /* FK state */
  double *kp_cm, *J;            /* keypoints (native cm) and their Jacobian */
  /* per frame */
  const mhrfit_fit_frame *fr;
  size_t cap_points, cap_views, cap_iters;
  double *pred, *aw, *lw, *d, *c, *resid;
  unsigned char *ok; /* per target: target and prediction finite (set by predict) */
  double *view_scores;
  unsigned char *view_skipped;
  double *hist, *dhist;
  double ref[NP], prev[NP];
  bool has_prev;
  int nfree, free_idx[NP], free_pos[NP];
  double reg_w[NP], temp_w[NP]; /* per-dimension quadratic weights of the regularisers */
  double *H, *g, *delta, *adam_m, *adam_v;
  /* The LM normal equations. Points whose Jacobian columns (over the free dimensions and the
   * similarity) are a subset of a leader point's, with at most GROUP_SLACK fewer, are stacked into
   * one group (up to GROUP_MAX points) sharing the leader's columns, so JᵀCJ is accumulated by
   * groups of up to 3·GROUP_MAX rows. H (nt × nt) is in the pivot order of the sparse Cholesky
   * factorisation `chol`, analysed once for the structure. All of it is rebuilt only when the
   * structure key (free dimensions, the points' keypoints and their map columns) changes. */
  int *lin_key;
  size_t lin_key_len, lin_key_cap;
  mf_spchol chol;
  int n_groups;
  int *grp_first, *grp_ncols, *grp_col0; /* per group: first member, column count, first column */
  int *grp_pts;                          /* members (point indices), by group */
  int *grp_var, *grp_piv;                /* per group column: variable (free position or nf + similarity
                                            increment) and its pivot position, ascending */
  int *grp_src;  /* per member and group column: column of the member's keypoint block, -1 when the
                    member does not depend on it, -2 - c for similarity increment c */
  int *grp_src0; /* per member: its first grp_src entry */
  double *G, *Gd; /* scratch: one group's weighted Jacobian rows and residuals (see linearize()) */
  /* outputs */
  double *kp_world, *joints_world, *rots_world, *verts_rest, *verts_cm, *verts_world;
};

typedef struct eval_out {
  double loss, data;
  int n_valid;
  bool uniform;
  mhrfit_similarity sim;
} eval_out;

void mhrfit_fitter_free(mhrfit_fitter *f) {
  if (!f) return;
  mhrfit_kpmap_free(f->own_map);
  if (f->map != f->own_map) mhrfit_kpmap_free(f->map);
  free(f->R), free(f->t), free(f->s), free(f->jp), free(f->kp_cm), free(f->J);
  free(f->pred), free(f->aw), free(f->lw), free(f->d), free(f->c), free(f->resid), free(f->ok);
  free(f->view_scores), free(f->view_skipped), free(f->hist), free(f->dhist);
  free(f->H), free(f->g), free(f->delta), free(f->adam_m), free(f->adam_v);
  free(f->lin_key), free(f->grp_first), free(f->grp_ncols), free(f->grp_col0), free(f->grp_pts), free(f->grp_var),
      free(f->grp_piv), free(f->grp_src), free(f->grp_src0), free(f->G), free(f->Gd);
  mf_spchol_free(&f->chol);
  free(f->kp_world), free(f->joints_world), free(f->rots_world), free(f->verts_rest), free(f->verts_cm),
      free(f->verts_world);
  free(f);
}

bool mhrfit_fit_options_check(const mhrfit_fit_options *o, mhrfit_error *err) {
  struct { const char *name; double v; bool positive; } nums[] = {
      {"huber_m", o->huber_m, true},         {"w_pose_reg", o->w_pose_reg, false},
      {"w_temporal", o->w_temporal, false},  {"w_hand_reg", o->w_hand_reg, false},
      {"temporal_init_blend", o->temporal_init_blend, false}, {"rel_tol", o->rel_tol, false},
      {"grad_tol", o->grad_tol, false},      {"lr", o->lr, true},
      {"early_stop_tol", o->early_stop_tol, false}, {"loss_divergence_ratio", o->loss_divergence_ratio, false},
      {"bad_loss_threshold", o->bad_loss_threshold, false},
      {"bad_data_loss_threshold", o->bad_data_loss_threshold, false},
      {"bad_loss_growth_ratio", o->bad_loss_growth_ratio, false}};
  for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
    double v = nums[i].v;
    if (!isfinite(v) || v < 0 || (nums[i].positive && v == 0))
      return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "fit option %s = %g: must be a finite %s number", nums[i].name, v,
                         nums[i].positive ? "positive" : "non-negative");
  }
  if (o->temporal_init_blend > 1)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "fit option temporal_init_blend = %g: must be in [0, 1]",
                       o->temporal_init_blend);
  if (o->loss_divergence_ratio < 1 || o->bad_loss_growth_ratio < 1)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "fit option %s = %g: a ratio of losses must be >= 1",
                       o->loss_divergence_ratio < 1 ? "loss_divergence_ratio" : "bad_loss_growth_ratio",
                       o->loss_divergence_ratio < 1 ? o->loss_divergence_ratio : o->bad_loss_growth_ratio);
  if (!isfinite(o->sim_reuse_tol_m))
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "fit option sim_reuse_tol_m = %g: must be finite (<= 0 disables)",
                       o->sim_reuse_tol_m);
  if (o->iters < 0 || o->iters > 100000)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "fit option iters = %d: must be in 0..100000", o->iters);
  if (o->min_iters < 0 || o->early_stop_patience < 0)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "fit options min_iters and early_stop_patience must be >= 0");
  if (o->solver != MHRFIT_SOLVER_LM && o->solver != MHRFIT_SOLVER_ADAM)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "fit option solver: unknown value %d", (int)o->solver);
  if (o->zero_weight_strategy != MHRFIT_ZW_UNIFORM_FINITE && o->zero_weight_strategy != MHRFIT_ZW_FAIL)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "fit option zero_weight_strategy: unknown value %d",
                       (int)o->zero_weight_strategy);
  return true;
}

mhrfit_fitter *mhrfit_fitter_new(const mhrfit_rig *rig, const mhrfit_kpmap *map, const mhrfit_fit_options *o,
                                 mhrfit_error *err) {
  mhrfit_fit_options def;
  if (!o) {
    mhrfit_fit_options_init(&def);
    o = &def;
  }
  if (!mhrfit_fit_options_check(o, err)) return NULL;
  if (rig->n_params != NP) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "fit: the rig has %zu model parameters, expected %d", rig->n_params, NP);
    return NULL;
  }
  mhrfit_fitter *f = mf_calloc_array(1, sizeof *f, err);
  if (!f) return NULL;
  f->rig = rig;
  f->o = *o;
  f->user_map = map;
  f->nj = rig->n_joints;
  f->own_map = mhrfit_kpmap_new_mhr70(rig, err);
  if (!f->own_map) goto fail;
  f->map = map ? mhrfit_kpmap_clone(map, err) : f->own_map;
  if (!f->map) goto fail;
  f->nk = f->map->n_keypoints;
  size_t nv = rig->n_vertices ? rig->n_vertices : 1;
  f->R = mf_malloc_array(9 * f->nj, sizeof *f->R, err);
  f->t = mf_malloc_array(3 * f->nj, sizeof *f->t, err);
  f->s = mf_malloc_array(f->nj, sizeof *f->s, err);
  f->jp = mf_malloc_array(7 * f->nj, sizeof *f->jp, err);
  f->kp_cm = mf_malloc_array(3 * (f->nk > 70 ? f->nk : 70), sizeof *f->kp_cm, err);
  f->H = mf_calloc_array(NT_MAX * NT_MAX, sizeof *f->H, err);
  f->g = mf_malloc_array(NT_MAX, sizeof *f->g, err);
  f->delta = mf_malloc_array(NT_MAX, sizeof *f->delta, err);
  f->G = mf_malloc_array(GROUP_ROWS * (NT_MAX + 3), sizeof *f->G, err);
  f->Gd = mf_malloc_array(GROUP_ROWS, sizeof *f->Gd, err);
  f->adam_m = mf_malloc_array(NP, sizeof *f->adam_m, err);
  f->adam_v = mf_malloc_array(NP, sizeof *f->adam_v, err);
  f->kp_world = mf_malloc_array(3 * (f->nk > 70 ? f->nk : 70), sizeof *f->kp_world, err);
  f->joints_world = mf_malloc_array(3 * f->nj, sizeof *f->joints_world, err);
  f->rots_world = mf_malloc_array(9 * f->nj, sizeof *f->rots_world, err);
  f->verts_rest = mf_malloc_array(3 * nv, sizeof *f->verts_rest, err);
  f->verts_cm = mf_malloc_array(3 * nv, sizeof *f->verts_cm, err);
  f->verts_world = mf_malloc_array(3 * nv, sizeof *f->verts_world, err);
  if (!f->R || !f->t || !f->s || !f->jp || !f->kp_cm || !f->H || !f->G || !f->Gd || !f->g || !f->delta || !f->adam_m ||
      !f->adam_v || !f->kp_world || !f->joints_world || !f->rots_world || !f->verts_rest || !f->verts_cm ||
      !f->verts_world)
    goto fail;
  return f;
fail:
  mhrfit_fitter_free(f);
  return NULL;
}

/* Grows the per-frame buffers. */
static bool reserve(mhrfit_fitter *f, size_t n_points, size_t n_views, size_t n_iters, mhrfit_error *err) {
  if (n_points > f->cap_points) {
    double **bufs[] = {&f->pred, &f->aw, &f->lw, &f->d, &f->c, &f->resid};
    size_t mult[] = {3, 1, 1, 3, 1, 1};
    for (size_t i = 0; i < 6; i++) {
      free(*bufs[i]);
      *bufs[i] = mf_malloc_array(mult[i] * n_points, sizeof(double), err);
      if (!*bufs[i]) return false;
    }
    free(f->ok);
    f->ok = mf_malloc_array(n_points, sizeof *f->ok, err);
    if (!f->ok) return false;
    f->cap_points = n_points;
  }
  if (n_views > f->cap_views) {
    free(f->view_scores);
    free(f->view_skipped);
    f->view_scores = mf_malloc_array(n_views, sizeof *f->view_scores, err);
    f->view_skipped = mf_malloc_array(n_views, sizeof *f->view_skipped, err);
    if (!f->view_scores || !f->view_skipped) return false;
    f->cap_views = n_views;
  }
  if (n_iters > f->cap_iters) {
    free(f->hist);
    free(f->dhist);
    f->hist = mf_malloc_array(n_iters, sizeof *f->hist, err);
    f->dhist = mf_malloc_array(n_iters, sizeof *f->dhist, err);
    if (!f->hist || !f->dhist) return false;
    f->cap_iters = n_iters;
  }
  return true;
}

/* Re-points the Jacobian buffer at the current map's size. */
static bool set_map(mhrfit_fitter *f, mhrfit_error *err) {
  size_t nnz = f->map->col_start[f->map->n_keypoints];
  if (nnz > f->nnz || !f->J) {
    free(f->J);
    f->J = mf_malloc_array(3 * (nnz ? nnz : 1), sizeof *f->J, err);
    if (!f->J) return false;
    f->nnz = nnz;
  }
  return true;
}

/* v ← M v for a 3 × 3 row-major M (the data metric of a point, fit.h). */
static inline void metric_apply(const double *M, double *v) {
  double x = v[0], y = v[1], z = v[2];
  for (int a = 0; a < 3; a++) v[a] = M[3 * a] * x + M[3 * a + 1] * y + M[3 * a + 2] * z;
}

static inline double huber(double r, double delta) { return r <= delta ? 0.5 * r * r : delta * (r - 0.5 * delta); }

/* Sanitised weights (ORIGINAL.md §5.2, seed B1/B2/B5): w[i] for valid points, 0 elsewhere; the
 * uniform fallback or a failure when fewer than the minimum remain. Returns the count or -1. */
static int sanitize(mhrfit_fitter *f, const double *base, bool use_semantic, double *w, bool *uniform,
                    mhrfit_error *err) {
  const mhrfit_fit_frame *fr = f->fr;
  int min_pts = f->o.min_valid_points < 3 ? 3 : f->o.min_valid_points, n = 0, n_ok = 0;
  for (size_t i = 0; i < fr->n_points; i++) {
    double sem = !use_semantic ? 1.0 : fr->point_weight ? fr->point_weight[i] : mhrfit_fit_semantic_weight(fr->kp_index[i]);
    if (!isfinite(sem) || sem < 0) sem = 0;
    bool ok = f->ok[i] && sem > 1e-8;
    double wi = base ? base[i] : 1.0;
    if (!isfinite(wi)) wi = 0;
    wi = wi < 0 ? 0 : wi > 1 ? 1 : wi;
    w[i] = ok ? wi * sem : 0.0;
    n_ok += ok;
    n += w[i] > 1e-8;
    if (!(w[i] > 1e-8)) w[i] = 0;
  }
  *uniform = false;
  if (n >= min_pts) return n;
  if (f->o.zero_weight_strategy == MHRFIT_ZW_FAIL) {
    MHRFIT_FAIL(err, MHRFIT_ERR_NUMERIC,
                "insufficient valid weighted points: %d of %zu (minimum %d; %d finite) and zero_weight_strategy=fail", n,
                fr->n_points, min_pts, n_ok);
    return -1;
  }
  if (n_ok < min_pts) {
    MHRFIT_FAIL(err, MHRFIT_ERR_NUMERIC, "insufficient finite points: %d of %zu (minimum %d)", n_ok, fr->n_points,
                min_pts);
    return -1;
  }
  for (size_t i = 0; i < fr->n_points; i++) {
    double sem = fr->point_weight ? fr->point_weight[i] : mhrfit_fit_semantic_weight(fr->kp_index[i]);
    w[i] = f->ok[i] && (!use_semantic || sem > 1e-8) ? 1.0 : 0.0;
  }
  *uniform = true;
  return n_ok;
}

/* Predicted keypoints of the targets (SAM 3D Body axes, metres) at model parameters m. */
static bool predict(mhrfit_fitter *f, const double *m, mhrfit_error *err) {
  mhrfit_fk_pose pose = {f->R, f->t, f->s};
  if (!mhrfit_rig_fk(f->rig, m, &pose, f->jp, err)) return false;
  mhrfit_kpmap_eval(f->map, &pose, f->kp_cm);
  for (size_t i = 0; i < f->fr->n_points; i++) {
    const double *g = f->fr->targets + 3 * i, *p = f->pred + 3 * i;
    mhrfit_mhr_to_sam3d(f->kp_cm + 3 * f->fr->kp_index[i], f->pred + 3 * i);
    f->ok[i] = isfinite(g[0]) && isfinite(g[1]) && isfinite(g[2]) && isfinite(p[0]) && isfinite(p[1]) && isfinite(p[2]);
    for (int a = 0; f->fr->metric && f->ok[i] && a < 9; a++) f->ok[i] = isfinite(f->fr->metric[9 * i + a]);
  }
  return true;
}

/* Target i is an anchor of the similarity: the frame's flags, else the MHR70 anchors. */
static bool point_is_anchor(const mhrfit_fit_frame *fr, size_t i) {
  return fr->anchor ? fr->anchor[i] != 0 : is_anchor(fr->kp_index[i]);
}

/* The similarity from the alignment set: anchors when at least 3 are valid, else all valid points. */
static bool fit_similarity(mhrfit_fitter *f, mhrfit_similarity *sim, mhrfit_error *err) {
  const mhrfit_fit_frame *fr = f->fr;
  if (f->o.anchor_similarity) {
    int na = 0;
    for (size_t i = 0; i < fr->n_points; i++) na += f->aw[i] > 0 && point_is_anchor(fr, i);
    if (na >= 3) {
      for (size_t i = 0; i < fr->n_points; i++) f->c[i] = point_is_anchor(fr, i) ? f->aw[i] : 0.0;
      return mhrfit_similarity_fit(f->pred, fr->targets, f->c, fr->n_points, f->o.with_scale, sim, err);
    }
  }
  return mhrfit_similarity_fit(f->pred, fr->targets, f->aw, fr->n_points, f->o.with_scale, sim, err);
}

/* Regularisers at m; adds their gradient to g and their (Gauss–Newton) Hessian diagonal to hd, both
 * indexed by free position, when they are not NULL. */
static double regularisers(mhrfit_fitter *f, const double *m, double *g, double *hd) {
  double L = 0;
  for (int i = BODY_FIRST; i < BODY_END; i++) {
    double a = f->reg_w[i], b = f->temp_w[i];
    if (a == 0 && b == 0) continue;
    double dr = m[i] - f->ref[i], dt = f->has_prev ? m[i] - f->prev[i] : 0;
    L += a * dr * dr + b * dt * dt;
    int p = f->free_pos[i];
    if (p < 0) continue;
    if (g) g[p] += 2 * (a * dr + b * dt);
    if (hd) hd[p] += 2 * (a + b);
  }
  return L;
}

/* The objective at m (see fit.h). With `g` set, also the gradient and Gauss–Newton Hessian over
 * the free dimensions (H may be NULL for the gradient only). */
static bool evaluate(mhrfit_fitter *f, const double *m, const mhrfit_similarity *sim_in, eval_out *e,
                     mhrfit_error *err) {
  const mhrfit_fit_frame *fr = f->fr;
  if (!predict(f, m, err)) return false;
  bool u1, u2;
  if (sanitize(f, fr->inlier_weight, false, f->aw, &u1, err) < 0) return false;
  int n = sanitize(f, fr->inlier_weight, true, f->lw, &u2, err);
  if (n < 0) return false;
  if (sim_in) e->sim = *sim_in;
  else if (!fit_similarity(f, &e->sim, err)) return false;
  e->n_valid = n;
  e->uniform = u1 || u2;
  double W = 0, data = 0, delta = f->o.huber_m;
  for (size_t i = 0; i < fr->n_points; i++) W += f->lw[i];
  for (size_t i = 0; i < fr->n_points; i++) {
    if (f->lw[i] == 0) {
      f->c[i] = 0;
      continue;
    }
    double q[3], *d = f->d + 3 * i;
    mhrfit_similarity_apply(&e->sim, f->pred + 3 * i, q);
    for (int a = 0; a < 3; a++) d[a] = q[a] - fr->targets[3 * i + a];
    if (fr->metric) metric_apply(fr->metric + 9 * i, d);
    double r = sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2] + 1e-12);
    data += f->lw[i] * huber(r, delta);
    f->c[i] = f->lw[i] / (W + 1e-9) * (r <= delta ? 1.0 : delta / r); /* IRLS factor */
  }
  e->data = data / (W + 1e-9);
  e->loss = e->data + regularisers(f, m, NULL, NULL);
  return true;
}

/* World Jacobian of a keypoint: (s/100) R F J_native with F = diag(1, -1, -1) (mhrfit_mhr_to_sam3d). */
static void world_jacobian_factor(const mhrfit_similarity *sim, double A[9]) {
  for (int a = 0; a < 3; a++)
    for (int b = 0; b < 3; b++) A[3 * a + b] = sim->s / 100.0 * sim->R[3 * a + b] * (b == 0 ? 1.0 : -1.0);
}

/* Gradient g of the objective over the free dimensions at the state left by the last evaluate()
 * of m, which gave `e` (the similarity is re-fitted at every evaluation, so it has no increments). */
static void gradient(mhrfit_fitter *f, const double *m, const eval_out *e, double *g) {
  const mhrfit_fit_frame *fr = f->fr;
  memset(g, 0, (size_t)f->nfree * sizeof *g);
  regularisers(f, m, g, NULL);
  mhrfit_fk_pose pose = {f->R, f->t, f->s};
  mhrfit_kpmap_jacobian(f->map, f->rig, &pose, f->jp, f->J);
  double A[9];
  world_jacobian_factor(&e->sim, A);
  for (size_t i = 0; i < fr->n_points; i++) {
    if (f->c[i] == 0) continue;
    size_t k = (size_t)fr->kp_index[i], c0 = f->map->col_start[k], nc = f->map->col_start[k + 1] - c0;
    const double *B = f->J + 3 * c0, *d0 = f->d + 3 * i;
    double d[3] = {d0[0], d0[1], d0[2]};
    if (fr->metric) { /* f->d holds M e: the gradient wants (M A B)ᵀ M e = (A B)ᵀ Mᵀ M e */
      const double *M = fr->metric + 9 * i;
      for (int a = 0; a < 3; a++) d[a] = M[a] * d0[0] + M[3 + a] * d0[1] + M[6 + a] * d0[2];
    }
    for (size_t cc = 0; cc < nc; cc++) {
      int p = f->free_pos[f->map->cols[c0 + cc]];
      if (p < 0) continue;
      double s = 0;
      for (int a = 0; a < 3; a++)
        s += (A[3 * a] * B[cc] + A[3 * a + 1] * B[nc + cc] + A[3 * a + 2] * B[2 * nc + cc]) * d[a];
      g[p] += f->c[i] * s;
    }
  }
}

/* Appends v to the structure key. */
static bool key_push(mhrfit_fitter *f, int v, mhrfit_error *err) {
  if (f->lin_key_len == f->lin_key_cap) {
    void *p = f->lin_key;
    if (!mf_grow(&p, &f->lin_key_cap, f->lin_key_len + 1, sizeof *f->lin_key, err)) return false;
    f->lin_key = p;
  }
  f->lin_key[f->lin_key_len++] = v;
  return true;
}

/* The variables (free positions, then nf + similarity increment) a point's keypoint depends on, as
 * a bit set; returns their count, or -1 for an undefined keypoint (never valid). */
static int point_vars(const mhrfit_fitter *f, int k, int ns, uint64_t bits[WORDS]) {
  memset(bits, 0, WORDS * sizeof *bits);
  if (!mhrfit_kpmap_defined(f->map, (size_t)k)) return -1;
  int n = 0;
  for (size_t c = f->map->col_start[k]; c < f->map->col_start[k + 1]; c++) {
    int p = f->free_pos[f->map->cols[c]];
    if (p < 0) continue;
    bits[p / 64] |= (uint64_t)1 << (p % 64);
    n++;
  }
  for (int c = 0; c < ns; c++) bits[(f->nfree + c) / 64] |= (uint64_t)1 << ((f->nfree + c) % 64);
  return n + ns;
}

/* Builds (when the structure changed) the point groups and the sparse factorisation's analysis of
 * the LM normal equations with ns similarity increments. */
static bool lin_plan(mhrfit_fitter *f, int ns, mhrfit_error *err) {
  const mhrfit_fit_frame *fr = f->fr;
  const mhrfit_kpmap *map = f->map;
  int nf = f->nfree, nt = nf + ns, np = (int)fr->n_points;
  /* the key: everything the structure depends on; its old value follows the new one in lin_key */
  size_t old_len = f->lin_key_len;
  bool ok = key_push(f, ns, err) && key_push(f, nf, err) && key_push(f, np, err);
  for (int i = 0; ok && i < nf; i++) ok = key_push(f, f->free_idx[i], err);
  for (int i = 0; ok && i < np; i++) {
    int k = fr->kp_index[i];
    ok = key_push(f, k, err) && key_push(f, mhrfit_kpmap_defined(map, (size_t)k), err) &&
         key_push(f, (int)(map->col_start[k + 1] - map->col_start[k]), err);
    for (size_t c = map->col_start[k]; ok && c < map->col_start[k + 1]; c++) ok = key_push(f, map->cols[c], err);
  }
  if (!ok) return false;
  size_t new_len = f->lin_key_len - old_len;
  if (f->chol.n == nt && old_len == new_len &&
      memcmp(f->lin_key, f->lin_key + old_len, old_len * sizeof *f->lin_key) == 0) {
    f->lin_key_len = old_len;
    return true;
  }
  memmove(f->lin_key, f->lin_key + old_len, new_len * sizeof *f->lin_key);
  f->lin_key_len = new_len;
  f->chol.n = 0; /* invalid until the end */
  size_t unp = np ? (size_t)np : 1;
  uint64_t(*bits)[WORDS] = mf_malloc_array(unp, sizeof *bits, err);
  int *cnt = mf_malloc_array(unp, sizeof *cnt, err), *order = mf_malloc_array(unp, sizeof *order, err);
  int *group = mf_malloc_array(unp, sizeof *group, err), *leader = mf_malloc_array(unp, sizeof *leader, err);
  int *size = mf_calloc_array(unp, sizeof *size, err);
  unsigned char *pattern = mf_calloc_array((size_t)nt * (size_t)nt, 1, err);
  free(f->grp_first), free(f->grp_ncols), free(f->grp_col0), free(f->grp_pts), free(f->grp_var), free(f->grp_piv);
  free(f->grp_src), free(f->grp_src0);
  f->grp_first = mf_malloc_array(unp + 1, sizeof(int), err);
  f->grp_ncols = mf_malloc_array(unp, sizeof(int), err);
  f->grp_col0 = mf_malloc_array(unp + 1, sizeof(int), err);
  f->grp_pts = mf_malloc_array(unp, sizeof(int), err);
  f->grp_var = mf_malloc_array(unp * (size_t)nt, sizeof(int), err);
  f->grp_piv = mf_malloc_array(unp * (size_t)nt, sizeof(int), err);
  f->grp_src = mf_malloc_array(unp * (size_t)nt, sizeof(int), err);
  f->grp_src0 = mf_malloc_array(unp, sizeof(int), err);
  ok = bits && cnt && order && group && leader && size && pattern && f->grp_first && f->grp_ncols && f->grp_col0 &&
       f->grp_pts && f->grp_var && f->grp_piv && f->grp_src && f->grp_src0;
  if (!ok) goto done;
  /* points by decreasing column count (stable), each joining the first group whose leader's
   * columns contain its own with little waste, or leading a new group */
  int n_order = 0, ng = 0;
  for (int i = 0; i < np; i++) {
    cnt[i] = point_vars(f, fr->kp_index[i], ns, bits[i]);
    if (cnt[i] < 0) continue;
    int j = n_order++;
    for (; j > 0 && cnt[order[j - 1]] < cnt[i]; j--) order[j] = order[j - 1];
    order[j] = i;
  }
  for (int oi = 0; oi < n_order; oi++) {
    int i = order[oi], g = -1;
    for (int q = 0; q < ng && g < 0; q++) {
      int l = leader[q];
      if (size[q] >= GROUP_MAX || cnt[l] > cnt[i] + GROUP_SLACK) continue;
      bool sub = true;
      for (int w = 0; w < WORDS && sub; w++) sub = (bits[i][w] & ~bits[l][w]) == 0;
      if (sub) g = q;
    }
    if (g < 0) {
      g = ng++;
      leader[g] = i;
    }
    size[g]++;
    group[i] = g;
  }
  /* the pattern: every pair of a leader's variables */
  for (int q = 0; q < ng; q++) {
    int vars[NT_MAX], n = 0;
    for (int v = 0; v < nt; v++)
      if (bits[leader[q]][v / 64] >> (v % 64) & 1) vars[n++] = v;
    for (int a = 0; a < n; a++)
      for (int b = 0; b < n; b++) pattern[(size_t)vars[a] * (size_t)nt + (size_t)vars[b]] = 1;
  }
  if (!(ok = mf_spchol_analyze(&f->chol, nt, pattern, err))) goto done;
  /* groups: columns in pivot order, members in point order */
  int n_mem = 0, n_col = 0, n_src = 0;
  for (int q = 0; q < ng; q++) {
    f->grp_first[q] = n_mem;
    for (int oi = 0; oi < n_order; oi++)
      if (group[order[oi]] == q) f->grp_pts[n_mem++] = order[oi];
    int *var = f->grp_var + n_col, *piv = f->grp_piv + n_col, n = 0;
    for (int v = 0; v < nt; v++) {
      if (!(bits[leader[q]][v / 64] >> (v % 64) & 1)) continue;
      int p = f->chol.iperm[v], j = n++;
      for (; j > 0 && piv[j - 1] > p; j--) piv[j] = piv[j - 1], var[j] = var[j - 1];
      piv[j] = p, var[j] = v;
    }
    f->grp_col0[q] = n_col;
    f->grp_ncols[q] = n;
    n_col += n;
    for (int mi = f->grp_first[q]; mi < n_mem; mi++) {
      int i = f->grp_pts[mi], k = fr->kp_index[i], local[NT_MAX];
      for (int v = 0; v < nf; v++) local[v] = -1;
      for (size_t c = map->col_start[k]; c < map->col_start[k + 1]; c++) {
        int p = f->free_pos[map->cols[c]];
        if (p >= 0) local[p] = (int)(c - map->col_start[k]);
      }
      f->grp_src0[mi] = n_src;
      for (int u = 0; u < n; u++) f->grp_src[n_src++] = var[u] < nf ? local[var[u]] : -2 - (var[u] - nf);
    }
  }
  f->grp_first[ng] = n_mem;
  f->grp_col0[ng] = n_col;
  f->n_groups = ng;
done:
  free(bits), free(cnt), free(order), free(group), free(leader), free(size), free(pattern);
  if (!ok) {
    mf_spchol_free(&f->chol);
    f->lin_key_len = 0;
  }
  return ok;
}

/* Gradient g (free positions, then the similarity increments t, ω, log s) and Gauss–Newton
 * Hessian H (pivot order of f->chol) of the LM objective at the state left by the last evaluate()
 * of m, which gave `e`; lin_plan() must have run for the frame. */
static void linearize(mhrfit_fitter *f, const double *m, const eval_out *e, double *g, double *H) {
  const mhrfit_fit_frame *fr = f->fr;
  int nf = f->nfree, nt = f->chol.n;
  size_t unt = (size_t)nt;
  memset(g, 0, unt * sizeof *g);
  mf_spchol_zero(&f->chol, H);
  double hd[NP] = {0};
  regularisers(f, m, g, hd);
  for (int p = 0; p < nf; p++) H[(size_t)f->chol.iperm[p] * (unt + 1)] += hd[p];
  mhrfit_fk_pose pose = {f->R, f->t, f->s};
  mhrfit_kpmap_jacobian(f->map, f->rig, &pose, f->jp, f->J);
  double A[9];
  world_jacobian_factor(&e->sim, A);
  for (int q = 0; q < f->n_groups; q++) {
    /* G: the members' weighted rows √c_i J_i (R rows, row-major with ld ≥ n columns, a multiple of
     * 4) and Gd their weighted residuals √c_i d_i, so that GᵀG = Σ c_i J_iᵀJ_i and GᵀGd = Σ c_i J_iᵀd_i */
    int n = f->grp_ncols[q], ld = (n + 3) & ~3, R = 0;
    const int *var = f->grp_var + f->grp_col0[q], *piv = f->grp_piv + f->grp_col0[q];
    double *G = f->G, *Gd = f->Gd;
    for (int mi = f->grp_first[q]; mi < f->grp_first[q + 1]; mi++) {
      int i = f->grp_pts[mi];
      if (f->c[i] == 0) continue;
      size_t k = (size_t)fr->kp_index[i], c0 = f->map->col_start[k], nc = f->map->col_start[k + 1] - c0;
      const double *B = f->J + 3 * c0, *d = f->d + 3 * i, *p = f->pred + 3 * i;
      const int *src = f->grp_src + f->grp_src0[mi];
      double w = sqrt(f->c[i]), q3[3]; /* d(sRp + t) / d(t, ω, log s) = (I, −[q]×, q) with q = sRp */
      for (int a = 0; a < 3; a++)
        q3[a] = e->sim.s * (e->sim.R[3 * a] * p[0] + e->sim.R[3 * a + 1] * p[1] + e->sim.R[3 * a + 2] * p[2]);
      const double sim_cols[7][3] = {{1, 0, 0},       {0, 1, 0},       {0, 0, 1},           {0, -q3[2], q3[1]},
                                     {q3[2], 0, -q3[0]}, {-q3[1], q3[0], 0}, {q3[0], q3[1], q3[2]}};
      double *G0 = G + (size_t)R * (size_t)ld, *G1 = G0 + ld, *G2 = G1 + ld;
      for (int u = 0; u < n; u++) {
        int sc = src[u];
        if (sc >= 0) {
          double b0 = B[sc], b1 = B[nc + (size_t)sc], b2 = B[2 * nc + (size_t)sc];
          G0[u] = w * (A[0] * b0 + A[1] * b1 + A[2] * b2);
          G1[u] = w * (A[3] * b0 + A[4] * b1 + A[5] * b2);
          G2[u] = w * (A[6] * b0 + A[7] * b1 + A[8] * b2);
        } else if (sc == -1) {
          G0[u] = G1[u] = G2[u] = 0;
        } else {
          G0[u] = w * sim_cols[-2 - sc][0];
          G1[u] = w * sim_cols[-2 - sc][1];
          G2[u] = w * sim_cols[-2 - sc][2];
        }
      }
      if (fr->metric) { /* rows M (√c J): the residual f->d is already M e */
        const double *M = fr->metric + 9 * (size_t)i;
        for (int u = 0; u < n; u++) {
          double v[3] = {G0[u], G1[u], G2[u]};
          metric_apply(M, v);
          G0[u] = v[0], G1[u] = v[1], G2[u] = v[2];
        }
      }
      for (int u = n; u < ld; u++) G0[u] = G1[u] = G2[u] = 0;
      for (int a = 0; a < 3; a++) Gd[R + a] = w * d[a];
      R += 3;
    }
    if (R == 0) continue;
    for (; R % 6; R++) { /* zero rows up to a multiple of 6, the unit of the products below */
      memset(G + (size_t)R * (size_t)ld, 0, (size_t)ld * sizeof *G);
      Gd[R] = 0;
    }
    for (int u = 0; u < n; u++) {
      /* row u of GᵀG up to the diagonal, six rows of G at a time, in blocks of 4 columns */
      double hl[NT_MAX + 4], gu = 0;
      int vend = (u + 4) & ~3;
      for (int v = 0; v < vend; v++) hl[v] = 0;
      for (int r = 0; r < R; r += 6) {
        const double *R0 = G + (size_t)r * (size_t)ld, *R1 = R0 + ld, *R2 = R1 + ld, *R3 = R2 + ld, *R4 = R3 + ld,
                     *R5 = R4 + ld;
        double a0 = R0[u], a1 = R1[u], a2 = R2[u], a3 = R3[u], a4 = R4[u], a5 = R5[u];
        gu += a0 * Gd[r] + a1 * Gd[r + 1] + a2 * Gd[r + 2] + a3 * Gd[r + 3] + a4 * Gd[r + 4] + a5 * Gd[r + 5];
        for (int v = 0; v < vend; v += 4)
          for (int t = v; t < v + 4; t++)
            hl[t] += a0 * R0[t] + a1 * R1[t] + a2 * R2[t] + a3 * R3[t] + a4 * R4[t] + a5 * R5[t];
      }
      g[var[u]] += gu;
      double *row = H + (size_t)piv[u] * unt; /* lower triangle: the columns are in pivot order */
      for (int v = 0; v <= u; v++) row[piv[v]] += hl[v];
    }
  }
}

/* Clamps free parameters to the model's limits (when enabled). */
static void clamp_limits(const mhrfit_fitter *f, double *m) {
  if (!f->o.joint_limits) return;
  for (size_t i = 0; i < f->rig->n_limits; i++) {
    const mhrfit_limit *l = &f->rig->limits[i];
    if (l->param < 0 || l->param >= NP || f->free_pos[l->param] < 0 || !(l->min < l->max)) continue;
    if (m[l->param] < l->min) m[l->param] = l->min;
    if (m[l->param] > l->max) m[l->param] = l->max;
  }
}

static void iteration_done(mhrfit_fitter *f, int it, const double *m, const eval_out *e) {
  if (f->o.on_iteration) f->o.on_iteration(f->o.user, it, m, e->loss, e->data);
}

/* The similarity after the increments (t, ω, log s) of the LM step. */
static void sim_step(const mhrfit_similarity *in, const double *d, bool with_scale, mhrfit_similarity *out) {
  double dR[9];
  mhrfit_rodrigues_to_matrix(d + 3, dR);
  *out = *in;
  for (int a = 0; a < 3; a++) {
    out->t[a] = in->t[a] + d[a];
    for (int b = 0; b < 3; b++) out->R[3 * a + b] = dR[3 * a] * in->R[b] + dR[3 * a + 1] * in->R[3 + b] + dR[3 * a + 2] * in->R[6 + b];
  }
  if (with_scale) out->s = in->s * exp(d[6]);
}

/* Levenberg–Marquardt over the free pose dimensions and the similarity; m is the start on entry
 * and the best iterate on return, cur its evaluation (with the similarity reached), which on entry
 * must be the last evaluate() (its state is linearised). *at_state tells whether the fitter's state
 * (predictions, weights, residuals) on return is still that of m, i.e. no trial was rejected after
 * the last accepted one. */
static bool solve_lm(mhrfit_fitter *f, double *m, eval_out *cur, mhrfit_fit_result *res, bool *at_state,
                     mhrfit_error *err) {
  int nf = f->nfree, ns = f->o.with_scale ? 7 : 6, nt = nf + ns, iters = mhrfit_fit_options_iter_cap(&f->o);
  /* Initial damping: light when every free dimension has a quadratic prior (the regularisers
   * bound every Gauss–Newton step, and heavier damping only slows the first iterations), the
   * classic 1e-3 when some direction is held by the data alone (nearly flat directions, such as
   * scale against the flexible lengths without regularisers, need the damping from the start). */
  bool all_regularised = true;
  for (int i = 0; i < nf; i++) all_regularised = all_regularised && f->reg_w[f->free_idx[i]] + f->temp_w[f->free_idx[i]] > 0;
  double mu = all_regularised ? 1e-5 : 1e-3, trial[NP];
  *at_state = true;
  if (!lin_plan(f, ns, err)) return false;
  linearize(f, m, cur, f->g, f->H);
  res->n_iters = 0;
  res->best_iter = -1;
  for (int it = 0; it < iters; it++) {
    f->hist[it] = cur->loss;
    f->dhist[it] = cur->data;
    res->n_iters = it + 1;
    double gmax = 0;
    for (int i = 0; i < nt; i++) gmax = fmax(gmax, fabs(f->g[i]));
    if (gmax < f->o.grad_tol) break;
    bool stop = false;
    for (;;) {
      static const double eps = 1e-9;
      for (int i = 0; i < nt; i++) f->delta[i] = -f->g[i];
      if (mf_spchol_factor(&f->chol, f->H, 1 + mu, mu * eps) && mf_spchol_solve(&f->chol, f->delta, f->delta)) {
        memcpy(trial, m, sizeof trial);
        for (int i = 0; i < nf; i++) trial[f->free_idx[i]] += f->delta[i];
        clamp_limits(f, trial);
        mhrfit_similarity tsim;
        sim_step(&cur->sim, f->delta + nf, f->o.with_scale, &tsim);
        eval_out e;
        mhrfit_error terr = {0};
        *at_state = false;
        if (evaluate(f, trial, &tsim, &e, &terr) && e.loss < cur->loss) {
          *at_state = true;
          double rel = (cur->loss - e.loss) / fmax(cur->loss, 1e-300);
          memcpy(m, trial, sizeof trial);
          *cur = e;
          res->best_iter = it;
          mu = fmax(mu / 3, 1e-12);
          stop = rel < f->o.rel_tol;
          if (!stop && it + 1 < iters) linearize(f, m, cur, f->g, f->H); /* at the accepted trial's state */
          break;
        }
      }
      mu *= 4;
      if (mu > 1e12) {
        stop = true;
        break;
      }
    }
    iteration_done(f, it, m, cur);
    if (stop) break;
  }
  return true;
}

/* The original's Adam loop (ORIGINAL.md §5.7) with the best pose stored with its own loss. */
static bool solve_adam(mhrfit_fitter *f, double *m, eval_out *cur, mhrfit_fit_result *res, mhrfit_error *err) {
  int nf = f->nfree, iters = mhrfit_fit_options_iter_cap(&f->o);
  int min_iters = f->o.min_iters < iters ? f->o.min_iters : iters;
  if (min_iters < 1) min_iters = 1;
  double ratio = fmax(1.0, f->o.loss_divergence_ratio), best = INFINITY, best_m[NP];
  const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
  memset(f->adam_m, 0, (size_t)nf * sizeof *f->adam_m);
  memset(f->adam_v, 0, (size_t)nf * sizeof *f->adam_v);
  memcpy(best_m, m, sizeof best_m);
  res->best_iter = -1;
  res->n_iters = 0;
  int no_improve = 0;
  for (int it = 0; it < iters; it++) {
    eval_out e;
    if (!evaluate(f, m, NULL, &e, err)) {
      if (it == 0) return false;
      break; /* the last accepted pose stays the best */
    }
    gradient(f, m, &e, f->g);
    f->hist[it] = e.loss;
    f->dhist[it] = e.data;
    res->n_iters = it + 1;
    if (e.loss < best - f->o.early_stop_tol) {
      best = e.loss;
      memcpy(best_m, m, sizeof best_m); /* the pose whose loss was just measured */
      res->best_iter = it;
      no_improve = 0;
    } else {
      no_improve++;
    }
    iteration_done(f, it, m, &e);
    if (it + 1 >= min_iters && (e.loss > best * ratio || no_improve >= f->o.early_stop_patience)) break;
    double norm = 0;
    for (int i = 0; i < nf; i++) norm += f->g[i] * f->g[i];
    norm = sqrt(norm);
    double clip = norm > 1.0 ? 1.0 / (norm + 1e-6) : 1.0;
    double c1 = 1 - pow(b1, it + 1), c2 = 1 - pow(b2, it + 1);
    for (int i = 0; i < nf; i++) {
      double gi = f->g[i] * clip;
      f->adam_m[i] = b1 * f->adam_m[i] + (1 - b1) * gi;
      f->adam_v[i] = b2 * f->adam_v[i] + (1 - b2) * gi * gi;
      m[f->free_idx[i]] -= f->o.lr * (f->adam_m[i] / c1) / (sqrt(f->adam_v[i] / c2) + eps);
    }
    clamp_limits(f, m);
  }
  memcpy(m, best_m, sizeof best_m);
  return evaluate(f, m, NULL, cur, err);
}

/* Scores a view: weighted mean distance after the similarity (ORIGINAL.md §5.3). */
static double score_view(mhrfit_fitter *f, const double *m) {
  mhrfit_error err = {0};
  eval_out e;
  if (!evaluate(f, m, NULL, &e, &err)) return INFINITY;
  double W = 0, S = 0;
  for (size_t i = 0; i < f->fr->n_points; i++) {
    if (f->lw[i] == 0) continue;
    const double *d = f->d + 3 * i; /* s R p + t - g from evaluate() (times the point's metric, if any) */
    S += f->lw[i] * sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2] + 1e-12);
    W += f->lw[i];
  }
  return S / (W + 1e-9);
}

/* The view's canonical parameters: root zero, scales fixed when asked. False if not finite. */
static bool view_params(const mhrfit_fit_frame *fr, size_t v, double *m) {
  memcpy(m, fr->views[v].model_params, NP * sizeof *m);
  for (int i = 0; i < NP; i++)
    if (!isfinite(m[i])) return false;
  for (int i = 0; i < 6; i++) m[i] = 0;
  if (fr->fixed_scales) memcpy(m + SCALE_FIRST, fr->fixed_scales, (NP - SCALE_FIRST) * sizeof *m);
  return true;
}

/* Calibrates the MHR70 markers of the own map from one view (its parameters and keypoints). */
static bool calibrate_view(mhrfit_fitter *f, const mhrfit_fit_view *view, mhrfit_error *err) {
  double kp[210];
  for (int i = 0; i < 210; i++) kp[i] = NAN; /* no keypoints: every marker undefined */
  mhrfit_fk_pose pose = {f->R, f->t, f->s};
  if (view->keypoints_3d) {
    if (!mhrfit_rig_fk(f->rig, view->model_params, &pose, NULL, err)) return false; /* with its root */
    for (int k = 0; k < 70; k++) mhrfit_sam3d_to_mhr(view->keypoints_3d + 3 * k, kp + 3 * k);
  }
  if (mhrfit_kpmap_calibrate_markers(f->own_map, f->rig, &pose, kp, err) < 0) return false;
  return set_map(f, err);
}

/* Calibrates the markers from view v of the frame (own map, unless locked). */
static bool calibrate(mhrfit_fitter *f, size_t v, mhrfit_error *err) {
  if (f->user_map || f->markers_locked) return true;
  return calibrate_view(f, &f->fr->views[v], err);
}

bool mhrfit_fitter_lock_markers(mhrfit_fitter *f, const mhrfit_fit_view *view, mhrfit_error *err) {
  if (f->user_map) return true;
  if (!view->keypoints_3d)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "markers: view %s has no keypoints", view->name ? view->name : "?");
  for (int i = 0; i < NP; i++)
    if (!isfinite(view->model_params[i]))
      return MHRFIT_FAIL(err, MHRFIT_ERR_NUMERIC, "markers: view %s has non-finite parameters",
                         view->name ? view->name : "?");
  f->map = f->own_map;
  if (!calibrate_view(f, view, err)) return false;
  f->markers_locked = true;
  return true;
}

/* Sets up the free dimensions and regulariser weights. */
static bool setup_masks(mhrfit_fitter *f, mhrfit_error *err) {
  bool frozen[NP] = {false};
  for (int i = 0; i < NP; i++) frozen[i] = i < BODY_FIRST || i >= BODY_END;
  if (!f->o.optimize_hand_pose)
    for (int i = HAND_FIRST; i < HAND_END; i++) frozen[i] = true;
  if (f->o.freeze_flexible_lengths)
    for (int i = FLEX_FIRST; i < BODY_END; i++) frozen[i] = true;
  if (f->o.freeze_lower_body) {
    const int *idx;
    size_t n;
    if (!mhrfit_param_set_get(MHRFIT_SET_LOWER_BODY, NP, &idx, &n, err)) return false;
    for (size_t i = 0; i < n; i++) frozen[idx[i]] = true;
  }
  f->nfree = 0;
  for (int i = 0; i < NP; i++) {
    f->free_pos[i] = frozen[i] ? -1 : f->nfree;
    if (!frozen[i]) f->free_idx[f->nfree++] = i;
    bool hand = i >= HAND_FIRST && i < HAND_END, body = i >= BODY_FIRST && i < BODY_END && !hand;
    f->reg_w[i] = body ? f->o.w_pose_reg / 133.0 : hand && f->o.optimize_hand_pose ? f->o.w_hand_reg / 54.0 : 0.0;
    f->temp_w[i] = body && f->has_prev ? f->o.w_temporal / 133.0 : 0.0;
  }
  return true;
}

/* World-frame geometry of parameters m placed by `so`: keypoints (current map), joints, joint
 * rotations and the mesh with identity `shape`, into the fitter's output arrays. */
static bool geometry(mhrfit_fitter *f, const double *m, const mhrfit_similarity *so, const double *shape,
                     size_t n_shape, mhrfit_fit_result *res, mhrfit_error *err) {
  mhrfit_fk_pose pose = {f->R, f->t, f->s};
  if (!mhrfit_rig_fk(f->rig, m, &pose, NULL, err)) return false;
  /* the map's keypoints (70 for MHR70); f->kp_cm holds max(nk, 70) */
  mhrfit_kpmap_eval(f->map, &pose, f->kp_cm);
  const double *kp_cm = f->kp_cm;
  for (size_t k = f->nk; k < 70; k++) f->kp_world[3 * k] = f->kp_world[3 * k + 1] = f->kp_world[3 * k + 2] = NAN;
  for (size_t k = 0; k < f->nk; k++) {
    double q[3];
    if (!isfinite(kp_cm[3 * k])) {
      f->kp_world[3 * k] = f->kp_world[3 * k + 1] = f->kp_world[3 * k + 2] = NAN;
      continue;
    }
    mhrfit_mhr_to_sam3d(kp_cm + 3 * k, q);
    mhrfit_similarity_apply(so, q, f->kp_world + 3 * k);
  }
  for (size_t j = 0; j < f->nj; j++) {
    double q[3];
    mhrfit_mhr_to_sam3d(f->t + 3 * j, q);
    mhrfit_similarity_apply(so, q, f->joints_world + 3 * j);
    const double *Rj = f->R + 9 * j;
    double *W = f->rots_world + 9 * j;
    for (int a = 0; a < 3; a++)
      for (int b = 0; b < 3; b++)
        W[3 * a + b] = so->R[3 * a] * Rj[b] - so->R[3 * a + 1] * Rj[3 + b] - so->R[3 * a + 2] * Rj[6 + b];
  }
  res->vertices = NULL;
  if (f->o.skip_mesh) goto done;
  mhrfit_rig_shaped_vertices(f->rig, shape, n_shape, f->verts_rest);
  mhrfit_rig_skin_rest(f->rig, &pose, f->verts_rest, f->verts_cm);
  for (size_t v = 0; v < f->rig->n_vertices; v++) {
    double q[3];
    mhrfit_mhr_to_sam3d(f->verts_cm + 3 * v, q);
    mhrfit_similarity_apply(so, q, f->verts_world + 3 * v);
  }
  res->vertices = f->verts_world;
done:
  res->keypoints = f->kp_world;
  res->joints = f->joints_world;
  res->global_rots = f->rots_world;
  return true;
}

bool mhrfit_fitter_geometry(mhrfit_fitter *f, const double *model_params, const mhrfit_similarity *sim,
                            const double *shape, size_t n_shape, mhrfit_fit_result *res, mhrfit_error *err) {
  for (int i = 0; i < NP; i++)
    if (!isfinite(model_params[i]))
      return MHRFIT_FAIL(err, MHRFIT_ERR_NUMERIC, "geometry: model parameter %d is not finite", i);
  bool finite = isfinite(sim->s) && sim->s > 0;
  for (int a = 0; a < 9; a++) finite = finite && isfinite(sim->R[a]);
  for (int a = 0; a < 3; a++) finite = finite && isfinite(sim->t[a]);
  if (!finite) return MHRFIT_FAIL(err, MHRFIT_ERR_NUMERIC, "geometry: the similarity is not finite");
  if (!f->user_map) f->map = f->own_map;
  if (!set_map(f, err)) return false;
  return geometry(f, model_params, sim, shape, n_shape, res, err);
}

bool mhrfit_fitter_process(mhrfit_fitter *f, const mhrfit_fit_frame *fr, mhrfit_fit_result *res, mhrfit_error *err) {
  memset(res, 0, sizeof *res);
  if (fr->n_points == 0 || !fr->targets || !fr->kp_index || fr->n_views == 0 || !fr->views)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "fit: a frame needs target points and at least one view");
  for (size_t i = 0; i < fr->n_points; i++)
    if (fr->kp_index[i] < 0 || (size_t)fr->kp_index[i] >= f->nk || (!f->user_map && fr->kp_index[i] >= 70))
      return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "fit: target %zu has keypoint index %d, the map has %zu keypoints", i,
                         fr->kp_index[i], f->nk);
  int iters = mhrfit_fit_options_iter_cap(&f->o);
  if (!reserve(f, fr->n_points, fr->n_views, (size_t)iters + 1, err)) return false;
  f->fr = fr;
  f->has_prev = false;
  if (fr->prev_model_params) {
    f->has_prev = true;
    for (int i = 0; i < NP; i++) f->has_prev = f->has_prev && isfinite(fr->prev_model_params[i]);
  }
  if (!setup_masks(f, err)) return false;
  if (!f->user_map) f->map = f->own_map;
  if (!set_map(f, err)) return false;
  /* 1. initial view */
  double m[NP], best_m[NP];
  int best = -1;
  size_t n_skipped = 0;
  char skipped[256] = "";
  for (size_t v = 0; v < fr->n_views; v++) {
    f->view_scores[v] = INFINITY;
    f->view_skipped[v] = 0;
    mhrfit_error verr = {0};
    if (!view_params(fr, v, m) || !calibrate(f, v, &verr)) {
      f->view_skipped[v] = 1;
      n_skipped++;
      size_t len = strlen(skipped);
      if (len + 40 < sizeof skipped)
        snprintf(skipped + len, sizeof skipped - len, "%s%s", len ? ", " : "", fr->views[v].name ? fr->views[v].name : "?");
      continue;
    }
    f->view_scores[v] = score_view(f, m);
    if (!isfinite(f->view_scores[v])) continue;
    if (best < 0 || f->view_scores[v] < f->view_scores[best] ||
        (f->view_scores[v] == f->view_scores[best] && fr->views[v].mean_px < fr->views[best].mean_px)) {
      best = (int)v;
      memcpy(best_m, m, sizeof best_m);
    }
  }
  res->view_scores = f->view_scores;
  res->view_skipped = f->view_skipped;
  if (best < 0) {
    if (n_skipped == fr->n_views)
      return MHRFIT_FAIL(err, MHRFIT_ERR_NUMERIC, "fit: no usable view (non-finite parameters in: %s)", skipped);
    /* report why the points do not suffice, from the first usable view */
    for (size_t v = 0; v < fr->n_views; v++) {
      if (f->view_skipped[v]) continue;
      view_params(fr, v, m);
      if (!calibrate(f, v, err)) return false;
      eval_out e;
      if (!evaluate(f, m, NULL, &e, err)) {
        mhrfit_error_prefix(err, "fit: view %s", fr->views[v].name ? fr->views[v].name : "?");
        return false;
      }
    }
    return MHRFIT_FAIL(err, MHRFIT_ERR_NUMERIC, "fit: no view could be aligned to the targets");
  }
  res->init_view = best;
  if (!calibrate(f, (size_t)best, err)) return false;
  /* 2. start and references */
  memcpy(f->ref, best_m, sizeof f->ref);
  if (f->has_prev) {
    memcpy(f->prev, fr->prev_model_params, sizeof f->prev);
    for (int i = 0; i < 6; i++) f->prev[i] = 0;
    double b = fmin(1.0, fmax(0.0, f->o.temporal_init_blend));
    for (int i = BODY_FIRST; i < BODY_END; i++) {
      bool hand = i >= HAND_FIRST && i < HAND_END;
      if (f->free_pos[i] >= 0 && !hand) f->ref[i] = best_m[i] * (1 - b) + f->prev[i] * b;
      else if (f->free_pos[i] < 0 && !hand && f->o.freeze_lower_body) f->ref[i] = f->prev[i]; /* locked lower body */
    }
    res->used_temporal_init = true;
  }
  memcpy(m, f->ref, sizeof m);
  /* 3. solve */
  eval_out cur;
  if (!evaluate(f, m, NULL, &cur, err)) return false;
  res->init_loss = cur.loss;
  res->init_data_loss = cur.data;
  bool lm = f->o.solver == MHRFIT_SOLVER_LM, at_state = false;
  bool ok = lm ? solve_lm(f, m, &cur, res, &at_state, err) : solve_adam(f, m, &cur, res, err);
  if (!ok) return false;
  /* 4. restore (m is the best pose) and recompute at it, unless LM's last evaluation was there */
  eval_out fin = cur;
  if (!at_state && !evaluate(f, m, lm ? &cur.sim : NULL, &fin, err)) return false;
  res->best_loss = cur.loss;
  res->best_data_loss = cur.data;
  for (int i = 0; i < res->n_iters; i++) {
    res->best_loss = fmin(res->best_loss, f->hist[i]);
    res->best_data_loss = fmin(res->best_data_loss, f->dhist[i]);
  }
  res->final_loss = fin.loss;
  res->final_data_loss = fin.data;
  res->best_data_loss = fmin(res->best_data_loss, fin.data);
  res->n_valid_points = fin.n_valid;
  res->uniform_fallback = fin.uniform;
  res->loss_history = f->hist;
  res->data_loss_history = f->dhist;
  double g1 = isfinite(fin.loss) ? fin.loss / fmax(res->best_loss, 1e-12) : INFINITY;
  double g2 = isfinite(fin.data) ? fin.data / fmax(res->best_data_loss, 1e-12) : INFINITY;
  res->is_bad = res->best_loss > f->o.bad_loss_threshold || res->best_data_loss > f->o.bad_data_loss_threshold ||
                g1 > f->o.bad_loss_growth_ratio || g2 > f->o.bad_loss_growth_ratio;
  res->status = res->is_bad ? MHRFIT_FIT_BAD_LOSS : MHRFIT_FIT_OK;
  memcpy(res->model_params, m, sizeof m);
  mhrfit_body_pose_from_model(m, res->body_pose);
  res->sim_fit = fin.sim;
  res->sim_out = fin.sim;
  /* per-point residuals at the final pose (evaluate left the pose's predictions in f->pred) */
  for (size_t i = 0; i < fr->n_points; i++) {
    f->resid[i] = NAN;
    if (f->lw[i] == 0 && f->aw[i] == 0) continue;
    double q[3];
    mhrfit_similarity_apply(&fin.sim, f->pred + 3 * i, q);
    const double *g = fr->targets + 3 * i;
    f->resid[i] = sqrt(pow(q[0] - g[0], 2) + pow(q[1] - g[1], 2) + pow(q[2] - g[2], 2));
  }
  res->residuals = f->resid;
  /* 5. output similarity: the previous one while it agrees with the current fit */
  if (f->o.freeze_lower_body && fr->prev_similarity && f->o.sim_reuse_tol_m > 0) {
    const mhrfit_similarity *ps = fr->prev_similarity;
    bool finite = isfinite(ps->s) && ps->s > 0;
    for (int a = 0; a < 9; a++) finite = finite && isfinite(ps->R[a]);
    for (int a = 0; a < 3; a++) finite = finite && isfinite(ps->t[a]);
    if (finite) {
      double ss = 0, ws = 0;
      for (size_t i = 0; i < fr->n_points; i++) {
        if (f->lw[i] == 0) continue;
        double q1[3], q2[3];
        mhrfit_similarity_apply(&fin.sim, f->pred + 3 * i, q1);
        mhrfit_similarity_apply(ps, f->pred + 3 * i, q2);
        ss += f->lw[i] * (pow(q1[0] - q2[0], 2) + pow(q1[1] - q2[1], 2) + pow(q1[2] - q2[2], 2));
        ws += f->lw[i];
      }
      if (ws > 0 && sqrt(ss / ws) <= f->o.sim_reuse_tol_m) {
        res->sim_out = *ps;
        res->sim_reused_prev = true;
      }
    }
  }
  /* 6. geometry in the world frame, from the parameters */
  const mhrfit_fit_view *bv = &fr->views[best];
  if (!geometry(f, m, &res->sim_out, bv->shape, bv->shape ? bv->n_shape : 0, res, err)) return false;
  if (f->o.calibrate_markers_once && !f->user_map && bv->keypoints_3d) f->markers_locked = true;
  return true;
}
