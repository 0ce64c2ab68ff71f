"""The whole pipeline over a sequence, as ``mhrfit run`` runs it (``include/mhrfit/pipeline.h``)."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Union

from . import _lib as L
from . import _options
from .fitting import OPTIONS as _FIT_OPTIONS
from .triangulation import OPTIONS as _TRI_OPTIONS

__all__ = ["run", "RunResult", "FrameInfo", "Progress", "OPTIONS"]

#: Stages reported to the progress callback (mhrfit_pipeline_stage), by value.
STAGES = ("ingest", "frames")
#: Levels of the log callback's messages (mhrfit_pipeline_log_level), by value.
LEVELS = ("info", "warning", "error")

_PERSON = ("largest_bbox", "first", "person_index")
_METHODS = ("default", "pose2sim")
_UNITS = ("m", "cm", "mm")
_FREEZE = ("first_fit", "view")
_SMOOTH = ("original", "butterworth")
_FORMATS = ("openpose", "arrays", "caliscope_csv")
_MESH = ("silhouette", "wireframe")


def _text(field: str):
    """A setter of a string field (bytes kept alive by the structure)."""
    def set_(o, v):
        setattr(o, field, os.fsencode(v))
    return set_


def _texts(field: str, count: str):
    """A setter of a string list and its count (the array kept alive by the structure)."""
    def set_(o, v):
        setattr(o, field, (ctypes.c_char_p * max(len(v), 1))(*[os.fsencode(s) for s in v]))
        setattr(o, count, len(v))
    return set_


def _count(name: str, field: str):
    """A setter of a count that cannot be negative (size_t)."""
    def set_(o, v):
        if v < 0:
            raise ValueError(f"run(): option '{name}' must be >= 0, got {v}")
        setattr(o, field, v)
    return set_


def _layers(o, v):
    """Overlay layers by name ("mesh,points", "all", "none"), parsed by the library."""
    flags, err = ctypes.c_uint(0), L.mhrfit_error()
    if not L.lib().mhrfit_overlay_layers_parse(os.fsencode(v), ctypes.byref(flags), ctypes.byref(err)):
        raise ValueError(f"run(): option 'overlay_layers': {err.message.decode('utf-8', 'replace')}")
    o.overlay_layers = flags.value


def _mib(o, v):
    if v < 1 or v > (1 << 40):
        raise ValueError(f"run(): --max_inflated_mib must be at least 1, got {v}")
    o.max_inflated_bytes = v << 20


def _index(field: str, names: Sequence[str]):
    return _options.field(field, list(names).index)


def _in(member: str, spec):
    """An option of a nested structure (``tri``, ``fit``, ``smooth``, ``calib``)."""
    kind, setter = spec
    return kind, lambda o, v: setter(getattr(o, member), v)


#: The command line's options of ``mhrfit run`` (``mhrfit run --help``) and what each one sets.
OPTIONS: Dict[str, Any] = {
    # input and output
    "sam_dir": ("str", _text("sam_dir")),
    "cam_map": ("strs", _texts("cam_map", "n_cam_map")),
    "frames": ("strs", _texts("frames", "n_frames")),
    "frame_rel": ("strs", _texts("frames", "n_frames")),
    "lod": ("int", _options.field("lod")),
    "overwrite": ("bool", _options.field("overwrite")),
    "force": ("bool", _options.field("overwrite")),
    "report": ("bool", _options.field("report")),
    "overlay": ("bool", _options.field("overlay")),
    "overlay_capture": ("str", _text("overlay_capture")),
    "overlay_layers": ("str", _layers),
    "overlay_mesh": (_MESH, _index("overlay_mesh", _MESH)),
    "overlay_format": (("jpg", "png"), lambda o, v: setattr(o, "overlay_format", 2 if v == "png" else 0)),
    "overlay_video": ("bool", _options.field("overlay_video")),
    "overlay_grid": ("bool", _options.field("overlay_grid")),
    "overlay_rescale": ("bool", _options.field("overlay_rescale")),
    "jobs": ("int", _options.field("jobs")),
    # a detector's keypoints
    "input_format": (_FORMATS, _text("input_format")),
    "layout": ("str", _text("layout")),
    "keypoint_names": ("str", _text("keypoint_names")),
    "keypoint_map": ("str", _text("keypoint_map")),
    "cam_dirs": ("strs", _texts("cam_dirs", "n_cam_dirs")),
    "calib_frames": ("int", _options.field("calib_frames")),
    # stage 1
    "estimator": ("str", _text("estimator")),
    "estimator_worker": ("str", _text("estimator_worker")),
    "workers": ("int", _count("workers", "workers")),
    "estimator_timeout": ("float", _options.field("estimator_timeout")),
    "worker_start_timeout": ("float", _options.field("worker_start_timeout")),
    "worker_restarts": ("int", _count("worker_restarts", "worker_max_restarts")),
    "model_id": ("strs", _texts("model_ids", "n_model_ids")),
    "person_select_strategy": (_PERSON, _index("person_strategy", _PERSON)),
    "person_index": ("int", _options.field("person_index")),
    "max_inflated_mib": ("int", _mib),
    # stage 2
    "method": (_METHODS, lambda o, v: setattr(o.tri, "method", _METHODS.index(v))),
    "invert_extrinsics": ("bool", lambda o, v: setattr(o.calib, "invert_extrinsics", v)),
    "translation_unit": (_UNITS, lambda o, v: setattr(o.calib, "translation_unit", v.encode())),
    **{name: _in("tri", spec) for name, spec in _TRI_OPTIONS.items()},
    # stage 3
    **{name: _in("fit", spec) for name, spec in _FIT_OPTIONS.items()},
    "freeze_lower_body_from": (_FREEZE, _index("freeze_from", _FREEZE)),
    "min_views": ("int", _options.field("min_views")),
    "max_stale_frames": ("int", _options.field("max_stale_frames")),
    "bad_frame_retries": ("int", _options.field("bad_frame_retries")),
    "per_frame_scales": ("bool", _options.field("per_frame_scales")),
    # the sequence
    "max_edge_copy_span": ("int", _options.field("max_edge_copy_span")),
    "no_smoothing": ("bool", lambda o, v: setattr(o, "smoothing", not v)),
    "smooth_method": (_SMOOTH, lambda o, v: setattr(o.smooth, "method", _SMOOTH.index(v))),
    "smoothing_alpha": ("float", lambda o, v: setattr(o.smooth, "alpha", v)),
    "smoothing_median_window": ("int", lambda o, v: setattr(o.smooth, "median_window", v)),
    "smoothing_outlier_sigma": ("float", lambda o, v: setattr(o.smooth, "outlier_sigma", v)),
    "butter_order": ("int", lambda o, v: setattr(o.smooth, "butter_order", v)),
    "cutoff_hz": ("float", lambda o, v: setattr(o.smooth, "cutoff_hz", v)),
    "fps": ("float", lambda o, v: setattr(o.smooth, "fps", v)),
}
#: Options handled here rather than copied into the options structure.
_OWN = {"assets": "str", "rig": "str", "mesh": "bool", "no_mesh": "bool", "quiet": "bool"}


class Progress(NamedTuple):
    """One progress report: after each frame of stage 1 (``stage`` "ingest") and of the per-frame
    stage (``stage`` "frames"): frames ``done`` of ``total``, ``reused`` from an earlier run and
    ``not_ok`` so far (frames stage), seconds since the stage started, the frame just finished
    (frames stage; None otherwise)."""
    stage: str
    done: int
    total: int
    reused: int
    not_ok: int
    elapsed_s: float
    frame: Optional[str]


class FrameInfo(NamedTuple):
    """One frame of a finished run (``sequence_summary.json`` has more)."""
    name: str
    status: str          # final status: "ok", "recovered_interp", "missing_views", ...
    fit_status: str      # status before recovery
    message: str         # why it is not ok ("" when ok)
    n_available: int     # cameras with a file (or, for a detector's keypoints, with a keypoint)
    n_triangulated: int  # triangulated points
    reused: bool         # reused from an earlier run
    retried: bool        # refitted with a stronger prior


class RunResult:
    """What a finished run did (``mhrfit_pipeline_result``); its files are in ``out``.

    ``n_frames``, ``frames_reused`` (fits reused from an earlier run), ``n_fitted`` (frames whose fit
    is "ok"), ``status_counts`` (final status -> frames), ``ingest`` (stage 1's counts: frames and
    views ingested, reused, failed, estimator runs, worker starts, ...), ``recovered``
    (``interpolated``, ``copied``, ``unrecovered``), ``smoothed``, ``times`` (seconds: ``ingest``,
    ``setup``, ``triangulate``, ``fit``, ``frame_other``, ``frames``, ``sequence``, ``total``), ``threads``,
    ``cameras``,
    ``frames`` (a FrameInfo per frame); the paths ``sequence_fit``, ``sequence_smoothed`` (None
    with ``no_smoothing``), ``summary``, ``config``, ``report`` (None without ``report``) and
    ``overlay`` (the overlays' folder; None without ``overlay`` or when no picture was found).
    """

    def __init__(self, ptr, res: L.mhrfit_pipeline_result, out: str, smoothing: bool, report: bool,
                 overlay: bool = False):
        lib = L.lib()
        self.out = out
        self.n_frames: int = res.n_frames
        self.frames_reused: int = res.frames_reused
        self.n_fitted: int = res.n_fitted
        self.status_counts: Dict[str, int] = {res.status_names[i].value.decode(): res.status_counts[i]
                                              for i in range(res.n_statuses)}
        self.ingest: Dict[str, Any] = {name: getattr(res.ingest, name) for name, _ in L.mhrfit_ingest_summary._fields_}
        self.recovered: Dict[str, int] = {name: getattr(res.recover, name) for name, _ in
                                          L.mhrfit_recover_report._fields_}
        self.smoothed: bool = bool(res.smoothed)
        self.times: Dict[str, float] = {key: getattr(res, f"time_{key}_s") for key in (
            "ingest", "setup", "triangulate", "fit", "frame_other", "frames", "sequence", "total")}
        self.threads: int = res.threads
        self.cameras: List[str] = [lib.mhrfit_pipeline_camera(ptr, v).decode()
                                   for v in range(lib.mhrfit_pipeline_n_cameras(ptr))]
        self.frames: List[FrameInfo] = []
        info = L.mhrfit_pipeline_frame_info()
        for i in range(lib.mhrfit_pipeline_n_frames(ptr)):
            if not lib.mhrfit_pipeline_frame(ptr, i, ctypes.byref(info)):
                break
            self.frames.append(FrameInfo(info.name.decode(), info.status.decode(), info.fit_status.decode(),
                                         info.message.decode("utf-8", "replace"), info.n_available,
                                         info.n_triangulated, bool(info.reused), bool(info.retried)))
        self.sequence_fit = os.path.join(out, "sequence_fit.npz")
        self.sequence_smoothed = os.path.join(out, "sequence_smoothed.npz") if smoothing else None
        self.summary = os.path.join(out, "sequence_summary.json")
        self.config = os.path.join(out, "pipeline_config.json")
        self.report = os.path.join(out, "report.html") if report else None
        ov = os.path.join(out, "overlay")
        self.overlay = ov if overlay and os.path.isfile(os.path.join(ov, "overlay_summary.json")) else None

    def __repr__(self) -> str:
        return f"RunResult({self.out!r}: {self.n_frames} frames, {self.status_counts})"


def _print_log(level: str, message: str) -> None:
    """The default log: warnings and errors on stderr, as the command line prints them."""
    if level != "info":
        print(f"mhrfit.run: {level}: {message}", file=sys.stderr, flush=True)


def run(input: Union[str, os.PathLike], calib: Union[str, os.PathLike], cams: Optional[Sequence[str]] = None,
        out: Optional[Union[str, os.PathLike]] = None, *, progress: Optional[Callable[[Progress], Any]] = None,
        log: Optional[Callable[[str, str], Any]] = None, **options: Any) -> RunResult:
    """Runs the pipeline over a sequence, as ``mhrfit run --input INPUT --calib CALIB --cams CAMS --out OUT``
    does, with the same files in ``out`` (byte for byte) and the same reuse of an earlier run's frames.

    ``input``: the capture (one folder per frame with SAM 3D Body outputs ``<cam>.npz|.npy`` and/or
    images), or a detector's keypoints with ``input_format``. ``calib``: the calibration file.
    ``cams``: the calibration names of the cameras (a list of str; None: every calibrated camera that
    has files). ``out``: the output folder (required).

    ``progress``: called with a Progress after each frame of stage 1 and of the per-frame stage.
    ``log``: called with (level, message), level "info", "warning" or "error", for every event
    (default: warnings and errors printed on stderr). An exception either raises stops the run at
    the next frame boundary and is raised here.

    ``options``: the command line's names (``mhrfit run --help``), e.g. ``assets`` / ``rig`` (the MHR
    rig; default ``$MHRFIT_ASSETS``), ``lod``, ``mesh``, ``frames`` (a list), ``cam_map`` (a list of
    "FILE=NAME"), ``estimator``, ``estimator_worker``, ``workers``, ``model_id`` (a list),
    ``person_select_strategy``, ``input_format``, ``layout``, ``keypoint_map``, ``cam_dirs`` (a list),
    every triangulation option of mhrfit.triangulate() and fit option of mhrfit.fit(),
    ``freeze_lower_body_from``, ``min_views``, ``max_stale_frames``, ``bad_frame_retries``,
    ``max_edge_copy_span``, ``no_smoothing``, ``smooth_method``, ``cutoff_hz``, ``fps``, ``report``,
    ``overlay`` with ``overlay_capture``, ``overlay_layers`` (e.g. "mesh,points"), ``overlay_mesh``,
    ``overlay_format``, ``overlay_video``, ``overlay_grid``, ``overlay_rescale``, ``max_inflated_mib``,
    ``overwrite``. Flags take bools, counts ints, thresholds numbers, lists lists of str. An unknown
    name or a wrong type raises TypeError naming it; a value out of range raises ValueError with the
    library's message, before anything is written.

    Ctrl-C (SIGINT, while run() is called from the main thread) stops the run at the next frame
    boundary: every finished frame is in place and journalled, the output folder's lock is let go,
    and KeyboardInterrupt is raised; a later run() (or ``mhrfit run``) with the same options
    resumes. SIGINT's handler is replaced during the run and restored after it. Other failures
    raise mhrfit.Error with the library's message (also when no frame could be fitted: it says why).
    """
    if out is None:
        raise TypeError("run() needs out, the output folder")
    if cams is not None and (isinstance(cams, (str, bytes)) or not all(isinstance(c, str) for c in cams)):
        raise TypeError("run(): cams must be a list of camera names (str) or None")
    for name, value in (("input", input), ("calib", calib), ("out", out)):
        if not isinstance(value, (str, os.PathLike)):
            raise TypeError(f"run(): {name} must be a str or path, not {type(value).__name__}")
    if progress is not None and not callable(progress):
        raise TypeError("run(): progress must be callable")
    if log is not None and not callable(log):
        raise TypeError("run(): log must be callable")
    options = dict(options)
    own = _options.split("run", options, _OWN)
    if "assets" in own and "rig" in own:
        raise TypeError("run(): give assets or rig, not both")
    rig_path = own.get("assets", own.get("rig", os.environ.get("MHRFIT_ASSETS")))
    if not rig_path:
        raise TypeError("run(): no MHR rig: pass assets=DIR (the MHR release assets), rig=RIG.npz (a rig file of "
                        "'mhrfit rig import') or set MHRFIT_ASSETS")
    lib = L.lib()
    o = L.mhrfit_pipeline_options()
    lib.mhrfit_pipeline_options_init(ctypes.byref(o))
    _options.apply("run", o, OPTIONS, options)
    o.input_dir, o.calib_path, o.out_dir = os.fsencode(input), os.fsencode(calib), os.fsencode(out)
    o.rig_path = os.fsencode(rig_path)
    o.write_mesh = own.get("mesh", False) and not own.get("no_mesh", False)
    if cams is not None:
        _texts("cams", "n_cams")(o, list(cams))
    log = log or _print_log
    cancel = ctypes.c_int(0)
    raised: List[BaseException] = []

    def stop(e: BaseException) -> None:
        if not raised:
            raised.append(e)
        cancel.value = 1

    def on_log(_user, level, message):
        try:
            log(LEVELS[level] if 0 <= level < len(LEVELS) else "info", message.decode("utf-8", "replace"))
        except BaseException as e:  # noqa: B036 (raised again by run())
            stop(e)

    def on_progress(_user, p):
        if progress is None:
            return
        try:
            q = p.contents
            progress(Progress(STAGES[q.stage], q.done, q.total, q.reused, q.not_ok, q.elapsed_s,
                              q.frame.decode() if q.frame else None))
        except BaseException as e:  # noqa: B036
            stop(e)

    def on_calib_warning(_user, message):
        on_log(None, 1, message)

    c_log, c_progress = L.PIPELINE_LOG(on_log), L.PIPELINE_PROGRESS(on_progress)
    c_warn = L.CALIB_WARN(on_calib_warning)
    o.log, o.progress, o.calib.warn = c_log, c_progress, c_warn
    o.cancel = ctypes.pointer(cancel)
    err = L.mhrfit_error()
    ptr = lib.mhrfit_pipeline_new(ctypes.byref(o), ctypes.byref(err))
    if raised:
        lib.mhrfit_pipeline_free(ptr)
        raise raised[0]
    if not ptr:
        if lib.mhrfit_error_type_name(err.type).decode() == "argument":
            raise ValueError(f"run(): {err.message.decode('utf-8', 'replace')}")
        L.raise_error(err)
    res = L.mhrfit_pipeline_result()
    rerr = L.mhrfit_error()
    installed, previous = False, None
    try:
        try:  # Ctrl-C asks the run to stop (its handler runs in the next callback, at a frame boundary)
            previous = signal.signal(signal.SIGINT, lambda _sig, _frame: stop(KeyboardInterrupt()))
            installed = True
        except ValueError:  # not the main thread: SIGINT never reaches this one
            pass
        ok = lib.mhrfit_pipeline_run(ptr, ctypes.byref(res), ctypes.byref(rerr))
        result = RunResult(ptr, res, os.fspath(out), bool(o.smoothing), bool(o.report),
                                                bool(o.overlay)) if ok else None
        if raised:
            raise raised[0]
        if not ok:
            L.raise_error(rerr)
        return result
    finally:
        if installed:
            signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)
        lib.mhrfit_pipeline_free(ptr)
