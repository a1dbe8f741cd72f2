"""``Function``: the base class of every recorded operation.

An op is one small class. ``forward`` computes on NumPy arrays; ``backward`` receives the
gradient of the loss with respect to the op's output (a Tensor) and returns one gradient
per input, written with Tensor operations, so that a backward pass can itself be recorded
and differentiated again (``create_graph=True``). Returning None for an input means "no
gradient needed": the ops do that for inputs that do not require grad.

``Op.apply(*tensors, **options)`` runs forward and, when grad mode is on and some input
requires grad, records the op: the output's ``grad_fn`` is the op, and the op keeps its
``inputs``, which is all the backward walk needs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_sm.core.bookkeeping import Bookkeeping
from tinygrad_sm.core.grad_mode import _is_enabled
from tinygrad_sm.core.tensor import Tensor


class Function(Bookkeeping):
    """One node of the computation graph.

    Subclasses define ``forward(self, *arrays, **options) -> ndarray`` and
    ``backward(self, grad) -> tuple[Tensor | None, ...]``. Inside forward, ``self.inputs``
    holds the input Tensors; ``self.save_for_backward(*tensors)`` keeps those the backward
    needs. An op whose backward needs its own result sets ``save_output = True`` and reads
    ``self.output``.
    """

    inputs: tuple[Tensor, ...]

    @classmethod
    def apply(cls, *inputs: Tensor, **options: Any) -> Tensor:
        fn = cls()
        fn.inputs, fn.saved = inputs, ()
        try:
            data = fn.forward(*[t.data for t in inputs], **options)
        except (ValueError, IndexError) as err:  # say which op failed, and on what
            raise type(err)(fn.explain(err)) from None
        if type(data) is not np.ndarray:  # NumPy returns scalars from 0-d arithmetic
            data = np.asarray(data)
        for t in inputs:  # record the op if backward can reach it through some input
            if t._requires_grad and _is_enabled():  # (t.requires_grad, read without a call)
                return fn.record(data, options)  # the output, with grad_fn = fn
        return Tensor._make(data)

    def forward(self, *arrays: np.ndarray, **options: Any) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def backward(self, grad: Tensor) -> tuple[Tensor | None, ...]:
        raise NotImplementedError(f"{type(self).__name__}.backward")

    def save_for_backward(self, *tensors: Tensor) -> None:
        self.saved = tensors

    @property
    def saved_tensors(self) -> tuple[Tensor, ...]:
        """What forward saved, once sure that backward may use it: not freed by an earlier
        backward, and not modified in place since forward (its version is the same)."""
        if self.saved is None:
            raise self.freed_error()
        for t, version in zip(self.saved, self.versions):
            if t._counter[0] != version:
                raise self.modified_error(t, version)
        return self.saved

    @property
    def output(self) -> Tensor:
        """The op's own output (for ops with ``save_output = True``)."""
        return self.checked_output()
