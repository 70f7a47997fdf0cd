"""The student release: what students graded for credit receive (and what the sandbox sees).

    course-release OUTDIR            # OUTDIR/exercises, notebooks, course_lib, pyproject.toml, ...

The release holds the exercise notebooks (built from solutions/), the lecture notebooks and the
course library *without* the instructor's half: no `course_lib/grading`, and each chapter's check
module `checks/chNN_*.py` cut down to what a check needs on the student's side, its `call` and
`compare` functions and what they use, with no reference implementation, no mistake
implementation and no case generator. In their place `checks/chNN_*.json` holds the visible cases
with the reference's outputs on them and each known mistake's outputs, computed here, so that
`check.<name>(f)` in a student's notebook works as before: the same verdicts, messages and hints
on the same visible cases. Hidden cases exist only in the instructor's copy (they are drawn from
the secret when grading).

Which functions a chapter module keeps is found from its source: the top-level definitions that
the exercises' `call` and `compare` functions use, transitively. A `call` or `compare` that is
not a top-level function of its module (a lambda, a partial), or that uses a reference, a
mistake or a case generator, is an error naming the exercise (ReleaseError).
"""
from __future__ import annotations

import ast
import compileall
import importlib
import json
import os
import re
import shutil
import stat
import tempfile
import warnings
from pathlib import Path
from types import ModuleType

from course_lib.checks import chapter_modules
from course_lib.checks import core
from course_lib.checks.plain import dumps

PACKAGE = Path(__file__).resolve().parents[1]        # the instructor's course_lib
ROOT = PACKAGE.parent
DATA_FORMAT = 1


class ReleaseError(ValueError):
    """A chapter module cannot be released without giving away answers; the message says why."""


# ---------------------------------------------------------------------------------------------
# one chapter module


def _function_name(module: ModuleType, fn, what: str, exercise: str) -> str:
    """The expression that names `fn` in the released module."""
    if fn is core.default_call:
        return "_core.default_call"
    name = getattr(fn, "__name__", "")
    if getattr(fn, "__module__", None) == module.__name__ and getattr(module, name, None) is fn \
            and name.isidentifier():
        return name
    raise ReleaseError(f"{module.__name__}: the {what} of {exercise} must be a function defined at "
                       f"the top level of the module (got {fn!r}), so that the student release can "
                       "keep it without the reference")


def _secret_names(module: ModuleType) -> dict[str, str]:
    """{top-level name: why it must not be released} for references, mistakes, case generators."""
    secret: dict[str, str] = {}
    for ex in getattr(module, "EXERCISES", []):
        owned = [(ex.reference, f"the reference of {ex.name}"),
                 (ex.fixed_cases, f"the fixed-case generator of {ex.name}"),
                 (ex.random_cases, f"the random-case generator of {ex.name}"),
                 (ex, f"the Exercise {ex.name}")]
        owned += [(m.func, f"the mistake {m.name!r} of {ex.name}") for m in ex.mistakes]
        for name, value in vars(module).items():
            for obj, why in owned:
                if value is obj:
                    secret.setdefault(name, why)
            if isinstance(value, (list, tuple)) and any(
                    isinstance(v, (core.Exercise, core.Mistake)) for v in value):
                secret.setdefault(name, "a list of exercises or mistakes")
    return secret


class _Stmt:
    def __init__(self, node: ast.stmt):
        self.node = node
        self.defines = _bound_names(node)
        self.uses = _used_names(node)
        self.is_import = isinstance(node, (ast.Import, ast.ImportFrom))


def _bound_names(node: ast.stmt) -> set[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def _used_names(node: ast.stmt) -> set[str]:
    loads = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        local = {a.arg for a in ast.walk(node.args) if isinstance(a, ast.arg)}
        local |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        globals_ = {name for n in ast.walk(node) if isinstance(n, (ast.Global, ast.Nonlocal))
                    for name in n.names}
        loads -= local - globals_
    return loads


def release_module(module: ModuleType, *, with_compare: bool = True) -> tuple[str, dict]:
    """(source, data) of the student release of a chapter check module.

    `with_compare=False` keeps only what the exercises' `call` functions need: enough for the
    grading sandbox (which only calls the student's functions; judging happens in the grader),
    not for a student's instant feedback (its checks then say that they are unavailable)."""
    path = Path(module.__file__)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    body = list(tree.body)
    future = [s for s in body if isinstance(s, ast.ImportFrom) and s.module == "__future__"]
    body = [s for s in body if s not in future and not (
        isinstance(s, ast.Expr) and isinstance(getattr(s, "value", None), ast.Constant)
        and isinstance(s.value.value, str))]
    stmts = [_Stmt(s) for s in body]
    exercises = list(getattr(module, "EXERCISES", []))
    functions, roots = {}, set()
    for ex in exercises:
        call = _function_name(module, ex.call, "call", ex.name)
        compare = (_function_name(module, ex.compare, "compare", ex.name) if with_compare
                   else "_core.unavailable_compare")
        functions[ex.name] = (compare, call)
        roots |= {n for n in (call, compare) if not n.startswith("_core.")}
    secret = _secret_names(module)
    keep, tabled = _closure(stmts, roots, secret, module.__name__)
    parts = [f'"""Checks for {module.__name__.rsplit(".", 1)[-1]}: the student release, made by '
             "course-release.\n\nThe reference implementations, the known mistakes' implementations and "
             "the hidden cases are\nnot part of this release: `"
             f'{path.stem}.json` holds the visible cases with the expected outputs\n'
             'and the mistakes\' outputs, computed when the release was made.\n"""']
    parts += [ast.unparse(s) for s in future]
    parts.append("import json as _json\nimport pathlib as _pathlib\n\n"
                 "from course_lib.checks import core as _core\n\n"
                 "_DATA = _json.loads(_pathlib.Path(__file__).with_suffix('.json').read_text(encoding='utf-8'))")
    for s in stmts:
        if s in keep:
            parts.append(ast.unparse(s.node))
        elif s.defines & tabled:
            name = s.node.name
            parts.append(f"def {name}(case):\n    {ast.get_docstring(s.node) and repr(ast.get_docstring(s.node).splitlines()[0]) or ''}\n"
                         f"    return _core.case_value(_DATA['case_values'], {name!r}, case)")
    table = ", ".join(f"{name!r}: ({compare}, {call})" for name, (compare, call) in functions.items())
    parts.append(f"_FUNCTIONS = {{{table}}}\n"
                 "EXERCISES = [_core.released_exercise(d, *_FUNCTIONS[d['name']]) for d in _DATA['exercises']]")
    source = "\n\n\n".join(parts) + "\n"
    compile(source, str(path), "exec")
    data = {"format": DATA_FORMAT, "exercises": [core.release_answers(ex) for ex in exercises],
            "case_values": {name: core.case_values(getattr(module, name), exercises) for name in sorted(tabled)}}
    return source, data


def _is_case_function(s: _Stmt) -> bool:
    """A top-level `def f(case)`: its value is fixed by the case alone."""
    node = s.node
    if not isinstance(node, ast.FunctionDef):
        return False
    a = node.args
    return (len(a.args) == 1 and a.args[0].arg == "case" and not a.posonlyargs and not a.kwonlyargs
            and not a.vararg and not a.kwarg)


def _closure(stmts: list[_Stmt], roots: set[str], secret: dict[str, str],
             module: str) -> tuple[set[_Stmt], set[str]]:
    """The statements that define the names needed, transitively, and the case functions to table.

    A function of the case alone (`def f(case)`) that needs a reference is not kept: the release
    stores its value on each visible case instead (see `release_module`)."""
    definer: dict[str, list[_Stmt]] = {}
    for s in stmts:
        for name in s.defines:
            definer.setdefault(name, []).append(s)

    def reaches_secret(start: _Stmt) -> bool:
        seen, todo = {start}, [start]
        while todo:
            s = todo.pop()
            if not s.is_import and s.defines & secret.keys():
                return True
            for used in s.uses:
                for t in definer.get(used, []):
                    if t not in seen:
                        seen.add(t)
                        todo.append(t)
        return False

    keep: set[_Stmt] = set()
    tabled: set[str] = set()
    why: dict[str, str] = {name: "" for name in roots}
    todo = list(roots)
    while todo:
        name = todo.pop()
        for s in definer.get(name, []):
            if s in keep:
                continue
            if _is_case_function(s) and not s.defines & secret.keys() and reaches_secret(s):
                tabled |= s.defines
                continue
            if not s.is_import:
                bad = sorted(n for n in s.defines if n in secret)
                if bad:
                    chain = why.get(name) or name
                    raise ReleaseError(
                        f"{module}: {chain} uses {bad[0]}, {secret[bad[0]]}, which the student "
                        "release must not contain; compute what the check needs without it (a "
                        "helper that takes only the case, `def f(case)`, may use it: the release "
                        "stores its value on each visible case)")
            keep.add(s)
            for used in s.uses:
                if used not in why:
                    why[used] = f"{why.get(name) or name} -> {used}"
                    todo.append(used)
    return keep, tabled


# ---------------------------------------------------------------------------------------------
# the library and the bundle


def _ignore(directory: str, names: list[str]) -> set[str]:
    """Not copied: the grader, byte code, and the chapter check modules (written cut down)."""
    ignored = {n for n in names if n == "__pycache__" or n.endswith((".pyc", ".pyo"))}
    if Path(directory).resolve() == PACKAGE:
        ignored.add("grading")
    if Path(directory).resolve() == PACKAGE / "checks":
        ignored |= {n for n in names if re.match(r"^ch\d\d_\w+\.(py|json)$", n)}
    return ignored


def release_library(dest: Path, *, compile_bytecode: bool = True,
                    problems: list[str] | None = None) -> Path:
    """Write dest/course_lib, the student release of the library; return dest/course_lib.

    A chapter module that cannot be released raises ReleaseError, or, given a `problems` list (the
    grading sandbox), is released with its `call` functions only and the problem appended."""
    target = Path(dest) / "course_lib"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(PACKAGE, target, ignore=_ignore)
    checks = target / "checks"
    for name in chapter_modules():
        module = importlib.import_module(f"course_lib.checks.{name}")
        try:
            source, data = release_module(module)
        except ReleaseError as exc:
            if problems is None:
                raise
            problems.append(str(exc))
            source, data = release_module(module, with_compare=False)
        (checks / f"{name}.py").write_text(source, encoding="utf-8")
        (checks / f"{name}.json").write_text(dumps(data) + "\n", encoding="utf-8")
    if compile_bytecode:  # the sandbox cannot write __pycache__: compile once here
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compileall.compile_dir(str(target), quiet=2, workers=1)
    _readable(Path(dest))
    return target


def _readable(root: Path) -> None:
    """World-readable (the sandboxed kernel may run as another, unprivileged, user)."""
    for folder, dirs, files in os.walk(root):
        os.chmod(folder, 0o755)
        for f in files:
            p = os.path.join(folder, f)
            os.chmod(p, stat.S_IMODE(os.lstat(p).st_mode) | 0o444)


STUDENT_PYPROJECT = '''[build-system]
requires = ["setuptools>=68", "wheel"]
build-backend = "setuptools.build_meta"

[project]
name = "course_lib"
version = "{version}"
description = "Optimization for training neural networks: the course library (student release)"
requires-python = "{python}"
dependencies = {dependencies}

[tool.setuptools.packages.find]
include = ["course_lib*"]

[tool.setuptools.package-data]
"course_lib.checks" = ["*.json"]
'''


def _student_pyproject() -> str:
    import tomllib
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    deps = [d for d in meta.get("dependencies", []) if not d.startswith(("jupyter_client",))]
    return STUDENT_PYPROJECT.format(version=meta.get("version", "0"), python=meta.get("requires-python", ">=3.10"),
                                    dependencies=json.dumps(deps, indent=4).replace("\n]", ",\n]"))


def course_release(outdir: Path, *, solutions: Path | None = None, notebooks: Path | None = None,
                   log=print) -> list[Path]:
    """Write the student bundle into `outdir` (which must be empty or not exist); return its files."""
    from course_lib.grading import assignments
    outdir = Path(outdir)
    if outdir.exists() and any(outdir.iterdir()):
        raise ReleaseError(f"{outdir} is not empty: course-release writes a fresh bundle")
    solutions = Path(solutions or assignments.SOLUTIONS)
    notebooks = Path(notebooks or ROOT / "notebooks")
    tmp = Path(tempfile.mkdtemp(prefix="course-release-", dir=outdir.parent if outdir.parent.exists() else None))
    try:
        (tmp / "exercises").mkdir()
        for src in assignments.solution_paths(solutions):
            (tmp / "exercises" / src.name).write_bytes(assignments.exercise_bytes(src))
        if notebooks.is_dir():
            shutil.copytree(notebooks, tmp / "notebooks",
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        release_library(tmp, compile_bytecode=False)
        (tmp / "pyproject.toml").write_text(_student_pyproject(), encoding="utf-8")
        if (ROOT / "constraints.txt").exists():
            shutil.copy(ROOT / "constraints.txt", tmp / "constraints.txt")
        _forbid_answers(tmp, solutions)
        outdir.mkdir(parents=True, exist_ok=True)
        for entry in sorted(tmp.iterdir()):
            entry.rename(outdir / entry.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    files = sorted(p for p in outdir.rglob("*") if p.is_file())
    log(f"wrote the student release to {outdir}: {len(list((outdir / 'exercises').glob('*.ipynb')))} "
        f"exercise notebook(s), the course library without references ({len(files)} files)")
    return files


def _forbid_answers(bundle: Path, solutions: Path) -> None:
    """A last look: no solution notebook and no reference function name in the bundle."""
    from course_lib.checks import registry
    names = [n for ex in registry().values() for n in
             [getattr(ex.reference, "__name__", "")] + [getattr(m.func, "__name__", "") for m in ex.mistakes]
             if n and n != "<lambda>"]
    for p in bundle.rglob("*"):
        if p.suffix in (".py", ".json") and p.is_file():
            text = p.read_text(encoding="utf-8")
            found = [n for n in names if f"def {n}(" in text]
            if found:
                raise ReleaseError(f"{p.relative_to(bundle)} defines {found[0]}: not releasing")
    if (bundle / "solutions").exists() or (bundle / "course_lib" / "grading").exists():
        raise ReleaseError("the bundle holds solutions/ or course_lib/grading: not releasing")
