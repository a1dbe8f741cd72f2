"""NumPy idioms that beat the obvious call at a training step's shapes, for the hottest ops.

NumPy's reductions are slow over short rows and small vectors, and ``np.maximum(x, 0)``
takes a slow loop for the number 0. So (measured in docs/performance.md):

- a sum is a matrix-vector product with a vector of ones, which runs on BLAS;
- ``np.maximum`` goes against an array of zeros, which runs a vectorized loop;
- a maximum is read at its argmax, which has a loop of its own, faster than ``max``'s
  general reduction (nearly 3x for a vector of class indices, twice for short rows);
- entries are picked by flat index, ``a.reshape(-1)[row_starts + columns]``, rather than
  by ``a[rows, columns]``, which NumPy handles more slowly (cross-entropy does this).

The ones and zeros are cached and read-only, so a training loop allocates and fills them
once. The cache is keyed by shape and dtype: callers pass an array's ``.dtype``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np

# A constant of more elements is made afresh each time: the cache holds at most 16 arrays
# of at most 2**18 elements (2 MiB each in float64)
_LARGEST = 2**18


def ones(n: int, dtype: np.dtype) -> np.ndarray:
    """A read-only vector of ``n`` ones."""
    return _constant(np.ones, (n,), dtype) if n <= _LARGEST else np.ones(n, dtype)


def zeros(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """A read-only array of zeros."""
    return (_constant(np.zeros, shape, dtype) if math.prod(shape) <= _LARGEST
            else np.zeros(shape, dtype))


def positive_part(x: np.ndarray) -> np.ndarray:
    """``max(x, 0)``, as ReLU needs it: like PyTorch's, nan stays nan and -0.0 stays -0.0
    (not in float16, whose np.maximum breaks ties the other way). The zeros go first:
    where the two are equal, np.maximum returns its second argument."""
    return np.maximum(zeros(x.shape, x.dtype), x)


def row_sums(a: np.ndarray) -> np.ndarray:
    """``a.sum(axis=1)`` of a matrix, as ``a @ ones``."""
    return a @ ones(a.shape[1], a.dtype)


def column_sums(a: np.ndarray) -> np.ndarray:
    """``a.sum(axis=0)`` of a matrix (or the total of a vector), as ``ones @ a``."""
    return ones(a.shape[0], a.dtype) @ a


def all_finite(v: np.ndarray) -> bool:
    """Whether every entry of a vector is finite, in one pass: their sum is finite only if
    each is. A sum that overflows reads as not finite, so callers must be right for finite
    entries on that path too. (np.vdot, unlike @, raises no overflow warning.)"""
    return math.isfinite(np.vdot(ones(v.size, v.dtype), v))


def largest(v: np.ndarray) -> np.generic:
    """``v.max()`` of a non-empty vector, read at its argmax."""
    return v[v.argmax()]


def smallest(v: np.ndarray) -> np.generic:
    """``v.min()`` of a non-empty vector, read at its argmin."""
    return v[v.argmin()]


@functools.lru_cache(maxsize=16)
def _constant(make: Callable[..., np.ndarray], shape: tuple[int, ...],
              dtype: np.dtype) -> np.ndarray:
    # (np.zeros and np.ones, not the slower np.full: when more shapes take turns than the
    # cache holds, every call makes its array)
    a = make(shape, dtype)
    a.flags.writeable = False  # shared by every caller: nobody may write into it
    return a
