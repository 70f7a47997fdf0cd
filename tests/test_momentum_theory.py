"""Heavy-ball and Nesterov theory on quadratics (course_lib.rates, chapters 05-06), tested against
independent computations: numpy's eigenvalues of the iteration matrix, one step of the course
optimizers from an arbitrary state, a numerical minimisation of the worst rate, and the rates the
vectorised runner measures when the optimizers actually run."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from course_lib import rates as R
from course_lib.objectives import Quadratic, bowl
from course_lib.optim import Momentum, Nesterov, SGD
from course_lib.runner import run, run_grid

RNG = np.random.default_rng(5)
# (a = eta lambda, mu) pairs, including mu > 1, mu < 0 and negative curvature (a < 0)
A_MU = np.column_stack([RNG.uniform(-1.0, 5.0, 400), RNG.uniform(-1.5, 1.5, 400)])


def _discriminants(a, mu):
    return (1 + mu - a) ** 2 - 4 * mu, ((1 + mu) * (1 - a)) ** 2 - 4 * mu * (1 - a)


@pytest.mark.parametrize("matrix, radius, which", [
    (R.heavy_ball_matrix, R.heavy_ball_spectral_radius, 0),
    (R.nesterov_matrix, R.nesterov_spectral_radius, 1),
])
def test_spectral_radius_is_the_largest_eigenvalue_modulus(matrix, radius, which):
    a, mu = A_MU[:, 0], A_MU[:, 1]
    lr, lam = np.abs(a) / 2, np.where(a < 0, -2.0, 2.0)    # the theory depends on a = lr lam only
    M = matrix(lr, mu, lam)
    assert M.shape == (len(a), 2, 2)
    by_numpy = np.abs(np.linalg.eigvals(M)).max(axis=-1)
    closed = radius(lr, mu, lam)
    # a double root is ill-conditioned (an O(eps) change moves it by O(sqrt eps)): compare away from it
    away = np.abs(_discriminants(a, mu)[which]) > 1e-3
    assert away.sum() > 350
    np.testing.assert_allclose(closed[away], by_numpy[away], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(closed, by_numpy, rtol=1e-6)


@pytest.mark.parametrize("cls, matrix", [(Momentum, R.heavy_ball_matrix), (Nesterov, R.nesterov_matrix)])
def test_matrix_is_one_step_of_the_optimizer_from_any_state(cls, matrix):
    # along an eigenvector of a quadratic the optimizer maps (e, v) -> M (e, v), whatever v is
    lam, w_star = np.array([0.1, 2.0, 0.7]), np.array([1.0, -2.0, 0.5])
    q = Quadratic(np.diag(lam), b=lam * w_star)
    for lr, mu in [(0.3, 0.9), (0.9, 0.5), (1.4, 0.2)]:
        e0, v0 = RNG.normal(size=3), RNG.normal(size=3)
        opt = cls(lr, mu)
        params = {"w": w_star + e0}
        opt.step(params, {"w": np.zeros(3)})            # creates the state ...
        opt.state["w"]["v"][:] = v0                      # ... which we overwrite with any velocity
        params["w"][:] = w_star + e0
        point = opt.gradient_point(params)["w"]
        opt.step(params, {"w": q.grad(point)})
        expected = np.einsum("kij,jk->ik", matrix(lr, mu, lam), np.vstack([e0, v0]))
        np.testing.assert_allclose(params["w"] - w_star, expected[0], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(opt.state["w"]["v"], expected[1], rtol=1e-12, atol=1e-14)


def test_regions_are_where_the_spectral_radius_is_below_one():
    a, mu = np.meshgrid(np.linspace(-0.5, 4.5, 401), np.linspace(-1.2, 1.2, 241), indexing="ij")
    lr, lam = np.abs(a), np.sign(a)                     # lam = -1, 0 or 1
    for converges, radius in [(R.heavy_ball_converges, R.heavy_ball_spectral_radius),
                              (R.nesterov_converges, R.nesterov_spectral_radius)]:
        rho = radius(lr, mu, lam)
        clear = np.abs(rho - 1) > 1e-9                  # the boundary itself has rho = 1
        assert clear.sum() > 0.95 * rho.size
        assert np.array_equal(converges(lr, mu, lam)[clear], (rho < 1)[clear])


def test_region_formulas_for_mu_in_0_1():
    mu = np.linspace(0, 0.99, 100)
    lam = 2.0
    for limit, radius in [(R.heavy_ball_lr_limit, R.heavy_ball_spectral_radius),
                          (R.nesterov_lr_limit, R.nesterov_spectral_radius)]:
        eta = limit(mu, lam)
        np.testing.assert_allclose(radius(eta, mu, lam), 1.0, rtol=1e-12)     # on the edge
        assert np.all(radius(eta * (1 - 1e-6), mu, lam) < 1)
        assert np.all(radius(eta * (1 + 1e-6), mu, lam) > 1)
    np.testing.assert_allclose(R.heavy_ball_lr_limit(mu, lam), (2 + 2 * mu) / lam, rtol=1e-15)
    # GD's limit 2/lambda at mu = 0 for both; heavy ball's grows to 4/lambda, Nesterov's falls to 4/(3 lambda)
    assert R.heavy_ball_lr_limit(0.0, 1.0) == R.nesterov_lr_limit(0.0, 1.0) == 2.0
    assert R.nesterov_lr_limit(0.999999, 1.0) == pytest.approx(4 / 3, rel=1e-5)


def test_mu_outside_0_1():
    # mu > 1: no step size converges (the roots' product is mu > 1); mu < 0: a smaller region
    assert not R.heavy_ball_converges(np.linspace(0.01, 3, 50), 1.1, 1.0).any()
    assert R.heavy_ball_spectral_radius(0.0, 1.1, 1.0) == pytest.approx(1.1)    # zero gradient: |v| grows
    assert R.heavy_ball_converges(0.9, -0.5, 1.0) and not R.heavy_ball_converges(1.1, -0.5, 1.0)
    assert R.heavy_ball_spectral_radius(0.3, -0.5, 1.0) > R.heavy_ball_spectral_radius(0.3, 0.0, 1.0)


@pytest.mark.parametrize("radius", [R.heavy_ball_spectral_radius, R.nesterov_spectral_radius])
def test_worst_rate_over_an_interval_is_at_an_end(radius):
    lam = np.linspace(0.1, 2.0, 2001)
    for lr, mu in RNG.uniform([0.05, 0.0], [1.3, 0.99], size=(60, 2)):
        rho = radius(lr, mu, lam)
        assert rho.max() <= max(rho[0], rho[-1]) * (1 + 1e-12)


def _numerical_optimum(radius, lmin, lmax, starts):
    def worst(p):
        return float(max(radius(abs(p[0]), p[1], lmin), radius(abs(p[0]), p[1], lmax)))
    runs = [minimize(worst, s, method="Nelder-Mead", options={"xatol": 1e-12, "fatol": 1e-15,
                                                              "maxiter": 5000}) for s in starts]
    return min(runs, key=lambda r: r.fun)


@pytest.mark.parametrize("kappa", [2.0, 20.0, 300.0])
def test_polyak_setting_is_optimal_and_has_double_roots(kappa):
    lmin, lmax = 2.0 / kappa, 2.0
    lr, mu, rate = R.heavy_ball_optimal(lmin, lmax)
    s = np.sqrt(kappa)
    assert rate == pytest.approx((s - 1) / (s + 1), rel=1e-14) and mu == pytest.approx(rate ** 2)
    assert float(R.heavy_ball_rate(lr, mu, [lmin, lmax])) == pytest.approx(rate, rel=1e-7)
    for lam in (lmin, lmax):                                       # double roots at both ends
        assert abs(_discriminants(lr * lam, mu)[0]) < 1e-12
    best = _numerical_optimum(R.heavy_ball_spectral_radius, lmin, lmax,
                              [[lr * f, min(mu * g, 0.999)] for f in (0.8, 1.2) for g in (0.7, 1.1)])
    assert best.fun >= rate * (1 - 1e-6)                           # nothing on the grid beats it
    assert best.fun == pytest.approx(rate, rel=1e-5)
    assert float(R.first_order_lower_bound(kappa)) == pytest.approx(rate, rel=1e-14)


@pytest.mark.parametrize("kappa", [2.0, 20.0, 100.0, 1e4])
def test_nesterov_optimal_setting_matches_a_numerical_minimisation(kappa):
    lmin, lmax = 1.0 / kappa, 1.0
    lr, mu, rate = R.nesterov_optimal(lmin, lmax)
    assert float(R.nesterov_rate(lr, mu, [lmin, lmax])) == pytest.approx(rate, rel=1e-7)
    starts = [[x, y] for x in np.linspace(0.6, 1.3, 5) for y in np.linspace(0.0, 0.98, 6)]
    best = _numerical_optimum(R.nesterov_spectral_radius, lmin, lmax, starts)
    assert best.fun == pytest.approx(rate, rel=1e-6)
    np.testing.assert_allclose([abs(best.x[0]), best.x[1]], [lr, mu], rtol=1e-4)
    # between heavy ball's optimum (the lower bound) and GD's
    assert R.first_order_lower_bound(kappa) < rate < (kappa - 1) / (kappa + 1)


def test_nesterov_standard_tuning_rate():
    for kappa in (4.0, 25.0, 1e3):
        lr, mu, rate = R.nesterov_standard(1.0, kappa)
        assert float(R.nesterov_rate(lr, mu, [1.0, kappa])) == pytest.approx(rate, rel=1e-7)
        assert rate == pytest.approx(1 - 1 / np.sqrt(kappa))


@pytest.mark.parametrize("cls, theory", [(Momentum, R.heavy_ball_rate), (Nesterov, R.nesterov_rate)])
def test_measured_rates_of_the_optimizers_match_the_theory(cls, theory):
    """run_grid runs a whole (eta, mu) grid of the real optimizer on the kappa = 20 bowl and fits
    the per-step rate of ||w_t - w*||; the spectral radius predicts it."""
    f = bowl(20)
    etas, mus = np.linspace(0.02, 2.1, 27), np.linspace(0.0, 0.98, 25)
    grid = run_grid(cls, f, np.array([-7.0, 2.0]), grid={"lr": etas, "momentum": mus}, steps=600)
    E, M = np.meshgrid(etas, mus, indexing="ij")
    th = theory(E, M, f.eigenvalues)
    conv = th < 0.995
    assert conv.sum() > 150 and (~conv).sum() > 150
    err = np.abs(grid.rate - th)
    assert np.max(err[conv]) < 3e-3
    # The fit over the last 300 of 600 steps is exact when one eigen-direction dominates with a
    # real root; an oscillating (complex) root, two directions of nearly equal rate, or a double
    # root (error t r^t) bias a straight-line fit of log d_t a little, but no more than this.
    radius = R.heavy_ball_spectral_radius if cls is Momentum else R.nesterov_spectral_radius
    rho = np.stack([radius(E, M, lam) for lam in f.eigenvalues])
    slow = f.eigenvalues[rho.argmax(axis=0)]
    disc = _discriminants(E * slow, M)[0 if cls is Momentum else 1]
    dominant = conv & (rho.max(axis=0) > 1.03 * rho.min(axis=0))
    assert (dominant & (disc > 0.05)).sum() > 50
    # (heavy ball's complex roots all have modulus sqrt(mu), so one never dominates the other)
    assert (dominant & (disc < -0.05)).sum() > (20 if cls is Nesterov else -1)
    assert np.max(err[dominant & (disc > 0.05)]) < 1e-9
    assert np.all(err[dominant & (disc < -0.05)] < 1e-3)
    # converges exactly where the theory says, away from the edge rho = 1
    away = np.abs(th - 1) > 0.01
    assert np.array_equal((grid.rate < 1)[away], (th < 1)[away])
    assert np.all(grid.diverged[th > 1.01] | (grid.rate[th > 1.01] > 1))


def test_kappa_sweep_measured_at_the_optimal_settings():
    """Heavy ball at Polyak's setting on bowls of kappa 2 .. 1e4 (each pair of coordinates of one
    stacked quadratic is one bowl with its own hyperparameters): the measured rate, fitted on
    d_t / (1 + t) because of the double root, equals (sqrt(kappa) - 1) / (sqrt(kappa) + 1)."""
    kappas = np.array([2.0, 20.0, 1e3, 1e4])
    lam = np.concatenate([[2 / k, 2.0] for k in kappas])
    settings = [R.heavy_ball_optimal(2 / k, 2.0) for k in kappas]
    lr = np.repeat([s[0] for s in settings], 2)
    mu = np.repeat([s[1] for s in settings], 2)
    T = 2000
    result = run(Momentum(lr, mu), Quadratic(np.diag(lam)), np.tile([-7.0, 2.0], len(kappas)),
                 max_steps=T)
    d = np.linalg.norm(result.trajectory.reshape(T + 1, len(kappas), 2), axis=2)
    t = np.arange(T + 1)
    for k, (_, _, rate) in enumerate(settings):
        assert R.measured_rate(d[:, k] / (1 + t), floor=1e-140) == pytest.approx(rate, abs=1e-4)
    # the stacked run is the same as one bowl on its own
    alone = run(Momentum(settings[1][0], settings[1][1]), bowl(20), [-7.0, 2.0], max_steps=50)
    np.testing.assert_allclose(result.trajectory[:51, 2:4], alone.trajectory, rtol=1e-12, atol=1e-14)


def test_pytorch_nesterov_runs_the_same_spectrum():
    # SGD(nesterov=True) iterates u = w + mu v; it has the same rate on the bowl
    f = bowl(20)
    etas = np.array([0.1, 0.3, 0.6, 1.0])
    grid = run_grid(SGD, f, np.array([-7.0, 2.0]), grid={"lr": etas}, steps=600,
                    fixed={"momentum": 0.7, "nesterov": True})
    np.testing.assert_allclose(grid.rate, R.nesterov_rate(etas, 0.7, f.eigenvalues), atol=1e-3)


@pytest.mark.parametrize("call, match", [
    (lambda: R.heavy_ball_spectral_radius(-0.1, 0.9, 1.0), r"lr \(learning rate\) must be >= 0"),
    (lambda: R.heavy_ball_rate(0.1, np.nan, [1.0]), r"mu \(momentum\) must be finite"),
    (lambda: R.nesterov_rate(0.1, 0.9, []), "eigenvalues must be a non-empty"),
    (lambda: R.heavy_ball_optimal(2.0, 1.0), "lambda_min <= lambda_max"),
    (lambda: R.nesterov_optimal(0.0, 1.0), "0 < lambda_min"),
    (lambda: R.heavy_ball_lr_limit(1.0, 2.0), r"mu \(momentum\) must be in \[0, 1\)"),
    (lambda: R.nesterov_lr_limit(0.5, -2.0), "lambda_max .* must be positive"),
    (lambda: R.first_order_lower_bound(0.5), "kappa .* must be >= 1"),
    (lambda: R.heavy_ball_matrix([0.1, 0.2], [0.9, 0.8, 0.7], 1.0), "must broadcast together"),
    (lambda: R.heavy_ball_converges("0.1", 0.9, 1.0), "lr .* must be a number"),
])
def test_bad_input_is_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---------------------------------------------------------------------------------------------
# momentum with L2 on the weights only (chapter 05, section 6), against torch.optim


def test_lecture_momentum_with_l2_on_weights_only_matches_torch_param_groups():
    """Nielsen's momentum + L2: v_w = mu v_w - eta (dC0/dw + lambda/n w), v_b = mu v_b - eta dC0/db.
    The course's lecture-form Momentum with two parameter groups, on the chapter's MLP, against
    torch.optim.SGD(momentum) with the same two groups, fed the gradient of the same network."""
    import torch

    from course_lib.data import make_two_moons
    from course_lib.nn import MLP

    X, y = make_two_moons(n=60, noise=0.25, seed=3)
    net = MLP([2, 8, 2], activation="tanh", seed=4)
    wd = 0.05
    weights = [k for k in net.params if k.startswith("W")]
    biases = [k for k in net.params if k.startswith("b")]
    ours = Momentum(lr=0.2, momentum=0.9, param_groups=[{"params": weights, "weight_decay": wd},
                                                        {"params": biases, "weight_decay": 0.0}])
    start = {k: v.copy() for k, v in net.params.items()}
    tparams = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in start.items()}
    topt = torch.optim.SGD([{"params": [tparams[k] for k in weights], "weight_decay": wd},
                            {"params": [tparams[k] for k in biases], "weight_decay": 0.0}],
                           lr=0.2, momentum=0.9)
    plain = Momentum(lr=0.2, momentum=0.9)                  # the same without any decay
    plain_params = {k: v.copy() for k, v in start.items()}
    for _ in range(25):
        _, grads = net.loss_and_grads(X, y)                 # at our parameters
        ours.step(net.params, {k: g.copy() for k, g in grads.items()})
        probe = MLP([2, 8, 2], activation="tanh", seed=4)   # the same network at torch's parameters
        probe.set_params({k: t.detach().numpy().copy() for k, t in tparams.items()})
        _, tgrads = probe.loss_and_grads(X, y)
        for k, t in tparams.items():
            t.grad = torch.tensor(tgrads[k], dtype=torch.float64)
        topt.step()
        probe.set_params(plain_params)
        _, pgrads = probe.loss_and_grads(X, y)
        plain.step(plain_params, pgrads)
    for k in net.params:
        np.testing.assert_allclose(net.params[k], tparams[k].detach().numpy(), rtol=1e-12, atol=1e-14)
    # the decay acted on the weights and not directly on the biases: one step from the same state
    # differs from the undecayed step by exactly -lr * wd * w for weights and by 0 for biases
    state = {k: v.copy() for k, v in net.params.items()}
    _, grads = net.loss_and_grads(X, y)
    a = Momentum(lr=0.2, momentum=0.0, param_groups=[{"params": weights, "weight_decay": wd},
                                                      {"params": biases, "weight_decay": 0.0}])
    b = Momentum(lr=0.2, momentum=0.0)
    pa, pb = {k: v.copy() for k, v in state.items()}, {k: v.copy() for k, v in state.items()}
    a.step(pa, {k: g.copy() for k, g in grads.items()})
    b.step(pb, {k: g.copy() for k, g in grads.items()})
    for k in weights:
        np.testing.assert_allclose(pa[k] - pb[k], -0.2 * wd * state[k], rtol=1e-10, atol=1e-15)
    for k in biases:
        np.testing.assert_array_equal(pa[k], pb[k])
    assert np.linalg.norm(net.params["W1"]) < np.linalg.norm(plain_params["W1"])
