"""Start JupyterLab exactly as ``make lab`` does (the README's first command).

The server is ``make lab`` itself, so the flags and the offline settings (no news feed, no update
check, ``--allow-root`` as root) are the Makefile's single definition; the only additions go
through its ``LAB_ARGS`` hook: a free loopback port, a token, no browser of its own, and a
throw-away settings/workspaces folder in which autosave is off (the browser runs the committed
notebooks and must never write them back).
"""
from __future__ import annotations

import json
import os
import pathlib
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

from . import ROOT

TOKEN = "course-browser-token"
STAMP = ROOT / ".venv" / ".installed"


def make_env() -> dict:
    """The environment for a nested `make` (none of the outer make's flags or job server)."""
    return {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JupyterLab:
    """``with JupyterLab() as lab:`` -> ``lab.url(path)``, ``lab.api(path, method)``."""

    def __init__(self, startup_timeout: float = 180):
        self.port = free_port()
        self.startup_timeout = startup_timeout
        self.proc = None
        self._tmp = None

    # -- addresses -------------------------------------------------------------------------
    def url(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"http://127.0.0.1:{self.port}{path}{sep}token={TOKEN}"

    def api(self, path: str, method: str = "GET", body=None, timeout: float = 30):
        req = urllib.request.Request(self.url(path), method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            data = r.read()
        return json.loads(data) if data else None

    def shutdown_kernels(self) -> None:
        """Shut down every session's kernel (frees the 2 cores between notebooks)."""
        for session in self.api("/api/sessions") or []:
            try:
                self.api(f"/api/sessions/{session['id']}", method="DELETE")
            except OSError:
                pass

    # -- life cycle ------------------------------------------------------------------------
    def __enter__(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="course-lab-")
        settings = pathlib.Path(self._tmp.name) / "settings"
        plugin = settings / "@jupyterlab" / "docmanager-extension" / "plugin.jupyterlab-settings"
        plugin.parent.mkdir(parents=True)
        plugin.write_text(json.dumps({"autosave": False}))
        workspaces = pathlib.Path(self._tmp.name) / "workspaces"
        workspaces.mkdir()
        args = (f"--no-browser --ip=127.0.0.1 --port={self.port} --ServerApp.port_retries=0 "
                f"--IdentityProvider.token={TOKEN} --LabApp.user_settings_dir={settings} "
                f"--LabApp.workspaces_dir={workspaces}")
        # -o: never reinstall the venv from inside a test; `make lab` is otherwise unchanged
        # the server's log goes to a file: a pipe nobody reads would fill up and stall it
        self.log = pathlib.Path(self._tmp.name) / "lab.log"
        self._log_file = open(self.log, "wb")
        self.proc = subprocess.Popen(
            ["make", "-s", "-o", str(STAMP.relative_to(ROOT)), "lab", f"LAB_ARGS={args}"],
            cwd=ROOT, stdout=self._log_file, stderr=subprocess.STDOUT, start_new_session=True,
            env=make_env())
        deadline = time.monotonic() + self.startup_timeout
        while True:
            try:
                self.api("/api/status", timeout=5)
                return self
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    out = self.log.read_text(errors="replace")
                    self.__exit__(None, None, None)
                    raise RuntimeError(f"make lab did not serve on port {self.port}:\n{out[-3000:]}")
                time.sleep(0.5)

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.shutdown_kernels()
            except OSError:
                pass
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.proc is not None:
            self._log_file.close()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
        return False
