"""Per-layer diagnostics of a network, NumPy (:class:`~course_lib.nn.mlp.Sequential`) or PyTorch
(``torch.nn.Module``): the three numbers to watch when a deep network does not train.

* activations per layer (:func:`activation_values`, drawn by :func:`plot_activation_histograms`):
  saturated sigmoids sit at 0 and 1, a too-small initialisation squeezes everything to one value;
* gradient norms per layer (:func:`gradient_norms`), ``||dL/dW_k||`` for k = 1..K (K layers): vanishing
  gradients fall exponentially towards the first layer, exploding ones grow;
* the update-to-weight ratio per layer (:func:`update_ratios`), ``||w_after - w_before|| / ||w_before||``
  for one optimizer step: around 1e-3 is the usual healthy value (the CS231n course notes' rule of
  thumb); far below, that layer is not learning; near 1, the step rewrites the layer.

Names are the NumPy net's: ``W1 .. WK`` for the K weight matrices and "ReLU 3" for the activation
after the third linear layer, for both kinds of network (a PyTorch model is read in module order,
``nn.Linear`` layers counted from 1).
"""
from __future__ import annotations

import numpy as np

__all__ = ["activation_values", "activation_stds", "gradient_norms", "snapshot", "update_ratios",
           "plot_activation_histograms", "plot_gradient_norms"]


def _is_torch(obj) -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency of the course
        return False
    return isinstance(obj, torch.nn.Module)


def _torch_activations(model, X):
    import torch
    from torch import nn

    kinds = {nn.Sigmoid: "Sigmoid", nn.Tanh: "Tanh", nn.ReLU: "ReLU"}
    names = {}
    k = 0
    for m in model.modules():
        if isinstance(m, nn.Linear):
            k += 1
        elif type(m) in kinds:
            names[m] = f"{kinds[type(m)]} {k}"
    out: dict[str, np.ndarray] = {}
    hooks = [m.register_forward_hook(lambda mod, inp, res: out.__setitem__(names[mod], res.detach().cpu().numpy().copy()))
             for m in names]
    try:
        with torch.no_grad():
            param = next(model.parameters())
            model(torch.as_tensor(np.asarray(X), dtype=param.dtype))
    finally:
        for h in hooks:
            h.remove()
    return out


def activation_values(net, X) -> dict[str, np.ndarray]:
    """Run a forward pass on X and return the output of every activation layer, by layer name."""
    if _is_torch(net):
        return _torch_activations(net, X)
    net.forward(X)
    return net.activations()


def activation_stds(net, X) -> dict[str, float]:
    """The standard deviation of each activation layer's outputs over the batch and the units."""
    return {name: float(np.std(a)) for name, a in activation_values(net, X).items()}


def _torch_named(model, grads: bool):
    from .torch_twin import torch_param_names

    out = {}
    for key, p in torch_param_names(model).items():
        t = p.grad if grads else p
        if t is None:
            raise ValueError(f"{key} has no gradient yet: run loss.backward() first")
        a = t.detach().cpu().numpy()
        out[key] = a.T.copy() if key.startswith("W") else a.copy()
    return out


def gradient_norms(net, which: str = "W") -> dict[str, float]:
    """``||dL/dW_k||`` (Frobenius norm) for every parameter whose name starts with ``which``
    ("W": the weight matrices; "" for all parameters), from the last backward pass."""
    grads = _torch_named(net, grads=True) if _is_torch(net) else net.grads
    return {k: float(np.linalg.norm(g.astype(np.float64))) for k, g in grads.items() if k.startswith(which)}


def snapshot(net) -> dict[str, np.ndarray]:
    """A copy of every parameter (NumPy arrays in the NumPy net's layout), to compare after a step."""
    return _torch_named(net, grads=False) if _is_torch(net) else net.copy_params()


def update_ratios(before: dict, after, which: str = "W") -> dict[str, float]:
    """``||after_k - before_k|| / ||before_k||`` per parameter (names starting with ``which``).

    ``before`` is a :func:`snapshot`; ``after`` another snapshot or the network itself."""
    if not isinstance(after, dict):
        after = snapshot(after)
    out = {}
    for k, w0 in before.items():
        if not k.startswith(which):
            continue
        w0 = np.asarray(w0, dtype=np.float64)
        w1 = np.asarray(after[k], dtype=np.float64)
        denom = np.linalg.norm(w0)
        out[k] = float(np.linalg.norm(w1 - w0) / denom) if denom > 0 else float("inf")
    return out


def plot_activation_histograms(settings: dict, *, bins: int = 30, value_range=(0.0, 1.0), title: str,
                               xlabel: str = "activation value", fig=None):
    """Histograms of the activations per layer, one row per setting (Deep Learning from Scratch,
    ch. 6, draws the same picture): in each row the layers' histograms stand side by side, layer 1
    on the left, each over the same value range (marked under it).

    ``settings`` maps a row label (e.g. "std = 1") to ``{layer name: activations}``. ``value_range``
    is one (low, high) for every row or a dict row label -> (low, high); values outside are counted
    in the first or last bin. Bars give the fraction of the values per bin; the std of each layer's
    values is written above it. Returns the Figure.
    """
    import matplotlib.pyplot as plt

    from ..plotting import course_style

    rows = list(settings.items())
    ranges = value_range if isinstance(value_range, dict) else {label: value_range for label, _ in rows}
    gap = 0.12                                       # between the histograms of two layers
    with course_style():
        if fig is None:
            fig = plt.figure(figsize=(11, 1.45 * len(rows) + 0.9), layout="constrained")
        axes = fig.subplots(len(rows), 1, squeeze=False)[:, 0]
        for r, ((label, acts), ax) in enumerate(zip(rows, axes)):
            lo, hi = ranges[label]
            edges = np.linspace(lo, hi, bins + 1)
            names = list(acts)
            top = 0.0
            for c, a in enumerate(acts.values()):
                values = np.asarray(a, dtype=np.float64).ravel()
                counts, _ = np.histogram(np.clip(values, lo, hi), bins=edges)
                frac = counts / max(values.size, 1)
                x = c + gap / 2 + (edges - lo) / (hi - lo) * (1 - gap)
                ax.stairs(frac, x, fill=True, color=f"C{r}", alpha=0.85)
                top = max(top, float(frac.max()))
                ax.text(c + 0.5, 1.0, f"std {values.std():.2g}", transform=ax.get_xaxis_transform(),
                        ha="center", va="bottom", fontsize=8)
            ax.set_xlim(0, len(names))
            ax.set_ylim(0, 1.12 * top if top > 0 else 1)
            ax.set_xticks([c + 0.5 for c in range(len(names))], labels=names if r == len(rows) - 1 else [])
            ax.set_xticks([c + gap / 2 + e for c in range(len(names)) for e in (0, 1 - gap)], minor=True,
                          labels=[f"{v:g}" for _ in names for v in (lo, hi)])
            ax.tick_params(axis="x", which="minor", labelsize=7, length=3)
            ax.tick_params(axis="x", which="major", length=0, pad=12)
            ax.grid(False)
            ax.set_ylabel(f"{label}\nfraction", fontsize=9)
        axes[-1].set_xlabel(f"{xlabel} (each layer's histogram over the range marked under it)", fontsize=9)
        fig.suptitle(title, fontsize=12)
    return fig


def plot_gradient_norms(norms: dict, *, title: str, ax=None, ylabel: str = r"$\|\partial L / \partial W_k\|$",
                        references=None):
    """Per-layer gradient norms against the layer index k = 1..K on a log axis, one curve per setting.

    ``norms`` maps a label to a dict {"W1": value, ...} (as :func:`gradient_norms` returns) or to a
    1-D array ordered by layer. Drawn with :func:`course_lib.plotting.curves`; returns the Axes."""
    from ..plotting import curves

    data = {}
    for label, v in norms.items():
        y = np.array(list(v.values()) if isinstance(v, dict) else v, dtype=np.float64)
        data[label] = (np.arange(1, y.size + 1, dtype=np.float64), y)
    return curves(data, title=title, xlabel="layer $k$ (1 = next to the input)", ylabel=ylabel,
                  logy=True, ax=ax, markers=True, references=references)
