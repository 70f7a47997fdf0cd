"""Newton's method (course_lib.newton) against closed forms, torch and theory."""
import warnings

import numpy as np
import pytest
import torch

from course_lib.optim.newton import (IndefiniteHessianWarning, Newton, NotPositiveDefiniteHessian,
                               check_positive_definite, is_positive_definite)
from course_lib.optim import Optimizer


def _spd(n, seed):
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((n, n))
    return M @ M.T + 0.5 * np.eye(n), rng.standard_normal(n)


# f(x, y) = e^(x+3y-0.1) + e^(x-3y-0.1) + e^(-x-0.1): smooth, strictly convex, not quadratic;
# minimiser (-ln(2)/2, 0) in closed form (Boyd & Vandenberghe, example 9.20).
def _expsum(w):
    x, y = w
    return np.exp(x + 3 * y - 0.1) + np.exp(x - 3 * y - 0.1) + np.exp(-x - 0.1)


def _expsum_grad(w):
    x, y = w
    a, b, c = np.exp(x + 3 * y - 0.1), np.exp(x - 3 * y - 0.1), np.exp(-x - 0.1)
    return np.array([a + b - c, 3 * a - 3 * b])


def _expsum_hess(w):
    x, y = w
    a, b, c = np.exp(x + 3 * y - 0.1), np.exp(x - 3 * y - 0.1), np.exp(-x - 0.1)
    return np.array([[a + b + c, 3 * a - 3 * b], [3 * a - 3 * b, 9 * a + 9 * b]])


W_STAR = np.array([-np.log(2) / 2, 0.0])


def test_is_an_optimizer_that_needs_the_hessian():
    opt = Newton()
    assert isinstance(opt, Optimizer) and opt.needs_hessian and opt.lr == 1.0
    assert opt.gradient_point({"w": np.zeros(2)})["w"].shape == (2,)


def test_one_undamped_step_solves_a_quadratic_exactly():
    A, b = _spd(6, 1)
    w = np.random.default_rng(2).standard_normal(6)
    params = {"w": w.copy()}
    Newton(lr=1.0).step(params, {"w": A @ w - b}, hessians={"w": A})
    w_star = np.linalg.solve(A, b)
    assert np.max(np.abs(params["w"] - w_star)) < 1e-12


def test_one_step_on_quadratic_objective_through_the_runner():
    from course_lib.objectives import Quadratic
    from course_lib.runner import run

    A = np.array([[10.0, 2.0], [2.0, 1.0]])
    b = np.array([1.0, 3.0])
    res = run(Newton(), Quadratic(A, b), np.array([5.0, -7.0]), max_steps=5, tol_grad=1e-10)
    assert res.steps == 1 and res.converged
    assert np.max(np.abs(res.trajectory[1] - np.linalg.solve(A, b))) < 1e-12


def test_damped_step_is_a_fraction_of_the_newton_step():
    # on a quadratic, w1 - w* = (1 - eta) (w0 - w*) exactly
    A, b = _spd(3, 3)
    w_star = np.linalg.solve(A, b)
    w0 = np.array([1.0, -2.0, 0.5])
    params = {"w": w0.copy()}
    opt = Newton(lr=0.3)
    for _ in range(4):
        opt.step(params, {"w": A @ params["w"] - b}, hessians={"w": A})
    np.testing.assert_allclose(params["w"] - w_star, 0.7**4 * (w0 - w_star), rtol=1e-10, atol=1e-12)
    assert opt.state["w"]["step"] == 4


def test_step_matches_torch_linear_solve():
    # independent: gradient and Hessian by torch autograd, step by torch.linalg.solve
    w0 = np.array([0.4, 0.25])
    wt = torch.tensor(w0, dtype=torch.float64)
    f = lambda w: (torch.exp(w[0] + 3 * w[1] - 0.1) + torch.exp(w[0] - 3 * w[1] - 0.1)
                   + torch.exp(-w[0] - 0.1))
    H = torch.autograd.functional.hessian(f, wt)
    g = torch.func.grad(f)(wt)
    expected = wt - 0.8 * torch.linalg.solve(H, g)
    params = {"w": w0.copy()}
    Newton(lr=0.8).step(params, {"w": _expsum_grad(w0)}, hessians={"w": _expsum_hess(w0)})
    np.testing.assert_allclose(params["w"], expected.numpy(), rtol=1e-12)


def test_quadratic_convergence_on_smooth_strictly_convex_function():
    w = np.array([0.5, 0.2])
    opt = Newton()
    errs = [np.linalg.norm(w - W_STAR)]
    params = {"w": w}
    for _ in range(6):
        opt.step(params, {"w": _expsum_grad(params["w"])}, hessians={"w": _expsum_hess(params["w"])})
        errs.append(np.linalg.norm(params["w"] - W_STAR))
        if errs[-1] < 1e-12:
            break
    errs = np.array(errs)
    assert errs[-1] < 1e-12
    big = errs[:-1] > 1e-7  # ratios are meaningful before round-off takes over
    ratios = errs[1:][big] / errs[:-1][big] ** 2
    assert len(ratios) >= 3
    assert np.all(ratios < 5.0), ratios  # e_{k+1} <= C e_k^2 with a bounded C
    # and *not* linear: the plain ratio e_{k+1}/e_k goes to 0
    lin = errs[1:][big] / errs[:-1][big]
    assert lin[-1] < 1e-2 and np.all(np.diff(lin) < 0)


def test_gradient_descent_is_only_linear_there():
    # contrast: GD's e_{k+1}/e_k tends to a constant (1 - eta * lambda_min), not to 0
    w = np.array([0.5, 0.2])
    eta = 0.05
    errs = []
    for _ in range(60):
        w = w - eta * _expsum_grad(w)
        errs.append(np.linalg.norm(w - W_STAR))
    ratios = np.array(errs[1:]) / np.array(errs[:-1])
    lam_min = np.linalg.eigvalsh(_expsum_hess(W_STAR))[0]
    assert ratios[-1] == pytest.approx(1 - eta * lam_min, abs=1e-3)


def test_indefinite_hessian_raises_with_eigenvalues_in_message():
    params = {"w": np.array([1.0, 0.5])}
    H = np.diag([2.0, -2.0])  # x^2 - y^2
    opt = Newton()
    with pytest.raises(NotPositiveDefiniteHessian) as info:
        opt.step(params, {"w": np.array([2.0, -1.0])}, hessians={"w": H})
    msg = str(info.value)
    assert "not positive definite" in msg and "indefinite" in msg and "saddle" in msg
    assert "[-2, 2]" in msg and "params['w']" in msg
    np.testing.assert_allclose(info.value.eigenvalues, [-2.0, 2.0])
    assert isinstance(info.value, ValueError)
    np.testing.assert_array_equal(params["w"], [1.0, 0.5])  # untouched


def test_negative_definite_and_singular_messages():
    with pytest.raises(NotPositiveDefiniteHessian, match="negative definite.*maximum"):
        check_positive_definite(np.array([[-3.0]]))
    with pytest.raises(NotPositiveDefiniteHessian, match="singular"):
        check_positive_definite(np.diag([1.0, 0.0]))
    with pytest.raises(NotPositiveDefiniteHessian, match="singular"):
        Newton(on_indefinite="step").step({"w": np.ones(2)}, {"w": np.ones(2)},
                                          hessians={"w": np.diag([1.0, 0.0])})
    assert is_positive_definite(np.eye(2)) and not is_positive_definite(np.diag([1.0, -1e-9]))


def test_step_option_heads_for_the_saddle():
    w = np.array([1.0, 0.5])
    H = np.diag([2.0, -2.0])
    params = {"w": w.copy()}
    opt = Newton(lr=1.0, on_indefinite="step")
    opt.step(params, {"w": np.array([2 * w[0], -2 * w[1]])}, hessians={"w": H})
    np.testing.assert_allclose(params["w"], [0.0, 0.0], atol=1e-12)  # exactly onto the saddle
    np.testing.assert_allclose(opt.state["w"]["eigenvalues"], [-2.0, 2.0])
    # damped: the distance to the saddle shrinks by (1 - eta) per step, and the loss *rises*
    params = {"w": w.copy()}
    opt = Newton(lr=0.5, on_indefinite="step")
    f = lambda v: v[0] ** 2 - v[1] ** 2
    losses = [f(params["w"])]
    for _ in range(3):
        x, y = params["w"]
        opt.step(params, {"w": np.array([2 * x, -2 * y])}, hessians={"w": H})
        losses.append(f(params["w"]))
    np.testing.assert_allclose(params["w"], 0.125 * w, rtol=1e-12)
    assert losses[-1] > losses[0] or np.allclose(losses, 0.75 * 0.25 ** np.arange(4))


def test_warn_option_warns_and_steps():
    params = {"w": np.array([0.3])}
    with pytest.warns(IndefiniteHessianWarning, match="negative definite"):
        Newton(on_indefinite="warn").step(params, {"w": np.array([-0.6])},
                                          hessians={"w": np.array([[-2.0]])})
    np.testing.assert_allclose(params["w"], [0.0])  # went to the maximum of -x^2


def test_concave_region_goes_to_the_maximum():
    # f = x^4 - 2x^2 has f'' < 0 for |x| < 1/sqrt(3): Newton from there converges to the max x = 0
    x = np.array([0.3])
    params = {"w": x}
    opt = Newton(on_indefinite="step")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(6):
            v = params["w"][0]
            opt.step(params, {"w": np.array([4 * v**3 - 4 * v])}, hessians={"w": np.array([[12 * v**2 - 4]])})
    assert abs(params["w"][0]) < 1e-12


def test_runner_propagates_the_clear_error():
    from course_lib.objectives import Saddle
    from course_lib.runner import run

    with pytest.raises(NotPositiveDefiniteHessian, match="eigenvalues"):
        run(Newton(), Saddle(), np.array([1.0, 0.5]), max_steps=3)
    res = run(Newton(lr=0.5, on_indefinite="step"), Saddle(), np.array([1.0, 0.5]), max_steps=10)
    assert np.linalg.norm(res.trajectory[-1]) < 1e-2


def test_vectorised_rows_match_separate_runs():
    A, b = _spd(2, 7)
    W = np.array([[1.0, 2.0], [-1.0, 0.5], [3.0, -3.0]])
    lr = np.array([[1.0], [0.5], [0.25]])
    params = {"w": W.copy()}
    G = W @ A - b
    Newton(lr=lr).step(params, {"w": G}, hessians={"w": np.broadcast_to(A, (3, 2, 2))})
    for k in range(3):
        p = {"w": W[k].copy()}
        Newton(lr=float(lr[k, 0])).step(p, {"w": G[k]}, hessians={"w": A})
        np.testing.assert_allclose(params["w"][k], p["w"], rtol=1e-12)


@pytest.mark.parametrize("kwargs, match", [
    ({"lr": 0.0}, "lr"), ({"lr": -1.0}, "lr"), ({"lr": np.nan}, "lr"),
    ({"on_indefinite": "ignore"}, "on_indefinite"), ({"symmetry_tol": -1}, "symmetry_tol"),
])
def test_bad_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Newton(**kwargs)


def test_bad_step_input():
    opt = Newton()
    p = {"w": np.ones(2)}
    with pytest.raises(ValueError, match="needs the Hessian"):
        opt.step(p, {"w": np.ones(2)})
    with pytest.raises(ValueError, match="shape"):
        opt.step(p, {"w": np.ones(2)}, hessians={"w": np.eye(3)})
    with pytest.raises(ValueError, match="symmetric"):
        opt.step(p, {"w": np.ones(2)}, hessians={"w": np.array([[1.0, 1.0], [0.0, 1.0]])})
    with pytest.raises(ValueError, match="keys"):
        opt.step(p, {"w": np.ones(2)}, hessians={"v": np.eye(2)})
