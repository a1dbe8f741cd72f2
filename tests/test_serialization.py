"""Tests for tinygrad_sm.serialization: round trips, no pickle, atomic writes, and clear
errors for truncated, corrupt and foreign files."""

import io
import json
import os
import stat
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path

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
    with pytest.raises(SerializationError, match=r"evil.npz: entry 'x' has dtype object, "
                                                 r"which load refuses"):
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


# -- files are written like other tools write them ---------------------------------------------


@pytest.fixture
def umask():
    """Set the process umask for one test (``umask(0o022)``), restoring it afterwards."""
    old = os.umask(0o022)
    os.umask(old)
    yield os.umask
    os.umask(old)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_new_files_follow_the_umask_and_overwritten_files_keep_their_mode(tmp_path, umask):
    umask(0o022)
    save({"w": np.ones(2)}, tmp_path / "a.npz")
    assert mode(tmp_path / "a.npz") == 0o644  # as open() and torch.save give
    umask(0o077)
    save({"w": np.ones(2)}, tmp_path / "b.npz")
    assert mode(tmp_path / "b.npz") == 0o600
    os.chmod(tmp_path / "a.npz", 0o640)
    save({"w": np.zeros(2)}, tmp_path / "a.npz")  # overwriting keeps the file's mode
    assert mode(tmp_path / "a.npz") == 0o640


KILLED_SAVE = """
import os, sys, time
import numpy as np
from tinygrad_sm import serialization

original = np.lib.format.write_array
def slow_write(fp, arr, **kw):
    original(fp, arr, **kw)
    print("writing", flush=True)  # the temporary file exists and is half written
    time.sleep(60)
np.lib.format.write_array = slow_write
serialization.save({"w": np.ones(3)}, sys.argv[1])
"""


def kill_mid_save(path):
    """Run a save in a child process and kill -9 it while the temporary file is open."""
    child = subprocess.Popen([sys.executable, "-c", KILLED_SAVE, str(path)],
                             stdout=subprocess.PIPE, text=True,
                             cwd=Path(__file__).resolve().parents[1])
    assert child.stdout.readline() == "writing\n"
    child.kill()
    child.wait()
    child.stdout.close()


def tmp_files(directory):
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(S.TMP_SUFFIX))


def test_temporary_files_of_killed_saves_are_removed_by_the_next_save(tmp_path):
    path = tmp_path / "model.npz"
    save({"w": np.zeros(3)}, path)
    kill_mid_save(path)
    kill_mid_save(tmp_path / "other.npz")  # another target's: not ours to remove
    killed = tmp_files(tmp_path)
    assert [n.split(".")[1:3] for n in killed] == [["model", "npz"], ["other", "npz"]]
    np.testing.assert_array_equal(load(path)["w"], np.zeros(3))  # the old file is intact

    # a save still running (its process alive) keeps its temporary file
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        running = tmp_path / f".model.npz.{alive.pid}.abcd1234{S.TMP_SUFFIX}"
        running.write_bytes(b"")
        save({"w": np.ones(3)}, path)
        assert tmp_files(tmp_path) == sorted([running.name, killed[1]])
    finally:
        alive.kill()
        alive.wait()
    np.testing.assert_array_equal(load(path)["w"], np.ones(3))


def test_keys_that_cannot_round_trip_are_refused_before_writing(tmp_path):
    path = tmp_path / "good.npz"
    save({"w": np.ones(2)}, path)
    before = path.read_bytes()
    with pytest.raises(ValueError, match=r"save: the key at 'a/b\\x00c' contains a NUL byte"):
        save({"a": {"b\x00c": np.zeros(2)}}, path)
    with pytest.raises(ValueError, match=r"save: the key at 'kkkk.*is 70000 bytes long; an "
                                         r"archive entry name holds at most"):
        save({"k" * 70000: 1}, path)
    with pytest.raises(ValueError, match=r"not valid Unicode"):
        save({"\udc80": 1}, path)
    with pytest.raises(ValueError, match=r"the str at name ends with a NUL character"):
        save({"name": "run\x00"}, path)
    deep: list = []
    for _ in range(S.MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(ValueError, match=rf"nests deeper than {S.MAX_DEPTH} levels"):
        save(deep, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["good.npz"]


def test_keys_ending_in_npy_do_not_shadow_each_other(tmp_path):
    path = tmp_path / "k.npz"
    obj = {"x": np.zeros(2), "x.npy": np.ones(3), "y.npy": np.full(1, 7.0)}
    save(obj, path)
    out = load(path)
    assert set(out) == set(obj)
    for k, v in obj.items():
        np.testing.assert_array_equal(out[k], v)
    with np.load(path, allow_pickle=False) as npz:  # numpy.load reads the same arrays
        np.testing.assert_array_equal(npz["x"], obj["x"])
        assert [np.array_equal(npz[k], obj["x.npy"]) for k in npz.files].count(True) == 1


# -- loading hostile files: bounded memory, clear errors -----------------------------------


def write_archive(path, tree, entries, compression=zipfile.ZIP_STORED, manifest=None):
    """A hand-made archive: the manifest (``tree`` wrapped, or ``manifest`` as given) and
    ``entries`` ({name: array, or raw .npy bytes})."""
    if manifest is None:
        manifest = json.dumps({"format": S.FORMAT, "version": 1, "tree": tree})
    with zipfile.ZipFile(path, "w", compression) as zf:
        with zf.open(S.MANIFEST + ".npy", "w") as f:
            np.lib.format.write_array(f, np.asarray(manifest))
        for name, arr in entries.items():
            with zf.open(name + ".npy", "w", force_zip64=True) as f:
                if isinstance(arr, bytes):
                    f.write(arr)
                else:
                    np.lib.format.write_array(f, arr, allow_pickle=True)
    return path


def leaf(key, **extra):
    return {"kind": "dict", "items": [[key, {"kind": "array", "key": key, **extra}]]}


def npy_header(shape, descr="<f8"):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def test_only_the_entries_the_manifest_names_are_read(tmp_path):
    # 64 MB of zeros deflate to 64 KB: an entry the manifest does not name is never inflated
    path = write_archive(tmp_path / "extra.npz", leaf("w"),
                         {"w": np.arange(3.0), "bomb": np.zeros(8 << 20)},
                         compression=zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        out = load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(out["w"], np.arange(3.0))
    assert peak < 4 << 20  # megabytes, not the 64 MB of the unnamed entry


def test_an_entry_claiming_more_than_it_holds_is_refused_before_allocating(tmp_path):
    huge = npy_header((10**6, 10**6)) + bytes(800)  # claims 8 TB in a 1 KB file
    path = write_archive(tmp_path / "huge.npz", leaf("w"), {"w": huge})
    assert path.stat().st_size < 2048
    with pytest.raises(SerializationError, match=r"huge.npz: entry 'w' declares shape "
                                                 r"\(1000000, 1000000\) of float64 "
                                                 r"\(8000000000000 bytes\) but holds 800"):
        load(path)
    short = write_archive(tmp_path / "short.npz", leaf("w"),
                          {"w": npy_header((10,)) + bytes(40)})
    with pytest.raises(SerializationError, match=r"declares shape \(10,\) .* but holds 40"):
        load(short)


def test_entries_must_match_the_manifest(tmp_path):
    arr = np.arange(6.0).reshape(2, 3)
    bad_shape = write_archive(tmp_path / "s.npz", leaf("w", dtype="<f8", shape=[3, 2]),
                              {"w": arr})
    with pytest.raises(SerializationError, match=r"entry 'w' has shape \(2, 3\) but the "
                                                 r"manifest says \[3, 2\]"):
        load(bad_shape)
    bad_dtype = write_archive(tmp_path / "d.npz", leaf("w", dtype="<f4", shape=[2, 3]),
                              {"w": arr})
    with pytest.raises(SerializationError, match=r"entry 'w' holds <f8 but the manifest "
                                                 r"says '<f4'"):
        load(bad_dtype)
    missing = write_archive(tmp_path / "m.npz", leaf("w"), {})
    with pytest.raises(SerializationError, match=r"names an entry 'w' that the archive does "
                                                 r"not hold"):
        load(missing)
    twice = {"kind": "list", "items": [{"kind": "array", "key": "w"}] * 2}
    with pytest.raises(SerializationError, match=r"names the entry 'w' twice"):
        load(write_archive(tmp_path / "t.npz", twice, {"w": arr}))


@pytest.mark.parametrize("arr", [
    np.array(["2024-01-01"], dtype="datetime64[D]"),
    np.array([b"abc"]),
    np.zeros(2, dtype=[("a", "<f4"), ("b", "<i4")]),
    np.array([1, "x"], dtype=object),
], ids=["datetime", "bytes", "structured", "object"])
def test_dtypes_that_save_refuses_are_refused_on_load(tmp_path, arr):
    with pytest.raises(TypeError, match="cannot be stored without pickle"):
        save({"w": arr}, tmp_path / "refused.npz")
    path = write_archive(tmp_path / "a.npz", leaf("w"), {"w": arr})
    with pytest.raises(SerializationError, match=r"entry 'w' has dtype .*which load refuses"):
        load(path)


@pytest.mark.parametrize("manifest, message", [
    ("[1, 2]", "the manifest is a JSON list, not an object"),
    ("3", "the manifest is a JSON int, not an object"),
    ("{not json", "the manifest is not valid JSON"),
    ("[" * 100_000 + "]" * 100_000, "the manifest nests too deep"),
    (json.dumps({"format": S.FORMAT, "version": 1, "tree": {"kind": "dict", "items": [[1]]}}),
     r"the dict at <root> has an item that is not a \[str or int key, value\] pair"),
    (json.dumps({"format": S.FORMAT, "version": 1, "tree": 5}),
     r"the manifest entry at <root> is not a \{'kind': ...\} object"),
    (json.dumps({"format": S.FORMAT, "version": 1,
                 "tree": {"kind": "int", "key": "w"}}), r"the int at <root> is an array"),
], ids=["list", "number", "not-json", "deep-json", "bad-item", "bad-node", "bad-leaf"])
def test_malformed_manifests_give_serialization_errors(tmp_path, manifest, message):
    path = write_archive(tmp_path / "m.npz", None, {"w": np.ones(2)}, manifest=manifest)
    with pytest.raises(SerializationError, match=message):
        load(path)


def test_a_manifest_nesting_too_deep_is_refused(tmp_path):
    tree: dict = {"kind": "none"}
    for _ in range(S.MAX_DEPTH + 1):
        tree = {"kind": "list", "items": [tree]}
    path = write_archive(tmp_path / "deep.npz", tree, {})
    with pytest.raises(SerializationError, match=rf"deep.npz: the manifest nests deeper than "
                                                 rf"{S.MAX_DEPTH} levels"):
        load(path)
