"""Indexing and concatenation, and their adjoints: getitem / index_add, and cat, whose
backward slices the gradient back apart; take_along, which reads max(dim) and min(dim)
at their indices."""

from __future__ import annotations

import numpy as np

from tinygrad_sm.core.function import Function
from tinygrad_sm.core.ops.elementwise import const
from tinygrad_sm.core.ops.movement import _View


def _is_basic(index) -> bool:
    """Basic indexing (ints, slices, None, ...) never repeats an entry."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, int | np.integer | slice) for p in parts)


def _without_masks(index):
    """Boolean masks replaced by the integer arrays of their True positions (for add.at)."""
    parts = index if isinstance(index, tuple) else (index,)
    out = []
    for p in parts:
        if isinstance(p, np.ndarray) and p.dtype == bool:
            out.extend(np.nonzero(p))
        else:
            out.append(p)
    return tuple(out)


class GetItem(_View):
    """z = x[index].   dz/dx: zeros shaped like x with the gradient added at index
    (an entry picked twice gets both gradients)."""

    def forward(self, x, index):
        self.index = index
        out = x[index]
        if isinstance(out, np.generic):  # one entry, as a NumPy scalar, a copy: x[i, ...]
            # gives it as a 0-d view instead, as PyTorch's x[i] is a view
            out = x[(index if type(index) is tuple else (index,)) + (Ellipsis,)]
        return out

    def explain(self, err):
        return f"getitem: {err} (indexing a tensor of shape {self.inputs[0].shape})"

    def backward(self, g):
        return (IndexAdd.apply(g, shape=self.inputs[0].shape, index=self.index),)


class IndexAdd(Function):
    """z = zeros(shape) with x added at index, the adjoint of getitem.   dz/dx = g[index]."""

    def forward(self, x, shape, index):
        self.index = index
        out = np.zeros(shape, x.dtype)
        if _is_basic(index):
            out[index] = x
        else:
            np.add.at(out, _without_masks(index), x)
        return out

    def backward(self, g):
        return (GetItem.apply(g, index=self.index),)


class Cat(Function):
    """z = the inputs joined along dim.   dz/dx_k: the slice of the gradient where x_k sits."""

    def forward(self, *xs, dim):
        self.dim = dim
        return np.concatenate(xs, axis=dim)

    def explain(self, err):
        shapes = ", ".join(str(t.shape) for t in self.inputs)
        return f"cat: tensors must have the same shape except in dim {self.dim}; got {shapes}"

    def backward(self, g):
        grads, start = [], 0
        for t in self.inputs:
            n = t.shape[self.dim]
            if t.requires_grad:
                index = (slice(None),) * self.dim + (slice(start, start + n),)
                grads.append(GetItem.apply(g, index=index).to(t.dtype))
            else:
                grads.append(None)
            start += n
        return tuple(grads)


class TakeAlong(Function):
    """z = the entry of x at ``index`` along ``dim``, for each line along dim (``index`` has
    x's shape with 1 in dim: NumPy's take_along_axis). ``max(dim)`` and ``min(dim)`` read
    their values with it, so that the gradient goes to the index they return, as PyTorch's.
    dz/dx: the gradient at the index, 0 elsewhere in the line."""

    def forward(self, x, index, dim, keepdim):
        self.index, self.dim = index, dim
        out = np.take_along_axis(x, index, axis=dim)
        return out if keepdim else np.squeeze(out, axis=dim)

    def backward(self, g):
        (x,) = self.inputs
        one_hot = np.zeros(x.shape, g.dtype)
        np.put_along_axis(one_hot, self.index, 1, axis=self.dim)
        return (g.reshape(self.index.shape) * const(one_hot),)
