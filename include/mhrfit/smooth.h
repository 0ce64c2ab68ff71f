/**
 * @file smooth.h
 * @brief NaN-safe temporal smoothing of a sequence of frames.
 *
 * A sequence holds T frames of D values each, row-major: `x[t·D + j]` is
 * value j of frame t. An optional per-frame mask `valid[t]` (nonzero =
 * valid; NULL = every frame is a candidate) says which frames the caller
 * trusts.
 *
 * **Anchors.** Frame t is an *anchor* when `valid[t]` is nonzero **and all D
 * of its values are finite**. Only anchors carry data into the smoother; every
 * other frame (invalid, partly or fully NaN/Inf) is first replaced as a whole
 * by values made from anchors (the *fill*), so NaN never spreads and a
 * `[finite, NaN, finite]` sequence gives three finite outputs. This is the
 * fix of the original's BUG-4, whose validity test ignored non-finite values.
 *
 * **Labels.** Each output frame gets a label (mhrfit_smooth_label):
 * `ANCHOR` (0) — an anchor, smoothed; `FILLED` (1) — not an anchor, its
 * value was made from anchors (fill, then smoothing); `COPIED` (2) — nothing
 * was smoothed (fewer than 2 anchors) and the frame is the input unchanged.
 * The original overwrote invalid frames with filled values without saying
 * so (defect 4 of its final code); here the caller decides, from the labels,
 * whether to keep filled frames.
 *
 * **Fewer than 2 anchors.** Nothing is smoothed: the output is a copy of the
 * input (non-finite inputs stay as they were, no NaN is made from finite
 * data), every label is `COPIED`, `report.smoothed` is false, and the call
 * succeeds.
 *
 * Every value j (column of the T×D array) is smoothed independently.
 *
 * ### Method MHRFIT_SMOOTH_ORIGINAL (the original's `smooth_frame_dict_sequence`, steps 3–6)
 *
 * 1. Nearest fill: a non-anchor frame t takes the values of the anchor a that
 *    minimises |a − t|; on a tie, the earlier anchor.
 * 2. Temporal median: w = max(1, `median_window`); if w is even, w ← w + 1;
 *    h = ⌊w/2⌋;
 *    @f$ m_t = \operatorname{median}\{ x_s : \max(0, t-h) \le s < \min(T, t+h+1) \} @f$
 *    (window truncated at the ends; the median of an even count is the mean
 *    of the two middle values, as NumPy's). w = 1 or T = 1 gives m = x.
 * 3. Outlier suppression, when σ = `outlier_sigma` > 0:
 *    @f$ d_t = x_t - m_t @f$,
 *    @f$ \mathrm{mad} = \operatorname{median}_t |d_t| + 10^{-6} @f$,
 *    @f$ \theta = \sigma \cdot 1.4826 \cdot \mathrm{mad} @f$;
 *    where @f$ |d_t| > \theta @f$, @f$ x_t \leftarrow m_t @f$. Otherwise x is
 *    kept. (The median m only replaces outliers; it is not smoothed further.)
 * 4. Bidirectional exponential moving average: a = clip(`alpha`, 1e-4, 1);
 *    @f$ f_0 = x_0,\ f_t = a x_t + (1-a) f_{t-1} @f$;
 *    @f$ b_{T-1} = x_{T-1},\ b_t = a x_t + (1-a) b_{t+1} @f$;
 *    @f$ y_t = \tfrac12 (f_t + b_t) @f$.
 *
 * Differences from the original: arithmetic is float64 (the original used a
 * float32 buffer); the anchor test includes finiteness (BUG-4); filled frames
 * are labelled rather than silently written back (defect 4).
 * Cost: O(T·w) per value for the median, O(T) for the rest.
 *
 * ### Method MHRFIT_SMOOTH_BUTTERWORTH (zero-phase low-pass)
 *
 * 1. Fill: a non-anchor frame between anchors p < t < n takes the linear
 *    interpolation @f$ x_p + \tfrac{t-p}{n-p}(x_n - x_p) @f$; before the
 *    first anchor (after the last) it takes the first (last) anchor's values.
 * 2. Design (order N = `butter_order`, 1 ≤ N ≤ 8, even or odd; cutoff
 *    @f$ f_c @f$ = `cutoff_hz`, sampling rate @f$ f_s @f$ = `fps`,
 *    @f$ 10^{-4} f_s \le f_c < f_s/2 @f$): the analog Butterworth prototype has the poles
 *    @f$ p_k = e^{\,i\pi(2k+N+1)/(2N)} @f$, k = 0…N−1, on the left unit
 *    half circle. The cutoff is prewarped,
 *    @f$ \Omega_c = 2 f_s \tan(\pi f_c / f_s) @f$, and the bilinear transform
 *    @f$ s = 2 f_s \frac{1 - z^{-1}}{1 + z^{-1}} @f$ maps the analog filter
 *    @f$ H(s) = \prod_k \Omega_c / (s - \Omega_c p_k) @f$ to z, so the
 *    digital response at @f$ f_c @f$ is exactly @f$ 1/\sqrt2 @f$.
 *    With @f$ K = \tan(\pi f_c/f_s) @f$, each conjugate pole pair of real part
 *    @f$ -s_k = -\sin\frac{(2k+1)\pi}{2N} @f$ (k = 0 … ⌊N/2⌋−1) becomes the
 *    second-order section
 *    @f[ H_k(z) = \frac{K^2 (1 + 2z^{-1} + z^{-2})}
 *        {(1 + 2 s_k K + K^2) + 2(K^2 - 1) z^{-1} + (1 - 2 s_k K + K^2) z^{-2}} , @f]
 *    normalised so that the leading denominator coefficient is 1; an odd N
 *    adds the first-order section of the real pole −1,
 *    @f$ H(z) = \frac{K (1 + z^{-1})}{(1 + K) + (K - 1) z^{-1}} @f$.
 *    All zeros are at z = −1. The numerator is computed from the rounded
 *    denominator, @f$ b = \tfrac14(1 + a_1 + a_2)\,[1, 2, 1] @f$ (first
 *    order: @f$ \tfrac12(1 + a_1)[1, 1] @f$); this equals the formula
 *    above and keeps the DC gain of every rounded section at 1 to rounding
 *    error, so constants pass unchanged even at very low cutoffs. The
 *    filter runs as this cascade of sections (transposed direct form II),
 *    which stays accurate for low @f$ f_c/f_s @f$ (0.02 and below) where the
 *    expanded polynomial form loses digits.
 * 3. Zero-phase filtering (as SciPy's `filtfilt` with `padtype='odd'`): the
 *    filled column is extended at both ends by P samples of odd reflection,
 *    @f$ x_{-i} = 2x_0 - x_i @f$ and @f$ x_{T-1+i} = 2x_{T-1} - x_{T-1-i} @f$,
 *    i = 1…P, with P = `butter_padlen`, or by default P = 3·(N+1) (SciPy's
 *    default 3·max(len(a), len(b))), reduced to T − 1 when the sequence is
 *    shorter. The extended signal is filtered forward, then backward, each
 *    pass starting from the steady state of a constant input equal to its
 *    first sample (SciPy's `lfilter_zi`: for a section with DC gain G the
 *    state is @f$ x\,(G - b_0,\ b_2 - a_2 G) @f$), so the ends do not ring;
 *    the middle T samples are the output. The overall response is
 *    @f$ |H(f)|^2 = 1/(1 + (\tan(\pi f/f_s)/K)^{2N}) @f$ (−6 dB at
 *    @f$ f_c @f$) with zero phase. Constants are kept everywhere; straight
 *    lines are kept away from the ends (the steady-state start suits a
 *    constant, not a slope, and the start-up error decays within a few
 *    multiples of @f$ f_s / (2\pi f_c) @f$ frames).
 *
 * ### Why Butterworth is the default
 *
 * The original's method clips fast, brief motions: its outlier step replaces every value farther
 * than 3.5 robust standard deviations from the 5-frame median by that median, and the MAD of a
 * parameter that is still most of the time (a finger, a wrist) is small, so the peak of a quick
 * gesture counts as an outlier; the EMA then lags. Smoothing the fitted parameters of
 * `mhrfit demo` (120 frames, 30 fps, seed 1; `mhrfit smooth` of `mhrfit run`'s
 * `sequence_fit.npz`, scored by `mhrfit demo --run`'s measures) gives, as keypoint MPJPE /
 * acceleration error (mm, mm/frame²) against the truth: unsmoothed 2.90 / 6.18; original
 * 6.80 / 9.51; original without the outlier step (alpha 0.65) 3.41 / 3.31; Butterworth order 4
 * at 4, 6, 8, 10 Hz: 2.48 / 1.25, 2.16 / 1.35, 2.35 / 2.18, 2.53 / 3.21. Every Butterworth
 * setting lowers both measures; 6 Hz has the lowest keypoint error with an acceleration error
 * close to the best (4 Hz), so it is the default; `MHRFIT_SMOOTH_ORIGINAL` reproduces the
 * original exactly. A low-pass removes real motion faster than its cutoff: the demo scales its
 * motion to its length, and on 30 frames (a 5 Hz wrist wave) the same smoothing raises the error
 * (4.8 → 15 mm). Set `fps` to the capture's frame rate and the cutoff above the fastest motion
 * of interest.
 *
 * Memory: mhrfit_smooth_sequence() allocates its own scratch space
 * (O(T) doubles plus O(T) bytes) and frees it before returning, on every
 * path. All arrays passed in stay owned by the caller.
 */
#ifndef MHRFIT_SMOOTH_H
#define MHRFIT_SMOOTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mhrfit/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Default EMA weight of the original method (its `alpha`). */
#define MHRFIT_SMOOTH_DEFAULT_ALPHA 0.65
/** Smallest EMA weight used; `alpha` is clipped to [MIN, 1]. */
#define MHRFIT_SMOOTH_ALPHA_MIN 1e-4
/** Default temporal median window of the original method, in frames. */
#define MHRFIT_SMOOTH_DEFAULT_MEDIAN_WINDOW 5
/** Default outlier threshold of the original method, in robust standard deviations. */
#define MHRFIT_SMOOTH_DEFAULT_OUTLIER_SIGMA 3.5
/** MAD-to-standard-deviation factor of a normal distribution. */
#define MHRFIT_SMOOTH_MAD_SCALE 1.4826
/** Added to the MAD so that a flat sequence has a positive threshold. */
#define MHRFIT_SMOOTH_MAD_EPS 1e-6
/** Default Butterworth order. */
#define MHRFIT_SMOOTH_DEFAULT_BUTTER_ORDER 4
/** Highest supported Butterworth order. */
#define MHRFIT_SMOOTH_BUTTER_MAX_ORDER 8
/** Default Butterworth cutoff, Hz. */
#define MHRFIT_SMOOTH_DEFAULT_CUTOFF_HZ 6.0
/** Default frame rate, Hz. */
#define MHRFIT_SMOOTH_DEFAULT_FPS 30.0
/** Lowest supported cutoff_hz / fps (below it the sections lose accuracy). */
#define MHRFIT_SMOOTH_BUTTER_MIN_RATIO 1e-4
/** Number of sections of a Butterworth filter of order `n` (⌈n/2⌉). */
#define MHRFIT_SMOOTH_BUTTER_SECTIONS(n) (((n) + 1) / 2)
/** Largest number of sections (for MHRFIT_SMOOTH_BUTTER_MAX_ORDER). */
#define MHRFIT_SMOOTH_BUTTER_MAX_SECTIONS MHRFIT_SMOOTH_BUTTER_SECTIONS(MHRFIT_SMOOTH_BUTTER_MAX_ORDER)

/** Smoothing method (see the file doc). */
typedef enum mhrfit_smooth_method {
  MHRFIT_SMOOTH_ORIGINAL = 0, /**< nearest fill, temporal median, MAD outliers, bidirectional EMA */
  MHRFIT_SMOOTH_BUTTERWORTH,  /**< linear fill, zero-phase Butterworth low-pass */
  MHRFIT_SMOOTH_METHOD_COUNT
} mhrfit_smooth_method;

/** What happened to one output frame. */
typedef enum mhrfit_smooth_label {
  MHRFIT_SMOOTH_LABEL_ANCHOR = 0, /**< valid and finite input frame, smoothed */
  MHRFIT_SMOOTH_LABEL_FILLED = 1, /**< not an anchor: values made from anchors (fill + smoothing) */
  MHRFIT_SMOOTH_LABEL_COPIED = 2  /**< fewer than 2 anchors: input copied unchanged */
} mhrfit_smooth_label;

/**
 * Options; fill with mhrfit_smooth_options_init() then change fields. Only
 * the fields of the selected method are read and checked.
 */
typedef struct mhrfit_smooth_options {
  mhrfit_smooth_method method; /**< default MHRFIT_SMOOTH_BUTTERWORTH (see the file doc for why) */
  /* original method */
  double alpha;                /**< EMA weight of the new sample, finite; clipped to [1e-4, 1] (default 0.65) */
  int median_window;           /**< frames, ≥ 0; 0 or 1 disables the median, even → +1 (default 5) */
  double outlier_sigma;        /**< MAD outlier threshold, finite; ≤ 0 disables suppression (default 3.5) */
  /* Butterworth method */
  int butter_order;            /**< filter order N, 1 … 8 (default 4; the zero-phase response has order 2N) */
  double cutoff_hz;            /**< −3 dB frequency of one pass, Hz; 1e-4·fps ≤ cutoff_hz < fps/2 (default 6) */
  double fps;                  /**< frame rate of the sequence, Hz, > 0 (default 30) */
  int butter_padlen;           /**< odd-extension length P per end; < 0 = 3·(N+1), SciPy's default (default −1) */
} mhrfit_smooth_options;

/** Fills `o` with the defaults listed in mhrfit_smooth_options. */
void mhrfit_smooth_options_init(mhrfit_smooth_options *o);

/**
 * Checks the fields of the selected method as mhrfit_smooth_sequence() does, without data
 * (MHRFIT_ERR_ARGUMENT naming the field and the allowed range), so a caller can refuse bad
 * settings before long work.
 */
bool mhrfit_smooth_options_check(const mhrfit_smooth_options *o, mhrfit_error *err);

/** Short name of a method ("original", "butterworth"), "unknown" otherwise. */
const char *mhrfit_smooth_method_name(mhrfit_smooth_method m);

/** Short name of a label ("anchor", "filled", "copied"), "unknown" otherwise. */
const char *mhrfit_smooth_label_name(mhrfit_smooth_label l);

/** Summary of one mhrfit_smooth_sequence() call. */
typedef struct mhrfit_smooth_report {
  size_t n_anchors; /**< frames that were anchors (valid and all finite) */
  size_t n_filled;  /**< frames labelled FILLED (0 when nothing was smoothed) */
  bool smoothed;    /**< false when there were fewer than 2 anchors and the output is a copy of the input */
} mhrfit_smooth_report;

/**
 * Smooths a sequence of `n_frames` (T ≥ 1) frames of `dim` (D ≥ 1) values.
 *
 * @param x        T×D input, row-major; any value may be non-finite.
 * @param n_frames T.
 * @param dim      D.
 * @param valid    T flags, nonzero = the caller trusts the frame; NULL = all
 *                 frames are candidates. A frame is an anchor when it is
 *                 valid and its D values are finite.
 * @param opts     options; NULL = defaults (zero-phase Butterworth, 6 Hz at 30 fps).
 * @param out      T×D output written by the call; may be `x` itself
 *                 (in-place), must not otherwise overlap it. After success
 *                 every value is finite unless nothing was smoothed (see
 *                 `report`), in which case `out` is a copy of `x`.
 * @param labels   T labels (mhrfit_smooth_label) written by the call; may be
 *                 NULL when not wanted.
 * @param report   counts and the smoothed flag; may be NULL.
 * @param err      error report; may be NULL.
 * @return true on success (also when fewer than 2 anchors left the data
 *         unsmoothed). Errors: MHRFIT_ERR_ARGUMENT (NULL `x` or `out`,
 *         T or D of 0, T·D overflowing, invalid options: the message names
 *         the field and its value), MHRFIT_ERR_NOMEM, MHRFIT_ERR_NUMERIC (a
 *         smoothed value overflowed to ±Inf, only possible for inputs near
 *         the largest double). On failure `out` and `labels` hold unspecified
 *         values (when `out` is `x`, the input may be partly overwritten).
 */
bool mhrfit_smooth_sequence(const double *x, size_t n_frames, size_t dim, const uint8_t *valid,
                            const mhrfit_smooth_options *opts, double *out, uint8_t *labels,
                            mhrfit_smooth_report *report, mhrfit_error *err);

/**
 * Designs the digital Butterworth low-pass of the file doc as
 * MHRFIT_SMOOTH_BUTTER_SECTIONS(order) sections written to `sos`, six numbers
 * per section in SciPy's `sos` layout `[b0, b1, b2, a0, a1, a2]` with a0 = 1
 * (a first-order section has b2 = a2 = 0). The pole pairs come first in the
 * order k = 0, 1, …; every section has DC gain 1, so the product of the
 * sections equals SciPy's `butter(order, cutoff_hz, fs=fps)`.
 * Errors: MHRFIT_ERR_ARGUMENT (NULL `sos`, order outside 1…8, non-finite or
 * non-positive `fps` or `cutoff_hz`, `cutoff_hz` ≥ fps/2 or
 * < MHRFIT_SMOOTH_BUTTER_MIN_RATIO·fps; the message names the values).
 */
bool mhrfit_smooth_butter_design(int order, double cutoff_hz, double fps, double *sos, mhrfit_error *err);

#ifdef __cplusplus
}
#endif
#endif
