/* Internal pieces of the media module (images, videos, frame extraction). Not public. */
#ifndef MF_MEDIA_INTERNAL_H
#define MF_MEDIA_INTERNAL_H

#include <stdbool.h>

#include "mhrfit/error.h"
#include "mhrfit/media.h"

/* Checks that `img` is a usable image (channels 1/3/4, size within limits, stride, data);
 * MHRFIT_ERR_ARGUMENT or MHRFIT_ERR_LIMIT otherwise. */
bool mf_image_valid(const mhrfit_image *img, mhrfit_error *err);

/* mhrfit_image_new() with rows padded to a multiple of `align` bytes and `tail` spare bytes after
 * the last row (for converters that write whole SIMD blocks past a row's end). */
mhrfit_image *mf_image_new_padded(int width, int height, int channels, size_t align, size_t tail, mhrfit_error *err);

/* Converts one row of `width` pixels from src_channels (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA)
 * to dst_channels (1, 3 or 4): alpha dropped or set to 255, gray replicated, colour to gray by
 * the BT.601 luma weights. */
void mf_image_convert_row(const unsigned char *src, int src_channels, unsigned char *dst, int dst_channels, int width);

/* Encodes `img` with `e` and writes it to `path` atomically (fsynced when `sync`); errors are
 * prefixed with the path. */
bool mf_image_encoder_write(mhrfit_image_encoder *e, const char *path, const mhrfit_image *img, bool sync,
                            mhrfit_error *err);

/* The picture `<dir>/<stem>.jpg` (else .jpeg, .png, .JPG, .JPEG, .PNG: the first that is a regular
 * file) as a new string; NULL when there is none (err untouched) or out of memory (err set). */
char *mf_image_find(const char *dir, const char *stem, mhrfit_error *err);

/* Once, when the caller left FFmpeg's logging at its default (readers and writers call it when
 * they are made): FFmpeg's messages below errors are dropped and its errors are kept (per thread)
 * for mf_fail_av() instead of being printed without the file's name. */
void mf_quiet_ffmpeg(void);

/* Fails with "PATH: WHAT: <FFmpeg's text for rc>", and FFmpeg's last error message of this thread
 * when there is one (then forgotten). */
void mf_fail_av(mhrfit_error *err, mhrfit_error_type type, const char *path, const char *what, int rc);

/* Forgets FFmpeg's last error message of this thread (before an operation whose failure is told). */
void mf_av_message_clear(void);

#endif
