"""Keyword options with the command line's names, checked and copied into the library's option structs."""

from __future__ import annotations

import numbers
import os
from typing import Any, Callable, Dict, Mapping, Tuple

import numpy as np

#: An option: (kind, setter). kind is "bool", "int", "float", "str" (a string or path), "strs" (a list
#: of strings) or a tuple of the allowed strings.
Spec = Tuple[Any, Callable[[Any, Any], None]]

_INT32 = (-2**31, 2**31 - 1)


def field(name: str, transform: Callable[[Any], Any] = lambda v: v) -> Callable[[Any, Any], None]:
    """A setter writing ``transform(value)`` into field ``name`` of the struct."""
    def set_(struct, value):
        setattr(struct, name, transform(value))
    return set_


def check_value(func: str, name: str, kind: Any, value: Any) -> Any:
    """Checks one option's type (TypeError) and range of representation (ValueError); returns the value
    as the Python type the struct needs."""
    if kind == "bool":
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{func}(): option '{name}' must be a bool, not {type(value).__name__}")
        return bool(value)
    if kind == "int":
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{func}(): option '{name}' must be an int, not {type(value).__name__}")
        if not _INT32[0] <= int(value) <= _INT32[1]:
            raise ValueError(f"{func}(): option '{name}' = {value} is out of range")
        return int(value)
    if kind == "float":
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise TypeError(f"{func}(): option '{name}' must be a number, not {type(value).__name__}")
        return float(value)
    if kind == "str":
        if not isinstance(value, (str, os.PathLike)):
            raise TypeError(f"{func}(): option '{name}' must be a str or path, not {type(value).__name__}")
        return os.fspath(value)
    if kind == "strs":
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)) or \
                not all(isinstance(v, (str, os.PathLike)) for v in value):
            raise TypeError(f"{func}(): option '{name}' must be a list of str, not {type(value).__name__}")
        return [os.fspath(v) for v in value]
    if isinstance(kind, tuple):
        if not isinstance(value, str):
            raise TypeError(f"{func}(): option '{name}' must be a str, not {type(value).__name__}")
        if value not in kind:
            raise ValueError(f"{func}(): option '{name}' must be one of {', '.join(kind)}, not {value!r}")
        return value
    raise AssertionError(kind)


def apply(func: str, struct: Any, table: Mapping[str, Spec], options: Mapping[str, Any]) -> None:
    """Copies ``options`` into ``struct`` through ``table``; an unknown name raises TypeError naming it
    and listing the known ones, as Python does for an unexpected keyword argument."""
    for name, value in options.items():
        spec = table.get(name)
        if spec is None:
            known = ", ".join(sorted(table))
            raise TypeError(f"{func}() got an unexpected option '{name}' (options: {known})")
        kind, setter = spec
        setter(struct, check_value(func, name, kind, value))


def split(func: str, options: Dict[str, Any], own: Mapping[str, Any]) -> Dict[str, Any]:
    """Takes the options of ``own`` (name -> kind) out of ``options``, checked, and returns them."""
    out = {}
    for name, kind in own.items():
        if name in options:
            out[name] = check_value(func, name, kind, options.pop(name))
    return out
