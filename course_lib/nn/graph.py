"""The computational graph of a :class:`~course_lib.nn.mlp.Sequential` network, drawn from what the
network actually did: the forward pass left to right (each node with the cache it keeps), the
backward pass right to left in the reverse order (each edge with the gradient it carries), and the
parameters hanging off the nodes that use them.

    net.record_trace = True
    net.loss_and_grads(X, y)          # fills net.trace: ("forward"/"backward", layer name, keys)
    plot_computational_graph(net)     # numbers every call in the order of net.trace
"""
from __future__ import annotations

__all__ = ["plot_computational_graph"]


def _box(ax, x, y, text, *, w, h, face, edge="0.2", fontsize=9):
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02,rounding_size=0.08",
                                facecolor=face, edgecolor=edge, linewidth=1.2))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)


def _arrow(ax, start, end, *, color, ls="-", lw=1.6):
    ax.annotate("", xy=end, xytext=start,
                arrowprops=dict(arrowstyle="-|>", color=color, lw=lw, ls=ls, shrinkA=0, shrinkB=0))


def plot_computational_graph(net, *, ax=None, title: str = "Computational graph: forward pass (black), "
                             "backward pass (red, reverse order)", node_labels=None, value_labels=None,
                             grad_labels=None):
    """Draw the chain of layers of ``net`` (after a traced ``loss_and_grads``) and return the Axes.

    node_labels : one text per layer and one for the loss (default: the layer names and their cache
        keys); value_labels : the quantity on each forward edge, input first (default "X", "h1", ...,
        the prediction last); grad_labels : the gradient on each backward edge, from the loss down.
    """
    import matplotlib.pyplot as plt

    from ..plotting import course_style

    if not net.trace:
        raise ValueError("net.trace is empty: set net.record_trace = True and run net.loss_and_grads(X, y) first")
    layers = list(net.layers)
    n = len(layers) + 1                                   # the layers and the loss
    forward = [name for phase, name, _ in net.trace if phase == "forward"]
    backward = [name for phase, name, _ in net.trace if phase == "backward"]
    order = {("f", name): i + 1 for i, name in enumerate(forward)}
    order.update({("b", name): len(forward) + i + 1 for i, name in enumerate(backward)})
    caches = {name: keys for phase, name, keys in net.trace if phase == "forward"}
    names = [layer.name for layer in layers] + [f"loss ({net.loss_fn.name})"]
    if node_labels is None:
        node_labels = [f"{nm}\ncache: {', '.join(caches.get(nm, ())) or '-'}" for nm in names]
    if value_labels is None:
        value_labels = ["X"] + [f"out {k}" for k in range(1, n)]
    if grad_labels is None:
        grad_labels = [f"dL/d({v})" for v in reversed(value_labels[1:])]
    if len(node_labels) != n or len(value_labels) != n or len(grad_labels) != n - 1:
        raise ValueError(f"need {n} node labels, {n} value labels and {n - 1} gradient labels")

    with course_style():
        if ax is None:
            _, ax = plt.subplots(figsize=(2.5 * (n + 1), 3.4), layout="constrained")
        step, w, h = 2.8, 1.6, 0.75
        xs = [step * (i + 1) for i in range(n)]
        for i, (x, label) in enumerate(zip(xs, node_labels)):
            is_loss = i == n - 1
            _box(ax, x, 0, label, w=w, h=h, face="#FCE8D5" if is_loss else "#DCEBF7")
            x0 = 0.3 if i == 0 else xs[i - 1] + w / 2
            _arrow(ax, (x0, 0.12), (x - w / 2, 0.12), color="0.1")
            ax.text((x0 + x - w / 2) / 2, 0.3, value_labels[i], ha="center", fontsize=9)
            key = names[i] if not is_loss else f"loss ({net.loss_fn.name})"
            if ("f", key) in order:
                ax.text(x - w / 2 + 0.12, h / 2 + 0.1, f"{order[('f', key)]}", color="0.1", fontsize=9,
                        fontweight="bold")
            if ("b", key) in order:
                ax.text(x + w / 2 - 0.12, -h / 2 - 0.25, f"{order[('b', key)]}", color="C1", fontsize=9,
                        fontweight="bold", ha="right")
            if not is_loss:
                suffix = names[i].split()[-1]               # "Linear 2" owns W2, b2
                params = [f"{local}{suffix}" for local in layers[i].params]
                if params:
                    _box(ax, x, 1.25, ", ".join(params), w=0.9, h=0.42, face="#E8F4E0", fontsize=9)
                    _arrow(ax, (x - 0.15, 1.04), (x - 0.15, h / 2), color="0.3", lw=1.0)
                    _arrow(ax, (x + 0.15, h / 2), (x + 0.15, 1.04), color="C1", ls="--", lw=1.0)
                    ax.text(x + 0.25, 0.72, ", ".join(f"dL/d{p}" for p in params), color="C1", fontsize=8,
                            va="center")
            if i > 0:
                _arrow(ax, (x - w / 2, -0.14), (xs[i - 1] + w / 2, -0.14), color="C1", ls="--")
                ax.text((xs[i - 1] + w / 2 + x - w / 2) / 2, -0.45, grad_labels[n - 1 - i], ha="center",
                        fontsize=9, color="C1")
        ax.set_xlim(0, xs[-1] + w / 2 + 0.3)
        ax.set_ylim(-0.8, 1.6)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_title(title)
    return ax
