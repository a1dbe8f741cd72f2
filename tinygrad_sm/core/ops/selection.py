"""Ops that choose between values: maximum, minimum, where and clamp. The gradient goes
to the value chosen; where two tie, maximum and minimum split it evenly."""

from __future__ import annotations

import numpy as np

from tinygrad_sm.core.function import Function
from tinygrad_sm.core.ops.elementwise import BroadcastOp, const, unbroadcast


class Maximum(BroadcastOp):
    """z = max(x, y) elementwise.   dz/dx = 1 where x > y, 0 where x < y, 1/2 on ties.
    Where either is nan (z is nan), both get the whole gradient, as in PyTorch."""

    def forward(self, x, y):
        tie = 0.5 * (x == y)
        self.x_weight, self.y_weight = 1 - (x < y) - tie, 1 - (x > y) - tie
        return np.maximum(x, y)

    def backward(self, g):
        x, y = self.inputs
        gx = unbroadcast(g * const(self.x_weight.astype(g.dtype)), x) if x.requires_grad else None
        gy = unbroadcast(g * const(self.y_weight.astype(g.dtype)), y) if y.requires_grad else None
        return gx, gy


class Minimum(BroadcastOp):
    """z = min(x, y) elementwise.   dz/dx = 1 where x < y, 0 where x > y, 1/2 on ties;
    both get the whole gradient where either is nan."""

    def forward(self, x, y):
        tie = 0.5 * (x == y)
        self.x_weight, self.y_weight = 1 - (x > y) - tie, 1 - (x < y) - tie
        return np.minimum(x, y)

    backward = Maximum.backward


class Where(Function):
    """z = x where cond else y.   dz/dx = cond, dz/dy = not cond (cond is a constant)."""

    def forward(self, cond, x, y):
        return np.where(cond, x, y)

    def explain(self, err):
        shapes = ", ".join(str(t.shape) for t in self.inputs)
        return f"where: shapes {shapes} (cond, x, y) cannot be broadcast"

    def backward(self, g):
        cond, x, y = self.inputs
        zero = const(np.zeros((), g.dtype))
        gx = unbroadcast(Where.apply(cond, g, zero), x) if x.requires_grad else None
        gy = unbroadcast(Where.apply(cond, zero, g), y) if y.requires_grad else None
        return None, gx, gy


class Clamp(Function):
    """z = min(max(x, low), high).   dz/dx = 1 where low <= x <= high, else 0."""

    def forward(self, x, low=None, high=None):
        self.mask = np.ones(x.shape, bool)
        if low is not None:
            self.mask &= x >= low
        if high is not None:
            self.mask &= x <= high
        return np.clip(x, low, high)

    def backward(self, g):
        return (g * const(self.mask.astype(g.dtype)),)
