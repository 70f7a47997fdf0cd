"""Tests for course_lib.runner: run(), run_grid(), measured_rate().

The reference values are independent of the runner: closed-form GD iterates on a quadratic
(I - eta A)^t, the theoretical rates of GD and heavy ball on the kappa = 20 bowl, hand-written loops,
and run() itself for run_grid (one setting at a time versus all at once).
"""
import contextlib
import re
import warnings

import numpy as np
import pytest

from course_lib.optim.newton import Newton
from course_lib.objectives import Quadratic, Rosenbrock, Saddle, bowl
from course_lib.optim import SGD, Adam, Momentum, Nesterov
from course_lib.rates import measured_rate
from course_lib.optim import DivergenceError, Optimizer
from course_lib.runner import GridResult, RunResult, run, run_grid, stop_rule

W0 = np.array([-7.0, 2.0])   # the usual start on the bowl x^2/20 + y^2


@pytest.fixture
def quad():
    """A non-diagonal SPD quadratic with b != 0 (so w* != 0), seeded."""
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    A = Q @ np.diag([0.5, 1.5, 4.0]) @ Q.T
    return Quadratic((A + A.T) / 2, b=rng.standard_normal(3), c=0.7)


@contextlib.contextmanager
def no_warnings():
    """Turn every warning (overflow, invalid value, ...) into an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# ------------------------------------------------------------------------------------------------
# run(): the iterates themselves
# ------------------------------------------------------------------------------------------------
def test_gd_reproduces_closed_form_iterates(quad):
    eta, T = 0.3, 60
    w0 = np.array([2.0, -1.0, 3.0])
    res = run(SGD(lr=eta), quad, w0, max_steps=T)
    w_star = np.linalg.solve(quad.A, quad.b)
    M = np.eye(3) - eta * quad.A
    expected = np.array([w_star + np.linalg.matrix_power(M, t) @ (w0 - w_star) for t in range(T + 1)])
    assert res.trajectory.shape == (T + 1, 3) and res.steps == T
    np.testing.assert_allclose(res.trajectory, expected, rtol=0, atol=1e-12)
    # losses and gradient norms are those of the recorded points
    f = np.array([0.5 * w @ quad.A @ w - quad.b @ w + quad.c for w in expected])
    np.testing.assert_allclose(res.losses, f, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(res.grad_norms, np.linalg.norm(expected @ quad.A - quad.b, axis=1),
                               rtol=1e-10, atol=1e-12)
    assert np.array_equal(res.final_w, res.trajectory[-1])
    assert res.stop_reason == "max_steps" and not res.converged and not res.diverged


def test_run_does_not_touch_w0_and_resets_the_optimizer():
    w0 = W0.copy()
    opt = Momentum(lr=0.1, momentum=0.9)
    first = run(opt, bowl(), w0, max_steps=40)
    second = run(opt, bowl(), w0, max_steps=40)  # same optimizer object: must start from fresh state
    assert np.array_equal(w0, W0)
    np.testing.assert_array_equal(first.trajectory, second.trajectory)


def test_newton_gets_the_hessian():
    # needs_hessian path: one undamped Newton step solves a quadratic exactly
    q = Quadratic(np.array([[3.0, 1.0], [1.0, 2.0]]), b=np.array([1.0, -1.0]))
    res = run(Newton(), q, [5.0, 5.0], tol_grad=1e-10)
    assert res.stop_reason == "tol_grad" and res.steps == 1
    np.testing.assert_allclose(res.final_w, np.linalg.solve(q.A, q.b), atol=1e-12)
    res = run(Newton(), Rosenbrock(), [-1.2, 1.0], tol_grad=1e-8, max_steps=50)
    assert res.converged and res.steps < 10
    np.testing.assert_allclose(res.final_w, [1.0, 1.0], atol=1e-8)
    # an error that is not about divergence is not swallowed
    with pytest.raises(ValueError, match="not positive definite"):
        run(Newton(), Saddle(), [1.0, 1.0], max_steps=5)


def test_nesterov_lookahead_gradient_point():
    # the runner must evaluate the gradient at gradient_point(params) = w + mu v
    b = bowl()
    eta, mu, T = 0.3, 0.8, 25
    res = run(Nesterov(lr=eta, momentum=mu), b, W0, max_steps=T)
    w, v = W0.copy(), np.zeros(2)
    for t in range(1, T + 1):
        v = mu * v - eta * (b.A @ (w + mu * v))
        w = w + v
        np.testing.assert_allclose(res.trajectory[t], w, rtol=0, atol=1e-12)


# ------------------------------------------------------------------------------------------------
# run(): stopping rules
# ------------------------------------------------------------------------------------------------
def test_stop_tol_grad():
    res = run(SGD(lr=0.5), bowl(), W0, max_steps=10_000, tol_grad=1e-6)
    assert res.stop_reason == "tol_grad" and res.converged and not res.diverged
    assert res.grad_norms[-1] < 1e-6 and np.all(res.grad_norms[:-1] >= 1e-6)  # the first such step
    T = res.steps
    assert res.message == f"converged: ||g|| = {res.grad_norms[-1]:.2g} < tol_grad = 1e-06 after {T} steps"
    # closed form on the bowl: w_t = (1 - eta lambda_i)^t w0_i with lambda = (0.1, 2)
    lam = np.array([0.1, 2.0])
    g = lambda t: np.linalg.norm(lam * (1 - 0.5 * lam) ** t * W0)
    assert g(T) < 1e-6 <= g(T - 1)


def test_stop_tol_step():
    res = run(SGD(lr=0.5), bowl(), W0, max_steps=10_000, tol_step=1e-8)
    steps = np.linalg.norm(np.diff(res.trajectory, axis=0), axis=1)
    assert res.stop_reason == "tol_step" and res.converged
    assert steps[-1] < 1e-8 and np.all(steps[:-1] >= 1e-8)
    assert "tol_step = 1e-08" in res.message and f"after {res.steps} steps" in res.message


def test_stop_max_steps():
    res = run(SGD(lr=0.01), bowl(), W0, max_steps=17, tol_grad=1e-12, tol_step=1e-12)
    assert res.stop_reason == "max_steps" and res.steps == 17 and not res.converged
    assert res.trajectory.shape == (18, 2) and res.losses.shape == (18,) and res.grad_norms.shape == (18,)
    assert "max_steps = 17" in res.message


def test_start_at_the_minimizer_stops_at_step_zero(quad):
    w_star = np.linalg.solve(quad.A, quad.b)
    res = run(SGD(lr=0.1), quad, w_star, tol_grad=1e-6)
    assert res.stop_reason == "tol_grad" and res.steps == 0 and res.converged
    assert res.trajectory.shape == (1, 3)
    assert "0 steps" in res.message


def test_callback_sees_every_step_and_can_stop():
    seen = []

    def cb(t, w, loss):
        seen.append((t, loss))
        return t == 5

    res = run(SGD(lr=0.1), bowl(), W0, max_steps=100, callback=cb)
    assert res.stop_reason == "callback" and res.steps == 5
    assert [t for t, _ in seen] == list(range(6))
    np.testing.assert_array_equal([l for _, l in seen], res.losses)
    # also called on the step where a tolerance stops the run
    ts = []
    res = run(SGD(lr=0.5), bowl(), W0, tol_grad=1e-3, callback=lambda t, w, loss: ts.append(t))
    assert res.stop_reason == "tol_grad" and ts == list(range(res.steps + 1))
    # a NumPy boolean (e.g. np.linalg.norm(w) < 1) stops the run like True does
    res = run(SGD(lr=0.1), bowl(), W0, max_steps=100,
              callback=lambda t, w, loss: np.linalg.norm(w) < 5.0)
    assert res.stop_reason == "callback"
    assert np.linalg.norm(res.final_w) < 5.0 <= np.linalg.norm(res.trajectory[-2])


def test_progress_bar_gives_the_same_result(capsys):
    a = run(Momentum(lr=0.1), bowl(), W0, max_steps=50)
    b = run(Momentum(lr=0.1), bowl(), W0, max_steps=50, progress=True)
    np.testing.assert_array_equal(a.trajectory, b.trajectory)
    assert "50/50" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------
# run(): divergence
# ------------------------------------------------------------------------------------------------
def test_divergence_above_two_over_lambda_max_is_reported():
    b = bowl()                       # lambda_max = 2, so GD needs lr < 1
    lr = 1.05
    with no_warnings():
        res = run(SGD(lr=lr), b, W0, max_steps=1000)
    # independent: loss_t = sum lambda_i / 2 (1 - lr lambda_i)^(2t) w0_i^2; first t above 1e8 loss_0
    lam = np.array([0.1, 2.0])
    loss = lambda t: float(np.sum(0.5 * lam * (1 - lr * lam) ** (2 * t) * W0 ** 2))
    t_div = next(t for t in range(1, 1000) if loss(t) > 1e8 * loss(0))
    assert res.stop_reason == "diverged" and res.diverged and not res.converged
    assert res.diverged_at == t_div
    assert re.match(rf"diverged at step {t_div} \(loss = .*\); try a smaller learning rate \(lr = 1.05\)",
                    res.message), res.message
    assert np.all(np.isfinite(res.trajectory)) and np.all(np.isfinite(res.losses))
    assert len(res.losses) == res.steps + 1 == len(res.trajectory)


def test_overflow_is_truncated_not_nan():
    with no_warnings():
        res = run(SGD(lr=1e200), bowl(), W0, max_steps=100)   # w_1 overflows to inf
    assert res.diverged and res.diverged_at == 1 and res.steps == 0
    assert res.message.startswith("diverged at step 1 (loss = inf)")
    assert np.all(np.isfinite(res.trajectory)) and res.trajectory.shape == (1, 2)


def test_optimizer_divergence_error_becomes_a_diverged_result():
    # lr * g overflows inside SGD.step, which raises DivergenceError (a ValueError)
    with no_warnings():
        res = run(SGD(lr=1e308), bowl(), W0, max_steps=100)
    assert res.diverged and res.diverged_at == 1
    assert "diverged at step 1" in res.message and "lr = 1e+308" in res.message
    assert np.all(np.isfinite(res.trajectory))


def test_the_runner_reads_the_attributes_of_divergence_error_not_its_text():
    class Wordless(Optimizer):
        """Raises a DivergenceError with an unhelpful message but typed attributes."""
        def step(self, params, grads):
            raise DivergenceError("boom", step=99, key="w", quantity="gradient", value=np.inf)

    res = run(Wordless(0.1), bowl(), W0, max_steps=10)
    assert res.diverged and res.diverged_at == 1 and res.steps == 0
    assert res.message == ("diverged at step 1 (the optimizer reported: gradient for 'w' contains "
                           "NaN/inf); try a smaller learning rate (lr = 0.1)")
    assert res.divergence.quantity == "gradient" and res.divergence.value == np.inf
    # the course optimizer's own error, and the runner's own loss check, carry the same fields
    res = run(SGD(lr=1e308), bowl(), W0, max_steps=100)
    assert (res.divergence.quantity, res.divergence.key, res.divergence.step) == ("parameter", "w", 1)
    res = run(SGD(lr=1.05), bowl(), W0, max_steps=1000)
    assert res.divergence.quantity == "loss" and res.divergence.step == res.diverged_at
    assert res.divergence.value == res.divergence.value and res.divergence.value > 1e8
    assert run(SGD(lr=0.1), bowl(), W0, max_steps=10).divergence is None


def test_other_errors_of_the_optimizer_are_not_swallowed():
    class Broken(Optimizer):
        def step(self, params, grads):
            raise ValueError("gradient is not finite")   # words about NaN, but not a DivergenceError

    with pytest.raises(ValueError, match="gradient is not finite"):
        run(Broken(0.1), bowl(), W0, max_steps=10)


def test_stop_rule_is_a_pure_function_of_the_numbers():
    base = dict(finite=True, loss=1.0, limit=10.0, gnorm=1.0, tol_grad=None, step_length=None,
                tol_step=None, callback_stop=False)
    assert stop_rule(**base) is None
    assert stop_rule(**{**base, "finite": False}) == "diverged"
    assert stop_rule(**{**base, "loss": -11.0}) == "diverged"
    assert stop_rule(**{**base, "tol_grad": 2.0}) == "tol_grad"
    assert stop_rule(**{**base, "tol_step": 1e-3, "step_length": 1e-4}) == "tol_step"
    assert stop_rule(**{**base, "tol_step": 1e-3, "step_length": 1e-2}) is None
    assert stop_rule(**{**base, "callback_stop": True}) == "callback"
    # the order: divergence before the tolerances before the callback
    assert stop_rule(**{**base, "loss": 11.0, "tol_grad": 2.0, "callback_stop": True}) == "diverged"
    assert stop_rule(**{**base, "tol_grad": 2.0, "tol_step": 1.0, "step_length": 0.0,
                        "callback_stop": True}) == "tol_grad"


def test_lookahead_is_read_from_the_optimizer():
    # a look-ahead optimizer gets its gradient at gradient_point; any other at w itself, reused
    calls = []

    class Counting:
        name, dim, minimizer = "bowl", 2, np.zeros(2)
        def value(self, w):
            return bowl().value(w)
        def grad(self, w):
            calls.append(np.array(w))
            return bowl().grad(w)

    run(SGD(lr=0.1), Counting(), W0, max_steps=5)
    assert len(calls) == 6                       # w_0 .. w_5: one gradient per step
    calls.clear()
    opt = Nesterov(lr=0.1, momentum=0.5)
    assert opt.lookahead and not Nesterov(0.1, form="pytorch").lookahead and not SGD(0.1).lookahead
    run(opt, Counting(), W0, max_steps=5)
    assert len(calls) == 11                      # plus one at each look-ahead point


def test_unbounded_objective_is_reported_as_such():
    with no_warnings():
        res = run(SGD(lr=0.1), Saddle(), [1.0, 1e-3], max_steps=1000)
    assert res.diverged and "unbounded below" in res.message
    assert np.all(np.isfinite(res.losses))


# ------------------------------------------------------------------------------------------------
# schedules
# ------------------------------------------------------------------------------------------------
def test_schedule_sets_lr_before_each_step():
    b = bowl()
    schedule = lambda t: 0.9 / t ** 0.5
    opt = SGD(lr=0.01)
    lrs = []
    res = run(opt, b, W0, max_steps=30, schedule=schedule,
              callback=lambda t, w, loss: lrs.append(opt.lr) if t > 0 else None)
    np.testing.assert_allclose(lrs, [schedule(t) for t in range(1, 31)], rtol=0, atol=0)
    w = W0.copy()
    for t in range(1, 31):
        w = w - schedule(t) * (b.A @ w)
        np.testing.assert_allclose(res.trajectory[t], w, rtol=0, atol=1e-12)
    assert opt.lr == 0.01   # the optimizer's own lr is restored afterwards


def test_schedule_returning_a_bad_lr_is_an_error():
    with pytest.raises(ValueError, match="schedule"):
        run(SGD(lr=0.1), bowl(), W0, max_steps=10, schedule=lambda t: -0.1)


# ------------------------------------------------------------------------------------------------
# rates against theory
# ------------------------------------------------------------------------------------------------
def test_gd_rate_with_optimal_step_matches_theory():
    b = bowl(20)
    eta = 2 / (b.lambda_min + b.lambda_max)
    res = run(SGD(lr=eta), b, W0, max_steps=200)
    r = measured_rate(np.linalg.norm(res.trajectory - b.minimizer, axis=1))
    assert abs(r - (20 - 1) / (20 + 1)) < 1e-3


def test_heavy_ball_optimal_rate_matches_theory():
    b = bowl(20)
    kappa = b.kappa
    eta = (2 / (np.sqrt(b.lambda_min) + np.sqrt(b.lambda_max))) ** 2
    mu = ((np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1)) ** 2
    theory = (np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1)          # 0.635
    res = run(Momentum(lr=eta, momentum=mu), b, W0, max_steps=1000)
    r = measured_rate(np.linalg.norm(res.trajectory - b.minimizer, axis=1))
    assert abs(r - theory) < 2e-2
    # the same through run_grid, on a grid that contains the optimum; it beats GD's 0.905
    g = run_grid(Momentum, b, W0, grid={"lr": [eta], "momentum": [0.0, mu]}, steps=1000)
    assert abs(g.rate[0, 1] - theory) < 2e-2
    assert abs(g.rate[0, 0] - 19 / 21) < 1e-3 or g.rate[0, 0] > 0.9   # mu = 0 is plain GD


# ------------------------------------------------------------------------------------------------
# run_grid
# ------------------------------------------------------------------------------------------------
GRID_CASES = [
    (Momentum, bowl, {"lr": [0.05, 0.4, 0.9, 1.3, 2.5], "momentum": [0.0, 0.3, 0.7, 0.95]}, {}, W0),
    (Nesterov, bowl, {"lr": [0.05, 0.4, 0.9, 1.3, 2.5], "momentum": [0.0, 0.3, 0.7, 0.95]}, {}, W0),
    (SGD, bowl, {"lr": [0.05, 0.4, 0.9, 1.3, 2.5], "momentum": [0.1, 0.3, 0.7, 0.95]},
     {"nesterov": True}, W0),
    (Momentum, Rosenbrock, {"lr": [1e-4, 5e-4, 1e-3, 2e-3, 3e-3], "momentum": [0.0, 0.5, 0.8, 0.9]},
     {}, np.array([-1.2, 1.0])),
]


@pytest.mark.parametrize("opt_cls, make_obj, grid, fixed, w0", GRID_CASES,
                         ids=["momentum-bowl", "nesterov-bowl", "sgd-nesterov-bowl", "momentum-rosenbrock"])
def test_run_grid_equals_one_run_per_setting(opt_cls, make_obj, grid, fixed, w0):
    obj, steps = make_obj(), 120
    with no_warnings():
        g = run_grid(opt_cls, obj, w0, grid=grid, steps=steps, fixed=fixed)
    assert isinstance(g, GridResult)
    assert g.names == tuple(grid) and g.losses.shape == (5, 4, steps + 1) == g.dist.shape
    assert g.diverged.shape == g.rate.shape == (5, 4)
    assert not np.isnan(g.losses).any() and not np.isnan(g.dist).any()
    n_div = 0
    for i, lr in enumerate(grid["lr"]):
        for j, mu in enumerate(grid["momentum"]):
            with no_warnings():
                r = run(opt_cls(lr=lr, momentum=mu, **fixed), obj, w0, max_steps=steps)
            n = len(r.losses)
            d = np.linalg.norm(r.trajectory - obj.minimizer, axis=1)
            np.testing.assert_allclose(g.losses[i, j, :n], r.losses, rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(g.dist[i, j, :n], d, rtol=1e-12, atol=1e-12)
            assert bool(g.diverged[i, j]) == r.diverged
            if r.diverged:
                n_div += 1
                assert g.diverged_at[i, j] == r.diverged_at
                assert np.all(np.isinf(g.losses[i, j, n:]))
                assert g.rate[i, j] >= 1
            else:
                assert n == steps + 1 and g.diverged_at[i, j] == -1
                assert g.rate[i, j] == pytest.approx(measured_rate(d), rel=1e-9, abs=1e-12)
    if make_obj is bowl:
        assert 0 < n_div < 20   # the grid really mixes converging and diverging settings


def test_run_grid_one_hyperparameter():
    g = run_grid(SGD, bowl(), W0, grid={"lr": np.linspace(0.1, 1.2, 12)}, steps=100)
    assert g.losses.shape == (12, 101) and g.diverged.shape == (12,)
    # GD on the bowl converges iff lr < 2 / lambda_max = 1
    np.testing.assert_array_equal(g.diverged, np.linspace(0.1, 1.2, 12) > 1.0 + 1e-9)
    assert g.best() == {"lr": pytest.approx(0.9)}     # closest to 2 / (0.1 + 2) = 0.952
    assert g.best(by="loss") == g.best(by="dist") == {"lr": pytest.approx(0.9)}


def test_run_grid_best_and_diverged_rows_are_masked():
    b = bowl()
    lrs, mus = np.linspace(0.05, 3.0, 30), np.linspace(0.0, 0.99, 25)
    with no_warnings():
        g = run_grid(Momentum, b, W0, grid={"lr": lrs, "momentum": mus}, steps=400)
    assert g.diverged.any() and not g.diverged.all()
    # heavy ball on a quadratic converges iff 0 < eta lambda < 2 + 2 mu for every eigenvalue
    stable = lrs[:, None] * b.lambda_max < 2 + 2 * mus[None, :]
    margin = np.abs(lrs[:, None] * b.lambda_max - (2 + 2 * mus[None, :])) > 0.05
    np.testing.assert_array_equal(g.diverged[margin], ~stable[margin])
    assert np.all(g.rate[g.diverged] >= 1) and not np.isnan(g.rate).any()
    assert not np.isnan(g.losses).any()
    best = g.best()
    assert set(best) == {"lr", "momentum"}
    assert g.rate[g.best_index()] == np.min(g.rate[~g.diverged])
    assert g.rate[g.best_index()] < 0.7          # far better than GD's 0.905 ...
    assert g.rate[g.best_index()] > 0.635 - 2e-2  # ... but not better than the optimum
    assert "diverged" in repr(g)


def test_freeze_rows_zeroes_the_buffers_of_those_rows_only():
    opt = Momentum(lr=0.1, momentum=0.9, form="pytorch")
    params = {"w": np.ones((3, 2))}
    for _ in range(3):
        opt.step(params, {"w": np.ones((3, 2))})
    opt.freeze_rows(np.array([False, True, False]))
    b = opt.state["w"]["momentum_buffer"]
    assert np.all(b[1] == 0) and np.all(b[[0, 2]] > 1)
    held = params["w"][1].copy()
    opt.step(params, {"w": np.array([[1.0, 1.0], [0.0, 0.0], [1.0, 1.0]])})
    assert np.array_equal(params["w"][1], held)          # zero gradient + zero buffer: no move
    adam = Adam(lr=0.1)
    adam.step(params, {"w": np.ones((3, 2))})
    adam.freeze_rows(np.array([True, False, False]))
    assert np.all(adam.state["w"]["exp_avg"][0] == 0) and np.all(adam.state["w"]["exp_avg_sq"][0] == 0)
    assert np.all(adam.state["w"]["exp_avg"][1] != 0)


def test_run_grid_peak_memory_stays_near_its_result_arrays():
    import tracemalloc
    grid = {"lr": np.linspace(0.01, 1.5, 60), "momentum": np.linspace(0.0, 0.99, 50)}
    steps = 400
    tracemalloc.start()
    g = run_grid(Momentum, bowl(), W0, grid=grid, steps=steps)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    results = g.losses.nbytes + g.dist.nbytes
    assert peak <= 1.5 * results, (peak / results)


def test_run_grid_row_that_overflows_at_once_is_frozen():
    with no_warnings():
        g = run_grid(SGD, bowl(), W0, grid={"lr": [0.5, 1e200]}, steps=50)
    np.testing.assert_array_equal(g.diverged, [False, True])
    assert g.diverged_at.tolist() == [-1, 1]
    assert np.isfinite(g.losses[1, 0]) and np.all(np.isinf(g.losses[1, 1:]))
    assert np.all(np.isfinite(g.losses[0])) and g.rate[1] >= 1 and g.rate[0] < 1


def test_run_grid_rate_ignores_the_rounding_floor():
    # w* = (3, -0.5) != 0: the distance stalls near eps * ||w*|| after ~30 steps; the fitted rate
    # must come from the part before that, not the flat noise after it
    q = Quadratic(np.diag([1.0, 2.0]), b=np.array([3.0, -1.0]))
    g = run_grid(SGD, q, np.zeros(2), grid={"lr": [2 / 3]}, steps=300)   # |1 - lr lambda| = 1/3
    assert g.dist[0, -1] < 1e-12
    assert g.rate[0] == pytest.approx(1 / 3, abs=1e-3)


def test_grid_100x100x300_runs_as_one_batch():
    # its time is measured by benchmarks/bench_runner.py (make bench), not asserted here
    b = bowl()
    grid = {"lr": np.linspace(0.01, 1.5, 100), "momentum": np.linspace(0.0, 0.99, 100)}
    g = run_grid(Momentum, b, W0, grid=grid, steps=300)
    assert g.losses.shape == (100, 100, 301)
    assert g.diverged.any() and not g.diverged.all()


# ------------------------------------------------------------------------------------------------
# measured_rate
# ------------------------------------------------------------------------------------------------
def test_measured_rate_geometric_and_window():
    t = np.arange(101)
    assert measured_rate(3.0 * 0.7 ** t) == pytest.approx(0.7, rel=1e-12)
    # first part at rate 0.5, then 0.9: the default tail window sees 0.9, an explicit window 0.5
    curve = np.where(t <= 40, 0.5 ** t, 0.5 ** 40 * 0.9 ** (t - 40))
    assert measured_rate(curve) == pytest.approx(0.9, rel=1e-12)
    assert measured_rate(curve, start=5, end=40) == pytest.approx(0.5, rel=1e-12)


def test_measured_rate_floor_and_exact_zero():
    t = np.arange(201)
    stalled = np.maximum(0.5 ** t, 1e-16 * (1 + 0.3 * np.sin(t)))   # rounding-noise floor
    assert measured_rate(stalled, floor=1e-13) == pytest.approx(0.5, rel=1e-9)
    assert measured_rate(stalled) > 0.9            # without the floor the flat tail dominates
    assert measured_rate([1.0, 0.0, 0.0, 0.0]) == 0.0   # converged in one step


@pytest.mark.parametrize("kwargs, word", [
    ({"dist_curve": [1.0]}, "dist_curve"),
    ({"dist_curve": np.ones((3, 3))}, "dist_curve"),
    ({"dist_curve": np.ones(10), "start": 5, "end": 5}, "start"),
    ({"dist_curve": np.ones(10), "end": 20}, "end"),
    ({"dist_curve": np.ones(10), "floor": -1.0}, "floor"),
])
def test_measured_rate_bad_input(kwargs, word):
    with pytest.raises(ValueError, match=word):
        measured_rate(**kwargs)


# ------------------------------------------------------------------------------------------------
# input validation
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, word", [
    ({"w0": [1.0, 2.0, 3.0]}, r"w0 \(starting point\) must have shape \(2,\)"),
    ({"w0": [np.nan, 1.0]}, "w0"),
    ({"max_steps": 0}, "max_steps"),
    ({"max_steps": -5}, "max_steps"),
    ({"max_steps": 2.5}, "max_steps"),
    ({"tol_grad": -1e-6}, "tol_grad"),
    ({"tol_grad": 0.0}, "tol_grad"),
    ({"tol_step": float("nan")}, "tol_step"),
    ({"divergence_threshold": -1.0}, "divergence_threshold"),
    ({"schedule": 0.1}, "schedule"),
])
def test_run_bad_input(kwargs, word):
    args = {"w0": W0, **kwargs}
    with pytest.raises(ValueError, match=word):
        run(SGD(lr=0.1), bowl(), **args)


@pytest.mark.parametrize("kwargs, word", [
    ({"w0": [1.0]}, "w0"),
    ({"steps": 0}, "steps"),
    ({"grid": {}}, "grid"),
    ({"grid": {"lr": []}}, "grid"),
    ({"grid": {"lr": [[0.1, 0.2]]}}, "grid"),
    ({"grid": {"lr": [0.1], "momentum": [0.5]}, "fixed": {"momentum": 0.9}}, "momentum"),
    ({"grid": {"lr": [-0.1]}}, "lr"),   # rejected by the optimizer itself
])
def test_run_grid_bad_input(kwargs, word):
    args = {"w0": W0, "grid": {"lr": [0.1]}, "steps": 10, **kwargs}
    with pytest.raises(ValueError, match=word):
        run_grid(Momentum, bowl(), **args)


def test_result_repr_is_short():
    res = run(SGD(lr=0.5), bowl(), W0, tol_grad=1e-6)
    text = repr(res)
    assert isinstance(res, RunResult) and text.startswith("RunResult(") and len(text) < 200
    assert "tol_grad" in text


def test_importing_the_core_imports_neither_matplotlib_nor_torch():
    """The optimizers, the runner and the objectives are pure NumPy: a fresh interpreter that
    imports them has no matplotlib, torch or tqdm in sys.modules (they cost seconds to import)."""
    import subprocess
    import sys

    code = ("import sys\n"
            "import course_lib.optim, course_lib.optim.schedules, course_lib.runner, course_lib.rates\n"
            "import course_lib.objectives, course_lib.losses, course_lib.gradcheck\n"
            "import course_lib.functions, course_lib.taylor\n"
            "print(sorted(m for m in ('matplotlib', 'torch', 'tqdm') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_stop_message_shows_digits_enough_for_the_inequality():
    """A step of 9.99e-05 against tol_step = 1e-4 must not read '0.0001 < 0.0001'."""
    from course_lib.runner import _below
    assert _below(9.9918e-05, "tol_step", 1e-4) == "= 9.99e-05 < tol_step = 0.0001"
    assert _below(3.2e-07, "tol_grad", 1e-6) == "= 3.2e-07 < tol_grad = 1e-06"
    q = Quadratic(np.diag([1.0, 1.0]))
    res = run(SGD(lr=0.5), q, np.array([1.0, 1.0]), tol_step=2 ** -14 * 1.0001, max_steps=100)
    value, tol = res.message.split("= ")[1].split(" <")[0], res.message.split("tol_step = ")[1].split(" ")[0]
    assert value != tol and res.stop_reason == "tol_step"
