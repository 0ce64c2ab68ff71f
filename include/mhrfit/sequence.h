/**
 * @file sequence.h
 * @brief Sequences of fitted frames: recovery of bad or missing frames and smoothing
 *        of parameters, with geometry recomputed from the parameters.
 *
 * Both work in place on a mhrfit_fit_archive (fit_io.h) holding the frames
 * of a sequence in order, and use a fitter (fit.h) only to recompute world
 * geometry (mhrfit_fitter_geometry()), so that the keypoints, joints,
 * rotations and mesh of every recovered or smoothed frame are those of its
 * parameters (the original's defect 3: it blended or smoothed geometry and
 * parameters separately). The fitter predicts the archive's keypoints
 * (`n_pred_kp`: MHR70's, or those of a detector's keypoint map).
 *
 * **Good frames** have status `ok`. Every other frame (`bad_loss`,
 * `optimization_failed`, `triangulation_failed`, `missing_views`, `not_run`,
 * …) is a candidate for recovery (ORIGINAL.md §7.3, fixed):
 * - between good frames p < t < n, **interpolation** with α = (t−p)/(n−p):
 *   model parameters `(1−α)·m_p + α·m_n`, similarity scale and translation
 *   blended the same way, rotation by spherical linear interpolation; the
 *   identity codes (shape, scale, hand) of the nearer frame (p on a tie);
 *   status `recovered_interp`, message `from P->N`;
 * - before the first / after the last good frame, a **copy** of the nearest
 *   good frame when it is at most `max_edge_copy_span` frames away (both
 *   edges — the original skipped one: defect 2); status `recovered_copy`;
 * - otherwise the frame keeps its status and NaN values.
 * Recovered frames get NaN losses, zero iteration counts and `best_iter` −1:
 * they were not optimised, and nothing pretends otherwise.
 *
 * **Smoothing** (seed B4) of a sequence: per frame the 204 model parameters,
 * the similarity scale, translation and rotation (a unit quaternion, signs
 * made continuous along the sequence) form one row; anchors are good and
 * recovered frames (smooth.h: plus all-finite), other frames are filled for
 * the filter but are **not written**: they keep their status and NaN values.
 * The smoothed quaternion is normalised; geometry is recomputed.
 */
#ifndef MHRFIT_SEQUENCE_H
#define MHRFIT_SEQUENCE_H

#include <stdbool.h>
#include <stddef.h>

#include "mhrfit/error.h"
#include "mhrfit/fit.h"
#include "mhrfit/fit_io.h"
#include "mhrfit/smooth.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Counts of what mhrfit_sequence_recover() did. */
typedef struct mhrfit_recover_report {
  size_t interpolated; /**< frames recovered by interpolation */
  size_t copied;       /**< frames recovered by an edge copy */
  size_t unrecovered;  /**< frames left as they were (no good frame within reach) */
} mhrfit_recover_report;

/** What mhrfit_sequence_recover_params() did with one frame. */
typedef enum mhrfit_recover_kind {
  MHRFIT_RECOVER_NONE = 0, /**< a good frame, or one left as it was (no good frame within reach) */
  MHRFIT_RECOVER_INTERP,   /**< interpolated between good frames `from` and `to` */
  MHRFIT_RECOVER_COPY      /**< a copy of good frame `from` (an edge) */
} mhrfit_recover_kind;

/** One frame's recovery. */
typedef struct mhrfit_recover_step {
  mhrfit_recover_kind kind;
  long from, to; /**< the good frames its values come from (`to` -1 for a copy; both -1 for NONE) */
  long codes;    /**< the frame whose identity codes (shape, scale, hand) and initial camera it takes:
                      the nearer of `from` and `to` (`from` on a tie), the source of a copy */
} mhrfit_recover_step;

/**
 * Recovery on parameters alone, for a caller that keeps no geometry (a long sequence written
 * frame by frame): of F frames, those with `good[f]` nonzero are the good frames; the model
 * parameters `params` (F × 204) and output similarities `sim` (F × 13: scale, R row-major, t) of
 * every other frame are replaced by the recovered values of the file doc where a good frame is
 * within reach (interpolation α = (t−p)/(n−p) of parameters, scale and translation, slerp of R;
 * or a copy within `max_edge_copy_span`), and left as they were otherwise. `steps` (F entries)
 * says what each frame got, so that the caller sets its status, message, identity codes and
 * geometry as mhrfit_sequence_recover() does. `report` may be NULL. Errors: MHRFIT_ERR_NOMEM.
 */
bool mhrfit_sequence_recover_params(size_t F, const unsigned char *good, double *params, double *sim,
                                    size_t max_edge_copy_span, mhrfit_recover_step *steps,
                                    mhrfit_recover_report *report, mhrfit_error *err);

/**
 * Applies one frame's recovery to frame `t` of `a`, as mhrfit_sequence_recover() does: the
 * identity codes and initial camera of frame `codes_f` of `codes` (may be `a`), the status
 * (`recovered_interp` / `recovered_copy`) and a message naming the source frames and what the
 * frame was, optimisation diagnostics cleared (NaN losses, zero counts, `best_iter` −1), then the
 * recovered `params` (204) and similarity `sim` (13) stored with their geometry
 * (mhrfit_sequence_set_frame()). Nothing happens for MHRFIT_RECOVER_NONE. Errors: those of
 * mhrfit_sequence_set_frame().
 */
bool mhrfit_sequence_apply_recovery(mhrfit_fit_archive *a, size_t t, const mhrfit_recover_step *step,
                                    const mhrfit_fit_archive *codes, size_t codes_f, const double *params,
                                    const double *sim, mhrfit_fitter *fitter, mhrfit_error *err);

/**
 * Stores model parameters `params` (204) and similarity `sim` in frame `f` of `a` with the
 * geometry `fitter` makes of them (mhrfit_fitter_geometry() with the frame's shape codes):
 * `body_pose_params`, keypoints, joints, rotations and, when `a` holds a mesh, vertices (NaN
 * from a fitter that skips the mesh). Errors: MHRFIT_ERR_NUMERIC from the geometry (naming the
 * frame), MHRFIT_ERR_ARGUMENT (f out of range).
 */
bool mhrfit_sequence_set_frame(mhrfit_fit_archive *a, size_t f, mhrfit_fitter *fitter, const double *params,
                               const mhrfit_similarity *sim, mhrfit_error *err);

/**
 * Recovers every frame of `a` whose status is not `ok` (see the file doc),
 * recomputing its geometry with `f`. `max_edge_copy_span` bounds the edge
 * copies (the original's 15). `report` may be NULL. Errors:
 * MHRFIT_ERR_NUMERIC from the geometry (never for finite good frames).
 */
bool mhrfit_sequence_recover(mhrfit_fit_archive *a, mhrfit_fitter *f, size_t max_edge_copy_span,
                             mhrfit_recover_report *report, mhrfit_error *err);

/**
 * Smooths the parameters and similarities of the good and recovered frames
 * of `a` with `opts` (smooth.h; NULL = the defaults: zero-phase Butterworth, 6 Hz at 30 fps)
 * and recomputes their geometry with `f`. `labels` (n_frames bytes, may be
 * NULL) receives the mhrfit_smooth_label of each frame; `report` may be
 * NULL. Fewer than 2 anchors leave `a` unchanged. Errors, before any work: a good or recovered
 * frame with a value that is not finite or a scale that is not positive
 * (mhrfit_fit_archive_check_values(), MHRFIT_ERR_NUMERIC naming the frame and the value); then
 * those of mhrfit_smooth_sequence(), MHRFIT_ERR_NOMEM.
 */
bool mhrfit_sequence_smooth(mhrfit_fit_archive *a, mhrfit_fitter *f, const mhrfit_smooth_options *opts,
                            unsigned char *labels, mhrfit_smooth_report *report, mhrfit_error *err);

/**
 * Smoothing on parameters alone (what mhrfit_sequence_smooth() does before the geometry): of F
 * frames, `valid[f]` nonzero marks the good and recovered ones; each row is the 204 `params`,
 * the scale, translation and rotation (a quaternion, signs continuous along the valid frames)
 * of `sim` (F × 13). The anchors are the valid frames whose whole row is finite; the columns are
 * smoothed independently (smooth.h) in blocks of 16, spread over `threads` POSIX threads (0 or 1:
 * the caller's only; the result does not depend on it), each block holding 2 × 16 doubles per
 * frame. `out_params` (F × 204) and `out_sim` (F × 13; may be `params` and `sim`) receive the
 * smoothed values of the anchors (the quaternion renormalised into R) and the input values of
 * every other frame. `labels` (F, may be NULL) and `report` (may be NULL) as
 * mhrfit_sequence_smooth(). Errors: those of mhrfit_smooth_sequence(), MHRFIT_ERR_NOMEM,
 * MHRFIT_ERR_IO (a thread could not start).
 */
bool mhrfit_sequence_smooth_params(size_t F, const unsigned char *valid, const double *params, const double *sim,
                                   const mhrfit_smooth_options *opts, size_t threads, double *out_params,
                                   double *out_sim, unsigned char *labels, mhrfit_smooth_report *report,
                                   mhrfit_error *err);

#ifdef __cplusplus
}
#endif
#endif
