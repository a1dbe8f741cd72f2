"""logsumexp and the softmax family, computed stably.

The trick: log sum_i e^(x_i) = m + log sum_i e^(x_i - m) for any constant m. With m the
max along the dim, every exponent is <= 0, so nothing overflows and the largest term is 1,
so the sum never underflows to 0. m is a constant: it shifts the value, not the gradient.

Edge cases, as in PyTorch: an entry of -inf gets probability 0 and log-probability -inf
(and, downstream of a loss that does not pick it, gradient 0); a row that is all -inf
gives logsumexp -inf and softmax nan; a row holding +inf has logsumexp +inf and softmax
and log_softmax nan throughout; a nan entry makes its row nan.
"""

from __future__ import annotations

import numpy as np

from tinygrad_sm.core.function import Function
from tinygrad_sm.core.ops.reduce import keepdim_shape


def _shift(x: np.ndarray, dims: tuple[int, ...], keep_inf: bool = True) -> np.ndarray:
    """The max along dims, to subtract before exp. An all -inf row's -inf is replaced by 0
    (it would give -inf - -inf = nan). A +inf max stays, which makes the row nan, as
    PyTorch's softmax does; logsumexp (keep_inf=False) shifts it by 0 instead, so that
    its result is +inf, as PyTorch's is."""
    m = np.max(x, axis=dims, keepdims=True)
    return np.where(~np.isneginf(m) if keep_inf else np.isfinite(m), m, 0)


def _log_sum_exp_shifted(shifted: np.ndarray, dims: tuple[int, ...]) -> np.ndarray:
    """log sum e^shifted along dims (kept as size-1 dims), for already shifted inputs."""
    # log 0 = -inf for an all -inf row; e^x = inf for logsumexp's row holding +inf, which it
    # shifts by 0 (the result is +inf all the same)
    with np.errstate(divide="ignore", over="ignore"):
        return np.log(np.sum(np.exp(shifted), axis=dims, keepdims=True))


class LogSumExp(Function):
    """z = log sum_i e^(x_i).   dz/dx_i = e^(x_i - z) = softmax(x)_i."""

    save_output = True

    def forward(self, x, dims, keepdim):
        self.dims = dims
        self.save_for_backward(*self.inputs)
        m = _shift(x, dims, keep_inf=False)
        z = _log_sum_exp_shifted(x - m, dims) + m
        return z if keepdim else np.squeeze(z, axis=dims)

    def backward(self, g):
        (x,) = self.saved_tensors
        shape = keepdim_shape(x.shape, self.dims)
        return (g.reshape(shape) * (x - self.output.reshape(shape)).exp(),)


class Softmax(Function):
    """y_i = e^(x_i) / sum_j e^(x_j).   dL/dx = y * (g - sum_j g_j y_j)."""

    save_output = True

    def forward(self, x, dims):
        self.dims = dims
        with np.errstate(invalid="ignore"):  # inf - inf and nan / nan in rows holding +inf
            e = np.exp(x - _shift(x, dims))
            return e / np.sum(e, axis=dims, keepdims=True)

    def backward(self, g):
        y = self.output
        return (y * (g - (g * y).sum(self.dims, keepdim=True)),)


class LogSoftmax(Function):
    """y_i = x_i - logsumexp(x).   dL/dx = g - softmax(x) * sum_j g_j, with softmax = e^y."""

    save_output = True

    def forward(self, x, dims):
        self.dims = dims
        # (x - m) - log sum e^(x - m), never x - logsumexp(x): adding m and taking it away
        # again would lose float32 digits when m is large.
        with np.errstate(invalid="ignore"):  # inf - inf in rows that hold +inf
            shifted = x - _shift(x, dims)
            return shifted - _log_sum_exp_shifted(shifted, dims)

    def backward(self, g):
        return (g - self.output.exp() * g.sum(self.dims, keepdim=True),)
