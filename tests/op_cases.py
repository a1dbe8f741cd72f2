"""The table of differentiable ops that the gradient tests sweep: for each, how to call it,
how to draw inputs that keep away from kinks and domain edges, and a NumPy reference."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import tinygrad_sm as tg


def any_(rng, shape):
    return rng.standard_normal(shape)


def positive(rng, shape):
    return rng.uniform(0.5, 2.0, shape)


def away0(rng, shape):
    """Magnitudes in [0.3, 2]: away from the kinks of relu and abs at 0."""
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.3, 2.0, shape)


def distinct(rng, shape):
    """Values whose pairwise gaps are >= 0.1, so max/min have no near-ties."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.1 + rng.uniform(0, 0.01, n)).reshape(shape) - 0.05 * n


@dataclass
class Unary:
    name: str
    fn: Callable
    ref: Callable
    draw: Callable = any_
    smooth: bool = True
    min_ndim: int = 0


UNARY = [
    Unary("neg", lambda x: -x, np.negative),
    Unary("exp", tg.exp, np.exp),
    Unary("log", tg.log, np.log, positive),
    Unary("sqrt", tg.sqrt, np.sqrt, positive),
    Unary("abs", tg.abs, np.abs, away0, smooth=False),
    Unary("tanh", tg.tanh, np.tanh),
    Unary("sigmoid", tg.sigmoid, lambda x: 1 / (1 + np.exp(-x))),
    Unary("relu", tg.relu, lambda x: np.maximum(x, 0), away0, smooth=False),
    Unary("clamp", lambda x: x.clamp(-0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5),
          lambda r, s: away0(r, s) * np.where(r.random(s) < 0.5, 0.2, 1.0), smooth=False),
    Unary("clamp_min", lambda x: x.clamp(min=0.1), lambda x: np.maximum(x, 0.1),
          lambda r, s: away0(r, s) + 0.1, smooth=False),
    Unary("pow3", lambda x: x**3, lambda x: x**3),
    Unary("pow_half", lambda x: x**0.5, np.sqrt, positive),
    Unary("rpow", lambda x: 2.0**x, lambda x: 2.0**x),
    Unary("rsub", lambda x: 1 - x, lambda x: 1 - x),
    Unary("rdiv", lambda x: 2 / x, lambda x: 2 / x, away0),
    Unary("scalar_mul", lambda x: 2.5 * x, lambda x: 2.5 * x),
    Unary("clone", lambda x: x.clone(), np.copy),
    Unary("sum_all", lambda x: x.sum(), np.sum),
    Unary("sum_dim0_keep", lambda x: x.sum(0, keepdim=True),
          lambda x: x.sum(0, keepdims=True), min_ndim=1),
    Unary("sum_last_two", lambda x: x.sum((-1, -2)), lambda x: x.sum((-1, -2)), min_ndim=2),
    Unary("mean", lambda x: x.mean(-1), lambda x: x.mean(-1), min_ndim=1),
    Unary("mean_axis_alias", lambda x: x.mean(axis=0, keepdims=True),
          lambda x: x.mean(axis=0, keepdims=True), min_ndim=1),
    Unary("max_all", lambda x: x.max(), np.max, distinct, smooth=False),
    Unary("max_dim", lambda x: x.max(-1)[0], lambda x: x.max(-1), distinct, smooth=False,
          min_ndim=1),
    Unary("min_dim_keep", lambda x: x.min(0, keepdim=True).values,
          lambda x: x.min(0, keepdims=True), distinct, smooth=False, min_ndim=1),
    Unary("amax_dims", lambda x: x.amax((0, -1)), lambda x: x.max((0, -1)), distinct,
          smooth=False, min_ndim=2),
    Unary("cumsum", lambda x: x.cumsum(-1), lambda x: np.cumsum(x, -1), min_ndim=1),
    Unary("cumsum_0", lambda x: x.cumsum(0), lambda x: np.cumsum(x, 0), min_ndim=1),
    Unary("amin_dim_keep", lambda x: x.amin(-1, keepdim=True),
          lambda x: x.min(-1, keepdims=True), distinct, smooth=False, min_ndim=1),
    Unary("var", lambda x: tg.cat([x, 2 * x + 1], -1).var(-1),
          lambda x: np.concatenate([x, 2 * x + 1], -1).var(-1, ddof=1), min_ndim=1),
    Unary("std_biased", lambda x: tg.cat([x, x * x + 1]).std(unbiased=False),
          lambda x: np.concatenate([x, x * x + 1]).std(), min_ndim=1),
    Unary("logsumexp", lambda x: x.logsumexp(-1), lambda x: np.log(np.exp(x).sum(-1)),
          min_ndim=1),
    Unary("softmax", lambda x: x.softmax(-1),
          lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True), min_ndim=1),
    Unary("softmax_dim0", lambda x: x.softmax(0),
          lambda x: np.exp(x) / np.exp(x).sum(0, keepdims=True), min_ndim=1),
    Unary("log_softmax", lambda x: x.log_softmax(-1),
          lambda x: x - np.log(np.exp(x).sum(-1, keepdims=True)), min_ndim=1),
    Unary("reshape_flat", lambda x: x.reshape(-1), lambda x: x.reshape(-1)),
    Unary("view_tuple", lambda x: x.view((x.numel(),)), lambda x: x.reshape(-1)),
    Unary("flatten", lambda x: x.flatten(), lambda x: x.reshape(-1)),
    Unary("T", lambda x: x.T, lambda x: x.T),
    Unary("transpose", lambda x: x.transpose(0, -1), lambda x: np.swapaxes(x, 0, -1), min_ndim=1),
    Unary("permute", lambda x: x.permute(*reversed(range(x.ndim))), lambda x: x.T),
    Unary("unsqueeze", lambda x: x.unsqueeze(0), lambda x: x[None]),
    Unary("squeeze", lambda x: x.unsqueeze(-1).squeeze(-1), lambda x: x),
    Unary("expand", lambda x: x.expand(2, *x.shape), lambda x: np.broadcast_to(x, (2, *x.shape))),
    Unary("getitem_int", lambda x: x[0], lambda x: x[0], min_ndim=1),
    Unary("getitem_slice", lambda x: x[::-1, None], lambda x: x[::-1, None], min_ndim=1),
    Unary("getitem_ellipsis", lambda x: x[..., -1], lambda x: x[..., -1], min_ndim=1),
    Unary("getitem_repeated", lambda x: x[[0, 0, -1]], lambda x: x[[0, 0, -1]], min_ndim=1),
    Unary("getitem_mask", lambda x: x[x > 0], lambda x: x[x > 0], min_ndim=1),
    Unary("getitem_tensor_index", lambda x: x[tg.tensor([0, 0])], lambda x: x[[0, 0]],
          min_ndim=1),
    Unary("cat_self", lambda x: tg.cat([x, x * 2], -1), lambda x: np.concatenate([x, 2 * x], -1),
          min_ndim=1),
    Unary("stack_self", lambda x: tg.stack([x, x.exp()], 0), lambda x: np.stack([x, np.exp(x)])),
]


@dataclass
class Binary:
    name: str
    fn: Callable
    ref: Callable
    draw_a: Callable = any_
    draw_b: Callable = any_
    smooth: bool = True


BINARY = [
    Binary("add", lambda a, b: a + b, np.add),
    Binary("sub", lambda a, b: a - b, np.subtract),
    Binary("mul", lambda a, b: a * b, np.multiply),
    Binary("div", lambda a, b: a / b, np.divide, any_, away0),
    Binary("pow", lambda a, b: a**b, np.power, positive, any_),
    Binary("where", lambda a, b: tg.where(a > b, a, b),
           lambda a, b: np.where(a > b, a, b), smooth=False),
    Binary("maximum", tg.maximum, np.maximum, smooth=False),
    Binary("minimum", tg.minimum, np.minimum, smooth=False),
]
