"""Tests for tinygrad_sm.init: PyTorch's initializers (in place, under no_grad, from the
package RNG), and the diagnostics: activation statistics, the magic-number experiment, and
why a 50-layer ReLU stack needs sqrt(2 / fan_in)."""

import math

import numpy as np
import pytest

from tinygrad_sm import init, nn
from tinygrad_sm.core.creation import randn, zeros
from tinygrad_sm.core.rng import manual_seed


def param(*shape):
    return nn.Parameter(np.zeros(shape, np.float32))


# -- gains and fans -------------------------------------------------------------------------------


def test_calculate_gain():
    assert init.calculate_gain("linear") == 1 == init.calculate_gain("sigmoid")
    assert init.calculate_gain("conv2d") == 1
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01**2)))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert init.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(math.sqrt(1 / 3))
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="calculate_gain: unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="calculate_gain: negative_slope 'x' is not a valid"):
        init.calculate_gain("leaky_relu", "x")


def test_fan_in_and_fan_out():
    assert init.fan_in_and_fan_out(zeros(3, 5)) == (5, 3)
    assert init.fan_in_and_fan_out(zeros(8, 4, 3, 3)) == (36, 72)
    with pytest.raises(ValueError, match=r"fewer than 2 dimensions \(shape \(5,\)\)"):
        init.fan_in_and_fan_out(zeros(5))


# -- filling -------------------------------------------------------------------------------------


def test_initializers_work_in_place_on_parameters():
    p = param(30, 40)
    for fn in (init.uniform_, init.normal_, init.zeros_, init.ones_, init.xavier_uniform_,
               init.xavier_normal_, init.kaiming_uniform_, init.kaiming_normal_,
               init.trunc_normal_, init.orthogonal_, lambda t: init.constant_(t, 0.5)):
        version = p._version
        assert fn(p) is p
        assert p._version > version and p.requires_grad and p.is_leaf and p.grad_fn is None
        assert p.dtype == np.float32
    np.testing.assert_array_equal(p.data, 0.5)
    with pytest.raises(TypeError, match="uniform_: expected a Tensor, got ndarray"):
        init.uniform_(np.zeros(3))


def test_reproducible_with_manual_seed_or_a_generator():
    manual_seed(3)
    a = init.normal_(param(5, 5)).data.copy()
    manual_seed(3)
    np.testing.assert_array_equal(init.normal_(param(5, 5)).data, a)
    g1 = init.kaiming_normal_(param(4, 4), generator=np.random.default_rng(1)).data
    g2 = init.kaiming_normal_(param(4, 4), generator=np.random.default_rng(1)).data
    np.testing.assert_array_equal(g1, g2)


def test_uniform_and_normal_parameters():
    w = init.uniform_(zeros(200, 200), -2.0, 3.0)
    assert w.data.min() >= -2 and w.data.max() <= 3
    assert w.data.mean() == pytest.approx(0.5, abs=0.03)  # sd of the mean: 5/sqrt(12*4e4)
    w = init.normal_(zeros(200, 200), 1.0, 2.0)
    assert w.data.mean() == pytest.approx(1.0, abs=0.05) and w.data.std() == pytest.approx(
        2.0, rel=0.02)


def test_kaiming_normal_std_on_512_by_512():
    w = init.kaiming_normal_(zeros(512, 512))
    assert abs(w.data.std() / math.sqrt(2 / 512) - 1) < 0.02
    w = init.kaiming_normal_(zeros(256, 512), mode="fan_out", nonlinearity="relu")
    assert abs(w.data.std() / math.sqrt(2 / 256) - 1) < 0.02
    w = init.kaiming_normal_(zeros(512, 256), nonlinearity="linear")
    assert abs(w.data.std() / math.sqrt(1 / 256) - 1) < 0.02
    with pytest.raises(ValueError, match="kaiming_normal_: mode must be 'fan_in' or 'fan_out'"):
        init.kaiming_normal_(zeros(2, 2), mode="fan")


def test_kaiming_uniform_bound_and_linear_default_init():
    w = init.kaiming_uniform_(zeros(300, 400))  # a = 0: bound sqrt(6 / fan_in)
    bound = math.sqrt(6 / 400)
    assert np.abs(w.data).max() <= bound and np.abs(w.data).max() > 0.99 * bound
    lin = nn.Linear(400, 300)  # a = sqrt(5): bound 1 / sqrt(fan_in)
    bound = 1 / math.sqrt(400)
    for t in (lin.weight, lin.bias):
        assert np.abs(t.data).max() <= bound and np.abs(t.data).max() > 0.95 * bound
    assert lin.weight.data.std() == pytest.approx(bound / math.sqrt(3), rel=0.02)


def test_xavier():
    w = init.xavier_uniform_(zeros(300, 500), gain=2.0)
    a = 2.0 * math.sqrt(6 / 800)
    assert np.abs(w.data).max() <= a and np.abs(w.data).max() > 0.99 * a
    w = init.xavier_normal_(zeros(300, 500), gain=init.calculate_gain("tanh"))
    assert w.data.std() == pytest.approx(5 / 3 * math.sqrt(2 / 800), rel=0.02)


def test_trunc_normal():
    w = init.trunc_normal_(zeros(300, 300), mean=1.0, std=2.0, a=-1.0, b=3.0)
    assert w.data.min() >= -1 and w.data.max() <= 3
    # N(1, 4) truncated to [-1, 3] is symmetric around 1
    assert w.data.mean() == pytest.approx(1.0, abs=0.02)
    w = init.trunc_normal_(zeros(300, 300), std=0.02)  # [a, b] = [-2, 2]: 100 std: no cut
    assert w.data.std() == pytest.approx(0.02, rel=0.02)
    with pytest.raises(ValueError, match=r"trunc_normal_: need a < b, got a = 1, b = 0"):
        init.trunc_normal_(zeros(2), a=1, b=0)
    with pytest.raises(ValueError, match="trunc_normal_: .* holds only"):
        init.trunc_normal_(zeros(2), a=50, b=60)


@pytest.mark.parametrize("shape", [(4, 6), (6, 4), (5, 5), (3, 2, 2)])
def test_orthogonal(shape):
    w = init.orthogonal_(zeros(*shape), gain=2.0).data.reshape(shape[0], -1) / 2
    small = min(w.shape)
    gram = w @ w.T if w.shape[0] == small else w.T @ w
    np.testing.assert_allclose(gram, np.eye(small), atol=1e-5)
    with pytest.raises(ValueError, match=r"orthogonal_: only tensors with 2 or more"):
        init.orthogonal_(zeros(3))


# -- diagnostics -----------------------------------------------------------------------------------


def test_activation_stats_per_layer_and_dead_units():
    lin = nn.Linear(3, 4)
    with np.errstate(all="ignore"):
        init.constant_(lin.bias, 0.0)
        lin.weight.data[:] = [[1, 0, 0], [-1, 0, 0], [0, 0, 0], [0, 1, 0]]
    model = nn.Sequential(lin, nn.ReLU(), nn.Linear(4, 2))
    x = np.array([[1.0, 2.0, 0.0], [2.0, -1.0, 1.0]], np.float32)  # unit 1: -x0 < 0 always
    stats = init.activation_stats(model, x)
    assert [(s.name, s.kind) for s in stats] == [("0", "Linear"), ("1", "ReLU"), ("2", "Linear")]
    h = x @ lin.weight.data.T
    assert stats[0].mean == pytest.approx(h.mean()) and stats[0].std == pytest.approx(h.std())
    assert stats[0].dead is None and stats[2].dead is None
    # units 1 and 2 are zero for both examples; units 0 and 3 are not
    assert stats[1].dead == 0.5 and stats[1].shape == (2, 4)
    assert all(not m._forward_hooks for m in model.modules())  # hooks removed
    only = init.activation_stats(model, x, modules=[model[1]])
    assert [s.name for s in only] == ["1"]


def test_magic_number_experiment_matches_first_principles():
    res = init.magic_number_experiment(scalar_samples=100_000, matrix_trials=40)
    expected = {("scalar", "mean"): 1 / math.pi, ("scalar", "mean_sq"): 0.5,
                ("matrix", "mean"): math.sqrt(512 / (2 * math.pi)), ("matrix", "mean_sq"): 256}
    for (case, stat), value in expected.items():
        e = res[case][stat]
        assert e.expected == pytest.approx(value)
        assert e.stderr < 0.03 * value  # the experiment resolves the value to a few percent
        assert abs(e.value - value) < 5 * e.stderr, (case, stat, e)


def deep_relu_net(weight_std, depth=50, width=512):
    layers = []
    for _ in range(depth):
        lin = nn.Linear(width, width, bias=False)
        init.normal_(lin.weight, 0.0, weight_std)
        layers += [lin, nn.ReLU()]
    return nn.Sequential(*layers)


def _relu_mean_squares(weight_std, batch=64):
    x = randn(batch, 512)
    with np.errstate(over="ignore", invalid="ignore"):
        stats = init.activation_stats(deep_relu_net(weight_std), x)
    pre = [s.std for s in stats if s.kind == "Linear"]
    return [s.std**2 + s.mean**2 for s in stats if s.kind == "ReLU"], pre


def test_kaiming_scale_keeps_50_relu_layers_near_unit_scale():
    mean_sq, pre_std = _relu_mean_squares(math.sqrt(2 / 512))
    assert len(mean_sq) == 50
    # E[relu(h)^2] = Var(h) / 2 = E[x^2]: the mean square stays at the input's (1)
    assert all(0.25 < m < 4 for m in mean_sq), mean_sq
    # and the pre-activations' std stays near sqrt(2 E[x^2]) = sqrt(2)
    assert all(0.5 < s < 3 for s in pre_std), pre_std


def test_unscaled_randn_weights_overflow():
    mean_sq, _ = _relu_mean_squares(1.0, batch=8)
    assert mean_sq[0] == pytest.approx(256, rel=0.1)  # x 256 per layer: 256^16 > float32 max
    assert not np.isfinite(mean_sq[-1])


def test_weights_times_001_vanish():
    mean_sq, _ = _relu_mean_squares(0.01, batch=8)  # small: subnormal arithmetic is slow
    assert mean_sq[0] == pytest.approx(512 * 1e-4 / 2, rel=0.1)  # x 0.0256 per layer
    assert mean_sq[-1] < 1e-60  # 0.0256^50: the activations are (float32) zero in effect
