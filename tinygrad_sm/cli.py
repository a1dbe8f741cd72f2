"""The ``tinygrad-sm`` command. Each subcommand is one function ``cmd_<name>(args)``
plus its argparse setup in ``build_parser``.

``tinygrad-sm train`` trains a classifier end to end (by default an MLP on the bundled
digits, with SGD and a one-cycle schedule, in a few seconds) and writes its metrics,
model and plots into ``--out``.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn


def cmd_demo(args: argparse.Namespace) -> int:
    """Build a small graph, backprop through it, print the gradients, run gradcheck."""
    import numpy as np

    import tinygrad_sm as tg
    from tinygrad_sm.autograd import gradcheck

    tg.manual_seed(args.seed)
    x = tg.randn(4, 3, dtype=tg.float64)
    w = tg.randn(3, 2, dtype=tg.float64, requires_grad=True)
    b = tg.zeros(2, dtype=tg.float64, requires_grad=True)
    target = np.array([0, 1, 1, 0])
    logp = (x @ w + b).relu().log_softmax(dim=1)
    loss = -logp[range(4), target].mean()
    loss.backward()
    print(f"loss = {loss.item():.6f}")
    print(f"dloss/dw =\n{w.grad}")
    print(f"dloss/db = {b.grad}")
    ok = gradcheck(lambda w, b: -(x @ w + b).relu().log_softmax(1)[range(4), target].mean(),
                   [w.detach().requires_grad_(), b.detach().requires_grad_()])
    print(f"gradcheck against finite differences: {'passed' if ok else 'FAILED'}")
    return 0 if ok else 1


# -- train -----------------------------------------------------------------------------------

DATASETS = ("digits", "iris", "mnist", "spirals", "moons")

# Per-dataset defaults for --epochs, --bs and --lr, chosen so that each run is quick and
# reaches its target (digits >= 97% validation accuracy in a few seconds).
DEFAULTS: dict[str, dict[str, Any]] = {
    "digits": {"epochs": 10, "bs": 16, "lr": 0.05},
    "iris": {"epochs": 60, "bs": 16, "lr": 0.5},
    "mnist": {"epochs": 3, "bs": 64, "lr": 0.1},
    "spirals": {"epochs": 60, "bs": 16, "lr": 0.1},
    "moons": {"epochs": 30, "bs": 16, "lr": 0.1},
}


_KIND_NAMES = {int: "an integer", float: "a number"}


def _positive(kind: type) -> Any:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {_KIND_NAMES[kind]}, got {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
        return value

    parse.__name__ = f"positive {kind.__name__}"
    return parse


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text}")
    return value


def _momentum(text: str) -> float:
    # SGD's momentum and Adam's beta1 alike: at 1 or more the running average never
    # forgets a gradient, and the steps grow without bound.
    value = _non_negative_float(text)
    if not value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1) (SGD's momentum or Adam's beta1), "
                                         f"got {text}")
    return value


def _writable_dir_problem(directory: Path) -> str | None:
    """Why files cannot be created in ``directory`` (an existing one), or None. Tried for
    real: permission bits say nothing of read-only file systems, /proc, or root."""
    import tempfile

    try:
        with tempfile.TemporaryFile(dir=directory):
            return None
    except OSError as err:
        return f"cannot write in {directory}: {err.strerror or err}"


def _out_dir(text: str) -> Path:
    """``--out DIR`` of train: an existing writable directory, or one that can be made."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} exists and is not a directory")
    existing = next(p for p in (path.absolute(), *path.absolute().parents) if p.exists())
    if not existing.is_dir():
        raise argparse.ArgumentTypeError(f"cannot create {text}: {existing} is not a directory")
    problem = _writable_dir_problem(existing)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return path


GRAPH_FORMATS = ("svg", "png", "pdf", "jpg", "gif", "ps", "gv", "dot")  # gv/dot: DOT text


def _graph_file(text: str) -> Path:
    """``--out FILE`` of graph: its suffix names the format (none: .svg is added)."""
    path = Path(text)
    if path.is_dir() or not path.name:
        raise argparse.ArgumentTypeError(f"{text} is a directory; give a file name")
    if not path.suffix:
        path = path.with_name(path.name + ".svg")
    fmt = path.suffix[1:].lower()
    if fmt not in GRAPH_FORMATS:
        raise argparse.ArgumentTypeError(
            f"unknown format {path.suffix!r} in {text}; use one of "
            f"{', '.join('.' + f for f in GRAPH_FORMATS)}")
    parent = path.parent
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"the directory {parent} does not exist")
    problem = _writable_dir_problem(parent)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return path


def _hidden_sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated layer widths such as 128,64, got {text!r}"
        ) from None
    if any(n < 1 for n in sizes):
        raise argparse.ArgumentTypeError(f"layer widths must be >= 1, got {text!r}")
    return sizes


def _load_data(name: str, seed: int) -> tuple[Any, Any, Any, Any, tuple[str, ...]]:
    """``X_train, X_valid, y_train, y_valid, classes``, standardized with statistics of
    the training split only. MNIST keeps its own train/test split; the others hold out
    a stratified 20%."""
    from tinygrad_sm import datasets
    from tinygrad_sm.data import Normalizer, train_test_split

    if name == "mnist":
        train, test = datasets.load_mnist()
        X_tr, y_tr, X_va, y_va, classes = train.X, train.y, test.X, test.y, train.classes
    else:
        loaders = {"digits": datasets.load_digits, "iris": datasets.load_iris,
                   "spirals": lambda: datasets.make_spirals(seed=seed),
                   "moons": lambda: datasets.make_moons(seed=seed)}
        X, y, classes = loaders[name]()
        X_tr, X_va, y_tr, y_va = train_test_split(X, y, test_size=0.2, stratify=True, seed=seed)
    norm = Normalizer.fit(X_tr)
    return norm(X_tr), norm(X_va), y_tr, y_va, classes


def _build_model(kind: str, n_in: int, hidden: Sequence[int], n_out: int) -> Any:
    from tinygrad_sm import nn

    if kind == "linear":
        return nn.Sequential(nn.Linear(n_in, n_out))
    layers: list[Any] = []
    for width in hidden:
        layers += [nn.Linear(n_in, width), nn.ReLU()]
        n_in = width
    return nn.Sequential(*layers, nn.Linear(n_in, n_out))


def _model_size_problem(widths: Sequence[int]) -> str | None:
    """Why a float32 MLP of these layer widths cannot be trained here, or None.

    Checked before allocating: NumPy may get the memory lazily and the kernel then kill
    the process while the weights are initialized, with no message at all."""
    import os

    n_params = sum(a * b + b for a, b in zip(widths[:-1], widths[1:]))
    needed = 4 * n_params * 4  # float32 weights, gradients and two optimizer buffers
    try:
        memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # not available on this system
        return None
    if needed <= memory:
        return None
    return (f"a model of widths {'-'.join(map(str, widths))} has {n_params:,} parameters: "
            f"training it takes about {needed / 2**30:,.1f} GiB, more than this machine's "
            f"{memory / 2**30:,.1f} GiB of memory; choose smaller --hidden widths")


def _widths(args: argparse.Namespace, n_in: int, n_out: int) -> list[int]:
    return [n_in, *(args.hidden if args.model == "mlp" else ()), n_out]


def _new_model(args: argparse.Namespace, widths: list[int]) -> tuple[Any, str | None]:
    """``(model, None)``, or ``(None, why)`` when the model cannot be made here."""
    problem = _model_size_problem(widths)
    if problem:
        return None, problem
    try:
        return _build_model(args.model, widths[0], args.hidden, widths[-1]), None
    except MemoryError:
        return None, (f"not enough memory for a model of widths {'-'.join(map(str, widths))}; "
                      "choose smaller --hidden widths")


def _schedule(name: str, lr: float) -> Any:
    from tinygrad_sm import sched

    return {
        "one_cycle": lambda: sched.one_cycle(lr),  # warm up over 25%, then cosine to lr/1e4
        "cos": lambda: sched.sched_cos(lr, 0.0),
        "lin": lambda: sched.sched_lin(lr, 0.0),
        "exp": lambda: sched.sched_exp(lr, lr / 100),
        "const": lambda: sched.sched_no(lr, lr),
    }[name]()


def _opt_func(args: argparse.Namespace) -> Any:
    from functools import partial

    from tinygrad_sm import optim

    if args.opt == "sgd":
        return partial(optim.SGD, momentum=args.momentum, weight_decay=args.wd)
    # Adam's beta1 plays the part of momentum; weight decay is AdamW's decoupled one.
    return partial(optim.AdamW, betas=(args.momentum, 0.999), weight_decay=args.wd)


def _timestamped_dir(root: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(1000):
        path = root / (stamp if n == 0 else f"{stamp}-{n}")
        try:
            path.mkdir(parents=True)
            return path
        except FileExistsError:
            continue
    raise RuntimeError(f"train: could not create a new run directory under {root}")


def _write_metrics(out: Path, metrics: list[dict[str, Any]]) -> list[str]:
    with open(out / "metrics.json", "w") as f:
        json.dump(metrics, f, indent=2)
        f.write("\n")
    with open(out / "metrics.csv", "w", newline="") as f:
        if metrics:
            writer = csv.DictWriter(f, fieldnames=list(metrics[0]))
            writer.writeheader()
            writer.writerows(metrics)
    return ["metrics.csv", "metrics.json"]


def _write_plots(out: Path, learn: Any, say: Any, diverged: bool = False) -> list[str]:
    """``training.png``: loss per batch and per epoch, and the lr schedule; for a run that
    ``diverged``, a red line marks the batch whose loss was not finite."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        say("note: matplotlib is not installed, so no plot was written "
            "(pip install matplotlib)")
        return []
    from matplotlib.figure import Figure

    from tinygrad_sm.plot import smooth

    rec = learn.recorder
    fig = Figure(figsize=(12, 3.8), layout="constrained")
    ax_batch, ax_epoch, ax_lr = fig.subplots(1, 3)
    ax_batch.plot(rec.losses, alpha=0.3, color="tab:blue", label="per batch")
    ax_batch.plot(smooth(rec.losses), color="tab:blue", label="smoothed")
    ax_batch.set(title="training loss", xlabel="batch", ylabel="loss")
    if diverged:
        import numpy as np

        bad = np.flatnonzero(~np.isfinite(np.asarray(rec.losses, dtype=np.float64)))
        at = int(bad[0]) if bad.size else len(rec.losses)  # else: in validation
        ax_batch.axvline(at, color="tab:red", ls="--",
                         label=f"loss not finite (epoch {learn.epoch}, batch {learn.iter})")
    ax_batch.legend()
    epochs = [m["epoch"] for m in rec.metrics]
    for key, color in (("train_loss", "tab:blue"), ("valid_loss", "tab:orange")):
        if all(m[key] is not None for m in rec.metrics):
            ax_epoch.plot(epochs, [m[key] for m in rec.metrics], "o-", color=color,
                          label=key.replace("_", " "))
    ax_epoch.set(title="loss per epoch", xlabel="epoch", ylabel="loss")
    ax_epoch.legend()
    ax_lr.plot(rec.lrs, color="tab:green")
    ax_lr.set(title="learning rate", xlabel="batch", ylabel="lr")
    fig.savefig(out / "training.png", dpi=100)
    return ["training.png"]


def _render_step_graph(model: Any, loss_func: Any, xb: Any, yb: Any, path: Path,
                       say: Any) -> Path | None:
    """Draw one training step (forward, loss, backward) with module clusters to ``path``
    (its suffix picks the format: svg, png, pdf, ...; gv or dot for the DOT text). Returns
    the path written: ``path``, or without Graphviz's ``dot`` the DOT text beside it as
    ``.gv`` (with a note saying where), or None without the graphviz package."""
    from tinygrad_sm.viz import GraphvizNotFoundError, draw_training_step

    try:
        graph = draw_training_step(model, loss_func, xb, yb, rankdir="TB")
    except ImportError as err:
        say(f"note: no graph drawn: {err}")
        return None
    fmt = path.suffix[1:].lower()
    if fmt in ("gv", "dot"):
        path.write_text(graph.source)
        return path
    try:
        path.write_bytes(graph.pipe(format=fmt))
        return path
    except GraphvizNotFoundError as err:
        gv = path.with_suffix(".gv")
        gv.write_text(graph.source)
        say(f"note: no graph drawn: {err}\nThe DOT text is in {gv}; with Graphviz "
            f"installed, draw it with: dot -T{fmt} {gv} -o {path}")
        return gv


def _write_graph(out: Path, learn: Any, say: Any) -> list[str]:
    """``graph.svg``: the computation graph of one training step on the first batch
    (``graph.gv``, its DOT text, without Graphviz)."""
    xb, yb = next(iter(learn.train_dl))
    written = _render_step_graph(learn.model, learn.loss_func, xb, yb, out / "graph.svg", say)
    return [written.name] if written else []


def _error(command: str, message: str, status: int = 2) -> int:
    """One line on stderr, no traceback; 2 is argparse's status for a bad argument."""
    print(f"tinygrad-sm {command}: error: {message}", file=sys.stderr)
    return status


def cmd_graph(args: argparse.Namespace) -> int:
    """Draw the computation graph of one training step of a fresh model."""
    import tinygrad_sm as tg
    import tinygrad_sm.functional as F

    tg.manual_seed(args.seed)
    X_tr, _, y_tr, _, classes = _load_data(args.dataset, args.seed)
    model, problem = _new_model(args, _widths(args, X_tr.shape[1], len(classes)))
    if problem:
        return _error("graph", problem)
    xb, yb = tg.from_numpy(X_tr[: args.bs]), tg.from_numpy(y_tr[: args.bs])
    written = _render_step_graph(model, F.cross_entropy, xb, yb, args.out, print)
    if written != args.out:
        return 1
    print(f"wrote {written}")
    return 0


def _epochs(n: int) -> str:
    return f"{n} epoch{'' if n == 1 else 's'}"


def _finite_weights(model: Any) -> dict[str, Any] | None:
    """A copy of the model's weights, or None if any of them is nan or inf."""
    import numpy as np

    state = {k: np.array(v.data, copy=True) for k, v in model.state_dict().items()}
    return state if all(np.isfinite(a).all() for a in state.values()) else None


def _keep_finite_weights() -> Any:
    """A callback that copies the weights at the start and after each epoch while they are
    finite, so that a run that diverges can still save its last finite model."""
    from tinygrad_sm.learner import Callback

    class KeepFiniteWeights(Callback):
        weights: dict[str, Any] | None = None
        when = "the initial weights"

        def before_fit(self) -> None:
            self.weights = _finite_weights(self.learn.model)

        def after_epoch(self) -> None:
            weights = _finite_weights(self.learn.model)
            if weights is not None:
                self.weights, self.when = weights, f"the weights after epoch {self.learn.epoch}"

    return KeepFiniteWeights()


def _keep_diverged_run(out: Path, learn: Any, keeper: Any, say: Any) -> None:
    """What a run that diverged still has: its metrics, the loss plot marking where the
    loss went nan, and its last finite weights."""
    from tinygrad_sm import serialization

    written = _write_metrics(out, learn.recorder.metrics)
    weights, when = _finite_weights(learn.model), "the weights of the last step"
    if weights is None:
        weights, when = keeper.weights, keeper.when
    if weights is not None:
        serialization.save(weights, out / "model.npz")
        written.append(f"model.npz ({when})")
    written += _write_plots(out, learn, say, diverged=True)
    print(f"kept {', '.join(written)} in {out}", file=sys.stderr)


def cmd_train(args: argparse.Namespace) -> int:
    """Train a classifier on a dataset and write metrics, model and plots into --out."""
    import numpy as np

    import tinygrad_sm as tg
    from tinygrad_sm import serialization
    from tinygrad_sm.data import DataLoader, TensorDataset
    from tinygrad_sm.learner import (
        Learner,
        LossNotFiniteError,
        ParamScheduler,
        ProgressCallback,
    )

    def say(*parts: Any) -> None:
        if not args.quiet:
            print(*parts, flush=True)

    defaults = DEFAULTS[args.dataset]
    epochs = args.epochs or defaults["epochs"]
    bs = args.bs or defaults["bs"]
    lr = args.lr or defaults["lr"]

    start = time.perf_counter()
    tg.manual_seed(args.seed)
    try:
        X_tr, X_va, y_tr, y_va, classes = _load_data(args.dataset, args.seed)
    except (OSError, RuntimeError, ValueError) as err:  # MNIST missing, or not MNIST
        print(f"tinygrad-sm train: error: {err}", file=sys.stderr)
        return 1
    widths = _widths(args, X_tr.shape[1], len(classes))
    model, problem = _new_model(args, widths)
    if problem:
        return _error("train", problem)
    try:
        out = args.out if args.out else _timestamped_dir(Path("runs"))
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:  # --out was checked when parsed; runs/ was not
        return _error("train", f"cannot create the output directory: {err}")
    train_dl = DataLoader(TensorDataset(X_tr, y_tr), batch_size=bs, shuffle=True)
    valid_dl = DataLoader(TensorDataset(X_va, y_va), batch_size=max(bs, 256))
    keeper = _keep_finite_weights()
    learn = Learner(model, train_dl, valid_dl, opt_func=_opt_func(args), lr=lr,
                    cbs=[ProgressCallback(quiet=args.quiet), keeper])

    written: list[str] = []
    lr_source = ""
    if args.lr_find:
        suggestion = learn.lr_find()
        say(f"lr finder suggests lr {suggestion:.3g}")
        if not args.lr:
            lr, lr_source = suggestion, " from the lr finder"
        try:
            learn.lr_finder.plot(path=out / "lr_find.png")
            written.append("lr_find.png")
        except ImportError:
            pass
    say(f"{args.dataset}: {len(X_tr)} train / {len(X_va)} validation examples, "
        f"{len(classes)} classes; {args.model} {'-'.join(map(str, widths))}; "
        f"{args.opt} lr {lr:.3g}{lr_source} ({args.sched}), {_epochs(epochs)} of batch "
        f"size {bs}")
    try:
        # A diverging run overflows before its loss turns nan: the error below says what
        # happened, so NumPy's overflow warnings would only be noise.
        with np.errstate(over="ignore", invalid="ignore"):
            learn.fit(epochs, cbs=[ParamScheduler({"lr": _schedule(args.sched, lr)})])
    except LossNotFiniteError as err:
        with np.errstate(over="ignore", invalid="ignore"):
            _keep_diverged_run(out, learn, keeper, say)
        print(f"tinygrad-sm train: error: {err}", file=sys.stderr)
        return 1
    seconds = time.perf_counter() - start

    written += _write_metrics(out, learn.recorder.metrics)
    serialization.save({k: v.data for k, v in model.state_dict().items()}, out / "model.npz")
    written.append("model.npz")
    written += _write_plots(out, learn, say)
    written += _write_graph(out, learn, say)
    acc = learn.recorder.metrics[-1]["valid_accuracy"]
    print(f"validation accuracy {acc:.4f} after {_epochs(epochs)} in {seconds:.1f} s; "
          f"wrote {', '.join(written)} to {out}")
    return 0


# -- explore -------------------------------------------------------------------------------


def cmd_explore(args: argparse.Namespace) -> int:
    """Write the backward-pass explorer (one HTML file) of one training step of a fresh model."""
    import tinygrad_sm as tg
    import tinygrad_sm.functional as F
    from tinygrad_sm.viz import GraphvizNotFoundError, explore

    tg.manual_seed(args.seed)
    try:
        X_tr, _, y_tr, _, classes = _load_data(args.dataset, args.seed)
    except (OSError, RuntimeError) as err:  # MNIST missing and not downloadable
        print(f"tinygrad-sm explore: error: {err}", file=sys.stderr)
        return 1
    model = _build_model(args.model, X_tr.shape[1], args.hidden, len(classes))
    bs = args.bs or DEFAULTS[args.dataset]["bs"]
    xb, yb = tg.from_numpy(X_tr[:bs]), tg.from_numpy(y_tr[:bs])
    loss = F.cross_entropy(model(xb), yb)
    try:
        page = explore(loss, model, inputs={"xb": xb, "yb": yb}, rankdir="TB",
                       title=f"Backward of one training step: {args.model} on {args.dataset}, "
                             f"batch of {bs}, loss {loss.item():.4g}")
    except (ImportError, GraphvizNotFoundError) as err:
        print(f"tinygrad-sm explore: error: {err}", file=sys.stderr)
        return 1
    path = page.save(args.out)
    print(f"wrote {path} ({page.steps} steps of backward, {path.stat().st_size // 1024} KB); "
          "open it in a browser")
    return 0


def _step_options(parser: argparse.ArgumentParser, dataset: str, hidden: tuple[int, ...],
                  bs: int | None) -> None:
    """The options of the commands that show one training step (graph, explore)."""
    parser.add_argument("--dataset", choices=DATASETS, default=dataset,
                        help="as for train (default: %(default)s)")
    parser.add_argument("--model", choices=("linear", "mlp"), default="mlp",
                        help="default: %(default)s")
    parser.add_argument("--hidden", type=_hidden_sizes, default=hidden, metavar="W1,W2,...",
                        help="hidden layer widths of the MLP (default: "
                             f"{','.join(map(str, hidden))})")
    bs_default = "train's, per dataset" if bs is None else bs
    parser.add_argument("--bs", type=_positive(int), default=bs,
                        help=f"batch size (default: {bs_default})")
    parser.add_argument("--seed", type=_seed, default=0, help="default: %(default)s")


def _explore_parser(sub: Any) -> argparse.ArgumentParser:
    explore = sub.add_parser(
        "explore", help="write an interactive page that replays backward step by step",
        description="Write one self-contained HTML file that replays the backward pass of "
                    "one training step (the loss of one batch of a fresh model), op by op.",
    )
    _step_options(explore, "digits", (256,), None)
    explore.add_argument("--out", default="explorer.html", metavar="FILE",
                         help="the HTML file to write (default: %(default)s)")
    explore.set_defaults(func=cmd_explore)
    return explore


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line (the usage is one --help away); the status
    stays argparse's 2. Subcommands' parsers are of this class too."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    from tinygrad_sm import __version__

    parser = _Parser(
        prog="tinygrad-sm", description="A small, readable NumPy autograd engine."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="backprop through a small graph and gradcheck it")
    demo.add_argument("--seed", type=_seed, default=0)
    demo.set_defaults(func=cmd_demo)

    defaults = "; ".join(f"{name}: {d['epochs']} epochs, bs {d['bs']}, lr {d['lr']}"
                         for name, d in DEFAULTS.items())
    train = sub.add_parser(
        "train", help="train a classifier and write metrics, model and plots",
        description="Train a classifier end to end. Without options: an MLP on the bundled "
                    "digits with SGD and a one-cycle schedule (a few seconds, about 97% "
                    "validation accuracy).",
        epilog=f"Defaults per dataset: {defaults}.",
    )
    train.add_argument("--dataset", choices=DATASETS, default="digits",
                       help="digits and iris are bundled; mnist is downloaded once "
                            "(default: %(default)s)")
    train.add_argument("--model", choices=("linear", "mlp"), default="mlp",
                       help="default: %(default)s")
    train.add_argument("--hidden", type=_hidden_sizes, default=(256,), metavar="W1,W2,...",
                       help="hidden layer widths of the MLP (default: 256)")
    train.add_argument("--epochs", type=_positive(int), default=None,
                       help="number of epochs (default: per dataset, see below)")
    train.add_argument("--bs", type=_positive(int), default=None,
                       help="training batch size (default: per dataset)")
    train.add_argument("--lr", type=_positive(float), default=None,
                       help="peak learning rate (default: per dataset)")
    train.add_argument("--sched", choices=("one_cycle", "cos", "lin", "exp", "const"),
                       default="one_cycle", help="learning-rate schedule (default: %(default)s)")
    train.add_argument("--opt", choices=("sgd", "adam"), default="sgd",
                       help="optimizer; adam is AdamW (decoupled weight decay) "
                            "(default: %(default)s)")
    train.add_argument("--momentum", type=_momentum, default=0.9,
                       help="SGD momentum, or Adam's beta1, in [0, 1) (default: %(default)s)")
    train.add_argument("--wd", type=_non_negative_float, default=5e-4,
                       help="weight decay (default: %(default)s)")
    train.add_argument("--seed", type=_seed, default=0,
                       help="seed for the split, the initialization and the shuffling "
                            "(default: %(default)s)")
    train.add_argument("--out", type=_out_dir, default=None, metavar="DIR",
                       help="output directory (default: runs/<timestamp>)")
    train.add_argument("--lr-find", action="store_true",
                       help="run the learning-rate finder first (writes lr_find.png) and "
                            "train with its suggestion unless --lr is given")
    train.add_argument("--quiet", action="store_true",
                       help="no progress bars, no table: only the final line")
    train.set_defaults(func=cmd_train)

    graph = sub.add_parser(
        "graph", help="draw the computation graph of one training step",
        description="Draw the graph of one training step (the loss of one batch, after "
                    "backward, gradients shown) with one cluster per module.",
    )
    _step_options(graph, "iris", (16,), 8)
    graph.add_argument("--out", type=_graph_file, default="graph.svg", metavar="FILE",
                       help="output file; its suffix picks the format: .svg (also without a "
                            "suffix), .png, .pdf, .jpg, .gif, .ps, or .gv/.dot for the DOT "
                            "text (default: %(default)s)")
    graph.set_defaults(func=cmd_graph)
    explore = _explore_parser(sub)
    # `tinygrad-sm --help` lists every command with all its options.
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = ("commands and their options:\n" + demo.format_usage()
                     + train.format_usage() + graph.format_usage() + explore.format_usage()
                     + "\nRun 'tinygrad-sm <command> --help' for what each option does.")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    return args.func(args)
