"""The vanishing-gradient explorer of chapter 09: depth, activation and initialisation controls redraw
the per-layer gradient norms ||dL/dW_k|| of a deep MLP and the spread of its activations.

    fig, profile = plot_gradient_norm_profile(30, "sigmoid", "xavier")   # the static twin
    VanishingGradientExplorer()                                           # the live version

The network is :func:`course_lib.nn.MLP` (width 64, biases 0, weights drawn from the chosen scheme
with a fixed seed) on a fixed batch of 64 random inputs x ~ N(0, 1) with 10 random class labels and
the softmax cross-entropy loss: one forward and one backward pass per setting, the numbers of
:func:`gradient_norm_profile`.
"""
from __future__ import annotations

import numbers

import numpy as np

from ._base import Explorer

__all__ = ["INITS", "gradient_norm_profile", "gradient_regime", "plot_gradient_norm_profile",
           "VanishingGradientExplorer"]

#: the initialisations the explorer offers: label -> (scheme, std) for course_lib.nn.init
INITS = {
    "N(0, 0.01^2)": ("normal", 0.01),
    "N(0, 1)": ("normal", 1.0),
    "LeCun sqrt(1/n)": ("lecun", None),
    "Xavier sqrt(2/(n_in+n_out))": ("xavier", None),
    "He sqrt(2/n)": ("he", None),
}
ACTIVATIONS = ("sigmoid", "tanh", "relu")


def _check(depth, activation, init):
    if isinstance(depth, bool) or not isinstance(depth, numbers.Integral) or not 2 <= depth <= 200:
        raise ValueError(f"depth (number of weight layers) must be a whole number from 2 to 200, got {depth!r}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(map(repr, ACTIVATIONS))}, got {activation!r}")
    if init not in INITS and init not in ("lecun", "xavier", "he"):
        raise ValueError(f"init must be one of {', '.join(map(repr, INITS))}, got {init!r}")
    return int(depth), INITS.get(init, (init, None))


def gradient_norm_profile(depth: int, activation: str, init: str, *, width: int = 64, batch: int = 64,
                          seed: int = 0) -> dict:
    """One forward and backward pass of a ``depth``-layer MLP; the per-layer numbers.

    Parameters: ``depth`` weight layers (2..200), ``activation`` "sigmoid" / "tanh" / "relu",
    ``init`` a label of :data:`INITS` (or "lecun", "xavier", "he"), ``width`` units per layer,
    ``batch`` samples, ``seed`` for the weights and the data.

    Returns a dict: ``grad_norms`` (depth,) ``||dL/dW_k||`` for k = 1..depth (NaN where the numbers
    overflowed), ``act_stds`` (depth - 1,) the std of each hidden layer's activations, ``ratio``
    ``||dL/dW_1|| / ||dL/dW_K||`` for K = depth (first layer over last), ``largest`` the largest
    norm, ``regime`` (:func:`gradient_regime`).
    """
    from ..nn import MLP

    depth, (scheme, std) = _check(depth, activation, init)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((batch, width))
    y = rng.integers(0, 10, size=batch)
    net = MLP([width] * depth + [10], activation=activation, init=scheme, std=std, seed=seed)
    with np.errstate(all="ignore"):
        net.loss_and_grads(X, y)
        norms = np.array([np.linalg.norm(net.grads[f"W{k}"]) for k in range(1, depth + 1)])
        stds = np.array([np.std(a) for a in net.activations().values()])
    norms = np.where(np.isfinite(norms), norms, np.nan)
    ratio = float(norms[0] / norms[-1]) if np.isfinite(norms[[0, -1]]).all() and norms[-1] > 0 else float("nan")
    largest = float(np.max(norms)) if np.isfinite(norms).all() else float("nan")
    return {"grad_norms": norms, "act_stds": stds, "ratio": ratio, "largest": largest,
            "regime": gradient_regime(ratio, largest)}


def gradient_regime(ratio: float, largest: float = 1.0) -> str:
    """Name what the gradient does through the layers.

    "overflow" if the numbers became NaN/inf; "vanishing" if the first layer's gradient is over 1000
    times smaller than the last layer's (``ratio < 1e-3``) or if even the largest gradient norm is
    below 1e-3; "exploding" if the ratio is over 1000, or if the largest gradient norm exceeds 1000.
    (A softmax cross-entropy on this batch has gradients of order 1 in a well-scaled network; a ReLU
    network with badly scaled weights shrinks or blows up all of its layers alike, so its ratio stays
    near 1 while every norm is tiny or huge.) Else "stable". The factor 1000 is a convention: about
    where one learning rate stops suiting both ends of the network.
    """
    if not (np.isfinite(ratio) and np.isfinite(largest)):
        return "overflow"
    if ratio < 1e-3 or largest < 1e-3:
        return "vanishing"
    if ratio > 1e3 or largest > 1e3:
        return "exploding"
    return "stable"


def _setup(fig):
    """The two panels, drawn once: gradient norms per layer (left), activation spread (right)."""
    from ..nn import plot_gradient_norms
    from ..plotting import curves, plain_log_ticks

    # fixed margins instead of the course's constrained layout: no layout pass at every redraw
    fig.set_layout_engine("none")
    ax_g, ax_a = fig.subplots(1, 2, gridspec_kw=dict(left=0.08, right=0.98, bottom=0.14, top=0.88, wspace=0.28))
    plot_gradient_norms({"setting": np.ones(2)}, ax=ax_g, title="Gradient per layer")
    curves({"setting": (np.arange(1.0, 3.0), np.ones(2))}, ax=ax_a, logy=True, markers=True,
           title="Spread of the activations", xlabel="hidden layer $k$", ylabel=r"std of $h_k$ over the batch")
    for ax in (ax_g, ax_a):
        # a few plain "1e-20" labels: drawing thirty decades of mathtext ticks was most of a redraw
        plain_log_ticks(ax, "y", numticks=7)
    return ax_g, ax_a


def _show(ax, x, y, label):
    line = ax.lines[0]
    y = np.asarray(y, dtype=float)
    keep = np.isfinite(y) & (y > 0)
    line.set_data(x[keep], y[keep])
    line.set_label(label)
    ax.get_legend().get_texts()[0].set_text(label)
    ax.set_xlim(0.5, max(float(x[-1]), 2.0) + 0.5)
    if keep.any():
        lo, hi = float(y[keep].min()), float(y[keep].max())
        # whole decades at both ends, so that at least two labelled ticks show
        ax.set_ylim(min(lo / 3, 10.0 ** np.floor(np.log10(lo))), max(hi * 3, 10.0 ** np.ceil(np.log10(hi))))


def _update(axes, depth, activation, init, profile):
    ax_g, ax_a = axes
    label = f"{activation}, {init}"
    norms, stds = profile["grad_norms"], profile["act_stds"]
    _show(ax_g, np.arange(1.0, norms.size + 1), norms, label)
    ax_g.set_title(f"Gradient per layer, depth {depth}: {profile['regime']}")
    _show(ax_a, np.arange(1.0, stds.size + 1), stds, label)
    overflow = not (np.isfinite(stds).all() and np.isfinite(norms).all())
    ax_a.set_title("Spread of the activations" + (" (some overflowed)" if overflow else ""))


def plot_gradient_norm_profile(depth: int = 30, activation: str = "sigmoid", init: str = "Xavier sqrt(2/(n_in+n_out))",
                               *, figsize=(11, 4.0), seed: int = 0):
    """Static figure of the explorer: ``(fig, profile)`` for one setting (see gradient_norm_profile)."""
    import matplotlib.pyplot as plt

    from ..plotting import course_style

    profile = gradient_norm_profile(depth, activation, init, seed=seed)
    with course_style():
        fig = plt.figure(figsize=figsize)
        _update(_setup(fig), int(depth), activation, init, profile)
    return fig, profile


def _readout(depth, activation, init, profile) -> str:
    if profile["regime"] == "overflow":
        return f"depth {depth}, {activation}, {init}: the numbers overflowed to inf/NaN"
    return (f"depth {depth}, {activation}, {init}: ||dL/dW_1|| / ||dL/dW_{depth}|| = {profile['ratio']:.1e}, "
            f"largest ||dL/dW_k|| = {profile['largest']:.1e} ({profile['regime']})")


class VanishingGradientExplorer(Explorer):
    """Depth slider, activation and initialisation menus; redraws :func:`plot_gradient_norm_profile`.

    Attributes (besides those of :class:`~course_lib.widgets._base.Explorer`): ``depth_slider``,
    ``activation_menu``, ``init_menu`` and ``profile`` (the numbers of the last redraw).
    """

    def __init__(self, *, depth: int = 30, activation: str = "sigmoid", init: str = "Xavier sqrt(2/(n_in+n_out))",
                 depth_range=(2, 50), figsize=(11, 4.0), dpi: int = 80):
        import ipywidgets as widgets

        _check(depth, activation, init)
        lo, hi = (int(v) for v in depth_range)
        if not 2 <= lo <= depth <= hi <= 200:
            raise ValueError(f"depth must lie inside depth_range = {depth_range} (from 2 to 200), got {depth}")
        if init not in INITS:
            raise ValueError(f"init must be one of {', '.join(map(repr, INITS))}, got {init!r}")
        self.depth_slider = widgets.IntSlider(value=depth, min=lo, max=hi, description="depth",
                                              continuous_update=False, layout=widgets.Layout(width="60%"))
        self.activation_menu = widgets.Dropdown(options=list(ACTIVATIONS), value=activation, description="activation")
        self.init_menu = widgets.Dropdown(options=list(INITS), value=init, description="init",
                                          layout=widgets.Layout(width="45%"))
        self.profile = None
        header = ("Each layer multiplies the gradient on its way back by W_k^T and by f'(z): "
                  "sigmoid' &lt;= 1/4, tanh' &lt;= 1, ReLU' is 0 or 1. Change the depth, the activation and "
                  "the initialisation and watch the first layers' gradient.")
        super().__init__({"depth": self.depth_slider, "activation": self.activation_menu, "init": self.init_menu},
                         header=header, figsize=figsize, dpi=dpi)

    def setup(self, fig) -> None:
        from ..plotting import course_style

        with course_style():
            self._axes = _setup(fig)

    def update(self, fig, *, depth, activation, init) -> str:
        self.profile = gradient_norm_profile(depth, activation, init)
        _update(self._axes, depth, activation, init, self.profile)
        return _readout(depth, activation, init, self.profile)
