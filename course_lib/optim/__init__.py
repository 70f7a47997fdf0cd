"""Gradient-based optimizers written from scratch in NumPy (chapters 02, 05, 06, 07).

Every optimizer has the same shape (as in *Deep Learning from Scratch*), so a student can swap one
for another without changing anything else::

    opt = Adam(lr=0.01)                      # hyperparameters in the constructor
    params = {"w": np.array([-7.0, 2.0])}    # a dict of float NumPy arrays
    for t in range(1, 101):
        at = opt.gradient_point(params)      # where to evaluate the gradient (== params, except
        grads = {"w": objective.grad(at["w"])}   # for the look-ahead form of Nesterov)
        opt.step(params, grads)              # updates params IN PLACE

Conventions shared by all classes
---------------------------------
* Hyperparameter names and defaults are PyTorch's (``lr``, ``momentum``, ``dampening``,
  ``nesterov``, ``alpha``, ``betas``, ``eps``, ``weight_decay``, ``lr_decay``,
  ``initial_accumulator_value``, ``centered``, ``amsgrad``). Where the lecture decks use a different
  published form, a keyword selects it (``form=...``, ``eps_inside_sqrt=True``,
  ``bias_correction=False``) and the docstring names both forms.
* State is kept per parameter, keyed by the params dict key, and created on the first ``step``
  that sees that key: ``opt.state["w"]`` is a dict holding ``"step"`` and the buffers (PyTorch's
  names where PyTorch has the same buffer: ``momentum_buffer``, ``sum``, ``square_avg``,
  ``grad_avg``, ``exp_avg``, ``exp_avg_sq``, ``max_exp_avg_sq``).
* The step counter t starts at 1: the first call of ``step`` is step t = 1 (as in torch.optim,
  where ``state["step"]`` is incremented *before* it is used).
* ``weight_decay`` is the classic L2 penalty of torch.optim (not AdamW's decoupled decay): it adds
  ``weight_decay * w`` to the gradient before anything else (SGD, Momentum, Nesterov, Adagrad,
  RMSprop, Adam, AdaBelief).
* Parameter groups, as torch.optim's: every optimizer accepts ``param_groups``, a list of dicts
  whose "params" entry lists keys of the params dict and whose other entries override the
  constructor's hyperparameters for those keys; keys in no group use the constructor's values::

      opt = SGD(lr=0.1, momentum=0.9, param_groups=[
          {"params": ["W1", "W2"], "weight_decay": 1e-3},     # weights decayed
          {"params": ["b1", "b2"], "weight_decay": 0.0}])     # biases not

  A key in two groups, or a hyperparameter the optimizer does not have, is a ValueError.
  ``opt.param_groups`` shows each group completed with the defaults (as torch does),
  ``opt.hypers(key)`` the values in force for one key; ``opt.lr = x`` (a schedule) changes the
  constructor's lr, which reaches every key whose group does not set its own.
* float32 parameters are updated in float32 (buffers, scratch arrays and every operation);
  gradients are converted to the parameter's dtype. Every step works in place (``out=``), in
  scratch arrays allocated once per parameter.
* Vectorised mode: any hyperparameter may be a NumPy array that broadcasts against the parameter
  arrays. With ``params = {"w": W}``, ``W`` of shape (K, d) and ``lr`` of shape (K, 1), row k of
  ``W`` is run with ``lr[k]``: K settings at once, exactly as K separate runs would go.
* Bad input raises ``ValueError`` with a message that names the parameter and the value. A
  gradient or parameter that becomes NaN/inf raises ``DivergenceError`` (a subclass of both
  ``FloatingPointError`` and ``ValueError``) saying at which step the run diverged; its attributes
  ``step``, ``key``, ``quantity`` ("gradient" / "parameter") and ``value`` say the same for code.
  NaN is never propagated silently. In vectorised sweeps where some settings are *expected* to
  diverge, pass ``check_finite=False`` and mask the diverged rows yourself
  (``opt.freeze_rows(mask)`` zeroes their buffers; ``run_grid`` does all of this).
* Abilities are class attributes, read instead of inspecting signatures: ``needs_hessian``
  (Newton: ``step(params, grads, hessians=...)``) and ``lookahead`` (the gradient is wanted at
  ``gradient_point(params)``, not at the iterate: ``Nesterov(form="lookahead")``).

Modules: ``base`` (Optimizer, DivergenceError), ``sgd`` (SGD, Momentum, Nesterov), ``adaptive``
(Adagrad, RMSprop, Adam, AdaBelief), ``newton`` (damped Newton, chapter 01), ``hessian_free``
(Hessian-vector products, CG, truncated Newton, L-BFGS), ``schedules`` (learning-rate schedules).
"""
from .adaptive import AdaBelief, Adagrad, Adam, RMSprop
from .base import DivergenceError, Optimizer
from .newton import IndefiniteHessianWarning, Newton, NotPositiveDefiniteHessian
from .sgd import SGD, Momentum, Nesterov

__all__ = [
    "DivergenceError", "Optimizer", "SGD", "Momentum", "Nesterov", "Adagrad", "RMSprop", "Adam",
    "AdaBelief", "Newton", "NotPositiveDefiniteHessian", "IndefiniteHessianWarning",
]
