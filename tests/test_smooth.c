/* Tests of the NaN-safe temporal smoothing module (include/mhrfit/smooth.h).
 *
 * Reference values were computed offline with Python 3.11, NumPy 1.24 and SciPy 1.10 in
 * float64; each block says how. */
#include "harness.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "mhrfit/mhrfit.h"

static const double TWO_PI = 6.28318530717958647692;

static mhrfit_smooth_options opts_for(mhrfit_smooth_method m) {
  mhrfit_smooth_options o;
  mhrfit_smooth_options_init(&o);
  o.method = m;
  return o;
}

static bool all_finite(const double *v, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!isfinite(v[i])) return false;
  return true;
}

/* Same bits, NaN payloads included (for "copied unchanged"). */
static bool same_bits(const double *a, const double *b, size_t n) { return memcmp(a, b, n * sizeof *a) == 0; }

/* ---- BUG-4: [finite, NaN, finite] must stay finite ---------------------------------------- */

static void test_bug4_finite_nan_finite(void) {
  for (int m = 0; m < MHRFIT_SMOOTH_METHOD_COUNT; m++) {
    mhrfit_smooth_options o = opts_for((mhrfit_smooth_method)m);
    mhrfit_error err = {0};
    const double x[3] = {1.0, NAN, 3.0};
    double y[3];
    uint8_t lab[3];
    mhrfit_smooth_report rep;
    REQUIRE(mhrfit_smooth_sequence(x, 3, 1, NULL, &o, y, lab, &rep, &err));
    CHECK(all_finite(y, 3));
    CHECK(lab[0] == MHRFIT_SMOOTH_LABEL_ANCHOR && lab[1] == MHRFIT_SMOOTH_LABEL_FILLED &&
          lab[2] == MHRFIT_SMOOTH_LABEL_ANCHOR);
    CHECK(rep.smoothed && rep.n_anchors == 2 && rep.n_filled == 1);

    /* One NaN among the values of a frame makes the whole frame a non-anchor: its finite
     * value 500 must not reach the output. */
    const double x2[6] = {1.0, 2.0, NAN, 500.0, 3.0, 4.0};
    const double x3[6] = {1.0, 2.0, NAN, NAN, 3.0, 4.0};
    double y2[6], y3[6];
    REQUIRE(mhrfit_smooth_sequence(x2, 3, 2, NULL, &o, y2, NULL, NULL, &err));
    REQUIRE(mhrfit_smooth_sequence(x3, 3, 2, NULL, &o, y3, NULL, NULL, &err));
    CHECK(all_finite(y2, 6));
    CHECK(same_bits(y2, y3, 6));
    for (int i = 0; i < 6; i++) CHECK(fabs(y2[i]) < 10.0);
  }
  /* Original method by hand: nearest fill (tie -> earlier) gives [1, 1, 3]; the median over
   * the truncated windows is 1 everywhere; MAD = 0 + 1e-6, so 3 is an outlier and becomes 1;
   * the EMA of [1, 1, 1] is 1. */
  mhrfit_smooth_options o = opts_for(MHRFIT_SMOOTH_ORIGINAL);
  const double x[3] = {1.0, NAN, 3.0};
  double y[3];
  mhrfit_error err = {0};
  REQUIRE(mhrfit_smooth_sequence(x, 3, 1, NULL, &o, y, NULL, NULL, &err));
  for (int i = 0; i < 3; i++) CHECK_NEAR(y[i], 1.0, 1e-15);
  /* Butterworth: the linear fill gives [1, 2, 3]; the padding is cut to 2 samples, so the
   * result is scipy.signal.filtfilt(*butter(4, 6.0, fs=30.0), [1.0, 2.0, 3.0], padlen=2). */
  static const double ref[3] = {1.0421797166784232, 2.1890434431856503, 2.936475474079166};
  o = opts_for(MHRFIT_SMOOTH_BUTTERWORTH);
  REQUIRE(mhrfit_smooth_sequence(x, 3, 1, NULL, &o, y, NULL, NULL, &err));
  for (int i = 0; i < 3; i++) CHECK_NEAR(y[i], ref[i], 1e-12);
}

/* ---- NaN blocks at both ends ------------------------------------------------------------- */

static void test_nan_blocks_at_ends(void) {
  enum { T = 30, D = 3 };
  double x[T * D];
  for (int t = 0; t < T; t++)
    for (int j = 0; j < D; j++) x[t * D + j] = sin(0.2 * t + j) + 0.1 * j * t;
  for (int t = 0; t < 5; t++)
    for (int j = 0; j < D; j++) x[t * D + j] = NAN;     /* whole frames missing at the start */
  for (int t = 25; t < T; t++) x[t * D + (t % D)] = NAN; /* one value missing per frame at the end */
  x[27 * D + 1] = INFINITY;
  for (int m = 0; m < MHRFIT_SMOOTH_METHOD_COUNT; m++) {
    mhrfit_smooth_options o = opts_for((mhrfit_smooth_method)m);
    double y[T * D];
    uint8_t lab[T];
    mhrfit_smooth_report rep;
    mhrfit_error err = {0};
    REQUIRE(mhrfit_smooth_sequence(x, T, D, NULL, &o, y, lab, &rep, &err));
    CHECK(all_finite(y, T * D));
    int wrong = 0;
    for (int t = 0; t < T; t++) {
      const bool gap = t < 5 || t >= 25;
      wrong += lab[t] != (gap ? MHRFIT_SMOOTH_LABEL_FILLED : MHRFIT_SMOOTH_LABEL_ANCHOR);
    }
    CHECK(wrong == 0);
    CHECK(rep.n_anchors == 20 && rep.n_filled == 10 && rep.smoothed);
    /* the filled values stay within the range of the anchors' values */
    for (int t = 0; t < T; t++)
      for (int j = 0; j < D; j++) CHECK(fabs(y[t * D + j]) < 1.0 + 0.1 * j * 25 + 0.5);
  }
  /* Original: frames 0-4 are copies of frame 5 before smoothing, frames 25-29 of frame 24.
   * With alpha = 1 and no median the output is exactly the filled input. */
  mhrfit_smooth_options o = opts_for(MHRFIT_SMOOTH_ORIGINAL);
  o.alpha = 1.0;
  o.median_window = 1;
  double y[T * D];
  mhrfit_error err = {0};
  REQUIRE(mhrfit_smooth_sequence(x, T, D, NULL, &o, y, NULL, NULL, &err));
  for (int j = 0; j < D; j++) {
    for (int t = 0; t < 5; t++) CHECK(y[t * D + j] == x[5 * D + j]);
    for (int t = 25; t < T; t++) CHECK(y[t * D + j] == x[24 * D + j]);
    for (int t = 5; t < 25; t++) CHECK(y[t * D + j] == x[t * D + j]);
  }
}

/* ---- defect 4: frames marked invalid are not anchors, and are labelled -------------------- */

static void test_defect4_invalid_finite_frames_not_anchors(void) {
  enum { T = 16, D = 2 };
  double xa[T * D], xb[T * D];
  uint8_t valid[T];
  for (int t = 0; t < T; t++) {
    xa[t * D + 0] = 0.5 * t;
    xa[t * D + 1] = cos(0.4 * t);
    valid[t] = 1;
  }
  memcpy(xb, xa, sizeof xa);
  /* frame 7: finite but distrusted, with a huge spike; frame 12: finite, distrusted */
  xa[7 * D + 0] = 1e6;
  xa[7 * D + 1] = -1e6;
  valid[7] = 0;
  valid[12] = 0;
  /* the same sequence with those frames NaN and no mask */
  for (int j = 0; j < D; j++) xb[7 * D + j] = xb[12 * D + j] = NAN;
  for (int m = 0; m < MHRFIT_SMOOTH_METHOD_COUNT; m++) {
    mhrfit_smooth_options o = opts_for((mhrfit_smooth_method)m);
    double ya[T * D], yb[T * D];
    uint8_t lab[T];
    mhrfit_smooth_report rep;
    mhrfit_error err = {0};
    REQUIRE(mhrfit_smooth_sequence(xa, T, D, valid, &o, ya, lab, &rep, &err));
    REQUIRE(mhrfit_smooth_sequence(xb, T, D, NULL, &o, yb, NULL, NULL, &err));
    CHECK(same_bits(ya, yb, T * D));
    CHECK(lab[7] == MHRFIT_SMOOTH_LABEL_FILLED && lab[12] == MHRFIT_SMOOTH_LABEL_FILLED);
    CHECK(lab[6] == MHRFIT_SMOOTH_LABEL_ANCHOR && lab[8] == MHRFIT_SMOOTH_LABEL_ANCHOR);
    CHECK(rep.n_anchors == T - 2 && rep.n_filled == 2);
    CHECK(fabs(ya[7 * D + 0]) < 10.0 && fabs(ya[7 * D + 1]) < 2.0);
    /* A caller keeping its own data for filled frames can restore them from the labels. */
    for (int t = 0; t < T; t++)
      if (lab[t] == MHRFIT_SMOOTH_LABEL_FILLED) memcpy(ya + t * D, xa + t * D, D * sizeof *ya);
    CHECK(ya[7 * D] == 1e6);
  }
}

/* ---- fewer than two anchors --------------------------------------------------------------- */

static void test_fewer_than_two_anchors(void) {
  enum { T = 5, D = 2 };
  double x[T * D];
  for (int i = 0; i < T * D; i++) x[i] = NAN;
  x[2 * D + 0] = 4.0;
  x[2 * D + 1] = -1.5;
  for (int m = 0; m < MHRFIT_SMOOTH_METHOD_COUNT; m++) {
    mhrfit_smooth_options o = opts_for((mhrfit_smooth_method)m);
    mhrfit_error err = {0};
    double y[T * D];
    uint8_t lab[T];
    mhrfit_smooth_report rep;
    /* one anchor: the input comes back unchanged (NaN stays where it was, nothing new) */
    REQUIRE(mhrfit_smooth_sequence(x, T, D, NULL, &o, y, lab, &rep, &err));
    CHECK(!rep.smoothed && rep.n_anchors == 1 && rep.n_filled == 0);
    CHECK(same_bits(x, y, T * D));
    int copied = 0;
    for (int t = 0; t < T; t++) copied += lab[t] == MHRFIT_SMOOTH_LABEL_COPIED;
    CHECK(copied == T);
    /* no anchor: finite data, all frames distrusted */
    double f[T * D];
    const uint8_t none[T] = {0};
    for (int i = 0; i < T * D; i++) f[i] = 0.25 * i;
    REQUIRE(mhrfit_smooth_sequence(f, T, D, none, &o, y, lab, &rep, &err));
    CHECK(!rep.smoothed && rep.n_anchors == 0);
    CHECK(same_bits(f, y, T * D));
    /* a single frame */
    REQUIRE(mhrfit_smooth_sequence(f, 1, D, NULL, &o, y, lab, &rep, &err));
    CHECK(!rep.smoothed && rep.n_anchors == 1 && y[0] == f[0] && y[1] == f[1]);
    /* in place */
    double g[T * D];
    memcpy(g, x, sizeof g);
    REQUIRE(mhrfit_smooth_sequence(g, T, D, NULL, &o, g, NULL, NULL, &err));
    CHECK(same_bits(x, g, T * D));
  }
}

/* ---- the original method against a NumPy reference ---------------------------------------- */

/* Input of the reference: 12 frames x 2 values; frame 4 has a spike in value 0, frame 6 a NaN
 * (not an anchor, its 6.0 must be ignored), frame 8 is marked invalid (its -40 ignored). */
static const double ORIG_IN[24] = {0.0, 10.0, 1.0, 9.5, 2.5, 9.0, 2.0, 8.0, 30.0, 7.5, 3.5, 7.0,
                                   NAN, 6.0,  4.0, 5.5, 5.0, -40.0, 5.5, 4.0, 6.5, 3.0, 7.0, 2.5};
static const uint8_t ORIG_VALID[12] = {1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1};

/* Computed by a NumPy transcription of ORIGINAL.md 7.4 steps 3-6 in float64:
 *   anchors = valid & all finite; filled[t] = x[idx[argmin |idx - t|]] (argmin: earlier on ties);
 *   med[t] = np.median(filled[max(0,t-h):min(T,t+h+1)], axis=0), w = max(1,win), even -> +1,
 *   h = w // 2; if sigma > 0: diff = filled - med, mad = np.median(|diff|, axis=0) + 1e-6,
 *   thr = sigma * 1.4826 * mad, x = np.where(|diff| > thr, med, filled);
 *   a = clip(alpha, 1e-4, 1), f/b forward/backward EMA, result 0.5 * (f + b).
 * ORIG_DEFAULT: alpha 0.65, window 5, sigma 3.5. */
static const double ORIG_DEFAULT[24] = {
    0.2676471039368933, 9.413884424072116, 1.0897060112482666, 9.1727054973489,
    2.1825528892807617, 8.838221063854004, 2.2421957550878906, 8.064696343154298,
    3.2442034966796873, 7.531769350976562, 3.44992831640625, 7.037192503906249,
    3.5952094609375, 6.750012322265625, 4.017922026171875, 5.673561301074219,
    4.299769037285156, 5.294123564750977, 5.430980100549805, 4.178663560162842,
    6.316374285192432, 3.6038759960569946, 6.817605999817351, 3.154481598619948};
/* ORIG_ALT: alpha 0.3, window 2 (-> 3), sigma 0 (no outlier suppression: the spike stays). */
static const double ORIG_ALT[24] = {
    1.8361433595574994, 9.3178594904425, 2.773061942224999, 8.950513557775,
    4.012945631749999, 8.512519368249999, 5.1473509024999995, 7.936849097499999,
    10.961415575, 7.428059424999999, 6.152662249999999, 6.91002025,
    5.659965499999999, 6.455412249999999, 5.519978599999999, 5.7057858249999995,
    5.500417519999999, 5.207617577499999, 5.898767263999999, 4.446857304249999,
    6.2733870847999995, 3.818550112975, 6.5438709593599995, 3.3704850790825};

static void test_original_reference(void) {
  mhrfit_smooth_options o = opts_for(MHRFIT_SMOOTH_ORIGINAL);
  double y[24];
  uint8_t lab[12];
  mhrfit_smooth_report rep;
  mhrfit_error err = {0};
  REQUIRE(mhrfit_smooth_sequence(ORIG_IN, 12, 2, ORIG_VALID, &o, y, lab, &rep, &err));
  double worst = 0;
  for (int i = 0; i < 24; i++) worst = fmax(worst, fabs(y[i] - ORIG_DEFAULT[i]));
  printf("    original (defaults) vs NumPy: max |diff| = %.3g\n", worst);
  CHECK(worst <= 1e-12);
  CHECK(rep.n_anchors == 10 && rep.n_filled == 2);
  CHECK(lab[6] == MHRFIT_SMOOTH_LABEL_FILLED && lab[8] == MHRFIT_SMOOTH_LABEL_FILLED && lab[5] == 0);

  o.alpha = 0.3;
  o.median_window = 2;
  o.outlier_sigma = 0.0;
  REQUIRE(mhrfit_smooth_sequence(ORIG_IN, 12, 2, ORIG_VALID, &o, y, NULL, NULL, &err));
  worst = 0;
  for (int i = 0; i < 24; i++) worst = fmax(worst, fabs(y[i] - ORIG_ALT[i]));
  printf("    original (alpha 0.3, window 2, sigma 0) vs NumPy: max |diff| = %.3g\n", worst);
  CHECK(worst <= 1e-12);

  /* negative sigma also disables suppression; window 3 equals window 2 */
  double y2[24];
  o.outlier_sigma = -1.0;
  o.median_window = 3;
  REQUIRE(mhrfit_smooth_sequence(ORIG_IN, 12, 2, ORIG_VALID, &o, y2, NULL, NULL, &err));
  CHECK(same_bits(y, y2, 24));
  /* alpha outside [1e-4, 1] is clipped: 7 acts as 1 (output = filled input when no median) */
  o.alpha = 7.0;
  o.median_window = 0;
  REQUIRE(mhrfit_smooth_sequence(ORIG_IN, 12, 2, ORIG_VALID, &o, y2, NULL, NULL, &err));
  CHECK(y2[4 * 2] == 30.0 && y2[6 * 2] == 3.5 && y2[6 * 2 + 1] == 7.0 && y2[8 * 2 + 1] == 5.5);
  o.alpha = 0.0;
  REQUIRE(mhrfit_smooth_sequence(ORIG_IN, 12, 2, ORIG_VALID, &o, y2, NULL, NULL, &err));
  CHECK(all_finite(y2, 24));
}

/* ---- Butterworth design against SciPy ----------------------------------------------------- */

/* scipy.signal.butter(N, fc, fs=30.0) -> (b, a), for (N, fc) = (4, 6), (3, 6), (4, 0.6). */
static const double BUTTER_B_4_6[5] = {0.046582906636443676, 0.1863316265457747, 0.27949743981866204,
                                       0.1863316265457747, 0.046582906636443676};
static const double BUTTER_A_4_6[5] = {1.0, -0.7820951980233375, 0.6799785269162995, -0.18267569775303227,
                                       0.030118875043169235};
static const double BUTTER_B_3_6[4] = {0.09853116092392705, 0.29559348277178116, 0.29559348277178116,
                                       0.09853116092392705};
static const double BUTTER_A_3_6[4] = {1.0, -0.5772405248063026, 0.42178704868956163, -0.056297236491842595};
static const double BUTTER_B_4_06[5] = {1.32937288987529e-05, 5.31749155950116e-05, 7.97623733925174e-05,
                                        5.31749155950116e-05, 1.32937288987529e-05};
static const double BUTTER_A_4_06[5] = {1.0, -3.671729089161935, 5.067998386734189, -3.1159669252017452,
                                        0.7199103272918712};

/* Multiplies the sections out into (b, a) of degree `order`; returns the largest relative
 * difference to the reference. */
static double compare_ba(int order, double fc, const double *b_ref, const double *a_ref) {
  double sos[6 * MHRFIT_SMOOTH_BUTTER_MAX_SECTIONS];
  mhrfit_error err = {0};
  if (!mhrfit_smooth_butter_design(order, fc, 30.0, sos, &err)) return INFINITY;
  double b[MHRFIT_SMOOTH_BUTTER_MAX_ORDER + 3] = {1.0}, a[MHRFIT_SMOOTH_BUTTER_MAX_ORDER + 3] = {1.0};
  int deg = 0;
  for (int s = 0; s < MHRFIT_SMOOTH_BUTTER_SECTIONS(order); s++) {
    const double *c = sos + 6 * s;
    double nb[MHRFIT_SMOOTH_BUTTER_MAX_ORDER + 3] = {0}, na[MHRFIT_SMOOTH_BUTTER_MAX_ORDER + 3] = {0};
    for (int i = 0; i <= deg; i++)
      for (int k = 0; k < 3; k++) {
        nb[i + k] += b[i] * c[k];
        na[i + k] += a[i] * c[3 + k];
      }
    deg += 2;
    memcpy(b, nb, sizeof b);
    memcpy(a, na, sizeof a);
  }
  double worst = 0;
  for (int i = 0; i <= order; i++) {
    worst = fmax(worst, fabs(b[i] - b_ref[i]) / fabs(b_ref[i]));
    worst = fmax(worst, fabs(a[i] - a_ref[i]) / fabs(a_ref[i]));
  }
  for (int i = order + 1; i <= deg; i++) worst = fmax(worst, fabs(b[i]) + fabs(a[i])); /* odd order */
  return worst;
}

static void test_butter_coefficients_scipy(void) {
  double e1 = compare_ba(4, 6.0, BUTTER_B_4_6, BUTTER_A_4_6);
  double e2 = compare_ba(3, 6.0, BUTTER_B_3_6, BUTTER_A_3_6);
  double e3 = compare_ba(4, 0.6, BUTTER_B_4_06, BUTTER_A_4_06);
  printf("    (b, a) vs scipy.signal.butter, max relative diff: order 4 @ 6 Hz %.3g, order 3 @ 6 Hz %.3g, "
         "order 4 @ 0.6 Hz %.3g\n", e1, e2, e3);
  CHECK(e1 <= 1e-13);
  CHECK(e2 <= 1e-13);
  CHECK(e3 <= 1e-11);
  /* Every section has DC gain 1 to the last bit and |H(fc)| = 1/sqrt(2) for the cascade. */
  double sos[6 * MHRFIT_SMOOTH_BUTTER_MAX_SECTIONS];
  mhrfit_error err = {0};
  for (int order = 1; order <= MHRFIT_SMOOTH_BUTTER_MAX_ORDER; order++) {
    REQUIRE(mhrfit_smooth_butter_design(order, 6.0, 30.0, sos, &err));
    double mag = 1.0;
    const double w = TWO_PI * 6.0 / 30.0;
    for (int s = 0; s < MHRFIT_SMOOTH_BUTTER_SECTIONS(order); s++) {
      const double *c = sos + 6 * s;
      CHECK_NEAR((c[0] + c[1] + c[2]) / (c[3] + c[4] + c[5]), 1.0, 1e-15);
      const double nr = c[0] + c[1] * cos(w) + c[2] * cos(2 * w), ni = -c[1] * sin(w) - c[2] * sin(2 * w);
      const double dr = c[3] + c[4] * cos(w) + c[5] * cos(2 * w), di = -c[4] * sin(w) - c[5] * sin(2 * w);
      mag *= sqrt((nr * nr + ni * ni) / (dr * dr + di * di));
    }
    CHECK_NEAR(mag, sqrt(0.5), 1e-12);
  }
}

/* ---- Butterworth zero-phase filtering against SciPy ---------------------------------------- */

/* FF_IN[t] = sin(0.3 t) + 0.2 cos(1.7 t) + 0.05 t, t = 0..23 (NumPy). */
static const double FF_IN[24] = {
    0.2, 0.31975130780223465, 0.471282834879143, 1.0089224581700795,
    1.3059185840371914, 1.1270926060670896, 1.1309945004727553, 1.3704234258770818,
    1.177803979041781, 0.6937937241509717, 0.5860873404495478, 0.5900217743955809,
    0.1615497253714846, -0.2365824653698262, -0.12441316822348347, -0.04086709525231269,
    -0.2914282184788437, -0.2379293215220788, 0.26427427949680904, 0.5261157153171097,
    0.550870446844153, 0.9837460857411371, 1.602661079635946, 1.7622581327839781};
/* b, a = butter(4, 6.0, fs=30.0); filtfilt(b, a, FF_IN) (default padtype 'odd', padlen 15). */
static const double FF_OUT[24] = {
    0.19975912244950358, 0.34957156166677134, 0.5995464900780435, 0.9098243138963447,
    1.1524864067163645, 1.2628732468625643, 1.27095442546911, 1.2091584577709886,
    1.0740737225440664, 0.8744912812855627, 0.642440762699875, 0.3977170681704589,
    0.15631715471233518, -0.04344932249210363, -0.16949908457272478, -0.22225610911456034,
    -0.20003746804171257, -0.08134463124678944, 0.1328265704126737, 0.4068579637399315,
    0.7154322225434294, 1.0544215029352633, 1.4095931636061312, 1.7623374509881435};
/* Frames 0, 1, 10, 11, 12, 23 missing: fill = np.interp(t, good, FF_IN[good]) (linear inside,
 * nearest beyond the ends), then filtfilt(b, a, fill). */
static const double FF_GAP_OUT[24] = {
    0.47105032514392314, 0.4810216125957162, 0.6342070644738316, 0.9019713504784941,
    1.1368013705335804, 1.2535998467455425, 1.2786105300003066, 1.2365529049172137,
    1.0895205437441955, 0.8142001858231425, 0.4714812208855624, 0.16708216346762045,
    -0.028427514145769207, -0.1178538973661424, -0.15780336577511736, -0.19152852513919566,
    -0.19214160528259885, -0.09518801286567659, 0.1181261882889053, 0.4094429762611771,
    0.7371766587608536, 1.0679374467140452, 1.3603201761773547, 1.6026360945389548};
/* b3, a3 = butter(3, 4.0, fs=30.0); filtfilt(b3, a3, FF_IN, padlen=5). */
static const double FF3_OUT[24] = {
    0.1943878040097219, 0.42694521455287704, 0.6676830012385709, 0.9044354170963815,
    1.1037977459084822, 1.2323447493490085, 1.2718856546017174, 1.2187379462497667,
    1.081047649166921, 0.879296024442524, 0.640772698848283, 0.3913393187029046,
    0.15585467895963986, -0.03885037105449106, -0.1694194364037408, -0.22192838160610492,
    -0.18949079809488686, -0.07067383982982056, 0.12647116594165328, 0.38655484358130104,
    0.6966619470714475, 1.0486042278422998, 1.430667348494033, 1.8206206456091434};

static double max_diff(const double *a, const double *b, size_t n) {
  double w = 0;
  for (size_t i = 0; i < n; i++) w = fmax(w, fabs(a[i] - b[i]));
  return w;
}

static void test_butter_filtfilt_scipy(void) {
  mhrfit_smooth_options o = opts_for(MHRFIT_SMOOTH_BUTTERWORTH);
  mhrfit_error err = {0};
  double y[24];
  REQUIRE(mhrfit_smooth_sequence(FF_IN, 24, 1, NULL, &o, y, NULL, NULL, &err));
  const double e1 = max_diff(y, FF_OUT, 24);

  double gap[24];
  memcpy(gap, FF_IN, sizeof gap);
  gap[0] = gap[1] = gap[10] = gap[11] = gap[12] = gap[23] = NAN;
  uint8_t lab[24];
  REQUIRE(mhrfit_smooth_sequence(gap, 24, 1, NULL, &o, y, lab, NULL, &err));
  const double e2 = max_diff(y, FF_GAP_OUT, 24);
  CHECK(lab[0] == 1 && lab[1] == 1 && lab[2] == 0 && lab[11] == 1 && lab[23] == 1 && lab[22] == 0);

  o.butter_order = 3;
  o.cutoff_hz = 4.0;
  o.butter_padlen = 5;
  REQUIRE(mhrfit_smooth_sequence(FF_IN, 24, 1, NULL, &o, y, NULL, NULL, &err));
  const double e3 = max_diff(y, FF3_OUT, 24);
  printf("    filtfilt vs SciPy, max |diff|: order 4 %.3g, with gaps %.3g, order 3 padlen 5 %.3g\n", e1, e2, e3);
  CHECK(e1 <= 1e-12);
  CHECK(e2 <= 1e-12);
  CHECK(e3 <= 1e-12);
}

/* ---- Butterworth on sines ------------------------------------------------------------------ */

/* Amplitude and phase (radians, relative to sin) of the f_hz component of v[t0..t1). */
static void tone(const double *v, int t0, int t1, double f_hz, double fps, double *amp, double *phase) {
  double s = 0, c = 0;
  for (int t = t0; t < t1; t++) {
    s += v[t] * sin(TWO_PI * f_hz * t / fps);
    c += v[t] * cos(TWO_PI * f_hz * t / fps);
  }
  *amp = 2.0 * sqrt(s * s + c * c) / (t1 - t0);
  *phase = atan2(c, s);
}

static void test_butter_sine(void) {
  enum { T = 300 };
  const double fps = 30.0;
  double x[T], lo[T], y[T];
  for (int t = 0; t < T; t++) {
    lo[t] = sin(TWO_PI * 1.0 * t / fps);
    x[t] = lo[t] + 0.5 * sin(TWO_PI * 12.0 * t / fps);
  }
  mhrfit_smooth_options o = opts_for(MHRFIT_SMOOTH_BUTTERWORTH);
  mhrfit_error err = {0};
  REQUIRE(mhrfit_smooth_sequence(x, T, 1, NULL, &o, y, NULL, NULL, &err));
  /* away from the ends: frames 30..269, 8 whole periods of 1 Hz and 96 of 12 Hz */
  double a1, p1, a12, p12, worst = 0;
  tone(y, 30, 270, 1.0, fps, &a1, &p1);
  tone(y, 30, 270, 12.0, fps, &a12, &p12);
  for (int t = 30; t < 270; t++) worst = fmax(worst, fabs(y[t] - lo[t]));
  printf("    1 Hz: amplitude %.6f, phase %.2e rad, max |y - sin| %.2e; 12 Hz: amplitude %.2e of 0.5 "
         "(%.4f%%)\n", a1, p1, worst, a12, 100.0 * a12 / 0.5);
  CHECK(fabs(a1 - 1.0) < 0.01);
  CHECK(fabs(p1) < 1e-3);
  CHECK(worst < 0.01);
  CHECK(a12 < 0.05 * 0.5);
  /* zero phase: the output crosses zero on the input's zero crossings (t = 15 k); a lag of
   * d frames would leave |y| = sin(2 pi d / 30) there */
  double zc = 0;
  for (int t = 30; t < 270; t += 15) zc = fmax(zc, fabs(y[t]));
  printf("    1 Hz: largest |y| at the input's zero crossings %.2e\n", zc);
  CHECK(zc < 1e-3);
}

/* Order 4 at cutoff / fps = 0.02 (0.6 Hz at 30 fps): stable, exact DC, passes 0.05 Hz, stops 3 Hz. */
static void test_butter_low_cutoff(void) {
  enum { T = 1800 };
  const double fps = 30.0;
  static double x[T], y[T];
  for (int t = 0; t < T; t++) x[t] = 2.0 + sin(TWO_PI * 0.05 * t / fps) + 0.3 * sin(TWO_PI * 3.0 * t / fps);
  mhrfit_smooth_options o = opts_for(MHRFIT_SMOOTH_BUTTERWORTH);
  o.cutoff_hz = 0.6;
  mhrfit_error err = {0};
  REQUIRE(mhrfit_smooth_sequence(x, T, 1, NULL, &o, y, NULL, NULL, &err));
  CHECK(all_finite(y, T));
  double a, p, a3, p3, worst = 0;
  tone(y, 300, 1500, 0.05, fps, &a, &p);
  tone(y, 300, 1500, 3.0, fps, &a3, &p3);
  for (int t = 300; t < 1500; t++) worst = fmax(worst, fabs(y[t] - 2.0 - sin(TWO_PI * 0.05 * t / fps)));
  printf("    cutoff/fps 0.02: 0.05 Hz amplitude %.6f, phase %.2e, max error %.2e; 3 Hz amplitude %.2e\n", a, p,
         worst, a3);
  CHECK(fabs(a - 1.0) < 0.01 && fabs(p) < 1e-3 && worst < 0.01);
  CHECK(a3 < 0.01 * 0.3);
  /* order 8 at the same ratio keeps a constant */
  for (int t = 0; t < T; t++) x[t] = -7.25;
  o.butter_order = 8;
  REQUIRE(mhrfit_smooth_sequence(x, T, 1, NULL, &o, y, NULL, NULL, &err));
  CHECK(max_diff(x, y, T) <= 1e-12);
}

/* ---- constants and ramps ------------------------------------------------------------------- */

static void test_constant_sequence(void) {
  enum { T = 40, D = 2 };
  double x[T * D];
  uint8_t valid[T];
  for (int t = 0; t < T; t++) {
    x[t * D + 0] = 3.7;
    x[t * D + 1] = -123.456;
    valid[t] = 1;
  }
  x[0] = NAN;
  x[10 * D + 1] = NAN;
  x[11 * D] = x[12 * D] = INFINITY;
  x[20 * D] = 99.0; /* finite but distrusted */
  valid[20] = 0;
  x[(T - 1) * D + 1] = -INFINITY;
  for (int m = 0; m < MHRFIT_SMOOTH_METHOD_COUNT; m++) {
    mhrfit_smooth_options o = opts_for((mhrfit_smooth_method)m);
    double y[T * D];
    mhrfit_error err = {0};
    REQUIRE(mhrfit_smooth_sequence(x, T, D, valid, &o, y, NULL, NULL, &err));
    double worst = 0;
    for (int t = 0; t < T; t++) {
      worst = fmax(worst, fabs(y[t * D] - 3.7));
      worst = fmax(worst, fabs(y[t * D + 1] + 123.456));
    }
    printf("    %s: max deviation from the constant %.3g\n", mhrfit_smooth_method_name((mhrfit_smooth_method)m),
           worst);
    CHECK(worst <= 1e-12);
  }
}

static void test_butter_ramp(void) {
  enum { T = 120 };
  double x[T], y[T];
  for (int t = 0; t < T; t++) x[t] = 0.25 * t - 3.0;
  for (int t = 50; t < 56; t++) x[t] = NAN; /* the linear fill of a ramp is the ramp */
  mhrfit_smooth_options o = opts_for(MHRFIT_SMOOTH_BUTTERWORTH);
  mhrfit_error err = {0};
  REQUIRE(mhrfit_smooth_sequence(x, T, 1, NULL, &o, y, NULL, NULL, &err));
  double worst = 0, worst_all = 0;
  for (int t = 0; t < T; t++) {
    const double d = fabs(y[t] - (0.25 * t - 3.0));
    worst_all = fmax(worst_all, d);
    if (t >= 20 && t < T - 20) worst = fmax(worst, d);
  }
  printf("    ramp: max error %.3g away from the ends, %.3g overall\n", worst, worst_all);
  CHECK(worst <= 1e-6);
  CHECK(worst_all <= 1e-2);
}

/* ---- in place, arguments, overflow --------------------------------------------------------- */

static void test_in_place(void) {
  double x[24];
  memcpy(x, ORIG_IN, sizeof x);
  for (int m = 0; m < MHRFIT_SMOOTH_METHOD_COUNT; m++) {
    mhrfit_smooth_options o = opts_for((mhrfit_smooth_method)m);
    mhrfit_error err = {0};
    double y[24], z[24];
    REQUIRE(mhrfit_smooth_sequence(x, 12, 2, ORIG_VALID, &o, y, NULL, NULL, &err));
    memcpy(z, x, sizeof z);
    REQUIRE(mhrfit_smooth_sequence(z, 12, 2, ORIG_VALID, &o, z, NULL, NULL, &err));
    CHECK(same_bits(y, z, 24));
  }
  /* NULL = the defaults: the zero-phase Butterworth, 6 Hz at 30 fps, order 4 */
  double y[24], w[24];
  mhrfit_error err = {0};
  REQUIRE(mhrfit_smooth_sequence(ORIG_IN, 12, 2, ORIG_VALID, NULL, y, NULL, NULL, &err));
  mhrfit_smooth_options d;
  mhrfit_smooth_options_init(&d);
  CHECK(d.method == MHRFIT_SMOOTH_BUTTERWORTH && d.butter_order == 4 && d.cutoff_hz == 6.0 && d.fps == 30.0);
  REQUIRE(mhrfit_smooth_sequence(ORIG_IN, 12, 2, ORIG_VALID, &d, w, NULL, NULL, &err));
  CHECK(same_bits(y, w, 24));
  CHECK(max_diff(y, ORIG_DEFAULT, 24) > 1e-3); /* not the original method's result */
}

static void test_arguments(void) {
  const double x[4] = {1, 2, 3, 4};
  double y[4];
  mhrfit_error err = {0};
  mhrfit_smooth_options o = opts_for(MHRFIT_SMOOTH_BUTTERWORTH);
  CHECK(!mhrfit_smooth_sequence(NULL, 4, 1, NULL, &o, y, NULL, NULL, &err) && err.type == MHRFIT_ERR_ARGUMENT);
  CHECK(!mhrfit_smooth_sequence(x, 4, 1, NULL, &o, NULL, NULL, NULL, &err) && err.type == MHRFIT_ERR_ARGUMENT);
  CHECK(!mhrfit_smooth_sequence(x, 0, 1, NULL, &o, y, NULL, NULL, &err) && err.type == MHRFIT_ERR_ARGUMENT);
  CHECK_CONTAINS(err.message, "0 frames");
  CHECK(!mhrfit_smooth_sequence(x, 4, 0, NULL, &o, y, NULL, NULL, &err) && err.type == MHRFIT_ERR_ARGUMENT);
  CHECK(!mhrfit_smooth_sequence(x, SIZE_MAX / 2, 4, NULL, &o, y, NULL, NULL, &err) &&
        err.type == MHRFIT_ERR_ARGUMENT);
  CHECK_CONTAINS(err.message, "overflows");

  o.cutoff_hz = 15.0;
  mhrfit_error_clear(&err);
  CHECK(!mhrfit_smooth_sequence(x, 4, 1, NULL, &o, y, NULL, NULL, &err) && err.type == MHRFIT_ERR_ARGUMENT);
  CHECK_CONTAINS(err.message, "cutoff_hz 15 must be below the Nyquist frequency 15 Hz (half of fps 30)");
  o.cutoff_hz = 40.0;
  o.fps = 60.0;
  CHECK(!mhrfit_smooth_sequence(x, 4, 1, NULL, &o, y, NULL, NULL, &err));
  CHECK_CONTAINS(err.message, "cutoff_hz 40 must be below the Nyquist frequency 30 Hz");
  o = opts_for(MHRFIT_SMOOTH_BUTTERWORTH);
  o.cutoff_hz = NAN;
  CHECK(!mhrfit_smooth_sequence(x, 4, 1, NULL, &o, y, NULL, NULL, &err));
  CHECK_CONTAINS(err.message, "cutoff_hz nan");
  o.cutoff_hz = 1e-6;
  CHECK(!mhrfit_smooth_sequence(x, 4, 1, NULL, &o, y, NULL, NULL, &err));
  CHECK_CONTAINS(err.message, "lowest supported");
  o = opts_for(MHRFIT_SMOOTH_BUTTERWORTH);
  o.fps = 0.0;
  CHECK(!mhrfit_smooth_sequence(x, 4, 1, NULL, &o, y, NULL, NULL, &err));
  CHECK_CONTAINS(err.message, "fps 0");
  o = opts_for(MHRFIT_SMOOTH_BUTTERWORTH);
  o.butter_order = 0;
  CHECK(!mhrfit_smooth_sequence(x, 4, 1, NULL, &o, y, NULL, NULL, &err));
  CHECK_CONTAINS(err.message, "butter_order 0 is outside 1..8");
  o.butter_order = 9;
  CHECK(!mhrfit_smooth_sequence(x, 4, 1, NULL, &o, y, NULL, NULL, &err));
  double sos[6 * MHRFIT_SMOOTH_BUTTER_MAX_SECTIONS];
  CHECK(!mhrfit_smooth_butter_design(4, 6.0, 30.0, NULL, &err) && err.type == MHRFIT_ERR_ARGUMENT);
  CHECK(!mhrfit_smooth_butter_design(4, 16.0, 30.0, sos, &err) && err.type == MHRFIT_ERR_ARGUMENT);
  CHECK(!mhrfit_smooth_butter_design(4, 6.0, INFINITY, sos, &err) && err.type == MHRFIT_ERR_ARGUMENT);

  o = opts_for(MHRFIT_SMOOTH_ORIGINAL);
  o.alpha = NAN;
  CHECK(!mhrfit_smooth_sequence(x, 4, 1, NULL, &o, y, NULL, NULL, &err));
  CHECK_CONTAINS(err.message, "alpha nan must be finite");
  o = opts_for(MHRFIT_SMOOTH_ORIGINAL);
  o.median_window = -3;
  CHECK(!mhrfit_smooth_sequence(x, 4, 1, NULL, &o, y, NULL, NULL, &err));
  CHECK_CONTAINS(err.message, "median_window -3");
  o = opts_for(MHRFIT_SMOOTH_ORIGINAL);
  o.outlier_sigma = INFINITY;
  CHECK(!mhrfit_smooth_sequence(x, 4, 1, NULL, &o, y, NULL, NULL, &err));
  CHECK_CONTAINS(err.message, "outlier_sigma inf");
  o.method = (mhrfit_smooth_method)7;
  CHECK(!mhrfit_smooth_sequence(x, 4, 1, NULL, &o, y, NULL, NULL, &err));
  CHECK_CONTAINS(err.message, "unknown method 7");
  /* only the selected method's fields are checked */
  o = opts_for(MHRFIT_SMOOTH_ORIGINAL);
  o.cutoff_hz = 100.0;
  CHECK(mhrfit_smooth_sequence(x, 4, 1, NULL, &o, y, NULL, NULL, NULL));

  CHECK_STR(mhrfit_smooth_method_name(MHRFIT_SMOOTH_BUTTERWORTH), "butterworth");
  CHECK_STR(mhrfit_smooth_label_name(MHRFIT_SMOOTH_LABEL_FILLED), "filled");
  CHECK_STR(mhrfit_smooth_label_name((mhrfit_smooth_label)9), "unknown");
}

static void test_overflow_reported(void) {
  /* The odd extension 2 x0 - x1 of these values overflows: an error, never a silent Inf. */
  const double x[4] = {DBL_MAX, -DBL_MAX, DBL_MAX, -DBL_MAX};
  double y[4];
  mhrfit_error err = {0};
  mhrfit_smooth_options o = opts_for(MHRFIT_SMOOTH_BUTTERWORTH);
  CHECK(!mhrfit_smooth_sequence(x, 4, 1, NULL, &o, y, NULL, NULL, &err) && err.type == MHRFIT_ERR_NUMERIC);
  CHECK_CONTAINS(err.message, "overflowed");
  /* the original method only averages, so it stays finite on the same data */
  o = opts_for(MHRFIT_SMOOTH_ORIGINAL);
  CHECK(mhrfit_smooth_sequence(x, 4, 1, NULL, &o, y, NULL, NULL, &err) && all_finite(y, 4));
}

int main(void) {
  RUN(test_bug4_finite_nan_finite);
  RUN(test_nan_blocks_at_ends);
  RUN(test_defect4_invalid_finite_frames_not_anchors);
  RUN(test_fewer_than_two_anchors);
  RUN(test_original_reference);
  RUN(test_butter_coefficients_scipy);
  RUN(test_butter_filtfilt_scipy);
  RUN(test_butter_sine);
  RUN(test_butter_low_cutoff);
  RUN(test_constant_sequence);
  RUN(test_butter_ramp);
  RUN(test_in_place);
  RUN(test_arguments);
  RUN(test_overflow_reported);
  return test_report();
}
