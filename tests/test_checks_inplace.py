"""Inputs changed in place are found where answers are judged, not by the student's numpy.

The chapter checks with their own `call` (numerical_hessian, gradient_descent, nesterov_step)
send the inputs as the answer left them; a kernel that patched `np.array_equal` to always say
"equal" must still fail an answer that changes its input in place.
"""
import numpy as np
import pytest

from course_lib.checks import get
from course_lib.checks.ch01_taylor_hessian_newton import numerical_hessian_reference
from course_lib.checks.ch02_gradient_descent import gradient_descent_reference
from course_lib.checks.ch06_nesterov import nesterov_step_reference
from course_lib.checks.core import collect, judge
from course_lib.checks.plain import dumps, loads


def hessian_in_place(f, w, h):
    H = numerical_hessian_reference(f, w.copy(), h)
    w += h                                    # the caller's w is moved
    return H


def gd_in_place(grad, w0, lr, max_steps, tol_step, tol_grad):
    w, steps, reason = gradient_descent_reference(grad, w0, lr, max_steps, tol_step, tol_grad)
    w0[...] = w                               # the caller's w0 is overwritten
    return w, steps, reason


def nesterov_in_place(w, v, grad, lr, mu):
    w_new, v_new = nesterov_step_reference(w.copy(), v.copy(), grad, lr, mu)
    v *= 0.0                                  # the caller's v is wiped
    return w_new, v_new


@pytest.mark.parametrize("name, answer, words", [
    ("numerical_hessian", hessian_in_place, "changed the caller's w in place"),
    ("gradient_descent", gd_in_place, "changed the caller's w0 in place"),
    ("nesterov_step", nesterov_in_place, "changed its input(s) v in place"),
])
def test_in_place_answer_fails_even_with_a_patched_array_equal(monkeypatch, name, answer, words):
    exercise = get(name)
    cases = exercise.cases()
    with monkeypatch.context() as m:          # what a student's kernel could do
        m.setattr(np, "array_equal", lambda *a, **k: True)
        collected = loads(dumps(collect(exercise, [answer], cases)))
    verdict = judge(exercise, cases, collected)
    assert not verdict.passed and words in verdict.message, verdict.message


@pytest.mark.parametrize("name, reference", [
    ("numerical_hessian", numerical_hessian_reference),
    ("gradient_descent", gradient_descent_reference),
    ("nesterov_step", nesterov_step_reference),
])
def test_the_reference_itself_is_not_reported_as_changing_its_inputs(name, reference):
    exercise = get(name)
    cases = exercise.cases()
    assert judge(exercise, cases, loads(dumps(collect(exercise, [reference], cases)))).passed
