"""The engine: a tensor that records the ops applied to it, and the walk that sends
gradients back through them. Read these files in this order, in one sitting:

tensor.py: a Tensor is an array with grad and grad_fn; each method applies one op.
function.py: an op runs forward on arrays and is recorded when an input requires grad.
backward.py: ops run newest first, once their gradient is complete; gradients accumulate.
ops/elementwise.py: each rule beside its forward; a broadcast input's gradient is summed.
ops/reduce.py: a reduction's backward spreads each gradient over the entries it came from.
ops/movement.py: reshape, permute and expand move entries; their backward moves them back.
ops/matmul.py: the matrix product's gradients are products with the other operand transposed.
ops/softmax.py: logsumexp and the softmax family, stable by shifting with the max.

Beside the path, for when you need them: ``grad_mode.py`` (``no_grad``: recording off),
``pytorch_api.py`` (PyTorch's aliases, conversions, comparisons and repr), ``inplace.py``
(in-place updates and version counters), ``args.py`` (argument normalization),
``bookkeeping.py`` (what an op records besides its inputs), ``released.py`` (what the
graph keeps of an activation after backward), ``anomaly.py``, ``idioms.py``
(named NumPy speed idioms), ``ops/selection.py``, ``ops/indexing.py`` and
``ops/conversion.py`` (more ops), ``creation.py`` and ``rng.py``.
"""

# The order matters: the Tensor class first, then what builds on it.
from tinygrad_sm.core.tensor import Tensor  # isort: skip
from tinygrad_sm.core.function import Function
from tinygrad_sm.core.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from tinygrad_sm.core.pytorch_api import cat, stack, where

__all__ = [
    "Function", "Tensor", "cat", "enable_grad", "is_grad_enabled", "no_grad",
    "set_grad_enabled", "stack", "where",
]
