/* Internal: the momentum `.model` text file (parameter transform, limits). */
#ifndef MF_BODY_MODEL_FILE_H
#define MF_BODY_MODEL_FILE_H

#include "mhrfit/rig.h"

/* Parses the text into rig->param_names, pt, limits; joint names must already be in rig. */
bool mf_model_parse(const char *text, size_t len, const char *name, mhrfit_rig *rig, mhrfit_error *err);

/* Offsets of each joint-parameter row in the row-sorted parameter transform: the entries of row r
 * (7·joint + channel) are rig->pt[start[r] .. start[r+1]); `start` holds 7·n_joints + 1 values. */
void mf_pt_row_starts(const mhrfit_rig *rig, size_t *start);

#endif
