/* libFuzzer target: the drawing calls and the rasteriser of overlay.h with any numbers (NaN,
 * infinities, huge or tiny coordinates, depths, radii, widths, text), as a damaged calibration
 * or archive could hand them over. The input is a list of 1-byte commands, each followed by the
 * doubles it takes (raw 8-byte values). Every call must stay within the image and buffers. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mhrfit/overlay.h"

typedef struct reader {
  const uint8_t *p;
  size_t n;
} reader;

static double next(reader *r) {
  double x = 0;
  if (r->n >= sizeof x) {
    memcpy(&x, r->p, sizeof x);
    r->p += sizeof x, r->n -= sizeof x;
  } else {
    r->n = 0;
  }
  return x;
}

static int next_int(reader *r) {
  double x = next(r);
  return isfinite(x) && fabs(x) < 1e9 ? (int)x : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mhrfit_image *img = mhrfit_image_new(61, 37, (size && (data[0] & 1)) ? 4 : 3, NULL);
  mhrfit_raster *ras = mhrfit_raster_new(61, 37, NULL);
  if (!img || !ras) goto done;
  reader r = {data, size};
  const mhrfit_rgba c = {200, 100, 50, 180};
  while (r.n > 0) {
    uint8_t op = r.p[0];
    r.p++, r.n--;
    switch (op % 5) {
    case 0: {
      double u = next(&r), v = next(&r);
      int rad = next_int(&r), t = next_int(&r);
      mhrfit_draw_mark(img, u, v, (mhrfit_mark_shape)(op / 5 % 4), rad, t, c, c);
      break;
    }
    case 1: {
      double x0 = next(&r), y0 = next(&r), x1 = next(&r), y1 = next(&r), w = next(&r);
      mhrfit_draw_line(img, x0, y0, x1, y1, w, c);
      break;
    }
    case 2: {
      int x = next_int(&r), y = next_int(&r), w = next_int(&r), h = next_int(&r);
      mhrfit_draw_rect(img, x, y, w, h, c);
      break;
    }
    case 3: {
      int x = next_int(&r), y = next_int(&r), s = next_int(&r);
      char text[24];
      size_t n = r.n < sizeof text - 1 ? r.n : sizeof text - 1;
      memcpy(text, r.p, n);
      text[n] = '\0';
      r.p += n, r.n -= n;
      mhrfit_draw_text(img, x, y, s, text, c);
      break;
    }
    default: {
      double uv[6], z[3];
      for (int i = 0; i < 6; i++) uv[i] = next(&r);
      for (int i = 0; i < 3; i++) z[i] = next(&r);
      mhrfit_raster_triangle(ras, uv, z, op);
      break;
    }
    }
  }
  /* every pixel of the buffer must read back */
  double sum = 0;
  for (int y = 0; y < 37; y++)
    for (int x = 0; x < 61; x++) sum += mhrfit_raster_id(ras, x, y) + (isinf(mhrfit_raster_depth(ras, x, y)) ? 0 : 1);
  if (sum == 0.5) img->data[0] = 1;
done:
  mhrfit_image_free(img);
  mhrfit_raster_free(ras);
  return 0;
}
