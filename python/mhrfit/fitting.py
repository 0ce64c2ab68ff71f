"""Stage 3: fitting MHR's pose to triangulated keypoints (``include/mhrfit/fit.h``, ``fit_io.h``)."""

from __future__ import annotations

import ctypes
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any, Dict, Iterator, List, Optional, Tuple

import numpy as np

from . import _lib as L
from . import _options
from ._arrays import as_float64
from ._values import Owned, from_python, to_python
from .rig import Rig, _document
from .triangulation import TriangulationResult

__all__ = ["fit", "Fitter", "FitResult", "OPTIONS"]

_SOLVERS = ("lm", "adam")
_ZW = ("uniform_finite", "fail")
_F = _options.field

#: The command line's stage-3 options (``mhrfit fit --help``) and the field each one sets.
OPTIONS = {
    "solver": (_SOLVERS, _F("solver", _SOLVERS.index)),
    "iters": ("int", _F("iters")),
    "freeze_lower_body": ("bool", _F("freeze_lower_body")),
    "optimize_hand_pose": ("bool", _F("optimize_hand_pose")),
    "with_scale": ("bool", _F("with_scale")),
    "anchor_similarity": ("bool", _F("anchor_similarity")),
    "joint_limits": ("bool", _F("joint_limits")),
    "huber_m": ("float", _F("huber_m")),
    "w_pose_reg": ("float", _F("w_pose_reg")),
    "w_temporal": ("float", _F("w_temporal")),
    "w_hand_reg": ("float", _F("w_hand_reg")),
    "temporal_init_blend": ("float", _F("temporal_init_blend")),
    "min_valid_points": ("int", _F("min_valid_points")),
    "zero_weight_strategy": (_ZW, _F("zero_weight_strategy", _ZW.index)),
    "rel_tol": ("float", _F("rel_tol")),
    "grad_tol": ("float", _F("grad_tol")),
    "lr": ("float", _F("lr")),
    "min_iters": ("int", _F("min_iters")),
    "early_stop_patience": ("int", _F("early_stop_patience")),
    "loss_divergence_ratio": ("float", _F("loss_divergence_ratio")),
    "bad_loss_threshold": ("float", _F("bad_loss_threshold")),
    "bad_data_loss_threshold": ("float", _F("bad_data_loss_threshold")),
    "bad_loss_growth_ratio": ("float", _F("bad_loss_growth_ratio")),
    "sim_reuse_tol_m": ("float", _F("sim_reuse_tol_m")),
}
#: Options of ``mhrfit fit`` that are not fitter settings (kind of each).
_OWN = {"person_index": "int", "max_stale_frames": "int", "no_mesh": "bool"}


class FitResult(Mapping):
    """Fitted frames: the members of ``fit.npz`` (``include/mhrfit/fit_io.h``) as attributes and as a
    read-only mapping, with the same dtypes, shapes and values as the command line writes them.

    The main ones (leading F axis when several frames were fitted): ``mhr_model_params`` (204),
    ``body_pose_params`` (133), ``shape_params`` (45), ``scale_params`` (28), ``hand_pose_params``
    (108), ``pred_keypoints_3d`` (70, 3), ``pred_joint_coords`` (J, 3), ``pred_global_rots`` (J, 3, 3),
    ``pred_vertices`` (n_vertices, 3) — geometry in the world frame of the targets, metres, float32 —
    the similarity ``opt_sim_scale``, ``opt_sim_R``, ``opt_sim_t``, and the diagnostics ``opt_status``
    ("ok", "bad_loss", "optimization_failed"), ``opt_message``, ``opt_init_cam``, losses, iterations,
    ``opt_residuals_m``. A frame that could not be fitted keeps NaN values and a non-"ok" status.
    """

    def __init__(self, members: Dict[str, Any]):
        object.__setattr__(self, "_members", members)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._members[name]
        except KeyError:
            raise AttributeError(f"FitResult has no member '{name}' (members: {', '.join(self._members)})") from None

    def __setattr__(self, name, value):
        raise AttributeError("FitResult is read-only")

    def __getitem__(self, key: str) -> Any:
        return self._members[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._members)

    def __len__(self) -> int:
        return len(self._members)

    def __dir__(self):
        return list(super().__dir__()) + list(self._members)

    def __repr__(self) -> str:
        return f"FitResult(status={self._members.get('opt_status')!r}, members={len(self._members)})"


def _views_of_frame(views: Any, cams: Optional[List[str]], where: str) -> Tuple[List[str], List[Any]]:
    """(camera names, per-camera outputs) of one frame's views: a mapping camera -> output, or a
    sequence of outputs named by ``cams`` (default cam_0, cam_1, ...). An output is a SAM 3D Body
    output (dict, list of per-person dicts, file path) or None for a camera without one."""
    if isinstance(views, Mapping):
        names = [str(k) for k in views]
        outs = [views[k] for k in views]
        if cams is not None and list(cams) != names:
            names, outs = list(cams), [views.get(c) for c in cams]
    elif isinstance(views, Sequence) and not isinstance(views, (str, bytes)):
        outs = list(views)
        names = list(cams) if cams is not None else [f"cam_{i}" for i in range(len(outs))]
        if len(names) != len(outs):
            raise ValueError(f"{where}: {len(outs)} views but {len(names)} camera names")
    else:
        raise TypeError(f"{where} must map camera names to SAM 3D Body outputs (or list them), not "
                        f"{type(views).__name__}")
    if not outs:
        raise ValueError(f"{where}: no view")
    return names, outs


class _Targets:
    """Targets of F frames as the library's triangulation archive (what the command line reads)."""

    def __init__(self, points3d: Any, cams: List[str], inlier_mask: Any, keypoint_indices: Any,
                 mean_reproj_err_px: Any, frames: Optional[int]):
        tri_cams = list(cams)  # the cameras of the mask's columns and of the per-camera errors
        if isinstance(points3d, TriangulationResult):
            tri = points3d
            points3d, tri_cams = tri.points3d, list(tri.cams)
            if inlier_mask is None:
                inlier_mask = tri.inlier_mask
            if mean_reproj_err_px is None:
                mean_reproj_err_px = tri.mean_reproj_err_px
        pts = as_float64(points3d, "points3d", last=(3,), ndims=(2, 3), shape_doc="(K, 3) or (F, K, 3)")
        self.single = pts.ndim == 2
        pts = pts.reshape((1,) + pts.shape) if self.single else pts
        F, K = pts.shape[0], pts.shape[1]
        if frames is not None and F != frames:
            raise ValueError(f"points3d has {F} frame(s) but {frames} frame(s) of views were given")
        if K == 0:
            raise ValueError("points3d has no point (K = 0)")
        Vt = len(tri_cams)
        if keypoint_indices is None:
            if K != L.N_MHR70:
                raise ValueError(f"points3d has {K} points: pass keypoint_indices (the MHR70 index of each) "
                                 "unless all 70 MHR70 keypoints are given")
            idx = np.arange(K, dtype=np.int32)
        else:
            idx = np.asarray(keypoint_indices)
            if idx.dtype.kind not in "iu" or idx.shape != (K,):
                raise TypeError(f"keypoint_indices must be {K} integers, not {idx.dtype} {idx.shape}")
            if np.any((idx < 0) | (idx >= L.N_MHR70)):
                raise ValueError("keypoint_indices must be MHR70 indices in 0..69")
        if inlier_mask is None:
            mask = np.ones((F, K, Vt), dtype=np.uint8)
        else:
            m = np.asarray(inlier_mask)
            if m.dtype.kind not in "biuf":
                raise TypeError(f"inlier_mask must be bool or numbers, not {m.dtype}")
            m = m.reshape((1,) + m.shape) if self.single else m
            if m.ndim != 3 or m.shape != (F, K, Vt):
                raise ValueError(f"inlier_mask has shape {np.shape(inlier_mask)}; expected (K, V) or (F, K, V) "
                                 f"with the points' F and K and one column per camera ({Vt})")
            mask = np.ascontiguousarray(m != 0, dtype=np.uint8)
        mean = np.full(Vt, np.nan)
        if mean_reproj_err_px is not None:
            mean = as_float64(mean_reproj_err_px, "mean_reproj_err_px", ndims=(1,))
            if mean.shape != (Vt,):
                raise ValueError(f"mean_reproj_err_px must hold one value per camera ({Vt})")
        lib = L.lib()
        err = L.mhrfit_error()
        names = (ctypes.c_char_p * Vt)(*[c.encode() for c in tri_cams])
        self.ptr = L.check(lib.mhrfit_tri_archive_new(F, K, Vt, None, names, ctypes.byref(err)), err)
        a = self.ptr.contents
        a.frame_axis = not self.single
        ctypes.memmove(a.points, pts.ctypes.data, pts.nbytes)
        ctypes.memmove(a.inliers, mask.ctypes.data, mask.nbytes)
        idx32 = np.ascontiguousarray(idx, dtype=np.int32)
        ctypes.memmove(a.subset_idx, idx32.ctypes.data, idx32.nbytes)
        ctypes.memmove(a.mean_px, mean.ctypes.data, mean.nbytes)
        self.n_frames, self.n_kp = F, K

    def __del__(self):
        if getattr(self, "ptr", None):
            L.lib().mhrfit_tri_archive_free(self.ptr)
            self.ptr = None


def _init_pose(value: Any) -> np.ndarray:
    """204 model parameters of an init_pose: (204,) parameters or (133,) body_pose_params."""
    a = as_float64(value, "init_pose", last=(L.N_MODEL_PARAMS, L.N_BODY_POSE), ndims=(1,))
    if a.shape[0] == L.N_BODY_POSE:
        m = np.zeros(L.N_MODEL_PARAMS)
        m[6:136] = a[:130]
        a = m
    if not np.all(np.isfinite(a)):
        raise ValueError("init_pose holds non-finite values")
    return a


class Fitter:
    """Fits MHR frame by frame, each frame using the previous good frame as its temporal prior (as
    ``mhrfit fit`` does over a batch): a frame whose status is "ok" becomes the prior of the next
    frames while they are at most ``max_stale_frames`` (40) frames after it.

    ``rig``: a Rig. ``init_pose``: the prior of the first frame, (204,) model parameters or (133,)
    body_pose_params. ``person_index``: the person of multi-person outputs (0). ``no_mesh``: leave
    ``pred_vertices`` out. ``options``: the command line's fit options (``mhrfit fit --help``:
    ``solver``, ``iters``, ``freeze_lower_body``, ``optimize_hand_pose``, ``w_temporal``, …); an
    unknown name or a wrong type raises TypeError naming it.
    """

    def __init__(self, rig: Rig, *, init_pose: Any = None, **options: Any):
        self._setup(rig, init_pose, options, "Fitter")

    def _setup(self, rig: Rig, init_pose: Any, options: Dict[str, Any], func: str) -> None:
        """The constructor's work; ``func`` names the call in errors ("Fitter", or "fit" for mhrfit.fit())."""
        if not isinstance(rig, Rig):
            raise TypeError(f"{func}(): rig must be a mhrfit.Rig, not {type(rig).__name__}")
        options = dict(options)
        own = _options.split(func, options, _OWN)
        self.person_index = own.get("person_index", 0)
        self.max_stale_frames = own.get("max_stale_frames", 40)
        self.no_mesh = own.get("no_mesh", False)
        if self.person_index < 0 or self.max_stale_frames < 0:
            raise ValueError(f"{func}(): person_index and max_stale_frames must be >= 0")
        o = L.mhrfit_fit_options()
        lib = L.lib()
        lib.mhrfit_fit_options_init(ctypes.byref(o))
        _options.apply(func, o, OPTIONS, options)
        if not 3 <= o.min_valid_points <= 70:
            raise ValueError(f"{func}(): option 'min_valid_points' must be in 3..70, got {o.min_valid_points}")
        if o.early_stop_patience < 1:
            raise ValueError(f"{func}(): option 'early_stop_patience' must be >= 1")
        self._opts = o
        self.rig = rig
        err = L.mhrfit_error()
        self._ptr = L.check(lib.mhrfit_fitter_new(rig._ptr, None, ctypes.byref(o), ctypes.byref(err)), err)
        self._n_hist = lib.mhrfit_fit_options_iter_cap(ctypes.byref(o))
        init = None
        if init_pose is not None:
            init = (ctypes.c_double * L.N_MODEL_PARAMS)(*_init_pose(init_pose))
        # the frames fitted in order with the library's temporal prior rule
        self._seq = L.check(lib.mhrfit_fit_sequence_new(self._ptr, self.max_stale_frames, init, ctypes.byref(err)), err)

    def __del__(self):
        if getattr(self, "_seq", None):
            L.lib().mhrfit_fit_sequence_free(self._seq)
            self._seq = None
        if getattr(self, "_ptr", None):
            L.lib().mhrfit_fitter_free(self._ptr)
            self._ptr = None

    def reset(self) -> None:
        """Forgets the temporal prior (the next frame is fitted as the first of a sequence)."""
        L.lib().mhrfit_fit_sequence_reset(self._seq)

    @property
    def prior(self) -> Optional[np.ndarray]:
        """The 204 model parameters used as the next frame's temporal prior, or None."""
        p = L.lib().mhrfit_fit_sequence_prior(self._seq).contents
        return np.array(p.model_params) if p.have_params else None

    def fit(self, points3d: Any, views: Any, *, cams: Optional[Sequence[str]] = None, inlier_mask: Any = None,
            keypoint_indices: Any = None, mean_reproj_err_px: Any = None) -> FitResult:
        """Fits one frame; see mhrfit.fit() for the arguments (here ``points3d`` is (K, 3) and ``views``
        one frame's views). Returns a FitResult without a frame axis."""
        explicit = list(cams) if cams is not None else None
        if explicit is None and isinstance(points3d, TriangulationResult) and not isinstance(views, Mapping):
            explicit = list(points3d.cams)
        names, outs = _views_of_frame(views, explicit, "views")
        tgt = _Targets(points3d, names, inlier_mask, keypoint_indices, mean_reproj_err_px, None)
        if not tgt.single:
            raise ValueError("Fitter.fit() fits one frame: points3d must be (K, 3); use mhrfit.fit() for (F, K, 3)")
        return self._run(tgt, names, [outs])

    def _run(self, tgt: _Targets, names: List[str], frames: List[List[Any]]) -> FitResult:
        lib = L.lib()
        err = L.mhrfit_error()
        F, K, V = tgt.n_frames, tgt.n_kp, len(names)
        c_names = (ctypes.c_char_p * V)(*[n.encode() for n in names])
        n_vert = 0 if self.no_mesh else self.rig.n_vertices
        ar = L.check(lib.mhrfit_fit_archive_new(F, K, V, self.rig.n_joints, n_vert, self._n_hist, c_names,
                                                ctypes.byref(err)), err)
        try:
            ar.contents.frame_axis = not tgt.single
            lib.mhrfit_fit_archive_set_options(ar, ctypes.byref(self._opts))
            for f in range(F):
                self._fit_frame(ar, tgt, f, c_names, frames[f])
            # self-describing as `mhrfit fit`'s archives: joint names, faces with the mesh, world up
            L.check(lib.mhrfit_fit_archive_describe(ar, None, float("nan"), self.rig._ptr, ctypes.byref(err)), err)
            lib.mhrfit_fit_archive_update_world_up(ar)
            value = Owned(L.check(lib.mhrfit_fit_archive_to_value(ar, ctypes.byref(err)), err))
        finally:
            lib.mhrfit_fit_archive_free(ar)
        return FitResult(to_python(value.ptr))

    def _fit_frame(self, ar, tgt: _Targets, f: int, c_names, outs: List[Any]) -> None:
        lib = L.lib()
        err = L.mhrfit_error()
        V = len(outs)
        docs = [None if o is None else _document(o, f"views[{f}][{c_names[v].decode()!r}]")
                for v, o in enumerate(outs)]
        ptrs = (ctypes.POINTER(L.mhrfit_value) * V)(*[d.ptr if d is not None else None for d in docs])
        vs = L.check(lib.mhrfit_fit_viewset_from_values(ptrs, c_names, V, self.person_index, ctypes.byref(err)), err)
        try:
            # a frame that cannot be fitted is a row marked optimization_failed, not an error
            step = L.mhrfit_fit_step()
            L.check(lib.mhrfit_fit_sequence_process(self._seq, tgt.ptr, f, vs, ar, f, ctypes.byref(step),
                                                    ctypes.byref(err)), err)
        finally:
            lib.mhrfit_fit_viewset_free(vs)


def fit(rig: Rig, points3d: Any, views: Any, *, cams: Optional[Sequence[str]] = None, inlier_mask: Any = None,
        keypoint_indices: Any = None, mean_reproj_err_px: Any = None, init_pose: Any = None,
        **options: Any) -> FitResult:
    """Fits MHR's pose and a similarity (scale, rotation, translation) to triangulated MHR70 keypoints,
    as ``mhrfit fit`` does: the best camera's SAM 3D Body estimate starts a Levenberg–Marquardt fit
    with Huber residuals and pose / temporal / hand regularisers.

    ``points3d``: (K, 3) for one frame or (F, K, 3) for F frames, world metres, NaN = missing (any
    real dtype and order; converted once to float64), or a TriangulationResult (its points, inlier
    mask and per-camera errors). ``views``: one frame's per-camera SAM 3D Body outputs — a mapping
    camera name -> output, or a sequence of outputs named by ``cams`` — or, for F frames, a sequence of
    F such. An output is a dict as from mhrfit.load() (keys ``mhr_model_params``,
    ``pred_keypoints_3d``, ``shape_params``, …), a list of per-person dicts (``person_index``
    selects), a file path, or None for a camera without output (an unusable view).
    ``inlier_mask``: (K, V) or (F, K, V) views that saw each point (weights = its mean over the
    views; default all). ``keypoint_indices``: the MHR70 index of each of the K points (default
    0..69). ``mean_reproj_err_px``: (V,) the cameras' triangulation errors (tie-break of the initial
    view). ``init_pose``: temporal prior of the first frame ((204,) or (133,)).

    ``options``: the command line's names (``mhrfit fit --help``): ``solver`` ("lm" | "adam"),
    ``iters``, ``freeze_lower_body``, ``optimize_hand_pose``, ``with_scale``, ``anchor_similarity``,
    ``joint_limits``, ``huber_m``, ``w_pose_reg``, ``w_temporal``, ``w_hand_reg``,
    ``temporal_init_blend``, ``min_valid_points``, ``zero_weight_strategy``, ``rel_tol``, ``grad_tol``,
    ``lr``, ``min_iters``, ``early_stop_patience``, ``loss_divergence_ratio``, ``bad_loss_threshold``,
    ``bad_data_loss_threshold``, ``bad_loss_growth_ratio``, ``sim_reuse_tol_m``, ``person_index``,
    ``max_stale_frames``, ``no_mesh``. An unknown name or a wrong type raises TypeError naming it.

    Returns a FitResult (the members of ``fit.npz``; a leading frame axis for (F, K, 3) input). A
    frame that cannot be fitted does not raise: its ``opt_status`` is "optimization_failed" and
    ``opt_message`` says why. Malformed inputs raise TypeError / ValueError / mhrfit.Error.
    """
    fitter = Fitter.__new__(Fitter)
    fitter._setup(rig, init_pose, options, "fit")  # errors name fit(), the call the user made
    pts = points3d.points3d if isinstance(points3d, TriangulationResult) else points3d
    single = np.ndim(pts) == 2
    explicit = list(cams) if cams is not None else None
    seq_names = explicit or (list(points3d.cams) if isinstance(points3d, TriangulationResult) else None)
    if single:
        frame_views = [views]
    elif isinstance(views, Sequence) and not isinstance(views, (str, bytes)):
        frame_views = list(views)
    else:
        raise TypeError("views must be a sequence of the F frames' views for (F, K, 3) points")
    frames: List[List[Any]] = []
    names: Optional[List[str]] = None
    for f, fv in enumerate(frame_views):
        where = "views" if single else f"views[{f}]"
        n, outs = _views_of_frame(fv, explicit if isinstance(fv, Mapping) else seq_names, where)
        if names is not None and n != names:
            raise ValueError(f"{where} has cameras {n}, the first frame {names}")
        names = n
        frames.append(outs)
    if names is None:
        raise ValueError("views: no frame")
    tgt = _Targets(points3d, names, inlier_mask, keypoint_indices, mean_reproj_err_px, None if single else len(frames))
    return fitter._run(tgt, names, frames)
