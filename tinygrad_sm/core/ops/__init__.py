"""Every differentiable operation of the core, one small class each: forward on NumPy
arrays, backward as Tensor operations, the derivative written out in the docstring.

On the reading path (see ``tinygrad_sm.core``): ``elementwise``, ``reduce``, ``movement``,
``matmul``, ``softmax``. Beside it: ``selection`` (maximum, minimum, where, clamp),
``indexing`` (getitem, index_add, cat, take_along), ``conversion`` (cast, clone),
``cumsum`` and ``einsum``. The fused ops of the training hot path (linear, the
cross-entropies) live in ``tinygrad_sm.fused``.
"""

from tinygrad_sm.core.ops.conversion import Cast, Clone
from tinygrad_sm.core.ops.cumsum import Cumsum
from tinygrad_sm.core.ops.einsum import Einsum
from tinygrad_sm.core.ops.elementwise import (
    Abs,
    Add,
    Div,
    Exp,
    Log,
    Mul,
    Neg,
    Pow,
    Relu,
    Sigmoid,
    Sqrt,
    Sub,
    Tanh,
)
from tinygrad_sm.core.ops.indexing import Cat, GetItem, IndexAdd, TakeAlong
from tinygrad_sm.core.ops.matmul import Matmul
from tinygrad_sm.core.ops.movement import Expand, Permute, Reshape, SumTo
from tinygrad_sm.core.ops.reduce import Max, Sum
from tinygrad_sm.core.ops.selection import Clamp, Maximum, Minimum, Where
from tinygrad_sm.core.ops.softmax import LogSoftmax, LogSumExp, Softmax

__all__ = [
    "Abs", "Add", "Cast", "Cat", "Clamp", "Clone", "Cumsum", "Div", "Einsum", "Exp", "Expand",
    "GetItem", "IndexAdd", "Log", "LogSoftmax", "LogSumExp", "Matmul", "Max", "Maximum",
    "Minimum", "Mul", "Neg", "Permute", "Pow", "Relu", "Reshape", "Sigmoid", "Softmax", "Sqrt",
    "Sub", "Sum", "SumTo", "TakeAlong", "Tanh", "Where",
]
