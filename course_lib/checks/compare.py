"""Comparing an answer with the expected one, and the short texts the messages are made of.

`compare_arrays`, `compare_scalars` and `as_sequence` return a `Mismatch` (what differs, with a
generic hint) or None; chapter modules build their `compare` functions from them. They run where
answers are judged (the notebook, or the grader's process), on plain data.

Precision: the course computes in float64 and its tolerances (1e-8 and tighter) assume it. A
float32 answer (np.float32 arrays, a torch default tensor converted with .numpy()) that is right to
float32's ~7 digits fails with a message telling the student to compute in float64, instead of a
bare "relative error 4.8e-08, allowed 1e-08": judging it at float32 tolerance would let through
wrong answers that differ from the right one in the 6th digit (a step size off by a little, an
h-dependent error), which the checks' cases are designed to separate.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .plain import Opaque, is_real_number, type_name

#: a float32 answer within this relative error of the expected one is "right but float32"
FLOAT32_RTOL = 1e-5


@dataclass(frozen=True)
class Mismatch:
    """Why an answer differs from the expected one (text), with an optional generic hint."""

    text: str
    hint: str = ""


# ---------------------------------------------------------------------------------------------
# formatting


def format_value(v: Any, precision: int = 6) -> str:
    """A short, deterministic text for a value (arrays with `precision` significant digits)."""
    if isinstance(v, np.ndarray):
        if v.dtype.kind in "biufc":
            with np.printoptions(precision=precision, threshold=12, edgeitems=3, linewidth=88,
                                 floatmode="maxprec"):
                text = np.array2string(v, separator=" ")
            return " ".join(text.split()) if v.ndim > 1 else text
        return f"array of dtype {v.dtype}"
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.{precision}g}"
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, str):
        return repr(v) if len(v) <= 60 else repr(v[:57] + "...")
    if isinstance(v, tuple):
        return "(" + ", ".join(format_value(x, precision) for x in v) + ("," if len(v) == 1 else "") + ")"
    if isinstance(v, list):
        if len(v) > 8:
            return f"list of {len(v)} items"
        return "[" + ", ".join(format_value(x, precision) for x in v) + "]"
    if isinstance(v, Opaque):
        return repr(v)
    if v is None:
        return "None"
    return f"<{type_name(v)}>"


def describe_kind(v: Any) -> str:
    """'None', 'a Python list', 'a float', 'a NumPy array of shape (3,)', ..."""
    if v is None:
        return "None"
    if isinstance(v, np.ndarray):
        return f"a NumPy array of shape {tuple(v.shape)} and dtype {v.dtype}"
    if isinstance(v, Opaque):
        return f"too big to check ({v.type_name})" if v.too_big else _article(v.type_name)
    if isinstance(v, list):
        return f"a Python list of {len(v)} items"
    if isinstance(v, tuple):
        return f"a tuple of {len(v)} items"
    if isinstance(v, (bool, np.bool_)):
        return f"a bool ({v})"
    if isinstance(v, np.generic):
        return f"a NumPy {type(v).__name__} ({format_value(v)})"
    if isinstance(v, (int, float)):
        return f"{_article(type(v).__name__)} ({format_value(v)})"
    return _article(type_name(v))


def _article(noun: str) -> str:
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


# ---------------------------------------------------------------------------------------------
# comparisons


def compare_arrays(expected: np.ndarray, got: Any, *, rtol: float, atol: float,
                   what: str = "your answer") -> Mismatch | None:
    """Pass when got is an ndarray of expected's shape with max|got - expected| <= atol + rtol max|expected|."""
    expected = np.asarray(expected, dtype=float)
    shape = tuple(expected.shape)
    if got is None:
        return Mismatch(f"{what} is None: did you forget `return`?")
    if isinstance(got, (list, tuple)):
        return Mismatch(f"{what} is {describe_kind(got)}; return a NumPy array of shape {shape} "
                        "(e.g. wrap it in np.array(...), or compute it with array operations)")
    if not isinstance(got, np.ndarray):
        if is_real_number(got):
            return Mismatch(f"{what} is a single number ({format_value(got)}); expected a NumPy "
                            f"array of shape {shape}")
        return Mismatch(f"{what} is {describe_kind(got)}; expected a NumPy array of shape {shape}")
    if got.dtype.kind not in "iuf":
        return Mismatch(f"{what} has dtype {got.dtype}; expected an array of real numbers (float64)")
    if got.shape != shape:
        hint = ""
        if got.size == expected.size:
            hint = (f"it holds the right number of entries; a ({got.size}, 1) column or a (1, {got.size}) "
                    "row usually comes from reshaping or from np.dot/@ on 2-D arrays: keep vectors 1-D")
        return Mismatch(f"{what} has shape {got.shape}; expected shape {shape}", hint)
    g = got.astype(float)
    bad = ~np.isfinite(g)
    if bad.any() and np.isfinite(expected).all():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        return Mismatch(f"{what} contains {g[idx]} at index {idx[0] if len(idx) == 1 else idx}; "
                        f"expected {format_value(expected)}",
                        "NaN or inf usually means a division by zero or an overflow")
    err = float(np.max(np.abs(g - expected))) if g.size else 0.0
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    if err <= atol + rtol * scale:
        return None
    if scale > 0:
        size = f"relative error {err / scale:.1e}, allowed {rtol:.0e}"
    else:
        size = f"absolute error {err:.1e}, allowed {atol:.0e}"
    low = _low_precision(got.dtype)
    if low and err <= atol + max(rtol, FLOAT32_RTOL) * scale:
        return _float32_mismatch(what, got.dtype, size)
    text = (f"expected: {format_value(expected)}\n"
            f"got:      {format_value(g)}\n"
            f"{size}")
    if low:
        text += f"\n(your result has dtype {got.dtype}; the course computes in float64)"
    return Mismatch(text, _factor_hint(expected.ravel(), g.ravel()))


def _low_precision(dtype: Any) -> bool:
    """float32, float16: fewer digits than the checks compare."""
    dtype = np.dtype(dtype)
    return dtype.kind == "f" and dtype.itemsize < 8


def _float32_mismatch(what: str, dtype: Any, size: str) -> Mismatch:
    return Mismatch(f"{what} is right to about 7 digits but has dtype {np.dtype(dtype)} "
                    f"({size}): compute in float64",
                    "your result is float32: compute in float64 (dtype=float), e.g. "
                    "np.array(x, dtype=float), np.zeros(d), or torch's .double(); float32 keeps only "
                    "about 7 significant digits")


def _factor_hint(expected: np.ndarray, got: np.ndarray) -> str:
    """A hint when got is (close to) a multiple c * expected of the right answer."""
    ee = float(expected @ expected)
    if ee == 0.0 or not np.isfinite(got).all():
        return ""
    c = float(got @ expected) / ee
    if np.linalg.norm(got - c * expected) > 1e-6 * max(np.linalg.norm(got), 1e-300):
        return ""
    if abs(c + 1) < 1e-6:
        return "your answer has the opposite sign of the expected one"
    if abs(c - 1) < 1e-6 or abs(c) < 1e-12:
        return ""
    return f"your answer is {c:.4g} times the expected one: a constant factor is off"


def compare_scalars(expected: float, got: Any, *, rtol: float, atol: float,
                    what: str = "your answer") -> Mismatch | None:
    """Pass when got is a real number with |got - expected| <= atol + rtol |expected|."""
    if got is None:
        return Mismatch(f"{what} is None: did you forget `return`?")
    if isinstance(got, np.ndarray) and got.ndim > 0:
        extra = " (use float(...) or index it)" if got.size == 1 else ""
        return Mismatch(f"{what} is a NumPy array of shape {got.shape}; expected a single number{extra}")
    if not is_real_number(got):
        return Mismatch(f"{what} is {describe_kind(got)}; expected a number")
    g = float(got)
    e = float(expected)
    if not np.isfinite(g) and np.isfinite(e):
        return Mismatch(f"{what} is {g}; expected {format_value(e)}",
                        "NaN or inf usually means a division by zero or an overflow")
    err = abs(g - e)
    if err <= atol + rtol * abs(e):
        return None
    size = (f"relative error {err / abs(e):.1e}, allowed {rtol:.0e}" if e != 0
            else f"absolute error {err:.1e}, allowed {atol:.0e}")
    dtype = getattr(got, "dtype", None)
    if dtype is not None and _low_precision(dtype) and err <= atol + max(rtol, FLOAT32_RTOL) * abs(e):
        return _float32_mismatch(what, dtype, size)
    hint = ""
    if e != 0 and g != 0 and abs(g / e + 1) < 1e-9:
        hint = "your answer has the opposite sign of the expected one"
    return Mismatch(f"{what}: expected {format_value(e, 8)}, got {format_value(g, 8)}; {size}", hint)


def as_sequence(got: Any, n: int, names: str, what: str = "your function") -> tuple[list | None, Mismatch | None]:
    """Unpack an answer that must hold n items (a tuple; a list or 1-D array is accepted)."""
    if isinstance(got, (tuple, list)) and len(got) == n:
        return list(got), None
    if isinstance(got, np.ndarray) and got.shape == (n,):
        return list(got), None
    return None, Mismatch(f"{what} returned {describe_kind(got)}; expected a tuple of {n} items "
                          f"({names}), e.g. `return {names}`")


