"""Checks for chapter 09, vanishing and exploding gradients (solutions/09_vanishing_exploding_gradients.ipynb).

    clip_grad_norm(grads, max_norm) -> (clipped, total_norm)   one total norm over all arrays, as
                                                               torch.nn.utils.clip_grad_norm_
    clip_grad_value(grads, clip_value) -> clipped              every entry clamped to [-c, c]
    init_std(fan_in, fan_out, scheme) -> std                   "xavier" sqrt(2 / (fan_in + fan_out)),
                                                               "he" sqrt(2 / fan_in)

`grads` is a list of NumPy arrays (one per parameter); a case stores them as the inputs "grads[0]",
"grads[1]", ... (arrays of different shapes stay apart). The answers return new arrays: the check
calls them on copies and fails an answer that changed them in place. Cases are chosen so that the
plausible wrong answers differ from the right one: some gradients below max_norm (never scale them
up), arrays each below max_norm but together above it (per-array clipping), fan_in != fan_out and
fan_in < fan_out (fan_out used instead of fan_in), both signs of every entry (only the upper bound
clamped).
"""
from __future__ import annotations

import copy

import numpy as np

from .core import Case, Exercise, Mismatch, Mistake, as_sequence, compare_arrays, compare_scalars, describe_kind

CHAPTER = "09_vanishing_exploding_gradients"
#: torch adds 1e-6 to the total norm before dividing (coef = max_norm / (total + 1e-6)); an answer
#: without it differs by at most 1e-6 / total relative, well inside this tolerance for total >= 0.5
CLIP_RTOL = 1e-5


def _as_list(grads):
    return [np.asarray(g, dtype=float) for g in grads]


def _total(grads):
    return float(np.sqrt(sum(float(np.sum(g * g)) for g in grads)))


def _grads_of(args):
    """The list of gradients stored in a case as "grads[0]", "grads[1]", ... (one input per array,
    so that arrays of different shapes stay separate arrays)."""
    return [v for k, v in args.items() if k.startswith("grads[")]


def _grads_case(name, grads, **rest):
    args = {f"grads[{i}]": np.asarray(g, dtype=float) for i, g in enumerate(grads)}
    args.update({k: float(v) for k, v in rest.items()})
    return Case(name, args)


def _list_call(objs, case):
    """Call f(grads, <number>) with a copy of the case's list of arrays; report the arrays as left."""
    args = copy.deepcopy(case.args)
    grads = _grads_of(args)
    (number,) = [v for k, v in args.items() if not k.startswith("grads[")]
    output = objs[0](grads, number)
    return output, {"grads_after": grads}


def _inputs_changed(got, case):
    after = got[1].get("grads_after") if isinstance(got[1], dict) else None
    before = _grads_of(case.args)
    if not isinstance(after, list) or len(after) != len(before):
        return False
    return any(not (isinstance(a, np.ndarray) and a.shape == b.shape and np.array_equal(a, b))
               for a, b in zip(after, before))


def _compare_list(expected, got, what, rtol):
    """A list of arrays against the expected list: a list/tuple of the same length and shapes."""
    if not isinstance(got, (list, tuple)):
        return Mismatch(f"{what} is {describe_kind(got)}; return a list with one array per gradient "
                        f"({len(expected)} here), e.g. [g * c for g in grads]")
    if len(got) != len(expected):
        return Mismatch(f"{what} holds {len(got)} arrays; expected {len(expected)}, one per gradient")
    for i, (e, g) in enumerate(zip(expected, got)):
        m = compare_arrays(e, g, rtol=rtol, atol=1e-12, what=f"{what}[{i}]")
        if m is not None:
            return m if m.text.startswith(what) else Mismatch(
                f"{what}[{i}]:\n" + "\n".join("  " + s for s in m.text.splitlines()), m.hint)
    return None


IN_PLACE = ("your function changed the arrays in grads in place; return new arrays instead "
            "(e.g. [g * coef for g in grads], not g *= coef)")

# ---------------------------------------------------------------------------------------------
# (a) clipping by the total norm


def clip_grad_norm_reference(grads, max_norm):
    """total = sqrt(sum_i ||g_i||^2) over all arrays; coef = max_norm / (total + 1e-6); if coef < 1
    every array is multiplied by coef, otherwise all are returned unchanged (as copies)."""
    grads = _as_list(grads)
    total = _total(grads)
    coef = max_norm / (total + 1e-6)
    return [g * coef if coef < 1 else g.copy() for g in grads], total


def _cn_per_array(grads, max_norm):
    grads = _as_list(grads)
    out = [g * min(1.0, max_norm / (np.linalg.norm(g) + 1e-6)) for g in grads]
    return out, _total(grads)


def _cn_scales_up(grads, max_norm):
    grads = _as_list(grads)
    total = _total(grads)
    return [g * (max_norm / total) for g in grads], total


def _cn_sum_of_norms(grads, max_norm):
    grads = _as_list(grads)
    total = float(sum(np.linalg.norm(g) for g in grads))
    coef = max_norm / (total + 1e-6)
    return [g * coef if coef < 1 else g.copy() for g in grads], total


def _cn_squared(grads, max_norm):
    grads = _as_list(grads)
    total = _total(grads) ** 2
    coef = max_norm / (total + 1e-6)
    return [g * coef if coef < 1 else g.copy() for g in grads], total


def _cn_norm_after(grads, max_norm):
    clipped, _ = clip_grad_norm_reference(grads, max_norm)
    return clipped, _total(clipped)


CLIP_NORM_MISTAKES = [
    Mistake("per-array clipping", _cn_per_array,
            "clip by the norm of all gradients together: total = sqrt(sum of ||g_i||^2 over every "
            "array), and one common factor for all of them; clipping each array by its own norm "
            "changes the direction of the step"),
    Mistake("small gradients scaled up", _cn_scales_up,
            "only gradients that are too long are shortened: multiply by max_norm / total only when "
            "total > max_norm (coef = min(1, max_norm / (total + 1e-6))); below it, leave them as they are"),
    Mistake("sum of the norms", _cn_sum_of_norms,
            "the total norm is the norm of all entries together, sqrt(sum_i ||g_i||^2), not the sum "
            "of the arrays' norms"),
    Mistake("squared norm", _cn_squared,
            "take the square root: total = sqrt(sum of the squares of all entries)"),
    Mistake("total norm after clipping", _cn_norm_after,
            "return the total norm *before* clipping, as torch.nn.utils.clip_grad_norm_ does (it "
            "tells you how large the gradient was)"),
]


def _cn_case(name, grads, max_norm):
    return _grads_case(name, grads, max_norm=max_norm)


def _cn_fixed():
    rng = np.random.default_rng(90)
    return [
        _cn_case("each array below max_norm, together above it", [[3.0, 0.0], [0.0, 4.0]], 4.5),
        _cn_case("total norm below max_norm (unchanged)", [[0.3, -0.4], [[0.5, 0.1], [-0.2, 0.3]]], 2.0),
        _cn_case("a matrix, a vector and a 1x1 array", [rng.normal(size=(3, 4)) * 5, rng.normal(size=4),
                                                        [[7.0]]], 1.0),
        _cn_case("one array", [rng.normal(size=6) * 3], 0.5),
    ]


def _cn_random(rng, k):
    cases = []
    for i in range(k):
        n_arrays = int(rng.integers(2, 5))
        grads = [rng.normal(size=tuple(int(s) for s in rng.integers(1, 5, size=int(rng.integers(1, 3)))))
                 * float(rng.uniform(0.5, 5)) for _ in range(n_arrays)]
        total = _total(grads)
        factor = float(rng.choice([0.3, 0.7, 1.5, 3.0]))
        cases.append(_cn_case(f"random {i + 1} ({n_arrays} arrays, max_norm = {factor:g} x total)",
                              grads, factor * total))
    return cases


def _cn_compare(expected, got, case):
    (e, _), (g, _) = expected, got
    items, mismatch = as_sequence(g, 2, "clipped, total_norm", "clip_grad_norm")
    if mismatch:
        return mismatch
    problems = [_compare_list(e[0], items[0], "clipped", CLIP_RTOL),
                compare_scalars(e[1], items[1], rtol=1e-10, atol=1e-12, what="total_norm")]
    problems = [p for p in problems if p is not None]
    if not problems and _inputs_changed(got, case):
        return Mismatch(IN_PLACE)
    if not problems:
        return None
    return Mismatch("\n".join(p.text for p in problems), next((p.hint for p in problems if p.hint), ""))


CLIP_GRAD_NORM = Exercise(
    name="clip_grad_norm", points=3, reference=clip_grad_norm_reference,
    fixed_cases=_cn_fixed, random_cases=_cn_random, compare=_cn_compare, call=_list_call,
    mistakes=CLIP_NORM_MISTAKES, n_random=2, seed=91, chapter=CHAPTER)

# ---------------------------------------------------------------------------------------------
# (b) clipping by value


def clip_grad_value_reference(grads, clip_value):
    """Every entry of every array clamped to [-clip_value, clip_value] (new arrays)."""
    return [np.clip(g, -clip_value, clip_value) for g in _as_list(grads)]


def _cv_upper_only(grads, clip_value):
    return [np.minimum(g, clip_value) for g in _as_list(grads)]


def _cv_zero_to_c(grads, clip_value):
    return [np.clip(g, 0.0, clip_value) for g in _as_list(grads)]


def _cv_by_norm(grads, clip_value):
    return [g * min(1.0, clip_value / (np.linalg.norm(g) + 1e-6)) for g in _as_list(grads)]


def _cv_abs(grads, clip_value):
    return [np.minimum(np.abs(g), clip_value) for g in _as_list(grads)]


CLIP_VALUE_MISTAKES = [
    Mistake("only the upper bound", _cv_upper_only,
            "clamp both sides: large negative entries must become -clip_value, np.clip(g, -c, c)"),
    Mistake("clamped to [0, c]", _cv_zero_to_c,
            "the interval is [-clip_value, clip_value]: negative gradient entries are kept (down to -c), not set to 0"),
    Mistake("clipped by norm instead", _cv_by_norm,
            "clipping by value clamps every entry on its own, np.clip(g, -c, c); scaling the whole "
            "array by its norm is clipping by norm"),
    Mistake("sign lost", _cv_abs,
            "keep the sign of each entry: np.clip(g, -c, c), not np.minimum(np.abs(g), c)"),
]


def _cv_case(name, grads, clip_value):
    return _grads_case(name, grads, clip_value=clip_value)


def _cv_fixed():
    rng = np.random.default_rng(92)
    return [
        _cv_case("entries on both sides of +-c", [[-3.0, -0.5, 0.2, 2.0], [[4.0, -1.5]]], 1.0),
        _cv_case("all entries inside [-c, c] (unchanged)", [[0.1, -0.2], [0.05]], 0.5),
        _cv_case("a matrix and a vector", [rng.normal(size=(3, 4)) * 2, rng.normal(size=5) * 2], 0.7),
    ]


def _cv_random(rng, k):
    cases = []
    for i in range(k):
        n_arrays = int(rng.integers(1, 4))
        grads = [rng.normal(size=tuple(int(s) for s in rng.integers(1, 5, size=int(rng.integers(1, 3))))) * 3
                 for _ in range(n_arrays)]
        cases.append(_cv_case(f"random {i + 1} ({n_arrays} arrays)", grads, float(rng.uniform(0.2, 2.0))))
    return cases


def _cv_compare(expected, got, case):
    (e, _), (g, _) = expected, got
    mismatch = _compare_list(e, g, "clipped", 1e-12)
    if mismatch is None and _inputs_changed(got, case):
        return Mismatch(IN_PLACE.replace("[g * coef for g in grads], not g *= coef",
                                         "[np.clip(g, -c, c) for g in grads], not np.clip(g, -c, c, out=g)"))
    return mismatch


CLIP_GRAD_VALUE = Exercise(
    name="clip_grad_value", points=2, reference=clip_grad_value_reference,
    fixed_cases=_cv_fixed, random_cases=_cv_random, compare=_cv_compare, call=_list_call,
    mistakes=CLIP_VALUE_MISTAKES, n_random=2, seed=93, chapter=CHAPTER)

# ---------------------------------------------------------------------------------------------
# (c) the standard deviation of Xavier and He initialisation


def init_std_reference(fan_in, fan_out, scheme):
    """"xavier": sqrt(2 / (fan_in + fan_out)) (Glorot and Bengio 2010); "he": sqrt(2 / fan_in)
    (He et al. 2015)."""
    if scheme == "xavier":
        return float(np.sqrt(2.0 / (fan_in + fan_out)))
    if scheme == "he":
        return float(np.sqrt(2.0 / fan_in))
    raise ValueError(f"scheme must be 'xavier' or 'he', got {scheme!r}")


def _is_variance(fan_in, fan_out, scheme):
    return init_std_reference(fan_in, fan_out, scheme) ** 2


def _is_swapped(fan_in, fan_out, scheme):
    return init_std_reference(fan_in, fan_out, {"xavier": "he", "he": "xavier"}[scheme])


def _is_fan_out(fan_in, fan_out, scheme):
    return init_std_reference(fan_out, fan_in, scheme)


def _is_saito_xavier(fan_in, fan_out, scheme):
    return float(np.sqrt(1.0 / fan_in)) if scheme == "xavier" else init_std_reference(fan_in, fan_out, scheme)


def _is_he_without_2(fan_in, fan_out, scheme):
    return float(np.sqrt(1.0 / fan_in)) if scheme == "he" else init_std_reference(fan_in, fan_out, scheme)


def _is_no_sqrt_product(fan_in, fan_out, scheme):
    return float(np.sqrt(2.0 / (fan_in * fan_out))) if scheme == "xavier" else init_std_reference(fan_in, fan_out, scheme)


INIT_MISTAKES = [
    Mistake("variance instead of std", _is_variance,
            "2 / (fan_in + fan_out) and 2 / fan_in are the *variances*; the standard deviation is their "
            "square root"),
    Mistake("schemes swapped", _is_swapped,
            "Xavier (Glorot) averages both fans, sqrt(2 / (fan_in + fan_out)); He uses the fan-in only, "
            "sqrt(2 / fan_in), for ReLU layers"),
    Mistake("fan_out instead of fan_in", _is_fan_out,
            "He's sqrt(2 / n) counts the inputs of a unit, n = fan_in (the rows of W): that keeps the "
            "forward signal's variance"),
    Mistake("the sqrt(1/n) form for Xavier", _is_saito_xavier,
            "sqrt(1 / fan_in) is the simplified form Deep Learning from Scratch calls Xavier; this "
            "exercise asks for Glorot and Bengio's sqrt(2 / (fan_in + fan_out))"),
    Mistake("He without the factor 2", _is_he_without_2,
            "ReLU zeroes half of its inputs and halves the variance; He's std sqrt(2 / fan_in) has the "
            "factor 2 that restores it"),
    Mistake("product of the fans", _is_no_sqrt_product,
            "Xavier divides by the sum of the fans, sqrt(2 / (fan_in + fan_out)), not their product"),
]


def _is_case(name, fan_in, fan_out, scheme):
    return Case(name, {"fan_in": int(fan_in), "fan_out": int(fan_out), "scheme": scheme})


def _is_fixed():
    return [
        _is_case("xavier, 784 -> 256", 784, 256, "xavier"),
        _is_case("he, 784 -> 256", 784, 256, "he"),
        _is_case("he, fan_in < fan_out (10 -> 64)", 10, 64, "he"),
        _is_case("xavier, fan_in < fan_out (10 -> 64)", 10, 64, "xavier"),
        _is_case("xavier, square layer (100 -> 100)", 100, 100, "xavier"),
    ]


def _is_random(rng, k):
    cases = []
    for i in range(k):
        fan_in, fan_out = (int(v) for v in rng.integers(2, 1000, size=2))
        if fan_in == fan_out:
            fan_out += 1
        scheme = ["xavier", "he"][i % 2]
        cases.append(_is_case(f"random {i + 1} ({scheme}, {fan_in} -> {fan_out})", fan_in, fan_out, scheme))
    return cases


def _is_compare(expected, got, case):
    (e, _), (g, _) = expected, got
    return compare_scalars(e, g, rtol=1e-12, atol=0.0, what="your standard deviation")


INIT_STD = Exercise(
    name="init_std", points=2, reference=init_std_reference,
    fixed_cases=_is_fixed, random_cases=_is_random, compare=_is_compare,
    mistakes=INIT_MISTAKES, n_random=2, seed=94, chapter=CHAPTER)

EXERCISES = [CLIP_GRAD_NORM, CLIP_GRAD_VALUE, INIT_STD]
