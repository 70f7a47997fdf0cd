"""Execution time of every lecture and solution notebook: fresh kernel each, kernel start included
(as nbval and a student's "Restart and run all" do). Target: at most 10 s on 2 cores.

Rounds are interleaved (round r runs every notebook once), the figure is the median over the
rounds. Three rounds by default; a round is only started while the time spent stays within the
budget (``BENCH_NOTEBOOK_BUDGET`` seconds, default 200), so ``make bench`` stays under 5 minutes
as chapters are added -- the table says how many runs each median is of.

    .venv/bin/python benchmarks/bench_notebooks.py [--quick] [paths...]
"""
from __future__ import annotations

import os
import pathlib
import statistics
import sys
import time

from _timing import table, verdict

ORDER = 90          # the longest: last

ROOT = pathlib.Path(__file__).resolve().parents[1]
TARGET_S = 10.0


def time_notebook(path: pathlib.Path) -> float:
    """Seconds to start a fresh kernel and execute every cell of ``path``."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def notebooks() -> list:
    return sorted([*ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("solutions/*.ipynb")])


def _name(p: pathlib.Path) -> str:
    try:
        return str(p.relative_to(ROOT))
    except ValueError:
        return str(p)


def measure(paths, rounds: int, budget_s: float) -> dict:
    times = {p: [] for p in paths}
    errors = {}
    started = time.perf_counter()
    for r in range(rounds):
        elapsed = time.perf_counter() - started
        if r > 0 and elapsed * (r + 1) / r > budget_s:   # the next round would exceed the budget
            break
        for p in paths:
            if p in errors:
                continue
            try:
                times[p].append(time_notebook(p))
            except Exception as err:                    # report it, time the others
                errors[p] = f"{type(err).__name__}: {str(err).splitlines()[0][:120]}"
            print(f"  {_name(p)}: {f'{times[p][-1]:.1f} s' if times[p] else 'error'}",
                  file=sys.stderr, flush=True)
    return {p: (times[p], errors.get(p)) for p in paths}


def run(quick: bool = False, paths=None) -> str:
    paths = paths or notebooks()
    if quick:
        paths = paths[:1]
    rounds = 1 if quick else int(os.environ.get("BENCH_NOTEBOOK_ROUNDS", 3))
    budget = float(os.environ.get("BENCH_NOTEBOOK_BUDGET", 200))
    results = measure(paths, rounds, budget)
    rows, over = [], []
    for p, (ts, err) in results.items():
        name = _name(p)
        if err:
            rows.append([name, "-", "-", f"error: {err}"])
            continue
        med = statistics.median(ts)
        if med > TARGET_S:
            over.append(name)
        rows.append([name, f"{med:.1f}", len(ts), verdict(med <= TARGET_S)])
    out = ["## Notebooks (fresh kernel each, kernel start + all cells)", "",
           f"Median over interleaved rounds (up to {rounds}, within {budget:.0f} s); target "
           f"<= {TARGET_S:.0f} s each on 2 cores.", "",
           table(["notebook", "seconds", "runs", "target"], rows), ""]
    out.append(f"Over the target: {', '.join(over)}." if over else
               "Every notebook within the target.")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--quick"]
    print(run(quick="--quick" in sys.argv, paths=[pathlib.Path(a).resolve() for a in args] or None))
