"""A neural network from scratch in NumPy (chapters 08 and 09), small enough to read in one sitting.

* :mod:`.layers`        Linear, Sigmoid, Tanh, ReLU: each ``forward`` with its ``backward`` under it
* :mod:`.losses`        HalfMSE (1/2 MSE) and SoftmaxCrossEntropy (numerically stable)
* :mod:`.normalization` BatchNorm (Ioffe and Szegedy 2015)
* :mod:`.mlp`           Sequential, Residual (skip connections), MLP(sizes, activation, init, ...)
* :mod:`.init`          weight_std / init_weight: normal(std), LeCun sqrt(1/n), Xavier, He
* :mod:`.clip`          clip_grad_norm_, clip_grad_value_ (PyTorch's formulas, in place)
* :mod:`.nonfinite`     NonFiniteDetector: the step, layer and quantity of the first NaN/inf
* :mod:`.diagnostics`   per-layer activations, gradient norms, update/weight ratios (NumPy and torch)
* :mod:`.train`         train(net, opt, X, y, steps=...): one loop with clipping and the detector
* :mod:`.graph`         plot_computational_graph(net): the forward and backward pass as a picture
* :mod:`.torch_twin`    to_torch(net): the same network in PyTorch (imported on demand: it loads torch)

Parameters and gradients are dicts ``{"W1": ..., "b1": ..., ...}``, so every course optimizer
trains the network: ``opt.step(net.params, net.grads)``.
"""
from .clip import clip_grad_norm_, clip_grad_value_, global_norm
from .graph import plot_computational_graph
from .diagnostics import (activation_stds, activation_values, gradient_norms, plot_activation_histograms,
                          plot_gradient_norms, snapshot, update_ratios)
from .init import SCHEMES, init_weight, weight_std
from .layers import Layer, Linear, ReLU, Sigmoid, Tanh, activation
from .losses import HalfMSE, Loss, SoftmaxCrossEntropy, log_softmax
from .mlp import MLP, Residual, Sequential
from .nonfinite import NonFiniteDetector, NonFiniteError
from .normalization import BatchNorm
from .train import TrainResult, train

__all__ = [
    "Layer", "Linear", "Sigmoid", "Tanh", "ReLU", "activation", "Loss", "HalfMSE", "SoftmaxCrossEntropy",
    "log_softmax", "BatchNorm", "Sequential", "Residual", "MLP", "SCHEMES", "weight_std", "init_weight",
    "global_norm", "clip_grad_norm_", "clip_grad_value_", "NonFiniteDetector", "NonFiniteError",
    "activation_values", "activation_stds", "gradient_norms", "snapshot", "update_ratios",
    "plot_activation_histograms", "plot_gradient_norms", "TrainResult", "train", "plot_computational_graph",
]
