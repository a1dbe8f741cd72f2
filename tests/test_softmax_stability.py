"""logsumexp, softmax and log_softmax stay finite where the naive formulas overflow."""

import numpy as np
import pytest

import tinygrad_sm as tg
from tinygrad_sm.autograd import gradcheck, gradgradcheck


@pytest.mark.parametrize("scale,dtype", [(1e4, np.float32), (1e300, np.float64)])
@pytest.mark.parametrize("op", ["logsumexp", "softmax", "log_softmax"])
def test_huge_logits_give_finite_values_and_gradients(scale, dtype, op):
    x = tg.tensor(np.array([[1.0, -2.0, 3.0], [0.5, 0.25, -1.0]], dtype) * dtype(scale),
                  requires_grad=True)
    out = getattr(x, op)(dim=1)
    assert np.isfinite(out.data).all()
    weights = np.arange(1, out.numel() + 1, dtype=dtype).reshape(out.shape)
    (out * tg.tensor(weights)).sum().backward()
    assert np.isfinite(x.grad.data).all()


def test_values_at_1e4_are_right():
    x = tg.tensor([[1e4, 1e4], [1e4, 0.0]])
    np.testing.assert_allclose(x.logsumexp(1).data, [1e4 + np.log(2), 1e4], rtol=1e-7)
    np.testing.assert_allclose(x.log_softmax(1).data, [[-np.log(2)] * 2, [0, -1e4]])
    np.testing.assert_allclose(x.softmax(1).data, [[0.5, 0.5], [1, 0]])


def test_minus_inf_entries_get_zero_probability_and_zero_gradient():
    x = tg.tensor(np.array([[0.0, -np.inf, 1.0]]), requires_grad=True)
    logp = x.log_softmax(1)
    assert logp.data[0, 1] == -np.inf and np.isfinite(logp.data[0, [0, 2]]).all()
    assert x.softmax(1).data[0, 1] == 0
    (-logp[0, 2]).backward()  # a loss that picks a finite entry
    assert x.grad.data[0, 1] == 0 and np.isfinite(x.grad.data).all()
    y = tg.tensor(np.array([0.0, -np.inf, 1.0]), requires_grad=True)
    y.logsumexp(0).backward()
    assert y.grad.data[1] == 0 and not np.isnan(y.grad.data).any()


def test_documented_edge_cases():
    """All -inf: logsumexp -inf, softmax nan. A +inf or nan entry: nan (as PyTorch)."""
    with np.errstate(all="ignore"):
        row = tg.tensor(np.array([-np.inf, -np.inf]))
        assert row.logsumexp(0).item() == -np.inf
        assert np.isnan(row.softmax(0).data).all()
        assert np.isnan(tg.tensor(np.array([np.inf, 0.0])).log_softmax(0).data[0])
        assert np.isnan(tg.tensor(np.array([np.nan, 0.0])).softmax(0).data).all()


def test_log_softmax_backward_is_the_fused_formula(rng):
    x = tg.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    g = rng.standard_normal((3, 4))
    x.log_softmax(1).backward(tg.tensor(g))
    p = np.exp(x.data) / np.exp(x.data).sum(1, keepdims=True)
    np.testing.assert_allclose(x.grad.data, g - p * g.sum(1, keepdims=True), rtol=1e-12)


def test_big_logits_gradcheck_in_float64(rng):
    x = tg.tensor(rng.standard_normal((2, 3)) + 500.0, requires_grad=True)
    assert gradcheck(lambda x: x.log_softmax(1), [x])
    assert gradgradcheck(lambda x: x.logsumexp(1), [x])
