"""Checks for chapter 00, derivatives and gradients (solutions/00_derivatives_and_gradients.ipynb).

    centred_derivative(f, x, h)       (f(x + h) - f(x - h)) / (2h)
    grad_z(x, y)                      gradient of z = e^x + 2e^y + 1: np.array([e^x, 2e^y])
    steepest_descent_direction(g)     -g / ||g||  (the zero vector for g = 0)
    log_loss(X, y, w)                 -1/n sum [y log p + (1 - y) log(1 - p)],  p = sigmoid(X w)

References are written directly in NumPy (float64), each next to the plausible wrong answers its
check recognises.
"""
from __future__ import annotations

import numpy as np

from .core import (Case, Exercise, Mismatch, Mistake, compare_arrays, compare_scalars)

CHAPTER = "00_derivatives_and_gradients"



# ---------------------------------------------------------------------------------------------
# (a) the centred difference


def centred_derivative_reference(f, x, h):
    """f'(x) ~ (f(x + h) - f(x - h)) / (2h), with the step h given (error O(h^2))."""
    return (f(x + h) - f(x - h)) / (2.0 * h)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


#: the functions the check differentiates, by the formula shown in its messages
FUNCTIONS_1D = {
    "exp(x) + 1": lambda x: np.exp(x) + 1.0,
    "sin(x)": np.sin,
    "x**3 - 2*x": lambda x: x ** 3 - 2.0 * x,
    "x**2": lambda x: x ** 2,
    "log(x)": np.log,
    "1 / (1 + exp(-x))": _sigmoid,
}
#: where each may be evaluated: x is drawn from (lo, hi); x - h stays inside the domain
_DOMAIN_1D = {"exp(x) + 1": (-2.0, 2.0), "sin(x)": (-3.0, 3.0), "x**3 - 2*x": (-2.0, 2.0),
              "x**2": (-3.0, 3.0), "log(x)": (0.5, 4.0), "1 / (1 + exp(-x))": (-4.0, 4.0)}


def _cd_call(objs, case):
    """Call centred_derivative(f, x, h) with f built from the formula named in the case."""
    a = case.args
    func = FUNCTIONS_1D[a["f"]]
    calls = [0]

    def f(t):
        calls[0] += 1
        if calls[0] > 10_000:
            raise RuntimeError("f was called more than 10000 times: two calls are enough")
        return func(t)

    return objs[0](f, a["x"], a["h"]), {}


def _cd_forward(f, x, h):
    return (f(x + h) - f(x)) / h


def _cd_over_h(f, x, h):
    return (f(x + h) - f(x - h)) / h


def _cd_backward(f, x, h):
    return (f(x) - f(x - h)) / h


def _cd_own_step(f, x, h):
    h = 1e-5
    return (f(x + h) - f(x - h)) / (2.0 * h)


CD_MISTAKES = [
    Mistake("forward difference", _cd_forward,
            "(f(x + h) - f(x)) / h is the one-sided (forward) difference, with an error of order h; "
            "the centred difference (f(x + h) - f(x - h)) / (2h) cancels the f'' term (error O(h^2))"),
    Mistake("divided by h", _cd_over_h,
            "the points x - h and x + h are 2h apart: divide the difference by 2 * h, not by h"),
    Mistake("backward difference", _cd_backward,
            "(f(x) - f(x - h)) / h is the one-sided (backward) difference, with an error of order h; "
            "use both neighbours: (f(x + h) - f(x - h)) / (2h)"),
    Mistake("ignores h", _cd_own_step,
            "use the step h you are given: the check compares with the centred difference at that h"),
    Mistake("/ 2 * h", lambda f, x, h: (f(x + h) - f(x - h)) / 2 * h,
            "a / 2 * h means (a / 2) * h in Python: put the denominator in parentheses, / (2 * h)"),
]


def _cd_case(name, f, x, h):
    return Case(name, {"f": f, "x": x, "h": float(h)})


def _cd_fixed():
    return [
        _cd_case("the lecture's example, e^x + 1 at x = 1", "exp(x) + 1", 1.0, 1e-3),
        _cd_case("a large step (h = 0.5)", "sin(x)", 0.3, 0.5),
        _cd_case("negative x", "x**3 - 2*x", -1.5, 0.01),
        _cd_case("at a minimum (the derivative is 0)", "x**2", 0.0, 0.1),
        _cd_case("a small step (h = 1e-5)", "exp(x) + 1", 1.0, 1e-5),
        _cd_case("an integer x", "log(x)", 2, 0.1),
    ]


def _cd_random(rng, k):
    names = list(FUNCTIONS_1D)
    cases = []
    for i in range(k):
        name = names[int(rng.integers(len(names)))]
        lo, hi = _DOMAIN_1D[name]
        x = float(np.round(rng.uniform(lo, hi), 4))
        h = float(np.round(10.0 ** rng.uniform(-4.0, np.log10(0.3)), 6))
        cases.append(_cd_case(f"random {i + 1} ({name})", name, x, h))
    return cases


def _cd_compare(expected, got, case):
    (e, _), (g, _) = expected, got
    return compare_scalars(e, g, rtol=1e-8, atol=1e-12, what="your derivative")


CENTRED_DERIVATIVE = Exercise(
    name="centred_derivative", points=2, reference=centred_derivative_reference,
    fixed_cases=_cd_fixed, random_cases=_cd_random, compare=_cd_compare, call=_cd_call,
    mistakes=CD_MISTAKES, n_random=2, seed=0, chapter=CHAPTER)

# ---------------------------------------------------------------------------------------------
# (b) the gradient of z = e^x + 2 e^y + 1


def grad_z_reference(x, y):
    """(dz/dx, dz/dy) = (e^x, 2 e^y) for z = e^x + 2 e^y + 1, at numbers x, y; shape (2,)."""
    return np.array([np.exp(x), 2.0 * np.exp(y)], dtype=float)


GRAD_Z_MISTAKES = [
    Mistake("factor 2 missing", lambda x, y: np.array([np.exp(x), np.exp(y)]),
            "d/dy (2 e^y) = 2 e^y: a constant factor stays when you differentiate"),
    Mistake("constant kept", lambda x, y: np.array([np.exp(x) + 1.0, 2.0 * np.exp(y) + 1.0]),
            "the constant + 1 does not change with x or y: its derivative is 0"),
    Mistake("components swapped", lambda x, y: np.array([2.0 * np.exp(y), np.exp(x)]),
            "the first entry is dz/dx, the second dz/dy: np.array([dz_dx, dz_dy])"),
    Mistake("x in both entries", lambda x, y: np.array([np.exp(x), 2.0 * np.exp(x)]),
            "dz/dy = 2 e^y depends on y, not on x (the two agree only where x = y)"),
]


def _gz_fixed():
    return [
        Case("the origin (x, y) = (0, 0)", {"x": 0.0, "y": 0.0}),
        Case("the lecture's point (1, 0)", {"x": 1.0, "y": 0.0}),
        Case("negative coordinates", {"x": -2.0, "y": -0.5}),
        Case("very different sizes", {"x": -20.0, "y": 5.0}),
        Case("integer inputs", {"x": 2, "y": -1}),
    ]


def _gz_random(rng, k):
    return [Case(f"random {i + 1}", {"x": float(np.round(rng.uniform(-3, 3), 4)),
                                     "y": float(np.round(rng.uniform(-3, 3), 4))})
            for i in range(k)]


def _gz_compare(expected, got, case):
    (e, _), (g, _) = expected, got
    return compare_arrays(e, g, rtol=1e-10, atol=0.0, what="your gradient")


GRAD_Z = Exercise(
    name="grad_z", points=2, reference=grad_z_reference,
    fixed_cases=_gz_fixed, random_cases=_gz_random, compare=_gz_compare,
    mistakes=GRAD_Z_MISTAKES, n_random=2, seed=1, chapter=CHAPTER)

# ---------------------------------------------------------------------------------------------
# (c) the direction of steepest descent


def steepest_descent_direction_reference(g):
    """The unit vector -g / ||g|| (Euclidean norm); the zero vector when g = 0."""
    g = np.asarray(g, dtype=float)
    norm = np.linalg.norm(g)
    if norm == 0.0:
        return np.zeros_like(g)
    return -g / norm


def _sd_no_zero_case(g):
    return -g / np.linalg.norm(g)


SD_MISTAKES = [
    # first: its only failing case is g = 0, where the ascent and 1/||g||^2 answers are NaN too
    Mistake("divides by zero at g = 0", _sd_no_zero_case,
            "at a stationary point g = 0 and ||g|| = 0: no direction descends, so return the zero "
            "vector (np.zeros_like(g)) instead of dividing by zero"),
    Mistake("not normalised", lambda g: -g,
            "the direction must be a unit vector: divide -g by its length np.linalg.norm(g)"),
    Mistake("ascent instead of descent", lambda g: g / np.linalg.norm(g),
            "the gradient points uphill (steepest ascent); steepest descent is the antigradient -g / ||g||"),
    Mistake("divided by the squared norm", lambda g: -g / (g @ g),
            "divide by the norm ||g|| = sqrt(g . g), not by its square g . g"),
    Mistake("sum of |g_i| as the length", lambda g: -g / np.sum(np.abs(g)),
            "a unit vector has Euclidean length 1: divide by sqrt(sum g_i^2) = np.linalg.norm(g), "
            "not by sum |g_i|"),
    Mistake("largest |g_i| as the length", lambda g: -g / np.max(np.abs(g)),
            "a unit vector has Euclidean length 1: divide by sqrt(sum g_i^2) = np.linalg.norm(g), "
            "not by the largest entry"),
    Mistake("tiny gradient treated as zero",
            lambda g: np.zeros_like(g) if np.linalg.norm(g) < 1e-6 else -g / np.linalg.norm(g),
            "only an exact zero gradient has no direction: a tiny g (here ||g|| ~ 2e-8) still has "
            "one, -g / ||g||. Test norm == 0, not norm < some threshold"),
]


def _sd_fixed():
    return [
        Case("g = (3, 4)", {"g": np.array([3.0, 4.0])}),
        Case("the gradient of z at (1, 0), (e, 2)", {"g": np.array([np.e, 2.0])}),
        Case("one dimension", {"g": np.array([-2.5])}),
        Case("already a unit vector", {"g": np.array([0.0, -1.0, 0.0])}),
        Case("zero gradient (a stationary point)", {"g": np.zeros(3)}),
        Case("large entries", {"g": np.array([3e8, -4e8, 1.2e9])}),
        Case("tiny entries", {"g": np.array([-1e-8, 2e-8])}),
    ]


def _sd_random(rng, k):
    cases = []
    for i in range(k):
        d = int(rng.integers(2, 9))
        g = rng.normal(size=d) * 10.0 ** rng.uniform(-3, 3)
        cases.append(Case(f"random {i + 1} (d={d})", {"g": g}))
    return cases


def _sd_compare(expected, got, case):
    (e, _), (g, _) = expected, got
    if isinstance(e, np.ndarray) and np.isnan(e).any():
        # `expected` is a plausible mistake's answer (NaN at g = 0): same NaNs, same numbers elsewhere
        same = (isinstance(g, np.ndarray) and g.shape == e.shape and g.dtype.kind == "f"
                and np.array_equal(np.isnan(g), np.isnan(e))
                and np.allclose(g[~np.isnan(g)], e[~np.isnan(e)], rtol=1e-10, atol=1e-12))
        return None if same else Mismatch("a different answer")
    return compare_arrays(e, g, rtol=1e-10, atol=1e-12, what="your direction")


STEEPEST_DESCENT_DIRECTION = Exercise(
    name="steepest_descent_direction", points=2, reference=steepest_descent_direction_reference,
    fixed_cases=_sd_fixed, random_cases=_sd_random, compare=_sd_compare,
    mistakes=SD_MISTAKES, n_random=2, seed=2, chapter=CHAPTER,
    inplace_example='e.g. d = -g / norm, not g /= norm')

# ---------------------------------------------------------------------------------------------
# (d) the log-loss of a linear classifier


def log_loss_reference(X, y, w):
    """L(w) = -1/n sum_i [y_i log p_i + (1 - y_i) log(1 - p_i)], p = sigmoid(X w).

    Written stably: log p = -log(1 + e^-z) and log(1 - p) = -log(1 + e^z), z = X w.
    """
    z = X @ w
    return float(np.mean(y * np.logaddexp(0.0, -z) + (1.0 - y) * np.logaddexp(0.0, z)))


def _ll_terms(X, y, w, log=np.log):
    p = 1.0 / (1.0 + np.exp(-(X @ w)))
    return y * log(p) + (1.0 - y) * log(1.0 - p)


LOG_LOSS_MISTAKES = [
    Mistake("sign flipped", lambda X, y, w: float(np.mean(_ll_terms(X, y, w))),
            "log p < 0, so the sum in brackets is negative: the minus sign in front makes the loss "
            "positive, -1/n sum [...]"),
    Mistake("sum instead of mean", lambda X, y, w: float(-np.sum(_ll_terms(X, y, w))),
            "the loss is the mean over the n samples: divide by n = X.shape[0] (or use np.mean)"),
    Mistake("labels swapped", lambda X, y, w: float(-np.mean(_ll_terms(X, 1.0 - y, w))),
            "p = sigmoid(X w) = 1 / (1 + exp(-X w)) is the probability of label 1: check the sign "
            "inside exp, and that y multiplies log p and (1 - y) multiplies log(1 - p)"),
    Mistake("log10", lambda X, y, w: float(-np.mean(_ll_terms(X, y, w, np.log10))),
            "the log-loss uses the natural logarithm, np.log (np.log10 gives 1/ln(10) times it)"),
    Mistake("log p in both terms",
            lambda X, y, w: float(-np.mean(np.log(1.0 / (1.0 + np.exp(-(X @ w)))))),
            "the second term is (1 - y) log(1 - p): a sample of label 0 is scored by log(1 - p), "
            "the probability the model gives to label 0"),
]


def _ll_case(name, X, y, w):
    return Case(name, {"X": np.asarray(X, dtype=float), "y": np.asarray(y, dtype=float),
                       "w": np.asarray(w, dtype=float)})


def _ll_fixed():
    rng = np.random.default_rng(3)
    Xs = np.column_stack([np.ones(6), np.linspace(-2, 2, 6)])
    return [
        _ll_case("small example (n=4, d=2)", [[1, 0.5], [1, -1], [1, 2], [1, -0.3]], [1, 0, 1, 0],
                 [0.2, -0.7]),
        _ll_case("w = 0 (every p = 1/2, the loss is log 2)", rng.normal(size=(5, 3)),
                 [1, 0, 0, 1, 1], np.zeros(3)),
        _ll_case("n = 1 sample", [[0.5, -1.5]], [0], [1.0, 0.4]),
        _ll_case("all labels 1", rng.normal(size=(4, 2)), [1, 1, 1, 1], [0.3, -0.8]),
        _ll_case("confident and right (|X w| up to 8)", Xs, [0, 0, 0, 1, 1, 1], [0.0, 4.0]),
        _ll_case("one feature (d=1)", [[-1.0], [0.5], [2.0]], [0, 1, 0], [0.7]),
    ]


def _ll_random(rng, k):
    cases = []
    for i in range(k):
        n, d = int(rng.integers(3, 41)), int(rng.integers(1, 6))
        X = rng.normal(size=(n, d))
        w = rng.normal(size=d)
        w *= min(1.0, 6.0 / max(float(np.max(np.abs(X @ w))), 1e-12))  # |X w| <= 6
        y = (rng.uniform(size=n) < _sigmoid(X @ w)).astype(float)
        cases.append(_ll_case(f"random {i + 1} (n={n}, d={d})", X, y, w))
    return cases


def _ll_compare(expected, got, case):
    (e, _), (g, _) = expected, got
    n = case.args["X"].shape[0]
    if isinstance(g, np.ndarray) and g.ndim > 0 and g.size == n and n > 1:
        return Mismatch(f"your answer is a NumPy array of shape {g.shape}, one number per sample; "
                        "the loss is one number, their mean", "")
    return compare_scalars(e, g, rtol=1e-9, atol=1e-12, what="your loss")


LOG_LOSS = Exercise(
    name="log_loss", points=3, reference=log_loss_reference,
    fixed_cases=_ll_fixed, random_cases=_ll_random, compare=_ll_compare,
    mistakes=LOG_LOSS_MISTAKES, n_random=2, seed=3, chapter=CHAPTER,
    inplace_example='e.g. z = X @ w, p = 1 / (1 + np.exp(-z))')

EXERCISES = [CENTRED_DERIVATIVE, GRAD_Z, STEEPEST_DESCENT_DIRECTION, LOG_LOSS]

