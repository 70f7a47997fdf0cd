"""The static site: built with `make site` into a folder, served on loopback for the browser."""
from __future__ import annotations

import functools
import http.server
import pathlib
import subprocess
import threading

from . import ROOT
from .lab import STAMP, free_port, make_env


def build(out: pathlib.Path) -> pathlib.Path:
    """Run `make site SITE_DIR=out` (the venv is not reinstalled) and return the HTML folder."""
    proc = subprocess.run(["make", "-s", "-o", str(STAMP.relative_to(ROOT)), "site", f"SITE_DIR={out}"],
                          cwd=ROOT, capture_output=True, text=True, env=make_env())
    if proc.returncode:
        raise RuntimeError(f"make site failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return out / "html"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class Served:
    """``with Served(html_dir) as site:`` -> ``site.url("index.html")`` on 127.0.0.1."""

    def __init__(self, folder):
        self.folder = folder
        self.port = free_port()
        handler = functools.partial(_Quiet, directory=str(folder))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "index.html") -> str:
        return f"{self.origin}/{path.lstrip('/')}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        return False
