"""Measured convergence rates, to print next to the theory they test.

:func:`measured_rate` fits the per-step contraction factor ``r`` in ``||w_t - w*|| ~ C r^t`` on the
tail of a distance curve; :func:`course_lib.runner.run_grid` fits one per setting with the same
vectorised core.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = ["measured_rate"]

# Below this a distance is treated as "exactly zero" (underflow territory) when fitting rates.
_TINY = 1e-280
# Iterates cannot get closer to a minimizer w* than rounding allows: about eps * ||w*||.
# run_grid stops fitting rates once the distance falls below _ROUNDING_FACTOR * eps * ||w*||.
_ROUNDING_FACTOR = 1e3


def _fmt(x: float, digits: int = 2) -> str:
    """Short float for messages: 8.1e-07, 0.5, inf."""
    return f"{float(x):.{digits}g}"


def _fit_rates(D: np.ndarray, floor: np.ndarray | float, start: int | None, end: int | None):
    """Vectorised core of :func:`measured_rate`: one rate per row of D (K, T+1).

    For each row the usable part is the prefix of finite values above ``floor``; the fit window is
    [start, end] clipped to it (start defaults to end // 2). Returns (rates, first_unusable, start,
    end) with rates NaN where no window of two points exists and the curve did not hit zero.
    """
    D = np.asarray(D, dtype=np.float64)
    K, n = D.shape
    T = n - 1
    floor = np.broadcast_to(np.asarray(floor, dtype=np.float64).reshape(-1, 1), (K, 1))
    with np.errstate(invalid="ignore"):
        usable = np.isfinite(D) & (D > floor)
    bad = ~usable
    first_bad = np.where(bad.any(axis=1), bad.argmax(axis=1), n)  # first index that is unusable
    last_ok = first_bad - 1                                          # -1: even d_0 is unusable
    e = np.minimum(T if end is None else end, last_ok)
    s = np.maximum(e // 2, 0) if start is None else np.full(K, start)
    s = np.minimum(s, np.maximum(e, 0))

    # least-squares slope of log d against t over [s, e], via cumulative sums (rows have
    # different windows); log d is set to 0 outside the usable prefix so the sums stay finite.
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.where(usable, np.log(np.where(usable, D, 1.0)), 0.0)
    t = np.arange(n, dtype=np.float64)
    zero = np.zeros((K, 1))
    cy = np.concatenate([zero, np.cumsum(y, axis=1)], axis=1)
    cty = np.concatenate([zero, np.cumsum(y * t, axis=1)], axis=1)
    ct = np.concatenate([[0.0], np.cumsum(t)])
    ctt = np.concatenate([[0.0], np.cumsum(t * t)])
    rows = np.arange(K)
    s_i, e_i = np.clip(s, 0, T), np.clip(e, 0, T) + 1
    m = (e_i - s_i).astype(np.float64)
    sy = cy[rows, e_i] - cy[rows, s_i]
    sty = cty[rows, e_i] - cty[rows, s_i]
    st = ct[e_i] - ct[s_i]
    stt = ctt[e_i] - ctt[s_i]
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = (m * sty - st * sy) / (m * stt - st * st)
        rates = np.exp(slope)
    # too short a window: if the curve dropped to (numerically) zero right after a usable point
    # it converged faster than we can measure -> 0; otherwise there is nothing to fit -> NaN.
    short = e - s < 1
    dropped = np.isfinite(D[rows, np.clip(first_bad, 0, T)]) & (first_bad <= T) & (last_ok >= 0)
    rates = np.where(short, np.where(dropped, 0.0, np.nan), rates)
    return rates, first_bad, s, e


def measured_rate(dist_curve, start: int | None = None, end: int | None = None, *,
                  floor: float | None = None) -> float:
    """Fitted per-step contraction factor ``r`` of a distance curve ``d_t ~ C r^t``.

    ``r = exp(slope)`` where ``slope`` is the least-squares slope of ``log d_t`` against ``t`` for
    ``t`` in ``[start, end]`` (inclusive). On an exactly geometric curve this equals
    ``(d_end / d_start) ** (1 / (end - start))``; unlike that two-point formula it is not thrown off
    by one unlucky point of an oscillating curve (momentum with complex eigenvalues).

    Parameters
    ----------
    dist_curve : array (T+1,)
        e.g. ``||w_t - w*||`` for t = 0..T (``GridResult.dist[i, j]`` or
        ``np.linalg.norm(result.trajectory - w_star, axis=1)``); a loss gap ``L(w_t) - L*`` works
        too and gives ``r^2`` on a quadratic.
    start, end : int, optional
        Fit window. Defaults: ``end = T`` and ``start = end // 2`` -- the *tail*, because early
        steps are dominated by fast transients and, for heavy-ball momentum at its optimal
        setting, by the polynomial factor ``t r^t`` of a Jordan block (its bias on the fitted rate
        is about ``exp(1.4 / T)``, so use a long run).
    floor : float, optional (default 1e-280)
        Values ``<= floor`` (and non-finite ones) end the usable part of the curve: the fit window
        is clipped to the steps before the first such value. When the minimizer ``w*`` is not at the
        origin, rounding stops the distance near ``eps * ||w*||``; pass
        ``floor = 1e3 * np.finfo(float).eps * np.linalg.norm(w_star)`` so that the flat
        rounding-noise tail does not drag the rate towards 1.

    Returns
    -------
    float
        ``r`` (< 1 converging, > 1 diverging); 0.0 if the curve reached the floor right after its
        first point (faster than can be measured); NaN if there is nothing to fit.
    """
    d = np.asarray(dist_curve, dtype=np.float64)
    if d.ndim != 1 or d.size < 2:
        raise ValueError(f"dist_curve must be a 1-D array with at least 2 values, got shape {d.shape}")
    T = d.size - 1
    for name, v in (("start", start), ("end", end)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, numbers.Integral)
                              or not 0 <= v <= T):
            raise ValueError(f"{name} (fit window) must be a whole number between 0 and {T}, got {v!r}")
    if start is not None and end is not None and start >= end:
        raise ValueError(f"start must be smaller than end, got start = {start}, end = {end}")
    if floor is None:
        floor = _TINY
    elif not (isinstance(floor, numbers.Real) and math.isfinite(floor) and floor >= 0):
        raise ValueError(f"floor must be a non-negative number, got {floor!r}")
    rates, first_bad, s, e = _fit_rates(d[None, :], max(float(floor), 0.0), start, end)
    if start is not None and first_bad[0] <= start + 1 and not (rates[0] == 0.0):
        raise ValueError(
            f"the curve stops being usable (non-finite or <= floor = {_fmt(floor)}) at step "
            f"{first_bad[0]}, before the fit window start = {start} has two points; choose a smaller start"
        )
    return float(rates[0])
