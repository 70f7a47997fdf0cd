"""Test functions ("objectives") that the optimizers of the course minimise.

Every objective follows one interface (docs/DESIGN.md)::

    f.value(w)    w: (..., dim) -> (...)            (a plain float for a single point w of shape (dim,))
    f.grad(w)     w: (..., dim) -> (..., dim)
    f.hessian(w)  w: (..., dim) -> (..., dim, dim)
    f(w)          same as f.value(w)

All three are vectorised: pass one point of shape ``(dim,)``, a path of shape ``(T, dim)`` or a
whole grid of shape ``(ny, nx, dim)`` and get one answer per point.  Attributes: ``name`` (used in
plot titles), ``dim``, ``minimizer`` (a global minimizer where known, else None), ``min_value``,
``xlim`` / ``ylim`` (a good default plot window for 2-D objectives).

Objectives here
---------------
``Quadratic(A, b, c)``      f(w) = 1/2 w^T A w - b^T w + c, A symmetric positive definite
``bowl(kappa=20)``          the running example w_1^2/20 + w_2^2 (a Quadratic with A = diag(2/kappa, 2))
``Rosenbrock(a=1, b=100)``  (a - x)^2 + b (y - x^2)^2, the curved "banana" valley
``Saddle()``                w_1^2 - w_2^2, a saddle point at the origin
``MultiMinima1D()``         the double well w^4/4 - w^3/3 - w^2 (spurious minimum at -1, global at 2)
``MultiMinima()``           a 2-D landscape with four local minima, four saddles and one maximum
``LinearRegressionMSE(X, y)``  L(w) = 1/n ||y - X w||^2 with per-sample losses and gradients
"""

from __future__ import annotations

import numpy as np

from . import _validate as V

__all__ = [
    "Objective",
    "Quadratic",
    "bowl",
    "Rosenbrock",
    "Saddle",
    "MultiMinima1D",
    "MultiMinima",
    "LinearRegressionMSE",
]


def _readonly(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def _scalar_if_0d(v: np.ndarray):
    # value() of a single point is a plain number (np.float64), of a batch an array
    return v[()] if np.ndim(v) == 0 else v


def _quadratic_window(A: np.ndarray, center: np.ndarray, fallback_radius: float):
    """Default plot window around the minimizer ``center`` of a 2-D quadratic with Hessian A.

    The natural scale is the level set through the usual start w0 = 0, the ellipse
    1/2 (w - c)^T A (w - c) <= 1/2 c^T A c; along its long axis the window has 1.3 times that
    ellipse's half-width (``fallback_radius`` when the minimizer is the origin).  The other axis is
    narrowed by sqrt(extent ratio) only, so an elongated bowl still *looks* elongated (a window
    matched to the ellipse would draw every bowl as a circle and hide the conditioning).
    """
    Ainv = np.linalg.inv(A)
    extent = np.sqrt(np.diag(Ainv))  # bounding box of the ellipse w^T A w <= 1
    level = float(center @ A @ center)
    radius = 1.3 * np.sqrt(level) * extent.max() if level > 1e-24 else fallback_radius
    half = radius * np.sqrt(extent / extent.max())
    half = np.maximum(half, 1.25 * np.abs(center))  # keep the origin (the usual w0) in view
    return ((float(center[0] - half[0]), float(center[0] + half[0])),
            (float(center[1] - half[1]), float(center[1] + half[1])))


class Objective:
    """Base class: a function f: R^dim -> R with its gradient and Hessian.

    Subclasses set ``name``, ``dim``, ``minimizer``, ``min_value``, ``xlim``, ``ylim`` and implement
    ``value``, ``grad`` and ``hessian`` for w of shape (..., dim).  ``_points(w)`` converts and checks
    the input; it deliberately accepts inf/NaN coordinates, so a diverging run can still be evaluated
    (and reported as diverged by the runner) instead of crashing.
    """

    name: str = "objective"
    latex: str | None = None   # optional mathtext title for plots, e.g. r"saddle $x^2 - y^2$"
    dim: int = 0
    minimizer: np.ndarray | None = None
    min_value: float | None = None
    xlim: tuple[float, float] | None = None
    ylim: tuple[float, float] | None = None

    def _points(self, w) -> np.ndarray:
        try:
            w = np.asarray(w, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"w must be an array of numbers of shape (..., {self.dim}), got {w!r}") from exc
        if w.ndim == 0 or w.shape[-1] != self.dim:
            raise ValueError(
                f"w must have last dimension {self.dim}, got shape {w.shape} "
                f"(one point is an array of shape ({self.dim},), a batch of points has shape (..., {self.dim}))"
            )
        return w

    def value(self, w):
        """f(w) for w of shape (..., dim); returns shape (...)."""
        raise NotImplementedError

    def grad(self, w) -> np.ndarray:
        """Gradient of f for w of shape (..., dim); returns shape (..., dim)."""
        raise NotImplementedError

    def hessian(self, w) -> np.ndarray:
        """Hessian of f for w of shape (..., dim); returns shape (..., dim, dim)."""
        raise NotImplementedError

    def __call__(self, w):
        return self.value(w)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


# ----------------------------------------------------------------------------------------------
# quadratics
# ----------------------------------------------------------------------------------------------

class _ConstantCurvature:
    """Curvature summary of an objective with a constant Hessian, whose ascending eigenvalues
    are stored in ``self._eig`` (a quadratic, linear-regression MSE)."""

    _eig: np.ndarray

    @property
    def eigenvalues(self) -> np.ndarray:
        """Eigenvalues of the (constant) Hessian in ascending order: the curvatures of the bowl."""
        return self._eig

    @property
    def lambda_min(self) -> float:
        return float(self._eig[0])

    @property
    def lambda_max(self) -> float:
        return float(self._eig[-1])

    @property
    def kappa(self) -> float:
        """Condition number lambda_max / lambda_min (1 for a round bowl; inf if lambda_min = 0)."""
        return float(self._eig[-1] / self._eig[0]) if self._eig[0] > 0 else float("inf")


class Quadratic(_ConstantCurvature, Objective):
    """f(w) = 1/2 w^T A w - b^T w + c  with A symmetric positive definite.

    grad f(w) = A w - b,   Hessian = A (the same everywhere),
    minimizer w* = A^{-1} b,   min_value f(w*) = c - 1/2 b^T A^{-1} b.

    The eigenvalues of A are the curvatures along its eigenvectors; ``lambda_min``,
    ``lambda_max`` and the condition number ``kappa = lambda_max / lambda_min`` decide how fast
    gradient descent converges (chapter 02: it converges iff eta < 2 / lambda_max).

    Parameters
    ----------
    A : array (d, d), symmetric positive definite.
    b : array (d,), default zeros.
    c : float, default 0.
    name : optional title for plots; default ``"quadratic (kappa = ...)"``.
    """

    def __init__(self, A, b=None, c=0.0, *, name: str | None = None):
        A = V.finite_array(A, "A", copy=True)
        if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] == 0:
            raise ValueError(
                f"A must be a square matrix of shape (d, d), got shape {A.shape} "
                "(for a diagonal matrix use np.diag([...]))"
            )
        d = A.shape[0]
        asym = float(np.max(np.abs(A - A.T)))
        if asym > 1e-10 * max(1.0, float(np.max(np.abs(A)))):
            raise ValueError(
                f"A must be symmetric (A == A.T), got max |A - A.T| = {asym:.3g}; "
                "use (A + A.T) / 2 if you meant its symmetric part"
            )
        A = 0.5 * (A + A.T)  # remove rounding-level asymmetry so eigvalsh and the Hessian agree
        eig = np.linalg.eigvalsh(A)
        if eig[0] <= 1e-14 * max(abs(eig[-1]), 1e-300):
            raise ValueError(
                f"A must be positive definite (all eigenvalues > 0), got smallest eigenvalue {eig[0]:.4g} "
                f"(eigenvalues {np.array2string(eig, precision=4)})"
            )
        if b is None:
            b = np.zeros(d)
        b = V.finite_array(b, "b", copy=True)
        if b.shape != (d,):
            raise ValueError(f"b must have shape ({d},) to match A of shape {A.shape}, got shape {b.shape}")
        self.A = _readonly(A)
        self.b = _readonly(b)
        self.c = V.real(c, "c")
        self.dim = d
        self._eig = _readonly(eig)
        self.minimizer = _readonly(np.linalg.solve(A, b))
        self.min_value = float(self.c - 0.5 * b @ self.minimizer)
        self.name = name if name is not None else (
            f"quadratic (kappa = {self.kappa:.3g})" if d == 2 else f"quadratic in {d} dimensions (kappa = {self.kappa:.3g})"
        )
        if d == 2:
            self.xlim, self.ylim = _quadratic_window(A, self.minimizer, fallback_radius=5.0)

    def value(self, w):
        """f(w) = 1/2 w^T A w - b^T w + c;  (..., d) -> (...)."""
        w = self._points(w)
        return _scalar_if_0d(0.5 * np.einsum("...i,ij,...j->...", w, self.A, w) - w @ self.b + self.c)

    def grad(self, w) -> np.ndarray:
        """A w - b;  (..., d) -> (..., d)."""
        w = self._points(w)
        return w @ self.A - self.b  # A is symmetric, so w @ A == (A w)^T for every row of a batch

    def hessian(self, w) -> np.ndarray:
        """A, repeated for every point;  (..., d) -> (..., d, d)."""
        w = self._points(w)
        return np.broadcast_to(self.A, w.shape[:-1] + self.A.shape).copy()

    def __repr__(self) -> str:
        return f"Quadratic(name={self.name!r}, dim={self.dim}, kappa={self.kappa:.4g})"


def bowl(kappa: float = 20.0) -> Quadratic:
    """The running example of the course: f(x, y) = x^2 / kappa + y^2.

    A Quadratic with A = diag(2/kappa, 2), b = 0, c = 0, so its condition number is exactly
    ``kappa``; the default kappa = 20 gives the bowl w_1^2/20 + w_2^2 of Deep Learning from Scratch
    (eigenvalues 0.1 and 2, minimum 0 at the origin; d2l's 0.1 x^2 + 2 y^2 has the same kappa).  Plot window: x in [-10, 10] for
    kappa = 20 (wider for larger kappa), y in [-5, 5].
    """
    kappa = V.real(kappa, "kappa (condition number)", lo=1)
    q = Quadratic(np.diag([2.0 / kappa, 2.0]), name=f"quadratic bowl w_1^2/{kappa:g} + w_2^2")
    q.latex = rf"quadratic bowl $w_1^2/{kappa:g} + w_2^2$"
    half_x = float(max(5.0, 10.0 * np.sqrt(kappa / 20.0)))
    q.xlim = (-half_x, half_x)
    q.ylim = (-5.0, 5.0)
    return q


# ----------------------------------------------------------------------------------------------
# classic non-quadratic test functions
# ----------------------------------------------------------------------------------------------

class Rosenbrock(Objective):
    """f(x, y) = (a - x)^2 + b (y - x^2)^2, the curved "banana" valley (w = (x, y)).

    grad  = ( -2 (a - x) - 4 b x (y - x^2),   2 b (y - x^2) )
    Hessian = [[ 2 - 4 b (y - x^2) + 8 b x^2,  -4 b x ],
               [ -4 b x,                        2 b    ]]
    Global minimizer (a, a^2) with value 0; for a = 1, b = 100 the Hessian there is
    [[802, -400], [-400, 200]] (condition number about 2508).
    """

    dim = 2

    def __init__(self, a: float = 1.0, b: float = 100.0):
        self.a = V.real(a, "a")
        self.b = V.positive(b, "b (the weight of the valley term)")
        self.minimizer = _readonly(np.array([self.a, self.a ** 2]))
        self.min_value = 0.0
        self.name = f"Rosenbrock (a = {self.a:g}, b = {self.b:g})"
        self.latex = rf"Rosenbrock $({self.a:g} - w_1)^2 + {self.b:g}\,(w_2 - w_1^2)^2$"
        self.xlim = (self.a - 3.0, self.a + 1.0) if self.a == 1.0 else (-abs(self.a) - 2.0, abs(self.a) + 2.0)
        self.ylim = (-1.0, 3.0) if self.a == 1.0 else (self.a ** 2 - 3.0, self.a ** 2 + 2.0)

    def value(self, w):
        w = self._points(w)
        x, y = w[..., 0], w[..., 1]
        return _scalar_if_0d((self.a - x) ** 2 + self.b * (y - x ** 2) ** 2)

    def grad(self, w) -> np.ndarray:
        w = self._points(w)
        x, y = w[..., 0], w[..., 1]
        r = y - x ** 2
        return np.stack([-2.0 * (self.a - x) - 4.0 * self.b * x * r, 2.0 * self.b * r], axis=-1)

    def hessian(self, w) -> np.ndarray:
        w = self._points(w)
        x, y = w[..., 0], w[..., 1]
        H = np.empty(w.shape[:-1] + (2, 2))
        H[..., 0, 0] = 2.0 - 4.0 * self.b * (y - x ** 2) + 8.0 * self.b * x ** 2
        H[..., 0, 1] = H[..., 1, 0] = -4.0 * self.b * x
        H[..., 1, 1] = 2.0 * self.b
        return H


class Saddle(Objective):
    """f(w_1, w_2) = w_1^2 - w_2^2: a saddle point at the origin, unbounded below.

    grad = (2x, -2y),  Hessian = diag(2, -2) (one positive, one negative eigenvalue: indefinite).
    There is no minimizer (``minimizer`` and ``min_value`` are None); ``saddle_point`` = (0, 0).
    Gradient descent started exactly on the x-axis converges to the saddle; any y != 0 escapes,
    slowly at first because the gradient is small near the saddle.
    """

    dim = 2
    name = "saddle w_1^2 - w_2^2"
    latex = r"saddle $w_1^2 - w_2^2$"
    minimizer = None
    min_value = None
    xlim = (-2.0, 2.0)
    ylim = (-2.0, 2.0)

    def __init__(self):
        self.saddle_point = _readonly(np.zeros(2))

    def value(self, w):
        w = self._points(w)
        return _scalar_if_0d(w[..., 0] ** 2 - w[..., 1] ** 2)

    def grad(self, w) -> np.ndarray:
        w = self._points(w)
        return np.stack([2.0 * w[..., 0], -2.0 * w[..., 1]], axis=-1)

    def hessian(self, w) -> np.ndarray:
        w = self._points(w)
        return np.broadcast_to(np.diag([2.0, -2.0]), w.shape[:-1] + (2, 2)).copy()


# ----------------------------------------------------------------------------------------------
# functions with several minima
# ----------------------------------------------------------------------------------------------

class MultiMinima1D(Objective):
    """A tilted double well in one variable (w has shape (..., 1)):

        f(x)   = s (x^4/4 - (l + r) x^3/3 + l r x^2/2)
        f'(x)  = s x (x - l)(x - r)
        f''(x) = s (3 x^2 - 2 (l + r) x + l r)

    with l = ``left`` < 0 < r = ``right`` and s = ``scale`` > 0.  The critical points are exact:
    local minima at x = l and x = r, a local maximum (the barrier) at x = 0 with f(0) = 0.  The
    minimum farther from 0 is the global one; f(r) = -s r^3 (r - 2l)/12, f(l) = -s l^3 (l - 2r)/12.

    Defaults l = -1, r = 2, s = 1 give f(x) = x^4/4 - x^3/3 - x^2: a shallow spurious minimum at
    x = -1 (f = -5/12, barrier height 5/12) and the global minimum at x = 2 (f = -8/3).  Gradient
    descent started at x < 0 stops in the spurious minimum; gradient noise (SGD) can carry it
    over the barrier at 0 into the global basin (chapter 03).

    Attributes: ``local_minima`` (2, 1) sorted by value (global first), ``local_minima_values``,
    ``local_maxima`` [[0.]], ``minimizer`` = the global minimum, ``min_value``.
    Being 1-D, pass points as shape (..., 1), e.g. ``f(xs[:, None])`` for a grid ``xs``.
    """

    dim = 1

    def __init__(self, left: float = -1.0, right: float = 2.0, scale: float = 1.0):
        l, r, s = V.real(left, "left"), V.real(right, "right"), V.positive(scale, "scale")
        if not l < 0 < r:
            raise ValueError(f"left must be negative and right positive (the barrier sits at 0), got left={l:g}, right={r:g}")
        if abs(l) == abs(r):
            raise ValueError(f"left and right must differ in size so one minimum is global, got left={l:g}, right={r:g}")
        self.left, self.right, self.scale = l, r, s
        minima = np.array([[l], [r]])
        vals = self.value(minima)
        order = np.argsort(vals)
        self.local_minima = _readonly(minima[order])
        self.local_minima_values = _readonly(vals[order])
        self.local_maxima = _readonly(np.zeros((1, 1)))
        self.minimizer = _readonly(self.local_minima[0].copy())
        self.min_value = float(self.local_minima_values[0])
        if (l, r, s) == (-1.0, 2.0, 1.0):
            self.name, self.latex = "double well w^4/4 - w^3/3 - w^2", r"double well $w^4/4 - w^3/3 - w^2$"
        else:
            self.name = f"double well (minima at {l:g} and {r:g})"
        margin = 0.5 * max(-l, r)
        self.xlim = (l - margin, r + margin)  # (-2, 3) for the defaults
        self.ylim = None

    def _poly(self, x):
        l, r, s = self.left, self.right, self.scale
        return s * (x ** 4 / 4.0 - (l + r) * x ** 3 / 3.0 + l * r * x ** 2 / 2.0)

    def value(self, w):
        w = self._points(w)
        return _scalar_if_0d(self._poly(w[..., 0]))

    def grad(self, w) -> np.ndarray:
        w = self._points(w)
        x = w[..., 0]
        return (self.scale * x * (x - self.left) * (x - self.right))[..., None]

    def hessian(self, w) -> np.ndarray:
        w = self._points(w)
        x = w[..., 0]
        l, r = self.left, self.right
        return (self.scale * (3.0 * x ** 2 - 2.0 * (l + r) * x + l * r))[..., None, None]


class MultiMinima(Objective):
    """A 2-D landscape with four local minima, four saddle points and one maximum:

        f(x, y) = g(x) + h(y),
        g(x) = x^4/4 - x^3/3 - x^2              g'(x) = x (x + 1)(x - 2)
        h(y) = y^4/2 - y^3/3 - 3 y^2/2          h'(y) = 2 y (y + 1)(y - 1.5)

    grad = (g'(x), h'(y)),  Hessian = diag(g''(x), h''(y)) with g'' = 3x^2 - 2x - 2,
    h'' = 6y^2 - 2y - 3.  Because f is a sum of two double wells (``MultiMinima1D``), every critical
    point is known exactly: x in {-1, 0, 2} times y in {-1, 0, 1.5}.

    ======================  ====================  ==========
    point                   kind                  f
    ======================  ====================  ==========
    (2, 1.5)                global minimum        -445/96 = -4.6354
    (2, -1)                 local minimum         -10/3   = -3.3333
    (-1, 1.5)               local minimum         -229/96 = -2.3854
    (-1, -1)                local minimum         -13/12  = -1.0833
    (0, -1), (0, 1.5),      saddle points
    (-1, 0), (2, 0)
    (0, 0)                  local maximum          0
    ======================  ====================  ==========

    Attributes: ``local_minima`` (4, 2) sorted by value (global first), ``local_minima_values``,
    ``saddle_points`` (4, 2), ``local_maxima`` (1, 2), ``minimizer`` = (2, 1.5), ``min_value``.
    Plain gradient descent ends in the minimum of the basin it starts in, which makes the function
    good for showing multistart, noise and restarts (chapters 03 and 04).
    """

    dim = 2
    name = "four-minima landscape"
    xlim = (-2.2, 3.0)
    ylim = (-2.0, 2.5)

    def __init__(self):
        self._gx = MultiMinima1D(-1.0, 2.0, 1.0)
        self._hy = MultiMinima1D(-1.0, 1.5, 2.0)
        xs, ys = np.array([-1.0, 2.0]), np.array([-1.0, 1.5])
        minima = np.array([[x, y] for x in xs for y in ys])
        vals = self.value(minima)
        order = np.argsort(vals)
        self.local_minima = _readonly(minima[order])
        self.local_minima_values = _readonly(vals[order])
        self.saddle_points = _readonly(np.array([[0.0, -1.0], [0.0, 1.5], [-1.0, 0.0], [2.0, 0.0]]))
        self.local_maxima = _readonly(np.zeros((1, 2)))
        self.minimizer = _readonly(self.local_minima[0].copy())
        self.min_value = float(self.local_minima_values[0])

    def value(self, w):
        w = self._points(w)
        return _scalar_if_0d(self._gx.value(w[..., :1]) + self._hy.value(w[..., 1:]))

    def grad(self, w) -> np.ndarray:
        w = self._points(w)
        return np.concatenate([self._gx.grad(w[..., :1]), self._hy.grad(w[..., 1:])], axis=-1)

    def hessian(self, w) -> np.ndarray:
        w = self._points(w)
        H = np.zeros(w.shape[:-1] + (2, 2))
        H[..., 0, 0] = self._gx.hessian(w[..., :1])[..., 0, 0]
        H[..., 1, 1] = self._hy.hessian(w[..., 1:])[..., 0, 0]
        return H


# ----------------------------------------------------------------------------------------------
# linear regression
# ----------------------------------------------------------------------------------------------

class LinearRegressionMSE(_ConstantCurvature, Objective):
    """Mean squared error of a linear model on data (X, y):

        L(w)   = 1/n sum_i L_i(w) = 1/n ||y - X w||^2,      L_i(w) = (y_i - x_i^T w)^2
        grad   = -2/n X^T (y - X w)    = 1/n sum_i grad L_i,  grad L_i = -2 (y_i - x_i^T w) x_i
        Hessian = 2/n X^T X             (constant: L is a quadratic in w)

    Shapes: X (n, d), y (n,), w (..., d) -- a batch of weight vectors is evaluated at once.
    The loss is the plain mean (no 1/2 factor), the same convention in value, grad and Hessian.

    Extras for the stochastic chapters:

    * ``sample_losses(w)`` -> (..., n): every L_i(w).
    * ``sample_grad(w, i)`` -> (..., d): grad L_i(w) for one row index i (an int);
      with an array of indices it is the same as ``batch_grad``.
    * ``batch_grad(w, idx)`` -> (..., d): gradient of the mean loss over the rows idx,
      -2/m X_B^T (y_B - X_B w).  idx is an int, an index array of shape (m,) shared by every point
      of the batch, or of shape (..., m) (one mini-batch per point, broadcast against w's batch).
    * ``per_sample_grads(w, idx=None)`` -> (..., m, d): the individual grad L_i, for variance plots.
    * ``solve()`` the least-squares solution (np.linalg.lstsq); also ``minimizer``/``min_value``.
    * ``eigenvalues``/``lambda_min``/``lambda_max``/``kappa`` of the Hessian 2/n X^T X, and
      ``as_quadratic()`` returning the same loss as a ``Quadratic``.
    """

    def __init__(self, X, y, *, name: str | None = None):
        X = V.finite_array(X, "X", copy=True)
        y = V.finite_array(y, "y", copy=True)
        if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
            raise ValueError(f"X must be a 2-D array of shape (n samples, d features), got shape {X.shape}")
        if y.ndim != 1 or y.shape[0] != X.shape[0]:
            raise ValueError(
                f"y must be a 1-D array with one target per row of X, i.e. shape ({X.shape[0]},), got shape {y.shape}"
            )
        self.X = _readonly(X)
        self.y = _readonly(y)
        self.n, self.dim = X.shape
        self._H = _readonly(2.0 / self.n * X.T @ X)
        self._eig = _readonly(np.linalg.eigvalsh(self._H))
        self.minimizer = _readonly(self.solve())
        self.min_value = float(self.value(self.minimizer))
        self.name = name if name is not None else f"linear regression MSE (n = {self.n}, d = {self.dim})"
        if self.dim == 2 and self._eig[0] > 1e-12 * self._eig[-1]:
            self.xlim, self.ylim = _quadratic_window(self._H, self.minimizer, fallback_radius=1.0)

    # --- full loss ----------------------------------------------------------------------------
    def _residuals(self, w):
        return self.y - w @ self.X.T  # (..., n)

    def value(self, w):
        """L(w) = 1/n ||y - X w||^2;  (..., d) -> (...)."""
        w = self._points(w)
        return _scalar_if_0d(np.mean(self._residuals(w) ** 2, axis=-1))

    def grad(self, w) -> np.ndarray:
        """-2/n X^T (y - X w);  (..., d) -> (..., d)."""
        w = self._points(w)
        return -2.0 / self.n * self._residuals(w) @ self.X

    def hessian(self, w) -> np.ndarray:
        """2/n X^T X for every point;  (..., d) -> (..., d, d)."""
        w = self._points(w)
        return np.broadcast_to(self._H, w.shape[:-1] + self._H.shape).copy()

    # --- per sample / mini-batch --------------------------------------------------------------
    def _indices(self, idx) -> np.ndarray:
        arr = np.asarray(idx)
        if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(f"idx must hold integer row indices, got {idx!r}")
        if arr.size == 0 or (arr.ndim >= 1 and arr.shape[-1] == 0):
            raise ValueError("idx must hold at least one row index, got an empty array")
        bad = (arr < 0) | (arr >= self.n)
        if np.any(bad):
            raise ValueError(f"idx must hold row indices in [0, n) = [0, {self.n}), got {arr[bad].flat[0]}")
        return arr

    def sample_losses(self, w) -> np.ndarray:
        """Every per-sample loss L_i(w) = (y_i - x_i^T w)^2;  (..., d) -> (..., n)."""
        w = self._points(w)
        return self._residuals(w) ** 2

    def per_sample_grads(self, w, idx=None) -> np.ndarray:
        """grad L_i(w) = -2 (y_i - x_i^T w) x_i for the rows idx (all rows if None);  -> (..., m, d)."""
        w = self._points(w)
        idx = np.arange(self.n) if idx is None else np.atleast_1d(self._indices(idx))
        XB, yB = self.X[idx], self.y[idx]                       # (..., m, d), (..., m)
        r = yB - np.einsum("...md,...d->...m", XB, w)
        return -2.0 * r[..., None] * XB

    def batch_grad(self, w, idx) -> np.ndarray:
        """Gradient of the mean loss over the rows idx: -2/m X_B^T (y_B - X_B w);  -> (..., d)."""
        w = self._points(w)
        idx = np.atleast_1d(self._indices(idx))
        XB, yB = self.X[idx], self.y[idx]
        r = yB - np.einsum("...md,...d->...m", XB, w)
        return -2.0 / idx.shape[-1] * np.einsum("...m,...md->...d", r, XB)

    def sample_grad(self, w, idx) -> np.ndarray:
        """grad L_i(w) = -2 (y_i - x_i^T w) x_i for a single row i;  (..., d) -> (..., d).

        With an array of indices this is the mean over those rows, exactly ``batch_grad``.
        """
        return self.batch_grad(w, idx)

    # --- closed form --------------------------------------------------------------------------
    def solve(self) -> np.ndarray:
        """Least-squares solution argmin_w ||y - X w||^2 via np.linalg.lstsq (minimum-norm if X is rank deficient)."""
        return np.linalg.lstsq(self.X, self.y, rcond=None)[0]

    def as_quadratic(self) -> Quadratic:
        """The same loss written as 1/2 w^T A w - b^T w + c: A = 2/n X^T X, b = 2/n X^T y, c = 1/n y^T y."""
        return Quadratic(self._H, 2.0 / self.n * self.X.T @ self.y, float(self.y @ self.y) / self.n,
                         name=self.name)
