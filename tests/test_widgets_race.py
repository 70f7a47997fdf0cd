"""The optimizer race (course_lib.widgets.race): its paths are checked against closed forms and
torch.optim (float64), its tuned learning rates against a re-run of the search, and the live
explorer against its static twin."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from course_lib.objectives import Rosenbrock, bowl
from course_lib.runner import run
from course_lib.widgets import OptimizerRace, plot_race, race
from course_lib.widgets.race import RACERS, START, TUNED_LR, TUNED_STEPS, RacePath, make_racer, tune_lrs


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


A_BOWL = np.diag([0.1, 2.0])


def test_gd_on_the_bowl_is_the_closed_form():
    p = race("bowl", {"GD": 0.4}, steps=30)["GD"]
    expected = [np.array(START["bowl"])]
    for _ in range(30):
        expected.append((np.eye(2) - 0.4 * A_BOWL) @ expected[-1])
    np.testing.assert_allclose(p.trajectory, np.array(expected), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(p.losses, [0.5 * w @ A_BOWL @ w for w in expected], rtol=1e-12)


TORCH = {"Momentum": lambda p, lr: torch.optim.SGD([p], lr=lr, momentum=0.9),
         "AdaGrad": lambda p, lr: torch.optim.Adagrad([p], lr=lr),
         "RMSprop": lambda p, lr: torch.optim.RMSprop([p], lr=lr),
         "Adam": lambda p, lr: torch.optim.Adam([p], lr=lr)}


@pytest.mark.parametrize("racer", sorted(TORCH))
@pytest.mark.parametrize("objective", ["bowl", "rosenbrock"])
def test_racers_follow_torch_optim(racer, objective):
    lr = TUNED_LR[objective][racer] / 2
    steps = 60
    path = race(objective, {racer: lr}, steps=steps)[racer]
    p = torch.nn.Parameter(torch.tensor(START[objective], dtype=torch.float64))
    opt = TORCH[racer](p, lr)
    # Momentum: the lecture form v <- mu v - lr g; w <- w + v equals torch's v <- mu v + g; w <- w - lr v
    f = (lambda w: 0.5 * w @ torch.tensor(A_BOWL) @ w) if objective == "bowl" else \
        (lambda w: (1 - w[0]) ** 2 + 100 * (w[1] - w[0] ** 2) ** 2)
    traj = [p.detach().numpy().copy()]
    for _ in range(steps):
        opt.zero_grad()
        f(p).backward()
        opt.step()
        traj.append(p.detach().numpy().copy())
    np.testing.assert_allclose(path.trajectory, np.array(traj), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("racer", RACERS)
def test_racers_agree_with_the_course_runner(racer):
    f = Rosenbrock()
    path = race("rosenbrock", {racer: TUNED_LR["rosenbrock"][racer]}, steps=200)[racer]
    ref = run(make_racer(racer, TUNED_LR["rosenbrock"][racer]), f, START["rosenbrock"], max_steps=200)
    np.testing.assert_allclose(path.trajectory, ref.trajectory, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(path.losses, ref.losses, rtol=1e-12, atol=1e-300)


def test_nesterov_racer_uses_the_look_ahead_gradient():
    # lecture form: v <- mu v - lr grad(w + mu v); w <- w + v  (computed here by hand)
    lr, mu = 0.1, 0.9
    w, v = np.array(START["bowl"]), np.zeros(2)
    expected = [w.copy()]
    for _ in range(20):
        v = mu * v - lr * A_BOWL @ (w + mu * v)
        w = w + v
        expected.append(w.copy())
    p = race("bowl", {"Nesterov": lr}, steps=20)["Nesterov"]
    np.testing.assert_allclose(p.trajectory, np.array(expected), rtol=1e-12, atol=1e-14)


def test_a_diverging_racer_stops_and_keeps_its_finite_part():
    p = race("bowl", {"GD": 1.5}, steps=300)["GD"]            # 1.5 > 2 / lambda_max = 1
    assert p.diverged_at is not None and p.diverged_at < 300
    assert np.isfinite(p.trajectory).all() and p.trajectory.shape[0] == p.diverged_at
    assert p.settles_at(1e-6) is None
    assert p.losses[-1] <= 1e8 * max(1.0, p.losses[0])


def test_settles_at_ignores_a_lucky_pass():
    p = RacePath("x", 0.1, np.zeros((6, 2)), np.array([5.0, 1e-7, 1.0, 1e-7, 1e-8, 1e-9]), None)
    assert p.steps_to(1e-6) == 1 and p.settles_at(1e-6) == 3
    assert RacePath("x", 0.1, np.zeros((2, 2)), np.array([1.0, 2.0]), None).settles_at(1e-6) is None


@pytest.mark.parametrize("objective", ["bowl", "rosenbrock"])
def test_tuned_rates_are_what_the_search_finds(objective):
    found = tune_lrs(objective)
    for racer in RACERS:
        assert f"{found[racer][0]:.2g}" == f"{TUNED_LR[objective][racer]:.2g}", racer
    # the winner on the bowl settles no later than any other rate of the grid (checked for GD by hand)
    lrs = np.logspace(-4, 0.5, 55)
    settle = [race(objective, {"GD": lr}, steps=TUNED_STEPS[objective])["GD"].settles_at(1e-6) for lr in lrs]
    if objective == "bowl":
        best = min(s for s in settle if s is not None)
        assert found["GD"][1] == best


def test_plot_race_figure_is_titled_labelled_and_complete():
    fig, paths = plot_race("bowl", steps=50)
    assert list(paths) == list(RACERS)
    ax_path, ax_loss = fig.axes[0], fig.axes[1]
    for ax in (ax_path, ax_loss):
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    assert ax_loss.get_xscale() == "log" and ax_loss.get_yscale() == "log"
    labels = [t.get_text() for t in ax_path.get_legend().get_texts()]
    assert all(any(label.startswith(r) for label in labels) for r in RACERS)
    assert len(ax_loss.get_lines()) == len(RACERS)
    assert "50 steps" in fig._suptitle.get_text()


@pytest.mark.parametrize("kwargs, words", [
    ({"objective": "saddle"}, "objective"), ({"lrs": {"Adamax": 0.1}}, "unknown racer"),
    ({"lrs": {"Adam": -0.1}}, "lr"), ({"steps": 0}, "steps"), ({"w0": (1.0, np.nan)}, "w0"),
])
def test_bad_race_input(kwargs, words):
    with pytest.raises(ValueError, match=words):
        race(**kwargs)


# ---------------------------------------------------------------------------------------------
# the live explorer


def test_explorer_draws_the_same_paths_as_the_static_twin():
    ex = OptimizerRace(steps=100)
    static = race("bowl", steps=100)
    for r in RACERS:
        np.testing.assert_array_equal(ex.paths[r].trajectory, static[r].trajectory)
    assert ex.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert "100 steps from w0 = (-7.0, 2.0)" in ex.readout.value
    assert ex.redraw_seconds is not None


def test_explorer_recomputes_only_what_changed():
    ex = OptimizerRace(steps=100)
    before = {r: ex.paths[r] for r in RACERS}
    ex.controls["lr_Adam"].value = 0.1
    assert not np.array_equal(ex.paths["Adam"].trajectory, before["Adam"].trajectory)
    assert ex.paths["Adam"].lr == pytest.approx(0.1, rel=1e-12)
    assert ex.paths["GD"].trajectory is before["GD"].trajectory or \
        np.shares_memory(ex.paths["GD"].trajectory, before["GD"].trajectory)   # from the cache
    ex.controls["steps"].value = 50                                           # shorter: sliced from the cache
    assert ex.paths["GD"].trajectory.shape[0] == 51
    np.testing.assert_array_equal(ex.paths["GD"].trajectory, before["GD"].trajectory[:51])


def test_explorer_switches_objective_with_its_rates_and_start():
    ex = OptimizerRace(steps=60)
    ex.controls["objective"].value = "rosenbrock"
    assert ex.controls["lr_Adam"].value == pytest.approx(TUNED_LR["rosenbrock"]["Adam"], rel=0.06)
    assert (ex.controls["x0"].value, ex.controls["y0"].value) == START["rosenbrock"]
    expected = race("rosenbrock", {r: ex.controls[f"lr_{r}"].value for r in RACERS}, steps=60)
    for r in RACERS:
        np.testing.assert_array_equal(ex.paths[r].trajectory, expected[r].trajectory)
    assert ex._ax_path["rosenbrock"].get_visible() or "rosenbrock" in ex._backgrounds


def test_explorer_handles_no_racer_and_a_diverging_racer():
    ex = OptimizerRace(steps=50)
    ex.controls["racers"].value = ()
    assert "no racer selected" in ex.readout.value
    ex.controls["racers"].value = ("GD",)
    ex.controls["lr_GD"].value = 5.0
    assert "diverged" in ex.readout.value and ex.paths["GD"].diverged_at is not None


def test_explorer_figure_is_not_managed_by_pyplot_and_is_a_widget():
    before = set(plt.get_fignums())
    ex = OptimizerRace(steps=20)
    assert set(plt.get_fignums()) == before
    assert "application/vnd.jupyter.widget-view+json" in ex._repr_mimebundle_()
    with pytest.raises(ValueError, match="objective"):
        OptimizerRace(objective="saddle")
    with pytest.raises(ValueError, match="at most 1000"):
        OptimizerRace(steps=5000)
