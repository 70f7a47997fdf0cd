"""Tests for course_lib.widgets.momentum: the paths it draws are checked against the recursions
written out here in NumPy (not against the optimizers it uses), its rates against numpy's
eigenvalues of the 4 x 4 iteration matrix of the whole bowl, and the heat map against the theory."""
import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

from course_lib.objectives import Quadratic, bowl
from course_lib.widgets import MomentumExplorer, momentum_setting, plot_momentum_path, plot_rate_map

A = np.diag([0.1, 2.0])          # bowl(20) = 1/2 w^T A w
W0 = np.array([-7.0, 2.0])


def recursion(lr, mu, steps, nesterov=False, A=A, w0=W0, w_star=None):
    """v <- mu v - lr grad(w [+ mu v]), w <- w + v, grad(w) = A (w - w*)."""
    w_star = np.zeros(len(w0)) if w_star is None else w_star
    w, v, out = np.array(w0, dtype=float), np.zeros(len(w0)), [np.array(w0, dtype=float)]
    for _ in range(steps):
        at = w + mu * v if nesterov else w
        v = mu * v - lr * A @ (at - w_star)
        w = w + v
        out.append(w)
    return np.array(out)


def spectral_radius(lr, mu, nesterov=False, A=A):
    """rho of the 4 x 4 map (w, v) -> (w', v') on the bowl, by numpy."""
    n = len(A)
    I = np.eye(n)
    S = I - lr * A
    M = (np.block([[S, mu * S], [-lr * A, mu * S]]) if nesterov
         else np.block([[S, mu * I], [-lr * A, mu * I]]))
    return np.abs(np.linalg.eigvals(M)).max()


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("method", ["momentum", "nesterov"])
@pytest.mark.parametrize("lr, mu", [(0.5, 0.6), (1.2, 0.5), (0.3, 0.9)])
def test_static_path_follows_the_recursion(method, lr, mu):
    fig, s = plot_momentum_path(lr, mu, method=method, steps=40)
    expected = recursion(lr, mu, 400, nesterov=method == "nesterov")
    got = s["result"].trajectory
    np.testing.assert_allclose(got, expected[: len(got)], rtol=1e-12, atol=1e-12)
    path = next(line for line in fig.axes[0].get_lines() if (line.get_gid() or "").startswith("path:"))
    drawn = np.column_stack(path.get_data())
    assert len(drawn) == min(41, len(got))     # a diverging run (NAG at 1.2, 0.5) stops early
    np.testing.assert_allclose(drawn, expected[: len(drawn)], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("method", ["momentum", "nesterov"])
@pytest.mark.parametrize("lr, mu", [(0.5, 0.6), (0.9, 0.2), (1.2, 0.5), (0.3, 0.95)])
def test_measured_and_theoretical_rates(method, lr, mu):
    s = momentum_setting(lr, mu, method=method)
    rho = spectral_radius(lr, mu, nesterov=method == "nesterov")
    assert s["theory"] == pytest.approx(rho, rel=1e-10)
    assert s["measured"] == pytest.approx(rho, abs=2e-3)
    assert s["converges"] == (rho < 1)


def test_a_diverging_setting_reports_its_growth():
    s = momentum_setting(1.9, 0.3)             # eta lambda_max = 3.8 > 2 + 2 mu = 2.6
    assert not s["converges"] and s["result"].diverged
    assert s["measured"] == pytest.approx(spectral_radius(1.9, 0.3), rel=1e-3)
    assert s["limit"] == pytest.approx(2.6 / 2.0)


def test_static_figure_is_titled_labelled_and_has_legends():
    fig, s = plot_momentum_path(0.5, 0.6)
    ax_path, ax_loss = fig.axes[:2]
    for ax in (ax_path, ax_loss):
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
        assert ax.get_legend() is not None
    assert ax_loss.get_yscale() == "log"
    text = fig._suptitle.get_text()
    assert "converges" in text and f"{s['theory']:.4f}" in text and f"{s['measured']:.4f}" in text


def test_a_diverging_gd_reference_path_stops_at_the_window():
    fig, _ = plot_momentum_path(1.2, 0.5)      # GD with eta = 1.2 > 2 / lambda_max diverges
    ax = fig.axes[0]
    gd = next(line for line in ax.get_lines() if line.get_gid() == "path:GD (same $\\eta$)")
    x, y = gd.get_data()
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    inside = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
    assert inside[:-1].all() and not inside[-1]


def test_path_on_another_quadratic():
    B = np.array([[3.0, 1.0], [1.0, 2.0]])
    q = Quadratic(B, b=np.array([1.0, -1.0]))
    fig, s = plot_momentum_path(0.2, 0.7, objective=q, w0=(1.0, 1.0), steps=30)
    expected = recursion(0.2, 0.7, s["result"].steps, A=B, w0=np.array([1.0, 1.0]), w_star=q.minimizer)
    np.testing.assert_allclose(s["result"].trajectory, expected, rtol=1e-12, atol=1e-12)
    assert s["theory"] == pytest.approx(spectral_radius(0.2, 0.7, A=B), rel=1e-10)


def test_explorer_redraws_when_the_sliders_move():
    ex = MomentumExplorer(lr=0.5, mu=0.6)
    np.testing.assert_allclose(ex.setting["result"].trajectory[:81], recursion(0.5, 0.6, 80), rtol=1e-12,
                               atol=1e-12)
    background = ex._drawing._blit["background"]
    n_contours = len(ex.figure.axes[0].collections)
    ex.mu_slider.value = 0.8
    np.testing.assert_allclose(ex.setting["result"].trajectory[:81], recursion(0.5, 0.8, 80), rtol=1e-12,
                               atol=1e-12)
    ex.lr_slider.value = 1.0
    assert ex.setting["theory"] == pytest.approx(spectral_radius(1.0, 0.8), rel=1e-10)
    # the contours were drawn once: no new artists, the same saved background
    assert len(ex.figure.axes[0].collections) == n_contours
    assert ex._drawing._blit["background"] is background
    assert ex.values() == {"lr": 1.0, "mu": 0.8}


def test_explorer_readout_prints_measured_next_to_theory():
    ex = MomentumExplorer(lr=0.5, mu=0.6)
    assert ex.readout.value.startswith("eta = 0.50, mu = 0.60: converges")
    assert "rate measured 0.8000, theory rho = 0.8000" in ex.readout.value
    assert ex.redraw_seconds is not None and ex.redraw_seconds > 0
    ex.lr_slider.value = 1.9
    ex.mu_slider.value = 0.3
    assert "diverges" in ex.readout.value and "&gt;=" in ex.readout.value
    ex = MomentumExplorer(method="nesterov", lr=0.5, mu=0.6)
    rho = spectral_radius(0.5, 0.6, nesterov=True)
    assert f"theory rho = {rho:.4f}" in ex.readout.value
    assert "(2 + 2\u03bc)/(1 + 2\u03bc)" in ex.widget.children[0].value     # the header names NAG's edge


def test_blitted_image_equals_a_full_render():
    ex = MomentumExplorer(lr=0.7, mu=0.7)
    ex.lr_slider.value = 0.4
    blitted = np.asarray(Image.open(io.BytesIO(ex.image.value)).convert("RGB"), dtype=int)
    ex.figure.canvas.draw()
    buffer = io.BytesIO()
    ex.figure.canvas.print_png(buffer)
    full = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"), dtype=int)
    assert blitted.shape == full.shape
    # the lines are drawn over the same background, in the same order (antialiased edges may
    # blend a shade differently where a line is drawn twice)
    assert np.mean(np.abs(blitted - full).max(axis=2) > 40) < 2e-3


def test_explorer_is_a_widget_not_managed_by_pyplot():
    before = set(plt.get_fignums())
    ex = MomentumExplorer()
    assert set(plt.get_fignums()) == before
    assert "application/vnd.jupyter.widget-view+json" in ex._repr_mimebundle_()
    assert ex.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert "course-explorer" in ex.widget._dom_classes


@pytest.mark.parametrize("kwargs, match", [
    ({"lr": 3.0}, "lr_range"),
    ({"lr": -0.1}, r"lr \(learning rate\)"),
    ({"mu": 1.0}, r"mu \(momentum\) must be < 1"),
    ({"method": "adam"}, "method must be"),
    ({"lr_range": (0.5, 0.1)}, "lr_range"),
])
def test_explorer_rejects_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MomentumExplorer(**kwargs)


@pytest.mark.parametrize("lr, mu, match", [(0.0, 0.5, "lr"), (0.5, -0.1, "mu"), (0.5, np.nan, "mu"),
                                           ("0.5", 0.5, "lr")])
def test_momentum_setting_rejects_bad_values(lr, mu, match):
    with pytest.raises(ValueError, match=match):
        momentum_setting(lr, mu)


@pytest.mark.parametrize("method", ["momentum", "nesterov"])
def test_rate_map_matches_the_theory(method):
    lrs, mus = np.linspace(0.05, 2.1, 42), np.linspace(0.0, 0.95, 20)
    ax, grid = plot_rate_map(method=method, lrs=lrs, mus=mus, steps=300)
    nesterov = method == "nesterov"
    rho = np.array([[spectral_radius(e, m, nesterov=nesterov) for m in mus] for e in lrs])
    away = np.abs(rho - 1) > 0.01
    assert np.array_equal((grid.rate < 1)[away], (rho < 1)[away])
    assert np.max(np.abs(grid.rate - rho)[rho < 0.99]) < 5e-3      # a 300-step tail fit
    # the white edge is eta lambda_max = 2 + 2 mu (heavy ball) or (2 + 2 mu)/(1 + 2 mu) (NAG)
    edge = next(line for line in ax.get_lines() if line.get_label().startswith("theory: edge"))
    x, y = edge.get_data()
    limit = (2 + 2 * y) / (1 + 2 * y) / 2.0 if nesterov else (2 + 2 * y) / 2.0
    np.testing.assert_allclose(x, limit, rtol=1e-12)
    for e, m in zip(x[::40], y[::40]):
        assert spectral_radius(e, m, nesterov=nesterov) == pytest.approx(1.0, abs=1e-9)
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel() and ax.get_legend() is not None
    assert any(line.get_label().startswith("theoretical optimum") for line in ax.get_lines())


def test_rate_map_defaults_cover_the_region():
    ax, grid = plot_rate_map(steps=50)
    lrs, mus = grid.values
    assert lrs.max() > 2.0 and mus.max() == pytest.approx(0.98)
    assert grid.diverged.any() and not grid.diverged.all()
