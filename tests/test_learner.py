"""The Learner: its exact event sequence (with every kind of cancellation), the state
callbacks see, the built-in callbacks, saving and resuming, and the nan-loss stop."""

import io
import math
import os
import stat
from functools import partial

import numpy as np
import pytest

import tinygrad_sm as tg
from tinygrad_sm import functional as F
from tinygrad_sm import nn, serialization
from tinygrad_sm.data import DataLoader, TensorDataset
from tinygrad_sm.learner import (
    EVENTS,
    ActivationStats,
    Callback,
    CancelBatchException,
    CancelEpochException,
    CancelFitException,
    CancelTrainException,
    CancelValidException,
    Checkpoint,
    EarlyStopping,
    GradientClipping,
    Learner,
    LossNotFiniteError,
    LRFinder,
    ParamScheduler,
    ProgressCallback,
    Recorder,
)
from tinygrad_sm.optim import SGD, Adam
from tinygrad_sm.sched import combine_scheds, one_cycle, sched_cos, sched_lin


def make_data(n=5, n_in=3, n_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_in)).astype(np.float32)
    y = rng.integers(0, n_classes, size=n).astype(np.int64)
    return X, y


def make_learner(n_train=5, bs=3, n_valid=4, valid_bs=4, cbs=(), model=None, **kw):
    X, y = make_data(n_train)
    Xv, yv = make_data(n_valid, seed=1)
    train_dl = DataLoader(TensorDataset(X, y), batch_size=bs)
    valid_dl = DataLoader(TensorDataset(Xv, yv), batch_size=valid_bs) if n_valid else None
    model = model or nn.Linear(3, 3)
    return Learner(model, train_dl, valid_dl, cbs=[ProgressCallback(quiet=True), *cbs], **kw)


class EventLog(Callback):
    """Records every event; ``raise_at`` maps (event, epoch, iter) to an exception to raise
    (iter None: any)."""

    def __init__(self, raise_at=None):
        self.log = []
        self.raise_at = raise_at or {}

    def _event(self, name):
        self.log.append(name)
        for (ev, epoch, it), exc in self.raise_at.items():
            if ev == name and self.learn.epoch == epoch and (it is None or self.learn.iter == it):
                raise exc


for _name in EVENTS:
    setattr(EventLog, _name, lambda self, _n=_name: self._event(_n))


TRAIN_BATCH = ["before_batch", "after_pred", "after_loss", "after_backward", "after_step",
               "after_batch"]
VALID_BATCH = ["before_batch", "after_pred", "after_loss", "after_batch"]
VALIDATE = ["before_validate", *VALID_BATCH, "after_validate"]


def epoch_events(train=TRAIN_BATCH * 2, validate=VALIDATE):
    return ["before_epoch", "before_train", *train, "after_train", *validate, "after_epoch"]


def run(raise_at=None, n_epochs=1, **kw):
    log = EventLog(raise_at)
    learn = make_learner(cbs=[log], **kw)
    learn.fit(n_epochs)
    return log.log, learn


# --- the event sequence --------------------------------------------------------------------


def test_event_sequence():
    log, _ = run(n_epochs=2)
    assert log == ["before_fit", *epoch_events(), *epoch_events(), "after_fit"]


def test_event_sequence_without_validation_set():
    log, learn = run(n_valid=0)
    assert log == ["before_fit", *epoch_events(validate=[]), "after_fit"]
    assert learn.recorder.metrics[0]["valid_loss"] is None


def test_cancel_batch_skips_the_step_only():
    log = EventLog({("after_backward", 0, 0): CancelBatchException()})
    learn = make_learner(cbs=[log])
    version = learn.model.weight._version
    learn.fit(1)
    log = log.log
    first = ["before_batch", "after_pred", "after_loss", "after_backward",
             "after_cancel_batch", "after_batch"]
    assert log == ["before_fit", *epoch_events(train=first + TRAIN_BATCH), "after_fit"]
    assert learn.model.weight._version - version == 1  # one step, not two


def test_cancel_train_goes_on_to_validation():
    log, _ = run({("before_batch", 0, 1): CancelTrainException()})
    train = [*TRAIN_BATCH, "before_batch", "after_batch", "after_cancel_train"]
    assert log == ["before_fit", "before_epoch", "before_train", *train, "after_train",
                   *VALIDATE, "after_epoch", "after_fit"]


def test_cancel_validate():
    log, _ = run({("before_validate", 0, None): CancelValidException()})
    assert log == ["before_fit", *epoch_events(validate=["before_validate",
                                                         "after_cancel_validate",
                                                         "after_validate"]), "after_fit"]


def test_cancel_epoch_skips_validation_and_continues_with_the_next_epoch():
    log, _ = run({("after_train", 0, None): CancelEpochException()}, n_epochs=2)
    first = ["before_epoch", "before_train", *TRAIN_BATCH * 2, "after_train",
             "after_cancel_epoch", "after_epoch"]
    assert log == ["before_fit", *first, *epoch_events(), "after_fit"]


def test_cancel_fit():
    log, learn = run({("after_step", 1, 0): CancelFitException()}, n_epochs=3)
    second = ["before_epoch", "before_train", *TRAIN_BATCH]
    assert log == ["before_fit", *epoch_events(), *second, "after_cancel_fit", "after_fit"]
    assert learn.epochs_done == 1


def test_error_still_runs_after_batch_and_after_fit():
    log = EventLog({("after_pred", 0, 1): ZeroDivisionError("boom")})
    learn = make_learner(cbs=[log])
    with pytest.raises(ZeroDivisionError, match="boom"):
        learn.fit(1)
    assert log.log == ["before_fit", "before_epoch", "before_train", *TRAIN_BATCH,
                       "before_batch", "after_pred", "after_batch", "after_fit"]


def test_fit_cbs_are_removed_afterwards_and_callbacks_are_attributes():
    log = EventLog()
    learn = make_learner()
    learn.fit(1, cbs=[log])
    assert log not in learn.cbs and not hasattr(learn, "event_log")
    assert learn.recorder in learn.cbs and isinstance(learn.recorder, Recorder)
    assert isinstance(learn.progress, ProgressCallback)
    assert LRFinder().name == "lr_finder" and ParamScheduler({}).name == "param_scheduler"


def test_default_callbacks_are_replaced_by_ones_of_the_same_class():
    rec = Recorder()
    learn = make_learner(cbs=[rec])
    assert learn.recorder is rec
    assert sum(isinstance(cb, Recorder) for cb in learn.cbs) == 1
    assert sum(isinstance(cb, ProgressCallback) for cb in learn.cbs) == 1


def linear_learner(cbs=()):
    """The report's setup: a Linear(4, 3) on random data, the default callbacks."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(32, 4)).astype(np.float32)
    y = rng.integers(0, 3, size=32).astype(np.int64)
    return Learner(nn.Linear(4, 3), DataLoader(TensorDataset(X, y), batch_size=8), cbs=cbs)


class SeeCallbacks(Callback):
    """Notes, at before_fit, what the learner's callbacks and attributes are."""

    order = 50  # Recorder's order: ties keep the order callbacks were added in

    def before_fit(self):
        self.seen = (list(self.learn.cbs), self.learn.recorder, self.learn.progress)


def test_fit_cbs_replace_the_defaults_of_the_same_class_for_that_fit_only(capsys):
    see = SeeCallbacks()
    learn = linear_learner(cbs=[see])
    default_rec, default_prog = learn.recorder, learn.progress
    before = list(learn.cbs)
    assert before == [default_rec, see, default_prog]
    rec, prog = Recorder(), ProgressCallback(quiet=True)
    learn.fit(1, cbs=[prog, rec])
    assert capsys.readouterr().out == ""  # the default (printing) progress did not run
    assert see.seen == ([rec, see, prog], rec, prog)
    # afterwards: the defaults are back, in place; learn.recorder is what recorded the fit
    assert learn.cbs == before and default_rec.learn is learn and default_prog.learn is learn
    assert learn.progress is default_prog
    assert learn.recorder is rec and len(rec.losses) == 4 and default_rec.losses == []
    # the next fit runs the defaults, and learn.recorder is the recorder that runs
    learn.fit(1)
    assert see.seen == (before, default_rec, default_prog)
    assert learn.recorder is default_rec and len(default_rec.losses) == 4
    out = capsys.readouterr().out.splitlines()
    assert out[1].split()[1] == f"{default_rec.metrics[0]['train_loss']:.4f}"
    assert len(rec.metrics) == 1  # the fit's recorder keeps what it recorded


def test_fit_cbs_replacing_a_default_are_undone_after_an_error():
    class Boom(Callback):
        def before_epoch(self):
            raise RuntimeError("boom")

    learn = linear_learner()
    before = list(learn.cbs)
    with pytest.raises(RuntimeError, match="boom"):
        learn.fit(1, cbs=[Boom(), ProgressCallback(quiet=True), Recorder])
    assert learn.cbs == before and learn.progress is before[1]
    assert isinstance(learn.recorder, Recorder)


def test_default_classes_given_as_classes_replace_the_defaults_too():
    learn = linear_learner(cbs=[Recorder, ProgressCallback])
    assert [type(cb) for cb in learn.cbs] == [Recorder, ProgressCallback]
    learn.fit(1, cbs=[ProgressCallback(quiet=True), Recorder])
    assert [type(cb) for cb in learn.cbs] == [Recorder, ProgressCallback]


def test_removing_a_fit_callback_gives_its_name_back_to_the_learners_one():
    stop = EarlyStopping(patience=5)
    learn = make_learner(cbs=[stop])
    learn.fit(1, cbs=[EarlyStopping(patience=1)])  # other classes are added, not replaced
    assert learn.early_stopping is stop and stop in learn.cbs


def test_callbacks_run_in_order():
    calls = []

    class A(Callback):
        order = 5

        def before_fit(self):
            calls.append("A")

    class B(Callback):
        order = -5

        def before_fit(self):
            calls.append("B")

    make_learner(cbs=[A(), B()]).fit(1)
    assert calls == ["B", "A"]


# --- state seen by callbacks ---------------------------------------------------------------


class StateLog(Callback):
    def __init__(self):
        self.rows = []

    def before_batch(self):
        # attribute reads go to the learner
        self.rows.append((self.epoch, self.iter, self.n_iter, self.training, self.pct_train,
                          self.model.training, tg.is_grad_enabled(), self.xb.shape[0]))


def test_state_during_fit():
    s = StateLog()
    learn = make_learner(cbs=[s])
    learn.fit(2)
    assert s.rows == [
        (0, 0, 2, True, 0.0, True, True, 3), (0, 1, 2, True, 0.25, True, True, 2),
        (0, 0, 1, False, 0.5, False, False, 4),
        (1, 0, 2, True, 0.5, True, True, 3), (1, 1, 2, True, 0.75, True, True, 2),
        (1, 0, 1, False, 1.0, False, False, 4),
    ]
    assert learn.pct_train == 1.0 and learn.train_iter == 4 and learn.epochs_done == 2


def test_a_cancelled_epoch_does_not_shift_the_schedule():
    s = StateLog()
    learn = make_learner(cbs=[EventLog({("before_batch", 0, 0): CancelEpochException()}), s])
    learn.fit(2)
    assert [row[:5] for row in s.rows] == [(1, 0, 2, True, 0.5), (1, 1, 2, True, 0.75),
                                           (1, 0, 1, False, 1.0)]


def test_repr_and_validate_without_a_validation_set():
    learn = make_learner(n_valid=0, opt_func=partial(SGD, momentum=0.9))
    assert repr(learn) == ("Learner(Linear, opt_func=SGD, lr=0.1, cbs=[Recorder, "
                           "ProgressCallback])")
    with pytest.raises(ValueError, match="no valid_dl"):
        learn.validate()


def test_callbacks_can_change_the_learners_state():
    class DoubleLoss(Callback):
        def after_loss(self):
            self.learn.loss = self.learn.loss * 0

    learn = make_learner(cbs=[DoubleLoss()])
    before = learn.model.weight.data.copy()
    learn.fit(1)
    np.testing.assert_array_equal(learn.model.weight.data, before)  # zero loss: no change


def test_fit_argument_errors():
    learn = make_learner()
    with pytest.raises(ValueError, match="n_epochs"):
        learn.fit(-1)
    with pytest.raises(ValueError, match="start_epoch"):
        learn.fit(2, start_epoch=3)


# --- Recorder and metrics ------------------------------------------------------------------


def test_metrics_are_weighted_by_batch_size():
    learn = make_learner(n_valid=5, valid_bs=2)  # validation batches of 2, 2 and 1
    learn.fit(1)
    Xv, yv = make_data(5, seed=1)
    with tg.no_grad():
        logits = learn.model(tg.tensor(Xv))
    record = learn.recorder.metrics[0]
    assert record["valid_loss"] == pytest.approx(F.cross_entropy(logits, tg.tensor(yv)).item(),
                                                 rel=1e-6)
    assert record["valid_accuracy"] == pytest.approx(
        float((logits.data.argmax(1) == yv).mean()))
    # train: batches of 3 and 2 examples
    l0, l1 = learn.recorder.losses
    assert record["train_loss"] == pytest.approx((3 * l0 + 2 * l1) / 5)
    assert list(record) == ["epoch", "train_loss", "valid_loss", "valid_accuracy", "lr",
                            "seconds"]
    assert learn.validate()["loss"] == pytest.approx(record["valid_loss"], rel=1e-6)


def test_recorder_hps_per_batch_and_group():
    w1, w2 = nn.Linear(3, 3), nn.Linear(3, 3)
    model = nn.Sequential(w1, w2)

    def opt_func(params, lr):
        return SGD([{"params": w1.parameters()}, {"params": w2.parameters(), "lr": lr * 2}],
                   lr=lr, momentum=0.9)

    learn = make_learner(model=model, opt_func=opt_func, lr=0.1)
    learn.fit(2)
    rec = learn.recorder
    assert len(rec.losses) == 4 and len(rec.metrics) == 2
    assert rec.hps["lr"] == [[0.1, 0.2]] * 4
    assert rec.hps["momentum"] == [[0.9, 0.9]] * 4
    assert rec.lrs == [0.2] * 4


# --- ParamScheduler ----------------------------------------------------------------------------


def test_param_scheduler_applies_schedules_before_each_training_batch():
    sched = combine_scheds([0.3, 0.7], [sched_cos(0.3, 0.6), sched_cos(0.6, 0.2)])
    mom = sched_lin(0.95, 0.85)
    learn = make_learner(cbs=[ParamScheduler({"lr": sched, "momentum": mom})],
                         opt_func=partial(SGD, momentum=0.9))
    learn.fit(3)  # 6 training batches
    positions = [i / 6 for i in range(6)]
    np.testing.assert_allclose(learn.recorder.lrs, [sched(p) for p in positions])
    np.testing.assert_allclose([m[0] for m in learn.recorder.hps["momentum"]],
                               [mom(p) for p in positions])


def test_param_scheduler_one_schedule_per_group_and_adam_momentum():
    w1, w2 = nn.Linear(3, 3), nn.Linear(3, 3)

    def opt_func(params, lr):
        return Adam([{"params": w1.parameters()}, {"params": w2.parameters()}], lr=lr)

    scheds = [sched_lin(0.1, 0.0), sched_lin(0.01, 0.0)]
    learn = make_learner(model=nn.Sequential(w1, w2), opt_func=opt_func,
                         cbs=[ParamScheduler({"lr": scheds, "momentum": sched_lin(0.9, 0.8)})])
    learn.fit(1)
    np.testing.assert_allclose(learn.recorder.hps["lr"], [[0.1, 0.01], [0.05, 0.005]])
    np.testing.assert_allclose(learn.recorder.hps["beta1"], [[0.9, 0.9], [0.85, 0.85]])
    assert learn.opt.param_groups[0]["betas"] == (pytest.approx(0.85), 0.999)


def test_param_scheduler_errors():
    learn = make_learner(cbs=[ParamScheduler({"gamma": sched_lin(1, 2)})])
    with pytest.raises(KeyError, match="no hyperparameter 'gamma'"):
        learn.fit(1)
    learn = make_learner(cbs=[ParamScheduler({"lr": [sched_lin(1, 2)] * 2})])
    with pytest.raises(ValueError, match="2 schedules for 'lr' but the optimizer has 1"):
        learn.fit(1)


# --- ProgressCallback ----------------------------------------------------------------------


def test_progress_table(capsys):
    X, y = make_data(5)
    learn = Learner(nn.Linear(3, 3), DataLoader(TensorDataset(X, y), batch_size=2),
                    DataLoader(TensorDataset(X, y), batch_size=5))
    learn.fit(2)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["epoch", "train_loss", "valid_loss", "valid_accuracy", "lr",
                                "seconds"]
    assert [ln.split()[0] for ln in lines[1:]] == ["0", "1"]
    assert lines[1].split()[1] == f"{learn.recorder.metrics[0]['train_loss']:.4f}"


def test_progress_quiet(capsys):
    make_learner(cbs=[ProgressCallback(quiet=True)]).fit(2)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_progress_bars_when_forced(capsys):
    pytest.importorskip("tqdm")
    out = io.StringIO()
    learn = make_learner()
    learn.fit(2, cbs=[ProgressCallback(bars=True, file=out)])
    assert "epochs" in capsys.readouterr().err
    assert "train_loss" in out.getvalue()


# --- EarlyStopping and Checkpoint ------------------------------------------------------------


class ScriptedValidLoss(Callback):
    """Replaces the recorded valid loss by scripted values and keeps each epoch's weights."""

    order = 60

    def __init__(self, values):
        self.values = values
        self.weights = []

    def after_epoch(self):
        self.learn.recorder.metrics[-1]["valid_loss"] = self.values[self.learn.epoch]
        self.weights.append(self.learn.model.weight.data.copy())


def test_early_stopping_stops_and_restores_the_best_weights(capsys):
    script = ScriptedValidLoss([1.0, 0.5, 0.6, 0.55, 0.4, 0.3])
    es = EarlyStopping(patience=2)
    X, y = make_data(5)
    learn = Learner(nn.Linear(3, 3), DataLoader(TensorDataset(X, y), batch_size=2),
                    DataLoader(TensorDataset(X, y), batch_size=5), cbs=[script, es])
    learn.fit(6)
    assert (es.best, es.best_epoch, es.stopped_epoch) == (0.5, 1, 3)
    assert len(learn.recorder.metrics) == 4
    np.testing.assert_array_equal(learn.model.weight.data, script.weights[1])
    # the last epoch is still printed before training stops
    assert capsys.readouterr().out.splitlines()[-1].split()[0] == "3"


def test_early_stopping_max_mode_and_min_delta():
    script = ScriptedValidLoss([0.5, 0.505, 0.509, 0.6])
    es = EarlyStopping(monitor="valid_loss", mode="max", min_delta=0.01, patience=2,
                       restore_best=False)
    learn = make_learner(cbs=[script, es])
    learn.fit(4)
    assert es.stopped_epoch == 2 and es.best_epoch == 0
    np.testing.assert_array_equal(learn.model.weight.data, script.weights[-1])
    assert EarlyStopping(monitor="valid_accuracy").mode == "max"


def test_early_stopping_unknown_monitor():
    learn = make_learner(cbs=[EarlyStopping(monitor="val_f1")])
    with pytest.raises(ValueError, match="monitor='val_f1'"):
        learn.fit(1)


def test_checkpoint_keeps_last_and_best(tmp_path):
    script = ScriptedValidLoss([1.0, 0.5, 0.7])
    ck = Checkpoint(tmp_path / "ck")
    learn = make_learner(cbs=[script, ck])
    learn.fit(3)
    assert ck.best_epoch == 1
    best = serialization.load(ck.best_path)
    last = serialization.load(ck.last_path)
    np.testing.assert_array_equal(best["model"]["weight"], script.weights[1])
    np.testing.assert_array_equal(last["model"]["weight"], script.weights[2])
    assert best["epochs_done"] == 2 and last["epochs_done"] == 3


def test_checkpoint_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        learn = make_learner(cbs=[Checkpoint(tmp_path / "ck")])
        learn.fit(1)
        learn.save(tmp_path / "learn.npz")
    finally:
        os.umask(old)
    for path in (tmp_path / "ck" / "last.npz", tmp_path / "ck" / "best.npz",
                 tmp_path / "learn.npz"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path


# --- saving and resuming ----------------------------------------------------------------------


def resume_setup(opt_func, cbs=()):
    tg.manual_seed(0)
    X, y = make_data(40, n_in=4, n_classes=3, seed=3)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3))
    train_dl = DataLoader(TensorDataset(X, y), batch_size=8, shuffle=True)
    valid_dl = DataLoader(TensorDataset(X[:10], y[:10]), batch_size=5)
    sched = ParamScheduler({"lr": one_cycle(0.2)})
    return Learner(model, train_dl, valid_dl, opt_func=opt_func, lr=0.2,
                   cbs=[ProgressCallback(quiet=True), sched, *cbs])


class Interrupt(Callback):
    order = 100

    def after_epoch(self):
        if self.learn.epoch == 1:
            raise CancelFitException


@pytest.mark.parametrize("opt_func", [partial(SGD, momentum=0.9), Adam],
                         ids=["sgd-momentum", "adam"])
def test_resuming_reaches_the_same_weights(tmp_path, opt_func):
    full = resume_setup(opt_func)
    full.fit(4)
    expected = {k: v.numpy().copy() for k, v in full.model.state_dict().items()}

    interrupted = resume_setup(opt_func, cbs=[Checkpoint(tmp_path), Interrupt()])
    interrupted.fit(4)
    assert interrupted.epochs_done == 2

    tg.manual_seed(123)  # a different RNG state and fresh weights: all must come from the file
    resumed = resume_setup(opt_func)
    tg.manual_seed(123)
    resumed.load(tmp_path / "last.npz")
    assert resumed.epochs_done == 2
    resumed.fit(4, start_epoch=resumed.epochs_done)
    for k, v in resumed.model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), expected[k], err_msg=k)
    assert resumed.recorder.metrics[-1]["epoch"] == 3


def test_saved_file_is_a_plain_npz_without_pickle(tmp_path):
    learn = make_learner(opt_func=partial(SGD, momentum=0.9))
    learn.fit(1)
    learn.save(tmp_path / "learn.npz")
    with np.load(tmp_path / "learn.npz", allow_pickle=False) as f:
        assert "model/weight" in f.files
    state = serialization.load(tmp_path / "learn.npz")
    assert set(state) >= {"model", "opt", "epochs_done", "train_iter", "pct_train", "rng"}
    assert state["opt"]["param_groups"][0]["momentum"] == 0.9


def test_seeded_loader_generator_is_saved_too(tmp_path):
    X, y = make_data(12)
    dl = DataLoader(TensorDataset(X, y), batch_size=4, shuffle=True, seed=5)
    learn = Learner(nn.Linear(3, 3), dl, cbs=[ProgressCallback(quiet=True)])
    learn.fit(1)
    learn.save(tmp_path / "s.npz")
    expected = [b[1].numpy().tolist() for b in dl]
    learn.load(tmp_path / "s.npz")
    assert [b[1].numpy().tolist() for b in dl] == expected


class InterruptAfter(Callback):
    """Kills the run (as a crash would) after ``epoch`` is checkpointed."""

    order = 100

    def __init__(self, epoch):
        self.at = epoch

    def after_epoch(self):
        if self.learn.epoch == self.at:
            raise KeyboardInterrupt


def scripted_run(tmp_path, start=None, interrupt=None):
    """A run whose valid loss is scripted (best at epoch 1, then three worse epochs: early
    stopping at epoch 4 with patience 3), checkpointed into ``tmp_path``."""
    script = ScriptedValidLoss([1.0, 0.5, 0.7, 0.8, 0.6, 0.4, 0.3, 0.2])
    es = EarlyStopping(patience=3)
    extra = [InterruptAfter(interrupt)] if interrupt is not None else []
    learn = resume_setup(partial(SGD, momentum=0.9), cbs=[script, Checkpoint(tmp_path), es,
                                                          *extra])
    learn.model.weight = learn.model[0].weight  # ScriptedValidLoss keeps model.weight
    if start is not None:
        learn.load(tmp_path / "last.npz")
        learn.fit(8, start_epoch=learn.epochs_done)
    else:
        learn.fit(8)
    return learn, es


def test_resumed_run_keeps_best_checkpoint_and_stops_at_the_same_epoch(tmp_path):
    full, full_es = scripted_run(tmp_path / "full")
    assert (full_es.best_epoch, full_es.stopped_epoch) == (1, 4)
    best_full = serialization.load(tmp_path / "full" / "best.npz")

    with pytest.raises(KeyboardInterrupt):
        scripted_run(tmp_path / "cut", interrupt=2)
    best_before = (tmp_path / "cut" / "best.npz").read_bytes()
    resumed, es = scripted_run(tmp_path / "cut", start=3)
    assert resumed.recorder.metrics[0]["epoch"] == 3  # it did resume
    # epoch 3 (0.8) is worse than epoch 1 (0.5): best.npz is not replaced
    assert (tmp_path / "cut" / "best.npz").read_bytes() == best_before
    best = serialization.load(tmp_path / "cut" / "best.npz")
    assert best["epochs_done"] == 2 == best_full["epochs_done"]
    for k, v in best_full["model"].items():
        np.testing.assert_array_equal(best["model"][k], v)
    assert (es.best, es.best_epoch, es.stopped_epoch) == (0.5, 1, 4)
    assert resumed.recorder.metrics[-1]["epoch"] == full.recorder.metrics[-1]["epoch"] == 4
    for k, v in full.model.state_dict().items():  # restore_best: epoch 1's weights
        np.testing.assert_array_equal(resumed.model.state_dict()[k].numpy(), v.numpy())


def test_callback_state_is_saved_with_the_learner(tmp_path):
    learn, es = scripted_run(tmp_path)
    state = serialization.load(tmp_path / "last.npz")["callbacks"]
    assert state["checkpoint"] == {"monitor": "valid_loss", "mode": "min", "best": 0.5,
                                   "best_epoch": 1}
    assert {k: state["early_stopping"][k] for k in ("best", "wait", "stopped_epoch")} == \
        {"best": 0.5, "wait": 3, "stopped_epoch": 4}
    assert set(state["early_stopping"]["best_state"]) == set(learn.model.state_dict())


def snapshot(learn):
    return ({k: v.numpy().copy() for k, v in learn.model.state_dict().items()},
            learn.epochs_done, learn.opt.param_groups[0]["lr"], tg.core.rng.get_rng_state(),
            learn.checkpoint.best)


def corrupt(state, field, value):
    *parents, last = field.split("/")
    for p in parents:
        state = state[int(p) if isinstance(state, list) else p]
    if value is KeyError:
        del state[last]
    else:
        state[last] = value


@pytest.mark.parametrize("field, value, message", [
    ("rng", '{"bit_generator": "PCG64", "state": 3}',
     r"field 'rng' is not the state of a PCG64 generator"),
    ("rng", "not json", r"field 'rng' is not the state of a PCG64 generator"),
    ("model", KeyError, r"has no 'model' field \(a file written by Learner.save has model, "
                        r"opt, epochs_done"),
    ("epochs_done", -5, r"field 'epochs_done' must be an int >= 0, got -5"),
    ("pct_train", 1.5, r"field 'pct_train' must be a number in \[0, 1\], got 1.5"),
    ("model/0.weight", np.zeros((2, 2), np.float32),
     r"field 'model'\['0.weight'\] is a float32 array of shape \(2, 2\); the model's is "
     r"\(16, 4\)"),
    ("opt/param_groups/0/lr", -1.0, r"field 'opt': SGD.load_state_dict: param group 0 of the "
                                    r"state: invalid lr -1.0"),
    ("callbacks/checkpoint/best", "high", r"field 'callbacks/checkpoint': best 'high'"),
    ("callbacks/checkpoint/monitor", "valid_accuracy",
     r"saved for monitor 'valid_accuracy' \(min\), but this Checkpoint monitors 'valid_loss'"),
])
def test_load_is_all_or_nothing(tmp_path, field, value, message):
    learn = resume_setup(partial(SGD, momentum=0.9), cbs=[Checkpoint(tmp_path)])
    learn.fit(2)
    learn.save(tmp_path / "good.npz")
    state = serialization.load(tmp_path / "good.npz")
    corrupt(state, field, value)
    serialization.save(state, tmp_path / "bad.npz")
    learn.fit(3, start_epoch=2)  # move on, so that loading good.npz would change everything
    before = snapshot(learn)
    with pytest.raises(ValueError, match=r"Learner.load: .*bad.npz.*" + message):
        learn.load(tmp_path / "bad.npz")
    after = snapshot(learn)
    for k, v in before[0].items():
        np.testing.assert_array_equal(after[0][k], v)
    assert after[1:] == before[1:]


# --- nan loss ------------------------------------------------------------------------------


def test_nan_loss_stops_with_a_clear_message_and_keeps_checkpoints(tmp_path):
    calls = {"n": 0}

    def loss_func(pred, y):
        calls["n"] += 1
        loss = F.cross_entropy(pred, y)
        return loss * float("nan") if calls["n"] == 5 else loss  # epoch 1, batch 1

    log = EventLog()
    learn = make_learner(loss_func=loss_func, cbs=[Checkpoint(tmp_path), log])
    version = learn.model.weight._version
    with pytest.raises(LossNotFiniteError, match=r"loss is nan at epoch 1, batch 1 \(training"):
        learn.fit(3)
    assert log.log[-2:] == ["after_batch", "after_fit"]
    saved = serialization.load(tmp_path / "last.npz")
    assert saved["epochs_done"] == 1
    # no step was taken with the nan loss: 2 steps in epoch 0, 1 in epoch 1
    assert learn.model.weight._version - version == 3
    assert np.isfinite(learn.model.weight.data).all()


def test_inf_loss_is_caught_too():
    learn = make_learner(loss_func=lambda p, y: F.cross_entropy(p, y) * float("inf"))
    with pytest.raises(LossNotFiniteError, match="loss is inf at epoch 0, batch 0"):
        learn.fit(1)


# --- GradientClipping and ActivationStats ------------------------------------------------------


def test_gradient_clipping_bounds_the_global_norm():
    norms = []

    class Norm(Callback):
        order = 25

        def after_backward(self):
            norms.append(math.sqrt(sum(float((p.grad.data.astype(np.float64) ** 2).sum())
                                       for p in self.model.parameters())))

    clip = GradientClipping(0.01)
    learn = make_learner(cbs=[clip, Norm()], lr=1.0)
    learn.fit(2)
    assert clip.last_norm > 0.01
    assert max(norms) <= 0.01 + 1e-6
    with pytest.raises(ValueError, match="max_norm"):
        GradientClipping(0)


def test_activation_stats_through_forward_hooks():
    model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 3))
    stats = ActivationStats()
    learn = make_learner(model=model, cbs=[stats])
    learn.fit(2)
    assert list(stats.stats) == ["0 (Linear)", "1 (ReLU)", "2 (Linear)"]
    for s in stats.stats.values():
        assert len(s["mean"]) == len(s["std"]) == 4  # training batches only
    assert all(m >= 0 for m in stats.stats["1 (ReLU)"]["mean"])
    assert all(not m._forward_hooks for m in model.modules())  # hooks removed after fit
    x = make_data(5)[0][:3]
    with tg.no_grad():
        out = model[0](tg.tensor(x))
    assert len(stats.stats["0 (Linear)"]["mean"]) == 4  # not recorded outside fit
    assert np.isfinite(out.data).all()


# --- the lr finder -------------------------------------------------------------------------------


def test_lr_find_sweeps_exponentially_and_restores_everything():
    tg.manual_seed(0)
    X, y = make_data(64, n_in=3, seed=4)
    model = nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Linear(16, 3))
    learn = Learner(model, DataLoader(TensorDataset(X, y), batch_size=8, shuffle=True),
                    opt_func=partial(SGD, momentum=0.9), cbs=[ProgressCallback(quiet=True)])
    learn.fit(1)
    weights = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    opt_state = learn.opt.state_dict()
    rng_state = tg.core.rng.get_rng_state()
    suggestion = learn.lr_find(start_lr=1e-5, end_lr=10, num_it=30, stop_div=False)
    finder = learn.lr_finder
    assert len(finder.lrs) == 30
    np.testing.assert_allclose(finder.lrs[0], 1e-5)
    np.testing.assert_allclose(finder.lrs[-1], 10)
    np.testing.assert_allclose(np.diff(np.log(finder.lrs)), np.log(1e6) / 29)
    assert 1e-6 <= suggestion <= 1.0
    assert suggestion == finder.lrs[int(np.argmin(finder.losses))] / 10
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), weights[k])
    after = learn.opt.state_dict()
    assert after["param_groups"] == opt_state["param_groups"]
    np.testing.assert_array_equal(after["state"][0]["momentum_buffer"],
                                  opt_state["state"][0]["momentum_buffer"])
    assert tg.core.rng.get_rng_state() == rng_state
    assert learn.epochs_done == 1


def test_lr_find_stops_when_the_loss_diverges(capsys):
    X, y = make_data(64, n_in=3, seed=4)
    learn = Learner(nn.Linear(3, 3), DataLoader(TensorDataset(X, y), batch_size=8))
    learn.lr_find(start_lr=1e-3, end_lr=1e6, num_it=100)
    assert 2 < len(learn.lr_finder.lrs) < 100
    assert capsys.readouterr().out == ""  # the sweep prints no metrics table


def test_plot_lr_find_marks_the_finders_suggestion_by_default():
    pytest.importorskip("matplotlib")
    from tinygrad_sm import plot

    X, _ = make_data(64, n_in=3, seed=4)
    y = (X @ np.random.default_rng(5).normal(size=(3, 3))).argmax(1)  # learnable labels
    learn = Learner(nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Linear(16, 3)),
                    DataLoader(TensorDataset(X, y), batch_size=8),
                    cbs=[ProgressCallback(quiet=True)])
    suggestion = learn.lr_find(num_it=60)
    assert suggestion > 1e-5  # the minimum is on the descent, not at the start
    finder = learn.lr_finder
    assert plot.suggest_lr(finder.lrs, finder.raw_losses, finder.beta) == pytest.approx(
        suggestion)
    for fig in (plot.plot_lr_find(finder.lrs, finder.raw_losses, beta=finder.beta),
                finder.plot()):
        (marker,) = [ln for ln in fig.axes[0].lines
                     if ln.get_label().startswith("suggested lr")]
        assert marker.get_xdata()[0] == pytest.approx(suggestion)


def test_lr_finder_checks_its_arguments():
    with pytest.raises(ValueError, match="start_lr < end_lr"):
        LRFinder(1.0, 0.1)
    with pytest.raises(ValueError, match="num_it"):
        LRFinder(num_it=1)


# --- plots -----------------------------------------------------------------------------------


def test_plots_write_pngs(tmp_path):
    pytest.importorskip("matplotlib")
    model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 3))
    stats = ActivationStats()
    learn = make_learner(model=model, cbs=[stats, ParamScheduler({"lr": one_cycle(0.1)})],
                         opt_func=partial(SGD, momentum=0.9))
    learn.fit(3)
    learn.recorder.plot_loss(path=tmp_path / "loss.png")
    learn.recorder.plot_sched(path=tmp_path / "sched.png")
    stats.plot(path=tmp_path / "act.png")
    learn.lr_find(num_it=10)
    learn.lr_finder.plot(path=tmp_path / "lr.png")
    for name in ("loss", "sched", "act", "lr"):
        assert (tmp_path / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
