/* `mhrfit overlay` throughput on one core: overlays per second for 4 full-HD cameras with every
 * layer, step by step on the same views, and the video encoding rate.
 *
 *   bench_overlay MHRFIT_BINARY ASSETS_DIR [FRAMES=20] [RUNS=3] [WORK_DIR]
 *
 * A demo capture with pictures (4 cameras, 1920 x 1080, seed 1) is written into WORK_DIR
 * (default: a new temporary folder, removed at the end) and `mhrfit run` fitted once on it. Then,
 * per view (median of RUNS passes over every view): decoding the JPEG picture; drawing every
 * layer with the mesh as a silhouette and as a wireframe (the assets' mesh); the mesh layer alone
 * with a LOD 1-sized mesh (the fitted mesh with each triangle cut into 6 x 6: 42,696 triangles,
 * close to LOD 1's 36,874); encoding and writing the overlay JPEG (quality 90); and the whole
 * mhrfit_overlay_process() without videos, with the per-camera videos (libx264, preset
 * veryfast, crf 20, one thread), and with the grid video too. Last, the encoder alone on
 * full-HD frames. The process is pinned to one CPU. */
#define _GNU_SOURCE
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"
#include "export/export_internal.h"
#include "mhrfit/demo.h"
#include "mhrfit/overlay.h"

static const char *assets;
static char work[512];

static const char *wp(const char *rel) {
  static char buf[4][1024];
  static int k;
  k = (k + 1) % 4;
  snprintf(buf[k], sizeof buf[k], "%s/%s", work, rel);
  return buf[k];
}

static void die(const char *what, const mhrfit_error *err) {
  fprintf(stderr, "bench_overlay: %s: %s\n", what, err ? err->message : "");
  exit(1);
}

static mhrfit_overlay *open_overlay(const char *out, unsigned layers, mhrfit_mesh_style style, bool video, bool grid) {
  mhrfit_overlay_options o;
  mhrfit_overlay_options_init(&o);
  o.run_dir = wp("run");
  o.out_dir = out;
  o.rig_path = assets;
  o.layers = layers;
  o.mesh_style = style;
  o.video = video;
  o.grid = grid;
  mhrfit_error err = {0};
  mhrfit_overlay *ov = mhrfit_overlay_new(&o, &err);
  if (!ov) die("overlay", &err);
  return ov;
}

/* Per-view milliseconds of the steps over every view: decode, draw (two styles), encode + write. */
static void steps(double ms[4]) {
  mhrfit_overlay *sil = open_overlay(wp("o_steps"), MHRFIT_LAYERS_ALL, MHRFIT_MESH_SILHOUETTE, false, false);
  mhrfit_overlay *wire = open_overlay(wp("o_steps"), MHRFIT_LAYERS_ALL, MHRFIT_MESH_WIREFRAME, false, false);
  mhrfit_image_write_options wo;
  mhrfit_image_write_options_init(&wo);
  wo.quality = 90;
  mhrfit_error err = {0};
  double t[4] = {0, 0, 0, 0};
  size_t n = 0;
  for (size_t f = 0; f < mhrfit_overlay_n_frames(sil); f++)
    for (size_t c = 0; c < mhrfit_overlay_n_cams(sil); c++) {
      char rel[256];
      snprintf(rel, sizeof rel, "demo/%s/%s.jpg", mhrfit_overlay_frame_name(sil, f), mhrfit_overlay_camera(sil, c)->name);
      if (access(wp(rel), F_OK) != 0) continue;
      double t0 = bench_now();
      mhrfit_image *a = mhrfit_image_read(wp(rel), 3, &err);
      double t1 = bench_now();
      mhrfit_image *b = mhrfit_image_read(wp(rel), 3, &err);
      if (!a || !b) die(rel, &err);
      double t2 = bench_now();
      if (!mhrfit_overlay_render(sil, f, c, a, NULL, &err)) die("render", &err);
      double t3 = bench_now();
      if (!mhrfit_overlay_render(wire, f, c, b, NULL, &err)) die("render", &err);
      double t4 = bench_now();
      if (!mhrfit_image_write(wp("o_steps_view.jpg"), a, &wo, &err)) die("write", &err);
      double t5 = bench_now();
      t[0] += t1 - t0, t[1] += t3 - t2, t[2] += t4 - t3, t[3] += t5 - t4;
      n++;
      mhrfit_image_free(a);
      mhrfit_image_free(b);
    }
  for (int i = 0; i < 4; i++) ms[i] = 1e3 * t[i] / (double)n;
  mhrfit_overlay_free(sil);
  mhrfit_overlay_free(wire);
}

/* Per-view milliseconds of the mesh alone with a LOD 1-sized mesh (silhouette, wireframe). */
static void hires_mesh(double ms[2], size_t *n_faces) {
  mhrfit_error err = {0};
  mhrfit_rig *rig = mhrfit_rig_open(assets, -1, MHRFIT_RIG_NO_CORRECTIVE_BLENDSHAPES, &err);
  mhrfit_export_source *src = rig ? mhrfit_export_source_load(wp("run"), NULL, NULL, 0, &err) : NULL;
  mhrfit_calib *calib = src ? mhrfit_calib_load(wp("demo/calibration.toml"), NULL, &err) : NULL;
  if (!calib) die("mesh", &err);
  size_t V = rig->n_vertices, F = rig->n_faces;
  double *work_buf = malloc((mhrfit_rig_skin_work_size(rig) + 20 * rig->n_joints + 6 * V + 16) * sizeof(double));
  double *mesh = malloc(3 * V * sizeof(double));
  enum { N = 6, PER = (N + 1) * (N + 2) / 2 };
  double *hv = malloc(F * PER * 3 * sizeof(double));
  int32_t *hf = malloc(F * N * N * 3 * sizeof(int32_t));
  if (!work_buf || !mesh || !hv || !hf || !mf_export_world_mesh(rig, src, 0, work_buf, mesh, &err)) die("mesh", &err);
  size_t nv = 0, nf = 0;
  for (size_t f = 0; f < F; f++) {
    const double *a = mesh + 3 * (size_t)rig->faces[3 * f], *b = mesh + 3 * (size_t)rig->faces[3 * f + 1],
                 *c = mesh + 3 * (size_t)rig->faces[3 * f + 2];
    size_t base = nv, idx[N + 1][N + 1];
    for (int i = 0; i <= N; i++)
      for (int j = 0; i + j <= N; j++) {
        for (int k = 0; k < 3; k++) hv[3 * nv + (size_t)k] = a[k] + (b[k] - a[k]) * i / N + (c[k] - a[k]) * j / N;
        idx[i][j] = nv++;
      }
    (void)base;
    for (int i = 0; i < N; i++)
      for (int j = 0; i + j < N; j++) {
        int32_t t1[3] = {(int32_t)idx[i][j], (int32_t)idx[i + 1][j], (int32_t)idx[i][j + 1]};
        memcpy(hf + 3 * nf++, t1, sizeof t1);
        if (i + j + 1 < N) {
          int32_t t2[3] = {(int32_t)idx[i + 1][j], (int32_t)idx[i + 1][j + 1], (int32_t)idx[i][j + 1]};
          memcpy(hf + 3 * nf++, t2, sizeof t2);
        }
      }
  }
  *n_faces = nf;
  mhrfit_image *img = mhrfit_image_new(1920, 1080, 3, &err);
  mhrfit_raster *r = mhrfit_raster_new(1920, 1080, &err);
  if (!img || !r) die("mesh", &err);
  for (int s = 0; s < 2; s++) {
    double t0 = bench_now();
    for (size_t c = 0; c < calib->n_cams; c++)
      if (!mhrfit_draw_mesh(img, r, &calib->cams[c], hv, nv, hf, nf, s ? MHRFIT_MESH_WIREFRAME : MHRFIT_MESH_SILHOUETTE,
                            (mhrfit_rgba){110, 170, 255, 115}, NULL, &err))
        die("draw", &err);
    ms[s] = 1e3 * (bench_now() - t0) / (double)calib->n_cams;
  }
  mhrfit_image_free(img);
  mhrfit_raster_free(r);
  free(work_buf);
  free(mesh);
  free(hv);
  free(hf);
  mhrfit_calib_free(calib);
  mhrfit_export_source_free(src);
  mhrfit_rig_free(rig);
}

/* Views per second of the whole processing. */
static double whole(bool video, bool grid, size_t *views) {
  char out[64];
  snprintf(out, sizeof out, "o_whole_%d%d", video, grid);
  mhrfit_overlay *ov = open_overlay(wp(out), MHRFIT_LAYERS_ALL, MHRFIT_MESH_SILHOUETTE, video, grid);
  mhrfit_overlay_summary s;
  mhrfit_error err = {0};
  double t0 = bench_now();
  if (!mhrfit_overlay_process(ov, &s, &err)) die("process", &err);
  double t = bench_now() - t0;
  *views = s.images_written;
  mhrfit_overlay_free(ov);
  return (double)s.images_written / t;
}

/* Frames per second of the H.264 encoder alone on full-HD overlays: camera 0's overlays in
 * turn, as its video shows them. */
static double encoder(size_t n_frames, size_t frames) {
  mhrfit_error err = {0};
  mhrfit_image *pics[64];
  size_t n = 0;
  for (size_t f = 0; f < n_frames && n < 64; f++) {
    char rel[64];
    snprintf(rel, sizeof rel, "o_whole_00/%06zu/cam_0.jpg", f);
    if (access(wp(rel), F_OK) == 0 && !(pics[n++] = mhrfit_image_read(wp(rel), 3, &err))) die(rel, &err);
  }
  if (!n) die("encoder: no overlay of camera cam_0", NULL);
  mhrfit_video_writer *w = mhrfit_video_writer_new(wp("enc.mp4"), pics[0]->width, pics[0]->height, NULL, &err);
  if (!w) die("encoder", &err);
  double t0 = bench_now();
  for (size_t k = 0; k < frames; k++)
    if (!mhrfit_video_writer_write(w, pics[k % n], &err)) die("encoder", &err);
  if (!mhrfit_video_writer_finish(w, &err)) die("encoder", &err);
  double t = bench_now() - t0;
  mhrfit_video_writer_free(w);
  for (size_t i = 0; i < n; i++) mhrfit_image_free(pics[i]);
  return (double)frames / t;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: bench_overlay MHRFIT_BINARY ASSETS_DIR [FRAMES=20] [RUNS=3] [WORK_DIR]\n");
    return 2;
  }
  assets = argv[2];
  int frames = argc > 3 ? atoi(argv[3]) : 20, runs = argc > 4 ? atoi(argv[4]) : 3;
  if (frames < 3 || runs < 1 || runs > 50) {
    fprintf(stderr, "bench_overlay: FRAMES >= 3, RUNS within 1..50\n");
    return 2;
  }
  bool temp;
  if (!bench_work_dir(argc > 5 ? argv[5] : NULL, "mhrfit_bench_overlay", work, sizeof work, &temp)) return 1;
  bool pinned = bench_pin_one_cpu();
  mhrfit_demo_options d;
  mhrfit_demo_options_init(&d);
  d.assets = assets;
  d.n_frames = (size_t)frames;
  d.images = true;
  mhrfit_error err = {0};
  if (!mhrfit_demo_write(wp("demo"), &d, NULL, &err)) die("demo", &err);
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "'%s' run --quiet --input '%s' --calib '%s' --cams cam_0 cam_1 cam_2 cam_3 "
           "--out '%s' --assets '%s'", argv[1], wp("demo"), wp("demo/calibration.toml"), wp("run"), assets);
  if (system(cmd) != 0) die("mhrfit run failed", NULL);

  enum { N_ROWS = 10 };
  double t[N_ROWS][50];
  size_t views = 0, faces = 0;
  for (int r = 0; r < runs; r++) {
    double s[4], m[2];
    steps(s);
    hires_mesh(m, &faces);
    t[0][r] = s[0], t[1][r] = s[1], t[2][r] = s[2], t[3][r] = m[0], t[4][r] = m[1], t[5][r] = s[3];
    t[6][r] = 1e3 / whole(false, false, &views);
    t[7][r] = 1e3 / whole(true, false, &views);
    t[8][r] = 1e3 / whole(true, true, &views);
    t[9][r] = 1e3 / encoder((size_t)frames, 60);
  }
  printf("mhrfit overlay, %d frames x 4 cameras of 1920x1080 (%zu views), median of %d run(s)%s\n\n", frames, views,
         runs, pinned ? ", one CPU" : "");
  static const char *const label[N_ROWS] = {
      "decode the JPEG picture",
      "draw every layer, mesh as silhouette (assets' mesh)",
      "draw every layer, mesh as wireframe (assets' mesh)",
      "mesh alone, silhouette, LOD 1-sized mesh",
      "mesh alone, wireframe, LOD 1-sized mesh",
      "encode + write the overlay JPEG (quality 90)",
      "whole overlay, pictures only",
      "whole overlay + a video per camera",
      "whole overlay + a video per camera + grid video",
      "video encoding alone (libx264 veryfast crf 20, 1 thread)"};
  printf("| step | ms per view | views/s |\n|---|---:|---:|\n");
  for (int i = 0; i < N_ROWS; i++) {
    double ms = bench_median(t[i], (size_t)runs);
    printf("| %s | %.1f | %.1f |\n", label[i], ms, 1e3 / ms);
  }
  printf("\n(LOD 1-sized mesh: %zu triangles; the last row counts video frames)\n", faces);
  if (temp) {
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", work);
    if (system(cmd) != 0) fprintf(stderr, "bench_overlay: could not remove %s\n", work);
  }
  return 0;
}
