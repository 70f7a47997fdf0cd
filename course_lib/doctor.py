"""``python -m course_lib.doctor`` (or ``course-doctor``): what breaks a student's first hour, checked.

Each check prints one line, ``OK`` or ``FIX`` followed by what to do, and the command exits with
status 1 when something needs fixing::

    $ .venv/bin/python -m course_lib.doctor
    OK   Python 3.11.7 (tested: 3.11)
    OK   packages: 14 pinned packages at their versions (constraints.txt)
    OK   torch 2.13.0+cpu imports (CPU build)
    ...

The checks are plain functions returning a :class:`Finding`; each looks at one thing and never
changes the environment, so a student can run the doctor as often as they like.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.metadata as metadata
import json
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

__all__ = ["Finding", "CHECKS", "diagnose", "main"]

ROOT = Path(__file__).resolve().parents[1]
TESTED_PYTHON = (3, 11)
MIN_PYTHON = (3, 10)
#: below this much available memory the larger notebooks (chapter 07, 10) may be killed
MIN_FREE_MB = 1024
WIDGETS_EXTENSION = "@jupyter-widgets/jupyterlab-manager"
VENV_HINT = ("create the course environment with `make venv` (or: python -m venv .venv, then "
             ".venv/bin/python -m pip install -c constraints.txt -e \".[dev]\"; on Windows "
             ".venv\\Scripts\\python ...)")


@dataclass(frozen=True)
class Finding:
    """The result of one check: ``ok``, a one-line ``what`` and, when not ok, the ``fix``."""
    name: str
    ok: bool
    what: str
    fix: str = ""

    def line(self) -> str:
        if self.ok:
            return f"OK   {self.what}"
        return f"FIX  {self.what}\n     -> {self.fix}"


# ----------------------------------------------------------------------------------------------
# the checks
# ----------------------------------------------------------------------------------------------
def check_python(version=None) -> Finding:
    v = tuple(sys.version_info[:3] if version is None else version)
    shown = ".".join(str(x) for x in v)
    tested = ".".join(str(x) for x in TESTED_PYTHON)
    if v[:2] < MIN_PYTHON:
        return Finding("python", False, f"Python {shown} is too old for the course",
                       f"install Python {tested} (python.org or your package manager) and recreate .venv "
                       "with it: `make clean-venv && make venv PYTHON=python3.11`")
    if v[:2] != TESTED_PYTHON:
        return Finding("python", True, f"Python {shown} (the course is tested on {tested}; "
                                       "if something fails, try that version first)")
    return Finding("python", True, f"Python {shown} (tested: {tested})")


def _pins(path: Path) -> dict[str, str]:
    """name -> version from a constraints file (``name==version`` lines)."""
    pins = {}
    for line in path.read_text().splitlines():
        m = re.match(r"^\s*([A-Za-z0-9_.\-]+)==([^\s;#]+)", line)
        if m:
            pins[m.group(1).lower().replace("_", "-")] = m.group(2)
    return pins


def _direct_dependencies() -> list[tuple[str, bool]]:
    """The course's own requirements from pyproject.toml: (name, needed) pairs; the ``dev`` extra
    (pytest, nbval, ...) is not needed by a student, only compared when installed."""
    try:
        requires = metadata.requires("course_lib") or []
    except metadata.PackageNotFoundError:
        return []
    deps = {}
    for req in requires:
        name = re.split(r"[\s<>=!~\[;(]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")
        deps[name] = deps.get(name, False) or "extra ==" not in req
    return sorted(deps.items())


def check_packages(constraints: Path | None = None, installed: Callable[[str], str] | None = None) -> Finding:
    constraints = ROOT / "constraints.txt" if constraints is None else constraints
    installed = installed or metadata.version
    deps = _direct_dependencies()
    if not deps:
        return Finding("packages", False, "course_lib is not installed in this Python", VENV_HINT)
    pins = _pins(constraints) if constraints.exists() else {}
    missing, wrong = [], []
    for name, needed in deps:
        try:
            have = installed(name)
        except metadata.PackageNotFoundError:
            if needed:
                missing.append(name)
            continue
        want = pins.get(name)
        # PEP 440: a pin without a local label (2.13.0) accepts a local build (2.13.0+cpu)
        if want is not None and have.split("+")[0] != want.split("+")[0]:
            wrong.append(f"{name} {have} (pinned {want})")
    if missing or wrong:
        parts = ([f"missing: {', '.join(missing)}"] if missing else []) + (
            [f"other versions: {', '.join(wrong)}"] if wrong else [])
        return Finding("packages", False, "packages: " + "; ".join(parts),
                       "reinstall the pinned versions: .venv/bin/python -m pip install -c constraints.txt "
                       "-e \".[dev]\" (make venv does this)")
    where = "constraints.txt" if pins else "no constraints.txt found: versions not compared"
    return Finding("packages", True, f"packages: the {sum(n for _, n in deps)} course requirements are "
                                     f"installed ({where})")


def check_torch(import_module: Callable = importlib.import_module) -> Finding:
    try:
        torch = import_module("torch")
    except Exception as exc:  # a broken wheel raises OSError / ImportError with a DLL message
        return Finding("torch", False, f"torch does not import ({type(exc).__name__}: {exc})",
                       "reinstall it: .venv/bin/python -m pip install --force-reinstall -c constraints.txt "
                       "torch (on a Linux laptop without an NVIDIA GPU add --extra-index-url "
                       "https://download.pytorch.org/whl/cpu, or run `make venv TORCH=cpu`)")
    version = getattr(torch, "__version__", "?")
    cuda = getattr(getattr(torch, "version", None), "cuda", None)
    if cuda:
        return Finding("torch", True, f"torch {version} imports (CUDA {cuda} build: several GB; the "
                                      "course needs only the CPU: `make venv TORCH=cpu` saves the space)")
    return Finding("torch", True, f"torch {version} imports (CPU build)")


def check_kernel(find_spec: Callable[[str], dict] | None = None, python: str | None = None) -> Finding:
    python = python or sys.executable
    if find_spec is None:
        def find_spec(name):
            from jupyter_client.kernelspec import KernelSpecManager
            spec = KernelSpecManager().get_kernel_spec(name)
            return {"argv": spec.argv, "resource_dir": spec.resource_dir}
    try:
        spec = find_spec("python3")
    except Exception as exc:
        return Finding("kernel", False, f"no 'python3' Jupyter kernel ({type(exc).__name__})",
                       f"register this environment's kernel: {python} -m ipykernel install --sys-prefix "
                       "--name python3")
    exe = spec["argv"][0] if spec.get("argv") else ""
    # jupyter_client replaces a bare "python" by the Python that runs JupyterLab
    same = exe in ("python", "python3", f"python{sys.version_info[0]}.{sys.version_info[1]}") \
        or _same_file(exe, python)
    if not same:
        where = spec.get("resource_dir", "?")
        return Finding("kernel", False, f"the 'python3' kernel ({where}) runs {exe}, not this "
                                        f"environment's Python ({python}): notebooks would not find course_lib",
                       f"remove that kernel (jupyter kernelspec remove python3, or delete {where}), then "
                       f"register this environment's: {python} -m ipykernel install --sys-prefix --name python3")
    return Finding("kernel", True, "the 'python3' Jupyter kernel runs this environment")


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def check_widgets(extension_dirs: list[Path] | None = None, page_config: dict | None = None) -> Finding:
    """The ipywidgets front end: the prebuilt JupyterLab extension present and not disabled."""
    fix = ("install the widgets front end into this environment: .venv/bin/python -m pip install "
           "-c constraints.txt ipywidgets jupyterlab_widgets, then restart JupyterLab")
    if extension_dirs is None:
        try:
            from jupyter_core.paths import jupyter_path
            extension_dirs = [Path(p) for p in jupyter_path("labextensions")]
        except Exception:
            extension_dirs = [Path(sys.prefix) / "share" / "jupyter" / "labextensions"]
    found = [d for d in extension_dirs if (d / WIDGETS_EXTENSION / "package.json").exists()]
    if not found:
        return Finding("widgets", False, "the ipywidgets JupyterLab extension is missing: sliders would "
                                         "show as 'Loading widget...' text", fix)
    if page_config is None:
        page_config = _lab_page_config()
    disabled = page_config.get("disabledExtensions", {})
    if disabled.get(WIDGETS_EXTENSION) is True:
        return Finding("widgets", False, "the ipywidgets JupyterLab extension is disabled",
                       f".venv/bin/jupyter labextension enable {WIDGETS_EXTENSION}")
    return Finding("widgets", True, "the ipywidgets JupyterLab extension is installed and enabled")


def _lab_page_config() -> dict:
    """Merged labconfig/page_config.json of this environment (where `labextension disable` writes)."""
    merged: dict = {}
    try:
        from jupyter_core.paths import jupyter_config_path
        dirs = jupyter_config_path()
    except Exception:
        dirs = [str(Path(sys.prefix) / "etc" / "jupyter")]
    for d in reversed(dirs):
        path = Path(d) / "labconfig" / "page_config.json"
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        for key, value in data.items():
            if isinstance(value, dict):
                merged.setdefault(key, {}).update(value)
            else:
                merged[key] = value
    return merged


def check_exercises_writable(folder: Path | None = None) -> Finding:
    folder = ROOT / "exercises" if folder is None else folder
    if not folder.is_dir():
        return Finding("exercises", False, f"no exercises folder at {folder}",
                       "run the doctor from the course folder (git clone of the course), where "
                       "exercises/ lives")
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-", delete=True):
            pass
    except OSError as exc:
        return Finding("exercises", False, f"exercises/ is not writable ({exc.strerror}): your answers "
                                           "could not be saved",
                       f"make it yours: chmod -R u+w {folder} (or copy the course to your home folder)")
    return Finding("exercises", True, "exercises/ is writable: your answers can be saved")


def check_matplotlib(environ=None, import_module: Callable = importlib.import_module) -> Finding:
    environ = os.environ if environ is None else environ
    try:
        import_module("matplotlib_inline.backend_inline")
    except Exception as exc:
        return Finding("matplotlib", False, f"matplotlib's inline backend does not import ({exc})",
                       ".venv/bin/python -m pip install -c constraints.txt matplotlib matplotlib-inline")
    backend = environ.get("MPLBACKEND", "")
    if backend and "inline" not in backend.lower():
        return Finding("matplotlib", False, f"MPLBACKEND={backend} is set: notebooks would show no figures",
                       "unset MPLBACKEND before starting JupyterLab (e.g. `unset MPLBACKEND`; on Windows "
                       "`Remove-Item Env:MPLBACKEND`)")
    return Finding("matplotlib", True, "matplotlib draws inline in notebooks")


def check_memory(available_mb: Callable[[], float] | None = None) -> Finding:
    if available_mb is None:
        try:
            import psutil
        except ImportError:
            return Finding("memory", False, "cannot measure free memory: psutil is not installed",
                           ".venv/bin/python -m pip install -c constraints.txt psutil")

        def available_mb():
            return psutil.virtual_memory().available / 2**20
    mb = float(available_mb())
    if mb < MIN_FREE_MB:
        return Finding("memory", False, f"only {mb:.0f} MB of memory available (the course wants "
                                        f"{MIN_FREE_MB} MB)",
                       "close other programs (browsers with many tabs), then restart the kernel")
    return Finding("memory", True, f"{mb / 1024:.1f} GB of memory available")


CHECKS: list[Callable[[], Finding]] = [check_python, check_packages, check_torch, check_kernel,
                                       check_widgets, check_exercises_writable, check_matplotlib,
                                       check_memory]


def diagnose(checks=None) -> list[Finding]:
    """Run every check; a check that crashes is itself a finding (never a traceback)."""
    findings = []
    for check in CHECKS if checks is None else checks:
        try:
            findings.append(check())
        except Exception as exc:
            name = check.__name__.removeprefix("check_")
            findings.append(Finding(name, False, f"the {name} check itself failed: {type(exc).__name__}: {exc}",
                                    "report this to your instructor with the line above"))
    return findings


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="course-doctor", description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    findings = diagnose()
    for f in findings:
        print(f.line())
    bad = [f for f in findings if not f.ok]
    print()
    print(f"{len(bad)} thing(s) to fix." if bad else "Everything the course needs is in place.")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
