"""Tutorial 6: initialization.

    python examples/tutorial_6_initialization.py [--figures DIR | --no-figures]

The "magic numbers" (relu of a product of normals against relu of a matrix product), the
activations of a 100-layer network exploding or vanishing, Kaiming's sqrt(2 / fan_in),
PyTorch's default initialization and its sqrt(5), and activation statistics per layer
while a 6-layer MLP trains on the bundled digits, with the default and with Kaiming's
initialization. Figures (matplotlib) go to DIR (default runs/tutorials).
"""

import math

import numpy as np
from tutorial_output import figure_dir, section

import tinygrad_sm as tg
import tinygrad_sm.functional as F
from tinygrad_sm import init, nn
from tinygrad_sm.data import DataLoader, Normalizer, TensorDataset, train_test_split
from tinygrad_sm.datasets import load_digits
from tinygrad_sm.learner import ActivationStats, Learner, ProgressCallback


def rms(t: tg.Tensor) -> float:
    """Root mean square: the scale of the activations (their mean square's root)."""
    return float(np.sqrt(np.mean(np.square(t.data, dtype=np.float64))))


# --8<-- [start:deep_net]
def deep_relu_net(depth, width, weight_std=None):
    """depth x (Linear + ReLU). weight_std=None keeps Linear's default initialization;
    otherwise weights ~ N(0, weight_std^2) and zero biases."""
    layers = []
    for _ in range(depth):
        lin = nn.Linear(width, width)
        if weight_std is not None:
            init.normal_(lin.weight, 0.0, weight_std)
            init.zeros_(lin.bias)
        layers += [lin, nn.ReLU()]
    return nn.Sequential(*layers)
# --8<-- [end:deep_net]


def relu_rms_per_layer(model, x):
    """The rms of each ReLU's output, from init.activation_stats."""
    with np.errstate(over="ignore", invalid="ignore"):  # the std = 1 network overflows
        stats = init.activation_stats(model, x)
    return [math.sqrt(s.std**2 + s.mean**2) for s in stats if s.kind == "ReLU"]


# --8<-- [start:mlp]
def mlp(kaiming, depth=6, width=128):
    layers, n_in = [], 64
    for _ in range(depth):
        lin = nn.Linear(n_in, width)
        if kaiming:
            init.kaiming_normal_(lin.weight)  # std sqrt(2 / fan_in)
            init.zeros_(lin.bias)
        layers += [lin, nn.ReLU()]
        n_in = width
    return nn.Sequential(*layers, nn.Linear(width, 10))
# --8<-- [end:mlp]


def main() -> None:
    figs = figure_dir()

    section("magic")
    # --8<-- [start:magic]
    tg.manual_seed(0)
    res = init.magic_number_experiment(scalar_samples=100_000, matrix_trials=50)
    for case in ("scalar", "matrix"):
        for stat in ("mean", "mean_sq"):
            e = res[case][stat]
            print(f"{case}_{stat} = {e.value:.4f}")
            print(f"  +- {e.stderr:.4f} (standard error), theory {e.expected:.4f}")
    # --8<-- [end:magic]

    section("naive")
    # --8<-- [start:naive]
    relu_mean_of_std_normal = 1 / math.sqrt(2 * math.pi)  # E[relu(z)], z ~ N(0, 1)
    print(f"naive_scalar_mean = {relu_mean_of_std_normal:.4f}")
    print(f"naive_matrix_mean = {math.sqrt(512) * relu_mean_of_std_normal:.4f}")
    print(f"scalar_mean_theory = {1 / math.pi:.4f}")
    # --8<-- [end:naive]
    section("_")  # values that only the prose quotes

    rng = np.random.default_rng(0)
    products = rng.standard_normal(200_000) * rng.standard_normal(200_000)
    sums = np.concatenate([rng.standard_normal((512, 512)) @ rng.standard_normal(512)
                           for _ in range(40)]) / math.sqrt(512)
    print(f"kurtosis_product = {np.mean(products**4) / np.mean(products**2) ** 2:.2f}")
    print(f"kurtosis_sum = {np.mean(sums**4) / np.mean(sums**2) ** 2:.2f}")
    if figs:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(9, 3.2), layout="constrained")
        z = np.linspace(-4, 4, 400)
        normal = np.exp(-z**2 / 2) / math.sqrt(2 * math.pi)
        for ax, data, title in zip(fig.subplots(1, 2), (products, sums),
                                   ("a x, a and x ~ N(0, 1)",
                                    "(A x)_i / sqrt(512), A and x normal")):
            ax.hist(data, bins=np.linspace(-4, 4, 61), density=True, alpha=0.6,
                    label="samples")
            ax.plot(z, normal, color="black", lw=1.5, label="N(0, 1)")
            ax.set(title=title, xlim=(-4, 4))
            ax.legend(fontsize="small")
        fig.savefig(figs / "t6_products.png", dpi=100)

    section("explode")
    # --8<-- [start:explode]
    tg.manual_seed(0)
    x = tg.randn(512)
    a = tg.randn(512, 512)
    layer = 0
    with np.errstate(over="ignore", invalid="ignore"):  # we want to see it happen
        while layer < 100 and np.isfinite(x.data).all():
            x = a @ x
            layer += 1
        print(f"explode_layer = {layer}")
        print(f"after it, x.std() = {x.std().item()}")
    # --8<-- [end:explode]

    section("vanish")
    # --8<-- [start:vanish]
    x = tg.randn(512)
    a = tg.randn(512, 512) * 0.01
    for _ in range(100):
        x = a @ x
    print(f"vanish_std = {x.std().item()}")
    # --8<-- [end:vanish]
    section("_")  # values that only the prose quotes
    print(f"per_layer_factor_001 = {0.01 * math.sqrt(512):.3f}")

    section("depth")
    # --8<-- [start:depth]
    tg.manual_seed(0)
    x = tg.randn(16, 512)  # a batch of 16 inputs
    scales = {
        "std 1 (randn)": 1.0,
        "std 0.01": 0.01,
        "1/sqrt(fan_in)": 1 / math.sqrt(512),
        "Kaiming sqrt(2/fan_in)": math.sqrt(2 / 512),
        "PyTorch default": None,
    }
    curves = {}
    print(f"  {'rms after layer':<24}" + "  ".join(f"{k:>9}" for k in (1, 2, 10, 50, 100)))
    for label, std in scales.items():
        curves[label] = relu_rms_per_layer(deep_relu_net(100, 512, std), x)
        shown = "  ".join(f"{curves[label][k - 1]:9.3g}" for k in (1, 2, 10, 50, 100))
        print(f"  {label:<24}{shown}")
    # --8<-- [end:depth]
    section("_")  # values that only the prose quotes
    print(f"input_rms = {rms(x):.3f}")
    kaiming = curves["Kaiming sqrt(2/fan_in)"]
    print(f"kaiming_rms_100 = {kaiming[-1]:.2f}")
    print(f"fan_in_rms_100 = {curves['1/sqrt(fan_in)'][-1]:.2g}")
    print(f"half_power_50 = {2 ** -50:.2g}")
    default = curves["PyTorch default"]
    print(f"default_ratio_1 = {default[0] / rms(x):.3f}")
    print(f"default_ratio_2 = {default[1] / default[0]:.3f}")
    print(f"default_rms_100 = {default[-1]:.3f}")
    print(f"one_over_sqrt6 = {1 / math.sqrt(6):.3f}")
    if figs:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(7, 4), layout="constrained")
        ax = fig.subplots()
        for label, values in curves.items():
            v = np.array(values)
            ok = np.isfinite(v) & (v > 0)
            ax.plot(np.arange(1, len(v) + 1)[ok], v[ok], label=label)
        ax.set_yscale("log")
        ax.set(xlabel="layer", ylabel="rms of the ReLU output (log scale)",
               title="100 Linear + ReLU layers of width 512")
        ax.legend(fontsize="small")
        fig.savefig(figs / "t6_depth.png", dpi=100)

    section("default_init")
    # --8<-- [start:default_init]
    lin = nn.Linear(512, 512)
    w = lin.weight.data
    print(f"default_max_abs = {np.abs(w).max():.5f}")
    print(f"one_over_sqrt_fan_in = {1 / math.sqrt(512):.5f}")
    print(f"default_std = {w.std():.5f}")
    print(f"one_over_sqrt_3_fan_in = {1 / math.sqrt(3 * 512):.5f}")
    gain = init.calculate_gain("leaky_relu", math.sqrt(5))
    print(f"gain_sqrt5 = {gain:.5f}")
    print(f"bound_from_gain = {math.sqrt(3) * gain / math.sqrt(512):.5f}")
    # --8<-- [end:default_init]

    section("training")
    # --8<-- [start:training]
    digits = load_digits()
    X_train, X_valid, y_train, y_valid = train_test_split(digits.X, digits.y, 0.2, seed=0)
    norm = Normalizer.fit(X_train)
    train_dl = DataLoader(TensorDataset(norm(X_train), y_train), 64, shuffle=True, seed=0)
    valid_dl = DataLoader(TensorDataset(norm(X_valid), y_valid), 256)
    results = {}
    for name, kaiming in (("default", False), ("kaiming", True)):
        tg.manual_seed(0)
        model = mlp(kaiming)
        stats = ActivationStats([m for m in model if isinstance(m, nn.ReLU)])
        learn = Learner(model, train_dl, valid_dl, lr=0.1,
                        cbs=[stats, ProgressCallback(quiet=True)])
        learn.fit(3)
        results[name] = (learn, stats)
        print(f"{name}_accuracy = {learn.recorder.metrics[-1]['valid_accuracy']:.1%}")
        print(f"{name}_loss = {learn.recorder.metrics[-1]['valid_loss']:.3f}")
    # --8<-- [end:training]
    section("_")  # values that only the prose quotes
    print(f"chance_loss = {math.log(10):.3f}")
    xb, yb = next(iter(DataLoader(TensorDataset(norm(X_train), y_train), 256)))
    for name, kaiming in (("default", False), ("kaiming", True)):
        tg.manual_seed(0)
        model = mlp(kaiming)
        F.cross_entropy(model(xb), yb).backward()
        print(f"{name}_grad_first = {np.linalg.norm(model[0].weight.grad.data):.2g}")
        print(f"{name}_grad_last = {np.linalg.norm(model[-1].weight.grad.data):.2g}")
    for name, (_, stats) in results.items():
        first, last = list(stats.stats.values())[0], list(stats.stats.values())[-1]
        print(f"{name}_std_first_layer = {first['std'][0]:.3f}")
        print(f"{name}_std_last_layer = {last['std'][0]:.3f}")
        if figs:
            stats.plot(figs / f"t6_stats_{name}.png")


if __name__ == "__main__":
    main()
