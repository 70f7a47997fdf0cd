"""Gradient clipping (Pascanu, Mikolov and Bengio 2013), in place, with PyTorch's formulas.

* by norm, :func:`clip_grad_norm_` (= ``torch.nn.utils.clip_grad_norm_``): one total norm over
  *all* gradients together, ``total = ||(g_1, ..., g_k)||_p`` (p = 2 by default), and every gradient
  multiplied by the same factor::

      coef = min(1, max_norm / (total + 1e-6)),   g_i <- coef * g_i

  Gradients whose total norm is below ``max_norm`` are left as they are (never scaled *up*); above
  it, the direction of the whole step is kept and only its length is cut to ``max_norm``.
* by value, :func:`clip_grad_value_` (= ``torch.nn.utils.clip_grad_value_``): every entry clamped
  to [-clip_value, clip_value]. Cheaper, but it changes the direction of the step.

``grads`` is a dict of arrays (``net.grads``) or a list of arrays; both are changed in place, as
the trailing underscore says (PyTorch's convention), which is what a training loop wants.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = ["global_norm", "clip_grad_norm_", "clip_grad_value_"]


def _arrays(grads) -> list[np.ndarray]:
    items = list(grads.values()) if isinstance(grads, dict) else list(grads)
    for i, g in enumerate(items):
        if not (isinstance(g, np.ndarray) and g.dtype.kind == "f"):
            raise ValueError(f"grads must hold NumPy float arrays (they are changed in place), got "
                             f"{type(g).__name__} at position {i}")
    return items


def _positive(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def global_norm(grads, norm_type: float = 2.0) -> float:
    """||(g_1, ..., g_k)||_p over all entries of all arrays (p = ``norm_type``, 2 or inf or any p > 0),
    computed in float64. Equal to the norm of the per-array norms, as PyTorch computes it."""
    p = _positive(norm_type, "norm_type")
    arrays = _arrays(grads)
    if not arrays:
        return 0.0
    if math.isinf(p):
        return float(max(np.max(np.abs(g)) if g.size else 0.0 for g in arrays))
    per = np.array([np.linalg.norm(g.ravel().astype(np.float64), ord=p) for g in arrays])
    return float(np.linalg.norm(per, ord=p))


def clip_grad_norm_(grads, max_norm: float, norm_type: float = 2.0, eps: float = 1e-6) -> float:
    """Scale all gradients by ``min(1, max_norm / (total + eps))`` in place; return the total norm
    *before* clipping (as ``torch.nn.utils.clip_grad_norm_`` does). A non-finite total norm is
    returned without touching the gradients (the non-finite detector reports it)."""
    max_norm = _positive(max_norm, "max_norm")
    total = global_norm(grads, norm_type)
    if not math.isfinite(total):
        return total
    coef = max_norm / (total + eps)
    if coef < 1.0:
        for g in _arrays(grads):
            g *= coef
    return total


def clip_grad_value_(grads, clip_value: float) -> None:
    """Clamp every gradient entry to [-clip_value, clip_value], in place."""
    c = _positive(clip_value, "clip_value")
    for g in _arrays(grads):
        np.clip(g, -c, c, out=g)
