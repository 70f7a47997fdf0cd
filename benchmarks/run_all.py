"""Run every benchmark plug-in and write benchmarks/RESULTS.md (``make bench``).

    .venv/bin/python benchmarks/run_all.py [--quick] [--only optimizers,runner] [--out PATH]

The plug-in contract (see benchmarks/README.md): a module ``benchmarks/bench_<name>.py`` defining

    def run(quick: bool = False) -> str      # a Markdown section, starting with "## <title>"

and optionally ``ORDER = <int>`` (default 50; lower runs first). ``run`` measures, prints nothing
it needs to keep (progress may go to stderr) and returns the section; with ``quick=True`` it must
finish in seconds (the test suite calls it so, without looking at the times). A plug-in that
raises is reported in its section and the others still run; the exit status is then 1.
"""
from __future__ import annotations

import datetime
import importlib
import os
import pathlib
import platform
import sys
import time
import traceback

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent


def _cpu_model() -> str:
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _blas() -> list:
    lines = []
    try:
        from threadpoolctl import threadpool_info

        for info in threadpool_info():
            lines.append(f"{info.get('internal_api')} {info.get('version')} "
                         f"({info.get('architecture', '?')}, {info.get('num_threads')} threads, "
                         f"{pathlib.Path(info.get('filepath', '')).name})")
    except ImportError:
        pass
    if not lines:
        import numpy as np

        try:
            blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
            lines.append(f"{blas.get('name')} {blas.get('version')} (numpy.show_config)")
        except Exception:                               # pragma: no cover - old NumPy
            lines.append("unknown (numpy.show_config gave nothing)")
    return lines


def machine() -> str:
    import numpy as np

    versions = [f"Python {platform.python_version()}", f"numpy {np.__version__}"]
    for name in ("torch", "scipy", "matplotlib"):
        try:
            versions.append(f"{name} {importlib.import_module(name).__version__}")
        except ImportError:
            pass
    try:
        import torch

        threads = f"; torch uses {torch.get_num_threads()} threads"
    except ImportError:
        threads = ""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
        memory = f", {mem:.0f} GiB memory"
    except (ValueError, OSError, AttributeError):
        memory = ""
    lines = [f"- CPU: {_cpu_model()}, {cores} cores available ({os.cpu_count()} online){memory}",
             f"- {platform.system()} {platform.release()}; " + ", ".join(versions) + threads]
    lines += [f"- BLAS: {b}" for b in _blas()]
    return "\n".join(lines)


def _load() -> str:
    try:
        return ", ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "?"


def plugins(only=None) -> list:
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    mods = []
    for path in sorted(HERE.glob("bench_*.py")):
        name = path.stem[len("bench_"):]
        if only and name not in only:
            continue
        mods.append(importlib.import_module(path.stem))
    return sorted(mods, key=lambda m: getattr(m, "ORDER", 50))


def run_all(quick: bool = False, only=None) -> tuple[str, bool]:
    start = time.perf_counter()
    load_before = _load()
    sections, timings, ok = [], [], True
    for mod in plugins(only):
        print(f"[bench] {mod.__name__} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            section = mod.run(quick=quick)
        except Exception:
            ok = False
            section = (f"## {mod.__name__}\n\nFailed:\n\n```\n{traceback.format_exc()}```\n")
        timings.append((mod.__name__, time.perf_counter() - t0))
        sections.append(section.rstrip() + "\n")
        print(f"[bench] {mod.__name__}: {timings[-1][1]:.0f} s", file=sys.stderr, flush=True)
    total = time.perf_counter() - start
    head = ["# Benchmark results", "",
            f"Written by `make bench` (benchmarks/run_all.py{' --quick' if quick else ''}) on "
            f"{datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}. The targets are ratios "
            "measured in one run, so that a busy machine cancels out; the absolute times are "
            "for reference. BENCHMARKS.md (top level) is the human summary.", "",
            "## Machine", "", machine(),
            f"- load average (1, 5, 15 min) before: {load_before}; after: {_load()}", ""]
    tail = ["## Time taken", "", "| plug-in | seconds |", "|---|---|"]
    tail += [f"| {name} | {sec:.0f} |" for name, sec in timings]
    tail += [f"| total | {total:.0f} |", ""]
    return "\n".join(head + sections + tail), ok


def main(argv) -> int:
    quick = "--quick" in argv
    only, out = None, HERE / "RESULTS.md"
    if "--only" in argv:
        only = set(argv[argv.index("--only") + 1].split(","))
    if "--out" in argv:
        out = pathlib.Path(argv[argv.index("--out") + 1])
    text, ok = run_all(quick=quick, only=only)
    out.write_text(text)
    print(f"[bench] wrote {out}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
