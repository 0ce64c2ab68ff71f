/* The pipeline over a sequence: options, the checks made before any work, the run
 * (include/mhrfit/pipeline.h). The stages are in frames.c and sequence.c. */
/* realpath() is an X/Open interface. */
#define _XOPEN_SOURCE 700
#include "mhrfit/pipeline.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/file.h"
#include "common/jbuild.h"
#include "common/mem.h"
#include "common/outguard.h"
#include "common/pool.h"
#include "mhrfit/media.h"
#include "pipeline/pipeline_internal.h"

/* ------------------------------------------------------------------ options */

void mhrfit_pipeline_options_init(mhrfit_pipeline_options *o) {
  memset(o, 0, sizeof *o);
  o->lod = -1;
  o->person_strategy = MHRFIT_PERSON_LARGEST_BBOX;
  mhrfit_tri_options_default(&o->tri);
  mhrfit_fit_options_init(&o->fit);
  o->freeze_from = MHRFIT_FREEZE_FROM_FIRST_FIT;
  o->min_views = 2;
  o->max_stale_frames = 40;
  o->bad_frame_retries = 1;
  o->max_edge_copy_span = 15;
  o->smoothing = true;
  mhrfit_smooth_options_init(&o->smooth);
  o->smooth.fps = 0; /* the capture's rate (choose_fps) */
  o->jobs = 1;
  o->calib_frames = 24;
  o->workers = 1; /* the worker defaults of mhrfit_ingest_options_init() */
  o->worker_start_timeout = 600;
  o->worker_max_restarts = 3;
  o->overlay_layers = MHRFIT_LAYERS_ALL;
}

void mf_pipeline_log(const mhrfit_pipeline *p, mhrfit_pipeline_log_level lv, const char *fmt, ...) {
  if (!p->o.log) return;
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  p->o.log(p->o.user, lv, buf);
}

bool mf_pipeline_cancelled(const mhrfit_pipeline *p) { return p->o.cancel && *p->o.cancel; }

static bool plain_name(const char *s) {
  return s && *s && strcmp(s, ".") != 0 && strcmp(s, "..") != 0 && !strpbrk(s, "/=\t\n\r");
}

/* The option values, before anything is read. */
static bool check_options(const mhrfit_pipeline_options *o, mhrfit_error *err) {
  if (!o->input_dir || !*o->input_dir) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "no input folder given (--input)");
  if (!o->calib_path || !*o->calib_path)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "no calibration file given (--calib)");
  if (!o->out_dir || !*o->out_dir) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "no output folder given (--out)");
  if (!o->rig_path || !*o->rig_path)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "no MHR assets or rig file given (--assets, --rig)");
  if (o->n_cams == 1) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "--cams: at least two cameras are needed");
  if ((o->n_cams && !o->cams) || (o->n_frames && !o->frames) || (o->n_cam_map && !o->cam_map) ||
      (o->n_model_ids && !o->model_ids))
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "a list count without its list");
  for (size_t i = 0; i < o->n_cams; i++)
    if (!plain_name(o->cams[i]))
      return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "--cams: '%s' is not a camera name", o->cams[i] ? o->cams[i] : "");
  for (size_t i = 0; i < o->n_cam_map; i++) {
    const char *m = o->cam_map[i], *eq = m ? strchr(m, '=') : NULL;
    if (!eq || eq == m || !eq[1] || strchr(eq + 1, '=') || strchr(m, '/'))
      return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "--cam_map: '%s' is not FILE_NAME=CALIBRATION_NAME (e.g. cam01=cam_01)",
                         m ? m : "");
  }
  if (o->min_views < 2 || o->min_views > 64)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "--min_views must be in 2..64, got %d", o->min_views);
  if (o->max_stale_frames < 0)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "--max_stale_frames must be >= 0, got %d", o->max_stale_frames);
  if (o->max_edge_copy_span < 0)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "--max_edge_copy_span must be >= 0, got %d", o->max_edge_copy_span);
  if (o->bad_frame_retries < 0 || o->bad_frame_retries > 10)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "--bad_frame_retries must be in 0..10, got %d", o->bad_frame_retries);
  if (o->person_index < 0)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "--person_index must be >= 0, got %ld", o->person_index);
  if (o->jobs > MHRFIT_PIPELINE_MAX_JOBS)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "--jobs must be in 0..%d, got %zu", MHRFIT_PIPELINE_MAX_JOBS, o->jobs);
  if (o->lod < -1 || o->lod > 99) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "--lod must be in -1..99, got %d", o->lod);
  if (o->freeze_from != MHRFIT_FREEZE_FROM_FIRST_FIT && o->freeze_from != MHRFIT_FREEZE_FROM_VIEW)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "unknown freeze_lower_body_from %d", (int)o->freeze_from);
  if (o->estimator && o->estimator_worker)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "--estimator and --estimator_worker exclude each other");
  if (o->estimator && (!strstr(o->estimator, "{image}") || !strstr(o->estimator, "{output}")))
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "--estimator must contain {image} and {output}, got '%s'", o->estimator);
  if (o->workers < 1 || o->workers > 1024 || !(o->estimator_timeout >= 0) || !(o->worker_start_timeout > 0))
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT,
                       "--workers must be within 1..1024, --estimator_timeout >= 0 and --worker_start_timeout > 0");
  if (!mf_detector_check_options(o, err) || !mf_pipeline_overlay_check(o, err)) return false;
  if (!isfinite(o->smooth.fps) || !(o->smooth.fps >= 0))
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "--fps must be a frame rate > 0 Hz, got %g", o->smooth.fps);
  return true;
}

/* The frame rate (smooth.fps 0: the capture's, from the frames_meta.json of `mhrfit frames` in
 * the input folder, else 30, said in the log), then the smoothing options at that rate: first of
 * the checks that read files, as the other option values are checked before any. */
static bool choose_fps(mhrfit_pipeline *p, mhrfit_error *err) {
  mhrfit_smooth_options *s = &p->o.smooth;
  const char *how = "--fps";
  if (s->fps > 0) {
    snprintf(p->fps_origin, sizeof p->fps_origin, "option");
  } else if (mf_is_dir(p->o.input_dir) && (s->fps = mhrfit_frames_meta_fps(p->o.input_dir)) > 0) {
    snprintf(p->fps_origin, sizeof p->fps_origin, "frames_meta.json");
    how = "the frame rate of frames_meta.json";
    mf_pipeline_log(p, MHRFIT_PIPELINE_INFO, "frame rate: %g fps, the capture's (%s/frames_meta.json)", s->fps,
                    p->o.input_dir);
  } else {
    s->fps = MHRFIT_SMOOTH_DEFAULT_FPS;
    snprintf(p->fps_origin, sizeof p->fps_origin, "assumed");
    how = "the assumed 30 fps (--fps gives the capture's rate)";
    mf_pipeline_log(p, MHRFIT_PIPELINE_INFO,
                    "frame rate: %g fps assumed (%s holds no frames_meta.json of mhrfit frames; --fps gives the "
                    "capture's rate)", s->fps, p->o.input_dir);
  }
  if (!p->o.smoothing || mhrfit_smooth_options_check(s, err)) return true;
  if (err) {
    char msg[MHRFIT_ERROR_MESSAGE_MAX];
    snprintf(msg, sizeof msg, "%.900s; the rate is %s", err->message, how);
    snprintf(err->message, sizeof err->message, "%s", msg);
  }
  return false;
}

/* ------------------------------------------------------------------ paths */

/* The input, SAM output and output folders, and the calibration: outputs never over inputs. */
static bool check_paths(mhrfit_pipeline *p, mhrfit_error *err) {
  const mhrfit_pipeline_options *o = &p->o;
  bool csv = o->input_format && strcmp(o->input_format, "caliscope_csv") == 0; /* the file, or its folder */
  if (!(p->input_real = realpath(o->input_dir, NULL)) || !(mf_is_dir(p->input_real) || (csv && mf_is_file(p->input_real))))
    return MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "--input %s: no such folder%s", o->input_dir, csv ? " or file" : "");
  struct stat st;
  if (stat(o->out_dir, &st) == 0 && !S_ISDIR(st.st_mode))
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "--out %s exists and is not a folder", o->out_dir);
  if (stat(o->calib_path, &st) != 0)
    return MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "--calib %s: no such file", o->calib_path);
  if (!S_ISREG(st.st_mode))
    return MHRFIT_FAIL(err, MHRFIT_ERR_IO, "--calib %s: is %s, not a regular file", o->calib_path,
                       mf_file_type_name(st.st_mode));
  p->out_real = realpath(o->out_dir, NULL); /* NULL when it does not exist yet: then it overlaps nothing */
  if (!p->out_real) return true;
  const char *inputs[3] = {p->input_real, NULL, NULL};
  const char *names[3] = {"--input", "--sam_dir", "--calib"};
  char *sam = o->sam_dir ? realpath(o->sam_dir, NULL) : NULL, *cal = realpath(o->calib_path, NULL);
  if (o->sam_dir && !sam) {
    free(cal);
    return MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "--sam_dir %s: no such folder", o->sam_dir);
  }
  inputs[1] = sam;
  inputs[2] = cal;
  bool ok = true;
  for (int i = 0; i < 3 && ok; i++)
    if (inputs[i] && mf_run_writes(p->out_real, inputs[i]))
      ok = MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT,
                       "--out %s would write over the input %s %s: choose an output folder apart from the inputs",
                       o->out_dir, names[i], i == 0 ? o->input_dir : i == 1 ? o->sam_dir : o->calib_path);
  free(sam);
  free(cal);
  return ok;
}

/* ------------------------------------------------------------------ cameras and frames */

static bool push_name(char ***list, size_t n, const char *s, mhrfit_error *err) {
  char **l = realloc(*list, (n + 1) * sizeof *l);
  if (!l) return MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
  *list = l;
  return (l[n] = mf_strdup(s, err)) != NULL;
}

/* The cameras (given, or every calibrated one) and their file stems (--cam_map). */
static bool choose_cameras(mhrfit_pipeline *p, mhrfit_error *err) {
  const mhrfit_pipeline_options *o = &p->o;
  size_t n = o->n_cams ? o->n_cams : p->all->n_cams;
  for (size_t i = 0; i < n; i++) {
    const char *name = o->n_cams ? o->cams[i] : p->all->cams[i].name, *stem = name;
    char buf[256];
    for (size_t m = 0; m < o->n_cam_map; m++) {
      const char *eq = strchr(o->cam_map[m], '=');
      if (strcmp(eq + 1, name) == 0) {
        snprintf(buf, sizeof buf, "%.*s", (int)(eq - o->cam_map[m]), o->cam_map[m]);
        stem = buf;
      }
    }
    if (!push_name(&p->cams, i, name, err) || !push_name(&p->stems, i, stem, err)) return false;
    p->V = i + 1;
  }
  for (size_t m = 0; m < o->n_cam_map; m++) {
    const char *target = strchr(o->cam_map[m], '=') + 1;
    bool known = false;
    for (size_t i = 0; i < p->all->n_cams && !known; i++) known = strcmp(p->all->cams[i].name, target) == 0;
    if (!known)
      return MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "--cam_map %s: %s has no camera named '%s'", o->cam_map[m],
                         o->calib_path, target);
  }
  char unread[600];
  if (!o->n_cams && mhrfit_calib_unread_cameras(p->all, unread, sizeof unread))
    mf_pipeline_log(p, MHRFIT_PIPELINE_WARNING,
                    "%s: table(s) %s have no 'matrix' field, so they are not read as cameras (left out)", o->calib_path,
                    unread);
  /* an unknown camera is named before any folder is read (without the selection's warnings: they
   * come once, from load_models()) */
  void (*warn)(void *, const char *) = p->all->warn;
  p->all->warn = NULL;
  mhrfit_calib *sel = mhrfit_calib_select(p->all, (const char *const *)p->cams, p->V, err);
  p->all->warn = warn;
  mhrfit_calib_free(sel);
  if (!sel && err && err->type == MHRFIT_ERR_NOT_FOUND) { /* a file name is not a calibration name */
    size_t len = strlen(err->message);
    snprintf(err->message + len, sizeof err->message - len,
             "; --cams takes the calibration's names, --cam_map FILE_NAME=CALIBRATION_NAME maps file names to them");
  }
  return sel != NULL;
}

/* Keeps the cameras of `keep`, in order. */
static void keep_cameras(mhrfit_pipeline *p, const bool *keep) {
  size_t k = 0;
  for (size_t i = 0; i < p->V; i++) {
    if (keep[i]) {
      p->cams[k] = p->cams[i];
      p->stems[k++] = p->stems[i];
    } else {
      free(p->cams[i]);
      free(p->stems[i]);
    }
  }
  p->V = k;
}

/* The frame number of a folder name made of digits only (at most 12), else -1. */
static long long frame_number(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n > 12 || strspn(name, "0123456789") != n) return -1;
  return strtoll(name, NULL, 10);
}

/* Frames numbered with gaps (folders of digits whose numbers step by more than their usual step,
 * the smallest one): said once, since the temporal prior and the smoothing take neighbouring
 * folders as consecutive frames. Only when every folder is used (no --frames). */
static void warn_frame_gaps(mhrfit_pipeline *p) {
  if (p->o.n_frames || p->F < 3) return;
  long long step = 0, prev = -1;
  for (size_t f = 0; f < p->F; f++) {
    long long k = frame_number(p->frames.items[f]);
    if (k < 0 || (prev >= 0 && k <= prev)) return;
    if (prev >= 0 && (step == 0 || k - prev < step)) step = k - prev;
    prev = k;
  }
  char list[400] = "";
  size_t len = 0, n_gaps = 0;
  long long missing = 0;
  for (size_t f = 1; f < p->F; f++) {
    long long a = frame_number(p->frames.items[f - 1]), b = frame_number(p->frames.items[f]);
    if (b - a == step) continue;
    missing += (b - a) / step - 1;
    if (n_gaps++ < 4 && len < sizeof list)
      len += (size_t)snprintf(list + len, sizeof list - len, "%s%s .. %s", n_gaps > 1 ? ", " : "",
                              p->frames.items[f - 1], p->frames.items[f]);
  }
  if (n_gaps)
    mf_pipeline_log(p, MHRFIT_PIPELINE_WARNING,
                    "%s: the frame folders' numbers have %zu gap(s) (%s%s; about %lld frame(s) missing): the "
                    "temporal prior and the smoothing take neighbouring folders as consecutive frames",
                    p->o.input_dir, n_gaps, list, n_gaps > 4 ? ", ..." : "", missing);
}

/* The frame subset of the options: every name must be a frame. */
static bool apply_subset(mhrfit_pipeline *p, const mhrfit_ingest_frames *fr, mhrfit_error *err) {
  const mhrfit_pipeline_options *o = &p->o;
  for (size_t j = 0; j < o->n_frames; j++) {
    bool found = false, ignored = false;
    for (size_t i = 0; i < fr->n_names && !found; i++) found = strcmp(fr->names[i], o->frames[j]) == 0;
    for (size_t i = 0; i < fr->n_ignored && !ignored; i++) ignored = strcmp(fr->ignored[i], o->frames[j]) == 0;
    if (!found)
      return MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "--frames %s: %s (%zu frames, %s .. %s)", o->frames[j],
                         ignored ? "that folder holds no file of the cameras" : "no such frame folder in --input",
                         fr->n_names, fr->names[0], fr->names[fr->n_names - 1]);
  }
  for (size_t i = 0; i < fr->n_names; i++) {
    bool keep = !o->n_frames;
    for (size_t j = 0; j < o->n_frames && !keep; j++) keep = strcmp(fr->names[i], o->frames[j]) == 0;
    if (!keep) continue;
    char **items = realloc(p->frames.items, (p->frames.count + 1) * sizeof *items);
    if (!items) return MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
    p->frames.items = items;
    if (!(items[p->frames.count] = mf_strdup(fr->names[i], err))) return false;
    p->frames.count++;
  }
  p->F = p->frames.count;
  warn_frame_gaps(p);
  return true;
}

/* When no folder holds a file of the cameras: the SAM 3D Body files the frame folders do hold,
 * named in the message with the --cam_map that would use them. */
static void name_other_files(const mhrfit_pipeline *p, mhrfit_error *err) {
  const char *root = p->o.sam_dir ? p->o.sam_dir : p->o.input_dir;
  mf_names dirs = {0}, stems = {0};
  if (!mf_list_dir(root, NULL, true, &dirs, NULL)) return;
  for (size_t d = 0; d < dirs.count && d < 20 && stems.count < 8; d++) {
    char path[PATH_MAX];
    mf_names files = {0};
    snprintf(path, sizeof path, "%s/%s", root, dirs.items[d]);
    for (int k = 0; k < 2; k++) {
      if (!mf_list_dir(path, k ? ".npy" : ".npz", false, &files, NULL)) continue;
      for (size_t i = 0; i < files.count && stems.count < 8; i++) {
        files.items[i][strlen(files.items[i]) - 4] = '\0';
        bool seen = false;
        for (size_t j = 0; j < stems.count && !seen; j++) seen = strcmp(stems.items[j], files.items[i]) == 0;
        char **grown = seen ? NULL : realloc(stems.items, (stems.count + 1) * sizeof *grown);
        if (grown) {
          stems.items = grown;
          stems.items[stems.count] = files.items[i];
          files.items[i] = NULL;
          stems.count++;
        }
      }
      for (size_t i = 0; i < files.count; i++) free(files.items[i]);
      free(files.items);
      files = (mf_names){0};
    }
  }
  if (stems.count) {
    char list[200] = "", map[200] = "";
    size_t n = 0, m = 0;
    for (size_t i = 0; i < stems.count; i++) {
      if (n < sizeof list) n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "", stems.items[i]);
      if (m < sizeof map && i < p->V)
        m += (size_t)snprintf(map + m, sizeof map - m, " %s=%s", stems.items[i], p->cams[i]);
    }
    char msg[MHRFIT_ERROR_MESSAGE_MAX + 512];
    snprintf(msg, sizeof msg, "%.500s; the frame folders hold SAM 3D Body files named %s: if those are the cameras, "
             "map them to the calibration's names with --cam_map, e.g.%s", err->message, list, map);
    snprintf(err->message, sizeof err->message, "%.1000s", msg);
  }
  mf_names_free(&dirs);
  mf_names_free(&stems);
}

/* Stage 1's request for the folders and cameras of the run. */
static void ingest_request(const mhrfit_pipeline *p, mhrfit_ingest_options *io) {
  mhrfit_ingest_options_init(io);
  io->input_dir = p->o.input_dir;
  io->sam_dir = p->o.sam_dir;
  io->out_dir = p->o.out_dir;
  io->cams = (const char *const *)p->cams;
  io->cam_files = (const char *const *)p->stems;
  io->n_cams = p->V;
}

/* The frames: folders holding a file of a camera (ingest.h); with no --cams, the cameras are
 * the calibrated ones that have files. */
static bool find_frames(mhrfit_pipeline *p, mhrfit_error *err) {
  const mhrfit_pipeline_options *o = &p->o;
  mhrfit_ingest_options io;
  ingest_request(p, &io);
  mhrfit_ingest_frames fr;
  if (!mhrfit_ingest_find_frames(&io, &fr, err)) {
    if (err && err->type == MHRFIT_ERR_NOT_FOUND) name_other_files(p, err);
    return false;
  }
  bool *keep = calloc(p->V ? p->V : 1, sizeof *keep);
  bool ok = keep != NULL;
  size_t n_keep = 0;
  char missing[512] = "";
  for (size_t i = 0, n = 0; ok && i < p->V; i++) {
    keep[i] = fr.cam_frames[i] > 0 || o->n_cams;
    n_keep += fr.cam_frames[i] > 0;
    if (!fr.cam_frames[i] && n < sizeof missing)
      n += (size_t)snprintf(missing + n, sizeof missing - n, "%s%s", n ? ", " : "", p->stems[i]);
  }
  if (!ok) {
    MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
  } else if (n_keep < 2) {
    ok = MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND,
                     "%s: %zu camera(s) have files, at least 2 are needed (none for %s: looked for "
                     "<frame>/<cam>.npz|.npy or an image; --cam_map FILE_NAME=CALIBRATION_NAME maps other file names)",
                     o->input_dir, n_keep, missing);
  } else {
    if (missing[0])
      mf_pipeline_log(p, MHRFIT_PIPELINE_WARNING, "%s: no file of camera(s) %s in any frame%s", o->input_dir, missing,
                      o->n_cams ? "" : " (left out)");
    if (!o->n_cams && fr.n_others) {
      char list[600];
      size_t n = 0;
      for (size_t i = 0; i < fr.n_others && n < sizeof list - 80; i++)
        n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "", fr.others[i]);
      mf_pipeline_log(p, MHRFIT_PIPELINE_WARNING,
                      "%s: the frames hold SAM 3D Body files of no calibrated camera of %s: %s%s (not read; --cam_map "
                      "FILE_NAME=CALIBRATION_NAME maps a file name to a calibration camera)",
                      o->input_dir, o->calib_path, list, n >= sizeof list - 80 ? ", ..." : "");
    }
    if (fr.n_ignored) {
      char list[600];
      size_t n = 0;
      for (size_t i = 0; i < fr.n_ignored && n < sizeof list - 80; i++)
        n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "", fr.ignored[i]);
      mf_pipeline_log(p, MHRFIT_PIPELINE_INFO, "%zu folder(s) of %s are not frames (no camera file): %s%s",
                      fr.n_ignored, o->input_dir, list, n >= sizeof list - 80 ? ", ..." : "");
    }
    keep_cameras(p, keep);
    ok = apply_subset(p, &fr, err);
  }
  free(keep);
  mhrfit_ingest_frames_free(&fr);
  return ok;
}

/* Cameras the triangulation cannot use: two at one place. Translations that look like
 * millimetres or centimetres are said (a warning: a large stage is possible). */
static bool check_rig_geometry(mhrfit_pipeline *p, mhrfit_error *err) {
  const mhrfit_calib *c = p->cal;
  double *d = malloc((c->n_cams * c->n_cams + 1) * sizeof *d), C[64][3];
  if (!d) return MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
  for (size_t v = 0; v < c->n_cams && v < 64; v++)
    for (int i = 0; i < 3; i++) { /* centre -R^T t */
      const double *R = c->cams[v].R, *t = c->cams[v].t;
      C[v][i] = -(R[i] * t[0] + R[3 + i] * t[1] + R[6 + i] * t[2]);
    }
  size_t n = 0;
  bool ok = true;
  for (size_t a = 0; a < c->n_cams && a < 64 && ok; a++)
    for (size_t b = a + 1; b < c->n_cams && b < 64 && ok; b++) {
      double dd = sqrt(pow(C[a][0] - C[b][0], 2) + pow(C[a][1] - C[b][1], 2) + pow(C[a][2] - C[b][2], 2));
      if (!(dd > 1e-6))
        ok = MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT,
                         "%s: cameras '%s' and '%s' are at the same place (%.3g m apart): triangulation needs views "
                         "from different places; check the calibration",
                         p->o.calib_path, c->cams[a].name, c->cams[b].name, dd);
      d[n++] = dd;
    }
  if (ok && n) {
    for (size_t i = 1; i < n; i++) /* median by insertion (a few cameras) */
      for (size_t k = i; k > 0 && d[k - 1] > d[k]; k--) {
        double t = d[k];
        d[k] = d[k - 1];
        d[k - 1] = t;
      }
    double med = d[n / 2];
    if (med > 100)
      mf_pipeline_log(p, MHRFIT_PIPELINE_WARNING,
                      "%s: the cameras are %.0f m apart (median): if the translations are in millimetres or "
                      "centimetres, pass --translation_unit mm|cm",
                      p->o.calib_path, med);
    else if (med < 0.05)
      mf_pipeline_log(p, MHRFIT_PIPELINE_WARNING,
                      "%s: the cameras are %.3g m apart (median): is --translation_unit right for this file?",
                      p->o.calib_path, med);
  }
  free(d);
  return ok;
}

/* The calibration of the chosen cameras, the triangulator, the rig and the fitters. */
static bool load_models(mhrfit_pipeline *p, mhrfit_error *err) {
  const mhrfit_pipeline_options *o = &p->o;
  if (!(p->cal = mhrfit_calib_select(p->all, (const char *const *)p->cams, p->V, err)) || !check_rig_geometry(p, err))
    return false;
  p->triangulator = mhrfit_triangulator_new(p->cal->cams, p->V, 70, &o->tri, err);
  p->rig = p->triangulator ? mhrfit_rig_open(o->rig_path, o->lod, MHRFIT_RIG_NO_CORRECTIVE_BLENDSHAPES, err) : NULL;
  mhrfit_fit_options fo = o->fit; /* the frames: no mesh (the sequence's is made from the parameters) */
  fo.skip_mesh = true;
  p->fitter = p->rig ? mhrfit_fitter_new(p->rig, NULL, &fo, err) : NULL;
  if (!p->fitter) return false;
  p->mesh_fitter = p->fitter;
  if (o->write_mesh) {
    fo.skip_mesh = false;
    if (!(p->mesh_fitter = mhrfit_fitter_new(p->rig, NULL, &fo, err))) return false;
  }
  mhrfit_fit_options ro = o->fit; /* retries: a stronger pull towards the previous good frame */
  ro.skip_mesh = true;
  ro.temporal_init_blend = fmax(ro.temporal_init_blend, 0.9);
  ro.w_temporal = fmax(3 * ro.w_temporal, 3e-4);
  ro.iters = 2 * (ro.iters ? ro.iters : ro.solver == MHRFIT_SOLVER_ADAM ? 200 : 50);
  if (!(p->retry_fitter = mhrfit_fitter_new(p->rig, NULL, &ro, err))) return false;
  p->n_hist = (size_t)ro.iters;
  if (o->fit.freeze_lower_body && o->freeze_from == MHRFIT_FREEZE_FROM_FIRST_FIT) {
    fo.skip_mesh = true;
    fo.freeze_lower_body = false;
    if (!(p->ref_fitter = mhrfit_fitter_new(p->rig, NULL, &fo, err))) return false;
  }
  return true;
}

/* The checks of the options and the inputs (calibration, cameras, frames): a new pipeline
 * without its models, or NULL. */
static mhrfit_pipeline *open_inputs(const mhrfit_pipeline_options *o, mhrfit_error *err) {
  if (!o) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "no options");
    return NULL;
  }
  if (!check_options(o, err)) return NULL;
  mhrfit_pipeline *p = calloc(1, sizeof *p);
  if (!p) {
    MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
    return NULL;
  }
  p->o = *o;
  p->threads = o->jobs ? o->jobs : mf_cpu_count();
  p->t_start = mf_now_seconds();
  p->prev_frame = p->scales_frame = -1;
  /* a folder another run writes is refused at once, before the calibration, frames and rig */
  if (!choose_fps(p, err) || !check_paths(p, err) || !mf_dir_lock_probe(o->out_dir, err) ||
      !(p->all = mhrfit_calib_load(o->calib_path, &o->calib, err)) || !choose_cameras(p, err) ||
      !(o->input_format ? mf_detector_open(p, err) : find_frames(p, err))) {
    mhrfit_pipeline_free(p);
    return NULL;
  }
  return p;
}

bool mhrfit_pipeline_check(const mhrfit_pipeline_options *o, mhrfit_error *err) {
  if (!o) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "no options");
  mhrfit_pipeline_options quiet = *o;
  quiet.log = NULL;
  quiet.progress = NULL;
  mhrfit_pipeline *p = open_inputs(&quiet, err);
  mhrfit_pipeline_free(p);
  return p != NULL;
}

mhrfit_pipeline *mhrfit_pipeline_new(const mhrfit_pipeline_options *o, mhrfit_error *err) {
  mhrfit_pipeline *p = open_inputs(o, err);
  if (!p) return NULL;
  double t0 = mf_now_seconds();
  if (!(o->input_format ? mf_detector_load_models(p, err) : load_models(p, err))) goto fail;
  p->t_setup = mf_now_seconds() - t0;
  if (!(p->config = mf_pipeline_config(p, err)) || !mf_pipeline_config_identity(p->config, &p->config_hash, err)) goto fail;
  /* recorded, not hashed: the same rate from another source changes no result */
  mf_jb jb = {err, false};
  mf_jstr(&jb, p->config, "fps_origin", p->fps_origin);
  if (jb.failed) goto fail;
  return p;
fail:
  mhrfit_pipeline_free(p);
  return NULL;
}

static void free_names(char **names, size_t n) {
  if (names)
    for (size_t i = 0; i < n; i++) free(names[i]);
  free(names);
}

void mhrfit_pipeline_free(mhrfit_pipeline *p) {
  if (!p) return;
  mf_dir_lock_release(p->lock);
  free(p->input_real);
  free(p->out_real);
  free_names(p->cams, p->V);
  free_names(p->stems, p->V);
  mf_names_free(&p->frames);
  mhrfit_value_free(p->config);
  mf_journal_free(&p->state);
  mhrfit_value_free(p->diagnosis);
  if (p->journal) fclose(p->journal);
  if (p->message)
    for (size_t f = 0; f < p->F; f++) free(p->message[f]);
  free(p->message);
  free(p->rec);
  free(p->params);
  free(p->sim);
  free(p->status);
  free(p->labels);
  free(p->raw_status);
  free(p->cam_stats);
  free(p->body_width);
  mhrfit_fit_archive_free(p->layout);
  for (size_t t = 1; p->tri_of && t < p->threads; t++) mhrfit_triangulator_free(p->tri_of[t]);
  for (size_t t = 1; p->geo_of && t < p->threads; t++) mhrfit_fitter_free(p->geo_of[t]);
  free(p->tri_of);
  free(p->geo_of);
  if (p->mesh_fitter != p->fitter) mhrfit_fitter_free(p->mesh_fitter);
  mhrfit_fitter_free(p->fitter);
  mhrfit_fitter_free(p->retry_fitter);
  mhrfit_fitter_free(p->ref_fitter);
  mhrfit_rig_free(p->rig);
  mhrfit_triangulator_free(p->triangulator);
  mhrfit_calib_free(p->cal);
  mhrfit_calib_free(p->all);
  mf_detector_free(p->det);
  free(p);
}

/* ------------------------------------------------------------------ stage 1 */

typedef struct ingest_user {
  mhrfit_pipeline *p;
  double t0;
} ingest_user;

static void ingest_progress(void *user, size_t done, size_t total) {
  const ingest_user *iu = user;
  mhrfit_pipeline_progress pr = {MHRFIT_PIPELINE_STAGE_INGEST, done, total, 0, 0, mf_now_seconds() - iu->t0, NULL};
  iu->p->o.progress(iu->p->o.user, &pr);
}

static void ingest_log(void *user, mhrfit_ingest_log_level level, const char *message) {
  mhrfit_pipeline *p = ((ingest_user *)user)->p;
  if (level == MHRFIT_INGEST_ERROR && !p->first_ingest_error[0])
    snprintf(p->first_ingest_error, sizeof p->first_ingest_error, "%s", message);
  mhrfit_pipeline_log_level lv = level == MHRFIT_INGEST_ERROR     ? MHRFIT_PIPELINE_ERROR
                                 : level == MHRFIT_INGEST_WARNING ? MHRFIT_PIPELINE_WARNING
                                                                  : MHRFIT_PIPELINE_INFO;
  mf_pipeline_log(p, lv, "ingest: %s", message);
}

/* Each camera's 3x3 intrinsics from the calibration, for the estimator workers. */
static double *cam_intrinsics(const mhrfit_pipeline *p, mhrfit_error *err) {
  double *k = mf_malloc_array(9 * p->V, sizeof *k, err);
  for (size_t v = 0; k && v < p->V; v++) memcpy(k + 9 * v, p->cal->cams[v].K, 9 * sizeof *k);
  return k;
}

static bool run_ingest(mhrfit_pipeline *p, mhrfit_error *err) {
  const mhrfit_pipeline_options *o = &p->o;
  double t0 = mf_now_seconds();
  ingest_user iu = {p, t0};
  mhrfit_ingest_options io;
  ingest_request(p, &io);
  io.frames = (const char *const *)p->frames.items;
  io.n_frames = p->F;
  io.strategy = o->person_strategy;
  io.person_index = o->person_index;
  io.estimator = o->estimator;
  io.estimator_worker = o->estimator_worker;
  io.workers = o->workers;
  io.estimator_timeout = o->estimator_timeout;
  io.worker_start_timeout = o->worker_start_timeout;
  io.worker_max_restarts = o->worker_max_restarts;
  io.model_ids = o->model_ids;
  io.n_model_ids = o->n_model_ids;
  io.force = o->overwrite;
  io.max_inflated_bytes = o->max_inflated_bytes;
  io.no_lock = true; /* the run holds it */
  io.jobs = p->threads;
  io.log = ingest_log;
  io.progress = o->progress ? ingest_progress : NULL;
  io.user = &iu;
  io.cancel = o->cancel;
  double *intrinsics = o->estimator_worker ? cam_intrinsics(p, err) : NULL; /* cam_int of the requests */
  if (o->estimator_worker && !intrinsics) return false;
  io.cam_intrinsics = intrinsics;
  bool ok = mhrfit_ingest_run(&io, &p->res.ingest, err);
  free(intrinsics);
  if (!ok) return false;
  p->res.time_ingest_s = mf_now_seconds() - t0;
  mf_pipeline_log(p, MHRFIT_PIPELINE_INFO, "stage 1: %zu frames ingested, %zu reused, %zu with failed views (%.2f s)",
                  p->res.ingest.frames_ingested, p->res.ingest.frames_reused, p->res.ingest.frames_failed,
                  p->res.time_ingest_s);
  return true;
}

/* ------------------------------------------------------------------ the run */

/* The output folder, its lock (cleaning up after a killed run) and the settings file. */
static bool open_output(mhrfit_pipeline *p, mhrfit_error *err) {
  bool unclean = false;
  if (!mf_make_dirs(p->o.out_dir, err) || !(p->lock = mf_dir_lock_acquire(p->o.out_dir, "mhrfit run", &unclean, err)))
    return false;
  if (unclean) {
    size_t n = mf_remove_stale_temps(p->o.out_dir, 2);
    if (n)
      mf_pipeline_log(p, MHRFIT_PIPELINE_INFO, "removed %zu temporary file(s) left in %s by an interrupted run", n,
                      p->o.out_dir);
  }
  /* the marker of an unfinished run first (mhrfit_run_unfinished()): from the moment the new
   * settings are recorded until the sequence files are this run's, readers are told that the
   * sequence files are an earlier run's; the old files stay (an interrupted experiment loses nothing) */
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/" MF_RUN_UNFINISHED_NAME, p->o.out_dir);
  static const char mark[] = "mhrfit run: this run has not finished; until it does, sequence_fit.npz, "
                             "sequence_smoothed.npz and sequence_summary.json are an earlier run's (or absent)\n";
  if (!mf_write_file_atomic(path, mark, sizeof mark - 1, err)) return false;
  snprintf(path, sizeof path, "%s/pipeline_config.json", p->o.out_dir);
  return mf_write_json_atomic(path, p->config, 2, err);
}

bool mhrfit_run_unfinished(const char *run_dir, char *msg, size_t size) {
  if (msg && size) msg[0] = '\0';
  return run_dir && mf_run_unfinished(run_dir, msg, size);
}

/* Removes the marker of an unfinished run: the sequence files are this run's. */
static bool mark_finished(mhrfit_pipeline *p, mhrfit_error *err) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/" MF_RUN_UNFINISHED_NAME, p->o.out_dir);
  if (unlink(path) != 0 && errno != ENOENT)
    return MHRFIT_FAIL(err, MHRFIT_ERR_IO, "%s: cannot remove it: %s", path, strerror(errno));
  return true;
}

/* Recovery, smoothing, diagnosis, summary, the verdict and the report. */
static bool run_sequence(mhrfit_pipeline *p, mf_pool *pool, mhrfit_error *err) {
  if (!mf_pipeline_sequence(p, pool, err) || !mf_pipeline_diagnose(p, err)) return false;
  p->res.time_total_s = mf_now_seconds() - p->t_start;
  if (!mf_pipeline_write_summary(p, err) || !mark_finished(p, err)) return false;
  bool fitted = mf_pipeline_check_fitted(p, err);
  mhrfit_error rerr = {0}; /* a run that fitted nothing keeps its own error */
  bool reported = !p->o.report || mf_pipeline_report(p, fitted ? err : &rerr);
  return fitted && reported && (!p->o.overlay || mf_pipeline_overlay(p, err));
}

static bool run_all(mhrfit_pipeline *p, mf_pool *pool, mhrfit_error *err) {
  p->res.threads = p->threads;
  if (p->det) /* a detector's keypoints: no stage 1 (detector.c) */
    return open_output(p, err) && mf_detector_frames(p, err) && run_sequence(p, pool, err);
  if (!open_output(p, err) || !run_ingest(p, err)) return false;
  double t0 = mf_now_seconds();
  if (!mf_pipeline_prepare(p, err)) return false;
  p->res.time_setup_s = p->t_setup + (mf_now_seconds() - t0);
  p->res.n_frames = p->F;
  return mf_pipeline_frames(p, pool, err) && run_sequence(p, pool, err);
}

bool mhrfit_pipeline_run(mhrfit_pipeline *p, mhrfit_pipeline_result *res, mhrfit_error *err) {
  if (!p) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "no pipeline");
  if (p->ran) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "%s: this pipeline has run already", p->o.out_dir);
  p->ran = true;
  mf_pool *pool = p->threads > 1 ? mf_pool_new(p->threads, err) : NULL;
  bool ok = (p->threads == 1 || pool) && run_all(p, pool, err);
  mf_pool_free(pool);
  mf_dir_lock_release(p->lock);
  p->lock = NULL;
  if (res) *res = p->res;
  return ok;
}

bool mhrfit_pipeline_frame(const mhrfit_pipeline *p, size_t i, mhrfit_pipeline_frame_info *info) {
  if (!p || !info || i >= p->F || !p->sequence_done) return false;
  info->name = p->frames.items[i];
  info->status = p->status[i];
  info->fit_status = p->raw_status[i];
  info->message = p->message[i] ? p->message[i] : "";
  info->n_available = p->rec[i].n_available;
  info->n_triangulated = p->rec[i].n_tri_points;
  info->reused = p->rec[i].reused;
  info->retried = p->rec[i].retried;
  return true;
}

size_t mhrfit_pipeline_n_frames(const mhrfit_pipeline *p) { return p ? p->F : 0; }

const char *mhrfit_pipeline_camera(const mhrfit_pipeline *p, size_t v) { return p && v < p->V ? p->cams[v] : NULL; }

size_t mhrfit_pipeline_n_cameras(const mhrfit_pipeline *p) { return p ? p->V : 0; }

/* ------------------------------------------------------------------ shared with detector.c */

void mf_pipeline_keep_cameras(mhrfit_pipeline *p, const bool *keep) { keep_cameras(p, keep); }

bool mf_pipeline_check_rig_geometry(mhrfit_pipeline *p, mhrfit_error *err) { return check_rig_geometry(p, err); }
