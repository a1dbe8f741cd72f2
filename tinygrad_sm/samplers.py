"""Samplers: the order in which a :class:`~tinygrad_sm.data.DataLoader` visits a dataset,
with PyTorch's names and signatures (``torch.utils.data.SequentialSampler`` and friends).

A sampler is an iterable of indices with a ``__len__``; a batch sampler is an iterable of
lists of indices. ``DataLoader(ds, batch_size=..., sampler=s)`` batches the indices of
``s``; ``DataLoader(ds, batch_sampler=b)`` takes each batch from ``b``. All of them are
importable from ``tinygrad_sm.data``.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Iterator, Sized

import numpy as np

from tinygrad_sm.core import rng as _rng

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "BatchSampler"]


class Sampler:
    """Base class: subclasses define ``__iter__`` (indices) and usually ``__len__``."""

    def __init__(self, data_source: Sized | None = None) -> None:
        pass

    def __iter__(self) -> Iterator[int]:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1, every epoch."""

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """Random indices of ``data_source``: a new permutation every epoch, or with
    ``replacement`` ``num_samples`` independent draws. Without replacement, ``num_samples``
    larger than the dataset takes several permutations in a row (as PyTorch).

    The draws come from the package generator (``tg.manual_seed`` makes them reproducible),
    read when each epoch starts; ``generator`` may instead be an int seed or a
    ``numpy.random.Generator`` of the sampler's own. (PyTorch takes a ``torch.Generator``.)
    The order is drawn when ``iter()`` is called, not at the first index."""

    def __init__(self, data_source: Sized, replacement: bool = False,
                 num_samples: int | None = None,
                 generator: int | np.random.Generator | None = None) -> None:
        if not isinstance(replacement, bool):
            raise TypeError(f"RandomSampler: replacement must be a bool, got {replacement!r}")
        if num_samples is not None and (isinstance(num_samples, bool) or not isinstance(
                num_samples, numbers.Integral) or num_samples <= 0):
            raise ValueError(f"RandomSampler: num_samples must be a positive int, got "
                             f"num_samples={num_samples!r}")
        if generator is not None and not isinstance(generator, numbers.Integral
                                                    | np.random.Generator):
            raise TypeError(f"RandomSampler: generator must be None, an int seed or a "
                            f"numpy.random.Generator, got {type(generator).__name__}")
        if isinstance(generator, numbers.Integral) and generator < 0:
            raise ValueError(f"RandomSampler: an int generator is a seed, which must be >= 0; "
                             f"got generator={generator}")
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = None if num_samples is None else int(num_samples)
        self.generator = (np.random.default_rng(int(generator))
                          if isinstance(generator, numbers.Integral) else generator)

    @property
    def num_samples(self) -> int:
        # read each time: the dataset may change size between epochs (as PyTorch)
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n, k = len(self.data_source), self.num_samples
        gen = self.generator if self.generator is not None else _rng.get_rng()
        if n == 0:
            raise ValueError("RandomSampler: the data source is empty")
        if self.replacement:
            order = gen.integers(0, n, size=k)
        else:
            parts = [gen.permutation(n) for _ in range(k // n)]
            if k % n:  # (only then: one epoch draws what DataLoader(shuffle=True) draws)
                parts.append(gen.permutation(n)[: k % n])
            order = np.concatenate(parts)
        return iter(order.tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Lists of ``batch_size`` indices taken in turn from ``sampler`` (any iterable of
    indices); the last, shorter one is dropped with ``drop_last``."""

    def __init__(self, sampler: Iterable[int], batch_size: int, drop_last: bool) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) \
                or batch_size <= 0:
            raise ValueError(f"BatchSampler: batch_size must be a positive int, got "
                             f"batch_size={batch_size!r}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"BatchSampler: drop_last must be a bool, got drop_last={drop_last!r}")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        # iter(sampler) now, so that a random order is drawn by iter(), not by next()
        return self._batches(iter(self.sampler))

    def _batches(self, indices: Iterator[int]) -> Iterator[list[int]]:
        batch: list[int] = []
        for i in indices:
            batch.append(int(i))
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

