"""When the course's training loops show a tqdm bar (``course_lib.training``, ``course_lib.minibatch``).

``progress=None`` (their default) shows a bar only when a person can see it: a notebook opened in a
Jupyter server (JupyterLab, Notebook: the server sets ``JPY_SESSION_NAME`` for its kernels) or a
terminal; never under pytest, nbval or nbconvert / nbclient (no one watches, and the committed
outputs must not depend on the speed of the machine), and only once a run has lasted
``PROGRESS_DELAY`` seconds. ``COURSE_PROGRESS=0`` / ``1`` forces it off / on. ``progress=True`` /
``False`` shows it at once / never.
"""
from __future__ import annotations

import os
import sys

PROGRESS_DELAY = 2.0      # seconds a run lasts before its automatic bar appears


def person_waits() -> bool:
    """True when a person can see a progress bar (the rules above)."""
    env = os.environ
    if env.get("COURSE_PROGRESS", "") in ("0", "1"):
        return env["COURSE_PROGRESS"] == "1"
    if env.get("PYTEST_CURRENT_TEST"):
        return False
    if "ipykernel" in sys.modules:
        return bool(env.get("JPY_SESSION_NAME"))
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def progress_wanted(progress) -> bool:
    """True/False as given; None = :func:`person_waits`."""
    return person_waits() if progress is None else bool(progress)


def progress_bar(progress, total: int, desc: str, **tqdm_kw):
    """A tqdm bar of ``total`` steps (closed by the caller), or None when none is wanted."""
    if not progress_wanted(progress):
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, leave=False, delay=PROGRESS_DELAY if progress is None else 0.0, **tqdm_kw)
