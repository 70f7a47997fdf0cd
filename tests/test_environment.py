"""The pip path (pyproject.toml + constraints.txt) and the conda path (environment.yml) must
describe the same dependencies: a package in one and not in the other fails here."""
import pathlib
import re
import tomllib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]

# conda-forge names that differ from the PyPI names
CONDA_TO_PIP = {"pytorch-cpu": "torch", "pytorch": "torch", "playwright-python": "playwright"}
CONDA_ONLY = {"python", "pip", "pip:"}


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~\[;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def pyproject_deps():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    deps = list(data["project"]["dependencies"])
    for extra in data["project"].get("optional-dependencies", {}).values():
        deps += extra
    return {_name(d) for d in deps}


def conda_deps():
    """Parse environment.yml's dependency list (a tiny YAML subset: '  - name spec' lines)."""
    names = set()  # the "- pip:" sub-list installs course_lib itself and is skipped
    in_deps = False
    for line in (ROOT / "environment.yml").read_text().splitlines():
        if line.startswith("dependencies:"):
            in_deps = True
            continue
        if in_deps and re.match(r"^  - [A-Za-z]", line):
            name = _name(line[4:])
            if name not in CONDA_ONLY:
                names.add(CONDA_TO_PIP.get(name, name))
    return names


def test_environment_yml_matches_pyproject():
    pip, conda = pyproject_deps(), conda_deps()
    assert pip, "no dependencies parsed from pyproject.toml"
    assert conda, "no dependencies parsed from environment.yml"
    assert pip - conda == set(), f"in pyproject.toml but not environment.yml: {sorted(pip - conda)}"
    assert conda - pip == set(), f"in environment.yml but not pyproject.toml: {sorted(conda - pip)}"


def test_torch_is_pinned_to_the_cpu_build_version():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "torch==2.13.0" in data["project"]["dependencies"]
    constraints = (ROOT / "constraints.txt").read_text().splitlines()
    assert "torch==2.13.0" in constraints
    assert re.search(r"^\s*-\s*pytorch-cpu=2\.13\.0\s*$", (ROOT / "environment.yml").read_text(), re.M)


def test_every_direct_dependency_is_pinned_in_constraints():
    pinned = {_name(l) for l in (ROOT / "constraints.txt").read_text().splitlines()
              if l and not l.startswith("#")}
    missing = pyproject_deps() - pinned
    assert not missing, f"not pinned in constraints.txt: {sorted(missing)}"


@pytest.mark.parametrize("text, expected", [("numpy>=1.26", "numpy"), ("torch==2.13.0", "torch"),
                                            ("jupyterlab_server==2.28.1", "jupyterlab-server")])
def test_name_parser(text, expected):
    assert _name(text) == expected


def test_committed_notebooks_have_no_execution_timestamps():
    """Notebooks are executed with record_timing=False (make execute): per-cell timestamps would
    change on every run and bury the real changes in the diff."""
    import json

    stamped = [f"{p.relative_to(ROOT)} cell {i}"
               for folder in ("notebooks", "solutions", "exercises")
               for p in sorted((ROOT / folder).glob("*.ipynb"))
               for i, cell in enumerate(json.loads(p.read_text())["cells"])
               if "execution" in cell.get("metadata", {})]
    assert not stamped, "re-execute with `make execute NB=...`: " + ", ".join(stamped[:5])
