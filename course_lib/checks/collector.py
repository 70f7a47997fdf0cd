"""The grader's half of a check that runs inside the student's kernel.

The grader (course_lib.grading) replaces each check cell by a cell that first drops every course_lib
module from sys.modules (so whatever the notebook patched is reloaded from disk), then calls

    collect_to_file(name, lambda: (mse_gradient,), cases_json, path, nonce)

which calls the student's function on the cases the grader sent (as JSON, never pickles) and writes
the answers, as JSON, to `path`. The points are decided later, in the grader's own process
(`course_lib.checks.judge`), against references computed there.
"""
from __future__ import annotations

import os

from . import get
from .core import FORMAT, Case, collect
from .plain import dumps, loads

#: a result file larger than this is replaced by an error (answers are a few KB)
MAX_BYTES = 5_000_000


def collect_to_file(name: str, objects, cases_json: str, path: str, nonce: str) -> None:
    exercise = get(name)
    cases = [Case.from_plain(c) for c in loads(cases_json)]
    try:
        objs = tuple(objects())
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        result = {"format": FORMAT, "exercise": name, "results": [],
                  "object_error": (f"check.{name} needs {', '.join(exercise.expects)}, but it is not "
                                   f"defined ({type(exc).__name__}: {exc})")}
    else:
        result = collect(exercise, objs, cases)
    result["nonce"] = nonce
    text = dumps(result)
    if len(text) > MAX_BYTES:
        text = dumps({"format": FORMAT, "exercise": name, "results": [], "nonce": nonce,
                      "object_error": f"{name} returned answers too big to check "
                                      f"({len(text) // 1_000_000} MB of data)"})
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
