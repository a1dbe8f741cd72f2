"""Tests for tinygrad_sm.datasets. None of them touches the network."""

from __future__ import annotations

import gzip
import hashlib
import re
import shutil
import struct
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_sm.datasets.mnist as mnist_mod
from tinygrad_sm.core import rng as rng_mod
from tinygrad_sm.datasets import (
    LabeledData,
    load_digits,
    load_iris,
    load_mnist,
    make_blobs,
    make_moons,
    make_spirals,
    read_idx,
)
from tinygrad_sm.datasets.bundled import DATA_DIR

IDX_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C}
IDX_CODES.update({np.float32: 0x0D, np.float64: 0x0E})


@pytest.fixture(autouse=True)
def _no_network(tmp_path_factory, monkeypatch):
    # Any download a test did not set up goes to an empty local folder, never the internet,
    # and the default root never points at the real ~/.cache.
    nowhere = tmp_path_factory.mktemp("no_mirror")
    monkeypatch.setattr(mnist_mod, "MIRRORS", [nowhere.as_uri() + "/"])
    monkeypatch.setenv("TINYGRAD_SM_DATA", str(tmp_path_factory.mktemp("default_root")))
    # write_mnist registers the digests of the fake files it writes in this test's copy.
    monkeypatch.setattr(mnist_mod, "SHA256", dict(mnist_mod.SHA256))


@pytest.fixture(autouse=True)
def _keep_package_rng():
    # Some tests reseed the package generator; give other test modules their state back.
    state = rng_mod.get_rng_state()
    yield
    rng_mod.set_rng_state(state)


def write_idx(path: Path, array: np.ndarray) -> Path:
    """Write ``array`` as an IDX file, gzipped when ``path`` ends in .gz."""
    array = np.asarray(array)
    header = bytes([0, 0, IDX_CODES[array.dtype.type], array.ndim])
    header += struct.pack(f">{array.ndim}I", *array.shape)
    raw = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    path.write_bytes(gzip.compress(raw) if path.suffix == ".gz" else raw)
    return path


def fake_mnist(rng: np.random.Generator, n_train: int = 7, n_test: int = 5) -> dict:
    """Small random arrays standing in for the four MNIST files."""
    return {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test, dtype=np.uint8),
    }


def write_mnist(folder: Path, arrays: dict, gz: bool) -> None:
    """Write fake MNIST files; the gzipped ones' digests become the expected ones."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in arrays.items():
        path = write_idx(folder / (name + (".gz" if gz else "")), array)
        if gz:
            mnist_mod.SHA256[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()


def check_mnist(result, arrays: dict) -> None:
    train, test = result
    for part, prefix in ((train, "train"), (test, "t10k")):
        images = arrays[f"{prefix}-images-idx3-ubyte"]
        labels = arrays[f"{prefix}-labels-idx1-ubyte"]
        assert isinstance(part, LabeledData)
        assert part.X.shape == (len(images), 784) and part.X.dtype == np.float32
        assert part.y.dtype == np.int64
        assert part.classes == tuple("0123456789")
        np.testing.assert_allclose(part.X, images.reshape(len(images), -1) / 255.0, rtol=1e-6)
        np.testing.assert_array_equal(part.y, labels)
        assert part.X.min() >= 0.0 and part.X.max() <= 1.0


# ---------------------------------------------------------------- bundled data


def test_iris_shape_dtype_and_classes():
    data = load_iris()
    X, y, names = data
    assert isinstance(data, LabeledData)
    assert X.shape == (150, 4) and X.dtype == np.float32
    assert y.shape == (150,) and y.dtype == np.int64
    assert names == ("setosa", "versicolor", "virginica")
    assert np.bincount(y).tolist() == [50, 50, 50]
    # The file is sorted by species.
    np.testing.assert_array_equal(y, np.repeat([0, 1, 2], 50))


def test_iris_known_values():
    X, y, _ = load_iris()
    np.testing.assert_array_equal(X[0], np.float32([5.1, 3.5, 1.4, 0.2]))
    np.testing.assert_array_equal(X[-1], np.float32([5.9, 3.0, 5.1, 1.8]))
    # Rows 35 and 38 follow Fisher's paper (as R and scikit-learn), not the UCI file's typos.
    np.testing.assert_array_equal(X[34], np.float32([4.9, 3.1, 1.5, 0.2]))
    np.testing.assert_array_equal(X[37], np.float32([4.9, 3.6, 1.4, 0.1]))
    np.testing.assert_allclose(X.mean(axis=0), [5.8433, 3.0573, 3.758, 1.1993], atol=1e-3)
    assert X.min() == np.float32(0.1) and X.max() == np.float32(7.9)


def test_digits_shape_dtype_and_range():
    X, y, names = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert names == tuple(str(d) for d in range(10))
    assert X.min() == 0 and X.max() == 16
    np.testing.assert_array_equal(X, np.round(X))  # raw block counts, not scaled


def test_digits_class_counts_and_first_image():
    X, y, _ = load_digits()
    # The UCI optdigits test set's published class distribution.
    assert np.bincount(y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    assert y[:10].tolist() == list(range(10))
    first = X[0].reshape(8, 8)
    np.testing.assert_array_equal(first[0], [0, 0, 5, 13, 9, 1, 0, 0])
    np.testing.assert_array_equal(first[1], [0, 0, 13, 15, 10, 15, 5, 0])
    assert X[0].sum() == 294


def test_bundled_loads_return_fresh_arrays():
    X, y, _ = load_iris()
    X[:] = -1
    y[:] = 7
    again = load_iris()
    assert again.X[0, 0] == np.float32(5.1) and again.y[0] == 0
    d = load_digits()
    d.X[:] = 99
    assert load_digits().X.max() == 16


def test_bundled_files_are_small_and_pickle_free():
    digits = DATA_DIR / "digits.npz"
    assert digits.stat().st_size < 200_000
    with np.load(digits, allow_pickle=False) as f:
        assert sorted(f.files) == ["labels", "pixels"]
        assert f["pixels"].dtype == np.uint8 and f["labels"].dtype == np.uint8
    assert (DATA_DIR / "iris.csv").stat().st_size < 10_000
    assert (DATA_DIR / "README.md").is_file()


def test_labeled_data_repr_is_short():
    text = repr(load_digits())
    assert text.startswith("LabeledData(X=float32[1797, 64], y=int64[1797]")
    assert len(text) < 200


# ---------------------------------------------------------------- toy sets


TOY = [
    (make_spirals, {"n_samples": 301, "n_classes": 4}, 4),
    (make_moons, {"n_samples": 201}, 2),
    (make_blobs, {"n_samples": 302, "centers": 3}, 3),
]
TOY_IDS = ["spirals", "moons", "blobs"]


@pytest.mark.parametrize("make, kwargs, k", TOY, ids=TOY_IDS)
def test_toy_shapes_dtypes_and_balance(make, kwargs, k):
    X, y, names = make(**kwargs, seed=0)
    n = kwargs["n_samples"]
    assert X.shape == (n, 2) and X.dtype == np.float32
    assert y.shape == (n,) and y.dtype == np.int64
    assert names == tuple(str(i) for i in range(k))
    counts = np.bincount(y, minlength=k)
    assert len(counts) == k and counts.sum() == n
    assert counts.max() - counts.min() <= 1
    assert np.all(np.isfinite(X))


@pytest.mark.parametrize("make, kwargs, k", TOY, ids=TOY_IDS)
def test_toy_reproducible_with_seed(make, kwargs, k):
    a, b, c = make(**kwargs, seed=3), make(**kwargs, seed=3), make(**kwargs, seed=4)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.X, c.X)


@pytest.mark.parametrize("make, kwargs, k", TOY, ids=TOY_IDS)
def test_toy_without_seed_uses_package_generator(make, kwargs, k):
    rng_mod.manual_seed(123)
    a = make(**kwargs)
    b = make(**kwargs)  # the generator moved on
    rng_mod.manual_seed(123)
    c = make(**kwargs)
    np.testing.assert_array_equal(a.X, c.X)
    assert not np.array_equal(a.X, b.X)


def test_toy_rows_are_shuffled():
    _, y, _ = make_spirals(300, 3, seed=0)
    assert not np.array_equal(y, np.sort(y))


def test_spirals_geometry_without_noise():
    X, y, _ = make_spirals(n_samples=90, n_classes=3, noise=0.0, seed=0)
    radius = np.hypot(X[:, 0], X[:, 1])
    assert radius.max() == pytest.approx(1.0, abs=1e-6)
    assert radius.min() == pytest.approx(0.0, abs=1e-6)
    # Each arm's outermost point ends 4 radians after its start angle 2*pi*k/3.
    for k in range(3):
        arm = X[y == k]
        tip = arm[np.argmax(np.hypot(arm[:, 0], arm[:, 1]))]
        expected = 2 * np.pi * k / 3 + 4.0
        np.testing.assert_allclose(tip, [np.sin(expected), np.cos(expected)], atol=1e-5)


def test_moons_geometry_without_noise():
    X, y, _ = make_moons(n_samples=100, noise=0.0, seed=0)
    top, bottom = X[y == 0].astype(np.float64), X[y == 1].astype(np.float64)
    np.testing.assert_allclose(np.hypot(top[:, 0], top[:, 1]), 1.0, atol=1e-6)
    assert top[:, 1].min() >= -1e-6
    np.testing.assert_allclose(np.hypot(bottom[:, 0] - 1, bottom[:, 1] - 0.5), 1.0, atol=1e-6)
    assert bottom[:, 1].max() <= 0.5 + 1e-6


def test_moons_noise_scales_spread():
    X, y, _ = make_moons(n_samples=2000, noise=0.3, seed=1)
    top = X[y == 0].astype(np.float64)
    residual = np.hypot(top[:, 0], top[:, 1]) - 1.0
    assert 0.15 < residual.std() < 0.45


def test_blobs_given_centers_and_std():
    centers = [[0.0, 0.0, 0.0], [10.0, -5.0, 2.0]]
    X, y, names = make_blobs(4000, centers=centers, cluster_std=[0.5, 2.0], seed=0)
    assert X.shape == (4000, 3) and names == ("0", "1")
    for k, (center, std) in enumerate(zip(centers, [0.5, 2.0], strict=True)):
        pts = X[y == k].astype(np.float64)
        np.testing.assert_allclose(pts.mean(axis=0), center, atol=0.15)
        np.testing.assert_allclose(pts.std(axis=0), std, rtol=0.1)


def test_blobs_zero_std_sits_on_centers_in_box():
    X, y, _ = make_blobs(50, centers=5, cluster_std=0.0, n_features=4, seed=2)
    assert X.shape == (50, 4)
    for k in range(5):
        pts = X[y == k]
        assert np.all(pts == pts[0])
    assert np.all(np.abs(X) <= 10)
    assert len(np.unique(X, axis=0)) == 5


BAD_TOY_CALLS = [
    (make_spirals, {"n_samples": 0}, ValueError, r"make_spirals: n_samples .* got 0"),
    (make_spirals, {"n_samples": 2, "n_classes": 3}, ValueError, r"n_samples .*>= 3.* got 2"),
    (make_spirals, {"n_classes": 1}, ValueError, r"make_spirals: n_classes .*>= 2, got 1"),
    (make_spirals, {"noise": -0.1}, ValueError, r"make_spirals: noise .*>= 0, got -0.1"),
    (make_spirals, {"noise": float("nan")}, ValueError, r"make_spirals: noise .* got nan"),
    (make_spirals, {"n_samples": 10.0}, TypeError, r"make_spirals: n_samples must be an int"),
    (make_spirals, {"n_classes": True}, TypeError, r"make_spirals: n_classes must be an int"),
    (make_moons, {"n_samples": 1}, ValueError, r"make_moons: n_samples .*>= 2.* got 1"),
    (make_moons, {"noise": -1}, ValueError, r"make_moons: noise .* got -1"),
    (make_moons, {"noise": "0.1"}, TypeError, r"make_moons: noise must be a number"),
    (make_blobs, {"n_samples": 0}, ValueError, r"make_blobs: n_samples .* got 0"),
    (make_blobs, {"centers": 0}, ValueError, r"make_blobs: centers must be >= 1, got 0"),
    (make_blobs, {"n_features": 0}, ValueError, r"make_blobs: n_features must be >= 1, got 0"),
    (make_blobs, {"cluster_std": -2.0}, ValueError, r"make_blobs: cluster_std .* got -2.0"),
    (make_blobs, {"cluster_std": [1.0, 2.0]}, ValueError, r"make_blobs: cluster_std .*\(3\)"),
    (make_blobs, {"centers": [1.0, 2.0]}, ValueError, r"make_blobs: centers .*shape \(2,\)"),
]


@pytest.mark.parametrize("make, kwargs, exc, match", BAD_TOY_CALLS)
def test_toy_bad_arguments(make, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        make(**kwargs, seed=0)


def test_toy_bad_arguments_leave_package_generator_alone():
    rng_mod.manual_seed(5)
    expected = rng_mod.get_rng().random()
    rng_mod.manual_seed(5)
    with pytest.raises(ValueError):
        make_blobs(n_samples=2, centers=3)
    assert rng_mod.get_rng().random() == expected


# ---------------------------------------------------------------- IDX files


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize(
    "array",
    [
        np.arange(24, dtype=np.uint8).reshape(2, 3, 4),
        np.array([-128, 0, 127], dtype=np.int8),
        np.array([[-30000, 5], [7, 30000]], dtype=np.int16),
        np.array([2**31 - 1, -(2**31)], dtype=np.int32),
        np.array([[1.5, -0.25, 3e38]], dtype=np.float32),
        np.array([np.pi, -1e300], dtype=np.float64),
        np.zeros((0, 28, 28), dtype=np.uint8),
    ],
    ids=lambda a: f"{a.dtype}{list(a.shape)}",
)
def test_idx_round_trip(tmp_path, array, suffix):
    path = write_idx(tmp_path / f"data.idx{suffix}", array)
    back = read_idx(path)
    assert back.dtype == array.dtype.newbyteorder("=") and back.shape == array.shape
    np.testing.assert_array_equal(back, array)
    back[...] = 0  # a writable copy, not a view of the file's bytes


@settings(max_examples=40, deadline=None)
@given(
    shape=st.lists(st.integers(0, 5), min_size=1, max_size=4),
    dtype=st.sampled_from(list(IDX_CODES)),
    gz=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_idx_round_trip_property(tmp_path_factory, shape, dtype, gz, seed):
    gen = np.random.default_rng(seed)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        array = gen.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
    else:
        array = gen.normal(0, 1e3, size=shape).astype(dtype)
    path = write_idx(tmp_path_factory.mktemp("idx") / ("a.idx" + (".gz" if gz else "")), array)
    np.testing.assert_array_equal(read_idx(path), array)


def test_idx_reads_known_bytes(tmp_path):
    # Written by hand rather than with write_idx, so the test does not share its bugs.
    path = tmp_path / "labels-idx1-ubyte"
    path.write_bytes(bytes.fromhex("00000801 00000003 070209".replace(" ", "")))
    np.testing.assert_array_equal(read_idx(path), [7, 2, 9])
    path2 = tmp_path / "shorts-idx2"
    path2.write_bytes(bytes.fromhex("00000b02 00000001 00000002 fffe0100".replace(" ", "")))
    np.testing.assert_array_equal(read_idx(path2), [[-2, 256]])


def _good_idx() -> bytes:
    return bytes.fromhex("00000803000000020000000200000002") + bytes(range(8))


BAD_IDX = [
    ("empty", b"", r"truncated: 0 bytes"),
    ("bad_magic", b"\x12\x34" + _good_idx()[2:], r"bad magic number 0x12340803"),
    ("bad_type", b"\x00\x00\x07\x03" + _good_idx()[4:], r"unknown IDX type code 0x07"),
    ("zero_dims", b"\x00\x00\x08\x00", r"declares 0 dimensions"),
    ("short_header", _good_idx()[:10], r"truncated inside its header \(10 of 16 bytes\)"),
    ("short_payload", _good_idx()[:-1], r"truncated: shape \(2, 2, 2\) needs 8 .* found 7"),
    ("trailing", _good_idx() + b"\x00\x00", r"2 unexpected trailing bytes"),
]


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("name, raw, match", BAD_IDX, ids=[b[0] for b in BAD_IDX])
def test_idx_errors_name_the_file(tmp_path, name, raw, match, suffix):
    path = tmp_path / f"{name}-idx3-ubyte{suffix}"
    path.write_bytes(gzip.compress(raw) if suffix else raw)
    with pytest.raises(ValueError, match=match) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_idx_good_reference_is_valid(tmp_path):
    path = tmp_path / "good-idx3-ubyte"
    path.write_bytes(_good_idx())
    np.testing.assert_array_equal(read_idx(path), np.arange(8).reshape(2, 2, 2))


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_idx_corrupt_gzip(tmp_path, damage):
    packed = gzip.compress(_good_idx() * 50)
    path = tmp_path / "x-idx3-ubyte.gz"
    path.write_bytes(packed[: len(packed) // 2] if damage == "truncate" else b"not gzip at all")
    with pytest.raises(ValueError, match="not a valid gzip file") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def peak_memory(f, *args):
    """``f(*args)``'s result (or exception) and the peak memory it allocated, in bytes."""
    tracemalloc.start()
    try:
        try:
            result = f(*args)
        except Exception as e:  # noqa: BLE001 - returned for the caller to check
            result = e
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def idx_header(shape, code=0x08):
    return bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)


@pytest.mark.parametrize("data, message", [
    # the probe's case: a 2 MB gz (random bytes do not compress) whose header claims 2 GB
    (np.random.default_rng(0).bytes(2 << 20),
     r"does not match its header: its header declares shape \(32768, 256, 256\) of uint8: "
     r"2147483648 values, 2147483648 data bytes .* but its gzip trailer says it holds "
     r"2097168 bytes"),
    # zeros compress 1000-fold: the file is too small to expand to what it claims
    (bytes(2 << 20), r"is too small for its header: its header declares shape \(32768, 256, "
                     r"256\) .*, but a \d+-byte gzip file expands to at most \d+ bytes"),
], ids=["trailer", "deflate-bound"])
def test_idx_huge_claim_in_a_small_gz_is_refused_at_once(tmp_path, data, message):
    path = tmp_path / "claims-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(idx_header((2**15, 2**8, 2**8)) + data, compresslevel=1))
    err, peak = peak_memory(read_idx, path)
    assert isinstance(err, ValueError) and str(path) in str(err)
    assert re.search(message, str(err)), str(err)
    assert peak < 1 << 20  # nothing of the claimed 2 GB, nor of the real 2 MB, was read


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_dimensions_whose_product_overflows(tmp_path, suffix):
    shape = (2**32 - 1, 2**32 - 1, 2**32 - 1)  # 2**96 bytes: no int64 holds the size
    path = tmp_path / f"overflow-idx3-ubyte{suffix}"
    raw = idx_header(shape, code=0x0E) + bytes(64)
    path.write_bytes(gzip.compress(raw) if suffix else raw)
    err, peak = peak_memory(read_idx, path)
    n = (2**32 - 1) ** 3
    assert isinstance(err, ValueError) and str(path) in str(err)
    assert f"shape {shape}" in str(err) and str(8 * n) in str(err)  # exact sizes
    assert peak < 1 << 20


def test_idx_streams_a_gzip_into_one_array(tmp_path):
    payload = np.arange(8 << 20, dtype=np.uint32).astype(np.uint8).reshape(-1, 1024)
    path = write_idx(tmp_path / "big-idx2-ubyte.gz", payload)
    data, peak = peak_memory(read_idx, path)
    np.testing.assert_array_equal(data, payload)
    assert peak < 1.25 * payload.nbytes  # the array, plus one chunk; not a second copy
    floats = np.linspace(0, 1, 1 << 20).reshape(-1, 8)  # big-endian on disk: swapped in place
    data, peak = peak_memory(read_idx, write_idx(tmp_path / "f-idx2.gz", floats))
    np.testing.assert_array_equal(data, floats)
    assert data.dtype == np.float64 and data.dtype.isnative
    assert peak < 1.25 * floats.nbytes


def test_load_mnist_checks_hand_placed_gz_files(tmp_path):
    arrays = fake_mnist(np.random.default_rng(11))
    write_mnist(tmp_path, arrays, gz=True)
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    wrong = fake_mnist(np.random.default_rng(12))["t10k-images-idx3-ubyte"]
    write_idx(path, wrong)  # a well-formed file, but not the one whose digest is known
    with pytest.raises(ValueError) as info:
        load_mnist(tmp_path, download=False)
    message = str(info.value)
    assert f"{path} is not the standard MNIST file: its SHA-256 is " in message
    assert mnist_mod.SHA256[path.name] in message
    assert "delete it and load again to download it" in message and "verify=False" in message
    arrays["t10k-images-idx3-ubyte"] = wrong
    check_mnist(load_mnist(tmp_path, download=False, verify=False), arrays)


# ---------------------------------------------------------------- load_mnist


@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist_from_local_files(tmp_path, gz):
    arrays = fake_mnist(np.random.default_rng(0))
    write_mnist(tmp_path, arrays, gz=gz)
    check_mnist(load_mnist(tmp_path, download=False), arrays)


def test_load_mnist_mixed_plain_and_gz_and_str_root(tmp_path):
    arrays = fake_mnist(np.random.default_rng(1))
    for i, (name, array) in enumerate(arrays.items()):
        write_idx(tmp_path / (name + (".gz" if i % 2 else "")), array)
    check_mnist(load_mnist(str(tmp_path), download=False, verify=False), arrays)


def test_load_mnist_scaling_endpoints(tmp_path):
    arrays = fake_mnist(np.random.default_rng(2), n_train=2, n_test=1)
    arrays["train-images-idx3-ubyte"][0] = 0
    arrays["train-images-idx3-ubyte"][1] = 255
    write_mnist(tmp_path, arrays, gz=True)
    train, _ = load_mnist(tmp_path, download=False)
    assert np.all(train.X[0] == 0) and np.all(train.X[1] == 1)


def test_load_mnist_default_root_from_env(tmp_path, monkeypatch):
    arrays = fake_mnist(np.random.default_rng(3))
    write_mnist(tmp_path / "env_root", arrays, gz=True)
    monkeypatch.setenv("TINYGRAD_SM_DATA", str(tmp_path / "env_root"))
    assert mnist_mod.default_root() == tmp_path / "env_root"
    check_mnist(load_mnist(download=False), arrays)


def test_default_root_without_env(monkeypatch, tmp_path):
    monkeypatch.delenv("TINYGRAD_SM_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert mnist_mod.default_root() == tmp_path / ".cache" / "tinygrad_sm" / "mnist"


def test_load_mnist_missing_without_download(tmp_path):
    arrays = fake_mnist(np.random.default_rng(4))
    del arrays["t10k-labels-idx1-ubyte"]
    write_mnist(tmp_path, arrays, gz=True)
    with pytest.raises(FileNotFoundError) as info:
        load_mnist(tmp_path, download=False)
    message = str(info.value)
    assert "t10k-labels-idx1-ubyte" in message and "train-images" not in message.split("\n")[0]
    assert str(tmp_path) in message and "by hand" in message
    assert not (tmp_path / "t10k-labels-idx1-ubyte.gz").exists()


def _serve(folder: Path, arrays: dict, monkeypatch, digests: dict | None = None) -> dict:
    """Lay out gzipped files as a 'mirror' and point the module's tables at them."""
    write_mnist(folder, arrays, gz=True)
    real = {
        name + ".gz": hashlib.sha256((folder / (name + ".gz")).read_bytes()).hexdigest()
        for name in arrays
    }
    monkeypatch.setattr(mnist_mod, "SHA256", digests or real)
    return real


def test_load_mnist_downloads_verifies_and_caches(tmp_path, monkeypatch):
    arrays = fake_mnist(np.random.default_rng(5))
    mirror, root = tmp_path / "mirror", tmp_path / "cache" / "mnist"
    _serve(mirror, arrays, monkeypatch)
    # The first mirror is dead; the loader must fall through to the second.
    monkeypatch.setattr(mnist_mod, "MIRRORS", [(tmp_path / "dead").as_uri(), mirror.as_uri()])
    check_mnist(load_mnist(root), arrays)
    assert sorted(p.name for p in root.iterdir()) == sorted(n + ".gz" for n in arrays)
    # Cached now: works with the mirror gone and download disabled.
    shutil.rmtree(mirror)
    check_mnist(load_mnist(root, download=False), arrays)
    check_mnist(load_mnist(root), arrays)


def test_load_mnist_downloads_only_missing_files(tmp_path, monkeypatch):
    arrays = fake_mnist(np.random.default_rng(6))
    mirror, root = tmp_path / "mirror", tmp_path / "root"
    _serve(mirror, arrays, monkeypatch)
    monkeypatch.setattr(mnist_mod, "MIRRORS", [mirror.as_uri() + "/"])
    local = dict(arrays)
    local["train-labels-idx1-ubyte"] = (arrays["train-labels-idx1-ubyte"] + 1) % 10
    write_mnist(root, {"train-labels-idx1-ubyte": local["train-labels-idx1-ubyte"]}, gz=False)
    check_mnist(load_mnist(root), local)  # the local file wins over the mirror's
    assert not (root / "train-labels-idx1-ubyte.gz").exists()


def test_load_mnist_checksum_mismatch_leaves_nothing(tmp_path, monkeypatch):
    arrays = fake_mnist(np.random.default_rng(7))
    mirror, root = tmp_path / "mirror", tmp_path / "root"
    real = _serve(mirror, arrays, monkeypatch)
    bad = dict(real, **{"train-images-idx3-ubyte.gz": "0" * 64})
    monkeypatch.setattr(mnist_mod, "SHA256", bad)
    monkeypatch.setattr(mnist_mod, "MIRRORS", [mirror.as_uri()])
    with pytest.raises(RuntimeError) as info:
        load_mnist(root)
    message = str(info.value)
    assert "SHA-256 mismatch" in message and real["train-images-idx3-ubyte.gz"] in message
    assert str(root) in message and "by hand" in message
    assert list(root.iterdir()) == []  # no partial or temp file left behind


def test_load_mnist_network_failure_is_clear(tmp_path, monkeypatch):
    root = tmp_path / "root"
    monkeypatch.setattr(mnist_mod, "MIRRORS", [(tmp_path / "offline").as_uri()])
    with pytest.raises(RuntimeError, match="could not download train-images-idx3-ubyte.gz") as e:
        load_mnist(root)
    assert str(root) in str(e.value) and "TINYGRAD_SM_DATA" in str(e.value)
    assert list(root.iterdir()) == []


def test_download_interrupted_midway_leaves_nothing(tmp_path, monkeypatch):
    class Broken:
        def __init__(self):
            self.calls = 0

        def read(self, n):
            self.calls += 1
            if self.calls > 1:
                raise ConnectionResetError("connection reset mid-file")
            return b"partial"

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(mnist_mod.urllib.request, "urlopen", lambda url, timeout: Broken())
    root = tmp_path / "root"
    with pytest.raises(RuntimeError, match="connection reset mid-file"):
        load_mnist(root)
    assert list(root.iterdir()) == []


def test_load_mnist_corrupt_local_file(tmp_path):
    arrays = fake_mnist(np.random.default_rng(8))
    write_mnist(tmp_path, arrays, gz=False)
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ValueError, match="truncated") as info:
        load_mnist(tmp_path, download=False)
    assert str(path) in str(info.value)


def test_load_mnist_rejects_mismatched_labels(tmp_path):
    arrays = fake_mnist(np.random.default_rng(9))
    arrays["train-labels-idx1-ubyte"] = arrays["train-labels-idx1-ubyte"][:-1]
    write_mnist(tmp_path, arrays, gz=True)
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte.gz should hold 7 uint8"):
        load_mnist(tmp_path, download=False)


def test_load_mnist_rejects_out_of_range_label(tmp_path):
    arrays = fake_mnist(np.random.default_rng(10))
    arrays["t10k-labels-idx1-ubyte"][2] = 12
    write_mnist(tmp_path, arrays, gz=True)
    with pytest.raises(ValueError, match=r"label 12, outside 0..9"):
        load_mnist(tmp_path, download=False)


def test_published_hash_table_is_well_formed():
    assert sorted(mnist_mod.SHA256) == sorted(n + ".gz" for n in mnist_mod.FILES)
    for digest in mnist_mod.SHA256.values():
        assert len(digest) == 64 and int(digest, 16) >= 0
    assert mnist_mod.SHA256["train-images-idx3-ubyte.gz"].startswith("440fcabf")
