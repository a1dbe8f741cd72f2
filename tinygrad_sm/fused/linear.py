"""The fused affine map of a fully connected layer: y = x W^T + b, as one op.

One op instead of matmul + transpose + add keeps the forward to one BLAS call plus an
in-place add, and lets backward skip the gradients nobody needs (the input of the first
layer never requires grad, so ``g @ W`` is not computed there).
"""

from __future__ import annotations

import math

import numpy as np

from tinygrad_sm.core.function import Function
from tinygrad_sm.core.idioms import column_sums
from tinygrad_sm.core.tensor import Tensor


class Linear(Function):
    """y = x W^T + b, with x of shape (..., in), W of shape (out, in), b of shape (out,).

    dL/dx = g W,   dL/dW = g^T x (summed over all leading dims of x),   dL/db = sum of g
    over the leading dims. Backward is written with Tensor ops, so it is differentiable."""

    def forward(self, x, w, b=None):
        self.save_for_backward(*self.inputs)
        if w.ndim != 2 or b is not None and b.shape != w.shape[:1]:
            raise ValueError(_misfit(x.shape, w.shape, None if b is None else b.shape))
        # BLAS reads the transposed view directly (no copy of W); an x that does not fit
        # raises here, and explain() names the shapes
        y = x @ w.T
        if b is not None:
            if b.dtype == y.dtype:
                y += b  # y is a fresh array: add in place instead of allocating another
            else:
                y = y + b  # promote (e.g. a float64 bias on float32 data), as NumPy would
        return y

    def explain(self, err):
        if str(err).startswith("linear:"):
            return str(err)
        x, w = self.inputs[:2]  # only an x that does not fit gets past forward's checks
        return _misfit(x.shape, w.shape, None)

    def backward(self, g):
        x, w, *rest = self.saved_tensors
        gx = gw = gb = None
        if x.requires_grad:
            gx = g @ w
            if gx.dtype != x.dtype:
                gx = gx.to(x.dtype)
        if w.requires_grad:
            if x.ndim == 1:  # an outer product
                gw = g.reshape(-1, 1) @ x.reshape(1, -1)
            elif x.ndim == 2:
                gw = g.mT @ x
            else:  # fold the leading dims into one batch dim
                gw = g.reshape(-1, g.shape[-1]).mT @ x.reshape(-1, x.shape[-1])
            if gw.dtype != w.dtype:
                gw = gw.to(w.dtype)
        if rest and rest[0].requires_grad:
            b = rest[0]
            gb = g.sum(tuple(range(g.ndim - 1))) if g.ndim > 1 else g
            if gb.dtype != b.dtype:
                gb = gb.to(b.dtype)
        return (gx, gw, gb) if rest else (gx, gw)

    def backward_numpy(self, g: np.ndarray) -> tuple[Tensor | None, ...]:
        """The same three formulas straight in NumPy, for the usual backward that is not
        itself recorded (create_graph=False): a training step's hottest path."""
        x, w, *rest = self.saved_tensors
        xd, wd = x.data, w.data
        gx = gw = gb = None
        folded = g.ndim != 2
        if folded:  # fold the leading dims into one batch dim (a 1-D x is a batch of 1)
            n = math.prod(g.shape[:-1])  # (explicit: -1 is ambiguous when a dim is 0)
            g, xd = g.reshape(n, g.shape[-1]), xd.reshape(n, xd.shape[-1])
        if x.requires_grad:
            gx = (g @ wd).astype(xd.dtype, copy=False)
            gx = Tensor._make(gx.reshape(x.data.shape) if folded else gx)
        if w.requires_grad:
            gw = Tensor._make((g.T @ xd).astype(wd.dtype, copy=False))
        if rest and rest[0].requires_grad:
            gb = Tensor._make(column_sums(g).astype(rest[0].data.dtype, copy=False))
        return (gx, gw, gb) if rest else (gx, gw)


def _misfit(x: tuple[int, ...], w: tuple[int, ...], b: tuple[int, ...] | None) -> str:
    """What is wrong with these shapes for x W^T + b."""
    if len(w) == 2 and b is not None and b != w[:1]:
        return (f"linear: bias of shape {b} does not fit a weight of shape {w}: it must be "
                f"({w[0]},)")
    return (f"linear: input of shape {x} does not fit a weight of shape {w}: the weight must "
            f"be (out_features, in_features) and the input (..., in_features)"
            + (f" with in_features = {w[1]}" if len(w) == 2 else ""))
