"""Cross-entropy of logits against class indices, as one fused op.

Fusing matters: log_softmax followed by picking each target's entry costs several passes
over the logits and a scatter in backward, while the gradient of the whole is simply
softmax minus the one-hot target. This op covers the common case (no class weights, no
ignored targets, no label smoothing); ``tinygrad_sm.functional.cross_entropy`` builds the
others from Tensor ops, and validates every input before calling this.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np

from tinygrad_sm.core.function import Function
from tinygrad_sm.core.idioms import all_finite, row_sums
from tinygrad_sm.core.ops.elementwise import const
from tinygrad_sm.core.tensor import Tensor


class CrossEntropy(Function):
    """loss_i = -log p_{i,t_i} = logsumexp(z_i) - z_{i,t_i}, with p_i = softmax(z_i), for
    logits z (M, C) and class indices t (M,); summed, averaged ('mean') or per row ('none').

        d loss_i / d z_i = p_i - onehot(t_i)          (divided by M for 'mean')

    Each row is shifted by its max before exp, so logits of 1e8 are fine. A row whose max
    is +inf or nan gives nan, as in PyTorch (without NumPy's warnings about it).

    ``backward_numpy`` (used when backward is not itself recorded) computes p - onehot in
    NumPy from the exponentials forward kept; ``backward`` rebuilds softmax(z) from Tensor
    ops, so that second derivatives are right.
    """

    def forward(self, z, target, reduction="mean"):
        self.save_for_backward(self.inputs[0])
        self.reduction = reduction
        z = np.ascontiguousarray(z)  # C order: flattening it, and what comes of it, is a view
        starts = np.arange(0, z.size, z.shape[1])  # where each row starts in the flat logits
        self.at_target = starts + target.astype(np.intp, copy=False)  # z_{i,t_i}, flat
        m = z.reshape(-1)[starts + z.argmax(axis=1)]  # the row maxima (see core/idioms.py)
        self.finite = all_finite(m)
        if not self.finite:
            m[np.isneginf(m)] = 0  # an all -inf row: shift by 0, not by -inf (nan either way)
        with self._quiet():
            s = z - m[:, None]
            picked = s.reshape(-1)[self.at_target]
            self.e = np.exp(s, out=s)  # (reuses s: only e is needed from here on)
            self.sumexp = row_sums(self.e)
            loss = np.log(self.sumexp) - picked
        if reduction == "none":
            return loss
        total = loss.sum(dtype=z.dtype)
        return total if reduction == "sum" else total * self._mean_scale()

    def backward(self, g):
        (z,) = self.saved_tensors
        onehot = np.zeros(z.shape, z.dtype)
        onehot.reshape(-1)[self.at_target] = 1
        return ((z.softmax(1) - const(onehot)) * self._scale(g),)

    def backward_numpy(self, g):
        _ = self.saved_tensors  # (raises if z was modified in place since forward)
        with self._quiet():
            p = np.divide(self.e, self.sumexp[:, None], order="C")  # C order: a flat view
        p.reshape(-1)[self.at_target] -= 1
        p *= self._scale(g)
        return (Tensor._make(p),)

    def _scale(self, g):
        """What p - onehot is multiplied by: g per row for 'none', g / M for 'mean'."""
        if self.reduction == "none":
            return g.reshape(-1, 1) if isinstance(g, Tensor) else g[:, None]
        return g * self._mean_scale() if self.reduction == "mean" else g

    def _mean_scale(self) -> float:
        return 1 / len(self.at_target) if len(self.at_target) else math.nan  # no rows: nan

    def _quiet(self):
        # (np.errstate costs about 1 us: only a batch holding inf or nan pays for it)
        if self.finite:
            return contextlib.nullcontext()
        return np.errstate(invalid="ignore", divide="ignore")
