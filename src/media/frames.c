/* `mhrfit frames`: capture frames from camera videos through a sync table. See the "Frames
 * from videos" section of include/mhrfit/media.h. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file.h"
#include "common/lock.h"
#include "common/mem.h"
#include "common/path.h"
#include "media/media_internal.h"
#include "media/sync.h"
#include "mhrfit/json.h"
#include "mhrfit/media.h"
#include "mhrfit/value.h"

#ifndef MHRFIT_VERSION_STRING
#define MHRFIT_VERSION_STRING "unknown"
#endif

#define META_NAME "frames_meta.json"
#define INDEX_NAME "frames_index.csv"
#define MANIFEST_NAME "frames_manifest.csv"
#define META_FORMAT "mhrfit-frames-meta"
#define META_VERSION 1
/* Errors listed in a failure message about out-of-range indices (the rest are counted). */
#define ERRORS_LISTED 4

static const char *const video_exts[] = {".mp4",  ".mov", ".avi", ".mkv",  ".webm", ".m4v", ".mpg",
                                         ".mpeg", ".ts",  ".mts", ".m2ts", ".wmv",  ".flv"};

const char *mhrfit_sync_mode_name(mhrfit_sync_mode m) {
  return m == MHRFIT_SYNC_CSV ? "csv" : m == MHRFIT_SYNC_TIMESTAMPS ? "timestamps" : "index";
}

bool mhrfit_sync_mode_parse(const char *name, mhrfit_sync_mode *out, mhrfit_error *err) {
  static const mhrfit_sync_mode all[3] = {MHRFIT_SYNC_INDEX, MHRFIT_SYNC_CSV, MHRFIT_SYNC_TIMESTAMPS};
  for (int i = 0; i < 3; i++)
    if (name && strcmp(name, mhrfit_sync_mode_name(all[i])) == 0) {
      *out = all[i];
      return true;
    }
  return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "unknown sync mode '%s' (index, csv, timestamps)", name ? name : "");
}

void mhrfit_frames_options_init(mhrfit_frames_options *o) {
  memset(o, 0, sizeof *o);
  o->sync = MHRFIT_SYNC_INDEX;
  o->start = -1;
  o->end = -1;
  o->every = 1;
  o->max_frames = -1;
  mhrfit_image_write_options_init(&o->image);
  mhrfit_video_options_init(&o->video);
}

/* ---- the plan ----------------------------------------------------------------------------- */

enum { VIEW_NONE = 0, VIEW_WANTED, VIEW_WRITTEN, VIEW_GAP, VIEW_FAILED };

typedef struct view {
  long long vidx; /* video frame, or MF_SYNC_GAP */
  double time;    /* pts time of the written frame */
  signed char status;
  bool corrupt;
  char *msg; /* gap or error text (owned), NULL otherwise */
} view;

typedef struct request_item {
  long long vidx;
  size_t row;
} request_item;

typedef struct cam_plan {
  char *name;
  char *video;      /* path as given or found */
  long long offset; /* index sync */
  long long port;   /* timestamps sync, -1 otherwise */
  long long table_rows; /* timestamps sync: the port's rows in the table, -1 otherwise */
  size_t col;       /* table column */
  mhrfit_video_info info;
  long long bytes;
  long long decoded, written;
  char *error; /* why decoding stopped early, NULL when it did not */
  request_item *reqs;
  size_t n_reqs;
} cam_plan;

typedef struct plan {
  const mhrfit_frames_options *o;
  char *out;
  mf_dir_lock *lock; /* of the output folder, while it is written */
  cam_plan *cams;
  size_t n_cams;
  mf_sync_table table; /* csv / timestamps */
  size_t n_rows;       /* selected rows */
  char **row_names;
  size_t *row_src; /* table row (csv/timestamps) or k (index) */
  double *tick_ms; /* NULL unless the table has them */
  view *views;     /* n_rows * n_cams */
  bool *dir_made;
  size_t n_wanted;
} plan;

static void logf_(const plan *p, mhrfit_frames_log_level lv, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void logf_(const plan *p, mhrfit_frames_log_level lv, const char *fmt, ...) {
  if (!p->o->log) return;
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  p->o->log(p->o->user, lv, buf);
}

static void plan_free(plan *p) {
  for (size_t c = 0; c < p->n_cams; c++) {
    free(p->cams[c].name);
    free(p->cams[c].video);
    free(p->cams[c].error);
    free(p->cams[c].reqs);
  }
  free(p->cams);
  for (size_t i = 0; p->row_names && i < p->n_rows; i++) free(p->row_names[i]);
  free(p->row_names);
  free(p->row_src);
  free(p->tick_ms);
  for (size_t i = 0; p->views && i < p->n_rows * p->n_cams; i++) free(p->views[i].msg);
  free(p->views);
  free(p->dir_made);
  free(p->out);
  mf_sync_table_free(&p->table);
  mf_dir_lock_release(p->lock);
}

static bool valid_name(const char *s) { return s && *s && s[0] != '.' && !strchr(s, '/') && strlen(s) <= 200; }

static bool add_cam(plan *p, const char *name, const char *video, size_t *cap, mhrfit_error *err) {
  if (!valid_name(name))
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "invalid camera name '%s' (empty, starts with '.' or has a slash)",
                       name ? name : "");
  for (size_t c = 0; c < p->n_cams; c++)
    if (strcmp(p->cams[c].name, name) == 0)
      return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "camera '%s' has two videos: %s and %s", name, p->cams[c].video,
                         video);
  if (!mf_grow((void **)&p->cams, cap, p->n_cams + 1, sizeof *p->cams, err)) return false;
  cam_plan *c = &p->cams[p->n_cams];
  memset(c, 0, sizeof *c);
  c->port = c->table_rows = -1;
  if (!(c->name = mf_strdup(name, err)) || !(c->video = mf_strdup(video, err))) {
    free(c->name);
    return false;
  }
  p->n_cams++;
  return true;
}

static bool is_video_name(const char *name) {
  const char *dot = strrchr(name, '.');
  if (!dot || dot == name) return false;
  for (size_t i = 0; i < sizeof video_exts / sizeof video_exts[0]; i++)
    if (strcasecmp(dot, video_exts[i]) == 0) return true;
  return false;
}

/* The videos: the explicit list or the folder's video files (camera = stem). */
static bool collect_videos(plan *p, mhrfit_error *err) {
  const mhrfit_frames_options *o = p->o;
  size_t cap = 0;
  if (o->videos && o->n_videos) {
    if (o->video_dir)
      return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "give either the videos or a video folder, not both");
    for (size_t i = 0; i < o->n_videos; i++) {
      if (!o->videos[i].path || !*o->videos[i].path)
        return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "camera '%s': no video path",
                           o->videos[i].cam ? o->videos[i].cam : "");
      if (!add_cam(p, o->videos[i].cam, o->videos[i].path, &cap, err)) return false;
    }
    return true;
  }
  if (!o->video_dir)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "no videos given (a list of camera videos or a folder)");
  mf_entries d;
  if (!mf_list_entries(o->video_dir, false, &d, err)) return false;
  bool ok = true;
  for (size_t i = 0; i < d.count && ok; i++) {
    const mf_dir_entry *e = &d.items[i];
    if (e->type != MF_ENTRY_FILE || e->name[0] == '.' || !is_video_name(e->name)) continue;
    char *path = mf_path_join(o->video_dir, e->name, err);
    char *stem = path ? mf_strdup(e->name, err) : NULL;
    if (stem) *strrchr(stem, '.') = '\0';
    ok = stem && add_cam(p, stem, path, &cap, err);
    free(path);
    free(stem);
  }
  mf_entries_free(&d);
  if (ok && p->n_cams == 0)
    ok = MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "%s: no video file (%s, ...)", o->video_dir, video_exts[0]);
  return ok;
}

/* Keeps the cameras of o->cams, in that order. `what` names where cameras come from. */
static bool select_cams(plan *p, const char *what, mhrfit_error *err) {
  const mhrfit_frames_options *o = p->o;
  if (!o->cams || o->n_cams == 0) return true;
  size_t *pick = mf_calloc_array(o->n_cams, sizeof *pick, err);
  if (!pick) return false;
  for (size_t i = 0; i < o->n_cams; i++) {
    for (size_t j = 0; j < i; j++)
      if (strcmp(o->cams[j], o->cams[i]) == 0) {
        free(pick);
        return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "camera '%s' is selected twice", o->cams[i]);
      }
    size_t c = 0;
    while (c < p->n_cams && strcmp(p->cams[c].name, o->cams[i]) != 0) c++;
    if (c == p->n_cams) {
      free(pick);
      return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "camera '%s' is not among %s", o->cams[i], what);
    }
    pick[i] = c;
  }
  cam_plan *kept = mf_calloc_array(o->n_cams, sizeof *kept, err);
  if (!kept) {
    free(pick);
    return false;
  }
  for (size_t i = 0; i < o->n_cams; i++) {
    kept[i] = p->cams[pick[i]];
    memset(&p->cams[pick[i]], 0, sizeof *p->cams);
  }
  for (size_t c = 0; c < p->n_cams; c++) {
    free(p->cams[c].name);
    free(p->cams[c].video);
  }
  free(pick);
  free(p->cams);
  p->cams = kept;
  p->n_cams = o->n_cams;
  return true;
}

/* ---- building the rows -------------------------------------------------------------------- */

static bool alloc_rows(plan *p, size_t n, mhrfit_error *err) {
  p->n_rows = n;
  size_t cells = n * p->n_cams;
  if (!(p->row_names = mf_calloc_array(n ? n : 1, sizeof *p->row_names, err)) ||
      !(p->row_src = mf_calloc_array(n ? n : 1, sizeof *p->row_src, err)) ||
      !(p->views = mf_calloc_array(cells ? cells : 1, sizeof *p->views, err)) ||
      !(p->dir_made = mf_calloc_array(n ? n : 1, sizeof *p->dir_made, err)))
    return false;
  return true;
}

/* The selected positions of a table of `total` rows whose default range is [lo, hi). */
static bool select_positions(const plan *p, long long lo, long long hi, long long *first, long long *count,
                             mhrfit_error *err) {
  const mhrfit_frames_options *o = p->o;
  long long start = o->start >= 0 ? o->start : lo, end = o->end >= 0 ? o->end : hi;
  if (end <= start) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "no frame selected: start %lld, end %lld", start, end);
  long long n = (end - start + o->every - 1) / o->every;
  if (o->max_frames >= 0 && n > o->max_frames) n = o->max_frames;
  if (n == 0) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "no frame selected (max_frames 0)");
  *first = start;
  *count = n;
  return true;
}

static bool build_index_rows(plan *p, mhrfit_error *err) {
  const mhrfit_frames_options *o = p->o;
  for (size_t i = 0; i < o->n_offsets; i++) {
    size_t c = 0;
    while (c < p->n_cams && strcmp(p->cams[c].name, o->offsets[i].cam ? o->offsets[i].cam : "") != 0) c++;
    if (c == p->n_cams)
      return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "offset for camera '%s', which has no video",
                         o->offsets[i].cam ? o->offsets[i].cam : "");
    p->cams[c].offset = o->offsets[i].offset;
  }
  /* the frames every camera has: k in [lo, hi) */
  long long lo = 0, hi = -1;
  for (size_t c = 0; c < p->n_cams; c++) {
    const cam_plan *cp = &p->cams[c];
    if (-cp->offset > lo) lo = -cp->offset;
    long long h = cp->info.frame_count - cp->offset;
    if (hi < 0 || h < hi) hi = h;
  }
  if (hi <= lo && (o->start < 0 || o->end < 0)) {
    char list[1024];
    size_t n = 0;
    for (size_t c = 0; c < p->n_cams && n < sizeof list; c++)
      n += (size_t)snprintf(list + n, sizeof list - n, "%s%s: %lld frames, offset %lld", c ? "; " : "", p->cams[c].name,
                            p->cams[c].info.frame_count, p->cams[c].offset);
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "no frame number has a frame in every video (%s)", list);
  }
  /* a camera whose video runs past the frames every video has loses its last frames: say so */
  for (size_t c = 0; c < p->n_cams && hi > lo && o->end < 0; c++) {
    const cam_plan *cp = &p->cams[c];
    long long after = cp->info.frame_count - cp->offset - hi;
    if (after > 0)
      logf_(p, MHRFIT_FRAMES_WARNING,
            "camera '%s': its last %lld video frame(s) are not extracted: the frames every video has end at frame "
            "number %lld (--end with --allow_gaps keeps them, as frames with gaps)",
            cp->name, after, hi - 1);
  }
  long long first, count;
  if (!select_positions(p, lo, hi, &first, &count, err) || !alloc_rows(p, (size_t)count, err)) return false;
  for (size_t i = 0; i < p->n_rows; i++) {
    long long k = first + (long long)i * o->every;
    p->row_src[i] = (size_t)k;
    if (!(p->row_names[i] = mf_strdup_printf(err, "%06lld", k))) return false;
    for (size_t c = 0; c < p->n_cams; c++) p->views[i * p->n_cams + c].vidx = k + p->cams[c].offset;
  }
  return true;
}

/* Matches the table's cameras with the videos (by name, or port_<p> for timestamps), keeping
 * the table's column order for cameras not reordered by o->cams. */
static bool match_table(plan *p, mhrfit_error *err) {
  const mhrfit_frames_options *o = p->o;
  mf_sync_table *t = &p->table;
  bool ts = o->sync == MHRFIT_SYNC_TIMESTAMPS;
  for (size_t i = 0; i < o->n_ports; i++)
    for (size_t j = 0; j < i; j++)
      if (o->ports[i].port == o->ports[j].port)
        return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "port %lld is mapped twice", o->ports[i].port);
  cam_plan *ordered = mf_calloc_array(t->n_cams, sizeof *ordered, err);
  if (!ordered) return false;
  bool ok = true;
  size_t n = 0;
  for (size_t col = 0; col < t->n_cams && ok; col++) {
    char name[256];
    snprintf(name, sizeof name, "%s", t->cams[col]);
    if (ts) {
      snprintf(name, sizeof name, "cam_%lld", t->ports[col]);
      for (size_t i = 0; i < o->n_ports; i++)
        if (o->ports[i].port == t->ports[col])
          snprintf(name, sizeof name, "%s", o->ports[i].cam ? o->ports[i].cam : "");
      if (!valid_name(name)) {
        ok = MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "port %lld: invalid camera name '%s'", t->ports[col], name);
        break;
      }
    }
    size_t c = 0;
    while (c < p->n_cams && !(p->cams[c].name && (strcmp(p->cams[c].name, name) == 0 ||
                                                  (ts && strcmp(p->cams[c].name, t->cams[col]) == 0))))
      c++;
    bool selected = !o->cams || o->n_cams == 0;
    for (size_t i = 0; !selected && i < o->n_cams; i++) selected = strcmp(o->cams[i], name) == 0;
    if (!selected) continue;
    if (c == p->n_cams) {
      ok = MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "%s: camera '%s'%s%s has no video%s", o->sync_file, name,
                       ts ? " (" : "", ts ? t->cams[col] : "", ts ? ")" : "");
      break;
    }
    char *renamed = mf_strdup(name, err);
    if (!renamed) {
      ok = false;
      break;
    }
    ordered[n] = p->cams[c];
    memset(&p->cams[c], 0, sizeof p->cams[c]);
    free(ordered[n].name);
    ordered[n].name = renamed;
    ordered[n].col = col;
    ordered[n].port = ts ? t->ports[col] : -1;
    n++;
  }
  for (size_t c = 0; ok && c < p->n_cams; c++) {
    bool selected = !o->cams || o->n_cams == 0;
    for (size_t i = 0; !selected && p->cams[c].name && i < o->n_cams; i++)
      selected = strcmp(o->cams[i], p->cams[c].name) == 0;
    if (p->cams[c].name && selected) {
      ok = MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "%s: no %s for camera '%s' (video %s)", o->sync_file,
                       ts ? "port" : "<cam>_out_idx column", p->cams[c].name, p->cams[c].video);
      break;
    }
  }
  for (size_t c = 0; c < p->n_cams; c++) {
    free(p->cams[c].name);
    free(p->cams[c].video);
  }
  free(p->cams);
  p->cams = ordered;
  p->n_cams = n;
  if (!ok) return false;
  if (o->cams && o->n_cams && n != o->n_cams) {
    for (size_t i = 0; i < o->n_cams; i++) {
      bool found = false;
      for (size_t c = 0; c < n && !found; c++) found = strcmp(p->cams[c].name, o->cams[i]) == 0;
      if (!found) return MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "camera '%s' is not in %s", o->cams[i], o->sync_file);
    }
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "a camera is selected twice");
  }
  return true;
}

/* Timestamps sync pairs a port's k-th row (in time order) with its video's frame k: a port whose
 * row count differs from its video's frame count is said (a warning; --check shows it too),
 * since rows and frames then do not match one to one. */
static void check_port_rows(plan *p) {
  const mf_sync_table *t = &p->table;
  for (size_t c = 0; c < p->n_cams; c++) {
    cam_plan *cp = &p->cams[c];
    long long rows = 0, frames = cp->info.frame_count;
    for (size_t r = 0; r < t->n_rows; r++) rows += t->idx[r * t->n_cams + cp->col] != MF_SYNC_GAP;
    cp->table_rows = rows;
    if (rows == frames) continue;
    char what[256];
    if (rows < frames)
      snprintf(what, sizeof what, "its last %lld video frame(s) are not used", frames - rows);
    else
      snprintf(what, sizeof what, "its last %lld row(s) have no video frame (past the end)", rows - frames);
    logf_(p, MHRFIT_FRAMES_WARNING,
          "camera '%s' (port %lld): %s has %lld row(s) for the port, its video %s has %lld frame(s): row k of the "
          "port (in time order) is taken as video frame k, so %s, and if the recorder dropped rows or the video "
          "holds frames the table does not list, rows and frames are paired wrongly from there on: check that "
          "the video and the table belong together",
          cp->name, cp->port, p->o->sync_file, rows, cp->video, frames, what);
  }
}

static bool build_table_rows(plan *p, mhrfit_error *err) {
  const mhrfit_frames_options *o = p->o;
  if (!o->sync_file || !*o->sync_file)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "sync mode %s needs its table file", mhrfit_sync_mode_name(o->sync));
  unsigned char *data;
  size_t len;
  if (!mf_read_file(o->sync_file, (size_t)1 << 30, &data, &len, err)) return false;
  bool ok = o->sync == MHRFIT_SYNC_CSV
                ? mf_sync_parse_ticks((const char *)data, len, o->sync_file, o->id_key, &p->table, err)
                : mf_sync_parse_frame_times((const char *)data, len, o->sync_file, &p->table, err);
  free(data);
  if (!ok || !match_table(p, err)) return false;
  const mf_sync_table *t = &p->table;
  if (o->sync == MHRFIT_SYNC_TIMESTAMPS) check_port_rows(p);
  long long first, count;
  if (!select_positions(p, 0, (long long)t->n_rows, &first, &count, err)) return false;
  if (first >= (long long)t->n_rows)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "start %lld is past the %zu rows of %s", first, t->n_rows,
                       o->sync_file);
  long long avail = ((long long)t->n_rows - first + o->every - 1) / o->every;
  if (count > avail) count = avail;
  if (!alloc_rows(p, (size_t)count, err)) return false;
  if (t->tick_ms && !(p->tick_ms = mf_malloc_array((size_t)count, sizeof *p->tick_ms, err))) return false;
  for (size_t i = 0; i < p->n_rows; i++) {
    size_t r = (size_t)(first + (long long)i * o->every);
    p->row_src[i] = r;
    if (!(p->row_names[i] = mf_strdup(t->rows[r], err))) return false;
    if (p->tick_ms) p->tick_ms[i] = t->tick_ms[r];
    for (size_t c = 0; c < p->n_cams; c++) p->views[i * p->n_cams + c].vidx = t->idx[r * t->n_cams + p->cams[c].col];
  }
  return true;
}

/* Classifies every view: wanted, a gap of the table, or out of its video's range (an error, or
 * a gap with allow_gaps). */
static bool classify_views(plan *p, mhrfit_error *err) {
  const mhrfit_frames_options *o = p->o;
  static const char *const reserved[3] = {META_NAME, INDEX_NAME, MANIFEST_NAME};
  for (size_t i = 0; i < p->n_rows; i++)
    for (int k = 0; k < 3; k++)
      if (strcmp(p->row_names[i], reserved[k]) == 0)
        return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "frame name '%s' is reserved for an index file", reserved[k]);
  char listed[ERRORS_LISTED * 300] = "";
  size_t n_listed = 0, n_bad = 0, len = 0;
  for (size_t i = 0; i < p->n_rows; i++)
    for (size_t c = 0; c < p->n_cams; c++) {
      view *v = &p->views[i * p->n_cams + c];
      const cam_plan *cp = &p->cams[c];
      long long count = cp->info.frame_count;
      if (o->sync != MHRFIT_SYNC_INDEX && v->vidx == MF_SYNC_GAP) {
        v->status = VIEW_GAP;
        v->msg = o->sync == MHRFIT_SYNC_CSV
                     ? mf_strdup_printf(err, "no frame in the sync table (empty or negative %s_out_idx)",
                                        p->table.cams[cp->col])
                     : mf_strdup_printf(err, "port %lld has no frame at this sync index", cp->port);
        if (!v->msg) return false;
        continue;
      }
      if (v->vidx >= 0 && v->vidx < count) {
        v->status = VIEW_WANTED;
        p->n_wanted++;
        continue;
      }
      const char *where = v->vidx < 0 ? "before the video's first frame" : "past the end of the video";
      if (o->allow_gaps) {
        v->status = VIEW_GAP;
        if (!(v->msg = mf_strdup_printf(err, "video frame %lld is %s (%lld frames)", v->vidx, where, count)))
          return false;
        continue;
      }
      n_bad++;
      if (n_listed < ERRORS_LISTED) {
        len += (size_t)snprintf(listed + len, sizeof listed - len,
                                "%scamera '%s' frame '%s' asks for video frame %lld, %s %s (%lld frames)",
                                n_listed ? "; " : "", cp->name, p->row_names[i], v->vidx, where, cp->video, count);
        if (len >= sizeof listed) len = sizeof listed - 1;
        n_listed++;
      }
    }
  if (n_bad)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT,
                       "%zu view(s) ask for frames the videos do not have: %s%s "
                       "(allow gaps to write them as labelled gaps)",
                       n_bad, listed, n_bad > n_listed ? "; ..." : "");
  return true;
}

static int cmp_req(const void *a, const void *b) {
  const request_item *x = a, *y = b;
  if (x->vidx != y->vidx) return x->vidx < y->vidx ? -1 : 1;
  return x->row < y->row ? -1 : x->row > y->row;
}

static bool build_requests(plan *p, mhrfit_error *err) {
  for (size_t c = 0; c < p->n_cams; c++) {
    cam_plan *cp = &p->cams[c];
    size_t n = 0;
    for (size_t i = 0; i < p->n_rows; i++) n += p->views[i * p->n_cams + c].status == VIEW_WANTED;
    if (!(cp->reqs = mf_malloc_array(n ? n : 1, sizeof *cp->reqs, err))) return false;
    for (size_t i = 0; i < p->n_rows; i++)
      if (p->views[i * p->n_cams + c].status == VIEW_WANTED)
        cp->reqs[cp->n_reqs++] = (request_item){p->views[i * p->n_cams + c].vidx, i};
    qsort(cp->reqs, cp->n_reqs, sizeof *cp->reqs, cmp_req);
  }
  return true;
}

/* ---- the output folder -------------------------------------------------------------------- */

/* Removes the pictures a previous frames_meta.json lists (relative paths inside out only) and
 * then their folders when empty. */
static void remove_previous(const plan *p, const mhrfit_value *meta) {
  const mhrfit_value *frames = mhrfit_value_dict_get(meta, "frames");
  if (!frames || frames->kind != MHRFIT_V_LIST) return;
  for (size_t i = 0; i < frames->u.list.count; i++) {
    const mhrfit_value *views = mhrfit_value_dict_get(frames->u.list.items[i], "views");
    if (!views || views->kind != MHRFIT_V_DICT) continue;
    for (size_t c = 0; c < views->u.dict.count; c++) {
      const mhrfit_value *path = mhrfit_value_dict_get(views->u.dict.vals[c], "path");
      if (!path || path->kind != MHRFIT_V_STRING) continue;
      const char *rel = path->u.str.data;
      if (rel[0] == '/' || strstr(rel, "..") || !strchr(rel, '/')) continue;
      char full[4096];
      if ((size_t)snprintf(full, sizeof full, "%s/%s", p->out, rel) >= sizeof full) continue;
      unlink(full);
      *strrchr(full, '/') = '\0';
      rmdir(full); /* fails while other pictures remain; the last one removes it */
    }
  }
  char path[4096];
  static const char *const names[3] = {META_NAME, INDEX_NAME, MANIFEST_NAME};
  for (int k = 0; k < 3; k++)
    if ((size_t)snprintf(path, sizeof path, "%s/%s", p->out, names[k]) < sizeof path) unlink(path);
}

/* The output folder: new, empty or an earlier extraction (allowed to be overwritten), locked for
 * the time it is written (only checked for a plan). */
static bool prepare_out(plan *p, mhrfit_error *err) {
  const mhrfit_frames_options *o = p->o;
  mf_entries d;
  if (o->check_only ? !mf_dir_lock_probe(p->out, err)
                    : !(p->lock = mf_dir_lock_output(p->out, "mhrfit frames", 2, err)))
    return false;
  if (!mf_list_entries(p->out, true, &d, err)) return false;
  bool has_meta = mf_entries_find(&d, META_NAME) != NULL;
  bool empty = d.count == (mf_entries_find(&d, MF_DIR_LOCK_NAME) ? 1u : 0u);
  mf_entries_free(&d);
  if (!empty && !has_meta) /* --overwrite replaces an earlier extraction only, never other files */
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT,
                       "%s is not empty and holds no frames_meta.json: it is no earlier extraction (--overwrite "
                       "replaces only one); choose a new or empty folder",
                       p->out);
  if (!empty && !o->overwrite)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT,
                       "%s holds a previous extraction (frames_meta.json): allow overwriting (--overwrite) to replace it",
                       p->out);
  if (o->check_only) return true;
  if (has_meta) {
    char *path = mf_path_join(p->out, META_NAME, err);
    mhrfit_error e = {0};
    mhrfit_value *meta = path ? mhrfit_json_load(path, &e) : NULL;
    free(path);
    if (!meta && e.type != MHRFIT_ERR_NONE)
      logf_(p, MHRFIT_FRAMES_WARNING, "previous %s unreadable, its pictures are left in place: %s", META_NAME,
            e.message);
    if (meta) remove_previous(p, meta);
    mhrfit_value_free(meta);
  }
  return true;
}

/* ---- decoding and writing ----------------------------------------------------------------- */

static void fail_rest(plan *p, size_t c, size_t from, const char *msg, mhrfit_frames_summary *s) {
  cam_plan *cp = &p->cams[c];
  for (size_t k = from; k < cp->n_reqs; k++) {
    view *v = &p->views[cp->reqs[k].row * p->n_cams + c];
    if (v->status != VIEW_WANTED) continue;
    v->status = VIEW_FAILED;
    v->msg = mf_strdup(msg, NULL);
    s->views_failed++;
  }
}

static bool ensure_dir(plan *p, size_t row, mhrfit_error *err) {
  if (p->dir_made[row]) return true;
  char *dir = mf_path_join(p->out, p->row_names[row], err);
  bool ok = dir && mf_make_dirs(dir, err);
  free(dir);
  p->dir_made[row] = ok;
  return ok;
}

/* Decodes camera c's video up to its last wanted frame and writes its pictures. */
static bool extract_camera(plan *p, size_t c, mhrfit_image_encoder *enc, const char *ext, size_t *done,
                           mhrfit_frames_summary *s, mhrfit_error *fatal) {
  cam_plan *cp = &p->cams[c];
  if (cp->n_reqs == 0) return true;
  mhrfit_video_options vo = p->o->video;
  vo.scan = false;
  mhrfit_error e = {0};
  logf_(p, MHRFIT_FRAMES_INFO, "camera '%s': %s (%dx%d %s, %lld frames, %.6g fps): %zu picture(s) to write", cp->name,
        cp->video, cp->info.width, cp->info.height, cp->info.codec, cp->info.frame_count, cp->info.fps, cp->n_reqs);
  mhrfit_video_reader *r = mhrfit_video_reader_new(cp->video, &vo, &e);
  size_t k = 0;
  if (!r) {
    cp->error = mf_strdup(e.message, NULL);
    fail_rest(p, c, 0, e.message, s);
    logf_(p, MHRFIT_FRAMES_ERROR, "camera '%s': %s", cp->name, e.message);
    return true;
  }
  while (k < cp->n_reqs) {
    mhrfit_video_frame f;
    bool got = false;
    long long next = mhrfit_video_reader_frames_read(r);
    bool want = next == cp->reqs[k].vidx;
    if (!mhrfit_video_reader_next(r, want, &f, &got, &e) || !got) {
      char msg[1200];
      if (!got && e.type == MHRFIT_ERR_NONE)
        snprintf(msg, sizeof msg, "%s: the video ended after %lld frames, the scan counted %lld", cp->video, next,
                 cp->info.frame_count);
      else
        snprintf(msg, sizeof msg, "%s", e.message);
      cp->error = mf_strdup(msg, NULL);
      logf_(p, MHRFIT_FRAMES_ERROR, "camera '%s': %s; %zu picture(s) not written", cp->name, msg, cp->n_reqs - k);
      fail_rest(p, c, k, msg, s);
      break;
    }
    cp->decoded++;
    s->frames_decoded++;
    if (!want) continue;
    const unsigned char *data = NULL;
    size_t len = 0;
    mhrfit_error we = {0};
    bool encoded = mhrfit_image_encoder_encode(enc, f.image, &data, &len, &we);
    if (f.corrupt)
      logf_(p, MHRFIT_FRAMES_WARNING, "camera '%s': video frame %lld is damaged (the decoder concealed errors)",
            cp->name, f.index);
    for (; k < cp->n_reqs && cp->reqs[k].vidx == f.index; k++) {
      size_t row = cp->reqs[k].row;
      view *v = &p->views[row * p->n_cams + c];
      char *path = NULL;
      mhrfit_error ve = we;
      bool ok = encoded && ensure_dir(p, row, &ve) &&
                (path = mf_strdup_printf(&ve, "%s/%s/%s.%s", p->out, p->row_names[row], cp->name, ext)) != NULL;
      if (ok) {
        mf_piece piece = {data, len};
        ok = mf_write_pieces_atomic(path, &piece, 1, 0, NULL, &ve);
      }
      free(path);
      if (!ok) {
        if (ve.type == MHRFIT_ERR_NOMEM) {
          *fatal = ve;
          mhrfit_video_reader_free(r);
          return false;
        }
        v->status = VIEW_FAILED;
        v->msg = mf_strdup(ve.message, NULL);
        s->views_failed++;
        logf_(p, MHRFIT_FRAMES_ERROR, "camera '%s' frame '%s': %s", cp->name, p->row_names[row], ve.message);
        continue;
      }
      v->status = VIEW_WRITTEN;
      v->time = f.time;
      v->corrupt = f.corrupt;
      s->views_written++;
      s->frames_corrupt += f.corrupt;
      cp->written++;
      (*done)++;
      if (p->o->progress) p->o->progress(p->o->user, *done, p->n_wanted);
    }
  }
  /* the sizes as decoded (a container may have said otherwise) */
  const mhrfit_video_info *now = mhrfit_video_reader_info(r);
  cp->info.width = now->width;
  cp->info.height = now->height;
  cp->info.stored_width = now->stored_width;
  cp->info.stored_height = now->stored_height;
  mhrfit_video_reader_free(r);
  return true;
}

/* ---- the index files ---------------------------------------------------------------------- */

/* A CSV field, quoted when it holds a comma, a quote or a line break. */
static void csv_field(FILE *f, const char *s) {
  if (!strpbrk(s, ",\"\r\n")) {
    fputs(s, f);
    return;
  }
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"') fputc('"', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

/* A finite number in plain decimal where it fits, with the fewest digits that read back the
 * same (15, else 17); nothing for NaN. */
static void csv_number(FILE *f, double x) {
  if (!isfinite(x)) return;
  char buf[48];
  snprintf(buf, sizeof buf, "%.15g", x);
  if (strtod(buf, NULL) != x) snprintf(buf, sizeof buf, "%.17g", x);
  fputs(buf, f);
}

static bool write_index_files(const plan *p, const char *ext, mhrfit_error *err) {
  mf_atomic_file af;
  char *path = mf_path_join(p->out, INDEX_NAME, err);
  bool ok = path && mf_atomic_open(&af, path, err);
  free(path);
  if (!ok) return false;
  fputs("id,camera,frame_index,tick_video_ms,actual_time_ms,decoded_frame_index,path\n", af.f);
  for (size_t i = 0; i < p->n_rows; i++)
    for (size_t c = 0; c < p->n_cams; c++) {
      const view *v = &p->views[i * p->n_cams + c];
      if (v->status != VIEW_WRITTEN) continue;
      csv_field(af.f, p->row_names[i]);
      fputc(',', af.f);
      csv_field(af.f, p->cams[c].name);
      fprintf(af.f, ",%lld,", v->vidx);
      if (p->tick_ms) csv_number(af.f, p->tick_ms[i]);
      fputc(',', af.f);
      csv_number(af.f, v->time * 1000.0);
      fprintf(af.f, ",%lld,", v->vidx);
      char rel[512];
      snprintf(rel, sizeof rel, "%s/%s.%s", p->row_names[i], p->cams[c].name, ext);
      csv_field(af.f, rel);
      fputc('\n', af.f);
    }
  if (!mf_atomic_commit(&af, err)) return false;
  path = mf_path_join(p->out, MANIFEST_NAME, err);
  ok = path && mf_atomic_open(&af, path, err);
  free(path);
  if (!ok) return false;
  fputs("id,num_views,cams_present,missing_cams\n", af.f);
  for (size_t i = 0; i < p->n_rows; i++) {
    size_t n = 0;
    char present[4096] = "", missing[4096] = "";
    size_t lp = 0, lm = 0;
    for (size_t c = 0; c < p->n_cams; c++) {
      bool ok_view = p->views[i * p->n_cams + c].status == VIEW_WRITTEN;
      n += ok_view;
      char *buf = ok_view ? present : missing;
      size_t *l = ok_view ? &lp : &lm;
      if (*l < sizeof present)
        *l += (size_t)snprintf(buf + *l, sizeof present - *l, "%s%s", *l ? " " : "", p->cams[c].name);
    }
    csv_field(af.f, p->row_names[i]);
    fprintf(af.f, ",%zu,", n);
    csv_field(af.f, present);
    fputc(',', af.f);
    csv_field(af.f, missing);
    fputc('\n', af.f);
  }
  return mf_atomic_commit(&af, err);
}

/* ---- frames_meta.json --------------------------------------------------------------------- */

typedef struct jb {
  mhrfit_error *err;
  bool failed;
} jb;

static void jput(jb *j, mhrfit_value *d, const char *key, mhrfit_value *v) {
  if (j->failed || !v || !mhrfit_value_dict_set(d, key, v, j->err)) {
    if (!j->failed && !v) j->failed = true;
    j->failed = true;
  }
}
static void jstr(jb *j, mhrfit_value *d, const char *key, const char *s) {
  jput(j, d, key, s ? mhrfit_value_new_string(MHRFIT_V_STRING, s, strlen(s), j->err) : mhrfit_value_new_null(j->err));
}
static void jnum(jb *j, mhrfit_value *d, const char *key, double x) {
  jput(j, d, key, isfinite(x) ? mhrfit_value_new_float(x, j->err) : mhrfit_value_new_null(j->err));
}
static void jint(jb *j, mhrfit_value *d, const char *key, long long x) {
  jput(j, d, key, mhrfit_value_new_int(x, j->err));
}
static void jbool(jb *j, mhrfit_value *d, const char *key, bool b) {
  jput(j, d, key, mhrfit_value_new_bool(b, j->err));
}
static void jratio(jb *j, mhrfit_value *d, const char *key, int num, int den) {
  char buf[48];
  snprintf(buf, sizeof buf, "%d/%d", num, den);
  jstr(j, d, key, buf);
}

static mhrfit_value *video_value(jb *j, const cam_plan *cp) {
  const mhrfit_video_info *in = &cp->info;
  mhrfit_value *v = mhrfit_value_new_dict(j->err);
  if (!v) {
    j->failed = true;
    return NULL;
  }
  char *abs = realpath(cp->video, NULL);
  jstr(j, v, "path", abs ? abs : cp->video);
  free(abs);
  jint(j, v, "bytes", cp->bytes);
  jint(j, v, "width", in->width);
  jint(j, v, "height", in->height);
  jint(j, v, "stored_width", in->stored_width);
  jint(j, v, "stored_height", in->stored_height);
  jstr(j, v, "codec", in->codec);
  jstr(j, v, "container", in->container);
  jstr(j, v, "pixel_format", in->pixel_format);
  jint(j, v, "frame_count", in->frame_count);
  if (in->header_frame_count >= 0)
    jint(j, v, "header_frame_count", in->header_frame_count);
  else
    jput(j, v, "header_frame_count", mhrfit_value_new_null(j->err));
  jnum(j, v, "fps", in->fps);
  jratio(j, v, "frame_rate", in->fps_num, in->fps_den);
  jratio(j, v, "time_base", in->time_base_num, in->time_base_den);
  jnum(j, v, "start_time", in->start_time);
  jnum(j, v, "duration", in->duration);
  jint(j, v, "rotation", in->rotation);
  jbool(j, v, "rotation_applied", in->rotation_applied);
  jbool(j, v, "vfr", in->vfr);
  jnum(j, v, "min_frame_interval", in->min_interval);
  jnum(j, v, "max_frame_interval", in->max_interval);
  jint(j, v, "offset", cp->offset);
  if (cp->port >= 0) jint(j, v, "port", cp->port);
  if (cp->port >= 0) jint(j, v, "table_rows", cp->table_rows);
  jint(j, v, "frames_decoded", cp->decoded);
  jint(j, v, "frames_written", cp->written);
  jstr(j, v, "error", cp->error);
  return v;
}

static mhrfit_value *head_value(const plan *p, const mhrfit_frames_summary *s, const char *ext, jb *j) {
  const mhrfit_frames_options *o = p->o;
  mhrfit_value *m = mhrfit_value_new_dict(j->err), *sync = mhrfit_value_new_dict(j->err),
               *img = mhrfit_value_new_dict(j->err), *cams = mhrfit_value_new_list(j->err),
               *videos = mhrfit_value_new_dict(j->err), *sum = mhrfit_value_new_dict(j->err);
  if (!m || !sync || !img || !cams || !videos || !sum) {
    j->failed = true;
    mhrfit_value_free(sync);
    mhrfit_value_free(img);
    mhrfit_value_free(cams);
    mhrfit_value_free(videos);
    mhrfit_value_free(sum);
    return m;
  }
  jstr(j, m, "format", META_FORMAT);
  jint(j, m, "version", META_VERSION);
  jstr(j, m, "tool", "mhrfit");
  jstr(j, m, "tool_version", MHRFIT_VERSION_STRING);
  jstr(j, sync, "mode", mhrfit_sync_mode_name(o->sync));
  char *abs = o->sync_file ? realpath(o->sync_file, NULL) : NULL;
  jstr(j, sync, "file", abs ? abs : o->sync_file);
  free(abs);
  if (o->sync == MHRFIT_SYNC_CSV) jstr(j, sync, "id_key", o->id_key ? o->id_key : "k");
  if (o->sync != MHRFIT_SYNC_INDEX) jint(j, sync, "table_rows", (long long)p->table.n_rows);
  if (o->start >= 0)
    jint(j, sync, "start", o->start);
  else
    jput(j, sync, "start", mhrfit_value_new_null(j->err));
  if (o->end >= 0)
    jint(j, sync, "end", o->end);
  else
    jput(j, sync, "end", mhrfit_value_new_null(j->err));
  jint(j, sync, "every", o->every);
  if (o->max_frames >= 0)
    jint(j, sync, "max_frames", o->max_frames);
  else
    jput(j, sync, "max_frames", mhrfit_value_new_null(j->err));
  jbool(j, sync, "allow_gaps", o->allow_gaps);
  jbool(j, sync, "allow_vfr", o->allow_vfr);
  jput(j, m, "sync", sync);
  jstr(j, img, "format", ext);
  if (strcmp(ext, "jpg") == 0) {
    jint(j, img, "quality", o->image.quality);
    jint(j, img, "subsampling", o->image.subsampling);
  }
  jput(j, m, "image", img);
  for (size_t c = 0; c < p->n_cams; c++)
    if (!mhrfit_value_list_append(
            cams, mhrfit_value_new_string(MHRFIT_V_STRING, p->cams[c].name, strlen(p->cams[c].name), j->err), j->err))
      j->failed = true;
  jput(j, m, "cams", cams);
  for (size_t c = 0; c < p->n_cams; c++) jput(j, videos, p->cams[c].name, video_value(j, &p->cams[c]));
  jput(j, m, "videos", videos);
  jint(j, sum, "frames", (long long)s->n_frames);
  jint(j, sum, "views_written", (long long)s->views_written);
  jint(j, sum, "views_gap", (long long)s->views_gap);
  jint(j, sum, "views_failed", (long long)s->views_failed);
  jint(j, sum, "frames_decoded", (long long)s->frames_decoded);
  jint(j, sum, "frames_corrupt", (long long)s->frames_corrupt);
  jput(j, m, "summary", sum);
  return m;
}

static mhrfit_value *frame_value(const plan *p, size_t i, const char *ext, jb *j) {
  mhrfit_value *f = mhrfit_value_new_dict(j->err), *views = mhrfit_value_new_dict(j->err);
  if (!f || !views) {
    j->failed = true;
    mhrfit_value_free(views);
    return f;
  }
  jstr(j, f, "frame", p->row_names[i]);
  if (p->o->sync == MHRFIT_SYNC_INDEX)
    jint(j, f, "k", (long long)p->row_src[i]);
  else
    jint(j, f, "line", p->table.src_line[p->row_src[i]]);
  if (p->tick_ms) jnum(j, f, "tick_video_ms", p->tick_ms[i]);
  for (size_t c = 0; c < p->n_cams && !j->failed; c++) {
    const view *v = &p->views[i * p->n_cams + c];
    mhrfit_value *d = mhrfit_value_new_dict(j->err);
    if (!d) {
      j->failed = true;
      break;
    }
    if (v->vidx != MF_SYNC_GAP)
      jint(j, d, "video_frame", v->vidx);
    else
      jput(j, d, "video_frame", mhrfit_value_new_null(j->err));
    if (p->table.frame_time)
      jnum(j, d, "frame_time", p->table.frame_time[p->row_src[i] * p->table.n_cams + p->cams[c].col]);
    if (v->status == VIEW_WRITTEN) {
      jnum(j, d, "time", v->time);
      char rel[512];
      snprintf(rel, sizeof rel, "%s/%s.%s", p->row_names[i], p->cams[c].name, ext);
      jstr(j, d, "path", rel);
      if (v->corrupt) jbool(j, d, "corrupt", true);
    } else if (v->status == VIEW_GAP) {
      jstr(j, d, "gap", v->msg ? v->msg : "gap");
    } else {
      jstr(j, d, "error", v->msg ? v->msg : "not written");
    }
    jput(j, views, p->cams[c].name, d);
  }
  jput(j, f, "views", views);
  return f;
}

/* Writes the meta: the head as an indented object, then the frames one per line (streamed). */
static bool write_meta(const plan *p, const mhrfit_frames_summary *s, const char *ext, mhrfit_error *err) {
  jb j = {err, false};
  mhrfit_value *head = head_value(p, s, ext, &j);
  char *text = NULL;
  size_t len = 0;
  FILE *mem = head && !j.failed ? open_memstream(&text, &len) : NULL;
  bool ok = mem && mhrfit_value_write_json(head, mem, 1, err);
  if (mem) fclose(mem);
  mhrfit_value_free(head);
  if (!ok) {
    free(text);
    return j.failed ? false : MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "cannot build %s", META_NAME);
  }
  /* the head ends with "}": continue the object with the frames */
  while (len > 0 && text[len - 1] != '}') len--;
  mf_atomic_file af;
  char *path = mf_path_join(p->out, META_NAME, err);
  ok = len > 1 && path && mf_atomic_open(&af, path, err);
  free(path);
  if (!ok) {
    free(text);
    return false;
  }
  fwrite(text, 1, len - 1, af.f);
  free(text);
  fputs(",\n \"frames\": [", af.f);
  for (size_t i = 0; i < p->n_rows && ok; i++) {
    mhrfit_value *f = frame_value(p, i, ext, &j);
    fputs(i ? ",\n  " : "\n  ", af.f);
    ok = !j.failed && f && mhrfit_value_write_json(f, af.f, -1, err);
    mhrfit_value_free(f);
  }
  fputs("\n ]\n}\n", af.f);
  if (!ok) {
    mf_atomic_abort(&af);
    return false;
  }
  return mf_atomic_commit(&af, err);
}

/* ---- the request -------------------------------------------------------------------------- */

static bool check_options(const mhrfit_frames_options *o, mhrfit_error *err) {
  if (!o->out_dir || !*o->out_dir) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "no output folder given");
  if (o->sync != MHRFIT_SYNC_INDEX && o->sync != MHRFIT_SYNC_CSV && o->sync != MHRFIT_SYNC_TIMESTAMPS)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "unknown sync mode %d", (int)o->sync);
  if (o->sync == MHRFIT_SYNC_INDEX && o->sync_file)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "index sync takes no table file (%s)", o->sync_file);
  if (o->sync != MHRFIT_SYNC_INDEX && o->n_offsets)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "offsets apply to index sync only (the %s table gives each index)",
                       mhrfit_sync_mode_name(o->sync));
  if (o->sync != MHRFIT_SYNC_TIMESTAMPS && o->n_ports)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "port names apply to timestamps sync only");
  if (o->every < 1) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "every must be at least 1, not %lld", o->every);
  if (o->start < -1 || o->end < -1 || o->max_frames < -1)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "start, end and max_frames must not be negative");
  if (o->video.threads < 0) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "decoder threads must not be negative");
  if (o->image.format == MHRFIT_IMAGE_AUTO) {
    mhrfit_image_write_options t = o->image;
    t.format = MHRFIT_IMAGE_JPEG;
    mhrfit_image_encoder *e = mhrfit_image_encoder_new(&t, err);
    mhrfit_image_encoder_free(e);
    return e != NULL;
  }
  mhrfit_image_encoder *e = mhrfit_image_encoder_new(&o->image, err);
  mhrfit_image_encoder_free(e);
  return e != NULL;
}

/* Opens every video (with the scan) for its description. */
static bool probe_videos(plan *p, mhrfit_error *err) {
  mhrfit_video_options vo = p->o->video;
  vo.scan = true;
  for (size_t c = 0; c < p->n_cams; c++) {
    cam_plan *cp = &p->cams[c];
    mhrfit_video_reader *r = mhrfit_video_reader_new(cp->video, &vo, err);
    if (!r) {
      mhrfit_error_prefix(err, "camera '%s'", cp->name);
      return false;
    }
    cp->info = *mhrfit_video_reader_info(r);
    mhrfit_video_reader_free(r);
    struct stat st;
    cp->bytes = stat(cp->video, &st) == 0 ? (long long)st.st_size : -1;
    if (cp->info.header_frame_count >= 0 && cp->info.header_frame_count != cp->info.frame_count)
      logf_(p, MHRFIT_FRAMES_WARNING, "camera '%s': %s: the header says %lld frames, the file holds %lld", cp->name,
            cp->video, cp->info.header_frame_count, cp->info.frame_count);
    if (cp->info.frame_count <= 0)
      return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "camera '%s': %s has no video frame", cp->name, cp->video);
  }
  if (p->o->sync == MHRFIT_SYNC_INDEX && !p->o->allow_vfr)
    for (size_t c = 0; c < p->n_cams; c++)
      if (p->cams[c].info.vfr)
        return MHRFIT_FAIL(err, MHRFIT_ERR_UNSUPPORTED,
                           "camera '%s': %s has a variable frame rate (frame intervals from %.6g to %.6g s): index "
                           "sync would pair frames of different times; use a csv or timestamps sync table, or "
                           "allow variable frame rates to pair them by index anyway",
                           p->cams[c].name, p->cams[c].video, p->cams[c].info.min_interval,
                           p->cams[c].info.max_interval);
  return true;
}

bool mhrfit_frames_extract(const mhrfit_frames_options *o, mhrfit_frames_summary *summary, mhrfit_error *err) {
  mhrfit_frames_summary dummy;
  if (!summary) summary = &dummy;
  memset(summary, 0, sizeof *summary);
  if (!o) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "no options");
  if (!check_options(o, err)) return false;
  plan p;
  memset(&p, 0, sizeof p);
  p.o = o;
  mhrfit_image_encoder *enc = NULL;
  bool ok = false;
  if (!(p.out = mf_strdup(o->out_dir, err)) || !collect_videos(&p, err)) goto done;
  if (o->sync == MHRFIT_SYNC_INDEX && !select_cams(&p, "the videos", err)) goto done;
  if (!probe_videos(&p, err)) goto done;
  if (!(o->sync == MHRFIT_SYNC_INDEX ? build_index_rows(&p, err) : build_table_rows(&p, err))) goto done;
  if (!classify_views(&p, err) || !build_requests(&p, err)) goto done;
  summary->n_cams = p.n_cams;
  summary->n_frames = p.n_rows;
  for (size_t i = 0; i < p.n_rows * p.n_cams; i++) summary->views_gap += p.views[i].status == VIEW_GAP;
  if (!prepare_out(&p, err)) goto done;
  if (o->check_only) {
    logf_(&p, MHRFIT_FRAMES_INFO, "%zu frame(s) x %zu camera(s): %zu picture(s) to write, %zu gap(s)", p.n_rows,
          p.n_cams, p.n_wanted, summary->views_gap);
    ok = true;
    goto done;
  }
  mhrfit_image_write_options io = o->image;
  if (io.format == MHRFIT_IMAGE_AUTO) io.format = MHRFIT_IMAGE_JPEG;
  const char *ext = mhrfit_image_format_name(io.format);
  if (!(enc = mhrfit_image_encoder_new(&io, err))) goto done;
  size_t done_views = 0;
  for (size_t c = 0; c < p.n_cams; c++)
    if (!extract_camera(&p, c, enc, ext, &done_views, summary, err)) goto done;
  for (size_t i = 0; i < p.n_rows * p.n_cams; i++)
    if (p.views[i].status == VIEW_GAP && p.views[i].msg)
      logf_(&p, MHRFIT_FRAMES_WARNING, "camera '%s' frame '%s': gap: %s", p.cams[i % p.n_cams].name,
            p.row_names[i / p.n_cams], p.views[i].msg);
  ok = write_index_files(&p, ext, err) && write_meta(&p, summary, ext, err);
done:
  mhrfit_image_encoder_free(enc);
  plan_free(&p);
  return ok;
}

double mhrfit_frames_meta_fps(const char *capture_dir) {
  char *p = capture_dir ? mf_path_join(capture_dir, META_NAME, NULL) : NULL;
  mhrfit_value *m = p && mf_is_file(p) ? mhrfit_json_load(p, NULL) : NULL;
  free(p);
  double fps = 0;
  const mhrfit_value *sync = m && m->kind == MHRFIT_V_DICT ? mhrfit_value_dict_get(m, "sync") : NULL;
  const mhrfit_value *mode = sync && sync->kind == MHRFIT_V_DICT ? mhrfit_value_dict_get(sync, "mode") : NULL;
  const mhrfit_value *every = sync && sync->kind == MHRFIT_V_DICT ? mhrfit_value_dict_get(sync, "every") : NULL;
  const mhrfit_value *videos = m && m->kind == MHRFIT_V_DICT ? mhrfit_value_dict_get(m, "videos") : NULL;
  if (mode && mode->kind == MHRFIT_V_STRING && strcmp(mode->u.str.data, "index") == 0 && videos &&
      videos->kind == MHRFIT_V_DICT && videos->u.dict.count && videos->u.dict.vals[0]->kind == MHRFIT_V_DICT) {
    const mhrfit_value *r = mhrfit_value_dict_get(videos->u.dict.vals[0], "fps");
    double n = every && mhrfit_value_is_number(every) ? mhrfit_value_as_double(every) : 1;
    if (r && mhrfit_value_is_number(r) && n >= 1) fps = mhrfit_value_as_double(r) / n;
  }
  mhrfit_value_free(m);
  return isfinite(fps) && fps > 0 && fps <= 1000 ? fps : 0;
}
