"""Smoke tests: the benchmarks run at tiny sizes, so they cannot rot. No timing assertions."""

import math

from benchmarks import bench_core


def test_bench_core_quick():
    results = bench_core.run(quick=True)
    assert results["tinygrad_sm_us_per_op"] > 0
    assert all(math.isfinite(v) and v >= 0 for v in results.values())
    assert all(v > 0 for k, v in results.items() if not k.startswith("peak_bytes"))
    assert "backward_us_per_node_1e+04" in results


def test_paired_times_runs_every_function_in_warm_turns():
    from benchmarks.common import paired_times

    calls = {"a": 0, "b": 0}

    def counter(name):
        def fn():
            calls[name] += 1
        return fn

    times = paired_times({"a": counter("a"), "b": counter("b")}, repeats=4, warmup=2,
                         number=3)
    assert set(times) == {"a", "b"} and all(t >= 0 for t in times.values())
    # warm-up calls, then per repeat one untimed call and `number` timed calls
    assert calls == {"a": 2 + 4 * (1 + 3), "b": 2 + 4 * (1 + 3)}


def test_paired_samples_give_one_time_per_repeat_and_their_quartiles():
    from benchmarks.common import paired_samples, quartiles

    samples = paired_samples({"a": lambda: None, "b": lambda: None}, repeats=5, warmup=0)
    assert {name: len(ts) for name, ts in samples.items()} == {"a": 5, "b": 5}
    assert quartiles([5.0, 1.0, 4.0, 2.0, 3.0]) == (1.5, 4.5)


def test_bench_train_quick():
    from benchmarks import bench_train

    results = bench_train.run(quick=True)
    assert results["step_us_tinygrad_sm_bs8"] > 0 and results["step_us_numpy_bs8"] > 0
    low, high = (results[f"ratio_tinygrad_sm_to_numpy_bs8_{q}"] for q in ("q1", "q3"))
    assert 0 < low <= high
    assert results["live_nodes_end"] <= results["live_nodes_start"]  # no graph kept alive


def test_numpy_reference_step_matches_the_engine():
    """The hand-written NumPy step is the benchmark's floor only if it computes the same
    thing: one SGD step from the same weights gives the same loss and weights."""
    import numpy as np

    import tinygrad_sm as tg
    import tinygrad_sm.functional as F
    from benchmarks.bench_train import LR, NumpyMLP, make_model
    from tinygrad_sm import optim

    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 784)).astype(np.float32)
    y = rng.integers(0, 10, 16)
    model = make_model()
    hand = NumpyMLP(*(p.data for p in model.parameters()))
    loss = F.cross_entropy(model(tg.from_numpy(x)), tg.from_numpy(y))
    loss.backward()
    optim.SGD(model.parameters(), lr=LR).step()
    np.testing.assert_allclose(hand.step(x, y), loss.item(), rtol=1e-5)
    for p, q in zip(model.parameters(), (hand.w1, hand.b1, hand.w2, hand.b2)):
        np.testing.assert_allclose(p.data, q, rtol=1e-4, atol=1e-6)


def test_suite_entry_point_quick(tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    out = tmp_path / "results.json"
    subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--json", str(out)],
                   check=True, capture_output=True, cwd=Path(__file__).resolve().parents[1])
    data = json.loads(out.read_text())
    assert data["results"]["train_valid_accuracy"] > 0.5 and "numpy" in data["machine"]


def test_performance_page_is_rendered_from_the_committed_results():
    """docs/performance.md holds no typed-in number: it is report.render(results.json)."""
    import json
    from pathlib import Path

    from benchmarks import report

    root = Path(__file__).resolve().parents[1]
    data = json.loads((root / "benchmarks" / "results.json").read_text())
    assert (root / "docs" / "performance.md").read_text() == report.render(data)
