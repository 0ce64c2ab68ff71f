/**
 * @file pipeline.h
 * @brief The whole pipeline over a sequence as one library call (what `mhrfit run` does).
 *
 * ## What a run does
 *
 * 0. **Checks** (mhrfit_pipeline_new(), before anything is written): option values; the input
 *    folder; outputs never over inputs (the output folder is not the input or SAM folder, and
 *    neither they nor the calibration lie where a run writes); the calibration; the cameras
 *    (given, or every calibrated camera that has files, with `cam_map` for other file names;
 *    two cameras at one place are refused; translations that look like millimetres or
 *    centimetres are warned about); the frames: a sub-folder of the input is a frame when it
 *    holds a file of a camera (ingest.h), the others are named once in the log; the rig.
 * 1. **Stage 1** (ingest.h): the SAM 3D Body output of every frame and camera is read (or made
 *    with the estimator command, or by persistent `estimator_worker` processes that receive each
 *    camera's calibrated intrinsics as `cam_int`), one person selected and
 *    `<out>/stage1/<frame>/<cam>.npz` written; frames whose stage-1 files are current are reused.
 * 2. **Set-up**: the surface markers are calibrated from the first view (frame order, then
 *    camera order) that has parameters and 3D keypoints, so every run of the same inputs uses the
 *    same markers.
 * 3. **Per frame**, in natural order: a frame with fewer than `min_views` camera files is
 *    `missing_views`; otherwise its stage-1 keypoints are triangulated
 *    (`<out>/triangulation/<frame>/triangulated.npz`), a frame with fewer than
 *    `fit.min_valid_points` points is `triangulation_failed`, and the rest is fitted
 *    (`<out>/fit/<frame>/fit.npz`, no mesh) with the previous `ok` frame as temporal prior when
 *    it is at most `max_stale_frames` frames back, and the skeleton scales of the first `ok` frame
 *    (unless `per_frame_scales`). A `bad_loss` frame with a prior is refitted up to
 *    `bad_frame_retries` times with a stronger pull towards it:
 *    blend `b' = max(b, 0.9)`, weight `w' = max(3·w_temporal, 3e-4)`, iterations `2·iters`; a
 *    retry replaces the first fit when it is not bad or its best loss is lower. A `bad_loss`
 *    frame's message names the thresholds its losses passed.
 *    With `fit.freeze_lower_body` and MHRFIT_FREEZE_FROM_FIRST_FIT, a frame without a prior is
 *    fitted with its lower body free and starts the chain the later frames keep.
 *    The fitted parameters are rounded to float32 (what `fit.npz` holds) before they become the
 *    next frame's prior, so a resumed run continues from exactly what an uninterrupted one used.
 * 4. **Sequence**: with `write_mesh` the mesh of every fitted frame from its stored parameters;
 *    recovery of the frames that are not `ok` (sequence.h, `max_edge_copy_span`),
 *    `sequence_fit.npz`; smoothing (smooth.h) into `sequence_smoothed.npz` unless `smoothing`
 *    is off. Both archives describe themselves (fit_io.h: frame names, fps, keypoint and joint
 *    names, faces, units, world up).
 * 5. **Diagnosis and summary**: the signs of a unit or resolution mistake (a triangulated body
 *    far from a person's size, keypoints inside the top-left quarter of the calibrated image or
 *    outside it in every camera, views far from the triangulated points in every camera; with a
 *    detector's keypoints, proportions measured on too few segments,
 *    mhrfit_detfit_proportions_warning()) become
 *    warnings and the `diagnosis` of `sequence_summary.json` (per frame: status, fit status,
 *    message, initial camera, camera files present, triangulated points, losses, iterations,
 *    retried, reused, smoothing label, times). A run that fits no frame then fails
 *    (MHRFIT_ERR_NUMERIC) with a message saying why and where files were looked for.
 * 6. **Report** with `report`: `<out>/report.html` (mhrfit_report_run(): the body from `rig_path`
 *    at the report's default LOD 6, no camera images), also after a run that fitted nothing (its
 *    own error is then kept); what the page lacks is logged (`report: note: ...`).
 * 7. **Overlays** with `overlay`, after a run that fitted a frame: what `mhrfit overlay --run
 *    <out> --out <out>/overlay` writes (overlay.h: every frame and camera of the run, the body
 *    from `rig_path` at the run's LOD, the video rate the run's), with the pictures of
 *    `overlay_capture` (else those the overlay module finds for a run folder: the capture that
 *    stage 1 read, `input_dir`) and the `overlay_*` settings. No picture of any camera (a
 *    detector's keypoints without `overlay_capture`, a capture without images) is a warning
 *    saying where they were looked for, and the run still succeeds; views whose picture is
 *    missing or damaged are skipped as `mhrfit overlay` skips them; anything else that stops
 *    the overlays (a file that cannot be written) fails the run, its other files kept.
 *
 * ## Detector inputs
 *
 * With `input_format` the input is not a SAM 3D Body capture but the 2-D keypoints of a detector
 * in `input_dir` (observations.h: OpenPose JSON folders, per-camera arrays, Caliscope's csv) of a
 * `layout` (or of named keypoints with a `keypoint_map`), and MHR is fitted without views
 * (detector.h). Step 0 reads the keypoints of every frame (without `cams`, the calibrated
 * cameras whose input has a keypoint; the others are named in a warning); frame f is named by
 * its index as six digits (`000000`, ...; Caliscope: its sync index), which `frames` selects.
 * There is no stage 1; then
 * - per frame: a frame with keypoints in fewer than `min_views` cameras is `missing_views`; the
 *   others are triangulated (`<out>/triangulation/<frame>/triangulated.npz`, the layout's K
 *   keypoints) and those with fewer than `fit.min_valid_points` points are
 *   `triangulation_failed`;
 * - the sequence's body proportions and marker offsets are calibrated over the remaining frames
 *   (mhrfit_detfit_calibrate() with the 2-D detections, `calib_frames`);
 * - each of them is fitted in order (mhrfit_detfit_frame() with the camera metric and the
 *   reprojection refinement on its 2-D detections, detector.h; `<out>/fit/<frame>/fit.npz`) with
 *   the previous `ok` frame within `max_stale_frames` as start and temporal prior (its float32
 *   parameters, as for SAM 3D Body captures); the fit options are used with joint limits and
 *   frozen flexible lengths on and no similarity scale; `bad_frame_retries`, the person
 *   selection strategy and `freeze_from` do not apply (`person_index` picks OpenPose's person),
 *   `fit.freeze_lower_body` and `per_frame_scales` are refused;
 * - steps 4 to 6 as above: the archives' `pred_keypoints_3d` (F, K, 3) hold the fitted keypoints
 *   in the layout's order (`keypoint_names`), `opt_points3d_refined` the triangulated ones, one
 *   view column "none"; recovery and smoothing recompute them from the parameters.
 * A frame's signature hashes the settings, the selected cameras' calibration, the keypoint map,
 * the frame's keypoints (triangulation), the calibrated proportions and offsets, and its
 * prior's signature; the journal records both, so that a rerun neither refits nor rewrites what
 * is current.
 *
 * While it writes, the run holds the output folder's lock (an exclusive `flock` on
 * `<out>/.mhrfit.lock`, released by the kernel if the process dies): another run, ingest or demo
 * into the folder fails at once with MHRFIT_ERR_BUSY naming this process. A run that finds the
 * lock file of a killed run first removes the temporary files that run left.
 *
 * `<out>/pipeline_config.json` records every setting that shapes the results. A frame's
 * *signature* is the xxHash64 of those settings (the compact JSON), of the source of the
 * markers, of the signatures of the frames its temporal prior and its skeleton scales come from
 * (so a change propagates forward exactly as far as the prior chain reaches), and of the name,
 * size and modification time of each of its stage-1 files. `<out>/run_state.txt` (the journal:
 * a header line, then one `<frame>\t<signature>\t<triangulated points>\t<retried>` line appended
 * and flushed as each frame's files are in place) lets a later run reuse every frame whose
 * signature is unchanged and whose `fit.npz` loads, with what the first run measured, so a
 * killed or cancelled run resumes where it stopped, and a rerun after a change redoes only the
 * affected frames. `overwrite` redoes everything.
 *
 * ## Lifecycle
 *
 * mhrfit_pipeline_options_init() → set the fields → mhrfit_pipeline_new() (the checks, the
 * calibration, the rig: nothing is written) → mhrfit_pipeline_run() (does the work) →
 * mhrfit_pipeline_free(). A pipeline object runs once. Pipelines share no global state: several
 * may run one after the other or side by side (in different output folders) in one process; a
 * later option (worker threads, a batch of sessions) is a new field that
 * mhrfit_pipeline_options_init() sets to today's behaviour.
 *
 * ## Callbacks and cancellation
 *
 * `log` receives one line per event (no trailing newline); `progress` is called after each
 * frame of stage 1 and of the per-frame stage. Setting `*cancel` to non-zero (from another
 * thread or a signal handler) stops the run at the next frame boundary: every finished frame is
 * in place and journalled, mhrfit_pipeline_run() returns false with MHRFIT_ERR_CANCELLED, and a
 * later run with the same options resumes.
 */
#ifndef MHRFIT_PIPELINE_H
#define MHRFIT_PIPELINE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "mhrfit/calib.h"
#include "mhrfit/error.h"
#include "mhrfit/fit.h"
#include "mhrfit/ingest.h"
#include "mhrfit/media.h"
#include "mhrfit/overlay.h"
#include "mhrfit/sequence.h"
#include "mhrfit/smooth.h"
#include "mhrfit/triangulate.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What the lower body is locked to with `fit.freeze_lower_body`. */
typedef enum mhrfit_freeze_ref {
  /** A frame without a temporal prior (the first, or the first after a gap longer than
   *  `max_stale_frames`) is fitted with its lower body free; later frames keep its values. */
  MHRFIT_FREEZE_FROM_FIRST_FIT = 0,
  /** The initial view's SAM 3D Body estimate (the original pipeline's behaviour). */
  MHRFIT_FREEZE_FROM_VIEW
} mhrfit_freeze_ref;

/** Severity of a message passed to mhrfit_pipeline_options::log. */
typedef enum mhrfit_pipeline_log_level {
  MHRFIT_PIPELINE_INFO = 0, /**< what is done and why (stage summaries, re-ingested frames) */
  MHRFIT_PIPELINE_WARNING,  /**< something the user should know; the run goes on */
  MHRFIT_PIPELINE_ERROR     /**< a view or frame failed; the run goes on with the others */
} mhrfit_pipeline_log_level;

/** Stages reported through mhrfit_pipeline_options::progress. */
typedef enum mhrfit_pipeline_stage {
  MHRFIT_PIPELINE_STAGE_INGEST = 0, /**< stage 1 */
  MHRFIT_PIPELINE_STAGE_FRAMES      /**< triangulation and fit, frame by frame */
} mhrfit_pipeline_stage;

/** One progress report. */
typedef struct mhrfit_pipeline_progress {
  mhrfit_pipeline_stage stage; /**< the stage reporting */
  size_t done, total;          /**< frames done / to do in this stage */
  size_t reused;               /**< frames of this stage reused from an earlier run (FRAMES only) */
  size_t not_ok;               /**< frames so far whose fit status is not `ok` (FRAMES only) */
  double elapsed_s;            /**< seconds since the stage started */
  const char *frame;           /**< the frame just finished (FRAMES only; NULL otherwise) */
} mhrfit_pipeline_progress;

/**
 * Every setting of a run. Fill with mhrfit_pipeline_options_init() (the defaults below), then
 * set the required fields. Strings and arrays are borrowed: they must stay valid until
 * mhrfit_pipeline_free().
 */
typedef struct mhrfit_pipeline_options {
  /* inputs and outputs */
  const char *input_dir;        /**< capture: one folder per frame with `<cam>.<img>` and/or `<cam>.npz|.npy` (with
                                     `input_format`, the detector's keypoints: caliscope_csv also the csv file); required */
  const char *sam_dir;          /**< SAM 3D Body outputs `<sam_dir>/<frame>/<cam>.npz|.npy`; NULL = input_dir */
  const char *calib_path;       /**< calibration file (calib.h); required */
  const char *out_dir;          /**< output folder (created); required */
  const char *const *cams;      /**< calibration names of the cameras to use; NULL = every calibrated camera
                                     that has files (at least 2 needed) */
  size_t n_cams;                /**< 0 (every calibrated camera with files) or at least 2 */
  const char *const *cam_map;   /**< "FILE=NAME" entries: camera NAME's files are `<frame>/FILE.<ext>` (file
                                     names other than the calibration names); NULL = the names */
  size_t n_cam_map;             /**< entries of `cam_map` */
  const char *const *frames;    /**< only these frame folders (kept in natural order); NULL = every one */
  size_t n_frames;              /**< entries of `frames` */
  const char *rig_path;         /**< MHR assets folder or rig file (mhrfit_rig_open()); required */
  int lod;                      /**< mesh level of detail; -1 = `lod1.fbx` when present, else the lowest present, or the rig file's (-1) */
  bool write_mesh;              /**< write the mesh (`pred_vertices`, `faces`) into the sequence archives
                                     (false: it is made from the parameters when asked, e.g. LOD 1 takes
                                     220 kB per frame and file); the per-frame `fit.npz` never hold it */
  /* a detector's 2-D keypoints instead of a SAM 3D Body capture (see "Detector inputs") */
  const char *input_format;     /**< NULL = a SAM 3D Body capture (stage 1); "openpose", "arrays" or
                                     "caliscope_csv": the 2-D keypoints of a detector in `input_dir`
                                     (observations.h), fitted without views */
  const char *layout;           /**< their keypoint layout (layout.h, e.g. "body25b"; openpose needs one);
                                     NULL = named by `keypoint_names`, by the input (Caliscope point ids) or kp_0, ... */
  const char *keypoint_names;   /**< arrays, caliscope_csv without a layout: a file naming the keypoints (one per
                                     line or a JSON list); NULL = none */
  const char *keypoint_map;     /**< user JSON map of keypoints to MHR joints amending the layout's (detector.h);
                                     needed without a layout; NULL = none */
  const char *const *cam_dirs;  /**< openpose: one folder per camera of `cams`, in order; NULL = `<cam>_json` */
  size_t n_cam_dirs;            /**< entries of `cam_dirs` (0, or n_cams) */
  int calib_frames;             /**< frames of the sequence's marker calibration, 1..10000 (24) */
  /* stage 1 */
  const char *estimator;        /**< command run where a SAM output is missing (ingest.h); NULL = none */
  const char *const *model_ids; /**< estimator model identifiers, recorded and compared */
  size_t n_model_ids;           /**< entries of `model_ids` */
  mhrfit_person_strategy person_strategy; /**< MHRFIT_PERSON_LARGEST_BBOX */
  long person_index;            /**< person of MHRFIT_PERSON_INDEX, ≥ 0 (0) */
  const char *estimator_worker; /**< persistent estimator worker command (ingest.h; `{worker}` = its index),
                                     exclusive with `estimator`; the calibration's intrinsics of each camera
                                     are sent as `cam_int`; NULL = none */
  size_t workers;               /**< estimator worker processes, 1..1024 (1) */
  double estimator_timeout;     /**< seconds a worker request may take, 0 = no limit (0) */
  double worker_start_timeout;  /**< seconds a worker may take to become ready, > 0 (600) */
  size_t worker_max_restarts;   /**< failures in a row of one worker that are restarted (3) */
  size_t max_inflated_bytes;    /**< most bytes one SAM output may hold or inflate to (ingest.h); 0 =
                                     MHRFIT_NPY_INPUT_MAX_TOTAL (256 MiB) */
  /* stage 2 */
  mhrfit_calib_options calib;   /**< how the calibration is read (metres, world→camera) */
  mhrfit_tri_options tri;       /**< triangulation (mhrfit_tri_options_default()) */
  /* stage 3 */
  mhrfit_fit_options fit;       /**< the fit (mhrfit_fit_options_init()) */
  mhrfit_freeze_ref freeze_from;/**< with fit.freeze_lower_body (MHRFIT_FREEZE_FROM_FIRST_FIT) */
  int min_views;                /**< fewest camera files for a frame to be processed, ≥ 2 (2) */
  int max_stale_frames;         /**< temporal prior only from an `ok` frame at most this many frames back, ≥ 0 (40) */
  int bad_frame_retries;        /**< refits of a bad frame with a stronger prior, 0..10 (1) */
  bool per_frame_scales;        /**< skeleton scales from each frame's initial view (false: the first ok frame's) */
  /* the sequence */
  int max_edge_copy_span;       /**< recovery copies the nearest good frame at the ends up to this many frames, ≥ 0 (15) */
  bool smoothing;               /**< write `sequence_smoothed.npz` (true) */
  mhrfit_smooth_options smooth; /**< smoothing (mhrfit_smooth_options_init()); `fps` is the frame rate of the
                                     archives too; 0 (the default) = the capture's: the `frames_meta.json` of
                                     mhrfit frames in `input_dir` (mhrfit_frames_meta_fps()), else 30, said in
                                     the log; `pipeline_config.json` records it (`fps`) and where it came from
                                     (`fps_origin`: "option", "frames_meta.json" or "assumed") */
  /* behaviour */
  bool overwrite;               /**< redo every frame, stage 1 included (false: reuse what is current) */
  size_t jobs;                  /**< POSIX threads of the run, the caller's included (1): stage 1 over frames,
                                     triangulation and per-frame files over frames, the fit in frame order
                                     beside them, smoothing over parameters, the sequence files' rows over
                                     frames; 0 = every core this process may use. The files are the same
                                     for every value. At most MHRFIT_PIPELINE_MAX_JOBS */
  bool report;                  /**< write `<out>/report.html` at the end (report.h: the body from `rig_path`
                                     at LOD 6, no camera images) (false) */
  bool overlay;                 /**< write the overlays of the run into `<out>/overlay/` at the end (see "Overlays") (false) */
  const char *overlay_capture;  /**< their pictures `<dir>/<frame>/<cam>.jpg|png`; NULL = the run's capture (`input_dir`) */
  unsigned overlay_layers;      /**< mhrfit_overlay_layer flags (MHRFIT_LAYERS_ALL) */
  mhrfit_mesh_style overlay_mesh; /**< silhouette (default) or wireframe */
  mhrfit_image_format overlay_format; /**< MHRFIT_IMAGE_AUTO (JPEG, default) or MHRFIT_IMAGE_PNG */
  bool overlay_video;           /**< also one video per camera, `<out>/overlay/<cam>.mp4` (false) */
  bool overlay_grid;            /**< also `<out>/overlay/grid.mp4`, every camera side by side (false) */
  bool overlay_rescale;         /**< resample pictures whose size differs from the calibration's (false: skipped) */
  /** Receives one line per event; NULL = silent. */
  void (*log)(void *user, mhrfit_pipeline_log_level level, const char *message);
  /** Called after each frame of a stage; NULL = none. */
  void (*progress)(void *user, const mhrfit_pipeline_progress *p);
  void *user;                   /**< passed to log and progress */
  /** When not NULL and non-zero, the run stops at the next frame boundary (see the file doc). */
  const volatile sig_atomic_t *cancel;
} mhrfit_pipeline_options;

/** Fills `o` with the defaults listed in mhrfit_pipeline_options (no strings, no callbacks). */
void mhrfit_pipeline_options_init(mhrfit_pipeline_options *o);

/** Most threads a run takes (mhrfit_pipeline_options::jobs). */
#define MHRFIT_PIPELINE_MAX_JOBS 256

/** Frame statuses counted in mhrfit_pipeline_result (`ok`, `recovered_interp`, ...). */
#define MHRFIT_PIPELINE_MAX_STATUSES 16

/** What a finished run did. */
typedef struct mhrfit_pipeline_result {
  size_t n_frames;              /**< frames of the run */
  size_t frames_reused;         /**< frames whose fit was reused from an earlier run */
  size_t n_fitted;              /**< frames whose fit status is `ok` (0: the run failed) */
  mhrfit_ingest_summary ingest; /**< stage 1 counts */
  mhrfit_recover_report recover;/**< recovery counts */
  bool smoothed;                /**< smoothing ran (on, and at least 2 anchors) */
  size_t n_statuses;            /**< distinct final statuses, in order of first appearance */
  char status_names[MHRFIT_PIPELINE_MAX_STATUSES][32];   /**< their names */
  size_t status_counts[MHRFIT_PIPELINE_MAX_STATUSES];     /**< frames per status */
  /* seconds: wall-clock for the stages; the per-frame times (triangulation, fit, files) are sums
   * over the frames computed in this run, which with several threads add up to more than the
   * wall-clock time of the per-frame stage */
  double time_ingest_s, time_setup_s, time_triangulate_s, time_fit_s;
  double time_frame_other_s;    /**< per-frame files (triangulated.npz, fit.npz), summed over frames */
  double time_frames_s;         /**< the per-frame stage, wall-clock */
  double time_sequence_s;       /**< recovery, smoothing, sequence files */
  double time_total_s;
  size_t threads;               /**< threads the run used */
} mhrfit_pipeline_result;

typedef struct mhrfit_pipeline mhrfit_pipeline;

/** One frame of a finished (or stopped) run; strings valid until mhrfit_pipeline_free(). */
typedef struct mhrfit_pipeline_frame_info {
  const char *name;       /**< frame folder */
  const char *status;     /**< final status (`ok`, `recovered_interp`, `missing_views`, ...) */
  const char *fit_status; /**< status before recovery */
  const char *message;    /**< why it is not ok ("" when ok) */
  int n_available;        /**< camera files present */
  int n_triangulated;     /**< triangulated points */
  bool reused, retried;   /**< reused from an earlier run; refitted with a stronger prior */
} mhrfit_pipeline_frame_info;

/**
 * Checks the options and prepares a run without writing anything: option values in range,
 * input folder, frame folders (NULL/empty subset = all; hidden folders and the output folder
 * are not frames), the calibration of every camera, the triangulator and the rig. Errors:
 * MHRFIT_ERR_ARGUMENT (a value out of range, naming the option), MHRFIT_ERR_NOT_FOUND (no frame
 * folder, a camera missing from the calibration), those of the calibration and rig readers.
 * The caller owns the result.
 */
mhrfit_pipeline *mhrfit_pipeline_new(const mhrfit_pipeline_options *o, mhrfit_error *err);

/**
 * The checks of mhrfit_pipeline_new() that need no model (option values, paths and outputs over
 * inputs, the output folder's lock, the calibration, the cameras, the frame folders or the
 * detector's keypoints), nothing written, nothing logged: what a batch checks of every session
 * before the first one runs (a session that fails them is said at once; it fails in its turn). True when they pass; errors as mhrfit_pipeline_new().
 */
bool mhrfit_pipeline_check(const mhrfit_pipeline_options *o, mhrfit_error *err);

/**
 * Runs the pipeline (see the file doc) and fills `res` (may be NULL). Per-frame failures are
 * frame statuses, not errors. Errors: MHRFIT_ERR_CANCELLED (`*cancel` was set: the finished
 * frames are kept for a later run), MHRFIT_ERR_IO / MHRFIT_ERR_NOMEM (files could not be read
 * or written: the run cannot go on), those of stage 1 that stop a whole request. A pipeline
 * runs once: a second call fails with MHRFIT_ERR_ARGUMENT.
 */
bool mhrfit_pipeline_run(mhrfit_pipeline *p, mhrfit_pipeline_result *res, mhrfit_error *err);

/** Frames of the run (after mhrfit_pipeline_new()). */
size_t mhrfit_pipeline_n_frames(const mhrfit_pipeline *p);

/**
 * Whether the last run into the folder `run_dir` did not finish: the run writes
 * `<out>/run_unfinished.txt` before it records its settings (pipeline_config.json) and removes it
 * once its sequence files (`sequence_fit.npz`, `sequence_smoothed.npz`, `sequence_summary.json`)
 * are written, so while the file is there (a run interrupted, failed before them, or still
 * running) those files are an earlier run's, possibly of other settings. Returns true then, and
 * `msg` (`size` bytes; may be NULL) gets a warning for the user naming the folder, whether a
 * process is running in it now (its lock), and what to do; false for a finished run (or a folder
 * of a version before the marker). Read by `mhrfit export` and `mhrfit report`, which warn.
 */
bool mhrfit_run_unfinished(const char *run_dir, char *msg, size_t size);

/** Frame `i` after mhrfit_pipeline_run() reached the sequence stage; false otherwise. */
bool mhrfit_pipeline_frame(const mhrfit_pipeline *p, size_t i, mhrfit_pipeline_frame_info *info);

/** Cameras of the run (after mhrfit_pipeline_new(): with no `cams`, those found). */
size_t mhrfit_pipeline_n_cameras(const mhrfit_pipeline *p);

/** Calibration name of camera `v`, or NULL. */
const char *mhrfit_pipeline_camera(const mhrfit_pipeline *p, size_t v);

/** Frees a pipeline (letting go of the output folder's lock). NULL is allowed. */
void mhrfit_pipeline_free(mhrfit_pipeline *p);

#ifdef __cplusplus
}
#endif
#endif
