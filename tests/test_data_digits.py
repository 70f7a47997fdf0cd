"""load_digits_split: a seeded, stratified train / validation / test split of scikit-learn's digits,
standardised with training statistics only. Checked against sklearn.datasets.load_digits itself
(independent of the CSV reader the module uses) and against statistics recomputed here."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from course_lib.data import _digits_arrays, load_digits_data, load_digits_split


@pytest.fixture(scope="module")
def raw():
    d = load_digits()
    return d.data.astype(float), d.target.astype(np.int64)


def test_the_fast_reader_gives_sklearns_arrays(raw):
    X, y = _digits_arrays()
    assert X.dtype == np.float64 and y.dtype == np.int64
    np.testing.assert_array_equal(X, raw[0])
    np.testing.assert_array_equal(y, raw[1])


def _unstandardise(split, X):
    return X * split.std + split.mean


def _rows(X):
    return {tuple(np.round(r, 6)) for r in X}


def test_split_is_a_partition_of_the_digits(raw):
    s = load_digits_split(seed=0)
    assert s.sizes == (1079, 359, 359)
    parts = [(s.X_train, s.y_train), (s.X_val, s.y_val), (s.X_test, s.y_test)]
    X_all = np.concatenate([_unstandardise(s, X) for X, _ in parts])
    y_all = np.concatenate([y for _, y in parts])
    # the same multiset of (image, label) pairs as the original data
    key = lambda X, y: sorted(map(tuple, np.column_stack([np.round(X, 6), y])))
    assert key(X_all, y_all) == key(*raw)
    # no image index used twice: pixel values are integers again after un-standardising
    np.testing.assert_allclose(X_all, np.round(X_all), atol=1e-9)


def test_split_is_stratified(raw):
    s = load_digits_split(seed=3, val_fraction=0.2, test_fraction=0.2)
    counts = np.bincount(raw[1])
    for y in (s.y_val, s.y_test):
        np.testing.assert_array_equal(np.bincount(y, minlength=10), np.round(0.2 * counts).astype(int))


def test_standardised_with_training_statistics_only(raw):
    s = load_digits_split(seed=1)
    train_raw = _unstandardise(s, s.X_train)
    np.testing.assert_allclose(s.mean, train_raw.mean(axis=0), rtol=1e-12, atol=1e-12)
    std = train_raw.std(axis=0)
    np.testing.assert_allclose(s.std, np.where(std > 1e-12, std, 1.0), rtol=1e-12)
    # training columns have mean 0 and std 1 (or are constant zero); the other parts do not
    np.testing.assert_allclose(s.X_train.mean(axis=0), 0, atol=1e-12)
    varying = std > 1e-12
    np.testing.assert_allclose(s.X_train[:, varying].std(axis=0), 1, rtol=1e-12)
    assert np.all(s.X_train[:, ~varying] == 0)
    assert np.abs(s.X_val.mean(axis=0)).max() > 1e-3       # not re-standardised with its own stats
    # statistics computed on all the data would differ: nothing leaked from validation / test
    assert np.abs(raw[0].mean(axis=0) - s.mean).max() > 1e-3


def test_seeded_and_different_seeds_differ():
    a, b, c = load_digits_split(seed=4), load_digits_split(seed=4), load_digits_split(seed=5)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.y_test, c.y_test)
    assert "1079 train, 359 validation, 359 test" in repr(a)


def test_images_keep_their_pixel_order():
    s = load_digits_split(seed=0)
    img = _unstandardise(s, s.X_train[:1]).reshape(8, 8)
    assert img[0, 0] == 0 and img[:, 0].sum() < img[:, 3].sum()   # blank left edge, ink in the middle


def test_two_part_loader_unchanged():
    # the two-part loader of the earlier chapters keeps its shapes and its split
    X_tr, X_te, y_tr, y_te = load_digits_data(seed=0, test_fraction=0.2)
    assert X_tr.shape == (1438, 64) and X_te.shape == (359, 64)


@pytest.mark.parametrize("kwargs, words", [
    ({"val_fraction": 0.0}, "val_fraction"), ({"test_fraction": 1.2}, "test_fraction"),
    ({"val_fraction": 0.5, "test_fraction": 0.5}, "leave training data"), ({"seed": -1}, "seed"),
    ({"seed": 1.5}, "seed"),
])
def test_bad_arguments_are_named(kwargs, words):
    with pytest.raises(ValueError, match=words):
        load_digits_split(**kwargs)
