"""Tests for the vectorised rate fit behind measured_rate and run_grid (course_lib.rates._fit_rates).

The reference is independent: one row at a time, the usable prefix found by a Python loop and the
slope by np.polyfit on the window -- against the block-wise vectorised fit with closed-form sums.
"""
import numpy as np
import pytest

from course_lib import rates
from course_lib.rates import _fit_rates, measured_rate


def reference_rate(d, floor, start=None, end=None):
    T = len(d) - 1
    first_bad = next((i for i, x in enumerate(d) if not (np.isfinite(x) and x > floor)), T + 1)
    e = min(T if end is None else end, first_bad - 1)
    s = max(e // 2, 0) if start is None else start
    s = min(s, max(e, 0))
    if e - s < 1:
        dropped = first_bad <= T and first_bad >= 1 and np.isfinite(d[min(first_bad, T)])
        return 0.0 if dropped else np.nan
    t = np.arange(s, e + 1)
    return float(np.exp(np.polyfit(t, np.log(d[s:e + 1]), 1)[0]))


def random_curves(K, T, seed):
    """Geometric curves with noise, some hitting a floor, NaN, inf or exact zero part-way."""
    rng = np.random.default_rng(seed)
    r = rng.uniform(0.3, 1.2, K)[:, None]
    t = np.arange(T + 1)
    D = 5.0 * r ** t * np.exp(0.05 * rng.standard_normal((K, T + 1)))
    for k in range(K):
        cut = rng.integers(1, T + 1)
        kind = k % 5
        if kind == 1:
            D[k, cut:] = np.nan
        elif kind == 2:
            D[k, cut:] = np.inf
        elif kind == 3:
            D[k, cut:] = 0.0
    return D


@pytest.mark.parametrize("rows", [3, 7, 2048])
@pytest.mark.parametrize("window", [(None, None), (2, None), (None, 30), (5, 25)])
def test_blockwise_fit_matches_one_row_at_a_time(monkeypatch, rows, window):
    monkeypatch.setattr(rates, "_ROWS", rows)         # block boundaries inside the K rows
    D = random_curves(23, 60, seed=rows)
    floor = 1e-12
    got, *_ = _fit_rates(D, floor, *window)
    expected = np.array([reference_rate(d, floor, *window) for d in D])
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    ok = ~np.isnan(expected)
    np.testing.assert_allclose(got[ok], expected[ok], rtol=1e-10, atol=0)


def test_one_floor_per_row():
    t = np.arange(101)
    D = np.vstack([0.5 ** t, 0.5 ** t])
    floors = np.array([1e-300, 0.5 ** 40])            # row 1 stops being usable at t = 40
    rate, first_bad, s, e = _fit_rates(D, floors, None, None)
    assert first_bad.tolist() == [101, 40] and e.tolist() == [100, 39] and s.tolist() == [50, 19]
    np.testing.assert_allclose(rate, 0.5, rtol=1e-12)


def test_measured_rate_is_the_fit_of_one_row():
    D = random_curves(10, 80, seed=3)
    for d in D:
        got = measured_rate(d, floor=1e-12)
        assert got == pytest.approx(reference_rate(d, 1e-12), rel=1e-10, nan_ok=True)
