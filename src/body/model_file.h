/* Internal: the momentum `.model` text file (parameter transform, limits). */
#ifndef MF_BODY_MODEL_FILE_H
#define MF_BODY_MODEL_FILE_H

#include "mhrfit/rig.h"

/* Parses the text into rig->param_names, pt, limits; joint names must already be in rig. */
bool mf_model_parse(const char *text, size_t len, const char *name, mhrfit_rig *rig, mhrfit_error *err);

/* Offsets of each joint-parameter row in the row-sorted parameter transform: the entries of row r
 * (7·joint + channel) are rig->pt[start[r] .. start[r+1]); `start` holds 7·n_joints + 1 values. */
void mf_pt_row_starts(const mhrfit_rig *rig, size_t *start);

/* Chains the derivative g (3 coordinates) of a point with respect to joint parameter row r
 * through the parameter transform into three Jacobian rows over the model parameters:
 * J_a[m] += PT[r, m] · g[a] for the entries of row r (`start` from mf_pt_row_starts()). */
static inline void mf_pt_chain(const mhrfit_rig *rig, const size_t *start, size_t r, const double g[3], double *Jx,
                               double *Jy, double *Jz) {
  for (size_t e = start[r]; e < start[r + 1]; e++) {
    double coeff = rig->pt[e].coeff;
    size_t m = (size_t)rig->pt[e].param;
    Jx[m] += coeff * g[0];
    Jy[m] += coeff * g[1];
    Jz[m] += coeff * g[2];
  }
}

#endif
