/**
 * @file media.h
 * @brief Pictures and videos: 8-bit images read from and written to JPEG (libjpeg-turbo) and PNG
 *        (libpng).
 *
 * ## Images
 *
 * An mhrfit_image is a top-down, row-major block of 8-bit samples: `channels` interleaved samples
 * per pixel (1 gray, 3 RGB, 4 RGBA), row `y` starting at `data + y * stride`. Pixel (x, y) has its
 * centre at (x + 0.5, y + 0.5) in the image coordinates of the camera model; (0, 0) is the
 * top-left corner of the top-left pixel.
 *
 * Reading recognises the format by content (JPEG starts with `FF D8 FF`, PNG with its 8-byte
 * signature), whatever the file name. JPEG: baseline and progressive, gray, YCbCr, RGB; CMYK is
 * refused; the EXIF orientation tag is not applied (the pixels are returned as stored). A JPEG
 * decoder warning (for instance "premature end of JPEG file" of a truncated file) is an error:
 * a damaged picture never comes back silently half gray. PNG: every colour type and bit depth;
 * 16-bit samples are reduced to 8 bits and palettes expanded by libpng's simplified API (which
 * also converts a file gamma other than sRGB's to sRGB). Images larger than
 * MHRFIT_IMAGE_MAX_PIXELS are refused before any pixel memory is allocated.
 *
 * Writing encodes into memory and then writes the file atomically (a temporary file renamed into
 * place), so that a reader never sees a partial picture. JPEG: RGB/RGBA written as YCbCr with
 * 4:2:0 chroma subsampling by default (`subsampling` 444 keeps full chroma), gray as gray, alpha
 * dropped; `quality` 1..100. PNG: 8-bit gray, RGB or RGBA, lossless (`png_fast` trades size
 * for speed).
 */
#ifndef MHRFIT_MEDIA_H
#define MHRFIT_MEDIA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mhrfit/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------- images */

/** Largest image accepted by the readers and mhrfit_image_new(): width * height pixels. */
#define MHRFIT_IMAGE_MAX_PIXELS (1L << 27)

/** An 8-bit image; see the file comment for the layout. */
typedef struct mhrfit_image {
  int width;           /**< pixels per row, >= 1 */
  int height;          /**< rows, >= 1 */
  int channels;        /**< samples per pixel: 1 gray, 3 RGB, 4 RGBA */
  size_t stride;       /**< bytes from one row to the next, >= width * channels */
  unsigned char *data; /**< height * stride bytes */
} mhrfit_image;

/** Image file formats. */
typedef enum mhrfit_image_format {
  MHRFIT_IMAGE_AUTO = 0, /**< writing: from the file name's extension; reading: by content */
  MHRFIT_IMAGE_JPEG,     /**< JPEG (libjpeg-turbo) */
  MHRFIT_IMAGE_PNG       /**< PNG (libpng) */
} mhrfit_image_format;

/**
 * A new image of `width` x `height` pixels and `channels` (1, 3 or 4) samples per pixel, all
 * samples 0, rows packed (`stride = width * channels`). MHRFIT_ERR_ARGUMENT for sizes below 1
 * or other channel counts, MHRFIT_ERR_LIMIT above MHRFIT_IMAGE_MAX_PIXELS. Free with
 * mhrfit_image_free().
 */
mhrfit_image *mhrfit_image_new(int width, int height, int channels, mhrfit_error *err);

/** Frees an image and its pixels. NULL is allowed. */
void mhrfit_image_free(mhrfit_image *img);

/**
 * The format of an encoded picture from its first bytes (MHRFIT_IMAGE_AUTO when neither JPEG
 * nor PNG).
 */
mhrfit_image_format mhrfit_image_sniff(const void *data, size_t len);

/**
 * The format that a file name asks for by its extension, case-insensitive: `.jpg`/`.jpeg` JPEG,
 * `.png` PNG, anything else MHRFIT_IMAGE_AUTO.
 */
mhrfit_image_format mhrfit_image_format_from_name(const char *path);

/** "jpg", "png" or "auto". Never NULL. */
const char *mhrfit_image_format_name(mhrfit_image_format f);

/**
 * Decodes an encoded JPEG or PNG picture held in memory. `channels` 1, 3 or 4 converts to gray
 * (for colour pictures the luma Y = 0.299 R + 0.587 G + 0.114 B as the codec computes it), RGB
 * (gray replicated; alpha dropped) or RGBA (alpha 255 where the picture has none); 0 keeps the
 * picture's own kind (gray, RGB, or RGBA for PNG with transparency). `name` (may be NULL) names
 * the picture in error messages. Errors: MHRFIT_ERR_FORMAT (not a JPEG/PNG, damaged or truncated
 * data, with the codec's message), MHRFIT_ERR_UNSUPPORTED (CMYK JPEG), MHRFIT_ERR_LIMIT (too
 * many pixels), MHRFIT_ERR_ARGUMENT (bad `channels`). Caller owns the result.
 */
mhrfit_image *mhrfit_image_decode(const void *data, size_t len, int channels, const char *name, mhrfit_error *err);

/** Reads and decodes a picture file (mhrfit_image_decode(); MHRFIT_ERR_IO naming `path`). */
mhrfit_image *mhrfit_image_read(const char *path, int channels, mhrfit_error *err);

/**
 * Width, height and format of a picture file from its header, without decoding the pixels.
 * Any of `width`, `height`, `format` may be NULL. Errors as mhrfit_image_read().
 */
bool mhrfit_image_probe(const char *path, int *width, int *height, mhrfit_image_format *format, mhrfit_error *err);

/** How pictures are encoded. Initialise with mhrfit_image_write_options_init(). */
typedef struct mhrfit_image_write_options {
  mhrfit_image_format format; /**< MHRFIT_IMAGE_AUTO: from the file name (writing), JPEG (encoding) */
  int quality;                /**< JPEG quality 1..100; default 95 */
  int subsampling;            /**< JPEG chroma subsampling of colour pictures: 420 (default) or 444 */
  bool png_fast;              /**< PNG: faster, larger files (libpng's PNG_IMAGE_FLAG_FAST); default false */
  bool sync;                  /**< writing: fsync the file before it is renamed into place; default false */
} mhrfit_image_write_options;

/** Fills `o` with the defaults: format from the name, quality 95, 4:2:0, no fsync. */
void mhrfit_image_write_options_init(mhrfit_image_write_options *o);

/**
 * An encoder that keeps its codec state and output buffer from one picture to the next (for
 * frames of a video: no allocation per picture once the buffer has grown). Not thread-safe:
 * one encoder per thread.
 */
typedef struct mhrfit_image_encoder mhrfit_image_encoder;

/**
 * A new encoder with options `o` (NULL = defaults; MHRFIT_IMAGE_AUTO means JPEG). Errors:
 * MHRFIT_ERR_ARGUMENT (quality outside 1..100, subsampling not 420 or 444).
 */
mhrfit_image_encoder *mhrfit_image_encoder_new(const mhrfit_image_write_options *o, mhrfit_error *err);

/**
 * Encodes `img` into the encoder's buffer: `*data` and `*len` stay valid until the next call or
 * mhrfit_image_encoder_free(). MHRFIT_ERR_ARGUMENT for an invalid image, MHRFIT_ERR_FORMAT when
 * the codec fails (its message).
 */
bool mhrfit_image_encoder_encode(mhrfit_image_encoder *enc, const mhrfit_image *img, const unsigned char **data,
                                 size_t *len, mhrfit_error *err);

/** Frees an encoder. NULL is allowed. */
void mhrfit_image_encoder_free(mhrfit_image_encoder *enc);

/**
 * Writes `img` to `path` atomically in the format of `o->format`, or of the file name's
 * extension when that is MHRFIT_IMAGE_AUTO (MHRFIT_ERR_ARGUMENT when the name has none of
 * `.jpg .jpeg .png`). `o` NULL = defaults. MHRFIT_ERR_IO names `path`.
 */
bool mhrfit_image_write(const char *path, const mhrfit_image *img, const mhrfit_image_write_options *o,
                        mhrfit_error *err);

#ifdef __cplusplus
}
#endif
#endif
