/* The report's camera images: `capture/<frame>/<cam>.{jpg,jpeg,png}` decoded (media.h),
 * downscaled by area averaging to at most the option's width, and re-encoded as JPEG for the
 * page. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "common/path.h"
#include "media/media_internal.h"
#include "mhrfit/media.h"
#include "report/report_internal.h"

/* The JPEG quality of embedded images: a few tens of kB at 480 px width. */
enum { MF_REPORT_JPEG_QUALITY = 75 };

/* Area-average downscale of an RGB image to width w (height in proportion, at least 1). */
static mhrfit_image *downscale(const mhrfit_image *src, int w, mhrfit_error *err) {
  if (src->width <= w) w = src->width;
  int h = (int)lround((double)src->height * w / src->width);
  if (h < 1) h = 1;
  mhrfit_image *dst = mhrfit_image_new(w, h, 3, err);
  if (!dst) return NULL;
  double sx = (double)src->width / w, sy = (double)src->height / h;
  for (int y = 0; y < h; y++) {
    int y0 = (int)floor(y * sy), y1 = (int)ceil((y + 1) * sy);
    if (y1 > src->height) y1 = src->height;
    if (y1 <= y0) y1 = y0 + 1;
    for (int x = 0; x < w; x++) {
      int x0 = (int)floor(x * sx), x1 = (int)ceil((x + 1) * sx);
      if (x1 > src->width) x1 = src->width;
      if (x1 <= x0) x1 = x0 + 1;
      unsigned long acc[3] = {0, 0, 0};
      for (int yy = y0; yy < y1; yy++) {
        const unsigned char *row = src->data + (size_t)yy * src->stride + (size_t)x0 * 3;
        for (int xx = x0; xx < x1; xx++, row += 3) {
          acc[0] += row[0];
          acc[1] += row[1];
          acc[2] += row[2];
        }
      }
      unsigned long n = (unsigned long)(y1 - y0) * (unsigned long)(x1 - x0);
      unsigned char *o = dst->data + (size_t)y * dst->stride + (size_t)x * 3;
      for (int c = 0; c < 3; c++) o[c] = (unsigned char)((acc[c] + n / 2) / n);
    }
  }
  return dst;
}

bool mf_report_images(mhrfit_report *r, mhrfit_error *err) {
  if (!r->opts.capture_dir || r->opts.no_images || !r->F || !r->V) return true;
  size_t n = r->F * r->V;
  r->image_index = mf_malloc_array(n, sizeof *r->image_index, err);
  r->image_list = mf_malloc_array(n, sizeof *r->image_list, err);
  if (!r->image_index || !r->image_list) return false;
  for (size_t i = 0; i < n; i++) r->image_index[i] = -1;
  mhrfit_image_write_options wo;
  mhrfit_image_write_options_init(&wo);
  wo.format = MHRFIT_IMAGE_JPEG;
  wo.quality = MF_REPORT_JPEG_QUALITY;
  mhrfit_image_encoder *enc = mhrfit_image_encoder_new(&wo, err);
  if (!enc) return false;
  mf_buf bytes = {0};
  size_t n_bad = 0, n_absent = 0, n_size = 0;
  char first_error[MHRFIT_ERROR_MESSAGE_MAX] = "", size_note[256] = "";
  bool ok = true;
  for (size_t f = 0; ok && f < r->F; f++) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", r->opts.capture_dir, r->frames[f]);
    for (size_t v = 0; ok && v < r->V; v++) {
      char *path = mf_image_find(dir, r->cams[v].name, NULL);
      if (!path) {
        n_absent++;
        continue;
      }
      mhrfit_error e = {0};
      mhrfit_image *img = mhrfit_image_read(path, 3, &e), *small = NULL;
      const unsigned char *jpg = NULL;
      size_t len = 0;
      if (img && r->cams[v].calibrated && r->cams[v].cam.width > 0 &&
          (img->width != r->cams[v].cam.width || img->height != r->cams[v].cam.height)) {
        if (!n_size++)
          snprintf(size_note, sizeof size_note, "%s is %dx%d, the calibration says %dx%d", path, img->width,
                   img->height, r->cams[v].cam.width, r->cams[v].cam.height);
      }
      if (img && (small = downscale(img, r->opts.image_max_width, &e)) &&
          mhrfit_image_encoder_encode(enc, small, &jpg, &len, &e)) {
        mf_buf_align(&bytes, 4);
        r->image_list[r->n_images] = (mf_report_image){bytes.len, len, "image/jpeg"};
        mf_buf_put(&bytes, jpg, len);
        r->image_index[f * r->V + v] = (long)r->n_images++;
        if (bytes.failed) ok = MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory embedding %s", path);
      } else if (e.type == MHRFIT_ERR_NOMEM) {
        *err = e;
        ok = false;
      } else {
        if (!n_bad++) snprintf(first_error, sizeof first_error, "%s", e.message);
      }
      mhrfit_image_free(small);
      mhrfit_image_free(img);
      free(path);
    }
  }
  mhrfit_image_encoder_free(enc);
  if (!ok) {
    mf_buf_free(&bytes);
    return false;
  }
  r->images = (unsigned char *)bytes.data;
  r->images_len = bytes.len;
  if (n_bad && !mf_report_note(r, err, "%zu camera image(s) could not be read (first: %s)", n_bad, first_error))
    return false;
  if (n_size && !mf_report_note(r, err, "%zu camera image(s) do not have the calibrated size (first: %s): "
                                        "they are stretched over the image rectangle", n_size, size_note))
    return false;
  if (n_absent == n)
    return mf_report_note(r, err, "no camera image in %s (<frame>/<cam>.jpg, .jpeg or .png)", r->opts.capture_dir);
  return true;
}
