/* The world's up axis: parsing, the rotation to +Y, detection from the body (up_axis.h). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mhrfit/up_axis.h"

static const char *const up_names[] = {"auto", "+x", "+y", "+z", "-x", "-y", "-z"};

bool mhrfit_up_parse(const char *s, mhrfit_up_axis *out, mhrfit_error *err) {
  char b[8] = "";
  size_t n = s ? strlen(s) : 0;
  if (n == 0 || n >= sizeof b)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "up axis '%s': expected auto, x, y, z, -x, -y or -z", s ? s : "");
  for (size_t i = 0; i <= n; i++) b[i] = (char)tolower((unsigned char)s[i]);
  /* "x" means "+x" */
  char full[8];
  snprintf(full, sizeof full, "%s%s", (b[0] >= 'x' && b[0] <= 'z') ? "+" : "", b);
  for (int k = 0; k < 7; k++)
    if (strcmp(full, up_names[k]) == 0) {
      *out = (mhrfit_up_axis)k;
      return true;
    }
  return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "up axis '%s': expected auto, x, y, z, -x, -y or -z", s);
}

const char *mhrfit_up_name(mhrfit_up_axis up) {
  return (unsigned)up < sizeof up_names / sizeof up_names[0] ? up_names[up] : "?";
}

void mhrfit_up_rotation(mhrfit_up_axis up, double U[9]) {
  memset(U, 0, 9 * sizeof *U);
  if (up < MHRFIT_UP_PX || up > MHRFIT_UP_NZ) {
    U[0] = U[4] = U[8] = 1;
    return;
  }
  int k = (up - MHRFIT_UP_PX) % 3; /* axis index */
  double sg = up >= MHRFIT_UP_NX ? -1 : 1;
  /* rows: new X = e_{k+2}, new Y = sg e_k, new Z = sg e_{k+1} */
  U[0 * 3 + (k + 2) % 3] = 1;
  U[1 * 3 + k] = sg;
  U[2 * 3 + (k + 1) % 3] = sg;
}

/* Lower case without underscores, into out (size 32). */
static void squash(const char *s, char *out) {
  size_t j = 0;
  for (; *s && j + 1 < 32; s++)
    if (*s != '_' && *s != '-' && *s != ' ') out[j++] = (char)tolower((unsigned char)*s);
  out[j] = '\0';
}

bool mhrfit_up_markers(const char *const *names, size_t n, long idx[5]) {
  static const char *const want[5][2] = {
      {"lefthip", "lhip"}, {"righthip", "rhip"}, {"neck", "neck"}, {"leftshoulder", "lshoulder"}, {"rightshoulder", "rshoulder"}};
  for (int k = 0; k < 5; k++) idx[k] = -1;
  for (size_t i = 0; i < n; i++) {
    char b[32];
    squash(names[i] ? names[i] : "", b);
    for (int k = 0; k < 5; k++)
      if (idx[k] < 0 && (strcmp(b, want[k][0]) == 0 || strcmp(b, want[k][1]) == 0)) idx[k] = (long)i;
  }
  return idx[0] >= 0 && idx[1] >= 0 && (idx[2] >= 0 || (idx[3] >= 0 && idx[4] >= 0));
}

static bool finite3(const double *p) { return isfinite(p[0]) && isfinite(p[1]) && isfinite(p[2]); }

bool mhrfit_up_detect(const double *points, size_t n_frames, size_t n_markers, const long idx[5], mhrfit_up_axis *up,
                      double *cosine, size_t *n_used, mhrfit_error *err) {
  for (int k = 0; k < 5; k++)
    if (idx[k] >= (long)n_markers)
      return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "up axis: marker index %ld out of range (%zu markers)", idx[k], n_markers);
  if (idx[0] < 0 || idx[1] < 0 || (idx[2] < 0 && (idx[3] < 0 || idx[4] < 0)))
    return MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND,
                       "up axis: detection needs both hips and the neck (or both shoulders) among the points; give the "
                       "up axis (x, y, z, -x, -y or -z)");
  double d[3] = {0, 0, 0};
  size_t used = 0;
  for (size_t f = 0; f < n_frames; f++) {
    const double *P = points + f * n_markers * 3;
    const double *lh = P + 3 * idx[0], *rh = P + 3 * idx[1];
    if (!finite3(lh) || !finite3(rh)) continue;
    double top[3];
    if (idx[2] >= 0 && finite3(P + 3 * idx[2])) {
      memcpy(top, P + 3 * idx[2], sizeof top);
    } else if (idx[3] >= 0 && idx[4] >= 0 && finite3(P + 3 * idx[3]) && finite3(P + 3 * idx[4])) {
      for (int a = 0; a < 3; a++) top[a] = 0.5 * (P[3 * idx[3] + a] + P[3 * idx[4] + a]);
    } else {
      continue;
    }
    double v[3], len = 0;
    for (int a = 0; a < 3; a++) {
      v[a] = top[a] - 0.5 * (lh[a] + rh[a]);
      len += v[a] * v[a];
    }
    len = sqrt(len);
    if (!(len > 0) || !isfinite(len)) continue;
    for (int a = 0; a < 3; a++) d[a] += v[a] / len;
    used++;
  }
  if (used == 0)
    return MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND,
                       "up axis: no frame has finite hips and neck (or shoulders) to detect it from; give the up axis "
                       "(x, y, z, -x, -y or -z)");
  int k = 0;
  for (int a = 1; a < 3; a++)
    if (fabs(d[a]) > fabs(d[k])) k = a;
  double norm = sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
  *up = (mhrfit_up_axis)(d[k] >= 0 ? MHRFIT_UP_PX + k : MHRFIT_UP_NX + k);
  if (cosine) *cosine = norm > 0 ? fabs(d[k]) / norm : 0;
  if (n_used) *n_used = used;
  return true;
}
