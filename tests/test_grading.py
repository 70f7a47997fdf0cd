"""course-grade on a folder of adversarial submissions (tests/fixtures/submissions, one student per
case, plus links and odd file names made here): the exact status and points of every exercise of
every student, honest students beside each attack class of issue 9; the CSV, the feedback and its
sanitising; that the run completes, a rerun reproduces grades.csv, a forged cached result is
caught, and that no process, file or temporary folder is left behind.

The sandbox needs bubblewrap: without `bwrap` these tests skip, except under CI=true, where they
fail (a fresh CI machine must run them; .ci/run installs it).
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from course_lib.checks.status import Status
from course_lib.grading import gradebook, plan as planning, sandbox
from course_lib.grading.batch import grade
from course_lib.grading.gradebook import CSV_FIELDS
from course_lib.grading.plan import load_assignments, match_answers, student_cells
from course_lib.grading.worker import Limits

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
SUBMISSIONS = FIXTURES / "submissions"
NB = "02_gradient_descent.ipynb"
LIMITS = Limits(timeout=30, cell_timeout=5, memory_mb=1024, output_limit=1_000_000)
SEED = 1234

POINTS = {"mse_gradient": 3, "gradient_descent": 4, "largest_stable_lr": 2, "optimal_lr": 2}
WRITTEN = "zigzag_answer"
HAVE_BWRAP = sandbox.bwrap_path() is not None


def needs_bwrap():
    if not HAVE_BWRAP:
        if os.environ.get("CI") == "true":
            pytest.fail("bubblewrap (bwrap) is not installed: the grading sandbox tests must run in CI "
                        "(.ci/run installs it with apt-get)")
        pytest.skip("bubblewrap (bwrap) is not installed: apt-get install bubblewrap")


def make():
    sys.path.insert(0, str(FIXTURES))
    try:
        import make_submissions
    finally:
        sys.path.remove(str(FIXTURES))
    return make_submissions


def same(status, written=Status.MANUAL):
    return {**{ex: status for ex in POINTS}, WRITTEN: written}


PASSED, FAILED, ERROR = Status.PASSED, Status.FAILED, Status.ERROR
EXPECTED = {
    # honest students, and the grader's own robustness
    "correct": same(PASSED),
    "unsolved": same(Status.NOT_IMPLEMENTED),
    "wrong_answers": same(FAILED),
    "malformed_json": same(Status.INVALID_NOTEBOOK, Status.INVALID_NOTEBOOK),
    "missing_answer_cell": {**same(PASSED), "gradient_descent": Status.MISSING_ANSWER},
    "exception": {**same(PASSED), "mse_gradient": ERROR, "largest_stable_lr": ERROR},
    "infinite_loop": {**same(PASSED), "gradient_descent": Status.TIMEOUT, "optimal_lr": Status.TIMEOUT},
    "memory_blowup": {**same(PASSED), "mse_gradient": Status.MEMORY, "largest_stable_lr": Status.MEMORY},
    "huge_output": {**same(PASSED), "mse_gradient": Status.OUTPUT_LIMIT, "largest_stable_lr": Status.OUTPUT_LIMIT},
    "sys_exit": {**same(PASSED), "mse_gradient": ERROR, "gradient_descent": ERROR, "optimal_lr": ERROR},
    "os_exit": {**same(PASSED), "gradient_descent": Status.KERNEL_DIED},
    "kernel_killed": {**same(PASSED), "largest_stable_lr": Status.KERNEL_DIED},
    "writes_files": same(PASSED),
    "edited_check_cells": same(PASSED),
    "stripped_metadata": same(PASSED),
    "hardcoded_answers": {**same(PASSED), "mse_gradient": FAILED},
    "bad_outputs": same(FAILED),
    "nested_folder": same(PASSED),
    "empty_folder": same(Status.MISSING_NOTEBOOK, Status.MISSING_NOTEBOOK),
    "unknown_notebook": {**same(Status.MISSING_NOTEBOOK, Status.MISSING_NOTEBOOK), "": Status.UNKNOWN_NOTEBOOK},
    # issue 9, points without a correct answer: wrong answers stay wrong
    "steals_references": same(FAILED),
    "hooks_the_kernel": same(FAILED),
    "redefines_checks": same(FAILED),
    "patches_course_lib": same(FAILED),
    "patches_numpy": same(FAILED),
    "prints_passed": same(FAILED),
    "inplace_patched_numpy": {**same(PASSED), "mse_gradient": FAILED},
    "symlink_to_solution": same(Status.INVALID_NOTEBOOK, Status.INVALID_NOTEBOOK),
    # issue 9, one student damages others: right answers, and nobody else is touched
    "kills_grader": same(PASSED),
    "kills_everyone": same(PASSED),
    "detached_daemon": same(PASSED),
    "poisons_the_library": same(PASSED),
    "fork_bomb": same(PASSED),
    # issue 9, crashes of the whole run
    "bad_name\udcfe": {**same(PASSED), "": Status.UNKNOWN_NOTEBOOK},
    "surrogate_exception": {**same(PASSED), "mse_gradient": ERROR},
    "surrogate_written_answer": same(PASSED),
    "deeply_nested": same(Status.INVALID_NOTEBOOK, Status.INVALID_NOTEBOOK),
    "huge_written_answer": same(PASSED),
}
SHOWN = {"bad_name\udcfe": "bad_name\\xfe"}   # how a name that is not UTF-8 appears in the CSV

MESSAGES = {
    ("wrong_answers", "mse_gradient"): ["the sign is flipped", "expected: [-10.333333 -13.333333]"],
    ("wrong_answers", "gradient_descent"): ["steps: expected 221, got 222", "steps counts the updates"],
    ("wrong_answers", "largest_stable_lr"): ["1 / lambda_max is a safe step"],
    ("wrong_answers", "optimal_lr"): ["heavy-ball momentum"],
    ("unsolved", "mse_gradient"): ["not implemented yet"],
    ("exception", "mse_gradient"): ["raised ZeroDivisionError", "line 3 of mse_gradient"],
    ("exception", "largest_stable_lr"): ["not defined", "your answer cell raised ValueError: I will finish this later"],
    ("infinite_loop", "gradient_descent"): ["did not finish within 5 s"],
    ("infinite_loop", "optimal_lr"): ["your answer cell for optimal_lr did not finish within 5 s"],
    ("memory_blowup", "mse_gradient"): ["ran out of memory", "Unable to allocate 3.00 GiB"],
    ("memory_blowup", "largest_stable_lr"): ["MemoryError", "at most 1024 MB"],
    ("huge_output", "mse_gradient"): ["your answer cell for mse_gradient printed more than 1000 KB"],
    ("huge_output", "largest_stable_lr"): ["the check of largest_stable_lr", "printed more than 1000 KB"],
    ("sys_exit", "mse_gradient"): ["called sys.exit()"],
    ("sys_exit", "gradient_descent"): ["your answer cell raised SystemExit: done for today"],
    ("sys_exit", "optimal_lr"): ["called sys.exit()/exit()"],
    ("os_exit", "gradient_descent"): ["kernel died", "exit code 0"],
    ("kernel_killed", "largest_stable_lr"): ["kernel died during your answer cell", "SIGKILL"],
    ("redefines_checks", "mse_gradient"): ["the sign is flipped"],
    ("patches_course_lib", "mse_gradient"): ["the sign is flipped"],
    ("patches_numpy", "mse_gradient"): ["the sign is flipped"],
    ("prints_passed", "mse_gradient"): ["the sign is flipped"],
    ("steals_references", "mse_gradient"): ["the sign is flipped"],
    ("hooks_the_kernel", "mse_gradient"): ["the sign is flipped"],
    ("inplace_patched_numpy", "mse_gradient"): ["changed its input(s) y in place"],
    ("symlink_to_solution", "mse_gradient"): ["symbolic link"],
    ("stripped_metadata", "gradient_descent"): ["found by its content"],
    ("hardcoded_answers", "mse_gradient"): ["wrong answer on case 'hidden random case"],
    ("bad_outputs", "mse_gradient"): ["Python list"],
    ("bad_outputs", "gradient_descent"): ["returned None"],
    ("bad_outputs", "largest_stable_lr"): ["NumPy array of shape (1,)"],
    ("bad_outputs", "optimal_lr"): ["returned a str"],
    ("malformed_json", "optimal_lr"): ["not a readable notebook", "malformed JSON"],
    ("deeply_nested", "mse_gradient"): ["not a readable notebook", "nested too deeply"],
    ("missing_answer_cell", "gradient_descent"): ["was not found in your notebook"],
    ("empty_folder", "mse_gradient"): ["was not found in your folder"],
    ("unknown_notebook", ""): ["02_gradient_decent.ipynb is not an exercise notebook"],
    ("bad_name\udcfe", ""): ["02_gradient_descent\\xff.ipynb is not an exercise notebook"],
    ("surrogate_exception", "mse_gradient"): ["oops \\ud800 \\x1b[31mred\\x1b[0m"],
    ("correct", "gradient_descent"): ["✓ gradient_descent: all", "cases passed"],
    ("correct", WRITTEN): ["to be read by the instructor"],
}


# ---------------------------------------------------------------------------------------------
# one graded run, shared


def _sandbox_processes() -> list[psutil.Process]:
    out = []
    for p in psutil.process_iter(["cmdline", "name"]):
        try:
            cmd = " ".join(p.info["cmdline"] or [])
            if p.info["name"] == "bwrap" or "course-grade/kernel.py" in cmd or "grading/kernel.py" in cmd:
                out.append(p)
        except (psutil.Error, TypeError):
            pass
    return out


def _tmp_entries() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("course-grade-*")}


def _tree(folder: Path) -> dict[str, str]:
    """{path: digest} of everything under folder, links and odd names included (not followed)."""
    out = {}
    for dirpath, dirs, files in os.walk(os.fsencode(folder)):
        for name in dirs + files:
            p = os.path.join(dirpath, name)
            if os.path.islink(p):
                out[repr(p)] = "link:" + os.fsdecode(os.readlink(p))
            elif os.path.isfile(p):
                with open(p, "rb") as f:
                    out[repr(p)] = hashlib.sha256(f.read()).hexdigest()
    return out


def read_rows(out: Path) -> list[dict]:
    with open(out / "grades.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _add_generated_attacks(subs: Path) -> None:
    """The attacks a git checkout cannot hold: links, names that are not UTF-8, a huge answer."""
    ms = make()
    (subs / "symlink_to_solution").mkdir()
    os.symlink(ROOT / "solutions" / NB, subs / "symlink_to_solution" / NB)
    os.symlink(subs / "correct", subs / "linked_folder")          # a linked student folder
    bad = os.path.join(os.fsencode(subs), b"bad_name\xfe")
    os.mkdir(bad)
    for name in (NB.encode(), b"02_gradient_descent\xff.ipynb"):
        with open(os.path.join(bad, name), "w", encoding="utf-8") as f:
            f.write(json.dumps(ms.solved()))
    (subs / "huge_written_answer").mkdir()
    (subs / "huge_written_answer" / NB).write_text(
        json.dumps(ms.solved(zigzag_answer="a very long answer. " * 250_000)), encoding="utf-8")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    needs_bwrap()
    base = tmp_path_factory.mktemp("grading")
    subs = base / "submissions"
    shutil.copytree(SUBMISSIONS, subs, symlinks=True)
    _add_generated_attacks(subs)
    before_tree = _tree(subs)
    out = base / "out"
    tmp_before = _tmp_entries()
    printed: list[str] = []
    t0 = time.monotonic()
    results = grade(subs, out, jobs=2, limits=LIMITS, seed=SEED, progress=False, echo=printed.append)
    seconds = time.monotonic() - t0
    time.sleep(1.0)  # what an attack left running would act now, after the grader finished
    return {"subs": subs, "out": out, "results": results, "printed": "\n".join(printed),
            "seconds": seconds, "tmp_before": tmp_before, "tree_before": before_tree,
            "rows": read_rows(out), "csv": (out / "grades.csv").read_bytes()}


def test_fixtures_are_up_to_date():
    """The submissions were made from the current solution notebook (rerun make_submissions.py)."""
    ms = make()
    for student, nb in ms.students().items():
        text = nb if isinstance(nb, str) else json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
        assert (SUBMISSIONS / student / NB).read_text(encoding="utf-8") == text, student
    generated = {"symlink_to_solution", "bad_name\udcfe", "huge_written_answer"}
    assert set(EXPECTED) - generated == {p.name for p in SUBMISSIONS.iterdir() if p.is_dir()}


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_submission_gets_exactly_its_grade(graded, student):
    shown = SHOWN.get(student, student)
    rows = {r["exercise"]: r for r in graded["rows"] if r["student"] == shown}
    assert {ex: r["status"] for ex, r in rows.items()} == {ex: s.value for ex, s in EXPECTED[student].items()}
    for ex, r in rows.items():
        full = POINTS.get(ex, 0)
        assert float(r["max_points"]) == full
        assert float(r["points"]) == (full if r["status"] == "passed" else 0), (ex, r["message"])
    for (s, ex), phrases in MESSAGES.items():
        if s == student:
            for phrase in phrases:
                assert phrase in rows[ex]["message"], rows[ex]["message"]
    for r in rows.values():
        assert "Traceback" not in r["message"]


def test_the_run_completes_and_the_csv_is_sorted_and_complete(graded):
    rows = graded["rows"]
    assert list(rows[0]) == CSV_FIELDS
    assert len(rows) == sum(len(v) for v in EXPECTED.values())
    order = {ex: i for i, ex in enumerate(["", *POINTS, WRITTEN])}
    keys = [(os.fsencode(r["student"]), r["notebook"], order[r["exercise"]]) for r in rows]
    assert keys == sorted(keys)
    assert sum(float(r["points"]) for r in rows) == sum(
        POINTS.get(ex, 0) for s in EXPECTED.values() for ex, st in s.items() if st is PASSED)
    assert "linked_folder: a symbolic link, not followed" in graded["printed"]


def test_summary_and_feedback(graded):
    printed, out = graded["printed"], graded["out"]
    assert "correct" in printed and "11/11" in printed and "graded now" in printed
    assert "mse_gradient" in printed.split("exercise", 1)[1] and "manual" in printed
    for student in EXPECTED:
        name = SHOWN.get(student, student)
        path = out / "feedback" / (name.replace("\\xfe", "%FE") + ".md")
        assert path.read_text(encoding="utf-8").startswith(f"# Feedback for {name}\n")
    wrong = (out / "feedback" / "wrong_answers.md").read_text(encoding="utf-8")
    assert "0 / 11 points" in wrong and "the sign is flipped" in wrong
    files = (out / "feedback" / "writes_files.md").read_text(encoding="utf-8")
    assert "wrote files in its working directory (feedback/writes_files.md, grades.csv, notes.txt)" in files
    stripped = (out / "feedback" / "stripped_metadata.md").read_text(encoding="utf-8")
    assert "Because one learning rate must fit every direction." in stripped  # the written answer
    assert "to be read by the instructor" in stripped


def test_submitted_text_is_sanitised_in_csv_markdown_and_terminal(graded):
    out = graded["out"]
    everything = graded["csv"].decode("utf-8") + graded["printed"]
    for p in (out / "feedback").iterdir():
        everything += p.read_text(encoding="utf-8")   # valid UTF-8 everywhere
    assert "\x1b" not in everything and "\ud800" not in everything
    text = (out / "feedback" / "surrogate_written_answer.md").read_text(encoding="utf-8")
    assert "> lone surrogate: \\ud800, escape: \\x1b[2J, and a fence: ```" in text
    assert "\n> # Total: 100 points" in text          # quoted: no heading of its own
    huge = (out / "feedback" / "huge_written_answer.md").read_text(encoding="utf-8")
    assert len(huge) < 40_000 and "more characters cut]" in huge
    exc = (out / "feedback" / "surrogate_exception.md").read_text(encoding="utf-8")
    assert "oops \\ud800" in exc


def test_nothing_reaches_other_students_the_gradebook_or_the_library(graded):
    out, subs = graded["out"], graded["subs"]
    assert _tree(subs) == graded["tree_before"]            # no submission changed
    for p in out.rglob("*"):
        if p.is_file() and p.name != "secret":
            assert b"hacked" not in p.read_bytes(), p
    assert "hacked" not in graded["csv"].decode()
    assert not (ROOT / "notes.txt").exists() and not (subs / "writes_files" / "grades.csv").exists()
    assert not list(ROOT.glob("course_lib/**/course_grade_probe_*"))
    assert not [p for p in map(Path, sys.path) if p.is_dir() and list(p.glob("course_grade_probe_*"))]


def test_nothing_is_left_behind(graded):
    for _ in range(50):
        if not _sandbox_processes():
            break
        time.sleep(0.2)
    assert _sandbox_processes() == []
    # under pytest-xdist another worker may be grading at this moment, with a release folder of its
    # own in /tmp that it deletes when it finishes: wait for that; a leak stays and fails
    for _ in range(300):
        left = _tmp_entries() - graded["tmp_before"]
        if not left:
            break
        time.sleep(0.2)
    assert left == set()


def test_grading_time(graded):
    print(f"\ngraded {len(graded['results'])} notebooks with --jobs 2 in {graded['seconds']:.1f} s")
    assert graded["seconds"] < 300


def test_rerun_reproduces_the_csv_and_a_forged_cache_is_regraded(graded):
    out = graded["out"]
    subs = graded["subs"]
    printed: list[str] = []
    grade(subs, out, jobs=2, limits=LIMITS, seed=SEED, progress=False, echo=printed.append)
    assert "0 graded now" in "\n".join(printed)
    assert (out / "grades.csv").read_bytes() == graded["csv"]
    # a forged result (as a detached process might write it) is detected and graded again
    path = out / ".course-grade" / "results" / "wrong_answers" / f"{NB}.json"
    outer = json.loads(path.read_text())
    inner = json.loads(outer["result"])
    for row in inner["rows"]:
        row["points"], row["status"] = row["max_points"], "passed"
    outer["result"] = json.dumps(inner, sort_keys=True)
    path.write_text(json.dumps(outer))
    # and a lost result (an interrupted run) is graded again
    shutil.rmtree(out / ".course-grade" / "results" / "correct")
    printed.clear()
    grade(subs, out, jobs=2, limits=LIMITS, seed=SEED, progress=False, echo=printed.append)
    text = "\n".join(printed)
    assert "2 graded now" in text and "wrong_answers/02_gradient_descent.ipynb had been changed" in text
    assert (out / "grades.csv").read_bytes() == graded["csv"]
    # a student hands in again: only that notebook is graded again
    shutil.copy(subs / "correct" / NB, subs / "unsolved" / NB)
    printed.clear()
    grade(subs, out, jobs=2, limits=LIMITS, seed=SEED, progress=False, echo=printed.append)
    assert "1 graded now" in "\n".join(printed)
    rows = [r for r in read_rows(out) if r["student"] == "unsolved"]
    assert [r["status"] for r in rows] == ["passed"] * 4 + ["manual"]


# ---------------------------------------------------------------------------------------------
# smaller runs


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    subs = tmp_path_factory.mktemp("small_submissions")
    for student in ("correct", "unsolved"):
        shutil.copytree(SUBMISSIONS / student, subs / student)
    (subs / "stray.ipynb").write_text("{}")
    return subs


def test_the_command_line_grades_and_force_reproduces(small, tmp_path):
    needs_bwrap()
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "course_lib.grading", str(small), "--out", str(out), "--jobs", "2",
           "--timeout", "30", "--cell-timeout", "5", "--memory-mb", "1024", "--no-progress"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "stray.ipynb: not in a student folder" in proc.stdout and "2 graded now" in proc.stdout
    secret = out / ".course-grade" / "secret"
    assert len(secret.read_text().strip()) == 32 and secret.stat().st_mode & 0o077 == 0
    assert {r["student"]: r["status"] for r in read_rows(out) if r["exercise"] == "optimal_lr"} == {
        "correct": "passed", "unsolved": "not_implemented"}
    csv_bytes = (out / "grades.csv").read_bytes()
    proc = subprocess.run(cmd + ["--force"], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "2 graded now" in proc.stdout      # everything regraded, with the same secret: the same CSV
    assert (out / "grades.csv").read_bytes() == csv_bytes


def test_cli_rejects_bad_options(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "course_lib.grading", str(tmp_path), "--out",
                           str(tmp_path / "o"), "--jobs", "0"], capture_output=True, text=True)
    assert proc.returncode == 2 and "--jobs must be positive" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "course_lib.grading", str(tmp_path / "nope"), "--out",
                           str(tmp_path / "o")], capture_output=True, text=True)
    assert proc.returncode != 0 and "is not a folder" in proc.stderr


def test_without_bubblewrap_grading_is_refused_unless_unsafe(tmp_path, monkeypatch):
    small = tmp_path / "subs"
    for student in ("correct", "unsolved"):
        shutil.copytree(SUBMISSIONS / student, small / student)
    monkeypatch.setattr(sandbox, "bwrap_path", lambda: None)
    with pytest.raises(sandbox.SandboxUnavailable, match="--unsafe-no-sandbox"):
        grade(small, tmp_path / "refused", limits=LIMITS, progress=False, echo=lambda *a: None)
    assert not (tmp_path / "refused" / "grades.csv").exists()
    printed: list[str] = []
    grade(small, tmp_path / "unsafe", limits=LIMITS, progress=False, echo=printed.append, unsafe=True,
          seed=SEED)
    text = "\n".join(printed)
    assert "WITHOUT the sandbox" in text and "other students' submissions" in text
    rows = {(r["student"], r["exercise"]): r["status"] for r in read_rows(tmp_path / "unsafe")}
    assert rows[("correct", "mse_gradient")] == "passed" and rows[("unsolved", "mse_gradient")] == "not_implemented"
    env = {**os.environ, "PATH": str(tmp_path)}   # no bwrap on PATH
    proc = subprocess.run([sys.executable, "-m", "course_lib.grading", str(small), "--out",
                           str(tmp_path / "cli")], capture_output=True, text=True, env=env)
    assert proc.returncode == 3 and "bubblewrap (bwrap) is not installed" in proc.stderr


def test_notebook_time_limit(tmp_path):
    """Slow answer cells use up the notebook's time: later exercises end as time_limit."""
    needs_bwrap()
    ms = make()
    sol = ms.solution_answers()
    slow = {gid: "import time\ntime.sleep(2.5)\n" + text for gid, text in sol.items() if gid != WRITTEN}
    (tmp_path / "subs" / "slow").mkdir(parents=True)
    (tmp_path / "subs" / "slow" / NB).write_text(json.dumps(ms.solved(**slow)))
    grade(tmp_path / "subs", tmp_path / "out", limits=Limits(timeout=8, cell_timeout=6, memory_mb=1024),
          progress=False, echo=lambda *a: None, seed=1)
    rows = {r["exercise"]: r for r in read_rows(tmp_path / "out")}
    assert rows["mse_gradient"]["status"] == "passed"
    assert rows["optimal_lr"]["status"] == "time_limit"
    assert "time limit (8 s)" in rows["optimal_lr"]["message"]


def test_answer_matching_falls_back_to_content_and_position():
    a = load_assignments()[NB]
    cells = student_cells(json.loads((SUBMISSIONS / "stripped_metadata" / NB).read_text()))
    matched, how, notes = match_answers(a, cells)
    assert how == {"mse_gradient": "content", "gradient_descent": "content", "largest_stable_lr": "content",
                   "optimal_lr": "content", "zigzag_answer": "position"}
    assert "def gradient_descent" in cells[matched["gradient_descent"]]["source"]
    dup = student_cells(json.loads((SUBMISSIONS / "correct" / NB).read_text()))
    extra = [c for c in dup if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "mse_gradient"]
    matched, how, notes = match_answers(a, dup + extra)
    assert matched["mse_gradient"] == len(dup) and "the last one was graded" in notes[0]


def test_a_change_of_the_chapter_module_changes_the_digest():
    """The digest covers checks/ch02_gradient_descent.py (a change there regrades chapter 02)."""
    files = {p.relative_to(ROOT / "course_lib").as_posix() for p in planning.library_files(list(POINTS))}
    assert "checks/ch02_gradient_descent.py" in files and "checks/core.py" in files
    assert "checks/ch00_derivatives_and_gradients.py" not in files
    assert not any(f.startswith("grading/") for f in files)


def test_the_kernel_sees_only_its_sandbox(tmp_path):
    """Namespaces, read-only files, the release library, limits: asked from inside."""
    needs_bwrap()
    from course_lib.grading.release import release_library
    lib = tmp_path / "lib"
    release_library(lib, problems=[])
    policy = sandbox.SandboxPolicy.detect(lib, hide=[tmp_path])
    probe = """
import os, socket, resource, json, course_lib
from course_lib.checks import get
facts = {"pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
         "root": os.geteuid() == 0, "lib": os.path.dirname(course_lib.__file__),
         "reference": get("mse_gradient").reference is None,
         "grading": os.path.exists(os.path.join(os.path.dirname(course_lib.__file__), "grading")),
         "nproc": resource.getrlimit(resource.RLIMIT_NPROC)[0], "tmp_listing": os.listdir("/tmp"),
         "hidden": os.path.exists(%r), "solutions": os.path.exists(%r)}
try:
    socket.create_connection(("127.0.0.1", 9), timeout=1)
    facts["net"] = True
except OSError:
    facts["net"] = False
for path in (course_lib.__file__, "/usr/bin/x", "/etc/x"):
    try:
        open(path, "a").close()
        facts["writable"] = path
    except OSError:
        pass
print("FACTS" + json.dumps(facts))
""" % (str(tmp_path), str(ROOT / "solutions"))
    with sandbox.Kernel(policy, sandbox.SandboxLimits(memory_mb=1024, max_processes=32)) as k:
        r = k.run(probe, timeout=30, output_limit=100_000)
        assert r.status is Status.OK, r.output
        facts = json.loads(r.output.split("FACTS", 1)[1])
        r = k.run("print('x' * 300000)", timeout=30, output_limit=100_000)
        assert r.status is Status.OUTPUT_LIMIT and not k.alive()
    assert facts["pids"] == [1, 2] and not facts["root"] and facts["reference"]
    assert not facts["grading"] and not facts["hidden"] and not facts["solutions"]
    assert facts["nproc"] == 32 and not facts["net"] and "writable" not in facts
    # /tmp is the kernel's empty scratch; a course (or its .venv) cloned under /tmp shows its own
    # top folder there, read-only, since the kernel's Python and the release are bound on top
    course_dirs = {Path(p).relative_to("/tmp").parts[0] for p in [*sandbox.python_prefixes(), sandbox.instructor_package()]
                   if Path(p).is_relative_to("/tmp")}
    assert set(facts["tmp_listing"]) - course_dirs <= {".ipython", ".matplotlib"} and ".ipython" in facts["tmp_listing"]


def test_binds_under_tmp_are_not_hidden_by_the_scratch_folder(tmp_path, monkeypatch):
    """A course cloned under /tmp: its Python and course_lib are bound at paths under /tmp, which the
    kernel's scratch tmpfs on /tmp must not cover (it did: 'bwrap: execvp /tmp/.../python')."""
    needs_bwrap()
    from course_lib.grading.release import release_library
    lib = tmp_path / "lib"
    release_library(lib, problems=[])
    where = tmp_path / "clone" / "course_lib"           # under /tmp, as for a course in /tmp/clone
    monkeypatch.setattr(sandbox, "instructor_package", lambda: str(where))
    policy = sandbox.SandboxPolicy.detect(lib)
    with sandbox.Kernel(policy, sandbox.SandboxLimits(memory_mb=1024, max_processes=32)) as k:
        r = k.run("import os\nprint('SEEN', os.path.isfile(%r), os.access(%r, os.W_OK))"
                  % (str(where / "__init__.py"), str(where)), timeout=30, output_limit=10_000)
        assert k.run("open('notes.txt', 'w').write('x')", timeout=30, output_limit=10_000).status is Status.OK
        written = k.files()
    assert r.status is Status.OK, r.output
    assert "SEEN True False" in r.output                # visible and read-only
    assert written == ["notes.txt"]                     # the binds under /tmp are not the notebook's files


def test_course_release_writes_the_student_bundle(tmp_path, monkeypatch):
    """Exercises, lecture notebooks and the library without the grader, the references and the
    hidden cases; installable; instant feedback works from it (tests/test_checks.py compares every
    verdict with the instructor's)."""
    import importlib
    import tomllib

    from course_lib.checks import chapter_modules
    from course_lib.grading import release
    from course_lib.grading.assignments import exercise_bytes, solution_paths
    from course_lib.grading.cli import release_main
    releasable = []
    for m in chapter_modules():   # a module that cannot be released fails its own test in test_checks.py
        try:
            release.release_module(importlib.import_module(f"course_lib.checks.{m}"))
            releasable.append(m)
        except release.ReleaseError:
            pass
    monkeypatch.setattr(release, "chapter_modules", lambda: releasable)
    out = tmp_path / "bundle"
    assert release_main([str(out)]) == 0
    assert release_main([str(out)]) == 2            # never over an existing bundle
    for src in solution_paths():
        assert (out / "exercises" / src.name).read_bytes() == exercise_bytes(src)
    assert sorted(p.name for p in (out / "notebooks").glob("*.ipynb")) == sorted(
        p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert not (out / "solutions").exists() and not (out / "course_lib" / "grading").exists()
    assert not list(out.rglob("__pycache__"))
    meta = tomllib.loads((out / "pyproject.toml").read_text())
    assert "scripts" not in meta["project"] and meta["project"]["name"] == "course_lib"
    for m in releasable:
        text = (out / "course_lib" / "checks" / f"{m}.py").read_text()
        assert "_reference" not in text.replace("reference implementations", "")
        data = json.loads((out / "course_lib" / "checks" / f"{m}.json").read_text())
        assert data["exercises"] and all("hidden" not in c["name"] for e in data["exercises"] for c in e["cases"])
    proc = subprocess.run([sys.executable, "-c", "import course_lib, json; from course_lib import check; "
                           "print(course_lib.__file__, len(check.__all__))"],
                          capture_output=True, text=True, cwd=out, env={**os.environ, "PYTHONPATH": str(out)})
    assert proc.returncode == 0 and str(out) in proc.stdout, proc.stderr


# ---------------------------------------------------------------------------------------------
# the worker's bookkeeping, with a scripted kernel (no sandbox needed)


class ScriptedKernel:
    """Runs nothing: each request gets the result the script gives for its code or exercise."""

    def __init__(self, script, log):
        self.script, self.log, self._alive = script, log, True

    def start(self):
        self.log.append("start")

    def alive(self):
        return self._alive

    def kill(self):
        self._alive = False

    def files(self):
        return []

    def _result(self, key):
        from course_lib.grading.sandbox import CellResult
        self.log.append(key)
        outcome = self.script.get(key, "ok")
        if outcome == "died-before":       # something left running killed it between cells
            self._alive = False
            return CellResult(Status.KERNEL_DIED, exit="signal SIGKILL", started=False)
        if outcome == "died":
            self._alive = False
            return CellResult(Status.KERNEL_DIED, exit="signal SIGKILL", started=True)
        return CellResult(Status.OK, data={"format": 1})

    def run(self, code, **kw):
        return self._result(code)

    def collect(self, exercise, objects, cases, **kw):
        return self._result(f"collect {exercise}")


def _plan(*steps):
    from course_lib.grading.plan import AnswerStep, CollectStep, ContextStep, Plan
    out = []
    for kind, name in steps:
        if kind == "context":
            out.append(ContextStep(name, name))
        elif kind == "answer":
            out.append(AnswerStep(name, name, name.split()[0]))
        else:
            out.append(CollectStep(name, name.split()[1], (), ()))
    exercises = [s.exercise for s in out if hasattr(s, "cases")]
    return Plan(out, exercises, {}, {}, [])


def _events(plan, script):
    from course_lib.grading.worker import Stopped, Worker
    log = []
    events = Worker(plan, lambda: ScriptedKernel(script, log), Limits(timeout=60, cell_timeout=5)).run()
    return {e.exercise: e for e in events if hasattr(e, "exercise") and not hasattr(e, "ename")}, log


def test_a_kernel_killed_by_its_cell_is_blamed_on_that_cell_only():
    """The flaky kernel_killed case: the kill is attributed to the answer cell that ran it, the
    notebook's own cells are replayed, the next exercise passes."""
    plan = _plan(("context", "imports"), ("answer", "a answer"), ("collect", "collect a"),
                 ("answer", "b answer"), ("collect", "collect b"), ("answer", "c answer"), ("collect", "collect c"))
    events, log = _events(plan, {"b answer": "died"})
    assert events["b"].status is Status.KERNEL_DIED and "your answer cell for b" in events["b"].message
    assert type(events["a"]).__name__ == type(events["c"]).__name__ == "Collected"
    assert log.count("imports") == 2 and log.count("a answer") == 2 and log.count("b answer") == 1


def test_a_kernel_that_died_between_cells_blames_the_last_answer_never_the_notebook():
    plan = _plan(("context", "imports"), ("answer", "a answer"), ("collect", "collect a"),
                 ("context", "data"), ("answer", "b answer"), ("collect", "collect b"))
    events, log = _events(plan, {"collect a": "died-before"})
    assert events["a"].status is Status.KERNEL_DIED and "after your answer cell for a ran" in events["a"].message
    assert type(events["b"]).__name__ == "Collected"
    assert log.count("imports") == 2 and "data" in log      # the notebook's cells are never dropped


def test_hidden_folders_are_masked_where_the_sandbox_would_show_them(monkeypatch, tmp_path):
    """A hidden folder under a bound one (OUTDIR below /usr, a repository holding the venv) is
    covered by an empty tmpfs, and a Python installation inside it is bound again on top."""
    monkeypatch.setattr(sandbox, "python_prefixes", lambda: ["/usr/local/course/.venv", "/opt/py"])
    monkeypatch.setattr(sandbox, "instructor_package", lambda: "/usr/local/course/course_lib")
    monkeypatch.setattr(sandbox, "bwrap_options", lambda path: frozenset({"--size", "--perms"}))
    hide = (Path("/usr/share/grades"), Path("/usr/local/course"), Path("/home/me/submissions"))
    args = sandbox.SandboxPolicy(tmp_path, hide, "/usr/bin/bwrap").command(sandbox.SandboxLimits(), None, 5, 6)
    text = " ".join(args)
    order = [text.index(part) for part in (
        "--ro-bind /usr /usr", "--ro-bind /opt/py /opt/py", "--tmpfs /usr/share/grades",
        "--tmpfs /usr/local/course", "--ro-bind /usr/local/course/.venv /usr/local/course/.venv",
        f"--ro-bind {tmp_path}/course_lib /usr/local/course/course_lib")]
    assert order == sorted(order)
    assert "/home/me" not in text   # never bound, nothing to mask
