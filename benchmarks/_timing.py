"""Timing helpers shared by the benchmark plug-ins (not a plug-in itself: no ``bench_`` prefix).

Every figure is a median over *interleaved* rounds: round r times each contender once, in turn,
so that a burst of load from another process slows all of them alike and the ratios survive a
busy machine. Absolute times are printed for reference only; the targets are ratios.
"""
from __future__ import annotations

import statistics
import time


def interleaved(contenders: dict, *, rounds: int, inner: int, warmup: int = 1) -> dict:
    """Median seconds per call of each zero-argument callable, over ``rounds`` interleaved rounds
    of ``inner`` calls each (after ``warmup`` untimed calls of each)."""
    for fn in contenders.values():
        for _ in range(warmup):
            fn()
    times = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            t0 = time.perf_counter()
            for _ in range(inner):
                fn()
            times[name].append((time.perf_counter() - t0) / inner)
    return {name: statistics.median(ts) for name, ts in times.items()}


def table(header: list, rows: list) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3g}"


def us(seconds: float) -> str:
    return f"{seconds * 1e6:.3g}"


def verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"
