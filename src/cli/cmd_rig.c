/* mhrfit rig: information about the MHR assets (rig info). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "mhrfit/rig.h"

static int rig_info(int argc, char **argv) {
  const char *assets = NULL;
  long lod = -1;
  bool joints = false, params = false;
  const mf_opt opts[] = {
      {"assets", MF_OPT_STRING, &assets, "DIR", "MHR assets folder (default: $MHRFIT_ASSETS)", NULL},
      {"lod", MF_OPT_INT, &lod, "N", "mesh level of detail (default: the lowest lodN.fbx present)", NULL},
      {"joints", MF_OPT_FLAG, &joints, NULL, "list the joints: index, name, parent, offset (cm)", NULL},
      {"params", MF_OPT_FLAG, &params, NULL, "list the model parameters: index, name, limits", NULL},
  };
  const mf_cmd_spec spec = {"rig info", "[--assets DIR] [--lod N] [--joints] [--params]",
                            "Loads the MHR rig (compact_v6_1.model + lodN.fbx) and prints its sizes; --joints and\n"
                            "--params list the skeleton and the 204 model parameters.",
                            opts, sizeof opts / sizeof opts[0], 0, 0};
  mf_strlist pos;
  int rc = mf_args_parse(&spec, argc, argv, &pos);
  if (rc >= 0) return rc;
  mf_strlist_free(&pos);
  if (!assets) assets = getenv("MHRFIT_ASSETS");
  if (!assets || !*assets)
    return mf_usage_error("rig info", "no MHR assets: pass --assets DIR or set MHRFIT_ASSETS (the folder of the MHR "
                                      "release assets.zip, holding compact_v6_1.model and lodN.fbx)");
  mhrfit_error err = {0};
  mhrfit_rig *rig = mhrfit_rig_load(assets, (int)lod, &err);
  if (!rig) return mf_report("rig info", &err);
  printf("MHR rig from %s\n", assets);
  printf("  joints            %zu\n  model parameters  %zu (%zu transform non-zeros, %zu limits)\n", rig->n_joints,
         rig->n_params, rig->n_pt, rig->n_limits);
  printf("  mesh              LOD %d: %zu vertices, %zu triangles, %zu skin weights\n", rig->lod, rig->n_vertices,
         rig->n_faces, rig->n_skin);
  printf("  blend shapes      %zu\n", rig->n_shapes);
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

int mf_cmd_rig(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "info") == 0) return rig_info(argc - 1, argv + 1);
  if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    printf("Usage: mhrfit rig info [--assets DIR] [--lod N] [--joints] [--params]\n\n"
           "Subcommands:\n  info   sizes of the MHR rig; list its joints or parameters\n");
    return MF_EXIT_OK;
  }
  fprintf(stderr, "mhrfit rig: expected a subcommand: info (see 'mhrfit rig --help')\n");
  return MF_EXIT_USAGE;
}
