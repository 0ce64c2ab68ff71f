/* TRC writer: the fitted keypoints (MHR70's or the source's set) for OpenSim, the world's up axis as TRC's Y
 * (export.h). */
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "common/mem.h"
#include "export/export_internal.h"
#include "mhrfit/trc.h"

bool mf_export_trc(mhrfit_exporter *ex, const char *path, mhrfit_error *err) {
  const mhrfit_export_source *src = ex->src;
  if (!src->has_keypoints)
    return MHRFIT_FAIL(err, MHRFIT_ERR_NOT_FOUND, "%s: no keypoints (pred_keypoints_3d) to write as TRC", src->path);
  size_t first = ex->frames[0], last = ex->frames[ex->n - 1], F = last - first + 1, K = src->n_kp;
  double *pts = mf_malloc_array(F * K, 3 * sizeof(double), err);
  const char **names = mf_malloc_array(K, sizeof *names, err);
  if (!pts || !names) {
    free(pts);
    free(names);
    return false;
  }
  for (size_t k = 0; k < K; k++) names[k] = mf_export_keypoint_name(src, k);
  for (size_t f = 0; f < F; f++) {
    bool on = ex->exported[first + f - ex->begin];
    for (size_t i = 0; i < 3 * K; i++) pts[f * 3 * K + i] = on ? src->keypoints[(first + f) * 3 * K + i] : NAN;
  }
  const char *unit = ex->o.units_scale == 1 ? "m" : ex->o.units_scale == 0.01 ? "cm" : ex->o.units_scale == 0.001 ? "mm" : NULL;
  bool ok = unit ? mhrfit_trc_write_axes(path, names, K, pts, F, ex->rep.fps, ex->U, ex->o.units_scale, unit, err)
                 : MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "%s: TRC units must be m, cm or mm", path);
  free(pts);
  free(names);
  struct stat st;
  if (ok) ex->rep.n_files = 1, ex->rep.bytes = stat(path, &st) == 0 ? (size_t)st.st_size : 0;
  return ok;
}
