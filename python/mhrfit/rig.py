"""The MHR body model (``include/mhrfit/rig.h``, ``keypoints.h``, ``sam3d.h``)."""

from __future__ import annotations

import ctypes
import os
from collections.abc import Mapping
from typing import Any, Dict, List, Optional, Union

import numpy as np

from . import _lib as L
from ._arrays import as_float64
from ._values import Owned, from_python

__all__ = ["Rig"]

_NO_CORRECTIVE_BLENDSHAPES = 1


class Rig:
    """The MHR rig: skeleton, parameter transform, mesh and (when present) pose correctives.

    ``assets``: the MHR assets folder (``compact_v6_1.model`` + ``lodN.fbx``, and the optional
    ``corrective_*.npz``); ``rig``: a rig file of ``mhrfit rig import``. Give one or the other; with
    neither, ``$MHRFIT_ASSETS`` (a folder or a rig file) is used. ``lod``: the mesh's level of detail
    (default: ``lod1.fbx`` when present, else the lowest-numbered ``lodN.fbx``; or the rig file's).
    ``corrective_blendshapes``: load layer 2 of the pose correctives when its file is there (hundreds
    of MB; the command line's ``rig fk`` does, its ``fit`` does not: the fit never uses it).

    Attributes: ``joint_names`` (127), ``param_names`` (204), ``parents`` (J,) int32 (−1 for the
    root), ``faces`` (n_faces, 3) int32 vertex indices of ``pred_vertices``, ``lod``, ``n_vertices``,
    ``has_correctives`` (both corrective layers loaded: the mesh of fk() includes them), ``path``.
    """

    def __init__(self, assets: Optional[Union[str, os.PathLike]] = None,
                 rig: Optional[Union[str, os.PathLike]] = None, lod: Optional[int] = None, *,
                 corrective_blendshapes: bool = True):
        self._ptr = None
        self._eval = None
        if assets is not None and rig is not None:
            raise TypeError("Rig(): give assets or rig, not both")
        path = assets if assets is not None else rig if rig is not None else os.environ.get("MHRFIT_ASSETS")
        if not path:
            raise TypeError("Rig(): no MHR rig: pass assets=DIR (the MHR release assets), rig=RIG.npz (a rig file "
                            "of 'mhrfit rig import') or set MHRFIT_ASSETS")
        if lod is not None and (isinstance(lod, bool) or not isinstance(lod, (int, np.integer)) or lod < 0):
            raise TypeError(f"Rig(): lod must be a non-negative int, not {lod!r}")
        if not isinstance(corrective_blendshapes, bool):
            raise TypeError("Rig(): corrective_blendshapes must be a bool")
        self.path = os.fspath(path)
        err = L.mhrfit_error()
        flags = 0 if corrective_blendshapes else _NO_CORRECTIVE_BLENDSHAPES
        self._ptr = L.check(L.lib().mhrfit_rig_open(self.path.encode(), -1 if lod is None else int(lod), flags,
                                                    ctypes.byref(err)), err)
        r = self._ptr.contents
        self.lod: int = r.lod
        self.n_joints: int = r.n_joints
        self.n_params: int = r.n_params
        self.n_vertices: int = r.n_vertices
        self.joint_names: List[str] = [r.joint_names[j].value.decode() for j in range(r.n_joints)]
        self.param_names: List[str] = [r.param_names[i].value.decode() for i in range(r.n_params)]
        self.parents = np.ctypeslib.as_array(r.parents, (r.n_joints,)).copy()
        self.faces = (np.ctypeslib.as_array(r.faces, (r.n_faces, 3)).copy() if r.n_faces
                      else np.zeros((0, 3), dtype=np.int32))
        self.has_correctives: bool = bool(L.lib().mhrfit_rig_has_correctives(self._ptr))

    def __del__(self):
        lib = L.lib() if getattr(self, "_ptr", None) else None
        if getattr(self, "_eval", None):
            lib.mhrfit_sam3d_evaluator_free(self._eval)
            self._eval = None
        if lib is not None:
            lib.mhrfit_rig_free(self._ptr)
            self._ptr = None

    def __repr__(self) -> str:
        return (f"Rig({self.path!r}: {self.n_joints} joints, {self.n_params} parameters, LOD {self.lod} mesh of "
                f"{self.n_vertices} vertices)")

    # ---------------------------------------------------------------------------------------
    def _evaluator(self, markers) -> tuple:
        """(evaluator handle, owned?) — the cached one with the built-in markers, or a new one whose
        surface markers are calibrated from the SAM 3D Body output ``markers``."""
        lib = L.lib()
        err = L.mhrfit_error()
        if markers is None:
            if not self._eval:
                self._eval = L.check(lib.mhrfit_sam3d_evaluator_new(self._ptr, None, ctypes.byref(err)), err)
            return self._eval, False
        doc = _document(markers, "markers")
        kpmap = L.check(lib.mhrfit_kpmap_new_mhr70(self._ptr, ctypes.byref(err)), err)
        try:
            if lib.mhrfit_kpmap_calibrate_from_sam3d(kpmap, self._ptr, doc.ptr, ctypes.byref(err)) < 0:
                L.raise_error(err)
            return L.check(lib.mhrfit_sam3d_evaluator_new(self._ptr, kpmap, ctypes.byref(err)), err), True
        finally:
            lib.mhrfit_kpmap_free(kpmap)

    def _params(self, mhr_model_params, shape_params):
        """(m (N, 204) float64, shape (N, S) float64 or None, batched?) from fk()'s arguments."""
        if isinstance(mhr_model_params, (str, os.PathLike)):
            from .io import load
            mhr_model_params = load(mhr_model_params)
        if _is_output(mhr_model_params):
            doc = _document(mhr_model_params, "mhr_model_params")
            m = np.empty(L.N_MODEL_PARAMS)
            err = L.mhrfit_error()
            person = _first_person(doc)
            if not _sam3d_model_params(person, m, err):
                L.raise_error(err)
            if shape_params is None:
                sp = _dict_array(mhr_model_params, "shape_params")
                if sp is not None and np.size(sp) == 45:
                    shape_params = np.asarray(sp, dtype=np.float64).reshape(45)
            m = m[None]
            batched = False
        else:
            m = as_float64(mhr_model_params, "mhr_model_params", last=(L.N_MODEL_PARAMS,), ndims=(1, 2),
                           shape_doc="(204,) or (N, 204)")
            batched = m.ndim == 2
            m = m.reshape(-1, L.N_MODEL_PARAMS)
        shape = None
        if shape_params is not None:
            shape = as_float64(shape_params, "shape_params", ndims=(1, 2), shape_doc="(S,) or (N, S)")
            shape = np.ascontiguousarray(np.broadcast_to(shape.reshape(-1, shape.shape[-1]),
                                                         (m.shape[0], shape.shape[-1])))
        return m, shape, batched

    def fk(self, mhr_model_params: Any, shape_params: Any = None, markers: Any = None,
           mesh: bool = True) -> Dict[str, np.ndarray]:
        """Evaluates MHR as ``mhrfit rig fk`` does, in SAM 3D Body conventions.

        ``mhr_model_params``: (204,) or (N, 204) MHR model parameters (any real dtype), or a SAM 3D
        Body output (a dict as from mhrfit.load(), or a list of per-person dicts: the first), whose
        ``mhr_model_params`` (else ``global_rot`` + ``body_pose_params``) and ``shape_params`` are used.
        ``shape_params``: (S,) or (N, S) identity coefficients for the mesh (45 in SAM 3D Body; default
        none, or the output's). ``markers``: a SAM 3D Body output whose ``pred_keypoints_3d`` calibrates
        the 21 surface keypoints (default: built-in anatomical offsets). ``mesh``: skin the mesh.

        Returns a dict of new float64 arrays (a leading N axis for (N, 204) input):
        ``pred_joint_coords`` (J, 3) joint positions and ``pred_keypoints_3d`` (70, 3) in metres, camera
        axes (x, −y, −z of MHR's native cm / 100); ``pred_global_rots`` (J, 3, 3) global joint rotations
        in native axes; ``pred_vertices`` (n_vertices, 3) metres, camera axes (with ``mesh``); and
        ``mhr_model_params`` (204). The command line writes the same values as float32.
        Non-finite parameters raise mhrfit.Error naming the parameter.
        """
        if not isinstance(mesh, bool):
            raise TypeError("fk(): mesh must be a bool")
        return self._evaluate(mhr_model_params, shape_params, markers, mesh, "fk")

    def skin(self, mhr_model_params: Any, shape_params: Any = None) -> np.ndarray:
        """The posed mesh only: fk(...)["pred_vertices"] — (n_vertices, 3) or (N, n_vertices, 3) float64,
        metres, SAM 3D Body camera axes (identity blend shapes, pose correctives when loaded, linear
        blend skinning). Faces: ``Rig.faces``."""
        return self._evaluate(mhr_model_params, shape_params, None, True, "skin")["pred_vertices"]

    def _evaluate(self, mhr_model_params, shape_params, markers, mesh, what) -> Dict[str, np.ndarray]:
        m, shape, batched = self._params(mhr_model_params, shape_params)
        N, J, V = m.shape[0], self.n_joints, self.n_vertices
        out = {"pred_joint_coords": np.empty((N, J, 3)), "pred_global_rots": np.empty((N, J, 3, 3)),
               "pred_keypoints_3d": np.empty((N, L.N_MHR70, 3))}
        if mesh:
            out["pred_vertices"] = np.empty((N, V, 3))
        handle, owned = self._evaluator(markers)
        lib = L.lib()
        err = L.mhrfit_error()
        o = L.mhrfit_sam3d_outputs()
        arrays = [out["pred_joint_coords"], out["pred_global_rots"], out["pred_keypoints_3d"]]
        try:
            for n in range(N):
                o.joint_coords, o.global_rots, o.keypoints_3d = (a[n].ctypes.data for a in arrays)
                o.vertices = out["pred_vertices"][n].ctypes.data if mesh else None
                s_ptr, n_s = (shape[n].ctypes.data, shape.shape[1]) if shape is not None else (None, 0)
                if not lib.mhrfit_sam3d_evaluator_process(handle, m[n].ctypes.data, s_ptr, n_s, ctypes.byref(o),
                                                          ctypes.byref(err)):
                    L.raise_error(err)
        finally:
            if owned:
                lib.mhrfit_sam3d_evaluator_free(handle)
        out["mhr_model_params"] = m.copy()
        if not batched:
            out = {k: v[0] for k, v in out.items()}
        return out


def _document(obj: Any, where: str) -> Owned:
    """A library value of a SAM 3D Body output: a dict / list of dicts (copied) or a file path (read by
    the library's safe reader)."""
    if isinstance(obj, (str, os.PathLike)):
        from .io import load_value
        return load_value(obj)
    if isinstance(obj, Mapping) and not isinstance(obj, dict):
        obj = {k: obj[k] for k in obj}
    if not isinstance(obj, (dict, list)):
        raise TypeError(f"{where} must be a SAM 3D Body output (a dict, a list of per-person dicts or a file "
                        f"path), not {type(obj).__name__}")
    return from_python(obj, where)


def _first_person(doc: Owned):
    v = doc.ptr.contents
    if v.kind == 7:  # a list of persons: the first
        if v.u.list.count == 0:
            raise ValueError("the SAM 3D Body output is an empty list of persons")
        return v.u.list.items[0]
    return doc.ptr


def _sam3d_model_params(person, m: np.ndarray, err) -> bool:
    return L.lib().mhrfit_sam3d_model_params(person, m.ctypes.data, None, ctypes.byref(err))


def _is_output(x) -> bool:
    """True for a SAM 3D Body output (a dict, or a list of per-person dicts) rather than an array."""
    if isinstance(x, Mapping):
        return True
    return isinstance(x, (list, tuple)) and len(x) > 0 and isinstance(x[0], Mapping)


def _dict_array(obj, key):
    if isinstance(obj, (list, tuple)):
        obj = obj[0] if obj else None
    return obj.get(key) if isinstance(obj, Mapping) else None
