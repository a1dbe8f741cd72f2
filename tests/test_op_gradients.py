"""Every differentiable op: forward against NumPy, gradient against finite differences in
float64 (gradcheck), and second derivatives (gradgradcheck) for the smooth ones, over
random shapes drawn by hypothesis, broadcasting pairs, size-1 dims and 0-d tensors
included."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from op_cases import BINARY, UNARY

import tinygrad_sm as tg
from tinygrad_sm.autograd import gradcheck, gradgradcheck

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def leaf(array):
    return tg.tensor(np.asarray(array, np.float64), requires_grad=True)


@pytest.mark.parametrize("case", UNARY, ids=lambda c: c.name)
@SETTINGS
@given(data=st.data())
def test_unary_op(case, data):
    shape = data.draw(hnp.array_shapes(min_dims=max(case.min_ndim, 0), max_dims=3,
                                       min_side=1, max_side=3), label="shape")
    if case.min_ndim == 0 and data.draw(st.booleans(), label="0-d"):
        shape = ()
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    x = case.draw(rng, shape)
    out = case.fn(leaf(x))
    np.testing.assert_allclose(out.data, case.ref(x), rtol=1e-6, atol=1e-12)
    assert gradcheck(case.fn, [leaf(x)])
    if case.smooth:
        assert gradgradcheck(case.fn, [leaf(x)])


@pytest.mark.parametrize("case", BINARY, ids=lambda c: c.name)
@SETTINGS
@given(data=st.data())
def test_binary_op_broadcasting(case, data):
    shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                                         max_side=3), label="shapes")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    a, b = case.draw_a(rng, shapes.input_shapes[0]), case.draw_b(rng, shapes.input_shapes[1])
    out = case.fn(leaf(a), leaf(b))
    assert out.shape == shapes.result_shape
    np.testing.assert_allclose(out.data, case.ref(a, b), rtol=1e-6, atol=1e-12)
    assert gradcheck(case.fn, [leaf(a), leaf(b)])
    if case.smooth:
        assert gradgradcheck(case.fn, [leaf(a), leaf(b)])


@SETTINGS
@given(data=st.data())
def test_binary_op_with_one_constant_operand(data):
    """Only the operand that requires grad gets a gradient; the other may be an array."""
    shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    a, b = rng.standard_normal(shapes.input_shapes[0]), rng.uniform(0.5, 2, shapes.input_shapes[1])
    assert gradcheck(lambda x: x * b + b / (x * x + 1) - x**2, [leaf(a)])
    assert gradgradcheck(lambda x: x * b + b / (x * x + 1) - x**2, [leaf(a)])


MATMUL_SHAPES = [
    ((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((2, 3), (3, 4)), ((1, 3), (3, 1)),
    ((2, 2, 3), (3, 4)), ((3,), (2, 3, 4)), ((2, 1, 2, 3), (3, 3, 2)), ((4, 2, 3), (4, 3, 1)),
]


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES)
def test_matmul_1d_2d_batched(sa, sb, rng):
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    out = leaf(a) @ leaf(b)
    np.testing.assert_allclose(out.data, a @ b, rtol=1e-12)
    assert gradcheck(lambda x, y: x @ y, [leaf(a), leaf(b)])
    assert gradgradcheck(lambda x, y: x @ y, [leaf(a), leaf(b)])


def test_matmul_with_array_and_rmatmul(rng):
    w = rng.standard_normal((3, 2))
    x = leaf(rng.standard_normal((4, 3)))
    assert gradcheck(lambda x: x @ w, [x])
    assert gradcheck(lambda x: w.T @ x.T, [x])


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat_and_stack_mixed_requires_grad(dim, rng):
    a, b = leaf(rng.standard_normal((2, 3))), tg.tensor(rng.standard_normal((2, 3)))
    assert gradcheck(lambda a: tg.cat([a, b, a * 2], dim=dim), [a])
    assert gradcheck(lambda a: tg.stack([a, b], dim=dim), [a])


def test_where_with_scalar_branch(rng):
    x = leaf(rng.standard_normal((3, 4)))
    assert gradcheck(lambda x: tg.where(x > 0, x * 2, 0.0), [x])
    assert gradcheck(lambda x: tg.where(x.data < 0, 1.0, x.exp()), [x])


def test_advanced_indexing_course_nll_pattern(rng):
    """``-input[range(target.shape[0]), target].mean()`` as written in the course."""
    logits = rng.standard_normal((5, 4))
    target = tg.tensor([0, 3, 3, 1, 0])

    def nll(x):
        inp = x.log_softmax(1)
        return -inp[range(target.shape[0]), target].mean()

    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    expected = -np.log(p[np.arange(5), target.numpy()]).mean()
    np.testing.assert_allclose(nll(leaf(logits)).item(), expected, rtol=1e-12)
    assert gradcheck(nll, [leaf(logits)])
    assert gradgradcheck(nll, [leaf(logits)])


def test_repeated_indices_accumulate():
    x = leaf([1.0, 2.0, 3.0])
    x[[0, 0, 2, 0]].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 0.0, 1.0])


@pytest.mark.parametrize("create_graph", [False, True])
def test_relu_of_nan_infinities_and_signed_zeros(create_graph):
    # values and gradients as PyTorch's: nan passes its gradient through, -0.0 stays -0.0
    x = tg.tensor(np.array([np.nan, -np.inf, np.inf, -1.0, 0.0, -0.0, 2.0], np.float32),
                  requires_grad=True)
    y = x.relu()
    np.testing.assert_array_equal(y.data, [np.nan, 0, np.inf, 0, 0, 0, 2])
    np.testing.assert_array_equal(np.signbit(y.data), [0, 0, 0, 0, 0, 1, 0])
    assert y.dtype == np.float32
    y.sum().backward(create_graph=create_graph)
    np.testing.assert_array_equal(x.grad.data, [1, 0, 1, 0, 0, 0, 1])


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_ops_with_a_numpy_backward_are_the_checked_ones():
    # each of these has a test that its backward_numpy equals its Tensor-op backward (in
    # test_functional for linear and cross_entropy, below for relu): a new one needs one too
    from tinygrad_sm.core.function import Function

    with_numpy = {cls.__name__ for cls in _subclasses(Function) if cls.backward_numpy}
    assert with_numpy == {"Linear", "CrossEntropy", "Relu"}


def test_relu_numpy_backward_of_a_0d_tensor_accumulates():
    # NumPy's product of 0-d arrays is a scalar: the gradient must still be an array, which
    # a second backward adds into and zero_grad fills in place
    x = tg.tensor(1.5, requires_grad=True)
    x.relu().backward()
    x.relu().backward()
    assert type(x.grad.data) is np.ndarray and x.grad.item() == 2.0
    tg.optim.SGD([x], lr=0.1).zero_grad(set_to_none=False)
    assert x.grad.item() == 0.0


@given(hnp.arrays(np.float64, hnp.array_shapes(max_dims=3, max_side=5),
                  elements=st.sampled_from([-2.0, -0.5, 0.0, 0.5, 3.0])))
@settings(max_examples=25, deadline=None)
def test_relu_numpy_backward_equals_the_recorded_one(a):
    grads = []
    for create_graph in (False, True):
        x = tg.tensor(a, requires_grad=True)
        weights = tg.tensor(np.arange(a.size, dtype=np.float64).reshape(a.shape))
        (x.relu() * weights).sum().backward(create_graph=create_graph)
        grads.append(x.grad)
    np.testing.assert_array_equal(grads[0].data, grads[1].data)
