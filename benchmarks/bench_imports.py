"""Import times of the course library in a fresh interpreter (what every notebook's first cell pays).

Each line is run in a new ``python -c``; the figure is the median over interleaved rounds minus
the median of ``import numpy`` alone (every line needs NumPy). Target (issue 8): importing
course_lib.optim, course_lib.runner and course_lib.objectives imports neither matplotlib nor torch
(checked in the same interpreter through sys.modules); matplotlib only when a plot is drawn.

    .venv/bin/python benchmarks/bench_imports.py [--quick]
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import time

from _timing import table, verdict

CORE = "course_lib.optim, course_lib.runner, course_lib.objectives"
LINES = [
    ("numpy (baseline)", "numpy"),
    ("course_lib.optim", "course_lib.optim"),
    ("course_lib.runner", "course_lib.runner"),
    ("course_lib.objectives", "course_lib.objectives"),
    ("optim + runner + objectives", CORE),
    ("... + plotting", CORE + ", course_lib.plotting"),
    ("... + plotting, first figure drawn", None),
    ("torch (reference)", "torch"),
]
HEAVY = ("matplotlib", "torch", "tqdm", "scipy")


def _code(modules):
    if modules is None:
        return (f"import {CORE}, course_lib.plotting\n"
                "from course_lib.plotting import loss_curves\n"
                "import numpy as np\n"
                "loss_curves({'a': np.ones(3)}, title='t')\n")
    return f"import {modules}"


def _time(code: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return time.perf_counter() - t0


def heavy_modules(modules: str) -> list:
    code = (f"import sys\nimport {modules}\n"
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return [m for m in out.stdout.strip().split(",") if m]


def run(quick: bool = False) -> str:
    rounds = 1 if quick else 5
    lines = LINES[:5] if quick else LINES       # quick: no torch, no figure (seconds each)
    times = {name: [] for name, _ in lines}
    for _ in range(rounds):
        for name, modules in lines:
            times[name].append(_time(_code(modules)))
    base = statistics.median(times["numpy (baseline)"])
    rows = []
    for name, modules in lines:
        med = statistics.median(times[name])
        shown = med if name == "numpy (baseline)" else med - base
        heavy = ", ".join(heavy_modules(modules)) if modules not in (None, "numpy", "torch") else ""
        rows.append([name, f"{shown * 1e3:.0f}", heavy or "-"])
    core_heavy = heavy_modules(CORE)
    ok = not ({"matplotlib", "torch"} & set(core_heavy))
    out = ["## Import times (fresh interpreter)", "",
           f"Median of {rounds} interleaved rounds, in ms beyond `import numpy` (whose own time "
           "is the first line, interpreter start included). 'also imports' lists the heavy "
           f"modules ({', '.join(HEAVY)}) found in sys.modules afterwards.", "",
           table(["import", "ms", "also imports"], rows), "",
           f"`import {CORE}` without matplotlib or torch: {verdict(ok)}."]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv))
