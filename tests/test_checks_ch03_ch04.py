"""Chapters 03 and 04 exercises: beyond tests/test_checks.py (reference passes, stub fails, each
named mistake fails with its hint), other *correct* ways of writing each answer pass, on the visible
and on many hidden random cases; more wrong answers fail with a message that says what is wrong;
and the decision for minibatch_indices holds: any correct use of the given rng is accepted, while
answers that ignore it, sample with replacement or cut the batches wrongly are not."""
from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

from course_lib.checks import get, run_check

SECRETS = range(1, 26)


def _passes_everywhere(name, func):
    ex = get(name)
    verdict = run_check(ex, func)
    assert verdict.passed, verdict.message
    for s in SECRETS:
        verdict = run_check(ex, func, cases=ex.cases(secret=s))
        assert verdict.passed, (s, verdict.message)


def _fails(name, func, *phrases):
    verdict = run_check(get(name), func)
    assert verdict.status == "failed", verdict.message
    for phrase in phrases:
        assert phrase in verdict.message, verdict.message
    return verdict


# ----------------------------------------------------------------------------------------------
# sample_gradient
# ----------------------------------------------------------------------------------------------

def _sg_loop(X, y, w, i):
    r = y[i] - sum(X[i, j] * w[j] for j in range(len(w)))
    return np.array([-2.0 * r * X[i, j] for j in range(len(w))])


def _sg_slices(X, y, w, i):
    Xi, yi = X[i:i + 1], y[i:i + 1]                      # a batch of one, as a matrix
    return (2.0 * Xi.T @ (Xi @ w - yi)).ravel()


def _sg_dot(X, y, w, i):
    return 2 * (np.dot(X[i], w) - y[i]) * X[i]


@pytest.mark.parametrize("func", [_sg_loop, _sg_slices, _sg_dot])
def test_sample_gradient_other_correct_answers(func):
    _passes_everywhere("sample_gradient", func)


def test_sample_gradient_wrong_answers():
    _fails("sample_gradient", lambda X, y, w, i: (-2.0 * (y[i] - X[i] @ w) * X[i])[None, :],
           "shape (1,", "keep vectors 1-D")
    _fails("sample_gradient", lambda X, y, w, i: -2.0 * (y[i] - X[i] @ w) * X[i] * 0.5, "factor 2 is missing")
    _fails("sample_gradient", lambda X, y, w, i: -2.0 * (y - X @ w)[i] * X[0], "wrong answer")


# ----------------------------------------------------------------------------------------------
# robbins_monro
# ----------------------------------------------------------------------------------------------

def _rm_series(p):
    # the p-series tests written out: sum 1/t^q converges iff q > 1
    return (not p > 1, 2 * p > 1)


@pytest.mark.parametrize("func", [
    _rm_series,
    lambda p: [p <= 1, p > 0.5],                          # a list is fine
    lambda p: (np.float64(p) <= 1, np.float64(p) > 1 / 2),  # NumPy bools are fine
    lambda p: (bool(1 - p >= 0), bool(p - 0.5 > 0)),
])
def test_robbins_monro_other_correct_answers(func):
    _passes_everywhere("robbins_monro", func)


def test_robbins_monro_wrong_answers():
    _fails("robbins_monro", lambda p: (int(p <= 1), int(p > 0.5)), "expected True or False")
    _fails("robbins_monro", lambda p: "yes", "tuple of 2 items")
    _fails("robbins_monro", lambda p: (p <= 1, p > 0.5, True), "tuple of 2 items")
    # deciding from partial sums up to 10^4 misjudges the boundary p = 1/2
    def numeric(p):
        t = np.arange(1, 10_001)
        s1, s2 = np.sum(1 / t ** p), np.sum(1 / t ** (2 * p))
        return bool(s1 > 50), bool(s2 < 10)
    _fails("robbins_monro", numeric)


# ----------------------------------------------------------------------------------------------
# sgd_epoch
# ----------------------------------------------------------------------------------------------

def _epoch_scalar_loop(X, y, w, lr, order):
    w = [float(v) for v in w]
    for i in order:
        r = y[i] - sum(X[i, j] * w[j] for j in range(len(w)))
        w = [w[j] + 2 * lr * r * X[i, j] for j in range(len(w))]
    return np.array(w)


def _epoch_copy_then_in_place(X, y, w, lr, order):
    w = w.copy()
    for i in np.asarray(order).tolist():
        w -= lr * 2 * (X[i] @ w - y[i]) * X[i]
    return w


@pytest.mark.parametrize("func", [_epoch_scalar_loop, _epoch_copy_then_in_place])
def test_sgd_epoch_other_correct_answers(func):
    _passes_everywhere("sgd_epoch", func)


def test_sgd_epoch_wrong_answers():
    def sorted_order(X, y, w, lr, order):
        w = np.array(w, dtype=float)
        for i in sorted(order):
            w = w - lr * (-2.0 * (y[i] - X[i] @ w) * X[i])
        return w
    _fails("sgd_epoch", sorted_order, "wrong answer")

    def shuffles_order_in_place(X, y, w, lr, order):
        np.random.default_rng(0).shuffle(order)           # changes the caller's order
        return get("sgd_epoch").reference(X, y, w, lr, order)
    _fails("sgd_epoch", shuffles_order_in_place, "changed its input(s) order in place")
    v = _fails("sgd_epoch", get("sgd_epoch").mistakes[0].func, "changed its input(s) w in place")
    assert v.mistake == "changes w in place"


# ----------------------------------------------------------------------------------------------
# minibatch_indices: any correct use of rng passes
# ----------------------------------------------------------------------------------------------

def _cut(perm, b):
    return [perm[i:i + b] for i in range(0, len(perm), b)]


CORRECT_INDICES = {
    "rng.permutation": lambda n, b, rng: _cut(rng.permutation(n), b),
    "rng.shuffle of arange": lambda n, b, rng: (lambda p: (rng.shuffle(p), _cut(p, b))[1])(np.arange(n)),
    "rng.permuted": lambda n, b, rng: _cut(rng.permuted(np.arange(n)), b),
    "argsort of rng.random": lambda n, b, rng: _cut(np.argsort(rng.random(n)), b),
    "rng.choice without replacement": lambda n, b, rng: _cut(rng.choice(n, size=n, replace=False), b),
    "np.split at multiples of b": lambda n, b, rng: np.split(rng.permutation(n), range(b, n, b)),
    "lists of Python ints": lambda n, b, rng: [list(map(int, x)) for x in _cut(rng.permutation(n), b)],
    "a tuple of batches": lambda n, b, rng: tuple(_cut(rng.permutation(n), b)),
    "a generator of batches": lambda n, b, rng: (x for x in _cut(rng.permutation(n), b)),
    "sorted inside each batch": lambda n, b, rng: [np.sort(x) for x in _cut(rng.permutation(n), b)],
    "reversed permutation": lambda n, b, rng: _cut(rng.permutation(n)[::-1], b),
}


@pytest.mark.parametrize("name", list(CORRECT_INDICES))
def test_minibatch_indices_accepts_any_correct_use_of_rng(name):
    _passes_everywhere("minibatch_indices", CORRECT_INDICES[name])


def test_minibatch_indices_canonical_draws_match_the_reference_exactly():
    """rng.permutation, rng.shuffle and rng.permuted give the reference's very numbers, so those
    answers pass on exact equality; the property route is only needed for other draws."""
    ex = get("minibatch_indices")
    for case in ex.cases():
        want = ex.expected(case)[0]
        for name in ("rng.permutation", "rng.shuffle of arange", "rng.permuted"):
            got = ex.call([CORRECT_INDICES[name]], case)[0]
            assert all(len(a) == len(c) and all(np.array_equal(x, y) for x, y in zip(a, c))
                       for a, c in zip(want, got)), name


@pytest.mark.parametrize("func,phrase", [
    (lambda n, b, rng: _cut(np.random.permutation(n), b), "two generators made from the same seed"),
    (lambda n, b, rng: _cut(np.random.default_rng().permutation(n), b), "two generators made from the same seed"),
    (lambda n, b, rng: _cut(np.random.default_rng(12345).permutation(n), b), "next call with the same rng"),
    (lambda n, b, rng: _cut(np.arange(n), b), "shuffle them"),
    (lambda n, b, rng: _cut(rng.choice(n, size=n, replace=True), b), "exactly once"),
    (lambda n, b, rng: _cut(rng.permutation(n), b)[:-1] if n % b else _cut(rng.permutation(n), b),
     "the last, smaller batch is missing"),
    (lambda n, b, rng: list(np.array_split(rng.permutation(n), b)), "batch"),
    (lambda n, b, rng: [x + 1 for x in _cut(rng.permutation(n), b)], "is not in range(n)"),
    (lambda n, b, rng: _cut(rng.permutation(n).astype(float), b), "integer indices"),
    (lambda n, b, rng: rng.permutation(n), "expected a list of index arrays"),
    (lambda n, b, rng: None, "returned None"),
    (lambda n, b, rng: [blocks[k] for blocks in [_cut(np.arange(n), b)] for k in rng.permutation(len(blocks))][::-1],
     "batch"),
])
def test_minibatch_indices_wrong_answers(func, phrase):
    _fails("minibatch_indices", func, phrase)


def test_minibatch_indices_shuffled_blocks_of_equal_size_are_caught():
    """Blocks of consecutive indices in a random order pass every size check when b divides n:
    the consecutive-run property catches them."""
    ex = get("minibatch_indices")
    blocks = ex.mistakes[-1].func
    case = next(c for c in ex.cases() if c.name.startswith("n = 24, b = 6"))
    verdict = run_check(ex, blocks, cases=[case])
    assert verdict.status == "failed" and "run of consecutive indices" in verdict.message


# ----------------------------------------------------------------------------------------------
# minibatch_gradient
# ----------------------------------------------------------------------------------------------

def _mbg_loop(X, y, w, idx):
    g = np.zeros(X.shape[1])
    for i in idx:
        g += -2.0 * (y[i] - X[i] @ w) * X[i]
    return g / len(idx)


def _mbg_mean_of_rows(X, y, w, idx):
    return np.mean([2 * (X[i] @ w - y[i]) * X[i] for i in idx], axis=0)


def _mbg_einsum(X, y, w, idx):
    idx = np.asarray(idx)
    r = np.take(y, idx) - np.take(X, idx, axis=0) @ w
    return -2.0 * np.einsum("m,md->d", r, np.take(X, idx, axis=0)) / idx.size


@pytest.mark.parametrize("func", [_mbg_loop, _mbg_mean_of_rows, _mbg_einsum])
def test_minibatch_gradient_other_correct_answers(func):
    _passes_everywhere("minibatch_gradient", func)


def test_minibatch_gradient_wrong_answers():
    def mask(X, y, w, idx):
        keep = np.isin(np.arange(len(X)), idx)              # a mask drops repeated rows
        XB, yB = X[keep], y[keep]
        return -2.0 / len(idx) * XB.T @ (yB - XB @ w)
    _fails("minibatch_gradient", mask, "wrong answer")

    def scribbles_y(X, y, w, idx):
        out = -2.0 / len(idx) * X[idx].T @ (y[idx] - X[idx] @ w)
        y[idx] -= X[idx] @ w
        return out
    _fails("minibatch_gradient", scribbles_y, "changed its input(s) y in place")


# ----------------------------------------------------------------------------------------------
# minibatch_gradient_variance
# ----------------------------------------------------------------------------------------------

def _var_brute_force(X, y, w, batch_size):
    """The expectation itself: the mean over all C(n, b) batches (feasible for the small cases)."""
    G = -2.0 * (y - X @ w)[:, None] * X
    g_bar = G.mean(axis=0)
    n = len(G)
    if n > 14:                                           # C(n, b) too large: the formula instead
        s2 = np.sum((G - g_bar) ** 2) / (n - 1)
        return s2 / batch_size * (1 - batch_size / n)
    return float(np.mean([np.sum((G[list(B)].mean(axis=0) - g_bar) ** 2)
                          for B in combinations(range(n), batch_size)]))


def _var_ddof1_form(X, y, w, batch_size):
    G = -2.0 * (y - X @ w)[:, None] * X
    n = len(G)
    s2 = np.var(G, axis=0, ddof=1).sum()
    return s2 / batch_size * (1 - batch_size / n)


def _var_loops(X, y, w, b):
    n, d = X.shape
    grads = [[-2.0 * (y[i] - X[i] @ w) * X[i, j] for j in range(d)] for i in range(n)]
    mean = [sum(g[j] for g in grads) / n for j in range(d)]
    sigma2 = sum(sum((g[j] - mean[j]) ** 2 for j in range(d)) for g in grads) / n
    return sigma2 * (n - b) / (b * (n - 1))


@pytest.mark.parametrize("func", [_var_brute_force, _var_ddof1_form, _var_loops])
def test_minibatch_gradient_variance_other_correct_answers(func):
    _passes_everywhere("minibatch_gradient_variance", func)


def test_minibatch_gradient_variance_is_the_brute_force_expectation():
    ex = get("minibatch_gradient_variance")
    for case in ex.cases():
        if case.args["X"].shape[0] <= 14:
            a = case.args
            brute = _var_brute_force(a["X"], a["y"], a["w"], a["batch_size"])
            assert ex.reference(**a) == pytest.approx(brute, rel=1e-12, abs=1e-12), case.name


def test_minibatch_gradient_variance_wrong_answers():
    _fails("minibatch_gradient_variance", lambda X, y, w, b: np.array([1.0]), "shape (1,)")
    def empirical(X, y, w, b):                          # a Monte Carlo estimate is not the expectation
        rng = np.random.default_rng(0)
        G = -2.0 * (y - X @ w)[:, None] * X
        draws = [G[rng.choice(len(G), b, replace=False)].mean(0) for _ in range(200)]
        return float(np.mean(np.sum((np.array(draws) - G.mean(0)) ** 2, axis=1)))
    _fails("minibatch_gradient_variance", empirical, "relative error")
