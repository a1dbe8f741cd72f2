"""Gradients as values: ``grad``, ``jacobian`` and ``hessian``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tinygrad_sm.core.backward import seed, walk
from tinygrad_sm.core.pytorch_api import stack
from tinygrad_sm.core.tensor import Tensor


def _as_tuple(x: Tensor | Sequence[Tensor]) -> tuple[Tensor, ...]:
    return (x,) if isinstance(x, Tensor) else tuple(x)


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """The gradients of ``outputs`` with respect to ``inputs``, as a tuple, without
    touching any ``.grad`` (``torch.autograd.grad``). With ``create_graph=True`` the
    results are themselves differentiable."""
    outs, ins = _as_tuple(outputs), _as_tuple(inputs)
    gouts = (None,) * len(outs) if grad_outputs is None else _as_tuple(grad_outputs)
    if len(gouts) != len(outs):
        raise ValueError(f"grad: got {len(gouts)} grad_outputs for {len(outs)} outputs")
    for i, t in enumerate(ins):
        if not t.requires_grad:
            raise RuntimeError(f"grad: input {i} (shape {t.shape}) does not require grad")
    retain = create_graph if retain_graph is None else retain_graph
    seeds = [seed(t, g, "grad") for t, g in zip(outs, gouts)]
    wanted = set(ins)
    found = {t: g for t, g in walk(outs, seeds, retain, create_graph) if t in wanted}
    result = tuple(found.get(t) for t in ins)
    for i, g in enumerate(result):
        if g is None and not allow_unused:
            raise RuntimeError(
                f"grad: input {i} (shape {ins[i].shape}) was not used to compute the "
                "outputs; pass allow_unused=True to get None for it"
            )
    return result


def jacobian(f: Callable[[Tensor], Tensor], x: Tensor, create_graph: bool = False) -> Tensor:
    """The Jacobian of ``f`` at ``x``, of shape ``f(x).shape + x.shape``: one backward
    pass per output entry."""
    x = x.detach().requires_grad_() if not create_graph else x
    y = f(x)
    if not y.requires_grad:  # f does not depend on x (e.g. the gradient of a linear f)
        return Tensor._make(np.zeros(y.shape + x.shape, y.dtype))
    rows = []
    for k in range(y.data.size):
        onehot = np.zeros(y.data.size, y.dtype)
        onehot[k] = 1
        (g,) = grad(y, x, Tensor._make(onehot.reshape(y.shape)), retain_graph=True,
                    create_graph=create_graph, allow_unused=True)
        rows.append(g if g is not None else Tensor._make(np.zeros(x.shape, x.dtype)))
    return stack(rows).reshape(y.shape + x.shape)


def hessian(f: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """The Hessian of a scalar function ``f`` at ``x``, of shape ``x.shape + x.shape``:
    the Jacobian of the gradient, built with ``create_graph=True``."""
    x = x.detach().requires_grad_()

    def gradient(z: Tensor) -> Tensor:
        (g,) = grad(f(z), z, create_graph=True)
        return g

    return jacobian(gradient, x, create_graph=True).detach()
