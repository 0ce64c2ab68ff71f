/**
 * @file export.h
 * @brief Exports of fitted sequences: glTF 2.0 (`.glb`, `.gltf` + `.bin`), BVH, per-frame meshes
 * (PLY, OBJ) and parameters (`mhr_params.npz`), TRC; and the world's up axis.
 *
 * Lifecycle: mhrfit_export_source_load() reads what to export (a run folder, a `fit.npz`, a SAM
 * 3D Body output) → mhrfit_exporter_new() selects and checks the frames against the rig →
 * mhrfit_exporter_write() (or mhrfit_exporter_glb() for a GLB in memory) → mhrfit_exporter_free().
 *
 * **Geometry.** A frame holds the 204 model parameters `m` (canonical: the rig's own axes), the
 * identity `shape_params` and a world similarity `(s, R, t)`. MHR's forward kinematics (rig.h,
 * MHR.md §6) gives per joint j the local transform
 *
 *   translation `t_l = (offset_j + (tx, ty, tz)) / 100` (metres), rotation
 *   `R_l = Rpre_j · Rz(rz)·Ry(ry)·Rx(rx)`, uniform scale `s_l = 2^sc`,
 *
 * composed parent-first as `R = R_p R_l`, `t = t_p + s_p R_p t_l`, `s = s_p s_l`: exactly glTF's
 * node composition `T·R·S`. A canonical point `x` (metres, rig axes) lands in the world at
 * `s R F x + t` with `F = diag(1, −1, −1)` (the SAM 3D Body axis flip, MHR.md §8.6), and an
 * exported file shows `U · world`, where `U` is the rotation of mhrfit_up_rotation() that takes
 * the world's up axis to the format's up (+Y for glTF, BVH and TRC).
 *
 * **Frame status.** A frame is *good* (`ok`, `recovered_*`, or a SAM 3D Body output), *bad*
 * (`bad_loss`: fitted, but classified bad) or *failed* (any other status: no parameters). Failed
 * frames are never exported; bad ones only with `keep_bad`. Animations start at the first
 * exported frame and end at the last; a frame left out between them is: omitted from the glTF
 * keyframes (viewers interpolate across it), held in BVH (the previous exported pose is
 * repeated), empty cells in TRC, and not written by the per-frame export. A frame to export whose parameters, identity or similarity are not finite
 * fails the export (MHRFIT_ERR_NUMERIC naming the file, frame and key) before anything is written.
 */
#ifndef MHRFIT_EXPORT_H
#define MHRFIT_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mhrfit/error.h"
#include "mhrfit/rig.h"
#include "mhrfit/up_axis.h"

#ifdef __cplusplus
extern "C" {
#endif


/** @name Sources
 * @{ */

/** Options of mhrfit_export_source_load(); zero-initialised = defaults. */
typedef struct mhrfit_export_source_options {
  bool fitted;       /**< run folder: read `sequence_fit.npz` instead of `sequence_smoothed.npz` */
  bool person_given; /**< SAM 3D Body output with several persons: take person `person_index` (else the largest bounding box) */
  long person_index; /**< the person taken when person_given (clipped to the persons present) */
} mhrfit_export_source_options;

/** What to export: F frames in memory, owned (free with mhrfit_export_source_free()). */
typedef struct mhrfit_export_source {
  char kind[16];            /**< "sequence" (a run folder), "fit" (a fit.npz), "sam3d" (a SAM 3D Body output) */
  char *path;               /**< the file the frames come from */
  char *run_dir;            /**< the run folder, or NULL */
  size_t n_frames;          /**< F */
  char (*frame_names)[64];  /**< F names: the archive's `frame_names`, the run summary's, the file stem (one frame) or the index */
  char (*status)[32];       /**< F statuses (`opt_status`; "ok" for a SAM 3D Body output) */
  int32_t *is_bad_loss;     /**< F flags (`opt_is_bad_loss`, 0 when absent) */
  double *model_params;     /**< F × 204 `mhr_model_params` */
  double *shape_params;     /**< F × 45 identity (zeros when absent) */
  double *expr_params;      /**< F × 72 expression (zeros when absent) */
  double *body_pose;        /**< F × 133 `body_pose_params` (derived from the model parameters when absent) */
  double *hand_pose;        /**< F × 108 `hand_pose_params` (zeros when absent) */
  double *scale_params;     /**< F × 28 `scale_params` (zeros when absent) */
  double *sim;              /**< F × 13 world similarity: s, R (9, row-major), t; world = s R x + t for x in SAM 3D Body axes (m) */
  double *keypoints;        /**< F × n_kp × 3 world keypoints (NaN: undefined) */
  bool has_keypoints;       /**< the source holds keypoints (`pred_keypoints_3d`) */
  size_t n_kp;              /**< keypoints per frame: 70 (MHR70), or the count of a fit archive's keypoint set
                                 (a fit of a detector's keypoints: `pred_keypoints_3d` (F, K, 3)) */
  char **keypoint_names;    /**< n_kp names (the archive's `keypoint_names`, else kp_0, ...); NULL = MHR70's */
  double fps;               /**< recorded frame rate, 0 when unknown */
  char fps_origin[80];      /**< where `fps` was read ("archive", "pipeline_config.json", "the run's, from
                                 frames_meta.json", ...; "" when unknown) */
  char *calib_path;         /**< the run's calibration file as found on disk, or NULL */
  char *calib_recorded;     /**< the calibration path the run recorded (may not exist any more), or NULL */
  char calib_unit[8];       /**< translation unit of the calibration ("m" by default) */
  bool calib_invert;        /**< the run inverted the calibration's extrinsics */
  char **cams;              /**< n_cams cameras of the run (NULL: unknown) */
  size_t n_cams;
  char world_up[8];         /**< the archive's `world_up` ("+y", …; "" when absent) */
  char *rig_path;           /**< the MHR assets folder or rig file the run recorded, as found on disk, or NULL */
  char *rig_recorded;       /**< that path as the run recorded it (may not exist any more), or NULL */
} mhrfit_export_source;

/**
 * Loads a source: a run folder (`sequence_smoothed.npz`, or `sequence_fit.npz` with
 * `o->fitted`, falling back to the other one with a note in `*note` when the first is absent;
 * frame names from the archive's `frame_names` or `sequence_summary.json`, the rate from the
 * archive's `fps` or `pipeline_config.json`, which also names the calibration and cameras), a
 * fit archive (`fit.npz` of one or more frames: any `.npz` with `mhr_model_params` and
 * `opt_sim_scale`), or a SAM 3D Body output (`.npz`/`.npy`, one person or several: the
 * largest bounding box unless a person is given) whose world is its own camera frame (similarity
 * `(1, I, pred_cam_t)`). `note` (may be NULL, `note_size` bytes) receives remarks for the user
 * ("" when none). Members the export does not use (meshes, rotations, histories) are not read;
 * the others are limited to 512 MiB each. Errors name the file and key: MHRFIT_ERR_IO,
 * MHRFIT_ERR_NOT_FOUND (no archive in the folder, a missing key), MHRFIT_ERR_FORMAT (wrong shape
 * or type), MHRFIT_ERR_LIMIT. Non-finite values
 * are not errors here (failed frames hold NaN): mhrfit_exporter_new() checks the frames it exports.
 */
mhrfit_export_source *mhrfit_export_source_load(const char *path, const mhrfit_export_source_options *o, char *note,
                                                size_t note_size, mhrfit_error *err);

/** Frees a source. NULL is allowed. */
void mhrfit_export_source_free(mhrfit_export_source *s);

/**
 * The MHR rig a run folder recorded (pipeline_config.json's `assets` folder or `rig` file), found
 * as the run's calibration is: as recorded, else relative to the run folder or one of its parents.
 * Returns its path, or NULL when the source is no run folder, the run recorded none, or it is not
 * found; `*recorded` (when not NULL) receives the path as recorded (NULL when none), so that a
 * caller can say which one is missing. `s` may be NULL. The strings belong to `s`. What
 * `mhrfit export` and mhrfit.export() load when no rig is given and $MHRFIT_ASSETS is not set.
 */
const char *mhrfit_export_source_rig(const mhrfit_export_source *s, const char **recorded);

/** The class of a frame status: 0 good (`ok`, `recovered_*`), 1 bad (`bad_loss`), 2 failed (anything else). */
int mhrfit_export_status_class(const char *status);
/** @} */

/** @name Exporter
 * @{ */

/** Output formats. */
typedef enum mhrfit_export_format {
  MHRFIT_EXPORT_AUTO = 0, /**< from the output's extension */
  MHRFIT_EXPORT_GLB,      /**< binary glTF 2.0 */
  MHRFIT_EXPORT_GLTF,     /**< glTF 2.0 JSON + `<stem>.bin` beside it */
  MHRFIT_EXPORT_BVH,      /**< Biovision hierarchy */
  MHRFIT_EXPORT_TRC,      /**< OpenSim markers (the keypoints: MHR70's or the fitted keypoint set's) */
  MHRFIT_EXPORT_PLY,      /**< per frame `<frame>/mesh.ply` + `mhr_params.npz` */
  MHRFIT_EXPORT_OBJ,      /**< per frame `<frame>/mesh.obj` + `mhr_params.npz` */
  MHRFIT_EXPORT_NPZ       /**< per frame `<frame>/mhr_params.npz` only */
} mhrfit_export_format;

/**
 * Parses a format name ("glb", "gltf", "bvh", "trc", "ply", "obj", "npz"; "auto") into `*out`.
 * MHRFIT_ERR_ARGUMENT for another name.
 */
bool mhrfit_export_format_parse(const char *name, mhrfit_export_format *out, mhrfit_error *err);

/** The format name ("glb", …). */
const char *mhrfit_export_format_name(mhrfit_export_format f);

/**
 * The format of output path `path` from its extension (`.glb`, `.gltf`, `.bvh`, `.trc`, `.ply`,
 * `.obj`; case-insensitive). MHRFIT_ERR_ARGUMENT naming the extension otherwise (a per-frame
 * export to a folder needs an explicit format).
 */
bool mhrfit_export_format_from_path(const char *path, mhrfit_export_format *out, mhrfit_error *err);

/** True for the per-frame formats (PLY, OBJ, NPZ): the output is a folder. */
bool mhrfit_export_format_per_frame(mhrfit_export_format f);

/**
 * The mhrfit_rig_open() flags a format needs: skeleton-only formats (BVH, TRC, NPZ) skip the
 * pose-corrective files; mesh formats load them when present (glTF reports what they add, PLY
 * and OBJ apply them).
 */
unsigned mhrfit_export_rig_flags(mhrfit_export_format f);

/** Export options; mhrfit_export_options_init() sets the defaults given here. */
typedef struct mhrfit_export_options {
  mhrfit_export_format format; /**< MHRFIT_EXPORT_AUTO: from the output path */
  size_t frame_begin;          /**< first source frame exported (0) */
  size_t frame_end;            /**< one past the last (0 = all) */
  bool keep_bad;               /**< export `bad_loss` frames too (false) */
  double fps;                  /**< frame rate; 0 = the source's, else 30 (0) */
  mhrfit_up_axis up;           /**< world up axis of glTF, BVH and TRC (MHRFIT_UP_AUTO: detected); another
                                    value with a per-frame format (which keeps the world's axes) is an error */
  bool keypoints;              /**< glTF: the keypoint nodes (true) */
  int cameras;                 /**< glTF: cameras: −1 when the calibration is known (default), 0 never, 1 always (error without one) */
  const char *calib;           /**< calibration file overriding the run's (NULL) */
  bool expressions;            /**< glTF: the 72 expression shapes as morph targets, weights animated (false) */
  int max_influences;          /**< glTF: skin influences kept per vertex, 4 or 8 (8: all of MHR's; a rig with more: the 8 largest, renormalised) */
  double units_scale;          /**< BVH and TRC: length unit in metres, 1 (m) or 0.01 (cm) (1) */
  bool ascii;                  /**< PLY: ASCII instead of binary little-endian (false) */
  size_t corrective_frames;    /**< glTF: frames on which the lost pose correctives are measured, spread evenly (100; 0 = none) */
} mhrfit_export_options;

/** Fills `o` with the defaults. */
void mhrfit_export_options_init(mhrfit_export_options *o);

/** What an export did, for the user (filled by mhrfit_exporter_new() and the writers). */
typedef struct mhrfit_export_report {
  mhrfit_export_format format;    /**< the format written */
  size_t n_total;                 /**< frames in the selected range */
  size_t n_exported;              /**< frames exported */
  size_t n_skipped_bad;           /**< `bad_loss` frames left out (without keep_bad) */
  size_t n_failed;                /**< failed frames left out (no parameters) */
  mhrfit_up_axis up;              /**< the up axis used (MHRFIT_UP_AUTO for the per-frame formats: none) */
  bool up_detected;               /**< it was detected (auto) */
  double up_cosine;               /**< detection: alignment of the mean body direction with the axis (1 = exact) */
  double fps;                     /**< frame rate written */
  char fps_origin[80];            /**< where it comes from ("option", the source's mhrfit_export_source::fps_origin,
                                       "default") */
  size_t n_cameras;               /**< glTF cameras written */
  char cameras_note[256];         /**< why there are none, when the calibration is unknown ("" otherwise) */
  size_t n_keypoints;             /**< glTF keypoint nodes written (keypoints never finite are left out) */
  size_t n_vertices, n_faces;     /**< mesh written (glTF, PLY, OBJ) */
  int lod;                        /**< its LOD */
  size_t n_influence_sets;        /**< glTF: JOINTS_n / WEIGHTS_n sets (1 or 2) */
  size_t n_renormalised;          /**< glTF: vertices with more than max_influences influences, cut to the largest and renormalised */
  double shape_spread;            /**< largest difference of an identity coefficient between exported frames (the first frame's is baked) */
  bool expressions;               /**< glTF: morph targets written */
  bool correctives;               /**< the rig has pose correctives (not in glTF) */
  size_t corr_frames;             /**< frames on which their effect was measured */
  double corr_mean_m;             /**< mean over those frames of the per-frame mean vertex distance (m) */
  double corr_mean_max_m;         /**< largest per-frame mean vertex distance (m) */
  double corr_max_m;              /**< largest vertex distance (m) */
  size_t corr_worst_frame;        /**< source frame of corr_max_m */
  double bvh_offset_dev_m;        /**< BVH: largest distance of a frame's joint offset from the baked one (m) */
  double bvh_max_dev_m;           /**< BVH: largest distance of a BVH joint from the fitted joint over the exported frames (m) */
  size_t bvh_worst_frame;         /**< source frame of bvh_max_dev_m */
  size_t n_files;                 /**< files written */
  size_t bytes;                   /**< bytes written (glTF: the GLB or JSON + BIN) */
} mhrfit_export_report;

typedef struct mhrfit_exporter mhrfit_exporter;

/**
 * An exporter of `src` (borrowed, must outlive the exporter) with `rig` (borrowed; its joints
 * and parameters must match the source's: 127 joints, 204 parameters). Selects the frames of
 * `o` (range, status), checks every frame to export (finite parameters, identity, similarity),
 * chooses the up axis of glTF, BVH and TRC (detected from the exported frames' keypoints with
 * MHRFIT_UP_AUTO; the per-frame formats keep the world's axes: no up axis, and one given is
 * MHRFIT_ERR_ARGUMENT),
 * loads the calibration for glTF cameras, and computes the forward kinematics of every exported
 * frame. Errors: MHRFIT_ERR_ARGUMENT (bad options, an empty range, no frame left to export),
 * MHRFIT_ERR_NUMERIC (a non-finite value in a frame to export: file, frame, key), errors of the
 * calibration file, MHRFIT_ERR_NOMEM.
 */
mhrfit_exporter *mhrfit_exporter_new(const mhrfit_rig *rig, const mhrfit_export_source *src,
                                     const mhrfit_export_options *o, mhrfit_error *err);

/** The report so far (valid until the exporter is freed). */
const mhrfit_export_report *mhrfit_exporter_report(const mhrfit_exporter *ex);

/**
 * Writes the export to `path` in the format of the options (or of `path`'s extension), after
 * the checks of mhrfit_export_check_out() (an output never replaces an input); a
 * per-frame format writes into the folder `path` (created, and locked while it is written: another
 * process writing it makes this call fail with MHRFIT_ERR_BUSY naming its id). Every file is
 * written atomically (temporary name + rename); a failure removes what this call wrote. Errors:
 * MHRFIT_ERR_IO, MHRFIT_ERR_BUSY, MHRFIT_ERR_ARGUMENT (format and path disagree), MHRFIT_ERR_NOMEM.
 *
 * - **glTF** (`.glb`, or `.gltf` + `<stem>.bin`): nodes 0..126 are the joints (named as the
 *   rig's, rest TRS of the first exported frame), under a node `mhr_world` whose TRS is the
 *   world similarity composed with the up rotation, `T(U t) · R(U R F) · S(s)`; a skinned mesh
 *   node `mhr_body` at the scene root: bind shape = rest mesh + identity shapes of the first
 *   exported frame (metres), normals, triangles, JOINTS_0/WEIGHTS_0 (and JOINTS_1/WEIGHTS_1 for
 *   vertices with more than 4 influences, unless max_influences is 4: the 4 largest, renormalised),
 *   inverse bind matrices = inverse rest transforms (`[R0ᵀ | −R0ᵀ t0]`), one material; optional
 *   morph targets (the 72 expression shapes, sparse); a node `mhr_keypoints` holding one node per keypoint
 *   (MHR70's 70, or the source's keypoint set), named after it, at `U · keypoint` (a keypoint missing in a frame keeps its last
 *   position; one never finite is left out); one perspective camera per calibrated camera
 *   (node at `U · C`, C = −Rᵀ t, rotation `U Rᵀ F` since glTF cameras look down −Z with +Y up;
 *   `yfov = 2 atan(h / 2 f_y)`, `aspectRatio = (w / f_x) / (h / f_y)`); one animation
 *   `mhrfit` with keyframes at `(frame − first) / fps` s: per joint rotation, translation and
 *   scale channels where some frame differs from the node's rest value, the world node's
 *   translation/rotation/scale, the keypoints' translations, morph weights. Quaternions keep
 *   the hemisphere of the previous keyframe (shortest interpolation).
 * - **BVH**: the 127 joints, offsets = local translations scaled by the parent's global scale
 *   (similarity scale × joint scales) at their median over the exported frames (in `units_scale`),
 *   root `body_world` with Xposition Yposition Zposition Zrotation Yrotation Xrotation, every
 *   other joint Zrotation Yrotation Xrotation (R = Rz·Ry·Rx, degrees), end sites of zero length;
 *   the root carries the similarity and `U`. The deviation of the baked skeleton is measured by
 *   evaluating the written file's own kinematics against the fitted joints (report).
 * - **TRC**: the keypoints (MHR70's, or the source's set) at `U · keypoint` in `units_scale`, rate = fps, empty cells
 *   where a keypoint is missing or a frame is left out.
 * - **PLY / OBJ / NPZ** (per frame, into a folder): `<frame>/mesh.ply` (binary little-endian,
 *   or ASCII; float x y z, faces as uchar-counted int lists) or `<frame>/mesh.obj`, the full
 *   mesh of mhrfit (identity shapes, the pose correctives when the rig has them, skinning) in the
 *   world frame in metres (no up rotation); `<frame>/mhr_params.npz` with the original's keys
 *   (`frame_rel`, `frame_index`, `is_bad_loss`, `mhr_model_params`, `shape_params`,
 *   `expr_params`, `body_pose_params`, `hand_pose_params`, `scale_params`) plus `opt_sim_scale`,
 *   `opt_sim_R`, `opt_sim_t`; then `export_summary.json` with `num_total`, `num_exported`,
 *   `num_skipped`, `num_bad_inputs` (failed frames), `num_errors` and the settings. A `path`
 *   ending in `.ply` (`.obj`) with the PLY (OBJ) format is one mesh file instead, for an export
 *   of exactly one frame (MHRFIT_ERR_ARGUMENT otherwise).
 */
bool mhrfit_exporter_write(mhrfit_exporter *ex, const char *path, mhrfit_error *err);

/**
 * Checks, before any work, that writing the export of `src` with options `o` to `path` destroys
 * no input; mhrfit_exporter_write() checks it again. Refused (MHRFIT_ERR_ARGUMENT, the message
 * naming the rule): an output that is one of the inputs (the source archive, `o->calib`, the run's
 * calibration, `rig_path`: the MHR assets folder or rig file, may be NULL) or an existing file
 * inside an input folder; the run folder itself or anything `mhrfit run` writes in it (its
 * archives, summary, settings, stage1/, fit/, ...); anything inside the run's capture (found as
 * the overlays find it) that is not inside the run folder; an existing file of another extension
 * than the format's (`.glb`, `.gltf` and its `<stem>.bin` (a `.bin` without its `.gltf` too), `.bvh`,
 * `.trc`, a single `.ply` /
 * `.obj`): only an earlier export is replaced; for the per-frame formats, an existing folder that
 * is not empty and holds no `export_summary.json` of an earlier export. MHRFIT_ERR_ARGUMENT also
 * for a path whose extension gives no format when `o->format` is MHRFIT_EXPORT_AUTO.
 */
bool mhrfit_export_check_out(const mhrfit_export_source *src, const mhrfit_export_options *o, const char *path,
                             const char *rig_path, mhrfit_error *err);

/**
 * The GLB (as the glTF writer above, whatever the options' format) in a new malloc'd buffer
 * `*data` of `*len` bytes, owned by the caller (e.g. for an HTML report that embeds it).
 */
bool mhrfit_exporter_glb(mhrfit_exporter *ex, unsigned char **data, size_t *len, mhrfit_error *err);

/** Frees an exporter. NULL is allowed. */
void mhrfit_exporter_free(mhrfit_exporter *ex);
/** @} */

#ifdef __cplusplus
}
#endif
#endif
