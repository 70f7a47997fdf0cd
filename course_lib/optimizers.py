"""Gradient-based optimizers written from scratch in NumPy (chapters 02, 05, 06, 07).

Every optimizer has the same shape (as in *Deep Learning from Scratch*), so a student can swap one
for another without changing anything else::

    opt = Adam(lr=0.01)                      # hyperparameters in the constructor
    params = {"w": np.array([-7.0, 2.0])}    # a dict of float NumPy arrays
    for t in range(1, 101):
        at = opt.gradient_point(params)      # where to evaluate the gradient (== params, except
        grads = {"w": objective.grad(at["w"])}   # for the look-ahead form of Nesterov)
        opt.step(params, grads)              # updates params IN PLACE

Conventions shared by all classes
---------------------------------
* Hyperparameter names and defaults are PyTorch's (``lr``, ``momentum``, ``dampening``,
  ``nesterov``, ``alpha``, ``betas``, ``eps``, ``weight_decay``, ``lr_decay``,
  ``initial_accumulator_value``, ``centered``, ``amsgrad``). Where the lecture decks use a different
  published form, a keyword selects it (``form=...``, ``eps_inside_sqrt=True``,
  ``bias_correction=False``) and the docstring names both forms.
* State is kept per parameter, keyed by the params dict key, and created on the first ``step``
  that sees that key: ``opt.state["w"]`` is a dict holding ``"step"`` and the buffers (PyTorch's
  names where PyTorch has the same buffer: ``momentum_buffer``, ``sum``, ``square_avg``,
  ``grad_avg``, ``exp_avg``, ``exp_avg_sq``, ``max_exp_avg_sq``).
* The step counter t starts at 1: the first call of ``step`` is step t = 1 (as in torch.optim,
  where ``state["step"]`` is incremented *before* it is used).
* ``weight_decay`` is the classic L2 penalty of torch.optim (not AdamW's decoupled decay): it adds
  ``weight_decay * w`` to the gradient before anything else.
* Vectorised mode: any hyperparameter may be a NumPy array that broadcasts against the parameter
  arrays. With ``params = {"w": W}``, ``W`` of shape (K, d) and ``lr`` of shape (K, 1), row k of
  ``W`` is run with ``lr[k]``: K settings at once, exactly as K separate runs would go.
* Bad input raises ``ValueError`` with a message that names the parameter and the value. A
  gradient or parameter that becomes NaN/inf raises ``DivergenceError`` (a subclass of both
  ``FloatingPointError`` and ``ValueError``) saying at which step the run diverged; NaN is never
  propagated silently. In vectorised sweeps where some settings are *expected* to diverge, pass
  ``check_finite=False`` and mask the diverged rows yourself.
"""
from __future__ import annotations

import numpy as np

__all__ = [
    "DivergenceError",
    "Optimizer",
    "SGD",
    "Momentum",
    "Nesterov",
    "Adagrad",
    "RMSprop",
    "Adam",
    "AdaBelief",
]


class DivergenceError(FloatingPointError, ValueError):
    """A gradient or a parameter became NaN/inf: the run has diverged."""


# --------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------

def _fmt(x) -> str:
    """A number as a student would write it: -0.1, 1e-08, nan, inf."""
    return repr(float(x))


def _hyper(value, label, *, rule=None, ok=None, hint=""):
    """Validate one hyperparameter and return it as a Python float or a float64 array.

    label: how the message names it, e.g. "lr (learning rate)".
    ok:    a function of the float array returning a boolean mask of allowed entries.
    rule:  the words for the condition, e.g. "must be in [0, 1)".
    hint:  appended after the value when the rule is broken, e.g. "; pass ... to allow it".
    Arrays are checked elementwise; the message quotes the first offending entry and its index.
    """
    if isinstance(value, (bool, np.bool_)) or value is None:
        raise ValueError(f"{label} must be a number or a NumPy array of numbers, got {value!r}")
    try:
        arr = np.array(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(
            f"{label} must be a number or a NumPy array of numbers, got {value!r}"
        ) from None
    bad = ~np.isfinite(arr)
    reason, tail = "must be a finite number", ""
    if not bad.any() and ok is not None:
        bad = ~np.asarray(ok(arr), dtype=bool)
        reason, tail = rule, hint
    if bad.any():
        if arr.ndim == 0:
            raise ValueError(f"{label} {reason}, got {_fmt(arr)}{tail}")
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{label} {reason}, got {_fmt(arr[idx])} (entry {idx} of the array of shape "
            f"{arr.shape}){tail}"
        )
    return float(arr) if arr.ndim == 0 else arr


def _flag(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _nonneg(value, label):
    return _hyper(value, label, rule="must be >= 0", ok=lambda a: a >= 0)


def _unit_interval(value, label):
    return _hyper(value, label, rule="must be in [0, 1)", ok=lambda a: (a >= 0) & (a < 1))


def _is_zero(h) -> bool:
    """True if a (scalar or array) hyperparameter is zero everywhere."""
    return not np.any(h)


def _show(h) -> str:
    if isinstance(h, np.ndarray):
        return f"array(shape={h.shape}, min={h.min():g}, max={h.max():g})"
    if isinstance(h, tuple):
        return "(" + ", ".join(_show(x) for x in h) + ")"
    if isinstance(h, float) and h == 0:
        return "0"
    return repr(h)


# --------------------------------------------------------------------------------------------
# base class
# --------------------------------------------------------------------------------------------

class Optimizer:
    """Base class: the one interface every optimizer in the course follows.

    Parameters
    ----------
    lr : float or ndarray
        Learning rate eta, >= 0 (0 is allowed, as in torch.optim, and means "no update"). It is a
        validated property: ``opt.lr = schedule(t)`` between steps changes it (that is how the
        runner applies a learning-rate schedule).
    check_finite : bool, default True
        Raise ``DivergenceError`` as soon as a gradient or an updated parameter is NaN/inf.
        Set False only for vectorised sweeps that mask diverged settings themselves.

    Interface
    ---------
    ``step(params, grads)``    one update, in place; ``params`` and ``grads`` are dicts with the
                               same keys and shapes (float64 NumPy arrays).
    ``gradient_point(params)`` where the caller must evaluate the gradient passed to the next
                               ``step``: ``params`` itself for every optimizer except
                               ``Nesterov(form="lookahead")``, which returns w + mu v.
    ``reset()``                forget all state (buffers and step counters).
    ``state``                  per-parameter state: ``state[key]["step"]`` is the number of steps
                               taken for that key (t = 1 on the first step), plus the buffers.
    ``needs_hessian``          False here. A second-order subclass (Newton) sets it True and
                               defines ``step(params, grads, hessians=None)``.

    Subclassing
    -----------
    Set ``_hyper_names`` (the constructor arguments shown by ``repr``), implement
    ``_init_state(w) -> dict`` (buffers for one parameter, without "step") and
    ``_update(w, g, state)`` (one in-place update; ``state["step"]`` already holds the current t).
    A subclass that needs a different ``step`` signature can reuse ``_check_inputs``,
    ``_state_for``, ``_check_grads_finite`` and ``_check_params_finite``.
    """

    needs_hessian: bool = False
    _hyper_names: tuple = ("lr",)

    def __init__(self, lr, *, check_finite=True):
        self.lr = lr
        self.check_finite = _flag(check_finite, "check_finite")
        self.state: dict = {}

    # -- the learning rate is validated whenever it is set (schedules set it between steps) --
    @property
    def lr(self):
        return self._lr

    @lr.setter
    def lr(self, value):
        self._lr = _hyper(value, "lr (learning rate)", rule="must be positive",
                          ok=lambda a: a >= 0)

    # -- public interface --------------------------------------------------------------------
    def step(self, params, grads) -> None:
        """Apply one update to every array in ``params``, in place."""
        grads = self._check_inputs(params, grads)
        states = {key: self._state_for(key, w) for key, w in params.items()}
        if self.check_finite:
            self._check_grads_finite(grads, states)
        for key, w in params.items():
            state = states[key]
            state["step"] += 1
            self._update(w, grads[key], state)
        if self.check_finite:
            self._check_params_finite(params, states)

    def gradient_point(self, params):
        """Where to evaluate the gradient for the next step: ``params`` itself (not a copy)."""
        return params

    def reset(self) -> None:
        """Forget all per-parameter state: the next step is t = 1 again with zero buffers."""
        self.state = {}

    def __repr__(self) -> str:
        args = [f"{name}={_show(getattr(self, name))}" for name in self._hyper_names]
        # keyword-only switches are shown only when they differ from their default
        if getattr(self, "allow_unstable", False):
            args.append("allow_unstable=True")
        if not self.check_finite:
            args.append("check_finite=False")
        return f"{type(self).__name__}({', '.join(args)})"

    # -- hooks for subclasses ------------------------------------------------------------------
    def _init_state(self, w) -> dict:
        return {}

    def _update(self, w, g, state) -> None:
        raise NotImplementedError

    # -- helpers -------------------------------------------------------------------------------
    def _array_hypers(self):
        """(name, array) for every hyperparameter given as an array (vectorised mode)."""
        out = []
        for name in self._hyper_names:
            value = getattr(self, name)
            if isinstance(value, tuple):
                out += [(f"{name}[{i}]", v) for i, v in enumerate(value)
                        if isinstance(v, np.ndarray)]
            elif isinstance(value, np.ndarray):
                out.append((name, value))
        return out

    def _check_inputs(self, params, grads):
        """Check keys, types and shapes; return grads as float64 arrays (same dict keys)."""
        if not isinstance(params, dict):
            raise ValueError(
                f"params must be a dict of NumPy arrays such as {{'w': w}}, "
                f"got {type(params).__name__}"
            )
        if not isinstance(grads, dict):
            raise ValueError(
                f"grads must be a dict of NumPy arrays with the same keys as params, "
                f"got {type(grads).__name__}"
            )
        missing = [k for k in params if k not in grads]
        if missing:
            raise ValueError(
                f"grads has no gradient for params[{missing[0]!r}] "
                f"(params has keys {list(params)}, grads has keys {list(grads)})"
            )
        extra = [k for k in grads if k not in params]
        if extra:
            raise ValueError(
                f"grads[{extra[0]!r}] has no matching parameter "
                f"(params has keys {list(params)}, grads has keys {list(grads)})"
            )
        out = {}
        for key, w in params.items():
            if not (isinstance(w, np.ndarray) and np.issubdtype(w.dtype, np.floating)):
                what = f"{w.dtype} array" if isinstance(w, np.ndarray) else type(w).__name__
                raise ValueError(
                    f"params[{key!r}] must be a NumPy array of floats (it is updated in place), "
                    f"got {what}; use np.array(..., dtype=float)"
                )
            try:
                g = np.asarray(grads[key], dtype=float)
            except (TypeError, ValueError):
                raise ValueError(
                    f"grads[{key!r}] must be an array of numbers, got {grads[key]!r}"
                ) from None
            if g.shape != w.shape:
                raise ValueError(
                    f"grads[{key!r}] has shape {g.shape}, params[{key!r}] has shape {w.shape}"
                )
            for name, h in self._array_hypers():
                try:
                    fits = np.broadcast_shapes(h.shape, w.shape) == w.shape
                except ValueError:
                    fits = False
                if not fits:
                    raise ValueError(
                        f"{name} has shape {h.shape}, which does not broadcast against "
                        f"params[{key!r}] of shape {w.shape}; in vectorised mode give one row per "
                        f"setting, e.g. shape ({w.shape[0] if w.ndim else 1}, 1)"
                    )
            out[key] = g
        return out

    def _state_for(self, key, w) -> dict:
        state = self.state.get(key)
        if state is None:
            state = {"step": 0, **self._init_state(w)}
            self.state[key] = state
        return state

    def _diverged_hint(self) -> str:
        hint = "the run has diverged - try a smaller learning rate"
        if self._array_hypers():
            hint += (" (vectorised run: pass check_finite=False to let the diverged settings "
                     "turn into NaN and mask them)")
        return hint

    def _check_grads_finite(self, grads, states) -> None:
        for key, g in grads.items():
            if not np.isfinite(g).all():
                t = states[key]["step"] + 1
                raise DivergenceError(
                    f"gradient for {key!r} contains NaN/inf at step {t}; {self._diverged_hint()}"
                )

    def _check_params_finite(self, params, states) -> None:
        for key, w in params.items():
            if not np.isfinite(w).all():
                t = states[key]["step"]
                raise DivergenceError(
                    f"params[{key!r}] became NaN/inf at step {t}; {self._diverged_hint()}"
                )


# --------------------------------------------------------------------------------------------
# SGD and momentum
# --------------------------------------------------------------------------------------------

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
