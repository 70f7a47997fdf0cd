"""Small named example functions with exact derivatives, for the warm-up chapter (00).

From the lecture deck:

    f(x)    = e^x + 1              f'(x) = e^x                 f'(1) = e
    z(x, y) = e^x + 2 e^y + 1      grad z = (e^x, 2 e^y)       Hessian = diag(e^x, 2 e^y)

``ScalarFunction`` is a function of one real variable that works elementwise on arrays of any
shape (so ``f(np.linspace(-2, 2, 200))`` just works) and knows its exact first and second
derivatives. ``ExpSum2D`` is a 2-D objective with the ``Objective`` interface of docs/DESIGN.md:
``value(w)``, ``grad(w)``, ``hessian(w)`` for w of shape (..., 2).
"""

from __future__ import annotations

import numpy as np

from course_lib import _validate as V
from course_lib.objectives import Objective

__all__ = ["ScalarFunction", "ExpPlusOne", "exp_plus_one", "ExpSum2D", "exp_sum_2d"]


class ScalarFunction:
    """A differentiable function of one real variable, applied elementwise.

    Subclasses define ``_f``, ``_df``, ``_d2f`` on float arrays and set ``name`` (plain text) and
    ``latex`` (for plot labels).
    """

    name = "scalar function"
    latex = "f(x)"

    def __call__(self, x):
        """f(x), elementwise; a scalar in gives a 0-d float array out."""
        return self._f(V.finite_array(x, "x"))

    value = __call__

    def derivative(self, x):
        """The exact derivative f'(x), elementwise."""
        return self._df(V.finite_array(x, "x"))

    def second_derivative(self, x):
        """The exact second derivative f''(x), elementwise."""
        return self._d2f(V.finite_array(x, "x"))

    def tangent(self, x0):
        """The tangent line at x0 as a function:  t(x) = f(x0) + f'(x0) (x - x0)."""
        x0 = float(x0)
        f0, s = float(self(x0)), float(self.derivative(x0))
        return lambda x: f0 + s * (np.asarray(x, dtype=float) - x0)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class ExpPlusOne(ScalarFunction):
    """f(x) = e^x + 1,  f'(x) = e^x,  f''(x) = e^x.  At x = 1 the slope of the tangent is e."""

    name = "f(x) = e^x + 1"
    latex = r"$f(x) = e^x + 1$"

    def _f(self, x):
        return np.exp(x) + 1.0

    def _df(self, x):
        return np.exp(x)

    def _d2f(self, x):
        return np.exp(x)


class ExpSum2D(Objective):
    """z(x, y) = e^x + 2 e^y + 1 on the plane, with w = (x, y).

        value:    z = e^x + 2 e^y + 1                         w: (..., 2) -> (...)
        grad:     (dz/dx, dz/dy) = (e^x, 2 e^y)                -> (..., 2)
        hessian:  [[e^x, 0], [0, 2 e^y]]                       -> (..., 2, 2)

    The gradient is never zero: z has no minimizer (it decreases towards its infimum 1 as
    x, y -> -infinity), so ``minimizer`` and ``min_value`` are None. As for every Objective, w may
    hold inf/NaN (a diverging run can still be evaluated); only its shape is checked.
    """

    name = "z(x, y) = e^x + 2e^y + 1"
    latex = r"$z(x, y) = e^x + 2e^y + 1$"
    dim = 2
    minimizer = None
    min_value = None
    xlim = (-2.0, 1.5)
    ylim = (-2.0, 1.5)

    def value(self, w):
        w = self._points(w)
        return np.exp(w[..., 0]) + 2.0 * np.exp(w[..., 1]) + 1.0

    def grad(self, w):
        w = self._points(w)
        return np.stack([np.exp(w[..., 0]), 2.0 * np.exp(w[..., 1])], axis=-1)

    def hessian(self, w):
        w = self._points(w)
        H = np.zeros(w.shape[:-1] + (2, 2))
        H[..., 0, 0] = np.exp(w[..., 0])
        H[..., 1, 1] = 2.0 * np.exp(w[..., 1])
        return H


#: ready-made instances used in chapter 00
exp_plus_one = ExpPlusOne()
exp_sum_2d = ExpSum2D()
