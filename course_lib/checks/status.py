"""One vocabulary of outcomes for checks, grading and the sandbox.

A check's verdict (`judge`), a row of course-grade's gradebook and the result of one cell run in
the sandbox all use `Status`. It is a `str` enum, so `Status.PASSED == "passed"` and the gradebook
holds the plain value.
"""
from __future__ import annotations

from enum import Enum


class Status(str, Enum):
    # verdicts of a check (course_lib.checks.judge)
    PASSED = "passed"
    FAILED = "failed"
    NOT_IMPLEMENTED = "not_implemented"
    ERROR = "error"
    MEMORY = "memory"
    INVALID = "invalid"
    # what happened to a cell in the sandbox (also exercise statuses, except OK)
    OK = "ok"
    TIMEOUT = "timeout"
    TIME_LIMIT = "time_limit"
    KERNEL_DIED = "kernel_died"
    OUTPUT_LIMIT = "output_limit"
    # the gradebook: a submission that could not be run as it is
    MISSING_ANSWER = "missing_answer"
    MISSING_NOTEBOOK = "missing_notebook"
    INVALID_NOTEBOOK = "invalid_notebook"
    UNKNOWN_NOTEBOOK = "unknown_notebook"
    CRASHED = "crashed"
    # a written answer: read by the instructor
    MANUAL = "manual"

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    @property
    def meaning(self) -> str:
        return _MEANING[self]

    @classmethod
    def gradebook(cls) -> list["Status"]:
        """The statuses a row of grades.csv can have, in the order the summary shows them."""
        return [s for s in cls if s is not cls.OK]


_MEANING = {
    Status.PASSED: "all cases of the check passed",
    Status.FAILED: "a wrong answer on at least one case",
    Status.NOT_IMPLEMENTED: "the function still raises NotImplementedError",
    Status.ERROR: "the function raised an exception, or was not defined",
    Status.MEMORY: "the function ran out of memory (the kernel's memory limit)",
    Status.INVALID: "the check's results could not be read",
    Status.OK: "the cell ran (not an exercise status)",
    Status.TIMEOUT: "a cell ran past the per-cell time limit and was stopped",
    Status.TIME_LIMIT: "the notebook's total time limit ran out",
    Status.KERNEL_DIED: "the kernel process ended (os._exit, a signal, a crash)",
    Status.OUTPUT_LIMIT: "a cell printed more than the output limit and was stopped",
    Status.MISSING_ANSWER: "the answer cell was not found in the submission",
    Status.MISSING_NOTEBOOK: "the student's folder has no such notebook",
    Status.INVALID_NOTEBOOK: "the file is not a readable notebook (malformed, too big, a link)",
    Status.UNKNOWN_NOTEBOOK: "the file name matches no exercise notebook",
    Status.CRASHED: "grading stopped unexpectedly (see the message)",
    Status.MANUAL: "a written answer, to be read by the instructor (not auto-graded)",
}
