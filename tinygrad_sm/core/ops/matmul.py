"""Matrix product."""

from __future__ import annotations

import numpy as np

from tinygrad_sm.core.function import Function


class Matmul(Function):
    """z = x @ y.   dL/dx = g @ y^T, dL/dy = x^T @ g.

    A 1-D x acts as a row vector (1, n) and a 1-D y as a column vector (n, 1); batch
    dimensions broadcast, and their gradients are summed back to each operand's shape."""

    def forward(self, x, y):
        self.save_for_backward(*self.inputs)
        if x.ndim == 0 or y.ndim == 0:
            raise ValueError(f"matmul: both operands need at least 1 dimension; got shapes "
                             f"{x.shape} and {y.shape}")
        if x.dtype != y.dtype:  # (PyTorch's matmul promotes nothing: a mixup is a bug)
            raise RuntimeError(f"matmul: both operands must have the same dtype; got {x.dtype} "
                               f"@ {y.dtype}: convert one, with .float() or .double() say")
        k = y.shape[0] if y.ndim == 1 else y.shape[-2]
        if x.shape[-1] != k:
            raise ValueError(f"matmul: {x.shape} @ {y.shape}: inner dimensions "
                             f"{x.shape[-1]} and {k} differ")
        return x @ y

    def explain(self, err):
        x, y = self.inputs
        if "inner dimensions" in str(err) or "at least 1" in str(err):
            return str(err)
        return f"matmul: {x.shape} @ {y.shape}: batch dimensions cannot be broadcast"

    def backward(self, g):
        x, y = self.saved_tensors
        if x.ndim == 2 and y.ndim == 2:  # the common case, without reshapes
            gx = g @ y.mT if x.requires_grad else None
            gy = x.mT @ g if y.requires_grad else None
            return gx, gy
        x2 = x if x.ndim > 1 else x.reshape(1, -1)
        y2 = y if y.ndim > 1 else y.reshape(-1, 1)
        batch = np.broadcast_shapes(x2.shape[:-2], y2.shape[:-2])
        g2 = g.reshape(batch + (x2.shape[-2], y2.shape[-1]))
        gx = (g2 @ y2.mT).sum_to(x2.shape).reshape(x.shape) if x.requires_grad else None
        gy = (x2.mT @ g2).sum_to(y2.shape).reshape(y.shape) if y.requires_grad else None
        return gx, gy
