/* Stage 1 (ingest): see include/mhrfit/ingest.h. */
/* realpath() is an X/Open interface. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/file.h"
#include "common/hash.h"
#include "common/lock.h"
#include "common/mem.h"
#include "common/path.h"
#include "common/pool.h"
#include "common/tail.h"
#include "ingest/ingest_internal.h"
#include "ingest/worker.h"
#include "io/numpy_io.h"
#include "mhrfit/json.h"
#include "mhrfit/npy.h"

#ifndef MHRFIT_VERSION_STRING
#define MHRFIT_VERSION_STRING "unknown"
#endif

#define DETAIL_MAX 1024
#define META_NAME "stage1_meta.json"
/* The largest stage1_meta.json read (about 2.4 KB per frame of 4 cameras). */
#define META_MAX_BYTES ((size_t)4 << 30)
/* Seconds between intermediate writes of the meta file during a long run. */
#define META_FLUSH_SECONDS 2.0
/* Worker mode: frames are gathered into a chunk until it holds this many requests per worker
 * (or CHUNK_FRAMES frames), so that every worker has work while the chunk lasts. */
#define CHUNK_JOBS_PER_WORKER 32
#define CHUNK_FRAMES 256

static const char *const image_exts[] = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp",
                                         ".JPG", ".JPEG", ".PNG", ".BMP", ".GIF", ".TIF", ".TIFF", ".WEBP"};
static const char *const source_exts[] = {".npz", ".npy"};

void mhrfit_ingest_options_init(mhrfit_ingest_options *o) {
  memset(o, 0, sizeof *o);
  o->strategy = MHRFIT_PERSON_LARGEST_BBOX;
  o->workers = 1;
  o->worker_start_timeout = 600;
  o->worker_max_restarts = 3;
  o->jobs = 1;
}

static bool has_estimator(const mhrfit_ingest_options *o) { return o->estimator || o->estimator_worker; }

const char *mhrfit_ingest_reason_name(mhrfit_ingest_reason r) {
  static const char *const names[] = {"reuse",         "forced",           "no_meta",           "meta_invalid",
                                      "tool_version",  "input_changed",    "cams_changed",      "strategy_changed",
                                      "estimator_changed", "model_changed", "frame_subset",     "previous_failure",
                                      "image_changed", "source_changed",   "output_missing"};
  return (unsigned)r < sizeof names / sizeof names[0] ? names[r] : "unknown";
}

/* ---- small helpers ------------------------------------------------------------------------ */

static void logf_(const mhrfit_ingest_options *o, mhrfit_ingest_log_level lv, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void logf_(const mhrfit_ingest_options *o, mhrfit_ingest_log_level lv, const char *fmt, ...) {
  if (!o->log) return;
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  o->log(o->user, lv, buf);
}

/* ---- the request -------------------------------------------------------------------------- */

struct job_table;
struct est_state;

/* A log level of the frame threads' messages: a view's failure that is dropped when the run stops
 * for the estimator's failure (said once, in the run's error), and an error otherwise. */
#define LOG_UNLESS_BROKEN ((mhrfit_ingest_log_level)9)

typedef struct request {
  const mhrfit_ingest_options *o;
  const char *const *stems;               /* file stem of each camera (o->cam_files or o->cams) */
  char *input_root, *sam_root, *out_root; /* absolute (out_root: as given when it does not exist yet) */
  mf_ingest_settings s;
  mf_names frames;
  mf_names ignored;    /* sub-folders that hold no file of a requested camera (frames listed, not given) */
  mf_names others;     /* SAM 3D Body outputs of no requested camera in the frames (listed, not given) */
  size_t *cam_frames;  /* per camera: frames holding a file of it (frames listed, not given) */
  struct job_table *jobs; /* worker mode: the requests of the current chunk and their results */
  struct est_state *est;  /* command mode: how the estimator has fared (shared by the threads) */
} request;

static void request_free(request *r) {
  free(r->input_root);
  free(r->sam_root);
  free(r->out_root);
  mf_names_free(&r->frames);
  mf_names_free(&r->ignored);
  mf_names_free(&r->others);
  free(r->cam_frames);
}

static int cmp_natural(const void *a, const void *b) {
  int c = mf_natural_cmp(*(char *const *)a, *(char *const *)b);
  return c ? c : strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends a name (duplicates are dropped once the list is sorted: names_unique()). */
static bool names_push(mf_names *n, const char *s, mhrfit_error *err) {
  char **items = realloc(n->items, (n->count + 1) * sizeof *items);
  if (!items) return MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
  n->items = items;
  if (!(n->items[n->count] = mf_strdup(s, err))) return false;
  n->count++;
  return true;
}

/* Adds the frame folders of `root` (not hidden, not the output folder) to r->frames. */
static bool add_frame_dirs(request *r, const char *root, mhrfit_error *err) {
  mf_entries d;
  if (!mf_list_entries(root, false, &d, err)) return false;
  bool ok = true;
  for (size_t i = 0; i < d.count && ok; i++) {
    const mf_dir_entry *it = &d.items[i];
    if (it->type != MF_ENTRY_DIR || it->name[0] == '.') continue;
    char *p = mf_path_join(root, it->name, err);
    if (!p) {
      ok = false;
      break;
    }
    /* root is a real path: a plain folder's real path is root/name; a link needs resolving */
    char *rp = it->via_link ? realpath(p, NULL) : NULL;
    bool is_out = strcmp(it->via_link ? (rp ? rp : "") : p, r->out_root) == 0;
    free(rp);
    free(p);
    if (!is_out) ok = names_push(&r->frames, it->name, err);
  }
  mf_entries_free(&d);
  return ok;
}

static bool valid_name(const char *s) {
  return s && *s && strcmp(s, ".") != 0 && strcmp(s, "..") != 0 && !strchr(s, '/');
}

/* True when the listing has an entry named <cam><ext> that is not a folder (links followed): a
 * regular file, or a FIFO, socket, device or dangling link, which is a file of the camera that
 * reading refuses naming it (the view fails saying why; it is not a silently missing view). */
static bool listed_file(const mf_entries *e, const char *cam, const char *ext) {
  char name[1024];
  if ((size_t)snprintf(name, sizeof name, "%s%s", cam, ext) >= sizeof name) return false;
  const mf_dir_entry *it = mf_entries_find(e, name);
  return it && it->type != MF_ENTRY_DIR;
}

/* The output folder must not be, or lie in, a folder of `root` (the input or SAM output folder,
 * a real path; `given` as the user named it) holding a file of a camera: the outputs would be
 * written into a frame of the capture (and that frame hidden as the output folder). */
static bool check_out_outside_frames(const request *r, const char *root, const char *given, mhrfit_error *err) {
  char *out = mf_path_resolve(r->o->out_dir, err);
  if (!out) return false;
  size_t n = strlen(root), k = strncmp(out, root, n) == 0 && out[n] == '/' ? strcspn(out + n + 1, "/") : 0;
  char *dir = k ? mf_strndup(out, n + 1 + k, err) : NULL;
  mf_entries e = {0};
  bool ok = !k || (dir && mf_list_entries(dir, true, &e, err));
  for (size_t c = 0; k && ok && c < r->o->n_cams; c++) {
    const char *stem = r->stems[c];
    bool has = listed_file(&e, stem, ".npz") || listed_file(&e, stem, ".npy");
    for (size_t x = 0; x < sizeof image_exts / sizeof image_exts[0] && !has; x++) has = listed_file(&e, stem, image_exts[x]);
    if (has)
      ok = MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT,
                       "the output folder %s lies in the frame folder %s/%.*s (it holds files of camera '%s'): writing "
                       "there would change the capture; choose an output folder apart from the frame folders",
                       r->o->out_dir, given, (int)k, out + n + 1, r->o->cams[c]);
  }
  mf_entries_free(&e);
  free(dir);
  free(out);
  return ok;
}

static bool request_init(request *r, const mhrfit_ingest_options *o, mhrfit_error *err) {
  memset(r, 0, sizeof *r);
  r->o = o;
  if (!o->input_dir || !*o->input_dir) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "no input folder given");
  if (!o->out_dir || !*o->out_dir) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "no output folder given");
  if (!o->cams || o->n_cams == 0) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "no cameras given");
  for (size_t i = 0; i < o->n_cams; i++) {
    if (!valid_name(o->cams[i]))
      return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "invalid camera name '%s'", o->cams[i] ? o->cams[i] : "(null)");
    for (size_t j = 0; j < i; j++)
      if (strcmp(o->cams[i], o->cams[j]) == 0)
        return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "camera '%s' is listed twice", o->cams[i]);
    if (o->cam_files && !valid_name(o->cam_files[i]))
      return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "invalid file name '%s' of camera '%s'",
                         o->cam_files[i] ? o->cam_files[i] : "(null)", o->cams[i]);
  }
  r->stems = o->cam_files ? o->cam_files : o->cams;
  if (o->strategy != MHRFIT_PERSON_LARGEST_BBOX && o->strategy != MHRFIT_PERSON_FIRST &&
      o->strategy != MHRFIT_PERSON_INDEX)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "unknown person selection strategy %d", (int)o->strategy);
  if (o->estimator && (!strstr(o->estimator, "{image}") || !strstr(o->estimator, "{output}")))
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "estimator command '%s' must contain {image} and {output}",
                       o->estimator);
  if (o->estimator && o->estimator_worker)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "give either an estimator command or an estimator worker, not both");
  if (o->estimator_worker && !*o->estimator_worker)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "empty estimator worker command");
  if (o->estimator_worker && (o->workers < 1 || o->workers > 1024))
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "workers must be within 1..1024, not %zu", o->workers);
  if (!(o->estimator_timeout >= 0) || !isfinite(o->estimator_timeout) || !(o->worker_start_timeout > 0) ||
      !isfinite(o->worker_start_timeout))
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "the estimator timeout must be >= 0 and the worker start timeout > 0");
  for (size_t i = 0; i < o->n_model_ids; i++)
    if (!o->model_ids[i]) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "model identifier %zu is NULL", i);
  r->input_root = realpath(o->input_dir, NULL);
  if (!r->input_root || !mf_is_dir(r->input_root)) {
    free(r->input_root);
    r->input_root = NULL;
    return MHRFIT_FAIL(err, MHRFIT_ERR_IO, "%s: input folder not found", o->input_dir);
  }
  const char *sam = o->sam_dir && *o->sam_dir ? o->sam_dir : o->input_dir;
  r->sam_root = realpath(sam, NULL);
  if (!r->sam_root || !mf_is_dir(r->sam_root)) {
    request_free(r);
    return MHRFIT_FAIL(err, MHRFIT_ERR_IO, "%s: SAM output folder not found", sam);
  }
  r->out_root = realpath(o->out_dir, NULL);
  if (!r->out_root && !(r->out_root = mf_strdup(o->out_dir, err))) {
    request_free(r);
    return false;
  }
  if (strcmp(r->out_root, r->input_root) == 0 || strcmp(r->out_root, r->sam_root) == 0) {
    request_free(r);
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "%s: the output folder must not be the input or SAM output folder",
                       o->out_dir);
  }
  if (!check_out_outside_frames(r, r->input_root, o->input_dir, err) ||
      (strcmp(r->sam_root, r->input_root) != 0 && !check_out_outside_frames(r, r->sam_root, sam, err))) {
    request_free(r);
    return false;
  }
  if (o->frames) {
    for (size_t i = 0; i < o->n_frames; i++) {
      if (!valid_name(o->frames[i])) {
        request_free(r);
        return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "invalid frame name '%s'", o->frames[i] ? o->frames[i] : "(null)");
      }
      if (!names_push(&r->frames, o->frames[i], err)) {
        request_free(r);
        return false;
      }
    }
  } else if (!add_frame_dirs(r, r->input_root, err) ||
             (strcmp(r->sam_root, r->input_root) != 0 && !add_frame_dirs(r, r->sam_root, err))) {
    request_free(r);
    return false;
  }
  if (r->frames.count > 1) qsort(r->frames.items, r->frames.count, sizeof *r->frames.items, cmp_natural);
  size_t k = 0; /* a name listed twice, or a frame in both the input and the SAM folder, is one frame */
  for (size_t i = 0; i < r->frames.count; i++) {
    if (k && strcmp(r->frames.items[k - 1], r->frames.items[i]) == 0) free(r->frames.items[i]);
    else r->frames.items[k++] = r->frames.items[i];
  }
  r->frames.count = k;
  r->s.tool_version = MHRFIT_VERSION_STRING;
  r->s.input_root = r->input_root;
  r->s.sam_root = r->sam_root;
  r->s.cams = o->cams;
  r->s.cam_files = r->stems;
  r->s.n_cams = o->n_cams;
  r->s.strategy = o->strategy;
  r->s.person_index = o->person_index;
  r->s.estimator = o->estimator;
  r->s.estimator_worker = o->estimator_worker;
  r->s.cam_intrinsics = o->cam_intrinsics;
  r->s.model_ids = o->model_ids;
  r->s.n_model_ids = o->n_model_ids;
  return true;
}

/* ---- the files of one view ---------------------------------------------------------------- */

enum { SRC_NONE = 0, SRC_INPUT, SRC_ESTIMATOR };

typedef struct view_files {
  char *image, *image_rel;   /* <input>/<frame>/<cam>.<ext> */
  char *source, *source_rel; /* the SAM output used */
  int source_kind;
  char *raw, *raw_rel;       /* <out>/sam3d/<frame>/<cam>.npz (estimator output) */
  char *out, *out_rel;       /* <out>/stage1/<frame>/<cam>.npz */
  mf_file_id image_id, source_id, out_id;
} view_files;

static void view_files_free(view_files *v) {
  free(v->image);
  free(v->image_rel);
  free(v->source);
  free(v->source_rel);
  free(v->raw);
  free(v->raw_rel);
  free(v->out);
  free(v->out_rel);
  memset(v, 0, sizeof *v);
}

/* The listings of a frame's folders <input>/<frame> and <sam_dir>/<frame> (one listing when
 * they are the same folder): the files of its views are looked up there instead of probed one
 * candidate name (16 image extensions, 2 SAM outputs) at a time. */
typedef struct frame_dirs {
  mf_entries input, sam_own;
  const mf_entries *sam;
} frame_dirs;

static bool frame_dirs_list(const request *r, const char *frame, frame_dirs *fd, mhrfit_error *err) {
  memset(fd, 0, sizeof *fd);
  fd->sam = &fd->input;
  char *p = mf_strdup_printf(err, "%s/%s", r->input_root, frame);
  bool ok = p && mf_list_entries(p, true, &fd->input, err);
  free(p);
  if (ok && strcmp(r->sam_root, r->input_root) != 0) {
    p = mf_strdup_printf(err, "%s/%s", r->sam_root, frame);
    ok = p && mf_list_entries(p, true, &fd->sam_own, err);
    free(p);
    fd->sam = &fd->sam_own;
  }
  if (!ok) {
    mf_entries_free(&fd->input);
    mf_entries_free(&fd->sam_own);
  }
  return ok;
}

static void frame_dirs_free(frame_dirs *fd) {
  mf_entries_free(&fd->input);
  mf_entries_free(&fd->sam_own);
}

/* The frame folder is in the input or the SAM output folder. */
static bool frame_dirs_exist(const frame_dirs *fd) { return fd->input.exists || fd->sam->exists; }

/* The file stem of camera `cam` in the input (its name unless options.cam_files says otherwise). */
static const char *stem_of(const request *r, const char *cam) {
  for (size_t c = 0; c < r->o->n_cams; c++)
    if (strcmp(r->o->cams[c], cam) == 0) return r->stems[c];
  return cam;
}


/* Adds to r->others the SAM 3D Body outputs (`<name>.npz`, `<name>.npy`) of a frame's listing
 * that belong to no requested camera (each name once; at most 64 names). */
static bool note_others(request *r, const mf_entries *e, mhrfit_error *err) {
  for (size_t i = 0; i < e->count && r->others.count < 64; i++) {
    const char *name = e->items[i].name;
    size_t l = strlen(name);
    if (e->items[i].type == MF_ENTRY_DIR || l <= 4 || (strcmp(name + l - 4, ".npz") && strcmp(name + l - 4, ".npy")))
      continue;
    bool known = false;
    for (size_t c = 0; c < r->o->n_cams && !known; c++)
      known = strlen(r->stems[c]) == l - 4 && strncmp(r->stems[c], name, l - 4) == 0;
    for (size_t j = 0; j < r->others.count && !known; j++) known = strcmp(r->others.items[j], name) == 0;
    if (!known && !names_push(&r->others, name, err)) return false;
  }
  return true;
}

/* Keeps the listed folders that hold a file of a requested camera (an image or a SAM output) as
 * frames, the others in r->ignored; counts the frames of each camera; notes the SAM outputs of
 * other cameras in the frames (r->others). */
static bool keep_camera_frames(request *r, mhrfit_error *err) {
  if (!(r->cam_frames = mf_calloc_array(r->o->n_cams, sizeof *r->cam_frames, err))) return false;
  size_t k = 0;
  for (size_t i = 0; i < r->frames.count; i++) {
    frame_dirs fd;
    if (!frame_dirs_list(r, r->frames.items[i], &fd, err)) {
      for (size_t j = i; j < r->frames.count; j++) free(r->frames.items[j]);
      r->frames.count = k;
      return false;
    }
    bool any = false;
    for (size_t c = 0; c < r->o->n_cams; c++) {
      bool has = listed_file(fd.sam, r->stems[c], ".npz") || listed_file(fd.sam, r->stems[c], ".npy");
      for (size_t e = 0; e < sizeof image_exts / sizeof image_exts[0] && !has; e++)
        has = listed_file(&fd.input, r->stems[c], image_exts[e]);
      r->cam_frames[c] += has;
      any = any || has;
    }
    bool noted = !any || note_others(r, fd.sam, err);
    frame_dirs_free(&fd);
    if (!noted) {
      for (size_t j = i; j < r->frames.count; j++) free(r->frames.items[j]);
      r->frames.count = k;
      return false;
    }
    char *name = r->frames.items[i];
    if (any) {
      r->frames.items[k++] = name;
      continue;
    }
    bool ok = names_push(&r->ignored, name, err);
    free(name);
    if (!ok) {
      for (size_t j = i + 1; j < r->frames.count; j++) free(r->frames.items[j]);
      r->frames.count = k;
      return false;
    }
  }
  r->frames.count = k;
  if (k) return true;
  /* nothing: say where files were looked for, and what the folders look like */
  char cams[256] = "", hint[640] = "";
  size_t n = 0;
  for (size_t c = 0; c < r->o->n_cams && n < sizeof cams; c++)
    n += (size_t)snprintf(cams + n, sizeof cams - n, "%s%s", c ? ", " : "", r->stems[c]);
  for (size_t i = 0; i < r->ignored.count && !hint[0]; i++)
    for (size_t c = 0; c < r->o->n_cams && !hint[0]; c++)
      if (strcmp(r->ignored.items[i], r->stems[c]) == 0)
        snprintf(hint, sizeof hint,
                 "; the folder '%s' is named like a camera: files laid out as <cam>/<frame> must be arranged as "
                 "<frame>/<cam>.<ext> (one folder per frame)",
                 r->ignored.items[i]);
  mf_entries top;
  if (!hint[0] && mf_list_entries(r->sam_root, true, &top, NULL)) {
    for (size_t c = 0; c < r->o->n_cams && !hint[0]; c++)
      if (listed_file(&top, r->stems[c], ".npz") || listed_file(&top, r->stems[c], ".npy"))
        snprintf(hint, sizeof hint, "; %s holds camera files itself: it is one frame, pass the folder above it",
                 r->sam_root);
    mf_entries_free(&top);
  }
  bool two = strcmp(r->sam_root, r->input_root) != 0;
  return MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND,
                     "%s: no frame folder holds a file of the cameras %s: looked for <frame>/<cam>.npz|.npy%s%s and "
                     "images <frame>/<cam>.jpg|.png|... in %zu folder(s)%s",
                     r->input_root, cams, two ? " in " : "", two ? r->sam_root : "", r->ignored.count, hint);
}

/* request_init(), then the frame folders kept by keep_camera_frames() when no frame list is given. */
static bool request_open(request *r, const mhrfit_ingest_options *o, mhrfit_error *err) {
  if (!request_init(r, o, err)) return false;
  if (!o->frames && !keep_camera_frames(r, err)) {
    request_free(r);
    return false;
  }
  return true;
}

/* Logs the folders that are not frames, once per request. */
static void log_ignored(const request *r) {
  if (!r->ignored.count) return;
  char list[1024];
  size_t n = 0;
  for (size_t i = 0; i < r->ignored.count && n < sizeof list - 64; i++)
    n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "", r->ignored.items[i]);
  if (n >= sizeof list - 64) snprintf(list + n, sizeof list - n, ", ...");
  logf_(r->o, MHRFIT_INGEST_INFO, "%zu folder(s) of %s are not frames (no file of a requested camera): %s",
        r->ignored.count, r->input_root, list);
}

/* Finds the image, the SAM output and the stage-1 path of a view and, when `ids`, their
 * identities (size, mtime, hash). */
static bool resolve_view(const request *r, const frame_dirs *fd, const char *frame, const char *cam, bool ids,
                         view_files *v, mhrfit_error *err) {
  memset(v, 0, sizeof *v);
  const char *stem = stem_of(r, cam);
  for (size_t i = 0; i < sizeof image_exts / sizeof image_exts[0] && !v->image; i++) {
    if (!listed_file(&fd->input, stem, image_exts[i])) continue;
    if (!(v->image = mf_strdup_printf(err, "%s/%s/%s%s", r->input_root, frame, stem, image_exts[i])) ||
        !(v->image_rel = mf_strdup_printf(err, "%s/%s%s", frame, stem, image_exts[i])))
      goto fail;
  }
  for (size_t i = 0; i < 2 && !v->source; i++) {
    if (!listed_file(fd->sam, stem, source_exts[i])) continue;
    v->source_kind = SRC_INPUT;
    if (!(v->source = mf_strdup_printf(err, "%s/%s/%s%s", r->sam_root, frame, stem, source_exts[i])) ||
        !(v->source_rel = mf_strdup_printf(err, "%s/%s%s", frame, stem, source_exts[i])))
      goto fail;
  }
  if (!(v->raw = mf_strdup_printf(err, "%s/sam3d/%s/%s.npz", r->out_root, frame, cam)) ||
      !(v->raw_rel = mf_strdup_printf(err, "sam3d/%s/%s.npz", frame, cam)) ||
      !(v->out = mf_strdup_printf(err, "%s/stage1/%s/%s.npz", r->out_root, frame, cam)) ||
      !(v->out_rel = mf_strdup_printf(err, "stage1/%s/%s.npz", frame, cam)))
    goto fail;
  if (!v->source && has_estimator(r->o) && mf_is_file(v->raw)) {
    if (!(v->source = mf_strdup(v->raw, err)) || !(v->source_rel = mf_strdup(v->raw_rel, err))) goto fail;
    v->source_kind = SRC_ESTIMATOR;
  }
  if (ids) {
    if (v->image && !mf_file_identity(v->image, &v->image_id, err)) goto fail;
    if (v->source && !mf_file_identity(v->source, &v->source_id, err)) goto fail;
    if (!mf_file_identity(v->out, &v->out_id, err)) goto fail;
  }
  return true;
fail:
  view_files_free(v);
  return false;
}

/* ---- the cache check ---------------------------------------------------------------------- */

/* Reads <out>/stage1_meta.json into `m` (m->head NULL when absent or unreadable) and compares its
 * settings with the request. */
static void load_meta(const request *r, mf_ingest_meta *m, mhrfit_ingest_reason *why, char *detail, size_t size) {
  memset(m, 0, sizeof *m);
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", r->out_root, META_NAME);
  if (!mf_is_file(path)) {
    *why = MHRFIT_INGEST_NO_META;
    snprintf(detail, size, "no %s in %s", META_NAME, r->out_root);
    return;
  }
  mhrfit_error e = {0};
  unsigned char *text = NULL;
  size_t len = 0;
  if (!mf_read_file(path, META_MAX_BYTES, &text, &len, &e) || !mf_ingest_meta_scan(m, (char *)text, len, path, &e)) {
    free(text);
    *why = MHRFIT_INGEST_META_INVALID;
    snprintf(detail, size, "%s", e.message);
    return;
  }
  *why = mf_ingest_meta_compare(m->head, &r->s, detail, size);
}

/* Decides the fate of one frame under matching settings. */
static mhrfit_ingest_reason check_frame(const request *r, const mhrfit_value *rec, const char *frame, char *detail,
                                        size_t size, mhrfit_error *err, bool *fatal) {
  *fatal = false;
  if (!rec || rec->kind != MHRFIT_V_DICT) {
    snprintf(detail, size, "not ingested by the previous run (frame subset changed or new frame)");
    return MHRFIT_INGEST_FRAME_SUBSET;
  }
  const mhrfit_value *st = mhrfit_value_dict_get(rec, "status");
  if (!st || st->kind != MHRFIT_V_STRING || strcmp(st->u.str.data, "ok") != 0) {
    const mhrfit_value *e = mhrfit_value_dict_get(rec, "error");
    snprintf(detail, size, "failed last time%s%s", e && e->kind == MHRFIT_V_STRING ? ": " : "",
             e && e->kind == MHRFIT_V_STRING ? e->u.str.data : "");
    return MHRFIT_INGEST_PREVIOUS_FAILURE;
  }
  const mhrfit_value *views = mhrfit_value_dict_get(rec, "views");
  frame_dirs fd;
  if (!frame_dirs_list(r, frame, &fd, err)) {
    *fatal = true;
    return MHRFIT_INGEST_META_INVALID;
  }
  for (size_t c = 0; c < r->o->n_cams; c++) {
    const char *cam = r->o->cams[c];
    view_files v;
    if (!resolve_view(r, &fd, frame, cam, true, &v, err)) {
      frame_dirs_free(&fd);
      *fatal = true;
      return MHRFIT_INGEST_META_INVALID;
    }
    mhrfit_ingest_reason why =
        mf_ingest_view_compare(mhrfit_value_dict_get(views, cam), cam, v.image_rel, &v.image_id, v.source_rel,
                               &v.source_id, v.out_rel, &v.out_id, detail, size);
    view_files_free(&v);
    if (why != MHRFIT_INGEST_REUSE) {
      frame_dirs_free(&fd);
      return why;
    }
  }
  frame_dirs_free(&fd);
  snprintf(detail, size, "up to date");
  return MHRFIT_INGEST_REUSE;
}

/* The check of every frame, spread over threads (it reads and hashes every input file). */
typedef struct check_job {
  const request *r;
  const mf_ingest_meta *meta;
  mhrfit_ingest_plan *p;
  bool *fatal;
  mhrfit_error *errs;
} check_job;

static void check_task(void *ctx, size_t i, size_t t) {
  (void)t;
  check_job *c = ctx;
  mhrfit_ingest_frame_plan *f = &c->p->frames[i];
  char fd[DETAIL_MAX];
  mhrfit_value *rec = mf_ingest_meta_record(c->meta, f->frame);
  f->reason = check_frame(c->r, rec, f->frame, fd, sizeof fd, &c->errs[i], &c->fatal[i]);
  mhrfit_value_free(rec);
  if (!c->fatal[i] && !(f->detail = mf_strdup(fd, &c->errs[i]))) c->fatal[i] = true;
}

/* The plan, plus the meta read for the run (meta->head NULL when absent or unreadable; freed by
 * the caller, also on failure). */
static mhrfit_ingest_plan *make_plan(const request *r, mf_pool *pool, mf_ingest_meta *meta, mhrfit_error *err) {
  mhrfit_ingest_plan *p = calloc(1, sizeof *p);
  if (!p) {
    memset(meta, 0, sizeof *meta);
    MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
    return NULL;
  }
  char detail[DETAIL_MAX];
  bool *fatal = NULL;
  mhrfit_error *errs = NULL;
  load_meta(r, meta, &p->global, detail, sizeof detail);
  if (r->o->force && p->global == MHRFIT_INGEST_REUSE) {
    p->global = MHRFIT_INGEST_FORCED;
    snprintf(detail, sizeof detail, "re-ingest forced");
  }
  if (p->global == MHRFIT_INGEST_REUSE) snprintf(detail, sizeof detail, "settings unchanged");
  if (!(p->global_detail = mf_strdup(detail, err))) goto fail;
  size_t n = r->frames.count;
  p->frames = mf_calloc_array(n ? n : 1, sizeof *p->frames, err);
  if (!p->frames) goto fail;
  for (size_t i = 0; i < n; i++) {
    p->n_frames = i + 1;
    if (!(p->frames[i].frame = mf_strdup(r->frames.items[i], err))) goto fail;
    p->frames[i].reason = p->global;
    if (p->global != MHRFIT_INGEST_REUSE && !(p->frames[i].detail = mf_strdup(detail, err))) goto fail;
  }
  if (p->global == MHRFIT_INGEST_REUSE) {
    fatal = mf_calloc_array(n ? n : 1, sizeof *fatal, err);
    errs = fatal ? mf_calloc_array(n ? n : 1, sizeof *errs, err) : NULL;
    if (!errs) goto fail;
    check_job c = {r, meta, p, fatal, errs};
    mf_pool_for(pool, n, check_task, &c);
    for (size_t i = 0; i < n; i++)
      if (fatal[i]) {
        if (err) *err = errs[i];
        goto fail;
      }
  }
  for (size_t i = 0; i < n; i++) p->n_redo += p->frames[i].reason != MHRFIT_INGEST_REUSE;
  free(fatal);
  free(errs);
  return p;
fail:
  free(fatal);
  free(errs);
  mhrfit_ingest_plan_free(p);
  return NULL;
}

mhrfit_ingest_plan *mhrfit_ingest_check(const mhrfit_ingest_options *o, mhrfit_error *err) {
  request r;
  if (!o) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "no options");
    return NULL;
  }
  if (!request_open(&r, o, err)) return NULL;
  mf_ingest_meta meta = {0};
  size_t threads = o->jobs ? o->jobs : mf_cpu_count();
  mf_pool *pool = threads > 1 ? mf_pool_new(threads, err) : NULL;
  mhrfit_ingest_plan *p = threads == 1 || pool ? make_plan(&r, pool, &meta, err) : NULL;
  mf_ingest_meta_free(&meta);
  mf_pool_free(pool);
  request_free(&r);
  return p;
}

bool mhrfit_ingest_find_frames(const mhrfit_ingest_options *o, mhrfit_ingest_frames *out, mhrfit_error *err) {
  memset(out, 0, sizeof *out);
  if (!o) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "no options");
  mhrfit_ingest_options all = *o;
  all.frames = NULL;
  all.n_frames = 0;
  request r;
  if (!request_open(&r, &all, err)) return false;
  out->names = r.frames.items;
  out->n_names = r.frames.count;
  out->ignored = r.ignored.items;
  out->n_ignored = r.ignored.count;
  out->others = r.others.items;
  out->n_others = r.others.count;
  out->cam_frames = r.cam_frames;
  r.frames = (mf_names){0};
  r.ignored = (mf_names){0};
  r.others = (mf_names){0};
  r.cam_frames = NULL;
  request_free(&r);
  return true;
}

void mhrfit_ingest_frames_free(mhrfit_ingest_frames *f) {
  if (!f) return;
  mf_names n = {f->names, f->n_names}, i = {f->ignored, f->n_ignored}, x = {f->others, f->n_others};
  mf_names_free(&n);
  mf_names_free(&i);
  mf_names_free(&x);
  free(f->cam_frames);
  memset(f, 0, sizeof *f);
}

void mhrfit_ingest_plan_free(mhrfit_ingest_plan *p) {
  if (!p) return;
  for (size_t i = 0; i < p->n_frames; i++) {
    free(p->frames[i].frame);
    free(p->frames[i].detail);
  }
  free(p->frames);
  free(p->global_detail);
  free(p);
}

/* ---- the estimator ------------------------------------------------------------------------ */

/* Appends s shell-quoted ('...' with ' written as '\'') to the growing buffer. */
static bool append(char **buf, size_t *len, size_t *cap, const char *s, size_t n, mhrfit_error *err) {
  if (!mf_grow((void **)buf, cap, *len + n + 1, 1, err)) return false;
  memcpy(*buf + *len, s, n);
  *len += n;
  (*buf)[*len] = '\0';
  return true;
}

static bool append_quoted(char **buf, size_t *len, size_t *cap, const char *s, mhrfit_error *err) {
  if (!append(buf, len, cap, "'", 1, err)) return false;
  for (const char *p = s; *p; p++)
    if (!(*p == '\'' ? append(buf, len, cap, "'\\''", 4, err) : append(buf, len, cap, p, 1, err))) return false;
  return append(buf, len, cap, "'", 1, err);
}

static char *build_command(const char *tmpl, const char *image, const char *output, const char *frame,
                           const char *cam, mhrfit_error *err) {
  static const char *const keys[4] = {"{image}", "{output}", "{frame}", "{cam}"};
  const char *vals[4] = {image, output, frame, cam};
  char *buf = NULL;
  size_t len = 0, cap = 0;
  if (!append(&buf, &len, &cap, "", 0, err)) return NULL;
  for (const char *p = tmpl; *p;) {
    int k = -1;
    for (int i = 0; i < 4 && k < 0; i++)
      if (strncmp(p, keys[i], strlen(keys[i])) == 0) k = i;
    bool ok = k >= 0 ? append_quoted(&buf, &len, &cap, vals[k], err) : append(&buf, &len, &cap, p, 1, err);
    if (!ok) {
      free(buf);
      return NULL;
    }
    p += k >= 0 ? strlen(keys[k]) : 1;
  }
  return buf;
}

/* How the estimator command has fared in this run, shared by the frame threads. A command that
 * cannot be run at all (exit status 126 or 127: the shell found no such program, or could not
 * execute it), or that fails its first two images the same way (status and last words, e.g. a
 * Python import error) before any success, is broken: the views left are not tried, their
 * failures are not logged one by one, and the run stops with the cause (`cause`). */
typedef struct est_state {
  pthread_mutex_t mu;
  size_t successes;
  size_t failures;           /* before the first success */
  char first[1200];          /* the first failure's signature (how it ended, its last words) */
  char first_view[160];      /* and its view */
  bool broken;
  char cause[2048];
} est_state;

typedef enum { EST_OK, EST_FAILED, EST_UNPROVEN, EST_SKIPPED } est_result;

/* Records the outcome of one run (sig: how it failed, NULL = success); returns how the view's
 * failure is to be told. */
static est_result est_record(const request *r, const char *frame, const char *cam, const char *sig, int code,
                             const char *said) {
  est_state *e = r->est;
  pthread_mutex_lock(&e->mu);
  est_result res = EST_FAILED;
  if (!sig) {
    e->successes++;
    res = EST_OK;
  } else if (e->successes == 0) {
    res = EST_UNPROVEN;
    char key[sizeof e->first], view[160];
    snprintf(key, sizeof key, "%s\n%s", sig, said);
    snprintf(view, sizeof view, "frame '%.60s' camera '%.60s'", frame, cam);
    bool cannot_run = code == 126 || code == 127;
    if (!e->broken && (cannot_run || (e->failures > 0 && strcmp(e->first, key) == 0))) {
      e->broken = true;
      if (cannot_run)
        snprintf(e->cause, sizeof e->cause, "the estimator command cannot be run (%s on %s: %s); its output: %.500s",
                 sig, view, code == 127 ? "the shell found no such program" : "the shell could not execute it",
                 *said ? said : "(nothing)");
      else
        snprintf(e->cause, sizeof e->cause, "the estimator command failed on its first images, the same way, before "
                 "any success (%s on %s and %s); the end of its output: %.500s", sig, e->first_view, view,
                 *said ? said : "(nothing)");
    }
    if (e->failures++ == 0) {
      memcpy(e->first, key, sizeof key);
      snprintf(e->first_view, sizeof e->first_view, "%s", view);
    }
  }
  pthread_mutex_unlock(&e->mu);
  return res;
}

static bool est_broken(const request *r) {
  pthread_mutex_lock(&r->est->mu);
  bool b = r->est->broken;
  pthread_mutex_unlock(&r->est->mu);
  return b;
}

/* Runs the estimator for one image into v->raw (its output copied to our stderr, its last lines
 * kept). On failure writes the reason to msg. */
static est_result run_estimator(const request *r, const char *frame, const char *cam, view_files *v, char *msg,
                                size_t size) {
  if (est_broken(r)) {
    snprintf(msg, size, "not estimated: the estimator command failed on its first images (the run's error says why)");
    return EST_SKIPPED;
  }
  mhrfit_error e = {0};
  char *dir = mf_strdup_printf(&e, "%s/sam3d/%s", r->out_root, frame);
  char *tmp = mf_strdup_printf(&e, "%s/sam3d/%s/%s.partial.npz", r->out_root, frame, cam);
  char *cmd = NULL;
  est_result res = EST_FAILED;
  if (!dir || !tmp || !mf_make_dirs(dir, &e) || !(cmd = build_command(r->o->estimator, v->image, tmp, frame, cam, &e))) {
    snprintf(msg, size, "cannot prepare the estimator run: %.900s", e.message);
    goto done;
  }
  unlink(tmp);
  logf_(r->o, MHRFIT_INGEST_INFO, "frame '%s' camera '%s': running the estimator on %s", frame, cam, v->image_rel);
  mf_tail *tail = malloc(sizeof(mf_tail));
  int status = 0;
  if (!tail) {
    snprintf(msg, size, "out of memory");
    goto done;
  }
  tail->len = 0;
  if (!mf_tail_run(cmd, tail, &status)) {
    snprintf(msg, size, "cannot run the estimator: %s", strerror(errno));
    free(tail);
    goto done;
  }
  char said[1024], sig[128] = "";
  mf_tail_lines(tail, 3, said, sizeof said);
  free(tail);
  int code = -1;
  if (WIFSIGNALED(status)) {
    snprintf(sig, sizeof sig, "killed by signal %d", WTERMSIG(status));
  } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    snprintf(sig, sizeof sig, "exit status %d", code);
  } else if (!mf_is_file(tmp)) {
    snprintf(sig, sizeof sig, "exit status 0 without writing its output");
  }
  if (*sig) {
    if (WIFSIGNALED(status) || code != -1)
      snprintf(msg, size, "estimator %s %s: %.300s%s%.400s", code != -1 ? "failed with" : "was", sig, cmd,
               *said ? "; the end of its output: " : "", said);
    else
      snprintf(msg, size, "estimator exited with status 0 but wrote no file at %.300s: %.300s%s%.300s", tmp, cmd,
               *said ? "; the end of its output: " : "", said);
    res = est_record(r, frame, cam, sig, code, said);
  } else if (rename(tmp, v->raw) != 0) {
    snprintf(msg, size, "%s: cannot move the estimator output into place: %s", v->raw, strerror(errno));
  } else {
    res = est_record(r, frame, cam, NULL, 0, "");
  }
done:
  if (res != EST_OK && tmp) unlink(tmp);
  free(dir);
  free(tmp);
  free(cmd);
  return res;
}

/* ---- ingesting one frame ------------------------------------------------------------------ */

static bool dset(mhrfit_value *d, const char *key, mhrfit_value *v, mhrfit_error *err) {
  return v && mhrfit_value_dict_set(d, key, v, err);
}

static mhrfit_value *str_value(const char *s, mhrfit_error *err) {
  return s ? mhrfit_value_new_string(MHRFIT_V_STRING, s, strlen(s), err) : mhrfit_value_new_null(err);
}

static mhrfit_value *str_list(const char *const *s, size_t n, mhrfit_error *err) {
  mhrfit_value *l = mhrfit_value_new_list(err);
  for (size_t i = 0; l && i < n; i++)
    if (!mhrfit_value_list_append(l, str_value(s[i], err), err)) {
      mhrfit_value_free(l);
      return NULL;
    }
  return l;
}

/* True when the recorded view `rec` says the raw estimator output of `v` was made for the same
 * image and is unchanged (the caller checks that the settings are the same). */
static bool raw_reusable(const mhrfit_value *rec, const view_files *v) {
  const mhrfit_value *kind = mhrfit_value_dict_get(rec, "source_kind");
  if (!kind || kind->kind != MHRFIT_V_STRING || strcmp(kind->u.str.data, "estimator") != 0) return false;
  char d[DETAIL_MAX];
  mf_file_id none = {0};
  mhrfit_ingest_reason why = mf_ingest_view_compare(rec, "", v->image_rel, &v->image_id, v->source_rel,
                                                    &v->source_id, v->out_rel, &none, d, sizeof d);
  return why == MHRFIT_INGEST_REUSE || why == MHRFIT_INGEST_OUTPUT_MISSING;
}

/* V_NOT_RUN: failed, and not logged (the estimator failed to start: the run stops with why) */
typedef enum { V_OK, V_MISSING, V_NO_PERSON, V_FAILED, V_TIMEOUT, V_NOT_RUN } view_status;
static const char *const status_names[] = {"ok", "missing", "no_person", "failed", "timeout", "failed"};

/* Whether the estimator must make the SAM output of `v` (image and SAM output identities
 * filled): there is an image, and no SAM output beside it, or only an estimator output that
 * cannot be reused. */
static bool decide_run(const request *r, const view_files *v, const mhrfit_value *old_view, bool raw_ok) {
  if (!v->image) return false;
  if (v->source_kind == SRC_ESTIMATOR) return !(raw_ok && old_view && raw_reusable(old_view, v));
  return v->source_kind == SRC_NONE && has_estimator(r->o);
}

/* ---- worker requests ---------------------------------------------------------------------- */

/* The worker requests of a chunk: one per view whose SAM output must be made. */
typedef struct job_table {
  mf_worker_job *jobs;
  char **strings; /* 5 owned strings per job: image, output (temporary), frame, cam, raw (final) */
  size_t count, cap, scap;
} job_table;

static void job_table_clear(job_table *t) {
  for (size_t i = 0; i < 5 * t->count; i++) free(t->strings[i]);
  t->count = 0;
}

static void job_table_free(job_table *t) {
  job_table_clear(t);
  free(t->jobs);
  free(t->strings);
  memset(t, 0, sizeof *t);
}

/* Adds a request for view (frame, cam) whose output folder `dir` exists; stale files are removed. */
static bool job_add(job_table *t, const request *r, const view_files *v, const char *frame, const char *dir, size_t cam,
                    mhrfit_error *err) {
  if (!mf_grow((void **)&t->jobs, &t->cap, t->count + 1, sizeof *t->jobs, err) ||
      !mf_grow((void **)&t->strings, &t->scap, 5 * (t->count + 1), sizeof *t->strings, err))
    return false;
  char **s = t->strings + 5 * t->count;
  memset(s, 0, 5 * sizeof *s);
  bool ok =
      (s[0] = mf_strdup(v->image, err)) && (s[1] = mf_strdup_printf(err, "%s/%s.partial.npz", dir, r->o->cams[cam])) &&
      (s[2] = mf_strdup(frame, err)) && (s[3] = mf_strdup(r->o->cams[cam], err)) && (s[4] = mf_strdup(v->raw, err));
  if (!ok) {
    for (int k = 0; k < 5; k++) free(s[k]);
    return false;
  }
  unlink(s[1]);
  unlink(s[4]);
  mf_worker_job *j = &t->jobs[t->count++];
  memset(j, 0, sizeof *j);
  j->image = s[0];
  j->output = s[1];
  j->frame = s[2];
  j->cam = s[3];
  const double *k = r->o->cam_intrinsics ? r->o->cam_intrinsics + 9 * cam : NULL;
  for (int i = 0; k && i < 9; i++)
    if (!isfinite(k[i])) k = NULL;
  j->cam_int = k;
  return true;
}

/* Phase A of a chunk: the requests of one frame (the same decision ingest_view() makes). */
static bool collect_jobs(const request *r, const char *frame, const mhrfit_value *old_rec, bool raw_ok, job_table *t,
                         mhrfit_error *err) {
  frame_dirs fd;
  mhrfit_error le = {0};
  if (!frame_dirs_list(r, frame, &fd, &le)) { /* the frame fails later with this error */
    if (le.type == MHRFIT_ERR_NOMEM) return MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
    return true;
  }
  const mhrfit_value *old_views = mhrfit_value_dict_get(old_rec, "views");
  bool ok = true;
  char *dir = NULL; /* <out>/sam3d/<frame>, made for the first request of the frame */
  for (size_t c = 0; c < r->o->n_cams && ok; c++) {
    view_files v;
    mhrfit_error e = {0};
    if (!resolve_view(r, &fd, frame, r->o->cams[c], true, &v, &e)) continue; /* reported by ingest_view() */
    if (decide_run(r, &v, mhrfit_value_dict_get(old_views, r->o->cams[c]), raw_ok)) {
      if (!dir && (!(dir = mf_strdup_printf(err, "%s/sam3d/%s", r->out_root, frame)) || !mf_make_dirs(dir, err)))
        ok = false;
      ok = ok && job_add(t, r, &v, frame, dir, c, err);
    }
    view_files_free(&v);
  }
  free(dir);
  frame_dirs_free(&fd);
  return ok;
}

/* Phase C: the result of the request of view (frame, cam), its output moved into v->raw.
 * Returns V_OK, or V_FAILED / V_TIMEOUT with the reason in msg (V_NOT_RUN: the pool gave up). */
static view_status take_job_result(const request *r, const char *frame, const char *cam, view_files *v, char *msg,
                                   size_t size) {
  const job_table *t = r->jobs;
  const mf_worker_job *j = NULL;
  for (size_t i = 0; t && i < t->count && !j; i++)
    if (strcmp(t->jobs[i].frame, frame) == 0 && strcmp(t->jobs[i].cam, cam) == 0) j = &t->jobs[i];
  if (!j) {
    snprintf(msg, size, "no estimator request was made for %s (its files changed during the run)", v->image_rel);
    return V_FAILED;
  }
  switch (j->status) {
  case MF_JOB_OK:
    if (!mf_is_file(j->output)) {
      snprintf(msg, size, "estimator worker %d replied ok but wrote no file at %s", j->worker, j->output);
      return V_FAILED;
    }
    if (rename(j->output, v->raw) != 0) {
      snprintf(msg, size, "%s: cannot move the estimator output into place: %s", v->raw, strerror(errno));
      return V_FAILED;
    }
    logf_(r->o, MHRFIT_INGEST_INFO, "frame '%s' camera '%s': estimated by worker %d in %.3g s", frame, cam, j->worker,
          j->seconds);
    return V_OK;
  case MF_JOB_TIMEOUT:
    snprintf(msg, size, "%s", j->message);
    unlink(j->output);
    return V_TIMEOUT;
  case MF_JOB_FAILED:
    snprintf(msg, size, "%s", j->message);
    unlink(j->output);
    return V_FAILED;
  default: /* the pool gave up: the run's error says why, once */
    snprintf(msg, size, "not estimated: the estimator workers gave up before this request");
    return V_NOT_RUN;
  }
}

/* Reads a SAM output whole: its bytes (*data, *len; the caller frees them) and its identity,
 * hashed from the same bytes that are then parsed. */
static bool read_source(const char *path, size_t max, unsigned char **data, size_t *len, mf_file_id *id,
                        mhrfit_error *err) {
  struct stat st;
  memset(id, 0, sizeof *id);
  if (mf_read_file_opt(path, max, 0, data, len, &st, err) != MF_READ_OK) return false;
  id->exists = true;
  id->size = (uint64_t)*len;
  id->mtime_sec = (long long)st.st_mtim.tv_sec;
  id->mtime_nsec = (long)st.st_mtim.tv_nsec;
  id->hash = mf_xxh64_buffer(*data, *len);
  return true;
}

/* Ingests one view; returns its record (NULL, err filled, when out of memory or when writing its
 * stage-1 file failed because the output device is full or failing: the run stops there).
 * `*dir_made` tells whether the frame's stage-1 folder was made already (set when this view makes
 * it). */
static mhrfit_value *ingest_view(const request *r, const frame_dirs *fd, const char *frame, const char *cam,
                                 const mhrfit_value *old_view, bool raw_ok, bool *dir_made,
                                 mhrfit_ingest_summary *sum, mhrfit_error *err) {
  view_files v;
  char msg[DETAIL_MAX] = "";
  view_status st = V_FAILED;
  bool unproven = false; /* the estimator failed before any success: the log waits for the verdict */
  mhrfit_person_info info = {0};
  mhrfit_value *doc = NULL, *person = NULL, *rec = NULL;
  unsigned char *src_data = NULL;
  size_t src_len = 0;
  bool fatal = false; /* the output device is full: stop the run */
  const mhrfit_npy_limits lim = {.max_total_bytes = r->o->max_inflated_bytes ? r->o->max_inflated_bytes
                                                                             : MHRFIT_NPY_INPUT_MAX_TOTAL};
  {
    /* identities: the image hashed here, the SAM output from the bytes read for parsing; the
     * stage-1 file's from what is written (its old one is never needed) */
    mhrfit_error e = {0};
    if (!resolve_view(r, fd, frame, cam, false, &v, &e) ||
        (v.image && !mf_file_identity(v.image, &v.image_id, &e)) ||
        (v.source && !read_source(v.source, lim.max_total_bytes, &src_data, &src_len, &v.source_id, &e))) {
      snprintf(msg, sizeof msg, "%s", e.message);
      goto record;
    }
  }
  /* The SAM output: an existing file, a reusable estimator output, or a new estimator run. */
  bool need_run = decide_run(r, &v, old_view, raw_ok);
  if ((v.source_kind == SRC_ESTIMATOR && !v.image) || need_run) {
    /* image gone: its old estimator output is stale; or the estimator runs again */
    free(v.source);
    free(v.source_rel);
    free(src_data);
    src_data = NULL;
    v.source = v.source_rel = NULL;
    v.source_kind = SRC_NONE;
    memset(&v.source_id, 0, sizeof v.source_id);
  }
  if (need_run) {
    sum->estimator_runs++;
    unlink(v.raw);
    if (r->o->estimator_worker) {
      if ((st = take_job_result(r, frame, cam, &v, msg, sizeof msg)) != V_OK) goto record;
      st = V_FAILED;
    } else {
      est_result er = run_estimator(r, frame, cam, &v, msg, sizeof msg);
      if (er == EST_SKIPPED) st = V_NOT_RUN;
      unproven = er == EST_UNPROVEN;
      if (er != EST_OK) goto record;
    }
    mhrfit_error e = {0};
    if (!(v.source = mf_strdup(v.raw, &e)) || !(v.source_rel = mf_strdup(v.raw_rel, &e)) ||
        !read_source(v.source, lim.max_total_bytes, &src_data, &src_len, &v.source_id, &e)) {
      snprintf(msg, sizeof msg, "%s", e.message);
      goto record;
    }
    v.source_kind = SRC_ESTIMATOR;
  }
  if (v.source_kind == SRC_NONE) {
    if (v.image) {
      snprintf(msg, sizeof msg, "image %s has no SAM 3D Body output (%s/%s/%s.npz or .npy) and no estimator was given",
               v.image_rel, r->sam_root, frame, stem_of(r, cam));
    } else {
      st = V_MISSING;
    }
    goto record;
  }
  {
    mhrfit_error e = {0};
    doc = mhrfit_numpy_parse(src_data, src_len, v.source, &lim, &e);
    free(src_data);
    src_data = NULL;
    if (!doc || !mhrfit_ingest_select_person(doc, r->o->strategy, r->o->person_index, &person, &info, &e)) {
      if (doc) mhrfit_error_prefix(&e, "%s", v.source);
      snprintf(msg, sizeof msg, "%s", e.message);
      goto record;
    }
  }
  if (!person) {
    st = V_NO_PERSON;
    goto record;
  }
  if (info.index_clipped)
    logf_(r->o, MHRFIT_INGEST_WARNING, "frame '%s' camera '%s': person_index %ld clipped to %zu (%zu persons in %s)",
          frame, cam, r->o->person_index, info.chosen, info.n_persons, v.source_rel);
  if (info.n_kp_absurd)
    logf_(r->o, MHRFIT_INGEST_WARNING,
          "frame '%s' camera '%s': %s: %zu keypoint(s) of 'pred_keypoints_2d' beyond a million pixels, taken as missing",
          frame, cam, v.source_rel, info.n_kp_absurd);
  if (info.n_kp_valid == 0)
    logf_(r->o, MHRFIT_INGEST_WARNING, "frame '%s' camera '%s': %s: no finite keypoint in 'pred_keypoints_2d'", frame,
          cam, v.source_rel);
  {
    /* the frame's folder is made once; the file is not fsynced: a resumed run checks the size
     * and hash of every stage-1 file against stage1_meta.json and redoes a torn one */
    mhrfit_error e = {0};
    bool ok = true;
    if (!*dir_made) {
      char *dir = mf_strdup_printf(&e, "%s/stage1/%s", r->out_root, frame);
      ok = dir && mf_make_dirs(dir, &e);
      free(dir);
      *dir_made = ok;
    }
    mf_saved_file saved;
    ok = ok && mf_npz_save_dict_ex(v.out, person, r->o->compress, 0, &saved, &e);
    if (ok) {
      v.out_id.exists = true;
      v.out_id.size = (uint64_t)saved.st.st_size;
      v.out_id.mtime_sec = (long long)saved.st.st_mtim.tv_sec;
      v.out_id.mtime_nsec = (long)saved.st.st_mtim.tv_nsec;
      v.out_id.hash = saved.xxh64;
    }
    if (!ok) {
      snprintf(msg, sizeof msg, "%s", e.message);
      if (mhrfit_error_is_device_full(&e)) { /* every later view would fail the same way */
        fatal = true;
        MHRFIT_FAIL_ERRNO(err, e.type, e.sys_errno, "frame '%s' camera '%s': %.900s (stopped at this first write "
                          "failure of the output folder)", frame, cam, e.message);
      }
      goto record;
    }
  }
  st = V_OK;
  sum->views_written++;
record:
  if (st != V_OK && v.out && unlink(v.out) == 0) memset(&v.out_id, 0, sizeof v.out_id);
  if (fatal) {
    sum->views_failed++;
    free(src_data);
    mhrfit_value_free(doc);
    mhrfit_value_free(person);
    view_files_free(&v);
    return NULL;
  }
  if (st == V_FAILED || st == V_NOT_RUN) {
    sum->views_failed++;
    if (st == V_FAILED)
      logf_(r->o, unproven ? LOG_UNLESS_BROKEN : MHRFIT_INGEST_ERROR, "frame '%s' camera '%s': %s", frame, cam, msg);
  } else if (st == V_MISSING) {
    sum->views_missing++;
  } else if (st == V_NO_PERSON) {
    sum->views_no_person++;
  } else if (st == V_TIMEOUT) {
    sum->views_timeout++;
    logf_(r->o, MHRFIT_INGEST_WARNING, "frame '%s' camera '%s': view missing: %s", frame, cam, msg);
  }
  rec = mhrfit_value_new_dict(err);
  bool ok = rec && dset(rec, "status", str_value(status_names[st], err), err) &&
            dset(rec, "error", str_value(st == V_FAILED || st == V_TIMEOUT || st == V_NOT_RUN ? msg : NULL, err), err) &&
            dset(rec, "image", mf_ingest_id_value(v.image_rel, &v.image_id, err), err) &&
            dset(rec, "source", mf_ingest_id_value(v.source_rel, &v.source_id, err), err) &&
            dset(rec, "source_kind",
                 str_value(v.source_kind == SRC_INPUT ? "input" : v.source_kind == SRC_ESTIMATOR ? "estimator" : NULL,
                           err),
                 err) &&
            dset(rec, "output", mf_ingest_id_value(st == V_OK ? v.out_rel : NULL, &v.out_id, err), err) &&
            dset(rec, "n_persons", mhrfit_value_new_int((int64_t)info.n_persons, err), err) &&
            dset(rec, "person",
                 person ? mhrfit_value_new_int((int64_t)info.chosen, err) : mhrfit_value_new_null(err), err) &&
            dset(rec, "index_clipped", mhrfit_value_new_bool(info.index_clipped, err), err) &&
            dset(rec, "bbox_area",
                 person && info.bbox_area >= 0 ? mhrfit_value_new_float(info.bbox_area, err)
                                               : mhrfit_value_new_null(err),
                 err) &&
            dset(rec, "n_keypoints_valid", mhrfit_value_new_int((int64_t)info.n_kp_valid, err), err) &&
            dset(rec, "model_params", mhrfit_value_new_bool(info.has_model_params, err), err);
  if (!ok) {
    mhrfit_value_free(rec);
    rec = NULL;
  }
  free(src_data);
  mhrfit_value_free(doc);
  mhrfit_value_free(person);
  view_files_free(&v);
  return rec;
}

/* Ingests one frame; returns its record and sets *failed. NULL only when out of memory. */
static mhrfit_value *ingest_frame(const request *r, const char *frame, const mhrfit_value *old_rec,
                                  bool raw_ok, mhrfit_ingest_summary *sum, bool *failed, mhrfit_error *err) {
  *failed = false;
  frame_dirs fd;
  memset(&fd, 0, sizeof fd);
  fd.sam = &fd.input;
  mhrfit_value *rec = mhrfit_value_new_dict(err);
  mhrfit_value *views = mhrfit_value_new_dict(err);
  char first_error[DETAIL_MAX] = "";
  if (!rec || !views) goto oom;
  mhrfit_error le = {0};
  if (!frame_dirs_list(r, frame, &fd, &le)) {
    if (le.type == MHRFIT_ERR_NOMEM) {
      if (err) *err = le;
      goto oom;
    }
    *failed = true;
    snprintf(first_error, sizeof first_error, "%s", le.message);
    logf_(r->o, MHRFIT_INGEST_ERROR, "frame '%s': %s", frame, first_error);
  } else if (!frame_dirs_exist(&fd)) {
    *failed = true;
    snprintf(first_error, sizeof first_error, "frame folder '%s' not found in %s", frame, r->input_root);
    logf_(r->o, MHRFIT_INGEST_ERROR, "frame '%s': %s", frame, first_error);
  } else {
    const mhrfit_value *old_views = mhrfit_value_dict_get(old_rec, "views");
    bool dir_made = false;
    for (size_t c = 0; c < r->o->n_cams; c++) {
      const char *cam = r->o->cams[c];
      mhrfit_value *vr =
          ingest_view(r, &fd, frame, cam, mhrfit_value_dict_get(old_views, cam), raw_ok, &dir_made, sum, err);
      if (!vr) goto oom;
      const mhrfit_value *st = mhrfit_value_dict_get(vr, "status");
      if (strcmp(st->u.str.data, "failed") == 0 && !*failed) {
        *failed = true;
        snprintf(first_error, sizeof first_error, "camera '%s': %.900s", cam,
                 mhrfit_value_dict_get(vr, "error")->u.str.data);
      }
      if (!mhrfit_value_dict_set(views, cam, vr, err)) goto oom;
    }
  }
  frame_dirs_free(&fd);
  if (!dset(rec, "status", str_value(*failed ? "failed" : "ok", err), err) ||
      !dset(rec, "error", str_value(*failed ? first_error : NULL, err), err) ||
      !mhrfit_value_dict_set(rec, "views", views, err)) {
    views = NULL;
    goto oom;
  }
  return rec;
oom:
  frame_dirs_free(&fd);
  mhrfit_value_free(views);
  mhrfit_value_free(rec);
  return NULL;
}

/* ---- the meta file ------------------------------------------------------------------------ */

/* The frame records of the meta as their text in the file (mf_ingest_record_text()): a few KB
 * per frame where the document tree would take ten times that. */
typedef struct frame_rec {
  char *frame;
  char *text;
} frame_rec;

typedef struct records {
  frame_rec *items;
  size_t count, cap;
} records;

static void records_free(records *rs) {
  for (size_t i = 0; i < rs->count; i++) {
    free(rs->items[i].frame);
    free(rs->items[i].text);
  }
  free(rs->items);
  memset(rs, 0, sizeof *rs);
}

/* Adds the record text of `frame`, which the list does not hold (the run adds every frame once),
 * taking ownership of `text` (freed on failure). */
static bool records_put(records *rs, const char *frame, char *text, mhrfit_error *err) {
  if (!text) return false;
  char *f = mf_strdup(frame, err);
  if (!f || !mf_grow((void **)&rs->items, &rs->cap, rs->count + 1, sizeof *rs->items, err)) {
    free(f);
    free(text);
    return false;
  }
  rs->items[rs->count].frame = f;
  rs->items[rs->count].text = text;
  rs->count++;
  return true;
}

static int cmp_rec(const void *a, const void *b) {
  return mf_natural_cmp(((const frame_rec *)a)->frame, ((const frame_rec *)b)->frame);
}

/* Writes `s` as a JSON string (quoted, escaped) to f. */
static bool json_string(FILE *f, const char *s, mhrfit_error *err) {
  mhrfit_value *v = str_value(s, err);
  bool ok = v && mhrfit_value_write_json(v, f, 1, err);
  mhrfit_value_free(v);
  return ok;
}

/* stage1_meta.json: the settings, then the frames' records (natural order) from their text: the
 * bytes the document tree would give written with one space of indent per level. */
static bool write_meta(const request *r, records *rs, mhrfit_error *err) {
  if (rs->count > 1) qsort(rs->items, rs->count, sizeof *rs->items, cmp_rec);
  const mhrfit_ingest_options *o = r->o;
  mhrfit_value *m = mhrfit_value_new_dict(err);
  bool ok = m && dset(m, "format", str_value(MF_INGEST_META_FORMAT, err), err) &&
            dset(m, "version", mhrfit_value_new_int(MF_INGEST_META_VERSION, err), err) &&
            dset(m, "tool", str_value("mhrfit", err), err) &&
            dset(m, "tool_version", str_value(r->s.tool_version, err), err) &&
            dset(m, "input_root", str_value(r->input_root, err), err) &&
            dset(m, "sam_root", str_value(r->sam_root, err), err) &&
            dset(m, "cams", str_list(o->cams, o->n_cams, err), err) &&
            dset(m, "cam_files", str_list(r->stems, o->n_cams, err), err) &&
            dset(m, "frames_requested",
                 o->frames ? str_list((const char *const *)r->frames.items, r->frames.count, err)
                           : mhrfit_value_new_null(err),
                 err) &&
            dset(m, "person_select_strategy", str_value(mhrfit_person_strategy_name(o->strategy), err), err) &&
            dset(m, "person_index", mhrfit_value_new_int(o->person_index, err), err) &&
            dset(m, "estimator", str_value(o->estimator, err), err) &&
            dset(m, "estimator_worker", str_value(o->estimator_worker, err), err) &&
            dset(m, "cam_intrinsics", mf_ingest_intrinsics_value(&r->s, err), err) &&
            dset(m, "model_ids", str_list(o->model_ids, o->n_model_ids, err), err) &&
            dset(m, "hash", str_value("xxh64", err), err) && dset(m, "frames", mhrfit_value_new_dict(err), err);
  /* the settings as the tree writer writes them, ending in '"frames": {}\n}' */
  char *head = NULL;
  size_t head_len = 0;
  FILE *mem = ok ? open_memstream(&head, &head_len) : NULL;
  if (ok && !mem) ok = MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
  if (mem) {
    ok = mhrfit_value_write_json(m, mem, 1, err);
    if (fclose(mem) != 0 && ok) ok = MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
  }
  mhrfit_value_free(m);
  static const char tail[] = "{}\n}";
  if (ok && (head_len < sizeof tail - 1 || memcmp(head + head_len - (sizeof tail - 1), tail, sizeof tail - 1) != 0))
    ok = MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: unexpected JSON layout of the settings", META_NAME);
  char *path = ok ? mf_strdup_printf(err, "%s/%s", r->out_root, META_NAME) : NULL;
  mf_atomic_file af;
  if (!path || !mf_atomic_open(&af, path, err)) {
    free(head);
    free(path);
    return false;
  }
  FILE *f = af.f;
  fwrite(head, 1, head_len - (sizeof tail - 1), f);
  fputc('{', f);
  for (size_t i = 0; ok && i < rs->count; i++) {
    fputs(i ? ",\n  " : "\n  ", f);
    ok = json_string(f, rs->items[i].frame, err);
    fputs(": ", f);
    fputs(rs->items[i].text, f);
  }
  fputs(rs->count ? "\n }\n}\n" : "}\n}\n", f);
  free(head);
  if (ok && ferror(f)) {
    int e = errno;
    ok = MHRFIT_FAIL_ERRNO(err, MHRFIT_ERR_IO, e, "%s: write failed: %s", path, strerror(e));
  }
  if (!ok) mf_atomic_abort(&af);
  else ok = mf_atomic_commit(&af, err);
  free(path);
  return ok;
}

/* True when the stored frames_requested equals the current request's. */
static bool same_frames_requested(const request *r, const mhrfit_value *meta) {
  const mhrfit_value *fr = mhrfit_value_dict_get(meta, "frames_requested");
  if (!r->o->frames) return fr && fr->kind == MHRFIT_V_NULL;
  if (!fr || fr->kind != MHRFIT_V_LIST || fr->u.list.count != r->frames.count) return false;
  for (size_t i = 0; i < r->frames.count; i++) {
    const mhrfit_value *it = fr->u.list.items[i];
    if (it->kind != MHRFIT_V_STRING || strcmp(it->u.str.data, r->frames.items[i]) != 0) return false;
  }
  return true;
}

/* ---- the run ------------------------------------------------------------------------------ */

static void pool_log(void *user, int level, const char *message) {
  const request *r = user;
  logf_(r->o, (mhrfit_ingest_log_level)level, "%s", message);
}

static mf_worker_pool *make_pool(const request *r, mhrfit_error *err) {
  mf_worker_pool_options po = {r->o->estimator_worker,
                               r->o->workers,
                               r->o->estimator_timeout,
                               r->o->worker_start_timeout,
                               r->o->worker_max_restarts,
                               pool_log,
                               (void *)r};
  return mf_worker_pool_new(&po, err);
}

/* ---- frames on threads -------------------------------------------------------------------- */

/* One frame ingested on a thread: its record, counts and messages, handed to the caller's thread
 * in frame order. */
typedef struct frame_task {
  size_t index;                /* in the plan */
  mhrfit_ingest_options o;     /* the request's options, messages kept here */
  request r;                   /* the request, with these options */
  char *rec;                   /* the record's text; NULL: out of memory or a fatal write failure (err) */
  bool failed, skipped;        /* a view failed; not run (cancelled) */
  mhrfit_ingest_summary sum;
  mhrfit_error err;
  char **msgs;                 /* "<level><message>" */
  size_t n_msgs, cap_msgs;
} frame_task;

static void task_log(void *user, mhrfit_ingest_log_level level, const char *message) {
  frame_task *t = user;
  char *m = mf_strdup_printf(NULL, "%c%s", '0' + (int)level, message);
  if (m && mf_grow((void **)&t->msgs, &t->cap_msgs, t->n_msgs + 1, sizeof *t->msgs, NULL)) t->msgs[t->n_msgs++] = m;
  else free(m);
}

typedef struct frames_job {
  const request *r;
  const mhrfit_ingest_plan *p;
  const mf_ingest_meta *old;
  bool raw_ok;
  frame_task *tasks;
} frames_job;

static void frame_task_run(void *ctx, size_t i, size_t thread) {
  (void)thread;
  frames_job *j = ctx;
  frame_task *t = &j->tasks[i];
  const mhrfit_ingest_options *o = j->r->o;
  if (o->cancel && *o->cancel) {
    t->skipped = true;
    return;
  }
  t->o = *o;
  t->o.log = o->log ? task_log : NULL;
  t->o.user = t;
  t->r = *j->r;
  t->r.o = &t->o;
  const char *frame = j->p->frames[t->index].frame;
  mhrfit_value *old = mf_ingest_meta_record(j->old, frame);
  mhrfit_value *rec = ingest_frame(&t->r, frame, old, j->raw_ok, &t->sum, &t->failed, &t->err);
  t->rec = rec ? mf_ingest_record_text(rec, &t->err) : NULL;
  mhrfit_value_free(rec);
  mhrfit_value_free(old);
}

static void frame_task_clear(frame_task *t) {
  free(t->rec);
  for (size_t i = 0; i < t->n_msgs; i++) free(t->msgs[i]);
  free(t->msgs);
  memset(t, 0, sizeof *t);
}

static void add_counts(mhrfit_ingest_summary *a, const mhrfit_ingest_summary *b) {
  a->views_written += b->views_written;
  a->views_missing += b->views_missing;
  a->views_no_person += b->views_no_person;
  a->views_failed += b->views_failed;
  a->views_timeout += b->views_timeout;
  a->estimator_runs += b->estimator_runs;
}

bool mhrfit_ingest_run(const mhrfit_ingest_options *o, mhrfit_ingest_summary *summary, mhrfit_error *err) {
  mhrfit_ingest_summary dummy;
  if (!summary) summary = &dummy;
  memset(summary, 0, sizeof *summary);
  if (!o) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "no options");
  if (o->jobs > 1024) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "jobs must be within 0..1024, not %zu", o->jobs);
  request r;
  if (!request_open(&r, o, err)) return false;
  est_state est = {.mu = PTHREAD_MUTEX_INITIALIZER};
  r.est = &est;
  mf_dir_lock *lock = NULL;
  bool unclean = false;
  if (!mf_make_dirs(o->out_dir, err) ||
      (!o->no_lock && !(lock = mf_dir_lock_acquire(o->out_dir, "mhrfit ingest", &unclean, err)))) {
    request_free(&r);
    return false;
  }
  if (unclean) mf_remove_stale_temps(o->out_dir, 2);
  log_ignored(&r);
  mf_ingest_meta meta = {0};
  records rs = {0};
  bool ok = false, gave_up = false;
  job_table jobs = {0};
  mf_worker_pool *pool = NULL;
  mhrfit_error pool_err = {0};
  frame_task *tasks = NULL;
  size_t threads = o->jobs ? o->jobs : mf_cpu_count(), block = threads > 1 ? 4 * threads : 1;
  mf_pool *threads_pool = threads > 1 ? mf_pool_new(threads, err) : NULL;
  mhrfit_ingest_plan *p = NULL;
  if (threads > 1 && !threads_pool) goto done;
  r.jobs = o->estimator_worker ? &jobs : NULL;
  if (!(p = make_plan(&r, threads_pool, &meta, err))) goto done;
  if (!(tasks = mf_calloc_array(block, sizeof *tasks, err))) goto done;
  summary->frames_total = p->n_frames;
  bool settings_same = p->global == MHRFIT_INGEST_REUSE;
  /* Raw estimator outputs survive changes of strategy, cameras or frames, not of the estimator. */
  bool raw_ok = !o->force && mf_ingest_meta_same_estimator(meta.head, &r.s);
  if (!settings_same && meta.head)
    logf_(o, MHRFIT_INGEST_INFO, "re-ingesting all %zu frame(s): %s", p->n_frames, p->global_detail);
  else if (p->global == MHRFIT_INGEST_FORCED || p->global == MHRFIT_INGEST_META_INVALID)
    logf_(o, MHRFIT_INGEST_INFO, "re-ingesting all %zu frame(s): %s", p->n_frames, p->global_detail);
  /* Keep the records of frames that stay valid (reused, or outside this request) when the
   * settings match; with other settings every record is dropped. */
  if (settings_same)
    for (size_t i = 0; i < meta.n_frames; i++) {
      const char *f = meta.names[i];
      const char *const *hit = bsearch(&f, r.frames.items, r.frames.count, sizeof *r.frames.items, cmp_natural);
      if (hit && p->frames[hit - (const char *const *)r.frames.items].reason != MHRFIT_INGEST_REUSE) continue;
      /* a frame outside the request keeps its record when it is one (those of the request were
       * parsed by the check) */
      mhrfit_value *check = hit ? NULL : mf_ingest_meta_record(&meta, f);
      if (!hit && !check) continue;
      mhrfit_value_free(check);
      if (!records_put(&rs, f, mf_strndup(meta.rec[i], meta.rec_len[i], err), err)) goto done;
    }
  bool need_write = p->n_redo > 0 || !settings_same || !same_frames_requested(&r, meta.head);
  double last_write = mf_now_seconds(), meta_cost = 0;
  size_t done_frames = 0;
  frames_job fj = {&r, p, &meta, raw_ok, tasks};
  for (size_t i = 0; i < p->n_frames;) {
    /* worker mode: the requests of a chunk of frames first, spread over the workers */
    size_t end = p->n_frames;
    if (o->estimator_worker) {
      job_table_clear(&jobs);
      for (end = i; end < p->n_frames && end - i < CHUNK_FRAMES && jobs.count < CHUNK_JOBS_PER_WORKER * o->workers;
           end++)
        if (p->frames[end].reason != MHRFIT_INGEST_REUSE) {
          mhrfit_value *old = mf_ingest_meta_record(&meta, p->frames[end].frame);
          bool collected = collect_jobs(&r, p->frames[end].frame, old, raw_ok, &jobs, err);
          mhrfit_value_free(old);
          if (!collected) goto done;
        }
      if (jobs.count && !pool && !(pool = make_pool(&r, err))) goto done;
      if (jobs.count && !mf_worker_pool_run(pool, jobs.jobs, jobs.count, &pool_err)) gave_up = true;
    }
    /* the frames to redo of a block ingested on the threads, then recorded in frame order */
    while (i < end) {
      size_t n_tasks = 0, stop = i;
      for (; stop < end && n_tasks < block; stop++)
        if (p->frames[stop].reason != MHRFIT_INGEST_REUSE) tasks[n_tasks++].index = stop;
      mf_pool_for(threads_pool, n_tasks, frame_task_run, &fj);
      size_t k = 0;
      for (; i < stop; i++) {
        const mhrfit_ingest_frame_plan *fp = &p->frames[i];
        frame_task *t = fp->reason != MHRFIT_INGEST_REUSE ? &tasks[k++] : NULL;
        if ((o->cancel && *o->cancel) || (t && t->skipped)) {
          if (need_write) write_meta(&r, &rs, NULL); /* what is done stays done */
          MHRFIT_FAIL(err, MHRFIT_ERR_CANCELLED, "stage 1 cancelled after %zu of %zu frames", i, p->n_frames);
          goto done;
        }
        if (!t) {
          summary->frames_reused++;
        } else {
          if (settings_same)
            logf_(o, MHRFIT_INGEST_INFO, "frame '%s': re-ingesting (%s): %s", fp->frame,
                  mhrfit_ingest_reason_name(fp->reason), fp->detail);
          bool broken = o->estimator && est_broken(&r);
          for (size_t m = 0; m < t->n_msgs; m++) {
            mhrfit_ingest_log_level lv = (mhrfit_ingest_log_level)(t->msgs[m][0] - '0');
            if (lv == LOG_UNLESS_BROKEN && broken) continue;
            logf_(o, lv == LOG_UNLESS_BROKEN ? MHRFIT_INGEST_ERROR : lv, "%s", t->msgs[m] + 1);
          }
          add_counts(summary, &t->sum);
          if (!t->rec) {
            if (err) *err = t->err;
            goto done;
          }
          bool put = records_put(&rs, fp->frame, t->rec, err);
          t->rec = NULL;
          if (!put) goto done;
          if (t->failed) summary->frames_failed++;
          else summary->frames_ingested++;
          /* the meta grows with the take: written at most every 2 s, and taking at most 5 % of the time */
          if (mf_now_seconds() - last_write >= fmax(META_FLUSH_SECONDS, 20 * meta_cost) && i + 1 < p->n_frames) {
            double tw = mf_now_seconds();
            if (!write_meta(&r, &rs, err)) goto done;
            last_write = mf_now_seconds();
            meta_cost = last_write - tw;
          }
        }
        done_frames++;
        if (o->progress) o->progress(o->user, done_frames, p->n_frames);
      }
      for (size_t m = 0; m < n_tasks; m++) frame_task_clear(&tasks[m]);
      if (o->estimator && est_broken(&r)) { /* the frames left are not tried */
        gave_up = true;
        MHRFIT_FAIL(&pool_err, MHRFIT_ERR_IO, "%s", est.cause);
        break;
      }
    }
    if (gave_up) break;
  }
  summary->worker_starts = mf_worker_pool_starts(pool);
  if (need_write || gave_up) {
    if (!write_meta(&r, &rs, err)) goto done;
    summary->meta_written = true;
  }
  if (gave_up) {
    if (err) *err = pool_err;
    goto done;
  }
  ok = true;
done:
  for (size_t m = 0; tasks && m < block; m++) frame_task_clear(&tasks[m]);
  free(tasks);
  mf_worker_pool_free(pool);
  mf_pool_free(threads_pool);
  job_table_free(&jobs);
  records_free(&rs);
  mhrfit_ingest_plan_free(p);
  mf_ingest_meta_free(&meta);
  request_free(&r);
  mf_dir_lock_release(lock);
  return ok;
}

