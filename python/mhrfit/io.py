"""Safe reading of NumPy and pickle files (``include/mhrfit/npy.h``, ``pickle.h``)."""

from __future__ import annotations

import ctypes
import os
from typing import Any, Union

from . import _lib as L
from ._values import Owned, to_python

__all__ = ["load"]


def load_value(path: Union[str, os.PathLike]) -> Owned:
    """The library's value tree of a file (see load()), owned by the returned object."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            head = f.read(2)
    except OSError as e:
        raise L.Error(f"{path}: cannot open: {e.strerror}", "io") from None
    err = L.mhrfit_error()
    lib = L.lib()
    if head[:1] == b"\x80":  # a raw pickle (protocol 2 and later start with PROTO)
        ptr = lib.mhrfit_pickle_load(path.encode(), None, ctypes.byref(err))
    else:
        ptr = lib.mhrfit_numpy_load(path.encode(), None, ctypes.byref(err))
    return Owned(L.check(ptr, err))


def load(path: Union[str, os.PathLike]) -> Any:
    """Reads a ``.npy``, ``.npz``, pickled ``.npy`` (``np.save(..., allow_pickle=True)``) or raw pickle
    file (``pickle.dump``, protocol 2 and later) with the library's safe readers, which never import or
    execute anything: a pickle naming any global outside NumPy's array reconstruction raises
    mhrfit.Error naming it.

    Returns new Python objects: a plain ``.npy`` gives a NumPy array, a ``.npz`` a dict of its members,
    a pickle its dicts (str keys), lists (tuples become lists), NumPy arrays, str, bytes, int, float,
    bool and None. Arrays are native-endian and C-ordered, whatever the file stored.
    """
    doc = load_value(path)  # owns the tree while it is converted
    return to_python(doc.ptr)
