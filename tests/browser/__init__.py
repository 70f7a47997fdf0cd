"""Helpers for the real-browser tests (tests/test_browser.py, tests/test_site.py) and the
redraw benchmark (benchmarks/bench_widgets.py).

* :mod:`.chromium`: find Debian's headless Chromium and launch it through Playwright (or say why
  not: a skip on a machine without it, a failure when ``CI=true``).
* :mod:`.lab`: start JupyterLab exactly as ``make lab`` does, on a free loopback port with a token.
* :mod:`.notebook`: find the lecture notebooks with an explorer; drive one in JupyterLab (run all
  cells, read errors, move every control of every explorer, time the redraw).
* :mod:`.site`: build the static site (``make site``) and serve it on loopback.

Artefacts (screenshots) go to ``build/browser/`` (git-ignored).
"""
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "build" / "browser"
