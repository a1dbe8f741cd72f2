"""Core engine costs: one small op (forward + backward) and backward time per node.

    python -m benchmarks.bench_core [--quick]

Case "small op": a chain of 1000 multiplications of 10-element float32 tensors, forward
plus backward, divided by 1000; PyTorch eager does the same when it is installed.
Case "deep chain": backward of chains of 1e4, 1e5 and 1e6 ops; the cost per node should
stay flat (no recursion, linear time).
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import statistics
import time

import numpy as np

import tinygrad_sm as tg
from benchmarks.common import paired_times, try_import_torch


def small_op_us(n_ops: int = 1000, repeats: int = 25) -> dict[str, float]:
    x = tg.tensor(np.ones(10, np.float32), requires_grad=True)

    def ours() -> None:
        y = x
        for _ in range(n_ops):
            y = y * 1.0001
        y.sum().backward()

    fns = {"tinygrad_sm": ours}
    torch = try_import_torch()
    if torch is not None:
        tx = torch.ones(10, requires_grad=True)

        def theirs() -> None:
            y = tx
            for _ in range(n_ops):
                y = y * 1.0001
            y.sum().backward()

        fns["torch"] = theirs
    times = paired_times(fns, repeats)
    result = {f"{name}_us_per_op": t / n_ops * 1e6 for name, t in times.items()}
    if "torch" in times:
        result["ratio_to_torch"] = times["tinygrad_sm"] / times["torch"]
    return result


def deep_chain_us_per_node(sizes: tuple[int, ...], rounds: int = 3) -> dict[str, float]:
    """Backward time per node, and the memory a node of the graph costs.

    The times come from rounds that take every size in turn (the smallest chains a few
    times), so that the machine's load, which drifts over seconds on these shared
    machines, weighs on every size alike; the medians are compared. The first round also
    measures memory: the growth of the process's peak resident memory while each chain,
    smallest to largest, is built and backpropagated."""
    out: dict[str, float] = {}
    times: dict[int, list[float]] = {n: [] for n in sizes}
    # per round, up to 5 runs of a chain at least 10 times shorter than the longest
    runs = {n: min(5, max(1, max(sizes) // n // 10)) for n in sizes}
    for round_ in range(rounds):
        for n in sizes:
            peak_before = peak_rss_bytes()
            times[n] += [_backward_seconds(n) for _ in range(runs[n])]
            if round_ == 0:
                out[f"peak_bytes_per_node_{n:.0e}"] = (peak_rss_bytes() - peak_before) / n
    for n in sizes:
        out[f"backward_us_per_node_{n:.0e}"] = statistics.median(times[n]) / n * 1e6
    per_node = [out[f"backward_us_per_node_{n:.0e}"] for n in sizes]
    out["per_node_ratio_largest_to_smallest"] = per_node[-1] / per_node[0]
    return out


def _backward_seconds(n: int) -> float:
    """The time of one backward through a chain of n multiplications."""
    x = tg.tensor(np.ones(1, np.float32), requires_grad=True)
    y = x
    for _ in range(n):
        y = y * 1.0
    loss = y.sum()
    gc.collect()
    start = time.perf_counter()
    loss.backward()
    return time.perf_counter() - start


def peak_rss_bytes() -> int:
    """The process's peak resident memory so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run(quick: bool = False) -> dict[str, float]:
    results = small_op_us(n_ops=100 if quick else 1000, repeats=3 if quick else 25)
    results.update(deep_chain_us_per_node((10**3, 10**4) if quick else (10**4, 10**5, 10**6)))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke test)")
    args = parser.parse_args()
    results = run(args.quick)
    for key, value in results.items():
        print(f"{key:40s} {value:10.3f}")
    if "torch_us_per_op" in results:
        verdict = "holds" if results["ratio_to_torch"] <= 1.0 else "MISSED"
        print(f"target: small op at or below PyTorch's cost: {verdict}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
