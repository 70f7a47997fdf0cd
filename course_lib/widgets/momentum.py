"""The momentum explorer (chapters 05 and 06) and the (eta, mu) map of measured rates.

:class:`MomentumExplorer` has two sliders, the learning rate eta and the momentum mu, and redraws
the path of heavy-ball momentum (or of Nesterov's method) on the kappa = 20 bowl
``f(w_1, w_2) = w_1^2/20 + w_2^2`` next to its loss curve. The readout prints the rate measured on the run
next to the theoretical one, the spectral radius of the 2 x 2 iteration matrix
(:mod:`course_lib.rates`), and says whether the setting lies inside the region
``0 < eta lambda_max < 2 + 2 mu`` (heavy ball) or ``(2 + 2 mu) / (1 + 2 mu)`` (Nesterov).

Its static twin :func:`plot_momentum_path` draws the same figure for one setting, so a notebook
reads well without a live kernel. :func:`plot_rate_map` runs a whole (eta, mu) grid at once with
:func:`course_lib.runner.run_grid` and colours each cell by its measured rate, with the theoretical
region boundary and rate contours drawn on top::

    fig, result = plot_momentum_path(0.5, 0.6)        # static figure
    MomentumExplorer()                                 # the live version
    ax, grid = plot_rate_map()                         # the heat map of measured rates

The paths come from the course optimizers ``Momentum(lr, mu)`` (lecture form: v <- mu v - eta g,
w <- w + v) and ``Nesterov(lr, mu)`` (look-ahead form) driven by :func:`course_lib.runner.run`.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from ._base import Explorer, blit_png
from .learning_rate import DEFAULT_W0, _curvatures

__all__ = ["MomentumExplorer", "plot_momentum_path", "plot_rate_map", "momentum_setting"]

METHODS = ("momentum", "nesterov")
_LABEL = {"momentum": "heavy ball", "nesterov": "Nesterov"}
#: the path is drawn for this many steps; the rate is fitted on a longer run of RATE_STEPS steps
PATH_STEPS = 80
RATE_STEPS = 400


def _default_objective():
    from ..objectives import bowl

    return bowl(kappa=20)


def _check_method(method) -> str:
    if method not in METHODS:
        raise ValueError(f"method must be 'momentum' or 'nesterov', got {method!r}")
    return method


def _check_number(value, name, what, lo=None, hi=None, lo_open=False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name} ({what}) must be a number, got {value!r}")
    value = float(value)
    if lo is not None and (value < lo or (lo_open and value == lo)):
        raise ValueError(f"{name} ({what}) must be {'>' if lo_open else '>='} {lo:g}, got {value:g}")
    if hi is not None and value >= hi:
        raise ValueError(f"{name} ({what}) must be < {hi:g}, got {value:g}")
    return value


def _theory(method):
    from .. import rates

    if method == "momentum":
        return rates.heavy_ball_rate, rates.heavy_ball_lr_limit, "2 + 2\u03bc"
    return rates.nesterov_rate, rates.nesterov_lr_limit, "(2 + 2\u03bc)/(1 + 2\u03bc)"


def momentum_setting(lr, mu, *, objective=None, w0=DEFAULT_W0, method="momentum",
                     steps=RATE_STEPS):
    """Run one (eta, mu) setting and compare its measured rate with the theory.

    Returns a dict with ``result`` (the :class:`~course_lib.runner.RunResult` of ``steps`` steps),
    ``measured`` (:func:`~course_lib.rates.measured_rate` of ``||w_t - w*||`` on the tail; a value
    > 1 is a growth factor), ``theory`` (the spectral radius, max over the eigenvalues),
    ``limit`` (the largest stable eta for this mu) and ``converges`` (theory < 1).
    """
    from ..optim import Momentum, Nesterov
    from ..rates import measured_rate
    from ..runner import run

    method = _check_method(method)
    lr = _check_number(lr, "lr", "learning rate", lo=0.0, lo_open=True)
    mu = _check_number(mu, "mu", "momentum", lo=0.0, hi=1.0)
    objective = _default_objective() if objective is None else objective
    cls = Momentum if method == "momentum" else Nesterov
    result = run(cls(lr, mu), objective, np.asarray(w0, dtype=float), max_steps=int(steps))
    w_star = np.asarray(objective.minimizer, dtype=float)
    dist = np.linalg.norm(result.trajectory - w_star, axis=1)
    floor = max(1e-140, 1e3 * np.finfo(float).eps * float(np.linalg.norm(w_star)))
    measured = measured_rate(dist, floor=floor) if dist.size >= 3 else math.nan
    rate_fn, limit_fn, _ = _theory(method)
    lmin, lmax = _curvatures(objective)
    theory = float(rate_fn(lr, mu, [lmin, lmax]))
    return {"result": result, "measured": measured, "theory": theory,
            "limit": float(limit_fn(mu, lmax)), "converges": theory < 1, "dist": dist}


class _PathFigure:
    """The figure of one (eta, mu): the path on the contours (left), the loss gap (right).

    Contours, colour bar, axes, labels, legends and the layout are drawn once; ``show(lr, mu)``
    runs the optimizer and moves the lines. ``png()`` renders a redraw by restoring the saved
    background and drawing only the moved lines (then the start markers, minimum and legends
    again on top), so a slider step costs two short runs and a few lines, not a new figure.
    """

    def __init__(self, fig, objective, w0, method, path_steps, live=False):
        from ..plotting import contour_trajectories, loss_curves

        self.fig, self.objective, self.method, self.path_steps = fig, objective, method, path_steps
        self.w0 = np.asarray(w0, dtype=float)
        self.lmin, self.lmax = _curvatures(objective)
        self.l_star = objective.min_value if objective.min_value is not None else 0.0
        fig.set_layout_engine("constrained")           # before the colour bar takes its place
        self.ax_path, self.ax_loss = fig.subplots(1, 2)
        name = _LABEL[method]
        paths = {rf"{name} ($\eta$, $\mu$)": np.array([self.w0, self.w0]),
                 r"GD (same $\eta$)": np.array([self.w0, self.w0])}
        contour_trajectories(objective, paths, ax=self.ax_path, levels=15, legend_loc="lower right",
                             xlim=objective.xlim, ylim=objective.ylim,
                             title=f"Path on {getattr(objective, 'latex', None) or objective.name}")
        lines = {line.get_gid(): line for line in self.ax_path.get_lines()}
        (mom, gd) = paths
        self.path, self.end = lines[f"path:{mom}"], lines[f"end:{mom}"]
        self.gd, self.gd_end = lines[f"path:{gd}"], lines[f"end:{gd}"]
        self.gd.set_alpha(0.55)
        t = np.arange(path_steps + 1)
        blank = np.full(t.size, np.nan)
        loss_curves({rf"{name}: $f(w_t) - f^*$": (t, blank), r"GD (same $\eta$)": (t, blank)},
                    references={r"theory $\propto \rho^{2t}$": (t, blank)}, ax=self.ax_loss,
                    xlabel="step $t$", ylabel=r"$f(w_t) - f^*$", title="Loss gap", legend_loc="lower left")
        self.loss, self.gd_loss, self.theory_line = self.ax_loss.get_lines()[:3]
        self.gd_loss.set_alpha(0.55)
        # one fixed window for every setting, so the picture does not jump while a slider moves
        self.ax_loss.set_xlim(0, path_steps)
        self.ax_loss.set_ylim(1e-12, 1e4)
        # the explorer prints the numbers in its readout, the static figure in its title
        self.suptitle = None if live else fig.suptitle(" ", fontsize=12)
        self._moving = [self.path, self.end, self.gd, self.gd_end]
        self._curves = [self.loss, self.gd_loss, self.theory_line]
        self._on_top = [line for line in self.ax_path.get_lines() if line not in self._moving]
        self._blit = {}                                 # the saved background (blit_png)
        if live:                                       # lay out once, then keep the positions
            fig.draw_without_rendering()
            fig.set_layout_engine("none")

    def show(self, lr, mu):
        """Run the optimizer (and GD with the same eta), move the lines; return momentum_setting's dict."""
        from ..optim import SGD
        from ..runner import run

        s = momentum_setting(lr, mu, objective=self.objective, w0=self.w0, method=self.method,
                             steps=max(RATE_STEPS, self.path_steps))
        T = self.path_steps
        P = s["result"].trajectory[: T + 1]
        G = run(SGD(lr), self.objective, self.w0, max_steps=T).trajectory
        # a diverging GD path is drawn up to its first point outside the window, not as a band
        (x0, x1), (y0, y1) = self.ax_path.get_xlim(), self.ax_path.get_ylim()
        outside = np.flatnonzero((G[:, 0] < x0) | (G[:, 0] > x1) | (G[:, 1] < y0) | (G[:, 1] > y1))
        G_shown = G[: outside[0] + 1] if outside.size else G
        for line, end, Q in ((self.path, self.end, P), (self.gd, self.gd_end, G_shown)):
            line.set_data(Q[:, 0], Q[:, 1])
            end.set_data([Q[-1, 0]], [Q[-1, 1]])
        floor = 1e-300                                 # exact zeros stay on the log axis
        for line, Q in ((self.loss, P), (self.gd_loss, G)):
            gap = np.maximum(self.objective.value(Q) - self.l_star, floor)
            line.set_data(np.arange(gap.size), gap)
        t = np.arange(T + 1)
        gap0 = max(float(self.objective.value(self.w0)) - self.l_star, floor)
        with np.errstate(over="ignore"):
            self.theory_line.set_data(t, gap0 * s["theory"] ** (2.0 * t))
        if self.suptitle is not None:
            verdict = "converges" if s["converges"] else "diverges"
            self.suptitle.set_text(
                rf"{_LABEL[self.method]}, $\eta$ = {lr:.3g}, $\mu$ = {mu:.2f}: {verdict} "
                rf"($\eta\lambda_{{max}}$ = {lr * self.lmax:.3g}, limit {s['limit'] * self.lmax:.3g}); "
                rf"rate measured {s['measured']:.4f}, theory $\rho$ = {s['theory']:.4f}")
        return s

    def png(self) -> bytes:
        """The figure as PNG: the saved background plus the moved lines (``_base.blit_png``).

        The background (contours, colour bar, axes, labels) is rendered once; a redraw restores it
        and draws the loss curves and that legend, the paths, then the start markers, minimum and
        path legend again on top, and the title of the static figure."""
        dynamic = self._moving + self._curves + ([self.suptitle] if self.suptitle is not None else [])
        redraw = (self._curves + [self.ax_loss.get_legend()] + self._moving + self._on_top
                  + [self.ax_path.get_legend(), self.suptitle])
        return blit_png(self.fig, self._blit, dynamic, redraw)


def plot_momentum_path(lr, mu, *, objective=None, w0=DEFAULT_W0, method="momentum",
                       steps=PATH_STEPS, figsize=(11, 4.4)):
    """Static figure of the explorer: the path of momentum (or Nesterov) and its loss gap.

    Parameters
    ----------
    lr : float > 0         learning rate eta
    mu : float in [0, 1)   momentum
    objective : 2-D Objective, default ``bowl(kappa=20)``
    w0 : start point, default (-7, 2)
    method : "momentum" (heavy ball, lecture form) or "nesterov" (look-ahead form)
    steps : steps drawn (default 80); the rate is fitted on a run of max(400, steps) steps

    Returns (fig, setting) with ``setting`` the dict of :func:`momentum_setting` (``result``,
    ``measured``, ``theory``, ``limit``, ``converges``).
    """
    import matplotlib.pyplot as plt

    objective = _default_objective() if objective is None else objective
    fig = plt.figure(figsize=figsize)
    drawing = _PathFigure(fig, objective, np.asarray(w0, dtype=float), _check_method(method), int(steps))
    return fig, drawing.show(lr, mu)


class MomentumExplorer(Explorer):
    """(eta, mu) sliders that redraw the path and loss of :func:`plot_momentum_path`.

    The readout prints the measured rate next to the spectral radius of the iteration matrix.
    Contours, axes and legends are drawn once (``setup``); a redraw moves the lines and renders.

    Attributes (besides those of :class:`~course_lib.widgets._base.Explorer`)
    ----------
    lr_slider, mu_slider : the two ipywidgets sliders
    setting : the dict of :func:`momentum_setting` for the current values
    """

    def __init__(self, *, objective=None, w0=DEFAULT_W0, method="momentum", lr=0.5, mu=0.6,
                 lr_range=(0.01, 2.0), steps=PATH_STEPS, figsize=(11, 4.4), dpi=80):
        import ipywidgets as widgets

        self.objective = _default_objective() if objective is None else objective
        self.w0 = np.asarray(w0, dtype=float)
        self.method = _check_method(method)
        self.steps = int(steps)
        lo, hi = (float(v) for v in lr_range)
        if not 0 < lo < hi:
            raise ValueError(f"lr_range must be (low, high) with 0 < low < high, got {lr_range!r}")
        lr = _check_number(lr, "lr", "learning rate", lo=0.0, lo_open=True)
        if not lo <= lr <= hi:
            raise ValueError(f"lr (learning rate) must lie inside lr_range = {lr_range}, got {lr}")
        _check_number(mu, "mu", "momentum", lo=0.0, hi=1.0)
        self.lr_slider = widgets.FloatSlider(
            value=lr, min=lo, max=hi, step=0.01, readout_format=".2f", description="eta",
            continuous_update=False, layout=widgets.Layout(width="60%"))
        self.mu_slider = widgets.FloatSlider(
            value=mu, min=0.0, max=0.99, step=0.01, readout_format=".2f", description="mu",
            continuous_update=False, layout=widgets.Layout(width="60%"))
        lmin, lmax = _curvatures(self.objective)
        _, _, edge = _theory(self.method)
        header = (f"{_LABEL[self.method]} on {self.objective.name}: lambda_min = {lmin:.3g}, "
                  f"lambda_max = {lmax:.3g}. Converges iff 0 &lt; eta lambda_max &lt; {edge}. "
                  "The readout compares the rate measured on a 400-step run with the spectral "
                  "radius of the iteration matrix.")
        self.setting = None
        self._drawing = None
        super().__init__({"lr": self.lr_slider, "mu": self.mu_slider}, header=header,
                         figsize=figsize, dpi=dpi)

    def setup(self, fig) -> None:
        self._drawing = _PathFigure(fig, self.objective, self.w0, self.method, self.steps, live=True)

    def render_png(self, fig) -> bytes:
        return self._drawing.png()

    def update(self, fig, *, lr, mu) -> str:
        s = self.setting = self._drawing.show(lr, mu)
        lmax = _curvatures(self.objective)[1]
        head = f"eta = {lr:.2f}, mu = {mu:.2f}"
        where = (f"eta lambda_max = {lr * lmax:.3g} {'&lt;' if s['converges'] else '&gt;='} "
                 f"{s['limit'] * lmax:.3g}")
        r = s["result"]
        if r.diverged:
            return (f"{head}: diverges ({where}); stopped at step {r.diverged_at}; growth per step "
                    f"measured {s['measured']:.4f}, theory rho = {s['theory']:.4f}")
        return (f"{head}: {'converges' if s['converges'] else 'does not converge'} ({where}); "
                f"rate measured {s['measured']:.4f}, theory rho = {s['theory']:.4f}")


def plot_rate_map(objective=None, *, method="momentum", lrs=None, mus=None, steps=300,
                  w0=DEFAULT_W0, ax=None, theory_levels=(0.7, 0.8, 0.9, 0.95)):
    """Heat map of the measured rate over an (eta, mu) grid, with the theory drawn on it.

    All settings run at once (:func:`course_lib.runner.run_grid`, ``steps`` steps from ``w0``);
    each cell is coloured by the fitted rate of ``||w_t - w*||`` (diverged cells in dark red).
    On top: the theoretical edge of the convergence region (eta lambda_max = 2 + 2 mu for heavy
    ball, (2 + 2 mu)/(1 + 2 mu) for Nesterov), dashed contours of the theoretical rate at
    ``theory_levels``, and the theoretical optimum (a star). Defaults: the kappa = 20 bowl,
    eta from 0.01 to a little past the widest region (111 values), mu from 0 to 0.98 (99 values).

    Returns (ax, grid) with ``grid`` the :class:`~course_lib.runner.GridResult`.
    """
    from matplotlib.colors import Normalize

    from .. import rates
    from ..optim import Momentum, Nesterov
    from ..plotting import course_style
    from ..runner import run_grid

    method = _check_method(method)
    objective = _default_objective() if objective is None else objective
    lmin, lmax = _curvatures(objective)
    if lrs is None:   # a little past the widest region: 4 / lambda_max (heavy ball), 2 / lambda_max (NAG)
        lrs = np.linspace(0.01, (4.4 if method == "momentum" else 2.4) / lmax, 111)
    lrs = np.asarray(lrs, dtype=float)
    mus = np.linspace(0.0, 0.98, 99) if mus is None else np.asarray(mus, dtype=float)
    cls = Momentum if method == "momentum" else Nesterov
    grid = run_grid(cls, objective, np.asarray(w0, dtype=float), grid={"lr": lrs, "momentum": mus},
                    steps=int(steps))
    rate_fn, limit_fn, edge = _theory(method)
    E, M = np.meshgrid(lrs, mus, indexing="ij")
    theory = rate_fn(E, M, [lmin, lmax])
    if method == "momentum":
        best_lr, best_mu, best_rate = rates.heavy_ball_optimal(lmin, lmax)
    else:
        best_lr, best_mu, best_rate = rates.nesterov_optimal(lmin, lmax)
    with course_style():
        import matplotlib as mpl

        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(figsize=(8.5, 5.6), layout="constrained")

        cmap = mpl.colormaps["viridis"].with_extremes(over="#8b1a1a")
        measured = np.where(grid.diverged, 2.0, grid.rate)
        mesh = ax.pcolormesh(lrs, mus, measured.T, cmap=cmap, norm=Normalize(best_rate * 0.98, 1.0),
                             shading="nearest", rasterized=True)
        bar = ax.figure.colorbar(mesh, ax=ax, extend="max")
        bar.set_label(r"measured rate $r$:  $\|w_t - w^*\| \approx C\, r^t$")
        mu_line = np.linspace(0, min(0.999, mus.max()), 200)
        ax.plot(limit_fn(mu_line, lmax), mu_line, color="white", lw=2.2,
                label=rf"theory: edge $\eta\lambda_{{max}}$ = {edge}")
        cs = ax.contour(lrs, mus, theory.T, levels=list(theory_levels), colors="white",
                        linestyles="--", linewidths=0.9)
        ax.clabel(cs, fmt="%.2f", fontsize=8)
        ax.plot([], [], color="white", ls="--", lw=0.9, label=r"theory: rate $\rho$ contours")
        ax.plot(best_lr, best_mu, "*", ms=15, color="gold", mec="black",
                label=rf"theoretical optimum, $\rho$ = {best_rate:.3f}")
        ax.axvline(2 / lmax, color="0.85", ls=":", lw=1.2, label=rf"GD's limit $2/\lambda_{{max}}$")
        ax.fill_between([], [], color=cmap.get_over(), label="measured: diverged")
        ax.set_xlim(lrs.min(), lrs.max())
        ax.set_ylim(mus.min(), mus.max())
        ax.set_xlabel(r"learning rate $\eta$")
        ax.set_ylabel(r"momentum $\mu$")
        ax.set_title(f"Measured rate of {_LABEL[method]} on the {getattr(objective, 'latex', objective.name)} "
                     f"({steps} steps)")
        ax.legend(loc="lower right", fontsize=8, facecolor="0.3", labelcolor="white", framealpha=0.8)
    return ax, grid
