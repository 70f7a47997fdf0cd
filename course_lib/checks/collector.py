"""The half of a check that runs inside the student's sandboxed kernel during grading.

The grader (course_lib.grading) sends the kernel an exercise name, the names of the student's
objects and the inputs of each case (plain JSON data); `collect_request` calls the student's
function on them through the exercise's `call` (from the student release of this library, which
holds no references and no hidden cases) and returns the outputs as plain JSON data. The grader
judges them in its own process (`course_lib.checks.judge`) against references computed there: a
kernel that lies can only change the outputs of the student's own function.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from .core import FORMAT, Case, collect

#: a result larger than this is replaced by an error (answers are a few KB)
MAX_BYTES = 5_000_000


def collect_request(exercise_name: str, object_names: Sequence[str], cases_plain: Sequence[dict],
                    namespace: Mapping[str, Any]) -> dict:
    """Plain data: the outputs of the student's objects (looked up in `namespace`) on the cases."""
    from . import get
    exercise = get(exercise_name)
    missing = [n for n in object_names if n not in namespace]
    if missing:
        return {"format": FORMAT, "exercise": exercise_name, "results": [],
                "object_error": (f"check.{exercise_name} needs {', '.join(exercise.expects)}, but "
                                 f"{', '.join(missing)} is not defined (did its answer cell run "
                                 "without an error?)")}
    cases = [Case.from_plain(c) for c in cases_plain]
    return collect(exercise, [namespace[n] for n in object_names], cases)

