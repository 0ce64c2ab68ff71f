/* mhrfit overlay: the fitted body drawn over each camera's pictures, as pictures and videos (the
 * library's overlay.h does the work; this file parses the options and prints the summary). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "mhrfit/overlay.h"

static void on_log(void *user, mhrfit_overlay_log_level level, const char *msg) {
  mf_cli_status_log(user, (int)level, msg);
}

static void on_progress(void *user, size_t done, size_t total) { mf_cli_status_progress(user, done, total); }

typedef struct overlay_cli {
  const char *run, *tri, *fit, *keypoints, *keypoints_format, *layout, *calib, *translation_unit, *capture, *frames;
  const char *out, *source, *assets, *rig, *layers, *mesh, *format, *codec, *preset;
  mf_strlist cams, cam_dirs;
  long person, lod, quality, grid_height, grid_columns, crf, threads;
  double mesh_alpha, fps;
  bool invert_extrinsics, rescale, video, grid, quiet, fps_seen;
} overlay_cli;

/* Checks the option values and fills `o`; -1 when valid, else the usage exit code. */
static int finish(overlay_cli *c, mhrfit_overlay_options *o) {
  const char *cmd = "overlay";
  mhrfit_error err = {0};
  mhrfit_overlay_options_init(o);
  if (!c->out || !c->run == !c->tri) return mf_usage_error(cmd, "--out and one of --run or --tri are required");
  if (c->frames && !mf_parse_frame_range(c->frames, &o->frame_begin, &o->frame_end))
    return mf_usage_error(cmd, "--frames '%s': expected A:B (B excluded), A:, :B or one index N", c->frames);
  if (o->frame_end && o->frame_end <= o->frame_begin) return mf_usage_error(cmd, "--frames '%s' is empty", c->frames);
  if (strcmp(c->source, "smoothed") != 0 && strcmp(c->source, "fitted") != 0)
    return mf_usage_error(cmd, "--source '%s': expected smoothed or fitted", c->source);
  if (!mhrfit_overlay_layers_parse(c->layers, &o->layers, &err)) return mf_usage_error(cmd, "--layers: %s", err.message);
  if (strcmp(c->mesh, "silhouette") == 0) o->mesh_style = MHRFIT_MESH_SILHOUETTE;
  else if (strcmp(c->mesh, "wireframe") == 0) o->mesh_style = MHRFIT_MESH_WIREFRAME;
  else return mf_usage_error(cmd, "--mesh '%s': expected silhouette or wireframe", c->mesh);
  if (strcmp(c->format, "jpg") == 0 || strcmp(c->format, "jpeg") == 0) o->image.format = MHRFIT_IMAGE_JPEG;
  else if (strcmp(c->format, "png") == 0) o->image.format = MHRFIT_IMAGE_PNG;
  else return mf_usage_error(cmd, "--format '%s': expected jpg or png", c->format);
  if (c->quality < 1 || c->quality > 100) return mf_usage_error(cmd, "--quality must be within 1..100");
  if (c->person < 0 || c->lod < -1) return mf_usage_error(cmd, "--person_index must be >= 0 and --lod >= 0");
  int rc = mf_translation_unit_check(c->translation_unit, cmd);
  if (rc >= 0) return rc;
  if (!(c->mesh_alpha >= 0 && c->mesh_alpha <= 1)) return mf_usage_error(cmd, "--mesh_alpha must be within 0..1");
  if (c->grid_height < 16 || c->grid_height > 4320 || c->grid_columns < 0 || c->grid_columns > 64)
    return mf_usage_error(cmd, "--grid_height must be within 16..4320 and --grid_columns within 0..64");
  if (c->fps_seen && !(c->fps > 0 && c->fps <= 1000))
    return mf_usage_error(cmd, "--fps must be a rate > 0 and <= 1000 Hz, got %g (leave it out for the run's)",
                          c->fps);
  if (c->crf < 0 || c->crf > 51 || c->threads < 0 || c->threads > 64)
    return mf_usage_error(cmd, "--crf must be within 0..51 and --threads within 0..64");
  if (c->cam_dirs.count && (!c->tri || (c->cams.count && c->cam_dirs.count != c->cams.count)))
    return mf_usage_error(cmd, "--cam_dirs goes with --tri, one folder per camera of the archive");
  o->run_dir = c->run, o->tri_path = c->tri, o->fit_path = c->fit;
  o->fitted = strcmp(c->source, "fitted") == 0;
  o->keypoints_dir = c->keypoints, o->keypoints_format = c->keypoints_format, o->layout = c->layout;
  o->cam_dirs = c->cam_dirs.count ? c->cam_dirs.items : NULL;
  o->person = (size_t)c->person;
  o->calib = c->calib, o->invert_extrinsics = c->invert_extrinsics, o->translation_unit = c->translation_unit;
  o->capture = c->capture;
  o->cams = c->cams.count ? c->cams.items : NULL, o->n_cams = c->cams.count;
  o->out_dir = c->out;
  o->lod = (int)c->lod;
  o->mesh_alpha = c->mesh_alpha;
  o->rescale = c->rescale;
  o->image.quality = (int)c->quality;
  o->video = c->video, o->grid = c->grid;
  o->grid_height = (int)c->grid_height, o->grid_columns = (int)c->grid_columns;
  o->fps = c->fps;
  o->video_options.codec = c->codec, o->video_options.preset = c->preset;
  o->video_options.crf = (int)c->crf, o->video_options.threads = (int)c->threads;
  return -1;
}

static void print_summary(const mhrfit_overlay *ov, const mhrfit_overlay_summary *s, const char *out) {
  printf("overlays: %zu frame(s) x %zu camera(s): %zu written, %zu skipped, %zu failed; %zu video(s)%s%s%s in %.1f s\n",
         s->n_frames, s->n_cams, s->images_written, s->views_skipped, s->views_failed, s->videos_written,
         s->videos_written ? " (" : "", s->videos_written ? s->codec : "", s->videos_written ? ")" : "", s->seconds);
  if (s->videos_written) printf("video rate: %g fps (%s)\n", s->fps, s->fps_origin);
  printf("%-16s %7s %7s %10s %10s %12s %16s %10s\n", "camera", "written", "skipped", "points", "reproj px",
         "3+ cams", "3+ cams reproj px", "fit px");
  for (size_t c = 0; c < mhrfit_overlay_n_cams(ov); c++) {
    const mhrfit_overlay_stats *in = mhrfit_overlay_camera_stats(ov, c);
    if (!in->has_images) {
      printf("%-16s (no pictures: left out)\n", in->name);
      continue;
    }
    printf("%-16s %7zu %7zu %10zu %10.2f %12zu %16.2f %10.2f\n", in->name, in->written,
           in->missing + in->unreadable + in->wrong_size, in->n_err, in->mean_err_px, in->n_err3, in->mean_err3_px,
           in->mean_fit_err_px);
  }
  printf("wrote %s (overlay_summary.json lists every file and skipped view)\n", out);
}

static const char *const overlay_summary_text =
    "Draws over each camera's pictures <capture>/<frame>/<cam>.jpg|png: the fitted MHR mesh (silhouette or\n"
    "wireframe, depth-ordered, at the run's LOD), the fitted skeleton (MHR70, or a detector fit's layout),\n"
    "the 2-D keypoints of the selected person (SAM 3D Body's or the detector's; dimmed, the other persons), the triangulated points reprojected (green\n"
    "disc: this camera was an inlier; red cross: an outlier; white ring: not seen) and a caption (frame,\n"
    "camera, status, the camera's mean reprojection error). Every projection is the library's camera model\n"
    "with the full distortion. Writes <out>/<frame>/<cam>.jpg, with --video one <out>/<cam>.mp4 per camera\n"
    "(H.264), with --grid <out>/grid.mp4 (all cameras side by side), and <out>/overlay_summary.json.\n"
    "\n"
    "Sources: --run DIR (a folder of mhrfit run: fit, triangulation, stage-1 keypoints, calibration and\n"
    "pictures' folder as the run recorded them), or --tri FILE (an archive of mhrfit triangulate) with\n"
    "--calib, --capture, optionally --keypoints DIR (its 2-D observations: OpenPose folders, arrays,\n"
    "Caliscope csv; --layout, --cam_dirs) and --fit FILE (a fit.npz of its frames). Frame f of an archive\n"
    "is the capture folder named f (000012), as mhrfit frames writes them. The mesh needs the MHR rig:\n"
    "--assets or --rig, else $MHRFIT_ASSETS, else the assets the run recorded (without any: no mesh).\n"
    "\n"
    "A view whose picture is missing, damaged or of another size than the calibration's is skipped with a\n"
    "message (--rescale resamples other sizes; a difference under 16 px is a video codec's padding and is\n"
    "drawn as is); the rest goes on. The printed table gives per camera the mean distance between the\n"
    "drawn triangulated points and the 2-D keypoints they came from (all points, and points seen by 3 or\n"
    "more cameras).\n"
    "\n"
    "Examples:\n"
    "  mhrfit overlay --run run --out run/overlay --video --grid\n"
    "  mhrfit overlay --tri tri.npz --calib Calib.toml --capture capture --keypoints pose --layout body25b \\\n"
    "    --cam_dirs cam01_json cam02_json cam03_json cam04_json --out overlay --frames 0:20";

int mf_cmd_overlay(int argc, char **argv) {
  overlay_cli c = {.source = "smoothed", .layers = "all", .mesh = "silhouette", .format = "jpg", .preset = "veryfast",
                   .lod = -1, .quality = 90, .grid_height = 540, .crf = 20, .threads = 1, .mesh_alpha = 0.45};
  const mf_opt opts[] = {
      {"run", MF_OPT_STRING, &c.run, "DIR", "a run folder of mhrfit run", NULL},
      {"tri", MF_OPT_STRING, &c.tri, "FILE", "or a triangulation archive of mhrfit triangulate (needs --calib, --capture)", NULL},
      {"fit", MF_OPT_STRING, &c.fit, "FILE", "with --tri: a fit.npz of the same frames (mhrfit fit)", NULL},
      {"keypoints", MF_OPT_STRING, &c.keypoints, "DIR", "with --tri: the 2-D observations it was triangulated from", NULL},
      {"keypoints_format", MF_OPT_STRING, &c.keypoints_format, "F", "their form: auto (default) | openpose | arrays | caliscope_csv | stage1", NULL},
      {"layout", MF_OPT_STRING, &c.layout, "L", "with --tri: the keypoint layout (mhr70 default, body25b, coco17, ...)", NULL},
      {"cam_dirs", MF_OPT_LIST, &c.cam_dirs, "DIR", "openpose: one folder per camera of the archive (default <cam>_json)", NULL},
      {"person_index", MF_OPT_INT, &c.person, "N", "the selected person of multi-person observations (default 0)", NULL},
      MF_OPT_ALIAS_OF("person", "person_index"),
      {"calib", MF_OPT_STRING, &c.calib, "FILE", "calibration (default: the run's)", NULL},
      MF_CALIB_OPT_INVERT(&c.invert_extrinsics),
      MF_CALIB_OPT_UNIT(&c.translation_unit),
      {"capture", MF_OPT_STRING, &c.capture, "DIR", "pictures <DIR>/<frame>/<cam>.jpg|png (default: the run's input)", NULL},
      {"cams", MF_OPT_LIST, &c.cams, "NAME", "calibration cameras to draw, in order (default: the source's)", NULL},
      {"frames", MF_OPT_STRING, &c.frames, "A:B", "source frames A to B-1 (A:, :B, or one index N; default all)", NULL},
      {"out", MF_OPT_STRING, &c.out, "DIR", "output folder (new, empty or an earlier overlay); required", NULL},
      {"source", MF_OPT_STRING, &c.source, "S", "run folder: smoothed (sequence_smoothed.npz, default) | fitted", NULL},
      MF_RIG_OPT_ASSETS(&c.assets),
      MF_RIG_OPT_RIG(&c.rig),
      {"lod", MF_OPT_INT, &c.lod, "N", "mesh level of detail (default: the run's)", NULL},
      {"layers", MF_OPT_STRING, &c.layers, "LIST", "mesh,skeleton,others,keypoints,points,caption | all (default) | none", NULL},
      {"mesh", MF_OPT_STRING, &c.mesh, "STYLE", "silhouette (default) | wireframe", NULL},
      {"mesh_alpha", MF_OPT_DOUBLE, &c.mesh_alpha, "A", "mesh opacity 0..1 (default 0.45)", NULL},
      {"rescale", MF_OPT_FLAG, &c.rescale, NULL, "resample pictures whose size differs from the calibration's (default: skip them)", NULL},
      {"format", MF_OPT_STRING, &c.format, "F", "overlay pictures: jpg (default) | png", NULL},
      {"quality", MF_OPT_INT, &c.quality, "Q", "JPEG quality 1..100 (default 90)", NULL},
      {"video", MF_OPT_FLAG, &c.video, NULL, "also one video per camera, <out>/<cam>.mp4", NULL},
      {"grid", MF_OPT_FLAG, &c.grid, NULL, "also <out>/grid.mp4: every camera side by side", NULL},
      {"grid_height", MF_OPT_INT, &c.grid_height, "N", "rows of each camera's tile in the grid (default 540)", NULL},
      {"grid_columns", MF_OPT_INT, &c.grid_columns, "N", "tiles per grid row (default: ceil(sqrt(cameras)))", NULL},
      {"fps", MF_OPT_DOUBLE, &c.fps, "HZ", "video rate (default: the run's, else the capture's frames_meta.json, else 30)", &c.fps_seen},
      {"codec", MF_OPT_STRING, &c.codec, "NAME", "FFmpeg video encoder (default libx264; mpeg4 when absent)", NULL},
      {"crf", MF_OPT_INT, &c.crf, "N", "video quality 0..51, lower is better (default 20)", NULL},
      {"preset", MF_OPT_STRING, &c.preset, "NAME", "libx264 preset (default veryfast)", NULL},
      {"threads", MF_OPT_INT, &c.threads, "N", "encoder threads per video, 0 = automatic (default 1)", NULL},
      {"quiet", MF_OPT_FLAG, &c.quiet, NULL, "print nothing but warnings and errors", NULL},
  };
  const mf_cmd_spec spec = {"overlay", "--run DIR | --tri FILE --calib FILE --capture DIR, --out DIR [options]",
                            overlay_summary_text, opts, sizeof opts / sizeof opts[0], 0, 0};
  mf_strlist pos;
  int rc = mf_args_parse(&spec, argc, argv, &pos);
  if (rc >= 0) goto done;
  mf_strlist_free(&pos);
  mhrfit_overlay_options o;
  if ((rc = finish(&c, &o)) >= 0) goto done;
  mf_rig_src rs = {0};
  if (c.assets || c.rig || getenv("MHRFIT_ASSETS")) {
    if ((rc = mf_rig_choose(c.assets, c.rig, "overlay", &rs)) >= 0) goto done;
    o.rig_path = rs.path;
  }
  mf_cli_status st;
  mf_cli_status_init(&st, "overlay", "views", c.quiet);
  o.log = on_log, o.progress = on_progress, o.user = &st;
  mhrfit_error err = {0};
  mhrfit_overlay_summary s;
  mhrfit_overlay *ov = NULL;
  bool ok = (!o.rig_path || mf_rig_check(&rs, &err)) && (ov = mhrfit_overlay_new(&o, &err)) != NULL &&
            mhrfit_overlay_process(ov, &s, &err);
  mf_cli_status_end(&st);
  if (!ok) rc = mf_report("overlay", &err);
  else {
    if (!c.quiet) print_summary(ov, &s, c.out);
    rc = s.views_failed ? MF_EXIT_FAILURE : MF_EXIT_OK;
  }
  mhrfit_overlay_free(ov);
done:
  mf_strlist_free(&c.cams);
  mf_strlist_free(&c.cam_dirs);
  return rc;
}
