"""tinygrad_sm: a small, readable, NumPy-backed reverse-mode autograd engine.

``import tinygrad_sm as tg`` gives PyTorch's names: ``tg.tensor``, ``tg.zeros``,
``tg.no_grad``, ``tg.autograd.grad``, ...
"""

import numpy as _np

from tinygrad_sm import autograd, data, datasets, functional, init, nn, optim, plot, sched, viz
from tinygrad_sm.core.creation import (
    arange,
    eye,
    from_numpy,
    full,
    linspace,
    normal,
    ones,
    ones_like,
    rand,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from tinygrad_sm.core.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from tinygrad_sm.core.pytorch_api import Size, allclose, cat, einsum, stack, where
from tinygrad_sm.core.rng import manual_seed
from tinygrad_sm.core.tensor import Tensor
from tinygrad_sm.learner import Learner, Trainer
from tinygrad_sm.serialization import load, save

float16, float32, float64 = _np.float16, _np.float32, _np.float64
int32, int64, bool_ = _np.int32, _np.int64, _np.bool_
float, double, long = _np.float32, _np.float64, _np.int64

# Functional forms of the Tensor methods, as in ``torch.exp(x)``.
exp, log, sqrt, abs, tanh, sigmoid, relu = (
    Tensor.exp, Tensor.log, Tensor.sqrt, Tensor.abs, Tensor.tanh, Tensor.sigmoid, Tensor.relu
)
clamp, clip, maximum, minimum, matmul = (
    Tensor.clamp, Tensor.clip, Tensor.maximum, Tensor.minimum, Tensor.matmul
)
sum, mean, max, min = Tensor.sum, Tensor.mean, Tensor.max, Tensor.min
amax, amin, cumsum, all, any = Tensor.amax, Tensor.amin, Tensor.cumsum, Tensor.all, Tensor.any
nonzero, clamp_min, clamp_max = Tensor.nonzero, Tensor.clamp_min, Tensor.clamp_max
var, std = Tensor.var, Tensor.std
logsumexp, softmax, log_softmax = Tensor.logsumexp, Tensor.softmax, Tensor.log_softmax
argmax, argmin, reshape, flatten = Tensor.argmax, Tensor.argmin, Tensor.reshape, Tensor.flatten
transpose, permute, squeeze, unsqueeze = (
    Tensor.transpose, Tensor.permute, Tensor.squeeze, Tensor.unsqueeze
)

__version__ = "0.1.0"

__all__ = [
    "Tensor", "arange", "autograd", "cat", "enable_grad", "eye", "from_numpy", "full",
    "is_grad_enabled", "manual_seed", "no_grad", "ones", "ones_like", "rand", "randn",
    "randn_like", "set_grad_enabled", "stack", "tensor", "where", "zeros", "zeros_like",
    "functional", "init", "nn", "plot", "viz", "save", "load", "data", "datasets", "optim",
    "sched", "Learner", "Trainer",
    # for code written for PyTorch (issue 14)
    "Size", "allclose", "einsum", "linspace", "normal", "randperm",
]
