/* NaN-safe temporal smoothing: see include/mhrfit/smooth.h. */
#include "mhrfit/smooth.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"

static const double SMOOTH_PI = 3.14159265358979323846;

void mhrfit_smooth_options_init(mhrfit_smooth_options *o) {
  if (!o) return;
  memset(o, 0, sizeof *o);
  o->method = MHRFIT_SMOOTH_BUTTERWORTH;
  o->alpha = MHRFIT_SMOOTH_DEFAULT_ALPHA;
  o->median_window = MHRFIT_SMOOTH_DEFAULT_MEDIAN_WINDOW;
  o->outlier_sigma = MHRFIT_SMOOTH_DEFAULT_OUTLIER_SIGMA;
  o->butter_order = MHRFIT_SMOOTH_DEFAULT_BUTTER_ORDER;
  o->cutoff_hz = MHRFIT_SMOOTH_DEFAULT_CUTOFF_HZ;
  o->fps = MHRFIT_SMOOTH_DEFAULT_FPS;
  o->butter_padlen = -1;
}

const char *mhrfit_smooth_method_name(mhrfit_smooth_method m) {
  static const char *const names[] = {"original", "butterworth"};
  return (unsigned)m < sizeof names / sizeof names[0] ? names[m] : "unknown";
}

const char *mhrfit_smooth_label_name(mhrfit_smooth_label l) {
  static const char *const names[] = {"anchor", "filled", "copied"};
  return (unsigned)l < sizeof names / sizeof names[0] ? names[l] : "unknown";
}

/* ---- Butterworth design ---------------------------------------------------------------- */

static bool check_butter(int order, double cutoff_hz, double fps, mhrfit_error *err) {
  if (order < 1 || order > MHRFIT_SMOOTH_BUTTER_MAX_ORDER)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "smoothing: butter_order %d is outside 1..%d", order,
                       MHRFIT_SMOOTH_BUTTER_MAX_ORDER);
  if (!isfinite(fps) || !(fps > 0))
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "smoothing: fps %g must be a finite frame rate > 0 Hz", fps);
  if (!isfinite(cutoff_hz) || !(cutoff_hz > 0))
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "smoothing: cutoff_hz %g must be a finite frequency > 0 Hz",
                       cutoff_hz);
  if (!(cutoff_hz < 0.5 * fps))
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT,
                       "smoothing: Butterworth cutoff_hz %g must be below the Nyquist frequency %g Hz "
                       "(half of fps %g)",
                       cutoff_hz, 0.5 * fps, fps);
  if (!(cutoff_hz >= MHRFIT_SMOOTH_BUTTER_MIN_RATIO * fps))
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT,
                       "smoothing: Butterworth cutoff_hz %g is below the lowest supported %g Hz "
                       "(%g x fps %g)",
                       cutoff_hz, MHRFIT_SMOOTH_BUTTER_MIN_RATIO * fps, MHRFIT_SMOOTH_BUTTER_MIN_RATIO, fps);
  return true;
}

bool mhrfit_smooth_butter_design(int order, double cutoff_hz, double fps, double *sos, mhrfit_error *err) {
  if (!sos) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "smoothing: NULL section array");
  if (!check_butter(order, cutoff_hz, fps, err)) return false;
  /* Prewarped cutoff: K = Omega_c / (2 fs) = tan(pi fc / fs). */
  const double K = tan(SMOOTH_PI * cutoff_hz / fps);
  const double K2 = K * K;
  int s = 0;
  for (int k = 0; k < order / 2; k++, s++) {
    /* Prototype pole pair -sk +- i ck on the unit circle. */
    const double sk = sin((2 * k + 1) * SMOOTH_PI / (2.0 * order));
    const double a0 = 1.0 + 2.0 * sk * K + K2;
    const double a1 = 2.0 * (K2 - 1.0) / a0;
    const double a2 = (1.0 - 2.0 * sk * K + K2) / a0;
    /* b = K^2/a0 [1 2 1], taken from the rounded a so that the DC gain is exactly 1. */
    const double g = (1.0 + a1 + a2) / 4.0;
    double *c = sos + 6 * s;
    c[0] = g;
    c[1] = 2.0 * g;
    c[2] = g;
    c[3] = 1.0;
    c[4] = a1;
    c[5] = a2;
  }
  if (order % 2) {
    /* Real prototype pole -1: K (1 + z^-1) / ((1 + K) + (K - 1) z^-1). */
    const double a1 = (K - 1.0) / (1.0 + K);
    const double g = (1.0 + a1) / 2.0;
    double *c = sos + 6 * s;
    c[0] = g;
    c[1] = g;
    c[2] = 0.0;
    c[3] = 1.0;
    c[4] = a1;
    c[5] = 0.0;
  }
  return true;
}

/* Runs the sections over v[0..n-1] in place (transposed direct form II), each section
 * starting in the steady state of a constant input equal to its first input sample. */
static void sos_filter_inplace(const double *sos, int n_sections, double *v, size_t n) {
  for (int s = 0; s < n_sections; s++) {
    const double *c = sos + 6 * s;
    const double b0 = c[0], b1 = c[1], b2 = c[2], a1 = c[4], a2 = c[5];
    const double gain = (b0 + b1 + b2) / (1.0 + a1 + a2);
    double z1 = (gain - b0) * v[0];
    double z2 = (b2 - a2 * gain) * v[0];
    for (size_t i = 0; i < n; i++) {
      const double xi = v[i];
      const double yi = b0 * xi + z1;
      z1 = b1 * xi - a1 * yi + z2;
      z2 = b2 * xi - a2 * yi;
      v[i] = yi;
    }
  }
}

static void reverse_inplace(double *v, size_t n) {
  for (size_t i = 0, j = n - 1; i < j; i++, j--) {
    const double t = v[i];
    v[i] = v[j];
    v[j] = t;
  }
}

/* Zero-phase filtering of one column. ext has room for n + 2p values; the column is in
 * ext[p .. p+n-1] on entry and the result there on return. Requires p < n. */
static void filtfilt_column(const double *sos, int n_sections, double *ext, size_t n, size_t p) {
  double *x = ext + p;
  const double first = x[0], last = x[n - 1];
  for (size_t i = 1; i <= p; i++) {
    ext[p - i] = 2.0 * first - x[i];
    x[n - 1 + i] = 2.0 * last - x[n - 1 - i];
  }
  const size_t m = n + 2 * p;
  sos_filter_inplace(sos, n_sections, ext, m);
  reverse_inplace(ext, m);
  sos_filter_inplace(sos, n_sections, ext, m);
  reverse_inplace(ext, m);
}

/* ---- median ---------------------------------------------------------------------------- */

/* Rearranges v[0..n-1] (finite values, n >= 1) so that v[k] is the k-th smallest, everything
 * before it is <= v[k] and everything after >= v[k] (Hoare's selection); returns v[k]. */
static double select_kth(double *v, size_t n, size_t k) {
  ptrdiff_t lo = 0, hi = (ptrdiff_t)n - 1;
  const ptrdiff_t kk = (ptrdiff_t)k;
  while (lo < hi) {
    const double pivot = v[lo + (hi - lo) / 2];
    ptrdiff_t i = lo, j = hi;
    do {
      while (v[i] < pivot) i++;
      while (pivot < v[j]) j--;
      if (i <= j) {
        const double t = v[i];
        v[i] = v[j];
        v[j] = t;
        i++;
        j--;
      }
    } while (i <= j);
    if (kk <= j) hi = j;
    else if (kk >= i) lo = i;
    else break; /* v[j+1 .. i-1] all equal the pivot */
  }
  return v[k];
}

/* Median of v[0..n-1] (n >= 1) as NumPy's: the mean of the two middle values for even n.
 * Reorders v. */
static double median_inplace(double *v, size_t n) {
  const size_t h = n / 2;
  const double hi = select_kth(v, n, h);
  if (n % 2) return hi;
  double lo = v[0];
  for (size_t i = 1; i < h; i++)
    if (v[i] > lo) lo = v[i];
  return 0.5 * lo + 0.5 * hi;
}

/* ---- the original method ---------------------------------------------------------------- */

/* Effective median window: max(1, w), even -> +1. */
static size_t original_window(int median_window) {
  size_t w = median_window > 1 ? (size_t)median_window : 1;
  if (w % 2 == 0) w++;
  return w;
}

/* Median, outlier suppression and bidirectional EMA of one filled column col[0..n-1], in
 * place. Scratch: med, tmp, fwd (n each) and win (min(n, window) values; win may be fwd). */
static void original_column(double *col, size_t n, const mhrfit_smooth_options *o, double *med, double *tmp,
                            double *fwd, double *win) {
  const size_t w = original_window(o->median_window);
  if (n <= 1 || w <= 1) {
    memcpy(med, col, n * sizeof *med);
  } else {
    const size_t h = w / 2;
    for (size_t t = 0; t < n; t++) {
      const size_t s0 = t > h ? t - h : 0;
      const size_t s1 = n - t > h + 1 ? t + h + 1 : n;
      memcpy(win, col + s0, (s1 - s0) * sizeof *win);
      med[t] = median_inplace(win, s1 - s0);
    }
  }
  if (o->outlier_sigma > 0) {
    for (size_t t = 0; t < n; t++) tmp[t] = fabs(col[t] - med[t]);
    const double mad = median_inplace(tmp, n) + MHRFIT_SMOOTH_MAD_EPS;
    const double thr = o->outlier_sigma * MHRFIT_SMOOTH_MAD_SCALE * mad;
    for (size_t t = 0; t < n; t++)
      if (fabs(col[t] - med[t]) > thr) col[t] = med[t];
  }
  double a = o->alpha;
  if (a < MHRFIT_SMOOTH_ALPHA_MIN) a = MHRFIT_SMOOTH_ALPHA_MIN;
  if (a > 1.0) a = 1.0;
  const double r = 1.0 - a;
  fwd[0] = col[0];
  for (size_t t = 1; t < n; t++) fwd[t] = a * col[t] + r * fwd[t - 1];
  double bwd = col[n - 1];
  col[n - 1] = 0.5 * fwd[n - 1] + 0.5 * bwd;
  for (size_t t = n - 1; t-- > 0;) {
    bwd = a * col[t] + r * bwd;
    col[t] = 0.5 * fwd[t] + 0.5 * bwd;
  }
}

/* ---- fills ------------------------------------------------------------------------------ */

/* Fills the non-anchor rows of out from the anchors of x; the anchor rows of out already hold
 * x's. Beyond the first and last anchor the nearest anchor is copied; inside a gap, `linear`
 * interpolates between the two anchors, otherwise the nearer one is copied (tie: the earlier). */
static void fill_gaps(const double *x, size_t n, size_t dim, const uint8_t *anchor, bool linear, double *out) {
  size_t prev = SIZE_MAX;
  for (size_t t = 0; t < n; t++) {
    if (anchor[t]) {
      prev = t;
      continue;
    }
    size_t next = t + 1;
    while (next < n && !anchor[next]) next++;
    for (size_t u = t; u < next; u++) { /* the whole run t .. next-1 */
      double *row = out + u * dim;
      if (prev == SIZE_MAX || next >= n || !linear) {
        size_t src = prev == SIZE_MAX ? next : next >= n ? prev : (u - prev <= next - u) ? prev : next;
        memcpy(row, x + src * dim, dim * sizeof *row);
      } else {
        const double lam = (double)(u - prev) / (double)(next - prev);
        const double *xp = x + prev * dim, *xn = x + next * dim;
        for (size_t j = 0; j < dim; j++) row[j] = xp[j] + lam * (xn[j] - xp[j]);
      }
    }
    t = next - 1;
  }
}

/* ---- entry point ------------------------------------------------------------------------ */

bool mhrfit_smooth_options_check(const mhrfit_smooth_options *o, mhrfit_error *err) {
  switch (o->method) {
  case MHRFIT_SMOOTH_ORIGINAL:
    if (!isfinite(o->alpha))
      return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "smoothing: alpha %g must be finite", o->alpha);
    if (o->median_window < 0)
      return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "smoothing: median_window %d must be >= 0 (0 or 1 = no median)",
                         o->median_window);
    if (!isfinite(o->outlier_sigma))
      return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "smoothing: outlier_sigma %g must be finite (<= 0 disables)",
                         o->outlier_sigma);
    return true;
  case MHRFIT_SMOOTH_BUTTERWORTH:
    return check_butter(o->butter_order, o->cutoff_hz, o->fps, err);
  default:
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "smoothing: unknown method %d", (int)o->method);
  }
}

bool mhrfit_smooth_sequence(const double *x, size_t n_frames, size_t dim, const uint8_t *valid,
                            const mhrfit_smooth_options *opts, double *out, uint8_t *labels,
                            mhrfit_smooth_report *report, mhrfit_error *err) {
  if (!x || !out) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "smoothing: NULL %s array", x ? "output" : "input");
  if (n_frames == 0 || dim == 0)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "smoothing: empty sequence (%zu frames x %zu values)", n_frames,
                       dim);
  size_t n_values, n_bytes;
  if (!mf_mul_size(n_frames, dim, &n_values) || !mf_mul_size(n_values, sizeof(double), &n_bytes))
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "smoothing: %zu frames x %zu values overflows", n_frames, dim);
  mhrfit_smooth_options o;
  if (opts) o = *opts;
  else mhrfit_smooth_options_init(&o);
  if (!mhrfit_smooth_options_check(&o, err)) return false;

  const size_t T = n_frames;
  uint8_t *anchor = mf_malloc_array(T, 1, err);
  if (!anchor) return false;
  size_t n_anchors = 0;
  for (size_t t = 0; t < T; t++) {
    bool ok = !valid || valid[t];
    const double *row = x + t * dim;
    for (size_t j = 0; ok && j < dim; j++) ok = isfinite(row[j]);
    anchor[t] = ok;
    n_anchors += ok;
  }

  if (n_anchors < 2) {
    if (out != x) memcpy(out, x, n_bytes);
    if (labels) memset(labels, MHRFIT_SMOOTH_LABEL_COPIED, T);
    if (report) *report = (mhrfit_smooth_report){.n_anchors = n_anchors, .n_filled = 0, .smoothed = false};
    free(anchor);
    return true;
  }

  /* Scratch: original: med, tmp, fwd (T each) + window; Butterworth: T + 2P. */
  const bool butter = o.method == MHRFIT_SMOOTH_BUTTERWORTH;
  size_t pad = 0, n_work;
  double sos[6 * MHRFIT_SMOOTH_BUTTER_MAX_SECTIONS];
  int n_sections = 0;
  if (butter) {
    if (!mhrfit_smooth_butter_design(o.butter_order, o.cutoff_hz, o.fps, sos, err)) {
      free(anchor);
      return false;
    }
    n_sections = MHRFIT_SMOOTH_BUTTER_SECTIONS(o.butter_order);
    pad = o.butter_padlen < 0 ? 3 * (size_t)(o.butter_order + 1) : (size_t)o.butter_padlen;
    if (pad > T - 1) pad = T - 1;
  }
  /* Butterworth: the padded column (T + 2P < 3T); original: column, median, |d|, forward EMA
   * (the median window, at most T values, shares the forward EMA's space). */
  double *work = NULL;
  if (!mf_mul_size(T, butter ? 3 : 4, &n_work))
    MHRFIT_FAIL(err, MHRFIT_ERR_LIMIT, "smoothing: scratch space for %zu frames overflows", T);
  else work = mf_malloc_array(n_work, sizeof *work, err);
  if (!work) {
    free(anchor);
    return false;
  }

  /* Anchor rows of out = x; the other rows are made from anchors only. */
  if (out != x)
    for (size_t t = 0; t < T; t++)
      if (anchor[t]) memcpy(out + t * dim, x + t * dim, dim * sizeof *out);
  fill_gaps(x, T, dim, anchor, butter, out);

  for (size_t j = 0; j < dim; j++) {
    double *col = butter ? work + pad : work;
    for (size_t t = 0; t < T; t++) col[t] = out[t * dim + j];
    if (butter) filtfilt_column(sos, n_sections, work, T, pad);
    else original_column(col, T, &o, work + T, work + 2 * T, work + 3 * T, work + 3 * T);
    for (size_t t = 0; t < T; t++) out[t * dim + j] = col[t];
  }
  free(work);

  /* Finite anchors and fills give finite results unless the arithmetic overflowed. */
  for (size_t i = 0; i < n_values; i++) {
    if (!isfinite(out[i])) {
      free(anchor);
      return MHRFIT_FAIL(err, MHRFIT_ERR_NUMERIC,
                         "smoothing: frame %zu value %zu overflowed to %g (inputs too close to the largest double)",
                         i / dim, i % dim, out[i]);
    }
  }
  if (labels)
    for (size_t t = 0; t < T; t++) labels[t] = anchor[t] ? MHRFIT_SMOOTH_LABEL_ANCHOR : MHRFIT_SMOOTH_LABEL_FILLED;
  if (report)
    *report = (mhrfit_smooth_report){.n_anchors = n_anchors, .n_filled = T - n_anchors, .smoothed = true};
  free(anchor);
  return true;
}
