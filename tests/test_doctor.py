"""course_lib.doctor: healthy here, and each item broken on purpose gives its FIX line and exit 1."""
import importlib.metadata as metadata
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from course_lib import doctor
from course_lib.doctor import (Finding, check_exercises_writable, check_kernel, check_matplotlib,
                               check_memory, check_packages, check_python, check_torch, check_widgets)

ROOT = Path(__file__).resolve().parents[1]


def test_healthy_environment_passes_every_check():
    proc = subprocess.run([sys.executable, "-m", "course_lib.doctor"], capture_output=True, text=True,
                          cwd=ROOT, timeout=120, env={k: v for k, v in os.environ.items() if k != "MPLBACKEND"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len([line for line in lines if line.startswith("OK ")]) == len(doctor.CHECKS)
    assert lines[-1] == "Everything the course needs is in place."


def test_a_broken_environment_exits_1_and_says_what_to_do():
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, "-m", "course_lib.doctor"], capture_output=True, text=True,
                          cwd=ROOT, timeout=120, env=env)
    assert proc.returncode == 1
    assert "FIX  MPLBACKEND=Agg is set: notebooks would show no figures" in proc.stdout
    assert "-> unset MPLBACKEND" in proc.stdout
    assert proc.stdout.strip().endswith("1 thing(s) to fix.")


@pytest.mark.parametrize("version, ok, words", [
    ((3, 11, 7), True, "tested: 3.11"),
    ((3, 12, 1), True, "tested on 3.11"),
    ((3, 9, 18), False, "too old"),
])
def test_python_version(version, ok, words):
    f = check_python(version)
    assert f.ok is ok and words in f.what
    if not ok:
        assert "install Python 3.11" in f.fix


def test_packages_missing_or_at_other_versions(tmp_path):
    pins = tmp_path / "constraints.txt"
    pins.write_text("numpy==1.0.0\ntorch==2.13.0\n")

    def installed(name):
        if name == "scipy":
            raise metadata.PackageNotFoundError(name)
        if name == "pytest":                      # dev extra: not needed by a student
            raise metadata.PackageNotFoundError(name)
        if name == "torch":
            return "2.13.0+cpu"                   # a local build satisfies the public pin
        return metadata.version(name)

    f = check_packages(pins, installed)
    assert not f.ok
    assert "missing: scipy" in f.what and "pytest" not in f.what
    assert f"numpy {metadata.version('numpy')} (pinned 1.0.0)" in f.what and "torch" not in f.what
    assert "pip install -c constraints.txt" in f.fix
    assert check_packages(ROOT / "constraints.txt").ok


def test_torch_missing_cuda_and_cpu_builds():
    def broken(name):
        raise OSError("libtorch_cpu.so: cannot open shared object file")
    f = check_torch(broken)
    assert not f.ok and "torch does not import (OSError" in f.what and "download.pytorch.org/whl/cpu" in f.fix

    class Fake:
        __version__ = "2.13.0"

        class version:
            cuda = "12.8"
    f = check_torch(lambda name: Fake)
    assert f.ok and "CUDA 12.8 build" in f.what and "TORCH=cpu" in f.what
    assert "CPU build" in check_torch().what


def test_kernel_of_another_python_or_no_kernel(tmp_path):
    other = {"argv": ["/usr/bin/python3.9", "-m", "ipykernel_launcher"], "resource_dir": str(tmp_path)}
    f = check_kernel(lambda name: other)
    assert not f.ok and "runs /usr/bin/python3.9" in f.what
    assert f"{sys.executable} -m ipykernel install --sys-prefix --name python3" in f.fix

    def none(name):
        raise KeyError(name)
    assert "no 'python3' Jupyter kernel" in check_kernel(none).what
    same = {"argv": [sys.executable, "-m", "ipykernel_launcher"], "resource_dir": str(tmp_path)}
    assert check_kernel(lambda name: same).ok
    assert check_kernel().ok


def test_widgets_extension_missing_or_disabled(tmp_path):
    f = check_widgets([tmp_path], {})
    assert not f.ok and "missing" in f.what and "jupyterlab_widgets" in f.fix
    ext = tmp_path / "@jupyter-widgets" / "jupyterlab-manager"
    ext.mkdir(parents=True)
    (ext / "package.json").write_text(json.dumps({"name": "@jupyter-widgets/jupyterlab-manager"}))
    assert check_widgets([tmp_path], {}).ok
    f = check_widgets([tmp_path], {"disabledExtensions": {"@jupyter-widgets/jupyterlab-manager": True}})
    assert not f.ok and "disabled" in f.what and "labextension enable" in f.fix
    assert check_widgets().ok


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into a read-only folder")
def test_exercises_not_writable(tmp_path):
    tmp_path.chmod(0o500)
    try:
        f = check_exercises_writable(tmp_path)
    finally:
        tmp_path.chmod(0o700)
    assert not f.ok and "not writable" in f.what and "chmod" in f.fix


def test_exercises_folder_missing_or_writable(tmp_path):
    f = check_exercises_writable(tmp_path / "nope")
    assert not f.ok and "no exercises folder" in f.what
    assert check_exercises_writable(tmp_path).ok
    assert list(tmp_path.iterdir()) == []          # the probe file is gone again


def test_matplotlib_backend():
    assert not check_matplotlib({"MPLBACKEND": "TkAgg"}).ok
    assert check_matplotlib({"MPLBACKEND": "module://matplotlib_inline.backend_inline"}).ok
    assert check_matplotlib({}).ok

    def no_inline(name):
        raise ImportError("No module named 'matplotlib_inline'")
    f = check_matplotlib({}, no_inline)
    assert not f.ok and "matplotlib-inline" in f.fix


def test_memory():
    f = check_memory(lambda: 300.0)
    assert not f.ok and "only 300 MB" in f.what and "close other programs" in f.fix
    assert check_memory(lambda: 8192.0).what == "8.0 GB of memory available"


def test_memory_without_psutil_says_what_to_install(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "psutil", None)          # import psutil -> ImportError
    f = check_memory()
    assert not f.ok and "psutil is not installed" in f.what and "pip install" in f.fix and "psutil" in f.fix


def test_a_check_that_crashes_is_a_finding_not_a_traceback():
    def boom():
        raise RuntimeError("disk on fire")
    boom.__name__ = "check_disk"
    (f,) = doctor.diagnose([boom])
    assert isinstance(f, Finding) and not f.ok
    assert "the disk check itself failed: RuntimeError: disk on fire" in f.what


def test_exercises_not_writable_as_any_user(tmp_path, monkeypatch):
    """Root writes into read-only folders, so the failure is simulated where the doctor writes."""
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(doctor.tempfile, "NamedTemporaryFile", refuse)
    f = check_exercises_writable(tmp_path)
    assert not f.ok and "not writable (Permission denied)" in f.what and "chmod -R u+w" in f.fix
