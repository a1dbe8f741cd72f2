"""In-place updates (``add_``, ``x[i] = v``, ``+=``, ...) and the version counter that keeps
them from corrupting a gradient.

An op that saved a tensor for backward needs its value as it was in forward. Every
in-place write bumps the tensor's version; backward compares it with the version the op
saw, and raises rather than compute with changed data (see ``Function.saved_tensors``).
A view of a tensor's memory (a reshape, a basic index, a detach) shares its base's
counter, as in PyTorch, so a change through either is seen by every graph that saved the
other. The counter is a one-element list, so that it can be shared; hot paths read
``_counter[0]``.

``InPlace`` is a mixin of ``Tensor`` (``__slots__ = ()``: it adds methods, no state).
Pickling lives here too: a copy gets a counter of its own.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from tinygrad_sm.core.args import Scalar, _broadcast, _index
from tinygrad_sm.core.grad_mode import _is_enabled

if TYPE_CHECKING:
    from tinygrad_sm.core.tensor import Tensor


class InPlace:
    __slots__ = ()

    @property
    def _version(self: Tensor) -> int:
        """The number of in-place changes of this tensor's memory, its views' included."""
        return self._counter[0]

    @_version.setter
    def _version(self: Tensor, n: int) -> None:
        self._counter[0] = n

    def _share_counter(self: Tensor, base: Tensor) -> Tensor:
        """Make this tensor count base's changes (it views base's memory); returns it."""
        self._counter = base._counter
        return self

    def __getstate__(self: Tensor) -> dict[str, Any]:
        # The version as a number: a copy (pickle, deepcopy) has memory of its own, so it
        # gets a counter of its own, not the list it shared with views of the original.
        state = {k: getattr(self, k) for k in _pickled(self) if hasattr(self, k)}
        state["_version"] = self._counter[0]
        if self.__dict__:  # the user's own attributes (x.g = ...)
            state["__dict__"] = dict(self.__dict__)
        return state

    def __setstate__(self: Tensor, state: dict[str, Any]) -> None:
        # (pickles made before grad and requires_grad became properties name the slots so)
        state = {("_" + k if k in ("grad", "requires_grad") else k): v for k, v in state.items()}
        for k in _pickled(self):
            if k in state:
                setattr(self, k, state[k])
        self._counter = [state.get("_version", 0)]
        self.__dict__.update(state.get("__dict__", {}))

    @contextlib.contextmanager
    def _inplace(self: Tensor, name: str, other: Any = None) -> Iterator[None]:
        """Around an in-place write: refuse it where it would corrupt a graph, and bump the
        version after it, even if it raised: a write that failed midway may have changed
        part of the data. (Read-only memory is refused here, and callers first check the
        value, so that a plain mistake neither writes nor bumps.)"""
        if not self.data.flags.writeable:
            raise ValueError(f"{name}: cannot update a tensor of shape {self.shape} in place: "
                             "its memory is read-only (a broadcast view, say): clone() it")
        if _is_enabled():
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
            if getattr(other, "requires_grad", False):
                raise RuntimeError(
                    f"{name}: the operand requires grad, but in-place ops are not recorded; "
                    "use the out-of-place form (x = x + y) instead"
                )
        try:
            yield
        finally:
            self._version += 1

    def _check_update(self: Tensor, name: str, value: Any, shape: tuple[int, ...] | None = None,
                      same_kind: bool = True) -> Any:
        """``value`` as NumPy is to take it (an array, or a Python number kept as one), once
        sure that it can be written into ``shape`` (this tensor's shape by default): it
        broadcasts to the shape and (for arithmetic and copy_) its type casts to this
        tensor's dtype within its kind."""
        value = value.data if isinstance(value, InPlace) else value
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

    def _apply_inplace(self: Tensor, name: str, ufunc: Any, other: Any,
                       alpha: Scalar = 1) -> Tensor:
        value = other.data if isinstance(other, InPlace) else other
        if alpha != 1:  # (scaled first, so that the check sees the value written)
            value = np.multiply(value, alpha)
        value = self._check_update(name, value)
        with self._inplace(name, other):
            ufunc(self.data, value, out=self.data, casting="same_kind")
        return self

    def add_(self: Tensor, other: Any, alpha: Scalar = 1) -> Tensor:
        return self._apply_inplace("add_", np.add, other, alpha)

    def sub_(self: Tensor, other: Any, alpha: Scalar = 1) -> Tensor:
        return self._apply_inplace("sub_", np.subtract, other, alpha)

    def mul_(self: Tensor, other: Any) -> Tensor:
        return self._apply_inplace("mul_", np.multiply, other)

    def div_(self: Tensor, other: Any) -> Tensor:
        return self._apply_inplace("div_", np.divide, other)

    def copy_(self: Tensor, src: Any) -> Tensor:
        value = self._check_update("copy_", src)
        with self._inplace("copy_", src):
            np.copyto(self.data, value, casting="same_kind")
        return self

    def fill_(self: Tensor, value: Scalar) -> Tensor:
        with self._inplace("fill_"):
            self.data.fill(value)
        return self

    def zero_(self: Tensor) -> Tensor:
        return self.fill_(0)

    def clamp_(self: Tensor, min: Scalar | None = None, max: Scalar | None = None) -> Tensor:
        with self._inplace("clamp_"):
            np.clip(self.data, min, max, out=self.data)
        return self

    def __setitem__(self: Tensor, key: Any, value: Any) -> None:
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
    def _augmented(self: Tensor, name: str, other: Any, out_of_place: Any) -> Tensor:
        if _is_enabled() and self.grad_fn is not None:
            return out_of_place(self, other)
        return getattr(self, name)(other)

    def __iadd__(self: Tensor, other: Any) -> Tensor:
        return self._augmented("add_", other, type(self).__add__)

    def __isub__(self: Tensor, other: Any) -> Tensor:
        return self._augmented("sub_", other, type(self).__sub__)

    def __imul__(self: Tensor, other: Any) -> Tensor:
        return self._augmented("mul_", other, type(self).__mul__)

    def __itruediv__(self: Tensor, other: Any) -> Tensor:
        return self._augmented("div_", other, type(self).__truediv__)

    # -- for code written for PyTorch: added for issue 14 ------------------------------------

    def clamp_min_(self: Tensor, min: Scalar) -> Tensor:
        return self.clamp_(min=min)

    def clamp_max_(self: Tensor, max: Scalar) -> Tensor:
        return self.clamp_(max=max)


def _pickled(t: Any) -> tuple[str, ...]:
    """What pickle keeps of a tensor: its slots, less the counter (kept as a number)."""
    from tinygrad_sm.core.tensor import Tensor

    return tuple(k for k in Tensor.__slots__ if k not in ("_counter", "__weakref__", "__dict__"))


def zero_grads(params: Any, set_to_none: bool = True) -> None:
    """Forget the gradients of ``params``: ``Module.zero_grad`` and ``Optimizer.zero_grad``.
    Set ``.grad`` to None (the default, as in PyTorch), or fill it with zeros in place,
    which bumps its version, so that a graph that saved the gradient is caught."""
    for p in params:
        g = p.grad  # (a property: read once)
        if g is None:
            continue
        if set_to_none:
            p.grad = None
        elif g.requires_grad:  # a recorded gradient (create_graph): never write into it
            p.grad = p._make(np.zeros_like(g.data))
        else:
            with g._inplace("zero_grad"):
                g.data.fill(0)
