"""The base class every course optimizer derives from, and the validation of hyperparameters.

The conventions shared by all optimizers are in the docstring of :mod:`course_lib.optim`.
"""
from __future__ import annotations

import numpy as np

__all__ = ["DivergenceError", "Optimizer"]


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

