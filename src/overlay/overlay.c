/* Overlays of a run: options, reading and checking the sources (mhrfit_overlay_new()). See
 * include/mhrfit/overlay.h ("Overlays of a run"). */
/* realpath() is an X/Open interface. */
#define _XOPEN_SOURCE 700
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "common/path.h"
#include "export/export_internal.h"
#include "media/media_internal.h"
#include "mhrfit/json.h"
#include "mhrfit/layout.h"
#include "overlay/overlay_internal.h"

void mhrfit_overlay_options_init(mhrfit_overlay_options *o) {
  memset(o, 0, sizeof *o);
  o->lod = -1;
  o->layers = MHRFIT_LAYERS_ALL;
  o->mesh_style = MHRFIT_MESH_SILHOUETTE;
  o->mesh_alpha = 0.45;
  mhrfit_image_write_options_init(&o->image);
  o->image.quality = 90;
  o->grid_height = 540;
  mhrfit_video_writer_options_init(&o->video_options);
  o->overwrite = true;
}

static const struct {
  const char *name;
  unsigned flag;
} layer_names[] = {{"mesh", MHRFIT_LAYER_MESH},           {"skeleton", MHRFIT_LAYER_SKELETON},
                   {"others", MHRFIT_LAYER_OTHERS},       {"keypoints", MHRFIT_LAYER_KEYPOINTS},
                   {"points", MHRFIT_LAYER_POINTS},       {"caption", MHRFIT_LAYER_CAPTION},
                   {"all", MHRFIT_LAYERS_ALL},            {"none", 0}};

bool mhrfit_overlay_layers_parse(const char *list, unsigned *layers, mhrfit_error *err) {
  unsigned out = 0;
  const char *p = list ? list : "";
  while (*p) {
    const char *end = strchr(p, ',');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    while (n && isspace((unsigned char)*p)) p++, n--;
    while (n && isspace((unsigned char)p[n - 1])) n--;
    bool found = false;
    for (size_t i = 0; i < sizeof layer_names / sizeof layer_names[0] && !found; i++)
      if (strlen(layer_names[i].name) == n && strncmp(layer_names[i].name, p, n) == 0) {
        out |= layer_names[i].flag;
        found = true;
      }
    if (!found)
      return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT,
                         "unknown layer '%.*s' (layers: mesh, skeleton, others, keypoints, points, caption; all; none)",
                         (int)n, p);
    p = end ? end + 1 : p + strlen(p);
  }
  *layers = out;
  return true;
}

void mf_ov_log(const mhrfit_overlay *ov, mhrfit_overlay_log_level level, const char *fmt, ...) {
  if (!ov->o.log) return;
  char msg[1400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  ov->o.log(ov->o.user, level, msg);
}

/* The string `key` of a JSON dict, or NULL. */
static const char *jstr(const mhrfit_value *d, const char *key) {
  const mhrfit_value *v = d && d->kind == MHRFIT_V_DICT ? mhrfit_value_dict_get(d, key) : NULL;
  return v && v->kind == MHRFIT_V_STRING ? v->u.str.data : NULL;
}

/* A path a run recorded (a file, or a folder when `dir`), found as every command finds it
 * (mf_find_recorded_entry(): as given, else in the run folder or a parent). NULL when nowhere
 * (err untouched) or out of memory. */
static char *recorded_path(const char *recorded, const char *run_dir, bool dir, mhrfit_error *err) {
  char *found = NULL;
  mf_find_recorded_entry(recorded, run_dir, dir, &found, err);
  return found;
}

char *mf_ov_image_path(const mhrfit_overlay *ov, const char *frame, const char *cam, mhrfit_error *err) {
  char *dir = mf_path_join(ov->capture, frame, err);
  char *p = dir ? mf_image_find(dir, cam, err) : NULL;
  free(dir);
  return p;
}

/* ------------------------------------------------------------------ sources */

/* A run of a detector's keypoints (pipeline.h, "Detector inputs"): its 2-D keypoints read again
 * from the input it recorded (mhrfit_observations_of_run()). When they cannot be read, only the
 * keypoints layer is missing (a warning). */
static bool run_detector_obs(mhrfit_overlay *ov, const mhrfit_value *cfg, mhrfit_error *err) {
  const char *lname = jstr(cfg, "layout");
  ov->kp2d_layout = lname ? mhrfit_layout_get(lname, NULL) : NULL;
  ov->kp2d_mhr70 = false;
  ov->n_kp2d = ov->kp2d_layout ? ov->kp2d_layout->count : 1;
  mhrfit_error e = {0};
  ov->obs = mhrfit_observations_of_run(cfg, ov->run_dir, &ov->obs_cams, &ov->n_obs_cams, &e);
  if (ov->obs) ov->n_kp2d = ov->obs->n_kp;
  else if (e.type == MHRFIT_ERR_NOMEM) return mhrfit_error_set(err, e.type, e.src_file, e.src_line, "%s", e.message);
  else mf_ov_log(ov, MHRFIT_OVERLAY_WARNING, "the run's 2-D keypoints are not drawn: %s", e.message);
  return true;
}

/* A run folder: the fit, stage1_meta.json and what pipeline_config.json records. */
static bool open_run(mhrfit_overlay *ov, mhrfit_value **cfg, mhrfit_error *err) {
  const mhrfit_overlay_options *o = &ov->o;
  char note[512];
  mhrfit_export_source_options so = {.fitted = o->fitted};
  if (!(ov->run_dir = mf_strdup(o->run_dir, err))) return false;
  if (!(ov->fit = mhrfit_export_source_load(o->run_dir, &so, note, sizeof note, err))) return false;
  if (note[0]) mf_ov_log(ov, MHRFIT_OVERLAY_INFO, "%s", note);
  char *p = mf_path_join(o->run_dir, "stage1_meta.json", err);
  if (!p) return false;
  if (mf_is_file(p)) {
    mhrfit_error e = {0};
    ov->stage1_meta = mhrfit_json_load(p, &e);
    if (!ov->stage1_meta) mf_ov_log(ov, MHRFIT_OVERLAY_WARNING, "%s (the other persons are not drawn)", e.message);
  }
  free(p);
  const char *sr = jstr(ov->stage1_meta, "sam_root");
  if (sr && !(ov->sam_root = mf_strdup(sr, err))) return false;
  if (!(p = mf_path_join(o->run_dir, "pipeline_config.json", err))) return false;
  *cfg = mf_is_file(p) ? mhrfit_json_load(p, NULL) : NULL;
  free(p);
  ov->n_kp2d = 70;
  ov->kp2d_mhr70 = true;
  ov->kp2d_layout = mhrfit_layout_get("mhr70", NULL);
  if (jstr(*cfg, "input_format") && !run_detector_obs(ov, *cfg, err)) return false;
  if (!o->capture) {
    const char *rec[2] = {jstr(ov->stage1_meta, "input_root"), jstr(*cfg, "input")};
    mhrfit_error e = {0};
    ov->capture = mf_run_capture(o->run_dir, *cfg, ov->stage1_meta, &e);
    if (e.type) return mhrfit_error_set(err, e.type, e.src_file, e.src_line, "%s", e.message);
    if (!ov->capture)
      return MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND,
                         "%s: the run's input folder (%s) is not found: give the pictures' folder (--capture DIR)",
                         o->run_dir, rec[0] ? rec[0] : rec[1] ? rec[1] : "not recorded");
  } else if (!(ov->capture = mf_strdup(o->capture, err)))
    return false;
  return true;
}

/* Observations of person `person` of the archive's cameras, NULL on failure. */
static mhrfit_observations *load_obs(const mhrfit_overlay *ov, size_t person, mhrfit_error *err) {
  const mhrfit_overlay_options *o = &ov->o;
  mhrfit_obs_options oo = {.format = o->keypoints_format, .n_kp = ov->n_kp2d, .person = person,
                           .cam_dirs = o->cam_dirs, .allow_missing_views = true};
  return mhrfit_observations_load(o->keypoints_dir, (const char *const *)ov->tri->cams, ov->tri->n_views, &oo, err);
}

static bool all_nan(const mhrfit_observations *obs) {
  size_t n = obs->n_frames * obs->n_kp * obs->n_views * 2;
  for (size_t i = 0; i < n; i++)
    if (!isnan(obs->uv[i])) return false;
  return true;
}

/* A triangulation archive with its observations and an optional fit. */
static bool open_tri(mhrfit_overlay *ov, mhrfit_error *err) {
  const mhrfit_overlay_options *o = &ov->o;
  if (!o->calib) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "a triangulation archive needs its calibration (--calib)");
  if (!o->capture) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "give the pictures' folder (--capture DIR)");
  if (!(ov->tri_path = mf_strdup(o->tri_path, err)) || !(ov->tri = mhrfit_tri_archive_load(o->tri_path, err)))
    return false;
  const mhrfit_layout *lay = mhrfit_layout_get(o->layout ? o->layout : "mhr70", err);
  if (!lay) return false;
  ov->n_kp2d = lay->count;
  ov->kp2d_mhr70 = strcmp(lay->name, "mhr70") == 0;
  ov->kp2d_layout = lay;
  for (size_t k = 0; k < ov->tri->n_kp; k++)
    if (ov->tri->subset_idx[k] < 0 || (size_t)ov->tri->subset_idx[k] >= ov->n_kp2d)
      return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT,
                         "%s: point %zu is keypoint %d of its layout, which has %zu keypoints (layout %s): pass the "
                         "archive's layout (--layout)",
                         o->tri_path, k, (int)ov->tri->subset_idx[k], ov->n_kp2d, lay->name);
  if (o->keypoints_dir) {
    if (!(ov->obs = load_obs(ov, o->person, err))) {
      mhrfit_error_prefix(err, "2-D keypoints");
      return false;
    }
    if (ov->obs->n_frames < ov->tri->n_frames)
      return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: %zu frames of 2-D keypoints for the %zu frames of %s",
                         o->keypoints_dir, ov->obs->n_frames, ov->tri->n_frames, o->tri_path);
    for (size_t p = 0; (o->layers & MHRFIT_LAYER_OTHERS) && p <= MF_OV_MAX_OTHERS && ov->n_oth < MF_OV_MAX_OTHERS;
         p++) {
      if (p == o->person) continue;
      mhrfit_error e = {0};
      mhrfit_observations *x = load_obs(ov, p, &e);
      if (!x || x->n_frames < ov->tri->n_frames || all_nan(x)) {
        mhrfit_observations_free(x);
        break;
      }
      ov->oth[ov->n_oth++] = x;
    }
  }
  if (o->fit_path) {
    char note[512];
    if (!(ov->fit = mhrfit_export_source_load(o->fit_path, NULL, note, sizeof note, err))) return false;
    if (ov->fit->n_frames != ov->tri->n_frames)
      return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s holds %zu frames, the triangulation %s %zu", o->fit_path,
                         ov->fit->n_frames, o->tri_path, ov->tri->n_frames);
  }
  return (ov->capture = mf_strdup(o->capture, err)) != NULL;
}

/* Names the selected frames: the run's frame names, or for a triangulation archive the capture
 * folders named by the frame numbers. */
static bool name_frames(mhrfit_overlay *ov, mhrfit_error *err) {
  if (!(ov->frame_names = mf_calloc_array(ov->n_frames, sizeof *ov->frame_names, err))) return false;
  if (ov->run_dir) {
    for (size_t i = 0; i < ov->n_frames; i++) memcpy(ov->frame_names[i], ov->fit->frame_names[ov->begin + i], 64);
    return true;
  }
  mf_entries e = {0};
  if (!mf_list_entries(ov->capture, false, &e, err)) return false;
  size_t found = 0;
  for (size_t i = 0; i < ov->n_frames; i++) snprintf(ov->frame_names[i], 64, "%06zu", ov->begin + i);
  for (size_t j = 0; j < e.count; j++) {
    const char *n = e.items[j].name;
    if (e.items[j].type != MF_ENTRY_DIR || !*n || strlen(n) >= 64 || strspn(n, "0123456789") != strlen(n)) continue;
    errno = 0;
    unsigned long long v = strtoull(n, NULL, 10);
    if (errno || v < ov->begin || v >= ov->begin + ov->n_frames) continue;
    snprintf(ov->frame_names[v - ov->begin], 64, "%s", n);
    found++;
  }
  mf_entries_free(&e);
  if (!found)
    return MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND,
                       "%s has no frame folder named by a number of the frames %zu..%zu of %s (frame f is the folder "
                       "named f, as mhrfit frames writes them: 000000, 000001, ...)",
                       ov->capture, ov->begin, ov->begin + ov->n_frames - 1, ov->tri_path);
  return true;
}

/* The calibration and the cameras to draw. */
static bool open_cameras(mhrfit_overlay *ov, mhrfit_error *err) {
  const mhrfit_overlay_options *o = &ov->o;
  mhrfit_calib_options co = {.invert_extrinsics = o->invert_extrinsics, .translation_unit = o->translation_unit};
  const char *path = o->calib;
  if (!path && ov->fit) {
    path = ov->fit->calib_path;
    co.invert_extrinsics = ov->fit->calib_invert;
    co.translation_unit = ov->fit->calib_unit;
  }
  if (!path)
    return MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "%s: the run's calibration %s is not found: pass it (--calib FILE)",
                       o->run_dir, ov->fit && ov->fit->calib_recorded ? ov->fit->calib_recorded : "(not recorded)");
  mhrfit_calib *all = mhrfit_calib_load(path, &co, err);
  if (!all) return false;
  const char *const *names = o->cams;
  size_t n = o->n_cams;
  if (!names) {
    names = ov->tri ? (const char *const *)ov->tri->cams : (const char *const *)ov->fit->cams;
    n = ov->tri ? ov->tri->n_views : ov->fit->n_cams;
  }
  if (!names || !n) {
    mhrfit_calib_free(all);
    return MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "%s does not name its cameras: pass them (--cams A B ...)",
                       o->run_dir);
  }
  ov->calib = mhrfit_calib_select(all, names, n, err);
  mhrfit_calib_free(all);
  if (!ov->calib) return false;
  if (!(ov->r2_limit = mf_calloc_array(n, sizeof *ov->r2_limit, err)) ||
      !(ov->info = mf_calloc_array(n, sizeof *ov->info, err)))
    return false;
  for (size_t c = 0; c < n; c++) {
    ov->r2_limit[c] = mhrfit_overlay_r2_limit(&ov->calib->cams[c]);
    snprintf(ov->info[c].name, sizeof ov->info[c].name, "%s", ov->calib->cams[c].name);
    ov->info[c].mean_err_px = ov->info[c].mean_err3_px = ov->info[c].max_err_px = NAN;
    ov->info[c].mean_fit_err_px = NAN;
  }
  return true;
}

/* The fitted keypoints' set (the fit's: MHR70, or a detector fit's layout by its names), its
 * skeleton and the drawing buffers. */
static bool fit_keypoints(mhrfit_overlay *ov, mhrfit_error *err) {
  const mhrfit_export_source *f = ov->fit;
  size_t K = f ? f->n_kp : 0;
  const mhrfit_layout *lay = !f ? NULL : f->keypoint_names ? mhrfit_layout_match((const char *const *)f->keypoint_names, K)
                                                           : mhrfit_layout_get("mhr70", NULL);
  ov->n_fit_kp = K;
  ov->links = mhrfit_layout_links(lay, &ov->n_links);
  ov->fit_vs_2d = lay && lay == ov->kp2d_layout;
  if (!(ov->kp_side = mf_calloc_array(K + 1, 1, err)) || !(ov->kp_uv = mf_calloc_array(2 * K + 2, sizeof(double), err)) ||
      !(ov->kp_ok = mf_calloc_array(K + 1, sizeof(bool), err)))
    return false;
  for (size_t k = 0; k < K; k++) {
    const char *n = mf_export_keypoint_name(f, k);
    bool cap = isupper((unsigned char)n[1]) != 0;
    ov->kp_side[k] = (signed char)(strncmp(n, "left", 4) == 0 || (n[0] == 'L' && cap)    ? -1
                                   : strncmp(n, "right", 5) == 0 || (n[0] == 'R' && cap) ? 1
                                                                                         : 0);
  }
  return true;
}

/* Which cameras have pictures: the first selected frame holding one. */
static bool find_pictures(mhrfit_overlay *ov, mhrfit_error *err) {
  size_t with = 0;
  for (size_t c = 0; c < ov->calib->n_cams; c++) {
    const char *cam = ov->calib->cams[c].name;
    for (size_t i = 0; i < ov->n_frames && !ov->info[c].has_images; i++) {
      mhrfit_error e = {0};
      char *p = mf_ov_image_path(ov, ov->frame_names[i], cam, &e);
      if (e.type) return mhrfit_error_set(err, e.type, e.src_file, e.src_line, "%s", e.message);
      ov->info[c].has_images = p != NULL;
      free(p);
    }
    if (ov->info[c].has_images) with++;
    else
      mf_ov_log(ov, MHRFIT_OVERLAY_WARNING,
            "camera '%s' has no picture in %s (looked for <frame>/%s.jpg, .jpeg, .png in the %zu frame(s) selected): "
            "left out", cam, ov->capture, cam, ov->n_frames);
  }
  if (!with)
    return MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND,
                       "%s holds no picture of any camera for the frames selected (%s ... %s; <frame>/<cam>.jpg, "
                       ".jpeg or .png)", ov->capture, ov->frame_names[0], ov->frame_names[ov->n_frames - 1]);
  return true;
}

/* The rig for the mesh layer: given, or loaded from the given or recorded assets. */
static bool open_rig(mhrfit_overlay *ov, const mhrfit_value *cfg, mhrfit_error *err) {
  const mhrfit_overlay_options *o = &ov->o;
  if (!(ov->layers & MHRFIT_LAYER_MESH)) return true;
  if (!ov->fit) {
    ov->layers &= ~MHRFIT_LAYER_MESH;
    return true;
  }
  ov->rig = o->rig;
  if (!ov->rig) {
    char *path = NULL;
    if (o->rig_path) {
      if (!(path = mf_strdup(o->rig_path, err))) return false;
    } else {
      const char *rec = jstr(cfg, "assets");
      mhrfit_error e = {0};
      if (rec && !(path = recorded_path(rec, ov->run_dir, true, &e)) && !e.type)
        path = recorded_path(rec, ov->run_dir, false, &e);
      if (e.type) return mhrfit_error_set(err, e.type, e.src_file, e.src_line, "%s", e.message);
    }
    if (!path) {
      ov->layers &= ~MHRFIT_LAYER_MESH;
      mf_ov_log(ov, MHRFIT_OVERLAY_INFO, "no MHR assets or rig file given or recorded by the run: the mesh is not drawn");
      return true;
    }
    int lod = o->lod;
    const mhrfit_value *l = cfg && cfg->kind == MHRFIT_V_DICT ? mhrfit_value_dict_get(cfg, "lod") : NULL;
    if (lod < 0 && l && mhrfit_value_is_number(l) && mhrfit_value_as_double(l) >= 0)
      lod = (int)mhrfit_value_as_double(l);
    ov->rig = ov->rig_own = mhrfit_rig_open(path, lod, MHRFIT_RIG_NO_CORRECTIVE_BLENDSHAPES, err);
    free(path);
    if (!ov->rig) return false;
  }
  if (ov->rig->n_joints != 127 || ov->rig->n_params != 204 || !ov->rig->n_faces)
    return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "the rig is not MHR's with a mesh (%zu joints, %zu parameters, %zu "
                       "triangles)", ov->rig->n_joints, ov->rig->n_params, ov->rig->n_faces);
  size_t J = ov->rig->n_joints, V = ov->rig->n_vertices;
  if (!(ov->mesh_work = mf_malloc_array(mhrfit_rig_skin_work_size(ov->rig) + 20 * J + 6 * V + 16, sizeof(double), err)))
    return false;
  return (ov->fr.mesh = mf_malloc_array(3 * V + 1, sizeof(double), err)) != NULL;
}

static bool check_options(const mhrfit_overlay_options *o, mhrfit_error *err) {
  if (!o->out_dir || !*o->out_dir) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "no output folder given");
  if (!o->run_dir == !o->tri_path)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "give a run folder or a triangulation archive (one of them)");
  if (o->run_dir && (o->fit_path || o->keypoints_dir || o->layout))
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT,
                       "a run folder brings its own fit and 2-D keypoints (a fit file, 2-D keypoints and a layout go "
                       "with a triangulation archive)");
  if (!(o->mesh_alpha >= 0 && o->mesh_alpha <= 1))
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "mesh opacity %g is outside [0, 1]", o->mesh_alpha);
  if (o->grid_height < 16 || o->grid_height > 4320 || o->grid_columns < 0 || o->grid_columns > 64)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "grid height must be within 16..4320 and columns within 0..64");
  if (!(o->fps >= 0) || o->fps > 1000) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "frame rate %g is out of range", o->fps);
  if (o->frame_end && o->frame_end <= o->frame_begin)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "empty frame range %zu:%zu", o->frame_begin, o->frame_end);
  if (o->image.quality < 1 || o->image.quality > 100)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "picture quality %d is outside 1..100", o->image.quality);
  if (o->cams && !o->n_cams) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "an empty camera list");
  return true;
}

/* The output folder must not be the pictures' or the run's own folder. */
static bool check_out_dir(const mhrfit_overlay *ov, mhrfit_error *err) {
  char *out = realpath(ov->o.out_dir, NULL);
  if (!out) return true; /* not made yet */
  const char *others[2] = {ov->capture, ov->run_dir};
  bool ok = true;
  for (int i = 0; i < 2 && ok; i++) {
    char *x = others[i] ? realpath(others[i], NULL) : NULL;
    if (x && strcmp(x, out) == 0)
      ok = MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "the output folder %s is the %s: choose another (e.g. %s/overlay)",
                       ov->o.out_dir, i == 0 ? "pictures' folder" : "run folder", ov->o.out_dir);
    free(x);
  }
  free(out);
  return ok;
}

mhrfit_overlay *mhrfit_overlay_new(const mhrfit_overlay_options *opts, mhrfit_error *err) {
  if (!opts) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "no overlay options given");
    return NULL;
  }
  if (!check_options(opts, err)) return NULL;
  mhrfit_overlay *ov = mf_calloc_array(1, sizeof *ov, err);
  if (!ov) return NULL;
  ov->o = *opts;
  ov->layers = opts->layers;
  ov->fr.index = SIZE_MAX;
  mhrfit_value *cfg = NULL;
  bool ok = (ov->out_dir = mf_strdup(opts->out_dir, err)) != NULL;
  ok = ok && (opts->run_dir ? open_run(ov, &cfg, err) : open_tri(ov, err));
  if (ok) {
    size_t n_src = ov->tri ? ov->tri->n_frames : ov->fit->n_frames;
    size_t end = opts->frame_end && opts->frame_end < n_src ? opts->frame_end : n_src;
    if (opts->frame_begin >= n_src)
      ok = MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "first frame %zu is past the %zu frame(s) of %s", opts->frame_begin,
                       n_src, opts->run_dir ? opts->run_dir : opts->tri_path);
    ov->begin = opts->frame_begin, ov->n_frames = ok ? end - opts->frame_begin : 0;
  }
  if (ok && !mf_is_dir(ov->capture))
    ok = MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "the pictures' folder %s is not found", ov->capture);
  ok = ok && name_frames(ov, err) && open_cameras(ov, err) && fit_keypoints(ov, err) && find_pictures(ov, err) &&
       open_rig(ov, cfg, err) &&
       check_out_dir(ov, err) && mf_ov_frame_init(ov, err);
  ok = ok && (ov->raster = mhrfit_raster_new(1, 1, err)) != NULL;
  mhrfit_value_free(cfg);
  if (ok) return ov;
  mhrfit_overlay_free(ov);
  return NULL;
}

void mhrfit_overlay_free(mhrfit_overlay *ov) {
  if (!ov) return;
  mf_ov_frame_free(&ov->fr);
  free(ov->out_dir);
  free(ov->capture);
  free(ov->run_dir);
  free(ov->tri_path);
  free(ov->sam_root);
  mhrfit_export_source_free(ov->fit);
  mhrfit_tri_archive_free(ov->tri);
  mhrfit_observations_free(ov->obs);
  for (size_t i = 0; i < ov->n_oth; i++) mhrfit_observations_free(ov->oth[i]);
  mhrfit_value_free(ov->stage1_meta);
  mhrfit_names_free(ov->obs_cams, ov->n_obs_cams);
  free(ov->kp_side);
  free(ov->kp_uv);
  free(ov->kp_ok);
  free(ov->frame_names);
  mhrfit_calib_free(ov->calib);
  free(ov->r2_limit);
  free(ov->info);
  mhrfit_rig_free(ov->rig_own);
  free(ov->mesh_work);
  mhrfit_raster_free(ov->raster);
  free(ov);
}

size_t mhrfit_overlay_n_frames(const mhrfit_overlay *ov) { return ov->n_frames; }

size_t mhrfit_overlay_n_cams(const mhrfit_overlay *ov) { return ov->calib->n_cams; }

const mhrfit_camera *mhrfit_overlay_camera(const mhrfit_overlay *ov, size_t cam) {
  return cam < ov->calib->n_cams ? &ov->calib->cams[cam] : NULL;
}

const char *mhrfit_overlay_frame_name(const mhrfit_overlay *ov, size_t frame) {
  return frame < ov->n_frames ? ov->frame_names[frame] : NULL;
}

const mhrfit_overlay_stats *mhrfit_overlay_camera_stats(const mhrfit_overlay *ov, size_t cam) {
  return cam < ov->calib->n_cams ? &ov->info[cam] : NULL;
}
