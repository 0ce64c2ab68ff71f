/* mhrfit export: fitted sequences into glTF/GLB, BVH, TRC and per-frame PLY/OBJ/NPZ files (the
 * library's export.h does the work; this file parses the options and prints the report). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "mhrfit/export.h"
#include "mhrfit/pipeline.h"

typedef struct export_cli {
  const char *in, *out, *format, *source, *frames, *up, *units, *assets, *rig, *calib;
  long lod, max_influences, person_index;
  double fps;
  bool keep_bad, skip_bad, keypoints, cameras, cameras_seen, expressions, ascii, quiet, person_seen, fps_seen, up_seen;
  mhrfit_export_options o;
  mhrfit_export_source_options so;
} export_cli;

/* Checks the option values and fills c->o / c->so; -1 when valid, else the usage exit code. */
static int finish(export_cli *c) {
  const char *cmd = "export";
  mhrfit_error err = {0};
  if (!c->in || !c->out) return mf_usage_error(cmd, "--input and --out are required");
  if (c->keep_bad && c->skip_bad) return mf_usage_error(cmd, "--keep_bad and --skip_bad are opposites: pass one");
  mhrfit_export_options_init(&c->o);
  if (c->format && !mhrfit_export_format_parse(c->format, &c->o.format, &err)) return mf_usage_error(cmd, "%s", err.message);
  if (c->o.format == MHRFIT_EXPORT_AUTO && !mhrfit_export_format_from_path(c->out, &c->o.format, &err))
    return mf_usage_error(cmd, "%s", err.message);
  if (strcmp(c->source, "smoothed") != 0 && strcmp(c->source, "fitted") != 0)
    return mf_usage_error(cmd, "--source '%s': expected smoothed or fitted", c->source);
  c->so.fitted = strcmp(c->source, "fitted") == 0;
  c->so.person_given = c->person_seen, c->so.person_index = c->person_index;
  if (c->person_seen && c->person_index < 0) return mf_usage_error(cmd, "--person_index must be >= 0");
  if (c->frames && !mf_parse_frame_range(c->frames, &c->o.frame_begin, &c->o.frame_end))
    return mf_usage_error(cmd, "--frames '%s': expected A:B (B excluded), A:, :B or one index N", c->frames);
  if (c->o.frame_end && c->o.frame_end <= c->o.frame_begin)
    return mf_usage_error(cmd, "--frames '%s' is empty", c->frames);
  if (!mhrfit_up_parse(c->up, &c->o.up, &err)) return mf_usage_error(cmd, "--up: %s", err.message);
  if (c->up_seen && mhrfit_export_format_per_frame(c->o.format))
    return mf_usage_error(cmd, "--up means nothing to %s: PLY, OBJ and NPZ keep the world's axes (glTF, BVH and TRC "
                          "turn the world's up axis into their +Y); leave --up out", mhrfit_export_format_name(c->o.format));
  if (strcmp(c->units, "m") == 0) c->o.units_scale = 1;
  else if (strcmp(c->units, "cm") == 0) c->o.units_scale = 0.01;
  else return mf_usage_error(cmd, "--units '%s': expected m or cm", c->units);
  if (c->fps_seen && (!(c->fps > 0) || c->fps > 1e6))
    return mf_usage_error(cmd, "--fps must be a rate > 0 Hz, got %g (leave it out for the run's recorded rate)", c->fps);
  if (c->max_influences != 4 && c->max_influences != 8)
    return mf_usage_error(cmd, "--max_influences %ld: expected 4 (one JOINTS/WEIGHTS set) or 8 (all)", c->max_influences);
  if (c->lod < -1) return mf_usage_error(cmd, "--lod %ld: expected a level of detail >= 0", c->lod);
  c->o.keep_bad = c->keep_bad;
  c->o.fps = c->fps;
  c->o.keypoints = c->keypoints;
  c->o.cameras = c->cameras_seen ? (c->cameras ? 1 : 0) : -1;
  c->o.calib = c->calib;
  c->o.expressions = c->expressions;
  c->o.max_influences = (int)c->max_influences;
  c->o.ascii = c->ascii;
  return -1;
}

static void print_report(const export_cli *c, const mhrfit_export_source *src, const mhrfit_export_report *r) {
  const char *fmt = mhrfit_export_format_name(r->format);
  printf("exported %zu of %zu frame(s) of %s to %s (%s", r->n_exported, r->n_total, src->path, c->out, fmt);
  if (r->bytes) printf(", %zu file(s), %.2f MB, %.1f kB per frame", r->n_files, (double)r->bytes / 1e6,
                       (double)r->bytes / 1e3 / (double)r->n_exported);
  printf(")\n");
  if (r->n_skipped_bad || r->n_failed)
    printf("left out: %zu bad_loss frame(s)%s, %zu failed frame(s) without parameters (%s)\n", r->n_skipped_bad,
           r->n_skipped_bad ? " (--keep_bad exports them)" : "", r->n_failed,
           r->format == MHRFIT_EXPORT_BVH ? "held: the previous pose is repeated"
           : r->format == MHRFIT_EXPORT_TRC ? "empty cells"
           : mhrfit_export_format_per_frame(r->format) ? "not written" : "no keyframes: viewers interpolate");
  bool turned = !mhrfit_export_format_per_frame(r->format); /* the others keep the world's axes */
  if (turned && r->up_detected)
    printf("up axis: %s (detected from the body: mean pelvis-to-neck direction, cosine %.3f to the axis; --up to "
           "override)\n", mhrfit_up_name(r->up), r->up_cosine);
  else if (turned)
    printf("up axis: %s (--up)\n", mhrfit_up_name(r->up));
  else
    printf("axes: the world's (%s keeps them)\n", fmt);
  if (turned && src->world_up[0] && strcmp(src->world_up, mhrfit_up_name(r->up)) != 0)
    fprintf(stderr, "mhrfit export: warning: the archive records world_up %s, the export uses %s\n", src->world_up,
            mhrfit_up_name(r->up));
  if (r->format != MHRFIT_EXPORT_NPZ && !mhrfit_export_format_per_frame(r->format))
    printf("frame rate: %g fps (%s)\n", r->fps, r->fps_origin);
  if (r->format == MHRFIT_EXPORT_GLB || r->format == MHRFIT_EXPORT_GLTF) {
    printf("glTF: skeleton of 127 joints, mesh LOD %d (%zu vertices, %zu triangles, %zu skin influence set(s)), %zu "
           "keypoint node(s), %zu camera(s)%s\n", r->lod, r->n_vertices, r->n_faces, r->n_influence_sets,
           r->n_keypoints, r->n_cameras, r->expressions ? ", 72 expression morph targets" : "");
    if (r->n_renormalised)
      printf("--max_influences %d: %zu vertices had more influences; their %d largest were kept and renormalised\n",
             c->o.max_influences, r->n_renormalised, c->o.max_influences);
    if (r->cameras_note[0] && c->o.cameras != 0) printf("no cameras: %s\n", r->cameras_note);
    if (r->correctives && r->corr_frames)
      printf("pose correctives are not in glTF: on %zu frame(s), the exported skinning differs from mhrfit's full mesh "
             "by %.2f mm per vertex on average (the worst frame's mean %.2f mm), at most %.2f mm (frame %s)\n",
             r->corr_frames, 1e3 * r->corr_mean_m, 1e3 * r->corr_mean_max_m, 1e3 * r->corr_max_m,
             src->frame_names[r->corr_worst_frame]);
  }
  if (r->shape_spread > 0)
    printf("note: the identity (shape_params) varies between frames by up to %.3g; the first exported frame's is used\n",
           r->shape_spread);
  if (r->format == MHRFIT_EXPORT_BVH)
    printf("BVH: offsets baked at their median over the frames; a frame's offsets differ from them by up to %.2f mm "
           "(similarity scale, bone lengths), so joints are off the fitted ones by up to %.2f mm (frame %s)\n",
           1e3 * r->bvh_offset_dev_m, 1e3 * r->bvh_max_dev_m, src->frame_names[r->bvh_worst_frame]);
}

int mf_cmd_export(int argc, char **argv) {
  export_cli c = {.source = "smoothed", .up = "auto", .units = "m", .lod = -1, .max_influences = 8, .keypoints = true};
  const mf_opt opts[] = {
      {"input", MF_OPT_STRING, &c.in, "SRC", "a run folder, a fit.npz (one frame or a sequence) or a SAM 3D Body output; required", NULL},
      MF_OPT_ALIAS_OF("in", "input"),
      {"out", MF_OPT_STRING, &c.out, "DST", "output file (.glb .gltf .bvh .trc .ply .obj) or folder (--format ply|obj|npz); required", NULL},
      {"format", MF_OPT_STRING, &c.format, "F", "glb | gltf | bvh | trc | ply | obj | npz (default: from DST's extension)", NULL},
      {"source", MF_OPT_STRING, &c.source, "S", "run folder: smoothed (sequence_smoothed.npz, default) | fitted (sequence_fit.npz)", NULL},
      {"frames", MF_OPT_STRING, &c.frames, "A:B", "frames A to B-1 of the source (A:, :B, or one index N; default all)", NULL},
      {"skip_bad", MF_OPT_FLAG, &c.skip_bad, NULL, "leave out bad_loss frames (default; failed frames are always left out)", NULL},
      {"keep_bad", MF_OPT_FLAG, &c.keep_bad, NULL, "export bad_loss frames too", NULL},
      {"assets", MF_OPT_STRING, &c.assets, "DIR", "MHR assets folder (default: $MHRFIT_ASSETS, else the run's recorded "
       "assets or rig); or --rig", NULL},
      MF_RIG_OPT_RIG(&c.rig),
      {"lod", MF_OPT_INT, &c.lod, "N", "mesh level of detail (default: the rig's)", NULL},
      {"fps", MF_OPT_DOUBLE, &c.fps, "HZ", "frame rate (default: the run's recorded rate, else 30)", &c.fps_seen},
      {"up", MF_OPT_STRING, &c.up, "AXIS", "glTF, BVH, TRC: the world's up axis, exported as +Y: auto | x | y | z | -x | "
       "-y | -z (default auto: from the body); not for ply, obj, npz", &c.up_seen},
      {"keypoints", MF_OPT_FLAG, &c.keypoints, NULL,
       "glTF: a node per keypoint of the source's set (MHR70's 70, or a detector run's layout) (default on; "
       "--no_keypoints)", NULL},
      {"cameras", MF_OPT_FLAG, &c.cameras, NULL, "glTF: the calibrated cameras (default: when the calibration is known; --no_cameras)", &c.cameras_seen},
      {"calib", MF_OPT_STRING, &c.calib, "FILE", "calibration for the cameras (default: the run's)", NULL},
      {"expressions", MF_OPT_FLAG, &c.expressions, NULL, "glTF: the 72 expression blend shapes as morph targets (default off)", NULL},
      {"max_influences", MF_OPT_INT, &c.max_influences, "N", "glTF: skin influences per vertex, 8 (all) or 4 (renormalised, for viewers reading one set)", NULL},
      {"units", MF_OPT_STRING, &c.units, "U", "BVH and TRC length unit: m (default) | cm", NULL},
      {"ascii", MF_OPT_FLAG, &c.ascii, NULL, "PLY: ASCII instead of binary little-endian", NULL},
      {"person_index", MF_OPT_INT, &c.person_index, "N", "SAM 3D Body output with several persons: this one (default: largest box)", &c.person_seen},
      MF_OPT_QUIET(&c.quiet),
  };
  const mf_cmd_spec spec = {
      "export", "--input SRC --out DST [--format F] [options]",
      "Writes fitted MHR bodies into files other tools open: glTF 2.0 (.glb, or .gltf + .bin: the skinned\n"
      "MHR mesh with its 127-joint skeleton animated, keypoints, cameras; Blender, three.js), BVH (skeleton\n"
      "animation), TRC (the source's keypoints for OpenSim), and per frame into a folder (--format\n"
      "ply|obj|npz: <frame>/mesh.ply|obj in the world frame, <frame>/mhr_params.npz, export_summary.json).\n"
      "Bad_loss frames are left out unless --keep_bad; failed frames always. glTF, BVH and TRC turn the\n"
      "world's up axis (--up) into their +Y; PLY, OBJ and mhr_params.npz keep the world's axes.\n"
      "The MHR rig: --assets or --rig, else $MHRFIT_ASSETS, else the one a run folder recorded.",
      opts, sizeof opts / sizeof opts[0], 0, 0};
  mf_strlist pos;
  int rc = mf_args_parse(&spec, argc, argv, &pos);
  if (rc >= 0) return rc;
  mf_strlist_free(&pos);
  if ((rc = finish(&c)) >= 0) return rc;
  mf_rig_src rs;
  const char *env = getenv("MHRFIT_ASSETS");
  bool rig_given = c.assets || c.rig || (env && *env);
  if (rig_given && (rc = mf_rig_choose(c.assets, c.rig, "export", &rs)) >= 0) return rc;
  mhrfit_error err = {0};
  char note[512];
  mhrfit_export_source *src = mhrfit_export_source_load(c.in, &c.so, note, sizeof note, &err);
  mhrfit_rig *rig = NULL;
  mhrfit_exporter *ex = NULL;
  rc = MF_EXIT_FAILURE;
  if (!src) goto fail;
  if (!rig_given && (rc = mf_rig_choose_recorded(NULL, NULL, src, c.in, "export", &rs)) >= 0) goto done;
  rc = MF_EXIT_FAILURE;
  if (!rig_given && !c.quiet) printf("MHR rig: %s (the run's; --assets or --rig for another)\n", rs.path);
  if (note[0] && !c.quiet) fprintf(stderr, "mhrfit export: note: %s\n", note);
  char unfinished[1024]; /* stale sequence files: a warning, quiet or not */
  if (src->run_dir && mhrfit_run_unfinished(src->run_dir, unfinished, sizeof unfinished))
    fprintf(stderr, "mhrfit export: warning: %s\n", unfinished);
  /* an output never replaces an input (checked before the rig is loaded) */
  if (!mhrfit_export_check_out(src, &c.o, c.out, rs.path, &err)) {
    rc = err.type == MHRFIT_ERR_ARGUMENT ? mf_usage_error("export", "%s", err.message) : mf_report("export", &err);
    goto done;
  }
  if (!(rig = mf_rig_src_load(&rs, c.lod, mhrfit_export_rig_flags(c.o.format), &err))) goto fail;
  if (!(ex = mhrfit_exporter_new(rig, src, &c.o, &err))) goto fail;
  if (!mhrfit_exporter_write(ex, c.out, &err)) goto fail;
  if (!c.quiet) print_report(&c, src, mhrfit_exporter_report(ex));
  rc = MF_EXIT_OK;
  goto done;
fail:
  rc = mf_report("export", &err);
done:
  mhrfit_exporter_free(ex);
  mhrfit_rig_free(rig);
  mhrfit_export_source_free(src);
  return rc;
}
