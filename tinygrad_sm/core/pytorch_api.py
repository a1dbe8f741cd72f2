"""PyTorch's conveniences on a Tensor: aliases, conversions, comparisons, Python protocols,
``repr``, and the reductions and reshapes built from the textbook ones. Nothing here is
needed to understand backprop; it is what makes code written for PyTorch run unchanged.

``PyTorchAPI`` is a mixin of ``Tensor`` (``__slots__ = ()``: it adds methods, no state).
"""

from __future__ import annotations

import builtins
import operator
import warnings
from collections import namedtuple
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from tinygrad_sm.core.args import Dim, Scalar, _as_array, _dims, _native, _pick, _reduced, _tensors
from tinygrad_sm.core.promotion import promote

if TYPE_CHECKING:
    from tinygrad_sm.core.tensor import Tensor


_NUMBER = (int, builtins.float)  # (a tuple: isinstance with int | float costs twice as much)
_NON_LEAF_GRAD = (
    "The .grad attribute of a tensor that is not a leaf is being accessed: backward does not "
    "fill it in. If you want the gradient of this non-leaf tensor, call .retain_grad() on it "
    "before backward; if you meant a leaf tensor (one you created), access that one instead."
)


class PyTorchAPI:
    __slots__ = ()

    # -- operands --------------------------------------------------------------------------

    def _pair(self: Tensor, other: Any, reflected: bool = False,
              op: str | None = None) -> tuple[Tensor, Tensor]:
        """``(self, other)`` as two tensors of one dtype, or ``(other, self)`` when
        ``reflected`` (Python calls __rsub__ for ``2 - x``). The dtype is PyTorch's result
        type (see promotion.py): a Python number does not widen a tensor of its category.
        ``op="div"``: integers become float32 (true division, as PyTorch's); ``op="sub"``
        refuses bools, as PyTorch does."""
        a = self
        if isinstance(other, PyTorchAPI):  # a Tensor (this class is one of its bases)
            if op is None and a.data.dtype is other.data.dtype:  # (the common case, first)
                return (other, a) if reflected else (a, other)
            b = other
            if a.data.dtype != b.data.dtype:
                a, b = promote(a, b)
        elif isinstance(other, _NUMBER):
            kind = self.data.dtype.kind
            if kind == "f":  # (the common case first)
                b = self._make(np.array(other, self.data.dtype))
            elif isinstance(other, builtins.float):  # int tensor * 0.5 is float32, as PyTorch
                a, b = self.float(), self._make(np.array(other, np.float32))
            elif kind != "b" or isinstance(other, bool):  # (astype wraps, as PyTorch: uint8 + 300)
                b = self._make(np.array(other).astype(self.data.dtype))
            else:  # a bool tensor with an int
                a, b = self.long(), self._make(np.array(other))
        else:
            b = self._make(_as_array(other, copy=False))
            if a.data.dtype != b.data.dtype:
                a, b = promote(a, b)
        if op is not None:
            if op == "div" and a.data.dtype.kind != "f":
                a, b = a.float(), b.float()
            elif op == "sub" and (isinstance(other, bool) or np.bool_ in (
                    self.data.dtype, getattr(other, "dtype", None))):
                raise RuntimeError("sub: subtracting a bool tensor (or bool) is not supported, "
                                   "as in PyTorch; convert it first, with .long() say")
        return (b, a) if reflected else (a, b)

    def _operand(self: Tensor, other: Any) -> Tensor:
        """``other`` as a tensor, its dtype kept (matmul promotes nothing, as PyTorch's)."""
        return other if isinstance(other, PyTorchAPI) else self._make(_as_array(other, copy=False))

    # -- attributes and conversions ----------------------------------------------------------

    @property
    def is_leaf(self: Tensor) -> bool:
        return self.grad_fn is None

    @property
    def device(self) -> str:
        return "cpu"

    def size(self: Tensor, dim: int | None = None) -> tuple[int, ...] | int:
        return self.shape if dim is None else self.shape[_dims("size", dim, self.ndim)[0]]

    def dim(self: Tensor) -> int:
        return self.ndim

    def numel(self: Tensor) -> int:
        return self.data.size

    def numpy(self: Tensor) -> np.ndarray:
        if self.requires_grad:
            raise RuntimeError(
                "numpy: can't call numpy() on a tensor that requires grad; "
                "use tensor.detach().numpy()"
            )
        return self.data

    def item(self: Tensor) -> builtins.float | int | bool:
        if self.data.size != 1:
            raise ValueError(
                f"item: only one-element tensors can be converted to Python scalars; "
                f"this one has shape {self.shape}"
            )
        return self.data.item()

    def tolist(self: Tensor) -> Any:
        return self.data.tolist()

    def detach(self: Tensor) -> Tensor:
        """The same data, cut off from the graph (shares memory and the version counter,
        as in PyTorch)."""
        return self._make(self.data)._share_counter(self)

    # requires_grad is read by every op: the getter is a C-level attrgetter, not a Python
    # function. (Setting it checks as requires_grad_ does.)
    requires_grad = property(operator.attrgetter("_requires_grad"),
                             lambda self, value: self.requires_grad_(value),
                             doc="Whether backward computes a gradient for this tensor.")

    @property
    def grad(self: Tensor) -> Tensor | None:
        """The gradient that backward accumulated: for leaves, and for tensors that called
        ``retain_grad``. Of any other tensor it is None, with a warning, as in PyTorch."""
        if self._grad is None and self.grad_fn is not None and not self._retains_grad:
            warnings.warn(_NON_LEAF_GRAD, UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self: Tensor, value: Tensor | None) -> None:
        self._grad = value

    def requires_grad_(self: Tensor, requires_grad: bool = True) -> Tensor:
        if requires_grad and self.data.dtype.kind != "f":
            raise RuntimeError(
                f"requires_grad: only floating-point tensors can require gradients; "
                f"this one has dtype {self.dtype} (convert it with .float() first)"
            )
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError(
                "requires_grad_: a non-leaf tensor cannot stop requiring grad; use .detach()"
            )
        self._requires_grad = bool(requires_grad)
        return self

    def retain_grad(self: Tensor) -> Tensor:
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: this tensor does not require grad")
        self._retains_grad = True
        return self

    def to(self: Tensor, dtype: Any) -> Tensor:
        from tinygrad_sm.core import ops

        dtype = _native(dtype, "to")
        return self if self.dtype == dtype else ops.Cast.apply(self, dtype=dtype)

    def float(self: Tensor) -> Tensor:
        return self.to(np.float32)

    def double(self: Tensor) -> Tensor:
        return self.to(np.float64)

    def long(self: Tensor) -> Tensor:
        return self.to(np.int64)

    def clone(self: Tensor) -> Tensor:
        from tinygrad_sm.core import ops

        return ops.Clone.apply(self)

    def contiguous(self: Tensor) -> Tensor:
        """Itself if its memory is in row-major order, else a copy that is (as PyTorch's:
        writing to the copy leaves the original alone)."""
        return self if self.data.flags.c_contiguous else self.clone()

    # -- Python protocols ----------------------------------------------------------------

    def __len__(self: Tensor) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __array__(self: Tensor, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        return self.data if dtype is None else self.data.astype(dtype)

    def _scalar(self: Tensor, what: str) -> Any:
        if self.data.size != 1:
            raise RuntimeError(
                f"{what} of a tensor with more than one value is ambiguous "
                f"(shape {self.shape}); use .any() or .all()"
            )
        return self.data.item()

    def __bool__(self: Tensor) -> bool:
        return bool(self._scalar("Boolean value"))

    def __float__(self: Tensor) -> builtins.float:
        return builtins.float(self._scalar("float()"))

    def __int__(self: Tensor) -> int:
        return int(self._scalar("int()"))

    def __iter__(self: Tensor) -> Any:
        return (self[i] for i in range(len(self)))

    __hash__ = object.__hash__
    # ``array * tensor`` must reach Tensor.__rmul__ (and record the op) rather than let
    # NumPy convert the tensor to a plain array.
    __array_ufunc__ = None

    def __repr__(self: Tensor) -> str:
        d = self.data
        fixed = d.dtype.kind == "f" and d.size and not np.all(np.isinf(d) | (d == np.round(d)))
        body = np.array2string(
            d, separator=", ", prefix="tensor(", precision=4,
            floatmode="fixed" if fixed else "maxprec", threshold=1000, edgeitems=3,
        )
        extra = ""
        if d.dtype not in (np.float32, np.int64, np.bool_):
            extra += f", dtype={d.dtype}"
        if self.grad_fn is not None:
            extra += f", grad_fn={self.grad_fn!r}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    # -- method forms of the operators ----------------------------------------------------------

    def add(self: Tensor, other: Any) -> Tensor:
        return self + other

    def sub(self: Tensor, other: Any) -> Tensor:
        return self - other

    def mul(self: Tensor, other: Any) -> Tensor:
        return self * other

    def div(self: Tensor, other: Any) -> Tensor:
        return self / other

    def pow(self: Tensor, other: Any) -> Tensor:
        return self**other

    def neg(self: Tensor) -> Tensor:
        return -self

    def matmul(self: Tensor, other: Any) -> Tensor:
        return self @ other

    def clamp(self: Tensor, min: Scalar | None = None, max: Scalar | None = None) -> Tensor:
        from tinygrad_sm.core import ops

        if min is None and max is None:
            raise ValueError("clamp: at least one of min and max must be given")
        return ops.Clamp.apply(self, low=min, high=max)

    clip = clamp

    # -- comparisons and arg-reductions (no gradient) -----------------------------------------

    def _compare(self: Tensor, other: Any, op: Any, name: str) -> Tensor:
        a, b = self._pair(other)
        try:
            return self._make(op(a.data, b.data))
        except ValueError:
            msg = f"{name}: shapes {a.shape} and {b.shape} cannot be broadcast"
            raise ValueError(msg) from None

    def __lt__(self: Tensor, other: Any) -> Tensor:
        return self._compare(other, np.less, "lt")

    def __le__(self: Tensor, other: Any) -> Tensor:
        return self._compare(other, np.less_equal, "le")

    def __gt__(self: Tensor, other: Any) -> Tensor:
        return self._compare(other, np.greater, "gt")

    def __ge__(self: Tensor, other: Any) -> Tensor:
        return self._compare(other, np.greater_equal, "ge")

    def __eq__(self: Tensor, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.equal, "eq")

    def __ne__(self: Tensor, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.not_equal, "ne")

    def argmax(self: Tensor, dim: int | None = None, keepdim: bool = False, *,
               axis: int | None = None, keepdims: bool | None = None) -> Tensor:
        dim, keepdim = _pick(dim, axis, keepdim, keepdims)
        return self._arg(np.argmax, "argmax", dim, keepdim)

    def argmin(self: Tensor, dim: int | None = None, keepdim: bool = False, *,
               axis: int | None = None, keepdims: bool | None = None) -> Tensor:
        dim, keepdim = _pick(dim, axis, keepdim, keepdims)
        return self._arg(np.argmin, "argmin", dim, keepdim)

    def _arg(self: Tensor, fn: Any, name: str, dim: int | None, keepdim: bool) -> Tensor:
        if self.data.size == 0:
            raise ValueError(f"{name}: the tensor is empty (shape {self.shape})")
        axis = None if dim is None else _dims(name, dim, self.ndim)[0]
        return self._make(np.asarray(fn(self.data, axis=axis, keepdims=keepdim), np.int64))

    def any(self: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
        dims = _dims("any", dim, self.ndim)
        return self._make(np.asarray(self.data.any(axis=dims, keepdims=keepdim)))

    def all(self: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
        dims = _dims("all", dim, self.ndim)
        return self._make(np.asarray(self.data.all(axis=dims, keepdims=keepdim)))

    # -- reductions built from the textbook ones ---------------------------------------------

    def amin(self: Tensor, dim: Dim = None, keepdim: bool = False, *, axis: Dim = None,
             keepdims: bool | None = None) -> Tensor:
        """The minimum over dims, ``-amax(-x)``: ties split the gradient evenly."""
        dim, keepdim = _pick(dim, axis, keepdim, keepdims)
        return -((-self).amax(dim, keepdim))

    def var(self: Tensor, dim: Dim = None, unbiased: bool = True, keepdim: bool = False, *,
            correction: int | None = None, axis: Dim = None,
            keepdims: bool | None = None) -> Tensor:
        """Variance; ``unbiased=True`` (PyTorch's default) divides by n - 1."""
        dim, keepdim = _pick(dim, axis, keepdim, keepdims)
        dims = _reduced("var", dim, self.ndim)
        n = int(np.prod([self.shape[d] for d in dims]))
        ddof = (1 if unbiased else 0) if correction is None else correction
        if n - ddof <= 0:
            raise ValueError(f"var: {n} element(s) are too few for correction={ddof}")
        centered = self - self.mean(dims, keepdim=True)
        return (centered * centered).sum(dims, keepdim) * (1.0 / (n - ddof))

    def std(self: Tensor, dim: Dim = None, unbiased: bool = True, keepdim: bool = False, *,
            correction: int | None = None, axis: Dim = None,
            keepdims: bool | None = None) -> Tensor:
        """Standard deviation, sqrt(var). Of a constant input (var = 0, where sqrt has an
        infinite slope) the gradient is 0, as PyTorch's, not nan: the sqrt runs on 1
        there, and its result is replaced by 0."""
        v = self.var(dim, unbiased, keepdim, correction=correction, axis=axis,
                     keepdims=keepdims)
        constant = v.data == 0
        if not constant.any():
            return v.sqrt()
        return where(constant, 0.0, where(constant, 1.0, v).sqrt())

    # -- reshapes built from reshape, permute and expand ---------------------------------------

    def view(self: Tensor, *shape: Any) -> Tensor:
        return self.reshape(*shape)

    def flatten(self: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        if self.ndim == 0:
            return self.reshape(1)
        s, e = _dims("flatten", start_dim, self.ndim)[0], _dims("flatten", end_dim, self.ndim)[0]
        return self.reshape(self.shape[:s] + (-1,) + self.shape[e + 1:])

    def transpose(self: Tensor, dim0: int, dim1: int) -> Tensor:
        d0, d1 = (_dims("transpose", d, self.ndim)[0] for d in (dim0, dim1))
        order = list(range(self.ndim))
        order[d0], order[d1] = order[d1], order[d0]
        return self.permute(order)

    def t(self: Tensor) -> Tensor:
        return self.T

    def squeeze(self: Tensor, dim: Dim = None) -> Tensor:
        dims = _dims("squeeze", dim, self.ndim)
        keep = [n for i, n in enumerate(self.shape) if not (i in dims and n == 1)]
        return self.reshape(tuple(keep))

    def unsqueeze(self: Tensor, dim: int) -> Tensor:
        d = _dims("unsqueeze", dim, self.ndim + 1)[0]
        return self.reshape(self.shape[:d] + (1,) + self.shape[d:])

    def expand_as(self: Tensor, other: Tensor) -> Tensor:
        return self.expand(other.shape)

    # -- for code written for PyTorch (the fast.ai course, d2l): added for issue 14 ----------

    def max(self: Tensor, dim: Any = None, keepdim: bool = False, *, axis: Dim = None,
            keepdims: bool | None = None) -> Tensor | tuple[Tensor, Tensor]:
        """PyTorch's three forms: ``x.max()`` is the maximum (ties split the gradient evenly,
        as PyTorch's); ``x.max(dim)`` is the pair ``(values, indices)`` (a named tuple), the
        gradient going to the entry at the index returned (the first maximum); ``x.max(y)``
        with a tensor ``y`` is ``maximum(x, y)``. ``amax`` takes several dims."""
        return self._max_or_min("max", np.argmax, dim, keepdim, axis, keepdims)

    def min(self: Tensor, dim: Any = None, keepdim: bool = False, *, axis: Dim = None,
            keepdims: bool | None = None) -> Tensor | tuple[Tensor, Tensor]:
        """PyTorch's three forms, as ``max``: ``x.min()``, ``x.min(dim)`` -> ``(values,
        indices)``, ``x.min(y)`` -> ``minimum(x, y)``. ``amin`` takes several dims."""
        return self._max_or_min("min", np.argmin, dim, keepdim, axis, keepdims)

    def _max_or_min(self: Tensor, name: str, arg: Any, dim: Any, keepdim: bool, axis: Dim,
                    keepdims: bool | None) -> Any:
        from tinygrad_sm.core import ops

        dim, keepdim = _pick(dim, axis, keepdim, keepdims)
        if isinstance(dim, PyTorchAPI):  # x.max(y)
            return self.maximum(dim) if name == "max" else self.minimum(dim)
        if dim is None:
            return self.amax() if name == "max" else self.amin()
        if not isinstance(dim, int | np.integer) or isinstance(dim, bool):
            raise TypeError(f"{name}: dim must be an int (it returns the values and the "
                            f"indices along one dim), got {dim!r}; a{name} takes several dims")
        d = _dims(name, dim, self.ndim)[0]
        if self.ndim == 0:  # (PyTorch allows dim 0 or -1: the value itself, at index 0)
            return _MAX_MIN[name](self.clone(), self._make(np.zeros((), np.int64)))
        if self.shape[d] == 0:
            raise ValueError(f"{name}: cannot reduce dim {dim} of size 0 (shape {self.shape})")
        index = np.expand_dims(arg(self.data, axis=d), d).astype(np.int64)  # (keepdim's shape)
        values = ops.TakeAlong.apply(self, index=index, dim=d, keepdim=keepdim)
        return _MAX_MIN[name](values, self._make(index if keepdim else np.squeeze(index, d)))

    def clamp_min(self: Tensor, min: Scalar) -> Tensor:
        """``clamp(min=min)``: the course's ReLU is ``x.clamp_min(0.)``."""
        return self.clamp(min=min)

    def clamp_max(self: Tensor, max: Scalar) -> Tensor:
        return self.clamp(max=max)

    def nonzero(self: Tensor, *, as_tuple: bool = False) -> Tensor | tuple[Tensor, ...]:
        """The indices of the nonzero entries, one row each (shape (n, ndim), int64); with
        ``as_tuple`` one index tensor per dim, as NumPy's nonzero. No gradient."""
        if as_tuple:
            found = np.nonzero(np.atleast_1d(self.data))
            return tuple(self._make(i.astype(np.int64)) for i in found)
        return self._make(np.argwhere(self.data).astype(np.int64))

    def cumsum(self: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
        """The running sum along ``dim``; integers and bools sum to int64, as in PyTorch."""
        from tinygrad_sm.core import ops

        if not isinstance(dim, int | np.integer) or isinstance(dim, bool):
            raise TypeError(f"cumsum: dim must be an int, got {dim!r}")
        x = self if dtype is None else self.to(dtype)
        if self.ndim == 0:  # (PyTorch takes dim 0 or -1 of a 0-d tensor)
            _dims("cumsum", dim, 1)
            return ops.Cumsum.apply(x.reshape(1), dim=0).reshape(())
        return ops.Cumsum.apply(x, dim=_dims("cumsum", dim, self.ndim)[0])

    def cpu(self: Tensor) -> Tensor:
        """The tensor itself: every tensor lives in the CPU's memory."""
        return self

    def type(self: Tensor, dtype: Any = None) -> Tensor | str:
        """With no argument the type's name, like PyTorch's ('tinygrad_sm.FloatTensor' where
        PyTorch says 'torch.FloatTensor'); with a dtype (or such a name), a cast."""
        if dtype is None:
            return f"tinygrad_sm.{_TYPE_NAMES.get(self.dtype, str(self.dtype))}"
        if isinstance(dtype, str) and dtype.rpartition(".")[2] in _TYPE_NAMES.values():
            name = dtype.rpartition(".")[2]
            dtype = next(k for k, v in _TYPE_NAMES.items() if v == name)
        return self.to(dtype)

    def stride(self: Tensor, dim: int | None = None) -> tuple[int, ...] | int:
        """Steps between neighbours along each dim, in elements (as PyTorch; NumPy's
        ``strides`` are in bytes)."""
        steps = tuple(s // self.data.itemsize for s in self.data.strides)
        return steps if dim is None else steps[_dims("stride", dim, self.ndim)[0]]

    def __index__(self: Tensor) -> int:
        """A one-element integer tensor as an index: ``names[t]`` for a Python list."""
        if self.data.size != 1 or self.data.dtype.kind not in "iub":
            raise TypeError(f"index: only integer tensors of a single element can be used as "
                            f"an index; this one has shape {self.shape} and dtype {self.dtype}")
        return int(self.data.item())


# What max(dim) and min(dim) return: PyTorch's torch.return_types.max and .min
_MAX_MIN = {name: namedtuple(name, ["values", "indices"]) for name in ("max", "min")}

_TYPE_NAMES = {np.dtype(k): v for k, v in [
    (np.float32, "FloatTensor"), (np.float64, "DoubleTensor"), (np.float16, "HalfTensor"),
    (np.int64, "LongTensor"), (np.int32, "IntTensor"), (np.int16, "ShortTensor"),
    (np.int8, "CharTensor"), (np.uint8, "ByteTensor"), (np.bool_, "BoolTensor")]}


class Size(tuple):
    """A shape, as ``torch.Size``: a tuple (so ``x.shape == Size([2, 3])`` holds), printed
    as ``Size([2, 3])``. ``Tensor.shape`` and ``size()`` return plain tuples, which compare
    equal to it: building a Size on every shape read would cost the hot path for nothing."""

    def __new__(cls, sizes: Sequence[int] = ()) -> Size:
        return super().__new__(cls, (int(n) for n in sizes))

    def __repr__(self) -> str:
        return f"Size({list(self)})"

    def numel(self) -> int:
        return int(np.prod(self, dtype=np.int64))


# -- functions of several tensors ----------------------------------------------------------


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along an existing dim (``torch.cat``)."""
    from tinygrad_sm.core import ops

    ts = _tensors("cat", tensors)
    if len({t.data.dtype for t in ts}) > 1:
        ts = promote(*ts)
    return ops.Cat.apply(*ts, dim=_dims("cat", dim, ts[0].ndim)[0])


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join same-shaped tensors along a new dim (``torch.stack``)."""
    ts = _tensors("stack", tensors)
    shapes = {t.shape for t in ts}
    if len(shapes) > 1:
        raise ValueError(f"stack: all tensors must have the same shape; got {sorted(shapes)}")
    d = _dims("stack", dim, ts[0].ndim + 1)[0]
    return cat([t.unsqueeze(d) for t in ts], d)


def where(condition: Any, input: Any, other: Any) -> Tensor:
    """``input`` where ``condition`` holds, else ``other``; differentiable in both."""
    from tinygrad_sm.core import ops
    from tinygrad_sm.core.tensor import Tensor

    cond = Tensor._make(np.asarray(condition.data if isinstance(condition, Tensor)
                                   else condition, bool))
    if isinstance(input, Tensor):
        x, y = input._pair(other)
    elif isinstance(other, Tensor):
        y, x = other._pair(input)
    else:
        x, y = Tensor._make(_as_array(input, copy=False))._pair(other)
    return ops.Where.apply(cond, x, y)


# -- functions for code written for PyTorch: added for issue 14 -----------------------------


def einsum(equation: str, *operands: Any) -> Tensor:
    """Einstein summation, as ``torch.einsum`` (``einsum("ik,kj->ij", a, b)``; the operands
    may also come as one list). Differentiable in every operand; no ellipsis or repeated
    letter within an operand."""
    from tinygrad_sm.core import ops

    if len(operands) == 1 and isinstance(operands[0], list | tuple):
        operands = tuple(operands[0])
    if not isinstance(equation, str):
        raise TypeError(f"einsum: the first argument is the equation (a str), got "
                        f"{type(equation).__name__}")
    return ops.Einsum.apply(*_tensors("einsum", list(operands)), equation=equation)


def allclose(input: Any, other: Any, rtol: builtins.float = 1e-05,
             atol: builtins.float = 1e-08, equal_nan: bool = False) -> bool:
    """|input - other| <= atol + rtol * |other| everywhere (a Python bool), as PyTorch's."""
    from tinygrad_sm.core.tensor import Tensor

    a, b = (x.data if isinstance(x, Tensor) else np.asarray(x) for x in (input, other))
    return bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))
