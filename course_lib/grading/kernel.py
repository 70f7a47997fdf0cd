"""The student's kernel: runs inside the sandbox, talks to the grader over two pipes.

    python -I kernel.py --fd-in 3 --fd-out 4 --library DIR [--memory-mb M] [--file-mb F]
                        [--cpu-seconds C] [--max-processes P] [--uid U --gid G]

This file is run by path inside the sandbox (course_lib.grading.sandbox) and imports nothing of the
grader: the sandbox holds the student release of course_lib (no references, no hidden cases) and
this file. It first sets its resource limits and, when started as root, switches to the
unprivileged uid it was given; then it reads one JSON request per line from fd-in and writes one
JSON reply per line to fd-out:

    {"id": 1, "op": "run", "code": "...", "history": true}    -> {"id": 1, "started": true}
                                                                 {"id": 1, "status": "ok"|"error",
                                                                  "ename": "...", "evalue": "..."}
    {"id": 2, "op": "collect", "exercise": "mse_gradient", "objects": ["mse_gradient"],
     "cases": [plain case data]}                              -> started, then {"id": 2, "status": "ok",
                                                                  "data": {outputs as plain data}}
    {"id": 3, "op": "files"}                                   -> {"id": 3, "status": "ok", "files": [...]}

Cells run in an IPython shell (magics work); what they print goes to stdout/stderr, which the
grader reads and counts. The "started" reply tells the grader that this request, not an earlier
one, is running when the kernel dies. Everything the kernel sends is only data the grader judges:
a kernel that lies can only change the outputs of the student's own functions.
"""
from __future__ import annotations

import json
import os
import resource
import signal
import sys

#: directories of the scratch folder that the shell itself writes (not reported as "files written")
SHELL_DIRS = {".ipython", ".cache", ".config", ".local", ".matplotlib", "__pycache__",
              ".ipynb_checkpoints", ".jupyter"}


def _options(argv: list[str]) -> dict:
    opts: dict = {"memory-mb": 0, "file-mb": 64, "cpu-seconds": 0, "max-processes": 0}
    it = iter(argv)
    for arg in it:
        if not arg.startswith("--"):
            raise SystemExit(f"kernel.py: unexpected argument {arg!r}")
        opts[arg[2:]] = next(it)
    for key in ("fd-in", "fd-out", "memory-mb", "file-mb", "cpu-seconds", "max-processes"):
        opts[key] = int(opts[key])
    return opts


def _limit(which: int, value: int) -> None:
    try:
        resource.setrlimit(which, (value, value))
    except (ValueError, OSError):
        soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY and value > hard:
            resource.setrlimit(which, (hard, hard))  # keep the stricter existing limit
        else:
            raise


def confine(opts: dict) -> None:
    """Resource limits, then (when root) the unprivileged uid: before any student code runs."""
    if opts["memory-mb"] > 0:
        _limit(resource.RLIMIT_AS, opts["memory-mb"] * 1024 * 1024)
    if opts["file-mb"] > 0:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-big write raises OSError instead
        _limit(resource.RLIMIT_FSIZE, opts["file-mb"] * 1024 * 1024)
    if opts["cpu-seconds"] > 0:
        _limit(resource.RLIMIT_CPU, opts["cpu-seconds"])
    if opts["max-processes"] > 0:
        _limit(resource.RLIMIT_NPROC, opts["max-processes"])
    _limit(resource.RLIMIT_CORE, 0)
    if "uid" in opts:
        uid, gid = int(opts["uid"]), int(opts["gid"])
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
        if os.getuid() != uid or os.geteuid() != uid:
            raise SystemExit("kernel.py: could not drop privileges")
    if os.geteuid() == 0 and "allow-root" not in opts:
        raise SystemExit("kernel.py: refusing to run student code as root")


class Channel:
    """Replies, one JSON line each, written with functions bound before any student code runs."""

    def __init__(self, fd: int):
        self._fd = fd
        self._write = os.write
        self._encode = json.JSONEncoder(allow_nan=True, ensure_ascii=True, separators=(",", ":")).encode

    def send(self, **reply) -> None:
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            try:
                stream.flush()  # what the cell printed reaches the grader before the reply
            except Exception:
                pass
        data = (self._encode(reply) + "\n").encode("ascii")
        view = memoryview(data)
        while view:
            n = self._write(self._fd, view)
            view = view[n:]


def _text(x, limit: int = 2000) -> str:
    try:
        text = str(x)
    except BaseException:
        text = "<message could not be shown>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def make_shell():
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    config.InteractiveShell.colors = "NoColor"
    config.InteractiveShell.xmode = "Plain"
    shell = InteractiveShell.instance(config=config)

    def no_exit(*_args, **_kwargs):
        raise SystemExit("exit() was called; a graded notebook keeps running")

    shell.ask_exit = no_exit
    return shell


def run_cell(shell, code: str, history: bool) -> dict:
    result = shell.run_cell(code, store_history=history, silent=False)
    exc = result.error_in_exec or result.error_before_exec
    if exc is None:
        return {"status": "ok"}
    return {"status": "error", "ename": type(exc).__name__, "evalue": _text(exc, 1000)}


def collect(shell, request: dict) -> dict:
    from course_lib.checks.collector import MAX_BYTES, collect_request
    from course_lib.checks.plain import dumps
    data = collect_request(request["exercise"], request["objects"], request["cases"], shell.user_ns)
    if len(dumps(data)) > MAX_BYTES:
        data = {"format": data.get("format"), "exercise": request["exercise"], "results": [],
                "object_error": f"{request['exercise']} returned answers too big to check "
                                f"(more than {MAX_BYTES // 1_000_000} MB of data)"}
    return {"status": "ok", "data": data}


def written_files(root: str = ".") -> list[str]:
    """The files under the scratch folder ``root`` (at most ~1000), relative to it. Folders of
    another file system are not entered: read-only binds that lie under the scratch folder (a
    course cloned under /tmp shows its .venv and course_lib there), not written by the notebook."""
    found = []
    scratch = os.stat(root).st_dev

    def on_scratch(folder, d):
        try:
            return os.stat(os.path.join(folder, d), follow_symlinks=False).st_dev == scratch
        except OSError:
            return False

    for folder, dirs, files in os.walk(root):
        rel = os.path.relpath(folder, root)
        dirs[:] = [d for d in dirs if (rel != "." or d not in SHELL_DIRS) and on_scratch(folder, d)]
        found += [os.path.normpath(os.path.join(rel, f)) for f in files]
        if len(found) > 1000:
            break
    return sorted(found)


def serve(opts: dict) -> None:
    channel = Channel(opts["fd-out"])
    requests = os.fdopen(opts["fd-in"], "rb", buffering=0)
    readline = requests.readline
    loads = json.loads
    shell = make_shell()
    channel.send(ready=True)
    while True:
        line = readline()
        if not line:
            return
        request = loads(line)
        rid, op = request["id"], request["op"]
        channel.send(id=rid, started=True)
        try:
            if op == "run":
                reply = run_cell(shell, request["code"], bool(request.get("history", True)))
            elif op == "collect":
                reply = collect(shell, request)
            elif op == "files":
                reply = {"status": "ok", "files": written_files()}
            else:
                reply = {"status": "error", "ename": "ProtocolError", "evalue": f"unknown op {op!r}"}
        except KeyboardInterrupt:
            reply = {"status": "error", "ename": "KeyboardInterrupt", "evalue": ""}
        except BaseException as exc:  # SystemExit from a check, a broken course_lib, ...
            reply = {"status": "error", "ename": type(exc).__name__, "evalue": _text(exc, 1000)}
        channel.send(id=rid, **reply)


def main(argv: list[str]) -> None:
    opts = _options(argv)
    confine(opts)
    sys.path.insert(0, opts["library"])
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    serve(opts)


if __name__ == "__main__":
    main(sys.argv[1:])
