"""Running one submission's plan in a sandboxed kernel: a `Worker` and the events it reports.

    events = Worker(plan, new_kernel, limits).run()
    # [AnswerRan(...), Collected("mse_gradient", data), Stopped("gradient_descent", TIMEOUT, ...), ...]

The worker runs the steps in order. A cell that runs too long, kills the kernel or prints too much
is stopped: its exercise ends with that status, the kernel is restarted, the cells that ran before
it (context and answer cells) are replayed without the offending one, and grading goes on with the
next exercise. Nothing here judges: `Collected` carries the outputs of the student's functions as
plain data, judged later in the grader's process (course_lib.grading.gradebook).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Union

from course_lib.checks.status import Status
from course_lib.grading.plan import AnswerStep, CollectStep, ContextStep, Plan, Step
from course_lib.grading.sandbox import CellResult, Kernel, KernelStartError, SandboxLimits

MAX_RESTARTS = 8


@dataclass(frozen=True)
class Limits:
    timeout: float = 300.0         # whole notebook, seconds
    cell_timeout: float = 60.0     # one cell, seconds
    memory_mb: int = 2048          # kernel address space
    output_limit: int = 1_000_000  # bytes of output one cell may print
    file_mb: int = 64              # largest file the kernel may write
    max_processes: int = 64        # processes and threads of the kernel
    scratch_mb: int = 256          # its writable scratch directory

    def sandbox(self) -> SandboxLimits:
        return SandboxLimits(memory_mb=self.memory_mb, file_mb=self.file_mb,
                             cpu_seconds=int(self.timeout) + 60, max_processes=self.max_processes,
                             scratch_mb=self.scratch_mb)


# ---------------------------------------------------------------------------------------------
# events


@dataclass(frozen=True)
class Collected:
    """The outputs of the student's function on the check's cases, to be judged."""
    exercise: str
    data: object


@dataclass(frozen=True)
class Stopped:
    """An exercise that has no outputs to judge (timeout, kernel died, output limit, ...)."""
    exercise: str
    status: Status
    message: str
    output: str = ""


@dataclass(frozen=True)
class AnswerRan:
    exercise: str | None
    status: Status               # OK or ERROR
    ename: str = ""
    evalue: str = ""


@dataclass(frozen=True)
class Note:
    """For the student's feedback."""
    text: str


@dataclass(frozen=True)
class Log:
    """For the instructor (kept with the result)."""
    text: str


Event = Union[Collected, Stopped, AnswerRan, Note, Log]


def exit_explained(exit_text: str) -> str:
    if exit_text.startswith("exit code"):
        return f"{exit_text}: the code called os._exit() or similar"
    if "SIGKILL" in exit_text:
        return f"{exit_text}: killed by os.kill(...) or by the system for using too much memory"
    if "SIGXCPU" in exit_text:
        return f"{exit_text}: it used too much CPU time"
    if any(s in exit_text for s in ("SIGSEGV", "SIGABRT", "SIGBUS")):
        return f"{exit_text}: a crash in compiled code"
    return exit_text


def fatal_message(step: Step, r: CellResult, limits: Limits, deadline_hit: bool) -> str:
    collect = isinstance(step, CollectStep)
    where = (f"the check of {step.exercise} (calling your function on its inputs)" if collect
             else f"your answer cell for {step.exercise}")
    if deadline_hit:
        return f"✗ the notebook's time limit ({limits.timeout:g} s) ran out during {where}; it was stopped"
    if r.status is Status.TIMEOUT:
        extra = (" (an endless loop? a loop that ignores max_steps?)" if collect
                 else " (an endless loop? a long computation at the top level of the cell?)")
        return f"✗ {where} did not finish within {limits.cell_timeout:g} s and was stopped{extra}"
    if r.status is Status.KERNEL_DIED:
        return f"✗ the kernel died during {where} ({exit_explained(r.exit)})"
    if r.status is Status.OUTPUT_LIMIT:
        return (f"✗ {where} printed more than {limits.output_limit // 1000} KB and was stopped; "
                "print less (no prints inside loops over many steps)")
    return f"✗ {where} failed: {r.status}"


# ---------------------------------------------------------------------------------------------
# the worker


class Worker:
    """Runs one plan; see the module docstring. `new_kernel()` makes an unstarted Kernel."""

    def __init__(self, plan: Plan, new_kernel: Callable[[], Kernel], limits: Limits):
        self.plan = plan
        self.steps = plan.steps
        self.new_kernel = new_kernel
        self.limits = limits
        self.events: list[Event] = []
        self.kernel: Kernel | None = None
        self.done: set[str] = set()
        self.bad: set[int] = set()         # steps not to run again (they stopped the kernel)
        self.history: list[int] = []       # steps that ran: replayed after a restart
        self.restarts = 0
        self.deadline = 0.0

    def run(self) -> list[Event]:
        self.deadline = time.monotonic() + self.limits.timeout
        try:
            if self._start_kernel():
                i: int | None = 0
                while i is not None and i < len(self.steps):
                    i = self._step(i)
                self._note_files()
            self._finish_the_rest()
        finally:
            self._kill()
        return self.events

    # -- one step

    def _step(self, i: int) -> int | None:
        """Run step i; the index of the next step, or None to stop (out of time or restarts)."""
        step = self.steps[i]
        if i in self.bad or (not isinstance(step, ContextStep) and step.exercise in self.done):
            return i + 1
        r, deadline_hit = self._execute(step)
        if r is None:
            return None
        if r.status is Status.KERNEL_DIED and not r.started:
            self._blame_an_earlier_answer(r)
            return i if self._restart() else None
        if r.status in (Status.OK, Status.ERROR):
            self._record(i, step, r)
            return i + 1
        self.bad.add(i)  # timeout, kernel died, output limit: never run this cell again
        if isinstance(step, ContextStep) or step.exercise is None:
            self._log(f"{step.label}: {r.status}; skipped from now on")
        else:
            status = Status.TIME_LIMIT if deadline_hit else r.status
            self._finish(step.exercise, status, fatal_message(step, r, self.limits, deadline_hit),
                         r.output[-2000:])
        return i + 1 if self._restart() else None

    def _execute(self, step: Step) -> tuple[CellResult | None, bool]:
        timeout = min(self.limits.cell_timeout, self.deadline - time.monotonic())
        if timeout <= 0:
            return None, True
        if isinstance(step, CollectStep):
            r = self.kernel.collect(step.exercise, list(step.objects), step.cases_plain(),
                                    timeout=timeout, output_limit=self.limits.output_limit)
        else:
            r = self.kernel.run(step.code, timeout=timeout, output_limit=self.limits.output_limit)
        return r, (r.status is Status.TIMEOUT and timeout < self.limits.cell_timeout)

    def _record(self, i: int, step: Step, r: CellResult) -> None:
        if isinstance(step, CollectStep):
            if r.status is Status.OK and isinstance(r.data, dict):
                self._emit(Collected(step.exercise, r.data))
                self.done.add(step.exercise)
            elif r.status is Status.OK:
                self._finish(step.exercise, Status.INVALID, f"✗ the check of {step.exercise} produced "
                                                            "no readable result")
            else:
                self._finish(step.exercise, Status.ERROR,
                             f"✗ the check of {step.exercise} could not run in your notebook "
                             f"({r.ename}: {r.evalue[:300]}); did your code change Python's or "
                             "course_lib's modules?")
            return
        self.history.append(i)
        if isinstance(step, AnswerStep):
            self._emit(AnswerRan(step.exercise, r.status, r.ename, r.evalue))
        elif r.status is Status.ERROR:
            self._log(f"{step.label} raised {r.ename}: {r.evalue[:200]}")

    def _blame_an_earlier_answer(self, r: CellResult) -> None:
        """The kernel died between cells: something a student cell left running (a thread, a
        child process) killed it. The last answer cell that ran is blamed and not replayed; the
        notebook's own cells never are (they are the instructor's)."""
        answers = [j for j in self.history if isinstance(self.steps[j], AnswerStep)]
        if not answers:
            self._log(f"the kernel died between cells ({r.exit})")
            return
        j = answers[-1]
        self.history.remove(j)
        self.bad.add(j)
        step = self.steps[j]
        if step.exercise:
            self._finish(step.exercise, Status.KERNEL_DIED,
                         f"✗ the kernel died after your answer cell for {step.exercise} ran "
                         f"({exit_explained(r.exit)})")

    # -- kernels

    def _start_kernel(self) -> bool:
        try:
            self.kernel = self.new_kernel()
            self.kernel.start()
            return True
        except KernelStartError as exc:
            self.kernel = None
            message = f"✗ not graded: the kernel could not start ({exc})"
            for ex in self.plan.exercises:
                self._finish(ex, Status.CRASHED, message)
            return False

    def _restart(self) -> bool:
        """A fresh kernel with the good cells replayed; False when out of time or restarts."""
        while True:
            self.restarts += 1
            self._kill()
            if self.restarts > MAX_RESTARTS or time.monotonic() >= self.deadline:
                return False
            try:
                self.kernel = self.new_kernel()
                self.kernel.start()
            except KernelStartError as exc:
                self.kernel = None
                self._log(f"restarting the kernel failed: {exc}")
                return False
            if self._replay():
                return True

    def _replay(self) -> bool:
        for j in list(self.history):
            r, _ = self._execute(self.steps[j])
            if r is None:
                return False
            if r.status not in (Status.OK, Status.ERROR):
                self.bad.add(j)
                self.history.remove(j)
                self._log(f"replaying {self.steps[j].label}: {r.status}; skipped from now on")
                return False
        return True

    def _kill(self) -> None:
        if self.kernel is not None:
            self.kernel.kill()
            self.kernel = None

    # -- the end

    def _note_files(self) -> None:
        if self.kernel is None or not self.kernel.alive():
            return
        written = self.kernel.files()
        if written:
            shown = ", ".join(written[:10]) + (f" and {len(written) - 10} more" if len(written) > 10 else "")
            self._emit(Note(f"your notebook wrote files in its working directory ({shown}); they "
                            "were ignored and deleted"))

    def _finish_the_rest(self) -> None:
        out_of_time = time.monotonic() >= self.deadline
        for ex in self.plan.exercises:
            if out_of_time:
                self._finish(ex, Status.TIME_LIMIT, f"✗ not checked: the notebook's time limit "
                                                    f"({self.limits.timeout:g} s) ran out before this "
                                                    "exercise (earlier cells took the time)")
            else:
                self._finish(ex, Status.CRASHED, "✗ not checked: the kernel had to be restarted too often")

    def _finish(self, exercise: str, status: Status, message: str, output: str = "") -> None:
        if exercise not in self.done:
            self.done.add(exercise)
            self._emit(Stopped(exercise, status, message, output))

    def _emit(self, event: Event) -> None:
        self.events.append(event)

    def _log(self, text: str) -> None:
        self._emit(Log(text))
