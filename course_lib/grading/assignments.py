"""Exercise notebooks generated from solution notebooks: one source, nbgrader-compatible.

    python -m course_lib.grading.assignments build [NAME ...]  # solutions/NN_topic.ipynb -> exercises/NN_topic.ipynb
    python -m course_lib.grading.assignments check             # exit 1 if exercises/ is stale or a source is invalid
    python -m course_lib.grading.assignments list              # the graded exercises, their points and mistakes

Conventions (those of nbgrader, so nbgrader users can take solutions/ as their source):

- An answer cell holds its answer between two lines `### BEGIN SOLUTION` and `### END SOLUTION`
  and has the metadata {"nbgrader": {"solution": true, "grade": false, "locked": false,
  "grade_id": ID, "schema_version": 3}}. In the exercise version each marked region becomes, at the
  indentation of its BEGIN line, `# YOUR CODE HERE` + `raise NotImplementedError()` (code) or
  `YOUR ANSWER HERE` (Markdown); a solution cell without markers is replaced as a whole, and
  answer cells are marked non-deletable (as nbgrader's generate_assignment does).
- A written answer is a Markdown answer cell graded by hand, as nbgrader requires:
  {"nbgrader": {"solution": true, "grade": true, "locked": false, "points": 0, "grade_id": ID,
  "schema_version": 3}}. course-grade copies it into the feedback and reports its points (0 by
  default) as "to be read by the instructor". The older form with "grade": false is still accepted.
- A check cell comes after its answer cell, is exactly one call `check.NAME(arg, ...)` whose args are
  names the student defines, and has {"nbgrader": {"grade": true, "solution": false,
  "locked": true, "points": P, "grade_id": ID + "_check", "schema_version": 3}}; P must equal the
  points of the registered check NAME (course_lib.checks).
- Outputs and execution counts are cleared, notebook metadata is reduced to the kernelspec, and the
  file is written exactly as Jupyter writes it (sorted keys, indent 1), so rebuilding an unchanged
  source gives identical bytes. Nested, unclosed or misspelt markers are an error naming the
  notebook and the cell.
"""
from __future__ import annotations

import argparse
import ast
import copy
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
MARKDOWN_STUB = "YOUR ANSWER HERE"

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"

#: cell metadata kept in the exercise version
_CELL_METADATA = ("nbgrader", "tags", "editable", "deletable", "jupyter", "slideshow")
#: a cell tag for demo cells the grader does not need to run (they must define nothing used later)
SKIP_TAG = "course-grade-skip"


class AssignmentError(ValueError):
    """A solution notebook breaks the conventions; the message names the notebook and the cell."""


# ---------------------------------------------------------------------------------------------
# reading a solution notebook


def source_of(cell) -> str:
    src = cell.get("source", "")
    return "".join(map(str, src)) if isinstance(src, list) else str(src)


def nbgrader_meta(cell) -> dict:
    meta = cell.get("metadata", {}) or {}
    nbg = meta.get("nbgrader", {}) if isinstance(meta, dict) else {}
    return nbg if isinstance(nbg, dict) else {}


def cell_label(notebook: str, index: int, cell) -> str:
    gid = nbgrader_meta(cell).get("grade_id")
    return f"{notebook}, cell {index}" + (f" (grade_id {gid!r})" if gid else "")


@dataclass
class CheckCall:
    """A check cell: `check.<exercise>(<args>)`."""

    index: int
    grade_id: str
    exercise: str
    args: list[str]
    points: float


@dataclass
class AnswerCell:
    index: int
    grade_id: str
    cell_type: str          # "code" or "markdown"
    check: CheckCall | None = None  # the check cell that grades it (the next one after it)
    defines: list[str] = field(default_factory=list)  # top-level names a code answer defines
    manual_points: float = 0.0  # a written answer's points, graded by the instructor ("grade": true)


@dataclass
class Structure:
    """The graded structure of a solution notebook."""

    name: str
    answers: list[AnswerCell]
    checks: list[CheckCall]

    @property
    def max_points(self) -> float:
        return sum(c.points for c in self.checks)


def parse_check_call(source: str) -> tuple[str, list[str]] | None:
    """('mse_gradient', ['mse_gradient']) for 'check.mse_gradient(mse_gradient)', else None."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Expr):
        return None
    call = tree.body[0].value
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
            and isinstance(call.func.value, ast.Name) and call.func.value.id == "check"
            and not call.keywords and all(isinstance(a, ast.Name) for a in call.args)):
        return None
    return call.func.attr, [a.id for a in call.args]


def defined_names(source: str) -> list[str]:
    """Top-level names a code cell defines (functions, classes, assignments); [] if it does not parse."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                names += [n.id for n in ast.walk(t) if isinstance(n, ast.Name)]
    return list(dict.fromkeys(names))


def _marker_lines(source: str) -> list[tuple[int, str]]:
    out = []
    for i, line in enumerate(source.splitlines(), 1):
        s = line.strip()
        if "BEGIN SOLUTION" in s or "END SOLUTION" in s:
            out.append((i, s))
    return out


def strip_solution(source: str, cell_type: str, where: str) -> str:
    """Replace every marked region by the stub (see the module docstring)."""
    out: list[str] = []
    inside = False
    begin_line = 0
    for i, line in enumerate(source.splitlines(), 1):
        s = line.strip()
        if s == BEGIN:
            if inside:
                raise AssignmentError(f"{where}: nested '{BEGIN}' on line {i} (the one on line "
                                      f"{begin_line} is not closed yet)")
            inside, begin_line = True, i
            indent = line[: len(line) - len(line.lstrip())]
            if cell_type == "code":
                out += [indent + CODE_STUB[0], indent + CODE_STUB[1]]
            else:
                out.append(indent + MARKDOWN_STUB)
        elif s == END:
            if not inside:
                raise AssignmentError(f"{where}: '{END}' on line {i} has no '{BEGIN}' before it")
            inside = False
        elif "BEGIN SOLUTION" in s or "END SOLUTION" in s:
            raise AssignmentError(f"{where}: line {i} looks like a marker but is not exactly "
                                  f"'{BEGIN}' or '{END}': {s!r}")
        elif not inside:
            out.append(line)
    if inside:
        raise AssignmentError(f"{where}: '{BEGIN}' on line {begin_line} is never closed "
                              f"(no '{END}' after it)")
    return "\n".join(out)


def structure(nb, name: str, *, registry: dict | None = None) -> Structure:
    """Validate a solution (or exercise) notebook's graded cells and return its structure.

    `registry` ({name: Exercise}, default course_lib.checks.registry()) is used to check that each
    check cell calls a known check with the points of its metadata.
    """
    if registry is None:
        from course_lib.checks import registry as _registry
        registry = _registry()
    answers: list[AnswerCell] = []
    checks: list[CheckCall] = []
    seen: dict[str, int] = {}
    for i, cell in enumerate(nb["cells"]):
        where = cell_label(name, i, cell)
        meta = nbgrader_meta(cell)
        source = source_of(cell)
        markers = _marker_lines(source)
        if markers and not meta.get("solution"):
            raise AssignmentError(f"{where}: has '{BEGIN}' markers but its nbgrader metadata lacks "
                                  '"solution": true')
        if not meta:
            continue
        gid = meta.get("grade_id")
        if not isinstance(gid, str) or not gid:
            raise AssignmentError(f"{where}: nbgrader metadata without a grade_id")
        if gid in seen:
            raise AssignmentError(f"{where}: grade_id {gid!r} is also used by cell {seen[gid]}")
        seen[gid] = i
        if meta.get("schema_version") != 3:
            raise AssignmentError(f"{where}: nbgrader schema_version must be 3")
        if meta.get("solution"):
            if meta.get("grade") and cell.get("cell_type") == "code":
                raise AssignmentError(f"{where}: a code answer cell is graded by the check cell after "
                                      'it, so it must have "grade": false')
            manual = 0.0
            if meta.get("grade"):  # a written answer graded by hand (nbgrader's manual grading)
                manual = meta.get("points", 0)
                if not isinstance(manual, (int, float)) or isinstance(manual, bool) or manual < 0:
                    raise AssignmentError(f"{where}: a written answer needs points >= 0 (0: read by "
                                          f"the instructor, not counted), got {manual!r}")
            strip_solution(source, cell.get("cell_type", "code"), where)  # raises on bad markers
            answers.append(AnswerCell(i, gid, cell.get("cell_type", "code"),
                                      defines=defined_names(source) if cell.get("cell_type") == "code" else [],
                                      manual_points=float(manual)))
        elif meta.get("grade"):
            if cell.get("cell_type") != "code":
                raise AssignmentError(f"{where}: a graded cell without solution must be a code cell "
                                      "holding one check call")
            parsed = parse_check_call(source)
            if parsed is None:
                raise AssignmentError(f"{where}: a check cell must be exactly one call "
                                      f"`check.<name>(<names>)`, got {source.strip()!r}")
            exercise, args = parsed
            if exercise not in registry:
                raise AssignmentError(f"{where}: check.{exercise} is not a registered check "
                                      f"(known: {', '.join(registry)})")
            points = meta.get("points")
            if not isinstance(points, (int, float)) or isinstance(points, bool) or points <= 0:
                raise AssignmentError(f"{where}: a check cell needs positive points, got {points!r}")
            if points != registry[exercise].points:
                raise AssignmentError(f"{where}: points {points} differ from check.{exercise}'s "
                                      f"{registry[exercise].points} (course_lib/checks)")
            if not meta.get("locked"):
                raise AssignmentError(f'{where}: a check cell must be "locked": true')
            if any(c.exercise == exercise for c in checks):
                raise AssignmentError(f"{where}: check.{exercise} is already called in another cell")
            checks.append(CheckCall(i, gid, exercise, args, float(points)))
    # each answer cell belongs to the first check cell after it
    for a in answers:
        a.check = next((c for c in checks if c.index > a.index), None) if a.cell_type == "code" else None
    for c in checks:
        if not any(a.check is c for a in answers):
            raise AssignmentError(f"{cell_label(name, c.index, nb['cells'][c.index])}: check cell "
                                  "without an answer cell before it")
    return Structure(name, answers, checks)


# ---------------------------------------------------------------------------------------------
# building


def build_notebook(nb, name: str, *, registry: dict | None = None) -> dict:
    """The exercise version of a solution notebook (a new dict; `nb` is not changed)."""
    structure(nb, name, registry=registry)  # validates, raising AssignmentError
    nb = copy.deepcopy(dict(nb))
    cells = []
    for i, cell in enumerate(nb["cells"]):
        cell = dict(cell)
        meta = dict(cell.get("metadata", {}) or {})
        nbg = nbgrader_meta(cell)
        source = source_of(cell)
        if nbg.get("solution"):
            where = cell_label(name, i, cell)
            if BEGIN in source:
                source = strip_solution(source, cell.get("cell_type", "code"), where)
            else:
                source = ("\n".join(CODE_STUB) if cell.get("cell_type") == "code" else MARKDOWN_STUB)
        meta = {k: meta[k] for k in _CELL_METADATA if k in meta}
        if nbg.get("solution"):  # nbgrader's lock_solution_cells: answer cells stay
            meta["deletable"] = False
        elif nbg.get("locked") or nbg.get("grade"):  # check cells and locked cells
            meta["editable"] = False
            meta["deletable"] = False
        new = {"cell_type": cell["cell_type"], "metadata": meta, "source": source}
        if "id" in cell:
            new["id"] = cell["id"]
        if cell["cell_type"] == "code":
            new["execution_count"] = None
            new["outputs"] = []
        if cell.get("attachments") and cell["cell_type"] == "markdown":
            new["attachments"] = cell["attachments"]
        cells.append(new)
    metadata = {}
    old = nb.get("metadata", {}) or {}
    if "kernelspec" in old:
        metadata["kernelspec"] = old["kernelspec"]
    metadata["language_info"] = {"name": (old.get("language_info") or {}).get("name", "python")}
    return {"cells": cells, "metadata": metadata, "nbformat": 4,
            "nbformat_minor": nb.get("nbformat_minor", 5)}


def to_bytes(nb: dict) -> bytes:
    """Exactly as Jupyter writes a notebook (sorted keys, indent 1, final newline)."""
    import nbformat  # slow to import (jsonschema): only where notebooks are written

    text = nbformat.writes(nbformat.from_dict(nb), version=4)
    return (text if text.endswith("\n") else text + "\n").encode("utf-8")


def read_notebook(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def solution_paths(solutions: Path = SOLUTIONS) -> list[Path]:
    return sorted(p for p in Path(solutions).glob("*.ipynb") if not p.name.startswith("."))


def exercise_bytes(path: Path, *, registry: dict | None = None) -> bytes:
    """The exercise notebook generated from the solution notebook at `path`."""
    rel = _display(path)
    return to_bytes(build_notebook(read_notebook(path), rel, registry=registry))


def _display(path: Path) -> str:
    path = Path(path).resolve()
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


BACKUP_DIR = "backup"  # exercises/backup/: students' filled-in notebooks moved aside by build --force


def student_answers(existing: dict, generated: dict) -> list[str]:
    """grade_ids of the answer cells of an existing exercise notebook that hold a student's work.

    An answer cell counts as work when it differs from the stub the build would write and no longer
    contains a stub line (`raise NotImplementedError()` / `YOUR ANSWER HERE`): an instructor's new
    stub is not mistaken for an answer, a started answer is.
    """
    stubs = {nbgrader_meta(c).get("grade_id"): source_of(c) for c in generated.get("cells", [])
             if nbgrader_meta(c).get("solution")}
    found = []
    for cell in existing.get("cells", []) if isinstance(existing, dict) else []:
        meta = nbgrader_meta(cell)
        gid = meta.get("grade_id")
        if not meta.get("solution") or gid not in stubs:
            continue
        src = source_of(cell)
        if src != stubs[gid] and CODE_STUB[1] not in src and MARKDOWN_STUB not in src:
            found.append(gid)
    return found


def _existing_answers(dst: Path, data: bytes) -> list[str]:
    try:
        existing = read_notebook(dst)
    except (OSError, ValueError):
        return []
    return student_answers(existing, json.loads(data))


def _backup_path(dst: Path) -> Path:
    folder = dst.parent / BACKUP_DIR
    n = 1
    while (folder / f"{dst.stem}.{n}{dst.suffix}").exists():
        n += 1
    return folder / f"{dst.stem}.{n}{dst.suffix}"


def build(solutions: Path = SOLUTIONS, exercises: Path = EXERCISES, names: list[str] | None = None,
          *, force: bool = False, kept: list[Path] | None = None, log=print) -> list[Path]:
    """Write exercises/NAME.ipynb for every (or the named) solutions/NAME.ipynb; return the paths
    that changed.

    Never loses a student's work: an exercise notebook whose answer cells hold answers
    (`student_answers`) is left alone with a message (and appended to `kept`), or, with
    `force=True`, first moved to exercises/backup/NAME.N.ipynb.
    """
    exercises = Path(exercises)
    exercises.mkdir(parents=True, exist_ok=True)
    changed = []
    for src in _select(solutions, names):
        data = exercise_bytes(src)
        dst = exercises / src.name
        if dst.exists() and dst.read_bytes() == data:
            continue
        answers = _existing_answers(dst, data) if dst.exists() else []
        if answers and not force:
            if kept is not None:
                kept.append(dst)
            log(f"kept {_display(dst)}: it holds your answers ({', '.join(answers)}). Move it away "
                "first, or build with --force, which keeps your file in "
                f"{_display(exercises / BACKUP_DIR)}/")
            continue
        if answers:
            backup = _backup_path(dst)
            backup.parent.mkdir(exist_ok=True)
            dst.replace(backup)
            log(f"moved your answers to {_display(backup)}")
        dst.write_bytes(data)
        changed.append(dst)
    return changed


def _select(solutions: Path, names: list[str] | None) -> list[Path]:
    paths = solution_paths(solutions)
    if not names:
        return paths
    wanted = {Path(n).stem for n in names}
    unknown = wanted - {p.stem for p in paths}
    if unknown:
        raise AssignmentError(f"no solution notebook {', '.join(sorted(unknown))} in {_display(Path(solutions))}")
    return [p for p in paths if p.stem in wanted]


def check(solutions: Path = SOLUTIONS, exercises: Path = EXERCISES) -> list[str]:
    """Problems that make exercises/ out of date with solutions/ (empty when up to date)."""
    problems = []
    exercises = Path(exercises)
    sources = solution_paths(solutions)
    for src in sources:
        dst = exercises / src.name
        try:
            data = exercise_bytes(src)
        except (AssignmentError, json.JSONDecodeError) as exc:
            problems.append(f"{_display(src)}: {exc}")
            continue
        if not dst.exists():
            problems.append(f"{_display(dst)} is missing")
        elif dst.read_bytes() != data:
            answers = _existing_answers(dst, data)
            if answers:
                problems.append(f"{_display(dst)} holds answers in its answer cells ({', '.join(answers)}); "
                                "exercises/ must hold the unsolved notebooks generated from solutions/ "
                                f"(students: keep your work, `build --force` moves it to "
                                f"{_display(exercises / BACKUP_DIR)}/)")
            else:
                problems.append(f"{_display(dst)} is stale (differs from what {_display(src)} generates)")
    names = {p.name for p in sources}
    for dst in sorted(Path(exercises).glob("*.ipynb")):
        if dst.name not in names:
            problems.append(f"{_display(dst)} has no source {dst.name} in {_display(Path(solutions))}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_lib.grading.assignments",
                                     description="Build exercise notebooks from solution notebooks.")
    parser.add_argument("command", choices=["build", "check", "list"])
    parser.add_argument("names", nargs="*", help="notebook names to build (default: all)")
    parser.add_argument("--solutions", type=Path, default=SOLUTIONS)
    parser.add_argument("--exercises", type=Path, default=EXERCISES)
    parser.add_argument("--force", action="store_true",
                        help="rebuild notebooks that hold a student's answers too (moved to exercises/backup/ first)")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            kept: list[Path] = []
            changed = build(args.solutions, args.exercises, args.names, force=args.force, kept=kept)
            for p in changed:
                print(f"wrote {_display(p)}")
            total = len(_select(args.solutions, args.names))
            print(f"{len(changed)} exercise notebook(s) written, {len(kept)} kept because they hold "
                  f"answers, {total - len(changed) - len(kept)} already up to date")
            return 1 if kept else 0
        if args.command == "check":
            problems = check(args.solutions, args.exercises)
            for p in problems:
                print(p, file=sys.stderr)
            if problems:
                print("exercises/ is out of date: run `python -m course_lib.grading.assignments build`",
                      file=sys.stderr)
                return 1
            print(f"exercises/ is up to date ({len(solution_paths(args.solutions))} notebook(s))")
            return 0
        from course_lib.checks import registry
        reg = registry()
        for src in _select(args.solutions, args.names):
            st = structure(read_notebook(src), _display(src))
            print(f"{src.name}: {len(st.checks)} checked exercises, {st.max_points:g} points")
            width = max(len(c.exercise) for c in st.checks) if st.checks else 0
            for c in st.checks:
                ex = reg[c.exercise]
                print(f"  {c.exercise:<{width}}  {c.points:>3g} points  {len(ex.cases()):>2} cases  "
                      f"mistakes: {', '.join(m.name for m in ex.mistakes)}")
        return 0
    except AssignmentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
