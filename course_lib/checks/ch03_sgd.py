"""Checks for chapter 03, stochastic gradient descent (solutions/03_sgd.ipynb).

    sample_gradient(X, y, w, i)        grad L_i(w) = -2 (y_i - x_i^T w) x_i, shape (d,)
    robbins_monro(p)                   (sum 1/t^p diverges, sum 1/t^(2p) converges) = (p <= 1, p > 1/2)
    sgd_epoch(X, y, w, lr, order)      w after one pass of single-sample steps in the given order

References are written directly in NumPy (float64), each next to the plausible wrong answers its
check recognises. The cases are built so that no wrong formula coincides with the right one on all
of them: rows that are not unit vectors, orders that are not 0..n-1, orders with a repeated or a
missing sample, learning rates large enough that a stale w is far from the right one, and the
boundary exponents p = 1/2 and p = 1.
"""
from __future__ import annotations

import numpy as np

from .core import Case, Exercise, Mismatch, Mistake, as_sequence, compare_arrays, describe_kind

CHAPTER = "03_sgd"

# ---------------------------------------------------------------------------------------------
# (a) the gradient of one sample's loss


def sample_gradient_reference(X, y, w, i):
    """grad L_i(w) for L_i(w) = (y_i - x_i^T w)^2: -2 (y_i - x_i^T w) x_i, shape (d,)."""
    return -2.0 * (y[i] - X[i] @ w) * X[i]


SAMPLE_MISTAKES = [
    Mistake("full-batch gradient", lambda X, y, w, i: -2.0 / X.shape[0] * X.T @ (y - X @ w),
            "this is the gradient of the mean loss over all n samples (batch GD). SGD uses one "
            "sample: grad L_i(w) = -2 (y_i - x_i^T w) x_i, with x_i = X[i] and y_i = y[i]"),
    Mistake("divided by n", lambda X, y, w, i: -2.0 / X.shape[0] * (y[i] - X[i] @ w) * X[i],
            "L_i(w) = (y_i - x_i^T w)^2 is one sample's loss, not 1/n of it: do not divide by n"),
    Mistake("sign flipped", lambda X, y, w, i: 2.0 * (y[i] - X[i] @ w) * X[i],
            "the sign is flipped: d/dw (y_i - x_i^T w) = -x_i, so grad L_i = -2 (y_i - x_i^T w) x_i"),
    Mistake("factor 2 missing", lambda X, y, w, i: -(y[i] - X[i] @ w) * X[i],
            "a factor 2 is missing: d/dr r^2 = 2 r"),
    Mistake("gradient at w = 0", lambda X, y, w, i: -2.0 * y[i] * X[i],
            "the residual must use the current weights: r_i = y[i] - X[i] @ w"),
    Mistake("index from 1", lambda X, y, w, i: -2.0 * (y[i - 1] - X[i - 1] @ w) * X[i - 1],
            "Python counts rows from 0: sample i is X[i] and y[i], not X[i - 1]"),
]


def _sample_case(name, X, y, w, i):
    return Case(name, {"X": np.asarray(X, dtype=float), "y": np.asarray(y, dtype=float),
                       "w": np.asarray(w, dtype=float), "i": int(i)})


def _sample_fixed():
    rng = np.random.default_rng(30)
    X0 = rng.integers(-3, 4, size=(5, 2)).astype(float)
    w0 = np.array([0.5, -1.5])
    return [
        _sample_case("small example (n=3, d=2), i = 1", [[1, 2], [3, 4], [5, 6]], [1, 2, 3],
                     [0.5, -0.25], 1),
        _sample_case("first sample, i = 0", rng.normal(size=(4, 3)), rng.normal(size=4),
                     rng.normal(size=3), 0),
        _sample_case("last sample, i = n - 1", rng.normal(size=(6, 2)), rng.normal(size=6),
                     rng.normal(size=2), 5),
        _sample_case("zero residual for that sample", X0, X0 @ w0 + np.array([1, 0, 1, 1, 1.0]), w0, 1),
        _sample_case("one feature (d=1)", rng.normal(size=(5, 1)), rng.normal(size=5), [0.7], 3),
        _sample_case("n = 1 sample", rng.normal(size=(1, 3)), rng.normal(size=1), rng.normal(size=3), 0),
    ]


def random_regression(rng, n, d, scale=(0.5, 3.0), noise=0.5):
    """Random regression data for a case: X (n, d) with columns of different scales, y = X w + noise."""
    X = rng.normal(size=(n, d)) * rng.uniform(*scale, size=d)
    y = X @ rng.normal(size=d) + noise * rng.normal(size=n)
    return X, y


def _sample_random(rng, k):
    cases = []
    for j in range(k):
        n, d = int(rng.integers(4, 31)), int(rng.integers(2, 7))
        X, y = random_regression(rng, n, d)
        i = int(rng.integers(1, n))
        cases.append(_sample_case(f"random {j + 1} (n={n}, d={d}, i={i})", X, y, rng.normal(size=d), i))
    return cases


def _sample_compare(expected, got, case):
    (e, _), (g, _) = expected, got
    return compare_arrays(e, g, rtol=1e-10, atol=1e-12, what="your gradient")


SAMPLE_GRADIENT = Exercise(
    name="sample_gradient", points=2, reference=sample_gradient_reference,
    fixed_cases=_sample_fixed, random_cases=_sample_random, compare=_sample_compare,
    mistakes=SAMPLE_MISTAKES, n_random=2, seed=30, chapter=CHAPTER,
    inplace_example="e.g. r = y[i] - X[i] @ w, not y[i] -= X[i] @ w")

# ---------------------------------------------------------------------------------------------
# (b) the Robbins-Monro conditions for eta_t = c / t^p


def robbins_monro_reference(p):
    """For eta_t = c / t^p (c > 0, p > 0): sum_t eta_t diverges iff p <= 1 (the p-series), and
    sum_t eta_t^2 = c^2 sum_t 1/t^(2p) converges iff 2p > 1."""
    return bool(p <= 1), bool(2 * p > 1)


RM_MISTAKES = [
    Mistake("p = 1 counted as convergent", lambda p: (bool(p < 1), bool(2 * p > 1)),
            "at p = 1 the sum of eta_t is the harmonic series 1 + 1/2 + 1/3 + ..., which diverges: "
            "sum 1/t^p diverges exactly when p <= 1"),
    Mistake("p = 1/2 counted as convergent", lambda p: (bool(p <= 1), bool(2 * p >= 1)),
            "at p = 1/2 the squares are eta_t^2 = c^2 / t, the harmonic series again, which "
            "diverges: sum 1/t^(2p) converges exactly when 2p > 1"),
    Mistake("squares need p > 1", lambda p: (bool(p <= 1), bool(p > 1)),
            "square the step first: eta_t^2 = c^2 / t^(2p), a p-series with exponent 2p, so it "
            "converges when 2p > 1, i.e. p > 1/2"),
    Mistake("the two answers swapped", lambda p: (bool(2 * p > 1), bool(p <= 1)),
            "the first answer is about sum eta_t (diverges iff p <= 1), the second about sum "
            "eta_t^2 (converges iff p > 1/2)"),
    Mistake("first answer says converges", lambda p: (bool(p > 1), bool(2 * p > 1)),
            "the first answer asks whether sum eta_t DIVERGES (it must, so the steps can travel "
            "any distance): True exactly when p <= 1"),
    Mistake("both answers the combined condition", lambda p: (bool(0.5 < p <= 1), bool(0.5 < p <= 1)),
            "answer each condition on its own: for p = 2 the sum of eta_t converges (False) but "
            "the sum of squares converges too (True)"),
]


def _rm_fixed():
    return [Case(f"p = {p!r}", {"p": p}) for p in (2.0, 1.0, 0.5, 0.3, 0.75, 1.5, 0.6, 0.1, 1)]


def _rm_random(rng, k):
    ps = rng.choice([0.2, 0.4, 0.55, 0.9, 1.2, 3.0], size=k, replace=False)
    return [Case(f"random {j + 1} (p = {float(p):g})", {"p": float(p)}) for j, p in enumerate(ps)]


def _rm_compare(expected, got, case):
    (e, _), (g, _) = expected, got
    items, mismatch = as_sequence(g, 2, "sum_diverges, sum_of_squares_converges", "robbins_monro")
    if mismatch:
        return mismatch
    problems = []
    for what, e_val, g_val in zip(("sum_diverges", "sum_of_squares_converges"), e, items):
        if not isinstance(g_val, (bool, np.bool_)):
            problems.append(f"{what} is {describe_kind(g_val)}; expected True or False")
        elif bool(g_val) != bool(e_val):
            problems.append(f"{what}: expected {bool(e_val)}, got {bool(g_val)}")
    return Mismatch("\n".join(problems)) if problems else None


ROBBINS_MONRO = Exercise(
    name="robbins_monro", points=2, reference=robbins_monro_reference,
    fixed_cases=_rm_fixed, random_cases=_rm_random, compare=_rm_compare,
    mistakes=RM_MISTAKES, n_random=2, seed=31, chapter=CHAPTER)

# ---------------------------------------------------------------------------------------------
# (c) one epoch of SGD in a given order


def sgd_epoch_reference(X, y, w, lr, order):
    """One pass of SGD: for each i in `order` (in that order), w <- w - lr * grad L_i(w) with
    grad L_i(w) = -2 (y_i - x_i^T w) x_i evaluated at the CURRENT w. The caller's w is unchanged."""
    w = np.array(w, dtype=float)
    for i in order:
        w = w - lr * (-2.0 * (y[i] - X[i] @ w) * X[i])
    return w


def _epoch_order_ignored(X, y, w, lr, order):
    return sgd_epoch_reference(X, y, w, lr, range(X.shape[0]))


def _epoch_stale(X, y, w, lr, order):
    w0 = np.array(w, dtype=float)
    return w0 - lr * sum(-2.0 * (y[i] - X[i] @ w0) * X[i] for i in order)


def _epoch_one_gd_step(X, y, w, lr, order):
    w0 = np.array(w, dtype=float)
    idx = np.asarray(order)
    return w0 - lr * (-2.0 / idx.size * X[idx].T @ (y[idx] - X[idx] @ w0))


def _epoch_ascent(X, y, w, lr, order):
    w = np.array(w, dtype=float)
    for i in order:
        w = w + lr * (-2.0 * (y[i] - X[i] @ w) * X[i])
    return w


def _epoch_lr_over_n(X, y, w, lr, order):
    return sgd_epoch_reference(X, y, w, lr / X.shape[0], order)


def _epoch_in_place(X, y, w, lr, order):
    for i in order:
        w -= lr * (-2.0 * (y[i] - X[i] @ w) * X[i])   # changes the caller's w
    return w


EPOCH_MISTAKES = [
    Mistake("changes w in place", _epoch_in_place,
            "`w -= ...` changes the caller's array: start from a copy, w = np.array(w, dtype=float), "
            "or write w = w - lr * g"),
    Mistake("order ignored", _epoch_order_ignored,
            "visit the samples in the order given: `for i in order:` (not `for i in range(n)`); "
            "order may repeat a sample or leave one out"),
    Mistake("stale w (every gradient at the start)", _epoch_stale,
            "compute each sample's gradient at the current w, after the previous steps: update w "
            "inside the loop, w = w - lr * g"),
    Mistake("one averaged step (batch GD)", _epoch_one_gd_step,
            "an epoch of SGD is one step per sample (len(order) steps), not one step with the "
            "average gradient"),
    Mistake("gradient ascent", _epoch_ascent,
            "step against the gradient: w - lr * grad L_i(w), with grad L_i = -2 (y_i - x_i^T w) x_i"),
    Mistake("learning rate divided by n", _epoch_lr_over_n,
            "each single-sample step uses lr itself (the gradient of one sample's loss has no 1/n)"),
]


def _epoch_case(name, X, y, w, lr, order):
    return Case(name, {"X": np.asarray(X, dtype=float), "y": np.asarray(y, dtype=float),
                       "w": np.asarray(w, dtype=float), "lr": float(lr),
                       "order": np.asarray(order, dtype=np.int64)})


def _epoch_fixed():
    rng = np.random.default_rng(32)
    X4 = np.array([[1.0, 2.0], [-1.0, 0.5], [0.5, -1.5], [2.0, 1.0]])
    y4 = np.array([1.0, -2.0, 0.5, 3.0])
    X6, y6 = rng.normal(size=(6, 3)), rng.normal(size=6)
    return [
        _epoch_case("small example (n=4, d=2), order [2, 0, 3, 1]", X4, y4, [0.5, -0.5], 0.1, [2, 0, 3, 1]),
        _epoch_case("order reversed", X6, y6, rng.normal(size=3), 0.2, [5, 4, 3, 2, 1, 0]),
        _epoch_case("natural order 0..n-1", X6, y6, np.zeros(3), 0.05, np.arange(6)),
        _epoch_case("a sample twice, one left out", X4, y4, [1.0, 1.0], 0.1, [1, 1, 3, 0]),
        _epoch_case("only part of the data", X6, y6, rng.normal(size=3), 0.15, [4, 1]),
        _epoch_case("one sample (n = 1)", [[2.0, -1.0]], [0.5], [0.3, 0.3], 0.1, [0]),
        _epoch_case("large learning rate (overshoots)", X4, y4, [0.5, -0.5], 0.4, [3, 1, 0, 2]),
    ]


def _epoch_random(rng, k):
    cases = []
    for j in range(k):
        n, d = int(rng.integers(5, 21)), int(rng.integers(2, 5))
        X = rng.normal(size=(n, d))
        y = X @ rng.normal(size=d) + 0.3 * rng.normal(size=n)
        lr = float(rng.uniform(0.02, 0.2))
        cases.append(_epoch_case(f"random {j + 1} (n={n}, d={d}, lr={lr:.3g})", X, y,
                                 rng.normal(size=d), lr, rng.permutation(n)))
    return cases


def with_changed_inputs(mismatch, expected, got, example):
    """`mismatch` extended by the inputs the answer changed in place (extras["modified"], which
    the judge computes from the inputs as the function left them) that the expected answer did not.

    Used instead of Exercise.inplace_example for functions that take an integer index array: the
    same message, and a mistake that changes w in place can then be named with its own hint.
    """
    changed = [k for k in got[1].get("modified", []) if k not in expected[1].get("modified", [])]
    if not changed:
        return mismatch
    text = (f"your function changed its input(s) {', '.join(changed)} in place; compute new "
            f"arrays instead ({example})")
    return Mismatch(text if mismatch is None else f"{mismatch.text}\n{text}")


def _epoch_compare(expected, got, case):
    mismatch = compare_arrays(expected[0], got[0], rtol=1e-9, atol=1e-12, what="your w after the epoch")
    return with_changed_inputs(mismatch, expected, got, "e.g. w = w - lr * g, not w -= lr * g")


SGD_EPOCH = Exercise(
    name="sgd_epoch", points=3, reference=sgd_epoch_reference,
    fixed_cases=_epoch_fixed, random_cases=_epoch_random, compare=_epoch_compare,
    mistakes=EPOCH_MISTAKES, n_random=2, seed=32, chapter=CHAPTER)

EXERCISES = [SAMPLE_GRADIENT, ROBBINS_MONRO, SGD_EPOCH]
