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


def try_import_torch():
    """PyTorch, if it is installed (it is never a dependency), with NumPy's thread count."""
    try:
        import torch
    except ImportError:
        return None
    try:
        from threadpoolctl import threadpool_info

        threads = max((p.get("num_threads", 1) for p in threadpool_info()), default=1)
    except ImportError:
        import os

        threads = os.cpu_count() or 1
    torch.set_num_threads(threads)
    return torch
