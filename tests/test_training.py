"""course_lib.training: the loop is checked against an independent NumPy computation of softmax
regression (gradient of the mean cross-entropy by hand), early stopping against the recorded
history, CourseOptimizer against torch.optim (the same curves), and the range test against its
definition."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from course_lib import optim as co
from course_lib.training import (CourseOptimizer, History, configure_torch, count_parameters, evaluate, lr_range_test,
                                 lr_sweep, mlp, optimizer_state_numel, train)

configure_torch(1)


@pytest.fixture(scope="module")
def blobs():
    """Three Gaussian classes in 5-D, split 120 / 60 (a small problem that trains in milliseconds)."""
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=2.0, size=(3, 5))
    y = rng.integers(0, 3, size=180)
    X = centres[y] + rng.normal(size=(180, 5))
    return X[:120], y[:120], X[120:], y[120:]


def _softmax_regression_step(W, b, X, y, lr):
    """One full-batch GD step on the mean cross-entropy of logits X W^T + b, by hand in NumPy."""
    Z = X @ W.T + b
    Z -= Z.max(axis=1, keepdims=True)
    P = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
    P[np.arange(len(y)), y] -= 1.0            # dL/dZ = (softmax - onehot) / n
    P /= len(y)
    return W - lr * P.T @ X, b - lr * P.sum(axis=0)


def test_full_batch_training_is_gradient_descent_on_the_cross_entropy(blobs):
    X, y, Xv, yv = blobs
    model = mlp([5, 3], seed=1)
    W, b = (p.detach().numpy().copy() for p in model.parameters())
    hist = train(model, torch.optim.SGD(model.parameters(), lr=0.5), X, y, Xv, yv, epochs=4, batch_size=len(y))
    for _ in range(4):
        W, b = _softmax_regression_step(W, b, X, y, 0.5)
    np.testing.assert_allclose(model[0].weight.detach().numpy(), W, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(model[0].bias.detach().numpy(), b, rtol=1e-12, atol=1e-14)
    assert hist.steps == 4 and hist.epoch == [0, 1, 2, 3, 4]


def test_history_records_losses_accuracies_and_steps(blobs):
    X, y, Xv, yv = blobs
    model = mlp([5, 16, 3], seed=0)
    hist = train(model, torch.optim.Adam(model.parameters(), lr=0.01), X, y, Xv, yv, epochs=6, batch_size=32)
    assert hist.epoch == list(range(7))
    assert len(hist.train_loss) == len(hist.val_acc) == len(hist.lr) == 7
    assert hist.steps == 6 * math.ceil(120 / 32) == len(hist.step_grad_norm) == len(hist.step_time)
    assert math.isnan(hist.lr[0]) and hist.lr[1:] == [0.01] * 6
    assert hist.train_loss[-1] < hist.train_loss[0]
    assert np.all(np.diff(hist.step_time) >= 0)
    # the recorded final numbers are those of the model as it is now
    loss, acc = evaluate(model, Xv, yv)
    assert loss == pytest.approx(hist.val_loss[-1], rel=1e-12) and acc == hist.val_acc[-1]
    assert 0 <= acc <= 1 and acc * len(yv) == round(acc * len(yv))
    # the gradient norm is that of the whole gradient at the first step
    fresh = mlp([5, 16, 3], seed=0)
    order = np.random.default_rng(0).permutation(120)[:32]
    torch.nn.functional.cross_entropy(fresh(torch.as_tensor(X[order])), torch.as_tensor(y[order])).backward()
    g = torch.cat([p.grad.ravel() for p in fresh.parameters()])
    assert hist.step_grad_norm[0] == pytest.approx(float(g.norm()), rel=1e-12)


def test_training_is_deterministic_with_a_seed(blobs):
    X, y, Xv, yv = blobs
    runs = []
    for _ in range(2):
        model = mlp([5, 8, 3], seed=3)
        runs.append(train(model, torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), X, y, Xv, yv,
                          epochs=3, batch_size=16, seed=7).step_loss)
    assert runs[0] == runs[1]
    model = mlp([5, 8, 3], seed=3)
    other = train(model, torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), X, y, Xv, yv,
                  epochs=3, batch_size=16, seed=8).step_loss
    assert other != runs[0]                 # another seed, another mini-batch order
    assert mlp([5, 8, 3], seed=3)[0].weight.equal(mlp([5, 8, 3], seed=3)[0].weight)
    assert not mlp([5, 8, 3], seed=4)[0].weight.equal(mlp([5, 8, 3], seed=3)[0].weight)


def test_early_stopping_restores_the_best_weights(blobs):
    X, y, Xv, yv = blobs
    # a large network, tiny noisy data and a large rate: the validation loss turns up quickly
    rng = np.random.default_rng(1)
    Xn = X[:30] + rng.normal(scale=3.0, size=(30, 5))
    model = mlp([5, 128, 3], seed=0)
    hist = train(model, torch.optim.Adam(model.parameters(), lr=0.03), Xn, y[:30], Xv, yv, epochs=200,
                 batch_size=10, patience=5)
    assert hist.stopped_early and hist.restored_best
    k = hist.epoch.index(hist.best_epoch)
    assert hist.epochs_run == hist.best_epoch + 5
    assert hist.val_loss[k] == min(hist.val_loss)
    assert evaluate(model, Xv, yv)[0] == pytest.approx(hist.best_val_loss, rel=1e-12)
    assert evaluate(model, Xv, yv)[0] < hist.val_loss[-1]
    assert hist.best == hist.at(hist.best_epoch) and "stopped early" in repr(hist)


def test_schedulers_step_per_epoch_per_step_and_on_plateau(blobs):
    X, y, Xv, yv = blobs
    model = mlp([5, 3], seed=0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    hist = train(model, opt, X, y, Xv, yv, epochs=4, scheduler=torch.optim.lr_scheduler.StepLR(opt, 2, 0.5))
    assert hist.lr[1:] == [0.1, 0.1, 0.05, 0.05]
    model = mlp([5, 3], seed=0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.5, total_steps=2 * 4)
    train(model, opt, X, y, epochs=2, batch_size=32, scheduler=sched, scheduler_interval="step")
    assert sched.last_epoch == 8
    model = mlp([5, 3], seed=0)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)   # the loss never halves -> the plateau rule fires
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, factor=0.5, threshold=0.5)
    hist = train(model, opt, X, y, Xv, yv, epochs=3, scheduler=sched)
    assert hist.lr[3] < hist.lr[1]


def test_a_diverging_run_says_so(blobs):
    X, y, Xv, yv = blobs
    model = mlp([5, 64, 3], seed=0)
    with pytest.raises(FloatingPointError, match="diverged.*smaller learning rate"):
        train(model, torch.optim.SGD(model.parameters(), lr=1e150), X * 1e150, y, epochs=5)


@pytest.mark.parametrize("kwargs, words", [
    ({"epochs": 0}, "epochs"), ({"batch_size": 0}, "batch_size"), ({"patience": 0}, "patience"),
    ({"scheduler_interval": "batch"}, "scheduler_interval"), ({"clip_grad_norm": -1.0}, "clip_grad_norm"),
])
def test_bad_arguments_are_named(blobs, kwargs, words):
    X, y, Xv, yv = blobs
    model = mlp([5, 3])
    with pytest.raises(ValueError, match=words):
        train(model, torch.optim.SGD(model.parameters(), lr=0.1), X, y, Xv, yv, **kwargs)


def test_other_bad_input(blobs):
    X, y, Xv, yv = blobs
    model = mlp([5, 3])
    with pytest.raises(ValueError, match="needs validation data"):
        train(model, torch.optim.SGD(model.parameters(), lr=0.1), X, y, patience=3)
    with pytest.raises(ValueError, match="CourseOptimizer"):
        train(model, co.Adam(lr=0.1), X, y)
    with pytest.raises(ValueError, match="same"):
        train(model, torch.optim.SGD(model.parameters(), lr=0.1), X, y[:-1])
    with pytest.raises(ValueError, match="activation"):
        mlp([5, 3], activation="gelu")
    with pytest.raises(ValueError, match="sizes"):
        mlp([5])


def test_clipping_bounds_the_step(blobs):
    X, y, Xv, yv = blobs
    model = mlp([5, 3], seed=0)
    before = torch.cat([p.detach().ravel().clone() for p in model.parameters()])
    hist = train(model, torch.optim.SGD(model.parameters(), lr=1.0), X * 100, y, epochs=1, batch_size=120,
                 clip_grad_norm=0.01)
    after = torch.cat([p.detach().ravel() for p in model.parameters()])
    assert hist.step_grad_norm[0] > 1.0                       # recorded before clipping
    assert float((after - before).norm()) == pytest.approx(0.01, rel=1e-6)   # torch divides by norm + 1e-6


# ---------------------------------------------------------------------------------------------
# the course's optimizers inside the loop


PAIRS = [
    ("SGD", lambda p: torch.optim.SGD(p, lr=0.1), lambda: co.SGD(lr=0.1)),
    ("momentum", lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9), lambda: co.SGD(lr=0.05, momentum=0.9)),
    ("nesterov", lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True),
     lambda: co.SGD(lr=0.05, momentum=0.9, nesterov=True)),
    ("Adagrad", lambda p: torch.optim.Adagrad(p, lr=0.05), lambda: co.Adagrad(lr=0.05)),
    ("RMSprop", lambda p: torch.optim.RMSprop(p, lr=0.003), lambda: co.RMSprop(lr=0.003)),
    ("Adam", lambda p: torch.optim.Adam(p, lr=0.003), lambda: co.Adam(lr=0.003)),
    ("Adam wd", lambda p: torch.optim.Adam(p, lr=0.003, weight_decay=0.01), lambda: co.Adam(lr=0.003, weight_decay=0.01)),
]


@pytest.mark.parametrize("name, make_torch, make_course", PAIRS, ids=[p[0] for p in PAIRS])
def test_course_optimizers_give_torch_optims_curves(blobs, name, make_torch, make_course):
    X, y, Xv, yv = blobs
    m1, m2 = mlp([5, 16, 3], seed=2), mlp([5, 16, 3], seed=2)
    h1 = train(m1, make_torch(m1.parameters()), X, y, Xv, yv, epochs=5, batch_size=25, seed=1)
    h2 = train(m2, CourseOptimizer(m2.parameters(), make_course()), X, y, Xv, yv, epochs=5, batch_size=25, seed=1)
    np.testing.assert_allclose(h2.step_loss, h1.step_loss, rtol=1e-10)
    for p1, p2 in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_allclose(p2.detach().numpy(), p1.detach().numpy(), rtol=1e-9, atol=1e-12)


def test_course_optimizer_follows_a_torch_scheduler(blobs):
    X, y, Xv, yv = blobs
    m1, m2 = mlp([5, 3], seed=0), mlp([5, 3], seed=0)
    o1 = torch.optim.Adam(m1.parameters(), lr=0.05)
    o2 = CourseOptimizer(m2.parameters(), co.Adam(lr=0.05))
    h1 = train(m1, o1, X, y, epochs=4, scheduler=torch.optim.lr_scheduler.StepLR(o1, 1, 0.5))
    h2 = train(m2, o2, X, y, epochs=4, scheduler=torch.optim.lr_scheduler.StepLR(o2, 1, 0.5))
    assert h2.lr == h1.lr and o2.course.lr == pytest.approx(0.05 / 8)
    np.testing.assert_allclose(h2.step_loss, h1.step_loss, rtol=1e-10)


def test_course_optimizer_updates_the_torch_parameters_in_place():
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0], dtype=torch.float64))
    opt = CourseOptimizer([p], co.SGD(lr=0.5))
    p.grad = torch.tensor([2.0, 4.0], dtype=torch.float64)
    opt.step()
    assert p.detach().tolist() == [0.0, -4.0]
    assert "SGD" in repr(opt)
    with pytest.raises(ValueError, match="course_lib.optim"):
        CourseOptimizer([p], "adam")
    two = CourseOptimizer([{"params": [p], "lr": 0.1},
                           {"params": [torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))], "lr": 0.2}],
                          co.SGD(lr=0.1))
    with pytest.raises(ValueError, match="one learning rate"):
        two.step()


def test_optimizer_state_numel_counts_the_extra_buffers(blobs):
    X, y, _, _ = blobs
    d = count_parameters(mlp([5, 16, 3]))
    assert d == 5 * 16 + 16 + 16 * 3 + 3
    expected = {"SGD": 0, "momentum": d, "nesterov": d, "Adagrad": d, "RMSprop": d, "Adam": 2 * d, "Adam wd": 2 * d}
    for name, make_torch, make_course in PAIRS:
        for make in (make_torch, lambda p: CourseOptimizer(p, make_course())):
            model = mlp([5, 16, 3])
            opt = make(model.parameters())
            train(model, opt, X, y, epochs=1)
            assert optimizer_state_numel(opt) == expected[name], name


# ---------------------------------------------------------------------------------------------
# choosing the learning rate


def test_range_test_follows_its_definition(blobs):
    X, y, _, _ = blobs
    res = lr_range_test(lambda: mlp([5, 16, 3], seed=0), lambda p, lr: torch.optim.SGD(p, lr=lr), X, y,
                        lr_min=1e-4, lr_max=1e3, steps=80, batch_size=20)
    k = np.arange(res.lrs.size)
    np.testing.assert_allclose(res.lrs, 1e-4 * (1e7) ** (k / 79), rtol=1e-12)
    assert res.diverged and res.lrs.size < 80          # a rate of 1e3 blows the loss up
    assert res.lr_at_min == res.lrs[np.argmin(res.smoothed)] and res.suggested == res.lr_at_min / 10
    assert 1e-2 < res.lr_at_min < 1e2
    # the smoothed curve is the bias-corrected exponential average of the raw losses
    avg = 0.0
    for i, loss in enumerate(res.losses):
        avg = 0.9 * avg + 0.1 * loss
        assert res.smoothed[i] == pytest.approx(avg / (1 - 0.9 ** (i + 1)), rel=1e-12)
    # a first loss equals the loss of the fresh model on its first mini-batch
    assert res.smoothed[0] == res.losses[0]
    assert "suggested lr" in repr(res)


def test_range_test_rejects_bad_rates(blobs):
    X, y, _, _ = blobs
    with pytest.raises(ValueError, match="lr_min < lr_max"):
        lr_range_test(lambda: mlp([5, 3]), lambda p, lr: torch.optim.SGD(p, lr=lr), X, y, lr_min=1.0, lr_max=0.1)
    with pytest.raises(ValueError, match="make_model"):
        lr_range_test(None, lambda p, lr: torch.optim.SGD(p, lr=lr), X, y)


def test_lr_sweep_trains_one_fresh_model_per_rate(blobs):
    X, y, Xv, yv = blobs
    hists = lr_sweep(lambda: mlp([5, 3], seed=0), lambda p, lr: torch.optim.SGD(p, lr=lr), [1e-3, 0.3], X, y, Xv, yv,
                     epochs=3)
    assert [h.lr[1] for h in hists] == [1e-3, 0.3]
    assert all(isinstance(h, History) for h in hists)
    assert hists[1].best_val_loss < hists[0].best_val_loss   # 1e-3 barely moves in 3 epochs
    with pytest.raises(ValueError, match="positive"):
        lr_sweep(lambda: mlp([5, 3]), lambda p, lr: torch.optim.SGD(p, lr=lr), [0.0], X, y, Xv, yv)


def test_no_progress_bar_under_pytest(blobs, capsys):
    X, y, _, _ = blobs
    model = mlp([5, 3])
    train(model, torch.optim.SGD(model.parameters(), lr=0.1), X, y, epochs=2)
    assert capsys.readouterr().err == ""
    train(model, torch.optim.SGD(model.parameters(), lr=0.1), X, y, epochs=2, progress=True, desc="demo")
    assert "demo" in capsys.readouterr().err


def test_progress_auto_rules(monkeypatch):
    from course_lib._progress import progress_wanted

    assert progress_wanted(True) and not progress_wanted(False)
    assert not progress_wanted(None)                    # under pytest
    monkeypatch.delenv("PYTEST_CURRENT_TEST", raising=False)
    monkeypatch.setitem(__import__("sys").modules, "ipykernel", object())
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    assert not progress_wanted(None)                    # a kernel run by nbconvert / nbval
    monkeypatch.setenv("JPY_SESSION_NAME", "notebooks/07_adaptive_methods.ipynb")
    assert progress_wanted(None)                        # a notebook open in JupyterLab
    monkeypatch.setenv("COURSE_PROGRESS", "0")
    assert not progress_wanted(None)


def test_configure_torch_sets_threads_and_deterministic_mode():
    torch.use_deterministic_algorithms(False)
    try:
        configure_torch(2)
        assert torch.get_num_threads() == 2
        assert torch.are_deterministic_algorithms_enabled()
        assert not torch.is_deterministic_algorithms_warn_only_enabled()
    finally:
        configure_torch(1)
    assert torch.get_num_threads() == 1 and torch.are_deterministic_algorithms_enabled()
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match="threads"):
            configure_torch(bad)
