"""The two binary cross-entropies as fused ops: on logits (stable through softplus) and on
probabilities (with PyTorch's clamp of the logs at -100).

The ops take already-checked inputs: ``tinygrad_sm.functional`` validates shapes, target
values and options, and names the user's function in its errors.
"""

from __future__ import annotations

import numpy as np

from tinygrad_sm.core.function import Function
from tinygrad_sm.core.grad_mode import is_grad_enabled
from tinygrad_sm.core.ops.elementwise import const


def _softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + e^x) without overflow: max(x, 0) + log1p(e^-|x|)."""
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def _weighted(losses: np.ndarray, weight: np.ndarray | None, dtype: np.dtype) -> np.ndarray:
    """Elementwise losses times the optional weight, in the input's dtype."""
    if weight is not None:
        losses = losses * weight
    return losses.astype(dtype, copy=False)


class BinaryCrossEntropyWithLogits(Function):
    """Elementwise l = w [ p y softplus(-x) + (1 - y) softplus(x) ] for logits x and targets
    y in [0, 1], with weight w and pos_weight p (both 1 when absent, broadcast against x).

    For p = 1 this is the stable form max(x, 0) - x y + log(1 + e^-|x|): softplus never
    overflows, unlike log(sigmoid(x)) for x = -800.

        dl/dx = w [ (1 + (p - 1) y) sigmoid(x) - p y ]      (= w (sigmoid(x) - y) for p = 1)
        dl/dy = w [ (p - 1) softplus(-x) - x ]              (= -w x for p = 1)
    """

    def forward(self, x, y, weight=None, pos_weight=None):
        self.save_for_backward(*self.inputs)
        self.weight, self.pos_weight = weight, pos_weight
        if pos_weight is None:
            out = _softplus(x) - x * y
        else:
            out = pos_weight * y * _softplus(-x) + (1 - y) * _softplus(x)
        return _weighted(out, weight, x.dtype)

    def backward(self, g):
        x, y = self.saved_tensors
        if self.weight is not None:
            g = g * const(self.weight)
        pw = None if self.pos_weight is None else const(self.pos_weight)
        gx = gy = None
        if x.requires_grad:
            s = x.sigmoid()
            gx = g * ((s - y) if pw is None else (1 + (pw - 1) * y) * s - pw * y)
            gx = gx.sum_to(x.shape).to(x.dtype)
        if y.requires_grad:
            if pw is None:
                gy = -(g * x)
            else:  # softplus(-x) = relu(-x) + log(1 + e^-|x|)
                sp = (-x).relu() + ((-x.abs()).exp() + 1).log()
                gy = g * ((pw - 1) * sp - x)
            gy = gy.sum_to(y.shape).to(y.dtype)
        return gx, gy


class BinaryCrossEntropy(Function):
    """Elementwise l = -w [ y log(x) + (1 - y) log(1 - x) ] for probabilities x, with both
    logs clamped to >= -100 as PyTorch does (so x = 0 or 1 gives a finite loss of 100).

        dl/dx = w (x - y) / max(x (1 - x), 1e-12)     (PyTorch's backward, also finite at 0 and 1)
        dl/dy = w [ log(1 - x) - log(x) ]             (with the clamped logs, so finite;
                                                      PyTorch's is +-inf at x = 0 or 1)
    """

    def forward(self, x, y, weight=None):
        self.save_for_backward(*self.inputs)
        self.weight = weight
        with np.errstate(divide="ignore"):
            self.log_x = np.maximum(np.log(x), -100)
            self.log_1mx = np.maximum(np.log1p(-x), -100)
        return _weighted(-(y * self.log_x + (1 - y) * self.log_1mx), weight, x.dtype)

    def backward(self, g):
        x, y = self.saved_tensors
        if self.weight is not None:
            g = g * const(self.weight)
        gx = gy = None
        if x.requires_grad:
            gx = (g * (x - y) / (x * (1 - x)).clamp(min=1e-12)).sum_to(x.shape).to(x.dtype)
        if y.requires_grad:
            # the clamped logs of forward, as Tensors so that d/dx of this is right too
            log_x = x.log().clamp(min=-100) if is_grad_enabled() else const(self.log_x)
            log_1mx = (1 - x).log().clamp(min=-100) if is_grad_enabled() else const(self.log_1mx)
            gy = (g * (log_1mx - log_x)).sum_to(y.shape).to(y.dtype)
        return gx, gy
