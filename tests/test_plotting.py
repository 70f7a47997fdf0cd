"""Tests for course_lib.plotting (Agg backend): titles, labels, legends, levels, no global side effects."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_lib import objectives as ob  # noqa: E402
from course_lib import plotting  # noqa: E402
from course_lib.plotting import contour_trajectories, loss_curves, surface_plot  # noqa: E402


@pytest.fixture(autouse=True)
def close_new_figures():
    before = set(plt.get_fignums())
    yield
    for num in set(plt.get_fignums()) - before:
        plt.close(num)


def gd_path(obj, w0, lr, steps):
    w = np.array(w0, dtype=float)
    path = [w.copy()]
    for _ in range(steps):
        w = w - lr * obj.grad(w)
        path.append(w.copy())
    return np.array(path)


def legend_labels(ax):
    leg = ax.get_legend()
    assert leg is not None, "the Axes has no legend"
    return [t.get_text() for t in leg.get_texts()]


def contour_set(ax):
    from matplotlib.contour import ContourSet

    sets = [c for c in ax.collections if isinstance(c, ContourSet)]
    assert len(sets) == 1
    return sets[0]


# ----------------------------------------------------------------------------------------------
# contour_trajectories
# ----------------------------------------------------------------------------------------------

def test_contour_trajectories_on_the_bowl_has_title_labels_legend_and_paths():
    b = ob.bowl()
    paths = {"GD": gd_path(b, [-7, 2], 0.9, 30), "slow GD": gd_path(b, [-7, 2], 0.1, 30)}
    ax = contour_trajectories(b, paths)
    assert ax.get_title() == b.latex and "w_1^2/20" in ax.get_title()
    assert ax.get_xlabel() == "$w_1$" and ax.get_ylabel() == "$w_2$"
    assert legend_labels(ax) == ["GD", "slow GD", "start", "end", "minimum"]
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    assert np.allclose(lines["GD"].get_xydata(), paths["GD"])
    star = lines["minimum"]
    assert star.get_marker() == "*" and np.allclose(star.get_xydata(), [[0.0, 0.0]])
    # a start circle and an end cross per path, at the right places
    starts = [ln for ln in ax.get_lines() if ln.get_marker() == "o" and ln.get_markersize() == 8]
    ends = [ln for ln in ax.get_lines() if ln.get_marker() == "X"]
    assert len(starts) == len(ends) == 2
    assert np.allclose(starts[0].get_xydata(), [[-7, 2]])
    assert np.allclose(ends[1].get_xydata(), paths["slow GD"][-1:])
    assert ax.get_xlim() == pytest.approx(b.xlim) and ax.get_ylim() == pytest.approx(b.ylim)


def test_log_levels_are_log_spaced_and_positive_for_rosenbrock():
    r = ob.Rosenbrock()
    ax = contour_trajectories(r, {"GD": gd_path(r, [-1.5, 2.0], 1e-3, 200)}, levels=25)
    levels = np.asarray(contour_set(ax).levels)
    assert len(levels) == 25 and levels[0] > 0
    ratios = levels[1:] / levels[:-1]
    assert np.allclose(ratios, ratios[0]) and ratios[0] > 1
    assert levels[-1] / levels[0] > 100          # spans the valley floor and the steep walls
    assert "Rosenbrock" in ax.get_title()


def test_linear_levels_without_a_minimum_and_legend_still_present():
    ax = contour_trajectories(ob.Saddle(), {})
    levels = np.asarray(contour_set(ax).levels)
    assert np.allclose(np.diff(levels), np.diff(levels)[0])
    assert levels[0] < 0 < levels[-1]
    assert legend_labels(ax) == ["level sets of f"]
    assert ax.get_title() == "saddle $w_1^2 - w_2^2$"
    ax2 = contour_trajectories(ob.bowl(), {}, log_levels=False, levels=12)
    assert np.allclose(np.diff(contour_set(ax2).levels), np.diff(contour_set(ax2).levels)[0])


def test_window_grows_to_show_paths_but_not_to_infinity():
    b = ob.bowl()
    ax = contour_trajectories(b, {"far start": np.array([[-14.0, 6.0], [-1.0, 0.0]])})
    assert ax.get_xlim()[0] <= -14.0 and ax.get_ylim()[1] >= 6.0
    diverged = np.array([[-7.0, 2.0], [30.0, -40.0], [1e6, 1e9], [np.inf, np.nan]])
    ax = contour_trajectories(b, {"diverged": diverged})
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    assert x1 <= b.xlim[1] + (b.xlim[1] - b.xlim[0]) + 1e-9     # at most one window width more
    assert y0 >= b.ylim[0] - (b.ylim[1] - b.ylim[0]) - 1e-9
    assert ax.get_xlim() != pytest.approx(b.xlim)


def test_given_axes_is_used_and_no_global_state_changes():
    with matplotlib.rc_context({"axes.grid": False, "legend.fontsize": 13.0}):
        rc_before = dict(matplotlib.rcParams)
        fig, axes = plt.subplots(1, 2)
        figs_before = plt.get_fignums()
        out = contour_trajectories(ob.bowl(), {"GD": [[-7, 2], [0, 0]]}, ax=axes[1], title="my title")
        assert out is axes[1] and out.get_title() == "my title"
        assert plt.get_fignums() == figs_before                   # no extra figure was opened
        assert not axes[0].has_data()
        # the course style is used inside the call (legend font) but does not leak out of it
        assert out.get_legend().get_texts()[0].get_fontsize() == plotting.COURSE_STYLE["legend.fontsize"]
        assert dict(matplotlib.rcParams) == rc_before
        assert matplotlib.rcParams["axes.grid"] is False and matplotlib.rcParams["legend.fontsize"] == 13.0


def test_accepts_objects_with_a_trajectory_attribute():
    class RunResult:
        trajectory = np.array([[1.0, 1.0], [0.5, 0.2], [0.1, 0.0]])

    ax = contour_trajectories(ob.bowl(), {"run": RunResult()}, colorbar=True)
    assert "run" in legend_labels(ax)
    assert len(ax.figure.axes) == 2                            # the plot and its colour bar


def test_contour_trajectories_validation():
    with pytest.raises(ValueError, match=r"trajectory 'GD' must have shape \(T, 2\).*got shape \(10, 3\)"):
        contour_trajectories(ob.bowl(), {"GD": np.zeros((10, 3))})
    with pytest.raises(ValueError, match=r"objective must be a 2-D Objective"):
        contour_trajectories(ob.MultiMinima1D(), {})
    with pytest.raises(ValueError, match=r"trajectories must be a dict"):
        contour_trajectories(ob.bowl(), [np.zeros((3, 2))])
    with pytest.raises(ValueError, match=r"xlim must be a pair \(low, high\)"):
        contour_trajectories(ob.bowl(), {}, xlim=(3, 1))


# ----------------------------------------------------------------------------------------------
# loss_curves
# ----------------------------------------------------------------------------------------------

def test_loss_curves_basic():
    curves = {"GD": 0.9 ** np.arange(50), "momentum": 0.7 ** np.arange(50)}
    ax = loss_curves(curves, title="loss on the bowl")
    assert ax.get_title() == "loss on the bowl"
    assert ax.get_xlabel() == "step t" and ax.get_ylabel() == "loss"
    assert ax.get_yscale() == "log"
    assert legend_labels(ax) == ["GD", "momentum"]
    line = ax.get_lines()[0]
    assert np.array_equal(line.get_xdata(), np.arange(50))
    assert np.allclose(line.get_ydata(), curves["GD"])


def test_loss_curves_xy_pairs_linear_scale_and_divergence():
    t = np.array([0.0, 0.1, 0.25])
    ax = loss_curves({"Adam": (t, [3.0, 2.0, 1.0]), "diverged": [1.0, 10.0, np.inf]},
                     title="loss vs time", xlabel="time [s]", logy=False)
    assert ax.get_yscale() == "linear" and ax.get_xlabel() == "time [s]"
    assert np.array_equal(ax.get_lines()[0].get_xdata(), t)
    assert np.isnan(ax.get_lines()[1].get_ydata()[-1])


def test_loss_curves_validation():
    with pytest.raises(TypeError):
        loss_curves({"GD": [1.0, 0.5]})                     # the title is required
    with pytest.raises(ValueError, match=r"title must be a non-empty string"):
        loss_curves({"GD": [1.0, 0.5]}, title="  ")
    with pytest.raises(ValueError, match=r"logy=True needs values >= 0, but curve 'f' goes down to -2"):
        loss_curves({"f": [1.0, -2.0]}, title="t")
    with pytest.raises(ValueError, match=r"curve 'GD' must be a 1-D array"):
        loss_curves({"GD": np.ones((3, 2))}, title="t")
    with pytest.raises(ValueError, match=r"curves must be a non-empty dict"):
        loss_curves({}, title="t")


# ----------------------------------------------------------------------------------------------
# surface_plot, style
# ----------------------------------------------------------------------------------------------

def test_surface_plot_has_title_labels_and_legend():
    r = ob.Rosenbrock()
    ax = surface_plot(r, {"GD": gd_path(r, [-1.5, 2.0], 1e-3, 50)}, resolution=30, log=True)
    assert ax.name == "3d"
    assert ax.get_title() and ax.get_xlabel() == "$w_1$" and ax.get_ylabel() == "$w_2$"
    assert "f" in ax.get_zlabel()
    assert legend_labels(ax) == ["GD", "minimum"]
    ax2 = surface_plot(ob.Saddle(), resolution=20)
    assert legend_labels(ax2) == ["f(w)"]
    with pytest.raises(ValueError, match=r"ax must be a 3-D Axes"):
        surface_plot(r, ax=plt.subplots()[1])
    with pytest.raises(ValueError, match=r"log=True needs the objective's min_value"):
        surface_plot(ob.Saddle(), log=True)


def test_set_style_applies_the_course_rcparams():
    with matplotlib.rc_context():
        plotting.set_style()
        assert matplotlib.rcParams["axes.grid"] is True
        assert matplotlib.rcParams["axes.titlesize"] == plotting.COURSE_STYLE["axes.titlesize"]
    with plotting.course_style():
        assert matplotlib.rcParams["legend.fontsize"] == plotting.COURSE_STYLE["legend.fontsize"]


def test_explicit_geometric_levels_get_a_log_colour_scale_and_custom_labels():
    from matplotlib.colors import LogNorm, Normalize

    from course_lib.objectives import bowl
    from course_lib.plotting import contour_trajectories

    ax = contour_trajectories(bowl(), levels=np.geomspace(1e-3, 10, 12), xlabel="x", ylabel="y")
    cs = [c for c in ax.collections if hasattr(c, "levels")][0]
    assert isinstance(cs.norm, LogNorm)
    assert ax.get_xlabel() == "x" and ax.get_ylabel() == "y"
    ax = contour_trajectories(bowl(), levels=np.linspace(1, 10, 12))
    cs = [c for c in ax.collections if hasattr(c, "levels")][0]
    assert type(cs.norm) is Normalize


def test_curves_draws_data_references_and_reference_lines():
    from course_lib.plotting import curves
    t = np.arange(0, 50)
    ax = curves({"measured": (t, 0.9 ** t)}, title="rate", xlabel="step t", ylabel=r"$\|w_t - w^*\|$",
                logy=True, logx="symlog", references={"theory 0.9^t": (t, 0.9 ** t)},
                hlines={"tolerance": 1e-2}, vlines={"t = 10": 10}, markers=True)
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["measured", "theory 0.9^t", "tolerance", "t = 10"]
    assert ax.get_xscale() == "symlog" and ax.get_yscale() == "log"
    assert ax.get_lines()[0].get_marker() == "o"
    assert ax.get_title() == "rate" and ax.get_xlabel() == "step t"
    # t = 0 is kept on the symlog axis (and the axis starts there); a plain log axis drops it
    assert np.isfinite(ax.get_lines()[0].get_ydata()[0])
    assert ax.get_xlim()[0] == 0.0
    ax2 = curves({"a": (t, 0.9 ** t)}, title="x", xlabel="t", ylabel="y", logx=True)
    assert np.isnan(ax2.get_lines()[0].get_ydata()[0])
    plt.close("all")


def test_curves_rejects_missing_labels_and_negative_values_on_log_axes():
    from course_lib.plotting import curves
    with pytest.raises(ValueError, match="xlabel must be a non-empty string"):
        curves({"a": [1.0, 2.0]}, title="t", xlabel="", ylabel="y")
    with pytest.raises(ValueError, match="logy=True needs values >= 0.*'theory'"):
        curves({"a": [1.0, 2.0]}, title="t", xlabel="x", ylabel="y", logy=True,
               references={"theory": ([0, 1], [1.0, -1.0])})
    with pytest.raises(ValueError, match='logx must be False, True or "symlog"'):
        curves({"a": [1.0, 2.0]}, title="t", xlabel="x", ylabel="y", logx="yes")


def test_contour_plots_get_a_colour_bar_by_default_and_can_drop_it():
    ax = contour_trajectories(ob.bowl(), {})
    assert len(ax.figure.axes) == 2                          # the plot and its colour bar
    assert "f(w) - f^\\star" in ax.figure.axes[1].get_ylabel()
    ax = contour_trajectories(ob.bowl(), {}, colorbar=False)
    assert len(ax.figure.axes) == 1


def test_overlay_contours_share_the_levels_and_are_listed():
    b = ob.bowl()
    model = lambda W: 2.0 * b.value(W)                       # another function of the same points
    ax = contour_trajectories(b, {}, overlay={"twice f": model}, levels=np.array([0.5, 1.0, 2.0]),
                              aspect="equal", colorbar=False)
    from matplotlib.contour import ContourSet
    sets = [c for c in ax.collections if isinstance(c, ContourSet)]
    assert len(sets) == 2
    assert np.allclose(sets[0].levels, sets[1].levels)
    assert "twice f" in legend_labels(ax)
    assert ax.get_aspect() == 1.0


def test_curves_family_limits_and_styles():
    from course_lib.plotting import curves
    x = np.linspace(-1, 1, 11)
    family = np.stack([x ** 2 + c for c in range(4)], axis=1)            # 4 curves, one entry
    ax = curves({"each sample": (x, family), "mean": (x, family.mean(axis=1))},
                title="t", xlabel="w", ylabel="L", ylim=(-0.5, 5), xlim=(-1, 1),
                styles={"mean": {"lw": 3}})
    assert legend_labels(ax) == ["each sample", "mean"]
    assert len(ax.get_lines()) == 5
    first_four = ax.get_lines()[:4]
    assert len({ln.get_color() for ln in first_four}) == 1
    assert ax.get_ylim() == (-0.5, 5) and ax.get_xlim() == (-1, 1)
    assert ax.get_lines()[4].get_linewidth() == 3
    with pytest.raises(ValueError, match="y of shape"):
        curves({"bad": (x, np.ones((3, 2)))}, title="t", xlabel="w", ylabel="L")
    with pytest.raises(ValueError, match="ylim must be a pair"):
        curves({"a": [1.0, 2.0]}, title="t", xlabel="x", ylabel="y", ylim=(2, 2))
    ax = curves({"a": [1.0, 2.0]}, title="t", xlabel="x", ylabel="y", xlim=(1, 0))   # reversed axis
    assert ax.get_xlim() == (1, 0) and ax.xaxis_inverted()


def test_surface_and_contour_windows_agree():
    """One window rule for both helpers: the objective's window, widened to show the paths."""
    b = ob.bowl()
    path = {"far": np.array([[-14.0, 6.0], [0.0, 0.0]])}
    ax2 = contour_trajectories(b, path, colorbar=False)
    ax3 = surface_plot(b, path, resolution=10)
    assert ax2.get_xlim()[0] <= -14.0 and ax2.get_ylim()[1] >= 6.0
    assert ax3.get_xlim()[0] <= -14.0 and ax3.get_ylim()[1] >= 6.0


def test_segments_are_plain_lines_in_the_legend():
    b = ob.bowl()
    ax = contour_trajectories(b, {"GD": [[-7, 2], [0, 0]]}, segments={"valley floor": [[-9, 0], [9, 0]]},
                              colorbar=False)
    assert legend_labels(ax) == ["GD", "start", "end", "valley floor", "minimum"]
    floor = [ln for ln in ax.get_lines() if ln.get_label() == "valley floor"][0]
    assert floor.get_marker() in ("None", "", None) and np.allclose(floor.get_xydata(), [[-9, 0], [9, 0]])


def test_marked_points_are_listed():
    ax = contour_trajectories(ob.Saddle(), {}, points={"saddle point": (0.0, 0.0)}, colorbar=False)
    assert "saddle point" in legend_labels(ax)
    mark = [ln for ln in ax.get_lines() if ln.get_label() == "saddle point"][0]
    assert np.allclose(mark.get_xydata(), [[0.0, 0.0]]) and mark.get_linestyle() == "None"


def test_path_styles_are_applied():
    ax = contour_trajectories(ob.bowl(), {"GD": [[-7, 2], [0, 0]]}, styles={"GD": {"lw": 6, "alpha": 0.4}},
                              colorbar=False)
    line = [ln for ln in ax.get_lines() if ln.get_label() == "GD"][0]
    assert line.get_linewidth() == 6 and line.get_alpha() == 0.4


def test_reference_lines_take_styles_by_label():
    from course_lib.plotting import curves
    ax = curves({"a": [1.0, 2.0]}, title="t", xlabel="x", ylabel="y", vlines={"stop": 1.0},
                hlines={"tol": 1.5}, styles={"stop": {"color": "C3", "ls": "--"}})
    stop = [ln for ln in ax.get_lines() if ln.get_label() == "stop"][0]
    tol = [ln for ln in ax.get_lines() if ln.get_label() == "tol"][0]
    assert stop.get_linestyle() == "--" and tol.get_linestyle() == ":"


def test_set_style_renders_constrained_figures_once_in_the_inline_backend(monkeypatch):
    """In a kernel with the inline backend, set_style registers a PNG formatter that skips the
    tight-bounding-box pass for constrained-layout figures (and keeps it for the others)."""
    import IPython
    import matplotlib_inline.backend_inline  # noqa: F401  (imported here, outside any kernel)

    class Formatter:
        def __init__(self):
            self.printers = {}

        def for_type(self, cls, func):
            self.printers[cls] = func

    png = Formatter()
    shell = type("Shell", (), {"display_formatter": type("D", (), {"formatters": {"image/png": png}})()})()
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    calls = []
    import IPython.core.pylabtools as pylabtools
    monkeypatch.setattr(pylabtools, "print_figure", lambda fig, fmt, **kw: calls.append(kw) or "png")
    with matplotlib.rc_context({"backend": "module://matplotlib_inline.backend_inline"}):
        plotting._inline_single_pass()
    from matplotlib.figure import Figure
    func = png.printers[Figure]
    func(plt.figure(layout="constrained"))
    func(plt.figure())
    assert calls[0]["bbox_inches"] is None and calls[1]["bbox_inches"] == "tight"
    monkeypatch.setattr(IPython, "get_ipython", lambda: None)      # outside a kernel: nothing to do
    plotting._inline_single_pass()


def test_plain_log_ticks_label_decades_in_plain_text():
    import matplotlib.pyplot as plt

    from course_lib.plotting import plain_log_ticks

    fig, ax = plt.subplots()
    ax.loglog([1, 1000], [1e-12, 10.0])
    plain_log_ticks(ax, "y", numticks=7)
    plain_log_ticks(ax, "x", numticks=None, minor=True)
    fig.canvas.draw()
    ylabels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    xlabels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert ylabels and all("$" not in t for t in ylabels + xlabels)
    assert "1" in ylabels and all(t == "1" or t.startswith("1e") for t in ylabels)   # 1e-12 ... 1e1
    assert {"1", "10", "100", "1000"} <= set(xlabels)
    assert len(ax.yaxis.get_minorticklocs()) == 0 and len(ax.xaxis.get_minorticklocs()) > 0
    plt.close(fig)
