/* Writing the overlays of every selected view, the videos and overlay_summary.json
 * (mhrfit_overlay_process()). See include/mhrfit/overlay.h ("Overlays of a run"). */
#include <libswscale/swscale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/file.h"
#include "common/lock.h"
#include "common/mem.h"
#include "common/path.h"
#include "export/export_internal.h"
#include "media/media_internal.h"
#include "mhrfit/json.h"
#include "overlay/overlay_internal.h"

#define SUMMARY_NAME "overlay_summary.json"
#define MISSING_LOGGED 8
/* A picture whose size differs from the calibration's by less than this in each direction is
 * taken as the codec's block padding (1080 coded as 1088) and drawn as it is. */
#define PAD_TOLERANCE 16

bool mf_resize(const mhrfit_image *src, mhrfit_image *dst, struct SwsContext **ctx, mhrfit_error *err) {
  if (src->channels != 3 || dst->channels != 3)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "resizing takes RGB pictures");
  int flags = dst->width < src->width || dst->height < src->height ? SWS_AREA : SWS_BILINEAR;
  *ctx = sws_getCachedContext(*ctx, src->width, src->height, AV_PIX_FMT_RGB24, dst->width, dst->height,
                              AV_PIX_FMT_RGB24, flags, NULL, NULL, NULL);
  if (!*ctx) return MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "cannot set up resizing %dx%d to %dx%d", src->width,
                                src->height, dst->width, dst->height);
  const uint8_t *in[4] = {src->data, NULL, NULL, NULL};
  uint8_t *out[4] = {dst->data, NULL, NULL, NULL};
  int is[4] = {(int)src->stride, 0, 0, 0}, os[4] = {(int)dst->stride, 0, 0, 0};
  if (sws_scale(*ctx, in, is, 0, src->height, out, os) != dst->height)
    return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "resizing %dx%d to %dx%d failed", src->width, src->height, dst->width,
                       dst->height);
  return true;
}

void mf_resize_free(struct SwsContext **ctx) {
  sws_freeContext(*ctx);
  *ctx = NULL;
}

/* An RGB picture whose rows libswscale may overrun by a few SIMD blocks. */
static mhrfit_image *new_rgb(int w, int h, mhrfit_error *err) { return mf_image_new_padded(w, h, 3, 64, 256, err); }

static void fill(mhrfit_image *img, unsigned char v) {
  for (int y = 0; y < img->height; y++) memset(img->data + (size_t)y * img->stride, v, (size_t)img->width * 3);
}

/* Copies the overlapping top-left part of src into dst (the rest black). */
static void place(const mhrfit_image *src, mhrfit_image *dst) {
  fill(dst, 0);
  int w = src->width < dst->width ? src->width : dst->width, h = src->height < dst->height ? src->height : dst->height;
  for (int y = 0; y < h; y++) memcpy(dst->data + (size_t)y * dst->stride, src->data + (size_t)y * src->stride, (size_t)w * 3);
}

/* A dark frame saying why a view has no overlay. */
static void placeholder(mhrfit_image *img, const char *frame, const char *cam, const char *reason) {
  fill(img, 28);
  int s = (img->width < img->height ? img->width : img->height) / 360;
  if (s < 1) s = 1;
  char l1[200], l2[200];
  snprintf(l1, sizeof l1, "frame %s  camera %s", frame, cam);
  /* the reason cut to the width */
  size_t max = (size_t)(img->width / (6 * s)) > 4 ? (size_t)(img->width / (6 * s)) - 2 : 2;
  snprintf(l2, sizeof l2, "%.*s", (int)(max < sizeof l2 - 1 ? max : sizeof l2 - 1), reason);
  mhrfit_rgba c = {220, 220, 220, 255};
  mhrfit_draw_text(img, 4 * s, img->height / 2 - 12 * s, s, l1, c);
  mhrfit_draw_text(img, 4 * s, img->height / 2 + 2 * s, s, l2, c);
}

/* ------------------------------------------------------------------ the job's state */

typedef struct cam_state {
  int width, height;           /* size of the camera's frames in the videos */
  mhrfit_video_writer *video;
  mhrfit_image *frame;         /* a frame of that size (placeholders, resized pictures) */
  mhrfit_image *tile;          /* its tile in the grid */
  struct SwsContext *sws_tile, *sws_rescale;
  bool noted_padding;
} cam_state;

typedef struct job {
  mhrfit_overlay *ov;
  cam_state *cs;
  mhrfit_image_encoder *enc;
  const char *ext;
  mhrfit_video_writer *grid;
  mhrfit_image *grid_img;
  int cell_w, cell_h, cols;
  mf_buf files, skipped;       /* JSON items of overlay_summary.json */
  size_t n_files, n_skipped;
  size_t n_missing; /* views without a picture: the first MISSING_LOGGED are logged one by one */
  mhrfit_overlay_summary sum;
  mf_dir_lock *lock; /* of the output folder, while it is written */
} job;

static void add_file(job *j, const char *rel) {
  mf_buf_printf(&j->files, "%s\n    ", j->n_files++ ? "," : "");
  mf_buf_json_str(&j->files, rel);
}

static void add_skipped(job *j, const char *frame, const char *cam, const char *kind, const char *reason) {
  mf_buf_printf(&j->skipped, "%s\n    {\"frame\": ", j->n_skipped++ ? "," : "");
  mf_buf_json_str(&j->skipped, frame);
  mf_buf_printf(&j->skipped, ", \"camera\": ");
  mf_buf_json_str(&j->skipped, cam);
  mf_buf_printf(&j->skipped, ", \"kind\": \"%s\", \"reason\": ", kind);
  mf_buf_json_str(&j->skipped, reason);
  mf_buf_printf(&j->skipped, "}");
}

/* ------------------------------------------------------------------ the output folder */

/* The folder must be new, empty, or an earlier overlay (whose files are removed first); it is
 * locked first (one writer at a time). */
static bool prepare_out(job *j, mhrfit_error *err) {
  const char *out = j->ov->out_dir;
  if (!(j->lock = mf_dir_lock_output(out, "mhrfit overlay", 2, err))) return false;
  char *sp = mf_path_join(out, SUMMARY_NAME, err);
  if (!sp) return false;
  bool earlier = mf_is_file(sp);
  mf_names list = {0};
  bool ok = mf_list_dir(out, NULL, false, &list, err);
  size_t n_other = list.count;
  for (size_t i = 0; i < list.count; i++) n_other -= strcmp(list.items[i], MF_DIR_LOCK_NAME) == 0;
  if (ok && n_other && !earlier)
    ok = MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT,
                     "%s is not empty and holds no %s (not an earlier overlay): choose a new or empty folder", out,
                     SUMMARY_NAME);
  if (ok && earlier && !j->ov->o.overwrite)
    ok = MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "%s holds an earlier overlay: allow overwriting (--overwrite) to replace it", out);
  mf_names_free(&list);
  mhrfit_value *prev = ok && earlier ? mhrfit_json_load(sp, err) : NULL;
  if (ok && earlier && !prev) ok = false;
  const mhrfit_value *files = prev && prev->kind == MHRFIT_V_DICT ? mhrfit_value_dict_get(prev, "files") : NULL;
  for (size_t i = 0; ok && files && files->kind == MHRFIT_V_LIST && i < files->u.list.count; i++) {
    const mhrfit_value *f = files->u.list.items[i];
    if (f->kind != MHRFIT_V_STRING || f->u.str.data[0] == '/' || strstr(f->u.str.data, "..")) continue;
    char *p = mf_path_join(out, f->u.str.data, err);
    if (!p) {
      ok = false;
      break;
    }
    /* a file directly in the folder or in one of its frame folders, never through a link */
    char *slash = strrchr(p, '/');
    bool sub = slash && slash > p + strlen(out), linked = false;
    if (sub) {
      struct stat st;
      *slash = '\0';
      linked = lstat(p, &st) != 0 || !S_ISDIR(st.st_mode) || strchr(p + strlen(out) + 1, '/');
      *slash = '/';
    }
    if (!linked) unlink(p);
    if (sub && !linked) { /* an emptied frame folder */
      *slash = '\0';
      rmdir(p);
    }
    free(p);
  }
  if (ok && earlier) unlink(sp);
  mhrfit_value_free(prev);
  free(sp);
  return ok;
}

/* ------------------------------------------------------------------ sizes */

/* The size the camera's pictures are drawn at, from its first readable picture: the picture's own
 * size when it matches the calibration or differs by codec padding, the calibration's when it is
 * rescaled; the calibration's (else 640x480) when no picture can be probed. */
static void frame_size(const mhrfit_overlay *ov, size_t c, int *w, int *h) {
  const mhrfit_camera *cam = &ov->calib->cams[c];
  *w = cam->width > 0 ? cam->width : 640, *h = cam->height > 0 ? cam->height : 480;
  for (size_t i = 0; i < ov->n_frames; i++) {
    char *p = mf_ov_image_path(ov, ov->frame_names[i], cam->name, NULL);
    int pw, ph;
    bool ok = p && mhrfit_image_probe(p, &pw, &ph, NULL, NULL);
    free(p);
    if (!ok) continue;
    bool known = cam->width > 0 && cam->height > 0;
    bool close = known && abs(pw - cam->width) < PAD_TOLERANCE && abs(ph - cam->height) < PAD_TOLERANCE;
    if (!known || close || !ov->o.rescale) *w = pw, *h = ph;
    return;
  }
}

/* ------------------------------------------------------------------ one view */

enum { VIEW_OK = 0, VIEW_MISSING, VIEW_UNREADABLE, VIEW_SIZE };

/* Reads the picture of view (i, c) into *img, resized when asked to; the caption note and, when
 * the view is skipped, the reason. */
static int read_view(job *j, size_t i, size_t c, mhrfit_image **img, char *note, size_t note_size, char *reason,
                     size_t reason_size) {
  mhrfit_overlay *ov = j->ov;
  const mhrfit_camera *cam = &ov->calib->cams[c];
  const char *frame = ov->frame_names[i];
  mhrfit_error e = {0};
  note[0] = reason[0] = '\0';
  char *path = mf_ov_image_path(ov, frame, cam->name, &e);
  if (!path) {
    snprintf(reason, reason_size, "no picture %s/%s/%s.jpg, .jpeg or .png%s%s", ov->capture, frame, cam->name,
             e.type ? ": " : "", e.type ? e.message : "");
    return VIEW_MISSING;
  }
  mhrfit_image_free(*img);
  *img = mhrfit_image_read(path, 3, &e);
  if (!*img) {
    snprintf(reason, reason_size, "%s", e.message);
    free(path);
    return VIEW_UNREADABLE;
  }
  int w = (*img)->width, h = (*img)->height;
  if (cam->width > 0 && cam->height > 0 && (w != cam->width || h != cam->height)) {
    cam_state *cs = &j->cs[c];
    if (abs(w - cam->width) < PAD_TOLERANCE && abs(h - cam->height) < PAD_TOLERANCE) {
      ov->info[c].padded++;
      snprintf(note, note_size, "picture %dx%d, calibration %dx%d (codec padding: drawn as is)", w, h, cam->width,
               cam->height);
      if (!cs->noted_padding)
        mf_ov_log(ov, MHRFIT_OVERLAY_INFO,
              "camera '%s': pictures of %dx%d, calibration %dx%d: taken as a video codec's block padding, drawn in "
              "the calibration's pixel coordinates as they are (%s)", cam->name, w, h, cam->width, cam->height, path);
      cs->noted_padding = true;
    } else if (ov->o.rescale) {
      mhrfit_image *r = new_rgb(cam->width, cam->height, &e);
      if (!r || !mf_resize(*img, r, &cs->sws_rescale, &e)) {
        mhrfit_image_free(r);
        snprintf(reason, reason_size, "%s: %s", path, e.message);
        free(path);
        return VIEW_UNREADABLE;
      }
      mhrfit_image_free(*img);
      *img = r;
      ov->info[c].rescaled++;
      snprintf(note, note_size, "rescaled from %dx%d to the calibration's %dx%d", w, h, cam->width, cam->height);
    } else {
      snprintf(reason, reason_size,
               "%s is %dx%d, the calibration of camera '%s' %dx%d (--rescale resamples it to the calibration's size)",
               path, w, h, cam->name, cam->width, cam->height);
      free(path);
      return VIEW_SIZE;
    }
  }
  free(path);
  return VIEW_OK;
}

/* Writes the overlay of view (i, c). */
static bool write_view(job *j, size_t i, size_t c, const mhrfit_image *img, mhrfit_error *err) {
  mhrfit_overlay *ov = j->ov;
  char rel[300];
  snprintf(rel, sizeof rel, "%s/%s.%s", ov->frame_names[i], ov->calib->cams[c].name, j->ext);
  char *dir = mf_path_join(ov->out_dir, ov->frame_names[i], err);
  char *path = dir ? mf_path_join(ov->out_dir, rel, err) : NULL;
  bool ok = path && mf_make_dirs(dir, err) && mf_image_encoder_write(j->enc, path, img, false, err);
  free(dir);
  free(path);
  if (ok) add_file(j, rel);
  return ok;
}

/* ------------------------------------------------------------------ videos */

static bool open_videos(job *j, mhrfit_error *err) {
  mhrfit_overlay *ov = j->ov;
  const mhrfit_overlay_options *o = &ov->o;
  mhrfit_video_writer_options vo = o->video_options;
  vo.fps = j->sum.fps;
  size_t n_show = 0;
  for (size_t c = 0; c < ov->calib->n_cams; c++) {
    cam_state *cs = &j->cs[c];
    if (!ov->info[c].has_images) continue;
    n_show++;
    frame_size(ov, c, &cs->width, &cs->height);
    if (!(cs->frame = new_rgb(cs->width, cs->height, err))) return false;
    if (!o->video) continue;
    char *p = mf_strdup_printf(err, "%s/%s.mp4", ov->out_dir, ov->calib->cams[c].name);
    if (!p) return false;
    cs->video = mhrfit_video_writer_new(p, cs->width, cs->height, &vo, err);
    free(p);
    if (!cs->video) return false;
    snprintf(j->sum.codec, sizeof j->sum.codec, "%s", mhrfit_video_writer_codec(cs->video));
    if (*mhrfit_video_writer_note(cs->video) && n_show == 1)
      mf_ov_log(ov, MHRFIT_OVERLAY_WARNING, "%s", mhrfit_video_writer_note(cs->video));
    ov->info[c].video_width = cs->width, ov->info[c].video_height = cs->height;
  }
  if (!o->grid) return true;
  j->cols = o->grid_columns > 0 ? o->grid_columns : (int)ceil(sqrt((double)n_show));
  int rows = (int)((n_show + (size_t)j->cols - 1) / (size_t)j->cols);
  j->cell_h = o->grid_height, j->cell_w = 2;
  for (size_t c = 0; c < ov->calib->n_cams; c++) {
    cam_state *cs = &j->cs[c];
    if (!ov->info[c].has_images) continue;
    int tw = (int)lround((double)cs->width * j->cell_h / cs->height);
    if (tw < 2) tw = 2;
    if (tw > 8192) tw = 8192;
    if (!(cs->tile = new_rgb(tw, j->cell_h, err))) return false;
    if (tw > j->cell_w) j->cell_w = tw;
  }
  if (!(j->grid_img = new_rgb(j->cols * j->cell_w, rows * j->cell_h, err))) return false;
  char *p = mf_strdup_printf(err, "%s/grid.mp4", ov->out_dir);
  if (!p) return false;
  j->grid = mhrfit_video_writer_new(p, j->grid_img->width, j->grid_img->height, &vo, err);
  free(p);
  if (j->grid) snprintf(j->sum.codec, sizeof j->sum.codec, "%s", mhrfit_video_writer_codec(j->grid));
  return j->grid != NULL;
}

/* Feeds camera c's frame of this selected frame to its video and its grid tile. */
static bool feed(job *j, size_t s, size_t c, const mhrfit_image *overlay, mhrfit_error *err) {
  cam_state *cs = &j->cs[c];
  const mhrfit_image *fr = overlay;
  if (overlay && (overlay->width != cs->width || overlay->height != cs->height)) {
    place(overlay, cs->frame);
    fr = cs->frame;
  } else if (!overlay) {
    fr = cs->frame; /* the placeholder, drawn by the caller */
  }
  if (cs->video) {
    if (!mhrfit_video_writer_write(cs->video, fr, err)) return false;
    j->ov->info[c].video_frames = mhrfit_video_writer_frames(cs->video);
  }
  if (j->grid) {
    if (!mf_resize(fr, cs->tile, &cs->sws_tile, err)) return false;
    int col = (int)(s % (size_t)j->cols), row = (int)(s / (size_t)j->cols);
    int x0 = col * j->cell_w + (j->cell_w - cs->tile->width) / 2, y0 = row * j->cell_h;
    for (int y = 0; y < cs->tile->height; y++)
      memcpy(j->grid_img->data + (size_t)(y0 + y) * j->grid_img->stride + (size_t)x0 * 3,
             cs->tile->data + (size_t)y * cs->tile->stride, (size_t)cs->tile->width * 3);
  }
  return true;
}

static bool finish_videos(job *j, mhrfit_error *err) {
  mhrfit_overlay *ov = j->ov;
  for (size_t c = 0; c < ov->calib->n_cams; c++) {
    cam_state *cs = &j->cs[c];
    if (!cs->video) continue;
    if (!mhrfit_video_writer_finish(cs->video, err)) return false;
    char rel[200];
    snprintf(rel, sizeof rel, "%s.mp4", ov->calib->cams[c].name);
    add_file(j, rel);
    j->sum.videos_written++;
  }
  if (j->grid) {
    if (!mhrfit_video_writer_finish(j->grid, err)) return false;
    add_file(j, "grid.mp4");
    j->sum.videos_written++;
  }
  return true;
}

/* ------------------------------------------------------------------ overlay_summary.json */

static void num_field(mf_buf *b, const char *key, double x, bool last) {
  mf_buf_printf(b, "\"%s\": ", key);
  if (isfinite(x)) mf_buf_num(b, x);
  else mf_buf_printf(b, "null");
  mf_buf_printf(b, "%s", last ? "" : ", ");
}

static bool write_summary(job *j, mhrfit_error *err) {
  mhrfit_overlay *ov = j->ov;
  const mhrfit_overlay_options *o = &ov->o;
  mf_buf b = {0};
  mf_buf_printf(&b, "{\n  \"tool\": \"mhrfit overlay\",\n  \"source\": ");
  mf_buf_json_str(&b, ov->run_dir ? ov->run_dir : ov->tri_path);
  mf_buf_printf(&b, ",\n  \"capture\": ");
  mf_buf_json_str(&b, ov->capture);
  mf_buf_printf(&b, ",\n  \"frames\": %zu,\n  \"first_frame\": ", ov->n_frames);
  mf_buf_json_str(&b, ov->frame_names[0]);
  mf_buf_printf(&b, ",\n  \"last_frame\": ");
  mf_buf_json_str(&b, ov->frame_names[ov->n_frames - 1]);
  mf_buf_printf(&b, ",\n  \"layers\": [");
  static const char *const names[] = {"mesh", "skeleton", "others", "keypoints", "points", "caption"};
  for (int i = 0, k = 0; i < 6; i++)
    if (ov->layers & (1u << i)) mf_buf_printf(&b, "%s\"%s\"", k++ ? ", " : "", names[i]);
  mf_buf_printf(&b, "],\n  \"mesh_style\": \"%s\",\n  \"lod\": %d,\n  \"format\": \"%s\",\n  \"rescale\": %s,\n",
                o->mesh_style == MHRFIT_MESH_WIREFRAME ? "wireframe" : "silhouette", ov->rig ? ov->rig->lod : -1,
                j->ext, o->rescale ? "true" : "false");
  mf_buf_printf(&b, "  \"video\": {\"per_camera\": %s, \"grid\": %s, \"codec\": ", o->video ? "true" : "false",
                o->grid ? "true" : "false");
  mf_buf_json_str(&b, j->sum.codec);
  mf_buf_printf(&b, ", ");
  num_field(&b, "fps", j->sum.fps, false);
  mf_buf_printf(&b, "\"fps_origin\": ");
  mf_buf_json_str(&b, j->sum.fps_origin);
  mf_buf_printf(&b, "},\n  \"cameras\": [");
  for (size_t c = 0; c < ov->calib->n_cams; c++) {
    const mhrfit_overlay_stats *in = &ov->info[c];
    mf_buf_printf(&b, "%s\n    {\"name\": ", c ? "," : "");
    mf_buf_json_str(&b, in->name);
    mf_buf_printf(&b,
                  ", \"has_images\": %s, \"written\": %zu, \"missing\": %zu, \"unreadable\": %zu, \"wrong_size\": %zu, "
                  "\"rescaled\": %zu, \"padded\": %zu, \"failed\": %zu, \"points\": %zu, \"points_3_cameras\": %zu, ",
                  in->has_images ? "true" : "false", in->written, in->missing, in->unreadable, in->wrong_size,
                  in->rescaled, in->padded, in->failed, in->n_err, in->n_err3);
    num_field(&b, "mean_reprojection_px", in->mean_err_px, false);
    num_field(&b, "mean_reprojection_3_cameras_px", in->mean_err3_px, false);
    num_field(&b, "max_reprojection_px", in->max_err_px, false);
    num_field(&b, "fit_keypoints_mean_px", in->mean_fit_err_px, false);
    mf_buf_printf(&b, "\"video_width\": %d, \"video_height\": %d, \"video_frames\": %lld}", in->video_width,
                  in->video_height, in->video_frames);
  }
  mf_buf_printf(&b, "\n  ],\n  \"skipped\": [");
  if (j->skipped.len) mf_buf_put(&b, j->skipped.data, j->skipped.len);
  mf_buf_printf(&b, "\n  ],\n  \"files\": [");
  if (j->files.len) mf_buf_put(&b, j->files.data, j->files.len);
  mf_buf_printf(&b, "\n  ]\n}\n");
  bool ok = !b.failed && !j->files.failed && !j->skipped.failed;
  if (!ok) MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
  char *p = ok ? mf_path_join(ov->out_dir, SUMMARY_NAME, err) : NULL;
  ok = p && mf_write_file_atomic(p, b.data, b.len, err);
  free(p);
  mf_buf_free(&b);
  return ok;
}

/* ------------------------------------------------------------------ the loop */

/* Draws and writes view (i, c) (slot s in the grid); counts what happened. */
static bool do_view(job *j, size_t i, size_t c, size_t s, mhrfit_image **img, mhrfit_error *err) {
  mhrfit_overlay *ov = j->ov;
  mhrfit_overlay_stats *in = &ov->info[c];
  const char *frame = ov->frame_names[i], *cam = in->name;
  char note[256], reason[1200];
  int st = read_view(j, i, c, img, note, sizeof note, reason, sizeof reason);
  bool drawn = false;
  if (st == VIEW_OK) {
    mhrfit_error e = {0};
    if (!mhrfit_overlay_render(ov, i, c, *img, note, err)) return false;
    drawn = true;
    if (write_view(j, i, c, *img, &e)) {
      in->written++, j->sum.images_written++;
    } else {
      in->failed++, j->sum.views_failed++;
      mf_ov_log(ov, MHRFIT_OVERLAY_ERROR, "frame '%s' camera '%s': %s", frame, cam, e.message);
      add_skipped(j, frame, cam, "write", e.message);
    }
  } else {
    static const char *const kinds[] = {"", "missing", "unreadable", "size"};
    if (st == VIEW_MISSING) in->missing++;
    else if (st == VIEW_UNREADABLE) in->unreadable++;
    else in->wrong_size++;
    j->sum.views_skipped++;
    if (st != VIEW_MISSING || j->n_missing++ < MISSING_LOGGED) /* a partial extraction: not one line per view */
      mf_ov_log(ov, MHRFIT_OVERLAY_WARNING, "frame '%s' camera '%s': skipped: %s", frame, cam, reason);
    add_skipped(j, frame, cam, kinds[st], reason);
  }
  if (!j->cs[c].video && !j->grid) return true;
  if (!drawn) placeholder(j->cs[c].frame, frame, cam, reason);
  return feed(j, s, c, drawn ? *img : NULL, err);
}

static void job_free(job *j) {
  if (j->cs)
    for (size_t c = 0; c < j->ov->calib->n_cams; c++) {
      cam_state *cs = &j->cs[c];
      mhrfit_video_writer_free(cs->video);
      mhrfit_image_free(cs->frame);
      mhrfit_image_free(cs->tile);
      mf_resize_free(&cs->sws_tile);
      mf_resize_free(&cs->sws_rescale);
    }
  free(j->cs);
  mhrfit_image_encoder_free(j->enc);
  mhrfit_video_writer_free(j->grid);
  mhrfit_image_free(j->grid_img);
  mf_buf_free(&j->files);
  mf_buf_free(&j->skipped);
  mf_dir_lock_release(j->lock);
}

bool mhrfit_overlay_process(mhrfit_overlay *ov, mhrfit_overlay_summary *summary, mhrfit_error *err) {
  double t0 = mf_now_seconds();
  const mhrfit_overlay_options *o = &ov->o;
  job j = {.ov = ov};
  j.sum.n_frames = ov->n_frames;
  for (size_t c = 0; c < ov->calib->n_cams; c++) j.sum.n_cams += ov->info[c].has_images;
  if (o->fps > 0) j.sum.fps = o->fps, snprintf(j.sum.fps_origin, sizeof j.sum.fps_origin, "option");
  else if (ov->fit && ov->fit->fps > 0)
    j.sum.fps = ov->fit->fps, snprintf(j.sum.fps_origin, sizeof j.sum.fps_origin, "%s", ov->fit->fps_origin);
  else if ((j.sum.fps = mhrfit_frames_meta_fps(ov->capture)) > 0) snprintf(j.sum.fps_origin, sizeof j.sum.fps_origin, "frames_meta.json");
  else j.sum.fps = 30, snprintf(j.sum.fps_origin, sizeof j.sum.fps_origin, "default");
  mhrfit_image_write_options io = o->image;
  if (io.format == MHRFIT_IMAGE_AUTO) io.format = MHRFIT_IMAGE_JPEG;
  j.ext = io.format == MHRFIT_IMAGE_PNG ? "png" : "jpg";
  mhrfit_image *img = NULL;
  bool ok = (j.cs = mf_calloc_array(ov->calib->n_cams, sizeof *j.cs, err)) != NULL && prepare_out(&j, err) &&
            (j.enc = mhrfit_image_encoder_new(&io, err)) != NULL;
  ok = ok && (!(o->video || o->grid) || open_videos(&j, err));
  size_t total = ov->n_frames * j.sum.n_cams, done = 0;
  for (size_t i = 0; ok && i < ov->n_frames; i++) {
    for (size_t c = 0, s = 0; ok && c < ov->calib->n_cams; c++) {
      if (!ov->info[c].has_images) continue;
      ok = do_view(&j, i, c, s++, &img, err);
      if (o->progress) o->progress(o->user, ++done, total);
    }
    if (ok && j.grid) ok = mhrfit_video_writer_write(j.grid, j.grid_img, err);
  }
  if (j.n_missing > MISSING_LOGGED)
    mf_ov_log(ov, MHRFIT_OVERLAY_WARNING, "%zu more views skipped for want of a picture (all listed in %s/%s)",
              j.n_missing - MISSING_LOGGED, o->out_dir ? o->out_dir : ".", SUMMARY_NAME);
  ok = ok && finish_videos(&j, err);
  j.sum.seconds = mf_now_seconds() - t0;
  ok = ok && write_summary(&j, err);
  if (summary) *summary = j.sum;
  mhrfit_image_free(img);
  job_free(&j);
  return ok;
}
