/* MHR70 keypoints from the skeleton: joint table (MHR.md §9.2), surface
 * markers, user mappings and the sparse keypoint Jacobian. See
 * include/mhrfit/keypoints.h for the model and the marker table. */
#include "mhrfit/keypoints.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "body/model_file.h"
#include "common/mem.h"
#include "mhrfit/npy.h"
#include "mhrfit/sam3d.h"

static const int table[MHRFIT_N_MHR70] = {
    /* 0-4 nose, eyes, ears: surface */ -1, -1, -1, -1, -1,
    /* 5 l_shoulder, 6 r_shoulder */ 75, 39,
    /* 7, 8 elbows: surface */ -1, -1,
    /* 9 l_hip, 10 r_hip, 11 l_knee, 12 r_knee */ 2, 18, 3, 19,
    /* 13-20 ankles, toes, heels: surface */ -1, -1, -1, -1, -1, -1, -1, -1,
    /* 21-24 right thumb tip..third */ 64, 63, 62, 61,
    /* 25-28 right index */ 59, 58, 57, 56,
    /* 29-32 right middle */ 55, 54, 53, 52,
    /* 33-36 right ring */ 51, 50, 49, 48,
    /* 37-40 right pinky */ 47, 46, 45, 44,
    /* 41 right wrist (r_wrist_twist) */ 41,
    /* 42-45 left thumb */ 100, 99, 98, 97,
    /* 46-49 left index */ 95, 94, 93, 92,
    /* 50-53 left middle */ 91, 90, 89, 88,
    /* 54-57 left ring */ 87, 86, 85, 84,
    /* 58-61 left pinky */ 83, 82, 81, 80,
    /* 62 left wrist (l_wrist_twist) */ 77,
    /* 63-68 olecranon, cubital fossa, acromion: surface */ -1, -1, -1, -1, -1, -1,
    /* 69 neck: midpoint of c_neck (110) and c_neck_twist1_proc (111) */ -2};

/* Attachment joint of each surface keypoint (the table in keypoints.h). */
static const char *const marker_joint[MHRFIT_N_MHR70] = {
    [0] = "c_head",        [1] = "c_head",        [2] = "c_head",       [3] = "c_head",       [4] = "c_head",
    [7] = "l_lowarm",      [8] = "r_lowarm",      [13] = "l_talocrural", [14] = "r_talocrural",
    [15] = "l_ball",       [16] = "l_ball",       [17] = "l_subtalar",  [18] = "r_ball",      [19] = "r_ball",
    [20] = "r_subtalar",   [63] = "l_lowarm",     [64] = "r_lowarm",    [65] = "l_lowarm",    [66] = "r_lowarm",
    [67] = "l_clavicle",   [68] = "r_clavicle"};

const int *mhrfit_mhr70_joint_table(void) { return table; }

const char *mhrfit_mhr70_marker_joint(int k) {
  if (k < 0 || k >= MHRFIT_N_MHR70) return NULL;
  return marker_joint[k];
}

int mhrfit_mhr70_from_joints(const mhrfit_fk_pose *pose, double kp[MHRFIT_N_MHR70 * 3]) {
  int n = 0;
  for (int k = 0; k < MHRFIT_N_MHR70; k++) {
    int j = table[k];
    for (int a = 0; a < 3; a++) {
      if (j >= 0) kp[3 * k + a] = pose->t[3 * j + a];
      else if (j == -2) kp[3 * k + a] = 0.5 * (pose->t[3 * 110 + a] + pose->t[3 * 111 + a]);
      else kp[3 * k + a] = NAN;
    }
    n += j != -1;
  }
  return n;
}

/* ------------------------------------------------------------------------ */
/* Keypoint maps                                                             */

/* One step of the Jacobian plan: the derivative of term `term` of keypoint
 * `kp` through channel `ch` of ancestor joint `anc`, scattered through the
 * parameter-transform entries [pt_begin, pt_end) into local columns
 * step_cols[col_off ...]. */
struct mhrfit_kpmap_step {
  uint32_t kp, term;
  int32_t anc;
  uint8_t ch;
  uint32_t pt_begin, pt_end, col_off;
};

void mhrfit_kpmap_free(mhrfit_kpmap *map) {
  if (!map) return;
  free(map->term_start);
  free(map->terms);
  free(map->col_start);
  free(map->cols);
  free(map->steps);
  free(map->step_cols);
  free(map->axes);
  free(map);
}

bool mhrfit_kpmap_defined(const mhrfit_kpmap *map, size_t k) {
  return k < map->n_keypoints && map->term_start[k + 1] > map->term_start[k];
}

/* Builds the column lists and the Jacobian plan from the terms. */
static bool kpmap_plan(mhrfit_kpmap *map, const mhrfit_rig *rig, mhrfit_error *err) {
  size_t nj = rig->n_joints, np = rig->n_params, nk = map->n_keypoints;
  free(map->col_start);
  free(map->cols);
  free(map->steps);
  free(map->step_cols);
  map->col_start = NULL;
  map->cols = NULL;
  map->steps = NULL;
  map->step_cols = NULL;
  map->n_steps = map->n_step_cols = 0;
  size_t *row_start = mf_malloc_array(7 * nj + 1, sizeof *row_start, err);
  int32_t *local = mf_malloc_array(np, sizeof *local, err);
  map->col_start = mf_calloc_array(nk + 1, sizeof *map->col_start, err);
  if (!row_start || !local || !map->col_start) goto fail;
  mf_pt_row_starts(rig, row_start);
  /* pass 0 counts, pass 1 fills */
  size_t n_cols = 0, n_steps = 0, n_step_cols = 0;
  for (int pass = 0; pass < 2; pass++) {
    n_cols = n_steps = n_step_cols = 0;
    for (size_t k = 0; k < nk; k++) {
      for (size_t i = 0; i < np; i++) local[i] = -1;
      /* columns: every parameter driving a used channel of an ancestor */
      size_t c0 = n_cols;
      for (int mark = 0; mark < 2; mark++) {
        for (size_t ti = map->term_start[k]; ti < map->term_start[k + 1]; ti++) {
          const mhrfit_kp_term *t = &map->terms[ti];
          bool has_offset = t->offset[0] != 0 || t->offset[1] != 0 || t->offset[2] != 0;
          for (int32_t a = t->joint; a >= 0; a = rig->parents[a]) {
            for (int ch = 0; ch < 7; ch++) {
              if (a == t->joint && ch >= 3 && !has_offset) continue;
              size_t r = 7 * (size_t)a + (size_t)ch;
              if (row_start[r] == row_start[r + 1]) continue;
              if (mark == 0) {
                for (size_t e = row_start[r]; e < row_start[r + 1]; e++) local[rig->pt[e].param] = 0;
                continue;
              }
              if (pass == 1) {
                struct mhrfit_kpmap_step *s = &map->steps[n_steps];
                s->kp = (uint32_t)k;
                s->term = (uint32_t)ti;
                s->anc = a;
                s->ch = (uint8_t)ch;
                s->pt_begin = (uint32_t)row_start[r];
                s->pt_end = (uint32_t)row_start[r + 1];
                s->col_off = (uint32_t)n_step_cols;
                for (size_t e = row_start[r]; e < row_start[r + 1]; e++)
                  map->step_cols[n_step_cols + e - row_start[r]] = local[rig->pt[e].param];
              }
              n_steps++;
              n_step_cols += row_start[r + 1] - row_start[r];
            }
          }
        }
        if (mark == 0) { /* number the marked parameters in ascending order */
          int32_t c = 0;
          for (size_t i = 0; i < np; i++) {
            if (local[i] < 0) continue;
            local[i] = c++;
            if (pass == 1) map->cols[n_cols] = (int32_t)i;
            n_cols++;
          }
        }
      }
      if (pass == 1) map->col_start[k] = c0;
    }
    if (pass == 0) {
      map->cols = mf_malloc_array(n_cols ? n_cols : 1, sizeof *map->cols, err);
      map->steps = mf_malloc_array(n_steps ? n_steps : 1, sizeof *map->steps, err);
      map->step_cols = mf_malloc_array(n_step_cols ? n_step_cols : 1, sizeof *map->step_cols, err);
      if (!map->cols || !map->steps || !map->step_cols) goto fail;
    }
  }
  map->col_start[nk] = n_cols;
  map->n_steps = n_steps;
  map->n_step_cols = n_step_cols;
  free(row_start);
  free(local);
  return true;
fail:
  free(row_start);
  free(local);
  return false;
}

/* A map with room for `n_terms` terms; term_start zeroed. */
static mhrfit_kpmap *kpmap_alloc(const mhrfit_rig *rig, size_t nk, size_t n_terms, mhrfit_error *err) {
  mhrfit_kpmap *map = mf_calloc_array(1, sizeof *map, err);
  if (!map) return NULL;
  map->n_keypoints = nk;
  map->n_joints = rig->n_joints;
  map->n_params = rig->n_params;
  map->term_start = mf_calloc_array(nk + 1, sizeof *map->term_start, err);
  map->terms = mf_calloc_array(n_terms ? n_terms : 1, sizeof *map->terms, err);
  map->axes = mf_malloc_array(9 * rig->n_joints + 3 * (n_terms ? n_terms : 1), sizeof *map->axes, err);
  if (!map->term_start || !map->terms || !map->axes) {
    mhrfit_kpmap_free(map);
    return NULL;
  }
  return map;
}

mhrfit_kpmap *mhrfit_kpmap_new_mhr70(const mhrfit_rig *rig, mhrfit_error *err) {
  if (rig->n_joints <= 111) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "MHR70 keypoints: the rig has %zu joints, expected 127", rig->n_joints);
    return NULL;
  }
  for (int k = 0; k < MHRFIT_N_MHR70; k++) {
    if (marker_joint[k] && mhrfit_rig_joint_index(rig, marker_joint[k]) < 0) {
      MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "MHR70 keypoints: the rig has no joint '%s' (marker of keypoint %d)",
                  marker_joint[k], k);
      return NULL;
    }
  }
  /* room for 2 terms per keypoint (the neck has two, a marker one) */
  mhrfit_kpmap *map = kpmap_alloc(rig, MHRFIT_N_MHR70, 2 * MHRFIT_N_MHR70, err);
  if (!map) return NULL;
  size_t n = 0;
  for (int k = 0; k < MHRFIT_N_MHR70; k++) {
    map->term_start[k] = n;
    if (table[k] >= 0) {
      map->terms[n++] = (mhrfit_kp_term){table[k], 1.0, {0, 0, 0}};
    } else if (table[k] == -2) {
      map->terms[n++] = (mhrfit_kp_term){110, 0.5, {0, 0, 0}};
      map->terms[n++] = (mhrfit_kp_term){111, 0.5, {0, 0, 0}};
    }
  }
  map->term_start[MHRFIT_N_MHR70] = n;
  if (!kpmap_plan(map, rig, err)) {
    mhrfit_kpmap_free(map);
    return NULL;
  }
  return map;
}

mhrfit_kpmap *mhrfit_kpmap_new_terms(const mhrfit_rig *rig, size_t n_keypoints, const size_t *term_start,
                                    const mhrfit_kp_term *terms, mhrfit_error *err) {
  if (n_keypoints == 0 || term_start[0] != 0) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "keypoint map: need at least one keypoint and term_start[0] = 0");
    return NULL;
  }
  size_t nt = term_start[n_keypoints];
  for (size_t k = 0; k < n_keypoints; k++)
    if (term_start[k + 1] < term_start[k]) {
      MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "keypoint map: term_start decreases at keypoint %zu", k);
      return NULL;
    }
  for (size_t i = 0; i < nt; i++) {
    const mhrfit_kp_term *t = &terms[i];
    bool finite = isfinite(t->weight) && isfinite(t->offset[0]) && isfinite(t->offset[1]) && isfinite(t->offset[2]);
    if (t->joint < 0 || (size_t)t->joint >= rig->n_joints || !finite) {
      MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "keypoint map: term %zu has joint %d (the rig has %zu) or a non-finite value", i,
                  (int)t->joint, rig->n_joints);
      return NULL;
    }
  }
  mhrfit_kpmap *map = kpmap_alloc(rig, n_keypoints, nt, err);
  if (!map) return NULL;
  memcpy(map->term_start, term_start, (n_keypoints + 1) * sizeof *term_start);
  memcpy(map->terms, terms, nt * sizeof *terms);
  if (!kpmap_plan(map, rig, err)) {
    mhrfit_kpmap_free(map);
    return NULL;
  }
  return map;
}

/* ---- default markers ------------------------------------------------------------------------ */

static bool default_rest_offset(int k, double d[3]) {
  /* Anatomical offsets (cm, rest pose, native axes: +x the subject's left, +y up, +z forward)
   * from the attachment joint of mhrfit_mhr70_marker_joint(). */
  static const struct {
    int k;
    double d[3];
  } tab[] = {
      {0, {0.0, 5.0, 12.0}},    /* nose from c_head */
      {1, {3.2, 8.7, 8.5}},     /* left eye */
      {2, {-3.2, 8.7, 8.5}},    /* right eye */
      {3, {7.4, 6.0, -1.0}},    /* left ear */
      {4, {-7.4, 6.0, -1.0}},   /* right ear */
      {7, {0.5, -0.5, 1.5}},    /* left elbow from l_lowarm */
      {8, {-0.5, -0.5, 1.5}},   /* right elbow */
      {13, {0.4, 0.2, -0.2}},   /* left ankle from l_talocrural */
      {14, {-0.4, 0.2, -0.2}},  /* right ankle */
      {15, {-1.5, -0.1, 4.5}},  /* left big toe from l_ball (medial) */
      {16, {4.4, -0.7, 0.2}},   /* left small toe (lateral) */
      {17, {-0.5, -1.4, -3.4}}, /* left heel from l_subtalar */
      {18, {1.5, -0.1, 4.5}},   /* right big toe */
      {19, {-4.4, -0.7, 0.2}},  /* right small toe */
      {20, {0.5, -1.4, -3.4}},  /* right heel */
      {63, {1.4, -2.6, -1.0}},  /* left olecranon from l_lowarm (behind the elbow) */
      {64, {-1.4, -2.6, -1.0}}, /* right olecranon */
      {65, {0.3, 0.3, 4.4}},    /* left cubital fossa (front of the elbow) */
      {66, {-0.3, 0.3, 4.4}},   /* right cubital fossa */
      {67, {10.7, 6.5, -7.5}},  /* left acromion from l_clavicle */
      {68, {-10.7, 6.5, -7.5}}, /* right acromion */
  };
  for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
    if (tab[i].k == k) {
      memcpy(d, tab[i].d, sizeof tab[i].d);
      return true;
    }
  return false;
}

int mhrfit_kpmap_calibrate_default(mhrfit_kpmap *map, const mhrfit_rig *rig, mhrfit_error *err) {
  const size_t J = rig->n_joints;
  double *m = mf_calloc_array(rig->n_params ? rig->n_params : 1, sizeof *m, err);
  double *buf = mf_calloc_array(13 * (J ? J : 1), sizeof *buf, err);
  int set = -1;
  if (!m || !buf) goto done;
  mhrfit_fk_pose pose = {buf, buf + 9 * J, buf + 12 * J};
  if (!mhrfit_rig_fk(rig, m, &pose, NULL, err)) goto done;
  double kp[MHRFIT_N_MHR70 * 3];
  for (size_t i = 0; i < MHRFIT_N_MHR70 * 3; i++) kp[i] = NAN;
  for (int k = 0; k < MHRFIT_N_MHR70; k++) {
    double d[3];
    if (!marker_joint[k] || !default_rest_offset(k, d)) continue;
    long j = mhrfit_rig_joint_index(rig, marker_joint[k]);
    if (j < 0) {
      MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "the rig has no joint '%s' for keypoint %d", marker_joint[k], k);
      goto done;
    }
    for (int a = 0; a < 3; a++) kp[3 * k + a] = pose.t[3 * j + a] + d[a];
  }
  set = mhrfit_kpmap_calibrate_markers(map, rig, &pose, kp, err);
done:
  free(m);
  free(buf);
  return set;
}

int mhrfit_kpmap_calibrate_from_sam3d(mhrfit_kpmap *map, const mhrfit_rig *rig, const mhrfit_value *output,
                                      mhrfit_error *err) {
  const mhrfit_value *pv = output;
  if (pv && pv->kind == MHRFIT_V_LIST) pv = pv->u.list.count ? pv->u.list.items[0] : NULL;
  const mhrfit_value *k3 = pv && pv->kind == MHRFIT_V_DICT ? mhrfit_value_dict_get(pv, "pred_keypoints_3d") : NULL;
  if (!k3 || k3->kind != MHRFIT_V_ARRAY || k3->u.array->count != MHRFIT_N_MHR70 * 3 ||
      !mhrfit_dtype_is_numeric(k3->u.array->dtype)) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "'pred_keypoints_3d' must hold 70 x 3 numbers");
    return -1;
  }
  const size_t J = rig->n_joints;
  double *m = mf_calloc_array(rig->n_params ? rig->n_params : 1, sizeof *m, err);
  double *buf = mf_calloc_array(13 * (J ? J : 1), sizeof *buf, err);
  int set = -1;
  if (!m || !buf) goto done;
  if (rig->n_params != 204) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "SAM 3D Body outputs need the 204-parameter MHR rig (this one has %zu)",
                rig->n_params);
    goto done;
  }
  if (!mhrfit_sam3d_model_params(pv, m, NULL, err)) goto done;
  double kp[MHRFIT_N_MHR70 * 3];
  for (size_t k = 0; k < MHRFIT_N_MHR70; k++) {
    double sam[3];
    for (int a = 0; a < 3; a++) sam[a] = mhrfit_array_get_f64(k3->u.array, 3 * k + (size_t)a);
    mhrfit_sam3d_to_mhr(sam, kp + 3 * k);
  }
  mhrfit_fk_pose pose = {buf, buf + 9 * J, buf + 12 * J};
  if (!mhrfit_rig_fk(rig, m, &pose, NULL, err)) goto done;
  set = mhrfit_kpmap_calibrate_markers(map, rig, &pose, kp, err);
done:
  free(m);
  free(buf);
  return set;
}

int mhrfit_kpmap_calibrate_markers(mhrfit_kpmap *map, const mhrfit_rig *rig, const mhrfit_fk_pose *pose,
                                   const double kp[MHRFIT_N_MHR70 * 3], mhrfit_error *err) {
  if (map->n_keypoints != MHRFIT_N_MHR70) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "marker calibration needs an MHR70 map (this one has %zu keypoints)",
                map->n_keypoints);
    return -1;
  }
  /* rebuild the term list: joint keypoints as before, markers where kp is finite */
  mhrfit_kp_term terms[2 * MHRFIT_N_MHR70];
  size_t start[MHRFIT_N_MHR70 + 1], n = 0;
  int set = 0;
  for (size_t k = 0; k < MHRFIT_N_MHR70; k++) {
    start[k] = n;
    if (!marker_joint[k]) {
      for (size_t ti = map->term_start[k]; ti < map->term_start[k + 1] && n < 2 * MHRFIT_N_MHR70; ti++)
        terms[n++] = map->terms[ti];
      continue;
    }
    const double *p = kp + 3 * k;
    if (!isfinite(p[0]) || !isfinite(p[1]) || !isfinite(p[2])) continue;
    long j = -1; /* the joint of an earlier calibration of this marker, else by name */
    if (map->term_start[k + 1] == map->term_start[k] + 1) {
      int32_t tj = map->terms[map->term_start[k]].joint;
      if (tj >= 0 && (size_t)tj < rig->n_joints && strcmp(rig->joint_names[tj], marker_joint[k]) == 0) j = tj;
    }
    if (j < 0) j = mhrfit_rig_joint_index(rig, marker_joint[k]);
    if (j < 0) continue;
    const double *R = pose->R + 9 * j, *t = pose->t + 3 * j;
    double s = pose->s[j], d[3] = {p[0] - t[0], p[1] - t[1], p[2] - t[2]};
    mhrfit_kp_term term = {(int32_t)j, 1.0, {0, 0, 0}};
    for (int a = 0; a < 3; a++) term.offset[a] = (R[a] * d[0] + R[3 + a] * d[1] + R[6 + a] * d[2]) / s;
    terms[n++] = term;
    set++;
  }
  start[MHRFIT_N_MHR70] = n;
  /* the Jacobian plan depends only on the term joints and on which offsets are zero: rebuild it
   * only when those change (recalibrating the same markers just updates the offsets) */
  bool same = memcmp(map->term_start, start, sizeof start) == 0;
  for (size_t ti = 0; same && ti < n; ti++) {
    const mhrfit_kp_term *a = &map->terms[ti], *b = &terms[ti];
    bool za = a->offset[0] == 0 && a->offset[1] == 0 && a->offset[2] == 0;
    bool zb = b->offset[0] == 0 && b->offset[1] == 0 && b->offset[2] == 0;
    same = a->joint == b->joint && za == zb;
  }
  memcpy(map->terms, terms, n * sizeof *terms);
  memcpy(map->term_start, start, sizeof start);
  if (!same && !kpmap_plan(map, rig, err)) return -1;
  return set;
}

mhrfit_kpmap *mhrfit_kpmap_clone(const mhrfit_kpmap *map, mhrfit_error *err) {
  size_t nk = map->n_keypoints, nt = map->term_start[nk];
  mhrfit_kpmap *c = mf_calloc_array(1, sizeof *c, err);
  if (!c) return NULL;
  *c = *map;
  c->term_start = mf_malloc_array(nk + 1, sizeof *c->term_start, err);
  c->terms = mf_malloc_array(nt ? nt : 1, sizeof *c->terms, err);
  c->col_start = mf_malloc_array(nk + 1, sizeof *c->col_start, err);
  c->cols = mf_malloc_array(map->col_start[nk] ? map->col_start[nk] : 1, sizeof *c->cols, err);
  c->steps = mf_malloc_array(map->n_steps ? map->n_steps : 1, sizeof *c->steps, err);
  size_t nsc = map->n_step_cols;
  c->step_cols = mf_malloc_array(nsc ? nsc : 1, sizeof *c->step_cols, err);
  c->axes = mf_malloc_array(9 * map->n_joints + 3 * (nt ? nt : 1), sizeof *c->axes, err);
  if (!c->term_start || !c->terms || !c->col_start || !c->cols || !c->steps || !c->step_cols || !c->axes) {
    mhrfit_kpmap_free(c);
    return NULL;
  }
  memcpy(c->term_start, map->term_start, (nk + 1) * sizeof *c->term_start);
  memcpy(c->terms, map->terms, nt * sizeof *c->terms);
  memcpy(c->col_start, map->col_start, (nk + 1) * sizeof *c->col_start);
  memcpy(c->cols, map->cols, map->col_start[nk] * sizeof *c->cols);
  memcpy(c->steps, map->steps, map->n_steps * sizeof *c->steps);
  memcpy(c->step_cols, map->step_cols, nsc * sizeof *c->step_cols);
  return c;
}

static inline void term_point(const mhrfit_kp_term *t, const mhrfit_fk_pose *pose, double p[3]) {
  const double *R = pose->R + 9 * t->joint, *tj = pose->t + 3 * t->joint;
  double s = pose->s[t->joint];
  for (int a = 0; a < 3; a++)
    p[a] = tj[a] + s * (R[3 * a] * t->offset[0] + R[3 * a + 1] * t->offset[1] + R[3 * a + 2] * t->offset[2]);
}

void mhrfit_kpmap_eval(const mhrfit_kpmap *map, const mhrfit_fk_pose *pose, double *kp) {
  for (size_t k = 0; k < map->n_keypoints; k++) {
    double acc[3] = {0, 0, 0};
    size_t b = map->term_start[k], e = map->term_start[k + 1];
    for (size_t ti = b; ti < e; ti++) {
      double p[3];
      term_point(&map->terms[ti], pose, p);
      for (int a = 0; a < 3; a++) acc[a] += map->terms[ti].weight * p[a];
    }
    for (int a = 0; a < 3; a++) kp[3 * k + a] = b == e ? NAN : acc[a];
  }
}

void mhrfit_kpmap_jacobian(mhrfit_kpmap *map, const mhrfit_rig *rig, const mhrfit_fk_pose *pose, const double *jp,
                           double *J) {
  size_t nk = map->n_keypoints, nt = map->term_start[nk];
  memset(J, 0, 3 * map->col_start[nk] * sizeof *J);
  double *axes = map->axes, *tp = map->axes + 9 * rig->n_joints;
  for (size_t ti = 0; ti < nt; ti++) term_point(&map->terms[ti], pose, tp + 3 * ti);
  /* world rotation axes of every joint (rows x, y, z of axes[9j]):
   * A = R_parent · Rpre; z: A e_z; y: A Rz e_y; x: A Rz Ry e_x = R_j e_x. */
  static const double I3[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
  for (size_t j = 0; j < rig->n_joints; j++) {
    int p = rig->parents[j];
    const double *Rp = p >= 0 ? pose->R + 9 * p : I3, *P = rig->prerot + 9 * j, *Rj = pose->R + 9 * j;
    double A[9];
    for (int r = 0; r < 3; r++)
      for (int c = 0; c < 3; c++) A[3 * r + c] = Rp[3 * r] * P[c] + Rp[3 * r + 1] * P[3 + c] + Rp[3 * r + 2] * P[6 + c];
    double z = jp[7 * j + 5], cz = z == 0 ? 1.0 : cos(z), sz = z == 0 ? z : sin(z); /* exact for ±0 */
    double *ax = axes + 9 * j;
    for (int a = 0; a < 3; a++) {
      ax[a] = Rj[3 * a];
      ax[3 + a] = -sz * A[3 * a] + cz * A[3 * a + 1];
      ax[6 + a] = A[3 * a + 2];
    }
  }
  for (size_t si = 0; si < map->n_steps; si++) {
    const struct mhrfit_kpmap_step *s = &map->steps[si];
    const mhrfit_kp_term *t = &map->terms[s->term];
    const double *p = tp + 3 * s->term, *ta = pose->t + 3 * s->anc;
    double v[3];
    if (s->ch < 3) {
      int q = rig->parents[s->anc];
      const double *Rq = q >= 0 ? pose->R + 9 * q : I3;
      double sq = q >= 0 ? pose->s[q] : 1.0;
      for (int a = 0; a < 3; a++) v[a] = sq * Rq[3 * a + s->ch];
    } else {
      double d[3] = {p[0] - ta[0], p[1] - ta[1], p[2] - ta[2]};
      if (s->ch < 6) {
        const double *w = axes + 9 * s->anc + 3 * (s->ch - 3);
        v[0] = w[1] * d[2] - w[2] * d[1];
        v[1] = w[2] * d[0] - w[0] * d[2];
        v[2] = w[0] * d[1] - w[1] * d[0];
      } else {
        for (int a = 0; a < 3; a++) v[a] = 0.6931471805599453 * d[a];
      }
    }
    size_t nc = map->col_start[s->kp + 1] - map->col_start[s->kp];
    double *B = J + 3 * map->col_start[s->kp];
    for (uint32_t e = s->pt_begin; e < s->pt_end; e++) {
      double c = rig->pt[e].coeff * t->weight;
      size_t col = (size_t)map->step_cols[s->col_off + (e - s->pt_begin)];
      B[col] += c * v[0];
      B[nc + col] += c * v[1];
      B[2 * nc + col] += c * v[2];
    }
  }
}

/* ------------------------------------------------------------------------ */
/* User mappings                                                             */

static const mhrfit_array *map_field(const mhrfit_value *d, const char *path, const char *key, mhrfit_error *err) {
  const mhrfit_value *v = mhrfit_value_dict_get(d, key);
  if (!v || v->kind != MHRFIT_V_ARRAY) {
    MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "%s: keypoint mapping: missing array '%s'", path, key);
    return NULL;
  }
  return v->u.array;
}

mhrfit_kpmap *mhrfit_kpmap_load(const char *path, const mhrfit_rig *rig, const double *identity, size_t n_identity,
                                mhrfit_error *err) {
  mhrfit_value *d = mhrfit_npz_load(path, NULL, err);
  if (!d) return NULL;
  mhrfit_kpmap *map = NULL;
  double *verts = NULL;
  size_t *count = NULL, *by_vertex = NULL;
  const mhrfit_array *rows = map_field(d, path, "rows", err), *cols = rows ? map_field(d, path, "cols", err) : NULL;
  const mhrfit_array *wts = cols ? map_field(d, path, "weights", err) : NULL;
  const mhrfit_array *nv = wts ? map_field(d, path, "n_vertices", err) : NULL;
  if (!nv) goto done;
  size_t n = rows->count;
  if (cols->count != n || wts->count != n || n == 0 || nv->count != 1) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT,
                "%s: keypoint mapping: 'rows' (%zu), 'cols' (%zu) and 'weights' (%zu) must have the same non-zero "
                "length and 'n_vertices' must be a scalar",
                path, rows->count, cols->count, wts->count);
    goto done;
  }
  double nvd = mhrfit_array_get_f64(nv, 0);
  if (nvd != (double)rig->n_vertices) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT,
                "%s: keypoint mapping: made for a mesh of %.0f vertices, the rig's LOD %d mesh has %zu", path, nvd,
                rig->lod, rig->n_vertices);
    goto done;
  }
  size_t n_cols = rig->n_vertices + rig->n_joints, nk = 0;
  for (size_t i = 0; i < n; i++) {
    double r = mhrfit_array_get_f64(rows, i), c = mhrfit_array_get_f64(cols, i), w = mhrfit_array_get_f64(wts, i);
    if (!(r >= 0 && r < 100000 && r == floor(r)) || !(c >= 0 && c < (double)n_cols && c == floor(c)) || !isfinite(w)) {
      MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT,
                  "%s: keypoint mapping entry %zu: row %g, col %g, weight %g (rows must be keypoint indices, cols in "
                  "[0, %zu), weights finite)",
                  path, i, r, c, w, n_cols);
      goto done;
    }
    if ((size_t)r + 1 > nk) nk = (size_t)r + 1;
  }
  /* skin entries grouped by vertex: those of v are by_vertex[count[v] .. count[v+1]) */
  count = mf_calloc_array(rig->n_vertices + 2, sizeof *count, err);
  by_vertex = mf_malloc_array(rig->n_skin ? rig->n_skin : 1, sizeof *by_vertex, err);
  verts = mf_malloc_array(3 * rig->n_vertices, sizeof *verts, err);
  if (!count || !by_vertex || !verts) goto done;
  for (size_t i = 0; i < rig->n_skin; i++) count[rig->skin_vertex[i] + 2]++;
  for (size_t v = 2; v < rig->n_vertices + 2; v++) count[v] += count[v - 1];
  for (size_t i = 0; i < rig->n_skin; i++) by_vertex[count[rig->skin_vertex[i] + 1]++] = i;
  size_t n_terms = 0;
  for (size_t i = 0; i < n; i++) {
    size_t c = (size_t)mhrfit_array_get_f64(cols, i);
    n_terms += c < rig->n_vertices ? count[c + 1] - count[c] : 1;
  }
  mhrfit_rig_shaped_vertices(rig, identity, identity ? n_identity : 0, verts);
  map = kpmap_alloc(rig, nk, n_terms, err);
  if (!map) goto done;
  size_t t = 0;
  for (size_t k = 0; k < nk; k++) {
    map->term_start[k] = t;
    for (size_t i = 0; i < n; i++) {
      if ((size_t)mhrfit_array_get_f64(rows, i) != k) continue;
      size_t c = (size_t)mhrfit_array_get_f64(cols, i);
      double w = mhrfit_array_get_f64(wts, i);
      if (c >= rig->n_vertices) {
        map->terms[t++] = (mhrfit_kp_term){(int32_t)(c - rig->n_vertices), w, {0, 0, 0}};
        continue;
      }
      for (size_t q = count[c]; q < count[c + 1]; q++) { /* a vertex: its skinning terms on the rest pose */
        size_t e = by_vertex[q], j = (size_t)rig->skin_joint[e];
        const double *R0 = rig->rest_R + 9 * j, *t0 = rig->rest_t + 3 * j, *v = verts + 3 * c;
        double dd[3] = {v[0] - t0[0], v[1] - t0[1], v[2] - t0[2]};
        mhrfit_kp_term term = {(int32_t)j, w * rig->skin_weight[e], {0, 0, 0}};
        for (int a = 0; a < 3; a++) term.offset[a] = R0[a] * dd[0] + R0[3 + a] * dd[1] + R0[6 + a] * dd[2];
        map->terms[t++] = term;
      }
    }
  }
  map->term_start[nk] = t;
  if (!kpmap_plan(map, rig, err)) {
    mhrfit_kpmap_free(map);
    map = NULL;
  }
done:
  free(count);
  free(by_vertex);
  free(verts);
  mhrfit_value_free(d);
  return map;
}
