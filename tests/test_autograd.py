"""Backward semantics: accumulation, reuse, graph freeing, grad modes, higher-order
gradients, in-place safety, anomaly detection and very deep graphs."""

import numpy as np
import pytest

import tinygrad_sm as tg
from tinygrad_sm.autograd import AnomalyError, detect_anomaly, grad, hessian, jacobian


def leaf(x):
    return tg.tensor(np.asarray(x, np.float64), requires_grad=True)


# -- accumulation and reuse ---------------------------------------------------------------

def test_square_via_reuse():
    a = leaf([1.0, -2.0, 3.0])
    (a * a).sum().backward()
    np.testing.assert_array_equal(a.grad.data, [2.0, -4.0, 6.0])


def test_x_plus_x_plus_x():
    x = leaf(2.0)
    (x + x + x).backward()
    assert x.grad.item() == 3.0


def test_diamond():
    x = leaf(3.0)
    a, b = x * 2, x.exp()
    (a * b).backward()  # d/dx 2x e^x = 2 e^x (1 + x)
    np.testing.assert_allclose(x.grad.item(), 2 * np.exp(3.0) * 4.0)


def test_backward_waits_for_every_consumer_of_a_tensor(monkeypatch):
    # b is used by an op recorded long after it (e); backward must still sum both of b's
    # gradients before running b's op, whatever order the ops were created in
    from tinygrad_sm.core.function import Function

    x = leaf(0.5)
    a = x * 3
    b = a.exp()
    c = a * 2
    d = c.tanh()
    e = b * d + b
    drawn = [t.grad_fn.name for t in tg.viz.graph.topological_order([e]) if t.grad_fn]
    ran = []  # ops in the order backward finished them (each is released right after)
    release = Function.release
    monkeypatch.setattr(Function, "release",
                        lambda fn, memo: (ran.append(fn.name), release(fn, memo)))
    e.backward()  # e = e^(3x) (tanh(6x) + 1)
    want = 3 * np.exp(1.5) * (np.tanh(3.0) + 1) + np.exp(1.5) * 6 * (1 - np.tanh(3.0) ** 2)
    np.testing.assert_allclose(x.grad.item(), want, rtol=1e-12)
    assert ran == drawn == ["add", "mul", "tanh", "mul", "exp", "mul"]  # viz shows the order


def test_copied_non_leaf_tensor_backward():
    # a copy shares its op (and its number); the engine must not compare the two tensors
    import copy

    x = leaf([1.0, 2.0])
    y = x * 2
    z = copy.copy(y)
    (y * z).sum().backward(retain_graph=True)  # = 4 x^2
    np.testing.assert_array_equal(x.grad.data, [8.0, 16.0])


def test_graph_loaded_from_another_process_keeps_its_order(monkeypatch):
    # ops unpickled keep their numbers; ops recorded after loading must be numbered above
    import itertools
    import pickle

    from tinygrad_sm.core import bookkeeping as function

    x = leaf([1.0, 2.0])
    for _ in range(50):
        x = x * 1.0  # the graph's ops get numbers far above a fresh process's counter
    blob = pickle.dumps(x * x)
    monkeypatch.setattr(function, "_numbering", itertools.count())  # "a new process"
    y = pickle.loads(blob)
    leaf0 = y.grad_fn.inputs[0]
    while leaf0.grad_fn is not None:
        leaf0 = leaf0.grad_fn.inputs[0]
    (y * 2 + y).sum().backward()  # d/dx 3 x^2
    np.testing.assert_allclose(leaf0.grad.data, [6.0, 12.0], rtol=1e-12)


def test_gradients_accumulate_across_backward_calls():
    x = leaf([1.0, 2.0])
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3 + 2, 3 + 4])


def test_leaf_grads_are_not_aliased():
    """Add passes its gradient through unchanged; each leaf must still own its array."""
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (a + b).sum().backward()
    a.grad.data[0] = 100.0
    assert b.grad.data[0] == 1.0


def test_retain_grad_on_intermediate():
    x = leaf([1.0, 2.0])
    y = (x * 2).retain_grad()
    (y * y).sum().backward()
    np.testing.assert_array_equal(y.grad.data, [4.0, 8.0])
    with pytest.warns(UserWarning, match="retain_grad"):
        assert (x * 2).grad is None  # not retained by default


def test_gradient_cast_back_to_input_dtype():
    x = tg.tensor([1.0, 2.0], requires_grad=True)  # float32
    (x.double() * tg.tensor(np.array([1.0, 2.0]))).sum().backward()
    assert x.grad.dtype == np.float32
    y = tg.tensor([1.0, 2.0], requires_grad=True)
    (y * np.array([2.0, 3.0])).sum().backward()  # float64 operand promotes the result
    assert y.grad.dtype == np.float32
    np.testing.assert_array_equal(y.grad.data, [2.0, 3.0])


def test_non_scalar_backward_with_gradient():
    x = leaf([1.0, 2.0, 3.0])
    (x * x).backward(gradient=tg.tensor(np.array([1.0, 0.0, 2.0])))
    np.testing.assert_array_equal(x.grad.data, [2.0, 0.0, 12.0])


# -- graph freeing ------------------------------------------------------------------------

def test_second_backward_through_freed_graph_raises():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_second_backward_through_op_with_nothing_saved_raises():
    x = leaf([1.0, 2.0])
    y = (x + 1).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [4.0, 8.0])


def test_freed_graph_keeps_structure_for_drawing():
    x = leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward()
    mul = y.grad_fn.inputs[0].grad_fn
    assert mul.name == "mul" and mul.saved is None
    assert mul.inputs[1] is x and mul.inputs[0].grad_fn.name == "exp"



def _mlp_loss(model, rng):
    """The loss of one batch of 64 through ``model``, after its backward."""
    import tinygrad_sm.functional as F

    x = tg.tensor(rng.standard_normal((64, 32)).astype(np.float32))
    loss = F.cross_entropy(model(x), tg.tensor(rng.integers(0, 10, 64)))
    loss.backward()
    return loss


def _mlp():
    tg.manual_seed(0)
    nn = tg.nn
    return nn.Sequential(nn.Linear(32, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                         nn.Linear(512, 10))


def _held_by_kept_losses(model, n):
    """Bytes still allocated (tracemalloc) after keeping ``n`` losses, as
    ``losses.append(loss)`` after each backward does."""
    import gc
    import tracemalloc

    rng = np.random.default_rng(0)
    _mlp_loss(model, rng)  # (a first step may allocate for good: not counted)
    gc.collect()
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        losses = [_mlp_loss(model, rng) for _ in range(n)]
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()
    assert len(losses) == n
    return held


def test_kept_losses_do_not_hold_the_activations():
    # losses.append(loss) keeps each graph; after backward it must not keep the
    # activations (64 x 512 floats per layer): 100 losses held 58 MiB before, PyTorch
    # about 5 (16 MB for 300)
    held = _held_by_kept_losses(_mlp(), 100)
    assert held < 10 * 2**20, f"{held / 2**20:.1f} MiB"


def test_released_graph_still_draws_and_says_what_was_freed():
    from tinygrad_sm.core.released import Released
    from tinygrad_sm.viz import to_dot

    model = _mlp()
    loss = _mlp_loss(model, np.random.default_rng(0))
    logits = loss.grad_fn.inputs[0]
    assert isinstance(logits, Released)  # (64 x 10 floats: over the 1 KiB kept as is)
    assert logits.shape == (64, 10) and logits.dtype == np.float32
    assert logits.grad_fn.name == "linear" and logits.requires_grad
    with pytest.raises(RuntimeError, match=r"shape \(64, 10\) \(made by linear\) was "
                                           r"released by backward.*retain_graph=True"):
        _ = logits.data
    drawing = to_dot(loss, dict(model.named_parameters()), show_data=True)
    # the batch, 3 linear outputs and 2 relu outputs; the parameters stay
    assert drawing.count("freed by backward") == 6
    assert drawing.count("(64, 512) float32") == 4  # the shapes stay
    with pytest.raises(RuntimeError, match="second time"):  # the freed graph says so first
        loss.backward()


def test_release_keeps_what_the_user_holds():
    # the graph drops its references; a tensor the user holds keeps its values, and one
    # that retains its gradient stays in the graph itself, gradient and all
    x = leaf(np.linspace(-1, 1, 512))
    h = x * 3  # held by the user
    kept = h.exp()
    kept.retain_grad()
    one = tg.tensor(np.ones(512), requires_grad=True)
    u = kept * one  # an intermediate no one holds
    loss = (u * 2).sum()
    loss.backward()
    np.testing.assert_array_equal(h.data, np.linspace(-1, 1, 512) * 3)
    assert kept.grad_fn.inputs[0] is not h  # a stand-in, in the graph...
    assert kept.grad_fn.inputs[0].shape == (512,)  # ...with the shape for drawings
    assert u.grad_fn.inputs[0] is kept and kept.grad is not None
    assert loss.grad_fn.inputs[0].grad_fn.inputs[0].grad_fn.inputs[0] is kept
    np.testing.assert_allclose(x.grad.data, 6 * np.exp(h.data))


def test_kept_losses_with_dropout_do_not_hold_the_masks():
    # dropout's mask is a constant the graph alone holds: released too (each mask is 128
    # KiB: 50 of them would hold 6.25 MiB)
    tg.manual_seed(0)
    nn = tg.nn
    model = nn.Sequential(nn.Linear(32, 512), nn.ReLU(), nn.Dropout(0.5), nn.Linear(512, 10))
    held = _held_by_kept_losses(model, 50)
    assert held < 2 * 2**20, f"{held / 2**20:.1f} MiB"


def test_release_drops_the_arrays_an_op_kept():
    x = tg.tensor(np.linspace(-1, 1, 512), requires_grad=True)
    h = x * 1
    y = h.relu()
    relu = y.grad_fn
    assert isinstance(relu.mask, np.ndarray)
    y.sum().backward()
    assert not hasattr(relu, "mask") and relu.saved is None


def test_released_graph_pickles_and_copies():
    import copy
    import pickle

    from tinygrad_sm.core.released import Released

    loss = _mlp_loss(_mlp(), np.random.default_rng(0))
    for again in (pickle.loads(pickle.dumps(loss)), copy.deepcopy(loss)):
        assert again.item() == loss.item()
        logits = again.grad_fn.inputs[0]
        assert isinstance(logits, Released) and logits.shape == (64, 10)
        assert logits.grad_fn.name == "linear" and logits.requires_grad


def test_small_intermediates_are_kept_as_they_are():
    # under 1 KiB, a stand-in would cost about what it frees
    x = leaf([1.0, 2.0])
    y = (x * 2).exp().sum()
    y.backward()
    assert type(y.grad_fn.inputs[0]) is tg.Tensor


# -- grad modes ---------------------------------------------------------------------------

def test_no_grad_records_nothing():
    x = leaf([1.0])
    with tg.no_grad():
        y = x * 2
    assert y.grad_fn is None and not y.requires_grad
    assert tg.is_grad_enabled()


def test_no_grad_decorator_and_enable_grad():
    x = leaf([1.0])

    @tg.no_grad()
    def f():
        with tg.enable_grad():
            inner = x * 2
        return x * 2, inner

    outer, inner = f()
    assert not outer.requires_grad and inner.requires_grad


def test_set_grad_enabled_as_statement_and_context():
    x = leaf([1.0])
    with tg.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert tg.is_grad_enabled()
    tg.set_grad_enabled(False)
    assert not tg.is_grad_enabled()
    tg.set_grad_enabled(True)
    assert (x * 2).requires_grad


# -- higher order ------------------------------------------------------------------------

def test_second_derivative_of_tanh():
    x = leaf(np.linspace(-2, 2, 7))
    (g,) = grad(x.tanh().sum(), x, create_graph=True)
    (gg,) = grad(g.sum(), x)
    t = np.tanh(x.data)
    np.testing.assert_allclose(gg.data, -2 * t * (1 - t**2), rtol=1e-12)


def test_hessian_of_logsumexp_is_softmax_covariance(rng):
    x = leaf(rng.standard_normal(5))
    h = hessian(lambda z: z.logsumexp(0), x)
    p = np.exp(x.data) / np.exp(x.data).sum()
    np.testing.assert_allclose(h.data, np.diag(p) - np.outer(p, p), atol=1e-14)


def test_jacobian_of_softmax(rng):
    x = leaf(rng.standard_normal(4))
    j = jacobian(lambda z: z.softmax(0), x)
    p = np.exp(x.data) / np.exp(x.data).sum()
    np.testing.assert_allclose(j.data, np.diag(p) - np.outer(p, p), atol=1e-14)


def test_backward_with_create_graph_gives_differentiable_grad():
    x = leaf([1.0, 2.0])
    (x**3).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    (gg,) = grad(x.grad.sum(), x)
    np.testing.assert_allclose(gg.data, 6 * x.data)


def test_grad_does_not_touch_dot_grad_and_checks_inputs():
    x, y = leaf([1.0]), leaf([2.0])
    (gx,) = grad((x * 3).sum(), x)
    assert gx.item() == 3.0 and x.grad is None
    with pytest.raises(RuntimeError, match="not used"):
        grad((x * 3).sum(), [x, y])
    assert grad((x * 3).sum(), [x, y], allow_unused=True)[1] is None


def test_hessian_of_linear_function_is_zero():
    x = leaf([1.0, 2.0])
    np.testing.assert_array_equal(hessian(lambda z: (z * 3).sum(), x).data, np.zeros((2, 2)))


# -- in-place safety ----------------------------------------------------------------------

def test_inplace_after_save_raises_naming_the_op():
    w = leaf([1.0, 2.0])
    c = tg.tensor(np.array([3.0, 4.0]))
    y = (w * c).sum()
    c.add_(1)
    with pytest.raises(RuntimeError, match="mul: .*modified by an in-place operation"):
        y.backward()


def test_inplace_on_saved_output_raises():
    x = leaf([1.0, 2.0])
    y = x.exp()
    z = y.sum()
    with tg.no_grad():
        y.mul_(2)
    with pytest.raises(RuntimeError, match="exp: .*in-place"):
        z.backward()


def test_inplace_on_leaf_requiring_grad_refused_outside_no_grad():
    w = leaf([1.0, 2.0])
    for op in (lambda: w.add_(1), lambda: w.mul_(2), lambda: w.zero_(), lambda: w.fill_(1),
               lambda: w.copy_(np.zeros(2)), lambda: w.clamp_(0, 1), lambda: w.sub_(1),
               lambda: w.div_(2)):
        with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
            op()
    with tg.no_grad():
        w.sub_(tg.tensor(np.array([1.0, 1.0])), alpha=0.5)
        w += 1
    np.testing.assert_array_equal(w.data, [1.5, 2.5])
    assert w._version == 2


@pytest.mark.parametrize("change", [
    lambda x: x[0].add_(1),                  # through a basic index (a view)
    lambda x: x.reshape(2, 2)[1].mul_(2),    # through a view of a view
    lambda x: x.detach().zero_(),            # through detach, which shares memory
    lambda x: x.T.fill_(3),                  # through a transpose
    lambda x: x[1, 1].mul_(2),               # through one entry (a 0-d view)
])
def test_inplace_change_through_a_view_is_caught(change):
    # a view shares its base's version counter, as in PyTorch: otherwise the gradient
    # of w would silently use the changed x
    x, w = tg.tensor(np.ones((2, 2))), leaf(np.ones((2, 2)))
    loss = (w * x).sum()  # mul saves x for w's gradient
    change(x)
    with pytest.raises(RuntimeError, match="mul: one of the tensors it saved .* modified"):
        loss.backward()


def test_inplace_change_of_the_base_of_a_saved_view_is_caught():
    x, w = tg.tensor(np.ones(4)), leaf(np.ones((2, 2)))
    loss = (w * x.reshape(2, 2)).sum()  # mul saves the view
    x.add_(1)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        loss.backward()


def test_an_inplace_write_that_fails_changes_no_version():
    x, w = tg.tensor(np.ones(3)), leaf(np.ones(3))
    loss = (w * x).sum()
    with pytest.raises(ValueError, match="add_: cannot update a tensor of shape"):
        x.expand(2, 3).add_(1)  # a read-only view
    with pytest.raises(ValueError, match="add_: cannot update"):
        x[:2].add_(np.ones(4))
    for write in (lambda v: v.fill_(2), lambda v: v.clamp_(0, 1)):  # every write checks
        with pytest.raises(ValueError, match="_: cannot update .* memory is read-only"):
            write(x.expand(2, 3))
    assert x._version == 0
    ints = tg.arange(3)
    with pytest.raises(ValueError, match="add_: .* does not cast to int64"):
        ints.add_(1, alpha=0.5)  # the check sees the scaled value, 0.5
    assert ints._version == 0
    loss.backward()
    np.testing.assert_array_equal(w.grad.data, [1.0, 1.0, 1.0])


def test_an_inplace_write_that_fails_midway_still_counts():
    # a warning turned error after the write (or a partial write) may leave changed data:
    # the version is bumped all the same, so backward refuses instead of being wrong
    x, w = tg.tensor(np.ones(2)), leaf(np.ones(2))
    loss = (w * x).sum()
    with np.errstate(divide="raise"), pytest.raises(FloatingPointError):
        x.div_(0)
    assert x._version == 1
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        loss.backward()


def test_inplace_with_alpha_still_refuses_an_operand_that_requires_grad():
    with pytest.raises(RuntimeError, match="add_: the operand requires grad"):
        tg.tensor(np.ones(2)).add_(leaf(np.ones(2)), alpha=2)
    x = tg.tensor(np.ones(2))
    x.sub_(np.array([1.0, 2.0]), alpha=0.5)
    np.testing.assert_array_equal(x.data, [0.5, 0.0])


def test_graphs_with_ops_that_save_their_output_pickle_and_deepcopy():
    import copy
    import gc
    import pickle

    a = leaf([1.0, 2.0])
    for out in (pickle.loads(pickle.dumps(a.exp())), copy.deepcopy(a.exp())):
        gc.collect()  # the original output is gone: the copy must not refer to it
        assert out.grad_fn.output is out
        out.sum().backward()
        (x,) = out.grad_fn.inputs
        np.testing.assert_allclose(x.grad.data, np.exp([1.0, 2.0]))


def test_copies_get_a_counter_of_their_own_and_parameters_share_a_tensors():
    import copy
    import pickle

    x = tg.tensor(np.ones(4))
    x.add_(1)
    x2, v2 = copy.deepcopy((x, x.reshape(2, 2)))  # copies: no memory shared
    assert x2._version == 1 and x2._counter is not v2._counter
    w = leaf(np.ones(4))
    loss = (w * x2).sum()
    v2.add_(1)
    loss.backward()  # x2 did not change
    y = pickle.loads(pickle.dumps(x))
    assert y._version == 1 and y._counter is not x._counter
    t = tg.tensor(np.ones(3))
    p = tg.nn.Parameter(t)  # shares t's memory, as torch.nn.Parameter does
    loss = (leaf(np.ones(3)) * p).sum()
    t.add_(1)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        loss.backward()


def test_one_entry_is_a_view_as_in_pytorch():
    x = tg.tensor([1.0, 2.0, 3.0])
    x[1].add_(10)
    np.testing.assert_array_equal(x.data, [1.0, 12.0, 3.0])
    assert x._version == 1 and x[1].shape == ()
    m = tg.tensor(np.arange(6.0).reshape(2, 3))
    m[tg.tensor(1)].add_(100)  # a 0-d integer tensor indexes as an int: a view
    m[tg.tensor(0), tg.tensor([1])].add_(100)  # a 1-d one is an advanced index: a copy
    np.testing.assert_array_equal(m.data, [[0, 1, 2], [103, 104, 105]])


def test_a_copy_made_by_indexing_has_its_own_version_counter():
    x, w = tg.tensor(np.ones(4)), leaf(np.ones(2))
    loss = (w * x[1:3]).sum()
    picked = x[[0, 3]]  # advanced indexing copies: changing the copy leaves x alone
    picked.add_(1)
    loss.backward()
    assert x._version == 0 and picked._version == 1
    np.testing.assert_array_equal(w.grad.data, [1.0, 1.0])


def test_augmented_assignment_inside_graph_rebinds():
    x = leaf([1.0, 2.0])
    h = x * 2
    before = h
    h += 1
    h.sum().backward()
    assert h is not before
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0])


def test_inplace_methods_values():
    t = tg.tensor([1.0, -2.0, 3.0])
    t.add_(1).mul_(2).sub_(1).div_(2)
    np.testing.assert_allclose(t.data, [1.5, -1.5, 3.5])
    t.clamp_(-1, 1)
    np.testing.assert_array_equal(t.data, [1, -1, 1])
    t[0] = 5
    assert t.data[0] == 5 and t._version == 6


# -- deep graphs --------------------------------------------------------------------------

def test_million_op_chain_has_no_recursion_error():
    x = leaf(1.0)
    y = x
    for _ in range(1_000_000):
        y = y + 1.0
    y.backward()
    assert x.grad.item() == 1.0


# -- anomaly detection --------------------------------------------------------------------

def test_anomaly_blames_op_that_creates_nan_in_forward():
    x = leaf([1.0, -1.0])
    with detect_anomaly(), pytest.raises(AnomalyError) as info:
        y = x * 2
        y.sqrt()  # sqrt(-2) = nan: this line is blamed
    msg = str(info.value)
    assert "sqrt produced nan in its forward pass" in msg
    assert "y.sqrt()" in msg and "test_autograd.py" in msg
    assert "input 0: shape (2,), min -2, max 2, held finite" in msg


def test_anomaly_blames_backward_and_not_ops_passing_nan_on():
    x = leaf([0.0, 1.0])
    with detect_anomaly():
        y = x.sqrt()  # forward finite; backward 1/(2*0) = inf
        z = (y * 3).sum()
        with pytest.raises(AnomalyError, match="sqrt produced inf in its backward pass"):
            z.backward()


def test_anomaly_does_not_blame_propagation():
    x = tg.tensor(np.array([np.nan, 1.0]), requires_grad=True)
    with detect_anomaly():
        y = (x * 2 + 1).exp().sum()  # nan came from the input, not from an op
        y.backward()
    assert np.isnan(y.item())


def test_leaf_grad_owns_its_array():
    """.grad is updated in place later, so it must never alias the user's gradient or a
    read-only broadcast view."""
    x = leaf([[1.0, 2.0]])
    x.sum().backward()  # Sum's backward hands back a broadcast view
    x.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[2.0, 2.0]])
    a = leaf([1.0, 2.0])
    user = np.array([5.0, 6.0])
    (a + 0.0).backward(tg.from_numpy(user))  # Add hands the gradient straight to a
    a.grad.data[0] = 0.0
    assert user[0] == 5.0


def test_op_names_come_from_class_names():
    from tinygrad_sm.core.function import Function

    names = {n: type(n, (Function,), {}).name for n in ("LogSoftmax", "GELU", "SiLU", "Relu")}
    assert names == {"LogSoftmax": "log_softmax", "GELU": "gelu", "SiLU": "si_lu",
                     "Relu": "relu"}
