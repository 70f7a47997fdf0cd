"""The same network in PyTorch, with the same weights: the independent implementation that the
NumPy backward passes are tested against (as micrograd tests its engine against torch).

    model = to_torch(net)                  # torch.nn.Sequential, float64 for a float64 net
    loss_fn = torch_loss(net)              # the same loss: F.cross_entropy or 0.5 * sum(r^2) / N
    loss = loss_fn(model(X_t), y_t); loss.backward()
    torch_grads(model)                     # {"W1": ..., "b1": ...} as NumPy arrays in the net's layout

Layer by layer: Linear(W, b) -> nn.Linear with weight = W.T (torch stores (M, D)); Sigmoid, Tanh,
ReLU -> nn.Sigmoid, nn.Tanh, nn.ReLU; BatchNorm -> nn.BatchNorm1d (weights, running statistics,
eps, momentum and the training flag copied); Residual -> a module computing x + block(x).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .layers import Linear, ReLU, Sigmoid, Tanh
from .losses import HalfMSE, SoftmaxCrossEntropy
from .mlp import Residual, Sequential
from .normalization import BatchNorm

__all__ = ["TorchResidual", "to_torch", "torch_loss", "torch_grads", "torch_params", "torch_param_names",
           "flat_loss", "parameters_holding"]


class TorchResidual(nn.Sequential):
    """x + block(x), the PyTorch twin of :class:`course_lib.nn.mlp.Residual`."""

    def forward(self, x):
        return x + super().forward(x)


def _torch_dtype(dtype) -> torch.dtype:
    return torch.float64 if np.dtype(dtype) == np.float64 else torch.float32


def _convert(layer, dtype):
    if isinstance(layer, Linear):
        D, M = layer.shape
        m = nn.Linear(D, M, bias="b" in layer.params, dtype=dtype)
        with torch.no_grad():
            m.weight.copy_(torch.from_numpy(np.ascontiguousarray(layer.params["W"].T)))
            if "b" in layer.params:
                m.bias.copy_(torch.from_numpy(layer.params["b"]))
        return m
    if isinstance(layer, (Sigmoid, Tanh, ReLU)):
        return {Sigmoid: nn.Sigmoid, Tanh: nn.Tanh, ReLU: nn.ReLU}[type(layer)]()
    if isinstance(layer, BatchNorm):
        D = layer.params["gamma"].shape[0]
        m = nn.BatchNorm1d(D, eps=layer.eps, momentum=layer.momentum, dtype=dtype)
        with torch.no_grad():
            m.weight.copy_(torch.from_numpy(layer.params["gamma"]))
            m.bias.copy_(torch.from_numpy(layer.params["beta"]))
            m.running_mean.copy_(torch.from_numpy(layer.running_mean))
            m.running_var.copy_(torch.from_numpy(layer.running_var))
        m.train(layer.training)
        return m
    if isinstance(layer, Residual):
        return TorchResidual(*[_convert(inner, dtype) for inner in layer.layers])
    raise ValueError(f"no PyTorch twin for layer {layer.name} ({type(layer).__name__})")


def to_torch(net: Sequential) -> nn.Sequential:
    """A ``torch.nn.Sequential`` computing the same function as ``net``, with copies of its weights,
    in the net's dtype (float64 or float32)."""
    dtype = _torch_dtype(net.dtype)
    return nn.Sequential(*[_convert(layer, dtype) for layer in net.layers])


def torch_loss(net: Sequential):
    """The PyTorch form of ``net.loss_fn``: a function (scores, target) -> scalar tensor."""
    if isinstance(net.loss_fn, SoftmaxCrossEntropy):
        return lambda scores, labels: F.cross_entropy(scores, torch.as_tensor(labels, dtype=torch.long))
    if isinstance(net.loss_fn, HalfMSE):
        def half_mse(pred, target):
            target = torch.as_tensor(target, dtype=pred.dtype).reshape(pred.shape)
            return 0.5 * ((pred - target) ** 2).sum() / pred.shape[0]
        return half_mse
    raise ValueError(f"no PyTorch twin for the loss {net.loss_fn!r}")


def torch_param_names(model: nn.Module) -> dict[str, torch.Tensor]:
    """The model's parameters under the NumPy net's names: W{k}, b{k} for the k-th nn.Linear (weight
    transposed back to (D, M) when read by :func:`torch_grads`), gamma{k}, beta{k} for a batch norm."""
    out: dict[str, torch.Tensor] = {}
    k = 0
    for m in model.modules():
        if isinstance(m, nn.Linear):
            k += 1
            out[f"W{k}"] = m.weight
            if m.bias is not None:
                out[f"b{k}"] = m.bias
        elif isinstance(m, nn.BatchNorm1d):
            out[f"gamma{k}"] = m.weight
            out[f"beta{k}"] = m.bias
    return out


def _as_numpy(key: str, t: torch.Tensor) -> np.ndarray:
    a = t.detach().cpu().numpy()
    return a.T.copy() if key.startswith("W") else a.copy()


def torch_grads(model: nn.Module) -> dict[str, np.ndarray]:
    """``.grad`` of every parameter, as NumPy arrays in the NumPy net's layout (W as (D, M))."""
    out = {}
    for key, p in torch_param_names(model).items():
        if p.grad is None:
            raise ValueError(f"{key} has no gradient: call loss.backward() first")
        out[key] = _as_numpy(key, p.grad)
    return out


def torch_params(model: nn.Module) -> dict[str, np.ndarray]:
    """The model's parameter values as NumPy arrays in the NumPy net's layout."""
    return {key: _as_numpy(key, p) for key, p in torch_param_names(model).items()}


def flat_loss(net: Sequential, X, y):
    """The network's loss on (X, y) as a PyTorch function of one flat weight vector.

    Returns ``(f_torch, w0)``: ``f_torch(w)`` maps a float64 tensor w of shape (d,) (laid out as
    ``net.get_flat()``: the arrays of ``net.params`` in order, W as (D, M), row-major) to the scalar
    loss, built from differentiable torch operations, so that autograd can differentiate it twice
    (Hessian-vector products, ``course_lib.optim.hessian_free.hvp``); ``w0 = net.get_flat()``.
    """
    from torch.func import functional_call

    model = to_torch(net).to(torch.float64)
    loss_fn = torch_loss(net)
    by_identity = {id(p): path for path, p in model.named_parameters()}
    layout = []                                          # (torch path, shape in the net, transpose?)
    for key, p in torch_param_names(model).items():
        layout.append((by_identity[id(p)], tuple(net.params[key].shape), key.startswith("W")))
    Xt = torch.as_tensor(np.asarray(X, dtype=np.float64))
    yt = torch.as_tensor(np.asarray(y))

    def f_torch(w):
        tensors, start = {}, 0
        for path, shape, transpose in layout:
            size = int(np.prod(shape))
            t = w[start:start + size].reshape(shape)
            tensors[path] = t.T if transpose else t
            start += size
        return loss_fn(functional_call(model, tensors, (Xt,)), yt)

    return f_torch, net.get_flat()


def parameters_holding(grads) -> list:
    """float64 torch parameters whose ``.grad`` are copies of the NumPy arrays in ``grads`` (a list or
    dict): the input ``torch.nn.utils.clip_grad_norm_`` / ``clip_grad_value_`` take, to compare
    :mod:`course_lib.nn.clip` (or a student's clipping) with them."""
    arrays = list(grads.values()) if isinstance(grads, dict) else list(grads)
    params = []
    for g in arrays:
        p = nn.Parameter(torch.zeros(np.shape(g), dtype=torch.float64))
        p.grad = torch.tensor(np.array(g, dtype=np.float64))
        params.append(p)
    return params
