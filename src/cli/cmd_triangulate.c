/* mhrfit triangulate: stage 2, robust multi-view triangulation of one frame or a sequence. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/file.h"
#include "mhrfit/calib.h"
#include "mhrfit/up_axis.h"
#include "mhrfit/layout.h"
#include "mhrfit/observations.h"
#include "mhrfit/trc.h"
#include "mhrfit/triangulate.h"

/* --up for the TRC: parsed, and with auto the markers of the detection present among the K
 * triangulated names; -1 when fine, else the usage exit code. */
static int check_up(const char *name, const char *const *names, size_t K, mhrfit_up_axis *up, long up_idx[5]) {
  mhrfit_error err = {0};
  if (!mhrfit_up_parse(name, up, &err)) return mf_usage_error("triangulate", "--up: %s", err.message);
  if (*up == MHRFIT_UP_AUTO && !mhrfit_up_markers(names, K, up_idx))
    return mf_usage_error("triangulate", "--up auto needs both hips and the neck or both shoulders among the "
                          "keypoints (--subset); give the world's up axis with --up");
  return -1;
}

/* The TRC: the world's up axis (detected with auto) as TRC's Y, or world axes unchanged. */
static bool write_trc(const char *path, const char *const *names, size_t K, const double *points, size_t F, double rate,
                      bool world_axes, mhrfit_up_axis *up, const long up_idx[5], mhrfit_error *err) {
  double U[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
  if (!world_axes) {
    if (*up == MHRFIT_UP_AUTO && !mhrfit_up_detect(points, F, K, up_idx, up, NULL, NULL, err)) return false;
    mhrfit_up_rotation(*up, U);
  }
  return mhrfit_trc_write_axes(path, names, K, points, F, rate, U, 1, "m", err);
}

/* What was triangulated: the counts of every reason code, each camera's mean reprojection error. */
static void print_summary(const mhrfit_tri_archive *ar, const char *const *cams, const char *format, const char *method,
                          const char *out) {
  size_t F = ar->n_frames, K = ar->n_kp, V = ar->n_views;
  int counts[5] = {0};
  for (size_t i = 0; i < F * K; i++)
    if (ar->reason[i] >= 0 && ar->reason[i] < 5) counts[ar->reason[i]]++;
  printf("triangulated %zu frame(s) x %zu keypoints from %zu cameras (%s input, %s method)\n", F, K, V, format, method);
  printf("points: %d ok, %d no_views, %d one_view, %d degenerate, %d all_outliers\n", counts[0], counts[1], counts[2],
         counts[3], counts[4]);
  for (size_t v = 0; v < V; v++) printf("  %-16s mean reprojection error of used views: %.2f px\n", cams[v], ar->mean_px[v]);
  printf("wrote %s\n", out);
}

/* The command's own option values; -1 when valid, else the usage error's exit code. */
static int check_values(long person, double fps, const char *format, size_t n_cams, size_t n_cam_dirs,
                        const mf_strlist *cam_map, const char *layout_name, const char *names_file, bool any_k) {
  for (size_t m = 0; m < cam_map->count; m++) {
    const char *e = cam_map->items[m], *eq = strchr(e, '=');
    if (!eq || eq == e || !eq[1] || strchr(eq + 1, '='))
      return mf_usage_error("triangulate", "--cam_map: '%s' is not FILE_NAME=CALIBRATION_NAME (e.g. cam01=cam_01)", e);
  }
  if (layout_name && names_file) return mf_usage_error("triangulate", "--layout and --keypoint_names exclude each other");
  if (names_file && !any_k)
    return mf_usage_error("triangulate", "--keypoint_names needs --input_format arrays or caliscope_csv");
  if (person < 0) return mf_usage_error("triangulate", "--person_index must be >= 0, got %ld", person);
  if (!(fps > 0)) return mf_usage_error("triangulate", "--fps must be > 0 Hz, got %g", fps);
  if (strcmp(format, "auto") && strcmp(format, "stage1") && strcmp(format, "arrays") && strcmp(format, "openpose") &&
      strcmp(format, "caliscope_csv"))
    return mf_usage_error("triangulate", "--input_format must be auto, stage1, arrays, openpose or caliscope_csv, got '%s'",
                          format);
  if (n_cams == 1)
    return mf_usage_error("triangulate", "--cams: at least two cameras are needed (or none: every calibrated camera with keypoints)");
  if (n_cam_dirs && n_cam_dirs != n_cams)
    return mf_usage_error("triangulate", "--cam_dirs needs --cams and one folder per camera (%zu), got %zu", n_cams,
                          n_cam_dirs);
  return -1;
}

/* The parsed command line. */
typedef struct tri_cmd {
  const char *calib, *input, *out, *format, *layout_name, *subset, *trc, *names_file, *up_name;
  mf_strlist cams, cam_dirs, cam_map;
  long person;
  double rate;
  bool allow_missing, quiet, world_axes;
  mf_tri_cli tc;
} tri_cmd;

/* The checks of the values, then the triangulation and its outputs; the exit code. */
static int triangulate(tri_cmd *c) {
  int rc = MF_EXIT_FAILURE;
  mhrfit_error err = {0};
  mhrfit_calib *all = NULL, *cal = NULL;
  mhrfit_observations *obs = NULL;
  mhrfit_tri_archive *ar = NULL;
  const char **names = NULL;
  char **kp_names = NULL, **used = NULL; /* used: the cameras read */
  size_t n_kp_names = 0, *idx = NULL, K, V = 0;
  mhrfit_layout *kset = NULL;
  if (!c->calib || !c->input || !c->out) return mf_usage_error("triangulate", "--calib, --input and --out are required");
  bool any_k = strcmp(c->format, "arrays") == 0 || strcmp(c->format, "caliscope_csv") == 0;
  if ((rc = check_values(c->person, c->rate, c->format, c->cams.count, c->cam_dirs.count, &c->cam_map, c->layout_name,
                         c->names_file, any_k)) >= 0)
    return rc;
  const mhrfit_layout *layout = NULL;
  if ((c->layout_name || !any_k) && !(layout = mhrfit_layout_get(c->layout_name ? c->layout_name : "mhr70", &err)))
    return mf_usage_error("triangulate", "%s", err.message);
  if ((rc = mf_tri_cli_finish(&c->tc, "triangulate")) >= 0) return rc;
  const mf_path_opt ins[3] = {{"calib", c->calib}, {"input", c->input}, {"keypoint_names", c->names_file}};
  if ((rc = mf_check_output("triangulate", (mf_path_opt){"out", c->out}, ins, 3)) >= 0 ||
      (rc = mf_check_output("triangulate", (mf_path_opt){"trc", c->trc}, ins, 3)) >= 0)
    return rc; /* an output never replaces an input */
  rc = MF_EXIT_FAILURE;
  if (c->names_file && !mhrfit_keypoint_names_load(c->names_file, &kp_names, &n_kp_names, &err)) goto fail;
  if (!(all = mhrfit_calib_load(c->calib, &c->tc.calib, &err))) goto fail;
  mhrfit_obs_options oo = {c->format, layout ? layout->count : 0, (size_t)c->person,
                           c->cam_dirs.count ? c->cam_dirs.items : NULL, c->allow_missing, mf_warn_cb,
                           (void *)"triangulate"};
  const mhrfit_obs_cameras oc = {c->cams.items, c->cams.count, c->cam_map.items, c->cam_map.count, mf_warn_cb,
                                 (void *)"triangulate"};
  obs = mhrfit_observations_load_cameras(c->input, all, &oc, &oo, &used, &V, &err);
  if (obs && !(cal = mhrfit_calib_select(all, (const char *const *)used, V, &err))) goto fail;
  if (!obs || (!layout && !(kset = mhrfit_observations_keypoint_set(obs, (const char *const *)kp_names, n_kp_names,
                                                                     &err))))
    goto fail;
  if (!mhrfit_layout_select(layout ? layout : kset, c->subset, &idx, &names, &K, &err)) {
    if (err.type == MHRFIT_ERR_NOMEM) goto fail;
    rc = mf_usage_error("triangulate", "--subset: %s", err.message);
    goto done;
  }
  mhrfit_up_axis up = MHRFIT_UP_AUTO;
  long up_idx[5];
  if (c->trc && !c->world_axes && (rc = check_up(c->up_name, names, K, &up, up_idx)) >= 0) goto done;
  rc = MF_EXIT_FAILURE;
  if (!(ar = mhrfit_triangulate_observations(cal->cams, (const char *const *)used, obs, idx, names, K, &c->tc.o, &err)))
    goto fail;
  /* a single stage-1 frame: its files' identities recorded (mhrfit fit warns when given the views
   * of another frame) */
  if (!ar->frame_axis && !mhrfit_tri_archive_set_sources(ar, 0, c->input, &err)) goto fail;
  if (!mhrfit_tri_archive_save(c->out, ar, &err) || !mf_sync_file(c->out, &err)) goto fail; /* a final output: durable */
  const bool detect = up == MHRFIT_UP_AUTO;
  if (c->trc && !write_trc(c->trc, names, K, ar->points, obs->n_frames, c->rate, c->world_axes, &up, up_idx, &err))
    goto fail;
  if (!c->quiet) {
    print_summary(ar, (const char *const *)used, obs->format, c->tc.method, c->out);
    if (c->trc && !c->world_axes)
      printf("TRC: the world's up axis %s%s is TRC's Y\n", mhrfit_up_name(up), detect ? " (detected from the body)" : "");
    if (c->trc) printf("wrote %s\n", c->trc);
  }
  rc = MF_EXIT_OK;
  goto done;
fail:
  rc = mf_report("triangulate", &err);
done:
  mhrfit_tri_archive_free(ar);
  free(names);
  free(idx);
  mhrfit_layout_free(kset);
  mhrfit_names_free(kp_names, n_kp_names);
  mhrfit_observations_free(obs);
  mhrfit_calib_free(cal);
  mhrfit_calib_free(all);
  mhrfit_names_free(used, V);
  return rc;
}

int mf_cmd_triangulate(int argc, char **argv) {
  tri_cmd c = {.format = "auto", .subset = "all", .up_name = "auto", .rate = 30};
  mf_tri_cli_init(&c.tc);
  const mf_opt own[] = {
      {"calib", MF_OPT_STRING, &c.calib, "FILE", "calibration file (Caliscope/Anipose/Pose2Sim TOML or JSON); required", NULL},
      {"cams", MF_OPT_LIST, &c.cams, "NAME", "camera names, matched exactly to calibration tables; at least 2 (default: every calibrated camera "
       "with keypoints in the input)", NULL},
      {"input", MF_OPT_STRING, &c.input, "DIR", "folder with the per-camera inputs; required", NULL},
      {"out", MF_OPT_STRING, &c.out, "OUT.npz", "output archive; required", NULL},
      {"input_format", MF_OPT_STRING, &c.format, "F", "auto | stage1 | arrays | openpose | caliscope_csv (default auto)", NULL},
      {"layout", MF_OPT_STRING, &c.layout_name, "L",
       "keypoint layout: " MHRFIT_LAYOUT_NAMES " (default mhr70; arrays and caliscope_csv: any keypoint count)", NULL},
      {"keypoint_names", MF_OPT_STRING, &c.names_file, "FILE",
       "names of an any-K input: one per line or a JSON list (default kp_0, kp_1, ...; Caliscope: the point ids)", NULL},
      {"cam_dirs", MF_OPT_LIST, &c.cam_dirs, "DIR", "openpose: folder per camera, in --cams order (default <cam>_json)", NULL},
      {"cam_map", MF_OPT_LIST, &c.cam_map, "FILE=NAME",
       "input files (or OpenPose folders FILE_json, or FILE when it ends in _json) named FILE hold calibration camera "
       "NAME, e.g. cam01=cam_01", NULL},
      {"person_index", MF_OPT_INT, &c.person, "N", "person in multi-person inputs (default 0)", NULL},
      {"subset", MF_OPT_STRING, &c.subset, "S", "all | hands_arms | comma list of names (default all)", NULL},
      {"allow_missing_views", MF_OPT_FLAG, &c.allow_missing, NULL, "a camera without input is treated as not seeing anything", NULL},
      {"trc", MF_OPT_STRING, &c.trc, "FILE", "also write the points as an OpenSim .trc (the world's up axis as TRC's Y, see --up)", NULL},
      {"up", MF_OPT_STRING, &c.up_name, "AXIS",
       "--trc: the world's up axis: auto (from the hips and the neck or shoulders) | x | y | z | -x | -y | -z (default auto)", NULL},
      {"trc_world_axes", MF_OPT_FLAG, &c.world_axes, NULL, "write world X Y Z to the .trc unchanged", NULL},
      {"fps", MF_OPT_DOUBLE, &c.rate, "HZ", "frame rate of the capture, written to the .trc (default 30)", NULL},
      MF_OPT_ALIAS_OF("rate", "fps"),
      MF_OPT_QUIET(&c.quiet),
  };
  mf_opt opts[sizeof own / sizeof own[0] + MF_TRI_CLI_N_OPTS];
  memcpy(opts, own, sizeof own);
  size_t n_opts = sizeof own / sizeof own[0] + mf_tri_cli_table(&c.tc, opts + sizeof own / sizeof own[0]);
  const mf_cmd_spec spec = {
      "triangulate", "--calib FILE --input DIR --out OUT.npz [--cams A B ...] [options]",
      "Triangulates 2-D keypoints of several calibrated cameras into 3-D points with inlier masks,\n"
      "per-view reprojection errors and a reason code for every point that stays NaN\n"
      "(1 no_views, 2 one_view, 3 degenerate, 4 all_outliers). Inputs: per-camera SAM 3D Body /\n"
      "stage-1 files (<cam>.npz|.npy), per-camera arrays (F,K,2|3) of any K, OpenPose JSON folders,\n"
      "or Caliscope's xy_<TRACKER>.csv (cameras cam_N = port N). The archive carries the keypoint names.",
      opts, n_opts, 0, 0};
  mf_strlist pos;
  int rc = mf_args_parse(&spec, argc, argv, &pos);
  if (rc < 0) {
    mf_strlist_free(&pos);
    rc = triangulate(&c);
  }
  mf_strlist_free(&c.cams);
  mf_strlist_free(&c.cam_dirs);
  mf_strlist_free(&c.cam_map);
  return rc;
}
