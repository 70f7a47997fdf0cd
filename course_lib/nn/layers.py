"""The layers of a NumPy network: each one a ``forward`` with its ``backward`` right under it.

Every layer follows one shape (as in micrograd and cs231n: the backward pass sits next to the forward
pass it inverts)::

    out = layer.forward(x)       # computes the output and stores in layer.cache what backward needs
    dx = layer.backward(dout)    # dout = dL/d(out), same shape as out  ->  dx = dL/dx, shape of x;
                                 # fills layer.grads (dL/dW, dL/db) for layers with parameters

Shapes: a batch is a 2-D array ``x`` of shape (N, D), one sample per row (N the batch size).

* ``layer.cache`` is a plain dict, the *explicit* memory of the forward pass: ``{"x": x}`` for
  :class:`Linear` (dW needs the input), ``{"out": out}`` for :class:`Sigmoid` and :class:`Tanh`
  (their derivatives are functions of the output), ``{"out": out}`` for :class:`ReLU` (the mask
  out > 0). The cache holds references, not copies: do not change ``x`` in place between
  ``forward`` and ``backward``.
* ``layer.params`` and ``layer.grads`` are dicts with local names (``"W"``, ``"b"``); a network
  (:class:`course_lib.nn.mlp.Sequential`) exposes them under global names (``"W1"``, ``"b1"``, ...)
  as the dicts every course optimizer takes. ``backward`` *overwrites* the gradient arrays in place
  (their identity never changes, so a dict handed to an optimizer stays valid).
* dtype: a layer computes in the dtype of its parameters (float32 or float64); activations compute
  in the dtype of their input.

Conventions match PyTorch's, so the tests can compare with it on the same weights: ``Linear`` stores
``W`` as (D, M) and computes ``x @ W + b`` (torch's ``nn.Linear.weight`` is ``W.T``); ``ReLU``'s
derivative at 0 is 0.
"""
from __future__ import annotations

import numpy as np
from scipy.special import expit

__all__ = ["Layer", "Linear", "Sigmoid", "Tanh", "ReLU", "ACTIVATIONS", "activation"]

DTYPES = (np.float32, np.float64)


def check_dtype(dtype) -> np.dtype:
    """np.float32 or np.float64 (the two dtypes the network supports), else a clear ValueError."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.type not in DTYPES:
        raise ValueError(f"dtype must be np.float32 or np.float64, got {dtype!r}")
    return dt


def as_batch(x, name: str, dtype=None) -> np.ndarray:
    """x as a 2-D float array (N, D) (no copy when it already is one of the right dtype)."""
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiu":
        raise ValueError(f"{name} must be an array of numbers, got dtype {arr.dtype}")
    if dtype is None:
        dtype = arr.dtype if arr.dtype.type in DTYPES else np.float64
    arr = np.asarray(arr, dtype=dtype)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (N samples, D features), got shape {arr.shape}"
                         + ("; use x.reshape(1, -1) for a single sample" if arr.ndim == 1 else ""))
    return arr


class Layer:
    """Base class. Subclasses implement ``forward(x)`` and ``backward(dout)``.

    Attributes: ``name`` (set by the network, e.g. "Linear 2"), ``params`` / ``grads`` (dicts of
    arrays, empty for activations), ``cache`` (what the last forward stored for backward).
    """

    kind = "layer"

    def __init__(self):
        self.name = type(self).__name__
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.cache: dict = {}

    def forward(self, x):
        raise NotImplementedError

    def backward(self, dout):
        raise NotImplementedError

    __call__ = forward

    def _cached(self, key: str, dout) -> np.ndarray:
        if key not in self.cache:
            raise RuntimeError(f"{self.name}: backward called before forward (its cache is empty)")
        value = self.cache[key]
        dout = np.asarray(dout)
        if dout.shape != value.shape and key != "x":
            raise ValueError(f"{self.name}: dout has shape {dout.shape}, but the forward output had "
                             f"shape {value.shape}")
        return value

    def __repr__(self) -> str:
        return self.name


class Linear(Layer):
    """Affine layer ``out = x @ W + b``: x (N, D), W (D, M), b (M,) -> out (N, M).

    Backward, with ``dout = dL/d(out)`` of shape (N, M)::

        dL/dx = dout @ W.T              (N, D)
        dL/dW = x.T @ dout              (D, M)   the sum over the batch of the outer products
        dL/db = dout.sum(axis=0)        (M,)     a *sum* over the batch (the loss already divides by N)

    Parameters
    ----------
    W : (D, M) array, the weights (kept as given: dtype float32 or float64, no copy).
    b : (M,) array or None, default zeros of W's dtype; ``bias=False`` for no bias at all.
    need_dx : if False, ``backward`` returns None and skips ``dout @ W.T`` (the first layer of a
        network never needs dL/dX); default True.
    """

    kind = "linear"

    def __init__(self, W, b=None, *, bias: bool = True, need_dx: bool = True):
        super().__init__()
        W = np.asarray(W)
        if W.ndim != 2:
            raise ValueError(f"W (weights) must be a 2-D array of shape (D inputs, M outputs), got shape {W.shape}")
        dt = check_dtype(W.dtype if W.dtype.kind == "f" else np.float64)
        W = np.asarray(W, dtype=dt)
        self.params["W"] = W
        self.grads["W"] = np.zeros_like(W)
        if bias:
            b = np.zeros(W.shape[1], dtype=dt) if b is None else np.asarray(b, dtype=dt)
            if b.shape != (W.shape[1],):
                raise ValueError(f"b (bias) must have shape ({W.shape[1]},) to match W of shape "
                                 f"{W.shape}, got shape {b.shape}")
            self.params["b"] = b
            self.grads["b"] = np.zeros_like(b)
        elif b is not None:
            raise ValueError("b was given but bias=False")
        self.need_dx = bool(need_dx)

    @property
    def shape(self) -> tuple[int, int]:
        return self.params["W"].shape

    def forward(self, x):
        W = self.params["W"]
        x = as_batch(x, "x", W.dtype)
        if x.shape[1] != W.shape[0]:
            raise ValueError(f"{self.name}: x has {x.shape[1]} features per sample, but W has shape "
                             f"{W.shape} and expects {W.shape[0]}")
        out = x @ W
        if "b" in self.params:
            out += self.params["b"]
        self.cache = {"x": x}
        return out

    def backward(self, dout):
        x = self._cached("x", dout)
        W = self.params["W"]
        dout = np.asarray(dout, dtype=W.dtype)
        if dout.shape != (x.shape[0], W.shape[1]):
            raise ValueError(f"{self.name}: dout has shape {dout.shape}, expected "
                             f"{(x.shape[0], W.shape[1])} (the shape of the output)")
        np.matmul(x.T, dout, out=self.grads["W"])
        if "b" in self.grads:
            np.sum(dout, axis=0, out=self.grads["b"])
        return dout @ W.T if self.need_dx else None


class Sigmoid(Layer):
    """``out = sigma(x) = 1 / (1 + exp(-x))``, elementwise (computed without overflow).

    Backward: ``dL/dx = dout * out * (1 - out)``, since sigma'(x) = sigma(x) (1 - sigma(x)) <= 1/4
    (the maximum, at x = 0). The cache is the output: the derivative needs nothing else.
    """

    kind = "activation"

    def forward(self, x):
        out = expit(as_batch(x, "x"))
        self.cache = {"out": out}
        return out

    def backward(self, dout):
        out = self._cached("out", dout)
        dx = 1 - out
        dx *= out
        dx *= dout
        return dx


class Tanh(Layer):
    """``out = tanh(x)``, elementwise. Backward: ``dL/dx = dout * (1 - out**2)`` (tanh' <= 1, at 0)."""

    kind = "activation"

    def forward(self, x):
        out = np.tanh(as_batch(x, "x"))
        self.cache = {"out": out}
        return out

    def backward(self, dout):
        out = self._cached("out", dout)
        dx = np.square(out)
        np.subtract(1, dx, out=dx)
        dx *= dout
        return dx


class ReLU(Layer):
    """``out = max(x, 0)``, elementwise. Backward: ``dL/dx = dout * (out > 0)`` (derivative 1 where
    x > 0, else 0; at x = 0 exactly it is taken as 0, as in PyTorch)."""

    kind = "activation"

    def forward(self, x):
        out = np.maximum(as_batch(x, "x"), 0)
        self.cache = {"out": out}
        return out

    def backward(self, dout):
        out = self._cached("out", dout)
        return np.multiply(dout, out > 0, dtype=out.dtype)


ACTIVATIONS = {"sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU}


def activation(name: str) -> Layer:
    """A new activation layer by name: "sigmoid", "tanh" or "relu"."""
    key = str(name).lower()
    if key not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(map(repr, ACTIVATIONS))}, got {name!r}")
    return ACTIVATIONS[key]()
