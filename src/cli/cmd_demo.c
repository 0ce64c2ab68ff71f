/* mhrfit demo: write a synthetic multi-view capture (include/mhrfit/demo.h). */
#define _XOPEN_SOURCE 700 /* realpath */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "common/clock.h"
#include "common/file.h"
#include "common/path.h"
#include "mhrfit/demo.h"

/* --run: the pipeline on the generated capture, with default settings and with
 * --freeze_lower_body, then the accuracy of both against the ground truth. */
/* Absolute, symlink-free form of `path`, which need not exist (realpath of its longest existing
 * ancestor, then the rest). NULL when out of memory or nothing of it resolves. */
static char *abs_path(const char *path) {
  char *r = realpath(path, NULL);
  if (r) return r;
  char *copy = strdup(path);
  if (!copy) return NULL;
  char *slash = strrchr(copy, '/');
  while (slash && slash > copy && *(slash + 1) == 0) { /* trailing slashes */
    *slash = 0;
    slash = strrchr(copy, '/');
  }
  char *head = NULL;
  const char *tail;
  if (!slash) {
    head = realpath(".", NULL);
    tail = copy;
  } else {
    *slash = 0;
    head = abs_path(slash == copy ? "/" : copy);
    tail = slash + 1;
  }
  char *out = NULL;
  if (head) {
    size_t n = strlen(head) + strlen(tail) + 2;
    out = malloc(n);
    if (out) snprintf(out, n, "%s/%s", strcmp(head, "/") == 0 ? "" : head, tail);
  }
  free(head);
  free(copy);
  return out;
}

/* `path` is `dir` or lies below it. */
static bool inside(const char *path, const char *dir) {
  char *p = abs_path(path), *d = abs_path(dir);
  size_t n = d ? strlen(d) : 0;
  bool in = p && d && strncmp(p, d, n) == 0 && (p[n] == 0 || p[n] == '/');
  free(p);
  free(d);
  return in;
}

typedef struct demo_run_args {
  const char *capture, *run_out; /* the demo capture and where the runs go */
  const mf_rig_src *rig;         /* the rig the demo was made with */
  long lod;
  size_t n_cams;
  double fps;                    /* frame rate of the capture: the smoothing cutoff is in Hz */
  double t_demo;                 /* seconds taken by the generation */
  bool quiet;
  bool images;                   /* the capture has pictures: the default run draws its overlays */
} demo_run_args;

static int run_pipeline(const demo_run_args *d, const char *out, bool freeze) {
  char calib[4200], lod_s[32], fps_s[32];
  snprintf(calib, sizeof calib, "%s/calibration.toml", d->capture);
  snprintf(lod_s, sizeof lod_s, "%ld", d->lod);
  snprintf(fps_s, sizeof fps_s, "%.17g", d->fps);
  const char *capture = d->capture;
  size_t n_cams = d->n_cams;
  char cam_names[16][16];
  char *argv[48];
  int argc = 0;
  argv[argc++] = "run";
  argv[argc++] = "--input";
  argv[argc++] = (char *)capture;
  argv[argc++] = "--calib";
  argv[argc++] = calib;
  argv[argc++] = "--cams";
  for (size_t v = 0; v < n_cams && v < 16; v++) {
    snprintf(cam_names[v], sizeof cam_names[v], "cam_%zu", v);
    argv[argc++] = cam_names[v];
  }
  argv[argc++] = "--out";
  argv[argc++] = (char *)out;
  argv[argc++] = d->rig->kind == MF_RIG_FROM_FILE ? "--rig" : "--assets"; /* $MHRFIT_ASSETS: either */
  argv[argc++] = (char *)d->rig->path;
  argv[argc++] = "--fps";
  argv[argc++] = fps_s;
  argv[argc++] = "--lod";
  argv[argc++] = lod_s;
  argv[argc++] = "--overwrite";
  argv[argc++] = "--quiet";
  if (freeze) argv[argc++] = "--freeze_lower_body";
  else argv[argc++] = "--report"; /* the default run's report.html */
  if (!freeze && d->images) argv[argc++] = "--overlay"; /* and its overlays */
  argv[argc] = NULL;
  return mf_cmd_run(argc, argv);
}

static void print_row(const char *label, double a, double b, const char *fmt) {
  char x[32], y[32];
  if (isfinite(a)) snprintf(x, sizeof x, fmt, a);
  else snprintf(x, sizeof x, "-");
  if (isfinite(b)) snprintf(y, sizeof y, fmt, b);
  else snprintf(y, sizeof y, "-");
  printf("| %-53s | %8s | %20s |\n", label, x, y);
}

static void print_report(const mhrfit_demo_accuracy *a, const mhrfit_demo_accuracy *b, double t_demo) {
  printf("\naccuracy against the ground truth (%zu frames, standing still for the first %zu)\n\n", a->n_frames,
         a->standing_frames);
  printf("| %-53s | %8s | %20s |\n", "", "default", "--freeze_lower_body");
  printf("|%s|%s|%s|\n", "-------------------------------------------------------", "---------:",
         "---------------------:");
  print_row("triangulation error, mean (mm)", a->tri_mean_mm, b->tri_mean_mm, "%.1f");
  print_row("triangulation error, median (mm)", a->tri_median_mm, b->tri_median_mm, "%.1f");
  print_row("triangulation error, 95th percentile (mm)", a->tri_p95_mm, b->tri_p95_mm, "%.1f");
  print_row("triangulation error, max (mm)", a->tri_max_mm, b->tri_max_mm, "%.1f");
  print_row("points more than 5 cm off", (double)a->tri_over_50mm, (double)b->tri_over_50mm, "%.0f");
  print_row("points triangulated", (double)a->tri_points, (double)b->tri_points, "%.0f");
  print_row("points left NaN (< 2 usable views)", (double)a->tri_nan_points, (double)b->tri_nan_points, "%.0f");
  print_row("fitted keypoint MPJPE, ok frames (mm)", a->fitted.mpjpe_mm, b->fitted.mpjpe_mm, "%.1f");
  print_row("fitted keypoint MPJPE, ok frames while standing (mm)", a->fitted.mpjpe_standing_mm,
            b->fitted.mpjpe_standing_mm, "%.1f");
  print_row("keypoint MPJPE, recovered frames (mm)", a->fitted.mpjpe_recovered_mm, b->fitted.mpjpe_recovered_mm,
            "%.1f");
  print_row("smoothed keypoint MPJPE, ok frames (mm)", a->smoothed.mpjpe_mm, b->smoothed.mpjpe_mm, "%.1f");
  print_row("acceleration error, fitted (mm/frame^2)", a->fitted.accel_err_mm, b->fitted.accel_err_mm, "%.2f");
  print_row("acceleration error, smoothed (mm/frame^2)", a->smoothed.accel_err_mm, b->smoothed.accel_err_mm, "%.2f");
  print_row("lower-body jitter while standing, fitted (mm/frame)", a->fitted.lower_jitter_mm,
            b->fitted.lower_jitter_mm, "%.2f");
  print_row("lower-body jitter while standing, smoothed (mm/frame)", a->smoothed.lower_jitter_mm,
            b->smoothed.lower_jitter_mm, "%.2f");
  for (size_t i = 0; i < a->n_status; i++) {
    double other = NAN;
    for (size_t k = 0; k < b->n_status; k++)
      if (strcmp(b->status_name[k], a->status_name[i]) == 0) other = (double)b->status_count[k];
    char label[64];
    snprintf(label, sizeof label, "frames %s", a->status_name[i]);
    print_row(label, (double)a->status_count[i], isfinite(other) ? other : 0, "%.0f");
  }
  for (size_t k = 0; k < b->n_status; k++) {
    bool seen = false;
    for (size_t i = 0; i < a->n_status; i++) seen = seen || strcmp(b->status_name[k], a->status_name[i]) == 0;
    if (seen) continue;
    char label[64];
    snprintf(label, sizeof label, "frames %s", b->status_name[k]);
    print_row(label, 0, (double)b->status_count[k], "%.0f");
  }
  print_row("time: demo generation (s)", t_demo, NAN, "%.2f");
  print_row("time: ingest (s)", a->time_ingest_s, b->time_ingest_s, "%.2f");
  print_row("time: triangulation (s)", a->time_triangulate_s, b->time_triangulate_s, "%.2f");
  print_row("time: fit (s)", a->time_fit_s, b->time_fit_s, "%.2f");
  print_row("time: recovery + smoothing (s)", a->time_sequence_s, b->time_sequence_s, "%.2f");
  print_row("time: whole run (s)", a->time_total_s, b->time_total_s, "%.2f");
}

static mhrfit_value *fit_json(mf_jb *j, const mhrfit_demo_fit_accuracy *f) {
  mhrfit_value *d = mhrfit_value_new_dict(j->err);
  if (!d) {
    j->failed = true;
    return NULL;
  }
  mf_jbool(j, d, "present", f->present);
  mf_jint(j, d, "ok_frames", (long long)f->n_frames_compared);
  mf_jint(j, d, "recovered_frames", (long long)f->n_frames_recovered);
  mf_jnum(j, d, "mpjpe_mm", f->mpjpe_mm);
  mf_jnum(j, d, "mpjpe_standing_mm", f->mpjpe_standing_mm);
  mf_jnum(j, d, "mpjpe_recovered_mm", f->mpjpe_recovered_mm);
  mf_jnum(j, d, "accel_err_mm_per_frame2", f->accel_err_mm);
  mf_jnum(j, d, "lower_body_jitter_mm_per_frame", f->lower_jitter_mm);
  return d;
}

static mhrfit_value *accuracy_json(mf_jb *j, const char *run_dir, const mhrfit_demo_accuracy *a) {
  mhrfit_value *d = mhrfit_value_new_dict(j->err), *tri = mhrfit_value_new_dict(j->err),
               *st = mhrfit_value_new_dict(j->err), *tm = mhrfit_value_new_dict(j->err);
  if (!d || !tri || !st || !tm) {
    j->failed = true;
    mhrfit_value_free(d);
    mhrfit_value_free(tri);
    mhrfit_value_free(st);
    mhrfit_value_free(tm);
    return NULL;
  }
  mf_jstr(j, d, "run_dir", run_dir);
  mf_jbool(j, d, "freeze_lower_body", a->freeze_lower_body);
  mf_jint(j, tri, "frames", (long long)a->tri_frames);
  mf_jint(j, tri, "points", (long long)a->tri_points);
  mf_jint(j, tri, "nan_points", (long long)a->tri_nan_points);
  mf_jnum(j, tri, "mean_mm", a->tri_mean_mm);
  mf_jnum(j, tri, "median_mm", a->tri_median_mm);
  mf_jnum(j, tri, "p95_mm", a->tri_p95_mm);
  mf_jnum(j, tri, "max_mm", a->tri_max_mm);
  mf_jint(j, tri, "over_50mm", (long long)a->tri_over_50mm);
  mf_jint(j, tri, "worst_frame", a->tri_worst_frame);
  mf_jint(j, tri, "worst_keypoint", a->tri_worst_kp);
  mf_jput(j, d, "triangulation", tri);
  mf_jput(j, d, "fitted", fit_json(j, &a->fitted));
  mf_jput(j, d, "smoothed", fit_json(j, &a->smoothed));
  for (size_t i = 0; i < a->n_status; i++) mf_jint(j, st, a->status_name[i], (long long)a->status_count[i]);
  mf_jput(j, d, "status_counts", st);
  mf_jnum(j, tm, "ingest_s", a->time_ingest_s);
  mf_jnum(j, tm, "triangulate_s", a->time_triangulate_s);
  mf_jnum(j, tm, "fit_s", a->time_fit_s);
  mf_jnum(j, tm, "recover_smooth_s", a->time_sequence_s);
  mf_jnum(j, tm, "total_s", a->time_total_s);
  mf_jput(j, d, "timing", tm);
  return d;
}

static int demo_run(const demo_run_args *d) {
  const char *capture = d->capture, *run_out = d->run_out;
  const double t_demo = d->t_demo;
  mhrfit_error err = {0};
  char dirs[2][4200];
  snprintf(dirs[0], sizeof dirs[0], "%s/default", run_out);
  snprintf(dirs[1], sizeof dirs[1], "%s/freeze_lower_body", run_out);
  mhrfit_demo_accuracy acc[2];
  for (int i = 0; i < 2; i++) {
    if (!d->quiet) {
      printf("running the pipeline (%s) into %s ...\n", i ? "--freeze_lower_body" : "default settings", dirs[i]);
      fflush(stdout);
    }
    int rc = run_pipeline(d, dirs[i], i == 1);
    if (rc != MF_EXIT_OK) {
      fprintf(stderr, "mhrfit demo: the pipeline failed on the demo capture (see above)\n");
      return rc;
    }
    if (!mhrfit_demo_evaluate(capture, dirs[i], &acc[i], &err)) return mf_report("demo", &err);
  }
  print_report(&acc[0], &acc[1], t_demo);
  mf_jb j = {&err, false};
  mhrfit_value *doc = mhrfit_value_new_dict(&err);
  if (!doc) return mf_report("demo", &err);
  mf_jstr(&j, doc, "capture", capture);
  mf_jint(&j, doc, "frames", (long long)acc[0].n_frames);
  mf_jint(&j, doc, "standing_frames", (long long)acc[0].standing_frames);
  mf_jnum(&j, doc, "demo_generation_s", t_demo);
  mf_jput(&j, doc, "default", accuracy_json(&j, dirs[0], &acc[0]));
  mf_jput(&j, doc, "freeze_lower_body", accuracy_json(&j, dirs[1], &acc[1]));
  char path[4200];
  snprintf(path, sizeof path, "%s/accuracy.json", run_out);
  bool ok = !j.failed && mf_write_json_atomic(path, doc, 2, &err);
  mhrfit_value_free(doc);
  if (!ok) return mf_report("demo", &err);
  if (!d->quiet)
    printf("\nwrote %s (these numbers), %s/{default,freeze_lower_body}/ (the runs)\n", path, run_out);
  printf("report of the default run: %s/report.html (open it in a browser)\n", dirs[0]);
  if (d->images) printf("overlays of the default run: %s/overlay/<frame>/<cam>.jpg\n", dirs[0]);
  return MF_EXIT_OK;
}

int mf_cmd_demo(int argc, char **argv) {
  mhrfit_demo_options o;
  mhrfit_demo_options_init(&o);
  const char *out = NULL, *assets = NULL, *rig_path = NULL, *markers = NULL;
  long frames = (long)o.n_frames, cams = (long)o.n_cams, seed = (long)o.seed, lod = o.lod;
  double noise = o.pixel_noise, outliers = o.outlier_rate, angle = o.angle_noise, depth = o.depth_noise,
         decoys = o.decoy_rate, fps = o.fps;
  bool no_missing = false, quiet = false, run = false, images = false, overwrite = false;
  const char *run_out = NULL;
  const mf_opt opts[] = {
      {"out", MF_OPT_STRING, &out, "DIR", "output folder (created; must be new or empty, or an earlier demo with --overwrite); required", NULL},
      {"overwrite", MF_OPT_FLAG, &overwrite, NULL, "replace an earlier demo in --out", NULL},
      {"num_frames", MF_OPT_INT, &frames, "N", "number of frames, 1..100000 (default 120; fewer: the start of the 120-frame motion, at its speed)", NULL},
      MF_OPT_ALIAS_OF("frames", "num_frames"), /* the older name; elsewhere --frames selects frames */
      {"num_cams", MF_OPT_INT, &cams, "N", "number of cameras on the ring, 2..16 (default 4)", NULL},
      MF_OPT_ALIAS_OF("cams", "num_cams"), /* the older name; elsewhere --cams names cameras */
      {"seed", MF_OPT_INT, &seed, "S", "random seed, >= 0; the same seed writes byte-identical files (default 1)", NULL},
      MF_RIG_OPT_ASSETS(&assets),
      MF_RIG_OPT_RIG(&rig_path),
      {"lod", MF_OPT_INT, &lod, "N", MF_LOD_HELP, NULL},
      {"fps", MF_OPT_DOUBLE, &fps, "HZ", "frame rate of the motion (default 30)", NULL},
      {"noise", MF_OPT_DOUBLE, &noise, "PX", "sigma of the 2-D keypoint noise per axis (default 2)", NULL},
      {"outlier_rate", MF_OPT_DOUBLE, &outliers, "R", "fraction of 2-D keypoints made 30-150 px outliers (default 0.02)", NULL},
      {"angle_noise", MF_OPT_DOUBLE, &angle, "RAD", "sigma of the per-view joint-angle error (default 0.08)", NULL},
      {"depth_noise", MF_OPT_DOUBLE, &depth, "R", "sigma of the per-view relative depth error (default 0.05)", NULL},
      {"decoy_rate", MF_OPT_DOUBLE, &decoys, "R", "fraction of views with a smaller second person listed first (default 0.1)", NULL},
      {"no_missing_views", MF_OPT_FLAG, &no_missing, NULL, "write every camera file (default: a few missing, one single-view frame)", NULL},
      {"images", MF_OPT_FLAG, &images, NULL, "also <frame>/<cam>.jpg: a flat background with the subject's silhouette (for mhrfit overlay; with --run, the default run's overlays)", NULL},
      {"markers", MF_OPT_STRING, &markers, "FILE", "SAM 3D Body output whose pred_keypoints_3d calibrates the surface keypoints (default: built-in offsets)", NULL},
      {"run", MF_OPT_FLAG, &run, NULL, "then run the pipeline on the capture twice (default settings, --freeze_lower_body), print its accuracy against the ground truth and write the default run's report.html", NULL},
      {"run_out", MF_OPT_STRING, &run_out, "DIR", "where --run writes: DIR/default/, DIR/freeze_lower_body/, DIR/accuracy.json (default: <out>_run)", NULL},
      {"quiet", MF_OPT_FLAG, &quiet, NULL, MF_OPT_QUIET_HELP " (--run still prints its table and the report's path)", NULL},
  };
  const mf_cmd_spec spec = {
      "demo", "--out DIR [--num_frames N] [--num_cams N] [--seed S] [--assets DIR | --rig RIG.npz] [options]",
      "Writes a synthetic multi-view capture generated from the MHR rig, as a real one looks after\n"
      "SAM 3D Body: DIR/calibration.toml (Caliscope/Anipose TOML), DIR/<frame>/<cam>.npz (SAM 3D Body\n"
      "outputs per view: keypoints with pixel noise, outliers, occlusions; noisy per-view MHR\n"
      "estimates; a smaller second person listed first in some views; a few missing camera files and\n"
      "one frame seen by a single camera), DIR/ground_truth.npz (the true motion, world metres, y up)\n"
      "and DIR/README.txt (the scene and its conventions); DIR must be new or empty (--overwrite\n"
      "replaces an earlier demo). The subject stands still for the first two thirds while the upper\n"
      "body moves, then steps and turns. Deterministic for a given seed.\n"
      "With --run, the whole pipeline (mhrfit run) then processes the capture twice, with default\n"
      "settings and with --freeze_lower_body, and a table compares both with the ground truth:\n"
      "triangulation error, fitted and smoothed keypoint MPJPE, lower-body jitter while standing,\n"
      "frame statuses and the wall time of each stage (also written to <run_out>/accuracy.json); the\n"
      "default run's report (mhrfit report) is <run_out>/default/report.html, its path printed; with\n"
      "--images, that run also draws its overlays (mhrfit run --overlay) into <run_out>/default/overlay/.",
      opts, sizeof opts / sizeof opts[0], 0, 0};
  mf_strlist pos;
  int rc = mf_args_parse(&spec, argc, argv, &pos);
  if (rc >= 0) return rc;
  mf_strlist_free(&pos);
  if (!out || !*out) return mf_usage_error("demo", "--out DIR is required");
  mf_rig_src rig_src;
  if ((rc = mf_rig_choose(assets, rig_path, "demo", &rig_src)) >= 0) return rc;
  if (frames < 1 || frames > 100000) return mf_usage_error("demo", "--num_frames must be within 1..100000");
  if (cams < 2 || cams > 16) return mf_usage_error("demo", "--num_cams must be within 2..16");
  if (seed < 0) return mf_usage_error("demo", "--seed must be >= 0");
  if ((rc = mf_lod_check(lod, "demo")) >= 0) return rc;
  o.assets = rig_src.path;
  o.lod = (int)lod;
  o.n_frames = (size_t)frames;
  o.n_cams = (size_t)cams;
  o.seed = (uint64_t)seed;
  o.fps = fps;
  o.pixel_noise = noise;
  o.outlier_rate = outliers;
  o.angle_noise = angle;
  o.depth_noise = depth;
  o.decoy_rate = decoys;
  o.missing_views = !no_missing;
  o.images = images;
  o.marker_source = markers;
  o.overwrite = overwrite;
  mhrfit_demo_summary s;
  mhrfit_error err = {0};
  if (!mf_rig_check(&rig_src, &err) || !mhrfit_demo_check_out(out, overwrite, &err)) return mf_report("demo", &err);
  char *default_run = NULL;
  if (run && !run_out) {
    size_t n = strlen(out);
    while (n > 1 && out[n - 1] == '/') n--;
    default_run = malloc(n + 8);
    if (!default_run) {
      fprintf(stderr, "mhrfit demo: out of memory\n");
      return MF_EXIT_FAILURE;
    }
    snprintf(default_run, n + 8, "%.*s_run", (int)n, out);
    run_out = default_run;
  }
  if (run && inside(run_out, out)) {
    free(default_run);
    return mf_usage_error("demo", "--run_out %s is inside --out %s: mhrfit run would take it for a frame folder",
                          run_out, out);
  }
  double t0 = mf_now_seconds();
  if (!mhrfit_demo_write(out, &o, &s, &err)) {
    if (err.type == MHRFIT_ERR_ARGUMENT) {
      fprintf(stderr, "mhrfit demo: %s (see mhrfit demo --help)\n", err.message);
      return MF_EXIT_USAGE;
    }
    return mf_report("demo", &err);
  }
  double secs = mf_now_seconds() - t0;
  const demo_run_args dr = {out, run_out, &rig_src, lod, s.n_cams, fps, secs, quiet, images};
  if (quiet) {
    rc = run ? demo_run(&dr) : MF_EXIT_OK;
    free(default_run);
    return rc;
  }
  printf("wrote a synthetic capture to %s in %.2f s (seed %ld)\n", out, secs, seed);
  printf("  %zu frames (000000..%06zu) x %zu cameras at %g fps: standing still for %zu frames, then a step and a turn\n",
         s.n_frames, s.n_frames - 1, s.n_cams, fps, s.standing_frames);
  printf("  %zu stage-1 files; %zu camera files missing", s.n_files, s.n_missing);
  if (s.one_view_frame >= 0) printf(" (frame %06ld is seen by one camera only)", s.one_view_frame);
  printf("\n  %zu views with a smaller second person listed first (select the largest bbox)\n", s.n_decoy_views);
  printf("  2-D keypoints: %zu finite (%zu gross outliers), %zu NaN (outside the image or self-occluded)\n",
         s.n_visible, s.n_outliers, s.n_hidden);
  printf("  truth: %s/ground_truth.npz; conventions: %s/README.txt\n", out, out);
  printf("next: mhrfit triangulate --calib %s/calibration.toml --input %s/%06ld --out tri.npz\n", out, out,
         s.example_frame >= 0 ? s.example_frame : 0L);
  printf("  or the whole pipeline: mhrfit run --input %s --calib %s/calibration.toml --fps %g --out %s_run\n", out, out,
         fps, out); /* the demo's own rate, not one assumed */
  rc = MF_EXIT_OK;
  if (run) {
    printf("\n");
    rc = demo_run(&dr);
  }
  free(default_run);
  return rc;
}
