"""Tests for course_lib.widgets: the GD path it draws is checked against the closed form
w_t = (I - eta A)^t w_0 of gradient descent on a quadratic, not against the runner it uses."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from course_lib.objectives import Quadratic, bowl
from course_lib.widgets import DEFAULT_W0, Explorer, LearningRateExplorer, lr_regime, plot_gd_path


def closed_form_path(A, w0, lr, steps):
    """Independent GD on f = 1/2 w^T A w: w_t = (I - lr A)^t w0, t = 0..steps."""
    M = np.eye(len(w0)) - lr * A
    out = [np.asarray(w0, dtype=float)]
    for _ in range(steps):
        out.append(M @ out[-1])
    return np.array(out)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("lr, expected", [
    (0.01, "too small"), (0.05, "too small"), (0.06, "monotone"), (0.5, "monotone"),
    (0.51, "oscillates"), (0.99, "oscillates"), (1.0, "on the edge"), (1.01, "diverges"),
    (3.0, "diverges"),
])
def test_lr_regime_on_the_kappa_20_bowl(lr, expected):
    # bowl(20): lambda_min = 0.1, lambda_max = 2, so the limit 2 / lambda_max is eta = 1
    assert lr_regime(lr, 0.1, 2.0) == expected


@pytest.mark.parametrize("bad", [0.0, -0.1, float("nan"), float("inf"), "0.1", True, None])
def test_lr_regime_rejects_bad_learning_rates(bad):
    with pytest.raises(ValueError, match="lr \\(learning rate\\)"):
        lr_regime(bad, 0.1, 2.0)


def test_lr_regime_rejects_non_positive_curvature():
    with pytest.raises(ValueError, match="curvatures"):
        lr_regime(0.1, 0.0, 2.0)


@pytest.mark.parametrize("lr", [0.05, 0.5, 0.9])
def test_plot_gd_path_follows_the_closed_form(lr):
    fig, result = plot_gd_path(lr, steps=40)
    A = np.diag([0.1, 2.0])  # x^2/20 + y^2 = 1/2 w^T diag(1/10, 2) w
    expected = closed_form_path(A, DEFAULT_W0, lr, 40)
    np.testing.assert_allclose(result.trajectory, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(result.losses, 0.5 * np.einsum("ti,ij,tj->t", expected, A, expected),
                               rtol=1e-12, atol=1e-300)


def test_plot_gd_path_figure_is_titled_labelled_and_has_legends():
    fig, _ = plot_gd_path(0.9)
    assert len(fig.axes) == 3                     # path, loss gap and the colour bar of the levels
    for ax in fig.axes[:2]:
        assert ax.get_title()
        assert ax.get_xlabel() and ax.get_ylabel()
        assert ax.get_legend() is not None
    # the title writes the function in the symbols of the axes
    assert "w_1" in fig.axes[0].get_title() and fig.axes[0].get_xlabel() == "$w_1$"
    assert fig.axes[2].get_ylabel()
    assert "oscillates" in fig._suptitle.get_text()
    assert fig.axes[1].get_yscale() == "log"


def test_plot_gd_path_reports_divergence_and_still_draws():
    fig, result = plot_gd_path(1.1, steps=100)
    assert result.diverged
    assert result.steps < 100
    assert np.all(np.isfinite(result.trajectory))
    assert "diverge" in fig._suptitle.get_text()
    # the window stays the objective's own, so the slider picture does not jump
    assert fig.axes[0].get_ylim() == pytest.approx(bowl(20).ylim)


def test_plot_gd_path_on_another_quadratic():
    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    q = Quadratic(A, b=np.array([1.0, -1.0]))
    fig, result = plot_gd_path(0.2, objective=q, w0=(1.0, 1.0), steps=30)
    # independent: GD on 1/2 w^T A w - b^T w is GD on the error e = w - w*
    e = closed_form_path(A, np.array([1.0, 1.0]) - q.minimizer, 0.2, 30)
    np.testing.assert_allclose(result.trajectory, e + q.minimizer, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("steps", [0, -3, 2.5, "10"])
def test_plot_gd_path_rejects_bad_steps(steps):
    with pytest.raises(ValueError, match="steps"):
        plot_gd_path(0.5, steps=steps)


def test_explorer_redraws_when_the_sliders_move():
    ex = LearningRateExplorer(lr=0.5, steps=20)
    A = np.diag([0.1, 2.0])
    np.testing.assert_allclose(ex.result.trajectory, closed_form_path(A, DEFAULT_W0, 0.5, 20))
    ex.lr_slider.value = 0.9
    np.testing.assert_allclose(ex.result.trajectory, closed_form_path(A, DEFAULT_W0, 0.9, 20))
    assert "0.9" in ex.figure._suptitle.get_text()
    ex.steps_slider.value = 35
    assert ex.result.steps == 35
    ex.lr_slider.value = 1.2
    assert ex.result.diverged
    assert len(ex.figure.axes) == 3  # the same axes moved, not new ones stacked


def test_explorer_figure_is_not_managed_by_pyplot():
    before = set(plt.get_fignums())
    LearningRateExplorer()
    assert set(plt.get_fignums()) == before  # so Jupyter does not show it a second time


def test_explorer_is_a_displayable_widget():
    ex = LearningRateExplorer()
    bundle = ex._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert ex.lr_slider.max == pytest.approx(1.2)
    assert ex.image.value[:8] == b"\x89PNG\r\n\x1a\n"      # the figure, rendered


def test_explorer_image_changes_with_the_slider():
    ex = LearningRateExplorer(lr=0.5)
    first = bytes(ex.image.value)
    ex.lr_slider.value = 1.1
    assert bytes(ex.image.value) != first
    assert bytes(ex.image.value)[:4] == b"\x89PNG"


@pytest.mark.parametrize("kwargs, match", [
    ({"lr": 2.0}, "lr_range"),
    ({"lr": -0.1}, "lr \\(learning rate\\)"),
    ({"lr_range": (0.5, 0.1)}, "lr_range"),
    ({"steps": 500}, "steps_range"),
])
def test_explorer_rejects_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LearningRateExplorer(**kwargs)


def test_explorer_readout_and_timing_follow_the_controls():
    ex = LearningRateExplorer(lr=0.5, steps=20)
    assert ex.readout.value.startswith("eta = 0.50 (monotone)")
    assert "20 steps, final loss" in ex.readout.value
    assert ex.redraw_seconds is not None and ex.redraw_seconds > 0
    ex.lr_slider.value = 1.2
    assert ex.readout.value.startswith("eta = 1.20 (diverges") and "final loss 2.8e+06" in ex.readout.value
    assert ex.values() == {"lr": 1.2, "steps": 20}
    # the DOM hooks the browser tests look for
    assert "course-explorer" in ex.widget._dom_classes
    assert "course-explorer-readout" in ex.readout._dom_classes
    assert "course-explorer-figure" in ex.image._dom_classes


def test_explorer_base_needs_an_update_method():
    import ipywidgets as widgets

    from course_lib.widgets import Explorer
    with pytest.raises(NotImplementedError):
        Explorer({"x": widgets.IntSlider()})


def _pixels(png):
    import io

    from PIL import Image
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=int)


@pytest.mark.parametrize("lr, steps", [(0.3, 60), (0.99, 120), (1.1, 60)])
def test_explorer_redraw_over_the_saved_background_matches_a_full_render(lr, steps):
    """The fast redraw (background once, then only the changed artists) shows the same picture
    as drawing the whole figure again."""
    ex = LearningRateExplorer(lr=0.5, steps=60)
    background = ex.drawing._blit["background"]
    ex.steps_slider.value = steps
    ex.lr_slider.value = lr
    assert ex.drawing._blit["background"] is background     # contours were not drawn again
    fast = _pixels(ex.image.value)
    full = _pixels(Explorer.render_png(ex, ex.figure))
    assert fast.shape == full.shape
    differ = np.any(np.abs(fast - full) > 24, axis=-1)
    assert differ.mean() < 0.003, differ.mean()
    assert ex.drawing.path.get_xydata() == pytest.approx(ex.result.trajectory)


def test_blit_png_draws_the_changed_artists_over_the_saved_background():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from course_lib.widgets._base import blit_png
    fig = Figure(figsize=(3, 2), dpi=50)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], color="0.8")                    # background
    line, = ax.plot([0, 1], [1, 0], color="red", lw=3)      # moves
    ax.set_xlim(0, 1), ax.set_ylim(0, 1)
    state = {}
    first = _pixels(blit_png(fig, state, [line], [line]))
    background = state["background"]
    line.set_data([0, 1], [0.5, 0.5])
    second = _pixels(blit_png(fig, state, [line], [line]))
    assert state["background"] is background
    red = lambda img: (img[..., 0] > 200) & (img[..., 1] < 80)
    rows = np.flatnonzero(red(second).any(axis=1))
    assert rows.size and rows.max() - rows.min() < 10            # a flat red line only: the old one is gone
    assert red(first).any(axis=1).sum() > 3 * rows.size
    fig.canvas.draw()                                            # a full draw shows the same picture
    differ = np.any(np.abs(np.asarray(fig.canvas.buffer_rgba(), dtype=int)[..., :3] - second) > 24, axis=-1)
    assert differ.mean() < 0.005                                 # (where the line meets the spines)
