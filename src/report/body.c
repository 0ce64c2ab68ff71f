/* The report's body: the run's skinned, animated MHR body as a GLB made by the exporter
 * (export.h), embedded for three.js's glTF loader. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "mhrfit/export.h"
#include "mhrfit/rig.h"
#include "report/report_internal.h"

bool mf_report_body(mhrfit_report *r, mhrfit_error *err) {
  if (r->opts.no_body) return true;
  if (!r->opts.rig)
    return mf_report_note(r, err, "no MHR assets or rig file given (--assets, --rig or MHRFIT_ASSETS): no body in the 3-D view");
  mhrfit_export_source_options so = {0};
  so.fitted = r->opts.fitted;
  char note[512] = "";
  mhrfit_error e = {0};
  mhrfit_export_source *src = mhrfit_export_source_load(r->run_dir, &so, note, sizeof note, &e);
  mhrfit_rig *rig = NULL;
  mhrfit_exporter *ex = NULL;
  bool ok = true;
  if (!src) {
    ok = mf_report_note(r, err, "no body in the 3-D view: %s", e.message);
    goto done;
  }
  if (src->n_frames != r->F) {
    ok = mf_report_note(r, err, "no body in the 3-D view: %s holds %zu frames, the run %zu", src->path, src->n_frames, r->F);
    goto done;
  }
  if (!(rig = mhrfit_rig_open(r->opts.rig, r->opts.lod, MHRFIT_RIG_NO_CORRECTIVES, &e))) {
    ok = mf_report_note(r, err, "no body in the 3-D view: %s", e.message);
    goto done;
  }
  mhrfit_export_options o;
  mhrfit_export_options_init(&o);
  o.format = MHRFIT_EXPORT_GLB;
  o.keep_bad = true;           /* a bad_loss frame has a pose: show it */
  o.fps = r->fps;
  o.keypoints = false;         /* the page draws its own keypoints */
  o.cameras = 0;               /* and its own camera frustums */
  o.max_influences = 4;        /* one JOINTS/WEIGHTS set: what three.js reads */
  o.corrective_frames = 0;
  if (!mhrfit_up_parse(r->up_name, &o.up, &e) || !(ex = mhrfit_exporter_new(rig, src, &o, &e)) ||
      !mhrfit_exporter_glb(ex, &r->glb, &r->glb_len, &e)) {
    ok = mf_report_note(r, err, "no body in the 3-D view: %s", e.message);
    goto done;
  }
  /* animation time of each frame (the exporter's keyframes: (frame − first exported) / fps) */
  r->body_time = mf_malloc_array(r->F, sizeof *r->body_time, err);
  if (!r->body_time) {
    ok = false;
    goto done;
  }
  long first = -1;
  for (size_t f = 0; f < r->F; f++) {
    int cls = mhrfit_export_status_class(src->status[f]);
    r->body_time[f] = NAN;
    if (cls == 2) continue;
    if (first < 0) first = (long)f;
    r->body_time[f] = (float)((double)((long)f - first) / mhrfit_exporter_report(ex)->fps);
  }
  r->body_lod = mhrfit_exporter_report(ex)->lod;
  r->body_vertices = mhrfit_exporter_report(ex)->n_vertices;
  if (note[0]) ok = mf_report_note(r, err, "body: %s", note);
done:
  if (!ok) {
    free(r->glb);
    r->glb = NULL;
  }
  mhrfit_exporter_free(ex);
  mhrfit_rig_free(rig);
  mhrfit_export_source_free(src);
  return ok;
}
