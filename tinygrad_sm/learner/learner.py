"""The training loop: a :class:`Learner` that runs epochs and batches and calls callbacks.

This is the Runner of fast.ai's "Deep Learning from the Foundations" course with today's
names. The loop itself is short; everything else (recording, schedules, progress bars,
early stopping, checkpoints) is a :class:`~tinygrad_sm.learner.callbacks.Callback` that
reacts to the events below and reads or changes the learner's state.

Events, in order::

    before_fit
      for each epoch:  before_epoch
        before_train
          for each batch: before_batch, after_pred, after_loss, after_backward, after_step,
                          after_batch
        after_train
        before_validate  (for each batch: before_batch, after_pred, after_loss, after_batch)
        after_validate
      after_epoch
    after_fit

Raising ``Cancel<X>Exception`` in a callback skips the rest of X and calls
``after_cancel_<x>`` and then ``after_<x>``: X is one of fit, epoch, train, validate
(``CancelValidException``) and batch. ``after_batch`` and ``after_fit`` run even when an
error is raised (which then propagates).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from tinygrad_sm import functional as F
from tinygrad_sm import optim, serialization
from tinygrad_sm.core.grad_mode import no_grad
from tinygrad_sm.core.rng import get_rng_state, set_rng_state
from tinygrad_sm.core.tensor import Tensor
from tinygrad_sm.learner.callbacks import (
    AvgStat,
    LRFinder,
    ProgressCallback,
    Recorder,
    batch_accuracy,
    batch_size,
)
from tinygrad_sm.learner.control import (
    CancelBatchException,
    CancelEpochException,
    CancelFitException,
    CancelTrainException,
    CancelValidException,
    LossNotFiniteError,
    _model_state,
    check_model_state,
)

__all__ = [
    "EVENTS",
    "Learner",
    "CancelFitException",
    "CancelEpochException",
    "CancelTrainException",
    "CancelValidException",
    "CancelBatchException",
    "LossNotFiniteError",
]


EVENTS = (
    "before_fit", "before_epoch", "before_train", "before_batch", "after_pred", "after_loss",
    "after_backward", "after_step", "after_batch", "after_train", "before_validate",
    "after_validate", "after_epoch", "after_fit", "after_cancel_batch", "after_cancel_train",
    "after_cancel_validate", "after_cancel_epoch", "after_cancel_fit",
)
"""Every event a callback can handle (the loop's order, then the cancellation events)."""


class Learner:
    """Train ``model`` on ``train_dl``, validating on ``valid_dl`` after each epoch.

    ``opt_func(params, lr=lr)`` makes the optimizer at the first :meth:`fit` (or at
    :meth:`load`); ``loss_func(pred, target)`` returns the mean loss of a batch.

    State that callbacks read (``self.<name>`` in a callback reads ``learn.<name>``):
    ``model``, ``opt``, ``batch``, ``xb``, ``yb``, ``pred``, ``loss``, ``epoch``, ``n_epoch``,
    ``iter`` (batch index in the current loop), ``n_iter`` (batches in it), ``train_iter``
    (training batches done: ``epoch * len(train_dl)`` + those of this epoch), ``pct_train``
    (fraction of training done, a float in [0, 1]: ``train_iter / (n_epoch *
    len(train_dl))``, read by schedules before each batch), ``training`` and ``dl``.

    A :class:`~tinygrad_sm.learner.callbacks.Recorder` and a
    :class:`~tinygrad_sm.learner.callbacks.ProgressCallback` are always there (a callback of
    the same class in ``cbs`` replaces the default one, e.g. ``ProgressCallback(quiet=True)``;
    one given to :meth:`fit` replaces it for that fit only). Each callback is also an
    attribute named after its class (``learn.recorder``, ``learn.progress``).
    """

    def __init__(
        self,
        model: Any,
        train_dl: Iterable[Any],
        valid_dl: Iterable[Any] | None = None,
        loss_func: Callable[[Any, Any], Tensor] = F.cross_entropy,
        opt_func: Callable[..., optim.Optimizer] = optim.SGD,
        lr: float = 0.1,
        cbs: Iterable[Any] = (),
    ) -> None:
        self.model, self.train_dl, self.valid_dl = model, train_dl, valid_dl
        self.loss_func, self.opt_func, self.lr = loss_func, opt_func, lr
        self.opt: optim.Optimizer | None = None
        self.cbs: list[Any] = []
        # A callback of exactly one of these classes replaces the learner's one, in the
        # constructor for good and in fit (added_cbs) for the duration of the call.
        self._default_cb_types: tuple[type, ...] = (Recorder, ProgressCallback)
        cbs = [cb() if isinstance(cb, type) else cb for cb in cbs]
        defaults = [cls() for cls in self._default_cb_types
                    if not any(type(cb) is cls for cb in cbs)]
        self.add_cbs(defaults + cbs)
        self.epoch, self.n_epoch, self.start_epoch, self.epochs_done = 0, 0, 0, 0
        self.iter, self.n_iter, self.train_iter, self.pct_train = 0, 0, 0, 0.0
        self.n_train_iter = 0
        self.training = False
        self.batch = self.xb = self.yb = self.pred = self.loss = None
        self.dl: Any = None

    # -- callbacks ---------------------------------------------------------------------

    def add_cb(self, cb: Any) -> Learner:
        if isinstance(cb, type):
            cb = cb()
        cb.learn = self
        setattr(self, cb.name, cb)
        self.cbs.append(cb)
        self.cbs.sort(key=lambda c: c.order)  # stable: equal orders keep insertion order
        return self

    def add_cbs(self, cbs: Iterable[Any]) -> Learner:
        for cb in cbs:
            self.add_cb(cb)
        return self

    def remove_cb(self, cb: Any) -> Learner:
        """Remove ``cb``; its attribute then names the last remaining callback of the same
        name, if any (else it is deleted)."""
        self.cbs.remove(cb)
        if getattr(self, cb.name, None) is cb:
            delattr(self, cb.name)
            same = [c for c in self.cbs if c.name == cb.name]
            if same:
                setattr(self, cb.name, same[-1])
        cb.learn = None
        return self

    @contextmanager
    def added_cbs(self, cbs: Iterable[Any]) -> Iterator[Learner]:
        """Add ``cbs`` for the duration of a ``with`` block.

        As in the constructor, a ``Recorder`` or a ``ProgressCallback`` among them (exactly
        that class) replaces the learner's callback of the same class inside the block; at
        its end the learner's callback is back in ``cbs``, at its place, and is the
        attribute again (``learn.progress``). Inside the block every callback's attribute
        names a callback that runs (``learn.recorder`` is the recorder that records).
        """
        cbs = [cb() if isinstance(cb, type) else cb for cb in cbs]
        replaced: list[tuple[int, Any]] = []
        added = []
        for cb in cbs:
            i = None
            if type(cb) in self._default_cb_types:
                i = next((i for i, c in enumerate(self.cbs)
                          if type(c) is type(cb) and not any(c is x for x in cbs)), None)
            if i is None:
                added.append(cb)
                continue
            old = self.cbs[i]  # the new one takes its place, in calling order too
            replaced.append((i, old))
            old.learn = None
            self.cbs[i] = cb
            cb.learn = self
            setattr(self, cb.name, cb)
        replaced.sort(key=lambda r: r[0])
        self.add_cbs(added)
        for cb in self.cbs:  # an attribute left on a callback of an earlier fit (recorder)
            current = getattr(self, cb.name, None)
            if not any(c is current for c in self.cbs):
                setattr(self, cb.name, cb)
        try:
            yield self
        finally:
            for cb in cbs:
                if any(c is cb for c in self.cbs):
                    self.remove_cb(cb)
            for i, old in replaced:  # in increasing i: back at their former places
                old.learn = self
                self.cbs.insert(min(i, len(self.cbs)), old)
                setattr(self, old.name, old)
            self.cbs.sort(key=lambda c: c.order)  # stable; a no-op unless cbs changed inside

    def __call__(self, event: str) -> None:
        """Call ``event`` on every callback that defines it, in ``order``."""
        for cb in list(self.cbs):
            method = getattr(type(cb), event, None)
            if method is not None:
                method(cb)

    # -- the loop ----------------------------------------------------------------------

    def create_opt(self) -> optim.Optimizer:
        self.opt = self.opt_func(self.model.parameters(), lr=self.lr)
        return self.opt

    def fit(self, n_epochs: int, cbs: Iterable[Any] = (), *, lr: float | None = None,
            reset_opt: bool = False, start_epoch: int = 0) -> None:
        """Train for epochs ``start_epoch`` .. ``n_epochs - 1``.

        ``cbs`` are added for this call only (:meth:`added_cbs`): a ``Recorder`` or a
        ``ProgressCallback`` among them replaces the learner's one of the same class during
        this fit, e.g. ``fit(1, cbs=[ProgressCallback(quiet=True)])`` prints nothing; after
        it the learner's callbacks are back and ``learn.progress`` is the learner's again.
        ``learn.recorder``, though, stays the recorder that recorded this fit (so that
        ``learn.recorder.plot_loss()`` shows it, as in fast.ai) until the next fit, during
        which it is the recorder that runs; the learner's own Recorder records later fits.

        ``lr`` sets every group's lr first; ``reset_opt`` makes a new optimizer. Schedules
        and ``pct_train`` span all ``n_epochs``, so ``load(path)`` then ``fit(n,
        start_epoch=learn.epochs_done)`` resumes an interrupted run where it stopped.
        """
        if isinstance(n_epochs, bool) or not isinstance(n_epochs, int) or n_epochs < 0:
            raise ValueError(f"Learner.fit: n_epochs must be an int >= 0, got {n_epochs!r}")
        if not 0 <= start_epoch <= n_epochs:
            raise ValueError(
                f"Learner.fit: start_epoch must be in [0, n_epochs={n_epochs}], got {start_epoch}"
            )
        if reset_opt or self.opt is None:
            self.create_opt()
        assert self.opt is not None
        if lr is not None:
            for group in self.opt.param_groups:
                group["lr"] = lr
        self.n_epoch, self.start_epoch = n_epochs, start_epoch
        self.n_train_iter = len(self.train_dl)  # type: ignore[arg-type]
        if self.n_train_iter == 0:
            raise ValueError("Learner.fit: the training DataLoader yields no batches")
        self.train_iter = start_epoch * self.n_train_iter
        self.pct_train = start_epoch / n_epochs if n_epochs else 0.0
        cbs = [cb() if isinstance(cb, type) else cb for cb in cbs]
        recorder = None
        try:
            with self.added_cbs(cbs):
                recorder = getattr(self, "recorder", None)
                try:
                    try:
                        self("before_fit")
                        for epoch in range(start_epoch, n_epochs):
                            self._one_epoch(epoch)
                    except CancelFitException:
                        self("after_cancel_fit")
                finally:
                    self("after_fit")
        finally:
            # added_cbs put the learner's Recorder back as learn.recorder: keep the one that
            # recorded this fit instead, when this fit's cbs brought it.
            if recorder is not None and any(cb is recorder for cb in cbs):
                self.recorder = recorder

    def _with_events(self, f: Callable[[], None], name: str, cancel: type[Exception]) -> None:
        try:
            self(f"before_{name}")
            f()
        except cancel:
            self(f"after_cancel_{name}")
        self(f"after_{name}")

    def _one_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        try:
            self("before_epoch")
            self._do_epoch()
        except CancelEpochException:
            self("after_cancel_epoch")
        # Counted before after_epoch, so that a checkpoint saved there resumes after it.
        self.epochs_done = epoch + 1
        self("after_epoch")

    def _do_epoch(self) -> None:
        self.training = True
        self.dl = self.train_dl
        self.model.train()
        # Set from the epoch (not carried over), so that a cancelled epoch does not shift
        # the schedules of the following ones.
        self.train_iter = self.epoch * self.n_train_iter
        self.pct_train = self.train_iter / (self.n_epoch * self.n_train_iter)
        self._with_events(self._all_batches, "train", CancelTrainException)
        if self.valid_dl is not None:
            self.training = False
            self.dl = self.valid_dl
            self.model.eval()
            with no_grad():
                self._with_events(self._all_batches, "validate", CancelValidException)

    def _all_batches(self) -> None:
        self.n_iter = len(self.dl)
        for i, batch in enumerate(self.dl):
            self.iter = i
            self._one_batch(batch)

    def _one_batch(self, batch: Any) -> None:
        self.batch = batch
        self.xb, self.yb = _split_batch(batch)
        self.pred = self.loss = None
        try:
            try:
                self("before_batch")
                self._do_one_batch()
            except CancelBatchException:
                self("after_cancel_batch")
        finally:
            if self.training:
                self.train_iter += 1
                self.pct_train = self.train_iter / (self.n_epoch * self.n_train_iter)
            self("after_batch")

    def _do_one_batch(self) -> None:
        self._forward_and_loss()
        self._check_loss()
        if not self.training or self.loss is None:
            return
        assert self.opt is not None
        self.opt.zero_grad()
        self.loss.backward()
        self("after_backward")
        self.opt.step()
        self("after_step")

    def _forward_and_loss(self) -> None:
        """``pred = model(xb)``, ``after_pred``, ``loss = loss_func(pred, yb)``, ``after_loss``."""
        xb = self.xb
        self.pred = self.model(*xb) if isinstance(xb, tuple) else self.model(xb)
        self("after_pred")
        if self.yb is not None:
            self.loss = self.loss_func(self.pred, self.yb)
        self("after_loss")

    def _check_loss(self) -> None:
        if self.loss is None:
            return
        value = float(np.asarray(self.loss.data if isinstance(self.loss, Tensor)
                                 else self.loss).sum())
        if not math.isfinite(value):
            phase = "training" if self.training else "validation"
            raise LossNotFiniteError(
                f"Learner.fit: the loss is {value} at epoch {self.epoch}, batch {self.iter} "
                f"({phase}; both counted from 0, of {self.n_epoch} epochs and {self.n_iter} "
                "batches); training stopped. The parameters are those of the previous step "
                "and files saved before (checkpoints) are intact. Try a lower learning rate "
                "or GradientClipping."
            )

    # -- evaluation ----------------------------------------------------------------------

    def validate(self, dl: Iterable[Any] | None = None) -> dict[str, float | None]:
        """Mean loss and accuracy over ``dl`` (default ``valid_dl``), weighted by batch
        size, without events or gradients. The model is left in eval mode."""
        dl = self.valid_dl if dl is None else dl
        if dl is None:
            raise ValueError("Learner.validate: no dl given and the learner has no valid_dl")
        loss, acc = AvgStat(), AvgStat()
        self.model.eval()
        with no_grad():
            for batch in dl:
                xb, yb = _split_batch(batch)
                pred = self.model(*xb) if isinstance(xb, tuple) else self.model(xb)
                n = batch_size(xb, yb)
                loss.add(float(self.loss_func(pred, yb).data), n)
                acc.add(batch_accuracy(pred, yb), n)
        return {"loss": loss.value, "accuracy": acc.value}

    # -- saving and resuming -------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Everything :meth:`save` writes, as a nested dict of arrays and numbers (copies).
        Makes the optimizer first if there is none yet."""
        if self.opt is None:
            self.create_opt()
        assert self.opt is not None
        state: dict[str, Any] = {
            "model": _model_state(self.model),
            "opt": self.opt.state_dict(),
            "epochs_done": self.epochs_done,
            "n_epoch": self.n_epoch,
            "train_iter": self.train_iter,
            "pct_train": self.pct_train,
            "rng": get_rng_state(),
        }
        # A DataLoader made with seed= shuffles from its own generator: keep its state too.
        gen = getattr(self.train_dl, "_rng", None)
        if isinstance(gen, np.random.Generator):
            state["train_dl_rng"] = json.dumps(gen.bit_generator.state)
        # The callbacks whose state drives a decision (best score, patience count).
        state["callbacks"] = {key: cb.state_dict() for key, cb in self._keyed_cbs()
                              if cb.state_dict()}
        return state

    def _keyed_cbs(self) -> list[tuple[str, Any]]:
        """``(key, callback)``: the callback's name, numbered from the second of a name on
        (``checkpoint``, ``checkpoint_1``)."""
        seen: dict[str, int] = {}
        keyed = []
        for cb in self.cbs:
            n = seen[cb.name] = seen.get(cb.name, -1) + 1
            keyed.append((cb.name if n == 0 else f"{cb.name}_{n}", cb))
        return keyed

    def load_state(self, state: Mapping[str, Any], source: str = "the state") -> Learner:
        """Restore a :meth:`state` (the inverse of :meth:`state`), all or nothing: every
        field is checked first, and a bad one raises a ValueError naming ``source`` (the
        file) and the field, with the learner unchanged.

        Callbacks of the learner with a saved state (``Checkpoint``'s best score,
        ``EarlyStopping``'s best score and patience count) get it back; give them to the
        constructor, not to ``fit``, so that they are there when the state is loaded."""
        checked = _CheckedState(self, state, source)
        if self.opt is None:
            self.opt = checked.opt  # the trial optimizer, already loaded
        else:
            self.opt.load_state_dict(state["opt"])
        self.model.load_state_dict(state["model"])
        self.epochs_done, self.n_epoch, self.train_iter = checked.counters
        self.pct_train = checked.pct_train
        set_rng_state(checked.rng)
        if checked.train_dl_rng is not None:
            self.train_dl._rng.bit_generator.state = checked.train_dl_rng
        for cb, attrs in checked.callbacks:
            cb.__dict__.update(attrs)
        return self

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the model, the optimizer's state, the epoch, the schedule's position and
        the RNG state to ``path`` (an ``.npz``; no pickle). The write is atomic: a crash
        leaves the previous file intact."""
        serialization.save(self.state(), path)
        return Path(path)

    def load(self, path: str | os.PathLike[str]) -> Learner:
        """Restore what :meth:`save` wrote, all or nothing (:meth:`load_state`). To resume
        training: ``learn.load(path); learn.fit(n_epochs, start_epoch=learn.epochs_done)``."""
        return self.load_state(serialization.load(path), source=os.fspath(path))

    # -- the learning-rate finder --------------------------------------------------------

    def lr_find(self, start_lr: float = 1e-7, end_lr: float = 10.0, num_it: int = 100,
                stop_div: bool = True) -> float:
        """Sweep the lr exponentially from ``start_lr`` to ``end_lr`` over ``num_it``
        training batches, stopping early when the loss diverges, then restore the model,
        the optimizer and the RNG. Returns the suggested lr; ``learn.lr_finder`` keeps the
        sweep (``.lrs``, ``.losses``, and ``.plot()`` for the loss-against-lr curve)."""
        finder = LRFinder(start_lr, end_lr, num_it, stop_div)
        n_epochs = math.ceil(num_it / len(self.train_dl))  # type: ignore[arg-type]
        epochs_done = self.epochs_done
        self.fit(n_epochs, cbs=[finder])
        self.epochs_done = epochs_done
        self.lr_finder = finder
        return finder.suggestion()

    def __repr__(self) -> str:
        names = ", ".join(type(cb).__name__ for cb in self.cbs)
        opt = getattr(self.opt_func, "func", self.opt_func)  # a functools.partial's function
        return (f"Learner({type(self.model).__name__}, opt_func={getattr(opt, '__name__', opt)}, "
                f"lr={self.lr}, cbs=[{names}])")


class _CheckedState:
    """Every field of a saved learner state, checked and converted before anything is
    changed; raises ValueError naming the source and the field."""

    REQUIRED = ("model", "opt", "epochs_done", "n_epoch", "train_iter", "pct_train", "rng")

    def __init__(self, learn: Learner, state: Any, source: str) -> None:
        self.where = f"Learner.load: {source}"
        if not isinstance(state, Mapping):
            raise ValueError(f"{self.where} holds a {type(state).__name__}, not a learner "
                             "state (a dict written by Learner.save)")
        missing = [k for k in self.REQUIRED if k not in state]
        if missing:
            raise ValueError(f"{self.where} has no {', '.join(map(repr, missing))} field "
                             f"(a file written by Learner.save has {', '.join(self.REQUIRED)})")
        check_model_state(learn.model, state["model"], f"{self.where}: field 'model'")
        self.counters = tuple(self._count(state, k)
                              for k in ("epochs_done", "n_epoch", "train_iter"))
        self.pct_train = self._fraction(state, "pct_train")
        self.rng = self._generator_state(state, "rng", _package_rng_type())
        gen = getattr(learn.train_dl, "_rng", None)
        self.train_dl_rng = None
        if "train_dl_rng" in state and isinstance(gen, np.random.Generator):
            self.train_dl_rng = json.loads(
                self._generator_state(state, "train_dl_rng", type(gen.bit_generator)))
        self.callbacks = self._callbacks(learn, state.get("callbacks", {}))
        # Last: a trial optimizer checks the optimizer's state without touching learn.opt.
        self.opt = learn.opt_func(learn.model.parameters(), lr=learn.lr)
        try:
            self.opt.load_state_dict(state["opt"])
        except (ValueError, TypeError, KeyError) as err:
            raise ValueError(f"{self.where}: field 'opt': {err}") from err

    def _count(self, state: Mapping[str, Any], key: str) -> int:
        value = np.asarray(state[key])
        if value.shape != () or value.dtype.kind not in "iu" or int(value) < 0:
            raise ValueError(f"{self.where}: field {key!r} must be an int >= 0, "
                             f"got {state[key]!r}")
        return int(value)

    def _fraction(self, state: Mapping[str, Any], key: str) -> float:
        value = np.asarray(state[key])
        if value.shape != () or value.dtype.kind not in "iuf" or not 0 <= float(value) <= 1:
            raise ValueError(f"{self.where}: field {key!r} must be a number in [0, 1], "
                             f"got {state[key]!r}")
        return float(value)

    def _generator_state(self, state: Mapping[str, Any], key: str, kind: type) -> str:
        """The JSON text of a bit generator's state, after a trial on a scratch one."""
        text = state[key]
        try:
            kind().state = json.loads(str(text))
        except (ValueError, TypeError, KeyError, RecursionError) as err:
            raise ValueError(f"{self.where}: field {key!r} is not the state of a "
                             f"{kind.__name__} generator ({type(err).__name__}: {err}); "
                             f"got {str(text)[:60]!r}") from None
        return str(text)

    def _callbacks(self, learn: Learner, saved: Any) -> list[tuple[Any, dict[str, Any]]]:
        if not isinstance(saved, Mapping):
            raise ValueError(f"{self.where}: field 'callbacks' must be a dict, "
                             f"got {type(saved).__name__}")
        checked = []
        for key, cb in learn._keyed_cbs():
            if key in saved:
                try:
                    checked.append((cb, cb.check_state(saved[key])))
                except (ValueError, TypeError, KeyError) as err:
                    raise ValueError(f"{self.where}: field 'callbacks/{key}': {err}") from None
        return checked


def _package_rng_type() -> type:
    """The bit generator type of the package generator (PCG64), as its state names it."""
    return getattr(np.random, json.loads(get_rng_state())["bit_generator"])


def _split_batch(batch: Any) -> tuple[Any, Any]:
    """``(x, y)`` -> ``x, y``; ``(x,)`` -> ``x, None``; ``(x1, ..., y)`` -> ``(x1, ...), y``."""
    if isinstance(batch, Tensor):
        return batch, None
    batch = tuple(batch)
    if len(batch) == 1:
        return batch[0], None
    if len(batch) == 2:
        return batch[0], batch[1]
    return batch[:-1], batch[-1]
