"""Tutorial 1: tensors, graphs and backward.

    python examples/tutorial_1_graphs.py [--figures DIR | --no-figures]

A one-neuron expression (micrograd's example) drawn as a graph, its gradients checked by
hand and by finite differences, backward replayed step by step, and one training step of a
small MLP drawn with every gradient. Figures go to DIR (default runs/tutorials); they need
the graphviz package and Graphviz's ``dot`` program.
"""

import math
import shutil
import tempfile

import numpy as np
from tutorial_output import figure_dir, section

import tinygrad_sm as tg
import tinygrad_sm.functional as F
from tinygrad_sm import nn
from tinygrad_sm.datasets import load_iris
from tinygrad_sm.viz import backward_frames, collect, draw_graph, draw_training_step


def neuron() -> dict[str, tg.Tensor]:
    """o = tanh(x1 w1 + x2 w2 + b), with names so that the drawing can label them."""
    # --8<-- [start:neuron]
    def leaf(value: float, name: str) -> tg.Tensor:
        t = tg.tensor(value, dtype=tg.float64, requires_grad=True)
        t.name = name  # only for the drawing
        return t

    x1, x2 = leaf(2.0, "x1"), leaf(0.0, "x2")
    w1, w2 = leaf(-3.0, "w1"), leaf(1.0, "w2")
    b = leaf(6.8813735870195432, "b")
    n = x1 * w1 + x2 * w2 + b
    o = n.tanh()
    # --8<-- [end:neuron]
    return dict(x1=x1, x2=x2, w1=w1, w2=w2, b=b, n=n, o=o)


def main() -> None:
    figs = figure_dir()

    section("forward")
    t = neuron()
    o, n = t["o"], t["n"]
    # --8<-- [start:forward]
    print(f"n = {n.item():.4f}")
    print(f"o = {o.item():.4f}")
    print(f"o.grad_fn = {o.grad_fn}")
    print(f"inputs of tanh: {[tuple(i.shape) for i in o.grad_fn.inputs]}")
    # --8<-- [end:forward]

    if figs:  # before backward: the frames need the graph's saved tensors
        with tempfile.TemporaryDirectory() as tmp:
            paths = backward_frames(o, tmp, show_data=True, rankdir="TB")
            for k, p in enumerate(paths):
                shutil.move(p, figs / f"t1_backward_{k}.svg")
        draw_graph(o, show_data=True, rankdir="TB").render(figs / "t1_neuron", format="svg",
                                                           cleanup=True)
    section("backward")
    # --8<-- [start:backward]
    o.backward()
    for name in ("x1", "w1", "x2", "w2", "b"):
        print(f"d_o_d_{name} = {t[name].grad.item():.4f}")
    # --8<-- [end:backward]

    if figs:  # the home page's picture: the neuron with every gradient, intermediate ones too
        t2 = neuron()
        for node in collect(t2["o"]).nodes:
            if isinstance(node, tg.Tensor) and node.grad_fn is not None:
                node.retain_grad()
        t2["o"].backward()
        draw_graph(t2["o"], show_data=True, rankdir="TB").render(
            figs / "t1_neuron_grad", format="svg", cleanup=True)

    section("by_hand")
    # --8<-- [start:by_hand]
    do_dn = 1 - o.item() ** 2  # tanh'(n) = 1 - tanh(n)^2
    print(f"do_dn = {do_dn:.4f}")
    by_hand = {"x1": t["w1"].item() * do_dn, "w1": t["x1"].item() * do_dn,
               "x2": t["w2"].item() * do_dn, "w2": t["x2"].item() * do_dn, "b": do_dn}
    for name, g in by_hand.items():
        print(f"  d o / d {name}: chain rule {g:+.4f}   engine {t[name].grad.item():+.4f}")
    # --8<-- [end:by_hand]

    section("finite_differences")
    # --8<-- [start:finite_differences]
    def f(x1, x2, w1, w2, b):
        return math.tanh(x1 * w1 + x2 * w2 + b)

    point = {name: t[name].item() for name in ("x1", "x2", "w1", "w2", "b")}
    eps = 1e-6
    worst = 0.0
    for name in point:
        up, down = dict(point), dict(point)
        up[name] += eps
        down[name] -= eps
        numerical = (f(**up) - f(**down)) / (2 * eps)
        worst = max(worst, abs(numerical - t[name].grad.item()))
        print(f"  d o / d {name}: finite differences {numerical:+.8f}")
    print(f"fd_max_error = {worst:.1e}")
    # --8<-- [end:finite_differences]

    section("accumulate")
    # --8<-- [start:accumulate]
    x = tg.tensor(3.0, dtype=tg.float64, requires_grad=True)
    y = x * x + x  # x is used three times: its gradient is the sum of three paths
    y.backward()
    print(f"y = {y.item():g}")
    print(f"dy_dx = {x.grad.item():g}")
    print(f"two_x_plus_one = {2 * 3.0 + 1:g}")
    # --8<-- [end:accumulate]

    section("mlp")
    # --8<-- [start:mlp]
    tg.manual_seed(0)
    iris = load_iris()
    pick = np.random.default_rng(0).choice(len(iris.X), 8, replace=False)
    xb, yb = tg.tensor(iris.X[pick]), tg.tensor(iris.y[pick])
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
    loss = F.cross_entropy(model(xb), yb)
    loss.backward()
    print(f"mlp_loss = {loss.item():.4f}")
    for name, p in model.named_parameters():
        print(f"  {name:<9} shape {str(p.shape):<8} |grad| = {np.linalg.norm(p.grad.data):.4f}")
    # --8<-- [end:mlp]
    section("_")  # values that only the prose quotes
    print(f"chance_loss = {math.log(3):.4f}")
    if figs:
        model.zero_grad()
        # --8<-- [start:draw_mlp]
        graph = draw_training_step(model, F.cross_entropy, xb, yb, show_backward=True,
                                   rankdir="TB")
        # --8<-- [end:draw_mlp]
        graph.render(figs / "t1_mlp", format="svg", cleanup=True)


if __name__ == "__main__":
    main()
