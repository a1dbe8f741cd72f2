"""Fused loss ops: cross-entropy on logits and the two binary cross-entropies.

Fusing matters for cross-entropy: log_softmax followed by picking the target's entry
costs several passes over the logits and a scatter in backward, while the gradient of the
whole thing is simply softmax minus the (weighted) one-hot target.

The ops take already-checked inputs: ``tinygrad_sm.functional`` validates shapes, target
values and options, and names the user's function in its errors.
"""

from __future__ import annotations

import math

import numpy as np

from tinygrad_sm.core.function import Function
from tinygrad_sm.core.grad_mode import is_grad_enabled
from tinygrad_sm.core.idioms import all_finite, row_sums
from tinygrad_sm.core.ops.elementwise import const
from tinygrad_sm.core.tensor import Tensor


class CrossEntropy(Function):
    """Cross-entropy of logits z (M, C) against class indices t (M,), with class weights w
    (all 1 by default), rows with valid = False ignored, and label smoothing eps:

        loss_i = (1 - eps) w_{t_i} (-log p_{i,t_i}) + (eps / C) sum_c w_c (-log p_{i,c}),
        p_i = softmax(z_i),   -log p_{i,c} = logsumexp(z_i) - z_{i,c}.

    Reductions: 'none' gives loss (M,), 'sum' its sum, 'mean' its sum divided by the summed
    weights of the valid targets, sum_i w_{t_i} (PyTorch's normalizer, also for the
    smoothing term).

    With q_i = (1 - eps) w_{t_i} onehot(t_i) + (eps / C) w (zero for an ignored row), the
    loss is -sum_c q_ic log p_ic, so

        d loss_i / d z_i = (sum_c q_ic) p_i - q_i,

    which is softmax minus one-hot for eps = 0 and no weights; 'mean' divides it by the
    normalizer. Logits are shifted by their row max before exp, so logits of 1e8 are fine.

    backward_numpy, used when backward is not itself recorded (create_graph=False),
    evaluates the formula above in NumPy from the exponentials kept by forward; backward
    rebuilds softmax(z) from Tensor ops, so that second derivatives are right.
    """

    def forward(self, z, target, weight=None, valid=None, reduction="mean",
                label_smoothing=0.0):
        self.save_for_backward(self.inputs[0])
        self.weight, self.valid = weight, valid
        self.reduction, self.eps = reduction, label_smoothing
        # Entries are picked by flat index, up to twice as fast as by (row, column) pairs
        # (docs/performance.md). In the flattened logits, row i starts at i * C; the logits
        # are made C-ordered so that flattening them, and the arrays computed from them,
        # gives views (backward writes through one).
        z = np.ascontiguousarray(z)
        starts = np.arange(0, z.size, z.shape[1])
        self.at_target = starts + target.astype(np.intp, copy=False)
        m = z.reshape(-1)[starts + z.argmax(axis=1)]  # row maxima, at argmax (ops/idioms.py)
        # (np.errstate costs about 1 us: only rows that need it pay for it, on the path below,
        # which a sum that overflows also takes, and gets right all the same)
        self.all_finite = all_finite(m)
        if self.all_finite:
            return self._losses(z, m, target)
        # An all -inf row is shifted by 0 rather than by -inf (its loss is nan all the same:
        # -inf - -inf). A row whose max is +inf or nan comes out nan, as in PyTorch, and as
        # there without NumPy's warnings about the nan.
        m[np.isneginf(m)] = 0
        with np.errstate(invalid="ignore", divide="ignore"):
            return self._losses(z, m, target)

    def _losses(self, z, m, target):
        """The loss from C-ordered logits z and the row maxima m to shift them by."""
        weight, valid, label_smoothing = self.weight, self.valid, self.eps
        dt = z.dtype.type
        s = z - m[:, None]
        picked = s.reshape(-1)[self.at_target]
        if label_smoothing:
            s_dot_w = s.sum(axis=1) if weight is None else s @ weight
        e = np.exp(s, out=s)  # reuse s: only e is needed from here on
        sumexp = row_sums(e)
        lse = np.log(sumexp)  # (a finite row's max contributes e^0 = 1: no log(0))
        self.e, self.sumexp = e, sumexp

        # per-row weight of the target, 0 for ignored rows
        wt = None if weight is None else weight[target]
        if valid is not None:
            wt = valid.astype(z.dtype) if wt is None else np.where(valid, wt, dt(0))
        self.wt = wt
        loss = lse - picked  # -log p of the target
        if wt is not None:
            with np.errstate(invalid="ignore"):  # (inf * 0 in an ignored row: dropped here)
                loss = np.where(valid, loss * wt, dt(0)) if valid is not None else loss * wt
        if label_smoothing:
            c = z.shape[1]
            w_sum = c if weight is None else weight.sum()
            smooth = lse * dt(w_sum) - s_dot_w  # sum_c w_c (-log p_c)
            if valid is not None:
                smooth = np.where(valid, smooth, dt(0))
            loss = dt(1 - label_smoothing) * loss + dt(label_smoothing / c) * smooth
        self.norm = z.shape[0] if wt is None else wt.sum()
        if self.reduction == "none":
            return loss.astype(z.dtype, copy=False)
        total = loss.sum(dtype=z.dtype)
        if self.reduction == "sum":
            return total
        if self.norm:
            return total / self.norm
        return total * np.nan  # no valid target: nan, as PyTorch

    def _coef_and_q(self, dtype) -> tuple[np.ndarray | float, np.ndarray]:
        """sum_c q_ic (per row, or a number) and the dense target distribution q (M, C)."""
        m, c = self.e.shape
        eps, wt, weight, valid = self.eps, self.wt, self.weight, self.valid
        coef = (1 - eps) if wt is None else (1 - eps) * wt
        q = np.zeros((m, c), dtype)
        q.reshape(-1)[self.at_target] = coef
        if eps:
            w_row = np.full(c, 1.0, dtype) if weight is None else weight
            spread = (eps / c) * (w_row if valid is None else valid[:, None] * w_row)
            q += spread
            w_sum = c if weight is None else weight.sum()
            coef = coef + (eps / c) * w_sum * (1 if valid is None else valid)
        coef = np.asarray(coef, dtype)
        return (coef[:, None] if coef.ndim else coef), q

    def _mean_scale(self) -> float | np.ndarray:
        """What 'mean' multiplies the gradient by: 1 / normalizer. When the weights of the
        counted targets sum to 0, the loss is 0/0 = nan and so is its gradient, as in
        PyTorch, except in ignored rows, which stay 0: ignoring every target gives 0."""
        if self.norm:
            return 1 / self.norm
        if self.valid is None:
            return math.nan
        return np.where(self.valid, np.nan, 0).astype(self.e.dtype)[:, None]

    def backward(self, g):
        (z,) = self.saved_tensors
        coef, q = self._coef_and_q(z.dtype)
        p = z.softmax(1)
        d = (p if self.wt is None and not self.eps else p * const(coef)) - const(q)
        gs = g.reshape(-1, 1) if self.reduction == "none" else g
        return (d * (gs * self._mean_scale() if self.reduction == "mean" else gs),)

    def backward_numpy(self, g):
        """The same, from the exponentials kept by forward: p = e / sumexp, then
        (coef * p - q) * g, in place on p."""
        _ = self.saved_tensors  # (raises if z was modified in place since forward)
        if self.all_finite:
            p = np.divide(self.e, self.sumexp[:, None], order="C")  # C order: a flat view below
        else:
            with np.errstate(invalid="ignore"):  # the nan rows of forward (0/0, inf/inf)
                p = np.divide(self.e, self.sumexp[:, None], order="C")
        if self.wt is None and not self.eps:
            p.reshape(-1)[self.at_target] -= 1
        else:
            coef, q = self._coef_and_q(p.dtype)
            p *= coef
            p -= q
        gs = g[:, None] if self.reduction == "none" else g
        p *= gs * self._mean_scale() if self.reduction == "mean" else gs
        return (Tensor._make(p),)


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
