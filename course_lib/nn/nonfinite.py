"""A non-finite detector for training loops: stop at the first NaN or inf, and say where it came from.

An exploding network does not fail with an error: its numbers overflow to inf, inf - inf gives NaN,
and from then on every weight is NaN while the loop keeps running. The detector checks, in the order
in which a training step computes them,

    1. the activations, layer by layer in forward order (the output of every layer),
    2. the loss,
    3. the gradients, layer by layer in backward order (last layer first),
    4. the weights after the update, layer by layer,

and raises :class:`NonFiniteError` at the first quantity that is not finite. The error is a contract
of attributes (``step``, ``layer``, ``quantity`` in {"activation", "loss", "gradient", "weight"},
``key``, ``n_bad``, ``size``, ``kind``), with a plain message such as::

    step 3: the activation of layer 'ReLU 4' is not finite (4096 of 4096 entries are inf): the first
    NaN/inf of this step. The signal grew through the layers until it overflowed: ...

Use (``course_lib.nn.train.train`` does all of this)::

    detector = NonFiniteDetector(net)
    for step in range(1, steps + 1):
        loss, grads = net.loss_and_grads(X, y)
        detector.check_step(step, loss)          # activations, loss, gradients
        opt.step(net.params, grads)
        detector.check_weights(step)             # the updated weights
"""
from __future__ import annotations

import math

import numpy as np

from ..optim.base import DivergenceError

__all__ = ["NonFiniteError", "NonFiniteDetector"]

HINTS = {
    "activation": "the signal grew through the layers until it overflowed: the weights are too "
                  "large (check the initialisation) or an earlier update made them so (try a smaller "
                  "learning rate or gradient clipping)",
    "loss": "the predictions are so far from the targets that the loss overflowed: try a smaller "
            "learning rate or gradient clipping",
    "gradient": "the gradient exploded on its way back through the layers: clip it (by norm), use a "
                "smaller learning rate, or rescale the weights (initialisation, normalisation)",
    "weight": "an update was so large that a weight overflowed: try a smaller learning rate, an "
              "adaptive optimizer or gradient clipping",
}


class NonFiniteError(DivergenceError):
    """The first NaN/inf of a training step; attributes say where (a DivergenceError subclass)."""

    def __init__(self, step, layer, quantity, key, n_bad, size, kind):
        n_bad, size = int(n_bad), int(size)
        where = "the loss" if quantity == "loss" else f"the {quantity} of layer {layer!r}"
        if quantity in ("gradient", "weight"):
            where += f" ({'dL/d' if quantity == 'gradient' else ''}{key})"
        count = "" if quantity == "loss" else f" ({n_bad} of {size} entries are {kind})"
        value = f" (it is {kind})" if quantity == "loss" else ""
        super().__init__(f"step {step}: {where} is not finite{value}{count}: the first NaN/inf of "
                         f"this step. Cause: {HINTS[quantity]}.")
        # set after the base class, which has attributes of the same names (step, key, quantity)
        self.step, self.layer, self.quantity, self.key = step, layer, quantity, key
        self.n_bad, self.size, self.kind = n_bad, size, kind
        self.value = float("nan") if "NaN" in kind else float("inf")


def _kind(a: np.ndarray) -> str:
    has_nan = bool(np.isnan(a).any())
    has_inf = bool(np.isinf(a).any())
    return "NaN and inf" if has_nan and has_inf else ("NaN" if has_nan else "inf")


class NonFiniteDetector:
    """Checks a :class:`~course_lib.nn.mlp.Sequential` network after each training step.

    ``check_step(step, loss)`` looks at the activations of the last forward pass, the loss and the
    gradients; ``check_weights(step)`` at the parameters. Both raise :class:`NonFiniteError`.
    ``checked_steps`` counts the steps that passed.
    """

    def __init__(self, net):
        self.net = net
        self.checked_steps = 0

    def _raise_if_bad(self, step, layer, quantity, key, a):
        a = np.asarray(a)
        if np.isfinite(np.add.reduce(a, axis=None)):    # one pass, no temporary: NaN/inf propagate
            return
        finite = np.isfinite(a)                         # (a finite sum can still overflow: look closer)
        if not finite.all():
            raise NonFiniteError(step, layer, quantity, key, a.size - int(finite.sum()), a.size, _kind(a))

    def check_step(self, step: int, loss: float | None = None) -> None:
        net = self.net
        with np.errstate(over="ignore", invalid="ignore"):     # the quick sums may overflow
            for name, out in net.outputs():
                self._raise_if_bad(step, name, "activation", name, out)
            if loss is not None and not math.isfinite(loss):
                raise NonFiniteError(step, "loss", "loss", "loss", 1, 1, "NaN" if math.isnan(loss) else "inf")
            for key in reversed(list(net.grads)):
                self._raise_if_bad(step, net.layer_of(key).name, "gradient", key, net.grads[key])
        self.checked_steps += 1

    def check_weights(self, step: int) -> None:
        net = self.net
        with np.errstate(over="ignore", invalid="ignore"):
            for key, w in net.params.items():
                self._raise_if_bad(step, net.layer_of(key).name, "weight", key, w)
