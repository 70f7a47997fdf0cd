"""Tests for course_lib.data."""

import numpy as np
import pytest

from course_lib.data import load_digits_data, make_linear_regression, standardize, train_val_split


# ----------------------------------------------------------------------------------------------
# make_linear_regression
# ----------------------------------------------------------------------------------------------

def test_linear_regression_shapes_dtypes_and_seed():
    X, y, w = make_linear_regression()
    assert X.shape == (200, 2) and y.shape == (200,) and w.shape == (2,)
    assert X.dtype == y.dtype == w.dtype == np.float64
    X2, y2, w2 = make_linear_regression()
    assert np.array_equal(X, X2) and np.array_equal(y, y2) and np.array_equal(w, w2)
    X3, _, _ = make_linear_regression(seed=1)
    assert not np.allclose(X, X3)


def test_linear_regression_noise_is_the_residual():
    X, y, w = make_linear_regression(n=5000, d=3, noise=0.5, seed=3)
    resid = y - X @ w
    assert abs(resid.std() - 0.5) < 0.02 and abs(resid.mean()) < 0.03
    X0, y0, w0 = make_linear_regression(n=50, d=3, noise=0.0, seed=3)
    assert np.allclose(y0, X0 @ w0, rtol=0, atol=1e-12)
    # least squares recovers w_true up to the noise
    w_hat = np.linalg.lstsq(X, y, rcond=None)[0]
    assert np.allclose(w_hat, w, atol=0.03)


def test_feature_scales_means_and_bias():
    X, y, w = make_linear_regression(n=4000, d=2, seed=0, feature_scales=[1.0, 100.0],
                                     feature_means=[0.0, 50.0], bias=True)
    assert X.shape == (4000, 3) and w.shape == (3,)
    assert np.all(X[:, 2] == 1.0)                           # bias column, last
    assert np.allclose(X[:, :2].std(axis=0), [1.0, 100.0], rtol=0.05)
    assert np.allclose(X[:, :2].mean(axis=0), [0.0, 50.0], atol=5.0)
    # each feature moves y by the same typical amount: w_j scaled by 1 / scale_j (same seed,
    # same underlying model whatever n, scales or bias)
    X1, _, w1 = make_linear_regression(n=10, d=2, seed=0)
    assert np.allclose(w[:2], w1 / np.array([1.0, 100.0]))
    # badly scaled features make the MSE bowl badly conditioned; standardising fixes it
    H = X[:, :2].T @ X[:, :2]
    Xs, _, _ = standardize(X[:, :2])
    Hs = Xs.T @ Xs
    assert np.linalg.cond(H) > 1000 > 10 > np.linalg.cond(Hs)


@pytest.mark.parametrize("kwargs, match", [
    ({"n": 0}, r"n must be an integer >= 1, got 0"),
    ({"d": 2.5}, r"d must be an integer >= 1, got 2.5"),
    ({"noise": -0.1}, r"noise \(standard deviation of the label noise\) must be >= 0, got -0.1"),
    ({"feature_scales": [1.0]}, r"feature_scales must hold d = 2 numbers, got 1"),
    ({"feature_scales": [1.0, 0.0]}, r"feature_scales must all be positive"),
    ({"feature_means": [1.0, 2.0, 3.0]}, r"feature_means must hold d = 2 finite numbers"),
])
def test_linear_regression_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_linear_regression(**kwargs)


# ----------------------------------------------------------------------------------------------
# standardize
# ----------------------------------------------------------------------------------------------

def test_standardize_fit_and_reuse():
    rng = np.random.default_rng(0)
    X = rng.normal(loc=[3.0, -5.0, 100.0], scale=[0.1, 2.0, 30.0], size=(300, 3))
    Xs, mean, std = standardize(X)
    assert np.allclose(Xs.mean(axis=0), 0.0, atol=1e-12)
    assert np.allclose(Xs.std(axis=0), 1.0)
    assert np.allclose(mean, X.mean(axis=0)) and np.allclose(std, X.std(axis=0))
    X_new = rng.normal(size=(5, 3))
    X_new_s, m2, s2 = standardize(X_new, mean, std)
    assert np.allclose(X_new_s, (X_new - X.mean(axis=0)) / X.std(axis=0))
    assert m2 is mean and s2 is std


def test_standardize_rejects_constant_columns_and_bad_stats():
    X = np.column_stack([np.arange(5.0), np.full(5, 1.0), np.arange(5.0) ** 2])
    with pytest.raises(ValueError, match=r"X column 1 has zero variance \(every value is 1\)"):
        standardize(X)
    with pytest.raises(ValueError, match=r"give both mean and std"):
        standardize(X, mean=np.zeros(3))
    with pytest.raises(ValueError, match=r"std must be positive in every column"):
        standardize(X, np.zeros(3), np.array([1.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match=r"mean must have shape \(3,\)"):
        standardize(X, np.zeros(2), np.ones(3))
    with pytest.raises(ValueError, match=r"X must be a 2-D array .*got shape \(5,\)"):
        standardize(np.arange(5.0))


# ----------------------------------------------------------------------------------------------
# train_val_split
# ----------------------------------------------------------------------------------------------

def test_train_val_split_partitions_and_keeps_pairs():
    X = np.arange(100.0).reshape(50, 2)
    y = X[:, 0] * 10                        # y identifies its row
    X_tr, X_va, y_tr, y_va = train_val_split(X, y, val_fraction=0.2, seed=0)
    assert len(X_va) == 10 and len(X_tr) == 40
    assert np.array_equal(y_tr, X_tr[:, 0] * 10) and np.array_equal(y_va, X_va[:, 0] * 10)
    assert sorted(np.concatenate([y_tr, y_va]).tolist()) == sorted(y.tolist())
    again = train_val_split(X, y, val_fraction=0.2, seed=0)
    assert np.array_equal(again[1], X_va)
    assert not np.array_equal(train_val_split(X, y, 0.2, seed=1)[1], X_va)


@pytest.mark.parametrize("frac", [0.0, 1.0, -0.2, 1.5])
def test_train_val_split_rejects_bad_fraction(frac):
    with pytest.raises(ValueError, match=r"val_fraction must be strictly between 0 and 1"):
        train_val_split(np.ones((10, 2)), np.ones(10), val_fraction=frac)


def test_train_val_split_rejects_mismatched_rows():
    with pytest.raises(ValueError, match=r"X and y must have the same number of rows, got 10 and 9"):
        train_val_split(np.ones((10, 2)), np.ones(9))
    with pytest.raises(ValueError, match=r"leaves no training data"):
        train_val_split(np.ones((2, 2)), np.ones(2), val_fraction=0.9)


# ----------------------------------------------------------------------------------------------
# load_digits_data
# ----------------------------------------------------------------------------------------------

def test_load_digits_data():
    from sklearn.datasets import load_digits

    X_tr, X_te, y_tr, y_te = load_digits_data(seed=0, test_fraction=0.2)
    assert X_tr.dtype == X_te.dtype == np.float64
    assert y_tr.dtype == y_te.dtype == np.int64
    assert X_tr.shape[1] == X_te.shape[1] == 64
    assert len(X_tr) + len(X_te) == 1797 and abs(len(X_te) - 0.2 * 1797) <= 10
    # standardised with the training statistics: mean 0, std 1 (std 0 for the always-blank pixels)
    assert np.allclose(X_tr.mean(axis=0), 0.0, atol=1e-12)
    std = X_tr.std(axis=0)
    assert np.all(np.isclose(std, 1.0) | np.isclose(std, 0.0)) and np.sum(np.isclose(std, 1.0)) > 55
    assert np.all(np.isfinite(X_te))
    # stratified: every digit keeps its share in the test part
    counts = np.bincount(y_te, minlength=10) / len(y_te)
    assert np.allclose(counts, 0.1, atol=0.01)
    # images and labels stay paired: 1-nearest-neighbour on the training part classifies the test
    # part well (shuffled labels would give about 10 %)
    d2 = (X_te ** 2).sum(1)[:, None] + (X_tr ** 2).sum(1)[None, :] - 2 * X_te @ X_tr.T
    assert np.mean(y_tr[np.argmin(d2, axis=1)] == y_te) > 0.95
    assert np.array_equal(np.bincount(np.concatenate([y_tr, y_te])), np.bincount(load_digits().target))
    again = load_digits_data(seed=0, test_fraction=0.2)
    assert np.array_equal(again[0], X_tr) and np.array_equal(again[3], y_te)
    assert not np.array_equal(load_digits_data(seed=1)[3], y_te)
    with pytest.raises(ValueError, match=r"test_fraction must be strictly between 0 and 1"):
        load_digits_data(test_fraction=1.0)


# ----------------------------------------------------------------------------------------------
# chapters 03-04: unit-length inputs and the two-moons set
# ----------------------------------------------------------------------------------------------

def test_unit_norm_rows_and_the_same_model():
    X, y, w = make_linear_regression(n=300, d=3, noise=0.2, seed=4, unit_norm=True)
    assert np.allclose(np.linalg.norm(X, axis=1), 1.0, rtol=0, atol=1e-14)
    X0, _, w0 = make_linear_regression(n=300, d=3, noise=0.2, seed=4)
    assert np.array_equal(w, w0)                                   # the same true weights
    assert np.allclose(X, X0 / np.linalg.norm(X0, axis=1, keepdims=True), rtol=1e-15)
    assert abs(np.std(y - X @ w) - 0.2) < 0.03                     # y built from the unit rows
    Xb, _, wb = make_linear_regression(n=5, d=2, seed=1, unit_norm=True, bias=True)
    assert np.allclose(np.linalg.norm(Xb[:, :2], axis=1), 1.0) and np.all(Xb[:, 2] == 1) and wb.shape == (3,)


def test_two_moons_is_scikit_learns_make_moons():
    from sklearn.datasets import make_moons
    from course_lib.data import make_two_moons
    for n in (200, 51):
        X, y = make_two_moons(n, noise=0.0, seed=3)
        Xs, ys = make_moons(n, shuffle=False, noise=0.0)
        mine, theirs = np.lexsort((X[:, 1], X[:, 0], y)), np.lexsort((Xs[:, 1], Xs[:, 0], ys))
        assert np.allclose(X[mine], Xs[theirs], rtol=0, atol=1e-12) and np.array_equal(y[mine], ys[theirs])
    X, y = make_two_moons(400, noise=0.2, seed=0)
    assert X.shape == (400, 2) and X.dtype == np.float64 and y.dtype == np.int64
    assert np.bincount(y).tolist() == [200, 200] and y[:20].tolist() != sorted(y[:20].tolist())
    X0, _ = make_two_moons(400, noise=0.0, seed=0)
    assert abs(np.std(X - X0) - 0.2) < 0.02                          # the noise, on both coordinates
    X2, y2 = make_two_moons(400, noise=0.2, seed=0)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    assert not np.array_equal(make_two_moons(400, noise=0.2, seed=1)[0], X)
    with pytest.raises(ValueError, match=r"n must be an integer >= 2, got 1"):
        make_two_moons(1)
    with pytest.raises(ValueError, match=r"noise \(standard deviation added to the points\) must be >= 0, got -1"):
        make_two_moons(10, noise=-1)
