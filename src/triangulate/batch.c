/* Triangulating every frame of loaded observations into an archive: see include/mhrfit/triangulate.h. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "mhrfit/triangulate.h"

mhrfit_tri_archive *mhrfit_triangulate_observations(const mhrfit_camera *cams, const char *const *cam_names,
                                                    const mhrfit_observations *obs, const size_t *idx,
                                                    const char *const *names, size_t K,
                                                    const mhrfit_tri_options *o, mhrfit_error *err) {
  size_t V = obs->n_views, F = obs->n_frames, Ko = obs->n_kp;
  for (size_t k = 0; k < K; k++)
    if (idx[k] >= Ko) {
      MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "keypoint %zu of the subset is index %zu, the input has %zu", k, idx[k], Ko);
      return NULL;
    }
  mhrfit_tri_options def;
  if (!o) {
    mhrfit_tri_options_default(&def);
    o = &def;
  }
  mhrfit_triangulator *tri = mhrfit_triangulator_new(cams, V, K, o, err);
  double *uv = mf_malloc_array(2 * K * V, sizeof *uv, err), *conf = mf_malloc_array(K * V, sizeof *conf, err);
  mhrfit_tri_archive *ar = tri && uv && conf ? mhrfit_tri_archive_new(F, K, V, names, cam_names, err) : NULL;
  if (!ar || !(ar->det_uv = mf_malloc_array(2 * F * K * V, sizeof *ar->det_uv, err)) ||
      !(ar->det_conf = mf_malloc_array(F * K * V, sizeof *ar->det_conf, err)))
    goto fail;
  for (size_t f = 0; f < F; f++) {
    for (size_t k = 0; k < K; k++)
      for (size_t v = 0; v < V; v++) {
        size_t src = (f * Ko + idx[k]) * V + v, dst = (f * K + k) * V + v;
        uv[2 * (k * V + v)] = ar->det_uv[2 * dst] = obs->uv[2 * src];
        uv[2 * (k * V + v) + 1] = ar->det_uv[2 * dst + 1] = obs->uv[2 * src + 1];
        conf[k * V + v] = ar->det_conf[dst] = obs->conf ? obs->conf[src] : 1.0;
      }
    mhrfit_tri_result res = {ar->points + 3 * K * f, ar->points_init + 3 * K * f, ar->inliers + K * V * f,
                             ar->reproj_err + K * V * f, ar->n_views_used + K * f, ar->reason + K * f};
    if (!mhrfit_triangulator_process(tri, K, uv, obs->conf ? conf : NULL, &res, err)) goto fail;
  }
  ar->frame_axis = !(strcmp(obs->format, "stage1") == 0 && F == 1);
  for (size_t k = 0; k < K; k++) ar->subset_idx[k] = (int32_t)idx[k];
  snprintf(ar->method, sizeof ar->method, "%s", o->method == MHRFIT_TRI_POSE2SIM ? "pose2sim" : "default");
  ar->threshold_px = o->method == MHRFIT_TRI_POSE2SIM ? o->reproj_thresh : o->inlier_thresh;
  mhrfit_tri_archive_update_mean(ar);
  goto done;
fail:
  mhrfit_tri_archive_free(ar);
  ar = NULL;
done:
  mhrfit_triangulator_free(tri);
  free(uv);
  free(conf);
  return ar;
}
