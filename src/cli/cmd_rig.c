/* mhrfit rig: information about the MHR rig (rig info), its evaluation (rig fk) and rig files
 * (rig import). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "common/clock.h"
#include "common/file.h"
#include "common/path.h"
#include "mhrfit/keypoints.h"
#include "mhrfit/npy.h"
#include "mhrfit/rig.h"
#include "mhrfit/sam3d.h"

static int rig_info(int argc, char **argv) {
  const char *assets = NULL, *rig_path = NULL;
  long lod = -1;
  bool joints = false, params = false;
  const mf_opt opts[] = {
      MF_RIG_OPT_ASSETS(&assets),
      MF_RIG_OPT_RIG(&rig_path),
      {"lod", MF_OPT_INT, &lod, "N", MF_LOD_HELP, NULL},
      {"joints", MF_OPT_FLAG, &joints, NULL, "list the joints: index, name, parent, offset (cm)", NULL},
      {"params", MF_OPT_FLAG, &params, NULL, "list the model parameters: index, name, limits", NULL},
  };
  const mf_cmd_spec spec = {"rig info", "[--assets DIR | --rig RIG.npz] [--lod N] [--joints] [--params]",
                            "Loads the MHR rig (compact_v6_1.model + lodN.fbx, or a rig file of mhrfit rig import)\n"
                            "and prints its sizes; --joints and --params list the skeleton and the 204 model parameters.",
                            opts, sizeof opts / sizeof opts[0], 0, 0};
  mf_strlist pos;
  int rc = mf_args_parse(&spec, argc, argv, &pos);
  if (rc >= 0) return rc;
  mf_strlist_free(&pos);
  mf_rig_src src;
  if ((rc = mf_rig_choose(assets, rig_path, "rig info", &src)) >= 0 || (rc = mf_lod_check(lod, "rig info")) >= 0)
    return rc;
  mhrfit_error err = {0};
  /* from assets, layer 2 of the correctives (up to ~2 GB) is looked for, not loaded */
  const bool folder = mf_is_dir(src.path);
  mhrfit_rig *rig = mf_rig_src_load(&src, lod, folder ? MHRFIT_RIG_NO_CORRECTIVE_BLENDSHAPES : 0, &err);
  if (!rig) return mf_report("rig info", &err);
  char l2[64], *l2_path = NULL;
  snprintf(l2, sizeof l2, MHRFIT_CORRECTIVE_BLENDSHAPES_FMT, rig->lod);
  bool l2_present = folder && (l2_path = mf_path_join(src.path, l2, NULL)) && mf_is_file(l2_path);
  free(l2_path);
  printf("MHR rig from %s\n", src.path);
  printf("  joints            %zu\n  model parameters  %zu (%zu transform non-zeros, %zu limits)\n", rig->n_joints,
         rig->n_params, rig->n_pt, rig->n_limits);
  printf("  mesh              LOD %d: %zu vertices, %zu triangles, %zu skin weights\n", rig->lod, rig->n_vertices,
         rig->n_faces, rig->n_skin);
  printf("  blend shapes      %zu\n", rig->n_shapes);
  if (rig->corr_start)
    printf("  pose correctives  layer 1: %zu features -> %zu hidden units (%zu weights); layer 2: %s\n",
           rig->n_corr_features, rig->n_corr_hidden, rig->n_corr_weights,
           rig->corr_blend ? "in the rig file" : l2_present ? l2 : "absent (corrective_blendshapes_lodN.npz, MHR release assets)");
  else
    printf("  pose correctives  absent (corrective_activation.npz)\n");
  if (joints) {
    printf("\n%5s  %-28s %-28s %10s %10s %10s\n", "index", "joint", "parent", "offset_x", "offset_y", "offset_z");
    for (size_t j = 0; j < rig->n_joints; j++)
      printf("%5zu  %-28s %-28s %10.4f %10.4f %10.4f\n", j, rig->joint_names[j],
             rig->parents[j] < 0 ? "-" : rig->joint_names[rig->parents[j]], rig->offsets[3 * j], rig->offsets[3 * j + 1],
             rig->offsets[3 * j + 2]);
  }
  if (params) {
    printf("\n%5s  %-34s %10s %10s %8s\n", "index", "parameter", "min", "max", "weight");
    for (size_t i = 0; i < rig->n_params; i++) {
      const mhrfit_limit *l = NULL;
      for (size_t k = 0; k < rig->n_limits; k++)
        if (rig->limits[k].param == (int32_t)i) l = &rig->limits[k];
      if (l) printf("%5zu  %-34s %10.4g %10.4g %8.3g\n", i, rig->param_names[i], l->min, l->max, l->weight);
      else printf("%5zu  %-34s %10s %10s %8s\n", i, rig->param_names[i], "-", "-", "-");
    }
  }
  mhrfit_rig_free(rig);
  return MF_EXIT_OK;
}

static mhrfit_array *f32_array(int ndim, const size_t *shape, const double *src, mhrfit_error *err) {
  mhrfit_array *a = mhrfit_array_new(MHRFIT_DT_F32, 0, ndim, shape, 0, err);
  if (!a) return NULL;
  for (size_t i = 0; i < a->count; i++) ((float *)a->data)[i] = (float)src[i];
  return a;
}

static int rig_fk(int argc, char **argv) {
  const char *assets = NULL, *rig_path = NULL, *params = NULL, *out = NULL, *markers = NULL;
  long lod = -1;
  const mf_opt opts[] = {
      {"params", MF_OPT_STRING, &params, "FILE", "SAM 3D Body output (.npz/.npy) or any file with mhr_model_params; required", NULL},
      {"markers", MF_OPT_STRING, &markers, "FILE",
       "SAM 3D Body output whose pred_keypoints_3d calibrates the 21 surface keypoints (default: built-in anatomical "
       "offsets)", NULL},
      {"out", MF_OPT_STRING, &out, "OUT.npz", "output archive; required", NULL},
      MF_RIG_OPT_ASSETS(&assets),
      MF_RIG_OPT_RIG(&rig_path),
      {"lod", MF_OPT_INT, &lod, "N", MF_LOD_HELP, NULL},
  };
  const mf_cmd_spec spec = {
      "rig fk", "--params FILE --out OUT.npz [--assets DIR | --rig RIG.npz] [--lod N]",
      "Evaluates MHR for the model parameters of FILE and writes, in SAM 3D Body conventions (metres,\n"
      "camera axes: y and z negated), pred_joint_coords (127,3), pred_global_rots (127,3,3; native\n"
      "axes), pred_keypoints_3d (70,3; 49 keypoints are joints, 21 surface keypoints are markers on\n"
      "joints, placed by built-in anatomical offsets or calibrated from --markers FILE),\n"
      "pred_vertices (V,3; identity blend shapes from shape_params when present, and the pose\n"
      "correctives when corrective_activation.npz and corrective_blendshapes_lodN.npz are in the\n"
      "assets folder: a note on stderr says whether they were applied) and mhr_model_params.",
      opts, sizeof opts / sizeof opts[0], 0, 0};
  mf_strlist pos;
  int rc = mf_args_parse(&spec, argc, argv, &pos);
  if (rc >= 0) return rc;
  mf_strlist_free(&pos);
  if (!params || !out) return mf_usage_error("rig fk", "--params and --out are required");
  mf_rig_src src;
  if ((rc = mf_rig_choose(assets, rig_path, "rig fk", &src)) >= 0 || (rc = mf_lod_check(lod, "rig fk")) >= 0)
    return rc;
  mhrfit_error err = {0};
  mhrfit_rig *rig = NULL;
  mhrfit_kpmap *map = NULL;
  mhrfit_sam3d_evaluator *ev = NULL;
  mhrfit_value *in = mhrfit_numpy_load(params, NULL, &err);
  double *joints = NULL, *rots = NULL, *verts = NULL;
  mhrfit_array *arr[5] = {0};
  rc = MF_EXIT_FAILURE;
  if (!in) goto fail;
  if (in->kind == MHRFIT_V_LIST && in->u.list.count) { /* a list of persons: the first */
    mhrfit_value *first = in->u.list.items[0];
    in->u.list.items[0] = NULL;
    in->u.list.count = 0;
    mhrfit_value_free(in);
    in = first;
  }
  double m[204];
  int defaulted = 0;
  if (!mhrfit_sam3d_model_params(in, m, &defaulted, &err)) {
    mhrfit_error_prefix(&err, "%s", params);
    goto fail;
  }
  if (defaulted) fprintf(stderr, "mhrfit rig fk: warning: %s has no mhr_model_params; hands and scales set to zero\n", params);
  rig = mf_rig_src_load(&src, lod, 0, &err);
  if (!rig) goto fail;
  size_t nj = rig->n_joints, nv = rig->n_vertices;
  int n_markers = 21;
  if (markers) { /* markers from another SAM 3D Body output: its keypoints in the frames of its FK */
    mhrfit_value *mv = mhrfit_numpy_load(markers, NULL, &err);
    map = mv ? mhrfit_kpmap_new_mhr70(rig, &err) : NULL;
    n_markers = map ? mhrfit_kpmap_calibrate_from_sam3d(map, rig, mv, &err) : -1;
    mhrfit_value_free(mv);
    if (n_markers < 0) {
      mhrfit_error_prefix(&err, "--markers %s", markers);
      goto fail;
    }
    if (n_markers < 21)
      fprintf(stderr, "mhrfit rig fk: warning: --markers %s: only %d of the 21 surface keypoints are finite; the "
              "others are written as NaN\n", markers, n_markers);
  }
  ev = mhrfit_sam3d_evaluator_new(rig, map, &err); /* built-in marker offsets without --markers */
  joints = calloc(3 * nj, sizeof *joints);
  rots = calloc(9 * nj, sizeof *rots);
  verts = calloc(3 * nv + 1, sizeof *verts);
  if (!ev || !joints || !rots || !verts) {
    if (ev) MHRFIT_FAIL(&err, MHRFIT_ERR_NOMEM, "out of memory");
    goto fail;
  }
  double kp[210], shape[45] = {0};
  const mhrfit_value *sp = mhrfit_value_dict_get(in, "shape_params");
  if (sp && sp->kind == MHRFIT_V_ARRAY && sp->u.array->count == 45)
    for (int i = 0; i < 45; i++) shape[i] = mhrfit_array_get_f64(sp->u.array, (size_t)i);
  /* identity blend shapes and pose correctives (when both layers are loaded), then skinning */
  mhrfit_sam3d_outputs o = {joints, rots, kp, verts, false, 0};
  if (!mhrfit_sam3d_evaluator_process(ev, m, shape, 45, &o, &err)) goto fail;
  if (o.correctives_applied) {
    fprintf(stderr, "mhrfit rig fk: pose correctives applied (layer 2 from %s; %zu of %zu hidden units active)\n",
            src.path, o.n_active_correctives, rig->n_corr_hidden);
  } else {
    char l2[64];
    snprintf(l2, sizeof l2, MHRFIT_CORRECTIVE_BLENDSHAPES_FMT, rig->lod);
    fprintf(stderr, "mhrfit rig fk: note: pose correctives not applied: %s not in %s (it comes with the MHR release assets)\n",
            rig->corr_start ? l2 : "corrective_activation.npz", src.path);
  }
  size_t sj[2] = {nj, 3}, sr[3] = {nj, 3, 3}, sk[2] = {70, 3}, sv[2] = {nv, 3}, sm[1] = {204};
  arr[0] = f32_array(2, sj, joints, &err);
  arr[1] = f32_array(3, sr, rots, &err);
  arr[2] = f32_array(2, sk, kp, &err);
  arr[3] = f32_array(2, sv, verts, &err);
  arr[4] = f32_array(1, sm, m, &err);
  for (int i = 0; i < 5; i++)
    if (!arr[i]) goto fail;
  const char *keys[5] = {"pred_joint_coords", "pred_global_rots", "pred_keypoints_3d", "pred_vertices", "mhr_model_params"};
  if (!mhrfit_npz_save(out, 5, keys, (const mhrfit_array *const *)arr, true, &err)) goto fail;
  printf("wrote %s: %zu joints, 70 keypoints (49 joints, %d surface markers %s), %zu vertices (LOD %d)\n", out, nj,
         n_markers, markers ? "calibrated from --markers" : "at built-in offsets", nv, rig->lod);
  rc = MF_EXIT_OK;
  goto done;
fail:
  rc = mf_report("rig fk", &err);
done:
  for (int i = 0; i < 5; i++) mhrfit_array_free(arr[i]);
  free(joints);
  free(rots);
  free(verts);
  mhrfit_sam3d_evaluator_free(ev);
  mhrfit_kpmap_free(map);
  mhrfit_rig_free(rig);
  mhrfit_value_free(in);
  return rc;
}

static int rig_import(int argc, char **argv) {
  const char *assets = NULL, *out = NULL;
  long lod = -1;
  bool quiet = false;
  const mf_opt opts[] = {
      {"assets", MF_OPT_STRING, &assets, "DIR", "MHR assets folder (default: $MHRFIT_ASSETS)", NULL},
      {"lod", MF_OPT_INT, &lod, "N", MF_LOD_HELP, NULL},
      {"out", MF_OPT_STRING, &out, "RIG.npz", "rig file to write; required", NULL},
      MF_OPT_QUIET(&quiet),
  };
  const mf_cmd_spec spec = {
      "rig import", "--out RIG.npz [--assets DIR] [--lod N]",
      "Loads the MHR rig from the assets (compact_v6_1.model + lodN.fbx) and writes it as a rig file:\n"
      "a versioned .npz of plain arrays (layout in include/mhrfit/rig.h) that every command reading\n"
      "the rig accepts with --rig RIG.npz instead of --assets DIR, and that loads in milliseconds.\n"
      "Geometry is kept in float64, so results are bit-identical to those from the assets. The file\n"
      "is read back and compared with the rig before the command succeeds.",
      opts, sizeof opts / sizeof opts[0], 0, 0};
  mf_strlist pos;
  int rc = mf_args_parse(&spec, argc, argv, &pos);
  if (rc >= 0) return rc;
  mf_strlist_free(&pos);
  if (!out || !*out) return mf_usage_error("rig import", "--out RIG.npz is required");
  if ((rc = mf_lod_check(lod, "rig import")) >= 0) return rc;
  if (!assets) assets = getenv("MHRFIT_ASSETS");
  if (!assets || !*assets)
    return mf_usage_error("rig import", "no MHR assets: pass --assets DIR or set MHRFIT_ASSETS (the folder of the MHR "
                                        "release assets.zip, holding compact_v6_1.model and lodN.fbx)");
  mhrfit_error err = {0};
  double t0 = mf_now_seconds();
  mhrfit_rig *rig = mhrfit_rig_load(assets, (int)lod, &err), *back = NULL;
  double t_assets = mf_now_seconds() - t0;
  rc = MF_EXIT_FAILURE;
  if (!rig || !mhrfit_rig_save(rig, out, &err) || !mf_sync_file(out, &err)) goto done; /* durable */
  t0 = mf_now_seconds();
  back = mhrfit_rig_load_file(out, &err);
  double t_file = mf_now_seconds() - t0;
  if (!back) goto done;
  if (!mhrfit_rig_equal(rig, back)) {
    MHRFIT_FAIL(&err, MHRFIT_ERR_IO, "%s: the rig read back differs from the one written", out);
    goto done;
  }
  struct stat st;
  long long bytes = stat(out, &st) == 0 ? (long long)st.st_size : -1;
  if (!quiet) {
    printf("wrote %s: rig file version %d, %lld bytes\n", out, MHRFIT_RIG_FILE_VERSION, bytes);
    printf("  joints            %zu\n  model parameters  %zu (%zu transform non-zeros, %zu limits)\n", rig->n_joints,
           rig->n_params, rig->n_pt, rig->n_limits);
    printf("  mesh              LOD %d: %zu vertices, %zu triangles, %zu skin weights\n", rig->lod, rig->n_vertices,
           rig->n_faces, rig->n_skin);
    printf("  blend shapes      %zu (%zu entries)\n", rig->n_shapes, rig->shape_start ? rig->shape_start[rig->n_shapes] : 0);
    printf("  load time         %.1f ms from the rig file (read back, identical), %.1f ms from the assets\n",
           1e3 * t_file, 1e3 * t_assets);
  }
  rc = MF_EXIT_OK;
done:
  if (rc != MF_EXIT_OK) mf_report("rig import", &err);
  mhrfit_rig_free(back);
  mhrfit_rig_free(rig);
  return rc;
}

int mf_cmd_rig(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "info") == 0) return rig_info(argc - 1, argv + 1);
  if (argc >= 2 && strcmp(argv[1], "fk") == 0) return rig_fk(argc - 1, argv + 1);
  if (argc >= 2 && strcmp(argv[1], "import") == 0) return rig_import(argc - 1, argv + 1);
  if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    printf("Usage: mhrfit rig info [--assets DIR | --rig RIG.npz] [--lod N] [--joints] [--params]\n"
           "       mhrfit rig fk --params FILE --out OUT.npz [--assets DIR | --rig RIG.npz] [--lod N]\n"
           "       mhrfit rig import --out RIG.npz [--assets DIR] [--lod N]\n\n"
           "Subcommands:\n  info   sizes of the MHR rig; list its joints or parameters\n"
           "  fk     evaluate MHR for a SAM 3D Body output's parameters (joints, keypoints, mesh)\n"
           "  import write the rig of the assets as a rig file (--rig RIG.npz for every command; loads in ms)\n");
    return MF_EXIT_OK;
  }
  fprintf(stderr, "mhrfit rig: expected a subcommand: info, fk or import (see 'mhrfit rig --help')\n");
  return MF_EXIT_USAGE;
}
