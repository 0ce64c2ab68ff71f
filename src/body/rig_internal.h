/* Internal: the parts of the rig shared by the asset loader (rig.c) and the rig file
 * (rig_file.c). Not part of the public API. */
#ifndef MF_BODY_RIG_INTERNAL_H
#define MF_BODY_RIG_INTERNAL_H

#include "mhrfit/rig.h"
#include "mhrfit/value.h"

/* Computes the derived rest pose (rest_R, rest_t: forward kinematics with every parameter 0) of
 * a rig whose skeleton and parameter transform are set. Defined in rig.c. */
bool mf_rig_set_rest_pose(mhrfit_rig *r, mhrfit_error *err);

/* Builds a rig from the members of a rig file already read into a DICT value (mhrfit_npz_load
 * or mhrfit_npz_parse), validating them as mhrfit_rig_load_file() does. Array data is moved out
 * of `npz` (which must still be freed by the caller). `name` labels the messages. Defined in
 * rig_file.c; the fuzz target calls it on arbitrary archives. */
mhrfit_rig *mf_rig_from_npz(mhrfit_value *npz, const char *name, mhrfit_error *err);

/* Checks the invariants a rig file guarantees (sizes, index ranges, parents before children,
 * sorted transform, finite numbers, unique names); `type` is the error type to raise and
 * `name` labels the messages, which name the member at fault. Defined in rig_file.c. */
bool mf_rig_validate(const mhrfit_rig *r, const char *name, mhrfit_error_type type, mhrfit_error *err);

#endif
