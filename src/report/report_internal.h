/* Internal: the report's data in memory (read by report.c, written into the page by page.c). */
#ifndef MF_REPORT_INTERNAL_H
#define MF_REPORT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "mhrfit/camera.h"
#include "mhrfit/error.h"
#include "mhrfit/report.h"
#include "mhrfit/value.h"

/* MHR70 keypoints per frame. */
enum { MF_REPORT_K = 70 };

/* A camera of the report: its name, and its calibration when known. */
typedef struct mf_report_cam {
  char name[MHRFIT_CAMERA_NAME_MAX];
  bool calibrated;
  mhrfit_camera cam;
} mf_report_cam;

/* One embedded camera image (encoded bytes in `images` at offset). */
typedef struct mf_report_image {
  size_t offset, len;
  const char *mime;
} mf_report_image;

struct mhrfit_report {
  char *run_dir;
  char *title;
  mhrfit_report_options opts;
  size_t F, V;                 /* frames, cameras */
  char (*frames)[64];          /* F names */
  char (*status)[32];          /* F statuses */
  char **messages;             /* F messages (NULL: none) */
  mf_report_cam *cams;         /* V */
  mhrfit_value *config;        /* pipeline_config.json, or NULL */
  mhrfit_value *summary;       /* sequence_summary.json, or NULL */
  double fps;
  double bad_loss, bad_data_loss; /* NaN when unknown */
  char kp_source[64];          /* file the shown keypoints come from ("" when none) */
  /* per-frame data (NULL when absent); NaN where a value is missing */
  float *tri_points;           /* F×K×3 */
  uint8_t *tri_views;          /* F×K */
  uint8_t *tri_reason;         /* F×K (255: no triangulation for the frame) */
  uint8_t *tri_inlier;         /* F×K×V: 0 not observed, 1 inlier, 2 observed but rejected */
  float *tri_cam_err;          /* F×V */
  float *n_points;             /* F */
  float *kp;                   /* F×K×3 shown keypoints */
  float *kp_other;             /* F×K×3 the other sequence (fitted when smoothed is shown) */
  const float *fitted_kp, *smoothed_kp; /* kp or kp_other (or NULL): which is which */
  float *obs2d;                /* F×V×K×2 */
  uint8_t *obs_present;        /* F×V */
  float *proj_tri, *proj_kp;   /* F×V×K×2 */
  float *loss, *data_loss;     /* F */
  float *smooth_change;        /* F, mm */
  float *mpjpe_fit, *mpjpe_smooth; /* F, mm */
  /* up axis */
  char up_name[4];
  double U[9];
  double floor_y;
  /* images */
  unsigned char *images;       /* encoded image bytes */
  size_t images_len;
  mf_report_image *image_list;
  size_t n_images;
  long *image_index;           /* F×V index into image_list, −1 when none */
  /* body */
  unsigned char *glb;
  size_t glb_len;
  float *body_time;            /* F animation times (s), NaN where the body is not shown */
  int body_lod;
  size_t body_vertices;
  /* notes and the files read */
  char **notes;
  size_t n_notes;
  char **files;                /* pairs: file, state */
  size_t n_files;
  size_t html_bytes;
};

/* Adds a note (printf-style); returns false on MHRFIT_ERR_NOMEM. */
bool mf_report_note(mhrfit_report *r, mhrfit_error *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Embeds the camera images of the capture (images.c); unreadable images are a note. */
bool mf_report_images(mhrfit_report *r, mhrfit_error *err);

/* Exports the body as a GLB into r->glb (body.c); a missing rig or a failed export is a note. */
bool mf_report_body(mhrfit_report *r, mhrfit_error *err);

/* The 65 MHR70 skeleton links (keypoint index pairs). */
extern const unsigned char mf_mhr70_links[65][2];

#endif
