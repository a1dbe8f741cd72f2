"""``Tensor``: a NumPy array that remembers how it was computed.

A tensor holds ``data`` (an ndarray), ``requires_grad``, ``grad`` (a Tensor, filled by
backward) and ``grad_fn`` (the op that made it; None for a leaf). Every differentiable
method is one op from ``core/ops`` (``x * y`` is ``Mul.apply(x, y)``) or a few composed
(``mean`` is a sum times 1/n). Applying an op to tensors that require grad records it:
the result's ``grad_fn`` is the op, which keeps its inputs. That is the whole graph.

What a learner can skip lives beside this file: PyTorch's conveniences (``pytorch_api.py``),
in-place updates and their version counters (``inplace.py``) and the conversion of
arguments (``args.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_sm.core.args import Dim, _as_array, _dims, _index, _pick, _reduced, _shape_arg
from tinygrad_sm.core.inplace import InPlace
from tinygrad_sm.core.pytorch_api import PyTorchAPI


class Tensor(PyTorchAPI, InPlace):
    """A NumPy array with a gradient and a record of the op that produced it."""

    __slots__ = ("data", "_grad", "_requires_grad", "grad_fn", "name", "_counter",
                 "_retains_grad", "__weakref__", "__dict__")
    # _grad, _requires_grad: behind checking properties (pytorch_api.py); _counter: the
    # version counter (see inplace.py); _retains_grad: see retain_grad; __dict__: the
    # user's own attributes (``x.g = ...``, as hand-written backprop does)

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        self.data = _as_array(data, dtype)
        self._grad = None
        self._requires_grad = False
        self.grad_fn = None  # the op that computed this tensor: None for a leaf
        self.name = None
        self._counter = [0]
        self._retains_grad = False
        if requires_grad:
            self.requires_grad_()

    @staticmethod
    def _make(data: np.ndarray, requires_grad: bool = False, grad_fn: Any = None) -> Tensor:
        """Wrap an array without checks or copies (for ops, which produce fresh arrays)."""
        t = object.__new__(Tensor)
        t.data, t._requires_grad, t.grad_fn = data, requires_grad, grad_fn  # (in threes:
        t._grad, t.name, t._retains_grad = None, None, False  # Python builds no tuple then)
        t._counter = [0]
        return t

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    # -- arithmetic: each operator is one op ---------------------------------------------
    # Operands become tensors of one (promoted) dtype first (_pair, in pytorch_api.py);
    # ``2 - x`` reaches __rsub__, which keeps the operands in their order.

    def __add__(self, other: Any) -> Tensor:
        return ops.Add.apply(*self._pair(other))

    def __sub__(self, other: Any) -> Tensor:
        return ops.Sub.apply(*self._pair(other, op="sub"))

    def __mul__(self, other: Any) -> Tensor:
        return ops.Mul.apply(*self._pair(other))

    def __truediv__(self, other: Any) -> Tensor:
        return ops.Div.apply(*self._pair(other, op="div"))

    def __pow__(self, other: Any) -> Tensor:
        return ops.Pow.apply(*self._pair(other))

    def __matmul__(self, other: Any) -> Tensor:
        return ops.Matmul.apply(self, self._operand(other))

    def __neg__(self) -> Tensor:
        return ops.Neg.apply(self)

    def __radd__(self, other: Any) -> Tensor:
        return ops.Add.apply(*self._pair(other, reflected=True))

    def __rsub__(self, other: Any) -> Tensor:
        return ops.Sub.apply(*self._pair(other, reflected=True, op="sub"))

    def __rmul__(self, other: Any) -> Tensor:
        return ops.Mul.apply(*self._pair(other, reflected=True))

    def __rtruediv__(self, other: Any) -> Tensor:
        return ops.Div.apply(*self._pair(other, reflected=True, op="div"))

    def __rpow__(self, other: Any) -> Tensor:
        return ops.Pow.apply(*self._pair(other, reflected=True))

    def __rmatmul__(self, other: Any) -> Tensor:
        return ops.Matmul.apply(self._operand(other), self)

    # -- pointwise functions ---------------------------------------------------------------

    def exp(self) -> Tensor:
        return ops.Exp.apply(self)

    def log(self) -> Tensor:
        return ops.Log.apply(self)

    def sqrt(self) -> Tensor:
        return ops.Sqrt.apply(self)

    def abs(self) -> Tensor:
        return ops.Abs.apply(self)

    def tanh(self) -> Tensor:
        return ops.Tanh.apply(self)

    def sigmoid(self) -> Tensor:
        return ops.Sigmoid.apply(self)

    def relu(self) -> Tensor:
        return ops.Relu.apply(self)

    def maximum(self, other: Any) -> Tensor:
        return ops.Maximum.apply(*self._pair(other))

    def minimum(self, other: Any) -> Tensor:
        return ops.Minimum.apply(*self._pair(other))

    # -- reductions (``dim`` is an int, a tuple of ints, or None for all) -------------------

    def sum(self, dim: Dim = None, keepdim: bool = False, *, axis: Dim = None,
            keepdims: bool | None = None) -> Tensor:
        dim, keepdim = _pick(dim, axis, keepdim, keepdims)
        return ops.Sum.apply(self, dims=_reduced("sum", dim, self.ndim), keepdim=keepdim)

    def mean(self, dim: Dim = None, keepdim: bool = False, *, axis: Dim = None,
             keepdims: bool | None = None) -> Tensor:
        dim, keepdim = _pick(dim, axis, keepdim, keepdims)
        dims = _reduced("mean", dim, self.ndim)
        n = int(np.prod([self.shape[d] for d in dims]))
        if n == 0:
            raise ValueError(f"mean: cannot take the mean over zero elements (shape {self.shape})")
        return ops.Sum.apply(self, dims=dims, keepdim=keepdim) * (1.0 / n)

    def amax(self, dim: Dim = None, keepdim: bool = False, *, axis: Dim = None,
             keepdims: bool | None = None) -> Tensor:
        """The maximum over dims; on ties the gradient is split evenly among the tied
        entries. (``max``, in pytorch_api.py, is PyTorch's: with a dim it also gives indices.)"""
        dim, keepdim = _pick(dim, axis, keepdim, keepdims)
        return ops.Max.apply(self, dims=_dims("amax", dim, self.ndim), keepdim=keepdim)

    def logsumexp(self, dim: Dim = None, keepdim: bool = False, *, axis: Dim = None,
                  keepdims: bool | None = None) -> Tensor:
        dim, keepdim = _pick(dim, axis, keepdim, keepdims)
        return ops.LogSumExp.apply(self, dims=_dims("logsumexp", dim, self.ndim), keepdim=keepdim)

    def softmax(self, dim: int = -1, *, axis: int | None = None) -> Tensor:
        dim = dim if axis is None else axis
        return ops.Softmax.apply(self, dims=_dims("softmax", dim, self.ndim))

    def log_softmax(self, dim: int = -1, *, axis: int | None = None) -> Tensor:
        dim = dim if axis is None else axis
        return ops.LogSoftmax.apply(self, dims=_dims("log_softmax", dim, self.ndim))

    # -- moving entries around ---------------------------------------------------------------

    def reshape(self, *shape: Any) -> Tensor:
        return ops.Reshape.apply(self, shape=_shape_arg(shape))

    def permute(self, *dims: Any) -> Tensor:
        dims = _shape_arg(dims)
        if sorted(d % max(self.ndim, 1) for d in dims) != list(range(self.ndim)):
            raise ValueError(f"permute: {dims} is not a permutation of the {self.ndim} dims")
        return ops.Permute.apply(self, dims=tuple(d % self.ndim for d in dims))

    @property
    def T(self) -> Tensor:
        """All dims reversed."""
        return ops.Permute.apply(self, dims=tuple(range(self.data.ndim - 1, -1, -1)))

    @property
    def mT(self) -> Tensor:
        """The last two dims swapped (a batch of transposed matrices)."""
        n = self.data.ndim
        if n < 2:
            raise ValueError(f"mT: needs at least 2 dims, got shape {self.shape}")
        return ops.Permute.apply(self, dims=(*range(n - 2), n - 1, n - 2))

    def expand(self, *sizes: Any) -> Tensor:
        sizes = _shape_arg(sizes)
        lead = len(sizes) - self.ndim
        shape = tuple(self.shape[i - lead] if n == -1 else n for i, n in enumerate(sizes))
        return ops.Expand.apply(self, shape=shape)

    def sum_to(self, shape: tuple[int, ...]) -> Tensor:
        """Sum over broadcast dimensions so the result has ``shape`` (the adjoint of expand)."""
        return self if self.shape == tuple(shape) else ops.SumTo.apply(self, shape=tuple(shape))

    def __getitem__(self, key: Any) -> Tensor:
        return ops.GetItem.apply(self, index=_index(key))

    # -- autograd ------------------------------------------------------------------------------

    def backward(self, gradient: Any = None, retain_graph: bool = False,
                 create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into ``.grad`` of every leaf that requires grad
        (and of every tensor that called ``retain_grad``). See ``backward.py``."""
        _backward([self], [gradient], retain_graph=retain_graph or create_graph,
                  create_graph=create_graph)


# The ops and the backward walk need the Tensor class defined above: imported last.
from tinygrad_sm.core import ops  # noqa: E402
from tinygrad_sm.core.backward import backward as _backward  # noqa: E402
