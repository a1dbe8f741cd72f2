"""Tutorial 2: backprop by hand.

    python examples/tutorial_2_backprop_by_hand.py [--figures DIR | --no-figures]

The forward and backward passes of Linear, ReLU and MSE written by hand in NumPy for a
two-layer MLP (as in fast.ai's notebook 02_fully_connected), on the bundled 8x8 digits,
regressing the digit's value. The hand-written gradients are checked against the engine
and against finite differences. This tutorial draws no figures.
"""

import numpy as np
from tutorial_output import section

import tinygrad_sm as tg
import tinygrad_sm.functional as F
from tinygrad_sm.datasets import load_digits


# --8<-- [start:layers]
def lin(x, w, b):
    return x @ w + b


def relu(x):
    return np.maximum(x, 0)


def mse(out, targ):
    return ((out[:, 0] - targ) ** 2).mean()
# --8<-- [end:layers]


# --8<-- [start:lin_grad]
def lin_grad(inp, out_g, w):
    """out = inp @ w + b: the gradients of inp, w and b from the gradient of out."""
    inp_g = out_g @ w.T
    w_g = inp.T @ out_g
    b_g = out_g.sum(0)
    return inp_g, w_g, b_g
# --8<-- [end:lin_grad]


# --8<-- [start:forward_backward]
def forward_and_backward(x, y, w1, b1, w2, b2):
    # forward, keeping what backward needs
    l1 = lin(x, w1, b1)
    l2 = relu(l1)
    out = lin(l2, w2, b2)
    loss = mse(out, y)
    # backward, from the loss back to the inputs
    out_g = 2 * (out[:, 0] - y)[:, None] / len(y)  # d loss / d out
    l2_g, w2_g, b2_g = lin_grad(l2, out_g, w2)
    l1_g = l2_g * (l1 > 0)  # relu lets the gradient through where its input was > 0
    x_g, w1_g, b1_g = lin_grad(x, l1_g, w1)
    return loss, {"w1": w1_g, "b1": b1_g, "w2": w2_g, "b2": b2_g, "x": x_g}
# --8<-- [end:forward_backward]


def main() -> None:
    section("data")
    # --8<-- [start:data]
    digits = load_digits()
    x = digits.X[:1000].astype(np.float64)
    y = digits.y[:1000].astype(np.float64)  # the digit's value, as a regression target
    x = (x - x.mean()) / x.std()
    n, m = x.shape
    nh = 50
    rng = np.random.default_rng(0)
    w1 = rng.standard_normal((m, nh)) * np.sqrt(2 / m)  # Kaiming init (tutorial 6)
    b1 = np.zeros(nh)
    w2 = rng.standard_normal((nh, 1)) / np.sqrt(nh)
    b2 = np.zeros(1)
    print(f"x: {x.shape}, y: {y.shape}, w1: {w1.shape}, w2: {w2.shape}")
    # --8<-- [end:data]
    section("_")  # values that only the prose quotes
    print(f"n_examples = {n}")
    print(f"n_inputs = {m}")

    section("by_hand")
    # --8<-- [start:by_hand]
    loss, grads = forward_and_backward(x, y, w1, b1, w2, b2)
    print(f"loss_by_hand = {loss:.6f}")
    for name, g in grads.items():
        print(f"  d loss / d {name:<2} shape {g.shape}")
    # --8<-- [end:by_hand]

    section("engine")
    # --8<-- [start:engine]
    params = {name: tg.tensor(a, requires_grad=True)
              for name, a in {"w1": w1, "b1": b1, "w2": w2, "b2": b2, "x": x}.items()}
    p = params
    out = (p["x"] @ p["w1"] + p["b1"]).relu() @ p["w2"] + p["b2"]
    loss_t = F.mse_loss(out[:, 0], tg.tensor(y))
    loss_t.backward()
    print(f"loss_engine = {loss_t.item():.6f}")
    worst = 0.0
    for name, t in params.items():
        diff = np.abs(t.grad.data - grads[name]).max()
        scale = np.abs(grads[name]).max()
        worst = max(worst, diff / scale)
        print(f"  {name:<2}: max |engine - by hand| = {diff:.1e}  (largest entry {scale:.3f})")
    print(f"engine_rel_diff = {worst:.1e}")
    # --8<-- [end:engine]

    section("finite_differences")
    # --8<-- [start:finite_differences]
    def loss_at(**changed):
        a = {"w1": w1, "b1": b1, "w2": w2, "b2": b2, **changed}
        return mse(lin(relu(lin(x, a["w1"], a["b1"])), a["w2"], a["b2"]), y)

    eps = 1e-6
    worst = 0.0
    for name, a in {"w1": w1, "b1": b1, "w2": w2, "b2": b2}.items():
        for flat in rng.choice(a.size, min(3, a.size), replace=False):
            idx = np.unravel_index(flat, a.shape)
            up, down = a.copy(), a.copy()
            up[idx] += eps
            down[idx] -= eps
            numerical = (loss_at(**{name: up}) - loss_at(**{name: down})) / (2 * eps)
            analytical = grads[name][idx]
            rel = abs(numerical - analytical) / max(abs(numerical), abs(analytical), 1e-12)
            worst = max(worst, rel)
            print(f"  {name}{[int(i) for i in idx]!s:<9} by hand {analytical:+.8f}   "
                  f"finite differences {numerical:+.8f}")
    print(f"fd_rel_error = {worst:.1e}")
    # --8<-- [end:finite_differences]

    section("relu_mask")
    # --8<-- [start:relu_mask]
    l1 = lin(x, w1, b1)
    active = (l1 > 0).mean()
    print(f"active_fraction = {active:.3f}")
    # --8<-- [end:relu_mask]


if __name__ == "__main__":
    main()
