"""Tests for tinygrad_sm.nn: registration, dotted names, state dicts with PyTorch's keys,
load_state_dict's errors, hooks, module scope, modes, containers, layers and loss modules."""

import copy
import math

import numpy as np
import pytest
from oracle import require_torch

import tinygrad_sm.functional as F
from tinygrad_sm import nn
from tinygrad_sm.autograd import gradcheck, gradgradcheck
from tinygrad_sm.core.bookkeeping import _scope
from tinygrad_sm.core.creation import randn, tensor
from tinygrad_sm.core.grad_mode import no_grad
from tinygrad_sm.core.tensor import Tensor


def mlp():
    return nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(2, 3), nn.Linear(3, 1)])
        self.scale = nn.Parameter(np.ones(1, np.float32))
        self.act = nn.ReLU()
        self.note = "not registered"

    def forward(self, x):
        for layer in self.layers:
            x = self.act(layer(x))
        return x * self.scale


# -- Parameter and registration ---------------------------------------------------------------


def test_parameter_is_a_grad_requiring_tensor_that_shares_memory():
    arr = np.zeros(3, np.float32)
    p = nn.Parameter(arr)
    assert isinstance(p, Tensor) and p.requires_grad and p.is_leaf
    arr[0] = 5
    assert p.data[0] == 5  # shares memory, like torch.nn.Parameter
    assert nn.Parameter([1.0, 2.0]).dtype == np.float32
    assert not nn.Parameter(arr, requires_grad=False).requires_grad
    assert repr(p).startswith("Parameter containing:\ntensor(")
    with pytest.raises(RuntimeError, match="only floating-point"):
        nn.Parameter(np.arange(3))


def test_setattr_registers_parameters_and_modules_in_order():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["scale", "layers.0.weight", "layers.0.bias", "layers.1.weight",
                     "layers.1.bias"]
    assert [n for n, _ in net.named_children()] == ["layers", "act"]
    assert [n for n, _ in net.named_modules()] == ["", "layers", "layers.0", "layers.1", "act"]
    assert len(list(net.modules())) == 5
    assert [type(m).__name__ for m in net.children()] == ["ModuleList", "ReLU"]
    assert len(list(net.parameters())) == 5
    assert net.note == "not registered"
    assert [n for n, _ in net.named_parameters(recurse=False)] == ["scale"]


def test_reassigning_keeps_position_and_deleting_unregisters():
    net = Net()
    net.act = nn.Tanh()
    assert [n for n, _ in net.named_children()] == ["layers", "act"]
    net.scale = nn.Parameter(np.ones(1, np.float32))
    assert next(iter(net.state_dict())) == "scale"
    del net.scale
    assert "scale" not in dict(net.named_parameters())
    assert not hasattr(net, "scale")
    net.scale = 3.0  # now a plain attribute
    assert "scale" not in dict(net.named_parameters())


def test_assignment_errors():
    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(np.ones(2))

    with pytest.raises(AttributeError, match=r"cannot assign 'w' before Module.__init__\(\)"):
        Early()
    lin = nn.Linear(2, 2)
    with pytest.raises(TypeError, match=r"cannot assign Tensor as parameter 'weight' of Linear"):
        lin.weight = tensor(np.ones((2, 2)))
    lin.bias = None  # None is allowed, as in PyTorch
    assert [n for n, _ in lin.named_parameters()] == ["weight"]


def test_shared_parameters_are_listed_once():
    lin = nn.Linear(3, 3)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(seq.parameters())) == 2
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]  # as PyTorch


def test_module_without_forward():
    with pytest.raises(NotImplementedError, match=r'Module \[Module\] is missing the required '
                                                  '"forward" function'):
        nn.Module()(1)


# -- state_dict and load_state_dict ---------------------------------------------------------------


def test_state_dict_keys_and_shapes_match_pytorch():
    sd = mlp().state_dict()
    assert list(sd) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert [v.shape for v in sd.values()] == [(3, 4), (3,), (2, 3), (2,)]
    assert all(isinstance(v, Tensor) and not v.requires_grad for v in sd.values())
    assert list(Net().state_dict()) == ["scale", "layers.0.weight", "layers.0.bias",
                                        "layers.1.weight", "layers.1.bias"]
    assert list(nn.CrossEntropyLoss(weight=np.ones(3)).state_dict()) == ["weight"]
    assert list(nn.BCEWithLogitsLoss(pos_weight=np.ones(3)).state_dict()) == ["pos_weight"]
    assert list(nn.CrossEntropyLoss().state_dict()) == []


def test_state_dict_matches_torch_if_installed():
    torch = require_torch()
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    ours = mlp()
    assert {k: tuple(v.shape) for k, v in theirs.state_dict().items()} == {
        k: v.shape for k, v in ours.state_dict().items()}
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(ours(tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    back = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    back.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                          for k, v in ours.state_dict().items()})


def test_load_state_dict_round_trip_in_place():
    a, b = mlp(), mlp()
    w_before = b[0].weight
    result = b.load_state_dict({k: v.numpy() for k, v in a.state_dict().items()})
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert b[0].weight is w_before  # copied into the same Parameter (optimizers keep working)
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb
        np.testing.assert_array_equal(va.data, vb.data)
    b.load_state_dict({k: v.numpy().astype(np.float64) for k, v in a.state_dict().items()})
    assert b[0].weight.dtype == np.float32  # values are cast to the parameter's dtype


def test_load_state_dict_reports_every_problem_at_once_and_changes_nothing():
    model = mlp()
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    sd = {k: v.numpy() + 1 for k, v in mlp().state_dict().items()}
    del sd["0.bias"], sd["2.bias"]
    sd["0.weight"] = np.zeros((4, 3), np.float32)
    sd["3.weight"] = np.zeros(1)
    with pytest.raises(RuntimeError) as info:
        model.load_state_dict(sd)
    msg = str(info.value)
    assert msg.startswith("Error(s) in loading state_dict for Sequential:")
    assert 'Missing key(s) in state_dict: "0.bias", "2.bias".' in msg
    assert 'Unexpected key(s) in state_dict: "3.weight".' in msg
    assert ("size mismatch for 0.weight: copying a param with shape (4, 3) from checkpoint, "
            "the shape in current model is (3, 4).") in msg
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.data, before[k])


def test_load_state_dict_non_strict():
    model = mlp()
    sd = {k: v.numpy() for k, v in mlp().state_dict().items()}
    del sd["2.bias"]
    sd["extra"] = np.zeros(2)
    result = model.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["2.bias"] and result.unexpected_keys == ["extra"]
    np.testing.assert_array_equal(model[0].weight.data, sd["0.weight"])
    sd["0.weight"] = np.zeros((1, 1))
    with pytest.raises(RuntimeError, match="size mismatch for 0.weight"):
        model.load_state_dict(sd, strict=False)  # a wrong shape is an error even then
    with pytest.raises(TypeError, match="load_state_dict: expected a dict, got list"):
        model.load_state_dict([1, 2])


def test_state_dict_shares_memory_and_keep_vars():
    model = mlp()
    sd = model.state_dict()
    with no_grad():
        model[0].bias.add_(1.0)
    np.testing.assert_array_equal(sd["0.bias"].data, model[0].bias.data)
    assert model.state_dict(keep_vars=True)["0.bias"] is model[0].bias


def test_buffers():
    m = nn.Module()
    m.register_buffer("running", tensor(np.zeros(2)))
    m.register_buffer("scratch", tensor(np.zeros(1)), persistent=False)
    assert list(m.state_dict()) == ["running"]
    assert [n for n, _ in m.named_buffers()] == ["running", "scratch"]
    assert list(m.parameters()) == []
    with pytest.raises(TypeError, match="cannot assign int as buffer 'running'"):
        m.running = 3
    m.load_state_dict({"running": np.array([1.0, 2.0])})
    np.testing.assert_array_equal(m.running.data, [1.0, 2.0])


# -- running: hooks, scope, modes ------------------------------------------------------------------


def test_forward_hooks_see_inputs_and_output_and_can_be_removed():
    lin = nn.Linear(2, 2)
    calls = []
    handle = lin.register_forward_hook(lambda m, inp, out: calls.append((m, inp, out)))
    x = randn(3, 2)
    y = lin(x)
    assert len(calls) == 1 and calls[0][0] is lin and calls[0][1] == (x,) and calls[0][2] is y
    handle.remove()
    lin(x)
    assert len(calls) == 1
    with lin.register_forward_hook(lambda m, inp, out: out * 0):  # a return value replaces
        assert np.all(lin(x).data == 0)
    assert np.any(lin(x).data != 0)


def test_call_sets_the_module_scope_and_restores_it():
    class Boom(nn.Module):
        def forward(self, x):
            raise ValueError("boom")

    seen = []

    class Spy(nn.Module):
        def forward(self, x):
            seen.append(_scope.current)
            return x

    seq = nn.Sequential(nn.Linear(2, 2), Spy())
    x = tensor(np.ones((1, 2), np.float32), requires_grad=True)
    y = seq(x)
    assert seen == [seq[1]]
    assert y.grad_fn.scope is seq[0]  # the op was recorded inside the Linear
    assert _scope.current is None
    with pytest.raises(ValueError, match="boom"):
        Boom()(x)
    assert _scope.current is None


def test_train_eval_propagate_and_dropout_follows():
    seq = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5), nn.Sequential(nn.Dropout(0.5)))
    assert seq.training and all(m.training for m in seq.modules())
    assert seq.eval() is seq
    assert not any(m.training for m in seq.modules())
    x = tensor(np.ones((3, 4)))
    np.testing.assert_array_equal(seq[1](x).data, x.data)
    seq.train()
    assert all(m.training for m in seq.modules())
    assert np.any(seq[1](tensor(np.ones((50, 4)))).data == 0)


def test_zero_grad_and_apply():
    model = mlp()
    F.cross_entropy(model(randn(5, 4)), [0, 1, 0, 1, 1]).backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad(set_to_none=False)
    assert all(p.grad is not None and np.all(p.grad.data == 0) for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    order = []
    assert model.apply(lambda m: order.append(type(m).__name__)) is model
    assert order == ["Linear", "ReLU", "Linear", "Sequential"]  # children first


def test_to_double_keeps_parameter_objects():
    model = mlp()
    params = list(model.parameters())
    model.double()
    assert all(p.dtype == np.float64 for p in model.parameters())
    assert all(a is b for a, b in zip(params, model.parameters()))


def test_deepcopy_gives_an_independent_module():
    model = mlp()
    clone = copy.deepcopy(model)
    with no_grad():
        clone[0].weight.fill_(0.0)
    assert np.any(model[0].weight.data != 0)
    assert list(clone.state_dict()) == list(model.state_dict())


def test_repr_like_pytorch():
    seq = nn.Sequential(nn.Linear(4, 3), nn.Dropout(0.2),
                        nn.Sequential(nn.Flatten(), nn.LeakyReLU()), nn.Softmax(dim=1),
                        nn.ReLU(inplace=True), nn.Identity(), nn.Linear(2, 2, bias=False))
    assert repr(seq) == (
        "Sequential(\n"
        "  (0): Linear(in_features=4, out_features=3, bias=True)\n"
        "  (1): Dropout(p=0.2, inplace=False)\n"
        "  (2): Sequential(\n"
        "    (0): Flatten(start_dim=1, end_dim=-1)\n"
        "    (1): LeakyReLU(negative_slope=0.01)\n"
        "  )\n"
        "  (3): Softmax(dim=1)\n"
        "  (4): ReLU(inplace=True)\n"
        "  (5): Identity()\n"
        "  (6): Linear(in_features=2, out_features=2, bias=False)\n"
        ")"
    )
    assert repr(nn.MSELoss(reduction="sum")) == "MSELoss()"


# -- containers ------------------------------------------------------------------------------------


def test_sequential_indexing_slicing_len_iter_append():
    seq = mlp()
    assert len(seq) == 3 and isinstance(seq[1], nn.ReLU) and seq[-1] is seq[2]
    assert [type(m).__name__ for m in seq] == ["Linear", "ReLU", "Linear"]
    head = seq[1:]
    assert isinstance(head, nn.Sequential) and len(head) == 2
    assert list(head.state_dict()) == ["2.weight", "2.bias"]  # names kept, as in PyTorch
    assert head[1] is seq[2]
    seq.append(nn.Sigmoid())
    assert len(seq) == 4 and list(seq._modules)[-1] == "3"
    with pytest.raises(IndexError, match="Sequential: index 7 is out of range for 4 modules"):
        seq[7]
    with pytest.raises(TypeError, match="Sequential: argument 0 is not a Module but a int"):
        nn.Sequential(3)
    x = randn(2, 4)
    np.testing.assert_allclose(seq(x).data, seq[3](seq[2](seq[1](seq[0](x)))).data)
    seq[3] = nn.Tanh()
    assert isinstance(seq[3], nn.Tanh) and list(seq._modules) == ["0", "1", "2", "3"]
    del seq[3]
    assert len(seq) == 3


def test_module_list():
    ml = nn.ModuleList([nn.Linear(1, 1), nn.ReLU()])
    ml.append(nn.Linear(1, 2))
    ml.extend([nn.Tanh()])
    ml.insert(0, nn.Identity())
    assert [type(m).__name__ for m in ml] == ["Identity", "Linear", "ReLU", "Linear", "Tanh"]
    assert list(ml.state_dict()) == ["1.weight", "1.bias", "3.weight", "3.bias"]
    del ml[0]
    assert list(ml.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert isinstance(ml[1:], nn.ModuleList) and len(ml[1:]) == 3
    with pytest.raises(NotImplementedError):
        ml(1)


# -- layers ----------------------------------------------------------------------------------------


def test_linear_layer_default_init_and_forward():
    lin = nn.Linear(100, 20)
    bound = 1 / math.sqrt(100)
    assert lin.weight.shape == (20, 100) and lin.bias.shape == (20,)
    assert lin.weight.dtype == np.float32
    assert np.abs(lin.weight.data).max() <= bound and np.abs(lin.bias.data).max() <= bound
    assert np.abs(lin.weight.data).max() > 0.95 * bound  # uses the whole range
    x = randn(5, 100)
    np.testing.assert_allclose(lin(x).data, x.data @ lin.weight.data.T + lin.bias.data,
                               rtol=1e-5, atol=1e-6)
    assert nn.Linear(3, 2, dtype=np.float64).weight.dtype == np.float64
    with pytest.raises(ValueError, match="Linear: in_features must be a non-negative int"):
        nn.Linear(2.5, 3)


def test_activation_layers_equal_their_functionals():
    x = randn(3, 4)
    pairs = [(nn.ReLU(), F.relu(x)), (nn.LeakyReLU(0.2), F.leaky_relu(x, 0.2)),
             (nn.Sigmoid(), F.sigmoid(x)), (nn.Tanh(), F.tanh(x)),
             (nn.Softmax(dim=0), F.softmax(x, 0)), (nn.LogSoftmax(), F.log_softmax(x, -1)),
             (nn.Identity(7, key=1), x)]
    for layer, expected in pairs:
        np.testing.assert_array_equal(layer(x).data, expected.data)
    assert nn.Flatten()(randn(2, 3, 4)).shape == (2, 12)
    assert nn.Flatten(0)(randn(2, 3, 4)).shape == (24,)
    with pytest.raises(ValueError, match=r"Dropout: probability p must be in \[0, 1\), got 1"):
        nn.Dropout(1)


def test_loss_modules_equal_their_functionals():
    r = np.random.default_rng(0)
    x, t = tensor(r.standard_normal((4, 3))), np.array([0, 2, 1, -100])
    w = r.uniform(0.5, 2, 3)
    assert nn.CrossEntropyLoss(w, reduction="sum", label_smoothing=0.1)(x, t).item() == (
        F.cross_entropy(x, t, w, reduction="sum", label_smoothing=0.1).item())
    lp = F.log_softmax(x, 1)
    assert nn.NLLLoss(w, ignore_index=2)(lp, [0, 2, 1, 1]).item() == (
        F.nll_loss(lp, [0, 2, 1, 1], w, ignore_index=2).item())
    y = r.uniform(0, 1, (4, 3))
    assert nn.BCEWithLogitsLoss(pos_weight=w)(x, y).item() == (
        F.binary_cross_entropy_with_logits(x, y, pos_weight=w).item())
    np.testing.assert_array_equal(nn.MSELoss("none")(x, y).data, F.mse_loss(x, y, "none").data)
    with pytest.raises(ValueError, match="CrossEntropyLoss: reduction must be"):
        nn.CrossEntropyLoss(reduction="avg")
    with pytest.raises(ValueError, match=r"CrossEntropyLoss: label_smoothing must be in \[0, 1\]"):
        nn.CrossEntropyLoss(label_smoothing=2)


def test_model_gradients_in_float64():
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    x = tensor(np.random.default_rng(0).standard_normal((5, 3)), requires_grad=True)
    assert gradcheck(lambda t: model(t), [x])
    assert gradgradcheck(lambda t: model(t), [x])

    def loss_of_first_weight(w):  # the model's loss as a function of its first weight
        hidden = model[1](F.linear(x, w, model[0].bias))
        return F.cross_entropy(model[2](hidden), [0, 1, 1, 0, 1])

    assert gradcheck(loss_of_first_weight, [model[0].weight])
    assert gradgradcheck(loss_of_first_weight, [model[0].weight])


def test_a_few_sgd_steps_lower_the_loss():
    r = np.random.default_rng(0)
    x = tensor(r.standard_normal((64, 4)).astype(np.float32))
    t = (x.data[:, 0] + x.data[:, 1] > 0).astype(np.int64)
    model = mlp()
    losses = []
    for _ in range(30):
        loss = F.cross_entropy(model(x), t)
        losses.append(loss.item())
        model.zero_grad()
        loss.backward()
        with no_grad():
            for p in model.parameters():
                p.sub_(p.grad, alpha=0.5)
    assert losses[-1] < 0.7 * losses[0]
    assert all(p.dtype == np.float32 for p in model.parameters())
