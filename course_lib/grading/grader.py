"""course-grade: a gradebook from a folder of submitted exercise notebooks.

    course-grade SUBMISSIONS --out OUTDIR [--jobs N] [--timeout SECONDS] [--cell-timeout SECONDS]
                 [--memory-mb MB] [--output-limit-kb KB] [--source SOLUTIONS] [--force] [--seed N]

SUBMISSIONS holds one folder per student, `SUBMISSIONS/<student>/<notebook>.ipynb`; a notebook is
matched to its canonical exercise notebook (built from SOLUTIONS, default the course's solutions/)
by its file name. For each submission the grader

1. rebuilds the notebook from the canonical one, taking only the student's answer cells (matched by
   their nbgrader grade_id; if the metadata was stripped, by the names they define or by the cell
   before them, and says so). The student's check cells and any other cell are ignored.
2. runs it in a fresh kernel (course_lib.grading.sandbox: its own process group and temporary working
   directory, a memory limit, a per-cell and a whole-notebook time limit, an output limit); every
   check cell is replaced by a cell that calls the student's function on seeded and hidden random
   inputs sent as JSON, and writes the answers as JSON (course_lib.checks.collector). When a cell
   times out, kills the kernel or prints too much, the kernel is restarted, the cells before it are
   replayed without the offending one, and grading goes on with the next exercise.
3. judges the answers in this process against references it computes itself (course_lib.checks), so
   nothing the notebook does to `check`, course_lib or numpy, and nothing it prints, changes points.

Output in OUTDIR: `grades.csv` (student, notebook, exercise, points, max_points, status, message;
rows appended as results come, rewritten sorted at the end), `feedback/<student>.md`, and
`.course-grade/` (per-submission results used to resume, and the secret seed of the hidden cases).
Running again skips submissions already graded whose file has not changed (unless --force) and
writes the same CSV. One status per exercise:

    passed, failed, not_implemented, error, memory, timeout, time_limit, kernel_died,
    output_limit, missing_answer, missing_notebook, invalid_notebook, unknown_notebook, invalid,
    crashed

See docs/INSTRUCTORS.md for the workflow.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

from course_lib.grading.assignments import (SKIP_TAG, SOLUTIONS, AssignmentError, Structure, build_notebook,
                                    cell_label, defined_names, nbgrader_meta, parse_check_call,
                                    read_notebook, solution_paths, source_of, structure)

CSV_FIELDS = ["student", "notebook", "exercise", "points", "max_points", "status", "message"]

STATUS_MEANING = {
    "passed": "all cases of the check passed",
    "failed": "a wrong answer on at least one case",
    "not_implemented": "the function still raises NotImplementedError",
    "error": "the function raised an exception, or was not defined",
    "memory": "the function ran out of memory (the kernel's memory limit)",
    "timeout": "a cell ran past the per-cell time limit and was stopped",
    "time_limit": "the notebook's total time limit ran out",
    "kernel_died": "the kernel process ended (os._exit, a signal, a crash)",
    "output_limit": "a cell printed more than the output limit and was stopped",
    "missing_answer": "the answer cell was not found in the submission",
    "missing_notebook": "the student's folder has no such notebook",
    "invalid_notebook": "the file is not a readable notebook (malformed JSON)",
    "unknown_notebook": "the file name matches no exercise notebook",
    "invalid": "the check's results could not be read",
    "crashed": "grading stopped unexpectedly (see the message)",
}

MAX_RESTARTS = 8
MAX_NOTEBOOK_BYTES = 100_000_000
_STATE = ".course-grade"


@dataclass
class Limits:
    timeout: float = 300.0        # whole notebook, seconds
    cell_timeout: float = 60.0    # one cell, seconds
    memory_mb: int = 2048         # kernel address space
    output_limit: int = 1_000_000  # bytes of output one cell may print
    file_mb: int = 64             # largest file the kernel may write


@dataclass
class Row:
    student: str
    notebook: str
    exercise: str
    points: float
    max_points: float
    status: str
    message: str

    def csv_values(self) -> list[str]:
        return [self.student, self.notebook, self.exercise, f"{self.points:g}", f"{self.max_points:g}",
                self.status, self.message]


# ---------------------------------------------------------------------------------------------
# canonical notebooks


@dataclass
class Assignment:
    name: str                 # file name, e.g. "02_gradient_descent.ipynb"
    cells: list[dict]         # the exercise version's cells
    structure: Structure
    digest: str               # changes when the notebook or the checks change

    @property
    def exercises(self) -> list[str]:
        return [c.exercise for c in self.structure.checks]


def _checks_digest(exercises: list[str]) -> str:
    """A digest of the check code that grades these exercises (the machinery and their chapters)."""
    from course_lib.checks import get
    folder = Path(__file__).resolve().parents[1] / "checks"
    modules = {"__init__", "core", "plain", "collector"} | {get(ex).chapter for ex in exercises}
    h = hashlib.sha256()
    for name in sorted(modules):
        path = folder / f"{name}.py"
        if path.exists():
            h.update(name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def load_assignments(source: Path = SOLUTIONS, problems: list[str] | None = None) -> dict[str, Assignment]:
    """{file name: Assignment} for every valid solution notebook with at least one check; the
    invalid ones are skipped and described in `problems` (or raise AssignmentError if None)."""
    from course_lib.grading.assignments import to_bytes
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
        checks = _checks_digest([c.exercise for c in st.checks])
        digest = hashlib.sha256(to_bytes(ex_nb) + checks.encode()).hexdigest()
        out[path.name] = Assignment(path.name, ex_nb["cells"], st, digest)
    return out


# ---------------------------------------------------------------------------------------------
# finding submissions


@dataclass
class Submission:
    student: str
    notebook: str             # the canonical name, or the submitted name when unknown
    path: Path | None         # None: missing
    known: bool = True
    note: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.student, self.notebook)


def discover(submissions: Path, assignments: dict[str, Assignment],
             wanted: list[str] | None = None) -> tuple[list[Submission], list[str]]:
    """All (student, notebook) pairs to grade, and warnings (loose files, duplicates)."""
    warnings = []
    students = []
    for entry in sorted(Path(submissions).iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            students.append(entry)
        else:
            warnings.append(f"{entry.name}: not in a student folder (SUBMISSIONS/<student>/<notebook>.ipynb), skipped")
    found: dict[str, dict[str, tuple[Path, str]]] = {}
    for sdir in students:
        notebooks: dict[str, list[Path]] = {}
        for p in sorted(sdir.rglob("*.ipynb")):
            rel = p.relative_to(sdir)
            if any(part.startswith(".") for part in rel.parts) or not p.is_file():
                continue  # .ipynb_checkpoints and other hidden copies
            notebooks.setdefault(p.name, []).append(p)
        chosen = {}
        for name, paths in notebooks.items():
            paths.sort(key=lambda q: (len(q.relative_to(sdir).parts), str(q)))
            note = ""
            if len(paths) > 1:
                note = (f"{len(paths)} copies of {name} were found; graded "
                        f"{paths[0].relative_to(sdir)}")
            chosen[name] = (paths[0], note)
        found[sdir.name] = chosen
    if wanted:
        expected = [w if w.endswith(".ipynb") else f"{w}.ipynb" for w in wanted]
        unknown = [w for w in expected if w not in assignments]
        if unknown:
            raise SystemExit(f"course-grade: no exercise notebook {', '.join(unknown)}; "
                             f"known: {', '.join(assignments)}")
    else:
        submitted = {n for chosen in found.values() for n in chosen}
        expected = [n for n in assignments if n in submitted]
    subs = []
    for student, chosen in found.items():
        for name in expected:
            if name in chosen:
                subs.append(Submission(student, name, chosen[name][0], True, chosen[name][1]))
            else:
                subs.append(Submission(student, name, None, True))
        for name, (path, note) in chosen.items():
            if name not in assignments:
                subs.append(Submission(student, name, path, False, note))
    subs.sort(key=lambda s: (s.student, s.notebook))
    return subs, warnings


# ---------------------------------------------------------------------------------------------
# matching answer cells and planning the run


@dataclass
class Plan:
    steps: list[dict]
    missing: dict[str, str]            # exercise -> answer grade_id not found
    notes: dict[str, list[str]]        # exercise -> notes about the matching
    general_notes: list[str]
    written: list[dict]                # Markdown answers: {"grade_id", "text"}


def match_answers(assignment: Assignment, student_cells: list) -> tuple[dict, dict, list[str]]:
    """{grade_id: student cell index}, {grade_id: how} ("grade_id", "content", "position") and notes."""
    cells = [c if isinstance(c, dict) else {} for c in student_cells]
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
    canonical = assignment.cells
    for a in assignment.structure.answers:
        if a.grade_id in matched:
            continue
        free = [j for j, c in enumerate(cells) if j not in used and c.get("cell_type") == a.cell_type
                and not (c.get("cell_type") == "code" and parse_check_call(source_of(c)))]
        j = None
        if a.cell_type == "code" and a.defines:
            cands = [k for k in free if set(a.defines) <= set(defined_names(source_of(cells[k])))]
            if cands:
                j, how[a.grade_id] = cands[-1], "content"
        if j is None and a.index > 0:
            anchor = source_of(canonical[a.index - 1]).strip()
            for k, c in enumerate(cells[:-1]):
                if anchor and source_of(c).strip() == anchor and k + 1 in free:
                    j, how[a.grade_id] = k + 1, "position"
                    break
        if j is not None:
            matched[a.grade_id] = j
            used.add(j)
    return matched, how, notes


def _collect_code(exercise: str, args: list[str], cases_json: str, path: str, nonce: str) -> str:
    objs = ", ".join(args) + ","
    return (
        "def __course_grade_collect():\n"
        "    import sys\n"
        "    for name in [m for m in list(sys.modules) if m == 'course_lib' or m.startswith('course_lib.')]:\n"
        "        del sys.modules[name]\n"
        "    from course_lib.checks.collector import collect_to_file\n"
        f"    collect_to_file({exercise!r}, lambda: ({objs}), {cases_json!r}, {path!r}, {nonce!r})\n"
        "__course_grade_collect()\n"
        "del __course_grade_collect\n")


def case_seed(secret: str, student: str, notebook: str, exercise: str) -> int:
    digest = hashlib.sha256("\0".join([secret, student, notebook, exercise]).encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def plan_submission(assignment: Assignment, student_nb: dict, sub: Submission, secret: str,
                    collect_dir: str, nonce: str) -> Plan:
    from course_lib.checks import get
    from course_lib.checks.plain import dumps
    cells = student_nb.get("cells")
    matched, how, general = match_answers(assignment, cells)
    owner = {a.grade_id: (a.check.exercise if a.check else None) for a in assignment.structure.answers}
    missing: dict[str, str] = {}
    notes: dict[str, list[str]] = {}
    written = []
    for a in assignment.structure.answers:
        ex = owner[a.grade_id]
        if a.grade_id not in matched:
            if ex:
                missing.setdefault(ex, a.grade_id)
            continue
        if how[a.grade_id] != "grade_id" and ex:
            notes.setdefault(ex, []).append(
                f"your answer cell for {ex} was found by its {'content' if how[a.grade_id] == 'content' else 'position'}, "
                "because its nbgrader metadata was missing")
        if a.cell_type == "markdown":
            written.append({"grade_id": a.grade_id, "text": source_of(cells[matched[a.grade_id]]),
                            "points": a.manual_points})
    steps = []
    answer_index = {a.index: a for a in assignment.structure.answers}
    check_index = {c.index: c for c in assignment.structure.checks}
    for i, cell in enumerate(assignment.cells):
        if cell.get("cell_type") != "code":
            continue
        label = cell_label(assignment.name, i, cell)
        if i in answer_index:
            a = answer_index[i]
            if a.grade_id in matched:
                steps.append({"kind": "answer", "exercise": owner[a.grade_id], "label": label,
                              "code": source_of(cells[matched[a.grade_id]])})
        elif i in check_index:
            c = check_index[i]
            if c.exercise in missing:
                continue
            ex = get(c.exercise)
            cases = ex.cases(secret=case_seed(secret, sub.student, sub.notebook, c.exercise))
            cases_json = dumps([case.to_plain() for case in cases])
            path = os.path.join(collect_dir, f"{c.exercise}-{nonce}.json")
            steps.append({"kind": "collect", "exercise": c.exercise, "label": label,
                          "code": _collect_code(c.exercise, c.args, cases_json, path, nonce),
                          "result": path})
        elif SKIP_TAG in ((cell.get("metadata") or {}).get("tags") or []):
            continue
        else:
            steps.append({"kind": "context", "exercise": None, "label": label, "code": source_of(cell)})
    return Plan(steps, missing, notes, general, written)


# ---------------------------------------------------------------------------------------------
# the worker: runs one plan in a sandboxed kernel (a subprocess of the grader)


def _exit_explained(exit_text: str) -> str:
    if exit_text.startswith("exit code"):
        return f"{exit_text}: the code called os._exit() or similar"
    if "SIGKILL" in exit_text:
        return f"{exit_text}: killed by os.kill(...) or by the system for using too much memory"
    if "SIGXCPU" in exit_text:
        return f"{exit_text}: it used too much CPU time"
    if "SIGSEGV" in exit_text or "SIGABRT" in exit_text or "SIGBUS" in exit_text:
        return f"{exit_text}: a crash in compiled code"
    return exit_text


def _fatal_message(kind: str, exercise: str, r, limits: Limits, deadline_hit: bool) -> str:
    where = (f"your answer cell for {exercise}" if kind == "answer"
             else f"the check of {exercise} (calling your function on its inputs)")
    if deadline_hit:
        return (f"✗ the notebook's time limit ({limits.timeout:g} s) ran out during {where}; "
                "it was stopped")
    if r.status == "timeout":
        extra = (" (an endless loop? a loop that ignores max_steps?)" if kind == "collect"
                 else " (an endless loop? a long computation at the top level of the cell?)")
        return f"✗ {where} did not finish within {limits.cell_timeout:g} s and was stopped{extra}"
    if r.status == "died":
        return f"✗ the kernel died during {where} ({_exit_explained(r.exit)})"
    if r.status == "output_limit":
        return (f"✗ {where} printed more than {limits.output_limit // 1000} KB and was stopped; "
                "print less (no prints inside loops over many steps)")
    return f"✗ {where} failed: {r.status}"


_IGNORED_FILES = {".ipython", ".jupyter", ".cache", ".config", ".local", ".matplotlib", "__pycache__",
                  ".ipynb_checkpoints"}


def run_plan(job: dict, emit) -> None:
    """Execute the steps of one submission; emit(**event) for each result."""
    from course_lib.grading.sandbox import KernelStartError, SandboxedKernel
    limits = Limits(**job["limits"])
    steps = job["steps"]
    exercises = job["exercises"]
    deadline = time.monotonic() + limits.timeout
    workdir = job["workdir"]
    done: set[str] = set()
    bad: set[int] = set()
    history: list[int] = []
    kernel = None
    restarts = 0

    def new_kernel():
        k = SandboxedKernel(workdir, memory_mb=limits.memory_mb, file_mb=limits.file_mb,
                            cpu_seconds=int(limits.timeout) + 60, conn_dir=job.get("conn_dir"),
                            env={"JPY_PARENT_PID": str(os.getpid())})  # the kernel exits if we die
        k.start()
        emit(type="kernel", pid=k.proc.pid)
        return k

    def finish(ex, status, message, **extra):
        if ex and ex not in done:
            done.add(ex)
            emit(type="exercise", exercise=ex, status=status, message=message, **extra)

    def execute(i):
        left = deadline - time.monotonic()
        timeout = min(limits.cell_timeout, left)
        if timeout <= 0:
            return None, True
        r = kernel.execute(steps[i]["code"], timeout=timeout, output_limit=limits.output_limit,
                           store_history=steps[i]["kind"] != "collect")
        return r, (r.status == "timeout" and timeout < limits.cell_timeout)

    def restart() -> bool:
        """A fresh kernel with the good cells replayed; False when out of time or restarts."""
        nonlocal kernel, restarts
        while True:
            restarts += 1
            if kernel is not None:
                kernel.kill()
                kernel = None
            if restarts > MAX_RESTARTS or time.monotonic() >= deadline:
                return False
            try:
                kernel = new_kernel()
            except KernelStartError as exc:
                emit(type="log", text=f"restarting the kernel failed: {exc}")
                return False
            for j in list(history):
                r, _ = execute(j)
                if r is None:
                    return False
                if r.status not in ("ok", "error"):
                    bad.add(j)
                    history.remove(j)
                    emit(type="log", text=f"replaying {steps[j]['label']}: {r.status}; skipped from now on")
                    break
            else:
                return True

    try:
        try:
            kernel = new_kernel()
        except KernelStartError as exc:
            for ex in exercises:
                finish(ex, "crashed", f"✗ not graded: the kernel could not start ({exc})")
            return
        i = 0
        while i < len(steps):
            step = steps[i]
            kind, ex = step["kind"], step.get("exercise")
            if i in bad or (ex in done and kind in ("answer", "collect")):
                i += 1
                continue
            r, deadline_hit = execute(i)
            if r is None:
                break  # out of time
            if r.status == "died" and not r.started:
                # the kernel died between cells: blame the last cell that ran
                blame = history.pop() if history else None
                if blame is not None:
                    bad.add(blame)
                    b = steps[blame]
                    if b["kind"] == "answer":
                        finish(b.get("exercise"), "kernel_died",
                               f"✗ the kernel died after your answer cell for {b.get('exercise')} ran "
                               f"({_exit_explained(r.exit)})")
                if not restart():
                    break
                continue  # retry this step
            if r.status in ("ok", "error"):
                if kind == "collect":
                    status, message, extra = _read_collect(step, r, job["nonce"])
                    finish(ex, status, message, **extra)
                else:
                    history.append(i)
                    if kind == "answer":
                        emit(type="answer", exercise=ex, status=r.status, ename=r.ename, evalue=r.evalue)
                    elif r.status == "error":
                        emit(type="log", text=f"{step['label']} raised {r.ename}: {r.evalue[:200]}")
                i += 1
                continue
            # timeout, died, output_limit: stop this cell, restart without it
            bad.add(i)
            if kind in ("answer", "collect"):
                finish(ex, "time_limit" if deadline_hit else ("kernel_died" if r.status == "died" else r.status),
                       _fatal_message(kind, ex, r, limits, deadline_hit), output=r.output[-2000:])
            else:
                emit(type="log", text=f"{step['label']}: {r.status}; skipped from now on")
            i += 1
            if not restart():
                break
        out_of_time = time.monotonic() >= deadline
        for ex in exercises:
            if out_of_time:
                finish(ex, "time_limit", f"✗ not checked: the notebook's time limit ({limits.timeout:g} s) "
                                         "ran out before this exercise (earlier cells took the time)")
            else:
                finish(ex, "crashed", "✗ not checked: the kernel had to be restarted too often")
    finally:
        if kernel is not None:
            kernel.kill()
        written = []
        try:
            for p in sorted(Path(workdir).rglob("*")):
                rel = p.relative_to(workdir)
                if rel.parts[0] in _IGNORED_FILES or not p.is_file():
                    continue
                written.append(str(rel))
        except OSError:
            pass
        if written:
            shown = ", ".join(written[:10]) + (f" and {len(written) - 10} more" if len(written) > 10 else "")
            emit(type="note", text=f"your notebook wrote files in its working directory ({shown}); "
                                   "they were ignored and deleted")
        shutil.rmtree(workdir, ignore_errors=True)


def _read_collect(step: dict, r, nonce: str) -> tuple[str, str, dict]:
    """(status, message, extra) for a check cell that finished: the answers, or why there are none."""
    ex = step["exercise"]
    data = None
    try:
        if os.path.getsize(step["result"]) <= 6_000_000:
            with open(step["result"], encoding="utf-8") as f:
                data = json.load(f)
    except (OSError, ValueError):
        data = None
    if isinstance(data, dict) and data.get("nonce") == nonce:
        return "collected", "", {"data": data}
    if r.status == "error":
        return ("error", f"✗ the check of {ex} could not run in your notebook ({r.ename}: {r.evalue[:300]}); "
                         "did your code change Python's or course_lib's modules?", {})
    return "invalid", f"✗ the check of {ex} produced no readable result", {}


def worker_main(jobdir: str) -> int:
    job = json.loads(Path(jobdir, "job.json").read_text(encoding="utf-8"))
    nonce = job["nonce"]
    lock = threading.Lock()
    events = open(Path(jobdir, "events.jsonl"), "a", encoding="utf-8")

    def emit(**event):
        event["nonce"] = nonce
        with lock:
            events.write(json.dumps(event, sort_keys=True) + "\n")
            events.flush()

    try:
        run_plan(job, emit)
    finally:
        emit(type="done")
        events.close()
    return 0


# ---------------------------------------------------------------------------------------------
# grading one submission (in a thread of the grader; its kernel runs under a worker subprocess)


@dataclass
class Result:
    student: str
    notebook: str
    fingerprint: str
    rows: list[Row]
    notes: list[str] = field(default_factory=list)
    written: list[dict] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict:
        d = asdict(self)
        d["rows"] = [asdict(r) for r in self.rows]
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


def _root() -> str:
    return str(Path(__file__).resolve().parents[2])


def fingerprint(sub: Submission, assignments: dict[str, Assignment], secret: str) -> str:
    h = hashlib.sha256()
    if sub.path is None:
        h.update(b"<missing>")
    else:
        try:
            h.update(sub.path.read_bytes())
        except OSError as exc:
            h.update(f"<unreadable {exc}>".encode())
    a = assignments.get(sub.notebook)
    h.update((a.digest if a and sub.known else "<unknown>").encode())
    h.update(hashlib.sha256(secret.encode()).digest())
    return h.hexdigest()


def _zero_rows(a: Assignment, sub: Submission, status: str, message: str) -> list[Row]:
    return [Row(sub.student, sub.notebook, c.exercise, 0.0, c.points, status, message)
            for c in a.structure.checks]


def _run_worker(jobdir: str, limits: Limits) -> str:
    """Run the worker on jobdir; '' if it ended normally, else what happened to it."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_root(), env.get("PYTHONPATH", "")) if p)
    cmd = [sys.executable, "-m", "course_lib.grading", "--worker", jobdir]
    try:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=limits.timeout * 2 + 120, env=env, cwd=jobdir)
    except subprocess.TimeoutExpired:
        return "the grading process did not finish in time and was stopped"
    if proc.returncode == 0:
        return ""
    from course_lib.grading.sandbox import SIGNAL_NAMES
    code = proc.returncode
    how = f"signal {SIGNAL_NAMES.get(-code, -code)}" if code < 0 else f"exit code {code}"
    tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
    return f"the grading process ended with {how}" + (f": {tail[0][:200]}" if tail[0] else "")


def grade_submission(sub: Submission, assignments: dict[str, Assignment], secret: str,
                     limits: Limits) -> Result:
    """Grade one (student, notebook); never raises (an internal error ends as status 'crashed')."""
    t0 = time.monotonic()
    fp = fingerprint(sub, assignments, secret)
    try:
        result = _grade(sub, assignments, secret, limits, fp)
    except Exception as exc:  # a bug of the grader must not abort the batch
        message = f"✗ internal grader error ({type(exc).__name__}: {exc}); please tell your instructor"
        a = assignments.get(sub.notebook)
        rows = (_zero_rows(a, sub, "crashed", message) if a and sub.known
                else [Row(sub.student, sub.notebook, "", 0.0, 0.0, "crashed", message)])
        result = Result(sub.student, sub.notebook, fp, rows)
    if sub.note:
        result.notes.insert(0, sub.note)
    result.seconds = round(time.monotonic() - t0, 2)
    return result


def _grade(sub: Submission, assignments: dict[str, Assignment], secret: str, limits: Limits,
           fp: str) -> Result:
    from course_lib.checks import get, judge
    if not sub.known:
        return Result(sub.student, sub.notebook, fp, [Row(
            sub.student, sub.notebook, "", 0.0, 0.0, "unknown_notebook",
            f"✗ {sub.notebook} is not an exercise notebook of this course (expected "
            f"{', '.join(assignments)}); was it renamed?")])
    a = assignments[sub.notebook]
    if sub.path is None:
        return Result(sub.student, sub.notebook, fp, _zero_rows(
            a, sub, "missing_notebook", f"✗ {sub.notebook} was not found in your folder"))
    try:
        if sub.path.stat().st_size > MAX_NOTEBOOK_BYTES:
            raise ValueError(f"it is larger than {MAX_NOTEBOOK_BYTES // 1_000_000} MB; clear the outputs")
        nb = json.loads(sub.path.read_bytes().decode("utf-8"))
        if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
            raise ValueError("it has no list of cells (not a notebook, or nbformat 3)")
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        return Result(sub.student, sub.notebook, fp, _zero_rows(
            a, sub, "invalid_notebook",
            f"✗ {sub.notebook} is not a readable notebook ({reason}); open it in Jupyter, save it "
            "and hand it in again"))

    jobdir = tempfile.mkdtemp(prefix="course-grade-job-")
    workdir = tempfile.mkdtemp(prefix="course-grade-work-")  # the kernel's cwd and HOME
    events: list[dict] = []
    worker_info = ""
    try:
        collect_dir = os.path.join(jobdir, "collect")
        os.mkdir(collect_dir)
        os.mkdir(os.path.join(jobdir, "kernel"))
        nonce = secrets.token_hex(16)
        plan = plan_submission(a, nb, sub, secret, collect_dir, nonce)
        todo = [ex for ex in a.exercises if ex not in plan.missing]
        worker_info = ""
        if todo:
            job = {"nonce": nonce, "steps": plan.steps, "exercises": todo, "limits": asdict(limits),
                   "workdir": workdir, "conn_dir": os.path.join(jobdir, "kernel")}
            Path(jobdir, "job.json").write_text(json.dumps(job), encoding="utf-8")
            worker_info = _run_worker(jobdir, limits)
            try:
                lines = Path(jobdir, "events.jsonl").read_text(encoding="utf-8").splitlines()
            except OSError:
                lines = []
            for line in lines:
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                if isinstance(ev, dict) and ev.get("nonce") == nonce:
                    events.append(ev)
    finally:
        if worker_info:  # the worker did not end normally: its kernels may be left
            for ev in events:
                if ev.get("type") == "kernel" and isinstance(ev.get("pid"), int) and ev["pid"] > 1:
                    try:
                        os.killpg(ev["pid"], signal.SIGKILL)
                    except (ProcessLookupError, PermissionError, OSError):
                        pass
        shutil.rmtree(jobdir, ignore_errors=True)
        shutil.rmtree(workdir, ignore_errors=True)

    by_ex = {}
    answers = {}
    notes = list(plan.general_notes)
    log = []
    for ev in events:
        if ev.get("type") == "exercise" and ev.get("exercise") not in by_ex:
            by_ex[ev.get("exercise")] = ev
        elif ev.get("type") == "answer":
            answers[ev.get("exercise")] = ev
        elif ev.get("type") == "note":
            notes.append(str(ev.get("text", "")))
        elif ev.get("type") == "log":
            log.append(str(ev.get("text", "")))
    if worker_info:
        log.append(worker_info)

    rows = []
    for c in a.structure.checks:
        ex = c.exercise
        ev = by_ex.get(ex)
        passed = False
        if ex in plan.missing:
            status = "missing_answer"
            message = (f"✗ the answer cell for {ex} (grade_id {plan.missing[ex]!r}) was not found in "
                       "your notebook; was it deleted? Copy it from a fresh exercise notebook")
        elif ev is None:
            status = "crashed"
            message = ("✗ not graded: grading stopped before this exercise"
                       + (f" ({worker_info})" if worker_info else ""))
        elif ev.get("status") == "collected":
            exercise = get(ex)
            cases = exercise.cases(secret=case_seed(secret, sub.student, sub.notebook, ex))
            verdict = judge(exercise, cases, ev.get("data"))
            status, message, passed = verdict.status, verdict.message, verdict.passed
        else:
            status = str(ev.get("status", "crashed"))
            status = status if status in STATUS_MEANING else "crashed"
            message = str(ev.get("message", ""))
        answer = answers.get(ex)
        if answer and answer.get("status") == "error" and not passed:
            ename = str(answer.get("ename"))
            message += f"\n  note: your answer cell raised {ename}: {str(answer.get('evalue'))[:300]}"
            if status == "error" and ename == "MemoryError":
                status = "memory"
                message += f" (the kernel may use at most {limits.memory_mb} MB)"
        for note in plan.notes.get(ex, []):
            message += f"\n  note: {note}"
        rows.append(Row(sub.student, sub.notebook, ex, c.points if passed else 0.0, c.points, status, message))
    return Result(sub.student, sub.notebook, fp, rows, notes, plan.written, log)


# ---------------------------------------------------------------------------------------------
# output: CSV, feedback, summary


def _safe(name: str) -> str:
    from urllib.parse import quote
    return quote(name, safe="") or "_"


def write_csv(path: Path, rows: list[Row]) -> None:
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(CSV_FIELDS)
        for r in rows:
            w.writerow(r.csv_values())
    os.replace(tmp, path)


def render_feedback(student: str, results: list[Result]) -> str:
    out = io.StringIO()
    total = sum(r.points for r in results)
    total_max = sum(r.max_points for r in results)
    out.write(f"# Feedback for {student}\n\n")
    out.write(f"Total: **{total:g} / {total_max:g} points**. Each exercise was checked on the inputs "
              "of its check cell and on hidden random inputs, in a fresh copy of the notebook that "
              "holds only your answer cells.\n")
    for res in sorted(results, key=lambda r: r.notebook):
        out.write(f"\n## {res.notebook}: {res.points:g} / {res.max_points:g} points\n\n")
        out.write("| exercise | points | status |\n|---|---:|---|\n")
        for row in res.rows:
            out.write(f"| {row.exercise or '-'} | {row.points:g} / {row.max_points:g} | {row.status} |\n")
        for row in res.rows:
            if row.status == "passed" and "note:" not in row.message:
                continue
            title = row.exercise or res.notebook
            out.write(f"\n### {title}: {row.status.replace('_', ' ')}\n\n```text\n{row.message}\n```\n")
        if res.notes:
            out.write("\nNotes:\n\n" + "".join(f"- {n}\n" for n in res.notes))
        if res.written:
            out.write("\n### Your written answers (to be read by the instructor, not auto-graded)\n")
            for w in res.written:
                text = "\n".join("> " + line for line in str(w["text"]).splitlines()) or "> (empty)"
                pts = float(w.get("points", 0) or 0)
                extra = f" ({pts:g} points, to be read by the instructor)" if pts else ""
                out.write(f"\n**{w['grade_id']}**{extra}\n\n{text}\n")
    return out.getvalue()


def summary_table(results: list[Result], assignments: dict[str, Assignment]) -> str:
    notebooks = sorted({r.notebook for r in results if r.notebook in assignments})
    by_student: dict[str, dict[str, Result]] = {}
    for r in results:
        by_student.setdefault(r.student, {})[r.notebook] = r
    lines = []
    width = max([len("student")] + [len(s) for s in by_student])
    cols = [n[:-6] if n.endswith(".ipynb") else n for n in notebooks]
    header = f"{'student':<{width}}  " + "  ".join(f"{c:>{max(len(c), 9)}}" for c in cols) + "      total"
    lines.append(header)
    for student in sorted(by_student):
        cells = []
        for n, c in zip(notebooks, cols):
            r = by_student[student].get(n)
            cells.append(f"{(f'{r.points:g}/{r.max_points:g}' if r else '-'):>{max(len(c), 9)}}")
        tot = sum(r.points for r in by_student[student].values())
        tmax = sum(r.max_points for r in by_student[student].values())
        unknown = [r.notebook for r in by_student[student].values() if r.notebook not in assignments]
        extra = f"   (unknown: {', '.join(unknown)})" if unknown else ""
        lines.append(f"{student:<{width}}  " + "  ".join(cells) + f"  {f'{tot:g}/{tmax:g}':>9}{extra}")
    # per exercise: status counts
    counts: dict[tuple[str, str], dict[str, int]] = {}
    maxp: dict[tuple[str, str], float] = {}
    for r in results:
        for row in r.rows:
            if not row.exercise:
                continue
            k = (row.notebook, row.exercise)
            counts.setdefault(k, {})
            counts[k][row.status] = counts[k].get(row.status, 0) + 1
            maxp[k] = row.max_points
    if counts:
        order = {n: i for i, n in enumerate(notebooks)}
        ex_order = {(n, e): j for n, a in assignments.items() for j, e in enumerate(a.exercises)}
        keys = sorted(counts, key=lambda k: (order.get(k[0], 99), ex_order.get(k, 99), k))
        statuses = [s for s in STATUS_MEANING if any(s in counts[k] for k in keys)]
        ew = max(len("exercise"), *(len(k[1]) for k in keys))
        lines.append("")
        lines.append(f"{'exercise':<{ew}}  {'points':>6}  " + "  ".join(f"{s:>{len(s)}}" for s in statuses))
        for k in keys:
            lines.append(f"{k[1]:<{ew}}  {maxp[k]:>6g}  "
                         + "  ".join(f"{counts[k].get(s, 0):>{len(s)}}" for s in statuses))
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# the batch


def _load_secret(state: Path, seed: int | None) -> str:
    if seed is not None:
        return f"seed:{seed}"
    path = state / "secret"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    value = secrets.token_hex(16)
    path.write_text(value + "\n", encoding="utf-8")
    try:
        os.chmod(path, 0o600)
    except OSError:
        pass
    return value


def _result_path(state: Path, student: str, notebook: str) -> Path:
    return state / "results" / _safe(student) / f"{_safe(notebook)}.json"


def grade(submissions: Path, out: Path, *, jobs: int = 1, limits: Limits | None = None,
          source: Path = SOLUTIONS, force: bool = False, seed: int | None = None,
          progress: bool | None = None, wanted: list[str] | None = None, echo=print) -> list[Result]:
    """Grade every submission under `submissions` into `out`; return the results (sorted)."""
    from tqdm import tqdm
    limits = limits or Limits()
    t0 = time.monotonic()
    submissions, out = Path(submissions), Path(out)
    if not submissions.is_dir():
        raise SystemExit(f"course-grade: {submissions} is not a folder")
    problems: list[str] = []
    assignments = load_assignments(source, problems)
    for p in problems:
        echo(f"warning: {p}")
    if not assignments:
        raise SystemExit(f"course-grade: no solution notebook with checks in {source}")
    subs, warnings = discover(submissions, assignments, wanted)
    for w in warnings:
        echo(f"warning: {w}")
    state = out / _STATE
    state.mkdir(parents=True, exist_ok=True)
    (out / "feedback").mkdir(exist_ok=True)
    secret = _load_secret(state, seed)

    results: dict[tuple[str, str], Result] = {}
    to_run: list[Submission] = []
    for sub in subs:
        path = _result_path(state, sub.student, sub.notebook)
        if not force and path.exists():
            try:
                old = Result.from_json(json.loads(path.read_text(encoding="utf-8")))
                if old.fingerprint == fingerprint(sub, assignments, secret):
                    results[sub.key] = old
                    continue
            except (ValueError, TypeError, KeyError):
                pass
        to_run.append(sub)

    csv_path = out / "grades.csv"

    def ordered() -> list[Result]:
        return [results[k] for k in sorted(results)]

    write_csv(csv_path, [row for r in ordered() for row in r.rows])
    students_left: dict[str, int] = {}
    for sub in to_run:
        students_left[sub.student] = students_left.get(sub.student, 0) + 1

    def write_feedback(student: str) -> None:
        mine = [r for k, r in sorted(results.items()) if k[0] == student]
        path = out / "feedback" / f"{_safe(student)}.md"
        path.write_text(render_feedback(student, mine), encoding="utf-8")

    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        with open(csv_path, "a", newline="", encoding="utf-8") as csv_file, \
                tqdm(total=len(to_run), desc="grading", unit="notebook", file=sys.stderr,
                     disable=(None if progress is None else not progress)) as bar:
            writer = csv.writer(csv_file, lineterminator="\n")
            futures = {pool.submit(grade_submission, sub, assignments, secret, limits): sub
                       for sub in to_run}
            for fut in as_completed(futures):
                sub = futures[fut]
                result = fut.result()
                results[sub.key] = result
                path = _result_path(state, sub.student, sub.notebook)
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(".tmp")
                tmp.write_text(json.dumps(result.to_json(), indent=1, sort_keys=True), encoding="utf-8")
                os.replace(tmp, path)
                writer.writerows(row.csv_values() for row in result.rows)
                csv_file.flush()
                students_left[sub.student] -= 1
                if students_left[sub.student] == 0:
                    write_feedback(sub.student)
                bar.set_postfix_str(f"{sub.student}: {result.points:g}/{result.max_points:g}", refresh=False)
                bar.update(1)
    except BaseException:
        # Ctrl-C or an error: start no new submission; what was written stays (a rerun resumes)
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)

    final = ordered()
    write_csv(csv_path, [row for r in final for row in r.rows])
    for student in sorted({r.student for r in final}):
        write_feedback(student)
    elapsed = time.monotonic() - t0
    echo(summary_table(final, assignments))
    echo(f"\n{len(final)} notebook(s) of {len({r.student for r in final})} student(s): "
         f"{len(to_run)} graded now, {len(final) - len(to_run)} unchanged since the last run; "
         f"{elapsed:.1f} s")
    echo(f"grades: {csv_path}   feedback: {out / 'feedback'}")
    return final


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--worker"] and len(argv) == 2:
        return worker_main(argv[1])
    parser = argparse.ArgumentParser(
        prog="course-grade",
        description="Grade a folder of submitted exercise notebooks (SUBMISSIONS/<student>/<notebook>.ipynb).",
        epilog="Statuses: " + "; ".join(f"{k}: {v}" for k, v in STATUS_MEANING.items()))
    parser.add_argument("submissions", type=Path, help="folder with one sub-folder per student")
    parser.add_argument("--out", type=Path, required=True, help="output folder (grades.csv, feedback/)")
    parser.add_argument("--jobs", type=int, default=1, help="submissions graded at once (default 1)")
    parser.add_argument("--timeout", type=float, default=Limits.timeout,
                        help=f"time limit of one notebook in seconds (default {Limits.timeout:g})")
    parser.add_argument("--cell-timeout", type=float, default=Limits.cell_timeout,
                        help=f"time limit of one cell in seconds (default {Limits.cell_timeout:g})")
    parser.add_argument("--memory-mb", type=int, default=Limits.memory_mb,
                        help=f"address-space limit of a kernel in MB (default {Limits.memory_mb})")
    parser.add_argument("--output-limit-kb", type=int, default=Limits.output_limit // 1000,
                        help=f"output one cell may print, in KB (default {Limits.output_limit // 1000})")
    parser.add_argument("--source", type=Path, default=SOLUTIONS,
                        help="folder of the solution notebooks (default: the course's solutions/)")
    parser.add_argument("--notebook", action="append", dest="wanted", metavar="NAME",
                        help="grade only this exercise notebook (repeatable); default: every exercise "
                             "notebook that some student handed in")
    parser.add_argument("--force", action="store_true", help="regrade everything, even unchanged submissions")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed of the hidden cases (default: a secret kept in OUTDIR/.course-grade)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    for name in ("jobs", "timeout", "cell_timeout", "memory_mb", "output_limit_kb"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive, got {getattr(args, name)}")
    limits = Limits(timeout=args.timeout, cell_timeout=args.cell_timeout, memory_mb=args.memory_mb,
                    output_limit=args.output_limit_kb * 1000)
    grade(args.submissions, args.out, jobs=args.jobs, limits=limits, source=args.source,
          force=args.force, seed=args.seed, progress=False if args.no_progress else None,
          wanted=args.wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
