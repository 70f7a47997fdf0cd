"""Exercise checks: the registry of every chapter's checked exercises.

Each chapter has a module `course_lib/checks/chNN_<topic>.py` defining `EXERCISES`, a list of
`Exercise` objects (see `core.Exercise`); modules named like that are found automatically.
Students use them through `course_lib.check` (`check.mse_gradient(mse_gradient)`); the grader
through `get(name)`, `collect` and `judge`.
"""
from __future__ import annotations

import importlib
import pkgutil
import re

from .core import (CheckFailed, Case, Exercise, Mismatch, Mistake, Verdict, collect,
                   compare_arrays, compare_scalars, judge, run_check, with_chapter)
from .status import Status

__all__ = ["CheckFailed", "Case", "Exercise", "Mismatch", "Mistake", "Status", "Verdict", "collect",
           "compare_arrays", "compare_scalars", "judge", "run_check", "registry", "get",
           "module_of", "chapter_modules", "BROKEN"]

_CHAPTER_MODULE = re.compile(r"^ch\d\d_\w+$")
_REGISTRY: dict[str, Exercise] | None = None
_MODULE_OF: dict[str, str] = {}
#: chapter modules that failed to import, with the error (one broken chapter must not break the others)
BROKEN: dict[str, str] = {}


def chapter_modules() -> list[str]:
    """Names of the chapter modules (course_lib.checks.chNN_*), sorted."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if _CHAPTER_MODULE.match(m.name))


def registry() -> dict[str, Exercise]:
    """{name: Exercise} over all chapters, in chapter order. Duplicate names are an error."""
    global _REGISTRY
    if _REGISTRY is None:
        reg: dict[str, Exercise] = {}
        for mod_name in chapter_modules():
            try:
                module = importlib.import_module(f"{__name__}.{mod_name}")
            except Exception as exc:  # reported by get() and by tests/test_checks.py
                BROKEN[mod_name] = f"{type(exc).__name__}: {exc}"
                continue
            for ex in getattr(module, "EXERCISES", []):
                if ex.name in reg:
                    raise RuntimeError(f"exercise {ex.name!r} is defined twice "
                                       f"({_MODULE_OF[ex.name]} and {mod_name})")
                reg[ex.name] = with_chapter(ex, mod_name)
                _MODULE_OF[ex.name] = mod_name
        _REGISTRY = reg
    return _REGISTRY


def get(name: str) -> Exercise:
    reg = registry()
    if name not in reg:
        broken = "".join(f"; course_lib/checks/{m}.py failed to import ({e})" for m, e in BROKEN.items())
        raise KeyError(f"no check called {name!r}; known checks: {', '.join(reg)}{broken}")
    return reg[name]


def module_of(name: str) -> str:
    """The chapter module that defines exercise `name`, e.g. "ch02_gradient_descent"."""
    get(name)
    return _MODULE_OF[name]
