"""Chapters 00 and 01 exercises: beyond tests/test_checks.py (which covers every registered check:
reference passes, stub fails, each Mistake fails with its hint), check that *other correct* ways of
writing each answer pass too, on the visible and on many hidden random cases, and that the
chapter-specific messages (zero gradient, a loss per sample, a non-bool answer, an input changed in
place, a non-symmetric Hessian) read as intended."""
from __future__ import annotations

import math

import numpy as np
import pytest

from course_lib import gradcheck
from course_lib.checks import get, run_check


def _nested_hessian(f, w, h, symmetrise=True):
    """Centred differences of a centred-difference gradient (both with step h)."""
    w = np.array(w, dtype=float)
    n = w.size
    E = np.eye(n) * h

    def grad(v):
        return np.array([(f(v + E[i]) - f(v - E[i])) / (2 * h) for i in range(n)])

    H = np.column_stack([(grad(w + E[j]) - grad(w - E[j])) / (2 * h) for j in range(n)])
    return (H + H.T) / 2 if symmetrise else H


def _four_point_everywhere(f, w, h):
    w = np.array(w, dtype=float)
    n = w.size
    E = np.eye(n) * h
    return np.array([[(f(w + E[i] + E[j]) - f(w + E[i] - E[j]) - f(w - E[i] + E[j]) + f(w - E[i] - E[j]))
                      / (4 * h * h) for j in range(n)] for i in range(n)])


def _in_place_restored(f, w, h):
    """Perturbs w itself and restores every entry to its saved value (the caller sees no change)."""
    n = w.size
    H = np.zeros((n, n))
    f0 = f(w)
    for i in range(n):
        old_i = w[i]
        w[i] = old_i + h
        fp = f(w)
        w[i] = old_i - h
        fm = f(w)
        w[i] = old_i
        H[i, i] = (fp - 2 * f0 + fm) / h ** 2
        for j in range(i + 1, n):
            old_j = w[j]
            vals = []
            for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                w[i], w[j] = old_i + si * h, old_j + sj * h
                vals.append(f(w))
            w[i], w[j] = old_i, old_j
            H[i, j] = H[j, i] = (vals[0] - vals[1] - vals[2] + vals[3]) / (4 * h * h)
    return H


def _pd_cholesky(H):
    try:
        np.linalg.cholesky(H)
        return True
    except np.linalg.LinAlgError:
        return False


def _sd_manual(g):
    norm = np.sqrt(np.sum(g ** 2))
    return np.zeros_like(g) if not np.any(g) else -g / norm


def _ll_logits(X, y, w):
    z = X @ w
    return np.mean(np.log1p(np.exp(z)) - y * z)


def _ll_naive(X, y, w):
    p = 1 / (1 + np.exp(-X @ w))
    return -np.sum(y * np.log(p) + (1 - y) * np.log(1 - p)) / len(y)


VARIANTS = {
    "centred_derivative": [
        lambda f, x, h: (f(x + h) - f(x - h)) / 2 / h,
        lambda f, x, h: 0.5 * (f(x + h) - f(x - h)) / h,
        lambda f, x, h: gradcheck.numerical_derivative(f, x, h),
    ],
    "grad_z": [
        lambda x, y: np.array([math.exp(x), 2 * math.exp(y)]),
        lambda x, y: np.exp([x, y]) * np.array([1.0, 2.0]),
    ],
    "steepest_descent_direction": [
        _sd_manual,
        lambda g: -g / max(np.linalg.norm(g), 1e-300) if np.linalg.norm(g) > 0 else 0 * g,
    ],
    "log_loss": [_ll_logits, _ll_naive],
    "taylor_quadratic": [
        lambda C, g, H, dw: C + np.dot(g, dw) + 0.5 * dw.T @ H @ dw,
        lambda C, g, H, dw: C + g @ dw + 0.5 * (H @ dw) @ dw,
        lambda C, g, H, dw: float(C + np.einsum("i,i", g, dw) + 0.5 * np.einsum("i,ij,j", dw, H, dw)),
    ],
    "numerical_hessian": [
        lambda f, w, h: gradcheck.numerical_hessian(f, w, h, from_gradient=False),
        _nested_hessian,
        lambda f, w, h: _nested_hessian(f, w, h, symmetrise=False),
        _four_point_everywhere,
        _in_place_restored,
    ],
    "newton_step": [
        lambda g, H, eta: -eta * np.linalg.inv(H) @ g,
        lambda g, H, eta: -eta * np.linalg.lstsq(H, g, rcond=None)[0],
        lambda g, H, eta: np.linalg.solve(H, -eta * g),
    ],
    "is_positive_definite": [
        _pd_cholesky,
        lambda H: bool(np.min(np.linalg.eigvalsh(H)) > 1e-12),
        lambda H: np.all(np.linalg.eigvals(H).real > 0),
        lambda H: all(np.linalg.det(H[:k, :k]) > 0 for k in range(1, len(H) + 1)),  # Sylvester
    ],
}
VARIANT_IDS = [(name, i) for name, fs in VARIANTS.items() for i in range(len(fs))]


@pytest.mark.parametrize("name,i", VARIANT_IDS)
def test_other_correct_answers_pass(name, i):
    ex = get(name)
    func = VARIANTS[name][i]
    verdict = run_check(ex, func)
    assert verdict.passed, verdict.message
    for secret in range(25):  # the grader's hidden random cases
        verdict = run_check(ex, func, cases=ex.cases(secret=secret))
        assert verdict.passed, verdict.message


@pytest.mark.parametrize("name", list(VARIANTS))
def test_reference_and_mistakes_on_hidden_cases(name):
    """The reference passes every hidden case; no mistake passes the visible ones by luck."""
    ex = get(name)
    for secret in range(25):
        assert run_check(ex, ex.reference, cases=ex.cases(secret=secret)).passed
    for m in ex.mistakes:
        assert not run_check(ex, m.func).passed


def test_steepest_descent_zero_gradient_message():
    def nan_at_zero(g):
        return -g / np.sqrt(g @ g)   # a correct formula without the g = 0 case
    v = run_check(get("steepest_descent_direction"), nan_at_zero)
    assert v.status == "failed" and v.failed_case == "zero gradient (a stationary point)"
    assert "np.zeros_like(g)" in v.message

    def normalises_in_place(g):
        g /= -np.linalg.norm(g) if np.linalg.norm(g) else 1.0
        return g
    v = run_check(get("steepest_descent_direction"), normalises_in_place)
    assert v.status == "failed" and "in place" in v.message


def test_log_loss_per_sample_array_message():
    def per_sample(X, y, w):
        p = 1 / (1 + np.exp(-X @ w))
        return -(y * np.log(p) + (1 - y) * np.log(1 - p))
    v = run_check(get("log_loss"), per_sample)
    assert v.status == "failed" and "one number per sample" in v.message


@pytest.mark.parametrize("func,phrase", [
    (lambda H: None, "forget `return`"),
    (lambda H: np.linalg.eigvalsh(H) > 0, "return one True or False"),
    (lambda H: "yes", "return True or False"),
    (lambda H: 1, "return True or False"),
])
def test_is_positive_definite_needs_a_bool(func, phrase):
    v = run_check(get("is_positive_definite"), func)
    assert v.status == "failed" and phrase in v.message, v.message


def test_is_positive_definite_accepts_numpy_bools_and_shows_eigenvalues():
    assert run_check(get("is_positive_definite"), lambda H: np.all(np.linalg.eigvalsh(H) > 0)).passed
    v = run_check(get("is_positive_definite"), lambda H: True)
    assert "(the eigenvalues of H are [-1.  3.])" in v.message


def test_numerical_hessian_in_place_and_asymmetry_messages():
    ex = get("numerical_hessian")

    def drifts(f, w, h):   # like w[i] += h ... w[i] -= h, which need not restore w exactly
        H = ex.reference(f, w, h)
        w += 1e-12
        return H

    v = run_check(ex, drifts)
    assert v.status == "failed" and "w_plus = w.copy()" in v.message

    def mixed_one_sided(f, w, h):   # centred gradient, forward outer difference: not symmetric
        w = np.array(w, dtype=float)
        n = w.size
        E = np.eye(n) * h
        grad = lambda v: np.array([(f(v + E[i]) - f(v - E[i])) / (2 * h) for i in range(n)])
        g0 = grad(w)
        return np.column_stack([(grad(w + E[j]) - g0) / h for j in range(n)])
    v = run_check(ex, mixed_one_sided)
    assert v.status == "failed" and "not symmetric" in v.message, v.message


def test_numerical_hessian_wrong_shape_of_f_input_is_explained():
    def passes_a_matrix(f, w, h):
        return f(np.atleast_2d(w))
    v = run_check(get("numerical_hessian"), passes_a_matrix)
    assert v.status == "error" and "f takes a vector of shape" in v.message


def test_newton_step_modifying_g_in_place_fails():
    def in_place(g, H, eta):
        g *= -eta
        return np.linalg.solve(H, g)
    v = run_check(get("newton_step"), in_place)
    assert v.status == "failed" and "in place" in v.message


def test_numerical_hessian_hints_on_functions_that_are_not_cubic():
    """Where centred formulas are only O(h^2) accurate, each mistake still gets its own hint."""
    from course_lib.checks.ch01_taylor_hessian_newton import HESSIAN_FUNCTIONS
    ex = get("numerical_hessian")
    cases = [c for s in range(5) for c in ex.cases(secret=s)
             if not HESSIAN_FUNCTIONS[c.args["f"]][2] and len(c.args["w"]) > 1]
    assert len(cases) >= 10
    for m in ex.mistakes:
        for case in cases:
            v = run_check(ex, m.func, cases=[case])
            assert v.status == "failed" and v.mistake == m.name, (case.name, v.message)
