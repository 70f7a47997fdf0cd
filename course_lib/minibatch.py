"""Mini-batches and stochastic training of NumPy objectives (chapters 03 and 04).

* ``iterations_per_epoch(n, b, drop_last=False)``  ceil(n / b) updates per pass (floor(n / b) when
  the last, smaller batch is dropped)
* ``batches(order, b, drop_last=False)``            cut an order of sample indices into consecutive
  batches of b (the last one smaller when b does not divide n)
* ``MiniBatches(n, b, sampling=..., drop_last=..., seed=...)``  a seeded stream of mini-batch index
  arrays, epoch after epoch
* ``NoisySum(objective, n, noise, seed)``  f(w) written as a finite sum 1/n sum_i L_i(w) whose sample
  gradients grad f(w) + s_i are noisy (for the local-minimum and saddle demos)
* ``train(optimizer, objective, w0, batch_size=..., epochs=...)``  mini-batch SGD (any course
  optimizer and schedule) on an objective with ``batch_grad``; returns a :class:`TrainResult`

Vocabulary: an **iteration** is one update of w, computed from one **batch** of b samples (b is the
**batch size**); an **epoch** is one pass over all n samples, ceil(n / b) iterations.

Sampling, the same as ``torch.utils.data.DataLoader`` (``BatchSampler`` over a sampler)::

    "reshuffle"     a fresh random permutation of 0..n-1 every epoch   DataLoader(shuffle=True)
    "shuffle_once"  one random permutation, drawn once, reused every epoch
    "fixed"         0, 1, ..., n-1 every epoch                          DataLoader(shuffle=False)
    "replacement"   every epoch n indices drawn uniformly with replacement
                    (RandomSampler(replacement=True)), cut into batches the same way

The random stream: ``np.random.default_rng(seed)``; the order of epoch e (e = 1, 2, ...) is the e-th
``rng.permutation(n)`` (``rng.integers(0, n, size=n)`` for "replacement"), so a run is reproduced
exactly by its seed. Several independent runs ("chains") go at once when ``seed`` is a sequence of
K seeds: chain k is exactly the run with ``seed[k]``, and every batch has shape (K, m).
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from . import _validate as V
from ._progress import PROGRESS_DELAY, progress_bar  # noqa: F401  (PROGRESS_DELAY: as in course_lib.training)
from .objectives import LinearRegressionMSE, Objective

__all__ = ["SAMPLING", "iterations_per_epoch", "batches", "MiniBatches", "NoisySum",
           "TrainResult", "train"]

SAMPLING = ("reshuffle", "shuffle_once", "fixed", "replacement")


# ----------------------------------------------------------------------------------------------
# argument checks
# ----------------------------------------------------------------------------------------------
def _seeds(seed) -> tuple[list[int], int | None]:
    """(seeds, K): one seed -> ([seed], None); a sequence of K seeds -> (seeds, K)."""
    if isinstance(seed, (numbers.Integral,)) and not isinstance(seed, (bool, np.bool_)):
        return [int(seed)], None
    try:
        seeds = [s for s in seed]
    except TypeError:
        raise ValueError(f"seed must be a whole number or a sequence of them (one per chain), "
                         f"got {seed!r}") from None
    if not seeds or not all(isinstance(s, numbers.Integral) and not isinstance(s, (bool, np.bool_))
                            for s in seeds):
        raise ValueError(f"seed must be a whole number or a non-empty sequence of whole numbers, "
                         f"got {seed!r}")
    return [int(s) for s in seeds], len(seeds)


# ----------------------------------------------------------------------------------------------
# batches
# ----------------------------------------------------------------------------------------------
def iterations_per_epoch(n: int, batch_size: int, drop_last: bool = False) -> int:
    """Updates per epoch: ceil(n / b), or floor(n / b) with ``drop_last=True``.

    The last batch holds n - b (ceil(n / b) - 1) samples when b does not divide n; dropping it
    (``drop_last=True``, as torch's DataLoader) leaves floor(n / b) full batches.
    """
    n = V.count(n, "n (number of samples)")
    b = V.count(batch_size, "batch_size (b)")
    drop_last = V.flag(drop_last, "drop_last")
    return n // b if drop_last else -(-n // b)


def batches(order, batch_size: int, drop_last: bool = False) -> list[np.ndarray]:
    """Cut an order of sample indices into consecutive batches of ``batch_size``.

    order : int array (n,) or (K, n) (one order per chain). Returns the list
    [order[..., 0:b], order[..., b:2b], ...]: ceil(n / b) batches, the last one with the remaining
    n - b (ceil(n / b) - 1) indices, or only the floor(n / b) full ones with ``drop_last=True``.
    """
    order = np.asarray(order)
    if order.ndim not in (1, 2) or order.shape[-1] == 0 or not np.issubdtype(order.dtype, np.integer):
        raise ValueError(f"order must be a non-empty integer array of shape (n,) or (K, n), got "
                         f"{order.dtype} array of shape {order.shape}")
    n = order.shape[-1]
    b = V.count(batch_size, "batch_size (b)")
    stop = iterations_per_epoch(n, b, drop_last) * b
    return [order[..., i:i + b] for i in range(0, min(stop, n), b)]


class MiniBatches:
    """A seeded stream of mini-batch index arrays (the index part of a torch DataLoader).

    Parameters
    ----------
    n : number of samples.
    batch_size : b >= 1 (b > n gives one batch of all n samples, unless drop_last).
    sampling : "reshuffle" (default), "shuffle_once", "fixed" or "replacement" (module docstring).
    drop_last : drop the last, smaller batch when b does not divide n (default False).
    seed : an int, or a sequence of K ints for K independent chains (batches of shape (K, m)).

    ``len(mb)`` is the number of iterations per epoch, ceil(n / b) (floor with drop_last).
    ``mb.epoch()`` returns the next epoch's list of index arrays; ``for idx in mb`` iterates over
    the next epoch; ``mb.order()`` the next epoch's order of all n indices (also advancing the
    stream); ``mb.reset()`` starts the stream again from its seed.
    """

    def __init__(self, n: int, batch_size: int, *, sampling: str = "reshuffle",
                 drop_last: bool = False, seed=0):
        self.n = V.count(n, "n (number of samples)")
        self.batch_size = V.count(batch_size, "batch_size (b)")
        self.sampling = V.choice(sampling, "sampling", SAMPLING)
        self.drop_last = V.flag(drop_last, "drop_last")
        if self.drop_last and self.batch_size > self.n:
            raise ValueError(f"drop_last=True with batch_size b = {self.batch_size} > n = {self.n} "
                             "leaves no batch at all: use a smaller b or drop_last=False")
        self.seeds, self.chains = _seeds(seed)
        self.reset()

    def reset(self) -> None:
        """Start the random stream again: the next epoch is epoch 1 of this seed."""
        self._rngs = [np.random.default_rng(s) for s in self.seeds]
        self._once = None
        self.epochs_drawn = 0

    def __len__(self) -> int:
        return iterations_per_epoch(self.n, self.batch_size, self.drop_last)

    def _draw(self, rng) -> np.ndarray:
        if self.sampling == "replacement":
            return rng.integers(0, self.n, size=self.n)
        return rng.permutation(self.n)

    def order(self) -> np.ndarray:
        """The order in which the next epoch visits the samples: (n,), or (K, n) for K chains."""
        if self.sampling == "fixed":
            out = np.broadcast_to(np.arange(self.n), (len(self.seeds), self.n)).copy()
        elif self.sampling == "shuffle_once":
            if self._once is None:
                self._once = np.stack([self._draw(r) for r in self._rngs])
            out = self._once.copy()
        else:
            out = np.stack([self._draw(r) for r in self._rngs])
        self.epochs_drawn += 1
        return out if self.chains is not None else out[0]

    def epoch(self) -> list[np.ndarray]:
        """The batches of the next epoch: ceil(n / b) index arrays (floor with drop_last)."""
        return batches(self.order(), self.batch_size, self.drop_last)

    def __iter__(self):
        return iter(self.epoch())

    def __repr__(self) -> str:
        seed = self.seeds if self.chains is not None else self.seeds[0]
        return (f"MiniBatches(n={self.n}, batch_size={self.batch_size}, sampling={self.sampling!r}, "
                f"drop_last={self.drop_last}, seed={seed!r}): {len(self)} iterations per epoch")


# ----------------------------------------------------------------------------------------------
# an objective with noisy sample gradients
# ----------------------------------------------------------------------------------------------
class NoisySum(Objective):
    """Any objective f written as a finite sum whose sample gradients are noisy:

        L(w)   = 1/n sum_i L_i(w) = f(w),     L_i(w) = f(w) + s_i^T w,
        grad L_i(w) = grad f(w) + s_i,        sum_i s_i = 0  (so the mean is exactly f)

    The shifts s_i (n, dim) are Gaussian, centred, and scaled so that every coordinate has root
    mean square ``noise``: a mini-batch gradient of size b is grad f(w) plus noise of variance
    about noise^2 / b per coordinate (exactly noise^2 (n - b) / (b (n - 1)) without replacement).
    SGD on it is gradient descent on f with additive gradient noise: the simplest model of the
    noise that lets SGD leave a shallow minimum or a saddle point (chapters 03 and 04).

    ``value``, ``grad``, ``hessian``, ``minimizer``, ``min_value``, ``xlim``, ``ylim`` are those of f;
    ``batch_grad(w, idx)`` (idx (m,) or (..., m), like ``LinearRegressionMSE.batch_grad``),
    ``sample_grad`` and ``sample_losses`` add the shifts.
    """

    def __init__(self, objective, n: int = 100, noise: float = 1.0, seed: int = 0):
        for meth in ("value", "grad"):
            if not callable(getattr(objective, meth, None)):
                raise ValueError(f"objective must have a {meth}(w) method, got {objective!r}")
        self.base = objective
        self.n = V.count(n, "n (number of samples)", minimum=2)
        if isinstance(noise, bool) or not isinstance(noise, numbers.Real) or not math.isfinite(noise) \
                or noise < 0:
            raise ValueError(f"noise (root mean square of the gradient noise) must be a number >= 0, "
                             f"got {noise!r}")
        self.noise = float(noise)
        self.seed = int(seed)
        self.dim = int(objective.dim)
        s = np.random.default_rng(seed).standard_normal((self.n, self.dim))
        s -= s.mean(axis=0)
        s *= self.noise / np.sqrt(np.mean(s ** 2, axis=0))
        s.flags.writeable = False
        self.shifts = s
        for attr in ("minimizer", "min_value", "xlim", "ylim", "latex"):
            setattr(self, attr, getattr(objective, attr, None))
        self.name = f"{getattr(objective, 'name', 'f')} + gradient noise {self.noise:g} (n = {self.n})"

    def value(self, w):
        return self.base.value(w)

    def grad(self, w) -> np.ndarray:
        return self.base.grad(w)

    def hessian(self, w) -> np.ndarray:
        return self.base.hessian(w)

    def _idx(self, idx) -> np.ndarray:
        idx = np.atleast_1d(np.asarray(idx))
        if not np.issubdtype(idx.dtype, np.integer) or idx.shape[-1] == 0:
            raise ValueError(f"idx must hold at least one integer row index, got {idx!r}")
        if np.any((idx < 0) | (idx >= self.n)):
            raise ValueError(f"idx must hold row indices in [0, n) = [0, {self.n}), got "
                             f"{idx[(idx < 0) | (idx >= self.n)].flat[0]}")
        return idx

    def batch_grad(self, w, idx) -> np.ndarray:
        """grad f(w) + mean of s_i over the rows idx;  (..., dim) -> (..., dim)."""
        return self._fast_batch_grad(w, self._idx(idx))

    def _fast_batch_grad(self, w, idx) -> np.ndarray:
        # idx already checked (train() draws it from MiniBatches)
        return self.base.grad(w) + self.shifts[idx].mean(axis=-2)

    def sample_grad(self, w, idx) -> np.ndarray:
        return self.batch_grad(w, idx)

    def sample_losses(self, w) -> np.ndarray:
        """Every L_i(w) = f(w) + s_i^T w;  (..., dim) -> (..., n)."""
        w = self._points(w)
        return np.asarray(self.base.value(w))[..., None] + w @ self.shifts.T


# ----------------------------------------------------------------------------------------------
# the training loop
# ----------------------------------------------------------------------------------------------
def _fmt(x, digits: int = 3) -> str:
    return V.fmt(x, digits)


def _fmt_lr(lr) -> str:
    arr = np.asarray(lr, dtype=float)
    return V.fmt(arr.reshape(()), 3) if arr.size == 1 else f"array of {arr.size} values"


@dataclass(eq=False, repr=False)
class TrainResult:
    """What :func:`train` returns (K = number of chains; the K axis is absent for one chain).

    Attributes
    ----------
    steps : int array (m,)          iterations t at which the loss was recorded (0 = the start;
                                    every ``eval_every``-th iteration, and the last one)
    losses : array (m,) / (K, m)    L(w_t) on the whole objective at those iterations
                                    (+inf for a chain after it diverged)
    trajectory : (m, d) / (K, m, d) w_t at those iterations (None with keep_trajectory=False)
    samples : int array (m,)        sample gradients computed up to t (the compute axis: b per
                                    iteration, the last batch of an epoch possibly smaller)
    epoch_losses : (E+1,) / (K, E+1) L(w) after each completed epoch (index 0 = the start)
    lrs : array (T,) / (T, K)       the learning rate used at each iteration
    iterations : int                T, updates made
    epochs : int                    completed epochs (T // iterations_per_epoch)
    iterations_per_epoch : int      ceil(n / b) (floor with drop_last)
    batch_size, n : int
    stop_reason : str               "completed", "diverged" or "callback"
    message : str                   what happened, in plain English
    diverged_at : int array (K,) or int or None   iteration at which a chain diverged (-1: never)
    final_w : (d,) / (K, d)         w_T (the last finite iterate of a diverged chain)
    """

    steps: np.ndarray
    losses: np.ndarray
    trajectory: np.ndarray | None
    samples: np.ndarray
    epoch_losses: np.ndarray
    lrs: np.ndarray
    iterations: int
    epochs: int
    iterations_per_epoch: int
    batch_size: int
    n: int
    stop_reason: str
    message: str
    final_w: np.ndarray
    diverged_at: Any = None
    chains: int | None = None

    @property
    def diverged(self):
        """True if the run (or, with chains, any chain) diverged."""
        if self.chains is None:
            return self.stop_reason == "diverged"
        return bool(np.any(np.asarray(self.diverged_at) >= 0))

    @property
    def final_loss(self):
        return self.losses[..., -1] if self.chains is not None else float(self.losses[-1])

    def __repr__(self) -> str:
        return f"TrainResult({self.message!r})"


def _set_lr(optimizer, lr_t, t: int, K: int | None) -> None:
    """optimizer.lr = schedule(t): a number, or with K chains one rate per chain (shape (K,))."""
    try:
        arr = np.asarray(lr_t, dtype=float)
    except (TypeError, ValueError):
        arr = None
    if arr is None or isinstance(lr_t, (bool, np.bool_)) or not (
            arr.ndim == 0 or (K is not None and arr.shape == (K,))):
        shape = f"a number, or one per chain: shape ({K},)" if K else "a number"
        raise ValueError(f"schedule(t) must return a learning rate ({shape}), got {lr_t!r} at step t = {t}")
    if not ((arr >= 0) & (arr < np.inf)).all():
        raise ValueError(f"schedule(t) must return a learning rate >= 0, got {lr_t!r} at step t = {t}")
    optimizer.lr = float(arr) if arr.ndim == 0 else arr[:, None]


def _batch_gradient(objective) -> Callable:
    """objective.batch_grad without re-checking indices that MiniBatches drew itself.

    For LinearRegressionMSE the same formula, -2/m X_B^T (y_B - X_B w), written for one point or
    one batch per chain (tests/test_minibatch.py checks it against batch_grad).
    """
    fast = getattr(objective, "_fast_batch_grad", None)
    if fast is not None:
        return fast
    if type(objective) is LinearRegressionMSE:
        X, y = objective.X, objective.y

        def grad(w, idx):
            XB = X[idx]
            if w.ndim == 1:
                return (-2.0 / idx.shape[-1]) * ((y[idx] - XB @ w) @ XB)
            r = y[idx] - np.einsum("kmd,kd->km", XB, w)
            return (-2.0 / idx.shape[-1]) * np.einsum("km,kmd->kd", r, XB)
        return grad
    return objective.batch_grad


def _divergence_words(err) -> str:
    """What an optimizer's DivergenceError says, in the runner's words, from its attributes
    (``err.what`` is built from ``quantity`` and ``key``; the message text is never parsed)."""
    if getattr(err, "quantity", None) is None:
        return "the optimizer reported a NaN/inf"
    return f"the optimizer reported: {err.what}"


def _train_setup(optimizer, objective, w0, seed, batch_size, sampling, drop_last, epochs, iterations,
                 eval_every, divergence_threshold, schedule, callback):
    """train's arguments checked: (n, W (a float64 copy of w0), K (None: one chain), loader, T,
    eval_every)."""
    for meth in ("value", "batch_grad"):
        if not callable(getattr(objective, meth, None)):
            raise ValueError(f"objective must have a {meth} method (e.g. LinearRegressionMSE), "
                             f"got {objective!r}")
    if not callable(getattr(optimizer, "step", None)):
        raise ValueError(f"optimizer must have a step(params, grads) method, got {optimizer!r}")
    n = getattr(objective, "n", None)
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"objective must say how many samples it sums over (objective.n), got {n!r}")
    n = int(n)
    try:
        W = np.array(w0, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"w0 (starting point) must be an array of numbers, got {w0!r}") from None
    dim = getattr(objective, "dim", W.shape[-1] if W.ndim else 1)
    if W.ndim not in (1, 2) or W.shape[-1] != dim:
        raise ValueError(f"w0 (starting point) must have shape ({dim},) or (K, {dim}) for K chains, "
                         f"got shape {W.shape}")
    if not np.all(np.isfinite(W)):
        raise ValueError("w0 (starting point) must contain only finite numbers")
    K = W.shape[0] if W.ndim == 2 else None
    seeds, k_seeds = _seeds(seed)
    if K is None and k_seeds is not None:
        raise ValueError(f"seed holds {k_seeds} seeds (one per chain) but w0 has shape {W.shape}: "
                         f"for K chains give w0 of shape (K, {dim})")
    if K is not None:
        if k_seeds is None:
            seeds = [seeds[0] + k for k in range(K)]
        elif k_seeds != K:
            raise ValueError(f"seed holds {k_seeds} seeds but w0 has {K} rows (chains)")
    loader = MiniBatches(n, batch_size, sampling=sampling, drop_last=drop_last,
                         seed=seeds if K is not None else seeds[0])
    if epochs is not None and iterations is not None:
        raise ValueError("give epochs or iterations, not both")
    if iterations is not None:
        T = V.count(iterations, "iterations")
    else:
        T = V.count(1 if epochs is None else epochs, "epochs") * len(loader)
    eval_every = V.count(eval_every, "eval_every")
    if isinstance(divergence_threshold, bool) or not isinstance(divergence_threshold, numbers.Real) \
            or not divergence_threshold > 0:
        raise ValueError(f"divergence_threshold must be a positive number, got {divergence_threshold!r}")
    V.function(schedule, "schedule", "t -> lr")
    V.function(callback, "callback", "(t, w, loss) -> bool")
    return n, W, K, loader, T, eval_every


def _diverged_why(W, L, limit, L0, divergence_threshold) -> str | None:
    """Why one chain counts as diverged after a step (None: it did not): w not finite, or the
    loss L (None where not recorded) not finite or beyond ``limit``."""
    if not np.all(np.isfinite(W)):
        return "w is not finite"
    if L is not None and not np.isfinite(L):
        return f"loss = {_fmt(L)}"
    if L is not None and abs(float(L)) > float(limit):
        return (f"loss = {_fmt(L)}, more than {_fmt(divergence_threshold, 2)} times the starting loss"
                if L > 0 else f"loss = {_fmt(L)}, far below the starting loss {_fmt(L0)}")
    return None


def _new_divergent_chains(W, W_prev, L, frozen, limit):
    """Chains (rows of W) that diverged at this step: not finite, or a recorded loss beyond
    ``limit``. As run_grid, every frozen or non-finite chain keeps its last finite iterate (W is
    reset in place). Returns (the mask of new ones, L with +inf for the non-finite ones)."""
    nonfinite = ~np.all(np.isfinite(W), axis=1) & ~frozen
    too_big = np.zeros_like(nonfinite)
    if L is not None:
        nonfinite |= ~frozen & ~np.isfinite(L)
        too_big = ~frozen & ~nonfinite & (np.abs(L) > limit)
    held = frozen | nonfinite
    if held.any():
        W[held] = W_prev[held]
    new = nonfinite | too_big
    if new.any() and L is not None:
        L = np.where(nonfinite, np.inf, L)
    return new, L


def _end_message(t, ipe, n, batch_size, K, frozen, diverged_at, stop_reason, message, losses, L0):
    """(stop_reason, message) of a finished run: "completed" unless it diverged or the callback
    stopped it; the message says how far it went and where the loss ended."""
    epochs_done = t // ipe
    ep = ("1 epoch" if epochs_done == 1 else f"{epochs_done} epochs") if t % ipe == 0 \
        else f"{t / ipe:.3g} epochs"
    what = f"{t} iterations = {ep} of {ipe} iterations (n = {n}, batch size {batch_size})"
    if K is not None:
        n_div = int(frozen.sum())
        if stop_reason is None:
            stop_reason = "completed"
        if n_div:
            first = int(diverged_at[diverged_at >= 0].min())
            message = (f"{what}; {n_div} of {K} chains diverged (the first at step {first}): "
                       f"try a smaller learning rate")
        else:
            message = f"{what}, {K} chains: final loss from {_fmt(np.min(losses[-1]), 4)} to {_fmt(np.max(losses[-1]), 4)}"
        if stop_reason == "callback":
            message = f"stopped by the callback after {what}"
    elif stop_reason is None:
        stop_reason = "completed"
        message = f"{what}: loss {_fmt(L0, 4)} -> {_fmt(losses[-1], 4)}"
    elif stop_reason == "callback":
        message = f"stopped by the callback after {what}: loss {_fmt(losses[-1], 4)}"
    return stop_reason, message


def _lr_array(lrs, K):
    """The recorded learning rates: shape (T,), or (T, K) when a schedule gave one rate per chain."""
    if not lrs:
        return np.zeros(0)
    if all(a.size == 1 for a in lrs):
        return np.array([a[0] for a in lrs])
    return np.stack([np.broadcast_to(a, (K,)) for a in lrs])


def train(optimizer, objective, w0, *, batch_size: int = 1, epochs: int | None = None,
          iterations: int | None = None, sampling: str = "reshuffle", drop_last: bool = False,
          seed=0, schedule: Callable[[int], Any] | None = None, eval_every: int = 1,
          divergence_threshold: float = 1e8, progress: bool | None = None,
          callback: Callable[[int, np.ndarray, Any], Any] | None = None,
          keep_trajectory: bool = True) -> TrainResult:
    """Mini-batch SGD with any course optimizer on an objective with per-batch gradients.

    For t = 1, 2, ..., T (``optimizer.reset()`` first)::

        idx = the next batch of MiniBatches(n, batch_size, sampling, drop_last, seed)
        optimizer.lr = schedule(t)                               # only with a schedule
        p = optimizer.gradient_point({"w": w})["w"]              # w itself, except look-ahead Nesterov
        optimizer.step({"w": w}, {"w": objective.batch_grad(p, idx)})

    ``batch_grad(w, idx)`` is the gradient of the mean loss over the rows idx,
    1/m sum_{i in idx} grad L_i(w) (``LinearRegressionMSE``, ``NoisySum``). With ``batch_size=1``
    this is SGD on single samples; with ``batch_size=n`` and ``sampling="fixed"`` it is full-batch
    gradient descent (one iteration = one epoch).

    Parameters
    ----------
    optimizer : any course optimizer (``step``, ``reset``; ``lr`` for a schedule).
    objective : has ``n``, ``value(w)`` (the full loss L, recorded) and ``batch_grad(w, idx)``.
    w0 : (d,), or (K, d) for K chains (then ``seed`` holds K seeds, or one seed s meaning
        s, s + 1, ..., s + K - 1); not modified.
    batch_size : b (default 1).  epochs / iterations : how long (give one; default one epoch);
        ``iterations`` may end inside an epoch.
    sampling, drop_last, seed : as :class:`MiniBatches`.
    schedule : callable t -> learning rate (t from 1), e.g. ``course_lib.optim.schedules.power``;
        with chains it may return one rate per chain, shape (K,). The optimizer's ``lr`` is
        restored at the end.
    eval_every : record L(w_t) every this many iterations (default 1; always at epoch ends and at
        the last iteration). Recording costs a full pass over the data, so use e.g. 100 on big data.
    divergence_threshold : a chain diverges when w_t is not finite or, where recorded,
        |L(w_t)| > divergence_threshold * max(1, |L(w_0)|). One chain: the run stops with the
        runner's message ("diverged at step t (...); try a smaller learning rate (lr = ...)").
        Chains: a diverged chain is frozen at its last finite iterate (its loss reads +inf from
        then on) and the others go on; the optimizer's own finiteness check is switched off
        during such a run (the loop checks every chain itself).
    progress : tqdm bar; None (default) = only when a person can see it (a Jupyter kernel or a
        terminal, never under pytest / nbval) and only once the run has lasted PROGRESS_DELAY s.
    callback : callable(t, w, loss) called at every recorded iteration; True stops the run.
    keep_trajectory : record w_t too (default True).
    """
    n, W, K, loader, T, eval_every = _train_setup(
        optimizer, objective, w0, seed, batch_size, sampling, drop_last, epochs, iterations, eval_every,
        divergence_threshold, schedule, callback)
    ipe = len(loader)

    def full_loss(w):
        with np.errstate(all="ignore"):
            return np.asarray(objective.value(w), dtype=np.float64)

    L0 = full_loss(W)
    if not np.all(np.isfinite(L0)):
        raise ValueError(f"the loss at w0 (starting point) is not finite: L(w0) = {L0}")
    limit = divergence_threshold * np.maximum(1.0, np.abs(L0))
    frozen = np.zeros(K or 1, dtype=bool)
    diverged_at = np.full(K or 1, -1)

    steps, losses, samples_rec = [0], [L0.copy()], [0]
    traj = [W.copy()] if keep_trajectory else None
    epoch_losses = [L0.copy()]
    lrs = []
    samples = 0
    t = 0
    stop_reason, message = None, None

    if hasattr(optimizer, "reset"):
        optimizer.reset()
    had_lr, lr_saved = hasattr(optimizer, "lr"), getattr(optimizer, "lr", None)
    check_saved = getattr(optimizer, "check_finite", None)
    if K is not None and check_saved:
        optimizer.check_finite = False
    params = {"w": W}
    bar = progress_bar(progress, T, getattr(objective, "name", "train"), unit="it")

    batch_grad = _batch_gradient(objective)

    def lr_now():
        return getattr(optimizer, "lr", None)

    def record(t, L):
        steps.append(t)
        # a frozen chain reads +inf after the step at which it diverged (as run_grid)
        losses.append(np.where(frozen & (diverged_at < t), np.inf, L) if K is not None else L)
        samples_rec.append(samples)
        if keep_trajectory:
            traj.append(W.copy())

    try:
        with np.errstate(over="ignore", invalid="ignore"):
            while t < T and stop_reason is None:
                epoch_batches = loader.epoch()
                for j, idx in enumerate(epoch_batches):
                    if t == T or stop_reason is not None:
                        break
                    t += 1
                    if schedule is not None:
                        _set_lr(optimizer, schedule(t), t, K)
                    lrs.append(np.asarray(lr_now() if lr_now() is not None else np.nan,
                                          dtype=float).reshape(-1))
                    W_prev = W.copy()
                    gp = getattr(optimizer, "gradient_point", None)
                    point = W if gp is None else gp(params)["w"]
                    g = np.asarray(batch_grad(point, idx), dtype=np.float64)
                    if K is not None and frozen.any():
                        g[frozen] = 0.0
                    try:
                        optimizer.step(params, {"w": g})
                    except FloatingPointError as err:      # DivergenceError (one chain only)
                        W[...] = W_prev
                        stop_reason, diverged_at[0] = "diverged", t
                        message = (f"diverged at step {t} ({_divergence_words(err)}); "
                                   f"try a smaller learning rate (lr = {_fmt_lr(lr_now())})")
                        break
                    samples += idx.shape[-1]
                    end_of_epoch = j == len(epoch_batches) - 1
                    due = t % eval_every == 0 or t == T or end_of_epoch
                    L = full_loss(W) if due else None
                    if K is not None:
                        new, L = _new_divergent_chains(W, W_prev, L, frozen, limit)
                        if new.any():
                            diverged_at[new] = t
                            frozen |= new
                            if frozen.all():
                                stop_reason = "diverged"
                    else:
                        why = _diverged_why(W, L, limit, L0, divergence_threshold)
                        if why is not None:
                            stop_reason, diverged_at[0] = "diverged", t
                            hint = ("the objective may be unbounded below" if L is not None and L < 0
                                    else f"try a smaller learning rate (lr = {_fmt_lr(lr_now())})")
                            message = f"diverged at step {t} ({why}); {hint}"
                            if L is not None and np.isfinite(L) and np.all(np.isfinite(W)):
                                record(t, L)        # as the runner: a finite iterate is kept
                            else:
                                W[...] = W_prev
                            break
                    if L is not None:
                        record(t, L)
                        if end_of_epoch:
                            epoch_losses.append(np.array(losses[-1], copy=True))
                        if callback is not None and bool(callback(t, W.copy(), L)):
                            stop_reason = "callback"
                    if bar is not None and (t % 100 == 0 or t == T):
                        bar.update(t - bar.n)
    finally:
        if bar is not None:
            bar.close()
        if had_lr and schedule is not None:
            optimizer.lr = lr_saved
        if K is not None and check_saved:
            optimizer.check_finite = check_saved

    epochs_done = t // ipe
    stop_reason, message = _end_message(t, ipe, n, loader.batch_size, K, frozen, diverged_at, stop_reason,
                                        message, losses, L0)
    lr_arr = _lr_array(lrs, K)
    return TrainResult(
        steps=np.array(steps), losses=np.array(losses).T if K is not None else np.array(losses, dtype=float),
        trajectory=(np.stack(traj, axis=-2) if K is not None else np.array(traj)) if keep_trajectory else None,
        samples=np.array(samples_rec),
        epoch_losses=np.array(epoch_losses).T if K is not None else np.array(epoch_losses, dtype=float),
        lrs=lr_arr, iterations=t, epochs=epochs_done, iterations_per_epoch=ipe,
        batch_size=loader.batch_size, n=n, stop_reason=stop_reason, message=message,
        final_w=W.copy(), diverged_at=diverged_at if K is not None else (int(diverged_at[0]) if diverged_at[0] >= 0 else None),
        chains=K)
