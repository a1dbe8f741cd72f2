"""The differential suite: the same computation in tinygrad_sm and in PyTorch (the oracle,
required in CI, see oracle.py) must give the same values, dtypes and gradients. It covers
every op of the op table in float64 and float32, the whole promotion table, the losses
with their options, the optimizers over 20 steps, and in-place ops with their versions."""

import itertools

import numpy as np
import pytest
from op_cases import BINARY, UNARY
from oracle import require_torch

import tinygrad_sm as tg
import tinygrad_sm.functional as F

torch = require_torch()
tF = torch.nn.functional

# The op table's cases whose function is not also valid PyTorch code, as PyTorch writes them
TORCH_FORM = {
    "exp": torch.exp, "log": torch.log, "sqrt": torch.sqrt, "abs": torch.abs,
    "tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu,
    "max_dim": lambda x: x.max(-1).values,
    "min_dim_keep": lambda x: x.min(0, keepdim=True).values,
    "var": lambda x: torch.cat([x, 2 * x + 1], -1).var(-1),
    "std_biased": lambda x: torch.cat([x, x * x + 1]).std(unbiased=False),
    "T": lambda x: x.permute(tuple(reversed(range(x.ndim)))),
    "permute": lambda x: x.permute(tuple(reversed(range(x.ndim)))),
    "getitem_slice": lambda x: x.flip(0)[:, None],
    "getitem_tensor_index": lambda x: x[torch.tensor([0, 0])],
    "cat_self": lambda x: torch.cat([x, x * 2], -1),
    "stack_self": lambda x: torch.stack([x, x.exp()], 0),
    "where": lambda a, b: torch.where(a > b, a, b),
    "maximum": torch.maximum, "minimum": torch.minimum,
}

DTYPES = {np.float64: torch.float64, np.float32: torch.float32}
TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=2e-5, atol=1e-6)}


def both(a, requires_grad=True):
    return (tg.tensor(a, requires_grad=requires_grad),
            torch.tensor(a, requires_grad=requires_grad))


def check(ours, theirs, dtype, what):
    theirs = theirs.detach().numpy()
    assert ours.dtype == theirs.dtype, f"{what}: dtype {ours.dtype} vs torch {theirs.dtype}"
    np.testing.assert_allclose(ours.data, theirs, err_msg=what, **TOL[dtype])


def run_case(fn, tfn, arrays, dtype, name):
    ours, theirs = zip(*(both(a.astype(dtype)) for a in arrays))
    out, tout = fn(*ours), tfn(*theirs)
    check(out, tout, dtype, f"{name} forward")
    w = np.random.default_rng(1).standard_normal(out.shape).astype(dtype)
    (out * tg.tensor(w)).sum().backward()
    (tout * torch.tensor(w)).sum().backward()
    for i, (a, b) in enumerate(zip(ours, theirs)):
        check(a.grad, b.grad, dtype, f"{name} gradient of input {i}")


def test_every_op_of_the_table_has_a_torch_form():
    # a new op needs a PyTorch form here if its function is not PyTorch code as it stands
    for case in UNARY + BINARY:
        x = torch.ones((2, 3), dtype=torch.float64)
        fn = TORCH_FORM.get(case.name, case.fn)
        try:
            fn(x) if case in UNARY else fn(x, x)
        except Exception as err:  # noqa: BLE001
            pytest.fail(f"{case.name}: add its PyTorch form to TORCH_FORM ({err})")


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("case", UNARY, ids=lambda c: c.name)
def test_unary_op_against_torch(case, dtype):
    rng = np.random.default_rng(0)
    for shape in [(3, 4), (2, 3, 2)] + ([()] if case.min_ndim == 0 else []):
        run_case(case.fn, TORCH_FORM.get(case.name, case.fn), [case.draw(rng, shape)], dtype,
                 f"{case.name} {shape}")


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("case", BINARY, ids=lambda c: c.name)
def test_binary_op_against_torch(case, dtype):
    rng = np.random.default_rng(0)
    for sa, sb in [((3, 4), (3, 4)), ((3, 1), (4,)), ((), (2, 3)), ((2, 3), ())]:
        a, b = case.draw_a(rng, sa), case.draw_b(rng, sb)
        run_case(case.fn, TORCH_FORM.get(case.name, case.fn), [a, b], dtype,
                 f"{case.name} {sa} {sb}")


# -- the promotion table --------------------------------------------------------------------

PROMOTION_DTYPES = [np.bool_, np.uint8, np.int32, np.int64, np.float16, np.float32, np.float64]
SCALARS = [True, 2, 2.5]  # Python's bool, int and float
BINARY_OPS = {
    "add": lambda a, b: a + b, "mul": lambda a, b: a * b, "sub": lambda a, b: a - b,
    "div": lambda a, b: a / b, "maximum": "maximum", "eq": lambda a, b: a == b,
}


def operands(dtype, kind):
    """One operand, as (ours, torch's): a tensor of 3 entries, a 0-d tensor, or a scalar."""
    if kind == "scalar":
        return dtype, dtype
    a = np.array([1, 0, 1] if kind == "tensor" else 1).astype(dtype)
    return tg.tensor(a), torch.tensor(a)


def apply(op, a, b, lib):
    if op == "maximum":
        a = a if not isinstance(a, bool | int | float) else (tg.tensor(a) if lib is tg
                                                             else torch.tensor(a))
        return lib.maximum(a, b if not isinstance(b, bool | int | float) else
                           (tg.tensor(b) if lib is tg else torch.tensor(b)))
    return op(a, b)


def test_promotion_table_is_torchs():
    """Every pair of {bool, uint8, int32, int64, float16, float32, float64}, each as a
    tensor, a 0-d tensor or a Python scalar, through each binary op, in either order:
    the same dtype and values as PyTorch's, or an error where PyTorch raises."""
    sides = [(d, k) for d in PROMOTION_DTYPES for k in ("tensor", "0-d")]
    sides += [(s, "scalar") for s in SCALARS]
    wrong = []
    for (da, ka), (db, kb) in itertools.product(sides, repeat=2):
        if ka == kb == "scalar":
            continue
        (a, ta), (b, tb) = operands(da, ka), operands(db, kb)
        for name, op in BINARY_OPS.items():
            if name == "maximum" and "scalar" in (ka, kb):
                continue  # torch.maximum takes tensors only
            try:
                want = apply(op, ta, tb, torch)
            except (RuntimeError, TypeError):
                want = None
            try:
                got = apply(op, a, b, tg)
            except (RuntimeError, TypeError, ValueError):
                got = None
            key = f"{name}({getattr(da, '__name__', da)} {ka}, {getattr(db, '__name__', db)} {kb})"
            if (got is None) != (want is None):
                wrong.append(f"{key}: ours {'raises' if got is None else got.dtype}, torch "
                             f"{'raises' if want is None else want.dtype}")
            elif got is not None:
                w = want.numpy()
                if got.dtype != w.dtype or not np.array_equal(got.data, w, equal_nan=True):
                    wrong.append(f"{key}: ours {got.dtype} {got.data}, torch {w.dtype} {w}")
    assert not wrong, "\n".join(wrong[:40]) + f"\n({len(wrong)} differences)"


def test_cat_and_unary_float_ops_promote_as_torch():
    for da, db in itertools.product(PROMOTION_DTYPES, repeat=2):
        a, b = np.array([1, 0]).astype(da), np.array([1, 1]).astype(db)
        assert tg.cat([tg.tensor(a), tg.tensor(b)]).dtype == \
            torch.cat([torch.tensor(a), torch.tensor(b)]).numpy().dtype
    for d in PROMOTION_DTYPES:
        a = np.array([1, 2]).astype(d)
        for name in ("sqrt", "exp", "log", "sigmoid", "tanh"):
            assert getattr(tg.tensor(a), name)().dtype == \
                getattr(torch.tensor(a), name)().numpy().dtype, (name, d)


# -- losses with every option -----------------------------------------------------------------

REDUCTIONS = ["mean", "sum", "none"]


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_losses_against_torch(dtype):
    rng = np.random.default_rng(0)
    x, xb = rng.standard_normal((6, 4)).astype(dtype), rng.standard_normal((6, 3)).astype(dtype)
    t = np.array([0, 3, 1, 3, 2, -100])
    y = rng.uniform(0, 1, (6, 3)).astype(dtype)
    cw, pw = rng.uniform(0.5, 2, 4).astype(dtype), rng.uniform(0.5, 2, 3).astype(dtype)
    cases = []
    for red, w, ls in itertools.product(REDUCTIONS, [None, cw], [0.0, 0.1]):
        kw = dict(reduction=red, weight=w, ignore_index=-100, label_smoothing=ls)
        cases.append((f"cross_entropy {red} w={w is not None} ls={ls}", x,
                      lambda a, kw=kw: F.cross_entropy(a, t, **kw),
                      lambda a, kw=kw: tF.cross_entropy(
                          a, torch.tensor(t), **{**kw, "weight": None if kw["weight"] is None
                                                  else torch.tensor(kw["weight"])})))
    for red, w in itertools.product(REDUCTIONS, [None, cw]):
        cases.append((f"nll_loss {red}", x,
                      lambda a, red=red, w=w: F.nll_loss(a.log_softmax(-1), t, weight=w,
                                                         reduction=red),
                      lambda a, red=red, w=w: tF.nll_loss(
                          a.log_softmax(-1), torch.tensor(t), reduction=red,
                          weight=None if w is None else torch.tensor(w))))
    for red in REDUCTIONS:
        cases.append((f"mse {red}", xb, lambda a, red=red: F.mse_loss(a, y, reduction=red),
                      lambda a, red=red: tF.mse_loss(a, torch.tensor(y), reduction=red)))
        for w, p in itertools.product([None, y], [None, pw]):
            cases.append((f"bce_logits {red} w={w is not None} pw={p is not None}", xb,
                          lambda a, red=red, w=w, p=p: F.binary_cross_entropy_with_logits(
                              a, y, weight=w, pos_weight=p, reduction=red),
                          lambda a, red=red, w=w, p=p: tF.binary_cross_entropy_with_logits(
                              a, torch.tensor(y), reduction=red,
                              weight=None if w is None else torch.tensor(w),
                              pos_weight=None if p is None else torch.tensor(p))))
            if p is None:
                cases.append((f"bce {red} w={w is not None}", xb,
                              lambda a, red=red, w=w: F.binary_cross_entropy(
                                  a.sigmoid(), y, weight=w, reduction=red),
                              lambda a, red=red, w=w: tF.binary_cross_entropy(
                                  a.sigmoid(), torch.tensor(y), reduction=red,
                                  weight=None if w is None else torch.tensor(w))))
    for name, a, fn, tfn in cases:
        run_case(fn, tfn, [a], dtype, name)


def test_bce_of_a_saturated_sigmoid_is_torchs():
    x = np.array([-20.0, -30.0, 5.0], np.float32)
    y = np.array([1.0, 1.0, 0.0], np.float32)
    run_case(lambda a: F.binary_cross_entropy(a.sigmoid(), y, reduction="none"),
             lambda a: tF.binary_cross_entropy(a.sigmoid(), torch.tensor(y), reduction="none"),
             [x], np.float32, "bce of sigmoid")


# -- optimizers over 20 steps -------------------------------------------------------------------

OPTIMIZERS = [
    ("SGD", dict(lr=0.1)), ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.5)),
    ("Adam", dict(lr=0.05)), ("Adam", dict(lr=0.05, amsgrad=True, weight_decay=0.1)),
    ("AdamW", dict(lr=0.05, weight_decay=0.1)), ("AdamW", dict(lr=0.05, amsgrad=True)),
]


@pytest.mark.parametrize("name,kw", OPTIMIZERS, ids=lambda v: str(v))
def test_optimizer_trajectories_against_torch(name, kw):
    rng = np.random.default_rng(0)
    w0, x, y = rng.standard_normal((3, 4)), rng.standard_normal((8, 4)), rng.standard_normal((8, 3))
    w, tw = both(w0)
    opt, topt = getattr(tg.optim, name)([w], **kw), getattr(torch.optim, name)([tw], **kw)
    for _ in range(20):
        for o, p, lib, X, Y in ((opt, w, tg, tg.tensor(x), tg.tensor(y)),
                                (topt, tw, torch, torch.tensor(x), torch.tensor(y))):
            o.zero_grad()
            ((X @ p.T - Y) ** 2).mean().backward() if lib is tg else \
                ((X @ p.T - Y) ** 2).mean().backward()
            o.step()
    np.testing.assert_allclose(w.data, tw.detach().numpy(), rtol=1e-10, atol=1e-12)


# -- in-place ops and version counters ------------------------------------------------------------


def test_inplace_values_and_versions_against_torch():
    a = np.arange(6.0).reshape(2, 3)
    ours, theirs = tg.tensor(a), torch.tensor(a)
    for step in (lambda t: t.add_(1), lambda t: t.mul_(2), lambda t: t.sub_(0.5),
                 lambda t: t.div_(4), lambda t: t.clamp_(0, 2), lambda t: t.zero_(),
                 lambda t: t.fill_(3), lambda t: t.__setitem__((0, 1), 7.0)):
        step(ours)
        step(theirs)
        np.testing.assert_array_equal(ours.data, theirs.numpy())
        assert ours._version == theirs._version
    view, tview = ours[0], theirs[0]
    view.add_(1)
    tview.add_(1)
    assert (ours._version, view._version) == (theirs._version, tview._version)


def test_modifying_a_saved_tensor_raises_in_both():
    for lib in (tg, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x * 1
        z = y * y  # saves y
        with lib.no_grad():
            y.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation|modified by "
                                               "an in-place operation"):
            z.sum().backward()


def test_edge_case_gradients_against_torch():
    cases = [
        ("pow at 0", [np.array([0.0, 1.0, 2.0]), np.array(2.0)], lambda x, p: x ** p),
        ("pow 0 at 0", [np.array([0.0, 1.0])], lambda x: x ** 0),
        ("abs at nan", [np.array([np.nan, -2.0, 0.0])], lambda x: x.abs()),
        ("std of a constant", [np.ones((4, 2))], lambda x: x.std(0)),
        ("var of a constant", [np.ones(4)], lambda x: x.var()),
    ]
    for name, arrays, fn in cases:
        run_case(fn, fn, arrays, np.float64, name)
    run_case(lambda x: tg.maximum(x, tg.tensor(np.array(0.0))) + tg.minimum(x, tg.tensor(
        np.array(0.0))), lambda x: torch.maximum(x, torch.tensor(0.0, dtype=torch.float64))
        + torch.minimum(x, torch.tensor(0.0, dtype=torch.float64)),
        [np.array([np.nan, 1.0, 0.0])], np.float64, "maximum + minimum at nan")
    for dtype in (np.float32, np.float64):
        x = np.array([-100.0, -40.0, -20.0, -10.0, 0.0, 10.0, 30.0], dtype)
        run_case(lambda a: a.sigmoid(), torch.sigmoid, [x], dtype, "sigmoid")
