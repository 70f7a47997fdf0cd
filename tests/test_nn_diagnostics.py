"""Per-layer diagnostics give the same numbers for the NumPy network and for its PyTorch twin
(activations by forward hooks, gradient norms from .grad, update ratios from snapshots), and the
numbers are the ones computed here by hand; the figures carry titles and labels."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from course_lib.nn import (MLP, activation_stds, activation_values, gradient_norms, plot_activation_histograms,
                           plot_gradient_norms, snapshot, update_ratios)
from course_lib.nn.torch_twin import to_torch, torch_loss
from course_lib.optim import SGD


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _net_and_data():
    net = MLP([6, 9, 9, 9, 3], activation="tanh", seed=0)
    rng = np.random.default_rng(0)
    return net, rng.normal(size=(12, 6)), rng.integers(0, 3, size=12)


def test_activations_numpy_and_torch_agree():
    net, X, _ = _net_and_data()
    ours = activation_values(net, X)
    theirs = activation_values(to_torch(net), X)
    assert list(ours) == list(theirs) == ["Tanh 1", "Tanh 2", "Tanh 3"]
    h = X
    for k, name in enumerate(ours, start=1):       # by hand: h_k = tanh(h_{k-1} W_k + b_k)
        h = np.tanh(h @ net.params[f"W{k}"] + net.params[f"b{k}"])
        np.testing.assert_allclose(ours[name], h, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(theirs[name], h, rtol=1e-12, atol=1e-15)
    stds = activation_stds(net, X)
    assert stds["Tanh 3"] == pytest.approx(float(h.std()), rel=1e-12)


def test_gradient_norms_numpy_and_torch_agree():
    net, X, y = _net_and_data()
    model = to_torch(net)
    net.loss_and_grads(X, y)
    torch_loss(net)(model(torch.tensor(X)), torch.tensor(y)).backward()
    ours, theirs = gradient_norms(net), gradient_norms(model)
    assert list(ours) == ["W1", "W2", "W3", "W4"] == list(theirs)
    for k in ours:
        assert ours[k] == pytest.approx(np.linalg.norm(net.grads[k]), rel=1e-14)
        assert abs(ours[k] - theirs[k]) <= 1e-12 * ours[k]
    assert set(gradient_norms(net, which="")) == set(net.params)


def test_update_ratios_numpy_and_torch_agree():
    net, X, y = _net_and_data()
    model = to_torch(net)
    before_np, before_t = snapshot(net), snapshot(model)
    for k in before_np:
        np.testing.assert_allclose(before_np[k], before_t[k], rtol=1e-15)
    _, grads = net.loss_and_grads(X, y)
    SGD(lr=0.1).step(net.params, grads)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    torch_loss(net)(model(torch.tensor(X)), torch.tensor(y)).backward()
    opt.step()
    ours, theirs = update_ratios(before_np, net), update_ratios(before_t, model)
    for k, v in ours.items():
        expected = 0.1 * np.linalg.norm(net.grads[k]) / np.linalg.norm(before_np[k])
        assert v == pytest.approx(expected, rel=1e-10)
        assert theirs[k] == pytest.approx(v, rel=1e-10)


def test_plots_have_titles_and_labels():
    net, X, _ = _net_and_data()
    fig = plot_activation_histograms({"tanh": activation_values(net, X), "again": activation_values(net, X)},
                                     value_range=(-1, 1), title="activations")
    axes = fig.axes
    assert len(axes) == 2 and fig._suptitle.get_text() == "activations"        # one row per setting
    assert [t.get_text() for t in axes[1].get_xticklabels()] == ["Tanh 1", "Tanh 2", "Tanh 3"]
    assert "fraction" in axes[0].get_ylabel() and "activation value" in axes[1].get_xlabel()
    assert len(axes[0].patches) == 3                                            # a histogram per layer
    ax = plot_gradient_norms({"tanh": {"W1": 1e-3, "W2": 1e-2}}, title="norms")
    assert ax.get_yscale() == "log" and ax.get_title() == "norms" and "layer" in ax.get_xlabel()
