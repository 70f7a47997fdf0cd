"""Small, seeded data sets and the preprocessing the course needs.

* ``make_linear_regression``  synthetic y = X w_true + noise, optionally with badly scaled features
* ``standardize``             x -> (x - mean) / std per column (fit on training data, reuse on the rest)
* ``train_val_split``         a seeded random split into training and validation parts
* ``load_digits_data``        the 8x8 handwritten digits that ship with scikit-learn (no download)
* ``load_digits_split``       the same digits split train / validation / test, standardised with
                              training statistics only (chapters 07 and 10)
* ``make_two_moons``          two interleaving half circles, a small 2-class set (chapter 04)

All randomness goes through ``np.random.default_rng(seed)``: the same seed gives the same arrays on
every machine.  Everything is float64; labels are int64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["make_linear_regression", "standardize", "train_val_split", "load_digits_data",
           "load_digits_split", "DigitsSplit", "make_two_moons"]


def _positive_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _std(value, label: str) -> float:
    """A standard deviation: a finite number >= 0."""
    try:
        value = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{label} must be a number >= 0, got {value!r}") from exc
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{label} must be >= 0, got {value}")
    return value


def _fraction(value, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a number strictly between 0 and 1, got {value!r}") from exc
    if not 0.0 < v < 1.0:
        raise ValueError(f"{name} must be strictly between 0 and 1, got {value!r}")
    return v


def _matrix(X, name: str = "X") -> np.ndarray:
    try:
        X = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be an array of numbers, got {X!r}") from exc
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{name} must be a 2-D array of shape (n samples, d features), got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{name} must contain only finite numbers (no NaN or inf)")
    return X


def make_linear_regression(n: int = 200, d: int = 2, noise: float = 0.1, seed: int = 0,
                           feature_scales=None, bias: bool = False, feature_means=None,
                           unit_norm: bool = False):
    """Synthetic linear-regression data  y = X w_true + noise * N(0, 1).

    Features: column j of X is ``feature_means[j] + feature_scales[j] * N(0, 1)`` (defaults: mean 0,
    scale 1).  The true weights are w_true[j] = N(0, 1) / feature_scales[j], so every feature moves
    y by the same typical amount whatever its scale; with ``feature_scales=[1, 100]`` the loss
    surface over w is a long thin valley (condition number ~ 100^2) that standardising removes
    (chapter 02).

    Parameters
    ----------
    n : number of samples (rows), default 200.
    d : number of random features, default 2.
    noise : standard deviation of the Gaussian label noise (>= 0), default 0.1.
    seed : seed for ``np.random.default_rng``; the same seed gives the same data.
    feature_scales : None or d positive numbers (the standard deviation of each feature).
    bias : if True, append a constant column of ones to X as its last column; w_true then has
        d + 1 entries and its last one is the intercept (drawn from N(0, 1)).
    feature_means : None or d numbers, the mean of each feature (default 0).
    unit_norm : if True, scale every row of the d random features to length 1 (before the bias
        column is added), so ||x_i|| = 1 for every sample; y uses these rows (chapter 03: a
        single-sample SGD step w - eta grad L_i then moves w by at most 2 eta |y_i - x_i^T w|).

    Returns
    -------
    X : (n, d) or (n, d + 1) float64;  y : (n,) float64;  w_true : (d,) or (d + 1,) float64.
    """
    n = _positive_int(n, "n")
    d = _positive_int(d, "d")
    noise = _std(noise, "noise (standard deviation of the label noise)")
    if feature_scales is None:
        scales = np.ones(d)
    else:
        scales = np.asarray(feature_scales, dtype=np.float64).reshape(-1)
        if scales.shape != (d,):
            raise ValueError(f"feature_scales must hold d = {d} numbers, got {scales.size}")
        if not np.all(np.isfinite(scales)) or np.any(scales <= 0):
            raise ValueError(f"feature_scales must all be positive, got {np.asarray(feature_scales).tolist()}")
    if feature_means is None:
        means = np.zeros(d)
    else:
        means = np.asarray(feature_means, dtype=np.float64).reshape(-1)
        if means.shape != (d,) or not np.all(np.isfinite(means)):
            raise ValueError(f"feature_means must hold d = {d} finite numbers, got {np.asarray(feature_means).tolist()}")

    rng = np.random.default_rng(seed)
    # weights first: the same seed gives the same true model whatever n, the scales or bias
    w_true = rng.standard_normal(d) / scales
    intercept = rng.standard_normal()
    X = means + scales * rng.standard_normal((n, d))
    eps = rng.standard_normal(n)
    if unit_norm:
        X /= np.linalg.norm(X, axis=1, keepdims=True)
    if bias:
        X = np.hstack([X, np.ones((n, 1))])
        w_true = np.append(w_true, intercept)
    y = X @ w_true + noise * eps
    return X, y, w_true


def standardize(X, mean=None, std=None):
    """Standardise every column: X_std = (X - mean) / std.

    Fit on the training data (mean, std = None: computed per column, std with ddof = 0), then pass
    the *same* mean and std to transform validation / test data, so no information leaks from them.

    Parameters
    ----------
    X : (n, d) array.
    mean, std : None or arrays of shape (d,); give both or neither.

    Returns (X_std, mean, std).  Raises ValueError for a column with zero variance: it carries no
    information (for a constant bias column, add it *after* standardising).
    """
    X = _matrix(X)
    d = X.shape[1]
    if (mean is None) != (std is None):
        raise ValueError("give both mean and std (from the training data) or neither")
    if mean is None:
        mean = X.mean(axis=0)
        std = X.std(axis=0)
        scale = np.maximum(1.0, np.abs(mean))
        flat = np.flatnonzero(std <= 1e-12 * scale)
        if flat.size:
            j = int(flat[0])
            raise ValueError(
                f"X column {j} has zero variance (every value is {X[0, j]:g}), so it cannot be standardised; "
                "drop it (a constant column carries no information; add a bias column after standardising)"
            )
    else:
        mean = np.asarray(mean, dtype=np.float64)
        std = np.asarray(std, dtype=np.float64)
        if mean.shape != (d,):
            raise ValueError(f"mean must have shape ({d},), one entry per column of X, got shape {mean.shape}")
        if std.shape != (d,):
            raise ValueError(f"std must have shape ({d},), one entry per column of X, got shape {std.shape}")
        if not np.all(np.isfinite(mean)):
            raise ValueError("mean must contain only finite numbers")
        if not np.all(np.isfinite(std)) or np.any(std <= 0):
            raise ValueError(f"std must be positive in every column, got {std.tolist()}")
    return (X - mean) / std, mean, std


def train_val_split(X, y, val_fraction: float = 0.2, seed: int = 0):
    """Random split into training and validation parts (rows of X and y stay paired).

    round(val_fraction * n) rows, at least 1, go to validation; the rest to training.  Returns
    ``X_train, X_val, y_train, y_val`` (the order of scikit-learn's ``train_test_split``).
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim == 0 or y.ndim == 0:
        raise ValueError(f"X and y must be arrays with one row per sample, got shapes {X.shape} and {y.shape}")
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X and y must have the same number of rows, got {X.shape[0]} and {y.shape[0]}")
    val_fraction = _fraction(val_fraction, "val_fraction")
    n = X.shape[0]
    n_val = max(1, int(round(val_fraction * n)))
    if n_val >= n:
        raise ValueError(f"val_fraction = {val_fraction:g} of n = {n} samples leaves no training data")
    perm = np.random.default_rng(seed).permutation(n)
    val, train = perm[:n_val], perm[n_val:]
    return X[train], X[val], y[train], y[val]


def load_digits_data(seed: int = 0, test_fraction: float = 0.2):
    """The handwritten digits of scikit-learn (1797 images of 8x8 pixels, classes 0..9), ready to train on.

    * split stratified by class (each digit keeps its share in both parts), seeded by ``seed``;
    * pixels standardised with the *training* mean and std; pixels that are constant in the
      training part (e.g. the always-blank corners) are only centred (std taken as 1), so they are
      all zero in training and never divide by zero;
    * the 64 columns stay in image order: ``X[i].reshape(8, 8)`` is still the picture.

    Returns ``X_train (n_train, 64) float64, X_test (n_test, 64) float64, y_train (n_train,) int64,
    y_test (n_test,) int64``.  The data ship with scikit-learn: nothing is downloaded.
    """
    from sklearn.datasets import load_digits  # imported here: the rest of the module needs only NumPy

    test_fraction = _fraction(test_fraction, "test_fraction")
    digits = load_digits()
    X = np.asarray(digits.data, dtype=np.float64)
    y = np.asarray(digits.target, dtype=np.int64)
    rng = np.random.default_rng(seed)
    test_idx = []
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        test_idx.append(members[: max(1, int(round(test_fraction * members.size)))])
    test = np.zeros(y.size, dtype=bool)
    test[np.concatenate(test_idx)] = True
    train_idx = rng.permutation(np.flatnonzero(~test))
    test_idx = rng.permutation(np.flatnonzero(test))

    X_train, X_test = X[train_idx], X[test_idx]
    mean = X_train.mean(axis=0)
    std = X_train.std(axis=0)
    std = np.where(std > 1e-12, std, 1.0)
    X_train, _, _ = standardize(X_train, mean, std)
    X_test, _, _ = standardize(X_test, mean, std)
    return X_train, X_test, y[train_idx], y[test_idx]


def _digits_arrays():
    """The 1797 digits as (X (1797, 64) float64 pixel values 0..16, y (1797,) int64 labels 0..9).

    Reads the CSV file that ships inside scikit-learn directly: importing ``sklearn.datasets`` costs
    about a second, more than the rest of a small training run. Falls back to
    ``sklearn.datasets.load_digits`` (the same arrays) if the file is not where scikit-learn keeps it.
    """
    import gzip
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("sklearn")
    if spec is not None and spec.submodule_search_locations:
        path = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" / "digits.csv.gz"
        if path.is_file():
            with gzip.open(path, "rt") as fh:
                table = np.loadtxt(fh, delimiter=",", dtype=np.float64)
            if table.shape == (1797, 65):
                return np.ascontiguousarray(table[:, :-1]), table[:, -1].astype(np.int64)
    from sklearn.datasets import load_digits

    digits = load_digits()
    return np.asarray(digits.data, dtype=np.float64), np.asarray(digits.target, dtype=np.int64)


@dataclass(frozen=True, repr=False)
class DigitsSplit:
    """The digits split three ways (see :func:`load_digits_split`).

    Attributes: ``X_train, y_train, X_val, y_val, X_test, y_test`` (X float64 with 64 columns, y
    int64 labels 0..9), ``mean`` and ``std`` (64,) the training statistics every part was
    standardised with, ``seed``.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    seed: int

    @property
    def sizes(self) -> tuple[int, int, int]:
        """(n_train, n_val, n_test)."""
        return len(self.y_train), len(self.y_val), len(self.y_test)

    def __repr__(self) -> str:
        n_tr, n_va, n_te = self.sizes
        return (f"DigitsSplit(seed={self.seed}: {n_tr} train, {n_va} validation, {n_te} test; "
                f"64 standardised pixels, 10 classes)")


def load_digits_split(seed: int = 0, val_fraction: float = 0.2, test_fraction: float = 0.2) -> DigitsSplit:
    """The handwritten digits (1797 images of 8x8 pixels, classes 0..9) split into training,
    validation and test parts, ready for a training loop with early stopping.

    * Stratified by class and seeded: for every digit, ``round(val_fraction * n_c)`` of its n_c
      images go to validation and ``round(test_fraction * n_c)`` to test (at least one each), the
      rest to training; each part is then shuffled. The same seed gives the same split on every
      machine (``np.random.default_rng(seed)``).
    * Standardised with the **training** part's statistics only: x -> (x - mean) / std, mean and std
      per pixel over the training images (std with ddof = 0). Pixels constant in the training part
      (the always-blank corners) are only centred (std taken as 1). Validation and test data never
      influence the preprocessing, so they stay unseen data.
    * The 64 columns stay in image order: ``X[i].reshape(8, 8)`` is still the picture.

    Defaults give 1079 / 359 / 359 images (60 / 20 / 20 %). ``load_digits_data`` (two parts,
    train / test) is unchanged. Nothing is downloaded: the data ship with scikit-learn.
    """
    val_fraction = _fraction(val_fraction, "val_fraction")
    test_fraction = _fraction(test_fraction, "test_fraction")
    if val_fraction + test_fraction >= 1.0:
        raise ValueError(f"val_fraction + test_fraction must be below 1 to leave training data, got "
                         f"{val_fraction:g} + {test_fraction:g} = {val_fraction + test_fraction:g}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
    X, y = _digits_arrays()
    rng = np.random.default_rng(seed)
    parts = {"train": [], "val": [], "test": []}
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        n_test = max(1, int(round(test_fraction * members.size)))
        n_val = max(1, int(round(val_fraction * members.size)))
        parts["test"].append(members[:n_test])
        parts["val"].append(members[n_test:n_test + n_val])
        parts["train"].append(members[n_test + n_val:])
    idx = {name: rng.permutation(np.concatenate(chunks)) for name, chunks in parts.items()}
    mean = X[idx["train"]].mean(axis=0)
    std = X[idx["train"]].std(axis=0)
    std = np.where(std > 1e-12, std, 1.0)
    out = {name: standardize(X[i], mean, std)[0] for name, i in idx.items()}
    return DigitsSplit(out["train"], y[idx["train"]], out["val"], y[idx["val"]], out["test"],
                       y[idx["test"]], mean, std, int(seed))


def make_two_moons(n: int = 200, noise: float = 0.1, seed: int = 0):
    """Two interleaving half circles, a small 2-class set (scikit-learn's ``make_moons``, in NumPy).

    Class 0: (cos t, sin t), class 1: (1 - cos t, 1/2 - sin t), for n // 2 (class 0) and
    n - n // 2 (class 1) evenly spaced t in [0, pi]; then Gaussian noise of standard deviation
    ``noise`` on both coordinates, and the rows shuffled, both from ``np.random.default_rng(seed)``.
    No straight line separates the classes; a network with one small hidden layer does.

    Returns X (n, 2) float64 and y (n,) int64 in {0, 1}.
    """
    n = _positive_int(n, "n", minimum=2)
    noise = _std(noise, "noise (standard deviation added to the points)")
    n0, n1 = n // 2, n - n // 2
    t0, t1 = np.linspace(0.0, np.pi, n0), np.linspace(0.0, np.pi, n1)
    X = np.vstack([np.column_stack([np.cos(t0), np.sin(t0)]),
                   np.column_stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)])])
    y = np.concatenate([np.zeros(n0, dtype=np.int64), np.ones(n1, dtype=np.int64)])
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    X, y = X[order], y[order]
    return X + noise * rng.standard_normal(X.shape), y
