"""course_lib.runner against hand-written NumPy loops.

* ``run()`` on the 2-D bowl x^2/20 + y^2 (SGD, and Momentum) against a bare loop that does the
  same update with the same objective and keeps the same records (trajectory copies, losses,
  gradient norms). Target (issue 8): at most 2 x the bare loop per step.
* ``run_grid`` on (lr, momentum) grids of heavy-ball momentum on the bowl: settings x steps per
  second, the time of the rate fit against the time of the steps (target: the fit no slower), and
  the peak memory traced by tracemalloc against the result arrays (target <= 1.5 x).

    .venv/bin/python benchmarks/bench_runner.py [--quick]
"""
from __future__ import annotations

import sys
import time
import tracemalloc

import numpy as np

from _timing import interleaved, table, us, verdict

W0 = np.array([-7.0, 2.0])


def bare_loop(objective, w0, update, steps):
    """A loop as a student writes it, keeping what run() keeps: ``update(w, g)`` changes w in
    place, then the loss and the gradient at the new w are recorded."""
    w = w0.copy()
    g = objective.grad(w)
    traj, losses, gnorms = [w.copy()], [float(objective.value(w))], [float(np.linalg.norm(g))]
    for _ in range(steps):
        update(w, g)
        loss = float(objective.value(w))
        g = objective.grad(w)
        traj.append(w.copy())
        losses.append(loss)
        gnorms.append(float(np.linalg.norm(g)))
    return np.array(traj), np.array(losses), np.array(gnorms)


def bare_gd(objective, w0, lr, steps):
    """Gradient descent w <- w - lr g."""
    def update(w, g):
        w -= lr * g
    return bare_loop(objective, w0, update, steps)


def bare_momentum(objective, w0, lr, mu, steps):
    """Heavy ball in the lecture form, v <- mu v - lr g, w <- w + v."""
    v = np.zeros_like(w0)

    def update(w, g):
        np.multiply(v, mu, out=v)
        np.subtract(v, lr * g, out=v)
        w += v
    return bare_loop(objective, w0, update, steps)


def measure_run(steps: int, rounds: int) -> list:
    from course_lib.objectives import bowl
    from course_lib.optim import SGD, Momentum
    from course_lib.runner import run

    f = bowl()
    # the same numbers: the comparison is fair only if both do the same work
    ref = bare_gd(f, W0, 0.05, steps)
    res = run(SGD(0.05), f, W0, max_steps=steps)
    assert np.array_equal(ref[0], res.trajectory) and np.array_equal(ref[1], res.losses)
    t = interleaved({
        "run SGD": lambda: run(SGD(0.05), f, W0, max_steps=steps),
        "bare GD": lambda: bare_gd(f, W0, 0.05, steps),
        "run Momentum": lambda: run(Momentum(0.05, 0.9), f, W0, max_steps=steps),
        "bare momentum": lambda: bare_momentum(f, W0, 0.05, 0.9, steps),
    }, rounds=rounds, inner=1)
    return [("SGD (GD)", t["run SGD"] / steps, t["bare GD"] / steps),
            ("Momentum", t["run Momentum"] / steps, t["bare momentum"] / steps)]


def measure_grid(n_lr: int, n_mu: int, steps: int) -> dict:
    from course_lib import _sweep, runner
    from course_lib.objectives import bowl
    from course_lib.optim import Momentum

    grid = {"lr": np.linspace(0.01, 1.5, n_lr), "momentum": np.linspace(0.0, 0.99, n_mu)}
    fit_time = []
    fit = _sweep._fit_rates

    def timed_fit(*args):
        t0 = time.perf_counter()
        out = fit(*args)
        fit_time.append(time.perf_counter() - t0)
        return out

    _sweep._fit_rates = timed_fit
    try:
        tracemalloc.start()        # traces allocations (NumPy's too), not bytes: small overhead
        t0 = time.perf_counter()
        g = runner.run_grid(Momentum, bowl(), W0, grid=grid, steps=steps)
        total = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    finally:
        _sweep._fit_rates = fit
    results = g.losses.nbytes + g.dist.nbytes
    return dict(K=n_lr * n_mu, steps=steps, total=total, fit=fit_time[0],
                loop=total - fit_time[0], peak=peak, results=results)


def run(quick: bool = False) -> str:
    steps, rounds = (300, 3) if quick else (3000, 15)
    out = ["## Runner: run() and run_grid() against NumPy loops", "",
           f"run(): {steps} steps on the bowl x^2/20 + y^2 from (-7, 2), median of {rounds} "
           "interleaved rounds; the bare loop uses the same objective, the same update and keeps "
           "the same records (trajectory, losses, gradient norms). Target: ratio <= 2.", ""]
    rows = [[name, us(t_run), us(t_bare), f"{t_run / t_bare:.2f}", verdict(t_run / t_bare <= 2)]
            for name, t_run, t_bare in measure_run(steps, rounds)]
    out += [table(["optimizer", "run() us/step", "bare loop us/step", "ratio", "target"], rows), ""]
    grids = [(20, 20, 100)] if quick else [(100, 100, 300), (300, 300, 300)]
    out += ["run_grid(Momentum, bowl, grid={lr, momentum}): one run each, under tracemalloc. "
            "Targets: the rate fit no slower than the steps; peak memory <= 1.5 x the result "
            "arrays (losses and dist).", ""]
    rows = []
    for n_lr, n_mu, st in grids:
        m = measure_grid(n_lr, n_mu, st)
        rows.append([f"{n_lr} x {n_mu}", st, f"{m['K'] * st / m['loop'] / 1e6:.3g}",
                     f"{m['loop']:.2f}", f"{m['fit']:.2f}", f"{m['results'] / 2**20:.0f}",
                     f"{m['peak'] / 2**20:.0f}", f"{m['peak'] / m['results']:.2f}",
                     verdict(m["fit"] <= m["loop"] and m["peak"] <= 1.5 * m["results"])])
    out.append(table(["grid", "steps", "M setting-steps/s", "steps s", "fit s", "results MiB",
                      "peak MiB", "peak / results", "target"], rows))
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv))
