"""exercises/ is generated from solutions/: stubs keep signatures and indentation, markers are
validated (errors name the notebook and the cell), output is byte-stable, and staleness is caught."""
from __future__ import annotations

import ast
import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from course_lib.grading import assignments as A
from course_lib.grading.assignments import (AssignmentError, build, build_notebook, check, exercise_bytes,
                                    strip_solution, structure)

ROOT = Path(__file__).resolve().parents[1]
NB = "02_gradient_descent.ipynb"


def code_cell(source, **nbgrader):
    meta = {"nbgrader": {"schema_version": 3, **nbgrader}} if nbgrader else {}
    return {"cell_type": "code", "execution_count": 3, "id": f"c{abs(hash(source)) % 10**8}",
            "metadata": meta, "outputs": [{"output_type": "stream", "name": "stdout", "text": "hi\n"}],
            "source": source}


def answer(source, gid):
    return code_cell(source, grade=False, solution=True, locked=False, grade_id=gid)


def check_cell(name, points, gid=None):
    return code_cell(f"check.{name}({name})", grade=True, solution=False, locked=True,
                     points=points, grade_id=gid or f"{name}_check")


def notebook(*cells):
    return {"cells": list(cells), "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                              "language": "python"},
                                               "language_info": {"name": "python", "version": "3.11.7"}},
            "nbformat": 4, "nbformat_minor": 5}


GOOD_ANSWER = '''def largest_stable_lr(A):
    """docstring stays"""
    ### BEGIN SOLUTION
    lam = np.linalg.eigvalsh(A)[-1]
    return 2.0 / lam
    ### END SOLUTION'''


def test_code_stub_keeps_signature_and_indentation():
    out = strip_solution(GOOD_ANSWER, "code", "nb, cell 1")
    assert out == ('def largest_stable_lr(A):\n    """docstring stays"""\n'
                   "    # YOUR CODE HERE\n    raise NotImplementedError()")
    ast.parse(out)
    nested = "class Opt:\n    def step(self, w, g):\n        ### BEGIN SOLUTION\n        return w - g\n        ### END SOLUTION\n"
    assert strip_solution(nested, "code", "x") == (
        "class Opt:\n    def step(self, w, g):\n        # YOUR CODE HERE\n        raise NotImplementedError()")


def test_several_regions_and_markdown():
    src = "a = 1\n### BEGIN SOLUTION\nb = 2\n### END SOLUTION\nc = 3\n### BEGIN SOLUTION\nd = 4\n### END SOLUTION"
    assert strip_solution(src, "code", "x") == (
        "a = 1\n# YOUR CODE HERE\nraise NotImplementedError()\nc = 3\n# YOUR CODE HERE\nraise NotImplementedError()")
    md = "Answer:\n\n### BEGIN SOLUTION\nBecause kappa is large.\n### END SOLUTION"
    assert strip_solution(md, "markdown", "x") == "Answer:\n\nYOUR ANSWER HERE"


@pytest.mark.parametrize("source,phrase", [
    ("### BEGIN SOLUTION\nx = 1\n### BEGIN SOLUTION\ny = 2\n### END SOLUTION\n### END SOLUTION", "nested"),
    ("def f():\n    ### BEGIN SOLUTION\n    return 1", "never closed"),
    ("x = 1\n### END SOLUTION", "has no '### BEGIN SOLUTION'"),
    ("### BEGIN SOLUTIONS\nx = 1\n### END SOLUTION", "looks like a marker"),
    ("## BEGIN SOLUTION\nx = 1\n## END SOLUTION", "looks like a marker"),
])
def test_bad_markers_name_notebook_and_cell(source, phrase):
    nb = notebook(code_cell("import numpy as np"), answer(source, "largest_stable_lr"),
                  check_cell("largest_stable_lr", 2))
    with pytest.raises(AssignmentError) as info:
        build_notebook(nb, "solutions/99_demo.ipynb")
    msg = str(info.value)
    assert "solutions/99_demo.ipynb, cell 1 (grade_id 'largest_stable_lr')" in msg
    assert phrase in msg


@pytest.mark.parametrize("mutate,phrase", [
    (lambda nb: nb["cells"][1]["metadata"].clear(), "lacks \"solution\": true"),
    (lambda nb: nb["cells"][2]["metadata"]["nbgrader"].update(points=5), "differ from check.largest_stable_lr's 2"),
    (lambda nb: nb["cells"][2].update(source="check.largest_stable_lr(largest_stable_lr)\nprint(1)"), "exactly one call"),
    (lambda nb: nb["cells"][2].update(source="check.no_such_check(f)"), "not a registered check"),
    (lambda nb: nb["cells"][2]["metadata"]["nbgrader"].update(grade_id="largest_stable_lr"), "is also used by cell 1"),
    (lambda nb: nb["cells"][2]["metadata"]["nbgrader"].update(locked=False), "must be \"locked\": true"),
    (lambda nb: nb["cells"][1]["metadata"]["nbgrader"].update(schema_version=2), "schema_version must be 3"),
    (lambda nb: nb["cells"].pop(1), "without an answer cell"),
])
def test_metadata_errors(mutate, phrase):
    nb = notebook(code_cell("import numpy as np"), answer(GOOD_ANSWER, "largest_stable_lr"),
                  check_cell("largest_stable_lr", 2))
    mutate(nb)
    with pytest.raises(AssignmentError, match="99_demo.ipynb, cell") as info:
        build_notebook(nb, "99_demo.ipynb")
    assert phrase in str(info.value)


def test_build_clears_outputs_and_locks_check_cells():
    nb = notebook(code_cell("import numpy as np"), answer(GOOD_ANSWER, "largest_stable_lr"),
                  check_cell("largest_stable_lr", 2),
                  {"cell_type": "markdown", "id": "md", "source": "### BEGIN SOLUTION\nsecret\n### END SOLUTION",
                   "metadata": {"nbgrader": {"grade": False, "solution": True, "locked": False,
                                             "grade_id": "why", "schema_version": 3}}})
    before = copy.deepcopy(nb)
    ex = build_notebook(nb, "demo")
    assert nb == before  # the source is not changed
    assert all(c.get("outputs", []) == [] and c.get("execution_count") is None
               for c in ex["cells"] if c["cell_type"] == "code")
    assert ex["cells"][2]["metadata"]["editable"] is False and ex["cells"][2]["metadata"]["deletable"] is False
    assert ex["cells"][2]["metadata"]["nbgrader"] == nb["cells"][2]["metadata"]["nbgrader"]
    assert ex["cells"][3]["source"] == "YOUR ANSWER HERE"
    assert ex["metadata"] == {"kernelspec": nb["metadata"]["kernelspec"], "language_info": {"name": "python"}}
    assert "eigvalsh" not in json.dumps(ex) and "secret" not in json.dumps(ex)


def written_answer(gid="why", **nbgrader):
    meta = {"grade": True, "solution": True, "locked": False, "points": 0, "grade_id": gid,
            "schema_version": 3, **nbgrader}
    return {"cell_type": "markdown", "id": f"md-{gid}", "metadata": {"nbgrader": meta},
            "source": "Explain:\n\n### BEGIN SOLUTION\nBecause kappa is large.\n### END SOLUTION"}


def test_written_answers_in_nbgrader_form_are_accepted_and_answer_cells_locked():
    """Markdown answers carry nbgrader's manual-grading metadata ("grade": true, points >= 0)."""
    nb = notebook(code_cell("import numpy as np"), answer(GOOD_ANSWER, "largest_stable_lr"),
                  check_cell("largest_stable_lr", 2), written_answer(), written_answer("why2", points=2))
    st = structure(nb, "demo")
    assert [(a.grade_id, a.cell_type, a.manual_points) for a in st.answers] == [
        ("largest_stable_lr", "code", 0.0), ("why", "markdown", 0.0), ("why2", "markdown", 2.0)]
    assert st.max_points == 2  # auto-graded points only
    ex = build_notebook(nb, "demo")
    assert ex["cells"][3]["source"] == "Explain:\n\nYOUR ANSWER HERE"
    for i in (1, 3, 4):  # answer cells: not deletable, still editable (nbgrader's lock_solution_cells)
        assert ex["cells"][i]["metadata"]["deletable"] is False
        assert "editable" not in ex["cells"][i]["metadata"]
    assert ex["cells"][0]["metadata"] == {}
    for bad in (-1, "0", True):
        broken = notebook(code_cell("import numpy as np"), written_answer(points=bad))
        with pytest.raises(AssignmentError, match="written answer needs points >= 0"):
            structure(broken, "demo")
    code = answer(GOOD_ANSWER, "largest_stable_lr")
    code["metadata"]["nbgrader"]["grade"] = True
    with pytest.raises(AssignmentError, match='must have "grade": false'):
        structure(notebook(code, check_cell("largest_stable_lr", 2)), "demo")


def test_exercises_are_up_to_date():
    """`make test` fails while exercises/ is stale: run `python -m course_lib.grading.assignments build`."""
    assert check() == []


def test_chapter_02_exercises_are_generated_and_stable():
    data = exercise_bytes(A.SOLUTIONS / NB)
    assert data == exercise_bytes(A.SOLUTIONS / NB)
    assert data == (A.EXERCISES / NB).read_bytes()
    ex = json.loads(data)
    sol = json.loads((A.SOLUTIONS / NB).read_text())
    assert [c["id"] for c in ex["cells"]] == [c["id"] for c in sol["cells"]]
    st = structure(ex, NB)
    for a in st.answers:
        src = "".join(ex["cells"][a.index]["source"])
        if a.cell_type == "code":
            ast.parse(src)
            assert "raise NotImplementedError()" in src and "BEGIN SOLUTION" not in src
            first = "".join(sol["cells"][a.index]["source"]).splitlines()[0]
            assert src.splitlines()[0] == first  # the signature line is kept
        else:
            assert src == "YOUR ANSWER HERE"
    assert len(st.checks) >= 3 and all(c.points >= 2 for c in st.checks)


def test_staleness_is_detected(tmp_path):
    sol, exd = tmp_path / "solutions", tmp_path / "exercises"
    sol.mkdir()
    shutil.copy(A.SOLUTIONS / NB, sol / NB)
    assert check(sol, exd) == [f"{exd / NB} is missing"]
    assert build(sol, exd) == [exd / NB]
    assert build(sol, exd) == []  # a rebuild of an unchanged source writes nothing
    assert check(sol, exd) == []
    nb = json.loads((sol / NB).read_text())
    cell = next(c for c in nb["cells"] if c["cell_type"] == "markdown")
    cell["source"] = "".join(cell["source"]) + " (edited)"
    (sol / NB).write_text(json.dumps(nb))
    assert check(sol, exd) == [f"{exd / NB} is stale (differs from what {sol / NB} generates)"]
    (exd / "99_orphan.ipynb").write_text("{}")
    assert any("has no source" in p for p in check(sol, exd))
    assert A.main(["check", "--solutions", str(sol), "--exercises", str(exd)]) == 1
    assert A.main(["build", "--solutions", str(sol), "--exercises", str(exd)]) == 0
    (exd / "99_orphan.ipynb").unlink()
    assert A.main(["check", "--solutions", str(sol), "--exercises", str(exd)]) == 0


def test_outputs_in_the_solution_do_not_change_the_exercise(tmp_path):
    nb = json.loads((A.SOLUTIONS / NB).read_text())
    for c in nb["cells"]:
        if c["cell_type"] == "code":
            c["outputs"], c["execution_count"] = [], None
            c["metadata"]["execution"] = {"iopub.status.busy": "2030-01-01"}
    nb["metadata"]["language_info"]["version"] = "3.99"
    (tmp_path / NB).write_text(json.dumps(nb))
    assert exercise_bytes(tmp_path / NB) == (A.EXERCISES / NB).read_bytes()


def test_cli_check_on_the_repository():
    proc = subprocess.run([sys.executable, "-m", "course_lib.grading.assignments", "check"], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == (1 if check() else 0), proc.stderr
    assert ("up to date" in proc.stdout) == (proc.returncode == 0)
    listing = subprocess.run([sys.executable, "-m", "course_lib.grading.assignments", "list"], cwd=ROOT,
                             capture_output=True, text=True)
    assert listing.returncode == 0 and "mse_gradient" in listing.stdout


# ---------------------------------------------------------------------------------------------
# a student's work in exercises/ is never lost


def _fill_in(path, grade_id, source):
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == grade_id:
            cell["source"] = source
    path.write_text(json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n")


def test_build_keeps_a_notebook_with_answers_and_force_moves_it_to_backup(tmp_path):
    from course_lib.grading.assignments import BACKUP_DIR, build, check, student_answers

    sol, exd = tmp_path / "solutions", tmp_path / "exercises"
    sol.mkdir()
    shutil.copy(ROOT / "solutions" / "02_gradient_descent.ipynb", sol)
    target = exd / "02_gradient_descent.ipynb"
    assert build(sol, exd, log=lambda m: None) == [target]
    pristine = target.read_bytes()
    assert student_answers(json.loads(pristine), json.loads(pristine)) == []

    answer = "def mse_gradient(X, y, w):\n    return -2 / len(y) * X.T @ (y - X @ w)\n"
    _fill_in(target, "mse_gradient", answer)
    work = target.read_bytes()
    messages, kept = [], []
    assert build(sol, exd, kept=kept, log=messages.append) == []
    assert target.read_bytes() == work and kept == [target]         # nothing lost
    assert "holds your answers (mse_gradient)" in messages[0]
    problems = check(sol, exd)
    assert len(problems) == 1 and "holds answers" in problems[0] and "mse_gradient" in problems[0]

    messages = []
    assert build(sol, exd, force=True, log=messages.append) == [target]
    backup = exd / BACKUP_DIR / "02_gradient_descent.1.ipynb"
    assert backup.read_bytes() == work and target.read_bytes() == pristine
    assert "moved your answers" in messages[0]
    assert check(sol, exd) == []                                     # backup/ is not an exercise


def test_a_changed_stub_or_outputs_alone_are_not_student_work(tmp_path):
    from course_lib.grading.assignments import build, student_answers

    sol, exd = tmp_path / "solutions", tmp_path / "exercises"
    sol.mkdir()
    shutil.copy(ROOT / "solutions" / "02_gradient_descent.ipynb", sol)
    target = exd / "02_gradient_descent.ipynb"
    build(sol, exd, log=lambda m: None)
    generated = json.loads(target.read_text())
    # an instructor's new stub (other signature, still raising NotImplementedError) is rebuilt over
    _fill_in(target, "mse_gradient", "def mse_gradient(X, y, w, old):\n    raise NotImplementedError()\n")
    assert student_answers(json.loads(target.read_text()), generated) == []
    assert build(sol, exd, log=lambda m: None) == [target]


# ---------------------------------------------------------------------------------------------
# the real nbgrader takes solutions/ as its source


@pytest.fixture(scope="module")
def nbgrader_report(tmp_path_factory):
    try:
        import nbgrader  # noqa: F401
    except ImportError:
        if __import__("os").environ.get("CI") == "true":
            pytest.fail("nbgrader (a dev dependency) is not installed")
        pytest.skip("nbgrader is not installed (pip install -c constraints.txt -e '.[dev]')")
    course = tmp_path_factory.mktemp("nbgrader_course")
    proc = subprocess.run([sys.executable, str(ROOT / "tests" / "fixtures" / "run_nbgrader.py"),
                           str(course), str(A.SOLUTIONS)], capture_output=True, text=True, cwd=course)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("REPORT")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    return course, json.loads(lines[-1][len("REPORT"):])


@pytest.mark.parametrize("path", A.solution_paths(A.SOLUTIONS), ids=lambda p: p.name)
def test_nbgrader_takes_the_solution_notebook(nbgrader_report, path):
    """generate_assignment succeeds, its code cells are exercises/' ones, validate passes on the
    solution, autograde gives the solution full auto-graded points and the untouched release 0."""
    course, report = nbgrader_report
    r = report["ps" + path.name[:2]]
    assert r["generate"][0], r["generate"][1]
    released = json.loads((course / "release" / ("ps" + path.name[:2]) / path.name).read_text())
    ours = json.loads(exercise_bytes(path))
    code = lambda nb: [A.source_of(c) for c in nb["cells"] if c["cell_type"] == "code"]  # noqa: E731
    assert code(released) == code(ours)
    for mine, theirs in zip(ours["cells"], released["cells"]):   # locking where it matters
        if A.nbgrader_meta(mine).get("solution") or A.nbgrader_meta(mine).get("grade"):
            assert theirs["metadata"].get("deletable") is False
            assert mine["metadata"].get("deletable") is False
        if A.nbgrader_meta(mine).get("locked"):
            assert mine["metadata"].get("editable") is False
    assert r["validate"] == {}, r["validate"]
    assert r["autograde_solution"][0] and r["autograde_blank"][0], (r["autograde_solution"], r["autograde_blank"])
    points = structure(read_notebook_(path), path.name).max_points
    assert r["score_solution"] == [points, points]
    assert r["score_blank"] == [0.0, points]


def read_notebook_(path):
    return json.loads(path.read_text(encoding="utf-8"))
