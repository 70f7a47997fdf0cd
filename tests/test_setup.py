"""The pip path's switches, read from the commands make would run (make -n: nothing is installed)."""
import subprocess
from pathlib import Path

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
