"""A Jupyter kernel under resource limits, and a client that runs cells with time and output limits.

Used by the grader (course_lib.grading) to run student code:

    with SandboxedKernel(cwd=workdir, memory_mb=2048) as kernel:
        result = kernel.execute("x = 1", timeout=30, output_limit=1_000_000)
        result.status   # "ok", "error", "timeout", "died", "output_limit"

The kernel is `python -m course_lib.grading.sandbox [limits] -- <ipykernel arguments>`: it sets
RLIMIT_AS (address space: MemoryError instead of exhausting the machine), RLIMIT_FSIZE (largest file
it may write), RLIMIT_CORE = 0, then starts ipykernel with `exit()`/`quit()` turned into an error (so
only os._exit or a signal can end it). It runs in its own session and process group (killed as a
group), with stdin/stdout/stderr detached from the grader, in its own working directory.

This isolates students from each other and protects the grader from accidents and from the usual
tricks; it is not a security boundary against code written to attack the machine (the kernel runs as
the grader's user). For hostile settings run the grader in a container or as a separate user.
"""
from __future__ import annotations

import argparse
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

#: environment of the kernel: threads pinned so that RLIMIT_AS is not eaten by thread pools
KERNEL_ENV = {
    "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1", "MALLOC_ARENA_MAX": "2", "MPLBACKEND": "Agg",
    "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    "TQDM_DISABLE": "1",
}
_PASS_ENV = ("PATH", "LANG", "LC_ALL", "PYTHONPATH", "VIRTUAL_ENV", "SYSTEMROOT", "TZ")

SIGNAL_NAMES = {int(s): s.name for s in signal.Signals}


# ---------------------------------------------------------------------------------------------
# the kernel side


def _launch(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m course_lib.grading.sandbox")
    parser.add_argument("--memory-mb", type=int, default=0, help="address-space limit (0: none)")
    parser.add_argument("--file-mb", type=int, default=64, help="largest file the kernel may write")
    parser.add_argument("--cpu-seconds", type=int, default=0, help="CPU-time limit (0: none)")
    parser.add_argument("kernel_args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    import resource

    def limit(which, value):
        try:
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):
            pass  # a limit above the hard limit: keep the existing one

    if args.memory_mb > 0:
        limit(resource.RLIMIT_AS, args.memory_mb * 1024 * 1024)
    if args.file_mb > 0:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-big write raises OSError instead
        limit(resource.RLIMIT_FSIZE, args.file_mb * 1024 * 1024)
    if args.cpu_seconds > 0:
        limit(resource.RLIMIT_CPU, args.cpu_seconds)
    limit(resource.RLIMIT_CORE, 0)

    from ipykernel.kernelapp import IPKernelApp

    kernel_args = [a for a in args.kernel_args if a != "--"]
    app = IPKernelApp.instance()
    app.initialize(kernel_args)

    def no_exit(*_args, **_kwargs):
        raise SystemExit("exit() was called; a graded notebook keeps running")

    app.shell.ask_exit = no_exit
    app.start()


# ---------------------------------------------------------------------------------------------
# the grader side


@dataclass
class CellResult:
    status: str              # "ok", "error", "timeout", "died", "output_limit"
    ename: str = ""          # exception type, for status "error"
    evalue: str = ""         # exception message, for status "error"
    output: str = ""         # text output, cut to keep_output characters
    seconds: float = 0.0
    exit: str = ""           # for "died": "exit code 3" or "signal SIGKILL"
    started: bool = True     # False if the kernel was found dead before the cell began


class KernelStartError(RuntimeError):
    pass


class SandboxedKernel:
    """One kernel process; see the module docstring. Use as a context manager or call kill()."""

    def __init__(self, cwd: str, *, memory_mb: int = 0, file_mb: int = 64, cpu_seconds: int = 0,
                 env: dict | None = None, startup_timeout: float = 60.0, keep_output: int = 20_000,
                 conn_dir: str | None = None):
        self.cwd = cwd
        self.conn_parent = conn_dir  # where the connection file goes (default: the system's temp dir)
        self.memory_mb = memory_mb
        self.file_mb = file_mb
        self.cpu_seconds = cpu_seconds
        self.extra_env = env or {}
        self.startup_timeout = startup_timeout
        self.keep_output = keep_output
        self.proc: subprocess.Popen | None = None
        self.kc = None
        self._conn_dir: str | None = None

    # -- life cycle

    def __enter__(self) -> "SandboxedKernel":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.kill()

    def environment(self) -> dict:
        env = {k: os.environ[k] for k in _PASS_ENV if k in os.environ}
        env.update(KERNEL_ENV)
        env.update({"HOME": self.cwd, "TMPDIR": self.cwd, "IPYTHONDIR": os.path.join(self.cwd, ".ipython"),
                    "JUPYTER_RUNTIME_DIR": os.path.join(self.cwd, ".jupyter")})
        # the same course_lib as the grader, installed or not
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
        env.update(self.extra_env)
        return env

    def start(self) -> None:
        from jupyter_client import BlockingKernelClient
        from jupyter_client.connect import write_connection_file

        self._conn_dir = tempfile.mkdtemp(prefix="course-grade-kernel-", dir=self.conn_parent)
        conn_file, _ = write_connection_file(os.path.join(self._conn_dir, "kernel.json"), ip="127.0.0.1")
        cmd = [sys.executable, "-m", "course_lib.grading.sandbox", "--memory-mb", str(self.memory_mb),
               "--file-mb", str(self.file_mb), "--cpu-seconds", str(self.cpu_seconds), "--",
               "-f", conn_file, "--IPKernelApp.log_level=CRITICAL", "--HistoryManager.enabled=False"]
        self.proc = subprocess.Popen(cmd, cwd=self.cwd, env=self.environment(), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True, close_fds=True)
        self.kc = BlockingKernelClient(connection_file=conn_file)
        self.kc.load_connection_file()
        self.kc.start_channels()
        deadline = time.monotonic() + self.startup_timeout
        msg_id = self.kc.kernel_info()
        while True:
            if self.proc.poll() is not None:
                self.kill()
                raise KernelStartError(f"the kernel exited while starting ({self._exit_text()})")
            if time.monotonic() > deadline:
                self.kill()
                raise KernelStartError(f"the kernel did not start within {self.startup_timeout:g} s")
            try:
                reply = self.kc.get_shell_msg(timeout=0.05)
            except queue.Empty:
                continue
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        # drain the start-up status messages
        while True:
            try:
                self.kc.get_iopub_msg(timeout=0.05)
            except queue.Empty:
                break

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _exit_text(self) -> str:
        if self.proc is None or self.proc.returncode is None:
            return "still running"
        code = self.proc.returncode
        if code < 0:
            return f"signal {SIGNAL_NAMES.get(-code, -code)}"
        return f"exit code {code}"

    def kill(self) -> None:
        if self.kc is not None:
            try:
                self.kc.stop_channels()
            except Exception:
                pass
            self.kc = None
        if self.proc is not None:
            if self.proc.poll() is None:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                try:
                    self.proc.kill()
                except ProcessLookupError:
                    pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            else:
                # children the kernel started in its group
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        if self._conn_dir:
            shutil.rmtree(self._conn_dir, ignore_errors=True)
            self._conn_dir = None

    # -- running code

    def execute(self, code: str, *, timeout: float, output_limit: int,
                store_history: bool = True) -> CellResult:
        """Run `code`; kill the kernel on timeout, on death, or when the output passes output_limit bytes."""
        t0 = time.monotonic()
        if not self.alive():
            return CellResult("died", exit=self._exit_text(), started=False)
        msg_id = self.kc.execute(code, store_history=store_history, allow_stdin=False, stop_on_error=False)
        deadline = t0 + timeout
        size = 0
        kept: list[str] = []
        kept_len = 0
        ename = evalue = ""
        busy = False

        def keep(text: str) -> None:
            nonlocal kept_len
            if kept_len < self.keep_output:
                kept.append(text[: self.keep_output - kept_len])
                kept_len += len(kept[-1])

        while True:
            now = time.monotonic()
            if now >= deadline:
                self.kill()
                return CellResult("timeout", output="".join(kept), seconds=now - t0)
            if not self.alive():
                return CellResult("died", output="".join(kept), seconds=now - t0,
                                  exit=self._exit_text(), started=busy)
            try:
                msg = self.kc.get_iopub_msg(timeout=min(0.25, deadline - now))
            except queue.Empty:
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "status":
                if content.get("execution_state") == "busy":
                    busy = True
                elif content.get("execution_state") == "idle":
                    break
                continue
            if kind == "stream":
                text = str(content.get("text", ""))
                size += len(text)
                keep(text)
            elif kind in ("display_data", "execute_result", "update_display_data"):
                data = content.get("data", {}) or {}
                size += sum(len(str(v)) for v in data.values())
                if "text/plain" in data:
                    keep(str(data["text/plain"]) + "\n")
            elif kind == "error":
                ename, evalue = str(content.get("ename", "")), str(content.get("evalue", ""))
                size += len(evalue) + sum(len(line) for line in content.get("traceback", []))
            elif kind == "clear_output":
                pass
            if size > output_limit:
                self.kill()
                return CellResult("output_limit", output="".join(kept), seconds=time.monotonic() - t0)
        # drain the shell reply so replies do not pile up
        try:
            while True:
                self.kc.get_shell_msg(timeout=0)
        except queue.Empty:
            pass
        return CellResult("error" if ename else "ok", ename, evalue[:1000], "".join(kept),
                          time.monotonic() - t0)


if __name__ == "__main__":
    _launch()
