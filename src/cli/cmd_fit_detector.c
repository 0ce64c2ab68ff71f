/* mhrfit fit --layout L (no --views): MHR fitted to a detector's triangulated keypoints alone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/clock.h"
#include "common/file.h"
#include "mhrfit/detector.h"

typedef struct progress {
  bool tty, quiet;
  size_t F, done, ok, bad, failed;
  double t0;
} progress;

static bool on_frame(void *user, size_t f, const mhrfit_fit_result *res, const mhrfit_error *ferr) {
  progress *p = user;
  p->done = f + 1;
  if (!res) {
    p->failed++;
    if (!p->quiet) fprintf(stderr, "%smhrfit fit: frame %zu failed: %s\n", p->tty ? "\n" : "", f, ferr->message);
  } else if (res->status == MHRFIT_FIT_OK) {
    p->ok++;
  } else {
    p->bad++;
  }
  if (p->tty) {
    double rate = (double)p->done / (mf_now_seconds() - p->t0 + 1e-9);
    fprintf(stderr, "\rfit: %zu/%zu frames, %.1f frames/s, %zu bad, %zu failed   ", p->done, p->F, rate, p->bad,
            p->failed);
  }
  return true;
}

int mf_fit_detector(const mf_fit_detector_args *a) {
  mhrfit_error err = {0};
  mhrfit_tri_archive *tri = NULL;
  mhrfit_rig *rig = NULL;
  mhrfit_detmap *map = NULL;
  mhrfit_detfit *d = NULL;
  mhrfit_fit_archive *ar = NULL;
  mhrfit_calib *all = NULL, *cal = NULL;
  int rc = MF_EXIT_FAILURE;
  if (!(tri = mhrfit_tri_archive_load(a->tri_path, &err))) goto fail;
  if (a->calib && (!(all = mhrfit_calib_load(a->calib, &a->calib_opts, &err)) ||
                   !(cal = mhrfit_calib_select(all, (const char *const *)tri->cams, tri->n_views, &err))))
    goto fail;
  if (!(rig = mf_rig_src_load(a->rig_src, a->lod, MHRFIT_RIG_NO_CORRECTIVE_BLENDSHAPES, &err))) goto fail;
  map = a->layout ? mhrfit_detmap_new(rig, a->layout, &err)
                  : mhrfit_detmap_new_names((const char *const *)tri->subset_names, tri->n_kp, &err);
  if (!map || (a->keypoint_map && !mhrfit_detmap_load_json(map, rig, a->keypoint_map, &err))) goto fail;
  mhrfit_detfit_options o;
  mhrfit_detfit_options_init(&o);
  o.fit = *a->fit;
  o.fit.joint_limits = true;
  o.fit.freeze_flexible_lengths = true;
  o.fit.with_scale = false;
  o.calib_frames = (int)a->calib_frames;
  o.max_stale_frames = (int)a->max_stale;
  if (!(d = mhrfit_detfit_new(rig, map, &o, &err))) goto fail;
  progress p = {!a->quiet && tri->n_frames > 1 && isatty(2), a->quiet, tri->n_frames, 0, 0, 0, 0, mf_now_seconds()};
  double t0 = mf_now_seconds();
  if (!(ar = mhrfit_detfit_run(d, map, tri, cal ? cal->cams : NULL, !a->no_mesh, on_frame, &p, &err))) goto fail;
  double secs = mf_now_seconds() - t0;
  if (p.tty) fprintf(stderr, "\n");
  if (!mhrfit_fit_archive_save(a->out, ar, &err) || !mf_sync_file(a->out, &err)) goto fail;
  char warning[512];
  if (mhrfit_detfit_proportions_warning(d, warning, sizeof warning)) fprintf(stderr, "mhrfit fit: warning: %s\n", warning);
  if (!a->quiet) {
    const mhrfit_detfit_calibration *c = mhrfit_detfit_calibration_get(d);
    size_t counts[3];
    mhrfit_detmap_counts(map, counts);
    printf("keypoint map %s: %zu joint keypoints, %zu markers, %zu not fitted\n", map->layout, counts[1], counts[2],
           counts[0]);
    printf("calibration: proportions from %zu segments (length RMS %.1f -> %.1f mm), markers over %d frames "
           "(RMS %.1f -> %.1f mm), %.2f s\n",
           c->n_segments, 1e3 * c->segment_rms_before_m, 1e3 * c->segment_rms_after_m, c->n_calib_frames,
           1e3 * c->marker_rms_before_m, 1e3 * c->marker_rms_after_m, c->seconds);
    printf("fitted %zu frame(s) without views: %zu ok, %zu bad_loss, %zu failed; %.2f ms per frame; %zu warm "
           "start(s) redone limb by limb\n",
           p.F, p.ok, p.bad, p.failed, 1e3 * (secs - c->seconds) / (double)(p.F ? p.F : 1), mhrfit_detfit_restarts(d));
    printf("wrote %s\n", a->out);
  }
  rc = p.ok + p.bad > 0 ? MF_EXIT_OK : MF_EXIT_FAILURE;
  if (rc != MF_EXIT_OK && !a->quiet) fprintf(stderr, "mhrfit fit: no frame could be fitted\n");
  goto done;
fail:
  rc = mf_report("fit", &err);
done:
  mhrfit_fit_archive_free(ar);
  mhrfit_detfit_free(d);
  mhrfit_detmap_free(map);
  mhrfit_rig_free(rig);
  mhrfit_tri_archive_free(tri);
  mhrfit_calib_free(cal);
  mhrfit_calib_free(all);
  return rc;
}
