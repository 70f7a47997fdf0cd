"""The student's kernel under bubblewrap, and the grader's side of its two pipes.

    policy = SandboxPolicy.detect(library=release_dir, hide=[submissions, outdir, source])
    with Kernel(policy, SandboxLimits(memory_mb=2048)) as kernel:
        r = kernel.run("x = 1", timeout=30, output_limit=1_000_000)
        r.status                # Status.OK, ERROR, TIMEOUT, KERNEL_DIED or OUTPUT_LIMIT
        r = kernel.collect("mse_gradient", ["mse_gradient"], cases, timeout=30, output_limit=...)
        r.data                  # the outputs, plain data, judged by the grader

What the sandbox (bubblewrap, `bwrap`) gives each kernel:

- its own PID namespace (it sees only itself: not the grader, not the other kernels), its own
  network namespace with no interface (no network), IPC and UTS namespaces, a new session;
- a filesystem built from nothing: the system (/usr, /etc, ...) and the Python installation
  read-only, the *student release* of course_lib read-only in place of the instructor's package,
  this module's kernel.py, and a private tmpfs scratch directory (its cwd, HOME and TMPDIR; size
  capped) as the only writable place. SUBMISSIONS, OUTDIR (grades, feedback, the secret), the
  solutions and the instructor's course_lib are not in it (masked if they lie under a bound path);
- `--die-with-parent`: when the grader (or the kernel's bwrap) dies, everything inside is killed,
  so nothing a kernel starts outlives it;
- resource limits set by kernel.py before student code runs: address space (--memory-mb), CPU
  time, largest file, no core dumps, and a process-count limit (RLIMIT_NPROC). When the grader
  runs as root the kernel switches to an unprivileged uid of its own (root is exempt from
  RLIMIT_NPROC, and a root kernel could undo its confinement); otherwise bubblewrap maps it into
  a user namespace, where the process count is per sandbox.

The channel is a pair of pipes (requests in, replies out) plus the kernel's stdout/stderr pipe.
Pipes were chosen over Jupyter's ZeroMQ sockets: nothing has to be shared on the filesystem (IPC
socket files would need a writable directory visible to both sides) and there is no network
namespace to cross, no connection file and key to hide, no port to race for; the grader reads
with size caps and a deadline, and the protocol is a dozen lines of JSON (see kernel.py).
"""
from __future__ import annotations

import functools
import itertools
import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from course_lib.checks.status import Status

KERNEL_FILE = Path(__file__).with_name("kernel.py")

#: environment of the kernel: threads pinned so that RLIMIT_AS is not eaten by thread pools
KERNEL_ENV = {
    "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1", "MALLOC_ARENA_MAX": "2", "MPLBACKEND": "Agg",
    "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1",
    "TQDM_DISABLE": "1", "LANG": "C.UTF-8", "PYTHONIOENCODING": "utf-8",
}
#: where things appear inside the sandbox
SCRATCH = "/tmp"
INSIDE_LIBRARY = "/course-grade/lib"
INSIDE_KERNEL = "/course-grade/kernel.py"
#: a reply longer than this (bytes) ends the kernel (the answers of one check are a few KB)
MAX_REPLY = 8_000_000
#: the first uid of the unprivileged users kernels run as when the grader is root
UID_BASE = 2_100_000_000

SIGNAL_NAMES = {int(s): s.name for s in signal.Signals}


class KernelStartError(RuntimeError):
    pass


class SandboxUnavailable(RuntimeError):
    pass


UNSAFE_WARNING = (
    "WARNING: grading WITHOUT the sandbox (--unsafe-no-sandbox). Student code runs as your user "
    "with only resource limits: it can read and change every file you can (other students' "
    "submissions, OUTDIR with grades.csv, the cached results and the secret, the solutions and "
    "the course library), use the network, and signal your processes, including this grader. "
    "Use it only for trusted notebooks (your own tests); grade a class on Linux with bubblewrap "
    "installed (apt-get install bubblewrap).")


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


@functools.lru_cache(maxsize=4)
def bwrap_options(path: str) -> frozenset[str]:
    """The options this bubblewrap knows (older releases lack --disable-userns and --size)."""
    try:
        text = subprocess.run([path, "--help"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return frozenset()
    return frozenset(w for w in text.split() if w.startswith("--"))


def require_bwrap() -> str:
    """The path of a usable bubblewrap, or SandboxUnavailable saying what to do."""
    path = bwrap_path()
    if path is None:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed: course-grade runs every submission inside it "
            "(apt-get install bubblewrap, dnf install bubblewrap). Without it, --unsafe-no-sandbox "
            "grades anyway, with no isolation: " + UNSAFE_WARNING.split(": ", 1)[1])
    if "--perms" not in bwrap_options(path):
        raise SandboxUnavailable(f"{path} is too old for course-grade (bubblewrap 0.5 or newer is needed)")
    return path


@dataclass(frozen=True)
class SandboxLimits:
    memory_mb: int = 2048      # address space of the kernel
    file_mb: int = 64          # largest file it may write
    cpu_seconds: int = 0       # CPU time of the kernel process (0: none)
    max_processes: int = 64    # processes and threads (RLIMIT_NPROC)
    scratch_mb: int = 256      # size of its writable scratch directory (tmpfs)


@dataclass(frozen=True)
class SandboxPolicy:
    """How kernels are started: under bubblewrap (the default) or, unsafely, without it."""

    library: Path                   # the student release: library/course_lib/...
    hide: tuple[Path, ...] = ()     # never visible inside (SUBMISSIONS, OUTDIR, solutions)
    bwrap: str | None = None        # None: no sandbox (unsafe)

    @classmethod
    def detect(cls, library: Path, hide=(), *, unsafe: bool = False) -> "SandboxPolicy":
        return cls(Path(library), tuple(Path(h) for h in hide), None if unsafe else require_bwrap())

    @property
    def sandboxed(self) -> bool:
        return self.bwrap is not None

    def command(self, limits: SandboxLimits, uid: int | None, fd_in: int, fd_out: int) -> list[str]:
        kernel_args = ["--fd-in", str(fd_in), "--fd-out", str(fd_out), "--memory-mb", str(limits.memory_mb),
                       "--file-mb", str(limits.file_mb), "--cpu-seconds", str(limits.cpu_seconds),
                       "--max-processes", str(limits.max_processes)]
        if not self.sandboxed:
            extra = ["--allow-root", "1"] if os.geteuid() == 0 else []
            return [sys.executable, "-I", str(KERNEL_FILE), "--library", str(self.library),
                    *kernel_args, *extra]
        if uid is not None:
            kernel_args += ["--uid", str(uid), "--gid", str(uid)]
        return [*self._bwrap_args(limits, uid), "--", sys.executable, "-I", INSIDE_KERNEL,
                "--library", INSIDE_LIBRARY, *kernel_args]

    def _bwrap_args(self, limits: SandboxLimits, uid: int | None) -> list[str]:
        known = bwrap_options(self.bwrap)
        args = [self.bwrap, "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
                "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--hostname", "sandbox",
                "--cap-drop", "ALL"]
        if uid is None:  # not root: bubblewrap maps us into a user namespace of our own
            args += ["--unshare-user", "--uid", "65534", "--gid", "65534"]
            args += ["--disable-userns"] if "--disable-userns" in known else []
        else:            # root: kernel.py switches to `uid`, which needs these two capabilities
            args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        # the scratch tmpfs first: binds that lie under /tmp (a course cloned to /tmp/course, its
        # .venv with the Python the kernel runs) are then mounted on top of it, not hidden by it
        size = ["--size", str(limits.scratch_mb * 1024 * 1024)] if "--size" in known else []
        args += [*size, "--perms", "1777", "--tmpfs", SCRATCH]
        args += _with_parent_dirs(self._filesystem(), made=(SCRATCH,))
        args += ["--proc", "/proc", "--dev", "/dev", "--chdir", SCRATCH, "--clearenv"]
        for key, value in sandbox_env(SCRATCH).items():
            args += ["--setenv", key, value]
        return args

    def _filesystem(self) -> list[str]:
        """The system and Python read-only, the hidden folders masked where they lie under those,
        then the student release in place of the instructor's course_lib."""
        args: list[str] = []
        bound: list[str] = []
        for top in ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc"):
            path = Path("/") / top
            if path.is_symlink():
                args += ["--symlink", os.readlink(path), str(path)]
            elif path.is_dir():
                args += ["--ro-bind", str(path), str(path)]
                bound.append(str(path))
        prefixes = [p for p in python_prefixes() if not any(_under(p, b) for b in bound)]
        for prefix in prefixes:
            args += ["--ro-bind", prefix, prefix]
        masked = [os.path.realpath(h) for h in self.hide]
        masked = [m for m in masked if any(_under(m, b) for b in bound + prefixes) and m not in bound]
        for m in masked:
            args += ["--tmpfs", m]
        for prefix in python_prefixes():  # a Python inside a masked folder (a venv in the repo)
            if any(_under(prefix, m) for m in masked):
                args += ["--ro-bind", prefix, prefix]
        return args + ["--ro-bind", str(self.library / "course_lib"), instructor_package(),
                       "--ro-bind", str(self.library), INSIDE_LIBRARY,
                       "--ro-bind", str(KERNEL_FILE), INSIDE_KERNEL]


def _with_parent_dirs(args: list[str], made=()) -> list[str]:
    """Create the parents of every bind's destination world-readable (bubblewrap makes them 0700,
    which an unprivileged kernel could not pass); ``made``: directories that exist already."""
    out, made = [], {"/", *made}
    i = 0
    while i < len(args):
        if args[i] in ("--ro-bind", "--bind", "--symlink"):
            dest = Path(args[i + 2])
            for parent in reversed(dest.parents):
                if str(parent) not in made:
                    made.add(str(parent))
                    out += ["--perms", "0755", "--dir", str(parent)]
            out += args[i:i + 3]
            i += 3
        else:
            out.append(args[i])
            i += 1
    return out


def _under(path: str, folder: str) -> bool:
    path, folder = os.path.normpath(path), os.path.normpath(folder)
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def python_prefixes() -> list[str]:
    """The folders the kernel's Python needs (the interpreter, the stdlib, the site-packages)."""
    found = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix,
                                           sys.base_exec_prefix)}
    found.add(os.path.dirname(os.path.dirname(os.path.realpath(sys.executable))))
    return sorted(p for p in found if p != "/")


def instructor_package() -> str:
    """Where the grader's own course_lib lives: the sandbox sees the student release there."""
    import course_lib
    return os.path.realpath(os.path.dirname(course_lib.__file__))


def sandbox_env(home: str) -> dict[str, str]:
    env = dict(KERNEL_ENV)
    env.update({"HOME": home, "TMPDIR": home, "PATH": "/usr/local/bin:/usr/bin:/bin",
                "IPYTHONDIR": os.path.join(home, ".ipython"),
                "MPLCONFIGDIR": os.path.join(home, ".matplotlib")})
    return env


# ---------------------------------------------------------------------------------------------
# one kernel


@dataclass
class CellResult:
    status: Status           # OK, ERROR, TIMEOUT, KERNEL_DIED, OUTPUT_LIMIT
    ename: str = ""          # exception type, for ERROR
    evalue: str = ""         # exception message, for ERROR
    output: str = ""         # what the cell printed, the first keep_output characters
    seconds: float = 0.0
    exit: str = ""           # for KERNEL_DIED: "exit code 3" or "signal SIGKILL"
    started: bool = True     # False: the kernel was dead before this request began
    data: object = None      # collect: the outputs; files: the list of files
    reply: dict = field(default_factory=dict, repr=False)


class Kernel:
    """One sandboxed kernel process; see the module docstring. A context manager."""

    _uids = itertools.count(1)

    def __init__(self, policy: SandboxPolicy, limits: SandboxLimits, *, startup_timeout: float = 60.0,
                 keep_output: int = 20_000):
        self.policy = policy
        self.limits = limits
        self.startup_timeout = startup_timeout
        self.keep_output = keep_output
        self.proc: subprocess.Popen | None = None
        self._req = self._resp = self._out = None
        self._buf = b""
        self._next_id = 0
        self._home: str | None = None   # the working directory without a sandbox

    def __enter__(self) -> "Kernel":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.kill()

    @classmethod
    def _uid(cls) -> int | None:
        """An unprivileged uid of its own for each kernel when the grader is root."""
        if os.geteuid() != 0:
            return None
        return UID_BASE + (os.getpid() % 20_000) * 1000 + next(cls._uids) % 1000

    def start(self) -> None:
        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        out_r, out_w = os.pipe()
        try:
            cmd = self.policy.command(self.limits, self._uid(), req_r, resp_w)
            if self.policy.sandboxed:
                env, cwd = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, "/"
            else:
                cwd = self._unsafe_home()
                env = {**sandbox_env(cwd), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out_w, stderr=out_w,
                                         close_fds=True, pass_fds=(req_r, resp_w),
                                         start_new_session=True, cwd=cwd, env=env)
        finally:
            for fd in (req_r, resp_w, out_w):
                os.close(fd)
        self._req, self._resp, self._out = req_w, resp_r, out_r
        for fd in (self._resp, self._out):
            os.set_blocking(fd, False)
        reply, output, _ = self._wait(lambda r: r.get("ready"), time.monotonic() + self.startup_timeout,
                                      10**9)
        if reply is None:
            why = ("it exited: " + self.exit_text()) if not self.alive() else \
                f"it did not start within {self.startup_timeout:g} s"
            tail = output.strip().splitlines()[-1:] if output.strip() else []
            self.kill()
            raise KernelStartError(f"the kernel could not start ({why})" + (f": {tail[0][:300]}" if tail else ""))

    def _unsafe_home(self) -> str:
        if self._home is None:
            self._home = tempfile.mkdtemp(prefix="course-grade-unsafe-")
        return self._home

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def exit_text(self) -> str:
        if self.proc is None or self.proc.returncode is None:
            return "still running"
        code = self.proc.returncode
        if code < 0:
            return f"signal {SIGNAL_NAMES.get(-code, -code)}"
        if self.policy.sandboxed and code > 128 and code - 128 in SIGNAL_NAMES:
            return f"signal {SIGNAL_NAMES[code - 128]}"  # bubblewrap reports a signal as 128 + N
        return f"exit code {code}"

    def kill(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                for send in (lambda: os.killpg(self.proc.pid, signal.SIGKILL), self.proc.kill):
                    try:
                        send()
                    except (ProcessLookupError, PermissionError):
                        pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        for name in ("_req", "_resp", "_out"):
            fd = getattr(self, name)
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
                setattr(self, name, None)
        if self._home is not None:
            shutil.rmtree(self._home, ignore_errors=True)
            self._home = None

    # -- requests

    def run(self, code: str, *, timeout: float, output_limit: int, history: bool = True) -> CellResult:
        return self._request({"op": "run", "code": code, "history": history}, timeout, output_limit)

    def collect(self, exercise: str, objects: list[str], cases: list, *, timeout: float,
                output_limit: int) -> CellResult:
        r = self._request({"op": "collect", "exercise": exercise, "objects": objects, "cases": cases},
                          timeout, output_limit)
        if r.status is Status.OK:
            r.data = r.reply.get("data")
        return r

    def files(self, timeout: float = 10.0) -> list[str]:
        r = self._request({"op": "files"}, timeout, 10**6)
        files = r.reply.get("files") if r.status is Status.OK else None
        return [str(f) for f in files[:1000]] if isinstance(files, list) else []

    def _request(self, request: dict, timeout: float, output_limit: int) -> CellResult:
        t0 = time.monotonic()
        if not self.alive():
            return CellResult(Status.KERNEL_DIED, exit=self.exit_text(), started=False)
        self._next_id += 1
        rid = self._next_id
        try:
            _write_all(self._req, (json.dumps({"id": rid, **request}, allow_nan=True) + "\n").encode())
        except OSError:
            self.proc.wait(timeout=5) if self.alive() else None
            return CellResult(Status.KERNEL_DIED, exit=self.exit_text(), started=False)
        started = [False]

        def done(reply: dict) -> bool:
            if reply.get("id") != rid:
                return False
            if reply.get("started") and "status" not in reply:
                started[0] = True
                return False
            return True

        reply, output, why = self._wait(done, t0 + timeout, output_limit)
        seconds = time.monotonic() - t0
        if reply is not None:
            status = Status.OK if reply.get("status") == "ok" else Status.ERROR
            return CellResult(status, str(reply.get("ename", ""))[:200], str(reply.get("evalue", ""))[:1000],
                              output, seconds, reply=reply)
        if why in ("timeout", "output_limit", "protocol"):
            self.kill()
            status = {"timeout": Status.TIMEOUT, "output_limit": Status.OUTPUT_LIMIT}.get(why, Status.ERROR)
            return CellResult(status, "ProtocolError" if why == "protocol" else "", "", output, seconds)
        self.kill()
        return CellResult(Status.KERNEL_DIED, output=output, seconds=seconds, exit=self.exit_text(),
                          started=started[0])

    def _wait(self, accept, deadline: float, output_limit: int) -> tuple[dict | None, str, str]:
        """Read replies and output until accept(reply); (reply, output, "") or (None, output, why)
        with why in "timeout", "output_limit", "protocol", "died"."""
        sel = selectors.DefaultSelector()
        sel.register(self._resp, selectors.EVENT_READ)
        sel.register(self._out, selectors.EVENT_READ)
        kept: list[bytes] = []
        size = 0
        try:
            while True:
                reply, bad = self._next_reply(accept)
                if bad:
                    return None, _decode(kept), "protocol"
                if reply is not None:
                    size, _ = self._drain_output(kept, size)  # what it printed before replying
                    return reply, _decode(kept), ""
                left = deadline - time.monotonic()
                if left <= 0:
                    return None, _decode(kept), "timeout"
                events = sel.select(timeout=min(left, 0.5))
                eof = False
                for key, _ in events:
                    if key.fd == self._out:
                        size, closed = self._drain_output(kept, size)
                        eof |= closed
                        if size > output_limit:
                            return None, _decode(kept), "output_limit"
                    else:
                        chunk = _read(self._resp)
                        if chunk == b"":
                            eof = True
                        elif chunk:
                            self._buf += chunk
                            if len(self._buf) > MAX_REPLY:
                                return None, _decode(kept), "protocol"
                if eof or (not events and not self.alive()):
                    reply, bad = self._next_reply(accept)
                    if reply is not None:
                        return reply, _decode(kept), ""
                    if not self.alive() or eof:
                        try:
                            self.proc.wait(timeout=5)
                        except subprocess.TimeoutExpired:
                            continue
                        self._drain_output(kept, size)
                        return None, _decode(kept), "died"
        finally:
            sel.close()

    def _next_reply(self, accept) -> tuple[dict | None, bool]:
        while b"\n" in self._buf:
            line, self._buf = self._buf.split(b"\n", 1)
            try:
                reply = json.loads(line)
            except (ValueError, RecursionError):
                return None, True
            if not isinstance(reply, dict):
                return None, True
            if accept(reply):
                return reply, False
        return None, False

    def _drain_output(self, kept: list[bytes], size: int) -> tuple[int, bool]:
        kept_len = sum(len(k) for k in kept)
        while True:
            chunk = _read(self._out)
            if chunk is None:
                return size, False
            if chunk == b"":
                return size, True
            size += len(chunk)
            if kept_len < self.keep_output:
                kept.append(chunk[: self.keep_output - kept_len])
                kept_len += len(kept[-1])
            if size > 64 * 1024 * 1024:
                return size, False


def _read(fd: int) -> bytes | None:
    try:
        return os.read(fd, 1 << 16)
    except BlockingIOError:
        return None
    except OSError:
        return b""


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _decode(chunks: list[bytes]) -> str:
    return b"".join(chunks).decode("utf-8", "replace")
