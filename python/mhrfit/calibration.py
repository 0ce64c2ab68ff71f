"""Multi-camera calibrations (``include/mhrfit/calib.h``, ``camera.h``)."""

from __future__ import annotations

import ctypes
import os
from typing import List, Optional, Sequence, Union

import numpy as np

from . import _lib as L
from ._arrays import as_float64

__all__ = ["Calibration", "load_calibration"]


class Calibration:
    """The cameras of a calibration file, in the order of the file or of ``cams``.

    Attributes (new NumPy arrays; V cameras):

    * ``names``: list of V camera names (a table's ``name`` field, else the table name);
    * ``K``: (V, 3, 3) float64 intrinsics in pixels (fx skew cx / 0 fy cy / 0 0 1);
    * ``dist``: (V, 8) float64 OpenCV distortion k1 k2 p1 p2 k3 k4 k5 k6 (absent terms 0);
    * ``R``: (V, 3, 3) float64 world→camera rotations, ``Xc = R X + t``;
    * ``t``: (V, 3) float64 world→camera translations in metres;
    * ``size``: (V, 2) int32 image sizes [width, height] in pixels (0 when the file has none);
    * ``path``: the file read.
    """

    def __init__(self, ptr, path: str):
        self._ptr = ptr  # mhrfit_calib *, owned
        self.path = path
        c = ptr.contents
        cams = [c.cams[i] for i in range(c.n_cams)]
        self.names: List[str] = [cam.name.decode("utf-8", "replace") for cam in cams]
        self.K = np.array([list(cam.K) for cam in cams], dtype=np.float64).reshape(-1, 3, 3)
        self.dist = np.array([list(cam.dist) for cam in cams], dtype=np.float64).reshape(-1, 8)
        self.R = np.array([list(cam.R) for cam in cams], dtype=np.float64).reshape(-1, 3, 3)
        self.t = np.array([list(cam.t) for cam in cams], dtype=np.float64).reshape(-1, 3)
        self.size = np.array([[cam.width, cam.height] for cam in cams], dtype=np.int32).reshape(-1, 2)
        self._tri_cache = None  # (key, triangulator handle) of the last triangulation

    def __del__(self):
        cache = getattr(self, "_tri_cache", None)
        if cache is not None:
            L.lib().mhrfit_triangulator_free(cache[1])
            self._tri_cache = None
        if getattr(self, "_ptr", None):
            L.lib().mhrfit_calib_free(self._ptr)
            self._ptr = None

    def __len__(self) -> int:
        return len(self.names)

    def __repr__(self) -> str:
        return f"Calibration({self.path!r}, cams={self.names})"

    def index(self, cam: Union[int, str]) -> int:
        """Index of camera ``cam`` (its name, matched exactly, or an index). KeyError / IndexError."""
        if isinstance(cam, str):
            try:
                return self.names.index(cam)
            except ValueError:
                raise KeyError(f"no camera '{cam}' in {self.path} (cameras: {', '.join(self.names)})") from None
        if isinstance(cam, (bool, np.bool_)) or not isinstance(cam, (int, np.integer)):
            raise TypeError(f"cam must be a camera name or index, not {type(cam).__name__}")
        if not -len(self.names) <= int(cam) < len(self.names):
            raise IndexError(f"camera index {cam} out of range for {len(self.names)} cameras")
        return int(cam) % len(self.names)

    def select(self, cams: Sequence[str]) -> "Calibration":
        """A new calibration holding exactly the cameras named ``cams``, in that order (exact names;
        mhrfit.Error naming a missing camera and listing the others)."""
        if isinstance(cams, str) or not all(isinstance(c, str) for c in cams):
            raise TypeError("cams must be a sequence of camera names (str)")
        names = (ctypes.c_char_p * max(len(cams), 1))(*[c.encode("utf-8") for c in cams])
        err = L.mhrfit_error()
        ptr = L.check(L.lib().mhrfit_calib_select(self._ptr, names, len(cams), ctypes.byref(err)), err)
        return Calibration(ptr, self.path)

    def project(self, points3d, cam: Union[int, str]) -> np.ndarray:
        """Projects world points through camera ``cam`` (name or index) with its full distortion model.

        ``points3d``: (..., 3) world coordinates in metres, any float dtype and memory order (converted
        once to C-ordered float64). Returns a new (..., 2) float64 array of pixels (u right, v down);
        points behind the camera or not finite give NaN.
        """
        i = self.index(cam)
        X = as_float64(points3d, "points3d", last=(3,))
        uv = np.empty(X.shape[:-1] + (2,), dtype=np.float64)
        n = X.size // 3
        if n:
            L.lib().mhrfit_camera_project_n(ctypes.byref(self._ptr.contents.cams[i]), X.ctypes.data, n,
                                            uv.ctypes.data)
        return uv


def load_calibration(path: Union[str, os.PathLike], cams: Optional[Sequence[str]] = None, *,
                     invert_extrinsics: bool = False, translation_unit: str = "m") -> Calibration:
    """Reads a calibration file: TOML as written by Caliscope, Anipose/aniposelib and Pose2Sim, or JSON
    with the same fields (``matrix``, ``distortions``, ``rotation``, ``translation``, ``size``).

    ``cams``: camera names to keep, in that order (exact matches; default: every camera in file order).
    ``invert_extrinsics``: the file stores camera→world poses. ``translation_unit``: the unit of the
    file's translations, "m", "cm" or "mm" (converted to metres). Errors: mhrfit.Error with the
    library's message (file, line, table, field).
    """
    from ._options import check_value
    inv = check_value("load_calibration", "invert_extrinsics", "bool", invert_extrinsics)
    unit = check_value("load_calibration", "translation_unit", ("m", "cm", "mm"), translation_unit)
    path = os.fspath(path)
    opts = L.mhrfit_calib_options(inv, unit.encode())
    err = L.mhrfit_error()
    ptr = L.check(L.lib().mhrfit_calib_load(path.encode(), ctypes.byref(opts), ctypes.byref(err)), err)
    calib = Calibration(ptr, path)
    return calib.select(cams) if cams is not None else calib
