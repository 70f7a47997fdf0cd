"""One look for every figure of the course.

* ``contour_trajectories(objective, {"GD": path, ...})``  contours of a 2-D objective with optimizer paths
* ``curves({"GD": (x, y), ...}, title=..., xlabel=..., ylabel=..., logx=..., logy=...,
  references={"theory": (x, y)}, hlines={"tol": 1e-6})``  any 1-D figure: several curves with
  log axes and reference lines
* ``loss_curves({"GD": losses, ...}, title=...)``         loss against step (log scale by default)
* ``surface_plot(objective)``                              a 3-D surface, optionally with paths on it
* ``set_style()`` / ``course_style()``                     the course's matplotlib settings

Every function draws with the object API on the Axes it is given (or on a new one from
``plt.subplots``, so Jupyter shows it), returns that Axes, and always sets a title, axis labels and
a legend.  The course style is applied only *inside* these functions (``matplotlib.rc_context``);
call ``set_style()`` once in a notebook to use it for your own figures too.
"""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
from matplotlib.colors import LogNorm, Normalize
from matplotlib.lines import Line2D

__all__ = ["COURSE_STYLE", "set_style", "course_style", "contour_trajectories", "curves", "loss_curves", "plain_log_ticks",
           "surface_plot"]

#: rcParams of the course (colour-blind-friendly Okabe-Ito cycle, light grid, readable fonts)
COURSE_STYLE = {
    "figure.figsize": (6.4, 4.6),
    "figure.dpi": 100,
    "savefig.dpi": 120,
    "savefig.bbox": "tight",
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "legend.fontsize": 9,
    "legend.framealpha": 0.9,
    "lines.linewidth": 1.6,
    "lines.markersize": 4,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "image.cmap": "viridis",
    "axes.prop_cycle": mpl.cycler(color=["#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                         "#E69F00", "#56B4E9", "#000000", "#F0E442"]),
}

W1_LABEL = r"$w_1$"
W2_LABEL = r"$w_2$"
_MAX_POINT_MARKERS = 60      # paths longer than this are drawn as lines without a dot per step
_RESOLUTION = 160            # grid points per axis for contours (240 made a 240 x 240 x n residual array of 90 MB for a regression loss)


def set_style() -> None:
    """Apply the course style to every figure made from now on (changes matplotlib's rcParams).

    In Jupyter's inline backend, a figure with constrained layout (every helper's own figure, and
    ``plt.subplots(..., layout="constrained")``) is also rendered once, without the second "tight
    bounding box" pass the backend does by default: constrained layout already fits titles, labels
    and colour bars into the figure, and the extra pass drew each figure twice. Other figures keep
    the tight box.
    """
    mpl.rcParams.update(COURSE_STYLE)
    _inline_single_pass()


def _inline_single_pass() -> None:
    """In an IPython kernel with the inline backend: constrained-layout figures as PNG in one pass."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None or "inline" not in str(mpl.rcParams["backend"]).lower():
        return
    # importing the backend module sets up its own formatter (as the first figure would); ours
    # is registered after it, so it is the one used
    import matplotlib_inline.backend_inline  # noqa: F401
    from IPython.core.pylabtools import print_figure
    from matplotlib.figure import Figure
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    def png(fig):
        fitted = isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine)
        return print_figure(fig, "png", bbox_inches=None if fitted else "tight", base64=True)

    shell.display_formatter.formatters["image/png"].for_type(Figure, png)


def course_style():
    """Context manager: the course style for the figures made inside ``with course_style(): ...``."""
    return mpl.rc_context(COURSE_STYLE)


def _new_axes(ax, **subplot_kw):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt  # only when a figure is drawn: pyplot costs ~0.5 s to import

    _, ax = plt.subplots(layout="constrained", subplot_kw=subplot_kw or None)
    return ax


def _limits(value, name: str, reversed_ok: bool = False):
    """(low, high) as floats; with reversed_ok a pair (high, low) is kept (a reversed axis)."""
    if value is None:
        return None
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a pair (low, high), got {value!r}") from exc
    if reversed_ok and np.isfinite(lo) and np.isfinite(hi) and lo > hi:
        return lo, hi
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"{name} must be a pair (low, high) of finite numbers with low < high, got {value!r}")
    return lo, hi


def _default_title(objective) -> str:
    # ``latex`` (mathtext) where the objective has one, else its plain-text ``name``
    return getattr(objective, "latex", None) or getattr(objective, "name", None) or type(objective).__name__


def _as_path(name, path) -> np.ndarray:
    """A (T, 2) float array from an array or from anything with a ``trajectory`` (a RunResult)."""
    if hasattr(path, "trajectory"):
        path = path.trajectory
    try:
        arr = np.asarray(path, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"trajectory {name!r} must be an array of points, got {type(path).__name__}") from exc
    if arr.ndim == 1 and arr.shape == (2,):
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] == 0:
        raise ValueError(f"trajectory {name!r} must have shape (T, 2), one (w_1, w_2) row per step, got shape {arr.shape}")
    return np.where(np.isfinite(arr), arr, np.nan)  # a diverged run leaves the picture instead of breaking it


def _plot_window(objective, paths: dict, xlim, ylim):
    """(xlim, ylim): the given limits, else the objective's window widened to show the paths."""
    out = []
    for axis, (given, name) in enumerate([(xlim, "xlim"), (ylim, "ylim")]):
        given = _limits(given, name)
        if given is None:
            default = _limits(getattr(objective, name, None), f"objective.{name}") or (-2.0, 2.0)
            given = _window(default, list(paths.values()), axis, name)
        out.append(given)
    return tuple(out)


def _window(default, paths, axis: int, name: str):
    """The objective's window, widened (by at most one window width per side) to show the paths."""
    lo, hi = default
    pts = np.concatenate([p[:, axis] for p in paths]) if paths else np.empty(0)
    pts = pts[np.isfinite(pts)]
    if pts.size:
        width = hi - lo
        pad = 0.05 * max(pts.max() - pts.min(), 1e-3 * width)
        lo = max(min(lo, pts.min() - pad), lo - width)
        hi = min(max(hi, pts.max() + pad), hi + width)
    return lo, hi


def _levels(Z, objective, levels, log_levels: bool):
    """Contour levels and the array to contour.  Log-spaced levels are used on f - f* when the
    minimum value f* is known: they are dense near the minimum and still show the steep walls
    (Rosenbrock spans 0 .. 2500 in its window).  Otherwise (a saddle) evenly spaced levels of f."""
    if np.ndim(levels) == 1:
        lv = np.sort(np.asarray(levels, dtype=np.float64))
        # explicit levels spanning more than two decades (e.g. np.geomspace) are coloured on a
        # log scale, otherwise they would all get nearly the same colour
        return lv, Z, None, bool(lv[0] > 0 and lv[-1] / lv[0] > 100)
    n = int(levels)
    if n < 2:
        raise ValueError(f"levels must be at least 2 (or an array of levels), got {levels!r}")
    finite = Z[np.isfinite(Z)]
    f_star = getattr(objective, "min_value", None)
    if log_levels and f_star is not None:
        Zs = np.maximum(Z - f_star, 0.0)
        pos = Zs[np.isfinite(Zs) & (Zs > 0)]
        hi = np.percentile(pos, 99.0)
        # at most ~3.5 decades: more would pile dark lines into narrow valleys (Rosenbrock)
        lo = max(np.percentile(pos, 1.0), hi * 3e-4)
        return np.geomspace(lo, hi, n), Zs, float(f_star), True
    lo, hi = np.percentile(finite, [0.5, 99.5])
    return np.linspace(lo, hi, n + 2)[1:-1], Z, None, False


def contour_trajectories(objective, trajectories=None, *, title=None, ax=None, xlim=None, ylim=None,
                         levels=30, log_levels=True, mark_minimum=True, colorbar=True,
                         legend_loc="best", xlabel=None, ylabel=None, aspect=None, overlay=None,
                         segments=None, points=None, colorbar_label=None, styles=None):
    """Contour lines of a 2-D objective with optimizer paths drawn on top.

    Parameters
    ----------
    objective : an Objective with dim == 2 (uses ``value``, ``xlim``/``ylim``, ``minimizer``, ``min_value``).
    trajectories : dict name -> array (T, 2) of iterates w_0 .. w_{T-1} (or an object with a
        ``trajectory`` attribute, such as a RunResult).  Each path gets its own colour; its start is
        a hollow circle, its end a cross.  Non-finite points (a diverged run) are left out.  The
        three lines carry the gids "path:<name>", "start:<name>" and "end:<name>", so an explorer
        can move them without drawing the contours again.
    title : default ``objective.name``.
    ax : Axes to draw on; default a new figure.
    xlim, ylim : plot window; default the objective's window, widened to show the paths (by at
        most one window width per side, so a diverging path does not squash the picture).
    levels : number of contour levels (default 30) or an explicit array of levels.
    log_levels : log-spaced levels of f - f* when f* (``min_value``) is known (default True);
        evenly spaced levels of f otherwise.
    mark_minimum : draw the known minimizer as a star (default True).
    colorbar : add a colour bar of the level values (default True: a reader can tell the
        levels apart); pass False for all but one of several panels of the same objective.
    legend_loc : passed to ``ax.legend`` (default "best", which avoids the drawn paths).
    xlabel, ylabel : axis labels (default $w_1$ and $w_2$).
    aspect : "equal" draws both axes to the same scale (circles stay circles); default None.
    overlay : dict label -> function of points (..., 2): other functions (a Taylor model, say)
        drawn dashed at the same levels, one colour each, listed in the legend.
    segments : dict label -> array (T, 2): plain dashed lines without start and end markers
        (a direction, a valley floor), listed in the legend.
    points : dict label -> (w_1, w_2): single marked points (the best point of a grid search, a
        saddle), each its own marker, listed in the legend.
    colorbar_label : label of the colour bar; default "f(w) - f*" (log levels) or "f(w)", in mathtext.
    styles : dict name -> dict of extra ``ax.plot`` keywords for that path (e.g. {"lw": 6,
        "alpha": 0.45} to show a long path that another one hides).

    Returns the Axes.
    """
    if getattr(objective, "dim", None) != 2 or not callable(getattr(objective, "value", None)):
        raise ValueError(f"objective must be a 2-D Objective (dim == 2), got {objective!r}")
    if trajectories is None:
        trajectories = {}
    if not isinstance(trajectories, dict):
        raise ValueError("trajectories must be a dict {name: array of shape (T, 2)}, "
                         f"got {type(trajectories).__name__}")
    paths = {str(k): _as_path(k, v) for k, v in trajectories.items()}
    xlim, ylim = _plot_window(objective, paths, xlim, ylim)

    with course_style():
        ax = _new_axes(ax)
        xs = np.linspace(*xlim, _RESOLUTION)
        ys = np.linspace(*ylim, _RESOLUTION)
        XX, YY = np.meshgrid(xs, ys)
        with np.errstate(all="ignore"):
            Z = np.asarray(objective.value(np.stack([XX, YY], axis=-1)), dtype=np.float64)
        lv, Zplot, f_star, is_log = _levels(Z, objective, levels, log_levels)
        norm = LogNorm(lv[0], lv[-1]) if is_log else Normalize(lv[0], lv[-1])
        cs = ax.contour(XX, YY, Zplot, levels=lv, cmap="viridis", norm=norm, linewidths=0.8, alpha=0.75,
                        zorder=1)
        overlay_handles = []
        colors = mpl.rcParams["axes.prop_cycle"].by_key()["color"]
        for k, (label, func) in enumerate((overlay or {}).items()):
            color = colors[(len(paths) + 1 + k) % len(colors)]
            with np.errstate(all="ignore"):
                Zo = np.asarray(func(np.stack([XX, YY], axis=-1)), dtype=np.float64)
            ax.contour(XX, YY, Zo - (f_star or 0.0), levels=lv, colors=color, linestyles="--",
                       linewidths=1.1, zorder=2)
            overlay_handles.append(Line2D([], [], color=color, ls="--", lw=1.1, label=str(label)))
        if colorbar:
            cb = ax.figure.colorbar(cs, ax=ax, shrink=0.85)
            default_label = r"$f(w) - f^\star$" if f_star is not None else r"$f(w)$"
            cb.set_label(default_label if colorbar_label is None else colorbar_label)
            if is_log:
                decades = 10.0 ** np.arange(np.ceil(np.log10(lv[0])), np.floor(np.log10(lv[-1])) + 1)
                ticks = decades if decades.size >= 2 else lv[:: max(1, len(lv) // 5)]
                cb.set_ticks(ticks, labels=[f"{t:.3g}" for t in ticks])
                cb.minorticks_off()
            else:
                cb.locator = mpl.ticker.MaxNLocator(6)
                cb.formatter = mpl.ticker.FormatStrFormatter("%.3g")
                cb.update_ticks()

        handles = []
        for k, (name, P) in enumerate(paths.items()):
            color = colors[k % len(colors)]
            many = P.shape[0] > _MAX_POINT_MARKERS
            kw = {"color": color, "lw": 1.5, "ms": 2.5, "zorder": 3, **(styles or {}).get(name, {})}
            line, = ax.plot(P[:, 0], P[:, 1], "-" if many else "-o", label=name, gid=f"path:{name}", **kw)
            handles.append(line)
            finite = np.flatnonzero(np.all(np.isfinite(P), axis=1))
            if finite.size:
                s, e = P[finite[0]], P[finite[-1]]
                ax.plot(*s, "o", ms=8, mfc="white", mec=color, mew=2.0, zorder=4, gid=f"start:{name}")
                ax.plot(*e, "X", ms=9, color=color, mec="black", mew=0.6, zorder=5, gid=f"end:{name}")
        if paths:
            handles.append(Line2D([], [], ls="none", marker="o", ms=7, mfc="white", mec="0.3", mew=1.8,
                                  label="start"))
            handles.append(Line2D([], [], ls="none", marker="X", ms=8, color="0.3", mec="black", mew=0.6,
                                  label="end"))
        handles += overlay_handles
        for k, (label, segment) in enumerate((segments or {}).items()):
            P = _as_path(label, segment)
            line, = ax.plot(P[:, 0], P[:, 1], **{**_reference_style(k), "color": "black", "zorder": 3},
                            label=str(label))
            handles.append(line)
        for k, (label, point) in enumerate((points or {}).items()):
            P = _as_path(label, point)
            marker, color = [("P", "white"), ("D", "black"), ("s", "white"), ("^", "white")][k % 4]
            mark, = ax.plot(P[:, 0], P[:, 1], ls="none", marker=marker, ms=10, color=color, mec="black",
                            mew=1.0, label=str(label), zorder=6)
            handles.append(mark)
        m = getattr(objective, "minimizer", None)
        if mark_minimum and m is not None:
            star, = ax.plot(m[0], m[1], ls="none", marker="*", ms=15, color="gold", mec="black", mew=0.8,
                            label="minimum", zorder=6)
            handles.append(star)
        ax.set_xlim(*xlim)
        ax.set_ylim(*ylim)
        if aspect is not None:
            ax.set_aspect(aspect)
        ax.set_xlabel(W1_LABEL if xlabel is None else xlabel)
        ax.set_ylabel(W2_LABEL if ylabel is None else ylabel)
        ax.set_title(title if title is not None else _default_title(objective))
        if not handles:  # nothing else to list (e.g. the saddle without paths): name the contours
            handles.append(Line2D([], [], color=mpl.colormaps["viridis"](0.5), lw=1.0,
                                  label="level sets of f" + (" (log-spaced)" if f_star is not None else "")))
        ax.legend(handles=handles, loc=legend_loc)
    return ax


def _decade_label(value, _position=None) -> str:
    """A log-axis tick label in plain text: 1e-20, 1, 1e5."""
    mantissa, exponent = f"{value:.0e}".split("e")
    return mantissa if int(exponent) == 0 else f"{mantissa}e{int(exponent)}"


def plain_log_ticks(ax, axis: str = "y", numticks: int | None = 7, minor: bool = False) -> None:
    """Plain-text labels on a log axis ("1e-12", "1", "1e5"; a step axis "1, 10, 100" for
    ``axis="x"``) at most ``numticks`` decades, minor ticks unlabelled (``minor=False``: not drawn).

    matplotlib's default labels are mathtext ($10^{-12}$), parsed and laid out per label: on a
    figure with thirty decades or one redrawn at every slider move, most of the drawing time.
    """
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter, NullLocator

    target = {"x": ax.xaxis, "y": ax.yaxis}[axis]
    if numticks is not None:
        target.set_major_locator(LogLocator(numticks=numticks))
    if minor:
        target.set_minor_formatter(NullFormatter())
    else:
        target.set_minor_locator(NullLocator())
    target.set_major_formatter(FuncFormatter(_decade_label if axis == "y" else (lambda v, _: f"{v:g}")))


def _as_curve(name, curve):
    """(x, y) from a 1-D array of values, an (x, y) pair, or an object with ``losses``; in a pair
    y may also be 2-D, (len(x), k): a family of k curves drawn alike with one legend entry."""
    if hasattr(curve, "losses"):
        curve = curve.losses
    if isinstance(curve, tuple) and len(curve) == 2:
        x = np.asarray(curve[0], dtype=np.float64)
        y = np.asarray(curve[1], dtype=np.float64)
        if x.ndim != 1 or y.ndim not in (1, 2) or y.shape[0] != x.shape[0]:
            raise ValueError(f"curve {name!r} given as (x, y) needs two 1-D arrays of equal length "
                             f"(or y of shape (len(x), k) for k curves), got shapes {x.shape} and {y.shape}")
    else:
        try:
            y = np.asarray(curve, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"curve {name!r} must be an array of numbers, got {type(curve).__name__}") from exc
        if y.ndim != 1:
            raise ValueError(f"curve {name!r} must be a 1-D array (one value per step), got shape {y.shape}")
        x = np.arange(y.size, dtype=np.float64)
    if y.size == 0:
        raise ValueError(f"curve {name!r} is empty")
    return x, y


def _reference_style(k: int) -> dict:
    dashes = ["--", ":", "-.", (0, (5, 2, 1, 2))]
    return {"color": "0.25", "ls": dashes[k % len(dashes)], "lw": 1.2, "zorder": 1}


def curves(curves, *, title, xlabel, ylabel, logx=False, logy=False, ax=None, styles=None,
           references=None, hlines=None, vlines=None, markers=False, legend_loc="best",
           xlim=None, ylim=None):
    """Several curves on one Axes: the one helper behind every 1-D figure of the course.

    Parameters
    ----------
    curves : dict name -> values. A value is a 1-D array (plotted against 0, 1, 2, ...), a pair
        (x, y) of 1-D arrays, or an object with ``losses`` (a RunResult). In a pair, y of shape
        (len(x), k) draws k curves in one style with one legend entry (e.g. each sample's loss).
    title, xlabel, ylabel : required: say what is compared, with the symbols of the text.
    logx : False, True (log scale; x <= 0 left out) or "symlog" (log scale that still shows
        x = 0, linear below 1: for step counts starting at t = 0).
    logy : logarithmic y axis. Zeros (an exact minimum) are left out of the line; negative values
        raise ValueError (plot loss - min_value instead).
    ax : Axes to draw on; default a new figure.
    styles : dict name -> dict of extra ``ax.plot`` keywords (e.g. {"ls": "--", "marker": "o"}), for
        curves and for references, hlines and vlines alike (by their label).
    references : dict label -> (x, y): reference curves (theory, a slope -1 line), drawn dark grey
        and dashed, each in its own dash pattern, listed in the legend.
    hlines, vlines : dict label -> value: horizontal / vertical reference lines (a tolerance, a
        threshold such as 2 / lambda_max), dotted, listed in the legend.
    markers : draw a dot at every point (measured values rather than a continuous curve).
    legend_loc : passed to ``ax.legend``.
    xlim, ylim : axis limits (low, high); (high, low) reverses the axis; default matplotlib's.

    Returns the Axes. Non-finite values (a diverged run) are left out of the line.
    """
    if not isinstance(curves, dict) or not curves:
        raise ValueError("curves must be a non-empty dict {name: array of values}")
    for name, value in (("title", title), ("xlabel", xlabel), ("ylabel", ylabel)):
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{name} must be a non-empty string saying what is plotted, got {value!r}")
    if logx not in (False, True, "symlog"):
        raise ValueError(f'logx must be False, True or "symlog", got {logx!r}')
    data = {str(k): _as_curve(k, v) for k, v in curves.items()}
    refs = {str(k): _as_curve(k, v) for k, v in (references or {}).items()}
    if logy:
        for name, (_, y) in {**data, **refs}.items():
            if np.any(y[np.isfinite(y)] < 0):
                raise ValueError(
                    f"logy=True needs values >= 0, but curve {name!r} goes down to {np.nanmin(y):.4g}; "
                    "plot loss - min_value, or pass logy=False"
                )
    styles = styles or {}
    xlim, ylim = _limits(xlim, "xlim", reversed_ok=True), _limits(ylim, "ylim", reversed_ok=True)

    def visible(x, y):
        xx = x if y.ndim == 1 else x[:, None]
        keep = np.isfinite(xx) & np.isfinite(y)
        if logy:
            keep &= y > 0
        if logx is True:
            keep &= xx > 0
        return np.where(keep, y, np.nan)

    with course_style():
        ax = _new_axes(ax)
        colors = mpl.rcParams["axes.prop_cycle"].by_key()["color"]
        for k, (name, (x, y)) in enumerate(data.items()):
            kw = {"marker": "o", "ms": 4} if markers else {}
            if y.ndim == 2:      # a family: one colour, one legend entry
                kw.update({"color": colors[k % len(colors)], "lw": 0.8, **styles.get(name, {})})
                lines = ax.plot(x, visible(x, y), **kw)
                for line in lines[1:]:
                    line.set_label("_nolegend_")
                lines[0].set_label(name)
                continue
            kw.update(styles.get(name, {}))
            ax.plot(x, visible(x, y), label=name, **kw)
        for k, (name, (x, y)) in enumerate(refs.items()):
            ax.plot(x, visible(x, y), label=name, **{**_reference_style(k), **styles.get(name, {})})
        for k, (name, value) in enumerate((hlines or {}).items()):
            ax.axhline(float(value), label=name, **{**_reference_style(k + 1), "ls": ":", **styles.get(name, {})})
        for k, (name, value) in enumerate((vlines or {}).items()):
            ax.axvline(float(value), label=name, **{**_reference_style(k + 2), "ls": ":", **styles.get(name, {})})
        if logy:
            ax.set_yscale("log")
        if logx == "symlog":
            ax.set_xscale("symlog", linthresh=1.0)
        elif logx:
            ax.set_xscale("log")
        if xlim is not None:
            ax.set_xlim(*xlim)
        elif logx == "symlog" and all(np.nanmin(x) >= 0 for x, _ in data.values()):
            ax.set_xlim(left=0.0)        # steps t = 0, 1, ...: no empty negative half
        if ylim is not None:
            ax.set_ylim(*ylim)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.legend(loc=legend_loc)
    return ax


def loss_curves(curves_, *, title, xlabel="step t", ylabel="loss", logy=True, ax=None, styles=None,
                **kwargs):
    """Loss against step for several runs: :func:`curves` with the loss defaults.

    ``curves_`` as in :func:`curves` (1-D arrays against t = 0, 1, 2, ..., (x, y) pairs such as
    wall-clock time and loss, or RunResults); ``xlabel="step t"``, ``ylabel="loss"`` and a log y
    axis by default; any other keyword of :func:`curves` (``logx``, ``references``, ``hlines``,
    ...) is passed on. Returns the Axes.
    """
    return curves(curves_, title=title, xlabel=xlabel, ylabel=ylabel, logy=logy, ax=ax, styles=styles,
                  **kwargs)


def surface_plot(objective, trajectories=None, *, title=None, ax=None, xlim=None, ylim=None,
                 resolution=80, cmap="viridis", log=False, mark_minimum=True, elev=30, azim=-60):
    """3-D surface z = f(w_1, w_2) of a 2-D objective, optionally with optimizer paths on it.

    Parameters as in ``contour_trajectories``; ``resolution`` grid points per axis (default 80);
    ``log=True`` plots log10(f - f*) instead of f (needs ``min_value``; floored at 1e-6 of its
    largest value in the window), which makes Rosenbrock's flat valley visible; ``elev``/``azim`` set the viewing angle in degrees.
    ``ax`` must be a 3-D Axes (``fig.add_subplot(projection="3d")``) if given.

    Returns the 3-D Axes, with title, labels $w_1$, $w_2$, $f(w)$ and a legend.
    """
    if getattr(objective, "dim", None) != 2 or not callable(getattr(objective, "value", None)):
        raise ValueError(f"objective must be a 2-D Objective (dim == 2), got {objective!r}")
    if ax is not None and getattr(ax, "name", None) != "3d":
        raise ValueError('ax must be a 3-D Axes: create it with fig.add_subplot(projection="3d")')
    f_star = getattr(objective, "min_value", None)
    if log and f_star is None:
        raise ValueError("log=True needs the objective's min_value (f - f* must be positive)")
    paths = {str(k): _as_path(k, v) for k, v in (trajectories or {}).items()}
    xlim, ylim = _plot_window(objective, paths, xlim, ylim)

    floor = [0.0]

    def height(W):
        with np.errstate(all="ignore"):
            z = np.asarray(objective.value(W), dtype=np.float64)
            return np.log10(np.maximum(z - f_star, floor[0])) if log else z

    with course_style():
        ax = _new_axes(ax, projection="3d")
        xs, ys = np.linspace(*xlim, resolution), np.linspace(*ylim, resolution)
        XX, YY = np.meshgrid(xs, ys)
        if log:
            with np.errstate(all="ignore"):
                zmax = np.nanmax(np.asarray(objective.value(np.stack([XX, YY], axis=-1))) - f_star)
            floor[0] = max(1e-6 * zmax, 1e-300)
        ZZ = height(np.stack([XX, YY], axis=-1))
        ax.computed_zorder = False  # draw the paths and the star above the surface
        ax.plot_surface(XX, YY, ZZ, cmap=cmap, alpha=0.8, linewidth=0, antialiased=True, rcount=resolution,
                        ccount=resolution)
        colors = mpl.rcParams["axes.prop_cycle"].by_key()["color"]
        for k, (name, P) in enumerate(paths.items()):
            ax.plot(P[:, 0], P[:, 1], height(P) + 0.0, "-o", ms=2, color=colors[k % len(colors)], label=name,
                    zorder=5)
        m = getattr(objective, "minimizer", None)
        if mark_minimum and m is not None:
            ax.plot([m[0]], [m[1]], [float(height(np.asarray(m)))], ls="none", marker="*", ms=14, color="gold",
                    mec="black", label="minimum", zorder=6)
        ax.view_init(elev=elev, azim=azim)
        ax.xaxis.set_major_locator(mpl.ticker.MaxNLocator(5))
        ax.yaxis.set_major_locator(mpl.ticker.MaxNLocator(5))
        ax.set_xlabel(W1_LABEL)
        ax.set_ylabel(W2_LABEL)
        ax.set_zlabel(r"$\log_{10}(f(w) - f^\star)$" if log else r"$f(w)$")
        ax.set_title(title if title is not None else _default_title(objective))
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper left")
        else:
            # nothing to list (no paths, no known minimum): a legend naming the surface itself
            ax.legend(handles=[Line2D([], [], color=mpl.colormaps[cmap](0.6), lw=6, label="f(w)")],
                      loc="upper left")
    return ax
