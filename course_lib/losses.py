"""Loss functions: value and gradient, with respect to the predictions and to linear-model weights.

Three losses from the lectures, each averaged over the n samples (the "mean" reduction that
``torch.nn.functional`` uses by default):

    MSE       L = 1/n sum_i (yhat_i - y_i)^2                       dL/dyhat_i = 2/n (yhat_i - y_i)
    MAE       L = 1/n sum_i |yhat_i - y_i|                         dL/dyhat_i = 1/n sign(yhat_i - y_i)
    log-loss  L = -1/n sum_i [y_i log p_i + (1 - y_i) log(1 - p_i)]
                                                                   dL/dp_i = 1/n (p_i - y_i) / (p_i (1 - p_i))

Shapes (everything is vectorised so that many weight vectors can be evaluated at once, e.g. on a
grid for a contour plot):

* predictions ``y_pred`` / probabilities ``p`` / logits ``z``: shape ``(..., n)``; the loss averages
  over the last axis and returns shape ``(...)`` (a Python-float-like 0-d result for 1-D input);
* targets ``y``: shape ``(n,)`` (shared by every leading index) or exactly the shape of ``y_pred``;
* gradients with respect to the predictions have the shape of ``y_pred``.

Linear model (``linear_loss`` / ``linear_loss_grad`` / ``LinearModelLoss``): design matrix ``X`` of
shape ``(n, d)`` (put a column of ones in X if you want a bias), weights ``w`` of shape ``(..., d)``.

    MSE, MAE:  yhat = X w,                    grad_w L = X^T dL/dyhat        (shape (..., d))
    log-loss:  z = X w, p = sigmoid(z),        grad_w L = 1/n X^T (p - y)

The log-loss of the linear model is computed from the logits z with
``log(1 + e^z) - y z`` (``np.logaddexp``), which never takes log(0), so it stays finite even for
weights that make the model extremely confident.

Bad input (mismatched shapes, NaN, probabilities outside (0, 1), labels outside [0, 1]) raises a
``ValueError`` that says which argument is wrong and why.
"""

from __future__ import annotations

import numpy as np

from course_lib import _validate as V
from course_lib.objectives import Objective

__all__ = [
    "LOSSES",
    "mse",
    "mse_grad",
    "mae",
    "mae_grad",
    "log_loss",
    "log_loss_grad",
    "log_loss_from_logits",
    "log_loss_from_logits_grad",
    "sigmoid",
    "linear_predict",
    "linear_loss",
    "linear_loss_grad",
    "linear_loss_hessian",
    "LinearModelLoss",
]

#: names accepted by ``linear_loss(..., loss=...)``
LOSSES = ("mse", "mae", "log_loss")


# ---------------------------------------------------------------------------------------------
# input checks
# ---------------------------------------------------------------------------------------------
def _pair(y_pred, y, pred_name: str = "y_pred"):
    """Validate predictions (..., n) and targets (n,) or (..., n); return float arrays."""
    y_pred = V.finite_array(y_pred, pred_name)
    y = V.finite_array(y, "y (targets)")
    if y_pred.ndim == 0:
        raise ValueError(f"{pred_name} must be an array of predictions, one per sample, got a single number")
    if y_pred.shape[-1] == 0:
        raise ValueError(f"{pred_name} is empty: need at least one sample to average the loss over")
    if not (y.shape == y_pred.shape or y.shape == y_pred.shape[-1:]):
        allowed = str(y_pred.shape[-1:]) + ("" if y_pred.ndim == 1 else f" or {y_pred.shape}")
        raise ValueError(
            f"{pred_name} has shape {y_pred.shape} but y (targets) has shape {y.shape}: need one "
            f"prediction per target, so y must have shape {allowed}"
        )
    return y_pred, y


def _check_labels(y) -> None:
    bad = (y < 0) | (y > 1)
    if np.any(bad):
        v = y[bad].flat[0]
        raise ValueError(f"y (targets) for the log-loss must lie in [0, 1] (class labels 0/1), got {v:g}")


def _check_probabilities(p) -> None:
    bad = (p <= 0) | (p >= 1)
    if np.any(bad):
        v = p[bad].flat[0]
        raise ValueError(
            f"p (predicted probabilities) must lie strictly between 0 and 1, got {v:g}: log(0) is "
            f"-infinity. Clip p, or compute the loss from the logits with log_loss_from_logits"
        )


def _linear_inputs(w, X, y):
    X = V.finite_array(X, "X (design matrix)")
    w = V.finite_array(w, "w (weights)")
    if X.ndim != 2:
        raise ValueError(f"X (design matrix) must be 2-D with shape (n samples, d features), got shape {X.shape}")
    if w.ndim == 0 or w.shape[-1] != X.shape[1]:
        raise ValueError(
            f"w (weights) has shape {w.shape} but X has {X.shape[1]} columns: the last axis of w "
            f"must have length d = {X.shape[1]}, one weight per column of X"
        )
    y = V.finite_array(y, "y (targets)")
    if y.shape != (X.shape[0],):
        raise ValueError(f"y (targets) must have shape ({X.shape[0]},), one target per row of X, got shape {y.shape}")
    return w, X, y


# ---------------------------------------------------------------------------------------------
# losses of the predictions
# ---------------------------------------------------------------------------------------------
def mse(y_pred, y) -> np.ndarray:
    """Mean squared error  L = 1/n sum_i (yhat_i - y_i)^2.

    y_pred: (..., n), y: (n,) or (..., n)  ->  (...). Same as ``torch.nn.functional.mse_loss``.
    """
    y_pred, y = _pair(y_pred, y)
    return np.mean((y_pred - y) ** 2, axis=-1)


def mse_grad(y_pred, y) -> np.ndarray:
    """Gradient of the MSE w.r.t. the predictions:  dL/dyhat_i = 2/n (yhat_i - y_i);  shape of y_pred."""
    y_pred, y = _pair(y_pred, y)
    n = y_pred.shape[-1]
    return 2.0 / n * (y_pred - y)


def mae(y_pred, y) -> np.ndarray:
    """Mean absolute error  L = 1/n sum_i |yhat_i - y_i|.

    y_pred: (..., n), y: (n,) or (..., n)  ->  (...). Same as ``torch.nn.functional.l1_loss``.
    """
    y_pred, y = _pair(y_pred, y)
    return np.mean(np.abs(y_pred - y), axis=-1)


def mae_grad(y_pred, y) -> np.ndarray:
    """(Sub)gradient of the MAE w.r.t. the predictions:  dL/dyhat_i = 1/n sign(yhat_i - y_i).

    |r| has no derivative at r = 0; like PyTorch we return 0 there (sign(0) = 0), which is a valid
    subgradient. Shape of y_pred.
    """
    y_pred, y = _pair(y_pred, y)
    n = y_pred.shape[-1]
    return np.sign(y_pred - y) / n


def log_loss(p, y) -> np.ndarray:
    """Binary log-loss (binary cross-entropy) of predicted probabilities.

        L = -1/n sum_i [ y_i log p_i + (1 - y_i) log(1 - p_i) ]

    p: (..., n) probabilities strictly inside (0, 1); y: (n,) or (..., n) labels in [0, 1] (usually
    0/1)  ->  (...). Same as ``torch.nn.functional.binary_cross_entropy`` (which clamps log at -100
    instead of refusing p = 0 or 1; we refuse, with a ValueError).
    """
    p, y = _pair(p, y, "p (predicted probabilities)")
    _check_probabilities(p)
    _check_labels(y)
    return -np.mean(y * np.log(p) + (1.0 - y) * np.log1p(-p), axis=-1)


def log_loss_grad(p, y) -> np.ndarray:
    """Gradient of the log-loss w.r.t. the probabilities:  dL/dp_i = 1/n (p_i - y_i) / (p_i (1 - p_i)).

    Shape of p. It blows up as p_i -> 0 or 1 on a wrong label, which is why models output logits
    and use ``log_loss_from_logits_grad`` instead.
    """
    p, y = _pair(p, y, "p (predicted probabilities)")
    _check_probabilities(p)
    _check_labels(y)
    n = p.shape[-1]
    return (p - y) / (p * (1.0 - p)) / n


def sigmoid(z) -> np.ndarray:
    """Logistic function  sigma(z) = 1 / (1 + e^-z), evaluated without overflow for large |z|."""
    z = np.asarray(z, dtype=float)
    # e^-|z| never overflows; pick the algebraically equal form for each sign of z
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def log_loss_from_logits(z, y) -> np.ndarray:
    """Log-loss of p = sigmoid(z) computed from the logits z (numerically stable).

        L = 1/n sum_i [ log(1 + e^{z_i}) - y_i z_i ]     (algebraically equal to log_loss(sigmoid(z), y))

    z: (..., n) any real numbers; y: (n,) or (..., n) labels in [0, 1]  ->  (...).
    Same as ``torch.nn.functional.binary_cross_entropy_with_logits``.
    """
    z, y = _pair(z, y, "z (logits)")
    _check_labels(y)
    return np.mean(np.logaddexp(0.0, z) - y * z, axis=-1)


def log_loss_from_logits_grad(z, y) -> np.ndarray:
    """Gradient of the log-loss w.r.t. the logits:  dL/dz_i = 1/n (sigmoid(z_i) - y_i).  Shape of z.

    This is dL/dp_i * dp_i/dz_i with dp/dz = p (1 - p): the awkward denominator of dL/dp cancels.
    """
    z, y = _pair(z, y, "z (logits)")
    _check_labels(y)
    n = z.shape[-1]
    return (sigmoid(z) - y) / n


# ---------------------------------------------------------------------------------------------
# the loss of a linear model as a function of its weights
# ---------------------------------------------------------------------------------------------
def _check_loss_name(loss: str) -> None:
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")


def linear_predict(w, X) -> np.ndarray:
    """Outputs of the linear model  yhat = X w  for w: (..., d), X: (n, d)  ->  (..., n)."""
    X = np.asarray(X, dtype=float)
    w = np.asarray(w, dtype=float)
    return w @ X.T


def linear_loss(w, X, y, loss: str = "mse") -> np.ndarray:
    """Loss of the linear model with weights w on the data (X, y).

    loss = "mse":       L(w) = 1/n ||X w - y||^2
    loss = "mae":       L(w) = 1/n sum_i |x_i^T w - y_i|
    loss = "log_loss":  L(w) = 1/n sum_i [log(1 + e^{z_i}) - y_i z_i],  z = X w  (logistic regression;
                        the model's probability is p = sigmoid(X w), labels y in [0, 1])

    w: (..., d) (one or many weight vectors), X: (n, d), y: (n,)  ->  (...).
    """
    _check_loss_name(loss)
    w, X, y = _linear_inputs(w, X, y)
    z = linear_predict(w, X)
    if loss == "mse":
        return mse(z, y)
    if loss == "mae":
        return mae(z, y)
    return log_loss_from_logits(z, y)


def linear_loss_grad(w, X, y, loss: str = "mse") -> np.ndarray:
    """Gradient of ``linear_loss`` with respect to the weights (chain rule through yhat = X w).

    loss = "mse":       grad L = 2/n X^T (X w - y)        (= -2/n sum_i (y_i - x_i^T w) x_i)
    loss = "mae":       grad L = 1/n X^T sign(X w - y)     (a subgradient where some residual is 0)
    loss = "log_loss":  grad L = 1/n X^T (sigmoid(X w) - y)

    w: (..., d), X: (n, d), y: (n,)  ->  (..., d).
    """
    _check_loss_name(loss)
    w, X, y = _linear_inputs(w, X, y)
    z = linear_predict(w, X)
    if loss == "mse":
        g_pred = mse_grad(z, y)
    elif loss == "mae":
        g_pred = mae_grad(z, y)
    else:
        g_pred = log_loss_from_logits_grad(z, y)
    return g_pred @ X  # (..., n) @ (n, d): row-vector form of X^T g_pred


def linear_loss_hessian(w, X, y, loss: str = "mse") -> np.ndarray:
    """Hessian of ``linear_loss`` with respect to the weights.

    loss = "mse":       H = 2/n X^T X                          (constant)
    loss = "mae":       H = 0 wherever it exists (the loss is piecewise linear in w)
    loss = "log_loss":  H = 1/n X^T diag(p (1 - p)) X,  p = sigmoid(X w)

    w: (..., d), X: (n, d), y: (n,)  ->  (..., d, d).
    """
    _check_loss_name(loss)
    w, X, y = _linear_inputs(w, X, y)
    n, d = X.shape
    lead = w.shape[:-1]
    if loss == "mse":
        return np.broadcast_to(2.0 / n * X.T @ X, lead + (d, d)).copy()
    if loss == "mae":
        return np.zeros(lead + (d, d))
    p = sigmoid(linear_predict(w, X))  # (..., n)
    s = p * (1.0 - p)
    return np.einsum("ni,...n,nj->...ij", X, s, X) / n


class LinearModelLoss(Objective):
    """The training loss of a linear model as an objective of its weights, L(w) on fixed data (X, y).

    Follows the ``Objective`` interface of docs/DESIGN.md: ``value(w)``, ``grad(w)``, ``hessian(w)``
    for w of shape (..., d) (formulas in ``linear_loss``, ``linear_loss_grad``,
    ``linear_loss_hessian``), so it can be drawn with ``plotting.contour_trajectories`` (d = 2) and
    minimised with the optimizers and the runner. Like every Objective it accepts non-finite w (a
    diverging run can still be evaluated); X and y are checked once, here.

    Parameters
    ----------
    X : (n, d) design matrix (add a column of ones for a bias)
    y : (n,) targets (labels in [0, 1] for loss="log_loss")
    loss : "mse" | "mae" | "log_loss"
    name : readable name for plot titles; default e.g. "log-loss of a linear model (n = 40, d = 2)"
    xlim, ylim : plot window for d = 2 (default (-3, 3) each)

    ``minimizer`` / ``min_value``: the least-squares solution for "mse" (the one closed form);
    None for "mae" and "log_loss", whose minimisers have no formula.
    """

    _LABEL = {"mse": "MSE", "mae": "MAE", "log_loss": "log-loss"}

    def __init__(self, X, y, loss: str = "mse", name: str | None = None,
                 xlim=(-3.0, 3.0), ylim=(-3.0, 3.0)):
        _check_loss_name(loss)
        X = V.finite_array(X, "X (design matrix)", copy=True)
        if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
            raise ValueError(f"X (design matrix) must be 2-D with shape (n samples, d features), got shape {X.shape}")
        _, X, y = _linear_inputs(np.zeros(X.shape[1]), X, y)
        y = np.array(y)
        if loss == "log_loss":
            _check_labels(y)
        X.flags.writeable = False
        y.flags.writeable = False
        self.X, self.y, self.loss = X, y, loss
        self.n, self.dim = X.shape
        self.name = name or f"{self._LABEL[loss]} of a linear model (n = {self.n}, d = {self.dim})"
        self.minimizer = None
        self.min_value = None
        if loss == "mse":
            self.minimizer = np.linalg.lstsq(X, y, rcond=None)[0]
            self.min_value = float(self.value(self.minimizer))
        self.xlim, self.ylim = tuple(xlim), tuple(ylim)

    def _g_pred(self, z):
        if self.loss == "mse":
            return 2.0 / self.n * (z - self.y)
        if self.loss == "mae":
            return np.sign(z - self.y) / self.n
        return (sigmoid(z) - self.y) / self.n

    def value(self, w):
        """L(w);  (..., d) -> (...)."""
        z = linear_predict(self._points(w), self.X)
        if self.loss == "mse":
            v = np.mean((z - self.y) ** 2, axis=-1)
        elif self.loss == "mae":
            v = np.mean(np.abs(z - self.y), axis=-1)
        else:
            v = np.mean(np.logaddexp(0.0, z) - self.y * z, axis=-1)
        return v[()] if np.ndim(v) == 0 else v

    def grad(self, w):
        """grad L(w) = X^T dL/dz;  (..., d) -> (..., d)."""
        return self._g_pred(linear_predict(self._points(w), self.X)) @ self.X

    def hessian(self, w):
        """Hessian of L;  (..., d) -> (..., d, d)."""
        w = self._points(w)
        lead, d = w.shape[:-1], self.dim
        if self.loss == "mse":
            return np.broadcast_to(2.0 / self.n * self.X.T @ self.X, lead + (d, d)).copy()
        if self.loss == "mae":
            return np.zeros(lead + (d, d))
        p = sigmoid(linear_predict(w, self.X))
        return np.einsum("ni,...n,nj->...ij", self.X, p * (1.0 - p), self.X) / self.n
