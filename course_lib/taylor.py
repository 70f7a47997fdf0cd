"""Taylor models of order 1 and 2 around a point (chapter 01).

Around a point ``w0`` a smooth function ``C`` is approximated by

* the **linear** (first-order) model
  ``m1(w0 + dw) = C(w0) + g . dw``,
* the **quadratic** (second-order) model
  ``m2(w0 + dw) = C(w0) + g . dw + 1/2 dw^T H dw``,

with ``g = grad C(w0)`` and ``H`` the Hessian (matrix of second partial derivatives) at ``w0``.
The error of ``m1`` is O(||dw||^2) and the error of ``m2`` is O(||dw||^3) (for a three times
differentiable C). If H is positive definite, ``m2`` has its unique minimum at
``dw = -H^{-1} g``: that is the Newton step (``course_lib.newton``).

Where the derivatives come from:

* an ``Objective`` (anything with ``value``, ``grad`` and ``hessian`` methods): its analytic
  ``grad`` and ``hessian``;
* a plain callable ``f``: explicitly given ``grad=`` / ``hessian=`` callables, otherwise centred
  finite differences from :mod:`course_lib.gradcheck` (the only home of finite differences):
  the gradient from values of f, the Hessian as the difference of the given ``grad`` when there
  is one (more accurate), else from values of f.

A scalar ``w0`` (a Python or NumPy scalar) means a function of one real variable ``f(x)``; the
model is then evaluated on scalars or arrays of x of any shape, element by element.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib import _validate as V
from course_lib import gradcheck
from course_lib.optim.newton import check_positive_definite

__all__ = ["TaylorModel", "taylor_model", "linear_model", "quadratic_model"]


def _is_objective(f) -> bool:
    return all(callable(getattr(f, name, None)) for name in ("value", "grad", "hessian"))


@dataclass(frozen=True)
class TaylorModel:
    """The Taylor model of order 1 or 2 of a function around ``w0``.

    m(w) = f0 + g . (w - w0) [+ 1/2 (w - w0)^T H (w - w0) if order == 2]

    Attributes
    ----------
    w0 : ndarray (dim,)   expansion point (shape (1,) for a function of one variable)
    f0 : float            C(w0)
    g : ndarray (dim,)    gradient at w0
    H : ndarray (dim, dim) or None   Hessian at w0 (None for order 1)
    order : int           1 or 2
    scalar : bool         True when the function takes a scalar x (w0 was given as a scalar);
                          then ``model(x)`` works element-wise on arrays of x of any shape.
    """

    w0: np.ndarray
    f0: float
    g: np.ndarray
    H: np.ndarray | None
    order: int
    scalar: bool = False

    @property
    def dim(self) -> int:
        return self.w0.shape[0]

    @property
    def name(self) -> str:
        kind = "linear" if self.order == 1 else "quadratic"
        where = f"{self.w0[0]:.3g}" if self.scalar else "(" + ", ".join(f"{v:.3g}" for v in self.w0) + ")"
        return f"{kind} Taylor model around {where}"

    def __call__(self, w):
        """Evaluate the model; ``w`` has shape (..., dim), or any shape in the scalar case."""
        w = np.asarray(w, dtype=float)
        if self.scalar:
            w = w[..., None]
        elif w.shape[-1:] != (self.dim,):
            raise ValueError(
                f"w must have shape (..., {self.dim}) for this {self.dim}-dimensional model, "
                f"got shape {w.shape}"
            )
        dw = w - self.w0
        m = self.f0 + dw @ self.g
        if self.order == 2:
            m = m + 0.5 * np.einsum("...i,ij,...j->...", dw, self.H, dw)
        return m[()] if np.ndim(m) == 0 else m

    #: so that the model can be drawn like an Objective (e.g. by plotting.contour_trajectories)
    value = __call__

    @property
    def eigenvalues(self) -> np.ndarray:
        """Eigenvalues of H in ascending order = curvatures along its eigenvectors."""
        self._need_order_2("eigenvalues")
        return np.linalg.eigvalsh(self.H)

    def stationary_step(self) -> np.ndarray:
        """dw = -H^{-1} g, where the gradient of the quadratic model vanishes (via a linear solve).

        It is the model's minimum only if H is positive definite; for an indefinite H it is a
        saddle of the model, for a negative definite H its maximum. Shape (dim,), or a float in
        the scalar case.
        """
        self._need_order_2("stationary_step")
        try:
            dw = -np.linalg.solve(self.H, self.g)
        except np.linalg.LinAlgError:
            raise ValueError(
                "the Hessian at w0 is singular, so the quadratic model has no unique "
                f"stationary point (eigenvalues {np.array2string(self.eigenvalues, precision=4)})"
            ) from None
        return float(dw[0]) if self.scalar else dw

    def minimizer(self):
        """w0 - H^{-1} g, the minimum of the quadratic model; raises
        ``NotPositiveDefiniteHessian`` (a ValueError) if H is not positive definite, because then
        the model has no minimum."""
        self._need_order_2("minimizer")
        check_positive_definite(self.H, what="the Hessian at w0")
        dw = self.stationary_step()
        return (float(self.w0[0]) + dw) if self.scalar else self.w0 + dw

    def _need_order_2(self, what):
        if self.order != 2:
            raise ValueError(f"{what} needs the quadratic (order 2) model; this one has order 1")


def taylor_model(f, w0, order: int = 2, *, grad=None, hessian=None, h=None) -> TaylorModel:
    """Taylor model of ``f`` around ``w0``: order 1 (linear) or 2 (quadratic).

    Parameters
    ----------
    f : Objective or callable
        An ``Objective`` (has ``value``/``grad``/``hessian``) uses its analytic derivatives.
        A callable ``f(w)`` (w of shape (dim,)) or ``f(x)`` (scalar x, when ``w0`` is a scalar)
        uses ``grad``/``hessian`` if given, else centred finite differences from
        :mod:`course_lib.gradcheck`.
    w0 : array (dim,) or scalar
        Expansion point.
    order : 1 or 2
    grad, hessian : callables, optional
        Exact derivatives of a plain callable: ``grad(w0) -> (dim,)``, ``hessian(w0) -> (dim, dim)``
        (in the scalar case ``f'(x)`` and ``f''(x)`` returning floats). With ``grad`` but no
        ``hessian``, H is the centred difference of ``grad``.
    h : float, optional
        Finite-difference step passed to gradcheck (its default otherwise).
    """
    if order not in (1, 2):
        raise ValueError(f"order of the Taylor model must be 1 (linear) or 2 (quadratic), got {order!r}")
    scalar = np.ndim(w0) == 0
    w0 = np.atleast_1d(np.asarray(w0, dtype=float)).copy()
    if w0.ndim != 1:
        raise ValueError(f"w0 (expansion point) must be a scalar or a 1-D array, got shape {w0.shape}")
    V.finite_array(w0, "w0 (expansion point)")

    if _is_objective(f):
        if grad is not None or hessian is not None:
            raise ValueError("pass grad=/hessian= only for a plain callable, not for an Objective")
        f0 = float(f.value(w0))
        g = np.asarray(f.grad(w0), dtype=float).reshape(w0.shape)
        H = np.asarray(f.hessian(w0), dtype=float).reshape(w0.size, w0.size) if order == 2 else None
    elif callable(f):
        if scalar:
            x0 = float(w0[0])
            f0 = float(f(x0))
            g = np.array([float(grad(x0)) if grad is not None
                          else float(gradcheck.numerical_derivative(f, x0, h=h))])
            if order == 2:
                if hessian is not None:
                    H = np.array([[float(hessian(x0))]])
                elif grad is not None:
                    H = np.array([[float(gradcheck.numerical_derivative(grad, x0, h=h))]])
                else:
                    H = np.asarray(gradcheck.numerical_hessian(lambda w: f(w[0]), w0.copy(), h=h,
                                                               from_gradient=False),
                                   dtype=float).reshape(1, 1)
            else:
                H = None
        else:
            f0 = float(f(w0))
            g = np.asarray(grad(w0) if grad is not None
                           else gradcheck.numerical_gradient(f, w0.copy(), h=h), dtype=float).reshape(w0.shape)
            if order == 2:
                if hessian is not None:
                    H = np.asarray(hessian(w0), dtype=float)
                elif grad is not None:
                    H = gradcheck.numerical_hessian(grad, w0.copy(), h=h, from_gradient=True)
                else:
                    H = gradcheck.numerical_hessian(f, w0.copy(), h=h, from_gradient=False)
                H = H.reshape(w0.size, w0.size)
            else:
                H = None
    else:
        raise ValueError(f"f must be an Objective or a callable, got {type(f).__name__}")

    if not np.isfinite(f0) or not np.all(np.isfinite(g)) or (H is not None and not np.all(np.isfinite(H))):
        raise ValueError(f"f, its gradient or its Hessian is not finite at w0 = {w0}")
    return TaylorModel(w0=w0, f0=f0, g=g, H=H, order=order, scalar=scalar)


def linear_model(f, w0, **kwargs) -> TaylorModel:
    """First-order model m1(w0 + dw) = C(w0) + g . dw (see :func:`taylor_model`)."""
    return taylor_model(f, w0, order=1, **kwargs)


def quadratic_model(f, w0, **kwargs) -> TaylorModel:
    """Second-order model m2(w0 + dw) = C(w0) + g . dw + 1/2 dw^T H dw (see :func:`taylor_model`)."""
    return taylor_model(f, w0, order=2, **kwargs)
