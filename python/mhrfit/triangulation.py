"""Robust multi-view triangulation (``include/mhrfit/triangulate.h``)."""

from __future__ import annotations

import ctypes
from typing import Any, List, Optional, Sequence

import numpy as np

from . import _lib as L
from . import _options
from .calibration import Calibration

__all__ = ["triangulate", "TriangulationResult", "REASONS"]

#: Reason codes of points that stay NaN (``TriangulationResult.reason``), by value.
REASONS = ("ok", "no_views", "one_view", "degenerate", "all_outliers")

_SCORES = ("median", "trimmed", "huber")
_METHODS = ("default", "pose2sim")


def _not(name):
    return _options.field(name, lambda v: not v)


#: The command line's stage-2 options (``mhrfit triangulate --help``) and the field each one sets.
OPTIONS = {
    "min_conf": ("float", _options.field("min_conf")),
    "score_type": (_SCORES, _options.field("score_type", _SCORES.index)),
    "huber_delta": ("float", _options.field("huber_delta")),
    "inlier_thresh": ("float", _options.field("inlier_thresh")),
    "min_angle": ("float", _options.field("min_angle_deg")),
    "original_ranking": ("bool", _not("rank_by_consensus")),
    "no_loo_check": ("bool", _not("loo_check")),
    "lm_iters": ("int", _options.field("lm_iters")),
    "robust_lm": ("bool", _options.field("robust_lm")),
    "robust_lm_delta": ("float", _options.field("robust_lm_delta")),
    "likelihood_threshold": ("float", _options.field("likelihood_threshold")),
    "reproj_thresh": ("float", _options.field("reproj_thresh")),
    "min_cameras": ("int", _options.field("min_cameras")),
}


class TriangulationResult:
    """Triangulated points of F frames × K keypoints seen by V cameras (new arrays owned by Python).

    The leading F axis is present when the keypoints had one. ``points3d`` is what the command line
    writes as ``points3d_refined`` (there in float32; here in the float64 the library computes).

    * ``points3d``: (F, K, 3) float64 world points, metres (the calibration's frame); NaN when the
      point could not be triangulated (then ``reason`` > 0);
    * ``points3d_init``: (F, K, 3) float64 points before the Levenberg–Marquardt refinement;
    * ``inlier_mask``: (F, K, V) bool, the views used for each point;
    * ``reproj_err_px``: (F, K, V) float64 pixel error of the final point in each valid view (NaN elsewhere);
    * ``n_views_used``: (F, K) int32;
    * ``reason``: (F, K) int32: 0 ok, 1 no_views, 2 one_view, 3 degenerate, 4 all_outliers (``REASONS``);
    * ``mean_reproj_err_px``: (V,) float64 mean error of each camera's inlier views over all frames;
    * ``cams``: the V camera names; ``method``; ``threshold_px``: the inlier gate (default method) or
      the reprojection target (pose2sim).
    """

    __slots__ = ("points3d", "points3d_init", "inlier_mask", "reproj_err_px", "n_views_used", "reason", "cams",
                 "method", "threshold_px", "_mean")

    def __init__(self, points3d, points3d_init, inlier_mask, reproj_err_px, n_views_used, reason, cams, method,
                 threshold_px):
        self.points3d, self.points3d_init, self.inlier_mask = points3d, points3d_init, inlier_mask
        self.reproj_err_px, self.n_views_used, self.reason = reproj_err_px, n_views_used, reason
        self.cams: List[str] = cams
        self.method: str = method
        self.threshold_px: float = threshold_px
        self._mean = None

    @property
    def mean_reproj_err_px(self) -> np.ndarray:
        """(V,) float64 mean pixel error of each camera's inlier views over all frames (NaN: none), summed
        over frames and keypoints in order (an axis-0 reduction adds row after row) as the library
        does, so that it is the command line's ``mean_reproj_err_px`` bit for bit. Computed on first use."""
        if self._mean is None:
            V = len(self.cams)
            inl, err = self.inlier_mask.reshape(-1, V), self.reproj_err_px.reshape(-1, V)
            used = inl & np.isfinite(err)
            total = np.add.reduce(np.where(used, err, 0.0), axis=0)
            n = np.add.reduce(used, axis=0)
            self._mean = np.full(V, np.nan)
            np.divide(total, n, out=self._mean, where=n > 0)
        return self._mean.copy()

    def __repr__(self) -> str:
        ok = int(np.sum(self.reason == 0))
        return (f"TriangulationResult({self.points3d.shape[:-1]} points, {ok} triangulated, cams={self.cams}, "
                f"method={self.method!r})")


_opts_cache: dict = {}


def _options_struct(method: str, options: dict) -> L.mhrfit_tri_options:
    """The option struct of ``method`` and ``options`` (checked; the last few are kept, read-only)."""
    try:
        key = (method, tuple(sorted(options.items())))
        hash(key)
    except TypeError:  # an unhashable value: checked (and rejected) below
        key = None
    o = _opts_cache.get(key) if key is not None else None
    if o is None:
        o = L.mhrfit_tri_options()
        L.lib().mhrfit_tri_options_default(ctypes.byref(o))
        o.method = _METHODS.index(method)
        _options.apply("triangulate", o, OPTIONS, options)
        if key is not None:
            if len(_opts_cache) >= 32:
                _opts_cache.clear()
            _opts_cache[key] = o
    return o


def _triangulator(calib: Calibration, idx: Sequence[int], opts: L.mhrfit_tri_options, n_kp: int):
    """The calibration's cached triangulator for these cameras, options and keypoint count (made anew
    when any of them changes)."""
    key = (tuple(idx), bytes(opts), n_kp)
    cache = calib._tri_cache
    if cache is not None and cache[0] == key:
        return cache[1]
    lib = L.lib()
    cams = (L.mhrfit_camera * len(idx))(*[calib._ptr.contents.cams[i] for i in idx])
    err = L.mhrfit_error()
    handle = L.check(lib.mhrfit_triangulator_new(cams, len(idx), n_kp, ctypes.byref(opts), ctypes.byref(err)), err)
    if cache is not None:
        lib.mhrfit_triangulator_free(cache[1])
    calib._tri_cache = (key, handle)
    return handle


def triangulate(calib: Calibration, keypoints: Any, cams: Optional[Sequence[str]] = None, method: str = "default",
                **options: Any) -> TriangulationResult:
    """Triangulates 2-D keypoints of V calibrated cameras into 3-D points.

    ``keypoints``: (V, K, 2|3) for one frame or (V, F, K, 2|3) for F frames; any K. The last axis is
    (u, v) in pixels (u right, v down, origin at the image's top-left corner) and optionally a
    confidence; a NaN (or an observation outside the image, or a confidence below the threshold)
    marks the observation missing. Any real dtype and memory order is accepted; it is converted once
    to C-ordered float64 in the library's layout.

    ``cams``: the names of the V cameras of the first axis, matched exactly in ``calib`` (default:
    every camera of ``calib``, in order). ``method``: "default" (consensus pair selection, weighted DLT,
    Levenberg–Marquardt refinement, leave-one-out check) or "pose2sim" (Pose2Sim's rule).

    ``options``: the command line's names (``mhrfit triangulate --help``): ``min_conf``,
    ``score_type`` ("median" | "trimmed" | "huber"), ``huber_delta``, ``inlier_thresh`` (px, 30),
    ``min_angle`` (degrees), ``original_ranking``, ``no_loo_check``, ``lm_iters``, ``robust_lm``,
    ``robust_lm_delta``, ``likelihood_threshold``, ``reproj_thresh``, ``min_cameras``. An unknown name
    or a wrong type raises TypeError naming it.
    """
    if not isinstance(calib, Calibration):
        raise TypeError(f"calib must be a Calibration (mhrfit.load_calibration), not {type(calib).__name__}")
    _options.check_value("triangulate", "method", _METHODS, method)
    opts = _options_struct(method, options)
    idx = list(range(len(calib))) if cams is None else [calib.index(_cam_name(c)) for c in cams]
    V = len(idx)
    if V < 2:
        raise ValueError(f"triangulate needs at least 2 cameras, got {V}")
    kp = np.asarray(keypoints)
    if kp.dtype.kind not in "fiu":
        raise TypeError(f"keypoints must hold real numbers (any float or integer dtype), not {kp.dtype}")
    if kp.ndim not in (3, 4) or kp.shape[-1] not in (2, 3):
        raise ValueError(f"keypoints has shape {kp.shape}; expected (V, K, 2|3) or (V, F, K, 2|3)")
    if kp.shape[0] != V:
        raise ValueError(f"keypoints has shape {kp.shape}: its first axis must be the {V} cameras "
                         f"({', '.join(calib.names[i] for i in idx)})")
    single = kp.ndim == 3
    if single:
        kp = kp[:, None]
    F, K = kp.shape[1], kp.shape[2]
    if K == 0 or F == 0:
        raise ValueError(f"keypoints has shape {np.shape(keypoints)}: no keypoint or no frame")
    # one conversion into the library's layout (frame, keypoint, view): float64, C order
    uv = np.empty((F, K, V, 2))
    uv[...] = kp[..., :2].transpose(1, 2, 0, 3)
    conf = None
    if kp.shape[-1] == 3:
        conf = np.empty((F, K, V))
        conf[...] = kp[..., 2].transpose(1, 2, 0)
    lead = () if single else (F,)
    pts = np.empty(lead + (K, 3))
    init = np.empty(lead + (K, 3))
    inl = np.empty(lead + (K, V), dtype=np.bool_)
    rerr = np.empty(lead + (K, V))
    nused = np.empty(lead + (K,), dtype=np.int32)
    reason = np.empty(lead + (K,), dtype=np.int32)
    handle = _triangulator(calib, idx, opts, K)
    err = L.mhrfit_error()
    res = L.mhrfit_tri_result()
    addr = [_address(a) for a in (pts, init, inl, rerr, nused, reason, uv)]
    c_addr = _address(conf) if conf is not None else None
    step = (K * 3 * 8, K * 3 * 8, K * V, K * V * 8, K * 4, K * 4, K * V * 2 * 8)
    process, res_p, err_p = L.lib().mhrfit_triangulator_process, ctypes.byref(res), ctypes.byref(err)
    for f in range(F):
        res.points, res.points_init, res.inliers, res.reproj_err, res.n_views_used, res.reason = (
            [a + f * d for a, d in zip(addr[:6], step)] if f else addr[:6])
        c = c_addr + f * K * V * 8 if c_addr is not None else None
        if not process(handle, K, addr[6] + f * step[6], c, res_p, err_p):
            L.raise_error(err)
    threshold = opts.reproj_thresh if method == "pose2sim" else opts.inlier_thresh
    return TriangulationResult(pts, init, inl, rerr, nused, reason, [calib.names[i] for i in idx], method,
                               float(threshold))


def _address(a: np.ndarray) -> int:
    """Address of the data of a non-empty, writable, C-contiguous array (faster than a.ctypes.data)."""
    return ctypes.addressof(ctypes.c_char.from_buffer(a))


def _cam_name(c):
    if not isinstance(c, str):
        raise TypeError(f"cams must be camera names (str), not {type(c).__name__}")
    return c
