"""Checks for chapter 02, gradient descent (solutions/02_gradient_descent.ipynb).

    mse_gradient(X, y, w)                 gradient of L(w) = 1/n ||y - X w||^2
    gradient_descent(grad, w0, lr, max_steps, tol_step, tol_grad) -> (w, steps, reason)
    largest_stable_lr(A)                  2 / lambda_max(A)
    optimal_lr(A) -> (eta, rate)          2 / (lambda_min + lambda_max), (kappa - 1) / (kappa + 1)

References are written directly in NumPy (float64), each next to the plausible wrong answers its
check recognises.
"""
from __future__ import annotations

from functools import partial

import numpy as np

from .core import (INPUTS_AFTER, Case, Exercise, Mismatch, Mistake, as_sequence, compare_arrays,
                   compare_scalars, describe_kind, is_real_number)

CHAPTER = "02_gradient_descent"

# ---------------------------------------------------------------------------------------------
# (a) the MSE gradient of linear regression


def mse_gradient_reference(X, y, w):
    """grad L(w) = -2/n X^T (y - X w) for L(w) = 1/n ||y - X w||^2, X (n, d), y (n,), w (d,)."""
    n = X.shape[0]
    return -2.0 / n * X.T @ (y - X @ w)


def _mse_sign(X, y, w):
    return 2.0 / X.shape[0] * X.T @ (y - X @ w)


def _mse_missing_2(X, y, w):
    return -1.0 / X.shape[0] * X.T @ (y - X @ w)


def _mse_sum(X, y, w):
    return -2.0 * X.T @ (y - X @ w)


def _mse_over_d(X, y, w):
    return -2.0 / X.shape[1] * X.T @ (y - X @ w)


def _mse_at_zero(X, y, w):
    return -2.0 / X.shape[0] * X.T @ y


MSE_MISTAKES = [
    Mistake("sign flipped", _mse_sign,
            "the sign is flipped: d/dw (y - Xw) = -X, so grad L = -2/n X^T (y - X w) "
            "(equivalently +2/n X^T (X w - y))"),
    Mistake("factor 2 missing", _mse_missing_2,
            "a factor 2 is missing: d/dr r^2 = 2r. This course's loss is 1/n ||y - Xw||^2, "
            "without the 1/2 some books put in front"),
    Mistake("sum instead of mean", _mse_sum,
            "L is the mean over the n samples: divide by n = X.shape[0]"),
    Mistake("divided by d", _mse_over_d,
            "you divided by the number of features d = X.shape[1]; the mean runs over the "
            "n = X.shape[0] samples (the rows of X)"),
    Mistake("gradient at w = 0", _mse_at_zero,
            "this is the gradient at w = 0: the residual must use the current weights, "
            "r = y - X @ w"),
]


def _mse_case(name, X, y, w):
    return Case(name, {"X": np.asarray(X, dtype=float), "y": np.asarray(y, dtype=float),
                       "w": np.asarray(w, dtype=float)})


def _mse_fixed():
    rng = np.random.default_rng(2)
    X0 = rng.integers(-3, 4, size=(4, 2)).astype(float)
    w0 = np.array([0.5, -1.5])
    return [
        _mse_case("small example (n=3, d=2)", [[1, 2], [3, 4], [5, 6]], [1, 2, 3], [0.5, -0.25]),
        _mse_case("n = 1 sample", rng.normal(size=(1, 3)), rng.normal(size=1), rng.normal(size=3)),
        _mse_case("zero residual (y = X w)", X0, X0 @ w0, w0),
        _mse_case("w = 0", rng.normal(size=(6, 3)), rng.normal(size=6), np.zeros(3)),
        _mse_case("more features than samples (n=2, d=5)", rng.normal(size=(2, 5)),
                  rng.normal(size=2), rng.normal(size=5)),
        _mse_case("one feature (d=1)", rng.normal(size=(7, 1)), rng.normal(size=7), [0.3]),
    ]


def _mse_random(rng, k):
    cases = []
    for i in range(k):
        n, d = int(rng.integers(3, 31)), int(rng.integers(2, 7))
        X = rng.normal(size=(n, d)) * rng.uniform(0.5, 3.0, size=d)
        w = rng.normal(size=d)
        y = X @ rng.normal(size=d) + 0.5 * rng.normal(size=n)
        cases.append(_mse_case(f"random {i + 1} (n={n}, d={d})", X, y, w))
    return cases


def _mse_compare(expected, got, case):
    (e, _), (g, _) = expected, got
    return compare_arrays(e, g, rtol=1e-8, atol=1e-10, what="your gradient")


MSE_GRADIENT = Exercise(
    name="mse_gradient", points=3, reference=mse_gradient_reference,
    fixed_cases=_mse_fixed, random_cases=_mse_random, compare=_mse_compare,
    mistakes=MSE_MISTAKES, n_random=2, seed=20, chapter=CHAPTER,
    inplace_example='e.g. r = y - X @ w, not y -= X @ w')

# ---------------------------------------------------------------------------------------------
# (b) a gradient-descent loop with three stopping criteria

REASONS = ("tol_grad", "tol_step", "max_steps")


def gradient_descent_reference(grad, w0, lr, max_steps, tol_step, tol_grad):
    """The contract stated in solutions/02_gradient_descent.ipynb.

    At every point w visited (w0 included): g = grad(w); if ||g|| < tol_grad stop ("tol_grad");
    else if `max_steps` updates were made stop ("max_steps"); else w_new = w - lr g, steps += 1, and
    if ||w_new - w|| < tol_step stop at w_new ("tol_step"). Norms are Euclidean; w0 is not changed.
    Returns (w, steps, reason) with steps = number of updates made.
    """
    w = np.array(w0, dtype=float)
    steps = 0
    while True:
        g = grad(w)
        if np.linalg.norm(g) < tol_grad:
            return w, steps, "tol_grad"
        if steps == max_steps:
            return w, steps, "max_steps"
        w_new = w - lr * g
        steps += 1
        if np.linalg.norm(w_new - w) < tol_step:
            return w_new, steps, "tol_step"
        w = w_new


def _gd_counts_evaluations(grad, w0, lr, max_steps, tol_step, tol_grad):
    w, steps, reason = gradient_descent_reference(grad, w0, lr, max_steps, tol_step, tol_grad)
    return w, (steps if reason == "tol_step" else steps + 1), reason


def _gd_no_check_at_start(grad, w0, lr, max_steps, tol_step, tol_grad):
    w = np.array(w0, dtype=float)
    steps = 0
    while steps < max_steps:
        w_new = w - lr * grad(w)
        steps += 1
        if np.linalg.norm(w_new - w) < tol_step:
            return w_new, steps, "tol_step"
        w = w_new
        if np.linalg.norm(grad(w)) < tol_grad:
            return w, steps, "tol_grad"
    return w, steps, "max_steps"


def _gd_variant(grad, w0, lr, max_steps, tol_step, tol_grad, *, max_steps_first=False,
                old_w_on_step=False):
    """The reference loop with one plausible slip switched on."""
    w = np.array(w0, dtype=float)
    steps = 0
    while True:
        if max_steps_first and steps == max_steps:
            return w, steps, "max_steps"
        g = grad(w)
        if np.linalg.norm(g) < tol_grad:
            return w, steps, "tol_grad"
        if steps == max_steps:
            return w, steps, "max_steps"
        w_new = w - lr * g
        steps += 1
        if np.linalg.norm(w_new - w) < tol_step:
            return (w if old_w_on_step else w_new), steps, "tol_step"
        w = w_new


_gd_returns_old_w = partial(_gd_variant, old_w_on_step=True)
_gd_max_steps_first = partial(_gd_variant, max_steps_first=True)


def _gd_ascent(grad, w0, lr, max_steps, tol_step, tol_grad):
    return gradient_descent_reference(lambda w: -grad(w), w0, lr, max_steps, tol_step, tol_grad)


def _gd_in_place(grad, w0, lr, max_steps, tol_step, tol_grad):
    w = w0  # no copy: the caller's array is changed
    steps = 0
    while True:
        g = grad(w)
        if np.linalg.norm(g) < tol_grad:
            return w, steps, "tol_grad"
        if steps == max_steps:
            return w, steps, "max_steps"
        w_old = w.copy()
        w -= lr * g
        steps += 1
        if np.linalg.norm(w - w_old) < tol_step:
            return w, steps, "tol_step"


def _gd_one_step_too_many(grad, w0, lr, max_steps, tol_step, tol_grad):
    return gradient_descent_reference(grad, w0, lr, max_steps + 1, tol_step, tol_grad)


def _gd_squared_norm(grad, w0, lr, max_steps, tol_step, tol_grad):
    # ||g||^2 < tol_grad  <=>  ||g|| < sqrt(tol_grad)
    return gradient_descent_reference(grad, w0, lr, max_steps, tol_step, tol_grad ** 0.5)


def _gd_squared_step_norm(grad, w0, lr, max_steps, tol_step, tol_grad):
    # ||w_new - w||^2 < tol_step  <=>  ||w_new - w|| < sqrt(tol_step)
    return gradient_descent_reference(grad, w0, lr, max_steps, tol_step ** 0.5, tol_grad)


def _gd_tol_step_on_gradient(grad, w0, lr, max_steps, tol_step, tol_grad):
    # ||g|| < tol_step instead of ||lr g|| < tol_step
    return gradient_descent_reference(grad, w0, lr, max_steps, tol_step * lr, tol_grad)


GD_MISTAKES = [
    Mistake("counts gradient evaluations", _gd_counts_evaluations,
            "steps counts the updates w <- w - lr g, not the calls of grad: a start at the "
            "minimum returns steps = 0"),
    Mistake("no gradient test at w0", _gd_no_check_at_start,
            "test the gradient at every point visited, w0 included, before updating: a start "
            "at the minimum must return (w0, 0, 'tol_grad')"),
    Mistake("returns the previous w on tol_step", _gd_returns_old_w,
            "when ||w_new - w|| < tol_step, the step was taken: return w_new (and count it)"),
    Mistake("gradient ascent", _gd_ascent,
            "the update is w - lr * g (down the gradient), not w + lr * g"),
    Mistake("changes w0 in place", _gd_in_place,
            "`w = w0` makes w another name for the caller's array, and `w -= ...` then changes "
            "w0 too: start from a copy, w = np.array(w0, dtype=float)"),
    Mistake("one step too many", _gd_one_step_too_many,
            "at most max_steps updates: stop with 'max_steps' once steps == max_steps"),
    Mistake("squared norm", _gd_squared_norm,
            "compare the norm ||g|| = np.linalg.norm(g) with tol_grad, not its square"),
    Mistake("squared step norm", _gd_squared_step_norm,
            "compare the length of the step ||w_new - w|| = np.linalg.norm(w_new - w) with tol_step, "
            "not its square (np.sum((w_new - w)**2) or (w_new - w) @ (w_new - w))"),
    Mistake("tol_step on the gradient", _gd_tol_step_on_gradient,
            "tol_step bounds the length of the step, ||w_new - w|| = lr ||g||, not ||g||"),
    Mistake("max_steps tested before tol_grad", _gd_max_steps_first,
            "at every point test the gradient first: a run whose last allowed step lands where "
            "||g|| < tol_grad stops with 'tol_grad', not 'max_steps'"),
]


def _gd_call(objs, case):
    """Build grad(w) = A w - b for f(w) = 1/2 w^T A w - b^T w and call f(grad, w0, lr, ...)."""
    a = case.args
    A = np.array(a["A"], dtype=float)
    b = np.array(a["b"], dtype=float)
    calls = [0]

    def grad(w):
        calls[0] += 1
        if calls[0] > 50_000:
            raise RuntimeError("grad was called more than 50000 times: does your loop stop after "
                               "max_steps updates?")
        return A @ np.asarray(w, dtype=float) - b

    w0 = np.array(a["w0"], dtype=float)
    out = objs[0](grad, w0, a["lr"], a["max_steps"], a["tol_step"], a["tol_grad"])
    # w0 as the answer left it: judged in the grader (settle_extras), where numpy is not the student's
    return out, {INPUTS_AFTER: {"w0": w0}}


def _gd_case(name, A, b, w0, lr, max_steps, tol_step, tol_grad):
    return Case(name, {"A": np.asarray(A, dtype=float), "b": np.asarray(b, dtype=float),
                       "w0": np.asarray(w0, dtype=float), "lr": float(lr),
                       "max_steps": int(max_steps), "tol_step": float(tol_step),
                       "tol_grad": float(tol_grad)})


def _gd_fixed():
    bowl = np.diag([0.1, 2.0])
    A2 = np.array([[3.0, 1.0], [1.0, 2.0]])
    b2 = np.array([1.0, -1.0])
    return [
        _gd_case("bowl w_1^2/20 + w_2^2, stops on tol_grad", bowl, [0, 0], [-8.0, 1.5], 0.4, 1000, 0, 1e-4),
        _gd_case("bowl, stops on tol_step", bowl, [0, 0], [-8.0, 1.5], 0.4, 1000, 1e-3, 0),
        _gd_case("bowl, hits max_steps", bowl, [0, 0], [-8.0, 1.5], 0.4, 10, 1e-10, 1e-10),
        _gd_case("starts at the minimum", A2, b2, np.linalg.solve(A2, b2), 0.2, 100, 1e-8, 1e-8),
        _gd_case("1-D quadratic", [[4.0]], [2.0], [3.0], 0.1, 500, 0, 1e-10),
        _gd_case("learning rate too large (diverges)", np.diag([1.0, 3.0]), [0, 0], [1.0, 1.0],
                 0.8, 25, 1e-8, 1e-8),
        _gd_case("max_steps = 1", np.diag([1.0, 2.0]), [0.5, 0.5], [1.0, 1.0], 0.1, 1, 0, 0),
        # lr = 1/4 on 2 w^2 - 2 w: the one allowed step lands exactly on the minimum w = 0.5
        _gd_case("the last allowed step lands on the minimum", [[4.0]], [2.0], [3.0], 0.25, 1, 0, 1e-8),
    ]


def _random_spd(rng, d, lo=0.5, hi=4.0):
    Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    eig = rng.uniform(lo, hi, size=d)
    return (Q * eig) @ Q.T, eig


def _gd_random(rng, k):
    cases = []
    for i in range(k):
        d = int(rng.integers(2, 6))
        A, eig = _random_spd(rng, d)
        b = rng.normal(size=d)
        w0 = 3.0 * rng.normal(size=d)
        lr = float(rng.uniform(0.3, 1.2) / eig.max())
        kind = int(rng.integers(0, 3))
        if kind == 0:
            cases.append(_gd_case(f"random {i + 1} (d={d}, tol_grad)", A, b, w0, lr, 5000, 0, 1e-6))
        elif kind == 1:
            cases.append(_gd_case(f"random {i + 1} (d={d}, tol_step)", A, b, w0, lr, 5000, 1e-5, 0))
        else:
            m = int(rng.integers(3, 30))
            cases.append(_gd_case(f"random {i + 1} (d={d}, max_steps={m})", A, b, w0, lr, m, 1e-12, 1e-12))
    return cases


def _gd_compare(expected, got, case):
    (e_out, e_extra), (g_out, g_extra) = expected, got
    items, mismatch = as_sequence(g_out, 3, "w, steps, reason", "gradient_descent")
    if mismatch:
        return mismatch
    w, steps, reason = items
    e_w, e_steps, e_reason = e_out
    problems = []
    if not isinstance(reason, str):
        problems.append(f"reason is {describe_kind(reason)}; expected one of {', '.join(map(repr, REASONS))}")
    elif reason != e_reason:
        problems.append(f"reason: expected {e_reason!r}, got {reason!r}")
    if not is_real_number(steps) or not float(steps).is_integer():
        problems.append(f"steps is {describe_kind(steps)}; expected a whole number (the updates made)")
    elif int(steps) != e_steps:
        problems.append(f"steps: expected {e_steps}, got {int(steps)}")
    w_mismatch = compare_arrays(e_w, w, rtol=1e-9, atol=1e-12, what="w")
    if w_mismatch:
        problems.append(w_mismatch.text if w_mismatch.text.startswith("w ")
                        else "w:\n" + "\n".join("  " + s for s in w_mismatch.text.splitlines()))
    if "w0" in g_extra.get("modified", ()) and "w0" not in e_extra.get("modified", ()):
        problems.append("your function changed the caller's w0 in place (it must stay as it was)")
    return Mismatch("\n".join(problems)) if problems else None


GRADIENT_DESCENT = Exercise(
    name="gradient_descent", points=4, reference=gradient_descent_reference,
    fixed_cases=_gd_fixed, random_cases=_gd_random, compare=_gd_compare, call=_gd_call,
    mistakes=GD_MISTAKES, n_random=2, seed=21, chapter=CHAPTER)

# ---------------------------------------------------------------------------------------------
# (c) the largest stable learning rate and (d) the optimal one, for a quadratic


def largest_stable_lr_reference(A):
    """2 / lambda_max(A) for a symmetric positive definite A: GD on 1/2 w^T A w - b^T w
    converges for every start iff 0 < lr < 2 / lambda_max."""
    return 2.0 / float(np.linalg.eigvalsh(A)[-1])


def optimal_lr_reference(A):
    """(eta, rate): eta = 2 / (lambda_min + lambda_max), the fixed step with the smallest worst-case
    contraction, and that contraction rate = (kappa - 1) / (kappa + 1), kappa = lambda_max / lambda_min."""
    eig = np.linalg.eigvalsh(A)
    lmin, lmax = float(eig[0]), float(eig[-1])
    kappa = lmax / lmin
    return 2.0 / (lmin + lmax), (kappa - 1.0) / (kappa + 1.0)


def _eig(A):
    eig = np.linalg.eigvalsh(A)
    return float(eig[0]), float(eig[-1])


LR_MISTAKES = [
    Mistake("1 / lambda_max", lambda A: 1.0 / _eig(A)[1],
            "1 / lambda_max is a safe step but not the largest: along the steepest direction the "
            "factor |1 - lr lambda_max| stays below 1 up to lr = 2 / lambda_max"),
    Mistake("uses lambda_min", lambda A: 2.0 / _eig(A)[0],
            "the limit comes from the steepest direction, the largest eigenvalue: use lambda_max "
            "(np.linalg.eigvalsh sorts ascending, so it is the last; np.linalg.eigvals returns them "
            "in no particular order)"),
    Mistake("largest diagonal entry", lambda A: 2.0 / float(np.max(np.diag(A))),
            "the diagonal entries are the eigenvalues only when A is diagonal: compute the "
            "eigenvalues, e.g. np.linalg.eigvalsh(A)"),
    Mistake("trace", lambda A: 2.0 / float(np.trace(A)),
            "the trace is the sum of all eigenvalues, not the largest one"),
    Mistake("Frobenius norm", lambda A: 2.0 / float(np.linalg.norm(A)),
            "np.linalg.norm(A) of a matrix is the Frobenius norm sqrt(sum A_ij^2), larger than "
            "lambda_max unless A has one nonzero eigenvalue: use np.linalg.eigvalsh(A)[-1] "
            "(or np.linalg.norm(A, 2))"),
]


def _opt_kappa_over(A):
    lmin, lmax = _eig(A)
    return 2.0 / (lmin + lmax), 1.0 - lmin / lmax


def _opt_momentum_rate(A):
    lmin, lmax = _eig(A)
    s = np.sqrt(lmax / lmin)
    return 2.0 / (lmin + lmax), float((s - 1) / (s + 1))


def _opt_inverse_kappa(A):
    lmin, lmax = _eig(A)
    k = lmin / lmax
    return 2.0 / (lmin + lmax), (k - 1) / (k + 1)


OPTIMAL_MISTAKES = [
    Mistake("eta without the 2", lambda A: (1.0 / sum(_eig(A)), optimal_lr_reference(A)[1]),
            "eta = 2 / (lambda_min + lambda_max): it balances |1 - eta lambda_min| = |1 - eta lambda_max|"),
    Mistake("largest stable step instead", lambda A: (2.0 / _eig(A)[1], optimal_lr_reference(A)[1]),
            "2 / lambda_max is the edge of stability (the factor along the steepest direction is -1 "
            "there); the best fixed step is 2 / (lambda_min + lambda_max)"),
    Mistake("rate 1 - 1/kappa", _opt_kappa_over,
            "1 - 1/kappa is the rate with eta = 1 / lambda_max; with the optimal eta the rate is "
            "(kappa - 1) / (kappa + 1)"),
    Mistake("momentum's rate", _opt_momentum_rate,
            "(sqrt(kappa) - 1) / (sqrt(kappa) + 1) is the rate of heavy-ball momentum (chapter 05); "
            "plain GD's is (kappa - 1) / (kappa + 1)"),
    Mistake("kappa inverted", _opt_inverse_kappa,
            "kappa = lambda_max / lambda_min >= 1; you used its inverse (np.linalg.eigvals returns "
            "the eigenvalues in no particular order: np.linalg.eigvalsh sorts them ascending)"),
]


def _sym_case(name, A):
    return Case(name, {"A": np.asarray(A, dtype=float)})


def _lr_fixed():
    return [
        _sym_case("bowl w_1^2/20 + w_2^2 (A = diag(0.1, 2))", np.diag([0.1, 2.0])),
        _sym_case("1x1 matrix [[4]]", [[4.0]]),
        _sym_case("not diagonal [[2, 1.5], [1.5, 2]]", [[2.0, 1.5], [1.5, 2.0]]),
        _sym_case("multiple of the identity (3 I, kappa = 1)", 3.0 * np.eye(3)),
    ]


def _lr_random(rng, k):
    cases = []
    for i in range(k):
        d = int(rng.integers(3, 7))
        Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
        eig = np.exp(rng.uniform(np.log(0.05), np.log(20.0), size=d))
        A = (Q * eig) @ Q.T
        cases.append(_sym_case(f"random {i + 1} ({d}x{d}, kappa = {eig.max() / eig.min():.3g})",
                               (A + A.T) / 2))
    return cases


def _lr_compare(expected, got, case):
    (e, _), (g, _) = expected, got
    return compare_scalars(e, g, rtol=1e-10, atol=1e-12, what="your learning rate")


def _opt_compare(expected, got, case):
    (e, _), (g, _) = expected, got
    items, mismatch = as_sequence(g, 2, "eta, rate", "optimal_lr")
    if mismatch:
        return mismatch
    problems = [m.text for m in (compare_scalars(e[0], items[0], rtol=1e-10, atol=1e-12, what="eta"),
                                 compare_scalars(e[1], items[1], rtol=1e-10, atol=1e-12, what="rate"))
                if m is not None]
    return Mismatch("\n".join(problems)) if problems else None


LARGEST_STABLE_LR = Exercise(
    name="largest_stable_lr", points=2, reference=largest_stable_lr_reference,
    fixed_cases=_lr_fixed, random_cases=_lr_random, compare=_lr_compare,
    mistakes=LR_MISTAKES, n_random=2, seed=22, chapter=CHAPTER)

OPTIMAL_LR = Exercise(
    name="optimal_lr", points=2, reference=optimal_lr_reference,
    fixed_cases=_lr_fixed, random_cases=_lr_random, compare=_opt_compare,
    mistakes=OPTIMAL_MISTAKES, n_random=2, seed=23, chapter=CHAPTER)

EXERCISES = [MSE_GRADIENT, GRADIENT_DESCENT, LARGEST_STABLE_LR, OPTIMAL_LR]
