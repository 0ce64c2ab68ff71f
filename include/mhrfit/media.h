/**
 * @file media.h
 * @brief Pictures and videos: 8-bit images read from and written to JPEG (libjpeg-turbo) and PNG
 *        (libpng); videos decoded frame by frame and encoded (H.264 by default) with FFmpeg's
 *        libraries.
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
 *
 * ## Videos
 *
 * A video reader decodes the main video stream of a file (FFmpeg's "best" stream) once, front to back, in presentation
 * order (no seeking), with libavformat/libavcodec, and converts each frame to RGB with libswscale
 * (the frame's own YUV matrix, BT.601 when it names none, and its range). Frame k is the k-th
 * frame the decoder delivers, counted from 0: the numbering of FFmpeg, PyAV and OpenCV.
 *
 * Before decoding, the reader *scans* the file (demuxing only, no decoding; cheap next to
 * decoding): the exact number of frames (packets of the stream that are not marked to be
 * discarded) whatever the container's header says, and the intervals between consecutive
 * presentation timestamps, reordered through a window of 32 packets, which tell a constant
 * from a variable frame rate: `vfr` is set when the longest interval exceeds 1.5 times the
 * shortest and differs from it by more than 2 time-base ticks (the rounding of timestamps
 * in a coarse time base, e.g. 16/17 ms at 60 fps in 1/1000 s, is not variable). A camera
 * that dropped frames while its recorder kept real timestamps shows as variable too.
 *
 * Rotation: a display matrix (the side data phones and some cameras write, e.g. "rotate 90")
 * is applied by default, so that frames come out as a player shows them, with `width` and
 * `height` swapped for 90 and 270 degrees; MHRFIT_ROTATION_IGNORE keeps the stored
 * orientation and MHRFIT_ROTATION_REFUSE makes a rotated video an error. A rotation that is
 * not a multiple of 90 degrees, or a mirrored matrix, is refused unless ignored.
 *
 * Memory is that of the decoder and one RGB frame (two when rotating), whatever the video's
 * length. FFmpeg's own log level is lowered to errors when the first reader is made if the
 * caller has left it at FFmpeg's default.
 *
 * ## Frames from videos (`mhrfit frames`)
 *
 * mhrfit_frames_extract() turns N camera videos into the capture layout that `mhrfit ingest`
 * and `mhrfit run` read, `<out>/<frame>/<cam>.jpg` (or `.png`), decoding each video once,
 * front to back, one video after the other, and writing every wanted frame as soon as it is
 * decoded (memory: one decoder and one frame, whatever the length). Which video frame of each
 * camera makes capture frame F is the *sync table*:
 *
 * - MHRFIT_SYNC_INDEX: row k is frame `k + offset[cam]` of every camera (offset 0 by default),
 *   named `%06d` of k. Rows run from the first k at which every camera has a frame (k = 0 unless
 *   an offset is negative) to the last such k (a warning names the cameras whose last frames
 *   are left out); an explicit `start`/`end` outside that range is an error unless gaps are
 *   allowed. Index sync pairs frames by position, so a video with a variable frame rate is
 *   refused unless `allow_vfr`.
 * - MHRFIT_SYNC_CSV: the per-tick table of the original Python system's frame extractor (an
 *   id column, optional `tick_video_ms`, one `<cam>_out_idx` column per camera): rows are named
 *   by their id; an empty or negative index is a gap for that camera (labelled, not an error).
 *   Repeated indices (a camera that repeated a frame) write the same decoded frame to several
 *   rows; skipped indices (dropped frames) are simply not written.
 * - MHRFIT_SYNC_TIMESTAMPS: Caliscope's `frame_time_history.csv` (sync_index, port,
 *   frame_time): the video frame of a row is its rank among its port's rows in time order;
 *   rows are the sync indices (`%06d`); a port without a row at a sync index is a gap. Port p
 *   is camera `cam_<p>` unless `ports` maps it to another name; its video is the one named
 *   after the camera or `port_<p>` (Caliscope's `port_<p>.mp4`). A port whose number of rows
 *   differs from its video's frame count is a warning naming the camera, the port and both
 *   counts (rows and frames do not pair one to one then; also with `check_only`), and
 *   `frames_meta.json` records each port's `table_rows`.
 *
 * Then `start` / `end` (row positions, end excluded; for index sync the frame number k),
 * `every` (keep every N-th row from `start`) and `max_frames` select rows.
 *
 * Checks before any decoding: every camera of the table has a video and every video a column;
 * no frame name is used twice; every selected index exists in its video (the scan's exact
 * frame count): an index past a video's end is an error naming the camera, the frame, the index
 * and the count, or, with `allow_gaps`, a labelled gap. During decoding, a video that ends
 * early or fails to decode turns its remaining views into errors (named, counted, exit status
 * 1), never into frames taken from elsewhere: a frame is only ever written from the decoded
 * frame whose index the table names.
 *
 * Outputs, each written atomically: the pictures; `frames_index.csv` (one line per view:
 * `id,camera,frame_index,tick_video_ms,actual_time_ms,decoded_frame_index,path`, as the
 * original's tool) and `frames_manifest.csv` (one line per frame: `id,num_views,cams_present,
 * missing_cams`, lists space-separated); and `frames_meta.json`: the request (sync mode and
 * file, offsets, ports, selection, image format), per camera its video (path, bytes, size as
 * written and as stored, codec, container, pixel format, frame count from the scan and from
 * the header, fps, time base, start, duration, rotation, vfr, shortest and longest frame
 * interval, frames decoded, frames written, error), and per frame which video frame each camera
 * gave (`video_frame`, `time` in seconds, `path`) or why not (`gap` / `error`).
 *
 * The output folder must be empty or hold a previous `frames_meta.json` (then `overwrite`
 * is required, and the pictures that meta lists are removed first, so no stale frame stays); a
 * folder holding other files without a `frames_meta.json` is refused even with `overwrite`
 * (MHRFIT_ERR_ARGUMENT): it is no earlier extraction. It is
 * locked while it is written (one writer at a time: another fails with MHRFIT_ERR_BUSY naming
 * this process).
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

/* ------------------------------------------------------------------------------- videos */

/** What a video reader does with a display matrix. */
typedef enum mhrfit_video_rotation {
  MHRFIT_ROTATION_APPLY = 0, /**< rotate frames as displayed (default) */
  MHRFIT_ROTATION_IGNORE,    /**< keep the stored orientation */
  MHRFIT_ROTATION_REFUSE     /**< a rotated video is an error (MHRFIT_ERR_UNSUPPORTED) */
} mhrfit_video_rotation;

/** Options of a video reader. Initialise with mhrfit_video_options_init(). */
typedef struct mhrfit_video_options {
  int threads;                    /**< decoder threads, 0 = as many as FFmpeg likes; default 1 */
  mhrfit_video_rotation rotation; /**< default MHRFIT_ROTATION_APPLY */
  bool scan;                      /**< count frames and measure intervals first; default true */
} mhrfit_video_options;

/** Fills `o` with the defaults: one decoder thread, rotation applied, scan. */
void mhrfit_video_options_init(mhrfit_video_options *o);

/** What a video is. Unknown numbers are -1 (counts) or NaN (times). */
typedef struct mhrfit_video_info {
  int width, height;                 /**< size of the frames delivered (after rotation) */
  int stored_width, stored_height;   /**< size as stored (before rotation; after the codec's cropping) */
  char codec[32];                    /**< FFmpeg codec name: "h264", "vp9", "hevc", ... */
  char container[64];                /**< FFmpeg demuxer name(s): "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", ... */
  char pixel_format[32];             /**< decoder pixel format: "yuv420p", ... */
  int stream_index;                  /**< index of the video stream in the file */
  long long frame_count;             /**< frames in the stream (from the scan; the header's number without scan) */
  long long header_frame_count;      /**< the container header's frame count, -1 when it gives none */
  int fps_num, fps_den;              /**< average frame rate as a fraction (0/1 when unknown) */
  double fps;                        /**< fps_num / fps_den, NaN when unknown */
  int time_base_num, time_base_den;  /**< timestamps are in units of num/den seconds */
  double start_time;                 /**< first timestamp in seconds, NaN when unknown */
  double duration;                   /**< seconds, NaN when unknown */
  int sar_num, sar_den;              /**< sample (pixel) aspect ratio, 0/1 when unknown; not applied */
  int rotation;                      /**< clockwise degrees of the display matrix (0 when none) */
  bool rotation_applied;             /**< frames are rotated by `rotation` */
  bool scanned;                      /**< frame_count and the intervals come from the scan */
  bool vfr;                          /**< variable frame rate (see the file comment); false without scan */
  double min_interval, max_interval; /**< shortest / longest interval between consecutive frames, s */
} mhrfit_video_info;

/** One decoded frame (see mhrfit_video_reader_next()). */
typedef struct mhrfit_video_frame {
  long long index;           /**< 0-based position in presentation order */
  int64_t pts;               /**< best-effort presentation timestamp in time-base units, INT64_MIN unknown */
  double time;               /**< pts in seconds (pts * time base), NaN when unknown */
  bool corrupt;              /**< the decoder flagged the frame as damaged (errors concealed) */
  const mhrfit_image *image; /**< RGB (3 channels) as displayed, or NULL when not asked for; owned
                                  by the reader and valid until its next call */
} mhrfit_video_frame;

/** A video being decoded. */
typedef struct mhrfit_video_reader mhrfit_video_reader;

/**
 * Opens `path`, finds its best video stream, scans it (unless `o->scan` is false) and prepares
 * the decoder. `o` NULL = defaults. Errors: MHRFIT_ERR_IO (cannot open or read), MHRFIT_ERR_FORMAT
 * (no video stream, unknown container), MHRFIT_ERR_UNSUPPORTED (no decoder for its codec; a
 * rotation that cannot be applied or is refused), each naming `path`. Free with
 * mhrfit_video_reader_free().
 */
mhrfit_video_reader *mhrfit_video_reader_new(const char *path, const mhrfit_video_options *o, mhrfit_error *err);

/** The video's description (valid as long as the reader; its sizes are those of the first
 * decoded frame once there is one, when the container said otherwise). */
const mhrfit_video_info *mhrfit_video_reader_info(const mhrfit_video_reader *r);

/**
 * Decodes the next frame. On success `*got` tells whether there was one (false at the end of
 * the video, after which every call returns the same); `frame` receives its index, timestamp
 * and, when `want_image`, its RGB pixels (skipping the conversion of frames that are not
 * wanted saves most of the cost besides decoding). Errors: MHRFIT_ERR_FORMAT when the decoder
 * fails (the frame index and FFmpeg's message), or when the frame size changes within the
 * stream; MHRFIT_ERR_IO on a read error. After an error the reader only returns errors.
 */
bool mhrfit_video_reader_next(mhrfit_video_reader *r, bool want_image, mhrfit_video_frame *frame, bool *got,
                              mhrfit_error *err);

/** Frames delivered so far. */
long long mhrfit_video_reader_frames_read(const mhrfit_video_reader *r);

/** Closes the file and frees the reader. NULL is allowed. */
void mhrfit_video_reader_free(mhrfit_video_reader *r);

/* ------------------------------------------------------------------------ video writing */

/**
 * Options of a video writer. Initialise with mhrfit_video_writer_options_init().
 *
 * The encoder is `codec` when given, else libx264 (H.264), else, when this FFmpeg has no
 * libx264, FFmpeg's own MPEG-4 Part 2 encoder `mpeg4` (mhrfit_video_writer_note() says so).
 * Quality: libx264 takes `crf` as its constant rate factor (0 lossless-like .. 51 worst; about
 * 18-23 is visually clean) and `preset` (ultrafast .. placebo: speed against size); encoders
 * with a fixed quantiser (mpeg4, mpeg2video, mjpeg) get the quantiser max(2, crf / 4 + 1) (2 is
 * their best, 31 their worst); others use their own defaults.
 */
typedef struct mhrfit_video_writer_options {
  const char *codec;  /**< FFmpeg encoder name (e.g. "libx264", "libx265", "libvpx-vp9", "mpeg4"); NULL = libx264 */
  double fps;         /**< frames per second, in (0, 1000]; default 30 */
  int crf;            /**< quality 0..51 (see above); default 20 */
  const char *preset; /**< libx264 preset; default "veryfast" */
  int threads;        /**< encoder threads, 0 = FFmpeg's choice; default 1 */
} mhrfit_video_writer_options;

/** Fills `o` with the defaults: libx264, 30 fps, crf 20, preset veryfast, one thread. */
void mhrfit_video_writer_options_init(mhrfit_video_writer_options *o);

/**
 * A video being written. Frames are RGB pictures of one size, converted to 8-bit 4:2:0 YUV in
 * BT.709 limited range (and tagged so: players and mhrfit_video_reader convert back with the
 * same matrix); frame k has the timestamp k / fps. A picture of odd width or height is
 * encoded one column / row larger (4:2:0 needs even sizes), the last column / row repeated;
 * readers then see the even size. Not thread-safe: one writer per thread.
 */
typedef struct mhrfit_video_writer mhrfit_video_writer;

/**
 * Starts a video file `path` of `width` x `height` pictures; the container comes from the file
 * name (`.mp4`, `.mkv`, `.mov`, `.avi`, ...). The file is written under a temporary name beside
 * `path` and renamed into place by mhrfit_video_writer_finish(): an unfinished or failed video
 * never appears under `path`. `o` NULL = defaults. Errors: MHRFIT_ERR_ARGUMENT (sizes, rate,
 * crf, an unknown container, an option the encoder refuses), MHRFIT_ERR_UNSUPPORTED (no such
 * encoder, or the container cannot hold its codec), MHRFIT_ERR_IO, each naming `path`.
 */
mhrfit_video_writer *mhrfit_video_writer_new(const char *path, int width, int height,
                                             const mhrfit_video_writer_options *o, mhrfit_error *err);

/** The FFmpeg name of the encoder in use ("libx264", ...). */
const char *mhrfit_video_writer_codec(const mhrfit_video_writer *w);

/** Why another encoder than the one asked for is used ("" when none). */
const char *mhrfit_video_writer_note(const mhrfit_video_writer *w);

/**
 * Encodes the next frame from `img` (gray, RGB or RGBA; alpha ignored), which must have the
 * writer's size (MHRFIT_ERR_ARGUMENT otherwise). Errors of the encoder or the file
 * (MHRFIT_ERR_FORMAT, MHRFIT_ERR_IO) leave the writer unusable: free it (the file is not made).
 */
bool mhrfit_video_writer_write(mhrfit_video_writer *w, const mhrfit_image *img, mhrfit_error *err);

/** Frames written so far. */
long long mhrfit_video_writer_frames(const mhrfit_video_writer *w);

/**
 * Flushes the encoder, writes the container's index and renames the file into place (fsynced).
 * A video without frames is an error (MHRFIT_ERR_ARGUMENT). After this only
 * mhrfit_video_writer_free() may be called.
 */
bool mhrfit_video_writer_finish(mhrfit_video_writer *w, mhrfit_error *err);

/** Frees a writer; an unfinished video's temporary file is removed. NULL is allowed. */
void mhrfit_video_writer_free(mhrfit_video_writer *w);

/* ------------------------------------------------------------------------------- frames */

/** How capture frames are matched to video frames (see the file comment). */
typedef enum mhrfit_sync_mode {
  MHRFIT_SYNC_INDEX = 0, /**< frame k of every video, plus per-camera offsets */
  MHRFIT_SYNC_CSV,       /**< the original's per-tick table */
  MHRFIT_SYNC_TIMESTAMPS /**< Caliscope's frame_time_history.csv */
} mhrfit_sync_mode;

/** "index", "csv" or "timestamps". Never NULL. */
const char *mhrfit_sync_mode_name(mhrfit_sync_mode m);

/** Parses a sync mode name; MHRFIT_ERR_ARGUMENT listing the names otherwise. */
bool mhrfit_sync_mode_parse(const char *name, mhrfit_sync_mode *out, mhrfit_error *err);

/** A camera's video. */
typedef struct mhrfit_frames_video {
  const char *cam;  /**< camera name (the file stem of its pictures) */
  const char *path; /**< video file */
} mhrfit_frames_video;

/** A camera's frame offset for MHRFIT_SYNC_INDEX. */
typedef struct mhrfit_frames_offset {
  const char *cam;
  long long offset; /**< row k uses video frame k + offset */
} mhrfit_frames_offset;

/** A Caliscope port's camera name for MHRFIT_SYNC_TIMESTAMPS. */
typedef struct mhrfit_frames_port {
  long long port;
  const char *cam;
} mhrfit_frames_port;

/** Severity of a message passed to mhrfit_frames_options::log. */
typedef enum mhrfit_frames_log_level {
  MHRFIT_FRAMES_INFO = 0, /**< what is being done */
  MHRFIT_FRAMES_WARNING,  /**< gaps, damaged (concealed) frames, frame counts that differ */
  MHRFIT_FRAMES_ERROR     /**< views that could not be written */
} mhrfit_frames_log_level;

/** A frame-extraction request. Initialise with mhrfit_frames_options_init(); strings are borrowed. */
typedef struct mhrfit_frames_options {
  const mhrfit_frames_video *videos; /**< the cameras' videos; or NULL with video_dir */
  size_t n_videos;
  const char *video_dir;   /**< every video file of this folder (mp4 mov avi mkv webm m4v mpg mpeg ts mts
                                m2ts wmv flv, any case), camera = file stem */
  const char *const *cams; /**< cameras to extract, in this order; NULL = all */
  size_t n_cams;
  const char *out_dir;                 /**< capture root to write; required */
  mhrfit_sync_mode sync;               /**< default MHRFIT_SYNC_INDEX */
  const char *sync_file;               /**< the table of MHRFIT_SYNC_CSV / MHRFIT_SYNC_TIMESTAMPS */
  const char *id_key;                  /**< id column of the per-tick table; NULL = "k" */
  const mhrfit_frames_offset *offsets; /**< MHRFIT_SYNC_INDEX offsets (cameras not listed: 0) */
  size_t n_offsets;
  const mhrfit_frames_port *ports; /**< MHRFIT_SYNC_TIMESTAMPS port names (ports not listed: cam_<p>) */
  size_t n_ports;
  long long start;                  /**< first row position; -1 (default) = the first row (index sync: the
                                         first frame number every camera has) */
  long long end;                    /**< row position past the last; -1 (default) = to the end (index sync:
                                         past the last frame number every camera has) */
  long long every;                  /**< keep every N-th row; default 1 */
  long long max_frames;             /**< at most this many rows; -1 (default) = no limit */
  mhrfit_image_write_options image; /**< picture format (MHRFIT_IMAGE_AUTO = JPEG), quality, subsampling */
  mhrfit_video_options video;       /**< decoder threads and rotation policy (the scan is always done) */
  bool allow_gaps;                  /**< indices past a video's end become labelled gaps instead of errors */
  bool allow_vfr;                   /**< index sync of variable-frame-rate videos */
  bool overwrite;                   /**< write into a previous output (its pictures are removed first) */
  bool check_only;                  /**< scan, build and check the table, write nothing */
  /** One line per event (no trailing newline); NULL = silent. */
  void (*log)(void *user, mhrfit_frames_log_level level, const char *message);
  /** Pictures written so far of the total to write; NULL = none. */
  void (*progress)(void *user, size_t done, size_t total);
  void *user; /**< passed to log and progress */
} mhrfit_frames_options;

/** Fills `o` with the defaults (index sync, all rows, JPEG quality 95, one decoder thread). */
void mhrfit_frames_options_init(mhrfit_frames_options *o);

/** What an extraction did. */
typedef struct mhrfit_frames_summary {
  size_t n_cams;         /**< cameras extracted */
  size_t n_frames;       /**< capture frames (rows selected) */
  size_t views_written;  /**< pictures written (a picture written for two rows counts twice) */
  size_t views_gap;      /**< views without a frame (gaps of the table, or allowed past-the-end indices) */
  size_t views_failed;   /**< views that could not be written (decoding ended or failed, write errors) */
  size_t frames_decoded; /**< video frames decoded, all cameras */
  size_t frames_corrupt; /**< written frames the decoder flagged as damaged */
} mhrfit_frames_summary;

/**
 * Extracts the frames (see "Frames from videos" above). Returns false only when the request
 * cannot proceed: bad options (MHRFIT_ERR_ARGUMENT), a video that cannot be opened, a sync
 * table that does not parse or does not match the videos, an index past a video's end without
 * `allow_gaps`, a variable frame rate with index sync, an output folder that is not ours or is
 * not writable; nothing is written then. Views that fail while decoding are counted in
 * `summary->views_failed` and logged; the rest is written, and so are the three index files.
 * `summary` may be NULL.
 */
bool mhrfit_frames_extract(const mhrfit_frames_options *o, mhrfit_frames_summary *summary, mhrfit_error *err);

/**
 * The frame rate of a capture that mhrfit_frames_extract() wrote into `capture_dir`, read from
 * its `frames_meta.json`: with index sync, the first video's rate divided by `every` (frame k of
 * the capture is video frame k of every camera, so the capture runs at the videos' rate); 0 when
 * it is not known: no or an unreadable `frames_meta.json`, another sync mode (its rows follow a
 * table, not the videos' rate), a rate that is not a number in (0, 1000] Hz. Never an error.
 */
double mhrfit_frames_meta_fps(const char *capture_dir);

#ifdef __cplusplus
}
#endif
#endif
