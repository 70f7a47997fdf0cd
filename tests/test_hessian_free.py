"""Hessian-free tools (course_lib.optim.hessian_free) against explicit Hessians, numpy.linalg and theory."""
import numpy as np
import pytest
import torch

from course_lib.optim.hessian_free import (conjugate_gradient, explicit_hessian, format_bytes,
                                     format_memory_table, hessian_from_hvps, hessian_memory_table,
                                     hvp, hvp_check, hvps, lbfgs_minimize, truncated_newton,
                                     truncated_newton_step)


def _logreg(n=12, m=40, seed=0, lam=0.1):
    """L2-regularised logistic regression loss in torch (smooth, strictly convex, not quadratic)."""
    rng = np.random.default_rng(seed)
    X = torch.tensor(rng.standard_normal((m, n)))
    y = torch.tensor((rng.random(m) < 0.5).astype(float))

    def f(w):
        z = X @ w
        return torch.mean(torch.nn.functional.softplus(z) - y * z) + 0.5 * lam * (w @ w)

    return f


def _rosen_torch(w):
    return (1 - w[0]) ** 2 + 100 * (w[1] - w[0] ** 2) ** 2


def test_hvp_equals_explicit_hessian_times_v():
    f = _logreg()
    rng = np.random.default_rng(1)
    w = rng.standard_normal(12)
    H = torch.autograd.functional.hessian(f, torch.tensor(w)).numpy()
    for _ in range(3):
        v = rng.standard_normal(12)
        assert np.max(np.abs(hvp(f, w, v) - H @ v)) < 1e-12


def test_hvp_equals_analytic_rosenbrock_hessian():
    from course_lib.objectives import Rosenbrock

    r = Rosenbrock()
    rng = np.random.default_rng(2)
    for w in ([-1.5, 2.0], [0.3, -0.4], [1.0, 1.0]):
        w = np.array(w)
        v = rng.standard_normal(2)
        assert np.max(np.abs(hvp(_rosen_torch, w, v) - r.hessian(w) @ v)) < 1e-12


def test_hvp_of_a_quadratic_is_A_v_and_of_a_linear_function_is_zero():
    rng = np.random.default_rng(3)
    M = rng.standard_normal((5, 5))
    A = torch.tensor(M + M.T)
    b = torch.tensor(rng.standard_normal(5))
    v = rng.standard_normal(5)
    q = lambda w: 0.5 * w @ A @ w - b @ w
    np.testing.assert_allclose(hvp(q, rng.standard_normal(5), v), A.numpy() @ v, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(hvp(lambda w: b @ w, np.zeros(5), v), np.zeros(5))
    # torch tensors are accepted too
    np.testing.assert_allclose(hvp(q, torch.zeros(5), torch.tensor(v)), A.numpy() @ v, rtol=1e-12)


def test_batched_products_and_assembled_hessian():
    f = _logreg(n=6)
    w = np.linspace(-1, 1, 6)
    H = explicit_hessian(f, w)
    np.testing.assert_allclose(H, torch.autograd.functional.hessian(f, torch.tensor(w)).numpy(), rtol=0, atol=0)
    V = np.random.default_rng(4).standard_normal((3, 6))
    np.testing.assert_allclose(hvps(f, w, V), V @ H.T, atol=1e-12)
    np.testing.assert_allclose(hessian_from_hvps(f, w), H, atol=1e-12)
    chk = hvp_check(f, w, V[0])
    assert chk["max_abs_diff"] < 1e-12 and chk["rel_error"] < 1e-12
    with pytest.raises(ValueError, match="shape"):
        hvp(f, w, np.ones(5))
    with pytest.raises(ValueError, match="scalar"):
        hvp(lambda w: w * 2, w, w)


def test_cg_solves_spd_systems_like_numpy():
    rng = np.random.default_rng(5)
    for n in (1, 5, 30):
        M = rng.standard_normal((n, n))
        A = M @ M.T + np.eye(n)
        b = rng.standard_normal(n)
        # n iterations in exact arithmetic; round-off costs a few more (allow up to 3n)
        res = conjugate_gradient(lambda p: A @ p, b, tol=1e-12, max_iter=3 * n)
        x = np.linalg.solve(A, b)
        assert res.converged and res.iterations <= 3 * n
        np.testing.assert_allclose(res.x, x, rtol=1e-8, atol=1e-10)
        assert res.residual_norms[-1] <= 1e-12 * np.linalg.norm(b)


def test_cg_error_decreases_in_the_A_norm_and_respects_max_iter():
    rng = np.random.default_rng(6)
    n = 20
    M = rng.standard_normal((n, n))
    A = M @ M.T + 0.1 * np.eye(n)
    b = rng.standard_normal(n)
    x_star = np.linalg.solve(A, b)
    errs = []
    for k in range(1, 8):
        res = conjugate_gradient(lambda p: A @ p, b, tol=0.0, max_iter=k)
        assert res.iterations == k and not res.converged
        e = res.x - x_star
        errs.append(e @ A @ e)
    assert np.all(np.diff(errs) < 0)  # CG minimises the A-norm error over a growing Krylov space


def test_cg_detects_negative_curvature():
    A = np.diag([1.0, -1.0])
    b = np.array([1.0, 1.0])
    res = conjugate_gradient(lambda p: A @ p, b)
    assert res.negative_curvature and res.iterations == 0
    with pytest.raises(ValueError, match="not positive definite"):
        conjugate_gradient(lambda p: A @ p, b, stop_on_negative_curvature=False)
    with pytest.raises(ValueError, match="max_iter"):
        conjugate_gradient(lambda p: A @ p, b, max_iter=-1)


def test_truncated_newton_step_with_n_iterations_is_the_newton_step():
    n = 8
    f = _logreg(n=n, seed=7)
    w = np.random.default_rng(8).standard_normal(n)
    wt = torch.tensor(w)
    H = torch.autograd.functional.hessian(f, wt).numpy()
    g = torch.func.grad(f)(wt).numpy()
    newton = -np.linalg.solve(H, g)
    st = truncated_newton_step(f, w, cg_iters=n)
    np.testing.assert_allclose(st.dw, newton, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(st.g, g, rtol=1e-12)
    # one CG iteration from 0 is the exact line minimiser along -g (the Cauchy step)
    st1 = truncated_newton_step(f, w, cg_iters=1)
    np.testing.assert_allclose(st1.dw, -(g @ g) / (g @ H @ g) * g, rtol=1e-12)
    assert st1.cg.iterations == 1


def test_truncated_newton_minimises_logistic_regression():
    n = 30
    f = _logreg(n=n, m=200, seed=9, lam=0.01)
    res = truncated_newton(f, np.zeros(n), cg_iters=10, max_steps=30, tol_grad=1e-10)
    assert res.converged and res.steps <= 15
    assert res.hvp_count == res.cg_iterations.sum() <= 10 * res.steps
    assert res.trajectory.shape == (res.steps + 1, n)
    # the minimiser agrees with scipy's independent solver
    from scipy.optimize import minimize

    fun = lambda w: float(f(torch.tensor(w)))
    jac = lambda w: torch.func.grad(f)(torch.tensor(w)).numpy()
    ref = minimize(fun, np.zeros(n), jac=jac, method="BFGS", options={"gtol": 1e-11})
    np.testing.assert_allclose(res.trajectory[-1], ref.x, atol=1e-7)


def test_lbfgs_reaches_the_rosenbrock_minimum():
    w0 = np.array([-1.5, 2.0])
    res = lbfgs_minimize(_rosen_torch, w0, max_steps=200, tol_grad=1e-12)
    assert np.max(np.abs(res.trajectory[-1] - np.array([1.0, 1.0]))) < 1e-6
    np.testing.assert_array_equal(res.trajectory[0], w0)
    assert res.trajectory.shape == (res.steps + 1, 2) and res.losses.shape == (res.steps + 1,)
    assert res.steps < 100 and res.n_evals >= res.steps
    assert res.losses[-1] < 1e-12 and res.losses[-1] <= res.losses[0]


def test_memory_table_numbers():
    ns = (1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9)
    rows = hessian_memory_table(ns)
    assert [r["n"] for r in rows] == [10**k for k in range(3, 10)]
    for r in rows:
        n = r["n"]
        assert r["entries"] == n * n
        assert r["bytes_4"] == 4 * n * n and r["bytes_8"] == 8 * n * n
        assert r["weights_8"] == 8 * n
        assert r["solve_flops"] == pytest.approx(2 / 3 * n**3, rel=1e-12)
    assert rows[0]["memory_4"] == "4 MB" and rows[0]["memory_8"] == "8 MB"
    assert rows[3]["memory_4"] == "4 TB"          # n = 1e6: 1e12 entries
    assert rows[-1]["memory_8"] == "8 EB"         # n = 1e9: 1e18 entries
    assert rows[-1]["bytes_8"] == 8 * 10**18      # exact integer, no float rounding
    text = format_memory_table(rows)
    assert "8 EB" in text and len(text.splitlines()) == len(ns) + 2
    only8 = hessian_memory_table((100,), bytes_per_entry=8)
    assert only8[0]["bytes_8"] == 80000 and "bytes_4" not in only8[0]
    with pytest.raises(ValueError, match="n"):
        hessian_memory_table((0,))


def test_format_bytes():
    assert format_bytes(0) == "0 B"
    assert format_bytes(999) == "999 B"
    assert format_bytes(1500) == "1.5 kB"
    assert format_bytes(4e15) == "4 PB"


def test_format_count_and_seconds():
    from course_lib.optim.hessian_free import format_count, format_seconds

    assert format_count(21137) == "21,137"
    assert format_count(1e9) == "1e9"
    assert format_count(2 / 3 * 1e27) == "6.67e26"
    assert format_count(9.9996e9) == "1e10"          # rounding carries into the exponent
    assert format_count(1000, sci_from=1e3) == "1e3"
    assert format_seconds(90) == "1.5 min"
    assert format_seconds(2 / 3 * 1e27 / 1e12) == "2.11e7 years"
    assert format_seconds(6.67e-4).endswith("us")
