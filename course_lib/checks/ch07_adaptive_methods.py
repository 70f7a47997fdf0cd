"""Checks for chapter 07, adaptive learning rates (solutions/07_adaptive_methods.ipynb).

    adagrad_step(w, G, g, lr, eps) -> (w_new, G_new)
        G_new = G + g^2,   w_new = w - lr g / (sqrt(G_new) + eps)
    rmsprop_step(w, s, g, lr, alpha, eps) -> (w_new, s_new)
        s_new = alpha s + (1 - alpha) g^2,   w_new = w - lr g / (sqrt(s_new) + eps)
    adam_step(w, m, v, g, t, lr, beta1, beta2, eps) -> (w_new, m_new, v_new)
        m_new = beta1 m + (1 - beta1) g,   v_new = beta2 v + (1 - beta2) g^2   (stored uncorrected)
        w_new = w - lr m_hat / (sqrt(v_hat) + eps),  m_hat = m_new / (1 - beta1^t),
        v_hat = v_new / (1 - beta2^t),  t = 1 on the first step

Every operation is elementwise and eps sits outside the square root (PyTorch's placement). The
references are direct NumPy transcriptions (float64); they agree with course_lib.optim and
torch.optim (tests/test_checks_ch07.py).

Answers are compared entry by entry, each entry relative to its own scale: the gradients of the cases
span several orders of magnitude per coordinate (as in a network), and a wrong formula that only
spoils the small coordinates must not hide behind the large ones. The cases are chosen so that the
plausible wrong formulas differ from the right one: states that are not zero, large eps (where its
place matters), t = 1 and t > 1 (several errata agree with the right formula at t = 1), a zero
gradient in one coordinate, and betas other than the defaults.
"""
from __future__ import annotations

import numpy as np

from .core import Case, Exercise, Mismatch, Mistake, as_sequence, compare_arrays, format_value

CHAPTER = "07_adaptive_methods"
RTOL = 1e-9   # relative to each entry's own scale; correct float64 answers agree to ~1e-15


def _close_each(expected, got, scale, what):
    """compare_arrays for the type and shape, then |got_i - expected_i| <= RTOL * scale_i per entry."""
    mismatch = compare_arrays(expected, got, rtol=RTOL, atol=1e-300, what=what)
    if mismatch is not None and (not isinstance(got, np.ndarray) or got.shape != np.shape(expected)
                                 or not np.isfinite(np.asarray(got, dtype=float)).all()
                                 or got.dtype.kind not in "iuf"):
        return mismatch  # not an array of the right shape and kind: say that first
    e = np.asarray(expected, dtype=float)
    g = np.asarray(got, dtype=float)
    tol = RTOL * np.maximum(np.asarray(scale, dtype=float), 1e-300)
    bad = np.abs(g - e) > tol
    if not bad.any():
        return None
    i = int(np.flatnonzero(bad.ravel())[0])
    return Mismatch(f"{what}:\n"
                    f"  expected: {format_value(e)}\n"
                    f"  got:      {format_value(g)}\n"
                    f"  entry {i} is off: expected {format_value(e.ravel()[i], 10)}, got "
                    f"{format_value(g.ravel()[i], 10)} (relative error "
                    f"{abs(g.ravel()[i] - e.ravel()[i]) / max(abs(e.ravel()[i]), 1e-300):.1e})")


def _compare_tuple(expected, got, names, scales, fname):
    (e_out, _), (g_out, _) = expected, got
    items, mismatch = as_sequence(g_out, len(names), ", ".join(names), fname)
    if mismatch:
        return mismatch
    problems = [m.text for m in (_close_each(e, g, s, name)
                                 for e, g, s, name in zip(e_out, items, scales, names)) if m is not None]
    return Mismatch("\n".join(problems)) if problems else None


def _arr(x):
    return np.asarray(x, dtype=float)


def _mixed_gradient(rng, d):
    """Gradient entries of very different sizes (10^-3 .. 10^2) and random signs."""
    return rng.choice([-1.0, 1.0], size=d) * 10.0 ** rng.uniform(-3, 2, size=d)


# ---------------------------------------------------------------------------------------------
# (a) AdaGrad


def adagrad_step_reference(w, G, g, lr, eps):
    """G_new = G + g^2; w_new = w - lr g / (sqrt(G_new) + eps). Returns (w_new, G_new)."""
    G_new = G + g ** 2
    return w - lr * g / (np.sqrt(G_new) + eps), G_new


def _ag_old_G(w, G, g, lr, eps):
    return w - lr * g / (np.sqrt(G) + eps), G + g ** 2


def _ag_eps_inside(w, G, g, lr, eps):
    G_new = G + g ** 2
    return w - lr * g / np.sqrt(G_new + eps), G_new


def _ag_abs(w, G, g, lr, eps):
    G_new = G + np.abs(g)
    return w - lr * g / (np.sqrt(G_new) + eps), G_new


def _ag_no_sqrt(w, G, g, lr, eps):
    G_new = G + g ** 2
    return w - lr * g / (G_new + eps), G_new


def _ag_no_memory(w, G, g, lr, eps):
    G_new = g ** 2
    return w - lr * g / (np.sqrt(G_new) + eps), G_new


def _ag_ascent(w, G, g, lr, eps):
    G_new = G + g ** 2
    return w + lr * g / (np.sqrt(G_new) + eps), G_new


ADAGRAD_MISTAKES = [
    Mistake("old G in the step", _ag_old_G,
            "add g^2 to G first and divide by the square root of the NEW sum: "
            "G_new = G + g**2, then w - lr * g / (sqrt(G_new) + eps)"),
    Mistake("eps inside the square root", _ag_eps_inside,
            "here eps goes outside the root, as in PyTorch: sqrt(G_new) + eps. sqrt(G_new + eps) is "
            "the lecture form; the two differ visibly when eps is not tiny compared with G_new"),
    Mistake("|g| instead of g^2", _ag_abs,
            "G accumulates the squared gradients, G + g**2, so that sqrt(G) has the units of g"),
    Mistake("square root missing", _ag_no_sqrt,
            "divide by the square root of the accumulated squares, sqrt(G_new) + eps, not by G_new"),
    Mistake("G forgets the past", _ag_no_memory,
            "AdaGrad's G is the running SUM of all squared gradients: G_new = G + g**2 (keeping only "
            "g**2 makes every step lr * sign(g))"),
    Mistake("gradient ascent", _ag_ascent,
            "step against the gradient: w - lr * g / (...)"),
]


def _ag_case(name, w, G, g, lr, eps):
    return Case(name, {"w": _arr(w), "G": _arr(G), "g": _arr(g), "lr": float(lr), "eps": float(eps)})


def _ag_fixed():
    return [
        _ag_case("typical step (G > 0, gradients of mixed size)", [0.5, -1.2, 2.0, 0.1],
                 [4.0, 1e-6, 0.25, 900.0], [1.5, -2e-3, 0.4, 25.0], 0.1, 1e-10),
        _ag_case("first step (G = 0)", [1.0, -1.0, 0.3], [0.0, 0.0, 0.0], [0.2, -30.0, 1e-3], 0.05, 1e-10),
        _ag_case("large eps = 1", [0.2, -0.7, 1.1], [0.5, 2.0, 0.01], [0.3, -1.0, 0.05], 0.5, 1.0),
        _ag_case("a rare feature: g = 0 in one coordinate", [1.0, 2.0, -0.5], [9.0, 0.04, 1.0],
                 [0.0, 0.1, -2.0], 0.2, 1e-8),
        _ag_case("one weight", [3.0], [2.5], [-0.7], 0.01, 1e-7),
    ]


def _ag_random(rng, k):
    cases = []
    for i in range(k):
        d = int(rng.integers(2, 7))
        g = _mixed_gradient(rng, d)
        G = (10.0 ** rng.uniform(-3, 2, size=d)) ** 2 * rng.integers(0, 5, size=d)
        eps = float(rng.choice([1e-10, 1e-8, 1e-3, 0.5]))
        cases.append(_ag_case(f"random {i + 1} (d={d}, eps={eps:g})", rng.normal(size=d), G, g,
                              float(10.0 ** rng.uniform(-3, -0.3)), eps))
    return cases


def _w_scale(a, w_new):
    """Scale of each entry of w_new: |w| + |the step| (so that w_new close to 0 is still judged fairly)."""
    return np.abs(a["w"]) + np.abs(w_new - a["w"])


def _compare_step(expected, got, case, fname, names, state_scales):
    """Compare a step function's (w_new, *states) entrywise; state_scales: one scale array per state."""
    return _compare_tuple(expected, got, names, [_w_scale(case.args, expected[0][0]), *state_scales], fname)


def _ag_compare(expected, got, case):
    a = case.args
    return _compare_step(expected, got, case, "adagrad_step", ["w_new", "G_new"], [a["G"] + a["g"] ** 2])


ADAGRAD_STEP = Exercise(
    name="adagrad_step", points=2, reference=adagrad_step_reference,
    fixed_cases=_ag_fixed, random_cases=_ag_random, compare=_ag_compare,
    mistakes=ADAGRAD_MISTAKES, n_random=2, seed=70, chapter=CHAPTER,
    inplace_example="e.g. G_new = G + g**2, not G += g**2")

# ---------------------------------------------------------------------------------------------
# (b) RMSprop


def rmsprop_step_reference(w, s, g, lr, alpha, eps):
    """s_new = alpha s + (1 - alpha) g^2; w_new = w - lr g / (sqrt(s_new) + eps). Returns (w_new, s_new)."""
    s_new = alpha * s + (1 - alpha) * g ** 2
    return w - lr * g / (np.sqrt(s_new) + eps), s_new


def _rms_swapped(w, s, g, lr, alpha, eps):
    s_new = (1 - alpha) * s + alpha * g ** 2
    return w - lr * g / (np.sqrt(s_new) + eps), s_new


def _rms_eps_inside(w, s, g, lr, alpha, eps):
    s_new = alpha * s + (1 - alpha) * g ** 2
    return w - lr * g / np.sqrt(s_new + eps), s_new


def _rms_old_s(w, s, g, lr, alpha, eps):
    s_new = alpha * s + (1 - alpha) * g ** 2
    return w - lr * g / (np.sqrt(s) + eps), s_new


def _rms_no_one_minus(w, s, g, lr, alpha, eps):
    s_new = alpha * s + g ** 2
    return w - lr * g / (np.sqrt(s_new) + eps), s_new


def _rms_adagrad(w, s, g, lr, alpha, eps):
    s_new = s + g ** 2
    return w - lr * g / (np.sqrt(s_new) + eps), s_new


def _rms_no_sqrt(w, s, g, lr, alpha, eps):
    s_new = alpha * s + (1 - alpha) * g ** 2
    return w - lr * g / (s_new + eps), s_new


RMSPROP_MISTAKES = [
    Mistake("weights swapped in the average", _rms_swapped,
            "alpha multiplies the OLD average and (1 - alpha) the new g^2: s_new = alpha * s + "
            "(1 - alpha) * g**2; with alpha = 0.99 the average changes slowly"),
    Mistake("eps inside the square root", _rms_eps_inside,
            "here eps goes outside the root, as in PyTorch: sqrt(s_new) + eps. sqrt(s_new + eps) is "
            "the lecture form; the two differ visibly when eps is not tiny compared with s_new"),
    Mistake("old s in the step", _rms_old_s,
            "update the average first and divide by sqrt(s_new) + eps, the NEW average"),
    Mistake("(1 - alpha) missing", _rms_no_one_minus,
            "an exponential average weights the new term by (1 - alpha): s_new = alpha * s + "
            "(1 - alpha) * g**2 (without it s grows like AdaGrad's sum)"),
    Mistake("AdaGrad's sum", _rms_adagrad,
            "that is AdaGrad (G + g**2); RMSprop forgets old gradients: s_new = alpha * s + "
            "(1 - alpha) * g**2"),
    Mistake("square root missing", _rms_no_sqrt,
            "divide by the ROOT mean square: sqrt(s_new) + eps, not s_new"),
]


def _rms_case(name, w, s, g, lr, alpha, eps):
    return Case(name, {"w": _arr(w), "s": _arr(s), "g": _arr(g), "lr": float(lr), "alpha": float(alpha),
                       "eps": float(eps)})


def _rms_fixed():
    return [
        _rms_case("typical step (s > 0, gradients of mixed size)", [0.5, -1.2, 2.0, 0.1],
                  [4.0, 1e-6, 0.25, 900.0], [1.5, -2e-3, 0.4, 25.0], 0.01, 0.99, 1e-8),
        _rms_case("first step (s = 0)", [1.0, -1.0, 0.3], [0.0, 0.0, 0.0], [0.2, -30.0, 1e-3], 0.01, 0.99, 1e-8),
        _rms_case("the lectures' alpha = 0.9", [0.3, 0.8], [1.0, 0.01], [-0.5, 2.0], 0.05, 0.9, 1e-8),
        _rms_case("large eps = 0.5", [0.2, -0.7, 1.1], [0.5, 2.0, 0.01], [0.3, -1.0, 0.05], 0.1, 0.9, 0.5),
        _rms_case("g = 0 in one coordinate", [1.0, 2.0, -0.5], [9.0, 0.04, 1.0], [0.0, 0.1, -2.0],
                  0.02, 0.95, 1e-8),
        _rms_case("alpha = 0 (no memory)", [0.4, -0.4], [3.0, 0.5], [0.6, -0.02], 0.1, 0.0, 1e-8),
    ]


def _rms_random(rng, k):
    cases = []
    for i in range(k):
        d = int(rng.integers(2, 7))
        g = _mixed_gradient(rng, d)
        s = (10.0 ** rng.uniform(-3, 2, size=d)) ** 2
        alpha = float(rng.choice([0.9, 0.95, 0.99, 0.999]))
        eps = float(rng.choice([1e-8, 1e-6, 1e-2, 0.5]))
        cases.append(_rms_case(f"random {i + 1} (d={d}, alpha={alpha:g}, eps={eps:g})", rng.normal(size=d), s,
                               g, float(10.0 ** rng.uniform(-3, -1)), alpha, eps))
    return cases


def _rms_compare(expected, got, case):
    a = case.args
    return _compare_step(expected, got, case, "rmsprop_step", ["w_new", "s_new"],
                         [a["alpha"] * a["s"] + (1 - a["alpha"]) * a["g"] ** 2])


RMSPROP_STEP = Exercise(
    name="rmsprop_step", points=2, reference=rmsprop_step_reference,
    fixed_cases=_rms_fixed, random_cases=_rms_random, compare=_rms_compare,
    mistakes=RMSPROP_MISTAKES, n_random=2, seed=71, chapter=CHAPTER,
    inplace_example="e.g. s_new = alpha * s + (1 - alpha) * g**2, not s *= alpha")

# ---------------------------------------------------------------------------------------------
# (c) Adam


def adam_step_reference(w, m, v, g, t, lr, beta1, beta2, eps):
    """One Adam step (Kingma and Ba 2015, Algorithm 1, with eps outside the root as in PyTorch).

    m_new = beta1 m + (1 - beta1) g;  v_new = beta2 v + (1 - beta2) g^2;
    m_hat = m_new / (1 - beta1^t);  v_hat = v_new / (1 - beta2^t);
    w_new = w - lr m_hat / (sqrt(v_hat) + eps).   Returns (w_new, m_new, v_new).
    """
    m_new = beta1 * m + (1 - beta1) * g
    v_new = beta2 * v + (1 - beta2) * g ** 2
    m_hat = m_new / (1 - beta1 ** t)
    v_hat = v_new / (1 - beta2 ** t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m_new, v_new


def _adam_with(c1, c2, w, m, v, g, lr, beta1, beta2, eps):
    """The Adam step with the bias corrections c1, c2 (m_hat = m_new / c1, v_hat = v_new / c2)."""
    m_new = beta1 * m + (1 - beta1) * g
    v_new = beta2 * v + (1 - beta2) * g ** 2
    return w - lr * (m_new / c1) / (np.sqrt(v_new / c2) + eps), m_new, v_new


def _adam_no_correction(w, m, v, g, t, lr, beta1, beta2, eps):
    return _adam_with(1.0, 1.0, w, m, v, g, lr, beta1, beta2, eps)


def _adam_power_of_one_minus(w, m, v, g, t, lr, beta1, beta2, eps):
    return _adam_with((1 - beta1) ** t, (1 - beta2) ** t, w, m, v, g, lr, beta1, beta2, eps)


def _adam_squared(w, m, v, g, t, lr, beta1, beta2, eps):
    return _adam_with(1 - beta1 ** 2, 1 - beta2 ** 2, w, m, v, g, lr, beta1, beta2, eps)


def _adam_t_plus_one(w, m, v, g, t, lr, beta1, beta2, eps):
    return _adam_with(1 - beta1 ** (t + 1), 1 - beta2 ** (t + 1), w, m, v, g, lr, beta1, beta2, eps)


def _adam_t_minus_one(w, m, v, g, t, lr, beta1, beta2, eps):
    return _adam_with(1 - beta1 ** (t - 1), 1 - beta2 ** (t - 1), w, m, v, g, lr, beta1, beta2, eps)


def _adam_inside_recursion(w, m, v, g, t, lr, beta1, beta2, eps):
    m_new = (beta1 * m + (1 - beta1) * g) / (1 - beta1 ** t)
    v_new = (beta2 * v + (1 - beta2) * g ** 2) / (1 - beta2 ** t)
    return w - lr * m_new / (np.sqrt(v_new) + eps), m_new, v_new


def _adam_eps_inside(w, m, v, g, t, lr, beta1, beta2, eps):
    m_new = beta1 * m + (1 - beta1) * g
    v_new = beta2 * v + (1 - beta2) * g ** 2
    m_hat, v_hat = m_new / (1 - beta1 ** t), v_new / (1 - beta2 ** t)
    return w - lr * m_hat / np.sqrt(v_hat + eps), m_new, v_new


def _adam_eps_hat(w, m, v, g, t, lr, beta1, beta2, eps):
    # Kingma and Ba's faster ordering with their eps-hat: lr_t = lr sqrt(1 - beta2^t) / (1 - beta1^t)
    m_new = beta1 * m + (1 - beta1) * g
    v_new = beta2 * v + (1 - beta2) * g ** 2
    lr_t = lr * np.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
    return w - lr_t * m_new / (np.sqrt(v_new) + eps), m_new, v_new


def _adam_betas_swapped(w, m, v, g, t, lr, beta1, beta2, eps):
    return adam_step_reference(w, m, v, g, t, lr, beta2, beta1, eps)


def _adam_g_not_squared(w, m, v, g, t, lr, beta1, beta2, eps):
    m_new = beta1 * m + (1 - beta1) * g
    v_new = beta2 * v + (1 - beta2) * np.abs(g)
    m_hat, v_hat = m_new / (1 - beta1 ** t), v_new / (1 - beta2 ** t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m_new, v_new


ADAM_MISTAKES = [
    Mistake("no bias correction", _adam_no_correction,
            "divide by the bias corrections before the step: m_hat = m_new / (1 - beta1**t), "
            "v_hat = v_new / (1 - beta2**t); m and v start at 0, so early on they are far too small"),
    Mistake("(1 - beta)^t erratum", _adam_power_of_one_minus,
            "a common erratum: the correction is 1 - beta**t (beta to the power t), not (1 - beta)**t; "
            "the two agree only at t = 1"),
    Mistake("exponent 2 instead of t", _adam_squared,
            "a common erratum: the correction is 1 - beta**t with the step counter t, not 1 - beta**2"),
    Mistake("t + 1 (t counted from 0)", _adam_t_plus_one,
            "t is the number of the step being taken, t = 1 on the first step: use beta**t as given, "
            "not beta**(t + 1)"),
    Mistake("t - 1 (the previous step's t)", _adam_t_minus_one,
            "t is the number of the step being taken (t = 1 on the first step, where 1 - beta**0 = 0 "
            "would divide by zero): use beta**t, not beta**(t - 1)"),
    Mistake("correction inside the recursion", _adam_inside_recursion,
            "a common erratum: return the UNcorrected m_new = beta1 m + (1 - beta1) g and v_new; the "
            "corrected m_hat, v_hat are used only in the step, never fed back into the averages"),
    Mistake("eps inside the square root", _adam_eps_inside,
            "here eps goes outside the root, as in PyTorch: sqrt(v_hat) + eps; sqrt(v_hat + eps) is "
            "the lecture form, visibly different when eps is not tiny compared with v_hat"),
    Mistake("eps-hat step-size form", _adam_eps_hat,
            "writing the corrections as lr_t = lr sqrt(1 - beta2**t) / (1 - beta1**t) and dividing by "
            "sqrt(v_new) + eps (Kingma and Ba's faster ordering) moves eps: it then acts as "
            "eps sqrt(1 - beta2**t) in the formula asked for. Divide by sqrt(v_new) / "
            "sqrt(1 - beta2**t) + eps instead (PyTorch's step-size form), or use m_hat, v_hat"),
    Mistake("betas swapped", _adam_betas_swapped,
            "beta1 belongs to the first moment m (the average of g), beta2 to the second moment v "
            "(the average of g**2)"),
    Mistake("|g| instead of g^2 in v", _adam_g_not_squared,
            "v averages the squared gradients: v_new = beta2 v + (1 - beta2) g**2"),
]


def _adam_case(name, w, m, v, g, t, lr, beta1, beta2, eps):
    return Case(name, {"w": _arr(w), "m": _arr(m), "v": _arr(v), "g": _arr(g), "t": int(t), "lr": float(lr),
                       "beta1": float(beta1), "beta2": float(beta2), "eps": float(eps)})


def _adam_fixed():
    w = [0.5, -1.2, 2.0, 0.1]
    g = [1.5, -2e-3, 0.4, 25.0]
    return [
        _adam_case("typical step t = 4 (m, v > 0, gradients of mixed size)", w, [0.3, -1e-3, 0.05, 8.0],
                   [0.004, 1e-8, 3e-4, 1.2], g, 4, 0.01, 0.9, 0.999, 1e-8),
        _adam_case("first step t = 1 (m = v = 0)", w, [0, 0, 0, 0], [0, 0, 0, 0], g, 1, 0.01, 0.9, 0.999, 1e-8),
        _adam_case("second step t = 2", [1.0, -1.0, 0.3], [0.02, -3.0, 1e-4], [4e-5, 0.9, 1e-9],
                   [0.2, -30.0, 1e-3], 2, 0.001, 0.9, 0.999, 1e-8),
        _adam_case("large eps = 0.1 at t = 5", [0.2, -0.7, 1.1], [0.1, -0.2, 0.01], [0.02, 0.1, 1e-3],
                   [0.3, -1.0, 0.05], 5, 0.1, 0.9, 0.999, 0.1),
        _adam_case("g = 0 in one coordinate, t = 10", [1.0, 2.0, -0.5], [0.4, 0.05, -0.8], [0.01, 1e-4, 0.02],
                   [0.0, 0.1, -2.0], 10, 0.01, 0.9, 0.999, 1e-8),
        _adam_case("late step t = 1000", [0.3, -0.3], [0.2, -0.05], [0.05, 0.003], [0.25, -0.04], 1000,
                   0.001, 0.9, 0.999, 1e-8),
        _adam_case("other betas (0.5, 0.8), t = 4", [0.3, 0.8], [0.5, -0.1], [0.3, 0.05], [-0.5, 2.0], 4,
                   0.05, 0.5, 0.8, 1e-8),
    ]


def _adam_random(rng, k):
    cases = []
    for i in range(k):
        d = int(rng.integers(2, 7))
        g = _mixed_gradient(rng, d)
        t = int(rng.integers(2, 60))
        m = 0.5 * _mixed_gradient(rng, d)
        v = (10.0 ** rng.uniform(-3, 2, size=d)) ** 2
        beta1, beta2 = float(rng.choice([0.8, 0.9, 0.95])), float(rng.choice([0.99, 0.999]))
        eps = float(rng.choice([1e-8, 1e-6, 1e-2, 0.3]))
        cases.append(_adam_case(f"random {i + 1} (d={d}, t={t}, eps={eps:g})", rng.normal(size=d), m, v, g, t,
                                float(10.0 ** rng.uniform(-3, -1)), beta1, beta2, eps))
    return cases


def _adam_compare(expected, got, case):
    a = case.args
    return _compare_step(expected, got, case, "adam_step", ["w_new", "m_new", "v_new"],
                         [a["beta1"] * np.abs(a["m"]) + (1 - a["beta1"]) * np.abs(a["g"]),
                          a["beta2"] * a["v"] + (1 - a["beta2"]) * a["g"] ** 2])


ADAM_STEP = Exercise(
    name="adam_step", points=3, reference=adam_step_reference,
    fixed_cases=_adam_fixed, random_cases=_adam_random, compare=_adam_compare,
    mistakes=ADAM_MISTAKES, n_random=2, seed=72, chapter=CHAPTER,
    inplace_example="e.g. m_new = beta1 * m + (1 - beta1) * g, not m *= beta1")

EXERCISES = [ADAGRAD_STEP, RMSPROP_STEP, ADAM_STEP]
