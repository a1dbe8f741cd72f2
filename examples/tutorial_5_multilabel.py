"""Tutorial 5: when not to use the softmax.

    python examples/tutorial_5_multilabel.py [--figures DIR | --no-figures]

The lesson's spreadsheet (two images whose outputs differ by a constant: the same softmax,
different sigmoids), then an experiment on synthetic multi-label data: a softmax model, the
two workarounds debated in the lesson's forum ("none of the above" as an extra class; a
not-class per class) and one sigmoid per class with binary cross-entropy, over three seeds.
Draws a bar chart of the results into DIR (default runs/tutorials).
"""

import math

import numpy as np
from tutorial_output import figure_dir, section

import tinygrad_sm as tg
import tinygrad_sm.functional as F
from tinygrad_sm import nn, optim


def two(a) -> str:
    """Two decimals, as the spreadsheet shows them."""
    return ", ".join(f"{v:.2f}" for v in np.asarray(a).ravel())


CLASSES = ("cat", "dog", "plane", "fish", "building")
SHOWN = {  # what the lesson's spreadsheet displays for its two images
    "softmax": [0.08, 0.01, 0.01, 0.62, 0.27],
    "sigmoid1": [0.51, 0.08, 0.15, 0.89, 0.78],
    "sigmoid2": [0.19, 0.02, 0.04, 0.65, 0.45],
}
K = len(CLASSES)


# -- the experiment ---------------------------------------------------------------------------

# --8<-- [start:data]
def make_data(n, prototypes, rng, p=0.3, noise=1.0):
    """Each of the K objects is in an image with probability p, independently (so an
    image may hold none, one or several); its features are the sum of the prototypes of
    the objects it holds, plus noise."""
    Y = (rng.random((n, K)) < p).astype(np.float32)
    X = Y @ prototypes + noise * rng.standard_normal((n, prototypes.shape[1]))
    return X.astype(np.float32), Y
# --8<-- [end:data]


# --8<-- [start:losses]
def soft_cross_entropy(logits, target):
    """-sum_j target_j log softmax(logits)_j, averaged over the batch."""
    return -(tg.tensor(target) * logits.log_softmax(1)).sum(1).mean()


def softmax_loss(out, Y):  # K outputs: the labels share probability 1
    n_labels = Y.sum(1, keepdims=True)
    target = np.where(n_labels > 0, Y / np.maximum(n_labels, 1), 1 / K)
    return soft_cross_entropy(out, target.astype(np.float32))


def none_class_loss(out, Y):  # K + 1 outputs: the last one means "none of the above"
    target = np.concatenate([Y, (Y.sum(1, keepdims=True) == 0)], 1).astype(np.float32)
    return soft_cross_entropy(out, target / target.sum(1, keepdims=True))


def pairs_loss(out, Y):  # 2K outputs: (class, not class) pairs, a 2-way softmax each
    pairs = out.reshape(out.shape[0], K, 2).log_softmax(2)
    target = np.stack([Y, 1 - Y], 2)
    return -(tg.tensor(target) * pairs).sum(2).mean()


def not_class_one_softmax_loss(out, Y):  # 2K outputs in one softmax: K of them are right
    target = np.stack([Y, 1 - Y], 2).reshape(len(Y), 2 * K) / K
    return soft_cross_entropy(out, target.astype(np.float32))


def sigmoid_loss(out, Y):  # K outputs: K independent yes/no questions
    return F.binary_cross_entropy_with_logits(out, tg.tensor(Y))
# --8<-- [end:losses]


# --8<-- [start:predict]
def probs(out):
    return F.softmax(out, dim=1).data


def predict(kind, out, threshold=None):
    """The predicted label set of each example, as a boolean (n, K) array."""
    if kind == "softmax":
        return probs(out) > threshold
    if kind == "none_class":
        return probs(out)[:, :K] > threshold
    if kind in ("pairs", "not_class_one_softmax"):  # class beats its not-class
        o = out.data.reshape(len(out.data), K, 2)
        return o[:, :, 0] > o[:, :, 1]
    return out.data > 0  # sigmoid: probability > 0.5
# --8<-- [end:predict]


MODELS = {  # kind: (number of outputs, loss)
    "softmax": (K, softmax_loss),
    "none_class": (K + 1, none_class_loss),
    "pairs": (2 * K, pairs_loss),
    "not_class_one_softmax": (2 * K, not_class_one_softmax_loss),
    "sigmoid": (K, sigmoid_loss),
}
LABELS = {
    "softmax": "softmax",
    "none_class": "softmax + none class",
    "pairs": "not-class pairs",
    "not_class_one_softmax": "not-classes, 1 softmax",
    "sigmoid": "sigmoid + BCE",
}


def exact_match(pred, Y):
    """Per example: is the predicted label set exactly the true one?"""
    return (pred == Y.astype(bool)).all(1)


def train(kind, X, Y, seed, epochs=30, bs=64, lr=0.01):
    n_out, loss_func = MODELS[kind]
    tg.manual_seed(seed)
    model = nn.Linear(X.shape[1], n_out)
    opt = optim.Adam(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for start in range(0, len(X), bs):
            idx = order[start:start + bs]
            loss = loss_func(model(tg.tensor(X[idx])), Y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model


def run_seed(seed, n_features=20, n=2000):
    """Train every model on one synthetic dataset; test metrics per model."""
    rng = np.random.default_rng(seed)
    prototypes = rng.standard_normal((K, n_features)).astype(np.float32)
    X_train, Y_train = make_data(n, prototypes, rng)
    X_test, Y_test = make_data(n, prototypes, rng)
    n_labels = Y_test.sum(1)
    groups = {"0": n_labels == 0, "1": n_labels == 1, "2+": n_labels >= 2}
    results = {}
    for kind in MODELS:
        model = train(kind, X_train, Y_train, seed)
        with tg.no_grad():
            out_train, out_test = model(tg.tensor(X_train)), model(tg.tensor(X_test))
        threshold = None
        if kind in ("softmax", "none_class"):  # the best threshold on the training set
            candidates = np.arange(0.02, 0.62, 0.02)
            threshold = max(candidates, key=lambda t: exact_match(
                predict(kind, out_train, t), Y_train).mean())
        pred = predict(kind, out_test, threshold)
        ok = exact_match(pred, Y_test)
        results[kind] = {
            "exact": ok.mean(),
            "label_acc": (pred == Y_test.astype(bool)).mean(),
            **{g: ok[m].mean() for g, m in groups.items()},
            "empty_predicted": (~pred.any(1)).mean(),
            "threshold": threshold,
        }
    shares = {g: m.mean() for g, m in groups.items()}
    return results, shares


def change(before: float, after: float, what: str) -> str:
    """'raised <what> from 31% to 58%' (or lowered / left), as the numbers say."""
    if round(after * 100) == round(before * 100):
        return f"left {what} at {after:.0%}"
    verb = "raised" if after > before else "lowered"
    return f"{verb} {what} from {before:.0%} to {after:.0%}"


def main() -> None:
    figs = figure_dir()

    section("spreadsheet")
    # --8<-- [start:spreadsheet]
    image1 = np.array([0.02, -2.49, -1.75, 2.07, 1.25])  # cat, dog, plane, fish, building
    image2 = np.array([-1.42, -3.93, -3.19, 0.63, -0.19])
    print(f"difference = {two(image1 - image2)}")
    for name, out in (("image1", image1), ("image2", image2)):
        o = tg.tensor(out)
        print(f"softmax_{name} = {two(F.softmax(o).data)}")
        print(f"sigmoid_{name} = {two(o.sigmoid().data)}")
    # --8<-- [end:spreadsheet]
    section("_")  # values that only the prose quotes
    offsets = set(two(image1 - image2).split(", "))
    print(f"offset = {offsets.pop() if len(offsets) == 1 else 'not constant'}")
    print(f"fish_softmax = {F.softmax(tg.tensor(image1)).data[3]:.0%}")

    section("rounding")
    # --8<-- [start:rounding]
    print(f"softmax_building = {F.softmax(tg.tensor(image1)).data[4]:.6f}")
    print(f"sigmoid_cat = {1 / (1 + math.exp(-0.02)):.8f}")
    # --8<-- [end:rounding]
    section("_")  # values that only the prose quotes
    computed = [F.softmax(tg.tensor(image1)).data, tg.tensor(image1).sigmoid().data,
                F.softmax(tg.tensor(image2)).data, tg.tensor(image2).sigmoid().data]
    expected = [SHOWN["softmax"], SHOWN["sigmoid1"], SHOWN["softmax"], SHOWN["sigmoid2"]]
    n_off = sum(f"{c:.2f}" != f"{e:.2f}" for cs, es in zip(computed, expected)
                for c, e in zip(cs, es))
    print(f"n_off = {n_off}")

    section("cells")
    # --8<-- [start:cells]
    shown = SHOWN
    # Every value the cat cell can hold while displaying 0.02, on a grid of 1e-7:
    cats = np.arange(0.015, 0.025, 1e-7)
    rows1 = np.column_stack([cats, np.tile(image1[1:], (len(cats), 1))])
    rows2 = rows1 - 1.44

    def shows(values, expected):  # displays as expected, to two decimals, in every column
        return (np.rint(values * 100) == np.rint(np.array(expected) * 100)).all(1)

    ok = (shows(rows2, image2)
          & shows(F.softmax(tg.tensor(rows1), dim=1).data, shown["softmax"])
          & shows(F.softmax(tg.tensor(rows2), dim=1).data, shown["softmax"])
          & shows(tg.tensor(rows1).sigmoid().data, shown["sigmoid1"])
          & shows(tg.tensor(rows2).sigmoid().data, shown["sigmoid2"]))
    print(f"cat_low = {cats[ok].min():.7f}")
    print(f"cat_high = {cats[ok].max():.7f}")
    cat = float(np.median(cats[ok]))
    cell1 = np.array([cat, *image1[1:]])
    for name, out in (("image1", cell1), ("image2", cell1 - 1.44)):
        o = tg.tensor(out)
        print(f"cells_{name} = {two(out)}")
        print(f"cells_softmax_{name} = {two(F.softmax(o).data)}")
        print(f"cells_sigmoid_{name} = {two(o.sigmoid().data)}")
    # --8<-- [end:cells]
    section("_")  # values that only the prose quotes
    print(f"cat_cell = {cat:.5f}")

    section("pair_is_sigmoid")
    # --8<-- [start:pair_is_sigmoid]
    a, b = tg.tensor(np.array([2.0, -1.0, 0.3])), tg.tensor(np.array([0.5, 0.5, -2.0]))
    pair = F.softmax(tg.stack([a, b], 1), dim=1).data[:, 0]
    print(f"pair_vs_sigmoid = {np.abs(pair - (a - b).sigmoid().data).max():.1e}")
    # --8<-- [end:pair_is_sigmoid]

    section("experiment")
    seeds = (0, 1, 2)
    runs = [run_seed(seed) for seed in seeds]
    cols = ("exact", "label_acc", "0", "1", "2+")
    print(f"{'model':<24}{'exact':>8}{'labels':>8}{'0 lab.':>8}{'1 lab.':>8}{'2+ lab.':>8}")
    mean = {}
    for kind in MODELS:
        mean[kind] = {c: float(np.mean([r[kind][c] for r, _ in runs])) for c in cols}
        mean[kind]["empty"] = float(np.mean([r[kind]["empty_predicted"] for r, _ in runs]))
        print(f"{LABELS[kind]:<24}" + "".join(f"{mean[kind][c]:>8.1%}" for c in cols))
    section("_")  # values that only the prose quotes
    shares = {g: np.mean([s[g] for _, s in runs]) for g in ("0", "1", "2+")}
    print(f"share_0 = {shares['0']:.0%}")
    print(f"share_1 = {shares['1']:.0%}")
    print(f"share_2 = {shares['2+']:.0%}")
    for kind in MODELS:
        for c in cols:
            key = {"exact": "exact", "label_acc": "labels", "0": "none", "1": "one",
                   "2+": "many"}[c]
            print(f"{kind}_{key} = {mean[kind][c]:.0%}")
    spread = {k: max(r[k]["exact"] for r, _ in runs) - min(r[k]["exact"] for r, _ in runs)
              for k in MODELS}
    print(f"seed_spread_max = {max(spread.values()) * 100:.0f}")
    thresholds = [r["softmax"]["threshold"] for r, _ in runs]
    print(f"softmax_thresholds = {', '.join(f'{t:.2f}' for t in thresholds)}")
    print(f"softmax_empty = {mean['softmax']['empty']:.0%}")
    gap = max(abs(r["pairs"]["exact"] - r["sigmoid"]["exact"]) for r, _ in runs)
    print(f"pairs_sigmoid_gap = {gap * 100:.1f}")

    m = mean

    def wins(a, b):  # in how many seeds model a matched more label sets exactly than b
        return sum(r[a]["exact"] > r[b]["exact"] for r, _ in runs)

    print(f"wins_none_over_softmax = {wins('none_class', 'softmax')}")
    print(f"wins_sigmoid_over_none = {wins('sigmoid', 'none_class')}")
    print(f"wins_sigmoid_over_softmax = {wins('sigmoid', 'softmax')}")
    print(f"n_seeds = {len(seeds)}")
    print("finding_none = The extra class "
          + change(m["softmax"]["0"], m["none_class"]["0"], "exact matches on unlabelled images")
          + " and " + change(m["softmax"]["exact"], m["none_class"]["exact"], "them overall")
          + f"; the sigmoid model scored {m['sigmoid']['exact']:.0%} overall.")
    pairs_vs = m["pairs"]["exact"] - m["sigmoid"]["exact"]
    print(f"finding_pairs = The not-class pairs scored {m['pairs']['exact']:.0%} against the "
          f"sigmoid model's {m['sigmoid']['exact']:.0%} "
          f"({abs(pairs_vs) * 100:.1f} points {'more' if pairs_vs > 0 else 'less'}; the "
          f"largest gap in a single seed was {gap * 100:.1f} points).")
    one, pairs = m["not_class_one_softmax"], m["pairs"]
    print("finding_one_softmax = With all ten outputs in one softmax the not-class model "
          f"scored {one['exact']:.0%} overall: "
          f"{'more' if one['0'] > pairs['0'] else 'less'} exact matches than the pairs on "
          f"unlabelled images ({one['0']:.0%} against {pairs['0']:.0%}) and "
          f"{'more' if one['2+'] > pairs['2+'] else 'fewer'} on images with two or more "
          f"labels ({one['2+']:.0%} against {pairs['2+']:.0%}).")

    if figs:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(8, 3.6), layout="constrained")
        ax = fig.subplots()
        groups = ("exact", "0", "1", "2+")
        width = 0.8 / len(MODELS)
        for k, kind in enumerate(MODELS):
            xs = np.arange(len(groups)) + (k - (len(MODELS) - 1) / 2) * width
            ax.bar(xs, [m[kind][g] for g in groups], width, label=LABELS[kind])
        ax.set_xticks(np.arange(len(groups)),
                      ["all images", "no label", "one label", "two or more"])
        ax.set(ylabel="exact-match accuracy (test)", ylim=(0, 1.3), yticks=np.linspace(0, 1, 6),
               title=f"Multi-label test accuracy, mean of {len(seeds)} seeds")
        ax.legend(fontsize="small", ncols=3, loc="upper center")
        fig.savefig(figs / "t5_experiment.png", dpi=100)


if __name__ == "__main__":
    main()
