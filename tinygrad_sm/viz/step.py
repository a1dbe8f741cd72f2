"""``draw_training_step``: the graph of one training step, gradients shown everywhere."""

from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_sm.core.tensor import Tensor
from tinygrad_sm.viz.graph import collect
from tinygrad_sm.viz.render import draw_graph


def draw_training_step(model: Any, loss_func: Any, xb: Any, yb: Any, **draw_kwargs: Any) -> Any:
    """Run ``loss_func(model(xb), yb)`` and its backward once, and draw the loss's graph.

    Every intermediate tensor keeps its gradient (``retain_grad``), so each node shows
    dL/d(node), not only the parameters; ops are grouped into a cluster per submodule
    (``params=model``). The model is left as it was: the parameters' ``.grad`` are
    restored afterwards, and no optimizer step is taken. ``draw_kwargs`` go to
    ``draw_graph`` (e.g. ``show_backward=True``, ``collapse=True``, ``rankdir='TB'``).
    Returns the ``graphviz.Digraph``."""
    xb = xb if isinstance(xb, Tensor) else Tensor(np.asarray(xb))  # yb goes as it is
    params = [p for _, p in model.named_parameters()]
    saved = [p.grad for p in params]
    try:
        for p in params:
            p.grad = None
        loss = loss_func(model(xb), yb)
        if not isinstance(loss, Tensor) or loss.data.size != 1:
            raise ValueError("draw_training_step: loss_func must return a scalar Tensor, got "
                             f"{getattr(loss, 'shape', type(loss).__name__)}")
        for node in collect(loss).nodes:
            if isinstance(node, Tensor) and node.grad_fn is not None:
                node.retain_grad()
        loss.backward()
        draw_kwargs.setdefault("params", model)
        draw_kwargs.setdefault("inputs", {"xb": xb, "yb": yb})
        draw_kwargs.setdefault("title", f"one training step: loss {loss.item():.4g}")
        return draw_graph(loss, **draw_kwargs)
    finally:
        for p, g in zip(params, saved):
            p.grad = g
