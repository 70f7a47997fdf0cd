"""Losses for the NumPy network, each a ``forward`` returning the loss and a ``backward`` returning
dL/d(prediction). Both are *means over the batch*, so the gradient carries the factor 1/N.

* :class:`HalfMSE` ("1/2 MSE", the loss of the lecture's derivation)::

      L = 1/(2N) sum_i ||y_i - yhat_i||^2,        dL/dyhat = -(y - yhat) / N

  For one sample with one output this is L = 1/2 (y_true - y)^2, whose derivative -(y_true - y)
  is the factor shared by every weight's gradient (chapter 08). The 1/2 only cancels the 2 of the
  derivative; this course's plain MSE of chapters 00-02, 1/n ||y - Xw||^2, has no 1/2.
  PyTorch equivalent: ``0.5 * ((yhat - y) ** 2).sum() / N``.

* :class:`SoftmaxCrossEntropy` (classification with integer labels)::

      p_i = softmax(z_i),   L = -1/N sum_i log p_{i, y_i} = 1/N sum_i (logsumexp(z_i) - z_{i, y_i}),
      dL/dz = (p - onehot(y)) / N

  computed stably: logsumexp(z) = m + log sum exp(z - m) with m = max(z), so no exp ever
  overflows, even for logits of size 1000. PyTorch equivalent: ``F.cross_entropy(z, y)``.
"""
from __future__ import annotations

import numpy as np

from .layers import as_batch

__all__ = ["Loss", "HalfMSE", "SoftmaxCrossEntropy", "LOSSES", "loss_by_name", "log_softmax"]


def log_softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise log softmax of a (N, C) array, stable: z - max(z) - log(sum(exp(z - max(z))))."""
    shifted = z - np.max(z, axis=1, keepdims=True)
    shifted -= np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return shifted


class Loss:
    """Base class: ``forward(pred, target) -> float`` caches what ``backward() -> dL/dpred`` needs."""

    name = "loss"

    def __init__(self):
        self.cache: dict = {}

    def forward(self, pred, target) -> float:
        raise NotImplementedError

    def backward(self) -> np.ndarray:
        raise NotImplementedError

    __call__ = forward

    def _get(self, key):
        if key not in self.cache:
            raise RuntimeError(f"{self.name}: backward called before forward")
        return self.cache[key]

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class HalfMSE(Loss):
    """L = 1/(2N) sum_i ||y_i - yhat_i||^2 for predictions yhat (N, M) and targets y (N, M).

    A target of shape (N,) is accepted when M = 1. ``backward()`` returns (yhat - y) / N, shape (N, M).
    """

    name = "1/2 MSE"

    def forward(self, pred, target) -> float:
        pred = as_batch(pred, "pred")
        target = np.asarray(target, dtype=pred.dtype)
        if target.ndim == 1 and pred.shape[1] == 1:
            target = target[:, None]
        if target.shape != pred.shape:
            raise ValueError(f"target must have the shape of the predictions {pred.shape}, got shape "
                             f"{np.shape(target)}")
        residual = pred - target                 # yhat - y = -(y - yhat), the shared factor (times N)
        self.cache = {"residual": residual}
        return float(0.5 * np.vdot(residual, residual) / pred.shape[0])

    def backward(self) -> np.ndarray:
        residual = self._get("residual")
        return residual / residual.shape[0]


class SoftmaxCrossEntropy(Loss):
    """Mean cross-entropy of softmax(logits) (N, C) against integer labels (N,) in 0..C-1.

    ``backward()`` returns (softmax(logits) - onehot(labels)) / N, shape (N, C).
    """

    name = "softmax cross-entropy"

    def forward(self, logits, labels) -> float:
        z = as_batch(logits, "logits")
        labels = np.asarray(labels)
        if labels.shape != (z.shape[0],):
            raise ValueError(f"labels must have shape ({z.shape[0]},) (one class index per row of the "
                             f"logits), got shape {labels.shape}")
        if labels.dtype.kind not in "iu":
            if labels.dtype.kind == "f" and np.all(labels == np.round(labels)):
                labels = labels.astype(np.int64)
            else:
                raise ValueError(f"labels must be integer class indices, got dtype {labels.dtype}")
        if labels.size and (labels.min() < 0 or labels.max() >= z.shape[1]):
            raise ValueError(f"labels must lie in 0..{z.shape[1] - 1} (there are {z.shape[1]} classes), "
                             f"got values from {labels.min()} to {labels.max()}")
        logp = log_softmax(z)
        rows = np.arange(z.shape[0])
        self.cache = {"logp": logp, "labels": labels, "rows": rows}
        return float(-np.sum(logp[rows, labels]) / z.shape[0])

    def backward(self) -> np.ndarray:
        logp, labels, rows = self._get("logp"), self._get("labels"), self._get("rows")
        dz = np.exp(logp)                        # softmax probabilities p
        dz[rows, labels] -= 1
        dz /= logp.shape[0]
        return dz


LOSSES = {"mse": HalfMSE, "half_mse": HalfMSE, "cross_entropy": SoftmaxCrossEntropy}


def loss_by_name(loss) -> Loss:
    """A Loss instance from a name ("mse" = 1/2 MSE, "cross_entropy") or an instance (returned as is)."""
    if isinstance(loss, Loss):
        return loss
    key = str(loss).lower()
    if key not in LOSSES:
        raise ValueError(f"loss must be 'mse' (1/2 MSE) or 'cross_entropy', got {loss!r}")
    return LOSSES[key]()
