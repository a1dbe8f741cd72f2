"""What the graph keeps of a tensor an op read, once backward has freed the op.

A loss kept after backward (``losses.append(loss)``) keeps its graph alive, and each op
holds the tensors it read: activations, masks, the batch. So backward without
``retain_graph`` swaps each of them (all but the parameters: leaves that require grad),
in each op that read it, for a ``Released`` stand-in: its shape, dtype, name and the op
that made it, which is all a drawing needs, and no data. The tensor itself is not
changed: whoever still holds it keeps its values, and the drawings find it again through
the stand-in (``live``). This is PyTorch's behaviour, whose graph holds only what
backward saved.
"""

from __future__ import annotations

import math
import weakref
from typing import Any

import numpy as np

from tinygrad_sm.core.tensor import Tensor

# Smaller arrays stay: their stand-in would cost about as much as they do, and a chain
# of many tiny ops (the step benchmark's case 3) would pay for it on every op.
MIN_BYTES = 1024


class Released(Tensor):
    """A tensor an op read, as the op remembers it once backward has released it."""

    __slots__ = ("_shape", "_dtype", "_origin")

    @staticmethod
    def of(t: Tensor) -> Released:
        r = object.__new__(Released)
        r._shape, r._dtype, r.grad_fn = t.data.shape, t.data.dtype, t.grad_fn
        r._requires_grad, r.name, r._grad = t._requires_grad, t.name, None
        r._counter, r._retains_grad = t._counter, False
        r._origin = weakref.ref(t)  # (weak: the point is to let it go)
        return r

    @property
    def data(self) -> Any:
        made = f"made by {self.grad_fn.name}" if self.grad_fn is not None else "a constant"
        raise RuntimeError(
            f"this {self.dtype} tensor of shape {tuple(self.shape)} ({made}) was released "
            "by backward: after backward the graph keeps no values but the parameters; "
            "call backward(retain_graph=True), or keep a reference to the tensor itself"
        )

    def numel(self) -> int:
        return math.prod(self._shape)

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def ndim(self) -> int:
        return len(self._shape)

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    # Pickled (and deep-copied) as what it is: no data to read, and no tensor behind it.
    def __getstate__(self) -> dict[str, Any]:
        return {"_shape": self._shape, "_dtype": self._dtype, "grad_fn": self.grad_fn,
                "name": self.name, "_requires_grad": self._requires_grad}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for k, v in state.items():
            setattr(self, k, v)
        self._grad, self._counter, self._retains_grad = None, [0], False
        self._origin = _gone

    def __repr__(self) -> str:
        return f"<released tensor of shape {tuple(self._shape)} {self._dtype}, " \
               f"grad_fn={self.grad_fn!r}>"


def _gone() -> None:
    return None


def releasable(t: Tensor) -> bool:
    """Whether an op that read ``t`` lets it go after backward: not a parameter (a leaf
    that requires grad), not a tensor that retains its gradient (the user asked to see
    it), and not small (see MIN_BYTES)."""
    return (t.data.nbytes >= MIN_BYTES and (t.grad_fn is not None or not t._requires_grad)
            and not t._retains_grad)


def released(inputs: tuple[Tensor, ...], memo: dict[Tensor, Released]) -> tuple[Tensor, ...]:
    """``inputs`` with each releasable tensor swapped for its stand-in (one per tensor:
    ``memo`` hands the same one to every op that read it)."""
    out = list(inputs)
    for i, t in enumerate(inputs):
        if releasable(t):
            r = memo.get(t)
            out[i] = memo[t] = Released.of(t) if r is None else r
    return tuple(out)


def live(t: Tensor) -> Tensor:
    """``t``, or for a stand-in the tensor it stands for while someone still holds that
    (a drawing then shows it, and finds it by the name or mark it was given)."""
    if type(t) is Released:
        origin = t._origin()
        return t if origin is None else origin
    return t
