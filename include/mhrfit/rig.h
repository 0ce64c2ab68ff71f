/**
 * @file rig.h
 * @brief The MHR body model: skeleton, parameter transform and forward kinematics.
 *
 * Loaded from the official assets: `compact_v6_1.model` (parameter transform,
 * limits) and `lod<N>.fbx` (127-joint skeleton with offsets and
 * pre-rotations, mesh, skin weights), or from a rig file written from them
 * (mhrfit_rig_save(), layout below). Native units are centimetres, axes
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

/** @name Rig files
 *
 * A rig file is a compact copy of a loaded rig (`mhrfit rig import`) that loads in
 * milliseconds instead of parsing the FBX and `.model` assets. It is a NumPy `.npz` archive of
 * plain arrays, one member per rig array, little-endian, members stored uncompressed (readers
 * accept deflate too). Geometry is float64 so that forward kinematics and skinning from the file
 * are bit-identical to those from the assets. Counts: J joints, P parameters, T transform
 * non-zeros, L limits, V vertices, F triangles, S skin weights, B blend shapes with E entries.
 *
 * | member               | dtype        | shape    | content                                               |
 * |----------------------|--------------|----------|-------------------------------------------------------|
 * | `mhrfit_rig_version` | int32        | ()       | format version, MHRFIT_RIG_FILE_VERSION (any integer dtype is read) |
 * | `lod`                | int32        | ()       | LOD of the mesh, >= 0                                 |
 * | `joint_names`        | `|S` n       | (J)      | UTF-8, NUL-padded, 1..63 bytes, unique; 1 <= J <= 256 |
 * | `parents`            | int32        | (J)      | parent joint, -1 for a root; parents[j] < j           |
 * | `offsets`            | float64      | (J, 3)   | joint offsets, cm                                     |
 * | `prerot`             | float64      | (J, 3, 3)| pre-rotation matrices, row-major                      |
 * | `param_names`        | `|S` n       | (P)      | model parameter names, as joint_names; 1 <= P <= 4096 |
 * | `pt_row`             | int32        | (T)      | transform entry row 7·joint + channel, < 7J, non-decreasing |
 * | `pt_param`           | int32        | (T)      | transform entry parameter, < P                        |
 * | `pt_coeff`           | float64      | (T)      | transform entry coefficient                           |
 * | `limit_param`        | int32        | (L)      | limited parameter, < P                                |
 * | `limit_min`, `limit_max`, `limit_weight` | float64 | (L) | limit bounds (min <= max) and weight            |
 * | `vertices`           | float64      | (V, 3)   | rest mesh, cm                                         |
 * | `faces`              | int32        | (F, 3)   | triangles, vertex indices < V                         |
 * | `skin_vertex`        | int32        | (S)      | skinned vertex, < V                                   |
 * | `skin_joint`         | int32        | (S)      | influencing joint, < J                                |
 * | `skin_weight`        | float64      | (S)      | weight                                                |
 * | `bind_global`        | float64      | (J, 16)  | optional: FBX TransformLink (column-major), NaN when absent; all NaN when the member is missing |
 * | `shape_start`        | int64        | (B + 1)  | blend shape k owns entries shape_start[k] .. shape_start[k+1]-1; starts at 0, non-decreasing, ends at E |
 * | `shape_vertex`       | int32        | (E)      | vertex of each blend-shape entry, < V                 |
 * | `shape_delta`        | float64      | (E, 3)   | displacement of each entry, cm                        |
 *
 * Every float is finite except `bind_global`'s NaN. The rest pose (rest_R, rest_t) is not
 * stored: it is recomputed on load. Readers ignore members they do not know, and optional
 * members may be absent, so adding an optional member keeps version 1; a change that older
 * readers must not ignore raises MHRFIT_RIG_FILE_VERSION.
 * @{ */

/** Version of the rig files written by mhrfit_rig_save(); newer files are refused. */
#define MHRFIT_RIG_FILE_VERSION 1

/**
 * Writes `rig` to `path` as a rig file (layout above), atomically: a temporary file beside
 * `path` renamed into place, so an interrupted write never leaves a partial file. The rig is
 * checked first against the invariants of the layout (MHRFIT_ERR_ARGUMENT naming the member);
 * write failures give MHRFIT_ERR_IO. The rig is not modified and stays owned by the caller.
 */
bool mhrfit_rig_save(const mhrfit_rig *rig, const char *path, mhrfit_error *err);

/**
 * Reads a rig file written by mhrfit_rig_save() and recomputes the rest pose. Every member is
 * validated (dtype, shape, sizes, index ranges, parents before children, finite numbers);
 * errors name the file and the member: MHRFIT_ERR_IO (unreadable, or a folder),
 * MHRFIT_ERR_FORMAT (not a ZIP/NumPy archive, wrong dtype or shape, out-of-range or non-finite
 * value), MHRFIT_ERR_NOT_FOUND (a required member is missing), MHRFIT_ERR_UNSUPPORTED (a
 * version newer than MHRFIT_RIG_FILE_VERSION), MHRFIT_ERR_LIMIT, MHRFIT_ERR_NOMEM. The caller
 * owns the result (mhrfit_rig_free()).
 */
mhrfit_rig *mhrfit_rig_load_file(const char *path, mhrfit_error *err);

/**
 * Loads a rig from `path`: a folder is read as MHR assets with mhrfit_rig_load(`path`, `lod`),
 * anything else as a rig file with mhrfit_rig_load_file(). For a rig file, `lod` < 0 accepts
 * its LOD and `lod` >= 0 must equal it (MHRFIT_ERR_NOT_FOUND otherwise). Errors as those two
 * functions. The caller owns the result.
 */
mhrfit_rig *mhrfit_rig_open(const char *path, int lod, mhrfit_error *err);
/**
 * True when `a` and `b` hold the same counts, LOD and names and bit-identical arrays (rest pose
 * included), e.g. a rig and the same rig read back from its rig file. NULL equals only NULL.
 */
bool mhrfit_rig_equal(const mhrfit_rig *a, const mhrfit_rig *b);
/** @} */

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
