"""The running sum along a dim, and its adjoint, the running sum taken from the other end."""

from __future__ import annotations

import numpy as np

from tinygrad_sm.core.function import Function


class Cumsum(Function):
    """z_i = x_1 + ... + x_i along dim (with ``reverse``: z_i = x_i + ... + x_n).

    dz_i/dx_j = 1 for j <= i, so dL/dx_j = g_j + ... + g_n: the reversed running sum of the
    gradient (and the gradient of the reversed one is the forward one)."""

    def forward(self, x, dim, reverse=False):
        self.dim, self.reverse = dim, reverse
        if x.dtype.kind in "biu":  # as PyTorch: integers and bools sum to int64
            x = x.astype(np.int64)
        if not reverse:
            return np.cumsum(x, axis=dim)
        return np.flip(np.cumsum(np.flip(x, dim), axis=dim), dim).copy()

    def backward(self, g):
        return (Cumsum.apply(g, dim=self.dim, reverse=not self.reverse),)
