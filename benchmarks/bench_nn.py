"""Forward + backward of the NumPy MLP (course_lib.nn) against the same network in PyTorch.

Batch 256, float32, ReLU MLPs with 4 hidden layers of width 64 .. 512 and a softmax cross-entropy
over 10 classes; the same weights in both (``course_lib.nn.torch_twin.to_torch``). One call is
``net.loss_and_grads(X, y)`` against ``zero the grads; loss_fn(model(X), y).backward()``. Both
libraries are timed at 1 and at 2 threads (NumPy's BLAS through threadpoolctl, torch through
``torch.set_num_threads``), in interleaved rounds at each thread count, and each is credited with
its faster count. Target (issue 13): NumPy / PyTorch <= 1.5 at every width.

    .venv/bin/python benchmarks/bench_nn.py [--quick]
"""
from __future__ import annotations

import sys

import numpy as np

from _timing import interleaved, ms, table, verdict

TARGET = 1.5
WIDTHS = (64, 128, 256, 512)


def _contenders(width: int, batch: int = 256, hidden_layers: int = 4, seed: int = 0) -> dict:
    import torch

    from course_lib.nn import MLP
    from course_lib.nn.torch_twin import to_torch, torch_loss

    rng = np.random.default_rng(seed)
    net = MLP([width] + [width] * hidden_layers + [10], activation="relu", seed=seed, dtype=np.float32)
    X = rng.normal(size=(batch, width)).astype(np.float32)
    y = rng.integers(0, 10, size=batch)
    model = to_torch(net)
    loss_fn = torch_loss(net)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    def numpy_step():
        net.loss_and_grads(X, y)

    def torch_step():
        for p in model.parameters():
            p.grad = None
        loss_fn(model(Xt), yt).backward()

    return {"numpy": numpy_step, "torch": torch_step}


def measure(width: int, *, rounds: int, inner: int) -> dict:
    """Median seconds per forward + backward of each library at its faster thread count."""
    import torch
    from threadpoolctl import threadpool_limits

    contenders = _contenders(width)
    threads = torch.get_num_threads()
    best = {}
    try:
        for n in sorted({1, max(threads, 2)}):
            torch.set_num_threads(n)
            with threadpool_limits(n):
                times = interleaved(contenders, rounds=rounds, inner=inner)
            for name, t in times.items():
                if name not in best or t < best[name][0]:
                    best[name] = (t, n)
    finally:
        torch.set_num_threads(threads)
    return best


def run(quick: bool = False) -> str:
    import torch

    rounds, inner = (3, 5) if quick else (9, 20)
    rows, ok_all = [], True
    for width in WIDTHS:
        best = measure(width, rounds=rounds, inner=inner)
        (t_np, n_np), (t_t, n_t) = best["numpy"], best["torch"]
        ratio = t_np / t_t
        ok_all &= ratio <= TARGET
        rows.append([width, ms(t_np), n_np, ms(t_t), n_t, f"{ratio:.2f}", verdict(ratio <= TARGET)])
    text = [
        "## NumPy network (course_lib.nn) vs PyTorch: forward + backward",
        "",
        f"ReLU MLP with 4 hidden layers of the given width, batch 256, float32, softmax cross-entropy, the "
        f"same weights in both; median of {rounds} interleaved rounds of {inner} calls, each library at its "
        f"faster of 1 and 2 threads; torch {torch.__version__}. Target: NumPy / PyTorch <= {TARGET} "
        f"({'met' if ok_all else 'not met'} at every width).",
        "",
        table(["width", "NumPy (ms)", "threads", "PyTorch (ms)", "threads", "NumPy / PyTorch", "target"], rows),
    ]
    return "\n".join(text) + "\n"


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv))
