"""The lecture notebooks as a student meets them: JupyterLab started by `make lab`, rendered by
a real (headless) Chromium, every cell run from the menu, every control of every explorer moved.

Covers every lecture notebook with an explorer (found from the committed notebooks, see
tests/browser/notebook.py), so a new chapter's explorer is tested without editing this file.
One JupyterLab server and one browser serve the whole module; each notebook gets its own page and
kernel (shut down after it). Needs Debian's `chromium` and Playwright: without them these tests
skip, except under CI=true, where they fail. Screenshots go to build/browser/lab/.
"""
import hashlib

import pytest

from browser import ARTIFACTS, ROOT, chromium
from browser.notebook import (WIDGET_VIEW, BrowserExplorer, LabNotebook, explorer_cells,
                              explorer_classes, explorer_notebooks, html_text, numbers, read,
                              reproduce, set_like_browser, tags)

NOTEBOOKS = explorer_notebooks()
SHOTS = ARTIFACTS / "lab"


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- without a browser ----------------------------------------------------------------------
def test_explorer_notebooks_are_discovered():
    """Discovery finds chapter 02's explorer, recognises every exported explorer class whatever
    its name, and not the static twins."""
    assert "02_gradient_descent" in [p.stem for p in NOTEBOOKS]
    nb = read(ROOT / "notebooks" / "02_gradient_descent.ipynb")
    assert any(c.classes == ["LearningRateExplorer"] for c in explorer_cells(nb))
    classes = explorer_classes()
    assert "LearningRateExplorer" in classes
    for name in classes:
        cell = {"cell_type": "code", "source": f"from course_lib.widgets import {name}\nw = {name}()\n"}
        assert [c.classes for c in explorer_cells({"cells": [cell]})] == [[name]]
    twin = {"cell_type": "code", "source": "fig, result = plot_gd_path(0.9, steps=60)"}
    assert explorer_cells({"cells": [twin]}) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_explorer_cell_has_its_static_figure_next_to_it(path):
    """Under nbval (no browser) the live cell shows no figure, so the committed notebook must show
    the static twin's figure in the code cell right before or after it, and the live cell must be
    tagged nbval-ignore-output (its widget view changes with every run)."""
    nb = read(path)
    code = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"]
    for cell in explorer_cells(nb):
        live = nb["cells"][cell.index]
        assert "nbval-ignore-output" in tags(live), f"cell {cell.index} is not tagged nbval-ignore-output"
        assert any(WIDGET_VIEW in o.get("data", {}) for o in live.get("outputs", [])), (
            f"cell {cell.index}: the committed live cell shows no widget view")
        k = code.index(cell.index)
        neighbours = [code[j] for j in (k - 1, k + 1) if 0 <= j < len(code)]
        with_figure = [j for j in neighbours if abs(j - cell.index) <= 2
                       and "nbval-ignore-output" not in tags(nb["cells"][j])
                       and any("image/png" in o.get("data", {}) for o in nb["cells"][j]["outputs"])]
        assert with_figure, (f"{path.name}: no static figure (image/png output of the static twin) "
                             f"in the code cell next to explorer cell {cell.index}")


# --- in the browser -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    chromium.require(pytest)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = chromium.launch(p)
        yield b
        b.close()


@pytest.fixture(scope="module")
def lab(browser):
    from browser.lab import STAMP, JupyterLab

    if not STAMP.exists():
        pytest.skip("make lab needs the .venv that make creates")
    with JupyterLab() as server:
        yield server


@pytest.fixture(scope="module", params=NOTEBOOKS, ids=lambda p: p.stem)
def opened(request, browser, lab):
    """The notebook opened in JupyterLab with all its cells run (once per notebook)."""
    path = request.param
    sha = _sha(path)
    nb = LabNotebook(browser, lab, path)
    try:
        nb.run_all()
        nb.sha_before = sha
        yield nb
    finally:
        nb.close()


def test_notebook_runs_in_jupyterlab_without_errors(opened):
    prompts = opened.prompts()
    problems = opened.problems()
    first = opened.page.locator(".course-explorer").first
    if first.count():
        first.scroll_into_view_if_needed()
    opened.screenshot(SHOTS / f"{opened.path.stem}.png")
    assert not problems, "cells show errors or stderr in the browser:\n" + "\n\n".join(
        f"cell {i}:\n{text[:2000]}" for i, text in problems)
    assert all(p.startswith("[") and p[1:-2].isdigit() for p in prompts), (
        f"not every code cell ran: prompts {prompts}")
    for cell in explorer_cells(opened.nb):
        assert opened.explorers(cell.index), f"cell {cell.index} shows no explorer (.course-explorer)"
    assert _sha(opened.path) == opened.sha_before, "the browser run changed the committed notebook"


def _check_twin(twin, ctrl, move, where):
    """The browser's readout is what the same explorer computes for the values it shows."""
    if twin is None:
        return
    set_like_browser(twin, ctrl["label"], ctrl["kind"], move.after)
    assert move.readout_after == html_text(twin.readout.value), (
        f"{where}: the browser shows {move.readout_after!r}, the explorer computes "
        f"{html_text(twin.readout.value)!r} for {ctrl['label']} = {move.after} (does the control's "
        f"readout show every digit of its step?)")


def test_every_control_redraws_figure_and_readout(opened):
    """Each control of each explorer, moved as a person does, gives a new PNG and new readout
    numbers, and those numbers are the ones the same explorer computes for the values the browser
    shows (the explorer rebuilt in this process from the cell's literal arguments)."""
    stem = opened.path.stem
    for cell in explorer_cells(opened.nb):
        for k, loc in enumerate(opened.explorers(cell.index)):
            ex = BrowserExplorer(opened.page, loc)
            twin = reproduce(cell) if k == 0 else None
            if twin is not None:
                assert ex.readout() == html_text(twin.readout.value), "initial readout differs"
            start = ex.image()
            assert start["png"] and start["width"] > 0 and start["height"] > 0
            controls = ex.controls()
            assert controls, f"{stem} cell {cell.index}: explorer {k} has no controls"
            for ctrl in controls:
                move = ex.move(ctrl)
                where = f"{stem} cell {cell.index} explorer {k} control {ctrl['label']!r}"
                assert move.after != move.before, f"{where}: the control did not move"
                assert move.image_after["png"] and move.image_after["width"] > 0, where
                assert move.image_after["sha"] != move.image_before["sha"], f"{where}: same image"
                assert numbers(move.readout_after) != numbers(move.readout_before), (
                    f"{where}: readout numbers unchanged: {move.readout_after!r}")
                _check_twin(twin, ctrl, move, where)
                if ctrl["kind"] != "slider":            # back to the default for the next control
                    back = ex.restore(ctrl, move.before)
                    assert back.after == move.before, f"{where}: could not set it back"
                    _check_twin(twin, ctrl, back, where)
            SHOTS.mkdir(parents=True, exist_ok=True)
            loc.screenshot(path=str(SHOTS / f"{stem}-cell{cell.index}-explorer{k}.png"))
