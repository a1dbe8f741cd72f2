"""Tests for tinygrad_sm.plot: figures, titles, axis labels and saved PNG files."""

import numpy as np
import pytest

import tinygrad_sm as tg

pytest.importorskip("matplotlib")

from tinygrad_sm import plot  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def saved_png(path) -> bool:
    data = path.read_bytes()
    return len(data) > 1000 and data[:8] == PNG_MAGIC


def labels(ax) -> tuple[str, str, str]:
    return ax.get_title(), ax.get_xlabel(), ax.get_ylabel()


class FakeRecorder:
    """What tinygrad_sm.learner's Recorder holds (the plots only read attributes)."""

    def __init__(self):
        self.losses = list(2.0 * np.exp(-np.arange(60) / 20) + 0.1)
        self.lrs = list(np.linspace(0.1, 0.01, 60))
        self.hps = {"lr": [[v] for v in self.lrs],
                    "momentum": [[0.8, 0.95 - 0.001 * k] for k in range(60)]}
        self.metrics = [
            {"epoch": 0, "train_loss": 1.0, "valid_loss": 1.2, "valid_accuracy": 0.5,
             "lr": 0.1, "seconds": 0.1},
            {"epoch": 1, "train_loss": 0.5, "valid_loss": None, "valid_accuracy": None,
             "lr": 0.05, "seconds": 0.1},
        ]


def test_smooth_is_a_debiased_moving_average():
    np.testing.assert_allclose(plot.smooth([3.0, 3.0, 3.0], 0.9), [3.0, 3.0, 3.0])
    # m1 = 0.1 * 1 -> 1; m2 = 0.09 + 0.1 * 3 = 0.39 over 0.19
    np.testing.assert_allclose(plot.smooth([1.0, 3.0], 0.9), [1.0, 0.39 / 0.19])


def test_plot_loss_per_batch_and_per_epoch(tmp_path):
    losses = [tg.tensor(v) for v in (3.0, 2.0, 1.5, 1.0)]  # scalar tensors work too
    fig = plot.plot_loss(losses, [2.0, 1.0], [2.5, 1.4], path=tmp_path / "loss.png")
    assert saved_png(tmp_path / "loss.png")
    batch, epoch = fig.axes[:2]
    assert labels(batch) == ("Loss per batch", "batch", "loss")
    assert labels(epoch) == ("Loss per epoch", "epoch", "loss")
    assert len(batch.lines) == 2  # raw and smoothed
    np.testing.assert_allclose(epoch.lines[1].get_ydata(), [2.5, 1.4])
    only_batches = plot.plot_loss([1.0, 0.5])
    assert len(only_batches.axes) == 1
    with pytest.raises(ValueError, match="plot_loss"):
        plot.plot_loss()


def test_plot_loss_from_a_recorder(tmp_path):
    fig = plot.plot_loss(recorder=FakeRecorder(), path=tmp_path / "r.png")
    assert saved_png(tmp_path / "r.png")
    epoch = fig.axes[1]
    train, valid = epoch.lines
    np.testing.assert_allclose(train.get_xdata(), [0, 1])
    np.testing.assert_allclose(valid.get_ydata(), [1.2])  # the epoch without a value: skipped
    assert [t.get_text() for t in epoch.get_legend().get_texts()] == ["train", "valid"]


def test_plot_schedule_lr_and_momentum(tmp_path):
    fig = plot.plot_schedule(recorder=FakeRecorder(), path=tmp_path / "s.png")
    assert saved_png(tmp_path / "s.png")
    lr_ax, mom_ax = fig.axes
    assert labels(lr_ax) == ("Learning rate schedule", "batch", "learning rate")
    assert labels(mom_ax) == ("Momentum schedule", "batch", "momentum")
    assert mom_ax.lines[0].get_ydata()[1] == pytest.approx(0.949)  # the last param group
    assert len(plot.plot_schedule([0.1, 0.2]).axes) == 1
    adam = [{"lr": 0.1, "betas": (0.9, 0.99)}, {"lr": 0.1, "betas": (0.85, 0.99)}]
    assert plot._momentum(adam) == [0.9, 0.85]


def lr_sweep():
    lrs = np.logspace(-5, 1, 80)
    x = np.log10(lrs)
    losses = 2.0 - 1.5 / (1 + np.exp(-2 * (x + 2.5))) + np.where(x > -0.5, 3 * (x + 0.5), 0)
    return lrs, losses


def test_plot_lr_find_marks_the_suggestion(tmp_path):
    lrs, losses = lr_sweep()
    fig = plot.plot_lr_find(lrs, losses, 1e-3, path=tmp_path / "lr.png")
    assert saved_png(tmp_path / "lr.png")
    (ax,) = fig.axes
    assert labels(ax) == ("Learning rate finder", "learning rate (log scale)", "loss")
    assert ax.get_xscale() == "log"
    marker = [ln for ln in ax.lines if ln.get_label().startswith("suggested lr")]
    assert marker and marker[0].get_xdata()[0] == pytest.approx(1e-3)
    with pytest.raises(ValueError, match="80 learning rates but 3 losses"):
        plot.plot_lr_find(lrs, [1.0, 2.0, 3.0])


def suggested_marker(fig) -> float:
    (ax,) = fig.axes
    (marker,) = [ln for ln in ax.lines if ln.get_label().startswith("suggested lr")]
    return float(marker.get_xdata()[0])


def test_suggest_lr_is_the_lr_finders_rule_min_of_smoothed_loss_over_10():
    lrs, losses = lr_sweep()
    lr = plot.suggest_lr(lrs, losses, beta=0.0)  # no smoothing: the minimum itself / 10
    assert lr == pytest.approx(lrs[int(np.argmin(losses))] / 10)
    assert 10**-1.6 < lr < 10**-1.4  # the minimum is at 10^-0.5
    from tinygrad_sm.learner import LRFinder, lr_suggestion

    smoothed = plot.smooth(losses)
    finder = LRFinder()
    finder.lrs, finder.losses = list(lrs), list(smoothed)
    assert plot.suggest_lr(lrs, losses) == finder.suggestion() == lr_suggestion(lrs, smoothed)
    # the default marker of the plot is that same suggestion
    assert suggested_marker(plot.plot_lr_find(lrs, losses)) == pytest.approx(
        finder.suggestion())


def test_suggestion_is_never_below_the_smallest_lr_tried():
    # a loss that only rises has its minimum at the first lr: a tenth of it was never tried
    from tinygrad_sm.learner import lr_suggestion

    lrs = np.logspace(-3, 0, 20)
    assert lr_suggestion(lrs, np.linspace(1.0, 5.0, 20)) == lrs[0]
    assert lr_suggestion(lrs, -np.linspace(1.0, 5.0, 20)) == pytest.approx(0.1)


def test_suggest_lr_ignores_a_noisy_plateau_at_the_start():
    # The digits sweep of `tinygrad-sm train --lr-find`: a noisy flat start (the smoothed
    # curve falls fastest at the first points) then the real descent. The steepest-slope
    # rule picked the start lr; the minimum / 10 is on the descent.
    lrs = np.logspace(-7, 0, 91)
    x = np.log10(lrs)
    noise = np.random.default_rng(0).normal(0, 0.05, len(x))
    losses = 2.3 + noise - 1.5 / (1 + np.exp(-4 * (x + 1.5)))
    losses += np.where(x > -0.3, 20 * (x + 0.3), 0)
    losses[0] = 2.45
    lr = plot.suggest_lr(lrs, losses)
    assert lr > 1e-4
    assert lr == pytest.approx(lrs[int(np.argmin(plot.smooth(losses)))] / 10)


def test_plot_lr_find_y_range_covers_both_curves_until_the_loss_diverges():
    lrs, losses = lr_sweep()
    losses = losses + np.random.default_rng(1).normal(0, 0.3, len(losses))
    losses[-3:] = [50.0, 500.0, np.inf]  # the explosion that ends a sweep
    sm = plot.smooth(losses)
    best = int(np.argmin(sm))
    diverged = best + 1 + int(np.argmax(losses[best + 1:] > losses[0]))
    lo, hi = plot.plot_lr_find(lrs, losses).axes[0].get_ylim()
    shown = np.concatenate([losses[:diverged], sm[:diverged]])
    assert lo <= shown.min() < sm.min()  # the raw curve dips below the smoothed one
    assert hi >= shown.max()
    assert hi < 50  # the explosion is left out
    assert np.isfinite([lo, hi]).all()


def test_plot_activation_stats_one_line_per_layer(tmp_path):
    means = {"0 (Linear)": [0.1, 0.2, 0.3], "1 (ReLU)": [0.5, 0.4, 0.45]}
    stds = {"0 (Linear)": [1.0, 0.9, 0.8], "1 (ReLU)": [0.6, 0.5, 0.55]}
    fig = plot.plot_activation_stats(means, stds, path=tmp_path / "a.png")
    assert saved_png(tmp_path / "a.png")
    mean_ax, std_ax = fig.axes
    assert labels(mean_ax) == ("Activation mean", "batch", "mean")
    assert labels(std_ax) == ("Activation std", "batch", "std")
    assert [ln.get_label() for ln in std_ax.lines] == list(stds)
    fig = plot.plot_activation_stats([[0.0, 1.0]], [[1.0, 1.0]])
    assert fig.axes[0].lines[0].get_label() == "layer 0"


def test_plot_activation_hist_heatmap_per_layer(tmp_path):
    rng = np.random.default_rng(0)
    hists = [rng.poisson(3, (20, 30)), rng.poisson(1, (20, 30))]
    fig = plot.plot_activation_hist(hists, names=["0", "2"], value_range=(-3, 3),
                                    path=tmp_path / "h.png")
    assert saved_png(tmp_path / "h.png")
    assert [labels(ax) for ax in fig.axes] == [
        ("0", "batch", "activation value"), ("2", "batch", "activation value")]
    image = fig.axes[0].images[0]
    np.testing.assert_allclose(image.get_array(), np.log1p(hists[0].T))  # time on x
    with pytest.raises(ValueError, match="expected \\(batches, bins\\)"):
        plot.plot_activation_hist([np.zeros(5)])


def test_plot_softmax_bars_sum_to_one(tmp_path):
    x = tg.tensor([1.0, 2.0, 0.5, -1.0])
    fig = plot.plot_softmax(x, labels=["cat", "dog", "bird", "fish"], path=tmp_path / "p.png")
    assert saved_png(tmp_path / "p.png")
    (ax,) = fig.axes
    assert labels(ax) == ("softmax(x)", "class", "probability")
    heights = [bar.get_height() for bar in ax.patches]
    e = np.exp([1.0, 2.0, 0.5, -1.0])
    np.testing.assert_allclose(heights, e / e.sum())
    assert ax.get_xticklabels()[1].get_text().startswith("dog")
    with pytest.raises(ValueError, match="2 labels for 4 values"):
        plot.plot_softmax(x, labels=["a", "b"])


def test_plot_decision_boundary_with_a_model_and_with_numpy(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 2))
    y = (X[:, 0] > 0).astype(int)
    w = tg.tensor(np.array([[-5.0, 5.0], [0.0, 0.0]], np.float32))

    def model(t):  # logits (n, 2): class 1 where x1 > 0
        return t @ w

    fig = plot.plot_decision_boundary(model, X, y, resolution=50, path=tmp_path / "d.png")
    assert saved_png(tmp_path / "d.png")
    (ax,) = fig.axes
    assert labels(ax) == ("Decision boundary", "x1", "x2")
    grid = np.array([[-1.0, 0.0], [1.0, 0.0]])
    np.testing.assert_array_equal(plot._predict_labels(model, grid), [0, 1])
    np.testing.assert_array_equal(plot._predict_labels(lambda g: g[:, 0] > 0, grid), [0, 1])
    np.testing.assert_array_equal(
        plot._predict_labels(lambda g: 1 / (1 + np.exp(-np.asarray(g)[:, :1])), grid), [0, 1])
    with pytest.raises(ValueError, match="shape \\(n, 2\\)"):
        plot.plot_decision_boundary(model, np.zeros((5, 3)), np.zeros(5))
