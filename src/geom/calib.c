/* Calibration files: see include/mhrfit/calib.h. */
#include "mhrfit/calib.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/file.h"
#include "common/mem.h"
#include "mhrfit/json.h"
#include "mhrfit/toml.h"

/* Bounds of physical calibration values (calib.h): beyond them a finite number is a corrupt or
 * mis-scaled file, not a camera. */
#define MAX_PIXELS 1e6             /* focal length, skew, principal point */
#define MAX_DISTORTION 1e3         /* any OpenCV distortion term */
#define MAX_ROTATION (2 * M_PI + 1e-9) /* length of a Rodrigues vector (rad) */
#define MAX_TRANSLATION_M 1e5      /* each translation component after the unit (m) */

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

typedef struct ctx {
  const char *file;
  const char *table;
  mhrfit_error *err;
} ctx;

static bool field_err(const ctx *c, const mhrfit_value *v, const char *field, const char *what) {
  if (v && v->line > 0)
    return MHRFIT_FAIL(c->err, MHRFIT_ERR_FORMAT, "%s:%d: table [%s]: field '%s': %s", c->file, v->line, c->table,
                       field, what);
  return MHRFIT_FAIL(c->err, MHRFIT_ERR_FORMAT, "%s: table [%s]: field '%s': %s", c->file, c->table, field, what);
}

/* Reads list `v` (of field `field`) of n finite numbers, min_n <= n <= max_n, into out. */
static bool numbers_of(const ctx *c, const mhrfit_value *v, const char *field, double *out, size_t min_n, size_t max_n,
                       size_t *out_n) {
  if (v->kind != MHRFIT_V_LIST) return field_err(c, v, field, "expected a list of numbers");
  size_t n = v->u.list.count;
  if (n < min_n || n > max_n) {
    char msg[96];
    if (min_n == max_n) snprintf(msg, sizeof msg, "expected %zu numbers, found %zu", min_n, n);
    else snprintf(msg, sizeof msg, "expected %zu to %zu numbers, found %zu", min_n, max_n, n);
    return field_err(c, v, field, msg);
  }
  for (size_t i = 0; i < n; i++) {
    const mhrfit_value *e = v->u.list.items[i];
    if (!mhrfit_value_is_number(e) || e->kind == MHRFIT_V_BOOL) return field_err(c, v, field, "holds a non-number");
    out[i] = mhrfit_value_as_double(e);
    if (!isfinite(out[i])) return field_err(c, v, field, "holds a non-finite number");
  }
  if (out_n) *out_n = n;
  return true;
}

/* Field `field` of table t as a list of numbers (see numbers_of). */
static bool numbers(const ctx *c, const mhrfit_value *t, const char *field, double *out, size_t min_n, size_t max_n,
                    size_t *out_n) {
  const mhrfit_value *v = mhrfit_value_dict_get(t, field);
  if (!v) return field_err(c, t, field, "missing");
  return numbers_of(c, v, field, out, min_n, max_n, out_n);
}

/* A 3x3 matrix as [[a,b,c],[d,e,f],[g,h,i]]. */
static bool matrix3(const ctx *c, const mhrfit_value *t, const char *field, double M[9]) {
  const mhrfit_value *v = mhrfit_value_dict_get(t, field);
  if (!v) return field_err(c, t, field, "missing");
  if (v->kind != MHRFIT_V_LIST || v->u.list.count != 3) return field_err(c, v, field, "expected a 3x3 matrix");
  for (int r = 0; r < 3; r++) {
    const mhrfit_value *row = v->u.list.items[r];
    if (row->kind != MHRFIT_V_LIST || row->u.list.count != 3) return field_err(c, v, field, "expected a 3x3 matrix");
    if (!numbers_of(c, row, field, M + 3 * r, 3, 3, NULL)) return false;
  }
  return true;
}

static bool is_rotation(const double R[9]) {
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) {
      double d = R[3 * i] * R[3 * j] + R[3 * i + 1] * R[3 * j + 1] + R[3 * i + 2] * R[3 * j + 2];
      if (fabs(d - (i == j ? 1.0 : 0.0)) > 1e-6) return false;
    }
  double det = R[0] * (R[4] * R[8] - R[5] * R[7]) - R[1] * (R[3] * R[8] - R[5] * R[6]) + R[2] * (R[3] * R[7] - R[4] * R[6]);
  return fabs(det - 1.0) < 1e-6;
}

static bool read_camera(const ctx *c, const mhrfit_value *t, const char *table, mhrfit_camera *cam, double unit_scale,
                        bool invert) {
  memset(cam, 0, sizeof *cam);
  snprintf(cam->table, sizeof cam->table, "%s", table);
  const mhrfit_value *name = mhrfit_value_dict_get(t, "name");
  if (name && name->kind == MHRFIT_V_STRING) snprintf(cam->name, sizeof cam->name, "%s", name->u.str.data);
  else if (name && name->kind == MHRFIT_V_INT) snprintf(cam->name, sizeof cam->name, "%lld", (long long)name->u.integer);
  else snprintf(cam->name, sizeof cam->name, "%s", table);
  if (!matrix3(c, t, "matrix", cam->K)) return false;
  const mhrfit_value *mv = mhrfit_value_dict_get(t, "matrix");
  if (!(cam->K[0] > 0) || !(cam->K[4] > 0) || cam->K[3] != 0 || cam->K[6] != 0 || cam->K[7] != 0 || cam->K[8] != 1)
    return field_err(c, mv, "matrix", "not an intrinsic matrix [[fx, s, cx], [0, fy, cy], [0, 0, 1]] with fx, fy > 0");
  if (cam->K[0] > MAX_PIXELS || cam->K[4] > MAX_PIXELS || fabs(cam->K[1]) > MAX_PIXELS || fabs(cam->K[2]) > MAX_PIXELS ||
      fabs(cam->K[5]) > MAX_PIXELS) {
    char msg[256];
    snprintf(msg, sizeof msg,
             "fx = %g, fy = %g, skew = %g, cx = %g, cy = %g: no real camera has a focal length, skew or principal "
             "point beyond 1e6 pixels",
             cam->K[0], cam->K[4], cam->K[1], cam->K[2], cam->K[5]);
    return field_err(c, mv, "matrix", msg);
  }
  const mhrfit_value *dv = mhrfit_value_dict_get(t, "distortions");
  cam->dist_missing = dv == NULL;
  if (dv) {
    size_t n;
    if (!numbers(c, t, "distortions", cam->dist, 0, 8, &n)) return false;
    if (n != 0 && n != 4 && n != 5 && n != 8)
      return field_err(c, dv, "distortions", "expected 0, 4, 5 or 8 OpenCV terms (k1 k2 p1 p2 [k3 [k4 k5 k6]])");
    static const char *const term[8] = {"k1", "k2", "p1", "p2", "k3", "k4", "k5", "k6"};
    for (size_t i = 0; i < n; i++)
      if (fabs(cam->dist[i]) > MAX_DISTORTION) {
        char msg[160];
        snprintf(msg, sizeof msg, "%s = %g is not a lens distortion (real lenses stay within +-%g)", term[i],
                 cam->dist[i], MAX_DISTORTION);
        return field_err(c, dv, "distortions", msg);
      }
    cam->n_dist = (int)n;
  }
  const mhrfit_value *rot = mhrfit_value_dict_get(t, "rotation");
  if (!rot) return field_err(c, t, "rotation", "missing");
  if (rot->kind == MHRFIT_V_LIST && rot->u.list.count == 3 && rot->u.list.items[0]->kind == MHRFIT_V_LIST) {
    if (!matrix3(c, t, "rotation", cam->R)) return false;
    if (!is_rotation(cam->R)) return field_err(c, rot, "rotation", "the 3x3 matrix is not a rotation (RᵀR = I, det R = 1)");
  } else {
    double r[3];
    if (!numbers(c, t, "rotation", r, 3, 3, NULL)) {
      mhrfit_error_clear(c->err);
      return field_err(c, rot, "rotation", "expected a Rodrigues 3-vector or a 3x3 matrix");
    }
    double angle = hypot(hypot(r[0], r[1]), r[2]);
    if (!(angle <= MAX_ROTATION)) {
      char msg[200];
      snprintf(msg, sizeof msg,
               "a Rodrigues vector of length %g rad is not a camera rotation (at most 2 pi, one full turn; "
               "OpenCV writes at most pi)",
               angle);
      return field_err(c, rot, "rotation", msg);
    }
    mhrfit_rodrigues_to_matrix(r, cam->R);
  }
  if (!numbers(c, t, "translation", cam->t, 3, 3, NULL)) return false;
  for (int i = 0; i < 3; i++) cam->t[i] *= unit_scale;
  for (int i = 0; i < 3; i++)
    if (!(fabs(cam->t[i]) <= MAX_TRANSLATION_M)) {
      char msg[200];
      snprintf(msg, sizeof msg, "%g m is not a camera position in a capture (at most 1e5 m from the origin)",
               cam->t[i]);
      return field_err(c, mhrfit_value_dict_get(t, "translation"), "translation", msg);
    }
  if (mhrfit_value_dict_get(t, "size")) {
    double s[2];
    if (!numbers(c, t, "size", s, 2, 2, NULL)) return false;
    if (!(s[0] >= 1 && s[1] >= 1 && s[0] <= 1e6 && s[1] <= 1e6 && s[0] == floor(s[0]) && s[1] == floor(s[1])))
      return field_err(c, mhrfit_value_dict_get(t, "size"), "size", "expected [width, height] in whole pixels");
    cam->width = (int)s[0];
    cam->height = (int)s[1];
  }
  const mhrfit_value *fe = mhrfit_value_dict_get(t, "fisheye");
  if (fe && fe->kind == MHRFIT_V_BOOL && fe->u.boolean) {
    cam->fisheye = true;
    for (int i = 0; i < 8; i++)
      if (cam->dist[i] != 0)
        return MHRFIT_FAIL(c->err, MHRFIT_ERR_UNSUPPORTED,
                           "%s: table [%s]: fisheye = true with distortion is not supported (the fisheye lens "
                           "model is not implemented)",
                           c->file, table);
  }
  if (invert) mhrfit_camera_invert_extrinsics(cam);
  return true;
}

/* The table holds a field only cameras have (it lacks `matrix`, so it is not read as one). */
static bool camera_like(const mhrfit_value *t) {
  static const char *const fields[] = {"rotation", "translation", "distortions", "size"};
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
    if (mhrfit_value_dict_get(t, fields[i])) return true;
  return false;
}

/* Remembers a table that is not read as a camera (no `matrix`), for mhrfit_calib_select() and
 * mhrfit_calib_unread_cameras(). */
static bool add_ignored(mhrfit_calib *cal, const char *name, const mhrfit_value *t, mhrfit_error *err) {
  char **names = realloc(cal->ignored, (cal->n_ignored + 1) * sizeof *names);
  if (names) cal->ignored = names;
  int *lines = names ? realloc(cal->ignored_line, (cal->n_ignored + 1) * sizeof *lines) : NULL;
  if (lines) cal->ignored_line = lines;
  bool *like = lines ? realloc(cal->ignored_camera_like, (cal->n_ignored + 1) * sizeof *like) : NULL;
  if (like) cal->ignored_camera_like = like;
  if (!names || !lines || !like) return MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
  if (!(cal->ignored[cal->n_ignored] = mf_strdup(name, err))) return false;
  cal->ignored_line[cal->n_ignored] = t->line;
  cal->ignored_camera_like[cal->n_ignored++] = camera_like(t);
  return true;
}

size_t mhrfit_calib_unread_cameras(const mhrfit_calib *calib, char *out, size_t size) {
  size_t n = 0, len = 0;
  if (out && size) out[0] = '\0';
  for (size_t i = 0; i < calib->n_ignored; i++) {
    if (!calib->ignored_camera_like || !calib->ignored_camera_like[i]) continue;
    if (out && len < size) {
      char line[32] = "";
      if (calib->ignored_line[i] > 0) snprintf(line, sizeof line, " (line %d)", calib->ignored_line[i]);
      len += (size_t)snprintf(out + len, size - len, "%s[%s]%s", n ? ", " : "", calib->ignored[i], line);
    }
    n++;
  }
  return n;
}

static bool add_camera(mhrfit_calib *cal, size_t *cap, const mhrfit_camera *cam, mhrfit_error *err) {
  void *p = cal->cams;
  if (!mf_grow(&p, cap, cal->n_cams + 1, sizeof *cal->cams, err)) return false;
  cal->cams = p;
  cal->cams[cal->n_cams++] = *cam;
  return true;
}

mhrfit_calib *mhrfit_calib_from_value(const mhrfit_value *doc, const char *name, const mhrfit_calib_options *opts,
                                      mhrfit_error *err) {
  if (!name) name = "calibration";
  double scale = 1.0;
  const char *unit = opts && opts->translation_unit ? opts->translation_unit : "m";
  if (strcmp(unit, "m") == 0) scale = 1.0;
  else if (strcmp(unit, "cm") == 0) scale = 0.01;
  else if (strcmp(unit, "mm") == 0) scale = 0.001;
  else {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "%s: unknown translation unit '%s' (use m, cm or mm)", name, unit);
    return NULL;
  }
  mhrfit_calib *cal = calloc(1, sizeof *cal);
  if (!cal) {
    MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
    return NULL;
  }
  snprintf(cal->unit, sizeof cal->unit, "m");
  if (opts) {
    cal->warn = opts->warn;
    cal->warn_user = opts->warn_user;
  }
  cal->path = mf_strdup(name, err);
  if (!cal->path) goto fail;
  size_t cap = 0;
  bool invert = opts && opts->invert_extrinsics;
  if (doc->kind == MHRFIT_V_LIST) { /* JSON: a list of camera objects */
    for (size_t i = 0; i < doc->u.list.count; i++) {
      const mhrfit_value *t = doc->u.list.items[i];
      char table[32];
      snprintf(table, sizeof table, "%zu", i);
      ctx c = {name, table, err};
      mhrfit_camera cam;
      if (t->kind != MHRFIT_V_DICT) {
        MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: camera %zu is not an object", name, i);
        goto fail;
      }
      if (!read_camera(&c, t, table, &cam, scale, invert) || !add_camera(cal, &cap, &cam, err)) goto fail;
    }
  } else if (doc->kind == MHRFIT_V_DICT) {
    for (size_t i = 0; i < doc->u.dict.count; i++) {
      const mhrfit_value *t = doc->u.dict.vals[i];
      const char *key = doc->u.dict.keys[i];
      if (t->kind != MHRFIT_V_DICT) continue;
      if (mhrfit_value_dict_get(t, "matrix")) {
        ctx c = {name, key, err};
        mhrfit_camera cam;
        if (!read_camera(&c, t, key, &cam, scale, invert) || !add_camera(cal, &cap, &cam, err)) goto fail;
        continue;
      }
      if (!add_ignored(cal, key, t, err)) goto fail;
      /* one level down: [cameras.<id>] */
      for (size_t j = 0; j < t->u.dict.count; j++) {
        const mhrfit_value *s = t->u.dict.vals[j];
        if (s->kind != MHRFIT_V_DICT) continue;
        if (!mhrfit_value_dict_get(s, "matrix")) {
          if (!add_ignored(cal, t->u.dict.keys[j], s, err)) goto fail;
          continue;
        }
        char table[2 * MHRFIT_CAMERA_NAME_MAX];
        snprintf(table, sizeof table, "%s.%s", key, t->u.dict.keys[j]);
        ctx c = {name, table, err};
        mhrfit_camera cam;
        if (!read_camera(&c, s, t->u.dict.keys[j], &cam, scale, invert) || !add_camera(cal, &cap, &cam, err)) goto fail;
      }
    }
  }
  if (cal->n_cams == 0) {
    MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "%s: no camera table (a table with a 'matrix' field) found", name);
    goto fail;
  }
  return cal;
fail:
  mhrfit_calib_free(cal);
  return NULL;
}

mhrfit_calib *mhrfit_calib_load(const char *path, const mhrfit_calib_options *opts, mhrfit_error *err) {
  unsigned char *data;
  size_t len;
  if (!mf_read_file(path, (size_t)64 << 20, &data, &len, err)) return NULL;
  if (memchr(data, 0, len < 4096 ? len : 4096)) { /* a NumPy, zip or image file given by mistake */
    bool zip = len >= 4 && memcmp(data, "PK\x03\x04", 4) == 0, npy = len >= 6 && memcmp(data, "\x93NUMPY", 6) == 0;
    free(data);
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: not a calibration file: it holds binary data%s, a calibration is TOML "
                "(Caliscope, Anipose, Pose2Sim) or JSON", path, zip ? " (a zip or .npz archive)" : npy ? " (a NumPy .npy)" : "");
    return NULL;
  }
  size_t i = 0;
  while (i < len && (data[i] == ' ' || data[i] == '\n' || data[i] == '\r' || data[i] == '\t')) i++;
  const char *dot = strrchr(path, '.');
  bool json = (dot && strcmp(dot, ".json") == 0) || (i < len && data[i] == '{') || (i < len && data[i] == '[' &&
                                                                                    !(dot && strcmp(dot, ".toml") == 0));
  mhrfit_value *doc = json ? mhrfit_json_parse((const char *)data, len, path, err)
                           : mhrfit_toml_parse((const char *)data, len, path, err);
  free(data);
  if (!doc) return NULL;
  mhrfit_calib *cal = mhrfit_calib_from_value(doc, path, opts, err);
  mhrfit_value_free(doc);
  return cal;
}

long mhrfit_calib_find(const mhrfit_calib *calib, const char *name) {
  for (size_t i = 0; i < calib->n_cams; i++)
    if (strcmp(calib->cams[i].name, name) == 0) return (long)i;
  for (size_t i = 0; i < calib->n_cams; i++)
    if (strcmp(calib->cams[i].table, name) == 0) return (long)i;
  return -1;
}

mhrfit_calib *mhrfit_calib_select(const mhrfit_calib *calib, const char *const *names, size_t n, mhrfit_error *err) {
  mhrfit_calib *out = calloc(1, sizeof *out);
  if (!out) {
    MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
    return NULL;
  }
  memcpy(out->unit, calib->unit, sizeof out->unit);
  out->path = mf_strdup(calib->path ? calib->path : "", err);
  out->cams = mf_calloc_array(n ? n : 1, sizeof *out->cams, err);
  if (!out->path || !out->cams) goto fail;
  for (size_t i = 0; i < n; i++) {
    long k = mhrfit_calib_find(calib, names[i]);
    for (size_t j = 0; k < 0 && j < calib->n_ignored; j++) {
      if (strcmp(calib->ignored[j], names[i]) != 0) continue;
      char line[32] = "";
      if (calib->ignored_line[j] > 0) snprintf(line, sizeof line, ":%d", calib->ignored_line[j]);
      MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT,
                  "%s%s: table [%s]: field 'matrix': missing, so the table is not read as a camera (a camera table "
                  "needs matrix, rotation and translation)",
                  calib->path, line, names[i]);
      goto fail;
    }
    if (k < 0) {
      char avail[512] = "";
      size_t used = 0;
      for (size_t j = 0; j < calib->n_cams && used < sizeof avail - 1; j++)
        used += (size_t)snprintf(avail + used, sizeof avail - used, "%s%s", j ? ", " : "", calib->cams[j].name);
      MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "%s: no camera named '%s' (cameras: %s)", calib->path, names[i], avail);
      goto fail;
    }
    for (size_t j = 0; j < i; j++)
      if (strcmp(names[j], names[i]) == 0) {
        MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "camera '%s' is listed twice", names[i]);
        goto fail;
      }
    out->cams[i] = calib->cams[k];
    out->n_cams++;
  }
  out->warn = calib->warn;
  out->warn_user = calib->warn_user;
  for (size_t i = 0; i < n && calib->warn; i++)
    if (out->cams[i].dist_missing) {
      char msg[MHRFIT_CAMERA_NAME_MAX + 512];
      snprintf(msg, sizeof msg,
               "%s: camera '%s': no 'distortions' field: taken as a lens without distortion (write distortions = [] "
               "to say so)",
               calib->path, out->cams[i].name);
      calib->warn(calib->warn_user, msg);
    }
  return out;
fail:
  mhrfit_calib_free(out);
  return NULL;
}

void mhrfit_calib_free(mhrfit_calib *calib) {
  if (!calib) return;
  for (size_t i = 0; i < calib->n_ignored; i++) free(calib->ignored[i]);
  free(calib->ignored);
  free(calib->ignored_line);
  free(calib->ignored_camera_like);
  free(calib->cams);
  free(calib->path);
  free(calib);
}
