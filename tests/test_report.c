/* The HTML report of a run (report.h): a synthetic run folder written with the library's own
 * writers (calibration, summary, settings, fitted sequence with a NaN frame, per-frame
 * triangulations with an outlier view and a NaN point, stage-1 2-D keypoints), its page read
 * back (meta JSON, the deflated arrays decoded) and checked against values computed here;
 * damaged and invalid folders. The page in a real browser: tests/cli_report.sh. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "harness.h"
#include "mhrfit/calib.h"
#include "mhrfit/camera.h"
#include "mhrfit/fit_io.h"
#include "mhrfit/json.h"
#include "mhrfit/layout.h"
#include "mhrfit/media.h"
#include "mhrfit/npy.h"
#include "mhrfit/report.h"
#include "mhrfit/triangulate.h"

enum { F = 5, V = 3, K = 70 };
static const char *cams[V] = {"cam_a", "cam_b", "cam_c"};

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  REQUIRE(f);
  fputs(text, f);
  fclose(f);
}

/* Keypoint k of frame f, world Y-up (pelvis → neck along +y); `zup` turns it +90° about X. */
static void keypoint(size_t f, size_t k, bool zup, double p[3]) {
  double q[3] = {0.02 * (double)(k % 10) - 0.1 + 0.01 * (double)f, 0.6 + 0.012 * (double)(k / 10),
                 0.05 * (double)(k % 3)};
  if (k == 9 || k == 10) q[0] = k == 9 ? 0.1 : -0.1, q[1] = 1.0, q[2] = 0;
  if (k == 69) q[0] = 0, q[1] = 1.5, q[2] = 0;
  if (zup) {
    p[0] = q[0], p[1] = -q[2], p[2] = q[1];
  } else {
    p[0] = q[0], p[1] = q[1], p[2] = q[2];
  }
}

/* A run folder: frame 2 failed (NaN), frame 3 without its triangulation file. */
static void make_run(const char *dir, bool zup) {
  char p[512], t[4096];
  snprintf(p, sizeof p, "%s/calibration.toml", dir);
  write_text(p, "[cam_a]\nname = \"cam_a\"\nsize = [ 640, 480,]\nmatrix = [ [ 500.0, 0.0, 320.0,], [ 0.0, 500.0, 240.0,],"
                " [ 0.0, 0.0, 1.0,],]\ndistortions = [ -0.1, 0.01, 0.0, 0.0,]\nrotation = [ 0.0, 0.0, 0.0,]\n"
                "translation = [ 0.0, -1.0, 3.0,]\n\n"
                "[cam_b]\nname = \"cam_b\"\nsize = [ 640, 480,]\nmatrix = [ [ 600.0, 0.0, 320.0,], [ 0.0, 600.0, 240.0,],"
                " [ 0.0, 0.0, 1.0,],]\ndistortions = [ 0.0, 0.0, 0.0, 0.0,]\nrotation = [ 0.0, 1.5707963, 0.0,]\n"
                "translation = [ 0.0, -1.0, 3.0,]\n\n"
                "[cam_c]\nname = \"cam_c\"\nsize = [ 640, 480,]\nmatrix = [ [ 550.0, 0.0, 320.0,], [ 0.0, 550.0, 240.0,],"
                " [ 0.0, 0.0, 1.0,],]\ndistortions = [ 0.0, 0.0, 0.0, 0.0,]\nrotation = [ 0.0, -1.5707963, 0.0,]\n"
                "translation = [ 0.0, -1.0, 3.0,]\n");
  snprintf(t, sizeof t,
           "{\"calib\": \"%s/calibration.toml\", \"cams\": [\"cam_a\", \"cam_b\", \"cam_c\"], \"fps\": 25.0,"
           " \"bad_loss_threshold\": 0.003, \"bad_data_loss_threshold\": 0.0025, \"input\": \"%s/nowhere\"}",
           dir, dir);
  snprintf(p, sizeof p, "%s/pipeline_config.json", dir);
  write_text(p, t);
  static const char *status[F] = {"ok", "ok", "optimization_failed", "bad_loss", "ok"};
  size_t n = (size_t)snprintf(t, sizeof t, "{\"num_frames\": %d, \"status_counts\": {\"ok\": 3, \"bad_loss\": 1,"
                                           " \"optimization_failed\": 1}, \"timing\": {\"fit_s\": 0.5}, \"frames\": [",
                              F);
  for (int f = 0; f < F; f++)
    n += (size_t)snprintf(t + n, sizeof t - n, "%s{\"frame\": \"fr%d\", \"status\": \"%s\", \"best_loss\": %s,"
                                                " \"best_data_loss\": 1e-5, \"message\": %s, \"triangulated_points\": %d}",
                          f ? "," : "", f, status[f], f == 2 ? "null" : "0.0001",
                          f == 2 ? "\"solver <diverged> & stopped\"" : "null", f == 2 ? 0 : 69);
  snprintf(t + n, sizeof t - n, "]}");
  snprintf(p, sizeof p, "%s/sequence_summary.json", dir);
  write_text(p, t);

  mhrfit_error err = {0};
  mhrfit_fit_archive *a = mhrfit_fit_archive_new(F, K, V, 1, 0, 1, cams, &err);
  REQUIRE(a);
  for (size_t f = 0; f < F; f++) {
    snprintf(a->status[f], sizeof a->status[f], "%s", status[f]);
    if (f == 2) continue; /* failed: NaN */
    for (size_t k = 0; k < K; k++) keypoint(f, k, zup, a->keypoints + (f * K + k) * 3);
  }
  snprintf(p, sizeof p, "%s/sequence_fit.npz", dir);
  REQUIRE(mhrfit_fit_archive_save(p, a, &err));
  mhrfit_fit_archive_free(a);

  const mhrfit_layout *lay = mhrfit_layout_get("mhr70", &err);
  REQUIRE(lay);
  for (size_t f = 0; f < F; f++) {
    if (f == 2 || f == 3) continue; /* 2 failed; 3: its file is missing */
    mhrfit_tri_archive *tr = mhrfit_tri_archive_new(1, K, V, (const char *const *)lay->names, cams, &err);
    REQUIRE(tr);
    tr->frame_axis = false;
    for (size_t k = 0; k < K; k++) {
      tr->subset_idx[k] = (int32_t)k;
      keypoint(f, k, zup, tr->points + 3 * k);
      tr->points[3 * k] += 0.001;
      tr->n_views_used[k] = 3;
      for (size_t v = 0; v < V; v++) {
        tr->inliers[k * V + v] = 1;
        tr->reproj_err[k * V + v] = 1.0 + (double)v;
      }
    }
    tr->inliers[5 * V + 2] = 0; /* keypoint 5: camera c rejected as an outlier */
    tr->reproj_err[5 * V + 2] = 80;
    tr->n_views_used[5] = 2;
    for (int d = 0; d < 3; d++) tr->points[3 * 6 + d] = NAN; /* keypoint 6: one view only */
    tr->reason[6] = 2;
    tr->n_views_used[6] = 1;
    for (size_t v = 0; v < V; v++) tr->inliers[6 * V + v] = 0, tr->reproj_err[6 * V + v] = NAN;
    snprintf(p, sizeof p, "%s/triangulation", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/triangulation/fr%zu", dir, f);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/triangulation/fr%zu/triangulated.npz", dir, f);
    REQUIRE(mhrfit_tri_archive_save(p, tr, &err));
    mhrfit_tri_archive_free(tr);
  }
  /* stage 1 of frame 0: 2-D keypoints with three NaN rows */
  snprintf(p, sizeof p, "%s/stage1", dir);
  mkdir(p, 0755);
  snprintf(p, sizeof p, "%s/stage1/fr0", dir);
  mkdir(p, 0755);
  for (size_t v = 0; v < V; v++) {
    size_t shape[2] = {K, 2};
    mhrfit_array *kp = mhrfit_array_new(MHRFIT_DT_F32, 0, 2, shape, 0, &err);
    REQUIRE(kp);
    float *x = kp->data;
    for (size_t i = 0; i < 2 * K; i++) x[i] = (float)(100 + i);
    for (size_t k = 10; k < 13; k++) x[2 * k] = NAN;
    const char *names[1] = {"pred_keypoints_2d"};
    const mhrfit_array *arrs[1] = {kp};
    snprintf(p, sizeof p, "%s/stage1/fr0/%s.npz", dir, cams[v]);
    REQUIRE(mhrfit_npz_save(p, 1, names, arrs, false, &err));
    mhrfit_array_free(kp);
  }
}

/* The text of <script ... id="ID">…</script> in the page (malloc'd). */
static char *script_text(const char *html, size_t len, const char *id) {
  char open[64];
  snprintf(open, sizeof open, "id=\"%s\">", id);
  const char *a = strstr(html, open);
  if (!a || a >= html + len) return NULL;
  a += strlen(open);
  const char *b = strstr(a, "</script>");
  if (!b) return NULL;
  char *s = malloc((size_t)(b - a) + 1);
  memcpy(s, a, (size_t)(b - a));
  s[b - a] = 0;
  return s;
}

/* base64 → bytes → inflate (zlib) into a malloc'd buffer. */
static unsigned char *decode_blob(const char *b64, size_t *out_len) {
  size_t n = strlen(b64), m = 0;
  unsigned char *raw = malloc(n);
  unsigned acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; i++) {
    const char *tab = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *c = strchr(tab, b64[i]);
    if (!c || !b64[i]) continue;
    acc = acc << 6 | (unsigned)(c - tab);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      raw[m++] = (unsigned char)(acc >> bits & 255);
    }
  }
  size_t cap = 1 << 20;
  unsigned char *out = malloc(cap);
  z_stream z = {0};
  inflateInit(&z);
  z.next_in = raw;
  z.avail_in = (uInt)m;
  int rc;
  do {
    if (z.total_out == cap) out = realloc(out, cap *= 2);
    z.next_out = out + z.total_out;
    z.avail_out = (uInt)(cap - z.total_out);
    rc = inflate(&z, Z_NO_FLUSH);
  } while (rc == Z_OK);
  *out_len = z.total_out;
  inflateEnd(&z);
  free(raw);
  if (rc != Z_STREAM_END) {
    free(out);
    return NULL;
  }
  return out;
}

/* Value i of array `name` of the page (q16 and f32 decoded to double, u8 as is). */
static double array_value(const mhrfit_value *meta, const unsigned char *blob, const char *name, size_t i) {
  const mhrfit_value *d = mhrfit_value_dict_get(mhrfit_value_dict_get(meta, "arrays"), name);
  if (!d) return -999;
  const char *type = mhrfit_value_dict_get(d, "type")->u.str.data;
  size_t off = (size_t)mhrfit_value_as_double(mhrfit_value_dict_get(d, "offset"));
  if (strcmp(type, "q16") == 0) {
    int16_t q;
    memcpy(&q, blob + off + 2 * i, 2);
    return q == INT16_MIN ? NAN : q * mhrfit_value_as_double(mhrfit_value_dict_get(d, "scale"));
  }
  if (strcmp(type, "f32") == 0) {
    float x;
    memcpy(&x, blob + off + 4 * i, 4);
    return x;
  }
  return blob[off + i];
}

static bool has_note(const mhrfit_report *r, const char *what) {
  mhrfit_report_info info = mhrfit_report_get_info(r);
  for (size_t i = 0; i < info.n_notes; i++)
    if (strstr(mhrfit_report_note(r, i), what)) return true;
  return false;
}

static void test_synthetic_run(void) {
  char dir[] = "/tmp/mhrfit_report_XXXXXX";
  REQUIRE(mkdtemp(dir));
  make_run(dir, false);
  mhrfit_error err = {0};
  mhrfit_report *r = mhrfit_report_new(dir, NULL, &err);
  if (!r) fprintf(stderr, "%s\n", err.message);
  REQUIRE(r);
  mhrfit_report_info info = mhrfit_report_get_info(r);
  CHECK(info.n_frames == F);
  CHECK(info.n_cams == V);
  CHECK(info.n_calibrated == V);
  CHECK(!info.has_truth);
  CHECK(has_note(r, "fr3"));          /* its triangulation is missing */
  CHECK(has_note(r, "sequence_smoothed.npz"));
  CHECK(!has_note(r, "fr2"));         /* a failed frame is not expected to have files */
  char *html;
  size_t len;
  REQUIRE(mhrfit_report_html(r, &html, &len, &err));
  CHECK(mhrfit_report_get_info(r).html_bytes == len);
  char *meta_text = script_text(html, len, "mf-meta"), *data_text = script_text(html, len, "mf-data");
  REQUIRE(meta_text && data_text);
  CHECK(!strstr(meta_text, "<diverged>")); /* '<' of the message escaped inside the script element */
  mhrfit_value *meta = mhrfit_json_parse(meta_text, strlen(meta_text), "meta", &err);
  REQUIRE(meta);
  CHECK_CONTAINS(mhrfit_value_dict_get(meta, "messages")->u.list.items[2]->u.str.data, "<diverged> & stopped");
  const mhrfit_value *frames = mhrfit_value_dict_get(meta, "frames"), *status = mhrfit_value_dict_get(meta, "status");
  REQUIRE(frames && frames->u.list.count == F && status && status->u.list.count == F);
  CHECK_STR(frames->u.list.items[4]->u.str.data, "fr4");
  CHECK_STR(status->u.list.items[2]->u.str.data, "optimization_failed");
  CHECK_NEAR(mhrfit_value_as_double(mhrfit_value_dict_get(meta, "fps")), 25, 0);
  const mhrfit_value *up = mhrfit_value_dict_get(meta, "up");
  CHECK_STR(mhrfit_value_dict_get(up, "axis")->u.str.data, "+y");
  CHECK(mhrfit_value_dict_get(meta, "links")->u.list.count == 65);
  size_t blob_len;
  unsigned char *blob = decode_blob(data_text, &blob_len);
  REQUIRE(blob);

  /* the shown keypoints: frame 2 NaN, the others as written (within the 16-bit step) */
  for (size_t k = 0; k < K; k++) CHECK(isnan(array_value(meta, blob, "kp", (2 * K + k) * 3)));
  double p[3];
  keypoint(4, 17, false, p);
  for (int d = 0; d < 3; d++) CHECK_NEAR(array_value(meta, blob, "kp", (4 * K + 17) * 3 + (size_t)d), p[d], 1e-4);
  /* floor: the lowest keypoint height */
  double lo = INFINITY;
  for (size_t f = 0; f < F; f++)
    for (size_t k = 0; f != 2 && k < K; k++) {
      keypoint(f, k, false, p);
      lo = fmin(lo, p[1]);
    }
  CHECK_NEAR(mhrfit_value_as_double(mhrfit_value_dict_get(up, "floor")), lo, 1e-6);

  /* reprojection through the library's camera model (with distortion for cam_a) */
  mhrfit_calib *cal = NULL;
  char cp[512];
  snprintf(cp, sizeof cp, "%s/calibration.toml", dir);
  cal = mhrfit_calib_load(cp, NULL, &err);
  REQUIRE(cal && cal->n_cams == V);
  for (size_t v = 0; v < V; v++) {
    keypoint(1, 40, false, p);
    double uv[2];
    bool in_front = mhrfit_camera_project(&cal->cams[v], p, uv, NULL);
    size_t i = ((1 * V + v) * K + 40) * 2;
    if (in_front) {
      CHECK_NEAR(array_value(meta, blob, "proj_kp", i), uv[0], 0.05);
      CHECK_NEAR(array_value(meta, blob, "proj_kp", i + 1), uv[1], 0.05);
    } else {
      CHECK(isnan(array_value(meta, blob, "proj_kp", i)));
    }
  }
  mhrfit_calib_free(cal);
  /* triangulation: the outlier view, the NaN point, the counts, the per-camera errors */
  CHECK(array_value(meta, blob, "tri_inlier", (0 * K + 5) * V + 2) == 2);
  CHECK(array_value(meta, blob, "tri_inlier", (0 * K + 5) * V + 0) == 1);
  CHECK(array_value(meta, blob, "tri_inlier", (0 * K + 6) * V + 0) == 0);
  CHECK(isnan(array_value(meta, blob, "tri_points", (0 * K + 6) * 3)));
  CHECK(array_value(meta, blob, "tri_reason", 0 * K + 6) == 2);
  CHECK(array_value(meta, blob, "tri_reason", 3 * K + 6) == 255); /* no file */
  CHECK_NEAR(array_value(meta, blob, "n_points", 0), 69, 0);
  CHECK(isnan(array_value(meta, blob, "n_points", 3)));
  CHECK_NEAR(array_value(meta, blob, "tri_cam_err", 0 * V + 2), 3.0, 1e-6); /* the outlier view left out */
  /* stage-1 2-D keypoints: frame 0 has them (3 NaN rows), frame 1 has none */
  CHECK_NEAR(array_value(meta, blob, "obs2d", ((0 * V + 1) * K + 3) * 2 + 1), 107, 0.01);
  CHECK(isnan(array_value(meta, blob, "obs2d", ((0 * V + 1) * K + 11) * 2)));
  CHECK(array_value(meta, blob, "obs_present", 0 * V + 1) == 1);
  CHECK(array_value(meta, blob, "obs_present", 1 * V + 1) == 0);
  /* losses from the summary, NaN for the failed frame */
  CHECK_NEAR(array_value(meta, blob, "loss", 0), 1e-4, 1e-9);
  CHECK(isnan(array_value(meta, blob, "loss", 2)));
  free(blob);
  mhrfit_value_free(meta);
  free(meta_text);
  free(data_text);

  /* written atomically: the file holds the page; a write into a missing folder fails cleanly */
  char out[600];
  snprintf(out, sizeof out, "%s/page.html", dir);
  REQUIRE(mhrfit_report_write(r, out, &err));
  struct stat st;
  CHECK(stat(out, &st) == 0 && (size_t)st.st_size == len);
  snprintf(out, sizeof out, "%s/no/such/page.html", dir);
  mhrfit_error e2 = {0};
  CHECK(!mhrfit_report_write(r, out, &e2));
  CHECK(e2.type == MHRFIT_ERR_IO);
  CHECK_CONTAINS(e2.message, "page.html");
  free(html);
  mhrfit_report_free(r);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  CHECK(system(cmd) == 0);
}

static void test_zup_and_partial(void) {
  char dir[] = "/tmp/mhrfit_report_XXXXXX";
  REQUIRE(mkdtemp(dir));
  make_run(dir, true);
  char p[600];
  snprintf(p, sizeof p, "%s/sequence_summary.json", dir); /* no summary: statuses from the archive */
  unlink(p);
  snprintf(p, sizeof p, "%s/pipeline_config.json", dir); /* damaged settings: no calibration known */
  write_text(p, "{\"calib\": ");
  mhrfit_error err = {0};
  mhrfit_report *r = mhrfit_report_new(dir, NULL, &err);
  REQUIRE(r);
  mhrfit_report_info info = mhrfit_report_get_info(r);
  CHECK(info.n_frames == F);
  CHECK(info.n_calibrated == 0);
  CHECK(has_note(r, "sequence_summary.json is missing"));
  CHECK(has_note(r, "pipeline_config.json could not be read"));
  char *html;
  size_t len;
  REQUIRE(mhrfit_report_html(r, &html, &len, &err));
  char *meta_text = script_text(html, len, "mf-meta");
  REQUIRE(meta_text);
  mhrfit_value *meta = mhrfit_json_parse(meta_text, strlen(meta_text), "meta", &err);
  REQUIRE(meta);
  CHECK_STR(mhrfit_value_dict_get(mhrfit_value_dict_get(meta, "up"), "axis")->u.str.data, "+z");
  const mhrfit_value *status = mhrfit_value_dict_get(meta, "status");
  CHECK_STR(status->u.list.items[2]->u.str.data, "optimization_failed");
  CHECK(!mhrfit_value_dict_get(mhrfit_value_dict_get(meta, "arrays"), "proj_kp")); /* no calibration */
  /* the cameras come from the archive */
  CHECK(mhrfit_value_dict_get(meta, "cams")->u.list.count == V);
  mhrfit_value_free(meta);
  free(meta_text);
  free(html);
  mhrfit_report_free(r);

  /* --calib given: reprojections come back */
  mhrfit_report_options o = {0};
  snprintf(p, sizeof p, "%s/calibration.toml", dir);
  o.calib_path = p;
  r = mhrfit_report_new(dir, &o, &err);
  REQUIRE(r);
  CHECK(mhrfit_report_get_info(r).n_calibrated == V);
  mhrfit_report_free(r);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  CHECK(system(cmd) == 0);
}

/* Camera images: downscaled to the option's width and embedded as JPEG; a damaged picture is a note. */
static void test_images(void) {
  char dir[] = "/tmp/mhrfit_report_XXXXXX";
  REQUIRE(mkdtemp(dir));
  make_run(dir, false);
  char p[600];
  snprintf(p, sizeof p, "%s/capture", dir);
  mkdir(p, 0755);
  mhrfit_error err = {0};
  mhrfit_image *img = mhrfit_image_new(640, 480, 3, &err);
  REQUIRE(img);
  for (int y = 0; y < 480; y++)
    for (int x = 0; x < 640; x++) img->data[(size_t)y * img->stride + 3 * (size_t)x] = (unsigned char)(x / 3);
  for (size_t f = 0; f < 2; f++) {
    snprintf(p, sizeof p, "%s/capture/fr%zu", dir, f);
    mkdir(p, 0755);
    for (size_t v = 0; v < V; v++) {
      snprintf(p, sizeof p, "%s/capture/fr%zu/%s.%s", dir, f, cams[v], v == 1 ? "png" : "jpg");
      if (f == 1 && v == 2) write_text(p, "not a picture");
      else REQUIRE(mhrfit_image_write(p, img, NULL, &err));
    }
  }
  mhrfit_image_free(img);
  mhrfit_report_options o = {0};
  snprintf(p, sizeof p, "%s/capture", dir);
  o.capture_dir = p;
  o.image_max_width = 160;
  mhrfit_report *r = mhrfit_report_new(dir, &o, &err);
  REQUIRE(r);
  CHECK(mhrfit_report_get_info(r).n_images == 2 * V - 1);
  CHECK(has_note(r, "could not be read"));
  char *html;
  size_t len;
  REQUIRE(mhrfit_report_html(r, &html, &len, &err));
  char *meta_text = script_text(html, len, "mf-meta"), *data_text = script_text(html, len, "mf-data");
  REQUIRE(meta_text && data_text);
  mhrfit_value *meta = mhrfit_json_parse(meta_text, strlen(meta_text), "meta", &err);
  REQUIRE(meta);
  size_t blob_len;
  unsigned char *blob = decode_blob(data_text, &blob_len);
  REQUIRE(blob);
  const mhrfit_value *images = mhrfit_value_dict_get(meta, "images");
  const mhrfit_value *index = mhrfit_value_dict_get(images, "index"), *entries = mhrfit_value_dict_get(images, "entries");
  REQUIRE(index && entries && index->u.list.count == F * V);
  CHECK(mhrfit_value_as_double(index->u.list.items[1 * V + 2]) == -1); /* the damaged one */
  CHECK(mhrfit_value_as_double(index->u.list.items[2 * V + 0]) == -1); /* no picture */
  const mhrfit_value *e = entries->u.list.items[(size_t)mhrfit_value_as_double(index->u.list.items[1 * V + 1])];
  size_t off = (size_t)mhrfit_value_as_double(mhrfit_value_dict_get(e, "offset"));
  size_t n = (size_t)mhrfit_value_as_double(mhrfit_value_dict_get(e, "length"));
  size_t base = (size_t)mhrfit_value_as_double(
      mhrfit_value_dict_get(mhrfit_value_dict_get(mhrfit_value_dict_get(meta, "arrays"), "images"), "offset"));
  REQUIRE(base + off + n <= blob_len);
  mhrfit_image *back = mhrfit_image_decode(blob + base + off, n, 3, "embedded", &err);
  REQUIRE(back);
  CHECK(back->width == 160 && back->height == 120);
  /* area averaging: the red ramp x/3 of the source is kept (column 80 of 160 = source columns 320..323) */
  CHECK_NEAR(back->data[60 * back->stride + 3 * 80], 321.5 / 3, 3);
  mhrfit_image_free(back);
  free(blob);
  mhrfit_value_free(meta);
  free(meta_text);
  free(data_text);
  free(html);
  mhrfit_report_free(r);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  CHECK(system(cmd) == 0);
}

static void test_invalid(void) {
  mhrfit_error err = {0};
  CHECK(!mhrfit_report_new("/nonexistent/run", NULL, &err));
  CHECK(err.type == MHRFIT_ERR_IO);
  CHECK_CONTAINS(err.message, "/nonexistent/run");
  char dir[] = "/tmp/mhrfit_report_XXXXXX";
  REQUIRE(mkdtemp(dir));
  mhrfit_error_clear(&err);
  CHECK(!mhrfit_report_new(dir, NULL, &err));
  CHECK(err.type == MHRFIT_ERR_NOT_FOUND);
  CHECK_CONTAINS(err.message, "not a run folder");
  /* only a fit/ folder with one frame: a page of that frame */
  char p[600];
  snprintf(p, sizeof p, "%s/fit", dir);
  mkdir(p, 0755);
  snprintf(p, sizeof p, "%s/fit/000000", dir);
  mkdir(p, 0755);
  mhrfit_report *r = mhrfit_report_new(dir, NULL, &err);
  REQUIRE(r);
  CHECK(mhrfit_report_get_info(r).n_frames == 1);
  CHECK(has_note(r, "fit/<frame>/fit.npz missing"));
  mhrfit_report_free(r);
  /* options naming files that do not exist */
  mhrfit_report_options o = {0};
  o.truth_path = "/nonexistent/truth.npz";
  mhrfit_error_clear(&err);
  CHECK(!mhrfit_report_new(dir, &o, &err));
  CHECK(err.type == MHRFIT_ERR_NOT_FOUND);
  CHECK_CONTAINS(err.message, "truth.npz");
  o.truth_path = NULL;
  o.capture_dir = "/nonexistent/capture";
  CHECK(!mhrfit_report_new(dir, &o, &err));
  CHECK_CONTAINS(err.message, "capture");
  /* mhrfit_report_run: default output path, notes */
  char notes[2048];
  mhrfit_report_info info;
  REQUIRE(mhrfit_report_run(dir, NULL, NULL, &info, notes, sizeof notes, &err));
  CHECK(info.html_bytes > 0);
  CHECK_CONTAINS(notes, "fit.npz");
  snprintf(p, sizeof p, "%s/report.html", dir);
  struct stat st;
  CHECK(stat(p, &st) == 0 && (size_t)st.st_size == info.html_bytes);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  CHECK(system(cmd) == 0);
}

int main(void) {
  RUN(test_synthetic_run);
  RUN(test_zup_and_partial);
  RUN(test_images);
  RUN(test_invalid);
  return test_report();
}
