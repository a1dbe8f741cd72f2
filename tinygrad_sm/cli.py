"""The ``tinygrad-sm`` command. Each subcommand is one function ``cmd_<name>(args)``
plus its argparse setup in ``build_parser``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def cmd_demo(args: argparse.Namespace) -> int:
    """Build a small graph, backprop through it, print the gradients, run gradcheck."""
    import numpy as np

    import tinygrad_sm as tg
    from tinygrad_sm.autograd import gradcheck

    tg.manual_seed(args.seed)
    x = tg.randn(4, 3, dtype=tg.float64)
    w = tg.randn(3, 2, dtype=tg.float64, requires_grad=True)
    b = tg.zeros(2, dtype=tg.float64, requires_grad=True)
    target = np.array([0, 1, 1, 0])
    logp = (x @ w + b).relu().log_softmax(dim=1)
    loss = -logp[range(4), target].mean()
    loss.backward()
    print(f"loss = {loss.item():.6f}")
    print(f"dloss/dw =\n{w.grad}")
    print(f"dloss/db = {b.grad}")
    ok = gradcheck(lambda w, b: -(x @ w + b).relu().log_softmax(1)[range(4), target].mean(),
                   [w.detach().requires_grad_(), b.detach().requires_grad_()])
    print(f"gradcheck against finite differences: {'passed' if ok else 'FAILED'}")
    return 0 if ok else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tinygrad-sm", description="A small, readable NumPy autograd engine."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="backprop through a small graph and gradcheck it")
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    return args.func(args)
