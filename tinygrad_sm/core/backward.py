"""The backward pass: walk the graph from the outputs to the leaves, in reverse
topological order, calling each op's ``backward`` once with the sum of the gradients
that reached its output.

Ops are numbered as they are recorded, and backward takes them newest first from a heap:
no recursion, so a graph of a million ops backprops without RecursionError, in time
O(n log n) in its size (the heap holds only the ops waiting, one for a chain).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from heapq import heappop, heappush
from typing import Any

import numpy as np

from tinygrad_sm.core import anomaly
from tinygrad_sm.core.grad_mode import _GradMode
from tinygrad_sm.core.tensor import Tensor


def topological_order(roots: Sequence[Tensor]) -> list[Tensor]:
    """Every tensor that requires grad and that the roots depend on, outputs first."""
    # Ops are numbered as they run (Function.seq, as PyTorch's sequence_nr), and an op's
    # inputs exist before it runs, so sorting the ops' outputs by that number, newest
    # first, puts every tensor after all the tensors computed from it; the leaves go last.
    # Finding the tensors is a plain search with an explicit stack: no recursion.
    found = {r for r in roots if r.requires_grad}
    stack = list(found)
    while stack:
        fn = stack.pop().grad_fn
        if fn is not None:
            for inp in fn.inputs:
                if inp.requires_grad and inp not in found:
                    found.add(inp)
                    stack.append(inp)
    leaves = [t for t in found if t.grad_fn is None]
    found.difference_update(leaves)
    return sorted(found, key=_newest, reverse=True) + leaves


_newest = operator.attrgetter("grad_fn.seq")


def _seed(root: Tensor, gradient: Any, where: str) -> Tensor:
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
    return g


def run_backward(
    roots: Sequence[Tensor],
    gradients: Sequence[Any],
    retain_graph: bool,
    create_graph: bool,
    capture: Sequence[Tensor] | None = None,
    where: str = "backward",
    observe: Callable[[Any, Sequence[Tensor | None]], None] | None = None,
) -> dict[Tensor, Tensor]:
    """Propagate gradients from ``roots``. Without ``capture``, accumulate into ``.grad``
    of the leaves (and of tensors that ``retain_grad``); with it, touch no ``.grad`` and
    return the gradients of the captured tensors. ``observe(op, grads)``, if given, sees
    each op's gradients for its inputs as the op is processed (viz draws these steps)."""
    pending: dict[Tensor, Tensor] = {}  # gradient summed so far, per tensor
    ready: list[tuple[int, int, Tensor]] = []  # heap of (-seq, id, tensor): newest first
    handed: set[int] = set()  # ids of arrays a .grad must not take: the user's, or taken
    for root, grad in zip(roots, gradients):
        g = _seed(root, grad, where)
        handed.add(id(g.data))
        _send(pending, ready, root, g)
    wanted = None if capture is None else set(capture)
    captured: dict[Tensor, Tensor] = {}
    check = anomaly.enabled()
    with _GradMode(create_graph):  # record the backward pass only if asked
        # An op's gradient is complete once every newer op has run, so taking the ops
        # newest first (a heap on -seq) is a topological order, found as we go.
        while ready:
            t = heappop(ready)[2]
            g = pending.pop(t)
            if wanted is None:
                if t._retains_grad:
                    _accumulate(t, g, create_graph, handed)
            elif t in wanted:
                captured[t] = g
            fn = t.grad_fn
            if fn.saved is None:
                raise fn.freed_error()
            numpy_rule = None if create_graph else fn.backward_numpy
            grads = fn.backward(g) if numpy_rule is None else numpy_rule(g.data)
            if check:
                anomaly.check_backward(fn, g, grads)
            for inp, gi in zip(fn.inputs, grads):
                if gi is None or not inp.requires_grad:
                    continue
                if gi.data.shape != inp.data.shape:
                    raise _shape_error(fn, grads)
                _send(pending, ready, inp, gi)
            if observe is not None:
                observe(fn, grads)
            if not retain_graph:
                fn.release()
        for t, g in pending.items():  # only leaves are left, with their complete gradients
            if wanted is None:
                _accumulate(t, g, create_graph, handed)
            elif t in wanted:
                captured[t] = g
    return captured


def _send(pending: dict[Tensor, Tensor], ready: list[tuple[int, int, Tensor]], t: Tensor,
          g: Tensor) -> None:
    """Add ``g`` to the gradient waiting at ``t``; a new op output joins the heap."""
    prev = pending.get(t)
    if prev is not None:
        pending[t] = prev + g
        return
    pending[t] = g
    if t.grad_fn is not None:  # (the id breaks ties, never met unless a tensor was copied:
        heappush(ready, (-t.grad_fn.seq, id(t), t))  # comparing tensors would raise)


def _shape_error(fn: Any, grads: Sequence[Tensor | None]) -> RuntimeError:
    """For authors of new ops: a backward rule returned a gradient of the wrong shape."""
    for i, (inp, gi) in enumerate(zip(fn.inputs, grads)):
        if gi is not None and gi.shape != inp.shape:
            return RuntimeError(f"{fn.name}: backward returned a gradient of shape {gi.shape} "
                                f"for input {i} of shape {inp.shape}")
    return RuntimeError(f"{fn.name}: backward returned gradients of the wrong shape")


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


def backward(roots: Sequence[Tensor], gradients: Sequence[Any], retain_graph: bool = False,
             create_graph: bool = False) -> None:
    run_backward(roots, gradients, retain_graph, create_graph)
