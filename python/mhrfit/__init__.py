"""mhrfit: multi-view human body capture with Meta's MHR body model, from Python.

NumPy in, NumPy out, over the C library libmhrfit (loaded with ctypes: from ``$MHRFIT_LIBRARY``,
next to this package, through pkg-config, or from the system library path). The functions give
the same numbers as the ``mhrfit`` command line:

* load_calibration(path, cams=None) -> Calibration (``.names``, ``.K``, ``.dist``, ``.R``, ``.t``,
  ``.size``, ``.project(points3d, cam)``);
* triangulate(calib, keypoints, cams=None, method="default", **options) -> TriangulationResult;
* Rig(assets=None, rig=None, lod=None) with ``.fk()``, ``.skin()``, ``.joint_names``,
  ``.param_names``, ``.faces``;
* fit(rig, points3d, views, **options) -> FitResult, and Fitter for frame-by-frame use with a
  temporal prior;
* load(path): the library's safe reader of ``.npy`` / ``.npz`` / pickled SAM 3D Body files;
* run(input, calib, cams, out, progress=callable, **options) -> RunResult: the whole pipeline, as
  ``mhrfit run`` (the same files, byte for byte); Ctrl-C stops it cleanly, a later run resumes.

Options take the command line's names (``freeze_lower_body=True``, ``inlier_thresh=30``, …); an
unknown name or a wrong type raises TypeError naming it; a failure inside the library raises
mhrfit.Error carrying the library's message (file, camera, field).
"""

from ._lib import Error, LibraryNotFoundError, library_path
from .calibration import Calibration, load_calibration
from .fitting import FitResult, Fitter, fit
from .io import load
from .pipeline import FrameInfo, Progress, RunResult, run
from .rig import Rig
from .triangulation import REASONS, TriangulationResult, triangulate

__version__ = "0.1.0"

__all__ = ["Calibration", "Error", "FitResult", "Fitter", "FrameInfo", "LibraryNotFoundError", "Progress", "REASONS",
           "Rig", "RunResult", "TriangulationResult", "fit", "library_path", "library_version", "load",
           "load_calibration", "run", "triangulate"]


def library_version() -> str:
    """The version of the loaded libmhrfit (loads it; LibraryNotFoundError when it cannot be found)."""
    from ._lib import lib
    return lib().mhrfit_version().decode()
