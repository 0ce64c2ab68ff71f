/* Internal pieces of the overlay module (drawing, rasteriser, overlays of a run). Not public. */
#ifndef MF_OVERLAY_INTERNAL_H
#define MF_OVERLAY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mhrfit/calib.h"
#include "mhrfit/export.h"
#include "mhrfit/observations.h"
#include "mhrfit/overlay.h"
#include "mhrfit/triangulate.h"
#include "mhrfit/value.h"

/* The 35 characters ('#' lit, '.' not) of the 5x7 glyph of c, rows top to bottom ('?' for
 * characters outside printable ASCII). */
const char *mf_font_glyph(unsigned char c);

/* Limits of the drawing calls (larger values are clamped): mark radius and thickness, text scale
 * and characters drawn per line. */
#define MF_MARK_MAX 4096
#define MF_TEXT_MAX_SCALE 256
#define MF_TEXT_MAX_CHARS 4096

/* Blends colour c with opacity a (0..255) into the pixel at p of an image with `ch` channels. */
static inline void mf_blend(unsigned char *p, int ch, mhrfit_rgba c, unsigned a) {
  if (a == 0) return;
  if (ch == 1) {
    unsigned y = (19595u * c.r + 38470u * c.g + 7471u * c.b + 32768u) >> 16;
    p[0] = (unsigned char)(p[0] + ((int)y - p[0]) * (int)a / 255);
    return;
  }
  if (a >= 255) {
    p[0] = c.r, p[1] = c.g, p[2] = c.b;
    return;
  }
  /* dst + (src - dst) a / 255, rounded to the nearest */
  p[0] = (unsigned char)(p[0] + (((int)c.r - p[0]) * (int)a + ((int)c.r >= p[0] ? 127 : -127)) / 255);
  p[1] = (unsigned char)(p[1] + (((int)c.g - p[1]) * (int)a + ((int)c.g >= p[1] ? 127 : -127)) / 255);
  p[2] = (unsigned char)(p[2] + (((int)c.b - p[2]) * (int)a + ((int)c.b >= p[2] ? 127 : -127)) / 255);
}

/* Blends colour c at opacity a (0..255) into pixel (x, y); outside the image: nothing. */
void mf_blend_pixel(mhrfit_image *img, int x, int y, mhrfit_rgba c, unsigned a);

/* Resamples `src` into `dst` (RGB, any sizes) with libswscale (area averaging when shrinking,
 * bilinear when growing), through the cached context *ctx (freed with mf_resize_free()). */
struct SwsContext;
bool mf_resize(const mhrfit_image *src, mhrfit_image *dst, struct SwsContext **ctx, mhrfit_error *err);
void mf_resize_free(struct SwsContext **ctx);

/* Most other persons kept per view. */
#define MF_OV_MAX_OTHERS 8

/* What one selected frame holds, loaded once for all cameras (frame.c). */
typedef struct mf_ov_frame {
  size_t index;               /* selected frame loaded; SIZE_MAX when none */
  bool loaded;
  /* triangulated points (none: n_pts 0) */
  size_t n_pts, n_tri_views;
  const double *pts;          /* n_pts x 3 */
  const uint8_t *inl;         /* n_pts x n_tri_views */
  const int32_t *nused;       /* n_pts */
  const int32_t *kp;          /* n_pts: keypoint index in the 2-D layout */
  long *tri_view;             /* per drawn camera: its view in the triangulation, -1 */
  mhrfit_tri_archive *own_tri;/* run folders: this frame's archive */
  char tri_note[256];         /* why there are no points ("" when there are) */
  /* 2-D keypoints per drawn camera */
  double *obs;                /* n_cams x n_kp2d x 2 */
  unsigned char *has_obs;     /* n_cams */
  double *others;             /* n_cams x MF_OV_MAX_OTHERS x n_kp2d x 2 */
  size_t *n_others;           /* n_cams */
  /* the fit */
  long fit;                   /* frame of the fit source, -1 when none or failed */
  bool mesh_done, mesh_ok;
  double *mesh;               /* rig vertices x 3, world */
  char status[48];
} mf_ov_frame;

struct mhrfit_overlay {
  mhrfit_overlay_options o;
  char *out_dir, *capture, *run_dir;
  char *tri_path;
  /* sources */
  mhrfit_export_source *fit;  /* the fit (run folders; tri + fit_path), or NULL */
  mhrfit_tri_archive *tri;    /* the triangulation archive of a tri source, or NULL */
  mhrfit_observations *obs;   /* tri source: observations of the selected person, or NULL */
  mhrfit_observations *oth[MF_OV_MAX_OTHERS];
  size_t n_oth;
  mhrfit_value *stage1_meta;  /* run folders: stage1_meta.json, or NULL */
  char *sam_root;             /* its sam_root */
  size_t n_kp2d;              /* keypoints of the 2-D layout (70 for SAM 3D Body) */
  bool kp2d_mhr70;            /* the 2-D layout is MHR70 (fitted keypoints comparable) */
  /* frames */
  size_t n_frames, begin;     /* selected: source frames [begin, begin + n_frames) */
  char (*frame_names)[64];    /* n_frames capture folder names */
  /* cameras */
  mhrfit_calib *calib;        /* the cameras to draw, in order */
  double *r2_limit;           /* per camera */
  mhrfit_overlay_stats *info;
  /* the mesh */
  mhrfit_rig *rig_own;
  const mhrfit_rig *rig;
  double *mesh_work;
  mhrfit_raster *raster;
  unsigned layers;
  mf_ov_frame fr;
};

/* overlay.c: passes a printf-style message to the options' log callback (when there is one). */
void mf_ov_log(const mhrfit_overlay *ov, mhrfit_overlay_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* frame.c: loads selected frame i into ov->fr (no-op when loaded). Errors name the file. */
bool mf_ov_load_frame(mhrfit_overlay *ov, size_t i, mhrfit_error *err);
/* frame.c: the frame's world mesh (computed on first use); false when there is none. */
bool mf_ov_mesh(mhrfit_overlay *ov, mhrfit_error *err);
/* frame.c: allocates the per-frame buffers for n_cams cameras. */
bool mf_ov_frame_init(mhrfit_overlay *ov, mhrfit_error *err);
void mf_ov_frame_free(mf_ov_frame *fr);

/* The picture of frame folder `frame`, camera `cam` in the capture (jpg, jpeg, png in either
 * case), as a new string; NULL when there is none (err untouched) or out of memory (err set). */
char *mf_ov_image_path(const mhrfit_overlay *ov, const char *frame, const char *cam, mhrfit_error *err);

#endif
