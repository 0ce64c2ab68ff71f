/* The overlays of a finished run (pipeline.h: options.overlay; overlay.h). */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/path.h"
#include "pipeline/pipeline_internal.h"

bool mf_pipeline_overlay_check(const mhrfit_pipeline_options *o, mhrfit_error *err) {
  bool any = o->overlay_capture || o->overlay_layers != MHRFIT_LAYERS_ALL || o->overlay_mesh != MHRFIT_MESH_SILHOUETTE ||
             o->overlay_format != MHRFIT_IMAGE_AUTO || o->overlay_video || o->overlay_grid || o->overlay_rescale;
  if (!o->overlay && any)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "the --overlay_* settings go with --overlay");
  if (o->overlay_layers & ~(unsigned)MHRFIT_LAYERS_ALL)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "--overlay_layers: unknown layer flags 0x%x", o->overlay_layers);
  if (o->overlay_mesh != MHRFIT_MESH_SILHOUETTE && o->overlay_mesh != MHRFIT_MESH_WIREFRAME)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "--overlay_mesh: unknown style %d", (int)o->overlay_mesh);
  if (o->overlay_format != MHRFIT_IMAGE_AUTO && o->overlay_format != MHRFIT_IMAGE_JPEG &&
      o->overlay_format != MHRFIT_IMAGE_PNG)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "--overlay_format: unknown format %d", (int)o->overlay_format);
  if (o->overlay_capture && !mf_is_dir(o->overlay_capture))
    return MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "--overlay_capture %s: no such folder", o->overlay_capture);
  return true;
}

static void on_log(void *user, mhrfit_overlay_log_level level, const char *msg) {
  mhrfit_pipeline_log_level lv = level == MHRFIT_OVERLAY_INFO      ? MHRFIT_PIPELINE_INFO
                                 : level == MHRFIT_OVERLAY_WARNING ? MHRFIT_PIPELINE_WARNING
                                                                   : MHRFIT_PIPELINE_ERROR;
  mf_pipeline_log(user, lv, "overlay: %s", msg);
}

bool mf_pipeline_overlay(mhrfit_pipeline *p, mhrfit_error *err) {
  char out[PATH_MAX];
  snprintf(out, sizeof out, "%s/overlay", p->o.out_dir);
  mhrfit_overlay_options oo;
  mhrfit_overlay_options_init(&oo);
  oo.run_dir = p->o.out_dir;
  oo.out_dir = out;
  oo.capture = p->o.overlay_capture;
  oo.rig_path = p->o.rig_path; /* the run's rig at the run's LOD, as `mhrfit overlay --run` loads it */
  oo.layers = p->o.overlay_layers;
  oo.mesh_style = p->o.overlay_mesh;
  oo.image.format = p->o.overlay_format;
  oo.video = p->o.overlay_video;
  oo.grid = p->o.overlay_grid;
  oo.rescale = p->o.overlay_rescale;
  oo.log = on_log;
  oo.user = p;
  mhrfit_overlay_summary s;
  mhrfit_error e = {0};
  mhrfit_overlay *ov = mhrfit_overlay_new(&oo, &e);
  if (!ov && e.type == MHRFIT_ERR_NOT_FOUND) { /* no pictures: said, and the run's files stand */
    mf_pipeline_log(p, MHRFIT_PIPELINE_WARNING, "overlays not written: %s%s", e.message,
                    p->o.overlay_capture ? "" : " (name the pictures' folder with --overlay_capture DIR)");
    return true;
  }
  bool ok = ov && mhrfit_overlay_process(ov, &s, &e);
  if (ok && s.views_failed)
    ok = MHRFIT_FAIL(&e, MHRFIT_ERR_IO, "%s: %zu overlay(s) could not be written (see above)", out, s.views_failed);
  if (ok)
    mf_pipeline_log(p, MHRFIT_PIPELINE_INFO,
                    "overlay: %s (%zu frames x %zu cameras: %zu pictures, %zu views skipped, %zu videos) in %.1f s", out,
                    s.n_frames, s.n_cams, s.images_written, s.views_skipped, s.videos_written, s.seconds);
  mhrfit_overlay_free(ov);
  if (!ok && err) {
    *err = e;
    mhrfit_error_prefix(err, "the run's files are written, its overlays are not");
  }
  return ok;
}
