"""Datasets, loaders, splits and normalization, with PyTorch's names.

A dataset is anything with ``__len__`` and ``__getitem__``. A dataset that can fetch a
whole batch at once also defines ``get_batch(indices) -> tuple[ndarray, ...]``;
:class:`TensorDataset` does it by indexing each of its arrays once with the batch's index
array, and a :class:`Subset` of such a dataset keeps that fast path. :class:`DataLoader`
uses ``get_batch`` when it is there (and no ``collate_fn`` is given), else fetches items
one by one and collates them.

Random choices (shuffling, splits) use ``np.random.default_rng(seed)`` when a seed is given,
else the package generator :func:`tinygrad_sm.core.rng.get_rng`, so ``tg.manual_seed`` makes
them reproducible.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from tinygrad_sm.core import rng as _rng
from tinygrad_sm.core.tensor import Tensor
from tinygrad_sm.samplers import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = [
    "Dataset",
    "TensorDataset",
    "Subset",
    "DataLoader",
    "default_collate",
    "random_split",
    "train_test_split",
    "Normalizer",
    "normalize",
    "Sampler",
    "SequentialSampler",
    "RandomSampler",
    "BatchSampler",
]


def _as_array(x: Any) -> np.ndarray:
    # asanyarray keeps ndarray subclasses (memmaps, instrumented arrays) as they are
    return x.data if isinstance(x, Tensor) else np.asanyarray(x)


def _check_seed(seed: Any, who: str) -> None:
    """A seed is None or an int >= 0 (NumPy's own error would not name the argument)."""
    if seed is None:
        return
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{who}: seed must be an int >= 0 or None, got {seed!r} "
                        f"({type(seed).__name__})")
    if seed < 0:
        raise ValueError(f"{who}: seed must be an int >= 0 or None, got {seed}")


def _generator(seed: int | None, who: str) -> np.random.Generator:
    _check_seed(seed, who)
    # Read the package generator at call time: manual_seed replaces it with a new object.
    return np.random.default_rng(int(seed)) if seed is not None else _rng.get_rng()


# --- datasets ---------------------------------------------------------------------------


class Dataset:
    """Base class of map-style datasets: subclasses define ``__len__`` and ``__getitem__``."""

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")


class TensorDataset(Dataset):
    """Examples are the rows of a few arrays (or Tensors) sharing their first dimension.

    ``ds[i]`` is ``(a[i], b[i], ...)``; ``ds.arrays`` holds the arrays.
    """

    def __init__(self, *arrays: np.ndarray | Tensor) -> None:
        if not arrays:
            raise ValueError("TensorDataset: needs at least one array")
        self.arrays = tuple(_as_array(a) for a in arrays)
        shapes = [a.shape for a in self.arrays]
        if any(len(s) == 0 for s in shapes):
            raise ValueError(f"TensorDataset: arrays need a first dimension, got shapes {shapes}")
        lengths = [s[0] for s in shapes]
        if len(set(lengths)) != 1:
            raise ValueError(
                f"TensorDataset: all arrays must have the same first dimension, got {lengths}"
            )
        if lengths[0] == 0:
            raise ValueError(f"TensorDataset: empty dataset (shapes {shapes})")

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index: int) -> tuple[np.ndarray, ...]:
        return tuple(a[index] for a in self.arrays)

    def get_batch(self, indices: np.ndarray) -> tuple[np.ndarray, ...]:
        """The rows ``indices`` of every array: one fancy-indexing call per array."""
        return tuple(a[indices] for a in self.arrays)

    def __repr__(self) -> str:
        return f"TensorDataset({', '.join(str(a.shape) for a in self.arrays)})"


class Subset(Dataset):
    """The examples ``indices`` of ``dataset``, in that order."""

    def __init__(self, dataset: Any, indices: Sequence[int] | np.ndarray) -> None:
        idx = np.asarray(indices)
        if idx.size == 0:
            idx = idx.astype(np.int64)  # np.asarray([]) is float64
        if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
            raise ValueError(
                f"Subset: indices must be a 1-D sequence of ints, got dtype {idx.dtype} "
                f"and shape {idx.shape}"
            )
        n = len(dataset)
        bad = idx[(idx < 0) | (idx >= n)]
        if bad.size:
            raise ValueError(f"Subset: indices out of range for a dataset of {n}: {bad[:10]}")
        self.dataset = dataset
        self.indices = idx.astype(np.int64)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> Any:
        return self.dataset[int(self.indices[index])]

    def get_batch(self, indices: np.ndarray) -> tuple[np.ndarray, ...]:
        """Delegates to the base dataset's ``get_batch`` if it has one, else stacks items."""
        base_indices = self.indices[indices]
        if hasattr(self.dataset, "get_batch"):
            return self.dataset.get_batch(base_indices)
        return _stack_fields([self.dataset[int(i)] for i in base_indices])

    def __repr__(self) -> str:
        return f"Subset({self.dataset!r}, {len(self)} indices)"


# --- loading ----------------------------------------------------------------------------


def _stack_fields(items: Sequence[Any]) -> tuple[np.ndarray, ...]:
    # An item is a tuple/list of fields, or a single field (then batches are 1-tuples).
    rows = [tuple(it) if isinstance(it, (tuple, list)) else (it,) for it in items]
    widths = {len(r) for r in rows}
    if len(widths) != 1:
        raise ValueError(f"default_collate: items have different numbers of fields: {widths}")
    return tuple(_stack_field(i, field) for i, field in enumerate(zip(*rows, strict=True)))


def _stack_field(i: int, values: Sequence[Any]) -> np.ndarray:
    arrays = []
    for j, v in enumerate(values):
        try:
            arrays.append(_as_array(v))
        except ValueError as e:  # a nested list of uneven lengths
            raise ValueError(f"default_collate: field {i} of item {j} is ragged, not an "
                             f"array: {e}") from None
    shapes = [a.shape for a in arrays]
    if len(set(shapes)) > 1:
        first = shapes[0]
        j = next(j for j, s in enumerate(shapes) if s != first)
        raise ValueError(f"default_collate: field {i} of the items has different shapes in "
                         f"one batch: item 0 has {first}, item {j} has {shapes[j]} (ragged "
                         "items need a collate_fn that pads them)")
    return np.stack(arrays)


def default_collate(items: Sequence[Any]) -> tuple[Tensor, ...]:
    """Stack each field of the items along a new first axis and wrap it in a Tensor."""
    return tuple(Tensor(a) for a in _stack_fields(items))


class DataLoader:
    """Iterate over a dataset in batches of Tensors.

    Each ``iter()`` is one epoch; with ``shuffle`` each epoch has a new permutation, drawn
    from the loader's own ``np.random.default_rng(seed)`` when ``seed`` is given, else from
    the package generator. A custom ``collate_fn`` receives the list of items of a batch
    (so it turns off the one-indexing-per-batch fast path).

    As in PyTorch, ``sampler`` (an iterable of indices, such as a :class:`RandomSampler`)
    replaces ``shuffle``: its indices are batched by ``batch_size``; ``batch_sampler`` (an
    iterable of lists of indices, such as a :class:`BatchSampler`) gives the batches
    themselves, and so replaces ``batch_size``, ``shuffle``, ``sampler`` and ``drop_last``.
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        seed: int | None = None,
        sampler: Any = None,
        batch_sampler: Any = None,
    ) -> None:
        _check_samplers(batch_size, shuffle, drop_last, seed, sampler, batch_sampler)
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral):
            raise TypeError(f"DataLoader: batch_size must be an int, got {batch_size!r}")
        if batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be >= 1, got {batch_size}")
        if len(dataset) == 0:
            raise ValueError(f"DataLoader: the dataset is empty: {dataset!r}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.collate_fn = collate_fn
        self.seed = seed
        self._rng = _generator(seed, "DataLoader") if seed is not None else None
        self.sampler = sampler
        self.batch_sampler = batch_sampler

    def __len__(self) -> int:
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        bs = self.batch_size
        return n // bs if self.drop_last else math.ceil(n / bs)

    def __iter__(self) -> Iterator[Any]:
        # The order is drawn here, not at the first next(), so that calling iter() is
        # what consumes randomness.
        if self.batch_sampler is not None:
            return self._fetch_each([np.asarray(b, np.int64) for b in self.batch_sampler])
        if self.sampler is not None:
            return self._batches(np.fromiter(iter(self.sampler), np.int64))
        n = len(self.dataset)
        if not self.shuffle:
            return self._batches(np.arange(n))
        gen = self._rng if self._rng is not None else _rng.get_rng()
        return self._batches(gen.permutation(n))

    def _batches(self, order: np.ndarray) -> Iterator[Any]:
        stop = len(order) // self.batch_size * self.batch_size if self.drop_last else len(order)
        return self._fetch_each(order[start : start + self.batch_size]
                                for start in range(0, stop, self.batch_size))

    def _fetch_each(self, batches: Iterable[np.ndarray]) -> Iterator[Any]:
        fast = self.collate_fn is None and hasattr(self.dataset, "get_batch")
        for idx in batches:
            if fast:
                yield tuple(Tensor(np.asarray(a)) for a in self.dataset.get_batch(idx))
            else:
                items = [self.dataset[int(i)] for i in idx]
                yield (self.collate_fn or default_collate)(items)

    def __repr__(self) -> str:
        return (
            f"DataLoader({self.dataset!r}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last})"
        )


def _check_samplers(batch_size: int, shuffle: bool, drop_last: bool, seed: int | None,
                    sampler: Any, batch_sampler: Any) -> None:
    """PyTorch's rules: a sampler replaces shuffle; a batch sampler replaces the rest too."""
    for name, s in (("sampler", sampler), ("batch_sampler", batch_sampler)):
        if s is not None and not hasattr(s, "__iter__"):
            raise TypeError(f"DataLoader: {name} must be an iterable of indices (a Sampler, a "
                            f"list, ...), got {type(s).__name__}")
    if batch_sampler is not None:
        given = [f"{k}={v!r}" for k, v, is_set in [
            ("batch_size", batch_size, batch_size != 1), ("shuffle", shuffle, bool(shuffle)),
            ("sampler", sampler, sampler is not None), ("drop_last", drop_last, bool(drop_last)),
            ("seed", seed, seed is not None)] if is_set]
        if given:
            raise ValueError(f"DataLoader: batch_sampler is mutually exclusive with batch_size, "
                             f"shuffle, sampler, drop_last and seed (the batch sampler decides "
                             f"the batches); got {', '.join(given)}")
    elif sampler is not None and (shuffle or seed is not None):
        raise ValueError(f"DataLoader: sampler is mutually exclusive with shuffle and seed (the "
                         f"sampler decides the order); got shuffle={shuffle!r}, seed={seed!r}")


# --- splitting --------------------------------------------------------------------------


def _is_int(x: Any) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def random_split(
    dataset: Any, lengths: Sequence[int | float], seed: int | None = None
) -> list[Subset]:
    """Split ``dataset`` at random into disjoint :class:`Subset` s of the given lengths.

    ``lengths`` are ints summing to ``len(dataset)``, or fractions summing to 1; as in
    PyTorch, fractions are floored and the examples left over go one each to the first
    subsets.
    """
    n = len(dataset)
    lengths = list(lengths)
    if not lengths:
        raise ValueError("random_split: lengths is empty")
    if all(_is_int(x) for x in lengths):
        sizes = [int(x) for x in lengths]
        if any(s < 0 for s in sizes) or sum(sizes) != n:
            raise ValueError(
                f"random_split: lengths {sizes} must be >= 0 and sum to the dataset's "
                f"length {n} (they sum to {sum(sizes)})"
            )
    else:
        fracs = [float(x) for x in lengths]
        if any(not 0 <= f <= 1 for f in fracs) or abs(math.fsum(fracs) - 1) > 1e-6:
            raise ValueError(
                f"random_split: fractions {fracs} must be in [0, 1] and sum to 1 "
                f"(they sum to {math.fsum(fracs)}); give ints to set exact sizes"
            )
        sizes = [math.floor(n * f) for f in fracs]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
    order = _generator(seed, "random_split").permutation(n)
    bounds = np.cumsum([0, *sizes])
    return [Subset(dataset, order[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def _test_counts(class_sizes: np.ndarray, n_test: int, gen: np.random.Generator) -> np.ndarray:
    # Largest-remainder apportionment: each class gets floor or ceil of its exact share, and
    # the shares add up to n_test. Ties are broken at random, so that when every class has a
    # single example (e.g. a float target) the split is still a random one.
    exact = class_sizes * n_test / class_sizes.sum()
    counts = np.floor(exact).astype(np.int64)
    shuffled = gen.permutation(len(class_sizes))
    by_remainder = shuffled[np.argsort(-(exact - counts)[shuffled], kind="stable")]
    counts[by_remainder[: n_test - counts.sum()]] += 1
    return counts


def train_test_split(
    X: np.ndarray | Tensor,
    y: np.ndarray | Tensor,
    test_size: float = 0.2,
    stratify: bool = True,
    seed: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split into ``X_train, X_test, y_train, y_test`` (NumPy arrays, in random order).

    The test set has ``round(len(X) * test_size)`` examples (at least 1 and leaving at
    least 1 for training). With ``stratify`` each class of ``y`` (a row of ``y`` if it is
    2-D, e.g. one-hot) is split in the same proportion, to within one example.
    """
    X, y = _as_array(X), _as_array(y)
    if X.ndim == 0 or y.ndim == 0 or len(X) != len(y):
        raise ValueError(
            f"train_test_split: X and y must have the same length, got shapes {X.shape} and "
            f"{y.shape}"
        )
    if not 0 < test_size < 1:
        raise ValueError(f"train_test_split: test_size must be in (0, 1), got {test_size!r}")
    n = len(X)
    if n < 2:
        raise ValueError(f"train_test_split: need at least 2 examples to split, got {n}")
    n_test = min(max(round(n * test_size), 1), n - 1)
    gen = _generator(seed, "train_test_split")
    if stratify:
        _, labels = np.unique(y, axis=0, return_inverse=True)
        labels = labels.reshape(-1)  # NumPy 2 may keep y's extra axes in the inverse
        counts = _test_counts(np.bincount(labels), n_test, gen)
        test_parts = [
            gen.permutation(np.flatnonzero(labels == c))[:k] for c, k in enumerate(counts)
        ]
        is_test = np.zeros(n, dtype=bool)
        is_test[np.concatenate(test_parts)] = True
        # Shuffle within each side so the classes do not come out sorted.
        test_idx = gen.permutation(np.flatnonzero(is_test))
        train_idx = gen.permutation(np.flatnonzero(~is_test))
    else:
        order = gen.permutation(n)
        test_idx, train_idx = order[:n_test], order[n_test:]
    return X[train_idx], X[test_idx], y[train_idx], y[test_idx]


# --- normalization ----------------------------------------------------------------------


def normalize(x: np.ndarray, mean: np.ndarray | float, std: np.ndarray | float) -> np.ndarray:
    """``(x - mean) / std``; a floating ``x`` keeps its dtype (float32 stays float32)."""
    x = _as_array(x)
    mean, std = np.asarray(mean), np.asarray(std)
    if np.any(std == 0):
        raise ValueError(f"normalize: std has zeros (would divide by zero): {std}")
    if np.issubdtype(x.dtype, np.floating):
        mean, std = mean.astype(x.dtype), std.astype(x.dtype)
    return (x - mean) / std


class Normalizer:
    """Standardize with statistics computed once, on the training split only::

        norm = Normalizer.fit(X_train)
        X_train, X_valid = norm(X_train), norm(X_valid)

    Statistics are taken over ``axis`` (default 0: one mean/std per feature) and kept with
    ``keepdims`` so they broadcast; a constant feature (std 0) gets a std of 1.
    """

    def __init__(self, mean: np.ndarray, std: np.ndarray) -> None:
        self.mean = np.asarray(mean)
        self.std = np.asarray(std)

    @classmethod
    def fit(cls, X: np.ndarray | Tensor, axis: int | tuple[int, ...] = 0) -> Normalizer:
        """Mean and std of ``X`` over ``axis`` (computed in float64, stored in X's dtype)."""
        X = _as_array(X)
        if X.size == 0:
            raise ValueError(f"Normalizer.fit: X is empty (shape {X.shape})")
        mean = X.mean(axis=axis, keepdims=True, dtype=np.float64)
        std = X.std(axis=axis, keepdims=True, dtype=np.float64)
        # Test constancy exactly: a rounded mean can leave a constant feature a tiny std.
        std[X.max(axis=axis, keepdims=True) == X.min(axis=axis, keepdims=True)] = 1.0
        dtype = X.dtype if np.issubdtype(X.dtype, np.floating) else np.float64
        return cls(mean.astype(dtype), std.astype(dtype))

    def __call__(self, X: np.ndarray | Tensor) -> np.ndarray:
        return normalize(X, self.mean, self.std)

    def __repr__(self) -> str:
        return f"Normalizer(mean={self.mean.ravel()}, std={self.std.ravel()})"
