"""Argument checks shared by the whole library: one line per argument, one style of message.

Each check returns the argument in the form the caller computes with (a Python float, an int, a
bool, a float64 array) or raises ``ValueError`` with a message that names the argument and the
value in plain words, e.g. ``"lr (learning rate) must be >= 0, got -0.1"``. An argument is checked
in one line, as PyTorch's optimizers do::

    self.eps = V.nonneg(eps, "eps")
    self.momentum = V.interval(momentum, "momentum (mu)", 0, 1, hi_open=True, array=True)

Checks
------
``real``        a finite number (optionally with bounds ``lo``/``hi``); ``array=True`` also
                accepts a NumPy array of them, checked entry by entry (vectorised hyperparameters)
``nonneg``      ``real`` with ``lo = 0``:          "must be >= 0"
``positive``    ``real`` with ``lo = 0`` excluded: "must be positive"
``interval``    ``real`` with both bounds:         "must be in [0, 1)"
``count``       a whole number >= ``minimum`` (step counts, sizes)
``flag``        True or False
``choice``      one of a few strings
``function``    a callable (or None where the argument is optional)
``finite_array`` an array of finite numbers, as float64

``fmt`` is the one number format of messages: the value as a student would type it (``repr`` of
the float: -0.1, 1e-08, nan, inf), or ``digits`` significant digits for measured quantities.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = ["fmt", "real", "nonneg", "positive", "interval", "count", "flag", "choice",
           "function", "finite_array"]


def fmt(x, digits: int | None = None) -> str:
    """A number in a message: ``repr(float(x))`` (-0.1, 1e-08, 2.0, nan), or with ``digits``
    significant digits (``fmt(8.1234e-07, 2) == "8.1e-07"``)."""
    x = float(x)
    return repr(x) if digits is None else f"{x:.{digits}g}"


def _bound(x) -> str:
    return f"{x:g}"


def _rule(lo, hi, lo_open: bool, hi_open: bool) -> str | None:
    """The words for a bound: "must be >= 0", "must be positive", "must be in [0, 1)"."""
    if lo is None and hi is None:
        return None
    if hi is None:
        if lo == 0 and lo_open:
            return "must be positive"
        return f"must be {'>' if lo_open else '>='} {_bound(lo)}"
    if lo is None:
        return f"must be {'<' if hi_open else '<='} {_bound(hi)}"
    return (f"must be in {'(' if lo_open else '['}{_bound(lo)}, {_bound(hi)}"
            f"{')' if hi_open else ']'}")


def _within(a, lo, hi, lo_open: bool, hi_open: bool):
    """Boolean (array) of the entries of ``a`` inside the bounds (True where there are none)."""
    ok = True
    if lo is not None:
        ok = (a > lo) if lo_open else (a >= lo)
    if hi is not None:
        ok = ok & ((a < hi) if hi_open else (a <= hi))
    return ok


def real(value, label: str, lo=None, hi=None, *, lo_open: bool = False, hi_open: bool = False,
         rule: str | None = None, hint: str = "", array: bool = False):
    """A finite number within optional bounds, returned as a Python float.

    label : how the message names the argument, e.g. "lr (learning rate)".
    lo, hi, lo_open, hi_open : bounds (None: unbounded on that side; *_open: the bound itself is
        excluded). ``rule`` replaces the words generated from them ("must be in [0, 1)").
    hint : appended after the value when a bound is broken, e.g. "; pass allow_unstable=True".
    array : also accept a NumPy array of numbers (returned as a float64 array), checked entry by
        entry; the message quotes the first offending entry and its index.
    """
    if type(value) is float or type(value) is int:          # the common case, kept fast
        v = float(value)
        if not math.isfinite(v):
            raise ValueError(f"{label} must be a finite number, got {fmt(v)}")
        if not _within(v, lo, hi, lo_open, hi_open):
            raise ValueError(f"{label} {rule or _rule(lo, hi, lo_open, hi_open)}, got {fmt(v)}{hint}")
        return v
    kind = "a number or a NumPy array of numbers" if array else "a number"
    if value is None or isinstance(value, (bool, np.bool_, str, bytes)):
        raise ValueError(f"{label} must be {kind}, got {value!r}")
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{label} must be {kind}, got {value!r}") from None
    if arr.ndim and not array:
        raise ValueError(f"{label} must be a single number, got an array of shape {arr.shape}")
    bad = ~np.isfinite(arr)
    reason, tail = "must be a finite number", ""
    if not bad.any():
        bad = ~np.asarray(_within(arr, lo, hi, lo_open, hi_open), dtype=bool)
        reason, tail = rule or _rule(lo, hi, lo_open, hi_open), hint
    if bad.any():
        if arr.ndim == 0:
            raise ValueError(f"{label} {reason}, got {fmt(arr)}{tail}")
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{label} {reason}, got {fmt(arr[idx])} (entry {idx} of the array of "
                         f"shape {arr.shape}){tail}")
    return float(arr) if arr.ndim == 0 else arr


def nonneg(value, label: str, *, array: bool = False, rule: str | None = None):
    """``real(value, label, lo=0)``: "must be >= 0" (0 allowed)."""
    return real(value, label, 0, rule=rule, array=array)


def positive(value, label: str, *, array: bool = False, rule: str | None = None):
    """``real(value, label, lo=0, lo_open=True)``: "must be positive" (0 refused)."""
    return real(value, label, 0, lo_open=True, rule=rule, array=array)


def interval(value, label: str, lo, hi, *, lo_open: bool = False, hi_open: bool = False,
             rule: str | None = None, hint: str = "", array: bool = False):
    """``real`` with both bounds: "must be in [lo, hi]" ((, ) where a bound is open)."""
    return real(value, label, lo, hi, lo_open=lo_open, hi_open=hi_open, rule=rule, hint=hint,
                array=array)


def count(value, label: str, minimum: int = 1, *, noun: str = "whole number",
          why: str = "") -> int:
    """A whole number >= minimum, as an int: "must be a {noun}, got 2.5" or
    "must be >= {minimum}{why}, got 0" (``why`` e.g. " (steps are counted from 1)")."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{label} must be a {noun}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{label} must be >= {minimum}{why}, got {value}")
    return int(value)


def flag(value, label: str) -> bool:
    """True or False (NumPy booleans too): "must be True or False, got 'yes'"."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{label} must be True or False, got {value!r}")
    return bool(value)


def choice(value, label: str, options) -> str:
    """One of ``options``: "must be 'a' or 'b', got 'c'" / "must be one of 'a', 'b', 'c', got ..."."""
    if value in options:
        return value
    names = [repr(o) for o in options]
    words = " or ".join(names) if len(names) == 2 else "one of " + ", ".join(names)
    raise ValueError(f"{label} must be {words}, got {value!r}")


def function(value, label: str, shape: str, *, optional: bool = True):
    """A callable (None allowed when ``optional``): "schedule must be a function t -> lr, got 0.1"
    (``shape`` = "t -> lr", the call it will get)."""
    if (value is None and optional) or callable(value):
        return value
    raise ValueError(f"{label} must be a function {shape}, got {value!r}")


def finite_array(x, label: str, *, copy: bool = False) -> np.ndarray:
    """``x`` as a float64 array of finite numbers (a copy with ``copy=True``, so later changes to the
    caller's array do not leak in): "A must contain only finite numbers (no NaN or inf), got ..."."""
    try:
        arr = np.array(x, dtype=np.float64) if copy else np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{label} must be an array of numbers, got {x!r}") from None
    if not np.isfinite(arr).all():
        raise ValueError(f"{label} must contain only finite numbers (no NaN or inf), got {arr}")
    return arr
