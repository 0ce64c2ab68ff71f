/* libFuzzer target: rig files (mhrfit_rig_load_file's reader and validation) on arbitrary .npz
 * bytes; a rig that passes validation is evaluated (forward kinematics, skinning, blend shapes,
 * joint Jacobian, the full mesh with pose correctives, vertex Jacobians with the correctives'
 * part), so that every index the validation let through is exercised.
 *
 * The CRC-32 of every stored ZIP member is recomputed before parsing: otherwise nearly every
 * mutation of member data would stop at the ZIP CRC check and never reach the rig validation. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "body/rig_internal.h"
#include "mhrfit/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t rd16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t rd32(const uint8_t *p) { return rd16(p) | rd16(p + 2) << 16; }
static void wr32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Rewrites the CRC-32 of the stored (uncompressed) members in both the central directory and the
 * local headers; anything that does not parse is left as it is. */
static void fix_crcs(uint8_t *b, size_t n) {
  if (n < 22) return;
  size_t eocd = n - 22, stop = n > 22 + 65535 ? n - 22 - 65535 : 0;
  while (rd32(b + eocd) != 0x06054b50u) {
    if (eocd == stop) return;
    eocd--;
  }
  size_t count = rd16(b + eocd + 10), cd = rd32(b + eocd + 16);
  for (size_t e = 0; e < count; e++) {
    if (cd > n || n - cd < 46 || rd32(b + cd) != 0x02014b50u) return;
    size_t method = rd16(b + cd + 10), csize = rd32(b + cd + 20), usize = rd32(b + cd + 24);
    size_t next = cd + 46 + rd16(b + cd + 28) + rd16(b + cd + 30) + rd16(b + cd + 32);
    size_t loc = rd32(b + cd + 42);
    if (method == 0 && csize == usize && loc <= n && n - loc >= 30 && rd32(b + loc) == 0x04034b50u) {
      size_t start = loc + 30 + rd16(b + loc + 26) + rd16(b + loc + 28);
      if (start <= n && n - start >= csize) {
        uint32_t crc = (uint32_t)crc32(0L, b + start, (uInt)csize);
        wr32(b + cd + 16, crc);
        wr32(b + loc + 14, crc);
      }
    }
    cd = next;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mhrfit_npy_limits lim = {.max_array_bytes = 1 << 24, .max_header_bytes = 1 << 16, .max_members = 64};
  mhrfit_error err = {0};
  uint8_t *copy = malloc(size ? size : 1);
  if (!copy) return 0;
  if (size) memcpy(copy, data, size);
  fix_crcs(copy, size);
  mhrfit_value *npz = mhrfit_npz_parse(copy, size, "fuzz.npz", &lim, &err);
  free(copy);
  mhrfit_rig *rig = npz ? mf_rig_from_npz(npz, "fuzz.npz", 0, &err) : NULL;
  mhrfit_value_free(npz);
  if (!rig) return 0;
  size_t J = rig->n_joints, P = rig->n_params, V = rig->n_vertices;
  double *m = calloc(P, sizeof *m), *R = calloc(9 * J, sizeof *R), *t = calloc(3 * J, sizeof *t);
  double *s = calloc(J, sizeof *s), *jp = calloc(7 * J, sizeof *jp), *coef = calloc(rig->n_shapes + 1, sizeof *coef);
  double *rest = calloc(3 * V + 1, sizeof *rest), *out = calloc(3 * V + 1, sizeof *out);
  double *Jac = 3 * J * P <= (1u << 20) ? calloc(3 * J * P, sizeof *Jac) : NULL;
  if (m && R && t && s && jp && coef && rest && out) {
    for (size_t i = 0; i < P; i++) m[i] = 0.1 * (double)(i % 7);
    for (size_t k = 0; k < rig->n_shapes; k++) coef[k] = 1.0;
    mhrfit_fk_pose pose = {R, t, s};
    if (mhrfit_rig_fk(rig, m, &pose, jp, &err)) {
      mhrfit_rig_skin(rig, &pose, out);
      mhrfit_rig_shaped_vertices(rig, coef, rig->n_shapes, rest);
      mhrfit_rig_skin_rest(rig, &pose, rest, out);
      if (Jac) mhrfit_rig_joint_jacobian(rig, &pose, jp, Jac);
      /* the full mesh (blend shapes, correctives when present) and vertex Jacobians of a few
       * vertices, the first, middle and last */
      double *work = calloc(mhrfit_rig_skin_work_size(rig) + 1, sizeof *work);
      int32_t vs[3] = {0, (int32_t)(V / 2), (int32_t)(V ? V - 1 : 0)};
      size_t nvs = V ? 3 : 0;
      double *VJ = calloc(3 * 3 * P + 1, sizeof *VJ), pos[9];
      if (work && VJ && mhrfit_rig_skin_full(rig, coef, rig->n_shapes, &pose, jp, work, out, &err)) {
        mhrfit_rig_vertex_jacobian(rig, &pose, jp, work, vs, nvs, pos, VJ, &err);
        if (mhrfit_rig_has_correctives(rig)) {
          const double *hidden = work + 3 * V + rig->n_corr_features;
          mhrfit_rig_corrective_jacobian_add(rig, &pose, jp, hidden, vs, nvs, VJ, &err);
        }
      }
      free(work);
      free(VJ);
    }
  }
  free(m);
  free(R);
  free(t);
  free(s);
  free(jp);
  free(coef);
  free(rest);
  free(out);
  free(Jac);
  mhrfit_rig_free(rig);
  return 0;
}
