"""Measured convergence rates, to print next to the theory they test.

:func:`measured_rate` fits the per-step contraction factor ``r`` in ``||w_t - w*|| ~ C r^t`` on the
tail of a distance curve; :func:`course_lib.runner.run_grid` fits one per setting with the same
vectorised core.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from . import _validate as V

__all__ = ["measured_rate"]

# Below this a distance is treated as "exactly zero" (underflow territory) when fitting rates.
_TINY = 1e-280
# Iterates cannot get closer to a minimizer w* than rounding allows: about eps * ||w*||.
# run_grid stops fitting rates once the distance falls below _ROUNDING_FACTOR * eps * ||w*||.
_ROUNDING_FACTOR = 1e3


# the one number format of messages (E's theory functions below call it as _fmt(x, 4))
_fmt = V.fmt

# rows fitted at a time: the temporaries of a fit stay small (and in cache) for any grid
_ROWS = 2048


def _fit_rates(D: np.ndarray, floor: np.ndarray | float, start: int | None, end: int | None):
    """Vectorised core of :func:`measured_rate`: one rate per row of D (K, T+1).

    For each row the usable part is the prefix of finite values above ``floor`` (a number or one
    per row); the fit window is [start, end] clipped to it (start defaults to end // 2). Returns
    (rates, first_unusable, start, end) with rates NaN where no window of two points exists and
    the curve did not hit zero. Rows are fitted ``_ROWS`` at a time, so the extra memory is a few
    MB whatever K is.
    """
    D = np.asarray(D, dtype=np.float64)
    K = D.shape[0]
    floor = np.broadcast_to(np.asarray(floor, dtype=np.float64).reshape(-1), (K,))
    rates, first_bad = np.empty(K), np.empty(K, dtype=np.intp)
    s, e = np.empty(K, dtype=np.intp), np.empty(K, dtype=np.intp)
    for r0 in range(0, K, _ROWS):
        r = slice(r0, min(K, r0 + _ROWS))
        rates[r], first_bad[r], s[r], e[r] = _fit_block(D[r], floor[r, None], start, end)
    return rates, first_bad, s, e


def _fit_block(D, floor, start, end):
    """_fit_rates on one block of rows: the least-squares slope of log d against t over [s, e],
    from the sums of log d and t log d over the window (those of t and t^2 in closed form)."""
    K, n = D.shape
    T = n - 1
    with np.errstate(invalid="ignore"):
        usable = (D > floor) & (D < np.inf)                     # NaN compares False
    first_bad = np.where(usable.all(axis=1), n, usable.argmin(axis=1))   # first unusable index
    last_ok = first_bad - 1                                                # -1: even d_0 is unusable
    e = np.minimum(T if end is None else end, last_ok)
    s = np.maximum(e // 2, 0) if start is None else np.full(K, start)
    s = np.minimum(s, np.maximum(e, 0))
    t = np.arange(n, dtype=np.float64)
    window = (t >= s[:, None]) & (t <= e[:, None])
    y = np.zeros((K, n))
    np.log(D, out=y, where=window)                              # log d on the window, 0 elsewhere
    sy, sty = y.sum(axis=1), y @ t
    sf, ef = s.astype(np.float64), e.astype(np.float64)
    m = ef - sf + 1
    st = (sf + ef) * m / 2
    stt = (ef * (ef + 1) * (2 * ef + 1) - (sf - 1) * sf * (2 * sf - 1)) / 6
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        rates = np.exp((m * sty - st * sy) / (m * stt - st * st))
    # too short a window: if the curve dropped to (numerically) zero right after a usable point
    # it converged faster than we can measure -> 0; otherwise there is nothing to fit -> NaN.
    short = e - s < 1
    dropped = (np.isfinite(D[np.arange(K), np.clip(first_bad, 0, T)]) & (first_bad <= T)
               & (last_ok >= 0))
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
    floor = _TINY if floor is None else V.nonneg(floor, "floor")
    rates, first_bad, s, e = _fit_rates(d[None, :], floor, start, end)
    if start is not None and first_bad[0] <= start + 1 and not (rates[0] == 0.0):
        raise ValueError(
            f"the curve stops being usable (non-finite or <= floor = {V.fmt(floor, 2)}) at step "
            f"{first_bad[0]}, before the fit window start = {start} has two points; choose a smaller start"
        )
    return float(rates[0])


# ==============================================================================================
# Heavy-ball momentum and Nesterov's accelerated gradient on quadratics (chapters 05 and 06)
#
# On f(w) = 1/2 (w - w*)^T A (w - w*) the error e = w - w* splits into the eigen-directions of A,
# and along an eigenvector with eigenvalue (curvature) lambda both methods are a linear map of the
# pair (e, v), v the velocity of the lecture form v <- mu v - eta g, w <- w + v:
#
#     heavy ball (Polyak 1964)             g = lambda e
#         [e_t]   [1 - eta lambda        mu        ] [e_{t-1}]
#         [v_t] = [  - eta lambda        mu        ] [v_{t-1}]
#
#     Nesterov, look-ahead form            g = lambda (e + mu v)   (gradient at w + mu v)
#         [e_t]   [1 - eta lambda   mu (1 - eta lambda)] [e_{t-1}]
#         [v_t] = [  - eta lambda   mu (1 - eta lambda)] [v_{t-1}]
#
# The error shrinks like rho^t, rho the spectral radius of that 2 x 2 matrix: the larger modulus
# of the roots of its characteristic polynomial z^2 - trace z + det. With a = eta lambda:
#     heavy ball:  trace = 1 + mu - a,          det = mu
#     Nesterov:    trace = (1 + mu) (1 - a),    det = mu (1 - a)
# rho < 1 exactly when |det| < 1, 1 - trace + det > 0 and 1 + trace + det > 0 (the Jury / Schur
# conditions for a real quadratic), which give the regions of heavy_ball_converges and
# nesterov_converges. GD is heavy ball with mu = 0 (roots 1 - a and 0).
# ==============================================================================================

__all__ += ["heavy_ball_matrix", "heavy_ball_spectral_radius", "heavy_ball_rate",
            "heavy_ball_converges", "heavy_ball_lr_limit", "heavy_ball_optimal",
            "nesterov_matrix", "nesterov_spectral_radius", "nesterov_rate", "nesterov_converges",
            "nesterov_lr_limit", "nesterov_optimal", "nesterov_standard", "first_order_lower_bound"]


def _real_array(value, label: str) -> np.ndarray:
    """A float64 array of finite numbers, or ValueError naming the argument in words."""
    if isinstance(value, (bool, np.bool_)) or value is None or isinstance(value, str):
        raise ValueError(f"{label} must be a number or an array of numbers, got {value!r}")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{label} must be a number or an array of numbers, got {value!r}") from None
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{label} must be finite, got {value!r}")
    return arr


def _theory_args(lr, mu, lam):
    """(a = eta lambda, mu) as broadcast float arrays; lr must be >= 0, everything finite."""
    lr = _real_array(lr, "lr (learning rate)")
    if np.any(lr < 0):
        raise ValueError(f"lr (learning rate) must be >= 0, got {_fmt(lr.min(), 4)}")
    mu = _real_array(mu, "mu (momentum)")
    lam = _real_array(lam, "lam (curvature, an eigenvalue of the Hessian)")
    try:
        a, mu = np.broadcast_arrays(lr * lam, mu)
    except ValueError:
        raise ValueError(f"lr, mu and lam must broadcast together, got shapes {lr.shape}, "
                         f"{mu.shape} and {lam.shape}") from None
    return a.astype(np.float64), mu.astype(np.float64)


def _root_modulus(trace, det):
    """max |z| over the roots of z^2 - trace z + det (elementwise), via the complex square root."""
    disc = np.sqrt((trace * trace - 4.0 * det).astype(np.complex128))
    return np.maximum(np.abs(trace + disc), np.abs(trace - disc)) / 2.0


def _matrix(top_left, top_right, bottom_left, bottom_right):
    return np.stack([np.stack([top_left, top_right], axis=-1),
                     np.stack([bottom_left, bottom_right], axis=-1)], axis=-2)


def _spectrum(eigenvalues) -> np.ndarray:
    lam = _real_array(eigenvalues, "eigenvalues (the curvatures of the quadratic)")
    lam = np.atleast_1d(lam)
    if lam.ndim != 1 or lam.size == 0:
        raise ValueError(f"eigenvalues must be a non-empty 1-D array, got shape {lam.shape}")
    return lam


def _interval(lambda_min, lambda_max):
    lmin = float(_real_array(lambda_min, "lambda_min (smallest curvature)"))
    lmax = float(_real_array(lambda_max, "lambda_max (largest curvature)"))
    if not 0 < lmin <= lmax:
        raise ValueError(f"need 0 < lambda_min <= lambda_max (a positive definite quadratic), "
                         f"got lambda_min = {lmin:g}, lambda_max = {lmax:g}")
    return lmin, lmax, lmax / lmin


def heavy_ball_matrix(lr, mu, lam) -> np.ndarray:
    """Iteration matrix of heavy-ball momentum along one eigen-direction of a quadratic.

    Lecture form v_t = mu v_{t-1} - eta g, w_t = w_{t-1} + v_t with g = lam (w - w*); on the state
    (e, v), e = w - w*::

        [e_t, v_t]^T = M [e_{t-1}, v_{t-1}]^T,   M = [[1 - eta lam, mu], [-eta lam, mu]]

    lr (eta), mu and lam broadcast together (any shape S); returns an array of shape S + (2, 2).
    Its eigenvalues are the roots of z^2 - (1 + mu - eta lam) z + mu.
    """
    a, mu = _theory_args(lr, mu, lam)
    return _matrix(1.0 - a, mu, -a, mu)


def heavy_ball_spectral_radius(lr, mu, lam) -> np.ndarray:
    """rho(M) of :func:`heavy_ball_matrix`: the per-step rate ``|e_t| ~ C rho^t`` along curvature lam.

    Closed form: the larger |z| of z^2 - (1 + mu - eta lam) z + mu = 0. When the roots are complex
    (damped oscillation) rho = sqrt(mu); when they are real it is the larger |root|.
    Broadcasts lr, mu, lam; returns an array of their broadcast shape (a 0-d array for scalars).
    """
    a, mu = _theory_args(lr, mu, lam)
    return _root_modulus(1.0 + mu - a, mu)


def heavy_ball_rate(lr, mu, eigenvalues) -> np.ndarray:
    """Asymptotic per-step rate of heavy ball on a quadratic: max over its eigenvalues of rho.

    ``rate = max_i heavy_ball_spectral_radius(lr, mu, lambda_i)``; ``||w_t - w*|| ~ C rate^t`` from a
    start with a component along every eigenvector (times a factor t where the two roots of the
    slowest direction coincide, as at the optimal setting). For all eigenvalues in an interval
    [lambda_min, lambda_max] the maximum is reached at an end, so passing the two ends is enough.
    lr and mu broadcast together (shape S); eigenvalues is 1-D; returns an array of shape S.
    With mu = 0 this is GD's rate max_i |1 - eta lambda_i|.
    """
    lam = _spectrum(eigenvalues)
    lr = _real_array(lr, "lr (learning rate)")
    mu = _real_array(mu, "mu (momentum)")
    return heavy_ball_spectral_radius(lr[..., None], mu[..., None], lam).max(axis=-1)


def heavy_ball_converges(lr, mu, lam) -> np.ndarray:
    """True where heavy ball converges along curvature lam from every start (rho < 1).

    Exactly when |mu| < 1 and 0 < eta lam < 2 + 2 mu; for the usual 0 <= mu < 1 the step may be
    up to (1 + mu) times GD's limit 2 / lam. On the boundary rho = 1 (no convergence). Broadcasts
    lr, mu, lam and returns a bool array (any mu is accepted: mu >= 1 or mu <= -1 gives False).
    """
    a, mu = _theory_args(lr, mu, lam)
    return (np.abs(mu) < 1) & (a > 0) & (a < 2.0 + 2.0 * mu)


def _momentum_in_unit_interval(mu):
    mu = _real_array(mu, "mu (momentum)")
    bad = (mu < 0) | (mu >= 1)
    if np.any(bad):
        raise ValueError(f"mu (momentum) must be in [0, 1) for this formula, got {_fmt(mu[bad].flat[0], 4)}")
    return mu


def heavy_ball_lr_limit(mu, lambda_max) -> np.ndarray:
    """Largest stable heavy-ball step: eta < (2 + 2 mu) / lambda_max, for 0 <= mu < 1."""
    mu = _momentum_in_unit_interval(mu)
    lmax = _real_array(lambda_max, "lambda_max (largest curvature)")
    if np.any(lmax <= 0):
        raise ValueError(f"lambda_max (largest curvature) must be positive, got {lambda_max!r}")
    return (2.0 + 2.0 * mu) / lmax


def heavy_ball_optimal(lambda_min, lambda_max) -> tuple[float, float, float]:
    """Polyak's (1964) optimal heavy-ball setting on a quadratic with curvatures in [l_min, l_max].

    ``eta = (2 / (sqrt(l_min) + sqrt(l_max)))^2``, ``mu = ((sqrt(kappa) - 1) / (sqrt(kappa) + 1))^2``
    and the rate ``(sqrt(kappa) - 1) / (sqrt(kappa) + 1)``, kappa = l_max / l_min: both ends of the
    spectrum then have a double root of modulus sqrt(mu). Compare GD's (kappa - 1) / (kappa + 1).
    Returns (lr, mu, rate) as floats.
    """
    lmin, lmax, kappa = _interval(lambda_min, lambda_max)
    s = math.sqrt(kappa)
    rate = (s - 1.0) / (s + 1.0)
    return 4.0 / (math.sqrt(lmin) + math.sqrt(lmax)) ** 2, rate * rate, rate


def nesterov_matrix(lr, mu, lam) -> np.ndarray:
    """Iteration matrix of Nesterov's method (look-ahead form) along curvature lam.

    v_t = mu v_{t-1} - eta lam (e_{t-1} + mu v_{t-1}), e_t = e_{t-1} + v_t, i.e.::

        M = [[1 - eta lam, mu (1 - eta lam)], [-eta lam, mu (1 - eta lam)]]

    shape S + (2, 2) for lr, mu, lam broadcasting to S. Eigenvalues: the roots of
    z^2 - (1 + mu)(1 - eta lam) z + mu (1 - eta lam). PyTorch's form (iterate w + mu v) has the same.
    """
    a, mu = _theory_args(lr, mu, lam)
    return _matrix(1.0 - a, mu * (1.0 - a), -a, mu * (1.0 - a))


def nesterov_spectral_radius(lr, mu, lam) -> np.ndarray:
    """rho of :func:`nesterov_matrix`: larger |z| of z^2 - (1 + mu)(1 - a) z + mu (1 - a), a = eta lam."""
    a, mu = _theory_args(lr, mu, lam)
    return _root_modulus((1.0 + mu) * (1.0 - a), mu * (1.0 - a))


def nesterov_rate(lr, mu, eigenvalues) -> np.ndarray:
    """Asymptotic per-step rate of Nesterov's method on a quadratic: max over eigenvalues of rho.

    As :func:`heavy_ball_rate` (the maximum over an interval of curvatures is again at an end).
    """
    lam = _spectrum(eigenvalues)
    lr = _real_array(lr, "lr (learning rate)")
    mu = _real_array(mu, "mu (momentum)")
    return nesterov_spectral_radius(lr[..., None], mu[..., None], lam).max(axis=-1)


def nesterov_converges(lr, mu, lam) -> np.ndarray:
    """True where Nesterov's method converges along curvature lam (rho < 1).

    Exactly when eta lam > 0, 1 + (1 + 2 mu)(1 - eta lam) > 0 and |mu (1 - eta lam)| < 1; for
    0 <= mu < 1 that is ``0 < eta lam < (2 + 2 mu) / (1 + 2 mu)``: GD's limit 2 at mu = 0, falling
    to 4/3 as mu -> 1 (heavy ball's grows to 4). Broadcasts; returns a bool array.
    """
    a, mu = _theory_args(lr, mu, lam)
    return (a > 0) & (1.0 + (1.0 + 2.0 * mu) * (1.0 - a) > 0) & (np.abs(mu * (1.0 - a)) < 1)


def nesterov_lr_limit(mu, lambda_max) -> np.ndarray:
    """Largest stable Nesterov step: eta < (2 + 2 mu) / ((1 + 2 mu) lambda_max), for 0 <= mu < 1."""
    mu = _momentum_in_unit_interval(mu)
    lmax = _real_array(lambda_max, "lambda_max (largest curvature)")
    if np.any(lmax <= 0):
        raise ValueError(f"lambda_max (largest curvature) must be positive, got {lambda_max!r}")
    return (2.0 + 2.0 * mu) / ((1.0 + 2.0 * mu) * lmax)


def nesterov_optimal(lambda_min, lambda_max) -> tuple[float, float, float]:
    """The (eta, mu) that minimise Nesterov's worst rate on quadratics with curvatures in [l_min, l_max].

    ``eta = 4 / (3 l_max + l_min)``, ``mu = (sqrt(3 kappa + 1) - 2) / (sqrt(3 kappa + 1) + 2)``, rate
    ``1 - 2 / sqrt(3 kappa + 1)`` (Lessard, Recht and Packard 2016); about 1 - 1.15 / sqrt(kappa),
    between heavy ball's 1 - 2 / sqrt(kappa) and GD's 1 - 2 / kappa. Returns (lr, mu, rate).
    """
    lmin, lmax, kappa = _interval(lambda_min, lambda_max)
    s = math.sqrt(3.0 * kappa + 1.0)
    return 4.0 / (3.0 * lmax + lmin), (s - 2.0) / (s + 2.0), 1.0 - 2.0 / s


def nesterov_standard(lambda_min, lambda_max) -> tuple[float, float, float]:
    """The textbook tuning of Nesterov's method for strongly convex functions (Nesterov 2004, 2.2).

    ``eta = 1 / l_max``, ``mu = (sqrt(kappa) - 1) / (sqrt(kappa) + 1)``; on a quadratic its rate is
    ``1 - 1 / sqrt(kappa)`` (a double root at l_min). Returns (lr, mu, rate).
    """
    lmin, lmax, kappa = _interval(lambda_min, lambda_max)
    s = math.sqrt(kappa)
    return 1.0 / lmax, (s - 1.0) / (s + 1.0), 1.0 - 1.0 / s


def first_order_lower_bound(kappa) -> np.ndarray:
    """(sqrt(kappa) - 1) / (sqrt(kappa) + 1): no first-order method can beat this rate on every
    quadratic of condition number kappa in high dimension (Nesterov 2004, Theorem 2.1.13), i.e.
    ``||w_t - w*|| >= rate^t ||w_0 - w*||`` for some such quadratic. Heavy ball at Polyak's setting
    attains it. kappa >= 1 (number or array)."""
    k = _real_array(kappa, "kappa (condition number)")
    if np.any(k < 1):
        raise ValueError(f"kappa (condition number) must be >= 1, got {kappa!r}")
    s = np.sqrt(k)
    return (s - 1.0) / (s + 1.0)
