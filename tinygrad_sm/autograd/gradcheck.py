"""Check analytical gradients against central finite differences.

``gradcheck(fn, inputs)`` compares, for every input that requires grad, the Jacobian that
backward computes with (f(x + eps e_j) - f(x - eps e_j)) / (2 eps). ``gradgradcheck`` does
the same for the gradient function itself, which checks second derivatives. Same arguments
and defaults as PyTorch's; use float64 inputs, since float32 has too few digits for finite
differences.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tinygrad_sm.autograd.functional import grad
from tinygrad_sm.core.rng import get_rng
from tinygrad_sm.core.tensor import Tensor

Fn = Callable[..., Tensor | Sequence[Tensor]]


class GradcheckError(RuntimeError):
    """Analytical and numerical gradients disagree; the message tables the worst entries."""


def _outputs(fn: Fn, args: Sequence[Any]) -> tuple[Tensor, ...]:
    out = fn(*args)
    return (out,) if isinstance(out, Tensor) else tuple(out)


def _flat_outputs(fn: Fn, args: Sequence[Any]) -> np.ndarray:
    # Grad mode stays on: gradgradcheck's function calls grad() inside.
    outs = _outputs(fn, args)
    return np.concatenate([np.asarray(o.data, np.float64).ravel() for o in outs])


def _with(args: Sequence[Any], i: int, data: np.ndarray) -> list[Any]:
    """``args`` with input i replaced by a new leaf holding ``data``."""
    new = list(args)
    new[i] = Tensor._make(data, args[i].requires_grad)
    return new


def _numerical_column(fn: Fn, args: Sequence[Any], i: int, direction: np.ndarray,
                      eps: float) -> np.ndarray:
    """d outputs / d eps of fn(..., x_i + eps * direction, ...), by central differences."""
    x = args[i].data
    plus = _flat_outputs(fn, _with(args, i, x + eps * direction.astype(x.dtype)))
    minus = _flat_outputs(fn, _with(args, i, x - eps * direction.astype(x.dtype)))
    return (plus - minus) / (2 * eps)


def _analytical_rows(fn: Fn, args: Sequence[Any], wrt: list[int]) -> list[np.ndarray]:
    """For each checked input, its Jacobian as a (n_outputs, n_inputs) array."""
    outs = _outputs(fn, args)
    sizes = [o.data.size for o in outs]
    jac = [np.zeros((sum(sizes), args[i].data.size)) for i in wrt]
    row = 0
    for o, n in zip(outs, sizes):
        for k in range(n):
            if o.requires_grad:
                seed = np.zeros(n, o.dtype)
                seed[k] = 1
                gs = grad(o, [args[i] for i in wrt], Tensor._make(seed.reshape(o.shape)),
                          retain_graph=True, allow_unused=True)
                for j, g in enumerate(gs):
                    if g is not None:
                        jac[j][row] = g.data.ravel()
            row += 1
    return jac


def _report(fn_name: str, rows: list[tuple[int, Any, float, float]], atol: float,
            rtol: float, limit: int = 8) -> str:
    rows = sorted(rows, key=lambda r: -abs(r[2] - r[3]))
    lines = [
        f"{fn_name}: analytical and numerical gradients differ (atol={atol}, rtol={rtol}); "
        f"{len(rows)} mismatched entr{'y' if len(rows) == 1 else 'ies'}, worst first:",
        f"{'input':>5}  {'element':<16}{'analytical':>14}{'numerical':>14}"
        f"{'abs err':>11}{'rel err':>11}",
    ]
    for i, idx, a, n in rows[:limit]:
        err = abs(a - n)
        rel = err / max(abs(a), abs(n)) if max(abs(a), abs(n)) else 0.0
        lines.append(f"{i:>5}  {str(idx):<16}{a:>14.6g}{n:>14.6g}{err:>11.3g}{rel:>11.3g}")
    if len(rows) > limit:
        lines.append(f"  ... and {len(rows) - limit} more")
    return "\n".join(lines)


def _checked_inputs(inputs: Sequence[Any], what: str) -> list[int]:
    wrt = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not wrt:
        raise ValueError(f"{what}: no input requires grad; nothing to check")
    for i in wrt:
        if inputs[i].dtype != np.float64:
            warnings.warn(
                f"{what}: input {i} has dtype {inputs[i].dtype}, not float64; finite "
                "differences are unreliable in low precision. Use .double() on the inputs.",
                UserWarning, stacklevel=3,
            )
    return wrt


def gradcheck(
    fn: Fn,
    inputs: Tensor | Sequence[Any],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    fast_mode: bool = False,
) -> bool:
    """True if backward agrees with finite differences for every input that requires
    grad: |analytical - numerical| <= atol + rtol * |numerical| entrywise.

    ``fast_mode`` compares random projections v^T J u (one backward, two forwards per
    input) instead of whole Jacobians. On a mismatch raise ``GradcheckError`` with a table
    of the worst entries, or return False when ``raise_exception=False``."""
    args = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    wrt = _checked_inputs(args, "gradcheck")
    bad = (_fast_mismatches if fast_mode else _full_mismatches)(fn, args, wrt, eps, atol, rtol)
    if not bad:
        return True
    if raise_exception:
        raise GradcheckError(_report("gradcheck", bad, atol, rtol))
    return False


def _full_mismatches(fn, args, wrt, eps, atol, rtol):
    bad = []
    for j, analytical in zip(wrt, _analytical_rows(fn, args, wrt)):
        x = args[j].data
        for col, idx in enumerate(np.ndindex(*x.shape)):
            direction = np.zeros(x.shape)
            direction[idx] = 1
            numerical = _numerical_column(fn, args, j, direction, eps)
            for a, n in zip(analytical[:, col], numerical):
                if not abs(a - n) <= atol + rtol * abs(n):
                    bad.append((j, idx, float(a), float(n)))
    return bad


def _fast_mismatches(fn, args, wrt, eps, atol, rtol):
    rng = get_rng()
    outs = _outputs(fn, args)
    vs = [rng.standard_normal(o.shape) for o in outs]
    seeds = [Tensor._make(v.astype(o.dtype)) for v, o in zip(vs, outs)]
    usable = [(o, s) for o, s in zip(outs, seeds) if o.requires_grad]
    grads = grad([o for o, _ in usable], [args[j] for j in wrt], [s for _, s in usable],
                 allow_unused=True) if usable else [None] * len(wrt)
    v_flat = np.concatenate([v.ravel() for v in vs])
    bad = []
    for j, g in zip(wrt, grads):
        u = rng.standard_normal(args[j].shape)
        analytical = 0.0 if g is None else float(np.sum(g.data * u))
        numerical = float(v_flat @ _numerical_column(fn, args, j, u, eps))
        if not abs(analytical - numerical) <= atol + rtol * abs(numerical):
            bad.append((j, "v^T J u", analytical, numerical))
    return bad


def gradgradcheck(
    fn: Fn,
    inputs: Tensor | Sequence[Any],
    grad_outputs: Tensor | Sequence[Tensor] | None = None,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    fast_mode: bool = False,
) -> bool:
    """Gradcheck of the map (inputs, grad_outputs) -> vector-Jacobian products of ``fn``,
    which checks second derivatives. Random float64 ``grad_outputs`` are drawn when none
    are given, and they are checked too."""
    args = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    wrt = _checked_inputs(args, "gradgradcheck")
    outs = _outputs(fn, args)
    if grad_outputs is None:
        rng = get_rng()
        gouts = [Tensor._make(rng.standard_normal(o.shape).astype(o.dtype)).requires_grad_()
                 for o in outs]
    else:
        gouts = [grad_outputs] if isinstance(grad_outputs, Tensor) else list(grad_outputs)
    n = len(args)

    def vjp(*all_args: Any) -> tuple[Tensor, ...]:
        xs, gs = list(all_args[:n]), all_args[n:]
        results = grad(_outputs(fn, xs), [xs[i] for i in wrt], gs, create_graph=True,
                       allow_unused=True)
        # A None means that input does not affect the output: its gradient is zero.
        return tuple(Tensor._make(np.zeros(xs[i].shape, xs[i].dtype)) if r is None else r
                     for i, r in zip(wrt, results))

    return gradcheck(vjp, args + gouts, eps, atol, rtol, raise_exception, fast_mode)
