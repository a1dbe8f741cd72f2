"""Optimizers: trajectories against NumPy transcriptions of PyTorch's documented rules,
param groups, state_dict round trips, and no graph growth across steps."""

import gc
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import require_torch

import tinygrad_sm as tg
from tinygrad_sm.core.function import Function
from tinygrad_sm.optim import SGD, Adam, AdamW, Optimizer

# A non-quadratic objective, so that trajectories depend on every detail of the update:
#   f(theta) = sum((a theta - b)^2) + sum(c theta^3),  df/dtheta = 2a(a theta - b) + 3c theta^2
A = np.array([[1.0, -0.5, 2.0], [0.3, 1.5, -1.0]])
B = np.array([[0.2, 0.1, -0.4], [1.0, -0.3, 0.5]])
C = np.array([[0.05, -0.02, 0.01], [0.0, 0.03, -0.04]])
THETA0 = np.array([[0.5, -1.0, 0.25], [1.5, 0.0, -0.75]])


def loss_fn(theta):
    return ((theta * A - B) ** 2).sum() + (theta**3 * C).sum()


def np_grad(theta):
    return 2 * A * (A * theta - B) + 3 * C * theta**2


def run(opt_cls, n_steps=25, schedule=None, **kwargs):
    """Trajectory of tinygrad_sm's optimizer (float64), one row per step."""
    theta = tg.tensor(THETA0.copy(), requires_grad=True)
    opt = opt_cls([theta], **kwargs)
    out = []
    for t in range(n_steps):
        if schedule is not None:
            opt.param_groups[0]["lr"] = schedule(t)
        opt.zero_grad()
        loss_fn(theta).backward()
        opt.step()
        out.append(theta.data.copy())
    return np.array(out)


# --- NumPy transcriptions of the algorithms in PyTorch's documentation ----------------------


def ref_sgd(n_steps, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
            schedule=None):
    theta, b, out = THETA0.copy(), None, []
    for t in range(1, n_steps + 1):
        gamma = lr if schedule is None else schedule(t - 1)
        g = np_grad(theta)
        if weight_decay != 0:
            g = g + weight_decay * theta
        if momentum != 0:
            b = g if t == 1 else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        theta = theta - gamma * g
        out.append(theta)
    return np.array(out)


def ref_adam(n_steps, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
             amsgrad=False, decoupled=False):
    beta1, beta2 = betas
    theta = THETA0.copy()
    m, v, v_max, out = np.zeros_like(theta), np.zeros_like(theta), np.zeros_like(theta), []
    for t in range(1, n_steps + 1):
        g = np_grad(theta)
        if decoupled:
            theta = theta - lr * weight_decay * theta
        elif weight_decay != 0:
            g = g + weight_decay * theta
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m_hat = m / (1 - beta1**t)
        if amsgrad:
            v_max = np.maximum(v_max, v)
            theta = theta - lr * m_hat / (np.sqrt(v_max / (1 - beta2**t)) + eps)
        else:
            v_hat = v / (1 - beta2**t)
            theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(theta)
    return np.array(out)


def case_id(kw):
    return ",".join(f"{k}={v}" for k, v in kw.items())


SGD_CASES = [
    dict(lr=0.05),
    dict(lr=0.05, momentum=0.9),
    dict(lr=0.05, momentum=0.9, dampening=0.3),
    dict(lr=0.05, momentum=0.9, nesterov=True),
    dict(lr=0.05, momentum=0.5, weight_decay=0.1),
    dict(lr=0.02, momentum=0.8, weight_decay=0.05, nesterov=True),
]


@pytest.mark.parametrize("kw", SGD_CASES, ids=case_id)
def test_sgd_matches_pytorch_rule(kw):
    np.testing.assert_allclose(run(SGD, **kw), ref_sgd(25, **kw), rtol=1e-12, atol=1e-12)


ADAM_CASES = [
    dict(lr=0.1),
    dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6),
    dict(lr=0.05, weight_decay=0.1),
    dict(lr=0.1, amsgrad=True),
    dict(lr=0.1, amsgrad=True, weight_decay=0.05),
]


@pytest.mark.parametrize("kw", ADAM_CASES, ids=case_id)
def test_adam_matches_pytorch_rule(kw):
    np.testing.assert_allclose(run(Adam, **kw), ref_adam(25, **kw), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kw", [dict(lr=0.1), dict(lr=0.1, weight_decay=0.3),
                                dict(lr=0.05, amsgrad=True, weight_decay=0.1)])
def test_adamw_matches_pytorch_rule(kw):
    expected = ref_adam(25, decoupled=True, **{"weight_decay": 0.01, **kw})
    np.testing.assert_allclose(run(AdamW, **kw), expected, rtol=1e-10, atol=1e-12)


def test_adam_decoupled_option_is_adamw():
    np.testing.assert_array_equal(
        run(Adam, lr=0.1, weight_decay=0.2, decoupled_weight_decay=True),
        run(AdamW, lr=0.1, weight_decay=0.2),
    )


@settings(max_examples=20, deadline=None)
@given(
    lr=st.floats(1e-3, 0.1),
    momentum=st.sampled_from([0.0, 0.5, 0.9]),
    weight_decay=st.sampled_from([0.0, 0.01, 0.3]),
    nesterov=st.booleans(),
)
def test_sgd_matches_pytorch_rule_property(lr, momentum, weight_decay, nesterov):
    nesterov = nesterov and momentum > 0
    kw = dict(lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=nesterov)
    np.testing.assert_allclose(run(SGD, n_steps=8, **kw), ref_sgd(8, **kw), rtol=1e-12,
                               atol=1e-12)


def test_lr_changed_between_steps_is_used():
    def schedule(t):
        return 0.1 / (1 + t)

    np.testing.assert_allclose(run(SGD, momentum=0.9, schedule=schedule, lr=1.0),
                               ref_sgd(25, lr=1.0, momentum=0.9, schedule=schedule), rtol=1e-12)


def test_float32_parameters_stay_float32():
    w = tg.randn(3, 4, requires_grad=True)
    for opt in (SGD([w], lr=0.1, momentum=0.9, weight_decay=0.1), Adam([w]), AdamW([w])):
        (w * w).sum().backward()
        opt.step()
        assert w.data.dtype == np.float32
        assert all(v.dtype == np.float32 for v in opt.state[w].values()
                   if isinstance(v, np.ndarray))
        opt.zero_grad()


# --- mechanics --------------------------------------------------------------------------------


def live_graph_nodes():
    gc.collect()
    return sum(issubclass(type(o), Function) for o in gc.get_objects())


@pytest.mark.parametrize("opt_cls", [SGD, Adam, AdamW])
def test_no_graph_growth_over_1000_steps(opt_cls):
    x = tg.randn(8, 3)
    y = tg.randn(8, 2)
    w = tg.randn(3, 2, requires_grad=True)
    b = tg.zeros(2, requires_grad=True)
    opt = opt_cls([w, b], lr=0.01)
    counts = []
    for step in range(1000):
        opt.zero_grad()
        loss = (((x @ w + b).relu() - y) ** 2).mean()
        loss.backward()
        opt.step()
        if step in (10, 999):
            counts.append(live_graph_nodes())
    assert counts[0] == counts[1]
    assert w.is_leaf and w.requires_grad and w.grad_fn is None
    assert w._version == 1000 and b._version == 1000


def test_step_bumps_version_so_stale_graphs_fail():
    w = tg.randn(3, requires_grad=True)
    opt = SGD([w], lr=0.1)
    (w * w).sum().backward()
    stale = (w * w).sum()  # saved w at the old version
    opt.step()
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        stale.backward()


def test_step_skips_parameters_without_grad_and_returns_closure_loss():
    w1 = tg.ones(2, requires_grad=True)
    w2 = tg.ones(2, requires_grad=True)
    opt = SGD([w1, w2], lr=0.5)

    def closure():
        opt.zero_grad()
        loss = (w1 * 3).sum()
        loss.backward()
        return loss

    with tg.no_grad():  # the closure runs with grad enabled anyway, as in PyTorch
        loss = opt.step(closure)
    assert loss.item() == 6.0
    np.testing.assert_array_equal(w1.data, [-0.5, -0.5])
    np.testing.assert_array_equal(w2.data, [1.0, 1.0])
    assert w2._version == 0


def test_zero_grad():
    w = tg.ones(3, requires_grad=True)
    opt = SGD([w], lr=0.1)
    (w * 2).sum().backward()
    grad = w.grad
    opt.zero_grad(set_to_none=False)
    assert w.grad is grad
    np.testing.assert_array_equal(grad.data, 0)
    (w * 2).sum().backward()
    np.testing.assert_array_equal(w.grad.data, 2)
    opt.zero_grad()
    assert w.grad is None


def test_param_groups_have_their_own_hyperparameters():
    w1 = tg.ones(2, requires_grad=True)
    w2 = tg.ones(2, requires_grad=True)
    opt = SGD([{"params": [w1]}, {"params": [w2], "lr": 0.5, "momentum": 0.9}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert [g["momentum"] for g in opt.param_groups] == [0.0, 0.9]
    assert opt.param_groups[0]["nesterov"] is False
    (w1.sum() + w2.sum()).backward()
    opt.step()
    np.testing.assert_allclose(w1.data, [0.9, 0.9])
    np.testing.assert_allclose(w2.data, [0.5, 0.5])
    assert "momentum_buffer" in opt.state[w2] and "momentum_buffer" not in opt.state[w1]


def test_add_param_group_takes_defaults():
    w1 = tg.ones(2, requires_grad=True)
    w2 = tg.ones(2, requires_grad=True)
    opt = Adam([w1], lr=0.01, betas=(0.8, 0.9))
    opt.add_param_group({"params": w2, "lr": 0.1})
    assert opt.param_groups[1]["betas"] == (0.8, 0.9)
    assert opt.param_groups[1]["lr"] == 0.1
    assert opt.param_groups[1]["params"] == [w2]


def test_accepts_generators():
    ws = [tg.ones(2, requires_grad=True) for _ in range(3)]
    opt = SGD((w for w in ws), lr=0.1)
    assert opt.param_groups[0]["params"] == ws


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda w: SGD(w, lr=0.1), "iterable of Tensors or dicts"),
        (lambda w: SGD([], lr=0.1), "empty parameter list"),
        (lambda w: SGD([w, w], lr=0.1), "same tensor twice"),
        (lambda w: SGD([{"params": [w]}, {"params": [w]}], lr=0.1), "more than one"),
        (lambda w: SGD([w * 2], lr=0.1), "non-leaf"),
        (lambda w: SGD([tg.ones(2)], lr=0.1), "does not require grad"),
        (lambda w: SGD([np.ones(2)], lr=0.1), "can only optimize Tensors"),
        (lambda w: SGD([w], lr=-0.1), "invalid lr"),
        (lambda w: SGD([w], lr=0.1, momentum=-1), "invalid momentum"),
        (lambda w: SGD([w], lr=0.1, weight_decay=-1), "invalid weight_decay"),
        (lambda w: SGD([w], lr=0.1, nesterov=True), "Nesterov momentum requires"),
        (lambda w: SGD([w], lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "Nesterov"),
        (lambda w: Adam([w], betas=(0.9, 1.0)), "invalid betas"),
        (lambda w: Adam([w], eps=-1.0), "invalid eps"),
        (lambda w: AdamW([w], lr=float("nan")), "invalid lr"),
    ],
)
def test_bad_arguments(make, match):
    w = tg.ones(2, requires_grad=True)
    with pytest.raises((TypeError, ValueError), match=match):
        make(w)


def test_base_class_needs_an_update_rule():
    w = tg.ones(2, requires_grad=True)
    opt = Optimizer([w], {"lr": 0.1})
    w.sum().backward()
    with pytest.raises(NotImplementedError):
        opt.step()


def test_repr_lists_groups():
    text = repr(SGD([tg.ones(1, requires_grad=True)], lr=0.1, momentum=0.9))
    assert "SGD (" in text and "Parameter Group 0" in text and "momentum: 0.9" in text


# --- state_dict ----------------------------------------------------------------------------


def to_file_and_back(sd):
    """What a save/load through an npz does: numbers become 0-d arrays, keys strings,
    tuples arrays."""

    def conv(x):
        if isinstance(x, dict):
            return {str(k): conv(v) for k, v in x.items()}
        if isinstance(x, list) and x and isinstance(x[0], dict):
            return [conv(v) for v in x]
        return np.array(x)

    return conv(sd)


@pytest.mark.parametrize(
    "opt_cls, kw",
    [(SGD, dict(lr=0.05, momentum=0.9, nesterov=True)), (Adam, dict(lr=0.05, amsgrad=True)),
     (AdamW, dict(lr=0.05, betas=(0.8, 0.95)))],
)
@pytest.mark.parametrize("through_file", [False, True])
def test_state_dict_round_trip_continues_the_trajectory(opt_cls, kw, through_file):
    full = run(opt_cls, n_steps=20, **kw)

    theta = tg.tensor(THETA0.copy(), requires_grad=True)
    opt = opt_cls([theta], **kw)
    for _ in range(10):
        opt.zero_grad()
        loss_fn(theta).backward()
        opt.step()
    sd = opt.state_dict()
    if through_file:
        sd = to_file_and_back(sd)
    # A new optimizer on a new parameter with the same values resumes exactly.
    theta2 = tg.tensor(theta.data.copy(), requires_grad=True)
    opt2 = opt_cls([theta2], lr=123.0)
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == kw["lr"]
    assert opt2.param_groups[0]["params"] == [theta2]
    if "betas" in opt2.param_groups[0]:
        assert isinstance(opt2.param_groups[0]["betas"], tuple)
    if "nesterov" in opt2.param_groups[0]:
        assert opt2.param_groups[0]["nesterov"] is True
    for _ in range(10):
        opt2.zero_grad()
        loss_fn(theta2).backward()
        opt2.step()
    np.testing.assert_array_equal(theta2.data, full[-1])


def _momentum_sgd_after_one_step():
    w = tg.ones(2, requires_grad=True)
    opt = SGD([w], lr=0.1, momentum=0.9)
    w.sum().backward()
    opt.step()
    return opt


def test_state_dict_is_a_copy_and_json_friendly_groups():
    opt = _momentum_sgd_after_one_step()
    sd = opt.state_dict()
    assert sd["param_groups"] == [dict(lr=0.1, momentum=0.9, dampening=0.0, weight_decay=0.0,
                                       nesterov=False, params=[0])]
    json.dumps(sd["param_groups"])
    buf = sd["state"][0]["momentum_buffer"]
    opt.step()
    np.testing.assert_array_equal(buf, [1.0, 1.0])  # not changed by the later step
    sd["param_groups"][0]["lr"] = 5.0
    assert opt.param_groups[0]["lr"] == 0.1


def test_load_state_dict_checks_shapes_and_groups():
    sd = _momentum_sgd_after_one_step().state_dict()
    with pytest.raises(ValueError, match="1 parameter groups, the optimizer 2"):
        SGD([{"params": [tg.ones(2, requires_grad=True)]},
             {"params": [tg.ones(2, requires_grad=True)]}], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="has 1 parameters"):
        SGD([tg.ones(2, requires_grad=True), tg.ones(1, requires_grad=True)],
            lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match=r"shape \(2,\) for a parameter of shape \(3,\)"):
        SGD([tg.ones(3, requires_grad=True)], lr=0.1).load_state_dict(sd)


@pytest.mark.parametrize("opt_cls, key, value, message", [
    (SGD, "lr", -1.0, r"SGD.load_state_dict: param group 0 of the state: invalid lr -1.0 "
                      r"\(must be >= 0\)"),
    (SGD, "momentum", -0.5, r"invalid momentum -0.5"),
    (SGD, "weight_decay", "x", r"has a hyperparameter that is not a number: .*'x'"),
    (Adam, "betas", (5, 0.9), r"Adam.load_state_dict: param group 0 of the state: invalid "
                              r"betas \(5, 0.9\) \(two values in \[0, 1\)\)"),
    (Adam, "eps", -1e-8, r"invalid eps"),
    (Adam, "lr", None, r"param group 0 of the state has no 'lr'"),
])
def test_load_state_dict_checks_hyperparameters_as_the_constructor_does(opt_cls, key, value,
                                                                        message):
    p = tg.ones(2, requires_grad=True)
    opt = opt_cls([p], lr=0.1)
    sd = opt.state_dict()
    if value is None:
        del sd["param_groups"][0][key]
    else:
        sd["param_groups"][0][key] = value
    with pytest.raises(ValueError, match=message):
        opt.load_state_dict(sd)
    assert opt.param_groups[0]["lr"] == 0.1  # unchanged
    with pytest.raises((ValueError, TypeError)):  # the constructor refuses the same values
        opt_cls([p], **{"lr": 0.1, key: value})


def test_trajectories_match_pytorch_itself_when_installed():
    torch = require_torch()

    def torch_run(cls, **kw):
        theta = torch.tensor(THETA0.copy(), requires_grad=True)
        a, b, c = (torch.tensor(m) for m in (A, B, C))
        opt, out = cls([theta], **kw), []
        for _ in range(25):
            opt.zero_grad()
            (((theta * a - b) ** 2).sum() + (theta**3 * c).sum()).backward()
            opt.step()
            out.append(theta.detach().numpy().copy())
        return np.array(out)

    cases = ([(SGD, torch.optim.SGD, kw) for kw in SGD_CASES]
             + [(Adam, torch.optim.Adam, kw) for kw in ADAM_CASES]
             + [(AdamW, torch.optim.AdamW, dict(lr=0.05, amsgrad=True, weight_decay=0.1))])
    for mine, theirs, kw in cases:
        np.testing.assert_allclose(run(mine, **kw), torch_run(theirs, **kw), rtol=1e-12,
                                   atol=1e-14, err_msg=f"{mine.__name__} {kw}")


@pytest.mark.parametrize("owner", ["module", "optimizer"])
def test_zero_grad_in_place_is_caught_by_a_graph_that_saved_the_gradient(owner):
    # both zero_grads are one helper: zeroing in place bumps the version, so a graph that
    # saved the gradient raises instead of silently using zeros
    m = tg.nn.Linear(2, 1)
    m(tg.ones(1, 2)).sum().backward()
    w = tg.ones(1, 2, requires_grad=True)
    y = (w * m.weight.grad).sum()
    zero = m.zero_grad if owner == "module" else SGD(m.parameters(), lr=0.1).zero_grad
    zero(set_to_none=False)
    assert np.all(m.weight.grad.data == 0)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()
