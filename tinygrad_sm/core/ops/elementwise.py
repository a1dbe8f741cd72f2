"""Elementwise ops. Binary ops broadcast by NumPy's rules; their backward sums each
gradient back to its input's shape (``unbroadcast``), because an input that was
broadcast was used once for every position it was copied to.

One convention for skipping work: a gradient that an input does not need is not computed,
``gx = ... if x.requires_grad else None`` (None means "no gradient")."""

from __future__ import annotations

import numpy as np

from tinygrad_sm.core.function import Function
from tinygrad_sm.core.idioms import positive_part
from tinygrad_sm.core.promotion import floating
from tinygrad_sm.core.pytorch_api import where
from tinygrad_sm.core.tensor import Tensor


def unbroadcast(grad: Tensor, like: Tensor) -> Tensor:
    """The gradient for input ``like``: summed over the dims it was broadcast along."""
    return grad if grad.data.shape == like.data.shape else grad.sum_to(like.data.shape)


def const(array: np.ndarray | float) -> Tensor:
    """A constant (no grad) used inside a backward rule, such as a mask."""
    return Tensor._make(np.asarray(array))


class BroadcastOp(Function):
    """A binary op whose inputs broadcast against each other."""

    def explain(self, err: Exception) -> str:
        x, y = self.inputs
        if "broadcast" not in str(err):  # NumPy's own words (int ** negative int, say)
            return super().explain(err)
        return f"{self.name}: shapes {x.shape} and {y.shape} cannot be broadcast"


# -- arithmetic --------------------------------------------------------------------------


class Add(BroadcastOp):
    """z = x + y.   dz/dx = 1, dz/dy = 1."""

    def forward(self, x, y):
        return x + y

    def backward(self, g):
        x, y = self.inputs
        gx = unbroadcast(g, x) if x.requires_grad else None
        gy = unbroadcast(g, y) if y.requires_grad else None
        return gx, gy


class Sub(BroadcastOp):
    """z = x - y.   dz/dx = 1, dz/dy = -1."""

    def forward(self, x, y):
        return x - y

    def backward(self, g):
        x, y = self.inputs
        gx = unbroadcast(g, x) if x.requires_grad else None
        gy = unbroadcast(-g, y) if y.requires_grad else None
        return gx, gy


class Mul(BroadcastOp):
    """z = x * y.   dz/dx = y, dz/dy = x."""

    def forward(self, x, y):
        self.save_for_backward(*self.inputs)
        return x * y

    def backward(self, g):
        x, y = self.saved_tensors
        gx = unbroadcast(g * y, x) if x.requires_grad else None
        gy = unbroadcast(g * x, y) if y.requires_grad else None
        return gx, gy


class Div(BroadcastOp):
    """z = x / y.   dz/dx = 1 / y, dz/dy = -x / y^2."""

    def forward(self, x, y):
        self.save_for_backward(*self.inputs)
        return x / y

    def backward(self, g):
        x, y = self.saved_tensors
        gx = unbroadcast(g / y, x) if x.requires_grad else None
        gy = unbroadcast(-g * x / (y * y), y) if y.requires_grad else None
        return gx, gy


class Pow(BroadcastOp):
    """z = x ** y.   dz/dx = y x^(y-1), dz/dy = x^y ln x. As PyTorch's: dz/dx = 0 where
    y = 0 (even at x = 0: not 0 * 0^-1), dz/dy = 0 where x = 0 and y >= 0 (not 0 ln 0)."""

    def forward(self, x, y):
        self.save_for_backward(*self.inputs)
        return x**y

    def backward(self, g):
        x, y = self.saved_tensors
        gx = unbroadcast(g * y * x ** (y - 1 + (y == 0)), x) if x.requires_grad else None
        if not y.requires_grad:
            return gx, None
        with np.errstate(divide="ignore", invalid="ignore"):  # ln 0 = -inf, masked away
            return gx, unbroadcast(where((x == 0) * (y >= 0), 0.0, g * x**y * x.log()), y)


class Neg(Function):
    """z = -x.   dz/dx = -1."""

    def forward(self, x):
        return -x

    def backward(self, g):
        return (-g,)


# -- pointwise functions -----------------------------------------------------------------


class Exp(Function):
    """z = e^x.   dz/dx = e^x = z."""

    save_output = True

    def forward(self, x):
        return np.exp(floating(x))

    def backward(self, g):
        return (g * self.output,)


class Log(Function):
    """z = ln x.   dz/dx = 1 / x."""

    def forward(self, x):
        self.save_for_backward(*self.inputs)
        return np.log(floating(x))

    def backward(self, g):
        (x,) = self.saved_tensors
        return (g / x,)


class Sqrt(Function):
    """z = sqrt(x).   dz/dx = 1 / (2 sqrt(x)) = 1 / (2 z)."""

    save_output = True

    def forward(self, x):
        return np.sqrt(floating(x))

    def backward(self, g):
        return (g / (self.output * 2.0),)


class Abs(Function):
    """z = |x|.   dz/dx = sign(x) (0 at x = 0 and at nan, as in PyTorch)."""

    def forward(self, x):
        self.sign = np.nan_to_num(np.sign(x))  # sign(nan) = 0, as PyTorch's
        return np.abs(x)

    def backward(self, g):
        return (g * const(self.sign),)


class Tanh(Function):
    """z = tanh(x).   dz/dx = 1 - tanh(x)^2 = 1 - z^2."""

    save_output = True

    def forward(self, x):
        return np.tanh(floating(x))

    def backward(self, g):
        z = self.output
        return (g * (1.0 - z * z),)


class Sigmoid(Function):
    """z = 1 / (1 + e^-x).   dz/dx = z (1 - z) = sigmoid(x) sigmoid(-x)."""

    save_output = True

    def forward(self, x):
        self.save_for_backward(*self.inputs)
        e = np.exp(-np.abs(floating(x)))  # never overflows; e^x / (1 + e^x) for x < 0 keeps
        return np.where(x >= 0, 1, e) / (1 + e)  # every digit of a tiny z

    def backward(self, g):
        (x,) = self.saved_tensors  # (1 - z would lose the digits of a tiny sigmoid(-x))
        return (g * self.output * (-x).sigmoid(),)


class Relu(Function):
    """z = max(x, 0).   dz/dx = 1 where x > 0, else 0 (also at 0, as in PyTorch)."""

    def forward(self, x):
        z = positive_part(x)
        self.mask = z != 0  # x > 0 (or nan, which PyTorch passes through too)
        return z

    def backward(self, g):
        return (g * const(self.mask),)

    def backward_numpy(self, g):  # the same rule in NumPy, for a backward not recorded
        return (Tensor._make(np.asarray(g * self.mask)),)  # (a 0-d product is a scalar)
