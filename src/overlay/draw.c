/* Drawing primitives: blended pixels, marks, anti-aliased lines, rectangles, text. See
 * include/mhrfit/overlay.h ("Drawing"). */
#include <math.h>
#include <string.h>

#include "mhrfit/overlay.h"
#include "overlay/overlay_internal.h"

void mf_blend_pixel(mhrfit_image *img, int x, int y, mhrfit_rgba c, unsigned a) {
  if (x < 0 || y < 0 || x >= img->width || y >= img->height) return;
  mf_blend(img->data + (size_t)y * img->stride + (size_t)x * (size_t)img->channels, img->channels, c, a);
}

void mhrfit_draw_rect(mhrfit_image *img, int x, int y, int w, int h, mhrfit_rgba c) {
  int x0 = x < 0 ? 0 : x, y0 = y < 0 ? 0 : y;
  long x1 = (long)x + w, y1 = (long)y + h;
  if (x1 > img->width) x1 = img->width;
  if (y1 > img->height) y1 = img->height;
  for (int yy = y0; yy < y1; yy++) {
    unsigned char *row = img->data + (size_t)yy * img->stride;
    for (int xx = x0; xx < x1; xx++) mf_blend(row + (size_t)xx * (size_t)img->channels, img->channels, c, c.a);
  }
}

/* Whether offset (dx, dy) belongs to the shape (see overlay.h). */
static bool in_shape(mhrfit_mark_shape shape, int dx, int dy, int r, int t) {
  int d2 = dx * dx + dy * dy, ax = dx < 0 ? -dx : dx, ay = dy < 0 ? -dy : dy;
  switch (shape) {
  case MHRFIT_MARK_DISC: return d2 <= r * r + r;
  case MHRFIT_MARK_RING: {
    int ri = r - t;
    return d2 <= r * r + r && (ri < 0 || d2 > ri * ri + ri);
  }
  case MHRFIT_MARK_CROSS: return ax <= r && ay <= r && (ax > ay ? ax - ay : ay - ax) < t;
  case MHRFIT_MARK_SQUARE: return ax <= r && ay <= r;
  }
  return false;
}

static void paint_shape(mhrfit_image *img, int cx, int cy, mhrfit_mark_shape shape, int r, int t, mhrfit_rgba c) {
  if (c.a == 0) return;
  for (int dy = -r; dy <= r; dy++) {
    int y = cy + dy;
    if (y < 0 || y >= img->height) continue;
    for (int dx = -r; dx <= r; dx++) {
      int x = cx + dx;
      if (x < 0 || x >= img->width || !in_shape(shape, dx, dy, r, t)) continue;
      mf_blend(img->data + (size_t)y * img->stride + (size_t)x * (size_t)img->channels, img->channels, c, c.a);
    }
  }
}

bool mhrfit_draw_mark(mhrfit_image *img, double u, double v, mhrfit_mark_shape shape, int radius, int thickness,
                      mhrfit_rgba fill, mhrfit_rgba outline) {
  if (!isfinite(u) || !isfinite(v) || fabs(u) > 1073741824.0 || fabs(v) > 1073741824.0) return false;
  if (radius < 0) radius = 0;
  if (radius > MF_MARK_MAX) radius = MF_MARK_MAX;
  if (thickness < 1) thickness = 1;
  if (thickness > MF_MARK_MAX) thickness = MF_MARK_MAX;
  int cx = (int)floor(u), cy = (int)floor(v);
  if (cx + radius + 1 < 0 || cy + radius + 1 < 0 || cx - radius - 1 >= img->width || cy - radius - 1 >= img->height)
    return true;
  paint_shape(img, cx, cy, shape, radius + 1, thickness + 2, outline);
  paint_shape(img, cx, cy, shape, radius, thickness, fill);
  return true;
}

void mhrfit_draw_line(mhrfit_image *img, double x0, double y0, double x1, double y1, double width, mhrfit_rgba c) {
  if (!isfinite(x0) || !isfinite(y0) || !isfinite(x1) || !isfinite(y1) || !(width > 0) || c.a == 0) return;
  double h = 0.5 * width + 0.5;
  /* the bounding box, clipped to the image (segments far outside cost nothing) */
  double bx0 = fmax(fmin(x0, x1) - h, 0.0), by0 = fmax(fmin(y0, y1) - h, 0.0);
  double bx1 = fmin(fmax(x0, x1) + h, (double)img->width), by1 = fmin(fmax(y0, y1) + h, (double)img->height);
  if (!(bx0 < bx1) || !(by0 < by1)) return;
  double dx = x1 - x0, dy = y1 - y0, len2 = dx * dx + dy * dy;
  int ix0 = (int)floor(bx0), iy0 = (int)floor(by0), ix1 = (int)ceil(bx1), iy1 = (int)ceil(by1);
  for (int y = iy0; y < iy1 && y < img->height; y++) {
    double py = y + 0.5;
    /* the columns of this row within reach of the segment (a band along it) */
    int xa = ix0, xb = ix1;
    if (fabs(dy) > 1e-12 && len2 > 0) {
      double nx = fabs(dy) / sqrt(len2);        /* |sin| of the segment's angle to the x axis */
      double half = h / (nx > 1e-6 ? nx : 1e-6); /* half-width of the band along x */
      double t = (py - y0) / dy, xc = x0 + t * dx;
      double lo = xc - half - 1, hi = xc + half + 1;
      if (lo > xa) xa = lo >= xb ? xb : (int)floor(lo);
      if (hi < xb) xb = hi <= xa ? xa : (int)ceil(hi);
    }
    if (xa < 0) xa = 0;
    unsigned char *row = img->data + (size_t)y * img->stride;
    for (int x = xa; x < xb && x < img->width; x++) {
      double px = x + 0.5, t = len2 > 0 ? ((px - x0) * dx + (py - y0) * dy) / len2 : 0.0;
      t = t < 0 ? 0 : t > 1 ? 1 : t;
      double ex = px - (x0 + t * dx), ey = py - (y0 + t * dy), d = sqrt(ex * ex + ey * ey);
      double cov = h - d;
      if (!(cov > 0)) continue; /* also NaN, from ends too far apart to square */
      if (cov > 1) cov = 1;
      mf_blend(row + (size_t)x * (size_t)img->channels, img->channels, c, (unsigned)(cov * c.a + 0.5));
    }
  }
}

void mhrfit_text_size(const char *text, int scale, int *width, int *height) {
  if (scale < 1) scale = 1;
  if (scale > MF_TEXT_MAX_SCALE) scale = MF_TEXT_MAX_SCALE;
  size_t n = text ? strlen(text) : 0;
  if (n > MF_TEXT_MAX_CHARS) n = MF_TEXT_MAX_CHARS;
  if (width) *width = (int)n * 6 * scale;
  if (height) *height = 9 * scale;
}

int mhrfit_draw_text(mhrfit_image *img, int x, int y, int scale, const char *text, mhrfit_rgba c) {
  if (scale < 1) scale = 1;
  if (scale > MF_TEXT_MAX_SCALE) scale = MF_TEXT_MAX_SCALE;
  int w = 0;
  mhrfit_text_size(text, scale, &w, NULL);
  if (!text) return 0;
  for (size_t i = 0; text[i] && i < MF_TEXT_MAX_CHARS; i++) {
    const char *g = mf_font_glyph((unsigned char)text[i]);
    int gx = x + (int)i * 6 * scale + scale / 2, gy = y + scale;
    if (gx >= img->width) break;
    for (int row = 0; row < 7; row++)
      for (int col = 0; col < 5; col++)
        if (g[row * 5 + col] == '#') mhrfit_draw_rect(img, gx + col * scale, gy + row * scale, scale, scale, c);
  }
  return w;
}
