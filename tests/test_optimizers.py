"""Tests for course_lib.optim.

The main check: each optimizer, configured like its torch.optim counterpart, follows the same
trajectory as torch.optim (float64, single-tensor code path) for 200 steps on a seeded
least-squares problem whose gradient is evaluated at each side's own iterate (so any difference
feeds back). The largest relative error seen per optimizer is collected in TORCH_MAX_REL_ERR and
printed by test_report_largest_relative_error_vs_torch (run with -s to see it; it is also written
to the terminal summary).
"""
import inspect
import re

import numpy as np
import pytest
import torch

from course_lib import optim as O
from course_lib.optim import (SGD, AdaBelief, Adagrad, Adam, DivergenceError, Momentum,
                                   Nesterov, Optimizer, RMSprop)

STEPS = 200
TOL = 1e-12

SHAPES = {"W": (4, 3), "b": (3,), "c": ()}   # several parameters, including a 0-d one


def rel_error(a, b):
    """max |a - b| / max(|a| + |b|) (the course's definition), on whole arrays."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a) + np.abs(b)), 1e-300))


class LeastSquares:
    """L(x) = 1/(2m) ||X_B x - y_B||^2 over a seeded mini-batch B of rows that changes every step;
    x is the concatenation of all parameters of the dict."""

    def __init__(self, seed, n_rows=60, batch=20):
        rng = np.random.default_rng(seed)
        self.n = sum(int(np.prod(s)) for s in SHAPES.values())
        scale = np.exp(rng.uniform(-1.0, 1.0, self.n))      # differently scaled features
        self.X = rng.standard_normal((n_rows, self.n)) * scale
        self.y = rng.standard_normal(n_rows) + self.X @ rng.standard_normal(self.n)
        self.batches = [rng.choice(n_rows, batch, replace=False) for _ in range(STEPS)]
        self.w0 = {k: rng.standard_normal(s) for k, s in SHAPES.items()}

    def grad(self, params, t):
        x = np.concatenate([np.ravel(params[k]) for k in SHAPES])
        B = self.batches[(t - 1) % STEPS]
        g = self.X[B].T @ (self.X[B] @ x - self.y[B]) / len(B)
        out, i = {}, 0
        for k, s in SHAPES.items():
            m = int(np.prod(s))
            out[k] = g[i:i + m].reshape(s).copy()
            i += m
        return out


def flat(params):
    """All parameters of the dict as one vector x (the least-squares unknown)."""
    return np.concatenate([np.ravel(params[k]) for k in SHAPES])


def compare_with_torch(ours, torch_cls, torch_kw, *, seed=0, lr_at=None, steps=STEPS,
                       dtype=np.float64, torch_groups=None, view=None):
    """Run ours and torch side by side; return (err, err_per_array).

    err:           the largest rel_error over the steps of the whole parameter vector x (all
                   arrays of the dict together): the error relative to the size of the weights.
    err_per_array: the same, array by array. Stricter, and inflated whenever one small array
                   (here the 0-d 'c') passes close to 0, so it is reported, not asserted.
    lr_at: optional function t -> lr applied to both before step t (a schedule).
    dtype: of the parameters and gradients on both sides (the gradient is computed in float64
    from the parameters and rounded to dtype, the same way for both).
    torch_groups: [(keys, hyperparameters)] to give torch param groups instead of torch_kw.
    view: (params, ours) -> the dict compared with torch's parameters (default params)."""
    problem = LeastSquares(seed)
    params = {k: v.astype(dtype) for k, v in problem.w0.items()}
    tparams = {k: torch.tensor(v.copy()) for k, v in params.items()}

    def grad(p, t):
        return {k: g.astype(dtype) for k, g in problem.grad(p, t).items()}

    if torch_groups is None:
        topt = torch_cls(list(tparams.values()), foreach=False, **torch_kw)
    else:
        topt = torch_cls([{"params": [tparams[k] for k in keys], **kw} for keys, kw in torch_groups],
                         foreach=False)
    err = err_per_array = 0.0
    for t in range(1, steps + 1):
        if lr_at is not None:
            ours.lr = lr_at(t)
            for group in topt.param_groups:
                group["lr"] = lr_at(t)
        ours.step(params, grad(ours.gradient_point(params), t))
        tgrads = grad({k: v.numpy() for k, v in tparams.items()}, t)
        for k, p in tparams.items():
            p.grad = torch.from_numpy(tgrads[k])
        topt.step()
        theirs = {k: v.numpy() for k, v in tparams.items()}
        mine = params if view is None else view(params, ours)
        err = max(err, rel_error(flat(mine), flat(theirs)))
        for k in params:
            err_per_array = max(err_per_array, rel_error(mine[k], theirs[k]))
    # the run must have moved: a test of two frozen copies would prove nothing
    assert all(rel_error(params[k], problem.w0[k]) > 1e-3 for k in params)
    # and it stayed in its dtype: every parameter and every buffer
    assert all(v.dtype == dtype for v in params.values())
    assert all(b.dtype == dtype for st in ours.state.values() for b in st.values()
               if isinstance(b, np.ndarray))
    return err, err_per_array


# (case id, our optimizer factory, torch class, torch kwargs, schedule)
TORCH_CASES = [
    ("SGD plain", lambda: SGD(0.02), torch.optim.SGD, dict(lr=0.02), None),
    ("SGD momentum", lambda: SGD(0.01, momentum=0.9), torch.optim.SGD,
     dict(lr=0.01, momentum=0.9), None),
    ("SGD momentum+dampening", lambda: SGD(0.01, momentum=0.8, dampening=0.3),
     torch.optim.SGD, dict(lr=0.01, momentum=0.8, dampening=0.3), None),
    ("SGD nesterov", lambda: SGD(0.01, momentum=0.9, nesterov=True), torch.optim.SGD,
     dict(lr=0.01, momentum=0.9, nesterov=True), None),
    ("SGD weight_decay", lambda: SGD(0.02, weight_decay=0.05), torch.optim.SGD,
     dict(lr=0.02, weight_decay=0.05), None),
    ("SGD all + lr schedule",
     lambda: SGD(0.01, momentum=0.7, dampening=0.1, weight_decay=0.01), torch.optim.SGD,
     dict(lr=0.01, momentum=0.7, dampening=0.1, weight_decay=0.01), lambda t: 0.02 / t ** 0.5),
    ("Momentum pytorch form", lambda: Momentum(0.01, 0.9, form="pytorch"), torch.optim.SGD,
     dict(lr=0.01, momentum=0.9), None),
    ("Nesterov pytorch form", lambda: Nesterov(0.01, 0.9, form="pytorch"), torch.optim.SGD,
     dict(lr=0.01, momentum=0.9, nesterov=True), None),
    ("Adagrad", lambda: Adagrad(0.1), torch.optim.Adagrad, dict(lr=0.1), None),
    ("Adagrad lr_decay", lambda: Adagrad(0.2, lr_decay=0.01), torch.optim.Adagrad,
     dict(lr=0.2, lr_decay=0.01), None),
    ("Adagrad initial_accumulator_value", lambda: Adagrad(0.1, initial_accumulator_value=0.5),
     torch.optim.Adagrad, dict(lr=0.1, initial_accumulator_value=0.5), None),
    ("Adagrad all", lambda: Adagrad(0.3, lr_decay=0.02, weight_decay=0.01,
                                    initial_accumulator_value=0.1, eps=1e-6),
     torch.optim.Adagrad, dict(lr=0.3, lr_decay=0.02, weight_decay=0.01,
                               initial_accumulator_value=0.1, eps=1e-6), None),
    ("RMSprop", lambda: RMSprop(0.005), torch.optim.RMSprop, dict(lr=0.005), None),
    ("RMSprop momentum", lambda: RMSprop(0.002, momentum=0.9), torch.optim.RMSprop,
     dict(lr=0.002, momentum=0.9), None),
    ("RMSprop centered", lambda: RMSprop(0.005, alpha=0.9, centered=True), torch.optim.RMSprop,
     dict(lr=0.005, alpha=0.9, centered=True), None),
    ("RMSprop all", lambda: RMSprop(0.002, alpha=0.95, eps=1e-6, weight_decay=0.01,
                                    momentum=0.5, centered=True),
     torch.optim.RMSprop, dict(lr=0.002, alpha=0.95, eps=1e-6, weight_decay=0.01, momentum=0.5,
                               centered=True), None),
    ("Adam", lambda: Adam(0.02), torch.optim.Adam, dict(lr=0.02), None),
    ("Adam weight_decay", lambda: Adam(0.02, weight_decay=0.1), torch.optim.Adam,
     dict(lr=0.02, weight_decay=0.1), None),
    ("Adam amsgrad", lambda: Adam(0.02, amsgrad=True), torch.optim.Adam,
     dict(lr=0.02, amsgrad=True), None),
    ("Adam all + lr schedule",
     lambda: Adam(0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05, amsgrad=True),
     torch.optim.Adam, dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05,
                            amsgrad=True), lambda t: 0.05 * 0.99 ** t),
]

_results = {}           # case id -> (err, err_per_array), memoised so nothing runs twice
TORCH_MAX_REL_ERR = {}   # optimizer name -> (err, err_per_array), largest over its cases


def _record(name, errs):
    old = TORCH_MAX_REL_ERR.get(name, (0.0, 0.0))
    TORCH_MAX_REL_ERR[name] = (max(old[0], errs[0]), max(old[1], errs[1]))


def _run_case(case_id):
    if case_id not in _results:
        _, factory, tcls, tkw, schedule = next(c for c in TORCH_CASES if c[0] == case_id)
        ours = factory()
        _results[case_id] = compare_with_torch(ours, tcls, tkw, lr_at=schedule)
        _record(type(ours).__name__, _results[case_id])
    return _results[case_id]


@pytest.mark.parametrize("case_id", [c[0] for c in TORCH_CASES])
def test_matches_torch_optim(case_id):
    err, _ = _run_case(case_id)
    assert err <= TOL, f"{case_id}: largest relative error vs torch.optim {err:.3g} > {TOL:g}"


# float32: the same cases, against torch in float32. Both round every operation to float32,
# in slightly different orders (torch fuses some), so they agree to float32 precision: the
# largest error seen is 3e-7 (RMSprop; 6e-8 to 7e-8 for the others), about 2.5 eps_32 after 200
# steps of feedback; the bound is 2e-6 (17 eps_32), never the 1e-12 of float64.
TOL_32 = 2e-6


@pytest.mark.parametrize("case_id", [c[0] for c in TORCH_CASES])
def test_float32_matches_torch_float32(case_id):
    _, factory, tcls, tkw, schedule = next(c for c in TORCH_CASES if c[0] == case_id)
    err, _ = compare_with_torch(factory(), tcls, tkw, lr_at=schedule, dtype=np.float32)
    assert err <= TOL_32, f"{case_id}: largest relative error vs torch float32 {err:.3g}"
    # and float32 is really float32: the float64 run differs by far more than float64 rounding
    err64, _ = compare_with_torch(factory(), tcls, tkw, lr_at=schedule)
    assert err64 <= TOL


def test_float32_runs_in_float32_arithmetic():
    """Not float64 rounded at the end: one SGD step equals the float32 formula exactly."""
    rng = np.random.default_rng(4)
    w = rng.standard_normal(1000).astype(np.float32)
    g = rng.standard_normal(1000).astype(np.float32)
    lr = 0.1
    expected = w - np.float32(lr) * g                       # float32 arithmetic
    p = {"w": w.copy()}
    SGD(lr).step(p, {"w": g})
    assert p["w"].dtype == np.float32 and np.array_equal(p["w"], expected)
    in64 = (w.astype(np.float64) - lr * g.astype(np.float64)).astype(np.float32)
    assert not np.array_equal(expected, in64)               # the test can tell the two apart
    p = {"w": w.copy()}
    SGD(lr).step(p, {"w": g.astype(np.float64)})             # a float64 gradient is converted
    assert p["w"].dtype == np.float32 and np.array_equal(p["w"], expected)


def test_defaults_are_torchs():
    p = [torch.zeros(1, dtype=torch.float64)]
    pairs = [
        (SGD(0.1), torch.optim.SGD(p, lr=0.1), ["momentum", "dampening", "nesterov",
                                               "weight_decay"]),
        (Adagrad(), torch.optim.Adagrad(p), ["lr", "lr_decay", "weight_decay",
                                            "initial_accumulator_value", "eps"]),
        (RMSprop(), torch.optim.RMSprop(p), ["lr", "alpha", "eps", "weight_decay", "momentum",
                                            "centered"]),
        (Adam(), torch.optim.Adam(p), ["lr", "betas", "eps", "weight_decay", "amsgrad"]),
    ]
    for ours, theirs, names in pairs:
        for name in names:
            assert getattr(ours, name) == theirs.defaults[name], (type(ours).__name__, name)


# ------------------------------------------------------------------------------------------
# parameter groups (chapter 05: weights decayed, biases not), against torch's param groups
# ------------------------------------------------------------------------------------------

def compare_groups_with_torch(ours, torch_cls, torch_groups, *, seed=1):
    """compare_with_torch with param groups on torch's side."""
    return compare_with_torch(ours, torch_cls, {}, seed=seed, torch_groups=torch_groups)[0]


GROUP_CASES = [
    ("SGD", lambda groups: SGD(0.01, param_groups=groups), torch.optim.SGD, dict(lr=0.01)),
    ("SGD momentum", lambda groups: SGD(0.01, momentum=0.9, param_groups=groups),
     torch.optim.SGD, dict(lr=0.01, momentum=0.9)),
    ("Momentum pytorch form", lambda groups: Momentum(0.01, 0.9, form="pytorch",
                                                      param_groups=groups),
     torch.optim.SGD, dict(lr=0.01, momentum=0.9)),
    ("Nesterov pytorch form", lambda groups: Nesterov(0.01, 0.9, form="pytorch",
                                                      param_groups=groups),
     torch.optim.SGD, dict(lr=0.01, momentum=0.9, nesterov=True)),
    ("Adam", lambda groups: Adam(0.02, param_groups=groups), torch.optim.Adam, dict(lr=0.02)),
]


@pytest.mark.parametrize("name, make, tcls, tkw", GROUP_CASES, ids=[c[0] for c in GROUP_CASES])
def test_param_groups_match_torch_param_groups(name, make, tcls, tkw):
    # weights ("W", "c") decayed, the bias "b" not; the bias group also has its own lr
    groups = [{"params": ["W", "c"], "weight_decay": 0.05},
              {"params": ["b"], "weight_decay": 0.0, "lr": 2 * tkw["lr"]}]
    torch_groups = [(["W", "c"], {**tkw, "weight_decay": 0.05}),
                    (["b"], {**tkw, "weight_decay": 0.0, "lr": 2 * tkw["lr"]})]
    err = compare_groups_with_torch(make(groups), tcls, torch_groups)
    assert err <= TOL, f"{name}: {err:.3g}"
    # and the groups matter: one decay for everything is another run
    assert compare_groups_with_torch(make(None), tcls, torch_groups) > 1e-6


def test_keys_in_no_group_use_the_constructor_values():
    problem = LeastSquares(2)
    groups = [{"params": ["b"], "weight_decay": 0.0}]
    a = SGD(0.01, momentum=0.9, weight_decay=0.1, param_groups=groups)
    assert a.hypers("W").weight_decay == 0.1 and a.hypers("b").weight_decay == 0.0
    assert a.param_groups == [{"params": ["b"], "lr": 0.01, "momentum": 0.9, "dampening": 0.0,
                               "nesterov": False, "weight_decay": 0.0}]
    assert "param_groups=[{'params': ['b'], 'weight_decay': 0}]" in repr(a)
    # one step from the same point: "W" and "c" move as with weight_decay=0.1 for every key,
    # "b" as with no decay at all
    opts = (SGD(0.01, weight_decay=0.1, param_groups=groups), SGD(0.01, weight_decay=0.1),
            SGD(0.01))
    moved = []
    for opt in opts:
        p = {k: v.copy() for k, v in problem.w0.items()}
        opt.step(p, problem.grad(problem.w0, 1))
        moved.append(p)
    assert np.array_equal(moved[0]["W"], moved[1]["W"]) and np.array_equal(moved[0]["c"], moved[1]["c"])
    assert np.array_equal(moved[0]["b"], moved[2]["b"]) and not np.array_equal(moved[0]["b"], moved[1]["b"])


def test_setting_lr_reaches_the_groups_that_do_not_set_their_own():
    opt = SGD(0.1, param_groups=[{"params": ["b"], "weight_decay": 0.5},
                                 {"params": ["c"], "lr": 0.3}])
    params = {"w": np.ones(2), "b": np.ones(2), "c": np.ones(2)}
    opt.step(params, {k: np.ones(2) for k in params})
    opt.lr = 0.01
    before = {k: v.copy() for k, v in params.items()}
    opt.step(params, {k: np.ones(2) for k in params})
    assert np.allclose(before["w"] - params["w"], 0.01)              # default group: new lr
    assert np.allclose(before["b"] - params["b"], 0.01 * (1 + 0.5 * before["b"]))
    assert np.allclose(before["c"] - params["c"], 0.3)               # its own lr stays


@pytest.mark.parametrize("groups, match", [
    ([{"params": ["W"], "weight_decay": 1e-3}, {"params": ["W", "b"]}],
     r"params key 'W' is in param_groups\[0\] and in param_groups\[1\]"),
    ([{"params": ["W"], "weight_dcay": 1e-3}],
     r"param_groups\[0\] sets 'weight_dcay', which is not a hyperparameter of SGD \(it has lr, "
     r"momentum, dampening, nesterov, weight_decay\)"),
    ([{"params": ["W"], "lr": -1.0}],
     r"param_groups\[0\]: lr \(learning rate\) must be >= 0, got -1\.0"),
    ([{"params": ["W"], "nesterov": True}], r"param_groups\[0\]: nesterov=True requires momentum > 0"),
    ([{"weight_decay": 1e-3}], r"param_groups\[0\] must be a dict whose 'params' entry lists keys"),
    ([{"params": "W"}], r"param_groups\[0\] must be a dict whose 'params' entry"),
    ({"params": ["W"]}, r"param_groups must be a list of dicts"),
])
def test_bad_param_groups_raise_value_error(groups, match):
    with pytest.raises(ValueError, match=match):
        SGD(0.1, param_groups=groups)


@pytest.mark.parametrize("cls", [SGD, Momentum, Nesterov, Adagrad, RMSprop, Adam, AdaBelief])
def test_every_optimizer_accepts_param_groups(cls):
    opt = cls(lr=0.1, param_groups=[{"params": ["b"], "lr": 0.0}])
    params = {"w": np.ones(3), "b": np.ones(2)}
    for _ in range(3):
        opt.step(params, {"w": np.ones(3), "b": np.ones(2)})
    assert np.array_equal(params["b"], np.ones(2))           # lr = 0 in its group: no update
    assert not np.array_equal(params["w"], np.ones(3))


@pytest.mark.parametrize("form", ["lecture", "pytorch"])
def test_momentum_weight_decay_is_sgds(form):
    """Momentum(weight_decay) is SGD(momentum, weight_decay) (both forms agree at constant lr)
    and therefore torch.optim.SGD(momentum, weight_decay)."""
    err, _ = compare_with_torch(Momentum(0.01, 0.9, form=form, weight_decay=0.05),
                                torch.optim.SGD, dict(lr=0.01, momentum=0.9, weight_decay=0.05))
    assert err <= TOL


def test_nesterov_lookahead_weight_decay_is_taken_at_the_lookahead_point():
    # L2 on f: the gradient of f + wd/2 |w|^2 at the look-ahead point u is g(u) + wd u, so the
    # look-ahead run with weight_decay equals the one without it on the penalised gradient
    wd = 0.1
    a = run(Nesterov(0.05, 0.9, weight_decay=wd), 60)
    b = run(Nesterov(0.05, 0.9), 60, grad=lambda p: {"w": bowl_grad(p)["w"] + wd * p["w"]})
    assert rel_error(a, b) < 1e-12
    assert rel_error(a, run(Nesterov(0.05, 0.9), 60)) > 1e-3


# ------------------------------------------------------------------------------------------
# the forms met in the lectures
# ------------------------------------------------------------------------------------------

def bowl_grad(params):
    """f(x, y) = x^2/20 + y^2 (kappa = 20), the course's running example."""
    w = params["w"]
    return {"w": w * np.array([0.1, 2.0])}


def run(opt, steps, w0=(-7.0, 2.0), lr_at=None, grad=bowl_grad):
    params = {"w": np.array(w0, dtype=float)}
    path = [params["w"].copy()]
    for t in range(1, steps + 1):
        if lr_at is not None:
            opt.lr = lr_at(t)
        opt.step(params, grad(opt.gradient_point(params)))
        path.append(params["w"].copy())
    return np.array(path)


def test_momentum_lecture_and_pytorch_forms_agree_for_constant_lr():
    lecture, pytorch = Momentum(0.05, 0.9), Momentum(0.05, 0.9, form="pytorch")
    a, b = run(lecture, 100), run(pytorch, 100)
    assert rel_error(a, b) < 1e-12
    # the velocity is -eta times the buffer
    assert rel_error(lecture.state["w"]["v"], -0.05 * pytorch.state["w"]["momentum_buffer"]) < 1e-12
    # and it really moved (and really used momentum: plain GD gives another path)
    assert rel_error(a, run(SGD(0.05), 100)) > 1e-2


def test_momentum_forms_differ_when_lr_changes_and_why():
    def lr_at(t):
        return 0.05 if t <= 20 else 0.01

    a = run(Momentum(0.05, 0.9), 60, lr_at=lr_at)
    b = run(Momentum(0.05, 0.9, form="pytorch"), 60, lr_at=lr_at)
    assert rel_error(a[:21], b[:21]) < 1e-12
    assert rel_error(a[21:], b[21:]) > 1e-2
    # why: the lecture velocity still carries the old eta. Rescaling it by eta_new / eta_old at
    # the change turns the lecture form into the PyTorch form again.
    lecture = Momentum(0.05, 0.9)
    params = {"w": np.array([-7.0, 2.0])}
    path = [params["w"].copy()]
    for t in range(1, 61):
        lecture.lr = lr_at(t)
        if t == 21:
            lecture.state["w"]["v"] *= 0.01 / 0.05
        lecture.step(params, bowl_grad(params))
        path.append(params["w"].copy())
    assert rel_error(np.array(path), b) < 1e-12


def test_nesterov_lookahead_and_pytorch_forms_are_the_same_algorithm():
    mu, eta = 0.9, 0.05
    look, pt = Nesterov(eta, mu), Nesterov(eta, mu, form="pytorch")
    p_look, p_pt = {"w": np.array([-7.0, 2.0])}, {"w": np.array([-7.0, 2.0])}
    assert look.gradient_point(p_look)["w"] is not p_look["w"]
    assert np.array_equal(look.gradient_point(p_look)["w"], p_look["w"])   # v = 0 at the start
    for t in range(1, 151):
        at = look.gradient_point(p_look)
        assert pt.gradient_point(p_pt) is p_pt
        look.step(p_look, bowl_grad(at))
        pt.step(p_pt, bowl_grad(p_pt))
        v = look.state["w"]["v"]
        # change of variables: the PyTorch iterate is the look-ahead point, b = -v / eta
        assert rel_error(p_pt["w"], p_look["w"] + mu * v) < 1e-12
        assert rel_error(pt.state["w"]["momentum_buffer"], -v / eta) < 1e-12
    # NAG is not classical momentum: the paths differ
    assert rel_error(run(Nesterov(eta, mu), 50), run(Momentum(eta, mu), 50)) > 1e-3


def test_nesterov_lookahead_matches_torch_after_change_of_variables():
    """Same statement against torch.optim.SGD(nesterov=True) itself, on a least-squares problem:
    torch's iterate is our look-ahead point w + mu v."""
    mu, eta = 0.9, 0.01
    errs = compare_with_torch(Nesterov(eta, mu), torch.optim.SGD,
                              dict(lr=eta, momentum=mu, nesterov=True), seed=3,
                              view=lambda p, opt: {k: p[k] + mu * opt.state[k]["v"] for k in p})
    assert errs[0] <= TOL
    _record("Nesterov lookahead (as w + mu v)", errs)


@pytest.mark.parametrize("cls, kw", [
    (Adagrad, dict(lr=0.5)),
    (RMSprop, dict(lr=0.01, centered=True, momentum=0.5)),
    (Adam, dict(lr=0.1)),
    (Adam, dict(lr=0.1, amsgrad=True, bias_correction=False)),
])
def test_eps_inside_sqrt_differs_slightly_and_agrees_as_eps_goes_to_zero(cls, kw):
    def gap(eps):
        a = run(cls(**kw, eps=eps), 100)
        b = run(cls(**kw, eps=eps, eps_inside_sqrt=True), 100)
        return rel_error(a, b)

    gaps = [gap(eps) for eps in (1e-2, 1e-4, 1e-6, 1e-8)]
    assert 0 < gaps[-1] < 1e-5                 # differ, slightly
    assert all(g1 > g2 for g1, g2 in zip(gaps, gaps[1:]))   # and the gap closes as eps -> 0
    assert gaps[0] > 1e-4
    assert gap(0.0) < 1e-12                    # equal up to rounding at eps = 0


def test_adam_bias_correction_false_shows_the_early_step_bias():
    b1, b2, lr = 0.9, 0.999, 0.1
    g0 = bowl_grad({"w": np.array([-7.0, 2.0])})["w"]
    corrected, raw = Adam(lr, eps=0.0), Adam(lr, eps=0.0, bias_correction=False)
    path_c, path_r = run(corrected, 1), run(raw, 1)
    # the first moment after step 1 is (1 - beta1) g: ten times too small ...
    assert np.allclose(raw.state["w"]["exp_avg"], (1 - b1) * g0, rtol=1e-12, atol=0)
    # ... and the corrected estimate m / (1 - beta1^1) is g itself
    assert np.allclose(corrected.state["w"]["exp_avg"] / (1 - b1), g0, rtol=1e-12)
    # corrected first step: lr * sign(g); uncorrected: (1 - beta1) / sqrt(1 - beta2) times that
    step_c, step_r = path_c[1] - path_c[0], path_r[1] - path_r[0]
    assert np.allclose(step_c, -lr * np.sign(g0), rtol=1e-12)
    assert np.allclose(step_r / step_c, (1 - b1) / np.sqrt(1 - b2), rtol=1e-12)
    # the correction changes only the step, never the recursions: v is the same in both
    assert np.array_equal(corrected.state["w"]["exp_avg_sq"], raw.state["w"]["exp_avg_sq"])


def adabelief_paper(grad, theta0, steps, alpha=1e-3, beta1=0.9, beta2=0.999, eps=1e-16,
                    variant=None):
    """Algorithm 2 of Zhuang et al. (2020), transcribed line by line, one scalar at a time:

        m_t = beta1 m_{t-1} + (1 - beta1) g_t
        s_t = beta2 s_{t-1} + (1 - beta2) (g_t - m_t)^2 + eps
        m_hat = m_t / (1 - beta1^t),   s_hat = s_t / (1 - beta2^t)
        theta_t = theta_{t-1} - alpha m_hat / (sqrt(s_hat) + eps)    (projection: identity)

    variant: a plausible misreading, to show the test tells them apart: "old_m" uses m_{t-1} in
    (g - m), "eps_outside" adds eps only outside the root, "adam" uses g^2."""
    theta = [float(x) for x in theta0]
    m = [0.0] * len(theta)
    s = [0.0] * len(theta)
    path = [list(theta)]
    for t in range(1, steps + 1):
        g = grad(np.array(theta))
        for i in range(len(theta)):
            m_old = m[i]
            m[i] = beta1 * m[i] + (1 - beta1) * g[i]
            dev = g[i] - (m_old if variant == "old_m" else m[i])
            if variant == "adam":
                dev = g[i]
            s[i] = beta2 * s[i] + (1 - beta2) * dev ** 2 + (0.0 if variant == "eps_outside" else eps)
            m_hat = m[i] / (1 - beta1 ** t)
            s_hat = s[i] / (1 - beta2 ** t)
            theta[i] = theta[i] - alpha * m_hat / (s_hat ** 0.5 + eps)
        path.append(list(theta))
    return np.array(path)


@pytest.mark.parametrize("kw", [dict(), dict(alpha=0.05, beta1=0.8, beta2=0.99, eps=1e-8)])
def test_adabelief_matches_the_paper(kw):
    rng = np.random.default_rng(7)
    Q = rng.standard_normal((5, 5))
    A = Q @ Q.T / 5 + 0.05 * np.eye(5)
    b = rng.standard_normal(5)
    w0 = rng.standard_normal(5)

    def grad(w):
        return A @ w - b

    expected = adabelief_paper(grad, w0, STEPS, **kw)
    opt = AdaBelief(lr=kw.get("alpha", 1e-3), betas=(kw.get("beta1", 0.9), kw.get("beta2", 0.999)),
                    eps=kw.get("eps", 1e-16))
    got = run(opt, STEPS, w0=w0, grad=lambda p: {"w": grad(p["w"])})
    err = rel_error(got, expected)
    assert err < 1e-12
    assert rel_error(got[-1], w0) > 1e-3
    _record("AdaBelief (vs the paper; torch has none)", (err, err))
    # AdaBelief is not Adam
    assert rel_error(got, run(Adam(opt.lr, opt.betas), STEPS, w0=w0,
                              grad=lambda p: {"w": grad(p["w"])})) > 1e-3
    # and the transcription is sharp enough to reject each plausible misreading of the paper
    for variant in ("old_m", "adam") + (("eps_outside",) if kw else ()):
        wrong = adabelief_paper(grad, w0, STEPS, **kw, variant=variant)
        assert rel_error(got, wrong) > 1e3 * max(err, 1e-16), variant


def test_weight_decay_is_l2_added_to_the_gradient():
    wd = 0.1
    for cls in (AdaBelief, Adam, Adagrad, RMSprop, SGD, Momentum):
        a = run(cls(lr=0.05, weight_decay=wd), 30)
        b = run(cls(lr=0.05), 30, grad=lambda p: {"w": bowl_grad(p)["w"] + wd * p["w"]})
        assert rel_error(a, b) < 1e-12, cls.__name__


# ------------------------------------------------------------------------------------------
# vectorised mode
# ------------------------------------------------------------------------------------------

K, D = 5, 3
_rng = np.random.default_rng(11)
_Q = _rng.standard_normal((D, D))
A_VEC = _Q @ _Q.T / D + 0.1 * np.eye(D)
B_VEC = _rng.standard_normal(D)
W0_VEC = _rng.standard_normal((K, D))


def quad_grad(w):
    """Gradient A w - b of 1/2 w^T A w - b^T w, row by row for w of shape (K, D).

    Written as an elementwise product and a sum rather than ``w @ A``: BLAS sums a (K, D) @ (D, D)
    product in another order than a (D,) @ (D, D) one, and 60 steps of RMSprop amplify that
    last-bit difference to ~1e-12; this way a row and a single run do the same operations."""
    return (w[..., :, None] * A_VEC).sum(axis=-2) - B_VEC


def vec_grad(params):
    """Row-wise gradient of 1/2 w^T A w - b^T w: each row is an independent run."""
    return {"w": quad_grad(params["w"])}


def col(*values):
    return np.array(values, dtype=float).reshape(-1, 1)


VECTOR_CASES = [
    (SGD, dict(lr=col(0.01, 0.05, 0.1, 0.2, 0.3), momentum=col(0, 0.5, 0.9, 0.0, 0.3),
               dampening=col(0.5, 0.1, 0, 0.2, 0), weight_decay=0.01)),
    (SGD, dict(lr=col(0.01, 0.05, 0.1, 0.2, 0.3), momentum=0.9, nesterov=True)),
    (Momentum, dict(lr=col(0.01, 0.05, 0.1, 0.2, 0.3), momentum=col(0, 0.5, 0.9, 0.95, 1.0))),
    (Momentum, dict(lr=0.1, momentum=col(0, 0.5, 0.9, 0.95, 1.0), form="pytorch")),
    (Nesterov, dict(lr=col(0.01, 0.05, 0.1, 0.2, 0.3), momentum=col(0, 0.5, 0.9, 0.95, 0.99))),
    (Nesterov, dict(lr=col(0.01, 0.05, 0.1, 0.2, 0.3), momentum=0.8, form="pytorch")),
    (Adagrad, dict(lr=col(0.01, 0.05, 0.1, 0.5, 1.0), lr_decay=col(0, 0.1, 0, 0.01, 0),
                   initial_accumulator_value=col(0, 0, 1, 0.1, 0))),
    (RMSprop, dict(lr=col(0.001, 0.005, 0.01, 0.02, 0.03), alpha=col(0.9, 0.99, 0.5, 0.9, 0.3),
                   momentum=col(0, 0.5, 0.9, 0, 0.1), centered=True)),
    (Adam, dict(lr=col(0.001, 0.01, 0.05, 0.1, 0.2),
                betas=(col(0.0, 0.5, 0.9, 0.9, 0.95), col(0.9, 0.99, 0.999, 0.5, 0.0)),
                amsgrad=True)),
    (Adam, dict(lr=0.05, betas=(0.9, col(0.9, 0.99, 0.999, 0.5, 0.0)), bias_correction=False,
                eps_inside_sqrt=True)),
    (AdaBelief, dict(lr=col(0.001, 0.01, 0.05, 0.1, 0.2), betas=(col(0.0, 0.5, 0.9, 0.9, 0.95),
                                                                  0.999))),
]


def _row(kw, k):
    """The scalar hyperparameters of setting k."""
    def pick(v):
        if isinstance(v, tuple):
            return tuple(pick(x) for x in v)
        return float(v[k, 0]) if isinstance(v, np.ndarray) else v
    return {name: pick(v) for name, v in kw.items()}


@pytest.mark.parametrize("cls, kw", VECTOR_CASES,
                         ids=[f"{c.__name__}-{i}" for i, (c, _) in enumerate(VECTOR_CASES)])
def test_vectorised_mode_equals_looping_over_settings(cls, kw):
    steps = 60
    vec = cls(**kw)
    params = {"w": W0_VEC.copy()}
    for _ in range(steps):
        vec.step(params, vec_grad(vec.gradient_point(params)))
    for k in range(K):
        single = cls(**_row(kw, k))
        p = {"w": W0_VEC[k].copy()}
        for _ in range(steps):
            at = single.gradient_point(p)
            single.step(p, {"w": quad_grad(at["w"])})
        # the same operations on each row: equal up to the 1e-12 bound the course uses between
        # float64 computations (docs/DESIGN.md, "Portable numbers")
        assert rel_error(params["w"][k], p["w"]) <= 1e-12, (cls.__name__, k)
    assert "array(shape=(5, 1)" in repr(vec)


def test_vectorised_sweep_with_check_finite_false_lets_diverged_rows_go_nan():
    lr = col(0.1, 0.5, 1.5, 5.0, 50.0)   # lambda_max(A) ~ 1-3: the big ones diverge
    opt = SGD(lr, check_finite=False)
    params = {"w": W0_VEC.copy()}
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(2000):
            opt.step(params, vec_grad(params))
    finite = np.isfinite(params["w"]).all(axis=1)
    assert finite[0] and not finite[-1]
    with pytest.raises(DivergenceError, match="check_finite=False"):
        run_ = SGD(lr)
        p = {"w": W0_VEC.copy()}
        with np.errstate(over="ignore", invalid="ignore"):
            for _ in range(2000):
                run_.step(p, vec_grad(p))


# ------------------------------------------------------------------------------------------
# state, reset, repr, docstrings
# ------------------------------------------------------------------------------------------

def test_state_is_per_parameter_with_its_own_step_counter():
    opt = Adam(0.1)
    params = {"w": np.array([1.0, -2.0])}
    for _ in range(5):
        opt.step(params, {"w": 2 * params["w"]})
    assert opt.state["w"]["step"] == 5
    params["b"] = np.array([3.0])        # a parameter that appears later starts at t = 1
    opt.step(params, {"w": 2 * params["w"], "b": np.array([0.5])})
    assert opt.state["w"]["step"] == 6 and opt.state["b"]["step"] == 1
    fresh = {"b": np.array([3.0])}
    Adam(0.1).step(fresh, {"b": np.array([0.5])})
    assert params["b"][0] == fresh["b"][0]


def test_reset_forgets_state():
    opt = Momentum(0.05, 0.9)
    first = run(opt, 20)
    assert opt.state["w"]["step"] == 20
    opt.reset()
    assert opt.state == {}
    assert np.array_equal(run(opt, 20), first)


def test_gradient_point_is_params_for_all_but_lookahead_nesterov():
    params = {"w": np.array([1.0, 2.0])}
    for opt in (SGD(0.1), Momentum(0.1), Nesterov(0.1, form="pytorch"), Adagrad(), RMSprop(),
                Adam(), AdaBelief()):
        assert opt.gradient_point(params) is params
        assert opt.needs_hessian is False
    assert Optimizer.needs_hessian is False


def test_repr_is_readable():
    assert repr(Adam()) == ("Adam(lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0, "
                            "amsgrad=False, bias_correction=True, eps_inside_sqrt=False)")
    assert repr(SGD(0.1, momentum=0.9)) == ("SGD(lr=0.1, momentum=0.9, dampening=0, "
                                            "nesterov=False, weight_decay=0)")
    assert repr(Momentum(0.1)) == "Momentum(lr=0.1, momentum=0.9, form='lecture')"
    assert repr(Nesterov(0.1)) == "Nesterov(lr=0.1, momentum=0.9, form='lookahead')"
    assert repr(Momentum(0.1, 1.2, allow_unstable=True, check_finite=False)) == (
        "Momentum(lr=0.1, momentum=1.2, form='lecture', allow_unstable=True, check_finite=False)")
    assert repr(SGD(col(0.1, 0.2))) == ("SGD(lr=array(shape=(2, 1), min=0.1, max=0.2), "
                                        "momentum=0, dampening=0, nesterov=False, weight_decay=0)")


@pytest.mark.parametrize("cls", [SGD, Momentum, Nesterov, Adagrad, RMSprop, Adam, AdaBelief])
def test_docstring_states_every_hyperparameter_and_the_step_convention(cls):
    doc = cls.__doc__
    for name in inspect.signature(cls).parameters:
        assert re.search(rf"\b{name}\b", doc), f"{cls.__name__} docstring misses {name}"
    assert "t = 1" in doc
    if "eps" in inspect.signature(cls).parameters:
        assert "eps" in doc and "sqrt" in doc


# ------------------------------------------------------------------------------------------
# validation: errors a student can read
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("make, match", [
    (lambda: SGD(-0.1), r"^lr \(learning rate\) must be >= 0, got -0\.1$"),
    (lambda: Adam(lr=float("nan")), r"lr \(learning rate\) must be a finite number, got nan"),
    (lambda: Adam(lr="fast"), r"lr \(learning rate\) must be a number .* got 'fast'"),
    (lambda: SGD(col(0.1, -0.2, 0.3)),
     r"lr \(learning rate\) must be >= 0, got -0\.2 \(entry \(1, 0\) of the array"),
    (lambda: SGD(0.1, momentum=1.0), r"momentum \(mu\) must be in \[0, 1\), got 1\.0"),
    (lambda: SGD(0.1, momentum=col(0.5, -0.1)), r"momentum \(mu\) must be in \[0, 1\), got -0\.1"),
    (lambda: SGD(0.1, dampening=1.5), r"dampening must be in \[0, 1\], got 1\.5"),
    (lambda: SGD(0.1, weight_decay=-1e-4),
     r"weight_decay \(L2 penalty\) must be >= 0, got -0\.0001"),
    (lambda: SGD(0.1, nesterov=True), r"nesterov=True requires momentum > 0"),
    (lambda: SGD(0.1, momentum=0.9, dampening=0.1, nesterov=True),
     r"nesterov=True requires dampening = 0"),
    (lambda: SGD(0.1, nesterov="yes"), r"nesterov must be True or False, got 'yes'"),
    (lambda: Momentum(0.1, momentum=1.2), r"momentum \(mu\) must be in \[0, 1\] .*, got 1\.2; .*"
                                          r"pass allow_unstable=True"),
    (lambda: Momentum(0.1, momentum=-0.5), r"got -0\.5.*allow_unstable=True"),
    (lambda: Momentum(0.1, form="ema"), r"form must be 'lecture' or 'pytorch', got 'ema'"),
    (lambda: Nesterov(0.1, form="lecture"), r"form must be 'lookahead' or 'pytorch'"),
    (lambda: Momentum(0.1, momentum=float("inf"), allow_unstable=True), r"finite number, got inf"),
    (lambda: Adam(betas=(0.9, 1.0)), r"betas\[1\] \(beta2\) must be in \[0, 1\), got 1\.0"),
    (lambda: Adam(betas=(-0.1, 0.999)), r"betas\[0\] \(beta1\) must be in \[0, 1\), got -0\.1"),
    (lambda: Adam(betas=0.9), r"betas must be a pair \(beta1, beta2\)"),
    (lambda: Adam(eps=-1e-8), r"eps must be >= 0, got -1e-08"),
    (lambda: AdaBelief(eps=-1.0), r"eps must be >= 0, got -1\.0"),
    (lambda: RMSprop(alpha=1.0), r"alpha \(.*\) must be in \[0, 1\), got 1\.0"),
    (lambda: Adagrad(lr_decay=-0.1), r"lr_decay must be >= 0, got -0\.1"),
    (lambda: Adagrad(initial_accumulator_value=-1), r"initial_accumulator_value must be >= 0"),
])
def test_bad_hyperparameters_raise_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_lr_is_validated_when_set_by_a_schedule():
    opt = Adam()
    opt.lr = 0.5
    assert opt.lr == 0.5
    with pytest.raises(ValueError, match=r"lr \(learning rate\) must be >= 0, got -1\.0"):
        opt.lr = -1.0
    opt.lr = 0.0                                   # 0 is allowed (no update), as in torch
    assert opt.lr == 0.0


def test_momentum_outside_0_1_on_purpose():
    # mu > 1: negative friction, the velocity grows without bound even with zero gradient
    opt = Momentum(0.1, momentum=1.2, allow_unstable=True)
    params = {"w": np.array([1.0])}
    opt.step(params, {"w": np.array([1.0])})          # one kick
    speeds = []
    for _ in range(30):
        opt.step(params, {"w": np.array([0.0])})
        speeds.append(abs(opt.state["w"]["v"][0]))
    assert np.allclose(np.diff(np.log(speeds)), np.log(1.2))
    # mu < 0: the velocity flips sign every step
    opt = Momentum(0.1, momentum=-0.5, allow_unstable=True)
    opt.step(params, {"w": np.array([1.0])})
    signs = []
    for _ in range(6):
        opt.step(params, {"w": np.array([0.0])})
        signs.append(np.sign(opt.state["w"]["v"][0]))
    assert signs == [1, -1, 1, -1, 1, -1]


@pytest.mark.parametrize("params, grads, match", [
    ({"w": np.zeros(2)}, {"w": np.zeros(3)},
     r"grads\['w'\] has shape \(3,\), params\['w'\] has shape \(2,\)"),
    ({"w": np.zeros(2), "b": np.zeros(1)}, {"w": np.zeros(2)},
     r"grads has no gradient for params\['b'\]"),
    ({"w": np.zeros(2)}, {"w": np.zeros(2), "c": np.zeros(1)},
     r"grads\['c'\] has no matching parameter"),
    ({"w": np.zeros(2, dtype=int)}, {"w": np.zeros(2)},
     r"params\['w'\] must be a NumPy array of floats .* got int64 array"),
    ({"w": [0.0, 1.0]}, {"w": np.zeros(2)}, r"params\['w'\] must be a NumPy array of floats"),
    (np.zeros(2), {"w": np.zeros(2)}, r"params must be a dict of NumPy arrays"),
    ({"w": np.zeros(2)}, np.zeros(2), r"grads must be a dict"),
])
def test_bad_params_and_grads_raise_value_error(params, grads, match):
    with pytest.raises(ValueError, match=match):
        Adam().step(params, grads)


def test_hyperparameter_array_that_does_not_broadcast():
    opt = SGD(col(0.1, 0.2, 0.3))
    with pytest.raises(ValueError, match=r"lr has shape \(3, 1\), which does not broadcast "
                                         r"against params\['w'\] of shape \(5, 2\)"):
        opt.step({"w": np.zeros((5, 2))}, {"w": np.zeros((5, 2))})
    opt = SGD(col(0.1, 0.2, 0.3, 0.4, 0.5))        # one row per setting: fine
    opt.step({"w": np.zeros((5, 2))}, {"w": np.ones((5, 2))})
    with pytest.raises(ValueError, match="does not broadcast"):   # would grow the parameter
        SGD(np.full((2, 5, 1), 0.1)).step({"w": np.zeros((5, 2))}, {"w": np.ones((5, 2))})


@pytest.mark.parametrize("cls", [SGD, Momentum, Nesterov, Adagrad, RMSprop, Adam, AdaBelief])
def test_nan_gradient_is_reported_with_its_step_and_its_key(cls):
    def fresh():
        opt = cls(lr=0.01)
        params = {"w": np.array([1.0, 2.0]), "b": np.array([0.5])}
        for _ in range(11):
            opt.step(params, {"w": params["w"].copy(), "b": params["b"].copy()})
        return opt, params

    opt, params = fresh()
    msg = ("gradient for 'w' contains NaN/inf at step 12; the run has diverged - "
           "try a smaller learning rate")
    with pytest.raises(DivergenceError, match=re.escape(msg)) as info:
        opt.step(params, {"w": np.array([np.nan, 1.0]), "b": np.array([1.0])})
    err = info.value
    assert isinstance(err, ValueError) and isinstance(err, FloatingPointError)
    assert (err.step, err.key, err.quantity) == (12, "w", "gradient") and np.isnan(err.value)
    # the check runs after the step (one pass over each parameter): the NaN reached w
    assert np.isnan(params["w"][0]) and opt.state["w"]["step"] == 12
    opt, params = fresh()
    with pytest.raises(DivergenceError, match="gradient for 'b' contains NaN/inf at step 12") as info:
        opt.step(params, {"w": np.array([1.0, 1.0]), "b": np.array([np.inf])})
    assert (info.value.key, info.value.quantity) == ("b", "gradient")


@pytest.mark.parametrize("n", [3, 1000, 100_000])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_the_finiteness_check_finds_one_bad_entry_at_any_size(n, bad):
    # small arrays are tested entry by entry, large ones by np.isfinite into a reused mask
    from course_lib.optim.base import _all_finite

    for dtype in (np.float32, np.float64):
        a = np.ones(n, dtype=dtype)
        mask = np.empty(n, dtype=bool)
        assert _all_finite(a) and _all_finite(a, mask)
        a[n // 2] = np.finfo(dtype).max           # huge but finite
        assert _all_finite(a, mask)
        a[-1] = bad
        assert not _all_finite(a) and not _all_finite(a, mask)
        strided = np.stack([a, a], axis=1)[:, 0]          # a non-contiguous view of a
        assert not strided.flags.c_contiguous and not _all_finite(strided, mask)


def test_divergence_is_caught_before_nan_appears():
    opt = SGD(lr=10.0)            # on x^2/20 + y^2 the y-coordinate is multiplied by -19 per step
    params = {"w": np.array([1.0, 1.0])}
    with pytest.raises(DivergenceError, match=r"(params\['w'\] became|gradient for 'w' contains) "
                                              r"NaN/inf at step \d+; the run has diverged - try a "
                                              r"smaller learning rate"):
        with np.errstate(over="ignore", invalid="ignore"):
            for _ in range(1000):
                opt.step(params, bowl_grad(params))
    assert not np.isnan(params["w"]).any()
    # a finite gradient times a huge learning rate overflows the parameter itself
    params = {"w": np.array([1.0, 1.0])}
    with pytest.raises(DivergenceError, match=r"params\['w'\] became NaN/inf at step 1; "):
        with np.errstate(over="ignore"):
            SGD(lr=1e300).step(params, {"w": np.array([1e10, 0.0])})


def test_check_finite_must_be_a_flag():
    with pytest.raises(ValueError, match="check_finite must be True or False"):
        Adam(check_finite=1)


def test_public_names():
    assert set(O.__all__) == {"DivergenceError", "Optimizer", "SGD", "Momentum", "Nesterov",
                              "Adagrad", "RMSprop", "Adam", "AdaBelief", "Newton",
                              "NotPositiveDefiniteHessian", "IndefiniteHessianWarning"}


# ------------------------------------------------------------------------------------------
# the number the maintainers asked for
# ------------------------------------------------------------------------------------------

def test_report_largest_relative_error_vs_torch(request):
    """Print (and put in the terminal summary) the largest relative error per optimizer.

    Kept last in the module so that the look-ahead Nesterov and AdaBelief checks, when they ran,
    are in the table too."""
    for case_id, *_ in TORCH_CASES:
        _run_case(case_id)
    lines = [f"largest relative error vs torch.optim over {STEPS} steps, float64 "
             f"(whole parameter vector | array by array):"]
    lines += [f"  {name:<42s} {e:.3g} | {ea:.3g}" for name, (e, ea) in TORCH_MAX_REL_ERR.items()]
    lines += ["  by case:"]
    lines += [f"    {cid:<40s} {e:.3g} | {ea:.3g}" for cid, (e, ea) in _results.items()]
    report = "\n".join(lines)
    print("\n" + report)
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        request.config.add_cleanup(lambda: reporter.write_line(report))
    assert {"SGD", "Momentum", "Nesterov", "Adagrad", "RMSprop", "Adam"} <= set(TORCH_MAX_REL_ERR)
    assert max(e for e, _ in TORCH_MAX_REL_ERR.values()) <= TOL
