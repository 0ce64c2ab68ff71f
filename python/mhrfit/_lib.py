"""Finding and loading libmhrfit, and its C declarations for ctypes.

The structures below mirror the public headers of the library (``include/mhrfit/*.h``) field by
field; the test suite compiles a C program that prints every size and offset and compares them
with these (``python/tests/test_abi.py``), so a header change that is not carried over here fails
the tests instead of corrupting memory.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
import shutil
import subprocess
from ctypes import (POINTER, Structure, Union, c_bool, c_char, c_char_p, c_double, c_float, c_int, c_int32,
                    c_int64, c_long, c_size_t, c_uint, c_uint8, c_void_p)
from typing import List, Optional

__all__ = ["Error", "LibraryNotFoundError", "lib", "library_path", "check", "new_error"]


class Error(Exception):
    """A failure reported by libmhrfit.

    The message is the library's own (it names the file, frame, camera and field involved);
    ``kind`` is the library's error type: ``"io"``, ``"format"``, ``"unsupported"``, ``"limit"``,
    ``"nomem"``, ``"argument"``, ``"not_found"`` or ``"numeric"``.
    """

    def __init__(self, message: str, kind: str = "unknown"):
        super().__init__(message)
        self.kind = kind


class LibraryNotFoundError(ImportError):
    """libmhrfit could not be loaded; the message lists every place that was tried."""


# --------------------------------------------------------------------------------------------
# Structures (one per C struct used; field names and order as in the headers)

MAX_NDIM = 32
ERROR_MESSAGE_MAX = 1024
CAMERA_NAME_MAX = 128
N_MODEL_PARAMS = 204
N_BODY_POSE = 133
N_MHR70 = 70


class mhrfit_error(Structure):
    _fields_ = [("type", c_int), ("message", c_char * ERROR_MESSAGE_MAX), ("src_file", c_char_p),
                ("src_line", c_int), ("sys_errno", c_int)]


class mhrfit_array(Structure):
    _fields_ = [("dtype", c_int), ("itemsize", c_size_t), ("ndim", c_int), ("shape", c_size_t * MAX_NDIM),
                ("count", c_size_t), ("data", c_void_p)]


class mhrfit_value(Structure):
    pass


class _value_str(Structure):
    _fields_ = [("data", POINTER(c_char)), ("len", c_size_t)]


class _value_list(Structure):
    _fields_ = [("items", POINTER(POINTER(mhrfit_value))), ("count", c_size_t), ("cap", c_size_t)]


class _value_dict(Structure):
    _fields_ = [("keys", POINTER(c_char_p)), ("vals", POINTER(POINTER(mhrfit_value))), ("count", c_size_t),
                ("cap", c_size_t)]


class _value_union(Union):
    _fields_ = [("boolean", c_bool), ("integer", c_int64), ("number", c_double), ("str", _value_str),
                ("list", _value_list), ("dict", _value_dict), ("array", POINTER(mhrfit_array))]


mhrfit_value._fields_ = [("kind", c_int), ("line", c_int), ("u", _value_union)]


class mhrfit_camera(Structure):
    _fields_ = [("name", c_char * CAMERA_NAME_MAX), ("table", c_char * CAMERA_NAME_MAX), ("width", c_int),
                ("height", c_int), ("K", c_double * 9), ("dist", c_double * 8), ("n_dist", c_int),
                ("R", c_double * 9), ("t", c_double * 3), ("fisheye", c_bool), ("dist_missing", c_bool)]


CALIB_WARN = ctypes.CFUNCTYPE(None, c_void_p, c_char_p)


class mhrfit_calib(Structure):
    _fields_ = [("cams", POINTER(mhrfit_camera)), ("n_cams", c_size_t), ("path", c_char_p), ("unit", c_char * 8),
                ("ignored", POINTER(c_char_p)), ("ignored_line", POINTER(c_int)), ("n_ignored", c_size_t),
                ("warn", CALIB_WARN), ("warn_user", c_void_p), ("ignored_camera_like", POINTER(c_bool))]


class mhrfit_calib_options(Structure):
    _fields_ = [("invert_extrinsics", c_bool), ("translation_unit", c_char_p), ("warn", CALIB_WARN),
                ("warn_user", c_void_p)]


class mhrfit_tri_options(Structure):
    _fields_ = [("method", c_int), ("min_conf", c_double), ("score_type", c_int), ("huber_delta", c_double),
                ("inlier_thresh", c_double), ("rank_by_consensus", c_bool), ("min_angle_deg", c_double),
                ("lm_iters", c_int), ("robust_lm", c_bool), ("robust_lm_delta", c_double), ("loo_check", c_bool),
                ("likelihood_threshold", c_double), ("reproj_thresh", c_double), ("min_cameras", c_int),
                ("max_subsets", c_size_t)]


class mhrfit_tri_result(Structure):
    _fields_ = [("points", c_void_p), ("points_init", c_void_p), ("inliers", c_void_p), ("reproj_err", c_void_p),
                ("n_views_used", c_void_p), ("reason", c_void_p)]


class mhrfit_tri_archive(Structure):
    _fields_ = [("n_frames", c_size_t), ("n_kp", c_size_t), ("n_views", c_size_t), ("frame_axis", c_bool),
                ("points", POINTER(c_double)), ("points_init", POINTER(c_double)), ("inliers", POINTER(c_uint8)),
                ("reproj_err", POINTER(c_double)), ("n_views_used", POINTER(c_int32)), ("reason", POINTER(c_int32)),
                ("mean_px", POINTER(c_double)), ("subset_idx", POINTER(c_int32)), ("subset_names", POINTER(c_char_p)),
                ("cams", POINTER(c_char_p)), ("method", c_char * 32), ("threshold_px", c_double),
                ("source_frames", POINTER(c_char_p)), ("source_xxh64", POINTER(c_char_p)),
                ("det_uv", POINTER(c_double)), ("det_conf", POINTER(c_double))]


class mhrfit_pt_entry(Structure):
    _fields_ = [("row", c_int32), ("param", c_int32), ("coeff", c_double)]


class mhrfit_limit(Structure):
    _fields_ = [("param", c_int32), ("min", c_double), ("max", c_double), ("weight", c_double)]


class mhrfit_rig(Structure):
    _fields_ = [("n_joints", c_size_t), ("joint_names", POINTER(c_char * 64)), ("parents", POINTER(c_int32)),
                ("offsets", POINTER(c_double)), ("prerot", POINTER(c_double)), ("n_params", c_size_t),
                ("param_names", POINTER(c_char * 64)), ("n_pt", c_size_t), ("pt", POINTER(mhrfit_pt_entry)),
                ("n_limits", c_size_t), ("limits", POINTER(mhrfit_limit)), ("lod", c_int), ("n_vertices", c_size_t),
                ("n_faces", c_size_t), ("vertices", POINTER(c_double)), ("faces", POINTER(c_int32)),
                ("n_skin", c_size_t), ("skin_vertex", POINTER(c_int32)), ("skin_joint", POINTER(c_int32)),
                ("skin_weight", POINTER(c_double)), ("bind_global", POINTER(c_double)), ("rest_R", POINTER(c_double)),
                ("rest_t", POINTER(c_double)), ("n_shapes", c_size_t), ("shape_start", POINTER(c_size_t)),
                ("shape_vertex", POINTER(c_int32)), ("shape_delta", POINTER(c_double)),
                ("n_corr_features", c_size_t), ("n_corr_hidden", c_size_t), ("n_corr_weights", c_size_t),
                ("corr_start", POINTER(c_size_t)), ("corr_feature", POINTER(c_int32)),
                ("corr_weight", POINTER(c_double)), ("corr_blend", POINTER(c_float)),
                ("skin_vstart", POINTER(c_size_t)), ("skin_vorder", POINTER(c_int32))]


class mhrfit_sam3d_outputs(Structure):
    _fields_ = [("joint_coords", c_void_p), ("global_rots", c_void_p), ("keypoints_3d", c_void_p),
                ("vertices", c_void_p), ("correctives_applied", c_bool), ("n_active_correctives", c_size_t)]


class mhrfit_similarity(Structure):
    _fields_ = [("s", c_double), ("R", c_double * 9), ("t", c_double * 3)]


ON_ITERATION = ctypes.CFUNCTYPE(None, c_void_p, c_int, POINTER(c_double), c_double, c_double)


class mhrfit_fit_options(Structure):
    _fields_ = [("solver", c_int), ("iters", c_int), ("with_scale", c_bool), ("anchor_similarity", c_bool),
                ("optimize_hand_pose", c_bool), ("freeze_lower_body", c_bool), ("joint_limits", c_bool),
                ("freeze_flexible_lengths", c_bool), ("huber_m", c_double), ("w_pose_reg", c_double), ("w_temporal", c_double), ("w_hand_reg", c_double),
                ("temporal_init_blend", c_double), ("min_valid_points", c_int), ("zero_weight_strategy", c_int),
                ("rel_tol", c_double), ("grad_tol", c_double), ("lr", c_double), ("min_iters", c_int),
                ("early_stop_patience", c_int), ("early_stop_tol", c_double), ("loss_divergence_ratio", c_double),
                ("bad_loss_threshold", c_double), ("bad_data_loss_threshold", c_double),
                ("bad_loss_growth_ratio", c_double), ("calibrate_markers_once", c_bool),
                ("sim_reuse_tol_m", c_double), ("skip_mesh", c_bool), ("on_iteration", ON_ITERATION),
                ("user", c_void_p)]


class mhrfit_fit_view(Structure):
    _fields_ = [("name", c_char_p), ("model_params", c_double * N_MODEL_PARAMS), ("keypoints_3d", POINTER(c_double)),
                ("shape", POINTER(c_double)), ("n_shape", c_size_t), ("mean_px", c_double)]


class mhrfit_fit_frame(Structure):
    _fields_ = [("n_points", c_size_t), ("kp_index", POINTER(c_int)), ("targets", POINTER(c_double)),
                ("inlier_weight", POINTER(c_double)), ("n_views", c_size_t), ("views", POINTER(mhrfit_fit_view)),
                ("prev_model_params", POINTER(c_double)), ("prev_similarity", POINTER(mhrfit_similarity)),
                ("fixed_scales", POINTER(c_double)), ("point_weight", POINTER(c_double)),
                ("anchor", POINTER(c_uint8)), ("metric", POINTER(c_double))]


class mhrfit_fit_result(Structure):
    _fields_ = [("status", c_int), ("init_view", c_int), ("view_scores", POINTER(c_double)),
                ("view_skipped", POINTER(c_uint8)), ("model_params", c_double * N_MODEL_PARAMS),
                ("body_pose", c_double * N_BODY_POSE), ("sim_fit", mhrfit_similarity), ("sim_out", mhrfit_similarity),
                ("sim_reused_prev", c_bool), ("keypoints", POINTER(c_double)), ("joints", POINTER(c_double)),
                ("global_rots", POINTER(c_double)), ("vertices", POINTER(c_double)), ("residuals", POINTER(c_double)),
                ("loss_history", POINTER(c_double)), ("data_loss_history", POINTER(c_double)), ("n_iters", c_int),
                ("best_iter", c_int), ("init_loss", c_double), ("init_data_loss", c_double), ("best_loss", c_double),
                ("best_data_loss", c_double), ("final_loss", c_double), ("final_data_loss", c_double),
                ("n_valid_points", c_int), ("used_temporal_init", c_bool), ("uniform_fallback", c_bool),
                ("is_bad", c_bool)]


class mhrfit_fit_prior(Structure):
    _fields_ = [("model_params", c_double * N_MODEL_PARAMS), ("sim", mhrfit_similarity), ("have_params", c_bool),
                ("have_sim", c_bool), ("frame", c_long), ("max_stale_frames", c_long)]


class mhrfit_fit_step(Structure):
    _fields_ = [("fitted", c_bool), ("frame", mhrfit_fit_frame), ("result", mhrfit_fit_result), ("why", mhrfit_error),
                ("seconds", c_double)]


class mhrfit_fit_viewset(Structure):
    _fields_ = [("n_views", c_size_t), ("views", POINTER(mhrfit_fit_view)), ("missing", POINTER(c_uint8)),
                ("note", POINTER(c_char * 192)), ("hand_pose_params", POINTER(c_double)),
                ("scale_params", POINTER(c_double)), ("shape_params", POINTER(c_double)),
                ("keypoints_3d", POINTER(c_double))]


class mhrfit_fit_archive(Structure):
    _fields_ = [("n_frames", c_size_t), ("n_kp", c_size_t), ("n_views", c_size_t), ("n_joints", c_size_t),
                ("n_vertices", c_size_t), ("n_hist", c_size_t), ("n_pred_kp", c_size_t),
                ("frame_axis", c_bool),
                ("status", POINTER(c_char * 32)), ("message", POINTER(c_char * 256)), ("init_cam", POINTER(c_char * 64)),
                ("cams", POINTER(c_char_p)), ("subset_idx", POINTER(c_int32)), ("model_params", POINTER(c_double)),
                ("body_pose", POINTER(c_double)), ("hand_pose_params", POINTER(c_double)),
                ("scale_params", POINTER(c_double)), ("shape_params", POINTER(c_double)),
                ("keypoints", POINTER(c_double)), ("joints", POINTER(c_double)), ("global_rots", POINTER(c_double)),
                ("vertices", POINTER(c_double)), ("sim_out", POINTER(c_double)), ("sim_fit", POINTER(c_double)),
                ("sim_reused", POINTER(c_int32)), ("view_scores", POINTER(c_double)),
                ("view_skipped", POINTER(c_int32)), ("losses", POINTER(c_double)), ("counts", POINTER(c_int32)),
                ("loss_hist", POINTER(c_double)), ("data_loss_hist", POINTER(c_double)),
                ("targets", POINTER(c_double)), ("residuals", POINTER(c_double)), ("solver", c_char * 16),
                ("freeze_lower_body", c_bool), ("optimize_hand_pose", c_bool), ("anchor_similarity", c_bool),
                ("w_temporal", c_double), ("w_hand_reg", c_double),
                ("frame_names", POINTER(c_char_p)), ("fps", c_double), ("joint_names", POINTER(c_char_p)),
                ("faces", POINTER(c_int32)), ("n_faces", c_size_t), ("world_up", c_char * 4),
                ("keypoint_names", POINTER(c_char_p))]


class mhrfit_smooth_options(Structure):
    _fields_ = [("method", c_int), ("alpha", c_double), ("median_window", c_int), ("outlier_sigma", c_double),
                ("butter_order", c_int), ("cutoff_hz", c_double), ("fps", c_double), ("butter_padlen", c_int)]


class mhrfit_pipeline_progress(Structure):
    _fields_ = [("stage", c_int), ("done", c_size_t), ("total", c_size_t), ("reused", c_size_t), ("not_ok", c_size_t),
                ("elapsed_s", c_double), ("frame", c_char_p)]


PIPELINE_LOG = ctypes.CFUNCTYPE(None, c_void_p, c_int, c_char_p)
PIPELINE_PROGRESS = ctypes.CFUNCTYPE(None, c_void_p, POINTER(mhrfit_pipeline_progress))


class mhrfit_pipeline_options(Structure):
    _fields_ = [("input_dir", c_char_p), ("sam_dir", c_char_p), ("calib_path", c_char_p), ("out_dir", c_char_p),
                ("cams", POINTER(c_char_p)), ("n_cams", c_size_t), ("cam_map", POINTER(c_char_p)),
                ("n_cam_map", c_size_t), ("frames", POINTER(c_char_p)), ("n_frames", c_size_t),
                ("rig_path", c_char_p), ("lod", c_int), ("write_mesh", c_bool),
                ("input_format", c_char_p), ("layout", c_char_p), ("keypoint_names", c_char_p),
                ("keypoint_map", c_char_p), ("cam_dirs", POINTER(c_char_p)), ("n_cam_dirs", c_size_t),
                ("calib_frames", c_int),
                ("estimator", c_char_p), ("model_ids", POINTER(c_char_p)), ("n_model_ids", c_size_t),
                ("person_strategy", c_int), ("person_index", c_long), ("estimator_worker", c_char_p),
                ("workers", c_size_t), ("estimator_timeout", c_double), ("worker_start_timeout", c_double),
                ("worker_max_restarts", c_size_t), ("max_inflated_bytes", c_size_t),
                ("calib", mhrfit_calib_options), ("tri", mhrfit_tri_options),
                ("fit", mhrfit_fit_options), ("freeze_from", c_int), ("min_views", c_int), ("max_stale_frames", c_int),
                ("bad_frame_retries", c_int), ("per_frame_scales", c_bool),
                ("max_edge_copy_span", c_int), ("smoothing", c_bool), ("smooth", mhrfit_smooth_options),
                ("overwrite", c_bool), ("jobs", c_size_t), ("report", c_bool),
                ("overlay", c_bool), ("overlay_capture", c_char_p), ("overlay_layers", c_uint), ("overlay_mesh", c_int),
                ("overlay_format", c_int), ("overlay_video", c_bool), ("overlay_grid", c_bool),
                ("overlay_rescale", c_bool), ("log", PIPELINE_LOG), ("progress", PIPELINE_PROGRESS),
                ("user", c_void_p), ("cancel", POINTER(c_int))]


class mhrfit_ingest_summary(Structure):
    _fields_ = [(name, c_size_t) for name in ("frames_total", "frames_ingested", "frames_reused", "frames_failed",
                                              "views_written", "views_missing", "views_no_person", "views_failed",
                                              "views_timeout", "estimator_runs", "worker_starts")] + \
               [("meta_written", c_bool)]


class mhrfit_recover_report(Structure):
    _fields_ = [("interpolated", c_size_t), ("copied", c_size_t), ("unrecovered", c_size_t)]


PIPELINE_MAX_STATUSES = 16


class mhrfit_pipeline_result(Structure):
    _fields_ = [("n_frames", c_size_t), ("frames_reused", c_size_t), ("n_fitted", c_size_t),
                ("ingest", mhrfit_ingest_summary), ("recover", mhrfit_recover_report), ("smoothed", c_bool),
                ("n_statuses", c_size_t), ("status_names", (c_char * 32) * PIPELINE_MAX_STATUSES),
                ("status_counts", c_size_t * PIPELINE_MAX_STATUSES),
                ("time_ingest_s", c_double), ("time_setup_s", c_double), ("time_triangulate_s", c_double),
                ("time_fit_s", c_double), ("time_frame_other_s", c_double), ("time_frames_s", c_double),
                ("time_sequence_s", c_double), ("time_total_s", c_double), ("threads", c_size_t)]


class mhrfit_pipeline_frame_info(Structure):
    _fields_ = [("name", c_char_p), ("status", c_char_p), ("fit_status", c_char_p), ("message", c_char_p),
                ("n_available", c_int), ("n_triangulated", c_int), ("reused", c_bool), ("retried", c_bool)]


class mhrfit_export_source_options(Structure):
    _fields_ = [("fitted", c_bool), ("person_given", c_bool), ("person_index", c_long)]


class mhrfit_export_options(Structure):
    _fields_ = [("format", c_int), ("frame_begin", c_size_t), ("frame_end", c_size_t), ("keep_bad", c_bool),
                ("fps", c_double), ("up", c_int), ("keypoints", c_bool), ("cameras", c_int), ("calib", c_char_p),
                ("expressions", c_bool), ("max_influences", c_int), ("units_scale", c_double), ("ascii", c_bool),
                ("corrective_frames", c_size_t)]


class mhrfit_export_report(Structure):
    _fields_ = [("format", c_int), ("n_total", c_size_t), ("n_exported", c_size_t), ("n_skipped_bad", c_size_t),
                ("n_failed", c_size_t), ("up", c_int), ("up_detected", c_bool), ("up_cosine", c_double),
                ("fps", c_double), ("fps_origin", c_char * 80), ("n_cameras", c_size_t), ("cameras_note", c_char * 256),
                ("n_keypoints", c_size_t), ("n_vertices", c_size_t), ("n_faces", c_size_t), ("lod", c_int),
                ("n_influence_sets", c_size_t), ("n_renormalised", c_size_t), ("shape_spread", c_double),
                ("expressions", c_bool), ("correctives", c_bool), ("corr_frames", c_size_t), ("corr_mean_m", c_double),
                ("corr_mean_max_m", c_double), ("corr_max_m", c_double), ("corr_worst_frame", c_size_t),
                ("bvh_offset_dev_m", c_double), ("bvh_max_dev_m", c_double), ("bvh_worst_frame", c_size_t),
                ("n_files", c_size_t), ("bytes", c_size_t)]


#: The structures checked against the C headers by the test suite: Python name -> C type name.
STRUCTS = {cls: cls.__name__ for cls in (
    mhrfit_error, mhrfit_array, mhrfit_value, mhrfit_camera, mhrfit_calib, mhrfit_calib_options,
    mhrfit_tri_options, mhrfit_tri_result, mhrfit_tri_archive, mhrfit_pt_entry, mhrfit_limit, mhrfit_rig,
    mhrfit_sam3d_outputs, mhrfit_similarity, mhrfit_fit_options, mhrfit_fit_view, mhrfit_fit_frame,
    mhrfit_fit_result, mhrfit_fit_prior, mhrfit_fit_step, mhrfit_fit_viewset, mhrfit_fit_archive,
    mhrfit_smooth_options, mhrfit_pipeline_progress, mhrfit_pipeline_options, mhrfit_ingest_summary,
    mhrfit_recover_report, mhrfit_pipeline_result, mhrfit_pipeline_frame_info, mhrfit_export_source_options,
    mhrfit_export_options, mhrfit_export_report)}

# --------------------------------------------------------------------------------------------
# Functions: name -> (restype, argtypes)

_P = POINTER
_err = _P(mhrfit_error)
_val = _P(mhrfit_value)
_PROTOTYPES = {
    "mhrfit_version": (c_char_p, []),
    "mhrfit_error_type_name": (c_char_p, [c_int]),
    # arrays and values
    "mhrfit_array_new": (_P(mhrfit_array), [c_int, c_size_t, c_int, _P(c_size_t), c_size_t, _err]),
    "mhrfit_array_free": (None, [_P(mhrfit_array)]),
    "mhrfit_value_new_null": (_val, [_err]),
    "mhrfit_value_new_bool": (_val, [c_bool, _err]),
    "mhrfit_value_new_int": (_val, [c_int64, _err]),
    "mhrfit_value_new_float": (_val, [c_double, _err]),
    "mhrfit_value_new_string": (_val, [c_int, c_char_p, c_size_t, _err]),
    "mhrfit_value_new_list": (_val, [_err]),
    "mhrfit_value_new_dict": (_val, [_err]),
    "mhrfit_value_new_array": (_val, [_P(mhrfit_array), _err]),
    "mhrfit_value_free": (None, [_val]),
    "mhrfit_value_list_append": (c_bool, [_val, _val, _err]),
    "mhrfit_value_dict_set": (c_bool, [_val, c_char_p, _val, _err]),
    # files
    "mhrfit_numpy_load": (_val, [c_char_p, c_void_p, _err]),
    "mhrfit_pickle_load": (_val, [c_char_p, c_void_p, _err]),
    "mhrfit_npz_save_dict": (c_bool, [c_char_p, _val, c_bool, _err]),
    # calibration and cameras
    "mhrfit_calib_load": (_P(mhrfit_calib), [c_char_p, _P(mhrfit_calib_options), _err]),
    "mhrfit_calib_select": (_P(mhrfit_calib), [_P(mhrfit_calib), _P(c_char_p), c_size_t, _err]),
    "mhrfit_calib_free": (None, [_P(mhrfit_calib)]),
    "mhrfit_camera_project_n": (c_size_t, [_P(mhrfit_camera), c_void_p, c_size_t, c_void_p]),
    # triangulation
    "mhrfit_tri_options_default": (None, [_P(mhrfit_tri_options)]),
    "mhrfit_triangulator_new": (c_void_p, [_P(mhrfit_camera), c_size_t, c_size_t, _P(mhrfit_tri_options), _err]),
    "mhrfit_triangulator_process": (c_bool, [c_void_p, c_size_t, c_void_p, c_void_p, _P(mhrfit_tri_result), _err]),
    "mhrfit_triangulator_free": (None, [c_void_p]),
    "mhrfit_tri_archive_new": (_P(mhrfit_tri_archive), [c_size_t, c_size_t, c_size_t, _P(c_char_p), _P(c_char_p),
                                                       _err]),
    "mhrfit_tri_archive_update_mean": (None, [_P(mhrfit_tri_archive)]),
    "mhrfit_tri_archive_free": (None, [_P(mhrfit_tri_archive)]),
    # the rig
    "mhrfit_rig_open": (_P(mhrfit_rig), [c_char_p, c_int, c_uint, _err]),
    "mhrfit_overlay_layers_parse": (c_bool, [c_char_p, _P(c_uint), _err]),
    "mhrfit_rig_free": (None, [_P(mhrfit_rig)]),
    "mhrfit_rig_has_correctives": (c_bool, [_P(mhrfit_rig)]),
    "mhrfit_kpmap_new_mhr70": (c_void_p, [_P(mhrfit_rig), _err]),
    "mhrfit_kpmap_calibrate_from_sam3d": (c_int, [c_void_p, _P(mhrfit_rig), _val, _err]),
    "mhrfit_kpmap_free": (None, [c_void_p]),
    "mhrfit_sam3d_model_params": (c_bool, [_val, c_void_p, c_void_p, _err]),
    "mhrfit_sam3d_evaluator_new": (c_void_p, [_P(mhrfit_rig), c_void_p, _err]),
    "mhrfit_sam3d_evaluator_process": (c_bool, [c_void_p, c_void_p, c_void_p, c_size_t, _P(mhrfit_sam3d_outputs),
                                                _err]),
    "mhrfit_sam3d_evaluator_free": (None, [c_void_p]),
    # fitting
    "mhrfit_fit_options_init": (None, [_P(mhrfit_fit_options)]),
    "mhrfit_fit_options_iter_cap": (c_int, [_P(mhrfit_fit_options)]),
    "mhrfit_fitter_new": (c_void_p, [_P(mhrfit_rig), c_void_p, _P(mhrfit_fit_options), _err]),
    "mhrfit_fitter_free": (None, [c_void_p]),
    "mhrfit_fit_viewset_from_values": (_P(mhrfit_fit_viewset), [_P(_val), _P(c_char_p), c_size_t, c_size_t, _err]),
    "mhrfit_fit_viewset_free": (None, [_P(mhrfit_fit_viewset)]),
    "mhrfit_fit_sequence_new": (c_void_p, [c_void_p, c_long, _P(c_double), _err]),
    "mhrfit_fit_sequence_process": (c_bool, [c_void_p, _P(mhrfit_tri_archive), c_size_t, _P(mhrfit_fit_viewset),
                                             _P(mhrfit_fit_archive), c_size_t, _P(mhrfit_fit_step), _err]),
    "mhrfit_fit_sequence_prior": (_P(mhrfit_fit_prior), [c_void_p]),
    "mhrfit_fit_sequence_reset": (None, [c_void_p]),
    "mhrfit_fit_sequence_free": (None, [c_void_p]),
    "mhrfit_fit_archive_new": (_P(mhrfit_fit_archive), [c_size_t, c_size_t, c_size_t, c_size_t, c_size_t, c_size_t,
                                                       _P(c_char_p), _err]),
    "mhrfit_fit_archive_set_options": (None, [_P(mhrfit_fit_archive), _P(mhrfit_fit_options)]),
    "mhrfit_fit_archive_describe": (c_bool, [_P(mhrfit_fit_archive), _P(c_char_p), c_double, _P(mhrfit_rig), _err]),
    "mhrfit_fit_archive_update_world_up": (None, [_P(mhrfit_fit_archive)]),
    "mhrfit_fit_archive_to_value": (_val, [_P(mhrfit_fit_archive), _err]),
    "mhrfit_fit_archive_free": (None, [_P(mhrfit_fit_archive)]),
    # the pipeline
    "mhrfit_pipeline_options_init": (None, [_P(mhrfit_pipeline_options)]),
    "mhrfit_pipeline_new": (c_void_p, [_P(mhrfit_pipeline_options), _err]),
    "mhrfit_pipeline_run": (c_bool, [c_void_p, _P(mhrfit_pipeline_result), _err]),
    "mhrfit_pipeline_n_frames": (c_size_t, [c_void_p]),
    "mhrfit_pipeline_frame": (c_bool, [c_void_p, c_size_t, _P(mhrfit_pipeline_frame_info)]),
    "mhrfit_pipeline_n_cameras": (c_size_t, [c_void_p]),
    "mhrfit_pipeline_camera": (c_char_p, [c_void_p, c_size_t]),
    "mhrfit_pipeline_free": (None, [c_void_p]),
    # exports
    "mhrfit_export_source_load": (c_void_p, [c_char_p, _P(mhrfit_export_source_options), c_char_p, c_size_t, _err]),
    "mhrfit_export_source_free": (None, [c_void_p]),
    "mhrfit_export_source_rig": (c_char_p, [c_void_p, _P(c_char_p)]),
    "mhrfit_export_format_from_path": (c_bool, [c_char_p, _P(c_int), _err]),
    "mhrfit_export_format_name": (c_char_p, [c_int]),
    "mhrfit_export_format_per_frame": (c_bool, [c_int]),
    "mhrfit_export_rig_flags": (c_uint, [c_int]),
    "mhrfit_export_options_init": (None, [_P(mhrfit_export_options)]),
    "mhrfit_exporter_new": (c_void_p, [_P(mhrfit_rig), c_void_p, _P(mhrfit_export_options), _err]),
    "mhrfit_exporter_report": (_P(mhrfit_export_report), [c_void_p]),
    "mhrfit_exporter_write": (c_bool, [c_void_p, c_char_p, _err]),
    "mhrfit_exporter_free": (None, [c_void_p]),
    "mhrfit_up_parse": (c_bool, [c_char_p, _P(c_int), _err]),
    "mhrfit_up_name": (c_char_p, [c_int]),
}

# --------------------------------------------------------------------------------------------
# Loading

_lib: Optional[ctypes.CDLL] = None
_lib_path: Optional[str] = None


def _pkg_config_libdir() -> Optional[str]:
    exe = shutil.which("pkg-config")
    if not exe:
        return None
    try:
        out = subprocess.run([exe, "--variable=libdir", "mhrfit"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    libdir = out.stdout.strip()
    return libdir if out.returncode == 0 and libdir else None


def _candidates() -> List[str]:
    """Where the library is looked for, in order (MHRFIT_LIBRARY alone when it is set)."""
    env = os.environ.get("MHRFIT_LIBRARY")
    if env:
        return [env]
    here = os.path.dirname(os.path.abspath(__file__))
    found = sorted(glob.glob(os.path.join(here, "libmhrfit.so*")), key=len)
    libdir = _pkg_config_libdir()
    if libdir:
        found += [os.path.join(libdir, name) for name in ("libmhrfit.so.0", "libmhrfit.so")]
    system = ctypes.util.find_library("mhrfit")
    if system:
        found.append(system)
    return found


def _declare(cdll: ctypes.CDLL) -> None:
    for name, (restype, argtypes) in _PROTOTYPES.items():
        fn = getattr(cdll, name)
        fn.restype = restype
        fn.argtypes = argtypes


def lib() -> ctypes.CDLL:
    """The loaded library (loaded on first use). Raises LibraryNotFoundError."""
    global _lib, _lib_path
    if _lib is not None:
        return _lib
    tried = []
    for path in _candidates():
        try:
            cdll = ctypes.CDLL(path)
        except OSError as e:
            tried.append(f"{path}: {e}")
            continue
        try:
            _declare(cdll)
        except AttributeError as e:
            tried.append(f"{path}: not a libmhrfit of this version ({e})")
            continue
        _lib, _lib_path = cdll, os.path.abspath(path) if os.sep in path else path
        return cdll
    where = "\n  ".join(tried) if tried else "(nothing found)"
    raise LibraryNotFoundError(
        "libmhrfit could not be loaded. It is looked for in $MHRFIT_LIBRARY (a path to libmhrfit.so), next to "
        "the mhrfit package, in pkg-config's libdir of 'mhrfit', then on the system library path. Build it with "
        "'cmake -S . -B build && cmake --build build' (build/libmhrfit.so) and set MHRFIT_LIBRARY, or install "
        "it with 'cmake --install build'. Tried:\n  " + where)


def library_path() -> str:
    """Path of the loaded library (loads it)."""
    lib()
    assert _lib_path is not None
    return _lib_path


def new_error() -> mhrfit_error:
    return mhrfit_error()


def raise_error(err: mhrfit_error) -> None:
    """Raises Error with the message and kind held by ``err``."""
    kind = lib().mhrfit_error_type_name(err.type).decode()
    msg = err.message.decode("utf-8", "replace") or "unknown failure"
    raise Error(msg, kind)


def check(ok, err: mhrfit_error):
    """Returns ``ok`` when it is true (a non-NULL pointer or True), else raises the library's error."""
    if not ok:
        raise_error(err)
    return ok
