"""The optimizer race (chapter 07): every optimizer of the course from the same start on the same
2-D objective, their paths on the contours and their loss curves side by side.

* :data:`RACERS`                 the seven racers: GD, Momentum, Nesterov, AdaGrad, RMSprop, Adam, AdaBelief
* :data:`TUNED_LR`               per objective, the learning rate with which each racer wins
                                 (:func:`tune_lrs`: a log grid of rates, run at once)
* :func:`race`                   run the racers, return their paths and losses
* :func:`plot_race`              the static figure (what the notebook commits)
* :class:`OptimizerRace`         the live version: choose racers, learning rates, momentum and betas,
                                 the objective and the start point

The racers are the course's own optimizers (``course_lib.optim``), stepped directly (no runner) so
that a redraw stays well under 200 ms: a racer stops when its loss is no longer finite or exceeds
1e8 times the starting loss, and its path keeps only the finite part.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from ._base import Explorer

__all__ = ["RACERS", "OBJECTIVES", "START", "TUNED_STEPS", "TUNED_LR", "make_racer", "tune_lrs", "race", "RacePath", "plot_race",
           "OptimizerRace"]

RACERS = ("GD", "Momentum", "Nesterov", "AdaGrad", "RMSprop", "Adam", "AdaBelief")

#: name -> (title used in figures); the objectives themselves are built on demand
OBJECTIVES = {"bowl": r"bowl $w_1^2/20 + w_2^2$", "rosenbrock": r"Rosenbrock $(1 - w_1)^2 + 100\,(w_2 - w_1^2)^2$"}

#: default start of each objective: far along the flat direction of the bowl (as in chapter 02);
#: on the far side of Rosenbrock's curved valley
START = {"bowl": (-7.0, 2.0), "rosenbrock": (-1.5, 2.0)}

#: steps of the race on each objective (Rosenbrock's curved valley takes longer)
TUNED_STEPS = {"bowl": 300, "rosenbrock": 1000}

#: the learning rate with which each racer wins from START in TUNED_STEPS steps: the result of
#: ``tune_lrs`` (the grid 10^-4 .. 10^0.5 with 12 rates per decade, momentum 0.9, betas
#: (0.9, 0.999), RMSprop's alpha 0.99), rounded to two digits; tests/test_widgets_race.py re-runs
#: the search
TUNED_LR = {
    "bowl": {"GD": 0.83, "Momentum": 0.056, "Nesterov": 0.56, "AdaGrad": 3.2, "RMSprop": 0.18,
             "Adam": 0.56, "AdaBelief": 0.1},
    "rosenbrock": {"GD": 0.0018, "Momentum": 0.0018, "Nesterov": 0.001, "AdaGrad": 1.8,
                   "RMSprop": 0.0056, "Adam": 1.2, "AdaBelief": 0.83},
}

_DIVERGED_FACTOR = 1e8


def _objective(name):
    from ..objectives import Rosenbrock, bowl

    if name == "bowl":
        return bowl(kappa=20)
    if name == "rosenbrock":
        return Rosenbrock()
    raise ValueError(f"objective must be 'bowl' or 'rosenbrock', got {name!r}")


def make_racer(name, lr, *, momentum=0.9, betas=(0.9, 0.999)):
    """The course optimizer behind racer ``name`` (one of :data:`RACERS`) with learning rate ``lr``.

    GD = SGD(lr); Momentum / Nesterov = the lecture forms with ``momentum`` (mu); AdaGrad and
    RMSprop with torch's defaults (eps 1e-10 and 1e-8, alpha 0.99); Adam and AdaBelief with
    ``betas``. ``check_finite=False``: :func:`race` watches for divergence itself.
    """
    from .. import optim

    if name not in RACERS:
        raise ValueError(f"racer must be one of {', '.join(RACERS)}, got {name!r}")
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr (learning rate) of {name} must be a positive number, got {lr!r}")
    kw = {"check_finite": False}
    if name == "GD":
        return optim.SGD(lr=lr, **kw)
    if name == "Momentum":
        return optim.Momentum(lr=lr, momentum=momentum, **kw)
    if name == "Nesterov":
        return optim.Nesterov(lr=lr, momentum=momentum, **kw)
    if name == "AdaGrad":
        return optim.Adagrad(lr=lr, **kw)
    if name == "RMSprop":
        return optim.RMSprop(lr=lr, **kw)
    if name == "Adam":
        return optim.Adam(lr=lr, betas=tuple(betas), **kw)
    return optim.AdaBelief(lr=lr, betas=tuple(betas), **kw)


@dataclass(eq=False)
class RacePath:
    """One racer's run: ``trajectory`` (T+1, 2) w_0 .. w_T, ``losses`` (T+1,), ``lr``,
    ``diverged_at`` (the step whose loss blew up, or None)."""

    name: str
    lr: float
    trajectory: np.ndarray
    losses: np.ndarray
    diverged_at: int | None

    @property
    def final_loss(self) -> float:
        return float(self.losses[-1])

    def steps_to(self, tol) -> int | None:
        """First t with f(w_t) - f* <= tol (f* = 0 for both objectives), or None."""
        hit = np.flatnonzero(self.losses <= tol)
        return int(hit[0]) if hit.size else None

    def settles_at(self, tol) -> int | None:
        """First t from which f(w_t) - f* stays <= tol until the end of the run, or None (never, or
        the run diverged)."""
        if self.diverged_at is not None or self.losses[-1] > tol:
            return None
        above = np.flatnonzero(self.losses > tol)
        return int(above[-1]) + 1 if above.size else 0


def _run_one(name, lr, objective, w0, steps, momentum, betas):
    opt = make_racer(name, lr, momentum=momentum, betas=betas)
    params = {"w": np.array(w0, dtype=float)}
    traj = np.empty((steps + 1, 2))
    traj[0] = params["w"]
    bound = 1e6 * (1.0 + float(np.max(np.abs(traj[0]))))   # far outside any window: stop stepping
    last = steps
    with np.errstate(all="ignore"):
        for t in range(1, steps + 1):
            point = opt.gradient_point(params)["w"]
            opt.step(params, {"w": objective.grad(point)})
            w = params["w"]
            if not (np.isfinite(w).all() and np.abs(w).max() < bound):
                last = t - 1
                break
            traj[t] = w
        losses = np.asarray(objective.value(traj[: last + 1]), dtype=float)
    # the loss is evaluated once for the whole path (faster than once per step)
    limit = _DIVERGED_FACTOR * max(1.0, abs(float(losses[0])))
    blown = np.flatnonzero(~(np.abs(losses) <= limit))
    if blown.size:
        last = int(blown[0]) - 1
    diverged_at = last + 1 if last < steps else None
    return RacePath(name, float(lr), traj[: last + 1].copy(), losses[: last + 1].copy(), diverged_at)


def _check_steps(steps):
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1:
        raise ValueError(f"steps must be a whole number >= 1, got {steps!r}")
    return int(steps)


def _check_start(w0):
    w0 = np.asarray(w0, dtype=float)
    if w0.shape != (2,) or not np.isfinite(w0).all():
        raise ValueError(f"w0 (start point) must be two finite numbers (w_1, w_2), got {w0.tolist()}")
    return w0


def _racer_class_and_fixed(name, momentum=0.9, betas=(0.9, 0.999)):
    from .. import optim

    return {"GD": (optim.SGD, {}), "Momentum": (optim.Momentum, {"momentum": momentum}),
            "Nesterov": (optim.Nesterov, {"momentum": momentum}), "AdaGrad": (optim.Adagrad, {}),
            "RMSprop": (optim.RMSprop, {}), "Adam": (optim.Adam, {"betas": tuple(betas)}),
            "AdaBelief": (optim.AdaBelief, {"betas": tuple(betas)})}[name]


def tune_lrs(objective="bowl", *, steps=None, lrs=None, tol=1e-6, w0=None):
    """The learning rate with which each racer wins on ``objective`` from ``w0`` (default START).

    Every rate of the grid ``lrs`` (default 10^-4 .. 10^0.5, 12 per decade) runs at once
    (:func:`course_lib.runner.run_grid`). The winner is the rate after which f(w_t) - f* stays
    below ``tol`` soonest (a lucky pass below tol followed by a bounce does not count); if no rate
    gets there in ``steps`` steps (default TUNED_STEPS), the one with the lowest final loss.
    Diverged rates never win.

    Returns dict racer -> (lr, steps until f stays below tol or None, final loss).
    """
    from ..runner import run_grid

    f = _objective(objective)
    w0 = _check_start(START[objective] if w0 is None else w0)
    steps = _check_steps(TUNED_STEPS[objective] if steps is None else steps)
    lrs = np.logspace(-4, 0.5, 55) if lrs is None else np.asarray(lrs, dtype=float)
    out = {}
    for name in RACERS:
        cls, fixed = _racer_class_and_fixed(name)
        grid = run_grid(cls, f, w0, grid={"lr": lrs}, steps=steps, fixed=fixed)
        above = grid.losses > tol                      # (K, steps + 1)
        stays = np.where(above[:, -1], steps + 1, steps + 1 - np.argmax(above[:, ::-1], axis=1))
        stays = np.where(above.all(axis=1), steps + 1, np.where(above.any(axis=1), stays, 0))
        final = np.where(grid.diverged, np.inf, grid.losses[:, -1])
        k = int(np.lexsort((final, np.where(grid.diverged, steps + 2, stays)))[0])
        out[name] = (float(lrs[k]), int(stays[k]) if stays[k] <= steps else None, float(final[k]))
    return out


def race(objective="bowl", lrs=None, *, w0=None, steps=None, momentum=0.9, betas=(0.9, 0.999)):
    """Run racers from the same start.

    Parameters
    ----------
    objective : "bowl" (w_1^2/20 + w_2^2) or "rosenbrock".
    lrs : dict racer -> learning rate; default :data:`TUNED_LR` of the objective (all seven racers).
        Only the racers named here run.
    w0 : start point, default :data:`START` of the objective.
    steps : int, default TUNED_STEPS of the objective.      momentum, betas : for Momentum/Nesterov and Adam/AdaBelief.

    Returns dict racer -> :class:`RacePath`, in the order of :data:`RACERS`.
    """
    f = _objective(objective)
    lrs = dict(TUNED_LR[objective]) if lrs is None else dict(lrs)
    unknown = [n for n in lrs if n not in RACERS]
    if unknown:
        raise ValueError(f"unknown racer {unknown[0]!r}; the racers are {', '.join(RACERS)}")
    w0 = _check_start(START[objective] if w0 is None else w0)
    steps = _check_steps(TUNED_STEPS[objective] if steps is None else steps)
    return {name: _run_one(name, lrs[name], f, w0, steps, momentum, betas) for name in RACERS if name in lrs}


# ---------------------------------------------------------------------------------------------
# drawing


def _colors():
    from ..plotting import COURSE_STYLE

    return dict(zip(RACERS, COURSE_STYLE["axes.prop_cycle"].by_key()["color"]))


_LOSS_FLOOR = 1e-12   # losses are drawn down to this; below it the race is won


def _label(p: RacePath) -> str:
    tail = f", diverged at t = {p.diverged_at}" if p.diverged_at else ""
    return f"{p.name} (\u03b7 = {p.lr:.2g}{tail})"   # a plain eta: mathtext costs ~20 ms per label


def _summary(paths, steps) -> str:
    rows = []
    for p in paths.values():
        settled = p.settles_at(1e-6)
        if p.diverged_at:
            rows.append(f"{p.name}: diverged at step {p.diverged_at}")
        else:
            rows.append(f"{p.name}: f = {p.final_loss:.2g} after {steps} steps"
                        + (f", f &lt; 1e-6 from step {settled} on" if settled is not None else ""))
    return "; ".join(rows)


def _draw_static(fig, objective, paths, steps, title=None):
    from ..plotting import contour_trajectories, curves, plain_log_ticks

    f = _objective(objective)
    ax_path, ax_loss = fig.subplots(1, 2, width_ratios=[1.15, 1])
    colors = _colors()
    contour_trajectories(f, {_label(p): p.trajectory for p in paths.values()}, ax=ax_path,
                         xlim=f.xlim, ylim=f.ylim, title=f"paths on the {OBJECTIVES[objective]}",
                         legend_loc="lower right" if objective == "bowl" else "lower left")
    # contour_trajectories colours paths in the order given; match the loss curves to them
    for line, p in zip([ln for ln in ax_path.get_lines() if ln.get_label() in {_label(q) for q in paths.values()}],
                       paths.values()):
        line.set_color(colors[p.name])
    curves({_label(p): (np.arange(1, p.losses.size), np.maximum(p.losses[1:], _LOSS_FLOOR)) for p in paths.values()},
           ax=ax_loss, logx=True, logy=True, xlabel="step $t$ (log scale)", ylabel=r"$f(w_t) - f^*$",
           title=f"loss against step (below {_LOSS_FLOOR:.0e}: drawn at {_LOSS_FLOOR:.0e})",
           styles={_label(p): {"color": colors[p.name]} for p in paths.values()})
    ax_loss.set_ylim(_LOSS_FLOOR / 3, None)
    plain_log_ticks(ax_loss, "y", numticks=6, minor=True)
    plain_log_ticks(ax_loss, "x", numticks=None, minor=True)
    ax_loss.get_legend().remove()
    fig.suptitle(title or f"Optimizer race on the {OBJECTIVES[objective]}, {steps} steps", fontsize=12)
    return ax_path, ax_loss


def plot_race(objective="bowl", lrs=None, *, w0=None, steps=None, momentum=0.9, betas=(0.9, 0.999),
              figsize=(12, 4.6), title=None):
    """Static twin of :class:`OptimizerRace`: contours with every path (left) and the loss curves
    f(w_t) - f* on a log axis (right), for the settings of :func:`race`. Returns (fig, paths)."""
    import matplotlib.pyplot as plt

    steps = TUNED_STEPS.get(objective, 1) if steps is None else steps
    paths = race(objective, lrs, w0=w0, steps=steps, momentum=momentum, betas=betas)
    fig = plt.figure(figsize=figsize, layout="constrained")
    _draw_static(fig, objective, paths, steps, title)
    return fig, paths


class OptimizerRace(Explorer):
    """The live race: check the racers to run, set each one's learning rate, the momentum mu and
    Adam's betas, pick the objective and the start point; the paths and loss curves redraw.

    Fast redraws: what never changes (the contours of each objective, the axes, ticks and titles) is
    rendered once per objective and kept as a background bitmap; a redraw pastes it and draws only
    the racers' lines, markers and the legend on top (matplotlib's blitting), instead of
    re-rendering ~100 ms of contour lines. Racers whose settings did not change are not run again
    (a cache). The loss axis is fixed (log step axis 1..1000, loss 1e-12 .. above the largest value
    in the window), so it never has to be re-rendered. Put the explorer as the last expression of a
    cell.

    Attributes: ``paths`` (the last race, racer -> RacePath), plus those of ``Explorer``.
    """

    def __init__(self, objective="bowl", *, racers=RACERS, steps=300, figsize=(11.5, 4.6), dpi=80):
        import ipywidgets as widgets

        if objective not in OBJECTIVES:
            raise ValueError(f"objective must be 'bowl' or 'rosenbrock', got {objective!r}")
        unknown = [r for r in racers if r not in RACERS]
        if unknown:
            raise ValueError(f"unknown racer {unknown[0]!r}; the racers are {', '.join(RACERS)}")
        steps = _check_steps(steps)
        if steps > 1000:
            raise ValueError(f"steps must be at most 1000 in the explorer, got {steps}")
        self._objectives = {name: _objective(name) for name in OBJECTIVES}
        self._cache: dict = {}
        self._backgrounds: dict = {}
        self._busy = False
        self.paths: dict = {}
        layout = widgets.Layout(width="48%")
        style = {"description_width": "90px"}
        f = self._objectives[objective]
        controls = {
            "objective": widgets.Dropdown(options=[("bowl w_1^2/20 + w_2^2", "bowl"), ("Rosenbrock", "rosenbrock")],
                                          value=objective, description="objective", style=style),
            "racers": widgets.SelectMultiple(options=list(RACERS), value=tuple(racers), rows=len(RACERS),
                                             description="racers", style=style),
        }
        for name in RACERS:
            controls[f"lr_{name}"] = widgets.FloatLogSlider(
                value=TUNED_LR[objective][name], base=10, min=-4, max=1, step=0.05, readout_format=".2g",
                description=f"eta {name}", continuous_update=False, layout=layout, style=style)
        controls["momentum"] = widgets.FloatSlider(value=0.9, min=0.0, max=0.99, step=0.01, description="mu",
                                                   continuous_update=False, layout=layout, style=style)
        controls["beta1"] = widgets.FloatSlider(value=0.9, min=0.0, max=0.99, step=0.01, description="beta1",
                                                continuous_update=False, layout=layout, style=style)
        controls["beta2"] = widgets.SelectionSlider(options=[0.9, 0.99, 0.999, 0.9999], value=0.999,
                                                    description="beta2", continuous_update=False, layout=layout,
                                                    style=style)
        x0, y0 = START[objective]
        controls["x0"] = widgets.FloatSlider(value=x0, min=f.xlim[0], max=f.xlim[1], step=0.1,
                                             description="start w1", continuous_update=False, layout=layout,
                                             style=style)
        controls["y0"] = widgets.FloatSlider(value=y0, min=f.ylim[0], max=f.ylim[1], step=0.1,
                                             description="start w2", continuous_update=False, layout=layout,
                                             style=style)
        controls["steps"] = widgets.IntSlider(value=steps, min=10, max=1000, step=10, description="steps",
                                              continuous_update=False, layout=layout, style=style)
        header = ("Every racer starts at the same point. The learning rates start at the values with which "
                  "each racer wins on its own (TUNED_LR); move them and watch who wins.")
        super().__init__(controls, header=header, figsize=figsize, dpi=dpi)
        controls["objective"].observe(self._on_objective, names="value")

    # -- switching the objective resets the rates and the start with one redraw, not one per slider
    def _on_change(self, change) -> None:
        if not self._busy and change.get("owner") is not self.controls["objective"]:
            self.redraw()

    def _on_objective(self, change) -> None:
        name = change["new"]
        f = self._objectives[name]
        self._busy = True
        try:
            for racer in RACERS:
                self.controls[f"lr_{racer}"].value = TUNED_LR[name][racer]
            for key, lim, v in (("x0", f.xlim, START[name][0]), ("y0", f.ylim, START[name][1])):
                slider = self.controls[key]
                slider.min, slider.max = min(slider.min, lim[0]), max(slider.max, lim[1])
                slider.value = v
                slider.min, slider.max = lim
        finally:
            self._busy = False
        self.redraw()

    # -- the static part, drawn once ------------------------------------------------------------
    def setup(self, fig) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.lines import Line2D
        from ..plotting import contour_trajectories, course_style, curves, plain_log_ticks

        FigureCanvasAgg(fig)   # fig.canvas: an Agg canvas we can blit on
        colors = _colors()
        with course_style():
            gs = fig.add_gridspec(1, 2, width_ratios=[1.15, 1], left=0.06, right=0.98, bottom=0.12, top=0.86,
                                  wspace=0.2)
            self._ax_path, self._lines, self._top = {}, {}, {}
            for name, f in self._objectives.items():
                ax = fig.add_subplot(gs[0, 0], label=name)
                contour_trajectories(f, {}, ax=ax, xlim=f.xlim, ylim=f.ylim, levels=20, colorbar=False,
                                     title=f"paths on the {OBJECTIVES[name]}")
                ax.get_legend().remove()
                self._ax_path[name] = ax
                corners = np.array([[x, y] for x in f.xlim for y in f.ylim])
                self._top[name] = 3.0 * float(np.max(f.value(corners)))
                for racer in RACERS:
                    c = colors[racer]
                    arts = (ax.plot([], [], "-", color=c, lw=1.5, zorder=3)[0],
                            ax.plot([], [], "o", ms=7, mfc="white", mec=c, mew=1.8, zorder=4)[0],
                            ax.plot([], [], "X", ms=8, color=c, mec="black", mew=0.5, zorder=5)[0])
                    for a in arts:
                        a.set_animated(True)
                    self._lines[(name, racer)] = arts
            ax_loss = fig.add_subplot(gs[0, 1])
            curves({r: (np.array([1.0]), np.array([1.0])) for r in RACERS}, ax=ax_loss, logx=True, logy=True,
                   xlabel="step $t$ (log scale)", ylabel=r"$f(w_t) - f^*$", title="loss against step",
                   styles={r: {"color": colors[r]} for r in RACERS})
            ax_loss.get_legend().remove()
            ax_loss.set_xlim(0.8, 1000)
            # plain tick labels: a log axis with mathtext labels costs tens of ms per render
            plain_log_ticks(ax_loss, "y", numticks=6, minor=True)
            plain_log_ticks(ax_loss, "x", numticks=None, minor=True)
            self._loss_lines = {line.get_label(): line for line in ax_loss.get_lines()}
            for line in self._loss_lines.values():
                line.set_animated(True)
            self._ax_loss = ax_loss
            self._legend_proxy = {r: Line2D([], [], color=colors[r], lw=2) for r in RACERS}
            self._legend = None
            fig.suptitle("Optimizer race: the same start, each racer with its own learning rate", fontsize=12)

    def _background(self, objective):
        """The rendered static figure for ``objective`` (cached): its path axes visible, the other hidden."""
        if objective not in self._backgrounds:
            for name, ax in self._ax_path.items():
                ax.set_visible(name == objective)
            self._ax_loss.set_ylim(_LOSS_FLOOR / 3, self._top[objective])
            canvas = self.figure.canvas
            canvas.draw()
            self._backgrounds[objective] = canvas.copy_from_bbox(self.figure.bbox)
        return self._backgrounds[objective]

    # -- what changes ----------------------------------------------------------------------------
    def _path(self, objective, racer, lr, w0, steps, momentum, betas) -> RacePath:
        """The race of one racer, from the cache when only the number of steps went down."""
        key = (objective, racer, float(lr), tuple(w0), float(momentum), tuple(betas))
        cached = self._cache.get(key)
        if cached is None or (cached.trajectory.shape[0] - 1 < steps and cached.diverged_at is None):
            if len(self._cache) > 200:
                self._cache.clear()
            cached = self._cache[key] = _run_one(racer, lr, self._objectives[objective], np.asarray(w0), steps,
                                                 momentum, betas)
        n = min(steps, cached.trajectory.shape[0] - 1)
        diverged_at = cached.diverged_at if cached.diverged_at is not None and cached.diverged_at <= steps else None
        return RacePath(racer, cached.lr, cached.trajectory[: n + 1], cached.losses[: n + 1], diverged_at)

    def update(self, fig, *, objective, racers, momentum, beta1, beta2, x0, y0, steps, **lrs) -> str:
        betas = (float(beta1), float(beta2))
        paths = {r: self._path(objective, r, lrs[f"lr_{r}"], (float(x0), float(y0)), steps, momentum, betas)
                 for r in RACERS if r in racers}
        self.paths = paths
        self._objective_shown = objective
        for (name, racer), (line, start, end) in self._lines.items():
            p = paths.get(racer) if name == objective else None
            if p is None:
                for artist in (line, start, end):
                    artist.set_data([], [])
                continue
            line.set_data(p.trajectory[:, 0], p.trajectory[:, 1])
            start.set_data(p.trajectory[:1, 0], p.trajectory[:1, 1])
            end.set_data(p.trajectory[-1:, 0], p.trajectory[-1:, 1])
        for racer, line in self._loss_lines.items():
            p = paths.get(racer)
            if p is None:
                line.set_data([], [])
            else:
                line.set_data(np.arange(1, p.losses.size), np.maximum(p.losses[1:], _LOSS_FLOOR))
        ax = self._ax_path[objective]
        if self._legend is not None:
            self._legend.remove()
            self._legend = None
        if paths:
            self._legend = ax.legend([self._legend_proxy[r] for r in paths], [_label(p) for p in paths.values()],
                                     loc="lower right" if objective == "bowl" else "lower left", fontsize=8)
            self._legend.set_animated(True)
        head = f"{steps} steps from w0 = ({float(x0):.1f}, {float(y0):.1f}). "
        return head + (_summary(paths, steps) if paths else "no racer selected: pick at least one")

    def _render_png(self) -> bytes:
        import io

        from PIL import Image

        canvas = self.figure.canvas
        objective = self._objective_shown
        canvas.restore_region(self._background(objective))
        ax = self._ax_path[objective]
        for (name, _), arts in self._lines.items():
            if name == objective:
                for a in arts:
                    ax.draw_artist(a)
        for line in self._loss_lines.values():
            self._ax_loss.draw_artist(line)
        if self._legend is not None:
            ax.draw_artist(self._legend)
        buffer = io.BytesIO()
        Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(), "raw", "RGBA", 0, 1) \
            .save(buffer, format="png", compress_level=1)
        return buffer.getvalue()

    def redraw(self) -> None:
        """As ``Explorer.redraw`` (update, render, readout, timing), rendering by blitting."""
        import time

        start = time.perf_counter()
        self.readout.value = self.update(self.figure, **self.values())
        self.image.value = self._render_png()
        self.redraw_seconds = time.perf_counter() - start
