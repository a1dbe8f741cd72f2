"""The NumPy idioms of the hot ops (ops/idioms.py): right values; the cached constants
shared but read-only, and not kept when large; and cross-entropy, which uses them most,
right on non-contiguous, nan, infinite and huge logits."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_sm as tg
from tinygrad_sm.core import idioms

FLOATS = st.sampled_from([np.float32, np.float64])


@settings(max_examples=30, deadline=None)
@given(data=st.data(), dtype=FLOATS)
def test_sums_equal_numpys(data, dtype):
    shape = data.draw(hnp.array_shapes(min_dims=2, max_dims=2, min_side=0, max_side=40))
    a = data.draw(hnp.arrays(dtype, shape, elements=st.floats(-100, 100, width=32)))
    tol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(idioms.row_sums(a), a.sum(axis=1), rtol=tol, atol=tol)
    np.testing.assert_allclose(idioms.column_sums(a), a.sum(axis=0), rtol=tol, atol=tol)
    assert idioms.row_sums(a).dtype == dtype and idioms.column_sums(a).dtype == dtype


def test_idioms_are_shared_and_read_only():
    z = idioms.zeros((3, 4), np.dtype(np.float32))
    assert z is idioms.zeros((3, 4), np.dtype(np.float32))
    assert z.dtype == np.float32 and not z.any()
    with pytest.raises(ValueError, match="read-only"):
        z[0, 0] = 1
    one = idioms.ones(5, np.float64)
    assert (one == 1).all() and not one.flags.writeable


def test_large_idioms_are_not_kept():
    n = idioms._LARGEST + 1
    assert idioms.ones(n, np.float32) is not idioms.ones(n, np.float32)
    big = idioms.zeros((n,), np.float32)
    assert big.flags.writeable and not big.any()


def test_relu_output_is_its_own_writable_array():
    x = tg.tensor(np.array([[-1.0, 2.0], [3.0, -4.0]], np.float32))
    y = x.relu()
    y.data[0, 0] = 7  # must not write into the shared zeros
    assert not idioms.zeros((2, 2), np.dtype(np.float32)).any()
    np.testing.assert_array_equal(x.relu().numpy(), [[0, 2], [3, 0]])


@settings(max_examples=50, deadline=None)
@given(v=hnp.arrays(st.sampled_from([np.int8, np.int64, np.uint16, np.float32]),
                    st.integers(1, 50)))
def test_largest_and_smallest_equal_max_and_min(v):
    # (a nan anywhere makes both nan, as max and min give)
    np.testing.assert_array_equal(idioms.largest(v), v.max())
    np.testing.assert_array_equal(idioms.smallest(v), v.min())


@pytest.mark.filterwarnings("error")  # PyTorch gives these nan without a warning, so do we
@pytest.mark.parametrize("reduction", ["none", "mean"])
def test_cross_entropy_of_nan_and_infinite_logits_is_pytorchs(reduction):
    # the row maxima read at argmax give what max gave; a row whose max is nan or +inf, or
    # whose logits are all -inf, has loss nan and gradient nan, as in PyTorch; a -inf
    # logit elsewhere is fine, and huge finite logits do not overflow
    z = np.array([[0.0, np.nan, 1.0], [np.inf, 0.0, 1.0], [-np.inf] * 3, [1e30, 2e30, 0.0],
                  [-np.inf, 0.0, 1.0], [-np.inf, 0.0, 1.0]], np.float32)
    target = np.array([0, 1, 0, 1, 0, 1])
    logits = tg.tensor(z, requires_grad=True)
    loss = tg.nn.functional.cross_entropy(logits, target, reduction="none")
    loss.sum().backward()
    assert np.isnan(loss.data[:3]).all() and np.isnan(logits.grad.data[:3]).all()
    assert loss.data[3] == 0 and loss.data[4] == np.inf
    np.testing.assert_allclose(loss.data[5], np.log1p(np.e), rtol=1e-6)
    np.testing.assert_allclose(logits.grad.data[3:], [[0, 0, 0], [-1, 1 / (1 + np.e),
                               np.e / (1 + np.e)], [0, -np.e / (1 + np.e), np.e / (1 + np.e)]],
                               rtol=1e-6)
    mean = tg.nn.functional.cross_entropy(tg.tensor(z[1:2]), target[1:2], reduction=reduction)
    assert np.isnan(mean.data).all()


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_cross_entropy_of_huge_logits_and_ignored_inf_rows_raises_no_warning(dtype):
    # the finiteness test's sum overflows for maxima near the dtype's largest value; the
    # careful path it then takes gives the same result, quietly
    big = float(np.finfo(dtype).max) * 0.9
    z = tg.tensor(np.array([[big, 0, 1], [big, 1, 0]], dtype), requires_grad=True)
    loss = tg.nn.functional.cross_entropy(z, np.array([0, 1]))
    loss.backward()
    assert loss.item() == pytest.approx((big - 1) / 2, rel=1e-3)
    np.testing.assert_allclose(z.grad.data, [[0, 0, 0], [0.5, -0.5, 0]])
    # an ignored row whose stand-in target logit is -inf: inf * 0 is dropped, no warning
    z = tg.tensor(np.array([[-np.inf, 0, 1], [0, 1, 2]], dtype))
    assert np.isfinite(tg.nn.functional.cross_entropy(z, np.array([-100, 1])).item())


def test_cross_entropy_of_non_contiguous_logits():
    # the op picks entries by flat index, so it must not be fooled by a transposed view
    rng = np.random.default_rng(0)
    raw = rng.standard_normal((4, 6))
    target = np.array([0, 3, 1, 1, 2, 0])
    grads = []
    for logits in (tg.tensor(raw, requires_grad=True).T,
                   tg.tensor(np.ascontiguousarray(raw.T), requires_grad=True)):
        assert logits.data.flags.c_contiguous == (len(grads) == 1)
        logits.retain_grad()
        tg.nn.functional.cross_entropy(logits, target).backward()
        grads.append(logits.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)
    p = np.exp(raw.T) / np.exp(raw.T).sum(1, keepdims=True)
    p[np.arange(6), target] -= 1
    np.testing.assert_allclose(grads[0], p / 6, rtol=1e-10)
