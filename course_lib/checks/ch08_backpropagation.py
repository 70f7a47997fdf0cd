"""Checks for chapter 08, backpropagation (solutions/08_backpropagation.ipynb).

    linear_backward(dout, x, W) -> (dx, dW, db)      for out = x @ W + b, x (N, D), W (D, M)
    sigmoid_backward(dout, out) -> dx                 given out = sigmoid(x) from the forward pass
    softmax_cross_entropy(logits, labels) -> (loss, dlogits)   mean over the batch, stable

References are written directly in NumPy (float64), next to the plausible wrong answers each check
recognises. The cases are chosen so that those wrong answers differ from the right one: non-square
W (transposes fail on shape or value), a square W first (so a transpose that happens to fit the
shapes is caught on values), batches N > 1 (a missing or extra 1/N shows), logits of size 1000
(a softmax without the max-subtraction overflows), a label whose probability underflows to 0.
"""
from __future__ import annotations

import numpy as np

from .core import (Case, Exercise, Mismatch, Mistake, as_sequence, compare_arrays, compare_scalars,
                   is_real_number)

CHAPTER = "08_backpropagation"
RTOL, ATOL = 1e-10, 1e-12


def _join(problems):
    """One Mismatch from the mismatches of several outputs (None when all passed)."""
    problems = [p for p in problems if p is not None]
    if not problems:
        return None
    return Mismatch("\n".join(p.text for p in problems), next((p.hint for p in problems if p.hint), ""))


def _named(mismatch, what):
    """Prefix a mismatch of one output with its name (when compare_arrays did not already)."""
    if mismatch is None or mismatch.text.startswith(what):
        return mismatch
    return Mismatch(f"{what}:\n" + "\n".join("  " + s for s in mismatch.text.splitlines()), mismatch.hint)


# ---------------------------------------------------------------------------------------------
# (a) the backward pass of a linear layer


def linear_backward_reference(dout, x, W):
    """out = x @ W + b  ->  dx = dout @ W.T (N, D), dW = x.T @ dout (D, M), db = sum_i dout_i (M,)."""
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)


def _lin_db_mean(dout, x, W):
    return dout @ W.T, x.T @ dout, dout.mean(axis=0)


def _lin_averaged(dout, x, W):
    n = x.shape[0]
    return dout @ W.T, x.T @ dout / n, dout.sum(axis=0) / n


def _lin_dx_no_transpose(dout, x, W):
    return dout @ W, x.T @ dout, dout.sum(axis=0)


def _lin_dw_transposed(dout, x, W):
    return dout @ W.T, dout.T @ x, dout.sum(axis=0)


def _lin_dw_xw(dout, x, W):
    return dout @ W.T, x.T @ (x @ W), dout.sum(axis=0)


LINEAR_MISTAKES = [
    Mistake("db averaged instead of summed", _lin_db_mean,
            "db is a sum over the batch, dout.sum(axis=0): the loss already divides by N, so dout "
            "carries the 1/N; averaging divides by N a second time"),
    Mistake("dW and db divided by N", _lin_averaged,
            "no extra 1/N: dout = dL/d(out) already includes the loss's 1/N, so dW = x.T @ dout and "
            "db = dout.sum(axis=0)"),
    Mistake("dx without the transpose", _lin_dx_no_transpose,
            "dx = dout @ W.T: out_j = sum_i x_i W_ij, so dL/dx_i = sum_j dout_j W_ij, a product with "
            "W transposed; check the shapes, (N, M) @ (M, D) -> (N, D)"),
    Mistake("dW transposed", _lin_dw_transposed,
            "dW must have the shape of W, (D, M): dW = x.T @ dout, not dout.T @ x"),
    Mistake("dW from the output instead of dout", _lin_dw_xw,
            "dW = x.T @ dout uses the upstream gradient dout, not the layer's output x @ W"),
]


def _lin_case(name, dout, x, W):
    return Case(name, {"dout": np.asarray(dout, dtype=float), "x": np.asarray(x, dtype=float),
                       "W": np.asarray(W, dtype=float)})


def _lin_fixed():
    rng = np.random.default_rng(80)
    return [
        _lin_case("square W (D = M = 3), batch N = 4", rng.normal(size=(4, 3)), rng.normal(size=(4, 3)),
                  rng.normal(size=(3, 3))),
        _lin_case("non-square W (D = 4, M = 2), batch N = 5", rng.normal(size=(5, 2)), rng.normal(size=(5, 4)),
                  rng.normal(size=(4, 2))),
        _lin_case("one sample (N = 1)", rng.normal(size=(1, 3)), rng.normal(size=(1, 2)), rng.normal(size=(2, 3))),
        _lin_case("one output (M = 1)", rng.normal(size=(6, 1)), rng.normal(size=(6, 3)), rng.normal(size=(3, 1))),
        _lin_case("zero upstream gradient", np.zeros((3, 2)), rng.normal(size=(3, 5)), rng.normal(size=(5, 2))),
    ]


def _lin_random(rng, k):
    cases = []
    for i in range(k):
        n, d, m = int(rng.integers(2, 9)), int(rng.integers(2, 7)), int(rng.integers(2, 7))
        if d == m:
            m += 1
        cases.append(_lin_case(f"random {i + 1} (N={n}, D={d}, M={m})", rng.normal(size=(n, m)),
                               rng.normal(size=(n, d)) * 2, rng.normal(size=(d, m))))
    return cases


def _lin_compare(expected, got, case):
    (e, _), (g, _) = expected, got
    items, mismatch = as_sequence(g, 3, "dx, dW, db", "linear_backward")
    if mismatch:
        return mismatch
    return _join([_named(compare_arrays(e[i], items[i], rtol=RTOL, atol=ATOL, what=name), name)
                  for i, name in enumerate(("dx", "dW", "db"))])


LINEAR_BACKWARD = Exercise(
    name="linear_backward", points=3, reference=linear_backward_reference,
    fixed_cases=_lin_fixed, random_cases=_lin_random, compare=_lin_compare,
    mistakes=LINEAR_MISTAKES, n_random=2, seed=81, chapter=CHAPTER,
    inplace_example="e.g. dx = dout @ W.T, not dout *= ...")

# ---------------------------------------------------------------------------------------------
# (b) the backward pass of a sigmoid, from its cached output


def sigmoid_backward_reference(dout, out):
    """dL/dx = dout * sigma'(x) = dout * out * (1 - out), with out = sigma(x) from the forward pass."""
    return dout * out * (1.0 - out)


def _sig_twice(dout, out):
    s = 1.0 / (1.0 + np.exp(-out))           # treats the output as if it were the input x
    return dout * s * (1.0 - s)


def _sig_no_dout(dout, out):
    return out * (1.0 - out)


def _sig_tanh(dout, out):
    return dout * (1.0 - out ** 2)


def _sig_sign(dout, out):
    return dout * out * (out - 1.0)


SIGMOID_MISTAKES = [
    Mistake("sigmoid applied twice", _sig_twice,
            "`out` is already sigma(x): use it directly, dx = dout * out * (1 - out); applying the "
            "sigmoid to it again computes sigma'(sigma(x))"),
    Mistake("upstream gradient dout missing", _sig_no_dout,
            "the chain rule multiplies the local derivative by the upstream gradient: "
            "dx = dout * out * (1 - out)"),
    Mistake("tanh's derivative", _sig_tanh,
            "1 - out**2 is the derivative of tanh; for the sigmoid sigma' = sigma (1 - sigma) = out * (1 - out)"),
    Mistake("sign flipped", _sig_sign,
            "sigma' = sigma (1 - sigma) is positive: dx = dout * out * (1 - out), not out * (out - 1)"),
]


def _sig_case(name, dout, out):
    return Case(name, {"dout": np.asarray(dout, dtype=float), "out": np.asarray(out, dtype=float)})


def _sig_fixed():
    rng = np.random.default_rng(82)
    x = np.array([[-30.0, -5.0, -1.0, 0.0, 1.0, 5.0, 30.0]])
    return [
        _sig_case("x = 0 everywhere (out = 0.5, sigma' = 1/4)", rng.normal(size=(3, 4)), np.full((3, 4), 0.5)),
        _sig_case("saturated and central units", np.ones_like(x), 1 / (1 + np.exp(-x))),
        _sig_case("batch N = 5, 3 units", rng.normal(size=(5, 3)), 1 / (1 + np.exp(-2 * rng.normal(size=(5, 3))))),
        _sig_case("zero upstream gradient", np.zeros((2, 3)), 1 / (1 + np.exp(-rng.normal(size=(2, 3))))),
    ]


def _sig_random(rng, k):
    cases = []
    for i in range(k):
        n, m = int(rng.integers(1, 8)), int(rng.integers(1, 8))
        cases.append(_sig_case(f"random {i + 1} (N={n}, {m} units)", rng.normal(size=(n, m)),
                               1 / (1 + np.exp(-3 * rng.normal(size=(n, m))))))
    return cases


def _sig_compare(expected, got, case):
    (e, _), (g, _) = expected, got
    return compare_arrays(e, g, rtol=RTOL, atol=ATOL, what="dx")


SIGMOID_BACKWARD = Exercise(
    name="sigmoid_backward", points=2, reference=sigmoid_backward_reference,
    fixed_cases=_sig_fixed, random_cases=_sig_random, compare=_sig_compare,
    mistakes=SIGMOID_MISTAKES, n_random=2, seed=83, chapter=CHAPTER,
    inplace_example="e.g. dx = dout * out * (1 - out), not dout *= ...")

# ---------------------------------------------------------------------------------------------
# (c) softmax cross-entropy, its gradient, and numerical stability


def softmax_cross_entropy_reference(logits, labels):
    """Mean cross-entropy of softmax(logits) (N, C) against labels (N,) and its gradient (N, C):

        log p = z - m - log sum_j exp(z_j - m),  m = max_j z_j   (stable: no exp overflows)
        loss = -1/N sum_i log p_{i, y_i},        dlogits = (p - onehot(y)) / N
    """
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    n = logits.shape[0]
    rows = np.arange(n)
    d = np.exp(logp)
    d[rows, labels] -= 1.0
    return float(-logp[rows, labels].mean()), d / n


def _ce_naive(logits, labels):
    e = np.exp(logits)                        # overflows for logits ~ 1000
    p = e / e.sum(axis=1, keepdims=True)
    n = logits.shape[0]
    rows = np.arange(n)
    d = p.copy()
    d[rows, labels] -= 1.0
    return float(-np.log(p[rows, labels]).mean()), d / n


def _ce_log_of_p(logits, labels):
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)     # stable softmax, but then log(p)
    n = logits.shape[0]
    rows = np.arange(n)
    d = p.copy()
    d[rows, labels] -= 1.0
    return float(-np.log(p[rows, labels]).mean()), d / n


def _ce_grad_not_over_n(logits, labels):
    loss, d = softmax_cross_entropy_reference(logits, labels)
    return loss, d * logits.shape[0]


def _ce_sum(logits, labels):
    loss, d = softmax_cross_entropy_reference(logits, labels)
    n = logits.shape[0]
    return loss * n, d * n


def _ce_no_onehot(logits, labels):
    loss, _ = softmax_cross_entropy_reference(logits, labels)
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    return loss, p / logits.shape[0]


def _ce_sign(logits, labels):
    loss, d = softmax_cross_entropy_reference(logits, labels)
    return loss, -d


CE_MISTAKES = [
    Mistake("no max-subtraction", _ce_naive,
            "exp(1000) overflows to inf and inf / inf is NaN: subtract each row's maximum first, "
            "z = logits - logits.max(axis=1, keepdims=True); softmax does not change"),
    Mistake("log of a probability that underflowed", _ce_log_of_p,
            "a probability can underflow to 0 (exp(-1000)) and log(0) = -inf: compute the log-softmax "
            "directly, log p = z - log(sum(exp(z))) with z = logits - max, and never take log(p)"),
    Mistake("gradient not divided by N", _ce_grad_not_over_n,
            "the loss is a mean over the N rows, so its gradient carries 1/N: dlogits = (p - onehot) / N"),
    Mistake("sum over the batch instead of the mean", _ce_sum,
            "the loss is the mean over the batch, -1/N sum_i log p_(i, y_i); its gradient is (p - onehot) / N"),
    Mistake("one-hot not subtracted", _ce_no_onehot,
            "dL/dz = p - onehot(labels), divided by N: subtract 1 at each row's label"),
    Mistake("gradient sign flipped", _ce_sign,
            "dL/dz = (p - onehot) / N: raising the right class's logit lowers the loss, so its "
            "gradient entry is negative"),
]


def _ce_case(name, logits, labels):
    return Case(name, {"logits": np.asarray(logits, dtype=float), "labels": np.asarray(labels, dtype=np.int64)})


def _ce_fixed():
    rng = np.random.default_rng(84)
    return [
        _ce_case("two samples, three classes", [[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]], [1, 2]),
        _ce_case("one sample (N = 1)", [[0.2, -0.4, 1.1, 0.0]], [0]),
        _ce_case("equal logits (uniform softmax)", np.zeros((4, 5)), [0, 1, 2, 4]),
        _ce_case("logits of size 1000", [[1000.0, 999.0, 0.0], [-1000.0, 1000.0, 998.0],
                                         [1000.0, -1000.0, -1000.0]], [0, 2, 0]),
        _ce_case("the label's logit 1000 below the largest", [[1000.0, 0.0, 2.0], [3.0, 1.0, -2.0]], [1, 0]),
        _ce_case("N = 7 samples, 5 classes", 3 * rng.normal(size=(7, 5)), rng.integers(0, 5, size=7)),
    ]


def _ce_random(rng, k):
    cases = []
    for i in range(k):
        n, c = int(rng.integers(2, 10)), int(rng.integers(2, 8))
        scale = float(rng.choice([1.0, 10.0, 300.0]))
        cases.append(_ce_case(f"random {i + 1} (N={n}, {c} classes, logits ~ {scale:g})",
                              scale * rng.normal(size=(n, c)), rng.integers(0, c, size=n)))
    return cases


def _ce_compare(expected, got, case):
    (e, _), (g, _) = expected, got
    items, mismatch = as_sequence(g, 2, "loss, dlogits", "softmax_cross_entropy")
    if mismatch:
        return mismatch
    loss, d = items
    if np.all(np.isfinite(np.asarray(e[1]))) and np.isfinite(e[0]):
        overflow = "exp of a large logit overflows (inf / inf = NaN) and log(0) = -inf: subtract each " \
                   "row's maximum and compute log p = z - log(sum(exp(z)))"
        l_m = compare_scalars(e[0], loss, rtol=RTOL, atol=ATOL, what="loss")
        d_m = _named(compare_arrays(e[1], d, rtol=RTOL, atol=ATOL, what="dlogits"), "dlogits")
        out = _join([l_m, d_m])
        if out is not None and ("NaN" in out.hint or "nan" in out.text or "inf" in out.text):
            return Mismatch(out.text, overflow)
        return out
    # comparing two answers that hold NaN/inf (a mistake's with a student's): the same numbers,
    # NaN where the other has NaN
    if not (is_real_number(loss) and isinstance(d, np.ndarray) and d.dtype.kind in "iuf"):
        return Mismatch("not the same kind of answer")
    same_loss = bool(np.isclose(e[0], loss, rtol=RTOL, atol=ATOL, equal_nan=True))
    ed = np.asarray(e[1], dtype=float)
    if same_loss and ed.shape == d.shape and np.allclose(ed, d, rtol=RTOL, atol=ATOL, equal_nan=True):
        return None
    return Mismatch("the answers differ")


SOFTMAX_CROSS_ENTROPY = Exercise(
    name="softmax_cross_entropy", points=3, reference=softmax_cross_entropy_reference,
    fixed_cases=_ce_fixed, random_cases=_ce_random, compare=_ce_compare,
    mistakes=CE_MISTAKES, n_random=2, seed=85, chapter=CHAPTER)
# (no inplace_example: the last input, labels, is an integer array, which the registry-wide in-place
# test of tests/test_checks.py cannot scribble on with floats; an answer that shifts its own copy of
# the logits in place is harmless here, since every call gets copies)

EXERCISES = [LINEAR_BACKWARD, SIGMOID_BACKWARD, SOFTMAX_CROSS_ENTROPY]
