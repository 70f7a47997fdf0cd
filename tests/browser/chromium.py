"""Headless Chromium (Debian's ``chromium`` package) driven by Playwright for Python.

Playwright's own browser download is never used (no network here): it launches the system
Chromium with ``executable_path``. Playwright gives every launch a fresh temporary profile
(``--user-data-dir``), so no state leaks between runs.
"""
from __future__ import annotations

import os
import shutil

CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
# offline and quiet: no background requests, no component updates, no sync, no first-run UI
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        "--disable-dev-shm-usage"]


def executable() -> str | None:
    """Path of the Chromium binary, or None."""
    env = os.environ.get("COURSE_CHROMIUM")
    if env:
        return env if os.path.exists(env) else None
    for path in CANDIDATES:
        if os.path.exists(path):
            return path
    return shutil.which("chromium")


def missing_reason() -> str | None:
    """Why the browser tests cannot run here (None when they can)."""
    if executable() is None:
        return ("Chromium is not installed (Debian: apt-get install chromium chromium-driver; "
                ".ci/run does this)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install -c constraints.txt -e '.[dev]')"
    return None


def require(pytest) -> None:
    """Skip the calling test when Chromium or Playwright is missing, except on CI (``CI=true``),
    where a fresh machine must run the browser tests: there it fails."""
    reason = missing_reason()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but the browser tests cannot run: {reason}")
    pytest.skip(reason)


def launch(playwright):
    """A headless Chromium browser (Playwright ``Browser``)."""
    return playwright.chromium.launch(executable_path=executable(), headless=True, args=ARGS)
