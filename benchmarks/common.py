"""Timing helpers shared by the benchmark cases."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_time(fn: Callable[[], object], repeats: int = 7, warmup: int = 2) -> float:
    """Median wall time of ``fn()`` in seconds, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def paired_times(fns: dict[str, Callable[[], object]], repeats: int = 7,
                 warmup: int = 2) -> dict[str, float]:
    """Median time of each function, the functions run in turns within every repeat so
    that a change in the machine's load affects them alike (these machines are shared)."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def try_import_torch():
    """PyTorch, if it is installed (it is never a dependency), with NumPy's thread count."""
    try:
        import torch
    except ImportError:
        return None
    from benchmarks import THREADS

    torch.set_num_threads(int(THREADS))
    return torch
