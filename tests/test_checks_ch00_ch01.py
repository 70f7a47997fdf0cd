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
    assert sum(c.args["h"] >= 0.02 for c in cases) >= 5
    for m in ex.mistakes:
        for case in cases:
            if m.name == "ignores h" and case.args["h"] < 0.02:
                continue   # with a small h every step gives nearly the same Hessian
            v = run_check(ex, m.func, cases=[case])
            assert v.status == "failed" and v.mistake == m.name, (case.name, v.message)


# ---------------------------------------------------------------------------------------------
# wrong answers outside the mistake lists (issue 16): each must fail, on the visible cases and on
# every hidden set, because the cases no longer let plausible wrong formulas coincide with the
# right one (large steps on functions that are not polynomials, matrices big enough to tell a
# necessary or a sufficient condition from the definition)


def _hess_with_step(step_of_h):
    def answer(f, w, h):
        return _four_point_everywhere(f, w, step_of_h(h))
    return answer


def _hess_three_point_with_step(step_of_h):
    def answer(f, w, h):
        return gradcheck.numerical_hessian(f, np.array(w, dtype=float), step_of_h(h), from_gradient=False)
    return answer


def _pd_dominant(H):
    return bool(np.all(np.diag(H) > np.sum(np.abs(H), axis=1) - np.abs(np.diag(H))))


def _pd_pairs(H):
    n = len(H)
    return bool(np.all(np.diag(H) > 0) and all(H[i, i] * H[j, j] > H[i, j] ** 2
                                               for i in range(n) for j in range(i + 1, n)))


def _pd_leading_two(H):   # Sylvester's criterion stopped after the 2x2 leading minor
    return bool(H[0, 0] > 0 and (len(H) == 1 or np.linalg.det(H[:2, :2]) > 0))


WRONG = {
    "numerical_hessian": [
        _hess_three_point_with_step(lambda h: 1e-4),          # its own step
        _hess_three_point_with_step(lambda h: 1e-3),
        _hess_three_point_with_step(lambda h: h / 2),
        _hess_three_point_with_step(lambda h: 2 * h),
        _hess_with_step(lambda h: 1e-4),
        _hess_with_step(lambda h: h / 2),
    ],
    "is_positive_definite": [_pd_dominant, _pd_pairs, _pd_leading_two],
    "centred_derivative": [
        lambda f, x, h: (f(x + h / 2) - f(x - h / 2)) / h,          # half the step on each side
        lambda f, x, h: (f(x - 2 * h) - 8 * f(x - h) + 8 * f(x + h) - f(x + 2 * h)) / (12 * h),
    ],
    "grad_z": [lambda x, y: np.array([np.exp(x), 2 * np.exp(y) * y])],
    "taylor_quadratic": [
        lambda C, g, H, dw: float(C + g @ dw + 0.5 * np.sum(H) * (dw @ dw) / len(dw)),
        lambda C, g, H, dw: float(C + g @ dw + 0.5 * dw @ np.triu(H) @ dw),
    ],
    "newton_step": [
        lambda g, H, eta: -eta * np.linalg.solve(H + np.eye(len(g)), g),
        lambda g, H, eta: -eta * g / np.trace(H),
    ],
    "steepest_descent_direction": [
        lambda g: -np.sign(g) / np.sqrt(len(g)) if np.any(g) else np.zeros_like(g, dtype=float),
    ],
    "log_loss": [
        lambda X, y, w: float(np.mean((1 / (1 + np.exp(-X @ w)) - y) ** 2)),
    ],
}
WRONG_IDS = [(name, i) for name, fs in WRONG.items() for i in range(len(fs))]


@pytest.mark.parametrize("name,i", WRONG_IDS)
def test_wrong_answers_outside_the_mistake_lists_fail(name, i):
    ex = get(name)
    func = WRONG[name][i]
    assert not run_check(ex, func).passed
    for secret in range(25):  # and no hidden case set lets it through
        assert not run_check(ex, func, cases=ex.cases(secret=secret)).passed


@pytest.mark.parametrize("step", [1e-3, 1e-4])
def test_numerical_hessian_with_its_own_step_gets_the_step_hint(step):
    v = run_check(get("numerical_hessian"), _hess_three_point_with_step(lambda h: step))
    assert v.status == "failed" and "use the step h you are given" in v.message, v.message
    assert v.failed_case == "the lecture's function with a large step (h = 0.2)"


def test_positive_definite_cases_tell_necessary_from_sufficient():
    """The visible cases hold a positive definite matrix that is not diagonally dominant and an
    indefinite one whose 2x2 principal minors are all positive, each larger than 2x2 too."""
    cases = get("is_positive_definite").cases()
    eig = {c.name: np.linalg.eigvalsh(c.args["H"]) for c in cases}
    big = [c for c in cases if len(c.args["H"]) > 2]
    assert any(eig[c.name].min() > 0 and not _pd_dominant(c.args["H"]) for c in big)
    assert any(eig[c.name].min() < 0 and _pd_pairs(c.args["H"]) for c in big)
    v = run_check(get("is_positive_definite"), _pd_pairs)
    assert v.mistake == "every 2x2 minor" and "-0.2" in v.message
    v = run_check(get("is_positive_definite"), _pd_dominant)
    assert v.mistake == "diagonal dominance" and "[[1, 2], [2, 5]]" in v.message


def test_in_place_messages_name_the_real_argument():
    def scales_dw(C, g, H, dw):
        dw *= 1.0
        dw[0] += 0.0 * C + 1e-3
        dw[0] -= 1e-3
        return float(C + g @ dw + 0.5 * dw @ H @ dw)

    def negates_g(g, H, eta):
        g *= -eta
        return np.linalg.solve(H, g)

    def shifts_H(H):
        H += 0.0
        H[0, 0] += 1e-9
        return bool(np.all(np.linalg.eigvalsh(H) > 0))
    for name, func in [("taylor_quadratic", scales_dw), ("newton_step", negates_g),
                       ("is_positive_definite", shifts_H)]:
        v = run_check(get(name), func)
        assert v.status == "failed" and "in place" in v.message, v.message
        assert "w_plus = w.copy()" not in v.message      # none of these takes a w


def _newton_by_cholesky_or_solve(g, H, eta):
    """Two triangular solves with the Cholesky factor where H is positive definite."""
    try:
        L = np.linalg.cholesky(H)
    except np.linalg.LinAlgError:
        return -eta * np.linalg.solve(H, g)
    return -eta * np.linalg.solve(L.T, np.linalg.solve(L, g))


VARIANTS_MORE = {
    "is_positive_definite": [
        lambda H: bool(np.linalg.eigvalsh(H)[0] > 0),
        lambda H: bool(min(np.linalg.eigvals(H).real) > 0),
    ],
    "numerical_hessian": [
        # the four-point diagonal from a nested loop over a centred gradient written with copies
        lambda f, w, h: _nested_hessian(f, np.array(w, dtype=float).copy(), h),
    ],
    "centred_derivative": [lambda f, x, h: (f(x + h) - f(x - h)) * (0.5 / h)],
    "newton_step": [_newton_by_cholesky_or_solve],
}
MORE_IDS = [(name, i) for name, fs in VARIANTS_MORE.items() for i in range(len(fs))]


@pytest.mark.parametrize("name,i", MORE_IDS)
def test_more_correct_answers_pass(name, i):
    ex = get(name)
    func = VARIANTS_MORE[name][i]
    for secret in [None, *range(25)]:
        cases = ex.cases() if secret is None else ex.cases(secret=secret)
        verdict = run_check(ex, func, cases=cases)
        assert verdict.passed, verdict.message
