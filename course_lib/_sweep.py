"""The vectorised engine of :func:`course_lib.runner.run_grid`: K settings as the K rows of one
iterate array, diverged rows frozen, results written in blocks, rates fitted in row blocks."""
from __future__ import annotations

import math

import numpy as np

from .rates import _ROUNDING_FACTOR, _TINY, _fit_rates


def _start_loss(objective, w0) -> float:
    loss0 = float(objective.value(w0))
    if not math.isfinite(loss0):
        raise ValueError(f"the loss at w0 (starting point) is not finite: L(w0) = {loss0}")
    return loss0



class _Sweep:
    """The K rows of a run_grid: iterates W (K, d), the frozen (diverged) rows, and the result
    arrays (K, steps + 1), filled a block of steps at a time (time-major blocks, written row-major
    once: no full-size temporary)."""

    BLOCK = 32

    def __init__(self, objective, w0, K: int, steps: int, threshold: float):
        self.objective = objective
        loss0 = _start_loss(objective, w0)
        self.limit = threshold * max(1.0, abs(loss0))
        w_star = getattr(objective, "minimizer", None)
        self.w_star = None if w_star is None else np.asarray(w_star, dtype=np.float64).reshape(w0.size)
        self.W = np.tile(w0, (K, 1))
        self.losses = np.empty((K, steps + 1))
        self.dist = np.full((K, steps + 1), np.nan)
        self.block_L = np.empty((self.BLOCK, K))
        self.block_D = np.full((self.BLOCK, K), np.nan)
        self.losses[:, 0] = loss0
        if self.w_star is not None:
            self.dist[:, 0] = np.linalg.norm(w0 - self.w_star)
        self.frozen = np.zeros(K, dtype=bool)
        self.diverged_at = np.full(K, -1)
        self.kept = np.zeros(K, dtype=bool)   # was the point at the divergence step finite (kept)?

    def step(self, optimizer, t: int) -> None:
        """Step t for every row, then record L(w_t) and ||w_t - w*|| and freeze the new divergers."""
        params, frozen = {"w": self.W}, self.frozen
        W_prev = self.W.copy()
        point = optimizer.gradient_point(params)["w"] if getattr(optimizer, "lookahead", False) else self.W
        G = np.asarray(self.objective.grad(point), dtype=np.float64)
        any_frozen = frozen.any()
        if any_frozen:
            G = np.where(frozen[:, None], 0.0, G)
        if getattr(optimizer, "needs_hessian", False):
            H = np.asarray(self.objective.hessian(point), dtype=np.float64)
            optimizer.step(params, {"w": G}, hessians={"w": H})
        else:
            optimizer.step(params, {"w": G})
        W = self.W = params["w"]
        if any_frozen:
            np.copyto(W, W_prev, where=frozen[:, None])
        L, D = self.block_L[(t - 1) % self.BLOCK], self.block_D[(t - 1) % self.BLOCK]
        L[:] = np.asarray(self.objective.value(W), dtype=np.float64).reshape(-1)
        if self.w_star is not None:
            diff = W - self.w_star
            np.sqrt(np.einsum("ki,ki->k", diff, diff), out=D)
            ok = np.isfinite(L) & np.isfinite(D)          # dist is finite iff every w_i is
        else:
            ok = np.isfinite(L) & np.isfinite(W).all(axis=1)
        new = ~ok | (np.abs(L) > self.limit)
        new &= ~frozen
        if new.any():
            self.diverged_at[new] = t
            self.kept[new] = ok[new]
            # a diverging row keeps its last finite point; a non-finite one is dropped
            W[new] = np.where(ok[new, None], W[new], W_prev[new])
            frozen |= new
            freeze = getattr(optimizer, "freeze_rows", None)
            if freeze is not None:
                freeze(frozen)
        if t % self.BLOCK == 0:
            self.flush(t)

    def flush(self, t: int) -> None:
        """Copy the block of steps ending at t into the result arrays."""
        n = (t - 1) % self.BLOCK + 1
        self.losses[:, t - n + 1:t + 1] = self.block_L[:n].T
        if self.w_star is not None:
            self.dist[:, t - n + 1:t + 1] = self.block_D[:n].T

    def finish(self, steps: int) -> None:
        """Flush the last block; after divergence a row reads +inf (frozen rows were held)."""
        if steps % self.BLOCK:
            self.flush(steps)
        del self.block_L, self.block_D
        first_inf = np.where(self.kept, self.diverged_at + 1, self.diverged_at)
        for r in np.flatnonzero(self.frozen):
            self.losses[r, first_inf[r]:] = np.inf
            if self.w_star is not None:
                self.dist[r, first_inf[r]:] = np.inf

    def rates(self) -> np.ndarray:
        """The fitted rate of every row: the finite part above rounding level eps * ||w*||."""
        K = self.W.shape[0]
        if self.w_star is None:
            return np.full(K, np.nan)
        floor = max(_TINY, _ROUNDING_FACTOR * np.finfo(np.float64).eps * float(np.linalg.norm(self.w_star)))
        rate = _fit_rates(self.dist, floor, None, None)[0]
        return np.where(self.frozen, np.fmax(rate, 1.0), rate)
