"""Gradient clipping against torch.nn.utils.clip_grad_norm_ and clip_grad_value_ on the same
gradients (float64): the total norm returned, the clipped gradients, the small-gradient case (left
alone, never scaled up) and the in-place contract."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from course_lib.gradcheck import rel_error
from course_lib.nn import MLP, clip_grad_norm_, clip_grad_value_, global_norm
from course_lib.nn.torch_twin import parameters_holding


def grads_of_shapes(rng, scale):
    return [scale * rng.normal(size=s) for s in [(4, 3), (3,), (3, 5), (5,), (1, 1)]]


@pytest.mark.parametrize("scale, max_norm", [(10.0, 1.0), (0.01, 1.0), (1.0, 2.5), (3.0, 1e-3)])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf])
def test_clip_grad_norm_matches_torch(scale, max_norm, norm_type):
    rng = np.random.default_rng(int(scale * 100) + int(norm_type if norm_type < 10 else 9))
    grads = grads_of_shapes(rng, scale)
    before = [g.copy() for g in grads]
    ps = parameters_holding(grads)
    t_total = torch.nn.utils.clip_grad_norm_(ps, max_norm, norm_type=norm_type).item()
    total = clip_grad_norm_(grads, max_norm, norm_type=norm_type)
    assert abs(total - t_total) <= 1e-12 * t_total
    for g, p in zip(grads, ps):
        assert rel_error(g, p.grad.numpy()) < 1e-12
    if total <= max_norm:                       # small gradients are left exactly as they were
        for g, b in zip(grads, before):
            np.testing.assert_array_equal(g, b)
    else:
        assert abs(global_norm(grads, norm_type) - max_norm) < 1e-5 * max_norm


def test_clip_grad_norm_is_one_norm_over_all_arrays_not_per_array():
    grads = [np.array([3.0, 0.0]), np.array([0.0, 4.0])]          # total norm 5, each below 5
    total = clip_grad_norm_(grads, 2.5)
    assert total == pytest.approx(5.0)
    np.testing.assert_allclose(grads[0], [1.5, 0.0], rtol=1e-6)
    np.testing.assert_allclose(grads[1], [0.0, 2.0], rtol=1e-6)


def test_clip_grad_norm_on_a_network_grads_dict_in_place():
    net = MLP([4, 6, 3], seed=0)
    X = np.random.default_rng(0).normal(size=(5, 4)) * 50
    net.loss_and_grads(X, np.array([0, 1, 2, 0, 1]))
    ids = {k: id(v) for k, v in net.grads.items()}
    total = clip_grad_norm_(net.grads, 0.1)
    assert total > 0.1 and global_norm(net.grads) == pytest.approx(0.1, rel=1e-4)
    assert ids == {k: id(v) for k, v in net.grads.items()}


@pytest.mark.parametrize("clip_value", [0.5, 1e-3, 100.0])
def test_clip_grad_value_matches_torch(clip_value):
    rng = np.random.default_rng(1)
    grads = grads_of_shapes(rng, 2.0)
    ps = parameters_holding(grads)
    torch.nn.utils.clip_grad_value_(ps, clip_value)
    assert clip_grad_value_(grads, clip_value) is None
    for g, p in zip(grads, ps):
        np.testing.assert_array_equal(g, p.grad.numpy())
    assert max(np.abs(g).max() for g in grads) <= clip_value


def test_non_finite_total_norm_is_returned_untouched():
    grads = [np.array([np.inf, 1.0])]
    assert clip_grad_norm_(grads, 1.0) == math.inf
    assert grads[0][1] == 1.0


@pytest.mark.parametrize("call, match", [
    (lambda: clip_grad_norm_([np.ones(2)], 0.0), "max_norm must be a positive"),
    (lambda: clip_grad_norm_([np.ones(2)], -1), "max_norm"),
    (lambda: clip_grad_value_([np.ones(2)], float("nan")), "clip_value"),
    (lambda: clip_grad_norm_([[1.0, 2.0]], 1.0), "NumPy float arrays"),
    (lambda: global_norm([np.ones(2)], norm_type=0), "norm_type"),
])
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()
