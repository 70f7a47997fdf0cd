"""Plain data: what a student's answer becomes when it crosses a process boundary.

The grader never unpickles anything that comes out of a student's kernel. Inputs and outputs of a
check travel as JSON built from a few tagged forms:

    None, bool, int, float (NaN and +-inf included), str      as themselves
    list                                                      a JSON array
    tuple          {"__tuple__": [...]}
    ndarray        {"__ndarray__": [nested lists], "dtype": "float64", "shape": [3]}
    NumPy scalar   {"__npscalar__": value, "dtype": "float64"}
    complex        {"__complex__": [re, im]}
    dict           {"__dict__": [[key, value], ...]}
    anything else  {"__object__": "torch.Tensor", "repr": "tensor([1., 2.])"}   (never rebuilt)
    too big        {"__toobig__": "ndarray of shape (100000, 100)"}

`to_plain` runs where the student's code runs; `from_plain` only builds NumPy arrays of plain numeric
dtypes and Python containers, so decoding hostile data cannot execute anything.
"""
from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

#: at most this many numbers are kept from one answer (a bigger array is replaced by a note)
MAX_NUMBERS = 200_000
#: strings longer than this are cut
MAX_STR = 2_000
#: containers nested deeper than this are cut
MAX_DEPTH = 20

_NUMERIC_KINDS = "biuf"


class Opaque:
    """Something that could not be sent as data (an arbitrary object, or something too big)."""

    def __init__(self, type_name: str, text: str = "", too_big: bool = False):
        self.type_name = type_name
        self.text = text
        self.too_big = too_big

    def __repr__(self) -> str:
        return f"<{self.type_name}: {self.text}>" if self.text else f"<{self.type_name}>"

    def __eq__(self, other) -> bool:
        return (isinstance(other, Opaque) and (self.type_name, self.text, self.too_big)
                == (other.type_name, other.text, other.too_big))


def type_name(x: Any) -> str:
    t = type(x)
    mod = getattr(t, "__module__", "") or ""
    if mod in ("builtins", "__main__"):
        return t.__qualname__
    return f"{mod.split('.')[0]}.{t.__qualname__}"


def _safe_repr(x: Any, limit: int = 200) -> str:
    try:
        text = repr(x)
    except BaseException as exc:  # a student's __repr__ may raise anything
        if isinstance(exc, KeyboardInterrupt):
            raise
        text = f"<repr failed: {type(exc).__name__}>"
    if not isinstance(text, str):
        text = "<repr did not return a string>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def to_plain(x: Any, _budget: list[int] | None = None, _depth: int = 0) -> Any:
    """Encode `x` as JSON-able data (see the module docstring). Never raises on odd input."""
    budget = _budget if _budget is not None else [MAX_NUMBERS]
    if _depth > MAX_DEPTH:
        return {"__toobig__": "structure nested too deeply"}
    if x is None or type(x) is bool:
        return x
    if type(x) is str:
        return x if len(x) <= MAX_STR else x[:MAX_STR] + "..."
    if type(x) is int:
        budget[0] -= 1
        return x if abs(x) < 2**63 else float(x)
    if type(x) is float:
        budget[0] -= 1
        return x
    if type(x) is complex:
        budget[0] -= 2
        return {"__complex__": [x.real, x.imag]}
    if isinstance(x, np.ndarray) and type(x) is np.ndarray:
        desc = f"ndarray of shape {tuple(x.shape)}, dtype {x.dtype}"
        if x.size > budget[0]:
            return {"__toobig__": desc}
        budget[0] -= x.size
        if x.dtype.kind in _NUMERIC_KINDS:
            return {"__ndarray__": x.tolist(), "dtype": x.dtype.str.lstrip("<>=|"),
                    "shape": list(x.shape)}
        if x.dtype.kind == "c":
            return {"__ndarray__": [x.real.tolist(), x.imag.tolist()], "dtype": x.dtype.str.lstrip("<>=|"),
                    "shape": list(x.shape), "complex": True}
        return {"__object__": "ndarray", "repr": desc}
    if isinstance(x, np.generic) and type(x).__module__ == "numpy":
        budget[0] -= 1
        if x.dtype.kind in _NUMERIC_KINDS:
            return {"__npscalar__": x.item(), "dtype": x.dtype.str.lstrip("<>=|")}
        if x.dtype.kind == "c":
            return {"__complex__": [float(x.real), float(x.imag)]}
        return {"__object__": type_name(x), "repr": _safe_repr(x)}
    if type(x) in (list, tuple):
        if len(x) > budget[0]:
            return {"__toobig__": f"{type(x).__name__} of {len(x)} items"}
        items = [to_plain(v, budget, _depth + 1) for v in x]
        return items if type(x) is list else {"__tuple__": items}
    if type(x) is dict:
        if len(x) > budget[0]:
            return {"__toobig__": f"dict of {len(x)} items"}
        return {"__dict__": [[to_plain(k, budget, _depth + 1), to_plain(v, budget, _depth + 1)]
                             for k, v in list(x.items())]}
    return {"__object__": type_name(x), "repr": _safe_repr(x)}


def _build_array(data: Any, dtype: str, shape: Any, is_complex: bool = False) -> np.ndarray:
    dt = np.dtype(dtype)  # a plain string such as "f8" or "i8"; checked below
    if dt.kind not in _NUMERIC_KINDS + "c":
        raise ValueError(f"unexpected dtype {dtype!r}")
    if is_complex:
        real, imag = data
        arr = np.array(real, dtype=float) + 1j * np.array(imag, dtype=float)
        arr = arr.astype(dt)
    else:
        arr = np.array(data, dtype=dt)
    shape = tuple(int(s) for s in shape)
    return arr.reshape(shape)


def from_plain(x: Any) -> Any:
    """Inverse of `to_plain` (objects that were not data come back as `Opaque`)."""
    if x is None or isinstance(x, (bool, int, float, str)):
        return x
    if isinstance(x, list):
        return [from_plain(v) for v in x]
    if isinstance(x, dict):
        if "__ndarray__" in x:
            return _build_array(x["__ndarray__"], str(x["dtype"]), x["shape"], bool(x.get("complex")))
        if "__npscalar__" in x:
            return _build_array(x["__npscalar__"], str(x["dtype"]), ())[()]
        if "__tuple__" in x:
            return tuple(from_plain(v) for v in x["__tuple__"])
        if "__complex__" in x:
            re_, im_ = x["__complex__"]
            return complex(float(re_), float(im_))
        if "__dict__" in x:
            out = {}
            for k, v in x["__dict__"]:
                k = from_plain(k)
                try:
                    hash(k)
                except TypeError:
                    k = repr(k)
                out[k] = from_plain(v)
            return out
        if "__toobig__" in x:
            return Opaque(str(x["__toobig__"]), too_big=True)
        if "__object__" in x:
            return Opaque(str(x["__object__"]), str(x.get("repr", "")))
    raise ValueError(f"not plain data: {str(x)[:100]}")


def dumps(obj: Any) -> str:
    """JSON text with a stable layout (NaN and inf allowed, as Python's json writes them)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=True)


def loads(text: str) -> Any:
    return json.loads(text)


def is_real_number(x: Any) -> bool:
    """True for Python/NumPy ints and floats (not bool), and 0-d numeric arrays."""
    if isinstance(x, (bool, np.bool_)):
        return False
    if isinstance(x, (int, float, np.integer, np.floating)):
        return True
    return isinstance(x, np.ndarray) and x.ndim == 0 and x.dtype.kind in "iuf"


def isfinite(x: float) -> bool:
    return math.isfinite(float(x))
