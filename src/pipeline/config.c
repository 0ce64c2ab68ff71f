/* pipeline_config.json: the settings of a run and their identity (pipeline_internal.h). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/file.h"
#include "common/hash.h"
#include "common/jbuild.h"
#include "common/path.h"
#include "pipeline/pipeline_internal.h"

#ifndef MHRFIT_VERSION_STRING
#define MHRFIT_VERSION_STRING "unknown"
#endif

static const char *tri_method_name(mhrfit_tri_method m) { return m == MHRFIT_TRI_POSE2SIM ? "pose2sim" : "default"; }

static const char *score_name(mhrfit_tri_score s) {
  return s == MHRFIT_SCORE_TRIMMED ? "trimmed" : s == MHRFIT_SCORE_HUBER ? "huber" : "median";
}

/* The names are those of `mhrfit run`'s options: the document is part of every frame's identity,
 * so a change here redoes the frames of earlier runs once. */
mhrfit_value *mf_pipeline_config(const mhrfit_pipeline *p, mhrfit_error *err) {
  const mhrfit_pipeline_options *o = &p->o;
  mf_jb j = {err, false};
  mhrfit_value *c = mhrfit_value_new_dict(err);
  if (!c) return NULL;
  mf_jstr(&j, c, "tool", "mhrfit " MHRFIT_VERSION_STRING);
  mf_jstr(&j, c, "input", o->input_dir);
  mf_jstr(&j, c, "calib", o->calib_path);
  mf_jstr(&j, c, mf_is_dir(o->rig_path) ? "assets" : "rig", o->rig_path);
  /* stage 1, cameras, frames, mesh */
  mf_jstr(&j, c, "sam_dir", o->sam_dir);
  mf_jstr(&j, c, "estimator", o->estimator);
  mf_jstrs(&j, c, "model_id", o->model_ids, o->n_model_ids);
  mf_jstr(&j, c, "person_select_strategy", mhrfit_person_strategy_name(o->person_strategy));
  mf_jstrs(&j, c, "cams", (const char *const *)p->cams, p->V);
  mf_jstrs(&j, c, "cam_files", (const char *const *)p->stems, p->V);
  mf_jstrs(&j, c, "frames", o->frames, o->frames ? o->n_frames : 0);
  if (o->input_format) { /* a detector's keypoints (keys absent otherwise: earlier runs keep their identity) */
    mf_jstr(&j, c, "input_format", o->input_format);
    mf_jstr(&j, c, "layout", o->layout);
    mf_jstr(&j, c, "keypoint_names", o->keypoint_names);
    mf_jstr(&j, c, "keypoint_map", o->keypoint_map);
    mf_jstrs(&j, c, "cam_dirs", o->cam_dirs, o->n_cam_dirs);
    mf_jint(&j, c, "calib_frames", o->calib_frames);
  }
  if (o->estimator_worker) mf_jstr(&j, c, "estimator_worker", o->estimator_worker);
  mf_jint(&j, c, "lod", p->rig->lod);
  mf_jbool(&j, c, "mesh", o->write_mesh);
  if (o->fit.freeze_lower_body) /* no effect otherwise */
    mf_jstr(&j, c, "freeze_lower_body_from", o->freeze_from == MHRFIT_FREEZE_FROM_VIEW ? "view" : "first_fit");
  mf_jint(&j, c, "person_index", o->person_index);
  mf_jint(&j, c, "min_views", o->min_views);
  mf_jint(&j, c, "max_stale_frames", o->max_stale_frames);
  mf_jint(&j, c, "bad_frame_retries", o->bad_frame_retries);
  mf_jint(&j, c, "max_edge_copy_span", o->max_edge_copy_span);
  mf_jbool(&j, c, "per_frame_scales", o->per_frame_scales);
  mf_jbool(&j, c, "no_smoothing", !o->smoothing);
  /* stage 2 */
  const mhrfit_tri_options *t = &o->tri;
  mf_jstr(&j, c, "method", tri_method_name(t->method));
  mf_jnum(&j, c, "min_conf", t->min_conf);
  mf_jstr(&j, c, "score_type", score_name(t->score_type));
  mf_jnum(&j, c, "huber_delta", t->huber_delta);
  mf_jnum(&j, c, "inlier_thresh", t->inlier_thresh);
  mf_jnum(&j, c, "min_angle", t->min_angle_deg);
  mf_jbool(&j, c, "original_ranking", !t->rank_by_consensus);
  mf_jbool(&j, c, "no_loo_check", !t->loo_check);
  mf_jint(&j, c, "lm_iters", t->lm_iters);
  mf_jbool(&j, c, "robust_lm", t->robust_lm);
  mf_jnum(&j, c, "robust_lm_delta", t->robust_lm_delta);
  mf_jnum(&j, c, "likelihood_threshold", t->likelihood_threshold);
  mf_jnum(&j, c, "reproj_thresh", t->reproj_thresh);
  mf_jint(&j, c, "min_cameras", t->min_cameras);
  mf_jint(&j, c, "max_subsets", (long long)t->max_subsets);
  mf_jbool(&j, c, "invert_extrinsics", o->calib.invert_extrinsics);
  mf_jstr(&j, c, "translation_unit", o->calib.translation_unit ? o->calib.translation_unit : "m");
  /* stage 3 */
  const mhrfit_fit_options *f = &o->fit;
  mf_jstr(&j, c, "solver", f->solver == MHRFIT_SOLVER_ADAM ? "adam" : "lm");
  mf_jint(&j, c, "iters", f->iters);
  mf_jbool(&j, c, "freeze_lower_body", f->freeze_lower_body);
  mf_jbool(&j, c, "optimize_hand_pose", f->optimize_hand_pose);
  mf_jbool(&j, c, "with_scale", f->with_scale);
  mf_jbool(&j, c, "anchor_similarity", f->anchor_similarity);
  mf_jbool(&j, c, "joint_limits", f->joint_limits);
  mf_jnum(&j, c, "huber_m", f->huber_m);
  mf_jnum(&j, c, "w_pose_reg", f->w_pose_reg);
  mf_jnum(&j, c, "w_temporal", f->w_temporal);
  mf_jnum(&j, c, "w_hand_reg", f->w_hand_reg);
  mf_jnum(&j, c, "temporal_init_blend", f->temporal_init_blend);
  mf_jint(&j, c, "min_valid_points", f->min_valid_points);
  mf_jstr(&j, c, "zero_weight_strategy", f->zero_weight_strategy == MHRFIT_ZW_FAIL ? "fail" : "uniform_finite");
  mf_jnum(&j, c, "rel_tol", f->rel_tol);
  mf_jnum(&j, c, "grad_tol", f->grad_tol);
  mf_jnum(&j, c, "lr", f->lr);
  mf_jint(&j, c, "min_iters", f->min_iters);
  mf_jint(&j, c, "early_stop_patience", f->early_stop_patience);
  mf_jnum(&j, c, "loss_divergence_ratio", f->loss_divergence_ratio);
  mf_jnum(&j, c, "bad_loss_threshold", f->bad_loss_threshold);
  mf_jnum(&j, c, "bad_data_loss_threshold", f->bad_data_loss_threshold);
  mf_jnum(&j, c, "bad_loss_growth_ratio", f->bad_loss_growth_ratio);
  mf_jnum(&j, c, "sim_reuse_tol_m", f->sim_reuse_tol_m);
  mf_jnum(&j, c, "early_stop_tol", f->early_stop_tol);
  /* smoothing */
  const mhrfit_smooth_options *s = &o->smooth;
  mf_jstr(&j, c, "smooth_method", mhrfit_smooth_method_name(s->method));
  mf_jnum(&j, c, "smoothing_alpha", s->alpha);
  mf_jint(&j, c, "smoothing_median_window", s->median_window);
  mf_jnum(&j, c, "smoothing_outlier_sigma", s->outlier_sigma);
  mf_jint(&j, c, "butter_order", s->butter_order);
  mf_jnum(&j, c, "cutoff_hz", s->cutoff_hz);
  mf_jnum(&j, c, "fps", s->fps);
  mf_jint(&j, c, "butter_padlen", s->butter_padlen);
  if (j.failed) {
    mhrfit_value_free(c);
    return NULL;
  }
  return c;
}

bool mf_pipeline_value_hash(const mhrfit_value *v, uint64_t *hash, mhrfit_error *err) {
  char *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&text, &len);
  if (!mem) return MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
  bool ok = mhrfit_value_write_json(v, mem, 0, err);
  if (fclose(mem) != 0 && ok) ok = MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
  if (ok) *hash = mf_xxh64_buffer(text, len);
  free(text);
  return ok;
}

/* A path setting as identity: the content of the file (xxHash64) for a file, the absolute path
 * for a folder (the assets: their files are what the rig loader checks), so that the same
 * settings given from another working folder, or through other relative paths, are the same
 * run, and an edited calibration at the same path is not. */
static bool path_identity(mf_jb *j, mhrfit_value *c, const char *key) {
  const mhrfit_value *v = mhrfit_value_dict_get(c, key);
  if (!v || v->kind != MHRFIT_V_STRING) return true;
  const char *path = v->u.str.data;
  char id[PATH_MAX + 32];
  unsigned char *data = NULL;
  size_t len = 0;
  mhrfit_error e = {0};
  if (mf_is_file(path) && mf_read_file(path, (size_t)1 << 30, &data, &len, &e)) {
    snprintf(id, sizeof id, "xxh64:%016llx", (unsigned long long)mf_xxh64_buffer(data, len));
    free(data);
  } else {
    char *abs = mf_path_resolve(path, &e);
    snprintf(id, sizeof id, "path:%s", abs ? abs : path);
    free(abs);
  }
  mf_jstr(j, c, key, id);
  return !j->failed;
}

bool mf_pipeline_config_identity(const mhrfit_value *config, uint64_t *hash, mhrfit_error *err) {
  mhrfit_value *c = mhrfit_value_clone(config, err);
  if (!c) return false;
  mf_jb j = {err, false};
  /* the frames' inputs are identified frame by frame (their files' sizes and times) */
  mf_jstr(&j, c, "input", NULL);
  mf_jstr(&j, c, "sam_dir", NULL);
  static const char *const paths[] = {"calib", "assets", "rig", "keypoint_names", "keypoint_map"};
  bool ok = !j.failed;
  for (size_t i = 0; ok && i < sizeof paths / sizeof paths[0]; i++) ok = path_identity(&j, c, paths[i]);
  ok = ok && mf_pipeline_value_hash(c, hash, err);
  mhrfit_value_free(c);
  return ok;
}
