"""course_lib.losses against independent implementations: torch.nn.functional and torch.autograd in
float64, and centred finite differences from course_lib.gradcheck."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_lib import losses
from course_lib.gradcheck import numerical_gradient, rel_error

torch.set_default_dtype(torch.float64)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def _regression(rng, n=30, d=3):
    X = rng.normal(size=(n, d))
    y = X @ rng.normal(size=d) + 0.3 * rng.normal(size=n)
    return X, y


def _classification(rng, n=30, d=3):
    X = rng.normal(size=(n, d))
    y = (X @ rng.normal(size=d) + 0.5 * rng.normal(size=n) > 0).astype(float)
    return X, y


def _t(a, grad=False):
    return torch.tensor(np.asarray(a, dtype=float), dtype=torch.float64, requires_grad=grad)


# --- losses of the predictions: value and gradient vs torch --------------------------------------
TORCH = {
    "mse": (losses.mse, losses.mse_grad, F.mse_loss),
    "mae": (losses.mae, losses.mae_grad, F.l1_loss),
}


@pytest.mark.parametrize("name", ["mse", "mae"])
def test_regression_loss_and_grad_match_torch(rng, name):
    value, grad, torch_loss = TORCH[name]
    y_pred, y = rng.normal(size=25), rng.normal(size=25)
    t_pred = _t(y_pred, grad=True)
    t_loss = torch_loss(t_pred, _t(y))
    t_loss.backward()
    assert abs(float(value(y_pred, y)) - t_loss.item()) < 1e-12
    np.testing.assert_allclose(grad(y_pred, y), t_pred.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_mae_grad_is_zero_at_a_tie_like_torch():
    y_pred, y = np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 5.0])
    t_pred = _t(y_pred, grad=True)
    F.l1_loss(t_pred, _t(y)).backward()
    np.testing.assert_array_equal(losses.mae_grad(y_pred, y), t_pred.grad.numpy())
    assert losses.mae_grad(y_pred, y)[0] == 0.0


def test_log_loss_and_grad_match_torch(rng):
    p = rng.uniform(0.02, 0.98, size=40)
    y = (rng.uniform(size=40) < 0.5).astype(float)
    t_p = _t(p, grad=True)
    t_loss = F.binary_cross_entropy(t_p, _t(y))
    t_loss.backward()
    assert abs(float(losses.log_loss(p, y)) - t_loss.item()) < 1e-12
    np.testing.assert_allclose(losses.log_loss_grad(p, y), t_p.grad.numpy(), rtol=1e-11)


def test_log_loss_soft_labels_match_torch(rng):
    p, y = rng.uniform(0.05, 0.95, size=10), rng.uniform(size=10)
    assert abs(float(losses.log_loss(p, y)) - F.binary_cross_entropy(_t(p), _t(y)).item()) < 1e-12


def test_log_loss_from_logits_matches_torch_even_for_huge_logits(rng):
    z = np.concatenate([rng.normal(scale=3, size=20), [800.0, -800.0, 40.0, -40.0]])
    y = (rng.uniform(size=z.size) < 0.5).astype(float)
    t_z = _t(z, grad=True)
    t_loss = F.binary_cross_entropy_with_logits(t_z, _t(y))
    t_loss.backward()
    ours = float(losses.log_loss_from_logits(z, y))
    assert np.isfinite(ours)
    assert abs(ours - t_loss.item()) < 1e-12 * max(1.0, abs(ours))
    np.testing.assert_allclose(losses.log_loss_from_logits_grad(z, y), t_z.grad.numpy(), rtol=1e-12, atol=1e-18)


def test_log_loss_from_logits_equals_log_loss_of_sigmoid(rng):
    z, y = rng.normal(size=15), (rng.uniform(size=15) < 0.5).astype(float)
    assert abs(float(losses.log_loss_from_logits(z, y)) - float(losses.log_loss(losses.sigmoid(z), y))) < 1e-12


def test_sigmoid_matches_torch_and_does_not_overflow():
    z = np.array([-1000.0, -30.0, -1.0, 0.0, 2.5, 30.0, 1000.0])
    with np.errstate(over="raise"):
        s = losses.sigmoid(z)
    np.testing.assert_allclose(s, torch.sigmoid(_t(z)).numpy(), rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", ["mse", "mae", "log_loss"])
def test_prediction_grads_match_finite_differences(rng, name):
    y = (rng.uniform(size=12) < 0.5).astype(float)
    if name == "log_loss":
        x0 = rng.uniform(0.1, 0.9, size=12)
        f, g = losses.log_loss, losses.log_loss_grad
    else:
        x0 = y + rng.normal(size=12)  # residuals far from 0, where |r| is smooth
        f, g = getattr(losses, name), getattr(losses, name + "_grad")
    num = numerical_gradient(lambda v: float(f(v, y)), x0)
    assert rel_error(g(x0, y), num) < 1e-7


# --- vectorised over leading axes ---------------------------------------------------------------
@pytest.mark.parametrize("name", ["mse", "mae", "log_loss"])
def test_batched_predictions_equal_a_loop(rng, name):
    P = rng.uniform(0.1, 0.9, size=(4, 5, 7))
    y = (rng.uniform(size=7) < 0.5).astype(float)
    f, g = getattr(losses, name), getattr(losses, name + "_grad")
    vals, grads = f(P, y), g(P, y)
    assert vals.shape == (4, 5) and grads.shape == P.shape
    for i in range(4):
        for j in range(5):
            assert vals[i, j] == pytest.approx(float(f(P[i, j], y)), rel=1e-12)
            np.testing.assert_allclose(grads[i, j], g(P[i, j], y), rtol=1e-12)


# --- the linear model: gradient w.r.t. the weights vs autograd and finite differences ------------
def _torch_linear_loss(w, X, y, name):
    z = _t(X) @ w
    if name == "mse":
        return F.mse_loss(z, _t(y))
    if name == "mae":
        return F.l1_loss(z, _t(y))
    return F.binary_cross_entropy(torch.sigmoid(z), _t(y))  # the textbook path through p


@pytest.mark.parametrize("name", ["mse", "mae", "log_loss"])
def test_linear_loss_and_grad_match_autograd(rng, name):
    X, y = _classification(rng) if name == "log_loss" else _regression(rng)
    w = rng.normal(size=X.shape[1])
    t_w = _t(w, grad=True)
    t_loss = _torch_linear_loss(t_w, X, y, name)
    t_loss.backward()
    assert abs(float(losses.linear_loss(w, X, y, name)) - t_loss.item()) < 1e-12
    assert rel_error(losses.linear_loss_grad(w, X, y, name), t_w.grad.numpy()) < 1e-12


@pytest.mark.parametrize("name", ["mse", "mae", "log_loss"])
def test_linear_grad_matches_finite_differences(rng, name):
    X, y = _classification(rng) if name == "log_loss" else _regression(rng)
    w = rng.normal(size=X.shape[1])
    num = numerical_gradient(lambda v: float(losses.linear_loss(v, X, y, name)), w)
    assert rel_error(losses.linear_loss_grad(w, X, y, name), num) < 1e-7


def test_mse_grad_is_the_lecture_formula(rng):
    X, y = _regression(rng)
    w = rng.normal(size=3)
    n = len(y)
    lecture = -2.0 / n * sum((y[i] - X[i] @ w) * X[i] for i in range(n))
    assert rel_error(losses.linear_loss_grad(w, X, y, "mse"), lecture) < 1e-12


@pytest.mark.parametrize("name", ["mse", "log_loss"])
def test_linear_hessian_matches_autograd(rng, name):
    X, y = _classification(rng) if name == "log_loss" else _regression(rng)
    w = rng.normal(size=X.shape[1])
    H_torch = torch.autograd.functional.hessian(lambda v: _torch_linear_loss(v, X, y, name), _t(w)).numpy()
    # torch differentiates twice through log(sigmoid(z)), losing a few digits on the way
    assert rel_error(losses.linear_loss_hessian(w, X, y, name), H_torch) < 1e-9


def test_linear_loss_is_vectorised_over_weight_grids(rng):
    X, y = _classification(rng, d=2)
    W = np.stack(np.meshgrid(np.linspace(-2, 2, 5), np.linspace(-1, 1, 4)), axis=-1)  # (4, 5, 2)
    for name in losses.LOSSES:
        vals = losses.linear_loss(W, X, y, name)
        grads = losses.linear_loss_grad(W, X, y, name)
        hess = losses.linear_loss_hessian(W, X, y, name)
        assert vals.shape == (4, 5) and grads.shape == (4, 5, 2) and hess.shape == (4, 5, 2, 2)
        for i, j in [(0, 0), (3, 4), (2, 1)]:
            assert vals[i, j] == pytest.approx(float(losses.linear_loss(W[i, j], X, y, name)), rel=1e-12)
            np.testing.assert_allclose(grads[i, j], losses.linear_loss_grad(W[i, j], X, y, name), rtol=1e-12)


def test_log_loss_of_linear_model_stays_finite_for_confident_weights(rng):
    X, y = _classification(rng)
    w = 1e4 * rng.normal(size=3)  # sigmoid(Xw) rounds to exactly 0 or 1
    assert np.isfinite(losses.linear_loss(w, X, y, "log_loss"))
    assert np.all(np.isfinite(losses.linear_loss_grad(w, X, y, "log_loss")))


@pytest.mark.parametrize("name", ["mse", "mae", "log_loss"])
def test_linear_model_loss_objective_matches_autograd(rng, name):
    X, y = _classification(rng) if name == "log_loss" else _regression(rng)
    obj = losses.LinearModelLoss(X, y, name)
    W = rng.normal(size=(4, X.shape[1]))
    assert obj.dim == X.shape[1] and obj.n == len(y)
    vals, grads, hess = obj(W), obj.grad(W), obj.hessian(W)
    assert vals.shape == (4,) and grads.shape == W.shape and hess.shape == (4, 3, 3)
    for k, w in enumerate(W):
        t_w = _t(w, grad=True)
        t_loss = _torch_linear_loss(t_w, X, y, name)
        t_loss.backward()
        assert abs(vals[k] - t_loss.item()) < 1e-12
        assert rel_error(grads[k], t_w.grad.numpy()) < 1e-12
        H_torch = torch.autograd.functional.hessian(lambda v: _torch_linear_loss(v, X, y, name), _t(w)).numpy()
        assert np.max(np.abs(hess[k] - H_torch)) < 1e-9
        assert float(obj.value(w)) == pytest.approx(float(losses.linear_loss(w, X, y, name)), rel=1e-12)


def test_linear_model_loss_is_an_objective_with_least_squares_minimizer(rng):
    from course_lib.objectives import LinearRegressionMSE, Objective

    X, y = _regression(rng)
    for name in losses.LOSSES:
        obj = losses.LinearModelLoss(X, y if name != "log_loss" else (y > 0).astype(float), name)
        assert isinstance(obj, Objective)
        assert np.ndim(obj.value(np.zeros(3))) == 0
    mse_obj = losses.LinearModelLoss(X, y, "mse")
    np.testing.assert_allclose(mse_obj.minimizer, LinearRegressionMSE(X, y).solve(), rtol=1e-10)
    assert np.linalg.norm(mse_obj.grad(mse_obj.minimizer)) < 1e-12
    assert losses.LinearModelLoss(X, (y > 0).astype(float), "log_loss").minimizer is None


def test_linear_model_loss_evaluates_diverged_points_without_raising(rng):
    X, y = _classification(rng)
    obj = losses.LinearModelLoss(X, y, "log_loss")
    with np.errstate(all="ignore"):
        v = obj.value(np.array([np.inf, 0.0, 0.0]))
    assert not np.isfinite(v) or v > 0  # reported, not raised: the runner decides it diverged
    with pytest.raises(ValueError, match="labels 0/1"):
        losses.LinearModelLoss(X, 2 * y, "log_loss")
    with pytest.raises(ValueError, match="must be 2-D"):
        losses.LinearModelLoss(np.zeros(3), np.zeros(3))


# --- errors a student can read ------------------------------------------------------------------
def test_mismatched_shapes_raise():
    with pytest.raises(ValueError, match=r"y_pred has shape \(3,\) but y \(targets\) has shape \(4,\)"):
        losses.mse(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="one prediction per target"):
        losses.mae_grad(np.zeros((2, 3)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="last axis of w"):
        losses.linear_loss(np.zeros(3), np.zeros((5, 2)), np.zeros(5))
    with pytest.raises(ValueError, match=r"y \(targets\) must have shape \(5,\)"):
        losses.linear_loss_grad(np.zeros(2), np.zeros((5, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="must be 2-D"):
        losses.linear_loss(np.zeros(2), np.zeros(2), np.zeros(2))
    with pytest.raises(ValueError, match="at least one sample"):
        losses.mse(np.zeros(0), np.zeros(0))


@pytest.mark.parametrize("bad_p", [0.0, 1.0, 1.2, -0.1])
def test_probabilities_outside_open_interval_raise(bad_p):
    p = np.array([0.3, bad_p, 0.6])
    for fn in (losses.log_loss, losses.log_loss_grad):
        with pytest.raises(ValueError, match="strictly between 0 and 1"):
            fn(p, np.array([0.0, 1.0, 1.0]))


def test_labels_outside_unit_interval_raise():
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        losses.log_loss(np.array([0.5, 0.5]), np.array([0.0, 2.0]))
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        losses.linear_loss(np.zeros(1), np.ones((2, 1)), np.array([-1.0, 1.0]), "log_loss")


def test_nan_and_unknown_loss_raise():
    with pytest.raises(ValueError, match="NaN"):
        losses.mse(np.array([1.0, np.nan]), np.zeros(2))
    with pytest.raises(ValueError, match="loss must be one of"):
        losses.linear_loss(np.zeros(1), np.ones((2, 1)), np.zeros(2), "hinge")
