"""Conversion between the library's document trees (mhrfit_value) and Python objects."""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np

from . import _lib as L

# mhrfit_value_kind
V_NULL, V_BOOL, V_INT, V_FLOAT, V_STRING, V_BYTES, V_DATETIME, V_LIST, V_DICT, V_ARRAY = range(10)
# mhrfit_dtype -> NumPy dtype (native byte order; strings get their width from the itemsize)
_DTYPES = ["?", "i1", "u1", "=i2", "=u2", "=i4", "=u4", "=i8", "=u8", "=f2", "=f4", "=f8"]
DT_UNICODE, DT_BYTES = 12, 13
_FROM_NUMPY = {np.dtype(d).newbyteorder("="): i for i, d in enumerate(_DTYPES)}


def array_to_numpy(a: L.mhrfit_array) -> np.ndarray:
    """A new NumPy array holding a copy of a library array."""
    shape = tuple(a.shape[i] for i in range(a.ndim))
    if a.dtype == DT_UNICODE:
        dtype = np.dtype(f"=U{max(a.itemsize // 4, 1)}")
    elif a.dtype == DT_BYTES:
        dtype = np.dtype(f"S{max(a.itemsize, 1)}")
    else:
        dtype = np.dtype(_DTYPES[a.dtype])
    out = np.zeros(shape, dtype)
    nbytes = a.count * a.itemsize
    if nbytes and a.itemsize == dtype.itemsize:
        ctypes.memmove(out.ctypes.data, a.data, nbytes)
    return out


def to_python(ptr) -> Any:
    """The Python form of a value tree: dicts, lists, NumPy arrays, str, bytes, int, float, bool, None."""
    v = ptr.contents
    k = v.kind
    if k == V_ARRAY:
        return array_to_numpy(v.u.array.contents)
    if k == V_DICT:
        d = v.u.dict
        return {d.keys[i].decode("utf-8", "surrogateescape"): to_python(d.vals[i]) for i in range(d.count)}
    if k == V_LIST:
        lst = v.u.list
        return [to_python(lst.items[i]) for i in range(lst.count)]
    if k in (V_STRING, V_DATETIME):
        return ctypes.string_at(v.u.str.data, v.u.str.len).decode("utf-8", "surrogateescape")
    if k == V_BYTES:
        return ctypes.string_at(v.u.str.data, v.u.str.len)
    if k == V_FLOAT:
        return v.u.number
    if k == V_INT:
        return v.u.integer
    if k == V_BOOL:
        return bool(v.u.boolean)
    return None


class Owned:
    """A value tree built for the library, freed when this object goes away."""

    __slots__ = ("ptr",)

    def __init__(self, ptr):
        self.ptr = ptr

    def __del__(self):
        if self.ptr:
            L.lib().mhrfit_value_free(self.ptr)
            self.ptr = None


def _new_array(a: np.ndarray, where: str):
    lib = L.lib()
    kind = a.dtype.kind
    if kind == "U":
        dt, itemsize = DT_UNICODE, a.dtype.itemsize
        a = np.asarray(a, dtype=a.dtype.newbyteorder("="), order="C")  # (ascontiguousarray makes 0-d 1-d)
    elif kind == "S":
        dt, itemsize = DT_BYTES, a.dtype.itemsize
        a = np.asarray(a, order="C")
    else:
        native = a.dtype.newbyteorder("=") if a.dtype.byteorder not in ("|", "=") else a.dtype
        dt = _FROM_NUMPY.get(native)
        if dt is None:
            raise TypeError(f"{where}: arrays of dtype {a.dtype} cannot be passed to the library "
                            "(bool, integers, float16/32/64 and fixed-width strings can)")
        a = np.asarray(a, dtype=native, order="C")
        itemsize = 0
    shape = (ctypes.c_size_t * max(a.ndim, 1))(*a.shape)
    err = L.mhrfit_error()
    arr = L.check(lib.mhrfit_array_new(dt, itemsize, a.ndim, shape, 0, ctypes.byref(err)), err)
    if a.nbytes:
        ctypes.memmove(arr.contents.data, a.ctypes.data, a.nbytes)
    return L.check(lib.mhrfit_value_new_array(arr, ctypes.byref(err)), err)


def _build(obj: Any, where: str, depth: int):
    lib = L.lib()
    err = L.mhrfit_error()
    e = ctypes.byref(err)
    if depth > 64:
        raise ValueError(f"{where}: nested deeper than 64 levels")
    if obj is None:
        return L.check(lib.mhrfit_value_new_null(e), err)
    if isinstance(obj, (np.ndarray, np.generic)):
        return _new_array(np.asarray(obj), where)
    if isinstance(obj, bool):
        return L.check(lib.mhrfit_value_new_bool(obj, e), err)
    if isinstance(obj, int):
        if not -2**63 <= obj < 2**63:
            raise OverflowError(f"{where}: integer {obj} does not fit in 64 bits")
        return L.check(lib.mhrfit_value_new_int(obj, e), err)
    if isinstance(obj, float):
        return L.check(lib.mhrfit_value_new_float(obj, e), err)
    if isinstance(obj, str):
        data = obj.encode("utf-8")
        return L.check(lib.mhrfit_value_new_string(V_STRING, data, len(data), e), err)
    if isinstance(obj, (bytes, bytearray)):
        data = bytes(obj)
        return L.check(lib.mhrfit_value_new_string(V_BYTES, data, len(data), e), err)
    if isinstance(obj, dict):
        d = L.check(lib.mhrfit_value_new_dict(e), err)
        try:
            for key, val in obj.items():
                if not isinstance(key, str):
                    raise TypeError(f"{where}: dictionary keys must be str, not {type(key).__name__} ({key!r})")
                child = _build(val, f"{where}[{key!r}]", depth + 1)
                L.check(lib.mhrfit_value_dict_set(d, key.encode("utf-8"), child, e), err)  # takes child
        except BaseException:
            lib.mhrfit_value_free(d)
            raise
        return d
    if isinstance(obj, (list, tuple)):
        lst = L.check(lib.mhrfit_value_new_list(e), err)
        try:
            for i, val in enumerate(obj):
                child = _build(val, f"{where}[{i}]", depth + 1)
                L.check(lib.mhrfit_value_list_append(lst, child, e), err)  # takes child
        except BaseException:
            lib.mhrfit_value_free(lst)
            raise
        return lst
    raise TypeError(f"{where}: cannot pass an object of type {type(obj).__name__} to the library "
                    "(dicts, lists, NumPy arrays, str, bytes, numbers, bool and None can)")


def from_python(obj: Any, where: str = "value") -> Owned:
    """A library value tree holding a copy of ``obj`` (dicts with str keys, lists/tuples, NumPy arrays
    and scalars, str, bytes, int, float, bool, None). TypeError names the offending entry."""
    return Owned(_build(obj, where, 0))
