"""The ``tinygrad-sm train`` command end to end, with fixed seeds."""

import csv
import gzip
import hashlib
import importlib.util
import json
import os
import re
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tinygrad_sm import cli, serialization
from tinygrad_sm.cli import main
from tinygrad_sm.data import Normalizer, train_test_split
from tinygrad_sm.datasets import load_iris, mnist

RECORD_KEYS = ["epoch", "train_loss", "valid_loss", "valid_accuracy", "lr", "seconds"]


def train(tmp_path, *args):
    out = tmp_path / "run"
    code = main(["train", "--out", str(out), *args])
    metrics = json.loads((out / "metrics.json").read_text()) if code == 0 else None
    return code, metrics, out


def test_default_run_reaches_97_percent(tmp_path, capsys):
    start = time.perf_counter()
    code, metrics, out = train(tmp_path)
    seconds = time.perf_counter() - start
    assert code == 0
    assert metrics[-1]["valid_accuracy"] >= 0.97
    stdout = capsys.readouterr().out
    with capsys.disabled():  # the target is < 10 s on 2 cores; reported, not asserted
        print(f"\n[default train run: {seconds:.2f} s wall, "
              f"valid accuracy {metrics[-1]['valid_accuracy']:.4f}]")
    lines = stdout.splitlines()
    assert lines[0].startswith("digits: 1438 train / 359 validation examples, 10 classes; "
                               "mlp 64-256-10; sgd lr 0.05 (one_cycle), 10 epochs")
    assert lines[1].split() == RECORD_KEYS
    assert [ln.split()[0] for ln in lines[2:12]] == [str(e) for e in range(10)]
    assert lines[-1].startswith(f"validation accuracy {metrics[-1]['valid_accuracy']:.4f}")

    # metrics.json / metrics.csv: one record per epoch with the Recorder's keys
    assert len(metrics) == 10 and all(list(m) == RECORD_KEYS for m in metrics)
    with open(out / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 10 and list(rows[0]) == RECORD_KEYS
    assert float(rows[-1]["valid_accuracy"]) == pytest.approx(metrics[-1]["valid_accuracy"])
    # the model, loadable into the same architecture
    state = serialization.load(out / "model.npz")
    assert {k: v.shape for k, v in state.items()} == {
        "0.weight": (256, 64), "0.bias": (256,), "2.weight": (10, 256), "2.bias": (10,)}
    if importlib.util.find_spec("matplotlib") is not None:
        assert (out / "training.png").read_bytes()[:4] == b"\x89PNG"


def test_runs_are_reproducible(tmp_path):
    _, m1, _ = train(tmp_path / "a", "--epochs", "2", "--quiet")
    _, m2, _ = train(tmp_path / "b", "--epochs", "2", "--quiet")
    for a, b in zip(m1, m2):
        assert {k: v for k, v in a.items() if k != "seconds"} == \
               {k: v for k, v in b.items() if k != "seconds"}


def logistic_regression_accuracy(seed):
    """A NumPy multinomial logistic regression fitted to convergence on the CLI's split."""
    X, y, _ = load_iris()
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, stratify=True, seed=seed)
    norm = Normalizer.fit(X_tr)
    X_tr, X_te = norm(X_tr), norm(X_te)
    W, b, Y = np.zeros((4, 3)), np.zeros(3), np.eye(3)[y_tr]
    for _ in range(3000):
        z = X_tr @ W + b
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        g = (p - Y) / len(X_tr)
        W -= 0.5 * X_tr.T @ g
        b -= 0.5 * g.sum(0)
    return float(((X_te @ W + b).argmax(1) == y_te).mean())


def test_iris_linear_reaches_95_percent(tmp_path, capsys):
    # The test set has 30 flowers, so one split decides a lot: seed 0's split costs even a
    # fully converged logistic regression two flowers (93.3%). Hence five fixed seeds: the
    # mean must reach 95% and each run must match logistic regression within one flower.
    accs = []
    for seed in range(5):
        code, metrics, _ = train(tmp_path / str(seed), "--dataset", "iris", "--model",
                                 "linear", "--seed", str(seed), "--quiet")
        assert code == 0
        accs.append(metrics[-1]["valid_accuracy"])
        assert accs[-1] >= logistic_regression_accuracy(seed) - 1 / 30 - 1e-9
    with capsys.disabled():
        print(f"\n[iris linear accuracy per seed: {accs}]")
    assert np.mean(accs) >= 0.95


def test_spirals_mlp_reaches_95_percent(tmp_path, capsys):
    code, metrics, _ = train(tmp_path, "--dataset", "spirals", "--quiet")
    assert code == 0
    with capsys.disabled():
        print(f"\n[spirals mlp accuracy: {metrics[-1]['valid_accuracy']:.4f}]")
    assert metrics[-1]["valid_accuracy"] >= 0.95


@pytest.mark.parametrize("args", [
    ["--dataset", "moons", "--epochs", "2"],
    ["--dataset", "iris", "--model", "mlp", "--hidden", "8,8", "--opt", "adam", "--lr", "0.01"],
    ["--epochs", "2", "--sched", "cos", "--bs", "64"],
    ["--epochs", "2", "--sched", "lin", "--momentum", "0"],
    ["--epochs", "2", "--sched", "exp", "--wd", "0"],
    ["--epochs", "2", "--sched", "const", "--opt", "adam", "--lr", "0.001"],
])
def test_option_combinations_run(tmp_path, args):
    code, metrics, out = train(tmp_path, *args, "--quiet")
    assert code == 0
    assert all(np.isfinite(m["train_loss"]) for m in metrics)
    assert (out / "model.npz").exists()


def test_written_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        code, _, out = train(tmp_path, "--dataset", "iris", "--epochs", "1", "--quiet")
    finally:
        os.umask(old)
    assert code == 0
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()}
    assert modes["model.npz"] == 0o644 and set(modes.values()) == {0o644}, modes


def test_schedule_is_applied(tmp_path):
    _, metrics, _ = train(tmp_path, "--epochs", "3", "--sched", "lin", "--lr", "0.3",
                          "--quiet")
    # linear from 0.3 to 0: the lr recorded at the end of each epoch decreases
    lrs = [m["lr"] for m in metrics]
    assert lrs[0] < 0.3 and lrs == sorted(lrs, reverse=True) and lrs[-1] < 0.01


def test_quiet_prints_only_the_final_line(tmp_path, capsys):
    train(tmp_path, "--epochs", "1", "--quiet")
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 1 and captured.err == ""
    assert captured.out.startswith("validation accuracy ")


def test_lr_find(tmp_path, capsys):
    code, metrics, out = train(tmp_path, "--epochs", "1", "--lr-find")
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    suggested = lines[0].removeprefix("lr finder suggests lr ")
    assert suggested != lines[0] and float(suggested) > 0
    # the header shows the lr actually used: the finder's, not the default 0.05
    assert f"; sgd lr {suggested} from the lr finder (one_cycle), 1 epoch of batch size 16" \
        in lines[1]
    assert lines[-1].startswith(f"validation accuracy {metrics[-1]['valid_accuracy']:.4f} "
                                "after 1 epoch in ")
    pytest.importorskip("matplotlib")
    assert (out / "lr_find.png").exists()


def test_diverging_run_fails_cleanly_and_keeps_what_it_has(tmp_path, capsys, monkeypatch):
    marks = []
    if importlib.util.find_spec("matplotlib") is not None:
        from matplotlib.axes import Axes

        original = Axes.axvline
        monkeypatch.setattr(Axes, "axvline", lambda ax, x=0, **kw: marks.append((x, kw))
                            or original(ax, x, **kw))
    # lr 1.5 diverges in the second epoch: the first one's metrics and weights are kept
    code, _, out = train(tmp_path, "--lr", "1.5", "--sched", "const", "--epochs", "3",
                         "--quiet")
    assert code == 1
    err = capsys.readouterr().err.splitlines()
    assert re.match(r"tinygrad-sm train: error: Learner.fit: the loss is (nan|inf) at epoch 1, "
                    r"batch \d+ \(training", err[-1])
    assert err[-2].startswith("kept metrics.csv, metrics.json, model.npz (")
    assert err[-2].endswith(f" in {out}")
    metrics = json.loads((out / "metrics.json").read_text())
    assert [m["epoch"] for m in metrics] == [0] and np.isfinite(metrics[0]["train_loss"])
    weights = serialization.load(out / "model.npz")
    assert set(weights) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    assert all(np.isfinite(w).all() for w in weights.values())
    if importlib.util.find_spec("matplotlib") is not None:
        assert (out / "training.png").read_bytes()[:4] == b"\x89PNG"
        (x, kw), = marks  # the loss plot marks the batch whose loss was nan
        assert kw["label"].startswith("loss not finite (epoch 1, batch ")
        assert x > 0


def write_idx(path, arr):
    arr = np.ascontiguousarray(arr, np.uint8)
    header = bytes([0, 0, 0x08, arr.ndim]) + np.array(arr.shape, ">u4").tobytes()
    with gzip.open(path, "wb") as f:
        f.write(header + arr.tobytes())


def test_mnist_from_local_idx_files(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 60), ("t10k", 20)):
        labels = np.arange(n) % 10
        images = rng.integers(0, 50, size=(n, 6, 6)) + 20 * labels[:, None, None]
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", labels)
    # hand-placed files are checked against the known digests: make these the known ones
    monkeypatch.setattr(mnist, "SHA256", {name: hashlib.sha256((tmp_path / name).read_bytes())
                                          .hexdigest() for name in mnist.SHA256})
    monkeypatch.setenv(mnist.ENV_VAR, str(tmp_path))
    code, metrics, _ = train(tmp_path, "--dataset", "mnist", "--epochs", "2", "--quiet")
    assert code == 0 and len(metrics) == 2


def test_mnist_missing_offline_says_where_to_put_the_files(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(mnist.ENV_VAR, str(tmp_path / "empty"))
    monkeypatch.setattr(mnist, "MIRRORS", [])  # no network in tests
    code, _, _ = train(tmp_path, "--dataset", "mnist")
    assert code == 1
    err = capsys.readouterr().err
    assert "could not download" in err and str(tmp_path / "empty") in err


@pytest.mark.parametrize("args, message", [
    (["--dataset", "imagenet"], "invalid choice: 'imagenet'"),
    (["--model", "cnn"], "invalid choice: 'cnn'"),
    (["--bs", "0"], "--bs: must be > 0"),
    (["--epochs", "two"], "--epochs: expected an integer, got 'two'"),
    (["--seed", "-1"], "--seed: must be an integer >= 0, got -1"),
    (["--momentum", "1.5"], "--momentum: must be in [0, 1) (SGD's momentum or Adam's beta1), "
                            "got 1.5"),
    (["--opt", "adam", "--momentum", "1"], "--momentum: must be in [0, 1)"),
    (["--lr", "-1"], "--lr: must be > 0"),
    (["--hidden", "128,x"], "comma-separated layer widths"),
    (["--hidden", "0"], "layer widths must be >= 1"),
    (["--wd", "-0.1"], "--wd: must be >= 0"),
    (["--sched", "step"], "invalid choice: 'step'"),
    (["--opt", "rmsprop"], "invalid choice: 'rmsprop'"),
])
def test_bad_options_get_one_line_errors(args, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", *args])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("tinygrad-sm train: error: argument ") and message in err
    assert err.endswith("(see 'tinygrad-sm train --help')\n") and err.count("\n") == 1


def no_training(monkeypatch):
    """Make any training fail the test: errors must come before the first epoch."""
    from tinygrad_sm.learner import Learner

    def fit(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(Learner, "fit", fit)


def one_line_error(capsys, command="train"):
    err = capsys.readouterr().err
    assert err.startswith(f"tinygrad-sm {command}: error: ") and err.count("\n") == 1, err
    return err


@pytest.mark.parametrize("where, message", [
    ("file", r"argument --out: .*/file exists and is not a directory"),
    ("file/run", r"argument --out: cannot create .*/file/run: .*/file is not a directory"),
    ("/proc/self/run", r"argument --out: cannot write in /proc/self"),
])
def test_out_is_checked_before_training(tmp_path, capsys, monkeypatch, where, message):
    if where.startswith("/proc") and not Path("/proc/self").is_dir():
        pytest.skip("needs Linux's /proc")
    (tmp_path / "file").write_text("not a directory")
    no_training(monkeypatch)
    with pytest.raises(SystemExit) as exc:
        main(["train", "--out", str(tmp_path / where)])
    assert exc.value.code == 2
    assert re.search(message, one_line_error(capsys))


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root writes into read-only directories")
def test_read_only_out_is_refused_before_training(tmp_path, capsys, monkeypatch):
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o555)
    no_training(monkeypatch)
    try:
        with pytest.raises(SystemExit):
            main(["train", "--out", str(out / "run")])
    finally:
        out.chmod(0o755)
    assert f"argument --out: cannot write in {out}" in one_line_error(capsys)


def test_hidden_too_large_to_allocate_is_refused(tmp_path, capsys, monkeypatch):
    no_training(monkeypatch)
    assert main(["train", "--hidden", "10000000,10000000", "--out", str(tmp_path)]) == 2
    err = one_line_error(capsys)
    w = 10**7
    n = (64 * w + w) + (w * w + w) + (w * 10 + 10)  # weights and biases of the three layers
    assert f"a model of widths 64-10000000-10000000-10 has {n:,} parameters" in err
    assert "choose smaller --hidden widths" in err
    assert main(["graph", "--dataset", "digits", "--hidden", "10000000,10000000", "--out",
                 str(tmp_path / "g.svg")]) == 2
    assert f"{n:,} parameters" in one_line_error(capsys, "graph")

    def no_memory(*args):  # what NumPy raises when the memory runs out after all
        raise MemoryError

    monkeypatch.setattr(cli, "_build_model", no_memory)
    assert main(["train", "--hidden", "64", "--out", str(tmp_path)]) == 2
    assert "not enough memory for a model of widths 64-64-10" in one_line_error(capsys)


def test_version(capsys):
    from tinygrad_sm import __version__

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and capsys.readouterr().out == f"tinygrad-sm {__version__}\n"


def test_help_lists_everything():
    result = subprocess.run([sys.executable, "-m", "tinygrad_sm", "--help"], capture_output=True,
                            text=True, check=True, cwd=Path(__file__).resolve().parents[1])
    for option in ("demo", "train", "graph", "--dataset", "--model", "--hidden", "--epochs", "--bs",
                   "--lr", "--sched", "--opt", "--momentum", "--wd", "--seed", "--out",
                   "--lr-find", "--quiet"):
        assert option in result.stdout


def test_train_help_documents_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    assert "digits: 10 epochs, bs 16, lr 0.05" in " ".join(out.split())
    assert "runs/<timestamp>" in out


def test_default_out_dir_is_timestamped(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--epochs", "1", "--quiet"]) == 0
    assert main(["train", "--epochs", "1", "--quiet"]) == 0
    runs = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert len(runs) == 2 and runs[0][:8].isdigit()


def test_demo_still_works(capsys):
    assert main(["demo"]) == 0
    assert "gradcheck against finite differences: passed" in capsys.readouterr().out


def _has_dot() -> bool:
    import shutil

    return importlib.util.find_spec("graphviz") is not None and shutil.which("dot") is not None


@pytest.mark.skipif(not _has_dot(), reason="needs the graphviz package and the dot binary")
def test_train_writes_the_graph_of_one_step(tmp_path):
    code, _, out = train(tmp_path, "--dataset", "iris", "--epochs", "1", "--quiet")
    svg = (out / "graph.svg").read_text()
    assert code == 0 and svg.lstrip().startswith("<?xml") and "cross_entropy" in svg
    assert "0: Linear" in svg and "0.weight" in svg  # module clusters and parameter names


@pytest.mark.skipif(not _has_dot(), reason="needs the graphviz package and the dot binary")
@pytest.mark.parametrize("suffix", [".svg", ".png"])
def test_graph_command(tmp_path, capsys, suffix):
    path = tmp_path / f"step{suffix}"
    assert main(["graph", "--dataset", "iris", "--model", "mlp", "--out", str(path)]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {path}"
    assert os.listdir(tmp_path) == [path.name]  # nothing else (no DOT source left over)
    data = path.read_bytes()
    if suffix == ".png":
        assert data[:4] == b"\x89PNG"
    else:
        text = data.decode()
        assert "2: Linear" in text and "1: ReLU" in text and "grad" in text


@pytest.mark.skipif(not _has_dot(), reason="needs the graphviz package and the dot binary")
def test_graph_out_without_a_suffix_is_svg_and_says_so(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["graph", "--out", "g"]) == 0
    assert capsys.readouterr().out.strip() == "wrote g.svg"
    assert os.listdir(tmp_path) == ["g.svg"]
    assert (tmp_path / "g.svg").read_text().lstrip().startswith("<?xml")


def test_graph_dot_text_needs_no_graphviz_program(tmp_path, capsys, monkeypatch):
    pytest.importorskip("graphviz")
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot binary on PATH
    assert main(["graph", "--out", str(tmp_path / "g.gv")]) == 0
    assert (tmp_path / "g.gv").read_text().startswith("digraph")


@pytest.mark.parametrize("out, message", [
    ("g.jpeg2000", r"unknown format '.jpeg2000' in .*g.jpeg2000; use one of .svg, .png, .pdf"),
    ("missing/g.svg", r"the directory .*missing does not exist"),
    ("/proc/self/g.svg", r"cannot write in /proc/self"),
    (".", r"\. is a directory; give a file name"),
])
def test_graph_out_is_checked_first(tmp_path, capsys, monkeypatch, out, message):
    if out.startswith("/proc") and not Path("/proc/self").is_dir():
        pytest.skip("needs Linux's /proc")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(["graph", "--out", out])
    assert exc.value.code == 2
    assert re.search("argument --out: " + message, one_line_error(capsys, "graph"))
    assert os.listdir(tmp_path) == []


def test_graph_command_without_dot_explains(tmp_path, monkeypatch, capsys):
    pytest.importorskip("graphviz")
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot binary on PATH
    assert main(["graph", "--out", str(tmp_path / "g.svg")]) == 1
    out = capsys.readouterr().out
    assert "no graph drawn" in out and "apt" in out
    # the DOT text is kept as g.gv, and the note says where and how to draw it
    assert os.listdir(tmp_path) == ["g.gv"]
    assert (tmp_path / "g.gv").read_text().startswith("digraph")
    assert f"The DOT text is in {tmp_path / 'g.gv'}" in out
    assert f"dot -Tsvg {tmp_path / 'g.gv'} -o {tmp_path / 'g.svg'}" in out


def test_train_without_dot_keeps_the_dot_text(tmp_path, monkeypatch, capsys):
    pytest.importorskip("graphviz")
    monkeypatch.setenv("PATH", str(tmp_path))
    code, _, out = train(tmp_path, "--dataset", "iris", "--epochs", "1", "--quiet")
    assert code == 0 and (out / "graph.gv").read_text().startswith("digraph")
    assert "graph.gv" in capsys.readouterr().out.splitlines()[-1]
