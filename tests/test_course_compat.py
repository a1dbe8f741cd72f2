"""Code written for PyTorch (the fast.ai course part 2, d2l) runs with only the import
changed: max(dim) with indices, samplers, the Tensor methods and functions the course
uses, and two pieces of the seed material run under both engines."""

import math
import pickle
from collections.abc import Iterable

import numpy as np
import pytest

import tinygrad_sm as tg
from tinygrad_sm.autograd import gradcheck, gradgradcheck
from tinygrad_sm.data import (
    BatchSampler,
    DataLoader,
    RandomSampler,
    Sampler,
    SequentialSampler,
    TensorDataset,
)

torch = pytest.importorskip("torch")


def leaf(a):
    return tg.tensor(np.asarray(a, np.float64), requires_grad=True)


def distinct(rng, shape):
    """Values at least 0.1 apart, so that a small step changes no max or min."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.1 + rng.uniform(0, 0.01)).reshape(shape)


# -- max(dim) and min(dim): (values, indices) -----------------------------------------


@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("dim, keepdim", [(0, False), (1, False), (-1, True), (2, True)])
def test_max_min_dim_return_values_and_indices_as_torch(name, dim, keepdim, rng):
    a = rng.integers(0, 3, (3, 4, 5)).astype(np.float32)  # many ties: the first one wins
    ours = getattr(tg.tensor(a), name)(dim, keepdim=keepdim)
    theirs = getattr(torch.tensor(a), name)(dim, keepdim=keepdim)
    values, indices = ours  # unpacks, as PyTorch's
    assert ours[0] is values and ours.values is values and ours.indices is indices
    np.testing.assert_array_equal(values.data, theirs.values.numpy())
    np.testing.assert_array_equal(indices.data, theirs.indices.numpy())
    assert indices.dtype == np.int64 and values.dtype == np.float32


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_dim_send_the_gradient_to_the_returned_index(name, rng):
    a = rng.integers(0, 3, (4, 6)).astype(np.float64)
    w = rng.standard_normal(4)
    x, tx = leaf(a), torch.tensor(a, requires_grad=True)
    (getattr(x, name)(1).values * tg.tensor(w)).sum().backward()
    (getattr(tx, name)(1).values * torch.tensor(w)).sum().backward()
    np.testing.assert_array_equal(x.grad.data, tx.grad.numpy())
    assert (x.grad.data != 0).sum() == 4  # one entry per row, ties or not


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_dim_propagate_nan_as_torch(name):
    a = np.array([[1.0, np.nan, 3.0, np.nan], [4.0, 2.0, 0.0, 1.0]])
    ours, theirs = getattr(tg.tensor(a), name)(1), getattr(torch.tensor(a), name)(1)
    np.testing.assert_array_equal(ours.values.data, theirs.values.numpy())
    np.testing.assert_array_equal(ours.indices.data, theirs.indices.numpy())


def test_course_idiom_max_minus_one_index_zero_is_the_row_maxima():
    x = tg.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    m = x.max(-1)[0]  # 03_minibatch_training's logsumexp; once it silently took row 0
    assert m.tolist() == [5.0, 7.0]


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_dim_gradcheck(name, rng):
    x = leaf(distinct(rng, (3, 4)))
    gradcheck(lambda t: getattr(t, name)(0).values, [x])
    gradcheck(lambda t: getattr(t, name)(-1, keepdim=True)[0] ** 2, [x])
    gradgradcheck(lambda t: getattr(t, name)(1).values ** 2, [x])


@pytest.mark.parametrize("name", ["max", "min"])
def test_full_max_min_split_ties_evenly_as_torch(name):
    a = np.array([[1.0, 3.0, 3.0], [1.0, 0.0, 3.0]]) * (1 if name == "max" else -1)
    x, tx = leaf(a), torch.tensor(a, requires_grad=True)
    out = getattr(x, name)()
    assert isinstance(out, tg.Tensor) and out.ndim == 0
    out.backward()
    getattr(tx, name)().backward()
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy())
    np.testing.assert_allclose(x.grad.data, [[0, 1 / 3, 1 / 3], [0, 0, 1 / 3]])


@pytest.mark.parametrize("name", ["amax", "amin"])
@pytest.mark.parametrize("dim", [(0, 2), -1, (1,), None])
def test_amax_amin_take_several_dims_and_split_ties_as_torch(name, dim, rng):
    a = rng.integers(0, 2, (2, 3, 4)).astype(np.float64)
    x, tx = leaf(a), torch.tensor(a, requires_grad=True)
    ours = getattr(x, name)(dim, keepdim=True) if dim is not None else getattr(x, name)()
    theirs = getattr(tx, name)(dim, keepdim=True) if dim is not None else getattr(tx, name)()
    np.testing.assert_array_equal(ours.data, theirs.detach().numpy())
    w = rng.standard_normal(ours.shape)
    (ours * tg.tensor(w)).sum().backward()
    (theirs * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-12)
    assert tg.amax is tg.Tensor.amax and tg.amin is tg.Tensor.amin


def test_max_min_with_a_tensor_are_maximum_and_minimum():
    x, y = tg.tensor([1.0, 5.0]), tg.tensor([3.0, 2.0])
    assert x.max(y).tolist() == [3.0, 5.0] and tg.min(x, y).tolist() == [1.0, 2.0]


def test_max_dim_of_a_0d_tensor_and_its_errors():
    values, indices = tg.tensor(4.0).max(0)
    assert values.item() == 4.0 and indices.item() == 0 and indices.ndim == 0
    with pytest.raises(TypeError, match=r"max: dim must be an int .* amax takes several dims"):
        tg.ones(2, 3).max((0, 1))
    with pytest.raises(ValueError, match=r"min: cannot reduce dim 1 of size 0 \(shape \(2, 0\)\)"):
        tg.ones(2, 0).min(1)
    with pytest.raises(IndexError, match="max: dim 2 is out of range"):
        tg.ones(2, 3).max(2)


# -- samplers ---------------------------------------------------------------------------


def dataset(n=10):
    return TensorDataset(np.arange(n, dtype=np.float32), np.arange(n))


def labels(loader):
    return [b[1].tolist() for b in loader]


def test_sequential_sampler():
    s = SequentialSampler(dataset(5))
    assert list(s) == [0, 1, 2, 3, 4] and len(s) == 5 and isinstance(s, Sampler)


def test_random_sampler_draws_from_the_package_generator():
    ds = dataset()
    tg.manual_seed(3)
    first = list(RandomSampler(ds))
    tg.manual_seed(3)
    assert list(RandomSampler(ds)) == first and sorted(first) == list(range(10))
    # one epoch draws what DataLoader(shuffle=True) draws from the same state
    tg.manual_seed(3)
    assert sum(labels(DataLoader(ds, 4, shuffle=True)), []) == first


def test_random_sampler_generator_replacement_and_num_samples():
    ds = dataset()
    s = RandomSampler(ds, generator=7)
    a, b = list(s), list(s)
    assert a != b and sorted(a) == sorted(b) == list(range(10))  # a new order each epoch
    assert list(RandomSampler(ds, generator=7)) == a  # the same seed, the same epochs
    g = np.random.default_rng(0)
    assert list(RandomSampler(ds, generator=g)) == list(np.random.default_rng(0).permutation(10))
    r = RandomSampler(ds, replacement=True, num_samples=50, generator=1)
    drawn = list(r)
    assert len(r) == len(drawn) == 50 and len(set(drawn)) < 10 + 1 and max(drawn) <= 9
    many = list(RandomSampler(ds, num_samples=25, generator=2))  # two permutations and a half
    assert len(many) == 25 and sorted(many[:10]) == sorted(many[10:20]) == list(range(10))
    assert len(set(many[20:])) == 5


def test_random_sampler_draws_its_order_at_iter():
    ds = dataset()
    tg.manual_seed(0)
    it = iter(RandomSampler(ds))
    tg.manual_seed(0)
    assert list(it) == list(RandomSampler(ds))


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(replacement=1), TypeError, "replacement must be a bool, got 1"),
    (dict(num_samples=0), ValueError, "num_samples must be a positive int, got num_samples=0"),
    (dict(generator="x"), TypeError, "generator must be None, an int seed"),
    (dict(generator=-1), ValueError, "seed, which must be >= 0; got generator=-1"),
])
def test_random_sampler_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        RandomSampler(dataset(), **kwargs)


def test_batch_sampler_as_torch():
    for drop_last in (False, True):
        ours = BatchSampler(SequentialSampler(range(10)), 3, drop_last)
        theirs = torch.utils.data.BatchSampler(range(10), 3, drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)
    with pytest.raises(ValueError, match="batch_size must be a positive int, got batch_size=0"):
        BatchSampler(range(3), 0, False)
    with pytest.raises(ValueError, match="drop_last must be a bool, got drop_last=None"):
        BatchSampler(range(3), 2, None)


def test_dataloader_with_a_sampler_batches_its_indices():
    ds = dataset()
    assert labels(DataLoader(ds, 4, sampler=[9, 8, 7, 6, 5])) == [[9, 8, 7, 6], [5]]
    loader = DataLoader(ds, batch_size=4, sampler=SequentialSampler(ds), drop_last=True)
    assert labels(loader) == [[0, 1, 2, 3], [4, 5, 6, 7]] and len(loader) == 2
    r = RandomSampler(ds, replacement=True, num_samples=7, generator=0)
    loader = DataLoader(ds, 3, sampler=r)
    assert len(loader) == 3 and [len(b) for b in labels(loader)] == [3, 3, 1]


def test_dataloader_with_a_batch_sampler_takes_its_batches():
    ds = dataset()
    bs = BatchSampler(RandomSampler(ds, generator=0), 4, drop_last=False)
    loader = DataLoader(ds, batch_sampler=bs)
    batches = labels(loader)
    assert len(loader) == 3 and [len(b) for b in batches] == [4, 4, 2]
    assert sorted(sum(batches, [])) == list(range(10))
    assert labels(DataLoader(ds, batch_sampler=[[1, 2], [0]])) == [[1, 2], [0]]
    # the slow path (items fetched one by one, collated) takes the same batches
    loader = DataLoader(ds, batch_sampler=[[3, 1]], collate_fn=tg.data.default_collate)
    assert labels(loader) == [[3, 1]]


@pytest.mark.parametrize("kwargs, match", [
    (dict(sampler=[0, 1], shuffle=True),
     r"sampler is mutually exclusive with shuffle and seed .* got shuffle=True"),
    (dict(sampler=[0, 1], seed=0), "sampler is mutually exclusive with shuffle and seed"),
    (dict(batch_sampler=[[0]], batch_size=2),
     r"batch_sampler is mutually exclusive with .* got batch_size=2"),
    (dict(batch_sampler=[[0]], shuffle=True, drop_last=True),
     "got shuffle=True, drop_last=True"),
    (dict(batch_sampler=[[0]], sampler=[0]), r"got sampler=\[0\]"),
])
def test_dataloader_sampler_options_are_exclusive_as_torch(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DataLoader(dataset(), **kwargs)


def test_dataloader_refuses_a_sampler_that_is_not_iterable():
    with pytest.raises(TypeError, match="sampler must be an iterable of indices .* got int"):
        DataLoader(dataset(), sampler=3)


# -- Tensor methods ------------------------------------------------------------------------


def test_clamp_min_and_clamp_max_and_their_gradient():
    a = np.array([-2.0, -0.5, 0.5, 2.0])
    x = leaf(a)
    assert x.clamp_min(0.0).tolist() == [0, 0, 0.5, 2] and x.clamp_max(0.0).tolist() == [
        -2, -0.5, 0, 0]
    gradcheck(lambda t: t.clamp_min(0.0) * t.clamp_max(1.0), [x])
    assert tg.clamp_min is tg.Tensor.clamp_min and tg.clamp_max is tg.Tensor.clamp_max


def test_clamp_min_and_clamp_max_in_place():
    x = tg.tensor([-2.0, 0.5, 2.0])
    assert x.clamp_min_(0.0) is x and x.tolist() == [0.0, 0.5, 2.0] and x._version == 1
    assert x.clamp_max_(1.0).tolist() == [0.0, 0.5, 1.0]
    with pytest.raises(RuntimeError, match="clamp_: a leaf tensor that requires grad"):
        tg.tensor([1.0], requires_grad=True).clamp_min_(0.0)


@pytest.mark.parametrize("a", [np.array([[0, 1, 0], [2, 0, 3]]), np.array([0.0, 1.5, 0.0]),
                               np.array(3), np.array(0), np.zeros((2, 2))])
def test_nonzero_as_torch(a):
    ours, theirs = tg.tensor(a).nonzero(), torch.tensor(a).nonzero()
    assert ours.shape == tuple(theirs.shape) and ours.dtype == np.int64
    np.testing.assert_array_equal(ours.data, theirs.numpy())
    for o, t in zip(tg.tensor(a).nonzero(as_tuple=True), torch.tensor(a).nonzero(as_tuple=True)):
        np.testing.assert_array_equal(o.data, t.numpy())
    assert tg.nonzero is tg.Tensor.nonzero


@pytest.mark.parametrize("a, dim", [(np.arange(6).reshape(2, 3), 1), (np.array([True, False]), 0),
                                    (np.arange(24.0).reshape(2, 3, 4) / 7, -2),
                                    (np.float32(2.5), 0)])
def test_cumsum_as_torch(a, dim):
    ours, theirs = tg.tensor(a).cumsum(dim), torch.cumsum(torch.tensor(a), dim)
    assert ours.dtype == np.dtype(str(theirs.dtype).removeprefix("torch."))
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-6)
    assert tg.cumsum(tg.tensor(a), dim).tolist() == ours.tolist()


def test_cumsum_gradient_is_the_reversed_cumsum(rng):
    x = leaf(rng.standard_normal((3, 4)))
    w = rng.standard_normal((3, 4))
    (x.cumsum(1) * tg.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.data, np.flip(np.cumsum(np.flip(w, 1), 1), 1))
    for dim in (0, 1, -1):
        gradcheck(lambda t, d=dim: t.cumsum(d) ** 2, [x])
        gradgradcheck(lambda t, d=dim: t.cumsum(d) ** 2, [x])
    gradcheck(lambda t: t.cumsum(0), [leaf(1.5)])


def test_cumsum_errors_name_the_op():
    with pytest.raises(IndexError, match="cumsum: dim 2 is out of range"):
        tg.ones(2, 3).cumsum(2)
    with pytest.raises(TypeError, match=r"cumsum: dim must be an int, got \(0, 1\)"):
        tg.ones(2, 3).cumsum((0, 1))


def test_cpu_is_the_tensor_itself():
    x = tg.ones(2)
    assert x.cpu() is x


@pytest.mark.parametrize("dtype, name", [(np.float32, "FloatTensor"), (np.float64, "DoubleTensor"),
                                         (np.int64, "LongTensor"), (np.bool_, "BoolTensor"),
                                         (np.int32, "IntTensor"), (np.uint8, "ByteTensor")])
def test_type_names_as_torch_and_casts(dtype, name):
    x = tg.tensor(np.ones(2, dtype))
    assert x.type() == f"tinygrad_sm.{name}"
    assert torch.tensor(np.ones(2, dtype)).type() == f"torch.{name}"
    assert tg.ones(2).type(dtype).dtype == dtype
    assert tg.ones(2).type(f"torch.{name}").dtype == dtype


def test_type_cast_is_differentiable():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    x.type(tg.float64).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]


def test_stride_in_elements_as_torch():
    a = np.arange(24.0).reshape(2, 3, 4)
    x, tx = tg.tensor(a), torch.tensor(a)
    for ours, theirs in [(x, tx), (x.transpose(0, 2), tx.transpose(0, 2)),
                         (x[:, 1], tx[:, 1]), (x[0:1].expand(5, 3, 4), tx[0:1].expand(5, 3, 4))]:
        assert ours.stride() == theirs.stride()
    assert x.stride(-1) == 1 and x.stride(0) == 12


def test_index_lets_a_one_element_integer_tensor_index_a_list():
    names = ["a", "b", "c"]
    assert names[tg.tensor(2)] == "c" and names[tg.tensor([1])] == "b"
    assert list(range(tg.tensor(3))) == [0, 1, 2]
    with pytest.raises(TypeError, match=r"index: only integer tensors .* shape \(\) and dtype "
                                        "float32"):
        names[tg.tensor(1.0)]
    with pytest.raises(TypeError, match=r"shape \(2,\)"):
        names[tg.tensor([0, 1])]
    # NumPy still takes an integer tensor as an index array, not as one index
    assert np.arange(5)[tg.tensor([1, 3])].tolist() == [1, 3]


def test_user_attributes_on_a_tensor():
    x = tg.tensor([1.0, 2.0])
    x.g = tg.tensor([3.0, 4.0])  # the course's hand-written backward stores gradients so
    assert x.g.tolist() == [3.0, 4.0]
    y = pickle.loads(pickle.dumps(x))
    assert y.g.tolist() == [3.0, 4.0] and y.tolist() == [1.0, 2.0]
    assert not hasattr(tg.tensor([1.0]), "g")
    assert not pickle.loads(pickle.dumps(tg.tensor([1.0]))).__dict__  # no empty state kept


def test_course_hand_written_backward_matches_autograd():
    """02_fully_connected: forward_and_backward with gradients stored as ``inp.g``."""

    def lin(x, w, b):
        return x @ w + b

    def relu(x):
        return x.clamp_min(0.0)

    def mse(output, targ):
        return (output.squeeze(-1) - targ).pow(2).mean()

    def mse_grad(inp, targ):
        inp.g = 2.0 * (inp.squeeze() - targ).unsqueeze(-1) / inp.shape[0]

    def relu_grad(inp, out):
        inp.g = (inp > 0).float() * out.g

    def lin_grad(inp, out, w, b):
        inp.g = out.g @ w.t()
        w.g = (inp.unsqueeze(-1) * out.g.unsqueeze(1)).sum(0)
        b.g = out.g.sum(0)

    def forward_and_backward(inp, targ, w1, b1, w2, b2):
        l1 = lin(inp, w1, b1)
        l2 = relu(l1)
        out = lin(l2, w2, b2)
        loss = mse(out, targ)
        mse_grad(out, targ)
        lin_grad(l2, out, w2, b2)
        relu_grad(l1, l2)
        lin_grad(inp, l1, w1, b1)
        return loss

    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in [(20, 5), (20,), (5, 8), (8,),
                                                                     (8, 1), (1,)]]
    x, y, w1, b1, w2, b2 = (tg.tensor(a) for a in arrays)
    forward_and_backward(x, y, w1, b1, w2, b2)
    params = [tg.tensor(a, requires_grad=True) for a in arrays[2:]]
    mse(lin(relu(lin(x, params[0], params[1])), params[2], params[3]), y).backward()
    for hand, auto in zip([w1, b1, w2, b2], params):
        np.testing.assert_allclose(hand.g.data, auto.grad.data, rtol=1e-4, atol=1e-6)


# -- functions --------------------------------------------------------------------------


def test_allclose_as_torch():
    a, b = [1.0, 2.0], [1.0, 2.0 + 1e-6]
    assert tg.allclose(tg.tensor(a), tg.tensor(b)) is True
    assert tg.allclose(tg.tensor(a), tg.tensor([1.0, 2.1])) is False
    assert tg.allclose(tg.tensor([1.0, 2.0]), tg.tensor([1.1, 2.2]), rtol=0.1)
    nan = tg.tensor([float("nan")])
    assert not tg.allclose(nan, nan) and tg.allclose(nan, nan, equal_nan=True)


@pytest.mark.parametrize("args", [(0, 1, 5), (-2.5, 7, 11), (3, 3, 1), (0, 1, 0), (1, 0, 4)])
def test_linspace_as_torch(args):
    ours, theirs = tg.linspace(*args), torch.linspace(*args)
    assert ours.dtype == np.float32 and ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match="linspace: steps must be a non-negative int, got -1"):
        tg.linspace(0, 1, -1)


def test_randperm_is_a_permutation_from_the_package_generator():
    p = tg.randperm(20)
    assert p.dtype == np.int64 and sorted(p.tolist()) == list(range(20))
    tg.manual_seed(5)
    a = tg.randperm(20).tolist()
    tg.manual_seed(5)
    assert tg.randperm(20).tolist() == a and tg.randperm(0).shape == (0,)
    with pytest.raises(ValueError, match="randperm: n must be a non-negative int, got -1"):
        tg.randperm(-1)


def test_normal_with_a_size_and_with_tensors():
    w = tg.normal(0, 0.01, size=(200, 50), requires_grad=True)
    assert w.shape == (200, 50) and w.dtype == np.float32 and w.requires_grad and w.is_leaf
    assert abs(w.data.mean()) < 0.01 / 10 and w.data.std() == pytest.approx(0.01, rel=0.05)
    m = tg.normal(tg.tensor([0.0, 100.0]), 1.0)
    assert m.shape == (2,) and abs(m.data[1] - 100) < 6
    s = tg.normal(tg.zeros(3, dtype=tg.float64), tg.tensor([0.0, 0.0, 0.0], dtype=tg.float64))
    assert s.dtype == np.float64 and s.tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="normal: std must be >= 0, got -1"):
        tg.normal(0, -1.0, size=(2,))
    with pytest.raises(TypeError, match="normal: give size="):
        tg.normal(0.0, 1.0)


def test_all_and_any_as_functions_with_dims():
    b = tg.tensor([[True, False], [True, True]])
    assert tg.all(b).item() is False and tg.any(b).item() is True
    assert tg.all(b, 1).tolist() == torch.all(torch.tensor(b.data), 1).tolist()
    assert tg.any(b, dim=0, keepdim=True).tolist() == [[True, True]]
    assert tg.all(tg.tensor([1, 2])).item() is True


def test_size_is_a_tuple_that_shapes_equal():
    s = tg.Size([2, 3])
    assert s == (2, 3) and tg.ones(2, 3).shape == s and tg.ones(2, 3).size() == s
    assert repr(s) == "Size([2, 3])" and s.numel() == 6 and isinstance(s, tuple)
    assert tg.ones(2, 3).shape != tg.Size([3, 2])


# -- einsum ---------------------------------------------------------------------------------

EQUATIONS = [
    ("ik,kj->ij", [(3, 4), (4, 5)]),  # the course's matmul
    ("bi,bj->bij", [(2, 3), (2, 4)]),  # the course's outer product per batch
    ("ij,ij->", [(3, 4), (3, 4)]),
    ("ik,kj", [(2, 3), (3, 4)]),  # implicit output
    ("ijk,ik->j", [(2, 3, 4), (2, 4)]),
    ("ij->i", [(3, 4)]),
    ("ij->ji", [(3, 4)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("ij,k->ijk", [(2, 3), (4,)]),
    ("i,j->", [(3,), (4,)]),  # each operand has letters the other lacks
]


@pytest.mark.parametrize("eq, shapes", EQUATIONS, ids=[e for e, _ in EQUATIONS])
def test_einsum_as_torch_and_gradcheck(eq, shapes, rng):
    arrays = [rng.standard_normal(s) for s in shapes]
    ours = tg.einsum(eq, *[tg.tensor(a) for a in arrays])
    theirs = torch.einsum(eq, *[torch.tensor(a) for a in arrays])
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-12, atol=1e-12)
    xs = [leaf(a) for a in arrays]
    gradcheck(lambda *t: tg.einsum(eq, *t), xs)
    gradgradcheck(lambda *t: tg.einsum(eq, *t), xs)
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    w = rng.standard_normal(ours.shape)
    (tg.einsum(eq, *xs) * tg.tensor(w)).sum().backward()
    (torch.einsum(eq, *ts) * torch.tensor(w)).sum().backward()
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(x.grad.data, t.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_einsum_takes_a_list_and_skips_operands_without_grad(rng):
    a, b = leaf(rng.standard_normal((2, 3))), tg.tensor(rng.standard_normal((3, 2)))
    out = tg.einsum("ij,jk->ik", [a, b])
    out.sum().backward()
    assert b.grad is None and a.grad.shape == (2, 3)


@pytest.mark.parametrize("eq, shapes, error, match", [
    ("ij,jk->ik", [(2, 3)], ValueError, "einsum: the equation 'ij,jk->ik' has 2 operand"),
    ("ii->i", [(3, 3)], ValueError, r"einsum: a letter repeated within one operand \('ii'"),
    ("...ij->ij", [(2, 3)], ValueError, r"einsum: ellipsis \('...'\) is not supported"),
    ("ij->k", [(2, 3)], ValueError, r"einsum: output letters \['k'\] appear in no operand"),
    ("ijk->i", [(2, 3)], ValueError, r"einsum: subscripts 'ijk' name 3 dims but the operand has "
                                     r"shape \(2, 3\)"),
    ("ij,jk->ik", [(2, 3), (4, 5)], ValueError, r"einsum: .*shapes \(2, 3\), \(4, 5\)"),
])
def test_einsum_errors_name_the_equation(eq, shapes, error, match):
    with pytest.raises(error, match=match):
        tg.einsum(eq, *[tg.ones(s) for s in shapes])


# -- the seed material, with only the import changed ---------------------------------------


def listify(o):
    if o is None:
        return []
    if isinstance(o, list):
        return o
    if isinstance(o, str):
        return [o]
    if isinstance(o, Iterable):
        return list(o)
    return [o]


def sched_lin(start, end):
    return lambda pos: start + pos * (end - start)


def sched_cos(start, end):
    return lambda pos: start + (1 + math.cos(math.pi * (1 - pos))) * (end - start) / 2


def combine_scheds_with(torch):
    """The forum's combine_scheds, verbatim but for ``tensor`` coming from ``torch``."""
    tensor = torch.tensor

    def combine_scheds(pcts, scheds):
        assert sum(pcts) == 1.
        pcts = tensor([0] + listify(pcts))
        assert torch.all(pcts >= 0)
        pcts = torch.cumsum(pcts, 0)
        def _inner(pos):
            idx = (pos >= pcts).nonzero().max()
            actual_pos = (pos-pcts[idx]) / (pcts[idx+1]-pcts[idx])
            return scheds[idx](actual_pos)
        return _inner

    return combine_scheds


@pytest.mark.parametrize("pcts", [[0.3, 0.7], [0.25, 0.25, 0.5]])
def test_combine_scheds_runs_as_with_torch(pcts):
    scheds = [sched_cos(0.3, 0.6), sched_cos(0.6, 0.2), sched_lin(0.2, 0.1)][: len(pcts)]
    ours = combine_scheds_with(tg)(pcts, scheds)
    theirs = combine_scheds_with(torch)(pcts, scheds)
    for pos in np.linspace(0, 0.99, 23):
        a, b = ours(float(pos)), theirs(float(pos))
        assert float(a) == pytest.approx(float(b), rel=1e-6, abs=1e-7), pos
    assert float(ours(0.0)) == pytest.approx(0.3) and float(ours(pcts[0])) == pytest.approx(0.6)


def d2l_softmax_regression(torch, X_np, y_np, W0, epochs=3, lr=0.1, batch_size=64):
    """d2l's softmax regression from scratch (3.6), with a fixed batch order and start."""
    num_inputs, num_outputs = X_np.shape[1], 10
    W = torch.normal(0, 0.01, size=(num_inputs, num_outputs), requires_grad=True)
    b = torch.zeros(num_outputs, requires_grad=True)
    with torch.no_grad():
        W.copy_(torch.tensor(W0))  # (the same start for both engines)

    def softmax(X):
        X_exp = torch.exp(X)
        partition = X_exp.sum(1, keepdim=True)
        return X_exp / partition

    def net(X):
        return softmax(torch.matmul(X.reshape((-1, W.shape[0])), W) + b)

    def cross_entropy(y_hat, y):
        return -torch.log(y_hat[range(len(y_hat)), y])

    def accuracy(y_hat, y):
        if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
            y_hat = y_hat.argmax(axis=1)
        cmp = y_hat.type(y.dtype) == y
        return float(cmp.type(y.dtype).sum())

    def sgd(params, lr, batch_size):
        with torch.no_grad():
            for param in params:
                param -= lr * param.grad / batch_size
                param.grad.zero_()

    X, y = torch.tensor(X_np), torch.tensor(y_np)
    history = []
    for _ in range(epochs):
        for i in range(0, len(X), batch_size):
            X_b, y_b = X[i:i + batch_size], y[i:i + batch_size]
            l = cross_entropy(net(X_b), y_b)  # noqa: E741 (d2l's name)
            l.sum().backward()
            sgd([W, b], lr, batch_size)
        with torch.no_grad():
            history.append((float(cross_entropy(net(X), y).mean()), accuracy(net(X), y) / len(y)))
    return history


def test_d2l_softmax_regression_trains_as_with_torch():
    from tinygrad_sm.datasets import load_digits

    digits = load_digits()
    X, y = (digits.X / 16).astype(np.float32), digits.y.astype(np.int64)
    W0 = np.random.default_rng(0).normal(0, 0.01, (64, 10)).astype(np.float32)
    ours = d2l_softmax_regression(tg, X, y, W0)
    theirs = d2l_softmax_regression(torch, X, y, W0)
    for (loss, acc), (t_loss, t_acc) in zip(ours, theirs):
        assert loss == pytest.approx(t_loss, rel=1e-4) and acc == pytest.approx(t_acc, abs=2e-3)
    assert ours[-1][0] < ours[0][0] < math.log(10) and ours[-1][1] > 0.8  # it learns


# -- .data is the NumPy array (a deliberate difference) ------------------------------------


def test_data_is_the_array_and_the_idioms_that_replace_grad_data_zero():
    p = tg.tensor([1.0, 2.0], requires_grad=True)
    (p * p).sum().backward()
    assert isinstance(p.data, np.ndarray) and isinstance(p.grad.data, np.ndarray)
    with tg.no_grad():
        p.grad.zero_()  # PyTorch's p.grad.data.zero_()
    assert p.grad.tolist() == [0.0, 0.0]
    p.grad = None  # or drop it: the next backward starts afresh
    (p * p).sum().backward()
    assert p.grad.tolist() == [2.0, 4.0]
