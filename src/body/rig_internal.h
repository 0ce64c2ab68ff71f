/* Internal: pieces of the rig shared by rig.c, correctives.c and vertex_jacobian.c. */
#ifndef MF_BODY_RIG_INTERNAL_H
#define MF_BODY_RIG_INTERNAL_H

#include "mhrfit/rig.h"
#include "mhrfit/value.h"

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
