"""Checks for chapter 01, Taylor expansion, Hessian and Newton's method
(solutions/01_taylor_hessian_newton.ipynb).

    taylor_quadratic(C, g, H, dw)   C + g . dw + 1/2 dw^T H dw, the second-order Taylor model
    numerical_hessian(f, w, h)      the Hessian of f at w by centred differences with step h
    newton_step(g, H, eta)          the damped Newton step -eta H^-1 g
    is_positive_definite(H)         True iff every eigenvalue of the symmetric H is > 0

References are written directly in NumPy (float64), each next to the plausible wrong answers its
check recognises.
"""
from __future__ import annotations

import numpy as np

from .core import (INPUTS_AFTER, Case, Exercise, Mismatch, Mistake, compare_arrays, compare_scalars,
                   describe_kind, format_value)

CHAPTER = "01_taylor_hessian_newton"



def _random_symmetric(rng, eigenvalues):
    Q, _ = np.linalg.qr(rng.normal(size=(len(eigenvalues), len(eigenvalues))))
    A = (Q * np.asarray(eigenvalues, dtype=float)) @ Q.T
    return (A + A.T) / 2


def _exp_sum_grad_hess(w):
    """The lecture's f(x, y) = e^(x+3y-0.1) + e^(x-3y-0.1) + e^(-x-0.1): its gradient and Hessian."""
    x, y = w
    a, b, c = np.exp(x + 3 * y - 0.1), np.exp(x - 3 * y - 0.1), np.exp(-x - 0.1)
    g = np.array([a + b - c, 3 * a - 3 * b])
    H = np.array([[a + b + c, 3 * a - 3 * b], [3 * a - 3 * b, 9 * a + 9 * b]])
    return g, H


# ---------------------------------------------------------------------------------------------
# (a) the second-order Taylor model


def taylor_quadratic_reference(C, g, H, dw):
    """m2(dw) = C + g . dw + 1/2 dw^T H dw for C a number, g and dw (n,), H (n, n)."""
    return float(C + g @ dw + 0.5 * dw @ H @ dw)


TAYLOR_MISTAKES = [
    Mistake("1/2 missing", lambda C, g, H, dw: float(C + g @ dw + dw @ H @ dw),
            "the quadratic term of Taylor's formula is 1/2 dw^T H dw (as 1/2 f''(x) dx^2 in one variable)"),
    Mistake("linear model only", lambda C, g, H, dw: float(C + g @ dw),
            "that is the first-order (linear) model m1; the quadratic model adds 1/2 dw^T H dw"),
    Mistake("1/2 on the gradient term too", lambda C, g, H, dw: float(C + 0.5 * (g @ dw + dw @ H @ dw)),
            "only the quadratic term has the factor 1/2: C + g . dw + 1/2 dw^T H dw"),
    Mistake("H missing", lambda C, g, H, dw: float(C + g @ dw + 0.5 * dw @ dw),
            "the quadratic term is 1/2 dw^T H dw: the Hessian sits between the two dw "
            "(dw @ H @ dw); 1/2 dw . dw is that only for H = I"),
    Mistake("diagonal of H only", lambda C, g, H, dw: float(C + g @ dw + 0.5 * np.diag(H) @ dw ** 2),
            "1/2 sum_i H_ii dw_i^2 leaves out the mixed terms H_ij dw_i dw_j (i != j): use the whole "
            "matrix, 1/2 dw @ H @ dw"),
    Mistake("gradient term subtracted", lambda C, g, H, dw: float(C - g @ dw + 0.5 * dw @ H @ dw),
            "Taylor's formula adds the first-order term: C + g . dw (it is negative when dw points "
            "downhill, as in the Newton step)"),
]


def _tq_case(name, C, g, H, dw):
    return Case(name, {"C": float(C), "g": np.asarray(g, dtype=float), "H": np.asarray(H, dtype=float),
                       "dw": np.asarray(dw, dtype=float)})


def _tq_fixed():
    w0 = np.array([0.5, 0.2])
    g0, H0 = _exp_sum_grad_hess(w0)
    C0 = float(np.exp(w0[0] + 3 * w0[1] - 0.1) + np.exp(w0[0] - 3 * w0[1] - 0.1) + np.exp(-w0[0] - 0.1))
    return [
        _tq_case("small example (n=2)", 1.5, [1.0, -2.0], [[2.0, 0.5], [0.5, 1.0]], [0.3, 0.4]),
        _tq_case("dw = 0 (the model equals C)", -0.7, [0.4, 1.1, -2.0], np.diag([1.0, 2.0, 3.0]), np.zeros(3)),
        _tq_case("one variable (n=1)", 2.0, [-1.0], [[4.0]], [0.25]),
        _tq_case("an indefinite H (a saddle's model)", 0.0, [0.5, -0.5], np.diag([2.0, -2.0]), [1.0, 1.5]),
        _tq_case("the lecture's function at w0 = (0.5, 0.2)", C0, g0, H0, [-0.1, 0.05]),
        # off-diagonal entries as large as the diagonal ones and a step not along an axis: a model
        # that drops H, keeps only its diagonal or flips a sign gives a visibly different number
        _tq_case("a full 3x3 H with large mixed terms", 0.25, [0.5, -1.0, 2.0],
                 [[2.0, -1.5, 0.5], [-1.5, 3.0, 1.0], [0.5, 1.0, 1.5]], [0.4, 0.3, -0.2]),
    ]


def _tq_random(rng, k):
    cases = []
    for i in range(k):
        n = int(rng.integers(2, 7))
        H = _random_symmetric(rng, rng.uniform(-3, 5, size=n))
        cases.append(_tq_case(f"random {i + 1} (n={n})", float(rng.normal()), rng.normal(size=n), H,
                              0.5 * rng.normal(size=n)))
    return cases


def _tq_compare(expected, got, case):
    (e, _), (g, _) = expected, got
    a = case.args
    size = (abs(a["C"]) + float(np.abs(a["g"]) @ np.abs(a["dw"]))
            + float(np.abs(a["dw"]) @ np.abs(a["H"]) @ np.abs(a["dw"])))
    return compare_scalars(e, g, rtol=1e-10, atol=1e-12 * max(size, 1.0), what="your model value")


TAYLOR_QUADRATIC = Exercise(
    name="taylor_quadratic", points=2, reference=taylor_quadratic_reference,
    fixed_cases=_tq_fixed, random_cases=_tq_random, compare=_tq_compare,
    mistakes=TAYLOR_MISTAKES, n_random=2, seed=10, chapter=CHAPTER,
    inplace_example='e.g. half_step = 0.5 * dw, not dw *= 0.5')

# ---------------------------------------------------------------------------------------------
# (b) a finite-difference Hessian


def numerical_hessian_reference(f, w, h):
    """Centred differences with the same step h in every coordinate:

        H_ii = (f(w + h e_i) - 2 f(w) + f(w - h e_i)) / h^2
        H_ij = (f(w + h e_i + h e_j) - f(w + h e_i - h e_j) - f(w - h e_i + h e_j)
                + f(w - h e_i - h e_j)) / (4 h^2)          (i != j; H_ji = H_ij)

    Every centred formula is exact for polynomials of degree 3 and has an error of order h^2.
    """
    w = np.array(w, dtype=float)
    n = w.size
    E = np.eye(n) * h
    f0 = f(w)
    H = np.empty((n, n))
    for i in range(n):
        H[i, i] = (f(w + E[i]) - 2.0 * f0 + f(w - E[i])) / h ** 2
        for j in range(i):
            H[i, j] = H[j, i] = (f(w + E[i] + E[j]) - f(w + E[i] - E[j])
                                 - f(w - E[i] + E[j]) + f(w - E[i] - E[j])) / (4.0 * h ** 2)
    return H


#: the functions whose Hessians the check computes: formula -> (f(w), dimension, exact for any h)
HESSIAN_FUNCTIONS = {
    "x**3 + 2*x*y**2 - y**3 + x*y":
        (lambda v: v[0] ** 3 + 2 * v[0] * v[1] ** 2 - v[1] ** 3 + v[0] * v[1], 2, True),
    "x**2 + 3*y**2 + 2*z**2 + x*y - y*z + x":
        (lambda v: v[0] ** 2 + 3 * v[1] ** 2 + 2 * v[2] ** 2 + v[0] * v[1] - v[1] * v[2] + v[0], 3, True),
    "(1 - x)**2 + 100*(y - x**2)**2":
        (lambda v: (1 - v[0]) ** 2 + 100 * (v[1] - v[0] ** 2) ** 2, 2, False),
    "exp(x + 3*y - 0.1) + exp(x - 3*y - 0.1) + exp(-x - 0.1)":
        (lambda v: np.exp(v[0] + 3 * v[1] - 0.1) + np.exp(v[0] - 3 * v[1] - 0.1) + np.exp(-v[0] - 0.1),
         2, False),
    "x**4 - 2*x**2": (lambda v: v[0] ** 4 - 2 * v[0] ** 2, 1, False),
    "log(exp(x) + exp(y) + exp(z))": (lambda v: np.log(np.sum(np.exp(v))), 3, False),
    "sin(x)*cos(y) + x*z**2 - z*u + u**3":
        (lambda v: np.sin(v[0]) * np.cos(v[1]) + v[0] * v[2] ** 2 - v[2] * v[3] + v[3] ** 3, 4, False),
}


def _hess_call(objs, case):
    """Call numerical_hessian(f, w, h) with f built from the formula named in the case."""
    a = case.args
    func, n, _ = HESSIAN_FUNCTIONS[a["f"]]
    calls = [0]

    def f(v):
        calls[0] += 1
        if calls[0] > 100_000:
            raise RuntimeError("f was called more than 100000 times: a Hessian needs about 2 n^2 calls")
        v = np.asarray(v, dtype=float)
        if v.shape != (n,):
            raise ValueError(f"f takes a vector of shape ({n},), got shape {v.shape}")
        return float(func(v))

    w = np.array(a["w"], dtype=float)
    out = objs[0](f, w, a["h"])
    # w as the answer left it: judged in the grader (settle_extras), where numpy is not the student's
    return out, {INPUTS_AFTER: {"w": w}}


def _hess_forward(f, w, h):
    w = np.array(w, dtype=float)
    n = w.size
    E = np.eye(n) * h
    f0 = f(w)
    H = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            H[i, j] = (f(w + E[i] + E[j]) - f(w + E[i]) - f(w + E[j]) + f0) / h ** 2
    return H


def _hess_offdiag_over_h2(f, w, h):
    H = numerical_hessian_reference(f, w, h)
    return 4.0 * H - 3.0 * np.diag(np.diag(H))


def _hess_upper_only(f, w, h):
    return np.triu(numerical_hessian_reference(f, w, h))


def _hess_diagonal_only(f, w, h):
    return np.diag(np.diag(numerical_hessian_reference(f, w, h)))


_OWN_STEP_HINT = ("use the step h you are given, in every coordinate: the check compares with the "
                  "centred formulas at that h, and where h is large their error O(h^2) is clearly visible")


def _hess_own_step(f, w, h):
    return numerical_hessian_reference(f, w, 1e-4)


HESSIAN_MISTAKES = [
    Mistake("forward differences", _hess_forward,
            "f(w + h e_i + h e_j) - f(w + h e_i) - f(w + h e_j) + f(w) is a one-sided (forward) "
            "difference with an error of order h; use the centred formulas (points on both sides of "
            "w), whose error is of order h^2"),
    Mistake("off-diagonal divided by h^2", _hess_offdiag_over_h2,
            "the four-point formula for H_ij (i != j) steps by 2h in each direction: divide by "
            "(2h)(2h) = 4 h^2"),
    Mistake("only one triangle filled", _hess_upper_only,
            "the Hessian is symmetric: set H[j, i] = H[i, j] too (the entries below the diagonal "
            "are missing)"),
    Mistake("diagonal only", _hess_diagonal_only,
            "the mixed partials d2f/dw_i dw_j (i != j) are part of the Hessian too: fill the "
            "off-diagonal entries"),
    Mistake("ignores h", _hess_own_step, _OWN_STEP_HINT),
]


def _hess_case(name, f, w, h):
    return Case(name, {"f": f, "w": np.asarray(w, dtype=float), "h": float(h)})


def _hess_fixed():
    names = list(HESSIAN_FUNCTIONS)
    return [
        _hess_case("a cubic with a large step (h = 0.1)", names[0], [1.0, -0.5], 0.1),
        # not a polynomial and a large step: the O(h^2) error of the centred formulas is ~1 %,
        # so an answer with its own step (or h/2, 2h) differs visibly
        _hess_case("the lecture's function with a large step (h = 0.2)", names[3], [0.3, 0.1], 0.2),
        _hess_case("a quadratic in 3 variables", names[1], [0.5, -1.0, 2.0], 0.01),
        _hess_case("Rosenbrock at (-1.2, 1)", names[2], [-1.2, 1.0], 1e-3),
        _hess_case("one variable (H is 1x1)", names[4], [0.5], 1e-3),
        _hess_case("the lecture's function at (0.5, 0.2)", names[3], [0.5, 0.2], 5e-4),
        _hess_case("4 variables", names[6], [0.3, -1.1, 0.8, 0.5], 5e-4),
    ]




def _hess_random(rng, k):
    # not the quadratic: one-sided differences are exact for it too (it is a fixed case)
    names = [name for name in HESSIAN_FUNCTIONS if name != "x**2 + 3*y**2 + 2*z**2 + x*y - y*z + x"]
    cases = []
    for i in range(k):
        name = names[int(rng.integers(len(names)))]
        _, n, exact = HESSIAN_FUNCTIONS[name]
        w = np.round(rng.uniform(-1.0, 1.0, size=n) * (0.7 if "exp(x + 3*y" in name else 1.2), 4)
        # large steps for the functions that are not cubic, so the step's effect shows
        h = 10.0 ** rng.uniform(-3.0, -1.0) if exact else 10.0 ** rng.uniform(-1.5, -0.5)
        cases.append(_hess_case(f"random {i + 1} ({name})", name, w, float(np.round(h, 6))))
    return cases


def _four_point_hessian(f, w, h):
    """The four-point formula for every entry (the diagonal then steps by 2h): another centred
    Hessian, with a truncation error about 4 times the reference's on the diagonal."""
    w = np.array(w, dtype=float)
    E = np.eye(w.size) * h
    return np.array([[(f(w + E[i] + E[j]) - f(w + E[i] - E[j]) - f(w - E[i] + E[j]) + f(w - E[i] - E[j]))
                      / (4.0 * h ** 2) for j in range(w.size)] for i in range(w.size)])


def _hess_allowance(case) -> tuple[float, np.ndarray]:
    """(tol, shift) for a case: what a correct answer may differ by.

    Every usual centred formula with the step h (the reference's, differences of a centred
    gradient, symmetrised or not, the four-point formula everywhere) gives the same off-diagonal
    entries, and on the diagonal either the three-point value (steps h) or the four-point one
    (steps 2h): `shift` is the difference of the two diagonals. `tol` is rounding only, so an
    answer with another step (its truncation error O(h^2) differs) fails wherever h is large, and
    a one-sided formula (error O(h)) fails everywhere. Computed from the case alone, so that an
    answer compared with a plausible mistake's (to pick a hint) gets the same allowance."""
    a = case.args
    if a.get("f") not in HESSIAN_FUNCTIONS:        # a case of another exercise (the release asks)
        return None
    func = HESSIAN_FUNCTIONS[a["f"]][0]
    f = lambda v: float(func(v))
    w, h = np.asarray(a["w"], dtype=float), float(a["h"])
    with np.errstate(all="ignore"):
        three = numerical_hessian_reference(f, w, h)
        four = _four_point_hessian(f, w, h)
        f_size = max(abs(f(w + s * h)) for s in (-2.0, 0.0, 2.0))
    # rounding: each entry divides differences of f values (relative error eps) by ~h^2
    tol = 1e-7 * float(np.max(np.abs(three))) + 1e-9 + 200.0 * np.finfo(float).eps * (f_size + 1.0) / h ** 2
    return tol, np.diag(four) - np.diag(three)


def _small_step_hessian(case):
    """The Hessian with the reference formulas at h = 1e-4 (close to the exact one), for a case
    with a large step; None for a small step, where every step gives nearly the same matrix."""
    a = case.args
    if a.get("f") not in HESSIAN_FUNCTIONS or a["h"] < 0.02:   # another exercise's case, or a small h
        return None
    func = HESSIAN_FUNCTIONS[a["f"]][0]
    with np.errstate(all="ignore"):
        return numerical_hessian_reference(lambda v: float(func(v)), a["w"], 1e-4)


def _nearer_a_small_step(g, e, case) -> bool:
    """True when g is much closer to a small-step Hessian than to the answer at the case's h."""
    fine = _small_step_hessian(case)
    return fine is not None and bool(np.max(np.abs(g - fine)) < 0.2 * np.max(np.abs(g - e)))


def _hess_compare(expected, got, case):
    (e, e_extra), (g, g_extra) = expected, got
    e = np.array(e, dtype=float)
    tol, shift = _hess_allowance(case)
    if (isinstance(g, np.ndarray) and g.shape == e.shape and e.ndim == 2 and g.dtype.kind in "iuf"
            and np.all(np.isfinite(g))):
        # the diagonal may come from either centred family: compare with the nearer one
        d = np.diag(g).astype(float)
        use_four = np.abs(d - (np.diag(e) + shift)) < np.abs(d - np.diag(e))
        e[np.diag_indices_from(e)] = np.where(use_four, np.diag(e) + shift, np.diag(e))
    scale = float(np.max(np.abs(e))) if e.size else 0.0
    if scale > 0:
        mismatch = compare_arrays(e, g, rtol=tol / scale, atol=0.0, what="your Hessian")
    else:
        mismatch = compare_arrays(e, g, rtol=0.0, atol=tol, what="your Hessian")
    if mismatch is not None:
        if (isinstance(g, np.ndarray) and g.shape == e.shape and g.ndim == 2 and g.dtype.kind in "iuf"
                and np.all(np.isfinite(g)) and not mismatch.hint):
            asym = float(np.max(np.abs(g - g.T)))
            if asym > tol:
                return Mismatch(mismatch.text, f"your matrix is not symmetric (max |H - H^T| = "
                                               f"{asym:.2g}), but a Hessian is: H[i, j] and H[j, i] "
                                               "come from the same formula")
            if _nearer_a_small_step(g, e, case):
                return Mismatch(mismatch.text, _OWN_STEP_HINT)
        return mismatch
    if "w" in g_extra.get("modified", ()) and "w" not in e_extra.get("modified", ()):
        return Mismatch("your function changed the caller's w in place (w[i] += h ... w[i] -= h does not "
                        "always restore it exactly in floating point); perturb a copy, "
                        "e.g. w_plus = w.copy(); w_plus[i] += h")
    return None


NUMERICAL_HESSIAN = Exercise(
    name="numerical_hessian", points=3, reference=numerical_hessian_reference,
    fixed_cases=_hess_fixed, random_cases=_hess_random, compare=_hess_compare, call=_hess_call,
    mistakes=HESSIAN_MISTAKES, n_random=2, seed=17, chapter=CHAPTER)

# ---------------------------------------------------------------------------------------------
# (c) the damped Newton step


def newton_step_reference(g, H, eta):
    """dw = -eta H^-1 g, computed by solving H dw = -eta g (never forming H^-1)."""
    return -eta * np.linalg.solve(H, g)


NEWTON_MISTAKES = [
    Mistake("sign flipped", lambda g, H, eta: eta * np.linalg.solve(H, g),
            "the step goes to the minimum of the quadratic model, where g + H dw = 0: dw = -eta H^-1 g"),
    Mistake("H g instead of H^-1 g", lambda g, H, eta: -eta * H @ g,
            "Newton's step uses the inverse Hessian: solve H x = g with np.linalg.solve(H, g) "
            "(H @ g multiplies by H instead)"),
    Mistake("eta missing", lambda g, H, eta: -np.linalg.solve(H, g),
            "the damped step is scaled by the learning rate: dw = -eta H^-1 g"),
    Mistake("elementwise inverse", lambda g, H, eta: -eta * (1.0 / H) @ g,
            "H**-1 and 1 / H invert each entry, which is not the matrix inverse: use "
            "np.linalg.solve(H, g) (or np.linalg.inv(H) @ g)"),
    Mistake("divided by eta", lambda g, H, eta: -np.linalg.solve(H, g) / eta,
            "the learning rate damps the step: multiply by eta, dw = -eta H^-1 g"),
    Mistake("diagonal of H only", lambda g, H, eta: -eta * g / np.diag(H),
            "g / diag(H) divides by the diagonal entries only, which is H^-1 g only for a diagonal H: "
            "solve the whole system H x = g with np.linalg.solve(H, g)"),
]


def _nt_case(name, g, H, eta):
    return Case(name, {"g": np.asarray(g, dtype=float), "H": np.asarray(H, dtype=float), "eta": float(eta)})


def _nt_fixed():
    g0, H0 = _exp_sum_grad_hess(np.array([0.5, 0.2]))
    rng = np.random.default_rng(12)
    H_ill = _random_symmetric(rng, [1e-3, 1.0, 1e3])
    return [
        _nt_case("damped step (eta = 0.5)", [1.0, -2.0], [[3.0, 1.0], [1.0, 2.0]], 0.5),
        _nt_case("pure step (eta = 1) on the lecture's function at (0.5, 0.2)", g0, H0, 1.0),
        _nt_case("one variable", [4.0], [[2.0]], 1.0),
        _nt_case("zero gradient (a stationary point)", np.zeros(3), np.diag([1.0, 2.0, 3.0]), 0.7),
        _nt_case("a diagonal H", [1.0, 1.0, -2.0], np.diag([0.1, 2.0, 5.0]), 0.8),
        _nt_case("ill-conditioned H (kappa = 1e6)", rng.normal(size=3), H_ill, 0.9),
        _nt_case("an indefinite H (the formula still applies)", [2.0, -3.0],
                 [[2.0, 0.5], [0.5, -2.0]], 1.0),
    ]


def _nt_random(rng, k):
    cases = []
    for i in range(k):
        n = int(rng.integers(2, 7))
        H = _random_symmetric(rng, np.exp(rng.uniform(np.log(0.1), np.log(10.0), size=n)))
        eta = float(np.round(rng.uniform(0.1, 1.0), 3))
        cases.append(_nt_case(f"random {i + 1} (n={n}, eta={eta:g})", rng.normal(size=n), H, eta))
    return cases


def _nt_compare(expected, got, case):
    (e, _), (g, _) = expected, got
    return compare_arrays(e, g, rtol=1e-8, atol=1e-12, what="your step")


NEWTON_STEP = Exercise(
    name="newton_step", points=2, reference=newton_step_reference,
    fixed_cases=_nt_fixed, random_cases=_nt_random, compare=_nt_compare,
    mistakes=NEWTON_MISTAKES, n_random=2, seed=12, chapter=CHAPTER,
    inplace_example='e.g. d = np.linalg.solve(H, g); return -eta * d, not g *= -eta')

# ---------------------------------------------------------------------------------------------
# (d) when Newton fails: is the Hessian positive definite?


def is_positive_definite_reference(H):
    """True iff every eigenvalue of the symmetric matrix H is > 0 (then the quadratic model has a
    unique minimum and the Newton step is a descent direction). The test matrices have no
    eigenvalue near 0 other than exact zeros, so eigenvalues and a Cholesky attempt agree."""
    return bool(np.all(np.linalg.eigvalsh(H) > 0))


def _pd_2x2_rule(H):
    return bool(np.all(np.diag(H) > 0) and np.linalg.det(H) > 0)


def _pd_diagonally_dominant(H):
    off = np.sum(np.abs(H), axis=1) - np.abs(np.diag(H))
    return bool(np.all(np.diag(H) > off))


def _pd_every_pair(H):
    n = len(H)
    return bool(np.all(np.diag(H) > 0) and all(H[i, i] * H[j, j] - H[i, j] * H[j, i] > 0
                                               for i in range(n) for j in range(i + 1, n)))


PD_MISTAKES = [
    # the order matters: each wrong answer's first failing case gets its own hint
    Mistake("diagonal and determinant", _pd_2x2_rule,
            "a positive diagonal and a positive determinant suffice for 2x2 matrices only: "
            "[[1, 2, 2], [2, 1, 2], [2, 2, 1]] has both, yet eigenvalues -1, -1, 5. Check the "
            "eigenvalues (np.linalg.eigvalsh) or try a Cholesky factorisation"),
    Mistake("every 2x2 minor", _pd_every_pair,
            "positive 2x2 principal minors (H_ii H_jj - H_ij^2 > 0 for every pair) are necessary, not "
            "sufficient: [[1, -0.6, -0.6], [-0.6, 1, -0.6], [-0.6, -0.6, 1]] has all of them, yet an "
            "eigenvalue -0.2. Check the eigenvalues (np.linalg.eigvalsh) or try a Cholesky factorisation"),
    Mistake("diagonal only", lambda H: bool(np.all(np.diag(H) > 0)),
            "positive diagonal entries do not make H positive definite: [[1, 2], [2, 1]] has "
            "eigenvalues -1 and 3. Check the eigenvalues (np.linalg.eigvalsh)"),
    Mistake("determinant > 0", lambda H: bool(np.linalg.det(H) > 0),
            "the determinant is the product of the eigenvalues: two negative ones give det > 0 too "
            "(a maximum). Every eigenvalue must be > 0"),
    Mistake("semidefinite (>= 0)", lambda H: bool(np.all(np.linalg.eigvalsh(H) >= 0)),
            "positive definite means every eigenvalue > 0, strictly: with an eigenvalue 0 the model "
            "is flat in that direction and H cannot be inverted"),
    Mistake("all entries positive", lambda H: bool(np.all(H > 0)),
            "positive definite is not 'all entries positive': [[2, -1], [-1, 2]] has eigenvalues 1 "
            "and 3. Check the eigenvalues (np.linalg.eigvalsh)"),
    Mistake("diagonal dominance", _pd_diagonally_dominant,
            "a positive diagonal that dominates each row (H_ii > sum of |H_ij|, j != i) is sufficient, "
            "not necessary: [[1, 2], [2, 5]] is positive definite (eigenvalues 0.17 and 5.8). Check "
            "the eigenvalues (np.linalg.eigvalsh) or try a Cholesky factorisation"),
]


def _pd_case(name, H):
    return Case(name, {"H": np.asarray(H, dtype=float)})


def _pd_fixed():
    return [
        _pd_case("positive definite [[2, 1], [1, 2]]", [[2, 1], [1, 2]]),
        _pd_case("positive definite with negative entries", [[2, -1], [-1, 2]]),
        _pd_case("indefinite (a saddle) with a positive diagonal", [[1, 2], [2, 1]]),
        _pd_case("negative definite (a maximum)", [[-2, 1], [1, -3]]),
        _pd_case("singular, positive semidefinite", [[0, 0], [0, 1]]),
        _pd_case("1x1, positive", [[3.0]]),
        _pd_case("1x1, negative", [[-0.5]]),
        _pd_case("3x3, positive diagonal and determinant, indefinite", [[1, 2, 2], [2, 1, 2], [2, 2, 1]]),
        _pd_case("the saddle w_1^2 - w_2^2", [[2, 0], [0, -2]]),
        # sizes where a necessary and a sufficient condition part ways
        _pd_case("positive definite, not diagonally dominant", [[1, 2], [2, 5]]),
        _pd_case("4x4 positive definite, not diagonally dominant",
                 [[4, 3, 2, 1], [3, 4, 3, 2], [2, 3, 4, 3], [1, 2, 3, 4]]),
        _pd_case("every 2x2 minor positive, yet indefinite (3x3)",
                 [[1, -0.6, -0.6], [-0.6, 1, -0.6], [-0.6, -0.6, 1]]),
        _pd_case("every 2x2 minor positive, yet indefinite (4x4, scaled)",
                 _scaled_pairwise_trap(4, 0.5, [1.0, 3.0, 0.5, 2.0], [1, -1, 1, 1])),
    ]


def _scaled_pairwise_trap(n, rho, scales, signs):
    """D S M S D with M = (1 + rho) I - rho 11^T (1 on the diagonal, -rho off it), S = diag(signs),
    D = diag(scales): every 2x2 principal minor is positive (scales^2 (1 - rho^2)), yet for
    rho > 1/(n - 1) the matrix is indefinite (M has the eigenvalue 1 - (n - 1) rho < 0, and a
    congruence keeps the signs of the eigenvalues)."""
    M = (1.0 + rho) * np.eye(n) - rho * np.ones((n, n))
    T = np.diag(np.asarray(scales, dtype=float) * np.asarray(signs, dtype=float))
    return T @ M @ T


def _pd_random(rng, k):
    # besides plain positive definite / indefinite / negative definite matrices, the two kinds that
    # tell a necessary or a sufficient condition from the definition: positive definite with large
    # off-diagonal entries (not diagonally dominant) and indefinite with every 2x2 minor positive
    kinds = ("positive definite", "indefinite", "negative definite", "not dominant", "pairwise trap")
    cases = []
    for i in range(k):
        n = int(rng.integers(3, 7))
        kind = kinds[int(rng.integers(len(kinds)))]
        if kind == "pairwise trap":
            rho = float(rng.uniform(1.3 / (n - 1), 0.9))
            H = _scaled_pairwise_trap(n, rho, rng.uniform(0.5, 2.0, size=n), rng.choice([-1.0, 1.0], size=n))
        elif kind == "not dominant":
            B = rng.normal(size=(n, n)) + 2.0 * np.ones((n, n))    # strongly correlated rows
            H = B @ B.T + 0.3 * np.eye(n)
        else:
            eig = rng.uniform(0.2, 5.0, size=n)
            if kind == "negative definite":
                eig = -eig
            elif kind == "indefinite":
                m = int(rng.integers(1, n))
                eig[rng.permutation(n)[:m]] *= -1
            H = _random_symmetric(rng, eig)
        cases.append(_pd_case(f"random {i + 1} ({n}x{n}, {kind})", (H + H.T) / 2))
    return cases


def _pd_compare(expected, got, case):
    (e, _), (g, _) = expected, got
    if isinstance(g, np.ndarray) and g.shape == () and g.dtype == bool:
        g = bool(g)
    if not isinstance(g, (bool, np.bool_)):
        if g is None:
            return Mismatch("your answer is None: did you forget `return`?")
        if isinstance(g, np.ndarray):
            return Mismatch(f"your answer is {describe_kind(g)}; return one True or False "
                            "(e.g. bool(np.all(eigenvalues > 0)))")
        return Mismatch(f"your answer is {describe_kind(g)}; return True or False")
    if bool(g) != bool(e):
        eig = np.linalg.eigvalsh(case.args["H"])
        return Mismatch(f"expected {bool(e)}, got {bool(g)}\n"
                        f"(the eigenvalues of H are {format_value(eig)})")
    return None


IS_POSITIVE_DEFINITE = Exercise(
    name="is_positive_definite", points=2, reference=is_positive_definite_reference,
    fixed_cases=_pd_fixed, random_cases=_pd_random, compare=_pd_compare,
    mistakes=PD_MISTAKES, n_random=2, seed=13, chapter=CHAPTER,
    inplace_example='e.g. eigenvalues = np.linalg.eigvalsh(H), not H -= ...')

EXERCISES = [TAYLOR_QUADRATIC, NUMERICAL_HESSIAN, NEWTON_STEP, IS_POSITIVE_DEFINITE]
