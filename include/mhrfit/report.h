/**
 * @file report.h
 * @brief The HTML report of a run: one self-contained file to look at what `mhrfit run` did.
 *
 * Lifecycle: mhrfit_report_new() reads a run folder → mhrfit_report_write() (or
 * mhrfit_report_html() for the page in memory) → mhrfit_report_free(); mhrfit_report_run()
 * does the three in one call.
 *
 * **What is read** from the run folder `DIR` (every part optional except that the folder must
 * hold at least one of them; what is missing or unreadable is listed on the page and by
 * mhrfit_report_note()):
 * - `sequence_summary.json`: frame names, statuses, messages, losses, status totals, timings;
 * - `pipeline_config.json`: the settings table, the cameras (`cams`), the calibration file
 *   (`calib`, `translation_unit`, `invert_extrinsics`; a relative `calib` is looked for as given,
 *   then inside the run folder and its parents, as mhrfit export does), the rate (`fps`), the bad-loss
 *   thresholds (`bad_loss_threshold`, `bad_data_loss_threshold`) and the capture (`input`);
 * - `sequence_smoothed.npz` and `sequence_fit.npz`: the fitted keypoints per frame (the smoothed
 *   ones are shown, the fitted ones with `fitted`), statuses and losses when the summary is
 *   missing; without either, the per-frame `fit/<frame>/fit.npz`. The keypoint set is theirs:
 *   MHR70's, or for a run on a detector's keypoints (`input_format` in `pipeline_config.json`)
 *   the K keypoints named by their `keypoint_names` (without archives: the K of the recorded
 *   `layout`); the skeleton lines are that layout's (mhrfit_layout_links(), recognised by the
 *   names with mhrfit_layout_match(); none for a set without a layout), the up axis is detected
 *   from their hips, neck and shoulders when they have them;
 * - `triangulation/<frame>/triangulated.npz`: the triangulated points, views used, inlier
 *   masks and reprojection errors;
 * - `stage1/<frame>/<cam>.npz`: SAM 3D Body's 2-D keypoints (`pred_keypoints_2d`); for a detector
 *   run, the detector's 2-D keypoints read again from the run's recorded input
 *   (mhrfit_observations_of_run(); points of confidence 0 absent; unreadable: a note);
 * - the calibration: cameras drawn as frustums, points reprojected;
 * - a ground truth (`truth_path`, else `ground_truth.npz` in the run's capture folder as
 *   `mhrfit demo` writes it, the capture found as the overlays find it from any working folder:
 *   stage1_meta.json's input_root, else the recorded `input` as given or from the run folder or a
 *   parent; MHR70 keypoints, so only with MHR70 runs): the MPJPE per frame;
 * - camera images `capture_dir/<frame>/<cam>.{jpg,jpeg,png}` (media.h), downscaled by area
 *   averaging to at most `image_max_width` pixels wide and embedded as JPEG (quality 75; about
 *   20–30 kB per 480-pixel image, so 4 cameras × 1,000 frames add some 100 MB: lower the width or
 *   leave them out for long runs);
 * - with a rig (`rig`: the MHR assets or a rig file), the body: the sequence (smoothed, or fitted
 *   with `fitted`) exported as a GLB by the exporter (export.h: skinned mesh at `lod`, 4
 *   influences per vertex, one animation; the world turned to +Y up with the axis below) and
 *   shown by three.js's glTF loader; frames the exporter leaves out (failed frames) show no body.
 *
 * **Reprojection.** The triangulated points and the shown keypoints X (world, metres) are
 * projected into every calibrated camera with the library's own model (camera.h:
 * `Xc = R·X + t`, distortion, K); a point behind a camera or not finite gives no mark.
 *
 * **Per-frame numbers** (charts): best total and data loss with the two bad-loss thresholds;
 * per camera the mean reprojection error (px) of the views used (inliers); the number of
 * finite triangulated points; the smoothing's change `(1/K') Σ_k ‖s_k − f_k‖` (mm, over the K'
 * keypoints finite in both the smoothed s and fitted f frame); with a ground truth g, the MPJPE
 * `(1/K') Σ_k ‖p_k − g_k‖` (mm) of the fitted and of the smoothed keypoints p.
 *
 * **Up axis and floor.** The up axis is detected from the shown keypoints (the triangulated
 * points when there are none) by mhrfit_up_detect() (export.h: the signed world axis nearest
 * the mean pelvis → neck direction); +Y when no frame has the markers. The 3-D view turns the
 * world by that axis's rotation U (mhrfit_up_rotation(), the one the body's GLB uses) and lays
 * the floor grid at the lowest height (U·X)_y of those points.
 *
 * **The page.** Data are embedded compactly: coordinates as 16-bit integers times a per-array
 * scale (at most 1/32000 of the array's largest magnitude, i.e. 0.3 mm for points within 10 m
 * and 0.25 px for pixels within 8,000 px; NaN kept), other numbers as float32 or bytes, all in
 * one zlib-deflated, base64-encoded buffer; the meta data as JSON. three.js and the page's code
 * are embedded at build time (deflated, base64). The page needs no server and makes no network
 * request; it needs a browser with WebGL, ES modules, import maps and DecompressionStream
 * (Chromium/Chrome 89+ with DecompressionStream 80+, Firefox 113+, Safari 16.4+).
 */
#ifndef MHRFIT_REPORT_H
#define MHRFIT_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "mhrfit/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** How to build a report. Zero-initialised = defaults. */
typedef struct mhrfit_report_options {
  const char *capture_dir; /**< folder of camera images `<frame>/<cam>.{jpg,jpeg,png}`; NULL: none */
  bool no_images;          /**< leave camera images out even with `capture_dir` */
  int image_max_width;     /**< images are downscaled to at most this width in pixels (0: 480) */
  const char *calib_path;  /**< calibration file; NULL: the one `pipeline_config.json` names */
  const char *truth_path;  /**< ground truth (`ground_truth.npz` of `mhrfit demo`); NULL: found beside the capture */
  bool fitted;             /**< show the fitted keypoints (`sequence_fit.npz`) instead of the smoothed ones */
  const char *title;       /**< page title; NULL: "mhrfit report: <run folder name>" */
  const char *rig;         /**< MHR assets folder or rig file (rig.h) for the body; NULL: no body (noted) */
  int lod;                 /**< body mesh level of detail 1..6 (0: 6, the lightest; −1: the rig's own) */
  bool no_body;            /**< leave the body out even with `rig` */
} mhrfit_report_options;

/** A run read for its report (opaque). */
typedef struct mhrfit_report mhrfit_report;

/** Sizes of a report. */
typedef struct mhrfit_report_info {
  size_t n_frames;      /**< frames on the page */
  size_t n_cams;        /**< cameras (panels) */
  size_t n_calibrated;  /**< cameras with a calibration (frustums, reprojections) */
  size_t n_images;      /**< camera images embedded */
  size_t n_notes;       /**< things missing or unreadable (mhrfit_report_note()) */
  bool has_truth;       /**< a ground truth was found (MPJPE chart) */
  bool has_body;        /**< the skinned body is embedded */
  size_t html_bytes;    /**< size of the page after mhrfit_report_write()/mhrfit_report_html(), else 0 */
} mhrfit_report_info;

/**
 * Reads the run folder `run_dir` (see the file doc). A folder holding none of the run's files,
 * a path that is not a folder, an option file that does not exist (`calib_path`, `truth_path`,
 * `capture_dir`) or an invalid option fail (MHRFIT_ERR_IO, MHRFIT_ERR_NOT_FOUND,
 * MHRFIT_ERR_ARGUMENT, naming the path); anything else missing or damaged in the folder (a
 * summary, a frame's file, NaN frames) is noted and the report shows the rest. `opts` may be
 * NULL. The caller owns the result (mhrfit_report_free()).
 */
mhrfit_report *mhrfit_report_new(const char *run_dir, const mhrfit_report_options *opts, mhrfit_error *err);

/** Sizes of the report (after mhrfit_report_write()/mhrfit_report_html(), `html_bytes` too). */
mhrfit_report_info mhrfit_report_get_info(const mhrfit_report *r);

/** Note `i` (< info.n_notes): what is missing or unreadable, naming the file and frame. Borrowed. */
const char *mhrfit_report_note(const mhrfit_report *r, size_t i);

/**
 * Builds the page in memory: `*html` (malloc'd, `*len` bytes, not NUL-terminated; the caller
 * frees it). Errors: MHRFIT_ERR_NOMEM.
 */
bool mhrfit_report_html(mhrfit_report *r, char **html, size_t *len, mhrfit_error *err);

/**
 * Writes the page to `out_path` atomically (temporary file, fsync, rename): a reader never sees
 * a partial file, and a failed write leaves `out_path` as it was. The path is checked first
 * (mhrfit_report_check_out()). Errors: MHRFIT_ERR_ARGUMENT (a refused path), MHRFIT_ERR_IO
 * (naming the path), MHRFIT_ERR_NOMEM.
 */
bool mhrfit_report_write(mhrfit_report *r, const char *out_path, mhrfit_error *err);

/**
 * Checks, before any work, that writing the report of `run_dir` (options `opts`, may be NULL) to
 * `out_path` destroys no input; mhrfit_report_write() checks it again. Refused
 * (MHRFIT_ERR_ARGUMENT, the message naming the rule): an output that is an input (the calibration:
 * `calib_path` or the one pipeline_config.json names; `truth_path`; the rig) or an existing file
 * inside an input folder; the run folder or anything `mhrfit run` writes in it other than its
 * `report.html`; anything inside the capture (`capture_dir`, else the run's recorded capture) that
 * is not inside the run folder; an existing file other than an `.html` (`.htm`) page.
 */
bool mhrfit_report_check_out(const char *run_dir, const mhrfit_report_options *opts, const char *out_path,
                             mhrfit_error *err);

/** Frees a report. NULL is allowed. */
void mhrfit_report_free(mhrfit_report *r);

/**
 * mhrfit_report_new(), mhrfit_report_write() and mhrfit_report_free() in one call: the report
 * of `run_dir` to `out_path` (NULL: `run_dir/report.html`). `info` (may be NULL) receives the
 * sizes; `notes` (may be NULL, `notes_size` bytes) the notes, one per line ("" when none).
 */
bool mhrfit_report_run(const char *run_dir, const char *out_path, const mhrfit_report_options *opts,
                       mhrfit_report_info *info, char *notes, size_t notes_size, mhrfit_error *err);

#ifdef __cplusplus
}
#endif
#endif
