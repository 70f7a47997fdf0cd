"""Finite differences: the single home of every numerical derivative in the course.

All formulas are *centred* differences, which are exact for quadratics and have an error of
order h^2 (a one-sided difference only reaches order h):

    f'(x)      ~ (f(x + h) - f(x - h)) / (2h)
    d2f/dx_i^2 ~ (f(w + h e_i) - 2 f(w) + f(w - h e_i)) / h^2
    d2f/dx_i dx_j ~ (f(w + h_i e_i + h_j e_j) - f(w + h_i e_i - h_j e_j)
                     - f(w - h_i e_i + h_j e_j) + f(w - h_i e_i - h_j e_j)) / (4 h_i h_j)

Choosing the step h
-------------------
Two errors compete.  Truncation (the Taylor terms the formula ignores) shrinks with h; rounding
(f is only known to about eps |f|, eps = 2.2e-16 in float64, and the difference divides that by
a power of h) grows as h shrinks.  For the centred first derivative

    error(h) ~ h^2 |f'''| / 6  +  eps |f| / h,

which is smallest for h ~ eps^(1/3) ~ 6e-6 (times the scale of x), leaving an error of about
eps^(2/3) ~ 4e-11.  For a second derivative from function values, error(h) ~ h^2 |f''''| / 12 +
4 eps |f| / h^2, smallest at h ~ eps^(1/4) ~ 1e-4 with error about eps^(1/2) ~ 1e-8.  A Hessian
built from an exact *gradient* is a first derivative of the gradient, so it uses eps^(1/3) again.
The default steps are these values times max(1, |x_i|): a step must be relative to the size of
the coordinate, since adding 6e-6 to 1e6 is lost in rounding.

The perturbed coordinate is x + h rounded to float64; we divide by the step actually taken,
(x + h) - (x - h), not by 2h, which removes one source of rounding error.

Relative error and gradient checks
----------------------------------
``rel_error(a, b) = max|a - b| / max(|a| + |b|)`` lies in [0, 1] (0 for equal arrays, 1 for
a = -b).  In float64 a correct analytic gradient typically agrees with the centred difference to
1e-9 .. 1e-11; 1e-7 or worse usually means a bug (a wrong sign, a missing factor 2, a transposed
matrix).  ``check_gradient`` compares an analytic gradient with ``numerical_gradient`` and says so
in words.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import _validate as V

__all__ = [
    "EPS",
    "default_step",
    "numerical_derivative",
    "numerical_gradient",
    "numerical_hessian",
    "numerical_vjp",
    "rel_error",
    "GradCheckResult",
    "check_gradient",
]

#: machine epsilon of float64
EPS = float(np.finfo(np.float64).eps)


def default_step(x, order: int = 1) -> np.ndarray:
    """Default step for centred differences at x: eps^(1/3) max(1, |x|) for ``order=1`` (a first
    derivative), eps^(1/4) max(1, |x|) for ``order=2`` (a second derivative from function values)."""
    if order not in (1, 2):
        raise ValueError(f"order must be 1 (first derivative) or 2 (second derivative), got {order}")
    power = 1.0 / 3.0 if order == 1 else 1.0 / 4.0
    return EPS ** power * np.maximum(1.0, np.abs(np.asarray(x, dtype=np.float64)))


def _check_h(h, shape, x, order: int) -> np.ndarray:
    if h is None:
        return np.broadcast_to(default_step(x, order), shape)
    h_arr = V.positive(h, "h (finite-difference step)", array=True)
    try:
        return np.broadcast_to(h_arr, shape)
    except ValueError as exc:
        raise ValueError(f"h must be a number or an array of shape {shape}, got shape {np.shape(h_arr)}") from exc


def _point(w, name: str = "w") -> np.ndarray:
    return V.finite_array(w, name)


def _scalar_output(v, what: str) -> float:
    arr = np.asarray(v, dtype=np.float64)
    if arr.size != 1:
        raise ValueError(f"{what} must return a single number, got an array of shape {arr.shape}")
    return float(arr.reshape(()))


def _workspace(w):
    """The array to perturb: w itself when it is a writable float64 ndarray (so that a function
    reading the weights through a closure, as network code often does, sees the perturbation),
    otherwise a float64 copy.  Every entry is restored to its exact original value afterwards."""
    if isinstance(w, np.ndarray) and w.dtype == np.float64 and w.flags.writeable:
        return w
    return np.array(w, dtype=np.float64)


# ----------------------------------------------------------------------------------------------
# derivatives
# ----------------------------------------------------------------------------------------------

def numerical_derivative(f, x, h=None):
    """Centred difference f'(x) ~ (f(x + h) - f(x - h)) / (2h) for a scalar function f.

    Parameters
    ----------
    f : callable R -> R.  If x is an array, f must work elementwise (like np.exp) and the
        derivative is returned at every entry of x.
    x : number or array of numbers.
    h : step, default eps^(1/3) max(1, |x|) ~ 6e-6 max(1, |x|) (see the module docstring: it
        balances the h^2 truncation error against the eps/h rounding error).

    Returns a float for scalar x, else an array shaped like x.  Example: for f = exp at x = 1 the
    result equals e to about 1e-10.
    """
    if not callable(f):
        raise ValueError(f"f must be a function, got {type(f).__name__}")
    x = _point(x, "x")
    h = _check_h(h, x.shape, x, order=1)
    xp, xm = x + h, x - h
    d = (np.asarray(f(xp), dtype=np.float64) - np.asarray(f(xm), dtype=np.float64)) / (xp - xm)
    return float(d) if d.ndim == 0 else d


def numerical_gradient(f, w, h=None) -> np.ndarray:
    """Centred-difference gradient of a scalar function f at w, one coordinate at a time:

        g_i ~ (f(w + h_i e_i) - f(w - h_i e_i)) / (2 h_i),     i over every entry of w.

    Parameters
    ----------
    f : callable taking an array shaped like w and returning one number (f(w) is a loss).
    w : array of any shape (a weight vector (d,) or a weight matrix (m, k)); must be finite.
    h : step, a number or an array shaped like w; default eps^(1/3) max(1, |w_i|) per entry.

    Returns an array shaped like w.  Costs 2 w.size evaluations of f (this is why backprop,
    costing about one extra pass, wins; chapter 08).

    If w is a writable float64 array it is perturbed *in place* and restored exactly, so f may
    also read the weights through a closure instead of its argument (handy for network code).
    """
    if not callable(f):
        raise ValueError(f"f must be a function, got {type(f).__name__}")
    _point(w)
    work = _workspace(w)
    h = _check_h(h, work.shape, work, order=1)
    g = np.empty(work.shape)
    for i in np.ndindex(work.shape):
        old = work[i]
        try:
            work[i] = old + h[i]
            xp = work[i]
            fp = _scalar_output(f(work), "f")
            work[i] = old - h[i]
            xm = work[i]
            fm = _scalar_output(f(work), "f")
        finally:
            work[i] = old
        g[i] = (fp - fm) / (xp - xm)
    return g


def numerical_vjp(f, w, dout, h=None) -> np.ndarray:
    """Centred-difference gradient of w -> sum(f(w) * dout) for an array-valued f.

    That is the vector-Jacobian product dout^T J_f(w), exactly what the backward pass of a layer
    computes from the upstream gradient ``dout`` (cs231n calls this ``eval_numerical_gradient_array``).
    Shapes: w any shape, f(w) and dout the same shape; returns an array shaped like w.
    Same step rule and in-place perturbation as ``numerical_gradient``.
    """
    dout = np.asarray(dout, dtype=np.float64)

    def scalarised(v):
        out = np.asarray(f(v), dtype=np.float64)
        if out.shape != dout.shape:
            raise ValueError(f"dout must have the shape of f(w), {out.shape}, got shape {dout.shape}")
        return float(np.sum(out * dout))

    return numerical_gradient(scalarised, w, h=h)


def numerical_hessian(f_or_grad, w, h=None, from_gradient: bool | None = None) -> np.ndarray:
    """Centred-difference Hessian at w, from function values or from a gradient.

    from_gradient=False (f_or_grad = f returns a number):
        H_ii ~ (f(w + h e_i) - 2 f(w) + f(w - h e_i)) / h^2
        H_ij ~ (f(w+h_i e_i+h_j e_j) - f(w+h_i e_i-h_j e_j) - f(w-h_i e_i+h_j e_j) + f(w-h_i e_i-h_j e_j)) / (4 h_i h_j)
        default h = eps^(1/4) max(1, |w_i|) ~ 1.2e-4; accuracy about 1e-8 relative.
    from_gradient=True (f_or_grad = grad returns an array shaped like w):
        column j ~ (grad(w + h_j e_j) - grad(w - h_j e_j)) / (2 h_j), then symmetrised (H + H^T)/2;
        default h = eps^(1/3) max(1, |w_j|); accuracy about 1e-10 relative.
    from_gradient=None (default): decided from what f_or_grad(w) returns (one number -> values,
        an array shaped like w -> gradient).

    w may have any shape; the result has shape w.shape + w.shape ((d, d) for a vector w).
    Costs about 2 w.size^2 function evaluations, or 2 w.size gradient evaluations.
    """
    if not callable(f_or_grad):
        raise ValueError(f"f_or_grad must be a function, got {type(f_or_grad).__name__}")
    _point(w)
    work = _workspace(w)
    shape, n = work.shape, work.size
    if from_gradient is None:
        out0 = np.asarray(f_or_grad(work), dtype=np.float64)
        if out0.size == 1 and out0.shape != shape or out0.shape == ():
            from_gradient = False
        elif out0.shape == shape:
            from_gradient = True
        else:
            raise ValueError(
                f"f_or_grad must return one number (a function) or an array of shape {shape} (a gradient), "
                f"got shape {out0.shape}"
            )
    flat_index = list(np.ndindex(shape))
    H = np.empty((n, n))

    if from_gradient:
        h = _check_h(h, shape, work, order=1)
        for j, J in enumerate(flat_index):
            old = work[J]
            try:
                work[J] = old + h[J]
                xp = work[J]
                gp = np.array(f_or_grad(work), dtype=np.float64)
                work[J] = old - h[J]
                xm = work[J]
                gm = np.array(f_or_grad(work), dtype=np.float64)
            finally:
                work[J] = old
            if gp.shape != shape:
                raise ValueError(f"the gradient must return an array of shape {shape}, got shape {gp.shape}")
            H[:, j] = ((gp - gm) / (xp - xm)).reshape(n)
        H = 0.5 * (H + H.T)
        return H.reshape(shape + shape)

    h = _check_h(h, shape, work, order=2)

    def f_at(steps):
        """f at w with the given {index: step} perturbations; returns (value, actual steps)."""
        olds = {I: work[I] for I in steps}
        try:
            actual = {}
            for I, s in steps.items():
                work[I] = olds[I] + s
                actual[I] = work[I] - olds[I]
            return _scalar_output(f_or_grad(work), "f_or_grad"), actual
        finally:
            for I, old in olds.items():
                work[I] = old

    f0, _ = f_at({})
    for i, I in enumerate(flat_index):
        fp, sp = f_at({I: h[I]})
        fm, sm = f_at({I: -h[I]})
        # the two actual steps can differ by rounding; use their mean (exact when they are equal)
        hh = 0.5 * (sp[I] - sm[I])
        H[i, i] = (fp - 2.0 * f0 + fm) / (hh * hh)
        for j in range(i):
            J = flat_index[j]
            fpp, a = f_at({I: h[I], J: h[J]})
            fpm, _ = f_at({I: h[I], J: -h[J]})
            fmp, _ = f_at({I: -h[I], J: h[J]})
            fmm, b = f_at({I: -h[I], J: -h[J]})
            denom = (a[I] - b[I]) * (a[J] - b[J])  # = 4 h_i h_j up to rounding
            H[i, j] = H[j, i] = (fpp - fpm - fmp + fmm) / denom
    return H.reshape(shape + shape)


# ----------------------------------------------------------------------------------------------
# comparing
# ----------------------------------------------------------------------------------------------

def rel_error(a, b) -> float:
    """Relative error between two arrays (or numbers) of the same shape:

        rel_error(a, b) = max_i |a_i - b_i| / max(max_i (|a_i| + |b_i|), tiny)

    0 when a == b, 1 when a == -b, symmetric in a and b, unchanged when both are scaled by the same
    factor.  It is *normwise*: a component that is tiny in both arrays cannot blow the error up the
    way the elementwise ratio of cs231n does.  Two all-zero arrays give 0; a NaN anywhere gives NaN.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    num = np.max(np.abs(a - b))
    den = np.max(np.abs(a) + np.abs(b))
    if np.isnan(num) or np.isnan(den):
        return float("nan")
    return float(num / max(den, np.finfo(np.float64).tiny))


@dataclass
class GradCheckResult:
    """Outcome of ``check_gradient``: truthy when it passed; ``float(result)`` is the relative error;
    ``str(result)`` a sentence for the student."""

    rel_error: float
    tol: float
    passed: bool
    analytic: np.ndarray = field(repr=False)
    numerical: np.ndarray = field(repr=False)
    message: str = ""

    def __bool__(self) -> bool:
        return self.passed

    def __float__(self) -> float:
        return self.rel_error

    def __format__(self, spec: str) -> str:
        return format(self.rel_error, spec) if spec else str(self)

    def __str__(self) -> str:
        return self.message


def check_gradient(f, grad, w, tol: float = 1e-7, h=None, raise_on_fail: bool = False) -> GradCheckResult:
    """Compare an analytic gradient with the centred-difference gradient of f at w.

    Parameters
    ----------
    f : callable, f(w) -> number.
    grad : callable returning the analytic gradient at w (same shape as w), or an array holding it.
    w : the point (any shape, finite).
    tol : largest acceptable ``rel_error`` (default 1e-7; correct float64 code reaches ~1e-9 or better).
    h : finite-difference step (default: see ``numerical_gradient``).
    raise_on_fail : raise AssertionError with the verdict instead of returning a failed result.

    Returns a ``GradCheckResult`` (truthy if rel_error <= tol) whose message names the worst
    component, e.g. ``gradient check FAILED: relative error 1 > tol 1e-07; worst component (1,):
    analytic 2 vs numerical -2``.
    """
    tol = V.positive(tol, "tol (tolerance)", rule="must be a positive number")
    w_arr = _point(w)
    analytic = np.array(grad(w_arr.copy()) if callable(grad) else grad, dtype=np.float64)
    if analytic.shape != w_arr.shape:
        raise ValueError(f"grad must have the shape of w, {w_arr.shape}, got shape {analytic.shape}")
    numerical = numerical_gradient(f, w_arr.copy(), h=h)
    err = rel_error(analytic, numerical)
    passed = bool(err <= tol)  # False for NaN
    diff = np.abs(analytic - numerical)
    worst = np.unravel_index(np.nanargmax(diff), diff.shape) if diff.size and not np.all(np.isnan(diff)) else ()
    if passed:
        msg = f"gradient check passed: relative error {err:.2e} <= tol {tol:g}"
    else:
        msg = (f"gradient check FAILED: relative error {err:.3g} > tol {tol:g}; "
               f"worst component {tuple(int(k) for k in worst)}: analytic {analytic[worst]:.6g} "
               f"vs numerical {numerical[worst]:.6g}. Look for a wrong sign, a missing factor "
               "or a transposed matrix.")
        if np.isnan(err):
            msg = "gradient check FAILED: the gradients contain NaN (relative error is NaN)"
    result = GradCheckResult(rel_error=err, tol=float(tol), passed=passed, analytic=analytic,
                             numerical=numerical, message=msg)
    if raise_on_fail and not passed:
        raise AssertionError(msg)
    return result
