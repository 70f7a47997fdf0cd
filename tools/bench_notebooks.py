"""Time the execution of every lecture and solution notebook (fresh kernel each, like nbval).

    make bench            # or: .venv/bin/python tools/bench_notebooks.py [paths...]
    .venv/bin/python tools/bench_notebooks.py --grid   # only the vectorised run_grid timing

Prints a Markdown table; copy it into BENCHMARKS.md when the figures change. Timings are kept
here, not in tests: a timed test is flaky on a loaded machine.
"""
import pathlib
import sys
import time

import nbformat
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parents[1]


def time_notebook(path: pathlib.Path) -> float:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def time_grid(repeats: int = 5) -> float:
    """Best of `repeats`: a 100 x 100 grid of (lr, momentum) on the kappa = 20 bowl, 300 steps."""
    import numpy as np

    from course_lib.objectives import bowl
    from course_lib.optim import Momentum
    from course_lib.runner import run_grid

    grid = {"lr": np.linspace(0.01, 1.5, 100), "momentum": np.linspace(0.0, 0.99, 100)}
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run_grid(Momentum, bowl(), np.array([-7.0, 2.0]), grid=grid, steps=300)
        best = min(best, time.perf_counter() - start)
    return best


def main(argv):
    if argv == ["--grid"] or not argv:
        print(f"run_grid, 100 x 100 (lr, momentum) x 300 steps: {time_grid():.3f} s (best of 5)\n")
        if argv:
            return
    paths = [pathlib.Path(p) for p in argv] or sorted(
        [*ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("solutions/*.ipynb")])
    print("| notebook | seconds (kernel start + all cells) |")
    print("|---|---|")
    for path in paths:
        seconds = time_notebook(path)
        print(f"| {path.relative_to(ROOT) if path.is_absolute() else path} | {seconds:.1f} |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
