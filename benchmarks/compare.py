"""Cases 1-3 of the benchmarks, side by side against another checkout, in one run.

    python -m benchmarks.compare PATH_TO_OTHER_CHECKOUT [--rounds 15]

Two worker processes, one importing this checkout's tinygrad_sm and one the other's, take
turns: each round, every case is timed in one worker and then in the other, so that the
load of the shared machine, which drifts over seconds, weighs on both alike. Printed per
case: the medians over the rounds of each side's time, and of the per-round ratio
(this / other). Case 1 is also normalized by the hand-written NumPy step timed in the
same worker (the same code on both sides).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]

WORKER = r"""
import json, statistics, sys, time
sys.path.insert(0, sys.argv[1])
import benchmarks  # first: it makes BLAS single-threaded before NumPy loads
import numpy as np
import tinygrad_sm as tg
from benchmarks import bench_train

clock = time.process_time  # CPU time: what another process's load does not inflate

def timed(fn, number):
    start = clock()
    for _ in range(number):
        fn()
    return (clock() - start) / number

steps = {b: bench_train.step_fns(b) for b in (64, 512)}
x = tg.tensor(np.ones(10, np.float32), requires_grad=True)

def small_op():  # case 2: 1000 small ops, forward and backward
    y = x
    for _ in range(1000):
        y = y * 1.0001
    y.sum().backward()

def chain():  # case 3: the backward of a chain of 10^4 multiplications
    y = tg.tensor(np.ones(1, np.float32), requires_grad=True)
    for _ in range(10_000):
        y = y * 1.0
    loss = y.sum()
    start = clock()
    loss.backward()
    return clock() - start

for line in sys.stdin:
    out = {}
    for b, fns in steps.items():
        for _ in range(3):
            fns["tinygrad_sm"]()
        out[f"case1_bs{b}_us"] = statistics.median(
            timed(fns["tinygrad_sm"], 5) for _ in range(5)) * 1e6
        out[f"case1_numpy_bs{b}_us"] = statistics.median(
            timed(fns["numpy"], 5) for _ in range(5)) * 1e6
    out["case2_us_per_op"] = statistics.median(timed(small_op, 1) for _ in range(5)) * 1e3
    out["case3_us_per_node"] = statistics.median(chain() for _ in range(3)) * 1e2
    print(json.dumps(out), flush=True)
"""


def worker(checkout: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WORKER, str(checkout)], cwd=checkout,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("other", type=Path, help="the checkout to compare against")
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    sides = {"this": worker(HERE), "other": worker(args.other.resolve())}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in sides}
    for _ in range(args.rounds):
        for name, proc in sides.items():
            proc.stdin.write("go\n")
            proc.stdin.flush()
            runs[name].append(json.loads(proc.stdout.readline()))
    for proc in sides.values():
        proc.stdin.close()
        proc.wait()
    keys = [k for k in runs["this"][0] if "numpy" not in k]
    print(f"{'case':24} {'this':>10} {'other':>10} {'ratio':>8}")
    for k in keys:
        ratios = [a[k] / b[k] for a, b in zip(runs["this"], runs["other"])]
        this = statistics.median(r[k] for r in runs["this"])
        other = statistics.median(r[k] for r in runs["other"])
        print(f"{k:24} {this:10.2f} {other:10.2f} {statistics.median(ratios):8.3f}")
        if k.startswith("case1"):
            nk = k.replace("case1_", "case1_numpy_")
            norm = [(a[k] / a[nk]) / (b[k] / b[nk]) for a, b in zip(runs["this"], runs["other"])]
            print(f"{k + ' / numpy':24} {'':10} {'':10} {statistics.median(norm):8.3f}")


if __name__ == "__main__":
    main()
