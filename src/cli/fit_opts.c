/* The stage-3 options shared by `mhrfit fit` and `mhrfit run` (cli.h). */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

void mf_fit_cli_init(mf_fit_cli *c) {
  memset(c, 0, sizeof *c);
  mhrfit_fit_options_init(&c->o);
  c->solver = "lm";
  c->zero_weight_strategy = "uniform_finite";
  c->iters = 0;
  c->min_valid_points = c->o.min_valid_points;
  c->min_iters = c->o.min_iters;
  c->early_stop_patience = c->o.early_stop_patience;
}

size_t mf_fit_cli_table(mf_fit_cli *c, mf_opt *out) {
  mhrfit_fit_options *o = &c->o;
  const mf_opt t[] = {
      {"solver", MF_OPT_STRING, &c->solver, "S", "lm (Levenberg-Marquardt, default) | adam (the original's optimiser)", NULL},
      {"iters", MF_OPT_INT, &c->iters, "N", "iteration cap (default: lm 50, adam 200)", NULL},
      {"freeze_lower_body", MF_OPT_FLAG, &o->freeze_lower_body, NULL,
       "lock the lower-body pose (pelvis down) to its initial / previous-frame values, bit for bit", NULL},
      {"optimize_hand_pose", MF_OPT_FLAG, &o->optimize_hand_pose, NULL,
       "fit the finger angles too (default on; --no_optimize_hand_pose keeps the view's)", NULL},
      {"with_scale", MF_OPT_FLAG, &o->with_scale, NULL,
       "fit the similarity's scale (default on; --no_with_scale; never without views)", &c->with_scale_seen},
      {"anchor_similarity", MF_OPT_FLAG, &o->anchor_similarity, NULL,
       "similarity from hips, neck and acromions (default on; --no_anchor_similarity uses all points)", NULL},
      {"joint_limits", MF_OPT_FLAG, &o->joint_limits, NULL,
       "clamp the pose to the .model joint limits (default off; always on without views)", &c->joint_limits_seen},
      {"huber_m", MF_OPT_DOUBLE, &o->huber_m, "M", "Huber threshold of the keypoint residuals in metres (default 0.03)", NULL},
      {"w_pose_reg", MF_OPT_DOUBLE, &o->w_pose_reg, "W", "weight of the pose-to-initial-view regulariser (default 1e-3)", NULL},
      {"w_temporal", MF_OPT_DOUBLE, &o->w_temporal, "W", "weight of the pose-to-previous-frame regulariser (default 3e-3)", NULL},
      {"w_hand_reg", MF_OPT_DOUBLE, &o->w_hand_reg, "W", "weight of the finger-angle regulariser (default 1e-3)", NULL},
      {"temporal_init_blend", MF_OPT_DOUBLE, &o->temporal_init_blend, "B",
       "start = view*(1-B) + previous*B on the free body dims (default 0.7)", NULL},
      {"min_valid_points", MF_OPT_INT, &c->min_valid_points, "N", "fewest weighted points to fit, at least 3 (default 6)", NULL},
      {"zero_weight_strategy", MF_OPT_STRING, &c->zero_weight_strategy, "S",
       "uniform_finite (uniform weights on finite points, default) | fail", NULL},
      {"rel_tol", MF_OPT_DOUBLE, &o->rel_tol, "T", "lm: stop when a step lowers the loss by less than T relative (default 1e-5)", NULL},
      {"grad_tol", MF_OPT_DOUBLE, &o->grad_tol, "T", "lm: stop when the largest gradient entry is below T (default 1e-10)", NULL},
      {"lr", MF_OPT_DOUBLE, &o->lr, "R", "adam: learning rate (default 0.05)", NULL},
      {"min_iters", MF_OPT_INT, &c->min_iters, "N", "adam: no early stop before N iterations (default 50)", NULL},
      {"early_stop_patience", MF_OPT_INT, &c->early_stop_patience, "N", "adam: iterations without improvement before stopping (default 60)", NULL},
      {"loss_divergence_ratio", MF_OPT_DOUBLE, &o->loss_divergence_ratio, "R", "adam: stop when loss > R x best (default 3)", NULL},
      {"bad_loss_threshold", MF_OPT_DOUBLE, &o->bad_loss_threshold, "L", "bad frame when the best loss is above (default 3e-3)", NULL},
      {"bad_data_loss_threshold", MF_OPT_DOUBLE, &o->bad_data_loss_threshold, "L",
       "bad frame when the best data loss is above (default 2.5e-3)", NULL},
      {"bad_loss_growth_ratio", MF_OPT_DOUBLE, &o->bad_loss_growth_ratio, "R", "bad frame when final/best loss is above (default 1.5)", NULL},
      {"sim_reuse_tol_m", MF_OPT_DOUBLE, &o->sim_reuse_tol_m, "M",
       "frozen lower body: reuse the previous similarity while it moves the keypoints by at most M RMS (default 0.01, 0 = never)", NULL},
  };
  size_t n = sizeof t / sizeof t[0];
  _Static_assert(sizeof t / sizeof t[0] <= MF_FIT_CLI_N_OPTS, "MF_FIT_CLI_N_OPTS too small");
  memcpy(out, t, sizeof t);
  return n;
}

int mf_fit_cli_no_views(const mf_fit_cli *c, const char *cmd, const char *mode) {
  if (c->o.freeze_lower_body)
    return mf_usage_error(cmd, "--freeze_lower_body needs SAM 3D Body views: not with %s (the body proportions are one "
                               "set for the sequence and every frame is fitted whole)", mode);
  if (c->with_scale_seen && c->o.with_scale)
    return mf_usage_error(cmd, "--with_scale needs SAM 3D Body views: not with %s (the body's size is the sequence's "
                               "scale parameters; the similarity has no scale)", mode);
  if (c->joint_limits_seen && !c->o.joint_limits)
    return mf_usage_error(cmd, "--no_joint_limits: not with %s (the fit without views keeps every frame within the "
                               ".model joint limits, so no elbow or knee bends backwards)", mode);
  return -1;
}

int mf_fit_cli_finish(mf_fit_cli *c, const char *cmd) {
  if (strcmp(c->solver, "lm") == 0) c->o.solver = MHRFIT_SOLVER_LM;
  else if (strcmp(c->solver, "adam") == 0) c->o.solver = MHRFIT_SOLVER_ADAM;
  else return mf_usage_error(cmd, "--solver must be lm or adam, got '%s'", c->solver);
  if (strcmp(c->zero_weight_strategy, "uniform_finite") == 0) c->o.zero_weight_strategy = MHRFIT_ZW_UNIFORM_FINITE;
  else if (strcmp(c->zero_weight_strategy, "fail") == 0) c->o.zero_weight_strategy = MHRFIT_ZW_FAIL;
  else
    return mf_usage_error(cmd, "--zero_weight_strategy must be uniform_finite or fail, got '%s'",
                          c->zero_weight_strategy);
  if (c->iters < 0 || c->iters > 100000) return mf_usage_error(cmd, "--iters must be in 0..100000, got %ld", c->iters);
  if (c->min_valid_points < 3 || c->min_valid_points > 70)
    return mf_usage_error(cmd, "--min_valid_points must be in 3..70, got %ld", c->min_valid_points);
  if (c->min_iters < 0 || c->min_iters > 100000 || c->early_stop_patience < 1 || c->early_stop_patience > 100000)
    return mf_usage_error(cmd, "--min_iters must be in 0..100000 and --early_stop_patience in 1..100000");
  c->o.min_iters = (int)c->min_iters;
  c->o.early_stop_patience = (int)c->early_stop_patience;
  c->o.iters = (int)c->iters;
  c->o.min_valid_points = (int)c->min_valid_points;
  mhrfit_error err = {0};
  if (!mhrfit_fit_options_check(&c->o, &err)) return mf_usage_error(cmd, "%s", err.message); /* names the option */
  return -1;
}
