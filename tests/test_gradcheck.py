"""Tests for course_lib.gradcheck: finite differences against closed-form derivatives."""

import numpy as np
import pytest

from course_lib import gradcheck as gc
from course_lib.gradcheck import (check_gradient, numerical_derivative, numerical_gradient,
                                  numerical_hessian, numerical_vjp, rel_error)

EPS = np.finfo(float).eps


# ----------------------------------------------------------------------------------------------
# numerical_derivative
# ----------------------------------------------------------------------------------------------

def test_derivative_of_exp_at_1_is_e():
    d = numerical_derivative(np.exp, 1.0)
    assert isinstance(d, float)
    assert abs(d - np.e) / np.e < 1e-9


def test_derivative_elementwise_on_an_array():
    x = np.linspace(-3, 3, 13)
    assert np.max(np.abs(numerical_derivative(np.sin, x) - np.cos(x))) < 1e-9


def test_default_step_scales_with_x():
    # f = x^3 at x = 1e6: an absolute step of eps^(1/3) would be lost in rounding (error ~1e-5);
    # the relative step max(1, |x|) eps^(1/3) keeps the error near eps^(2/3)
    x = 1e6
    assert abs(numerical_derivative(lambda t: t ** 3, x) - 3 * x ** 2) / (3 * x ** 2) < 1e-8
    assert gc.default_step(0.0) == pytest.approx(EPS ** (1 / 3))
    assert gc.default_step(-10.0, order=2) == pytest.approx(10 * EPS ** (1 / 4))


def test_default_step_beats_too_small_and_too_large_steps():
    # the reason for the default: rounding dominates for tiny h, truncation for large h
    err = lambda h: abs(numerical_derivative(np.exp, 1.0, h=h) - np.e)  # noqa: E731
    assert err(None) < err(1e-11) and err(None) < err(1e-2)


def test_derivative_validates_h():
    with pytest.raises(ValueError, match=r"h \(finite-difference step\) must be positive, got -0.1"):
        numerical_derivative(np.exp, 1.0, h=-0.1)
    with pytest.raises(ValueError, match=r"x must contain only finite numbers"):
        numerical_derivative(np.exp, np.nan)


# ----------------------------------------------------------------------------------------------
# numerical_gradient / numerical_vjp
# ----------------------------------------------------------------------------------------------

def f_matrix(W):
    return np.sum(np.sin(W)) + W[0, 0] * W[1, 1] ** 2


def grad_f_matrix(W):
    G = np.cos(W)
    G[0, 0] += W[1, 1] ** 2
    G[1, 1] += 2 * W[0, 0] * W[1, 1]
    return G


def test_gradient_of_a_matrix_argument_matches_closed_form():
    W = np.random.default_rng(0).normal(size=(3, 2))
    assert rel_error(numerical_gradient(f_matrix, W), grad_f_matrix(W)) < 1e-10


def test_gradient_restores_w_exactly_and_supports_closures():
    W = np.random.default_rng(1).normal(size=(3, 2))
    before = W.copy()
    # a "network" that reads its weights from the enclosing scope and ignores its argument
    g = numerical_gradient(lambda _: f_matrix(W), W)
    assert rel_error(g, grad_f_matrix(W)) < 1e-10
    assert np.array_equal(W, before)


def test_gradient_accepts_lists_and_int_arrays_without_changing_them():
    w_int = np.array([1, 2])
    g = numerical_gradient(lambda w: w[0] ** 2 * w[1], w_int)
    assert np.allclose(g, [4.0, 1.0], rtol=1e-9)
    assert w_int.dtype.kind == "i" and np.array_equal(w_int, [1, 2])
    assert np.allclose(numerical_gradient(lambda w: w[0] * w[1], [3.0, 5.0]), [5.0, 3.0], rtol=1e-9)


def test_gradient_requires_a_scalar_function():
    with pytest.raises(ValueError, match=r"f must return a single number, got an array of shape \(2,\)"):
        numerical_gradient(lambda w: w * 2, np.ones(2))


def test_vjp_equals_jacobian_transpose_times_upstream_gradient():
    rng = np.random.default_rng(2)
    A = rng.normal(size=(4, 3))
    w, dout = rng.normal(size=3), rng.normal(size=4)
    J = A * (1 - np.tanh(w) ** 2)                 # d/dw A tanh(w)
    assert rel_error(numerical_vjp(lambda v: A @ np.tanh(v), w, dout), J.T @ dout) < 1e-9
    with pytest.raises(ValueError, match=r"dout must have the shape of f\(w\)"):
        numerical_vjp(lambda v: A @ np.tanh(v), w, np.ones(3))


# ----------------------------------------------------------------------------------------------
# numerical_hessian
# ----------------------------------------------------------------------------------------------

def f3(w):
    x, y, z = w
    return x ** 2 * y + np.sin(z) * x + np.exp(y)


def grad_f3(w):
    x, y, z = w
    return np.array([2 * x * y + np.sin(z), x ** 2 + np.exp(y), np.cos(z) * x])


def hess_f3(w):
    x, y, z = w
    return np.array([[2 * y, 2 * x, np.cos(z)],
                     [2 * x, np.exp(y), 0.0],
                     [np.cos(z), 0.0, -np.sin(z) * x]])


@pytest.mark.parametrize("w", [np.array([0.5, -0.3, 1.2]), np.array([-2.0, 1.0, 0.1])])
def test_hessian_from_function_values_matches_closed_form(w):
    H = numerical_hessian(f3, w, from_gradient=False)
    assert H.shape == (3, 3)
    assert rel_error(H, hess_f3(w)) < 1e-7
    assert np.array_equal(H, H.T)


@pytest.mark.parametrize("w", [np.array([0.5, -0.3, 1.2]), np.array([-2.0, 1.0, 0.1])])
def test_hessian_from_gradient_matches_closed_form(w):
    assert rel_error(numerical_hessian(grad_f3, w, from_gradient=True), hess_f3(w)) < 1e-9


def test_hessian_kind_is_detected_from_the_output():
    w = np.array([0.5, -0.3, 1.2])
    assert rel_error(numerical_hessian(f3, w), hess_f3(w)) < 1e-7         # returns a number
    assert rel_error(numerical_hessian(grad_f3, w), hess_f3(w)) < 1e-9    # returns a vector
    with pytest.raises(ValueError, match=r"must return one number .* or an array of shape \(3,\)"):
        numerical_hessian(lambda v: np.ones(2), w)


def test_hessian_of_a_quadratic_is_exact_up_to_rounding():
    A = np.array([[4.0, 1.0], [1.0, 3.0]])
    H = numerical_hessian(lambda w: 0.5 * w @ A @ w, np.array([0.7, -0.2]))
    assert rel_error(H, A) < 1e-7


def test_hessian_of_a_matrix_argument_has_shape_w_shape_twice():
    W = np.array([[0.3, -0.1], [0.2, 0.5]])
    H = numerical_hessian(lambda M: np.sum(M ** 3), W)
    assert H.shape == (2, 2, 2, 2)
    assert rel_error(H.reshape(4, 4), np.diag(6 * W.reshape(-1))) < 1e-7


# ----------------------------------------------------------------------------------------------
# rel_error
# ----------------------------------------------------------------------------------------------

def test_rel_error_values():
    a = np.array([1.0, -2.0, 3.0])
    assert rel_error(a, a) == 0.0
    assert rel_error(a, -a) == 1.0
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert rel_error(1.0, 1.0 + 2e-6) == pytest.approx(1e-6, rel=1e-6)
    b = a + np.array([0.0, 1e-4, 0.0])
    assert rel_error(a, b) == rel_error(b, a) == pytest.approx(1e-4 / 6.0, rel=1e-9)   # max(|a|+|b|) is 3 + 3
    assert rel_error(1e8 * a, 1e8 * b) == pytest.approx(rel_error(a, b), rel=1e-12)


def test_rel_error_is_normwise_not_elementwise():
    # a component that is tiny in both arrays does not dominate
    assert rel_error([1.0, 1e-12], [1.0, 2e-12]) < 1e-11


def test_rel_error_nan_and_shape_mismatch():
    assert np.isnan(rel_error([1.0, np.nan], [1.0, 2.0]))
    with pytest.raises(ValueError, match=r"a and b must have the same shape, got \(2,\) and \(3,\)"):
        rel_error(np.ones(2), np.ones(3))


# ----------------------------------------------------------------------------------------------
# check_gradient
# ----------------------------------------------------------------------------------------------

def test_check_gradient_passes_a_correct_gradient():
    w = np.array([0.5, -0.3, 1.2])
    res = check_gradient(f3, grad_f3, w)
    assert res and res.passed
    assert float(res) < 1e-9
    assert "passed" in str(res)
    assert f"{res:.1e}" == f"{res.rel_error:.1e}"
    assert check_gradient(f3, grad_f3(w), w)          # the analytic gradient given as an array


@pytest.mark.parametrize("bug", ["sign", "factor"])
def test_check_gradient_catches_typical_bugs(bug):
    w = np.array([0.5, -0.3, 1.2])

    def wrong(v):
        g = grad_f3(v)
        if bug == "sign":
            g[1] = -g[1]
        else:
            g[0] = 0.5 * g[0]     # forgot the factor 2 in d(x^2 y)/dx ...
        return g

    res = check_gradient(f3, wrong, w)
    assert not res
    assert res.rel_error > 1e-3
    assert "FAILED" in str(res) and "worst component" in str(res)
    with pytest.raises(AssertionError, match="gradient check FAILED"):
        check_gradient(f3, wrong, w, raise_on_fail=True)


def test_check_gradient_validates_input():
    w = np.array([0.5, -0.3, 1.2])
    with pytest.raises(ValueError, match=r"tol \(tolerance\) must be a positive number, got -1"):
        check_gradient(f3, grad_f3, w, tol=-1)
    with pytest.raises(ValueError, match=r"grad must have the shape of w, \(3,\), got shape \(2,\)"):
        check_gradient(f3, lambda v: np.zeros(2), w)
    with pytest.raises(ValueError, match=r"h \(finite-difference step\) must be positive"):
        check_gradient(f3, grad_f3, w, h=0.0)
