"""What the graph keeps of an intermediate tensor once backward has freed it.

A loss kept after backward (``losses.append(loss)``) keeps its graph alive, and each op
holds the tensors it read. Those of the model (parameters, the batch) are the user's;
but an intermediate result (an activation) is held by the graph alone, so backward
without ``retain_graph`` swaps it, in each op that read it, for a ``Released`` stand-in:
its shape, dtype, name and the op that made it, which is all a drawing needs, and no
data. The tensor itself is not changed: whoever still holds it keeps its values (as in
PyTorch, whose graph never holds tensors, only what backward saved).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_sm.core.tensor import Tensor

# Smaller arrays stay: their stand-in would cost about as much as they do, and a chain
# of many tiny ops (the step benchmark's case 3) would pay for it on every op.
MIN_BYTES = 1024


class Released(Tensor):
    """An intermediate tensor, as an op released by backward remembers it."""

    __slots__ = ("_shape", "_dtype")

    @staticmethod
    def of(t: Tensor) -> Released:
        r = object.__new__(Released)
        r._shape, r._dtype, r.grad_fn = t.data.shape, t.data.dtype, t.grad_fn
        r._requires_grad, r.name, r._grad = t._requires_grad, t.name, None
        r._counter, r._retains_grad = t._counter, False
        return r

    @property
    def data(self) -> Any:
        raise RuntimeError(
            f"this {self.dtype} tensor of shape {tuple(self.shape)} (made by "
            f"{self.grad_fn.name}) was released by backward: the graph keeps no "
            "intermediate values after backward; call backward(retain_graph=True), or "
            "keep a reference to the tensor itself"
        )

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def ndim(self) -> int:
        return len(self._shape)

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    # Pickled (and deep-copied) as what it is: no data to read.
    def __getstate__(self) -> dict[str, Any]:
        return {"_shape": self._shape, "_dtype": self._dtype, "grad_fn": self.grad_fn,
                "name": self.name, "_requires_grad": self._requires_grad}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for k, v in state.items():
            setattr(self, k, v)
        self._grad, self._counter, self._retains_grad = None, [0], False

    def __repr__(self) -> str:
        return f"<released tensor of shape {tuple(self._shape)} {self._dtype}, " \
               f"grad_fn={self.grad_fn!r}>"


def released(inputs: tuple[Tensor, ...], memo: dict[Tensor, Released]) -> tuple[Tensor, ...]:
    """``inputs`` with each large intermediate tensor swapped for its stand-in (one per
    tensor: ``memo`` hands the same one to every op that read it). Leaves stay, and so do
    tensors that retain their gradient (the user asked to see it)."""
    out = list(inputs)
    for i, t in enumerate(inputs):
        if t.grad_fn is not None and t.data.nbytes >= MIN_BYTES and not t._retains_grad:
            r = memo.get(t)
            out[i] = memo[t] = Released.of(t) if r is None else r
    return tuple(out)
