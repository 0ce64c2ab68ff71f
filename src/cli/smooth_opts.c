/* The smoothing options shared by `mhrfit run` and `mhrfit smooth` (cli.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

void mf_smooth_cli_init(mf_smooth_cli *c) {
  memset(c, 0, sizeof *c);
  mhrfit_smooth_options_init(&c->o);
  c->method = "butterworth";
  c->median_window = c->o.median_window;
  c->butter_order = c->o.butter_order;
}

size_t mf_smooth_cli_table(mf_smooth_cli *c, mf_opt *out) {
  mhrfit_smooth_options *o = &c->o;
  const mf_opt t[] = {
      {"smooth_method", MF_OPT_STRING, &c->method, "M", "butterworth (zero-phase low-pass) | original (the original pipeline's median, outliers, EMA) (default butterworth)", NULL},
      {"smoothing_alpha", MF_OPT_DOUBLE, &o->alpha, "A", "original: EMA weight (default 0.65)", NULL},
      {"smoothing_median_window", MF_OPT_INT, &c->median_window, "N", "original: median window in frames (default 5)", NULL},
      {"smoothing_outlier_sigma", MF_OPT_DOUBLE, &o->outlier_sigma, "S", "original: MAD outlier threshold, 0 = off (default 3.5)", NULL},
      {"butter_order", MF_OPT_INT, &c->butter_order, "N", "butterworth: filter order 1..8 (default 4)", NULL},
      {"cutoff_hz", MF_OPT_DOUBLE, &o->cutoff_hz, "HZ", "butterworth: cutoff frequency (default 6)", NULL},
      {"fps", MF_OPT_DOUBLE, &o->fps, "HZ",
       c->fps_from_capture ? "frame rate of the capture (default: the capture's, from the frames_meta.json of "
                             "mhrfit frames in --input, else 30)"
       : c->fps_from_input ? "frame rate of the capture (default: the input archive's fps, else 30)"
                           : "frame rate of the capture (default 30)",
       &c->fps_seen},
  };
  _Static_assert(sizeof t / sizeof t[0] <= MF_SMOOTH_CLI_N_OPTS, "MF_SMOOTH_CLI_N_OPTS too small");
  memcpy(out, t, sizeof t);
  return sizeof t / sizeof t[0];
}

int mf_smooth_cli_finish(mf_smooth_cli *c, const char *cmd) {
  if (strcmp(c->method, "butterworth") == 0) c->o.method = MHRFIT_SMOOTH_BUTTERWORTH;
  else if (strcmp(c->method, "original") == 0) c->o.method = MHRFIT_SMOOTH_ORIGINAL;
  else return mf_usage_error(cmd, "--smooth_method must be original or butterworth, got '%s'", c->method);
  if (c->median_window < 0 || c->median_window > 10000)
    return mf_usage_error(cmd, "--smoothing_median_window must be in 0..10000, got %ld", c->median_window);
  if (c->butter_order < 1 || c->butter_order > MHRFIT_SMOOTH_BUTTER_MAX_ORDER)
    return mf_usage_error(cmd, "--butter_order must be in 1..%d, got %ld", MHRFIT_SMOOTH_BUTTER_MAX_ORDER,
                          c->butter_order);
  bool fps_later = (c->fps_from_capture || c->fps_from_input) && !c->fps_seen; /* the rate is checked later */
  if (fps_later) c->o.fps = 0;
  else if (!(c->o.fps > 0)) return mf_usage_error(cmd, "--fps must be a frame rate > 0 Hz, got %g", c->o.fps);
  if (!(c->o.alpha > 0 && c->o.alpha <= 1))
    return mf_usage_error(cmd, "--smoothing_alpha must be an EMA weight in (0, 1], got %g", c->o.alpha);
  c->o.median_window = (int)c->median_window;
  c->o.butter_order = (int)c->butter_order;
  if (c->o.method == MHRFIT_SMOOTH_BUTTERWORTH && !fps_later) { /* the filter's own checks: cutoff below Nyquist, ... */
    double sos[6 * MHRFIT_SMOOTH_BUTTER_MAX_SECTIONS];
    mhrfit_error err = {0};
    if (!mhrfit_smooth_butter_design(c->o.butter_order, c->o.cutoff_hz, c->o.fps, sos, &err))
      return mf_usage_error(cmd, "--cutoff_hz %g with --fps %g: %s", c->o.cutoff_hz, c->o.fps, err.message);
  }
  return -1;
}

int mf_smooth_cli_input_fps(mf_smooth_cli *c, const char *cmd, const char *input, double fps, bool quiet) {
  if (c->fps_seen) return -1;
  bool known = isfinite(fps) && fps > 0;
  c->o.fps = known ? fps : 30;
  if (!quiet)
    printf(known ? "frame rate %g fps (the input's)\n" : "frame rate %g fps (the input records no usable rate; --fps sets it)\n",
           c->o.fps);
  if (c->o.method == MHRFIT_SMOOTH_BUTTERWORTH) {
    double sos[6 * MHRFIT_SMOOTH_BUTTER_MAX_SECTIONS];
    mhrfit_error err = {0};
    if (!mhrfit_smooth_butter_design(c->o.butter_order, c->o.cutoff_hz, c->o.fps, sos, &err))
      return mf_usage_error(cmd, "--cutoff_hz %g with the %g fps of %s: %s", c->o.cutoff_hz, c->o.fps, input,
                            err.message);
  }
  return -1;
}
