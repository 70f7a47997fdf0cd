"""Tests for course_lib.minibatch: the batches against torch's DataLoader / BatchSampler and the
definition (e-th epoch = e-th rng.permutation(n)), the training loop against hand-written loops,
torch.optim on the same batches, and the runner's full-batch GD (same iterates, same divergence
message), the noise model against its closed forms."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from course_lib.data import make_linear_regression
from course_lib._progress import person_waits
from course_lib.minibatch import (MiniBatches, NoisySum, _batch_gradient, batches,
                                  iterations_per_epoch, train)
from course_lib.objectives import LinearRegressionMSE, MultiMinima, MultiMinima1D, Saddle
from course_lib.optim import SGD, Adam, DivergenceError, Momentum, Nesterov
from course_lib.optim.schedules import cosine, inverse_time
from course_lib.runner import run


def _problem(n=53, d=3, seed=1):
    X, y, _ = make_linear_regression(n=n, d=d, noise=0.5, seed=seed)
    return LinearRegressionMSE(X, y)


# ----------------------------------------------------------------------------------------------
# batches
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 7, 10, 12, 64, 100])
@pytest.mark.parametrize("b", [1, 3, 4, 10, 32, 128])
@pytest.mark.parametrize("drop_last", [False, True])
def test_iterations_per_epoch_is_torchs_len(n, b, drop_last):
    if drop_last and b > n:
        assert iterations_per_epoch(n, b, drop_last) == 0
        return
    loader = torch.utils.data.DataLoader(torch.arange(n), batch_size=b, drop_last=drop_last)
    assert iterations_per_epoch(n, b, drop_last) == len(loader) == (n // b if drop_last else math.ceil(n / b))
    mb = MiniBatches(n, b, drop_last=drop_last, seed=0)
    assert len(mb) == len(mb.epoch()) == len(loader)


@pytest.mark.parametrize("n,b", [(10, 4), (12, 4), (23, 5), (5, 8), (9, 1)])
@pytest.mark.parametrize("drop_last", [False, True])
def test_batches_are_torchs_batch_sampler(n, b, drop_last):
    order = np.random.default_rng(n * b).permutation(n)
    ours = batches(order, b, drop_last)
    theirs = list(torch.utils.data.BatchSampler(order.tolist(), b, drop_last))
    assert [x.tolist() for x in ours] == theirs
    sizes = [x.size for x in ours]
    if not drop_last:
        assert sum(sizes) == n and sizes[:-1] == [b] * (len(sizes) - 1) and 0 < sizes[-1] <= b


def test_fixed_sampling_is_dataloader_without_shuffle():
    loader = torch.utils.data.DataLoader(torch.arange(23), batch_size=5, shuffle=False)
    mb = MiniBatches(23, 5, sampling="fixed")
    for _ in range(3):
        assert [x.tolist() for x in mb.epoch()] == [t.tolist() for t in loader]


def test_reshuffle_draws_the_eth_permutation_of_the_seeded_generator():
    n, b, seed = 23, 5, 7
    mb = MiniBatches(n, b, seed=seed)
    rng = np.random.default_rng(seed)
    orders = []
    for _ in range(4):
        expected = rng.permutation(n)
        got = mb.epoch()
        assert np.array_equal(np.concatenate(got), expected)
        assert sorted(np.concatenate(got).tolist()) == list(range(n))     # a partition
        orders.append(np.concatenate(got))
    assert mb.epochs_drawn == 4
    assert len({tuple(o) for o in orders}) == 4                            # a fresh order each epoch
    mb.reset()
    assert np.array_equal(np.concatenate(mb.epoch()), orders[0])


def test_shuffle_once_and_replacement():
    once = MiniBatches(17, 4, sampling="shuffle_once", seed=3)
    first = np.concatenate(once.epoch())
    assert np.array_equal(first, np.random.default_rng(3).permutation(17))
    for _ in range(3):
        assert np.array_equal(np.concatenate(once.epoch()), first)
    rep = MiniBatches(17, 4, sampling="replacement", seed=3)
    rng = np.random.default_rng(3)
    for _ in range(2):
        got = rep.epoch()
        assert [x.size for x in got] == [4, 4, 4, 4, 1]
        assert np.array_equal(np.concatenate(got), rng.integers(0, 17, size=17))
    assert len(set(np.concatenate(MiniBatches(200, 10, sampling="replacement").epoch()).tolist())) < 200


def test_chains_are_the_single_streams():
    seeds = [4, 9, 11]
    chains = MiniBatches(20, 6, seed=seeds)
    singles = [MiniBatches(20, 6, seed=s) for s in seeds]
    for _ in range(3):
        got = chains.epoch()
        alone = [m.epoch() for m in singles]
        assert [x.shape for x in got] == [(3, 6), (3, 6), (3, 6), (3, 2)]
        for k in range(3):
            for j, x in enumerate(got):
                assert np.array_equal(x[k], alone[k][j])


def test_drop_last_keeps_only_full_batches():
    mb = MiniBatches(10, 4, drop_last=True, seed=1)
    got = mb.epoch()
    assert [x.size for x in got] == [4, 4] and len(mb) == 2
    assert len(set(np.concatenate(got).tolist())) == 8


@pytest.mark.parametrize("kwargs,match", [
    ({"n": 0, "batch_size": 1}, r"n \(number of samples\) must be >= 1, got 0"),
    ({"n": 5, "batch_size": 0}, r"batch_size \(b\) must be >= 1, got 0"),
    ({"n": 5, "batch_size": 2.0}, r"batch_size \(b\) must be a whole number, got 2.0"),
    ({"n": 5, "batch_size": 2, "sampling": "random"}, r"sampling must be one of 'reshuffle'"),
    ({"n": 5, "batch_size": 8, "drop_last": True}, r"leaves no batch at all"),
    ({"n": 5, "batch_size": 2, "drop_last": 1}, r"drop_last must be True or False"),
    ({"n": 5, "batch_size": 2, "seed": [1.5]}, r"seed must be a whole number or a non-empty sequence"),
])
def test_minibatches_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MiniBatches(**kwargs)


# ----------------------------------------------------------------------------------------------
# NoisySum
# ----------------------------------------------------------------------------------------------

def test_noisy_sum_is_the_objective_plus_centred_shifts():
    base = MultiMinima()
    f = NoisySum(base, n=40, noise=2.5, seed=3)
    assert np.abs(f.shifts.mean(axis=0)).max() < 1e-12
    assert np.allclose(np.sqrt(np.mean(f.shifts ** 2, axis=0)), 2.5, rtol=1e-12)
    w = np.array([0.3, -1.2])
    per_sample = np.array([base.grad(w) + f.shifts[i] for i in range(40)])   # written out
    idx = np.array([5, 5, 17, 0])
    assert np.allclose(f.batch_grad(w, idx), per_sample[idx].mean(axis=0), rtol=1e-12, atol=1e-12)
    assert np.allclose(f.batch_grad(w, np.arange(40)), base.grad(w), atol=1e-12)
    assert np.allclose(f.sample_losses(w).mean(), base.value(w), atol=1e-12)
    W = np.array([[0.0, 1.0], [2.0, -1.0]])
    assert np.allclose(f.batch_grad(W, np.array([[1, 2], [3, 4]])),
                       base.grad(W) + np.stack([f.shifts[[1, 2]].mean(0), f.shifts[[3, 4]].mean(0)]))
    assert f.minimizer is base.minimizer and f.min_value == base.min_value
    with pytest.raises(ValueError, match=r"idx must hold row indices in \[0, n\) = \[0, 40\), got 40"):
        f.batch_grad(w, [40])


def test_noisy_sum_batch_noise_variance_without_replacement():
    """E ||g_B - grad f||^2 over all batches of size b = noise^2 d (n - b) / (b (n - 1))."""
    from itertools import combinations
    f = NoisySum(Saddle(), n=9, noise=1.5, seed=0)
    w = np.array([0.2, 0.1])
    for b in (1, 2, 4, 9):
        dev = [np.sum((f.batch_grad(w, list(B)) - f.grad(w)) ** 2) for B in combinations(range(9), b)]
        assert np.mean(dev) == pytest.approx(1.5 ** 2 * 2 * (9 - b) / (b * 8), rel=1e-12, abs=1e-12)


# ----------------------------------------------------------------------------------------------
# train: against independent loops
# ----------------------------------------------------------------------------------------------

def test_fast_linear_regression_gradient_is_batch_grad():
    obj = _problem()
    g = _batch_gradient(obj)
    rng = np.random.default_rng(0)
    w, W = rng.normal(size=3), rng.normal(size=(4, 3))
    idx, IDX = rng.permutation(53)[:7], np.stack([rng.permutation(53)[:7] for _ in range(4)])
    assert np.allclose(g(w, idx), obj.batch_grad(w, idx), rtol=1e-12, atol=1e-14)
    assert np.allclose(g(W, IDX), obj.batch_grad(W, IDX), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("b,drop_last", [(1, False), (10, False), (10, True), (53, False)])
def test_sgd_matches_a_hand_written_loop(b, drop_last):
    obj = _problem()
    X, y = obj.X, obj.y
    res = train(SGD(lr=0.05), obj, np.zeros(3), batch_size=b, epochs=3, drop_last=drop_last, seed=5)
    rng = np.random.default_rng(5)
    w, losses, t = np.zeros(3), [obj.value(np.zeros(3))], 0
    for _ in range(3):
        perm = rng.permutation(53)
        stop = (53 // b) * b if drop_last else 53
        for i in range(0, stop, b):
            B = perm[i:i + b]
            w = w - 0.05 * (-2.0 / len(B) * X[B].T @ (y[B] - X[B] @ w))
            losses.append(np.mean((y - X @ w) ** 2))
            t += 1
    assert res.iterations == t == 3 * iterations_per_epoch(53, b, drop_last)
    assert res.epochs == 3 and res.iterations_per_epoch == iterations_per_epoch(53, b, drop_last)
    assert np.allclose(res.final_w, w, rtol=1e-12, atol=1e-14)
    assert np.allclose(res.losses, losses, rtol=1e-12)
    assert res.samples[-1] == 3 * (53 if not drop_last else (53 // b) * b)
    assert np.array_equal(res.steps, np.arange(t + 1))
    ends = [0] + [e * res.iterations_per_epoch for e in (1, 2, 3)]
    assert np.allclose(res.epoch_losses, res.losses[ends], rtol=0, atol=0)
    assert res.stop_reason == "completed" and not res.diverged
    assert res.message.startswith(f"{t} iterations = 3 epochs of {res.iterations_per_epoch} iterations")


def test_momentum_and_adam_match_torch_optim_on_the_same_batches():
    obj = _problem(n=40, d=3, seed=2)
    X, y = torch.tensor(obj.X), torch.tensor(obj.y)
    sched = cosine(0.05, 30)
    for ours, make in [(Momentum(lr=0.05, momentum=0.9, form="pytorch"),
                        lambda p: torch.optim.SGD([p], lr=0.05, momentum=0.9)),
                       (Adam(lr=0.05), lambda p: torch.optim.Adam([p], lr=0.05))]:
        res = train(ours, obj, np.zeros(3), batch_size=8, epochs=6, seed=3, schedule=sched)
        p = torch.zeros(3, dtype=torch.float64, requires_grad=True)
        opt = make(p)
        mb = MiniBatches(40, 8, seed=3)
        t = 0
        for _ in range(6):
            for idx in mb:
                t += 1
                for group in opt.param_groups:
                    group["lr"] = sched(t)
                opt.zero_grad()
                B = torch.as_tensor(idx)
                torch.mean((y[B] - X[B] @ p) ** 2).backward()
                opt.step()
        assert t == res.iterations == 30
        assert np.allclose(res.final_w, p.detach().numpy(), rtol=1e-12, atol=1e-14), type(ours).__name__
        assert np.allclose(res.lrs, [sched(s) for s in range(1, 31)], rtol=0, atol=0)
        assert ours.lr == 0.05                      # restored after the run


def test_nesterov_lookahead_gradient_point_is_used():
    obj = _problem(n=20, d=2, seed=4)
    res = train(Nesterov(lr=0.02, momentum=0.9), obj, np.ones(2), batch_size=5, epochs=2, seed=1)
    rng = np.random.default_rng(1)
    w, v = np.ones(2), np.zeros(2)
    for _ in range(2):
        perm = rng.permutation(20)
        for i in range(0, 20, 5):
            B = perm[i:i + 5]
            ahead = w + 0.9 * v
            g = -2.0 / 5 * obj.X[B].T @ (obj.y[B] - obj.X[B] @ ahead)
            v = 0.9 * v - 0.02 * g
            w = w + v
    assert np.allclose(res.final_w, w, rtol=1e-12, atol=1e-14)


def test_full_batch_training_is_the_runners_gradient_descent():
    obj = _problem()
    ours = train(SGD(lr=0.1), obj, np.zeros(3), batch_size=obj.n, sampling="fixed", epochs=25)
    ref = run(SGD(lr=0.1), obj, np.zeros(3), max_steps=25)
    assert ours.iterations_per_epoch == 1 and ours.iterations == ours.epochs == 25
    assert np.allclose(ours.trajectory, ref.trajectory, rtol=1e-12, atol=1e-14)
    assert np.allclose(ours.losses, ref.losses, rtol=1e-12)


def test_divergence_stops_with_the_runners_message():
    obj = _problem()
    ours = train(SGD(lr=5.0), obj, np.zeros(3), batch_size=obj.n, sampling="fixed", epochs=100)
    ref = run(SGD(lr=5.0), obj, np.zeros(3), max_steps=100)
    assert ours.diverged and ref.diverged and ours.stop_reason == "diverged"
    assert ours.message == ref.message, (ours.message, ref.message)
    assert ours.diverged_at == ref.diverged_at
    assert np.all(np.isfinite(ours.losses)) and np.allclose(ours.trajectory, ref.trajectory, rtol=1e-12)


def test_unbounded_objective_is_named():
    res = train(SGD(lr=0.2), NoisySum(Saddle(), n=10, noise=0.5), np.array([1.0, 0.1]), epochs=100)
    assert res.diverged and "the objective may be unbounded below" in res.message


class _Exploding:
    """An optimizer that raises a DivergenceError carrying the attributes of the optimizer protocol."""

    lr = 0.1

    def reset(self):
        self.t = 0

    def step(self, params, grads):
        self.t += 1
        if self.t == 4:
            raise DivergenceError("some words the loop must not parse", step=4, key="w",
                                  quantity="gradient", value=float("nan"))
        params["w"] -= self.lr * grads["w"]


def test_optimizer_divergence_is_read_from_the_error_attributes():
    res = train(_Exploding(), _problem(), np.zeros(3), batch_size=5, epochs=2)
    assert res.diverged and res.iterations == 4 and res.diverged_at == 4
    assert res.message == ("diverged at step 4 (the optimizer reported: gradient for 'w' contains "
                           "NaN/inf); try a smaller learning rate (lr = 0.1)")
    assert "must not parse" not in res.message
    assert res.steps[-1] == 3


def test_real_optimizer_divergence_error_stops_the_run():
    f = NoisySum(MultiMinima1D(), n=10, noise=1.0)
    res = train(SGD(lr=10.0), f, np.array([3.0]), epochs=50, divergence_threshold=1e300)
    assert res.diverged and res.message.startswith(f"diverged at step {res.diverged_at} (")
    assert np.all(np.isfinite(res.final_w))


def test_chains_are_independent_runs_and_a_diverged_chain_is_frozen():
    obj = _problem()
    lr = np.array([0.01, 0.05, 3.0])[:, None]
    res = train(SGD(lr=lr), obj, np.zeros((3, 3)), batch_size=10, epochs=4, seed=[3, 4, 6])
    assert res.chains == 3 and res.losses.shape == (3, res.steps.size)
    assert res.trajectory.shape == (3, res.steps.size, 3) and res.epoch_losses.shape == (3, 5)
    for k, (eta, seed) in enumerate([(0.01, 3), (0.05, 4)]):
        alone = train(SGD(lr=eta), obj, np.zeros(3), batch_size=10, epochs=4, seed=seed)
        assert np.allclose(res.trajectory[k], alone.trajectory, rtol=1e-12, atol=1e-14)
    alone = train(SGD(lr=3.0), obj, np.zeros(3), batch_size=10, epochs=4, seed=6)
    t = alone.diverged_at
    assert res.diverged and list(res.diverged_at) == [-1, -1, t]
    assert np.all(np.isinf(res.losses[2, t + 1:])) and np.isfinite(res.losses[2, t])
    assert np.allclose(res.final_w[2], alone.final_w) and np.allclose(res.trajectory[2, :t + 1], alone.trajectory)
    assert f"1 of 3 chains diverged (the first at step {t})" in res.message
    assert SGD(lr=lr).check_finite is True


def test_chain_seed_shorthand_and_per_chain_schedule():
    obj = _problem()
    table = np.array([[0.1, 0.05], [0.02, 0.01]])          # (T, K)
    res = train(SGD(lr=1.0), obj, np.zeros((2, 3)), batch_size=26, iterations=2, seed=10,
                schedule=lambda t: table[t - 1])
    assert np.array_equal(res.lrs, table)
    for k in range(2):
        alone = train(SGD(lr=1.0), obj, np.zeros(3), batch_size=26, iterations=2, seed=10 + k,
                      schedule=lambda t: float(table[t - 1, k]))
        assert np.allclose(res.final_w[k], alone.final_w, rtol=1e-12)


def test_iterations_inside_an_epoch_eval_every_and_callback():
    obj = _problem()
    res = train(SGD(lr=0.05), obj, np.zeros(3), batch_size=10, iterations=15, eval_every=4, seed=0)
    assert res.iterations == 15 and res.epochs == 2 and res.iterations_per_epoch == 6
    assert res.steps.tolist() == [0, 4, 6, 8, 12, 15]       # every 4th, the epoch ends 6 and 12, the last
    assert res.epoch_losses.shape == (3,) and res.samples.tolist() == [0, 40, 53, 73, 106, 136]
    assert "15 iterations = 2.5 epochs of 6 iterations" in res.message
    seen = []
    stopped = train(SGD(lr=0.05), obj, np.zeros(3), batch_size=10, epochs=5, seed=0,
                    callback=lambda t, w, loss: seen.append(t) or t >= 7)
    assert stopped.stop_reason == "callback" and stopped.iterations == 7 and seen == list(range(1, 8))
    assert np.allclose(stopped.final_w, train(SGD(lr=0.05), obj, np.zeros(3), batch_size=10,
                                              iterations=7, seed=0).final_w, rtol=0, atol=0)


def test_noise_ball_matches_the_first_order_theory():
    """For small constant eta, E||w_t - w*||^2 -> eta/2 tr(H^-1 Sigma) (Lyapunov equation, first order)."""
    X, y, _ = make_linear_regression(n=400, d=2, noise=0.5, seed=3, unit_norm=True)
    obj = LinearRegressionMSE(X, y)
    G = obj.per_sample_grads(obj.minimizer)
    theory = 0.5 * np.trace(np.linalg.solve(obj.hessian(obj.minimizer), G.T @ G / obj.n))
    eta = 0.02
    res = train(SGD(lr=eta), obj, np.tile(obj.minimizer, (40, 1)), iterations=3000, eval_every=10,
                sampling="replacement", seed=0)
    err = np.sum((res.trajectory - obj.minimizer) ** 2, axis=-1)[:, res.steps >= 1000].mean()
    assert err == pytest.approx(eta * theory, rel=0.15)


def test_a_person_waits_only_in_a_server_kernel_or_a_terminal(monkeypatch):
    import sys
    monkeypatch.delenv("PYTEST_CURRENT_TEST", raising=False)
    monkeypatch.delenv("COURSE_PROGRESS", raising=False)
    monkeypatch.setitem(sys.modules, "ipykernel", object())
    monkeypatch.setenv("JPY_SESSION_NAME", "notebooks/03_sgd.ipynb")      # JupyterLab's kernel
    assert person_waits() is True
    monkeypatch.setenv("COURSE_PROGRESS", "0")
    assert person_waits() is False
    monkeypatch.delenv("COURSE_PROGRESS")
    monkeypatch.delenv("JPY_SESSION_NAME")                                 # nbconvert / nbclient / nbval
    assert person_waits() is False
    monkeypatch.setenv("COURSE_PROGRESS", "1")
    assert person_waits() is True


def test_progress_bar_only_when_asked_or_when_a_person_waits(capsys):
    assert person_waits() is False                         # under pytest
    train(SGD(lr=0.01), _problem(), np.zeros(3), epochs=1)
    assert "it/s" not in capsys.readouterr().err
    train(SGD(lr=0.01), _problem(), np.zeros(3), epochs=3, progress=True)
    assert "0/159" in capsys.readouterr().err


@pytest.mark.parametrize("call,match", [
    (lambda o: train(SGD(lr=0.1), object(), np.zeros(3)), r"objective must have a value method"),
    (lambda o: train(SGD(lr=0.1), o, np.zeros(2)), r"w0 \(starting point\) must have shape \(3,\) or \(K, 3\)"),
    (lambda o: train(SGD(lr=0.1), o, np.zeros(3), epochs=2, iterations=3), r"give epochs or iterations, not both"),
    (lambda o: train(SGD(lr=0.1), o, np.zeros(3), epochs=0), r"epochs must be >= 1, got 0"),
    (lambda o: train(SGD(lr=0.1), o, np.zeros(3), seed=[1, 2]), r"seed holds 2 seeds"),
    (lambda o: train(SGD(lr=0.1), o, np.zeros((3, 3)), seed=[1, 2]), r"seed holds 2 seeds but w0 has 3 rows"),
    (lambda o: train(SGD(lr=0.1), o, np.zeros(3), schedule=lambda t: -0.1),
     r"schedule\(t\) must return a learning rate >= 0, got -0.1 at step t = 1"),
    (lambda o: train(SGD(lr=0.1), o, np.zeros(3), schedule=lambda t: [0.1, 0.2]),
     r"schedule\(t\) must return a learning rate \(a number\)"),
    (lambda o: train(SGD(lr=0.1), o, np.array([np.nan, 0, 0])), r"w0 \(starting point\) must contain only finite"),
    (lambda o: train(SGD(lr=0.1), o, np.zeros(3), batch_size=0), r"batch_size \(b\) must be >= 1"),
])
def test_train_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call(_problem())
