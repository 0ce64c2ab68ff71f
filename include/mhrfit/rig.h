/**
 * @file rig.h
 * @brief The MHR body model: skeleton, parameter transform and forward kinematics.
 *
 * Loaded from the official assets: `compact_v6_1.model` (parameter transform,
 * limits) and `lod<N>.fbx` (127-joint skeleton with offsets and
 * pre-rotations, mesh, skin weights). Native units are centimetres, axes
 * +X left, +Y up, +Z forward (MHR.md §2).
 *
 * Forward kinematics (MHR.md §6), double precision:
 * 1. joint parameters `jp = PT · m` (889 = 127 × [tx ty tz rx ry rz sc], 204 model parameters);
 * 2. per joint, local translation `offset + (tx, ty, tz)`, local rotation
 *    `R_l = Rpre · Rz(rz)·Ry(ry)·Rx(rx)`, local scale `2^sc`;
 * 3. global: `R = R_p·R_l`, `t = t_p + s_p·R_p·t_l`, `s = s_p·s_l` (parents first).
 */
#ifndef MHRFIT_RIG_H
#define MHRFIT_RIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mhrfit/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** One non-zero of the parameter transform: jp[row] += coeff · m[param]. */
typedef struct mhrfit_pt_entry {
  int32_t row;   /**< 7·joint + channel (tx ty tz rx ry rz sc) */
  int32_t param; /**< model parameter index */
  double coeff;
} mhrfit_pt_entry;

/** A parameter limit from the `.model` file. */
typedef struct mhrfit_limit {
  int32_t param;
  double min, max, weight;
} mhrfit_limit;

/** The loaded rig. Everything is owned by it; free with mhrfit_rig_free(). */
typedef struct mhrfit_rig {
  size_t n_joints;            /**< 127 */
  char (*joint_names)[64];    /**< n_joints names */
  int32_t *parents;           /**< parent index, -1 for the root; parents precede children */
  double *offsets;            /**< n_joints × 3, cm */
  double *prerot;             /**< n_joints × 9, pre-rotation matrices (row-major) */
  size_t n_params;            /**< 204 */
  char (*param_names)[64];    /**< n_params names, first-appearance order */
  size_t n_pt;                /**< non-zeros of the parameter transform (368) */
  mhrfit_pt_entry *pt;        /**< sorted by row */
  size_t n_limits;
  mhrfit_limit *limits;
  int lod;                    /**< LOD of the mesh */
  size_t n_vertices, n_faces; /**< mesh sizes */
  double *vertices;           /**< n_vertices × 3 rest vertices, cm */
  int32_t *faces;             /**< n_faces × 3 */
  size_t n_skin;              /**< skin (vertex, joint, weight) triples */
  int32_t *skin_vertex, *skin_joint;
  double *skin_weight;
  double *bind_global;        /**< n_joints × 16 FBX TransformLink (column-major), NaN when absent */
  double *rest_R, *rest_t;    /**< rest-pose (all parameters 0) global rotations (×9) and positions (×3) */
  size_t n_shapes;            /**< blend shapes (117 = 45 identity + 72 expression, in channel order) */
  size_t *shape_start;        /**< n_shapes + 1 offsets into shape_vertex / shape_delta (sparse shapes) */
  int32_t *shape_vertex;      /**< affected vertex of each entry */
  double *shape_delta;        /**< 3 per entry, cm */
} mhrfit_rig;

/**
 * Loads `dir/compact_v6_1.model` and `dir/lod<lod>.fbx`; `lod` < 0 picks the
 * lowest-numbered `lod*.fbx` present (all carry the same skeleton). Errors
 * name the file, line or FBX node: MHRFIT_ERR_IO, MHRFIT_ERR_NOT_FOUND,
 * MHRFIT_ERR_FORMAT. The caller owns the result.
 */
mhrfit_rig *mhrfit_rig_load(const char *dir, int lod, mhrfit_error *err);

/** Frees a rig. NULL is allowed. */
void mhrfit_rig_free(mhrfit_rig *rig);

/** Index of joint `name`, or -1. */
long mhrfit_rig_joint_index(const mhrfit_rig *rig, const char *name);
/** Index of model parameter `name`, or -1. */
long mhrfit_rig_param_index(const mhrfit_rig *rig, const char *name);

/** Global joint transforms from forward kinematics. */
typedef struct mhrfit_fk_pose {
  double *R; /**< n_joints × 9 global rotations (row-major) */
  double *t; /**< n_joints × 3 global positions, cm */
  double *s; /**< n_joints global scales */
} mhrfit_fk_pose;

/**
 * Forward kinematics of model parameters `m` (n_params values) into caller
 * arrays of n_joints entries; `jp_out` (889) may be NULL. Never allocates.
 * Returns false with MHRFIT_ERR_NUMERIC when a parameter is not finite.
 */
bool mhrfit_rig_fk(const mhrfit_rig *rig, const double *m, mhrfit_fk_pose *pose, double *jp_out, mhrfit_error *err);

/**
 * Analytic Jacobian of the joint positions with respect to the model
 * parameters at the pose given by mhrfit_rig_fk() (`pose` and its joint
 * parameters `jp`, 889 values). `J` is row-major (3·n_joints) × n_params, cm
 * per parameter unit: row 3k + a is coordinate a of joint k. Per MHR.md §6.3,
 * for joint j with parent p and a descendant k (or k = j for translations):
 * translation channel i: s_p R_p e_i; rotation channel with world axis ω
 * (z: A e_z, y: A Rz e_y, x: A Rz Ry e_x, A = R_p Rpre_j): ω × (t_k − t_j);
 * scale: ln 2 · (t_k − t_j); chained through the parameter transform.
 * Never allocates.
 */
void mhrfit_rig_joint_jacobian(const mhrfit_rig *rig, const mhrfit_fk_pose *pose, const double *jp, double *J);

/**
 * Linear blend skinning of the rig's rest mesh (identity and expression
 * blend shapes not applied) with a pose from mhrfit_rig_fk():
 * `v = Σ_k w_vk (s_k R_k R0_kᵀ (v_rest − t0_k) + t_k)` (MHR.md §7.3), into
 * `out` (n_vertices × 3, cm). Never allocates.
 */
void mhrfit_rig_skin(const mhrfit_rig *rig, const mhrfit_fk_pose *pose, double *out);

/**
 * Like mhrfit_rig_skin() but from caller rest vertices `rest` (n_vertices ×
 * 3, cm), e.g. with blend shapes applied by mhrfit_rig_shaped_vertices().
 */
void mhrfit_rig_skin_rest(const mhrfit_rig *rig, const mhrfit_fk_pose *pose, const double *rest, double *out);

/**
 * Rest vertices with blend shapes applied: `out = v_rest + Σ_k c_k · B_k`
 * for k < n_coeffs (identity coefficients first, then expression, as the
 * channels are stored; MHR.md §7.1). `out` is n_vertices × 3 (cm).
 */
void mhrfit_rig_shaped_vertices(const mhrfit_rig *rig, const double *coeffs, size_t n_coeffs, double *out);

/** MHR native (cm, Y up) → SAM 3D Body camera axes (metres, y and z negated). */
static inline void mhrfit_mhr_to_sam3d(const double in[3], double out[3]) {
  out[0] = in[0] / 100.0;
  out[1] = -in[1] / 100.0;
  out[2] = -in[2] / 100.0;
}

/** SAM 3D Body camera axes (metres) → MHR native (cm, Y up): the inverse of mhrfit_mhr_to_sam3d(). */
static inline void mhrfit_sam3d_to_mhr(const double in[3], double out[3]) {
  out[0] = in[0] * 100.0;
  out[1] = -in[1] * 100.0;
  out[2] = -in[2] * 100.0;
}

#ifdef __cplusplus
}
#endif
#endif
