"""The gradient checker is itself checked: it must catch deliberately wrong backward rules
and pass correct ones."""

import numpy as np
import pytest

import tinygrad_sm as tg
from tinygrad_sm.autograd import GradcheckError, gradcheck, gradgradcheck
from tinygrad_sm.core.function import Function


class ScaledSquare(Function):
    """z = x^2 with a backward off by ``factor``."""

    factor = 1.001

    def forward(self, x):
        self.save_for_backward(*self.inputs)
        return x * x

    def backward(self, g):
        (x,) = self.saved_tensors
        return (g * x * (2.0 * self.factor),)


class ExactSquare(ScaledSquare):
    factor = 1.0


class TransposedMatmul(Function):
    """z = x @ w with dL/dw wrongly computed as (g^T @ x) instead of x^T @ g."""

    def forward(self, x, w):
        self.save_for_backward(*self.inputs)
        return x @ w

    def backward(self, g):
        x, w = self.saved_tensors
        return g @ w.T, (g.T @ x).T.T.reshape(w.shape) if w.shape[0] == w.shape[1] else None


class CubeWithWrongCurvature(Function):
    """z = x^3 whose first derivative is right numerically but is built from a constant, so
    its second derivative is wrong (0 instead of 6x)."""

    def forward(self, x):
        self.save_for_backward(*self.inputs)
        return x**3

    def backward(self, g):
        (x,) = self.saved_tensors
        return (g * tg.tensor(3 * x.data**2),)


def leaf(x):
    return tg.tensor(np.asarray(x, np.float64), requires_grad=True)


def test_correct_op_passes(rng):
    assert gradcheck(ExactSquare.apply, [leaf(rng.standard_normal((3, 2)))])
    assert gradgradcheck(ExactSquare.apply, [leaf(rng.standard_normal((3, 2)))])


def test_off_by_factor_1_001_is_caught(rng):
    """A relative error of 1e-3 sits exactly at the default rtol (PyTorch's), so catching it
    takes a tighter rtol; float64 differences are accurate to ~1e-9 here."""
    x = leaf(rng.uniform(1, 2, (4,)))
    assert gradcheck(ExactSquare.apply, [x], rtol=1e-6)
    with pytest.raises(GradcheckError) as info:
        gradcheck(ScaledSquare.apply, [x], rtol=1e-4)
    lines = str(info.value).splitlines()
    assert "4 mismatched entries" in lines[0]
    assert lines[1].split() == ["input", "element", "analytical", "numerical", "abs", "err",
                                "rel", "err"]
    i, idx, a, n = lines[2].split()[0], lines[2].split()[1], *map(float, lines[2].split()[2:4])
    assert i == "0" and idx.startswith("(")
    np.testing.assert_allclose(a / n, 1.001, rtol=1e-6)
    assert gradcheck(ScaledSquare.apply, [x], rtol=1e-4, raise_exception=False) is False


def test_fast_mode_catches_off_by_factor(rng):
    x = leaf(rng.uniform(1, 2, (50,)))
    assert gradcheck(ExactSquare.apply, [x], fast_mode=True, rtol=1e-6)
    with pytest.raises(GradcheckError, match="v\\^T J u"):
        gradcheck(ScaledSquare.apply, [x], fast_mode=True, rtol=1e-4)


def test_transposed_gradient_is_caught(rng):
    x, w = leaf(rng.standard_normal((2, 3))), leaf(rng.standard_normal((3, 3)))
    assert gradcheck(lambda x, w: x @ w, [x, w])
    with pytest.raises(GradcheckError):
        gradcheck(TransposedMatmul.apply, [x, w])


def test_wrong_second_derivative_is_caught(rng):
    x = leaf(rng.uniform(0.5, 1.5, (3,)))
    assert gradcheck(CubeWithWrongCurvature.apply, [x])  # first order is right
    with pytest.raises(GradcheckError):
        gradgradcheck(CubeWithWrongCurvature.apply, [x])
    assert gradgradcheck(lambda x: x**3, [x])


def test_float32_input_warns_naming_its_index():
    a = tg.tensor(np.ones(2), requires_grad=False)
    b = tg.tensor([1.0, 2.0], requires_grad=True)  # float32
    with pytest.warns(UserWarning, match=r"input 1 has dtype float32.*\.double\(\)"):
        gradcheck(lambda a, b: a * b, [a, b], eps=1e-2, atol=1e-2, rtol=1e-2)


def test_multiple_outputs_and_unused_input(rng):
    x, y = leaf(rng.standard_normal(3)), leaf(rng.standard_normal(3))
    assert gradcheck(lambda x, y: (x.exp(), x * 2), [x, y])


def test_no_input_requires_grad_is_an_error():
    with pytest.raises(ValueError, match="no input requires grad"):
        gradcheck(lambda x: x * 2, [tg.tensor(np.ones(2))])
