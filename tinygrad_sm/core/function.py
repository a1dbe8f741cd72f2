"""``Function``: the base class of every recorded operation.

An op is one small class. ``forward`` computes on NumPy arrays; ``backward`` receives the
gradient of the loss with respect to the op's output (a Tensor) and returns one gradient
per input, written with Tensor operations, so that a backward pass can itself be recorded
and differentiated again (``create_graph=True``).

``Op.apply(*tensors, **options)`` runs forward and, when grad mode is on and some input
requires grad, records the op: the output's ``grad_fn`` is the op, and the op keeps its
``inputs``, which is all the engine needs to walk the graph backwards.
"""

from __future__ import annotations

import itertools
import re
import weakref
from typing import Any

import numpy as np

from tinygrad_sm.core import anomaly
from tinygrad_sm.core.grad_mode import _state
from tinygrad_sm.core.tensor import Tensor


class Function:
    """One node of the computation graph.

    Subclasses define ``forward(self, *arrays, **options) -> ndarray`` and
    ``backward(self, grad) -> tuple[Tensor | None, ...]``. Inside forward, ``self.inputs``
    holds the input Tensors; ``self.save_for_backward(*tensors)`` keeps those the backward
    needs (their versions are recorded, so an in-place change is caught). An op whose
    backward needs its own result sets ``save_output = True`` and reads ``self.output``.
    """

    name = "function"  # set from the class name, e.g. LogSoftmax -> "log_softmax"
    save_output = False
    # Optional, for the hottest ops: ``backward_numpy(self, grad: ndarray)``, the same rule
    # straight in NumPy (returning Tensors, as ``backward``). The engine calls it instead
    # of ``backward`` when the backward pass is not itself recorded (create_graph=False).
    backward_numpy: Any = None

    inputs: tuple[Tensor, ...]
    saved: tuple[Tensor, ...] | None
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

    # -- running an op -------------------------------------------------------------------

    @classmethod
    def apply(cls, *inputs: Tensor, **options: Any) -> Tensor:
        fn = cls()
        fn.inputs = inputs
        fn.saved = ()
        try:
            data = fn.forward(*[t.data for t in inputs], **options)
        except (ValueError, IndexError) as err:
            raise type(err)(fn.explain(err)) from None
        if type(data) is not np.ndarray:  # NumPy returns scalars from 0-d arithmetic
            data = np.asarray(data)
        if not _state.enabled:
            return Tensor._make(data)
        for t in inputs:  # (a plain loop: this is the hottest line of the engine)
            if t.requires_grad:
                break
        else:
            return Tensor._make(data)
        fn.versions = tuple([t._counter[0] for t in fn.saved]) if fn.saved else ()
        fn.options = options
        fn.seq = next(_numbering)
        out = Tensor._make(data, True, fn)
        if cls.save_output:
            fn._output = weakref.ref(out)
        fn.scope = _scope.current
        if anomaly._state.depth:  # (not anomaly.enabled(): a call costs, on every op)
            anomaly.check_forward(fn, out)
        return out

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

    def forward(self, *arrays: np.ndarray, **options: Any) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def backward(self, grad: Tensor) -> tuple[Tensor | None, ...]:
        raise NotImplementedError(f"{type(self).__name__}.backward")

    def explain(self, err: Exception) -> str:
        """The message for a forward failure; ops override it with a more precise one."""
        shapes = ", ".join(str(t.shape) for t in self.inputs)
        return f"{self.name}: {err} (input shapes {shapes})"

    # -- what backward may use -----------------------------------------------------------

    def save_for_backward(self, *tensors: Tensor) -> None:
        self.saved = tensors

    @property
    def saved_tensors(self) -> tuple[Tensor, ...]:
        if self.saved is None:
            raise self.freed_error()
        for t, version in zip(self.saved, self.versions):
            if t._counter[0] != version:  # (t._version, read directly: this runs per op)
                raise self.modified_error(t, version)
        return self.saved

    @property
    def output(self) -> Tensor:
        if self.saved is None:
            raise self.freed_error()
        out = self._output()
        if out is None:  # only the output itself could have kept it alive
            raise RuntimeError(f"{self.name}: its output was garbage-collected before backward")
        if out._version != 0:
            raise self.modified_error(out, 0)
        return out

    def release(self) -> None:
        """Free what backward needed; the links to the inputs stay, for drawing the graph."""
        self.saved = None
        self._output = None

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

    def __repr__(self) -> str:
        return f"<{type(self).__name__}Backward>"


class _Scope:
    """The module being run (set by nn.Module.__call__), recorded on each op so that a
    drawing can group ops by module. The core only stores it; it never imports nn."""

    current: Any = None


_scope = _Scope()
_numbering = itertools.count()
