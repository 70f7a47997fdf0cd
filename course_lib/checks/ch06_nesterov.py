"""Checks for chapter 06, Nesterov's accelerated gradient (solutions/06_nesterov.ipynb).

    nesterov_step(w, v, grad, lr, mu) -> (w_new, v_new)
        look-ahead form: v_new = mu v - lr grad(w + mu v), w_new = w + v_new  (grad is a function)
    nesterov_pytorch_step(w, b, g, lr, mu) -> (w_new, b_new)
        torch.optim.SGD(nesterov=True): b_new = mu b + g, w_new = w - lr (g + mu b_new), g at w
    nesterov_iteration_matrix(lr, mu, lam) -> M (2, 2)
        [e_t, v_t] = M [e_{t-1}, v_{t-1}] on f(w) = lam (w - w*)^2 / 2, e = w - w*

`nesterov_step` receives a function. Cases carry only plain data, so a case names its gradient by a
short text, e.g. ``"rosenbrock(a=1, b=100)"`` or ``"logcosh(c=2)"``, and the check builds the
function inside the student's kernel (:func:`grad_function`). Both are non-linear, so the gradient
at the look-ahead point w + mu v differs from every other point a wrong answer might use.
To rerun a case by hand::

    from course_lib.checks.ch06_nesterov import with_grad_function
    case = check.cases("nesterov_step")[1]
    nesterov_step(**with_grad_function(case.args))
"""
from __future__ import annotations

import re

import numpy as np

from .ch05_momentum import _pair_compare
from .core import INPUTS_AFTER, Case, Exercise, Mismatch, Mistake, compare_arrays

CHAPTER = "06_nesterov"

# ---------------------------------------------------------------------------------------------
# gradients named by plain text


def _rosenbrock_grad(w, a, b):
    """grad of (a - x)^2 + b (y - x^2)^2 for w = (x, y)."""
    x, y = w[0], w[1]
    return np.array([-2.0 * (a - x) - 4.0 * b * x * (y - x * x), 2.0 * b * (y - x * x)])


def _logcosh_grad(w, c):
    """grad of sum_i log(cosh(c w_i)) / c: tanh(c w), any dimension."""
    return np.tanh(c * w)


_GRADS = {"rosenbrock": (_rosenbrock_grad, ("a", "b"), 2), "logcosh": (_logcosh_grad, ("c",), None)}
_SPEC = re.compile(r"^\s*(\w+)\((.*)\)\s*$")


def grad_function(spec: str):
    """The gradient named by ``spec``: ``"rosenbrock(a=1, b=100)"`` (2-D) or ``"logcosh(c=2)"``.

    Returns a function ``grad(w) -> ndarray`` of the same shape as w (float64).
    """
    m = _SPEC.match(spec) if isinstance(spec, str) else None
    if not m or m.group(1) not in _GRADS:
        raise ValueError(f"unknown gradient {spec!r}; expected e.g. 'rosenbrock(a=1, b=100)' or "
                         "'logcosh(c=2)'")
    func, names, dim = _GRADS[m.group(1)]
    params = {}
    for part in filter(None, (p.strip() for p in m.group(2).split(","))):
        key, _, value = part.partition("=")
        params[key.strip()] = float(value)
    if sorted(params) != sorted(names):
        raise ValueError(f"{spec!r} must give exactly the parameters {', '.join(names)}")

    def grad(w):
        w = np.asarray(w, dtype=float)
        if dim is not None and w.shape != (dim,):
            raise ValueError(f"{m.group(1)} is a function of {dim} variables; grad got an array of "
                             f"shape {w.shape}")
        return func(w, **params)

    grad.__name__ = f"grad_{m.group(1)}"
    return grad


def with_grad_function(args: dict) -> dict:
    """A copy of a case's inputs with the text under "grad" replaced by the function it names."""
    out = dict(args)
    out["grad"] = grad_function(args["grad"])
    return out


# ---------------------------------------------------------------------------------------------
# (a) one step of Nesterov's method in the look-ahead form


def nesterov_step_reference(w, v, grad, lr, mu):
    """Jump (w + mu v), evaluate the gradient there, correct: v_new = mu v - lr grad(w + mu v),
    w_new = w + v_new (Sutskever et al. 2013's form of Nesterov 1983)."""
    v_new = mu * v - lr * grad(w + mu * v)
    return w + v_new, v_new


def _ns_at_w(w, v, grad, lr, mu):
    v_new = mu * v - lr * grad(w)
    return w + v_new, v_new


def _ns_full_velocity(w, v, grad, lr, mu):
    v_new = mu * v - lr * grad(w + v)
    return w + v_new, v_new


def _ns_backwards(w, v, grad, lr, mu):
    v_new = mu * v - lr * grad(w - mu * v)
    return w + v_new, v_new


def _ns_jump_twice(w, v, grad, lr, mu):
    v_new = mu * v - lr * grad(w + mu * v)
    return w + mu * v + v_new, v_new


def _ns_old_velocity(w, v, grad, lr, mu):
    v_new = mu * v - lr * grad(w + mu * v)
    return w + v, v_new


def _ns_pytorch(w, v, grad, lr, mu):
    g = grad(w)
    b_new = mu * v + g
    return w - lr * (g + mu * b_new), b_new


NESTEROV_STEP_MISTAKES = [
    Mistake("gradient at w (classical momentum)", _ns_at_w,
            "that is classical momentum: Nesterov evaluates the gradient at the look-ahead point "
            "w + mu v, where the old velocity alone would carry you"),
    Mistake("look-ahead with the full velocity", _ns_full_velocity,
            "the jump is mu v (the velocity after friction), so evaluate grad(w + mu * v), not grad(w + v)"),
    Mistake("look-ahead against the velocity", _ns_backwards,
            "look ahead in the direction you are moving: w + mu v. (Books that store h = -v, with "
            "w <- w - h, write the same point as w - mu h.)"),
    Mistake("jump counted twice", _ns_jump_twice,
            "v_new already contains the jump mu v: w_new = w + v_new, not (w + mu v) + v_new"),
    Mistake("position moved with the old velocity", _ns_old_velocity,
            "update the velocity first and move with the NEW one: w_new = w + v_new"),
    Mistake("PyTorch's buffer form", _ns_pytorch,
            "that is PyTorch's form (the next exercise), with a buffer b = mu b + g and the gradient at "
            "w; here v is the lecture's velocity: v_new = mu v - lr grad(w + mu v), w_new = w + v_new"),
]


def _ns_case(name, w, v, grad, lr, mu):
    return Case(name, {"w": np.asarray(w, dtype=float), "v": np.asarray(v, dtype=float),
                       "grad": str(grad), "lr": float(lr), "mu": float(mu)})


def _ns_fixed():
    return [
        _ns_case("first step (v = 0) on Rosenbrock", [-1.2, 1.0], [0.0, 0.0], "rosenbrock(a=1, b=100)",
                 1e-3, 0.9),
        _ns_case("Rosenbrock, moving fast", [-1.0, 0.5], [0.3, -0.4], "rosenbrock(a=1, b=100)", 2e-3, 0.9),
        _ns_case("log-cosh in 3-D, a large step", [1.5, -0.5, 0.2], [-0.8, 0.6, 1.0], "logcosh(c=2)",
                 0.7, 0.8),
        _ns_case("mu = 0 is plain GD", [0.4, -2.0], [1.0, 1.0], "logcosh(c=1.5)", 0.3, 0.0),
        _ns_case("near the minimum of a shallow Rosenbrock", [1.05, 1.1], [0.2, 0.1],
                 "rosenbrock(a=1, b=10)", 0.01, 0.95),
        _ns_case("one parameter (d = 1)", [3.0], [-1.0], "logcosh(c=0.5)", 0.9, 0.95),
    ]


def _ns_random(rng, k):
    cases = []
    for i in range(k):
        mu = float(rng.uniform(0.3, 0.99))
        if rng.random() < 0.5:
            b = int(rng.integers(5, 101))
            w = np.array([rng.uniform(-1.5, 1.5), rng.uniform(-0.5, 2.0)])
            spec, lr, v = f"rosenbrock(a=1, b={b})", float(rng.uniform(5e-4, 3e-3)), 0.4 * rng.normal(size=2)
        else:
            d = int(rng.integers(2, 6))
            c = round(float(rng.uniform(0.5, 3.0)), 2)
            spec, lr, w, v = f"logcosh(c={c:g})", float(rng.uniform(0.1, 1.5)), 2 * rng.normal(size=d), rng.normal(size=d)
        cases.append(_ns_case(f"random {i + 1} ({spec}, mu = {mu:.2f})", w, v, spec, lr, mu))
    return cases


def _ns_call(objs, case):
    """Build grad from the case's text, count its calls and report inputs changed in place."""
    a = case.args
    f = grad_function(a["grad"])
    calls = [0]

    def grad(x):
        calls[0] += 1
        if calls[0] > 100:
            raise RuntimeError("grad was called more than 100 times for one step; one call, at the "
                               "look-ahead point, is enough")
        return f(x)

    w, v = np.array(a["w"], dtype=float), np.array(a["v"], dtype=float)
    out = objs[0](w, v, grad, a["lr"], a["mu"])
    # w and v as the answer left them: judged in the grader (settle_extras), not by the kernel's numpy
    extras = {INPUTS_AFTER: {"w": w, "v": v}}
    if calls[0] == 0:
        extras["grad_not_called"] = True
    return out, extras


def _ns_compare(expected, got, case):
    mismatch = _pair_compare(expected, got, "w_new, v_new", "nesterov_step")
    if mismatch is not None and got[1].get("grad_not_called"):
        return Mismatch(mismatch.text + "\nyour function never called grad: the step needs the "
                        "gradient at the look-ahead point, grad(w + mu * v)", mismatch.hint)
    return mismatch


NESTEROV_STEP = Exercise(
    name="nesterov_step", points=3, reference=nesterov_step_reference,
    fixed_cases=_ns_fixed, random_cases=_ns_random, compare=_ns_compare, call=_ns_call,
    mistakes=NESTEROV_STEP_MISTAKES, n_random=2, seed=61, chapter=CHAPTER,
    inplace_example="e.g. v_new = mu * v - lr * grad(w + mu * v), not v *= mu")

# ---------------------------------------------------------------------------------------------
# (b) the same method as torch.optim.SGD(nesterov=True) writes it


def nesterov_pytorch_step_reference(w, b, g, lr, mu):
    """b_new = mu b + g, w_new = w - lr (g + mu b_new), g the gradient at w (dampening 0).
    At PyTorch's first step b = g, which is this formula with b = 0."""
    b_new = mu * b + g
    return w - lr * (g + mu * b_new), b_new


def _np_plain(w, b, g, lr, mu):
    b_new = mu * b + g
    return w - lr * b_new, b_new


def _np_no_gradient(w, b, g, lr, mu):
    b_new = mu * b + g
    return w - lr * mu * b_new, b_new


def _np_dampening(w, b, g, lr, mu):
    b_new = mu * b + (1 - mu) * g
    return w - lr * (g + mu * b_new), b_new


def _np_old_buffer(w, b, g, lr, mu):
    return nesterov_pytorch_step_reference(w, b, g, lr, mu)[0], b


def _np_ascent(w, b, g, lr, mu):
    b_new = mu * b + g
    return w + lr * (g + mu * b_new), b_new


NESTEROV_PYTORCH_MISTAKES = [
    Mistake("no look-ahead term", _np_plain,
            "w - lr b_new is PyTorch's classical momentum; nesterov=True steps along g + mu b_new"),
    Mistake("gradient term missing", _np_no_gradient,
            "the step is lr (g + mu b_new): the current gradient plus the momentum look-ahead"),
    Mistake("dampened buffer", _np_dampening,
            "with dampening 0 (the default, and required for nesterov=True) the buffer adds the full "
            "gradient: b_new = mu b + g, not mu b + (1 - mu) g"),
    Mistake("returns the old buffer", _np_old_buffer,
            "return the updated buffer b_new = mu b + g with the new weights"),
    Mistake("gradient ascent", _np_ascent,
            "subtract the step: w_new = w - lr (g + mu b_new)"),
]


def _np_case(name, w, b, g, lr, mu):
    return Case(name, {"w": np.asarray(w, dtype=float), "b": np.asarray(b, dtype=float),
                       "g": np.asarray(g, dtype=float), "lr": float(lr), "mu": float(mu)})


def _np_fixed():
    rng = np.random.default_rng(62)
    return [
        _np_case("a general step", [1.0, -2.0], [0.4, -0.3], [0.5, 1.0], 0.1, 0.9),
        _np_case("first step (b = 0; PyTorch sets b = g)", [1.0, -2.0], [0.0, 0.0], [0.5, 1.0], 0.1, 0.9),
        _np_case("zero gradient", [0.5, 0.5, -1.0], [1.0, -2.0, 0.5], [0.0, 0.0, 0.0], 0.2, 0.8),
        _np_case("large step (lr = 1.3, d = 4)", rng.normal(size=4), rng.normal(size=4),
                 rng.normal(size=4), 1.3, 0.6),
        _np_case("one parameter (d = 1)", [2.0], [-0.7], [1.5], 0.05, 0.99),
    ]


def _np_random(rng, k):
    cases = []
    for i in range(k):
        d = int(rng.integers(2, 7))
        mu = float(rng.uniform(0.3, 0.99))
        cases.append(_np_case(f"random {i + 1} (d={d}, mu={mu:.2f})", rng.normal(size=d),
                              rng.normal(size=d), 3 * rng.normal(size=d), float(rng.uniform(0.01, 1.0)), mu))
    return cases


def _np_compare(expected, got, case):
    return _pair_compare(expected, got, "w_new, b_new", "nesterov_pytorch_step")


NESTEROV_PYTORCH_STEP = Exercise(
    name="nesterov_pytorch_step", points=2, reference=nesterov_pytorch_step_reference,
    fixed_cases=_np_fixed, random_cases=_np_random, compare=_np_compare,
    mistakes=NESTEROV_PYTORCH_MISTAKES, n_random=2, seed=63, chapter=CHAPTER,
    inplace_example="e.g. b_new = mu * b + g, not b *= mu")

# ---------------------------------------------------------------------------------------------
# (c) the iteration matrix on a 1-D quadratic


def nesterov_iteration_matrix_reference(lr, mu, lam):
    """M with [e_t, v_t] = M [e_{t-1}, v_{t-1}] for the look-ahead form on f = lam (w - w*)^2 / 2:
    v_t = mu v - lr lam (e + mu v), e_t = e + v_t, so M = [[1 - a, mu (1 - a)], [-a, mu (1 - a)]]
    with a = lr lam."""
    a = lr * lam
    return np.array([[1 - a, mu * (1 - a)], [-a, mu * (1 - a)]])


def _nm_heavy_ball(lr, mu, lam):
    a = lr * lam
    return np.array([[1 - a, mu], [-a, mu]])


def _nm_transposed(lr, mu, lam):
    return nesterov_iteration_matrix_reference(lr, mu, lam).T


def _nm_swapped_state(lr, mu, lam):
    M = nesterov_iteration_matrix_reference(lr, mu, lam)
    return M[::-1, ::-1].copy()


def _nm_backwards(lr, mu, lam):
    a = lr * lam
    return np.array([[1 - a, mu * (1 + a)], [-a, mu * (1 + a)]])


NESTEROV_MATRIX_MISTAKES = [
    Mistake("heavy-ball matrix", _nm_heavy_ball,
            "that is classical momentum's matrix; with the gradient at e + mu v the velocity row is "
            "v_t = -a e + mu (1 - a) v (a = lr lam), and e_t = e + v_t"),
    Mistake("transposed", _nm_transposed,
            "row i of M gives component i of the NEW state: the first row is e_t = (1 - a) e + mu (1 - a) v"),
    Mistake("state in the order (v, e)", _nm_swapped_state,
            "the state is ordered (e, v): M[0] is the e-row, M[1] the v-row"),
    Mistake("look-ahead against the velocity", _nm_backwards,
            "the gradient is taken at w + mu v, i.e. lam (e + mu v): it gives mu (1 - a), not mu (1 + a)"),
]


def _nm_case(name, lr, mu, lam):
    return Case(name, {"lr": float(lr), "mu": float(mu), "lam": float(lam)})


def _nm_fixed():
    return [
        _nm_case("small step (lr lam = 0.3, mu = 0.9)", 0.5, 0.9, 0.6),
        _nm_case("lr lam = 1.5 (> 1), mu = 0.6", 0.5, 0.6, 3.0),
        _nm_case("the bowl's flat direction (lr = 0.9, lam = 0.1, mu = 0.95)", 0.9, 0.95, 0.1),
        _nm_case("mu = 0 is GD", 1.0, 0.0, 1.2),
        _nm_case("negative curvature (lam = -1)", 0.2, 0.5, -1.0),
    ]


def _nm_random(rng, k):
    return [_nm_case(f"random {i + 1}", float(rng.uniform(0.05, 1.5)), float(rng.uniform(0.1, 0.99)),
                     float(rng.uniform(-1.0, 5.0))) for i in range(k)]


def _nm_compare(expected, got, case):
    (e, _), (g, _) = expected, got
    return compare_arrays(e, g, rtol=1e-10, atol=1e-12, what="your matrix")


NESTEROV_ITERATION_MATRIX = Exercise(
    name="nesterov_iteration_matrix", points=2, reference=nesterov_iteration_matrix_reference,
    fixed_cases=_nm_fixed, random_cases=_nm_random, compare=_nm_compare,
    mistakes=NESTEROV_MATRIX_MISTAKES, n_random=2, seed=64, chapter=CHAPTER)

EXERCISES = [NESTEROV_STEP, NESTEROV_PYTORCH_STEP, NESTEROV_ITERATION_MATRIX]
