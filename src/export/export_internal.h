/* Internal parts of the export module (src/export/), shared by its writers. */
#ifndef MF_EXPORT_INTERNAL_H
#define MF_EXPORT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "common/buf.h"
#include "mhrfit/calib.h"
#include "mhrfit/export.h"

struct mhrfit_exporter {
  const mhrfit_rig *rig;
  const mhrfit_export_source *src;
  mhrfit_export_options o;
  mhrfit_export_report rep;
  size_t begin, end;        /* source frame range [begin, end) */
  size_t n;                 /* exported frames */
  size_t *frames;           /* n source indices, increasing */
  unsigned char *exported;  /* end - begin flags: 1 = exported */
  double U[9];              /* world -> exported axes (up to +Y) */
  double shape[45];         /* identity baked into the mesh (first exported frame) */
  mhrfit_calib *calib;      /* cameras for glTF, or NULL */
  /* forward kinematics of the exported frames (filled by mhrfit_exporter_new) */
  size_t nj;
  double *loc_t;            /* n x J x 3 local translations (m) */
  double *loc_R;            /* n x J x 9 local rotations */
  double *loc_s;            /* n x J local scales */
  double *world_j;          /* n x J x 3 world joint positions (m, calibration world) */
};

/* The capture folder of the run in `run_dir` (its pictures, mhrfit demo's ground_truth.npz):
 * stage1_meta.json's `input_root` (absolute), else pipeline_config.json's `input` (as given to
 * the run), each found by mf_find_recorded_entry() (as recorded, else from the run folder or a
 * parent), so that any working folder finds it. `stage1_meta` and `cfg` are the parsed files, or
 * NULL to read them here. Returns a new string, or NULL when none is recorded or found (err
 * untouched) or out of memory (err filled). Used by the overlays and the report. */
char *mf_run_capture(const char *run_dir, const mhrfit_value *cfg, const mhrfit_value *stage1_meta, mhrfit_error *err);

/* Name of keypoint k of the source (its keypoint set's, else MHR70's). */
const char *mf_export_keypoint_name(const mhrfit_export_source *src, size_t k);

/* The world similarity of source frame f: s, R (row-major), t. */
void mf_export_sim(const mhrfit_export_source *src, size_t f, double *s, double R[9], double t[3]);

/* The root transform of exported frame i in the exported axes: translation U t, rotation
 * U R F (F = diag(1, -1, -1)), scale s. */
void mf_export_root(const mhrfit_exporter *ex, size_t i, double t[3], double R[9], double *s);

/* Unit quaternion (x, y, z, w) of a rotation matrix, on the hemisphere of `prev` (x y z w; NULL:
 * w >= 0). */
void mf_export_quat(const double R[9], const double *prev, double q[4]);

/* 3x3 products (row-major): C = A B. */
void mf_mat3_mul(const double A[9], const double B[9], double C[9]);

/* The full mesh of mhrfit for frame f of `src` (identity from the source, the rig's pose
 * correctives when loaded, skinning) in the world frame in metres, into out (V x 3).
 * `work` holds mhrfit_rig_skin_work_size() + 3 V + 20 J doubles. Also used by the overlays
 * (src/overlay/). */
bool mf_export_world_mesh(const mhrfit_rig *rig, const mhrfit_export_source *src, size_t f, double *work, double *out,
                          mhrfit_error *err);

/* The writers. */
bool mf_export_gltf(mhrfit_exporter *ex, bool glb, const char *path, unsigned char **mem, size_t *mem_len,
                    mhrfit_error *err);
bool mf_export_bvh(mhrfit_exporter *ex, const char *path, mhrfit_error *err);
bool mf_export_trc(mhrfit_exporter *ex, const char *path, mhrfit_error *err);
bool mf_export_frames(mhrfit_exporter *ex, const char *dir, mhrfit_error *err);

#endif
