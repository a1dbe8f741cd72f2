"""Draw the computation graph of one training step of a small MLP on iris.

    python examples/draw_mlp_graph.py [out_dir]   (default: docs/images)

Writes mlp_graph.svg and mlp_graph.png: the loss of one batch of 8 flowers after backward,
every gradient shown, ops grouped by the module that created them, ops numbered in the
order backward visits them and edges labelled with the shape of the gradient they carry.
Needs the graphviz Python package and the Graphviz ``dot`` program.
"""

import sys
from pathlib import Path

import numpy as np

import tinygrad_sm as tg
from tinygrad_sm.datasets import load_iris
from tinygrad_sm.nn import Linear, ReLU, Sequential
from tinygrad_sm.nn.functional import cross_entropy
from tinygrad_sm.viz import draw_training_step


def main(out_dir: str = "docs/images") -> None:
    tg.manual_seed(0)
    iris = load_iris()
    pick = np.random.default_rng(0).choice(len(iris.X), 8, replace=False)
    xb, yb = tg.tensor(iris.X[pick]), tg.tensor(iris.y[pick])
    model = Sequential(Linear(4, 16), ReLU(), Linear(16, 3))
    graph = draw_training_step(model, cross_entropy, xb, yb, show_backward=True,
                               rankdir="TB")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for fmt in ("svg", "png"):
        graph.render(out / "mlp_graph", format=fmt, cleanup=True)
        print(f"wrote {out / 'mlp_graph'}.{fmt}")


if __name__ == "__main__":
    main(*sys.argv[1:])
