/* libFuzzer target: validation of the pose-corrective files (corrective_activation.npz layer 1 and
 * a corrective_blendshapes_lod<N>.npz layer 2) on arbitrary .npz bytes, for a small rig of 4 joints
 * (12 features) and 3 vertices. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "body/rig_internal.h"
#include "mhrfit/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mhrfit_npy_limits lim = {.max_array_bytes = 1 << 24, .max_header_bytes = 1 << 16, .max_members = 64};
  mhrfit_error err = {0};
  mhrfit_value *v = mhrfit_npz_parse(data, size, "fuzz.npz", &lim, &err);
  if (!v) return 0;
  mf_corr_layer1 l1;
  size_t n_hidden = 4;
  if (mf_corr_layer1_parse(v, "fuzz.npz", 12, &l1, &err)) {
    n_hidden = l1.n_hidden;
    for (size_t h = 0; h < l1.n_hidden; h++) /* the CSR must be consistent */
      for (size_t e = l1.start[h]; e < l1.start[h + 1]; e++)
        if (e >= l1.n_weights || l1.feature[e] < 0 || l1.feature[e] >= 12) abort();
    mf_corr_layer1_free(&l1);
  }
  float *w = mf_corr_layer2_take(v, "fuzz.npz", n_hidden, 3, &err);
  free(w);
  mhrfit_value_free(v);
  return 0;
}
