"""Callbacks for the :class:`~tinygrad_sm.learner.Learner`.

A callback defines methods named after events (``before_batch``, ``after_epoch``, ...);
the learner calls them in increasing ``order``. Inside one, ``self.<name>`` reads the
learner's state (``self.loss``, ``self.epoch``, ...); to change it, assign to
``self.learn.<name>``.
"""

from __future__ import annotations

import math
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from tinygrad_sm.core.tensor import Tensor
from tinygrad_sm.learner.control import (
    CancelFitException,
    CancelValidException,
    _model_state,
    check_model_state,
)
from tinygrad_sm.sched import lr_suggestion

__all__ = [
    "Callback",
    "AvgStat",
    "Recorder",
    "ParamScheduler",
    "ProgressCallback",
    "EarlyStopping",
    "LRFinder",
    "lr_suggestion",
    "Checkpoint",
    "GradientClipping",
    "ActivationStats",
]


class Callback:
    """Base class. ``order`` sets the calling order (lower first; ties keep the order in
    which callbacks were added); ``name`` is the attribute the learner exposes it as."""

    order: int = 0
    learn: Any = None

    @property
    def name(self) -> str:
        base = re.sub(r"Callback$", "", type(self).__name__) or "callback"
        # CamelCase -> snake_case, keeping acronyms together: LRFinder -> lr_finder
        base = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", base)
        return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", base).lower()

    def state_dict(self) -> dict[str, Any]:
        """The state that drives this callback's decisions (a best score, a patience
        count), saved with the learner by ``Learner.save``; ``{}`` for most callbacks."""
        return {}

    def check_state(self, state: Any) -> dict[str, Any]:
        """The attributes that a saved :meth:`state_dict` restores, after checking it;
        raises ValueError naming the field. ``Learner.load`` checks every callback's state
        before it changes anything, then sets these attributes."""
        return {}

    def load_state_dict(self, state: Any) -> None:
        self.__dict__.update(self.check_state(state))

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup fails: read the attribute from the learner.
        learn = self.__dict__.get("learn", type(self).learn)
        if learn is None or name.startswith("__"):
            raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")
        return getattr(learn, name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


# -- metrics -----------------------------------------------------------------------------


class AvgStat:
    """A mean over batches weighted by batch size: a final short batch counts for what
    it is, so the result equals the mean over all examples."""

    def __init__(self) -> None:
        self.total, self.count = 0.0, 0

    def add(self, value: float | None, n: int) -> None:
        if value is not None:
            self.total += float(value) * n
            self.count += n

    @property
    def value(self) -> float | None:
        return self.total / self.count if self.count else None


def batch_size(xb: Any, yb: Any) -> int:
    first = yb if yb is not None else (xb[0] if isinstance(xb, tuple) else xb)
    return len(first)


def batch_accuracy(pred: Any, yb: Any) -> float | None:
    """Fraction of rows whose argmax is the target class (targets as class indices or as
    one-hot/probability rows); None when ``pred`` is not a batch of class scores."""
    if not isinstance(pred, Tensor) or yb is None or pred.ndim != 2:
        return None
    y = yb.data if isinstance(yb, Tensor) else np.asarray(yb)
    if y.shape == pred.shape:
        y = y.argmax(axis=1)
    if y.ndim != 1 or len(y) != len(pred) or y.dtype.kind not in "iu":
        return None
    return float((pred.data.argmax(axis=1) == y).mean())


def _hyperparameters(group: Mapping[str, Any]) -> dict[str, float]:
    """The numeric hyperparameters of a param group (lr, momentum, eps, ...); Adam's
    ``betas`` pair is listed as ``beta1`` and ``beta2``."""
    out = {k: v for k, v in group.items()
           if k != "params" and isinstance(v, int | float) and not isinstance(v, bool)}
    if isinstance(group.get("betas"), tuple) and len(group["betas"]) == 2:
        out["beta1"], out["beta2"] = group["betas"]
    return out


class Recorder(Callback):
    """Records losses and hyperparameters per training batch and metrics per epoch.

    - ``losses``: the training loss of each batch;
    - ``hps``: ``{name: [[value of group 0, value of group 1, ...] per batch]}`` for every
      numeric hyperparameter (lr, momentum, weight_decay, Adam's beta1 and beta2, ...);
      ``lrs``: the last group's lr per batch;
    - ``metrics``: one dict per epoch with ``epoch``, ``train_loss``, ``valid_loss``,
      ``valid_accuracy``, ``lr`` and ``seconds`` (and any value given to :meth:`log`).
      Losses and accuracy are means over examples (batches weighted by their size);
      without a validation set the valid values are None.
    """

    order = 50

    def __init__(self) -> None:
        self.losses: list[float] = []
        self.hps: dict[str, list[list[float]]] = {}
        self.lrs: list[float] = []
        self.metrics: list[dict[str, Any]] = []
        self._logged: dict[str, AvgStat] = {}

    def before_fit(self) -> None:
        self.losses, self.hps, self.lrs, self.metrics = [], {}, [], []

    def before_epoch(self) -> None:
        self._start = time.perf_counter()
        self._train_loss, self._valid_loss, self._valid_acc = AvgStat(), AvgStat(), AvgStat()
        self._logged = {}

    def after_batch(self) -> None:
        learn = self.learn
        if learn.loss is None:
            return
        loss = float(np.asarray(learn.loss.data if isinstance(learn.loss, Tensor)
                                else learn.loss))
        n = batch_size(learn.xb, learn.yb)
        if learn.training:
            self.losses.append(loss)
            self._train_loss.add(loss, n)
            groups = [_hyperparameters(g) for g in learn.opt.param_groups]
            for name in groups[-1]:
                self.hps.setdefault(name, []).append([g.get(name, math.nan) for g in groups])
            self.lrs.append(learn.opt.param_groups[-1]["lr"])
        else:
            self._valid_loss.add(loss, n)
            self._valid_acc.add(batch_accuracy(learn.pred, learn.yb), n)

    def log(self, name: str, value: Any, n: int = 1) -> None:
        """Add ``value`` (weight ``n``) to this epoch's mean of ``name``."""
        if isinstance(value, Tensor):
            value = value.item()
        self._logged.setdefault(name, AvgStat()).add(float(value), n)

    def after_epoch(self) -> None:
        record = {
            "epoch": self.learn.epoch,
            "train_loss": self._train_loss.value,
            "valid_loss": self._valid_loss.value,
            "valid_accuracy": self._valid_acc.value,
            "lr": self.learn.opt.param_groups[-1]["lr"],
            "seconds": time.perf_counter() - self._start,
        }
        record.update({k: v.value for k, v in self._logged.items()})
        self.metrics.append(record)

    def plot_loss(self, path: str | Path | None = None) -> Any:
        """Training loss per batch (raw and smoothed) and train/valid loss per epoch
        (:func:`tinygrad_sm.plot.plot_loss`); returns the matplotlib Figure."""
        from tinygrad_sm import plot

        return plot.plot_loss(recorder=self, path=path)

    def plot_sched(self, path: str | Path | None = None) -> Any:
        """The lr and the momentum (or Adam's beta1) per batch, of the last param group
        (:func:`tinygrad_sm.plot.plot_schedule`); returns the Figure."""
        from tinygrad_sm import plot

        return plot.plot_schedule(recorder=self, path=path)


# -- schedules ---------------------------------------------------------------------------


def set_hyperparameter(group: dict[str, Any], name: str, value: float) -> None:
    """Set ``name`` in a param group. ``momentum`` on an Adam group sets ``betas[0]``."""
    if name == "momentum" and name not in group and "betas" in group:
        group["betas"] = (value, *tuple(group["betas"])[1:])
    elif name in group:
        group[name] = value
    else:
        keys = sorted(k for k in group if k != "params")
        raise KeyError(f"ParamScheduler: the optimizer has no hyperparameter {name!r} "
                       f"(its param groups have {keys})")


class ParamScheduler(Callback):
    """Set hyperparameters from schedules before every training batch.

    ``scheds`` maps a hyperparameter name to a schedule ``f(pct_train)`` applied to every
    param group, or to a list of schedules, one per group.
    """

    order = 10

    def __init__(self, scheds: Mapping[str, Callable[[float], float]
                                       | Sequence[Callable[[float], float]]]) -> None:
        self.scheds = dict(scheds)

    def before_fit(self) -> None:
        n_groups = len(self.learn.opt.param_groups)
        for name, s in self.scheds.items():
            if not callable(s) and len(s) != n_groups:
                raise ValueError(f"ParamScheduler: {len(s)} schedules for {name!r} but the "
                                 f"optimizer has {n_groups} param groups")

    def before_batch(self) -> None:
        if not self.learn.training:
            return
        pos = self.learn.pct_train
        for name, s in self.scheds.items():
            scheds = [s] * len(self.learn.opt.param_groups) if callable(s) else s
            for group, f in zip(self.learn.opt.param_groups, scheds):
                set_hyperparameter(group, name, f(pos))

    def __repr__(self) -> str:
        return f"ParamScheduler({self.scheds!r})"


# -- progress ----------------------------------------------------------------------------


def _format(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if key == "epoch":
        return str(value)
    if key == "lr":
        return f"{value:.3g}"
    if key == "seconds":
        return f"{value:.2f}"
    if isinstance(value, float):  # a diverging loss switches to exponent notation
        return f"{value:.4f}" if abs(value) < 1e5 else f"{value:.4g}"
    return str(value)


class ProgressCallback(Callback):
    """Progress bars (tqdm, on stderr) for epochs and batches, and a table of metrics
    with one row per epoch (on stdout).

    ``quiet=True`` prints nothing. The bars are shown only when stderr is a terminal and
    tqdm is installed (``bars=True``/``False`` forces them); the table is printed either
    way, so a log file gets it too.
    """

    order = 70

    def __init__(self, quiet: bool = False, bars: bool | None = None,
                 file: TextIO | None = None) -> None:
        self.quiet, self.bars, self.file = quiet, bars, file
        self._epoch_bar: Any = None
        self._batch_bar: Any = None

    def _print(self, line: str) -> None:
        out = self.file or sys.stdout
        if self._epoch_bar is not None:
            from tqdm import tqdm

            tqdm.write(line, file=out)
        else:
            print(line, file=out, flush=True)

    def before_fit(self) -> None:
        self._header_done = False
        # The lr finder's sweep is not a run worth a table.
        self._table = not self.quiet and not any(isinstance(cb, LRFinder)
                                                 for cb in self.learn.cbs)
        show = self.bars
        if show is None:
            show = not self.quiet and sys.stderr.isatty()
        self._tqdm = None
        if show and not self.quiet:
            try:
                from tqdm import tqdm
            except ImportError:
                tqdm = None
            self._tqdm = tqdm
        if self._tqdm is not None:
            start = self.learn.start_epoch
            self._epoch_bar = self._tqdm(total=self.learn.n_epoch, initial=start,
                                         desc="epochs", file=sys.stderr, dynamic_ncols=True)

    def _start_batches(self, desc: str) -> None:
        if self._tqdm is not None:
            self._batch_bar = self._tqdm(total=len(self.learn.dl), desc=desc, leave=False,
                                         file=sys.stderr, dynamic_ncols=True)

    def before_train(self) -> None:
        self._start_batches("train")

    def before_validate(self) -> None:
        self._start_batches("valid")

    def after_batch(self) -> None:
        if self._batch_bar is not None:
            self._batch_bar.update(1)
            if self.learn.loss is not None and self.learn.training:
                self._batch_bar.set_postfix(loss=f"{float(self.learn.loss.data):.4f}",
                                            refresh=False)

    def _end_batches(self) -> None:
        if self._batch_bar is not None:
            self._batch_bar.close()
            self._batch_bar = None

    def after_train(self) -> None:
        self._end_batches()

    def after_validate(self) -> None:
        self._end_batches()

    def after_epoch(self) -> None:
        if self._epoch_bar is not None:
            self._epoch_bar.update(1)
        if not self._table or not self.learn.recorder.metrics:
            return
        record = self.learn.recorder.metrics[-1]
        widths = {k: max(len(k), 10) for k in record}
        if not self._header_done:
            self._print("  ".join(f"{k:>{widths[k]}}" for k in record))
            self._header_done = True
        self._print("  ".join(f"{_format(k, v):>{widths[k]}}" for k, v in record.items()))

    def after_fit(self) -> None:
        self._end_batches()
        if self._epoch_bar is not None:
            self._epoch_bar.close()
            self._epoch_bar = None


# -- tracking the best epoch -------------------------------------------------------------


def _is_better(mode: str, value: float, best: float | None, min_delta: float) -> bool:
    if best is None:
        return True
    return value < best - min_delta if mode == "min" else value > best + min_delta


def _resolve_mode(mode: str, monitor: str, who: str) -> str:
    if mode == "auto":
        return "max" if "acc" in monitor else "min"
    if mode not in ("min", "max"):
        raise ValueError(f"{who}: mode must be 'auto', 'min' or 'max', got {mode!r}")
    return mode


def _monitored(learn: Any, monitor: str, who: str) -> float:
    record = learn.recorder.metrics[-1]
    value = record.get(monitor)
    if value is None:
        available = [k for k, v in record.items() if v is not None]
        raise ValueError(f"{who}: no value for monitor={monitor!r} this epoch "
                         f"(available: {available})")
    return float(value)


def _best_state_dict(cb: Any) -> dict[str, Any]:
    return {"monitor": cb.monitor, "mode": cb.mode, "best": cb.best,
            "best_epoch": cb.best_epoch}


def _check_best_state(cb: Any, state: Any) -> dict[str, Any]:
    """The ``best`` and ``best_epoch`` of a saved state, checked against ``cb``'s monitor."""
    if not isinstance(state, Mapping):
        raise ValueError(f"expected a dict, got {type(state).__name__}")
    if (state.get("monitor"), state.get("mode")) != (cb.monitor, cb.mode):
        raise ValueError(f"saved for monitor {state.get('monitor')!r} ({state.get('mode')}), "
                         f"but this {type(cb).__name__} monitors {cb.monitor!r} ({cb.mode})")
    best, epoch = state.get("best"), state.get("best_epoch")
    if (best is None) != (epoch is None) or (
            best is not None and (not isinstance(best, float | int) or math.isnan(best)
                                  or not _is_count(epoch))):
        raise ValueError(f"best {best!r} at epoch {epoch!r} is not a score and an epoch")
    return {"best": None if best is None else float(best),
            "best_epoch": None if epoch is None else int(epoch)}


def _is_count(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool) and value >= 0


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience``
    epochs; with ``restore_best`` the model gets back the weights of its best epoch.

    ``mode='auto'`` maximizes a monitor whose name contains "acc" and minimizes others.
    It decides at the end of an epoch, after the Recorder and before ``Checkpoint`` (so
    that a checkpoint holds the decision), and stops training at the start of the next
    epoch: the last epoch is recorded, printed and checkpointed in full.

    Its best score, best epoch, patience count and (with ``restore_best``) best weights are
    saved with the learner (``Learner.save``) and restored by ``Learner.load``, so that a
    resumed run stops where an uninterrupted one would. A fit from epoch 0 starts afresh;
    a resumed one (``start_epoch > 0``) keeps them.
    """

    order = 75

    def __init__(self, monitor: str = "valid_loss", min_delta: float = 0.0, patience: int = 3,
                 restore_best: bool = True, mode: str = "auto") -> None:
        self.monitor, self.min_delta, self.patience = monitor, abs(min_delta), patience
        self.restore_best = restore_best
        self.mode = _resolve_mode(mode, monitor, "EarlyStopping")
        self._reset()

    def _reset(self) -> None:
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.wait = 0
        self.stopped_epoch: int | None = None
        self._best_state: dict[str, np.ndarray] | None = None

    def before_fit(self) -> None:
        if self.learn.start_epoch == 0:
            self._reset()

    def before_epoch(self) -> None:
        if self.stopped_epoch is not None:
            raise CancelFitException

    def after_epoch(self) -> None:
        value = _monitored(self.learn, self.monitor, "EarlyStopping")
        if _is_better(self.mode, value, self.best, self.min_delta):
            self.best, self.best_epoch, self.wait = value, self.learn.epoch, 0
            if self.restore_best:
                self._best_state = _model_state(self.learn.model)
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = self.learn.epoch

    def after_fit(self) -> None:
        if self.restore_best and self._best_state is not None:
            self.learn.model.load_state_dict(self._best_state)

    def state_dict(self) -> dict[str, Any]:
        return {**_best_state_dict(self), "wait": self.wait,
                "stopped_epoch": self.stopped_epoch, "best_state": self._best_state}

    def check_state(self, state: Any) -> dict[str, Any]:
        attrs = _check_best_state(self, state)
        wait, stopped, weights = state.get("wait"), state.get("stopped_epoch"), \
            state.get("best_state")
        if not _is_count(wait):
            raise ValueError(f"wait must be an int >= 0, got {wait!r}")
        if stopped is not None and not _is_count(stopped):
            raise ValueError(f"stopped_epoch must be None or an int >= 0, got {stopped!r}")
        if weights is not None:
            check_model_state(self.learn.model, weights, "best_state")
            weights = {k: np.array(v, copy=True) for k, v in weights.items()}
        return {**attrs, "wait": int(wait), "_best_state": weights,
                "stopped_epoch": None if stopped is None else int(stopped)}


class Checkpoint(Callback):
    """Save the learner (``learn.save``) to ``dirname/last.npz`` after every epoch and to
    ``dirname/best.npz`` whenever ``monitor`` improves. Writes are atomic, so a crash
    (or a nan loss) never leaves a half-written checkpoint.

    The best score is saved with the learner and restored by ``Learner.load``, so that a
    resumed run replaces ``best.npz`` only with a better model. It runs after the
    callbacks of lower order (``EarlyStopping``), so the files hold their decisions."""

    order = 80

    def __init__(self, dirname: str | Path = "checkpoints", monitor: str = "valid_loss",
                 mode: str = "auto", save_last: bool = True, save_best: bool = True) -> None:
        self.dirname, self.monitor = Path(dirname), monitor
        self.mode = _resolve_mode(mode, monitor, "Checkpoint")
        self.save_last, self.save_best = save_last, save_best
        self.best: float | None = None
        self.best_epoch: int | None = None

    @property
    def last_path(self) -> Path:
        return self.dirname / "last.npz"

    @property
    def best_path(self) -> Path:
        return self.dirname / "best.npz"

    def before_fit(self) -> None:
        self.dirname.mkdir(parents=True, exist_ok=True)

    def after_epoch(self) -> None:
        # Decide first, so that last.npz holds this epoch's best score too.
        improved = False
        if self.save_best:
            value = _monitored(self.learn, self.monitor, "Checkpoint")
            if _is_better(self.mode, value, self.best, 0.0):
                self.best, self.best_epoch, improved = value, self.learn.epoch, True
        if self.save_last:
            self.learn.save(self.last_path)
        if improved:
            self.learn.save(self.best_path)

    def state_dict(self) -> dict[str, Any]:
        return _best_state_dict(self)

    def check_state(self, state: Any) -> dict[str, Any]:
        return _check_best_state(self, state)


# -- gradients and activations -----------------------------------------------------------


class GradientClipping(Callback):
    """Rescale all gradients together so that their global norm is at most ``max_norm``
    (``torch.nn.utils.clip_grad_norm_``): ``g <- g * max_norm / (norm + 1e-6)`` when
    ``norm = ||(g_1, ..., g_n)||_p > max_norm``. ``last_norm`` is the norm before clipping."""

    order = 20

    def __init__(self, max_norm: float, norm_type: float = 2.0) -> None:
        if not max_norm > 0:
            raise ValueError(f"GradientClipping: max_norm must be > 0, got {max_norm!r}")
        self.max_norm, self.norm_type = float(max_norm), float(norm_type)
        self.last_norm: float | None = None

    def after_backward(self) -> None:
        grads = [p.grad for g in self.learn.opt.param_groups for p in g["params"]
                 if p.grad is not None]
        if not grads:
            return
        if math.isinf(self.norm_type):
            norm = max(float(np.abs(g.data).max()) for g in grads)
        else:
            total = sum(float((np.abs(g.data.astype(np.float64)) ** self.norm_type).sum())
                        for g in grads)
            norm = total ** (1.0 / self.norm_type)
        self.last_norm = norm
        if norm > self.max_norm:
            scale = self.max_norm / (norm + 1e-6)
            for g in grads:
                g.data *= g.data.dtype.type(scale)
                g._version += 1


class ActivationStats(Callback):
    """Mean and standard deviation of every leaf module's output, per training batch,
    recorded by forward hooks (a module without children: Linear, ReLU, ...).

    ``stats[name]`` is ``{"mean": [...], "std": [...]}``; ``plot()`` draws them. Healthy
    training keeps the means near 0 and the stds near 1 in every layer.
    """

    order = 30

    def __init__(self, modules: Sequence[Any] | None = None) -> None:
        self.modules = modules
        self.stats: dict[str, dict[str, list[float]]] = {}
        self._handles: list[Any] = []

    def _targets(self) -> list[tuple[str, Any]]:
        named = list(self.learn.model.named_modules())
        if self.modules is not None:
            wanted = {id(m) for m in self.modules}
            return [(n, m) for n, m in named if id(m) in wanted]
        return [(n or type(m).__name__, m) for n, m in named
                if next(iter(m.children()), None) is None]

    def before_fit(self) -> None:
        self.stats = {}
        for name, module in self._targets():
            label = f"{name} ({type(module).__name__})"
            self.stats[label] = {"mean": [], "std": []}
            self._handles.append(module.register_forward_hook(self._hook(label)))

    def _hook(self, label: str) -> Callable[..., None]:
        def hook(module: Any, inputs: Any, output: Any) -> None:
            if self.learn is None or not self.learn.training:
                return
            data = output.data if isinstance(output, Tensor) else np.asarray(output)
            self.stats[label]["mean"].append(float(data.mean()))
            self.stats[label]["std"].append(float(data.std()))

        return hook

    def after_fit(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []

    def plot(self, path: str | Path | None = None) -> Any:
        """Means and stds per layer against the batch number
        (:func:`tinygrad_sm.plot.plot_activation_stats`); returns the Figure."""
        from tinygrad_sm import plot

        return plot.plot_activation_stats({k: s["mean"] for k, s in self.stats.items()},
                                          {k: s["std"] for k, s in self.stats.items()},
                                          path=path)


# -- the learning-rate finder ------------------------------------------------------------


class LRFinder(Callback):
    """An exponential lr sweep (Leslie Smith's range test): batch i trains with
    ``lr_i = start_lr * (end_lr / start_lr) ** (i / (num_it - 1))``.

    Stops after ``num_it`` batches or, with ``stop_div``, when the smoothed loss exceeds
    4 times its minimum or is not finite. Validation is skipped. Afterwards the model,
    the optimizer and the RNG are restored. ``lrs`` and ``losses`` (smoothed, as an
    exponential moving average with bias correction, beta 0.98) hold the sweep.
    """

    order = 40

    def __init__(self, start_lr: float = 1e-7, end_lr: float = 10.0, num_it: int = 100,
                 stop_div: bool = True, beta: float = 0.98) -> None:
        if not 0 < start_lr < end_lr:
            raise ValueError(f"LRFinder: need 0 < start_lr < end_lr, got {start_lr}, {end_lr}")
        if num_it < 2:
            raise ValueError(f"LRFinder: num_it must be >= 2, got {num_it}")
        self.start_lr, self.end_lr, self.num_it = start_lr, end_lr, num_it
        self.stop_div, self.beta = stop_div, beta
        self.lrs: list[float] = []
        self.losses: list[float] = []
        self.raw_losses: list[float] = []

    def before_fit(self) -> None:
        self._saved = self.learn.state()
        self.lrs, self.losses, self.raw_losses = [], [], []
        self._avg, self._best = 0.0, math.inf

    def before_batch(self) -> None:
        if not self.learn.training:
            return
        i = self.learn.train_iter
        lr = self.start_lr * (self.end_lr / self.start_lr) ** (i / (self.num_it - 1))
        for group in self.learn.opt.param_groups:
            group["lr"] = lr

    def after_loss(self) -> None:
        # Divergence is the expected end of a sweep, not an error: stop before the
        # learner's nan check raises.
        if self.learn.training and not math.isfinite(float(np.sum(self.learn.loss.data))):
            raise CancelFitException

    def after_batch(self) -> None:
        if not self.learn.training or self.learn.loss is None:
            return
        loss = float(self.learn.loss.data)
        n = len(self.losses) + 1
        self._avg = self.beta * self._avg + (1 - self.beta) * loss
        smooth = self._avg / (1 - self.beta**n)
        self.lrs.append(self.learn.opt.param_groups[-1]["lr"])
        self.raw_losses.append(loss)
        self.losses.append(smooth)
        self._best = min(self._best, smooth)
        if self.stop_div and (smooth > 4 * self._best or not math.isfinite(smooth)):
            raise CancelFitException
        if self.learn.train_iter >= self.num_it:
            raise CancelFitException

    def before_validate(self) -> None:
        raise CancelValidException

    def after_fit(self) -> None:
        self.learn.load_state(self._saved)

    def suggestion(self) -> float:
        """The lr at the minimum of the smoothed loss, divided by 10
        (:func:`lr_suggestion`)."""
        if not self.losses:
            raise RuntimeError("LRFinder.suggestion: the sweep recorded no loss")
        return lr_suggestion(self.lrs, self.losses)

    def plot(self, path: str | Path | None = None) -> Any:
        """Loss against lr (log scale), raw and smoothed with this finder's ``beta``, the
        suggestion marked (:func:`tinygrad_sm.plot.plot_lr_find`); returns the Figure."""
        from tinygrad_sm import plot

        return plot.plot_lr_find(self.lrs, self.raw_losses, self.suggestion(), beta=self.beta,
                                 path=path)
