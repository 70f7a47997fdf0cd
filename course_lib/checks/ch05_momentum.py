"""Checks for chapter 05, momentum (solutions/05_momentum.ipynb).

    momentum_step(w, v, g, lr, mu) -> (w_new, v_new)   lecture form: v_new = mu v - lr g, w_new = w + v_new
    heavy_ball_tuning(lambda_min, lambda_max) -> (lr, mu, rate)   Polyak's optimal setting on a quadratic
    momentum_converges(lr, mu, lam) -> bool           does heavy ball converge on f(w) = lam w^2 / 2?

References are written directly in NumPy (float64), each next to the plausible wrong answers its
check recognises. The cases are chosen so that no wrong formula below agrees with the right one on
all of them: velocities that are not zero, mu far from 1/2 (where 1 - mu = mu), steps between GD's
limit 2 and heavy ball's 2 + 2 mu, and curvatures near both ends of the convergence region.
"""
from __future__ import annotations

import math

import numpy as np

from .core import (Case, Exercise, Mismatch, Mistake, as_sequence, compare_arrays, compare_scalars,
                   describe_kind)

CHAPTER = "05_momentum"

# ---------------------------------------------------------------------------------------------
# (a) one step of momentum in the lecture form


def momentum_step_reference(w, v, g, lr, mu):
    """v_new = mu v - lr g, w_new = w + v_new (Nielsen ch. 3; Polyak's heavy ball). Arrays (d,)."""
    v_new = mu * v - lr * g
    return w + v_new, v_new


def _ms_pytorch(w, v, g, lr, mu):
    b_new = mu * v + g
    return w - lr * b_new, b_new


def _ms_old_velocity(w, v, g, lr, mu):
    return w + v, mu * v - lr * g


def _ms_friction(w, v, g, lr, mu):
    v_new = (1 - mu) * v - lr * g
    return w + v_new, v_new


def _ms_sign(w, v, g, lr, mu):
    v_new = mu * v + lr * g
    return w + v_new, v_new


def _ms_swapped(w, v, g, lr, mu):
    w_new, v_new = momentum_step_reference(w, v, g, lr, mu)
    return v_new, w_new


def _ms_gd(w, v, g, lr, mu):
    return w - lr * g, -lr * g


MOMENTUM_STEP_MISTAKES = [
    Mistake("PyTorch's buffer form", _ms_pytorch,
            "that is PyTorch's buffer form b = mu b + g, w = w - lr b. This exercise uses the "
            "lecture's velocity, which already contains the learning rate: v_new = mu v - lr g, "
            "w_new = w + v_new"),
    Mistake("position moved with the old velocity", _ms_old_velocity,
            "update the velocity first and move with the NEW one: w_new = w + v_new, not w + v"),
    Mistake("friction applied to v", _ms_friction,
            "mu multiplies the old velocity: v_new = mu v - lr g. The friction 1 - mu is what is "
            "lost per step; it does not appear in the formula itself"),
    Mistake("gradient added", _ms_sign,
            "the gradient points uphill: v_new = mu v - lr g (minus)"),
    Mistake("w and v swapped", _ms_swapped,
            "return the new position first: return w_new, v_new"),
    Mistake("plain GD step", _ms_gd,
            "this is gradient descent, which forgets the old velocity: keep mu v in v_new = mu v - lr g"),
]


def _ms_case(name, w, v, g, lr, mu):
    return Case(name, {"w": np.asarray(w, dtype=float), "v": np.asarray(v, dtype=float),
                       "g": np.asarray(g, dtype=float), "lr": float(lr), "mu": float(mu)})


def _ms_fixed():
    rng = np.random.default_rng(50)
    return [
        _ms_case("first step (v = 0)", [1.0, -2.0], [0.0, 0.0], [0.5, 1.0], 0.1, 0.9),
        _ms_case("coasting on a flat spot (g = 0)", [1.0, -2.0], [0.3, -0.2], [0.0, 0.0], 0.1, 0.9),
        _ms_case("a general step (d = 3)", [0.5, -1.0, 2.0], [0.2, 0.1, -0.4], [1.0, -3.0, 0.5], 0.2, 0.75),
        _ms_case("mu = 0 is plain GD", [2.0, 1.0], [0.7, -0.3], [-1.0, 4.0], 0.05, 0.0),
        _ms_case("large step, little momentum (lr = 1.5, mu = 0.3)", rng.normal(size=4),
                 rng.normal(size=4), rng.normal(size=4), 1.5, 0.3),
        _ms_case("one parameter (d = 1)", [3.0], [-0.5], [2.0], 0.3, 0.99),
    ]


def _ms_random(rng, k):
    cases = []
    for i in range(k):
        d = int(rng.integers(2, 7))
        mu = float(rng.choice([rng.uniform(0.05, 0.4), rng.uniform(0.6, 0.99)]))
        cases.append(_ms_case(f"random {i + 1} (d={d}, mu={mu:.2f})", rng.normal(size=d),
                              rng.normal(size=d), 3.0 * rng.normal(size=d),
                              float(rng.uniform(0.01, 1.0)), mu))
    return cases


def _pair_compare(expected, got, names, function):
    """Compare a returned pair of arrays (e.g. w_new, v_new) entry by entry."""
    (e, _), (g, _) = expected, got
    if isinstance(g, np.ndarray):                      # one array (which as_sequence would unpack)
        return Mismatch(f"{function} returned {describe_kind(g)}; return the pair ({names}) of two "
                        f"arrays, e.g. `return {names}`")
    items, mismatch = as_sequence(g, 2, names, function)
    if mismatch:
        return mismatch
    problems = []
    for what, e_i, g_i in zip(names.split(", "), e, items):
        m = compare_arrays(e_i, g_i, rtol=1e-10, atol=1e-12, what=what)
        if m is not None:
            problems.append(m.text if m.text.startswith(what + " ")
                            else f"{what}:\n" + "\n".join("  " + s for s in m.text.splitlines()))
    return Mismatch("\n".join(problems)) if problems else None


def _ms_compare(expected, got, case):
    return _pair_compare(expected, got, "w_new, v_new", "momentum_step")


MOMENTUM_STEP = Exercise(
    name="momentum_step", points=3, reference=momentum_step_reference,
    fixed_cases=_ms_fixed, random_cases=_ms_random, compare=_ms_compare,
    mistakes=MOMENTUM_STEP_MISTAKES, n_random=2, seed=51, chapter=CHAPTER,
    inplace_example="e.g. v_new = mu * v - lr * g, not v *= mu")

# ---------------------------------------------------------------------------------------------
# (b) Polyak's optimal heavy-ball setting on a quadratic


def heavy_ball_tuning_reference(lambda_min, lambda_max):
    """(lr, mu, rate) = ((2 / (sqrt(l_min) + sqrt(l_max)))^2, ((sqrt(k) - 1)/(sqrt(k) + 1))^2,
    (sqrt(k) - 1)/(sqrt(k) + 1)) with k = l_max / l_min (Polyak 1964)."""
    s = math.sqrt(lambda_max / lambda_min)
    rate = (s - 1) / (s + 1)
    return (2 / (math.sqrt(lambda_min) + math.sqrt(lambda_max))) ** 2, rate ** 2, rate


def _hb_parts(lambda_min, lambda_max):
    lr, mu, rate = heavy_ball_tuning_reference(lambda_min, lambda_max)
    return lr, mu, rate, lambda_max / lambda_min


def _hb_mu_not_squared(lambda_min, lambda_max):
    lr, mu, rate, _ = _hb_parts(lambda_min, lambda_max)
    return lr, rate, rate


def _hb_gd_step(lambda_min, lambda_max):
    lr, mu, rate, _ = _hb_parts(lambda_min, lambda_max)
    return 2 / (lambda_min + lambda_max), mu, rate


def _hb_gd_rate(lambda_min, lambda_max):
    lr, mu, rate, kappa = _hb_parts(lambda_min, lambda_max)
    return lr, mu, (kappa - 1) / (kappa + 1)


def _hb_rate_squared(lambda_min, lambda_max):
    lr, mu, rate, _ = _hb_parts(lambda_min, lambda_max)
    return lr, mu, mu


def _hb_step_not_squared(lambda_min, lambda_max):
    lr, mu, rate, _ = _hb_parts(lambda_min, lambda_max)
    return 2 / (math.sqrt(lambda_min) + math.sqrt(lambda_max)), mu, rate


HEAVY_BALL_MISTAKES = [
    Mistake("mu not squared", _hb_mu_not_squared,
            "the momentum is the SQUARE of (sqrt(kappa) - 1) / (sqrt(kappa) + 1); that ratio itself "
            "is the rate (the modulus sqrt(mu) of the double roots)"),
    Mistake("GD's step", _hb_gd_step,
            "2 / (lambda_min + lambda_max) is GD's best step; heavy ball's is "
            "(2 / (sqrt(lambda_min) + sqrt(lambda_max)))^2, larger"),
    Mistake("GD's rate", _hb_gd_rate,
            "(kappa - 1) / (kappa + 1) is plain GD's rate; momentum's has sqrt(kappa) in place of kappa"),
    Mistake("rate = mu", _hb_rate_squared,
            "the rate is sqrt(mu) = (sqrt(kappa) - 1) / (sqrt(kappa) + 1), not mu itself: at this "
            "setting both roots have modulus sqrt(mu) (their product is mu)"),
    Mistake("step not squared", _hb_step_not_squared,
            "square it: lr = (2 / (sqrt(lambda_min) + sqrt(lambda_max)))^2 = 4 / (sqrt(l_min) + sqrt(l_max))^2"),
]


def _hb_case(name, lmin, lmax):
    return Case(name, {"lambda_min": float(lmin), "lambda_max": float(lmax)})


def _hb_fixed():
    return [
        _hb_case("the bowl w_1^2/20 + w_2^2 (kappa = 20)", 0.1, 2.0),
        _hb_case("kappa = 4 (sqrt(kappa) = 2)", 2.0, 8.0),
        _hb_case("a round bowl (kappa = 1)", 3.0, 3.0),
        _hb_case("kappa = 100", 0.5, 50.0),
        _hb_case("very ill-conditioned (kappa = 1e4)", 1e-3, 10.0),
    ]


def _hb_random(rng, k):
    cases = []
    for i in range(k):
        lmin = float(np.exp(rng.uniform(np.log(1e-3), np.log(10.0))))
        kappa = float(np.exp(rng.uniform(np.log(1.5), np.log(1e4))))
        cases.append(_hb_case(f"random {i + 1} (kappa = {kappa:.3g})", lmin, lmin * kappa))
    return cases


def _hb_compare(expected, got, case):
    (e, _), (g, _) = expected, got
    items, mismatch = as_sequence(g, 3, "lr, mu, rate", "heavy_ball_tuning")
    if mismatch:
        return mismatch
    problems = [m.text for m in (compare_scalars(x, y, rtol=1e-10, atol=1e-12, what=what)
                                 for what, x, y in zip(("lr", "mu", "rate"), e, items))
                if m is not None]
    return Mismatch("\n".join(problems)) if problems else None


HEAVY_BALL_TUNING = Exercise(
    name="heavy_ball_tuning", points=2, reference=heavy_ball_tuning_reference,
    fixed_cases=_hb_fixed, random_cases=_hb_random, compare=_hb_compare,
    mistakes=HEAVY_BALL_MISTAKES, n_random=2, seed=52, chapter=CHAPTER)

# ---------------------------------------------------------------------------------------------
# (c) the convergence region of heavy ball on a 1-D quadratic


def momentum_converges_reference(lr, mu, lam):
    """True iff heavy ball (0 <= mu < 1, lr > 0) converges on f(w) = lam w^2 / 2 from every start:
    0 < lr lam < 2 + 2 mu (both roots of z^2 - (1 + mu - lr lam) z + mu inside the unit circle)."""
    return bool(0 < lr * lam < 2 + 2 * mu)


MOMENTUM_CONVERGES_MISTAKES = [
    Mistake("2 + mu instead of 2 + 2 mu", lambda lr, mu, lam: bool(0 < lr * lam < 2 + mu),
            "the edge is where a root reaches -1: 1 + (1 + mu - lr lam) + mu = 0, i.e. "
            "lr lam = 2 + 2 mu (not 2 + mu)"),
    Mistake("GD's region", lambda lr, mu, lam: bool(0 < lr * lam < 2),
            "2 / lam is GD's limit; momentum tolerates steps up to (2 + 2 mu) / lam"),
    Mistake("negative curvature allowed", lambda lr, mu, lam: bool(lr * lam < 2 + 2 * mu),
            "there is also a lower edge: with lam <= 0 there is no minimum to converge to (the "
            "root 1 is reached at lr lam = 0), so require 0 < lr lam"),
    Mistake("Nesterov's region", lambda lr, mu, lam: bool(0 < lr * lam < (2 + 2 * mu) / (1 + 2 * mu)),
            "(2 + 2 mu) / (1 + 2 mu) is the edge of Nesterov's method (chapter 06); classical "
            "momentum's is 2 + 2 mu"),
    Mistake("only |mu| < 1 checked", lambda lr, mu, lam: bool(abs(mu) < 1),
            "sqrt(mu) is the size of the roots only while they are complex; for a large lr lam they "
            "are real and one of them leaves the unit circle: the step size matters"),
]


def _mc_case(name, lr, mu, lam):
    return Case(name, {"lr": float(lr), "mu": float(mu), "lam": float(lam)})


def _mc_fixed():
    # the order matters: each wrong region first fails on a case where no earlier one does
    return [
        _mc_case("plain GD (mu = 0), lr lam = 1.5", 0.5, 0.0, 3.0),
        _mc_case("plain GD (mu = 0), lr lam = 2.1: past GD's limit", 0.7, 0.0, 3.0),
        _mc_case("mu = 0.9, lr lam = 1.9", 0.95, 0.9, 2.0),
        _mc_case("mu = 0.3, lr lam = 2.2: past GD's limit", 1.1, 0.3, 2.0),
        _mc_case("mu = 0.9, lr lam = 3.6", 1.2, 0.9, 3.0),
        _mc_case("just inside the edge: mu = 0.75, lr lam = 0.999 (2 + 2 mu)", 0.5, 0.75, 6.993),
        _mc_case("just outside the edge: mu = 0.75, lr lam = 1.001 (2 + 2 mu)", 0.5, 0.75, 7.007),
        _mc_case("negative curvature (a maximum, lam = -1)", 0.1, 0.9, -1.0),
        _mc_case("flat (lam = 0)", 0.1, 0.5, 0.0),
        _mc_case("a tiny step with mu = 0.99 (lr lam = 0.001)", 0.001, 0.99, 1.0),
        _mc_case("mu = 0.99, lr lam = 3.97", 1.0, 0.99, 3.97),
    ]


def _mc_random(rng, k):
    cases = []
    for i in range(k):
        mu = float(rng.uniform(0.0, 0.99))
        edge = 2 + 2 * mu
        x = float(rng.choice([rng.uniform(0.05, 0.99), rng.uniform(1.01, 1.5)]))  # a / edge
        lr = float(rng.uniform(0.05, 2.0))
        cases.append(_mc_case(f"random {i + 1} (mu = {mu:.2f}, lr lam = {x:.2f} (2 + 2 mu))",
                              lr, mu, x * edge / lr))
    return cases


def _mc_compare(expected, got, case):
    (e, _), (g, _) = expected, got
    if isinstance(g, np.ndarray) and g.shape == () and g.dtype == bool:
        g = bool(g)
    if not isinstance(g, (bool, np.bool_)):
        if g is None:
            return Mismatch("your answer is None: did you forget `return`?")
        return Mismatch(f"your answer is {describe_kind(g)}; return True or False "
                        "(e.g. return bool(0 < lr * lam < ...))")
    if bool(g) != bool(e):
        a = case.args["lr"] * case.args["lam"]
        return Mismatch(f"expected {bool(e)}, got {bool(g)}\n"
                        f"(here lr lam = {a:.6g} and 2 + 2 mu = {2 + 2 * case.args['mu']:.6g})")
    return None


MOMENTUM_CONVERGES = Exercise(
    name="momentum_converges", points=3, reference=momentum_converges_reference,
    fixed_cases=_mc_fixed, random_cases=_mc_random, compare=_mc_compare,
    mistakes=MOMENTUM_CONVERGES_MISTAKES, n_random=2, seed=53, chapter=CHAPTER)

EXERCISES = [MOMENTUM_STEP, HEAVY_BALL_TUNING, MOMENTUM_CONVERGES]
