"""The base class every course optimizer derives from, and the divergence error it raises.

The conventions shared by all optimizers are in the docstring of :mod:`course_lib.optim`.
"""
from __future__ import annotations

import math
from functools import partial

import numpy as np

from .. import _validate as V

__all__ = ["DivergenceError", "Optimizer"]


class DivergenceError(FloatingPointError, ValueError):
    """A gradient or a parameter (or, in the runner, the loss) became NaN/inf: the run diverged.

    Attributes (read by :func:`course_lib.runner.run`; never parse the message):

    step : int        the step t at which it happened (t = 1 is the first step)
    key :             the params dict key of the offending array (None for the loss)
    quantity : str    "gradient", "parameter" or "loss"
    value : float     the first non-finite entry (nan, inf or -inf), or the offending loss
    """

    def __init__(self, message="", *, step=None, key=None, quantity=None, value=None):
        super().__init__(message)
        self.step, self.key, self.quantity, self.value = step, key, quantity, value

    @property
    def what(self) -> str:
        """What became non-finite, in words, without the step and the advice."""
        if self.quantity == "gradient":
            return f"gradient for {self.key!r} contains NaN/inf"
        if self.quantity == "parameter":
            return f"params[{self.key!r}] became NaN/inf"
        if self.quantity == "loss":
            return f"loss = {V.fmt(self.value, 3)}"
        return str(self)


# one line per hyperparameter: the rules shared by several optimizers
LR = partial(V.nonneg, label="lr (learning rate)", array=True)
WEIGHT_DECAY = partial(V.nonneg, label="weight_decay (L2 penalty)", array=True)
EPS = partial(V.nonneg, label="eps", array=True)


def unit_interval(label):
    """The rule "must be in [0, 1)" (momentum, decay rates)."""
    return partial(V.interval, label=label, lo=0, hi=1, hi_open=True, array=True)


def flag(label):
    return partial(V.flag, label=label)


try:        # NumPy's error state lives in a context variable; setting it directly costs 0.1 us,
    # np.errstate 3 us (a step on a 2-D problem costs a few us)
    from numpy._core._ufunc_config import _extobj_contextvar as _ERRSTATE
    with np.errstate(all="ignore"):
        _IGNORE_ALL = _ERRSTATE.get()
except (ImportError, AttributeError):  # pragma: no cover - other NumPy versions
    _ERRSTATE = None


class _Quiet:
    """``with _Quiet():`` -- no NumPy floating-point warnings inside (overflow, invalid, ...): an
    optimizer reports NaN/inf through DivergenceError (or leaves them, check_finite=False)."""

    __slots__ = ("_token", "_fallback")

    def __enter__(self):
        if _ERRSTATE is not None:
            self._token = _ERRSTATE.set(_IGNORE_ALL)
        else:                                       # pragma: no cover
            self._fallback = np.errstate(all="ignore")
            self._fallback.__enter__()

    def __exit__(self, *exc):
        if _ERRSTATE is not None:
            _ERRSTATE.reset(self._token)
        else:                                       # pragma: no cover
            self._fallback.__exit__(*exc)


def _all_finite(a: np.ndarray, mask: np.ndarray | None = None) -> bool:
    """True if every entry of ``a`` is finite. A few entries are tested one by one (cheaper than
    any NumPy call); more by ``np.isfinite`` into ``mask`` (a reusable boolean array shaped like
    ``a``, so no allocation) and one reduction. Single-threaded on purpose: a two-thread BLAS dot
    product is faster on an idle machine but can be 50 times slower when the other core is busy."""
    if a.size <= 32:
        return all(map(math.isfinite, a.ravel().tolist()))
    if mask is None or mask.shape != a.shape:
        return bool(np.isfinite(a).all())
    np.isfinite(a, out=mask)
    return bool(mask.all())


def _first_bad(a: np.ndarray) -> float:
    return float(a.reshape(-1)[np.flatnonzero(~np.isfinite(a))[0]])


def _is_zero(h) -> bool:
    """True if a (scalar or array) hyperparameter is zero everywhere."""
    return not np.any(h) if isinstance(h, np.ndarray) else h == 0


def _show(h) -> str:
    if isinstance(h, np.ndarray):
        return f"array(shape={h.shape}, min={h.min():g}, max={h.max():g})"
    if isinstance(h, tuple):
        return "(" + ", ".join(_show(x) for x in h) + ")"
    if isinstance(h, float) and h == 0:
        return "0"
    return repr(h)


def _cast(value, dtype):
    """A hyperparameter in the arithmetic of a parameter: arrays in its dtype (float32 stays
    float32), Python floats unchanged (NumPy treats them as 'weak', in the array's dtype)."""
    if isinstance(value, np.ndarray) and value.dtype != dtype:
        return value.astype(dtype)
    if isinstance(value, tuple):
        return tuple(_cast(v, dtype) for v in value)
    return value


class Hypers:
    """The hyperparameters in force for one params key, as attributes (``h.lr``, ``h.betas``)."""

    def __init__(self, values: dict):
        self.__dict__.update(values)


class _KeyInfo:
    """What the optimizer knows about one params key: shape, dtype, hyperparameters, the names of
    its parameter-shaped buffers and scratch arrays reused by every step (no per-step allocation)."""

    __slots__ = ("shape", "dtype", "h", "buffers", "_scratch", "_like", "_mask")

    def __init__(self, w, h, buffers):
        self.shape, self.dtype, self.h, self.buffers = w.shape, w.dtype, h, buffers
        self._scratch, self._like, self._mask = [], w, None

    def mask(self) -> np.ndarray:
        """A boolean array shaped like the parameter, for the finiteness check (allocated once)."""
        if self._mask is None:
            self._mask = np.empty(self.shape, dtype=bool)
        return self._mask

    def scratch(self, i: int) -> np.ndarray:
        """Scratch array number i, shaped like the parameter (allocated once)."""
        while len(self._scratch) <= i:
            self._scratch.append(np.empty_like(self._like))
        return self._scratch[i]


class _HyperAttribute:
    """``opt.lr`` reads the constructor's value; ``opt.lr = x`` validates and sets it (that is how
    the runner applies a schedule). Keys in a param group that sets ``lr`` keep the group's."""

    def __init__(self, name):
        self.name = name

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        return obj.defaults[self.name]

    def __set__(self, obj, value):
        obj._set_default(self.name, value)


class Optimizer:
    """Base class: the one interface every optimizer in the course follows.

    Parameters (of every optimizer)
    ----------
    lr : float or ndarray
        Learning rate eta, >= 0 (0 is allowed, as in torch.optim, and means "no update"). It is a
        validated attribute: ``opt.lr = schedule(t)`` between steps changes it (that is how the
        runner applies a learning-rate schedule).
    param_groups : list of dicts, optional
        Per-parameter hyperparameters, as torch.optim's param groups, e.g.
        ``[{"params": ["W1", "W2"], "weight_decay": 1e-3}, {"params": ["b1", "b2"],
        "weight_decay": 0.0}]``. "params" lists keys of the params dict passed to ``step``; the
        other entries override the constructor's hyperparameters for those keys; keys in no
        group use the constructor's values. A key in two groups or an unknown hyperparameter is
        a ValueError. Setting ``opt.lr`` later changes the constructor's value, so it reaches
        every key whose group does not set its own lr.
    check_finite : bool, default True
        Raise ``DivergenceError`` at the first step whose updated parameter is NaN/inf (a NaN/inf
        gradient always makes it so; the error then names the gradient). The check is one
        np.isfinite over each parameter after the update, which is then already done. Set False only
        for vectorised sweeps that mask diverged settings themselves.

    Interface
    ---------
    ``step(params, grads)``    one update, in place; ``params`` and ``grads`` are dicts with the
                               same keys and shapes (float NumPy arrays; float32 parameters are
                               updated in float32, gradients are converted to their dtype).
    ``gradient_point(params)`` where the caller must evaluate the gradient passed to the next
                               ``step``: ``params`` itself unless ``lookahead`` is True.
    ``reset()``                forget all state (buffers and step counters).
    ``freeze_rows(mask)``      vectorised mode: zero the rows ``mask`` (boolean, over the first
                               axis) of every buffer, so a diverged setting fed zero gradients
                               stays where it is (``run_grid`` does this).
    ``state``                  per-parameter state: ``state[key]["step"]`` is the number of steps
                               taken for that key (t = 1 on the first step), plus the buffers.
    ``defaults``               the constructor's hyperparameters (validated); ``param_groups``
                               the groups, each completed with the defaults, as in torch.

    Abilities (class attributes a caller reads instead of inspecting the class)
    ---------
    ``needs_hessian``  False here. A second-order subclass (Newton) sets it True and defines
                       ``step(params, grads, hessians=None)``.
    ``lookahead``      False here: the gradient is taken at the iterate itself. True for
                       ``Nesterov(form="lookahead")``, whose ``gradient_point`` is w + mu v.

    Subclassing
    -----------
    Set ``_rules`` (hyperparameter name -> validating function, in the order of the
    constructor; ``repr`` shows them), pass the values to ``super().__init__(dict(...))``,
    implement ``_init_state(w, h) -> dict`` (the buffers of one parameter, without "step") and
    ``_update(w, g, state, h, ki)``: one in-place update with ``state["step"]`` already holding t,
    the hyperparameters ``h`` of this key (``h.lr``, ...) and ``ki.scratch(i)`` for temporaries.
    Cross-checks between hyperparameters go in ``_check_together(values)``.
    """

    needs_hessian: bool = False
    lookahead: bool = False
    _rules: dict = {"lr": LR}
    _quiet: tuple = ()          # hyperparameters repr shows only when they are not 0

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in cls._rules:
            if not isinstance(getattr(cls, name, None), _HyperAttribute):
                setattr(cls, name, _HyperAttribute(name))

    def __init__(self, hypers, *, param_groups=None, check_finite=True):
        if not isinstance(hypers, dict):        # Optimizer(lr) used directly
            hypers = {"lr": hypers}
        self.check_finite = V.flag(check_finite, "check_finite")
        self.defaults = self._checked(hypers)
        self._groups = self._parse_groups(param_groups)
        self.state: dict = {}
        self._info: dict = {}
        self._hypers: dict = {}

    # -- hyperparameters -------------------------------------------------------------------
    @property
    def _hyper_names(self) -> tuple:
        return tuple(self._rules)

    def _rule(self, name):
        return self._rules[name]

    def _check_together(self, values: dict) -> None:
        """Cross-checks between hyperparameters (e.g. nesterov needs momentum > 0)."""

    def _checked(self, values: dict) -> dict:
        out = {name: self._rule(name)(value) for name, value in values.items()}
        self._check_together(out)
        return out

    def _parse_groups(self, param_groups) -> list:
        """[(keys, overrides)] after checking every group; merged values are checked too."""
        if param_groups is None:
            return []
        example = "[{'params': ['W1', 'W2'], 'weight_decay': 1e-3}]"
        if not isinstance(param_groups, (list, tuple)):
            raise ValueError(f"param_groups must be a list of dicts such as {example}, "
                             f"got {param_groups!r}")
        groups, owner = [], {}
        for i, group in enumerate(param_groups):
            keys = group.get("params") if isinstance(group, dict) else None
            if not isinstance(keys, (list, tuple, set, frozenset)):
                raise ValueError(f"param_groups[{i}] must be a dict whose 'params' entry lists keys "
                                 f"of the params dict, such as {example}, got {group!r}")
            for key in keys:
                if key in owner:
                    raise ValueError(f"params key {key!r} is in param_groups[{owner[key]}] and in "
                                     f"param_groups[{i}]; put each key in one group only")
                owner[key] = i
            unknown = [name for name in group if name != "params" and name not in self._rules]
            if unknown:
                raise ValueError(
                    f"param_groups[{i}] sets {unknown[0]!r}, which is not a hyperparameter of "
                    f"{type(self).__name__} (it has {', '.join(self._hyper_names)})")
            overrides = {name: v for name, v in group.items() if name != "params"}
            try:
                merged = self._checked({**self.defaults, **overrides})
            except ValueError as err:
                raise ValueError(f"param_groups[{i}]: {err}") from None
            groups.append((tuple(keys), {name: merged[name] for name in overrides}))
        return groups

    @property
    def param_groups(self) -> list:
        """The groups as torch shows them: each dict holds "params" and every hyperparameter."""
        return [{"params": list(keys), **self.defaults, **over} for keys, over in self._groups]

    def _set_default(self, name, value) -> None:
        value = self._rule(name)(value)
        values = {**self.defaults, name: value}
        self._check_together(values)
        for _, over in self._groups:
            if name not in over:
                self._check_together({**values, **over})
        self.defaults[name] = value
        for (gi, dtype), h in self._hypers.items():
            if gi < 0 or name not in self._groups[gi][1]:
                setattr(h, name, _cast(value, dtype))
        if isinstance(value, np.ndarray):
            for key, ki in self._info.items():
                self._check_broadcast(key, ki.shape, {name: value})

    def _group_index(self, key) -> int:
        for gi, (keys, _) in enumerate(self._groups):
            if key in keys:
                return gi
        return -1

    def _hypers_for(self, key, dtype) -> Hypers:
        gi = self._group_index(key)
        h = self._hypers.get((gi, dtype))
        if h is None:
            values = {**self.defaults, **(self._groups[gi][1] if gi >= 0 else {})}
            h = self._hypers[(gi, dtype)] = Hypers({n: _cast(v, dtype) for n, v in values.items()})
        return h

    def hypers(self, key) -> Hypers:
        """The hyperparameters in force for params key ``key`` (its group's, else the defaults)."""
        return self._hypers_for(key, np.dtype(np.float64))

    @staticmethod
    def _check_broadcast(key, shape, values: dict) -> None:
        for name, value in values.items():
            parts = ([(f"{name}[{i}]", v) for i, v in enumerate(value)]
                     if isinstance(value, tuple) else [(name, value)])
            for label, h in parts:
                if not isinstance(h, np.ndarray):
                    continue
                try:
                    fits = np.broadcast_shapes(h.shape, shape) == shape
                except ValueError:
                    fits = False
                if not fits:
                    raise ValueError(
                        f"{label} has shape {h.shape}, which does not broadcast against "
                        f"params[{key!r}] of shape {shape}; in vectorised mode give one row per "
                        f"setting, e.g. shape ({shape[0] if shape else 1}, 1)")

    # -- public interface --------------------------------------------------------------------
    def step(self, params, grads) -> None:
        """Apply one update to every array in ``params``, in place.

        With ``check_finite`` the updated parameters are checked (np.isfinite into a reused mask,
        one reduction): a NaN/inf gradient always makes its parameter NaN/inf too, so this one
        check catches both, and the DivergenceError names the gradient when that is where the
        NaN/inf came from."""
        items = self._prepare(params, grads)
        with _Quiet():
            for key, w, g, state, ki in items:
                state["step"] += 1
                self._update(w, g, state, ki.h, ki)
        if self.check_finite:
            self._check_finite(items)

    def gradient_point(self, params):
        """Where to evaluate the gradient for the next step: ``params`` itself (not a copy)."""
        return params

    def reset(self) -> None:
        """Forget all per-parameter state: the next step is t = 1 again with zero buffers."""
        self.state = {}
        self._info = {}

    def freeze_rows(self, mask) -> None:
        """Zero the rows ``mask`` (a boolean array over the first axis) of every buffer of every
        key: with zero gradients from then on, those settings of a vectorised run stop moving."""
        mask = np.asarray(mask, dtype=bool)
        for key, state in self.state.items():
            ki = self._info.get(key)
            for name in (ki.buffers if ki is not None else ()):
                state[name][mask] = 0

    def __repr__(self) -> str:
        args = [f"{name}={_show(value)}" for name, value in self.defaults.items()
                if not (name in self._quiet and _show(value) == "0")]
        if self._groups:
            groups = ", ".join("{" + ", ".join([f"'params': {list(keys)!r}"] + [
                f"{n!r}: {_show(v)}" for n, v in over.items()]) + "}" for keys, over in self._groups)
            args.append(f"param_groups=[{groups}]")
        # keyword-only switches are shown only when they differ from their default
        if getattr(self, "allow_unstable", False):
            args.append("allow_unstable=True")
        if not self.check_finite:
            args.append("check_finite=False")
        return f"{type(self).__name__}({', '.join(args)})"

    # -- hooks for subclasses ------------------------------------------------------------------
    def _init_state(self, w, h) -> dict:
        return {}

    def _update(self, w, g, state, h, ki) -> None:
        raise NotImplementedError

    # -- helpers -------------------------------------------------------------------------------
    def _prepare(self, params, grads) -> list:
        """Check the dicts, arrays and shapes; return [(w, g, state, key info)] with every g an
        array of w's dtype (tuples (key, w, g, state, ki)). The checks of a key are done in full once; later steps only compare
        types, shapes and dtypes."""
        if type(params) is not dict or type(grads) is not dict or len(grads) != len(params):
            _check_dicts(params, grads)
        items = []
        for key, w in params.items():
            ki, state = self._info.get(key), self.state.get(key)
            if (ki is None or state is None or type(w) is not np.ndarray or w.shape != ki.shape
                    or w.dtype != ki.dtype):
                ki, state = self._bind(key, w, state)
            g = grads.get(key)
            if type(g) is not np.ndarray or g.shape != ki.shape or g.dtype != ki.dtype:
                g = _as_grad(key, w, params, grads)
            items.append((key, w, g, state, ki))
        return items

    def _bind(self, key, w, state):
        """First sight of params[key] (or after reset): check it, create its state."""
        if not (isinstance(w, np.ndarray) and np.issubdtype(w.dtype, np.floating)):
            what = f"{w.dtype} array" if isinstance(w, np.ndarray) else type(w).__name__
            raise ValueError(
                f"params[{key!r}] must be a NumPy array of floats (it is updated in place), "
                f"got {what}; use np.array(..., dtype=float)")
        h = self._hypers_for(key, w.dtype)
        self._check_broadcast(key, w.shape, h.__dict__)
        if state is not None:
            old = self._info.get(key)
            if old is not None and (old.shape, old.dtype) != (w.shape, w.dtype):
                raise ValueError(
                    f"params[{key!r}] has shape {w.shape} and dtype {w.dtype}, but the optimizer's "
                    f"state for it was made for shape {old.shape}, dtype {old.dtype}; call reset()")
            buffers = [n for n, b in state.items() if isinstance(b, np.ndarray) and b.shape == w.shape]
        else:
            made = self._init_state(w, h)
            buffers = [n for n, b in made.items() if isinstance(b, np.ndarray) and b.shape == w.shape]
            state = self.state[key] = {"step": 0, **made}
        ki = self._info[key] = _KeyInfo(w, h, buffers)
        return ki, state

    def _diverged(self, quantity, key, step, array) -> DivergenceError:
        err = DivergenceError(step=step, key=key, quantity=quantity, value=_first_bad(array))
        hint = "the run has diverged - try a smaller learning rate"
        if any(isinstance(v, np.ndarray) or (isinstance(v, tuple) and any(
                isinstance(x, np.ndarray) for x in v)) for v in self.defaults.values()):
            hint += (" (vectorised run: pass check_finite=False to let the diverged settings "
                     "turn into NaN and mask them)")
        err.args = (f"{err.what} at step {step}; {hint}",)
        return err

    def _check_finite(self, items) -> None:
        """Raise DivergenceError for the first key whose parameter is not finite: "gradient" if
        its gradient was not finite (the cause), else "parameter" (the update overflowed)."""
        for key, w, g, state, ki in items:
            if not _all_finite(w, ki.mask() if w.size > 32 else None):
                if not _all_finite(g):
                    raise self._diverged("gradient", key, state["step"], g)
                raise self._diverged("parameter", key, state["step"], w)


def _check_dicts(params, grads) -> None:
    """The messages for params / grads that are not matching dicts."""
    if not isinstance(params, dict):
        raise ValueError(f"params must be a dict of NumPy arrays such as {{'w': w}}, "
                         f"got {type(params).__name__}")
    if not isinstance(grads, dict):
        raise ValueError(f"grads must be a dict of NumPy arrays with the same keys as params, "
                         f"got {type(grads).__name__}")
    keys = f"(params has keys {list(params)}, grads has keys {list(grads)})"
    missing = [k for k in params if k not in grads]
    if missing:
        raise ValueError(f"grads has no gradient for params[{missing[0]!r}] {keys}")
    extra = [k for k in grads if k not in params]
    if extra:
        raise ValueError(f"grads[{extra[0]!r}] has no matching parameter {keys}")


def _as_grad(key, w, params, grads) -> np.ndarray:
    """grads[key] as an array of w's dtype and shape, or a ValueError saying what is wrong."""
    if key not in grads:
        _check_dicts(params, grads)
    try:
        g = np.asarray(grads[key], dtype=w.dtype)
    except (TypeError, ValueError):
        raise ValueError(f"grads[{key!r}] must be an array of numbers, got {grads[key]!r}") from None
    if g.shape != w.shape:
        raise ValueError(f"grads[{key!r}] has shape {g.shape}, params[{key!r}] has shape {w.shape}")
    return g
