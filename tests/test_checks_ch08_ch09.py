"""Chapters 08 and 09 exercises, beyond tests/test_checks.py (which walks the registry: reference
passes, stub fails, each named Mistake fails with its hint): correct answers written differently
(loops, einsum, other algebra, torch) pass on the visible and on many hidden cases; wrong answers
outside the mistake lists fail; answers that change their inputs in place fail with a message
saying so; the references agree with PyTorch."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from course_lib.checks import get, run_check
from course_lib.nn.torch_twin import parameters_holding

def _all_cases(name, secrets=(1, 2, 3, 4)):
    ex = get(name)
    seen, out = set(), []
    for s in (None,) + tuple(secrets):
        for c in ex.cases(secret=s):
            if c.name not in seen:
                seen.add(c.name)
                out.append(c)
    return out


def passes(name, func):
    verdict = run_check(get(name), func, cases=_all_cases(name))
    return verdict.passed, verdict.message


# ---------------------------------------------------------------------------------------------
# linear_backward

def _lin_loops(dout, x, W):
    N, D = x.shape
    M = W.shape[1]
    dx, dW, db = np.zeros((N, D)), np.zeros((D, M)), np.zeros(M)
    for n in range(N):
        for i in range(D):
            for j in range(M):
                dx[n, i] += dout[n, j] * W[i, j]
                dW[i, j] += x[n, i] * dout[n, j]
    for n in range(N):
        db += dout[n]
    return dx, dW, db


def _lin_einsum(dout, x, W):
    return np.einsum("nj,ij->ni", dout, W), np.einsum("ni,nj->ij", x, dout), np.einsum("nj->j", dout)


def _lin_outer_products(dout, x, W):
    dW = sum(np.outer(xn, dn) for xn, dn in zip(x, dout))
    return np.dot(dout, W.T), dW, np.ones(len(dout)) @ dout


def _lin_torch(dout, x, W):
    xt = torch.tensor(x, requires_grad=True)
    Wt = torch.tensor(W, requires_grad=True)
    bt = torch.zeros(W.shape[1], dtype=torch.float64, requires_grad=True)
    (xt @ Wt + bt).backward(torch.tensor(dout))
    return xt.grad.numpy(), Wt.grad.numpy(), bt.grad.numpy()


@pytest.mark.parametrize("func", [_lin_loops, _lin_einsum, _lin_outer_products, _lin_torch])
def test_linear_backward_accepts_correct_answers_written_differently(func):
    ok, message = passes("linear_backward", func)
    assert ok, message


@pytest.mark.parametrize("func, phrase", [
    (lambda dout, x, W: (dout @ W.T, x.T @ dout), "tuple of 3 items"),
    (lambda dout, x, W: (dout @ W.T, x.T @ dout, dout.sum(axis=0, keepdims=True)), "shape (1,"),
    (lambda dout, x, W: (x.T @ dout, dout @ W.T, dout.sum(axis=0)), "dx"),          # outputs swapped
    (lambda dout, x, W: (dout @ W.T, x.T @ dout, dout.sum(axis=0) + 1e-6), "db"),
    (lambda dout, x, W: (dout @ W.T * 2, x.T @ dout, dout.sum(axis=0)), "dx"),
])
def test_linear_backward_rejects_other_wrong_answers(func, phrase):
    verdict = run_check(get("linear_backward"), func)
    assert verdict.status == "failed" and phrase in verdict.message, verdict.message


def test_linear_backward_in_place_fails():
    def changes_W(dout, x, W):
        out = (dout @ W.T, x.T @ dout, dout.sum(axis=0))
        W += 1
        return out

    verdict = run_check(get("linear_backward"), changes_W)
    assert verdict.status == "failed" and "changed its input(s) W in place" in verdict.message


# ---------------------------------------------------------------------------------------------
# sigmoid_backward

def _sig_expanded(dout, out):
    return dout * out - dout * out ** 2


@pytest.mark.parametrize("func", [_sig_expanded, lambda dout, out: np.multiply(dout, out * (1 - out))])
def test_sigmoid_backward_accepts_other_algebra(func):
    ok, message = passes("sigmoid_backward", func)
    assert ok, message


@pytest.mark.parametrize("func", [
    lambda dout, out: dout * out * (1 - out) / 4,                 # normalised by the maximum 1/4
    lambda dout, out: dout * (1 - out),
    lambda dout, out: (dout * out * (1 - out)).sum(axis=0),
])
def test_sigmoid_backward_rejects_other_wrong_answers(func):
    assert run_check(get("sigmoid_backward"), func).status == "failed"


# ---------------------------------------------------------------------------------------------
# softmax_cross_entropy

def _ce_logsumexp(logits, labels):
    from scipy.special import logsumexp, softmax
    n = len(labels)
    loss = np.mean(logsumexp(logits, axis=1) - logits[np.arange(n), labels])
    onehot = np.eye(logits.shape[1])[labels]
    return loss, (softmax(logits, axis=1) - onehot) / n


def _ce_loops(logits, labels):
    n, c = logits.shape
    loss, d = 0.0, np.zeros((n, c))
    for i in range(n):
        m = max(logits[i])
        s = sum(math.exp(v - m) for v in logits[i])
        loss += -(logits[i, labels[i]] - m - math.log(s))
        for j in range(c):
            d[i, j] = (math.exp(logits[i, j] - m) / s - (j == labels[i])) / n
    return loss / n, d


def _ce_torch(logits, labels):
    z = torch.tensor(logits, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(z, torch.tensor(labels))
    loss.backward()
    return loss.item(), z.grad.numpy()


def _ce_sum_then_divide(logits, labels):
    z = logits - logits.max(axis=1, keepdims=True)
    lse = np.log(np.sum(np.exp(z), axis=1))
    n = len(labels)
    loss = np.sum(lse - z[np.arange(n), labels]) / n
    p = np.exp(z - lse[:, None])
    p[np.arange(n), labels] -= 1
    return np.float64(loss), p / n


@pytest.mark.parametrize("func", [_ce_logsumexp, _ce_loops, _ce_torch, _ce_sum_then_divide])
def test_softmax_cross_entropy_accepts_correct_answers_written_differently(func):
    ok, message = passes("softmax_cross_entropy", func)
    assert ok, message


def test_mean_shift_is_not_stable_and_the_overflow_hint_says_why():
    def mean_shift(logits, labels):
        z = logits - logits.mean(axis=1, keepdims=True)
        e = np.exp(z)
        p = e / e.sum(axis=1, keepdims=True)
        n = len(labels)
        d = p.copy()
        d[np.arange(n), labels] -= 1
        return float(-np.mean(np.log(p[np.arange(n), labels]))), d / n

    verdict = run_check(get("softmax_cross_entropy"), mean_shift)
    assert verdict.status == "failed" and "size 1000" in verdict.message, verdict.message
    assert "maximum" in verdict.message


@pytest.mark.parametrize("func", [
    lambda logits, labels: (0.0, np.zeros_like(logits)),
    lambda logits, labels: _ce_torch(logits, labels)[::-1],
    lambda logits, labels: (_ce_torch(logits, labels)[0], _ce_torch(logits, labels)[1].T),
])
def test_softmax_cross_entropy_rejects_other_wrong_answers(func):
    assert run_check(get("softmax_cross_entropy"), func).status == "failed"


# ---------------------------------------------------------------------------------------------
# clip_grad_norm and clip_grad_value

def _cn_torch(grads, max_norm):
    ps = parameters_holding(grads)
    total = torch.nn.utils.clip_grad_norm_(ps, max_norm).item()
    return [p.grad.numpy() for p in ps], total


def _cn_without_eps(grads, max_norm):
    flat = np.concatenate([g.ravel() for g in grads])
    total = np.linalg.norm(flat)
    scale = min(1.0, max_norm / total)
    return [g * scale for g in grads], float(total)


def _cn_loop(grads, max_norm):
    s = 0.0
    for g in grads:
        for v in g.ravel():
            s += v * v
    total = s ** 0.5
    if total > max_norm:
        return [g / total * max_norm for g in grads], total
    return [np.copy(g) for g in grads], total


@pytest.mark.parametrize("func", [_cn_torch, _cn_without_eps, _cn_loop])
def test_clip_grad_norm_accepts_torch_and_other_ways(func):
    ok, message = passes("clip_grad_norm", func)
    assert ok, message


def test_reference_is_torch_on_the_cases():
    ex = get("clip_grad_norm")
    for case in _all_cases("clip_grad_norm"):
        grads = [v for k, v in case.args.items() if k.startswith("grads[")]
        (ours, total), (theirs, t_total) = ex.reference(grads, case.args["max_norm"]), _cn_torch(grads, case.args["max_norm"])
        assert abs(total - t_total) <= 1e-12 * t_total
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_clip_grad_norm_in_place_fails_with_its_message():
    def in_place(grads, max_norm):
        total = float(np.sqrt(sum(np.sum(g ** 2) for g in grads)))
        coef = max_norm / (total + 1e-6)
        if coef < 1:
            for g in grads:
                g *= coef
        return grads, total

    verdict = run_check(get("clip_grad_norm"), in_place)
    assert verdict.status == "failed" and "in place" in verdict.message, verdict.message
    assert verdict.mistake is None


def test_clip_grad_norm_rejects_an_array_instead_of_a_list():
    def stacked(grads, max_norm):
        clipped, total = _cn_loop(grads, max_norm)
        return np.concatenate([c.ravel() for c in clipped]), total
    verdict = run_check(get("clip_grad_norm"), stacked)
    assert verdict.status == "failed" and "list with one array per gradient" in verdict.message


def test_clip_grad_value_accepts_torch_and_other_ways():
    def torch_way(grads, c):
        ps = parameters_holding(grads)
        torch.nn.utils.clip_grad_value_(ps, c)
        return [p.grad.numpy() for p in ps]

    for func in (torch_way, lambda grads, c: [np.maximum(np.minimum(g, c), -c) for g in grads],
                 lambda grads, c: [np.where(np.abs(g) > c, np.sign(g) * c, g) for g in grads]):
        ok, message = passes("clip_grad_value", func)
        assert ok, message


def test_clip_grad_value_in_place_fails():
    def in_place(grads, c):
        for g in grads:
            np.clip(g, -c, c, out=g)
        return grads
    verdict = run_check(get("clip_grad_value"), in_place)
    assert verdict.status == "failed" and "in place" in verdict.message


# ---------------------------------------------------------------------------------------------
# init_std

def test_init_std_accepts_other_ways():
    def via_variance(fan_in, fan_out, scheme):
        var = 2 / (fan_in + fan_out) if scheme == "xavier" else 2 / fan_in
        return var ** 0.5

    def via_torch(fan_in, fan_out, scheme):
        W = torch.empty(fan_out, fan_in)                 # torch stores (out, in)
        gain = 1.0 if scheme == "xavier" else math.sqrt(2.0)
        fan = (fan_in + fan_out) / 2 if scheme == "xavier" else fan_in
        return gain / math.sqrt(fan)

    for func in (via_variance, via_torch, lambda fi, fo, s: {"xavier": np.sqrt(2 / (fi + fo)), "he": np.sqrt(2 / fi)}[s]):
        ok, message = passes("init_std", func)
        assert ok, message


def test_init_std_matches_torch_init_on_large_samples():
    torch.manual_seed(0)
    W = torch.empty(512, 2048, dtype=torch.float64)        # (fan_out, fan_in) in torch
    ref = get("init_std").reference
    torch.nn.init.xavier_normal_(W)
    assert abs(W.std().item() / ref(2048, 512, "xavier") - 1) < 0.01
    torch.nn.init.kaiming_normal_(W, nonlinearity="relu")
    assert abs(W.std().item() / ref(2048, 512, "he") - 1) < 0.01


@pytest.mark.parametrize("func", [
    lambda fi, fo, s: np.sqrt(2 / (fi + fo)),                       # ignores the scheme
    lambda fi, fo, s: np.sqrt(6 / (fi + fo)) if s == "xavier" else np.sqrt(2 / fi),   # the uniform bound
    lambda fi, fo, s: np.sqrt(1 / (fi + fo)) if s == "xavier" else np.sqrt(2 / fi),
])
def test_init_std_rejects_other_wrong_answers(func):
    assert run_check(get("init_std"), func).status == "failed"
