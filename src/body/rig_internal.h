/* Internal: the parts of the rig shared by the asset loader (rig.c), the rig file (rig_file.c),
 * the pose correctives (correctives.c) and the vertex Jacobian (vertex_jacobian.c). Not part of
 * the public API. */
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
mhrfit_rig *mf_rig_from_npz(mhrfit_value *npz, const char *name, unsigned flags, mhrfit_error *err);

/* Checks the invariants a rig file guarantees (sizes, index ranges, parents before children,
 * sorted transform, finite numbers, unique names); `type` is the error type to raise and
 * `name` labels the messages, which name the member at fault. Defined in rig_file.c. */
bool mf_rig_validate(const mhrfit_rig *r, const char *name, mhrfit_error_type type, mhrfit_error *err);

/* Layer 1 of the pose correctives as CSR by hidden unit (see rig.h). */
typedef struct mf_corr_layer1 {
  size_t n_features, n_hidden, n_weights;
  size_t *start;    /* n_hidden + 1 */
  int32_t *feature; /* n_weights */
  double *weight;   /* n_weights */
} mf_corr_layer1;

/* Validates the members of a loaded `corrective_activation.npz` (DICT value `npz`) for
 * `n_features` features and fills `out` (owned by the caller: mf_corr_layer1_free()). `name`
 * (the file) prefixes every message. */
bool mf_corr_layer1_parse(const mhrfit_value *npz, const char *name, size_t n_features, mf_corr_layer1 *out,
                          mhrfit_error *err);
void mf_corr_layer1_free(mf_corr_layer1 *l);

/* Validates member `corrective_blendshapes` (n_hidden, n_vertices, 3) of a loaded layer-2 npz and
 * returns it as a new float array (taking the data over when it is float32 already: `npz` is
 * modified then). NULL with an error naming `name` and the member on failure. */
float *mf_corr_layer2_take(mhrfit_value *npz, const char *name, size_t n_hidden, size_t n_vertices, mhrfit_error *err);

/* Frees the corrective fields of `rig` and sets them to NULL / 0. */
void mf_rig_free_correctives(mhrfit_rig *rig);

/* Builds rig->skin_vstart / skin_vorder (skin triples grouped by vertex). */
bool mf_rig_index_skin(mhrfit_rig *rig, mhrfit_error *err);

#endif
