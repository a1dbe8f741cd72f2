"""Timing helpers shared by the benchmark cases."""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable


def paired_times(fns: dict[str, Callable[[], object]], repeats: int = 7,
                 warmup: int = 2, number: int = 1) -> dict[str, float]:
    """Median time of one call of each function (see ``paired_samples``)."""
    samples = paired_samples(fns, repeats, warmup, number)
    return {name: statistics.median(ts) for name, ts in samples.items()}


def paired_samples(fns: dict[str, Callable[[], object]], repeats: int = 7,
                   warmup: int = 2, number: int = 1) -> dict[str, list[float]]:
    """The time of one call of each function, once per repeat. The functions take turns
    within every repeat, so that a change in the machine's load affects them alike (these
    machines are shared); a turn is one untimed call and then ``number`` timed calls in a
    row.

    The untimed call and the shuffled order of the turns are there because the turns
    disturb each other: a function that always ran right after PyTorch's step found the
    caches cold and lost 10 to 20% to its position alone, a cost that a training loop,
    running the same step back to back, never pays."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    order = list(fns)
    shuffle = random.Random(0).shuffle
    for _ in range(repeats):
        shuffle(order)
        for name in order:
            fn = fns[name]
            fn()
            start = time.perf_counter()
            for _ in range(number):
                fn()
            times[name].append((time.perf_counter() - start) / number)
    return times


def quartiles(values: list[float]) -> tuple[float, float]:
    """The first and third quartiles."""
    q = statistics.quantiles(values, n=4)
    return q[0], q[2]


def try_import_torch():
    """PyTorch, if it is installed (it is never a dependency), with NumPy's thread count."""
    try:
        import torch
    except ImportError:
        return None
    from benchmarks import THREADS

    torch.set_num_threads(int(THREADS))
    return torch
