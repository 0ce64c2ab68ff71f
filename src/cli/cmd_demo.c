/* mhrfit demo: write a synthetic multi-view capture (include/mhrfit/demo.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "common/clock.h"
#include "mhrfit/demo.h"

int mf_cmd_demo(int argc, char **argv) {
  mhrfit_demo_options o;
  mhrfit_demo_options_init(&o);
  const char *out = NULL, *assets = NULL, *rig_path = NULL, *markers = NULL;
  long frames = (long)o.n_frames, cams = (long)o.n_cams, seed = (long)o.seed, lod = o.lod;
  double noise = o.pixel_noise, outliers = o.outlier_rate, angle = o.angle_noise, depth = o.depth_noise,
         decoys = o.decoy_rate, fps = o.fps;
  bool no_missing = false, quiet = false;
  const mf_opt opts[] = {
      {"out", MF_OPT_STRING, &out, "DIR", "output folder (created; must be empty, new or an earlier demo); required", NULL},
      {"frames", MF_OPT_INT, &frames, "N", "number of frames, 1..100000 (default 120)", NULL},
      {"cams", MF_OPT_INT, &cams, "N", "number of cameras on the ring, 2..16 (default 4)", NULL},
      {"seed", MF_OPT_INT, &seed, "S", "random seed, >= 0; the same seed writes byte-identical files (default 1)", NULL},
      MF_RIG_OPT_ASSETS(&assets),
      MF_RIG_OPT_RIG(&rig_path),
      {"lod", MF_OPT_INT, &lod, "N", "FBX level of detail to load (default: the lowest lodN.fbx present, or the rig file's)", NULL},
      {"fps", MF_OPT_DOUBLE, &fps, "HZ", "frame rate of the motion (default 30)", NULL},
      {"noise", MF_OPT_DOUBLE, &noise, "PX", "sigma of the 2-D keypoint noise per axis (default 2)", NULL},
      {"outlier_rate", MF_OPT_DOUBLE, &outliers, "R", "fraction of 2-D keypoints made 30-150 px outliers (default 0.02)", NULL},
      {"angle_noise", MF_OPT_DOUBLE, &angle, "RAD", "sigma of the per-view joint-angle error (default 0.08)", NULL},
      {"depth_noise", MF_OPT_DOUBLE, &depth, "R", "sigma of the per-view relative depth error (default 0.05)", NULL},
      {"decoy_rate", MF_OPT_DOUBLE, &decoys, "R", "fraction of views with a smaller second person listed first (default 0.1)", NULL},
      {"no_missing_views", MF_OPT_FLAG, &no_missing, NULL, "write every camera file (default: a few missing, one single-view frame)", NULL},
      {"markers", MF_OPT_STRING, &markers, "FILE", "SAM 3D Body output whose pred_keypoints_3d calibrates the surface keypoints (default: built-in offsets)", NULL},
      {"quiet", MF_OPT_FLAG, &quiet, NULL, "print nothing but errors", NULL},
  };
  const mf_cmd_spec spec = {
      "demo", "--out DIR [--frames N] [--cams N] [--seed S] [--assets DIR | --rig RIG.npz] [options]",
      "Writes a synthetic multi-view capture generated from the MHR rig, as a real one looks after\n"
      "SAM 3D Body: DIR/calibration.toml (Caliscope/Anipose TOML), DIR/<frame>/<cam>.npz (SAM 3D Body\n"
      "outputs per view: keypoints with pixel noise, outliers, occlusions; noisy per-view MHR\n"
      "estimates; a smaller second person listed first in some views; a few missing camera files and\n"
      "one frame seen by a single camera), DIR/ground_truth.npz (the true motion, world metres, y up)\n"
      "and DIR/README.txt (the scene and its conventions). The subject stands still for the first two\n"
      "thirds while the upper body moves, then steps and turns. Deterministic for a given seed.",
      opts, sizeof opts / sizeof opts[0], 0, 0};
  mf_strlist pos;
  int rc = mf_args_parse(&spec, argc, argv, &pos);
  if (rc >= 0) return rc;
  mf_strlist_free(&pos);
  if (!out || !*out) return mf_usage_error("demo", "--out DIR is required");
  mf_rig_src rig_src;
  if ((rc = mf_rig_choose(assets, rig_path, "demo", &rig_src)) >= 0) return rc;
  if (frames < 1 || frames > 100000) return mf_usage_error("demo", "--frames must be within 1..100000");
  if (cams < 2 || cams > 16) return mf_usage_error("demo", "--cams must be within 2..16");
  if (seed < 0) return mf_usage_error("demo", "--seed must be >= 0");
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
  o.marker_source = markers;
  mhrfit_demo_summary s;
  mhrfit_error err = {0};
  if (!mf_rig_check(&rig_src, &err)) return mf_report("demo", &err);
  double t0 = mf_now_seconds();
  if (!mhrfit_demo_write(out, &o, &s, &err)) {
    if (err.type == MHRFIT_ERR_ARGUMENT) {
      fprintf(stderr, "mhrfit demo: %s (see mhrfit demo --help)\n", err.message);
      return MF_EXIT_USAGE;
    }
    return mf_report("demo", &err);
  }
  double secs = mf_now_seconds() - t0;
  if (quiet) return MF_EXIT_OK;
  printf("wrote a synthetic capture to %s in %.2f s (seed %ld)\n", out, secs, seed);
  printf("  %zu frames (000000..%06zu) x %zu cameras at %g fps: standing still for %zu frames, then a step and a turn\n",
         s.n_frames, s.n_frames - 1, s.n_cams, fps, s.standing_frames);
  printf("  %zu stage-1 files; %zu camera files missing", s.n_files, s.n_missing);
  if (s.one_view_frame >= 0) printf(" (frame %06ld is seen by one camera only)", s.one_view_frame);
  printf("\n  %zu views with a smaller second person listed first (select the largest bbox)\n", s.n_decoy_views);
  printf("  2-D keypoints: %zu finite (%zu gross outliers), %zu NaN (outside the image or self-occluded)\n",
         s.n_visible, s.n_outliers, s.n_hidden);
  printf("  truth: %s/ground_truth.npz; conventions: %s/README.txt\n", out, out);
  printf("next: mhrfit triangulate --calib %s/calibration.toml --cams", out);
  for (size_t v = 0; v < s.n_cams; v++) printf(" cam_%zu", v);
  printf(" --input %s/%06ld --out tri.npz\n", out, s.example_frame >= 0 ? s.example_frame : 0L);
  printf("  or the whole pipeline: mhrfit run --input %s --calib %s/calibration.toml --cams", out, out);
  for (size_t v = 0; v < s.n_cams; v++) printf(" cam_%zu", v);
  printf(" --out %s_run\n", out);
  return MF_EXIT_OK;
}
