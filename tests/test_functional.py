"""Tests for tinygrad_sm.functional: identities of the softmax family, NumPy references,
gradcheck/gradgradcheck over hypothesis-drawn shapes (float64), PyTorch's loss semantics
(weights, ignore_index, label smoothing, reductions, K-dim inputs), stability for huge
logits, and the error messages."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import require_torch

import tinygrad_sm.functional as F
from tinygrad_sm.autograd import grad, gradcheck, gradgradcheck
from tinygrad_sm.core.creation import tensor
from tinygrad_sm.core.rng import manual_seed
from tinygrad_sm.fused.linear import Linear

fast = settings(max_examples=15, deadline=None)
seeds = st.integers(0, 2**32 - 1)
rows = st.integers(1, 4)
classes = st.integers(2, 5)


def rand(seed, shape, low=None):
    """Standard normals in float64; with ``low``, pushed to |x| >= low (away from kinks)."""
    x = np.random.default_rng(seed).standard_normal(shape)
    return x if low is None else np.sign(x + 1e-300) * (np.abs(x) + low)


def leaf(a):
    return tensor(np.asarray(a, np.float64), requires_grad=True)


def np_log_softmax(x, axis):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def np_cross_entropy(x, t, weight=None, ignore_index=-100, reduction="mean", eps=0.0):
    """PyTorch's definition, written out loop by loop (LossNLL.cpp)."""
    c = x.shape[1]
    lp = np.moveaxis(np_log_softmax(x, 1), 1, -1).reshape(-1, c)
    t2 = np.asarray(t).reshape(-1)
    w = np.ones(c) if weight is None else np.asarray(weight, np.float64)
    nll, smooth, wsum = np.zeros(len(t2)), np.zeros(len(t2)), 0.0
    for i, ti in enumerate(t2):
        if ti == ignore_index:
            continue
        nll[i] = -w[ti] * lp[i, ti]
        smooth[i] = -(w * lp[i]).sum()
        wsum += w[ti]
    if reduction == "none":
        return ((1 - eps) * nll + eps / c * smooth).reshape((x.shape[0],) + x.shape[2:])
    total = (1 - eps) * nll.sum() + eps / c * smooth.sum()
    return total if reduction == "sum" else total / wsum


def targets(seed, shape, c, ignore_index=None):
    r = np.random.default_rng(seed + 1)
    t = r.integers(0, c, shape)
    if ignore_index is not None:
        t[r.random(shape) < 0.3] = ignore_index
    return t


# -- the softmax family: identities ------------------------------------------------------------


@fast
@given(seeds, rows, st.integers(1, 6), st.sampled_from([3.0, -7.5, 1e4]))
def test_softmax_identities(seed, n, m, c):
    x = tensor(rand(seed, (n, m)) * 3)
    p = F.softmax(x, dim=1)
    np.testing.assert_allclose(p.sum(1).data, 1.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(F.softmax(x + c, dim=1).data, p.data, rtol=1e-9, atol=1e-12)
    lse = F.logsumexp(x, 1)
    np.testing.assert_allclose(F.logsumexp(x + c, 1).data, lse.data + c, rtol=1e-12, atol=1e-9)
    mx = x.data.max(axis=1)
    assert np.all(mx <= lse.data + 1e-12) and np.all(lse.data <= mx + math.log(m) + 1e-12)
    np.testing.assert_allclose(F.log_softmax(x, 1).data, np_log_softmax(x.data, 1), atol=1e-12)


@fast
@given(seeds, st.integers(2, 6))
def test_logsumexp_of_scaled_x_over_scale_tends_to_the_max(seed, m):
    x = tensor(rand(seed, m))
    gaps = [abs(F.logsumexp(x * lam, 0).item() / lam - x.data.max()) for lam in (1, 10, 100, 1e4)]
    assert all(a >= b - 1e-12 for a, b in zip(gaps, gaps[1:]))  # monotone (up to rounding)
    assert gaps[-1] <= math.log(m) / 1e4 + 1e-12  # the bound log(n) / lambda


@fast
@given(seeds, st.integers(2, 6))
def test_temperature_limits_and_scale_is_not_invariant(seed, m):
    x = tensor(np.random.default_rng(seed).permutation(m).astype(np.float64))  # distinct
    onehot = np.eye(m)[np.argmax(x.data)]
    np.testing.assert_allclose(F.softmax(x, temperature=1e-3).data, onehot, atol=1e-12)
    np.testing.assert_allclose(F.softmax(x, temperature=1e9).data, 1 / m, atol=1e-8)
    assert not np.allclose(F.softmax(x * 2).data, F.softmax(x).data, atol=1e-3)
    np.testing.assert_allclose(F.softmax(x, temperature=0.5).data, F.softmax(x * 2).data,
                               atol=1e-15)
    np.testing.assert_allclose(F.log_softmax(x, temperature=2.0).data,
                               np_log_softmax(x.data / 2, 0), atol=1e-12)


def test_softmax_huge_values_float32():
    x = tensor(np.array([[1e4, 0.0, -1e4], [1e8, 1e8, 0.0]], np.float32))
    p = F.softmax(x, 1)
    assert p.dtype == np.float32
    np.testing.assert_allclose(p.data, [[1, 0, 0], [0.5, 0.5, 0]])
    np.testing.assert_allclose(F.logsumexp(x, 1).data, [1e4, 1e8 + math.log(2)], rtol=1e-7)


def test_temperature_must_be_positive():
    for t in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match=r"softmax: temperature must be > 0, got"):
            F.softmax(tensor([1.0, 2.0]), temperature=t)
        with pytest.raises(ValueError, match=r"log_softmax: temperature"):
            F.log_softmax(tensor([1.0, 2.0]), temperature=t)


# -- gradient checks (float64, hypothesis over shapes) -----------------------------------------


@fast
@given(seeds, rows, classes, st.sampled_from([0, 1, -1]), st.sampled_from([1.0, 0.7, 3.0]))
def test_softmax_family_gradients(seed, n, m, dim, temp):
    x = leaf(rand(seed, (n, m)))
    for fn in (lambda t: F.softmax(t, dim, temperature=temp),
               lambda t: F.log_softmax(t, dim, temperature=temp),
               lambda t: F.logsumexp(t, dim),
               lambda t: F.logsumexp(t, dim, keepdim=True)):
        assert gradcheck(fn, [x])
        assert gradgradcheck(fn, [x])


@fast
@given(seeds, st.sampled_from([(3,), (2, 3), (2, 2, 3)]), st.integers(1, 3), st.booleans())
def test_linear_matches_numpy_and_gradchecks(seed, xshape, out, with_bias):
    x = leaf(rand(seed, xshape))
    w = leaf(rand(seed + 1, (out, xshape[-1])))
    b = leaf(rand(seed + 2, out)) if with_bias else None
    y = F.linear(x, w, b)
    ref = x.data @ w.data.T + (b.data if with_bias else 0)
    np.testing.assert_allclose(y.data, ref, rtol=1e-12, atol=1e-12)
    inputs = [x, w, b] if with_bias else [x, w]
    assert gradcheck(lambda *a: F.linear(*a), inputs)
    assert gradgradcheck(lambda *a: F.linear(*a), inputs)


@fast
@given(seeds, rows, classes)
def test_pointwise_activation_gradients(seed, n, m):
    x = leaf(rand(seed, (n, m), low=0.1))  # away from the kink at 0
    for fn in (F.relu, F.sigmoid, F.tanh, lambda t: F.leaky_relu(t, 0.2), F.leaky_relu):
        assert gradcheck(fn, [x])
        assert gradgradcheck(fn, [x])
    np.testing.assert_array_equal(F.relu(x).data, np.maximum(x.data, 0))
    np.testing.assert_allclose(F.leaky_relu(x, 0.2).data, np.where(x.data > 0, x.data,
                                                                   0.2 * x.data))
    np.testing.assert_allclose(F.sigmoid(x).data, 1 / (1 + np.exp(-x.data)), rtol=1e-12)
    np.testing.assert_allclose(F.tanh(x).data, np.tanh(x.data))


def test_leaky_relu_gradient_at_zero_is_the_slope():
    x = leaf([0.0, 1.0, -1.0])
    F.leaky_relu(x, 0.25).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.25, 1.0, 0.25])


@fast
@given(seeds, rows, classes, st.sampled_from(["mean", "sum", "none"]))
def test_mse_loss(seed, n, m, reduction):
    x, y = leaf(rand(seed, (n, m))), rand(seed + 1, (n, m))
    d2 = (x.data - y) ** 2
    ref = {"mean": d2.mean(), "sum": d2.sum(), "none": d2}[reduction]
    np.testing.assert_allclose(F.mse_loss(x, y, reduction).data, ref, rtol=1e-12)
    assert gradcheck(lambda t: F.mse_loss(t, y, reduction), [x])
    assert gradgradcheck(lambda t: F.mse_loss(t, y, reduction), [x])
    t = leaf(y)  # the target may require grad too
    assert gradcheck(lambda a, b: F.mse_loss(a, b, reduction), [x, t])


# -- cross_entropy and nll_loss ------------------------------------------------------------------


options = st.fixed_dictionaries({
    "weighted": st.booleans(),
    "ignore": st.sampled_from([None, -100, 1]),
    "reduction": st.sampled_from(["mean", "sum", "none"]),
})


def _kwargs(seed, c, opts, eps=0.0):
    kw = {"reduction": opts["reduction"]}
    if opts["weighted"]:
        kw["weight"] = np.random.default_rng(seed + 2).uniform(0.5, 2.0, c)
    if opts["ignore"] is not None:
        kw["ignore_index"] = opts["ignore"]
    if eps:
        kw["label_smoothing"] = eps
    return kw


def _ensure_one_counted(t, ignore):
    """Keep at least one target that is not ignored (else 'mean' is nan)."""
    if ignore is not None and np.all(t == ignore):
        t.flat[0] = 0 if ignore != 0 else 1
    return t


@fast
@given(seeds, rows, classes, st.sampled_from([(), (3,), (2, 2)]), options,
       st.sampled_from([0.0, 0.1, 1.0]))
def test_cross_entropy_matches_pytorch_definition(seed, n, c, extra, opts, eps):
    x = leaf(rand(seed, (n, c) + extra) * 2)
    t = _ensure_one_counted(targets(seed, (n,) + extra, c, opts["ignore"]), opts["ignore"])
    kw = _kwargs(seed, c, opts, eps)
    out = F.cross_entropy(x, t, **kw)
    ref = np_cross_entropy(x.data, t, kw.get("weight"), kw.get("ignore_index", -100),
                           kw["reduction"], eps)
    np.testing.assert_allclose(out.data, ref, rtol=1e-12, atol=1e-12)
    assert gradcheck(lambda z: F.cross_entropy(z, t, **kw), [x])
    assert gradgradcheck(lambda z: F.cross_entropy(z, t, **kw), [x])


@fast
@given(seeds, rows, classes, st.sampled_from([(), (3,), (2, 2)]), options)
def test_cross_entropy_equals_nll_of_log_softmax(seed, n, c, extra, opts):
    x = leaf(rand(seed, (n, c) + extra) * 3)
    t = _ensure_one_counted(targets(seed, (n,) + extra, c, opts["ignore"]), opts["ignore"])
    kw = _kwargs(seed, c, opts)
    ce = F.cross_entropy(x, t, **kw)
    nll = F.nll_loss(F.log_softmax(x, 1), t, **kw)
    np.testing.assert_allclose(ce.data, nll.data, rtol=0, atol=1e-12)
    g_ce = grad(ce.sum(), x)[0].data
    g_nll = grad(nll.sum(), x)[0].data
    np.testing.assert_allclose(g_ce, g_nll, rtol=0, atol=1e-12)
    assert gradcheck(lambda z: F.nll_loss(z, t, **kw), [x])
    assert gradgradcheck(lambda z: F.nll_loss(F.log_softmax(z, 1), t, **kw), [x])


@fast
@given(seeds, rows, classes, options, st.sampled_from([0.0, 0.3]))
def test_cross_entropy_fast_backward_equals_the_recorded_one(seed, n, c, opts, eps):
    """backward runs in NumPy unless create_graph=True; both give the same numbers."""
    x = leaf(rand(seed, (n, c)))
    t = _ensure_one_counted(targets(seed, n, c, opts["ignore"]), opts["ignore"])
    kw = _kwargs(seed, c, opts, eps)
    loss = F.cross_entropy(x, t, **kw)
    weights = tensor(rand(seed + 5, loss.shape))
    fast_g = grad((loss * weights).sum(), x, retain_graph=True)[0]
    slow_g = grad((loss * weights).sum(), x, create_graph=True)[0]
    assert slow_g.requires_grad and not fast_g.requires_grad
    np.testing.assert_allclose(fast_g.data, slow_g.data, rtol=1e-12, atol=1e-15)


def test_cross_entropy_gradient_is_softmax_minus_onehot_over_n():
    x = leaf(rand(0, (4, 3)))
    t = np.array([0, 2, 1, 2])
    F.cross_entropy(x, t).backward()
    expected = (np.exp(np_log_softmax(x.data, 1)) - np.eye(3)[t]) / 4
    np.testing.assert_allclose(x.grad.data, expected, atol=1e-15)


def test_weighted_mean_divides_by_summed_weights_of_counted_targets():
    x = leaf([[1.0, 2.0, 0.5], [0.1, 0.2, 3.0], [2.0, -1.0, 0.0]])
    t = [2, 0, 1]
    w = np.array([2.0, 3.0, 5.0])
    lp = np_log_softmax(x.data, 1)
    per = np.array([-w[2] * lp[0, 2], -w[0] * lp[1, 0], -w[1] * lp[2, 1]])
    assert F.cross_entropy(x, t, weight=w).item() == pytest.approx(per.sum() / 10, rel=1e-12)
    assert F.nll_loss(tensor(lp), t, weight=w).item() == pytest.approx(per.sum() / 10, rel=1e-12)
    # ignoring the middle target drops its loss and its weight from the normalizer
    t2 = [2, -100, 1]
    expected = (per[0] + per[2]) / (w[2] + w[1])
    assert F.cross_entropy(x, t2, weight=w).item() == pytest.approx(expected, rel=1e-12)
    assert F.cross_entropy(x, [2, 0, 1], weight=w, ignore_index=0).item() == pytest.approx(
        expected, rel=1e-12)  # ignore_index may also be a valid class
    np.testing.assert_allclose(F.cross_entropy(x, t2, weight=w, reduction="none").data,
                               [per[0], 0.0, per[2]], rtol=1e-12)
    F.cross_entropy(x, t2, weight=w).backward()
    np.testing.assert_array_equal(x.grad.data[1], 0.0)  # an ignored row gets no gradient


def test_label_smoothing_uses_class_weights_as_pytorch():
    x = np.array([[1.0, 2.0, 0.5], [0.1, 0.2, 3.0]])
    t, w, eps = [2, 0], np.array([2.0, 3.0, 5.0]), 0.2
    lp = np_log_softmax(x, 1)
    nll = (-w[2] * lp[0, 2] - w[0] * lp[1, 0]) / (w[2] + w[0])
    smooth = -(lp * w).sum() / (w[2] + w[0])
    expected = (1 - eps) * nll + eps / 3 * smooth
    got = F.cross_entropy(tensor(x), t, weight=w, label_smoothing=eps).item()
    assert got == pytest.approx(expected, rel=1e-12)


def test_all_targets_ignored_gives_nan():
    x = tensor(np.zeros((2, 3)))
    assert np.isnan(F.cross_entropy(x, [-100, -100]).item())
    assert np.isnan(F.nll_loss(x, [-100, -100]).item())
    assert F.cross_entropy(x, [-100, -100], reduction="sum").item() == 0


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("eps", [0.0, 0.2])
def test_mean_gradient_when_the_counted_weights_sum_to_zero(create_graph, eps):
    # 0/0: the loss is nan, and so is the gradient of every counted row, as PyTorch; an
    # ignored row's stays 0, so ignoring every target gives gradient 0 (PyTorch's values)
    z = np.array([[1.0, 2.0, 0.5], [0.3, -1.0, 2.0]])
    for target, weight, nan_rows in (([-100, -100], None, []),
                                     ([0, 1], [0.0, 0.0, 1.0], [0, 1]),
                                     ([0, -100], [0.0, 0.0, 1.0], [0])):
        x = tensor(z, requires_grad=True)
        loss = F.cross_entropy(x, target, weight=weight, label_smoothing=eps)
        (g,) = grad(loss, [x], create_graph=create_graph)
        assert np.isnan(loss.item())
        assert np.isnan(g.detach().numpy()[nan_rows]).all()
        keep = [i for i in range(2) if i not in nan_rows]
        assert (g.detach().numpy()[keep] == 0).all()


def test_mean_of_no_rows_has_an_empty_gradient_of_any_order():
    x = tensor(np.zeros((0, 3)), requires_grad=True)
    loss = F.cross_entropy(x, np.zeros(0, np.int64))
    (g,) = grad(loss, [x], create_graph=True)
    assert np.isnan(loss.item()) and g.shape == (0, 3)


@pytest.mark.parametrize("value,target,expected", [
    (1e8, [0], math.log(2)),   # two equal huge logits: log 2, not 0
    (1e4, [0], math.log(2)),
])
def test_cross_entropy_huge_logits_float32(value, target, expected):
    x = tensor(np.array([[value, value]], np.float32), requires_grad=True)
    loss = F.cross_entropy(x, target)
    assert loss.dtype == np.float32
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    loss.backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.data, [[-0.5, 0.5]])


def test_cross_entropy_logits_of_1e4_float32_values_and_gradients():
    x = tensor(np.array([[1e4, 0.0, -1e4], [0.0, 1e4, 1e4]], np.float32), requires_grad=True)
    loss = F.cross_entropy(x, [1, 0], reduction="none")
    np.testing.assert_allclose(loss.data, [1e4, 1e4 + math.log(2)], rtol=1e-6)
    loss.sum().backward()
    np.testing.assert_allclose(x.grad.data, [[1, -1, 0], [-1, 0.5, 0.5]], atol=1e-6)
    assert np.isfinite(x.grad.data).all()


def test_float32_stays_float32():
    x = tensor(np.ones((3, 4), np.float32), requires_grad=True)
    w = np.array([1, 2, 3, 4], np.float64)  # a float64 weight must not promote the loss
    for loss in (F.cross_entropy(x, [0, 1, 3], weight=w, label_smoothing=0.1),
                 F.nll_loss(x, [0, 1, 3], weight=w),
                 F.binary_cross_entropy_with_logits(x, np.zeros((3, 4)), pos_weight=w),
                 F.binary_cross_entropy(x * 0.5, np.zeros((3, 4))),
                 F.mse_loss(x, np.zeros((3, 4)))):
        assert loss.dtype == np.float32
        x.grad = None
        loss.backward()
        assert x.grad.dtype == np.float32


def test_targets_may_be_tensors_arrays_or_lists():
    x = tensor(rand(3, (3, 4)))
    ref = F.cross_entropy(x, [0, 3, 1]).item()
    assert F.cross_entropy(x, np.array([0, 3, 1], np.int32)).item() == ref
    assert F.cross_entropy(x, tensor([0, 3, 1])).item() == ref


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16, np.int32, np.uint32, np.int64])
def test_target_bounds_are_checked_for_every_integer_dtype(dtype):
    # the bounds check reads the indices as unsigned, so that one pass finds both a negative
    # index and one >= C; this checks it for every width and signedness
    x = tensor(rand(4, (3, 4)))
    ref = F.cross_entropy(x, [3, 0, 2]).item()
    assert F.cross_entropy(x, np.array([3, 0, 2], dtype)).item() == ref
    with pytest.raises(IndexError, match="target 4 is out of bounds"):
        F.cross_entropy(x, np.array([0, 4, 1], dtype))
    if np.issubdtype(dtype, np.signedinteger):
        with pytest.raises(IndexError, match="target -2 is out of bounds"):
            F.cross_entropy(x, np.array([0, -2, 1], dtype))


def test_narrow_signed_targets_with_many_classes():
    # with C above the dtype's signed range, a negative index read as unsigned looks valid:
    # the check must not take that shortcut then
    x = tensor(rand(6, (3, 300)))
    got = F.cross_entropy(x, np.array([-100, 3, 7], np.int8))  # row 0 ignored
    np.testing.assert_allclose(got.item(), F.cross_entropy(x[1:], [3, 7]).item(), rtol=1e-12)
    with pytest.raises(IndexError, match="target -1 is out of bounds"):
        F.cross_entropy(x, np.array([-1, 3, 7], np.int8))
    big_endian = np.array([1, 2, 299], ">i4")
    assert F.cross_entropy(x, big_endian).item() == F.cross_entropy(x, [1, 2, 299]).item()
    with pytest.raises(IndexError, match="target 300 is out of bounds"):
        F.cross_entropy(x, np.array([1, 300, 2], ">i4"))


def test_ignore_index_that_is_a_class_index():
    x = tensor(rand(5, (3, 4)))
    got = F.cross_entropy(x, [2, 1, 2], ignore_index=2)  # only the middle row counts
    np.testing.assert_allclose(got.item(), F.cross_entropy(x[1:2], [1]).item(), rtol=1e-12)


# -- errors: each names the function and the bad value -----------------------------------------


@pytest.mark.parametrize("fn", [F.cross_entropy, F.nll_loss])
def test_class_index_errors(fn):
    name = fn.__name__
    x = tensor(np.zeros((3, 4)))
    with pytest.raises(TypeError, match=rf"{name}: target must hold integer class indices, "
                                        r"got dtype float"):
        fn(x, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(IndexError, match=rf"{name}: target 7 is out of bounds: .*\[0, 4\) "
                                         r"for C = 4 classes"):
        fn(x, [0, 7, 1])
    with pytest.raises(IndexError, match=rf"{name}: target -1 is out of bounds"):
        fn(x, [0, -1, 1])
    fn(x, [0, -100, 1])  # ignore_index is not out of bounds
    fn(x, [0, -5, 1], ignore_index=-5)
    with pytest.raises(ValueError, match=rf"{name}: target has shape \(2,\), but .* of shape "
                                         r"\(3, 4\) needs a target of shape \(3,\)"):
        fn(x, [0, 1])
    with pytest.raises(ValueError, match=rf"{name}: .* must have shape \(N, C\) or "
                                         r"\(N, C, d1, ...\).*got shape \(4,\)"):
        fn(tensor(np.zeros(4)), [1])
    with pytest.raises(ValueError, match=rf"{name}: weight must have one entry per class, "
                                         r"shape \(4,\); got shape \(3,\)"):
        fn(x, [0, 1, 2], weight=np.ones(3))
    with pytest.raises(ValueError, match=rf"{name}: reduction must be one of"):
        fn(x, [0, 1, 2], reduction="avg")


def test_kdim_target_shape_error_mentions_positions():
    with pytest.raises(ValueError, match=r"needs a target of shape \(2, 5\)"):
        F.cross_entropy(tensor(np.zeros((2, 3, 5))), np.zeros((2, 3), np.int64))


@pytest.mark.parametrize("eps", [-0.1, 1.5, float("nan")])
def test_label_smoothing_outside_unit_interval(eps):
    with pytest.raises(ValueError, match=r"cross_entropy: label_smoothing must be in \[0, 1\], "
                                         rf"got {eps}"):
        F.cross_entropy(tensor(np.zeros((2, 3))), [0, 1], label_smoothing=eps)


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5, True])
def test_dropout_p_outside_range(p):
    with pytest.raises(ValueError, match=rf"dropout: probability p must be in \[0, 1\), got "
                                         rf"{p!r}"):
        F.dropout(tensor(np.ones(3)), p)


def test_linear_with_no_output_features_backprops():
    x = tensor(np.ones((2, 4, 3)), requires_grad=True)
    F.linear(x, tensor(np.ones((0, 3)))).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.zeros((2, 4, 3)))


def test_linear_shape_errors():
    with pytest.raises(ValueError, match=r"linear: input of shape \(2, 3\) does not fit a "
                                         r"weight of shape \(4, 5\).*in_features = 5"):
        F.linear(tensor(np.ones((2, 3))), tensor(np.ones((4, 5))))
    with pytest.raises(ValueError, match=r"linear: bias of shape \(3,\) does not fit"):
        F.linear(tensor(np.ones((2, 5))), tensor(np.ones((4, 5))), tensor(np.ones(3)))
    with pytest.raises(ValueError, match=r"linear: input of shape \(\) does not fit"):
        F.linear(tensor(np.array(1.0)), tensor(np.ones((4, 5))))
    with pytest.raises(ValueError, match=r"linear: input of shape \(5,\) does not fit a "
                                         r"weight of shape \(5,\)"):
        F.linear(tensor(np.ones(5)), tensor(np.ones(5)))


def test_shape_mismatch_of_regression_and_binary_targets():
    x = tensor(np.zeros((4, 1)))
    for fn in (F.mse_loss, F.binary_cross_entropy_with_logits, F.binary_cross_entropy):
        with pytest.raises(ValueError, match=rf"{fn.__name__}: target shape \(4,\) differs "
                                             r"from input shape \(4, 1\)"):
            fn(x + 0.5, np.zeros(4))


# -- linear: speed-related behaviour -----------------------------------------------------------


def test_linear_backward_skips_inputs_that_do_not_require_grad():
    x = tensor(np.ones((2, 3), np.float32))  # a first layer's input
    w = tensor(np.ones((4, 3), np.float32), requires_grad=True)
    b = tensor(np.ones(4, np.float32), requires_grad=True)
    y = Linear.apply(x, w, b)
    assert y.dtype == np.float32
    gx, gw, gb = y.grad_fn.backward(tensor(np.ones((2, 4), np.float32)))
    assert gx is None
    assert gw.dtype == np.float32 and gw.shape == (4, 3) and gb.shape == (4,)
    np.testing.assert_array_equal(gw.data, 2.0)
    np.testing.assert_array_equal(gb.data, 2.0)


def test_linear_refuses_mixed_dtypes_like_pytorch():
    # PyTorch's linear and matmul promote nothing: a float64 batch into a float32 model
    # is a mistake that the message explains
    x, w = np.ones((2, 3), np.float32), np.ones((4, 3), np.float32)
    with pytest.raises(RuntimeError, match="linear: the input is float32 but the bias is "
                                           r"float64.*x.double\(\)"):
        F.linear(tensor(x), tensor(w), tensor(np.ones(4)))
    with pytest.raises(RuntimeError, match="linear: the input is float64 but the weight is "
                                           r"float32.*model.float\(\)"):
        from tinygrad_sm.nn import Linear as LinearLayer

        LinearLayer(3, 4)(tensor(np.ones((2, 3))))
    with pytest.raises(RuntimeError, match="matmul: .* same dtype; got float32 @ float64"):
        tensor(x) @ tensor(np.ones((3, 2)))
    with pytest.raises(RuntimeError, match="matmul: .* same dtype; got int64 @ float32"):
        tensor([[1, 2, 3]]) @ tensor(w).T


# -- binary cross-entropies ------------------------------------------------------------------------


def np_bce_logits(x, y, w=1.0, pw=1.0):
    logsig = -np.logaddexp(0, -x)     # log sigmoid(x), exact in float64
    log1msig = -np.logaddexp(0, x)    # log(1 - sigmoid(x))
    return -w * (pw * y * logsig + (1 - y) * log1msig)


@fast
@given(seeds, rows, classes, st.booleans(), st.booleans(), st.sampled_from(["mean", "sum",
                                                                            "none"]))
def test_bce_with_logits_reference_and_gradients(seed, n, c, weighted, pos, reduction):
    x = leaf(rand(seed, (n, c)) * 3)
    y = leaf(np.random.default_rng(seed + 1).uniform(0, 1, (n, c)))  # soft labels too
    w = np.random.default_rng(seed + 2).uniform(0.5, 2, c) if weighted else None
    pw = np.random.default_rng(seed + 3).uniform(0.5, 3, c) if pos else None
    out = F.binary_cross_entropy_with_logits(x, y, w, pw, reduction)
    ref = np_bce_logits(x.data, y.data, 1.0 if w is None else w, 1.0 if pw is None else pw)
    ref = {"mean": ref.mean(), "sum": ref.sum(), "none": ref}[reduction]
    np.testing.assert_allclose(out.data, ref, rtol=1e-12, atol=1e-14)

    def fn(a, b):
        return F.binary_cross_entropy_with_logits(a, b, w, pw, reduction)

    assert gradcheck(fn, [x, y])
    assert gradgradcheck(fn, [x, y])


def test_bce_with_logits_is_stable_for_huge_logits():
    x = tensor(np.array([[1e4, -1e4, 800.0, -800.0]], np.float32), requires_grad=True)
    y = np.array([[0.0, 1.0, 1.0, 0.0]], np.float32)
    loss = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    np.testing.assert_allclose(loss.data, [[1e4, 1e4, 0, 0]], atol=1e-6)
    loss.sum().backward()
    np.testing.assert_allclose(x.grad.data, [[1, -1, 0, 0]], atol=1e-6)


def test_bce_with_logits_multilabel_pos_weight_per_class():
    x = tensor(np.zeros((2, 3)))
    y = np.array([[1.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
    loss = F.binary_cross_entropy_with_logits(x, y, pos_weight=np.array([1.0, 2.0, 3.0]),
                                              reduction="none")
    log2 = math.log(2)
    np.testing.assert_allclose(loss.data, [[log2, log2, 3 * log2], [log2, 2 * log2, log2]])
    with pytest.raises(ValueError, match=r"pos_weight of shape \(2,\) cannot be broadcast"):
        F.binary_cross_entropy_with_logits(x, y, pos_weight=np.ones(2))


@fast
@given(seeds, rows, classes, st.booleans())
def test_binary_cross_entropy_reference_and_gradients(seed, n, c, weighted):
    r = np.random.default_rng(seed)
    p = leaf(r.uniform(0.05, 0.95, (n, c)))
    y = leaf(r.uniform(0, 1, (n, c)))
    w = r.uniform(0.5, 2, (n, c)) if weighted else None
    ref = -(1.0 if w is None else w) * (y.data * np.log(p.data)
                                        + (1 - y.data) * np.log(1 - p.data))
    np.testing.assert_allclose(F.binary_cross_entropy(p, y, w).data, ref.mean(), rtol=1e-12)
    assert gradcheck(lambda a, b: F.binary_cross_entropy(a, b, w), [p, y])
    assert gradgradcheck(lambda a, b: F.binary_cross_entropy(a, b, w), [p, y])


def test_binary_cross_entropy_clamps_logs_at_minus_100():
    p = tensor(np.array([0.0, 1.0, 0.0, 1.0]), requires_grad=True)
    y = np.array([1.0, 0.0, 0.0, 1.0])
    loss = F.binary_cross_entropy(p, y, reduction="none")
    np.testing.assert_array_equal(loss.data, [100.0, 100.0, 0.0, 0.0])
    loss.sum().backward()
    assert np.isfinite(p.grad.data).all()  # PyTorch's 1e-12 floor in the backward
    with pytest.raises(ValueError, match=r"binary_cross_entropy: input must hold probabilities "
                                         r"in \[0, 1\]; got 1.5"):
        F.binary_cross_entropy(tensor([0.5, 1.5]), np.array([0.0, 1.0]))


# -- dropout, one_hot, accuracy --------------------------------------------------------------------


def test_dropout_zeroes_and_rescales_with_the_package_rng():
    x = tensor(np.ones((200, 50)))
    manual_seed(7)
    y = F.dropout(x, 0.3)
    kept = y.data != 0
    np.testing.assert_allclose(y.data[kept], 1 / 0.7)
    assert abs(kept.mean() - 0.7) < 0.02  # 10000 Bernoulli(0.7): sd 0.0046
    manual_seed(7)
    np.testing.assert_array_equal(F.dropout(x, 0.3).data, y.data)  # reproducible
    assert F.dropout(x, 0.3, training=False) is x
    assert F.dropout(x, 0.0) is x
    assert F.dropout(tensor(np.ones(3, np.float32)), 0.5).dtype == np.float32


@fast
@given(seeds, rows, classes)
def test_dropout_gradient_is_the_scaled_mask(seed, n, m):
    x = leaf(rand(seed, (n, m)))

    def fn(t):
        manual_seed(seed)  # the same mask on every call of gradcheck
        return F.dropout(t, 0.4)

    assert gradcheck(fn, [x])
    assert gradgradcheck(fn, [x])


def test_one_hot_and_accuracy():
    np.testing.assert_array_equal(F.one_hot([0, 2, 1]).data, np.eye(3, dtype=np.int64)[[0, 2, 1]])
    oh = F.one_hot(np.array([[1], [3]]), num_classes=5)
    assert oh.shape == (2, 1, 5) and oh.dtype == np.int64 and oh.data[1, 0, 3] == 1
    with pytest.raises(IndexError, match=r"one_hot: class index 5 is out of bounds for "
                                         r"num_classes = 5"):
        F.one_hot([5], 5)
    logits = tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    acc = F.accuracy(logits, [1, 0, 0, 1])
    assert acc.item() == 0.5 and acc.dtype == np.float32 and not acc.requires_grad
    assert F.accuracy(F.softmax(logits, 1), [1, 0, 1, 0]).item() == 1.0
    kdim = tensor(np.array([[[0.0, 1.0], [1.0, 0.0]]]))  # (1, 2 classes, 2 positions)
    assert F.accuracy(kdim, [[1, 0]]).item() == 1.0


# -- optional cross-check against PyTorch ----------------------------------------------------------


def test_against_torch_if_installed():
    torch = require_torch()
    tf = torch.nn.functional
    r = np.random.default_rng(0)
    x = r.standard_normal((5, 4, 3))
    t = r.integers(0, 4, (5, 3))
    t[0, 0] = -100
    w = r.uniform(0.5, 2, 4)
    for kw in ({}, {"weight": w}, {"weight": w, "label_smoothing": 0.2},
               {"reduction": "none", "label_smoothing": 0.1}, {"reduction": "sum"}):
        tkw = {k: torch.tensor(v) if k == "weight" else v for k, v in kw.items()}
        ours = F.cross_entropy(tensor(x), t, **kw).data
        theirs = tf.cross_entropy(torch.tensor(x), torch.tensor(t), **tkw).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
    y = r.uniform(0, 1, (5, 4))
    pw = r.uniform(0.5, 3, 4)
    ours = F.binary_cross_entropy_with_logits(tensor(x[..., 0]), y, pos_weight=pw).item()
    theirs = tf.binary_cross_entropy_with_logits(torch.tensor(x[..., 0]), torch.tensor(y),
                                                 pos_weight=torch.tensor(pw)).item()
    assert ours == pytest.approx(theirs, rel=1e-10)


def test_nan_and_infinities_against_torch_if_installed():
    torch = require_torch()
    z = np.array([[0.0, np.nan, 1.0], [np.inf, 0.0, 1.0], [-np.inf] * 3, [1e300, 2e300, 0.0],
                  [-np.inf, 0.0, 1.0], [-np.inf, 0.0, 1.0], [np.inf, -np.inf, 0.0]])
    t = np.array([0, 1, 0, 1, 0, 1, 2])
    for reduction in ("none", "mean"):
        ours, theirs = tensor(z, requires_grad=True), torch.tensor(z, requires_grad=True)
        loss = F.cross_entropy(ours, t, reduction=reduction)
        their_loss = torch.nn.functional.cross_entropy(theirs, torch.tensor(t),
                                                       reduction=reduction)
        loss.sum().backward()
        their_loss.sum().backward()
        np.testing.assert_allclose(loss.data, their_loss.detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-12)
    for name in ("softmax", "log_softmax", "logsumexp"):  # the same rows, create_graph too
        for create_graph in (False, True):
            ours, theirs = tensor(z, requires_grad=True), torch.tensor(z, requires_grad=True)
            y, their_y = getattr(ours, name)(1), getattr(theirs, name)(1)
            y.backward(tensor(np.ones(y.shape)), create_graph=create_graph)
            their_y.backward(torch.ones(their_y.shape))
            np.testing.assert_allclose(y.data, their_y.detach().numpy(), rtol=1e-12)
            np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-12)
    ours, theirs = tensor(z[1:2], requires_grad=True), torch.tensor(z[1:2], requires_grad=True)
    F.cross_entropy(ours, t[1:2]).backward(create_graph=True)
    torch.nn.functional.cross_entropy(theirs, torch.tensor(t[1:2])).backward()
    np.testing.assert_array_equal(ours.grad.data, theirs.grad.numpy())
    x = np.array([np.nan, -np.inf, np.inf, -1.0, -0.0, 0.0, 2.0])
    ours, theirs = tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ours.relu().sum().backward()
    torch.relu(theirs).sum().backward()
    np.testing.assert_array_equal(ours.relu().data, torch.relu(theirs).detach().numpy())
    np.testing.assert_array_equal(np.signbit(ours.relu().data),
                                  np.signbit(torch.relu(theirs).detach().numpy()))
    np.testing.assert_array_equal(ours.grad.data, theirs.grad.numpy())


@pytest.mark.parametrize("x_shape", [(5, 3), (2, 4, 3), (3,)])
def test_linear_numpy_fast_path_matches_tensor_path(x_shape):
    """backward() takes Linear's NumPy path; create_graph=True takes the Tensor-op path."""
    rng = np.random.default_rng(0)
    arrays = rng.standard_normal(x_shape), rng.standard_normal((2, 3)), rng.standard_normal(2)
    grads = []
    for create_graph in (False, True):
        x, w, b = (tensor(a, requires_grad=True) for a in arrays)
        (F.linear(x, w, b) ** 2).sum().backward(create_graph=create_graph)
        grads.append([t.grad.data for t in (x, w, b)])
    for fast, slow in zip(*grads):
        np.testing.assert_allclose(fast, slow, rtol=1e-12)


@pytest.mark.parametrize("target", [[-100, -100], [0, 0]])
def test_no_classes_is_refused_by_name(target):
    with pytest.raises(ValueError, match=r"cross_entropy: no classes in logits of shape \(2, 0\)"):
        F.cross_entropy(tensor(np.zeros((2, 0))), target)


@pytest.mark.parametrize("loss,name", [
    (lambda x: F.cross_entropy(x, tensor([0, 1])), "cross_entropy: logits"),
    (lambda x: F.nll_loss(x, tensor([0, 1])), "nll_loss: log_probs"),
    (lambda x: F.binary_cross_entropy_with_logits(x, x.float()),
     "binary_cross_entropy_with_logits: logits"),
])
def test_losses_refuse_integer_scores(loss, name):
    with pytest.raises(TypeError, match=f"{name} must be floating point, got int64"):
        loss(tensor([[1, 2], [3, 4]]))
