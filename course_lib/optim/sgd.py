"""SGD (PyTorch's formulas), classical momentum (Polyak 1964) and Nesterov's accelerated gradient
(Nesterov 1983): chapters 02, 05 and 06."""
from __future__ import annotations

import numpy as np

from .base import Optimizer, _flag, _fmt, _hyper, _is_zero, _nonneg, _unit_interval

__all__ = ["SGD", "Momentum", "Nesterov"]


class SGD(Optimizer):
    """Stochastic gradient descent, exactly torch.optim.SGD.

    Update at step t = 1, 2, ... (g = gradient at w):

        g <- g + weight_decay * w                       (only if weight_decay != 0)
        if momentum != 0:
            b <- g                                      at t = 1
            b <- momentum * b + (1 - dampening) * g     at t > 1
            d <- g + momentum * b   if nesterov else   d <- b
        else:
            d <- g
        w <- w - lr * d

    With momentum = 0 this is plain gradient descent w <- w - eta g (chapter 02).

    Parameters (defaults are torch's)
    ----------
    lr : float or ndarray          learning rate eta, >= 0. Required.
    momentum : float, default 0    mu, in [0, 1). Momentum buffer b as in PyTorch (not the lecture
                                   velocity; see ``Momentum``).
    dampening : float, default 0   in [0, 1]; scales the new gradient in the buffer (not at t = 1).
    nesterov : bool, default False Nesterov momentum in PyTorch's form; needs momentum > 0 and
                                   dampening = 0 (see ``Nesterov`` for the look-ahead form).
    weight_decay : float, default 0  L2 penalty, >= 0.
    check_finite : bool, default True  see ``Optimizer``.

    There is no eps. State: ``state[key]["momentum_buffer"]`` (only when momentum != 0).
    """

    _hyper_names = ("lr", "momentum", "dampening", "nesterov", "weight_decay")

    def __init__(self, lr, momentum=0, dampening=0, nesterov=False, weight_decay=0, *,
                 check_finite=True):
        super().__init__(lr, check_finite=check_finite)
        self.momentum = _unit_interval(momentum, "momentum (mu)")
        self.dampening = _hyper(dampening, "dampening", rule="must be in [0, 1]",
                                ok=lambda a: (a >= 0) & (a <= 1))
        self.nesterov = _flag(nesterov, "nesterov")
        self.weight_decay = _nonneg(weight_decay, "weight_decay (L2 penalty)")
        if self.nesterov:
            mu = np.asarray(self.momentum)
            if (mu <= 0).any():
                raise ValueError(
                    f"nesterov=True requires momentum > 0 (Nesterov is a kind of momentum), "
                    f"got momentum={_fmt(mu.min())}"
                )
            if not _is_zero(self.dampening):
                raise ValueError(
                    f"nesterov=True requires dampening = 0 (as in PyTorch), got "
                    f"dampening={_fmt(np.max(self.dampening))}"
                )

    def _update(self, w, g, state):
        wd, mu = self.weight_decay, self.momentum
        if not _is_zero(wd):
            g = g + wd * w
        d = g
        if not _is_zero(mu):
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.array(g, dtype=float)  # 0-d stays an array
            else:
                buf *= mu
                buf += (1 - self.dampening) * g
            d = g + mu * buf if self.nesterov else buf
            if isinstance(mu, np.ndarray) and not mu.all():
                # settings with momentum exactly 0 are plain SGD, as torch (ignores dampening)
                d = np.where(mu != 0, d, g)
        w -= self.lr * d


class Momentum(Optimizer):
    """Gradient descent with (heavy-ball) momentum, in the lecture form or PyTorch's form.

    form="lecture" (default; the Czech deck, Nielsen's book): velocity v, friction 1 - mu

        v <- mu * v - eta * g          (v = 0 before step t = 1)
        w <- w + v

    form="pytorch" (torch.optim.SGD with momentum, dampening 0): buffer b

        b <- mu * b + g                (b = 0 before step t = 1, so b = g at t = 1)
        w <- w - eta * b

    A third form appears in the Russian deck: h <- alpha * h + eta * g, w <- w - h. It is the
    lecture form with h = -v (and alpha = mu), so it needs no option of its own. Unrolled, all of
    them move by an exponential average of past gradients,
    eta g_t + mu eta g_{t-1} + mu^2 eta g_{t-2} + ...

    The lecture and PyTorch forms are identical while eta is constant (v = -eta b at every step).
    They differ once eta changes (a schedule): the lecture velocity carries the *old* eta inside
    it (v is a sum of eta_s g_s), while PyTorch multiplies the whole buffer by the *new* eta.

    Parameters
    ----------
    lr : float or ndarray            eta, >= 0. Required.
    momentum : float, default 0.9    mu in [0, 1]: mu = 0 is plain GD, mu = 1 is no friction.
    form : "lecture" or "pytorch", default "lecture".
    allow_unstable : bool, default False
        Allow any finite mu, e.g. mu > 1 (negative friction: |v| grows even with zero gradient)
        or mu < 0 (v flips sign every step) -- for the chapter-05 exercise that shows what
        happens. Without it such mu raises ValueError.
    check_finite : bool, default True   see ``Optimizer``.

    No eps, no weight decay. Step counter t starts at 1. State: ``state[key]["v"]`` (lecture) or
    ``state[key]["momentum_buffer"]`` (pytorch).
    """

    _hyper_names = ("lr", "momentum", "form")
    _forms = ("lecture", "pytorch")

    def __init__(self, lr, momentum=0.9, form="lecture", *, allow_unstable=False,
                 check_finite=True):
        super().__init__(lr, check_finite=check_finite)
        if form not in self._forms:
            raise ValueError(
                f"form must be {' or '.join(repr(f) for f in self._forms)}, got {form!r}"
            )
        self.form = form
        self.allow_unstable = _flag(allow_unstable, "allow_unstable")
        if self.allow_unstable:
            self.momentum = _hyper(momentum, "momentum (mu)")
        else:
            self.momentum = _hyper(
                momentum, "momentum (mu)",
                rule="must be in [0, 1] (friction 1 - mu between 0 and 1)",
                ok=lambda a: (a >= 0) & (a <= 1),
                hint="; to see what happens outside that range on purpose, pass "
                     "allow_unstable=True")

    def _init_state(self, w):
        key = "v" if self.form == "lecture" else "momentum_buffer"
        return {key: np.zeros_like(w)}

    def _velocity_step(self, w, g, v):
        """The lecture form, in place: v <- mu v - eta g, w <- w + v."""
        v *= self.momentum
        v -= self.lr * g
        w += v

    def _update(self, w, g, state):
        if self.form == "lecture":
            self._velocity_step(w, g, state["v"])
        else:
            b = state["momentum_buffer"]
            b *= self.momentum
            b += g
            w -= self.lr * b


class Nesterov(Momentum):
    """Nesterov accelerated gradient (NAG), in the look-ahead (lecture) form or PyTorch's form.

    form="lookahead" (default; the lecture: "jump, evaluate, correct"): velocity v

        g <- gradient at the look-ahead point w + mu * v     (``gradient_point`` returns it)
        v <- mu * v - eta * g                                (v = 0 before step t = 1)
        w <- w + v

    form="pytorch" (torch.optim.SGD(nesterov=True), dampening 0): buffer b, g at w itself

        b <- mu * b + g                                      (b = g at t = 1)
        w <- w - eta * (g + mu * b)

    Why they are the same algorithm (constant eta): write u = w + mu v for the look-ahead point and
    b = -v / eta. Then the look-ahead update gives
        u_new = w_new + mu v_new = u - eta g(u) + mu v_new,   v_new = mu v - eta g(u),
    i.e.  b_new = mu b + g(u)  and  u_new = u - eta (g(u) + mu b_new)  -- exactly the PyTorch
    update, whose iterate *is* the look-ahead point: w_pytorch = w_lookahead + mu v at every step
    (they start together because v = 0 at t = 1). PyTorch's form needs the gradient only at its own
    iterate, which is why libraries use it.

    Parameters
    ----------
    lr : float or ndarray            eta, >= 0. Required.
    momentum : float, default 0.9    mu in [0, 1] (any finite mu with allow_unstable=True).
    form : "lookahead" or "pytorch", default "lookahead".
    check_finite : bool, default True   see ``Optimizer``.

    No eps, no weight decay. Step counter t starts at 1. State: ``state[key]["v"]`` (lookahead) or
    ``state[key]["momentum_buffer"]`` (pytorch).
    """

    _forms = ("lookahead", "pytorch")

    def __init__(self, lr, momentum=0.9, form="lookahead", *, allow_unstable=False,
                 check_finite=True):
        super().__init__(lr, momentum, form, allow_unstable=allow_unstable,
                         check_finite=check_finite)

    def _init_state(self, w):
        key = "v" if self.form == "lookahead" else "momentum_buffer"
        return {key: np.zeros_like(w)}

    def gradient_point(self, params):
        """lookahead form: new arrays w + mu v (w itself before the first step); else params."""
        if self.form != "lookahead":
            return params
        out = {}
        for key, w in params.items():
            state = self.state.get(key)
            out[key] = w.copy() if state is None else w + self.momentum * state["v"]
        return out

    def _update(self, w, g, state):
        if self.form == "lookahead":
            self._velocity_step(w, g, state["v"])    # g was taken at the look-ahead point w + mu v
        else:
            b = state["momentum_buffer"]
            b *= self.momentum
            b += g
            w -= self.lr * (g + self.momentum * b)


# --------------------------------------------------------------------------------------------
# adaptive learning rates
# --------------------------------------------------------------------------------------------
