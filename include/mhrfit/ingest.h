/**
 * @file ingest.h
 * @brief Stage 1: gather per-view SAM 3D Body outputs, select one person, write stage-1 files.
 *
 * ## Input tree
 *
 * ```
 * <input>/<frame>/<cam>.<img>          images (jpg jpeg png bmp gif tif tiff webp, also upper case)
 * <sam_dir>/<frame>/<cam>.npz | .npy   SAM 3D Body outputs (sam_dir defaults to <input>, so the
 *                                      outputs usually sit beside the images)
 * ```
 * A frame is a sub-folder of `<input>` (and of `<sam_dir>` when that is another folder) that
 * holds a file of at least one requested camera (an image or a SAM output), sorted naturally
 * (`2` before `10`); folders whose name starts with `.`, the output folder and folders without
 * such a file (`videos/`, `calib/`, an earlier output folder) are not frames: they are named once
 * in the log. Without any frame the request fails, saying where files were looked for (and,
 * when the folders are named like the cameras, that the layout is `<cam>/<frame>`). A camera is the file stem, matched exactly (no wildcard fallback). A frame may lack
 * some cameras: a camera with neither an image nor an output is a *missing* view, which is normal.
 *
 * ## Output tree
 *
 * ```
 * <out>/stage1/<frame>/<cam>.npz   one person, SAM 3D Body key names, written atomically
 * <out>/sam3d/<frame>/<cam>.npz    raw outputs (all persons) produced by the estimator command
 * <out>/stage1_meta.json           what was ingested from what (see mhrfit_ingest_check())
 * ```
 *
 * ## SAM 3D Body output forms read
 *
 * Read by content, whatever the extension: an `.npz` of arrays; a `.npy` holding a pickled dict
 * (`np.save(p, dict, allow_pickle=True)`), a pickled list of per-person dicts (`[]` = nobody
 * detected) or a pickled `None`; a dict whose arrays carry a leading person axis (as written by
 * the adapter `tools/sam3d_body_adapter.py`: `pred_keypoints_2d` (N,70,2), `bbox` (N,4), ...);
 * and a plain `.npy` array of keypoints, (70,2) or (N,70,2).
 *
 * ## Person selection
 *
 * - `largest_bbox` (default): the largest `(x1-x0)*(y1-y0)` of `bbox` (negative extents count
 *   as 0). A person whose bbox is missing, has fewer than 4 numbers or any non-finite number
 *   scores -1, so it loses to every person with a finite bbox (even one of area 0); ties keep the
 *   lowest index. With no finite bbox at all this selects person 0.
 * - `first`: person 0.
 * - `person_index`: person `N`, clipped to `[0, n-1]` with a warning when out of range.
 *
 * ## Validation of the selected person
 *
 * `pred_keypoints_2d` (70,2) is required. Keypoints with any non-finite coordinate are missing:
 * both coordinates are written as NaN (never Inf), and the count of usable keypoints is recorded.
 * When present, `body_pose_params` (133), `hand_pose_params` (108), `scale_params` (28),
 * `shape_params` (45), `expr_params` (72) must have exactly that size and be finite;
 * `bbox` (4), `pred_cam_t` (3), `global_rot` (3), `focal_length` (1), `pred_keypoints_3d`
 * (70,3), `pred_joint_coords` (127,3), `pred_global_rots` (127,3,3) and `mhr_model_params` (204)
 * must have that size; the 204 MHR parameters, when they can be had
 * (mhrfit_sam3d_model_params()), must be finite. Errors name the file, frame, camera and key.
 *
 * ## Making missing SAM outputs
 *
 * Where a view has an image but no SAM output, one of two estimators makes it into
 * `<out>/sam3d/<frame>/<cam>.npz`, kept and reused while the image (content hash), the command,
 * the intrinsics and the model identifiers stay the same:
 *
 * - `estimator`: a command run once per image (`{image}`, `{output}`, `{frame}`, `{cam}`
 *   replaced by shell-quoted values); exit status 0 and the output file mean success. Its
 *   stdout and stderr are copied to mhrfit's stderr; a failed view's error quotes its last lines.
 *   A command that cannot be run (exit status 126 or 127) or that fails its first two images the
 *   same way (exit status and last lines) before any success is broken: the views left are not
 *   tried (recorded as failed without a log line each) and the run ends with false and one
 *   error (MHRFIT_ERR_IO) carrying the exit status and the last lines.
 * - `estimator_worker`: a command started once per worker (`workers` of them; `{worker}` is
 *   replaced by the worker's index 0, 1, ..., e.g. `CUDA_VISIBLE_DEVICES={worker} python3 w.py`),
 *   which loads its model once and then serves requests over its stdin and stdout, one JSON
 *   object per line (UTF-8, `\n`-terminated) each way:
 *   1. optionally, when ready, the worker writes `{"ready": true}`; until it does so or answers
 *      its first request, other lines are only logged; `worker_start_timeout` covers the start
 *      and the ready line, or, without one, the start and the first answer;
 *   2. mhrfit writes a request `{"id": 7, "image": "/abs/frame/cam.jpg", "output":
 *      "/abs/out/sam3d/frame/cam.partial.npz", "frame": "000012", "cam": "cam_1"}`, plus
 *      `"cam_int": [[fx, s, cx], [0, fy, cy], [0, 0, 1]]` when the camera's intrinsics are known;
 *   3. the worker writes the SAM output to `output` (any form listed above; the adapter's
 *      `.npz` of all persons) and replies `{"ok": true}`, or `{"ok": false, "error": "why"}`;
 *      echoing `"id"` is optional but recommended (a reply whose id is not the request's is
 *      skipped, and what an idle worker writes is logged and dropped).
 *   The first request is written as soon as the worker is started (it reads it when ready).
 *   `"id"` is an extra field a worker may ignore.
 *   Requests are sent one at a time per worker; the worker's stdout carries nothing but these
 *   lines (its logs go to stderr, copied to mhrfit's as they come). End of input means exit.
 *   Failures stay with their view: `{"ok": false}` or no output file makes the view fail; a
 *   line that is not such a reply fails the view and restarts the worker (its output can no
 *   longer be trusted to be in step); a worker that dies fails the view it was processing and
 *   is restarted; one that dies or times out before it said ready or answered anything gives
 *   its request back to the queue (a failed start, not the view's fault) unless the command is
 *   known to answer without a ready line (then the view fails); a request that takes longer
 *   than `estimator_timeout` gets its worker killed (and restarted) and the view marked missing
 *   with status `timeout` and the reason, retried on the next run. A worker that fails `worker_max_restarts` + 1 times in a row (failed
 *   starts included) stops the run with its last error (for a failed start, with the end of its
 *   stderr), after the views already answered have been ingested and recorded; the views not
 *   estimated are recorded as failed without a log line each.
 */
#ifndef MHRFIT_INGEST_H
#define MHRFIT_INGEST_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "mhrfit/error.h"
#include "mhrfit/value.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Person selection strategies (`--person_select_strategy`). */
typedef enum mhrfit_person_strategy {
  MHRFIT_PERSON_LARGEST_BBOX = 0, /**< largest finite bbox; ties and no bbox → lowest index */
  MHRFIT_PERSON_FIRST,            /**< person 0 */
  MHRFIT_PERSON_INDEX             /**< person `person_index`, clipped to the range */
} mhrfit_person_strategy;

/** The strategy's command-line name ("largest_bbox", "first", "person_index"). Never NULL. */
const char *mhrfit_person_strategy_name(mhrfit_person_strategy s);

/** Parses a strategy name; false with MHRFIT_ERR_ARGUMENT (listing the valid names) otherwise. */
bool mhrfit_person_strategy_parse(const char *name, mhrfit_person_strategy *out, mhrfit_error *err);

/** What mhrfit_ingest_select_person() found. */
typedef struct mhrfit_person_info {
  size_t n_persons;     /**< persons in the document (0: nobody detected) */
  size_t chosen;        /**< index of the selected person (valid when n_persons > 0) */
  bool index_clipped;   /**< person_index was outside [0, n_persons-1] and was clipped */
  double bbox_area;     /**< area of the chosen person's bbox, or -1 when it had no finite bbox */
  size_t n_kp_valid;    /**< keypoints of the chosen person with both coordinates finite (and within 1e6 px) */
  size_t n_kp_absurd;   /**< keypoints of the chosen person beyond 1e6 px, made missing (NaN) */
  bool has_model_params;/**< the 204 MHR parameters could be had (full or assembled) */
} mhrfit_person_info;

/**
 * Selects one person of a loaded SAM 3D Body document (any form listed in the file comment) and
 * validates it. On success `*person` is a new DICT holding only arrays (scalars become 0-d
 * arrays, strings 0-d unicode arrays, None and nested containers are dropped), the person axis
 * removed, `pred_keypoints_2d` as float32 (70,2) with NaN for missing keypoints; or NULL when the
 * document holds no person (`info->n_persons == 0`), which is not an error. `info` may be NULL.
 * A negative `person_index` is clipped to 0. Errors: MHRFIT_ERR_FORMAT (wrong kind or shape),
 * MHRFIT_ERR_NOT_FOUND (no `pred_keypoints_2d`), MHRFIT_ERR_NUMERIC (non-finite parameters),
 * each naming the key (and the list item for lists); the caller prefixes file, frame and camera.
 * The caller owns `*person` (mhrfit_value_free()).
 */
bool mhrfit_ingest_select_person(const mhrfit_value *doc, mhrfit_person_strategy strategy, long person_index,
                                 mhrfit_value **person, mhrfit_person_info *info, mhrfit_error *err);

/** Severity of a message passed to mhrfit_ingest_options::log. */
typedef enum mhrfit_ingest_log_level {
  MHRFIT_INGEST_INFO = 0, /**< why frames are re-ingested, estimator runs */
  MHRFIT_INGEST_WARNING,  /**< clipped person index, views without usable keypoints */
  MHRFIT_INGEST_ERROR     /**< a view or frame failed (the run goes on with the others) */
} mhrfit_ingest_log_level;

/** A stage-1 request. Initialise with mhrfit_ingest_options_init(); all strings are borrowed. */
typedef struct mhrfit_ingest_options {
  const char *input_dir;           /**< capture root `<input>/<frame>/<cam>.<ext>`; required */
  const char *sam_dir;             /**< root of existing SAM outputs `<sam_dir>/<frame>/<cam>.npz|.npy`;
                                        NULL = input_dir */
  const char *out_dir;             /**< output root (created when missing); required */
  const char *const *cams;         /**< camera names (file stems), exact; required */
  size_t n_cams;                   /**< number of cameras, at least 1 */
  const char *const *cam_files;    /**< n_cams file stems of the cameras in the input when they differ from
                                        the names (a camera-name map); NULL = the names. Stage-1 files are
                                        named by `cams` */
  const char *const *frames;       /**< frame subset (folder names); NULL = every frame folder */
  size_t n_frames;                 /**< entries of `frames` (0 with frames == NULL) */
  mhrfit_person_strategy strategy; /**< default MHRFIT_PERSON_LARGEST_BBOX */
  long person_index;               /**< used by MHRFIT_PERSON_INDEX; default 0 */
  const char *estimator;           /**< shell command template with `{image}` and `{output}` (also
                                        `{frame}`, `{cam}`), each replaced by a shell-quoted value;
                                        run through /bin/sh where an output is missing. NULL = none */
  const char *estimator_worker;    /**< persistent worker command (see "Making missing SAM outputs"),
                                        exclusive with `estimator`; NULL = none */
  size_t workers;                  /**< worker processes; default 1 */
  double estimator_timeout;        /**< seconds a worker request may take, 0 (default) = no limit */
  double worker_start_timeout;     /**< seconds a worker may take to say ready (or, without a ready line, to
                                        answer its first request); default 600 */
  size_t worker_max_restarts;      /**< failures in a row of one worker that are restarted; default 3 */
  const double *cam_intrinsics;    /**< n_cams * 9 numbers: each camera's 3x3 intrinsics (row-major) sent to
                                        the workers as `cam_int`; a row with a NaN = unknown; NULL = none.
                                        Part of the estimator's identity for the cache */
  const char *const *model_ids;    /**< model identifiers (checkpoint, detector, segmentor, fov, ...),
                                        recorded and compared as given */
  size_t n_model_ids;              /**< entries of `model_ids` */
  bool force;                      /**< re-ingest every frame, ignoring the cache */
  bool compress;                   /**< deflate the stage-1 archives (default false: stored) */
  size_t max_inflated_bytes;       /**< most bytes one SAM output may hold or inflate to (its size for a
                                        `.npy`, its members' total for an `.npz`, checked before any is
                                        inflated; see mhrfit_npy_limits); 0 = MHRFIT_NPY_INPUT_MAX_TOTAL
                                        (256 MiB). A larger file fails its view. */
  size_t jobs;                     /**< POSIX threads, the caller's included, over which the frames are
                                        checked and ingested (1, the default: the caller's thread only; 0 = every
                                        core this process may use); the files and the log are the same for every
                                        value (messages come in frame order) */
  bool no_lock;                    /**< do not lock out_dir: the caller holds its lock (mhrfit_pipeline_run()
                                        does); by default mhrfit_ingest_run() takes it and fails with
                                        MHRFIT_ERR_BUSY when another process writes the folder */
  /** Receives one line of text per event (no trailing newline); NULL = silent. */
  void (*log)(void *user, mhrfit_ingest_log_level level, const char *message);
  /** Called after each frame with frames done / total to process; NULL = none. */
  void (*progress)(void *user, size_t done, size_t total);
  void *user;                      /**< passed to log and progress */
  /** When not NULL and non-zero, the run stops before the next frame: the frames done so far are
   *  recorded in stage1_meta.json and mhrfit_ingest_run() fails with MHRFIT_ERR_CANCELLED. */
  const volatile sig_atomic_t *cancel;
} mhrfit_ingest_options;

/** Fills `o` with the defaults: no strings, largest_bbox, index 0, no force, no callbacks; one
 * worker, no request timeout, 600 s to start, 3 restarts; one thread. */
void mhrfit_ingest_options_init(mhrfit_ingest_options *o);

/** Why a frame must be (re-)ingested; MHRFIT_INGEST_REUSE when its stage-1 files are current. */
typedef enum mhrfit_ingest_reason {
  MHRFIT_INGEST_REUSE = 0,         /**< stored outputs match the request: reuse them */
  MHRFIT_INGEST_FORCED,            /**< options.force */
  MHRFIT_INGEST_NO_META,           /**< no stage1_meta.json in out_dir */
  MHRFIT_INGEST_META_INVALID,      /**< stage1_meta.json unreadable or of another format/version */
  MHRFIT_INGEST_TOOL_VERSION,      /**< written by another mhrfit version */
  MHRFIT_INGEST_INPUT_CHANGED,     /**< another input root or SAM output root */
  MHRFIT_INGEST_CAMS_CHANGED,      /**< another camera list */
  MHRFIT_INGEST_STRATEGY_CHANGED,  /**< another selection strategy (or index, for person_index) */
  MHRFIT_INGEST_ESTIMATOR_CHANGED, /**< another estimator command */
  MHRFIT_INGEST_MODEL_CHANGED,     /**< other model identifiers */
  MHRFIT_INGEST_FRAME_SUBSET,      /**< the frame was not part of the previous request (or is new) */
  MHRFIT_INGEST_PREVIOUS_FAILURE,  /**< the previous attempt failed for this frame */
  MHRFIT_INGEST_IMAGE_CHANGED,     /**< an image changed (size, mtime or content), appeared or vanished */
  MHRFIT_INGEST_SOURCE_CHANGED,    /**< a SAM output file changed, appeared or vanished */
  MHRFIT_INGEST_OUTPUT_MISSING     /**< a stage-1 output is missing or was modified */
} mhrfit_ingest_reason;

/** Short stable name of a reason ("reuse", "image_changed", ...). Never NULL. */
const char *mhrfit_ingest_reason_name(mhrfit_ingest_reason r);

/** The decision for one frame. */
typedef struct mhrfit_ingest_frame_plan {
  char *frame;                 /**< frame name (owned) */
  mhrfit_ingest_reason reason; /**< MHRFIT_INGEST_REUSE or why it must be redone */
  char *detail;                /**< human-readable explanation, naming the camera/file (owned, never NULL) */
} mhrfit_ingest_frame_plan;

/** Which frames of a request must be (re-)ingested. Owned; free with mhrfit_ingest_plan_free(). */
typedef struct mhrfit_ingest_plan {
  size_t n_frames;                 /**< frames of the request, natural order */
  mhrfit_ingest_frame_plan *frames;/**< one decision per frame */
  size_t n_redo;                   /**< frames whose reason is not MHRFIT_INGEST_REUSE */
  mhrfit_ingest_reason global;     /**< MHRFIT_INGEST_REUSE when the stored request settings
                                        (version, roots, cameras, strategy, estimator, models)
                                        match; else the first mismatch, which redoes every frame */
  char *global_detail;             /**< explanation of `global` (owned, never NULL) */
} mhrfit_ingest_plan;

/**
 * Compares `<out_dir>/stage1_meta.json` with the request `o` and the files on disk, without
 * writing anything. A frame is reused only when the stored settings match, the frame was
 * ingested successfully under them, each camera's image and SAM output have the recorded size,
 * mtime and content hash (xxHash64), no image or output appeared or vanished, and each recorded
 * stage-1 file is present with its recorded hash. Everything else yields the first applicable
 * reason. `mhrfit run` calls this to decide whether stage 1 must run.
 * Errors (fatal for the request, not per frame): MHRFIT_ERR_ARGUMENT (missing input_dir,
 * out_dir or cameras), MHRFIT_ERR_IO (input folder unreadable). Caller owns the plan.
 */
mhrfit_ingest_plan *mhrfit_ingest_check(const mhrfit_ingest_options *o, mhrfit_error *err);

/** The frame folders of a capture (mhrfit_ingest_find_frames()). */
typedef struct mhrfit_ingest_frames {
  char **names;       /**< frame folders, natural order */
  size_t n_names;
  char **ignored;     /**< sub-folders holding no file of a requested camera, natural order */
  size_t n_ignored;
  char **others;      /**< SAM 3D Body outputs (`<name>.npz`/`.npy`) in the frames that belong to no
                           camera of the request, each name once, in the order met (at most 64) */
  size_t n_others;
  size_t *cam_frames; /**< per camera of the request: how many frames hold a file of it */
} mhrfit_ingest_frames;

/**
 * Lists the frames of `o`'s input as mhrfit_ingest_run() does without a frame list (`o->frames`
 * is ignored), without writing anything. Errors: those of mhrfit_ingest_check(), and
 * MHRFIT_ERR_NOT_FOUND when no folder is a frame. Free with mhrfit_ingest_frames_free().
 */
bool mhrfit_ingest_find_frames(const mhrfit_ingest_options *o, mhrfit_ingest_frames *out, mhrfit_error *err);

/** Frees the lists of `f` and zeroes it. NULL is allowed. */
void mhrfit_ingest_frames_free(mhrfit_ingest_frames *f);

/** Frees a plan. NULL is allowed. */
void mhrfit_ingest_plan_free(mhrfit_ingest_plan *p);

/** Counts of one ingest run. */
typedef struct mhrfit_ingest_summary {
  size_t frames_total;    /**< frames of the request */
  size_t frames_ingested; /**< frames (re-)ingested without a failed view */
  size_t frames_reused;   /**< frames whose stage-1 files were reused untouched */
  size_t frames_failed;   /**< frames with at least one failed view (or no folder) */
  size_t views_written;   /**< stage-1 files written */
  size_t views_missing;   /**< cameras with neither image nor SAM output */
  size_t views_no_person; /**< outputs in which nobody was detected */
  size_t views_failed;    /**< views that failed (corrupt file, estimator failure, bad content) */
  size_t views_timeout;   /**< views whose worker request timed out (missing, retried next run) */
  size_t estimator_runs;  /**< estimator commands run or worker requests made (successful or not) */
  size_t worker_starts;   /**< worker processes started (first starts and restarts) */
  bool meta_written;      /**< stage1_meta.json was (re)written */
} mhrfit_ingest_summary;

/**
 * Runs stage 1: checks the cache (mhrfit_ingest_check()), logs why frames are redone, and for
 * each frame to redo and each camera finds the SAM output (or runs the estimator on the image:
 * a failure is logged with its exit status, frame and camera), selects and validates the person
 * and writes `<out_dir>/stage1/<frame>/<cam>.npz` atomically; stale stage-1 files of views that
 * now have no person, no input or an error are removed. A failing view fails its frame but never
 * stops the other frames, except a stage-1 file that cannot be written because the output device
 * is full or failing (mhrfit_error_is_device_full()): the run stops at that first failure, its
 * error naming the frame, camera, file and errno. With `estimator_worker`, frames are taken in
 * chunks: the requests of a chunk are spread over the workers (started at the first request and
 * kept for the whole run), then the chunk's frames are ingested. Reused frames are not touched;
 * stage1_meta.json is rewritten atomically only when something changed (also every few seconds
 * during long runs, so a killed run resumes). `summary` may be NULL. Returns false only when the
 * whole request cannot proceed (bad options, unreadable input root, output folder or meta not
 * writable, output device full); per-frame failures are counted in `summary->frames_failed` and
 * logged. A worker that keeps failing, or an estimator command that is broken (see above), ends
 * the run with false and its last error (MHRFIT_ERR_IO), after the meta is written.
 */
bool mhrfit_ingest_run(const mhrfit_ingest_options *o, mhrfit_ingest_summary *summary, mhrfit_error *err);

/** xxHash64 (seed 0) of a file's content, streamed; MHRFIT_ERR_IO naming `path` on failure. */
bool mhrfit_ingest_hash_file(const char *path, unsigned long long *hash, mhrfit_error *err);

#ifdef __cplusplus
}
#endif
#endif
