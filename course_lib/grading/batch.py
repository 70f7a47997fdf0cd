"""Grading a whole folder of submissions: `grade(SUBMISSIONS, OUTDIR, ...)`, what course-grade runs.

1. The exercise notebooks are built in memory from the solutions; the submissions are found
   (links not followed); the secret and the cached results are read from OUTDIR/.course-grade.
2. A student release of the library is written to a temporary folder: the only course_lib the
   sandboxed kernels see.
3. The submissions that changed since the last run (or all, with force) are graded, `jobs` at a
   time, each in its own kernels (course_lib.grading.gradebook). Rows are appended to grades.csv as
   results come, and each student's feedback is written when their last notebook is done.
4. grades.csv is rewritten sorted, every feedback file is written, the summary is printed.
"""
from __future__ import annotations

import csv
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from course_lib.grading.assignments import ROOT, SOLUTIONS
from course_lib.grading.gradebook import Result, Store, exercise_order, fingerprint, grade_submission
from course_lib.grading.plan import load_assignments
from course_lib.grading.release import release_library
from course_lib.grading.report import csv_row, feedback_path, render_feedback, summary_table, write_csv
from course_lib.grading.sandbox import UNSAFE_WARNING, SandboxPolicy, require_bwrap
from course_lib.grading.submissions import Submission, _sort_key, discover
from course_lib.grading.worker import Limits

STATE = ".course-grade"


def grade(submissions: Path, out: Path, *, jobs: int = 1, limits: Limits | None = None,
          source: Path = SOLUTIONS, force: bool = False, seed: int | None = None,
          progress: bool | None = None, wanted: list[str] | None = None, unsafe: bool = False,
          echo=print) -> list[Result]:
    """Grade every submission under `submissions` into `out`; return the results (sorted).

    Raises SandboxUnavailable when bubblewrap is missing and `unsafe` is not set."""
    limits = limits or Limits()
    t0 = time.monotonic()
    submissions, out = Path(submissions), Path(out)
    if not submissions.is_dir():
        raise SystemExit(f"course-grade: {submissions} is not a folder")
    if not unsafe:
        require_bwrap()  # before any work: no sandbox, no grading
    problems: list[str] = []
    assignments = load_assignments(source, problems)
    for p in problems:
        echo(f"warning: {p}")
    if not assignments:
        raise SystemExit(f"course-grade: no solution notebook with checks in {source}")
    subs, warnings = discover(submissions, list(assignments), wanted)
    for w in warnings:
        echo(f"warning: {w}")
    out.mkdir(parents=True, exist_ok=True)
    (out / "feedback").mkdir(exist_ok=True)
    store = Store(out / STATE)
    secret = f"seed:{seed}" if seed is not None else store.secret
    library = Path(tempfile.mkdtemp(prefix="course-grade-release-"))
    try:
        unreleased: list[str] = []
        release_library(library, problems=unreleased)
        for p in unreleased:
            echo(f"warning: {p}")
        hidden = [submissions, out, Path(source), Path(ROOT)]   # ROOT: the instructor's repository
        policy = SandboxPolicy.detect(library, hide=hidden, unsafe=unsafe)
        if unsafe:
            echo(UNSAFE_WARNING)
        final, n_now = _run(subs, assignments, store, secret, limits, policy, out, jobs, force,
                            progress, echo)
    finally:
        shutil.rmtree(library, ignore_errors=True)
    for who in store.rejected:
        echo(f"warning: the cached result of {who} had been changed (its MAC does not match); "
             "graded again")
    elapsed = time.monotonic() - t0
    order = {n: exercise_order(a) for n, a in assignments.items()}
    echo(summary_table(final, order))
    echo(f"\n{len(final)} notebook(s) of {len({r.student for r in final})} student(s): "
         f"{n_now} graded now, {len(final) - n_now} unchanged since the last run; {elapsed:.1f} s")
    echo(f"grades: {out / 'grades.csv'}   feedback: {out / 'feedback'}")
    return final


def _run(subs: list[Submission], assignments, store: Store, secret: str, limits: Limits,
         policy: SandboxPolicy, out: Path, jobs: int, force: bool, progress,
         echo) -> tuple[list[Result], int]:
    """Grade what changed; (all results in order, how many were graded now)."""
    from tqdm import tqdm
    results: dict[tuple[bytes, bytes], Result] = {}
    student_of: dict[tuple[bytes, bytes], Submission] = {}
    to_run: list[tuple[Submission, str]] = []
    for sub in subs:
        key = (_sort_key(sub.student), _sort_key(sub.notebook))
        student_of[key] = sub
        fp = fingerprint(sub, assignments, secret, limits, policy)
        old = None if force else store.load(sub, fp)
        if old is not None:
            results[key] = old
        else:
            to_run.append((sub, fp))

    csv_path = out / "grades.csv"

    def ordered() -> list[Result]:
        return [results[k] for k in sorted(results)]

    def write_feedback(student: str) -> None:
        mine = [r for k, r in sorted(results.items()) if student_of[k].student == student]
        feedback_path(out / "feedback", student).write_text(render_feedback(mine[0].student, mine),
                                                            encoding="utf-8")

    write_csv(csv_path, [row for r in ordered() for row in r.rows])
    left: dict[str, int] = {}
    for sub, _ in to_run:
        left[sub.student] = left.get(sub.student, 0) + 1
    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        with open(csv_path, "a", newline="", encoding="utf-8") as csv_file, \
                tqdm(total=len(to_run), desc="grading", unit="notebook", file=sys.stderr,
                     disable=(None if progress is None else not progress)) as bar:
            writer = csv.writer(csv_file, lineterminator="\n")
            futures = {pool.submit(grade_submission, sub, assignments, secret, limits, policy, fp): sub
                       for sub, fp in to_run}
            for fut in as_completed(futures):
                sub = futures[fut]
                result = fut.result()
                results[(_sort_key(sub.student), _sort_key(sub.notebook))] = result
                store.save(sub, result)
                writer.writerows(csv_row(row) for row in result.rows)
                csv_file.flush()
                left[sub.student] -= 1
                if left[sub.student] == 0:
                    write_feedback(sub.student)
                bar.set_postfix_str(f"{result.student}: {result.points:g}/{result.max_points:g}", refresh=False)
                bar.update(1)
    except BaseException:
        # Ctrl-C or an error: start no new submission; what was written stays (a rerun resumes)
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    final = ordered()
    write_csv(csv_path, [row for r in final for row in r.rows])
    for student in sorted({s.student for s in student_of.values()}, key=_sort_key):
        write_feedback(student)
    return final, len(to_run)
