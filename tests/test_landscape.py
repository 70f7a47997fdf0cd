"""Tests for course_lib.landscape: filter normalisation against its definition (Li et al. 2018),
the slices against a forward pass written in NumPy with the perturbed weights, and a linear model
whose slice is an exact parabola."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_lib.data import make_two_moons
from course_lib.landscape import LossLandscape, normalize_direction, random_direction


def _net(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 5, dtype=torch.float64), nn.Tanh(),
                         nn.Linear(5, 4, dtype=torch.float64), nn.Tanh(),
                         nn.Linear(4, 2, dtype=torch.float64))


def _numpy_loss(params, X, y):
    """Cross-entropy of the tanh MLP above, written in NumPy (log-sum-exp form)."""
    W1, b1, W2, b2, W3, b3 = params
    h = np.tanh(X @ W1.T + b1)
    h = np.tanh(h @ W2.T + b2)
    z = h @ W3.T + b3
    m = z.max(axis=1, keepdims=True)
    logp = z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))
    return -np.mean(logp[np.arange(len(y)), y])


def test_filter_normalisation_matches_the_weights_filter_by_filter():
    model = _net()
    d = random_direction(model, seed=3)
    for (name, p), u in zip(model.named_parameters(), d):
        if p.dim() == 1:
            assert torch.count_nonzero(u) == 0, name                # biases: direction 0
        else:
            assert torch.allclose(u.norm(dim=1), p.detach().norm(dim=1), rtol=1e-12), name
    kept = random_direction(model, seed=3, ignore_biases=False)
    for p, u in zip(model.parameters(), kept):
        if p.dim() == 1:
            assert float(u.norm()) == pytest.approx(float(p.detach().norm()), rel=1e-12)
    layer = random_direction(model, seed=3, norm="layer")
    for p, u in zip(model.parameters(), layer):
        if p.dim() > 1:
            assert float(u.norm()) == pytest.approx(float(p.detach().norm()), rel=1e-12)
            assert not torch.allclose(u.norm(dim=1), p.detach().norm(dim=1), rtol=1e-6)


def test_directions_are_seeded_and_inputs_are_not_changed():
    model = _net()
    a, b, c = (random_direction(model, seed=s) for s in (1, 1, 2))
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not all(torch.equal(x, y) for x, y in zip(a, c))
    raw = [torch.randn(p.shape, dtype=torch.float64) for p in model.parameters()]
    saved = [r.clone() for r in raw]
    out = normalize_direction(raw, model)
    assert all(torch.equal(r, s) for r, s in zip(raw, saved))
    none = normalize_direction(raw, model, norm=None, ignore_biases=False)
    assert all(torch.equal(r, s) for r, s in zip(none, saved))
    # a direction the size of the weights, rescaled, normalises to the same thing
    twice = normalize_direction([2.5 * r for r in raw], model)
    assert all(torch.allclose(x, y, rtol=1e-12, atol=0) for x, y in zip(out, twice))


def test_slices_equal_a_numpy_forward_pass_with_perturbed_weights():
    X, y = make_two_moons(60, noise=0.1, seed=1)
    model = _net(seed=2)
    before = [p.detach().clone() for p in model.parameters()]
    land = LossLandscape(model, X, y)
    d1, d2 = random_direction(model, seed=5), random_direction(model, seed=6)
    theta = [p.detach().numpy() for p in model.parameters()]
    u = [t.numpy() for t in d1]
    v = [t.numpy() for t in d2]
    alphas = np.linspace(-1.0, 1.0, 7)
    betas = np.array([-0.5, 0.0, 0.75])
    s1 = land.slice_1d(d1, alphas)
    s2 = land.slice_2d(d1, d2, alphas, betas)
    assert s1.shape == (7,) and s2.shape == (3, 7)
    for i, a in enumerate(alphas):
        assert s1[i] == pytest.approx(_numpy_loss([t + a * p for t, p in zip(theta, u)], X, y), rel=1e-12)
        for j, b in enumerate(betas):
            want = _numpy_loss([t + a * p + b * q for t, p, q in zip(theta, u, v)], X, y)
            assert s2[j, i] == pytest.approx(want, rel=1e-12)
    assert np.allclose(s2[1], s1, rtol=1e-12)                      # beta = 0 row is the 1-D slice
    assert land.center_loss == pytest.approx(s1[3], rel=1e-12)      # alpha = 0 is theta*
    with torch.no_grad():
        assert land.center_loss == pytest.approx(float(F.cross_entropy(model(torch.tensor(X)), torch.tensor(y))))
    plane = land.plane(d1, d2, lim=0.5)
    grid = np.stack(np.meshgrid(alphas[:3], betas), axis=-1)
    assert np.allclose(plane.value(grid), s2[:, :3], rtol=1e-12)
    assert plane.value(np.array([0.0, 0.0])) == pytest.approx(land.center_loss, rel=1e-12)
    assert plane.xlim == (-0.5, 0.5) and plane.min_value == 0.0 and plane.minimizer is None
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), before))   # model untouched


def test_linear_model_slice_is_an_exact_parabola():
    """L(theta + a d) for a linear model with MSE is a quadratic in a: the slice fits one exactly."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=30)
    torch.manual_seed(0)
    model = nn.Linear(3, 1, dtype=torch.float64)
    land = LossLandscape(model, X, torch.tensor(y)[:, None], loss_fn=F.mse_loss, chunk=4)
    d = random_direction(model, seed=1, ignore_biases=False)
    alphas = np.linspace(-2, 2, 21)
    s = land.slice_1d(d, alphas)
    coef = np.polyfit(alphas, s, 2)
    assert np.max(np.abs(np.polyval(coef, alphas) - s)) < 1e-10 * np.max(np.abs(s))
    W, b = model.weight.detach().numpy(), model.bias.detach().numpy()
    dW, db = d[0].numpy(), d[1].numpy()
    r0, r1 = X @ W[0] + b[0] - y, X @ dW[0] + db[0]
    assert coef[0] == pytest.approx(np.mean(r1 ** 2), rel=1e-10)   # closed form of the curvature
    assert coef[1] == pytest.approx(2 * np.mean(r0 * r1), rel=1e-10)


def test_bad_arguments():
    model = _net()
    with pytest.raises(ValueError, match="norm must be 'filter', 'layer' or None"):
        random_direction(model, norm="unit")
    with pytest.raises(ValueError, match=r"direction must hold one tensor per parameter of the model \(6\), got 2"):
        normalize_direction([torch.zeros(1), torch.zeros(1)], model)
    with pytest.raises(ValueError, match="model must be a torch.nn.Module"):
        random_direction("net")
    land = LossLandscape(model, np.zeros((4, 2)), np.zeros(4, dtype=np.int64))
    with pytest.raises(ValueError, match="one tensor per parameter"):
        land.slice_1d([torch.zeros(1)], [0.0])
    with pytest.raises(ValueError, match="same number n >= 1 of samples"):
        LossLandscape(model, np.zeros((4, 2)), np.zeros(3, dtype=np.int64))
