"""The machinery behind `check.<name>(...)`: exercises, cases, collect and judge.

An `Exercise` knows how to make seeded test cases, how to call a student's function on a case, the
reference answer and a list of named plausible `Mistake`s. A check is split in two halves:

    collected = collect(exercise, objects, cases)   # runs the student's code; returns plain data
    verdict   = judge(exercise, cases, collected)   # compares with the reference; pure, no student code

In a notebook `check.<name>(f)` does both in the same process and prints "✓ ..." or raises
`CheckFailed`. The grader (course_lib.grading) runs `collect` inside the student's sandboxed kernel,
which holds only the student release of this library (no references, no hidden cases), receives
the outputs as JSON and runs `judge` in its own process with references it computes itself.
Everything that decides a verdict (the comparison, which inputs were changed in place, which
mistake a wrong answer matches) happens in `judge`, from plain data.

In the student release (course-release) an exercise has no reference: its `released` answers hold
the visible cases with the reference's and each mistake's outputs, computed when it was made.
"""
from __future__ import annotations

import copy
import dataclasses
import linecache
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .compare import (Mismatch, as_sequence, compare_arrays, compare_scalars, describe_kind,
                      format_value)
from .plain import Opaque, from_plain, is_real_number, to_plain, type_name
from .status import Status

__all__ = ["INPUTS_AFTER", "Case", "CheckFailed", "Exercise", "Mismatch", "Mistake", "Opaque", "ReleasedAnswers",
           "Status", "Verdict", "as_sequence", "collect", "compare_arrays", "compare_scalars",
           "default_call", "describe_kind", "format_value", "is_real_number", "judge",
           "modified_inputs_mismatch", "run_check", "settle_extras", "type_name"]

FORMAT = 1

# the verdict statuses, kept as names for modules written against them
PASSED = Status.PASSED
FAILED = Status.FAILED
NOT_IMPLEMENTED = Status.NOT_IMPLEMENTED
ERROR = Status.ERROR
MEMORY = Status.MEMORY
INVALID = Status.INVALID

#: the key of `extras` under which a call reports its array inputs as they are after the call;
#: `judge` turns it into extras["modified"] (the names of the inputs changed in place)
INPUTS_AFTER = "inputs_after"


class CheckFailed(AssertionError):
    """Raised by a check whose answer is wrong; the message says which case and why.

    Inside IPython only the message is shown (no traceback into course_lib).
    """

    def _render_traceback_(self) -> list[str]:
        return str(self).splitlines()


# ---------------------------------------------------------------------------------------------
# cases, mistakes, exercises


@dataclass(frozen=True)
class Case:
    """One input of a check. `args` holds the named inputs in the order the function takes them."""

    name: str
    args: dict
    hidden: bool = False

    def describe(self) -> str:
        """One line naming the inputs, e.g. "X shape (5, 3), y shape (5,), w = [0.1 0.2 0.3]"."""
        parts = []
        for key, value in self.args.items():
            if isinstance(value, np.ndarray) and value.size > 4:
                parts.append(f"{key} shape {tuple(value.shape)}")
            else:
                parts.append(f"{key} = {format_value(value)}")
        return ", ".join(parts)

    def to_plain(self) -> dict:
        return {"name": self.name, "args": [[k, to_plain(v)] for k, v in self.args.items()],
                "hidden": self.hidden}

    @classmethod
    def from_plain(cls, data: dict) -> "Case":
        return cls(str(data["name"]), {str(k): from_plain(v) for k, v in data["args"]},
                   bool(data.get("hidden", False)))


@dataclass(frozen=True)
class Mistake:
    """A plausible wrong answer: an implementation with the student's signature, and its hint.

    In the student release `func` is None (the mistake's outputs on the visible cases are stored).
    """

    name: str
    func: Callable | None
    hint: str


def modified_inputs_mismatch(names: Sequence[str], example: str) -> Mismatch:
    """The message for a function that changed its array inputs in place (see `default_call`).

    `example` shows the chapter's own way of computing a new array, e.g. "r = y - X @ w".
    """
    return Mismatch(f"your function changed its input(s) {', '.join(names)} in place; compute new "
                    f"arrays instead ({example})")


def default_call(objs: Sequence[Any], case: Case) -> tuple[Any, dict]:
    """Call objs[0] with copies of the case's inputs, positionally, in the order of `case.args`.

    Returns (output, extras) where extras[INPUTS_AFTER] holds the array inputs as the function left
    them; `judge` compares them with the case (in the grader's process) to find inputs changed in
    place. A custom `call` may report its own inputs the same way.
    """
    args = {k: copy.deepcopy(v) for k, v in case.args.items()}
    output = objs[0](*args.values())
    return output, {INPUTS_AFTER: {k: v for k, v in args.items() if isinstance(v, np.ndarray)}}


def settle_extras(answer: Any, case: Case) -> tuple[Any, dict]:
    """(output, extras) with extras[INPUTS_AFTER] replaced by extras["modified"] (names, if any).

    Runs where answers are judged, on plain data: a patched numpy in the student's kernel cannot
    hide an input changed in place.
    """
    output, extras = answer
    extras = dict(extras) if isinstance(extras, dict) else {}
    after = extras.pop(INPUTS_AFTER, None)
    if isinstance(after, dict):
        modified = []
        for name, value in case.args.items():
            if name in after and isinstance(value, np.ndarray):
                now = after[name]
                same = (isinstance(now, np.ndarray) and now.shape == value.shape
                        and now.dtype.kind in "biuf" and np.array_equal(now, value, equal_nan=True))
                if not same:
                    modified.append(name)
        if modified:
            extras["modified"] = modified
    return output, extras


@dataclass(frozen=True)
class ReleasedAnswers:
    """What the student release stores instead of a reference: the visible cases, the reference's
    answer on each and each mistake's answer (None where the mistake raised)."""

    cases: tuple[Case, ...]
    expected: Mapping[str, tuple[Any, dict]]
    mistakes: Mapping[str, Mapping[str, tuple[Any, dict] | None]]


@dataclass(frozen=True, eq=False)
class Exercise:
    """A checked exercise.

    Parameters
    ----------
    name : the name of the function students write and of the check (`check.<name>`).
    points : points in the graded notebook (must equal the nbgrader metadata of its check cell).
    reference : a correct implementation with the student's signature.
    fixed_cases : () -> list[Case], the edge cases, always run first.
    random_cases : (rng, k) -> list[Case], k seeded random cases.
    compare : (expected, got, case) -> Mismatch | None; expected/got are (output, extras) pairs.
    mistakes : plausible wrong implementations; if a wrong answer matches one, its hint is shown.
    call : (objs, case) -> (output, extras); how the student's objects are called (default_call).
    n_random : random cases in the notebook; n_hidden : extra random cases when grading.
    seed : seed of the visible random cases; the grader draws hidden ones from a secret seed.
    expects : what the check must be given, in words (for the "expects a function" message).
    inplace_example : when set, an answer that is right but changed its array inputs in place
        (reported by `default_call`) fails with `modified_inputs_mismatch(names, inplace_example)`;
        e.g. "e.g. r = y - X @ w, not y -= X @ w".
    released : set in the student release only (reference and case generators are then None).
    """

    name: str
    points: int
    reference: Callable | None
    fixed_cases: Callable[[], list[Case]] | None
    random_cases: Callable[[np.random.Generator, int], list[Case]] | None
    compare: Callable[[Any, Any, Case], Mismatch | None]
    mistakes: Sequence[Mistake] = ()
    call: Callable = default_call
    n_random: int = 3
    n_hidden: int = 3
    seed: int = 0
    chapter: str = ""
    expects: Sequence[str] | None = None
    inplace_example: str | None = None
    released: ReleasedAnswers | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "mistakes", tuple(self.mistakes))
        expects = self.expects if self.expects is not None else [f"your function {self.name}"]
        object.__setattr__(self, "expects", tuple(expects))

    def __repr__(self) -> str:
        return f"<Exercise {self.name} ({self.points} points, {len(self.mistakes)} mistakes)>"

    def cases(self, secret: int | None = None) -> list[Case]:
        """The fixed cases, `n_random` cases from `seed` and, given a secret, `n_hidden` more."""
        if self.released is not None:
            if secret is not None:
                raise ValueError(f"{self.name}: the student release has no hidden cases")
            return list(self.released.cases)
        cases = list(self.fixed_cases())
        cases += self.random_cases(np.random.default_rng(self.seed), self.n_random)
        if secret is not None:
            rng = np.random.default_rng([abs(int(secret)), self.seed])
            for i, c in enumerate(self.random_cases(rng, self.n_hidden)):
                cases.append(Case(f"hidden random case {i + 1} ({c.name})", c.args, hidden=True))
        names = [c.name for c in cases]
        assert len(set(names)) == len(names), f"duplicate case names in {self.name}: {names}"
        return cases

    def expected(self, case: Case) -> tuple[Any, dict]:
        """The reference's (output, extras) on `case`, extras settled (see `settle_extras`)."""
        if self.released is not None:
            return self.released.expected[case.name]
        return settle_extras(self.call([self.reference], case), case)

    def mistake_answer(self, mistake: Mistake, case: Case) -> tuple[Any, dict] | None:
        """The mistake's (output, extras) on `case`; None when it raises there."""
        if self.released is not None:
            return self.released.mistakes.get(mistake.name, {}).get(case.name)
        try:
            return settle_extras(self.call([mistake.func], case), case)
        except Exception:
            return None

    def validate_objects(self, objs: Sequence[Any]) -> str | None:
        if len(objs) != len(self.expects):
            return (f"check.{self.name} takes {len(self.expects)} argument(s) "
                    f"({', '.join(self.expects)}), got {len(objs)}")
        for what, obj in zip(self.expects, objs):
            if not callable(obj):
                shown = "None" if obj is None else f"{type_name(obj)} ({format_value(obj)})"
                return (f"check.{self.name} expects {what}, got {shown}. Pass the function itself, "
                        f"without calling it: check.{self.name}({self.name})")
        return None


def release_answers(exercise: Exercise) -> dict:
    """The plain data the student release stores for `exercise` (see `released_exercise`)."""
    cases = exercise.cases()
    with np.errstate(all="ignore"):
        expected = [[c.name, to_plain(exercise.expected(c))] for c in cases]
        mistakes = [{"name": m.name, "hint": m.hint,
                     "answers": [[c.name, to_plain(exercise.mistake_answer(m, c))] for c in cases]}
                    for m in exercise.mistakes]
    return {"name": exercise.name, "points": exercise.points, "chapter": exercise.chapter,
            "n_random": exercise.n_random, "n_hidden": exercise.n_hidden, "seed": exercise.seed,
            "expects": list(exercise.expects), "inplace_example": exercise.inplace_example,
            "cases": [c.to_plain() for c in cases], "expected": expected, "mistakes": mistakes}


def _answer_from_plain(data: Any) -> tuple[Any, dict] | None:
    if data is None:
        return None
    output, extras = from_plain(data)
    return output, extras


def released_exercise(data: dict, compare: Callable, call: Callable = default_call) -> Exercise:
    """An `Exercise` of the student release, from `release_answers` data and the chapter's own
    `compare` and `call` (which hold no answers)."""
    cases = tuple(Case.from_plain(c) for c in data["cases"])
    answers = ReleasedAnswers(
        cases=cases,
        expected={name: _answer_from_plain(a) for name, a in data["expected"]},
        mistakes={m["name"]: {name: _answer_from_plain(a) for name, a in m["answers"]}
                  for m in data["mistakes"]})
    return Exercise(
        name=data["name"], points=data["points"], reference=None, fixed_cases=None,
        random_cases=None, compare=compare, call=call,
        mistakes=[Mistake(m["name"], None, m["hint"]) for m in data["mistakes"]],
        n_random=data["n_random"], n_hidden=data["n_hidden"], seed=data["seed"],
        chapter=data["chapter"], expects=data["expects"], inplace_example=data["inplace_example"],
        released=answers)


def _case_key(case: Case) -> str:
    import hashlib

    from .plain import dumps
    return hashlib.sha256(dumps(case.to_plain()["args"]).encode()).hexdigest()[:32]


def case_values(function: Callable[[Case], Any], exercises: Sequence[Exercise]) -> dict:
    """{case key: plain value} of a function of the case alone on every visible case (release)."""
    out = {}
    with np.errstate(all="ignore"):
        for ex in exercises:
            for case in ex.cases():
                out[_case_key(case)] = to_plain(function(case))
    return out


def case_value(table: Mapping[str, dict], name: str, case: Case) -> Any:
    """In the student release: the stored value of the case function `name` on a visible case."""
    values = table.get(name, {})
    key = _case_key(case)
    if key not in values:
        raise ValueError(f"{name}: the student release knows only the visible cases of its checks")
    return from_plain(values[key])


def unavailable_compare(expected: Any, got: Any, case: Case) -> Mismatch:
    """The compare of a check whose instant feedback is not part of this release."""
    return Mismatch("this check is not available in this copy of the course library (it is "
                    "judged when your notebook is graded)")


def with_chapter(exercise: Exercise, chapter: str) -> Exercise:
    """`exercise` with its chapter set (the registry fills in a missing one)."""
    return exercise if exercise.chapter else dataclasses.replace(exercise, chapter=chapter)


# ---------------------------------------------------------------------------------------------
# collect: runs student code


_LIB_DIRS = tuple(os.path.realpath(p) + os.sep for p in {
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),  # course_lib
    sys.prefix, sys.base_prefix, sys.exec_prefix})


def _where(exc: BaseException) -> str:
    """'line 3 of mse_gradient: return X.T @ r / 0' for the deepest frame in the student's code."""
    tb = exc.__traceback__
    found = None
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        real = os.path.realpath(filename) if not filename.startswith("<") else filename
        if not real.startswith(_LIB_DIRS):
            found = tb
        tb = tb.tb_next
    if found is None:
        return ""
    code = found.tb_frame.f_code
    line = linecache.getline(code.co_filename, found.tb_lineno).strip()
    where = f"line {found.tb_lineno} of {code.co_name}" if code.co_name != "<module>" else f"line {found.tb_lineno}"
    return f"{where}: {line}" if line else where


def describe_exception(exc: BaseException) -> dict:
    try:
        message = str(exc)
    except BaseException:  # a student's exception class may break str()
        message = "<message could not be shown>"
    if len(message) > 500:
        message = message[:497] + "..."
    try:
        where = _where(exc)
    except Exception:
        where = ""
    return {"type": type(exc).__name__, "message": message, "where": where,
            "memory": isinstance(exc, MemoryError)}


def collect(exercise: Exercise, objs: Sequence[Any], cases: Sequence[Case]) -> dict:
    """Call the student's objects on every case; return plain (JSON-able) data, never raise.

    KeyboardInterrupt (the stop button) is not caught. SystemExit is, so `sys.exit()` inside a
    student's function ends as a clear message rather than a stopped check.
    """
    out: dict = {"format": FORMAT, "exercise": exercise.name, "object_error": None, "results": []}
    problem = exercise.validate_objects(objs)
    if problem:
        out["object_error"] = problem
        return out
    for case in cases:
        entry: dict = {"case": case.name, "output": None, "extras": {}, "error": None}
        try:
            with np.errstate(all="ignore"):  # overflow in a diverging answer is judged, not warned
                output, extras = exercise.call(objs, case)
            entry["output"] = to_plain(output)
            entry["extras"] = to_plain(extras)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            entry["error"] = describe_exception(exc)
        out["results"].append(entry)
        if entry["error"] and entry["error"]["type"] == "NotImplementedError":
            break  # the stub: no point in running the other cases
    return out


# ---------------------------------------------------------------------------------------------
# judge: pure, runs no student code


@dataclass
class Verdict:
    exercise: str
    status: Status
    message: str
    n_cases: int = 0
    n_failed: int = 0
    failed_case: str | None = None
    mistake: str | None = None
    details: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.status == PASSED


def _indent(text: str, prefix: str = "  ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def _error_verdict(exercise: Exercise, case: Case, err: dict, n: int) -> Verdict:
    name = exercise.name
    etype = str(err.get("type", "Exception"))
    emsg = str(err.get("message", ""))
    where = str(err.get("where", "") or "")
    if etype == "NotImplementedError":
        return Verdict(name, NOT_IMPLEMENTED,
                       f"✗ {name} is not implemented yet: replace `raise NotImplementedError()` in "
                       "its answer cell with your code, run that cell, then run this check again.",
                       n, n, case.name)
    at = f"\n  at {where}" if where else ""
    if err.get("memory") or etype in ("MemoryError", "_ArrayMemoryError"):
        return Verdict(name, MEMORY,
                       f"✗ {name} ran out of memory on case '{case.name}' ({etype}: {emsg}){at}\n"
                       f"  inputs: {case.describe()}\n"
                       "  hint: the inputs are small; look for an array far bigger than them "
                       "(an n x n matrix, a huge np.zeros, a list that keeps growing)", n, n, case.name)
    if etype == "SystemExit":
        return Verdict(name, ERROR,
                       f"✗ {name} called sys.exit()/exit() on case '{case.name}'{at}\n"
                       "  a function should `return` its answer; exiting stops the whole notebook",
                       n, n, case.name)
    return Verdict(name, ERROR,
                   f"✗ {name} raised {etype} on case '{case.name}': {emsg}{at}\n"
                   f"  inputs: {case.describe()}", n, n, case.name)


class _Unreadable(ValueError):
    pass


def _decode(cases: Sequence[Case], collected: Any) -> list[tuple[Case, Any, dict | None]]:
    """[(case, (output, extras) or None, error or None)] from collected plain data; raises
    _Unreadable when it is not what `collect` writes."""
    try:
        if not isinstance(collected, dict) or collected.get("format") != FORMAT:
            raise ValueError("unknown format")
        results = collected["results"]
        if not isinstance(results, list) or not results or len(results) > len(cases):
            raise ValueError("wrong number of results")
        decoded = []
        for case, res in zip(cases, results):
            if not isinstance(res, dict) or res.get("case") != case.name:
                raise ValueError(f"a result where case {case.name!r} was expected")
            if res.get("error"):
                err = res["error"]
                decoded.append((case, None, err if isinstance(err, dict) else {"message": str(err)}))
            else:
                extras = from_plain(res.get("extras"))
                answer = (from_plain(res.get("output")), extras if isinstance(extras, dict) else {})
                decoded.append((case, settle_extras(answer, case), None))
    except Exception as exc:
        raise _Unreadable(str(exc)[:200]) from None
    return decoded


def _judge_case(exercise: Exercise, case: Case, got: tuple[Any, dict]) -> tuple[Mismatch | None, Mistake | None]:
    """Why `got` is wrong on `case` (None if it is right) and the known mistake it matches."""
    with np.errstate(all="ignore"):
        expected = exercise.expected(case)
        mismatch = exercise.compare(expected, got, case)
        if mismatch is not None:
            return mismatch, _match_mistake(exercise, case, expected, got)
    modified = got[1].get("modified")
    if exercise.inplace_example and modified:
        # the values are right: the side effect is the whole failure, no mistake explains it
        return modified_inputs_mismatch(modified, exercise.inplace_example), None
    return None, None


def _match_mistake(exercise: Exercise, case: Case, expected: Any, got: Any) -> Mistake | None:
    """The first mistake that gives `got` on this case, among those that are wrong here (a mistake
    that coincides with the right answer on this case cannot explain a failure on it)."""
    for mistake in exercise.mistakes:
        try:
            wrong = exercise.mistake_answer(mistake, case)
            if wrong is None or exercise.compare(expected, wrong, case) is None:
                continue
            if exercise.compare(wrong, got, case) is None:
                return mistake
        except Exception:
            continue
    return None


def judge(exercise: Exercise, cases: Sequence[Case], collected: Any) -> Verdict:
    """Compare collected answers with references computed here; the first failing case is reported."""
    name = exercise.name
    n = len(cases)
    if isinstance(collected, dict) and collected.get("object_error"):
        return Verdict(name, ERROR, f"✗ {collected['object_error']}", n, n)
    try:
        decoded = _decode(cases, collected)
    except _Unreadable as exc:
        return Verdict(name, INVALID, f"✗ {name}: the check's results could not be read ({exc})", n, n)
    if len(decoded) < n and not any(err for _, _, err in decoded):
        return Verdict(name, INVALID, f"✗ {name}: only {len(decoded)} of {n} cases were run", n, n)

    first: Verdict | None = None
    n_failed = n - len(decoded)  # cases skipped after a NotImplementedError count as failed
    for case, got, err in decoded:
        if err is not None:
            n_failed += 1
            first = first or _error_verdict(exercise, case, err, n)
            continue
        mismatch, mistake = _judge_case(exercise, case, got)
        if mismatch is None:
            continue
        n_failed += 1
        if first is None:
            first = _failed_verdict(exercise, case, mismatch, mistake, n)
    if first is None:
        return Verdict(name, PASSED, f"✓ {name}: all {n} cases passed", n, 0)
    first.n_failed = n_failed
    if first.status in (FAILED, ERROR, MEMORY) and n > 1:
        head, _, rest = first.message.partition("\n")
        first.message = f"{head} ({n_failed} of {n} cases failed)" + (f"\n{rest}" if rest else "")
    return first


def _failed_verdict(exercise: Exercise, case: Case, mismatch: Mismatch, mistake: Mistake | None,
                    n: int) -> Verdict:
    hint = mistake.hint if mistake else mismatch.hint
    message = (f"✗ {exercise.name}: wrong answer on case '{case.name}'\n"
               f"  inputs: {case.describe()}\n"
               f"{_indent(mismatch.text)}")
    if hint:
        message += f"\n  hint: {hint}"
    return Verdict(exercise.name, FAILED, message, n, 0, case.name, mistake.name if mistake else None)


def run_check(exercise: Exercise, *objs: Any, cases: Sequence[Case] | None = None) -> Verdict:
    """collect + judge in this process, with a JSON round trip so the notebook and the grader see
    exactly the same data."""
    cases = list(cases) if cases is not None else exercise.cases()
    from .plain import dumps, loads
    collected = loads(dumps(collect(exercise, objs, cases)))
    return judge(exercise, cases, collected)
