"""course-grade on a folder of adversarial submissions (tests/fixtures/submissions, one student per
case): the exact status and points of every exercise, the CSV, the feedback, resuming and
reproducing, the CLI, the time limits, and that nothing is left behind."""
from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from course_lib.grading import grader as grading
from course_lib.grading.grader import Limits, grade, load_assignments, match_answers

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
SUBMISSIONS = FIXTURES / "submissions"
NB = "02_gradient_descent.ipynb"
LIMITS = Limits(timeout=20, cell_timeout=3, memory_mb=1024, output_limit=1_000_000)
SEED = 1234

POINTS = {"mse_gradient": 3, "gradient_descent": 4, "largest_stable_lr": 2, "optimal_lr": 2}


def same(status):
    return {ex: status for ex in POINTS}


EXPECTED = {
    "correct": same("passed"),
    "unsolved": same("not_implemented"),
    "wrong_answers": same("failed"),
    "malformed_json": same("invalid_notebook"),
    "missing_answer_cell": {**same("passed"), "gradient_descent": "missing_answer"},
    "exception": {**same("passed"), "mse_gradient": "error", "largest_stable_lr": "error"},
    "infinite_loop": {**same("passed"), "gradient_descent": "timeout", "optimal_lr": "timeout"},
    "memory_blowup": {**same("passed"), "mse_gradient": "memory", "largest_stable_lr": "memory"},
    "huge_output": {**same("passed"), "mse_gradient": "output_limit", "largest_stable_lr": "output_limit"},
    "sys_exit": {**same("passed"), "mse_gradient": "error", "gradient_descent": "error", "optimal_lr": "error"},
    "os_exit": {**same("passed"), "gradient_descent": "kernel_died"},
    "kernel_killed": {**same("passed"), "largest_stable_lr": "kernel_died"},
    "kills_grader": {**same("passed"), "optimal_lr": "crashed"},
    "writes_files": same("passed"),
    "redefines_checks": same("failed"),
    "patches_course_lib": same("failed"),
    "patches_numpy": same("failed"),
    "prints_passed": same("failed"),
    "edited_check_cells": same("passed"),
    "stripped_metadata": same("passed"),
    "hardcoded_answers": {**same("passed"), "mse_gradient": "failed"},
    "bad_outputs": same("failed"),
    "nested_folder": same("passed"),
    "empty_folder": same("missing_notebook"),
    "unknown_notebook": {**same("missing_notebook"), "": "unknown_notebook"},
}

MESSAGES = {
    ("wrong_answers", "mse_gradient"): ["the sign is flipped", "expected: [-10.333333 -13.333333]"],
    ("wrong_answers", "gradient_descent"): ["steps: expected 221, got 222", "steps counts the updates"],
    ("wrong_answers", "largest_stable_lr"): ["1 / lambda_max is a safe step"],
    ("wrong_answers", "optimal_lr"): ["heavy-ball momentum"],
    ("unsolved", "mse_gradient"): ["not implemented yet"],
    ("exception", "mse_gradient"): ["raised ZeroDivisionError", "line 3 of mse_gradient"],
    ("exception", "largest_stable_lr"): ["not defined", "your answer cell raised ValueError: I will finish this later"],
    ("infinite_loop", "gradient_descent"): ["did not finish within 3 s"],
    ("infinite_loop", "optimal_lr"): ["your answer cell for optimal_lr did not finish within 3 s"],
    ("memory_blowup", "mse_gradient"): ["ran out of memory", "Unable to allocate 3.00 GiB"],
    ("memory_blowup", "largest_stable_lr"): ["MemoryError", "at most 1024 MB"],
    ("huge_output", "mse_gradient"): ["your answer cell for mse_gradient printed more than 1000 KB"],
    ("huge_output", "largest_stable_lr"): ["the check of largest_stable_lr", "printed more than 1000 KB"],
    ("sys_exit", "mse_gradient"): ["called sys.exit()"],
    ("sys_exit", "gradient_descent"): ["your answer cell raised SystemExit: done for today"],
    ("sys_exit", "optimal_lr"): ["called sys.exit()/exit()"],
    ("os_exit", "gradient_descent"): ["kernel died", "exit code 0"],
    ("kernel_killed", "largest_stable_lr"): ["kernel died during your answer cell", "SIGKILL"],
    ("kills_grader", "optimal_lr"): ["grading process ended with signal SIGKILL"],
    ("redefines_checks", "mse_gradient"): ["the sign is flipped"],
    ("patches_course_lib", "mse_gradient"): ["the sign is flipped"],
    ("patches_numpy", "mse_gradient"): ["the sign is flipped"],
    ("prints_passed", "mse_gradient"): ["the sign is flipped"],
    ("stripped_metadata", "gradient_descent"): ["found by its content"],
    ("hardcoded_answers", "mse_gradient"): ["wrong answer on case 'hidden random case"],
    ("bad_outputs", "mse_gradient"): ["Python list"],
    ("bad_outputs", "gradient_descent"): ["returned None"],
    ("bad_outputs", "largest_stable_lr"): ["NumPy array of shape (1,)"],
    ("bad_outputs", "optimal_lr"): ["returned a str"],
    ("malformed_json", "optimal_lr"): ["not a readable notebook"],
    ("missing_answer_cell", "gradient_descent"): ["was not found in your notebook"],
    ("empty_folder", "mse_gradient"): ["was not found in your folder"],
    ("unknown_notebook", ""): ["02_gradient_decent.ipynb is not an exercise notebook"],
    ("correct", "gradient_descent"): ["✓ gradient_descent: all 12 cases passed"],
}


def _tmp_entries() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("course-grade-*")}


def _kernels() -> list[psutil.Process]:
    out = []
    for p in psutil.process_iter(["cmdline"]):
        try:
            if "course_lib.grading.sandbox" in " ".join(p.info["cmdline"] or []):
                out.append(p)
        except (psutil.Error, TypeError):
            pass
    return out


def read_rows(out: Path) -> list[dict]:
    with open(out / "grades.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    out = tmp_path_factory.mktemp("grades")
    before = _tmp_entries()
    printed: list[str] = []
    t0 = time.monotonic()
    results = grade(SUBMISSIONS, out, jobs=2, limits=LIMITS, seed=SEED, progress=False,
                    echo=printed.append)
    seconds = time.monotonic() - t0
    return {"out": out, "results": results, "printed": "\n".join(printed), "seconds": seconds,
            "tmp_before": before, "rows": read_rows(out)}


def test_fixtures_are_up_to_date():
    """The submissions were made from the current exercise notebook (rerun make_submissions.py)."""
    sys.path.insert(0, str(FIXTURES))
    try:
        import make_submissions
    finally:
        sys.path.remove(str(FIXTURES))
    for student, nb in make_submissions.students().items():
        text = nb if isinstance(nb, str) else json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
        assert (SUBMISSIONS / student / NB).read_text(encoding="utf-8") == text, student
    assert set(EXPECTED) == {p.name for p in SUBMISSIONS.iterdir() if p.is_dir()}


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_submission_gets_exactly_its_grade(graded, student):
    rows = {r["exercise"]: r for r in graded["rows"] if r["student"] == student}
    assert {ex: r["status"] for ex, r in rows.items()} == EXPECTED[student]
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


def test_csv_is_sorted_and_complete(graded):
    rows = graded["rows"]
    assert list(rows[0]) == grading.CSV_FIELDS
    assert len(rows) == 4 * len(EXPECTED) + 1
    order = {ex: i for i, ex in enumerate(["", *POINTS])}
    keys = [(r["student"], r["notebook"], order[r["exercise"]]) for r in rows]
    assert keys == sorted(keys)
    assert sum(float(r["points"]) for r in rows) == sum(
        POINTS[ex] for s in EXPECTED.values() for ex, st in s.items() if st == "passed")


def test_summary_and_feedback(graded):
    printed, out = graded["printed"], graded["out"]
    assert "correct" in printed and "11/11" in printed and "graded now" in printed
    assert "mse_gradient" in printed.split("exercise", 1)[1]
    for student in EXPECTED:
        text = (out / "feedback" / f"{student}.md").read_text(encoding="utf-8")
        assert text.startswith(f"# Feedback for {student}\n")
    wrong = (out / "feedback" / "wrong_answers.md").read_text(encoding="utf-8")
    assert "0 / 11 points" in wrong and "the sign is flipped" in wrong
    files = (out / "feedback" / "writes_files.md").read_text(encoding="utf-8")
    assert "wrote files in its working directory (feedback/writes_files.md, grades.csv, notes.txt)" in files
    stripped = (out / "feedback" / "stripped_metadata.md").read_text(encoding="utf-8")
    assert "Because one learning rate must fit every direction." in stripped  # the written answer


def test_student_files_stay_in_their_sandbox(graded):
    out = graded["out"]
    assert "hacked" not in (out / "grades.csv").read_text(encoding="utf-8")
    assert "all passed" not in (out / "feedback" / "writes_files.md").read_text(encoding="utf-8")
    assert not (ROOT / "notes.txt").exists() and not (SUBMISSIONS / "writes_files" / "grades.csv").exists()


def test_nothing_is_left_behind(graded):
    for _ in range(30):  # an orphaned kernel exits within a second of its worker's death
        if not _kernels():
            break
        time.sleep(0.2)
    assert _kernels() == []
    assert _tmp_entries() - graded["tmp_before"] == set()


def test_grading_time(graded):
    print(f"\ngraded {len(graded['results'])} notebooks with --jobs 2 in {graded['seconds']:.1f} s")
    assert graded["seconds"] < 180


def test_rerun_resumes_and_reproduces_the_csv(graded):
    out = graded["out"]
    csv_before = (out / "grades.csv").read_bytes()
    printed: list[str] = []
    t0 = time.monotonic()
    grade(SUBMISSIONS, out, jobs=2, limits=LIMITS, seed=SEED, progress=False, echo=printed.append)
    assert time.monotonic() - t0 < 15
    assert "0 graded now" in "\n".join(printed)
    assert (out / "grades.csv").read_bytes() == csv_before
    # a lost result (an interrupted run) is graded again, and the CSV comes out the same
    shutil.rmtree(out / ".course-grade" / "results" / "correct")
    printed.clear()
    grade(SUBMISSIONS, out, jobs=2, limits=LIMITS, seed=SEED, progress=False, echo=printed.append)
    assert "1 graded now" in "\n".join(printed)
    assert (out / "grades.csv").read_bytes() == csv_before


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    subs = tmp_path_factory.mktemp("small_submissions")
    for student in ("correct", "unsolved"):
        shutil.copytree(SUBMISSIONS / student, subs / student)
    (subs / "stray.ipynb").write_text("{}")
    return subs


def test_changed_submission_is_regraded_and_force_reproduces(small, tmp_path):
    out = tmp_path / "out"
    printed: list[str] = []
    grade(small, out, jobs=2, limits=LIMITS, progress=False, echo=printed.append)
    assert any("stray.ipynb: not in a student folder" in p for p in printed)
    secret = (out / ".course-grade" / "secret").read_text().strip()
    assert len(secret) == 32
    first = read_rows(out)
    assert {r["student"]: r["status"] for r in first if r["exercise"] == "optimal_lr"} == {
        "correct": "passed", "unsolved": "not_implemented"}
    # the student hands in again: only that notebook is graded again
    shutil.copy(small / "correct" / NB, small / "unsolved" / NB)
    printed.clear()
    grade(small, out, jobs=2, limits=LIMITS, progress=False, echo=printed.append)
    assert "1 graded now" in "\n".join(printed)
    again = read_rows(out)
    assert all(r["status"] == "passed" for r in again)
    csv_bytes = (out / "grades.csv").read_bytes()
    # --force through the console entry point: everything regraded, the same CSV
    proc = subprocess.run([sys.executable, "-m", "course_lib.grading", str(small), "--out", str(out),
                           "--jobs", "2", "--timeout", "20", "--cell-timeout", "3", "--memory-mb", "1024",
                           "--force", "--no-progress"], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "2 graded now" in proc.stdout
    assert (out / "grades.csv").read_bytes() == csv_bytes


def test_cli_rejects_bad_options(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "course_lib.grading", str(tmp_path), "--out",
                           str(tmp_path / "o"), "--jobs", "0"], capture_output=True, text=True)
    assert proc.returncode == 2 and "--jobs must be positive" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "course_lib.grading", str(tmp_path / "nope"), "--out",
                           str(tmp_path / "o")], capture_output=True, text=True)
    assert proc.returncode != 0 and "is not a folder" in proc.stderr


def test_notebook_time_limit(tmp_path):
    """Slow answer cells use up the notebook's time: later exercises end as time_limit."""
    sys.path.insert(0, str(FIXTURES))
    try:
        import make_submissions as ms
    finally:
        sys.path.remove(str(FIXTURES))
    sol = ms.solution_answers()
    slow = {gid: "import time\ntime.sleep(1.6)\n" + text for gid, text in sol.items()
            if gid != "zigzag_answer"}
    (tmp_path / "subs" / "slow").mkdir(parents=True)
    (tmp_path / "subs" / "slow" / NB).write_text(json.dumps(ms.solved(**slow)))
    grade(tmp_path / "subs", tmp_path / "out", limits=Limits(timeout=5, cell_timeout=3, memory_mb=1024),
          progress=False, echo=lambda *a: None, seed=1)
    rows = {r["exercise"]: r for r in read_rows(tmp_path / "out")}
    assert rows["mse_gradient"]["status"] == "passed"
    assert rows["optimal_lr"]["status"] == "time_limit"
    assert "time limit (5 s)" in rows["optimal_lr"]["message"]


def test_answer_matching_falls_back_to_content_and_position():
    a = load_assignments()[NB]
    cells = json.loads((SUBMISSIONS / "stripped_metadata" / NB).read_text())["cells"]
    matched, how, notes = match_answers(a, cells)
    assert how == {"mse_gradient": "content", "gradient_descent": "content", "largest_stable_lr": "content",
                   "optimal_lr": "content", "zigzag_answer": "position"}
    assert "def gradient_descent" in "".join(cells[matched["gradient_descent"]]["source"])
    dup = json.loads((SUBMISSIONS / "correct" / NB).read_text())["cells"]
    extra = [c for c in dup if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "mse_gradient"]
    matched, how, notes = match_answers(a, dup + extra)
    assert matched["mse_gradient"] == len(dup) and "the last one was graded" in notes[0]
