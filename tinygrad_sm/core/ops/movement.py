"""Ops that move entries around without arithmetic: reshape, permute and broadcast.
Each backward moves the gradient back the same way, so they come in adjoint pairs:
expand / sum_to (indexing and cat, in indexing.py, are getitem / index_add)."""

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
