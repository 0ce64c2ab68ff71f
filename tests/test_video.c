/* Videos and frame extraction: videos made here with the ffmpeg program (H.264 in MP4, VP9 in
 * WebM, several sizes and rates), every frame carrying its own index as a pattern of 10 black
 * or white cells; the reader and mhrfit_frames_extract() must give back, for every sync mode,
 * exactly the frame the mode asks for. Also the sync-table parsers, rotation, variable frame
 * rates, indices past a video's end, the output folder rules. Needs `ffmpeg` on PATH (a test
 * dependency installed by scripts/deps): without it the test fails. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file.h"
#include "harness.h"
#include "media/sync.h"
#include "mhrfit/json.h"
#include "mhrfit/media.h"
#include "mhrfit/value.h"

static char tmpdir[256];

/* "<tmpdir>/<name>", kept until the end (the paths stay in option structs while others are made). */
static char *paths[512];
static size_t n_paths;
static const char *tmp_path(const char *name) {
  for (size_t i = 0; i < n_paths; i++)
    if (strcmp(paths[i] + strlen(tmpdir) + 1, name) == 0) return paths[i];
  if (n_paths == sizeof paths / sizeof paths[0]) abort();
  char *p = malloc(strlen(tmpdir) + strlen(name) + 2);
  if (!p) abort();
  sprintf(p, "%s/%s", tmpdir, name);
  return paths[n_paths++] = p;
}

/* The pattern: bit b of the frame number is cell (b % 5, b / 5) of a 5 x 2 grid, white or black. */
#define PATTERN "geq=lum='if(bitand(N\\,pow(2\\,floor(X*5/W)+5*floor(Y*2/H)))\\,235\\,16)':cb=128:cr=128"

static bool run(const char *cmd) {
  char full[4096];
  snprintf(full, sizeof full, "%s >/dev/null 2>&1", cmd);
  return system(full) == 0;
}

/* Writes a pattern video of n frames: codec "h264" (MP4) or "vp9" (WebM); `extra` goes before the
 * output name. */
static bool make_video(const char *name, const char *codec, int w, int h, int fps, int n, const char *extra) {
  char cmd[2048];
  const char *enc = strcmp(codec, "vp9") == 0 ? "-c:v libvpx-vp9 -deadline realtime -cpu-used 8 -b:v 400k"
                                              : "-c:v libx264 -preset ultrafast -crf 18";
  snprintf(cmd, sizeof cmd,
           "ffmpeg -nostdin -v error -y -f lavfi -i color=c=black:s=%dx%d:r=%d,format=yuv420p -frames:v %d "
           "-vf \"%s\" %s -pix_fmt yuv420p %s '%s'",
           w, h, fps, n, PATTERN, enc, extra ? extra : "", tmp_path(name));
  return run(cmd);
}

/* The frame number a picture shows (-1 when a cell is neither clearly black nor white). */
static int read_pattern(const mhrfit_image *img) {
  int v = 0;
  for (int b = 0; b < 10; b++) {
    int cx = (int)((b % 5 + 0.5) * img->width / 5), cy = (int)((b / 5 + 0.5) * img->height / 2);
    double sum = 0;
    int n = 0;
    for (int y = cy - 3; y <= cy + 3; y++)
      for (int x = cx - 3; x <= cx + 3; x++, n++) {
        const unsigned char *p = img->data + (size_t)y * img->stride + (size_t)x * (size_t)img->channels;
        sum += img->channels >= 3 ? (p[0] + p[1] + p[2]) / 3.0 : p[0];
      }
    double m = sum / n;
    if (m > 200)
      v |= 1 << b;
    else if (m > 55)
      return -1;
  }
  return v;
}

static int picture_pattern(const char *path, int *w, int *h) {
  mhrfit_error err = {0};
  mhrfit_image *img = mhrfit_image_read(path, 3, &err);
  if (!img) return -2;
  if (w) *w = img->width;
  if (h) *h = img->height;
  int v = read_pattern(img);
  mhrfit_image_free(img);
  return v;
}

/* ---- the sync-table parsers --------------------------------------------------------------- */

static void test_parse_ticks(void) {
  mhrfit_error err = {0};
  mf_sync_table t;
  const char *csv =
      "\xef\xbb\xbfk;tick_video_ms;left_out_idx;wall;right_out_idx\r\n"
      "0;0.0;0;x;2\r\n"
      "\r\n"
      "1;33.3;1;\"a;b\";\r\n"
      "\"2\"; 66.7 ;1.0;y;-1\r\n"
      "3;nan;3;z;5\r\n";
  REQUIRE(mf_sync_parse_ticks(csv, strlen(csv), "t.csv", NULL, &t, &err));
  CHECK(t.n_rows == 4 && t.n_cams == 2);
  CHECK_STR(t.cams[0], "left");
  CHECK_STR(t.cams[1], "right");
  CHECK_STR(t.rows[2], "2");
  long long want[8] = {0, 2, 1, MF_SYNC_GAP, 1, MF_SYNC_GAP, 3, 5};
  bool same = true;
  for (int i = 0; i < 8; i++) same = same && t.idx[i] == want[i];
  CHECK(same);
  CHECK_NEAR(t.tick_ms[1], 33.3, 1e-12);
  CHECK_NEAR(t.tick_ms[2], 66.7, 1e-12);
  CHECK(isnan(t.tick_ms[3]));
  CHECK(t.src_line[0] == 2 && t.src_line[1] == 4 && t.src_line[3] == 6);
  mf_sync_table_free(&t);

  /* another id column, tab separated, no tick column */
  const char *tab = "frame\tcam_a_out_idx\nf0\t4\nf1\t4\n";
  REQUIRE(mf_sync_parse_ticks(tab, strlen(tab), "t.tsv", "frame", &t, &err));
  CHECK(t.n_rows == 2 && t.n_cams == 1 && t.idx[0] == 4 && t.idx[1] == 4 && t.tick_ms);
  mf_sync_table_free(&t);

  struct {
    const char *text, *msg;
  } bad[] = {
      {"k,a_out_idx\n0,1.5\n", "t.csv:2: column 'a_out_idx': '1.5' is not a frame index"},
      {"k,a_out_idx\n0,1\n0,2\n", "t.csv:3: id '0' already used on line 2"},
      {"id,a_out_idx\n0,1\n", "no id column 'k'"},
      {"k,a\n0,1\n", "no <cam>_out_idx column"},
      {"k,a_out_idx\n0,1,2\n", "t.csv:2: 3 fields, the header has 2"},
      {"k,a_out_idx\n../x,1\n", "cannot name a frame folder"},
      {"k,a_out_idx\n.hidden,1\n", "cannot name a frame folder"},
      {"k,a_out_idx\n\"0,1\n", "a quoted field is not closed"},
      {"k,a_out_idx\n\"0\"x,1\n", "text after the closing quote"},
      {"k,a_out_idx\n", "no rows below the header"},
      {"", "empty file"},
      {"k,a_out_idx,a_out_idx\n0,1,2\n", "camera 'a' has two _out_idx columns"},
      {"k,tick_video_ms,a_out_idx\n0,soon,1\n", "'soon' is not a number"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    mhrfit_error e = {0};
    CHECK(!mf_sync_parse_ticks(bad[i].text, strlen(bad[i].text), "t.csv", NULL, &t, &e));
    CHECK(e.type == MHRFIT_ERR_FORMAT);
    CHECK_CONTAINS(e.message, bad[i].msg);
    CHECK(t.n_rows == 0 && t.rows == NULL);
  }
}

static void test_parse_frame_times(void) {
  mhrfit_error err = {0};
  mf_sync_table t;
  /* port 1 has no frame at sync index 1; rows out of order; an extra column */
  const char *csv =
      "sync_index,port,frame_index,frame_time\n"
      "2,0,7,10.066\n"
      "0,0,5,10.000\n"
      "0,1,9,10.001\n"
      "1,0,6,10.033\n"
      "2,1,10,10.067\n"
      "3,1,11,10.100\n"
      "3,0,8,10.099\n";
  REQUIRE(mf_sync_parse_frame_times(csv, strlen(csv), "fth.csv", &t, &err));
  CHECK(t.n_rows == 4 && t.n_cams == 2);
  CHECK_STR(t.rows[0], "000000");
  CHECK_STR(t.rows[3], "000003");
  CHECK_STR(t.cams[1], "port_1");
  CHECK(t.ports[0] == 0 && t.ports[1] == 1);
  long long want[8] = {0, 0, 1, MF_SYNC_GAP, 2, 1, 3, 2};
  bool same = true;
  for (int i = 0; i < 8; i++) same = same && t.idx[i] == want[i];
  CHECK(same);
  CHECK_NEAR(t.frame_time[5], 10.067, 1e-12);
  CHECK(isnan(t.frame_time[3]));
  CHECK(t.src_line[0] == 3 && t.src_line[2] == 2);
  mf_sync_table_free(&t);
  struct {
    const char *text, *msg;
  } bad[] = {
      {"sync_index,port\n0,0\n", "no 'frame_time' column"},
      {"sync_index,port,frame_time\n0,0,1.0\n0,0,2.0\n",
       "fth.csv:3: port 0 has two rows at sync_index 0 (the other on line 2)"},
      {"sync_index,port,frame_time\n0,x,1.0\n", "port 'x' is not a non-negative integer"},
      {"sync_index,port,frame_time\n-1,0,1.0\n", "sync_index '-1'"},
      {"sync_index,port,frame_time\n0,0,inf\n", "frame_time 'inf' is not a finite number"},
      {"sync_index,port,frame_time\n", "no rows below the header"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    mhrfit_error e = {0};
    CHECK(!mf_sync_parse_frame_times(bad[i].text, strlen(bad[i].text), "fth.csv", &t, &e));
    CHECK_CONTAINS(e.message, bad[i].msg);
  }
}

/* ---- the reader --------------------------------------------------------------------------- */

static bool videos_made;

static void make_videos(void) {
  videos_made = make_video("a.mp4", "h264", 320, 240, 30, 60, NULL) &&
                make_video("b.webm", "vp9", 256, 144, 25, 50, NULL) &&
                make_video("c_plain.mp4", "h264", 200, 120, 60, 40, NULL);
  /* a display matrix as phones write it (FFmpeg 5.1 stores the "rotate" tag as one on a stream copy) */
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "ffmpeg -nostdin -v error -y -i '%s' -c copy -metadata:s:v:0 rotate=90 '%s'",
           tmp_path("c_plain.mp4"), tmp_path("c.mp4"));
  videos_made = videos_made && run(cmd);
}

static void test_reader_h264_vp9(void) {
  REQUIRE(videos_made);
  const char *names[2] = {"a.mp4", "b.webm"};
  int w[2] = {320, 256}, h[2] = {240, 144}, fps[2] = {30, 25}, n[2] = {60, 50};
  for (int k = 0; k < 2; k++) {
    mhrfit_error err = {0};
    mhrfit_video_reader *r = mhrfit_video_reader_new(tmp_path(names[k]), NULL, &err);
    REQUIRE(r);
    const mhrfit_video_info *in = mhrfit_video_reader_info(r);
    CHECK(in->width == w[k] && in->height == h[k]);
    CHECK_STR(in->codec, k == 0 ? "h264" : "vp9");
    CHECK(in->frame_count == n[k] && in->scanned);
    CHECK(k == 0 ? in->header_frame_count == n[k] : in->header_frame_count == -1); /* WebM has no count */
    CHECK(in->fps_num == fps[k] && in->fps_den == 1);
    CHECK(!in->vfr && in->rotation == 0);
    CHECK_NEAR(in->min_interval, 1.0 / fps[k], 1e-3);
    CHECK_NEAR(in->max_interval, 1.0 / fps[k], 1e-3);
    int bad = 0;
    long long got_n = 0;
    mhrfit_video_frame f;
    bool got;
    while (mhrfit_video_reader_next(r, got_n % 3 != 1, &f, &got, &err) && got) {
      if (f.index != got_n) bad++;
      if (got_n % 3 != 1) {
        if (!f.image || f.image->width != w[k] || f.image->height != h[k] || read_pattern(f.image) != (int)got_n) bad++;
      } else if (f.image) {
        bad++;
      }
      if (fabs(f.time - (double)got_n / fps[k]) > 1e-3) bad++;
      got_n++;
    }
    CHECK(err.type == MHRFIT_ERR_NONE);
    CHECK(bad == 0);
    CHECK(got_n == n[k] && mhrfit_video_reader_frames_read(r) == n[k]);
    /* after the end: still the end */
    CHECK(mhrfit_video_reader_next(r, true, &f, &got, &err) && !got);
    mhrfit_video_reader_free(r);
  }
}

/* A display matrix is applied like FFmpeg's own player does; or ignored; or refused. */
static void test_reader_rotation(void) {
  REQUIRE(videos_made);
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "ffmpeg -nostdin -v error -y -i '%s' -vf \"select=eq(n\\,13)\" -frames:v 1 '%s'",
           tmp_path("c.mp4"), tmp_path("c13.png"));
  REQUIRE(run(cmd));
  mhrfit_error err = {0};
  mhrfit_image *ref = mhrfit_image_read(tmp_path("c13.png"), 3, &err);
  REQUIRE(ref);
  mhrfit_video_reader *r = mhrfit_video_reader_new(tmp_path("c.mp4"), NULL, &err);
  REQUIRE(r);
  const mhrfit_video_info *in = mhrfit_video_reader_info(r);
  CHECK(in->rotation == 270 && in->rotation_applied);
  CHECK(in->width == 120 && in->height == 200 && in->stored_width == 200 && in->stored_height == 120);
  mhrfit_video_frame f;
  bool got = false;
  for (int i = 0; i <= 13; i++) REQUIRE(mhrfit_video_reader_next(r, i == 13, &f, &got, &err) && got);
  REQUIRE(f.image && f.image->width == ref->width && f.image->height == ref->height);
  double diff = 0;
  for (int y = 0; y < ref->height; y++)
    for (int x = 0; x < ref->width * 3; x++)
      diff += abs((int)f.image->data[(size_t)y * f.image->stride + (size_t)x] -
                  (int)ref->data[(size_t)y * ref->stride + (size_t)x]);
  diff /= (double)ref->width * ref->height * 3;
  CHECK(diff < 2.0);
  mhrfit_video_reader_free(r);
  mhrfit_image_free(ref);
  mhrfit_video_options o;
  mhrfit_video_options_init(&o);
  o.rotation = MHRFIT_ROTATION_IGNORE;
  r = mhrfit_video_reader_new(tmp_path("c.mp4"), &o, &err);
  REQUIRE(r);
  CHECK(mhrfit_video_reader_info(r)->width == 200 && !mhrfit_video_reader_info(r)->rotation_applied);
  CHECK(mhrfit_video_reader_next(r, true, &f, &got, &err) && got && read_pattern(f.image) == 0);
  mhrfit_video_reader_free(r);
  o.rotation = MHRFIT_ROTATION_REFUSE;
  CHECK(!mhrfit_video_reader_new(tmp_path("c.mp4"), &o, &err) && err.type == MHRFIT_ERR_UNSUPPORTED);
  CHECK_CONTAINS(err.message, "c.mp4: the video is displayed rotated by 270 degrees");
}

static void test_reader_errors(void) {
  mhrfit_error err = {0};
  CHECK(!mhrfit_video_reader_new(tmp_path("none.mp4"), NULL, &err) && err.type == MHRFIT_ERR_IO);
  CHECK_CONTAINS(err.message, "none.mp4: cannot open the video");
  REQUIRE(mf_write_file_atomic(tmp_path("junk.mp4"), "definitely not a video", 22, &err));
  CHECK(!mhrfit_video_reader_new(tmp_path("junk.mp4"), NULL, &err));
  CHECK_CONTAINS(err.message, "junk.mp4");
  /* an audio-only file has no video stream */
  REQUIRE(run("true"));
  char cmd[512];
  snprintf(cmd, sizeof cmd, "ffmpeg -nostdin -v error -y -f lavfi -i sine=d=0.2 '%s'", tmp_path("tone.wav"));
  REQUIRE(run(cmd));
  CHECK(!mhrfit_video_reader_new(tmp_path("tone.wav"), NULL, &err) && err.type == MHRFIT_ERR_FORMAT);
  CHECK_CONTAINS(err.message, "tone.wav: no video stream");
}

/* A variable frame rate is seen by the scan and refused by index sync. */
static void test_vfr(void) {
  REQUIRE(videos_made);
  char cmd[1024];
  snprintf(cmd, sizeof cmd,
           "ffmpeg -nostdin -v error -y -i '%s' -vf \"setpts='(N+floor(N/10))/30/TB'\" -fps_mode passthrough "
           "-c:v libx264 -preset ultrafast -crf 18 '%s'",
           tmp_path("a.mp4"), tmp_path("vfr.mp4"));
  REQUIRE(run(cmd));
  mhrfit_error err = {0};
  mhrfit_video_reader *r = mhrfit_video_reader_new(tmp_path("vfr.mp4"), NULL, &err);
  REQUIRE(r);
  const mhrfit_video_info *in = mhrfit_video_reader_info(r);
  CHECK(in->vfr && in->frame_count == 60);
  CHECK_NEAR(in->min_interval, 1.0 / 30, 1e-3);
  CHECK_NEAR(in->max_interval, 2.0 / 30, 1e-3);
  mhrfit_video_reader_free(r);
  mhrfit_frames_options o;
  mhrfit_frames_options_init(&o);
  mhrfit_frames_video v[2] = {{"a", tmp_path("a.mp4")}, {"v", tmp_path("vfr.mp4")}};
  o.videos = v;
  o.n_videos = 2;
  o.out_dir = tmp_path("out_vfr");
  CHECK(!mhrfit_frames_extract(&o, NULL, &err) && err.type == MHRFIT_ERR_UNSUPPORTED);
  CHECK_CONTAINS(err.message, "camera 'v'");
  CHECK_CONTAINS(err.message, "variable frame rate");
  CHECK(access(tmp_path("out_vfr"), F_OK) != 0); /* nothing written */
  o.allow_vfr = true;
  o.max_frames = 3;
  mhrfit_frames_summary s;
  CHECK(mhrfit_frames_extract(&o, &s, &err) && s.views_written == 6);
}

/* ---- extraction --------------------------------------------------------------------------- */

/* Checks every picture of `out` against expect[row][cam] (-1 = no picture). */
static int check_capture(const char *out, const char *const *rows, size_t n_rows, const char *const *cams,
                         size_t n_cams, const long long *expect, const char *ext) {
  int bad = 0;
  for (size_t i = 0; i < n_rows; i++)
    for (size_t c = 0; c < n_cams; c++) {
      char path[1024];
      snprintf(path, sizeof path, "%s/%s/%s.%s", out, rows[i], cams[c], ext);
      long long want = expect[i * n_cams + c];
      if (want < 0) {
        if (access(path, F_OK) == 0) {
          fprintf(stderr, "    %s should not exist\n", path);
          bad++;
        }
        continue;
      }
      int got = picture_pattern(path, NULL, NULL);
      if (got != want) {
        fprintf(stderr, "    %s shows %d, expected %lld\n", path, got, want);
        bad++;
      }
    }
  return bad;
}

static mhrfit_value *load_meta(const char *out) {
  mhrfit_error err = {0};
  char path[1024];
  snprintf(path, sizeof path, "%s/frames_meta.json", out);
  return mhrfit_json_load(path, &err);
}

static const mhrfit_value *meta_view(const mhrfit_value *meta, size_t row, const char *cam) {
  const mhrfit_value *frames = mhrfit_value_dict_get(meta, "frames");
  if (!frames || frames->kind != MHRFIT_V_LIST || row >= frames->u.list.count) return NULL;
  return mhrfit_value_dict_get(mhrfit_value_dict_get(frames->u.list.items[row], "views"), cam);
}

static double num(const mhrfit_value *d, const char *key) {
  const mhrfit_value *v = mhrfit_value_dict_get(d, key);
  return v && mhrfit_value_is_number(v) ? mhrfit_value_as_double(v) : NAN;
}

static const char *str(const mhrfit_value *d, const char *key) {
  const mhrfit_value *v = mhrfit_value_dict_get(d, key);
  return v && v->kind == MHRFIT_V_STRING ? v->u.str.data : NULL;
}

static void test_index_sync_offsets(void) {
  REQUIRE(videos_made);
  mhrfit_frames_options o;
  mhrfit_frames_options_init(&o);
  mhrfit_frames_video v[2] = {{"cam_a", tmp_path("a.mp4")}, {"cam_b", tmp_path("b.webm")}};
  mhrfit_frames_offset off[1] = {{"cam_b", 3}};
  o.videos = v;
  o.n_videos = 2;
  o.offsets = off;
  o.n_offsets = 1;
  o.out_dir = tmp_path("out_index");
  mhrfit_error err = {0};
  mhrfit_frames_summary s;
  REQUIRE(mhrfit_frames_extract(&o, &s, &err));
  /* cam_b has 50 frames, offset 3: frames k = 0..46 */
  CHECK(s.n_frames == 47 && s.n_cams == 2 && s.views_written == 94 && s.views_gap == 0 && s.views_failed == 0);
  char names[47][8];
  const char *rows[47];
  long long expect[94];
  for (int k = 0; k < 47; k++) {
    snprintf(names[k], sizeof names[k], "%06d", k);
    rows[k] = names[k];
    expect[2 * k] = k;
    expect[2 * k + 1] = k + 3;
  }
  const char *cams[2] = {"cam_a", "cam_b"};
  CHECK(check_capture(o.out_dir, rows, 47, cams, 2, expect, "jpg") == 0);
  int w, h;
  CHECK(picture_pattern(th_path(o.out_dir, "000010/cam_b.jpg"), &w, &h) == 13 && w == 256 && h == 144);
  mhrfit_value *meta = load_meta(o.out_dir);
  REQUIRE(meta);
  const mhrfit_value *vb = mhrfit_value_dict_get(mhrfit_value_dict_get(meta, "videos"), "cam_b");
  CHECK(num(vb, "width") == 256 && num(vb, "height") == 144 && num(vb, "frame_count") == 50);
  CHECK(num(vb, "offset") == 3 && num(vb, "frames_written") == 47);
  CHECK_STR(str(vb, "codec"), "vp9");
  CHECK_STR(str(vb, "time_base"), "1/1000");
  CHECK_NEAR(num(vb, "fps"), 25, 1e-9);
  const mhrfit_value *view = meta_view(meta, 10, "cam_b");
  CHECK(num(view, "video_frame") == 13);
  CHECK_NEAR(num(view, "time"), 13 / 25.0, 1e-3);
  CHECK_STR(str(view, "path"), "000010/cam_b.jpg");
  mhrfit_value_free(meta);
  /* the per-picture index has one line per picture plus the header */
  unsigned char *csv;
  size_t len;
  REQUIRE(mf_read_file(th_path(o.out_dir, "frames_index.csv"), 0, &csv, &len, &err));
  size_t lines = 0;
  for (size_t i = 0; i < len; i++) lines += csv[i] == '\n';
  CHECK(lines == 95);
  CHECK(strstr((char *)csv, "\n000010,cam_b,13,,520,13,000010/cam_b.jpg\n") != NULL);
  free(csv);

  /* a negative offset: frames start where every camera has one */
  off[0] = (mhrfit_frames_offset){"cam_a", -5};
  o.out_dir = tmp_path("out_index_neg");
  o.every = 7;
  REQUIRE(mhrfit_frames_extract(&o, &s, &err));
  /* k from 5 to min(60 + 5, 50) = 50, every 7th: 5 12 19 26 33 40 47 */
  CHECK(s.n_frames == 7);
  const char *rows2[2] = {"000005", "000047"};
  long long expect2[4] = {0, 5, 42, 47};
  CHECK(check_capture(o.out_dir, rows2, 2, cams, 2, expect2, "jpg") == 0);
  CHECK(access(th_path(o.out_dir, "000006"), F_OK) != 0);
}

static void test_index_past_end(void) {
  REQUIRE(videos_made);
  mhrfit_frames_options o;
  mhrfit_frames_options_init(&o);
  mhrfit_frames_video v[2] = {{"cam_a", tmp_path("a.mp4")}, {"cam_b", tmp_path("b.webm")}};
  o.videos = v;
  o.n_videos = 2;
  o.start = 45;
  o.end = 55;
  o.out_dir = tmp_path("out_past");
  o.image.format = MHRFIT_IMAGE_PNG;
  mhrfit_error err = {0};
  mhrfit_frames_summary s;
  CHECK(!mhrfit_frames_extract(&o, &s, &err) && err.type == MHRFIT_ERR_ARGUMENT);
  CHECK_CONTAINS(err.message,
                 "5 view(s) ask for frames the videos do not have: camera 'cam_b' frame '000050' asks "
                 "for video frame 50, past the end of the video");
  CHECK_CONTAINS(err.message, "b.webm (50 frames)");
  CHECK(access(o.out_dir, F_OK) != 0);
  o.allow_gaps = true;
  REQUIRE(mhrfit_frames_extract(&o, &s, &err));
  CHECK(s.n_frames == 10 && s.views_written == 15 && s.views_gap == 5);
  const char *rows[3] = {"000045", "000049", "000054"};
  const char *cams[2] = {"cam_a", "cam_b"};
  long long expect[6] = {45, 45, 49, 49, 54, -1};
  CHECK(check_capture(o.out_dir, rows, 3, cams, 2, expect, "png") == 0);
  mhrfit_value *meta = load_meta(o.out_dir);
  REQUIRE(meta);
  CHECK_CONTAINS(str(meta_view(meta, 9, "cam_b"), "gap"), "video frame 54 is past the end of the video (50 frames)");
  mhrfit_value_free(meta);
  unsigned char *csv;
  size_t len;
  REQUIRE(mf_read_file(th_path(o.out_dir, "frames_manifest.csv"), 0, &csv, &len, &err));
  CHECK(strstr((char *)csv, "\n000049,2,cam_a cam_b,\n000050,1,cam_a,cam_b\n") != NULL);
  free(csv);
}

/* The per-tick table with dropped and repeated frames and gaps. */
static void test_csv_sync(void) {
  REQUIRE(videos_made);
  const char *table =
      "k,tick_video_ms,cam_a_out_idx,cam_b_out_idx\n"
      "0,0,0,0\n"
      "1,33.3,1,\n"
      "2,66.7,1,2\n" /* cam_a repeats frame 1 */
      "3,100,4,2\n"  /* cam_a dropped 2 and 3; cam_b repeats 2 */
      "4,133.3,5,-1\n"
      "5,166.7,59,49\n";
  mhrfit_error err = {0};
  REQUIRE(mf_write_file_atomic(tmp_path("ticks.csv"), table, strlen(table), &err));
  mhrfit_frames_options o;
  mhrfit_frames_options_init(&o);
  mhrfit_frames_video v[2] = {{"cam_b", tmp_path("b.webm")}, {"cam_a", tmp_path("a.mp4")}};
  o.videos = v;
  o.n_videos = 2;
  o.sync = MHRFIT_SYNC_CSV;
  o.sync_file = tmp_path("ticks.csv");
  o.out_dir = tmp_path("out_csv");
  mhrfit_frames_summary s;
  REQUIRE(mhrfit_frames_extract(&o, &s, &err));
  CHECK(s.n_frames == 6 && s.views_written == 10 && s.views_gap == 2 && s.views_failed == 0);
  /* cam_b decodes up to its frame 49, cam_a up to 59 */
  CHECK(s.frames_decoded == 110);
  const char *rows[6] = {"0", "1", "2", "3", "4", "5"};
  const char *cams[2] = {"cam_a", "cam_b"};
  long long expect[12] = {0, 0, 1, -1, 1, 2, 4, 2, 5, -1, 59, 49};
  CHECK(check_capture(o.out_dir, rows, 6, cams, 2, expect, "jpg") == 0);
  mhrfit_value *meta = load_meta(o.out_dir);
  REQUIRE(meta);
  /* the table's camera order (cam_a first), not the order of the videos */
  const mhrfit_value *mc = mhrfit_value_dict_get(meta, "cams");
  CHECK(mc && mc->kind == MHRFIT_V_LIST && mc->u.list.count == 2 &&
        strcmp(mc->u.list.items[0]->u.str.data, "cam_a") == 0);
  CHECK_CONTAINS(str(meta_view(meta, 1, "cam_b"), "gap"), "empty or negative cam_b_out_idx");
  CHECK_NEAR(num(mhrfit_value_dict_get(meta, "frames")->u.list.items[3], "tick_video_ms"), 100, 1e-12);
  mhrfit_value_free(meta);
  unsigned char *csv;
  size_t len;
  REQUIRE(mf_read_file(th_path(o.out_dir, "frames_index.csv"), 0, &csv, &len, &err));
  CHECK(strstr((char *)csv, "\n3,cam_a,4,100,") != NULL);
  free(csv);
  /* an index past a camera's end is caught before any decoding */
  const char *past = "k,cam_a_out_idx,cam_b_out_idx\n0,0,0\n1,60,1\n";
  REQUIRE(mf_write_file_atomic(tmp_path("past.csv"), past, strlen(past), &err));
  o.sync_file = tmp_path("past.csv");
  o.out_dir = tmp_path("out_csv_past");
  CHECK(!mhrfit_frames_extract(&o, &s, &err));
  CHECK_CONTAINS(err.message, "camera 'cam_a' frame '1' asks for video frame 60, past the end of the video");
  /* a video without a column, a column without a video */
  o.sync_file = tmp_path("ticks.csv");
  mhrfit_frames_video v3[3] = {
      {"cam_b", tmp_path("b.webm")}, {"cam_a", tmp_path("a.mp4")}, {"cam_c", tmp_path("a.mp4")}};
  o.videos = v3;
  o.n_videos = 3;
  CHECK(!mhrfit_frames_extract(&o, &s, &err) && err.type == MHRFIT_ERR_NOT_FOUND);
  CHECK_CONTAINS(err.message, "no <cam>_out_idx column for camera 'cam_c'");
  o.n_videos = 1;
  CHECK(!mhrfit_frames_extract(&o, &s, &err) && err.type == MHRFIT_ERR_NOT_FOUND);
  CHECK_CONTAINS(err.message, "camera 'cam_a' has no video");
  /* --cams picks a camera of the table */
  const char *only[1] = {"cam_a"};
  o.videos = v;
  o.n_videos = 2;
  o.cams = only;
  o.n_cams = 1;
  o.out_dir = tmp_path("out_csv_one");
  CHECK(mhrfit_frames_extract(&o, &s, &err) && s.n_cams == 1 && s.views_written == 6);
}

/* The warnings of an extraction, one per line. */
static char warnings[8192];
static void keep_warnings(void *user, mhrfit_frames_log_level level, const char *message) {
  (void)user;
  size_t n = strlen(warnings);
  if (level == MHRFIT_FRAMES_WARNING) snprintf(warnings + n, sizeof warnings - n, "%s\n", message);
}

/* Caliscope's frame_time_history.csv: port_<p>.* videos in a folder, ports mapped to names; a
 * port whose rows are fewer (or more) than its video's frames is warned about, naming the port
 * and both counts (also by check_only). */
static void test_timestamps_sync(void) {
  REQUIRE(videos_made);
  mhrfit_error err = {0};
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp '%s' '%s/port_0.mp4' && cp '%s' '%s/port_3.webm'", tmp_path("rec"),
           tmp_path("a.mp4"), tmp_path("rec"), tmp_path("b.webm"), tmp_path("rec"));
  REQUIRE(run(cmd));
  /* port 3 dropped the frame of sync index 2; a sync index of port 0 only at the end */
  char table[4096];
  size_t n = (size_t)snprintf(table, sizeof table, "sync_index,port,frame_index,frame_time\n");
  for (int si = 0; si < 8; si++) {
    n += (size_t)snprintf(table + n, sizeof table - n, "%d,0,%d,%.4f\n", si, si + 100, 5.0 + si / 30.0);
    if (si != 2 && si != 7)
      n += (size_t)snprintf(table + n, sizeof table - n, "%d,3,%d,%.4f\n", si, si, 5.001 + si / 30.0);
  }
  REQUIRE(mf_write_file_atomic(tmp_path("rec/frame_time_history.csv"), table, n, &err));
  mhrfit_frames_options o;
  mhrfit_frames_options_init(&o);
  o.video_dir = tmp_path("rec");
  o.sync = MHRFIT_SYNC_TIMESTAMPS;
  o.sync_file = tmp_path("rec/frame_time_history.csv");
  mhrfit_frames_port ports[1] = {{3, "right"}};
  o.ports = ports;
  o.n_ports = 1;
  o.out_dir = tmp_path("out_ts");
  o.log = keep_warnings;
  mhrfit_frames_summary s;
  warnings[0] = '\0';
  o.check_only = true;
  REQUIRE(mhrfit_frames_extract(&o, &s, &err));
  CHECK_CONTAINS(warnings, "camera 'cam_0' (port 0): ");
  CHECK_CONTAINS(warnings, "has 8 row(s) for the port, its video ");
  CHECK_CONTAINS(warnings, "port_0.mp4 has 60 frame(s): row k of the port (in time order) is taken as video frame k, "
                           "so its last 52 video frame(s) are not used");
  CHECK_CONTAINS(warnings, "camera 'right' (port 3): ");
  CHECK_CONTAINS(warnings, "has 6 row(s) for the port, its video ");
  CHECK_CONTAINS(warnings, "port_3.webm has 50 frame(s)");
  o.check_only = false;
  warnings[0] = '\0';
  REQUIRE(mhrfit_frames_extract(&o, &s, &err));
  CHECK_CONTAINS(warnings, "its last 44 video frame(s) are not used");
  CHECK(s.n_frames == 8 && s.n_cams == 2 && s.views_written == 14 && s.views_gap == 2);
  const char *rows[8] = {"000000", "000001", "000002", "000003", "000004", "000005", "000006", "000007"};
  const char *cams[2] = {"cam_0", "right"};
  long long expect[16] = {0, 0, 1, 1, 2, -1, 3, 2, 4, 3, 5, 4, 6, 5, 7, -1};
  CHECK(check_capture(o.out_dir, rows, 8, cams, 2, expect, "jpg") == 0);
  mhrfit_value *meta = load_meta(o.out_dir);
  REQUIRE(meta);
  CHECK_CONTAINS(str(meta_view(meta, 2, "right"), "gap"), "port 3 has no frame at this sync index");
  CHECK_NEAR(num(meta_view(meta, 3, "right"), "frame_time"), 5.001 + 3 / 30.0, 1e-9);
  CHECK(num(mhrfit_value_dict_get(mhrfit_value_dict_get(meta, "videos"), "right"), "port") == 3);
  CHECK(num(mhrfit_value_dict_get(mhrfit_value_dict_get(meta, "videos"), "right"), "table_rows") == 6);
  mhrfit_value_free(meta);
  /* rows and frames that match: no such warning; more rows than frames: said too (and an error for
   * the rows past the end, as before) */
  n = (size_t)snprintf(table, sizeof table, "sync_index,port,frame_time\n");
  for (int si = 0; si < 60; si++) n += (size_t)snprintf(table + n, sizeof table - n, "%d,0,%.4f\n", si, si / 30.0);
  for (int si = 0; si < 52; si++) n += (size_t)snprintf(table + n, sizeof table - n, "%d,3,%.4f\n", si, si / 25.0);
  REQUIRE(mf_write_file_atomic(tmp_path("rec/fth_full.csv"), table, n, &err));
  o.sync_file = tmp_path("rec/fth_full.csv");
  o.out_dir = tmp_path("out_ts_full");
  o.check_only = true;
  o.end = 50;
  warnings[0] = '\0';
  REQUIRE(mhrfit_frames_extract(&o, &s, &err));
  CHECK(strstr(warnings, "camera 'cam_0' (port 0)") == NULL);
  CHECK_CONTAINS(warnings, "camera 'right' (port 3): ");
  CHECK_CONTAINS(warnings, "has 52 row(s) for the port, its video ");
  CHECK_CONTAINS(warnings, "its last 2 row(s) have no video frame (past the end)");
  o.end = -1;
  CHECK(!mhrfit_frames_extract(&o, &s, &err));
  CHECK_CONTAINS(err.message, "camera 'right' frame '000050' asks for video frame 50, past the end of the video");
}

/* The output folder: never someone else's, a previous extraction replaced cleanly. */
static void test_output_folder(void) {
  REQUIRE(videos_made);
  mhrfit_frames_options o;
  mhrfit_frames_options_init(&o);
  mhrfit_frames_video v[1] = {{"cam_a", tmp_path("a.mp4")}};
  o.videos = v;
  o.n_videos = 1;
  o.out_dir = tmp_path("out_rules");
  o.max_frames = 12;
  mhrfit_error err = {0};
  mhrfit_frames_summary s;
  o.check_only = true;
  REQUIRE(mhrfit_frames_extract(&o, &s, &err));
  CHECK(s.n_frames == 12 && access(o.out_dir, F_OK) != 0);
  o.check_only = false;
  REQUIRE(mhrfit_frames_extract(&o, &s, &err));
  CHECK(!mhrfit_frames_extract(&o, &s, &err) && err.type == MHRFIT_ERR_ARGUMENT);
  CHECK_CONTAINS(err.message, "holds a previous extraction");
  o.overwrite = true;
  o.max_frames = 4;
  o.start = 20;
  REQUIRE(mhrfit_frames_extract(&o, &s, &err));
  CHECK(access(th_path(o.out_dir, "000000"), F_OK) != 0); /* the old frames are gone */
  CHECK(picture_pattern(th_path(o.out_dir, "000023/cam_a.jpg"), NULL, NULL) == 23);
  mkdir(tmp_path("someone"), 0755);
  REQUIRE(mf_write_file_atomic(tmp_path("someone/notes.txt"), "x", 1, &err));
  o.out_dir = tmp_path("someone");
  o.overwrite = false;
  CHECK(!mhrfit_frames_extract(&o, &s, &err));
  CHECK_CONTAINS(err.message, "is not empty and holds no frames_meta.json");
  o.overwrite = true; /* overwrite replaces an earlier extraction only: the folder is left as it was */
  CHECK(!mhrfit_frames_extract(&o, &s, &err) && err.type == MHRFIT_ERR_ARGUMENT);
  CHECK_CONTAINS(err.message, "it is no earlier extraction");
  CHECK(access(th_path(o.out_dir, "frames_meta.json"), F_OK) != 0);
  CHECK(access(th_path(o.out_dir, "notes.txt"), F_OK) == 0);
  o.overwrite = false;
  /* bad requests */
  o.out_dir = tmp_path("out_bad");
  o.every = 0;
  CHECK(!mhrfit_frames_extract(&o, &s, &err) && err.type == MHRFIT_ERR_ARGUMENT);
  o.every = 1;
  mhrfit_frames_offset off[1] = {{"nobody", 1}};
  o.offsets = off;
  o.n_offsets = 1;
  CHECK(!mhrfit_frames_extract(&o, &s, &err));
  CHECK_CONTAINS(err.message, "offset for camera 'nobody', which has no video");
  o.n_offsets = 0;
  mhrfit_frames_video two[2] = {{"x", tmp_path("a.mp4")}, {"x", tmp_path("b.webm")}};
  o.videos = two;
  o.n_videos = 2;
  CHECK(!mhrfit_frames_extract(&o, &s, &err));
  CHECK_CONTAINS(err.message, "camera 'x' has two videos");
  mhrfit_frames_video missing[1] = {{"m", tmp_path("missing.mp4")}};
  o.videos = missing;
  o.n_videos = 1;
  CHECK(!mhrfit_frames_extract(&o, &s, &err) && err.type == MHRFIT_ERR_IO);
  CHECK_CONTAINS(err.message, "camera 'm': ");
  CHECK(access(o.out_dir, F_OK) != 0);
}

int main(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/mhrfit_test_video_XXXXXX");
  if (!mkdtemp(tmpdir)) return 1;
  if (!run("ffmpeg -version")) fprintf(stderr, "ffmpeg is missing (scripts/deps installs it): the video tests fail\n");
  make_videos();
  RUN(test_parse_ticks);
  RUN(test_parse_frame_times);
  RUN(test_reader_h264_vp9);
  RUN(test_reader_rotation);
  RUN(test_reader_errors);
  RUN(test_vfr);
  RUN(test_index_sync_offsets);
  RUN(test_index_past_end);
  RUN(test_csv_sync);
  RUN(test_timestamps_sync);
  RUN(test_output_folder);
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
  for (size_t i = 0; i < n_paths; i++) free(paths[i]);
  return test_report();
}
