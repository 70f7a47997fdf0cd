"""Learning-rate schedules eta_t for steps t = 1, 2, 3, ... (chapters 03, 04, 07).

Each schedule is a small callable object::

    sched = power(0.1, 0.3)
    sched(1), sched(2)          # eta_1, eta_2
    sched.values(100)           # array of eta_1 .. eta_100
    sched.robbins_monro         # does it satisfy the Robbins-Monro conditions?

Step numbering: t = 1 is the first step, matching ``state["step"]`` in course_lib.optim.
torch.optim.lr_scheduler counts epochs from 0 (its ``last_epoch`` is 0 before the first
``scheduler.step()``), so our ``sched(t)`` equals torch's learning rate at ``last_epoch = t - 1``.

Robbins-Monro conditions (for SGD with decaying steps to converge):

    sum_t eta_t = infinity     (the steps can reach any point)
    sum_t eta_t^2 < infinity   (the noise they inject dies out)

``robbins_monro`` is True or False where this is decidable from the arguments, None otherwise.
"""
from __future__ import annotations

import math

import numpy as np

from .. import _validate as V

__all__ = [
    "Schedule",
    "constant",
    "inverse_time",
    "power",
    "step_decay",
    "exponential",
    "cosine",
    "cyclic",
    "cosine_warm_restarts",
]


def _count(value, label, minimum=1) -> int:
    """A whole number of steps >= minimum."""
    return V.count(value, label, minimum, noun="whole number of steps")


def _eta0(value, label="eta0 (initial learning rate)") -> float:
    return V.positive(value, label)


def _gamma(value, label="gamma (decay factor)") -> float:
    return V.interval(value, label, 0, 1, lo_open=True)


def _eta_min(value, eta0) -> float:
    return V.interval(value, "eta_min (smallest learning rate)", 0, eta0,
                      rule=f"must be in [0, eta0] = [0, {eta0!r}]")


class Schedule:
    """Base class: ``schedule(t) -> eta_t`` for integer t >= 1.

    Subclasses set ``_arg_names`` (shown by ``repr``) and implement ``_eta(t)``.
    """

    _arg_names: tuple = ()

    def __call__(self, t) -> float:
        t = V.count(t, "t (step number)", 1, noun="whole number >= 1",
                    why=" (steps are counted from 1)")
        return float(self._eta(t))

    def _eta(self, t: int) -> float:
        raise NotImplementedError

    def values(self, n: int) -> np.ndarray:
        """eta_1, ..., eta_n as an array of shape (n,)."""
        n = _count(n, "n (number of steps)", minimum=0)
        return np.array([self(t) for t in range(1, n + 1)], dtype=float)

    @property
    def robbins_monro(self) -> bool | None:
        """True/False if sum eta_t = inf and sum eta_t^2 < inf both hold / not; None if unknown."""
        return None

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._arg_names)
        return f"{type(self).__name__}({args})"


class constant(Schedule):
    """eta_t = eta for every t.

    Robbins-Monro: False -- sum eta_t^2 = infinity, so SGD keeps wandering in a noise ball whose
    size grows with eta.
    """

    _arg_names = ("eta",)

    def __init__(self, eta):
        self.eta = V.positive(eta, "eta (learning rate)")

    def _eta(self, t):
        return self.eta

    @property
    def robbins_monro(self):
        return False


class inverse_time(Schedule):
    """eta_t = eta0 / t.

    Robbins-Monro: True (sum 1/t diverges, sum 1/t^2 = pi^2/6 converges). This is power(eta0, 1).
    """

    _arg_names = ("eta0",)

    def __init__(self, eta0):
        self.eta0 = _eta0(eta0)

    def _eta(self, t):
        return self.eta0 / t

    @property
    def robbins_monro(self):
        return True


class power(Schedule):
    """eta_t = c / t^p, with c > 0 and p >= 0.

    Robbins-Monro holds exactly when 1/2 < p <= 1:
      * sum eta_t = infinity needs p <= 1,
      * sum eta_t^2 < infinity needs 2p > 1, i.e. p > 1/2.
    The practical choice 0.1 / t^0.3 decays slowly and works well, but violates the second
    condition (2 * 0.3 < 1): robbins_monro is False for it.
    """

    _arg_names = ("c", "p")

    def __init__(self, c, p):
        self.c = V.positive(c, "c (learning rate at t = 1)")
        self.p = V.nonneg(p, "p (decay exponent)")

    def _eta(self, t):
        return self.c / t ** self.p

    @property
    def robbins_monro(self):
        return 0.5 < self.p <= 1


class step_decay(Schedule):
    """eta_t = eta0 * gamma^floor((t - 1) / step_size): multiply by gamma every step_size steps.

    torch.optim.lr_scheduler.StepLR(step_size, gamma). Defaults: none (all required).
    Robbins-Monro: False (gamma < 1: the sum of the steps is finite; gamma = 1: constant).
    """

    _arg_names = ("eta0", "gamma", "step_size")

    def __init__(self, eta0, gamma, step_size):
        self.eta0 = _eta0(eta0)
        self.gamma = _gamma(gamma)
        self.step_size = _count(step_size, "step_size (steps between decays)")

    def _eta(self, t):
        return self.eta0 * self.gamma ** ((t - 1) // self.step_size)

    @property
    def robbins_monro(self):
        return False


class exponential(Schedule):
    """eta_t = eta0 * gamma^(t - 1).

    torch.optim.lr_scheduler.ExponentialLR(gamma).
    Robbins-Monro: False (gamma < 1: sum eta_t = eta0 / (1 - gamma) is finite, so far-away
    minima cannot be reached; gamma = 1: constant).
    """

    _arg_names = ("eta0", "gamma")

    def __init__(self, eta0, gamma):
        self.eta0 = _eta0(eta0)
        self.gamma = _gamma(gamma)

    def _eta(self, t):
        return self.eta0 * self.gamma ** (t - 1)

    @property
    def robbins_monro(self):
        return False


class cosine(Schedule):
    """eta_t = eta_min + (eta0 - eta_min) * (1 + cos(pi * (t - 1) / T)) / 2.

    Cosine annealing from eta0 at t = 1 down to eta_min at t = T + 1, as
    torch.optim.lr_scheduler.CosineAnnealingLR(T_max=T, eta_min). Like torch, the formula is not
    clipped: after t = T + 1 the rate climbs back to eta0 (period 2T). Run T + 1 steps, or use
    ``cosine_warm_restarts`` for restarts. Default eta_min = 0.
    Robbins-Monro: False (periodic, so sum eta_t^2 = infinity).
    """

    _arg_names = ("eta0", "T", "eta_min")

    def __init__(self, eta0, T, eta_min=0.0):
        self.eta0 = _eta0(eta0)
        self.T = _count(T, "T (steps of one half cosine)")
        self.eta_min = _eta_min(eta_min, self.eta0)

    def _eta(self, t):
        return self.eta_min + (self.eta0 - self.eta_min) * (
            1 + math.cos(math.pi * (t - 1) / self.T)) / 2

    @property
    def robbins_monro(self):
        return False


class cyclic(Schedule):
    """Cyclical learning rate (Smith 2017), as torch.optim.lr_scheduler.CyclicLR.

    With e = t - 1, a cycle of step_size_up steps up then step_size_down steps down:

        cycle = floor(1 + e / (up + down)),   x = 1 + e / (up + down) - cycle    (in [0, 1))
        s     = x / r            if x <= r   (rising)   where r = up / (up + down)
              = (x - 1)/(r - 1)  otherwise   (falling)
        eta_t = eta_min + (eta_max - eta_min) * s * scale

    scale = 1 (mode "triangular"), 1 / 2^(cycle - 1) ("triangular2": each cycle half as high) or
    gamma^e ("exp_range"). So eta_1 = eta_min and eta peaks at t = step_size_up + 1.
    Defaults: step_size_down = step_size_up, mode = "triangular", gamma = 1.
    Robbins-Monro: False.
    """

    _arg_names = ("eta_min", "eta_max", "step_size_up", "step_size_down", "mode", "gamma")
    _modes = ("triangular", "triangular2", "exp_range")

    def __init__(self, eta_min, eta_max, step_size_up, mode="triangular", *, step_size_down=None,
                 gamma=1.0):
        self.eta_min = V.nonneg(eta_min, "eta_min (lowest learning rate)")
        self.eta_max = V.real(eta_max, "eta_max (highest learning rate)", lo=self.eta_min,
                              lo_open=True, rule=f"must be larger than eta_min = {self.eta_min!r}")
        self.step_size_up = _count(step_size_up, "step_size_up (steps of the rising half)")
        self.step_size_down = (self.step_size_up if step_size_down is None else
                               _count(step_size_down, "step_size_down (steps of the falling half)"))
        self.mode = V.choice(mode, "mode", self._modes)
        self.gamma = _gamma(gamma, "gamma (decay per step in exp_range mode)")

    def _eta(self, t):
        e = t - 1
        total = float(self.step_size_up + self.step_size_down)
        ratio = self.step_size_up / total
        cycle = math.floor(1 + e / total)
        x = 1.0 + e / total - cycle
        s = x / ratio if x <= ratio else (x - 1) / (ratio - 1)
        if self.mode == "triangular":
            scale = 1.0
        elif self.mode == "triangular2":
            scale = 1 / (2.0 ** (cycle - 1))
        else:
            scale = self.gamma ** e
        return self.eta_min + (self.eta_max - self.eta_min) * s * scale

    @property
    def robbins_monro(self):
        return False


class cosine_warm_restarts(Schedule):
    """SGDR: cosine annealing restarted every T_i steps (Loshchilov & Hutter 2017), as
    torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(T_0=T0, T_mult, eta_min).

    With e = t - 1 split into restarts: period i lasts T_i = T0 * T_mult^i steps, T_cur counts the
    steps since the last restart (0 at a restart), and

        eta_t = eta_min + (eta0 - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2

    so eta jumps back to eta0 at t = 1, 1 + T0, 1 + T0 + T0 T_mult, ...
    Defaults: T_mult = 1 (equal periods), eta_min = 0. T0 and T_mult are whole numbers (as torch).
    Robbins-Monro: False.
    """

    _arg_names = ("eta0", "T0", "T_mult", "eta_min")

    def __init__(self, eta0, T0, T_mult=1, eta_min=0.0):
        self.eta0 = _eta0(eta0, "eta0 (learning rate after each restart)")
        self.T0 = _count(T0, "T0 (steps before the first restart)")
        self.T_mult = _count(T_mult, "T_mult (growth factor of the period)")
        self.eta_min = _eta_min(eta_min, self.eta0)

    def restart_position(self, t: int) -> tuple[int, int]:
        """(T_cur, T_i) at step t: steps since the last restart and the current period."""
        T_cur, T_i = t - 1, self.T0
        if self.T_mult == 1:
            return T_cur % T_i, T_i
        while T_cur >= T_i:          # integer arithmetic: no log() rounding at the boundaries
            T_cur -= T_i
            T_i *= self.T_mult
        return T_cur, T_i

    def _eta(self, t):
        T_cur, T_i = self.restart_position(t)
        return self.eta_min + (self.eta0 - self.eta_min) * (1 + math.cos(math.pi * T_cur / T_i)) / 2

    @property
    def robbins_monro(self):
        return False


# ------------------------------------------------------------------------------------------
# The Robbins-Monro check (chapter 03): the two partial sums as curves, and the verdict
# ------------------------------------------------------------------------------------------

def robbins_monro_conditions(schedule) -> tuple[bool | None, bool | None]:
    """(sum_t eta_t diverges, sum_t eta_t^2 converges), decided from the schedule's arguments.

    constant: (True, False). inverse_time: (True, True). power c / t^p: (p <= 1, p > 1/2).
    step_decay, exponential with gamma < 1: (False, True) (a geometric series; gamma = 1 is
    constant). cosine, cosine_warm_restarts, cyclic "triangular": periodic with a positive mean,
    (True, False); cyclic "triangular2" / "exp_range" with gamma < 1 shrink geometrically:
    (False, True) when eta_min = 0, else (True, False). Any other schedule: (None, None).
    Both True <=> ``schedule.robbins_monro``.
    """
    if isinstance(schedule, constant):
        return True, False
    if isinstance(schedule, inverse_time):
        return True, True
    if isinstance(schedule, power):
        return schedule.p <= 1, schedule.p > 0.5
    if isinstance(schedule, (step_decay, exponential)):
        return (True, False) if schedule.gamma == 1 else (False, True)
    if isinstance(schedule, (cosine, cosine_warm_restarts)):
        return True, False
    if isinstance(schedule, cyclic):
        shrinks = schedule.mode == "triangular2" or (schedule.mode == "exp_range" and schedule.gamma < 1)
        return (False, True) if shrinks and schedule.eta_min == 0 else (True, False)
    return None, None


def _eta_array(schedule, T: int) -> np.ndarray:
    """eta_1 .. eta_T as one NumPy expression (the formulas of the classes above); other
    schedules fall back to ``schedule.values(T)``."""
    t = np.arange(1, T + 1, dtype=float)
    e = t - 1
    s = schedule
    if isinstance(s, constant):
        return np.full(T, s.eta)
    if isinstance(s, inverse_time):
        return s.eta0 / t
    if isinstance(s, power):
        return s.c / t ** s.p
    if isinstance(s, step_decay):
        return s.eta0 * s.gamma ** ((np.arange(T)) // s.step_size)
    if isinstance(s, exponential):
        return s.eta0 * s.gamma ** e
    if isinstance(s, cosine):
        return s.eta_min + (s.eta0 - s.eta_min) * (1 + np.cos(np.pi * e / s.T)) / 2
    if isinstance(s, cosine_warm_restarts):
        if s.T_mult == 1:
            T_cur, T_i = e % s.T0, float(s.T0)
        else:
            starts, period = [0], s.T0
            while starts[-1] <= T:
                starts.append(starts[-1] + period)
                period *= s.T_mult
            k = np.searchsorted(np.array(starts, dtype=float), e, side="right") - 1
            T_cur, T_i = e - np.array(starts, dtype=float)[k], s.T0 * float(s.T_mult) ** k
        return s.eta_min + (s.eta0 - s.eta_min) * (1 + np.cos(np.pi * T_cur / T_i)) / 2
    if isinstance(s, cyclic):
        total = float(s.step_size_up + s.step_size_down)
        ratio = s.step_size_up / total
        cycle = np.floor(1 + e / total)
        x = 1.0 + e / total - cycle
        up = np.where(x <= ratio, x / ratio, (x - 1) / (ratio - 1))
        scale = {"triangular": np.ones(T), "triangular2": 1 / 2.0 ** (cycle - 1),
                 "exp_range": s.gamma ** e}[s.mode]
        return s.eta_min + (s.eta_max - s.eta_min) * up * scale
    return schedule.values(T)


class RobbinsMonroCheck:
    """The Robbins-Monro conditions of one schedule, with the partial sums that illustrate them.

    Attributes: ``schedule``; ``t`` (checkpoints 1 .. steps, log-spaced); ``sum_eta`` and
    ``sum_eta_sq``, the partial sums S_1(t) = sum_{s <= t} eta_s and S_2(t) = sum_{s <= t} eta_s^2
    at those t; ``sum_diverges`` and ``sum_of_squares_converges`` (from
    :func:`robbins_monro_conditions`; None if undecidable); ``satisfied`` (both; None if unknown);
    ``verdict``, one line of plain words. ``plot(ax=None)`` draws S_1 and S_2 against t on log axes:
    a sum that converges levels off, one that diverges keeps climbing.
    """

    def __init__(self, schedule, t, sum_eta, sum_eta_sq):
        self.schedule = schedule
        self.t, self.sum_eta, self.sum_eta_sq = t, sum_eta, sum_eta_sq
        self.sum_diverges, self.sum_of_squares_converges = robbins_monro_conditions(schedule)

    @property
    def satisfied(self) -> bool | None:
        if self.sum_diverges is None or self.sum_of_squares_converges is None:
            return None
        return self.sum_diverges and self.sum_of_squares_converges

    @property
    def verdict(self) -> str:
        def says(flag, yes, no):
            return "undecided" if flag is None else (yes if flag else no)
        d = says(self.sum_diverges, "diverges", "converges")
        c = says(self.sum_of_squares_converges, "converges", "diverges")
        v = {True: "satisfied", False: "NOT satisfied", None: "undecided"}[self.satisfied]
        return f"{self.schedule!r}: sum eta_t {d}, sum eta_t^2 {c} -> Robbins-Monro {v}"

    def plot(self, ax=None, label: str | None = None):
        from ..plotting import curves  # pyplot only when a figure is drawn
        name = label or repr(self.schedule)
        return curves({rf"$\sum_{{s\leq t}} \eta_s$, {name}": (self.t, self.sum_eta),
                       rf"$\sum_{{s\leq t}} \eta_s^2$, {name}": (self.t, self.sum_eta_sq)},
                      title=self.verdict.split(": ", 1)[1], xlabel="step $t$",
                      ylabel="partial sum", logx=True, logy=True, ax=ax)

    def __repr__(self) -> str:
        return f"RobbinsMonroCheck({self.verdict})"


def robbins_monro_check(schedule, steps: int = 10 ** 6, points: int = 61) -> RobbinsMonroCheck:
    """Partial sums of eta_t and eta_t^2 up to t = ``steps`` (default 10^6) at ``points``
    log-spaced checkpoints, and the Robbins-Monro verdict (:class:`RobbinsMonroCheck`)."""
    if not callable(schedule):
        raise ValueError(f"schedule must be a function t -> eta_t, got {schedule!r}")
    steps = _count(steps, "steps (how far to sum)")
    points = _count(points, "points (checkpoints of the partial sums)", minimum=2)
    eta = np.asarray(_eta_array(schedule, steps), dtype=float)
    t = np.unique(np.round(np.logspace(0, np.log10(steps), points)).astype(int))
    return RobbinsMonroCheck(schedule, t, np.cumsum(eta)[t - 1], np.cumsum(eta ** 2)[t - 1])


__all__ += ["robbins_monro_conditions", "robbins_monro_check", "RobbinsMonroCheck"]
