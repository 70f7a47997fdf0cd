"""Adaptive learning rates: AdaGrad (Duchi et al. 2011), RMSprop (Hinton, lecture 6e), Adam (Kingma and
Ba 2015) and AdaBelief (Zhuang et al. 2020): chapter 07."""
from __future__ import annotations

from functools import partial

import numpy as np

from .. import _validate as V
from .base import EPS, LR, WEIGHT_DECAY, Optimizer, _is_zero, flag, unit_interval
from .sgd import _decayed, _descend

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
    param_groups : list of dicts, optional   per-key hyperparameters (see ``Optimizer``).
    check_finite : bool, default True        see ``Optimizer``.

    State: ``state[key]["sum"]`` (= G).
    """

    _rules = {
        "lr": LR,
        "lr_decay": partial(V.nonneg, label="lr_decay", array=True),
        "weight_decay": WEIGHT_DECAY,
        "initial_accumulator_value": partial(V.nonneg, label="initial_accumulator_value",
                                             array=True),
        "eps": EPS,
        "eps_inside_sqrt": flag("eps_inside_sqrt"),
    }

    def __init__(self, lr=0.01, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, eps_inside_sqrt=False, *, param_groups=None, check_finite=True):
        super().__init__(dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                              initial_accumulator_value=initial_accumulator_value, eps=eps,
                              eps_inside_sqrt=eps_inside_sqrt),
                         param_groups=param_groups, check_finite=check_finite)

    def _init_state(self, w, h):
        # broadcast_to + astype always gives a fresh array, also for a 0-d parameter
        return {"sum": np.broadcast_to(h.initial_accumulator_value, w.shape).astype(w.dtype)}

    def _update(self, w, g, state, h, ki):
        g = _decayed(w, g, h.weight_decay, ki)
        clr = h.lr / (1 + (state["step"] - 1) * h.lr_decay)
        G, tmp = state["sum"], ki.scratch(1)
        np.multiply(g, g, out=tmp)
        G += tmp
        _denominator(G, h.eps, h.eps_inside_sqrt, tmp)
        np.divide(g, tmp, out=tmp)
        tmp *= clr
        w -= tmp


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
    param_groups : list of dicts, optional   per-key hyperparameters (see ``Optimizer``).
    check_finite : bool, default True  see ``Optimizer``.

    State: ``square_avg`` (S), ``grad_avg`` (gbar, centered only), ``momentum_buffer`` (b).
    """

    _rules = {
        "lr": LR,
        "alpha": unit_interval("alpha (decay rate of the squared-gradient average)"),
        "eps": EPS,
        "weight_decay": WEIGHT_DECAY,
        "momentum": unit_interval("momentum (mu)"),
        "centered": flag("centered"),
        "eps_inside_sqrt": flag("eps_inside_sqrt"),
    }

    def __init__(self, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, eps_inside_sqrt=False, *, param_groups=None, check_finite=True):
        super().__init__(dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                              momentum=momentum, centered=centered,
                              eps_inside_sqrt=eps_inside_sqrt),
                         param_groups=param_groups, check_finite=check_finite)

    def _init_state(self, w, h):
        state = {"square_avg": np.zeros_like(w)}
        if h.centered:
            state["grad_avg"] = np.zeros_like(w)
        if not _is_zero(h.momentum):
            state["momentum_buffer"] = np.zeros_like(w)
        return state

    def _update(self, w, g, state, h, ki):
        alpha = h.alpha
        g = _decayed(w, g, h.weight_decay, ki)
        S, tmp = state["square_avg"], ki.scratch(1)
        S *= alpha
        np.multiply(g, 1 - alpha, out=tmp)
        tmp *= g
        S += tmp
        var = S
        if h.centered:
            gbar = state["grad_avg"]
            _lerp(gbar, g, 1 - alpha, tmp)
            np.multiply(gbar, gbar, out=tmp)
            np.subtract(S, tmp, out=tmp)
            var = tmp
        _denominator(var, h.eps, h.eps_inside_sqrt, tmp)
        np.divide(g, tmp, out=tmp)
        if not _is_zero(h.momentum):
            b = state["momentum_buffer"]
            b *= h.momentum
            b += tmp
            _descend(w, b, h.lr, ki)
        else:
            tmp *= h.lr
            w -= tmp


class _WithBetas(Optimizer):
    """Adam and AdaBelief: ``betas`` is a pair, checked by :func:`_betas`."""

    def _rule(self, name):
        return _betas if name == "betas" else self._rules[name]


class Adam(_WithBetas):
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
    param_groups : list of dicts, optional   per-key hyperparameters (see ``Optimizer``).
    check_finite : bool, default True     see ``Optimizer``.

    Memory: two extra arrays per parameter (three with amsgrad). State: ``exp_avg`` (m),
    ``exp_avg_sq`` (v), ``max_exp_avg_sq`` (vmax, amsgrad only).
    """

    _rules = {
        "lr": LR,
        "betas": None,                           # a pair, checked by _betas
        "eps": EPS,
        "weight_decay": WEIGHT_DECAY,
        "amsgrad": flag("amsgrad"),
        "bias_correction": flag("bias_correction"),
        "eps_inside_sqrt": flag("eps_inside_sqrt"),
    }

    def __init__(self, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False,
                 bias_correction=True, eps_inside_sqrt=False, *, param_groups=None,
                 check_finite=True):
        super().__init__(dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                              amsgrad=amsgrad, bias_correction=bias_correction,
                              eps_inside_sqrt=eps_inside_sqrt),
                         param_groups=param_groups, check_finite=check_finite)

    def _init_state(self, w, h):
        state = {"exp_avg": np.zeros_like(w), "exp_avg_sq": np.zeros_like(w)}
        if h.amsgrad:
            state["max_exp_avg_sq"] = np.zeros_like(w)
        return state

    def _update(self, w, g, state, h, ki):
        t = state["step"]
        beta1, beta2 = h.betas
        g = _decayed(w, g, h.weight_decay, ki)
        m, v, tmp = state["exp_avg"], state["exp_avg_sq"], ki.scratch(1)
        _lerp(m, g, 1 - beta1, tmp)                     # m <- beta1 m + (1 - beta1) g, as torch
        v *= beta2
        np.multiply(g, 1 - beta2, out=tmp)
        tmp *= g
        v += tmp                                        # v <- beta2 v + (1 - beta2) g^2
        if h.amsgrad:
            vmax = state["max_exp_avg_sq"]
            np.maximum(vmax, v, out=vmax)
            v = vmax
        if h.bias_correction:
            bias_correction1, bias_correction2 = 1 - beta1 ** t, 1 - beta2 ** t
        else:
            bias_correction1 = bias_correction2 = 1.0
        step_size = h.lr / bias_correction1
        if h.eps_inside_sqrt:
            np.divide(v, bias_correction2, out=tmp)
            tmp += h.eps
            np.sqrt(tmp, out=tmp)
        else:
            np.sqrt(v, out=tmp)
            tmp /= bias_correction2 ** 0.5
            tmp += h.eps
        np.divide(m, tmp, out=tmp)
        tmp *= step_size
        w -= tmp


class AdaBelief(_WithBetas):
    """AdaBelief (Zhuang et al., NeurIPS 2020, Algorithm 2): Adam whose denominator tracks the
    variance of the gradient around its running mean, (g - m)^2, instead of g^2.

    Update at step t = 1, 2, ... (elementwise; m = s = 0 before t = 1):

        g     <- g + weight_decay * w                  (only if weight_decay != 0)
        m     <- beta1 * m + (1 - beta1) * g
        s     <- beta2 * s + (1 - beta2) * (g - m)^2 + eps
        m_hat <- m / (1 - beta1^t),   s_hat <- s / (1 - beta2^t)
        w     <- w - lr * m_hat / (sqrt(s_hat) + eps)

    Line by line against ``Adam`` (Kingma and Ba 2015, Algorithm 1):

        Adam                                      AdaBelief
        m <- beta1 m + (1 - beta1) g              the same
        v <- beta2 v + (1 - beta2) g^2            s <- beta2 s + (1 - beta2) (g - m)^2 + eps
                                                    * (g - m)^2 with the m just updated (m_t,
                                                      not m_{t-1}): the gradient's squared
                                                      deviation from its "belief" m
                                                    * + eps inside the recursion, at every step
        m_hat = m / (1 - beta1^t)                 the same
        v_hat = v / (1 - beta2^t)                 s_hat = s / (1 - beta2^t)
        w <- w - lr m_hat / (sqrt(v_hat) + eps)   w <- w - lr m_hat / (sqrt(s_hat) + eps)
                                                    (eps outside the root as well)
        default eps = 1e-8                        default eps = 1e-16 (the authors' package)

    eps appears twice, as in the paper: inside s (so it is added at every step and accumulates
    to about eps / (1 - beta2) in s) and outside the square root. Because it sits inside s, the
    small default 1e-16 already keeps the denominator near sqrt(1e-16 / (1 - beta2)) ~ 3e-7 at
    least. When the gradient agrees with its belief m, s is small and the step is large; when it
    disagrees, the step is small. The paper's projection onto a feasible set is the identity
    here (unconstrained w). AMSGrad and bias_correction switches of Adam are not offered.

    Parameters
    ----------
    lr : float, default 1e-3              >= 0.
    betas : (float, float), default (0.9, 0.999)   each in [0, 1).
    eps : float, default 1e-16            >= 0.
    weight_decay : float, default 0       L2 penalty added to g, >= 0.
    param_groups : list of dicts, optional   per-key hyperparameters (see ``Optimizer``).
    check_finite : bool, default True     see ``Optimizer``.

    State: ``exp_avg`` (m), ``exp_avg_var`` (s).
    """

    _rules = {"lr": LR, "betas": None, "eps": EPS, "weight_decay": WEIGHT_DECAY}

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-16, weight_decay=0, *,
                 param_groups=None, check_finite=True):
        super().__init__(dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay),
                         param_groups=param_groups, check_finite=check_finite)

    def _init_state(self, w, h):
        return {"exp_avg": np.zeros_like(w), "exp_avg_var": np.zeros_like(w)}

    def _update(self, w, g, state, h, ki):
        t = state["step"]
        beta1, beta2 = h.betas
        g = _decayed(w, g, h.weight_decay, ki)
        m, s, tmp = state["exp_avg"], state["exp_avg_var"], ki.scratch(1)
        m *= beta1
        np.multiply(g, 1 - beta1, out=tmp)
        m += tmp                                        # m <- beta1 m + (1 - beta1) g
        np.subtract(g, m, out=tmp)                      # g - m, with the new m
        np.multiply(tmp, tmp, out=tmp)
        tmp *= 1 - beta2
        s *= beta2
        s += tmp
        s += h.eps                                      # s <- beta2 s + (1 - beta2)(g - m)^2 + eps
        np.sqrt(s, out=tmp)
        tmp /= (1 - beta2 ** t) ** 0.5
        tmp += h.eps                                    # sqrt(s_hat) + eps
        np.divide(m, tmp, out=tmp)
        tmp *= h.lr / (1 - beta1 ** t)                  # lr * m_hat / (sqrt(s_hat) + eps)
        w -= tmp


def _lerp(m, g, weight, tmp):
    """m <- m + weight * (g - m) in place, as torch's lerp_ (weight < 1/2)."""
    np.subtract(g, m, out=tmp)
    tmp *= weight
    m += tmp


def _denominator(var, eps, inside, out):
    """sqrt(var) + eps, or sqrt(var + eps) with eps_inside_sqrt (the lecture form), into out."""
    if inside:
        np.add(var, eps, out=out)
        np.sqrt(out, out=out)
    else:
        np.sqrt(var, out=out)
        out += eps


def _betas(betas):
    """Validate betas = (beta1, beta2), each in [0, 1)."""
    if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
        raise ValueError(
            f"betas must be a pair (beta1, beta2) such as (0.9, 0.999), got {betas!r}"
        )
    return (unit_interval("betas[0] (beta1)")(betas[0]),
            unit_interval("betas[1] (beta2)")(betas[1]))
