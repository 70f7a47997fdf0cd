"""Tests for the Robbins-Monro check appended to course_lib.optim.schedules: the vectorised step
sizes against each schedule's own __call__, the conditions against the robbins_monro flag and the
partial sums against closed forms (harmonic numbers, pi^2/6, geometric series)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from course_lib.optim.schedules import (Schedule, _eta_array, constant, cosine, cosine_warm_restarts,
                                        cyclic, exponential, inverse_time, power, robbins_monro_check,
                                        robbins_monro_conditions, step_decay)

SCHEDULES = [
    (constant(0.1), (True, False)),
    (inverse_time(1.0), (True, True)),
    (power(0.1, 0.3), (True, False)),
    (power(1.0, 0.5), (True, False)),
    (power(1.0, 0.75), (True, True)),
    (power(1.0, 1.0), (True, True)),
    (power(1.0, 1.5), (False, True)),
    (power(2.0, 0.0), (True, False)),
    (step_decay(0.1, 0.5, 10), (False, True)),
    (step_decay(0.1, 1.0, 10), (True, False)),
    (exponential(0.1, 0.99), (False, True)),
    (exponential(0.1, 1.0), (True, False)),
    (cosine(0.1, 50), (True, False)),
    (cosine(0.1, 50, eta_min=0.01), (True, False)),
    (cyclic(0.01, 0.1, 10), (True, False)),
    (cyclic(0.0, 0.1, 7, mode="triangular2", step_size_down=3), (False, True)),
    (cyclic(0.01, 0.1, 7, mode="triangular2"), (True, False)),
    (cyclic(0.0, 0.1, 5, mode="exp_range", gamma=0.99), (False, True)),
    (cosine_warm_restarts(0.1, 10), (True, False)),
    (cosine_warm_restarts(0.1, 3, T_mult=2, eta_min=0.01), (True, False)),
]


@pytest.mark.parametrize("sched,conditions", SCHEDULES, ids=lambda s: repr(s))
def test_vectorised_steps_and_conditions(sched, conditions):
    T = 2000
    assert np.allclose(_eta_array(sched, T), [sched(t) for t in range(1, T + 1)], rtol=1e-12, atol=1e-15)
    assert robbins_monro_conditions(sched) == conditions
    assert (conditions[0] and conditions[1]) == sched.robbins_monro


def test_partial_sums_against_closed_forms():
    T = 10 ** 6
    harmonic = robbins_monro_check(inverse_time(1.0), steps=T)
    assert harmonic.t[0] == 1 and harmonic.t[-1] == T and np.all(np.diff(harmonic.t) > 0)
    assert harmonic.sum_eta[-1] == pytest.approx(math.log(T) + 0.5772156649015329 + 1 / (2 * T), rel=1e-12)
    assert harmonic.sum_eta_sq[-1] == pytest.approx(math.pi ** 2 / 6 - 1 / T, rel=1e-9)
    const = robbins_monro_check(constant(0.05), steps=1000, points=4)
    assert np.array_equal(const.t, [1, 10, 100, 1000])
    assert np.allclose(const.sum_eta, 0.05 * const.t) and np.allclose(const.sum_eta_sq, 0.0025 * const.t)
    geo = robbins_monro_check(exponential(0.1, 0.9), steps=500)
    assert geo.sum_eta[-1] == pytest.approx(0.1 * (1 - 0.9 ** 500) / 0.1, rel=1e-12)
    # the curves show the verdict: a divergent sum keeps climbing, a convergent one levels off
    practical = robbins_monro_check(power(0.1, 0.3))
    assert practical.sum_eta_sq[-1] > 5 * practical.sum_eta_sq[30]
    assert harmonic.sum_eta_sq[-1] < 1.001 * harmonic.sum_eta_sq[-10]


def test_verdicts_in_words_and_plot():
    assert robbins_monro_check(inverse_time(1.0), steps=100).verdict == (
        "inverse_time(eta0=1.0): sum eta_t diverges, sum eta_t^2 converges -> Robbins-Monro satisfied")
    practical = robbins_monro_check(power(0.1, 0.3), steps=100)
    assert practical.satisfied is False
    assert practical.verdict.endswith("sum eta_t diverges, sum eta_t^2 diverges -> Robbins-Monro NOT satisfied")

    class Halving(Schedule):
        def _eta(self, t):
            return 2.0 ** -t

    odd = robbins_monro_check(Halving(), steps=50)
    assert odd.satisfied is None and odd.verdict.endswith("undecided")
    assert odd.sum_eta[-1] == pytest.approx(1 - 2.0 ** -50, rel=1e-12)
    import matplotlib
    matplotlib.use("Agg")
    ax = practical.plot()
    assert len(ax.lines) == 2 and ax.get_xscale() == "log" and ax.get_title().startswith("sum eta_t diverges")


@pytest.mark.parametrize("kwargs,match", [
    ({"schedule": 0.1}, r"schedule must be a function t -> eta_t, got 0.1"),
    ({"schedule": constant(0.1), "steps": 0}, r"steps \(how far to sum\) must be >= 1, got 0"),
    ({"schedule": constant(0.1), "points": 1}, r"points \(checkpoints of the partial sums\) must be >= 2"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        robbins_monro_check(**kwargs)
