"""Factory functions: tensors of zeros, ones, ranges and random numbers.

Shapes may be given as ``zeros(2, 3)`` or ``zeros((2, 3))``. Floats default to float32,
as in PyTorch; random numbers come from the package generator (``tg.manual_seed``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_sm.core.args import _check_numeric, _native, _shape_arg
from tinygrad_sm.core.rng import get_rng
from tinygrad_sm.core.tensor import Tensor


def _new(data: np.ndarray, dtype: Any, requires_grad: bool) -> Tensor:
    if dtype is not None:
        data = data.astype(_native(dtype), copy=False)
    t = Tensor._make(data)
    return t.requires_grad_() if requires_grad else t


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """A new tensor holding a copy of ``data`` (see ``Tensor`` for the dtype rules)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array`` (no copy, dtype kept)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    _check_numeric("from_numpy", array, "an array")
    if not array.dtype.isnative:  # (sharing memory, it cannot convert: as PyTorch, refuse)
        raise ValueError(
            f"from_numpy: the array's dtype {array.dtype.str} is not in this machine's byte "
            "order, and a tensor sharing its memory cannot convert it: use tensor(array), "
            "which copies into native order"
        )
    return Tensor._make(array)


def zeros(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _new(np.zeros(_shape_arg(size), np.float32), dtype, requires_grad)


def ones(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _new(np.ones(_shape_arg(size), np.float32), dtype, requires_grad)


def full(size: Any, fill_value: float, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Filled with ``fill_value``: float32 for a float, int64 for an int (as PyTorch)."""
    value = np.asarray(fill_value)
    _check_numeric("full", value, f"fill_value {fill_value!r}")
    default = np.float32 if isinstance(fill_value, float) else value.dtype
    return _new(np.full(_shape_arg((size,)), fill_value, default), dtype, requires_grad)


def arange(start: float, end: float | None = None, step: float = 1, dtype: Any = None,
           requires_grad: bool = False) -> Tensor:
    """Like ``torch.arange``: int64 when all arguments are ints, else float32."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    ints = all(isinstance(v, int) for v in (start, end, step))
    return _new(np.arange(start, end, step, dtype=np.int64 if ints else np.float32), dtype,
                requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _new(np.eye(n, m, dtype=np.float32), dtype, requires_grad)


def rand(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform on [0, 1)."""
    return _new(get_rng().random(_shape_arg(size), np.float32), dtype, requires_grad)


def randn(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal."""
    return _new(get_rng().standard_normal(_shape_arg(size), np.float32), dtype, requires_grad)


def zeros_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _new(np.zeros_like(t.data), dtype, requires_grad)


def ones_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _new(np.ones_like(t.data), dtype, requires_grad)


def randn_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    data = get_rng().standard_normal(t.shape).astype(t.dtype if dtype is None else _native(dtype))
    return _new(data, None, requires_grad)


# -- for code written for PyTorch: added for issue 14 ------------------------------------


def linspace(start: float, end: float, steps: int, dtype: Any = None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end``, both included (float32)."""
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 0:
        raise ValueError(f"linspace: steps must be a non-negative int, got {steps!r}")
    return _new(np.linspace(float(start), float(end), int(steps), dtype=np.float64)
                .astype(np.float32), dtype, requires_grad)


def randperm(n: int, dtype: Any = np.int64, requires_grad: bool = False) -> Tensor:
    """A random permutation of 0..n-1 (int64), from the package generator."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
        raise ValueError(f"randperm: n must be a non-negative int, got {n!r}")
    return _new(get_rng().permutation(int(n)).astype(np.int64), dtype, requires_grad)


def normal(mean: Any = 0.0, std: Any = 1.0, size: Any = None, *, dtype: Any = None,
           requires_grad: bool = False) -> Tensor:
    """Normal samples, as ``torch.normal``: ``normal(0, 0.01, size=(3, 4))``, or with tensor
    ``mean`` and/or ``std`` one sample per entry of their broadcast shape. float32, unless
    a tensor argument is float64."""
    m, s = (x.data if isinstance(x, Tensor) else np.asarray(x, np.float32) for x in (mean, std))
    if np.any(s < 0):
        raise ValueError(f"normal: std must be >= 0, got {s.min() if s.ndim else s}")
    if size is None:
        if not (isinstance(mean, Tensor) or isinstance(std, Tensor)):
            raise TypeError("normal: give size=... when mean and std are numbers")
        shape = np.broadcast_shapes(m.shape, s.shape)
    else:
        shape = _shape_arg((size,))
    out_dtype = np.result_type(m, s, np.float32) if m.dtype.kind == s.dtype.kind == "f" \
        else np.float32
    data = (m + s * get_rng().standard_normal(shape)).astype(out_dtype)
    return _new(data, dtype, requires_grad)
