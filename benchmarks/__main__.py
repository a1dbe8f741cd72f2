"""Run every benchmark case, print the results and whether each target holds, and write
them as JSON.

    python -m benchmarks [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys

import numpy as np

from benchmarks import bench_core, bench_e2e, bench_train, report

# (description, predicate on the results): the targets of the performance issue.
TARGETS = [
    ("1. MLP step <= 1.15 x hand-written NumPy at batch 64",
     lambda r: r["ratio_tinygrad_sm_to_numpy_bs64"] <= 1.15),
    ("1. MLP step <= 1.05 x hand-written NumPy at batch 512",
     lambda r: r["ratio_tinygrad_sm_to_numpy_bs512"] <= 1.05),
    ("1. MLP step faster than PyTorch at batch 64 and 512",
     lambda r: max(r["ratio_tinygrad_sm_to_torch_bs64"],
                   r["ratio_tinygrad_sm_to_torch_bs512"]) < 1),
    ("2. small op at or below PyTorch's cost",
     lambda r: r["ratio_to_torch"] <= 1.0),
    ("3. backward time per node at 1e6 <= 1.3 x at 1e4",
     lambda r: r["per_node_ratio_largest_to_smallest"] <= 1.3),
    ("4. no growth in live graph nodes over the steps",
     lambda r: r["live_nodes_end"] <= r["live_nodes_start"]),
    ("4. resident memory grows by less than 5%",
     lambda r: r["rss_growth_pct"] < 5),
    ("5. default train run under 10 s at >= 97% validation accuracy",
     lambda r: r["train_seconds"] < 10 and r["train_valid_accuracy"] >= 0.97),
]


def machine() -> dict[str, str]:
    from benchmarks.common import try_import_torch

    torch = try_import_torch()
    return {"python": platform.python_version(), "numpy": np.__version__,
            "torch": torch.__version__ if torch else "", "cpu_count": str(os.cpu_count()),
            "platform": platform.platform(), "processor": _cpu_name()}


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> int:
    parser = argparse.ArgumentParser(description="tinygrad_sm benchmark suite")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test")
    parser.add_argument("--json", default="benchmark-results.json", help="where to write")
    parser.add_argument("--report", default=None, help="also write this Markdown page")
    args = parser.parse_args()
    results: dict[str, float] = {}
    for name, module in (("core", bench_core), ("train", bench_train), ("e2e", bench_e2e)):
        print(f"running {name} ...", file=sys.stderr, flush=True)
        results.update(module.run(quick=args.quick))
    for key, value in results.items():
        print(f"{key:40s} {value:14.4g}")
    verdicts = {}
    if not args.quick:
        print("\ntargets:")
        for text, holds in TARGETS:
            try:
                verdicts[text] = bool(holds(results))
            except KeyError:  # a case that needs PyTorch, which is not installed
                verdicts[text] = None
            mark = {True: "holds", False: "MISSED", None: "n/a (needs torch)"}[verdicts[text]]
            print(f"  {mark:18s} {text}")
    with open(args.json, "w") as f:
        json.dump({"machine": machine(), "results": results, "targets": verdicts}, f, indent=2)
    print(f"\nwrote {args.json}")
    if args.report:
        with open(args.json) as f, open(args.report, "w") as out:
            out.write(report.render(json.load(f)))
        print(f"wrote {args.report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
