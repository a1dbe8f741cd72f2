"""Every differentiable operation, one small class each: forward on NumPy arrays,
backward as Tensor operations, the derivative written out in the docstring.

Read in this order: ``elementwise`` (the arithmetic and pointwise functions),
``reduce`` (sum, max), ``movement`` (reshape, permute, broadcast, indexing, cat),
``matmul``, ``softmax`` (logsumexp and the softmax family). Then the fused ops that
``tinygrad_sm.functional`` uses: ``linear`` (x W^T + b) and ``loss`` (cross-entropy and the
binary cross-entropies), whose backward also has a NumPy path for when it is not recorded.
``idioms`` holds the NumPy idioms those hot ops use where the obvious call is slow.
"""

from tinygrad_sm.core.ops.elementwise import (
    Abs,
    Add,
    Cast,
    Clamp,
    Clone,
    Div,
    Exp,
    Log,
    Maximum,
    Minimum,
    Mul,
    Neg,
    Pow,
    Relu,
    Sigmoid,
    Sqrt,
    Sub,
    Tanh,
    Where,
)
from tinygrad_sm.core.ops.matmul import Matmul
from tinygrad_sm.core.ops.movement import Cat, Expand, GetItem, IndexAdd, Permute, Reshape, SumTo
from tinygrad_sm.core.ops.reduce import Max, Sum
from tinygrad_sm.core.ops.softmax import LogSoftmax, LogSumExp, Softmax

__all__ = [
    "Abs", "Add", "Cast", "Cat", "Clamp", "Clone", "Div", "Exp", "Expand", "GetItem",
    "IndexAdd", "Log", "LogSoftmax", "LogSumExp", "Matmul", "Max", "Maximum", "Minimum",
    "Mul", "Neg", "Permute", "Pow", "Relu", "Reshape", "Sigmoid", "Softmax", "Sqrt", "Sub",
    "Sum", "SumTo", "Tanh", "Where",
]
