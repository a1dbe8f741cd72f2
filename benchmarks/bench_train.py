"""Training-step costs: a 784-128-10 MLP step (Linear, ReLU, Linear, cross-entropy,
backward, SGD) in tinygrad_sm, in hand-written NumPy (the floor), and in PyTorch eager
when it is installed; and memory over many steps.

    python -m benchmarks.bench_train [--quick]
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import resource
import statistics
import sys
import types
from typing import Any

import numpy as np

import tinygrad_sm as tg
import tinygrad_sm.functional as F
from benchmarks.common import paired_samples, paired_times, quartiles, try_import_torch
from tinygrad_sm import nn, optim
from tinygrad_sm.core import idioms

LR = 0.1


class NumpyMLP:
    """The same step written by hand, as in the course's 02_fully_connected notebook."""

    def __init__(self, w1, b1, w2, b2):
        self.w1, self.b1, self.w2, self.b2 = (a.copy() for a in (w1, b1, w2, b2))

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        h = x @ self.w1.T
        h += self.b1
        a = np.maximum(h, 0)
        z = a @ self.w2.T
        z += self.b2
        z -= z.max(axis=1, keepdims=True)  # stable softmax cross-entropy
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        n = len(y)
        rows = np.arange(n)
        loss = float(np.log(s[:, 0]).mean() - z[rows, y].mean())
        dz = e / s
        dz[rows, y] -= 1
        dz /= n
        dw2, db2 = dz.T @ a, dz.sum(0)
        da = dz @ self.w2
        da *= h > 0
        dw1, db1 = da.T @ x, da.sum(0)
        for p, g in ((self.w1, dw1), (self.b1, db1), (self.w2, dw2), (self.b2, db2)):
            p -= LR * g
        return loss


def make_model() -> nn.Module:
    tg.manual_seed(0)
    return nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))


def step_fns(batch: int) -> dict:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 784)).astype(np.float32)
    y = rng.integers(0, 10, batch)
    model = make_model()
    opt = optim.SGD(model.parameters(), lr=LR)
    xt, yt = tg.from_numpy(x), tg.from_numpy(y)

    def ours() -> None:
        loss = F.cross_entropy(model(xt), yt)
        opt.zero_grad()
        loss.backward()
        opt.step()

    w1, b1, w2, b2 = (p.data for p in model.parameters())
    hand = NumpyMLP(w1, b1, w2, b2)
    fns = {"tinygrad_sm": ours, "numpy": lambda: hand.step(x, y)}
    torch = try_import_torch()
    if torch is not None:
        tmodel = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(),
                                     torch.nn.Linear(128, 10))
        topt = torch.optim.SGD(tmodel.parameters(), lr=LR)
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)

        def theirs() -> None:
            loss = torch.nn.functional.cross_entropy(tmodel(tx), ty)
            topt.zero_grad()
            loss.backward()
            topt.step()

        fns["torch"] = theirs
    return fns


def training_step(batches=(64, 512), repeats: int = 30) -> dict[str, float]:
    out = {}
    for batch in batches:
        samples = paired_samples(step_fns(batch), repeats=repeats, warmup=5, number=5)
        times = {name: statistics.median(ts) for name, ts in samples.items()}
        for name, t in times.items():
            out[f"step_us_{name}_bs{batch}"] = t * 1e6
        for name in times:
            if name != "numpy":
                out[f"ratio_{name}_to_numpy_bs{batch}"] = times[name] / times["numpy"]
        # the spread of the ratio within the repeats' pairs: how far one run can read
        ratios = [a / b for a, b in zip(samples["tinygrad_sm"], samples["numpy"])]
        low, high = quartiles(ratios)
        out[f"ratio_tinygrad_sm_to_numpy_bs{batch}_q1"] = low
        out[f"ratio_tinygrad_sm_to_numpy_bs{batch}_q3"] = high
        if "torch" in times:
            out[f"ratio_tinygrad_sm_to_torch_bs{batch}"] = times["tinygrad_sm"] / times["torch"]
    return out


# The NumPy idioms the engine uses where the hand-written step uses the obvious call, at
# the step's shapes (h: batch x 128 activations, e: batch x 10 exponentials, t: the batch's
# class indices; rows and starts: the row numbers and where rows start in e flattened,
# which both steps compute once), with the engine's cached ones and zeros: the claims in
# tinygrad_sm/core/idioms.py are these numbers.
IDIOMS = {
    "relu": ("np.maximum(h, 0)", lambda a: np.maximum(a.h, 0),
             "np.maximum(zeros, h)", lambda a: np.maximum(idioms.zeros(a.h.shape, a.h.dtype), a.h)),
    "column_sums": ("h.sum(0)", lambda a: a.h.sum(0),
                    "ones @ h", lambda a: idioms.column_sums(a.h)),
    "row_sums": ("e.sum(axis=1)", lambda a: a.e.sum(axis=1),
                 "e @ ones", lambda a: idioms.row_sums(a.e)),
    "row_max": ("e.max(axis=1)", lambda a: a.e.max(axis=1),
                "e.reshape(-1)[starts + e.argmax(axis=1)]",
                lambda a: a.e.reshape(-1)[a.starts + a.e.argmax(axis=1)]),
    "pick": ("e[rows, t]", lambda a: a.e[a.rows, a.t],
             "e.reshape(-1)[starts + t]", lambda a: a.e.reshape(-1)[a.starts + a.t]),
    "pick_and_subtract": ("p[rows, t] -= 1", lambda a: _subtract_one_at(a.p, (a.rows, a.t)),
                          "p.reshape(-1)[starts + t] -= 1",
                          lambda a: _subtract_one_at(a.p.reshape(-1), a.starts + a.t)),
    "index_max": ("t.max()", lambda a: a.t.max(),
                  "t[t.argmax()]", lambda a: idioms.largest(a.t)),
}


def _subtract_one_at(p: np.ndarray, index: Any) -> None:
    p[index] -= 1  # (p is a copy of e: the idioms write into it)


def numpy_idioms(batches=(64, 512), repeats: int = 30) -> dict[str, float]:
    rng = np.random.default_rng(0)
    out = {}
    for batch in batches:
        arrays = types.SimpleNamespace(
            h=rng.standard_normal((batch, 128)).astype(np.float32),
            e=rng.random((batch, 10)).astype(np.float32), t=rng.integers(0, 10, batch),
            p=rng.random((batch, 10)).astype(np.float32),
            rows=np.arange(batch), starts=np.arange(0, batch * 10, 10))
        for name, (_, plain, _, ours) in IDIOMS.items():
            fns = {"plain": functools.partial(plain, arrays),
                   "ours": functools.partial(ours, arrays)}
            times = paired_times(fns, repeats=repeats, warmup=5, number=20)
            out[f"idiom_us_{name}_plain_bs{batch}"] = times["plain"] * 1e6
            out[f"idiom_us_{name}_ours_bs{batch}"] = times["ours"] * 1e6
    return out


def live_graph_nodes() -> int:
    """Recorded ops still alive (graph nodes that were not freed)."""
    from tinygrad_sm.core.function import Function

    # issubclass on the type: isinstance would poke lazy module objects (torch's) awake
    return sum(issubclass(type(o), Function) for o in gc.get_objects())


def rss_mb() -> float:
    """Resident memory now (Linux /proc), in MiB."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def memory(steps: int = 10_000, batch: int = 64) -> dict[str, float]:
    ours = step_fns(batch)["tinygrad_sm"]
    for _ in range(50):  # let allocator pools settle before the first reading
        ours()
    gc.collect()
    start_rss, start_nodes = rss_mb(), live_graph_nodes()
    for _ in range(steps):
        ours()
    gc.collect()
    end_rss, end_nodes = rss_mb(), live_graph_nodes()
    return {"mem_steps": steps, "rss_mb_start": start_rss, "rss_mb_end": end_rss,
            "rss_growth_pct": 100 * (end_rss - start_rss) / start_rss,
            "live_nodes_start": start_nodes, "live_nodes_end": end_nodes}


def run(quick: bool = False) -> dict[str, float]:
    results = training_step(batches=(8,) if quick else (64, 512), repeats=3 if quick else 30)
    results.update(numpy_idioms(batches=(8,) if quick else (64, 512), repeats=3 if quick else 30))
    results.update(memory(steps=20 if quick else 10_000))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    results = run(parser.parse_args().quick)
    for key, value in results.items():
        print(f"{key:36s} {value:12.3f}")
    json.dump(results, sys.stdout)
    print()


if __name__ == "__main__":
    main()
