"""Tests for course_lib._validate: every check returns the value in the form callers compute with,
or raises a ValueError naming the argument and the value."""
import numpy as np
import pytest

from course_lib import _validate as V


def test_fmt_is_one_number_format():
    assert V.fmt(-0.1) == "-0.1" and V.fmt(1e-8) == "1e-08" and V.fmt(2) == "2.0"
    assert V.fmt(float("nan")) == "nan" and V.fmt(np.float32(0.5)) == "0.5"
    assert V.fmt(8.1234e-07, 2) == "8.1e-07" and V.fmt(1e8, 2) == "1e+08"


@pytest.mark.parametrize("call, expected", [
    (lambda: V.real(0.5, "x"), 0.5),
    (lambda: V.real(3, "x"), 3.0),
    (lambda: V.real(np.float32(0.25), "x"), 0.25),
    (lambda: V.real(np.array(1.5), "x"), 1.5),
    (lambda: V.nonneg(0, "x"), 0.0),
    (lambda: V.positive(1e-300, "x"), 1e-300),
    (lambda: V.interval(0.0, "x", 0, 1, hi_open=True), 0.0),
    (lambda: V.interval(1.0, "x", 0, 1, lo_open=True), 1.0),
    (lambda: V.count(np.int64(4), "n"), 4),
    (lambda: V.flag(np.True_, "f"), True),
    (lambda: V.choice("b", "mode", ("a", "b")), "b"),
])
def test_good_values_come_back_as_plain_python(call, expected):
    got = call()
    assert got == expected and type(got) is type(expected)


def test_arrays_are_checked_entry_by_entry():
    a = V.nonneg([[0.1], [0.0]], "lr (learning rate)", array=True)
    assert isinstance(a, np.ndarray) and a.dtype == np.float64 and a.shape == (2, 1)
    with pytest.raises(ValueError, match=r"^lr \(learning rate\) must be >= 0, got -0\.2 "
                                         r"\(entry \(1, 0\) of the array of shape \(3, 1\)\)$"):
        V.nonneg([[0.1], [-0.2], [0.3]], "lr (learning rate)", array=True)
    with pytest.raises(ValueError, match=r"must be a finite number, got nan \(entry \(1,\)"):
        V.real([1.0, np.nan], "x", array=True)
    with pytest.raises(ValueError, match=r"x must be a single number, got an array of shape \(2,\)"):
        V.real([1.0, 2.0], "x")


@pytest.mark.parametrize("call, message", [
    (lambda: V.nonneg(-0.1, "lr (learning rate)"), "lr (learning rate) must be >= 0, got -0.1"),
    (lambda: V.positive(0, "eta0"), "eta0 must be positive, got 0.0"),
    (lambda: V.positive(-1, "tol", rule="must be a positive number"),
     "tol must be a positive number, got -1.0"),
    (lambda: V.interval(1.0, "momentum (mu)", 0, 1, hi_open=True),
     "momentum (mu) must be in [0, 1), got 1.0"),
    (lambda: V.interval(0.0, "gamma", 0, 1, lo_open=True), "gamma must be in (0, 1], got 0.0"),
    (lambda: V.interval(1.2, "mu", 0, 1, rule="must be in [0, 1] (friction)", hint="; see x"),
     "mu must be in [0, 1] (friction), got 1.2; see x"),
    (lambda: V.real(0.5, "kappa", lo=1), "kappa must be >= 1, got 0.5"),
    (lambda: V.real(2.0, "p", hi=1, hi_open=True), "p must be < 1, got 2.0"),
    (lambda: V.real(float("inf"), "eps"), "eps must be a finite number, got inf"),
    (lambda: V.real("0.1", "eta"), "eta must be a number, got '0.1'"),
    (lambda: V.real(True, "eta"), "eta must be a number, got True"),
    (lambda: V.real(None, "lr", array=True), "lr must be a number or a NumPy array of numbers, got None"),
    (lambda: V.count(2.5, "steps", noun="whole number of steps"),
     "steps must be a whole number of steps, got 2.5"),
    (lambda: V.count(0, "t", why=" (steps are counted from 1)"),
     "t must be >= 1 (steps are counted from 1), got 0"),
    (lambda: V.count(True, "n"), "n must be a whole number, got True"),
    (lambda: V.flag(1, "check_finite"), "check_finite must be True or False, got 1"),
    (lambda: V.choice("ema", "form", ("lecture", "pytorch")),
     "form must be 'lecture' or 'pytorch', got 'ema'"),
    (lambda: V.choice("x", "mode", ("a", "b", "c")), "mode must be one of 'a', 'b', 'c', got 'x'"),
    (lambda: V.finite_array([1.0, np.inf], "X"),
     "X must contain only finite numbers (no NaN or inf), got [ 1. inf]"),
    (lambda: V.finite_array([[1.0], [2.0, 3.0]], "X"), "X must be an array of numbers, got"),
])
def test_bad_values_are_named_with_their_value(call, message):
    with pytest.raises(ValueError) as info:
        call()
    assert str(info.value).startswith(message), str(info.value)


def test_finite_array_copies_only_when_asked():
    a = np.array([1.0, 2.0])
    assert V.finite_array(a, "a") is a
    b = V.finite_array(a, "a", copy=True)
    b[0] = 5.0
    assert a[0] == 1.0
    assert V.finite_array([1, 2], "a").dtype == np.float64
