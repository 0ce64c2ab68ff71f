/* TRC writer: the fitted MHR70 keypoints for OpenSim, the world's up axis as TRC's Y
 * (export.h). */
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "common/mem.h"
#include "export/export_internal.h"
#include "mhrfit/layout.h"
#include "mhrfit/trc.h"

bool mf_export_trc(mhrfit_exporter *ex, const char *path, mhrfit_error *err) {
  const mhrfit_export_source *src = ex->src;
  if (!src->has_keypoints)
    return MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "%s: no keypoints (pred_keypoints_3d) to write as TRC", src->path);
  const mhrfit_layout *mhr70 = mhrfit_layout_get("mhr70", err);
  if (!mhr70) return false;
  size_t first = ex->frames[0], last = ex->frames[ex->n - 1], F = last - first + 1;
  double *pts = mf_malloc_array(F * 70 * 3, sizeof(double), err);
  if (!pts) return false;
  for (size_t f = 0; f < F; f++) {
    bool on = ex->exported[first + f - ex->begin];
    for (size_t i = 0; i < 210; i++) pts[f * 210 + i] = on ? src->keypoints[(first + f) * 210 + i] : NAN;
  }
  const char *unit = ex->o.units_scale == 1 ? "m" : ex->o.units_scale == 0.01 ? "cm" : ex->o.units_scale == 0.001 ? "mm" : NULL;
  bool ok = unit ? mhrfit_trc_write_axes(path, mhr70->names, 70, pts, F, ex->rep.fps, ex->U, ex->o.units_scale, unit, err)
                 : MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "%s: TRC units must be m, cm or mm", path);
  free(pts);
  struct stat st;
  if (ok) ex->rep.n_files = 1, ex->rep.bytes = stat(path, &st) == 0 ? (size_t)st.st_size : 0;
  return ok;
}
