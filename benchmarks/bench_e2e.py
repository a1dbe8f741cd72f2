"""End to end: the default ``tinygrad-sm train`` run, wall time and validation accuracy.

    python -m benchmarks.bench_e2e
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
import time

from tinygrad_sm.cli import main


def default_train_run(extra: tuple[str, ...] = ()) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            code = main(["train", "--quiet", "--out", out, *extra])
        seconds = time.perf_counter() - start
        with open(f"{out}/metrics.json") as f:
            metrics = json.load(f)
    if code != 0:
        raise RuntimeError(f"tinygrad-sm train exited with {code}")
    return {"train_seconds": seconds, "train_valid_accuracy": metrics[-1]["valid_accuracy"]}


def run(quick: bool = False) -> dict[str, float]:
    return default_train_run(("--epochs", "1") if quick else ())


if __name__ == "__main__":
    print(json.dumps(run()))
