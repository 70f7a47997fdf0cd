"""Run an optimizer on an objective: one run with stopping rules, or a whole hyperparameter grid at once.

Two tools, used by every chapter:

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
    point  = optimizer.gradient_point(params)["w"] # only if optimizer.lookahead (w + mu v for
                                                   # look-ahead Nesterov); else the gradient at w
    optimizer.step(params, {"w": objective.grad(point)})
    # optimizers with needs_hessian = True get hessians={"w": objective.hessian(point)} too.

The runner reads what an optimizer can do from its attributes (``needs_hessian``, ``lookahead``,
``freeze_rows``) and where it diverged from the attributes of its ``DivergenceError``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from . import _validate as V
from ._sweep import _Sweep, _start_loss
from .optim.base import DivergenceError, Optimizer, _all_finite, _first_bad

__all__ = ["RunResult", "GridResult", "run", "run_grid", "stop_rule"]

STOP_REASONS = ("max_steps", "tol_step", "tol_grad", "diverged", "callback")


# ----------------------------------------------------------------------------------------------
# argument checks shared by run and run_grid
# ----------------------------------------------------------------------------------------------
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
    return V.finite_array(w, "w0 (starting point)")


def _threshold(value) -> float:
    return V.positive(value, "divergence_threshold (how many times the starting loss counts as "
                             "diverged)")


def _tolerance(value, label):
    return None if value is None else V.positive(value, label)


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
    divergence : DivergenceError or None   for a diverged run, what diverged (never raised):
                                  ``quantity`` "loss", "gradient" or "parameter", ``step``, ``value``
    """

    trajectory: np.ndarray
    losses: np.ndarray
    grad_norms: np.ndarray
    steps: int
    stop_reason: str
    message: str
    diverged_at: int | None = None
    divergence: DivergenceError | None = None

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


def stop_rule(*, finite: bool, loss: float, limit: float, gnorm: float, tol_grad: float | None,
              step_length: float | None, tol_step: float | None, callback_stop: bool) -> str | None:
    """Why the run stops after a step, or None to go on: the first rule that holds, in this order.

    "diverged"  the iterate, loss or gradient is not finite, or ``|loss| > limit``
    "tol_grad"  ``gnorm < tol_grad``
    "tol_step"  ``step_length < tol_step`` (``step_length`` = ||w_t - w_(t-1)||)
    "callback"  the callback returned something true
    (None tolerances are rules switched off.)
    """
    if not finite or abs(loss) > limit:
        return "diverged"
    if tol_grad is not None and gnorm < tol_grad:
        return "tol_grad"
    if tol_step is not None and step_length < tol_step:
        return "tol_step"
    return "callback" if callback_stop else None


def _steps(n: int) -> str:
    return f"{n} step" if n == 1 else f"{n} steps"


def _below(value: float, name: str, tol: float) -> str:
    """"= 9.99e-05 < tol_step = 0.0001": two significant digits, more (up to 6) where two would
    print the value and the tolerance alike, so the inequality shows in the digits."""
    for digits in range(2, 7):
        a, b = V.fmt(value, digits), V.fmt(tol, digits)
        if a != b:
            break
    return f"= {a} < {name} = {b}"


class _Run:
    """The state of one :func:`run`: the records, the current gradient and the rules."""

    def __init__(self, optimizer, objective, w0, *, max_steps, tol_step, tol_grad, schedule,
                 divergence_threshold, callback):
        self.optimizer, self.objective, self.schedule, self.callback = (
            optimizer, objective, schedule, callback)
        self.max_steps, self.tol_step, self.tol_grad = max_steps, tol_step, tol_grad
        self.threshold = divergence_threshold
        self.loss0 = _start_loss(objective, w0)
        self.g = np.asarray(objective.grad(w0), dtype=np.float64)
        gnorm0 = math.sqrt(self.g.dot(self.g))
        if not math.isfinite(gnorm0):
            raise ValueError(f"the gradient at w0 (starting point) is not finite: {self.g}")
        self.limit = divergence_threshold * max(1.0, abs(self.loss0))
        self.needs_hessian = bool(getattr(optimizer, "needs_hessian", False))
        # a course optimizer that checks its parameters has already found w_t finite
        self.checked = isinstance(optimizer, Optimizer) and optimizer.check_finite
        lookahead = getattr(optimizer, "lookahead", None)
        self.lookahead = (callable(getattr(optimizer, "gradient_point", None)) if lookahead is None
                          else bool(lookahead))
        self.params = {"w": w0.copy()}
        self.traj, self.losses, self.gnorms = [w0.copy()], [self.loss0], [gnorm0]
        self.diverged_at = self.divergence = None

    # -- the algorithm ---------------------------------------------------------------------
    def at_start(self):
        """(reason, message) before the first step, or None."""
        if self.callback is not None and bool(self.callback(0, self.traj[0].copy(), self.loss0)):
            return "callback", "stopped by the callback at step 0"
        if self.tol_grad is not None and self.gnorms[0] < self.tol_grad:
            return "tol_grad", (f"converged: ||g|| {_below(self.gnorms[0], 'tol_grad', self.tol_grad)} "
                                "at the start point (0 steps)")
        return None

    def step(self, t: int):
        """Take step t and record it; (reason, message) if the run stops there, else None."""
        opt, params = self.optimizer, self.params
        if self.schedule is not None:
            opt.lr = _scheduled_lr(self.schedule, t)
        point, g = params["w"], self.g
        if self.lookahead:
            point = opt.gradient_point(params)["w"]
            g = np.asarray(self.objective.grad(point), dtype=np.float64)
            if not _all_finite(g):
                return self.diverge(t, "the gradient is not finite", "gradient", _first_bad(g))
        try:
            if self.needs_hessian:
                H = np.asarray(self.objective.hessian(point), dtype=np.float64)
                opt.step(params, {"w": g}, hessians={"w": H})
            else:
                opt.step(params, {"w": g})
        except DivergenceError as err:
            return self.diverge(t, f"the optimizer reported: {err.what}", error=err)
        return self.record(t, params["w"])

    def record(self, t: int, w):
        w_ok = self.checked or _all_finite(w)
        loss = float(self.objective.value(w)) if w_ok else math.nan
        g = self.g = np.asarray(self.objective.grad(w), dtype=np.float64)
        gnorm = math.sqrt(g.dot(g))
        finite = w_ok and math.isfinite(loss) and math.isfinite(gnorm)
        callback_stop, step_length = False, None
        if finite:
            if self.tol_step is not None:
                diff = w - self.traj[-1]
                step_length = math.sqrt(diff.dot(diff))
            self.traj.append(w.copy())
            self.losses.append(loss)
            self.gnorms.append(gnorm)
            callback_stop = self.callback is not None and bool(self.callback(t, w.copy(), loss))
        reason = stop_rule(finite=finite, loss=loss, limit=self.limit, gnorm=gnorm,
                           tol_grad=self.tol_grad, step_length=step_length,
                           tol_step=self.tol_step, callback_stop=callback_stop)
        if reason is None:
            return None
        if reason == "diverged":
            return self.diverge_on_loss(t, loss, finite)
        return reason, self.message(reason, t, gnorm, step_length)

    # -- the words -------------------------------------------------------------------------
    def message(self, reason: str, t: int, gnorm=None, step_length=None) -> str:
        if reason == "tol_grad":
            return f"converged: ||g|| {_below(gnorm, 'tol_grad', self.tol_grad)} after {_steps(t)}"
        if reason == "tol_step":
            return (f"converged: ||w_t - w_(t-1)|| {_below(step_length, 'tol_step', self.tol_step)} "
                    f"after {_steps(t)}")
        if reason == "callback":
            return f"stopped by the callback at step {t}"
        tols = [n for n, v in (("tol_step", self.tol_step), ("tol_grad", self.tol_grad))
                if v is not None]
        what = ("without meeting " + " or ".join(tols)) if tols else "(no tolerance set)"
        return (f"reached max_steps = {self.max_steps} {what}: loss = {V.fmt(self.losses[-1], 4)}, "
                f"||g|| = {V.fmt(self.gnorms[-1], 2)}")

    def diverge_on_loss(self, t, loss, finite):
        if not finite:
            if math.isfinite(loss):
                return self.diverge(t, "the gradient is not finite", "gradient", math.nan)
            return self.diverge(t, f"loss = {V.fmt(loss, 3)}", "loss", loss,
                                unbounded=loss == -math.inf)
        if loss > 0:
            why = (f"loss = {V.fmt(loss, 3)}, more than {V.fmt(self.threshold, 2)} times the "
                   f"starting loss")
        else:
            why = f"loss = {V.fmt(loss, 3)}, far below the starting loss {V.fmt(self.loss0, 3)}"
        return self.diverge(t, why, "loss", loss, unbounded=loss < 0)

    def diverge(self, t, why, quantity=None, value=None, *, unbounded=False, error=None):
        if unbounded:
            message = f"diverged at step {t} ({why}); the objective may be unbounded below"
        else:
            lr = getattr(self.optimizer, "lr", None)
            hint = "try a smaller learning rate" + (f" (lr = {_show_lr(lr)})" if lr is not None else "")
            message = f"diverged at step {t} ({why}); {hint}"
        self.diverged_at = t
        self.divergence = error if error is not None else DivergenceError(
            message, step=t, key="w", quantity=quantity, value=value)
        return "diverged", message

    def result(self, reason: str, message: str) -> RunResult:
        return RunResult(trajectory=np.array(self.traj), losses=np.array(self.losses),
                         grad_norms=np.array(self.gnorms), steps=len(self.traj) - 1,
                         stop_reason=reason, message=message, diverged_at=self.diverged_at,
                         divergence=self.divergence)


def _show_lr(lr: Any) -> str:
    arr = np.asarray(lr, dtype=float)
    return V.fmt(arr.reshape(()), 3) if arr.size == 1 else f"array of {arr.size} values"


def _scheduled_lr(schedule, t: int) -> float:
    lr_t = schedule(t)
    try:
        lr = float(lr_t)
    except (TypeError, ValueError):
        lr = math.nan
    if isinstance(lr_t, bool) or not math.isfinite(lr) or lr < 0:
        raise ValueError(f"schedule(t) must return a learning rate >= 0, got {lr_t!r} at step t = {t}")
    return lr


def _check_run_arguments(optimizer, objective, max_steps, tol_step, tol_grad, schedule,
                         divergence_threshold, callback) -> dict:
    if not callable(getattr(optimizer, "step", None)):
        raise ValueError(f"optimizer must have a step(params, grads) method, got {optimizer!r}")
    for meth in ("value", "grad"):
        if not callable(getattr(objective, meth, None)):
            raise ValueError(f"objective must have a {meth}(w) method, got {objective!r}")
    return dict(
        max_steps=V.count(max_steps, "max_steps (the largest number of steps)",
                          noun="positive whole number"),
        tol_step=_tolerance(tol_step, "tol_step (tolerance on the step length ||w_t - w_(t-1)||)"),
        tol_grad=_tolerance(tol_grad, "tol_grad (tolerance on the gradient norm ||g||)"),
        divergence_threshold=_threshold(divergence_threshold),
        schedule=V.function(schedule, "schedule", "t -> lr"),
        callback=V.function(callback, "callback", "(t, w, loss) -> bool"))


def run(optimizer, objective, w0, *, max_steps: int = 1000, tol_step: float | None = None,
        tol_grad: float | None = None, schedule: Callable[[int], float] | None = None,
        divergence_threshold: float = 1e8, progress: bool = False,
        callback: Callable[[int, np.ndarray, float], Any] | None = None) -> RunResult:
    """Run ``optimizer`` on ``objective`` from ``w0`` and record what happens.

    Step t = 1, 2, ... (``optimizer.reset()`` is called first, so a used optimizer starts fresh)::

        optimizer.lr = schedule(t)                         # only if a schedule is given
        p = optimizer.gradient_point(params)["w"]          # only if optimizer.lookahead; else
                                                           # p = w_{t-1} and its gradient is reused
        optimizer.step(params, {"w": objective.grad(p)})   # params["w"]: w_{t-1} -> w_t, in place
        # (plus hessians={"w": objective.hessian(p)} when optimizer.needs_hessian)

    Stopping rules (:func:`stop_rule`), checked after every step in this order:

    * **diverged** -- ``L(w_t)`` or ``w_t`` or the gradient is not finite, or
      ``|L(w_t)| > divergence_threshold * max(1, |L(w_0)|)``, or the optimizer raised
      ``DivergenceError``. The run stops *without raising*; only finite iterates are kept, so
      curves and paths still plot; ``result.divergence`` says what diverged.
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
    rules = _check_run_arguments(optimizer, objective, max_steps, tol_step, tol_grad, schedule,
                                 divergence_threshold, callback)
    state = _Run(optimizer, objective, _check_start(objective, w0), **rules)
    if hasattr(optimizer, "reset"):
        optimizer.reset()
    lr_saved = getattr(optimizer, "lr", None)
    bar = _progress_bar(progress, state.max_steps, getattr(objective, "name", "run"))
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            outcome, t = state.at_start(), 0
            while outcome is None and t < state.max_steps:
                t += 1
                outcome = state.step(t)
                if bar is not None:
                    _show_progress(bar, t, state)
    finally:
        if bar is not None:
            bar.close()
        if schedule is not None and lr_saved is not None:
            optimizer.lr = lr_saved
    return state.result(*(outcome or ("max_steps", state.message("max_steps", t))))


def _progress_bar(progress: bool, total: int, desc: str):
    if not progress:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, desc=desc, leave=True)


def _show_progress(bar, t: int, state: _Run) -> None:
    bar.update(1)
    if t % max(1, state.max_steps // 100) == 0 and len(state.losses) == t + 1:
        bar.set_postfix(loss=f"{state.losses[-1]:.3g}", g=f"{state.gnorms[-1]:.2g}", refresh=False)


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
        axes = ", ".join(f"{n}: {len(v)} values in [{V.fmt(v.min(), 3)}, {V.fmt(v.max(), 3)}]"
                         for n, v in self.axes)
        n_div = int(self.diverged.sum())
        text = (f"GridResult({self.optimizer_name} {axes}; {self.steps} steps; {n_div} of "
                f"{self.diverged.size} diverged")
        try:
            b = self.best()
            text += "; best " + ", ".join(f"{k} = {V.fmt(v, 4)}" for k, v in b.items())
            text += f" with rate {V.fmt(self.rate[self.best_index()], 4)}"
        except ValueError:
            pass
        return text + ")"


def _grid_axes(grid, fixed) -> list:
    """[(name, 1-D float array)] for the grid dict, checked."""
    if not isinstance(grid, dict) or len(grid) == 0:
        raise ValueError('grid must be a dict such as {"lr": [0.01, 0.1], "momentum": [0.0, 0.9]}, '
                         f"got {grid!r}")
    if not isinstance(fixed, dict):
        raise ValueError(f'fixed must be a dict such as {{"momentum": 0.9}}, got {fixed!r}')
    axes = []
    for name, vals in grid.items():
        if not isinstance(name, str):
            raise ValueError(f"grid keys must be hyperparameter names (strings), got {name!r}")
        if name in fixed:
            raise ValueError(f"hyperparameter {name!r} is both in grid and in fixed; keep it in one")
        v = V.finite_array(vals, f"grid[{name!r}]", copy=True)
        if v.ndim != 1 or v.size == 0:
            raise ValueError(f"grid[{name!r}] must be a non-empty 1-D array of values, got shape {v.shape}")
        axes.append((name, v))
    return axes


def _grid_optimizer(optimizer_cls, axes, fixed):
    """The optimizer with one (K, 1) column per grid hyperparameter; diverging rows are masked by
    the sweep, so a course optimizer must not raise on them (check_finite=False)."""
    if not callable(optimizer_cls):
        raise ValueError(f"optimizer_cls must be an optimizer class such as SGD, got {optimizer_cls!r}")
    mesh = np.meshgrid(*[v for _, v in axes], indexing="ij")
    K = mesh[0].size
    kwargs = {**{name: m.reshape(K, 1).copy() for (name, _), m in zip(axes, mesh)}, **fixed}
    if isinstance(optimizer_cls, type) and issubclass(optimizer_cls, Optimizer):
        kwargs.setdefault("check_finite", False)
    return optimizer_cls(**kwargs), K


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
    gradient is zeroed, ``optimizer.freeze_rows`` zeroes its buffers and its iterate is held), so
    it cannot overflow and spread NaN; its ``losses`` and ``dist`` read ``+inf`` after the last
    finite step, and ``diverged`` flags it.

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
    Memory: the two result arrays, plus about 2 x 32 steps of them and the fit's row blocks.
    """
    w0 = _check_start(objective, w0)
    steps = V.count(steps, "steps (the number of steps)", noun="positive whole number")
    threshold = _threshold(divergence_threshold)
    fixed = {} if fixed is None else fixed
    axes = _grid_axes(grid, fixed)
    optimizer, K = _grid_optimizer(optimizer_cls, axes, fixed)
    sweep = _Sweep(objective, w0, K, steps, threshold)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        for t in range(1, steps + 1):
            sweep.step(optimizer, t)
        sweep.finish(steps)
        rate = sweep.rates()
    shape = tuple(len(v) for _, v in axes)
    return GridResult(axes=tuple(axes), losses=sweep.losses.reshape(*shape, steps + 1),
                      dist=sweep.dist.reshape(*shape, steps + 1), diverged=sweep.frozen.reshape(shape),
                      diverged_at=sweep.diverged_at.reshape(shape), rate=rate.reshape(shape),
                      steps=steps, fixed=dict(fixed),
                      optimizer_name=getattr(optimizer_cls, "__name__", str(optimizer_cls)))
