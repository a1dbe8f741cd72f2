"""Type promotion as PyTorch's ``torch.result_type``: the dtype an op on operands of
different dtypes computes in (the table is in docs/engine.md).

- Categories rank bool < integer < floating. The operand of the higher category decides,
  whatever its width: int64 with float16 gives float16 (NumPy would give float64).
- Within a category the wider type wins: int32 with int64 gives int64.
- A 0-d tensor, like a Python number, decides only when its category is higher than that
  of every tensor with dimensions: float32 with a 0-d float64 gives float32, int32 with a
  0-d float64 gives float64. (Python numbers are handled in ``PyTorchAPI._pair``: int32
  with 1 gives int32; an integer tensor with 2.5 gives float32, the default dtype.)
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from tinygrad_sm.core.tensor import Tensor

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}


@functools.lru_cache(maxsize=256)
def promote_types(a: np.dtype, b: np.dtype) -> np.dtype:
    """``torch.promote_types``: the higher category's dtype, or within one category the
    wider (NumPy's rule there)."""
    ca, cb = _CATEGORY[a.kind], _CATEGORY[b.kind]
    if ca != cb:
        return a if ca > cb else b
    return np.promote_types(a, b)


def result_type(*tensors: Tensor) -> np.dtype:
    """``torch.result_type`` of tensors: those with dimensions decide, unless a 0-d one is
    of a higher category."""
    dims = [t.data.dtype for t in tensors if t.data.ndim]
    zeros = [t.data.dtype for t in tensors if not t.data.ndim]
    if not dims or not zeros:
        return functools.reduce(promote_types, dims or zeros)
    dim, zero = functools.reduce(promote_types, dims), functools.reduce(promote_types, zeros)
    return promote_types(dim, zero) if _CATEGORY[zero.kind] > _CATEGORY[dim.kind] else dim


def promote(*tensors: Tensor) -> list[Tensor]:
    """The tensors cast (a recorded op, so gradients flow back) to their result type."""
    dtype = result_type(*tensors)
    return [t.to(dtype) for t in tensors]


def floating(x: np.ndarray) -> np.ndarray:
    """``x``, or x in float32 (PyTorch's default dtype) if it holds integers or bools: the
    square root, exponential, ... of an integer tensor are float32, not NumPy's float64."""
    return x if x.dtype.kind == "f" else x.astype(np.float32)
