"""Loss landscapes: a trained network's loss along random directions in weight space (chapter 04).

A network has thousands of weights theta, so its loss L(theta) cannot be drawn. Li et al. (2018),
"Visualizing the Loss Landscape of Neural Nets", draw slices through the trained weights theta*:

    1-D:  f(alpha)       = L(theta* + alpha delta)
    2-D:  f(alpha, beta) = L(theta* + alpha delta + beta eta)

along random Gaussian directions delta, eta. A raw Gaussian direction is meaningless for a network
whose layers can be rescaled without changing what it computes (ReLU layers, normalisation), so
every **filter** of the direction is scaled to the size of the same filter of the weights:

    d_{l,i} <- d_{l,i} / ||d_{l,i}|| * ||theta_{l,i}||      (filter normalisation)

where a filter is one slice along the first axis of a weight tensor: one output unit's incoming
weights (a row of an ``nn.Linear`` weight, one kernel of a convolution). Then alpha = 1 moves every
filter by its own norm, and slices of different networks can be compared. As in their code, the
1-D parameters (biases, normalisation layers) get direction 0 by default (``ignore_biases=False``
scales each such vector as one filter instead).

* ``random_direction(model, seed=0, norm="filter", ignore_biases=True)`` -> list of tensors
* ``normalize_direction(direction, model, norm="filter", ignore_biases=True)``
* ``LossLandscape(model, X, y, loss_fn=F.cross_entropy)`` with ``slice_1d(d, alphas)``,
  ``slice_2d(d1, d2, alphas, betas)`` and ``plane(d1, d2, ...)`` (an Objective over (alpha, beta),
  for ``course_lib.plotting.contour_trajectories`` and ``surface_plot``).

The slices are evaluated without gradients, many weight settings at once (``torch.func.vmap``
over ``functional_call``), in the model's dtype (float64 recommended: the printed values then do
not depend on the machine).
"""
from __future__ import annotations

import numbers

import numpy as np
import torch
import torch.nn.functional as F
from torch.func import functional_call, vmap

from .objectives import Objective

__all__ = ["random_direction", "normalize_direction", "LossLandscape", "LandscapePlane"]

NORMS = ("filter", "layer", None)


def _params(model) -> dict[str, torch.Tensor]:
    if not isinstance(model, torch.nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    params = {k: p.detach() for k, p in model.named_parameters()}
    if not params:
        raise ValueError("the model has no parameters")
    return params


def normalize_direction(direction, model, norm: str | None = "filter",
                        ignore_biases: bool = True) -> list[torch.Tensor]:
    """Scale a direction (one tensor per parameter of ``model``) to the size of the weights.

    norm="filter": every filter d[i] (slice along axis 0 of a parameter with >= 2 axes) becomes
    d[i] / ||d[i]|| * ||theta[i]||; norm="layer": every tensor d becomes d / ||d|| * ||theta||;
    norm=None: unchanged. Parameters with one axis (biases): 0 when ``ignore_biases`` (default),
    else scaled as one filter. Returns new tensors (the inputs are not changed).
    """
    if norm not in NORMS:
        raise ValueError(f"norm must be 'filter', 'layer' or None, got {norm!r}")
    thetas = list(_params(model).values())
    direction = list(direction)
    if len(direction) != len(thetas):
        raise ValueError(f"direction must hold one tensor per parameter of the model ({len(thetas)}), "
                         f"got {len(direction)}")
    out = []
    for k, (d, th) in enumerate(zip(direction, thetas)):
        if not isinstance(d, torch.Tensor) or d.shape != th.shape:
            raise ValueError(f"direction[{k}] must be a tensor of shape {tuple(th.shape)}, got "
                             f"{getattr(d, 'shape', type(d).__name__)}")
        d = d.detach().to(th.dtype).clone()
        if th.dim() <= 1:
            if ignore_biases:
                d.zero_()
            elif norm is not None:
                d.mul_(th.norm() / d.norm().clamp_min(1e-300))
        elif norm == "filter":
            dims = tuple(range(1, th.dim()))
            scale = th.norm(dim=dims, keepdim=True) / d.norm(dim=dims, keepdim=True).clamp_min(1e-300)
            d.mul_(scale)
        elif norm == "layer":
            d.mul_(th.norm() / d.norm().clamp_min(1e-300))
        out.append(d)
    return out


def random_direction(model, *, seed: int = 0, norm: str | None = "filter",
                     ignore_biases: bool = True) -> list[torch.Tensor]:
    """A Gaussian direction N(0, 1) per parameter (``torch.Generator().manual_seed(seed)``: the
    same numbers on every machine), normalised by :func:`normalize_direction`."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ValueError(f"seed must be a whole number, got {seed!r}")
    gen = torch.Generator().manual_seed(int(seed))
    raw = [torch.randn(th.shape, generator=gen, dtype=torch.float64).to(th.dtype)
           for th in _params(model).values()]
    return normalize_direction(raw, model, norm=norm, ignore_biases=ignore_biases)


class LossLandscape:
    """The loss of ``model`` on (X, y) around its current weights theta*.

    ``loss_fn(output, y)`` returns the mean loss (default ``F.cross_entropy``, for logits and
    integer class labels). ``center_loss`` is L(theta*). The model itself is never changed.
    """

    def __init__(self, model, X, y, loss_fn=F.cross_entropy, *, chunk: int = 256):
        self.model = model
        self.theta = _params(model)
        dtype = next(iter(self.theta.values())).dtype
        self.X = torch.as_tensor(X).to(dtype)
        self.y = torch.as_tensor(y)
        if self.X.shape[0] != self.y.shape[0] or self.X.shape[0] == 0:
            raise ValueError(f"X and y must hold the same number n >= 1 of samples, got shapes "
                             f"{tuple(self.X.shape)} and {tuple(self.y.shape)}")
        if not callable(loss_fn):
            raise ValueError(f"loss_fn must be a function (output, y) -> loss, got {loss_fn!r}")
        self.loss_fn = loss_fn
        self.chunk = int(chunk)
        with torch.no_grad():
            self.center_loss = float(loss_fn(functional_call(model, self.theta, (self.X,)), self.y))

    def _check(self, direction, name):
        direction = list(direction)
        if len(direction) != len(self.theta) or any(
                d.shape != th.shape for d, th in zip(direction, self.theta.values())):
            raise ValueError(f"{name} must hold one tensor per parameter, shaped like the model's "
                             "(use random_direction(model))")
        return direction

    def losses(self, d1, d2, alphas, betas) -> np.ndarray:
        """L(theta* + a d1 + b d2) for the pairs (a, b) = (alphas[k], betas[k]): shape (K,)."""
        d1, d2 = self._check(d1, "d1"), self._check(d2, "d2")
        names = list(self.theta)
        dtype = next(iter(self.theta.values())).dtype
        a = torch.as_tensor(np.asarray(alphas, dtype=np.float64).ravel()).to(dtype)
        b = torch.as_tensor(np.asarray(betas, dtype=np.float64).ravel()).to(dtype)

        def loss_of(ak, bk):
            p = {k: self.theta[k] + ak * u + bk * v for k, u, v in zip(names, d1, d2)}
            return self.loss_fn(functional_call(self.model, p, (self.X,)), self.y)

        batched = vmap(loss_of)
        out = []
        with torch.no_grad():
            for s in range(0, a.numel(), self.chunk):
                out.append(batched(a[s:s + self.chunk], b[s:s + self.chunk]))
        return torch.cat(out).numpy().astype(np.float64) if out else np.zeros(0)

    def slice_1d(self, direction, alphas) -> np.ndarray:
        """f(alpha) = L(theta* + alpha delta) for every alpha: shape (len(alphas),)."""
        zero = [torch.zeros_like(t) for t in self.theta.values()]
        alphas = np.asarray(alphas, dtype=np.float64)
        return self.losses(direction, zero, alphas, np.zeros_like(alphas)).reshape(alphas.shape)

    def slice_2d(self, d1, d2, alphas, betas) -> np.ndarray:
        """f(alpha, beta) on the grid: shape (len(betas), len(alphas)) (rows = beta, as a contour plot)."""
        A, B = np.meshgrid(np.asarray(alphas, dtype=np.float64), np.asarray(betas, dtype=np.float64))
        return self.losses(d1, d2, A, B).reshape(A.shape)

    def plane(self, d1, d2, *, lim: float = 1.0, name: str = "loss landscape") -> "LandscapePlane":
        """The 2-D slice as an Objective over w = (alpha, beta), window [-lim, lim]^2."""
        return LandscapePlane(self, d1, d2, lim=lim, name=name)


class LandscapePlane(Objective):
    """f(alpha, beta) = L(theta* + alpha d1 + beta d2) as a 2-D Objective (value only), so the
    course's ``contour_trajectories`` / ``surface_plot`` draw it. ``min_value`` = 0 (a loss that is
    >= 0, such as cross-entropy or MSE): contour levels are log-spaced values of the loss itself.
    ``minimizer`` is None: the centre (0, 0) is theta*, not necessarily the lowest point of the slice."""

    dim = 2

    def __init__(self, landscape: LossLandscape, d1, d2, *, lim: float = 1.0, name: str = "loss landscape"):
        self.landscape, self.d1, self.d2 = landscape, landscape._check(d1, "d1"), landscape._check(d2, "d2")
        lim = float(lim)
        if not lim > 0:
            raise ValueError(f"lim (half-width of the window) must be positive, got {lim}")
        self.xlim = self.ylim = (-lim, lim)
        self.minimizer = None
        self.min_value = 0.0
        self.name = name

    def value(self, w):
        w = self._points(w)
        out = self.landscape.losses(self.d1, self.d2, w[..., 0], w[..., 1]).reshape(w.shape[:-1])
        return out[()] if out.ndim == 0 else out

    def grad(self, w):
        raise NotImplementedError("LandscapePlane is for drawing: it has values only")

    def hessian(self, w):
        raise NotImplementedError("LandscapePlane is for drawing: it has values only")
