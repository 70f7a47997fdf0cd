"""One submission's grade (rows of grades.csv), judged in the grader's process, and the store of
results that lets a rerun skip unchanged submissions.

    result = grade_submission(sub, assignments, secret, limits, policy)
    store.save(result); store.load(sub, fingerprint)

Every row's points come from `course_lib.checks.judge` run here, on the plain outputs the kernel
sent, against references computed here. Cached results carry an HMAC keyed by the secret in
OUTDIR/.course-grade (a changed result is detected and graded again); only the grader writes them.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import quote

from course_lib.checks.status import Status
from course_lib.grading.plan import Assignment, Plan, case_seed, plan_submission, student_cells
from course_lib.grading.sandbox import Kernel, SandboxPolicy
from course_lib.grading.submissions import InvalidNotebook, Submission, parse_notebook, read_bytes
from course_lib.grading.text import MAX_WRITTEN, clean, clean_name
from course_lib.grading.worker import AnswerRan, Collected, Limits, Log, Note, Stopped, Worker

CSV_FIELDS = ["student", "notebook", "exercise", "points", "max_points", "status", "message"]


@dataclass
class Row:
    student: str
    notebook: str
    exercise: str
    points: float
    max_points: float
    status: Status
    message: str

    def __post_init__(self) -> None:  # nothing unsafe reaches CSV, Markdown or the terminal
        self.student, self.notebook = clean_name(self.student), clean_name(self.notebook)
        self.exercise, self.message = clean_name(self.exercise), clean(self.message)
        self.status = Status(self.status)

    def csv_values(self) -> list[str]:
        return [self.student, self.notebook, self.exercise, f"{self.points:g}", f"{self.max_points:g}",
                self.status.value, self.message]


@dataclass
class Result:
    student: str
    notebook: str
    fingerprint: str
    rows: list[Row]
    notes: list[str] = field(default_factory=list)
    written: list[dict] = field(default_factory=list)   # {"grade_id", "text", "points"}
    log: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict:
        d = asdict(self)
        d["rows"] = [{**asdict(r), "status": r.status.value} for r in self.rows]
        return d

    @classmethod
    def from_json(cls, d: dict) -> "Result":
        d = dict(d)
        d["rows"] = [Row(**r) for r in d["rows"]]
        return cls(**d)

    @property
    def points(self) -> float:
        return sum(r.points for r in self.rows)

    @property
    def max_points(self) -> float:
        return sum(r.max_points for r in self.rows)


# ---------------------------------------------------------------------------------------------
# the store


class Store:
    """OUTDIR/.course-grade: the secret (0600) and one MAC-protected result per submission."""

    def __init__(self, state: Path):
        self.state = Path(state)
        self.state.mkdir(parents=True, exist_ok=True)
        os.chmod(self.state, 0o700)
        self.secret = self._secret()
        self._key = hmac.new(self.secret.encode(), b"course-grade results", hashlib.sha256).digest()
        self.rejected: list[str] = []

    def _secret(self) -> str:
        path = self.state / "secret"
        if path.is_file() and not path.is_symlink():
            value = path.read_text(encoding="utf-8").strip()
            if value:
                return value
        value = secrets.token_hex(16)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(value + "\n")
        return value

    def path(self, sub: Submission) -> Path:
        student = quote(os.fsencode(sub.student), safe="") or "_"
        return self.state / "results" / student / f"{quote(os.fsencode(sub.notebook), safe='')}.json"

    def _mac(self, text: str) -> str:
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()

    def save(self, sub: Submission, result: Result) -> None:
        text = json.dumps(result.to_json(), sort_keys=True, ensure_ascii=True)
        path = self.path(sub)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"mac": self._mac(text), "result": text}), encoding="utf-8")
        os.replace(tmp, path)

    def load(self, sub: Submission, fingerprint: str) -> Result | None:
        """The cached result if it is genuine and up to date; None otherwise."""
        path = self.path(sub)
        try:
            if path.is_symlink() or not path.is_file():
                return None
            outer = json.loads(path.read_text(encoding="utf-8"))
            text = outer["result"]
            if not hmac.compare_digest(str(outer.get("mac", "")), self._mac(text)):
                self.rejected.append(f"{sub.shown}/{clean_name(sub.notebook)}")
                return None
            result = Result.from_json(json.loads(text))
        except (OSError, ValueError, TypeError, KeyError):
            return None
        return result if result.fingerprint == fingerprint else None


# ---------------------------------------------------------------------------------------------
# grading one submission


def fingerprint(sub: Submission, assignments: dict[str, Assignment], secret: str, limits: Limits,
                policy: SandboxPolicy) -> str:
    h = hashlib.sha256()
    if sub.path is None:
        h.update(b"<missing>")
    elif sub.problem:
        h.update(b"<problem>" + sub.problem.encode())
    else:
        try:
            h.update(read_bytes(sub.path))
        except (OSError, InvalidNotebook) as exc:
            h.update(f"<unreadable {exc}>".encode())
    a = assignments.get(sub.notebook)
    h.update((a.digest if a and sub.known else "<unknown>").encode())
    h.update(hashlib.sha256(secret.encode()).digest())
    h.update(repr((limits, policy.sandboxed)).encode())
    return h.hexdigest()


def _zero_rows(a: Assignment, sub: Submission, status: Status, message: str) -> list[Row]:
    """Every row of the notebook (checks and written answers) with the same status."""
    rows = [Row(sub.student, sub.notebook, c.exercise, 0.0, c.points, status, message)
            for c in a.structure.checks]
    rows += [Row(sub.student, sub.notebook, w.grade_id, 0.0, w.manual_points, status, message)
             for w in a.structure.answers if w.cell_type == "markdown"]
    return _in_notebook_order(a, rows)


def _written_rows(a: Assignment, sub: Submission, found: set[str]) -> list[Row]:
    rows = []
    for ans in a.structure.answers:
        if ans.cell_type == "markdown":
            status = Status.MANUAL if ans.grade_id in found else Status.MISSING_ANSWER
            message = ("to be read by the instructor (your text is in your feedback file)"
                       if status is Status.MANUAL else
                       f"✗ the written answer {ans.grade_id!r} was not found in your notebook")
            rows.append(Row(sub.student, sub.notebook, ans.grade_id, 0.0, ans.manual_points, status, message))
    return rows


def _in_notebook_order(a: Assignment, rows: list[Row]) -> list[Row]:
    order = exercise_order(a)
    return sorted(rows, key=lambda r: order.get(r.exercise, len(order)))


def exercise_order(a: Assignment) -> dict[str, int]:
    """{exercise or written answer grade_id: position in the notebook}."""
    items = [(c.index, c.exercise) for c in a.structure.checks]
    items += [(w.index, w.grade_id) for w in a.structure.answers if w.cell_type == "markdown"]
    return {name: i for i, (_, name) in enumerate(sorted(items))}


def grade_submission(sub: Submission, assignments: dict[str, Assignment], secret: str,
                     limits: Limits, policy: SandboxPolicy, fp: str | None = None) -> Result:
    """Grade one (student, notebook); never raises (an internal error ends as status 'crashed')."""
    t0 = time.monotonic()
    fp = fp or fingerprint(sub, assignments, secret, limits, policy)
    try:
        result = _grade(sub, assignments, secret, limits, policy, fp)
    except Exception as exc:  # a bug of the grader must not abort the batch
        message = f"✗ internal grader error ({type(exc).__name__}: {exc}); please tell your instructor"
        a = assignments.get(sub.notebook)
        rows = (_zero_rows(a, sub, Status.CRASHED, message) if a and sub.known
                else [Row(sub.student, sub.notebook, "", 0.0, 0.0, Status.CRASHED, message)])
        result = Result(sub.shown, clean_name(sub.notebook), fp, rows)
    if sub.note:
        result.notes.insert(0, sub.note)
    result.seconds = round(time.monotonic() - t0, 2)
    return result


def _grade(sub: Submission, assignments: dict[str, Assignment], secret: str, limits: Limits,
           policy: SandboxPolicy, fp: str) -> Result:
    shown, notebook = sub.shown, clean_name(sub.notebook)
    if not sub.known:
        return Result(shown, notebook, fp, [Row(
            sub.student, sub.notebook, "", 0.0, 0.0, Status.UNKNOWN_NOTEBOOK,
            f"✗ {notebook} is not an exercise notebook of this course (expected "
            f"{', '.join(assignments)}); was it renamed?")])
    a = assignments[sub.notebook]
    if sub.path is None:
        return Result(shown, notebook, fp, _zero_rows(
            a, sub, Status.MISSING_NOTEBOOK, f"✗ {notebook} was not found in your folder"))
    try:
        if sub.problem:
            raise InvalidNotebook(sub.problem)
        nb = parse_notebook(read_bytes(sub.path))
    except InvalidNotebook as exc:
        return Result(shown, notebook, fp, _zero_rows(
            a, sub, Status.INVALID_NOTEBOOK,
            f"✗ {notebook} is not a readable notebook ({exc}); open it in Jupyter, save it and hand "
            "it in again"))
    plan = plan_submission(a, student_cells(nb),
                           lambda ex: case_seed(secret, sub.student, sub.notebook, ex))
    events = []
    if plan.exercises:
        events = Worker(plan, lambda: Kernel(policy, limits.sandbox()), limits).run()
    rows = judge_rows(a, sub, plan, events, limits)
    rows += _written_rows(a, sub, {w.grade_id for w in plan.written})
    notes = [clean(n) for n in plan.general_notes] + [clean(e.text) for e in events if isinstance(e, Note)]
    written = [{"grade_id": w.grade_id, "text": clean(w.text, MAX_WRITTEN), "points": w.points}
               for w in plan.written]
    log = [clean(e.text, 1000) for e in events if isinstance(e, Log)]
    return Result(shown, notebook, fp, _in_notebook_order(a, rows), notes, written, log)


def judge_rows(a: Assignment, sub: Submission, plan: Plan, events: list, limits: Limits) -> list[Row]:
    """One row per checked exercise, from the worker's events, judged here."""
    from course_lib.checks import get, judge
    outcome = {}
    answers = {}
    for ev in events:
        if isinstance(ev, (Collected, Stopped)):
            outcome.setdefault(ev.exercise, ev)
        elif isinstance(ev, AnswerRan):
            answers[ev.exercise] = ev
    cases = {s.exercise: list(s.cases) for s in plan.steps if hasattr(s, "cases")}
    rows = []
    for c in a.structure.checks:
        ex, ev, passed = c.exercise, outcome.get(c.exercise), False
        if ex in plan.missing:
            status, message = Status.MISSING_ANSWER, (
                f"✗ the answer cell for {ex} (grade_id {plan.missing[ex]!r}) was not found in your "
                "notebook; was it deleted? Copy it from a fresh exercise notebook")
        elif ev is None:
            status, message = Status.CRASHED, "✗ not graded: grading stopped before this exercise"
        elif isinstance(ev, Collected):
            try:
                verdict = judge(get(ex), cases[ex], ev.data)
                status, message, passed = verdict.status, verdict.message, verdict.passed
            except Exception as exc:  # a compare that could not handle what the kernel sent
                status, message = Status.INVALID, (f"✗ {ex}: the check's results could not be judged "
                                                   f"({type(exc).__name__})")
        else:
            status, message = ev.status, ev.message
        answer = answers.get(ex)
        if answer and answer.status is Status.ERROR and not passed:
            message += f"\n  note: your answer cell raised {answer.ename}: {answer.evalue[:300]}"
            if status is Status.ERROR and answer.ename == "MemoryError":
                status = Status.MEMORY
                message += f" (the kernel may use at most {limits.memory_mb} MB)"
        for note in plan.notes.get(ex, []):
            message += f"\n  note: {note}"
        rows.append(Row(sub.student, sub.notebook, ex, c.points if passed else 0.0, c.points, status, message))
    return rows
