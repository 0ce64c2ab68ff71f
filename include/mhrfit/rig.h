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
 *
 * The mesh (MHR.md §7): blend shapes, the optional pose correctives (from the
 * release's `corrective_*.npz` files) and linear blend skinning
 * (mhrfit_rig_skin_full()); analytic Jacobians of joints
 * (mhrfit_rig_joint_jacobian()) and of vertices (mhrfit_rig_vertex_jacobian(),
 * mhrfit_rig_corrective_jacobian_add()).
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
  /* --- pose correctives (MHR.md §7.2); see "Pose correctives" below. All NULL / 0 when the
   * files are absent (the rig is then exactly the linear-blend-skinning rig above). --- */
  size_t n_corr_features;     /**< layer-1 inputs, 6·(n_joints − 2) = 750; 0 without layer 1 */
  size_t n_corr_hidden;       /**< layer-1 outputs (hidden units), 3000; 0 without layer 1 */
  size_t n_corr_weights;      /**< layer-1 non-zeros (53,136) */
  size_t *corr_start;         /**< n_corr_hidden + 1 offsets: hidden unit h reads weights [corr_start[h], corr_start[h+1]) */
  int32_t *corr_feature;      /**< feature index of each layer-1 weight */
  double *corr_weight;        /**< layer-1 weights (float32 in the file, widened) */
  float *corr_blend;          /**< layer 2: n_corr_hidden × n_vertices × 3, cm per unit of hidden activation; NULL when absent */
  size_t *skin_vstart;        /**< n_vertices + 1 offsets into skin_vorder (NULL: not indexed) */
  int32_t *skin_vorder;       /**< skin triple indices grouped by vertex: those of vertex v are skin_vorder[skin_vstart[v] .. skin_vstart[v+1]) */
} mhrfit_rig;

/**
 * Loads `dir/compact_v6_1.model` and `dir/lod<lod>.fbx`; `lod` < 0 picks `lod1.fbx` when present
 * (18,439 vertices, the mesh SAM 3D Body itself uses; LOD 0 has 73,639), else the
 * lowest-numbered `lod*.fbx` present (all carry the same skeleton). Errors
 * name the file, line or FBX node: MHRFIT_ERR_IO, MHRFIT_ERR_NOT_FOUND,
 * MHRFIT_ERR_FORMAT. The caller owns the result.
 *
 * Also loads the pose correctives when their files are in `dir`
 * (mhrfit_rig_load_correctives() with flags 0): `corrective_activation.npz`
 * (layer 1, 3.3 MB) and `corrective_blendshapes_lod<lod>.npz` (layer 2; about
 * 633 MiB as float32 for LOD1, 2.5 GiB for LOD0, and twice that while
 * reading). Use mhrfit_rig_load_flags() to skip them.
 */
mhrfit_rig *mhrfit_rig_load(const char *dir, int lod, mhrfit_error *err);

/** printf format of the layer-2 corrective file name of a LOD (MHR release assets). */
#define MHRFIT_CORRECTIVE_BLENDSHAPES_FMT "corrective_blendshapes_lod%d.npz"

/** mhrfit_rig_load_flags(): do not load `corrective_blendshapes_lod<N>.npz` (layer 2). */
#define MHRFIT_RIG_NO_CORRECTIVE_BLENDSHAPES 1u
/** mhrfit_rig_load_flags(): load no corrective file at all (neither layer). */
#define MHRFIT_RIG_NO_CORRECTIVES 2u

/**
 * mhrfit_rig_load() with `flags` (MHRFIT_RIG_NO_CORRECTIVE_BLENDSHAPES,
 * MHRFIT_RIG_NO_CORRECTIVES, or 0 for everything present; other bits are
 * ignored), e.g. for a fitter that needs the skeleton only and not hundreds
 * of MB of layer 2.
 */
mhrfit_rig *mhrfit_rig_load_flags(const char *dir, int lod, unsigned flags, mhrfit_error *err);

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
 * | `corr_n_features`    | int32        | ()       | optional (with the three below): pose-corrective features, 6·(J − 2) |
 * | `corr_start`         | int64        | (H + 1)  | layer 1 CSR: hidden unit h reads weights corr_start[h] .. corr_start[h+1]-1; 0 .. W |
 * | `corr_feature`       | int32        | (W)      | feature of each layer-1 weight, < corr_n_features     |
 * | `corr_weight`        | float64      | (W)      | layer-1 weights                                       |
 * | `corr_blend`         | float32      | (H, V, 3)| optional: layer 2, cm per unit of hidden activation   |
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
 * mhrfit_rig_load_file() with `flags` (MHRFIT_RIG_NO_CORRECTIVE_BLENDSHAPES: leave out the
 * file's `corr_blend`; MHRFIT_RIG_NO_CORRECTIVES: leave out every corrective member).
 */
mhrfit_rig *mhrfit_rig_load_file_flags(const char *path, unsigned flags, mhrfit_error *err);

/**
 * Loads a rig from `path`: a folder is read as MHR assets with mhrfit_rig_load_flags(`path`,
 * `lod`, `flags`), anything else as a rig file with mhrfit_rig_load_file_flags(). For a rig
 * file, `lod` < 0 accepts its LOD and `lod` >= 0 must equal it (MHRFIT_ERR_NOT_FOUND
 * otherwise). Commands that need the skeleton only pass MHRFIT_RIG_NO_CORRECTIVE_BLENDSHAPES:
 * layer 2 of the pose correctives is ~2 GB for LOD 0. Errors as those functions. The caller
 * owns the result.
 */
mhrfit_rig *mhrfit_rig_open(const char *path, int lod, unsigned flags, mhrfit_error *err);
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

/**
 * The rotation of joint Euler angles as MHR composes them (MHR.md §6.1):
 * `R = Rz(rz)·Ry(ry)·Rx(rx)` (row-major), with Rx, Ry, Rz the active right-handed rotations.
 */
void mhrfit_euler_zyx(double rx, double ry, double rz, double R[9]);

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

/**
 * @name Pose correctives (MHR.md §7.2)
 *
 * Non-linear vertex offsets, added to the rest mesh **before** skinning; they
 * never move the joints. A two-layer network of the joint parameters `jp`:
 *
 * 1. **Features** `f` (F = 6·(n_joints − 2) = 750): for each joint j ≥ 2
 *    (`body_world` and `root` excluded) with its own Euler parameters
 *    (rx, ry, rz) = jp[7j+3 .. 7j+5] (no pre-rotation), E = Rz(rz)·Ry(ry)·Rx(rx)
 *    and `f[6(j−2) .. 6(j−2)+5] = [E00 − 1, E10, E20, E01, E11 − 1, E21]` (the
 *    first two columns of E minus those of the identity: zero at the zero pose).
 * 2. **Layer 1 + ReLU** (H = 3000 hidden units), sparse, no bias:
 *    `h_u = max(0, Σ_i A[u, i] · f_i)`, A from `corrective_activation.npz`
 *    (members `0.sparse_indices` int (2, N): row 0 hidden unit, row 1
 *    feature; `0.sparse_weight` float (N); `posedirs_sparse_mask` bool (H, F),
 *    whose true entries must be exactly the listed (unit, feature) pairs).
 * 3. **Layer 2**, dense, no bias: the offset of vertex v, axis c, is
 *    `d[v, c] = Σ_u W[u, v, c] · h_u` (cm), W = member
 *    `corrective_blendshapes` (H, V, 3) of `corrective_blendshapes_lod<N>.npz`.
 *    At a typical pose about half the hidden units are zero and are skipped.
 *
 * The deformed rest mesh is then `v_rest = base + Σ_k c_k B_k + d` (identity
 * and expression shapes, §7.1), skinned as in mhrfit_rig_skin() (§7.3).
 *
 * Layer 2 is not in the shared assets; users bring it from the MHR release.
 * @{
 */

/**
 * Loads the corrective files of `dir` into `rig` (whose mesh must be loaded):
 * `corrective_activation.npz` → corr_start / corr_feature / corr_weight (CSR
 * by hidden unit), and, unless `flags` has MHRFIT_RIG_NO_CORRECTIVE_BLENDSHAPES,
 * `corrective_blendshapes_lod<rig->lod>.npz` → corr_blend (float32; other
 * float dtypes are converted). A missing file is not an error: the fields stay
 * NULL (layer 2 without layer 1 is not loaded either). With
 * MHRFIT_RIG_NO_CORRECTIVES it does nothing. Replaces correctives already
 * loaded. Validation, with errors naming the file and the member:
 * MHRFIT_ERR_NOT_FOUND for a missing member; MHRFIT_ERR_FORMAT for a wrong
 * dtype or shape (F must be 6·(n_joints − 2), layer 2 must be
 * (H, n_vertices, 3)), an index out of range (unit ≥ H, feature ≥ F,
 * negative), indices that disagree with the mask, and non-finite weights.
 * On failure the rig has no correctives (and is otherwise unchanged).
 */
bool mhrfit_rig_load_correctives(mhrfit_rig *rig, const char *dir, unsigned flags, mhrfit_error *err);

/** True when both corrective layers are loaded (mhrfit_rig_skin_full() applies them). */
bool mhrfit_rig_has_correctives(const mhrfit_rig *rig);

/**
 * The F = 6·(n_joints − 2) corrective features of joint parameters `jp`
 * (7·n_joints values, e.g. from mhrfit_rig_fk()) into `feat` (formula above).
 * Needs no corrective file. Never allocates. Fails with MHRFIT_ERR_NUMERIC
 * (naming the joint) when a rotation parameter is not finite, and
 * MHRFIT_ERR_ARGUMENT when the rig has fewer than 3 joints.
 */
bool mhrfit_rig_corrective_features(const mhrfit_rig *rig, const double *jp, double *feat, mhrfit_error *err);

/**
 * Layer 1 and ReLU: `hidden[u] = max(0, Σ_i A[u, i] feat[i])` for the
 * n_corr_hidden units. Never allocates. MHRFIT_ERR_NOT_FOUND when layer 1 is
 * not loaded; MHRFIT_ERR_NUMERIC when a feature is not finite.
 */
bool mhrfit_rig_corrective_hidden(const mhrfit_rig *rig, const double *feat, double *hidden, mhrfit_error *err);

/**
 * Layer 2: `out[3v + c] = Σ_u corr_blend[u, v, c] · hidden[u]` for all
 * n_vertices (cm; accumulated in double from the float32 weights). Units with
 * hidden[u] == 0 are skipped: the cost is (active units) × 3V. Never
 * allocates. MHRFIT_ERR_NOT_FOUND when layer 2 is not loaded,
 * MHRFIT_ERR_NUMERIC when a hidden value is not finite.
 */
bool mhrfit_rig_corrective_offsets(const mhrfit_rig *rig, const double *hidden, double *out, mhrfit_error *err);

/**
 * Like mhrfit_rig_corrective_offsets() for `n` vertices only:
 * `out[3i + c]` = offset of vertex `vertices[i]` (a keypoint or marker
 * evaluator needs a few rows of the 3V). MHRFIT_ERR_ARGUMENT for an index
 * out of range.
 */
bool mhrfit_rig_corrective_offsets_subset(const mhrfit_rig *rig, const double *hidden, const int32_t *vertices,
                                          size_t n, double *out, mhrfit_error *err);

/**
 * Number of doubles of the `work` array of mhrfit_rig_skin_full():
 * 3·n_vertices + n_corr_features + n_corr_hidden.
 */
size_t mhrfit_rig_skin_work_size(const mhrfit_rig *rig);

/**
 * The full MHR mesh (MHR.md §7): blend shapes, pose correctives, then linear
 * blend skinning,
 *
 *   v_rest = base + Σ_{k<n_coeffs} c_k B_k + d(jp)        (d = 0 without correctives)
 *   v      = Σ_k w_vk (s_k R_k R0_kᵀ (v_rest − t0_k) + t_k)
 *
 * `coeffs` (n_coeffs values, identity then expression as in
 * mhrfit_rig_shaped_vertices(); may be NULL when n_coeffs is 0), `pose` and
 * `jp` from mhrfit_rig_fk() of the same parameters. The correctives d are
 * applied when `jp` is not NULL and mhrfit_rig_has_correctives(); pass
 * `jp` = NULL to skip them. `work` holds mhrfit_rig_skin_work_size() doubles;
 * afterwards work[0 .. 3V) is v_rest, then come the F features and the H
 * hidden values (when correctives were applied). `out` is n_vertices × 3 (cm)
 * and must not overlap `work`. Never allocates. MHRFIT_ERR_NUMERIC for a
 * non-finite coefficient or joint parameter.
 */
bool mhrfit_rig_skin_full(const mhrfit_rig *rig, const double *coeffs, size_t n_coeffs, const mhrfit_fk_pose *pose,
                          const double *jp, double *work, double *out, mhrfit_error *err);

/** @} */

/**
 * Analytic Jacobian of skinned vertices with respect to the n_params model
 * parameters, for the `n` vertex indices `vertices` (any subset, repeats
 * allowed), at the pose `pose` / `jp` of mhrfit_rig_fk().
 *
 * What is differentiated: linear blend skinning of a **fixed** rest mesh
 * `rest` (n_vertices × 3; NULL = the rig's own rest vertices), e.g. the v_rest
 * left in work[] by mhrfit_rig_skin_full(). Blend shapes and pose correctives
 * therefore enter through their current values only: ∂d/∂m (the corrective
 * offsets' own dependence on the pose) is not included here; add it with
 * mhrfit_rig_corrective_jacobian_add() for the Jacobian of mhrfit_rig_skin_full().
 *
 * Math. With o_k = R0_kᵀ (rest_v − t0_k), each influence is a point rigidly
 * attached to joint k, p_k = s_k R_k o_k + t_k, and v = Σ_k w_vk p_k. A joint
 * channel of joint j (parent p, A = R_p·Rpre_j) moves p_k exactly when k = j
 * or k descends from j (MHR.md §6.3):
 *   translation i:  ∂p_k/∂q = s_p R_p e_i
 *   rotation:       ∂p_k/∂q = ω × (p_k − t_j),   ω = A e_z (rz), A Rz e_y (ry), A Rz Ry e_x (rx)
 *   scale:          ∂p_k/∂q = ln 2 · (p_k − t_j)
 * Summing over the influences below j with P_j = Σ_{k∈S(j)} w_vk p_k and
 * W_j = Σ_{k∈S(j)} w_vk (S(j) = j and its descendants):
 *   ∂v/∂t_i = W_j s_p R_p e_i,  ∂v/∂θ = ω × (P_j − W_j t_j),  ∂v/∂sc = ln 2 (P_j − W_j t_j),
 * and ∂v/∂m_a = Σ_{rows r of joint channels} PT[r, a] ∂v/∂jp_r. Only the
 * joints on the chains from the vertex's influences to the root (and the
 * parameters driving them) contribute; P_j, W_j are accumulated by walking
 * each influence's chain once, so the cost is O(influences × depth) per vertex.
 *
 * `J` is row-major (3n) × n_params, zero-filled, row 3i + c = coordinate c of
 * vertex vertices[i], cm per parameter unit. `pos` (3n values; may be NULL)
 * receives the skinned positions, equal to mhrfit_rig_skin_rest() on those
 * vertices. Never allocates. MHRFIT_ERR_ARGUMENT for a vertex index out of
 * range or a rig of more than 256 joints; MHRFIT_ERR_NUMERIC for a
 * non-finite joint rotation parameter.
 */
bool mhrfit_rig_vertex_jacobian(const mhrfit_rig *rig, const mhrfit_fk_pose *pose, const double *jp, const double *rest,
                                const int32_t *vertices, size_t n, double *pos, double *J, mhrfit_error *err);

/**
 * Adds to `J` (same layout as mhrfit_rig_vertex_jacobian()) the part of the
 * Jacobian of mhrfit_rig_skin_full() that comes through the pose correctives,
 * so that vertex Jacobian (with rest = v_rest of skin_full) + this = the
 * complete derivative of the corrected, skinned vertices.
 *
 * Math. With M_v = ∂v/∂v_rest = Σ_k w_vk s_k R_k R0_kᵀ (LBS is linear in the
 * rest position), the ReLU slope 1[h_u > 0] (0 at and below the kink),
 * layer-1 weights A and the feature derivatives ∂f/∂(rx, ry, rz) of each joint
 * (differentiating the six entries of the first two columns of Rz·Ry·Rx):
 *   G_v[:, i]   = Σ_{u: h_u > 0} W[u, v, :] A[u, i]                 (3 × F)
 *   ∂v/∂jp_r    = M_v Σ_{k<6} G_v[:, 6(j−2)+k] ∂f_{6(j−2)+k}/∂jp_r   (r = a rotation channel of joint j ≥ 2)
 *   ∂v/∂m_a    += Σ_r PT[r, a] ∂v/∂jp_r.
 * Cost per vertex: one scattered read of W[u, v, :] per active unit, 3 ×
 * (layer-1 weights of the active units) + 9 × (driven rotation channels):
 * about 70 µs per vertex at a typical pose (the features, hence this term, do
 * not depend on translations or scales).
 *
 * `hidden` is the layer-1 output at `jp` (mhrfit_rig_corrective_hidden(), or
 * the hidden part of mhrfit_rig_skin_full()'s work). Never allocates.
 * MHRFIT_ERR_NOT_FOUND without both corrective layers, MHRFIT_ERR_ARGUMENT
 * for a vertex index out of range, MHRFIT_ERR_NUMERIC for a non-finite
 * rotation parameter or hidden value.
 */
bool mhrfit_rig_corrective_jacobian_add(const mhrfit_rig *rig, const mhrfit_fk_pose *pose, const double *jp,
                                        const double *hidden, const int32_t *vertices, size_t n, double *J,
                                        mhrfit_error *err);

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
