/* Video decoding with libavformat / libavcodec / libswscale. See include/mhrfit/media.h. */
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/mem.h"
#include "media/media_internal.h"
#include "mhrfit/media.h"

/* Packets whose timestamps are reordered to presentation order during the scan (B-frame
 * reordering depth is at most 16 in H.264/HEVC). */
#define SCAN_WINDOW 32

void mhrfit_video_options_init(mhrfit_video_options *o) {
  memset(o, 0, sizeof *o);
  o->threads = 1;
  o->rotation = MHRFIT_ROTATION_APPLY;
  o->scan = true;
}

struct mhrfit_video_reader {
  char *path;
  mhrfit_video_options o;
  mhrfit_video_info info;
  AVFormatContext *fmt;
  AVCodecContext *dec;
  AVStream *st;
  AVPacket *pkt;
  AVFrame *frame;
  struct SwsContext *sws;
  int sws_w, sws_h, sws_fmt, sws_cs, sws_range;
  mhrfit_image *rgb; /* the frame as stored */
  mhrfit_image *rot; /* rotated, when a rotation is applied */
  long long next_index;
  bool flushing, done, failed;
  mhrfit_error failure;
};

/* FFmpeg's last error message on this thread (mf_quiet_ffmpeg()): said in our error instead of
 * on stderr, where it would come without the file's name. */
static _Thread_local char last_av_message[400];

static void keep_av_message(void *avcl, int level, const char *fmt, va_list vl) {
  if (level > AV_LOG_ERROR) return;
  int prefix = 0;
  char line[sizeof last_av_message];
  av_log_format_line2(avcl, level, fmt, vl, line, sizeof line, &prefix);
  size_t n = strlen(line);
  while (n && (line[n - 1] == '\n' || line[n - 1] == ' ')) line[--n] = '\0';
  if (n) memcpy(last_av_message, line, n + 1);
}

void mf_av_message_clear(void) { last_av_message[0] = '\0'; }

void mf_fail_av(mhrfit_error *err, mhrfit_error_type type, const char *path, const char *what, int rc) {
  char msg[AV_ERROR_MAX_STRING_SIZE] = "";
  av_strerror(rc, msg, sizeof msg);
  if (last_av_message[0])
    MHRFIT_FAIL(err, type, "%s: %s: %s (FFmpeg: %s)", path, what, msg, last_av_message);
  else
    MHRFIT_FAIL(err, type, "%s: %s: %s", path, what, msg);
  mf_av_message_clear();
}

static void take_av_log(void) {
  if (av_log_get_level() != AV_LOG_INFO) return; /* the caller set FFmpeg's logging up: left alone */
  av_log_set_level(AV_LOG_ERROR);
  av_log_set_callback(keep_av_message);
}

void mf_quiet_ffmpeg(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, take_av_log);
}

/* Opens `path` and finds the best video stream and its decoder. */
static bool open_input(const char *path, AVFormatContext **fmt, int *index, const AVCodec **codec, mhrfit_error *err) {
  struct stat st;
  if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0)
    return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: an empty file (0 bytes), not a video", path);
  mf_av_message_clear();
  int rc = avformat_open_input(fmt, path, NULL, NULL);
  if (rc < 0) {
    mf_fail_av(err, rc == AVERROR_INVALIDDATA ? MHRFIT_ERR_FORMAT : MHRFIT_ERR_IO, path, "cannot open the video", rc);
    return false;
  }
  if ((rc = avformat_find_stream_info(*fmt, NULL)) < 0) {
    mf_fail_av(err, MHRFIT_ERR_FORMAT, path, "cannot read the stream information", rc);
    return false;
  }
  rc = av_find_best_stream(*fmt, AVMEDIA_TYPE_VIDEO, -1, -1, codec, 0);
  if (rc == AVERROR_STREAM_NOT_FOUND) return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: no video stream", path);
  if (rc == AVERROR_DECODER_NOT_FOUND || (rc >= 0 && !*codec)) {
    const AVCodecDescriptor *d = rc >= 0 ? avcodec_descriptor_get((*fmt)->streams[rc]->codecpar->codec_id) : NULL;
    return MHRFIT_FAIL(err, MHRFIT_ERR_UNSUPPORTED, "%s: no decoder for its video codec%s%s", path, d ? " " : "",
                       d ? d->name : "");
  }
  if (rc < 0) {
    mf_fail_av(err, MHRFIT_ERR_FORMAT, path, "cannot select the video stream", rc);
    return false;
  }
  *index = rc;
  for (unsigned i = 0; i < (*fmt)->nb_streams; i++)
    if ((int)i != rc) (*fmt)->streams[i]->discard = AVDISCARD_ALL;
  return true;
}

/* ---- the scan ----------------------------------------------------------------------------- */

typedef struct scan_state {
  int64_t window[SCAN_WINDOW];
  int n;
  int64_t last;
  bool have_last, no_pts;
  int64_t min_delta, max_delta;
} scan_state;

static void scan_emit(scan_state *s, int64_t pts) {
  if (s->have_last && pts > s->last) {
    int64_t d = pts - s->last;
    if (s->min_delta < 0 || d < s->min_delta) s->min_delta = d;
    if (d > s->max_delta) s->max_delta = d;
  }
  if (!s->have_last || pts > s->last) s->last = pts;
  s->have_last = true;
}

/* Pushes a timestamp; when the window is full the smallest leaves it in presentation order. */
static void scan_push(scan_state *s, int64_t pts) {
  if (s->n == SCAN_WINDOW) {
    int m = 0;
    for (int i = 1; i < s->n; i++)
      if (s->window[i] < s->window[m]) m = i;
    scan_emit(s, s->window[m]);
    s->window[m] = s->window[--s->n];
  }
  s->window[s->n++] = pts;
}

static void scan_drain(scan_state *s) {
  while (s->n > 0) {
    int m = 0;
    for (int i = 1; i < s->n; i++)
      if (s->window[i] < s->window[m]) m = i;
    scan_emit(s, s->window[m]);
    s->window[m] = s->window[--s->n];
  }
}

static bool scan_video(mhrfit_video_reader *r, mhrfit_error *err) {
  AVFormatContext *fmt = NULL;
  const AVCodec *codec = NULL;
  int index = -1;
  AVPacket *pkt = av_packet_alloc();
  scan_state s;
  memset(&s, 0, sizeof s);
  s.min_delta = -1;
  long long count = 0;
  bool ok = false;
  if (!pkt) {
    MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
    goto done;
  }
  if (!open_input(r->path, &fmt, &index, &codec, err)) goto done;
  if (index != r->info.stream_index) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: the video stream changed between two openings", r->path);
    goto done;
  }
  int rc;
  while ((rc = av_read_frame(fmt, pkt)) >= 0) {
    if (pkt->stream_index == index && !(pkt->flags & AV_PKT_FLAG_DISCARD)) {
      count++;
      if (pkt->pts == AV_NOPTS_VALUE)
        s.no_pts = true;
      else if (!s.no_pts)
        scan_push(&s, pkt->pts);
    }
    av_packet_unref(pkt);
  }
  if (rc != AVERROR_EOF) {
    char what[96];
    snprintf(what, sizeof what, "read error after %lld frames", count);
    mf_fail_av(err, MHRFIT_ERR_IO, r->path, what, rc);
    goto done;
  }
  scan_drain(&s);
  r->info.frame_count = count;
  r->info.scanned = true;
  if (!s.no_pts && s.min_delta > 0) {
    double tb = (double)r->info.time_base_num / r->info.time_base_den;
    r->info.min_interval = (double)s.min_delta * tb;
    r->info.max_interval = (double)s.max_delta * tb;
    r->info.vfr = (double)s.max_delta > 1.5 * (double)s.min_delta && s.max_delta - s.min_delta > 2;
  }
  ok = true;
done:
  av_packet_free(&pkt);
  avformat_close_input(&fmt);
  return ok;
}

/* ---- opening ------------------------------------------------------------------------------ */

static void copy_name(char *dst, size_t size, const char *s) { snprintf(dst, size, "%s", s ? s : ""); }

/* Clockwise degrees of the stream's display matrix; false when it mirrors or is not a quarter
 * turn (the angle in *odd). */
static bool display_rotation(const AVStream *st, int *cw, double *odd) {
  *cw = 0;
  *odd = 0;
  const int32_t *m = (const int32_t *)av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, NULL);
  if (!m) return true;
  double ccw = av_display_rotation_get(m);
  if (isnan(ccw)) return false;
  double theta = fmod(-ccw + 360.0, 360.0);
  double q = round(theta / 90.0) * 90.0;
  *odd = theta;
  /* mirrored: the 2x2 part has a negative determinant */
  double det = (double)m[0] * m[4] - (double)m[1] * m[3];
  if (fabs(theta - q) > 1.0 || det < 0) return false;
  *cw = (int)q % 360;
  return true;
}

mhrfit_video_reader *mhrfit_video_reader_new(const char *path, const mhrfit_video_options *o, mhrfit_error *err) {
  if (!path || !*path) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "no video path");
    return NULL;
  }
  mf_quiet_ffmpeg();
  mhrfit_video_reader *r = calloc(1, sizeof *r);
  if (!r || !(r->path = mf_strdup(path, err))) {
    if (!r) MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
    free(r);
    return NULL;
  }
  if (o)
    r->o = *o;
  else
    mhrfit_video_options_init(&r->o);
  mhrfit_video_info *in = &r->info;
  in->frame_count = in->header_frame_count = -1;
  in->fps = in->start_time = in->duration = in->min_interval = in->max_interval = NAN;
  in->fps_den = in->sar_den = 1;
  const AVCodec *codec = NULL;
  int index = -1;
  if (!open_input(path, &r->fmt, &index, &codec, err)) goto fail;
  r->st = r->fmt->streams[index];
  const AVCodecParameters *par = r->st->codecpar;
  in->stream_index = index;
  copy_name(in->codec, sizeof in->codec, codec->name);
  copy_name(in->container, sizeof in->container, r->fmt->iformat->name);
  copy_name(in->pixel_format, sizeof in->pixel_format, av_get_pix_fmt_name((enum AVPixelFormat)par->format));
  in->stored_width = par->width;
  in->stored_height = par->height;
  in->time_base_num = r->st->time_base.num;
  in->time_base_den = r->st->time_base.den;
  if (in->time_base_num <= 0 || in->time_base_den <= 0) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: invalid time base %d/%d", path, in->time_base_num, in->time_base_den);
    goto fail;
  }
  AVRational fr =
      r->st->avg_frame_rate.num > 0 && r->st->avg_frame_rate.den > 0 ? r->st->avg_frame_rate : r->st->r_frame_rate;
  if (fr.num > 0 && fr.den > 0) {
    in->fps_num = fr.num;
    in->fps_den = fr.den;
    in->fps = av_q2d(fr);
  }
  if (r->st->nb_frames > 0) in->header_frame_count = in->frame_count = r->st->nb_frames;
  if (r->st->start_time != AV_NOPTS_VALUE) in->start_time = (double)r->st->start_time * av_q2d(r->st->time_base);
  if (r->st->duration != AV_NOPTS_VALUE && r->st->duration > 0)
    in->duration = (double)r->st->duration * av_q2d(r->st->time_base);
  else if (r->fmt->duration != AV_NOPTS_VALUE && r->fmt->duration > 0)
    in->duration = (double)r->fmt->duration / AV_TIME_BASE;
  if (par->sample_aspect_ratio.num > 0 && par->sample_aspect_ratio.den > 0) {
    in->sar_num = par->sample_aspect_ratio.num;
    in->sar_den = par->sample_aspect_ratio.den;
  }
  double angle;
  bool quarter = display_rotation(r->st, &in->rotation, &angle);
  if (r->o.rotation != MHRFIT_ROTATION_IGNORE) {
    if (!quarter) {
      MHRFIT_FAIL(err, MHRFIT_ERR_UNSUPPORTED,
                  "%s: its display matrix %s (%.1f degrees); only quarter turns can be applied "
                  "(ignore the rotation to read the frames as stored)",
                  path, isnan(angle) ? "is invalid" : "mirrors or turns by other than a quarter", angle);
      goto fail;
    }
    if (in->rotation && r->o.rotation == MHRFIT_ROTATION_REFUSE) {
      MHRFIT_FAIL(err, MHRFIT_ERR_UNSUPPORTED,
                  "%s: the video is displayed rotated by %d degrees clockwise (display matrix); "
                  "apply or ignore the rotation to read it",
                  path, in->rotation);
      goto fail;
    }
    in->rotation_applied = in->rotation != 0;
  }
  bool swap = in->rotation_applied && (in->rotation == 90 || in->rotation == 270);
  in->width = swap ? in->stored_height : in->stored_width;
  in->height = swap ? in->stored_width : in->stored_height;
  if (r->o.scan && !scan_video(r, err)) goto fail;
  if (!(r->dec = avcodec_alloc_context3(codec)) || !(r->pkt = av_packet_alloc()) || !(r->frame = av_frame_alloc())) {
    MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
    goto fail;
  }
  int rc = avcodec_parameters_to_context(r->dec, par);
  if (rc >= 0) {
    r->dec->pkt_timebase = r->st->time_base;
    r->dec->thread_count = r->o.threads < 0 ? 1 : r->o.threads;
    rc = avcodec_open2(r->dec, codec, NULL);
  }
  if (rc < 0) {
    mf_fail_av(err, MHRFIT_ERR_UNSUPPORTED, path, "cannot start the decoder", rc);
    goto fail;
  }
  return r;
fail:
  mhrfit_video_reader_free(r);
  return NULL;
}

const mhrfit_video_info *mhrfit_video_reader_info(const mhrfit_video_reader *r) { return r ? &r->info : NULL; }

long long mhrfit_video_reader_frames_read(const mhrfit_video_reader *r) { return r ? r->next_index : 0; }

void mhrfit_video_reader_free(mhrfit_video_reader *r) {
  if (!r) return;
  sws_freeContext(r->sws);
  av_frame_free(&r->frame);
  av_packet_free(&r->pkt);
  avcodec_free_context(&r->dec);
  avformat_close_input(&r->fmt);
  mhrfit_image_free(r->rgb);
  mhrfit_image_free(r->rot);
  free(r->path);
  free(r);
}

/* ---- decoding ----------------------------------------------------------------------------- */

static int sws_matrix(enum AVColorSpace cs) {
  switch (cs) {
  case AVCOL_SPC_BT709: return SWS_CS_ITU709;
  case AVCOL_SPC_FCC: return SWS_CS_FCC;
  case AVCOL_SPC_SMPTE240M: return SWS_CS_SMPTE240M;
  case AVCOL_SPC_BT2020_NCL:
  case AVCOL_SPC_BT2020_CL: return SWS_CS_BT2020;
  default: return SWS_CS_ITU601;
  }
}

/* Rotates src clockwise by `cw` degrees into dst (sized accordingly), in 32-pixel tiles. */
static void rotate_rgb(const mhrfit_image *src, mhrfit_image *dst, int cw) {
  int w = src->width, h = src->height;
  for (int y0 = 0; y0 < h; y0 += 32)
    for (int x0 = 0; x0 < w; x0 += 32)
      for (int y = y0; y < y0 + 32 && y < h; y++) {
        const unsigned char *s = src->data + (size_t)y * src->stride + (size_t)x0 * 3;
        for (int x = x0; x < x0 + 32 && x < w; x++, s += 3) {
          int dx, dy;
          if (cw == 90)
            dx = h - 1 - y, dy = x;
          else if (cw == 180)
            dx = w - 1 - x, dy = h - 1 - y;
          else
            dx = y, dy = w - 1 - x;
          memcpy(dst->data + (size_t)dy * dst->stride + (size_t)dx * 3, s, 3);
        }
      }
}

static bool reader_fail(mhrfit_video_reader *r, mhrfit_error *err) {
  r->failed = true;
  if (err) r->failure = *err;
  return false;
}

static bool convert_frame(mhrfit_video_reader *r, const AVFrame *f, mhrfit_error *err) {
  int w = f->width, h = f->height;
  /* libswscale's SIMD output may run a few blocks past a row's end: padded rows and a spare tail */
  if (!r->rgb && !(r->rgb = mf_image_new_padded(w, h, 3, 64, 256, err))) return false;
  int cs = sws_matrix(f->colorspace);
  int full = f->color_range == AVCOL_RANGE_JPEG;
  if (!r->sws || r->sws_w != w || r->sws_h != h || r->sws_fmt != f->format || r->sws_cs != cs || r->sws_range != full) {
    r->sws = sws_getCachedContext(r->sws, w, h, (enum AVPixelFormat)f->format, w, h, AV_PIX_FMT_RGB24, SWS_BICUBIC,
                                  NULL, NULL, NULL);
    if (!r->sws)
      return MHRFIT_FAIL(err, MHRFIT_ERR_UNSUPPORTED, "%s: cannot convert pixel format %s to RGB", r->path,
                         av_get_pix_fmt_name((enum AVPixelFormat)f->format));
    /* the frame's YUV matrix and range; RGB out in full range */
    sws_setColorspaceDetails(r->sws, sws_getCoefficients(cs), full, sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16,
                             1 << 16);
    r->sws_w = w;
    r->sws_h = h;
    r->sws_fmt = f->format;
    r->sws_cs = cs;
    r->sws_range = full;
  }
  uint8_t *dst[4] = {r->rgb->data, NULL, NULL, NULL};
  int dst_stride[4] = {(int)r->rgb->stride, 0, 0, 0};
  if (sws_scale(r->sws, (const uint8_t *const *)f->data, f->linesize, 0, h, dst, dst_stride) != h)
    return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: frame %lld: colour conversion failed", r->path, r->next_index);
  if (r->info.rotation_applied) {
    if (!r->rot && !(r->rot = mhrfit_image_new(r->info.width, r->info.height, 3, err))) return false;
    rotate_rgb(r->rgb, r->rot, r->info.rotation);
  }
  return true;
}

/* Fills `out` from the decoded r->frame. */
static bool deliver(mhrfit_video_reader *r, bool want_image, mhrfit_video_frame *out, mhrfit_error *err) {
  AVFrame *f = r->frame;
  if (r->next_index == 0 && (r->info.stored_width != f->width || r->info.stored_height != f->height)) {
    /* some containers give no size, or another than the stream's: the first frame tells */
    bool swap = r->info.rotation_applied && (r->info.rotation == 90 || r->info.rotation == 270);
    r->info.stored_width = f->width;
    r->info.stored_height = f->height;
    r->info.width = swap ? f->height : f->width;
    r->info.height = swap ? f->width : f->height;
  }
  if (f->width != r->info.stored_width || f->height != r->info.stored_height)
    return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: frame %lld is %dx%d, the video's frames are %dx%d", r->path,
                       r->next_index, f->width, f->height, r->info.stored_width, r->info.stored_height);
  memset(out, 0, sizeof *out);
  out->index = r->next_index;
  out->pts = f->best_effort_timestamp != AV_NOPTS_VALUE ? f->best_effort_timestamp : INT64_MIN;
  out->time = out->pts != INT64_MIN ? (double)out->pts * r->info.time_base_num / r->info.time_base_den : NAN;
  out->corrupt = (f->flags & AV_FRAME_FLAG_CORRUPT) != 0 || f->decode_error_flags != 0;
  if (want_image) {
    if (!convert_frame(r, f, err)) return false;
    out->image = r->info.rotation_applied ? r->rot : r->rgb;
  }
  r->next_index++;
  return true;
}

bool mhrfit_video_reader_next(mhrfit_video_reader *r, bool want_image, mhrfit_video_frame *frame, bool *got,
                              mhrfit_error *err) {
  *got = false;
  if (!r) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "no video reader");
  if (r->failed) {
    if (err) *err = r->failure;
    return false;
  }
  if (r->done) return true;
  for (;;) {
    int rc = avcodec_receive_frame(r->dec, r->frame);
    if (rc == 0) {
      bool ok = deliver(r, want_image, frame, err);
      av_frame_unref(r->frame);
      if (!ok) return reader_fail(r, err);
      *got = true;
      return true;
    }
    if (rc == AVERROR_EOF) {
      r->done = true;
      return true;
    }
    if (rc != AVERROR(EAGAIN)) {
      char what[64];
      snprintf(what, sizeof what, "decoding failed after frame %lld", r->next_index);
      mf_fail_av(err, MHRFIT_ERR_FORMAT, r->path, what, rc);
      return reader_fail(r, err);
    }
    if (r->flushing) { /* a decoder that wants more after the flush: nothing more will come */
      r->done = true;
      return true;
    }
    rc = av_read_frame(r->fmt, r->pkt);
    if (rc == AVERROR_EOF) {
      r->flushing = true;
      rc = avcodec_send_packet(r->dec, NULL);
    } else if (rc < 0) {
      char what[64];
      snprintf(what, sizeof what, "read error after frame %lld", r->next_index);
      mf_fail_av(err, MHRFIT_ERR_IO, r->path, what, rc);
      return reader_fail(r, err);
    } else if (r->pkt->stream_index != r->info.stream_index) {
      av_packet_unref(r->pkt);
      continue;
    } else {
      rc = avcodec_send_packet(r->dec, r->pkt);
      av_packet_unref(r->pkt);
    }
    if (rc < 0 && rc != AVERROR_EOF) {
      char what[64];
      snprintf(what, sizeof what, "decoding failed after frame %lld", r->next_index);
      mf_fail_av(err, MHRFIT_ERR_FORMAT, r->path, what, rc);
      return reader_fail(r, err);
    }
  }
}
