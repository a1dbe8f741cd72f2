"""``Tensor``: a NumPy array that remembers how it was computed.

A Tensor holds ``data`` (an ndarray), ``requires_grad``, ``grad`` (a Tensor, filled by
backward) and ``grad_fn`` (the op that made it; None for a leaf). Every differentiable
method below is one op from ``tinygrad_sm.core.ops`` or a few of them composed; this file only
turns PyTorch-style calls into those ops.

Dtypes: Python numbers and lists become float32 (ints stay int64); a NumPy array keeps
its dtype. Mixed float32/float64 operands follow NumPy's promotion (the result is float64).
A Python number combined with a tensor takes the tensor's dtype, as in PyTorch.
"""

from __future__ import annotations

import builtins
import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from tinygrad_sm.core.grad_mode import _state

Dim = int | Sequence[int] | None
Scalar = int | float | bool


def _native(dtype: Any) -> np.dtype:
    """np.dtype(dtype) in this machine's byte order: NumPy's ufunc loops, and so every op,
    want native data (a dtype such as '>f4' would fail deep inside some op)."""
    return np.dtype(dtype).newbyteorder("=")


def _broadcast(*shapes: tuple[int, ...]) -> tuple[int, ...] | None:
    """The shape the shapes broadcast to, or None if they do not."""
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        return None


def _as_array(data: Any, dtype: Any = None, copy: bool = True) -> np.ndarray:
    """User data as an ndarray, with tinygrad_sm's dtype rules and clear errors."""
    if isinstance(data, Tensor):
        arr = data.data
    elif isinstance(data, np.ndarray | np.generic):
        arr = np.asarray(data)
    else:
        try:
            arr = np.asarray(data)
        except ValueError as err:
            raise ValueError(
                f"tensor: nested sequences have different lengths (ragged data): {err}"
            ) from None
        if arr.dtype == np.float64:  # a Python float: PyTorch's default dtype is float32
            arr = arr.astype(np.float32)
        copy = False
    _check_numeric("tensor", arr, type(data).__name__)
    want = _native(arr.dtype if dtype is None else dtype)  # (big-endian data, say, from a file)
    if arr.dtype != want:
        return arr.astype(want)
    return arr.copy() if copy else arr


def _check_numeric(fn: str, arr: np.ndarray, what: str) -> None:
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"{fn}: data must be numeric (bool, int or float); got {what} with NumPy dtype "
            f"{arr.dtype}"
        )


def _dims(name: str, dim: Dim, ndim: int) -> tuple[int, ...]:
    """Normalize a dim argument (int, tuple or None = all) to sorted non-negative axes."""
    if dim is None:
        return tuple(range(ndim))
    if type(dim) is int and -ndim <= dim < ndim:  # the common case, on the hot path
        return (dim % ndim,)
    dims = (dim,) if isinstance(dim, int | np.integer) else tuple(dim)
    out = []
    for d in dims:
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(
                f"{name}: dim {d} is out of range for a tensor with {ndim} dimensions "
                f"(expected a value in [{-max(ndim, 1)}, {max(ndim, 1) - 1}])"
            )
        out.append(d % ndim if ndim else 0)
    return tuple(sorted(set(out)))


def _pick(dim: Dim, axis: Dim, keepdim: bool, keepdims: bool | None) -> tuple[Dim, bool]:
    """Accept NumPy's ``axis``/``keepdims`` as aliases of ``dim``/``keepdim``."""
    return (dim if axis is None else axis), (keepdim if keepdims is None else keepdims)


def _shape_arg(shape: tuple[Any, ...]) -> tuple[int, ...]:
    """``reshape(2, 3)`` and ``reshape((2, 3))`` both mean the shape (2, 3)."""
    if len(shape) == 1 and not isinstance(shape[0], int | np.integer):
        return tuple(shape[0])
    return tuple(shape)


def _index(key: Any) -> Any:
    """Turn Tensors, lists and ranges inside an index into NumPy index arrays."""
    if isinstance(key, tuple):
        return tuple(_index(k) for k in key)
    if isinstance(key, Tensor):  # (a 0-d integer tensor indexes as an int, as in PyTorch:
        # the result is a view, not an advanced-indexing copy)
        return int(key.data) if key.ndim == 0 and key.dtype.kind in "iu" else key.data
    if isinstance(key, list | range):
        return np.asarray(key)
    return key


class Tensor:
    """A NumPy array with a gradient and a record of the op that produced it."""

    __slots__ = ("data", "grad", "requires_grad", "grad_fn", "name", "_counter",
                 "_retains_grad", "__weakref__")
    # _counter: the version counter, [number of in-place changes of this memory]. A view of
    # a tensor's memory (a reshape, a basic index, a detach) shares its base's list, as in
    # PyTorch, so that a change through either is seen by every graph that saved the other.
    # (A list, not an int: shared. The hot paths read _counter[0]; the rest, _version.)

    data: np.ndarray
    grad: Tensor | None
    requires_grad: bool
    grad_fn: Any  # a tinygrad_sm.core.function.Function, or None for a leaf

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        self.data = _as_array(data, dtype)
        self.grad = None
        self.requires_grad = False
        self.grad_fn = None
        self.name = None
        self._counter = [0]
        self._retains_grad = False
        if requires_grad:
            self.requires_grad_()

    @staticmethod
    def _make(data: np.ndarray, requires_grad: bool = False, grad_fn: Any = None) -> Tensor:
        """Wrap an array without checks or copies (for ops, which produce fresh arrays)."""
        t = object.__new__(Tensor)
        t.data = data
        t.grad = None
        t.requires_grad = requires_grad
        t.grad_fn = grad_fn
        t.name = None
        t._counter = [0]
        t._retains_grad = False
        return t

    @property
    def _version(self) -> int:
        """The number of in-place changes of this tensor's memory, its views' included."""
        return self._counter[0]

    @_version.setter
    def _version(self, n: int) -> None:
        self._counter[0] = n

    def __getstate__(self) -> dict[str, Any]:
        # The version as a number: a copy (pickle, deepcopy) has memory of its own, so it
        # gets a counter of its own, not the list it shared with views of the original.
        state = {k: getattr(self, k) for k in _PICKLED if hasattr(self, k)}
        state["_version"] = self._counter[0]
        return state

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple):  # pickled by an older version: (None, its slots)
            state = state[1]
        for k in _PICKLED:
            if k in state:
                setattr(self, k, state[k])
        self._counter = [state.get("_version", 0)]

    def _share_counter(self, base: Tensor) -> Tensor:
        """Make this tensor count base's changes (it views base's memory); returns it."""
        self._counter = base._counter
        return self

    # -- attributes ----------------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def device(self) -> str:
        return "cpu"

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

    def size(self, dim: int | None = None) -> tuple[int, ...] | int:
        return self.shape if dim is None else self.shape[_dims("size", dim, self.ndim)[0]]

    def dim(self) -> int:
        return self.ndim

    def numel(self) -> int:
        return self.data.size

    def numpy(self) -> np.ndarray:
        if self.requires_grad:
            raise RuntimeError(
                "numpy: can't call numpy() on a tensor that requires grad; "
                "use tensor.detach().numpy()"
            )
        return self.data

    def item(self) -> builtins.float | int | bool:
        if self.data.size != 1:
            raise ValueError(
                f"item: only one-element tensors can be converted to Python scalars; "
                f"this one has shape {self.shape}"
            )
        return self.data.item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def detach(self) -> Tensor:
        """The same data, cut off from the graph (shares memory and the version counter,
        as in PyTorch)."""
        return Tensor._make(self.data)._share_counter(self)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and self.data.dtype.kind != "f":
            raise RuntimeError(
                f"requires_grad: only floating-point tensors can require gradients; "
                f"this one has dtype {self.dtype} (convert it with .float() first)"
            )
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError(
                "requires_grad_: a non-leaf tensor cannot stop requiring grad; use .detach()"
            )
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> Tensor:
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: this tensor does not require grad")
        self._retains_grad = True
        return self

    def to(self, dtype: Any) -> Tensor:
        dtype = _native(dtype)
        return self if self.dtype == dtype else ops.Cast.apply(self, dtype=dtype)

    def float(self) -> Tensor:
        return self.to(np.float32)

    def double(self) -> Tensor:
        return self.to(np.float64)

    def long(self) -> Tensor:
        return self.to(np.int64)

    def clone(self) -> Tensor:
        return ops.Clone.apply(self)

    def contiguous(self) -> Tensor:
        return self

    # -- Python protocols ----------------------------------------------------------------

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        return self.data if dtype is None else self.data.astype(dtype)

    def _scalar(self, what: str) -> Any:
        if self.data.size != 1:
            raise RuntimeError(
                f"{what} of a tensor with more than one value is ambiguous "
                f"(shape {self.shape}); use .any() or .all()"
            )
        return self.data.item()

    def __bool__(self) -> bool:
        return bool(self._scalar("Boolean value"))

    def __float__(self) -> builtins.float:
        return builtins.float(self._scalar("float()"))

    def __int__(self) -> int:
        return int(self._scalar("int()"))

    def __iter__(self) -> Any:
        return (self[i] for i in range(len(self)))

    __hash__ = object.__hash__
    # ``array * tensor`` must reach Tensor.__rmul__ (and record the op) rather than let
    # NumPy convert the tensor to a plain array.
    __array_ufunc__ = None

    def __repr__(self) -> str:
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

    # -- operands --------------------------------------------------------------------------

    def _pair(self, other: Any) -> tuple[Tensor, Tensor]:
        """Make ``other`` a Tensor: a Python number takes this tensor's dtype."""
        if isinstance(other, Tensor):
            return self, other
        if isinstance(other, int | builtins.float):
            if self.data.dtype.kind == "f":
                return self, Tensor._make(np.array(other, self.data.dtype))
            if isinstance(other, builtins.float):  # int tensor * 0.5 is float32, as in PyTorch
                return self.float(), Tensor._make(np.array(other, np.float32))
            return self, Tensor._make(np.array(other))
        return self, Tensor._make(_as_array(other, copy=False))

    def _reflected(self, op: Any, other: Any) -> Tensor:
        """``other <op> self``: Python calls __radd__ and friends when ``other`` is not a
        Tensor, and the operands must keep their order (``1 - x``, ``2 ** x``)."""
        a, b = self._pair(other)
        return op.apply(b, a)

    # -- arithmetic ------------------------------------------------------------------------

    def __add__(self, other: Any) -> Tensor:
        return ops.Add.apply(*self._pair(other))

    def __radd__(self, other: Any) -> Tensor:
        return self._reflected(ops.Add, other)

    def __sub__(self, other: Any) -> Tensor:
        return ops.Sub.apply(*self._pair(other))

    def __rsub__(self, other: Any) -> Tensor:
        return self._reflected(ops.Sub, other)

    def __mul__(self, other: Any) -> Tensor:
        return ops.Mul.apply(*self._pair(other))

    def __rmul__(self, other: Any) -> Tensor:
        return self._reflected(ops.Mul, other)

    def __truediv__(self, other: Any) -> Tensor:
        return ops.Div.apply(*self._pair(other))

    def __rtruediv__(self, other: Any) -> Tensor:
        return self._reflected(ops.Div, other)

    def __pow__(self, other: Any) -> Tensor:
        return ops.Pow.apply(*self._pair(other))

    def __rpow__(self, other: Any) -> Tensor:
        return self._reflected(ops.Pow, other)

    def __neg__(self) -> Tensor:
        return ops.Neg.apply(self)

    def __matmul__(self, other: Any) -> Tensor:
        return ops.Matmul.apply(*self._pair(other))

    def __rmatmul__(self, other: Any) -> Tensor:
        return self._reflected(ops.Matmul, other)

    def matmul(self, other: Any) -> Tensor:
        return self @ other

    def add(self, other: Any) -> Tensor:
        return self + other

    def sub(self, other: Any) -> Tensor:
        return self - other

    def mul(self, other: Any) -> Tensor:
        return self * other

    def div(self, other: Any) -> Tensor:
        return self / other

    def pow(self, other: Any) -> Tensor:
        return self**other

    def neg(self) -> Tensor:
        return -self

    # -- comparisons (no gradient) ----------------------------------------------------------

    def _compare(self, other: Any, op: Any, name: str) -> Tensor:
        a, b = self._pair(other)
        try:
            return Tensor._make(op(a.data, b.data))
        except ValueError:
            msg = f"{name}: shapes {a.shape} and {b.shape} cannot be broadcast"
            raise ValueError(msg) from None

    def __lt__(self, other: Any) -> Tensor:
        return self._compare(other, np.less, "lt")

    def __le__(self, other: Any) -> Tensor:
        return self._compare(other, np.less_equal, "le")

    def __gt__(self, other: Any) -> Tensor:
        return self._compare(other, np.greater, "gt")

    def __ge__(self, other: Any) -> Tensor:
        return self._compare(other, np.greater_equal, "ge")

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.equal, "eq")

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.not_equal, "ne")

    def argmax(self, dim: int | None = None, keepdim: bool = False, *, axis: int | None = None,
               keepdims: bool | None = None) -> Tensor:
        dim, keepdim = _pick(dim, axis, keepdim, keepdims)
        return self._arg(np.argmax, "argmax", dim, keepdim)

    def argmin(self, dim: int | None = None, keepdim: bool = False, *, axis: int | None = None,
               keepdims: bool | None = None) -> Tensor:
        dim, keepdim = _pick(dim, axis, keepdim, keepdims)
        return self._arg(np.argmin, "argmin", dim, keepdim)

    def _arg(self, fn: Any, name: str, dim: int | None, keepdim: bool) -> Tensor:
        if self.data.size == 0:
            raise ValueError(f"{name}: the tensor is empty (shape {self.shape})")
        axis = None if dim is None else _dims(name, dim, self.ndim)[0]
        return Tensor._make(np.asarray(fn(self.data, axis=axis, keepdims=keepdim), np.int64))

    def any(self) -> Tensor:
        return Tensor._make(np.asarray(self.data.any()))

    def all(self) -> Tensor:
        return Tensor._make(np.asarray(self.data.all()))

    # -- elementwise functions ----------------------------------------------------------------

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

    def clamp(self, min: Scalar | None = None, max: Scalar | None = None) -> Tensor:
        if min is None and max is None:
            raise ValueError("clamp: at least one of min and max must be given")
        return ops.Clamp.apply(self, low=min, high=max)

    clip = clamp

    def maximum(self, other: Any) -> Tensor:
        return ops.Maximum.apply(*self._pair(other))

    def minimum(self, other: Any) -> Tensor:
        return ops.Minimum.apply(*self._pair(other))

    # -- reductions ---------------------------------------------------------------------------

    def sum(self, dim: Dim = None, keepdim: bool = False, *, axis: Dim = None,
            keepdims: bool | None = None) -> Tensor:
        dim, keepdim = _pick(dim, axis, keepdim, keepdims)
        return ops.Sum.apply(self, dims=_dims("sum", dim, self.ndim), keepdim=keepdim)

    def mean(self, dim: Dim = None, keepdim: bool = False, *, axis: Dim = None,
             keepdims: bool | None = None) -> Tensor:
        dim, keepdim = _pick(dim, axis, keepdim, keepdims)
        dims = _dims("mean", dim, self.ndim)
        n = int(np.prod([self.shape[d] for d in dims]))
        if n == 0:
            raise ValueError(f"mean: cannot take the mean over zero elements (shape {self.shape})")
        return ops.Sum.apply(self, dims=dims, keepdim=keepdim) * (1.0 / n)

    def max(self, dim: Dim = None, keepdim: bool = False, *, axis: Dim = None,
            keepdims: bool | None = None) -> Tensor:
        """Maximum values (not PyTorch's (values, indices) pair: use ``argmax`` for indices).
        On ties the gradient is split evenly among the tied entries."""
        dim, keepdim = _pick(dim, axis, keepdim, keepdims)
        return ops.Max.apply(self, dims=_dims("max", dim, self.ndim), keepdim=keepdim)

    def min(self, dim: Dim = None, keepdim: bool = False, *, axis: Dim = None,
            keepdims: bool | None = None) -> Tensor:
        """Minimum values; see ``max``."""
        dim, keepdim = _pick(dim, axis, keepdim, keepdims)
        return -((-self).max(dim, keepdim))

    def var(self, dim: Dim = None, unbiased: bool = True, keepdim: bool = False, *,
            correction: int | None = None, axis: Dim = None,
            keepdims: bool | None = None) -> Tensor:
        """Variance; ``unbiased=True`` (PyTorch's default) divides by n - 1."""
        dim, keepdim = _pick(dim, axis, keepdim, keepdims)
        dims = _dims("var", dim, self.ndim)
        n = int(np.prod([self.shape[d] for d in dims]))
        ddof = (1 if unbiased else 0) if correction is None else correction
        if n - ddof <= 0:
            raise ValueError(f"var: {n} element(s) are too few for correction={ddof}")
        centered = self - self.mean(dims, keepdim=True)
        return (centered * centered).sum(dims, keepdim) * (1.0 / (n - ddof))

    def std(self, dim: Dim = None, unbiased: bool = True, keepdim: bool = False, *,
            correction: int | None = None, axis: Dim = None,
            keepdims: bool | None = None) -> Tensor:
        return self.var(dim, unbiased, keepdim, correction=correction, axis=axis,
                        keepdims=keepdims).sqrt()

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

    # -- shape --------------------------------------------------------------------------------

    def reshape(self, *shape: Any) -> Tensor:
        return ops.Reshape.apply(self, shape=_shape_arg(shape))

    view = reshape

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        if self.ndim == 0:
            return self.reshape(1)
        s, e = _dims("flatten", start_dim, self.ndim)[0], _dims("flatten", end_dim, self.ndim)[0]
        return self.reshape(self.shape[:s] + (-1,) + self.shape[e + 1:])

    def permute(self, *dims: Any) -> Tensor:
        dims = _shape_arg(dims)
        if sorted(d % max(self.ndim, 1) for d in dims) != list(range(self.ndim)):
            raise ValueError(f"permute: {dims} is not a permutation of the {self.ndim} dims")
        return ops.Permute.apply(self, dims=tuple(d % self.ndim for d in dims))

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        d0, d1 = (_dims("transpose", d, self.ndim)[0] for d in (dim0, dim1))
        order = list(range(self.ndim))
        order[d0], order[d1] = order[d1], order[d0]
        return self.permute(order)

    def t(self) -> Tensor:
        return self.T

    def squeeze(self, dim: Dim = None) -> Tensor:
        dims = _dims("squeeze", dim, self.ndim)
        keep = [n for i, n in enumerate(self.shape) if not (i in dims and n == 1)]
        return self.reshape(tuple(keep))

    def unsqueeze(self, dim: int) -> Tensor:
        d = _dims("unsqueeze", dim, self.ndim + 1)[0]
        return self.reshape(self.shape[:d] + (1,) + self.shape[d:])

    def expand(self, *sizes: Any) -> Tensor:
        sizes = _shape_arg(sizes)
        lead = len(sizes) - self.ndim
        shape = tuple(self.shape[i - lead] if n == -1 else n for i, n in enumerate(sizes))
        return ops.Expand.apply(self, shape=shape)

    def expand_as(self, other: Tensor) -> Tensor:
        return self.expand(other.shape)

    def sum_to(self, shape: tuple[int, ...]) -> Tensor:
        """Sum over broadcast dimensions so the result has ``shape`` (the adjoint of expand)."""
        return self if self.shape == tuple(shape) else ops.SumTo.apply(self, shape=tuple(shape))

    def __getitem__(self, key: Any) -> Tensor:
        return ops.GetItem.apply(self, index=_index(key))

    # -- in-place (bump the version counter so that saved tensors are checked) -------------

    @contextlib.contextmanager
    def _inplace(self, name: str, other: Any = None) -> Iterator[None]:
        """Around an in-place write: refuse it where it would corrupt a graph, and bump the
        version after it, even if it raised: a write that failed midway may have changed
        part of the data. (Read-only memory is refused here, and callers first check the
        value, so that a plain mistake neither writes nor bumps.)"""
        if not self.data.flags.writeable:
            raise ValueError(f"{name}: cannot update a tensor of shape {self.shape} in place: "
                             "its memory is read-only (a broadcast view, say): clone() it")
        if _state.enabled:
            if self.requires_grad and self.grad_fn is None:
                raise RuntimeError(
                    f"{name}: a leaf tensor that requires grad cannot be modified in place "
                    "while grad is enabled; do it under `with tg.no_grad():` (as optimizers do)"
                )
            if self.requires_grad:
                raise RuntimeError(
                    f"{name}: in-place modification of a tensor that is part of a graph "
                    f"(created by {self.grad_fn.name}) is not supported; use the out-of-place "
                    "form (x = x + y) instead"
                )
            if isinstance(other, Tensor) and other.requires_grad:
                raise RuntimeError(
                    f"{name}: the operand requires grad, but in-place ops are not recorded; "
                    "use the out-of-place form (x = x + y) instead"
                )
        try:
            yield
        finally:
            self._version += 1

    def _check_update(self, name: str, value: Any, shape: tuple[int, ...] | None = None,
                      same_kind: bool = True) -> Any:
        """``value`` as NumPy is to take it (an array, or a Python number kept as one), once
        sure that it can be written into ``shape`` (this tensor's shape by default): it
        broadcasts to the shape and (for arithmetic and copy_) its type casts to this
        tensor's dtype within its kind."""
        value = value.data if isinstance(value, Tensor) else value
        if not isinstance(value, np.ndarray | np.generic | int | float | bool):
            value = np.asarray(value)  # (a list, say; a Python number stays one for NumPy)
        shape = self.shape if shape is None else shape
        problem = None
        if _broadcast(shape, np.shape(value)) != shape:
            problem = "the value does not broadcast to it"
        elif same_kind and not np.can_cast(np.result_type(self.dtype, value), self.dtype,
                                           "same_kind"):
            problem = f"its type does not cast to {self.dtype} within its kind"
        if problem:
            raise ValueError(f"{name}: cannot update a tensor of shape {shape} in place with "
                             f"shape {np.shape(value)}: {problem}")
        return value

    def _apply_inplace(self, name: str, ufunc: Any, other: Any, alpha: Scalar = 1) -> Tensor:
        value = other.data if isinstance(other, Tensor) else other
        if alpha != 1:  # (scaled first, so that the check sees the value written)
            value = np.multiply(value, alpha)
        value = self._check_update(name, value)
        with self._inplace(name, other):
            ufunc(self.data, value, out=self.data, casting="same_kind")
        return self

    def add_(self, other: Any, alpha: Scalar = 1) -> Tensor:
        return self._apply_inplace("add_", np.add, other, alpha)

    def sub_(self, other: Any, alpha: Scalar = 1) -> Tensor:
        return self._apply_inplace("sub_", np.subtract, other, alpha)

    def mul_(self, other: Any) -> Tensor:
        return self._apply_inplace("mul_", np.multiply, other)

    def div_(self, other: Any) -> Tensor:
        return self._apply_inplace("div_", np.divide, other)

    def copy_(self, src: Any) -> Tensor:
        value = self._check_update("copy_", src)
        with self._inplace("copy_", src):
            np.copyto(self.data, value, casting="same_kind")
        return self

    def fill_(self, value: Scalar) -> Tensor:
        with self._inplace("fill_"):
            self.data.fill(value)
        return self

    def zero_(self) -> Tensor:
        return self.fill_(0)

    def clamp_(self, min: Scalar | None = None, max: Scalar | None = None) -> Tensor:
        with self._inplace("clamp_"):
            np.clip(self.data, min, max, out=self.data)
        return self

    def __setitem__(self, key: Any, value: Any) -> None:
        index = _index(key)
        try:  # (reading the entries checks the index before anything is written)
            shape = np.shape(self.data[index])
        except IndexError as err:
            raise IndexError(f"setitem: {err} (tensor of shape {self.shape})") from None
        # (assignment casts as NumPy's and PyTorch's do: a float into an int tensor truncates)
        new = self._check_update("setitem", value, shape, same_kind=False)
        with self._inplace("setitem", value):
            self.data[index] = new

    # Augmented assignment updates in place like PyTorch, except on a tensor inside a
    # graph, where it rebinds the name to the out-of-place result (in-place would corrupt
    # the recorded graph).
    def _augmented(self, name: str, other: Any, out_of_place: Any) -> Tensor:
        if _state.enabled and self.grad_fn is not None:
            return out_of_place(self, other)
        return getattr(self, name)(other)

    def __iadd__(self, other: Any) -> Tensor:
        return self._augmented("add_", other, Tensor.__add__)

    def __isub__(self, other: Any) -> Tensor:
        return self._augmented("sub_", other, Tensor.__sub__)

    def __imul__(self, other: Any) -> Tensor:
        return self._augmented("mul_", other, Tensor.__mul__)

    def __itruediv__(self, other: Any) -> Tensor:
        return self._augmented("div_", other, Tensor.__truediv__)

    # -- autograd -------------------------------------------------------------------------------

    def backward(self, gradient: Any = None, retain_graph: bool = False,
                 create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into ``.grad`` of every leaf that requires grad."""
        engine.backward([self], [gradient], retain_graph=retain_graph or create_graph,
                        create_graph=create_graph)


def _tensors(name: str, tensors: Sequence[Any]) -> list[Tensor]:
    if not isinstance(tensors, list | tuple) or not tensors:
        raise ValueError(f"{name}: expected a non-empty list or tuple of tensors")
    return [t if isinstance(t, Tensor) else Tensor._make(_as_array(t, copy=False))
            for t in tensors]


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along an existing dim (``torch.cat``)."""
    ts = _tensors("cat", tensors)
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
    cond = Tensor._make(np.asarray(condition.data if isinstance(condition, Tensor)
                                   else condition, bool))
    if isinstance(input, Tensor):
        x, y = input._pair(other)
    elif isinstance(other, Tensor):
        y, x = other._pair(input)
    else:
        x, y = Tensor._make(_as_array(input, copy=False))._pair(other)
    return ops.Where.apply(cond, x, y)


# What pickle keeps of a tensor: its slots, with the counter as a number (see __getstate__)
_PICKLED = tuple(k for k in Tensor.__slots__ if k not in ("_counter", "__weakref__"))

# Bottom imports: the ops and the engine need the Tensor class defined above.

from tinygrad_sm.core import backward as engine  # noqa: E402
from tinygrad_sm.core import ops  # noqa: E402
