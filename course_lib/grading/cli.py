"""The instructor's commands: `course-grade` (grade a folder of submissions) and `course-release`
(the student bundle). See docs/INSTRUCTORS.md.

    course-grade SUBMISSIONS --out OUTDIR [--jobs N] [--timeout S] [--cell-timeout S]
                 [--memory-mb MB] [--output-limit-kb KB] [--max-processes N] [--source SOLUTIONS]
                 [--notebook NAME] [--force] [--seed N] [--no-progress] [--unsafe-no-sandbox]
    course-release OUTDIR [--solutions SOLUTIONS] [--notebooks NOTEBOOKS]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from course_lib.checks.status import Status
from course_lib.grading.assignments import SOLUTIONS
from course_lib.grading.worker import Limits


def _grade_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="course-grade",
        description="Grade a folder of submitted exercise notebooks (SUBMISSIONS/<student>/<notebook>.ipynb), "
                    "each in a bubblewrap sandbox.",
        epilog="Statuses: " + "; ".join(f"{s.value}: {s.meaning}" for s in Status.gradebook()))
    add = parser.add_argument
    add("submissions", type=Path, help="folder with one sub-folder per student")
    add("--out", type=Path, required=True, help="output folder (grades.csv, feedback/)")
    add("--jobs", type=int, default=1, help="submissions graded at once (default 1)")
    add("--timeout", type=float, default=Limits.timeout,
        help=f"time limit of one notebook in seconds (default {Limits.timeout:g})")
    add("--cell-timeout", type=float, default=Limits.cell_timeout,
        help=f"time limit of one cell in seconds (default {Limits.cell_timeout:g})")
    add("--memory-mb", type=int, default=Limits.memory_mb,
        help=f"address-space limit of a kernel in MB (default {Limits.memory_mb})")
    add("--output-limit-kb", type=int, default=Limits.output_limit // 1000,
        help=f"output one cell may print, in KB (default {Limits.output_limit // 1000})")
    add("--max-processes", type=int, default=Limits.max_processes,
        help=f"processes and threads a kernel may have (default {Limits.max_processes})")
    add("--source", type=Path, default=SOLUTIONS,
        help="folder of the solution notebooks (default: the course's solutions/)")
    add("--notebook", action="append", dest="wanted", metavar="NAME",
        help="grade only this exercise notebook (repeatable); default: every exercise notebook that "
             "some student handed in")
    add("--force", action="store_true", help="regrade everything, even unchanged submissions")
    add("--seed", type=int, default=None,
        help="seed of the hidden cases (default: a secret kept in OUTDIR/.course-grade)")
    add("--no-progress", action="store_true", help="no progress bar")
    add("--unsafe-no-sandbox", action="store_true",
        help="grade without bubblewrap (no isolation at all: only for trusted notebooks)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """course-grade"""
    from course_lib.grading.batch import grade
    from course_lib.grading.sandbox import SandboxUnavailable
    parser = _grade_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    for name in ("jobs", "timeout", "cell_timeout", "memory_mb", "output_limit_kb", "max_processes"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive, got {getattr(args, name)}")
    limits = Limits(timeout=args.timeout, cell_timeout=args.cell_timeout, memory_mb=args.memory_mb,
                    output_limit=args.output_limit_kb * 1000, max_processes=args.max_processes)
    try:
        grade(args.submissions, args.out, jobs=args.jobs, limits=limits, source=args.source,
              force=args.force, seed=args.seed, progress=False if args.no_progress else None,
              wanted=args.wanted, unsafe=args.unsafe_no_sandbox)
    except SandboxUnavailable as exc:
        print(f"course-grade: {exc}", file=sys.stderr)
        return 3
    return 0


def release_main(argv: list[str] | None = None) -> int:
    """course-release"""
    from course_lib.grading.assignments import AssignmentError
    from course_lib.grading.release import ROOT, ReleaseError, course_release
    parser = argparse.ArgumentParser(
        prog="course-release",
        description="Write the student bundle: exercise notebooks, lecture notebooks and the course "
                    "library without the reference implementations and hidden cases.")
    parser.add_argument("outdir", type=Path, help="an empty or new folder")
    parser.add_argument("--solutions", type=Path, default=SOLUTIONS)
    parser.add_argument("--notebooks", type=Path, default=ROOT / "notebooks")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        course_release(args.outdir, solutions=args.solutions, notebooks=args.notebooks)
    except (ReleaseError, AssignmentError) as exc:
        print(f"course-release: {exc}", file=sys.stderr)
        return 2
    return 0
