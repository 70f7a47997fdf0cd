"""The vanishing-gradient explorer: its per-layer gradient norms are checked against the same
network in PyTorch (autograd on the same weights and batch), its regimes against the theory
(sigmoid' <= 1/4 shrinks the gradient by a fixed factor per layer), and its controls redraw."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from course_lib.nn import MLP
from course_lib.nn.torch_twin import to_torch, torch_grads, torch_loss
from course_lib.widgets import VanishingGradientExplorer, gradient_norm_profile, plot_gradient_norm_profile
from course_lib.widgets.vanishing import INITS, gradient_regime


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("activation, init", [("sigmoid", "Xavier sqrt(2/(n_in+n_out))"), ("relu", "He sqrt(2/n)"),
                                              ("tanh", "N(0, 0.01^2)")])
def test_profile_matches_torch_autograd(activation, init):
    depth, seed = 12, 3
    profile = gradient_norm_profile(depth, activation, init, seed=seed)
    scheme, std = INITS[init]
    rng = np.random.default_rng(seed)                      # the explorer's batch, drawn the same way
    X, y = rng.standard_normal((64, 64)), rng.integers(0, 10, size=64)
    net = MLP([64] * depth + [10], activation=activation, init=scheme, std=std, seed=seed)
    model = to_torch(net)
    torch_loss(net)(model(torch.tensor(X)), torch.tensor(y)).backward()
    expected = [np.linalg.norm(torch_grads(model)[f"W{k}"]) for k in range(1, depth + 1)]
    np.testing.assert_allclose(profile["grad_norms"], expected, rtol=1e-10)
    assert profile["ratio"] == pytest.approx(expected[0] / expected[-1], rel=1e-10)


def test_sigmoid_gradient_shrinks_at_least_fourfold_per_layer_on_average():
    # each layer multiplies the backward signal by W_k^T (norm ~ 1 for Xavier) and sigma' <= 1/4
    p = gradient_norm_profile(40, "sigmoid", "Xavier sqrt(2/(n_in+n_out))")
    per_layer = (p["grad_norms"][0] / p["grad_norms"][-1]) ** (1 / 39)
    assert per_layer < 0.3 and p["regime"] == "vanishing"
    assert gradient_norm_profile(40, "relu", "He sqrt(2/n)")["regime"] == "stable"


@pytest.mark.parametrize("ratio, largest, regime", [
    (1e-4, 1.0, "vanishing"), (1.0, 1e-4, "vanishing"), (1e4, 1.0, "exploding"), (1.0, 1e4, "exploding"),
    (0.5, 2.0, "stable"), (float("nan"), 1.0, "overflow"), (1.0, float("inf"), "overflow"),
])
def test_regimes(ratio, largest, regime):
    assert gradient_regime(ratio, largest) == regime


def test_overflow_is_reported_not_raised():
    p = gradient_norm_profile(50, "relu", "N(0, 1)")
    assert p["regime"] in ("overflow", "exploding")
    fig, p2 = plot_gradient_norm_profile(50, "relu", "N(0, 1)")
    assert p2["regime"] == p["regime"]


def test_static_twin_is_titled_and_labelled():
    fig, profile = plot_gradient_norm_profile(20, "tanh", "LeCun sqrt(1/n)")
    ax_g, ax_a = fig.axes
    assert ax_g.get_yscale() == "log" and "depth 20" in ax_g.get_title()
    assert "layer" in ax_g.get_xlabel() and "std" in ax_a.get_ylabel()
    assert len(ax_g.lines[0].get_xdata()) == 20
    assert ax_g.get_legend().get_texts()[0].get_text() == "tanh, LeCun sqrt(1/n)"


def test_explorer_redraws_on_every_control():
    e = VanishingGradientExplorer(depth=10)
    first = e.image.value
    assert e.profile["grad_norms"].shape == (10,) and "depth 10" in e.readout.value
    e.depth_slider.value = 25
    assert e.profile["grad_norms"].shape == (25,) and e.image.value != first
    e.activation_menu.value = "relu"
    assert "relu" in e.readout.value
    e.init_menu.value = "He sqrt(2/n)"
    assert "stable" in e.readout.value and e.redraw_seconds is not None
    assert "course-explorer" in e.widget._dom_classes


@pytest.mark.parametrize("kwargs, match", [
    (dict(depth=1), "depth"), (dict(depth=60), "depth_range"), (dict(activation="gelu"), "activation"),
    (dict(init="glorot"), "init"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        VanishingGradientExplorer(**kwargs)
