"""Interactive explorers (ipywidgets) for the lecture notebooks.

Chapter 02 uses :class:`LearningRateExplorer`: a learning-rate slider that redraws the gradient
descent path on the kappa = 20 bowl ``f(w_1, w_2) = w_1^2/20 + w_2^2`` and its loss curve, so a student can
*feel* the four regimes (too small, good, oscillating, diverging) and the threshold
``eta < 2 / lambda_max``.

Every explorer has a static twin that draws the same figure for one setting
(:func:`plot_gd_path`), so a notebook reads well without a live kernel and the drawing code can be
tested without a browser::

    fig, result = plot_gd_path(0.9)          # one static figure (pyplot, shows inline)
    LearningRateExplorer()                   # the live version (last expression of a cell)

Gradient descent here is the course optimizer ``SGD(lr)`` (momentum 0: ``w_t = w_{t-1} - eta g``)
driven by :func:`course_lib.runner.run`, so the path is exactly the one the notebook computes.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from ._base import Explorer, blit_png

__all__ = ["lr_regime", "plot_gd_path", "LearningRateExplorer"]

# Start point of the Deep Learning from Scratch demo on x^2/20 + y^2 (ch. 6): far along the flat
# x direction and off the valley floor in y, so both curvatures show in the path.
DEFAULT_W0 = (-7.0, 2.0)


def _default_objective():
    from ..objectives import bowl

    return bowl(kappa=20)


def _check_lr(lr) -> float:
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not math.isfinite(lr):
        raise ValueError(f"lr (learning rate) must be a positive number, got {lr!r}")
    if lr <= 0:
        raise ValueError(f"lr (learning rate) must be positive, got {lr}")
    return float(lr)


def _check_steps(steps) -> int:
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1:
        raise ValueError(f"steps (number of gradient descent steps) must be a whole number >= 1, "
                         f"got {steps!r}")
    return int(steps)


def lr_regime(lr, lambda_min, lambda_max) -> str:
    """Name the gradient descent regime of learning rate ``lr`` on a quadratic.

    On a quadratic with Hessian eigenvalues ``lambda_i`` gradient descent multiplies the error along
    eigenvector i by ``1 - eta lambda_i`` every step. Hence, with ``lambda_max`` the largest
    eigenvalue:

    * ``eta lambda_max > 2``   -> ``"diverges"``    (``|1 - eta lambda_max| > 1``)
    * ``eta lambda_max == 2``  -> ``"on the edge"``  (the steep component flips sign forever)
    * ``1 < eta lambda_max < 2`` -> ``"oscillates"`` (the steep component flips sign but shrinks)
    * ``eta lambda_max <= 1``  -> ``"monotone"``     (every component shrinks without flipping)

    ``"monotone"`` is refined to ``"too small"`` when ``eta <= 0.05 * 2 / lambda_max``, i.e. the step
    is at least 20 times below the stability limit: even along the steepest direction at most 10 %
    of the error goes per step (factor ``1 - eta lambda_max >= 0.9``), and along the flat
    directions far less. (Where "too small" starts is a convention; this is the one used here.)
    """
    lr = _check_lr(lr)
    if not (lambda_max > 0 and lambda_min > 0):
        raise ValueError(f"lambda_min and lambda_max (curvatures) must be positive, got "
                         f"{lambda_min!r} and {lambda_max!r}")
    x = lr * lambda_max
    if math.isclose(x, 2.0, rel_tol=1e-12):
        return "on the edge"
    if x > 2:
        return "diverges"
    if x > 1:
        return "oscillates"
    if x <= 0.1 * (1 + 1e-9):
        return "too small"
    return "monotone"


def _curvatures(objective):
    """(lambda_min, lambda_max) of a Quadratic, or of the Hessian at the minimizer otherwise."""
    lmin, lmax = getattr(objective, "lambda_min", None), getattr(objective, "lambda_max", None)
    if lmin is None or lmax is None:
        ev = np.linalg.eigvalsh(objective.hessian(np.asarray(objective.minimizer, dtype=float)))
        lmin, lmax = float(ev[0]), float(ev[-1])
    return float(lmin), float(lmax)


_PATH = "gradient descent"


def _title(objective) -> str:
    if getattr(objective, "name", None) == _default_objective().name:
        return r"$f(w) = w_1^2/20 + w_2^2$"        # the text's symbols, as on the axes
    return getattr(objective, "latex", None) or objective.name


class _GDFigure:
    """The figure of one learning rate: GD path on the contours (left), loss gap (right).

    The contours, colour bar, labels and layout are drawn once (``__init__``); ``show(lr, steps)``
    runs GD and only moves the path, its end marker, the loss curve and the titles, so a slider
    redraw costs one run and one render, not a new figure.
    """

    def __init__(self, fig, objective, w0, steps):
        from ..plotting import contour_trajectories, loss_curves

        self.fig, self.objective = fig, objective
        self.w0 = np.asarray(w0, dtype=float)
        self.lmin, self.lmax = _curvatures(objective)
        fig.set_layout_engine("constrained")           # before the colour bar takes its place
        self.ax_path, self.ax_loss = fig.subplots(1, 2)
        # a fixed window (the objective's own) so the picture does not jump while a slider moves;
        # a diverging path simply leaves it
        contour_trajectories(objective, {_PATH: np.array([self.w0, self.w0])}, ax=self.ax_path,
                             title=f"GD path on {_title(objective)}",
                             xlim=getattr(objective, "xlim", None), ylim=getattr(objective, "ylim", None),
                             legend_loc="lower left")
        lines = {line.get_gid(): line for line in self.ax_path.get_lines()}
        self.path, self.end = lines[f"path:{_PATH}"], lines[f"end:{_PATH}"]
        # drawn again over the moving path: its start, the minimum and the legend
        self._on_top = [line for line in self.ax_path.get_lines()
                        if line not in (self.path, self.end)] + [self.ax_path.get_legend()]
        loss_curves({_PATH: np.ones(2)}, ax=self.ax_loss, xlabel="step $t$", ylabel=r"$f(w_t) - f^*$",
                    title="Loss gap", legend_loc="upper right")
        self.loss = self.ax_loss.get_lines()[0]
        # one fixed range for every learning rate, from the rounding floor (1e-16 L(w_0)) to past
        # the divergence threshold (1e8 L(w_0)): the picture does not jump while the slider moves
        # and the four regimes can be compared by eye
        self.loss0 = max(1.0, abs(float(objective.value(self.w0)) - self._l_star()))
        self.ax_loss.set_ylim(1e-17 * self.loss0, 1e10 * self.loss0)
        self.suptitle = fig.suptitle(" ", fontsize=12)
        self.show(1.0 / self.lmax, steps)              # realistic labels for the layout
        self._layout_for(steps)

    def _l_star(self):
        return self.objective.min_value if self.objective.min_value is not None else 0.0

    def _layout_for(self, steps):
        """Lay the figure out once (constrained layout), then keep the positions fixed."""
        self.ax_loss.set_xlim(0, steps)
        self.fig.set_layout_engine("constrained")
        self.fig.draw_without_rendering()
        self.fig.set_layout_engine("none")
        self._blit = {}                                 # the saved background (blit_png)

    def _dynamic(self):
        return [self.ax_loss, self.path, self.end, self.suptitle]

    def png(self) -> bytes:
        """The figure as PNG, drawing only what ``show`` changes over a saved background.

        The background (contours, colour bar, labels, legend: everything but the path, its end,
        the loss axes and the title) is rendered once; a redraw restores it and draws the changed
        artists, then the start marker, minimum and legend again on top (``_base.blit_png``)."""
        redraw = [self.ax_loss, self.path, self.end, *self._on_top, self.suptitle]
        return blit_png(self.fig, self._blit, self._dynamic(), redraw)

    def show(self, lr, steps):
        """Run GD with this lr for `steps` steps and move the artists; returns the RunResult."""
        from ..optim import SGD
        from ..runner import run

        lr, steps = _check_lr(lr), _check_steps(steps)
        result = run(SGD(lr=lr), self.objective, self.w0, max_steps=steps)
        regime = lr_regime(lr, self.lmin, self.lmax)
        P = result.trajectory
        self.path.set_data(P[:, 0], P[:, 1])
        self.path.set_marker("" if len(P) > 60 else "o")
        self.end.set_data([P[-1, 0]], [P[-1, 1]])
        # f(w_t) - f*: reaches the rounding level ~1e-16 * f(w_0) quickly for a good eta; clip there
        # so the log axis stays readable
        gap = np.maximum(result.losses - self._l_star(), 1e-16 * self.loss0)
        self.loss.set_data(np.arange(gap.size), gap)
        self.ax_loss.set_xlim(0, steps)                # drawn anew each time: no new background
        self.ax_loss.set_title(rf"Loss gap: $\eta\,\lambda_{{max}}$ = {lr * self.lmax:.3g} (GD needs < 2)")
        if result.diverged:
            status = f"diverged at step {result.diverged_at}"
        else:
            status = f"{result.steps} steps, final loss {result.final_loss:.3g}"
        self.suptitle.set_text(rf"Gradient descent with $\eta$ = {lr:.3g}: {regime}, {status}")
        return result


def plot_gd_path(lr, *, objective=None, w0=DEFAULT_W0, steps=60, figsize=(11, 4.2)):
    """Static figure: gradient descent path and loss curve for one learning rate.

    Parameters
    ----------
    lr : float > 0                 learning rate eta of ``w_t = w_{t-1} - eta grad L(w_{t-1})``
    objective : 2-D Objective, default ``bowl(kappa=20)`` (w_1^2/20 + w_2^2)
    w0 : (2,) start point, default (-7, 2)
    steps : int, default 60        number of GD steps (fewer if the run diverges)
    figsize : matplotlib figure size

    Returns
    -------
    (fig, result) : the pyplot Figure (left: contour + path with a colour bar of the levels,
    right: ``f(w_t) - f*`` on a log axis) and the :class:`~course_lib.runner.RunResult` of the run.
    """
    import matplotlib.pyplot as plt

    _check_lr(lr)
    steps = _check_steps(steps)
    objective = _default_objective() if objective is None else objective
    fig = plt.figure(figsize=figsize)
    result = _GDFigure(fig, objective, w0, steps).show(lr, steps)
    return fig, result


class LearningRateExplorer(Explorer):
    """A learning-rate slider that redraws the GD path and loss curve of :func:`plot_gd_path`.

    Put it as the last expression of a cell (or call ``.display()``)::

        LearningRateExplorer()                       # kappa = 20 bowl, eta in [0.01, 1.2]

    Attributes (besides those of :class:`~course_lib.widgets._base.Explorer`)
    ----------
    lr_slider, steps_slider : ipywidgets sliders (eta and the number of steps)
    result : the RunResult of the last redraw
    """

    def __init__(self, *, objective=None, w0=DEFAULT_W0, lr=0.5, lr_range=(0.01, 1.2),
                 lr_step=0.01, steps=60, steps_range=(5, 200), figsize=(11, 4.2), dpi=90):
        import ipywidgets as widgets

        self.objective = _default_objective() if objective is None else objective
        self.w0 = np.asarray(w0, dtype=float)
        lo, hi = (float(v) for v in lr_range)
        if not 0 < lo < hi:
            raise ValueError(f"lr_range must be (low, high) with 0 < low < high, got {lr_range!r}")
        _check_lr(lr)
        if not lo <= lr <= hi:
            raise ValueError(f"lr (learning rate) must lie inside lr_range = {lr_range}, got {lr}")
        s_lo, s_hi = (int(v) for v in steps_range)
        _check_steps(steps)
        if not 1 <= s_lo <= steps <= s_hi:
            raise ValueError(f"steps must lie inside steps_range = {steps_range}, got {steps}")
        lmin, lmax = _curvatures(self.objective)
        self.lr_slider = widgets.FloatSlider(
            value=lr, min=lo, max=hi, step=lr_step, readout_format=".2f",
            description="eta", continuous_update=False, layout=widgets.Layout(width="60%"))
        self.steps_slider = widgets.IntSlider(
            value=steps, min=s_lo, max=s_hi, step=1, description="steps",
            continuous_update=False, layout=widgets.Layout(width="60%"))
        header = (f"lambda_min = {lmin:.3g}, lambda_max = {lmax:.3g}: GD converges iff "
                  f"eta &lt; 2 / lambda_max = {2 / lmax:.3g}; best fixed step "
                  f"2 / (lambda_min + lambda_max) = {2 / (lmin + lmax):.3g}")
        self.result = None
        super().__init__({"lr": self.lr_slider, "steps": self.steps_slider}, header=header,
                         figsize=figsize, dpi=dpi)

    def setup(self, fig) -> None:
        self.drawing = _GDFigure(fig, self.objective, self.w0, self.steps_slider.value)

    def render_png(self, fig) -> bytes:
        return self.drawing.png()

    def update(self, fig, *, lr, steps) -> str:
        self.result = r = self.drawing.show(lr, steps)
        regime = lr_regime(lr, self.drawing.lmin, self.drawing.lmax)
        if r.diverged:
            return f"eta = {lr:.2f} ({regime}): diverged at step {r.diverged_at}"
        return f"eta = {lr:.2f} ({regime}): {r.steps} steps, final loss {r.final_loss:.3g}"
