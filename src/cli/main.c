/* mhrfit: the command-line entry point and subcommand dispatch. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

typedef struct command {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
} command;

static const command commands[] = {
    {"demo", mf_cmd_demo, "write a synthetic multi-view capture (SAM 3D Body outputs + calibration + truth)"},
    {"frames", mf_cmd_frames, "capture frames <out>/<frame>/<cam>.jpg from camera videos (index, csv or timestamps sync)"},
    {"ingest", mf_cmd_ingest, "stage 1: gather per-view SAM 3D Body outputs, select the person, write stage-1 files"},
    {"inspect", mf_cmd_inspect, "list or dump the content of .npy/.npz/pickle/TOML/JSON files"},
    {"rig", mf_cmd_rig, "MHR rig: info (joints, parameters, limits), fk (joints, keypoints, mesh), import (rig file)"},
    {"triangulate", mf_cmd_triangulate, "stage 2: robust multi-view triangulation of one frame or a sequence"},
    {"fit", mf_cmd_fit, "stage 3: fit MHR to the triangulated points of one frame or a batch of frames"},
    {"run", mf_cmd_run, "the pipeline over a sequence: triangulate, fit, recover, smooth, summary (resumable)"},
    {"smooth", mf_cmd_smooth, "NaN-safe temporal smoothing of a fitted sequence"},
    {"report", mf_cmd_report, "one self-contained HTML file to look at a run (3-D body, cameras, statuses, charts)"},
    {"export", mf_cmd_export, "fitted sequences to glTF/GLB, BVH, TRC and per-frame PLY/OBJ/NPZ files"},
    {"overlay", mf_cmd_overlay, "the fitted body drawn over each camera's pictures, as pictures and videos"},
    {"batch", mf_cmd_batch, "many sessions from a TOML manifest, on this machine or as a Slurm job array (resumable)"},
};

static void usage(FILE *f) {
  fprintf(f,
          "mhrfit %s: multi-view human body capture with the MHR body model\n\n"
          "Usage: mhrfit COMMAND [options]    (mhrfit COMMAND --help for details)\n\nCommands:\n",
          MHRFIT_VERSION_STRING);
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
  fprintf(f,
          "\nOptions are accepted as --snake_case and --kebab-case. The MHR rig is read from\n"
          "--assets DIR, from a rig file of 'mhrfit rig import' with --rig RIG.npz, or from the\n"
          "environment variable MHRFIT_ASSETS (either). Exit status: 0 success, 1 runtime\n"
          "failure, 2 usage error.\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return MF_EXIT_USAGE;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
    usage(stdout);
    return MF_EXIT_OK;
  }
  if (strcmp(cmd, "--version") == 0) {
    printf("mhrfit %s\n", MHRFIT_VERSION_STRING);
    return MF_EXIT_OK;
  }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (strcmp(cmd, commands[i].name) == 0) return commands[i].run(argc - 1, argv + 1);
  fprintf(stderr, "mhrfit: unknown command '%s'\n\n", cmd);
  usage(stderr);
  return MF_EXIT_USAGE;
}
