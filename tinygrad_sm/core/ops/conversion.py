"""Conversions: ``Cast`` changes the dtype and ``Clone`` copies. Neither changes a value,
so the gradient passes through (cast back to the input's dtype)."""

from __future__ import annotations

from tinygrad_sm.core.function import Function


class Cast(Function):
    """z = x converted to another dtype.   dz/dx = 1 (cast back to x's dtype)."""

    def forward(self, x, dtype):
        return x.astype(dtype)

    def backward(self, g):
        (x,) = self.inputs
        return (g.to(x.dtype),)


class Clone(Function):
    """z = a copy of x.   dz/dx = 1."""

    def forward(self, x):
        return x.copy()

    def backward(self, g):
        return (g,)
