"""Tests for course_lib.objectives.

The math is checked against independent implementations: each function is written again below in
PyTorch (float64) and differentiated by torch.autograd; gradients are also compared with centred
finite differences; closed forms (minimizers, eigenvalues, least squares) come from NumPy directly.
"""

import numpy as np
import pytest
import torch

from course_lib import objectives as ob
from course_lib.gradcheck import numerical_gradient, numerical_hessian, rel_error

# ----------------------------------------------------------------------------------------------
# independent PyTorch versions of every objective (written from the formulas, not from the code)
# ----------------------------------------------------------------------------------------------

A_SPD = np.array([[3.0, 1.0, 0.5], [1.0, 2.0, -0.3], [0.5, -0.3, 1.5]])
B_VEC = np.array([1.0, -2.0, 0.5])


def t_quadratic(A, b, c):
    At, bt = torch.tensor(A), torch.tensor(b)
    return lambda w: 0.5 * (w * (At @ w)).sum() - (bt * w).sum() + c


def t_rosenbrock(a, b):
    return lambda w: (a - w[0]) ** 2 + b * (w[1] - w[0] ** 2) ** 2


def t_saddle(w):
    return w[0] ** 2 - w[1] ** 2


def t_multiminima(w):
    x, y = w[0], w[1]
    return x ** 4 / 4 - x ** 3 / 3 - x ** 2 + y ** 4 / 2 - y ** 3 / 3 - 1.5 * y ** 2


def t_double_well(w):          # MultiMinima1D() defaults
    x = w[0]
    return x ** 4 / 4 - x ** 3 / 3 - x ** 2


def t_double_well_2(w):        # MultiMinima1D(left=-2, right=1, scale=0.5), expanded by hand
    x = w[0]
    return 0.5 * (x ** 4 / 4 + x ** 3 / 3 - x ** 2)


def make_regression_data(seed=0, n=30, d=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * np.array([1.0, 3.0, 0.5])[:d]
    y = X @ rng.normal(size=d) + 0.3 * rng.normal(size=n)
    return X, y


def t_linreg(X, y):
    Xt, yt = torch.tensor(X), torch.tensor(y)
    return lambda w: ((yt - Xt @ w) ** 2).mean()


X_REG, Y_REG = make_regression_data()

CASES = {
    "quadratic3d": (lambda: ob.Quadratic(A_SPD, B_VEC, 0.7), t_quadratic(A_SPD, B_VEC, 0.7)),
    "bowl": (lambda: ob.bowl(), t_quadratic(np.diag([0.1, 2.0]), np.zeros(2), 0.0)),
    "rosenbrock": (lambda: ob.Rosenbrock(), t_rosenbrock(1.0, 100.0)),
    "rosenbrock_a2_b10": (lambda: ob.Rosenbrock(a=2.0, b=10.0), t_rosenbrock(2.0, 10.0)),
    "saddle": (lambda: ob.Saddle(), t_saddle),
    "multiminima": (lambda: ob.MultiMinima(), t_multiminima),
    "double_well": (lambda: ob.MultiMinima1D(), t_double_well),
    "double_well_2": (lambda: ob.MultiMinima1D(left=-2.0, right=1.0, scale=0.5), t_double_well_2),
    "linreg": (lambda: ob.LinearRegressionMSE(X_REG, Y_REG), t_linreg(X_REG, Y_REG)),
}


def random_points(obj, shape, seed):
    rng = np.random.default_rng(seed)
    if obj.dim == 2 and obj.xlim is not None:
        x = rng.uniform(*obj.xlim, size=shape)
        y = rng.uniform(*obj.ylim, size=shape)
        return np.stack([x, y], axis=-1)
    return rng.uniform(-2.5, 2.5, size=shape + (obj.dim,))


def torch_grad(fn, w):
    t = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    fn(t).backward()
    return t.grad.numpy()


def torch_hessian(fn, w):
    return torch.autograd.functional.hessian(fn, torch.tensor(w, dtype=torch.float64)).numpy()


# ----------------------------------------------------------------------------------------------
# every objective: value, grad and Hessian against torch and finite differences, batched
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES)
def test_value_grad_hessian_match_torch_autograd(case):
    make, fn = CASES[case]
    obj = make()
    for w in random_points(obj, (5,), seed=1):
        assert obj.value(w) == pytest.approx(fn(torch.tensor(w)).item(), rel=1e-12, abs=1e-12)
        assert rel_error(obj.grad(w), torch_grad(fn, w)) < 1e-12
        assert rel_error(obj.hessian(w), torch_hessian(fn, w)) < 1e-12


@pytest.mark.parametrize("case", CASES)
def test_batched_evaluation_matches_pointwise_torch(case):
    make, fn = CASES[case]
    obj = make()
    W = random_points(obj, (2, 3), seed=2)
    vals, grads, hessians = obj.value(W), obj.grad(W), obj.hessian(W)
    assert vals.shape == (2, 3)
    assert grads.shape == (2, 3, obj.dim)
    assert hessians.shape == (2, 3, obj.dim, obj.dim)
    for i in np.ndindex(2, 3):
        assert vals[i] == pytest.approx(fn(torch.tensor(W[i])).item(), rel=1e-12, abs=1e-12)
        assert rel_error(grads[i], torch_grad(fn, W[i])) < 1e-12
        assert rel_error(hessians[i], torch_hessian(fn, W[i])) < 1e-12


@pytest.mark.parametrize("case", CASES)
def test_grad_and_hessian_match_finite_differences(case):
    obj = CASES[case][0]()
    for w in random_points(obj, (3,), seed=3):
        assert rel_error(obj.grad(w), numerical_gradient(obj.value, w)) < 1e-7
        assert rel_error(obj.hessian(w), numerical_hessian(obj.grad, w, from_gradient=True)) < 1e-7


@pytest.mark.parametrize("case", CASES)
def test_single_point_gives_scalar_and_call_is_value(case):
    obj = CASES[case][0]()
    w = random_points(obj, (), seed=4)
    v = obj.value(w)
    assert np.ndim(v) == 0 and isinstance(float(v), float)
    assert obj(w) == v
    assert obj.grad(w).shape == (obj.dim,)
    assert obj.hessian(w).shape == (obj.dim, obj.dim)


@pytest.mark.parametrize("case", [c for c in CASES if c != "saddle"])   # the saddle has no minimizer
def test_known_minimizer_has_zero_gradient_and_min_value(case):
    obj = CASES[case][0]()
    assert isinstance(obj, ob.Objective) and isinstance(obj.name, str) and obj.name
    assert np.allclose(obj.grad(obj.minimizer), 0.0, atol=1e-9)
    assert obj.value(obj.minimizer) == pytest.approx(obj.min_value, abs=1e-12)
    # and it is a minimum: nothing sampled in the plot window is lower
    W = random_points(obj, (400,), seed=5)
    assert np.all(obj.value(W) >= obj.min_value - 1e-12)


def test_wrong_last_dimension_raises_a_clear_error():
    with pytest.raises(ValueError, match=r"w must have last dimension 2, got shape \(3,\)"):
        ob.bowl().value(np.zeros(3))
    with pytest.raises(ValueError, match=r"w must have last dimension 2, got shape \(\)"):
        ob.Rosenbrock().grad(1.0)
    with pytest.raises(ValueError, match=r"w must have last dimension 3, got shape \(4, 2\)"):
        ob.LinearRegressionMSE(X_REG, Y_REG).hessian(np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"w must have last dimension 1"):
        ob.MultiMinima1D().value(np.zeros(5))


def test_divergent_points_are_evaluated_not_rejected():
    # the runner detects divergence from inf/NaN losses, so evaluation must not raise
    with np.errstate(all="ignore"):
        assert not np.isfinite(ob.bowl().value([np.inf, 0.0]))
        assert not np.all(np.isfinite(ob.Rosenbrock().grad([np.nan, 1.0])))


# ----------------------------------------------------------------------------------------------
# Quadratic and bowl
# ----------------------------------------------------------------------------------------------

def test_quadratic_closed_forms_by_hand():
    q = ob.Quadratic([[3.0, 1.0], [1.0, 3.0]], [1.0, 2.0], 0.5)
    assert np.allclose(q.eigenvalues, [2.0, 4.0])
    assert q.lambda_min == pytest.approx(2.0) and q.lambda_max == pytest.approx(4.0)
    assert q.kappa == pytest.approx(2.0)
    assert np.allclose(q.minimizer, [1 / 8, 5 / 8])      # A^-1 b with A^-1 = [[3, -1], [-1, 3]] / 8
    assert q.min_value == pytest.approx(0.5 - 11 / 16)   # c - b^T A^-1 b / 2
    w = np.array([0.3, -1.2])
    assert q.value(w) == pytest.approx(0.5 * (3 * 0.09 + 2 * 0.3 * -1.2 + 3 * 1.44) - (0.3 - 2.4) + 0.5)
    assert np.allclose(q.grad(w), [3 * 0.3 - 1.2 - 1.0, 0.3 - 3.6 - 2.0])


def test_quadratic_random_spd_matches_numpy_linear_algebra():
    rng = np.random.default_rng(7)
    M = rng.normal(size=(6, 6))
    A = M @ M.T + 0.5 * np.eye(6)
    b = rng.normal(size=6)
    q = ob.Quadratic(A, b, c=-1.0)
    ref_eig = np.sort(np.linalg.eigvals(A).real)
    assert rel_error(q.eigenvalues, ref_eig) < 1e-12
    assert q.kappa == pytest.approx(ref_eig[-1] / ref_eig[0], rel=1e-10)
    assert rel_error(q.minimizer, np.linalg.inv(A) @ b) < 1e-10
    W = rng.normal(size=(10, 6))
    D = W - q.minimizer
    # f(w) - f* = 1/2 (w - w*)^T A (w - w*) for a quadratic
    assert np.allclose(q.value(W) - q.min_value, 0.5 * np.einsum("ki,ij,kj->k", D, A, D))


def test_quadratic_hessian_is_a_copy_that_does_not_alias_A():
    q = ob.bowl()
    H = q.hessian(np.zeros(2))
    H[0, 0] = 99.0
    assert q.hessian(np.zeros(2))[0, 0] == pytest.approx(0.1)


def test_bowl_is_x2_over_20_plus_y2():
    b = ob.bowl()
    W = np.random.default_rng(8).normal(size=(20, 2)) * 5
    assert np.allclose(b.value(W), W[:, 0] ** 2 / 20 + W[:, 1] ** 2)
    assert np.allclose(b.eigenvalues, [0.1, 2.0])
    assert b.kappa == pytest.approx(20.0)
    assert np.array_equal(b.minimizer, [0.0, 0.0]) and b.min_value == 0.0
    assert "w_1^2/20 + w_2^2" in b.name
    assert ob.bowl(100).kappa == pytest.approx(100.0)
    assert ob.bowl(1).kappa == pytest.approx(1.0)
    assert b.xlim[0] < -7 < 2 < b.ylim[1]   # the classic start (-7, 2) is in the window


@pytest.mark.parametrize("A, match", [
    ([[1.0, 2.0], [0.0, 1.0]], r"A must be symmetric .*got max \|A - A.T\| = 2"),
    ([[1.0, 0.0], [0.0, -2.0]], r"A must be positive definite .*smallest eigenvalue -2"),
    ([[1.0, 0.0], [0.0, 0.0]], r"A must be positive definite"),
    ([1.0, 2.0], r"A must be a square matrix .*got shape \(2,\)"),
    (np.ones((2, 3)), r"A must be a square matrix .*got shape \(2, 3\)"),
    ([[np.nan, 0.0], [0.0, 1.0]], r"A must contain only finite numbers"),
])
def test_quadratic_rejects_bad_A(A, match):
    with pytest.raises(ValueError, match=match):
        ob.Quadratic(A)


def test_quadratic_rejects_bad_b_and_c():
    with pytest.raises(ValueError, match=r"b must have shape \(2,\) .*got shape \(3,\)"):
        ob.Quadratic(np.eye(2), [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"c must be a single number"):
        ob.Quadratic(np.eye(2), None, [1.0, 2.0])


@pytest.mark.parametrize("kappa", [0.5, 0.0, -3.0])
def test_bowl_rejects_kappa_below_one(kappa):
    with pytest.raises(ValueError, match=r"kappa \(condition number\) must be >= 1, got"):
        ob.bowl(kappa)


# ----------------------------------------------------------------------------------------------
# Rosenbrock, Saddle
# ----------------------------------------------------------------------------------------------

def test_rosenbrock_closed_forms():
    r = ob.Rosenbrock()
    assert np.array_equal(r.minimizer, [1.0, 1.0]) and r.min_value == 0.0
    assert np.allclose(r.hessian([1.0, 1.0]), [[802.0, -400.0], [-400.0, 200.0]])
    assert r.value([0.0, 0.0]) == pytest.approx(1.0)
    assert np.allclose(r.grad([0.0, 0.0]), [-2.0, 0.0])
    r2 = ob.Rosenbrock(a=2.0, b=10.0)
    assert np.array_equal(r2.minimizer, [2.0, 4.0])
    assert np.allclose(r2.grad([2.0, 4.0]), 0.0)


def test_rosenbrock_rejects_nonpositive_b():
    with pytest.raises(ValueError, match=r"b \(the weight of the valley term\) must be positive, got -1"):
        ob.Rosenbrock(b=-1.0)


def test_saddle_point_is_stationary_and_indefinite():
    s = ob.Saddle()
    assert s.minimizer is None and s.min_value is None
    assert np.allclose(s.grad(s.saddle_point), 0.0)
    eig = np.linalg.eigvalsh(s.hessian(s.saddle_point))
    assert np.allclose(eig, [-2.0, 2.0])
    assert s.value([0.0, 3.0]) == -9.0   # unbounded below along w_2


# ----------------------------------------------------------------------------------------------
# MultiMinima / MultiMinima1D
# ----------------------------------------------------------------------------------------------

def test_multiminima_critical_points_are_as_documented():
    m = ob.MultiMinima()
    assert np.allclose(m.local_minima, [[2.0, 1.5], [2.0, -1.0], [-1.0, 1.5], [-1.0, -1.0]])
    assert np.allclose(m.local_minima_values, [-445 / 96, -10 / 3, -229 / 96, -13 / 12])
    assert np.array_equal(m.minimizer, [2.0, 1.5]) and m.min_value == pytest.approx(-445 / 96)
    for p in m.local_minima:
        assert np.allclose(m.grad(p), 0.0)
        assert np.all(np.linalg.eigvalsh(m.hessian(p)) > 0)      # strict local minimum
    for p in m.saddle_points:
        assert np.allclose(m.grad(p), 0.0)
        eig = np.linalg.eigvalsh(m.hessian(p))
        assert eig[0] < 0 < eig[1]
    assert np.allclose(m.grad(m.local_maxima[0]), 0.0)
    assert np.all(np.linalg.eigvalsh(m.hessian(m.local_maxima[0])) < 0)


def test_multiminima_global_minimum_beats_a_dense_grid():
    m = ob.MultiMinima()
    g = np.linspace(-4.0, 5.0, 361)
    W = np.stack(np.meshgrid(g, g), axis=-1)
    assert m.value(W).min() >= m.min_value - 1e-12
    # and gradient descent from each quadrant stops in the minimum of its own basin
    starts = np.array([[2.5, 2.0], [2.5, -1.5], [-1.5, 2.0], [-1.5, -1.5]])
    w = starts.copy()
    for _ in range(2000):
        w = w - 0.02 * m.grad(w)
    assert np.allclose(w, m.local_minima, atol=1e-6)


def test_double_well_minima_and_noise_escape():
    f = ob.MultiMinima1D()
    assert np.allclose(f.local_minima, [[2.0], [-1.0]])
    assert np.allclose(f.local_minima_values, [-8 / 3, -5 / 12])
    assert np.allclose(f.grad(np.array([[-1.0], [0.0], [2.0]])), 0.0)
    assert f.hessian(np.array([0.0]))[0, 0] < 0 < f.hessian(np.array([-1.0]))[0, 0]
    # the chapter-03 demo: from x0 = -1.5, GD stays in the spurious minimum, noisy GD escapes
    rng = np.random.default_rng(0)
    x_gd = np.full((200, 1), -1.5)
    x_noisy = x_gd.copy()
    for _ in range(1500):
        x_gd = x_gd - 0.05 * f.grad(x_gd)
        x_noisy = x_noisy - 0.05 * (f.grad(x_noisy) + 3.0 * rng.standard_normal(x_noisy.shape))
    assert np.allclose(x_gd, -1.0)
    assert np.mean(x_noisy > 0) > 0.9


def test_double_well_validation():
    with pytest.raises(ValueError, match=r"left must be negative and right positive"):
        ob.MultiMinima1D(left=1.0, right=2.0)
    with pytest.raises(ValueError, match=r"left and right must differ in size"):
        ob.MultiMinima1D(left=-1.0, right=1.0)
    with pytest.raises(ValueError, match=r"scale must be positive, got 0"):
        ob.MultiMinima1D(scale=0.0)


# ----------------------------------------------------------------------------------------------
# LinearRegressionMSE
# ----------------------------------------------------------------------------------------------

def test_linreg_solve_matches_lstsq_and_normal_equations():
    L = ob.LinearRegressionMSE(X_REG, Y_REG)
    w_lstsq = np.linalg.lstsq(X_REG, Y_REG, rcond=None)[0]
    w_normal = np.linalg.solve(X_REG.T @ X_REG, X_REG.T @ Y_REG)
    assert rel_error(L.solve(), w_lstsq) < 1e-12
    assert rel_error(L.minimizer, w_normal) < 1e-10
    assert np.allclose(L.grad(L.minimizer), 0.0, atol=1e-12)
    assert L.min_value == pytest.approx(np.mean((Y_REG - X_REG @ w_normal) ** 2), rel=1e-12)


def test_linreg_formulas_written_out_with_loops():
    L = ob.LinearRegressionMSE(X_REG, Y_REG)
    w = np.array([0.3, -0.7, 1.1])
    n = len(Y_REG)
    loss = sum((Y_REG[i] - X_REG[i] @ w) ** 2 for i in range(n)) / n
    grad = sum(-2 * (Y_REG[i] - X_REG[i] @ w) * X_REG[i] for i in range(n)) / n
    assert L.value(w) == pytest.approx(loss, rel=1e-12)
    assert rel_error(L.grad(w), grad) < 1e-12
    assert rel_error(L.hessian(w), 2 / n * X_REG.T @ X_REG) < 1e-12
    assert np.allclose(L.sample_losses(w), (Y_REG - X_REG @ w) ** 2)
    assert L.sample_losses(w).mean() == pytest.approx(loss, rel=1e-12)


def test_linreg_sample_gradients_average_to_the_full_gradient():
    L = ob.LinearRegressionMSE(X_REG, Y_REG)
    W = np.random.default_rng(9).normal(size=(4, 3))
    per_sample = np.stack([L.sample_grad(W, i) for i in range(L.n)])          # (n, 4, 3)
    assert rel_error(per_sample.mean(axis=0), L.grad(W)) < 1e-12
    assert rel_error(L.per_sample_grads(W).mean(axis=-2), L.grad(W)) < 1e-12
    assert L.per_sample_grads(W, [0, 5]).shape == (4, 2, 3)
    assert rel_error(L.batch_grad(W, np.arange(L.n)), L.grad(W)) < 1e-12
    # sample i against autograd of its own loss (y_i - x_i^T w)^2
    w = W[0]
    fn = lambda t: (Y_REG[7] - torch.tensor(X_REG[7]) @ t) ** 2  # noqa: E731
    assert rel_error(L.sample_grad(w, 7), torch_grad(fn, w)) < 1e-12


def test_linreg_batch_grad_shared_and_per_point_minibatches():
    L = ob.LinearRegressionMSE(X_REG, Y_REG)
    rng = np.random.default_rng(10)
    W = rng.normal(size=(4, 3))
    idx = np.array([3, 8, 8, 21])
    sub = ob.LinearRegressionMSE(X_REG[idx], Y_REG[idx])          # the mini-batch as its own data set
    assert rel_error(L.batch_grad(W, idx), sub.grad(W)) < 1e-12
    per_point = rng.integers(0, L.n, size=(4, 5))                   # a different mini-batch per point
    got = L.batch_grad(W, per_point)
    for k in range(4):
        assert rel_error(got[k], L.batch_grad(W[k], per_point[k])) < 1e-12


def test_linreg_curvature_and_as_quadratic():
    L = ob.LinearRegressionMSE(X_REG, Y_REG)
    eig = np.sort(np.linalg.eigvals(2 / len(Y_REG) * X_REG.T @ X_REG).real)
    assert rel_error(L.eigenvalues, eig) < 1e-12
    assert L.kappa == pytest.approx(eig[-1] / eig[0], rel=1e-10)
    q = L.as_quadratic()
    W = np.random.default_rng(11).normal(size=(6, 3))
    assert np.allclose(q.value(W), L.value(W)) and np.allclose(q.grad(W), L.grad(W))
    assert rel_error(q.minimizer, L.minimizer) < 1e-10


def test_linreg_validation():
    with pytest.raises(ValueError, match=r"X must be a 2-D array .*got shape \(5,\)"):
        ob.LinearRegressionMSE(np.ones(5), np.ones(5))
    with pytest.raises(ValueError, match=r"y must be a 1-D array .*shape \(5,\), got shape \(4,\)"):
        ob.LinearRegressionMSE(np.ones((5, 2)), np.ones(4))
    with pytest.raises(ValueError, match=r"X must contain only finite numbers"):
        ob.LinearRegressionMSE(np.full((5, 2), np.nan), np.ones(5))
    L = ob.LinearRegressionMSE(X_REG, Y_REG)
    with pytest.raises(ValueError, match=r"idx must hold row indices in \[0, n\) = \[0, 30\), got 30"):
        L.batch_grad(np.zeros(3), [0, 30])
    with pytest.raises(ValueError, match=r"idx must hold integer row indices"):
        L.sample_grad(np.zeros(3), 1.5)
    with pytest.raises(ValueError, match=r"idx must hold at least one row index"):
        L.batch_grad(np.zeros(3), np.array([], dtype=int))
