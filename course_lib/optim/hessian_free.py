"""Second-order information without the Hessian matrix (chapter 01, "escape routes").

For a network with n parameters the Hessian has n^2 entries and solving H d = g costs O(n^3)
operations (:func:`hessian_memory_table`). Three ways around it:

1. **Hessian-vector products** (:func:`hvp`). H v is the directional derivative of the gradient:
   H v = d/dt grad C(w + t v) at t = 0 = grad_w (grad C(w) . v). Automatic differentiation gets it
   with a *second backward pass* through the graph of the first one, for about the cost of two
   gradients and O(n) memory; H itself is never formed.
2. **Truncated Newton** (Newton-CG, :func:`truncated_newton_step`): solve H d = -g approximately by
   the conjugate gradient method (:func:`conjugate_gradient`), which touches H only through
   products H p, stopped after ``cg_iters`` iterations. With cg_iters = n (exact arithmetic) it is
   the exact Newton step.
3. **Quasi-Newton** (L-BFGS, :func:`lbfgs_minimize`): build a low-rank approximation of H^{-1} from
   the last ``history_size`` gradient differences; here ``torch.optim.LBFGS``.

Conventions: ``f_torch`` is a Python function mapping a float64 torch tensor w of shape (n,) to a
scalar tensor (built from differentiable torch operations). Vectors may be given as NumPy arrays or
torch tensors; results are NumPy float64 arrays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

__all__ = [
    "hvp",
    "hvps",
    "explicit_hessian",
    "hessian_from_hvps",
    "hvp_check",
    "CGResult",
    "conjugate_gradient",
    "TruncatedNewtonStep",
    "truncated_newton_step",
    "TruncatedNewtonResult",
    "truncated_newton",
    "LBFGSResult",
    "lbfgs_minimize",
    "format_bytes",
    "format_count",
    "format_seconds",
    "hessian_memory_table",
    "format_memory_table",
]


# ---------------------------------------------------------------------------------------------
# Hessian-vector products
# ---------------------------------------------------------------------------------------------
def _as_tensor(x, name: str) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        t = x.detach().to(torch.float64).clone()
    else:
        t = torch.as_tensor(np.asarray(x, dtype=float), dtype=torch.float64).clone()
    if t.ndim != 1:
        raise ValueError(f"{name} must be a 1-D vector of parameters, got shape {tuple(t.shape)}")
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} contains NaN or infinity")
    return t


def _grad_graph(f_torch, w):
    """w (n,) -> (w with requires_grad, g = grad f(w) with a graph for a second backward pass)."""
    w = _as_tensor(w, "w").requires_grad_(True)
    y = f_torch(w)
    if not isinstance(y, torch.Tensor) or y.numel() != 1:
        raise ValueError("f_torch must return a scalar torch tensor (the loss)")
    (g,) = torch.autograd.grad(y.reshape(()), w, create_graph=True)
    return w, g


def hvp(f_torch, w, v) -> np.ndarray:
    """H(w) v by a second backward pass, without forming H.

        g(w) = grad f(w)           (first backward pass, graph kept: create_graph=True)
        H v  = grad_w (g(w) . v)   (second backward pass through that graph)

    w, v : (n,) arrays or tensors.  Returns H v, shape (n,), float64 NumPy.
    Cost: about two gradient evaluations; memory O(n).
    """
    w, g = _grad_graph(f_torch, w)
    v = _as_tensor(v, "v")
    if v.shape != w.shape:
        raise ValueError(f"v must have the shape of w, {tuple(w.shape)}, got {tuple(v.shape)}")
    if not g.requires_grad:  # f is linear in w: H = 0
        return np.zeros(w.shape[0])
    (Hv,) = torch.autograd.grad(g @ v, w, allow_unused=True)
    return np.zeros(w.shape[0]) if Hv is None else Hv.detach().numpy().copy()


def hvps(f_torch, w, V) -> np.ndarray:
    """Several products at once: rows of V (k, n) -> rows H v_i, shape (k, n).

    The gradient graph is built once and differentiated k times (``retain_graph=True``), which is
    how one would probe a few directions of curvature cheaply."""
    w, g = _grad_graph(f_torch, w)
    V = np.atleast_2d(V.detach().numpy() if isinstance(V, torch.Tensor) else np.asarray(V, dtype=float))
    if V.ndim != 2 or V.shape[1] != w.shape[0]:
        raise ValueError(f"V must have shape (k, {w.shape[0]}) (one vector per row), got {V.shape}")
    out = np.zeros(V.shape)
    if not g.requires_grad:
        return out
    for i, v in enumerate(V):
        (Hv,) = torch.autograd.grad(g @ torch.as_tensor(v), w, retain_graph=True, allow_unused=True)
        if Hv is not None:
            out[i] = Hv.detach().numpy()
    return out


def hessian_from_hvps(f_torch, w) -> np.ndarray:
    """The full Hessian assembled column by column from n products H e_j (n backward passes);
    only sensible for small n, to check :func:`hvp`."""
    n = _as_tensor(w, "w").shape[0]
    return hvps(f_torch, w, np.eye(n)).T


def explicit_hessian(f_torch, w) -> np.ndarray:
    """The full n x n Hessian from ``torch.autograd.functional.hessian`` in float64 (an independent
    autodiff route, for comparison). Memory n^2: small n only."""
    w = _as_tensor(w, "w")
    H = torch.autograd.functional.hessian(f_torch, w)
    return H.detach().numpy().reshape(w.shape[0], w.shape[0]).copy()


def hvp_check(f_torch, w, v, H=None) -> dict:
    """Compare :func:`hvp` with H @ v for an explicit Hessian H (default: :func:`explicit_hessian`).

    Returns dict(hvp=..., H_at_v=..., max_abs_diff=max|hvp - H v|, rel_error=max|a-b| / max(|a|+|b|)).
    """
    a = hvp(f_torch, w, v)
    H = explicit_hessian(f_torch, w) if H is None else np.asarray(H, dtype=float)
    b = H @ (v.detach().numpy() if isinstance(v, torch.Tensor) else np.asarray(v, dtype=float))
    diff = float(np.max(np.abs(a - b)))
    scale = float(np.max(np.abs(a) + np.abs(b)))
    return {"hvp": a, "H_at_v": b, "max_abs_diff": diff,
            "rel_error": diff / max(scale, np.finfo(float).tiny)}


# ---------------------------------------------------------------------------------------------
# Conjugate gradient and truncated Newton
# ---------------------------------------------------------------------------------------------
@dataclass
class CGResult:
    """x: the approximate solution of A x = b; iterations: CG iterations done (= products A p);
    residual_norms: ||b - A x_k|| for k = 0..iterations; converged: ||r|| <= tol ||b||;
    negative_curvature: stopped because p^T A p <= 0 (A not positive definite along p)."""

    x: np.ndarray
    iterations: int
    residual_norms: np.ndarray
    converged: bool
    negative_curvature: bool = False


def conjugate_gradient(matvec, b, tol: float = 1e-10, max_iter: int | None = None, x0=None,
                       stop_on_negative_curvature: bool = True) -> CGResult:
    """Solve A x = b for symmetric positive definite A, given only ``matvec(p) = A p``.

    Standard CG (Hestenes-Stiefel), starting from x0 (default 0):

        r = b - A x,  p = r
        repeat:  alpha = r.r / p.A p;   x += alpha p;   r_new = r - alpha A p
                 beta = r_new.r_new / r.r;   p = r_new + beta p

    Stops when ||r|| <= tol * ||b|| or after max_iter iterations (default n = len(b); in exact
    arithmetic CG finishes in at most n). If p^T A p <= 0 (A is not positive definite) it stops
    there and returns the current x (``negative_curvature=True``), as truncated Newton does; with
    stop_on_negative_curvature=False it raises a ValueError instead.
    """
    b = np.asarray(b, dtype=float)
    if b.ndim != 1:
        raise ValueError(f"b must be a 1-D vector, got shape {b.shape}")
    n = b.shape[0]
    if max_iter is None:
        max_iter = n
    if int(max_iter) != max_iter or max_iter < 0:
        raise ValueError(f"max_iter (number of CG iterations) must be a non-negative integer, got {max_iter}")
    if not tol >= 0:
        raise ValueError(f"tol (relative residual tolerance) must be non-negative, got {tol}")
    x = np.zeros(n) if x0 is None else np.array(x0, dtype=float)
    r = b - np.asarray(matvec(x), dtype=float) if x0 is not None else b.copy()
    p = r.copy()
    rr = float(r @ r)
    b_norm = float(np.linalg.norm(b))
    norms = [math.sqrt(rr)]
    k = 0
    negative = False
    while k < max_iter and math.sqrt(rr) > tol * b_norm and rr > 0:
        Ap = np.asarray(matvec(p), dtype=float)
        pAp = float(p @ Ap)
        if pAp <= 0:
            if not stop_on_negative_curvature:
                raise ValueError(f"conjugate_gradient: A is not positive definite (p^T A p = {pAp:.3g} "
                                 f"at iteration {k + 1})")
            negative = True
            break
        alpha = rr / pAp
        x = x + alpha * p
        r = r - alpha * Ap
        rr_new = float(r @ r)
        p = r + (rr_new / rr) * p
        rr = rr_new
        k += 1
        norms.append(math.sqrt(rr))
    return CGResult(x=x, iterations=k, residual_norms=np.array(norms),
                    converged=bool(math.sqrt(rr) <= tol * b_norm), negative_curvature=negative)


@dataclass
class TruncatedNewtonStep:
    """dw: the step (approximately -H^{-1} g); g: the gradient at w; loss: f(w);
    cg: the CGResult of the inner solve (cg.iterations = number of Hessian-vector products)."""

    dw: np.ndarray
    g: np.ndarray
    loss: float
    cg: CGResult


def truncated_newton_step(f_torch, w, cg_iters: int, tol: float = 0.0) -> TruncatedNewtonStep:
    """One truncated-Newton (Newton-CG) step: dw ~ -H^{-1} g from at most ``cg_iters`` iterations of
    CG on H dw = -g, with H touched only through :func:`hvp` (H is never formed).

    cg_iters = n gives the exact Newton step (up to round-off); fewer iterations give a cheaper,
    approximate one. If CG meets negative curvature in its first iteration the step is the steepest
    descent direction -g (the standard safeguard); later, the CG iterate so far.
    """
    if int(cg_iters) != cg_iters or cg_iters < 1:
        raise ValueError(f"cg_iters (number of CG iterations) must be a positive integer, got {cg_iters}")
    wt, gt = _grad_graph(f_torch, w)
    loss = float(f_torch(wt.detach()))
    g = gt.detach().numpy().copy()

    def matvec(p):
        if not gt.requires_grad:
            return np.zeros_like(p)
        (Hp,) = torch.autograd.grad(gt @ torch.as_tensor(p), wt, retain_graph=True, allow_unused=True)
        return np.zeros_like(p) if Hp is None else Hp.detach().numpy()

    cg = conjugate_gradient(matvec, -g, tol=tol, max_iter=int(cg_iters))
    dw = cg.x
    if cg.negative_curvature and cg.iterations == 0:
        dw = -g
    return TruncatedNewtonStep(dw=dw, g=g, loss=loss, cg=cg)


@dataclass
class TruncatedNewtonResult:
    """trajectory (T+1, n), losses (T+1,), grad_norms (T+1,), cg_iterations (T,) per outer step,
    hvp_count (total Hessian-vector products), steps T, converged (grad norm <= tol_grad)."""

    trajectory: np.ndarray
    losses: np.ndarray
    grad_norms: np.ndarray
    cg_iterations: np.ndarray
    hvp_count: int
    steps: int
    converged: bool


def truncated_newton(f_torch, w0, cg_iters: int, *, lr: float = 1.0, max_steps: int = 50,
                     tol_grad: float = 1e-8, cg_tol: float = 0.0) -> TruncatedNewtonResult:
    """Repeat w <- w + lr * dw with dw from :func:`truncated_newton_step` until ||g|| <= tol_grad or
    max_steps outer steps."""
    if not lr > 0:
        raise ValueError(f"lr (step fraction eta) must be positive, got {lr}")
    w = _as_tensor(w0, "w0").numpy().copy()
    traj, losses, gnorms, iters = [w.copy()], [], [], []
    converged = False
    for _ in range(max_steps + 1):
        st = truncated_newton_step(f_torch, w, cg_iters, tol=cg_tol)
        losses.append(st.loss)
        gnorms.append(float(np.linalg.norm(st.g)))
        if gnorms[-1] <= tol_grad:
            converged = True
            break
        if len(iters) == max_steps:
            break
        w = w + lr * st.dw
        traj.append(w.copy())
        iters.append(st.cg.iterations)
    return TruncatedNewtonResult(trajectory=np.array(traj), losses=np.array(losses),
                                 grad_norms=np.array(gnorms), cg_iterations=np.array(iters, dtype=int),
                                 hvp_count=int(np.sum(iters)), steps=len(iters), converged=converged)


# ---------------------------------------------------------------------------------------------
# L-BFGS
# ---------------------------------------------------------------------------------------------
@dataclass
class LBFGSResult:
    """trajectory (T+1, n): w after each L-BFGS iteration (row 0 = w0); losses (T+1,);
    grad_norms (T+1,); steps T; n_evals: function+gradient evaluations (closure calls, line search
    included); converged: grad norm <= tol_grad."""

    trajectory: np.ndarray
    losses: np.ndarray
    grad_norms: np.ndarray
    steps: int
    n_evals: int
    converged: bool
    evals_per_step: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))


def lbfgs_minimize(f_torch, w0, *, max_steps: int = 100, lr: float = 1.0, history_size: int = 10,
                   line_search_fn: str | None = "strong_wolfe", tol_grad: float = 1e-10,
                   max_ls: int = 25) -> LBFGSResult:
    """Minimise f_torch from w0 with ``torch.optim.LBFGS`` (float64), recording every iterate.

    ``step()`` is called with max_iter=1 so that each call is one L-BFGS iteration (the optimizer
    keeps its curvature history between calls); iterates are recorded after each. Each call may
    spend up to ``max_ls`` extra evaluations in the strong-Wolfe line search (torch takes that
    budget from ``max_eval``, which is set to 1 + max_ls). Stops when ||grad f|| <= tol_grad or
    after max_steps iterations.
    """
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr}")
    if int(history_size) != history_size or history_size < 1:
        raise ValueError(f"history_size must be a positive integer, got {history_size}")
    w = _as_tensor(w0, "w0").requires_grad_(True)
    if int(max_ls) != max_ls or max_ls < 1:
        raise ValueError(f"max_ls (line-search evaluations per iteration) must be a positive integer, got {max_ls}")
    opt = torch.optim.LBFGS([w], lr=lr, max_iter=1, max_eval=1 + int(max_ls), history_size=int(history_size),
                            line_search_fn=line_search_fn, tolerance_grad=0.0, tolerance_change=0.0)
    n_evals = 0

    def closure():
        nonlocal n_evals
        n_evals += 1
        opt.zero_grad()
        loss = f_torch(w)
        loss.backward()
        return loss

    def record():
        wd = w.detach().clone().requires_grad_(True)
        y = f_torch(wd)
        (g,) = torch.autograd.grad(y, wd)
        return wd.detach().numpy().copy(), float(y.detach()), float(g.norm())

    traj, losses, gnorms, per_step = [], [], [], []
    x, fx, gn = record()
    traj.append(x), losses.append(fx), gnorms.append(gn)
    for _ in range(max_steps):
        if gnorms[-1] <= tol_grad:
            break
        before = n_evals
        opt.step(closure)
        per_step.append(n_evals - before)
        x, fx, gn = record()
        if not (np.isfinite(fx) and np.all(np.isfinite(x))):
            raise ValueError(f"L-BFGS diverged at iteration {len(traj)} (loss = {fx}); try a smaller lr "
                             "or line_search_fn='strong_wolfe'")
        traj.append(x), losses.append(fx), gnorms.append(gn)
    return LBFGSResult(trajectory=np.array(traj), losses=np.array(losses), grad_norms=np.array(gnorms),
                       steps=len(traj) - 1, n_evals=n_evals, converged=bool(gnorms[-1] <= tol_grad),
                       evals_per_step=np.array(per_step, dtype=int))


# ---------------------------------------------------------------------------------------------
# Why the explicit Hessian is impractical: memory and cost
# ---------------------------------------------------------------------------------------------
_BYTE_UNITS = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]


def format_bytes(n_bytes: float) -> str:
    """Human-readable size with decimal (SI) units, 1 kB = 1000 B: 4e6 -> '4 MB'."""
    if n_bytes < 0:
        raise ValueError(f"n_bytes must be non-negative, got {n_bytes}")
    k = 0
    x = float(n_bytes)
    while x >= 1000 and k < len(_BYTE_UNITS) - 1:
        x /= 1000.0
        k += 1
    return f"{x:.3g} {_BYTE_UNITS[k]}"


def format_count(x: float, sci_from: float = 1e6) -> str:
    """A count for a table: plain integer with thousands separators below ``sci_from``,
    else mantissa-e-exponent with 3 significant digits: 21137 -> '21,137', 6.67e26 -> '6.67e26',
    1e9 -> '1e9'."""
    if x < 0:
        raise ValueError(f"x must be non-negative, got {x}")
    if x < sci_from:
        return f"{x:,.0f}"
    e = int(math.floor(math.log10(x)))
    m = float(f"{x / 10**e:.3g}")
    if m >= 10:
        m, e = m / 10, e + 1
    return f"{m:.3g}e{e}"


_SECONDS = [("years", 365.25 * 86400), ("days", 86400.0), ("hours", 3600.0), ("min", 60.0), ("s", 1.0),
            ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)]


def format_seconds(s: float) -> str:
    """Human-readable duration: 90 -> '1.5 min', 3.2e7 -> '1.01 years'."""
    if s < 0:
        raise ValueError(f"duration must be non-negative, got {s}")
    for name, unit in _SECONDS:
        if s >= unit:
            v = s / unit
            return f"{v:.3g} {name}" if v < 1000 else f"{format_count(v)} {name}"
    return f"{s / 1e-9:.3g} ns"


def hessian_memory_table(ns=(1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9), bytes_per_entry=(4, 8),
                         flops_per_second: float = 1e12) -> list[dict]:
    """Memory and work of the explicit Hessian for n parameters, one dict per n.

    Each row holds
      n, entries = n^2,
      f"bytes_{b}" = n^2 * b and f"memory_{b}" (human readable) for each b in bytes_per_entry
      (4: float32, 8: float64), plus f"weights_{b}" = n * b for comparison (storing w itself),
      solve_flops = 2/3 n^3 (LU factorisation, what ``numpy.linalg.solve`` does; Cholesky needs
      half of it) and solve_time = solve_flops / flops_per_second (human readable; default
      1e12 flop/s, about one teraflop per second).
    All numbers are computed from n, none is typed in.
    """
    bpe = (bytes_per_entry,) if np.isscalar(bytes_per_entry) else tuple(bytes_per_entry)
    for b in bpe:
        if not b > 0:
            raise ValueError(f"bytes_per_entry must be positive, got {b}")
    if not flops_per_second > 0:
        raise ValueError(f"flops_per_second must be positive, got {flops_per_second}")
    rows = []
    for n in ns:
        if not n >= 1:
            raise ValueError(f"the number of parameters n must be at least 1, got {n}")
        n = int(round(n))
        entries = n * n  # exact Python integer
        row = {"n": n, "entries": entries}
        for b in bpe:
            row[f"weights_{b}"] = n * int(b)
            row[f"bytes_{b}"] = entries * int(b)
            row[f"memory_{b}"] = format_bytes(entries * int(b))
        flops = 2.0 / 3.0 * float(n) ** 3
        row["solve_flops"] = flops
        row["flops_per_second"] = float(flops_per_second)
        row["solve_time_s"] = flops / flops_per_second
        row["solve_time"] = format_seconds(flops / flops_per_second)
        rows.append(row)
    return rows


def format_memory_table(rows: list[dict]) -> str:
    """The rows of :func:`hessian_memory_table` as a fixed-width text table."""
    bkeys = sorted(int(k.split("_")[1]) for k in rows[0] if k.startswith("bytes_"))
    head = ["n", "entries n^2"] + [f"H in {'float32' if b == 4 else 'float64' if b == 8 else f'{b} B'}"
                                   for b in bkeys] + ["solve 2/3 n^3 flop",
                                   f"time at {format_count(rows[0]['flops_per_second'])} flop/s"]
    body = []
    for r in rows:
        body.append([format_count(r["n"], sci_from=1e3), format_count(r["entries"], sci_from=1e3)]
                    + [r[f"memory_{b}"] for b in bkeys]
                    + [format_count(r["solve_flops"]), r["solve_time"]])
    widths = [max(len(h), *(len(row[i]) for row in body)) for i, h in enumerate(head)]
    lines = ["  ".join(h.rjust(wd) for h, wd in zip(head, widths))]
    lines.append("  ".join("-" * wd for wd in widths))
    for row in body:
        lines.append("  ".join(c.rjust(wd) for c, wd in zip(row, widths)))
    return "\n".join(lines)
