/* Images: JPEG and PNG written and read back (exact for PNG, within the codec's error for JPEG),
 * channel conversions, headers, damaged and truncated files, bad arguments. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/file.h"
#include "harness.h"
#include "mhrfit/media.h"

static char tmpdir[256];

static const char *tmp_path(const char *name) { return th_path(tmpdir, name); }

/* A picture with smooth gradients and sharp edges, so that both codecs have work to do. */
static mhrfit_image *test_picture(int w, int h, int channels) {
  mhrfit_error err = {0};
  mhrfit_image *img = mhrfit_image_new(w, h, channels, &err);
  if (!img) return NULL;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      unsigned char *p = img->data + (size_t)y * img->stride + (size_t)x * (size_t)channels;
      unsigned char v[4] = {(unsigned char)(x * 255 / (w - 1)), (unsigned char)(y * 255 / (h - 1)),
                            (unsigned char)(((x / 8 + y / 8) & 1) ? 200 : 40), (unsigned char)(x + y)};
      if (channels == 1)
        p[0] = v[0];
      else
        memcpy(p, v, (size_t)channels);
    }
  return img;
}

static int max_abs_diff(const mhrfit_image *a, const mhrfit_image *b) {
  int m = 0;
  for (int y = 0; y < a->height; y++)
    for (int i = 0; i < a->width * a->channels; i++) {
      int d = abs((int)a->data[(size_t)y * a->stride + (size_t)i] - (int)b->data[(size_t)y * b->stride + (size_t)i]);
      if (d > m) m = d;
    }
  return m;
}

static double mean_abs_diff(const mhrfit_image *a, const mhrfit_image *b) {
  double s = 0;
  for (int y = 0; y < a->height; y++)
    for (int i = 0; i < a->width * a->channels; i++)
      s += abs((int)a->data[(size_t)y * a->stride + (size_t)i] - (int)b->data[(size_t)y * b->stride + (size_t)i]);
  return s / ((double)a->width * a->height * a->channels);
}

static void test_new_and_limits(void) {
  mhrfit_error err = {0};
  mhrfit_image *img = mhrfit_image_new(5, 3, 3, &err);
  REQUIRE(img);
  CHECK(img->stride == 15 && img->width == 5 && img->height == 3 && img->channels == 3);
  bool zero = true;
  for (size_t i = 0; i < 45; i++) zero = zero && img->data[i] == 0;
  CHECK(zero);
  mhrfit_image_free(img);
  CHECK(!mhrfit_image_new(0, 3, 3, &err) && err.type == MHRFIT_ERR_ARGUMENT);
  CHECK(!mhrfit_image_new(4, 4, 2, &err) && err.type == MHRFIT_ERR_ARGUMENT);
  CHECK(!mhrfit_image_new(1 << 20, 1 << 20, 1, &err) && err.type == MHRFIT_ERR_LIMIT);
  mhrfit_image_free(NULL);
}

static void test_png_round_trip_exact(void) {
  for (int c = 1; c <= 4; c++) {
    if (c == 2) continue;
    mhrfit_image *img = test_picture(37, 23, c);
    REQUIRE(img);
    mhrfit_error err = {0};
    char name[64];
    snprintf(name, sizeof name, "rt%d.png", c);
    mhrfit_image_write_options o;
    mhrfit_image_write_options_init(&o);
    o.png_fast = c == 3;
    CHECK(mhrfit_image_write(tmp_path(name), img, &o, &err));
    mhrfit_image *back = mhrfit_image_read(tmp_path(name), 0, &err);
    REQUIRE(back);
    CHECK(back->width == 37 && back->height == 23 && back->channels == c);
    CHECK(max_abs_diff(img, back) == 0);
    int w = 0, h = 0;
    mhrfit_image_format f = MHRFIT_IMAGE_AUTO;
    CHECK(mhrfit_image_probe(tmp_path(name), &w, &h, &f, &err) && w == 37 && h == 23 && f == MHRFIT_IMAGE_PNG);
    mhrfit_image_free(back);
    mhrfit_image_free(img);
  }
}

static void test_png_channel_conversions(void) {
  mhrfit_image *rgba = test_picture(16, 9, 4);
  REQUIRE(rgba);
  mhrfit_error err = {0};
  REQUIRE(mhrfit_image_write(tmp_path("conv.png"), rgba, NULL, &err));
  /* alpha dropped, colour samples kept as they are (not composed onto a background) */
  mhrfit_image *rgb = mhrfit_image_read(tmp_path("conv.png"), 3, &err);
  REQUIRE(rgb);
  bool same = rgb->channels == 3;
  for (int y = 0; y < 9 && same; y++)
    for (int x = 0; x < 16; x++)
      same = same && memcmp(rgb->data + (size_t)y * rgb->stride + (size_t)x * 3,
                            rgba->data + (size_t)y * rgba->stride + (size_t)x * 4, 3) == 0;
  CHECK(same);
  /* gray from colour: BT.601 luma */
  mhrfit_image *gray = mhrfit_image_read(tmp_path("conv.png"), 1, &err);
  REQUIRE(gray);
  const unsigned char *p = rgba->data + 5 * rgba->stride + 7 * 4;
  double y601 = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
  CHECK(gray->channels == 1);
  CHECK_NEAR(gray->data[5 * gray->stride + 7], y601, 0.51);
  /* a gray picture read as RGBA: gray replicated, alpha 255 */
  REQUIRE(mhrfit_image_write(tmp_path("gray.png"), gray, NULL, &err));
  mhrfit_image *g4 = mhrfit_image_read(tmp_path("gray.png"), 4, &err);
  REQUIRE(g4);
  const unsigned char *q = g4->data + 5 * g4->stride + 7 * 4;
  CHECK(q[0] == gray->data[5 * gray->stride + 7] && q[1] == q[0] && q[2] == q[0] && q[3] == 255);
  mhrfit_image_free(g4);
  mhrfit_image_free(gray);
  mhrfit_image_free(rgb);
  mhrfit_image_free(rgba);
}

static void test_jpeg_round_trip(void) {
  mhrfit_error err = {0};
  mhrfit_image *img = test_picture(64, 48, 3);
  REQUIRE(img);
  mhrfit_image_write_options o;
  mhrfit_image_write_options_init(&o);
  o.quality = 100;
  o.subsampling = 444;
  REQUIRE(mhrfit_image_write(tmp_path("q100.jpg"), img, &o, &err));
  mhrfit_image *back = mhrfit_image_read(tmp_path("q100.jpg"), 3, &err);
  REQUIRE(back);
  CHECK(back->width == 64 && back->height == 48 && back->channels == 3);
  CHECK(mean_abs_diff(img, back) < 1.5);
  /* default quality 95, 4:2:0: still close, smaller file */
  REQUIRE(mhrfit_image_write(tmp_path("q95.JPEG"), img, NULL, &err));
  mhrfit_image *b95 = mhrfit_image_read(tmp_path("q95.JPEG"), 0, &err);
  REQUIRE(b95);
  CHECK(b95->channels == 3);
  /* (the blue channel's 8-pixel checkerboard loses its edges to the halved chroma resolution) */
  CHECK(mean_abs_diff(img, b95) < 10.0);
  mhrfit_image *b444 = mhrfit_image_read(tmp_path("q100.jpg"), 3, &err);
  REQUIRE(b444);
  CHECK(mean_abs_diff(img, b444) < mean_abs_diff(img, b95));
  mhrfit_image_free(b444);
  /* gray JPEG stays gray with channels 0 */
  mhrfit_image *g = test_picture(40, 30, 1);
  REQUIRE(g && mhrfit_image_write(tmp_path("g.jpg"), g, NULL, &err));
  mhrfit_image *gb = mhrfit_image_read(tmp_path("g.jpg"), 0, &err);
  REQUIRE(gb);
  CHECK(gb->channels == 1 && mean_abs_diff(g, gb) < 3.0);
  /* RGBA: alpha dropped on write, 255 on read */
  mhrfit_image *a = test_picture(32, 32, 4);
  REQUIRE(a && mhrfit_image_write(tmp_path("a.jpg"), a, NULL, &err));
  mhrfit_image *ab = mhrfit_image_read(tmp_path("a.jpg"), 4, &err);
  REQUIRE(ab);
  CHECK(ab->channels == 4 && ab->data[3] == 255 && ab->data[ab->stride * 31 + 31 * 4 + 3] == 255);
  int w, h;
  mhrfit_image_format f;
  CHECK(mhrfit_image_probe(tmp_path("a.jpg"), &w, &h, &f, &err) && w == 32 && h == 32 && f == MHRFIT_IMAGE_JPEG);
  mhrfit_image_free(ab);
  mhrfit_image_free(a);
  mhrfit_image_free(gb);
  mhrfit_image_free(g);
  mhrfit_image_free(b95);
  mhrfit_image_free(back);
  mhrfit_image_free(img);
}

/* A padded stride is honoured on write (only width * channels bytes of each row are pixels). */
static void test_padded_stride(void) {
  mhrfit_error err = {0};
  mhrfit_image *img = test_picture(10, 6, 3);
  REQUIRE(img);
  mhrfit_image padded = *img;
  padded.stride = 40;
  padded.data = calloc(6, 40);
  REQUIRE(padded.data);
  for (int y = 0; y < 6; y++) {
    memcpy(padded.data + y * 40, img->data + (size_t)y * img->stride, 30);
    memset(padded.data + y * 40 + 30, 0xee, 10);
  }
  REQUIRE(mhrfit_image_write(tmp_path("pad.png"), &padded, NULL, &err));
  mhrfit_image *back = mhrfit_image_read(tmp_path("pad.png"), 3, &err);
  REQUIRE(back);
  CHECK(max_abs_diff(img, back) == 0);
  mhrfit_image_free(back);
  free(padded.data);
  mhrfit_image_free(img);
}

static void test_encoder_reuse(void) {
  mhrfit_error err = {0};
  mhrfit_image_encoder *e = mhrfit_image_encoder_new(NULL, &err);
  REQUIRE(e);
  size_t sizes[3] = {0};
  int dims[3][2] = {{64, 48}, {320, 200}, {16, 16}};
  for (int i = 0; i < 3; i++) {
    mhrfit_image *img = test_picture(dims[i][0], dims[i][1], 3);
    REQUIRE(img);
    const unsigned char *data;
    size_t len;
    CHECK(mhrfit_image_encoder_encode(e, img, &data, &len, &err));
    sizes[i] = len;
    mhrfit_image *back = mhrfit_image_decode(data, len, 3, "encoded", &err);
    CHECK(back && back->width == dims[i][0] && back->height == dims[i][1]);
    mhrfit_image_free(back);
    mhrfit_image_free(img);
  }
  CHECK(sizes[0] > 0 && sizes[1] > sizes[0] && sizes[2] > 0);
  mhrfit_image_encoder_free(e);
  mhrfit_image_write_options o;
  mhrfit_image_write_options_init(&o);
  o.quality = 0;
  CHECK(!mhrfit_image_encoder_new(&o, &err) && err.type == MHRFIT_ERR_ARGUMENT);
  o.quality = 90;
  o.subsampling = 422;
  CHECK(!mhrfit_image_encoder_new(&o, &err) && err.type == MHRFIT_ERR_ARGUMENT);
  CHECK_CONTAINS(err.message, "420 or 444");
}

/* Truncated and damaged files are errors naming the file, never half-grey pictures. */
static void test_damaged_files(void) {
  mhrfit_error err = {0};
  mhrfit_image *img = test_picture(96, 64, 3);
  REQUIRE(img);
  REQUIRE(mhrfit_image_write(tmp_path("full.jpg"), img, NULL, &err));
  REQUIRE(mhrfit_image_write(tmp_path("full.png"), img, NULL, &err));
  const char *names[2] = {"full.jpg", "full.png"};
  for (int k = 0; k < 2; k++) {
    unsigned char *data;
    size_t len;
    REQUIRE(mf_read_file(tmp_path(names[k]), 0, &data, &len, &err));
    char cut[64];
    snprintf(cut, sizeof cut, "cut_%s", names[k]);
    REQUIRE(mf_write_file_atomic(tmp_path(cut), data, len * 2 / 3, &err));
    mhrfit_error e2 = {0};
    CHECK(!mhrfit_image_read(tmp_path(cut), 0, &e2));
    CHECK(e2.type == MHRFIT_ERR_FORMAT);
    CHECK_CONTAINS(e2.message, cut);
    CHECK_CONTAINS(e2.message, k == 0 ? "damaged JPEG" : "damaged PNG");
    /* the header of a truncated file is still readable */
    int w = 0, h = 0;
    CHECK(mhrfit_image_probe(tmp_path(cut), &w, &h, NULL, &e2) && w == 96 && h == 64);
    /* a flipped byte in a PNG's pixel data fails its CRC */
    if (k == 1) {
      data[len / 2] ^= 0x55;
      mhrfit_error e3 = {0};
      CHECK(!mhrfit_image_decode(data, len, 3, "flipped.png", &e3) && e3.type == MHRFIT_ERR_FORMAT);
      CHECK_CONTAINS(e3.message, "flipped.png");
    }
    free(data);
  }
  mhrfit_error e4 = {0};
  CHECK(!mhrfit_image_decode("GIF89a....", 10, 0, "x.gif", &e4) && e4.type == MHRFIT_ERR_FORMAT);
  CHECK_CONTAINS(e4.message, "x.gif: neither a JPEG nor a PNG");
  CHECK(!mhrfit_image_decode("\xff\xd8\xff", 3, 0, "tiny.jpg", &e4) && e4.type == MHRFIT_ERR_FORMAT);
  CHECK(!mhrfit_image_read(tmp_path("absent.png"), 0, &e4) && e4.type == MHRFIT_ERR_IO);
  CHECK(!mhrfit_image_decode("x", 1, 2, NULL, &e4) && e4.type == MHRFIT_ERR_ARGUMENT);
  CHECK(!mhrfit_image_write(tmp_path("noext"), img, NULL, &e4) && e4.type == MHRFIT_ERR_ARGUMENT);
  CHECK_CONTAINS(e4.message, ".jpg, .jpeg or .png");
  CHECK(access(tmp_path("noext"), F_OK) != 0);
  mhrfit_image_free(img);
}

static void test_format_names(void) {
  CHECK(mhrfit_image_format_from_name("a/b.JPG") == MHRFIT_IMAGE_JPEG);
  CHECK(mhrfit_image_format_from_name("b.jpeg") == MHRFIT_IMAGE_JPEG);
  CHECK(mhrfit_image_format_from_name("b.Png") == MHRFIT_IMAGE_PNG);
  CHECK(mhrfit_image_format_from_name("a.png/b") == MHRFIT_IMAGE_AUTO);
  CHECK(mhrfit_image_format_from_name("b.bmp") == MHRFIT_IMAGE_AUTO);
  CHECK_STR(mhrfit_image_format_name(MHRFIT_IMAGE_PNG), "png");
  CHECK_STR(mhrfit_image_format_name(MHRFIT_IMAGE_JPEG), "jpg");
}

int main(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/mhrfit_test_media_XXXXXX");
  if (!mkdtemp(tmpdir)) return 1;
  RUN(test_new_and_limits);
  RUN(test_png_round_trip_exact);
  RUN(test_png_channel_conversions);
  RUN(test_jpeg_round_trip);
  RUN(test_padded_stride);
  RUN(test_encoder_reuse);
  RUN(test_damaged_files);
  RUN(test_format_names);
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
  return test_report();
}
