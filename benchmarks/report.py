"""Write docs/performance.md from a results file of ``python -m benchmarks``, so that
every number on that page comes from a run, never typed in.

    python -m benchmarks.report benchmarks/results.json docs/performance.md
"""

from __future__ import annotations

import json
import sys

from benchmarks.bench_train import IDIOMS

COMMAND = "python -m benchmarks --json benchmarks/results.json --report docs/performance.md"


def _spread(r: dict[str, float], bs: int) -> str:
    key = f"ratio_tinygrad_sm_to_numpy_bs{bs}"
    if f"{key}_q1" not in r:
        return ""
    return f" ({r[f'{key}_q1']:.2f} to {r[f'{key}_q3']:.2f})"


def _row(*cells: object) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _us(v: float) -> str:
    return f"{v:,.0f} us" if v >= 100 else f"{v:.2f} us"


def render(data: dict) -> str:
    r, m, targets = data["results"], data["machine"], data["targets"]
    torch = "step_us_torch_bs64" in r
    lines = [
        "# Performance",
        "",
        "A NumPy engine cannot beat NumPy's own calls; the aim is to add little on top of",
        "them. Every case below was measured side by side in one run: the functions being",
        "compared take turns within each repeat and the medians are compared, so a change in",
        "the shared machine's load hits them alike. The turns come in a shuffled order, and",
        "each turn makes one untimed call before its timed ones: a training step that always",
        "ran right after PyTorch's found the caches cold and lost 10 to 20% to its position",
        "alone, a cost a training loop never pays. BLAS and PyTorch run single-threaded (set",
        "`BENCH_THREADS` to change that): on this 2-core machine a second thread gained",
        "nothing for these sizes, while two libraries' spinning worker threads made timings",
        "swing several-fold.",
        "",
        f"Reproduce with `{COMMAND}`.",
        "",
        f"Machine: {m['cpu_count']} cores ({m['processor']}), {m['platform']}, "
        f"Python {m['python']}, NumPy {m['numpy']}"
        + (f", PyTorch {m['torch']}" if m.get("torch") else "") + ".",
        "",
        "## 1. Training step of a 784-128-10 MLP (float32, SGD)",
        "",
        _row("batch", "tinygrad_sm", "hand-written NumPy", "PyTorch eager" if torch else "",
             "tinygrad_sm / NumPy", "tinygrad_sm / PyTorch" if torch else ""),
        _row("---", "---", "---", "---", "---", "---"),
    ]
    for bs in (64, 512):
        lines.append(_row(
            bs, _us(r[f"step_us_tinygrad_sm_bs{bs}"]), _us(r[f"step_us_numpy_bs{bs}"]),
            _us(r[f"step_us_torch_bs{bs}"]) if torch else "",
            f"{r[f'ratio_tinygrad_sm_to_numpy_bs{bs}']:.2f}" + _spread(r, bs),
            f"{r[f'ratio_tinygrad_sm_to_torch_bs{bs}']:.2f}" if torch else ""))
    lines += [
        "",
        "In brackets, the quartiles of the ratio over the paired repeats: how far one repeat",
        "reads from the median on this shared machine.",
        "",
        "Where the time goes: at batch 512 the step is nearly all BLAS (the two 784-wide",
        "matrix products), and the engine does some of NumPy's work faster than the",
        "hand-written step, with the idioms below (their ones and zeros cached:",
        "tinygrad_sm/core/idioms.py), which recovers part of its bookkeeping's cost.",
        "At batch 64 that bookkeeping (recording four ops, checking inputs, walking the graph",
        "back, the optimizer's loop) is a larger share of the step.",
        "",
        _row("at the step's shapes", "batch", "the obvious call", "time", "the engine's", "time"),
        _row("---", "---", "---", "---", "---", "---"),
    ]
    for name, (plain_text, _, ours_text, _) in IDIOMS.items():
        for bs in (64, 512):
            key = f"idiom_us_{name}_{{}}_bs{bs}"
            if key.format("plain") in r:
                lines.append(_row(name.replace("_", " "), bs, f"`{plain_text}`",
                                  _us(r[key.format("plain")]), f"`{ours_text}`",
                                  _us(r[key.format("ours")])))
    lines += [
        "",
        "## 2. Small-op overhead",
        "",
        "A chain of 1000 multiplications of 10-element tensors, forward plus backward:",
        f"{r['tinygrad_sm_us_per_op']:.2f} us per op"
        + (f" against PyTorch's {r['torch_us_per_op']:.2f} us (ratio "
           f"{r['ratio_to_torch']:.2f})." if "torch_us_per_op" in r else "."),
        "",
        "## 3. Deep graphs",
        "",
        _row("ops in the chain", "backward time per node", "peak memory per node"),
        _row("---", "---", "---"),
    ]
    for key in (k for k in r if k.startswith("backward_us_per_node_")):
        n = key.rsplit("_", 1)[1]
        lines.append(_row(n, _us(r[key]), f"{r['peak_bytes_per_node_' + n]:,.0f} bytes"))
    lines += [
        "",
        f"Time per node at the largest size over the smallest: "
        f"{r['per_node_ratio_largest_to_smallest']:.2f}. No recursion, so no RecursionError.",
        "",
        "## 4. Memory over many training steps",
        "",
        f"{int(r['mem_steps']):,} steps of case 1 at batch 64: resident memory "
        f"{r['rss_mb_start']:.1f} MiB at the start and {r['rss_mb_end']:.1f} MiB at the end "
        f"({r['rss_growth_pct']:+.2f}%); live graph nodes {int(r['live_nodes_start'])} and "
        f"{int(r['live_nodes_end'])}.",
        "",
        "## 5. End to end",
        "",
        f"The default `tinygrad-sm train` (digits, MLP, annealed SGD): "
        f"{r['train_seconds']:.2f} s wall time, validation accuracy "
        f"{100 * r['train_valid_accuracy']:.2f}%.",
        "",
        "## Targets",
        "",
        _row("target", "result"),
        _row("---", "---"),
    ]
    for text, holds in targets.items():
        lines.append(_row(text, {True: "holds", False: "**missed**", None: "n/a"}[holds]))
    return "\n".join(lines) + "\n"


def main() -> None:
    src, dst = sys.argv[1:3]
    with open(src) as f:
        text = render(json.load(f))
    with open(dst, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
