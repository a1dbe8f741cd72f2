"""The cached constant arrays of the hot ops: right values, shared but read-only, and not
kept when large."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_sm as tg
from tinygrad_sm.ops import constants

FLOATS = st.sampled_from([np.float32, np.float64])


@settings(max_examples=30, deadline=None)
@given(data=st.data(), dtype=FLOATS)
def test_sums_equal_numpys(data, dtype):
    shape = data.draw(hnp.array_shapes(min_dims=2, max_dims=2, min_side=0, max_side=40))
    a = data.draw(hnp.arrays(dtype, shape, elements=st.floats(-100, 100, width=32)))
    tol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(constants.row_sums(a), a.sum(axis=1), rtol=tol, atol=tol)
    np.testing.assert_allclose(constants.column_sums(a), a.sum(axis=0), rtol=tol, atol=tol)
    assert constants.row_sums(a).dtype == dtype and constants.column_sums(a).dtype == dtype


def test_constants_are_shared_and_read_only():
    z = constants.zeros((3, 4), np.dtype(np.float32))
    assert z is constants.zeros((3, 4), np.dtype(np.float32))
    assert z.dtype == np.float32 and not z.any()
    with pytest.raises(ValueError, match="read-only"):
        z[0, 0] = 1
    one = constants.ones(5, np.float64)
    assert (one == 1).all() and not one.flags.writeable


def test_large_constants_are_not_kept():
    n = constants._LARGEST + 1
    assert constants.ones(n, np.float32) is not constants.ones(n, np.float32)
    big = constants.zeros((n,), np.float32)
    assert big.flags.writeable and not big.any()


def test_relu_output_is_its_own_writable_array():
    x = tg.tensor(np.array([[-1.0, 2.0], [3.0, -4.0]], np.float32))
    y = x.relu()
    y.data[0, 0] = 7  # must not write into the shared zeros
    assert not constants.zeros((2, 2), np.float32).any()
    np.testing.assert_array_equal(x.relu().numpy(), [[0, 2], [3, 0]])
