"""Newton's method (chapter 01): minimise the local quadratic model at every step.

The second-order Taylor model around w,

    C(w + dw) ~ C(w) + g . dw + 1/2 dw^T H dw,        g = grad C(w),  H = Hessian of C at w,

has, **if H is positive definite**, its unique minimum at dw = -H^{-1} g. The (damped) Newton
update takes a fraction eta of that step:

    w <- w - eta H^{-1} g            (eta = lr = 1: the pure, undamped Newton step)

H^{-1} is never formed: the step solves the linear system H d = g (Cholesky factorisation as the
positive-definiteness test, then ``numpy.linalg.solve``).

If H is **not** positive definite the quadratic model has no minimum: -H^{-1} g is a saddle or a
maximum of the model, and stepping there can move *uphill* (Newton is attracted to every
stationary point, saddles and maxima included). ``Newton`` therefore refuses by default:

    on_indefinite="raise"  (default) raise ``NotPositiveDefiniteHessian`` (a ValueError) whose
                           message lists the eigenvalues of H;
    on_indefinite="warn"   warn (``IndefiniteHessianWarning``) and take the raw step anyway;
    on_indefinite="step"   silently take the raw step -H^{-1} g (to *show* the failure mode).
"""

from __future__ import annotations

import warnings

from functools import partial

import numpy as np

from .. import _validate as V
from .base import Optimizer, _Quiet

__all__ = [
    "Newton",
    "NotPositiveDefiniteHessian",
    "IndefiniteHessianWarning",
    "check_positive_definite",
    "is_positive_definite",
    "newton_direction",
]

_ON_INDEFINITE = ("raise", "warn", "step")


class NotPositiveDefiniteHessian(ValueError):
    """The Hessian is not positive definite, so the quadratic model has no minimum.

    ``eigenvalues`` holds the eigenvalues of the offending matrix (ascending; for a stack of
    matrices, shape (..., dim))."""

    def __init__(self, message, eigenvalues=None):
        super().__init__(message)
        self.eigenvalues = eigenvalues


class IndefiniteHessianWarning(UserWarning):
    """Warned by ``Newton(on_indefinite="warn")`` when it steps with a non-positive-definite H."""


def _eigs(eigs) -> str:
    """Eigenvalues as a student writes them: [-2, 2], [2.961, 32.96]."""
    return "[" + ", ".join(f"{float(e):.4g}" for e in np.ravel(eigs)) + "]"


def is_positive_definite(H) -> np.ndarray | bool:
    """True where the symmetric matrix H (shape (..., n, n)) is positive definite (Cholesky test)."""
    H = np.asarray(H, dtype=float)
    try:
        np.linalg.cholesky(H)
        return True if H.ndim == 2 else np.ones(H.shape[:-2], dtype=bool)
    except np.linalg.LinAlgError:
        pass
    eigs = np.linalg.eigvalsh(H)
    ok = np.all(eigs > 0, axis=-1)
    return bool(ok) if H.ndim == 2 else ok


def _not_pd_message(eigs, what: str) -> str:
    eigs = np.asarray(eigs)
    if eigs.ndim == 1:
        if np.all(eigs < 0):
            kind = "negative definite (every curvature is negative: the model has a maximum, not a minimum)"
        elif np.any(eigs < 0) and np.any(eigs > 0):
            kind = "indefinite (curvature up in some directions, down in others: the model has a saddle)"
        elif np.any(eigs < 0):
            kind = "negative semidefinite (no direction curves up: the model has no minimum)"
        else:
            kind = "singular (a zero curvature: the model has no unique minimum)"
        return (f"{what} is not positive definite: its eigenvalues are {_eigs(eigs)}, so it is {kind}. "
                "The Newton step -H^-1 g would head for that stationary point, not for a minimum. "
                "Use gradient descent here, add a multiple of the identity to H, or pass "
                "on_indefinite='step' to take the raw step anyway.")
    bad = ~np.all(eigs > 0, axis=-1)
    idx = [tuple(int(i) for i in ix) for ix in np.argwhere(bad)]
    first = idx[0]
    return (f"{what} is not positive definite for {len(idx)} of {bad.size} stacked problems "
            f"(first at index {first}, eigenvalues {_eigs(eigs[first])}). The Newton step would head "
            "for a saddle or a maximum there; pass on_indefinite='step' to take it anyway.")


def check_positive_definite(H, what: str = "the Hessian") -> None:
    """Raise ``NotPositiveDefiniteHessian`` (with the eigenvalues in the message) unless every matrix
    in H (shape (..., n, n), symmetric) is positive definite."""
    H = np.asarray(H, dtype=float)
    try:
        np.linalg.cholesky(H)
        return
    except np.linalg.LinAlgError:
        pass
    eigs = np.linalg.eigvalsh(H)
    if np.all(eigs > 0):  # Cholesky failed on round-off only; accept
        return
    raise NotPositiveDefiniteHessian(_not_pd_message(eigs, what), eigenvalues=eigs)


def newton_direction(g, H) -> np.ndarray:
    """d = H^{-1} g by solving H d = g (never forming H^{-1}); g (..., n), H (..., n, n) -> (..., n).

    Raises a ValueError naming the problem if H is singular."""
    g = np.asarray(g, dtype=float)
    H = np.asarray(H, dtype=float)
    try:
        return np.linalg.solve(H, g[..., None])[..., 0]
    except np.linalg.LinAlgError:
        eigs = np.linalg.eigvalsh(H)
        raise NotPositiveDefiniteHessian(
            f"the Hessian is singular (eigenvalues {_eigs(eigs)}), so H d = g has no unique "
            "solution and the Newton step is undefined", eigenvalues=eigs) from None


class Newton(Optimizer):
    """Damped Newton's method:  w <- w - eta H^{-1} g.

    Parameters
    ----------
    lr : float or array, default 1.0
        eta, the fraction of the Newton step to take (eta = 1 is the pure Newton step that lands
        exactly on the minimum of the quadratic model). Must be positive; an array broadcasts
        against the parameters (vectorised mode, e.g. shape (K, 1) for params of shape (K, d)).
    on_indefinite : {"raise", "warn", "step"}, default "raise"
        What to do when H is not positive definite (see the module docstring).
    symmetry_tol : float, default 1e-6
        H must be symmetric: max |H - H^T| <= symmetry_tol * max(1, max |H|), else ValueError.
    check_finite : bool, default True
        As for every course optimizer: raise ``DivergenceError`` on a NaN/inf gradient or iterate.

    Use: ``needs_hessian = True``, so the runner calls ``step(params, grads, hessians=...)`` with,
    for every key, g of shape (..., d) and H of shape (..., d, d) (a stack of problems is solved at
    once). ``state[key]`` holds ``step`` (t, the number of steps taken) and ``eigenvalues``: the
    eigenvalues of the last Hessian that was not positive definite (None while all were).
    """

    needs_hessian = True
    _rules = {
        "lr": partial(V.positive, label="lr (the Newton step fraction eta)", array=True),
        "on_indefinite": partial(V.choice, label="on_indefinite", options=_ON_INDEFINITE),
    }

    def __init__(self, lr=1.0, on_indefinite: str = "raise", symmetry_tol: float = 1e-6, *,
                 param_groups=None, check_finite: bool = True):
        self.symmetry_tol = V.nonneg(symmetry_tol, "symmetry_tol")
        super().__init__(dict(lr=lr, on_indefinite=on_indefinite), param_groups=param_groups,
                         check_finite=check_finite)

    def _init_state(self, w, h) -> dict:
        return {"eigenvalues": None}

    def direction(self, g, H, key: str = "w", on_indefinite: str | None = None) -> np.ndarray:
        """The Newton direction d = H^{-1} g for one parameter (the step is -lr * d), applying the
        ``on_indefinite`` policy (this key's, unless given). g (..., d), H (..., d, d)."""
        policy = on_indefinite or self.hypers(key).on_indefinite
        g = np.asarray(g, dtype=float)
        try:
            H = np.asarray(H, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"hessians[{key!r}] must be an array of numbers, got {H!r}") from None
        if H.shape != g.shape + g.shape[-1:]:
            raise ValueError(
                f"hessians[{key!r}] must have shape {g.shape + g.shape[-1:]} for a gradient of "
                f"shape {g.shape}, got {H.shape}")
        if not np.all(np.isfinite(H)):
            raise ValueError(f"hessians[{key!r}] contains NaN or infinity")
        asym = float(np.max(np.abs(H - np.swapaxes(H, -1, -2)))) if H.size else 0.0
        if asym > self.symmetry_tol * max(1.0, float(np.max(np.abs(H)))):
            raise ValueError(f"hessians[{key!r}] is not symmetric (max |H - H^T| = {asym:.3g}); "
                             "the Hessian of a twice continuously differentiable function is")
        st = self.state.setdefault(key, {"step": 0, "eigenvalues": None})
        try:
            check_positive_definite(H, what=f"the Hessian for params[{key!r}]")
        except NotPositiveDefiniteHessian as err:
            st["eigenvalues"] = err.eigenvalues
            if policy == "raise":
                raise
            if policy == "warn":
                warnings.warn(str(err).split(" Use gradient")[0] + " Taking the raw Newton step anyway.",
                              IndefiniteHessianWarning, stacklevel=3)
        return newton_direction(g, H)

    def step(self, params, grads, hessians=None) -> None:
        """In place: params[k] -= lr * H_k^{-1} g_k for every key k (H_k = hessians[k])."""
        if hessians is None:
            raise ValueError("Newton needs the Hessian: call step(params, grads, hessians={key: H}) "
                             "(course_lib.runner.run does this for optimizers with needs_hessian=True)")
        items = self._prepare(params, grads)
        if not isinstance(hessians, dict) or any(k not in hessians for k in params):
            raise ValueError(f"hessians must be a dict with the keys of params {list(params)}, "
                             f"got {list(hessians) if isinstance(hessians, dict) else type(hessians).__name__}")
        # all directions first, so that a refusal leaves every parameter untouched
        dirs = [self.direction(g, hessians[key], key, ki.h.on_indefinite)
                for key, w, g, state, ki in items]
        with _Quiet():
            for (key, w, g, state, ki), d in zip(items, dirs):
                state["step"] += 1
                d *= ki.h.lr
                w -= d
        if self.check_finite:
            self._check_finite(items)
