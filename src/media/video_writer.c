/* Video encoding with libavcodec / libavformat / libswscale. See include/mhrfit/media.h. */
#include <errno.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/file.h"
#include "common/mem.h"
#include "media/media_internal.h"
#include "mhrfit/media.h"

void mhrfit_video_writer_options_init(mhrfit_video_writer_options *o) {
  memset(o, 0, sizeof *o);
  o->fps = 30.0;
  o->crf = 20;
  o->preset = "veryfast";
  o->threads = 1;
}

struct mhrfit_video_writer {
  mf_atomic_file file;
  AVFormatContext *fmt;
  AVIOContext *io;
  unsigned char *io_buf;
  AVCodecContext *enc;
  AVStream *st;
  AVFrame *frame;
  AVPacket *pkt;
  struct SwsContext *sws;
  int width, height;      /* of the pictures written */
  int enc_w, enc_h;       /* of the encoded frames (even) */
  mhrfit_image *pad;      /* a picture padded to the encoded size (odd sizes only) */
  long long frames;
  char codec[32];
  char note[256];
  bool header, finished, failed;
};

/* The muxer writes through the temporary file of the atomic write. */
#if LIBAVFORMAT_VERSION_MAJOR >= 61
static int io_write(void *opaque, const uint8_t *buf, int size) {
#else
static int io_write(void *opaque, uint8_t *buf, int size) {
#endif
  FILE *f = opaque;
  return fwrite(buf, 1, (size_t)size, f) == (size_t)size ? size : AVERROR(EIO);
}

static int64_t io_seek(void *opaque, int64_t offset, int whence) {
  FILE *f = opaque;
  if (whence & AVSEEK_SIZE) {
    off_t here = ftello(f);
    if (here < 0 || fseeko(f, 0, SEEK_END) != 0) return AVERROR(EIO);
    off_t end = ftello(f);
    if (fseeko(f, here, SEEK_SET) != 0) return AVERROR(EIO);
    return end;
  }
  whence &= ~AVSEEK_FORCE;
  if (fseeko(f, (off_t)offset, whence) != 0) return AVERROR(EIO);
  return ftello(f);
}

/* The encoder to use: `name` when given (an error when this FFmpeg lacks it), else libx264, else
 * FFmpeg's own MPEG-4 Part 2 encoder with a note saying why. */
static const AVCodec *pick_encoder(const char *name, char *note, size_t note_size, const char *path,
                                   mhrfit_error *err) {
  const AVCodec *c;
  if (name && *name) {
    c = avcodec_find_encoder_by_name(name);
    if (!c || c->type != AVMEDIA_TYPE_VIDEO) {
      MHRFIT_FAIL(err, MHRFIT_ERR_UNSUPPORTED, "%s: this FFmpeg has no video encoder '%s' (ffmpeg -encoders lists them)",
                  path, name);
      return NULL;
    }
    return c;
  }
  if ((c = avcodec_find_encoder_by_name("libx264")) != NULL) return c;
  if ((c = avcodec_find_encoder(AV_CODEC_ID_MPEG4)) != NULL) {
    snprintf(note, note_size, "this FFmpeg has no libx264 (H.264) encoder: writing MPEG-4 Part 2 (%s) instead",
             c->name);
    return c;
  }
  MHRFIT_FAIL(err, MHRFIT_ERR_UNSUPPORTED, "%s: this FFmpeg has neither the libx264 nor the mpeg4 encoder", path);
  return NULL;
}

/* Sets up the encoder context for `codec`; its private options when it is libx264. */
static bool open_encoder(mhrfit_video_writer *w, const AVCodec *codec, const mhrfit_video_writer_options *o,
                         const char *path, mhrfit_error *err) {
  AVCodecContext *c = w->enc = avcodec_alloc_context3(codec);
  if (!c) return MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "%s: out of memory", path);
  AVRational rate = av_d2q(o->fps, 1000000);
  c->width = w->enc_w;
  c->height = w->enc_h;
  c->time_base = av_inv_q(rate);
  c->framerate = rate;
  c->pix_fmt = AV_PIX_FMT_YUV420P;
  c->color_range = AVCOL_RANGE_MPEG;
  c->colorspace = AVCOL_SPC_BT709;
  c->color_primaries = AVCOL_PRI_BT709;
  c->color_trc = AVCOL_TRC_BT709;
  c->sample_aspect_ratio = (AVRational){1, 1};
  c->thread_count = o->threads;
  if (w->fmt->oformat->flags & AVFMT_GLOBALHEADER) c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  AVDictionary *opts = NULL;
  if (strcmp(codec->name, "libx264") == 0) {
    char crf[16];
    snprintf(crf, sizeof crf, "%d", o->crf);
    av_dict_set(&opts, "crf", crf, 0);
    if (o->preset && *o->preset) av_dict_set(&opts, "preset", o->preset, 0);
  } else if (codec->id == AV_CODEC_ID_MPEG4 || codec->id == AV_CODEC_ID_MPEG2VIDEO || codec->id == AV_CODEC_ID_MJPEG) {
    /* fixed quantiser 2 (best) .. 31: crf / 4 + 1, at least 2 (crf 20 gives 6) */
    c->flags |= AV_CODEC_FLAG_QSCALE;
    c->global_quality = FF_QP2LAMBDA * (o->crf / 4 + 1 < 2 ? 2 : o->crf / 4 + 1);
  }
  int rc = avcodec_open2(c, codec, &opts);
  if (opts) {
    const AVDictionaryEntry *e = av_dict_get(opts, "", NULL, AV_DICT_IGNORE_SUFFIX);
    av_dict_free(&opts);
    if (rc >= 0 && e) {
      return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "%s: encoder %s does not take the option %s=%s", path, codec->name,
                         e->key, e->value);
    }
  }
  if (rc < 0) {
    mf_fail_av(err, MHRFIT_ERR_UNSUPPORTED, path, "cannot open the video encoder", rc);
    mhrfit_error_prefix(err, "encoder %s", codec->name);
    return false;
  }
  return true;
}

mhrfit_video_writer *mhrfit_video_writer_new(const char *path, int width, int height,
                                             const mhrfit_video_writer_options *opts, mhrfit_error *err) {
  mhrfit_video_writer_options o;
  if (opts) o = *opts;
  else mhrfit_video_writer_options_init(&o);
  if (!path || !*path) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "no video file name given");
    return NULL;
  }
  if (width < 2 || height < 2 || width > 16384 || height > 16384) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "%s: video size %dx%d is out of range (2..16384)", path, width, height);
    return NULL;
  }
  if (!(o.fps > 0) || !(o.fps <= 1000)) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "%s: frame rate %g is out of range (0, 1000]", path, o.fps);
    return NULL;
  }
  if (o.crf < 0 || o.crf > 51 || o.threads < 0 || o.threads > 64) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "%s: crf must be within 0..51 and threads within 0..64", path);
    return NULL;
  }
  mhrfit_video_writer *w = mf_calloc_array(1, sizeof *w, err);
  if (!w) return NULL;
  mf_quiet_ffmpeg();
  w->width = width, w->height = height;
  w->enc_w = (width + 1) & ~1, w->enc_h = (height + 1) & ~1;
  int rc = av_guess_format(NULL, path, NULL) ? avformat_alloc_output_context2(&w->fmt, NULL, NULL, path) : -1;
  if (rc < 0 || !w->fmt) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "%s: no video container for this file name (use .mp4, .mkv, .mov or .avi)",
                path);
    goto fail;
  }
  const AVCodec *codec = pick_encoder(o.codec, w->note, sizeof w->note, path, err);
  if (!codec) goto fail;
  if (avformat_query_codec(w->fmt->oformat, codec->id, FF_COMPLIANCE_NORMAL) != 1) {
    MHRFIT_FAIL(err, MHRFIT_ERR_UNSUPPORTED, "%s: the %s container does not take %s video", path,
                w->fmt->oformat->name, codec->name);
    goto fail;
  }
  snprintf(w->codec, sizeof w->codec, "%s", codec->name);
  if (!open_encoder(w, codec, &o, path, err)) goto fail;
  if (!(w->st = avformat_new_stream(w->fmt, NULL)) || !(w->frame = av_frame_alloc()) || !(w->pkt = av_packet_alloc())) {
    MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "%s: out of memory", path);
    goto fail;
  }
  w->st->time_base = w->enc->time_base;
  w->st->avg_frame_rate = w->enc->framerate;
  if ((rc = avcodec_parameters_from_context(w->st->codecpar, w->enc)) < 0) {
    mf_fail_av(err, MHRFIT_ERR_FORMAT, path, "cannot describe the video stream", rc);
    goto fail;
  }
  w->frame->format = AV_PIX_FMT_YUV420P;
  w->frame->width = w->enc_w;
  w->frame->height = w->enc_h;
  w->frame->color_range = AVCOL_RANGE_MPEG;
  w->frame->colorspace = AVCOL_SPC_BT709;
  if ((rc = av_frame_get_buffer(w->frame, 0)) < 0) {
    mf_fail_av(err, MHRFIT_ERR_NOMEM, path, "cannot allocate a frame", rc);
    goto fail;
  }
  w->sws = sws_getContext(w->enc_w, w->enc_h, AV_PIX_FMT_RGB24, w->enc_w, w->enc_h, AV_PIX_FMT_YUV420P, SWS_BICUBIC,
                          NULL, NULL, NULL);
  if (!w->sws) {
    MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "%s: cannot set up the colour conversion", path);
    goto fail;
  }
  /* full-range RGB in, limited-range BT.709 YUV out (the tags written above) */
  sws_setColorspaceDetails(w->sws, sws_getCoefficients(SWS_CS_ITU709), 1, sws_getCoefficients(SWS_CS_ITU709), 0, 0,
                           1 << 16, 1 << 16);
  if ((width != w->enc_w || height != w->enc_h) && !(w->pad = mhrfit_image_new(w->enc_w, w->enc_h, 3, err))) goto fail;
  /* the file: a temporary beside `path`, renamed into place by mhrfit_video_writer_finish() */
  if (!mf_atomic_open(&w->file, path, err)) goto fail;
  if (!(w->io_buf = av_malloc(1 << 16)) ||
      !(w->io = avio_alloc_context(w->io_buf, 1 << 16, 1, w->file.f, NULL, io_write, io_seek))) {
    MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "%s: out of memory", path);
    goto fail;
  }
  w->io_buf = NULL; /* owned by the context now */
  w->fmt->pb = w->io;
  if ((rc = avformat_write_header(w->fmt, NULL)) < 0) {
    mf_fail_av(err, MHRFIT_ERR_IO, path, "cannot write the container header", rc);
    goto fail;
  }
  w->header = true;
  return w;
fail:
  mhrfit_video_writer_free(w);
  return NULL;
}

const char *mhrfit_video_writer_codec(const mhrfit_video_writer *w) { return w->codec; }

const char *mhrfit_video_writer_note(const mhrfit_video_writer *w) { return w->note; }

long long mhrfit_video_writer_frames(const mhrfit_video_writer *w) { return w->frames; }

/* Sends `frame` (NULL = flush) and writes every packet the encoder gives back. */
static bool drain(mhrfit_video_writer *w, AVFrame *frame, mhrfit_error *err) {
  int rc = avcodec_send_frame(w->enc, frame);
  if (rc < 0) {
    mf_fail_av(err, MHRFIT_ERR_FORMAT, w->file.path, "the encoder refused a frame", rc);
    return false;
  }
  for (;;) {
    rc = avcodec_receive_packet(w->enc, w->pkt);
    if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return true;
    if (rc < 0) {
      mf_fail_av(err, MHRFIT_ERR_FORMAT, w->file.path, "the encoder failed", rc);
      return false;
    }
    av_packet_rescale_ts(w->pkt, w->enc->time_base, w->st->time_base);
    w->pkt->stream_index = w->st->index;
    rc = av_interleaved_write_frame(w->fmt, w->pkt);
    av_packet_unref(w->pkt);
    if (rc < 0) {
      mf_fail_av(err, MHRFIT_ERR_IO, w->file.path, "cannot write a video packet", rc);
      return false;
    }
  }
}

bool mhrfit_video_writer_write(mhrfit_video_writer *w, const mhrfit_image *img, mhrfit_error *err) {
  if (w->failed || w->finished)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "%s: the video writer is %s", w->file.path,
                       w->finished ? "finished" : "in error");
  if (!mf_image_valid(img, err)) return false;
  if (img->width != w->width || img->height != w->height)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "%s: frame %lld is %dx%d, the video %dx%d", w->file.path, w->frames,
                       img->width, img->height, w->width, w->height);
  const mhrfit_image *src = img;
  if (img->channels != 3 || w->pad) { /* RGB at the encoded size: padding repeats the last column / row */
    mhrfit_image *p = w->pad;
    if (!p && !(p = w->pad = mhrfit_image_new(w->enc_w, w->enc_h, 3, err))) return false;
    for (int y = 0; y < w->enc_h; y++) {
      const unsigned char *row = img->data + (size_t)(y < img->height ? y : img->height - 1) * img->stride;
      unsigned char *d = p->data + (size_t)y * p->stride;
      mf_image_convert_row(row, img->channels, d, 3, img->width);
      if (w->enc_w > img->width) memcpy(d + 3 * img->width, d + 3 * (img->width - 1), 3);
    }
    src = p;
  }
  int rc = av_frame_make_writable(w->frame);
  if (rc < 0) {
    w->failed = true;
    mf_fail_av(err, MHRFIT_ERR_NOMEM, w->file.path, "cannot reuse the frame", rc);
    return false;
  }
  const uint8_t *in[4] = {src->data, NULL, NULL, NULL};
  int in_stride[4] = {(int)src->stride, 0, 0, 0};
  if (sws_scale(w->sws, in, in_stride, 0, w->enc_h, w->frame->data, w->frame->linesize) != w->enc_h) {
    w->failed = true;
    return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: colour conversion of frame %lld failed", w->file.path, w->frames);
  }
  w->frame->pts = w->frames;
  if (!drain(w, w->frame, err)) {
    w->failed = true;
    return false;
  }
  w->frames++;
  return true;
}

bool mhrfit_video_writer_finish(mhrfit_video_writer *w, mhrfit_error *err) {
  if (w->failed || w->finished)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "%s: the video writer is %s", w->file.path,
                       w->finished ? "finished" : "in error");
  w->failed = true; /* until the end */
  if (w->frames == 0) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "%s: no frame was written", w->file.path);
  if (!drain(w, NULL, err)) return false;
  int rc = av_write_trailer(w->fmt);
  if (rc < 0) {
    mf_fail_av(err, MHRFIT_ERR_IO, w->file.path, "cannot finish the container", rc);
    return false;
  }
  avio_flush(w->io);
  if (w->io->error < 0) {
    mf_fail_av(err, MHRFIT_ERR_IO, w->file.path, "write failed", w->io->error);
    return false;
  }
  w->header = false;
  if (!mf_atomic_commit(&w->file, err)) return false;
  w->failed = false;
  w->finished = true;
  return true;
}

void mhrfit_video_writer_free(mhrfit_video_writer *w) {
  if (!w) return;
  if (w->io) {
    av_freep(&w->io->buffer);
    avio_context_free(&w->io);
  }
  av_free(w->io_buf);
  if (w->fmt) {
    w->fmt->pb = NULL;
    avformat_free_context(w->fmt);
  }
  if (w->file.f || w->file.tmp_path) mf_atomic_abort(&w->file);
  avcodec_free_context(&w->enc);
  av_frame_free(&w->frame);
  av_packet_free(&w->pkt);
  sws_freeContext(w->sws);
  mhrfit_image_free(w->pad);
  free(w);
}
