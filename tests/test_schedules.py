"""Tests for course_lib.optim.schedules: against torch.optim.lr_scheduler over 300 steps, closed forms,
Robbins-Monro, validation.

Off-by-one: torch's scheduler starts at epoch 0 (the lr before the first scheduler.step()), which
is our step t = 1. So ours(t) is compared with torch's lr after t - 1 calls of scheduler.step().
"""
import math
import warnings

import numpy as np
import pytest
import torch
from torch.optim import lr_scheduler as L

from course_lib.optim.schedules import (Schedule, constant, cosine, cosine_warm_restarts, cyclic,
                                  exponential, inverse_time, power, step_decay)

STEPS = 300


def torch_lrs(make_scheduler, lr, steps=STEPS):
    """The learning rate torch uses at epochs 0, 1, ..., steps - 1."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    sched = make_scheduler(opt)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # no "step() before optimizer.step()" surprises
        for _ in range(steps):
            out.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
    return np.array(out)


# (id, ours, torch scheduler factory, base lr given to the torch optimizer)
TORCH_CASES = [
    ("constant", constant(0.05), lambda o: L.LambdaLR(o, lambda e: 1.0), 0.05),
    ("inverse_time", inverse_time(0.5), lambda o: L.LambdaLR(o, lambda e: 1 / (e + 1)), 0.5),
    ("power 0.1/t^0.3", power(0.1, 0.3), lambda o: L.LambdaLR(o, lambda e: 1 / (e + 1) ** 0.3),
     0.1),
    ("power 2/t^0.75", power(2.0, 0.75), lambda o: L.LambdaLR(o, lambda e: (e + 1) ** -0.75),
     2.0),
    ("step_decay", step_decay(0.1, 0.9, 10), lambda o: L.StepLR(o, step_size=10, gamma=0.9), 0.1),
    ("step_decay step 1", step_decay(0.3, 0.97, 1), lambda o: L.StepLR(o, 1, gamma=0.97), 0.3),
    ("exponential", exponential(0.1, 0.98), lambda o: L.ExponentialLR(o, gamma=0.98), 0.1),
    ("cosine T=299", cosine(0.1, 299), lambda o: L.CosineAnnealingLR(o, T_max=299), 0.1),
    ("cosine T=100 eta_min past T", cosine(0.1, 100, eta_min=0.01),
     lambda o: L.CosineAnnealingLR(o, T_max=100, eta_min=0.01), 0.1),
    ("cyclic triangular", cyclic(0.01, 0.1, 25),
     lambda o: L.CyclicLR(o, 0.01, 0.1, step_size_up=25, cycle_momentum=False), 0.01),
    ("cyclic triangular asymmetric", cyclic(0.001, 0.05, 10, step_size_down=30),
     lambda o: L.CyclicLR(o, 0.001, 0.05, step_size_up=10, step_size_down=30,
                          cycle_momentum=False), 0.001),
    ("cyclic triangular2", cyclic(0.01, 0.1, 20, "triangular2"),
     lambda o: L.CyclicLR(o, 0.01, 0.1, step_size_up=20, mode="triangular2",
                          cycle_momentum=False), 0.01),
    ("cyclic exp_range", cyclic(0.01, 0.1, 20, "exp_range", gamma=0.995),
     lambda o: L.CyclicLR(o, 0.01, 0.1, step_size_up=20, mode="exp_range", gamma=0.995,
                          cycle_momentum=False), 0.01),
    ("warm restarts", cosine_warm_restarts(0.1, 30),
     lambda o: L.CosineAnnealingWarmRestarts(o, T_0=30), 0.1),
    ("warm restarts T_mult=2", cosine_warm_restarts(0.1, 10, T_mult=2, eta_min=0.005),
     lambda o: L.CosineAnnealingWarmRestarts(o, T_0=10, T_mult=2, eta_min=0.005), 0.1),
    ("warm restarts T_mult=3", cosine_warm_restarts(0.2, 7, T_mult=3),
     lambda o: L.CosineAnnealingWarmRestarts(o, T_0=7, T_mult=3), 0.2),
]


@pytest.mark.parametrize("ours, make, lr", [c[1:] for c in TORCH_CASES],
                         ids=[c[0] for c in TORCH_CASES])
def test_matches_torch_lr_scheduler_over_300_steps(ours, make, lr):
    theirs = torch_lrs(make, lr)
    mine = ours.values(STEPS)
    assert mine.shape == (STEPS,)
    assert mine[0] == theirs[0]                    # t = 1 is torch's epoch 0
    # torch updates some of these recursively (lr *= gamma, the cosine ratio), so allow for
    # rounding relative to the scale of the schedule
    assert np.max(np.abs(mine - theirs)) <= 1e-12 * np.max(np.abs(theirs))
    # and the schedule actually changes (except constant): a frozen copy would prove nothing
    if not isinstance(ours, constant):
        assert np.ptp(theirs) > 0.1 * np.max(theirs)


def test_off_by_one_would_be_caught():
    theirs = torch_lrs(lambda o: L.StepLR(o, step_size=10, gamma=0.5), 1.0, steps=30)
    ours = step_decay(1.0, 0.5, 10).values(30)
    assert np.array_equal(ours, theirs)
    assert not np.array_equal(ours[1:], theirs[:-1])       # shifted by one step they differ


# ------------------------------------------------------------------------------------------
# closed forms
# ------------------------------------------------------------------------------------------

def test_closed_forms():
    assert constant(0.3)(1) == constant(0.3)(1000) == 0.3
    assert inverse_time(0.5)(4) == 0.125
    assert power(0.1, 0.3)(8) == pytest.approx(0.1 / 8 ** 0.3, rel=1e-12)
    assert power(1.0, 1.0)(7) == inverse_time(1.0)(7)
    s = step_decay(0.1, 0.5, 10)
    assert s(1) == s(10) == 0.1 and s(11) == s(20) == 0.05 and s(21) == 0.025
    e = exponential(1.0, 0.5)
    assert [e(t) for t in (1, 2, 3)] == [1.0, 0.5, 0.25]
    c = cosine(0.1, 100, eta_min=0.02)
    assert c(1) == 0.1
    assert c(51) == pytest.approx(0.06, rel=1e-12)            # half way: the mean
    assert c(101) == pytest.approx(0.02, rel=1e-12)           # t = T + 1: eta_min
    assert c(201) == pytest.approx(0.1, rel=1e-12)            # not clipped: period 2T, as torch
    assert all(c(t) > c(t + 1) for t in range(1, 101))        # decreasing over the first T steps


def test_cyclic_shape():
    c = cyclic(0.01, 0.1, 5, step_size_down=15)
    assert c(1) == 0.01                                      # starts at the bottom
    assert c(6) == pytest.approx(0.1, rel=1e-12)              # top after step_size_up steps
    assert c(21) == pytest.approx(0.01, rel=1e-12)            # bottom after a whole cycle
    assert c(3) == pytest.approx(0.01 + 0.09 * 2 / 5, rel=1e-12)
    assert c(26) == pytest.approx(0.1, rel=1e-12)
    c2 = cyclic(0.0, 1.0, 10, "triangular2")
    assert [c2(11), c2(31), c2(51)] == pytest.approx([1.0, 0.5, 0.25], rel=1e-12)
    c3 = cyclic(0.0, 1.0, 10, "exp_range", gamma=0.9)
    assert c3(11) == pytest.approx(0.9 ** 10, rel=1e-12)


def test_warm_restarts_restart_where_they_should():
    s = cosine_warm_restarts(0.1, 10, eta_min=0.01)
    assert s(1) == s(11) == s(21) == 0.1
    assert s(10) == pytest.approx(0.01 + 0.09 * (1 + math.cos(math.pi * 9 / 10)) / 2, rel=1e-12)
    s2 = cosine_warm_restarts(1.0, 4, T_mult=2)
    restarts = [t for t in range(1, 200) if s2(t) == 1.0]
    assert restarts == [1, 5, 13, 29, 61, 125]           # 1 + 4 (1 + 2 + 4 + ...)
    assert s2.restart_position(13) == (0, 16)
    assert s2.restart_position(12) == (7, 8)
    # big t still fast and exact (integer arithmetic, no log rounding at the boundaries)
    assert s2(1 + 4 * (2 ** 40 - 1)) == 1.0


# ------------------------------------------------------------------------------------------
# Robbins-Monro
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("sched, expected", [
    (constant(0.1), False),
    (inverse_time(1.0), True),
    (power(1.0, 1.0), True),
    (power(1.0, 0.75), True),
    (power(0.1, 0.3), False),        # the practical schedule: sum eta^2 diverges
    (power(1.0, 0.5), False),        # boundary: sum 1/t diverges
    (power(1.0, 1.5), False),        # sum eta converges: too little total step
    (step_decay(0.1, 0.5, 10), False),
    (exponential(0.1, 0.99), False),
    (cosine(0.1, 50), False),
    (cyclic(0.01, 0.1, 10), False),
    (cosine_warm_restarts(0.1, 10), False),
])
def test_robbins_monro_flag(sched, expected):
    assert sched.robbins_monro is expected


def test_robbins_monro_flag_agrees_with_partial_sums():
    """sum eta keeps growing and sum eta^2 levels off exactly for the schedules flagged True."""
    n_small, n_big = 1_000, 100_000
    t = np.arange(1, n_big + 1)
    for sched in (power(1.0, 0.3), power(1.0, 0.75), power(1.0, 1.0), power(1.0, 1.5)):
        eta = sched.c / t ** sched.p
        assert sched(n_big) == pytest.approx(eta[-1], rel=1e-12)
        grows = eta.sum() > 1.5 * eta[:n_small].sum()
        squares_settle = (eta ** 2).sum() < 1.1 * (eta[:n_small] ** 2).sum()
        assert sched.robbins_monro == (grows and squares_settle), sched


def test_base_class_is_undecided():
    class Halving(Schedule):
        def _eta(self, t):
            return 2.0 ** -t

    assert Halving().robbins_monro is None
    assert Halving()(3) == 0.125


# ------------------------------------------------------------------------------------------
# repr and validation
# ------------------------------------------------------------------------------------------

def test_repr():
    assert repr(power(0.1, 0.3)) == "power(c=0.1, p=0.3)"
    assert repr(cosine(0.1, 100)) == "cosine(eta0=0.1, T=100, eta_min=0.0)"
    assert repr(step_decay(0.1, 0.5, 10)) == "step_decay(eta0=0.1, gamma=0.5, step_size=10)"
    assert repr(cyclic(0.01, 0.1, 20)) == ("cyclic(eta_min=0.01, eta_max=0.1, step_size_up=20, "
                                           "step_size_down=20, mode='triangular', gamma=1.0)")
    assert repr(cosine_warm_restarts(0.1, 10, 2)) == ("cosine_warm_restarts(eta0=0.1, T0=10, "
                                                      "T_mult=2, eta_min=0.0)")


@pytest.mark.parametrize("make, match", [
    (lambda: constant(-0.1), r"^eta \(learning rate\) must be positive, got -0\.1$"),
    (lambda: constant(float("nan")), r"eta \(learning rate\) must be a finite number, got nan"),
    (lambda: constant("0.1"), r"eta \(learning rate\) must be a number, got '0\.1'"),
    (lambda: inverse_time(0), r"eta0 \(initial learning rate\) must be positive, got 0\.0"),
    (lambda: power(0.1, -0.5), r"p \(decay exponent\) must be >= 0, got -0\.5"),
    (lambda: step_decay(0.1, 1.5, 10), r"gamma \(decay factor\) must be in \(0, 1\], got 1\.5"),
    (lambda: step_decay(0.1, 0.5, 0), r"step_size \(steps between decays\) must be >= 1, got 0"),
    (lambda: step_decay(0.1, 0.5, 2.5), r"step_size .* must be a whole number of steps, got 2\.5"),
    (lambda: exponential(0.1, 0.0), r"gamma \(decay factor\) must be in \(0, 1\], got 0\.0"),
    (lambda: cosine(0.1, 0), r"T \(steps of one half cosine\) must be >= 1, got 0"),
    (lambda: cosine(0.1, 10, eta_min=0.2), r"eta_min .* must be in \[0, eta0\] = \[0, 0\.1\], "
                                           r"got 0\.2"),
    (lambda: cyclic(0.1, 0.01, 10), r"eta_max .* must be larger than eta_min = 0\.1, got 0\.01"),
    (lambda: cyclic(0.01, 0.1, 10, "sine"), r"mode must be one of 'triangular', 'triangular2', "
                                            r"'exp_range', got 'sine'"),
    (lambda: cyclic(0.01, 0.1, 10, step_size_down=0), r"step_size_down .* must be >= 1, got 0"),
    (lambda: cosine_warm_restarts(0.1, 10, T_mult=1.5), r"T_mult .* whole number .* got 1\.5"),
    (lambda: cosine_warm_restarts(0.1, 0), r"T0 \(steps before the first restart\) must be >= 1"),
])
def test_bad_arguments_raise_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("t, match", [
    (0, r"t \(step number\) must be >= 1 \(steps are counted from 1\), got 0"),
    (-3, r"must be >= 1 .* got -3"),
    (1.5, r"t \(step number\) must be a whole number >= 1, got 1\.5"),
    (True, r"whole number"),
])
def test_bad_step_number(t, match):
    with pytest.raises(ValueError, match=match):
        inverse_time(1.0)(t)


def test_numpy_integer_steps_are_fine():
    assert inverse_time(1.0)(np.int64(4)) == 0.25
    assert isinstance(cosine(0.1, 10)(np.int32(3)), float)
