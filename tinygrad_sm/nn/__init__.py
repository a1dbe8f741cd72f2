"""``tinygrad_sm.nn``: modules with ``torch.nn``'s names.

``Module`` and ``Parameter`` (module.py), layers (layers.py), containers (containers.py)
and loss modules (losses.py). ``tinygrad_sm.nn.functional`` and ``tinygrad_sm.nn.init``
are aliases of ``tinygrad_sm.functional`` and ``tinygrad_sm.init``, for PyTorch habits.
"""

from tinygrad_sm.nn import functional, init
from tinygrad_sm.nn.containers import ModuleList, Sequential
from tinygrad_sm.nn.layers import (
    Dropout,
    Flatten,
    Identity,
    LeakyReLU,
    Linear,
    LogSoftmax,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from tinygrad_sm.nn.losses import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, NLLLoss
from tinygrad_sm.nn.module import IncompatibleKeys, Module, Parameter, RemovableHandle

__all__ = [
    "BCEWithLogitsLoss", "CrossEntropyLoss", "Dropout", "Flatten", "Identity",
    "IncompatibleKeys", "LeakyReLU", "Linear", "LogSoftmax", "MSELoss", "Module", "ModuleList",
    "NLLLoss", "Parameter", "ReLU", "RemovableHandle", "Sequential", "Sigmoid", "Softmax",
    "Tanh", "functional", "init",
]

