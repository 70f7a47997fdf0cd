"""Adaptive learning rates: AdaGrad (Duchi et al. 2011), RMSprop (Hinton, lecture 6e), Adam (Kingma and
Ba 2015) and AdaBelief (Zhuang et al. 2020): chapter 07."""
from __future__ import annotations

import numpy as np

from .base import Optimizer, _flag, _hyper, _is_zero, _nonneg, _unit_interval

__all__ = ["Adagrad", "RMSprop", "Adam", "AdaBelief"]


class Adagrad(Optimizer):
    """AdaGrad: per-coordinate step eta / sqrt(sum of squared past gradients).

    Update at step t = 1, 2, ... (all operations elementwise):

        g    <- g + weight_decay * w                 (only if weight_decay != 0)
        clr  <- lr / (1 + (t - 1) * lr_decay)
        G    <- G + g^2                              (G = initial_accumulator_value before t = 1)
        w    <- w - clr * g / (sqrt(G) + eps)        eps_inside_sqrt=False (PyTorch, default)
        w    <- w - clr * g / sqrt(G + eps)          eps_inside_sqrt=True  (the lecture form)

    G only grows, so the effective step clr / sqrt(G) shrinks forever and learning stops.

    Parameters (defaults are torch's)
    ----------
    lr : float, default 0.01                 >= 0.
    lr_decay : float, default 0              >= 0.
    weight_decay : float, default 0          L2 penalty, >= 0.
    initial_accumulator_value : float, default 0   starting value of G, >= 0.
    eps : float, default 1e-10               >= 0; added outside the square root by default.
    eps_inside_sqrt : bool, default False    put eps inside the root (lecture form). Note that
                                             sqrt(1e-10) = 1e-5 then acts as the floor.
    check_finite : bool, default True        see ``Optimizer``.

    State: ``state[key]["sum"]`` (= G).
    """

    _hyper_names = ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps",
                    "eps_inside_sqrt")

    def __init__(self, lr=0.01, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, eps_inside_sqrt=False, *, check_finite=True):
        super().__init__(lr, check_finite=check_finite)
        self.lr_decay = _nonneg(lr_decay, "lr_decay")
        self.weight_decay = _nonneg(weight_decay, "weight_decay (L2 penalty)")
        self.initial_accumulator_value = _nonneg(initial_accumulator_value,
                                                 "initial_accumulator_value")
        self.eps = _nonneg(eps, "eps")
        self.eps_inside_sqrt = _flag(eps_inside_sqrt, "eps_inside_sqrt")

    def _init_state(self, w):
        # broadcast_to + astype always gives a fresh array, also for a 0-d parameter
        return {"sum": np.broadcast_to(self.initial_accumulator_value, w.shape).astype(float)}

    def _update(self, w, g, state):
        t = state["step"]
        if not _is_zero(self.weight_decay):
            g = g + self.weight_decay * w
        clr = self.lr / (1 + (t - 1) * self.lr_decay)
        G = state["sum"]
        G += g * g
        std = np.sqrt(G + self.eps) if self.eps_inside_sqrt else np.sqrt(G) + self.eps
        w -= clr * g / std


class RMSprop(Optimizer):
    """RMSProp: divide the step by a running root-mean-square of recent gradients.

    Update at step t = 1, 2, ... (elementwise; defaults are torch's):

        g   <- g + weight_decay * w                      (only if weight_decay != 0)
        S   <- alpha * S + (1 - alpha) * g^2             (S = 0 before t = 1)
        centered=False:  var <- S
        centered=True:   gbar <- alpha * gbar + (1 - alpha) * g;   var <- S - gbar^2
        denom <- sqrt(var) + eps       eps_inside_sqrt=False (PyTorch, default)
        denom <- sqrt(var + eps)       eps_inside_sqrt=True  (the lecture form)
        momentum = 0:   w <- w - lr * g / denom
        momentum > 0:   b <- momentum * b + g / denom;   w <- w - lr * b

    The lectures write the decay rate as gamma ~ 0.9; PyTorch calls it alpha, default 0.99.
    The running averages are written as torch computes them (gbar += (1 - alpha)(g - gbar)).

    Parameters
    ----------
    lr : float, default 0.01           >= 0.
    alpha : float, default 0.99        decay rate of the average of g^2, in [0, 1).
    eps : float, default 1e-8          >= 0.
    weight_decay : float, default 0    L2 penalty, >= 0.
    momentum : float, default 0        in [0, 1).
    centered : bool, default False     normalise by an estimate of the variance of g.
    eps_inside_sqrt : bool, default False
    check_finite : bool, default True  see ``Optimizer``.

    State: ``square_avg`` (S), ``grad_avg`` (gbar, centered only), ``momentum_buffer`` (b).
    """

    _hyper_names = ("lr", "alpha", "eps", "weight_decay", "momentum", "centered",
                    "eps_inside_sqrt")

    def __init__(self, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, eps_inside_sqrt=False, *, check_finite=True):
        super().__init__(lr, check_finite=check_finite)
        self.alpha = _unit_interval(alpha, "alpha (decay rate of the squared-gradient average)")
        self.eps = _nonneg(eps, "eps")
        self.weight_decay = _nonneg(weight_decay, "weight_decay (L2 penalty)")
        self.momentum = _unit_interval(momentum, "momentum (mu)")
        self.centered = _flag(centered, "centered")
        self.eps_inside_sqrt = _flag(eps_inside_sqrt, "eps_inside_sqrt")

    def _init_state(self, w):
        state = {"square_avg": np.zeros_like(w)}
        if self.centered:
            state["grad_avg"] = np.zeros_like(w)
        if not _is_zero(self.momentum):
            state["momentum_buffer"] = np.zeros_like(w)
        return state

    def _update(self, w, g, state):
        alpha = self.alpha
        if not _is_zero(self.weight_decay):
            g = g + self.weight_decay * w
        S = state["square_avg"]
        S *= alpha
        S += (1 - alpha) * g * g
        if self.centered:
            gbar = state["grad_avg"]
            gbar += (1 - alpha) * (g - gbar)
            var = S - gbar * gbar
        else:
            var = S
        denom = np.sqrt(var + self.eps) if self.eps_inside_sqrt else np.sqrt(var) + self.eps
        if not _is_zero(self.momentum):
            b = state["momentum_buffer"]
            b *= self.momentum
            b += g / denom
            w -= self.lr * b
        else:
            w -= self.lr * g / denom


class Adam(Optimizer):
    """Adam = momentum (first moment m) + RMSProp (second moment v), with bias correction.

    Update at step t = 1, 2, ... (elementwise; beta1, beta2 = betas; m = v = 0 before t = 1):

        g  <- g + weight_decay * w                      (only if weight_decay != 0; L2, not AdamW)
        m  <- beta1 * m + (1 - beta1) * g
        v  <- beta2 * v + (1 - beta2) * g^2
        vmax <- max(vmax, v)   and use vmax instead of v below      (amsgrad=True only)

        bias_correction=True, eps_inside_sqrt=False  (PyTorch's exact formula, default):
            step_size <- lr / (1 - beta1^t)
            denom     <- sqrt(v) / sqrt(1 - beta2^t) + eps
            w         <- w - step_size * m / denom
          i.e. w <- w - lr * m_hat / (sqrt(v_hat) + eps) with m_hat = m / (1 - beta1^t),
          v_hat = v / (1 - beta2^t).
        bias_correction=True, eps_inside_sqrt=True   (the lecture form):
            w <- w - lr * m_hat / sqrt(v_hat + eps)
        bias_correction=False (to show the early-step bias: m starts (1 - beta1) g, far too small):
            w <- w - lr * m / (sqrt(v) + eps)        (or sqrt(v + eps) with eps_inside_sqrt)

    Errata in the sources: the correction divides by (1 - beta^t) -- beta to the power t -- not
    (1 - beta)^2; and it is applied to the estimates m_hat, v_hat used in the step, never fed
    back into the recursions for m and v.

    Parameters (defaults are torch's)
    ----------
    lr : float, default 0.001             >= 0.
    betas : (float, float), default (0.9, 0.999)   each in [0, 1).
    eps : float, default 1e-8             >= 0; outside the square root by default.
    weight_decay : float, default 0       L2 penalty added to g, >= 0.
    amsgrad : bool, default False         AMSGrad: normalise by the running maximum of v.
    bias_correction : bool, default True
    eps_inside_sqrt : bool, default False
    check_finite : bool, default True     see ``Optimizer``.

    Memory: two extra arrays per parameter (three with amsgrad). State: ``exp_avg`` (m),
    ``exp_avg_sq`` (v), ``max_exp_avg_sq`` (vmax, amsgrad only).
    """

    _hyper_names = ("lr", "betas", "eps", "weight_decay", "amsgrad", "bias_correction",
                    "eps_inside_sqrt")

    def __init__(self, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False,
                 bias_correction=True, eps_inside_sqrt=False, *, check_finite=True):
        super().__init__(lr, check_finite=check_finite)
        self.betas = _betas(betas)
        self.eps = _nonneg(eps, "eps")
        self.weight_decay = _nonneg(weight_decay, "weight_decay (L2 penalty)")
        self.amsgrad = _flag(amsgrad, "amsgrad")
        self.bias_correction = _flag(bias_correction, "bias_correction")
        self.eps_inside_sqrt = _flag(eps_inside_sqrt, "eps_inside_sqrt")

    def _init_state(self, w):
        state = {"exp_avg": np.zeros_like(w), "exp_avg_sq": np.zeros_like(w)}
        if self.amsgrad:
            state["max_exp_avg_sq"] = np.zeros_like(w)
        return state

    def _update(self, w, g, state):
        t = state["step"]
        beta1, beta2 = self.betas
        if not _is_zero(self.weight_decay):
            g = g + self.weight_decay * w
        m, v = state["exp_avg"], state["exp_avg_sq"]
        # m <- beta1 m + (1 - beta1) g, written as torch computes it (lerp)
        m += (1 - beta1) * (g - m)
        v *= beta2
        v += (1 - beta2) * g * g
        if self.amsgrad:
            vmax = state["max_exp_avg_sq"]
            np.maximum(vmax, v, out=vmax)
            v = vmax
        if self.bias_correction:
            bias_correction1 = 1 - beta1 ** t
            bias_correction2 = 1 - beta2 ** t
        else:
            bias_correction1 = bias_correction2 = 1.0
        step_size = self.lr / bias_correction1
        if self.eps_inside_sqrt:
            denom = np.sqrt(v / bias_correction2 + self.eps)
        else:
            denom = np.sqrt(v) / bias_correction2 ** 0.5 + self.eps
        w -= step_size * m / denom


class AdaBelief(Optimizer):
    """AdaBelief (Zhuang et al., NeurIPS 2020, Algorithm 2): Adam whose denominator tracks the
    variance of the gradient around its running mean, (g - m)^2, instead of g^2.

    Update at step t = 1, 2, ... (elementwise; m = s = 0 before t = 1):

        g     <- g + weight_decay * w                  (only if weight_decay != 0)
        m     <- beta1 * m + (1 - beta1) * g
        s     <- beta2 * s + (1 - beta2) * (g - m)^2 + eps
        m_hat <- m / (1 - beta1^t),   s_hat <- s / (1 - beta2^t)
        w     <- w - lr * m_hat / (sqrt(s_hat) + eps)

    eps appears twice, as in the paper: inside s (so it is added at every step) and outside the
    square root. Because it sits inside s, the authors' default eps = 1e-16 acts like Adam's 1e-8.
    When the gradient agrees with its "belief" m, s is small and the step is large; when it
    disagrees, the step is small.

    Parameters
    ----------
    lr : float, default 1e-3              >= 0.
    betas : (float, float), default (0.9, 0.999)   each in [0, 1).
    eps : float, default 1e-16            >= 0.
    weight_decay : float, default 0       L2 penalty added to g, >= 0.
    check_finite : bool, default True     see ``Optimizer``.

    State: ``exp_avg`` (m), ``exp_avg_var`` (s).
    """

    _hyper_names = ("lr", "betas", "eps", "weight_decay")

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-16, weight_decay=0, *,
                 check_finite=True):
        super().__init__(lr, check_finite=check_finite)
        self.betas = _betas(betas)
        self.eps = _nonneg(eps, "eps")
        self.weight_decay = _nonneg(weight_decay, "weight_decay (L2 penalty)")

    def _init_state(self, w):
        return {"exp_avg": np.zeros_like(w), "exp_avg_var": np.zeros_like(w)}

    def _update(self, w, g, state):
        t = state["step"]
        beta1, beta2 = self.betas
        if not _is_zero(self.weight_decay):
            g = g + self.weight_decay * w
        m, s = state["exp_avg"], state["exp_avg_var"]
        m *= beta1
        m += (1 - beta1) * g
        d = g - m
        s *= beta2
        s += (1 - beta2) * d * d
        s += self.eps
        step_size = self.lr / (1 - beta1 ** t)
        denom = np.sqrt(s) / (1 - beta2 ** t) ** 0.5 + self.eps
        w -= step_size * m / denom


def _betas(betas):
    """Validate betas = (beta1, beta2), each in [0, 1)."""
    if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
        raise ValueError(
            f"betas must be a pair (beta1, beta2) such as (0.9, 0.999), got {betas!r}"
        )
    return (_unit_interval(betas[0], "betas[0] (beta1)"),
            _unit_interval(betas[1], "betas[1] (beta2)"))
