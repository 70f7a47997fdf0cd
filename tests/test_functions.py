"""course_lib.functions: exact derivatives against torch.autograd (float64) and finite differences."""

import numpy as np
import pytest
import torch

from course_lib.functions import ExpSum2D, exp_plus_one, exp_sum_2d
from course_lib.gradcheck import numerical_derivative, numerical_gradient, rel_error


def test_exp_plus_one_values_and_derivative_at_one_is_e():
    assert float(exp_plus_one(0.0)) == 2.0
    assert float(exp_plus_one.derivative(1.0)) == pytest.approx(np.e, rel=1e-12)
    assert float(exp_plus_one.second_derivative(1.0)) == pytest.approx(np.e, rel=1e-12)


def test_exp_plus_one_derivative_matches_autograd():
    x = np.linspace(-3, 2, 11)
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    (torch.exp(t) + 1).sum().backward()
    np.testing.assert_allclose(exp_plus_one(x), np.exp(x) + 1, rtol=1e-12)
    np.testing.assert_allclose(exp_plus_one.derivative(x), t.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("x0", [-2.0, 0.0, 1.0, 1.7])
def test_exp_plus_one_derivatives_match_finite_differences(x0):
    assert rel_error(exp_plus_one.derivative(x0), numerical_derivative(exp_plus_one, x0)) < 1e-8
    num2 = numerical_derivative(exp_plus_one.derivative, x0)
    assert rel_error(exp_plus_one.second_derivative(x0), num2) < 1e-8


def test_tangent_touches_and_has_the_slope():
    t = exp_plus_one.tangent(1.0)
    assert t(1.0) == pytest.approx(np.e + 1)
    assert t(2.0) - t(1.0) == pytest.approx(np.e)
    # e^x is convex, so the tangent lies below the curve
    xs = np.linspace(-2, 3, 50)
    assert np.all(t(xs) <= exp_plus_one(xs) + 1e-12)


def test_exp_sum_2d_grad_and_hessian_match_autograd():
    rng = np.random.default_rng(1)
    for w in rng.normal(size=(5, 2)):
        def z(v):
            return torch.exp(v[0]) + 2 * torch.exp(v[1]) + 1
        t = torch.tensor(w, dtype=torch.float64, requires_grad=True)
        val = z(t)
        val.backward()
        H = torch.autograd.functional.hessian(z, torch.tensor(w, dtype=torch.float64)).numpy()
        assert float(exp_sum_2d.value(w)) == pytest.approx(val.item(), rel=1e-12)
        assert rel_error(exp_sum_2d.grad(w), t.grad.numpy()) < 1e-12
        assert rel_error(exp_sum_2d.hessian(w), H) < 1e-12


def test_exp_sum_2d_partials_at_lecture_point_and_finite_differences():
    w = np.array([1.0, 0.0])
    assert exp_sum_2d.grad(w)[0] == pytest.approx(np.e)  # dz/dx at x0 = 1 is e, as in the lecture
    assert exp_sum_2d.grad(w)[1] == pytest.approx(2.0)
    num = numerical_gradient(exp_sum_2d.value, w)
    assert rel_error(exp_sum_2d.grad(w), num) < 1e-8


def test_exp_sum_2d_is_vectorised():
    W = np.stack(np.meshgrid(np.linspace(-1, 1, 4), np.linspace(-2, 0, 3)), axis=-1)  # (3, 4, 2)
    assert exp_sum_2d.value(W).shape == (3, 4)
    assert exp_sum_2d.grad(W).shape == (3, 4, 2)
    assert exp_sum_2d.hessian(W).shape == (3, 4, 2, 2)
    np.testing.assert_allclose(exp_sum_2d.grad(W)[2, 1], exp_sum_2d.grad(W[2, 1]))


def test_exp_sum_2d_is_an_objective():
    objectives = pytest.importorskip("course_lib.objectives")
    assert isinstance(ExpSum2D(), objectives.Objective)
    assert exp_sum_2d.dim == 2 and exp_sum_2d.minimizer is None


def test_bad_input_raises():
    with pytest.raises(ValueError, match="last dimension 2"):
        exp_sum_2d.value(np.zeros(3))
    with pytest.raises(ValueError, match="NaN"):
        exp_plus_one(np.nan)
