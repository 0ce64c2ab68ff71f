/* mhrfit frames: capture frames <out>/<frame>/<cam>.jpg from camera videos (the library's
 * mhrfit_frames_extract(); this file only parses). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "mhrfit/media.h"

static void on_log(void *user, mhrfit_frames_log_level level, const char *msg) {
  mf_cli_status_log(user, (int)level, msg);
}

static void on_progress(void *user, size_t done, size_t total) { mf_cli_status_progress(user, done, total); }

/* Splits "NAME=VALUE" (NAME non-empty); false when there is no '='. */
static bool split_pair(const char *s, char *name, size_t size, const char **value) {
  const char *eq = strchr(s, '=');
  if (!eq || eq == s || (size_t)(eq - s) >= size) return false;
  memcpy(name, s, (size_t)(eq - s));
  name[eq - s] = '\0';
  *value = eq + 1;
  return true;
}

static bool parse_ll(const char *s, long long *v) {
  char *end;
  if (!*s) return false;
  *v = strtoll(s, &end, 10);
  return *end == '\0';
}

/* The --videos, --offset and --port_map values. Names point into `names` (n * 256 bytes). */
typedef struct pairs {
  mhrfit_frames_video *videos;
  mhrfit_frames_offset *offsets;
  mhrfit_frames_port *ports;
  char (*names)[256];
} pairs;

static void pairs_free(pairs *p) {
  free(p->videos);
  free(p->offsets);
  free(p->ports);
  free(p->names);
}

/* Parses the pair lists; returns -1 when valid, else the usage exit code. */
static int parse_pairs(const mf_strlist *videos, const mf_strlist *offsets, const mf_strlist *ports, pairs *p) {
  size_t n = videos->count + offsets->count + ports->count;
  p->videos = calloc(videos->count + 1, sizeof *p->videos);
  p->offsets = calloc(offsets->count + 1, sizeof *p->offsets);
  p->ports = calloc(ports->count + 1, sizeof *p->ports);
  p->names = calloc(n + 1, sizeof *p->names);
  if (!p->videos || !p->offsets || !p->ports || !p->names) return mf_usage_error("frames", "out of memory");
  size_t k = 0;
  for (size_t i = 0; i < videos->count; i++, k++) {
    const char *v = videos->items[i], *path;
    if (!split_pair(v, p->names[k], sizeof p->names[k], &path)) { /* a bare FILE: camera = its stem */
      const char *base = strrchr(v, '/') ? strrchr(v, '/') + 1 : v;
      snprintf(p->names[k], sizeof p->names[k], "%s", base);
      char *dot = strrchr(p->names[k], '.');
      if (dot && dot != p->names[k]) *dot = '\0';
      path = v;
    }
    p->videos[i] = (mhrfit_frames_video){p->names[k], path};
  }
  for (size_t i = 0; i < offsets->count; i++, k++) {
    const char *val;
    if (!split_pair(offsets->items[i], p->names[k], sizeof p->names[k], &val) || !parse_ll(val, &p->offsets[i].offset))
      return mf_usage_error("frames", "--offset expects CAM=N (an integer), got '%s'", offsets->items[i]);
    p->offsets[i].cam = p->names[k];
  }
  for (size_t i = 0; i < ports->count; i++, k++) {
    const char *val;
    long long port;
    if (!split_pair(ports->items[i], p->names[k], sizeof p->names[k], &val) || !parse_ll(p->names[k], &port) ||
        port < 0 || !*val)
      return mf_usage_error("frames", "--port_map expects PORT=CAM (PORT a non-negative integer), got '%s'",
                            ports->items[i]);
    p->ports[i] = (mhrfit_frames_port){port, val};
  }
  return -1;
}

/* Fills the sync mode, the image options and the selection; -1 when valid, else the exit code. */
static int finish_options(mhrfit_frames_options *o, const mf_strlist *sync, const char *format, long quality,
                          long subsampling, const char *rotation, long threads) {
  mhrfit_error err = {0};
  if (sync->count > 2) return mf_usage_error("frames", "--sync takes a mode and at most one file");
  if (sync->count && !mhrfit_sync_mode_parse(sync->items[0], &o->sync, &err))
    return mf_usage_error("frames", "--sync: %s", err.message);
  o->sync_file = sync->count == 2 ? sync->items[1] : NULL;
  if (o->sync != MHRFIT_SYNC_INDEX && !o->sync_file)
    return mf_usage_error("frames", "--sync %s needs its table file (--sync %s FILE)", sync->items[0], sync->items[0]);
  if (o->sync == MHRFIT_SYNC_INDEX && o->sync_file)
    return mf_usage_error("frames", "--sync index takes no file (offsets go with --offset CAM=N)");
  if (strcmp(format, "jpg") == 0 || strcmp(format, "jpeg") == 0)
    o->image.format = MHRFIT_IMAGE_JPEG;
  else if (strcmp(format, "png") == 0)
    o->image.format = MHRFIT_IMAGE_PNG;
  else
    return mf_usage_error("frames", "--format must be jpg or png, not '%s'", format);
  if (quality < 1 || quality > 100) return mf_usage_error("frames", "--quality must be within 1..100");
  if (subsampling != 420 && subsampling != 444) return mf_usage_error("frames", "--subsampling must be 420 or 444");
  o->image.quality = (int)quality;
  o->image.subsampling = (int)subsampling;
  if (strcmp(rotation, "apply") == 0)
    o->video.rotation = MHRFIT_ROTATION_APPLY;
  else if (strcmp(rotation, "ignore") == 0)
    o->video.rotation = MHRFIT_ROTATION_IGNORE;
  else if (strcmp(rotation, "refuse") == 0)
    o->video.rotation = MHRFIT_ROTATION_REFUSE;
  else
    return mf_usage_error("frames", "--rotation must be apply, ignore or refuse, not '%s'", rotation);
  if (threads < 0 || threads > 64) return mf_usage_error("frames", "--threads must be within 0..64");
  o->video.threads = (int)threads;
  if (o->every < 1) return mf_usage_error("frames", "--every must be at least 1");
  if (o->start < -1 || o->end < -1 || o->max_frames < -1)
    return mf_usage_error("frames", "--start, --end and --max_frames must not be negative");
  return -1;
}

static const char *const frames_summary =
    "Decodes each camera video once, front to back (FFmpeg's libraries), and writes the capture\n"
    "layout that ingest and run read: <out>/<frame>/<cam>.jpg (or .png), plus frames_meta.json\n"
    "(videos, sync table, which video frame each camera gave to each frame, gaps and errors),\n"
    "frames_index.csv (one line per picture) and frames_manifest.csv (one line per frame).\n"
    "\n"
    "Videos: --videos cam_0=A.mp4 cam_1=B.mp4 (a bare FILE names its camera by its stem), or\n"
    "--video_dir DIR (every video file, camera = stem); --cams picks and orders cameras.\n"
    "\n"
    "Sync (which video frame of each camera makes frame F):\n"
    "  index (default)        frame k of every video is frame k (named 000000, 000001, ...);\n"
    "                         --offset cam_1=3 makes camera cam_1 give its frame k+3. Frames run\n"
    "                         over the numbers every video has; videos with a variable frame\n"
    "                         rate are refused (--allow_vfr to pair them by index anyway).\n"
    "  csv FILE               a per-tick table: id column (--id_key, default k), optional\n"
    "                         tick_video_ms, one <cam>_out_idx column per camera; frames named by\n"
    "                         the id; an empty or negative index is a labelled gap; a repeated\n"
    "                         index writes the same video frame to several frames.\n"
    "  timestamps FILE        Caliscope's frame_time_history.csv (sync_index, port, frame_time):\n"
    "                         frame = sync index (000000, ...), a port's video frame = the rank\n"
    "                         of its row in time; port p is camera cam_<p> (--port_map p=NAME),\n"
    "                         its video the one named after the camera or port_<p>.\n"
    "Then --start/--end (row positions, end excluded; the frame number k for index sync),\n"
    "--every N and --max_frames select frames.\n"
    "\n"
    "Checks before decoding: every camera has a video and every video a column; frame names\n"
    "unique; every index within its video (exact frame counts from a demux-only scan). An\n"
    "index past a video's end is an error naming camera, frame, index and count, or with\n"
    "--allow_gaps a labelled gap. A video that ends early or fails to decode marks its\n"
    "remaining views as errors (exit status 1); a frame is only ever written from the video\n"
    "frame the table names. Rotated videos (display matrix) are turned as players show them\n"
    "(--rotation ignore keeps the stored orientation, refuse makes them an error). The output\n"
    "folder must be new or empty; --overwrite replaces a previous extraction (its pictures are\n"
    "removed first), never a folder of other files. Memory is one decoder and one frame, whatever the video's length.\n"
    "\n"
    "Examples:\n"
    "  mhrfit frames --video_dir session/videos --out capture\n"
    "  mhrfit frames --videos cam_0=left.mp4 cam_1=right.mp4 --offset cam_1=-2 --out capture\n"
    "  mhrfit frames --video_dir session/videos --sync csv session/meta/frame_times.csv --out capture\n"
    "  mhrfit frames --video_dir recording_1 --sync timestamps recording_1/frame_time_history.csv \\\n"
    "    --port_map 0=left 1=right --out capture";

int mf_cmd_frames(int argc, char **argv) {
  const char *video_dir = NULL, *out = NULL, *id_key = NULL, *format = "jpg", *rotation = "apply";
  mf_strlist videos = {0}, cams = {0}, sync = {0}, offsets = {0}, ports = {0};
  long every = 1, start = -1, end = -1, max_frames = -1, quality = 95, subsampling = 420, threads = 1;
  bool allow_gaps = false, allow_vfr = false, overwrite = false, check = false, quiet = false;
  const mf_opt opts[] = {
      {"videos", MF_OPT_LIST, &videos, "CAM=FILE", "the cameras' videos (a bare FILE: camera = its stem)", NULL},
      {"video_dir", MF_OPT_STRING, &video_dir, "DIR", "every video file of DIR, camera = file stem", NULL},
      {"cams", MF_OPT_LIST, &cams, "NAME", "cameras to extract, in this order (default all)", NULL},
      {"out", MF_OPT_STRING, &out, "DIR", "capture root to write (<DIR>/<frame>/<cam>.jpg); required", NULL},
      {"sync", MF_OPT_LIST, &sync, "MODE", "index (default) | csv FILE | timestamps FILE", NULL},
      {"id_key", MF_OPT_STRING, &id_key, "NAME", "id column of a csv sync table (default k)", NULL},
      {"offset", MF_OPT_LIST, &offsets, "CAM=N", "index sync: camera CAM gives its frame k+N to frame k", NULL},
      {"port_map", MF_OPT_LIST, &ports, "P=CAM", "timestamps sync: port P is camera CAM (default cam_<P>)", NULL},
      {"start", MF_OPT_INT, &start, "N", "first frame: row position (index sync: frame number) (default: first)", NULL},
      {"end", MF_OPT_INT, &end, "N", "stop before this row position / frame number (default: last)", NULL},
      {"every", MF_OPT_INT, &every, "N", "keep every N-th frame (default 1)", NULL},
      {"max_frames", MF_OPT_INT, &max_frames, "N", "at most N frames (default all)", NULL},
      {"format", MF_OPT_STRING, &format, "F", "jpg (default, libjpeg-turbo) or png (libpng)", NULL},
      {"quality", MF_OPT_INT, &quality, "Q", "JPEG quality 1..100 (default 95)", NULL},
      {"subsampling", MF_OPT_INT, &subsampling, "S", "JPEG chroma subsampling 420 (default) or 444", NULL},
      {"threads", MF_OPT_INT, &threads, "N", "decoder threads per video, 0 = automatic (default 1)", NULL},
      {"rotation", MF_OPT_STRING, &rotation, "R", "display matrix: apply (default) | ignore | refuse", NULL},
      {"allow_gaps", MF_OPT_FLAG, &allow_gaps, NULL, "indices past a video's end become labelled gaps", NULL},
      {"allow_vfr", MF_OPT_FLAG, &allow_vfr, NULL, "index sync of variable-frame-rate videos", NULL},
      {"overwrite", MF_OPT_FLAG, &overwrite, NULL, "replace a previous extraction in --out", NULL},
      {"check", MF_OPT_FLAG, &check, NULL, "scan the videos and check the sync table; write nothing", NULL},
      MF_OPT_QUIET(&quiet),
  };
  const mf_cmd_spec spec = {"frames",
                            "--videos CAM=FILE ... | --video_dir DIR --out DIR [options]",
                            frames_summary,
                            opts,
                            sizeof opts / sizeof opts[0],
                            0,
                            0};
  mf_strlist pos;
  pairs pr = {0};
  int rc = mf_args_parse(&spec, argc, argv, &pos);
  if (rc >= 0) goto done;
  mf_strlist_free(&pos);
  if (!out || (!videos.count && !video_dir) || (videos.count && video_dir)) {
    rc = mf_usage_error("frames", "--out and one of --videos or --video_dir are required");
    goto done;
  }
  mhrfit_frames_options o;
  mhrfit_frames_options_init(&o);
  o.every = every;
  o.start = start;
  o.end = end;
  o.max_frames = max_frames;
  if ((rc = parse_pairs(&videos, &offsets, &ports, &pr)) >= 0 ||
      (rc = finish_options(&o, &sync, format, quality, subsampling, rotation, threads)) >= 0)
    goto done;
  mf_cli_status st;
  mf_cli_status_init(&st, "frames", "pictures", quiet);
  o.videos = videos.count ? pr.videos : NULL;
  o.n_videos = videos.count;
  o.video_dir = video_dir;
  o.cams = cams.count ? cams.items : NULL;
  o.n_cams = cams.count;
  o.out_dir = out;
  o.id_key = id_key;
  o.offsets = pr.offsets;
  o.n_offsets = offsets.count;
  o.ports = pr.ports;
  o.n_ports = ports.count;
  o.allow_gaps = allow_gaps;
  o.allow_vfr = allow_vfr;
  o.overwrite = overwrite;
  o.check_only = check;
  o.log = on_log;
  o.progress = on_progress;
  o.user = &st;
  mhrfit_error err = {0};
  mhrfit_frames_summary s;
  bool ok = mhrfit_frames_extract(&o, &s, &err);
  mf_cli_status_end(&st);
  if (!ok) {
    rc = mf_report("frames", &err);
    goto done;
  }
  if (!quiet && !check)
    printf(
        "frames: %zu x %zu cameras; pictures: %zu written, %zu gaps, %zu failed; %zu video frames decoded%s\n"
        "wrote %s/frames_meta.json\n",
        s.n_frames, s.n_cams, s.views_written, s.views_gap, s.views_failed, s.frames_decoded,
        s.frames_corrupt ? " (some damaged, see warnings)" : "", out);
  rc = s.views_failed ? MF_EXIT_FAILURE : MF_EXIT_OK;
done:
  pairs_free(&pr);
  mf_strlist_free(&videos);
  mf_strlist_free(&cams);
  mf_strlist_free(&sync);
  mf_strlist_free(&offsets);
  mf_strlist_free(&ports);
  return rc;
}
