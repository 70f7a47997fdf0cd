"""Batch normalisation (Ioffe and Szegedy 2015) for the NumPy network: a fix of chapter 09.

Training mode (``layer.training = True``, the default), for x of shape (N, D), per feature j::

    mu_j = mean_i x_ij,   var_j = mean_i (x_ij - mu_j)^2        (batch statistics, biased variance)
    xhat = (x - mu) / sqrt(var + eps),   out = gamma * xhat + beta

and the running averages used at evaluation time are updated as in PyTorch:
``running_mean = (1 - momentum) running_mean + momentum mu`` and the same for ``running_var`` with
the *unbiased* batch variance var * N / (N - 1).

Backward (training mode; every row of the batch influences mu and var, so dx has three terms)::

    dxhat = dout * gamma
    dx = (N dxhat - sum_i dxhat - xhat sum_i (dxhat xhat)) / (N sqrt(var + eps))
    dgamma = sum_i dout * xhat,   dbeta = sum_i dout

Evaluation mode (``training = False``) uses the running statistics: an affine map per feature, whose
backward is ``dx = dout * gamma / sqrt(running_var + eps)``.

Why it helps a deep network: whatever the scale of the weights before it, the layer's output has
mean beta and std gamma per feature, so activations can neither vanish nor explode with depth, and
the gradient through it is divided by the same std that the forward pass divided by.
"""
from __future__ import annotations

import numpy as np

from .layers import Layer, as_batch, check_dtype

__all__ = ["BatchNorm"]


class BatchNorm(Layer):
    """Batch normalisation over the batch axis of (N, D) inputs; parameters gamma (D,), beta (D,).

    Parameters: ``dim`` D; ``eps`` 1e-5 and ``momentum`` 0.1 (PyTorch's defaults for
    ``nn.BatchNorm1d``); ``dtype`` of the parameters. Attribute ``training`` selects the mode.
    """

    kind = "norm"

    def __init__(self, dim: int, *, eps: float = 1e-5, momentum: float = 0.1, dtype=np.float64):
        super().__init__()
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
            raise ValueError(f"dim (number of features) must be a whole number >= 1, got {dim!r}")
        if not eps > 0:
            raise ValueError(f"eps must be positive, got {eps!r}")
        if not 0 <= momentum <= 1:
            raise ValueError(f"momentum (of the running averages) must be in [0, 1], got {momentum!r}")
        dt = check_dtype(dtype)
        self.eps, self.momentum = float(eps), float(momentum)
        self.params = {"gamma": np.ones(dim, dtype=dt), "beta": np.zeros(dim, dtype=dt)}
        self.grads = {"gamma": np.zeros(dim, dtype=dt), "beta": np.zeros(dim, dtype=dt)}
        self.running_mean = np.zeros(dim, dtype=dt)
        self.running_var = np.ones(dim, dtype=dt)
        self.training = True

    def forward(self, x):
        gamma, beta = self.params["gamma"], self.params["beta"]
        x = as_batch(x, "x", gamma.dtype)
        if x.shape[1] != gamma.shape[0]:
            raise ValueError(f"{self.name}: x has {x.shape[1]} features, the layer normalises {gamma.shape[0]}")
        if self.training:
            n = x.shape[0]
            if n < 2:
                raise ValueError(f"{self.name}: batch normalisation in training mode needs a batch of at "
                                 f"least 2 samples, got {n}")
            mu = x.mean(axis=0)
            xc = x - mu
            var = np.mean(np.square(xc), axis=0)
            inv_std = 1.0 / np.sqrt(var + self.eps)
            m = self.momentum
            self.running_mean *= 1 - m
            self.running_mean += m * mu
            self.running_var *= 1 - m
            self.running_var += (m * n / (n - 1)) * var
        else:
            inv_std = 1.0 / np.sqrt(self.running_var + self.eps)
            xc = x - self.running_mean
        xhat = xc * inv_std
        self.cache = {"xhat": xhat, "inv_std": inv_std, "training": self.training}
        return xhat * gamma + beta

    def backward(self, dout):
        xhat = self._cached("xhat", dout)
        inv_std = self.cache["inv_std"]
        gamma = self.params["gamma"]
        dout = np.asarray(dout, dtype=gamma.dtype)
        np.sum(dout * xhat, axis=0, out=self.grads["gamma"])
        np.sum(dout, axis=0, out=self.grads["beta"])
        dxhat = dout * gamma
        if not self.cache["training"]:
            return dxhat * inv_std
        n = dout.shape[0]
        dx = n * dxhat
        dx -= dxhat.sum(axis=0)
        dx -= xhat * np.sum(dxhat * xhat, axis=0)
        dx *= inv_std / n
        return dx
