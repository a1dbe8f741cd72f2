"""The Lightning-style front: Lightning code with only the imports changed trains iris."""

import math

import numpy as np
import pytest

import tinygrad_sm as tg
from tinygrad_sm import functional as F
from tinygrad_sm import nn, optim
from tinygrad_sm.data import DataLoader, Normalizer, TensorDataset, train_test_split
from tinygrad_sm.datasets import load_iris
from tinygrad_sm.learner import Callback, EarlyStopping, ParamScheduler
from tinygrad_sm.learner.lightning import LightningModule, Trainer
from tinygrad_sm.sched import sched_lin

# --- the iris example, as written for PyTorch Lightning ----------------------------------------


class IrisLinear(LightningModule):
    def __init__(self, lr=0.05):
        super().__init__()
        self.save_hyperparameters()
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
        logits = self(x)
        self.log("val_loss", F.cross_entropy(logits, y), prog_bar=True)
        self.log("val_acc", F.accuracy(logits, y), prog_bar=True)

    def test_step(self, batch, batch_idx):
        x, y = batch
        self.log("test_acc", (self(x).argmax(dim=1) == y).float().mean())

    def configure_optimizers(self):
        return optim.AdamW(self.parameters(), lr=self.hparams["lr"])


class IrisMLP(IrisLinear):
    def __init__(self, lr=0.05):
        super().__init__(lr)
        self.net = nn.Sequential(nn.Linear(2, 5), nn.ReLU(), nn.Linear(5, 3))
        del self.linear

    def forward(self, x):
        return self.net(x)


def iris_split(seed):
    """Standardized petal length and width (2 features), 80/20 stratified split."""
    X, y, _ = load_iris()
    X_tr, X_te, y_tr, y_te = train_test_split(X[:, 2:], y, test_size=0.2, seed=seed)
    norm = Normalizer.fit(X_tr)
    return norm(X_tr), norm(X_te), y_tr, y_te


def logistic_regression_accuracy(X_tr, X_te, y_tr, y_te, iters=3000, lr=0.5):
    """Multinomial logistic regression fitted to convergence with NumPy: the reference."""
    W, b, Y = np.zeros((X_tr.shape[1], 3)), np.zeros(3), np.eye(3)[y_tr]
    for _ in range(iters):
        z = X_tr @ W + b
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        g = (p - Y) / len(X_tr)
        W -= lr * X_tr.T @ g
        b -= lr * g.sum(0)
    return float(((X_te @ W + b).argmax(1) == y_te).mean())


def loaders(seed):
    X_tr, X_te, y_tr, y_te = iris_split(seed)
    train = DataLoader(TensorDataset(X_tr, y_tr), batch_size=16, shuffle=True)
    test = DataLoader(TensorDataset(X_te, y_te), batch_size=30)
    return train, test


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_linear_classifier_is_about_as_good_as_logistic_regression(seed):
    train, test = loaders(seed)
    model = IrisLinear()
    trainer = Trainer(max_epochs=60, enable_progress_bar=False)
    trainer.fit(model, train, test)
    reference = logistic_regression_accuracy(*iris_split(seed))
    acc = trainer.callback_metrics["val_acc"]
    assert acc >= reference - 1 / 30 - 1e-6  # at most one test flower worse (float32)
    assert acc >= 0.85
    assert trainer.test(model, test)[0]["test_acc"] == pytest.approx(acc)


def test_relu_network_2_5_3():
    train, test = loaders(seed=1)
    model = IrisMLP()
    trainer = Trainer(max_epochs=80, enable_progress_bar=False)
    trainer.fit(model, train, test)
    assert trainer.callback_metrics["val_acc"] >= 0.93
    assert trainer.callback_metrics["val_loss"] < 0.3


# --- the mechanics -----------------------------------------------------------------------------


def test_logged_metrics_history_and_counters(capsys):
    train, test = loaders(seed=0)
    model = IrisLinear()
    trainer = Trainer(max_epochs=3)
    trainer.fit(model, train, test)
    assert set(trainer.callback_metrics) == {"train_loss", "val_loss", "val_acc"}
    assert len(trainer.history) == 3
    assert [h["epoch"] for h in trainer.history] == [0, 1, 2]
    assert trainer.global_step == 3 * len(train)
    assert trainer.current_epoch == 2
    # the epoch mean of the logged train_loss is the Recorder's weighted mean
    rec = trainer.learner.recorder
    assert trainer.history[-1]["train_loss"] == pytest.approx(
        np.average(rec.losses[-len(train):], weights=[16] * 7 + [8]))
    header = capsys.readouterr().out.splitlines()[0].split()
    assert header[:2] == ["epoch", "train_loss"] and "val_acc" in header
    assert model.trainer is None  # detached after fit
    assert model.hparams == {"lr": 0.05}


def test_val_acc_is_weighted_by_batch_size():
    X_tr, X_te, y_tr, y_te = iris_split(0)
    train = DataLoader(TensorDataset(X_tr, y_tr), batch_size=16)
    val = DataLoader(TensorDataset(X_te, y_te), batch_size=7)  # 7, 7, 7, 7, 2
    model = IrisLinear()
    trainer = Trainer(max_epochs=2, enable_progress_bar=False)
    trainer.fit(model, train, val)
    with tg.no_grad():
        expected = F.accuracy(model(tg.tensor(X_te)), y_te).item()
    assert trainer.callback_metrics["val_acc"] == pytest.approx(expected)


def test_hooks_are_called():
    calls = []

    class Hooked(IrisLinear):
        def on_fit_start(self):
            calls.append("fit_start")

        def on_train_epoch_start(self):
            calls.append(f"train_start {self.current_epoch}")

        def on_train_epoch_end(self):
            calls.append("train_end")

        def on_validation_epoch_end(self):
            calls.append("val_end")

        def on_fit_end(self):
            calls.append("fit_end")

    train, test = loaders(0)
    Trainer(max_epochs=2, enable_progress_bar=False).fit(Hooked(), train, test)
    assert calls == ["fit_start", "train_start 0", "train_end", "val_end", "train_start 1",
                     "train_end", "val_end", "fit_end"]


def test_without_validation_step_no_validation_runs():
    class NoVal(LightningModule):
        def __init__(self):
            super().__init__()
            self.w = nn.Linear(2, 3)

        def training_step(self, batch, batch_idx):
            x, y = batch
            return {"loss": F.cross_entropy(self.w(x), y)}

        def configure_optimizers(self):
            return [optim.SGD(self.parameters(), lr=0.1)]

    train, test = loaders(0)
    trainer = Trainer(max_epochs=2, enable_progress_bar=False, accelerator="cpu", devices=1,
                      logger=False)
    trainer.fit(NoVal(), train, test)
    assert trainer.history[-1]["valid_loss"] is None
    assert trainer.history[-1]["train_loss"] is not None


def test_callbacks_and_gradient_clipping():
    norms = []

    class Norm(Callback):  # runs after the clipping (order 20)
        order = 25

        def after_backward(self):
            norms.append(math.sqrt(sum(float((p.grad.data.astype(np.float64) ** 2).sum())
                                       for p in self.model.parameters())))

    train, test = loaders(0)
    es = EarlyStopping(monitor="val_loss", patience=1, min_delta=10.0)  # stops at epoch 1
    sched = ParamScheduler({"lr": sched_lin(0.05, 0.0)})
    trainer = Trainer(max_epochs=10, enable_progress_bar=False, callbacks=[es, sched, Norm()],
                      gradient_clip_val=0.01)
    trainer.fit(IrisLinear(), train, test)
    assert len(trainer.history) == 2 and es.stopped_epoch == 1
    assert trainer.learner.gradient_clipping.last_norm > 0.01  # there was something to clip
    assert norms and max(norms) <= 0.01 + 1e-6


def test_validate_and_predict():
    train, test = loaders(0)
    model = IrisLinear()
    trainer = Trainer(max_epochs=5, enable_progress_bar=False)
    trainer.fit(model, train, test)
    (metrics,) = trainer.validate(model, test)
    assert metrics["val_acc"] == pytest.approx(trainer.history[-1]["val_acc"])
    preds = trainer.predict(model, test)
    assert len(preds) == 1 and preds[0].shape == (30, 3)


def test_log_outside_a_trainer_does_nothing():
    model = IrisLinear()
    x, y = tg.randn(4, 2), tg.tensor([0, 1, 2, 0])
    loss = model.training_step((x, y), 0)
    assert loss.shape == ()


@pytest.mark.parametrize("config", [
    lambda p: {"optimizer": optim.SGD(p, lr=0.1)},
    lambda p: ([optim.SGD(p, lr=0.1)], []),
    lambda p: (optim.SGD(p, lr=0.1),),
])
def test_configure_optimizers_forms(config):
    made = []

    class M(IrisLinear):
        def configure_optimizers(self):
            made.append(config(list(self.parameters())))
            return made[-1]

    train, test = loaders(0)
    model = M()
    before = [p.data.copy() for p in model.parameters()]
    trainer = Trainer(max_epochs=1, enable_progress_bar=False)
    trainer.fit(model, train, test)
    (returned,) = made
    opt = returned["optimizer"] if isinstance(returned, dict) else (
        returned[0][0] if isinstance(returned[0], list) else returned[0])
    assert trainer.learner.opt is opt  # the optimizer configure_optimizers returned is used
    assert opt.param_groups[0]["params"][0] is next(model.parameters())
    assert any(not np.array_equal(b, p.data) for b, p in zip(before, model.parameters()))


@pytest.mark.parametrize("config, error, match", [
    (lambda p: [optim.SGD(p, lr=0.1), optim.SGD(p, lr=0.1)], NotImplementedError,
     "exactly one optimizer"),
    (lambda p: {"optimizer": optim.SGD(p, lr=0.1), "lr_scheduler": object()},
     NotImplementedError, "ParamScheduler"),
    (lambda p: "sgd", TypeError, "must return an optimizer"),
])
def test_configure_optimizers_errors(config, error, match):
    class M(IrisLinear):
        def configure_optimizers(self):
            return config(list(self.parameters()))

    train, test = loaders(0)
    with pytest.raises(error, match=match):
        Trainer(max_epochs=1).fit(M(), train, test)


def test_trainer_errors():
    with pytest.raises(TypeError, match=r"unsupported option\(s\) \['max_stepz'\]"):
        Trainer(max_stepz=3)
    with pytest.raises(TypeError, match="must be a LightningModule"):
        Trainer(max_epochs=1).fit(nn.Linear(2, 3), [])
    with pytest.raises(NotImplementedError, match="training_step"):
        LightningModule().training_step(None, 0)
    assert Trainer().max_epochs == 1000  # Lightning's default
