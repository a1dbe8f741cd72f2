"""PyTorch's semantics where they are easy to get wrong: dtype promotion, the dtype of
gradients, gradients at edge cases, values and errors, and grad mode per thread. (The
same behaviours are compared with torch itself in test_torch_oracle.py.)"""

import threading
import warnings

import numpy as np
import pytest

import tinygrad_sm as tg
import tinygrad_sm.functional as F

i32, i64, u8 = np.int32, np.int64, np.uint8
f16, f32, f64 = np.float16, np.float32, np.float64


def t(dtype, shape=(3,)):
    return tg.tensor(np.ones(shape, dtype))


# -- 1. dtypes follow torch.result_type ---------------------------------------------------


@pytest.mark.parametrize("a,b,want", [
    (t(i64), t(f32), f32), (t(i64), t(f16), f16), (t(f32), t(f64), f64), (t(i32), t(i64), i64),
    (t(np.bool_), t(u8), u8), (t(u8), t(i32), i32),
    (t(i32), 1, i32), (t(f32), 2.5, f32), (t(i64), 2.5, f32), (t(np.bool_), 2, i64),
    (t(np.bool_), 2.5, f32), (t(f16), 2.5, f16), (t(u8), True, u8),
    (t(f32), t(f64, ()), f32), (t(i32), t(i64, ()), i32), (t(i32), t(f64, ()), f64),
    (t(np.bool_), t(i32, ()), i32), (t(f32, ()), t(f64, ()), f64),
])
def test_binary_ops_promote_as_torch_result_type(a, b, want):
    ops = (lambda x, y: x + y, lambda x, y: y * x, tg.maximum, lambda x, y: tg.where(x > 0, x, y))
    for op in ops:
        assert op(a, b).dtype == want


def test_promotion_tables_of_the_docs_are_the_codes():
    import pathlib
    import re

    page = (pathlib.Path(__file__).parent.parent / "docs" / "engine.md").read_text()
    rows = re.findall(r"^\| (\w+) \| (.*) \|$", page, re.M)
    table = {}
    for name, cells in rows:
        table.setdefault(name, []).append(cells.split(" | "))
    names = ["bool", "uint8", "int32", "int64", "float16", "float32", "float64"]
    for a in names:
        x = t(np.dtype(a))
        dims, others = table[a]  # the two tables' rows for this dtype
        assert dims == [str((x * t(np.dtype(b))).dtype) for b in names]
        assert others == [str((x * v).dtype) for v in (t(np.bool_, ()), t(i64, ()), t(f64, ()),
                                                        True, 2, 2.5)]


def test_cat_and_float_ops_of_integers():
    assert tg.cat([t(i64), t(f32)]).dtype == f32
    assert tg.stack([t(i32), t(i64)]).dtype == i64
    assert (t(i64) / t(i64)).dtype == f32 and (1 / t(i32)).dtype == f32
    for fn in (tg.sqrt, tg.exp, tg.log, tg.sigmoid, tg.tanh):
        assert fn(t(i64)).dtype == f32
    assert t(f16).exp().dtype == f16 and t(i32).abs().dtype == i32


def test_matmul_and_linear_refuse_mixed_floats():
    with pytest.raises(RuntimeError, match=r"matmul: .*float32 @ float64.*\.double\(\)"):
        t(f32, (2, 3)) @ t(f64, (3, 2))
    with pytest.raises(RuntimeError, match="linear: the input is float64 but the weight is"):
        tg.nn.Linear(3, 2)(t(f64, (2, 3)))


def test_subtracting_a_bool_raises():
    for fn in (lambda: t(np.bool_) - t(f32), lambda: 1 - t(np.bool_), lambda: t(i64) - True):
        with pytest.raises(RuntimeError, match="sub: subtracting a bool"):
            fn()
    assert (t(np.bool_) + t(np.bool_)).dtype == np.bool_


# -- 2. a gradient has its input's dtype ---------------------------------------------------


def test_gradient_has_the_dtype_of_its_input():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    (x * 2).backward(gradient=np.array([1.0, 1.0]))
    assert x.grad.dtype == f32
    x.grad = None
    (x * 2).backward(gradient=tg.tensor(np.array([1.0, 1.0])))
    assert x.grad.dtype == f32
    y = tg.tensor(np.array([3.0, 4.0]), requires_grad=True)
    w = tg.tensor(np.array([1.0, 2.0], f16), requires_grad=True)
    x.grad = None
    ((x * y).sum() + (x * w).sum() + tg.cat([x, y]).sum() + (x ** y).sum()).backward()
    assert (x.grad.dtype, y.grad.dtype, w.grad.dtype) == (f32, f64, f16)
    (gx,) = tg.autograd.grad((x * y).sum(), [x])
    assert gx.dtype == f32


# -- 3. edge-case gradients -------------------------------------------------------------------


def test_pow_gradients_at_zero():
    x = tg.tensor(np.array([0.0, 1.0, 2.0]), requires_grad=True)
    p = tg.tensor(np.array(2.0), requires_grad=True)
    (x ** p).sum().backward()
    assert p.grad.item() == pytest.approx(4 * np.log(2))
    np.testing.assert_array_equal(x.grad.data, [0, 2, 4])
    x = tg.tensor([0.0, 1.0], requires_grad=True)
    (x ** 0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0, 0])


def test_std_and_var_of_a_constant_have_gradient_zero():
    for fn in (lambda x: x.std(), lambda x: x.var(), lambda x: x.std(0).sum(),
               lambda x: x.std(unbiased=False)):
        x = tg.ones(4, 2, requires_grad=True)
        fn(x).backward()
        np.testing.assert_array_equal(x.grad.data, np.zeros((4, 2)))


def test_abs_maximum_minimum_at_nan():
    x = tg.tensor([np.nan, -2.0], requires_grad=True)
    x.abs().sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0, -1])
    x = tg.tensor([np.nan, 1.0], requires_grad=True)
    (tg.maximum(x, tg.tensor(0.0)) + tg.minimum(x, tg.tensor(0.0))).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2, 1])


@pytest.mark.parametrize("dtype", [f32, f64])
def test_sigmoid_is_accurate_over_its_whole_range(dtype):
    fi = np.finfo(dtype)
    hi = -np.log(fi.tiny) * 0.999  # beyond, sigmoid(-x) is subnormal
    x = np.linspace(-hi, hi, 2001).astype(dtype)
    xt = tg.tensor(x, requires_grad=True)
    z = xt.sigmoid()
    z.sum().backward()
    xl = x.astype(np.longdouble)
    exact = 1 / (1 + np.exp(-xl))
    slope = exact * (1 / (1 + np.exp(xl)))
    rel = lambda a, b: np.abs((a - b) / b).max() / fi.eps  # noqa: E731 (in ulps)
    assert rel(z.data, exact) < 4 and rel(xt.grad.data, slope) < 8
    assert z.dtype == dtype and xt.grad.dtype == dtype


def test_bce_of_sigmoid_does_not_hit_the_clamp():
    x = tg.tensor([-20.0, -30.0])
    loss = F.binary_cross_entropy(x.sigmoid(), tg.tensor([1.0, 1.0]), reduction="none")
    np.testing.assert_allclose(loss.data, [20, 30], rtol=1e-5)


# -- 4. values and errors ----------------------------------------------------------------------


def test_contiguous_copies_only_what_is_not():
    a = tg.ones(2, 3)
    assert a.contiguous() is a
    b = a.T.contiguous()
    b.add_(1)
    np.testing.assert_array_equal(a.data, np.ones((2, 3)))
    assert b.data.flags.c_contiguous


def test_empty_dims_reduce_everything_and_repeated_dims_raise():
    x = tg.arange(6.0).reshape(2, 3)
    assert x.sum(dim=()).item() == 15 and x.mean(dim=()).item() == 2.5
    assert x.var(dim=()).item() == pytest.approx(3.5) and x.sum((), keepdim=True).shape == (1, 1)
    for fn in (lambda: x.sum(dim=(0, 0)), lambda: x.mean((1, -1)), lambda: x.var((0, -2))):
        with pytest.raises(RuntimeError, match=r"dim \d appears more than once"):
            fn()


def test_requires_grad_refused_on_integer_tensors():
    t_ = tg.tensor([1, 2])
    with pytest.raises(RuntimeError, match="only floating-point tensors can require gradients"):
        t_.requires_grad = True
    assert not t_.requires_grad
    x = tg.tensor([1.0])
    x.requires_grad = True
    assert x.requires_grad and (x * 2).requires_grad


def test_grad_of_a_non_leaf_warns():
    x = tg.tensor([1.0], requires_grad=True)
    y = x * 2
    with pytest.warns(UserWarning, match=r"not a leaf.*retain_grad\(\)"):
        assert y.grad is None
    y.retain_grad()
    y.sum().backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert y.grad is not None and x.grad is not None


def test_optimizer_given_a_module():
    with pytest.raises(TypeError, match=r"SGD: got a Linear module; .*model.parameters\(\)"):
        tg.optim.SGD(tg.nn.Linear(2, 2), lr=0.1)


# -- 5. grad mode per thread ---------------------------------------------------------------------


def test_grad_mode_is_per_thread_and_new_threads_start_enabled():
    seen = []
    with tg.no_grad():
        th = threading.Thread(target=lambda: seen.append(tg.is_grad_enabled()))
        th.start()
        th.join()
        assert not tg.is_grad_enabled()
    assert seen == [True] and tg.is_grad_enabled()
    with tg.no_grad():
        with tg.enable_grad():
            assert tg.is_grad_enabled()
        assert not tg.is_grad_enabled()


def _train(model, x, y, validate=False, steps=150):
    opt = tg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(steps):
        if validate:
            for _ in range(5):
                with tg.no_grad():
                    F.mse_loss(model(x), y)
        opt.zero_grad()
        F.mse_loss(model(x), y).backward()
        opt.step()
    return [p.data.copy() for p in model.parameters()]


def _model(seed):
    tg.manual_seed(seed)
    return tg.nn.Sequential(tg.nn.Linear(8, 64), tg.nn.ReLU(), tg.nn.Linear(64, 1))


def test_two_threads_train_as_if_alone():
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal((256, 8), f32))
    y = tg.tensor(rng.standard_normal((256, 1), f32))
    solo = [_train(_model(1), x, y), _train(_model(2), x, y, validate=True)]
    models, out = [_model(1), _model(2)], [None, None]

    def run(i):
        out[i] = _train(models[i], x, y, validate=i == 1)

    threads = [threading.Thread(target=run, args=(i,)) for i in (0, 1)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for got, want in zip(out, solo):
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)
