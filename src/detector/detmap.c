/* Keypoint maps of detector layouts and user JSON maps: see include/mhrfit/detector.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/file.h"
#include "common/mem.h"
#include "mhrfit/detector.h"
#include "mhrfit/json.h"

/* One table entry: the MHR70 keypoint(s) whose rest position is the default (a, and b for a
 * midpoint; a = -1: the rest position of joint `at`), plus a rest displacement d (cm, native
 * axes); `joint` NULL = the joint keypoint of MHR70 a, else a marker attached to `joint`. */
typedef struct rule_src {
  signed char a, b;
  const char *joint, *at;
  float d[3];
  float w;
  unsigned char anchor;
} rule_src;

#define W_BODY 1.0f
#define W_BODY_MARKER 0.7f
#define W_FOOT 0.5f
#define W_FINGER 0.5f
#define W_FACE 0.2f
#define JT(a, w, anc) {a, -1, NULL, NULL, {0, 0, 0}, w, anc}
#define MK(a, j, w, anc) {a, -1, j, NULL, {0, 0, 0}, w, anc}
#define MD(a, j, x, y, z, w) {a, -1, j, NULL, {x, y, z}, w, 0}
#define MID(a, b, j, w, anc) {a, b, j, NULL, {0, 0, 0}, w, anc}
#define AT(at, j, w) {-1, -1, j, at, {0, 0, 0}, w, 0}

/* COCO order of the first 17 points (COCO-17, Halpe 26, BODY_25B). */
#define COCO17_RULES                                                                                                  \
  MK(0, "c_head", W_FACE, 0), MK(1, "c_head", W_FACE, 0), MK(2, "c_head", W_FACE, 0), MK(3, "c_head", W_FACE, 0),     \
      MK(4, "c_head", W_FACE, 0), JT(5, W_BODY, 1), JT(6, W_BODY, 1), MK(7, "l_lowarm", W_BODY_MARKER, 0),            \
      MK(8, "r_lowarm", W_BODY_MARKER, 0), JT(62, W_BODY, 0), JT(41, W_BODY, 0), MK(9, "root", W_BODY_MARKER, 1),      \
      MK(10, "root", W_BODY_MARKER, 1), JT(11, W_BODY, 0), JT(12, W_BODY, 0), MK(13, "l_talocrural", W_BODY_MARKER, 0), \
      MK(14, "r_talocrural", W_BODY_MARKER, 0)
#define NECK MK(69, "c_spine3", W_BODY_MARKER, 1)
#define HEAD_TOP AT("c_head_null", "c_head", W_FACE)
#define MIDHIP MID(9, 10, "root", W_BODY_MARKER, 1)

static const rule_src coco17_rules[17] = {COCO17_RULES};
static const rule_src halpe26_rules[26] = {
    COCO17_RULES, HEAD_TOP, NECK, MIDHIP, MK(15, "l_ball", W_FOOT, 0), MK(18, "r_ball", W_FOOT, 0),
    MK(16, "l_ball", W_FOOT, 0), MK(19, "r_ball", W_FOOT, 0), MK(17, "l_subtalar", W_FOOT, 0),
    MK(20, "r_subtalar", W_FOOT, 0)};
static const rule_src body25b_rules[25] = {
    COCO17_RULES, NECK, HEAD_TOP, MK(15, "l_ball", W_FOOT, 0), MK(16, "l_ball", W_FOOT, 0),
    MK(17, "l_subtalar", W_FOOT, 0), MK(18, "r_ball", W_FOOT, 0), MK(19, "r_ball", W_FOOT, 0),
    MK(20, "r_subtalar", W_FOOT, 0)};
static const rule_src body25_rules[25] = {
    MK(0, "c_head", W_FACE, 0), NECK, JT(6, W_BODY, 1), MK(8, "r_lowarm", W_BODY_MARKER, 0), JT(41, W_BODY, 0),
    JT(5, W_BODY, 1), MK(7, "l_lowarm", W_BODY_MARKER, 0), JT(62, W_BODY, 0), MIDHIP, MK(10, "root", W_BODY_MARKER, 1),
    JT(12, W_BODY, 0), MK(14, "r_talocrural", W_BODY_MARKER, 0), MK(9, "root", W_BODY_MARKER, 1), JT(11, W_BODY, 0),
    MK(13, "l_talocrural", W_BODY_MARKER, 0), MK(2, "c_head", W_FACE, 0), MK(1, "c_head", W_FACE, 0),
    MK(4, "c_head", W_FACE, 0), MK(3, "c_head", W_FACE, 0), MK(15, "l_ball", W_FOOT, 0), MK(16, "l_ball", W_FOOT, 0),
    MK(17, "l_subtalar", W_FOOT, 0), MK(18, "r_ball", W_FOOT, 0), MK(19, "r_ball", W_FOOT, 0),
    MK(20, "r_subtalar", W_FOOT, 0)};
static const rule_src mediapipe33_rules[33] = {
    MK(0, "c_head", W_FACE, 0), MD(1, "c_head", -1.5f, 0, 0, W_FACE), MK(1, "c_head", W_FACE, 0),
    MD(1, "c_head", 1.5f, 0, 0, W_FACE), MD(2, "c_head", 1.5f, 0, 0, W_FACE), MK(2, "c_head", W_FACE, 0),
    MD(2, "c_head", -1.5f, 0, 0, W_FACE), MK(3, "c_head", W_FACE, 0), MK(4, "c_head", W_FACE, 0),
    MD(0, "c_head", 2.4f, -5.5f, -1.5f, W_FACE), MD(0, "c_head", -2.4f, -5.5f, -1.5f, W_FACE), JT(5, W_BODY, 1),
    JT(6, W_BODY, 1), MK(7, "l_lowarm", W_BODY_MARKER, 0), MK(8, "r_lowarm", W_BODY_MARKER, 0), JT(62, W_BODY, 0),
    JT(41, W_BODY, 0), AT("l_pinky1", "l_wrist", W_FINGER), AT("r_pinky1", "r_wrist", W_FINGER),
    AT("l_index1", "l_wrist", W_FINGER), AT("r_index1", "r_wrist", W_FINGER), AT("l_thumb2", "l_wrist", W_FINGER),
    AT("r_thumb2", "r_wrist", W_FINGER), MK(9, "root", W_BODY_MARKER, 1), MK(10, "root", W_BODY_MARKER, 1),
    JT(11, W_BODY, 0), JT(12, W_BODY, 0), MK(13, "l_talocrural", W_BODY_MARKER, 0),
    MK(14, "r_talocrural", W_BODY_MARKER, 0), MK(17, "l_subtalar", W_FOOT, 0), MK(20, "r_subtalar", W_FOOT, 0),
    MK(15, "l_ball", W_FOOT, 0), MK(18, "r_ball", W_FOOT, 0)};
/* hand 21: wrist, thumb CMC MCP IP tip, then index, middle, ring, pinky MCP PIP DIP tip; MHR70
 * numbers each finger tip first, so finger f's MCP is base + 4f + 3. */
#define HAND21(w, base)                                                                                              \
  {JT(w, W_FINGER, 1),                                                                                             \
   JT(base + 3, W_FINGER, 0), JT(base + 2, W_FINGER, 0), JT(base + 1, W_FINGER, 0), JT(base, W_FINGER, 0),         \
   JT(base + 7, W_FINGER, 1), JT(base + 6, W_FINGER, 0), JT(base + 5, W_FINGER, 0), JT(base + 4, W_FINGER, 0),     \
   JT(base + 11, W_FINGER, 1), JT(base + 10, W_FINGER, 0), JT(base + 9, W_FINGER, 0), JT(base + 8, W_FINGER, 0),   \
   JT(base + 15, W_FINGER, 0), JT(base + 14, W_FINGER, 0), JT(base + 13, W_FINGER, 0), JT(base + 12, W_FINGER, 0), \
   JT(base + 19, W_FINGER, 1), JT(base + 18, W_FINGER, 0), JT(base + 17, W_FINGER, 0), JT(base + 16, W_FINGER, 0)}
static const rule_src hand_left_rules[21] = HAND21(62, 42);
static const rule_src hand_right_rules[21] = HAND21(41, 21);

static const struct {
  const char *layout;
  const rule_src *rules;
  size_t n;
} tables[] = {{"coco17", coco17_rules, 17},
              {"halpe26", halpe26_rules, 26},
              {"body25", body25_rules, 25},
              {"body25b", body25b_rules, 25},
              {"mediapipe33", mediapipe33_rules, 33},
              {"mediapipe_hands21_left", hand_left_rules, 21},
              {"mediapipe_hands21_right", hand_right_rules, 21}};

/* The MHR70 rule of keypoint k: its joint, or a marker on its marker joint (keypoints.h). */
static rule_src mhr70_rule(int k) {
  const int *tab = mhrfit_mhr70_joint_table();
  rule_src r = {(signed char)k, -1, NULL, NULL, {0, 0, 0}, W_BODY, 0};
  r.anchor = k == 9 || k == 10 || k == 67 || k == 68 || k == 69;
  if (tab[k] == -1) r.joint = mhrfit_mhr70_marker_joint(k);
  if (k >= 21 && k <= 61 && k != 41) r.w = W_FINGER;
  else if (k <= 4) r.w = W_FACE;
  else if (k >= 15 && k <= 20) r.w = W_FOOT;
  else if (tab[k] == -1 || k == 69) r.w = W_BODY_MARKER;
  return r;
}

void mhrfit_detmap_free(mhrfit_detmap *m) {
  if (!m) return;
  mhrfit_names_free(m->names, m->n);
  free(m->rule);
  free(m->mhr70);
  free(m);
}

mhrfit_detmap *mhrfit_detmap_new_names(const char *const *names, size_t n, mhrfit_error *err) {
  if (n == 0 || n > MHRFIT_KEYPOINTS_MAX) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "a keypoint map needs 1 to %d keypoints, got %zu", MHRFIT_KEYPOINTS_MAX, n);
    return NULL;
  }
  mhrfit_detmap *m = mf_calloc_array(1, sizeof *m, err);
  if (!m) return NULL;
  snprintf(m->layout, sizeof m->layout, "custom");
  m->n = n;
  m->names = mf_calloc_array(n, sizeof *m->names, err);
  m->rule = mf_calloc_array(n, sizeof *m->rule, err);
  m->mhr70 = mf_malloc_array(n, sizeof *m->mhr70, err);
  if (!m->names || !m->rule || !m->mhr70) goto fail;
  for (size_t k = 0; k < n; k++) {
    if (!(m->names[k] = mf_strdup(names[k], err))) goto fail;
    m->rule[k].joint = -1;
    m->mhr70[k] = -1;
  }
  return m;
fail:
  mhrfit_detmap_free(m);
  return NULL;
}

/* Rest pose of the rig (all parameters 0) and its MHR70 keypoints with the default markers. */
typedef struct rest_pose {
  double *buf;
  mhrfit_fk_pose pose;
  double kp[MHRFIT_N_MHR70 * 3];
} rest_pose;

static bool rest_pose_init(rest_pose *r, const mhrfit_rig *rig, mhrfit_error *err) {
  size_t J = rig->n_joints;
  double *m = mf_calloc_array(rig->n_params, sizeof *m, err);
  r->buf = mf_calloc_array(13 * J, sizeof *r->buf, err);
  mhrfit_kpmap *map = m && r->buf ? mhrfit_kpmap_new_mhr70(rig, err) : NULL;
  bool ok = false;
  if (map) {
    r->pose = (mhrfit_fk_pose){r->buf, r->buf + 9 * J, r->buf + 12 * J};
    ok = mhrfit_rig_fk(rig, m, &r->pose, NULL, err) && mhrfit_kpmap_calibrate_default(map, rig, err) >= 0;
    if (ok) mhrfit_kpmap_eval(map, &r->pose, r->kp);
  }
  mhrfit_kpmap_free(map);
  free(m);
  if (!ok) {
    free(r->buf);
    r->buf = NULL;
  }
  return ok;
}

/* The offset in joint j's frame of rest position p: R_jᵀ (p − t_j) / s_j. */
static void rest_offset(const rest_pose *r, long j, const double p[3], double o[3]) {
  const double *R = r->pose.R + 9 * j, *t = r->pose.t + 3 * j;
  double d[3] = {p[0] - t[0], p[1] - t[1], p[2] - t[2]}, s = r->pose.s[j];
  for (int a = 0; a < 3; a++) o[a] = (R[a] * d[0] + R[3 + a] * d[1] + R[6 + a] * d[2]) / s;
}

static long joint_or_fail(const mhrfit_rig *rig, const char *name, mhrfit_error *err) {
  long j = mhrfit_rig_joint_index(rig, name);
  if (j < 0) MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "keypoint map: the rig has no joint '%s'", name);
  return j;
}

/* Fills rule k of m from a table entry. */
static bool apply_src(mhrfit_detmap *m, size_t k, const rule_src *s, const mhrfit_rig *rig, const rest_pose *r,
                      mhrfit_error *err) {
  mhrfit_kp_rule *u = &m->rule[k];
  memset(u, 0, sizeof *u);
  u->weight = s->w;
  u->anchor = s->anchor;
  m->mhr70[k] = s->b < 0 ? s->a : -1;
  if (!s->joint) {
    int j = mhrfit_mhr70_joint_table()[s->a];
    u->kind = MHRFIT_KP_JOINT;
    u->joint = j == -2 ? -2 : j;
    return true;
  }
  long j = joint_or_fail(rig, s->joint, err);
  if (j < 0) return false;
  double p[3];
  if (s->a < 0) {
    long at = joint_or_fail(rig, s->at, err);
    if (at < 0) return false;
    memcpy(p, r->pose.t + 3 * at, sizeof p);
  } else {
    for (int c = 0; c < 3; c++)
      p[c] = s->b < 0 ? r->kp[3 * s->a + c] : 0.5 * (r->kp[3 * s->a + c] + r->kp[3 * s->b + c]);
  }
  for (int c = 0; c < 3; c++) p[c] += s->d[c];
  u->kind = MHRFIT_KP_MARKER;
  u->joint = (int32_t)j;
  rest_offset(r, j, p, u->offset);
  return true;
}

mhrfit_detmap *mhrfit_detmap_new(const mhrfit_rig *rig, const char *layout_name, mhrfit_error *err) {
  const mhrfit_layout *layout = mhrfit_layout_get(layout_name, err);
  if (!layout) return NULL;
  const rule_src *rules = NULL;
  for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
    if (strcmp(tables[i].layout, layout_name) == 0) rules = tables[i].rules;
  if (rig->n_joints <= 126) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "keypoint map: the rig has %zu joints, expected MHR's 127", rig->n_joints);
    return NULL;
  }
  mhrfit_detmap *m = mhrfit_detmap_new_names(layout->names, layout->count, err);
  rest_pose r = {0};
  if (!m || !rest_pose_init(&r, rig, err)) goto fail;
  snprintf(m->layout, sizeof m->layout, "%s", layout->name);
  for (size_t k = 0; k < m->n; k++) {
    rule_src s = rules ? rules[k] : mhr70_rule((int)k);
    if (!apply_src(m, k, &s, rig, &r, err)) goto fail;
  }
  free(r.buf);
  return m;
fail:
  free(r.buf);
  mhrfit_detmap_free(m);
  return NULL;
}

void mhrfit_detmap_counts(const mhrfit_detmap *m, size_t counts[3]) {
  counts[0] = counts[1] = counts[2] = 0;
  for (size_t k = 0; k < m->n; k++) counts[m->rule[k].kind]++;
}

bool mhrfit_detmap_has_fingers(const mhrfit_detmap *m, const mhrfit_rig *rig) {
  long lw = mhrfit_rig_joint_index(rig, "l_wrist"), rw = mhrfit_rig_joint_index(rig, "r_wrist");
  for (size_t k = 0; k < m->n; k++) {
    if (m->rule[k].kind == MHRFIT_KP_UNUSED || m->rule[k].joint < 0) continue;
    for (long a = rig->parents[m->rule[k].joint]; a >= 0; a = rig->parents[a])
      if (a == lw || a == rw) return true; /* a strict descendant of a wrist: a finger joint */
  }
  return false;
}

mhrfit_kpmap *mhrfit_detmap_kpmap(const mhrfit_detmap *m, const mhrfit_rig *rig, const double *offsets,
                                  mhrfit_error *err) {
  size_t *start = mf_malloc_array(m->n + 1, sizeof *start, err);
  mhrfit_kp_term *terms = mf_calloc_array(2 * m->n, sizeof *terms, err);
  mhrfit_kpmap *map = NULL;
  if (!start || !terms) goto done;
  size_t n = 0;
  for (size_t k = 0; k < m->n; k++) {
    const mhrfit_kp_rule *u = &m->rule[k];
    start[k] = n;
    if (u->kind == MHRFIT_KP_JOINT && u->joint == -2) {
      terms[n++] = (mhrfit_kp_term){110, 0.5, {0, 0, 0}};
      terms[n++] = (mhrfit_kp_term){111, 0.5, {0, 0, 0}};
    } else if (u->kind == MHRFIT_KP_JOINT) {
      terms[n++] = (mhrfit_kp_term){u->joint, 1.0, {0, 0, 0}};
    } else if (u->kind == MHRFIT_KP_MARKER) {
      const double *o = offsets ? offsets + 3 * k : u->offset;
      terms[n++] = (mhrfit_kp_term){u->joint, 1.0, {o[0], o[1], o[2]}};
    }
  }
  start[m->n] = n;
  map = mhrfit_kpmap_new_terms(rig, m->n, start, terms, err);
done:
  free(start);
  free(terms);
  return map;
}

/* The MHR70 keypoint a joint keypoint on joint j stands for in the segment lengths: the MHR70
 * joint keypoint of j, or the elbow or ankle keypoint when j is the elbow or ankle joint (MHR70
 * puts those 0.5-1.7 cm from the joint, keypoints.h); -1 for any other joint. */
static int16_t mhr70_at_joint(const mhrfit_rig *rig, long j) {
  const int *tab = mhrfit_mhr70_joint_table();
  for (int a = 0; a < MHRFIT_N_MHR70; a++)
    if (tab[a] == j) return (int16_t)a;
  static const int near_joint[] = {7, 8, 13, 14};
  for (size_t i = 0; i < sizeof near_joint / sizeof near_joint[0]; i++)
    if (mhrfit_rig_joint_index(rig, mhrfit_mhr70_marker_joint(near_joint[i])) == j) return (int16_t)near_joint[i];
  return -1;
}

/* The joint named `name`, or a FORMAT error naming the key and the closest joint names. */
static long user_joint(const mhrfit_rig *rig, const char *name, const char *source, const char *key,
                       mhrfit_error *err) {
  long j = mhrfit_rig_joint_index(rig, name);
  if (j >= 0) return j;
  /* suggest joints sharing the longest prefix */
  size_t best = 0;
  char hint[200] = "";
  for (size_t i = 0; i < rig->n_joints; i++) {
    size_t p = 0;
    while (name[p] && name[p] == rig->joint_names[i][p]) p++;
    if (p > best) best = p, hint[0] = '\0';
    if (p == best && p > 0 && strlen(hint) + strlen(rig->joint_names[i]) + 3 < sizeof hint)
      snprintf(hint + strlen(hint), sizeof hint - strlen(hint), "%s%s", hint[0] ? ", " : "", rig->joint_names[i]);
  }
  MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: keypoint '%s': no MHR joint named '%s'%s%s%s", source, key, name,
              hint[0] ? " (closest: " : " (see mhrfit rig info --joints)", hint, hint[0] ? ")" : "");
  return -1;
}

bool mhrfit_detmap_apply_json(mhrfit_detmap *m, const mhrfit_rig *rig, const char *text, size_t len,
                              const char *source, mhrfit_error *err) {
  if (!source) source = "keypoint map";
  mhrfit_value *v = mhrfit_json_parse(text, len, source, err);
  if (!v) return false;
  mhrfit_kp_rule *rules = mf_malloc_array(m->n, sizeof *rules, err);
  int16_t *mhr70 = mf_malloc_array(m->n, sizeof *mhr70, err);
  bool ok = rules && mhr70;
  if (ok && v->kind != MHRFIT_V_DICT)
    ok = MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: a keypoint map is a JSON object {\"keypoint\": \"joint\" | {...}}",
                     source);
  if (ok) {
    memcpy(rules, m->rule, m->n * sizeof *rules);
    memcpy(mhr70, m->mhr70, m->n * sizeof *mhr70);
  }
  for (size_t i = 0; ok && i < v->u.dict.count; i++) {
    const char *key = v->u.dict.keys[i];
    const mhrfit_value *e = v->u.dict.vals[i];
    size_t k = 0;
    while (k < m->n && strcmp(m->names[k], key) != 0) k++;
    if (k == m->n) {
      ok = MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "%s: '%s' is not a keypoint of the %s layout", source, key, m->layout);
      break;
    }
    mhrfit_kp_rule u = {MHRFIT_KP_JOINT, -1, {0, 0, 0}, 1.0, false};
    mhr70[k] = -1;
    if (e->kind == MHRFIT_V_NULL) {
      u.kind = MHRFIT_KP_UNUSED;
    } else if (e->kind == MHRFIT_V_STRING) {
      long j = user_joint(rig, e->u.str.data, source, key, err);
      ok = j >= 0;
      u.joint = (int32_t)j;
    } else if (e->kind == MHRFIT_V_DICT) {
      const mhrfit_value *jn = mhrfit_value_dict_get(e, "joint"), *off = mhrfit_value_dict_get(e, "offset");
      const mhrfit_value *w = mhrfit_value_dict_get(e, "weight"), *an = mhrfit_value_dict_get(e, "anchor");
      for (size_t q = 0; ok && q < e->u.dict.count; q++) {
        const char *f = e->u.dict.keys[q];
        if (strcmp(f, "joint") && strcmp(f, "offset") && strcmp(f, "weight") && strcmp(f, "anchor"))
          ok = MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: keypoint '%s': unknown field '%s' (joint, offset, weight, anchor)",
                           source, key, f);
      }
      if (ok && (!jn || jn->kind != MHRFIT_V_STRING))
        ok = MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: keypoint '%s': \"joint\" must be a joint name", source, key);
      long j = ok ? user_joint(rig, jn->u.str.data, source, key, err) : -1;
      ok = ok && j >= 0;
      u.joint = (int32_t)j;
      if (ok && off) {
        bool good = off->kind == MHRFIT_V_LIST && off->u.list.count == 3;
        for (size_t c = 0; good && c < 3; c++) {
          const mhrfit_value *x = off->u.list.items[c];
          good = (x->kind == MHRFIT_V_INT || x->kind == MHRFIT_V_FLOAT) && isfinite(mhrfit_value_as_double(x)) &&
                 fabs(mhrfit_value_as_double(x)) <= 1.0;
          if (good) u.offset[c] = 100.0 * mhrfit_value_as_double(x); /* metres -> cm */
        }
        if (!good)
          ok = MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: keypoint '%s': \"offset\" must be 3 numbers in metres (|x| <= 1)",
                           source, key);
        u.kind = MHRFIT_KP_MARKER;
      }
      if (ok && w) {
        double x = mhrfit_value_as_double(w);
        if (!(w->kind == MHRFIT_V_INT || w->kind == MHRFIT_V_FLOAT) || !isfinite(x) || x < 0 || x > 100)
          ok = MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: keypoint '%s': \"weight\" must be a number in 0..100", source, key);
        u.weight = x;
      }
      if (ok && an) {
        if (an->kind != MHRFIT_V_BOOL)
          ok = MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: keypoint '%s': \"anchor\" must be true or false", source, key);
        else u.anchor = an->u.boolean;
      }
    } else {
      ok = MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: keypoint '%s': expected a joint name, null or an object", source, key);
    }
    if (ok) {
      rules[k] = u;
      if (u.kind == MHRFIT_KP_JOINT) mhr70[k] = mhr70_at_joint(rig, u.joint); /* segments by joint */
    }
  }
  if (ok) {
    memcpy(m->rule, rules, m->n * sizeof *rules);
    memcpy(m->mhr70, mhr70, m->n * sizeof *mhr70);
    if (strlen(m->layout) + 6 < sizeof m->layout && !strstr(m->layout, "+user")) strcat(m->layout, "+user");
  }
  free(rules);
  free(mhr70);
  mhrfit_value_free(v);
  return ok;
}

bool mhrfit_detmap_load_json(mhrfit_detmap *m, const mhrfit_rig *rig, const char *path, mhrfit_error *err) {
  unsigned char *data = NULL;
  size_t len = 0;
  if (!mf_read_file(path, 16u << 20, &data, &len, err)) return false;
  bool ok = mhrfit_detmap_apply_json(m, rig, (const char *)data, len, path, err);
  free(data);
  return ok;
}
