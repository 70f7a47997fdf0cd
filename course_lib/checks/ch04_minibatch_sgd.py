"""Checks for chapter 04, mini-batch SGD (solutions/04_minibatch_sgd.ipynb).

    minibatch_indices(n, batch_size, rng)        a fresh permutation of range(n) from rng, cut into
                                                 ceil(n / b) batches (the last one smaller)
    minibatch_gradient(X, y, w, idx)             mean of the sample gradients over the rows idx
    minibatch_gradient_variance(X, y, w, batch_size)
                                                 E ||g_B - grad L||^2 over batches of b rows drawn
                                                 without replacement

How the check of ``minibatch_indices`` accepts any correct use of ``rng``
------------------------------------------------------------------------
Every case calls the student's function four times: twice with generators made from the case's
seed (``np.random.default_rng(seed)``), once more with the generator of the first of those calls
after it was used (the next epoch), and once with ``default_rng(seed + 1)``. An answer passes a
case when its four results are exactly the reference's (which draws ``rng.permutation(n)``:
``rng.shuffle`` of ``np.arange(n)`` and ``rng.permuted`` give the same numbers), or, for any other
way of drawing the permutation (``np.argsort(rng.random(n))``, ``rng.choice(n, n, replace=False)``,
...), when all four results have the properties that define a correct answer:

* ceil(n / b) batches of b indices, the last one with n - b (ceil(n / b) - 1);
* together they hold every index 0 .. n-1 exactly once (a permutation, no repeats);
* the two calls with equally seeded generators agree (every random number comes from ``rng``);
* where a correct answer could meet them by chance only with probability below 1e-6 (K! prod_j
  b_j! / n! for batch sizes b_j; so not for b = n, nor for tiny n): the batches are not all runs
  of consecutive indices (the samples are shuffled, not only the order of the batches; the order
  0, 1, ..., n-1 is the special case "no shuffling"); and, compared as sets, the next call with
  the same generator and a call with a differently seeded generator give other batches (a fresh
  permutation is drawn each time, from the generator it is given). The order inside a batch is
  free (sorting each batch is fine: the gradient does not depend on it).

So an answer that uses NumPy's global generator, makes its own generator, forgets to shuffle,
samples with replacement, drops or splits the last batch wrongly fails with a message that says
which property broke; the named mistakes below add a hint where the answer is exactly one of them.
"""
from __future__ import annotations

import math

import numpy as np

from .ch03_sgd import with_changed_inputs
from .core import Case, Exercise, Mismatch, Mistake, compare_arrays, compare_scalars, describe_kind

CHAPTER = "04_minibatch_sgd"

#: the relational checks of minibatch_indices run where a correct answer meets them by chance
#: with probability below this (see `_coincidence`)
RELATIONS_BELOW = 1e-6

# ---------------------------------------------------------------------------------------------
# (a) the batches of one epoch


def minibatch_indices_reference(n, batch_size, rng):
    """rng.permutation(n) cut into consecutive batches of batch_size (the last one smaller)."""
    perm = rng.permutation(n)
    return [perm[i:i + batch_size] for i in range(0, n, batch_size)]


def _cut(order, b):
    return [order[i:i + b] for i in range(0, len(order), b)]


MBI_MISTAKES = [
    Mistake("last batch dropped",
            lambda n, b, rng: [p[i:i + b] for p in [rng.permutation(n)] for i in range(0, n - b + 1, b)],
            "keep the last, smaller batch: an epoch visits all n samples, in ceil(n / b) batches "
            "(range(0, n, b) gives the start of every batch)"),
    Mistake("no shuffling", lambda n, b, rng: _cut(np.arange(n), b),
            "draw a fresh random order every epoch: perm = rng.permutation(n), then cut perm"),
    Mistake("sampling with replacement", lambda n, b, rng: _cut(rng.integers(0, n, size=n), b),
            "every sample must appear exactly once per epoch: a permutation (rng.permutation(n)), "
            "not n independent draws"),
    Mistake("np.array_split into ceil(n / b) parts",
            lambda n, b, rng: np.array_split(rng.permutation(n), -(-n // b)),
            "np.array_split evens out the sizes (e.g. 4, 3, 3 for n = 10); the batches must hold b "
            "samples each, only the last one fewer (4, 4, 2): slice perm[i:i + b]"),
    Mistake("np.array_split into b parts", lambda n, b, rng: np.array_split(rng.permutation(n), b),
            "batch_size is the size of each batch, not the number of batches: slice perm[i:i + b] "
            "for i in range(0, n, b)"),
    Mistake("a new generator with a fixed seed",
            lambda n, b, rng: _cut(np.random.default_rng(0).permutation(n), b),
            "use the generator you are given (rng.permutation(n)); a generator created inside the "
            "function gives the same order every epoch"),
    Mistake("only the batch order shuffled",
            lambda n, b, rng: [blocks[k] for blocks in [_cut(np.arange(n), b)]
                               for k in rng.permutation(len(blocks))],
            "shuffle the samples, not just the order of fixed blocks: cut a permutation of all n "
            "indices, perm = rng.permutation(n)"),
]


def _mbi_case(name, n, b, seed):
    return Case(name, {"n": int(n), "batch_size": int(b), "seed": int(seed)})


def _mbi_fixed():
    return [
        _mbi_case("n = 10, b = 4 (b does not divide n)", 10, 4, 3),
        _mbi_case("n = 24, b = 6 (b divides n)", 24, 6, 5),
        _mbi_case("n = 23, b = 5", 23, 5, 7),
        _mbi_case("b = 1 (plain SGD)", 9, 1, 11),
        _mbi_case("b = n (one batch)", 9, 9, 13),
        _mbi_case("b > n (one batch of all n)", 5, 8, 17),
        _mbi_case("n = 2, b = 1", 2, 1, 19),
    ]


def _mbi_random(rng, k):
    cases = []
    for j in range(k):
        n = int(rng.integers(8, 60))
        b = int(rng.integers(2, n))
        cases.append(_mbi_case(f"random {j + 1} (n = {n}, b = {b})", n, b, int(rng.integers(1, 10_000))))
    return cases


def _as_batches(out):
    """A list of arrays from what the function returned (a list, tuple or other iterable)."""
    if isinstance(out, (str, bytes, dict)) or out is None:
        return out
    if isinstance(out, np.ndarray) and out.ndim != 2:
        return out
    try:
        return [np.asarray(b) for b in out]
    except TypeError:
        return out


def _mbi_call(objs, case):
    """Four calls (module docstring): two with equal seeds, the next epoch, another seed."""
    f = objs[0]
    n, b, seed = case.args["n"], case.args["batch_size"], case.args["seed"]
    rng = np.random.default_rng(seed)
    first = _as_batches(f(n, b, rng))
    second = _as_batches(f(n, b, rng))
    again = _as_batches(f(n, b, np.random.default_rng(seed)))
    other = _as_batches(f(n, b, np.random.default_rng(seed + 1)))
    return (first, again, second, other), {}


def _batches_problem(batches, n, b):
    """Why one result is not a valid epoch of batches (None if it is), in words."""
    k = -(-n // b)
    if batches is None:
        return "your function returned None: did you forget `return`?"
    if not isinstance(batches, list):
        return f"your function returned {describe_kind(batches)}; expected a list of index arrays"
    if len(batches) != k:
        extra = ""
        if len(batches) == n // b:
            extra = " (the last, smaller batch is missing)"
        elif len(batches) == b and b != k:
            extra = " (batch_size is the size of a batch, not the number of batches)"
        return f"expected ceil(n / b) = {k} batches, got {len(batches)}{extra}"
    sizes = [b] * (k - 1) + [n - b * (k - 1)]
    for j, (batch, size) in enumerate(zip(batches, sizes)):
        if batch.ndim != 1 or batch.dtype.kind not in "iu":
            return (f"batch {j} is {describe_kind(batch)}; each batch must be a 1-D array of "
                    "integer indices")
        if batch.size != size:
            return (f"batch sizes {[int(x.size) for x in batches]}; expected {sizes} "
                    f"(b = {b} each, the last one the remaining {sizes[-1]})")
    allidx = np.concatenate(batches)
    if allidx.min() < 0 or allidx.max() >= n:
        return f"index {int(allidx[(allidx < 0) | (allidx >= n)][0])} is not in range(n) = range({n})"
    counts = np.bincount(allidx, minlength=n)
    if counts.max() > 1:
        i = int(np.argmax(counts))
        return (f"index {i} appears {int(counts[i])} times and {int(np.sum(counts == 0))} indices "
                "never: an epoch must visit every sample exactly once (a permutation, no sampling "
                "with replacement)")
    return None


def _coincidence(n, b):
    """Probability that two independent random epochs give the same batches (as sets, in order):
    prod_j b_j! / n!; an upper bound for every coincidence the relational checks look for, times
    the K! orders of the batches."""
    k = -(-n // b)
    sizes = [b] * (k - 1) + [n - b * (k - 1)]
    log_p = sum(math.lgamma(s + 1) for s in sizes) - math.lgamma(n + 1) + math.lgamma(k + 1)
    return math.exp(log_p)


def _as_sets(batches):
    return [sorted(map(int, x)) for x in batches]


def _answer_problem(result, case):
    """Why the four results of one case are not a correct answer (None if they are)."""
    n, b = case.args["n"], case.args["batch_size"]
    if not isinstance(result, (tuple, list)) or len(result) != 4:
        return "the check could not read your batches"
    first, again, second, other = result
    for what, batches in (("", first), (" (second call with the same rng)", second),
                          (" (generator with another seed)", other)):
        problem = _batches_problem(batches, n, b)
        if problem:
            return problem + what
    problem = _batches_problem(again, n, b)
    if problem or not _same(first, again):
        return ("two generators made from the same seed gave different batches: draw every random "
                "number from the rng you are given (not from np.random.* or a new default_rng())")
    if _coincidence(n, b) < RELATIONS_BELOW:
        if all(x == list(range(x[0], x[0] + len(x))) for x in _as_sets(first)):
            if [x[0] for x in _as_sets(first)] == list(range(0, n, b)):
                return "the samples come in the order 0, 1, ..., n-1: shuffle them (rng.permutation(n))"
            return ("every batch is a run of consecutive indices: shuffle the samples (cut a "
                    "permutation of range(n)), not only the order of the batches")
        if _as_sets(first) == _as_sets(second):
            return ("the next call with the same rng (the next epoch) gave the same batches: draw a "
                    "fresh permutation from rng on every call")
        if _as_sets(first) == _as_sets(other):
            return "a generator with another seed gave the same batches: use the rng you are given"
    return None


def _same(a, c):
    """The same batches, index for index, all of integer dtype."""
    return (isinstance(a, list) and isinstance(c, list) and len(a) == len(c)
            and all(isinstance(x, np.ndarray) and isinstance(y, np.ndarray) and x.dtype.kind in "iu"
                    and y.dtype.kind in "iu" and x.shape == y.shape and np.array_equal(x, y)
                    for x, y in zip(a, c)))


def _mbi_compare(expected, got, case):
    (e, _), (g, _) = expected, got
    if isinstance(e, (tuple, list)) and isinstance(g, (tuple, list)) and len(e) == len(g) == 4 \
            and all(_same(x, y) for x, y in zip(e, g)):
        return None
    problem = _answer_problem(g, case)
    if problem is None and _answer_problem(e, case) is None:
        return None  # a correct epoch drawn from rng in another way
    if problem is None:
        return Mismatch("your batches differ from this wrong answer's")
    return Mismatch(problem)


MINIBATCH_INDICES = Exercise(
    name="minibatch_indices", points=3, reference=minibatch_indices_reference,
    fixed_cases=_mbi_fixed, random_cases=_mbi_random, compare=_mbi_compare, call=_mbi_call,
    mistakes=MBI_MISTAKES, n_random=2, seed=40, chapter=CHAPTER)

# ---------------------------------------------------------------------------------------------
# (b) the mini-batch gradient


def minibatch_gradient_reference(X, y, w, idx):
    """1/m sum_{i in idx} grad L_i(w) = -2/m X_B^T (y_B - X_B w), X_B = X[idx], m = len(idx);
    a row that appears twice in idx counts twice."""
    XB, yB = X[idx], y[idx]
    return -2.0 / len(idx) * XB.T @ (yB - XB @ w)


def _mbg(X, y, w, idx, scale):
    XB, yB = X[idx], y[idx]
    return scale * XB.T @ (yB - XB @ w)


MBG_MISTAKES = [
    Mistake("full-batch gradient", lambda X, y, w, idx: _mbg(X, y, w, np.arange(len(X)), -2.0 / len(X)),
            "use only the rows in idx: X_B = X[idx], y_B = y[idx]"),
    Mistake("divided by n", lambda X, y, w, idx: _mbg(X, y, w, idx, -2.0 / len(X)),
            "average over the m = len(idx) samples of the batch, not over all n"),
    Mistake("sum instead of mean", lambda X, y, w, idx: _mbg(X, y, w, idx, -2.0),
            "the mini-batch gradient is the MEAN of the sample gradients: divide by m = len(idx)"),
    Mistake("sign flipped", lambda X, y, w, idx: _mbg(X, y, w, idx, 2.0 / len(idx)),
            "grad L_i = -2 (y_i - x_i^T w) x_i: the minus sign comes from d/dw (y_i - x_i^T w) = -x_i"),
    Mistake("factor 2 missing", lambda X, y, w, idx: _mbg(X, y, w, idx, -1.0 / len(idx)),
            "a factor 2 is missing: d/dr r^2 = 2 r"),
    Mistake("repeated rows counted once",
            lambda X, y, w, idx: _mbg(X, y, w, np.unique(idx), -2.0 / len(np.unique(idx))),
            "a batch drawn with replacement can hold a row twice, and then it counts twice: index "
            "with X[idx] (not a mask or np.unique)"),
]


def _mbg_case(name, X, y, w, idx):
    return Case(name, {"X": np.asarray(X, dtype=float), "y": np.asarray(y, dtype=float),
                       "w": np.asarray(w, dtype=float), "idx": np.asarray(idx, dtype=np.int64)})


def _mbg_fixed():
    rng = np.random.default_rng(41)
    X, y, w = rng.normal(size=(8, 3)), rng.normal(size=8), rng.normal(size=3)
    return [
        _mbg_case("n = 8, batch [5, 1, 6]", X, y, w, [5, 1, 6]),
        _mbg_case("a batch of one row", X, y, w, [2]),
        _mbg_case("a row twice in the batch", X, y, w, [3, 3, 0, 7]),
        _mbg_case("every other row", X, y, w, np.arange(0, 8, 2)),
        _mbg_case("all rows, shuffled (= the full gradient)", X, y, w, rng.permutation(8)),
        _mbg_case("one feature (d = 1)", rng.normal(size=(6, 1)), rng.normal(size=6), [0.4], [4, 0]),
    ]


def _random_regression(rng, n, d):
    # as ch03_sgd.random_regression, kept here: the student release bundles only what compare needs
    X = rng.normal(size=(n, d)) * rng.uniform(0.5, 2.0, size=d)
    return X, X @ rng.normal(size=d) + 0.5 * rng.normal(size=n)


def _mbg_random(rng, k):
    cases = []
    for j in range(k):
        n, d = int(rng.integers(10, 41)), int(rng.integers(2, 6))
        m = int(rng.integers(2, n))
        X, y = _random_regression(rng, n, d)
        cases.append(_mbg_case(f"random {j + 1} (n = {n}, d = {d}, m = {m})", X, y,
                               rng.normal(size=d), rng.choice(n, size=m, replace=False)))
    return cases


def _mbg_compare(expected, got, case):
    mismatch = compare_arrays(expected[0], got[0], rtol=1e-10, atol=1e-12, what="your mini-batch gradient")
    return with_changed_inputs(mismatch, expected, got, "e.g. r = y[idx] - X[idx] @ w")


MINIBATCH_GRADIENT = Exercise(
    name="minibatch_gradient", points=2, reference=minibatch_gradient_reference,
    fixed_cases=_mbg_fixed, random_cases=_mbg_random, compare=_mbg_compare,
    mistakes=MBG_MISTAKES, n_random=2, seed=41, chapter=CHAPTER)

# ---------------------------------------------------------------------------------------------
# (c) the variance of the mini-batch gradient


def _sample_grads(X, y, w):
    return -2.0 * (y - X @ w)[:, None] * X            # row i = grad L_i(w), shape (n, d)


def minibatch_gradient_variance_reference(X, y, w, batch_size):
    """E ||g_B - grad L(w)||^2 over the batches B of b rows drawn uniformly without replacement:

        sigma^2 (n - b) / (b (n - 1)),   sigma^2 = 1/n sum_i ||g_i - g_bar||^2,

    g_i = grad L_i(w), g_bar = grad L(w) (the finite-population correction (n - b)/(n - 1) makes it
    0 for b = n). Needs n >= 2."""
    G = _sample_grads(X, y, w)
    n, b = X.shape[0], batch_size
    sigma2 = np.mean(np.sum((G - G.mean(axis=0)) ** 2, axis=1))
    return float(sigma2 / b * (n - b) / (n - 1))


def _var_parts(X, y, w):
    G = _sample_grads(X, y, w)
    return G, X.shape[0], float(np.mean(np.sum((G - G.mean(axis=0)) ** 2, axis=1)))


def _var_with_replacement(X, y, w, b):
    _, _, s2 = _var_parts(X, y, w)
    return s2 / b


def _var_over_n(X, y, w, b):
    _, n, s2 = _var_parts(X, y, w)
    return s2 / n


def _var_second_moment(X, y, w, b):
    G, n, _ = _var_parts(X, y, w)
    return float(np.mean(np.sum(G ** 2, axis=1))) / b * (n - b) / (n - 1)


def _var_one_minus_b_over_n(X, y, w, b):
    _, n, s2 = _var_parts(X, y, w)
    return s2 / b * (1 - b / n)


def _var_per_coordinate(X, y, w, b):
    _, n, s2 = _var_parts(X, y, w)
    return s2 / X.shape[1] / b * (n - b) / (n - 1)


def _var_ddof1_no_correction(X, y, w, b):
    _, n, s2 = _var_parts(X, y, w)
    return s2 * n / (n - 1) / b


VAR_MISTAKES = [
    Mistake("with replacement (no finite-population factor)", _var_with_replacement,
            "sigma^2 / b is the variance for b independent draws WITH replacement; without "
            "replacement multiply by (n - b) / (n - 1), which makes it 0 when b = n"),
    Mistake("variance over n", _var_over_n,
            "divide by the batch size b, not by n: the batch mean of b gradients has about 1/b of "
            "their variance"),
    Mistake("second moment instead of variance", _var_second_moment,
            "subtract the mean gradient first: sigma^2 = 1/n sum_i ||g_i - g_bar||^2, where "
            "g_bar = grad L(w) is not zero away from the minimum"),
    Mistake("factor (1 - b / n)", _var_one_minus_b_over_n,
            "with sigma^2 = 1/n sum ||g_i - g_bar||^2 the factor is (n - b) / (n - 1); (1 - b/n) "
            "goes with the n - 1 form s^2 = 1/(n - 1) sum ||g_i - g_bar||^2"),
    Mistake("per coordinate (divided by d)", _var_per_coordinate,
            "the answer is the expected squared LENGTH E ||g_B - g_bar||^2, the sum over the d "
            "coordinates, not their average"),
    Mistake("ddof = 1, no finite-population factor", _var_ddof1_no_correction,
            "s^2 / b with s^2 = 1/(n - 1) sum ||g_i - g_bar||^2 still misses the factor (1 - b / n) "
            "of drawing without replacement"),
]


def _var_case(name, X, y, w, b):
    return Case(name, {"X": np.asarray(X, dtype=float), "y": np.asarray(y, dtype=float),
                       "w": np.asarray(w, dtype=float), "batch_size": int(b)})


def _var_fixed():
    rng = np.random.default_rng(42)
    X, y, w = rng.normal(size=(6, 2)), rng.normal(size=6), rng.normal(size=2)
    X9 = rng.normal(size=(9, 3)) * np.array([1.0, 2.0, 0.5])
    y9 = X9 @ np.array([1.0, -1.0, 2.0]) + 0.5 * rng.normal(size=9)
    return [
        _var_case("n = 6, b = 2", X, y, w, 2),
        _var_case("n = 9, b = 4 (b does not divide n)", X9, y9, rng.normal(size=3), 4),
        _var_case("b = 1 (plain SGD)", X, y, w, 1),
        _var_case("b = n (the full gradient: no variance)", X, y, w, 6),
        _var_case("b = n - 1", X9, y9, np.zeros(3), 8),
        _var_case("at the least-squares minimum (g_bar = 0)", X9, y9,
                  np.linalg.lstsq(X9, y9, rcond=None)[0], 3),
        _var_case("one feature (d = 1), n = 2", [[1.0], [-2.0]], [0.5, 1.0], [0.3], 1),
    ]


def _var_random(rng, k):
    cases = []
    for j in range(k):
        n, d = int(rng.integers(5, 31)), int(rng.integers(2, 5))
        b = int(rng.integers(2, n))
        X, y = _random_regression(rng, n, d)
        cases.append(_var_case(f"random {j + 1} (n = {n}, d = {d}, b = {b})", X, y, rng.normal(size=d), b))
    return cases


def _var_compare(expected, got, case):
    (e, _), (g, _) = expected, got
    return compare_scalars(e, g, rtol=1e-9, atol=1e-12, what="your variance")


MINIBATCH_GRADIENT_VARIANCE = Exercise(
    name="minibatch_gradient_variance", points=3, reference=minibatch_gradient_variance_reference,
    fixed_cases=_var_fixed, random_cases=_var_random, compare=_var_compare,
    mistakes=VAR_MISTAKES, n_random=2, seed=42, chapter=CHAPTER,
    inplace_example="e.g. r = y - X @ w")


EXERCISES = [MINIBATCH_INDICES, MINIBATCH_GRADIENT, MINIBATCH_GRADIENT_VARIANCE]
