"""Chapters 05 and 06 exercises, beyond tests/test_checks.py (reference passes, stub fails, each named
Mistake fails with its own hint): correct answers written differently pass, on the visible and on
hidden random cases; wrong answers that are not in the mistake lists fail; the case design keeps the
wrong formulas apart from the right one (non-zero velocities, mu away from 1/2, steps between GD's
limit and heavy ball's, a non-linear gradient); and the chapter-specific messages read as intended.

Not tested on purpose: a momentum_converges written with <= instead of < differs from the right
answer only exactly on the edge lr lam = 2 + 2 mu, where an answer computed from eigenvalues (also
correct) cannot decide either, so no case sits exactly on the edge."""
from __future__ import annotations

import numpy as np
import pytest

from course_lib import rates
from course_lib.checks import get, run_check
from course_lib.checks.ch06_nesterov import grad_function, with_grad_function


def verdict_on(name, func, secret=None):
    ex = get(name)
    return run_check(ex, func, cases=ex.cases(secret=secret))


def assert_passes(name, func):
    for secret in (None, 1, 2, 3):
        v = verdict_on(name, func, secret)
        assert v.passed, v.message


def assert_fails(name, func):
    v = verdict_on(name, func)
    assert v.status == "failed", v.message
    return v


# ---------------------------------------------------------------------------------------------
# correct answers written differently


def ms_loop(w, v, g, lr, mu):
    w_new, v_new = np.empty_like(w), np.empty_like(v)
    for i in range(len(w)):
        v_new[i] = mu * v[i] - lr * g[i]
        w_new[i] = w[i] + v_new[i]
    return w_new, v_new


def ms_through_pytorch_buffer(w, v, g, lr, mu):
    b = -v / lr if lr else np.zeros_like(v)            # PyTorch's buffer for the same state
    b_new = mu * b + g
    return w - lr * b_new, -lr * b_new


def ms_copies_then_in_place(w, v, g, lr, mu):
    w, v = w.copy(), v.copy()
    v *= mu
    v -= lr * g
    w += v
    return w, v


def hb_other_algebra(lambda_min, lambda_max):
    a, b = np.sqrt(lambda_min), np.sqrt(lambda_max)
    lr = 4.0 / (lambda_min + lambda_max + 2 * a * b)
    mu = ((b - a) / (b + a)) ** 2
    return lr, mu, np.sqrt(mu)


def hb_as_list_of_numpy_floats(lambda_min, lambda_max):
    kappa = np.float64(lambda_max) / lambda_min
    r = (np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1)
    return [np.float64(4 / (np.sqrt(lambda_min) + np.sqrt(lambda_max)) ** 2), r * r, r]


def mc_eigenvalues(lr, mu, lam):
    M = np.array([[1 - lr * lam, mu], [-lr * lam, mu]])
    return bool(np.abs(np.linalg.eigvals(M)).max() < 1)


def mc_roots(lr, mu, lam):
    return np.abs(np.roots([1.0, -(1 + mu - lr * lam), mu])).max() < 1     # a NumPy bool


def mc_simulate(lr, mu, lam):
    e, v = 1.0, 0.0                                      # run it and see (long enough for these cases)
    for _ in range(20000):
        v = mu * v - lr * lam * e
        e = e + v
        if abs(e) > 1e6:
            return False
    return bool(abs(e) < 1e-3 and lam > 0)


def ns_named_steps(w, v, grad, lr, mu):
    look_ahead = np.add(w, mu * v)
    correction = -lr * grad(look_ahead)
    v_new = mu * v + correction
    return w + v_new, v_new


def ns_calls_grad_twice(w, v, grad, lr, mu):
    grad(w)                                              # an extra call does no harm
    g = grad(w + mu * v)
    return w + mu * v - lr * g, mu * v - lr * g


def np_expanded(w, b, g, lr, mu):
    return w - lr * (1 + mu) * g - lr * mu * mu * b, mu * b + g


def nm_by_simulating_one_step(lr, mu, lam):
    cols = []
    for e, v in ((1.0, 0.0), (0.0, 1.0)):               # the images of the basis vectors
        v_new = mu * v - lr * lam * (e + mu * v)
        cols.append([e + v_new, v_new])
    return np.array(cols).T


@pytest.mark.parametrize("name, func", [
    ("momentum_step", ms_loop), ("momentum_step", ms_through_pytorch_buffer),
    ("momentum_step", ms_copies_then_in_place),
    ("heavy_ball_tuning", hb_other_algebra), ("heavy_ball_tuning", hb_as_list_of_numpy_floats),
    ("momentum_converges", mc_eigenvalues), ("momentum_converges", mc_roots),
    ("momentum_converges", mc_simulate),
    ("momentum_converges", lambda lr, mu, lam: rates.heavy_ball_converges(lr, mu, lam)),
    ("nesterov_step", ns_named_steps), ("nesterov_step", ns_calls_grad_twice),
    ("nesterov_pytorch_step", np_expanded),
    ("nesterov_iteration_matrix", nm_by_simulating_one_step),
    ("nesterov_iteration_matrix", lambda lr, mu, lam: rates.nesterov_matrix(lr, mu, lam)),
])
def test_correct_answers_written_differently_pass(name, func):
    assert_passes(name, func)


# ---------------------------------------------------------------------------------------------
# wrong answers that are not in the mistake lists


@pytest.mark.parametrize("name, func", [
    ("momentum_step", lambda w, v, g, lr, mu: (w + mu * v - lr * g, v)),                   # old v returned
    ("momentum_step", lambda w, v, g, lr, mu: (w + mu * (v - lr * g), mu * (v - lr * g))),  # mu on g too
    ("momentum_step", lambda w, v, g, lr, mu: (w + mu * v - lr * g, mu * v - lr * g * (1 - mu))),
    ("heavy_ball_tuning", lambda a, b: (4 / (a + b), ((np.sqrt(b / a) - 1) / (np.sqrt(b / a) + 1)) ** 2,
                                        (np.sqrt(b / a) - 1) / (np.sqrt(b / a) + 1))),   # cross term lost
    ("heavy_ball_tuning", lambda a, b: (1 / np.sqrt(a * b), 0.9, 0.9)),
    ("momentum_converges", lambda lr, mu, lam: bool(0 < lr * lam < 4)),                      # mu -> 1 limit
    ("momentum_converges", lambda lr, mu, lam: bool(0 < lr * lam < 2 * (1 + mu) ** 2)),
    ("momentum_converges", lambda lr, mu, lam: bool(0 < lr * lam < 2) or mu > 0.5),
    ("momentum_converges", lambda lr, mu, lam: int(0 < lr * lam < 2 + 2 * mu)),                # not a bool
    ("nesterov_step", lambda w, v, grad, lr, mu: (w + mu * v - lr * grad(w + lr * v),
                                                  mu * v - lr * grad(w + lr * v))),           # lr v jump
    ("nesterov_step", lambda w, v, grad, lr, mu: (w + mu * v - lr * (grad(w) + grad(w + mu * v)) / 2,
                                                  mu * v - lr * (grad(w) + grad(w + mu * v)) / 2)),
    ("nesterov_step", lambda w, v, grad, lr, mu: (w + mu * (mu * v - lr * grad(w + mu * v)),
                                                  mu * v - lr * grad(w + mu * v))),
    ("nesterov_pytorch_step", lambda w, b, g, lr, mu: (w - lr * (g + mu * b), mu * b + g)),   # old buffer
    ("nesterov_pytorch_step", lambda w, b, g, lr, mu: (w - lr * (g + (mu * b + g)), mu * b + g)),
    ("nesterov_iteration_matrix", lambda lr, mu, lam: np.array([[1 - lr * lam, mu], [-lr * lam, mu * (1 - lr * lam)]])),
    ("nesterov_iteration_matrix", lambda lr, mu, lam: np.array([[1 - lr * lam, mu * (1 - lr * lam)],
                                                                 [lr * lam, mu * (1 - lr * lam)]])),
])
def test_other_wrong_answers_fail(name, func):
    assert_fails(name, func)


# ---------------------------------------------------------------------------------------------
# the cases keep the wrong formulas apart


def test_momentum_converges_cases_reach_both_edges_and_the_region_between_gd_and_heavy_ball():
    cases = get("momentum_converges").cases()
    a = np.array([c.args["lr"] * c.args["lam"] for c in cases])
    mu = np.array([c.args["mu"] for c in cases])
    edge = 2 + 2 * mu
    assert np.any((mu > 0) & (a > 2) & (a < edge))                 # GD says no, heavy ball converges
    assert np.any((mu > 0) & (a > 2 + mu) & (a < edge))            # "2 + mu" says no
    assert np.any(np.abs(a / edge - 1) < 2e-3)                     # just inside and just outside
    assert np.any(a <= 0)                                          # the lower edge
    assert np.any((a < 2) & (a > (2 + 2 * mu) / (1 + 2 * mu)))     # Nesterov's region differs
    # and no case sits exactly on an edge, where a correct eigenvalue answer could go either way
    assert np.all(np.abs(a - edge) > 1e-4 * edge)


def test_momentum_step_cases_have_velocity_and_mu_away_from_one_half():
    cases = get("momentum_step").cases()
    assert sum(np.any(c.args["v"] != 0) for c in cases) >= 5
    assert all(abs(c.args["mu"] - 0.5) > 0.05 for c in cases)    # 1 - mu = mu at 1/2


def test_nesterov_step_gradients_are_non_linear_and_look_ahead_matters():
    ex = get("nesterov_step")
    for case in ex.cases():
        grad = grad_function(case.args["grad"])
        w, v, mu = case.args["w"], case.args["v"], case.args["mu"]
        if np.any(v != 0) and mu > 0:
            assert not np.allclose(grad(w + mu * v), grad(w), rtol=1e-6, atol=1e-9)
    # the gradient of Rosenbrock's function is the course objective's
    from course_lib.objectives import Rosenbrock
    x = np.array([-0.7, 1.3])
    np.testing.assert_allclose(grad_function("rosenbrock(a=1, b=100)")(x), Rosenbrock().grad(x), rtol=1e-14)
    np.testing.assert_allclose(grad_function("logcosh(c=2)")(x), np.tanh(2 * x), rtol=1e-15)


def test_nesterov_step_is_called_with_a_function_and_never_calling_it_is_named():
    v = verdict_on("nesterov_step", lambda w, v, grad, lr, mu: (w + mu * v, mu * v))
    assert v.status == "failed" and "never called grad" in v.message


def test_a_case_can_be_rerun_by_hand():
    case = get("nesterov_step").cases()[1]
    args = with_grad_function(case.args)
    w_new, v_new = get("nesterov_step").reference(**args)
    assert w_new.shape == case.args["w"].shape and isinstance(case.args["grad"], str)


@pytest.mark.parametrize("spec", ["rosen(a=1, b=100)", "rosenbrock(a=1)", "logcosh(c=two)", 3])
def test_grad_function_rejects_bad_specs(spec):
    with pytest.raises(ValueError):
        grad_function(spec)


def test_rosenbrock_grad_needs_two_variables():
    with pytest.raises(ValueError, match="function of 2 variables"):
        grad_function("rosenbrock(a=1, b=100)")(np.zeros(3))


def test_in_place_answers_fail_with_the_in_place_message():
    def ms_in_place(w, v, g, lr, mu):
        v *= mu
        v -= lr * g
        w += v
        return w, v

    def ns_in_place(w, v, grad, lr, mu):
        g = grad(w + mu * v)
        v *= mu
        v -= lr * g
        return w + v, v

    for name, func in [("momentum_step", ms_in_place), ("nesterov_step", ns_in_place)]:
        v = verdict_on(name, func)
        assert v.status == "failed" and "in place" in v.message, v.message


def test_messages_for_wrong_kinds_of_answers():
    v = verdict_on("momentum_converges", lambda lr, mu, lam: "yes")
    assert "return True or False" in v.message
    v = verdict_on("heavy_ball_tuning", lambda a, b: (1.0, 0.5))
    assert "tuple of 3 items" in v.message
    v = verdict_on("momentum_step", lambda w, v, g, lr, mu: w + mu * v - lr * g)
    assert "return the pair (w_new, v_new)" in v.message
    v = verdict_on("nesterov_iteration_matrix", lambda lr, mu, lam: [[1, 0], [0, 1]])
    assert "Python list" in v.message
    v = verdict_on("momentum_converges", lambda lr, mu, lam: bool(0 < lr * lam < 2))
    assert "2 + 2 mu" in v.message and "hint:" in v.message
