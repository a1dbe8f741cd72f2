"""Elementwise ops. Binary ops broadcast by NumPy's rules; their backward sums each
gradient back to its input's shape (``unbroadcast``), because an input that was
broadcast was used once for every position it was copied to."""

from __future__ import annotations

import numpy as np

from tinygrad_sm.core.function import Function
from tinygrad_sm.core.idioms import zeros
from tinygrad_sm.core.tensor import Tensor


def unbroadcast(grad: Tensor, like: Tensor) -> Tensor | None:
    """The gradient for input ``like``: None if it needs none, else summed to its shape
    and cast to its dtype."""
    if not like.requires_grad:
        return None
    if grad.data.shape != like.data.shape:
        grad = grad.sum_to(like.data.shape)
    if grad.data.dtype != like.data.dtype:
        grad = grad.to(like.data.dtype)
    return grad


def const(array: np.ndarray | float) -> Tensor:
    """A constant (no grad) used inside a backward rule, such as a mask."""
    return Tensor._make(np.asarray(array))


class BroadcastOp(Function):
    """A binary op whose inputs broadcast against each other."""

    def explain(self, err: Exception) -> str:
        x, y = self.inputs
        return f"{self.name}: shapes {x.shape} and {y.shape} cannot be broadcast"


# -- arithmetic --------------------------------------------------------------------------


class Add(BroadcastOp):
    """z = x + y.   dz/dx = 1, dz/dy = 1."""

    def forward(self, x, y):
        return x + y

    def backward(self, g):
        x, y = self.inputs
        return unbroadcast(g, x), unbroadcast(g, y)


class Sub(BroadcastOp):
    """z = x - y.   dz/dx = 1, dz/dy = -1."""

    def forward(self, x, y):
        return x - y

    def backward(self, g):
        x, y = self.inputs
        return unbroadcast(g, x), unbroadcast(-g, y) if y.requires_grad else None


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
    """z = x ** y.   dz/dx = y x^(y-1), dz/dy = x^y ln x (defined for x > 0)."""

    def forward(self, x, y):
        self.save_for_backward(*self.inputs)
        return x**y

    def backward(self, g):
        x, y = self.saved_tensors
        gx = unbroadcast(g * y * x ** (y - 1), x) if x.requires_grad else None
        gy = unbroadcast(g * x**y * x.log(), y) if y.requires_grad else None
        return gx, gy


class Neg(Function):
    """z = -x.   dz/dx = -1."""

    def forward(self, x):
        return -x

    def backward(self, g):
        return (-g,)


class Maximum(BroadcastOp):
    """z = max(x, y) elementwise.   dz/dx = 1 where x > y, 0 where x < y, 1/2 on ties."""

    def forward(self, x, y):
        self.x_weight = (x > y) + 0.5 * (x == y)
        return np.maximum(x, y)

    def backward(self, g):
        x, y = self.inputs
        w = self.x_weight.astype(g.dtype)
        gx = unbroadcast(g * const(w), x) if x.requires_grad else None
        gy = unbroadcast(g * const(1 - w), y) if y.requires_grad else None
        return gx, gy


class Minimum(BroadcastOp):
    """z = min(x, y) elementwise.   dz/dx = 1 where x < y, 0 where x > y, 1/2 on ties."""

    def forward(self, x, y):
        self.x_weight = (x < y) + 0.5 * (x == y)
        return np.minimum(x, y)

    backward = Maximum.backward


class Where(Function):
    """z = x where cond else y.   dz/dx = cond, dz/dy = not cond (cond is a constant)."""

    def forward(self, cond, x, y):
        return np.where(cond, x, y)

    def explain(self, err):
        shapes = ", ".join(str(t.shape) for t in self.inputs)
        return f"where: shapes {shapes} (cond, x, y) cannot be broadcast"

    def backward(self, g):
        cond, x, y = self.inputs
        zero = const(np.zeros((), g.dtype))
        gx = unbroadcast(Where.apply(cond, g, zero), x) if x.requires_grad else None
        gy = unbroadcast(Where.apply(cond, zero, g), y) if y.requires_grad else None
        return None, gx, gy


# -- pointwise functions -----------------------------------------------------------------


class Exp(Function):
    """z = e^x.   dz/dx = e^x = z."""

    save_output = True

    def forward(self, x):
        return np.exp(x)

    def backward(self, g):
        return (g * self.output,)


class Log(Function):
    """z = ln x.   dz/dx = 1 / x."""

    def forward(self, x):
        self.save_for_backward(*self.inputs)
        return np.log(x)

    def backward(self, g):
        (x,) = self.saved_tensors
        return (g / x,)


class Sqrt(Function):
    """z = sqrt(x).   dz/dx = 1 / (2 sqrt(x)) = 1 / (2 z)."""

    save_output = True

    def forward(self, x):
        return np.sqrt(x)

    def backward(self, g):
        return (g / (self.output * 2.0),)


class Abs(Function):
    """z = |x|.   dz/dx = sign(x) (0 at x = 0, as in PyTorch)."""

    def forward(self, x):
        self.sign = np.sign(x)
        return np.abs(x)

    def backward(self, g):
        return (g * const(self.sign),)


class Tanh(Function):
    """z = tanh(x).   dz/dx = 1 - tanh(x)^2 = 1 - z^2."""

    save_output = True

    def forward(self, x):
        return np.tanh(x)

    def backward(self, g):
        z = self.output
        return (g * (1.0 - z * z),)


class Sigmoid(Function):
    """z = 1 / (1 + e^-x).   dz/dx = z (1 - z)."""

    save_output = True

    def forward(self, x):
        # 1/(1+e^-x) overflows in e^-x for large negative x; this form never does.
        return 0.5 * (1.0 + np.tanh(0.5 * x))

    def backward(self, g):
        z = self.output
        return (g * z * (1.0 - z),)


class Relu(Function):
    """z = max(x, 0).   dz/dx = 1 where x > 0, else 0 (also at 0, as in PyTorch). As in
    PyTorch, nan stays nan and passes its gradient through, and -0.0 stays -0.0 (not in
    float16, whose np.maximum breaks ties the other way)."""

    def forward(self, x):
        # zeros first: where the two are equal (x = -0.0), np.maximum returns its second
        # argument; and against an array, not the number 0 (see ops/idioms.py)
        z = np.maximum(zeros(x.shape, x.dtype), x)
        self.mask = z != 0  # x > 0 or nan; booleans: a quarter of the memory of a float mask
        return z

    def backward(self, g):
        return (g * const(self.mask),)

    def backward_numpy(self, g):
        return (Tensor._make(g * self.mask),)


class Clamp(Function):
    """z = min(max(x, low), high).   dz/dx = 1 where low <= x <= high, else 0."""

    def forward(self, x, low=None, high=None):
        self.mask = np.ones(x.shape, bool)
        if low is not None:
            self.mask &= x >= low
        if high is not None:
            self.mask &= x <= high
        return np.clip(x, low, high)

    def backward(self, g):
        return (g * const(self.mask.astype(g.dtype)),)


class Cast(Function):
    """z = x converted to another dtype.   dz/dx = 1 (cast back to x's dtype)."""

    def forward(self, x, dtype):
        return x.astype(dtype)

    def backward(self, g):
        (x,) = self.inputs
        return (g.to(x.dtype),)


class Clone(Function):
    """z = a copy of x.   dz/dx = 1."""

    def forward(self, x):
        return x.copy()

    def backward(self, g):
        return (g,)
