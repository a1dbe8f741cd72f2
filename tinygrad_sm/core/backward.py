"""The backward pass: walk the graph from the outputs to the leaves, calling each op's
``backward`` once, with the sum of every gradient that reached its output.

When may an op run? Only once all of its output's consumers have sent their gradients.
Ops are numbered as they are recorded (``Function.seq``), and a consumer is always
recorded after what it consumes, so taking the ops newest first is a topological order:
a heap on -seq finds it as the walk goes, with no recursion (a graph of a million ops is
fine) and no sort of the whole graph up front.

``walk`` is written once and serves three masters: ``backward`` accumulates into
``.grad``, ``autograd.grad`` captures the gradients asked for, ``viz`` watches each step.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from heapq import heappop, heappush
from typing import Any

import numpy as np

from tinygrad_sm.core.grad_mode import _GradMode
from tinygrad_sm.core.tensor import Tensor


def walk(roots: Sequence[Tensor], seeds: Sequence[Tensor], retain_graph: bool = False,
         create_graph: bool = False, pending: dict[Tensor, Tensor] | None = None,
         sent: list[Sequence[Tensor | None]] | None = None,
         ) -> Iterator[tuple[Tensor, Tensor]]:
    """Yield ``(tensor, its complete gradient)`` for every tensor that the roots depend
    on and that requires grad, each once its op has run: outputs before inputs, the
    leaves last. ``pending`` (pass a dict to watch it) holds the partial sums so far;
    ``sent`` (pass a list) gets each op's gradients for its inputs as the op runs."""
    pending = {} if pending is None else pending
    ready: list[tuple[int, int, Tensor]] = []  # heap of (-seq, id, op output): newest first
    stand_ins: dict[Tensor, Tensor] = {}  # what release swapped each tensor for
    for root, seed in zip(roots, seeds):
        _send(pending, ready, root, seed)
    with _GradMode(create_graph):  # record the backward pass only if asked
        while ready:
            t = heappop(ready)[2]
            g = pending.pop(t)  # complete: every consumer of t is newer, so has run
            fn = t.grad_fn
            grads = fn.run_backward(g, create_graph)
            if sent is not None:
                sent.append(grads)
            for inp, gi in zip(fn.inputs, grads):
                if gi is not None and inp._requires_grad:  # (.requires_grad, without a call)
                    if gi.data.dtype is not inp.data.dtype or gi.data.shape != inp.data.shape:
                        gi = fn.fitted(inp, gi)  # as PyTorch: a gradient has its input's dtype
                    _send(pending, ready, inp, gi)
            if not retain_graph:
                fn.release(stand_ins)  # free what only backward needed
            yield t, g
        while pending:  # only leaves are left, with their complete gradients
            yield pending.popitem()


def _send(pending: dict[Tensor, Tensor], ready: list[tuple[int, int, Tensor]], t: Tensor,
          g: Tensor) -> None:
    """Add ``g`` to the gradient waiting at ``t``: a tensor used twice gets the sum."""
    prev = pending.get(t)
    if prev is not None:
        pending[t] = prev + g
        return
    pending[t] = g
    if t.grad_fn is not None:  # (the id breaks ties, never met unless a tensor was copied:
        heappush(ready, (-t.grad_fn.seq, id(t), t))  # comparing tensors would raise)


def backward(roots: Sequence[Tensor], gradients: Sequence[Any], retain_graph: bool = False,
             create_graph: bool = False) -> None:
    """Accumulate into ``.grad`` of every leaf that requires grad (and of every tensor
    that called ``retain_grad``) the gradient of the roots with respect to it."""
    seeds = [seed(r, g, "backward") for r, g in zip(roots, gradients)]
    handed = {id(s.data) for s in seeds}  # arrays a .grad must not take (see _accumulate)
    with _GradMode(create_graph):  # (so that accumulating is recorded exactly when asked)
        for t, g in walk(roots, seeds, retain_graph, create_graph):
            if t.grad_fn is None or t._retains_grad:
                _accumulate(t, g, create_graph, handed)


def _accumulate(t: Tensor, g: Tensor, create_graph: bool, handed: set[int]) -> None:
    """Add ``g`` into ``t.grad``: the first time by taking the array, later in place.

    ``.grad`` must own its array, because optimizers update it in place: an array that is
    a view (of a broadcast, say) or that another ``.grad`` already holds (``a + b`` hands
    the same gradient to both) is copied first."""
    if t.grad is None:
        if create_graph:
            t.grad = g
            return
        a = g.data
        if id(a) in handed or a.base is not None or not a.flags.writeable:
            g = Tensor._make(a.copy())
        handed.add(id(g.data))
        t.grad = g
    elif create_graph or t.grad.requires_grad:
        t.grad = t.grad + g
    else:
        np.add(t.grad.data, g.data, out=t.grad.data)


def seed(root: Tensor, gradient: Any, where: str) -> Tensor:
    """The gradient that starts backward at ``root``: 1 for a scalar, else as given."""
    if not root.requires_grad:
        raise RuntimeError(
            f"{where}: this tensor does not require grad and has no grad_fn: nothing to "
            "differentiate (set requires_grad=True on an input, outside no_grad)"
        )
    if gradient is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"{where}: grad can be implicitly created only for scalar outputs; this "
                f"tensor has shape {root.shape}: pass gradient= a tensor of that shape"
            )
        # (np.array is much cheaper than np.ones, which matters for a backward of few ops)
        return Tensor._make(np.array(1, root.dtype) if root.ndim == 0 else
                            np.ones(root.shape, root.dtype))
    g = gradient if isinstance(gradient, Tensor) else Tensor(gradient, dtype=root.dtype)
    if g.shape != root.shape:
        raise RuntimeError(
            f"{where}: gradient has shape {g.shape} but the tensor has shape {root.shape}"
        )
    return g if g.dtype == root.dtype else g.to(root.dtype)  # (a float32 root: float32 grads)
