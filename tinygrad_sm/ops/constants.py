"""Constant arrays that the hottest ops share instead of allocating them on every call,
and the sums they make fast.

NumPy sums short rows slowly and takes a slow loop for ``np.maximum(x, 0)``; a sum as a
matrix-vector product with a vector of ones runs on BLAS, and ``np.maximum`` against an
array of zeros runs a vectorized loop (both up to 3x faster at a training step's shapes:
docs/performance.md). The ones and zeros are cached and read-only, so a training loop
allocates and fills them once.
"""

from __future__ import annotations

import functools

import numpy as np

# A constant of more elements is made afresh each time: the cache holds at most 16 arrays
# of up to 2 MiB (float64), 32 MiB in all
_LARGEST = 2**18


def ones(n: int, dtype: np.dtype) -> np.ndarray:
    """A read-only vector of ``n`` ones."""
    return _constant(1, (n,), dtype) if n <= _LARGEST else np.ones(n, dtype)


def zeros(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """A read-only array of zeros."""
    return _constant(0, shape, dtype) if _size(shape) <= _LARGEST else np.zeros(shape, dtype)


def row_sums(a: np.ndarray) -> np.ndarray:
    """``a.sum(axis=1)`` of a matrix, as ``a @ ones``."""
    return a @ ones(a.shape[1], a.dtype)


def column_sums(a: np.ndarray) -> np.ndarray:
    """``a.sum(axis=0)`` of a matrix, as ``ones @ a``."""
    return ones(a.shape[0], a.dtype) @ a


@functools.lru_cache(maxsize=16)
def _constant(value: int, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    a = np.full(shape, value, dtype)
    a.flags.writeable = False  # shared by every caller: nobody may write into it
    return a


def _size(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n
