/* Files of stage 3: view sets and fit archives (include/mhrfit/fit_io.h). */
#include "mhrfit/fit_io.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "common/path.h"
#include "io/npz_stream.h"
#include "io/npz_writer.h"
#include "io/numpy_io.h"
#include "mhrfit/ingest.h"
#include "mhrfit/layout.h"
#include "mhrfit/npy.h"
#include "mhrfit/sam3d.h"
#include "mhrfit/up_axis.h"
#include "mhrfit/value.h"

#define NP MHRFIT_N_MODEL_PARAMS
#define N_HAND 108
#define N_SCALE 28
#define N_SHAPE 45

/* ------------------------------------------------------------------------ */
/* View sets                                                                 */

void mhrfit_fit_viewset_free(mhrfit_fit_viewset *s) {
  if (!s) return;
  free(s->views);
  free(s->missing);
  free(s->note);
  free(s->hand_pose_params);
  free(s->scale_params);
  free(s->shape_params);
  free(s->keypoints_3d);
  free(s);
}

/* Copies the n values of numeric member `key` into out. Returns 0 when absent, 1 when read,
 * -1 on a malformed member (err filled). */
static int read_values(const mhrfit_value *d, const char *key, size_t n, double *out, mhrfit_error *err) {
  const mhrfit_value *v = mhrfit_value_dict_get(d, key);
  if (!v) return 0;
  const mhrfit_array *a = v->kind == MHRFIT_V_ARRAY ? v->u.array : NULL;
  if (!a || !mhrfit_dtype_is_numeric(a->dtype) || a->count != n) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "'%s' must hold %zu numbers", key, n);
    return -1;
  }
  for (size_t i = 0; i < n; i++) out[i] = mhrfit_array_get_f64(a, i);
  return 1;
}

/* Fills view v of s from one loaded stage-1 document: the person is chosen and validated by
 * stage 1's selection (ingest.h); a document without a person or with non-finite parameters
 * makes an unusable view. Returns false only for malformed files. */
static bool load_view(mhrfit_fit_viewset *s, size_t v, const mhrfit_value *root, size_t person, mhrfit_error *err) {
  mhrfit_fit_view *view = &s->views[v];
  mhrfit_value *d = NULL;
  mhrfit_error e = {0};
  if (!mhrfit_ingest_select_person(root, MHRFIT_PERSON_INDEX, (long)person, &d, NULL, &e)) {
    if (e.type != MHRFIT_ERR_NUMERIC) {
      if (err) *err = e;
      return false;
    }
    snprintf(s->note[v], sizeof s->note[v], "%.190s", e.message);
  } else if (!d) {
    snprintf(s->note[v], sizeof s->note[v], "nobody detected");
  } else if (!mhrfit_sam3d_model_params(d, view->model_params, NULL, &e)) {
    snprintf(s->note[v], sizeof s->note[v], "%.190s", e.message);
  }
  bool ok = true;
  if (s->note[v][0]) {
    for (size_t i = 0; i < NP; i++) view->model_params[i] = NAN;
  } else {
    double *kp = s->keypoints_3d + 210 * v;
    int got = read_values(d, "pred_keypoints_3d", 210, kp, err);
    view->keypoints_3d = got > 0 ? kp : NULL;
    ok = got >= 0 && read_values(d, "hand_pose_params", N_HAND, s->hand_pose_params + N_HAND * v, err) >= 0 &&
         read_values(d, "scale_params", N_SCALE, s->scale_params + N_SCALE * v, err) >= 0 &&
         read_values(d, "shape_params", N_SHAPE, s->shape_params + N_SHAPE * v, err) >= 0;
  }
  mhrfit_value_free(d);
  return ok;
}

/* A view set of n_cams views named cams[] (borrowed), every view unusable until loaded. */
static mhrfit_fit_viewset *viewset_new(const char *const *cams, size_t n_cams, mhrfit_error *err) {
  if (!n_cams) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "no cameras given");
    return NULL;
  }
  mhrfit_fit_viewset *s = calloc(1, sizeof *s);
  if (s) {
    s->n_views = n_cams;
    s->views = calloc(n_cams, sizeof *s->views);
    s->missing = calloc(n_cams, 1);
    s->note = calloc(n_cams, sizeof *s->note);
    s->hand_pose_params = calloc(n_cams * N_HAND, sizeof(double));
    s->scale_params = calloc(n_cams * N_SCALE, sizeof(double));
    s->shape_params = calloc(n_cams * N_SHAPE, sizeof(double));
    s->keypoints_3d = calloc(n_cams * 210, sizeof(double));
  }
  if (!s || !s->views || !s->missing || !s->note || !s->hand_pose_params || !s->scale_params || !s->shape_params ||
      !s->keypoints_3d) {
    mhrfit_fit_viewset_free(s);
    MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
    return NULL;
  }
  for (size_t v = 0; v < n_cams; v++) {
    mhrfit_fit_view *view = &s->views[v];
    view->name = cams[v];
    view->shape = s->shape_params + N_SHAPE * v;
    view->n_shape = N_SHAPE;
    view->mean_px = INFINITY;
  }
  return s;
}

/* Marks view v missing (no input for the camera) with `note`. */
static void set_missing(mhrfit_fit_viewset *s, size_t v, const char *note) {
  s->missing[v] = 1;
  snprintf(s->note[v], sizeof s->note[v], "%s", note);
  for (size_t i = 0; i < NP; i++) s->views[v].model_params[i] = NAN;
}

mhrfit_fit_viewset *mhrfit_fit_viewset_load(const char *dir, const char *const *cams, size_t n_cams, size_t person,
                                            bool allow_missing, mhrfit_error *err) {
  mhrfit_fit_viewset *s = viewset_new(cams, n_cams, err);
  if (!s) return NULL;
  for (size_t v = 0; v < n_cams; v++) {
    /* <cam>.npz else <cam>.npy: one open (and one read) per file found */
    char *path;
    mhrfit_error le = {0};
    mhrfit_value *root = mf_numpy_load_camera(dir, cams[v], NULL, &path, &le);
    if (!path) {
      if (le.type != MHRFIT_ERR_NONE) {
        if (err) *err = le;
        goto fail;
      }
      if (!allow_missing) {
        MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "camera '%s': neither %s/%s.npz nor %s/%s.npy exists", cams[v], dir,
                    cams[v], dir, cams[v]);
        goto fail;
      }
      char note[192];
      snprintf(note, sizeof note, "no file %s/%s.npz or .npy", dir, cams[v]);
      set_missing(s, v, note);
      continue;
    }
    if (!root && err) *err = le;
    bool ok = root && load_view(s, v, root, person, err);
    mhrfit_value_free(root);
    if (!ok) {
      mhrfit_error_prefix(err, "%s (camera '%s')", path, cams[v]);
      free(path);
      goto fail;
    }
    free(path);
  }
  return s;
fail:
  mhrfit_fit_viewset_free(s);
  return NULL;
}

mhrfit_fit_viewset *mhrfit_fit_viewset_from_values(const mhrfit_value *const *outputs, const char *const *cams,
                                                   size_t n_cams, size_t person, mhrfit_error *err) {
  mhrfit_fit_viewset *s = viewset_new(cams, n_cams, err);
  if (!s) return NULL;
  for (size_t v = 0; v < n_cams; v++) {
    if (!outputs[v]) {
      set_missing(s, v, "no output for this camera");
    } else if (!load_view(s, v, outputs[v], person, err)) {
      mhrfit_error_prefix(err, "camera '%s'", cams[v]);
      mhrfit_fit_viewset_free(s);
      return NULL;
    }
  }
  return s;
}

bool mhrfit_fit_frame_from_tri(const mhrfit_tri_archive *tri, size_t f, mhrfit_fit_viewset *views, int *kp_index,
                               double *inlier_weight, mhrfit_fit_frame *frame, mhrfit_error *err) {
  if (f >= tri->n_frames)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "frame %zu of a triangulation of %zu frames", f, tri->n_frames);
  const mhrfit_layout *mhr70 = mhrfit_layout_get("mhr70", err);
  if (!mhr70) return false;
  size_t K = tri->n_kp, V = tri->n_views;
  for (size_t k = 0; k < K; k++) {
    int32_t i = tri->subset_idx[k];
    if (i < 0 || i >= 70)
      return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "triangulated point %zu has keypoint index %d: not an MHR70 keypoint", k,
                         (int)i);
    const char *name = tri->subset_names ? tri->subset_names[k] : NULL;
    if (name && name[0] && strcmp(name, mhr70->names[i]) != 0)
      return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT,
                         "triangulated point %zu is '%s', but MHR70 keypoint %d is '%s': the fit needs the mhr70 "
                         "layout (mhrfit triangulate --layout mhr70)",
                         k, name, (int)i, mhr70->names[i]);
    kp_index[k] = i;
    double s = 0;
    for (size_t v = 0; v < V; v++) s += tri->inliers[(f * K + k) * V + v];
    inlier_weight[k] = s / (double)V;
  }
  memset(frame, 0, sizeof *frame);
  frame->n_points = K;
  frame->kp_index = kp_index;
  frame->targets = tri->points + 3 * K * f;
  frame->inlier_weight = inlier_weight;
  if (views) {
    for (size_t v = 0; v < views->n_views; v++) {
      views->views[v].mean_px = INFINITY;
      for (size_t c = 0; c < V; c++)
        if (strcmp(tri->cams[c], views->views[v].name) == 0 && isfinite(tri->mean_px[c]))
          views->views[v].mean_px = tri->mean_px[c];
    }
    frame->n_views = views->n_views;
    frame->views = views->views;
  }
  return true;
}

/* ------------------------------------------------------------------------ */
/* Fit archives                                                              */

/* One numeric member: per frame `per` values with the given tail shape. */
typedef struct member_desc {
  const char *name;
  mhrfit_dtype dtype;  /* F32, F64 or I32 in the file */
  double *d;           /* double storage, or NULL */
  int32_t *i;          /* int32 storage, or NULL */
  size_t per;          /* values per frame */
  int tail_ndim;
  size_t tail[3];
  bool optional;       /* may be absent when reading */
  size_t stride, offset; /* element (f, j) at f·stride + offset + j, for views into packed arrays */
} member_desc;

#define MAX_MEMBERS 48

static size_t describe(const mhrfit_fit_archive *a, member_desc *m) {
  size_t n = 0, K = a->n_kp, V = a->n_views, J = a->n_joints, N = a->n_vertices, I = a->n_hist;
#define ADD_D(nm, dt, ptr, cnt, nd, t0, t1, t2, opt, st, off) \
  m[n++] = (member_desc){nm, dt, ptr, NULL, cnt, nd, {t0, t1, t2}, opt, st, off}
#define ADD_I(nm, ptr, cnt, nd, t0, t1, st, off) \
  m[n++] = (member_desc){nm, MHRFIT_DT_I32, NULL, ptr, cnt, nd, {t0, t1, 0}, false, st, off}
  ADD_D("mhr_model_params", MHRFIT_DT_F32, a->model_params, NP, 1, NP, 0, 0, false, NP, 0);
  ADD_D("body_pose_params", MHRFIT_DT_F32, a->body_pose, 133, 1, 133, 0, 0, false, 133, 0);
  ADD_D("hand_pose_params", MHRFIT_DT_F32, a->hand_pose_params, N_HAND, 1, N_HAND, 0, 0, true, N_HAND, 0);
  ADD_D("scale_params", MHRFIT_DT_F32, a->scale_params, N_SCALE, 1, N_SCALE, 0, 0, true, N_SCALE, 0);
  ADD_D("shape_params", MHRFIT_DT_F32, a->shape_params, N_SHAPE, 1, N_SHAPE, 0, 0, true, N_SHAPE, 0);
  size_t P = a->n_pred_kp;
  ADD_D("pred_keypoints_3d", MHRFIT_DT_F32, a->keypoints, 3 * P, 2, P, 3, 0, false, 3 * P, 0);
  ADD_D("pred_joint_coords", MHRFIT_DT_F32, a->joints, J * 3, 2, J, 3, 0, false, J * 3, 0);
  ADD_D("pred_global_rots", MHRFIT_DT_F32, a->global_rots, J * 9, 3, J, 3, 3, false, J * 9, 0);
  if (N) ADD_D("pred_vertices", MHRFIT_DT_F32, a->vertices, N * 3, 2, N, 3, 0, true, N * 3, 0);
  ADD_D("opt_sim_scale", MHRFIT_DT_F64, a->sim_out, 1, 0, 0, 0, 0, false, 13, 0);
  ADD_D("opt_sim_R", MHRFIT_DT_F64, a->sim_out, 9, 2, 3, 3, 0, false, 13, 1);
  ADD_D("opt_sim_t", MHRFIT_DT_F64, a->sim_out, 3, 1, 3, 0, 0, false, 13, 10);
  ADD_D("opt_sim_scale_fit", MHRFIT_DT_F64, a->sim_fit, 1, 0, 0, 0, 0, false, 13, 0);
  ADD_D("opt_sim_R_fit", MHRFIT_DT_F64, a->sim_fit, 9, 2, 3, 3, 0, false, 13, 1);
  ADD_D("opt_sim_t_fit", MHRFIT_DT_F64, a->sim_fit, 3, 1, 3, 0, 0, false, 13, 10);
  ADD_I("opt_sim_reused_prev", a->sim_reused, 1, 0, 0, 0, 1, 0);
  ADD_D("opt_cam_scores_3d_m", MHRFIT_DT_F64, a->view_scores, V, 1, V, 0, 0, false, V, 0);
  ADD_I("opt_view_skipped", a->view_skipped, V, 1, V, 0, V, 0);
  static const char *const loss_names[6] = {"opt_init_loss",      "opt_best_loss",      "opt_final_loss",
                                            "opt_init_data_loss", "opt_best_data_loss", "opt_final_data_loss"};
  for (size_t k = 0; k < 6; k++) ADD_D(loss_names[k], MHRFIT_DT_F64, a->losses, 1, 0, 0, 0, 0, false, 6, k);
  static const char *const count_names[6] = {"opt_iters",           "opt_best_iter",          "opt_n_valid_points",
                                             "opt_is_bad_loss",     "opt_used_temporal_init", "opt_uniform_fallback"};
  for (size_t k = 0; k < 6; k++) ADD_I(count_names[k], a->counts, 1, 0, 0, 0, 6, k);
  if (I) {
    ADD_D("opt_loss_hist", MHRFIT_DT_F64, a->loss_hist, I, 1, I, 0, 0, true, I, 0);
    ADD_D("opt_data_loss_hist", MHRFIT_DT_F64, a->data_loss_hist, I, 1, I, 0, 0, true, I, 0);
  }
  ADD_D("opt_points3d_refined", MHRFIT_DT_F32, a->targets, K * 3, 2, K, 3, 0, false, K * 3, 0);
  ADD_D("opt_residuals_m", MHRFIT_DT_F64, a->residuals, K, 1, K, 0, 0, false, K, 0);
#undef ADD_D
#undef ADD_I
  return n;
}

static void free_names(char **names, size_t n) {
  if (names)
    for (size_t i = 0; i < n; i++) free(names[i]);
  free(names);
}

/* A copy of n strings (NULL entries refused). */
static char **copy_names(const char *const *src, size_t n, mhrfit_error *err) {
  char **d = mf_calloc_array(n ? n : 1, sizeof *d, err);
  for (size_t i = 0; d && i < n; i++) {
    if (!src[i]) {
      MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "name %zu is NULL", i);
      free_names(d, n);
      return NULL;
    }
    if (!(d[i] = mf_strdup(src[i], err))) {
      free_names(d, n);
      return NULL;
    }
  }
  return d;
}

bool mhrfit_fit_archive_describe(mhrfit_fit_archive *a, const char *const *frame_names, double fps,
                                 const mhrfit_rig *rig, mhrfit_error *err) {
  a->fps = fps;
  if (frame_names) {
    char **f = copy_names(frame_names, a->n_frames, err);
    if (!f) return false;
    free_names(a->frame_names, a->n_frames);
    a->frame_names = f;
  }
  if (rig && rig->n_joints == a->n_joints) {
    const char **jn = mf_malloc_array(a->n_joints, sizeof *jn, err);
    if (!jn) return false;
    for (size_t j = 0; j < a->n_joints; j++) jn[j] = rig->joint_names[j];
    char **names = copy_names(jn, a->n_joints, err);
    free(jn);
    if (!names) return false;
    free_names(a->joint_names, a->n_joints);
    a->joint_names = names;
  }
  if (rig && a->n_vertices && rig->n_vertices == a->n_vertices && rig->n_faces) {
    int32_t *faces = mf_malloc_array(rig->n_faces * 3, sizeof *faces, err);
    if (!faces) return false;
    memcpy(faces, rig->faces, rig->n_faces * 3 * sizeof *faces);
    free(a->faces);
    a->faces = faces;
    a->n_faces = rig->n_faces;
  }
  return true;
}

/* The up axis markers of an archive's predicted keypoints (mhrfit_up_markers(): hips, neck,
 * shoulders by name); false when its keypoint set has none. */
static bool up_markers_of(const mhrfit_fit_archive *a, long idx[5]) {
  const mhrfit_layout *mhr70 = mhrfit_layout_get("mhr70", NULL);
  const char *const *names = a->keypoint_names ? (const char *const *)a->keypoint_names
                             : a->n_pred_kp == 70 && mhr70 ? mhr70->names : NULL;
  return names && mhrfit_up_markers(names, a->n_pred_kp, idx);
}

/* The markers of frame f of `a` into pts[15]: those of the ok and recovered frames, NaN rows for
 * the other frames. */
static void up_points(const mhrfit_fit_archive *a, const long idx[5], size_t f, double *pts) {
  bool use = strcmp(a->status[f], "ok") == 0 || strncmp(a->status[f], "recovered", 9) == 0;
  for (int m = 0; m < 5; m++)
    for (int c = 0; c < 3; c++)
      pts[m * 3 + c] = use && idx[m] >= 0 ? a->keypoints[(f * a->n_pred_kp + (size_t)idx[m]) * 3 + (size_t)c] : NAN;
}

/* world_up from the markers of F frames (F x 15, up_points()). */
static void detect_up(const double *pts, size_t F, const long idx[5], char up_name[4]) {
  const long mi[5] = {idx[0] >= 0 ? 0 : -1, idx[1] >= 0 ? 1 : -1, idx[2] >= 0 ? 2 : -1, idx[3] >= 0 ? 3 : -1,
                      idx[4] >= 0 ? 4 : -1};
  mhrfit_up_axis up;
  up_name[0] = '\0';
  if (mhrfit_up_detect(pts, F, 5, mi, &up, NULL, NULL, NULL)) snprintf(up_name, 4, "%s", mhrfit_up_name(up));
}

void mhrfit_fit_archive_update_world_up(mhrfit_fit_archive *a) {
  a->world_up[0] = '\0';
  long idx[5];
  if (!up_markers_of(a, idx)) return;
  size_t F = a->n_frames;
  double *pts = malloc((F ? F : 1) * 5 * 3 * sizeof *pts);
  if (!pts) return;
  for (size_t f = 0; f < F; f++) up_points(a, idx, f, pts + 15 * f);
  detect_up(pts, F, idx, a->world_up);
  free(pts);
}

bool mhrfit_fit_check_frame_values(const char *source, const char *name, size_t f, const char *status,
                                   const double *model_params, const double *shape_params, const double *sim,
                                   const double *expr_params, mhrfit_error *err) {
  const struct {
    const char *key;
    const double *v;
    int n;
  } keys[] = {{"mhr_model_params", model_params, 204},
              {"shape_params", shape_params, 45},
              {"opt_sim_scale", sim, 1},
              {"opt_sim_R", sim + 1, 9},
              {"opt_sim_t", sim + 10, 3},
              {"expr_params", expr_params, expr_params ? 72 : 0}};
  for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
    for (int i = 0; i < keys[k].n; i++)
      if (!isfinite(keys[k].v[i]))
        return MHRFIT_FAIL(err, MHRFIT_ERR_NUMERIC, "%s: frame %s (index %zu, status %s): %s[%d] is not finite", source,
                           name, f, status, keys[k].key, i);
  if (!(sim[0] > 0))
    return MHRFIT_FAIL(err, MHRFIT_ERR_NUMERIC, "%s: frame %s (index %zu): opt_sim_scale is %g, not positive", source,
                       name, f, sim[0]);
  return true;
}

bool mhrfit_fit_archive_check_values(const mhrfit_fit_archive *a, const char *source, mhrfit_error *err) {
  for (size_t f = 0; f < a->n_frames; f++) {
    if (strcmp(a->status[f], "ok") != 0 && strncmp(a->status[f], "recovered", 9) != 0) continue;
    char name[32];
    if (!a->frame_names || !a->frame_names[f]) snprintf(name, sizeof name, "%06zu", f);
    if (!mhrfit_fit_check_frame_values(source, a->frame_names && a->frame_names[f] ? a->frame_names[f] : name, f,
                                       a->status[f], a->model_params + 204 * f, a->shape_params + 45 * f,
                                       a->sim_out + 13 * f, NULL, err))
      return false;
  }
  return true;
}

void mhrfit_fit_archive_free(mhrfit_fit_archive *a) {
  if (!a) return;
  free(a->status);
  free(a->message);
  free(a->init_cam);
  if (a->cams)
    for (size_t v = 0; v < a->n_views; v++) free(a->cams[v]);
  free(a->cams);
  free(a->subset_idx);
  double *dbl[] = {a->model_params, a->body_pose, a->hand_pose_params, a->scale_params, a->shape_params,
                   a->keypoints, a->joints, a->global_rots, a->vertices, a->sim_out, a->sim_fit, a->view_scores,
                   a->losses, a->loss_hist, a->data_loss_hist, a->targets, a->residuals};
  for (size_t i = 0; i < sizeof dbl / sizeof dbl[0]; i++) free(dbl[i]);
  free(a->sim_reused);
  free(a->view_skipped);
  free(a->counts);
  free_names(a->frame_names, a->n_frames);
  free_names(a->joint_names, a->n_joints);
  free_names(a->keypoint_names, a->n_pred_kp);
  free(a->faces);
  free(a);
}

/* Storage for n doubles (at least one); the frames are initialised by mhrfit_fit_archive_clear_frame. */
static double *doubles(size_t n) { return malloc((n ? n : 1) * sizeof(double)); }

mhrfit_fit_archive *mhrfit_fit_archive_new(size_t n_frames, size_t n_kp, size_t n_views, size_t n_joints,
                                           size_t n_vertices, size_t n_hist, const char *const *cams,
                                           mhrfit_error *err) {
  if (!n_frames || !n_kp || !n_views || !n_joints) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "fit archive: empty size (frames %zu, targets %zu, views %zu, joints %zu)",
                n_frames, n_kp, n_views, n_joints);
    return NULL;
  }
  size_t F = n_frames;
  mhrfit_fit_archive *a = calloc(1, sizeof *a);
  if (!a) goto nomem;
  a->n_frames = F;
  a->n_kp = n_kp;
  a->n_views = n_views;
  a->n_joints = n_joints;
  a->n_vertices = n_vertices;
  a->n_hist = n_hist;
  a->frame_axis = true;
  a->status = calloc(F, sizeof *a->status);
  a->message = calloc(F, sizeof *a->message);
  a->init_cam = calloc(F, sizeof *a->init_cam);
  a->cams = calloc(n_views, sizeof *a->cams);
  a->subset_idx = calloc(n_kp, sizeof *a->subset_idx);
  a->model_params = doubles(F * NP);
  a->body_pose = doubles(F * 133);
  a->hand_pose_params = doubles(F * N_HAND);
  a->scale_params = doubles(F * N_SCALE);
  a->shape_params = doubles(F * N_SHAPE);
  a->n_pred_kp = 70;
  a->keypoints = doubles(F * 210);
  a->joints = doubles(F * n_joints * 3);
  a->global_rots = doubles(F * n_joints * 9);
  a->vertices = n_vertices ? doubles(F * n_vertices * 3) : NULL;
  a->sim_out = doubles(F * 13);
  a->sim_fit = doubles(F * 13);
  a->sim_reused = calloc(F, sizeof *a->sim_reused);
  a->view_scores = doubles(F * n_views);
  a->view_skipped = calloc(F * n_views, sizeof *a->view_skipped);
  a->losses = doubles(F * 6);
  a->counts = calloc(F * 6, sizeof *a->counts);
  a->loss_hist = doubles(F * n_hist);
  a->data_loss_hist = doubles(F * n_hist);
  a->targets = doubles(F * n_kp * 3);
  a->residuals = doubles(F * n_kp);
  if (!a->status || !a->message || !a->init_cam || !a->cams || !a->subset_idx || !a->model_params || !a->body_pose ||
      !a->hand_pose_params || !a->scale_params || !a->shape_params || !a->keypoints || !a->joints ||
      !a->global_rots || (n_vertices && !a->vertices) || !a->sim_out || !a->sim_fit || !a->sim_reused ||
      !a->view_scores || !a->view_skipped || !a->losses || !a->counts || !a->loss_hist || !a->data_loss_hist ||
      !a->targets || !a->residuals)
    goto nomem;
  for (size_t v = 0; v < n_views; v++) {
    const char *c = cams ? cams[v] : "";
    a->cams[v] = malloc(strlen(c) + 1);
    if (!a->cams[v]) goto nomem;
    strcpy(a->cams[v], c);
  }
  for (size_t f = 0; f < F; f++) mhrfit_fit_archive_clear_frame(a, f);
  for (size_t k = 0; k < n_kp; k++) a->subset_idx[k] = (int32_t)k;
  strcpy(a->solver, "lm");
  a->fps = NAN;
  return a;
nomem:
  mhrfit_fit_archive_free(a);
  MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory for a fit archive of %zu frames", n_frames);
  return NULL;
}

bool mhrfit_fit_archive_set_pred_keypoints(mhrfit_fit_archive *a, size_t n, const char *const *names,
                                           mhrfit_error *err) {
  if (n == 0 || n > 100000) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "fit archive: %zu predicted keypoints", n);
  char **kn = names ? copy_names(names, n, err) : NULL;
  if (names && !kn) return false;
  double *kp = mf_malloc_array(a->n_frames ? a->n_frames * 3 * n : 1, sizeof *kp, err);
  if (!kp) {
    free_names(kn, n);
    return false;
  }
  free_names(a->keypoint_names, a->n_pred_kp);
  a->keypoint_names = kn;
  for (size_t i = 0; i < a->n_frames * 3 * n; i++) kp[i] = NAN;
  free(a->keypoints);
  a->keypoints = kp;
  a->n_pred_kp = n;
  return true;
}

void mhrfit_fit_archive_set_options(mhrfit_fit_archive *a, const mhrfit_fit_options *o) {
  strcpy(a->solver, o->solver == MHRFIT_SOLVER_ADAM ? "adam" : "lm");
  a->freeze_lower_body = o->freeze_lower_body;
  a->optimize_hand_pose = o->optimize_hand_pose;
  a->anchor_similarity = o->anchor_similarity;
  a->w_temporal = o->w_temporal;
  a->w_hand_reg = o->w_hand_reg;
}

static void put_sim(double *dst, const mhrfit_similarity *s) {
  dst[0] = s->s;
  memcpy(dst + 1, s->R, 9 * sizeof *dst);
  memcpy(dst + 10, s->t, 3 * sizeof *dst);
}

void mhrfit_fit_archive_get_similarity(const mhrfit_fit_archive *a, size_t f, mhrfit_similarity *sim) {
  const double *p = a->sim_out + 13 * f;
  sim->s = p[0];
  memcpy(sim->R, p + 1, sizeof sim->R);
  memcpy(sim->t, p + 10, sizeof sim->t);
}

void mhrfit_fit_archive_set_similarity(mhrfit_fit_archive *a, size_t f, const mhrfit_similarity *sim) {
  put_sim(a->sim_out + 13 * f, sim);
}

void mhrfit_fit_archive_clear_frame(mhrfit_fit_archive *a, size_t f) {
  if (f >= a->n_frames) return;
  member_desc m[MAX_MEMBERS];
  size_t n = describe(a, m);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < m[i].per; j++) {
      size_t k = f * m[i].stride + m[i].offset + j;
      if (m[i].i) m[i].i[k] = 0;
      else m[i].d[k] = NAN;
    }
  a->counts[6 * f + 1] = -1; /* best_iter: never improved */
  strcpy(a->status[f], "not_run");
  a->message[f][0] = a->init_cam[f][0] = '\0';
}

void mhrfit_fit_archive_set(mhrfit_fit_archive *a, size_t f, const mhrfit_fit_frame *frame,
                            const mhrfit_fit_viewset *views, const mhrfit_fit_result *res) {
  if (f >= a->n_frames) return;
  size_t J = a->n_joints, K = a->n_kp, V = a->n_views;
  snprintf(a->status[f], sizeof a->status[f], "%s", res->status == MHRFIT_FIT_OK ? "ok" : "bad_loss");
  a->message[f][0] = '\0';
  int iv = res->init_view;
  a->init_cam[f][0] = '\0';
  if (iv >= 0 && (size_t)iv < frame->n_views && frame->views[iv].name)
    snprintf(a->init_cam[f], sizeof a->init_cam[f], "%s", frame->views[iv].name);
  memcpy(a->model_params + NP * f, res->model_params, NP * sizeof(double));
  memcpy(a->body_pose + 133 * f, res->body_pose, 133 * sizeof(double));
  for (size_t i = 0; i < N_HAND; i++) a->hand_pose_params[N_HAND * f + i] = 0;
  for (size_t i = 0; i < N_SCALE; i++) a->scale_params[N_SCALE * f + i] = 0;
  for (size_t i = 0; i < N_SHAPE; i++) a->shape_params[N_SHAPE * f + i] = 0;
  if (views && iv >= 0 && (size_t)iv < views->n_views) {
    memcpy(a->hand_pose_params + N_HAND * f, views->hand_pose_params + N_HAND * iv, N_HAND * sizeof(double));
    memcpy(a->scale_params + N_SCALE * f, views->scale_params + N_SCALE * iv, N_SCALE * sizeof(double));
    memcpy(a->shape_params + N_SHAPE * f, views->shape_params + N_SHAPE * iv, N_SHAPE * sizeof(double));
  }
  memcpy(a->keypoints + 3 * a->n_pred_kp * f, res->keypoints, 3 * a->n_pred_kp * sizeof(double));
  memcpy(a->joints + J * 3 * f, res->joints, J * 3 * sizeof(double));
  memcpy(a->global_rots + J * 9 * f, res->global_rots, J * 9 * sizeof(double));
  for (size_t i = 0; a->n_vertices && i < a->n_vertices * 3; i++)
    a->vertices[a->n_vertices * 3 * f + i] = res->vertices ? res->vertices[i] : NAN;
  put_sim(a->sim_out + 13 * f, &res->sim_out);
  put_sim(a->sim_fit + 13 * f, &res->sim_fit);
  a->sim_reused[f] = res->sim_reused_prev;
  for (size_t v = 0; v < V; v++) {
    a->view_scores[V * f + v] = v < frame->n_views ? res->view_scores[v] : NAN;
    a->view_skipped[V * f + v] = v < frame->n_views ? res->view_skipped[v] : 1;
  }
  double *L = a->losses + 6 * f;
  L[0] = res->init_loss, L[1] = res->best_loss, L[2] = res->final_loss;
  L[3] = res->init_data_loss, L[4] = res->best_data_loss, L[5] = res->final_data_loss;
  int32_t *C = a->counts + 6 * f;
  C[0] = res->n_iters, C[1] = res->best_iter, C[2] = res->n_valid_points;
  C[3] = res->is_bad, C[4] = res->used_temporal_init, C[5] = res->uniform_fallback;
  for (size_t i = 0; i < a->n_hist; i++) {
    bool have = i < (size_t)res->n_iters;
    a->loss_hist[a->n_hist * f + i] = have ? res->loss_history[i] : NAN;
    a->data_loss_hist[a->n_hist * f + i] = have ? res->data_loss_history[i] : NAN;
  }
  for (size_t k = 0; k < K; k++) {
    bool have = k < frame->n_points;
    for (int c = 0; c < 3; c++) a->targets[3 * (K * f + k) + c] = have ? frame->targets[3 * k + c] : NAN;
    a->residuals[K * f + k] = have ? res->residuals[k] : NAN;
    if (have && f == 0) a->subset_idx[k] = frame->kp_index[k];
  }
}

bool mhrfit_fit_archive_copy_frame(mhrfit_fit_archive *dst, size_t df, const mhrfit_fit_archive *src, size_t sf,
                                   mhrfit_error *err) {
  if (dst->n_pred_kp != src->n_pred_kp)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "fit archives differ: predicted keypoints %zu/%zu", dst->n_pred_kp,
                       src->n_pred_kp);
  if (dst->n_kp != src->n_kp || dst->n_views != src->n_views || dst->n_joints != src->n_joints ||
      (dst->n_vertices != src->n_vertices && dst->n_vertices && src->n_vertices) || dst->n_hist != src->n_hist)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT,
                       "fit archives differ: targets %zu/%zu, views %zu/%zu, joints %zu/%zu, vertices %zu/%zu, "
                       "history %zu/%zu",
                       dst->n_kp, src->n_kp, dst->n_views, src->n_views, dst->n_joints, src->n_joints,
                       dst->n_vertices, src->n_vertices, dst->n_hist, src->n_hist);
  if (df >= dst->n_frames || sf >= src->n_frames)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "fit archive frame out of range");
  member_desc md[MAX_MEMBERS], ms[MAX_MEMBERS];
  size_t n = describe(dst, md), ns = describe(src, ms);
  for (size_t i = 0; i < n; i++) {
    size_t k = 0; /* the member of the same name (the vertices may be absent from one side) */
    while (k < ns && strcmp(ms[k].name, md[i].name) != 0) k++;
    for (size_t j = 0; j < md[i].per; j++) {
      size_t a = df * md[i].stride + md[i].offset + j, b = sf * (k < ns ? ms[k].stride : 0) + (k < ns ? ms[k].offset : 0) + j;
      if (md[i].i) md[i].i[a] = k < ns ? ms[k].i[b] : 0;
      else md[i].d[a] = k < ns ? ms[k].d[b] : NAN;
    }
  }
  memcpy(dst->status[df], src->status[sf], sizeof dst->status[df]);
  memcpy(dst->message[df], src->message[sf], sizeof dst->message[df]);
  memcpy(dst->init_cam[df], src->init_cam[sf], sizeof dst->init_cam[df]);
  return true;
}

void mhrfit_fit_archive_set_failed(mhrfit_fit_archive *a, size_t f, const char *status, const char *message) {
  if (f >= a->n_frames) return;
  snprintf(a->status[f], sizeof a->status[f], "%s", status ? status : "optimization_failed");
  snprintf(a->message[f], sizeof a->message[f], "%.255s", message ? message : "");
}

/* The file shape of a member: [F] + tail (F dropped without the frame axis). */
static int file_shape(const mhrfit_fit_archive *a, const member_desc *m, size_t *shape) {
  int nd = 0;
  if (a->frame_axis || a->n_frames > 1) shape[nd++] = a->n_frames;
  for (int i = 0; i < m->tail_ndim; i++) shape[nd++] = m->tail[i];
  return nd;
}

/* What the members after the per-frame numbers need of the F frames. */
typedef struct frame_tail {
  size_t F;
  const char *const *status, *const *message, *const *init_cam; /* F each */
  const double *growth;                                          /* 2F: final/best total, then data loss */
  const char *world_up;                                          /* "" when unknown */
} frame_tail;

/* Adds the members after the per-frame numbers (fit_io.h), in the file's order, to `w`. */
static void add_tail(const mhrfit_fit_archive *a, const frame_tail *t, mf_npz_writer *w) {
  size_t F = t->F, lead_shape[1] = {F};
  int lead = a->frame_axis || F > 1;
  mf_npz_add_strings(w, "opt_status", t->status, F, lead);
  mf_npz_add_strings(w, "opt_message", t->message, F, lead);
  mf_npz_add_strings(w, "opt_init_cam", t->init_cam, F, lead);
  mf_npz_add_strings(w, "opt_cams", (const char *const *)a->cams, a->n_views, 1);
  mf_npz_add_i32(w, "opt_subset_indices", a->subset_idx, 1, &a->n_kp);
  const char *solver = a->solver;
  mf_npz_add_strings(w, "opt_solver", &solver, 1, 0);
  mf_npz_add_scalar_i32(w, "opt_freeze_lower_body", a->freeze_lower_body);
  mf_npz_add_scalar_i32(w, "opt_optimize_hand_pose", a->optimize_hand_pose);
  mf_npz_add_scalar_i32(w, "opt_use_anchor_similarity", a->anchor_similarity);
  mf_npz_add_scalar_f64(w, "opt_temporal_weight", a->w_temporal);
  mf_npz_add_scalar_f64(w, "opt_hand_reg_weight", a->w_hand_reg);
  /* self-description */
  const mhrfit_layout *mhr70 = mhrfit_layout_get("mhr70", NULL);
  if (a->keypoint_names)
    mf_npz_add_strings(w, "keypoint_names", (const char *const *)a->keypoint_names, a->n_pred_kp, 1);
  else if (mhr70 && a->n_pred_kp == 70)
    mf_npz_add_strings(w, "keypoint_names", mhr70->names, 70, 1);
  const char *units = "m";
  mf_npz_add_strings(w, "units", &units, 1, 0);
  if (a->frame_names) mf_npz_add_strings(w, "frame_names", (const char *const *)a->frame_names, F, 1);
  if (isfinite(a->fps)) mf_npz_add_scalar_f64(w, "fps", a->fps);
  if (a->joint_names) mf_npz_add_strings(w, "joint_names", (const char *const *)a->joint_names, a->n_joints, 1);
  if (a->faces && a->n_vertices) {
    size_t fshape[2] = {a->n_faces, 3};
    mf_npz_add_i32(w, "faces", a->faces, 2, fshape);
  }
  if (t->world_up[0]) mf_npz_add_strings(w, "world_up", &t->world_up, 1, 0);
  /* growth ratios final / best, as the original reports them */
  mf_npz_add_f64(w, "opt_loss_growth_ratio", t->growth, lead, lead_shape);
  mf_npz_add_f64(w, "opt_data_loss_growth_ratio", t->growth + F, lead, lead_shape);
}

/* The growth ratios final / best of frame f of `a`: of the total loss into *total, of the data
 * loss into *data. */
static void growth_of(const mhrfit_fit_archive *a, size_t f, double *total, double *data) {
  const double *L = a->losses + 6 * f;
  *total = L[2] / L[1];
  *data = L[5] / L[4];
}

/* Adds the members of the file (fit_io.h) to `w`; false (w freed) when out of memory. */
static bool build_members(const mhrfit_fit_archive *a, mf_npz_writer *w, mhrfit_error *err) {
  member_desc m[MAX_MEMBERS];
  size_t n = describe(a, m), F = a->n_frames;
  for (size_t i = 0; i < n && !w->failed; i++) {
    size_t shape[4];
    int nd = file_shape(a, &m[i], shape);
    mhrfit_array *arr = mf_npz_add(w, m[i].name, m[i].dtype, nd, shape);
    if (!arr) break;
    for (size_t f = 0; f < F; f++)
      for (size_t j = 0; j < m[i].per; j++) {
        size_t src = f * m[i].stride + m[i].offset + j, dst = f * m[i].per + j;
        if (m[i].i) ((int32_t *)arr->data)[dst] = m[i].i[src];
        else if (m[i].dtype == MHRFIT_DT_F32) ((float *)arr->data)[dst] = (float)m[i].d[src];
        else ((double *)arr->data)[dst] = m[i].d[src];
      }
  }
  const char **s = mf_malloc_array(3 * F + 1, sizeof *s, err);
  double *growth = s ? mf_malloc_array(2 * F + 1, sizeof *growth, err) : NULL;
  if (growth) {
    for (size_t f = 0; f < F; f++) {
      s[f] = a->status[f];
      s[F + f] = a->message[f];
      s[2 * F + f] = a->init_cam[f];
      growth_of(a, f, &growth[f], &growth[F + f]);
    }
    frame_tail t = {F, s, s + F, s + 2 * F, growth, a->world_up};
    add_tail(a, &t, w);
  }
  free(s);
  free(growth);
  if (!growth) mf_npz_writer_free(w);
  return growth != NULL;
}

bool mhrfit_fit_archive_save(const char *path, const mhrfit_fit_archive *a, mhrfit_error *err) {
  mf_npz_writer w = {0};
  bool ok = build_members(a, &w, err) && mf_npz_writer_save(&w, path, true, err);
  mf_npz_writer_free(&w);
  return ok;
}

mhrfit_value *mhrfit_fit_archive_to_value(const mhrfit_fit_archive *a, mhrfit_error *err) {
  mf_npz_writer w = {0};
  return build_members(a, &w, err) ? mf_npz_writer_take_dict(&w, err) : NULL;
}

/* ------------------------------------------------------------------------ */
/* Writing a sequence frame by frame                                         */

struct mhrfit_fit_writer {
  mhrfit_fit_archive *layout;   /* sizes, settings and description (one frame, never filled) */
  size_t F, next;               /* frames of the file; frames appended */
  mf_npz_stream *s;
  int member_index[MAX_MEMBERS];/* stream member of each describe() member */
  size_t n_members;
  char (*status)[32], (*init_cam)[64];
  char **message;               /* NULL where empty */
  double *growth;               /* 2F */
  double *up;                   /* F x 15 markers (up_points()) */
  long up_idx[5];
  bool have_up;
  float *row_f32;               /* one frame of the largest member */
  double *row_f64;
  int32_t *row_i32;
};

/* A 1-frame archive shaped and described like `src`. */
static mhrfit_fit_archive *layout_of(const mhrfit_fit_archive *src, mhrfit_error *err) {
  mhrfit_fit_archive *a = mhrfit_fit_archive_new(1, src->n_kp, src->n_views, src->n_joints, src->n_vertices,
                                                 src->n_hist, (const char *const *)src->cams, err);
  if (!a) return NULL;
  if (src->n_pred_kp != 70 || src->keypoint_names) {
    if (!mhrfit_fit_archive_set_pred_keypoints(a, src->n_pred_kp, (const char *const *)src->keypoint_names, err)) {
      mhrfit_fit_archive_free(a);
      return NULL;
    }
  }
  memcpy(a->subset_idx, src->subset_idx, src->n_kp * sizeof *a->subset_idx);
  memcpy(a->solver, src->solver, sizeof a->solver);
  a->freeze_lower_body = src->freeze_lower_body;
  a->optimize_hand_pose = src->optimize_hand_pose;
  a->anchor_similarity = src->anchor_similarity;
  a->w_temporal = src->w_temporal;
  a->w_hand_reg = src->w_hand_reg;
  a->fps = src->fps;
  bool ok = true;
  if (src->joint_names) ok = (a->joint_names = copy_names((const char *const *)src->joint_names, src->n_joints, err));
  if (ok && src->faces && src->n_vertices) {
    ok = (a->faces = mf_malloc_array(src->n_faces * 3 + 1, sizeof *a->faces, err));
    if (ok) memcpy(a->faces, src->faces, src->n_faces * 3 * sizeof *a->faces);
    a->n_faces = ok ? src->n_faces : 0;
  }
  if (!ok) {
    mhrfit_fit_archive_free(a);
    return NULL;
  }
  return a;
}

void mhrfit_fit_writer_free(mhrfit_fit_writer *w) {
  if (!w) return;
  mf_npz_stream_free(w->s);
  if (w->layout) { /* the one-frame layout holds the names of the file's F frames */
    free_names(w->layout->frame_names, w->F);
    w->layout->frame_names = NULL;
  }
  mhrfit_fit_archive_free(w->layout);
  if (w->message)
    for (size_t f = 0; f < w->F; f++) free(w->message[f]);
  free(w->message);
  free(w->status);
  free(w->init_cam);
  free(w->growth);
  free(w->up);
  free(w->row_f32);
  free(w->row_f64);
  free(w->row_i32);
  free(w);
}

mhrfit_fit_writer *mhrfit_fit_writer_open(const char *path, const mhrfit_fit_archive *layout, size_t n_frames,
                                          const char *const *frame_names, mhrfit_error *err) {
  if (!n_frames) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "%s: a sequence archive of no frame", path);
    return NULL;
  }
  mhrfit_fit_writer *w = calloc(1, sizeof *w);
  if (!w) {
    MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
    return NULL;
  }
  w->F = n_frames;
  if (!(w->layout = layout_of(layout, err))) goto fail;
  w->layout->frame_axis = true;
  if (frame_names && !(w->layout->frame_names = copy_names(frame_names, n_frames, err))) goto fail;
  w->status = mf_calloc_array(n_frames, sizeof *w->status, err);
  w->init_cam = w->status ? mf_calloc_array(n_frames, sizeof *w->init_cam, err) : NULL;
  w->message = w->init_cam ? mf_calloc_array(n_frames, sizeof *w->message, err) : NULL;
  w->growth = w->message ? mf_malloc_array(2 * n_frames, sizeof *w->growth, err) : NULL;
  w->have_up = up_markers_of(w->layout, w->up_idx);
  w->up = w->growth && w->have_up ? mf_malloc_array(15 * n_frames, sizeof *w->up, err) : NULL;
  if (!w->growth || (w->have_up && !w->up) || !(w->s = mf_npz_stream_new(path, true, err))) goto fail;
  member_desc m[MAX_MEMBERS];
  size_t n = describe(w->layout, m), most = 1;
  for (size_t i = 0; i < n; i++) {
    size_t shape[4] = {n_frames, m[i].tail[0], m[i].tail[1], m[i].tail[2]};
    w->member_index[i] = mf_npz_stream_add_rows(w->s, m[i].name, m[i].dtype, mhrfit_dtype_size(m[i].dtype),
                                                1 + m[i].tail_ndim, shape);
    if (m[i].per > most) most = m[i].per;
  }
  w->n_members = n;
  w->row_f32 = mf_malloc_array(most, sizeof *w->row_f32, err);
  w->row_f64 = w->row_f32 ? mf_malloc_array(most, sizeof *w->row_f64, err) : NULL;
  w->row_i32 = w->row_f64 ? mf_malloc_array(most, sizeof *w->row_i32, err) : NULL;
  if (!w->row_i32) goto fail;
  if (!mf_npz_stream_begin(w->s)) {
    mf_npz_stream_close(w->s, err); /* reports the recorded failure */
    goto fail;
  }
  return w;
fail:
  mhrfit_fit_writer_free(w);
  return NULL;
}

bool mhrfit_fit_writer_append(mhrfit_fit_writer *w, const mhrfit_fit_archive *src, size_t f, mhrfit_error *err) {
  const mhrfit_fit_archive *L = w->layout;
  if (w->next >= w->F || f >= src->n_frames)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "fit writer: frame %zu of %zu appended (the file holds %zu)", w->next,
                       src->n_frames, w->F);
  if (src->n_kp != L->n_kp || src->n_views != L->n_views || src->n_joints != L->n_joints ||
      src->n_hist != L->n_hist || src->n_pred_kp != L->n_pred_kp || (src->n_vertices && src->n_vertices != L->n_vertices))
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT,
                       "fit writer: the frame's sizes differ from the file's (targets %zu/%zu, views %zu/%zu, joints "
                       "%zu/%zu, history %zu/%zu, keypoints %zu/%zu, vertices %zu/%zu)",
                       src->n_kp, L->n_kp, src->n_views, L->n_views, src->n_joints, L->n_joints, src->n_hist,
                       L->n_hist, src->n_pred_kp, L->n_pred_kp, src->n_vertices, L->n_vertices);
  member_desc ms[MAX_MEMBERS], ml[MAX_MEMBERS];
  size_t ns = describe(src, ms);
  describe(L, ml);
  for (size_t i = 0; i < w->n_members; i++) {
    const member_desc *m = NULL; /* the member of the same name (the vertices may be absent from src) */
    for (size_t k = 0; k < ns && !m; k++)
      if (strcmp(ms[k].name, ml[i].name) == 0) m = &ms[k];
    size_t per = ml[i].per;
    for (size_t j = 0; j < per; j++) {
      size_t at = m ? f * m->stride + m->offset + j : 0;
      if (ml[i].i) w->row_i32[j] = m ? m->i[at] : 0;
      else if (ml[i].dtype == MHRFIT_DT_F32) w->row_f32[j] = m ? (float)m->d[at] : NAN;
      else w->row_f64[j] = m ? m->d[at] : NAN;
    }
    const void *row = ml[i].i ? (const void *)w->row_i32 : ml[i].dtype == MHRFIT_DT_F32 ? (const void *)w->row_f32
                                                                                       : (const void *)w->row_f64;
    mf_npz_stream_write(w->s, w->member_index[i], row, per);
  }
  size_t t = w->next++;
  memcpy(w->status[t], src->status[f], sizeof w->status[t]);
  memcpy(w->init_cam[t], src->init_cam[f], sizeof w->init_cam[t]);
  free(w->message[t]);
  w->message[t] = NULL;
  if (src->message[f][0] && !(w->message[t] = mf_strdup(src->message[f], err))) return false;
  growth_of(src, f, &w->growth[t], &w->growth[w->F + t]);
  if (w->have_up) {
    long idx[5];
    if (up_markers_of(src, idx)) up_points(src, idx, f, w->up + 15 * t);
    else for (int k = 0; k < 15; k++) w->up[15 * t + (size_t)k] = NAN;
  }
  return true;
}

bool mhrfit_fit_writer_close(mhrfit_fit_writer *w, mhrfit_error *err) {
  size_t F = w->F;
  if (w->next != F)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "fit writer: %zu of %zu frames appended", w->next, F);
  char up[4] = "";
  if (w->have_up) detect_up(w->up, F, w->up_idx, up);
  const char **s = mf_malloc_array(3 * F, sizeof *s, err);
  if (!s) return false;
  for (size_t f = 0; f < F; f++) {
    s[f] = w->status[f];
    s[F + f] = w->message[f] ? w->message[f] : "";
    s[2 * F + f] = w->init_cam[f];
  }
  frame_tail t = {F, s, s + F, s + 2 * F, w->growth, up};
  mf_npz_writer tail = {0};
  add_tail(w->layout, &t, &tail);
  free(s);
  if (tail.failed) {
    if (err) *err = tail.err;
    mf_npz_writer_free(&tail);
    return false;
  }
  for (size_t i = 0; i < tail.n; i++) {
    int k = mf_npz_stream_add_later(w->s, tail.names[i]);
    mf_npz_stream_set(w->s, k, tail.arrays[i]);
    tail.arrays[i] = NULL;
  }
  mf_npz_writer_free(&tail);
  return mf_npz_stream_close(w->s, err);
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                   */

static const mhrfit_array *get_array(const mhrfit_value *d, const char *path, const char *key, bool optional,
                                     bool *bad, mhrfit_error *err) {
  const mhrfit_value *v = mhrfit_value_dict_get(d, key);
  if (v && v->kind == MHRFIT_V_ARRAY) return v->u.array;
  if (v || !optional) {
    *bad = true;
    MHRFIT_FAIL(err, v ? MHRFIT_ERR_FORMAT : MHRFIT_ERR_NOT_FOUND, "%s: %s member '%s'", path,
                v ? "not an array:" : "no", key);
  }
  return NULL;
}

static bool get_strings(const mhrfit_value *d, const char *path, const char *key, size_t n, char *out,
                        size_t width, mhrfit_error *err) {
  bool bad = false;
  const mhrfit_array *arr = get_array(d, path, key, false, &bad, err);
  if (!arr) return false;
  if ((arr->dtype != MHRFIT_DT_UNICODE && arr->dtype != MHRFIT_DT_BYTES) || arr->count != n)
    return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: member '%s' must be %zu strings", path, key, n);
  for (size_t i = 0; i < n; i++)
    if (!mhrfit_array_get_string(arr, i, out + i * width, width, err)) {
      mhrfit_error_prefix(err, "%s: member '%s'", path, key);
      return false;
    }
  return true;
}

/* n strings of member `key` as new copies, or NULL (err untouched) when the member is absent or
 * not n strings. */
static char **load_names(const mhrfit_value *d, const char *key, size_t n, mhrfit_error *err, bool *failed) {
  const mhrfit_value *v = mhrfit_value_dict_get(d, key);
  if (!v || v->kind != MHRFIT_V_ARRAY || v->u.array->count != n ||
      (v->u.array->dtype != MHRFIT_DT_UNICODE && v->u.array->dtype != MHRFIT_DT_BYTES))
    return NULL;
  char **out = mf_calloc_array(n ? n : 1, sizeof *out, err);
  char buf[1024];
  for (size_t i = 0; out && i < n; i++)
    if (!mhrfit_array_get_string(v->u.array, i, buf, sizeof buf, NULL) || !(out[i] = mf_strdup(buf, err))) {
      free_names(out, n);
      out = NULL;
    }
  if (!out) *failed = true;
  return out;
}

/* The optional self-description members (mhrfit_fit_archive_describe()); those of another size
 * are left out. */
static bool load_description(const mhrfit_value *d, const char *path, mhrfit_fit_archive *a, mhrfit_error *err) {
  bool failed = false;
  a->frame_names = load_names(d, "frame_names", a->n_frames, err, &failed);
  a->joint_names = failed ? NULL : load_names(d, "joint_names", a->n_joints, err, &failed);
  if (!failed && a->n_pred_kp != 70) a->keypoint_names = load_names(d, "keypoint_names", a->n_pred_kp, err, &failed);
  if (failed) return MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "%s: out of memory", path);
  const mhrfit_value *v = mhrfit_value_dict_get(d, "fps");
  if (v && v->kind == MHRFIT_V_ARRAY && v->u.array->count == 1 && mhrfit_dtype_is_numeric(v->u.array->dtype))
    a->fps = mhrfit_array_get_f64(v->u.array, 0);
  v = mhrfit_value_dict_get(d, "world_up");
  if (v && v->kind == MHRFIT_V_ARRAY && v->u.array->count == 1)
    mhrfit_array_get_string(v->u.array, 0, a->world_up, sizeof a->world_up, NULL);
  v = mhrfit_value_dict_get(d, "faces");
  if (a->n_vertices && v && v->kind == MHRFIT_V_ARRAY && v->u.array->ndim == 2 && v->u.array->shape[1] == 3 &&
      mhrfit_dtype_is_numeric(v->u.array->dtype)) {
    const mhrfit_array *fa = v->u.array;
    if (!(a->faces = mf_malloc_array(fa->count ? fa->count : 1, sizeof *a->faces, err))) return false;
    a->n_faces = fa->shape[0];
    for (size_t i = 0; i < fa->count; i++) {
      double x = mhrfit_array_get_f64(fa, i);
      if (!(x >= 0 && x < (double)a->n_vertices))
        return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: member 'faces': index %g is not a vertex", path, x);
      a->faces[i] = (int32_t)x;
    }
  }
  return true;
}

mhrfit_fit_archive *mhrfit_fit_archive_load(const char *path, mhrfit_error *err) {
  mhrfit_value *d = mhrfit_npz_load(path, NULL, err);
  if (!d) return NULL;
  mhrfit_fit_archive *a = NULL;
  char *cams = NULL;
  bool bad = false;
  const mhrfit_array *mp = get_array(d, path, "mhr_model_params", false, &bad, err);
  const mhrfit_array *jc = mp ? get_array(d, path, "pred_joint_coords", false, &bad, err) : NULL;
  const mhrfit_array *tg = jc ? get_array(d, path, "opt_points3d_refined", false, &bad, err) : NULL;
  const mhrfit_array *sc = tg ? get_array(d, path, "opt_cam_scores_3d_m", false, &bad, err) : NULL;
  if (!sc) goto fail;
  if (mp->ndim < 1 || mp->ndim > 2 || mp->shape[mp->ndim - 1] != NP) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: member 'mhr_model_params' must have shape (204,) or (F, 204)", path);
    goto fail;
  }
  bool lead = mp->ndim == 2;
  size_t F = lead ? mp->shape[0] : 1;
  if (jc->ndim != 2 + (int)lead || tg->ndim != 2 + (int)lead || sc->ndim != 1 + (int)lead) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: members disagree on the frame axis", path);
    goto fail;
  }
  size_t J = jc->shape[lead], K = tg->shape[lead], V = sc->shape[lead], N = 0, I = 0;
  const mhrfit_array *vx = get_array(d, path, "pred_vertices", true, &bad, err);
  if (vx && vx->ndim == 2 + (int)lead) N = vx->shape[lead];
  const mhrfit_array *lh = get_array(d, path, "opt_loss_hist", true, &bad, err);
  if (lh && lh->ndim == 1 + (int)lead) I = lh->shape[lead];
  if (bad) goto fail;
  cams = calloc(V ? V : 1, 64);
  if (!cams) {
    MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
    goto fail;
  }
  if (!get_strings(d, path, "opt_cams", V, cams, 64, err)) goto fail;
  const char **names = malloc((V ? V : 1) * sizeof *names);
  if (!names) {
    MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
    goto fail;
  }
  for (size_t v = 0; v < V; v++) names[v] = cams + 64 * v;
  a = mhrfit_fit_archive_new(F, K, V, J, N, I, names, err);
  free(names);
  if (!a) goto fail;
  const mhrfit_array *pk = get_array(d, path, "pred_keypoints_3d", false, &bad, err);
  if (!pk) goto fail;
  if (pk->ndim == 2 + (int)lead && pk->shape[lead] != 70 &&
      !mhrfit_fit_archive_set_pred_keypoints(a, pk->shape[lead], NULL, err))
    goto fail;
  a->frame_axis = lead;
  member_desc m[MAX_MEMBERS];
  size_t n = describe(a, m);
  for (size_t i = 0; i < n; i++) {
    const mhrfit_array *arr = get_array(d, path, m[i].name, m[i].optional, &bad, err);
    if (bad) goto fail;
    if (!arr) continue;
    size_t shape[4];
    int nd = file_shape(a, &m[i], shape);
    long want[4];
    for (int k = 0; k < nd; k++) want[k] = (long)shape[k];
    if (!mhrfit_dtype_is_numeric(arr->dtype) || !mhrfit_array_has_shape(arr, nd, want)) {
      char got[96] = "", exp[96] = "";
      for (int k = 0, g = 0, e = 0; k < 4; k++) {
        if (k < arr->ndim) g += snprintf(got + g, sizeof got - (size_t)g, "%s%zu", k ? ", " : "", arr->shape[k]);
        if (k < nd) e += snprintf(exp + e, sizeof exp - (size_t)e, "%s%zu", k ? ", " : "", shape[k]);
      }
      MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT,
                  "%s: member '%s' is %s (%s), expected numeric (%s): the archive's %zu frame(s) are those of "
                  "'mhr_model_params'", path, m[i].name, mhrfit_dtype_name(arr->dtype), got, exp, F);
      goto fail;
    }
    for (size_t f = 0; f < F; f++)
      for (size_t j = 0; j < m[i].per; j++) {
        double x = mhrfit_array_get_f64(arr, f * m[i].per + j);
        size_t dst = f * m[i].stride + m[i].offset + j;
        if (m[i].i) m[i].i[dst] = (int32_t)(isfinite(x) ? x : 0);
        else m[i].d[dst] = x;
      }
  }
  if (!get_strings(d, path, "opt_status", F, (char *)a->status, sizeof a->status[0], err) ||
      !get_strings(d, path, "opt_init_cam", F, (char *)a->init_cam, sizeof a->init_cam[0], err))
    goto fail;
  if (mhrfit_value_dict_get(d, "opt_message") &&
      !get_strings(d, path, "opt_message", F, (char *)a->message, sizeof a->message[0], err))
    goto fail;
  const mhrfit_array *si = get_array(d, path, "opt_subset_indices", false, &bad, err);
  if (!si) goto fail;
  if (si->count != K || !mhrfit_dtype_is_numeric(si->dtype)) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: member 'opt_subset_indices' must hold %zu indices", path, K);
    goto fail;
  }
  for (size_t k = 0; k < K; k++) a->subset_idx[k] = (int32_t)mhrfit_array_get_f64(si, k);
  const mhrfit_value *sv = mhrfit_value_dict_get(d, "opt_solver");
  if (sv && sv->kind == MHRFIT_V_ARRAY && sv->u.array->count == 1)
    mhrfit_array_get_string(sv->u.array, 0, a->solver, sizeof a->solver, NULL);
  static const char *const flags[3] = {"opt_freeze_lower_body", "opt_optimize_hand_pose", "opt_use_anchor_similarity"};
  bool *fdst[3] = {&a->freeze_lower_body, &a->optimize_hand_pose, &a->anchor_similarity};
  for (int k = 0; k < 3; k++) {
    const mhrfit_value *fv = mhrfit_value_dict_get(d, flags[k]);
    if (fv && fv->kind == MHRFIT_V_ARRAY && fv->u.array->count == 1 && mhrfit_dtype_is_numeric(fv->u.array->dtype))
      *fdst[k] = mhrfit_array_get_f64(fv->u.array, 0) != 0;
  }
  static const char *const weights[2] = {"opt_temporal_weight", "opt_hand_reg_weight"};
  double *wdst[2] = {&a->w_temporal, &a->w_hand_reg};
  for (int k = 0; k < 2; k++) {
    const mhrfit_value *wv = mhrfit_value_dict_get(d, weights[k]);
    if (wv && wv->kind == MHRFIT_V_ARRAY && wv->u.array->count == 1 && mhrfit_dtype_is_numeric(wv->u.array->dtype))
      *wdst[k] = mhrfit_array_get_f64(wv->u.array, 0);
  }
  if (!load_description(d, path, a, err)) goto fail;
  free(cams);
  mhrfit_value_free(d);
  return a;
fail:
  free(cams);
  mhrfit_fit_archive_free(a);
  mhrfit_value_free(d);
  return NULL;
}
