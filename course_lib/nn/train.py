"""One training loop for the NumPy network with any course optimizer, clipping and the detector.

    result = train(net, Adam(lr=1e-3), X, y, steps=200)
    result.final_loss, result.losses, result.message

Each step t = 1..steps: forward + loss, backward, the non-finite check (activations, loss,
gradients), optional clipping (by value, then by norm), ``opt.step(net.params, grads)``, the check
of the updated weights. With ``batch_size=None`` every step uses all of X (full-batch gradient
descent, deterministic); otherwise mini-batches from a seeded shuffle, a new one every epoch.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..optim.base import DivergenceError
from .clip import clip_grad_norm_, clip_grad_value_
from .diagnostics import gradient_norms
from .nonfinite import NonFiniteDetector, NonFiniteError

__all__ = ["TrainResult", "train"]


@dataclass
class TrainResult:
    """What :func:`train` returns.

    losses : (T,) the training loss of each step's batch, before that step's update.
    final_loss : the loss on all of (X, y) after the last step (evaluation mode), NaN if stopped.
    steps : the number of updates made.
    error : the NonFiniteError that stopped the run, or None.
    grad_norms : {"W1": (T,), ...} the per-layer gradient norms of every step (before clipping),
        when ``record_grad_norms=True``.
    """

    losses: np.ndarray
    final_loss: float
    steps: int
    error: NonFiniteError | None = None
    grad_norms: dict = field(default_factory=dict)

    @property
    def stopped(self) -> bool:
        return self.error is not None

    @property
    def message(self) -> str:
        if self.error is not None:
            return f"stopped: {self.error}"
        return f"{self.steps} steps, final loss {self.final_loss:.4g}"


def _batches(n, batch_size, rng):
    while True:
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            yield order[start:start + batch_size]


def train(net, opt, X, y, *, steps: int, batch_size: int | None = None, clip_value: float | None = None,
          clip_norm: float | None = None, detect: bool = True, raise_on_nonfinite: bool = False,
          record_grad_norms: bool = False, callback=None, seed: int = 0) -> TrainResult:
    """Train ``net`` on (X, y) for ``steps`` updates of ``opt`` (a course optimizer).

    clip_value / clip_norm : clip the gradients by value and/or by total norm before each update.
    detect : check every step for NaN/inf (``NonFiniteDetector``); a non-finite quantity stops the
        run, which then carries the error (or raises it with ``raise_on_nonfinite=True``).
    callback : ``callback(step, net)`` after every update (e.g. to record weight norms); returning
        True stops the run.
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a whole number >= 1, got {steps!r}")
    n = len(X)
    batches = None if batch_size is None else _batches(n, int(batch_size), np.random.default_rng(seed))
    detector = NonFiniteDetector(net) if detect else None
    losses, norms = [], {k: [] for k in net.grads if k.startswith("W")} if record_grad_norms else {}
    error, updates = None, 0
    net.train()
    with np.errstate(over="ignore", invalid="ignore", divide="ignore") if detect else np.errstate():
        for step in range(1, steps + 1):
            idx = next(batches) if batches is not None else slice(None)
            loss, grads = net.loss_and_grads(X[idx], y[idx])
            losses.append(loss)
            try:
                if detector is not None:
                    detector.check_step(step, loss)
                if record_grad_norms:
                    for k, v in gradient_norms(net).items():
                        norms[k].append(v)
                if clip_value is not None:
                    clip_grad_value_(grads, clip_value)
                if clip_norm is not None:
                    clip_grad_norm_(grads, clip_norm)
                try:
                    opt.step(net.params, grads)
                except DivergenceError:
                    if detector is None:
                        raise
                    updates += 1                   # the optimizer updated, then found the NaN/inf
                    detector.check_weights(step)   # names the layer; re-raise if it finds nothing
                    raise
                updates += 1
                if detector is not None:
                    detector.check_weights(step)
                if callback is not None and callback(step, net):
                    break
            except NonFiniteError as exc:
                if raise_on_nonfinite:
                    raise
                error = exc
                break
    final = float("nan")
    if error is None:
        net.eval()
        final = net.loss(X, y)
        net.train()
    return TrainResult(np.array(losses), final, updates, error, {k: np.array(v) for k, v in norms.items()})
