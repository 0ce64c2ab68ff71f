/* The options of `mhrfit run` (run_opts.c), grouped by stage for its --help. Not part of the
 * library API. */
#ifndef MF_CLI_RUN_OPTS_H
#define MF_CLI_RUN_OPTS_H

#include "cli/cli.h"
#include "mhrfit/pipeline.h"

/* Every option value of the command line. */
typedef struct mf_run_cli {
  const char *input, *calib, *out, *assets, *rig, *sam_dir, *estimator, *strategy, *freeze_from;
  mf_strlist cams, frames, model_ids, cam_map;
  long lod, min_views, max_stale, edge_span, retries, person, jobs;
  bool overwrite, no_smoothing, mesh, no_mesh, quiet, per_frame_scales, report;
  /* estimator workers */
  const char *worker;
  long workers, worker_restarts;
  double estimator_timeout, worker_start_timeout;
  /* stage 1's input limit; the overlays */
  long max_mib;
  const char *overlay_capture, *overlay_layers, *overlay_mesh, *overlay_format;
  bool overlay, overlay_video, overlay_grid, overlay_rescale;
  /* a detector's keypoints */
  const char *input_format, *layout, *keypoint_names, *keypoint_map;
  mf_strlist cam_dirs;
  long calib_frames;
  mf_tri_cli tc;
  mf_fit_cli fc;
  mf_smooth_cli sc;
} mf_run_cli;

/* The groups of the option table, in order. */
enum { MF_RUN_GROUPS = 6 };
extern const char *const mf_run_group_titles[MF_RUN_GROUPS];
enum { MF_RUN_MAX_OPTS = 64 + MF_TRI_CLI_N_OPTS + MF_FIT_CLI_N_OPTS + MF_SMOOTH_CLI_N_OPTS };

/* Sets the defaults and fills `opts` (room for MF_RUN_MAX_OPTS); group_end[g] is the end of
 * group g in the table. Returns the number of options. */
size_t mf_run_table(mf_run_cli *c, mf_opt *opts, size_t group_end[MF_RUN_GROUPS]);

/* Checks the values and fills the library's options; -1 when valid, else the usage exit code
 * after printing the problem. */
int mf_run_finish(mf_run_cli *c, mhrfit_pipeline_options *o);

/* Frees the lists. */
void mf_run_cli_free(mf_run_cli *c);

#endif
