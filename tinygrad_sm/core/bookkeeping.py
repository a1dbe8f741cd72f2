"""What ``Function`` does besides the textbook: errors that name the op, the record kept
for a recorded op (versions of the saved tensors, its number, a weak reference to its
output, the module it ran in, anomaly checks), freeing it after backward, and pickling.

``Bookkeeping`` is the base class of ``Function``; ``record`` runs only for an op that
is recorded, and ``run_backward`` once per op in the backward walk.
"""

from __future__ import annotations

import itertools
import re
import threading
import weakref
from typing import TYPE_CHECKING, Any

import numpy as np

from tinygrad_sm.core import anomaly
from tinygrad_sm.core.released import MIN_BYTES, released

if TYPE_CHECKING:
    from tinygrad_sm.core.tensor import Tensor


class Bookkeeping:
    name = "function"  # set from the class name, e.g. LogSoftmax -> "log_softmax"
    save_output = False
    # Optional, for the hottest fused ops: ``backward_numpy(self, grad: ndarray)``, the same
    # rule straight in NumPy (returning Tensors, as ``backward``). The walk calls it instead
    # of ``backward`` when the backward pass is not itself recorded (create_graph=False).
    backward_numpy: Any = None

    inputs: tuple[Tensor, ...]
    saved: tuple[Tensor, ...] | None
    versions: tuple[int, ...]  # of the saved tensors, when the op was recorded
    options: dict[str, Any]  # the keyword options forward ran with (to re-run the op)
    scope: Any = None  # the innermost nn.Module running when the op was created
    seq: int  # ops are numbered as they are recorded; backward runs them newest first

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            # CamelCase to snake_case, keeping acronyms whole: LogSoftmax -> log_softmax,
            # GELU -> gelu, SiLU -> si_lu
            cls.name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_",
                              cls.__name__).lower()

    # -- forward ---------------------------------------------------------------------------

    def explain(self, err: Exception) -> str:
        """The message for a forward failure; ops override it with a more precise one."""
        shapes = ", ".join(str(t.shape) for t in self.inputs)
        return f"{self.name}: {err} (input shapes {shapes})"

    def record(self, data: np.ndarray, options: dict[str, Any]) -> Tensor:
        """Record this op as the maker of a new tensor holding ``data``; return it."""
        self.versions = tuple([t._counter[0] for t in self.saved]) if self.saved else ()
        self.options = options
        self.seq = next(_numbering)
        out = self.inputs[0]._make(data, True, self)  # (Tensor._make, reached without an import)
        if self.save_output:
            self._output = weakref.ref(out)  # (weak: the output refers to this op already)
        self.scope = _scope.current
        if anomaly._state.depth:  # (not anomaly.enabled(): a call costs, on every op)
            anomaly.check_forward(self, out)
        return out

    # -- backward --------------------------------------------------------------------------

    def run_backward(self, grad: Tensor, create_graph: bool) -> tuple[Tensor | None, ...]:
        """``backward(grad)`` as the walk calls it: refused once freed, in NumPy where the
        op has such a path and nothing records, checked under anomaly mode for nan and inf.
        (The walk then checks each gradient's shape and dtype: see ``fitted``.)"""
        if self.saved is None:
            raise self.freed_error()
        numpy_rule = None if create_graph else self.backward_numpy
        grads = self.backward(grad) if numpy_rule is None else numpy_rule(grad.data)
        if anomaly._state.depth:
            anomaly.check_backward(self, grad, grads)
        return grads

    def fitted(self, inp: Tensor, grad: Tensor) -> Tensor:
        """``grad`` cast to the dtype of ``inp``, as PyTorch's (a float32 input gets a
        float32 gradient, whatever the mixed-dtype ops after it computed in). A wrong shape
        is a bug in a backward rule: its author gets an error."""
        if grad.shape != inp.shape:
            i = next(i for i, t in enumerate(self.inputs) if t is inp)
            raise RuntimeError(f"{self.name}: backward returned a gradient of shape "
                               f"{grad.shape} for input {i} of shape {inp.shape}")
        # (some NumPy arrays carry an equal copy of a dtype, not the same object: no cast)
        return grad if grad.dtype == inp.dtype else grad.to(inp.dtype)

    def checked_output(self) -> Tensor:
        if self.saved is None:
            raise self.freed_error()
        out = self._output()
        if out is None:  # only the output itself could have kept it alive
            raise RuntimeError(f"{self.name}: its output was garbage-collected before backward")
        if out._version != 0:
            raise self.modified_error(out, 0)
        return out

    def release(self, memo: dict[Tensor, Tensor]) -> None:
        """Free what backward needed: the saved tensors; and, if the op read a tensor of
        1 KiB or more, its inputs (each but the parameters swapped for a stand-in with no
        data: see released.py; ``memo`` gives each tensor one) and the arrays it kept of
        its own, such as a mask. The links stay, for drawing the graph."""
        self.saved = None
        self._output = None
        for t in self.inputs:
            if t.data.nbytes >= MIN_BYTES:  # (the cheap test first)
                self.inputs = released(self.inputs, memo)
                # (an op's own arrays are about as large as what it read; and reading
                # __dict__ costs, as Python then builds it: only here)
                for k in [k for k, v in self.__dict__.items() if type(v) is np.ndarray]:
                    del self.__dict__[k]
                break

    def freed_error(self) -> RuntimeError:
        return RuntimeError(
            f"{self.name}: trying to backward through the graph a second time (or directly "
            "access saved tensors after they have already been freed). Saved intermediate "
            "values of the graph are freed when you call .backward() or autograd.grad(). "
            "Specify retain_graph=True if you need to backward through the graph a second time."
        )

    def modified_error(self, t: Tensor, version: int) -> RuntimeError:
        return RuntimeError(
            f"{self.name}: one of the tensors it saved for backward (shape {t.shape}) was "
            f"modified by an in-place operation after the op ran (version {version} -> "
            f"{t._version}), so its gradient would be wrong. Use an out-of-place operation, "
            "or modify a .clone()."
        )

    # -- pickling ----------------------------------------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        # A weak reference cannot be pickled: keep the output itself (pickle and deepcopy
        # handle the cycle), and refer to it weakly again once loaded
        state = self.__dict__.copy()
        if state.get("_output") is not None:
            state["_output"] = state["_output"]()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        # An op unpickled (or deep-copied) keeps its number: later ops must get larger ones
        global _numbering
        self.__dict__.update(state)
        if state.get("_output") is not None:
            self._output = weakref.ref(state["_output"])
        if "seq" in state:
            _numbering = itertools.count(max(next(_numbering), state["seq"] + 1))

    def __repr__(self) -> str:
        return f"<{type(self).__name__}Backward>"


class _Scope(threading.local):
    """The module being run in this thread (set by nn.Module.__call__), recorded on each op
    so that a drawing can group ops by module. The core only stores it; it never imports nn."""

    current: Any = None


_scope = _Scope()
_numbering = itertools.count()
