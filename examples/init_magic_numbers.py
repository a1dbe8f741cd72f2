"""Why initialization matters, in numbers: run ``python examples/init_magic_numbers.py``.

1. The "magic number" experiment: relu(a x) for scalar normals versus relu(A x) for a
   512 x 512 normal matrix, against first principles.
2. Fifty Linear + ReLU layers of width 512: the activations' scale with three weight
   scales (randn, randn * 0.01 and Kaiming's sqrt(2 / fan_in)), measured with
   ``init.activation_stats``.
3. ``kaiming_normal_`` and ``Linear``'s default initialization, checked.
"""

import math

import numpy as np

import tinygrad_sm as tg
from tinygrad_sm import init, nn


def deep_relu_net(depth: int, width: int, weight_std: float) -> nn.Sequential:
    """depth x (Linear(width, width, bias=False) + ReLU), weights N(0, weight_std^2)."""
    layers: list[nn.Module] = []
    for _ in range(depth):
        lin = nn.Linear(width, width, bias=False)
        init.normal_(lin.weight, 0.0, weight_std)
        layers += [lin, nn.ReLU()]
    return nn.Sequential(*layers)


def main() -> None:
    tg.manual_seed(0)
    print("1. The magic number experiment")
    res = init.magic_number_experiment(scalar_samples=100_000, matrix_trials=50)
    for case, label in (("scalar", "relu(a x), a, x ~ N(0, 1)"),
                        ("matrix", "relu(A x), A ~ N(0, 1)^(512x512), x ~ N(0, 1)^512")):
        print(f"  {label}:")
        for stat in ("mean", "mean_sq"):
            e = res[case][stat]
            print(f"    {case} {stat:<8} = {e.value:10.4f} +- {e.stderr:.4f}   "
                  f"(theory {e.expected:.4f})")
    print("  A product of two normals is not normal; a sum of 512 of them nearly is, so the\n"
          "  matrix mean is sqrt(512 / (2 pi)) and its mean square 512 / 2: divide A by\n"
          "  sqrt(512 / 2), i.e. use std sqrt(2 / fan_in), to keep the mean square at 1.")

    depth, width = 50, 512
    x = tg.randn(32, width)
    print(f"\n2. {depth} Linear + ReLU layers of width {width} (activations' mean square)")
    print(f"  input mean square {float((x.data ** 2).mean()):.3f}")
    for label, std in (("randn", 1.0), ("randn * 0.01", 0.01),
                       ("kaiming sqrt(2/fan_in)", math.sqrt(2 / width))):
        with np.errstate(over="ignore", invalid="ignore"):
            stats = init.activation_stats(deep_relu_net(depth, width, std), x)
        relus = [s for s in stats if s.kind == "ReLU"]
        ms = [s.std**2 + s.mean**2 for s in relus]
        shown = ", ".join(f"layer {i + 1}: {ms[i]:.3g}" for i in (0, 9, 24, 49))
        print(f"  {label:<24} {shown}")
        print(f"  {'':<24} final mean square {ms[-1]:.3g}, dead units in the last layer "
              f"{relus[-1].dead:.2f}")

    print("  (Dead units: zero for every example of the batch. Without biases, deep ReLU\n"
          "  stacks make the examples' activations ever more alike, so a unit tends to be\n"
          "  off for all of them at once.)")

    print("\n3. Initializers")
    w = tg.zeros(512, 512)
    init.kaiming_normal_(w)
    print(f"  kaiming_normal_ (512, 512): std {w.data.std():.5f} "
          f"(sqrt(2/512) = {math.sqrt(2 / 512):.5f})")
    lin = nn.Linear(100, 10)
    print(f"  Linear(100, 10) default init: |weight| <= {np.abs(lin.weight.data).max():.4f}, "
          f"|bias| <= {np.abs(lin.bias.data).max():.4f} (bound 1/sqrt(100) = 0.1)")


if __name__ == "__main__":
    main()
