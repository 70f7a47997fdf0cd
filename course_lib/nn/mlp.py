"""Networks built from layers: :class:`Sequential` (any list of layers and a loss), :class:`Residual`
(a skip connection around a block) and :func:`MLP`, the multi-layer perceptron of any depth and width.

A network is a composite function, evaluated layer by layer (the forward pass, each layer caching
what it will need) and differentiated in the reverse order (the backward pass, each layer turning
dL/d(its output) into dL/d(its input) and dL/d(its parameters))::

    net = MLP([64, 32, 32, 10], activation="relu")   # 64 inputs, two hidden layers of 32, 10 classes
    loss = net.loss(X, y)                             # forward pass + loss (caches filled)
    grads = net.backward()                            # backward pass: {"W1": dL/dW1, "b1": ..., ...}
    opt.step(net.params, grads)                       # any course optimizer (course_lib.optim)

``net.params`` and ``net.grads`` are dicts with the same keys, ``"W1", "b1", ..., "WK", "bK"`` for K
linear layers (and ``"gamma{k}", "beta{k}"`` for a batch-normalisation layer after Linear k), holding
the layers' own arrays: an optimizer updating ``net.params`` in place updates the network, and ``backward``
overwrites ``net.grads`` in place (the dict and its arrays keep their identity).

Layer names count the linear layers: "Linear 1", "ReLU 1", "Linear 2", ...; an activation or a
normalisation layer carries the number of the linear layer before it.
"""
from __future__ import annotations

import numbers

import numpy as np

from .init import init_weight
from .layers import ACTIVATIONS, Layer, Linear, activation as make_activation, as_batch, check_dtype
from .losses import loss_by_name
from .normalization import BatchNorm

__all__ = ["Residual", "Sequential", "MLP"]


def _forward(layers, h, trace):
    for layer in layers:
        h = layer.forward(h)
        layer.output = h
        if trace is not None:
            trace.append(("forward", layer.name, tuple(layer.cache)))
    return h


def _backward(layers, d, trace):
    for layer in reversed(layers):
        d = layer.backward(d)
        if trace is not None:
            trace.append(("backward", layer.name, tuple(layer.grads)))
    return d


class Residual(Layer):
    """A skip connection: ``out = x + block(x)`` for a list of layers ``block`` mapping (N, D) to (N, D).

    Backward: ``dL/dx = dout + block.backward(dout)``. The identity path passes the gradient to the
    earlier layers unchanged, however small the block's own contribution (He et al. 2016).
    """

    kind = "residual"

    def __init__(self, layers):
        super().__init__()
        self.layers = list(layers)
        if not self.layers or not all(isinstance(layer, Layer) for layer in self.layers):
            raise ValueError("Residual needs a non-empty list of layers")
        self._trace = None

    def forward(self, x):
        h = _forward(self.layers, x, self._trace)
        if h.shape != np.shape(x):
            raise ValueError(f"{self.name}: the block maps shape {np.shape(x)} to {h.shape}; a skip "
                             "connection needs the same shape in and out")
        self.cache = {"skip": True}
        return x + h

    def backward(self, dout):
        return dout + _backward(self.layers, dout, self._trace)


class Sequential:
    """A chain of layers followed by a loss.

    Parameters
    ----------
    layers : list of Layer (Linear, Sigmoid, Tanh, ReLU, BatchNorm, Residual, ...).
    loss : "cross_entropy" (softmax cross-entropy, integer labels), "mse" (1/2 MSE) or a Loss.
    input_grad : also compute dL/dX in ``backward`` (stored in ``net.input_grad``); default False,
        which skips the first layer's ``dout @ W.T`` (nobody trains the inputs).

    Methods: ``forward(X)`` (scores), ``loss(X, y)`` (forward + loss), ``backward()`` (grads dict),
    ``loss_and_grads(X, y)``, ``train()`` / ``eval()`` (batch normalisation's mode),
    ``set_params(values)``, ``copy_params()``.
    Attributes: ``params``, ``grads``, ``layers``, ``loss_fn``, ``last_loss``, ``input_grad``,
    ``trace`` (set ``net.record_trace = True`` to log every forward and backward call in order).
    """

    def __init__(self, layers, loss="cross_entropy", *, input_grad: bool = False):
        self.layers = list(layers)
        if not self.layers or not all(isinstance(layer, Layer) for layer in self.layers):
            raise ValueError("layers must be a non-empty list of Layer objects")
        self.loss_fn = loss_by_name(loss)
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self._owner: dict[str, Layer] = {}
        self._name_layers()
        dtypes = {v.dtype for v in self.params.values()}
        if len(dtypes) > 1:
            raise ValueError(f"all parameters must have the same dtype, got {sorted(map(str, dtypes))}")
        self.dtype = dtypes.pop() if dtypes else np.dtype(np.float64)
        self.input_grad_wanted = bool(input_grad)
        first = self.layers[0]
        if isinstance(first, Linear):
            first.need_dx = self.input_grad_wanted
        self.input_grad = None
        self.last_loss = None
        self.record_trace = False
        self.trace: list = []

    # -- structure ---------------------------------------------------------------------------
    def leaves(self, layers=None):
        """Every layer in forward order, the layers inside Residual blocks included."""
        for layer in self.layers if layers is None else layers:
            if isinstance(layer, Residual):
                yield layer
                yield from self.leaves(layer.layers)
            else:
                yield layer

    def _name_layers(self):
        k = 0
        for layer in self.leaves():
            if isinstance(layer, Residual):
                layer.name = f"Residual {k + 1}"
                continue
            if isinstance(layer, Linear):
                k += 1
            layer.name = f"{type(layer).__name__} {k}"
            for local, value in layer.params.items():
                key = f"{local}{k}"
                if key in self.params:
                    raise ValueError(f"two layers would both own parameter {key!r}; put a Linear layer "
                                     "between them")
                self.params[key] = value
                self.grads[key] = layer.grads[local]
                self._owner[key] = layer

    @property
    def linear_layers(self) -> list[Linear]:
        return [layer for layer in self.leaves() if isinstance(layer, Linear)]

    @property
    def depth(self) -> int:
        """The number of linear layers (weight matrices)."""
        return len(self.linear_layers)

    def layer_of(self, key: str) -> Layer:
        """The layer that owns parameter ``key`` (e.g. "W3")."""
        return self._owner[key]

    def activations(self) -> dict[str, np.ndarray]:
        """The outputs of the activation layers in the last forward pass, by layer name."""
        return {layer.name: layer.output for layer in self.leaves()
                if layer.kind == "activation" and getattr(layer, "output", None) is not None}

    def outputs(self) -> list[tuple[str, np.ndarray]]:
        """(name, output) of every layer of the last forward pass, in forward order."""
        return [(layer.name, layer.output) for layer in self.leaves()
                if getattr(layer, "output", None) is not None]

    # -- computing ---------------------------------------------------------------------------
    def _set_trace(self):
        trace = self.trace if self.record_trace else None
        for layer in self.leaves():
            if isinstance(layer, Residual):
                layer._trace = trace
        return trace

    def forward(self, X) -> np.ndarray:
        """The network's output (scores / predictions) for a batch X (N, D); fills the caches."""
        X = as_batch(X, "X", self.dtype)
        if self.record_trace:
            self.trace = []
        return _forward(self.layers, X, self._set_trace())

    def loss(self, X, y) -> float:
        """Forward pass and loss (a Python float); ``backward()`` then differentiates it."""
        scores = self.forward(X)
        self.last_loss = self.loss_fn.forward(scores, y)
        if self.record_trace:
            self.trace.append(("forward", f"loss ({self.loss_fn.name})", tuple(self.loss_fn.cache)))
        return self.last_loss

    __call__ = loss

    def backward(self) -> dict[str, np.ndarray]:
        """Backward pass from the cached loss; overwrites and returns ``self.grads``."""
        if self.last_loss is None:
            raise RuntimeError("backward() needs a loss first: call net.loss(X, y)")
        d = self.loss_fn.backward()
        trace = self._set_trace()
        if trace is not None:
            trace.append(("backward", f"loss ({self.loss_fn.name})", ()))
        self.input_grad = _backward(self.layers, d, trace)
        return self.grads

    def loss_and_grads(self, X, y) -> tuple[float, dict[str, np.ndarray]]:
        """``(loss, grads)``: one forward and one backward pass."""
        loss = self.loss(X, y)
        return loss, self.backward()

    def predict(self, X) -> np.ndarray:
        """Class indices (argmax of the scores) for cross-entropy nets, the outputs otherwise."""
        scores = self.forward(X)
        return scores.argmax(axis=1) if self.loss_fn.name == "softmax cross-entropy" else scores

    def train(self) -> "Sequential":
        for layer in self.leaves():
            if isinstance(layer, BatchNorm):
                layer.training = True
        return self

    def eval(self) -> "Sequential":
        for layer in self.leaves():
            if isinstance(layer, BatchNorm):
                layer.training = False
        return self

    # -- parameters --------------------------------------------------------------------------
    def copy_params(self) -> dict[str, np.ndarray]:
        """Copies of every parameter (a snapshot to restore or compare with later)."""
        return {k: v.copy() for k, v in self.params.items()}

    def set_params(self, values: dict) -> None:
        """Copy ``values[key]`` into the parameter arrays (in place; every key must be known)."""
        for key, value in values.items():
            if key not in self.params:
                raise ValueError(f"no parameter {key!r}; the network has {', '.join(self.params)}")
            value = np.asarray(value)
            if value.shape != self.params[key].shape:
                raise ValueError(f"{key} must have shape {self.params[key].shape}, got {value.shape}")
            np.copyto(self.params[key], value, casting="same_kind")

    def get_flat(self) -> np.ndarray:
        """All parameters as one vector w (float64), in the order of ``params`` (each array row-major)."""
        return np.concatenate([v.ravel() for v in self.params.values()]).astype(np.float64)

    def set_flat(self, w) -> None:
        """Set all parameters from one vector w laid out as :meth:`get_flat` returns it."""
        w = np.asarray(w)
        if w.shape != (self.n_params,):
            raise ValueError(f"w must be a vector of {self.n_params} numbers (all parameters), got shape {w.shape}")
        start = 0
        for v in self.params.values():
            np.copyto(v, w[start:start + v.size].reshape(v.shape), casting="same_kind")
            start += v.size

    def flat_grads(self) -> np.ndarray:
        """The gradients of the last backward pass as one vector, laid out like :meth:`get_flat`."""
        return np.concatenate([g.ravel() for g in self.grads.values()]).astype(np.float64)

    @property
    def n_params(self) -> int:
        return int(sum(v.size for v in self.params.values()))

    def __repr__(self) -> str:
        inner = ", ".join(layer.name for layer in self.layers)
        return f"Sequential([{inner}], loss={self.loss_fn.name!r}, {self.n_params} parameters, {self.dtype})"


def _sizes(sizes) -> list[int]:
    try:
        out = list(sizes)
    except TypeError:
        raise ValueError(f"sizes must be a list of layer widths such as [64, 32, 10], got {sizes!r}") from None
    if len(out) < 2:
        raise ValueError(f"sizes needs at least 2 entries (inputs and outputs), got {out}")
    for s in out:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 1:
            raise ValueError(f"every width in sizes must be a whole number >= 1, got {s!r} in {out}")
    return [int(s) for s in out]


def MLP(sizes, activation: str = "relu", *, init: str | None = None, std: float | None = None,
        loss="cross_entropy", bias: bool = True, norm: str | None = None, residual: bool = False,
        seed: int = 0, dtype=np.float64, input_grad: bool = False) -> Sequential:
    """A multi-layer perceptron ``sizes[0] -> sizes[1] -> ... -> sizes[-1]``.

    Each hidden layer is Linear -> [BatchNorm] -> activation; the last layer is Linear alone (scores
    for the loss). ``len(sizes) - 1`` linear layers in all.

    Parameters
    ----------
    sizes : widths, e.g. [64, 32, 32, 10]: 64 inputs, two hidden layers of 32 units, 10 outputs.
    activation : "relu" (default), "tanh" or "sigmoid".
    init : weight scheme of course_lib.nn.init, "normal" (with ``std``), "lecun", "xavier" or "he";
        default "he" for ReLU, "xavier" otherwise. Biases start at 0.
    loss : "cross_entropy" (default) or "mse" (1/2 MSE), or a Loss instance.
    bias : give the linear layers biases (default True).
    norm : None, or "batch" for a batch-normalisation layer after every hidden linear layer.
    residual : wrap each hidden -> hidden layer of equal width in a skip connection,
        h_{k+1} = h_k + act(W h_k + b) (He et al. 2016).
    seed : the weights are drawn from ``np.random.default_rng(seed)``, layer by layer.
    dtype : np.float64 (default) or np.float32.
    """
    sizes = _sizes(sizes)
    if str(activation).lower() not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(map(repr, ACTIVATIONS))}, got {activation!r}")
    if norm not in (None, "batch"):
        raise ValueError(f"norm must be None or 'batch', got {norm!r}")
    dt = check_dtype(dtype)
    if init is None:
        init = "he" if str(activation).lower() == "relu" else "xavier"
    rng = np.random.default_rng(seed)
    layers: list[Layer] = []
    n_linear = len(sizes) - 1
    for k in range(n_linear):
        fan_in, fan_out = sizes[k], sizes[k + 1]
        lin = Linear(init_weight(fan_in, fan_out, init, std=std, rng=rng, dtype=dt), bias=bias)
        if k == n_linear - 1:
            layers.append(lin)
            break
        block = [lin] + ([BatchNorm(fan_out, dtype=dt)] if norm == "batch" else []) + [make_activation(activation)]
        if residual and k > 0 and fan_in == fan_out:
            layers.append(Residual(block))
        else:
            layers.extend(block)
    return Sequential(layers, loss=loss, input_grad=input_grad)
