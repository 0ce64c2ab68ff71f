/* The stage-2 options shared by `mhrfit triangulate` and `mhrfit run` (cli.h). */
#include <stdint.h>
#include <string.h>

#include "cli/cli.h"

void mf_tri_cli_init(mf_tri_cli *c) {
  memset(c, 0, sizeof *c);
  mhrfit_tri_options_default(&c->o);
  c->method = "default";
  c->score_type = "median";
  c->translation_unit = "m";
  c->lm_iters = c->o.lm_iters;
  c->min_cameras = c->o.min_cameras;
}

size_t mf_tri_cli_table(mf_tri_cli *c, mf_opt *out) {
  mhrfit_tri_options *o = &c->o;
  const mf_opt t[] = {
      {"method", MF_OPT_STRING, &c->method, "M", "default | pose2sim (default default)", NULL},
      {"min_conf", MF_OPT_DOUBLE, &o->min_conf, "C", "default method: confidence below this is missing (default 0)", NULL},
      {"score_type", MF_OPT_STRING, &c->score_type, "S", "median | trimmed | huber (default median)", NULL},
      {"huber_delta", MF_OPT_DOUBLE, &o->huber_delta, "PX", "Huber score delta (default 10)", NULL},
      {"inlier_thresh", MF_OPT_DOUBLE, &o->inlier_thresh, "PX", "inlier gate (default 30)", NULL},
      {"min_angle", MF_OPT_DOUBLE, &o->min_angle_deg, "DEG", "smallest ray angle of a candidate pair (default 5)", NULL},
      {"original_ranking", MF_OPT_FLAG, &c->original_ranking, NULL,
       "rank candidates by robust score only, as the original did", NULL},
      {"no_loo_check", MF_OPT_FLAG, &c->no_loo_check, NULL,
       "default method: skip the leave-one-out check of compromise consensus sets", NULL},
      {"lm_iters", MF_OPT_INT, &c->lm_iters, "N", "Levenberg-Marquardt iterations per point, 0 = none (default 25)", NULL},
      {"robust_lm", MF_OPT_FLAG, &o->robust_lm, NULL, "Huber IRLS in the refinement (default off)", NULL},
      {"robust_lm_delta", MF_OPT_DOUBLE, &o->robust_lm_delta, "PX", "Huber delta of the refinement (default 10)", NULL},
      {"likelihood_threshold", MF_OPT_DOUBLE, &o->likelihood_threshold, "L",
       "pose2sim: likelihood below is missing (default 0.3)", NULL},
      {"reproj_thresh", MF_OPT_DOUBLE, &o->reproj_thresh, "PX", "pose2sim: mean reprojection error to reach (default 15)", NULL},
      {"min_cameras", MF_OPT_INT, &c->min_cameras, "N", "pose2sim: fewest cameras (default 2)", NULL},
      MF_CALIB_OPT_INVERT(&c->invert_extrinsics),
      MF_CALIB_OPT_UNIT(&c->translation_unit),
  };
  _Static_assert(sizeof t / sizeof t[0] <= MF_TRI_CLI_N_OPTS, "MF_TRI_CLI_N_OPTS too small");
  memcpy(out, t, sizeof t);
  return sizeof t / sizeof t[0];
}

int mf_tri_cli_finish(mf_tri_cli *c, const char *cmd) {
  if (strcmp(c->method, "pose2sim") == 0) c->o.method = MHRFIT_TRI_POSE2SIM;
  else if (strcmp(c->method, "default") == 0) c->o.method = MHRFIT_TRI_DEFAULT;
  else return mf_usage_error(cmd, "--method must be default or pose2sim, got '%s'", c->method);
  if (strcmp(c->score_type, "trimmed") == 0) c->o.score_type = MHRFIT_SCORE_TRIMMED;
  else if (strcmp(c->score_type, "huber") == 0) c->o.score_type = MHRFIT_SCORE_HUBER;
  else if (strcmp(c->score_type, "median") == 0) c->o.score_type = MHRFIT_SCORE_MEDIAN;
  else return mf_usage_error(cmd, "--score_type must be median, trimmed or huber, got '%s'", c->score_type);
  int rc = mf_translation_unit_check(c->translation_unit, cmd);
  if (rc >= 0) return rc;
  if (c->lm_iters < 0 || c->lm_iters > 10000)
    return mf_usage_error(cmd, "--lm_iters must be in 0..10000, got %ld", c->lm_iters);
  if (c->min_cameras < 2 || c->min_cameras > 64)
    return mf_usage_error(cmd, "--min_cameras must be in 2..64, got %ld", c->min_cameras);
  c->o.rank_by_consensus = !c->original_ranking;
  c->o.loo_check = !c->no_loo_check;
  c->o.lm_iters = (int)c->lm_iters;
  c->o.min_cameras = (int)c->min_cameras;
  mhrfit_error err = {0};
  if (!mhrfit_tri_options_check(&c->o, &err)) /* names the option (min_angle is --min_angle) */
    return mf_usage_error(cmd, "%s", err.message);
  c->calib.invert_extrinsics = c->invert_extrinsics;
  c->calib.translation_unit = c->translation_unit;
  c->calib.warn = mf_warn_cb;
  c->calib.warn_user = (void *)(uintptr_t)cmd; /* only read back as const char * */
  return -1;
}

int mf_translation_unit_check(const char *unit, const char *cmd) {
  if (!unit || strcmp(unit, "m") == 0 || strcmp(unit, "cm") == 0 || strcmp(unit, "mm") == 0) return -1;
  return mf_usage_error(cmd, "--translation_unit must be m, cm or mm, got '%s'", unit);
}
