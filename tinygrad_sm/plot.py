"""Plots of training (matplotlib, an optional dependency: ``pip install matplotlib``).

Every function takes plain lists or arrays (some also a recorder-like object with the
attributes ``losses``, ``lrs``, ``hps``, ``metrics``), returns a
``matplotlib.figure.Figure`` and, given ``path=``, saves it as a PNG. Figures are made
with ``Figure()`` rather than pyplot, so nothing depends on the GUI backend (headless
machines and the Agg backend work) and no figure accumulates in pyplot's registry;
Jupyter displays a returned Figure inline (as a PNG, with or without ``%matplotlib inline``).
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tinygrad_sm.core.grad_mode import no_grad
from tinygrad_sm.core.tensor import Tensor

Series = Sequence[float] | np.ndarray


@functools.cache
def _figure_class() -> type:
    """``matplotlib.figure.Figure`` with a ``_repr_png_``, so that Jupyter shows a returned
    figure as a PNG without ``%matplotlib inline`` (IPython registers its own PNG formatter
    for figures only once pyplot is imported, which ``Figure()`` never does)."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("tinygrad_sm.plot needs matplotlib: pip install matplotlib (or pip "
                          "install 'tinygrad_sm[plot]')") from None

    class InlineFigure(Figure):
        def _repr_png_(self) -> bytes:
            buf = io.BytesIO()
            self.savefig(buf, format="png", dpi=100)
            return buf.getvalue()

    return InlineFigure


def _figure(ncols: int = 1, nrows: int = 1, width: float = 6.0, height: float = 4.0) -> Any:
    fig = _figure_class()(figsize=(width * ncols, height * nrows), layout="constrained")
    return fig, fig.subplots(nrows, ncols, squeeze=False).ravel()


def _finish(fig: Any, path: str | Path | None) -> Any:
    if path is not None:
        fig.savefig(Path(path), format="png", dpi=100)
    return fig


def _np(x: Any) -> Any:
    """A Tensor's array (not ``getattr(x, 'data')``: NumPy arrays have a ``.data`` too)."""
    return x.data if isinstance(x, Tensor) else x


def _floats(values: Any) -> np.ndarray:
    """Losses may come as floats, 0-d arrays or scalar tensors."""
    return np.asarray([float(np.asarray(_np(v))) for v in values], np.float64)


def smooth(values: Series, beta: float = 0.98) -> np.ndarray:
    """Exponential moving average with bias correction (as fastai smooths losses):
    m_t = beta m_{t-1} + (1 - beta) x_t,  smoothed_t = m_t / (1 - beta^t)."""
    x = _floats(values)
    out = np.empty_like(x)
    m = 0.0
    for t, v in enumerate(x, 1):
        m = beta * m + (1 - beta) * v
        out[t - 1] = m / (1 - beta**t)
    return out


def _metric(rows: Sequence[Mapping[str, Any]], key: str) -> tuple[list[float], list[float]]:
    """(epochs, values) of ``key`` in a recorder's list of per-epoch dicts."""
    pairs = [(r.get("epoch", k), r[key]) for k, r in enumerate(rows) if r.get(key) is not None]
    return [float(e) for e, _ in pairs], [float(v) for _, v in pairs]


def plot_loss(losses: Series | None = None, train_loss: Series | None = None,
              valid_loss: Series | None = None, *, recorder: Any = None, beta: float = 0.98,
              path: str | Path | None = None) -> Any:
    """Loss per batch (raw and smoothed, ``beta`` as in ``smooth``) and, when given, per
    epoch for the training and validation sets (a second panel). With ``recorder``, the
    batches come from ``recorder.losses`` and the epochs from ``recorder.metrics`` (dicts
    with ``epoch``, ``train_loss``, ``valid_loss``)."""
    epochs_t = epochs_v = None
    if recorder is not None:
        losses = recorder.losses if losses is None else losses
        rows = getattr(recorder, "metrics", None) or []
        if train_loss is None and valid_loss is None and rows:
            epochs_t, train_loss = _metric(rows, "train_loss")
            epochs_v, valid_loss = _metric(rows, "valid_loss")
    per_epoch = bool(train_loss is not None and len(train_loss)) or bool(
        valid_loss is not None and len(valid_loss))
    if losses is None and not per_epoch:
        raise ValueError("plot_loss: give batch losses, per-epoch losses or a recorder")
    panels = [losses is not None, per_epoch]
    fig, axes = _figure(ncols=sum(panels))
    axes = list(axes)
    if losses is not None:
        ax = axes.pop(0)
        x = _floats(losses)
        ax.plot(np.arange(len(x)), x, color="tab:blue", alpha=0.3, lw=1, label="per batch")
        if len(x):
            ax.plot(np.arange(len(x)), smooth(x, beta), color="tab:blue", lw=2,
                    label=f"smoothed (beta={beta:g})")
        ax.set(title="Loss per batch", xlabel="batch", ylabel="loss")
        ax.legend()
    if per_epoch:
        ax = axes.pop(0)
        for name, vals, epochs, color in (("train", train_loss, epochs_t, "tab:blue"),
                                          ("valid", valid_loss, epochs_v, "tab:orange")):
            if vals is not None and len(vals):
                y = _floats(vals)
                ep = np.arange(1, len(y) + 1) if epochs is None else np.asarray(epochs)
                ax.plot(ep, y, marker="o", color=color, label=name)
        ax.set(title="Loss per epoch", xlabel="epoch", ylabel="loss")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend()
    return _finish(fig, path)


def _momentum(hps: Any) -> list[float] | None:
    """Momentum per batch from a recorder's ``hps``: a dict of per-batch lists (each
    value a number or a list with one value per param group: the last group is used, as
    for ``lrs``) or a list of dicts, under ``momentum``, ``mom``, ``beta1`` or ``betas``
    (the first of the pair)."""
    if not hps:
        return None
    if isinstance(hps, Mapping):
        hps = [dict(zip(hps, vals)) for vals in zip(*hps.values())]
    for key in ("momentum", "mom", "beta1", "betas"):
        if all(isinstance(h, Mapping) and key in h for h in hps):
            out = []
            for h in hps:
                v = h[key]
                if key == "betas":
                    v = v[0]
                elif isinstance(v, list | tuple):
                    v = v[-1]
                out.append(float(v))
            return out
    return None


def plot_schedule(lrs: Series | None = None, moms: Series | None = None, *,
                  recorder: Any = None, path: str | Path | None = None) -> Any:
    """The learning rate per batch and, when given, the momentum (or Adam's beta1) per
    batch in a second panel. With ``recorder``: ``recorder.lrs`` and ``recorder.hps``."""
    if recorder is not None:
        lrs = recorder.lrs if lrs is None else lrs
        moms = _momentum(getattr(recorder, "hps", None)) if moms is None else moms
    if lrs is None:
        raise ValueError("plot_schedule: give lrs or a recorder")
    has_mom = moms is not None and len(moms) > 0
    fig, axes = _figure(ncols=2 if has_mom else 1, width=5)
    axes[0].plot(_floats(lrs), color="tab:green")
    axes[0].set(title="Learning rate schedule", xlabel="batch", ylabel="learning rate")
    if has_mom:
        axes[1].plot(_floats(moms), color="tab:purple")
        axes[1].set(title="Momentum schedule", xlabel="batch", ylabel="momentum")
    return _finish(fig, path)


def suggest_lr(lrs: Series, losses: Series, beta: float = 0.98) -> float:
    """The learning rate the LR finder suggests for a sweep of raw ``losses``: smooth them
    (``smooth``, ``beta``), then take the lr at the minimum divided by 10. A shorthand for
    :func:`tinygrad_sm.sched.lr_suggestion`, the package's one rule."""
    from tinygrad_sm.sched import lr_suggestion

    return lr_suggestion(_floats(lrs), smooth(losses, beta))


def _lr_find_ylim(loss: np.ndarray, sm: np.ndarray) -> tuple[float, float] | None:
    """Y-limits that show the raw and the smoothed curve whole up to where the loss
    diverges: the first point after the smoothed minimum where either is not finite or
    above the loss at the start of the sweep. None when no point is finite."""
    ok = np.isfinite(loss) & np.isfinite(sm)
    if not ok.any():
        return None
    best = int(np.argmin(np.where(ok, sm, np.inf)))
    start = sm[ok][0]
    after = slice(best + 1, None)
    worse = ~ok[after] | (loss[after] > start) | (sm[after] > start)
    end = best + 1 + int(np.argmax(worse)) if worse.any() else len(loss)
    shown = np.concatenate([loss[:end][ok[:end]], sm[:end][ok[:end]]])
    lo, hi = float(shown.min()), float(shown.max())
    pad = 0.05 * (hi - lo) or 0.1 * abs(hi) or 0.1
    return lo - pad, hi + pad


def plot_lr_find(lrs: Series, losses: Series, suggestion: float | None = None, *,
                 beta: float = 0.98, path: str | Path | None = None) -> Any:
    """The LR finder's curve: the raw ``losses`` and their smoothed curve (``smooth``,
    ``beta``) against the learning rate (log scale), with the suggested learning rate
    marked (by default ``suggest_lr``: the lr at the smoothed minimum divided by 10, the
    rule of ``LRFinder.suggestion``). The y axis shows both curves whole up to where the
    loss diverges (goes above its starting value after the minimum)."""
    lr, loss = _floats(lrs), _floats(losses)
    if len(lr) != len(loss):
        raise ValueError(f"plot_lr_find: {len(lr)} learning rates but {len(loss)} losses")
    sm = smooth(loss, beta)
    if suggestion is None:
        from tinygrad_sm.sched import lr_suggestion

        suggestion = lr_suggestion(lr, sm)
    fig, (ax,) = _figure()
    ax.plot(lr, loss, color="tab:blue", alpha=0.3, lw=1, label="loss")
    ax.plot(lr, sm, color="tab:blue", lw=2, label="smoothed")
    y = float(np.interp(np.log(suggestion), np.log(lr), sm))
    ax.plot([suggestion], [y], "o", color="tab:red", ms=8, label=f"suggested lr {suggestion:.2e}")
    ax.axvline(suggestion, color="tab:red", ls="--", lw=1)
    ax.set_xscale("log")
    # The loss explodes at the end of a search: leave the explosion out of the y range
    # so that the useful descent stays visible.
    ylim = _lr_find_ylim(loss, sm)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set(title="Learning rate finder", xlabel="learning rate (log scale)", ylabel="loss")
    ax.legend()
    return _finish(fig, path)


def _per_layer(stats: Any, names: Sequence[str] | None) -> tuple[list[str], list[np.ndarray]]:
    """Per-layer series from a dict name -> series or a sequence of series."""
    if isinstance(stats, Mapping):
        names = list(stats) if names is None else list(names)
        series = [np.asarray(v, np.float64) for v in stats.values()]
    else:
        series = [np.asarray(v, np.float64) for v in stats]
        names = [f"layer {k}" for k in range(len(series))] if names is None else list(names)
    if len(names) != len(series):
        raise ValueError(f"plot: {len(names)} names for {len(series)} layers")
    return names, series


def plot_activation_stats(means: Any, stds: Any, *, names: Sequence[str] | None = None,
                          path: str | Path | None = None) -> Any:
    """Mean and standard deviation of each layer's activations through training: one
    line per layer. ``means[k]`` / ``stds[k]`` are layer k's values per recorded batch
    (or dicts of layer name -> values)."""
    names, m = _per_layer(means, names)
    _, s = _per_layer(stds, names)
    fig, axes = _figure(ncols=2, width=5)
    for name, mk, sk in zip(names, m, s):
        axes[0].plot(mk, label=name)
        axes[1].plot(sk, label=name)
    axes[0].set(title="Activation mean", xlabel="batch", ylabel="mean")
    axes[1].set(title="Activation std", xlabel="batch", ylabel="std")
    axes[0].legend(fontsize="small")
    return _finish(fig, path)


def plot_activation_hist(hists: Any, *, names: Sequence[str] | None = None,
                         value_range: tuple[float, float] | None = None,
                         path: str | Path | None = None) -> Any:
    """Histogram-over-time heatmap per layer ("the colorful dimension"): ``hists[k]`` is
    an array (batches, bins) of histogram counts of layer k's activations; color is
    log(1 + count), time runs left to right, activation values bottom to top
    (``value_range`` labels the value axis, else bins are numbered)."""
    names, hs = _per_layer(hists, names)
    fig, axes = _figure(ncols=len(hs), width=3.5, height=3.5)
    for ax, name, h in zip(axes, names, hs):
        if h.ndim != 2:
            raise ValueError(f"plot_activation_hist: {name}: expected (batches, bins), "
                             f"got shape {h.shape}")
        lo, hi = value_range if value_range is not None else (0, h.shape[1])
        ax.imshow(np.log1p(h.T), origin="lower", aspect="auto", cmap="viridis",
                  extent=(0, h.shape[0], lo, hi))
        ax.set(title=name, xlabel="batch",
               ylabel="activation value" if value_range is not None else "bin")
    return _finish(fig, path)


def plot_softmax(x: Any, *, labels: Sequence[str] | None = None,
                 path: str | Path | None = None) -> Any:
    """A bar chart of softmax(x)_i = exp(x_i) / sum_j exp(x_j) for a vector x (logits),
    each bar labelled with its probability; the logits are shown under the class names."""
    z = np.asarray(_np(x), np.float64).ravel()
    if z.size == 0:
        raise ValueError("plot_softmax: x is empty")
    p = np.exp(z - z.max())
    p /= p.sum()
    labels = [str(k) for k in range(z.size)] if labels is None else list(labels)
    if len(labels) != z.size:
        raise ValueError(f"plot_softmax: {len(labels)} labels for {z.size} values")
    fig, (ax,) = _figure(width=max(4.0, 0.6 * z.size))
    bars = ax.bar(range(z.size), p, color="tab:blue")
    ax.bar_label(bars, labels=[f"{v:.2f}" for v in p], fontsize="small")
    ax.set_xticks(range(z.size), [f"{lab}\n(x={v:.2g})" for lab, v in zip(labels, z)])
    ax.set_ylim(0, 1.08)
    ax.set(title="softmax(x)", xlabel="class", ylabel="probability")
    return _finish(fig, path)


def _predict_labels(predict: Callable[[Any], Any], grid: np.ndarray) -> np.ndarray:
    """Class labels from a callable or model: logits/probabilities (n, k) -> argmax,
    one score per point (n,) or (n, 1) -> threshold (0 for logits, 0.5 for probs)."""
    with no_grad():
        try:
            out = predict(Tensor(grid.astype(np.float32)))
        except TypeError:  # a plain NumPy function
            out = predict(grid)
    out = np.asarray(_np(out))
    if out.ndim == 2 and out.shape[1] > 1:
        return out.argmax(1)
    out = out.reshape(-1)
    if out.dtype.kind in "iub":
        return out.astype(np.int64)
    threshold = 0.5 if out.min() >= 0 and out.max() <= 1 else 0.0
    return (out > threshold).astype(np.int64)


def plot_decision_boundary(predict: Callable[[Any], Any], X: Any, y: Any, *,
                           resolution: int = 200, margin: float = 0.5,
                           path: str | Path | None = None) -> Any:
    """The regions a classifier assigns to each class on 2-D data, with the points
    coloured by their true class. ``predict`` is a model or function taking an (n, 2)
    Tensor (or ndarray) and returning logits, probabilities or labels."""
    X = np.asarray(_np(X), np.float64)
    y = np.asarray(_np(y)).reshape(-1)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"plot_decision_boundary: X must have shape (n, 2), got {X.shape}")
    (x0, y0), (x1, y1) = X.min(0) - margin, X.max(0) + margin
    gx, gy = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    labels = _predict_labels(predict, np.c_[gx.ravel(), gy.ravel()]).reshape(gx.shape)
    n = int(max(labels.max(), y.max())) + 1
    fig, (ax,) = _figure(width=5, height=5)
    levels = np.arange(n + 1) - 0.5
    ax.contourf(gx, gy, labels, levels=levels, cmap="tab10", vmin=0, vmax=9, alpha=0.3)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="tab10", vmin=0, vmax=9, edgecolors="k", s=20)
    ax.set(title="Decision boundary", xlabel="x1", ylabel="x2")
    return _finish(fig, path)
