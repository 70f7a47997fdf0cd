"""The non-finite detector names the step, the layer and the quantity (activation, loss, gradient,
weight) of the first NaN/inf, found independently here by walking the computation by hand; and the
train() loop: the same numbers as a hand-written loop, clipping applied, the detector's stop."""
from __future__ import annotations

import numpy as np
import pytest

from course_lib.nn import (MLP, HalfMSE, Linear, NonFiniteDetector, NonFiniteError, ReLU, Sequential,
                           clip_grad_norm_, clip_grad_value_, train)
from course_lib.optim import SGD, Adam, DivergenceError


def _quiet():
    return np.errstate(over="ignore", invalid="ignore")


def first_nonfinite_output(net, X):
    """The name of the first layer whose output is not finite, by a forward pass written here."""
    h = np.asarray(X, dtype=float)
    with _quiet():
        for layer in net.leaves():
            if layer.kind == "linear":
                h = h @ layer.params["W"] + layer.params.get("b", 0)
            elif layer.kind == "activation":
                h = np.maximum(h, 0)
            if not np.all(np.isfinite(h)):
                return layer.name
    return None


def test_activation_overflow_is_named_with_its_layer_and_step():
    net = MLP([4, 8, 8, 8, 8, 2], activation="relu", init="normal", std=1e90, seed=0)
    X = np.random.default_rng(0).normal(size=(6, 4))
    y = np.arange(6) % 2
    expected = first_nonfinite_output(net, X)
    assert expected is not None and expected != "Linear 1"
    detector = NonFiniteDetector(net)
    with _quiet():
        loss = net.loss(X, y)
        net.backward()
    with pytest.raises(NonFiniteError) as info:
        detector.check_step(7, loss)
    err = info.value
    assert (err.step, err.layer, err.quantity) == (7, expected, "activation")
    assert err.kind == "inf" and 0 < err.n_bad <= err.size
    assert str(err).startswith(f"step 7: the activation of layer '{expected}' is not finite")
    assert isinstance(err, DivergenceError) and isinstance(err, FloatingPointError)


def _two_layer(W1, W2):
    return Sequential([Linear(np.array(W1, dtype=float), bias=False), ReLU(),
                       Linear(np.array(W2, dtype=float), bias=False)], loss=HalfMSE())


def test_loss_overflow_is_named():
    net = _two_layer([[1e100]], [[1e100]])          # output 1e200, finite; its square overflows
    detector = NonFiniteDetector(net)
    with _quiet():
        loss = net.loss(np.array([[1.0]]), np.array([0.0]))
        net.backward()
    assert np.isfinite(net.forward(np.array([[1.0]]))).all() and not np.isfinite(loss)
    with pytest.raises(NonFiniteError) as info:
        detector.check_step(1, loss)
    assert info.value.quantity == "loss" and info.value.layer == "loss"
    assert str(info.value).startswith("step 1: the loss is not finite (it is inf)")


def test_gradient_overflow_is_named_last_layer_first():
    # h = 1e160, yhat = 1e150 (loss 5e299, finite); dL/dW2 = h * (yhat - y) = 1e310 -> inf
    net = _two_layer([[1e160]], [[1e-10]])
    detector = NonFiniteDetector(net)
    with _quiet():
        loss = net.loss(np.array([[1.0]]), np.array([0.0]))
        grads = net.backward()
    assert np.isfinite(loss) and np.isinf(grads["W2"]).all()
    with pytest.raises(NonFiniteError) as info:
        detector.check_step(4, loss)
    err = info.value
    assert (err.quantity, err.key, err.layer) == ("gradient", "W2", "Linear 2")
    assert "(dL/dW2)" in str(err)


def test_weight_overflow_after_the_update_is_named_by_train():
    net = MLP([3, 4, 1], activation="relu", loss="mse", seed=0)
    X = np.random.default_rng(1).normal(size=(5, 3))
    y = np.random.default_rng(2).normal(size=5) * 10
    result = train(net, SGD(lr=1e308), X, y, steps=5)  # finite gradients, but the step overflows
    err = result.error
    assert result.stopped and err.quantity == "weight" and err.step == 1 and result.steps == 1
    assert err.layer.startswith("Linear") and err.key[0] in "Wb"
    assert result.message.startswith("stopped: step 1: the weight of layer")
    with pytest.raises(NonFiniteError):
        train(MLP([3, 4, 1], loss="mse", seed=0), SGD(lr=1e308), X, y, steps=5, raise_on_nonfinite=True)


def test_exploding_network_is_stopped_within_a_few_steps():
    net = MLP([8] + [32] * 10 + [1], activation="relu", loss="mse", init="normal", std=1.0, seed=0)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(64, 8)), rng.normal(size=64)
    result = train(net, SGD(lr=0.01), X, y, steps=50)
    assert result.stopped and result.error.step <= 10
    assert np.isnan(result.final_loss) and len(result.losses) == result.error.step


def test_train_is_a_plain_loop_with_clipping():
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(40, 5)), rng.integers(0, 3, size=40)
    a, b = MLP([5, 7, 3], seed=1), MLP([5, 7, 3], seed=1)
    result = train(a, Adam(lr=0.01), X, y, steps=12, batch_size=16, clip_value=0.05, clip_norm=0.2, seed=4,
                   record_grad_norms=True)
    opt = Adam(lr=0.01)
    order_rng = np.random.default_rng(4)
    losses, batches = [], []
    while len(batches) < 12:
        perm = order_rng.permutation(40)
        batches += [perm[i:i + 16] for i in range(0, 40, 16)]
    for idx in batches[:12]:
        loss, grads = b.loss_and_grads(X[idx], y[idx])
        losses.append(loss)
        clip_grad_value_(grads, 0.05)
        clip_grad_norm_(grads, 0.2)
        opt.step(b.params, grads)
    np.testing.assert_allclose(result.losses, losses, rtol=1e-13)
    for k in a.params:
        np.testing.assert_allclose(a.params[k], b.params[k], rtol=1e-13)
    assert result.steps == 12 and result.final_loss == pytest.approx(b.loss(X, y), rel=1e-13)
    assert set(result.grad_norms) == {"W1", "W2"} and result.grad_norms["W1"].shape == (12,)
    assert result.message == f"12 steps, final loss {result.final_loss:.4g}"


def test_huge_but_finite_values_are_not_reported():
    """The quick check sums an array; a finite array whose sum overflows is looked at entry by entry."""
    net = _two_layer([[1e300]], [[1.0]])
    detector = NonFiniteDetector(net)
    with _quiet():
        net.forward(np.array([[1.7], [1.7]]))             # outputs 1.7e300 twice: their sum overflows
    detector.check_step(1)                                # no error
    net.layers[0].output[0, 0] = np.inf
    with pytest.raises(NonFiniteError, match="1 of 2 entries are inf"):
        detector.check_step(2)


def test_train_rejects_bad_steps():
    with pytest.raises(ValueError, match="steps must be a whole number"):
        train(MLP([2, 2]), SGD(lr=0.1), np.zeros((2, 2)), np.zeros(2, dtype=int), steps=0)
