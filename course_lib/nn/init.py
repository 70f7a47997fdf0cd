"""Weight initialisation: how large the random starting weights of a layer should be.

A weight matrix W of shape (fan_in, fan_out) is drawn from N(0, std^2); biases start at 0.
Why the std matters: a unit sums fan_in inputs, so with inputs of variance v its pre-activation has
variance fan_in std^2 v. To keep the signal the same size from layer to layer (neither vanishing
nor exploding, chapter 09) std must scale like 1/sqrt(fan_in). The schemes:

    "normal"  std given by the caller (e.g. 1 or 0.01, the failures of chapter 09)
    "lecun"   std = sqrt(1 / fan_in)              keeps the forward variance for a linear unit (or
              tanh near 0). Deep Learning from Scratch (Saito, ch. 6) calls this form "Xavier"; it
              is LeCun et al.'s 1998 recommendation and the fan-in half of Glorot and Bengio's.
    "xavier"  std = sqrt(2 / (fan_in + fan_out))  Glorot and Bengio 2010: the compromise between
              keeping the forward variance (fan_in) and the backward variance (fan_out). This is the
              normal form (torch.nn.init.xavier_normal_); their paper draws from the uniform
              distribution with the same variance.
    "he"      std = sqrt(2 / fan_in)              He et al. 2015 ("Delving deep into rectifiers"):
              ReLU zeroes half of its inputs, halving the variance, and the factor 2 restores it
              (torch.nn.init.kaiming_normal_ with its defaults, mode="fan_in").
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .layers import check_dtype

__all__ = ["SCHEMES", "weight_std", "init_weight"]

SCHEMES = ("normal", "lecun", "xavier", "he")


def _fan(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a whole number >= 1 (a count of units), got {value!r}")
    return int(value)


def weight_std(scheme: str, fan_in: int, fan_out: int, std: float | None = None) -> float:
    """The standard deviation of N(0, std^2) initial weights for a (fan_in, fan_out) layer.

    ``scheme`` is one of "normal" (returns ``std``, which must then be given), "lecun"
    sqrt(1/fan_in), "xavier" sqrt(2/(fan_in + fan_out)), "he" sqrt(2/fan_in); see the module
    docstring for where each comes from.
    """
    fan_in, fan_out = _fan(fan_in, "fan_in"), _fan(fan_out, "fan_out")
    key = str(scheme).lower()
    if key == "normal":
        if std is None or isinstance(std, bool) or not isinstance(std, numbers.Real) \
                or not math.isfinite(std) or std <= 0:
            raise ValueError(f"scheme 'normal' needs std (the standard deviation) > 0, got {std!r}")
        return float(std)
    if std is not None:
        raise ValueError(f"std is only used with scheme='normal'; scheme {scheme!r} sets it itself")
    if key == "lecun":
        return math.sqrt(1.0 / fan_in)
    if key == "xavier":
        return math.sqrt(2.0 / (fan_in + fan_out))
    if key == "he":
        return math.sqrt(2.0 / fan_in)
    raise ValueError(f"scheme must be one of {', '.join(map(repr, SCHEMES))}, got {scheme!r}")


def init_weight(fan_in: int, fan_out: int, scheme: str = "he", *, std: float | None = None,
                rng=None, dtype=np.float64) -> np.ndarray:
    """A (fan_in, fan_out) weight matrix drawn from N(0, weight_std(scheme, fan_in, fan_out, std)^2).

    ``rng`` is a ``np.random.Generator`` (or a seed; default seed 0). The draw is made in float64
    and then cast, so float32 and float64 networks with the same seed start from the same weights
    (up to rounding).
    """
    s = weight_std(scheme, fan_in, fan_out, std)
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(0 if rng is None else rng)
    return (s * rng.standard_normal((fan_in, fan_out))).astype(check_dtype(dtype))
