"""What course-grade writes: grades.csv, feedback/<student>.md and the summary on the terminal.

All texts in a `Result` are already made safe (course_lib.grading.text): valid UTF-8, no control
characters, capped. Here they are only laid out: CSV cells that a spreadsheet would run as a
formula get a leading quote, Markdown code fences are longer than any run of backticks inside,
and written answers are quoted line by line.
"""
from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from urllib.parse import quote

from course_lib.checks.status import Status
from course_lib.grading.gradebook import CSV_FIELDS, Result, Row
from course_lib.grading.text import csv_cell, fence


def write_csv(path: Path, rows: list[Row]) -> None:
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(CSV_FIELDS)
        writer.writerows(csv_row(r) for r in rows)
    os.replace(tmp, path)


def csv_row(row: Row) -> list[str]:
    return [csv_cell(v) for v in row.csv_values()]


def feedback_path(folder: Path, student_raw: str) -> Path:
    return folder / f"{quote(os.fsencode(student_raw), safe='') or '_'}.md"


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
            if row.status in (Status.PASSED, Status.MANUAL) and "note:" not in row.message:
                continue
            title = row.exercise or res.notebook
            f = fence(row.message)
            out.write(f"\n### {title}: {row.status.value.replace('_', ' ')}\n\n{f}text\n{row.message}\n{f}\n")
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


def summary_table(results: list[Result], order: dict[str, dict[str, int]]) -> str:
    """Points per student and notebook, then status counts per exercise; `order` is
    {notebook: {exercise: position}}."""
    notebooks = sorted({r.notebook for r in results if r.notebook in order})
    by_student: dict[str, dict[str, Result]] = {}
    for r in results:
        by_student.setdefault(r.student, {})[r.notebook] = r
    width = max([len("student")] + [len(s) for s in by_student])
    cols = [n[:-6] if n.endswith(".ipynb") else n for n in notebooks]
    lines = [f"{'student':<{width}}  " + "  ".join(f"{c:>{max(len(c), 9)}}" for c in cols) + "      total"]
    for student in sorted(by_student):
        cells = []
        for n, c in zip(notebooks, cols):
            r = by_student[student].get(n)
            cells.append(f"{(f'{r.points:g}/{r.max_points:g}' if r else '-'):>{max(len(c), 9)}}")
        mine = by_student[student].values()
        tot, tmax = sum(r.points for r in mine), sum(r.max_points for r in mine)
        unknown = [r.notebook for r in mine if r.notebook not in order]
        extra = f"   (unknown: {', '.join(unknown)})" if unknown else ""
        lines.append(f"{student:<{width}}  " + "  ".join(cells) + f"  {f'{tot:g}/{tmax:g}':>9}{extra}")
    counts: dict[tuple[str, str], dict[Status, int]] = {}
    maxp: dict[tuple[str, str], float] = {}
    for r in results:
        for row in r.rows:
            if row.exercise and r.notebook in order and row.exercise in order[r.notebook]:
                k = (row.notebook, row.exercise)
                counts.setdefault(k, {})
                counts[k][row.status] = counts[k].get(row.status, 0) + 1
                maxp[k] = row.max_points
    if counts:
        rank = {n: i for i, n in enumerate(notebooks)}
        keys = sorted(counts, key=lambda k: (rank.get(k[0], 99), order[k[0]].get(k[1], 99), k))
        statuses = [s for s in Status.gradebook() if any(s in counts[k] for k in keys)]
        ew = max(len("exercise"), *(len(k[1]) for k in keys))
        lines.append("")
        lines.append(f"{'exercise':<{ew}}  {'points':>6}  " + "  ".join(f"{s.value:>{len(s.value)}}" for s in statuses))
        for k in keys:
            lines.append(f"{k[1]:<{ew}}  {maxp[k]:>6g}  "
                         + "  ".join(f"{counts[k].get(s, 0):>{len(s.value)}}" for s in statuses))
    return "\n".join(lines)
