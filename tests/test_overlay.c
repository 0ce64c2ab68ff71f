/* Overlays: marks found in the written picture lie on the projected points of a strongly
 * distorted camera; the rasteriser covers each pixel once and keeps the nearest triangle; the
 * fitted silhouette of a demo run matches the demo's own pictures; the video writer's files
 * decode (libavformat) to the frames written; the videos of an overlay have one frame per
 * selected frame, equal to the overlay pictures. Needs the MHR assets (the demo) and the built
 * mhrfit binary (MHRFIT_BIN, for `mhrfit run`). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/path.h"
#include "harness.h"
#include "mhrfit/calib.h"
#include "mhrfit/demo.h"
#include "mhrfit/json.h"
#include "mhrfit/media.h"
#include "mhrfit/npy.h"
#include "mhrfit/overlay.h"
#include "mhrfit/triangulate.h"

static char tmpdir[256];
static const char *tp(const char *rel) { return th_path(tmpdir, rel); }

static bool write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (!f) return false;
  bool ok = fputs(text, f) >= 0;
  return fclose(f) == 0 && ok;
}

static mhrfit_image *flat(int w, int h, unsigned char v) {
  mhrfit_image *img = mhrfit_image_new(w, h, 3, NULL);
  if (img) memset(img->data, v, (size_t)h * img->stride);
  return img;
}

/* ------------------------------------------------------------------ drawing and rasteriser */

static void test_marks_and_lines(void) {
  mhrfit_image *img = flat(40, 30, 0);
  REQUIRE(img);
  const mhrfit_rgba white = {255, 255, 255, 255}, none = {0, 0, 0, 0};
  /* a disc of radius 3 at (10.9, 20.1): the pixels with dx^2 + dy^2 <= 12 around pixel (10, 20) */
  CHECK(mhrfit_draw_mark(img, 10.9, 20.1, MHRFIT_MARK_DISC, 3, 1, white, none));
  size_t n = 0;
  double sx = 0, sy = 0;
  for (int y = 0; y < 30; y++)
    for (int x = 0; x < 40; x++)
      if (img->data[(size_t)y * img->stride + 3 * (size_t)x]) n++, sx += x + 0.5, sy += y + 0.5;
  CHECK(n == 37); /* 1 + 4 + 4 + 4 + 8 + 4 + 4 + 8 (offsets with dx^2 + dy^2 <= 12) */
  CHECK_NEAR(sx / (double)n, 10.5, 1e-12);
  CHECK_NEAR(sy / (double)n, 20.5, 1e-12);
  CHECK(!mhrfit_draw_mark(img, NAN, 3, MHRFIT_MARK_DISC, 3, 1, white, none));
  CHECK(mhrfit_draw_mark(img, -2.5, 29.9, MHRFIT_MARK_RING, 5, 2, white, white)); /* clipped, no crash */
  /* blending: half-opaque white over black gives 128 */
  mhrfit_image *b = flat(4, 4, 0);
  REQUIRE(b);
  mhrfit_draw_rect(b, 1, 1, 2, 2, (mhrfit_rgba){255, 255, 255, 128});
  CHECK(b->data[b->stride + 3] == 128 && b->data[0] == 0);
  mhrfit_image_free(b);
  /* an anti-aliased horizontal line of width 2 centred on y = 10: rows 9 and 10 full, 8 and 11 empty */
  mhrfit_image *l = flat(40, 20, 0);
  REQUIRE(l);
  mhrfit_draw_line(l, 5, 10, 30, 10, 2, white);
  CHECK(l->data[9 * l->stride + 3 * 15] == 255 && l->data[10 * l->stride + 3 * 15] == 255);
  CHECK(l->data[8 * l->stride + 3 * 15] == 0 && l->data[11 * l->stride + 3 * 15] == 0);
  /* text: 6 x 9 cells per character and scale */
  int w, h;
  mhrfit_text_size("abc", 2, &w, &h);
  CHECK(w == 36 && h == 18);
  CHECK(mhrfit_draw_text(img, 0, 0, 1, "x\x01", white) == 12);
  mhrfit_image_free(l);
  mhrfit_image_free(img);
}

static void test_raster_coverage(void) {
  mhrfit_error err = {0};
  mhrfit_raster *r = mhrfit_raster_new(64, 48, &err);
  REQUIRE(r);
  /* a square with its corners on pixel centres, cut along a diagonal: the top-left rule gives
   * every pixel centre of [10.5, 20.5) x [10.5, 20.5) to exactly one of the two triangles */
  double a[6] = {10.5, 10.5, 20.5, 10.5, 20.5, 20.5}, b[6] = {10.5, 10.5, 20.5, 20.5, 10.5, 20.5};
  double zfar[3] = {3, 3, 3}, znear[3] = {2, 2, 2};
  size_t nb = mhrfit_raster_triangle(r, b, zfar, 1), na = mhrfit_raster_triangle(r, a, znear, 0);
  size_t covered = 0;
  for (int y = 0; y < 48; y++)
    for (int x = 0; x < 64; x++) covered += mhrfit_raster_id(r, x, y) >= 0;
  CHECK(covered == 100);
  CHECK(na + nb == 100); /* the nearer triangle took no pixel of the farther one: no pixel twice */
  CHECK(mhrfit_raster_id(r, 10, 10) >= 0 && mhrfit_raster_id(r, 19, 19) >= 0);
  CHECK(mhrfit_raster_id(r, 20, 15) < 0 && mhrfit_raster_id(r, 15, 20) < 0 && mhrfit_raster_id(r, 9, 15) < 0);
  /* random convex polygons cut into fans: every pixel centre inside covered exactly once, none outside */
  srand(7);
  for (int trial = 0; trial < 20; trial++) {
    REQUIRE(mhrfit_raster_reset(r, 64, 48, &err));
    /* vertices on the 1/256-pixel grid the rasteriser snaps to: the reference below is exact */
    double cx = 32 + (rand() % 512) / 256.0, cy = 24 + (rand() % 512) / 256.0, pts[16][2];
    int m = 5 + rand() % 10;
    double rad = 8 + (rand() % 1000) / 100.0, phase = (rand() % 1000) / 1000.0; /* a convex polygon */
    for (int i = 0; i < m; i++) {
      double ang = 6.283185307179586 * (i + phase) / m;
      pts[i][0] = round(256 * (cx + rad * cos(ang))) / 256, pts[i][1] = round(256 * (cy + rad * sin(ang))) / 256;
    }
    size_t sum = 0;
    for (int i = 0; i < m; i++) {
      double t[6] = {cx, cy, pts[i][0], pts[i][1], pts[(i + 1) % m][0], pts[(i + 1) % m][1]};
      double z[3] = {2 + i * 0.01, 2 + i * 0.01, 2 + i * 0.01};
      sum += mhrfit_raster_triangle(r, t, z, i);
    }
    size_t inside = 0, strict = 0, closed = 0;
    for (int y = 0; y < 48; y++)
      for (int x = 0; x < 64; x++) {
        inside += mhrfit_raster_id(r, x, y) >= 0;
        /* the polygon (convex, counter-clockwise in the image) holds the centre strictly / or on its border */
        double px = x + 0.5, py = y + 0.5, lo = INFINITY;
        for (int i = 0; i < m; i++) {
          const double *p0 = pts[i], *p1 = pts[(i + 1) % m];
          lo = fmin(lo, (p1[0] - p0[0]) * (py - p0[1]) - (p1[1] - p0[1]) * (px - p0[0]));
        }
        strict += lo > 0, closed += lo >= 0;
      }
    CHECK(sum == inside); /* z increases with i: a pixel given twice would be counted twice */
    CHECK(strict <= inside && inside <= closed && strict > 100); /* every centre inside, none outside */
  }
  /* depth order does not depend on drawing order; depths are perspective-correct */
  double t1[6] = {0, 0, 60, 0, 0, 40}, t2[6] = {60, 40, 0, 40, 60, 0};
  double z1[3] = {2, 2, 2}, z2[3] = {1, 4, 4};
  REQUIRE(mhrfit_raster_reset(r, 64, 48, &err));
  mhrfit_raster_triangle(r, t1, z1, 1);
  mhrfit_raster_triangle(r, t2, z2, 2);
  int32_t first[64 * 48];
  for (int i = 0; i < 64 * 48; i++) first[i] = mhrfit_raster_id(r, i % 64, i / 64);
  REQUIRE(mhrfit_raster_reset(r, 64, 48, &err));
  mhrfit_raster_triangle(r, t2, z2, 2);
  mhrfit_raster_triangle(r, t1, z1, 1);
  int same = 1, both = 0;
  for (int i = 0; i < 64 * 48; i++) {
    same = same && first[i] == mhrfit_raster_id(r, i % 64, i / 64);
    both += first[i] == 2;
  }
  CHECK(same && both > 0);
  /* at the centre of pixel (40, 30), inside t2: 1/z interpolates linearly */
  double px = 40.5, py = 30.5; /* barycentric coordinates in t2 = (60,40), (0,40), (60,0) */
  double l2 = (40 - py) / 40.0, l1 = (60 - px) / 60.0, l0 = 1 - l1 - l2;
  double zexp = 1.0 / (l0 / 1 + l1 / 4 + l2 / 4);
  if (mhrfit_raster_id(r, 40, 30) == 2) CHECK_NEAR(mhrfit_raster_depth(r, 40, 30), zexp, 1e-5 * zexp);
  else CHECK_NEAR(mhrfit_raster_depth(r, 40, 30), 2.0, 1e-6);
  CHECK(isinf(mhrfit_raster_depth(r, -1, 0)) && mhrfit_raster_id(r, 64, 0) == -1);
  /* degenerate and behind-the-camera triangles draw nothing */
  double flat3[6] = {1, 1, 5, 5, 9, 9}, zbad[3] = {1, -1, 1};
  CHECK(mhrfit_raster_triangle(r, flat3, z1, 3) == 0 && mhrfit_raster_triangle(r, t1, zbad, 3) == 0);
  mhrfit_raster_free(r);
}

/* The strongly distorted camera of the mark test. */
static const char *distorted_toml =
    "[cam_0]\nname = \"cam_0\"\nsize = [1920, 1080]\n"
    "matrix = [[900.0, 0.0, 961.3], [0.0, 900.0, 538.7], [0.0, 0.0, 1.0]]\n"
    "distortions = [-0.33, 0.0, 0.0005, -0.0003]\n"
    "rotation = [0.2, -0.3, 0.1]\ntranslation = [0.2, -0.1, 3.5]\n";

static void test_projection_limit(void) {
  mhrfit_camera cam = {0};
  cam.K[0] = cam.K[4] = 900, cam.K[2] = 960, cam.K[5] = 540, cam.K[8] = 1;
  cam.R[0] = cam.R[4] = cam.R[8] = 1;
  CHECK(isinf(mhrfit_overlay_r2_limit(&cam)));
  cam.dist[0] = -0.33;
  double lim = mhrfit_overlay_r2_limit(&cam);
  CHECK_NEAR(lim, 1.0 / (3 * 0.33), 1e-8); /* d(r (1 + k1 r^2))/dr = 1 + 3 k1 r^2 */
  double in[3] = {0.9, 0.0, 1.0}, out[3] = {1.2, 0.0, 1.0}, behind[3] = {0, 0, -1}, uv[2];
  CHECK(mhrfit_overlay_project(&cam, lim, in, uv) && isfinite(uv[0]));
  /* beyond the fold the model maps back inside the image: refused */
  double fold_uv[2];
  CHECK(mhrfit_camera_project(&cam, out, fold_uv, NULL) && fold_uv[0] < 960 + 900 * 0.67);
  CHECK(!mhrfit_overlay_project(&cam, lim, out, uv) && isnan(uv[0]));
  CHECK(!mhrfit_overlay_project(&cam, lim, behind, uv));
}

/* 50 points projected through the distorted camera: the centroid of each mark found in the
 * written PNG lies in the pixel holding the point (within 0.5 px of it along each axis). The
 * points are made from pixels (undistorted with the library's inverse model, then given a
 * depth), so the reference positions do not come from the overlay's projection. */
static void test_marks_on_distorted_camera(void) {
  mhrfit_error err = {0};
  REQUIRE(mf_make_dirs(tp("marks/kp"), &err) && mf_make_dirs(tp("marks/cap/000000"), &err));
  REQUIRE(write_text(tp("marks/calib.toml"), distorted_toml));
  mhrfit_calib *calib = mhrfit_calib_load(tp("marks/calib.toml"), NULL, &err);
  REQUIRE(calib && calib->n_cams == 1);
  const mhrfit_camera *cam = &calib->cams[0];
  enum { N = 50 };
  double uv[N][2], X[N][3];
  srand(11);
  int n = 0;
  for (int tries = 0; n < N && tries < 100000; tries++) {
    double u = 20 + (1880.0 * rand()) / RAND_MAX, v = 20 + (1040.0 * rand()) / RAND_MAX, xn[2];
    if (!mhrfit_camera_pixel_to_normalized(cam, (double[2]){u, v}, xn, NULL)) continue;
    if (xn[0] * xn[0] + xn[1] * xn[1] > 0.95 * mhrfit_overlay_r2_limit(cam)) continue;
    bool close = false;
    for (int j = 0; j < n; j++) close = close || hypot(uv[j][0] - u, uv[j][1] - v) < 24;
    if (close) continue;
    double z = 2 + 4.0 * rand() / RAND_MAX, Xc[3] = {xn[0] * z, xn[1] * z, z};
    for (int a = 0; a < 3; a++) /* X = R^T (Xc - t) */
      X[n][a] = cam->R[a] * (Xc[0] - cam->t[0]) + cam->R[3 + a] * (Xc[1] - cam->t[1]) + cam->R[6 + a] * (Xc[2] - cam->t[2]);
    uv[n][0] = u, uv[n][1] = v;
    n++;
  }
  REQUIRE(n == N);
  /* the triangulation: points 0-9 seen and inliers, 10-19 seen but outliers, the rest unseen */
  const char *cams[1] = {"cam_0"};
  char names[N][8];
  const char *np[N];
  for (int k = 0; k < N; k++) snprintf(names[k], sizeof names[k], "p%d", k), np[k] = names[k];
  mhrfit_tri_archive *a = mhrfit_tri_archive_new(1, N, 1, np, cams, &err);
  REQUIRE(a);
  for (int k = 0; k < N; k++) {
    memcpy(a->points + 3 * k, X[k], sizeof X[k]);
    a->inliers[k] = k < 10;
    a->n_views_used[k] = k < 10 ? 3 : 2;
    a->subset_idx[k] = k;
  }
  REQUIRE(mhrfit_tri_archive_save(tp("marks/tri.npz"), a, &err));
  mhrfit_tri_archive_free(a);
  /* 2-D keypoints (mhr70 layout, arrays form): 3 px right of and 4 px below the true pixel */
  size_t shape[3] = {1, 70, 2};
  mhrfit_array *obs = mhrfit_array_new(MHRFIT_DT_F64, 0, 3, shape, 0, &err);
  REQUIRE(obs);
  for (int k = 0; k < 70; k++) {
    ((double *)obs->data)[2 * k] = k < 20 ? uv[k][0] + 3 : NAN;
    ((double *)obs->data)[2 * k + 1] = k < 20 ? uv[k][1] + 4 : NAN;
  }
  REQUIRE(mhrfit_npy_save(tp("marks/kp/cam_0.npy"), obs, &err));
  mhrfit_array_free(obs);
  mhrfit_image *bg = flat(1920, 1080, 128);
  REQUIRE(bg && mhrfit_image_write(tp("marks/cap/000000/cam_0.png"), bg, NULL, &err));
  mhrfit_image_free(bg);

  mhrfit_overlay_options o;
  mhrfit_overlay_options_init(&o);
  o.tri_path = tp("marks/tri.npz");
  o.calib = tp("marks/calib.toml");
  o.capture = tp("marks/cap");
  o.keypoints_dir = tp("marks/kp");
  o.keypoints_format = "arrays";
  o.out_dir = tp("marks/out");
  o.layers = MHRFIT_LAYER_POINTS;
  o.image.format = MHRFIT_IMAGE_PNG;
  mhrfit_overlay *ov = mhrfit_overlay_new(&o, &err);
  if (!ov) fprintf(stderr, "    %s\n", err.message);
  REQUIRE(ov);
  mhrfit_overlay_summary s;
  REQUIRE(mhrfit_overlay_process(ov, &s, &err));
  CHECK(s.images_written == 1 && s.views_skipped == 0);
  const mhrfit_overlay_stats *st = mhrfit_overlay_camera_stats(ov, 0);
  CHECK(st->n_err == 10 && st->n_err3 == 10);
  CHECK_NEAR(st->mean_err_px, 5.0, 1e-4); /* |(3, 4)|, the points stored as float32 */
  mhrfit_overlay_free(ov);

  mhrfit_image *img = mhrfit_image_read(tp("marks/out/000000/cam_0.png"), 3, &err);
  REQUIRE(img && img->width == 1920 && img->height == 1080);
  /* connected regions of pixels that are not the background */
  size_t W = 1920, H = 1080;
  int *label = calloc(W * H, sizeof *label);
  size_t *stack = malloc(W * H * sizeof *stack);
  REQUIRE(label && stack);
  int regions = 0, matched = 0, kinds_ok = 0;
  double worst = 0;
  for (size_t p0 = 0; p0 < W * H; p0++) {
    const unsigned char *px = img->data + (p0 / W) * img->stride + 3 * (p0 % W);
    if (label[p0] || (px[0] == 128 && px[1] == 128 && px[2] == 128)) continue;
    regions++;
    size_t top = 0, cnt = 0;
    double sx = 0, sy = 0;
    stack[top++] = p0;
    label[p0] = regions;
    while (top) {
      size_t p = stack[--top], x = p % W, y = p / W;
      cnt++, sx += (double)x + 0.5, sy += (double)y + 0.5;
      for (int d = 0; d < 4; d++) {
        long nx = (long)x + (d == 0) - (d == 1), ny = (long)y + (d == 2) - (d == 3);
        if (nx < 0 || ny < 0 || nx >= (long)W || ny >= (long)H) continue;
        size_t q = (size_t)ny * W + (size_t)nx;
        const unsigned char *c = img->data + (size_t)ny * img->stride + 3 * (size_t)nx;
        if (label[q] || (c[0] == 128 && c[1] == 128 && c[2] == 128)) continue;
        label[q] = regions;
        stack[top++] = q;
      }
    }
    double cx = sx / (double)cnt, cy = sy / (double)cnt;
    int best = -1;
    double bd = 1e9;
    for (int k = 0; k < N; k++) {
      double d = hypot(uv[k][0] - cx, uv[k][1] - cy);
      if (d < bd) bd = d, best = k;
    }
    double dx = fabs(cx - uv[best][0]), dy = fabs(cy - uv[best][1]);
    worst = fmax(worst, fmax(dx, dy));
    matched += dx <= 0.5 && dy <= 0.5;
    /* the centre pixel: green disc (inlier), red cross (outlier), background (the ring of an unseen point) */
    const unsigned char *c = img->data + (size_t)floor(uv[best][1]) * img->stride + 3 * (size_t)floor(uv[best][0]);
    bool kind = best < 10 ? (c[1] > 200 && c[0] < 80) : best < 20 ? (c[0] > 200 && c[1] < 80) : (c[0] == 128 && c[1] == 128);
    kinds_ok += kind;
  }
  printf("    %d marks found; centroid to projected point: at most %.3f px along an axis\n", regions, worst);
  CHECK(regions == N);
  CHECK(matched == N);
  CHECK(kinds_ok == N);
  free(label);
  free(stack);
  mhrfit_image_free(img);
  mhrfit_calib_free(calib);
}

/* ------------------------------------------------------------------ video writer */

static double psnr(const mhrfit_image *a, const mhrfit_image *b) {
  double se = 0;
  size_t n = 0;
  for (int y = 0; y < a->height && y < b->height; y++)
    for (int x = 0; x < 3 * a->width && x < 3 * b->width; x++) {
      double d = (double)a->data[(size_t)y * a->stride + (size_t)x] - b->data[(size_t)y * b->stride + (size_t)x];
      se += d * d, n++;
    }
  return se > 0 ? 10 * log10(255.0 * 255.0 * (double)n / se) : INFINITY;
}

static void pattern(mhrfit_image *img, int k) {
  for (int y = 0; y < img->height; y++)
    for (int x = 0; x < img->width; x++) {
      unsigned char *p = img->data + (size_t)y * img->stride + 3 * (size_t)x;
      bool box = x >= 10 + 8 * k && x < 60 + 8 * k && y >= 40 && y < 90;
      p[0] = box ? 250 : (unsigned char)(x * 255 / img->width);
      p[1] = box ? 40 : (unsigned char)(y * 255 / img->height);
      p[2] = (unsigned char)(128 + 60 * sin(0.05 * (x + y)));
    }
}

/* Writes `n` pattern frames of w x h with `codec` into `name`, reads them back: count, size, PSNR. */
static void video_roundtrip(const char *name, const char *codec, int w, int h, int n, double min_psnr) {
  mhrfit_error err = {0};
  mhrfit_video_writer_options o;
  mhrfit_video_writer_options_init(&o);
  o.codec = codec;
  o.fps = 25;
  o.crf = 16;
  mhrfit_video_writer *vw = mhrfit_video_writer_new(tp(name), w, h, &o, &err);
  if (!vw) fprintf(stderr, "    %s\n", err.message);
  REQUIRE(vw);
  mhrfit_image *img = mhrfit_image_new(w, h, 3, &err), *ref[16];
  REQUIRE(img && n <= 16);
  for (int k = 0; k < n; k++) {
    pattern(img, k);
    ref[k] = mhrfit_image_new(w, h, 3, &err);
    REQUIRE(ref[k]);
    memcpy(ref[k]->data, img->data, (size_t)h * img->stride);
    REQUIRE(mhrfit_video_writer_write(vw, img, &err));
  }
  CHECK(access(tp(name), F_OK) != 0); /* not in place before it is finished */
  CHECK(mhrfit_video_writer_frames(vw) == n);
  REQUIRE(mhrfit_video_writer_finish(vw, &err));
  mhrfit_video_writer_free(vw);
  mhrfit_video_reader *r = mhrfit_video_reader_new(tp(name), NULL, &err);
  REQUIRE(r);
  const mhrfit_video_info *in = mhrfit_video_reader_info(r);
  CHECK(in->frame_count == n && in->width == ((w + 1) & ~1) && in->height == ((h + 1) & ~1));
  CHECK_NEAR(in->fps, 25.0, 1e-9);
  double worst = INFINITY;
  int got_n = 0;
  for (;;) {
    mhrfit_video_frame fr;
    bool got;
    REQUIRE(mhrfit_video_reader_next(r, true, &fr, &got, &err));
    if (!got) break;
    if (got_n < n) worst = fmin(worst, psnr(fr.image, ref[got_n]));
    got_n++;
  }
  printf("    %s (%s, %dx%d): %d frames, lowest PSNR %.1f dB\n", name, codec ? codec : "default", w, h, got_n, worst);
  CHECK(got_n == n);
  CHECK(worst >= min_psnr);
  mhrfit_video_reader_free(r);
  for (int k = 0; k < n; k++) mhrfit_image_free(ref[k]);
  mhrfit_image_free(img);
}

static void test_video_writer(void) {
  video_roundtrip("v_h264.mp4", NULL, 320, 240, 12, 35);
  video_roundtrip("v_odd.mkv", "libx264", 321, 241, 5, 35);
  video_roundtrip("v_mpeg4.avi", "mpeg4", 320, 240, 6, 28);
  mhrfit_error err = {0};
  CHECK(!mhrfit_video_writer_new(tp("x.mp4"), 64, 64, &(mhrfit_video_writer_options){.codec = "no_such", .fps = 30,
                                                                                       .crf = 20, .threads = 1},
                                 &err) &&
        err.type == MHRFIT_ERR_UNSUPPORTED);
  CHECK_CONTAINS(err.message, "no_such");
  CHECK(!mhrfit_video_writer_new(tp("x.unknownext"), 64, 64, NULL, &err) && err.type == MHRFIT_ERR_ARGUMENT);
  CHECK(!mhrfit_video_writer_new(tp("x.mp4"), 64, 64, &(mhrfit_video_writer_options){.fps = 0, .crf = 20}, &err));
  mhrfit_video_writer *vw = mhrfit_video_writer_new(tp("x.mp4"), 64, 48, NULL, &err);
  REQUIRE(vw);
  mhrfit_image *wrong = flat(48, 64, 9);
  CHECK(!mhrfit_video_writer_write(vw, wrong, &err) && err.type == MHRFIT_ERR_ARGUMENT);
  CHECK(!mhrfit_video_writer_finish(vw, &err)); /* no frame */
  mhrfit_video_writer_free(vw);
  CHECK(access(tp("x.mp4"), F_OK) != 0);
  mhrfit_image_free(wrong);
}

/* ------------------------------------------------------------------ the demo */

/* A demo capture with pictures and a run on it (shared by the tests below). */
static bool demo_ready;
static void make_demo(void) {
  mhrfit_demo_options o;
  mhrfit_demo_options_init(&o);
  o.assets = th_env_or("MHRFIT_ASSETS", "../shared/mhr");
  o.n_frames = 12;
  o.seed = 5;
  o.images = true;
  mhrfit_error err = {0};
  if (!mhrfit_demo_write(tp("demo"), &o, NULL, &err)) {
    fprintf(stderr, "demo: %s\n", err.message);
    return;
  }
  char args[2048];
  snprintf(args, sizeof args, "run --quiet --input %s --calib %s --cams cam_0 cam_1 cam_2 cam_3 --out %s --assets %s",
           tp("demo"), tp("demo/calibration.toml"), tp("run"), o.assets);
  int rc = th_run_cli(tmpdir, args);
  if (rc != 0) fprintf(stderr, "mhrfit run: exit %d\n%s\n", rc, th_cli_log(tmpdir));
  demo_ready = rc == 0;
}

/* Body pixels of a demo picture: far from its flat background colour (40, 44, 52). */
static bool body_px(const unsigned char *p) { return abs(p[0] - 40) + abs(p[1] - 44) + abs(p[2] - 52) > 60; }

static void test_silhouette_on_demo(void) {
  REQUIRE(demo_ready);
  mhrfit_error err = {0};
  mhrfit_overlay_options o;
  mhrfit_overlay_options_init(&o);
  o.run_dir = tp("run");
  o.fitted = true;
  o.out_dir = tp("sil");
  o.layers = MHRFIT_LAYER_MESH;
  o.mesh_alpha = 1;
  o.image.format = MHRFIT_IMAGE_PNG;
  o.rig_path = th_env_or("MHRFIT_ASSETS", "../shared/mhr");
  mhrfit_overlay *ov = mhrfit_overlay_new(&o, &err);
  if (!ov) fprintf(stderr, "    %s\n", err.message);
  REQUIRE(ov);
  mhrfit_overlay_summary s;
  REQUIRE(mhrfit_overlay_process(ov, &s, &err));
  CHECK(s.images_written > 30);
  mhrfit_value *sum = mhrfit_json_load(tp("run/sequence_summary.json"), &err);
  REQUIRE(sum);
  const mhrfit_value *frames = mhrfit_value_dict_get(sum, "frames");
  REQUIRE(frames && frames->kind == MHRFIT_V_LIST);
  size_t views = 0, body = 0, both = 0, beyond = 0;
  double worst_iou = 1;
  for (size_t f = 0; f < mhrfit_overlay_n_frames(ov); f++) {
    const mhrfit_value *st = mhrfit_value_dict_get(frames->u.list.items[f], "status");
    if (!st || strcmp(st->u.str.data, "ok") != 0) continue;
    for (size_t c = 0; c < 4; c++) {
      char rel[64];
      snprintf(rel, sizeof rel, "demo/%s/cam_%zu.jpg", mhrfit_overlay_frame_name(ov, f), c);
      if (access(tp(rel), F_OK) != 0) continue; /* a missing view of the demo */
      mhrfit_image *pic = mhrfit_image_read(tp(rel), 3, &err);
      snprintf(rel, sizeof rel, "sil/%s/cam_%zu.png", mhrfit_overlay_frame_name(ov, f), c);
      mhrfit_image *drawn = mhrfit_image_read(tp(rel), 3, &err);
      REQUIRE(pic && drawn && pic->width == drawn->width && pic->height == drawn->height);
      size_t b = 0, i = 0, out = 0;
      for (int y = 0; y < pic->height; y++)
        for (int x = 0; x < pic->width; x++) {
          const unsigned char *p = pic->data + (size_t)y * pic->stride + 3 * (size_t)x;
          const unsigned char *d = drawn->data + (size_t)y * drawn->stride + 3 * (size_t)x;
          bool is_body = body_px(p), is_sil = memcmp(p, d, 3) != 0;
          b += is_body, i += is_body && is_sil, out += is_sil && !is_body;
        }
      double iou = (double)i / (double)(b + out);
      worst_iou = fmin(worst_iou, iou);
      views++, body += b, both += i, beyond += out;
      mhrfit_image_free(pic);
      mhrfit_image_free(drawn);
    }
  }
  double cover = (double)both / (double)body, over = (double)beyond / (double)body;
  double iou = (double)both / (double)(body + beyond);
  printf("    %zu views: the fitted silhouette covers %.1f %% of the body pixels, %.1f %% beyond them; IoU %.3f "
         "(worst view %.3f)\n", views, 100 * cover, 100 * over, iou, worst_iou);
  CHECK(views >= 30);
  CHECK(cover >= 0.95);
  CHECK(over <= 0.05);
  CHECK(iou >= 0.9);
  mhrfit_value_free(sum);
  mhrfit_overlay_free(ov);
}

/* The per-camera videos of a run's overlay: one frame per selected frame (a skipped view gives a
 * placeholder frame), frame k equal to the k-th overlay picture. */
static void test_overlay_videos(void) {
  REQUIRE(demo_ready);
  mhrfit_error err = {0};
  mhrfit_overlay_options o;
  mhrfit_overlay_options_init(&o);
  o.run_dir = tp("run");
  o.out_dir = tp("vid");
  o.frame_begin = 2, o.frame_end = 10;
  o.video = o.grid = true;
  o.grid_height = 270;
  o.rig_path = th_env_or("MHRFIT_ASSETS", "../shared/mhr");
  mhrfit_overlay *ov = mhrfit_overlay_new(&o, &err);
  REQUIRE(ov);
  mhrfit_overlay_summary s;
  REQUIRE(mhrfit_overlay_process(ov, &s, &err));
  CHECK(s.n_frames == 8 && s.videos_written == 5);
  CHECK_STR(s.codec, "libx264");
  CHECK_NEAR(s.fps, 30.0, 1e-9);
  double worst = INFINITY;
  for (size_t c = 0; c < 4; c++) {
    char rel[64];
    snprintf(rel, sizeof rel, "vid/cam_%zu.mp4", c);
    mhrfit_video_reader *r = mhrfit_video_reader_new(tp(rel), NULL, &err);
    REQUIRE(r);
    CHECK(mhrfit_video_reader_info(r)->frame_count == 8);
    for (size_t k = 0;; k++) {
      mhrfit_video_frame fr;
      bool got;
      REQUIRE(mhrfit_video_reader_next(r, true, &fr, &got, &err));
      if (!got) break;
      snprintf(rel, sizeof rel, "vid/%s/cam_%zu.jpg", mhrfit_overlay_frame_name(ov, k), c);
      if (access(tp(rel), F_OK) != 0) continue; /* a placeholder frame */
      mhrfit_image *pic = mhrfit_image_read(tp(rel), 3, &err);
      REQUIRE(pic);
      worst = fmin(worst, psnr(fr.image, pic));
      mhrfit_image_free(pic);
    }
    mhrfit_video_reader_free(r);
  }
  printf("    per-camera videos: 8 frames each; frame k against overlay picture k: lowest PSNR %.1f dB\n", worst);
  CHECK(worst >= 30);
  mhrfit_video_reader *g = mhrfit_video_reader_new(tp("vid/grid.mp4"), NULL, &err);
  REQUIRE(g);
  const mhrfit_video_info *gi = mhrfit_video_reader_info(g);
  CHECK(gi->frame_count == 8 && gi->height == 2 * 270 && gi->width == 2 * 480);
  mhrfit_video_reader_free(g);
  mhrfit_overlay_free(ov);
}

static void test_options_refused(void) {
  REQUIRE(demo_ready);
  mhrfit_error err = {0};
  mhrfit_overlay_options o;
  mhrfit_overlay_options_init(&o);
  CHECK(!mhrfit_overlay_new(&o, &err) && err.type == MHRFIT_ERR_ARGUMENT); /* no output */
  o.out_dir = tp("bad");
  CHECK(!mhrfit_overlay_new(&o, &err) && err.type == MHRFIT_ERR_ARGUMENT); /* no source */
  o.run_dir = tp("run");
  o.tri_path = tp("marks/tri.npz");
  CHECK(!mhrfit_overlay_new(&o, &err) && err.type == MHRFIT_ERR_ARGUMENT); /* two sources */
  o.tri_path = NULL;
  o.out_dir = tp("demo"); /* the pictures' own folder */
  CHECK(!mhrfit_overlay_new(&o, &err) && err.type == MHRFIT_ERR_ARGUMENT);
  CHECK_CONTAINS(err.message, "pictures' folder");
  o.out_dir = tp("bad");
  o.frame_begin = 50;
  CHECK(!mhrfit_overlay_new(&o, &err) && err.type == MHRFIT_ERR_ARGUMENT);
  o.frame_begin = 0;
  const char *cams[2] = {"cam_0", "cam_9"};
  o.cams = cams, o.n_cams = 2;
  CHECK(!mhrfit_overlay_new(&o, &err) && err.type == MHRFIT_ERR_NOT_FOUND);
  CHECK_CONTAINS(err.message, "cam_9");
  unsigned layers;
  CHECK(mhrfit_overlay_layers_parse("mesh, points", &layers, &err) &&
        layers == (MHRFIT_LAYER_MESH | MHRFIT_LAYER_POINTS));
  CHECK(!mhrfit_overlay_layers_parse("mesh,pointz", &layers, &err) && err.type == MHRFIT_ERR_ARGUMENT);
  CHECK_CONTAINS(err.message, "pointz");
}

int main(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/mhrfit_test_overlay_XXXXXX");
  if (!mkdtemp(tmpdir)) return 1;
  RUN(test_marks_and_lines);
  RUN(test_raster_coverage);
  RUN(test_projection_limit);
  RUN(test_marks_on_distorted_camera);
  RUN(test_video_writer);
  make_demo();
  RUN(test_silhouette_on_demo);
  RUN(test_overlay_videos);
  RUN(test_options_refused);
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
  return test_report();
}
