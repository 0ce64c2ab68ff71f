/* Loading 2-D observations: see include/mhrfit/observations.h. */
#include "mhrfit/observations.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "common/path.h"
#include "io/numpy_io.h"
#include "mhrfit/layout.h"
#include "mhrfit/npy.h"
#include "mhrfit/openpose.h"
#include "tri_internal.h"

mhrfit_observations *mf_observations_alloc(size_t F, size_t K, size_t V, bool conf, mhrfit_error *err) {
  mhrfit_observations *o = calloc(1, sizeof *o);
  if (!o) {
    MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
    return NULL;
  }
  o->n_frames = F;
  o->n_kp = K;
  o->n_views = V;
  size_t n, fk;
  if (!mf_mul_size(F, K, &fk) || !mf_mul_size(fk, V, &n)) {
    free(o);
    MHRFIT_FAIL(err, MHRFIT_ERR_LIMIT, "too many observations");
    return NULL;
  }
  o->uv = mf_malloc_array(n ? 2 * n : 1, sizeof(double), err);
  o->conf = conf ? mf_malloc_array(n ? n : 1, sizeof(double), err) : NULL;
  if (!o->uv || (conf && !o->conf)) {
    mhrfit_observations_free(o);
    return NULL;
  }
  for (size_t i = 0; i < 2 * n; i++) o->uv[i] = NAN;
  for (size_t i = 0; conf && i < n; i++) o->conf[i] = NAN;
  return o;
}

void mhrfit_observations_keep_views(mhrfit_observations *obs, const bool *keep) {
  size_t V = obs->n_views, W = 0;
  for (size_t v = 0; v < V; v++) W += keep[v];
  for (size_t i = 0; i < obs->n_frames * obs->n_kp; i++) /* a kept view never moves up: in place */
    for (size_t v = 0, w = 0; v < V; v++) {
      if (!keep[v]) continue;
      obs->uv[2 * (i * W + w)] = obs->uv[2 * (i * V + v)];
      obs->uv[2 * (i * W + w) + 1] = obs->uv[2 * (i * V + v) + 1];
      if (obs->conf) obs->conf[i * W + w] = obs->conf[i * V + v];
      w++;
    }
  obs->n_views = W;
}

size_t mhrfit_observations_seen_views(const mhrfit_observations *obs, bool *seen, const char *const *names,
                                      char *unseen, size_t unseen_size) {
  size_t V = obs->n_views, n = 0, len = 0;
  if (unseen && unseen_size) unseen[0] = '\0';
  for (size_t v = 0; v < V; v++) {
    seen[v] = false;
    for (size_t i = 0; i < obs->n_frames * obs->n_kp && !seen[v]; i++)
      seen[v] = isfinite(obs->uv[2 * (i * V + v)]) && isfinite(obs->uv[2 * (i * V + v) + 1]);
    n += seen[v];
    if (!seen[v] && names && unseen && len < unseen_size)
      len += (size_t)snprintf(unseen + len, unseen_size - len, "%s%s", len ? ", " : "", names[v]);
  }
  return n;
}

/* The calibration holds a camera of this name. */
static bool calibrated(const mhrfit_calib *calib, const char *name) {
  for (size_t i = 0; i < calib->n_cams; i++)
    if (strcmp(calib->cams[i].name, name) == 0) return true;
  return false;
}

/* `name` is one of the n stems, or a stem with `suffix` appended. */
static bool stem_listed(const char *name, size_t len, const char *const *stems, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (strlen(stems[i]) == len && strncmp(stems[i], name, len) == 0) return true;
  return false;
}

size_t mhrfit_observations_other_inputs(const char *dir, const char *format, const char *const *stems, size_t n,
                                        char *out, size_t size) {
  if (out && size) out[0] = '\0';
  bool openpose = format && strcmp(format, "openpose") == 0;
  if (!format || (!openpose && strcmp(format, "stage1") != 0 && strcmp(format, "arrays") != 0)) return 0;
  mf_names list = {0};
  if (!mf_list_dir(dir, openpose ? "_json" : NULL, openpose, &list, NULL)) return 0;
  size_t count = 0, len = 0;
  for (size_t i = 0; i < list.count; i++) {
    const char *name = list.items[i];
    size_t l = strlen(name);
    bool input;
    if (openpose) /* a folder <stem>_json, or one a stem names itself */
      input = !stem_listed(name, l, stems, n) && !stem_listed(name, l - 5, stems, n);
    else {
      input = l > 4 && (strcmp(name + l - 4, ".npz") == 0 || strcmp(name + l - 4, ".npy") == 0) &&
              !stem_listed(name, l - 4, stems, n);
      if (input) {
        char *path = mf_path_join(dir, name, NULL);
        input = path && mf_is_file(path);
        free(path);
      }
    }
    if (!input) continue;
    if (out && len < size) len += (size_t)snprintf(out + len, size - len, "%s%s", count ? ", " : "", name);
    count++;
  }
  mf_names_free(&list);
  return count;
}

/* Without --cams: the calibration's tables that look like cameras but are not read, and the
 * inputs of no calibrated camera, said (they would be dropped without a word). */
static void warn_left_out(const char *dir, const mhrfit_calib *calib, const mhrfit_obs_cameras *cams,
                          const char *format, const char *const *stems, size_t n) {
  if (!cams->warn) return;
  char list[600], msg[1400];
  if (mhrfit_calib_unread_cameras(calib, list, sizeof list)) {
    snprintf(msg, sizeof msg, "%s: table(s) %s have no 'matrix' field, so they are not read as cameras (left out)",
             calib->path, list);
    cams->warn(cams->user, msg);
  }
  if (mhrfit_observations_other_inputs(dir, format, stems, n, list, sizeof list)) {
    snprintf(msg, sizeof msg, "%s: %s hold(s) the keypoints of no calibrated camera of %s (not read; --cam_map "
             "FILE_NAME=CALIBRATION_NAME maps a file to a calibration camera)", dir, list, calib->path);
    cams->warn(cams->user, msg);
  }
}

mhrfit_observations *mhrfit_observations_load_cameras(const char *dir, const mhrfit_calib *calib,
                                                      const mhrfit_obs_cameras *cams, const mhrfit_obs_options *opts,
                                                      char ***used, size_t *n_used, mhrfit_error *err) {
  *used = NULL;
  *n_used = 0;
  const bool every = cams->n_names == 0;
  size_t V = every ? calib->n_cams : cams->n_names;
  const size_t V0 = V; /* stems keeps this count; names is compacted to V */
  for (size_t m = 0; m < cams->n_map; m++) {
    const char *e = cams->map[m], *eq = e ? strchr(e, '=') : NULL;
    if (!eq || eq == e || !eq[1]) {
      MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "--cam_map: '%s' is not FILE_NAME=CALIBRATION_NAME", e ? e : "");
      return NULL;
    }
    if (!calibrated(calib, eq + 1)) {
      MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "--cam_map %s: %s has no camera named '%s'", e, calib->path, eq + 1);
      return NULL;
    }
  }
  if (!every) { /* an unknown camera is named before any input is read */
    mhrfit_calib *sel = mhrfit_calib_select(calib, cams->names, cams->n_names, err);
    if (!sel) return NULL;
    mhrfit_calib_free(sel);
  }
  char **names = mf_calloc_array(V ? V : 1, sizeof *names, err), **stems = mf_calloc_array(V ? V : 1, sizeof *stems, err);
  mhrfit_observations *obs = NULL;
  bool ok = names && stems;
  for (size_t v = 0; ok && v < V; v++) {
    const char *name = every ? calib->cams[v].name : cams->names[v];
    size_t stem_len = strlen(name);
    const char *stem = name;
    for (size_t m = 0; m < cams->n_map; m++) {
      const char *eq = strchr(cams->map[m], '=');
      if (strcmp(eq + 1, name) == 0) stem = cams->map[m], stem_len = (size_t)(eq - cams->map[m]);
    }
    ok = (names[v] = mf_strdup(name, err)) && (stems[v] = mf_strndup(stem, stem_len, err));
  }
  mhrfit_obs_options o = {0};
  if (opts) o = *opts;
  o.allow_missing_views = o.allow_missing_views || every;
  if (ok) obs = mhrfit_observations_load(dir, (const char *const *)stems, V, &o, err);
  bool *seen = obs && every ? mf_calloc_array(V ? V : 1, sizeof *seen, err) : NULL;
  ok = obs && (!every || seen);
  if (ok && every) warn_left_out(dir, calib, cams, obs->format, (const char *const *)stems, V0);
  if (ok && every) {
    char unseen[512];
    size_t n_seen = mhrfit_observations_seen_views(obs, seen, (const char *const *)names, unseen, sizeof unseen);
    if (n_seen < 2) {
      ok = MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND,
                       "%s: %zu calibrated camera(s) have keypoints, at least 2 are needed (none for %s; --cams names "
                       "the cameras to use, --cam_map FILE=NAME maps other file names)",
                       dir, n_seen, unseen[0] ? unseen : "-");
    } else if (n_seen < V) {
      if (cams->warn) {
        char msg[1200];
        snprintf(msg, sizeof msg, "%s: no keypoint of camera(s) %s (left out)", dir, unseen);
        cams->warn(cams->user, msg);
      }
      mhrfit_observations_keep_views(obs, seen);
      size_t w = 0;
      for (size_t v = 0; v < V; v++) {
        if (seen[v]) names[w++] = names[v];
        else free(names[v]);
      }
      V = w;
    }
  }
  free(seen);
  mhrfit_names_free(stems, stems ? V0 : 0);
  if (!ok) {
    mhrfit_observations_free(obs);
    mhrfit_names_free(names, names ? V : 0);
    return NULL;
  }
  *used = names;
  *n_used = V;
  return obs;
}

void mhrfit_observations_free(mhrfit_observations *o) {
  if (!o) return;
  free(o->uv);
  free(o->conf);
  if (o->names)
    for (size_t k = 0; k < o->n_kp; k++) free(o->names[k]);
  free(o->names);
  free(o->frame_ids);
  free(o);
}

/* "(3, 17, 2)": the shape of `a` for messages. */
static const char *shape_str(const mhrfit_array *a, char *buf, size_t size) {
  size_t n = (size_t)snprintf(buf, size, "(");
  for (int d = 0; d < a->ndim && n < size; d++) n += (size_t)snprintf(buf + n, size - n, d ? ", %zu" : "%zu", a->shape[d]);
  if (n < size) snprintf(buf + n, size - n, a->ndim == 1 ? ",)" : ")");
  return buf;
}

/* The array holding the keypoints in a loaded per-camera value. */
static const mhrfit_array *keypoint_array(const mhrfit_value *v, size_t person) {
  if (v->kind == MHRFIT_V_ARRAY) return v->u.array;
  if (v->kind == MHRFIT_V_LIST && v->u.list.count > 0) /* a list of persons (clipped as below) */
    v = v->u.list.items[person < v->u.list.count ? person : v->u.list.count - 1];
  const mhrfit_value *k = mhrfit_value_dict_get(v, "pred_keypoints_2d");
  if (!k) k = mhrfit_value_dict_get(v, "arr_0");
  return k && k->kind == MHRFIT_V_ARRAY ? k->u.array : NULL;
}

/* The folder of a camera's OpenPose JSON files: <cam>_json, or the name itself when it already
 * ends in _json (a --cam_map entry naming the folder, as cam01_json=cam_01). */
static void openpose_dir_name(char *out, size_t size, const char *cam) {
  size_t n = strlen(cam);
  snprintf(out, size, n >= 5 && strcmp(cam + n - 5, "_json") == 0 ? "%s" : "%s_json", cam);
}

/* The frame number of an OpenPose file name: its last run of digits before ".json"
 * (`cam04.0030.json` -> 30, `<video>_000000000030_keypoints.json` -> 30); -1 when it has none
 * (or one too long to be a frame number). */
static long openpose_frame_number(const char *name) {
  size_t n = strlen(name);
  if (n >= 5 && strcmp(name + n - 5, ".json") == 0) n -= 5;
  size_t end = n;
  while (end > 0 && !(name[end - 1] >= '0' && name[end - 1] <= '9')) end--;
  size_t begin = end;
  while (begin > 0 && name[begin - 1] >= '0' && name[begin - 1] <= '9') begin--;
  if (begin == end || end - begin > 15) return -1;
  long v = 0;
  for (size_t i = begin; i < end; i++) v = 10 * v + (name[i] - '0');
  return v;
}

/* A file of a camera: its frame number and its place in the camera's listing. */
typedef struct op_file {
  long number;
  size_t index;
} op_file;

static int cmp_op_file(const void *a, const void *b) {
  const op_file *x = a, *y = b;
  return x->number < y->number ? -1 : x->number > y->number ? 1 : (x->index > y->index) - (x->index < y->index);
}

static int cmp_long(const void *a, const void *b) {
  long x = *(const long *)a, y = *(const long *)b;
  return (x > y) - (x < y);
}

static void op_warn(const mhrfit_obs_options *o, const char *msg) {
  if (o->warn) o->warn(o->warn_user, msg);
}

/* Per camera, the file of each frame (`file[v][f]`, SIZE_MAX: none) and the frame numbers
 * (`*ids`, owned) when every file of every camera has a number and no camera repeats one: the
 * frames are the union of the numbers; the cameras lacking some are named in a warning.
 * Returns false (no error) when the names do not give frames by number. */
static bool openpose_match_numbers(const mf_names *files, const char *const *cams, const char *const *dirs, size_t V,
                                   const mhrfit_obs_options *o, size_t *F_out, long **ids_out, size_t **file_out,
                                   bool *numbered, mhrfit_error *err) {
  *numbered = false;
  size_t total = 0;
  for (size_t v = 0; v < V; v++) {
    for (size_t i = 0; i < files[v].count; i++)
      if (openpose_frame_number(files[v].items[i]) < 0) return true;
    total += files[v].count;
  }
  if (total == 0) return true;
  op_file *all = mf_malloc_array(total, sizeof *all, err);
  long *ids = mf_malloc_array(total, sizeof *ids, err);
  size_t *first = mf_calloc_array(V + 1, sizeof *first, err);
  bool ok = all && ids && first;
  size_t n = 0;
  for (size_t v = 0; ok && v < V; v++) {
    first[v] = n;
    for (size_t i = 0; i < files[v].count; i++) all[n++] = (op_file){openpose_frame_number(files[v].items[i]), i};
    qsort(all + first[v], files[v].count, sizeof *all, cmp_op_file);
    for (size_t i = first[v] + 1; i < n; i++)
      if (all[i].number == all[i - 1].number) { /* two files of one frame: not numbers of frames */
        char msg[1400];
        snprintf(msg, sizeof msg, "camera '%s': %s and %s have the same frame number %ld: frames are matched by file "
                 "order, not by number", cams[v], files[v].items[all[i - 1].index], files[v].items[all[i].index],
                 all[i].number);
        op_warn(o, msg);
        free(all);
        free(ids);
        free(first);
        return true;
      }
  }
  if (ok) first[V] = n;
  size_t F = 0;
  for (size_t i = 0; ok && i < n; i++) ids[i] = all[i].number;
  if (ok) {
    qsort(ids, n, sizeof *ids, cmp_long);
    for (size_t i = 0; i < n; i++)
      if (F == 0 || ids[i] != ids[F - 1]) ids[F++] = ids[i];
  }
  size_t *file = NULL, FV;
  if (ok && (!mf_mul_size(F, V, &FV) || !(file = mf_malloc_array(FV ? FV : 1, sizeof *file, err)))) {
    if (err && !err->type) MHRFIT_FAIL(err, MHRFIT_ERR_LIMIT, "too many frames");
    ok = false;
  }
  for (size_t v = 0; ok && v < V; v++) {
    size_t lacking = 0, j = first[v];
    char list[200] = "";
    size_t len = 0;
    for (size_t f = 0; f < F; f++) {
      while (j < first[v + 1] && all[j].number < ids[f]) j++;
      bool has = j < first[v + 1] && all[j].number == ids[f];
      file[f * V + v] = has ? all[j].index : SIZE_MAX;
      if (has) continue;
      if (lacking < 8 && len < sizeof list)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%ld", lacking ? ", " : "", ids[f]);
      lacking++;
    }
    if (lacking && mf_is_dir(dirs[v])) { /* a camera without a folder is the caller's missing view */
      char msg[1400];
      snprintf(msg, sizeof msg, "camera '%s' (%s): no file of frame(s) %s%s (%zu of %zu frames; those views are "
               "missing)", cams[v], dirs[v], list, lacking > 8 ? ", ..." : "", lacking, F);
      op_warn(o, msg);
    }
  }
  free(all);
  free(first);
  if (!ok) {
    free(ids);
    free(file);
    return false;
  }
  *numbered = true;
  *F_out = F;
  *ids_out = ids;
  *file_out = file;
  return true;
}

static mhrfit_observations *load_openpose(const char *dir, const char *const *cams, size_t V,
                                          const mhrfit_obs_options *o, mhrfit_error *err) {
  mf_names files[64];
  char *dirs[64] = {0};
  size_t F = SIZE_MAX, F_max = 0;
  mhrfit_observations *obs = NULL;
  size_t listed = 0, *file = NULL;
  long *ids = NULL;
  for (size_t v = 0; v < V; v++) {
    char name[512];
    if (o->cam_dirs) snprintf(name, sizeof name, "%s", o->cam_dirs[v]);
    else openpose_dir_name(name, sizeof name, cams[v]);
    dirs[v] = mf_path_join(dir, name, err);
    if (!dirs[v]) goto done;
    files[v].items = NULL;
    files[v].count = 0;
    listed = v + 1;
    if (!mf_is_dir(dirs[v])) {
      if (o->allow_missing_views) continue;
      MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "camera '%s': folder %s not found", cams[v], dirs[v]);
      goto done;
    }
    if (!mf_list_dir(dirs[v], ".json", false, &files[v], err)) goto done;
    if (files[v].count < F) F = files[v].count;
    if (files[v].count > F_max) F_max = files[v].count;
  }
  if (F == SIZE_MAX) F = 0;
  /* frames by the numbers in the file names when every name has one, else by file order */
  bool numbered;
  size_t F_num = 0;
  if (!openpose_match_numbers(files, cams, (const char *const *)dirs, V, o, &F_num, &ids, &file, &numbered, err))
    goto done;
  if (numbered) {
    F = F_num;
  } else if (F < F_max) {
    char counts[600];
    size_t len = 0;
    for (size_t v = 0; v < V && len < sizeof counts; v++)
      if (mf_is_dir(dirs[v]))
        len += (size_t)snprintf(counts + len, sizeof counts - len, "%s%s %zu", len ? ", " : "", cams[v], files[v].count);
    char msg[900];
    snprintf(msg, sizeof msg, "%s: the cameras have different numbers of OpenPose files (%s) and the file names "
             "carry no frame numbers to match them: frame f is the f-th file of every camera, the %zu frames all "
             "cameras have; the later files are not read", dir, counts, F);
    op_warn(o, msg);
  }
  obs = mf_observations_alloc(F, o->n_kp, V, true, err);
  if (!obs) goto done;
  double *xyc = mf_malloc_array(3 * o->n_kp, sizeof(double), err);
  if (!xyc) goto fail;
  for (size_t v = 0; v < V; v++) {
    for (size_t f = 0; f < F && files[v].count; f++) {
      size_t i_file = numbered ? file[f * V + v] : f;
      if (i_file == SIZE_MAX) continue; /* no file of this frame: a missing view */
      char *path = mf_path_join(dirs[v], files[v].items[i_file], err);
      if (!path || !mhrfit_openpose_read(path, o->person, o->n_kp, xyc, err)) {
        if (path) {
          if (numbered) mhrfit_error_prefix(err, "camera '%s', frame %ld", cams[v], ids[f]);
          else mhrfit_error_prefix(err, "camera '%s', frame %zu", cams[v], f);
        }
        free(path);
        free(xyc);
        goto fail;
      }
      free(path);
      for (size_t k = 0; k < o->n_kp; k++) {
        size_t i = (f * o->n_kp + k) * V + v;
        obs->uv[2 * i] = xyc[3 * k];
        obs->uv[2 * i + 1] = xyc[3 * k + 1];
        obs->conf[i] = xyc[3 * k + 2];
      }
    }
  }
  free(xyc);
  snprintf(obs->format, sizeof obs->format, "openpose");
  if (numbered) {
    obs->frame_ids = ids;
    ids = NULL;
  }
  goto done;
fail:
  mhrfit_observations_free(obs);
  obs = NULL;
done:
  free(ids);
  free(file);
  for (size_t v = 0; v < listed; v++) mf_names_free(&files[v]);
  for (size_t v = 0; v < V; v++) free(dirs[v]);
  return obs;
}

mhrfit_layout *mhrfit_observations_keypoint_set(const mhrfit_observations *obs, const char *const *names,
                                                size_t n_names, mhrfit_error *err) {
  if (names && n_names != obs->n_kp) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "--keypoint_names lists %zu names but the input has %zu keypoints", n_names,
                obs->n_kp);
    return NULL;
  }
  const char *const *use = names ? names : (const char *const *)obs->names;
  return mhrfit_layout_new_custom(names ? "keypoint_names" : "custom", use, obs->n_kp, err);
}

mhrfit_observations *mhrfit_observations_load(const char *dir, const char *const *cams, size_t V,
                                              const mhrfit_obs_options *opts, mhrfit_error *err) {
  mhrfit_obs_options o = {0};
  if (opts) o = *opts;
  const char *fmt = o.format ? o.format : "auto";
  bool any_k = strcmp(fmt, "arrays") == 0 || strcmp(fmt, "caliscope_csv") == 0;
  if (V == 0 || V > 64 || (o.n_kp == 0 && !any_k)) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "need 1 to 64 cameras and a keypoint count (any count only for arrays and "
                                          "caliscope_csv inputs)");
    return NULL;
  }
  if (strcmp(fmt, "openpose") == 0) return load_openpose(dir, cams, V, &o, err);
  if (strcmp(fmt, "caliscope_csv") == 0) return mf_load_caliscope_csv(dir, cams, V, o.n_kp, err);
  if (strcmp(fmt, "auto") == 0) {
    char name[512];
    if (o.cam_dirs) snprintf(name, sizeof name, "%s/%s", dir, o.cam_dirs[0]);
    else {
      char folder[400];
      openpose_dir_name(folder, sizeof folder, cams[0]);
      snprintf(name, sizeof name, "%s/%s", dir, folder);
    }
    if (mf_is_dir(name)) return load_openpose(dir, cams, V, &o, err);
  } else if (strcmp(fmt, "stage1") != 0 && strcmp(fmt, "arrays") != 0) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "unknown input format '%s' (auto, stage1, arrays, openpose, caliscope_csv)", fmt);
    return NULL;
  }
  /* NumPy inputs: load every camera, then decide the form and the frame count. */
  mhrfit_value *vals[64] = {0};
  char *paths[64] = {0};
  mhrfit_observations *obs = NULL;
  bool arrays = strcmp(fmt, "arrays") == 0, stage1 = strcmp(fmt, "stage1") == 0;
  size_t F = 0;
  bool have_conf = false;
  for (size_t v = 0; v < V; v++) {
    /* <cam>.npz else <cam>.npy: one open (and one read) per file found */
    mhrfit_error le = {0};
    static const char *const wanted[] = {"pred_keypoints_2d", "arr_0", NULL}; /* the rest is not inflated */
    const mhrfit_npy_limits lim = {.only_members = wanted};
    vals[v] = mf_numpy_load_camera(dir, cams[v], &lim, &paths[v], &le);
    if (!paths[v] && le.type == MHRFIT_ERR_NONE) {
      if (o.allow_missing_views) continue;
      MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "camera '%s': neither %s/%s.npz nor %s/%s.npy exists", cams[v], dir,
                  cams[v], dir, cams[v]);
      goto done;
    }
    if (!vals[v]) {
      if (err) *err = le;
      goto done;
    }
    const mhrfit_array *a = keypoint_array(vals[v], o.person);
    if (!a || !mhrfit_dtype_is_numeric(a->dtype)) {
      MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: camera '%s': no numeric 'pred_keypoints_2d' array", paths[v], cams[v]);
      goto done;
    }
    bool plain = vals[v]->kind == MHRFIT_V_ARRAY;
    if (!arrays && !stage1) { /* auto */
      if (!plain || a->ndim == 2) stage1 = true;
      else {
        char sh[160];
        MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT,
                    "%s: a plain array of shape %s is ambiguous (persons or frames): pass --input_format stage1 or "
                    "arrays",
                    paths[v], shape_str(a, sh, sizeof sh));
        goto done;
      }
    }
    size_t fr;
    if (stage1) {
      if (!((a->ndim == 2 || a->ndim == 3) && a->shape[a->ndim - 2] == o.n_kp && a->shape[a->ndim - 1] == 2)) {
        char sh[160];
        MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT,
                    "%s: camera '%s': pred_keypoints_2d has shape %s; expected (%zu, 2) or (N, %zu, 2) for the %zu "
                    "keypoints of the layout",
                    paths[v], cams[v], shape_str(a, sh, sizeof sh), o.n_kp, o.n_kp, o.n_kp);
        goto done;
      }
      fr = 1;
    } else {
      if (o.n_kp == 0 && a->ndim == 3 && a->shape[1] > 0 && a->shape[1] <= MHRFIT_OBS_MAX_KP) o.n_kp = a->shape[1];
      if (o.n_kp == 0) {
        MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: camera '%s': arrays input must be (F,K,2) or (F,K,3) with 1 <= K <= %d",
                    paths[v], cams[v], MHRFIT_OBS_MAX_KP);
        goto done;
      }
      if (!(a->ndim == 3 && a->shape[1] == o.n_kp && (a->shape[2] == 2 || a->shape[2] == 3))) {
        char sh[160];
        MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT,
                    "%s: camera '%s': the array has shape %s; arrays input must be (F, %zu, 2) or (F, %zu, 3) for the "
                    "%zu keypoints of the layout",
                    paths[v], cams[v], shape_str(a, sh, sizeof sh), o.n_kp, o.n_kp, o.n_kp);
        goto done;
      }
      fr = a->shape[0];
      have_conf = have_conf || a->shape[2] == 3;
    }
    if (F == 0) F = fr;
    else if (fr != F) {
      MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: camera '%s' has %zu frames, the others %zu", paths[v], cams[v], fr, F);
      goto done;
    }
  }
  size_t found = 0;
  for (size_t v = 0; v < V; v++) found += vals[v] != NULL;
  if (found == 0 || o.n_kp == 0) { /* every camera missing (allowed one by one, not all) */
    char looked[300];
    size_t n = 0;
    for (size_t v = 0; v < V && n < sizeof looked; v++)
      n += (size_t)snprintf(looked + n, sizeof looked - n, "%s%s", v ? ", " : "", cams[v]);
    mf_names sub = {0};
    bool listed = mf_list_dir(dir, NULL, true, &sub, NULL);
    MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND,
                "%s: no camera has an input file: looked for %s/<cam>.npz or .npy (stage-1 or arrays input) of the "
                "cameras %s%s",
                dir, dir, looked,
                listed && sub.count ? "; the folder holds sub-folders: is it a folder of frames? triangulate reads "
                                      "one frame folder (or per-camera arrays of every frame)"
                                    : "");
    mf_names_free(&sub);
    goto done;
  }
  obs = mf_observations_alloc(F, o.n_kp, V, have_conf, err);
  if (!obs) goto done;
  snprintf(obs->format, sizeof obs->format, "%s", stage1 ? "stage1" : "arrays");
  for (size_t v = 0; v < V; v++) {
    if (!vals[v]) continue;
    const mhrfit_array *a = keypoint_array(vals[v], o.person);
    size_t d = a->shape[a->ndim - 1], base = 0;
    size_t n_persons = vals[v]->kind == MHRFIT_V_LIST ? vals[v]->u.list.count : stage1 && a->ndim == 3 ? a->shape[0] : 1;
    if (stage1 && a->ndim == 3) base = (o.person < a->shape[0] ? o.person : a->shape[0] - 1) * o.n_kp * 2;
    if (stage1 && n_persons > 1 && o.warn) { /* raw estimator outputs: which person is read is said */
      char msg[1200];
      snprintf(msg, sizeof msg,
               "%s: camera '%s': %zu persons, person %zu read%s (--person_index; mhrfit ingest and run pick the "
               "largest)",
               paths[v], cams[v], n_persons, o.person < n_persons ? o.person : n_persons - 1,
               o.person < n_persons ? "" : " (--person_index clipped)");
      o.warn(o.warn_user, msg);
    }
    for (size_t f = 0; f < F; f++)
      for (size_t k = 0; k < o.n_kp; k++) {
        size_t src = base + (f * o.n_kp + k) * d, i = (f * o.n_kp + k) * V + v;
        obs->uv[2 * i] = mhrfit_array_get_f64(a, src);
        obs->uv[2 * i + 1] = mhrfit_array_get_f64(a, src + 1);
        if (obs->conf) obs->conf[i] = d == 3 ? mhrfit_array_get_f64(a, src + 2) : 1.0;
      }
  }
done:
  for (size_t v = 0; v < V; v++) {
    mhrfit_value_free(vals[v]);
    free(paths[v]);
  }
  return obs;
}

/* The string `key` of a dict, or NULL. */
static const char *cfg_str(const mhrfit_value *d, const char *key) {
  const mhrfit_value *v = d && d->kind == MHRFIT_V_DICT ? mhrfit_value_dict_get(d, key) : NULL;
  return v && v->kind == MHRFIT_V_STRING ? v->u.str.data : NULL;
}

/* The strings of list `key` of a dict as new copies (*n of them); NULL when absent (err untouched). */
static char **cfg_strs(const mhrfit_value *d, const char *key, size_t *n, mhrfit_error *err) {
  const mhrfit_value *v = d && d->kind == MHRFIT_V_DICT ? mhrfit_value_dict_get(d, key) : NULL;
  *n = 0;
  if (!v || v->kind != MHRFIT_V_LIST || !v->u.list.count) return NULL;
  char **out = mf_calloc_array(v->u.list.count, sizeof *out, err);
  for (size_t i = 0; out && i < v->u.list.count; i++) {
    const mhrfit_value *x = v->u.list.items[i];
    if (x->kind != MHRFIT_V_STRING) continue;
    if (!(out[*n] = mf_strdup(x->u.str.data, err))) {
      mhrfit_names_free(out, *n);
      *n = 0;
      return NULL;
    }
    (*n)++;
  }
  return out;
}

mhrfit_observations *mhrfit_observations_of_run(const mhrfit_value *config, const char *run_dir, char ***cams,
                                                size_t *n_cams, mhrfit_error *err) {
  *cams = NULL;
  *n_cams = 0;
  const char *fmt = cfg_str(config, "input_format"), *input = cfg_str(config, "input"), *lname = cfg_str(config, "layout");
  if (!fmt || !input) {
    MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "%s: not a run of a detector's keypoints (pipeline_config.json records no "
                "input_format or input)", run_dir);
    return NULL;
  }
  const mhrfit_layout *lay = lname ? mhrfit_layout_get(lname, err) : NULL;
  if (lname && !lay) return NULL;
  char *path = NULL; /* as recorded, else relative to the run folder */
  if (mf_is_dir(input) || mf_is_file(input)) path = mf_strdup(input, err);
  else if (input[0] != '/' && run_dir && (path = mf_path_join(run_dir, input, err)) && !mf_is_dir(path) &&
           !mf_is_file(path)) {
    free(path);
    path = NULL;
  }
  size_t n_dirs = 0, n = 0;
  char **dirs = cfg_strs(config, "cam_dirs", &n_dirs, err), **names = cfg_strs(config, "cams", &n, err);
  const mhrfit_value *pv = config && config->kind == MHRFIT_V_DICT ? mhrfit_value_dict_get(config, "person_index") : NULL;
  double person = pv && mhrfit_value_is_number(pv) ? mhrfit_value_as_double(pv) : 0;
  mhrfit_observations *obs = NULL;
  if (!path || !names) {
    if (!err || !err->type)
      MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "%s: the run's input %s %s", run_dir, input,
                  !path ? "is not found" : "is recorded without its cameras");
  } else {
    mhrfit_obs_options oo = {.format = fmt, .n_kp = lay ? lay->count : 0,
                             .person = person >= 0 && person < 1e9 ? (size_t)person : 0,
                             .cam_dirs = n_dirs == n ? (const char *const *)dirs : NULL, .allow_missing_views = true};
    obs = mhrfit_observations_load(path, (const char *const *)names, n, &oo, err);
  }
  mhrfit_names_free(dirs, n_dirs);
  free(path);
  if (obs) {
    *cams = names;
    *n_cams = n;
  } else {
    mhrfit_names_free(names, n);
  }
  return obs;
}
