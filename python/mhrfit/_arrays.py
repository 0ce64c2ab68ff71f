"""Checking and converting NumPy inputs before they reach the library."""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np


def as_float64(x, name: str, last: Optional[Sequence[int]] = None, ndims: Optional[Sequence[int]] = None,
               shape_doc: str = "") -> np.ndarray:
    """``x`` as a C-ordered float64 array (a copy only when the dtype or order differ).

    Any real dtype is accepted (floats of any width, integers); bool, complex, object and string
    arrays raise TypeError naming ``name``. ``last`` lists the allowed sizes of the last axis and
    ``ndims`` the allowed ranks; a mismatch raises ValueError naming ``name`` and the expected shape
    (``shape_doc``).
    """
    a = np.asarray(x)
    if a.dtype.kind not in "fiu":
        raise TypeError(f"{name} must hold real numbers (any float or integer dtype), not {a.dtype}")
    expected = f" (expected {shape_doc})" if shape_doc else ""
    if ndims is not None and a.ndim not in ndims:
        raise ValueError(f"{name} has shape {a.shape}: {a.ndim} axes{expected}")
    if last is not None and (a.ndim == 0 or a.shape[-1] not in last):
        want = " or ".join(str(n) for n in last)
        raise ValueError(f"{name} has shape {a.shape}: the last axis must have {want} entries{expected}")
    return np.ascontiguousarray(a, dtype=np.float64)
