"""Neural-network functions with PyTorch's names: ``import tinygrad_sm.functional as F``.

Everything here is differentiable (twice where the function is smooth) and follows
``torch.nn.functional``'s signatures and semantics. Deliberate differences, each also noted
in its docstring:

- class-index losses take (N, C) or (N, C, d1, ...) inputs only (no unbatched (C,) input),
  and class indices only (no class-probability targets);
- ``mse_loss`` and the binary cross-entropies refuse targets whose shape differs from the
  input's (PyTorch broadcasts with a warning: (N, 1) against (N,) silently gives (N, N));
- ``dropout`` refuses p = 1 (PyTorch returns zeros); ``inplace=True`` is accepted and
  computed out of place;
- ``softmax``/``log_softmax`` take a ``temperature`` and no ``dtype``;
- weights (``weight``, ``pos_weight``) are constants: no gradient flows into them.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from tinygrad_sm.core.idioms import largest, smallest
from tinygrad_sm.core.pytorch_api import where
from tinygrad_sm.core.rng import get_rng
from tinygrad_sm.core.tensor import Tensor
from tinygrad_sm.fused.binary_cross_entropy import BinaryCrossEntropy, BinaryCrossEntropyWithLogits
from tinygrad_sm.fused.cross_entropy import CrossEntropy
from tinygrad_sm.fused.linear import Linear

__all__ = [
    "accuracy", "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy",
    "dropout", "leaky_relu", "linear", "log_softmax", "logsumexp", "mse_loss", "nll_loss",
    "one_hot", "relu", "sigmoid", "softmax", "tanh",
]

_REDUCTIONS = ("mean", "sum", "none")


def _tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _floating(fn: str, name: str, x: Any) -> Tensor:
    """``x`` as a Tensor, refused unless floating point: a loss of integer scores is a
    mistake (PyTorch refuses them too), and NumPy's error would come from deep inside."""
    x = _tensor(x)
    if x.data.dtype.kind != "f":
        raise TypeError(f"{fn}: {name} must be floating point, got {x.dtype} "
                        f"(convert with .float())")
    return x


def _array(x: Any) -> np.ndarray:
    return x.data if isinstance(x, Tensor) else np.asarray(x)


# -- the softmax family ----------------------------------------------------------------------


def _tempered(fn: str, x: Tensor, temperature: float) -> Tensor:
    if not temperature > 0:  # also refuses nan
        raise ValueError(f"{fn}: temperature must be > 0, got {temperature}")
    return x if temperature == 1 else x * (1.0 / temperature)


def softmax(x: Tensor, dim: int = -1, temperature: float = 1.0) -> Tensor:
    """softmax(x / T)_i = e^(x_i / T) / sum_j e^(x_j / T) along ``dim``, computed stably
    (shifted by the max). T -> 0 gives the one-hot argmax, T -> inf the uniform
    distribution. Invariant to adding a constant to x, not to scaling it. ``dim`` defaults
    to -1 (PyTorch's None picks a dim by a legacy rule and warns)."""
    x = _tensor(x)
    return _tempered("softmax", x, temperature).softmax(dim)


def log_softmax(x: Tensor, dim: int = -1, temperature: float = 1.0) -> Tensor:
    """log softmax(x / T) = x / T - logsumexp(x / T), computed stably along ``dim``."""
    x = _tensor(x)
    return _tempered("log_softmax", x, temperature).log_softmax(dim)


def logsumexp(x: Tensor, dim: int | Sequence[int], keepdim: bool = False) -> Tensor:
    """log sum_i e^(x_i) along ``dim``, as m + log sum_i e^(x_i - m) with m = max x, so
    max x <= logsumexp(x) <= max x + log n and nothing overflows."""
    return _tensor(x).logsumexp(dim, keepdim)


# -- activations and layers -------------------------------------------------------------------


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x W^T + b with W of shape (out_features, in_features) and x of shape
    (..., in_features): one fused op (see ``tinygrad_sm.fused.linear.Linear``)."""
    x, weight = _tensor(x), _tensor(weight)
    bias = None if bias is None else _tensor(bias)
    for t, what in ((weight, "weight"), (bias, "bias")):
        if t is not None and t.data.dtype != x.data.dtype:  # (PyTorch's linear promotes nothing)
            raise RuntimeError(
                f"linear: the input is {x.dtype} but the {what} is {t.dtype}; convert the "
                "input (x.float() or x.double()) or the model (model.float() or model.double())"
            )
    return Linear.apply(x, weight) if bias is None else Linear.apply(x, weight, bias)


def relu(x: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0); the gradient at 0 is 0. ``inplace`` is accepted and ignored."""
    return _tensor(x).relu()


def leaky_relu(x: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x where x > 0, else negative_slope * x (the gradient at 0 is negative_slope, as in
    PyTorch). ``inplace`` is accepted and ignored."""
    x = _tensor(x)
    return where(x.data > 0, x, x * negative_slope)


def sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + e^-x), computed without overflow."""
    return _tensor(x).sigmoid()


def tanh(x: Tensor) -> Tensor:
    return _tensor(x).tanh()


def dropout(x: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each entry with probability p and scale the kept ones by 1 / (1 - p), so the
    expected value is unchanged; the identity when not ``training`` or p = 0. The mask
    comes from the package RNG (``tg.manual_seed``). p must be in [0, 1): unlike PyTorch,
    p = 1 (which zeroes everything) is refused. ``inplace`` is computed out of place."""
    if isinstance(p, bool) or not (isinstance(p, numbers.Real) and 0 <= p < 1):
        raise ValueError(f"dropout: probability p must be in [0, 1), got {p!r}")
    x = _tensor(x)
    if not training or p == 0:
        return x
    dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.float64
    keep = get_rng().random(x.shape, dtype=dtype) >= p
    mask = keep.astype(x.dtype)
    mask *= x.dtype.type(1 / (1 - p))
    return x * Tensor._make(mask)


# -- class-index targets ----------------------------------------------------------------------


def _check_reduction(fn: str, reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{fn}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _class_target(fn: str, shape: tuple[int, ...], target: Any, ignore_index: int,
                  what: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Check class indices for an input of ``shape`` (N, C, d1, ...) and return them
    flattened to (N * d1 * ...,) with ignored entries replaced by 0, and the mask of the
    entries that count (None when all do)."""
    if len(shape) < 2:
        raise ValueError(
            f"{fn}: {what} must have shape (N, C) or (N, C, d1, ...), with the classes in "
            f"dim 1; got shape {shape} (for one example, add a batch dim: x.unsqueeze(0))"
        )
    if shape[1] == 0:
        raise ValueError(f"{fn}: no classes in {what} of shape {shape} (C = 0 in dim 1)")
    t = _array(target)
    if t.dtype.kind not in "iu":
        raise TypeError(
            f"{fn}: target must hold integer class indices, got dtype {t.dtype}"
            + (" (class-probability targets are not supported)" if t.dtype.kind == "f" else "")
        )
    want = shape[:1] + shape[2:]
    if t.shape != want:
        raise ValueError(
            f"{fn}: target has shape {t.shape}, but {what} of shape {shape} needs a target of "
            f"shape {want} (one class index per example"
            + (f" and position; the classes are dim 1 of {what})" if len(shape) > 2 else ")")
        )
    c = shape[1]
    if t.ndim != 1:
        t = t.reshape(-1)
    if t.size == 0:
        return t, None
    if not 0 <= ignore_index < c and _all_below(t, c):  # the common case: all valid
        return t, None
    valid = t != ignore_index
    bad = valid & ((t < 0) | (t >= c))
    if bad.any():
        value = t[np.argmax(bad)]
        raise IndexError(
            f"{fn}: target {value} is out of bounds: class indices must be in [0, {c}) for "
            f"C = {c} classes ({what} shape {shape}), or equal ignore_index = {ignore_index}"
        )
    if valid.all():
        return t, None
    return np.where(valid, t, 0), valid


def _all_below(t: np.ndarray, c: int) -> bool:
    """0 <= t < c everywhere. Usually in one pass: read as unsigned, a negative index
    becomes at least 2**(bits - 1), so it fails the test whenever c is no larger. (The
    extremes are read at argmax and argmin: see ops/idioms.py.)"""
    unsigned = _AS_UNSIGNED.get(t.dtype)
    if unsigned is not None and c <= unsigned[1]:
        return bool(largest(t.view(unsigned[0])) < c)
    return bool(smallest(t) >= 0 and largest(t) < c)


# native integer dtype -> (the unsigned dtype of its size, the largest c the pass is right for)
_AS_UNSIGNED = {np.dtype(f"{kind}{n}"): (np.dtype(f"u{n}"), 2 ** (8 * n - (kind == "i")))
                for kind in "iu" for n in (1, 2, 4, 8)}


def _class_weight(fn: str, weight: Any, c: int, dtype: np.dtype) -> np.ndarray | None:
    if weight is None:
        return None
    w = _array(weight)
    if w.shape != (c,):
        raise ValueError(f"{fn}: weight must have one entry per class, shape ({c},); "
                         f"got shape {w.shape}")
    return w.astype(dtype, copy=False)


def _flat_classes(x: Tensor) -> Tensor:
    """(N, C, d1, ...) -> (N * d1 * ..., C): the classes last, one row per prediction."""
    if x.ndim == 2:
        return x
    return x.permute(0, *range(2, x.ndim), 1).reshape(-1, x.shape[1])


def _unflatten(loss: Tensor, shape: tuple[int, ...], reduction: str) -> Tensor:
    if reduction != "none" or len(shape) == 2:
        return loss
    return loss.reshape((shape[0],) + tuple(shape[2:]))


def nll_loss(log_probs: Tensor, target: Any, weight: Any = None, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of class indices: loss_i = -w_{t_i} log_probs[i, t_i].

    ``log_probs``: (N, C) or (N, C, d1, ...); ``target``: integer class indices of shape
    (N,) or (N, d1, ...) (Tensor, array or list). Entries equal to ``ignore_index`` count
    for nothing. 'mean' divides the sum by the summed weights of the non-ignored targets
    (sum_i w_{t_i}), as PyTorch does; nan if every target is ignored."""
    _check_reduction("nll_loss", reduction)
    log_probs = _floating("nll_loss", "log_probs", log_probs)
    shape = log_probs.shape
    t, valid = _class_target("nll_loss", shape, target, ignore_index, "log_probs")
    w = _class_weight("nll_loss", weight, shape[1], log_probs.dtype)
    lp = _flat_classes(log_probs)
    picked = lp[np.arange(len(t)), t]
    wt = None if w is None else w[t]
    if valid is not None:
        wt = valid.astype(lp.dtype) if wt is None else np.where(valid, wt, 0).astype(lp.dtype)
    losses = -picked if wt is None else -(picked * Tensor._make(wt))
    if valid is not None:  # -inf * 0 would be nan: ignored entries are exactly 0
        losses = where(valid, losses, 0.0)
    if reduction == "none":
        return _unflatten(losses, shape, reduction)
    total = losses.sum()
    if reduction == "sum":
        return total
    norm = lp.dtype.type(len(t) if wt is None else wt.sum())
    return total * (1 / norm) if norm else total * np.nan  # nothing counted: nan, as PyTorch


def cross_entropy(logits: Tensor, target: Any, weight: Any = None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy of logits against class indices: ``nll_loss(log_softmax(logits, 1),
    target, ...)`` without label smoothing, and with it

        loss_i = (1 - eps) w_{t_i} (-log p_{i,t_i}) + (eps / C) sum_c w_c (-log p_{i,c}),

    PyTorch's definition (the smoothing term uses the class weights too; 'mean' divides
    both terms by sum_i w_{t_i} over non-ignored targets). Without weights, ignored targets
    or smoothing, one fused op computes it, with the gradient softmax minus one-hot
    (``tinygrad_sm.fused.cross_entropy``). Stable for huge logits: two logits of 1e8 give
    log 2.

    Shapes as ``nll_loss``: (N, C) or (N, C, d1, ...) logits, integer targets (N,) or
    (N, d1, ...). Class-probability targets are not supported (a float target raises)."""
    _check_reduction("cross_entropy", reduction)
    if not 0 <= label_smoothing <= 1:  # also refuses nan
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got "
                         f"{label_smoothing}")
    logits = _floating("cross_entropy", "logits", logits)
    shape = logits.shape
    t, valid = _class_target("cross_entropy", shape, target, ignore_index, "logits")
    w = _class_weight("cross_entropy", weight, shape[1], logits.dtype)
    z = _flat_classes(logits)
    if w is None and valid is None and not label_smoothing:
        loss = CrossEntropy.apply(z, target=t, reduction=reduction)
    else:
        loss = _general_cross_entropy(z, t, w, valid, reduction, float(label_smoothing))
    return _unflatten(loss, shape, reduction)


def _general_cross_entropy(z: Tensor, t: np.ndarray, w: np.ndarray | None,
                           valid: np.ndarray | None, reduction: str, eps: float) -> Tensor:
    """cross_entropy's formula from Tensor ops, for rows z (M, C): with class weights w,
    the rows where ``valid`` is False counting for nothing, and label smoothing eps."""
    c = z.shape[1]
    log_p = z.log_softmax(1)
    wt = np.ones(len(t), z.dtype) if w is None else w[t]  # each row's target weight
    if valid is not None:  # ignored rows count for nothing (and their -inf never meets * 0)
        wt = np.where(valid, wt, 0).astype(z.dtype)
        log_p = where(valid[:, None], log_p, 0.0)
    loss = -log_p[np.arange(len(t)), t] * Tensor._make(wt)
    if eps:
        smooth = -(log_p.sum(1) if w is None else log_p @ Tensor._make(w))
        loss = loss * (1 - eps) + smooth * (eps / c)
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "sum":
        return total
    norm = wt.sum()
    return total * (1 / norm) if norm else total * np.nan  # nothing counted: nan, as PyTorch


def one_hot(target: Any, num_classes: int = -1) -> Tensor:
    """An int64 tensor of shape target.shape + (num_classes,) with a 1 at each index;
    num_classes = -1 means max(target) + 1."""
    t = _array(target)
    if t.dtype.kind not in "iu":
        raise TypeError(f"one_hot: target must hold integer class indices, got dtype {t.dtype}")
    if num_classes == -1:
        num_classes = int(t.max()) + 1 if t.size else 0
    if t.size and (t.min() < 0 or t.max() >= num_classes):
        value = t.min() if t.min() < 0 else t.max()
        raise IndexError(f"one_hot: class index {value} is out of bounds for "
                         f"num_classes = {num_classes}: indices must be in [0, {num_classes})")
    out = np.zeros(t.shape + (num_classes,), np.int64)
    np.put_along_axis(out, t[..., None].astype(np.intp), 1, axis=-1)
    return Tensor._make(out)


def accuracy(logits_or_probs: Tensor, target: Any) -> Tensor:
    """The fraction of examples whose argmax over dim 1 is the target: a 0-d float32 tensor
    (no gradient). Input (N, C) or (N, C, d1, ...), target (N,) or (N, d1, ...)."""
    x = _array(logits_or_probs)
    t, _ = _class_target("accuracy", x.shape, target, ignore_index=-100, what="input")
    pred = np.moveaxis(x, 1, -1).reshape(-1, x.shape[1]).argmax(axis=1)
    return Tensor._make(np.asarray(np.mean(pred == t), np.float32))


# -- regression and binary losses ---------------------------------------------------------------


def _reduce(losses: Tensor, reduction: str) -> Tensor:
    if reduction == "none":
        return losses
    return losses.sum() if reduction == "sum" else losses.mean()


def _same_shape_target(fn: str, x: Tensor, target: Any) -> Tensor:
    y = target if isinstance(target, Tensor) else Tensor._make(np.asarray(target))
    if y.shape != x.shape:
        raise ValueError(
            f"{fn}: target shape {y.shape} differs from input shape {x.shape}; they must be "
            "equal (broadcasting them, as (N, 1) against (N,), would silently compare every "
            "pair)"
        )
    return y.to(x.dtype)


def _broadcast_const(fn: str, name: str, value: Any, x: Tensor) -> np.ndarray | None:
    if value is None:
        return None
    v = _array(value)
    try:
        ok = np.broadcast_shapes(v.shape, x.shape) == x.shape
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"{fn}: {name} of shape {v.shape} cannot be broadcast to the input's "
                         f"shape {x.shape}")
    return v.astype(x.dtype, copy=False)


def mse_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """(input - target)^2, averaged ('mean'), summed ('sum') or not ('none'). The shapes
    must be equal (PyTorch only warns)."""
    _check_reduction("mse_loss", reduction)
    x = _tensor(input)
    d = x - _same_shape_target("mse_loss", x, target)
    return _reduce(d * d, reduction)


def binary_cross_entropy_with_logits(logits: Tensor, target: Any, weight: Any = None,
                                     pos_weight: Any = None, reduction: str = "mean") -> Tensor:
    """-w [p y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))] for logits x and targets y in
    [0, 1] of the same shape: one independent binary problem per entry (multi-label: one
    0/1 per class). Computed in the stable form max(x, 0) - x y + log(1 + e^-|x|) (with
    pos_weight p = 1). ``weight`` broadcasts to the input's shape; ``pos_weight`` weighs the
    positives of each class (shape (C,) for input (N, C))."""
    fn = "binary_cross_entropy_with_logits"
    _check_reduction(fn, reduction)
    x = _floating("binary_cross_entropy_with_logits", "logits", logits)
    y = _same_shape_target(fn, x, target)
    w = _broadcast_const(fn, "weight", weight, x)
    pw = _broadcast_const(fn, "pos_weight", pos_weight, x)
    losses = BinaryCrossEntropyWithLogits.apply(x, y, weight=w, pos_weight=pw)
    return _reduce(losses, reduction)


def binary_cross_entropy(probs: Tensor, target: Any, weight: Any = None,
                         reduction: str = "mean") -> Tensor:
    """-w [y log x + (1 - y) log(1 - x)] for probabilities x in [0, 1], with each log
    clamped to >= -100 as PyTorch does (so a confident wrong answer costs 100, not inf).
    Prefer ``binary_cross_entropy_with_logits``, which is stable for any logit."""
    fn = "binary_cross_entropy"
    _check_reduction(fn, reduction)
    x = _tensor(probs)
    if x.data.size and not (np.min(x.data) >= 0 and np.max(x.data) <= 1):
        bad = x.data[~((x.data >= 0) & (x.data <= 1))].flat[0]
        raise ValueError(f"{fn}: input must hold probabilities in [0, 1]; got {bad} (pass "
                         "logits to binary_cross_entropy_with_logits instead)")
    y = _same_shape_target(fn, x, target)
    w = _broadcast_const(fn, "weight", weight, x)
    return _reduce(BinaryCrossEntropy.apply(x, y, weight=w), reduction)

