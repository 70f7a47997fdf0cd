"""The whole network: MLPs of several depths, widths, activations, losses and options against the
same network in PyTorch with the same weights (loss and every gradient, relative error <= 1e-10 in
float64) and against centred finite differences over every parameter (<= 1e-7); course optimizers
training it step for step like torch.optim trains the twin; float32; names, dicts and the trace."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from course_lib.gradcheck import numerical_gradient, rel_error
from course_lib.nn import MLP, Linear, ReLU, Sequential, Sigmoid, init_weight
from course_lib.nn.torch_twin import to_torch, torch_grads, torch_loss, torch_params
from course_lib.optim import SGD, Adam, Momentum, RMSprop

TORCH_TOL = 1e-10
FD_TOL = 1e-7


def data(n, d, classes, loss, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = rng.integers(0, classes, size=n) if loss == "cross_entropy" else rng.normal(size=(n, classes))
    return X, y


def torch_loss_and_grads(net, X, y):
    model = to_torch(net)
    Xt = torch.tensor(X, requires_grad=True)
    loss = torch_loss(net)(model(Xt), torch.as_tensor(y))
    loss.backward()
    return loss.item(), torch_grads(model), Xt.grad.numpy()


CONFIGS = [
    dict(sizes=[4, 3, 2], activation="sigmoid", loss="mse"),                 # the lecture's 2-layer net
    dict(sizes=[6, 5, 4, 3], activation="tanh", loss="cross_entropy"),
    dict(sizes=[7, 16, 16, 16, 16, 5], activation="relu", loss="cross_entropy"),
    dict(sizes=[5, 8, 8, 8, 1], activation="sigmoid", loss="mse", bias=False),
    dict(sizes=[6, 8, 8, 8, 4], activation="relu", loss="cross_entropy", norm="batch"),
    dict(sizes=[6, 8, 8, 8, 8, 3], activation="tanh", loss="cross_entropy", residual=True),
    dict(sizes=[6, 8, 8, 8, 3], activation="relu", loss="mse", residual=True, norm="batch"),
]


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: "-".join(f"{v}" for v in c.values()))
def test_whole_network_against_torch_autograd(cfg):
    net = MLP(**cfg, seed=3, input_grad=True)
    X, y = data(11, cfg["sizes"][0], cfg["sizes"][-1], cfg["loss"])
    t_loss, t_grads, t_dX = torch_loss_and_grads(net, X, y)     # before: BatchNorm updates its stats
    loss, grads = net.loss_and_grads(X, y)
    assert abs(loss - t_loss) <= 1e-12 * abs(t_loss)
    assert set(grads) == set(t_grads)
    scale = max(np.abs(g).max() for g in t_grads.values())
    for key in grads:
        assert grads[key].shape == t_grads[key].shape
        if np.abs(t_grads[key]).max() < 1e-12 * scale:
            # a bias right before a batch norm: its gradient is exactly 0 (the mean is subtracted),
            # both sides hold only round-off; compare on the scale of the whole gradient
            assert np.abs(grads[key] - t_grads[key]).max() < 1e-12 * scale, key
        else:
            assert rel_error(grads[key], t_grads[key]) < TORCH_TOL, key
    assert rel_error(net.input_grad, t_dX) < TORCH_TOL


SMOOTH = [c for c in CONFIGS if c["activation"] != "relu"]   # ReLU nets: see the next test


@pytest.mark.parametrize("cfg", SMOOTH, ids=lambda c: "-".join(f"{v}" for v in c.values()))
def test_whole_network_against_finite_differences(cfg):
    net = MLP(**cfg, seed=4)
    X, y = data(6, cfg["sizes"][0], cfg["sizes"][-1], cfg["loss"], seed=1)
    _, grads = net.loss_and_grads(X, y)
    grads = {k: v.copy() for k, v in grads.items()}
    for key, w in net.params.items():       # numerical_gradient perturbs net.params[key] in place
        num = numerical_gradient(lambda _: net.loss(X, y), w)
        assert rel_error(grads[key], num) < FD_TOL, key


def test_relu_network_against_finite_differences_away_from_kinks():
    net = MLP([3, 6, 6, 2], activation="relu", loss="mse", seed=5)
    X, y = data(4, 3, 2, "mse", seed=2)
    net.forward(X)
    pre = np.concatenate([layer.output.ravel() for layer in net.linear_layers[:-1]])
    # a perturbation h ~ 6e-6 of one weight moves a pre-activation by h |x| < 1e-4: no kink crossed
    assert np.min(np.abs(pre)) > 1e-3
    _, grads = net.loss_and_grads(X, y)
    grads = {k: v.copy() for k, v in grads.items()}
    for key, w in net.params.items():
        num = numerical_gradient(lambda _: net.loss(X, y), w)
        assert rel_error(grads[key], num) < FD_TOL, key


def test_the_test_catches_a_wrong_backward():
    """A Linear layer that forgets the transpose in dx makes the torch comparison fail."""

    class WrongLinear(Linear):
        def backward(self, dout):
            super().backward(dout)
            return dout @ self.params["W"][: dout.shape[1], :]   # wrong: W instead of W.T (square W)

    rng = np.random.default_rng(0)
    layers = [Linear(rng.normal(size=(4, 4))), Sigmoid(), WrongLinear(rng.normal(size=(4, 4))), Sigmoid(),
              Linear(rng.normal(size=(4, 2)))]
    net = Sequential(layers, loss="mse")
    X, y = data(5, 4, 2, "mse")
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Sigmoid(), torch.nn.Linear(4, 4),
                                torch.nn.Sigmoid(), torch.nn.Linear(4, 2)).double()
    with torch.no_grad():
        for m, layer in zip([model[0], model[2], model[4]], [layers[0], layers[2], layers[4]]):
            m.weight.copy_(torch.tensor(layer.params["W"].T))
            m.bias.zero_()
    loss = torch_loss(net)(model(torch.tensor(X)), torch.tensor(y))
    loss.backward()
    _, grads = net.loss_and_grads(X, y)
    assert rel_error(grads["W1"], model[0].weight.grad.numpy().T) > 1e-3


def test_forward_is_the_composite_function():
    """X -> X W1 -> f(X W1) -> f(X W1) W2 -> y for the 2-layer net without biases."""
    net = MLP([3, 4, 1], activation="sigmoid", loss="mse", bias=False, seed=1)
    X = np.random.default_rng(1).normal(size=(5, 3))
    W1, W2 = net.params["W1"], net.params["W2"]
    expected = (1 / (1 + np.exp(-X @ W1))) @ W2
    np.testing.assert_allclose(net.forward(X), expected, rtol=1e-13)
    assert list(net.params) == ["W1", "W2"]


def test_parameter_names_layer_names_and_trace():
    net = MLP([4, 5, 5, 3], activation="tanh", norm="batch", seed=0)
    assert list(net.params) == ["W1", "b1", "gamma1", "beta1", "W2", "b2", "gamma2", "beta2", "W3", "b3"]
    assert [layer.name for layer in net.leaves()] == ["Linear 1", "BatchNorm 1", "Tanh 1", "Linear 2",
                                                       "BatchNorm 2", "Tanh 2", "Linear 3"]
    assert net.layer_of("gamma2").name == "BatchNorm 2" and net.depth == 3
    for key in net.params:
        assert net.grads[key].shape == net.params[key].shape
    net.record_trace = True
    net.loss_and_grads(*data(6, 4, 3, "cross_entropy"))
    phases = [(p, name) for p, name, _ in net.trace]
    forward = [name for p, name in phases if p == "forward"]
    backward = [name for p, name in phases if p == "backward"]
    assert backward == list(reversed(forward))          # reverse topological order of the chain
    assert net.trace[0] == ("forward", "Linear 1", ("x",))


def test_residual_layout():
    net = MLP([4, 6, 6, 6, 2], activation="relu", residual=True)
    names = [layer.name for layer in net.layers]
    assert names == ["Linear 1", "ReLU 1", "Residual 2", "Residual 3", "Linear 4"]


def test_grads_dict_keeps_its_identity_and_arrays():
    net = MLP([3, 4, 2], seed=0)
    X, y = data(5, 3, 2, "cross_entropy")
    g1 = net.loss_and_grads(X, y)[1]
    ids = {k: id(v) for k, v in g1.items()}
    g2 = net.loss_and_grads(X * 2, y)[1]
    assert g1 is g2 is net.grads and ids == {k: id(v) for k, v in g2.items()}


def _train_numpy(net, opt, X, y, steps):
    for _ in range(steps):
        _, grads = net.loss_and_grads(X, y)
        opt.step(net.params, grads)
    return net.copy_params()


@pytest.mark.parametrize("make_course, make_torch", [
    (lambda: SGD(lr=0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
    (lambda: Momentum(lr=0.05, momentum=0.9, form="pytorch"), lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9)),
    (lambda: RMSprop(lr=0.01), lambda p: torch.optim.RMSprop(p, lr=0.01)),
    (lambda: Adam(lr=0.01), lambda p: torch.optim.Adam(p, lr=0.01)),
], ids=["SGD", "Momentum", "RMSprop", "Adam"])
def test_course_optimizers_train_the_net_like_torch_optim_trains_its_twin(make_course, make_torch):
    net = MLP([5, 8, 8, 3], activation="tanh", seed=2)
    X, y = data(20, 5, 3, "cross_entropy", seed=3)
    model = to_torch(net)
    loss_fn = torch_loss(net)
    start = net.loss(X, y)
    ours = _train_numpy(net, make_course(), X, y, steps=15)
    opt = make_torch(model.parameters())
    for _ in range(15):
        opt.zero_grad()
        loss_fn(model(torch.tensor(X)), torch.tensor(y)).backward()
        opt.step()
    theirs = torch_params(model)
    for key in ours:
        assert rel_error(ours[key], theirs[key]) < 1e-9, key
    assert net.loss(X, y) < start


def test_float32_network_is_float32_and_close_to_float64():
    X, y = data(32, 10, 4, "cross_entropy")
    out = {}
    for dt in (np.float32, np.float64):
        net = MLP([10, 16, 16, 4], activation="relu", seed=7, dtype=dt)
        loss, grads = net.loss_and_grads(X, y)
        assert all(g.dtype == dt for g in grads.values()) and net.forward(X).dtype == dt
        out[dt] = (loss, {k: v.copy() for k, v in grads.items()})
    assert abs(out[np.float32][0] - out[np.float64][0]) < 1e-5
    for key, g in out[np.float64][1].items():
        assert rel_error(out[np.float32][1][key], g) < 1e-4
    # the float32 twin in torch agrees with the float32 net to float32 precision
    net = MLP([10, 16, 16, 4], activation="relu", seed=7, dtype=np.float32)
    model = to_torch(net)
    loss = torch_loss(net)(model(torch.tensor(X, dtype=torch.float32)), torch.tensor(y))
    loss.backward()
    _, grads = net.loss_and_grads(X, y)
    for key, g in torch_grads(model).items():
        assert rel_error(grads[key], g) < 1e-5


def test_init_schemes_give_their_std():
    rng = np.random.default_rng(0)
    for scheme, fan_in, fan_out, expected in [("he", 400, 100, np.sqrt(2 / 400)), ("xavier", 400, 100, np.sqrt(2 / 500)),
                                              ("lecun", 400, 100, np.sqrt(1 / 400))]:
        W = init_weight(fan_in, fan_out, scheme, rng=rng)
        assert W.shape == (fan_in, fan_out)
        assert abs(W.std() / expected - 1) < 0.02      # 40000 draws: std of the estimate ~0.4 %
    W = init_weight(50, 60, "normal", std=0.01, rng=rng, dtype=np.float32)
    assert W.dtype == np.float32 and abs(W.std() / 0.01 - 1) < 0.05


def test_set_and_copy_params():
    net = MLP([3, 4, 2], seed=0)
    saved = net.copy_params()
    net.params["W1"] += 1
    net.set_params(saved)
    np.testing.assert_array_equal(net.params["W1"], saved["W1"])
    with pytest.raises(ValueError, match="no parameter 'W9'"):
        net.set_params({"W9": np.zeros(2)})
    with pytest.raises(ValueError, match="must have shape"):
        net.set_params({"W1": np.zeros(2)})


@pytest.mark.parametrize("kwargs, match", [
    (dict(sizes=[3]), "at least 2"), (dict(sizes=[3, 0, 2]), "whole number"),
    (dict(sizes=[3, 2], activation="gelu"), "activation must be one of"),
    (dict(sizes=[3, 2], norm="layer"), "norm must be"), (dict(sizes=[3, 2], dtype=np.int32), "dtype"),
    (dict(sizes=[3, 2], init="normal"), "needs std"), (dict(sizes=[3, 2], init="glorot"), "scheme must be"),
])
def test_mlp_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MLP(**kwargs)


def test_backward_before_loss_is_a_clear_error():
    with pytest.raises(RuntimeError, match="call net.loss"):
        MLP([2, 2]).backward()
