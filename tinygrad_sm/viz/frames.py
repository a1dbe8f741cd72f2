"""``backward_frames``: one drawing per step of the backward pass, to page through.

Backward visits the ops in reverse topological order (``tinygrad_sm.core.backward``). At
each step the op receives dL/d(its output), the sum of what its consumers sent, and
sends dL/d(input) = backward(dL/d(output)) to each input. The frames replay that walk
without touching any ``.grad``: frame 0 shows the seed dL/dL = 1 at the output, frame k
the k-th op being processed (magenta, with the edges its gradients flow along) and every
gradient known after it, partial sums included; ``?`` marks a gradient not yet known.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tinygrad_sm.core.backward import seed, walk
from tinygrad_sm.core.function import Function
from tinygrad_sm.core.tensor import Tensor
from tinygrad_sm.viz.graph import GRAPH_NAME, _Drawing, topological_order
from tinygrad_sm.viz.render import digraph_class


@dataclass
class BackwardStep:
    """One step of the backward pass: the op processed (None for the seed), every
    gradient known after it by ``id(tensor)`` (partial sums included), and the gradient
    the op sent to each of its inputs (None where it sent none)."""

    op: Function | None
    known: dict[int, np.ndarray]
    sent: tuple[np.ndarray | None, ...] = ()


def backward_trace(root: Tensor, gradient: Any = None, where: str = "backward_frames",
                   ) -> list[BackwardStep]:
    """The seed and each step of the engine's own backward pass, recorded as it happens.

    Backward runs retaining the graph and touching no ``.grad``. Needs the graph's saved
    tensors: call it before ``root.backward()`` (or after ``backward(retain_graph=True)``).
    ``where`` names the caller in errors."""
    start = seed(root, gradient, where)  # (the walk's: 1 for a scalar root)
    todo = "draw the frames" if where == "backward_frames" else f"call {where}"
    for t in topological_order([root]):  # (the walk would say so too, less helpfully)
        if t.grad_fn is not None and t.grad_fn.saved is None:
            raise RuntimeError(
                f"{where}: the graph was freed by backward ({t.grad_fn.name} has no saved "
                f"tensors); {todo} before calling backward, or call "
                "backward(retain_graph=True)")
    known: dict[int, np.ndarray] = {id(root): start.data}
    steps = [BackwardStep(None, dict(known))]
    pending: dict[Tensor, Tensor] = {}  # the walk's partial sums, watched after each op
    sent: list[Any] = []  # and what each op sent to its inputs
    for t, g in walk([root], [start], retain_graph=True, pending=pending, sent=sent):
        if t.grad_fn is None:  # only leaves are left: every op has run
            break
        known[id(t)] = g.data
        known.update({id(k): v.data for k, v in pending.items()})
        grads = tuple(None if gi is None or not inp.requires_grad else gi.data
                      for inp, gi in zip(t.grad_fn.inputs, sent[-1]))
        steps.append(BackwardStep(t.grad_fn, dict(known), grads))
    return steps


def backward_steps(root: Tensor, gradient: Any = None,
                   ) -> list[tuple[Function | None, dict[int, np.ndarray]]]:
    """(op processed, gradients known so far by ``id(tensor)``) for the seed and each step.

    The engine's own backward pass runs (retaining the graph, touching no ``.grad``) and
    each step is recorded as it happens. Needs the graph's saved tensors: call it before
    ``root.backward()`` (or after ``backward(retain_graph=True)``)."""
    return [(s.op, s.known) for s in backward_trace(root, gradient)]


def _frames(root: Tensor, params: Any, gradient: Any, draw_kwargs: dict[str, Any]
            ) -> list[_Drawing]:
    draw_kwargs.setdefault("show_backward", True)
    steps = backward_steps(root, gradient)
    frames = []
    for k, (fn, known) in enumerate(steps):
        title = ("step 0: the seed dL/dL = 1 at the output" if fn is None
                 else f"step {k} of {len(steps) - 1}: {fn.name} backward")
        frames.append(_Drawing(root, params, grads=known, current=fn, title=title,
                               placeholder_grads=True, **draw_kwargs))
    return frames


def backward_frames(root: Tensor, out_dir: str | Path, params: Any = None, *,
                    gradient: Any = None, format: str = "svg", **draw_kwargs: Any) -> list[Path]:
    """Write ``step_000.svg`` (the seed) and one file per op that backward processes
    (``step_001.svg``, ...) into ``out_dir``; return their paths.

    ``params`` and ``draw_kwargs`` are those of ``draw_graph`` (``show_backward``
    defaults to True here). Needs the Graphviz ``dot`` program, and a graph that backward
    has not freed yet: call it before ``loss.backward()``. No ``.grad`` is touched."""
    out = Path(out_dir)
    frames = _frames(root, params, gradient, draw_kwargs)
    out.mkdir(parents=True, exist_ok=True)
    digraph = digraph_class()
    paths = []
    for k, frame in enumerate(frames):
        path = out / f"step_{k:03d}.{format}"
        path.write_bytes(digraph(GRAPH_NAME, body=frame.lines()).pipe(format=format))
        paths.append(path)
    return paths


def frame_sources(root: Tensor, params: Any = None, *, gradient: Any = None,
                  **draw_kwargs: Any) -> list[str]:
    """The DOT text of each frame that ``backward_frames`` renders; needs no Graphviz."""
    return [f"digraph {GRAPH_NAME} {{\n" + "".join(f.lines()) + "}\n"
            for f in _frames(root, params, gradient, draw_kwargs)]
