"""Ops that move entries around without arithmetic: reshape, permute, broadcast,
indexing and concatenation. Each backward moves the gradient back the same way, so
they come in adjoint pairs: expand / sum_to, getitem / index_add."""

from __future__ import annotations

import numpy as np

from tinygrad_sm.core.function import Function


class _View(Function):
    """An op whose output may view its input's memory (NumPy returns views where it can).
    The output then shares the input's version counter, so that an in-place change of
    either is caught when a graph that saved the other runs backward."""

    @classmethod
    def apply(cls, x, **options):
        out = super().apply(x, **options)
        if np.may_share_memory(out.data, x.data):  # (bounds only: cheap, errs on sharing)
            out._share_counter(x)
        return out


class Reshape(_View):
    """z = x with a new shape (same entries, same order).   dz/dx: reshape back."""

    def forward(self, x, shape):
        self.target = shape
        return x.reshape(shape)

    def explain(self, err):
        x = self.inputs[0]
        return (f"reshape: cannot reshape a tensor of shape {x.shape} ({x.data.size} "
                f"elements) into {self.target}")

    def backward(self, g):
        return (g.reshape(self.inputs[0].shape),)


class Permute(_View):
    """z = x with its dims reordered.   dz/dx: the inverse permutation."""

    def forward(self, x, dims):
        self.dims = dims
        return x.transpose(dims)

    def backward(self, g):
        return (g.permute(tuple(np.argsort(self.dims))),)


class Expand(_View):
    """z = x broadcast to a larger shape.   dz/dx: the gradient summed over the copies."""

    def forward(self, x, shape):
        self.target = shape
        return np.broadcast_to(x, shape)

    def explain(self, err):
        return f"expand: cannot expand shape {self.inputs[0].shape} to {self.target}"

    def backward(self, g):
        return (g.sum_to(self.inputs[0].shape),)


class SumTo(Function):
    """z = x summed down to ``shape``, the adjoint of expand.   dz/dx: broadcast back."""

    def forward(self, x, shape):
        lead = x.ndim - len(shape)
        if lead < 0 or any(n not in (1, m) for n, m in zip(shape, x.shape[lead:])):
            raise ValueError(f"sum_to: shape {x.shape} cannot be summed to {shape}")
        axes = tuple(range(lead)) + tuple(
            lead + i for i, n in enumerate(shape) if n == 1 and x.shape[lead + i] != 1
        )
        return x.sum(axis=axes, keepdims=True).reshape(shape)

    def explain(self, err):
        return str(err)

    def backward(self, g):
        return (g.expand(self.inputs[0].shape),)


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
