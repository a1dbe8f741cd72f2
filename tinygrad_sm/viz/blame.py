"""Which op's backward is wrong? Gradcheck each op of a graph on its own inputs.

When ``gradcheck`` fails on a composite function f = op_n(... op_1(x)), the chain rule
multiplies the ops' Jacobians, so one wrong factor spoils the product without saying
which. Each op node remembers its inputs and options, so it can be re-run alone:

    type(node).apply(*float64 copies of node.inputs, **node.options)

and gradchecked against finite differences. The ops that fail are returned; draw them
with ``draw_graph(out, mark=find_wrong_ops(out))``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tinygrad_sm.autograd import gradcheck
from tinygrad_sm.core.function import Function
from tinygrad_sm.core.released import Released, live
from tinygrad_sm.core.rng import get_rng_state, set_rng_state
from tinygrad_sm.core.tensor import Tensor
from tinygrad_sm.viz.graph import collect


def _float64(v: Any) -> Any:
    """A float dtype option becomes float64 (a Cast to float32 would ruin the check)."""
    is_dtype = isinstance(v, np.dtype) or (isinstance(v, type) and issubclass(v, np.generic))
    return np.float64 if is_dtype and np.dtype(v).kind == "f" else v


def check_op(node: Function, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
             fast_mode: bool | None = None) -> str | None:
    """None if ``node``'s backward agrees with finite differences on (float64 copies of)
    its recorded inputs, else the gradcheck report. ``fast_mode=None`` uses the random
    projection check when an input or the output has more than 64 elements."""
    inputs = [live(t) for t in node.inputs]
    if any(isinstance(t, Released) for t in inputs):
        raise RuntimeError(
            f"check_op: {node.name} read a tensor that backward has released (the graph "
            "keeps no values after backward); check the graph before calling backward, or "
            "call backward(retain_graph=True)")
    copies = [Tensor._make(t.data.astype(np.float64), t.requires_grad)
              if t.dtype.kind == "f" else t for t in inputs]
    if not any(t.requires_grad for t in copies):
        return None
    options = {k: _float64(v) for k, v in getattr(node, "options", {}).items()}
    op = type(node)
    try:
        if fast_mode is None:
            sizes = [t.data.size for t in copies] + [op.apply(*copies, **options).data.size]
            fast_mode = max(sizes) > 64
        gradcheck(lambda *xs: op.apply(*xs, **options), copies, eps=eps, atol=atol, rtol=rtol,
                  fast_mode=fast_mode)
    except Exception as err:  # a mismatch, or a backward that crashes: either way, wrong
        return f"{type(err).__name__}: {err}"
    return None


def find_wrong_ops(fn_or_root: Callable[..., Tensor] | Tensor,
                   inputs: Sequence[Tensor] | None = None, *, eps: float = 1e-6,
                   atol: float = 1e-5, rtol: float = 1e-3, fast_mode: bool | None = None,
                   verbose: bool = False) -> list[Function]:
    """The op nodes of a graph whose backward disagrees with finite differences.

    Pass the graph's output tensor, or a function and its inputs (it is called once to
    record the graph). Ops are checked one by one on float64 copies of their recorded
    inputs, in the graph's node order (from the output back); ``verbose`` prints each
    failure's gradcheck table. Draw the result with ``draw_graph(out, mark=...)``.
    The package RNG state is restored afterwards (fast mode draws random vectors).

    Finite differences cannot see a derivative at a kink: an op evaluated exactly at one
    (relu at 0, abs at 0, tied maxima with unequal splits) may be reported although its
    rule is the documented subgradient."""
    if isinstance(fn_or_root, Tensor):
        if inputs is not None:
            raise TypeError("find_wrong_ops: pass either an output tensor or fn and inputs")
        root = fn_or_root
    else:
        if inputs is None:
            raise TypeError("find_wrong_ops: a function needs its inputs")
        root = fn_or_root(*inputs)
    state = get_rng_state()
    wrong = []
    try:
        for node in collect(root).nodes:
            if not isinstance(node, Function):
                continue
            report = check_op(node, eps, atol, rtol, fast_mode)
            if report is not None:
                wrong.append(node)
                if verbose:
                    print(f"find_wrong_ops: {node.name} "
                          f"(inputs {', '.join(str(t.shape) for t in node.inputs)}):\n{report}")
    finally:
        set_rng_state(state)
    return wrong
