/* Keypoint layouts: see include/mhrfit/layout.h. */
#include "mhrfit/layout.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

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

static const mhrfit_layout layouts[] = {
    {"mhr70", 70, mhr70_names}, {"body25b", 25, body25b_names}, {"coco17", 17, coco17_names}};

const mhrfit_layout *mhrfit_layout_get(const char *name, mhrfit_error *err) {
  for (size_t i = 0; i < sizeof layouts / sizeof layouts[0]; i++)
    if (strcmp(layouts[i].name, name) == 0) return &layouts[i];
  MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "unknown keypoint layout '%s' (known: mhr70, body25b, coco17)", name);
  return NULL;
}

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
