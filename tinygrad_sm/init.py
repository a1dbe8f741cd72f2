"""Weight initialization with ``torch.nn.init``'s names and semantics, plus diagnostics
that show why initialization matters.

Every ``*_`` function fills its tensor in place under ``no_grad`` (so it works on
Parameters), returns it, and draws from the package RNG (``tg.manual_seed``) unless a
``generator`` (a ``numpy.random.Generator``) is given. Values are drawn in float64 and
cast to the tensor's dtype, so a seed gives the same numbers whatever the dtype.

Why the scales: for y = W x with W of shape (n_out, n_in) and independent zero-mean
entries, Var(y_i) = n_in Var(W) E[x^2]. After a ReLU, E[relu(y)^2] = Var(y) / 2. So
Var(W) = 2 / n_in (Kaiming, for ReLU) keeps the activations' mean square constant from
layer to layer, and 2 / (n_in + n_out) (Xavier, for tanh/linear) balances the forward and
backward passes. See ``magic_number_experiment`` and ``activation_stats``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from tinygrad_sm.core.grad_mode import no_grad
from tinygrad_sm.core.rng import get_rng
from tinygrad_sm.core.tensor import Tensor

__all__ = [
    "Estimate", "LayerStats", "activation_stats", "calculate_gain", "constant_",
    "fan_in_and_fan_out", "kaiming_normal_", "kaiming_uniform_", "magic_number_experiment",
    "normal_", "ones_", "orthogonal_", "trunc_normal_", "uniform_", "xavier_normal_",
    "xavier_uniform_", "zeros_",
]


def _check(fn: str, tensor: Any) -> Tensor:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{fn}: expected a Tensor, got {type(tensor).__name__}")
    return tensor


def _write(tensor: Tensor, values: np.ndarray | float) -> Tensor:
    with no_grad():
        tensor.copy_(values)
    return tensor


def _rng(generator: np.random.Generator | None) -> np.random.Generator:
    return get_rng() if generator is None else generator


# -- gains and fans ------------------------------------------------------------------------


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The factor by which to scale a weight's standard deviation so that the
    nonlinearity keeps the signal's scale: 1 for linear/conv/sigmoid, 5/3 for tanh,
    sqrt(2) for relu, sqrt(2 / (1 + slope^2)) for leaky_relu (slope ``param``, default
    0.01), 3/4 for selu."""
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
              "conv_transpose3d", "sigmoid")
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, bool) or not isinstance(param, int | float):
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        else:
            slope = param
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel): in * prod(kernel) and
    out * prod(kernel) (PyTorch's ``_calculate_fan_in_and_fan_out``)."""
    shape = _check("fan_in_and_fan_out", tensor).shape
    if len(shape) < 2:
        raise ValueError(f"fan_in_and_fan_out: fan in and fan out can not be computed for a "
                         f"tensor with fewer than 2 dimensions (shape {shape})")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _fan(fn: str, tensor: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"{fn}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


# -- filling -------------------------------------------------------------------------------


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, *,
             generator: np.random.Generator | None = None) -> Tensor:
    """Fill with U(a, b)."""
    t = _check("uniform_", tensor)
    return _write(t, _rng(generator).uniform(a, b, t.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, *,
            generator: np.random.Generator | None = None) -> Tensor:
    """Fill with N(mean, std^2)."""
    t = _check("normal_", tensor)
    return _write(t, _rng(generator).normal(mean, std, t.shape))


def constant_(tensor: Tensor, val: float) -> Tensor:
    return _write(_check("constant_", tensor), val)


def zeros_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 1.0)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, *,
                    generator: np.random.Generator | None = None) -> Tensor:
    """U(-a, a) with a = gain sqrt(6 / (fan_in + fan_out)): variance
    gain^2 2 / (fan_in + fan_out) (Glorot and Bengio, 2010)."""
    fan_in, fan_out = fan_in_and_fan_out(_check("xavier_uniform_", tensor))
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -a, a, generator=generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, *,
                   generator: np.random.Generator | None = None) -> Tensor:
    """N(0, std^2) with std = gain sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = fan_in_and_fan_out(_check("xavier_normal_", tensor))
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator=generator)


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", *,
                     generator: np.random.Generator | None = None) -> Tensor:
    """U(-bound, bound) with bound = sqrt(3) gain / sqrt(fan), gain =
    calculate_gain(nonlinearity, a) (He et al., 2015). With PyTorch's defaults (a = 0,
    leaky_relu) the gain is sqrt(2); ``Linear`` uses a = sqrt(5), giving 1 / sqrt(fan_in)."""
    _check("kaiming_uniform_", tensor)
    if tensor.data.size == 0:
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan("kaiming_uniform_", tensor, mode))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator=generator)


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", *,
                    generator: np.random.Generator | None = None) -> Tensor:
    """N(0, std^2) with std = gain / sqrt(fan): sqrt(2 / fan_in) for ReLU (the default)."""
    _check("kaiming_normal_", tensor)
    if tensor.data.size == 0:
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan("kaiming_normal_", tensor, mode))
    return normal_(tensor, 0.0, std, generator=generator)


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0, *, generator: np.random.Generator | None = None) -> Tensor:
    """N(mean, std^2) conditioned on [a, b] (a and b are absolute bounds, as in PyTorch),
    by rejection: out-of-range draws are redrawn. The interval must hold a reasonable
    share of the distribution (at least 1e-6 of it)."""
    t = _check("trunc_normal_", tensor)
    if not a < b:
        raise ValueError(f"trunc_normal_: need a < b, got a = {a}, b = {b}")
    cdf = lambda v: 0.5 * (1 + math.erf((v - mean) / (std * math.sqrt(2))))  # noqa: E731
    mass = cdf(b) - cdf(a)
    if not mass >= 1e-6:
        raise ValueError(f"trunc_normal_: [a, b] = [{a}, {b}] holds only {mass:.3g} of "
                         f"N({mean}, {std}^2); rejection sampling would not finish")
    rng = _rng(generator)
    out = rng.normal(mean, std, t.shape)
    bad = (out < a) | (out > b)
    while bad.any():
        out[bad] = rng.normal(mean, std, int(bad.sum()))
        bad = (out < a) | (out > b)
    return _write(t, out)


def orthogonal_(tensor: Tensor, gain: float = 1.0, *,
                generator: np.random.Generator | None = None) -> Tensor:
    """A (semi-)orthogonal matrix times ``gain``: the Q of the QR decomposition of a
    standard normal matrix, with signs fixed so that it is uniformly distributed (Saxe et
    al., 2013). Dims after the first are flattened."""
    t = _check("orthogonal_", tensor)
    if t.ndim < 2:
        raise ValueError(f"orthogonal_: only tensors with 2 or more dimensions are "
                         f"supported, got shape {t.shape}")
    if t.data.size == 0:
        return t
    rows = t.shape[0]
    cols = t.data.size // rows
    flat = _rng(generator).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))  # make the decomposition unique (Haar-distributed Q)
    if rows < cols:
        q = q.T
    return _write(t, gain * q.reshape(t.shape))


# -- diagnostics -----------------------------------------------------------------------------


@dataclass
class LayerStats:
    """The output statistics of one layer: ``mean`` and ``std`` (population std, over all
    entries), and for a ReLU, ``dead``: the fraction of units (output positions other than
    the batch dim) that are zero for every example of the batch (else None)."""

    name: str
    kind: str
    shape: tuple[int, ...]
    mean: float
    std: float
    dead: float | None = None


def activation_stats(model: Any, x: Any, modules: Any = None) -> list[LayerStats]:
    """Run ``x`` through ``model`` once (under no_grad) and return, in the order they ran,
    the output statistics of each of ``modules`` (default: every module of the model that
    has no children). Forward hooks collect them and are removed afterwards.

    Healthy: means near 0 and standard deviations near 1 all the way down, few dead
    units. A std that grows or shrinks geometrically with depth means a bad weight scale."""
    if modules is None:
        named = [(n, m) for n, m in model.named_modules() if not any(True for _ in m.children())]
    else:
        names = {id(m): n for n, m in model.named_modules()}
        named = [(names.get(id(m), type(m).__name__), m) for m in modules]
    stats: list[LayerStats] = []

    def hook_for(name: str) -> Any:
        def hook(module: Any, inputs: Any, out: Any) -> None:
            d = np.asarray(out.data if isinstance(out, Tensor) else out, np.float64)
            dead = None
            # (a module says it is a ReLU: nn builds on init, so init cannot import it)
            if getattr(module, "rectifier", False) and d.ndim >= 1 and d.shape[0] > 0:
                dead = float(np.mean(np.all(d == 0, axis=0)))
            stats.append(LayerStats(name, type(module).__name__, d.shape, float(d.mean()),
                                    float(d.std()), dead))
        return hook

    handles = [m.register_forward_hook(hook_for(n)) for n, m in named]
    try:
        with no_grad():
            model(x if isinstance(x, Tensor) else Tensor(x))
    finally:
        for h in handles:
            h.remove()
    return stats


class Estimate(NamedTuple):
    """A Monte Carlo estimate with its standard error and the value theory predicts."""

    value: float
    stderr: float
    expected: float


def _estimate(samples: np.ndarray, expected: float) -> Estimate:
    return Estimate(float(samples.mean()), float(samples.std(ddof=1) / math.sqrt(samples.size)),
                    expected)


def magic_number_experiment(scalar_samples: int = 100_000, matrix_trials: int = 100,
                            size: int = 512, *, generator: np.random.Generator | None = None
                            ) -> dict[str, dict[str, Estimate]]:
    """The course's "magic number" experiment: why is the ReLU gain sqrt(2), and why does a
    layer's scale depend on its width?

    - scalar: y = relu(a x) for independent standard normals a and x. Then
      E[y] = E|a x| / 2 = (E|a|)^2 / 2 = (sqrt(2/pi))^2 / 2 = 1/pi and
      E[y^2] = E[a^2] E[x^2] / 2 = 1/2.
    - matrix: y = relu(A x) for a (size, size) standard normal A and a size-vector x.
      Each (A x)_i is a sum of ``size`` products a x, so its variance is size, and being a
      sum of many independent terms it is (nearly) normal, N(0, size). Then
      E[y] = sqrt(size) E[relu(z)] = sqrt(size / (2 pi)) and E[y^2] = size / 2
      (sqrt(256 / pi) = 9.03 and 256 for size 512).

    The two means differ, and not only by the scale: a product of two normals is not
    normal (it is sharply peaked at 0 with heavy tails, E|a x| = 2/pi, not the
    sqrt(2/pi) of a normal of the same variance), while a sum of 512 such products is
    nearly normal (central limit theorem). The mean squares agree after scaling, since
    they depend on the variance only: E[y^2] = Var / 2. That Var / 2 is the "magic
    number": dividing the weights by sqrt(size / 2), i.e. std sqrt(2 / fan_in), keeps
    E[relu(A x)^2] = E[x^2].

    Returns {'scalar': {'mean': Estimate, 'mean_sq': Estimate}, 'matrix': {...}}, each
    Estimate with its standard error (over samples, resp. over trials, each trial drawing
    a new A and x) and the value above."""
    if scalar_samples < 2 or matrix_trials < 2 or size < 1:
        raise ValueError("magic_number_experiment: need scalar_samples >= 2, "
                         "matrix_trials >= 2 and size >= 1")
    rng = _rng(generator)
    y = np.maximum(rng.standard_normal(scalar_samples) * rng.standard_normal(scalar_samples), 0)
    scalar = {"mean": _estimate(y, 1 / math.pi), "mean_sq": _estimate(y * y, 0.5)}
    means, sqs = np.empty(matrix_trials), np.empty(matrix_trials)
    for i in range(matrix_trials):
        ym = np.maximum(rng.standard_normal((size, size)) @ rng.standard_normal(size), 0)
        means[i], sqs[i] = ym.mean(), (ym * ym).mean()
    matrix = {"mean": _estimate(means, math.sqrt(size / (2 * math.pi))),
              "mean_sq": _estimate(sqs, size / 2)}
    return {"scalar": scalar, "matrix": matrix}
