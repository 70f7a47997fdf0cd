"""What to run for one submission: the canonical notebook, the student's answer cells, the steps.

    assignments = load_assignments(solutions)                  # {file name: Assignment}
    plan = plan_submission(assignments[name], student_cells, secret_seed)
    plan.steps     # ContextStep / AnswerStep / CollectStep, in notebook order

The notebook that runs is rebuilt from the canonical exercise notebook (built in memory from the
solution notebook), taking only the student's answer cells, matched by their nbgrader grade_id
(or, when the metadata was stripped, by the names they define or the cell before them). Each check
cell becomes a CollectStep: the student's objects are called on the check's cases (the visible
ones and hidden ones drawn from the secret) inside the sandbox, and only their outputs come back.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

from course_lib.checks.core import Case
from course_lib.grading.assignments import (SKIP_TAG, SOLUTIONS, AnswerCell, AssignmentError, Structure,
                                            build_notebook, cell_label, defined_names, nbgrader_meta,
                                            parse_check_call, read_notebook, solution_paths, source_of,
                                            structure)
from course_lib.grading.text import MAX_WRITTEN, clean

#: bump when a change of the grader changes what a submission earns (cached results are redone)
GRADER_VERSION = "3"
#: an answer cell longer than this (characters) is cut (a notebook's code is a few KB)
MAX_CELL = 1_000_000

PACKAGE = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------------------------
# canonical notebooks


@dataclass(frozen=True)
class Assignment:
    name: str                 # file name, e.g. "02_gradient_descent.ipynb"
    cells: list               # the exercise version's cells
    structure: Structure
    digest: str               # changes when the notebook, the checks or the library change

    @property
    def exercises(self) -> list[str]:
        return [c.exercise for c in self.structure.checks]


def library_files(exercises: list[str]) -> list[Path]:
    """The library files whose code decides these exercises' grades: the checks machinery, the
    chapter modules that define them and every course_lib module they import, transitively."""
    from course_lib.checks import module_of
    todo = [PACKAGE / "__init__.py", PACKAGE / "check.py"]
    todo += [PACKAGE / "checks" / f"{m}.py" for m in ("__init__", "core", "compare", "plain", "status",
                                                      "collector")]
    todo += [PACKAGE / "checks" / f"{module_of(ex)}.py" for ex in exercises]
    seen: set[Path] = set()
    while todo:
        path = todo.pop()
        if path in seen or not path.is_file():
            continue
        seen.add(path)
        todo += _imported_files(path)
    return sorted(seen)


def _imported_files(path: Path) -> list[Path]:
    """The course_lib files a module imports (absolute `course_lib.x` or relative imports)."""
    import ast
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return []
    package = path.parent.relative_to(PACKAGE.parent).parts
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [tuple(a.name.split(".")) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = tuple((node.module or "").split(".")) if node.module else ()
            if node.level:
                base = package[: len(package) - node.level + 1] + base
            names.append(base)
            names += [base + (a.name,) for a in node.names]
    found = []
    for parts in names:
        if parts[:1] != ("course_lib",):
            continue
        target = PACKAGE.parent.joinpath(*parts)
        found += [p for p in (target.with_suffix(".py"), target / "__init__.py") if p.is_file()]
    return found


def checks_digest(exercises: list[str]) -> str:
    h = hashlib.sha256(GRADER_VERSION.encode())
    for path in library_files(exercises):
        h.update(str(path.relative_to(PACKAGE)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def load_assignments(source: Path = SOLUTIONS, problems: list[str] | None = None) -> dict[str, Assignment]:
    """{file name: Assignment} for every valid solution notebook with at least one check; the
    invalid ones are skipped and described in `problems` (or raise AssignmentError if None)."""
    out = {}
    for path in solution_paths(source):
        try:
            nb = read_notebook(path)
            st = structure(nb, path.name)
        except (AssignmentError, ValueError) as exc:
            if problems is None:
                raise AssignmentError(str(exc)) from None
            problems.append(f"{path.name} skipped: {exc}")
            continue
        if not st.checks:
            continue
        ex_nb = build_notebook(nb, path.name)
        checks = checks_digest([c.exercise for c in st.checks])
        # canonical JSON, not to_bytes(): nbformat's import (jsonschema) costs seconds per run
        text = json.dumps(ex_nb, sort_keys=True, ensure_ascii=True)
        digest = hashlib.sha256(text.encode() + checks.encode()).hexdigest()
        out[path.name] = Assignment(path.name, ex_nb["cells"], st, digest)
    return out


# ---------------------------------------------------------------------------------------------
# the student's cells


def student_cells(nb: dict) -> list[dict]:
    """The cells of a submitted notebook as plain dicts: type, source (a str, capped), metadata."""
    cells = []
    for c in nb.get("cells", []):
        if not isinstance(c, dict):
            cells.append({"cell_type": "raw", "source": "", "metadata": {}})
            continue
        src = c.get("source", "")
        if isinstance(src, list):
            src = "".join(s for s in src if isinstance(s, str))
        elif not isinstance(src, str):
            src = ""
        meta = c.get("metadata")
        cells.append({"cell_type": c.get("cell_type") if isinstance(c.get("cell_type"), str) else "raw",
                      "source": src[:MAX_CELL], "metadata": meta if isinstance(meta, dict) else {}})
    return cells


def match_answers(assignment: Assignment, cells: list[dict]) -> tuple[dict, dict, list[str]]:
    """{grade_id: student cell index}, {grade_id: how} ("grade_id", "content", "position") and notes."""
    by_id: dict[str, list[int]] = {}
    for j, c in enumerate(cells):
        gid = nbgrader_meta(c).get("grade_id")
        if isinstance(gid, str):
            by_id.setdefault(gid, []).append(j)
    matched: dict[str, int] = {}
    how: dict[str, str] = {}
    notes: list[str] = []
    used: set[int] = set()
    for a in assignment.structure.answers:
        js = [j for j in by_id.get(a.grade_id, []) if cells[j].get("cell_type") == a.cell_type]
        if js:
            matched[a.grade_id], how[a.grade_id] = js[-1], "grade_id"
            used.add(js[-1])
            if len(js) > 1:
                notes.append(f"{len(js)} cells carry grade_id {a.grade_id!r}; the last one was graded")
    for a in assignment.structure.answers:
        if a.grade_id not in matched:
            j, kind = _fallback_match(assignment, a, cells, used)
            if j is not None:
                matched[a.grade_id], how[a.grade_id] = j, kind
                used.add(j)
    return matched, how, notes


def _fallback_match(assignment: Assignment, a: AnswerCell, cells: list[dict], used: set[int]):
    """A cell for answer `a` whose metadata was stripped: by the names it defines, else by the cell
    before it."""
    free = [j for j, c in enumerate(cells) if j not in used and c.get("cell_type") == a.cell_type
            and not (c.get("cell_type") == "code" and parse_check_call(source_of(c)))]
    if a.cell_type == "code" and a.defines:
        cands = [k for k in free if set(a.defines) <= set(defined_names(source_of(cells[k])))]
        if cands:
            return cands[-1], "content"
    if a.index > 0:
        anchor = source_of(assignment.cells[a.index - 1]).strip()
        for k, c in enumerate(cells[:-1]):
            if anchor and source_of(c).strip() == anchor and k + 1 in free:
                return k + 1, "position"
    return None, ""


# ---------------------------------------------------------------------------------------------
# the plan


@dataclass(frozen=True)
class ContextStep:
    """A cell of the canonical notebook (imports, data): replayed after a restart."""
    label: str
    code: str


@dataclass(frozen=True)
class AnswerStep:
    """The student's answer cell for `exercise` (None: an answer no check grades)."""
    label: str
    code: str
    exercise: str | None


@dataclass(frozen=True)
class CollectStep:
    """A check cell: call the student's `objects` on `cases` in the kernel; only outputs return."""
    label: str
    exercise: str
    objects: tuple[str, ...]
    cases: tuple[Case, ...]

    def cases_plain(self) -> list[dict]:
        return [c.to_plain() for c in self.cases]


Step = Union[ContextStep, AnswerStep, CollectStep]


@dataclass(frozen=True)
class WrittenAnswer:
    grade_id: str
    text: str
    points: float = 0.0       # graded by the instructor ("to be read by the instructor")


@dataclass
class Plan:
    steps: list[Step]
    exercises: list[str]                   # the exercises to grade (their answer cell was found)
    missing: dict[str, str]                # exercise -> answer grade_id not found
    notes: dict[str, list[str]]            # exercise -> notes about the matching
    general_notes: list[str]
    written: list[WrittenAnswer] = field(default_factory=list)
    missing_written: list[str] = field(default_factory=list)


def case_seed(secret: str, student: str, notebook: str, exercise: str) -> int:
    digest = hashlib.sha256("\0".join([secret, student, notebook, exercise]).encode(
        "utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def plan_submission(assignment: Assignment, cells: list[dict], seed_of) -> Plan:
    """The steps for one submission; `seed_of(exercise)` gives the seed of its hidden cases."""
    from course_lib.checks import get
    matched, how, general = match_answers(assignment, cells)
    owner = {a.grade_id: (a.check.exercise if a.check else None) for a in assignment.structure.answers}
    plan = Plan([], [], {}, {}, general)
    for a in assignment.structure.answers:
        ex = owner[a.grade_id]
        if a.grade_id not in matched:
            if ex:
                plan.missing.setdefault(ex, a.grade_id)
            elif a.cell_type == "markdown":
                plan.missing_written.append(a.grade_id)
            continue
        if how[a.grade_id] != "grade_id" and ex:
            plan.notes.setdefault(ex, []).append(
                f"your answer cell for {ex} was found by its {how[a.grade_id]}, "
                "because its nbgrader metadata was missing")
        if a.cell_type == "markdown":
            plan.written.append(WrittenAnswer(a.grade_id, clean(source_of(cells[matched[a.grade_id]]),
                                                                 MAX_WRITTEN), a.manual_points))
    answer_at = {a.index: a for a in assignment.structure.answers}
    check_at = {c.index: c for c in assignment.structure.checks}
    for i, cell in enumerate(assignment.cells):
        if cell.get("cell_type") != "code":
            continue
        label = cell_label(assignment.name, i, cell)
        if i in answer_at:
            a = answer_at[i]
            if a.grade_id in matched:
                plan.steps.append(AnswerStep(label, source_of(cells[matched[a.grade_id]]), owner[a.grade_id]))
        elif i in check_at:
            c = check_at[i]
            if c.exercise not in plan.missing:
                cases = get(c.exercise).cases(secret=seed_of(c.exercise))
                plan.steps.append(CollectStep(label, c.exercise, tuple(c.args), tuple(cases)))
                plan.exercises.append(c.exercise)
        elif SKIP_TAG not in ((cell.get("metadata") or {}).get("tags") or []):
            plan.steps.append(ContextStep(label, source_of(cell)))
    return plan
