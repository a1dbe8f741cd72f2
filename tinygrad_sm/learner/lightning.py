"""A PyTorch-Lightning-style front over the :class:`~tinygrad_sm.learner.Learner`.

Code written for Lightning runs with only its imports changed::

    class IrisClassifier(LightningModule):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(2, 3)
        def forward(self, x):
            return self.linear(x)
        def training_step(self, batch, batch_idx):
            x, y = batch
            loss = F.cross_entropy(self(x), y)
            self.log("train_loss", loss)
            return loss
        def validation_step(self, batch, batch_idx):
            x, y = batch
            self.log("val_acc", F.accuracy(self(x), y))
        def configure_optimizers(self):
            return optim.AdamW(self.parameters(), lr=0.05)

    trainer = Trainer(max_epochs=100)
    trainer.fit(IrisClassifier(), train_loader, val_loader)
    trainer.callback_metrics["val_acc"]

Deliberate simplifications (documented differences from Lightning): every value given
to ``self.log`` is averaged over the epoch, weighted by batch size (Lightning's
``on_epoch=True`` behaviour; its ``on_step``/``prog_bar``/``sync_dist`` options are
accepted and ignored); ``configure_optimizers`` returns one optimizer (alone, in a list or
in a dict under ``"optimizer"``), and schedules are given as a ``ParamScheduler`` callback
rather than an ``lr_scheduler``; one device, no loggers, no checkpoint files unless a
``Checkpoint`` callback is passed.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any

from tinygrad_sm.core.grad_mode import no_grad
from tinygrad_sm.core.tensor import Tensor
from tinygrad_sm.learner.callbacks import (
    AvgStat,
    Callback,
    GradientClipping,
    ProgressCallback,
    batch_size,
)
from tinygrad_sm.learner.learner import Learner, _split_batch
from tinygrad_sm.nn.module import Module
from tinygrad_sm.optim import Optimizer

__all__ = ["LightningModule", "Trainer"]


class LightningModule(Module):
    """An ``nn.Module`` that also says how to train itself: ``training_step``, optionally
    ``validation_step`` / ``test_step``, and ``configure_optimizers``; ``self.log`` records
    a metric. The ``on_*`` hooks (``on_fit_start``, ``on_train_epoch_end``, ...) are
    called by the :class:`Trainer` if overridden."""

    _trainer: Trainer | None = None

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define training_step(batch, "
                                  "batch_idx) returning the loss")

    def validation_step(self, batch: Any, batch_idx: int) -> Any:
        return None

    def test_step(self, batch: Any, batch_idx: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define test_step(batch, "
                                  "batch_idx) to be tested")

    def predict_step(self, batch: Any, batch_idx: int) -> Any:
        x, _ = _split_batch(batch)
        return self(*x) if isinstance(x, tuple) else self(x)

    def configure_optimizers(self) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define configure_optimizers() "
                                  "returning an optimizer")

    def log(self, name: str, value: Any, prog_bar: bool = False, logger: bool = True,
            on_step: bool | None = None, on_epoch: bool | None = None,
            batch_size: int | None = None, **kwargs: Any) -> None:
        """Record ``value`` under ``name``: averaged over the epoch (weighted by batch
        size), shown in the metrics table and in ``trainer.callback_metrics``. Outside a
        Trainer it does nothing."""
        if self._trainer is not None:
            self._trainer._log(name, value, batch_size)

    def log_dict(self, dictionary: dict[str, Any], **kwargs: Any) -> None:
        for name, value in dictionary.items():
            self.log(name, value, **kwargs)

    def save_hyperparameters(self) -> None:
        """Store the arguments of the calling ``__init__`` in ``self.hparams``."""
        frame = inspect.currentframe()
        caller = frame.f_back if frame is not None else None
        args = {} if caller is None else dict(caller.f_locals)
        object.__setattr__(self, "hparams", {
            k: v for k, v in args.items() if k not in ("self", "__class__")
            and not k.startswith("_")
        })

    @property
    def trainer(self) -> Trainer | None:
        return self._trainer

    @property
    def current_epoch(self) -> int:
        return self._trainer.current_epoch if self._trainer is not None else 0

    @property
    def global_step(self) -> int:
        return self._trainer.global_step if self._trainer is not None else 0

    # Hooks: overridden by subclasses that want them.
    def on_fit_start(self) -> None: ...
    def on_fit_end(self) -> None: ...
    def on_train_epoch_start(self) -> None: ...
    def on_train_epoch_end(self) -> None: ...
    def on_validation_epoch_start(self) -> None: ...
    def on_validation_epoch_end(self) -> None: ...


def _single_optimizer(config: Any) -> Optimizer:
    if isinstance(config, dict):
        if "lr_scheduler" in config:
            raise NotImplementedError(
                "configure_optimizers: lr_scheduler is not supported; pass "
                "Trainer(callbacks=[ParamScheduler({'lr': schedule})]) instead"
            )
        config = config.get("optimizer")
    if isinstance(config, list | tuple):
        if len(config) == 2 and isinstance(config[0], list | tuple):
            optimizers, schedulers = config
            if schedulers:
                raise NotImplementedError(
                    "configure_optimizers: lr schedulers are not supported; pass "
                    "Trainer(callbacks=[ParamScheduler({'lr': schedule})]) instead"
                )
            config = optimizers
        if len(config) != 1:
            raise NotImplementedError(
                f"configure_optimizers: exactly one optimizer is supported, got {len(config)}"
            )
        config = config[0]
    if not isinstance(config, Optimizer):
        raise TypeError(f"configure_optimizers must return an optimizer, got "
                        f"{type(config).__name__}")
    return config


def _step_loss(out: Any) -> Any:
    """The loss in what a step returned: the value itself, or ``out['loss']``."""
    if isinstance(out, dict):
        return out.get("loss")
    return out if isinstance(out, Tensor) else None


class _LightningLearner(Learner):
    """A Learner whose batches run the module's ``training_step`` / ``validation_step``."""

    def _forward_and_loss(self) -> None:
        step = self.model.training_step if self.training else self.model.validation_step
        out = step(self.batch, self.iter)
        self.pred = out
        self("after_pred")
        self.loss = _step_loss(out)
        self("after_loss")


class _LightningHooks(Callback):
    """Routes ``self.log`` into the Recorder and calls the module's ``on_*`` hooks."""

    order = 45

    def __init__(self, trainer: Trainer) -> None:
        self.trainer = trainer

    def before_fit(self) -> None:
        self.learn.model.on_fit_start()

    def before_train(self) -> None:
        self.trainer.current_epoch = self.learn.epoch
        self.learn.model.on_train_epoch_start()

    def after_train(self) -> None:
        self.learn.model.on_train_epoch_end()

    def before_validate(self) -> None:
        self.learn.model.on_validation_epoch_start()

    def after_validate(self) -> None:
        self.learn.model.on_validation_epoch_end()

    def after_step(self) -> None:
        self.trainer.global_step += 1

    def after_fit(self) -> None:
        self.learn.model.on_fit_end()


_IGNORED_OPTIONS = {
    "accelerator", "devices", "logger", "enable_checkpointing", "enable_model_summary",
    "deterministic", "log_every_n_steps", "num_sanity_val_steps", "precision", "strategy",
    "num_nodes", "default_root_dir", "benchmark",
}


class Trainer:
    """Trains a :class:`LightningModule`: ``Trainer(max_epochs=...).fit(model, train_dl,
    val_dl)``. ``callbacks`` are Learner callbacks (``EarlyStopping``, ``Checkpoint``,
    ``ParamScheduler``, ...). Lightning options that make no sense here (``accelerator``,
    ``devices``, ``logger``, ...) are accepted and ignored; others are a TypeError.

    After ``fit``: ``callback_metrics`` (the last epoch's logged values), ``history`` (one
    dict per epoch), ``learner`` (the Learner that ran), ``current_epoch``, ``global_step``.
    """

    def __init__(self, max_epochs: int | None = None, callbacks: Iterable[Any] | None = None,
                 enable_progress_bar: bool = True, gradient_clip_val: float | None = None,
                 **kwargs: Any) -> None:
        unknown = sorted(set(kwargs) - _IGNORED_OPTIONS)
        if unknown:
            raise TypeError(f"Trainer: unsupported option(s) {unknown}")
        # Lightning's default: 1000 epochs when neither max_epochs nor max_steps is set.
        self.max_epochs = 1000 if max_epochs is None else max_epochs
        self.callbacks = list(callbacks or [])
        self.enable_progress_bar = enable_progress_bar
        self.gradient_clip_val = gradient_clip_val
        self.current_epoch = 0
        self.global_step = 0
        self.callback_metrics: dict[str, float] = {}
        self.logged_metrics: dict[str, float] = {}
        self.history: list[dict[str, Any]] = []
        self.learner: Learner | None = None
        self._sink: Any = None

    def _log(self, name: str, value: Any, n: int | None) -> None:
        if self._sink is not None:
            self._sink(name, value.item() if isinstance(value, Tensor) else float(value), n)

    def fit(self, model: LightningModule, train_dataloaders: Iterable[Any],
            val_dataloaders: Iterable[Any] | None = None) -> None:
        if not isinstance(model, LightningModule):
            raise TypeError(f"Trainer.fit: model must be a LightningModule, got "
                            f"{type(model).__name__}")
        opt = _single_optimizer(model.configure_optimizers())
        has_val = type(model).validation_step is not LightningModule.validation_step
        cbs: list[Any] = [_LightningHooks(self),
                          ProgressCallback(quiet=not self.enable_progress_bar)]
        if self.gradient_clip_val:
            cbs.append(GradientClipping(self.gradient_clip_val))
        learn = _LightningLearner(model, train_dataloaders,
                                  val_dataloaders if has_val else None,
                                  loss_func=None, lr=opt.param_groups[0]["lr"],  # type: ignore[arg-type]
                                  cbs=cbs + self.callbacks)
        learn.opt = opt
        self.learner = learn
        names: set[str] = set()

        def sink(name: str, value: float, n: int | None) -> None:
            names.add(name)
            learn.recorder.log(name, value, n or batch_size(learn.xb, learn.yb))

        model._trainer, self._sink = self, sink
        try:
            learn.fit(self.max_epochs)
        finally:
            model._trainer, self._sink = None, None
            for cb in self.callbacks:  # the user's callbacks may be reused by another fit
                if cb in learn.cbs:
                    learn.remove_cb(cb)
            self.history = learn.recorder.metrics
            last = self.history[-1] if self.history else {}
            self.callback_metrics = {k: v for k, v in last.items() if k in names}
            self.logged_metrics = dict(self.callback_metrics)

    def _evaluate(self, model: LightningModule, dataloaders: Iterable[Any],
                  step_name: str) -> list[dict[str, float]]:
        stats: dict[str, AvgStat] = {}
        current: dict[str, Any] = {}

        def sink(name: str, value: float, n: int | None) -> None:
            xb, yb = current["batch"]
            stats.setdefault(name, AvgStat()).add(value, n or batch_size(xb, yb))

        step = getattr(model, step_name)
        model._trainer, self._sink = self, sink
        model.eval()
        try:
            with no_grad():
                for i, batch in enumerate(dataloaders):
                    current["batch"] = _split_batch(batch)
                    step(batch, i)
        finally:
            model._trainer, self._sink = None, None
        metrics = {k: v.value for k, v in stats.items() if v.value is not None}
        self.callback_metrics.update(metrics)
        return [metrics]

    def validate(self, model: LightningModule, dataloaders: Iterable[Any]
                 ) -> list[dict[str, float]]:
        """Run ``validation_step`` over ``dataloaders``; returns ``[{name: epoch mean}]``."""
        return self._evaluate(model, dataloaders, "validation_step")

    def test(self, model: LightningModule, dataloaders: Iterable[Any]) -> list[dict[str, float]]:
        """Run ``test_step`` over ``dataloaders``; returns ``[{name: mean}]``."""
        return self._evaluate(model, dataloaders, "test_step")

    def predict(self, model: LightningModule, dataloaders: Iterable[Any]) -> list[Any]:
        """``predict_step`` of every batch (by default ``model(x)``), in eval mode."""
        model.eval()
        with no_grad():
            return [model.predict_step(batch, i) for i, batch in enumerate(dataloaders)]
