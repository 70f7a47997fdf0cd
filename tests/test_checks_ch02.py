"""Chapter 02 exercises, beyond tests/test_checks.py (which walks the registry: reference passes,
stub fails, each named Mistake fails with its hint): correct answers written differently pass on
the visible and on many hidden cases; wrong answers outside the mistake lists fail; the stopping
rules of `gradient_descent` are told apart (squared norms, tol_step on the gradient, the order of
the tests)."""
from __future__ import annotations

import numpy as np
import pytest

from course_lib.checks import get, run_check


def _mse_loop(X, y, w):
    g = np.zeros(X.shape[1])
    for xi, yi in zip(X, y):
        g += -2.0 * (yi - xi @ w) * xi
    return g / len(y)


def _gd_for_loop(grad, w0, lr, max_steps, tol_step, tol_grad):
    w = np.asarray(w0, dtype=float).copy()
    for steps in range(max_steps + 1):
        g = grad(w)
        if np.sqrt(np.sum(g ** 2)) < tol_grad:
            return w, steps, "tol_grad"
        if steps == max_steps:
            break
        step = lr * g
        w = w - step
        if np.linalg.norm(step) < tol_step:
            return w, steps + 1, "tol_step"
    return w, max_steps, "max_steps"


VARIANTS = {
    "mse_gradient": [
        _mse_loop,
        lambda X, y, w: 2.0 / len(y) * X.T @ (X @ w - y),
        lambda X, y, w: -2.0 * np.mean((y - X @ w)[:, None] * X, axis=0),
        lambda X, y, w: -2.0 / X.shape[0] * np.einsum("ij,i->j", X, y - X @ w),
    ],
    "gradient_descent": [_gd_for_loop],
    "largest_stable_lr": [
        lambda A: 2.0 / np.linalg.norm(A, 2),
        lambda A: float(2.0 / np.max(np.linalg.eigvals(A).real)),
        lambda A: 2.0 / np.linalg.svd(A, compute_uv=False)[0],       # for SPD A: sigma_max = lambda_max
    ],
    "optimal_lr": [
        lambda A: (lambda l: (2 / (l[0] + l[-1]), 1 - 2 * l[0] / (l[0] + l[-1])))(np.linalg.eigvalsh(A)),
        lambda A: (lambda l: (2 / (l.min() + l.max()), (l.max() - l.min()) / (l.max() + l.min())))(
            np.linalg.eigvals(A).real),
    ],
}
VARIANT_IDS = [(name, i) for name, fs in VARIANTS.items() for i in range(len(fs))]


@pytest.mark.parametrize("name,i", VARIANT_IDS)
def test_other_correct_answers_pass(name, i):
    ex = get(name)
    for secret in [None, *range(25)]:
        cases = ex.cases() if secret is None else ex.cases(secret=secret)
        verdict = run_check(ex, VARIANTS[name][i], cases=cases)
        assert verdict.passed, verdict.message


def _gd_le(grad, w0, lr, max_steps, tol_step, tol_grad):
    """Returns the number of gradient evaluations only when it stopped on max_steps."""
    w, steps, reason = get("gradient_descent").reference(grad, w0, lr, max_steps, tol_step, tol_grad)
    return (w, steps + 1, reason) if reason == "max_steps" else (w, steps, reason)


WRONG = {
    "mse_gradient": [
        lambda X, y, w: -2.0 / X.size * X.T @ (y - X @ w),            # n d instead of n
        lambda X, y, w: -2.0 / X.shape[0] * X.T @ (y - X @ w) * np.sign(w + 0.5),
    ],
    "gradient_descent": [
        _gd_le,
        lambda grad, w0, lr, max_steps, tol_step, tol_grad: get("gradient_descent").reference(
            grad, w0, lr, max_steps, tol_step ** 2, tol_grad ** 2),   # compares with squared tolerances
    ],
    "largest_stable_lr": [
        lambda A: 2.0 / float(np.max(np.sum(np.abs(A), axis=1))),    # max row sum (a bound on lambda_max)
        lambda A: 2.0 / float(np.linalg.eigvals(A)[-1].real),        # eigvals is not sorted
    ],
    "optimal_lr": [
        lambda A: (lambda l: (2 / (l[0] + l[-1]), (l[-1] - l[0]) / (l[-1] + l[0])))(np.linalg.eigvals(A).real),
        lambda A: (lambda l: (1 / l[-1], (l[-1] / l[0] - 1) / (l[-1] / l[0] + 1)))(np.linalg.eigvalsh(A)),
    ],
}
WRONG_IDS = [(name, i) for name, fs in WRONG.items() for i in range(len(fs))]


@pytest.mark.parametrize("name,i", WRONG_IDS)
def test_wrong_answers_outside_the_mistake_lists_fail(name, i):
    ex = get(name)
    for secret in [None, *range(25)]:
        cases = ex.cases() if secret is None else ex.cases(secret=secret)
        assert not run_check(ex, WRONG[name][i], cases=cases).passed


def _squared_step(grad, w0, lr, max_steps, tol_step, tol_grad):
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
        if np.sum((w_new - w) ** 2) < tol_step:        # the square of the step's length
            return w_new, steps, "tol_step"
        w = w_new


def test_squared_step_norm_gets_its_own_hint():
    v = run_check(get("gradient_descent"), _squared_step)
    assert v.status == "failed" and v.mistake == "squared step norm", v.message
    assert v.failed_case == "bowl, stops on tol_step"
    assert "not its square" in v.message and "tol_step" in v.message


def test_order_of_the_stopping_tests_is_checked():
    def max_steps_first(grad, w0, lr, max_steps, tol_step, tol_grad):
        w, steps = np.array(w0, dtype=float), 0
        while steps < max_steps:
            g = grad(w)
            if np.linalg.norm(g) < tol_grad:
                return w, steps, "tol_grad"
            w_new = w - lr * g
            steps += 1
            if np.linalg.norm(w_new - w) < tol_step:
                return w_new, steps, "tol_step"
            w = w_new
        return w, steps, "max_steps"
    v = run_check(get("gradient_descent"), max_steps_first)
    assert v.status == "failed" and v.mistake == "max_steps tested before tol_grad", v.message
    assert v.failed_case == "the last allowed step lands on the minimum"


def test_frobenius_norm_hint():
    v = run_check(get("largest_stable_lr"), lambda A: 2.0 / np.linalg.norm(A))
    assert v.mistake == "Frobenius norm" and "np.linalg.norm(A, 2)" in v.message
