"""The stable softmax family, checked on numbers: run ``python examples/softmax_properties.py``.

Each line prints an identity and whether it held. The last lines show why losses must be
computed from logits in one stable piece: naive formulas overflow at logits of 1e4.
"""

import math

import numpy as np

import tinygrad_sm as tg
import tinygrad_sm.functional as F


def check(name: str, ok: bool, detail: str = "") -> None:
    print(f"{'ok  ' if ok else 'FAIL'} {name}" + (f"  ({detail})" if detail else ""))


def main() -> None:
    tg.manual_seed(0)
    x = tg.randn(4, 6, dtype=tg.float64)
    p = F.softmax(x, dim=1)
    check("softmax rows sum to 1", np.allclose(p.sum(1).data, 1.0, atol=1e-12),
          f"row sums {np.round(p.sum(1).data, 12).tolist()}")
    for c in (3.0, -50.0, 1e4):
        check(f"softmax(x + c) = softmax(x) for c = {c:g}",
              np.allclose(F.softmax(x + c, 1).data, p.data, atol=1e-9))
        lhs = F.logsumexp(x + c, 1).data
        check(f"logsumexp(x + c) = logsumexp(x) + c for c = {c:g}",
              np.allclose(lhs, F.logsumexp(x, 1).data + c, rtol=1e-12, atol=1e-9))
    lse, mx, n = F.logsumexp(x, 1).data, x.amax(1).data, x.shape[1]
    check("max(x) <= logsumexp(x) <= max(x) + log n",
          bool(np.all(mx <= lse) and np.all(lse <= mx + math.log(n))),
          f"row 0: {mx[0]:.4f} <= {lse[0]:.4f} <= {mx[0] + math.log(n):.4f}")

    print("\nlogsumexp(lambda x) / lambda tends to max(x) (row 0, max = "
          f"{mx[0]:.6f}):")
    for lam in (1, 10, 100, 1000):
        print(f"  lambda = {lam:>5}: {F.logsumexp(x * lam, 1).data[0] / lam:.6f}")

    print("\nsoftmax(x / T) for x = [1, 2, 3]:")
    v = tg.tensor(np.array([1.0, 2.0, 3.0]))
    for t in (0.01, 0.5, 1.0, 10.0, 1e6):
        print(f"  T = {t:>8g}: {np.round(F.softmax(v, temperature=t).data, 4).tolist()}")
    check("T -> 0 gives the one-hot argmax",
          np.allclose(F.softmax(v, temperature=1e-3).data, [0, 0, 1]))
    check("T -> inf gives the uniform distribution",
          np.allclose(F.softmax(v, temperature=1e6).data, 1 / 3, atol=1e-6))
    check("softmax(2 x) != softmax(x): scaling is not invariant",
          not np.allclose(F.softmax(v * 2).data, F.softmax(v).data),
          f"{np.round(F.softmax(v * 2).data, 4).tolist()} vs "
          f"{np.round(F.softmax(v).data, 4).tolist()}")

    print("\nHuge logits in float32:")
    big = np.array([[1e4, 0.0, -1e4]], np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        naive = np.exp(big) / np.exp(big).sum()
    print(f"  naive exp(x) / sum exp(x) for x = [1e4, 0, -1e4]: {naive.tolist()[0]}")
    print(f"  stable softmax:                                   "
          f"{F.softmax(tg.tensor(big), 1).data.tolist()[0]}")
    ce = F.cross_entropy(tg.tensor([[1e8, 1e8]]), [0]).item()
    check("cross_entropy of two logits of 1e8 (float32) is log 2", abs(ce - math.log(2)) < 1e-6,
          f"{ce:.6f} vs log 2 = {math.log(2):.6f}")
    ce = F.cross_entropy(tg.tensor([[1e4, 0.0]]), [1]).item()
    check("cross_entropy([1e4, 0], target 1) is 1e4", ce == 1e4, f"{ce:g}")


if __name__ == "__main__":
    main()
