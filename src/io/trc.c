/* OpenSim .trc writing: see include/mhrfit/trc.h. */
#include "mhrfit/trc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/file.h"
#include "mhrfit/value.h"

/* A decimal that reads back as x: mhrfit_format_double()'s shortest one, found faster for the
 * common case of coordinates that need 16 or 17 digits (one to three tries instead of up to 17). */
static void format_coord(double x, char *buf, size_t size) {
  snprintf(buf, size, "%.15g", x);
  if (strtod(buf, NULL) == x) { /* short: the full search for the shortest */
    mhrfit_format_double(x, buf, size);
    return;
  }
  snprintf(buf, size, "%.16g", x);
  if (strtod(buf, NULL) != x) snprintf(buf, size, "%.17g", x);
  if (!strpbrk(buf, ".eEn") && strlen(buf) + 3 <= size) strcat(buf, ".0");
}

bool mhrfit_trc_write(const char *path, const char *const *names, size_t n_markers, const double *points,
                      size_t n_frames, double rate, bool world_axes, mhrfit_error *err) {
  /* Pose2Sim: a Z-up world, TRC (X, Y, Z) = world (Y, Z, X) */
  static const double pose2sim[9] = {0, 1, 0, 0, 0, 1, 1, 0, 0}, identity[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
  return mhrfit_trc_write_axes(path, names, n_markers, points, n_frames, rate, world_axes ? identity : pose2sim, 1, "m",
                               err);
}

bool mhrfit_trc_write_axes(const char *path, const char *const *names, size_t n_markers, const double *points,
                           size_t n_frames, double rate, const double axes[9], double unit_m, const char *unit,
                           mhrfit_error *err) {
  if (!(rate > 0) || n_markers == 0) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "%s: TRC needs markers and a rate > 0", path);
  if (!(unit_m > 0) || !unit || !unit[0] || strpbrk(unit, "\t\n"))
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "%s: TRC needs a unit > 0 and its name", path);
  mf_atomic_file af;
  if (!mf_atomic_open(&af, path, err)) return false;
  FILE *f = af.f;
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  fprintf(f, "PathFileType\t4\t(X/Y/Z)\t%s\n", base);
  fprintf(f, "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames\n");
  fprintf(f, "%g\t%g\t%zu\t%zu\t%s\t%g\t0\t%zu\n", rate, rate, n_frames, n_markers, unit, rate, n_frames);
  fprintf(f, "Frame#\tTime");
  for (size_t m = 0; m < n_markers; m++) fprintf(f, "\t%s\t\t", names[m]);
  fprintf(f, "\n\t");
  for (size_t m = 0; m < n_markers; m++) fprintf(f, "\tX%zu\tY%zu\tZ%zu", m + 1, m + 1, m + 1);
  fprintf(f, "\n");
  char buf[64];
  for (size_t fr = 0; fr < n_frames; fr++) {
    mhrfit_format_double((double)(fr + 1) / rate, buf, sizeof buf);
    fprintf(f, "%zu\t%s", fr + 1, buf);
    for (size_t m = 0; m < n_markers; m++) {
      const double *X = points + (fr * n_markers + m) * 3;
      double out[3];
      for (int a = 0; a < 3; a++) out[a] = (axes[3 * a] * X[0] + axes[3 * a + 1] * X[1] + axes[3 * a + 2] * X[2]) / unit_m;
      for (int a = 0; a < 3; a++) {
        if (isfinite(out[a])) {
          format_coord(out[a], buf, sizeof buf);
          fprintf(f, "\t%s", buf);
        } else {
          fprintf(f, "\t");
        }
      }
    }
    fprintf(f, "\n");
  }
  return mf_atomic_commit(&af, err);
}
