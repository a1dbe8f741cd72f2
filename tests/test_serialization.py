"""Tests for tinygrad_sm.serialization: round trips, no pickle, atomic writes, and clear
errors for truncated, corrupt and foreign files."""

import os
import zipfile

import numpy as np
import pytest

from tinygrad_sm import nn
from tinygrad_sm import serialization as S
from tinygrad_sm.core.creation import randn, tensor
from tinygrad_sm.serialization import SerializationError, load, save


def mlp():
    return nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))


def test_state_dict_round_trip_restores_the_model(tmp_path):
    a, b = mlp(), mlp()
    path = tmp_path / "model.npz"
    save(a.state_dict(), path)
    sd = load(path)
    assert list(sd) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert all(type(v) is np.ndarray and v.dtype == np.float32 for v in sd.values())
    b.load_state_dict(sd)
    x = randn(5, 4)
    np.testing.assert_array_equal(a(x).data, b(x).data)


def test_nested_checkpoint_round_trip(tmp_path):
    obj = {
        "model": {"0.weight": tensor(np.arange(6.0).reshape(2, 3)), "0.bias": np.ones(2)},
        "epoch": 7, "lr": 0.125, "done": False, "name": "run-1", "none": None,
        "history": [1.5, 2.5, (3, "x")], "ints": np.arange(3, dtype=np.int32),
        "mask": np.array([True, False]), "scalar": np.float32(2.5), 3: "int key",
        "file": np.zeros(1),  # a name numpy.savez would take as its own argument
        "a/b": np.array([1.0]), "a": {"b": np.array([2.0])},  # both flatten to 'a/b'
        "empty": {}, "rng_state": '{"state": 1}',
    }
    path = tmp_path / "ckpt.npz"
    save(obj, path)
    out = load(path)
    assert set(out) == set(obj)
    np.testing.assert_array_equal(out["model"]["0.weight"], np.arange(6.0).reshape(2, 3))
    assert type(out["model"]["0.weight"]) is np.ndarray  # a Tensor comes back as an array
    assert out["epoch"] == 7 and type(out["epoch"]) is int
    assert out["lr"] == 0.125 and type(out["lr"]) is float
    assert out["done"] is False and out["none"] is None and out["name"] == "run-1"
    assert out["history"] == [1.5, 2.5, (3, "x")]
    assert out["ints"].dtype == np.int32 and out["mask"].dtype == bool
    assert out["scalar"] == np.float32(2.5) and type(out["scalar"]) is np.float32
    assert out[3] == "int key" and out["empty"] == {} and out["rng_state"] == '{"state": 1}'
    assert out["a/b"][0] == 1.0 and out["a"]["b"][0] == 2.0
    # the file is a plain .npz with flattened keys
    with np.load(path, allow_pickle=False) as npz:
        assert "model/0.weight" in npz.files and "epoch" in npz.files
        assert "history/2/1" in npz.files


def test_unsupported_values_raise(tmp_path):
    path = tmp_path / "x.npz"
    with pytest.raises(TypeError, match=r"save: cannot store a Sequential at <root> \(save "
                                        r"model.state_dict\(\), not the model\)"):
        save(mlp(), path)
    with pytest.raises(TypeError, match=r"save: cannot store a set at a/b"):
        save({"a": {"b": {1, 2}}}, path)
    with pytest.raises(TypeError, match=r"save: arrays of dtype object cannot be stored"):
        save({"a": np.array([None])}, path)
    with pytest.raises(TypeError, match=r"save: dict keys must be str or int"):
        save({(1, 2): 3}, path)
    assert not path.exists() and os.listdir(tmp_path) == []


def test_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    save({"w": np.ones(3)}, path)
    before = path.read_bytes()
    calls = []

    def failing_write(fp, arr, **kw):
        calls.append(1)
        if len(calls) == 2:  # the manifest is written, then the first array fails
            raise OSError("disk full")
        return original(fp, arr, **kw)

    original = np.lib.format.write_array
    monkeypatch.setattr(np.lib.format, "write_array", failing_write)
    with pytest.raises(OSError, match="disk full"):
        save({"w": np.zeros(3), "v": np.zeros(2)}, path)
    assert path.read_bytes() == before  # the old file is intact
    assert os.listdir(tmp_path) == ["model.npz"]  # and no temporary file is left behind
    monkeypatch.undo()
    np.testing.assert_array_equal(load(path)["w"], np.ones(3))


def test_missing_empty_foreign_truncated_and_corrupt_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nope.npz")
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    with pytest.raises(SerializationError, match=r"load: .*empty.npz is empty"):
        load(empty)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(SerializationError, match=r"is not a tinygrad_sm checkpoint: it is not "
                                                 r"an .npz \(zip\) archive"):
        load(text)
    npy = tmp_path / "a.npy"
    np.save(npy, np.ones(3))
    with pytest.raises(SerializationError, match=r"it is a .npy array"):
        load(npy)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, w=np.ones(3))
    with pytest.raises(SerializationError, match=r"was not written by tinygrad_sm.save"):
        load(foreign)

    good = tmp_path / "good.npz"
    save({"w": np.arange(1000.0), "b": np.ones(10)}, good)
    data = good.read_bytes()
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(SerializationError, match=r"truncated.npz is truncated, corrupt"):
        load(truncated)
    corrupt = tmp_path / "corrupt.npz"
    mid = len(data) // 2  # inside the 8000 bytes of 'w': a CRC mismatch
    corrupt.write_bytes(data[:mid] + bytes(b ^ 0xFF for b in data[mid:mid + 16])
                        + data[mid + 16:])
    with pytest.raises(SerializationError, match=r"corrupt.npz is truncated, corrupt"):
        load(corrupt)
    assert issubclass(SerializationError, ValueError)


def test_loading_never_unpickles(tmp_path):
    """A file holding a pickled object array is refused before anything is executed."""
    flag = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(flag), "w"))

    path = tmp_path / "evil.npz"
    with zipfile.ZipFile(path, "w") as zf:
        with zf.open(S.MANIFEST + ".npy", "w") as f:
            manifest = ('{"format": "tinygrad_sm.checkpoint", "version": 1, "tree": '
                        '{"kind": "dict", "items": [["x", {"kind": "array", "key": "x"}]]}}')
            np.lib.format.write_array(f, np.asarray(manifest))
        with zf.open("x.npy", "w") as f:
            np.lib.format.write_array(f, np.array([Evil()], dtype=object), allow_pickle=True)
    with pytest.raises(SerializationError, match=r"not a valid checkpoint .*Object arrays"):
        load(path)
    assert not flag.exists()


def test_newer_format_version_is_refused(tmp_path):
    path = tmp_path / "future.npz"
    with zipfile.ZipFile(path, "w") as zf, zf.open(S.MANIFEST + ".npy", "w") as f:
        np.lib.format.write_array(f, np.asarray(
            '{"format": "tinygrad_sm.checkpoint", "version": 99, "tree": {"kind": "none"}}'))
    with pytest.raises(SerializationError, match=r"written by a newer tinygrad_sm \(format "
                                                 r"version 99"):
        load(path)


def test_path_is_used_as_given_and_overwritten(tmp_path):
    path = tmp_path / "weights.ckpt"
    save({"a": 1}, str(path))
    save({"a": 2}, path)
    assert os.listdir(tmp_path) == ["weights.ckpt"]
    assert load(str(path)) == {"a": 2}
