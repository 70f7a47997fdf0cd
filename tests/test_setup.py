"""The pip path's switches, read from the commands make would run (make -n: nothing is installed)."""
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def make_n(*args):
    # -W pyproject.toml: pretend it changed, so make prints the install recipe even with .venv present
    return subprocess.run(["make", "-n", "-W", "pyproject.toml", "venv", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def install_line(out: str) -> str:
    (line,) = [ln for ln in out.splitlines() if "pip install" in ln]
    return line


def test_torch_cpu_adds_pytorchs_cpu_index_as_an_extra_index():
    line = install_line(make_n("TORCH=cpu").stdout)
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in line
    assert "-c constraints.txt -e '.[dev]'" in line


def test_default_install_uses_only_the_configured_index():
    line = install_line(make_n().stdout)
    assert "download.pytorch.org" not in line and "--extra-index-url" not in line
    assert "-c constraints.txt -e '.[dev]'" in line


def test_an_unknown_torch_flavour_is_refused_in_words():
    proc = make_n("TORCH=cuda")
    assert proc.returncode != 0 and "TORCH must be empty or cpu, got 'cuda'" in proc.stderr


def test_constraints_pin_torch_without_a_local_label():
    """`torch==2.13.0` accepts 2.13.0+cpu from the CPU index (PEP 440 ignores local labels)."""
    pins = [ln for ln in (ROOT / "constraints.txt").read_text().splitlines() if ln.startswith("torch==")]
    assert pins == ["torch==2.13.0"]


def _readme_block(language: str) -> str:
    text = (ROOT / "README.md").read_text()
    setting_up = text.split("## Setting up on your own machine", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(rf"```{language}\n(.*?)```", setting_up, flags=re.S)
    # the block that creates the environment (bash also has the TORCH=cpu one-liner)
    (block,) = [b for b in blocks if "-m venv .venv" in b]
    return block


def _makefile_value(name: str) -> str:
    (line,) = [ln for ln in (ROOT / "Makefile").read_text().splitlines() if ln.startswith(f"{name} :=")]
    return line.split(":=", 1)[1].strip()


@pytest.mark.parametrize("language, bin_dir", [("powershell", ".venv\\Scripts\\"), ("bash", ".venv/bin/")])
def test_readme_commands_without_make_match_the_makefile(language, bin_dir):
    """The plain commands for Windows and a Unix shell do what `make lab` does (same install, same
    offline flags, same start page), so they cannot drift apart."""
    block = _readme_block(language)
    assert re.search(r"-m pip install -c constraints\.txt -e [\"']\.\[dev\][\"']", block)
    assert f"{bin_dir}jupyter labextension disable --level=sys_prefix " \
           "@jupyterlab/apputils-extension:announcements" in block
    lab = [ln for ln in block.splitlines() if ln.startswith(f"{bin_dir}jupyter lab ")]
    assert len(lab) == 1
    assert _makefile_value("OFFLINE_FLAGS") in lab[0]
    assert "--LabApp.default_url=/lab/tree/notebooks" in lab[0]
    makefile = (ROOT / "Makefile").read_text()
    assert "--LabApp.default_url=/lab/tree/notebooks" in makefile
    assert "apputils-extension:announcements" in makefile
    assert block.splitlines()[0].endswith("3.11 -m venv .venv")


def test_readme_promises_only_the_tested_python():
    text = (ROOT / "README.md").read_text()
    assert "3.10+" not in text and "tested on Python 3.11" in text
