/* Images: JPEG (TurboJPEG API of libjpeg-turbo) and PNG (libpng's simplified API) in and out.
 * See include/mhrfit/media.h. */
#include <limits.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <turbojpeg.h>

#include "common/file.h"
#include "common/mem.h"
#include "common/path.h"
#include "media/media_internal.h"
#include "mhrfit/media.h"

static const unsigned char png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

/* ---- the image struct --------------------------------------------------------------------- */

static bool check_size(long width, long height, const char *name, mhrfit_error *err) {
  if (width < 1 || height < 1)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "%s%simage size %ldx%ld: both must be at least 1", name ? name : "",
                       name ? ": " : "", width, height);
  if (width > INT_MAX / 4 || height > INT_MAX / 4 || width * height > MHRFIT_IMAGE_MAX_PIXELS)
    return MHRFIT_FAIL(err, MHRFIT_ERR_LIMIT, "%s%simage of %ldx%ld pixels is larger than the %ld pixels accepted",
                       name ? name : "", name ? ": " : "", width, height, (long)MHRFIT_IMAGE_MAX_PIXELS);
  return true;
}

mhrfit_image *mhrfit_image_new(int width, int height, int channels, mhrfit_error *err) {
  return mf_image_new_padded(width, height, channels, 1, 0, err);
}

mhrfit_image *mf_image_new_padded(int width, int height, int channels, size_t align, size_t tail, mhrfit_error *err) {
  if (channels != 1 && channels != 3 && channels != 4) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "images have 1, 3 or 4 channels, not %d", channels);
    return NULL;
  }
  if (!check_size(width, height, NULL, err)) return NULL;
  mhrfit_image *img = calloc(1, sizeof *img);
  if (!img) {
    MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
    return NULL;
  }
  img->width = width;
  img->height = height;
  img->channels = channels;
  img->stride = ((size_t)width * (size_t)channels + align - 1) / align * align;
  /* no overflow: width * height <= MHRFIT_IMAGE_MAX_PIXELS, 4 channels, align and tail small */
  if (!(img->data = mf_calloc_array((size_t)height * img->stride + tail, 1, err))) {
    free(img);
    return NULL;
  }
  return img;
}

void mhrfit_image_free(mhrfit_image *img) {
  if (!img) return;
  free(img->data);
  free(img);
}

bool mf_image_valid(const mhrfit_image *img, mhrfit_error *err) {
  if (!img || !img->data) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "no image");
  if (img->channels != 1 && img->channels != 3 && img->channels != 4)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "images have 1, 3 or 4 channels, not %d", img->channels);
  if (!check_size(img->width, img->height, NULL, err)) return false;
  if (img->stride < (size_t)img->width * (size_t)img->channels)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "image stride %zu is below width %d x %d channels", img->stride,
                       img->width, img->channels);
  return true;
}

/* Gray value of an RGB sample, with the JPEG/BT.601 luma weights in 16-bit fixed point. */
static unsigned char luma(const unsigned char *p) {
  return (unsigned char)((19595u * p[0] + 38470u * p[1] + 7471u * p[2] + 32768u) >> 16);
}

void mf_image_convert_row(const unsigned char *src, int src_channels, unsigned char *dst, int dst_channels, int width) {
  for (int x = 0; x < width; x++, src += src_channels, dst += dst_channels) {
    unsigned char rgba[4];
    if (src_channels <= 2) {
      rgba[0] = rgba[1] = rgba[2] = src[0];
      rgba[3] = src_channels == 2 ? src[1] : 255;
    } else {
      memcpy(rgba, src, 3);
      rgba[3] = src_channels == 4 ? src[3] : 255;
    }
    if (dst_channels == 1)
      dst[0] = src_channels <= 2 ? src[0] : luma(rgba);
    else
      memcpy(dst, rgba, (size_t)dst_channels);
  }
}

/* ---- formats ------------------------------------------------------------------------------ */

mhrfit_image_format mhrfit_image_sniff(const void *data, size_t len) {
  const unsigned char *p = data;
  if (len >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff) return MHRFIT_IMAGE_JPEG;
  if (len >= 8 && memcmp(p, png_signature, 8) == 0) return MHRFIT_IMAGE_PNG;
  return MHRFIT_IMAGE_AUTO;
}

mhrfit_image_format mhrfit_image_format_from_name(const char *path) {
  const char *dot = path ? strrchr(path, '.') : NULL;
  if (!dot || strchr(dot, '/')) return MHRFIT_IMAGE_AUTO;
  if (strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0) return MHRFIT_IMAGE_JPEG;
  if (strcasecmp(dot, ".png") == 0) return MHRFIT_IMAGE_PNG;
  return MHRFIT_IMAGE_AUTO;
}

const char *mhrfit_image_format_name(mhrfit_image_format f) {
  return f == MHRFIT_IMAGE_JPEG ? "jpg" : f == MHRFIT_IMAGE_PNG ? "png" : "auto";
}

/* ---- decoding ----------------------------------------------------------------------------- */

#define NAME_ARGS(name) (name) ? (name) : "image", ": "

static bool jpeg_header(tjhandle tj, const void *data, size_t len, const char *name, int *w, int *h, int *cs,
                        mhrfit_error *err) {
  int sub = 0;
  if (len > ULONG_MAX || tjDecompressHeader3(tj, data, (unsigned long)len, w, h, &sub, cs) != 0)
    return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s%snot a readable JPEG: %s", NAME_ARGS(name), tjGetErrorStr2(tj));
  if (*cs == TJCS_CMYK || *cs == TJCS_YCCK)
    return MHRFIT_FAIL(err, MHRFIT_ERR_UNSUPPORTED, "%s%sCMYK JPEG pictures are not supported (convert to RGB)",
                       NAME_ARGS(name));
  if (*w < 1 || *h < 1)
    return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s%sJPEG header without a picture size", NAME_ARGS(name));
  return check_size(*w, *h, name ? name : "image", err);
}

static mhrfit_image *decode_jpeg(const void *data, size_t len, int channels, const char *name, mhrfit_error *err) {
  tjhandle tj = tjInitDecompress();
  if (!tj) {
    MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "%s%scannot start the JPEG decoder: %s", NAME_ARGS(name), tjGetErrorStr2(NULL));
    return NULL;
  }
  int w = 0, h = 0, cs = 0;
  mhrfit_image *img = NULL;
  if (!jpeg_header(tj, data, len, name, &w, &h, &cs, err)) goto done;
  if (channels == 0) channels = cs == TJCS_GRAY ? 1 : 3;
  if (!(img = mhrfit_image_new(w, h, channels, err))) goto done;
  int pf = channels == 1 ? TJPF_GRAY : channels == 3 ? TJPF_RGB : TJPF_RGBA;
  /* a warning (truncated or damaged data) stops decoding and is an error; a progressive
   * picture with an absurd number of scans is refused instead of decoded for minutes */
  if (tjDecompress2(tj, data, (unsigned long)len, img->data, w, (int)img->stride, h, pf,
                    TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS) != 0) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s%sdamaged JPEG: %s", NAME_ARGS(name), tjGetErrorStr2(tj));
    mhrfit_image_free(img);
    img = NULL;
  }
done:
  tjDestroy(tj);
  return img;
}

static bool png_header(png_image *pi, const void *data, size_t len, const char *name, mhrfit_error *err) {
  memset(pi, 0, sizeof *pi);
  pi->version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(pi, data, len)) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s%snot a readable PNG: %s", NAME_ARGS(name), pi->message);
    png_image_free(pi);
    return false;
  }
  if (!check_size((long)pi->width, (long)pi->height, name ? name : "image", err)) {
    png_image_free(pi);
    return false;
  }
  return true;
}

static mhrfit_image *decode_png(const void *data, size_t len, int channels, const char *name, mhrfit_error *err) {
  png_image pi;
  if (!png_header(&pi, data, len, name, err)) return NULL;
  bool alpha = (pi.format & PNG_FORMAT_FLAG_ALPHA) != 0, color = (pi.format & PNG_FORMAT_FLAG_COLOR) != 0;
  if (channels == 0) channels = alpha ? 4 : color ? 3 : 1;
  /* libpng composes alpha away onto the output buffer; mhrfit drops it instead, so pictures
   * with alpha are read with it and converted here */
  int read_channels = alpha ? (channels == 1 && !color ? 2 : 4) : channels;
  pi.format = read_channels == 1   ? PNG_FORMAT_GRAY
              : read_channels == 2 ? PNG_FORMAT_GA
              : read_channels == 3 ? PNG_FORMAT_RGB
                                   : PNG_FORMAT_RGBA;
  mhrfit_image *img = mhrfit_image_new((int)pi.width, (int)pi.height, channels, err);
  unsigned char *buf = NULL;
  size_t row = (size_t)pi.width * (size_t)read_channels;
  if (img && read_channels != channels) buf = mf_malloc_array(pi.height, row, err);
  if (!img || (read_channels != channels && !buf)) {
    png_image_free(&pi);
    mhrfit_image_free(img);
    return NULL;
  }
  unsigned char *target = buf ? buf : img->data;
  if (!png_image_finish_read(&pi, NULL, target, (png_int_32)row, NULL)) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s%sdamaged PNG: %s", NAME_ARGS(name), pi.message);
    png_image_free(&pi);
    free(buf);
    mhrfit_image_free(img);
    return NULL;
  }
  if (buf)
    for (int y = 0; y < img->height; y++)
      mf_image_convert_row(buf + (size_t)y * row, read_channels, img->data + (size_t)y * img->stride, channels,
                           img->width);
  free(buf);
  return img;
}

mhrfit_image *mhrfit_image_decode(const void *data, size_t len, int channels, const char *name, mhrfit_error *err) {
  if (channels != 0 && channels != 1 && channels != 3 && channels != 4) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "channels must be 0, 1, 3 or 4, not %d", channels);
    return NULL;
  }
  switch (mhrfit_image_sniff(data, len)) {
  case MHRFIT_IMAGE_JPEG: return decode_jpeg(data, len, channels, name, err);
  case MHRFIT_IMAGE_PNG: return decode_png(data, len, channels, name, err);
  default:
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s%sneither a JPEG nor a PNG picture (%zu bytes)", NAME_ARGS(name), len);
    return NULL;
  }
}

/* Largest picture file read whole. */
#define IMAGE_FILE_MAX ((size_t)1 << 30)

mhrfit_image *mhrfit_image_read(const char *path, int channels, mhrfit_error *err) {
  unsigned char *data = NULL;
  size_t len = 0;
  if (!mf_read_file(path, IMAGE_FILE_MAX, &data, &len, err)) return NULL;
  mhrfit_image *img = mhrfit_image_decode(data, len, channels, path, err);
  free(data);
  return img;
}

bool mhrfit_image_probe(const char *path, int *width, int *height, mhrfit_image_format *format, mhrfit_error *err) {
  unsigned char *data = NULL;
  size_t len = 0;
  if (!mf_read_file(path, IMAGE_FILE_MAX, &data, &len, err)) return false;
  mhrfit_image_format f = mhrfit_image_sniff(data, len);
  int w = 0, h = 0;
  bool ok = false;
  if (f == MHRFIT_IMAGE_JPEG) {
    tjhandle tj = tjInitDecompress();
    int cs = 0;
    ok = tj ? jpeg_header(tj, data, len, path, &w, &h, &cs, err)
            : MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "%s: cannot start the JPEG decoder", path);
    if (tj) tjDestroy(tj);
  } else if (f == MHRFIT_IMAGE_PNG) {
    png_image pi;
    if ((ok = png_header(&pi, data, len, path, err))) {
      w = (int)pi.width;
      h = (int)pi.height;
      png_image_free(&pi);
    }
  } else {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: neither a JPEG nor a PNG picture", path);
  }
  free(data);
  if (!ok) return false;
  if (width) *width = w;
  if (height) *height = h;
  if (format) *format = f;
  return true;
}

/* ---- encoding ----------------------------------------------------------------------------- */

void mhrfit_image_write_options_init(mhrfit_image_write_options *o) {
  memset(o, 0, sizeof *o);
  o->quality = 95;
  o->subsampling = 420;
}

struct mhrfit_image_encoder {
  mhrfit_image_write_options o;
  tjhandle tj;
  unsigned char *jbuf; /* tjAlloc'd, tjBufSize() of the last size */
  unsigned long jcap;
  unsigned char *pbuf; /* PNG output */
  size_t pcap;
};

static bool check_options(const mhrfit_image_write_options *o, mhrfit_error *err) {
  if (o->format != MHRFIT_IMAGE_AUTO && o->format != MHRFIT_IMAGE_JPEG && o->format != MHRFIT_IMAGE_PNG)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "unknown image format %d", (int)o->format);
  if (o->quality < 1 || o->quality > 100)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "JPEG quality %d is outside 1..100", o->quality);
  if (o->subsampling != 420 && o->subsampling != 444)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "JPEG chroma subsampling %d: use 420 or 444", o->subsampling);
  return true;
}

mhrfit_image_encoder *mhrfit_image_encoder_new(const mhrfit_image_write_options *o, mhrfit_error *err) {
  mhrfit_image_write_options d;
  if (!o) {
    mhrfit_image_write_options_init(&d);
    o = &d;
  }
  if (!check_options(o, err)) return NULL;
  mhrfit_image_encoder *e = calloc(1, sizeof *e);
  if (!e) {
    MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
    return NULL;
  }
  e->o = *o;
  if (e->o.format == MHRFIT_IMAGE_AUTO) e->o.format = MHRFIT_IMAGE_JPEG;
  return e;
}

void mhrfit_image_encoder_free(mhrfit_image_encoder *e) {
  if (!e) return;
  if (e->tj) tjDestroy(e->tj);
  tjFree(e->jbuf);
  free(e->pbuf);
  free(e);
}

static bool encode_jpeg(mhrfit_image_encoder *e, const mhrfit_image *img, const unsigned char **data, size_t *len,
                        mhrfit_error *err) {
  if (!e->tj && !(e->tj = tjInitCompress()))
    return MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "cannot start the JPEG encoder: %s", tjGetErrorStr2(NULL));
  int sub = img->channels == 1 ? TJSAMP_GRAY : e->o.subsampling == 444 ? TJSAMP_444 : TJSAMP_420;
  unsigned long need = tjBufSize(img->width, img->height, sub);
  if (need == (unsigned long)-1) return MHRFIT_FAIL(err, MHRFIT_ERR_LIMIT, "image too large for JPEG");
  if (need > e->jcap) {
    tjFree(e->jbuf);
    e->jcap = 0;
    if (!(e->jbuf = tjAlloc((int)need))) return MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
    e->jcap = need;
  }
  int pf = img->channels == 1 ? TJPF_GRAY : img->channels == 3 ? TJPF_RGB : TJPF_RGBX;
  unsigned long size = e->jcap;
  unsigned char *out = e->jbuf;
  if (img->stride > INT_MAX || tjCompress2(e->tj, img->data, img->width, (int)img->stride, img->height, pf, &out, &size,
                                           sub, e->o.quality, TJFLAG_NOREALLOC) != 0)
    return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "JPEG encoding failed: %s", tjGetErrorStr2(e->tj));
  *data = out;
  *len = size;
  return true;
}

static bool encode_png(mhrfit_image_encoder *e, const mhrfit_image *img, const unsigned char **data, size_t *len,
                       mhrfit_error *err) {
  png_image pi;
  memset(&pi, 0, sizeof pi);
  pi.version = PNG_IMAGE_VERSION;
  pi.width = (png_uint_32)img->width;
  pi.height = (png_uint_32)img->height;
  pi.format = img->channels == 1 ? PNG_FORMAT_GRAY : img->channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_RGBA;
  pi.flags = e->o.png_fast ? PNG_IMAGE_FLAG_FAST : 0;
  png_alloc_size_t need = PNG_IMAGE_PNG_SIZE_MAX(pi);
  if (need > e->pcap) {
    free(e->pbuf);
    e->pcap = 0;
    if (!(e->pbuf = mf_malloc_array(need, 1, err))) return false;
    e->pcap = need;
  }
  png_alloc_size_t size = e->pcap;
  if (img->stride > INT32_MAX ||
      !png_image_write_to_memory(&pi, e->pbuf, &size, 0, img->data, (png_int_32)img->stride, NULL)) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "PNG encoding failed: %s", pi.message[0] ? pi.message : "buffer too small");
    png_image_free(&pi);
    return false;
  }
  *data = e->pbuf;
  *len = size;
  return true;
}

bool mhrfit_image_encoder_encode(mhrfit_image_encoder *e, const mhrfit_image *img, const unsigned char **data,
                                 size_t *len, mhrfit_error *err) {
  if (!e) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "no encoder");
  if (!mf_image_valid(img, err)) return false;
  return e->o.format == MHRFIT_IMAGE_PNG ? encode_png(e, img, data, len, err) : encode_jpeg(e, img, data, len, err);
}

bool mf_image_encoder_write(mhrfit_image_encoder *e, const char *path, const mhrfit_image *img, bool sync,
                            mhrfit_error *err) {
  const unsigned char *data;
  size_t len;
  if (!mhrfit_image_encoder_encode(e, img, &data, &len, err)) {
    mhrfit_error_prefix(err, "%s", path);
    return false;
  }
  mf_piece piece = {data, len};
  return mf_write_pieces_atomic(path, &piece, 1, sync ? MF_WRITE_SYNC : 0, NULL, err);
}

bool mhrfit_image_write(const char *path, const mhrfit_image *img, const mhrfit_image_write_options *o,
                        mhrfit_error *err) {
  mhrfit_image_write_options opt;
  if (o)
    opt = *o;
  else
    mhrfit_image_write_options_init(&opt);
  if (!path || !*path) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "no output path");
  if (opt.format == MHRFIT_IMAGE_AUTO && (opt.format = mhrfit_image_format_from_name(path)) == MHRFIT_IMAGE_AUTO)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT,
                       "%s: cannot tell the image format from the name (use .jpg, .jpeg or .png)", path);
  mhrfit_image_encoder *e = mhrfit_image_encoder_new(&opt, err);
  if (!e) return false;
  bool ok = mf_image_encoder_write(e, path, img, opt.sync, err);
  mhrfit_image_encoder_free(e);
  return ok;
}

char *mf_image_find(const char *dir, const char *stem, mhrfit_error *err) {
  static const char *const exts[] = {"jpg", "jpeg", "png", "JPG", "JPEG", "PNG"};
  for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
    char *p = mf_strdup_printf(err, "%s/%s.%s", dir, stem, exts[i]);
    if (!p) return NULL;
    if (mf_is_file(p)) return p;
    free(p);
  }
  return NULL;
}
