"""One-line checks for the exercise notebooks.

    from course_lib import check
    check.mse_gradient(mse_gradient)   # prints "✓ mse_gradient: all 7 cases passed"
                                       # or raises CheckFailed naming the case, expected vs got,
                                       # the relative error and a hint for common mistakes

`check.cases("mse_gradient")` returns the inputs a check uses, to reproduce a failing case:

    case = check.cases("mse_gradient")[2]
    mse_gradient(*case.args.values())

One function per exercise of every chapter (see course_lib/checks/chNN_*.py).
"""
from __future__ import annotations

from course_lib.checks import CheckFailed, get, registry, run_check
from course_lib.checks.core import Case

__all__ = ["CheckFailed", "cases"]


def _make_check(name: str):
    ex = get(name)

    def check_function(*objs):
        verdict = run_check(ex, *objs)
        if verdict.passed:
            print(verdict.message)
            return None
        raise CheckFailed(verdict.message) from None

    check_function.__name__ = check_function.__qualname__ = name
    check_function.__doc__ = (f"Check {', '.join(ex.expects)} on {len(ex.cases())} seeded cases "
                              f"({ex.chapter}, {ex.points} points). Prints ✓ or raises CheckFailed.")
    return check_function


def cases(name: str) -> list[Case]:
    """The cases check.<name> runs: a list of Case(name, args); call f(*case.args.values())."""
    return get(name).cases()


for _name in registry():
    globals()[_name] = _make_check(_name)
    __all__.append(_name)
del _name


def __getattr__(name: str):
    from course_lib.checks import BROKEN
    broken = "".join(f"; course_lib/checks/{m}.py failed to import ({e})" for m, e in BROKEN.items())
    raise AttributeError(f"there is no check called {name!r}; the checks are: "
                         f"{', '.join(registry())}{broken}")
