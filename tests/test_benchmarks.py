"""Smoke tests: the benchmarks run at tiny sizes, so they cannot rot. No timing assertions."""

import math

from benchmarks import bench_core


def test_bench_core_quick():
    results = bench_core.run(quick=True)
    assert results["tinygrad_sm_us_per_op"] > 0
    assert all(math.isfinite(v) and v > 0 for v in results.values())
    assert "backward_us_per_node_1e+04" in results
