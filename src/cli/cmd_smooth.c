/* mhrfit smooth: NaN-safe smoothing of a fitted sequence, geometry recomputed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/file.h"
#include "mhrfit/fit_io.h"
#include "mhrfit/sequence.h"

/* Locks the fitter's markers to those of the archive's first good frame: its world keypoints
 * taken back through its similarity are a view of its parameters. */
static bool markers_from_archive(mhrfit_fitter *f, const mhrfit_fit_archive *a) {
  for (size_t t = 0; t < a->n_frames; t++) {
    if (strcmp(a->status[t], "ok") != 0) continue;
    const double *so = a->sim_out + 13 * t, *R = so + 1;
    mhrfit_fit_view v;
    memset(&v, 0, sizeof v);
    v.name = "sequence";
    memcpy(v.model_params, a->model_params + 204 * t, sizeof v.model_params);
    double kp[210];
    for (int k = 0; k < 70; k++) {
      double d[3];
      for (int c = 0; c < 3; c++) d[c] = a->keypoints[210 * t + 3 * k + c] - so[10 + c];
      for (int c = 0; c < 3; c++) kp[3 * k + c] = (R[c] * d[0] + R[3 + c] * d[1] + R[6 + c] * d[2]) / so[0];
    }
    v.keypoints_3d = kp;
    return mhrfit_fitter_lock_markers(f, &v, NULL);
  }
  return false;
}

int mf_cmd_smooth(int argc, char **argv) {
  const char *in = NULL, *out = NULL, *assets = NULL, *rig_path = NULL;
  long lod = -1;
  bool quiet = false;
  mf_smooth_cli sc;
  mf_smooth_cli_init(&sc);
  sc.fps_from_input = true;
  const mf_opt own[] = {
      {"input", MF_OPT_STRING, &in, "FIT.npz", "fitted sequence (mhrfit run's sequence_fit.npz or a batch of mhrfit fit); required", NULL},
      MF_OPT_ALIAS_OF("in", "input"),
      {"out", MF_OPT_STRING, &out, "OUT.npz", "smoothed sequence; required", NULL},
      MF_RIG_OPT_ASSETS(&assets),
      MF_RIG_OPT_RIG(&rig_path),
      {"lod", MF_OPT_INT, &lod, "N", MF_LOD_HELP, NULL},
      MF_OPT_QUIET(&quiet),
  };
  mf_opt opts[sizeof own / sizeof own[0] + MF_SMOOTH_CLI_N_OPTS];
  memcpy(opts, own, sizeof own);
  size_t n_opts = sizeof own / sizeof own[0] + mf_smooth_cli_table(&sc, opts + sizeof own / sizeof own[0]);
  const mf_cmd_spec spec = {
      "smooth", "--input FIT.npz --out OUT.npz [--assets DIR | --rig RIG.npz] [options]",
      "NaN-safe temporal smoothing of a fitted sequence: the parameters and similarities of the ok\n"
      "and recovered frames are smoothed (other frames are filled for the filter but keep their\n"
      "status and NaN values) and the geometry is recomputed from the smoothed parameters.",
      opts, n_opts, 0, 0};
  mf_strlist pos;
  int rc = mf_args_parse(&spec, argc, argv, &pos);
  if (rc >= 0) return rc;
  mf_strlist_free(&pos);
  if (!in || !out) return mf_usage_error("smooth", "--input and --out are required");
  if ((rc = mf_lod_check(lod, "smooth")) >= 0) return rc;
  if ((rc = mf_smooth_cli_finish(&sc, "smooth")) >= 0) return rc;
  mf_rig_src rig_src;
  if ((rc = mf_rig_choose(assets, rig_path, "smooth", &rig_src)) >= 0) return rc;
  const mf_path_opt ins[2] = {{"input", in}, {"rig", rig_path}};
  if ((rc = mf_check_output("smooth", (mf_path_opt){"out", out}, ins, 2)) >= 0) return rc;
  mhrfit_error err = {0};
  mhrfit_fit_archive *a = mhrfit_fit_archive_load(in, &err);
  if (a && !mhrfit_fit_archive_check_values(a, in, &err)) { /* before any work, as export */
    mhrfit_fit_archive_free(a);
    return mf_report("smooth", &err);
  }
  if (!a) return mf_report("smooth", &err);
  if ((rc = mf_smooth_cli_input_fps(&sc, "smooth", in, a->fps, quiet)) >= 0) {
    mhrfit_fit_archive_free(a);
    return rc;
  }
  const mhrfit_smooth_options so = sc.o;
  mhrfit_rig *rig = a ? mf_rig_src_load(&rig_src, lod, MHRFIT_RIG_NO_CORRECTIVE_BLENDSHAPES, &err) : NULL;
  mhrfit_fitter *f = rig ? mhrfit_fitter_new(rig, NULL, NULL, &err) : NULL;
  unsigned char *labels = a ? calloc(a->n_frames, 1) : NULL;
  rc = MF_EXIT_FAILURE;
  if (f && labels) {
    if (a->n_vertices && a->n_vertices != rig->n_vertices)
      MHRFIT_FAIL(&err, MHRFIT_ERR_ARGUMENT, "%s has %zu vertices, the LOD %d mesh %zu: pass the matching --lod", in,
                  a->n_vertices, rig->lod, rig->n_vertices);
    else if (!markers_from_archive(f, a))
      MHRFIT_FAIL(&err, MHRFIT_ERR_NUMERIC, "%s: no ok frame to take the surface markers from", in);
    else {
      mhrfit_smooth_report sr;
      if (mhrfit_sequence_smooth(a, f, &so, labels, &sr, &err) && mhrfit_fit_archive_save(out, a, &err) &&
          mf_sync_file(out, &err)) {
        if (!quiet)
          printf("smoothed %zu frames (%zu anchors, %zu filled and left as they were%s); wrote %s\n", a->n_frames,
                 sr.n_anchors, sr.n_filled, sr.smoothed ? "" : "; fewer than 2 anchors: unchanged", out);
        rc = MF_EXIT_OK;
      }
    }
  } else if (a && !labels) {
    MHRFIT_FAIL(&err, MHRFIT_ERR_NOMEM, "out of memory");
  }
  if (rc != MF_EXIT_OK) mf_report("smooth", &err);
  free(labels);
  mhrfit_fitter_free(f);
  mhrfit_rig_free(rig);
  mhrfit_fit_archive_free(a);
  return rc;
}
