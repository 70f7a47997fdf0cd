"""The benchmark plug-ins run (quick mode) and follow the contract of benchmarks/run_all.py.

No timed assertions: a test only checks that each measurement runs and returns its Markdown
section; the figures themselves are for ``make bench`` (benchmarks/RESULTS.md)."""
import importlib
import inspect
import pathlib
import sys

import nbformat
import pytest

BENCH = pathlib.Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))


def test_every_plugin_defines_run_quick():
    names = sorted(p.stem for p in BENCH.glob("bench_*.py"))
    assert {"bench_optimizers", "bench_runner", "bench_imports", "bench_notebooks"} <= set(names)
    for name in names:
        params = inspect.signature(importlib.import_module(name).run).parameters
        assert "quick" in params and params["quick"].default is False, name


@pytest.mark.parametrize("name", ["bench_optimizers", "bench_runner", "bench_imports"])
def test_plugin_runs_in_quick_mode(name):
    text = importlib.import_module(name).run(quick=True)
    assert text.startswith("## ") and "|---|" in text


def test_notebook_timer_runs_a_fresh_kernel(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")])
    path = tmp_path / "tiny.ipynb"
    nbformat.write(nb, path)
    text = importlib.import_module("bench_notebooks").run(paths=[path])
    assert str(path) in text and "error" not in text


def test_run_all_writes_the_machine_and_the_sections(tmp_path):
    run_all = importlib.import_module("run_all")
    text, ok = run_all.run_all(quick=True, only={"runner"})
    assert ok and text.startswith("# Benchmark results")
    assert "## Machine" in text and "- CPU:" in text and "BLAS" in text and "numpy" in text
    assert "## Runner" in text and "## Time taken" in text
