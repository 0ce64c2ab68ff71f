"""Exports of fitted bodies, as ``mhrfit export`` writes them (``include/mhrfit/export.h``)."""

from __future__ import annotations

import ctypes
import os
import re
from typing import Any, NamedTuple, Tuple, Union

from . import _lib as L
from . import _options

__all__ = ["export", "ExportReport", "OPTIONS"]

#: Output formats by the command line's names (mhrfit_export_format, by value).
FORMATS = ("auto", "glb", "gltf", "bvh", "trc", "ply", "obj", "npz")

#: The options of ``mhrfit export`` (``mhrfit export --help``) and their kinds.
OPTIONS = {
    "format": FORMATS[1:], "source": ("smoothed", "fitted"), "frames": "str", "skip_bad": "bool",
    "keep_bad": "bool", "assets": "str", "rig": "str", "lod": "int", "fps": "float", "up": "str",
    "keypoints": "bool", "cameras": "bool", "calib": "str", "expressions": "bool", "max_influences": "int",
    "units": ("m", "cm"), "ascii": "bool", "person_index": "int",
}


class ExportReport(NamedTuple):
    """What an export wrote (mhrfit_export_report): ``format`` ("glb", "ply", …), frames in the range
    (``n_total``), ``n_exported``, ``n_skipped_bad`` (bad_loss frames left out), ``n_failed`` (failed
    frames left out), ``up`` ("+y", …) and whether it was ``up_detected``, ``fps`` and its
    ``fps_origin``, glTF ``n_cameras`` and ``n_keypoints``, the mesh's ``n_vertices``, ``n_faces`` and
    ``lod``, ``n_files`` and ``bytes`` written, and the source's ``note`` ("" when none)."""
    format: str
    n_total: int
    n_exported: int
    n_skipped_bad: int
    n_failed: int
    up: str
    up_detected: bool
    fps: float
    fps_origin: str
    n_cameras: int
    n_keypoints: int
    n_vertices: int
    n_faces: int
    lod: int
    n_files: int
    bytes: int
    note: str


def _frames(value: str) -> Tuple[int, int]:
    """``"A:B"`` (B excluded), ``"A:"``, ``":B"`` or ``"N"`` into (begin, end), end 0 = to the last."""
    m = re.fullmatch(r"(\d*):(\d*)|(\d+)", value.strip())
    if not m or (m.group(3) is None and m.group(2) == "0"):
        raise ValueError(f"export(): option 'frames' = {value!r}: expected 'A:B' (B excluded), 'A:', ':B' or one "
                         "index 'N'")
    if m.group(3) is not None:
        return int(m.group(3)), int(m.group(3)) + 1
    begin, end = int(m.group(1) or 0), int(m.group(2) or 0)
    if end and end <= begin:
        raise ValueError(f"export(): option 'frames' = {value!r} is empty")
    return begin, end


def _parse_enum(fn: str, text: str, what: str) -> int:
    """An enum of the library parsed from its name (mhrfit_up_parse, mhrfit_export_format_parse)."""
    out = ctypes.c_int()
    err = L.mhrfit_error()
    if not getattr(L.lib(), fn)(text.encode(), ctypes.byref(out), ctypes.byref(err)):
        raise ValueError(f"export(): {what}: {err.message.decode('utf-8', 'replace')}")
    return out.value


def _recorded_rig(lib: Any, source: int, src: Union[str, os.PathLike]) -> bytes:
    """The MHR rig a run folder recorded (mhrfit_export_source_rig), or TypeError naming the
    ``assets`` argument when there is none."""
    recorded = ctypes.c_char_p()
    found = lib.mhrfit_export_source_rig(source, ctypes.byref(recorded))
    if found:
        return found
    if recorded.value:
        why = f"the run {os.fspath(src)!r} recorded {recorded.value.decode('utf-8', 'replace')!r}, which is not found"
    else:
        why = f"{os.fspath(src)!r} is no run folder that records them"
    raise TypeError(f"export() needs the MHR assets ({why}): pass assets='DIR' (the folder of the MHR release "
                    "assets.zip) or rig='RIG.npz', or set MHRFIT_ASSETS")


def export(src: Union[str, os.PathLike], out: Union[str, os.PathLike], **options: Any) -> ExportReport:
    """Writes fitted MHR bodies into files other tools open, with the library call of ``mhrfit
    export`` (the same bytes as the command line for the same source and options).

    ``src``: a run folder (``sequence_smoothed.npz``, or ``sequence_fit.npz`` with
    ``source="fitted"``), a ``fit.npz`` of one or more frames (a FitResult of mhrfit.fit() saved with
    ``numpy.savez(path, **result)`` is one), or a SAM 3D Body output file. ``out``: the file (``.glb``, ``.gltf`` + ``.bin``, ``.bvh``, ``.trc``, ``.ply`` / ``.obj`` for
    one frame) or, with ``format`` ply, obj or npz, the folder of per-frame files. Lengths are metres in the world frame (PLY, OBJ), or turned
    so that the world's up axis is +Y (glTF, BVH, TRC).

    ``options``, the command line's names: ``format`` ("glb", "gltf", "bvh", "trc", "ply", "obj",
    "npz"; default from ``out``'s extension), ``source`` ("smoothed" | "fitted"), ``frames`` ("A:B",
    "A:", ":B" or "N"), ``skip_bad`` / ``keep_bad`` (bad_loss frames; failed ones are never
    exported), ``assets`` / ``rig`` (the MHR rig; default ``$MHRFIT_ASSETS``, else the one a run
    folder recorded; without any, TypeError naming ``assets``), ``lod`` (int),
    ``fps`` (float > 0; default the source's rate, else 30), ``up`` (glTF, BVH, TRC: "auto", "x", "-z", …;
    ValueError with ply, obj, npz, which keep the world's axes; ExportReport.up is then "auto"),
    ``keypoints``, ``cameras`` (glTF; default when the calibration is known), ``calib`` (a
    calibration file), ``expressions``, ``max_influences`` (4 or 8), ``units`` ("m" | "cm"),
    ``ascii`` (PLY), ``person_index`` (int >= 0). An unknown name or a wrong type raises TypeError
    naming it, a bad value ValueError, a failure of the library (a missing file, a non-finite frame,
    nothing to export) mhrfit.Error with its message.

    Returns an ExportReport.
    """
    opts = dict(options)
    own = _options.split("export", opts, OPTIONS)
    if opts:
        name = next(iter(opts))
        raise TypeError(f"export() got an unexpected option '{name}' (options: {', '.join(sorted(OPTIONS))})")
    if not isinstance(out, (str, os.PathLike)):
        raise TypeError(f"export(): out must be a str or path, not {type(out).__name__}")
    out = os.fspath(out)
    if own.get("keep_bad") and own.get("skip_bad"):
        raise ValueError("export(): keep_bad and skip_bad are opposites: pass one")
    if "assets" in own and "rig" in own:
        raise TypeError("export(): give assets or rig, not both")
    rig_path = own.get("assets", own.get("rig", os.environ.get("MHRFIT_ASSETS") or None))
    lib = L.lib()
    eo = L.mhrfit_export_options()
    lib.mhrfit_export_options_init(ctypes.byref(eo))
    if "format" in own:
        eo.format = FORMATS.index(own["format"])
    else:
        eo.format = _parse_enum("mhrfit_export_format_from_path", out, "out")
    if "frames" in own:
        eo.frame_begin, eo.frame_end = _frames(own["frames"])
    if "up" in own:
        eo.up = _parse_enum("mhrfit_up_parse", own["up"], "option 'up'")
        if lib.mhrfit_export_format_per_frame(eo.format):
            raise ValueError(f"export(): option 'up' means nothing to {FORMATS[eo.format]}: PLY, OBJ and NPZ keep the "
                             "world's axes (glTF, BVH and TRC turn the world's up axis into their +Y); leave it out")
    if "fps" in own:
        if not 0 < own["fps"] <= 1e6:
            raise ValueError(f"export(): option 'fps' must be a rate > 0 Hz, got {own['fps']}")
        eo.fps = own["fps"]
    if own.get("max_influences", 8) not in (4, 8):
        raise ValueError(f"export(): option 'max_influences' must be 4 or 8, got {own['max_influences']}")
    if own.get("lod", 0) < 0:
        raise ValueError(f"export(): option 'lod' must be >= 0, got {own['lod']}")
    if own.get("person_index", 0) < 0:
        raise ValueError(f"export(): option 'person_index' must be >= 0, got {own['person_index']}")
    eo.max_influences = own.get("max_influences", 8)
    eo.units_scale = 0.01 if own.get("units") == "cm" else 1.0
    eo.keep_bad = own.get("keep_bad", False)
    eo.keypoints = own.get("keypoints", True)
    eo.cameras = -1 if "cameras" not in own else int(own["cameras"])
    eo.expressions = own.get("expressions", False)
    eo.ascii = own.get("ascii", False)
    calib = own["calib"].encode() if "calib" in own else None
    eo.calib = calib
    so = L.mhrfit_export_source_options(fitted=own.get("source") == "fitted", person_given="person_index" in own,
                                        person_index=own.get("person_index", 0))
    if not isinstance(src, (str, os.PathLike)):
        raise TypeError(f"export(): src must be a str or path, not {type(src).__name__}")
    source = rig = ex = None
    try:
        err = L.mhrfit_error()
        note = ctypes.create_string_buffer(512)
        source = L.check(lib.mhrfit_export_source_load(os.fsencode(src), ctypes.byref(so), note, len(note),
                                                       ctypes.byref(err)), err)
        if not rig_path:
            rig_path = _recorded_rig(lib, source, src)
        flags = lib.mhrfit_export_rig_flags(eo.format)
        rig = L.check(lib.mhrfit_rig_open(os.fsencode(rig_path), own.get("lod", -1), flags, ctypes.byref(err)), err)
        ex = L.check(lib.mhrfit_exporter_new(rig, source, ctypes.byref(eo), ctypes.byref(err)), err)
        L.check(lib.mhrfit_exporter_write(ex, out.encode(), ctypes.byref(err)), err)
        r = lib.mhrfit_exporter_report(ex).contents
        return ExportReport(
            format=lib.mhrfit_export_format_name(r.format).decode(), n_total=r.n_total, n_exported=r.n_exported,
            n_skipped_bad=r.n_skipped_bad, n_failed=r.n_failed, up=lib.mhrfit_up_name(r.up).decode(),
            up_detected=bool(r.up_detected), fps=r.fps, fps_origin=r.fps_origin.decode(), n_cameras=r.n_cameras,
            n_keypoints=r.n_keypoints, n_vertices=r.n_vertices, n_faces=r.n_faces, lod=r.lod, n_files=r.n_files,
            bytes=r.bytes, note=note.value.decode("utf-8", "replace"))
    finally:
        lib.mhrfit_exporter_free(ex)
        lib.mhrfit_rig_free(rig)
        lib.mhrfit_export_source_free(source)
