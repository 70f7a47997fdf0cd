"""Taylor models (course_lib.taylor) against closed forms."""
import numpy as np
import pytest

from course_lib.optim.newton import NotPositiveDefiniteHessian
from course_lib.taylor import linear_model, quadratic_model, taylor_model

RNG = np.random.default_rng(0)


def _spd(n, rng):
    M = rng.standard_normal((n, n))
    return M @ M.T + n * np.eye(n)


def test_quadratic_model_of_a_quadratic_is_exact_everywhere():
    n = 4
    A = _spd(n, RNG)
    b = RNG.standard_normal(n)
    c = 0.7
    f = lambda w: 0.5 * np.einsum("...i,ij,...j->...", w, A, w) - w @ b + c
    w0 = RNG.standard_normal(n)
    m = quadratic_model(f, w0, grad=lambda w: A @ w - b, hessian=lambda w: A)
    W = 3.0 * RNG.standard_normal((50, n))
    np.testing.assert_allclose(m(W), f(W), rtol=1e-12, atol=1e-12)
    # and the minimiser of the model is the minimiser of f: A w = b
    np.testing.assert_allclose(m.minimizer(), np.linalg.solve(A, b), rtol=1e-12)


def test_quadratic_model_of_quadratic_objective_is_exact():
    from course_lib.objectives import Quadratic

    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    b = np.array([1.0, -1.0])
    q = Quadratic(A, b, c=0.5)
    m = quadratic_model(q, np.array([0.3, -2.0]))
    W = RNG.uniform(-5, 5, size=(7, 9, 2))
    closed = 0.5 * np.einsum("...i,ij,...j->...", W, A, W) - W @ b + 0.5
    assert m(W).shape == (7, 9)
    np.testing.assert_allclose(m(W), closed, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(m.minimizer(), np.linalg.solve(A, b), rtol=1e-12)


def test_linear_and_quadratic_model_of_exp_closed_form():
    x0 = 0.4
    e = np.exp(x0)
    x = np.linspace(-1, 2, 31)
    d = x - x0
    m1 = linear_model(np.exp, x0, grad=np.exp)
    m2 = quadratic_model(np.exp, x0, grad=np.exp, hessian=np.exp)
    np.testing.assert_allclose(m1(x), e * (1 + d), rtol=1e-12)
    np.testing.assert_allclose(m2(x), e * (1 + d + d**2 / 2), rtol=1e-12)
    assert isinstance(m2(1.0), float) or np.ndim(m2(1.0)) == 0
    assert m1.scalar and m1.order == 1 and m1.H is None


def test_scalar_fallback_uses_finite_differences():
    # no derivatives given: gradcheck's centred differences; compare with exact e^x0
    x0 = 1.0
    m2 = quadratic_model(lambda x: np.exp(x) + 1.0, x0)
    assert abs(m2.f0 - (np.e + 1)) < 1e-12
    assert abs(m2.g[0] - np.e) < 1e-7 * np.e
    assert abs(m2.H[0, 0] - np.e) < 1e-4 * np.e


def test_vector_fallback_matches_closed_form_derivatives():
    f = lambda w: np.sin(w[0]) * np.cos(w[1]) + w[0] ** 2 * w[1]
    w0 = np.array([0.3, -0.8])
    x, y = w0
    g_exact = np.array([np.cos(x) * np.cos(y) + 2 * x * y, -np.sin(x) * np.sin(y) + x**2])
    H_exact = np.array([[-np.sin(x) * np.cos(y) + 2 * y, -np.cos(x) * np.sin(y) + 2 * x],
                        [-np.cos(x) * np.sin(y) + 2 * x, -np.sin(x) * np.cos(y)]])
    m = quadratic_model(f, w0)
    np.testing.assert_allclose(m.g, g_exact, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(m.H, H_exact, rtol=1e-4, atol=1e-5)


def test_rosenbrock_objective_uses_analytic_derivatives():
    from course_lib.objectives import Rosenbrock

    r = Rosenbrock()
    x, y = -0.7, 1.3
    m = quadratic_model(r, np.array([x, y]))
    # closed forms for (1 - x)^2 + 100 (y - x^2)^2
    g = np.array([-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)])
    H = np.array([[2 - 400 * (y - x**2) + 800 * x**2, -400 * x], [-400 * x, 200.0]])
    assert m.f0 == pytest.approx((1 - x) ** 2 + 100 * (y - x**2) ** 2, rel=1e-12)
    np.testing.assert_allclose(m.g, g, rtol=1e-12)
    np.testing.assert_allclose(m.H, H, rtol=1e-12)


def test_model_errors_scale_as_r2_and_r3():
    # for C = exp(x) + sin(2y): the linear model's error is O(r^2), the quadratic's O(r^3)
    f = lambda w: np.exp(w[..., 0]) + np.sin(2 * w[..., 1])
    grad = lambda w: np.array([np.exp(w[0]), 2 * np.cos(2 * w[1])])
    hess = lambda w: np.diag([np.exp(w[0]), -4 * np.sin(2 * w[1])])
    w0 = np.array([0.2, 0.3])
    m1 = linear_model(f, w0, grad=grad)
    m2 = quadratic_model(f, w0, grad=grad, hessian=hess)
    u = np.array([0.6, 0.8])
    r = 1e-2
    e1 = [abs(m1(w0 + s * u) - f(w0 + s * u)) for s in (r, r / 2)]
    e2 = [abs(m2(w0 + s * u) - f(w0 + s * u)) for s in (r, r / 2)]
    assert e1[0] / e1[1] == pytest.approx(4.0, rel=0.02)
    assert e2[0] / e2[1] == pytest.approx(8.0, rel=0.05)


def test_indefinite_model_has_no_minimizer_but_a_stationary_point():
    f = lambda w: w[0] ** 2 - w[1] ** 2
    m = quadratic_model(f, np.array([1.0, 0.5]), grad=lambda w: np.array([2 * w[0], -2 * w[1]]),
                        hessian=lambda w: np.diag([2.0, -2.0]))
    np.testing.assert_allclose(m.eigenvalues, [-2.0, 2.0])
    np.testing.assert_allclose(m.stationary_step(), [-1.0, -0.5])  # lands on the saddle (0, 0)
    with pytest.raises(NotPositiveDefiniteHessian, match=r"-2.*2"):
        m.minimizer()


def test_bad_input_raises_value_error():
    with pytest.raises(ValueError, match="order"):
        taylor_model(np.exp, 0.0, order=3)
    m = linear_model(lambda w: w.sum(), np.zeros(3), grad=lambda w: np.ones(3))
    with pytest.raises(ValueError, match="shape"):
        m(np.zeros(2))
    with pytest.raises(ValueError, match="order 2"):
        m.minimizer()
    with pytest.raises(ValueError, match="finite"):
        linear_model(np.exp, np.nan)
    with pytest.raises(ValueError, match="Objective or a callable"):
        linear_model(3.0, 0.0)


def test_hessian_from_a_given_gradient_is_more_accurate():
    f = lambda w: np.sin(w[0]) * np.cos(w[1])
    grad = lambda w: np.array([np.cos(w[0]) * np.cos(w[1]), -np.sin(w[0]) * np.sin(w[1])])
    w0 = np.array([0.3, -0.8])
    x, y = w0
    H_exact = np.array([[-np.sin(x) * np.cos(y), -np.cos(x) * np.sin(y)],
                        [-np.cos(x) * np.sin(y), -np.sin(x) * np.cos(y)]])
    m = quadratic_model(f, w0, grad=grad)
    np.testing.assert_allclose(m.H, H_exact, rtol=1e-8, atol=1e-9)
    np.testing.assert_array_equal(m.g, grad(w0))
    m1 = quadratic_model(np.sin, 0.5, grad=np.cos)  # scalar: f'' = d/dx cos = -sin
    assert m1.H[0, 0] == pytest.approx(-np.sin(0.5), rel=1e-9)


def test_model_can_be_drawn_like_an_objective():
    m = quadratic_model(lambda w: w @ w, np.array([1.0, 2.0]), grad=lambda w: 2 * w,
                        hessian=lambda w: 2 * np.eye(2))
    assert m.dim == 2 and "quadratic" in m.name
    np.testing.assert_allclose(m.value(np.zeros((3, 2))), np.zeros(3), atol=1e-12)
