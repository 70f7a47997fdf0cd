"""SGD (PyTorch's formulas), classical momentum (Polyak 1964) and Nesterov's accelerated gradient
(Nesterov 1983): chapters 02, 05 and 06."""
from __future__ import annotations

from functools import partial

import numpy as np

from .. import _validate as V
from .base import LR, WEIGHT_DECAY, Optimizer, _is_zero, flag, unit_interval

__all__ = ["SGD", "Momentum", "Nesterov"]


def _decayed(w, g, wd, ki):
    """g + weight_decay * w (L2 penalty) in scratch array 0, or g itself when weight_decay = 0."""
    if _is_zero(wd):
        return g
    out = ki.scratch(0)
    np.multiply(w, wd, out=out)
    out += g
    return out


def _descend(w, d, lr, ki, i=1):
    """w <- w - lr * d in place, through scratch array i."""
    tmp = ki.scratch(i)
    np.multiply(d, lr, out=tmp)
    w -= tmp


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
    param_groups : list of dicts, optional  per-key hyperparameters (see ``Optimizer``).
    check_finite : bool, default True  see ``Optimizer``.

    There is no eps. State: ``state[key]["momentum_buffer"]`` (only when momentum != 0).
    """

    _rules = {
        "lr": LR,
        "momentum": unit_interval("momentum (mu)"),
        "dampening": partial(V.interval, label="dampening", lo=0, hi=1, array=True),
        "nesterov": flag("nesterov"),
        "weight_decay": WEIGHT_DECAY,
    }

    def __init__(self, lr, momentum=0, dampening=0, nesterov=False, weight_decay=0, *,
                 param_groups=None, check_finite=True):
        super().__init__(dict(lr=lr, momentum=momentum, dampening=dampening, nesterov=nesterov,
                              weight_decay=weight_decay),
                         param_groups=param_groups, check_finite=check_finite)

    def _check_together(self, h):
        if not h["nesterov"]:
            return
        mu = np.asarray(h["momentum"])
        if (mu <= 0).any():
            raise ValueError(f"nesterov=True requires momentum > 0 (Nesterov is a kind of momentum), "
                             f"got momentum={V.fmt(mu.min())}")
        if not _is_zero(h["dampening"]):
            raise ValueError(f"nesterov=True requires dampening = 0 (as in PyTorch), got "
                             f"dampening={V.fmt(np.max(h['dampening']))}")

    def _update(self, w, g, state, h, ki):
        g = _decayed(w, g, h.weight_decay, ki)
        mu = h.momentum
        if _is_zero(mu):
            _descend(w, g, h.lr, ki)
            return
        buf = state.get("momentum_buffer")
        if buf is None:                                 # b <- g on first use, as in torch
            buf = state["momentum_buffer"] = np.array(g)
            ki.buffers.append("momentum_buffer")
        else:
            buf *= mu
            if _is_zero(h.dampening):
                buf += g
            else:
                tmp = ki.scratch(1)
                np.multiply(g, 1 - h.dampening, out=tmp)
                buf += tmp
        d = buf
        if h.nesterov:
            d = ki.scratch(2)
            np.multiply(buf, mu, out=d)
            d += g
        if isinstance(mu, np.ndarray) and not mu.all():
            # settings with momentum exactly 0 are plain SGD, as in torch (dampening ignored)
            if d is buf:
                d = ki.scratch(2)
                np.copyto(d, buf)
            np.copyto(d, g, where=np.broadcast_to(mu == 0, d.shape))
        _descend(w, d, h.lr, ki)


class Momentum(Optimizer):
    """Gradient descent with (heavy-ball) momentum, in the lecture form or PyTorch's form.

    form="lecture" (default; the Czech deck, Nielsen's book): velocity v, friction 1 - mu

        v <- mu * v - eta * g          (v = 0 before step t = 1)
        w <- w + v

    form="pytorch" (torch.optim.SGD with momentum, dampening 0): buffer b

        b <- mu * b + g                (b = 0 before step t = 1, so b = g at t = 1)
        w <- w - eta * b

    In both forms g includes the L2 penalty: g <- g + weight_decay * w (only if weight_decay != 0),
    as in torch.optim.SGD.

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
    weight_decay : float, default 0  L2 penalty, >= 0 (as SGD's).
    allow_unstable : bool, default False
        Allow any finite mu, e.g. mu > 1 (negative friction: |v| grows even with zero gradient)
        or mu < 0 (v flips sign every step) -- for the chapter-05 exercise that shows what
        happens. Without it such mu raises ValueError.
    param_groups : list of dicts, optional  per-key hyperparameters (see ``Optimizer``).
    check_finite : bool, default True   see ``Optimizer``.

    No eps. Step counter t starts at 1. State: ``state[key]["v"]`` (lecture) or
    ``state[key]["momentum_buffer"]`` (pytorch).
    """

    _rules = {
        "lr": LR,
        "momentum": None,            # set per instance: depends on allow_unstable
        "form": None,
        "weight_decay": WEIGHT_DECAY,
    }
    _forms = ("lecture", "pytorch")
    _velocity_form = "lecture"        # the form that keeps a velocity v (the other: a buffer b)
    _nesterov = False
    _quiet = ("weight_decay",)

    def __init__(self, lr, momentum=0.9, form="lecture", weight_decay=0, *,
                 allow_unstable=False, param_groups=None, check_finite=True):
        self.allow_unstable = V.flag(allow_unstable, "allow_unstable")
        super().__init__(dict(lr=lr, momentum=momentum, form=form, weight_decay=weight_decay),
                         param_groups=param_groups, check_finite=check_finite)

    def _rule(self, name):
        if name == "form":
            return partial(V.choice, label="form", options=self._forms)
        if name != "momentum":
            return self._rules[name]
        if self.allow_unstable:
            return partial(V.real, label="momentum (mu)", array=True)
        return partial(V.interval, label="momentum (mu)", lo=0, hi=1, array=True,
                       rule="must be in [0, 1] (friction 1 - mu between 0 and 1)",
                       hint="; to see what happens outside that range on purpose, pass "
                            "allow_unstable=True")

    def _buffer_name(self, h):
        return "v" if h.form == self._velocity_form else "momentum_buffer"

    def _init_state(self, w, h):
        return {self._buffer_name(h): np.zeros_like(w)}

    def _update(self, w, g, state, h, ki):
        if h.form == self._velocity_form:
            # v <- mu v - eta g, w <- w + v (for Nesterov g was taken at the look-ahead w + mu v,
            # and so is the L2 term)
            v = state["v"]
            if not _is_zero(h.weight_decay):
                at = ki.scratch(0)
                if self._nesterov:
                    np.multiply(v, h.momentum, out=at)
                    at += w
                else:
                    np.copyto(at, w)
                at *= h.weight_decay
                at += g
                g = at
            v *= h.momentum
            tmp = ki.scratch(1)
            np.multiply(g, h.lr, out=tmp)
            v -= tmp
            w += v
            return
        g = _decayed(w, g, h.weight_decay, ki)
        b = state["momentum_buffer"]
        b *= h.momentum
        b += g
        if self._nesterov:                                # PyTorch's Nesterov: g + mu b
            d = ki.scratch(2)
            np.multiply(b, h.momentum, out=d)
            d += g
            b = d
        _descend(w, b, h.lr, ki)


class Nesterov(Momentum):
    """Nesterov accelerated gradient (NAG), in the look-ahead (lecture) form or PyTorch's form.

    form="lookahead" (default; the lecture: "jump, evaluate, correct"): velocity v

        g <- gradient at the look-ahead point w + mu * v     (``gradient_point`` returns it)
        v <- mu * v - eta * g                                (v = 0 before step t = 1)
        w <- w + v

    form="pytorch" (torch.optim.SGD(nesterov=True), dampening 0): buffer b, g at w itself

        b <- mu * b + g                                      (b = g at t = 1)
        w <- w - eta * (g + mu * b)

    In both forms g includes the L2 penalty: g <- g + weight_decay * w (only if weight_decay != 0;
    in the look-ahead form w is the look-ahead point, where the gradient is taken).

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
    weight_decay : float, default 0  L2 penalty, >= 0.
    param_groups : list of dicts, optional  per-key hyperparameters (see ``Optimizer``).
    check_finite : bool, default True   see ``Optimizer``.

    No eps. Step counter t starts at 1. State: ``state[key]["v"]`` (lookahead) or
    ``state[key]["momentum_buffer"]`` (pytorch). ``lookahead`` is True in the look-ahead form.
    """

    _forms = ("lookahead", "pytorch")
    _velocity_form = "lookahead"
    _nesterov = True

    def __init__(self, lr, momentum=0.9, form="lookahead", weight_decay=0, *,
                 allow_unstable=False, param_groups=None, check_finite=True):
        super().__init__(lr, momentum, form, weight_decay, allow_unstable=allow_unstable,
                         param_groups=param_groups, check_finite=check_finite)

    @property
    def lookahead(self) -> bool:
        """True when some key is run in the look-ahead form (gradient at w + mu v)."""
        forms = [self.defaults["form"]] + [o["form"] for _, o in self._groups if "form" in o]
        return "lookahead" in forms

    def gradient_point(self, params):
        """lookahead form: new arrays w + mu v (w itself before the first step); else params."""
        if not self.lookahead:
            return params
        out = {}
        for key, w in params.items():
            state, ki = self.state.get(key), self._info.get(key)
            if state is None or ki is None or "v" not in state:
                out[key] = w if state is not None else w.copy()
            else:
                out[key] = w + ki.h.momentum * state["v"]
        return out
