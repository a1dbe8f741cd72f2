"""Construction, dtypes, attributes, repr, creation functions and bad input."""

import numpy as np
import pytest

import tinygrad_sm as tg


def test_dtypes_follow_pytorch_defaults():
    assert tg.tensor(1.5).dtype == np.float32
    assert tg.tensor([1.0, 2]).dtype == np.float32
    assert tg.tensor([1, 2]).dtype == np.int64
    assert tg.tensor(np.array([1.0])).dtype == np.float64  # NumPy keeps its dtype
    assert tg.tensor([True, False]).dtype == np.bool_
    assert tg.tensor([1, 2], dtype=tg.float64).dtype == np.float64


def test_tensor_copies_but_from_numpy_shares():
    a = np.zeros(3)
    t, s = tg.tensor(a), tg.from_numpy(a)
    a[0] = 1
    assert t.data[0] == 0 and s.data[0] == 1


def test_foreign_byte_order_is_converted_or_refused_by_name():
    # big-endian data (as read from some files): tensor() copies it into native order, so
    # every op works; from_numpy, which shares memory, refuses it as PyTorch does
    foreign = np.array([[0.0, 2.0, 1.0]], np.dtype("f8").newbyteorder("S"))
    t = tg.tensor(foreign, requires_grad=True)
    assert t.dtype.isnative and t.dtype == np.float64
    assert tg.tensor(foreign, dtype=np.dtype("f4").newbyteorder("S")).dtype.isnative
    loss = tg.nn.functional.cross_entropy(t, [0])
    loss.backward()
    assert loss.item() == pytest.approx(np.log(1 + np.e**2 + np.e) - 0.0)
    other = np.dtype("f4").newbyteorder("S")  # asked for by dtype: made native too
    for made in (tg.randn(2, 3, dtype=other), tg.zeros(2, 3, dtype=other), tg.eye(3, dtype=other),
                 tg.tensor(foreign).to(other), tg.ones_like(t, dtype=other),
                 tg.nn.Linear(3, 2, dtype=other).weight, tg.nn.Linear(3, 2).to(other).weight):
        assert made.dtype == np.float32 and made.dtype.isnative
    with pytest.raises(ValueError, match="from_numpy: the array's dtype .f8 is not in this"):
        tg.from_numpy(foreign)
    with pytest.raises(TypeError, match="from_numpy: data must be numeric .* dtype <U1"):
        tg.from_numpy(np.array(["a"]))


def test_indexing_an_ndarray_subclass(tmp_path):
    # a memory-mapped array (the data loaders keep them) indexes as a plain one
    mm = np.memmap(tmp_path / "a.bin", np.float32, "w+", shape=(3, 4))
    mm[:] = np.arange(12).reshape(3, 4)
    t = tg.from_numpy(mm)
    np.testing.assert_array_equal(t[..., 0].data, [0, 4, 8])
    assert t[1, 2].item() == 6 and t[1, 2].shape == ()


def test_mixed_precision_promotes_like_numpy():
    a = tg.tensor([1.0], requires_grad=True)
    b = tg.tensor(np.array([2.0]))
    assert (a * b).dtype == np.float64
    assert (a * 2.0).dtype == np.float32  # a Python number takes the tensor's dtype
    assert (tg.arange(4) * 0.5).dtype == np.float32


def test_attributes():
    x = tg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    assert x.shape == (2, 3) and x.ndim == 2 and x.size() == (2, 3) and x.size(-1) == 3
    assert x.numel() == 6 and len(x) == 2 and x.is_leaf and x.grad_fn is None
    assert x.T.shape == (3, 2) and x.detach().requires_grad is False
    y = x * 2
    assert not y.is_leaf and y.grad_fn.name == "mul"
    assert x.tolist() == [[1, 2, 3], [4, 5, 6]]
    assert np.asarray(x).shape == (2, 3)
    assert x.float() is x and x.double().dtype == np.float64
    with pytest.raises(RuntimeError, match="detach"):
        x.numpy()
    assert x.detach().numpy() is x.data


def test_scalar_conversions():
    x = tg.tensor([3.0])
    assert float(x) == 3.0 and int(x) == 3 and bool(x) and x.item() == 3.0
    expos = tg.tensor([0.5, 1.0])
    assert expos.min() >= 0  # the course's assertion style works
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(expos)
    with pytest.raises(ValueError, match=r"item: .*shape \(2,\)"):
        expos.item()
    with pytest.raises(TypeError, match="0-d"):
        len(tg.tensor(1.0))


def test_repr_like_pytorch():
    assert repr(tg.tensor([1.0, 2.0, 3.0], requires_grad=True)) == \
        "tensor([1., 2., 3.], requires_grad=True)"
    x = tg.tensor([1.0, 2.5], requires_grad=True)
    assert repr(x * 2) == "tensor([2., 5.], grad_fn=<MulBackward>)"
    assert repr(x.mean()) == "tensor(1.7500, grad_fn=<MulBackward>)"
    assert repr(tg.tensor(np.array([1.5]))) == "tensor([1.5000], dtype=float64)"
    assert repr(tg.tensor([1, 2])) == "tensor([1, 2])"


def test_creation_functions():
    assert tg.zeros(2, 3).shape == (2, 3) and tg.zeros((2, 3)).dtype == np.float32
    assert tg.ones(3).data.sum() == 3
    assert tg.full((2,), 7).dtype == np.int64 and tg.full((2,), 7.0).dtype == np.float32
    assert tg.arange(5).tolist() == [0, 1, 2, 3, 4] and tg.arange(0, 1, 0.25).dtype == np.float32
    np.testing.assert_array_equal(tg.eye(3).data, np.eye(3))
    assert tg.rand(100).data.min() >= 0 and tg.rand(100).data.max() < 1
    assert tg.randn(2, 2, requires_grad=True).requires_grad
    z = tg.zeros_like(tg.ones(2, dtype=tg.float64))
    assert z.dtype == np.float64 and z.data.sum() == 0
    assert tg.ones_like(z).data.sum() == 2 and tg.randn_like(z).dtype == np.float64


def test_manual_seed_makes_random_functions_reproducible():
    tg.manual_seed(42)
    a = tg.randn(5).data.copy(), tg.rand(3).data.copy()
    tg.manual_seed(42)
    b = tg.randn(5).data, tg.rand(3).data
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(tg.randn(5).data, a[0])


def test_comparisons_and_argmax_have_no_grad():
    x = tg.tensor([1.0, 3.0, 2.0], requires_grad=True)
    for c in (x < 2, x <= 2, x > 2, x >= 2, x == 2, x != 2):
        assert c.dtype == np.bool_ and not c.requires_grad
    assert x.argmax().item() == 1 and x.argmin().item() == 0
    m = tg.tensor([[1.0, 5.0], [7.0, 0.0]])
    assert m.argmax(dim=1).tolist() == [1, 0] and m.argmax(axis=0, keepdims=True).shape == (1, 2)


def test_amax_splits_gradient_evenly_among_ties():
    x = tg.tensor(np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]), requires_grad=True)
    x.amax(dim=1).sum().backward()
    np.testing.assert_allclose(x.grad.data, [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])


def test_relu_gradient_at_zero_is_zero():
    x = tg.tensor([0.0, 1.0, -1.0], requires_grad=True)
    x.relu().sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 0.0]


# -- bad input ----------------------------------------------------------------------------

@pytest.mark.parametrize("data,exc,match", [
    ([[1, 2], [3]], ValueError, "ragged"),
    (["a", "b"], TypeError, "numeric"),
    ([object()], TypeError, "numeric"),
])
def test_bad_data(data, exc, match):
    with pytest.raises(exc, match=match):
        tg.tensor(data)


@pytest.mark.parametrize("make,match", [
    (lambda: tg.tensor([1, 2], dtype=object), "tensor: dtype must be numeric.*object"),
    (lambda: tg.tensor([1, 2], dtype=str), "tensor: dtype must be numeric.*<U"),
    (lambda: tg.tensor([1, 2], dtype="no such dtype"), "tensor: 'no such dtype' is not a dtype"),
    (lambda: tg.zeros(2, dtype=object), "dtype must be numeric.*object"),
    (lambda: tg.ones(2).to(object), "to: dtype must be numeric.*object"),
    (lambda: tg.full((2,), "x"), "full: data must be numeric.*'x'"),
    (lambda: tg.full((2,), None), "full: data must be numeric.*None"),
])
def test_non_numeric_dtypes_are_refused(make, match):
    with pytest.raises(TypeError, match=match):
        make()


@pytest.mark.parametrize("exponent", [-1, tg.tensor(-2), tg.tensor([1, -1])])
def test_integer_to_a_negative_integer_power_says_so(exponent):
    with pytest.raises(ValueError, match="pow: Integers to negative integer powers are not "
                                         "allowed"):
        tg.tensor([1, 2]) ** exponent
    assert (tg.tensor([1.0, 2.0]) ** exponent).dtype == tg.float32  # floats may


def test_requires_grad_on_integer_data():
    with pytest.raises(RuntimeError, match="floating-point.*int64"):
        tg.tensor([1, 2], requires_grad=True)


def test_broadcast_error_names_op_and_shapes():
    a, b = tg.ones(3, 4), tg.ones(5)
    for op, name in [(lambda: a + b, "add"), (lambda: a * b, "mul"), (lambda: a - b, "sub"),
                     (lambda: a / b, "div"), (lambda: a.maximum(b), "maximum")]:
        msg = rf"{name}: shapes \(3, 4\) and \(5,\) cannot be broadcast"
        with pytest.raises(ValueError, match=msg):
            op()
    with pytest.raises(ValueError, match=r"lt: shapes"):
        a < b  # noqa: B015


def test_matmul_errors():
    msg = r"matmul: \(3, 4\) @ \(5, 2\): inner dimensions 4 and 5 differ"
    with pytest.raises(ValueError, match=msg):
        tg.ones(3, 4) @ tg.ones(5, 2)
    with pytest.raises(ValueError, match="at least 1 dimension"):
        tg.tensor(1.0) @ tg.ones(3)
    with pytest.raises(ValueError, match="batch dimensions"):
        tg.ones(2, 3, 4) @ tg.ones(5, 4, 2)


def test_backward_errors():
    with pytest.raises(RuntimeError, match="does not require grad"):
        tg.ones(3).sum().backward()
    x = tg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"only for scalar outputs.*shape \(3,\)"):
        (x * 2).backward()
    msg = r"gradient has shape \(2,\) but the tensor has shape \(3,\)"
    with pytest.raises(RuntimeError, match=msg):
        (x * 2).backward(tg.ones(2))


def test_index_errors():
    x = tg.ones(3, 4)
    with pytest.raises(IndexError, match=r"getitem: index 5 is out of bounds.*shape \(3, 4\)"):
        x[5]
    with pytest.raises(IndexError, match="getitem"):
        x[[0, 7]]
    with pytest.raises(IndexError, match=r"sum: dim 2 is out of range .* 2 dimensions"):
        x.sum(2)


def test_shape_op_errors():
    with pytest.raises(ValueError, match=r"reshape: cannot reshape a tensor of shape \(3, 4\)"):
        tg.ones(3, 4).reshape(5, 2)
    with pytest.raises(ValueError, match=r"expand: cannot expand shape \(3,\) to \(2, 4\)"):
        tg.ones(3).expand(2, 4)
    with pytest.raises(ValueError, match="cat: tensors must have the same shape except in dim 0"):
        tg.cat([tg.ones(2, 3), tg.ones(2, 4)])
    with pytest.raises(ValueError, match="stack: all tensors must have the same shape"):
        tg.stack([tg.ones(2), tg.ones(3)])
    with pytest.raises(ValueError, match="permute"):
        tg.ones(2, 3).permute(0, 0)
    with pytest.raises(ValueError, match="in place with shape"):
        tg.ones(3).add_(tg.ones(2, 3))
