"""Tutorial 7: from a training loop to a Learner.

    python examples/tutorial_7_learner.py [--figures DIR | --no-figures]

Mini-batches, module registration through __setattr__, the optimizer, the DataLoader, the
Learner and its callbacks, annealing with combine_scheds, the LR finder, early stopping,
and a loss curve that fluctuates because the learning rate is too high, fixed by
annealing (fast.ai notebooks 03_minibatch_training, 04_callbacks, 05_anneal and
05b_early_stopping), on the bundled 8x8 digits. Plots go to DIR (default runs/tutorials).
"""

import math

import numpy as np
from tutorial_output import figure_dir, section

import tinygrad_sm as tg
import tinygrad_sm.functional as F
from tinygrad_sm import nn, optim, plot
from tinygrad_sm.data import DataLoader, Normalizer, TensorDataset, train_test_split
from tinygrad_sm.datasets import load_digits
from tinygrad_sm.learner import (
    Callback,
    CancelFitException,
    EarlyStopping,
    Learner,
    ParamScheduler,
    ProgressCallback,
)
from tinygrad_sm.sched import combine_scheds, sched_cos


def get_model(n_in=64, nh=128, n_out=10):
    return nn.Sequential(nn.Linear(n_in, nh), nn.ReLU(), nn.Linear(nh, n_out))


# --8<-- [start:sgd_momentum]
def sgd_momentum(params, lr):
    return optim.SGD(params, lr=lr, momentum=0.9)
# --8<-- [end:sgd_momentum]


# --8<-- [start:dummy]
class DummyModule:
    """What nn.Module does with an assignment, in five lines."""

    def __init__(self, n_in, nh, n_out):
        self._modules = {}
        self.l1 = nn.Linear(n_in, nh)
        self.l2 = nn.Linear(nh, n_out)

    def __setattr__(self, k, v):
        if not k.startswith("_"):
            self._modules[k] = v  # every public attribute is registered as a child
        super().__setattr__(k, v)

    def parameters(self):
        for m in self._modules.values():
            yield from m.parameters()
# --8<-- [end:dummy]


# --8<-- [start:model_class]
class Model(nn.Module):
    def __init__(self, n_in, nh, n_out):
        super().__init__()
        self.l1 = nn.Linear(n_in, nh)  # Module.__setattr__ registers it
        self.l2 = nn.Linear(nh, n_out)

    def forward(self, x):
        return self.l2(self.l1(x).relu())
# --8<-- [end:model_class]


# --8<-- [start:stop_after]
class StopAfter(Callback):
    """Stop training after n batches (fast.ai's TestCallback)."""

    def __init__(self, n):
        self.n = n

    def after_step(self):
        if self.train_iter + 1 >= self.n:  # self.train_iter reads learn.train_iter
            raise CancelFitException
# --8<-- [end:stop_after]


def main() -> None:
    figs = figure_dir()
    digits = load_digits()
    X_train, X_valid, y_train, y_valid = train_test_split(digits.X, digits.y, 0.2, seed=0)
    norm = Normalizer.fit(X_train)
    X_train, X_valid = norm(X_train), norm(X_valid)

    section("batches")
    # --8<-- [start:batches]
    n, bs = len(X_train), 64
    n_batches = (n - 1) // bs + 1
    print(f"n = {n}")
    print(f"bs = {bs}")
    print(f"n_batches = {n_batches}")
    print(f"last_batch = {n - (n_batches - 1) * bs}")
    print(f"len_dataloader = {len(DataLoader(TensorDataset(X_train, y_train), bs))}")
    for n_ in (n, 1408):  # 1408 = 22 * 64: a multiple of the batch size
        print(f"  n = {n_}: (n - 1) // bs + 1 = {(n_ - 1) // bs + 1}, "
              f"n // bs = {n_ // bs}, n // bs + 1 = {n_ // bs + 1}, "
              f"ceil(n / bs) = {math.ceil(n_ / bs)}")
    # --8<-- [end:batches]
    section("_")  # values that only the prose quotes
    print(f"n_floor = {n // bs}")
    print(f"dropped = {n - (n // bs) * bs}")

    section("registration")
    # --8<-- [start:registration]
    dummy = DummyModule(64, 128, 10)
    print(f"dummy children: {list(dummy._modules)}")
    print(f"dummy parameters: {[tuple(p.shape) for p in dummy.parameters()]}")
    model = Model(64, 128, 10)
    print(f"Module children: {list(model._modules)}")
    for name, p in model.named_parameters():
        print(f"  {name:<10} {tuple(p.shape)}")
    print(f"n_params = {sum(p.numel() for p in model.parameters())}")
    # --8<-- [end:registration]

    section("loop")
    # --8<-- [start:loop]
    tg.manual_seed(0)
    model = get_model()
    start = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    x, y = tg.tensor(X_train), tg.tensor(y_train)
    lr = 0.5
    for i in range((n - 1) // bs + 1):  # one epoch, in order
        xb, yb = x[i * bs:(i + 1) * bs], y[i * bs:(i + 1) * bs]
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        with tg.no_grad():  # updating the weights must not be recorded
            for p in model.parameters():
                p -= p.grad * lr
        model.zero_grad()
    with tg.no_grad():
        valid_out = model(tg.tensor(X_valid))
    print(f"loop_valid_loss = {F.cross_entropy(valid_out, y_valid).item():.4f}")
    print(f"loop_valid_accuracy = {F.accuracy(valid_out, y_valid).item():.1%}")
    # --8<-- [end:loop]
    by_hand = {k: v.numpy().copy() for k, v in model.state_dict().items()}

    section("optimizer")
    # --8<-- [start:optimizer]
    model = get_model()
    model.load_state_dict(start)  # the same starting weights as the loop above
    opt = optim.SGD(model.parameters(), lr=lr)
    for i in range((n - 1) // bs + 1):
        xb, yb = x[i * bs:(i + 1) * bs], y[i * bs:(i + 1) * bs]
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        opt.zero_grad()
    diff = max(np.abs(v.numpy() - by_hand[k]).max() for k, v in model.state_dict().items())
    print(f"optimizer_vs_loop = {diff:.1e}")
    # --8<-- [end:optimizer]

    section("dataloader")
    # --8<-- [start:dataloader]
    train_dl = DataLoader(TensorDataset(X_train, y_train), bs, shuffle=True, seed=0)
    valid_dl = DataLoader(TensorDataset(X_valid, y_valid), 512)
    xb, yb = next(iter(train_dl))
    print(f"a batch: xb {xb.shape} {xb.dtype}, yb {yb.shape} {yb.dtype}")
    for xb, yb in train_dl:  # the training loop, now shuffled each epoch
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        opt.zero_grad()
    # --8<-- [end:dataloader]

    section("learner")
    # --8<-- [start:learner]
    tg.manual_seed(0)
    learn = Learner(get_model(), train_dl, valid_dl, loss_func=F.cross_entropy,
                    opt_func=optim.SGD, lr=0.5)
    learn.fit(3)
    # --8<-- [end:learner]
    section("_")  # values that only the prose quotes
    print(f"learner_accuracy = {learn.recorder.metrics[-1]['valid_accuracy']:.1%}")

    section("callbacks")
    # --8<-- [start:callbacks]
    print(f"callbacks: {[type(cb).__name__ for cb in learn.cbs]}")
    learn.fit(1, cbs=[StopAfter(10)])
    print(f"batches_run = {learn.train_iter}")
    # --8<-- [end:callbacks]

    section("anneal")
    # --8<-- [start:anneal]
    sched = combine_scheds([0.3, 0.7], [sched_cos(0.3, 0.6), sched_cos(0.6, 0.2)])
    starts = [0.0, 0.3]
    for pos in (0.0, 0.15, 0.3, 0.5, 0.65, 1.0):
        phase = 0 if pos < 0.3 else 1  # the last phase whose start is <= pos
        local = (pos - starts[phase]) / [0.3, 0.7][phase]
        print(f"  pos {pos:.2f} -> phase {phase}, position in the phase {local:.3f}, "
              f"lr {sched(pos):.4f}")
    # --8<-- [end:anneal]
    section("_")  # values that only the prose quotes
    print(f"sched_start = {sched(0.0):.1f}")
    print(f"sched_peak = {sched(0.3):.1f}")
    print(f"sched_end = {sched(1.0):.1f}")
    print(f"sched_015 = {sched(0.15):.4f}")
    if figs:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(6, 3.2), layout="constrained")
        ax = fig.subplots()
        pos = np.linspace(0, 1, 401)
        ax.plot(pos, [sched(p) for p in pos], color="tab:green")
        ax.axvspan(0, 0.3, color="tab:blue", alpha=0.08, label="phase 0: sched_cos(0.3, 0.6)")
        ax.axvspan(0.3, 1, color="tab:orange", alpha=0.08,
                   label="phase 1: sched_cos(0.6, 0.2)")
        ax.set(xlabel="pos (fraction of training done)", ylabel="learning rate",
               title="combine_scheds([0.3, 0.7], ...)")
        ax.legend(fontsize="small", loc="lower center")
        fig.savefig(figs / "t7_combine_scheds.png", dpi=100)

    section("scheduler")
    # --8<-- [start:scheduler]
    tg.manual_seed(0)
    learn = Learner(get_model(), train_dl, valid_dl, lr=0.3,
                    cbs=[ParamScheduler({"lr": sched}), ProgressCallback(quiet=True)])
    learn.fit(4)
    lrs = learn.recorder.lrs
    print(f"recorded lrs: {len(lrs)} batches, first {lrs[0]:.3f}, "
          f"max {max(lrs):.3f} at batch {int(np.argmax(lrs))}, last {lrs[-1]:.3f}")
    # --8<-- [end:scheduler]
    section("_")  # values that only the prose quotes
    print(f"scheduled_accuracy = {learn.recorder.metrics[-1]['valid_accuracy']:.1%}")
    print(f"n_train_batches = {len(lrs)}")
    if figs:
        learn.recorder.plot_sched(figs / "t7_recorded_lr.png")

    section("lr_find")
    # --8<-- [start:lr_find]
    tg.manual_seed(0)
    learn = Learner(get_model(), train_dl, valid_dl, opt_func=sgd_momentum,
                    cbs=[ProgressCallback(quiet=True)])
    suggestion = learn.lr_find(start_lr=1e-5, end_lr=10, num_it=100)
    finder = learn.lr_finder
    print(f"lr_suggestion = {suggestion:.3f}")
    print(f"lr_at_min_loss = {finder.lrs[int(np.argmin(finder.losses))]:.3f}")
    print(f"batches_swept = {len(finder.lrs)}")
    # --8<-- [end:lr_find]
    if figs:
        finder.plot(figs / "t7_lr_find.png")

    section("early_stopping")
    # --8<-- [start:early_stopping]
    tg.manual_seed(0)
    small_dl = DataLoader(TensorDataset(X_train[:100], y_train[:100]), 20, shuffle=True, seed=0)
    model = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 10))
    stopper = EarlyStopping(monitor="valid_loss", patience=3)
    learn = Learner(model, small_dl, valid_dl, lr=0.05, opt_func=sgd_momentum, cbs=[stopper])
    learn.fit(60)
    print(f"best_epoch = {stopper.best_epoch}")
    print(f"stopped_epoch = {stopper.stopped_epoch}")
    print(f"best_valid_loss = {stopper.best:.4f}")
    print(f"restored_valid_loss = {learn.validate()['loss']:.4f}")
    # --8<-- [end:early_stopping]
    section("_")  # values that only the prose quotes
    last = learn.recorder.metrics[-1]
    print(f"last_valid_loss = {last['valid_loss']:.4f}")
    print(f"last_train_loss = {last['train_loss']:.4f}")

    section("too_high")
    # --8<-- [start:too_high]
    def train(lr, anneal, seed=0, epochs=8):
        tg.manual_seed(seed)
        dl = DataLoader(TensorDataset(X_train, y_train), 32, shuffle=True, seed=seed)
        cbs = [ProgressCallback(quiet=True)]
        if anneal:
            cbs.append(ParamScheduler({"lr": sched_cos(lr, lr / 100)}))
        learn = Learner(get_model(), dl, valid_dl, lr=lr, opt_func=sgd_momentum, cbs=cbs)
        learn.fit(epochs)
        return learn

    runs = {"constant": train(0.15, anneal=False), "annealed": train(0.15, anneal=True)}
    print(f"{'epoch':<10}" + "".join(f"{e:>7}" for e in range(8)))
    for name, learn in runs.items():
        print(f"{name:<10}" + "".join(f"{m['train_loss']:>7.3f}"
                                      for m in learn.recorder.metrics))
    # --8<-- [end:too_high]
    section("_")  # values that only the prose quotes
    n_last = len(runs["constant"].train_dl)
    for name, learn in runs.items():
        metrics = learn.recorder.metrics
        losses = np.array(learn.recorder.losses)
        best = int(np.argmin([m["train_loss"] for m in metrics]))
        print(f"{name}_best_epoch = {best}")
        print(f"{name}_final_loss = {metrics[-1]['train_loss']:.3f}")
        print(f"{name}_min_loss = {metrics[best]['train_loss']:.3f}")
        print(f"{name}_last_epoch_std = {losses[-n_last:].std():.3f}")
        print(f"{name}_last_epoch_max = {losses[-n_last:].max():.2f}")
        print(f"{name}_accuracy = {metrics[-1]['valid_accuracy']:.1%}")
        if figs:
            plot.plot_loss(recorder=learn.recorder, path=figs / f"t7_loss_{name}.png")

    section("seeds")
    # --8<-- [start:seeds]
    for seed in (1, 2):
        const, annealed = train(0.15, False, seed), train(0.15, True, seed)
        print(f"  seed {seed}: final training loss {const.recorder.metrics[-1]['train_loss']:.3f}"
              f" constant, {annealed.recorder.metrics[-1]['train_loss']:.3f} annealed; "
              f"validation accuracy {const.recorder.metrics[-1]['valid_accuracy']:.1%} and "
              f"{annealed.recorder.metrics[-1]['valid_accuracy']:.1%}")
    # --8<-- [end:seeds]


if __name__ == "__main__":
    main()
