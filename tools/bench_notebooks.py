"""Time the execution of every lecture and solution notebook (fresh kernel each, like nbval).

    make bench            # or: .venv/bin/python tools/bench_notebooks.py [paths...]

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


def main(argv):
    paths = [pathlib.Path(p) for p in argv] or sorted(
        [*ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("solutions/*.ipynb")])
    print("| notebook | seconds (kernel start + all cells) |")
    print("|---|---|")
    for path in paths:
        seconds = time_notebook(path)
        print(f"| {path.relative_to(ROOT) if path.is_absolute() else path} | {seconds:.1f} |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
