"""The from-scratch optimizers of course_lib.optim against torch.optim, step for step.

One parameter of n elements (1e4 and 1e6), float32 and float64, a fixed gradient, lr small enough
that nothing diverges. For each optimizer torch.optim has, the median time of a step over
interleaved rounds of: ours (check_finite=True, the default), ours with check_finite=False,
torch.optim's default (on the CPU the single-tensor loop), ``foreach=True`` and ``fused=True``
(where torch has it). Targets (issue 8): ours <= 1.5 x torch's default on 1e6 elements in both
dtypes; the finiteness check <= 10% of our step; float32 kept float32 in every buffer; no
parameter-sized temporary allocated per step (tracemalloc).

    .venv/bin/python benchmarks/bench_optimizers.py [--quick]
"""
from __future__ import annotations

import sys
import tracemalloc

import numpy as np

from _timing import interleaved, ms, table, verdict

LR = 1e-5
TARGET = 1.5
CHECK_SHARE = 0.10


def _cases():
    import torch

    from course_lib.optim import SGD, Adagrad, Adam, RMSprop

    return [
        ("SGD", lambda **k: SGD(LR, **k), torch.optim.SGD, dict(lr=LR), True),
        ("SGD momentum", lambda **k: SGD(LR, momentum=0.9, **k), torch.optim.SGD,
         dict(lr=LR, momentum=0.9), True),
        ("SGD nesterov", lambda **k: SGD(LR, momentum=0.9, nesterov=True, **k), torch.optim.SGD,
         dict(lr=LR, momentum=0.9, nesterov=True), True),
        ("Adagrad", lambda **k: Adagrad(LR, **k), torch.optim.Adagrad, dict(lr=LR), True),
        ("RMSprop", lambda **k: RMSprop(LR, **k), torch.optim.RMSprop, dict(lr=LR), False),
        ("Adam", lambda **k: Adam(LR, **k), torch.optim.Adam, dict(lr=LR), True),
    ]


def _contenders(make, tcls, tkw, has_fused, n, dtype):
    import torch

    rng = np.random.default_rng(0)
    w0 = rng.standard_normal(n).astype(dtype)
    g = (rng.standard_normal(n) * 1e-2).astype(dtype)
    from course_lib.optim.base import _all_finite

    ours, ours_unchecked = make(), make(check_finite=False)
    p1, p2 = {"w": w0.copy()}, {"w": w0.copy()}
    grads = {"w": g}
    contenders = {"ours": lambda: ours.step(p1, grads),
                  "ours, check_finite=False": lambda: ours_unchecked.step(p2, grads),
                  "the check alone": lambda: _all_finite(p1["w"], ours._info["w"].mask())}
    variants = {"torch default": {}, "torch foreach": {"foreach": True}}
    if has_fused:
        variants["torch fused"] = {"fused": True}
    for name, extra in variants.items():
        p = torch.tensor(w0.copy())
        p.grad = torch.tensor(g.copy())
        opt = tcls([p], **tkw, **extra)
        contenders[name] = opt.step
    return contenders, ours, p1, grads


def _allocated_per_step(opt, params, grads) -> float:
    """Bytes NumPy allocates during one (warm) step, in units of the parameter's size."""
    opt.step(params, grads)
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    opt.step(params, grads)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return (peak - base) / params["w"].nbytes


def _dtypes_kept(opt, dtype) -> bool:
    arrays = [b for st in opt.state.values() for b in st.values() if isinstance(b, np.ndarray)]
    arrays += [s for ki in opt._info.values() for s in ki._scratch]
    return all(a.dtype == dtype for a in arrays)


def measure(n: int, dtype, *, rounds: int, inner: int) -> list:
    import torch

    rows = []
    with torch.no_grad():
        for name, make, tcls, tkw, has_fused in _cases():
            contenders, ours, params, grads = _contenders(make, tcls, tkw, has_fused, n, dtype)
            t = interleaved(contenders, rounds=rounds, inner=inner)
            check = t["the check alone"] / t["ours"]
            rows.append(dict(name=name, n=n, dtype=np.dtype(dtype).name, t=t, check=check,
                             alloc=_allocated_per_step(ours, params, grads),
                             kept=_dtypes_kept(ours, dtype)))
    return rows


def run(quick: bool = False) -> str:
    import torch

    sizes = (10_000,) if quick else (10_000, 1_000_000)
    rows = []
    for n in sizes:
        # one step per contender and round on 1e6 elements: the finest interleaving, so a burst
        # of load from another process hits every contender alike
        rounds, inner = (3, 5) if quick else ((21, 20) if n <= 10_000 else (41, 1))
        for dtype in (np.float32, np.float64):
            rows += measure(n, dtype, rounds=rounds, inner=inner)
    out = ["## Optimizers: course_lib.optim vs torch.optim (one step)", "",
           "Median of interleaved rounds (21 rounds of 20 steps on 1e4 elements, 41 rounds of one "
           f"step on 1e6); torch with {torch.get_num_threads()} threads; "
           "ratio = ours / torch's default (the single-tensor loop on the CPU), the target is "
           f"<= {TARGET} on 1e6 elements. 'check' is the share of our step spent in the finiteness "
           f"check (the check timed alone over the step; target <= {CHECK_SHARE:.0%}); 'alloc' the "
           "NumPy memory allocated by one warm step, in parameter sizes (target: no "
           "parameter-sized temporary, < 0.5); 'dtype' whether every buffer and scratch array has "
           "the parameter's dtype; 'no check' our step with check_finite=False.", ""]
    header = ["optimizer", "n", "dtype", "ours ms", "no check ms", "torch ms", "ratio",
              "foreach ms", "fused ms", "ours / fused", "check", "alloc", "dtype", "target"]
    body, worst = [], {}
    for r in rows:
        t = r["t"]
        ratio = t["ours"] / t["torch default"]
        fused = t.get("torch fused")
        big = r["n"] >= 1_000_000
        ok = ratio <= TARGET and r["check"] <= CHECK_SHARE and r["alloc"] < 0.5 and r["kept"]
        if big:
            worst[(r["name"], r["dtype"])] = ok
        body.append([r["name"], f"{r['n']:.0e}", r["dtype"], ms(t["ours"]),
                     ms(t["ours, check_finite=False"]), ms(t["torch default"]),
                     f"{ratio:.2f}", ms(t["torch foreach"]), ms(fused) if fused else "-",
                     f"{t['ours'] / fused:.2f}" if fused else "-", f"{r['check']:.0%}",
                     f"{r['alloc']:.2g}", "yes" if r["kept"] else "NO",
                     verdict(ok) if big else "(reference)"])
    out.append(table(header, body))
    if worst:
        met = sum(worst.values())
        out += ["", f"1e6-element targets met: {met} of {len(worst)}."]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv))
