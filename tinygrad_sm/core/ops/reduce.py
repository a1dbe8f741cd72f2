"""Reductions. Backward spreads the gradient of each reduced value back over the
entries it was computed from: all of them for sum, the maximal ones for max."""

from __future__ import annotations

import numpy as np

from tinygrad_sm.core.function import Function
from tinygrad_sm.core.ops.elementwise import const


def keepdim_shape(shape: tuple[int, ...], dims: tuple[int, ...]) -> tuple[int, ...]:
    """The shape of a reduction over ``dims`` with keepdim=True."""
    return tuple(1 if i in dims else n for i, n in enumerate(shape))


class Sum(Function):
    """z = sum of x over dims.   dz/dx_i = 1: each entry gets the gradient of its sum."""

    def forward(self, x, dims, keepdim):
        self.dims = dims
        return x.sum(axis=dims, keepdims=keepdim)

    def backward(self, g):
        (x,) = self.inputs
        return (g.reshape(keepdim_shape(x.shape, self.dims)).expand(x.shape),)


class Max(Function):
    """z = max of x over dims.   dz/dx_i = 1/k if x_i is one of the k maximal entries, else 0.

    Splitting ties evenly makes the gradient the average of the one-hot choices, which is
    what finite differences of a symmetric function see. ``amin`` is ``-amax(-x)``.
    (PyTorch's ``max(dim)``, which returns indices too, gives the gradient to the entry
    at its index instead: ``TakeAlong``, in indexing.py.)"""

    def forward(self, x, dims, keepdim):
        if x.size == 0:
            raise ValueError(f"cannot reduce an empty tensor of shape {x.shape}")
        self.dims = dims
        m = x.max(axis=dims, keepdims=True)
        is_max = x == m
        self.weight = (is_max / is_max.sum(axis=dims, keepdims=True)).astype(x.dtype)
        return m if keepdim else np.squeeze(m, axis=dims)

    def backward(self, g):
        (x,) = self.inputs
        return (g.reshape(keepdim_shape(x.shape, self.dims)) * const(self.weight),)
