"""Argument normalization: user data, dims, shapes and indices in the forms the ops take.

PyTorch accepts a shape as ``(2, 3)`` or as ``2, 3``, a dim as an int, a tuple, a negative
number or None, NumPy's ``axis``/``keepdims`` beside ``dim``/``keepdim``, and nested
lists as data. The ops take one form of each; these functions convert, and raise the
errors that name what was wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from tinygrad_sm.core.tensor import Tensor

Dim = int | Sequence[int] | None
Scalar = int | float | bool


def _native(dtype: Any, fn: str = "tensor") -> np.dtype:
    """np.dtype(dtype) in this machine's byte order: NumPy's ufunc loops, and so every op,
    want native data (a dtype such as '>f4' would fail deep inside some op). Only bool,
    int and float dtypes: the ops are written for numbers (object or str would fail later,
    deep inside some op, with NumPy's message)."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{fn}: {dtype!r} is not a dtype") from None
    if dt.kind not in "biuf":
        raise TypeError(f"{fn}: dtype must be numeric (bool, int or float), got {dt}")
    return dt if dt.isnative else dt.newbyteorder("=")  # (NumPy's own object when native:
    # the engine compares dtypes with 'is' first, and newbyteorder makes a new one)


def _broadcast(*shapes: tuple[int, ...]) -> tuple[int, ...] | None:
    """The shape the shapes broadcast to, or None if they do not."""
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        return None


def _as_array(data: Any, dtype: Any = None, copy: bool = True) -> np.ndarray:
    """User data as an ndarray, with tinygrad_sm's dtype rules and clear errors."""
    from tinygrad_sm.core.tensor import Tensor

    if isinstance(data, Tensor):
        arr = data.data
    elif isinstance(data, np.ndarray | np.generic):
        arr = np.asarray(data)
    else:
        try:
            arr = np.asarray(data)
        except ValueError as err:
            raise ValueError(
                f"tensor: nested sequences have different lengths (ragged data): {err}"
            ) from None
        if arr.dtype == np.float64:  # a Python float: PyTorch's default dtype is float32
            arr = arr.astype(np.float32)
        copy = False
    _check_numeric("tensor", arr, type(data).__name__)
    want = _native(arr.dtype if dtype is None else dtype)  # (big-endian data, say, from a file)
    if arr.dtype != want:
        return arr.astype(want)
    return arr.copy() if copy else arr


def _check_numeric(fn: str, arr: np.ndarray, what: str) -> None:
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"{fn}: data must be numeric (bool, int or float); got {what} with NumPy dtype "
            f"{arr.dtype}"
        )


def _dims(name: str, dim: Dim, ndim: int) -> tuple[int, ...]:
    """Normalize a dim argument (int, tuple or None = all) to sorted non-negative axes."""
    if dim is None:
        return tuple(range(ndim))
    if type(dim) is int and -ndim <= dim < ndim:  # the common case, on the hot path
        return (dim % ndim,)
    dims = (dim,) if isinstance(dim, int | np.integer) else tuple(dim)
    out = []
    for d in dims:
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(
                f"{name}: dim {d} is out of range for a tensor with {ndim} dimensions "
                f"(expected a value in [{-max(ndim, 1)}, {max(ndim, 1) - 1}])"
            )
        out.append(d % ndim if ndim else 0)
    if len(set(out)) < len(out):
        d = next(d for d in dims if out.count(d % max(ndim, 1)) > 1)
        raise RuntimeError(f"{name}: dim {d} appears more than once in the dims {tuple(dims)}")
    return tuple(sorted(out))


def _reduced(name: str, dim: Dim, ndim: int) -> tuple[int, ...]:
    """The dims a reduction runs over: as ``_dims``, but ``dim=()`` means all of them, as
    in PyTorch's sum, mean and var (NumPy's ``axis=()`` would reduce over none)."""
    return _dims(name, None if isinstance(dim, tuple | list) and not dim else dim, ndim)


def _pick(dim: Dim, axis: Dim, keepdim: bool, keepdims: bool | None) -> tuple[Dim, bool]:
    """Accept NumPy's ``axis``/``keepdims`` as aliases of ``dim``/``keepdim``."""
    return (dim if axis is None else axis), (keepdim if keepdims is None else keepdims)


def _shape_arg(shape: tuple[Any, ...]) -> tuple[int, ...]:
    """``reshape(2, 3)`` and ``reshape((2, 3))`` both mean the shape (2, 3)."""
    if len(shape) == 1 and not isinstance(shape[0], int | np.integer):
        return tuple(shape[0])
    return tuple(shape)


def _index(key: Any) -> Any:
    """Turn Tensors, lists and ranges inside an index into NumPy index arrays."""
    from tinygrad_sm.core.tensor import Tensor

    if isinstance(key, tuple):
        return tuple(_index(k) for k in key)
    if isinstance(key, Tensor):  # (a 0-d integer tensor indexes as an int, as in PyTorch:
        # the result is a view, not an advanced-indexing copy)
        return int(key.data) if key.ndim == 0 and key.dtype.kind in "iu" else key.data
    if isinstance(key, list | range):
        return np.asarray(key)
    return key


def _tensors(name: str, tensors: Sequence[Any]) -> list[Tensor]:
    """A non-empty list or tuple of tensors (or array-likes) as Tensors."""
    from tinygrad_sm.core.tensor import Tensor

    if not isinstance(tensors, list | tuple) or not tensors:
        raise ValueError(f"{name}: expected a non-empty list or tuple of tensors")
    return [t if isinstance(t, Tensor) else Tensor._make(_as_array(t, copy=False))
            for t in tensors]
