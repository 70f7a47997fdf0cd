"""Training small PyTorch networks: the loop of chapters 07 and 10.

* ``configure_torch(threads=1)``  fixed thread count and deterministic algorithms (call once)
* ``mlp([64, 64, 10], seed=0)``   a small fully connected ReLU network, seeded with torch.manual_seed
* ``train(model, optimizer, X_train, y_train, X_val, y_val, epochs=..., ...) -> History``
  mini-batch training with any ``torch.optim`` optimizer and scheduler, per-epoch history of the
  training and validation loss and accuracy, per-step loss, gradient norm and time, early stopping
  that restores the best weights, an optional tqdm bar
* ``evaluate(model, X, y) -> (loss, accuracy)``
* ``lr_range_test(make_model, make_optimizer, X, y) -> RangeTest``  the learning-rate range test
  (Smith 2017): one mini-batch per learning rate, the rate growing geometrically
* ``lr_sweep(make_model, make_optimizer, lrs, ...) -> list[History]``  one full run per rate
* ``CourseOptimizer(model.parameters(), Adam(lr=1e-3))``  drives a from-scratch NumPy optimizer of
  ``course_lib.optim`` from the same loop: torch computes the gradients, the course optimizer
  updates NumPy views of the parameters in place (so both implementations train the same network)

Determinism: the weights are drawn by ``torch.manual_seed(seed)`` (torch's CPU generator gives the
same numbers on every machine), the mini-batch order by ``np.random.default_rng(seed)``, and the
networks are float64 by default, so a printed loss with a few significant digits is the same on
every machine and BLAS. The loss is the mean cross-entropy over a mini-batch (``F.cross_entropy``).

The progress bar: ``progress=None`` (default) shows a tqdm bar only when a person can see it -- a
notebook open in JupyterLab / Notebook (its kernel has ``JPY_SESSION_NAME``) or a terminal -- and
never under pytest, nbval, ``jupyter nbconvert --execute`` or papermill, so committed outputs do not
depend on the speed of the machine; and only once a run has lasted ``PROGRESS_DELAY`` seconds.
``COURSE_PROGRESS=1`` / ``=0`` in the environment forces it on / off.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._progress import PROGRESS_DELAY, progress_bar

__all__ = ["configure_torch", "mlp", "count_parameters", "evaluate", "History", "train",
           "CourseOptimizer", "optimizer_state_numel", "RangeTest", "lr_range_test", "lr_sweep",
           "PROGRESS_DELAY"]

#: seconds a run must last before its progress bar appears (progress=None)


# ----------------------------------------------------------------------------------------------
# set-up


def configure_torch(threads: int = 1) -> None:
    """A fixed thread count and deterministic algorithms for everything torch does from now on.

    One thread is the fastest for networks this small (threads only add overhead) and makes every
    reduction sum in one fixed order. ``torch.use_deterministic_algorithms(True)`` makes torch raise
    instead of silently using an operation without a deterministic implementation.

    The public function also sets a flag of torch's compiler (``torch._inductor.config``), whose
    import costs 1.5-2 s at a notebook's start; the course never compiles, so the flag is set in
    torch's core directly where this torch has that entry point (``torch.are_deterministic_algorithms
    _enabled()`` is then True all the same).
    """
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a whole number >= 1, got {threads!r}")
    torch.set_num_threads(threads)
    set_flag = getattr(torch._C, "_set_deterministic_algorithms", None)
    if set_flag is None:
        torch.use_deterministic_algorithms(True)
    else:
        set_flag(True, warn_only=False)


def mlp(sizes: Sequence[int], *, activation: str = "relu", seed: int = 0,
        dtype: torch.dtype = torch.float64) -> nn.Sequential:
    """A fully connected network ``sizes[0] -> sizes[1] -> ... -> sizes[-1]``.

    Hidden layers are ``nn.Linear`` followed by the activation ("relu", "tanh" or "sigmoid"); the
    last layer is linear (it outputs the logits for ``F.cross_entropy``). Weights are drawn by
    torch's default initialisation (uniform in +-1/sqrt(fan_in)) after ``torch.manual_seed(seed)``,
    so the same seed gives the same network on every machine. float64 by default.
    """
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"sizes must list at least two layer widths >= 1 (inputs, ..., outputs), got {sizes}")
    acts = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
    if activation not in acts:
        raise ValueError(f"activation must be one of {sorted(acts)}, got {activation!r}")
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out, dtype=dtype))
        if k < len(sizes) - 2:
            layers.append(acts[activation]())
    return nn.Sequential(*layers)


def count_parameters(model: nn.Module) -> int:
    """d, the number of trainable parameters (weights and biases)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _as_tensors(X, y, dtype, name):
    if X is None and y is None:
        return None, None
    if X is None or y is None:
        raise ValueError(f"give both X_{name} and y_{name}, or neither")
    X = torch.as_tensor(np.asarray(X) if not isinstance(X, torch.Tensor) else X).to(dtype)
    y = torch.as_tensor(np.asarray(y) if not isinstance(y, torch.Tensor) else y).long()
    if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.shape[0] or X.shape[0] == 0:
        raise ValueError(f"X_{name} must have shape (n, features) and y_{name} shape (n,) with the same "
                         f"n >= 1, got {tuple(X.shape)} and {tuple(y.shape)}")
    if not torch.isfinite(X).all():
        raise ValueError(f"X_{name} contains NaN or inf")
    return X, y


def _model_dtype(model) -> torch.dtype:
    for p in model.parameters():
        return p.dtype
    raise ValueError("the model has no parameters to train")


@torch.no_grad()
def evaluate(model: nn.Module, X, y) -> tuple[float, float]:
    """(mean cross-entropy loss, accuracy in [0, 1]) of ``model`` on (X, y), in eval mode."""
    X, y = _as_tensors(X, y, _model_dtype(model), "eval")
    was_training = model.training
    model.eval()
    logits = model(X)
    loss = float(F.cross_entropy(logits, y))
    acc = float((logits.argmax(dim=1) == y).double().mean())
    model.train(was_training)
    return loss, acc


# ----------------------------------------------------------------------------------------------
# the training loop


@dataclass(eq=False)
class History:
    """What ``train`` recorded. Per epoch e = 0, 1, ..., E (0 = before training): ``epoch``,
    ``train_loss``, ``train_acc``, ``val_loss``, ``val_acc`` (NaN without validation data) and
    ``lr`` (the learning rate used during epoch e; NaN at e = 0). Per step t = 1, 2, ...:
    ``step_loss`` (the mini-batch loss before the update), ``step_grad_norm`` (the 2-norm of the
    whole gradient, before any clipping), ``step_time`` (seconds of training since the start, the
    evaluations between epochs not counted). ``best_epoch`` / ``best_val_loss``: the epoch with
    the lowest validation loss (its weights are restored when early stopping is on);
    ``stopped_early``: whether patience ran out before ``epochs``; ``seconds``: total wall time.
    """

    epoch: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_acc: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    step_loss: list = field(default_factory=list)
    step_grad_norm: list = field(default_factory=list)
    step_time: list = field(default_factory=list)
    best_epoch: int = 0
    best_val_loss: float = math.inf
    stopped_early: bool = False
    restored_best: bool = False
    seconds: float = 0.0
    seed: int = 0

    @property
    def epochs_run(self) -> int:
        return self.epoch[-1] if self.epoch else 0

    @property
    def steps(self) -> int:
        return len(self.step_loss)

    def at(self, epoch: int) -> dict:
        """The per-epoch numbers of one epoch as a dict."""
        k = self.epoch.index(epoch)
        return {"epoch": epoch, "train_loss": self.train_loss[k], "train_acc": self.train_acc[k],
                "val_loss": self.val_loss[k], "val_acc": self.val_acc[k], "lr": self.lr[k]}

    @property
    def best(self) -> dict:
        """The numbers of the best epoch (lowest validation loss)."""
        return self.at(self.best_epoch)

    def __repr__(self) -> str:
        b = self.best
        return (f"History({self.epochs_run} epochs, {self.steps} steps, best epoch {self.best_epoch}: "
                f"val loss {b['val_loss']:.4g}, val acc {b['val_acc']:.4f}"
                f"{', stopped early' if self.stopped_early else ''})")


def _grad_norm(params) -> float:
    norms = [p.grad.detach().norm() for p in params if p.grad is not None]
    return float(torch.linalg.vector_norm(torch.stack(norms))) if norms else 0.0


def train(model: nn.Module, optimizer: torch.optim.Optimizer, X_train, y_train, X_val=None, y_val=None, *,
          epochs: int = 20, batch_size: int = 64, scheduler=None, scheduler_interval: str = "epoch",
          patience: int | None = None, min_delta: float = 0.0, restore_best: bool | None = None,
          clip_grad_norm: float | None = None, seed: int = 0, progress: bool | None = None,
          desc: str = "training") -> History:
    """Mini-batch training of a classifier with the mean cross-entropy loss.

    Every epoch visits the training rows once, in an order drawn by ``np.random.default_rng(seed)``,
    in mini-batches of ``batch_size`` (the last one smaller when batch_size does not divide n).
    Per step: ``loss = F.cross_entropy(model(X_b), y_b)``, ``loss.backward()``, optional clipping of
    the gradient norm to ``clip_grad_norm``, ``optimizer.step()``; with
    ``scheduler_interval="step"`` also ``scheduler.step()`` (OneCycleLR, CyclicLR). After every
    epoch the model is evaluated on all training and validation rows; then
    ``scheduler.step()`` (``scheduler.step(val_loss)`` for ReduceLROnPlateau) when
    ``scheduler_interval="epoch"``.

    Early stopping: with ``patience`` = p, training stops once the validation loss has not fallen
    below (best - ``min_delta``) for p epochs in a row; the weights of the best epoch are then put
    back into ``model`` (``restore_best``, default True when patience is given).

    Parameters
    ----------
    model : nn.Module mapping (b, features) to (b, classes) logits; trained in place.
    optimizer : any torch.optim.Optimizer over ``model.parameters()`` (or a ``CourseOptimizer``).
    X_train, y_train : arrays or tensors (n, features) and (n,) integer labels.
    X_val, y_val : validation data (needed for early stopping and ``best_epoch``).
    epochs : int, default 20.           batch_size : int, default 64.
    scheduler : a torch.optim.lr_scheduler object built on ``optimizer``, or None.
    scheduler_interval : "epoch" (default) or "step".
    patience, min_delta, restore_best : early stopping (off by default).
    clip_grad_norm : float or None      ``torch.nn.utils.clip_grad_norm_`` before every step.
    seed : int                          seeds the mini-batch order (the weights: see ``mlp``).
    progress : None (auto, see the module docstring), True or False.

    Returns a :class:`History`. A loss that becomes NaN or inf raises ``FloatingPointError`` naming
    the epoch and step (try a smaller learning rate), instead of training on NaN.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a whole number >= 1, got {epochs!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a whole number >= 1, got {batch_size!r}")
    if scheduler_interval not in ("epoch", "step"):
        raise ValueError(f'scheduler_interval must be "epoch" or "step", got {scheduler_interval!r}')
    if patience is not None and (isinstance(patience, bool) or not isinstance(patience, int) or patience < 1):
        raise ValueError(f"patience must be a whole number of epochs >= 1 (or None), got {patience!r}")
    if clip_grad_norm is not None and not clip_grad_norm > 0:
        raise ValueError(f"clip_grad_norm must be positive (or None), got {clip_grad_norm!r}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise ValueError(f"optimizer must be a torch.optim.Optimizer (wrap a course optimizer in "
                         f"CourseOptimizer), got {type(optimizer).__name__}")
    dtype = _model_dtype(model)
    X_train, y_train = _as_tensors(X_train, y_train, dtype, "train")
    X_val, y_val = _as_tensors(X_val, y_val, dtype, "val")
    if patience is not None and X_val is None:
        raise ValueError("early stopping (patience) needs validation data X_val, y_val")
    restore_best = (patience is not None) if restore_best is None else bool(restore_best)
    plateau = isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)

    n = X_train.shape[0]
    batches = math.ceil(n / batch_size)
    rng = np.random.default_rng(seed)
    params = [p for p in model.parameters() if p.requires_grad]
    hist = History(seed=int(seed))
    best_state = None
    since_best = 0

    def record(epoch, lr):
        tr = evaluate(model, X_train, y_train)
        va = evaluate(model, X_val, y_val) if X_val is not None else (math.nan, math.nan)
        for name, value in zip(("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr"),
                               (epoch, *tr, *va, lr)):
            getattr(hist, name).append(value)
        return va[0]

    start = time.perf_counter()
    record(0, math.nan)
    hist.best_val_loss = hist.val_loss[0] if X_val is not None else math.inf
    if restore_best:
        best_state = copy.deepcopy(model.state_dict())
    bar = progress_bar(progress, epochs * batches, desc)
    clock = 0.0  # training time only
    model.train()
    try:
        for epoch in range(1, epochs + 1):
            lr_epoch = float(optimizer.param_groups[0]["lr"])
            order = torch.from_numpy(rng.permutation(n))
            for b in range(batches):
                t0 = time.perf_counter()
                idx = order[b * batch_size:(b + 1) * batch_size]
                optimizer.zero_grad(set_to_none=True)
                loss = F.cross_entropy(model(X_train[idx]), y_train[idx])
                value = float(loss.detach())
                if not math.isfinite(value):
                    raise FloatingPointError(
                        f"the training loss became {value} at epoch {epoch}, step {len(hist.step_loss) + 1} "
                        f"(lr = {optimizer.param_groups[0]['lr']:g}): the run diverged; try a smaller "
                        "learning rate")
                loss.backward()
                hist.step_grad_norm.append(_grad_norm(params))
                if clip_grad_norm is not None:
                    torch.nn.utils.clip_grad_norm_(params, clip_grad_norm)
                optimizer.step()
                if scheduler is not None and scheduler_interval == "step":
                    scheduler.step()
                clock += time.perf_counter() - t0
                hist.step_loss.append(value)
                hist.step_time.append(clock)
                if bar is not None:
                    bar.update(1)
            val_loss = record(epoch, lr_epoch)
            if bar is not None:
                bar.set_postfix(loss=f"{hist.train_loss[-1]:.3g}", val=f"{val_loss:.3g}", refresh=False)
            if scheduler is not None and scheduler_interval == "epoch":
                scheduler.step(val_loss) if plateau else scheduler.step()
            if X_val is not None:
                if val_loss < hist.best_val_loss - min_delta:
                    hist.best_val_loss, hist.best_epoch, since_best = val_loss, epoch, 0
                    if restore_best:
                        best_state = copy.deepcopy(model.state_dict())
                else:
                    since_best += 1
            if patience is not None and since_best >= patience:
                hist.stopped_early = epoch < epochs
                break
    finally:
        if bar is not None:
            bar.close()
    if restore_best and best_state is not None:
        model.load_state_dict(best_state)
        hist.restored_best = True
    if X_val is None:
        hist.best_epoch = hist.epoch[-1]
    hist.seconds = time.perf_counter() - start
    return hist


# ----------------------------------------------------------------------------------------------
# the course's from-scratch optimizers inside the same loop


class CourseOptimizer(torch.optim.Optimizer):
    """A ``course_lib.optim`` optimizer (NumPy, written from scratch) behind torch's interface.

    ``CourseOptimizer(model.parameters(), Adam(lr=1e-3))`` can go wherever a torch.optim optimizer
    goes: ``train``, ``lr_range_test`` and the torch.optim.lr_scheduler classes (they change
    ``param_groups[0]["lr"]``, which is copied into the course optimizer before each step).

    ``step()``: for every parameter p with a gradient, ``p.detach().numpy()`` is a NumPy *view* of
    p's memory and ``p.grad.numpy()`` one of its gradient; the course optimizer's
    ``step(params, grads)`` updates the views in place, which updates the torch parameters. The
    parameters must live on the CPU. Its state (buffers, step counter) is the course optimizer's own
    ``state`` dict, keyed "group.index" (e.g. "0.3").
    """

    def __init__(self, params, optimizer):
        if not callable(getattr(optimizer, "step", None)) or not hasattr(optimizer, "lr"):
            raise ValueError(f"optimizer must be a course_lib.optim optimizer such as Adam(lr=1e-3), got "
                             f"{optimizer!r}")
        super().__init__(params, {"lr": optimizer.lr})
        self.course = optimizer

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        lrs = {float(g["lr"]) for g in self.param_groups}
        if len(lrs) != 1:
            raise ValueError(f"CourseOptimizer supports one learning rate for all parameters, got {sorted(lrs)}")
        self.course.lr = lrs.pop()
        params, grads = {}, {}
        for gi, group in enumerate(self.param_groups):
            for pi, p in enumerate(group["params"]):
                if p.grad is None:
                    continue
                if p.device.type != "cpu":
                    raise ValueError("CourseOptimizer updates NumPy views: the parameters must be on the CPU")
                key = f"{gi}.{pi}"
                params[key] = p.detach().numpy()
                grads[key] = p.grad.detach().numpy()
        if params:
            self.course.step(params, grads)
        return loss

    def __repr__(self) -> str:
        return f"CourseOptimizer({self.course!r})"


def optimizer_state_numel(optimizer) -> int:
    """Number of floats an optimizer stores besides the parameters (its buffers), after a step.

    Counts the tensors in a torch.optim state (``exp_avg``, ``exp_avg_sq``, ``momentum_buffer``,
    ``sum``, ...) or the arrays in a course optimizer's state; step counters (one number per
    parameter tensor) are not counted.
    """
    state = optimizer.course.state if isinstance(optimizer, CourseOptimizer) else getattr(optimizer, "state", {})
    total = 0
    for per_param in state.values():
        for name, buf in per_param.items():
            if name == "step":
                continue
            if isinstance(buf, torch.Tensor) or isinstance(buf, np.ndarray):
                total += int(buf.numel() if isinstance(buf, torch.Tensor) else buf.size)
    return total


# ----------------------------------------------------------------------------------------------
# choosing the learning rate


@dataclass(eq=False)
class RangeTest:
    """Result of :func:`lr_range_test`: ``lrs`` and ``losses`` (the raw mini-batch loss at each
    rate), ``smoothed`` (a bias-corrected exponential average of the losses), ``lr_at_min`` (the
    rate of the lowest smoothed loss), ``suggested`` = lr_at_min / 10 (the usual rule of thumb: a
    rate safely below the one where the loss stops falling), ``diverged`` (whether the test
    stopped because the loss exceeded ``stop_factor`` times its best)."""

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    lr_at_min: float
    suggested: float
    diverged: bool

    def __repr__(self) -> str:
        return (f"RangeTest({self.lrs.size} rates {self.lrs[0]:.1e}..{self.lrs[-1]:.1e}: smoothed loss "
                f"lowest at lr = {self.lr_at_min:.2g}, suggested lr = {self.suggested:.2g}"
                f"{', stopped when the loss blew up' if self.diverged else ''})")


def _check_factories(make_model, make_optimizer):
    if not callable(make_model):
        raise ValueError("make_model must be a function () -> a fresh nn.Module")
    if not callable(make_optimizer):
        raise ValueError("make_optimizer must be a function (params, lr) -> an optimizer")


def lr_range_test(make_model: Callable[[], nn.Module], make_optimizer: Callable[[Any, float], torch.optim.Optimizer],
                  X, y, *, lr_min: float = 1e-5, lr_max: float = 1.0, steps: int = 100, batch_size: int = 64,
                  smoothing: float = 0.9, stop_factor: float = 4.0, seed: int = 0) -> RangeTest:
    """The learning-rate range test (L. N. Smith, "Cyclical learning rates for training neural
    networks", WACV 2017): train a fresh model for ``steps`` mini-batches while the learning rate
    grows geometrically from ``lr_min`` to ``lr_max``, lr_k = lr_min (lr_max / lr_min)^(k / (steps - 1)),
    and record the mini-batch loss at each rate. The loss falls while the rate is useful and shoots
    up once it is too large; the test stops when the smoothed loss exceeds ``stop_factor`` times
    its lowest value.

    ``make_model()`` must return a fresh (seeded) network, ``make_optimizer(params, lr)`` an
    optimizer on its parameters; the rate is then set through ``param_groups``. Mini-batches are
    drawn as in :func:`train` (seeded, reshuffled every epoch). Returns a :class:`RangeTest`.
    """
    _check_factories(make_model, make_optimizer)
    if not (0 < lr_min < lr_max and math.isfinite(lr_max)):
        raise ValueError(f"need 0 < lr_min < lr_max, got lr_min = {lr_min!r}, lr_max = {lr_max!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
        raise ValueError(f"steps must be a whole number >= 2, got {steps!r}")
    if not 0 <= smoothing < 1:
        raise ValueError(f"smoothing must be in [0, 1), got {smoothing!r}")
    model = make_model()
    optimizer = make_optimizer(model.parameters(), lr_min)
    X, y = _as_tensors(X, y, _model_dtype(model), "train")
    lrs = lr_min * (lr_max / lr_min) ** (np.arange(steps) / (steps - 1))
    rng = np.random.default_rng(seed)
    n = X.shape[0]
    order, pos = torch.from_numpy(rng.permutation(n)), 0
    losses, smoothed = [], []
    avg, best, diverged = 0.0, math.inf, False
    model.train()
    for k, lr in enumerate(lrs):
        if pos >= n:
            order, pos = torch.from_numpy(rng.permutation(n)), 0
        idx = order[pos:pos + batch_size]
        pos += batch_size
        for group in optimizer.param_groups:
            group["lr"] = float(lr)
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(X[idx]), y[idx])
        value = float(loss.detach())
        if not math.isfinite(value):
            diverged = True
            break
        loss.backward()
        optimizer.step()
        avg = smoothing * avg + (1 - smoothing) * value
        s = avg / (1 - smoothing ** (k + 1))
        losses.append(value)
        smoothed.append(s)
        best = min(best, s)
        if s > stop_factor * best:
            diverged = True
            break
    smoothed_arr = np.array(smoothed)
    lrs = lrs[:len(losses)]
    lr_at_min = float(lrs[int(np.argmin(smoothed_arr))])
    return RangeTest(lrs=lrs, losses=np.array(losses), smoothed=smoothed_arr, lr_at_min=lr_at_min,
                     suggested=lr_at_min / 10, diverged=diverged)


def lr_sweep(make_model: Callable[[], nn.Module], make_optimizer: Callable[[Any, float], torch.optim.Optimizer],
             lrs: Sequence[float], X_train, y_train, X_val, y_val, **train_kwargs) -> list[History]:
    """Train a fresh model (``make_model()``) with each learning rate in ``lrs``
    (``make_optimizer(params, lr)``) by :func:`train` (keywords passed on); returns one History per
    rate, in the order of ``lrs``. Compare them by ``h.best_val_loss`` / ``h.best["val_acc"]``."""
    _check_factories(make_model, make_optimizer)
    out = []
    for lr in lrs:
        if not (float(lr) > 0 and math.isfinite(float(lr))):
            raise ValueError(f"every learning rate must be positive, got {lr!r}")
        model = make_model()
        out.append(train(model, make_optimizer(model.parameters(), float(lr)), X_train, y_train, X_val, y_val,
                         **train_kwargs))
    return out
