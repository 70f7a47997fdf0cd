"""The machinery behind `check.<name>(...)`: exercises, cases, collect and judge.

An `Exercise` knows how to make seeded test cases, how to call a student's function on a case, the
reference answer and a list of named plausible `Mistake`s. A check is split in two halves:

    collected = collect(exercise, objects, cases)   # runs the student's code; returns plain data
    verdict   = judge(exercise, cases, collected)   # compares with the reference; pure, no student code

In a notebook `check.<name>(f)` does both in the same process and prints "✓ ..." or raises
`CheckFailed`. The grader (course_lib.grading) runs `collect` inside the student's kernel, receives
its result as JSON, and runs `judge` in its own process with references it computes itself, so
nothing a student's notebook does to `check`, course_lib or numpy can change the points.
"""
from __future__ import annotations

import copy
import linecache
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from .plain import Opaque, from_plain, is_real_number, to_plain, type_name

FORMAT = 1

PASSED = "passed"
FAILED = "failed"
NOT_IMPLEMENTED = "not_implemented"
ERROR = "error"
MEMORY = "memory"
INVALID = "invalid"


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
    """A plausible wrong answer: an implementation with the student's signature, and its hint."""

    name: str
    func: Callable
    hint: str


@dataclass(frozen=True)
class Mismatch:
    """Why an answer differs from the expected one (text), with an optional generic hint."""

    text: str
    hint: str = ""


def modified_inputs_mismatch(names: Sequence[str], example: str) -> Mismatch:
    """The message for a function that changed its array inputs in place (see `default_call`).

    `example` shows the chapter's own way of computing a new array, e.g. "r = y - X @ w".
    """
    return Mismatch(f"your function changed its input(s) {', '.join(names)} in place; compute new "
                    f"arrays instead ({example})")


def default_call(objs: Sequence[Any], case: Case) -> tuple[Any, dict]:
    """Call objs[0] with copies of the case's inputs, positionally, in the order of `case.args`.

    Returns (output, extras) where extras["modified"] lists the array inputs changed in place.
    """
    args = {k: copy.deepcopy(v) for k, v in case.args.items()}
    output = objs[0](*args.values())
    modified = [k for k, v in args.items()
                if isinstance(v, np.ndarray) and not np.array_equal(v, case.args[k], equal_nan=True)]
    return output, ({"modified": modified} if modified else {})


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
        (`default_call` reports them) fails with `modified_inputs_mismatch(names, inplace_example)`;
        e.g. "e.g. r = y - X @ w, not y -= X @ w".
    """

    def __init__(self, name: str, points: int, reference: Callable,
                 fixed_cases: Callable[[], list[Case]],
                 random_cases: Callable[[np.random.Generator, int], list[Case]],
                 compare: Callable[[Any, Any, Case], Mismatch | None],
                 mistakes: Sequence[Mistake] = (), call: Callable = default_call,
                 n_random: int = 3, n_hidden: int = 3, seed: int = 0, chapter: str = "",
                 expects: Sequence[str] | None = None, inplace_example: str | None = None):
        self.name = name
        self.points = points
        self.reference = reference
        self.fixed_cases = fixed_cases
        self.random_cases = random_cases
        self.compare = compare
        self.mistakes = list(mistakes)
        self.call = call
        self.n_random = n_random
        self.n_hidden = n_hidden
        self.seed = seed
        self.chapter = chapter
        self.expects = list(expects) if expects is not None else [f"your function {name}"]
        self.inplace_example = inplace_example

    def __repr__(self) -> str:
        return f"<Exercise {self.name} ({self.points} points, {len(self.mistakes)} mistakes)>"

    def cases(self, secret: int | None = None) -> list[Case]:
        """The fixed cases, `n_random` cases from `seed` and, given a secret, `n_hidden` more."""
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
        return self.call([self.reference], case)

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


# ---------------------------------------------------------------------------------------------
# formatting


def format_value(v: Any, precision: int = 6) -> str:
    """A short, deterministic text for a value (arrays with `precision` significant digits)."""
    if isinstance(v, np.ndarray):
        if v.dtype.kind in "biufc":
            with np.printoptions(precision=precision, threshold=12, edgeitems=3, linewidth=88,
                                 floatmode="maxprec"):
                text = np.array2string(v, separator=" ")
            return " ".join(text.split()) if v.ndim > 1 else text
        return f"array of dtype {v.dtype}"
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.{precision}g}"
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, str):
        return repr(v) if len(v) <= 60 else repr(v[:57] + "...")
    if isinstance(v, tuple):
        return "(" + ", ".join(format_value(x, precision) for x in v) + ("," if len(v) == 1 else "") + ")"
    if isinstance(v, list):
        if len(v) > 8:
            return f"list of {len(v)} items"
        return "[" + ", ".join(format_value(x, precision) for x in v) + "]"
    if isinstance(v, Opaque):
        return repr(v)
    if v is None:
        return "None"
    return f"<{type_name(v)}>"


def describe_kind(v: Any) -> str:
    """'None', 'a Python list', 'a float', 'a NumPy array of shape (3,)', ..."""
    if v is None:
        return "None"
    if isinstance(v, np.ndarray):
        return f"a NumPy array of shape {tuple(v.shape)} and dtype {v.dtype}"
    if isinstance(v, Opaque):
        return f"too big to check ({v.type_name})" if v.too_big else _article(v.type_name)
    if isinstance(v, list):
        return f"a Python list of {len(v)} items"
    if isinstance(v, tuple):
        return f"a tuple of {len(v)} items"
    if isinstance(v, (bool, np.bool_)):
        return f"a bool ({v})"
    if isinstance(v, np.generic):
        return f"a NumPy {type(v).__name__} ({format_value(v)})"
    if isinstance(v, (int, float)):
        return f"{_article(type(v).__name__)} ({format_value(v)})"
    return _article(type_name(v))


def _article(noun: str) -> str:
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


# ---------------------------------------------------------------------------------------------
# comparisons


def compare_arrays(expected: np.ndarray, got: Any, *, rtol: float, atol: float,
                   what: str = "your answer") -> Mismatch | None:
    """Pass when got is an ndarray of expected's shape with max|got - expected| <= atol + rtol max|expected|."""
    expected = np.asarray(expected, dtype=float)
    shape = tuple(expected.shape)
    if got is None:
        return Mismatch(f"{what} is None: did you forget `return`?")
    if isinstance(got, (list, tuple)):
        return Mismatch(f"{what} is {describe_kind(got)}; return a NumPy array of shape {shape} "
                        "(e.g. wrap it in np.array(...), or compute it with array operations)")
    if not isinstance(got, np.ndarray):
        if is_real_number(got):
            return Mismatch(f"{what} is a single number ({format_value(got)}); expected a NumPy "
                            f"array of shape {shape}")
        return Mismatch(f"{what} is {describe_kind(got)}; expected a NumPy array of shape {shape}")
    if got.dtype.kind not in "iuf":
        return Mismatch(f"{what} has dtype {got.dtype}; expected an array of real numbers (float64)")
    if got.shape != shape:
        hint = ""
        if got.size == expected.size:
            hint = (f"it holds the right number of entries; a ({got.size}, 1) column or a (1, {got.size}) "
                    "row usually comes from reshaping or from np.dot/@ on 2-D arrays: keep vectors 1-D")
        return Mismatch(f"{what} has shape {got.shape}; expected shape {shape}", hint)
    g = got.astype(float)
    bad = ~np.isfinite(g)
    if bad.any() and np.isfinite(expected).all():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        return Mismatch(f"{what} contains {g[idx]} at index {idx[0] if len(idx) == 1 else idx}; "
                        f"expected {format_value(expected)}",
                        "NaN or inf usually means a division by zero or an overflow")
    err = float(np.max(np.abs(g - expected))) if g.size else 0.0
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    if err <= atol + rtol * scale:
        return None
    if scale > 0:
        size = f"relative error {err / scale:.1e}, allowed {rtol:.0e}"
    else:
        size = f"absolute error {err:.1e}, allowed {atol:.0e}"
    text = (f"expected: {format_value(expected)}\n"
            f"got:      {format_value(g)}\n"
            f"{size}")
    return Mismatch(text, _factor_hint(expected.ravel(), g.ravel()))


def _factor_hint(expected: np.ndarray, got: np.ndarray) -> str:
    """A hint when got is (close to) a multiple c * expected of the right answer."""
    ee = float(expected @ expected)
    if ee == 0.0 or not np.isfinite(got).all():
        return ""
    c = float(got @ expected) / ee
    if np.linalg.norm(got - c * expected) > 1e-6 * max(np.linalg.norm(got), 1e-300):
        return ""
    if abs(c + 1) < 1e-6:
        return "your answer has the opposite sign of the expected one"
    if abs(c - 1) < 1e-6 or abs(c) < 1e-12:
        return ""
    return f"your answer is {c:.4g} times the expected one: a constant factor is off"


def compare_scalars(expected: float, got: Any, *, rtol: float, atol: float,
                    what: str = "your answer") -> Mismatch | None:
    """Pass when got is a real number with |got - expected| <= atol + rtol |expected|."""
    if got is None:
        return Mismatch(f"{what} is None: did you forget `return`?")
    if isinstance(got, np.ndarray) and got.ndim > 0:
        extra = " (use float(...) or index it)" if got.size == 1 else ""
        return Mismatch(f"{what} is a NumPy array of shape {got.shape}; expected a single number{extra}")
    if not is_real_number(got):
        return Mismatch(f"{what} is {describe_kind(got)}; expected a number")
    g = float(got)
    e = float(expected)
    if not np.isfinite(g) and np.isfinite(e):
        return Mismatch(f"{what} is {g}; expected {format_value(e)}",
                        "NaN or inf usually means a division by zero or an overflow")
    err = abs(g - e)
    if err <= atol + rtol * abs(e):
        return None
    size = (f"relative error {err / abs(e):.1e}, allowed {rtol:.0e}" if e != 0
            else f"absolute error {err:.1e}, allowed {atol:.0e}")
    hint = ""
    if e != 0 and g != 0 and abs(g / e + 1) < 1e-9:
        hint = "your answer has the opposite sign of the expected one"
    return Mismatch(f"{what}: expected {format_value(e, 8)}, got {format_value(g, 8)}; {size}", hint)


def as_sequence(got: Any, n: int, names: str, what: str = "your function") -> tuple[list | None, Mismatch | None]:
    """Unpack an answer that must hold n items (a tuple; a list or 1-D array is accepted)."""
    if isinstance(got, (tuple, list)) and len(got) == n:
        return list(got), None
    if isinstance(got, np.ndarray) and got.shape == (n,):
        return list(got), None
    return None, Mismatch(f"{what} returned {describe_kind(got)}; expected a tuple of {n} items "
                          f"({names}), e.g. `return {names}`")


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
    status: str
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


def judge(exercise: Exercise, cases: Sequence[Case], collected: Any) -> Verdict:
    """Compare collected answers with references computed here; the first failing case is reported."""
    name = exercise.name
    n = len(cases)
    try:
        if not isinstance(collected, dict) or collected.get("format") != FORMAT:
            raise ValueError("unknown format")
        if collected.get("object_error"):
            return Verdict(name, ERROR, f"✗ {collected['object_error']}", n, n)
        results = collected["results"]
        if not isinstance(results, list) or not results or len(results) > n:
            raise ValueError("wrong number of results")
        decoded = []
        for case, res in zip(cases, results):
            if res.get("case") != case.name:
                raise ValueError(f"case {res.get('case')!r} where {case.name!r} was expected")
            if res.get("error"):
                decoded.append((case, None, res["error"]))
            else:
                decoded.append((case, (from_plain(res["output"]), from_plain(res["extras"]) or {}), None))
    except Exception as exc:
        return Verdict(name, INVALID, f"✗ {name}: the check's results could not be read ({exc})", n, n)

    if len(decoded) < n and not any(err for _, _, err in decoded):
        return Verdict(name, INVALID, f"✗ {name}: only {len(decoded)} of {n} cases were run", n, n)

    first: Verdict | None = None
    n_failed = n - len(decoded)  # cases skipped after a NotImplementedError count as failed
    for case, got, err in decoded:
        if err is not None:
            n_failed += 1
            if first is None:
                first = _error_verdict(exercise, case, err, n)
            continue
        with np.errstate(all="ignore"):
            expected = exercise.expected(case)
            mismatch = exercise.compare(expected, got, case)
        if mismatch is None and exercise.inplace_example and got[1].get("modified"):
            mismatch = modified_inputs_mismatch(got[1]["modified"], exercise.inplace_example)
        if mismatch is None:
            continue
        n_failed += 1
        if first is not None:
            continue
        with np.errstate(all="ignore"):
            mistake = _match_mistake(exercise, case, got)
        hint = mistake.hint if mistake else mismatch.hint
        message = (f"✗ {name}: wrong answer on case '{case.name}'\n"
                   f"  inputs: {case.describe()}\n"
                   f"{_indent(mismatch.text)}")
        if hint:
            message += f"\n  hint: {hint}"
        first = Verdict(name, FAILED, message, n, 0, case.name, mistake.name if mistake else None)
    if first is None:
        return Verdict(name, PASSED, f"✓ {name}: all {n} cases passed", n, 0)
    first.n_failed = n_failed
    if first.status in (FAILED, ERROR, MEMORY) and n > 1:
        head, _, rest = first.message.partition("\n")
        first.message = f"{head} ({n_failed} of {n} cases failed)" + (f"\n{rest}" if rest else "")
    return first


def _match_mistake(exercise: Exercise, case: Case, got: Any) -> Mistake | None:
    for mistake in exercise.mistakes:
        try:
            wrong = exercise.call([mistake.func], case)
            if exercise.compare(wrong, got, case) is None:
                return mistake
        except Exception:
            continue
    return None


def run_check(exercise: Exercise, *objs: Any, cases: Sequence[Case] | None = None) -> Verdict:
    """collect + judge in this process, with a JSON round trip so the notebook and the grader see
    exactly the same data."""
    cases = list(cases) if cases is not None else exercise.cases()
    from .plain import dumps, loads
    collected = loads(dumps(collect(exercise, objs, cases)))
    return judge(exercise, cases, collected)
