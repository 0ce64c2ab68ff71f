/* `mhrfit frames` throughput: frames per second over N videos (default: the 4 full-HD Pose2Sim
 * demo videos, 100 frames each), one core, median of several runs, step by step on the same
 * inputs: demux + decode only, + conversion to RGB, + JPEG encoding in memory (quality 95, 4:2:0),
 * the whole extraction (mhrfit_frames_extract: scan, decode, convert, encode, atomic file writes,
 * index files), and for reference the ffmpeg program writing JPEGs (`-threads 1`, `-q:v 2`, one
 * process per video) when it is on PATH.
 *
 *   bench_frames [RUNS=3] [VIDEO ...]
 *     (default videos: $MHRFIT_TESTDATA/pose2sim_a948c20/.../S00_P00_T01_BalancingTrial/videos/cam0[1-4].mp4,
 *      MHRFIT_TESTDATA defaulting to ../shared/testdata)
 *
 * The process (and the ffmpeg runs it starts) is pinned to one CPU; decoders use one thread. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"
#include "mhrfit/media.h"

#define MAX_VIDEOS 16

typedef enum { STEP_DECODE, STEP_RGB, STEP_JPEG } step;

/* Decodes every video front to back; returns the frames decoded, or -1 on error. */
static long run_step(char **videos, int n, step s, mhrfit_image_encoder *enc) {
  long frames = 0;
  for (int v = 0; v < n; v++) {
    mhrfit_error err = {0};
    mhrfit_video_options o;
    mhrfit_video_options_init(&o);
    o.scan = false;
    mhrfit_video_reader *r = mhrfit_video_reader_new(videos[v], &o, &err);
    if (!r) {
      fprintf(stderr, "bench_frames: %s\n", err.message);
      return -1;
    }
    mhrfit_video_frame f;
    bool got;
    while (mhrfit_video_reader_next(r, s != STEP_DECODE, &f, &got, &err) && got) {
      frames++;
      const unsigned char *data;
      size_t len;
      if (s == STEP_JPEG && !mhrfit_image_encoder_encode(enc, f.image, &data, &len, &err)) break;
    }
    mhrfit_video_reader_free(r);
    if (err.type != MHRFIT_ERR_NONE) {
      fprintf(stderr, "bench_frames: %s\n", err.message);
      return -1;
    }
  }
  return frames;
}

static long run_extract(char **videos, int n, const char *out) {
  mhrfit_frames_video v[MAX_VIDEOS];
  char names[MAX_VIDEOS][16];
  for (int i = 0; i < n; i++) {
    snprintf(names[i], sizeof names[i], "cam_%d", i);
    v[i] = (mhrfit_frames_video){names[i], videos[i]};
  }
  mhrfit_frames_options o;
  mhrfit_frames_options_init(&o);
  o.videos = v;
  o.n_videos = (size_t)n;
  o.out_dir = out;
  o.overwrite = true;
  o.allow_gaps = true; /* videos of different lengths: every frame of each */
  o.end = 0;
  for (int i = 0; i < n; i++) {
    mhrfit_error err = {0};
    mhrfit_video_reader *r = mhrfit_video_reader_new(videos[i], NULL, &err);
    if (!r) return -1;
    if (mhrfit_video_reader_info(r)->frame_count > o.end) o.end = mhrfit_video_reader_info(r)->frame_count;
    mhrfit_video_reader_free(r);
  }
  mhrfit_error err = {0};
  mhrfit_frames_summary s;
  if (!mhrfit_frames_extract(&o, &s, &err)) {
    fprintf(stderr, "bench_frames: %s\n", err.message);
    return -1;
  }
  return (long)s.views_written;
}

static long run_ffmpeg(char **videos, int n, const char *out) {
  long frames = 0;
  for (int i = 0; i < n; i++) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "rm -rf '%s/ff%d' && mkdir -p '%s/ff%d' && ffmpeg -nostdin -v error -threads 1 -i '%s' -q:v 2 "
             "'%s/ff%d/%%06d.jpg' && ls '%s/ff%d' | wc -l",
             out, i, out, i, videos[i], out, i, out, i);
    FILE *p = popen(cmd, "r");
    long k = -1;
    if (!p || fscanf(p, "%ld", &k) != 1) k = -1;
    if (p) pclose(p);
    if (k < 0) return -1;
    frames += k;
  }
  return frames;
}

int main(int argc, char **argv) {
  int runs = argc > 1 ? atoi(argv[1]) : 3;
  if (runs < 1) runs = 3;
  char *videos[MAX_VIDEOS];
  char defaults[4][4096];
  int n = 0;
  for (int i = 2; i < argc && n < MAX_VIDEOS; i++) videos[n++] = argv[i];
  if (n == 0) {
    const char *data = getenv("MHRFIT_TESTDATA") ? getenv("MHRFIT_TESTDATA") : "../shared/testdata";
    for (int i = 0; i < 4; i++) {
      snprintf(defaults[i], sizeof defaults[i],
               "%s/pose2sim_a948c20/S00_P00_SingleParticipant/S00_P00_T01_BalancingTrial/videos/cam0%d.mp4", data,
               i + 1);
      videos[n++] = defaults[i];
    }
  }
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(sched_getcpu() >= 0 ? sched_getcpu() : 0, &one);
  bool pinned = sched_setaffinity(0, sizeof one, &one) == 0;
  char out[] = "/tmp/bench_frames_XXXXXX";
  if (!mkdtemp(out)) return 1;
  char extract_dir[64];
  snprintf(extract_dir, sizeof extract_dir, "%s/capture", out);
  mhrfit_image_encoder *enc = mhrfit_image_encoder_new(NULL, NULL);
  bool have_ffmpeg = system("ffmpeg -version >/dev/null 2>&1") == 0;
  printf("mhrfit frames: %d video(s), median of %d runs, %s\n\n", n, runs, pinned ? "one CPU" : "not pinned");
  for (int i = 0; i < n; i++) {
    mhrfit_video_reader *r = mhrfit_video_reader_new(videos[i], NULL, NULL);
    if (!r) {
      fprintf(stderr, "bench_frames: cannot open %s\n", videos[i]);
      return 1;
    }
    const mhrfit_video_info *in = mhrfit_video_reader_info(r);
    printf("  %s: %dx%d %s, %lld frames\n", videos[i], in->width, in->height, in->codec, in->frame_count);
    mhrfit_video_reader_free(r);
  }
  printf("\n| step | frames | s | frames/s | ms/frame |\n|---|---:|---:|---:|---:|\n");
  const char *labels[5] = {"demux + decode", "+ RGB conversion", "+ JPEG encoding (memory)",
                           "mhrfit frames (scan, decode, RGB, JPEG, files)", "ffmpeg -threads 1 -q:v 2 (reference)"};
  for (int k = 0; k < 5; k++) {
    if (k == 4 && !have_ffmpeg) break;
    double t[32];
    long frames = 0;
    for (int r = 0; r < runs && r < 32; r++) {
      double t0 = bench_now();
      frames = k < 3    ? run_step(videos, n, (step)k, enc)
               : k == 3 ? run_extract(videos, n, extract_dir)
                        : run_ffmpeg(videos, n, out);
      t[r] = bench_now() - t0;
      if (frames < 0) return 1;
    }
    double med = bench_median(t, (size_t)(runs < 32 ? runs : 32));
    printf("| %s | %ld | %.2f | %.1f | %.2f |\n", labels[k], frames, med, frames / med, 1e3 * med / frames);
  }
  mhrfit_image_encoder_free(enc);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", out);
  if (system(cmd) != 0) fprintf(stderr, "bench_frames: could not remove %s\n", out);
  return 0;
}
