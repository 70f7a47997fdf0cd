"""Chapter 07 exercises: beyond tests/test_checks.py (which covers every registered check: the
reference passes, the stub fails, each Mistake fails with its own hint), check that

* the references agree with an independent implementation, torch.optim in float64, with its state
  set to the case's state (and with course_lib.optim);
* *other correct* ways of writing each answer pass, on the visible and on many hidden random cases
  (loops over coordinates, PyTorch's step-size form of Adam, lerp-style averages);
* further wrong answers fail, and an answer that changes its inputs in place fails with a message.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from course_lib.checks import get, run_check
from course_lib.optim import Adagrad, Adam, RMSprop

ADAGRAD, RMSPROP, ADAM = get("adagrad_step"), get("rmsprop_step"), get("adam_step")


def _cases(ex, secret=11):
    return ex.cases(secret=secret)


def _t(x):
    return torch.tensor(np.array(x, dtype=float), dtype=torch.float64)


# ---------------------------------------------------------------------------------------------
# the references against torch.optim (float64), one step from the case's state


def _torch_adagrad(w, G, g, lr, eps):
    p = torch.nn.Parameter(_t(w))
    opt = torch.optim.Adagrad([p], lr=lr, eps=eps)
    opt.state[p]["sum"].copy_(_t(G))
    p.grad = _t(g)
    opt.step()
    return p.detach().numpy().copy(), opt.state[p]["sum"].numpy().copy()


def _torch_rmsprop(w, s, g, lr, alpha, eps):
    p = torch.nn.Parameter(_t(w))
    opt = torch.optim.RMSprop([p], lr=lr, alpha=alpha, eps=eps)
    opt.state[p] = {"step": torch.tensor(0.0), "square_avg": _t(s)}
    p.grad = _t(g)
    opt.step()
    return p.detach().numpy().copy(), opt.state[p]["square_avg"].numpy().copy()


def _torch_adam(w, m, v, g, t, lr, beta1, beta2, eps):
    p = torch.nn.Parameter(_t(w))
    opt = torch.optim.Adam([p], lr=lr, betas=(beta1, beta2), eps=eps)
    opt.state[p] = {"step": torch.tensor(float(t - 1)), "exp_avg": _t(m), "exp_avg_sq": _t(v)}
    p.grad = _t(g)
    opt.step()
    assert float(opt.state[p]["step"]) == t
    return (p.detach().numpy().copy(), opt.state[p]["exp_avg"].numpy().copy(),
            opt.state[p]["exp_avg_sq"].numpy().copy())


@pytest.mark.parametrize("ex, independent", [(ADAGRAD, _torch_adagrad), (RMSPROP, _torch_rmsprop),
                                             (ADAM, _torch_adam)], ids=lambda x: getattr(x, "name", ""))
def test_references_agree_with_torch_optim(ex, independent):
    for case in _cases(ex, secret=3):
        ref = ex.reference(*case.args.values())
        other = independent(*case.args.values())
        for a, b in zip(ref, other):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=0, err_msg=case.name)


def test_adam_reference_agrees_with_the_course_optimizer_over_many_steps():
    # course_lib.optim.Adam keeps its own t; the reference gets t passed in: 30 steps, two ways
    rng = np.random.default_rng(5)
    w_ref, m, v = rng.normal(size=4), np.zeros(4), np.zeros(4)
    params = {"w": w_ref.copy()}
    opt = Adam(lr=0.01, betas=(0.8, 0.99), eps=1e-3)
    for t in range(1, 31):
        g = rng.normal(size=4) * [1e-3, 1.0, 10.0, 100.0]
        w_ref, m, v = ADAM.reference(w_ref, m, v, g, t, 0.01, 0.8, 0.99, 1e-3)
        opt.step(params, {"w": g})
    np.testing.assert_allclose(params["w"], w_ref, rtol=1e-12)
    np.testing.assert_allclose(opt.state["w"]["exp_avg"], m, rtol=1e-12)


def test_adagrad_and_rmsprop_references_agree_with_the_course_optimizers():
    rng = np.random.default_rng(6)
    g1, g2 = rng.normal(size=3), rng.normal(size=3) * [1e-2, 1.0, 50.0]
    w0 = rng.normal(size=3)
    for cls, ref, state_key, extra in [(Adagrad, ADAGRAD.reference, "sum", {}),
                                       (RMSprop, RMSPROP.reference, "square_avg", {"alpha": 0.9})]:
        opt = cls(lr=0.05, eps=1e-6, **extra)
        params = {"w": w0.copy()}
        opt.step(params, {"w": g1})
        opt.step(params, {"w": g2})
        w, acc = w0.copy(), np.zeros(3)
        for g in (g1, g2):
            w, acc = ref(w, acc, g, 0.05, *extra.values(), 1e-6)
        np.testing.assert_allclose(params["w"], w, rtol=1e-12)
        np.testing.assert_allclose(opt.state["w"][state_key], acc, rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# correct answers written differently pass (visible and hidden cases)


def _adagrad_loop(w, G, g, lr, eps):
    w_new, G_new = np.empty_like(w), np.empty_like(G)
    for j in range(len(w)):
        G_new[j] = G[j] + g[j] * g[j]
        w_new[j] = w[j] - lr / (math.sqrt(G_new[j]) + eps) * g[j]
    return w_new, G_new


def _adagrad_pytorch_style(w, G, g, lr, eps):
    G_new = G.copy()
    G_new += g * g                       # torch: state_sum.addcmul_(grad, grad, value=1)
    std = np.sqrt(G_new) + eps           # std = state_sum.sqrt().add_(eps)
    return w + (-lr) * (g / std), G_new  # param.addcdiv_(grad, std, value=-clr)


def _rmsprop_loop(w, s, g, lr, alpha, eps):
    out_w, out_s = [], []
    for wj, sj, gj in zip(w, s, g):
        sj = alpha * sj + (1 - alpha) * gj ** 2
        out_s.append(sj)
        out_w.append(wj - lr * gj / (sj ** 0.5 + eps))
    return np.array(out_w), np.array(out_s)


def _rmsprop_lerp(w, s, g, lr, alpha, eps):
    s_new = s + (1 - alpha) * (g * g - s)   # the same average, written as a lerp
    return w - lr * g / (np.sqrt(s_new) + eps), s_new


def _adam_pytorch_step_size(w, m, v, g, t, lr, beta1, beta2, eps):
    m_new = m + (1 - beta1) * (g - m)                  # exp_avg.lerp_(grad, 1 - beta1)
    v_new = v * beta2 + (1 - beta2) * g * g
    step_size = lr / (1 - beta1 ** t)
    denom = np.sqrt(v_new) / math.sqrt(1 - beta2 ** t) + eps
    return w - step_size * m_new / denom, m_new, v_new


def _adam_loop(w, m, v, g, t, lr, beta1, beta2, eps):
    w_new, m_new, v_new = w.copy(), m.copy(), v.copy()
    c1, c2 = 1 - np.power(beta1, t), 1 - np.power(beta2, t)
    for j in range(w.size):
        m_new[j] = beta1 * m[j] + (1 - beta1) * g[j]
        v_new[j] = beta2 * v[j] + (1 - beta2) * g[j] ** 2
        w_new[j] = w[j] - lr * (m_new[j] / c1) / (math.sqrt(v_new[j] / c2) + eps)
    return w_new, m_new, v_new


def _adam_list_tuple(w, m, v, g, t, lr, beta1, beta2, eps):
    return list(ADAM.reference(w, m, v, g, t, lr, beta1, beta2, eps))   # a list of 3 arrays is accepted


@pytest.mark.parametrize("ex, func", [
    (ADAGRAD, _adagrad_loop), (ADAGRAD, _adagrad_pytorch_style),
    (RMSPROP, _rmsprop_loop), (RMSPROP, _rmsprop_lerp),
    (ADAM, _adam_pytorch_step_size), (ADAM, _adam_loop), (ADAM, _adam_list_tuple),
    (ADAGRAD, _torch_adagrad), (RMSPROP, _torch_rmsprop), (ADAM, _torch_adam),
], ids=lambda x: getattr(x, "__name__", getattr(x, "name", "")))
def test_other_correct_answers_pass(ex, func):
    for secret in (None, 1, 2, 3):
        verdict = run_check(ex, func, cases=ex.cases(secret=secret))
        assert verdict.passed, verdict.message


# ---------------------------------------------------------------------------------------------
# more wrong answers fail


def _adam_eps_added_to_v(w, m, v, g, t, lr, beta1, beta2, eps):
    m_new = beta1 * m + (1 - beta1) * g
    v_new = beta2 * v + (1 - beta2) * g ** 2 + eps       # AdaBelief puts an eps here; Adam does not
    return w - lr * (m_new / (1 - beta1 ** t)) / (np.sqrt(v_new / (1 - beta2 ** t)) + eps), m_new, v_new


def _adam_corrects_only_m(w, m, v, g, t, lr, beta1, beta2, eps):
    m_new = beta1 * m + (1 - beta1) * g
    v_new = beta2 * v + (1 - beta2) * g ** 2
    return w - lr * (m_new / (1 - beta1 ** t)) / (np.sqrt(v_new) + eps), m_new, v_new


def _adam_belief(w, m, v, g, t, lr, beta1, beta2, eps):
    m_new = beta1 * m + (1 - beta1) * g
    v_new = beta2 * v + (1 - beta2) * (g - m_new) ** 2    # AdaBelief's s, not Adam's v
    return w - lr * (m_new / (1 - beta1 ** t)) / (np.sqrt(v_new / (1 - beta2 ** t)) + eps), m_new, v_new


def _adam_float32(w, m, v, g, t, lr, beta1, beta2, eps):
    out = ADAM.reference(*(np.float32(x) if np.isscalar(x) else np.asarray(x, np.float32)
                           for x in (w, m, v, g)), t, lr, beta1, beta2, eps)
    return tuple(np.asarray(o, dtype=np.float32) for o in out)


def _rmsprop_sign_only(w, s, g, lr, alpha, eps):
    return w - lr * np.sign(g), alpha * s + (1 - alpha) * g ** 2


def _adagrad_mean_of_squares(w, G, g, lr, eps):
    G_new = (G + g ** 2) / 2
    return w - lr * g / (np.sqrt(G_new) + eps), G_new


@pytest.mark.parametrize("ex, func", [
    (ADAM, _adam_eps_added_to_v), (ADAM, _adam_corrects_only_m), (ADAM, _adam_belief), (ADAM, _adam_float32),
    (RMSPROP, _rmsprop_sign_only), (ADAGRAD, _adagrad_mean_of_squares),
], ids=lambda x: getattr(x, "__name__", getattr(x, "name", "")))
def test_more_wrong_answers_fail(ex, func):
    verdict = run_check(ex, func)
    assert verdict.status == "failed", verdict.message


def test_in_place_update_fails_with_a_message():
    def adagrad_in_place(w, G, g, lr, eps):
        G += g ** 2
        return w - lr * g / (np.sqrt(G) + eps), G

    verdict = run_check(ADAGRAD, adagrad_in_place)
    assert verdict.status == "failed" and "in place" in verdict.message, verdict.message


def test_a_small_coordinate_cannot_hide_behind_a_large_one():
    # wrong only in the coordinate with the tiny gradient: the entrywise comparison must see it
    def wrong_small_coordinate(w, m, v, g, t, lr, beta1, beta2, eps):
        w_new, m_new, v_new = ADAM.reference(w, m, v, g, t, lr, beta1, beta2, eps)
        v_new = v_new.copy()
        small = np.argmin(np.abs(g))
        v_new[small] *= 1.001
        return w_new, m_new, v_new

    verdict = run_check(ADAM, wrong_small_coordinate)
    assert verdict.status == "failed" and "v_new" in verdict.message, verdict.message


def test_errata_coincide_with_the_right_formula_only_where_expected():
    # (1 - beta)^t agrees with 1 - beta^t at t = 1 only; 1 - beta^2 only at t = 2: the cases must
    # contain steps where they differ (otherwise the check could not catch them)
    ts = [c.args["t"] for c in ADAM.cases()]
    assert 1 in ts and 2 in ts and any(t > 2 for t in ts)
    first = ADAM.cases()[1]
    assert first.args["t"] == 1
    errata = {m.name: m.func for m in ADAM.mistakes}
    ref = ADAM.reference(*first.args.values())
    same = errata["(1 - beta)^t erratum"](*first.args.values())
    np.testing.assert_allclose(same[0], ref[0], rtol=1e-12)   # indistinguishable at t = 1 ...
    assert run_check(ADAM, errata["(1 - beta)^t erratum"]).status == "failed"   # ... caught elsewhere
