/* Internal pieces of the pipeline (include/mhrfit/pipeline.h). Not part of the public API. */
#ifndef MF_PIPELINE_INTERNAL_H
#define MF_PIPELINE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/lock.h"
#include "common/path.h"
#include "common/pool.h"
#include "mhrfit/error.h"
#include "mhrfit/fit_io.h"
#include "mhrfit/pipeline.h"
#include "mhrfit/value.h"

/* What the run keeps of each frame beyond its parameters (the per-frame files hold the rest). */
typedef struct mf_frame_rec {
  char signature[24];   /* identity of the frame's inputs, its prior and the settings */
  int n_available;      /* camera files present */
  int n_tri_points;     /* triangulated points (from the journal for a reused frame) */
  bool reused, retried;
  signed char init_view;/* view column (p->layout->cams) of the initial view in sequence_fit.npz (-1: none) */
  int iters;            /* iterations in sequence_fit.npz */
  double fit_scale;     /* scale of the similarity fitted at the final pose (NaN: not fitted) */
  double losses[4];     /* best and final total loss, best and final data loss in sequence_fit.npz */
  double t_tri, t_fit, t_write; /* seconds (this run) */
} mf_frame_rec;

/* The journal read at the start: one record per frame name, sorted by name. */
typedef struct mf_journal_entry {
  char *name, *record;
  size_t line;
} mf_journal_entry;

typedef struct mf_journal {
  mf_journal_entry *e;
  size_t n, cap;
} mf_journal;
/* A run on a detector's keypoints (detector.c); NULL for a SAM 3D Body capture. */
typedef struct mf_detector mf_detector;

/* Per camera, what the frames of this run showed (the diagnosis of unit and resolution mistakes). */
typedef struct mf_cam_stats {
  size_t n_kp;        /* finite 2D keypoints */
  size_t n_quarter;   /* ... inside the top-left quarter of the calibrated image */
  size_t n_outside;   /* ... outside the calibrated image */
  size_t n_err;       /* views of triangulated points with a reprojection error */
  size_t n_over_gate; /* ... above the inlier gate */
} mf_cam_stats;

struct mhrfit_pipeline {
  mhrfit_pipeline_options o;   /* strings borrowed */
  bool ran;
  double t_start, t_setup;
  char *input_real, *out_real; /* real paths (out_real NULL while the folder does not exist) */
  char fps_origin[32];          /* where o.smooth.fps comes from: "option", "frames_meta.json", "assumed" */
  /* cameras: calibration names and file stems (owned copies) */
  size_t V;
  char **cams, **stems;
  /* frames */
  mf_names frames;
  size_t F;
  mhrfit_value *config;
  uint64_t config_hash;
  mhrfit_calib *all, *cal;
  mhrfit_triangulator *triangulator;
  mhrfit_rig *rig;
  mhrfit_fitter *fitter, *retry_fitter, *ref_fitter; /* no mesh; ref_fitter: a frozen chain's first frame */
  mhrfit_fitter *mesh_fitter;    /* the sequence's geometry with the mesh (write_mesh), else fitter */
  size_t n_hist;
  /* the run */
  size_t threads;                /* POSIX threads of the run (the caller's included) */
  mhrfit_triangulator **tri_of;  /* per thread; [0] = triangulator */
  mhrfit_fitter **geo_of;        /* per thread, the sequence's geometry; [0] = mesh_fitter; made when needed */
  mf_dir_lock *lock;
  char first_ingest_error[512];  /* the first failed view of stage 1, for the message of a run that fits nothing */
  mhrfit_fit_archive *layout;    /* the sequence files' shape and description (one frame, never filled) */
  mf_frame_rec *rec;
  double *params, *sim;          /* F x 204 fitted (then recovered) parameters, F x 13 output similarities */
  char (*status)[32];            /* final statuses (after recovery) */
  char (*raw_status)[32];        /* fit statuses before recovery */
  char **message;                /* F final messages (NULL when none) */
  unsigned char *labels;         /* F smoothing labels */
  bool sequence_done;            /* the statuses above are final */
  mf_journal state;              /* the journal read at the start */
  FILE *journal;
  char markers_id[96];           /* identity of the stage-1 file the surface markers came from */
  long markers_f, markers_v;     /* that file's frame and camera (-1: no markers) */
  /* the temporal prior: the last ok frame; the scales: the first ok frame */
  double prev[204], scales[68];
  mhrfit_similarity prev_sim;
  long prev_frame, scales_frame;
  /* the diagnosis */
  mf_cam_stats *cam_stats;       /* V */
  double *body_width;            /* F: shoulder width of the triangulated body (NaN: unknown) */
  mhrfit_value *diagnosis;       /* list of messages */
  mhrfit_pipeline_result res;
  mf_detector *det;              /* a detector's keypoints (input_format), else NULL */
};

/* Logs one line through the options' callback (printf-style). */
void mf_pipeline_log(const mhrfit_pipeline *p, mhrfit_pipeline_log_level lv, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* True when the caller asked the run to stop. */
bool mf_pipeline_cancelled(const mhrfit_pipeline *p);

/* The settings document of a run (pipeline_config.json): every option that shapes the results,
 * under the command-line option names, with the cameras, frames and level of detail resolved. */
mhrfit_value *mf_pipeline_config(const mhrfit_pipeline *p, mhrfit_error *err);

/* xxHash64 of the compact JSON text of `v`. */
bool mf_pipeline_value_hash(const mhrfit_value *v, uint64_t *hash, mhrfit_error *err);

/* The identity of the settings `config` (mf_pipeline_config()): its hash with the paths
 * replaced by what they name — the input folders left out (each frame's files are identified on
 * their own), the calibration, keypoint names and map by their content, the assets folder by its
 * absolute path — so that a run started from another working folder reuses its frames and an
 * edited calibration redoes them. */
bool mf_pipeline_config_identity(const mhrfit_value *config, uint64_t *hash, mhrfit_error *err);

/* Stages of a run (frames.c, sequence.c), on the run's threads. mf_pipeline_alloc() makes the
 * per-frame records (rec, params, sim, statuses, messages, labels, body widths), the camera
 * statistics and the per-thread slots (tri_of[0] and geo_of[0] set from the run's); prepare
 * calls it, the detector path too. */
bool mf_pipeline_alloc(mhrfit_pipeline *p, mhrfit_error *err);
bool mf_pipeline_prepare(mhrfit_pipeline *p, mhrfit_error *err);
bool mf_pipeline_frames(mhrfit_pipeline *p, mf_pool *pool, mhrfit_error *err);
bool mf_pipeline_sequence(mhrfit_pipeline *p, mf_pool *pool, mhrfit_error *err);
/* The geometry fitters of threads 1.. (p->geo_of), markers locked as the run's. */
bool mf_pipeline_geometry_fitters(mhrfit_pipeline *p, mhrfit_error *err);
/* The diagnosis of unit and resolution mistakes (and of a detector's too few segments) into
 * p->diagnosis (logged as warnings). */
bool mf_pipeline_diagnose(mhrfit_pipeline *p, mhrfit_error *err);
bool mf_pipeline_write_summary(mhrfit_pipeline *p, mhrfit_error *err);
/* Fails, saying why and where files were looked for, when no frame was fitted. */
bool mf_pipeline_check_fitted(mhrfit_pipeline *p, mhrfit_error *err);

/* A detector's keypoints instead of stage 1 (detector.c): the options; the observations, cameras
 * and frames (in place of the frame folders); the calibration, triangulator, rig, keypoint map
 * and sequence fitter; the per-frame stage (triangulation, the sequence's calibration, the fits,
 * the journal), after which the sequence stage is shared. */
bool mf_detector_check_options(const mhrfit_pipeline_options *o, mhrfit_error *err);
bool mf_detector_open(mhrfit_pipeline *p, mhrfit_error *err);
bool mf_detector_load_models(mhrfit_pipeline *p, mhrfit_error *err);
bool mf_detector_frames(mhrfit_pipeline *p, mhrfit_error *err);
/* Another fitter of the sequence's geometry (the detector's keypoints and markers), for a thread
 * of the sequence stage. The caller owns it. */
mhrfit_fitter *mf_detector_geometry_fitter(const mhrfit_pipeline *p, mhrfit_error *err);
void mf_detector_free(mf_detector *d);
/* The warning of the sequence's calibration (too few segments for the proportions) for the
 * diagnosis, NULL when none. */
const char *mf_detector_warning(const mhrfit_pipeline *p);

/* Pieces of pipeline.c and frames.c the detector path shares: keeps the cameras of `keep`; the
 * cameras' placement check; the journal opened (earlier state read unless overwrite); a frame
 * reused into `one` (frame 0) when the journal has its signature and its fit.npz loads; the
 * message of a bad_loss frame in `one`. */
void mf_pipeline_keep_cameras(mhrfit_pipeline *p, const bool *keep);
bool mf_pipeline_check_rig_geometry(mhrfit_pipeline *p, mhrfit_error *err);
bool mf_pipeline_open_journal(mhrfit_pipeline *p, mhrfit_error *err);
bool mf_pipeline_reuse_frame(mhrfit_pipeline *p, size_t f, const char *fit_path, mhrfit_fit_archive *one);
void mf_pipeline_bad_loss_message(const mhrfit_pipeline *p, mhrfit_fit_archive *one);

/* Makes frame f's fit in `one` self-describing before it is saved: the frame's name, the rate,
 * the joint names and the up axis of its keypoints (as the sequence files). */
bool mf_pipeline_describe_frame(const mhrfit_pipeline *p, size_t f, mhrfit_fit_archive *one, mhrfit_error *err);

/* The report of the run into <out>/report.html (report.c; options.report). */
bool mf_pipeline_report(mhrfit_pipeline *p, mhrfit_error *err);

/* The overlays of the run into <out>/overlay/ (overlay.c; options.overlay): no pictures at all is
 * a warning (true); the checks of the overlay_* settings, before anything is read. */
bool mf_pipeline_overlay(mhrfit_pipeline *p, mhrfit_error *err);
bool mf_pipeline_overlay_check(const mhrfit_pipeline_options *o, mhrfit_error *err);

/* The journal <out>/run_state.txt: a header line, then one "<frame>\t<record>" line per finished
 * frame, appended and flushed as each frame's files are in place (later lines win; a line cut
 * short by a kill is ignored). Appending keeps the cost per frame constant. */

/* Reads the journal at `path` into `j` (frame name -> record string, the last line of a name
 * winning); a missing file, or one of another format version, leaves `j` empty. */
void mf_journal_read(const char *path, mf_journal *j);

/* The record of frame `name`, or NULL (a binary search). */
const char *mf_journal_find(const mf_journal *j, const char *name);

void mf_journal_free(mf_journal *j);

/* Rewrites the journal with the entries of `j` (atomically) and opens it for appending. */
FILE *mf_journal_open(const char *path, const mf_journal *j, mhrfit_error *err);

/* Appends one finished frame and flushes. A name with a tab or a line break, or a record with a
 * line break, is skipped (such a frame is simply redone next time). */
bool mf_journal_append(FILE *f, const char *path, const char *name, const char *record, mhrfit_error *err);

#endif
