"""Tutorial 4: the softmax, properly.

    python examples/tutorial_4_softmax.py [--figures DIR | --no-figures]

The definition, invariance to a constant offset, overflow and its fix, temperature, the
"real softmax" log(e^a + e^b) and its limit, the log-partition function (gradient: the
softmax; Hessian: the variance of the distribution, via the engine's ``hessian``) and the
cross-entropy. Draws one bar chart of a softmax (matplotlib) into DIR (default
runs/tutorials).
"""

import math

import numpy as np
from tutorial_output import figure_dir, section

import tinygrad_sm as tg
import tinygrad_sm.functional as F
from tinygrad_sm import plot
from tinygrad_sm.autograd import grad, hessian


def fmt(a, digits: int = 4) -> str:
    """A vector as [0.0900, 0.2447, 0.6652]."""
    return "[" + ", ".join(f"{v:.{digits}f}" for v in np.asarray(a).ravel()) + "]"


def main() -> None:
    figs = figure_dir()

    section("definition")
    # --8<-- [start:definition]
    def softmax(x):
        e = x.exp()
        return e / e.sum()

    x = tg.tensor([1.0, 2.0, 3.0])
    p = softmax(x)
    print(f"softmax_123 = {fmt(p.data)}")
    print(f"sum_123 = {p.sum().item():.4f}")
    # --8<-- [end:definition]
    if figs:
        plot.plot_softmax(x, labels=["a", "b", "c"], path=figs / "t4_softmax.png")

    section("offset")
    # --8<-- [start:offset]
    x = tg.tensor(np.array([1.0, 2.0, 3.0]))  # float64: the check is about the math
    p = softmax(x)
    for c in (10.0, -3.0, 100.0):
        diff = np.abs(softmax(x + c).data - p.data).max()
        print(f"  c = {c:>6}: max |softmax(x + c) - softmax(x)| = {diff:.1e}")
    # --8<-- [end:offset]

    section("two_pixels")
    # --8<-- [start:two_pixels]
    rng = np.random.default_rng(0)
    W = rng.standard_normal((3, 2))  # 3 classes, 2 pixels
    b = rng.standard_normal(3)
    d = 0.7
    W_d = W + d  # every class's weight for every pixel shifted by d
    images = rng.uniform(0, 1, (4, 2))
    worst = 0.0
    for img in images:
        o, o_d = W @ img + b, W_d @ img + b
        shift = o_d - o  # = d * (x1 + x2), the same for every class
        p, p_d = F.softmax(tg.tensor(o)).data, F.softmax(tg.tensor(o_d)).data
        worst = max(worst, np.abs(p - p_d).max())
        print(f"  x {fmt(img, 2)}  logit shift {fmt(shift, 3)}  softmax {fmt(p, 3)}")
    print(f"two_pixel_max_diff = {worst:.1e}")
    # --8<-- [end:two_pixels]

    section("one_class")
    # --8<-- [start:one_class]
    W_1 = W.copy()
    W_1[0] += d  # only class 0's weights move
    o, o_1 = W @ images[0] + b, W_1 @ images[0] + b
    print(f"softmax_before = {fmt(F.softmax(tg.tensor(o)).data, 3)}")
    print(f"softmax_one_class_moved = {fmt(F.softmax(tg.tensor(o_1)).data, 3)}")
    # --8<-- [end:one_class]

    section("overflow")
    # --8<-- [start:overflow]
    x = tg.tensor([1.0, 2.0, 3.0]) * 50  # float32, like PyTorch's default
    with np.errstate(over="ignore", invalid="ignore"):  # we want to see the inf and nan
        print(f"exp(x)      = {x.exp()}")
        print(f"naive       = {softmax(x)}")
    print(f"minus 150   = {softmax(x - 150)}")
    print(f"minus max   = {softmax(x - x.max())}")
    print(f"F.softmax   = {F.softmax(x)}")
    # --8<-- [end:overflow]
    section("_")  # values that only the prose quotes
    stable = F.softmax(x).data
    print(f"stable_50 = [{', '.join(f'{v:.4e}' for v in stable)}]")
    print(f"float32_max = {np.finfo(np.float32).max:.4e}")
    print(f"stable_50_first = {stable[0]:.4e}")
    print(f"exp_100 = {math.exp(100):.4e}")
    print(f"exp_150 = {math.exp(150):.4e}")
    print(f"exp_minus_100 = {math.exp(-100):.4e}")
    print(f"float32_smallest_normal = {np.finfo(np.float32).tiny:.4e}")

    section("shift_and_scale")
    # --8<-- [start:shift_and_scale]
    y2 = tg.tensor([1.0, 0.0])
    y3 = y2 - 1
    y4 = 2 * y2
    for name, y in (("y2", y2), ("y3", y3), ("y4", y4)):
        print(f"softmax_{name} = {fmt(F.softmax(y).data)}")
    # --8<-- [end:shift_and_scale]

    section("temperature")
    # --8<-- [start:temperature]
    x = tg.tensor([1.0, 2.0, 3.0])
    for t in (0.1, 0.5, 1.0, 2.0, 10.0):
        print(f"  T = {t:>4}: softmax(x / T) = {fmt(F.softmax(x, temperature=t).data)}")
    # --8<-- [end:temperature]

    section("real_softmax")
    # --8<-- [start:real_softmax]
    a, b = 1.0, 2.0

    def real_softmax(lam, a, b):  # (1/lambda) log(e^(lambda a) + e^(lambda b)), stably
        return F.logsumexp(tg.tensor(np.array([lam * a, lam * b])), 0).item() / lam

    def forum_version(lam, a, b):  # (1/lambda) log(lambda e^a + lambda e^b): a typo
        return math.log(lam * math.exp(a) + lam * math.exp(b)) / lam

    print(f"  {'lambda':>6}  {'real softmax':>12}  {'excess':>9}  {'log(2)/lambda':>13}  "
          f"{'forum version':>13}")
    for lam in (1, 2, 10, 100, 1000):
        r = real_softmax(lam, a, b)
        print(f"  {lam:>6}  {r:>12.6f}  {r - max(a, b):>9.6f}  {math.log(2) / lam:>13.6f}  "
              f"{forum_version(lam, a, b):>13.6f}")
    # --8<-- [end:real_softmax]
    section("_")  # values that only the prose quotes
    print(f"real_1 = {real_softmax(1, a, b):.4f}")
    print(f"real_1000 = {real_softmax(1000, a, b):.6f}")
    print(f"forum_1000 = {forum_version(1000, a, b):.4f}")
    section("real_softmax_equal")
    # --8<-- [start:real_softmax_equal]
    print(f"excess_equal = {real_softmax(1, 2.0, 2.0) - 2.0:.6f}")
    print(f"log_2 = {math.log(2):.6f}")
    # --8<-- [end:real_softmax_equal]

    section("log_partition")
    # --8<-- [start:log_partition]
    o = tg.tensor(np.array([1.0, 2.0, 0.5, -1.0]), requires_grad=True)
    A = o.logsumexp(0)  # the log-partition function log sum_j exp(o_j)
    (g,) = grad(A, o)
    p = F.softmax(o).data
    print(f"gradient = {fmt(g.data)}")
    print(f"softmax = {fmt(p)}")
    H = hessian(lambda z: z.logsumexp(0), o).data
    cov = np.diag(p) - np.outer(p, p)
    print("hessian =")
    print(np.array2string(H, precision=4, suppress_small=True))
    print(f"hessian_vs_formula = {np.abs(H - cov).max():.1e}")
    # --8<-- [end:log_partition]

    section("variance")
    # --8<-- [start:variance]
    v = np.array([0.0, 1.0, 2.0, 3.0])  # any values attached to the classes
    var_direct = (p * v**2).sum() - (p * v).sum() ** 2
    print(f"var_direct = {var_direct:.6f}")
    print(f"var_from_hessian = {v @ H @ v:.6f}")
    samples = np.random.default_rng(0).choice(4, size=200_000, p=p)
    onehots = np.eye(4)[samples]
    emp = np.cov(onehots, rowvar=False)
    print(f"hessian_vs_sampled_cov = {np.abs(emp - H).max():.4f}")
    # --8<-- [end:variance]

    section("cross_entropy")
    # --8<-- [start:cross_entropy]
    logits = tg.tensor(np.array([[2.0, 1.0, 0.1],
                                 [0.5, 2.5, 0.3],
                                 [1.2, 0.2, 3.0],
                                 [0.3, 0.1, 0.2]]), requires_grad=True)
    target = np.array([0, 1, 2, 1])
    loss = F.cross_entropy(logits, target)
    loss.backward()
    p = F.softmax(logits, dim=1).data
    onehot = np.eye(3)[target]
    expected = (p - onehot) / len(target)
    print(f"ce_loss = {loss.item():.4f}")
    print("gradient =")
    print(np.array2string(logits.grad.data, precision=4, suppress_small=True))
    print(f"grad_vs_softmax_minus_onehot = {np.abs(logits.grad.data - expected).max():.1e}")
    # --8<-- [end:cross_entropy]

    section("likelihood")
    # --8<-- [start:likelihood]
    p_target = p[np.arange(4), target]  # the probability given to each observed label
    likelihood = p_target.prod()
    print(f"p_target = {fmt(p_target)}")
    print(f"likelihood = {likelihood:.6f}")
    print(f"minus_log_likelihood_per_example = {-math.log(likelihood) / 4:.4f}")
    # --8<-- [end:likelihood]

    section("log10")
    # --8<-- [start:log10]
    nll_log10 = -np.log10(p_target).mean()  # a spreadsheet's LOG() is base 10
    nll_ln = F.nll_loss(F.log_softmax(logits, dim=1), target).item()  # the code: natural log
    print(f"nll_log10 = {nll_log10:.4f}")
    print(f"nll_ln = {nll_ln:.4f}")
    print(f"ratio = {nll_ln / nll_log10:.6f}")
    print(f"ln_10 = {math.log(10):.6f}")
    # --8<-- [end:log10]


if __name__ == "__main__":
    main()
