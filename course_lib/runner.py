"""Run an optimizer on an objective: one run with stopping rules, or a whole hyperparameter grid at once.

Three tools, used by every chapter:

* :func:`run` -- iterate ``w_t = step(w_{t-1})`` for one optimizer from one start point, record the
  trajectory, the loss and the gradient norm, stop on a tolerance or on divergence, and say in plain
  English why it stopped (``result.message``).
* :func:`run_grid` -- run *every* combination of one or two hyperparameters (e.g. ``lr`` x
  ``momentum``) in a single vectorised loop: the K settings are the K rows of ``W`` of shape (K, d)
  and each hyperparameter is a (K, 1) column, so one NumPy operation advances all of them.

The measured rate of a run (``GridResult.rate``) is fitted by :mod:`course_lib.rates`, next to the
theory it is compared with.

The optimizer protocol (docs/DESIGN.md)::

    params = {"w": w}                              # updated in place by step()
    point  = optimizer.gradient_point(params)["w"] # where to evaluate the gradient (w + mu v for
                                                   # look-ahead Nesterov, w for everything else)
    optimizer.step(params, {"w": objective.grad(point)})
    # Newton-like optimizers (needs_hessian = True) get hessians={"w": objective.hessian(point)} too.
"""
from __future__ import annotations

import inspect
import math
import numbers
import re
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .rates import _ROUNDING_FACTOR, _TINY, _fit_rates

__all__ = ["RunResult", "GridResult", "run", "run_grid"]

STOP_REASONS = ("max_steps", "tol_step", "tol_grad", "diverged", "callback")


_NONFINITE_MSG = re.compile(r"non-?finite|not finite|\bnan\b|\binf", re.IGNORECASE)


# ----------------------------------------------------------------------------------------------
# small helpers
# ----------------------------------------------------------------------------------------------
def _fmt(x: float, digits: int = 2) -> str:
    """Short float for messages: 8.1e-07, 0.5, inf."""
    return f"{float(x):.{digits}g}"


def _steps(n: int) -> str:
    return f"{n} step" if n == 1 else f"{n} steps"


def _fmt_lr(lr: Any) -> str:
    arr = np.asarray(lr, dtype=float)
    if arr.size == 1:
        return _fmt(arr.reshape(()), 3)
    return f"array of {arr.size} values"


def _check_positive_int(name: str, value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} ({what}) must be a positive whole number, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name} ({what}) must be positive, got {value}")
    return int(value)


def _check_tolerance(name: str, value: Any, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} ({what}) must be a positive number or None, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} ({what}) must be a positive number or None, got {value}")
    return float(value)


def _check_start(objective, w0) -> np.ndarray:
    try:
        w = np.array(w0, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"w0 (starting point) must be an array of numbers, got {w0!r}") from None
    dim = getattr(objective, "dim", None)
    if w.ndim == 0 and dim == 1:
        w = w.reshape(1)
    if dim is not None and w.shape != (dim,):
        name = getattr(objective, "name", type(objective).__name__)
        raise ValueError(
            f"w0 (starting point) must have shape ({dim},) to match the objective '{name}' "
            f"with dim = {dim}, got shape {w.shape}"
        )
    if w.ndim != 1:
        raise ValueError(f"w0 (starting point) must be a 1-D array, got shape {w.shape}")
    if not np.all(np.isfinite(w)):
        raise ValueError(f"w0 (starting point) must contain only finite numbers, got {w}")
    return w


def _gradient_point(optimizer, params: dict) -> np.ndarray:
    gp = getattr(optimizer, "gradient_point", None)
    return params["w"] if gp is None else gp(params)["w"]


def _accepts(cls, name: str) -> bool:
    try:
        return name in inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return False


def _zero_rows(obj, rows: np.ndarray, K: int, _depth: int = 0) -> None:
    """Zero row ``rows`` of every (K, ...) array inside an optimizer state (dicts/lists, any depth)."""
    if _depth > 4:
        return
    if isinstance(obj, np.ndarray):
        if obj.ndim >= 1 and obj.shape[0] == K and obj.dtype.kind == "f":
            obj[rows] = 0.0
    elif isinstance(obj, dict):
        for v in obj.values():
            _zero_rows(v, rows, K, _depth + 1)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _zero_rows(v, rows, K, _depth + 1)


# ----------------------------------------------------------------------------------------------
# run
# ----------------------------------------------------------------------------------------------
@dataclass(eq=False, repr=False)
class RunResult:
    """What :func:`run` returns.

    Attributes
    ----------
    trajectory : array (T+1, d)   w_0, w_1, ..., w_T (only finite points: a diverged run is cut)
    losses : array (T+1,)         L(w_t)
    grad_norms : array (T+1,)     ||grad L(w_t)||
    steps : int                   T, the number of optimizer steps recorded in the trajectory
    stop_reason : str             "max_steps", "tol_step", "tol_grad", "diverged"
                                  (or "callback" when a callback asked to stop)
    message : str                 the reason in plain English
    diverged_at : int or None     the step at which divergence was detected (it may be T + 1:
                                  the first non-finite iterate is not kept)
    """

    trajectory: np.ndarray
    losses: np.ndarray
    grad_norms: np.ndarray
    steps: int
    stop_reason: str
    message: str
    diverged_at: int | None = None

    @property
    def converged(self) -> bool:
        """True when a tolerance (tol_step or tol_grad) stopped the run."""
        return self.stop_reason in ("tol_step", "tol_grad")

    @property
    def diverged(self) -> bool:
        return self.stop_reason == "diverged"

    @property
    def final_w(self) -> np.ndarray:
        """The last (finite) iterate w_T."""
        return self.trajectory[-1]

    @property
    def final_loss(self) -> float:
        return float(self.losses[-1])

    def __repr__(self) -> str:
        return (f"RunResult(steps={self.steps}, stop_reason={self.stop_reason!r}, "
                f"final_loss={self.final_loss:.4g}, message={self.message!r})")


def run(optimizer, objective, w0, *, max_steps: int = 1000, tol_step: float | None = None,
        tol_grad: float | None = None, schedule: Callable[[int], float] | None = None,
        divergence_threshold: float = 1e8, progress: bool = False,
        callback: Callable[[int, np.ndarray, float], Any] | None = None) -> RunResult:
    """Run ``optimizer`` on ``objective`` from ``w0`` and record what happens.

    Step t = 1, 2, ... (``optimizer.reset()`` is called first, so a used optimizer starts fresh)::

        optimizer.lr = schedule(t)                         # only if a schedule is given
        p = optimizer.gradient_point(params)["w"]          # = w_{t-1} except look-ahead Nesterov
        optimizer.step(params, {"w": objective.grad(p)})   # params["w"]: w_{t-1} -> w_t, in place
        # (plus hessians={"w": objective.hessian(p)} when optimizer.needs_hessian)

    Stopping rules, checked after every step in this order:

    * **diverged** -- ``L(w_t)`` or ``w_t`` or the gradient is not finite, or
      ``|L(w_t)| > divergence_threshold * max(1, |L(w_0)|)``, or the optimizer raised a
      ``ValueError`` about a non-finite value. The run stops *without raising*; only finite iterates
      are kept, so curves and paths still plot.
    * **tol_grad** -- ``||grad L(w_t)|| < tol_grad`` (also checked at ``w_0``: a start at the
      minimum stops after 0 steps).
    * **tol_step** -- ``||w_t - w_{t-1}|| < tol_step``.
    * **max_steps** -- ``t == max_steps``.

    Parameters
    ----------
    optimizer : any object with the course Optimizer shape (``step``, ``gradient_point``, ``reset``)
    objective : course Objective (``value``, ``grad``, ``dim``; ``hessian`` for Newton)
    w0 : array (dim,)             start point; not modified
    max_steps : int = 1000
    tol_step, tol_grad : float or None (default None: rule off)
    schedule : callable t -> lr, optional
        Sets ``optimizer.lr = schedule(t)`` before step t (t starts at 1). The optimizer's own ``lr``
        is restored when the run ends.
    divergence_threshold : float = 1e8
    progress : bool = False       show a tqdm progress bar
    callback : callable(t, w, loss), optional
        Called at t = 0 and after every step whose iterate is kept (finite) with a copy of ``w_t``
        and ``L(w_t)``. If it returns something true (``True``, ``np.True_``) and no other rule stops
        the run first, it stops with ``stop_reason = "callback"`` (e.g. early stopping on a validation loss).

    Returns
    -------
    RunResult with ``trajectory`` (T+1, d), ``losses`` (T+1,), ``grad_norms`` (T+1,), ``steps`` = T,
    ``stop_reason``, ``message``, ``converged``, ``diverged``, ``final_w``.
    """
    if not callable(getattr(optimizer, "step", None)):
        raise ValueError(f"optimizer must have a step(params, grads) method, got {optimizer!r}")
    for meth in ("value", "grad"):
        if not callable(getattr(objective, meth, None)):
            raise ValueError(f"objective must have a {meth}(w) method, got {objective!r}")
    w0 = _check_start(objective, w0)
    max_steps = _check_positive_int("max_steps", max_steps, "the largest number of steps")
    tol_step = _check_tolerance("tol_step", tol_step, "tolerance on the step length ||w_t - w_(t-1)||")
    tol_grad = _check_tolerance("tol_grad", tol_grad, "tolerance on the gradient norm ||g||")
    divergence_threshold = _check_tolerance("divergence_threshold", divergence_threshold,
                                            "how many times the starting loss counts as diverged")
    if divergence_threshold is None:
        raise ValueError("divergence_threshold must be a positive number, got None")
    if schedule is not None and not callable(schedule):
        raise ValueError(f"schedule must be a function t -> lr, got {schedule!r}")
    if callback is not None and not callable(callback):
        raise ValueError(f"callback must be a function (t, w, loss) -> bool, got {callback!r}")
    needs_hessian = bool(getattr(optimizer, "needs_hessian", False))

    loss0 = float(objective.value(w0))
    if not math.isfinite(loss0):
        raise ValueError(f"the loss at w0 (starting point) is not finite: L(w0) = {loss0}")
    g_cur = np.asarray(objective.grad(w0), dtype=np.float64)
    gnorm0 = float(np.linalg.norm(g_cur))
    if not math.isfinite(gnorm0):
        raise ValueError(f"the gradient at w0 (starting point) is not finite: {g_cur}")
    limit = divergence_threshold * max(1.0, abs(loss0))

    if hasattr(optimizer, "reset"):
        optimizer.reset()
    params = {"w": w0.copy()}
    traj, losses, gnorms = [w0.copy()], [loss0], [gnorm0]
    stop_reason, message, diverged_at = None, None, None
    had_lr = hasattr(optimizer, "lr")
    lr_saved = getattr(optimizer, "lr", None)

    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=max_steps, desc=getattr(objective, "name", "run"), leave=True)
    every = max(1, max_steps // 100)

    def diverged_msg(t: int, why: str, unbounded: bool = False) -> str:
        if unbounded:
            return f"diverged at step {t} ({why}); the objective may be unbounded below"
        lr = getattr(optimizer, "lr", None)
        hint = "try a smaller learning rate" + (f" (lr = {_fmt_lr(lr)})" if lr is not None else "")
        return f"diverged at step {t} ({why}); {hint}"

    try:
        if callback is not None and bool(callback(0, w0.copy(), loss0)):
            stop_reason, message = "callback", "stopped by the callback at step 0"
        elif tol_grad is not None and gnorm0 < tol_grad:
            stop_reason = "tol_grad"
            message = (f"converged: ||g|| = {_fmt(gnorm0)} < tol_grad = {_fmt(tol_grad)} "
                       f"at the start point (0 steps)")
        t = 0
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            while stop_reason is None and t < max_steps:
                t += 1
                if schedule is not None:
                    lr_t = schedule(t)
                    try:
                        lr_f = float(lr_t)
                    except (TypeError, ValueError):
                        lr_f = math.nan
                    if isinstance(lr_t, bool) or not math.isfinite(lr_f) or lr_f < 0:
                        raise ValueError(f"schedule(t) must return a learning rate >= 0, "
                                         f"got {lr_t!r} at step t = {t}")
                    optimizer.lr = lr_f
                w_prev = params["w"].copy()
                point = _gradient_point(optimizer, params)
                # reuse grad L(w_{t-1}) when the optimizer evaluates the gradient at w_{t-1} itself
                if point is params["w"] or np.array_equal(point, w_prev):
                    g = g_cur
                else:
                    g = np.asarray(objective.grad(point), dtype=np.float64)
                if not np.all(np.isfinite(g)):
                    stop_reason, diverged_at = "diverged", t
                    message = diverged_msg(t, "the gradient is not finite")
                    break
                try:
                    if needs_hessian:
                        H = np.asarray(objective.hessian(point), dtype=np.float64)
                        optimizer.step(params, {"w": g.copy()}, hessians={"w": H})
                    else:
                        optimizer.step(params, {"w": g.copy()})
                except (FloatingPointError, ValueError) as err:
                    # the course optimizers raise DivergenceError (FloatingPointError + ValueError)
                    if not (isinstance(err, FloatingPointError) or _NONFINITE_MSG.search(str(err))):
                        raise
                    stop_reason, diverged_at = "diverged", t
                    said = re.sub(r" at step \d+", "", str(err).split(";")[0]).strip()
                    message = diverged_msg(t, f"the optimizer reported: {said}")
                    break
                w = params["w"]
                loss = float(objective.value(w)) if np.all(np.isfinite(w)) else math.nan
                g_cur = np.asarray(objective.grad(w), dtype=np.float64)
                gnorm = float(np.linalg.norm(g_cur))
                finite = math.isfinite(loss) and math.isfinite(gnorm) and bool(np.all(np.isfinite(w)))
                cb_stop = False
                if finite:
                    traj.append(w.copy())
                    losses.append(loss)
                    gnorms.append(gnorm)
                    cb_stop = callback is not None and bool(callback(t, w.copy(), loss))
                if bar is not None:
                    bar.update(1)
                    if t % every == 0 and finite:
                        bar.set_postfix(loss=f"{loss:.3g}", g=f"{gnorm:.2g}", refresh=False)

                if not finite:
                    stop_reason, diverged_at = "diverged", t
                    why = (f"loss = {_fmt(loss, 3)}" if not math.isfinite(loss)
                           else "the gradient is not finite")
                    message = diverged_msg(t, why, unbounded=loss == -math.inf)
                elif abs(loss) > limit:
                    stop_reason, diverged_at = "diverged", t
                    if loss > 0:
                        why = (f"loss = {_fmt(loss, 3)}, more than {_fmt(divergence_threshold)} "
                               f"times the starting loss")
                    else:
                        why = f"loss = {_fmt(loss, 3)}, far below the starting loss {_fmt(loss0, 3)}"
                    message = diverged_msg(t, why, unbounded=loss < 0)
                elif tol_grad is not None and gnorm < tol_grad:
                    stop_reason = "tol_grad"
                    message = (f"converged: ||g|| = {_fmt(gnorm)} < tol_grad = {_fmt(tol_grad)} "
                               f"after {_steps(t)}")
                elif tol_step is not None and (dw := float(np.linalg.norm(w - w_prev))) < tol_step:
                    stop_reason = "tol_step"
                    message = (f"converged: ||w_t - w_(t-1)|| = {_fmt(dw)} < tol_step = "
                               f"{_fmt(tol_step)} after {_steps(t)}")
                elif cb_stop:
                    stop_reason, message = "callback", f"stopped by the callback at step {t}"
        if stop_reason is None:
            stop_reason = "max_steps"
            tols = [n for n, v in (("tol_step", tol_step), ("tol_grad", tol_grad)) if v is not None]
            what = ("without meeting " + " or ".join(tols)) if tols else "(no tolerance set)"
            message = (f"reached max_steps = {max_steps} {what}: loss = {_fmt(losses[-1], 4)}, "
                       f"||g|| = {_fmt(gnorms[-1])}")
    finally:
        if bar is not None:
            bar.close()
        if had_lr and schedule is not None:
            optimizer.lr = lr_saved

    return RunResult(trajectory=np.array(traj), losses=np.array(losses), grad_norms=np.array(gnorms),
                     steps=len(traj) - 1, stop_reason=stop_reason, message=message,
                     diverged_at=diverged_at)


# ----------------------------------------------------------------------------------------------
# run_grid
# ----------------------------------------------------------------------------------------------
@dataclass(eq=False, repr=False)
class GridResult:
    """What :func:`run_grid` returns; ``grid_shape`` = (len(values_1), len(values_2), ...).

    Attributes
    ----------
    axes : tuple of (name, values) pairs, in the order of the ``grid`` dict
    losses : array (*grid_shape, steps+1)   L(w_t) for every setting; +inf after divergence
    dist : array (*grid_shape, steps+1)     ||w_t - w*|| (w* = objective.minimizer); +inf after
                                            divergence, NaN everywhere if the minimizer is unknown
    diverged : bool array (*grid_shape)     the setting diverged (it was then frozen)
    diverged_at : int array (*grid_shape)   step at which divergence was detected, -1 if never
    rate : array (*grid_shape)              fitted per-step rate r of ``dist`` on its tail
                                            (see :func:`measured_rate`); >= 1 for diverged settings
    steps : int
    fixed : dict                            the hyperparameters held fixed
    """

    axes: tuple
    losses: np.ndarray
    dist: np.ndarray
    diverged: np.ndarray
    diverged_at: np.ndarray
    rate: np.ndarray
    steps: int
    fixed: dict = field(default_factory=dict)
    optimizer_name: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(n for n, _ in self.axes)

    @property
    def values(self) -> tuple[np.ndarray, ...]:
        return tuple(v for _, v in self.axes)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.diverged.shape

    def setting(self, index) -> dict[str, float]:
        """The hyperparameters of grid cell ``index`` (a tuple), e.g. {"lr": 0.1, "momentum": 0.5}."""
        index = np.atleast_1d(index) if not isinstance(index, tuple) else index
        return {n: float(v[i]) for (n, v), i in zip(self.axes, index)}

    def best_index(self, by: str = "rate") -> tuple[int, ...]:
        """Grid index of the best non-diverged setting: smallest ``rate`` (default), or smallest
        final ``"loss"`` or final ``"dist"``; ties go to the first in grid order."""
        if by == "rate":
            score = self.rate
        elif by == "loss":
            score = self.losses[..., -1]
        elif by == "dist":
            score = self.dist[..., -1]
        else:
            raise ValueError(f'by must be "rate", "loss" or "dist", got {by!r}')
        score = np.where(self.diverged | np.isnan(score), np.inf, score)
        if self.diverged.all():
            raise ValueError("every setting in the grid diverged; try smaller learning rates")
        if not np.isfinite(score).any():
            raise ValueError(f"no setting has a finite {by}; nothing to compare")
        return tuple(int(i) for i in np.unravel_index(np.argmin(score), score.shape))

    def best(self, by: str = "rate") -> dict[str, float]:
        """The best setting as a dict, ready for ``optimizer_cls(**result.best(), **result.fixed)``."""
        return self.setting(self.best_index(by))

    def __repr__(self) -> str:
        axes = ", ".join(f"{n}: {len(v)} values in [{_fmt(v.min(), 3)}, {_fmt(v.max(), 3)}]"
                         for n, v in self.axes)
        n_div = int(self.diverged.sum())
        text = f"GridResult({self.optimizer_name} {axes}; {self.steps} steps; {n_div} of {self.diverged.size} diverged"
        try:
            b = self.best()
            text += "; best " + ", ".join(f"{k} = {_fmt(v, 4)}" for k, v in b.items())
            text += f" with rate {_fmt(self.rate[self.best_index()], 4)}"
        except ValueError:
            pass
        return text + ")"


def run_grid(optimizer_cls, objective, w0, *, grid: dict, steps: int, fixed: dict | None = None,
             divergence_threshold: float = 1e8) -> GridResult:
    """Run ``optimizer_cls`` for every combination of the hyperparameters in ``grid``, all at once.

    With ``grid = {"lr": a, "momentum": b}`` there are K = len(a) * len(b) settings. They run as the
    K rows of one parameter array: ``params = {"w": W}`` with ``W`` of shape (K, d), built as
    ``optimizer_cls(lr=a_col, momentum=b_col, **fixed)`` where ``a_col``, ``b_col`` are (K, 1)
    columns, and ``objective.grad(W)`` is one vectorised call. So one NumPy operation advances all
    settings; a 100 x 100 grid for 300 steps takes a fraction of a second.

    A setting *diverges* when its loss or iterate is not finite or
    ``|L(w_t)| > divergence_threshold * max(1, |L(w_0)|)``. From then on its row is frozen (its
    gradient and optimizer state are zeroed and its iterate is held), so it cannot overflow and
    spread NaN; its ``losses`` and ``dist`` read ``+inf`` after the last finite step, and
    ``diverged`` flags it.

    Parameters
    ----------
    optimizer_cls : Optimizer class whose hyperparameters accept (K, 1) arrays
    objective : Objective whose ``value``/``grad`` accept (K, d); ``minimizer`` is used for ``dist``
    w0 : array (d,)           the same start point for every setting
    grid : dict name -> 1-D array of values (one or two names, e.g. {"lr": ..., "momentum": ...})
    steps : int               number of steps, the same for all settings
    fixed : dict, optional    hyperparameters shared by all settings (e.g. {"nesterov": True})
    divergence_threshold : float = 1e8

    Returns
    -------
    GridResult with ``losses`` and ``dist`` of shape (*grid_shape, steps+1), ``diverged``,
    ``rate`` (*grid_shape) and ``best()``. ``rate`` is :func:`measured_rate` of each ``dist`` curve
    (tail fit, stopped where the distance reaches rounding level ~ eps * ||w*||).
    """
    if not callable(optimizer_cls):
        raise ValueError(f"optimizer_cls must be an optimizer class such as SGD, got {optimizer_cls!r}")
    w0 = _check_start(objective, w0)
    steps = _check_positive_int("steps", steps, "the number of steps")
    divergence_threshold = _check_tolerance("divergence_threshold", divergence_threshold,
                                            "how many times the starting loss counts as diverged")
    if divergence_threshold is None:
        raise ValueError("divergence_threshold must be a positive number, got None")
    if not isinstance(grid, dict) or len(grid) == 0:
        raise ValueError('grid must be a dict such as {"lr": [0.01, 0.1], "momentum": [0.0, 0.9]}, '
                         f"got {grid!r}")
    fixed = {} if fixed is None else fixed
    if not isinstance(fixed, dict):
        raise ValueError(f'fixed must be a dict such as {{"momentum": 0.9}}, got {fixed!r}')
    axes = []
    for name, vals in grid.items():
        if not isinstance(name, str):
            raise ValueError(f"grid keys must be hyperparameter names (strings), got {name!r}")
        if name in fixed:
            raise ValueError(f"hyperparameter {name!r} is both in grid and in fixed; keep it in one")
        try:
            v = np.array(vals, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"grid[{name!r}] must be a 1-D array of numbers, got {vals!r}") from None
        if v.ndim != 1 or v.size == 0:
            raise ValueError(f"grid[{name!r}] must be a non-empty 1-D array of values, got shape {v.shape}")
        if not np.all(np.isfinite(v)):
            raise ValueError(f"grid[{name!r}] must contain only finite numbers, got {v}")
        axes.append((name, v))
    shape = tuple(len(v) for _, v in axes)
    K = int(np.prod(shape))
    d = w0.size
    mesh = np.meshgrid(*[v for _, v in axes], indexing="ij")
    hyper = {name: m.reshape(K, 1).copy() for (name, _), m in zip(axes, mesh)}
    kwargs = {**hyper, **fixed}
    # diverging rows are masked here, so the optimizer must not raise on them (course optimizers)
    if "check_finite" not in kwargs and _accepts(optimizer_cls, "check_finite"):
        kwargs["check_finite"] = False
    optimizer = optimizer_cls(**kwargs)
    needs_hessian = bool(getattr(optimizer, "needs_hessian", False))

    loss0 = float(objective.value(w0))
    if not math.isfinite(loss0):
        raise ValueError(f"the loss at w0 (starting point) is not finite: L(w0) = {loss0}")
    limit = divergence_threshold * max(1.0, abs(loss0))
    w_star = getattr(objective, "minimizer", None)
    w_star = None if w_star is None else np.asarray(w_star, dtype=np.float64).reshape(d)

    W = np.tile(w0, (K, 1))
    params = {"w": W}
    # time-major buffers: writing one contiguous row per step is faster than a strided column
    losses = np.empty((steps + 1, K))
    dist = np.full((steps + 1, K), np.nan)
    losses[0] = loss0
    if w_star is not None:
        dist[0] = np.linalg.norm(w0 - w_star)
    frozen = np.zeros(K, dtype=bool)
    diverged_at = np.full(K, -1)
    kept = np.zeros(K, dtype=bool)      # was the point at the divergence step finite (kept)?

    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        for t in range(1, steps + 1):
            W_prev = params["w"].copy()
            point = _gradient_point(optimizer, params)
            G = np.array(objective.grad(point), dtype=np.float64)
            any_frozen = frozen.any()
            if any_frozen:
                G[frozen] = 0.0
            if needs_hessian:
                H = np.asarray(objective.hessian(point), dtype=np.float64)
                optimizer.step(params, {"w": G}, hessians={"w": H})
            else:
                optimizer.step(params, {"w": G})
            W = params["w"]
            if any_frozen:
                W[frozen] = W_prev[frozen]
            L = np.asarray(objective.value(W), dtype=np.float64).reshape(K)
            losses[t] = L
            if w_star is not None:
                diff = W - w_star
                dist[t] = np.sqrt(np.einsum("ki,ki->k", diff, diff))
                ok = np.isfinite(L) & np.isfinite(dist[t])   # dist is finite iff every w_i is
            else:
                ok = np.isfinite(L) & np.isfinite(W).all(axis=1)
            new = ~ok | (np.abs(L) > limit)
            if any_frozen:
                new &= ~frozen
            if new.any():
                diverged_at[new] = t
                kept[new] = ok[new]
                # a diverging row keeps its last finite point; a non-finite one is dropped
                W[new] = np.where(ok[new, None], W[new], W_prev[new])
                frozen |= new
                _zero_rows(getattr(optimizer, "state", None), frozen, K)

    # after divergence a row reads +inf (frozen rows were held, not iterated)
    if frozen.any():
        t_idx = np.arange(steps + 1)[:, None]
        first_inf = np.where(frozen, np.where(kept, diverged_at + 1, diverged_at), steps + 1)
        after = t_idx >= first_inf[None, :]
        losses[after] = np.inf
        dist[after & ~np.isnan(dist)] = np.inf
    losses = np.ascontiguousarray(losses.T)
    dist = np.ascontiguousarray(dist.T)

    # rates: fit on the finite part, stop where the distance hits rounding level eps * ||w*||
    if w_star is None:
        rate = np.full(K, np.nan)
    else:
        floor = max(_TINY, _ROUNDING_FACTOR * np.finfo(np.float64).eps * float(np.linalg.norm(w_star)))
        rate, _, _, _ = _fit_rates(dist, floor, None, None)
        rate = np.where(frozen, np.fmax(rate, 1.0), rate)

    name = getattr(optimizer_cls, "__name__", str(optimizer_cls))
    return GridResult(axes=tuple(axes), losses=losses.reshape(*shape, steps + 1),
                      dist=dist.reshape(*shape, steps + 1), diverged=frozen.reshape(shape),
                      diverged_at=diverged_at.reshape(shape), rate=rate.reshape(shape), steps=steps,
                      fixed=dict(fixed), optimizer_name=name)
