"""Layer by layer: every backward of course_lib.nn is checked against centred finite differences
(course_lib.gradcheck, float64, relative error <= 1e-7) and against PyTorch on the same weights and
the same upstream gradient (relative error <= 1e-10), as cs231n checks each layer and micrograd
checks each operation. The losses likewise, and both in float32 against float64."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from course_lib.gradcheck import numerical_gradient, numerical_vjp, rel_error
from course_lib.nn import (BatchNorm, HalfMSE, Linear, ReLU, Residual, Sigmoid, SoftmaxCrossEntropy, Tanh,
                           activation, log_softmax)

FD_TOL = 1e-7      # centred differences in float64 (typically 1e-9 .. 1e-11)
TORCH_TOL = 1e-10  # the same float64 computation summed in another order


def t64(a, grad=False):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def torch_linear(W, b):
    """nn.Linear holding W (D, M) as its weight W.T and the bias b, float64."""
    layer = nn.Linear(*W.shape, dtype=torch.float64)
    with torch.no_grad():
        layer.weight.copy_(t64(W.T))
        layer.bias.copy_(t64(b))
    return layer


@pytest.fixture
def rng():
    return np.random.default_rng(123)


# --------------------------------------------------------------------------------------------
# Linear

def test_linear_forward_and_backward_against_finite_differences(rng):
    N, D, M = 5, 4, 3                      # non-square W, batch > 1
    layer = Linear(rng.normal(size=(D, M)), rng.normal(size=M))
    x = rng.normal(size=(N, D))
    dout = rng.normal(size=(N, M))
    out = layer.forward(x)
    np.testing.assert_allclose(out, x @ layer.params["W"] + layer.params["b"], rtol=1e-14)
    dx = layer.backward(dout)
    assert dx.shape == x.shape and layer.grads["W"].shape == (D, M) and layer.grads["b"].shape == (M,)
    assert rel_error(dx, numerical_vjp(lambda v: Linear(layer.params["W"], layer.params["b"]).forward(v), x, dout)) < FD_TOL
    # the layer's own W and b are perturbed in place by numerical_vjp (f reads them via the layer)
    assert rel_error(layer.grads["W"].copy(), numerical_vjp(lambda W: layer.forward(x), layer.params["W"], dout)) < FD_TOL
    assert rel_error(layer.grads["b"].copy(), numerical_vjp(lambda b: layer.forward(x), layer.params["b"], dout)) < FD_TOL


def test_linear_against_torch(rng):
    N, D, M = 7, 6, 3
    W, b = rng.normal(size=(D, M)), rng.normal(size=M)
    x, dout = rng.normal(size=(N, D)), rng.normal(size=(N, M))
    layer = Linear(W, b)
    out = layer.forward(x)
    dx = layer.backward(dout)
    tl = torch_linear(W, b)
    xt = t64(x, grad=True)
    ot = tl(xt)
    ot.backward(t64(dout))
    assert rel_error(out, ot.detach().numpy()) < TORCH_TOL
    assert rel_error(dx, xt.grad.numpy()) < TORCH_TOL
    assert rel_error(layer.grads["W"], tl.weight.grad.numpy().T) < TORCH_TOL
    assert rel_error(layer.grads["b"], tl.bias.grad.numpy()) < TORCH_TOL
    # the comparison can fail: a transposed or averaged gradient is far off
    assert rel_error(layer.grads["b"] / N, tl.bias.grad.numpy()) > 0.1


def test_linear_without_bias_and_without_dx(rng):
    layer = Linear(rng.normal(size=(3, 2)), bias=False, need_dx=False)
    assert list(layer.params) == ["W"]
    layer.forward(rng.normal(size=(4, 3)))
    assert layer.backward(np.ones((4, 2))) is None
    np.testing.assert_allclose(layer.grads["W"], layer.cache["x"].T @ np.ones((4, 2)))


def test_linear_gradients_are_overwritten_in_place(rng):
    layer = Linear(rng.normal(size=(3, 2)))
    gW = layer.grads["W"]
    for _ in range(2):
        layer.forward(np.ones((2, 3)))
        layer.backward(np.ones((2, 2)))
    assert layer.grads["W"] is gW
    np.testing.assert_allclose(gW, np.full((3, 2), 2.0))   # not accumulated to 4


@pytest.mark.parametrize("bad, match", [
    (lambda: Linear(np.ones(3)), "2-D array"),
    (lambda: Linear(np.ones((3, 2)), np.ones(3)), r"shape \(2,\)"),
    (lambda: Linear(np.ones((3, 2))).forward(np.ones((4, 5))), "5 features"),
    (lambda: Linear(np.ones((3, 2))).forward(np.ones(3)), "reshape"),
    (lambda: Linear(np.ones((3, 2))).backward(np.ones((4, 2))), "before forward"),
    (lambda: activation("softplus"), "activation must be one of"),
])
def test_bad_input_gets_a_clear_message(bad, match):
    with pytest.raises((ValueError, RuntimeError), match=match):
        bad()


# --------------------------------------------------------------------------------------------
# activations

ACTS = [(Sigmoid, torch.sigmoid), (Tanh, torch.tanh), (ReLU, torch.relu)]


@pytest.mark.parametrize("cls, torch_fn", ACTS, ids=lambda a: getattr(a, "__name__", ""))
def test_activation_backward_against_finite_differences_and_torch(cls, torch_fn, rng):
    x = 3 * rng.normal(size=(6, 5))
    if cls is ReLU:
        x[np.abs(x) < 1e-3] = 0.5          # keep finite differences away from the kink
    dout = rng.normal(size=x.shape)
    layer = cls()
    out = layer.forward(x)
    dx = layer.backward(dout)
    assert rel_error(dx, numerical_vjp(lambda v: cls().forward(v), x, dout)) < FD_TOL
    xt = t64(x, grad=True)
    ot = torch_fn(xt)
    ot.backward(t64(dout))
    assert rel_error(out, ot.detach().numpy()) < TORCH_TOL
    assert rel_error(dx, xt.grad.numpy()) < TORCH_TOL


def test_relu_derivative_at_zero_is_zero_as_in_torch():
    x = np.array([[-1.0, 0.0, 2.0]])
    layer = ReLU()
    layer.forward(x)
    dx = layer.backward(np.ones((1, 3)))
    xt = t64(x, grad=True)
    torch.relu(xt).backward(torch.ones(1, 3, dtype=torch.float64))
    np.testing.assert_array_equal(dx, xt.grad.numpy())
    np.testing.assert_array_equal(dx, [[0.0, 0.0, 1.0]])


def test_sigmoid_is_stable_and_its_derivative_is_at_most_a_quarter():
    x = np.array([[-1000.0, -30.0, 0.0, 30.0, 1000.0]])
    layer = Sigmoid()
    with np.errstate(over="raise", invalid="raise", divide="raise"):      # no overflow warning inside
        out = layer.forward(x)
    assert np.all(np.isfinite(out)) and out[0, 0] == 0.0 and out[0, -1] == 1.0
    grid = np.linspace(-10, 10, 2001)[None, :]
    layer.forward(grid)
    d = layer.backward(np.ones_like(grid))
    assert abs(d.max() - 0.25) < 1e-15 and d.argmax() == 1000   # sigma'(0) = 1/4 is the maximum


def test_backward_does_not_change_its_inputs(rng):
    x = rng.normal(size=(4, 3))
    dout = rng.normal(size=(4, 3))
    for layer in (Sigmoid(), Tanh(), ReLU(), Linear(rng.normal(size=(3, 3)))):
        x0, d0 = x.copy(), dout.copy()
        layer.forward(x)
        layer.backward(dout)
        np.testing.assert_array_equal(x, x0)
        np.testing.assert_array_equal(dout, d0)


# --------------------------------------------------------------------------------------------
# losses

def test_half_mse_is_the_lectures_loss_and_its_gradient(rng):
    loss = HalfMSE()
    assert loss.forward(np.array([[2.5]]), np.array([4.0])) == pytest.approx(0.5 * 1.5 ** 2)
    assert loss.backward()[0, 0] == pytest.approx(-(4.0 - 2.5))     # the shared factor -(y_true - y)
    pred, target = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    value = loss.forward(pred, target)
    d = loss.backward()
    assert rel_error(d, numerical_gradient(lambda p: HalfMSE().forward(p, target), pred)) < FD_TOL
    pt = t64(pred, grad=True)
    lt = 0.5 * ((pt - t64(target)) ** 2).sum() / 6
    lt.backward()
    assert abs(value - lt.item()) < 1e-12 * lt.item()
    assert rel_error(d, pt.grad.numpy()) < TORCH_TOL


def test_softmax_cross_entropy_against_torch_and_finite_differences(rng):
    z, labels = rng.normal(size=(8, 5)), rng.integers(0, 5, size=8)
    loss = SoftmaxCrossEntropy()
    value = loss.forward(z, labels)
    d = loss.backward()
    zt = t64(z, grad=True)
    lt = F.cross_entropy(zt, torch.tensor(labels))
    lt.backward()
    assert abs(value - lt.item()) < 1e-12 * lt.item()
    assert rel_error(d, zt.grad.numpy()) < TORCH_TOL
    assert rel_error(d, numerical_gradient(lambda v: SoftmaxCrossEntropy().forward(v, labels), z)) < FD_TOL
    np.testing.assert_allclose(d.sum(axis=1), 0, atol=1e-15)       # rows of p - onehot sum to 0


def test_softmax_cross_entropy_is_stable_for_logits_of_size_1000():
    z = np.array([[1000.0, 0.0, -1000.0], [1000.0, 1000.0, 0.0]])
    labels = np.array([1, 0])
    loss = SoftmaxCrossEntropy()
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value = loss.forward(z, labels)
        d = loss.backward()
    zt = t64(z, grad=True)
    lt = F.cross_entropy(zt, torch.tensor(labels))
    lt.backward()
    assert value == pytest.approx(lt.item(), rel=1e-12) and value == pytest.approx((1000 + np.log(2)) / 2)
    assert rel_error(d, zt.grad.numpy()) < TORCH_TOL
    assert np.all(np.isfinite(log_softmax(z)))


@pytest.mark.parametrize("labels, match", [
    (np.array([0, 3]), "lie in 0..2"), (np.array([0.5, 1.0]), "integer class"), (np.array([0]), r"shape \(2,\)"),
])
def test_cross_entropy_rejects_bad_labels(labels, match):
    with pytest.raises(ValueError, match=match):
        SoftmaxCrossEntropy().forward(np.zeros((2, 3)), labels)


# --------------------------------------------------------------------------------------------
# batch normalisation and skip connections

@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_against_torch_and_finite_differences(training, rng):
    N, D = 9, 4
    bn = BatchNorm(D)
    bn.params["gamma"][:] = rng.uniform(0.5, 2, D)
    bn.params["beta"][:] = rng.normal(size=D)
    bn.running_mean[:] = rng.normal(size=D)
    bn.running_var[:] = rng.uniform(0.5, 2, D)
    tb = nn.BatchNorm1d(D, dtype=torch.float64)
    with torch.no_grad():
        tb.weight.copy_(t64(bn.params["gamma"]))
        tb.bias.copy_(t64(bn.params["beta"]))
        tb.running_mean.copy_(t64(bn.running_mean))
        tb.running_var.copy_(t64(bn.running_var))
    bn.training = training
    tb.train(training)
    x = 2 + 3 * rng.normal(size=(N, D))
    dout = rng.normal(size=(N, D))
    out = bn.forward(x)
    dx = bn.backward(dout)
    xt = t64(x, grad=True)
    ot = tb(xt)
    ot.backward(t64(dout))
    assert rel_error(out, ot.detach().numpy()) < TORCH_TOL
    assert rel_error(dx, xt.grad.numpy()) < TORCH_TOL
    assert rel_error(bn.grads["gamma"], tb.weight.grad.numpy()) < TORCH_TOL
    assert rel_error(bn.grads["beta"], tb.bias.grad.numpy()) < TORCH_TOL
    assert rel_error(bn.running_mean, tb.running_mean.numpy()) < TORCH_TOL
    assert rel_error(bn.running_var, tb.running_var.numpy()) < TORCH_TOL

    def f(v):
        probe = BatchNorm(D)
        probe.params["gamma"][:] = bn.params["gamma"]
        probe.params["beta"][:] = bn.params["beta"]
        probe.running_mean[:], probe.running_var[:] = tb.running_mean.numpy(), tb.running_var.numpy()
        probe.training = training
        return probe.forward(v)
    assert rel_error(dx, numerical_vjp(f, x, dout)) < FD_TOL


def test_batchnorm_needs_two_samples_in_training():
    with pytest.raises(ValueError, match="at least 2 samples"):
        BatchNorm(3).forward(np.ones((1, 3)))


def test_residual_block_against_torch(rng):
    D = 5
    W, b = 0.5 * rng.normal(size=(D, D)), rng.normal(size=D)
    block = Residual([Linear(W, b), Tanh()])
    x, dout = rng.normal(size=(4, D)), rng.normal(size=(4, D))
    out = block.forward(x)
    dx = block.backward(dout)
    lin = torch_linear(W, b)
    xt = t64(x, grad=True)
    ot = xt + torch.tanh(lin(xt))
    ot.backward(t64(dout))
    assert rel_error(out, ot.detach().numpy()) < TORCH_TOL
    assert rel_error(dx, xt.grad.numpy()) < TORCH_TOL
    assert rel_error(block.layers[0].grads["W"], lin.weight.grad.numpy().T) < TORCH_TOL
    with pytest.raises(ValueError, match="same shape"):
        Residual([Linear(np.ones((5, 3)))]).forward(x)


# --------------------------------------------------------------------------------------------
# float32

@pytest.mark.parametrize("cls", [Sigmoid, Tanh, ReLU])
def test_float32_layers_stay_float32_and_match_float64(cls, rng):
    x = rng.normal(size=(16, 8))
    W = rng.normal(size=(8, 8))
    dout = rng.normal(size=(16, 8))
    results = {}
    for dt in (np.float32, np.float64):
        lin, act = Linear(W.astype(dt)), cls()
        out = act.forward(lin.forward(x.astype(dt)))
        dx = lin.backward(act.backward(dout.astype(dt)))
        assert out.dtype == dt and dx.dtype == dt and lin.grads["W"].dtype == dt
        results[dt] = (out, dx, lin.grads["W"].copy())
    for a, b in zip(results[np.float32], results[np.float64]):
        assert rel_error(a, b) < 1e-5
