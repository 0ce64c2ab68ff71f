/* Keypoint layouts: see include/mhrfit/layout.h. */
#include "mhrfit/layout.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/file.h"
#include "common/mem.h"
#include "mhrfit/json.h"

static const char *const mhr70_names[70] = {
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "left_big_toe",
    "left_small_toe", "left_heel", "right_big_toe", "right_small_toe", "right_heel", "right_thumb4", "right_thumb3",
    "right_thumb2", "right_thumb_third_joint", "right_forefinger4", "right_forefinger3", "right_forefinger2",
    "right_forefinger_third_joint", "right_middle_finger4", "right_middle_finger3", "right_middle_finger2",
    "right_middle_finger_third_joint", "right_ring_finger4", "right_ring_finger3", "right_ring_finger2",
    "right_ring_finger_third_joint", "right_pinky_finger4", "right_pinky_finger3", "right_pinky_finger2",
    "right_pinky_finger_third_joint", "right_wrist", "left_thumb4", "left_thumb3", "left_thumb2",
    "left_thumb_third_joint", "left_forefinger4", "left_forefinger3", "left_forefinger2",
    "left_forefinger_third_joint", "left_middle_finger4", "left_middle_finger3", "left_middle_finger2",
    "left_middle_finger_third_joint", "left_ring_finger4", "left_ring_finger3", "left_ring_finger2",
    "left_ring_finger_third_joint", "left_pinky_finger4", "left_pinky_finger3", "left_pinky_finger2",
    "left_pinky_finger_third_joint", "left_wrist", "left_olecranon", "right_olecranon", "left_cubital_fossa",
    "right_cubital_fossa", "left_acromion", "right_acromion", "neck"};

static const char *const body25b_names[25] = {
    "Nose", "LEye", "REye", "LEar", "REar", "LShoulder", "RShoulder", "LElbow", "RElbow", "LWrist", "RWrist", "LHip", "RHip",
    "LKnee", "RKnee", "LAnkle", "RAnkle", "Neck", "Head", "LBigToe", "LSmallToe", "LHeel", "RBigToe", "RSmallToe", "RHeel"};

static const char *const coco17_names[17] = {
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
    "right_ankle"};

static const char *const body25_names[25] = {
    "Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist", "MidHip", "RHip", "RKnee", "RAnkle",
    "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar", "LBigToe", "LSmallToe", "LHeel", "RBigToe", "RSmallToe",
    "RHeel"};

static const char *const halpe26_names[26] = {
    "Nose", "LEye", "REye", "LEar", "REar", "LShoulder", "RShoulder", "LElbow", "RElbow", "LWrist", "RWrist", "LHip", "RHip",
    "LKnee", "RKnee", "LAnkle", "RAnkle", "Head", "Neck", "Hip", "LBigToe", "RBigToe", "LSmallToe", "RSmallToe", "LHeel",
    "RHeel"};

static const char *const mediapipe33_names[33] = {
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye", "right_eye_outer", "left_ear",
    "right_ear", "mouth_left", "mouth_right", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist",
    "right_wrist", "left_pinky", "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel", "right_heel", "left_foot_index",
    "right_foot_index"};

static const char *const hand21_names[21] = {
    "wrist", "thumb_cmc", "thumb_mcp", "thumb_ip", "thumb_tip", "index_finger_mcp", "index_finger_pip",
    "index_finger_dip", "index_finger_tip", "middle_finger_mcp", "middle_finger_pip", "middle_finger_dip",
    "middle_finger_tip", "ring_finger_mcp", "ring_finger_pip", "ring_finger_dip", "ring_finger_tip", "pinky_mcp",
    "pinky_pip", "pinky_dip", "pinky_tip"};

static const mhrfit_layout layouts[] = {
    {"mhr70", 70, mhr70_names},
    {"coco17", 17, coco17_names},
    {"halpe26", 26, halpe26_names},
    {"body25", 25, body25_names},
    {"body25b", 25, body25b_names},
    {"mediapipe33", 33, mediapipe33_names},
    {"mediapipe_hands21_left", 21, hand21_names},
    {"mediapipe_hands21_right", 21, hand21_names}};
#define N_LAYOUTS (sizeof layouts / sizeof layouts[0])

const mhrfit_layout *mhrfit_layout_get(const char *name, mhrfit_error *err) {
  for (size_t i = 0; i < N_LAYOUTS; i++)
    if (strcmp(layouts[i].name, name) == 0) return &layouts[i];
  MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "unknown keypoint layout '%s' (known: %s)", name, MHRFIT_LAYOUT_NAMES);
  return NULL;
}

const mhrfit_layout *mhrfit_layout_at(size_t i) { return i < N_LAYOUTS ? &layouts[i] : NULL; }

/* MHR70 aliases (`original_keypoint_info`): finger tips and joints named by position. */
static long mhr70_alias(const char *name) {
  static const char *const fingers[5] = {"thumb", "index", "middle", "ring", "pinky"};
  static const char *const parts[4] = {"tip", "first_joint", "second_joint", "third_joint"};
  for (int side = 0; side < 2; side++) {
    const char *s = side ? "left_" : "right_";
    size_t ls = strlen(s);
    if (strncmp(name, s, ls) != 0) continue;
    for (int f = 0; f < 5; f++) {
      size_t lf = strlen(fingers[f]);
      if (strncmp(name + ls, fingers[f], lf) != 0 || name[ls + lf] != '_') continue;
      for (int p = 0; p < 4; p++)
        if (strcmp(name + ls + lf + 1, parts[p]) == 0) return (side ? 42 : 21) + 4 * f + p;
    }
    if (strcmp(name + ls, "big_toe_tip") == 0) return side ? 15 : 18;
    if (strcmp(name + ls, "small_toe_tip") == 0) return side ? 16 : 19;
  }
  return -1;
}

long mhrfit_layout_index(const mhrfit_layout *layout, const char *name) {
  for (size_t i = 0; i < layout->count; i++)
    if (strcmp(layout->names[i], name) == 0) return (long)i;
  if (layout->names == mhr70_names) return mhr70_alias(name);
  return -1;
}

bool mhrfit_layout_subset(const mhrfit_layout *layout, const char *spec, size_t *idx, size_t max, size_t *n,
                          mhrfit_error *err) {
  *n = 0;
  if (strcmp(spec, "all") == 0) {
    if (layout->count > max) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "too many keypoints");
    for (size_t i = 0; i < layout->count; i++) idx[(*n)++] = i;
    return true;
  }
  if (strcmp(spec, "hands_arms") == 0) {
    if (layout->names != mhr70_names)
      return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "subset 'hands_arms' exists for the mhr70 layout only");
    static const size_t extra[6] = {5, 6, 7, 8, 62, 41};
    if (max < 46) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "too many keypoints");
    for (size_t i = 21; i <= 40; i++) idx[(*n)++] = i;
    for (size_t i = 42; i <= 61; i++) idx[(*n)++] = i;
    for (size_t i = 0; i < 6; i++) idx[(*n)++] = extra[i];
    return true;
  }
  const char *p = spec;
  while (*p) {
    const char *e = strchr(p, ',');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    char name[128];
    if (len == 0 || len >= sizeof name) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "bad keypoint list '%s'", spec);
    memcpy(name, p, len);
    name[len] = '\0';
    long k = mhrfit_layout_index(layout, name);
    if (k < 0 && isdigit((unsigned char)name[0])) {
      char *end;
      long v = strtol(name, &end, 10);
      if (*end == '\0' && v >= 0 && (size_t)v < layout->count) k = v;
    }
    if (k < 0) return MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "no keypoint '%s' in layout %s", name, layout->name);
    for (size_t i = 0; i < *n; i++)
      if (idx[i] == (size_t)k) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "keypoint '%s' listed twice", name);
    if (*n >= max) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "too many keypoints");
    idx[(*n)++] = (size_t)k;
    p += len;
    if (*p == ',') p++;
  }
  if (*n == 0) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "empty keypoint subset");
  return true;
}

bool mhrfit_layout_select(const mhrfit_layout *layout, const char *spec, size_t **idx, const char ***names, size_t *n,
                          mhrfit_error *err) {
  *idx = NULL;
  *names = NULL;
  *n = 0;
  size_t *ix = mf_calloc_array(layout->count, sizeof *ix, err);
  if (!ix) return false;
  const char **nm = NULL;
  if (!mhrfit_layout_subset(layout, spec, ix, layout->count, n, err) ||
      !(nm = mf_calloc_array(*n, sizeof *nm, err))) {
    free(ix);
    *n = 0;
    return false;
  }
  for (size_t k = 0; k < *n; k++) nm[k] = layout->names[ix[k]];
  *idx = ix;
  *names = nm;
  return true;
}

/* The name of the other side's keypoint, built by swapping a side marker: a `left_`/`right_`
 * prefix, a `_left`/`_right` suffix, or Pose2Sim's `L`/`R` before a capital letter. */
static bool mirror_name(const char *name, char *out, size_t cap) {
  size_t n = strlen(name);
  if (n + 2 > cap) return false;
  if (strncmp(name, "left_", 5) == 0) return snprintf(out, cap, "right_%s", name + 5) < (int)cap;
  if (strncmp(name, "right_", 6) == 0) return snprintf(out, cap, "left_%s", name + 6) < (int)cap;
  if (n > 5 && strcmp(name + n - 5, "_left") == 0)
    return snprintf(out, cap, "%.*s_right", (int)(n - 5), name) < (int)cap;
  if (n > 6 && strcmp(name + n - 6, "_right") == 0)
    return snprintf(out, cap, "%.*s_left", (int)(n - 6), name) < (int)cap;
  if ((name[0] == 'L' || name[0] == 'R') && isupper((unsigned char)name[1])) {
    snprintf(out, cap, "%s", name);
    out[0] = name[0] == 'L' ? 'R' : 'L';
    return true;
  }
  return false;
}

size_t mhrfit_layout_mirror(const mhrfit_layout *layout, size_t k) {
  char other[160];
  if (k >= layout->count || !mirror_name(layout->names[k], other, sizeof other)) return k;
  long j = mhrfit_layout_index(layout, other);
  return j >= 0 ? (size_t)j : k;
}

void mhrfit_names_free(char **names, size_t n) {
  if (!names) return;
  for (size_t i = 0; i < n; i++) free(names[i]);
  free(names);
}

/* Appends a copy of name[0..len-1] to the list, checking it. */
static bool names_push(char ***names, size_t *n, const char *name, size_t len, const char *source, size_t line,
                       mhrfit_error *err) {
  if (len == 0 || len > MHRFIT_KEYPOINT_NAME_MAX)
    return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: keypoint name %zu (line %zu) must have 1 to %d characters", source,
                       *n + 1, line, MHRFIT_KEYPOINT_NAME_MAX);
  if (*n >= MHRFIT_KEYPOINTS_MAX)
    return MHRFIT_FAIL(err, MHRFIT_ERR_LIMIT, "%s: more than %d keypoint names", source, MHRFIT_KEYPOINTS_MAX);
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)name[i] < 0x20)
      return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: keypoint name %zu (line %zu) holds a control character", source,
                         *n + 1, line);
  for (size_t i = 0; i < *n; i++)
    if (strlen((*names)[i]) == len && memcmp((*names)[i], name, len) == 0)
      return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: keypoint name '%.*s' (line %zu) appears twice", source, (int)len,
                         name, line);
  char **grown = realloc(*names, (*n + 1) * sizeof *grown);
  if (!grown) return MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
  *names = grown;
  if (!(grown[*n] = malloc(len + 1))) return MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
  memcpy(grown[*n], name, len);
  grown[*n][len] = '\0';
  (*n)++;
  return true;
}

bool mhrfit_keypoint_names_parse(const char *text, size_t len, const char *source, char ***names, size_t *n,
                                 mhrfit_error *err) {
  *names = NULL;
  *n = 0;
  if (!source) source = "keypoint names";
  size_t i = 0;
  while (i < len && isspace((unsigned char)text[i])) i++;
  bool ok = true;
  if (i < len && text[i] == '[') { /* a JSON list of strings */
    mhrfit_value *v = mhrfit_json_parse(text, len, source, err);
    if (!v) return false;
    if (v->kind != MHRFIT_V_LIST) ok = MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: not a JSON list of names", source);
    for (size_t k = 0; ok && k < v->u.list.count; k++) {
      const mhrfit_value *e = v->u.list.items[k];
      if (e->kind != MHRFIT_V_STRING)
        ok = MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: entry %zu of the list is not a string", source, k);
      else ok = names_push(names, n, e->u.str.data, e->u.str.len, source, 1, err);
    }
    mhrfit_value_free(v);
  } else { /* one name per line; blank lines are skipped, surrounding spaces trimmed */
    size_t line = 0;
    for (size_t p = 0; ok && p < len;) {
      const char *nl = memchr(text + p, '\n', len - p);
      size_t e = nl ? (size_t)(nl - text) : len, b = p;
      line++;
      p = e + 1;
      while (b < e && isspace((unsigned char)text[b])) b++;
      while (e > b && isspace((unsigned char)text[e - 1])) e--;
      if (e > b) ok = names_push(names, n, text + b, e - b, source, line, err);
    }
  }
  if (ok && *n == 0) ok = MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: no keypoint names", source);
  if (!ok) {
    mhrfit_names_free(*names, *n);
    *names = NULL;
    *n = 0;
  }
  return ok;
}

bool mhrfit_keypoint_names_load(const char *path, char ***names, size_t *n, mhrfit_error *err) {
  unsigned char *data = NULL;
  size_t len = 0;
  *names = NULL;
  *n = 0;
  if (!mf_read_file(path, 16u << 20, &data, &len, err)) return false;
  bool ok = mhrfit_keypoint_names_parse((const char *)data, len, path, names, n, err);
  free(data);
  return ok;
}

mhrfit_layout *mhrfit_layout_new_custom(const char *name, const char *const *names, size_t n, mhrfit_error *err) {
  if (n == 0 || n > MHRFIT_KEYPOINTS_MAX) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "a keypoint set needs 1 to %d keypoints, got %zu", MHRFIT_KEYPOINTS_MAX, n);
    return NULL;
  }
  mhrfit_layout *l = calloc(1, sizeof *l);
  char **own = calloc(n, sizeof *own);
  char *lname = malloc(strlen(name ? name : "custom") + 1);
  if (!l || !own || !lname) goto nomem;
  strcpy(lname, name ? name : "custom");
  l->name = lname;
  l->count = n;
  l->names = (const char *const *)own;
  for (size_t k = 0; k < n; k++) {
    char buf[32];
    const char *s = names ? names[k] : buf;
    if (!names) snprintf(buf, sizeof buf, "kp_%zu", k);
    if (!(own[k] = malloc(strlen(s) + 1))) goto nomem;
    strcpy(own[k], s);
  }
  return l;
nomem:
  mhrfit_names_free(own, n);
  free(lname);
  free(l);
  MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
  return NULL;
}

void mhrfit_layout_free(mhrfit_layout *layout) {
  if (!layout) return;
  for (size_t i = 0; i < N_LAYOUTS; i++)
    if (layout == &layouts[i]) return; /* built-in: static */
  mhrfit_names_free((char **)(uintptr_t)layout->names, layout->count);
  free((char *)(uintptr_t)layout->name);
  free(layout);
}
