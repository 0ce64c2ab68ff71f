/* MHR evaluated as SAM 3D Body reports it: FK, keypoints, mesh (include/mhrfit/sam3d.h). */
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "mhrfit/sam3d.h"

struct mhrfit_sam3d_evaluator {
  const mhrfit_rig *rig;
  mhrfit_kpmap *map;
  double *jp, *R, *t, *s; /* FK: joint parameters and global transforms */
  double *kp;             /* 70 × 3 keypoints, native */
  double *work, *posed;   /* skinning work (mhrfit_rig_skin_work_size()) and posed vertices, native */
};

void mhrfit_sam3d_evaluator_free(mhrfit_sam3d_evaluator *ev) {
  if (!ev) return;
  mhrfit_kpmap_free(ev->map);
  free(ev->jp);
  free(ev->R);
  free(ev->t);
  free(ev->s);
  free(ev->kp);
  free(ev->work);
  free(ev->posed);
  free(ev);
}

mhrfit_sam3d_evaluator *mhrfit_sam3d_evaluator_new(const mhrfit_rig *rig, const mhrfit_kpmap *map,
                                                   mhrfit_error *err) {
  if (!rig || rig->n_params != MHRFIT_N_MODEL_PARAMS) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "the evaluator needs the 204-parameter MHR rig, not one of %zu parameters",
                rig ? rig->n_params : 0);
    return NULL;
  }
  if (map && (map->n_keypoints != MHRFIT_N_MHR70 || map->n_joints != rig->n_joints)) {
    MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "the keypoint map has %zu keypoints over %zu joints; 70 over the rig's %zu needed",
                map->n_keypoints, map->n_joints, rig->n_joints);
    return NULL;
  }
  mhrfit_sam3d_evaluator *ev = mf_calloc_array(1, sizeof *ev, err);
  if (!ev) return NULL;
  ev->rig = rig;
  size_t nj = rig->n_joints, nv = rig->n_vertices;
  if (!(ev->jp = mf_malloc_array(7 * nj, sizeof(double), err)) || !(ev->R = mf_malloc_array(9 * nj, sizeof(double), err)) ||
      !(ev->t = mf_malloc_array(3 * nj, sizeof(double), err)) || !(ev->s = mf_malloc_array(nj, sizeof(double), err)) ||
      !(ev->kp = mf_malloc_array(3 * MHRFIT_N_MHR70, sizeof(double), err)) ||
      !(ev->work = mf_malloc_array(mhrfit_rig_skin_work_size(rig), sizeof(double), err)) ||
      !(ev->posed = mf_malloc_array(3 * nv, sizeof(double), err)))
    goto fail;
  if (map) {
    if (!(ev->map = mhrfit_kpmap_clone(map, err))) goto fail;
  } else if (!(ev->map = mhrfit_kpmap_new_mhr70(rig, err)) || mhrfit_kpmap_calibrate_default(ev->map, rig, err) < 0) {
    goto fail;
  }
  return ev;
fail:
  mhrfit_sam3d_evaluator_free(ev);
  return NULL;
}

/* n native points (cm, Y up) → SAM 3D Body camera axes (m). */
static void to_sam3d(const double *in, size_t n, double *out) {
  for (size_t i = 0; i < n; i++) mhrfit_mhr_to_sam3d(in + 3 * i, out + 3 * i);
}

bool mhrfit_sam3d_evaluator_process(mhrfit_sam3d_evaluator *ev, const double m[MHRFIT_N_MODEL_PARAMS],
                                    const double *shape, size_t n_shape, mhrfit_sam3d_outputs *out,
                                    mhrfit_error *err) {
  if (!out || !out->joint_coords || !out->global_rots || !out->keypoints_3d)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "no output array for the joints, rotations or keypoints");
  if (n_shape && !shape) return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "%zu blend-shape coefficients but no array", n_shape);
  const mhrfit_rig *rig = ev->rig;
  mhrfit_fk_pose pose = {ev->R, ev->t, ev->s};
  out->correctives_applied = false;
  out->n_active_correctives = 0;
  if (!mhrfit_rig_fk(rig, m, &pose, ev->jp, err)) return false;
  if (out->vertices) {
    if (!mhrfit_rig_skin_full(rig, shape, n_shape, &pose, ev->jp, ev->work, ev->posed, err)) return false;
    if (mhrfit_rig_has_correctives(rig)) {
      const double *hidden = ev->work + 3 * rig->n_vertices + rig->n_corr_features;
      for (size_t u = 0; u < rig->n_corr_hidden; u++) out->n_active_correctives += hidden[u] > 0;
      out->correctives_applied = true;
    }
    to_sam3d(ev->posed, rig->n_vertices, out->vertices);
  }
  mhrfit_kpmap_eval(ev->map, &pose, ev->kp);
  to_sam3d(ev->t, rig->n_joints, out->joint_coords);
  memcpy(out->global_rots, ev->R, 9 * rig->n_joints * sizeof *ev->R);
  to_sam3d(ev->kp, MHRFIT_N_MHR70, out->keypoints_3d);
  return true;
}
